#!/usr/bin/env bash
# interval.sh - deploy.interval (issue 15.7): the master deploys a service
# again every interval, on its own; the time of the last deploy is the
# store's, so a master restart neither deploys at once nor skips one.
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/test-image.sh" >/dev/null || { notok "build the local test image"; exit 1; }
B=$BIN/berth
D=$TMP/data
master_start "$D" || exit 1
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":3,"instance_settle_s":1}}'
agent_start i1 "az=a"
wait_for 15 api_jq /v1/nodes/default/i1 '.status == "online"' -e

cat >"$TMP/iv.yml" <<'YML'
stack: e2e/iv
services:
  web:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    stop_grace_period: 1s
    deploy:
      interval: 5s
YML
out=$("$B" stack install "$TMP/iv.yml" 2>&1)
check_eq "a stack with deploy.interval installs and deploys" "$?" 0
check "  with no warning about deploy.interval" test "${out/deploy.interval/}" = "$out"
# created_at of deploy N (1 = the first), in epoch ms.
created() {
	api_jq /v1/stacks/default/iv/deploys "sort_by(.id) | .[$(($1 - 1))].created_at // empty" |
	    { read -r t && [ -n "$t" ] && echo $(( $(date -d "$t" +%s%N) / 1000000 )); }
}
ndeploys() { api_jq /v1/stacks/default/iv/deploys 'length'; }
check "the master deploys it again on its own" wait_for 20 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/stacks/default/iv/deploys | jq length)\" -ge 2 ]"
t1=$(created 1) t2=$(created 2)
check "  no sooner than its interval after the first (${t1:-?} -> ${t2:-?})" test "$((t2 - t1))" -ge 5000
check "  and not much later" test "$((t2 - t1))" -lt 9000
check_eq "  the periodic deploy succeeds" \
    "$(api_jq /v1/stacks/default/iv/deploys 'sort_by(.id) | .[1].state')" success
check_has "  an event says why" \
    "$(api_jq '/v1/grids/default/events?type=deploy.interval' '[.[].message] | join(",")')" \
    "periodic deploy 2 of iv/web (deploy.interval 5s)"

# A master restart right after a deploy: the next one still comes one
# interval after it, not at the restart and not an interval after it.
check "a third deploy" wait_for 20 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/stacks/default/iv/deploys | jq length)\" -ge 3 ]"
t3=$(created 3)
master_stop
sleep 2
API_PORT_FIXED=$API_PORT AGENT_PORT_FIXED=$AGENT_PORT master_start "$D" || exit 1
up=$(( $(date +%s%N) / 1000000 ))
check "after a master restart the next deploy comes" wait_for 20 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/stacks/default/iv/deploys | jq length)\" -ge 4 ]"
t4=$(created 4)
check "  one interval after the last, by the store's clock ($((t4 - t3)) ms)" \
    sh -c "[ $((t4 - t3)) -ge 5000 ] && [ $((t4 - t3)) -lt 9000 ]"
check "  not an interval after the restart (restart +$((t4 - up)) ms)" test "$((t4 - up))" -lt 5000

"$B" stack rm --force iv >/dev/null
check "the stack is removed" wait_for 20 sh -c '[ -z "$(docker ps -aq --filter label=berth.node='"$(node_id i1)"')" ]'
