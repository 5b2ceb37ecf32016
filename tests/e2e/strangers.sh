#!/usr/bin/env bash
# strangers.sh - containers on the node's engine that are not the agent's
# own, with a real agent on the real Docker Engine.
#
# An impostor (issue 21.4): a container made by hand with the labels of
# one of the agent's instances, under another name and with another
# command. The agent keeps its own container (the name it gives the
# instance), removes the stranger, and the master reports the container
# that really serves the instance. Before the fix the agent kept whichever
# Docker listed first - the impostor, the newer one - and removed its own.
#
# A name squatter (issue 21.5): a container that is not the node's holds
# the name the next instance needs. The create fails into "error" with the
# engine's reason and is retried with the backoff (1 s, 2 s, 4 s ...), the
# squatter is left alone, and once it is gone the instance is created.
# Before the fix the agent retried twice a second for ever, "pending".
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/test-image.sh" >/dev/null || { notok "build the local test image"; exit 1; }
D=$TMP/data
master_start "$D" || exit 1
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":3}}'
agent_start s1 "st=yes" BERTH_LOG_LEVEL=debug
wait_for 20 test -s "$TMP/agents/s1/node-token"
X=$(node_id s1)
cat >"$TMP/s.yml" <<'YML'
stack: e2e/str
services:
  web:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    stop_grace_period: 1s
    affinity:
      - label==st=yes
YML
"$BIN/berth" stack install "$TMP/s.yml" >/dev/null
wait_for 30 sh -c "[ -n \"\$(docker ps -q --filter label=berth.node=$X --filter label=berth.stack=str)\" ]"
OWN=$(docker ps -q --no-trunc --filter "label=berth.node=$X" --filter label=berth.stack=str)
check_eq "the agent runs its container as str.web-1.${X:0:8}" \
    "$(docker inspect -f '{{.Name}}' "$OWN")" "/str.web-1.${X:0:8}"
at_exit "docker rm -f impostor-$$ str.web-2.${X:0:8} >/dev/null 2>&1"

# ---- an impostor with the instance's labels ---------------------------------------------
labels=()
while read -r kv; do labels+=(--label "$kv"); done < <(docker inspect "$OWN" |
    jq -r '.[0].Config.Labels | to_entries[] | select(.key | startswith("berth.")) | "\(.key)=\(.value)"')
# The agent is held while the impostor starts, so that its next pass sees
# two running containers for the instance (not a half-made one).
APID=$(cat "$TMP/agents/s1.pid")
kill -STOP "$APID"
IMP=$(docker run -d --name "impostor-$$" "${labels[@]}" berth-test/busybox:latest sleep 1000)
wait_for 30 sh -c "[ \"\$(docker inspect -f '{{.State.Running}}' $IMP)\" = true ]"
kill -CONT "$APID"
check "an impostor runs with the instance's labels ($((${#labels[@]} / 2)) of them)" test -n "$IMP" -a "${#labels[@]}" -ge 14
wait_for 30 sh -c "[ -z \"\$(docker ps -aq --filter name=^impostor-$$\$)\" ]"
check_eq "the agent removed the impostor" "$(docker ps -aq --filter "name=^impostor-$$\$" | wc -l)" 0
# Then two more reports (a pass each, at least every 2 s): the agent has
# looked again since, and still keeps its own.
after_removal() {
	awk '/removed impostor-/ { seen = 1; n = 0; next }
	    seen && / state: [0-9]+ containers/ { n++ } END { exit !(n >= 2) }' \
	    "$TMP/agents/s1.log"
}
wait_for 30 after_removal
check "the agent reported twice since" after_removal
check_eq "it never removed its own" "$(grep -c "removing str.web-1.${X:0:8}" "$TMP/agents/s1.log")" 0
check_has "... saying why" "$(cat "$TMP/agents/s1.log")" \
    "impostor-$$ (${IMP:0:12}) has the labels of str.web-1.${X:0:8} but another name: a stranger"
check_eq "its own container runs on, the same one" \
    "$(docker ps -q --no-trunc --filter "label=berth.node=$X" --filter label=berth.stack=str)" "$OWN"
check_eq "the master reports the container that serves the instance" \
    "$(api_jq /v1/services/default/str/web/containers -c '[.[] | [.instance, .state, .container_id]]')" \
    "[[1,\"running\",\"$OWN\"]]"

# ---- a name squatter --------------------------------------------------------------
SQ=$(docker run -d --name "str.web-2.${X:0:8}" berth-test/busybox:latest sleep 1000)
check "a foreign container holds the name of instance 2" test -n "$SQ"
"$BIN/berth" service scale str/web 2 >/dev/null
inst2() { api_jq /v1/services/default/str/web/containers "$1" -e >/dev/null; }
wait_for 30 inst2 '.[] | select(.instance == 2) | .state == "error"'
check_eq "instance 2 is in error" "$(api_jq /v1/services/default/str/web/containers '.[] | select(.instance == 2) | .state')" error
err=$(api_jq /v1/services/default/str/web/containers '.[] | select(.instance == 2) | .error')
check_has "... with the engine's reason" "$err" "is already in use by container"
check_has "... saying whose the name is" "$err" "the name str.web-2.${X:0:8} is taken by container ${SQ:0:12}, which is not this node's"
creates() { grep -c "creating str.web-2.${X:0:8}" "$TMP/agents/s1.log"; }
n0=$(creates)
sleep 6
n1=$(creates)
echo "# creates of instance 2 in 6 s with the squatter: $((n1 - n0)) (before the fix: about 12)"
check "the create backs off: at most 4 more attempts in 6 s ($((n1 - n0)))" test "$((n1 - n0))" -le 4
check "... but keeps trying" test "$n1" -ge 2
check_eq "the squatter is left alone" "$(docker ps -q --no-trunc --filter "name=^str.web-2.${X:0:8}\$")" "$SQ"
check_eq "instance 1 is untouched" "$(api_jq /v1/services/default/str/web/containers '.[] | select(.instance == 1) | .state')" running
docker rm -f "$SQ" >/dev/null
wait_for 60 inst2 '.[] | select(.instance == 2) | .state == "running"'
check_eq "once the squatter is gone, instance 2 runs" \
    "$(api_jq /v1/services/default/str/web/containers '.[] | select(.instance == 2) | [.state, .error] | @text')" '["running",null]'
check_eq "... in the agent's own container" \
    "$(docker inspect -f '{{index .Config.Labels "berth.node"}}' "str.web-2.${X:0:8}")" "$X"
master_stop
