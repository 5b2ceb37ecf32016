#!/usr/bin/env bash
# nodegroup_recycle.sh - Kraken's "destroy after N jobs" as a node group's
# max_jobs_per_node (docs/autoscaling.md, "Recycling after N jobs"), on a
# real agent and Docker: the process provider starts real berth-agents.
# Group ci (min 1, max 2, max_jobs_per_node 2): its first machine joins;
# after a first job the node stays; a second job runs to its end on it
# (never killed), then the node is drained to recycle it (one node.drain
# naming max_jobs_per_node), its machine terminated and its node record
# gone, and min launches a replacement that joins.
# test-lane: side
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/docker-up.sh" >/dev/null || { notok "docker is up"; exit 1; }
"$ROOT/scripts/test-image.sh" >/dev/null || { notok "build the local test image"; exit 1; }
D=$TMP/data
master_start "$D" || exit 1
B=$BIN/berth
IMG=berth-test/busybox:latest
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":3}}'
machines() { api_jq "/v1/nodegroups/default/ci/machines" "${@:1}"; }
count_events() { api_jq "/v1/grids/default/events?type=$1&limit=200" length; }
ENV="BERTH_STATS_INTERVAL_S=1 BERTH_RESYNC_INTERVAL_S=2 BERTH_BACKOFF_MAX_S=2"

"$B" nodegroup create ci --provider process --min 1 --max 2 \
    --set cpus=1 --set max_jobs_per_node=2 --set provision_timeout_s=90 \
    --set stop_grace_s=5 --set "agent_env=$ENV" >/dev/null || notok "nodegroup create ci"
check "min 1: the first machine joins" \
    wait_for 60 machines '[.[] | select(.state == "joined")] | length == 1' -e
M1=$(machines -r '.[0].name')
check "its node is measured" wait_for 30 api_jq "/v1/nodes/default/$M1" '.cpus > 0' -e

# A first job ends: the node stays.
"$B" job run --name j1 --affinity label==berth.group=ci "$IMG" true >/dev/null
check "j1 succeeds on it" wait_for 60 api_jq /v1/jobs/default/j1 '.state == "succeeded"' -e
sched_wait_round
check_eq "one job: the node stays" "$(machines -r ".[] | select(.name == \"$M1\") | .state")" joined

# The second job is held running: the node is not recycled under it.
"$B" job run --name j2 --affinity label==berth.group=ci "$IMG" sh -c 'sleep 3' >/dev/null
check "j2 runs on it" wait_for 60 api_jq /v1/jobs/default/j2 '.state == "running"' -e
check_eq "jobs_finished counts 1 while j2 runs" "$(api_jq "/v1/nodes/default/$M1" .jobs_finished)" 1
check_eq "and its machine is still joined" "$(machines -r ".[] | select(.name == \"$M1\") | .state")" joined
check "j2 succeeds (never killed)" wait_for 60 api_jq /v1/jobs/default/j2 '.state == "succeeded"' -e
check "two jobs: the node is drained to recycle it" \
    wait_for 30 eval '[ "$(api_jq "/v1/grids/default/events?type=node.drain&limit=50" "[.[] | select(.message | contains(\"max_jobs_per_node 2\"))] | length")" = 1 ]'
check "its machine is terminated and gone" \
    wait_for 60 machines "[.[] | select(.name == \"$M1\" and .state != \"gone\")] | length == 0" -e
check "its node record goes with it" wait_for 30 sh -c "! curl -sf -H 'Authorization: Bearer $TOKEN' $API/v1/nodes/default/$M1 >/dev/null"
check "min 1: a replacement joins" \
    wait_for 60 machines "[.[] | select(.name != \"$M1\" and .state == \"joined\")] | length == 1" -e
check_eq "one recycle drain in all" \
    "$(api_jq '/v1/grids/default/events?type=node.drain&limit=50' '[.[] | select(.message | contains("max_jobs_per_node"))] | length')" 1
master_stop
