#!/usr/bin/env bash
# drain_groups.sh - scale-in of non-empty node group nodes on real agents
# (the process provider) and Docker (docs/nodes.md, docs/autoscaling.md):
# group burst (min 2, two-cpu nodes) runs web (2 x 1 cpu, min_health 0.5),
# one instance per node. With min 1, each node's instance fits on the
# other: one node (not both) is unneeded, drained start-before-stop and
# its machine terminated, node record and process gone, web never below
# min_health (sampled in Docker). A drain cancelled by new demand it can
# take (node.drain_cancel) launches nothing; a protected node is never
# chosen.
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/docker-up.sh" >/dev/null || { notok "docker is up"; exit 1; }
"$ROOT/scripts/test-image.sh" >/dev/null || { notok "build the local test image"; exit 1; }
D=$TMP/data
master_start "$D" || exit 1
B=$BIN/berth
# Moves take instance_settle_s: long enough to catch a drain under way.
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":3,"instance_settle_s":4,"rebalance_settle_s":86400}}'
# The group's machines (process-provider agents) and their containers go
# at exit with everything else the test started (tests/lib.sh cleanup).
machines() { api_jq /v1/nodegroups/default/burst/machines "$@"; }
count_events() { api_jq "/v1/grids/default/events?type=$1&limit=100" length; }
ENV="BERTH_STATS_INTERVAL_S=1 BERTH_RESYNC_INTERVAL_S=2 BERTH_BACKOFF_MAX_S=2"

"$B" nodegroup create burst --provider process --min 2 --max 3 \
    --set cpus=2 --set provision_timeout_s=90 --set unneeded_s=2 \
    --set delay_after_add_s=0 --set stop_grace_s=2 --set "agent_env=$ENV" \
    >/dev/null || notok "nodegroup create burst"
joined2() { [ "$(machines -c '[.[] | select(.state == "joined")] | length')" = 2 ] &&
    [ "$(api_jq /v1/grids/default/nodes '[.[] | select(.status == "online" and .cpus > 0)] | length')" = 2 ]; }
check "min 2: two machines join" wait_for 60 joined2
cat >"$TMP/web.yml" <<'YML'
stack: e2e/dg
services:
  web:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    instances: 2
    cpus: 1
    stop_grace_period: 1s
    deploy:
      min_health: 0.5
    affinity:
      - label==berth.group=burst
YML
"$B" stack install "$TMP/web.yml" >/dev/null 2>&1
check_eq "web: one instance on each node" \
    "$(api_jq /v1/services/default/dg/web/containers '[.[] | select(.state == "running") | .node] | unique | length')" 2
nodes=$(machines -r '[.[].name] | sort | join(" ")')
set -- $nodes
# Scale-in looks at machines oldest first: the first is protected, so
# only the second may be chosen.
"$B" node protect "$1" >/dev/null
set -- "$2" "$1"
sample() {
	docker ps --filter label=berth.stack=dg --filter label=berth.service=web \
	    --filter status=running -q | wc -l
}
( while :; do sample; sleep 0.2; done ) >"$TMP/samples" 2>/dev/null &
SAMPLER=$!
at_exit "kill $SAMPLER 2>/dev/null"

# ---- a drain under way, cancelled by demand it can take ----------------------
"$B" nodegroup set burst min=1 >/dev/null
draining() { api_jq "/v1/nodes/default/$1" '.drain.state == "draining" and .drain.by == "scale-in"' -e >/dev/null; }
check "$1 (not the protected $2) is drained for scale-in" wait_for 30 draining "$1"
check_has "node.drain says its instances fit elsewhere" \
    "$(api_jq '/v1/grids/default/events?type=node.drain' -r '.[0].message')" "its instances fit elsewhere"
check_has "node ls shows it draining" "$("$B" node ls)" "draining"
api PATCH /v1/services/default/dg/web '{"instances":3}'
check_eq "web scaled to 3 (one more than the other node takes)" "$STATUS" 200
check "new demand cancels the drain (node.drain_cancel)" wait_for 20 sh -c \
    "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' '$API/v1/grids/default/events?type=node.drain_cancel' | jq length)\" = 1 ]"
check_eq "its machine is joined again, its node open" \
    "$(machines -r "[.[] | select(.name == \"$1\") | .state][0]") $(api_jq /v1/nodes/default/$1 '"\(.cordoned) \(.drain)"')" \
    "joined false null"
three() { [ "$(api_jq /v1/services/default/dg/web/containers '[.[] | select(.state == "running")] | length')" = 3 ]; }
check "the node takes the demand: 3 running" wait_for 30 three
check_eq "nothing was launched (one scale-up, for min 2)" "$(count_events nodegroup.scale_up) $(machines length)" "1 2"

# ---- the drain runs to its end: terminated --------------------------------------
api PATCH /v1/services/default/dg/web '{"instances":2}'
gone() { [ "$(machines length)" = 1 ] && [ "$(api_jq /v1/grids/default/nodes length)" = 1 ]; }
check "a node is drained and its machine terminated, its node record gone" wait_for 60 gone
kill "$SAMPLER" 2>/dev/null
wait "$SAMPLER" 2>/dev/null
check_eq "the protected node stays" "$(machines -r '.[0].name')" "$2"
check_has "the drain ended before the terminate" \
    "$(api_jq '/v1/grids/default/events?type=node.drain_done' -r '.[0].message')" "terminating its machine"
check_eq "web: 2 running on the node left" \
    "$(api_jq /v1/services/default/dg/web/containers '[.[] | select(.state == "running") | .node] | "\(length) \(unique | join(","))"')" "2 $2"
echo "# $(wc -l <"$TMP/samples") samples; fewest running web containers: $(sort -n "$TMP/samples" | head -1)"
check_eq "web never had fewer running than min_health (1 of 2) in Docker" \
    "$(awk 'NR == 1 || $1 < m { m = $1 } END { print (m >= 1) ? "ok" : "min " m }' "$TMP/samples")" ok
master_stop
