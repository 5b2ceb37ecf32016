#!/usr/bin/env bash
# claims.sh - who a node id belongs to (issue 21.1-21.3, the master's side),
# driven by wsprobe: a second live claimant of a node id is refused with
# 4011 and a node.clone event while the holder stays; a holder that no
# longer answers is taken over; the same agent's newer attempt takes over
# and its stale attempt is refused without a write, also when both arrive
# in one burst (the hub admits in batches); node_query answers
# gone / known / unknown; a node removed while connected gets a
# node.retire event before its 4006.
. "$(dirname "$0")/../lib.sh"

PROBE=$ROOT/$BUILD/tools/wsprobe
D=$TMP/data
master_start "$D" || exit 1
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":5}}'
GT=$(cat "$D/grid-default.token")
hex() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# probe OUT NODE_ID NAME INSTANCE ATTEMPT STAY [wsprobe args...]: in the
# background; its output in $TMP/OUT. INSTANCE "-" sends no instance.
probe() {
	local out=$1 id=$2 name=$3 inst=$4 att=$5 stay=$6
	shift 6
	local extra=()
	[ "$inst" != - ] && extra=(-H "Berth-Agent-Instance: $inst" -H "Berth-Agent-Attempt: $att")
	"$PROBE" --port "$AGENT_PORT" --stay "$stay" -H "Berth-Protocol: 1" \
	    -H "Berth-Node-Id: $id" -H "Berth-Node-Name: $name" \
	    -H "Berth-Agent-Version: test" -H "Berth-Grid-Token: $GT" \
	    "${extra[@]}" "$@" >"$TMP/$out" 2>&1 &
	PROBE_PID=$!
}
online() { api_jq "/v1/nodes/default/$1" '.status == "online"' -e >/dev/null; }
events() { api_jq "/v1/grids/default/events?limit=500" "[.[] | select(.type == \"$1\")] | length"; }

# ---- a clone: another instance while the holder answers -------------------------
N=$(hex) IA=$(hex) IB=$(hex)
probe a "$N" clone-a "$IA" 1 8
A_PID=$PROBE_PID
wait_for 10 online clone-a
probe b "$N" clone-a "$IB" 1 4
wait $PROBE_PID
check_has "a second live claimant of the node id is refused with 4011" "$(cat "$TMP/b")" "close 4011"
check_eq "... and never welcomed" "$(grep -c '"type":"welcome"' "$TMP/b")" 0
check_eq "a node.clone event says so" "$(events node.clone)" 1
check_has "the event names the node and the peer" \
    "$(api_jq '/v1/grids/default/events?limit=500' '.[] | select(.type == "node.clone") | .message')" \
    "presented the node id of clone-a ($N)"
check "the holder is still online" online clone-a
check_eq "the holder was not closed" "$(grep -c '^close' "$TMP/a")" 0
kill "$A_PID" 2>/dev/null; wait "$A_PID" 2>/dev/null

# ---- a holder that does not answer any more: taken over ----------------------------
N=$(hex) IA=$(hex) IB=$(hex)
probe a2 "$N" frozen "$IA" 1 20
A_PID=$PROBE_PID
wait_for 10 online frozen
kill -STOP "$A_PID"
at_exit "kill -CONT $A_PID"
t0=$(date +%s%N)
probe b2 "$N" frozen "$IB" 1 6
wait_for 10 grep -q '"type":"welcome"' "$TMP/b2"
ms=$((($(date +%s%N) - t0) / 1000000))
check_has "a claimant whose holder does not answer is welcomed" "$(cat "$TMP/b2")" '"type":"welcome"'
check "... after the holder had its chance (${ms} ms >= 2500)" test "$ms" -ge 2500
kill -CONT "$A_PID"
wait "$A_PID" 2>/dev/null
check_has "the silent holder got 4007 (a newer connection took over)" "$(cat "$TMP/a2")" "close 4007"
check_eq "no node.clone event for a dead holder" "$(events node.clone)" 1
wait "$PROBE_PID" 2>/dev/null

# ---- the same agent process: newer attempt takes over, stale one refused ------
N=$(hex) I=$(hex)
# The holder stays until it is closed (30 s at most): with a 6 s stay a
# loaded host got to attempt 6 after attempt 5 had left by itself, and
# the 4007 it waits for below never came (a full make test, stop 29).
probe s5 "$N" same "$I" 5 30
S_PID=$PROBE_PID
wait_for 10 online same
ev=$(api_jq "/v1/grids/default/events?limit=500" length)
probe s3 "$N" same "$I" 3 2
wait $PROBE_PID
check_has "a stale attempt of the holder's own process: 4007" "$(cat "$TMP/s3")" "close 4007"
check_has "... with the reason" "$(cat "$TMP/s3")" "a newer connection of this agent holds the node"
check_eq "... and nothing written (no join, no offline)" "$(api_jq "/v1/grids/default/events?limit=500" length)" "$ev"
check "the holder stays online" online same
probe s6 "$N" same "$I" 6 3
P6=$PROBE_PID
wait_for 10 grep -q '"type":"welcome"' "$TMP/s6"
check_has "a newer attempt of the same process is welcomed at once" "$(cat "$TMP/s6")" '"type":"welcome"'
wait "$S_PID" 2>/dev/null
check_has "... and the older session gets 4007" "$(cat "$TMP/s5")" "close 4007"
wait "$P6" 2>/dev/null

# ---- one burst, one node id: each verdict sees the other's outcome ------------
# The master frozen while attempt 8 and then attempt 7 of one agent process
# wait in its listen queue: the hub admits in batches, and a session of a
# node id already in the batch waits for the next, so attempt 7 meets
# attempt 8 as the holder (stale: 4007, nothing written), or attempt 8
# takes over from it, instead of both being admitted in one batch and the
# older taking the node.
N=$(hex) I=$(hex)
kill -STOP "$MASTER_PID"
at_exit "kill -CONT $MASTER_PID"
probe b8 "$N" burst "$I" 8 8
B8=$PROBE_PID
sleep 0.3
probe b7 "$N" burst "$I" 7 2
B7=$PROBE_PID
sleep 0.3
kill -CONT "$MASTER_PID"
wait "$B7" 2>/dev/null
# Which of the two the loop reads first is the kernel's choice: attempt 7
# is stale (refused) or taken over, never the winner.
check_has "in one burst the older attempt is closed with 4007" "$(cat "$TMP/b7")" "close 4007"
check_has "the newer attempt is welcomed" "$(cat "$TMP/b8")" '"type":"welcome"'
check "... and holds the node" online burst
check_eq "... not closed by the older" "$(grep -c 'close 4007' "$TMP/b8")" 0
kill "$B8" 2>/dev/null; wait "$B8" 2>/dev/null

# ---- an agent without an instance: the newest wins, as before ------------------
N=$(hex)
# The newer one stays 5 s (1 s was too short for its welcome once on a
# loaded host); the older until its 4007, at most 15 s.
probe l1 "$N" legacy - 0 15
L_PID=$PROBE_PID
wait_for 10 online legacy
probe l2 "$N" legacy - 0 5
wait $PROBE_PID
check_has "without Berth-Agent-Instance the newer session is welcomed" "$(cat "$TMP/l2")" '"type":"welcome"'
wait "$L_PID" 2>/dev/null
check_has "... and the older gets 4007" "$(cat "$TMP/l1")" "close 4007"
probe bad "$(hex)" badinst "nothex" 1 2
wait $PROBE_PID
check_has "a malformed Berth-Agent-Instance: 4000" "$(cat "$TMP/bad")" "close 4000"

# ---- a node removed while connected: node.retire, then 4006 --------------------
R=$(hex)
probe r "$R" gone-soon "$(hex)" 1 10
R_PID=$PROBE_PID
wait_for 10 online gone-soon
api DELETE "/v1/nodes/default/gone-soon?force=1"
check_eq "remove the connected node (force): 204" "$STATUS" 204
wait_for 10 grep -q '^close 4006' "$TMP/r"
check_has "its session is closed with 4006" "$(cat "$TMP/r")" "close 4006"
check_eq "a node.retire event was written before the close" "$(events node.retire)" 1
check_has "... saying what the agent does" \
    "$(api_jq '/v1/grids/default/events?limit=500' '.[] | select(.type == "node.retire") | .message')" \
    "the agent stops and removes the node's containers"
wait "$R_PID" 2>/dev/null

# ---- node_query: gone, known, unknown ------------------------------------------
K=$(hex) U=$(hex)
probe q "$K" asker "$(hex)" 1 1 --send "{\"type\":\"node_query\",\"node_ids\":[\"$R\",\"$K\",\"$U\"]}"
wait $PROBE_PID
st=$(sed -n 's/^frame //p' "$TMP/q" | jq -c 'select(.type == "node_status") | [.nodes[] | .status]')
check_eq "node_query: removed, known (itself), never seen" "$st" '["gone","known","unknown"]'
# An operator's removal revokes the id: it cannot join again, stays gone.
probe q2 "$R" gone-soon "$(hex)" 1 1
wait $PROBE_PID
check_has "the removed id joining again: refused (4006)" "$(cat "$TMP/q2")" "close 4006"
probe q2b "$K" asker "$(hex)" 1 1 --send "{\"type\":\"node_query\",\"node_ids\":[\"$R\"]}"
wait $PROBE_PID
check_eq "... and still gone" \
    "$(sed -n 's/^frame //p' "$TMP/q2b" | jq -c 'select(.type == "node_status") | [.nodes[] | .status]')" '["gone"]'
probe q3 "$(hex)" asker2 "$(hex)" 1 2 --send '{"type":"node_query","node_ids":["NOT-HEX"]}'
wait $PROBE_PID
check_has "a malformed node_query: 4010 naming the field" "$(cat "$TMP/q3")" "close 4010 node_query.node_ids[0]"
master_stop
