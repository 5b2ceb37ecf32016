#!/usr/bin/env bash
# test-lane: side
# ha_failover.sh - kill -9 of the leading master while a stack deploys,
# with real agents on the real Docker Engine (issue 18, docs/ha.md): three
# masters on loopback, two agents whose BERTH_URL lists all three. The
# deploy's containers take 4 s to open their port (wait_for_port), so the
# deploy is under way when the leader dies. The agents reconnect to the
# new leader as the same nodes, the deploy finishes there, and Docker
# shows each instance's container once, the same container (same id, same
# start time) as before the kill: nothing duplicated, nothing restarted.
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/test-image.sh" >/dev/null || { notok "build the local test image"; exit 1; }
declare -a D CA AP GP PID
for i in 1 2 3; do
	D[$i]=$TMP/m$i
	CA[$i]=127.0.0.1:$(free_port)
	AP[$i]=$(free_port)
	GP[$i]=$(free_port)
	mkdir -p "${D[$i]}"
done
url() { echo "http://127.0.0.1:${AP[$1]}"; }
HA_FLAGS='--tick-ms 200'
m_start() { ha_start "$@"; }
role() { curl -s -m 2 "$(url "$1")/healthz" | jq -r '.role // "down"' 2>/dev/null || echo down; }
is_role() { [ "$(role "$1")" = "$2" ]; }
leader() {
	local i
	for i in 1 2 3; do
		[ -n "${PID[$i]}" ] && is_role "$i" leader && { echo "$i"; return 0; }
	done
	return 1
}
# get PATH [JQ]: through the leader found now.
get() {
	curl -s -m 5 -H "Authorization: Bearer $TOKEN" \
	    "$(url "$(leader || echo 1)")$1" | jq -r "${2:-.}"
}

m_start 1 || exit 1
wait_for 30 is_role 1 leader
TOKEN=$(cat "${D[1]}/operator.token")
# docs/ha.md: each joiner trades a join token for the cluster's master.key.
jtoken() {
	curl -s -m 10 -X POST -H "Authorization: Bearer $TOKEN" \
	    "$(url 1)/v1/masters/join-token" | jq -r .token
}
m_start 2 --join "${CA[1]}" --join-token "$(jtoken)" || exit 1
m_start 3 --join "${CA[1]}" --join-token "$(jtoken)" || exit 1
wait_for 30 is_role 2 standby && wait_for 30 is_role 3 standby
check_eq "three masters: one leads, two stand by" \
    "$(role 1) $(role 2) $(role 3)" "leader standby standby"

# Two real agents listing every master (a standby first: its 4013 sends
# them to the leader). agent_start's BERTH_URL is replaced.
MASTER_DIR=${D[1]}
LIST="ws://127.0.0.1:${GP[2]},ws://127.0.0.1:${GP[1]},ws://127.0.0.1:${GP[3]}"
agent_start h1 "" BERTH_URL="$LIST" BERTH_LOG_LEVEL=debug
agent_start h2 "" BERTH_URL="$LIST" BERTH_LOG_LEVEL=debug
online() { [ "$(get /v1/grids/default/nodes '[.[] | select(.status == "online") | .name] | sort | join(",")')" = h1,h2 ]; }
wait_for 30 online
check "two real agents listing every master are online on the leader" online
echo "# ${SECONDS}s: three masters and two agents up"
NODES0=$(get /v1/grids/default/nodes '[.[] | .name + ":" + .id] | sort | join(",")')

# A stack whose four containers open their port 4 s after they start:
# the deploy waits for that (wait_for_port), so it is under way for
# seconds after the containers exist.
cat >"$TMP/web.yml" <<'YML'
stack: e2e/hafo
services:
  web:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; sleep 4; exec httpd -f -p 8080'
    instances: 4
    stop_grace_period: 2s
    deploy:
      wait_for_port: 8080
YML
L=$(leader)
check_eq "the stack is installed" "$(curl -s -o /dev/null -w '%{http_code}' \
    -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/yaml' \
    --data-binary @"$TMP/web.yml" "$(url "$L")/v1/grids/default/stacks")" 201
DEP=$(curl -s -X POST -H "Authorization: Bearer $TOKEN" \
    "$(url "$L")/v1/stacks/default/hafo/deploy" | jq -r .id)
check "and a deploy starts" test -n "$DEP" -a "$DEP" != null
web() { containers -a --filter label=berth.stack=hafo --filter label=berth.service=web | tr ' ' '\n' | sed '/^$/d' | sort; }
four() { [ "$(web | wc -l)" = 4 ]; }
wait_for 30 four
# Each container with its start time, as Docker has them.
snapshot() {
	local c
	for c in $(web); do
		docker inspect -f '{{.Id}} {{.Name}} {{.State.StartedAt}} {{.RestartCount}}' "$c"
	done | sort
}
BEFORE=$(snapshot)
echo "# ${SECONDS}s: four containers created, the deploy under way"
STATE=$(get "/v1/stacks/default/hafo/deploys/$DEP" .state)
check_eq "four containers exist in Docker while the deploy is under way" \
    "$(web | wc -l) $STATE" "4 ongoing"

# ---- kill -9 of the leader mid-deploy --------------------------------------
t0=$(date +%s%3N)
kill -9 "${PID[$L]}"
wait "${PID[$L]}" 2>/dev/null
PID[$L]=""
wait_for 30 leader
N=$(leader)
check "another master leads" test -n "$N"
wait_for 40 online
check "both agents are back online on the new leader" online
echo "# kill -9 of master $L: master $N leads, both agents back $(($(date +%s%3N) - t0)) ms after the kill"
done_ok() { [ "$(get "/v1/stacks/default/hafo/deploys/$DEP" .state)" = success ]; }
wait_for 60 done_ok
echo "# ${SECONDS}s: the deploy ended"
check_eq "the deploy begun on the old leader finishes on the new one" \
    "$(get "/v1/stacks/default/hafo/deploys/$DEP" .state)" success
# Read at once: the deploy ended because each instance is running, and
# an instance that runs stays so. (An agent used to report an instance
# "running" when its port answered within its settle time, then
# "starting" again: under load the deploy ended in between.)
check_eq "its four instances run, once each" \
    "$(get /v1/services/default/hafo/web/containers '[.[] | [.instance, .state]]' | jq -c .)" \
    '[[1,"running"],[2,"running"],[3,"running"],[4,"running"]]'
check_eq "Docker has the same four containers: none duplicated, none restarted" \
    "$(snapshot)" "$BEFORE"
check_eq "and the API names those containers" \
    "$(get /v1/services/default/hafo/web/containers '[.[].container_id] | sort | join(" ")')" \
    "$(docker inspect -f '{{.Id}}' $(web) | sort | tr '\n' ' ' | sed 's/ $//')"
check_eq "no node removed or added: the same two, same ids" \
    "$(get /v1/grids/default/nodes '[.[] | .name + ":" + .id] | sort | join(",")')" "$NODES0"
check "each agent joined once (its node token served the new leader)" \
    test "$(grep -c 'joined: node token stored' "$TMP/agents/h1.log")" = 1 -a \
    "$(grep -c 'joined: node token stored' "$TMP/agents/h2.log")" = 1

# Tidy: the stack's containers go with the stack.
curl -s -o /dev/null -X DELETE -H "Authorization: Bearer $TOKEN" \
    "$(url "$N")/v1/stacks/default/hafo?force=1"
gone() { [ -z "$(web)" ]; }
wait_for 30 gone
check "removing the stack removes its containers" gone
agent_stop h1
agent_stop h2
for i in 1 2 3; do
	if [ -n "${PID[$i]}" ]; then
		kill -TERM "${PID[$i]}"
		wait "${PID[$i]}" 2>/dev/null
	fi
	san_check "${D[$i]}/master.log"
done
