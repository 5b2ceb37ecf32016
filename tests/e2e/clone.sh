#!/usr/bin/env bash
# clone.sh - a cloned node id (issue 21.3): a second machine, with a Docker
# Engine of its own (a dockerd in a network namespace), boots with a copy
# of a joined node's agent data dir (node id and node token), as a machine
# image baked from that node would. The master must refuse it while the
# original answers (4011, a node.clone event); the clone removes what it
# ran under the borrowed id, joins as a new node with the grid token, and
# never runs the original's instance on its engine. A clone without the
# grid token stops. Before the fix the newest connection won, and the
# instance ran on both engines.
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/test-image.sh" >/dev/null || { notok "build the local test image"; exit 1; }
D=$TMP/data
master_start "$D" || exit 1
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":3}}'
engine_up clone || { notok "a second Docker Engine in a network namespace"; exit 1; }
E2=unix://$ENGINE_SOCK
ok "a second Docker Engine runs in network namespace $NETNS"

agent_start ca "clone=a" BERTH_LOG_LEVEL=debug
wait_for 20 test -s "$TMP/agents/ca/node-token"
X=$(node_id ca)
cat >"$TMP/c.yml" <<'YML'
stack: e2e/cl
services:
  web:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    instances: 1
    stop_grace_period: 1s
    affinity:
      - label==clone=a
YML
"$BIN/berth" stack install "$TMP/c.yml" >/dev/null
check_eq "install a stack on the original node" "$?" 0
wait_for 30 sh -c "[ -n \"\$(docker ps -q --filter label=berth.node=$X --filter label=berth.stack=cl)\" ]"
orig=$(docker ps -q --no-trunc --filter "label=berth.node=$X" --filter label=berth.stack=cl)
check "the original runs the instance on its engine" test -n "$orig"

# The clone: the original's data dir, copied as a machine image would
# carry it, on another engine.
mkdir -p "$TMP/agents/cb"
cp "$TMP/agents/ca/node-id" "$TMP/agents/ca/node-token" "$TMP/agents/cb/"
agent_start cb "clone=a" DOCKER_HOST="$E2" BERTH_LOG_LEVEL=debug
wait_for 30 grep -q "rejoining as a new node" "$TMP/agents/cb.log"
check_has "the clone is refused with 4011" "$(cat "$TMP/agents/cb.log")" \
    "master closed the session: 4011 (node_id_in_use)"
check_has "the clone says why" "$(cat "$TMP/agents/cb.log")" \
    "the master refused node id $X (close 4011): another live agent holds it"
check_eq "a node.clone event on the master" \
    "$(api_jq '/v1/grids/default/events?limit=500' '[.[] | select(.type == "node.clone" and .subject == "ca")] | length')" 1
Y=$(node_id cb)
check "the clone made itself a new node id" test -n "$Y" -a "$Y" != "$X"
wait_for 20 sh -c "curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/nodes/default/$Y | jq -ne 'input | .status == \"online\"'"
check_eq "the clone joined as a new node" "$(api_jq "/v1/nodes/default/$Y" .status)" online
check_eq "the original is still online" "$(node_status ca)" online
check_eq "... and was never taken over" "$(grep -c 'close.*4007' "$TMP/agents/ca.log")" 0
check_eq "the original's container still runs, untouched" \
    "$(docker ps -q --no-trunc --filter "label=berth.node=$X" --filter label=berth.stack=cl)" "$orig"
check_eq "no container of the original's node id on the clone's engine" \
    "$(docker -H "$E2" ps -aq --filter "label=berth.node=$X" | wc -l)" 0
check_eq "the clone never created one" "$(grep -c "creating cl.web" "$TMP/agents/cb.log")" 0
api GET /v1/services/default/cl/web/containers
check_eq "the master reports the one instance on the original" \
    "$(jq -c '[.[] | [.node_id, .state]]' <<<"$BODY")" "[[\"$X\",\"running\"]]"

# A clone without the grid token cannot become a new node: it stops.
mkdir -p "$TMP/agents/cc"
cp "$TMP/agents/ca/node-id" "$TMP/agents/ca/node-token" "$TMP/agents/cc/"
env -u BERTH_TOKEN BERTH_URL="ws://127.0.0.1:$AGENT_PORT" BERTH_NODE_NAME=cc \
    BERTH_DATA_DIR="$TMP/agents/cc" DOCKER_HOST="$E2" BERTH_BACKOFF_MAX_S=2 \
    "$BIN/berth-agent" >"$TMP/agents/cc.log" 2>&1 &
CC=$!
at_exit "kill $CC"
for i in $(seq 300); do kill -0 $CC 2>/dev/null || break; sleep 0.1; done
wait $CC
rc=$?
check_eq "a clone without BERTH_TOKEN stops with status 1" "$rc" 1
check_has "... saying why" "$(cat "$TMP/agents/cc.log")" \
    "no BERTH_TOKEN: cannot rejoin as a new node; stopping"
check_eq "the original is still online after both clones" "$(node_status ca)" online
check_eq "two node.clone events" \
    "$(api_jq '/v1/grids/default/events?limit=500' '[.[] | select(.type == "node.clone")] | length')" 2
master_stop
