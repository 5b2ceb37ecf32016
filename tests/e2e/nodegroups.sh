#!/usr/bin/env bash
# nodegroups.sh - node groups on real agents and Docker (docs/autoscaling.md):
# the process provider starts real berth-agent binaries.
#  1. Scale from zero: group burst (0..3, one-cpu template) and three
#     one-cpu instances pinned to it: one scale-up decision of 3 machines,
#     they join with their single-use tokens (labels ephemeral=true,
#     berth.group=burst), everything runs; the time from demand to all
#     running is printed.
#  2. Scale-in: the stack removed, each node unneeded, drained and
#     terminated; machine rows, node records, processes and data dirs gone.
#  3. Never joins: a machine whose agent dials a dead port is terminated at
#     the provision timeout, its group backs off; no process, row or dir
#     is left.
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/docker-up.sh" >/dev/null || { notok "docker is up"; exit 1; }
"$ROOT/scripts/test-image.sh" >/dev/null || { notok "build the local test image"; exit 1; }
D=$TMP/data
master_start "$D" || exit 1
B=$BIN/berth
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":3}}'

# The group's machines (process-provider agents) and their containers go
# at exit with everything else the test started (tests/lib.sh cleanup).

machines() { api_jq "/v1/nodegroups/default/$1/machines" "${@:2}"; }
count_events() { api_jq "/v1/grids/default/events?type=$1&limit=100" length; }
ENV="BERTH_STATS_INTERVAL_S=1 BERTH_RESYNC_INTERVAL_S=2 BERTH_BACKOFF_MAX_S=2"

# ---- 1. scale from zero --------------------------------------------------------
"$B" nodegroup create burst --provider process --min 0 --max 3 \
    --set cpus=1 --set provision_timeout_s=90 --set unneeded_s=2 \
    --set delay_after_add_s=0 --set stop_grace_s=5 --set "agent_env=$ENV" \
    >/dev/null || notok "nodegroup create burst"
sched_wait_round
check_eq "no demand, no machine" "$(machines burst length)" 0

cat >"$TMP/web.yml" <<'YML'
stack: e2e/web
services:
  web:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    instances: 3
    cpus: 1
    stop_grace_period: 1s
    affinity:
      - label==berth.group=burst
YML
t0=$(date +%s%3N)
"$B" stack install "$TMP/web.yml" >"$TMP/install.out" 2>&1 &
INSTALL=$!
running() {
	curl -s -H "Authorization: Bearer $TOKEN" \
	    "$API/v1/services/default/web/web/containers" |
	    jq '[.[] | select(.state == "running")] | length'
}
wait_for 120 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/services/default/web/web/containers | jq '[.[] | select(.state == \"running\")] | length')\" = 3 ]"
t1=$(date +%s%3N)
check_eq "three instances running" "$(running)" 3
echo "# scale from zero: demand to 3 instances running on 3 new nodes: $((t1 - t0)) ms (loaded shared machine)"
wait "$INSTALL"
rc=$?
check_eq "the install waited for the new nodes and succeeded" "$rc" 0
[ "$rc" = 0 ] || sed 's/^/# install: /' "$TMP/install.out"
check_has "its deploy is done" "$(cat "$TMP/install.out")" "[done]"
check_eq "one scale-up decision" "$(count_events nodegroup.scale_up)" 1
check_has "for three machines" \
    "$(api_jq '/v1/grids/default/events?type=nodegroup.scale_up' '.[0].message')" \
    "launching 3 machines"
check_eq "three machines joined" "$(machines burst -c '[.[].state]')" '["joined","joined","joined"]'
"$B" nodegroup machines burst | sed 's/^/# /'
check_eq "each joined with its own token (3 machine.join events)" "$(count_events machine.join)" 3
nodes=$(api_jq /v1/grids/default/nodes -c '[.[] | select(.labels | index("berth.group=burst")) | select(.labels | index("ephemeral=true")) | .name] | sort')
check_eq "three nodes, labelled by their group" "$nodes" \
    "$(machines burst -c '[.[].name] | sort')"
check_eq "one instance on each" \
    "$(curl -s -H "Authorization: Bearer $TOKEN" $API/v1/services/default/web/web/containers | jq -r '[.[].node] | unique | length')" 3
pids=$(machines burst -r '.[].pid')
check_eq "three agent processes run" \
    "$(for p in $pids; do agent_alive "$p" "$D/machines" && echo y; done | wc -l)" 3
sched_wait_round
check_eq "busy nodes are not unneeded" "$(machines burst -c '[.[] | select(.unneeded_since)] | length')" 0

# ---- a master killed (-9) and restarted finds what it started -------------------
master_stop KILL
API_PORT_FIXED=$API_PORT AGENT_PORT_FIXED=$AGENT_PORT master_start "$D" ||
    { notok "the master restarts"; exit 1; }
check "the agents reconnect with their node tokens" wait_for 60 sh -c \
    "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/grids/default/nodes | jq '[.[] | select(.status == \"online\")] | length')\" = 3 ]"
check_eq "their nodes keep the group's labels" \
    "$(api_jq /v1/grids/default/nodes -c '[.[] | select(.labels | index("berth.group=burst"))] | length')" 3
check_eq "the same machines, the same processes" \
    "$(machines burst -r '[.[] | "\(.state):\(.pid)"] | join(" ")')" \
    "$(for p in $pids; do printf 'joined:%s ' "$p"; done | sed 's/ $//')"
sched_wait_round
check_eq "no second scale-up" "$(count_events nodegroup.scale_up)" 1
check_eq "still three instances running" "$(running)" 3

# ---- 2. scale-in -----------------------------------------------------------------
"$B" stack rm --force web >/dev/null 2>&1 || "$B" stack rm web >/dev/null 2>&1 ||
    notok "stack rm web"
check "the machines are terminated and forgotten" wait_for 90 sh -c \
    "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/nodegroups/default/burst/machines | jq length)\" = 0 ]"
check_eq "each was drained first" "$(count_events node.drain)" 3
check_eq "and terminated" "$(count_events machine.terminate)" 3
check_eq "their node records went with them" \
    "$(api_jq /v1/grids/default/nodes '[.[] | select(.labels | index("berth.group=burst"))] | length')" 0
check_eq "no agent process left" \
    "$(for p in $pids; do agent_alive "$p" "$D/machines" && echo "$p"; done)" ""
check_eq "no data dir left" "$(ls "$D/machines" 2>/dev/null)" ""
check_eq "no scale-up since" "$(count_events nodegroup.scale_up)" 1

# ---- 3. never joins -------------------------------------------------------------------
"$B" nodegroup create dead --provider process --min 1 --max 2 \
    --set provision_timeout_s=3 --set agent_url=ws://127.0.0.1:1 \
    --set "agent_env=$ENV" >/dev/null || notok "nodegroup create dead"
check "min 1 launches a machine" wait_for 30 sh -c \
    "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/nodegroups/default/dead/machines | jq -r '.[0].state')\" = launching ]"
dpid=$(machines dead -r '.[0].pid')
check "its agent runs (and cannot join)" agent_alive "$dpid" "$D/machines"
check "terminated at the provision timeout" wait_for 60 sh -c \
    "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' '$API/v1/grids/default/events?type=machine.timeout' | jq length)\" = 1 ]"
check_has "the timeout says why" \
    "$(api_jq '/v1/grids/default/events?type=machine.timeout' '.[0].message')" "not joined within 3s"
check_has "its group backs off" \
    "$(api_jq '/v1/grids/default/events?type=nodegroup.backoff' '.[0].message')" "no launch for 5m"
check "the machine is forgotten" wait_for 30 sh -c \
    "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/nodegroups/default/dead/machines | jq length)\" = 0 ]"
if agent_alive "$dpid" "$D/machines"; then notok "no orphan process ($dpid runs)"; else ok "no orphan process"; fi
check_eq "no data dir left" "$(ls "$D/machines" 2>/dev/null)" ""
check "backoff shown" sh -c "$B nodegroup show dead | grep -q 'backoff:'"
sched_wait_round
check_eq "in backoff: nothing launched again" "$(machines dead length)" 0
check_eq "no node record from it" \
    "$(api_jq /v1/grids/default/nodes '[.[] | select(.labels | index("berth.group=dead"))] | length')" 0
master_stop
