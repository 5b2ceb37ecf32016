#!/usr/bin/env bash
# orphans.sh - containers no agent manages any more (issue 21.1, 21.2),
# with real agents on the real Docker Engine.
#
# 1. An agent's data dir is wiped and it starts again on the same engine:
#    it joins as a new node while the old node's containers keep running.
#    While the old node is only offline the new agent must leave them
#    alone (the master says "known"); once the old node is removed (an
#    ephemeral node offline too long) the master says "gone" and the agent
#    removes them. Another live node's container is never touched.
# 2. A live node retired by rotating the grid token, then node rm --force:
#    a node.retire event, its session closed (4006), and since
#    it cannot rejoin, after its retire grace the agent stops and removes
#    what it ran; the instance runs elsewhere.
# Before the fix both kept running unmanaged beside their replacements.
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/test-image.sh" >/dev/null || { notok "build the local test image"; exit 1; }
D=$TMP/data
master_start "$D" || exit 1
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":3,"ephemeral_removal_s":8,"ha_grace_s":2}}'
check_eq "shortened timing settings" "$STATUS" 200
events_of() { api_jq "/v1/grids/default/events?limit=1000" "[.[] | select(.type == \"$1\")]"; }

cat >"$TMP/d.yml" <<'YML'
stack: e2e/orph
services:
  d:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    stop_grace_period: 1s
    deploy:
      strategy: daemon
    affinity:
      - label==orph=yes
YML
agent_start o1 "orph=yes,ephemeral=true" BERTH_LOG_LEVEL=debug
agent_start o2 "orph=yes" BERTH_LOG_LEVEL=debug
wait_for 20 test -s "$TMP/agents/o1/node-token" -a -s "$TMP/agents/o2/node-token"
X=$(node_id o1)
O2=$(node_id o2)
"$BIN/berth" stack install "$TMP/d.yml" >/dev/null
check_eq "a daemon stack on both nodes" "$?" 0
running() { docker ps -q --no-trunc --filter "label=berth.node=$1" --filter label=berth.stack=orph; }
wait_for 30 sh -c "[ -n \"\$(docker ps -q --filter label=berth.node=$X --filter label=berth.stack=orph)\" ] && [ -n \"\$(docker ps -q --filter label=berth.node=$O2 --filter label=berth.stack=orph)\" ]"
OLDC=$(running "$X")
O2C=$(running "$O2")
check "each node runs its daemon container" test -n "$OLDC" -a -n "$O2C"

# ---- 1. the data dir lost: a new node beside the old one's containers ----------
agent_stop o1 KILL
rm -rf "$TMP/agents/o1"
from=$(agent_log_size o1)
agent_start o1 "orph=yes,ephemeral=true" BERTH_LOG_LEVEL=debug
wait_for 20 test -s "$TMP/agents/o1/node-token"
Y=$(node_id o1)
check "the wiped agent joined as a new node" test -n "$Y" -a "$Y" != "$X"
wait_for 30 sh -c "[ -n \"\$(docker ps -q --filter label=berth.node=$Y --filter label=berth.stack=orph)\" ]"
check "the new node runs its own daemon container" test -n "$(running "$Y")"
# Never before the master confirms: the old node is offline, not removed.
said_known() { tail -c +"$((from + 1))" "$TMP/agents/o1.log" | grep -q "containers of node $X on this engine: the master says known; leaving them alone"; }
wait_for 30 said_known
check "the new agent asked about the old node: known, leaving its containers" said_known
# The old node is removed (ephemeral, offline past 8 s): its containers go.
wait_for 40 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/grids/default/events?limit=1000 | jq '[.[] | select(.type == \"node.remove\")] | length')\" -ge 1 ]"
check_has "the old node (o1) was removed by the scheduler" "$(events_of node.remove)" '"subject": "o1"'
wait_for 40 sh -c "[ -z \"\$(docker ps -aq --filter label=berth.node=$X)\" ]"
check_eq "once the master says the old node is gone, its container is removed" \
    "$(docker ps -aq --filter "label=berth.node=$X" | wc -l)" 0
# Either agent on this engine may be the one (both ask about X).
check_has "an agent on the engine said why" "$(cat "$TMP/agents/o1.log" "$TMP/agents/o2.log")" \
    "belongs to node $X, which the master says was removed from the grid: removing it"
# Never before: the removal came after the master removed the old node.
t_rm=$(api_jq "/v1/grids/default/events?limit=1000" '.[] | select(.type == "node.remove" and .subject == "o1") | .at' | head -1)
t_kill=$(cat "$TMP/agents/o1.log" "$TMP/agents/o2.log" | grep "belongs to node $X, which the master says" | awk '{print $1}' | sort | head -1)
echo "# old node removed at $t_rm; its container removed by an agent at $t_kill"
not_before() { [ -n "$1" ] && [ -n "$2" ] && ! [[ "$1" < "$2" ]]; }
check "the container was removed only after the node was (${t_kill:-?} >= ${t_rm:-?})" \
    not_before "$t_kill" "$t_rm"
check_eq "the other live node's container was never touched" "$(running "$O2")" "$O2C"
check "the new node still runs its own" test -n "$(running "$Y")"

# ---- 2. a live node retired by token rotation and node rm ----------------------------
# Only the retired agent on this engine from here on: no other agent of this
# grid may clean up after it, or the test would prove nothing.
agent_stop o2
agent_stop o1
agent_start r1 "ret=yes" BERTH_RETIRE_GRACE_S=10 BERTH_LOG_LEVEL=debug
wait_for 20 test -s "$TMP/agents/r1/node-token"
R=$(node_id r1)
cat >"$TMP/r.yml" <<'YML'
stack: e2e/ret
services:
  w:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    stop_grace_period: 1s
    affinity:
      - label==ret=yes
YML
"$BIN/berth" stack install "$TMP/r.yml" >/dev/null
wait_for 30 sh -c "[ -n \"\$(docker ps -q --filter label=berth.node=$R --filter label=berth.stack=ret)\" ]"
RC=$(docker ps -q --no-trunc --filter "label=berth.node=$R" --filter label=berth.stack=ret)
check "the node to retire runs the instance" test -n "$RC"
# Somewhere else for its instance to go: a simulated healthy node.
"$ROOT/$BUILD/tools/wsprobe" --port "$AGENT_PORT" --auto-state --stay 60 \
    -H "Berth-Protocol: 1" -H "Berth-Node-Id: $(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
    -H "Berth-Node-Name: elsewhere" -H "Berth-Node-Labels: ret=yes" \
    -H "Berth-Agent-Version: wsprobe" -H "Berth-Grid-Token: $(cat "$D/grid-default.token")" \
    >"$TMP/sim.out" 2>&1 &
SIM=$!
at_exit "kill $SIM"
wait_for 10 sh -c "curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/nodes/default/elsewhere | jq -ne 'input | .status == \"online\"'"
api POST /v1/grids/default/token
check_eq "rotate the grid token" "$STATUS" 200
from=$(agent_log_size r1)
api DELETE "/v1/nodes/default/r1?force=1"
check_eq "node rm --force of the live node" "$STATUS" 204
check_has "a node.retire event says what the agent will do" "$(events_of node.retire)" \
    "node r1 removed while its agent"
wait_for 15 sh -c "tail -c +$((from + 1)) $TMP/agents/r1.log | grep -q 'the node was removed from the grid: rejoining'"
check_has "the agent was told (4006)" "$(tail -c +"$((from + 1))" "$TMP/agents/r1.log")" \
    "master closed the session: 4006 (node_removed)"
check_eq "within its grace the container still runs" \
    "$(docker ps -q --no-trunc --filter "label=berth.node=$R" --filter label=berth.stack=ret)" "$RC"
wait_for 60 sh -c "[ -z \"\$(docker ps -aq --filter label=berth.node=$R)\" ]"
check_eq "after the grace, not readmitted (rotated token), its container is removed" \
    "$(docker ps -aq --filter "label=berth.node=$R" | wc -l)" 0
check_has "the agent said why" "$(cat "$TMP/agents/r1.log")" \
    "not admitted again within 10 s (BERTH_RETIRE_GRACE_S)"
check_has "the refused rejoin was the rotated token (4001)" "$(cat "$TMP/agents/r1.log")" \
    "master closed the session: 4001"
wait_for 30 sh -c "curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/services/default/ret/w/containers | jq -ne 'input | [.[] | select(.node == \"elsewhere\" and .state == \"running\")] | length == 1'"
check_eq "the instance runs elsewhere" \
    "$(api_jq /v1/services/default/ret/w/containers -c '[.[] | [.node, .state]]')" '[["elsewhere","running"]]'
master_stop
