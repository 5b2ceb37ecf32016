#!/usr/bin/env bash
# node_ops.sh - node operations through the API and the CLI, without
# Docker (docs/nodes.md): cordon, uncordon, drain and protect refuse an
# unknown node (404) and a bad body (422 naming the field; nothing stored,
# no event); cordon is shown in node ls and its --json; a drain held by a
# job in flight (the node is wsprobe, whose job never ends) survives a
# kill -9 of the master with its deadline, and at that deadline what is
# left is stopped with node.drain_forced, then node.drain_done; uncordon
# opens the node again; protect is shown and taken back.
. "$(dirname "$0")/../lib.sh"

PROBE=$ROOT/$BUILD/tools/wsprobe
B=$BIN/berth
master_start "$TMP/data" || exit 1
GT=$(cat "$TMP/data/grid-default.token")
NID=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
probe() { # STAY: node "n1" online for STAY seconds
	"$PROBE" --port "$AGENT_PORT" --stay "$1" -H "Berth-Protocol: 1" \
	    -H "Berth-Node-Id: $NID" -H "Berth-Node-Name: n1" \
	    -H "Berth-Agent-Version: test" -H "Berth-Grid-Token: $GT" \
	    >>"$TMP/probe.log" 2>&1
}
probe 300 &
PROBE_PID=$!
at_exit "kill $PROBE_PID 2>/dev/null"
check "the node is online" wait_for 10 api_jq /v1/nodes/default/n1 '.status == "online"' -e
events() { api_jq '/v1/grids/default/events?limit=500' "[.[] | select(.type == \"$1\")] | length"; }

# ---- bad requests: nothing stored ------------------------------------------
for op in cordon uncordon drain protect; do
	api POST "/v1/nodes/default/nope/$op"
	check_eq "$op of an unknown node: 404" "$STATUS" 404
	check_has "$op of an unknown node: says which" "$BODY" 'no node \"nope\"'
done
api POST /v1/nodes/nogrid/n1/cordon
check_eq "cordon in an unknown grid: 404" "$STATUS" 404
api POST /v1/nodes/default/n1/drain '{"deadline_s":"10m"}'
check_eq "drain: deadline_s a string: 422" "$STATUS" 422
check_eq "drain: the field is named" "$(jq -r .field <<<"$BODY")" deadline_s
api POST /v1/nodes/default/n1/drain '{"deadline_s":0}'
check_eq "drain: deadline_s 0: 422" "$STATUS:$(jq -r .field <<<"$BODY")" 422:deadline_s
api POST /v1/nodes/default/n1/drain '{"deadline":60}'
check_eq "drain: an unknown field: 422 naming it" "$STATUS:$(jq -r .field <<<"$BODY")" 422:deadline
api POST /v1/nodes/default/n1/drain '{"deadline_s":'
check_eq "drain: malformed JSON: 400" "$STATUS" 400
api POST /v1/nodes/default/n1/protect '{"protected":"yes"}'
check_eq "protect: not a boolean: 422 naming it" "$STATUS:$(jq -r .field <<<"$BODY")" 422:protected
api POST /v1/nodes/default/n1/cordon '{"now":true}'
check_eq "cordon: a body with a field: 422 naming it" "$STATUS:$(jq -r .field <<<"$BODY")" 422:now
check_eq "nothing was stored" \
    "$(api_jq /v1/nodes/default/n1 '"\(.cordoned) \(.protected) \(.drain)"')" "false false null"
check_eq "no event was written" "$(events node.drain) $(events node.cordon) $(events node.protect)" "0 0 0"
err=$("$B" node drain --deadline soon n1 2>&1)
check_eq "CLI: a bad --deadline exits 1" "$?" 1
check_has "CLI: and says why" "$err" "--deadline"
err=$("$B" node cordon nope 2>&1)
check_eq "CLI: cordon of an unknown node exits 1" "$?" 1
check_has "CLI: with the master's reason" "$err" 'no node "nope"'

# ---- cordon, uncordon, protect --------------------------------------------
out=$("$B" node cordon n1)
check_has "CLI: cordon says so" "$out" "node n1 cordoned"
check_eq "API: cordoned" "$(api_jq /v1/nodes/default/n1 .cordoned)" true
check_has "node ls: cordoned" "$("$B" node ls)" "online, cordoned"
check_eq "node ls --json: cordoned" "$("$B" node ls --json | jq -r '.[0].cordoned')" true
check_eq "one node.cordon event" "$(events node.cordon)" 1
"$B" node cordon n1 >/dev/null
check_eq "cordon again: no second event" "$(events node.cordon)" 1
out=$("$B" node protect n1)
check_has "CLI: protect" "$out" "protected"
check_has "node ls: protected" "$("$B" node ls)" "online, cordoned, protected"
"$B" node protect --off n1 >/dev/null
check_eq "protect --off" "$(api_jq /v1/nodes/default/n1 .protected)" false
check_eq "node.protect and node.unprotect" "$(events node.protect) $(events node.unprotect)" "1 1"
"$B" node uncordon n1 >/dev/null
check_eq "uncordoned" "$(api_jq /v1/nodes/default/n1 '"\(.cordoned) \(.drain)"')" "false null"

# ---- a drain held by a job in flight, across kill -9 ----------------------
api POST /v1/grids/default/jobs '{"name":"long","image":"busybox","command":["sleep","3600"]}'
check_eq "a job is created" "$STATUS" 201
check "it is assigned to n1 (wsprobe never ends it)" wait_for 20 \
    api_jq /v1/jobs/default/long '.state == "running" or .state == "assigned" or (.tasks // [] | any(.node == "n1"))' -e
out=$("$B" node drain --no-wait --deadline 8s n1)
check_has "CLI: drain --no-wait returns at once" "$out" "node n1 draining"
check_eq "API: draining by an operator, 1 job left" \
    "$(api_jq /v1/nodes/default/n1 '"\(.cordoned) \(.drain.state) \(.drain.by) \(.drain.left.jobs)"')" \
    "true draining operator 1"
started=$(api_jq /v1/nodes/default/n1 .drain.started_at)
check_has "node ls: draining" "$("$B" node ls)" "online, draining"
check_eq "one node.drain event" "$(events node.drain)" 1
# Drained again while draining: the same drain, with a new deadline.
out=$("$B" node drain --no-wait --deadline 9s n1)
check_has "CLI: drain again says so" "$out" "node n1 draining"
check_eq "drain again: the same start" "$(api_jq /v1/nodes/default/n1 .drain.started_at)" "$started"
check_eq "drain again: node.drain_deadline, not a second node.drain" \
    "$(events node.drain) $(events node.drain_deadline)" "1 1"
check_has "which names the new deadline" \
    "$(api_jq '/v1/grids/default/events?limit=500' -r '.[] | select(.type == "node.drain_deadline") | .message')" \
    "drain deadline now 9s from now"
deadline=$(api_jq /v1/nodes/default/n1 .drain.deadline_at)
master_stop KILL
master_start "$TMP/data" || exit 1
# A loaded machine can take longer than the deadline to restart the
# master: then the drain was forced (checked below) and is over.
after=$(api_jq /v1/nodes/default/n1 '"\(.drain.state) \(.drain.started_at) \(.drain.deadline_at)"')
if [ "$(date +%s%3N)" -lt "$(date -d "$deadline" +%s%3N)" ]; then
	check_eq "after kill -9: still draining, same start and deadline" \
	    "$after" "draining $started $deadline"
else
	echo "# the restart outlasted the 9 s deadline: the drain may be over"
	check_has "after kill -9: the same drain (start and deadline)" \
	    "$after" " $started $deadline"
fi
forced_once() { [ "$(events node.drain_forced)" = 1 ]; }
check "the job held the drain until its deadline, then node.drain_forced" \
    wait_for 30 forced_once
check_has "which names the job it stops" \
    "$(api_jq '/v1/grids/default/events?limit=500' -r '.[] | select(.type == "node.drain_forced") | .message')" \
    "1 job(s)"
check "and the drain ends (node.drain_done)" wait_for 20 \
    api_jq /v1/nodes/default/n1 '.drain.state == "drained"' -e
check_eq "forced, nothing left" \
    "$(api_jq /v1/nodes/default/n1 '"\(.drain.forced) \(.drain.left.jobs) \(.cordoned)"')" "true 0 true"
check_has "the job's attempt failed with the drain's reason" \
    "$(api_jq '/v1/grids/default/events?limit=500' -c '[.[] | select(.type | startswith("job")) | .message]')" "drain deadline"
check_eq "one node.drain_done" "$(events node.drain_done)" 1
# uncordon during a drain cancels it (a fresh drain that a new job holds).
"$B" node uncordon n1 >/dev/null
check_eq "uncordon: open again" "$(api_jq /v1/nodes/default/n1 '"\(.cordoned) \(.drain)"')" "false null"
master_stop
