#!/usr/bin/env bash
# node_approve.sh - pending nodes and berth node approve (docs/nodes.md,
# "Pending nodes"), with wsprobe as the agent (no Docker): by default
# (join_approval auto) a new node is admitted; a bad join_approval is a
# 422 naming it, nothing stored; with join_approval manual a new node
# joins as pending: welcomed with "pending": true, kept connected, shown
# pending in the API and `berth node ls`, node.pending written, no
# desired set sent and no daemon placed on it (after a scheduler round
# that placed the daemon elsewhere); a node admitted before stays
# admitted; a pending node stays pending when it reconnects with its node
# token; `berth node approve` admits it (node.approve), its desired set
# follows with the daemon; a second approve is a 409 (CLI exits 1); a
# pending node is turned away by `berth node rm` without --force (4006,
# its id revoked).
. "$(dirname "$0")/../lib.sh"

PROBE=$ROOT/$BUILD/tools/wsprobe
B=$BIN/berth
master_start "$TMP/data" || exit 1
GT=$(cat "$TMP/data/grid-default.token")
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":5}}'
nid() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
# probe ID NAME TOKEN-HEADER STAY
probe() {
	"$PROBE" --port "$AGENT_PORT" --stay "$4" -H "Berth-Protocol: 1" \
	    -H "Berth-Node-Id: $1" -H "Berth-Node-Name: $2" \
	    -H "Berth-Agent-Version: test" -H "$3" "${@:5}"
}
events() { api_jq '/v1/grids/default/events?limit=500' "[.[] | select(.type == \"$1\")] | length"; }
frames() { sed -n 's/^frame //p' "$1" | jq -r .type | tr '\n' ' '; }

# ---- auto (the default): admitted --------------------------------------------
A=$(nid)
INFO='{"type":"node_info","hostname":"h","cpus":2,"memory":2147483648,"addresses":["10.0.0.9"],"docker_version":"20.10","os":"Debian","kernel":"6.1"}'
probe "$A" auto-1 "Berth-Grid-Token: $GT" 300 --send "$INFO" >"$TMP/a.log" 2>&1 &
at_exit "kill $! 2>/dev/null"
check "auto: the new node is online" wait_for 10 api_jq /v1/nodes/default/auto-1 '.status == "online"' -e
check "auto: its desired set follows the welcome" wait_for 10 grep -q '"type":"desired"' "$TMP/a.log"
check_eq "auto: its welcome does not say pending" \
    "$(sed -n 's/^frame //p' "$TMP/a.log" | head -1 | jq -r '.pending // "absent"')" absent
check_eq "auto: node.join, no node.pending" "$(events node.join) $(events node.pending)" "1 0"

# ---- a bad setting --------------------------------------------------------------
api PATCH /v1/grids/default '{"settings":{"join_approval":"sometimes"}}'
check_eq "join_approval sometimes: 422 naming it" "$STATUS:$(jq -r .field <<<"$BODY")" 422:settings.join_approval
check_eq "nothing stored" "$(api_jq /v1/grids/default .settings.join_approval)" auto
api PATCH /v1/grids/default '{"settings":{"join_approval":"manual"}}'
check_eq "join_approval manual is taken" "$STATUS:$(api_jq /v1/grids/default .settings.join_approval)" 200:manual

# ---- manual: a new node waits ---------------------------------------------------
P=$(nid)
probe "$P" pend-1 "Berth-Grid-Token: $GT" 300 --send "$INFO" >"$TMP/p.log" 2>&1 &
at_exit "kill $! 2>/dev/null"
check "manual: the new node is pending" wait_for 10 api_jq /v1/nodes/default/pend-1 '.status == "pending" and .connected' -e
check_has "its reason is shown" "$(api_jq /v1/nodes/default/pend-1 .pending_reason)" "join_approval is manual"
welcome=$(sed -n 's/^frame //p' "$TMP/p.log" | head -1)
check_eq "its welcome says pending (and gives a node token)" \
    "$(jq -r '"\(.type) \(.pending) \(.node_token | length)"' <<<"$welcome")" "welcome true 64"
check_eq "node.pending written, not node.join" "$(events node.pending) $(events node.join)" "1 1"
out=$("$B" node ls)
check "node ls shows it pending" grep -Eq '^pend-1 +pending' <<<"$out"
check_has "node show gives the reason" "$("$B" node show pend-1)" "pending:        the grid's join_approval is manual"
# A daemon: placed on auto-1 in a round; nothing on the pending node.
api POST '/v1/grids/default/stacks?name=d' \
    '{"stack":"t/d","services":{"agent":{"image":"busybox","deploy":{"strategy":"daemon"}}}}'
check_eq "a daemon stack is installed" "$STATUS" 201
api POST /v1/stacks/default/d/deploy
check_eq "and deployed" "$STATUS" 202
check "the daemon is placed on the admitted node" \
    wait_for 20 api_jq /v1/nodes/default/auto-1 '.instances == 1' -e
sched_wait_round
check_eq "no instance on the pending node" "$(api_jq /v1/nodes/default/pend-1 .instances)" 0
check_eq "no desired set sent to it" "$(frames "$TMP/p.log")" "welcome "
check_eq "no close for it" "$(grep -c '^close' "$TMP/p.log")" 0

# An admitted node stays admitted when it rejoins under manual.
NT=$(sed -n 's/^frame //p' "$TMP/a.log" | head -1 | jq -r .node_token)
out=$(probe "$A" auto-1 "Berth-Node-Token: $NT" 2 2>&1)
check_has "a node admitted before rejoins admitted (desired set sent)" "$out" '"type":"desired"'

# A pending node stays pending when it reconnects with its node token.
Q=$(nid)
out=$(probe "$Q" pend-2 "Berth-Grid-Token: $GT" 1 2>&1)
QT=$(sed -n 's/^frame //p' <<<"$out" | head -1 | jq -r .node_token)
probe "$Q" pend-2 "Berth-Node-Token: $QT" 300 >"$TMP/q.log" 2>&1 &
at_exit "kill $! 2>/dev/null"
check "pend-2 reconnects with its node token" wait_for 10 grep -q '"type":"welcome"' "$TMP/q.log"
check_eq "and is still pending, no desired set" \
    "$(sed -n 's/^frame //p' "$TMP/q.log" | head -1 | jq -r .pending) $(frames "$TMP/q.log")" "true welcome "

# ---- approve --------------------------------------------------------------------
api POST /v1/nodes/default/nope/approve
check_eq "approve of an unknown node: 404" "$STATUS" 404
api POST /v1/nodes/default/pend-1/approve '{"now":1}'
check_eq "approve with a body field: 422 naming it" "$STATUS:$(jq -r .field <<<"$BODY")" 422:now
check_eq "still pending" "$(api_jq /v1/nodes/default/pend-1 .status)" pending
out=$("$B" node approve pend-1)
check_eq "berth node approve exits 0" "$?" 0
check_has "and says so" "$out" "approved"
check_eq "the node is online, reason gone" \
    "$(api_jq /v1/nodes/default/pend-1 '"\(.status) \(.pending_reason)"')" "online null"
check_eq "node.approve written" "$(events node.approve)" 1
check "its desired set follows, with the daemon" \
    wait_for 20 grep -q '"type":"desired".*"service":"agent"' "$TMP/p.log"
check_eq "the daemon's record is on it" "$(api_jq /v1/nodes/default/pend-1 .instances)" 1
err=$("$B" node approve pend-1 2>&1)
check_eq "a second approve exits 1" "$?" 1
check_has "with the reason" "$err" "is not pending"
api POST /v1/nodes/default/pend-1/approve
check_eq "the API says 409" "$STATUS" 409

# ---- rm turns a pending node away ------------------------------------------------
out=$("$B" node rm --yes pend-2 2>&1)
check_eq "berth node rm of a connected pending node needs no --force" "$?" 0
check "its session is closed with 4006" wait_for 10 grep -q '^close 4006' "$TMP/q.log"
check_has "node.remove says it was turned away" \
    "$(api_jq '/v1/grids/default/events?limit=500' '[.[] | select(.type == "node.remove")][0].message')" "while pending"
out=$(probe "$Q" pend-2 "Berth-Grid-Token: $GT" 1 2>&1)
check_has "its id may not join again" "$out" "close 4006"
master_stop
