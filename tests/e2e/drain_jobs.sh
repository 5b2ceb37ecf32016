#!/usr/bin/env bash
# drain_jobs.sh - drains and jobs on a real agent and the real Docker
# Engine (docs/nodes.md): a job in flight holds a drain (the node's daemon
# too: daemons stop last) until it exits on its own, exit 0, not killed;
# a job that outlives the drain's deadline is stopped with
# node.drain_forced, its attempt failed with the drain's reason, and its
# container goes.
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/test-image.sh" >/dev/null || { notok "build the local test image"; exit 1; }
IMG=berth-test/busybox:latest
B=$BIN/berth
master_start "$TMP/data" || exit 1
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":3,"instance_settle_s":0}}'
agent_start n1 "az=a"
check "a real agent online" wait_for 30 api_jq /v1/nodes/default/n1 '.status == "online" and .cpus > 0' -e
events() { api_jq '/v1/grids/default/events?limit=1000' "[.[] | select(.type == \"$1\")] | length"; }
on() { # SERVICE [docker ps filters]: that service's containers on n1
	local s=$1
	shift
	docker ps -q --filter "label=berth.node=$(node_id n1)" \
	    --filter label=berth.stack=drainj --filter "label=berth.service=$s" "$@" | wc -l
}
cat >"$TMP/d.yml" <<YML
stack: e2e/drainj
services:
  agentd:
    image: $IMG
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    stop_grace_period: 2s
    deploy:
      strategy: daemon
YML
out=$("$B" stack install "$TMP/d.yml" 2>&1)
check_eq "a daemon runs on n1" "$?:$(on agentd --filter status=running)" "0:1"

"$B" job run --name hold --affinity node==n1 "$IMG" sh -c 'sleep 4; exit 0' >/dev/null
check "the job runs on n1" wait_for 20 api_jq /v1/jobs/default/hold '.state == "running"' -e
"$B" node drain --no-wait --deadline 2m n1 >/dev/null
check_eq "the drain waits for the job" \
    "$(api_jq /v1/nodes/default/n1 '"\(.drain.state) \(.drain.left.jobs)"')" "draining 1"
sleep 1
check_eq "its daemon still runs while the job does" "$(on agentd --filter status=running)" 1
check "the job ends on its own and the drain is done" wait_for 30 \
    api_jq /v1/nodes/default/n1 '.drain.state == "drained"' -e
check_eq "the job succeeded (it was not killed)" "$(api_jq /v1/jobs/default/hold '"\(.state) \(.exit_code)"')" "succeeded 0"
j=$(api_jq '/v1/grids/default/events?limit=1000' '[.[] | select(.type == "job.succeeded") | .id] | min')
dd=$(api_jq '/v1/grids/default/events?limit=1000' '[.[] | select(.type == "node.drain_done") | .id] | min')
check "the drain was done after the job ended, not before" test "${dd:-0}" -gt "${j:-0}"
daemon_gone() { [ "$(on agentd -a)" = 0 ]; }
check "its daemon goes with the drain (after the job)" wait_for 20 daemon_gone
"$B" node uncordon n1 >/dev/null
check "n1 takes work again (its daemon is back)" wait_for 20 sh -c "[ \$(docker ps -q --filter label=berth.node=$(node_id n1) --filter label=berth.service=agentd --filter status=running | wc -l) = 1 ]"
"$B" job run --name long --affinity node==n1 "$IMG" sh -c 'trap "" TERM; sleep 300' >/dev/null
check "a long job runs on n1" wait_for 20 api_jq /v1/jobs/default/long '.state == "running"' -e
out=$("$B" node drain --deadline 3s n1 2>&1)
check_eq "drain with a 3s deadline exits 0" "$?" 0
check_has "forced at its deadline" "$out" "forced at its deadline"
check_eq "node.drain_forced" "$(events node.drain_forced)" 1
check "the job's container is stopped" wait_for 30 sh -c \
    "[ \$(docker ps -q --filter label=berth.node=$(node_id n1) --filter status=running | wc -l) = 0 ]"
check_has "its attempt failed with the drain's reason" \
    "$(api_jq '/v1/grids/default/events?limit=1000' -r '.[] | select(.type | startswith("job.")) | .message')" "drain deadline"
master_stop
