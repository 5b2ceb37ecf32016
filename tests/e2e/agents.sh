#!/usr/bin/env bash
# agents.sh - a real master and real agents on the real Docker Engine:
# joins with labels, containers with the right labels and limits, agent
# and master crashes without duplicates or restarts, and an image that
# cannot be pulled.
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/test-image.sh" >/dev/null || { notok "build the local test image"; exit 1; }
D=$TMP/data
master_start "$D" --deploy-timeout-s 20 || exit 1
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":3,"instance_settle_s":1}}'
B=$BIN/berth

# Debug logs: their state lines are the evidence agent_synced waits for.
agent_start a1 "az=a,disk=ssd" BERTH_LOG_LEVEL=debug
agent_start a2 "az=b" BERTH_LOG_LEVEL=debug
wait_for 15 sh -c '[ "$(curl -s -H "Authorization: Bearer '"$TOKEN"'" '"$API"'/v1/grids/default/nodes | jq "[.[] | select(.status == \"online\")] | length")" = 2 ]'
check_eq "two real agents online" "$(node_status a1) $(node_status a2)" "online online"
api GET /v1/nodes/default/a1
check_eq "node a1 has its labels" "$(jq -c .labels <<<"$BODY")" '["az=a","disk=ssd"]'
check_eq "node a1 reported its resources" "$(jq '.cpus > 0 and .memory > 0 and (.docker_version | length > 0)' <<<"$BODY")" true
check_eq "node id is what the agent keeps" "$(jq -r .id <<<"$BODY")" "$(node_id a1)"

cat >"$TMP/web.yml" <<'YML'
stack: e2e/web
services:
  web:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    instances: 2
    cpu_shares: 512
    mem_limit: 48M
    stop_grace_period: 2s
    environment:
      GREETING: hello
YML
out=$("$B" stack install "$TMP/web.yml")
check_eq "install a stack on the real agents" "$?" 0
wait_for 20 sh -c '[ $(echo '"$(true)"' $(docker ps -q --filter label=berth.stack=web --filter label=berth.grid=default | wc -l)) -ge 2 ]'
ids=$(containers --filter label=berth.stack=web)
check_eq "two web containers run" "$(wc -w <<<"$ids")" 2
c1=$(echo $ids | cut -d' ' -f1)
insp=$(docker inspect "$c1")
check_eq "container labels" "$(jq -c '.[0].Config.Labels | [."berth.grid", ."berth.stack", ."berth.service", ."berth.rev"]' <<<"$insp")" '["default","web","web","1"]'
check "container has berth.instance and berth.node" \
    jq -ne 'input | .[0].Config.Labels | (."berth.instance" | length > 0) and (."berth.node" | length == 32)' <<<"$insp"
check_eq "cpu_shares reach Docker" "$(jq '.[0].HostConfig.CpuShares' <<<"$insp")" 512
check_eq "mem_limit reaches Docker" "$(jq '.[0].HostConfig.Memory' <<<"$insp")" $((48 * 1024 * 1024))
check_has "environment reaches Docker" "$(jq -c '.[0].Config.Env' <<<"$insp")" "GREETING=hello"
nodes=$(for c in $ids; do docker inspect -f '{{index .Config.Labels "berth.node"}}' "$c"; done | sort -u | wc -l)
check_eq "ha spreads the two instances over both nodes" "$nodes" 2
api GET /v1/services/default/web/web/containers
check_eq "the API shows both running" "$(jq -r '[.[].state] | join(",")' <<<"$BODY")" "running,running"
# The absence checks below read the agents' decisions from their logs.
check_has "an agent logs each container it decides to create" \
    "$(agent_actions a1; agent_actions a2)" "creating web.web-"

# ---- an agent crash: offline in time, back without duplicates or restarts --
started=$(for c in $ids; do docker inspect -f '{{.Id}} {{.State.StartedAt}}' "$c"; done | sort)
agent_stop a1 KILL
t0=$(date +%s%N)
wait_for 10 sh -c '[ "$(curl -s -H "Authorization: Bearer '"$TOKEN"'" '"$API"'/v1/nodes/default/a1 | jq -r .status)" = offline ]'
ms=$((($(date +%s%N) - t0) / 1000000))
echo "# killed agent offline after $ms ms (offline_after 3 s + heartbeat 1 s = 4000 ms)"
check "killed agent is offline within offline_after + one heartbeat" test "$ms" -le 4500
from1=$(agent_log_size a1)
agent_start a1 "az=a,disk=ssd" BERTH_LOG_LEVEL=debug
wait_for 15 api_jq /v1/nodes/default/a1 '.status == "online"' -e
check_eq "restarted agent is online again" "$(node_status a1)" online
check_eq "same node id after the restart" "$(api_jq /v1/grids/default/nodes '[.[].name] | join(",")')" "a1,a2"
# The evidence: the restarted agent converged on its desired set and
# reported; it decided on no create, start or remove.
check "the restarted agent converged on its desired set" \
    wait_for 20 agent_synced a1 "$from1"
check_eq "the restarted agent created, started and removed nothing" \
    "$(agent_actions a1 "$from1")" ""
now=$(for c in $(containers --filter label=berth.stack=web); do docker inspect -f '{{.Id}} {{.State.StartedAt}}' "$c"; done | sort)
check_eq "no duplicate and no restarted container after the agent restart" "$now" "$started"

# ---- a master crash: agents come back, nothing duplicated -------------------
master_stop KILL
from1=$(agent_log_size a1) from2=$(agent_log_size a2)
t0=$(date +%s%N)
API_PORT_FIXED=$API_PORT AGENT_PORT_FIXED=$AGENT_PORT master_start "$D" --deploy-timeout-s 20 || exit 1
wait_for 30 sh -c '[ "$(curl -s -H "Authorization: Bearer '"$TOKEN"'" '"$API"'/v1/grids/default/nodes | jq "[.[] | select(.status == \"online\")] | length")" = 2 ]'
ms=$((($(date +%s%N) - t0) / 1000000))
echo "# both agents back $ms ms after the master restarted"
check_eq "both agents back after kill -9 of the master" "$(node_status a1) $(node_status a2)" "online online"
check "both agents converged on the restarted master's desired sets" \
    wait_for 20 eval 'agent_synced a1 "$from1" && agent_synced a2 "$from2"'
check_eq "after the master restart the agents created, started and removed nothing" \
    "$(agent_actions a1 "$from1"; agent_actions a2 "$from2")" ""
now=$(for c in $(containers --filter label=berth.stack=web); do docker inspect -f '{{.Id}} {{.State.StartedAt}}' "$c"; done | sort)
check_eq "after the master restart: same containers, none restarted" "$now" "$started"
check_eq "the deploy record survived" "$("$B" stack ls --json | jq -r '.[0].deploy_state')" success

# ---- an image that cannot be pulled ------------------------------------------
# The pull is retried within the deploy's time (--deploy-timeout-s 20
# above), and the deploy that runs out of it says why.
cat >"$TMP/bad.yml" <<'YML'
stack: e2e/bad
services:
  stress:
    image: progrium/stress
    instances: 1
YML
out=$("$B" stack install "$TMP/bad.yml" 2>&1)
check_eq "installing an unpullable image fails" "$?" 1
check_has "the install says why" "$out" "pull progrium/stress"
api GET /v1/services/default/bad/stress/containers
check_eq "the instance is still pulling (retried), with the error" \
    "$(jq -r '.[0].state' <<<"$BODY")" pulling
check_has "the error names the image" "$(jq -r '.[0].error' <<<"$BODY")" "progrium/stress"
now=$(for c in $(containers --filter label=berth.stack=web); do docker inspect -f '{{.Id}} {{.State.StartedAt}}' "$c"; done | sort)
check_eq "the agent goes on serving its other containers" "$now" "$started"
"$B" stack rm --force bad >/dev/null

# ---- an agent stopped while a removal waits out a long grace ----------------
# The stop of a container that ignores TERM holds a worker in a Docker call
# for its 30 s grace; SIGTERM to the agent aborts that call (curl's progress
# callback reads the stop flag that main sets) instead of waiting it out.
# Under `make tsan` this is the shutdown path where the flag is written
# while other threads read it.
cat >"$TMP/slow.yml" <<'YML'
stack: e2e/slow
services:
  slow:
    image: berth-test/busybox:latest
    command: sh -c 'trap "" TERM; while true; do sleep 1; done'
    instances: 1
    stop_grace_period: 30s
YML
"$B" stack install "$TMP/slow.yml" >/dev/null
check "a container that ignores TERM runs" \
    wait_for 20 sh -c '[ -n "$(docker ps -q --filter label=berth.stack=slow --filter label=berth.grid=default)" ]'
slow_node=$(docker ps -q --filter label=berth.stack=slow --filter label=berth.grid=default |
    head -1 | xargs -r docker inspect -f '{{index .Config.Labels "berth.node"}}')
victim=a1
[ "$slow_node" = "$(node_id a2)" ] && victim=a2
"$B" stack rm --force slow >/dev/null
check "its agent starts removing it" \
    wait_for 15 grep -q "removing slow.slow-1" "$TMP/agents/$victim.log"
sleep 1		# the worker is inside POST /containers/{id}/stop now
t0=$(date +%s%N)
agent_stop "$victim"
ms=$((($(date +%s%N) - t0) / 1000000))
echo "# $victim stopped $ms ms after SIGTERM, a 30 s grace in flight"
check "SIGTERM aborts a stop in flight (exit within 5 s, not 30 s)" test "$ms" -lt 5000
if [ "$victim" = a1 ]; then agent_start a1 "az=a,disk=ssd"; else agent_start a2 "az=b"; fi
check "the stopped agent comes back" \
    wait_for 15 sh -c '[ "$(curl -s -H "Authorization: Bearer '"$TOKEN"'" '"$API"'/v1/nodes/default/'"$victim"' | jq -r .status)" = online ]'

# ---- scale down and remove -----------------------------------------------------
"$B" service scale web/web 1 >/dev/null
wait_for 15 sh -c '[ $(echo $(docker ps -q --filter label=berth.stack=web --filter label=berth.node='"$(node_id a1)"'; docker ps -q --filter label=berth.stack=web --filter label=berth.node='"$(node_id a2)"') | wc -w) = 1 ]'
check_eq "scaling to 1 leaves one container" "$(containers --filter label=berth.stack=web | wc -w)" 1
"$B" stack rm --force web >/dev/null
wait_for 15 sh -c '[ -z "$(docker ps -aq --filter label=berth.stack=web --filter label=berth.node='"$(node_id a1)"')$(docker ps -aq --filter label=berth.stack=web --filter label=berth.node='"$(node_id a2)"')" ]'
check_eq "stack rm removes every container" "$(docker ps -aq --filter label=berth.stack=web --filter label=berth.node=$(node_id a1) | wc -l)" 0
agent_stop a1
agent_stop a2
master_stop
