#!/usr/bin/env bash
# nodegroups_exec.sh - overflow between node groups on real agents and
# Docker (docs/autoscaling.md): group a (exec provider, priority 1, max 1)
# and group b (process provider, priority 2, max 3). The exec program is
# an operator's script that starts a real berth-agent per machine.
#  1. Demand 3 (one-cpu instances, one-cpu nodes) ends 1 + 2: a's one
#     machine, b's two; everything runs.
#  2. The stack removed: every node is drained and terminated, a's through
#     its program's delete.
#  3. a's program fails (exit 1): an event naming its cause, a backs off,
#     b takes all 3.
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/docker-up.sh" >/dev/null || { notok "docker is up"; exit 1; }
"$ROOT/scripts/test-image.sh" >/dev/null || { notok "build the local test image"; exit 1; }
D=$TMP/data
S=$TMP/exec-machines
mkdir -p "$S"
master_start "$D" || exit 1
B=$BIN/berth
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":3}}'

# The operator's program: a machine is a berth-agent in its own session.
P=$TMP/prov
cat >"$P" <<EOF2
#!/bin/bash
in=\$(cat)
m=\$(jq -r .machine <<<"\$in")
echo "\$1 \$m" >>"$TMP/calls"
d="$S/\$m"
case \$1 in
create)
	[ -f "$TMP/fail" ] && { echo "no capacity in region (test)" >&2; exit 1; }
	mkdir -p "\$d"
	(cd "\$d" && exec env -i PATH="\$PATH" BERTH_NETWORK=off BERTH_URL="\$(jq -r .url <<<"\$in")" \\
	    BERTH_TOKEN="\$(jq -r .token <<<"\$in")" BERTH_NODE_NAME="\$m" \\
	    BERTH_DATA_DIR="\$d" BERTH_CPUS="\$(jq -r .cpus <<<"\$in")" \\
	    \$(jq -r '.env | to_entries[] | "\(.key)=\(.value)"' <<<"\$in") \\
	    setsid "\$(jq -r .agent <<<"\$in")" </dev/null >"\$d/agent.log" 2>&1) &
	echo \$! >"\$d/pid"
	printf '{"id": "%s"}\n' "\$m" ;;
delete)
	pid=\$(cat "\$d/pid" 2>/dev/null)
	if [ -n "\$pid" ]; then
		kill -TERM -- "-\$pid" 2>/dev/null || kill -TERM "\$pid" 2>/dev/null
		for i in \$(seq 50); do kill -0 "\$pid" 2>/dev/null || break; sleep 0.2; done
		kill -KILL -- "-\$pid" 2>/dev/null
	fi
	rm -rf "\$d"
	echo '{}' ;;
list)
	printf '{"instances": [%s]}\n' "\$(ls "$S" | sed 's/.*/{"id": "&", "machine": "&"}/' | paste -sd,)" ;;
esac
EOF2
chmod +x "$P"

stop_machines() {
	local f pid id
	for f in "$D"/machines/*/agent.pid "$S"/*/pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		kill -9 "-$pid" "$pid" 2>/dev/null
		id=$(cat "$(dirname "$f")/node-id" 2>/dev/null)
		[ -n "$id" ] && docker ps -aq --filter "label=berth.node=$id" |
		    xargs -r docker rm -f >/dev/null 2>&1
	done
}
at_exit stop_machines

machines() { api_jq "/v1/nodegroups/default/$1/machines" "${@:2}"; }
count_events() { api_jq "/v1/grids/default/events?type=$1&limit=100" length; }
ENV="BERTH_STATS_INTERVAL_S=1 BERTH_RESYNC_INTERVAL_S=2 BERTH_BACKOFF_MAX_S=2"
COMMON=(--set cpus=1 --set provision_timeout_s=90 --set unneeded_s=1s
    --set delay_after_add_s=0 --set stop_grace_s=5 --set "agent_env=$ENV")
"$B" nodegroup create a --provider exec --max 1 --set priority=1 "${COMMON[@]}" \
    --set "exec_program=$P" --set exec_timeout_s=30 --set backoff_s=1h \
    --set backoff_max_s=1h >/dev/null || notok "nodegroup create a"
"$B" nodegroup create b --provider process --max 3 --set priority=2 \
    "${COMMON[@]}" >/dev/null || notok "nodegroup create b"

cat >"$TMP/web.yml" <<'YML'
stack: e2e/web
services:
  web:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    instances: 3
    cpus: 1
    stop_grace_period: 1s
YML
running() {
	curl -s -H "Authorization: Bearer $TOKEN" \
	    "$API/v1/services/default/web/web/containers" |
	    jq '[.[] | select(.state == "running")] | length'
}
# The group of the node each running instance is on, sorted.
placed_groups() {
	local nodes
	nodes=$(api_jq /v1/grids/default/nodes -c 'map({(.name): ([.labels[] | select(startswith("berth.group="))][0] | ltrimstr("berth.group="))}) | add')
	curl -s -H "Authorization: Bearer $TOKEN" \
	    "$API/v1/services/default/web/web/containers" |
	    jq -r --argjson n "$nodes" '[.[] | select(.state == "running") | $n[.node]] | sort | join(" ")'
}
wait_running() {
	wait_for 150 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/services/default/web/web/containers | jq '[.[] | select(.state == \"running\")] | length')\" = 3 ]"
}

# ---- 1. demand 3 ends 1 + 2 -------------------------------------------------
t0=$(date +%s%3N)
"$B" stack install "$TMP/web.yml" >"$TMP/install.out" 2>&1 &
INSTALL=$!
check "three instances run" wait_running
echo "# demand to 3 running on 1 + 2 new nodes: $(( $(date +%s%3N) - t0 )) ms (loaded shared machine)"
wait "$INSTALL"
check_eq "the install waited for the capacity and succeeded" "$?" 0
check_eq "a: one machine joined, its id from the program" \
    "$(machines a -c '[.[] | [.state, (.provider_id == .name)]]')" '[["joined",true]]'
check_eq "b: two joined" "$(machines b -c '[.[].state]')" '["joined","joined"]'
check_eq "instances by group: 1 on a, 2 on b" "$(placed_groups)" "a b b"
check_eq "one create call" "$(grep -c '^create ' "$TMP/calls")" 1

# ---- 2. scale-in, a's machine through its program's delete ---------------------
apid=$(cat "$S"/a-*/pid)
"$B" stack rm --force web >/dev/null 2>&1 || notok "stack rm web"
check "every machine is terminated and forgotten" wait_for 90 sh -c \
    "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/nodegroups/default/a/machines | jq length)\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/nodegroups/default/b/machines | jq length)\" = 00 ]"
check "a's through its program's delete" grep -q '^delete a-' "$TMP/calls"
if agent_alive "$apid" "$S"; then notok "a's agent is stopped ($apid runs)"; else ok "a's agent is stopped"; fi
check_eq "their node records went with them" \
    "$(api_jq /v1/grids/default/nodes 'length')" 0

# ---- 3. a's program fails: a backs off, b takes all 3 --------------------------
touch "$TMP/fail"
"$B" stack install "$TMP/web.yml" >"$TMP/install2.out" 2>&1 &
INSTALL=$!
check "three instances run again" wait_running
wait "$INSTALL"
check_eq "the install succeeded" "$?" 0
check_has "a's failure is an event naming its cause" \
    "$(api_jq '/v1/grids/default/events?type=machine.launch_failed' 'last.message')" \
    "exit status 1: no capacity in region (test)"
check_has "a backs off" "$(api_jq '/v1/grids/default/events?type=nodegroup.backoff' 'last.message')" \
    "group a: no launch for 1h"
check_eq "a has no machine" "$(machines a length)" 0
check_eq "b: three joined" "$(machines b -c '[.[].state]')" '["joined","joined","joined"]'
check_eq "all 3 on b" "$(placed_groups)" "b b b"
check_eq "a's program was asked once more, not again" "$(grep -c '^create ' "$TMP/calls")" 2
"$B" stack rm --force web >/dev/null 2>&1
master_stop
