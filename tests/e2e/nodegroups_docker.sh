#!/usr/bin/env bash
# nodegroups_docker.sh - the docker provider on the real Engine
# (docs/autoscaling.md): each machine is berth-agent in a container of an
# image built here from this build's binary (scripts/agent-image.sh, no
# registry), joined to the master with its single-use token.
#  1. Scale from zero: two one-cpu instances pinned to group dk (0..2):
#     two agent containers join, everything runs on them.
#  2. Scale-in: the stack removed, the machines are terminated: their
#     containers, node records, rows and data dirs are gone.
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/docker-up.sh" >/dev/null || { notok "docker is up"; exit 1; }
"$ROOT/scripts/test-image.sh" >/dev/null || { notok "build the local test image"; exit 1; }
# A tag of this binary's own (other builds share the Engine).
IMG=berth-agent:test-$(sha256sum "$BIN/berth-agent" | cut -c1-12)
"$ROOT/scripts/agent-image.sh" "$IMG" "$BIN/berth-agent" 2>/dev/null ||
    { notok "build the agent image"; exit 1; }
D=$TMP/data
master_start "$D" || exit 1
B=$BIN/berth
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":3}}'

agent_containers() {
	docker ps -aq --filter "label=berth.provider.group=default/dk" |
	    while read -r id; do
		case "$(docker inspect -f '{{index .Config.Labels "berth.provider.dir"}}' "$id")" in
		"$D"/*) echo "$id" ;;
		esac
	done
}
stop_machines() {
	local f id
	for f in "$D"/machines/*/node-id; do
		[ -f "$f" ] || continue
		id=$(cat "$f")
		docker ps -aq --filter "label=berth.node=$id" | xargs -r docker rm -f >/dev/null 2>&1
	done
	agent_containers | xargs -r docker rm -f >/dev/null 2>&1
}
at_exit stop_machines
at_exit 'docker rmi "$IMG" >/dev/null 2>&1'

machines() { api_jq "/v1/nodegroups/default/$1/machines" "${@:2}"; }
ENV="BERTH_STATS_INTERVAL_S=1 BERTH_RESYNC_INTERVAL_S=2 BERTH_BACKOFF_MAX_S=2"
"$B" nodegroup create dk --provider docker --max 2 --set cpus=1 \
    --set "docker_image=$IMG" --set provision_timeout_s=120 \
    --set unneeded_s=1s --set delay_after_add_s=0 --set exec_timeout_s=120 \
    --set backoff_s=2s --set backoff_max_s=4s \
    --set "agent_env=$ENV" >/dev/null || notok "nodegroup create dk"

cat >"$TMP/web.yml" <<'YML'
stack: e2e/web
services:
  web:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    instances: 2
    cpus: 1
    stop_grace_period: 1s
    affinity:
      - label==berth.group=dk
YML
# ---- 1. scale from zero ------------------------------------------------------------
t0=$(date +%s%3N)
"$B" stack install "$TMP/web.yml" >"$TMP/install.out" 2>&1 &
INSTALL=$!
check "two instances run" wait_for 150 sh -c \
    "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/services/default/web/web/containers | jq '[.[] | select(.state == \"running\")] | length')\" = 2 ]"
echo "# docker provider: demand to 2 running on 2 agent containers: $(( $(date +%s%3N) - t0 )) ms (loaded shared machine)"
wait "$INSTALL"
check_eq "the install waited for them and succeeded" "$?" 0
check_eq "two machines joined" "$(machines dk -c '[.[].state]')" '["joined","joined"]'
ids=$(agent_containers | sort | tr '\n' ' ')
check_eq "each machine is an agent container (its id the machine's)" \
    "$(machines dk -r '[.[].provider_id] | sort | join(" ")') " "$ids"
check_eq "running the image built from this binary" \
    "$(for c in $ids; do docker inspect -f '{{.Config.Image}} {{.State.Running}}' "$c"; done | sort -u)" "$IMG true"
check_eq "no token left on disk" "$(ls "$D"/machines/*/agent.env 2>/dev/null)" ""
check_eq "one instance on each of their nodes" \
    "$(curl -s -H "Authorization: Bearer $TOKEN" $API/v1/services/default/web/web/containers | jq -r '[.[].node] | unique | length')" 2
check_eq "nodes labelled by their group" \
    "$(api_jq /v1/grids/default/nodes -c '[.[] | select(.labels | index("berth.group=dk")) | .name] | sort')" \
    "$(machines dk -c '[.[].name] | sort')"

# ---- 2. scale-in ---------------------------------------------------------------------
"$B" stack rm --force web >/dev/null 2>&1 || notok "stack rm web"
# (A docker call slowed down by a loaded Engine may time out: the delete
# is retried after the group's backoff, 2 s here.)
if wait_for 150 sh -c \
    "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/nodegroups/default/dk/machines | jq length)\" = 0 ]"; then
	ok "the machines are terminated and forgotten"
else
	notok "the machines are terminated and forgotten"
	"$B" nodegroup machines dk | sed 's/^/# /'
	api_jq '/v1/grids/default/events?limit=100' -r '.[] | select(.type | startswith("machine.") or startswith("node.")) | "# \(.type): \(.message)"'
fi
check_eq "their agent containers are gone" "$(agent_containers)" ""
check_eq "their node records too" "$(api_jq /v1/grids/default/nodes length)" 0
check_eq "and their data dirs" "$(ls "$D/machines" 2>/dev/null)" ""
master_stop
