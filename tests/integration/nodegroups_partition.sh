#!/usr/bin/env bash
# nodegroups_partition.sh - the partition stand-down of node groups
# (docs/autoscaling.md, "Stand-down"): 6 of a group's 10 nodes frozen
# at once (SIGSTOP of their agents) look to the master like a network
# cut, and node groups launch nothing and terminate nothing while it
# lasts; the master says so once.
#
# Real berth-agent processes started by the process provider; their
# engine is tests/integration/fake_docker.py (an engine that answers and
# runs nothing). The decisions under test read only the agents'
# websocket sessions and the instance records, not containers: a frozen
# agent stops answering pings whatever Docker does, and a record on an
# offline node is replaced (or not) by the scheduler whatever its
# container's state. So no Docker, and the script runs in the
# integration lane.
#
# The test can fail: the settings are such that without the stand-down
# the master would both launch and terminate. The group (min 10, max 16,
# one-cpu template, agents offering one cpu) runs ten one-cpu ha
# instances, one per node; ha_grace_s=1 would replace the six on frozen
# nodes, which fit on no live node, so six machines would be launched;
# ephemeral_removal_s=4 would remove the frozen nodes' records, and
# their machines would be terminated.
. "$(dirname "$0")/../lib.sh"

python3 "$ROOT/tests/integration/fake_docker.py" "$TMP/docker.sock" \
    >"$TMP/docker.log" 2>&1 &
at_exit "kill $! 2>/dev/null"
# Its socket first: an agent that starts before it reports its engine
# down, and the scheduler places nothing there.
check "the fake engine listens" wait_for 20 test -S "$TMP/docker.sock"
D=$TMP/data
master_start "$D" || exit 1
B=$BIN/berth
# ha_grace_s is as long as the offline window, as with the defaults (120
# s against 15): frozen agents go offline as their last frames age (up
# to a stats interval apart), and a grace shorter than that spread let
# the first ones' instances be replaced before the rest went offline.
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":3,"ha_grace_s":3,"ephemeral_removal_s":4}}'
check_eq "short timings" "$STATUS" 200

machines() { api_jq "/v1/nodegroups/default/part/machines" "$@"; }
count_events() { api_jq "/v1/grids/default/events?type=$1&limit=500" length; }
online_group() {
	api_jq /v1/grids/default/nodes '[.[] | select(.labels | index("berth.group=part")) | select(.status == "online")] | length'
}
ENV="DOCKER_HOST=unix://$TMP/docker.sock BERTH_CPUS=1 BERTH_STATS_INTERVAL_S=1 BERTH_BACKOFF_MAX_S=2"
"$B" nodegroup create part --provider process --min 10 --max 16 \
    --set cpus=1 --set provision_timeout_s=120 --set unneeded_s=2 \
    --set delay_after_add_s=0 --set delay_after_failure_s=0 \
    --set "agent_env=$ENV" >/dev/null || notok "nodegroup create part"
check "ten machines join" wait_for 90 sh -c \
    "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/nodegroups/default/part/machines | jq '[.[] | select(.state == \"joined\")] | length')\" = 10 ]"
check "ten group nodes online" wait_for 60 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/grids/default/nodes | jq '[.[] | select(.labels | index(\"berth.group=part\")) | select(.status == \"online\")] | length')\" = 10 ]"

api POST /v1/grids/default/stacks '{"stack":"t/web","services":{"web":{"image":"busybox","instances":10,"cpus":1,"affinity":["label==berth.group=part"]}}}'
api POST /v1/stacks/default/web/deploy
inst_nodes() {
	curl -s -H "Authorization: Bearer $TOKEN" \
	    "$API/v1/services/default/web/web/containers" | jq -r '[.[].node] | unique | length'
}
check "one instance on each of the ten nodes" wait_for 60 sh -c \
    "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/services/default/web/web/containers | jq -r '[.[].node] | unique | length')\" = 10 ]"
sched_wait_round
launches0=$(count_events machine.launch)
check_eq "ten launches so far, nothing terminated, no stand-down" \
    "$launches0 $(count_events machine.terminate) $(count_events nodegroup.stand_down)" "10 0 0"

# ---- the cut: six agents frozen at once ----------------------------------------
frozen=$(machines -r '.[].pid' | head -6)
echo "# cut at $SECONDS s"
check_eq "six agent pids" "$(wc -w <<<"$frozen")" 6
kill -STOP $frozen
at_exit "kill -CONT $frozen 2>/dev/null"
check "the master stands down: nodegroup.stand_down" wait_for 60 sh -c \
    "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' '$API/v1/grids/default/events?type=nodegroup.stand_down' | jq length)\" -ge 1 ]"
check_eq "six nodes offline, four online" "$(online_group)" 4
check_has "the scheduler's note names the cut" \
    "$(api_jq '/v1/grids/default/events?type=sched.note&limit=500' '[.[].message | select(test("stand down"))] | first')" \
    "stand down: 6 of 10 nodes went offline within"
# Past ha_grace_s and ephemeral_removal_s, several rounds.
sleep 5
sched_wait_round
sched_wait_round
check_eq "nothing launched" "$(count_events machine.launch)" "$launches0"
check_eq "no scale-up decision beyond the first" "$(count_events nodegroup.scale_up)" 1
check_eq "nothing terminated" \
    "$(count_events machine.terminate) $(count_events machine.timeout) $(count_events node.drain)" "0 0 0"
check_eq "ten machines, all joined" "$(machines -c '[.[].state] | unique + [length]')" '["joined",10]'
check_eq "ten group node records" \
    "$(api_jq /v1/grids/default/nodes '[.[] | select(.labels | index("berth.group=part"))] | length')" 10
check_eq "the six frozen agents still exist" \
    "$(for p in $frozen; do pid_alive "$p" && echo y; done | wc -l)" 6
check_eq "ten instance records kept" "$(inst_nodes)" 10
check_eq "one NOTE: one nodegroup.stand_down event" "$(count_events nodegroup.stand_down)" 1
check_eq "and one scheduler stand-down note" \
    "$(api_jq '/v1/grids/default/events?type=sched.note&limit=500' '[.[].message | select(test("stand down"))] | length')" 1
"$B" nodegroup plan part >"$TMP/plan.out"
check_has "the plan says why it waits" "$(cat "$TMP/plan.out")" "stand"

# ---- the cut heals -------------------------------------------------------------
# The timers back to their defaults first: the stand-down ends as soon as
# fewer than half the nodes are offline, and a node still reconnecting
# then is past timers this short (docs/autoscaling.md, "Stand-down").
api PATCH /v1/grids/default '{"settings":{"ha_grace_s":120,"ephemeral_removal_s":1200}}'
kill -CONT $frozen
check "the six come back" wait_for 60 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/grids/default/nodes | jq '[.[] | select(.labels | index(\"berth.group=part\")) | select(.status == \"online\")] | length')\" = 10 ]"
sched_wait_round
check_eq "still nothing launched or terminated" \
    "$(count_events machine.launch) $(count_events machine.terminate)" "$launches0 0"
echo "# partition test: $SECONDS s"
master_stop
