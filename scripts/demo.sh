#!/usr/bin/env bash
# demo.sh - the berth scenario on this machine's Docker Engine.
#
#   scripts/demo.sh                      start (or restart) the demo
#   scripts/demo.sh add-agent NAME [k=v ...]
#                                        start one more ephemeral agent
#   scripts/demo.sh stop-agent NAME      scale in: stop one agent and remove
#                                        its containers (the machine is gone)
#   scripts/demo.sh status               what the demo runs now
#   scripts/demo.sh stop                 stop the demo and remove its containers
#
# `make demo` builds and runs the first form; `make demo-stop` the last.
#
# Start: makes sure Docker answers (scripts/docker-up.sh), builds the local
# image (scripts/test-image.sh), stops a previous demo, then starts a fresh
# master (API 127.0.0.1:9292, agents 127.0.0.1:9293, data in demo/master)
# and three agents: static-1 (az=a), eph-1 (ephemeral=true,az=a) and eph-2
# (ephemeral=true,az=b), each with its data in demo/agents/NAME. It installs
# stacks/examples/stress-local.yml and prints the nodes and the containers.
#
# Everything the demo runs has a pid file in demo/pids/ and a log in
# demo/logs/. Stop kills only those processes (after checking each pid is
# still the demo's) and removes only the containers labelled
# berth.grid=default whose berth.node is one of the demo's node ids. It
# never stops Docker. State lives under demo/ (ignored by git); every start
# begins from an empty state.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEMO=$ROOT/demo
BIN=$ROOT/bin
STACK_FILE=stacks/examples/stress-local.yml
STACK=stress
API_ADDR=127.0.0.1:9292
AGENT_ADDR=127.0.0.1:9293
API=http://$API_ADDR
WAIT_S=${BERTH_DEMO_WAIT_S:-30}
STOPPED=0
RESTART=0

cd "$ROOT"

say() { printf '==> %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

# ---- processes -------------------------------------------------------------

# is_demo_pid PID: PID is alive and is a berth process of this demo (its
# command line names a data dir under demo/). Guards against pid reuse.
is_demo_pid() {
	local pid=$1 cmd
	[ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
	cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	case "$cmd" in
	*berth-*" --data-dir $DEMO/"*) return 0 ;;
	esac
	return 1
}

# pid_of NAME: the pid in demo/pids/NAME.pid if it is still the demo's.
pid_of() {
	local pid
	pid=$(cat "$DEMO/pids/$1.pid" 2>/dev/null) || return 1
	is_demo_pid "$pid" && echo "$pid"
}

# spawn NAME CMD...: run CMD detached (own session, survives this shell),
# log to demo/logs/NAME.log, pid to demo/pids/NAME.pid.
spawn() {
	local name=$1
	shift
	mkdir -p "$DEMO/logs" "$DEMO/pids"
	# exec keeps the pid, so the pid file names the berth process itself.
	setsid bash -c 'echo $$ >"$0"; exec "$@"' "$DEMO/pids/$name.pid" "$@" \
	    >>"$DEMO/logs/$name.log" 2>&1 </dev/null &
	local i=0
	while [ ! -s "$DEMO/pids/$name.pid" ] && [ "$i" -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# kill_demo_pid PID LABEL: TERM, then KILL after 10 s.
kill_demo_pid() {
	local pid=$1 label=$2 i=0
	is_demo_pid "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	while is_demo_pid "$pid" && [ "$i" -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if is_demo_pid "$pid"; then
		echo "    $label (pid $pid) ignored TERM; sending KILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	echo "    stopped $label (pid $pid)"
}

# listener_pid PORT: pid of the process listening on PORT (empty if none
# or not visible).
listener_pid() {
	ss -tlnpH "( sport = :$1 )" 2>/dev/null |
	    sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n 1
}

port_busy() {
	ss -tlnH "( sport = :$1 )" 2>/dev/null | grep -q .
}

# ---- cli -------------------------------------------------------------------

berth() {
	BERTH_MASTER=$API BERTH_TOKEN=$(cat "$DEMO/master/operator.token") \
	    "$BIN/berth" "$@"
}

# show CMD...: print the command as the user would type it, then run it.
show() {
	printf '\n$ bin/berth %s\n' "$*"
	berth "$@"
}

# node_status NAME: online, offline, ... or empty when unknown.
node_status() {
	berth node ls --json 2>/dev/null |
	    jq -r --arg n "$1" '.[] | select(.name == $n) | .status' 2>/dev/null
}

# wait_online NAME...: wait until each node is online, with progress.
wait_online() {
	local want=$# n online i=0 last=""
	while :; do
		online=0
		for n in "$@"; do
			[ "$(node_status "$n")" = online ] && online=$((online + 1))
		done
		if [ "$online/$want" != "$last" ]; then
			echo "    $online/$want online"
			last="$online/$want"
		fi
		[ "$online" -eq "$want" ] && return 0
		for n in "$@"; do
			pid_of "$n" >/dev/null ||
			    fail_with_log "agent $n exited" "$n"
		done
		i=$((i + 1))
		[ "$i" -ge $((WAIT_S * 5)) ] &&
		    fail_with_log "nodes not online after ${WAIT_S}s" "$@"
		sleep 0.2
	done
}

fail_with_log() {
	local why=$1 n
	shift
	echo "demo: $why; last log lines:" >&2
	for n in "$@"; do
		echo "--- demo/logs/$n.log" >&2
		tail -n 15 "$DEMO/logs/$n.log" >&2 2>/dev/null || true
	done
	echo "demo: the demo is half started; 'make demo-stop' cleans up" >&2
	exit 1
}

# ---- pieces ----------------------------------------------------------------

# start_agent NAME LABELS
start_agent() {
	local name=$1 labels=$2
	mkdir -p "$DEMO/agents/$name"
	echo "    agent $name  labels: ${labels:-(none)}  log: demo/logs/$name.log"
	# The demo's agents share this machine's one engine: the grid
	# network's data plane stays off (docs/network.md).
	spawn "$name" env BERTH_URL="ws://$AGENT_ADDR" \
	    BERTH_TOKEN="$(cat "$DEMO/master/grid-default.token")" \
	    BERTH_NETWORK=off \
	    "$BIN/berth-agent" --data-dir "$DEMO/agents/$name" \
	    --node-name "$name" --labels "$labels"
}

need_master() {
	pid_of master >/dev/null ||
	    die "the demo master is not running (start the demo: make demo)"
	curl -sf "$API/healthz" >/dev/null ||
	    die "the demo master does not answer on $API (see demo/logs/master.log)"
}

# The demo's node ids: from the agents' data dirs.
demo_node_ids() {
	cat "$DEMO"/agents/*/node-id 2>/dev/null || true
}

# The demo's containers (running or not): grid default AND a demo node.
demo_containers() {
	local id
	for id in $(demo_node_ids); do
		docker ps -aq --filter label=berth.grid=default \
		    --filter "label=berth.node=$id"
	done
}

# ---- commands --------------------------------------------------------------

cmd_stop() {
	local f name pid any=0 ids
	for f in "$DEMO"/pids/*.pid; do
		[ -e "$f" ] || continue
		name=$(basename "$f" .pid)
		[ "$name" = master ] && continue	# agents first
		if pid=$(pid_of "$name"); then
			[ "$any" = 1 ] || say "stopping the demo"
			any=1
			kill_demo_pid "$pid" "agent $name"
		fi
		rm -f "$f"
	done
	# The master: by pid file, or a master of this demo left holding the
	# API port without one.
	pid=$(pid_of master) || pid=$(listener_pid "${API_ADDR##*:}")
	if [ -n "$pid" ] && is_demo_pid "$pid"; then
		[ "$any" = 1 ] || say "stopping the demo"
		any=1
		kill_demo_pid "$pid" master
	fi
	rm -f "$DEMO/pids/master.pid"
	if [ -n "$(demo_node_ids)" ]; then
		# Containers of every demo node, including agents stopped on
		# their own.
		if ! docker info >/dev/null 2>&1; then
			echo "demo: Docker does not answer; the demo's containers" \
			    "(label berth.node=<id in demo/agents/*/node-id>) were" \
			    "not removed" >&2
			return 1
		fi
		ids=$(demo_containers)
		if [ -n "$ids" ]; then
			[ "$any" = 1 ] || say "stopping the demo"
			any=1
			# shellcheck disable=SC2086
			docker rm -f $ids >/dev/null
			echo "    removed $(echo $ids | wc -w) demo container(s)"
		fi
	fi
	if [ "$any" = 1 ]; then
		if [ "$RESTART" = 1 ]; then
			echo "    Docker is left running; starting again from an empty state"
		else
			echo "    Docker is left running; demo state and logs stay in demo/"
		fi
	fi
	STOPPED=$any
	return 0
}

cmd_start() {
	local pid
	[ -x "$BIN/berth-master" ] && [ -x "$BIN/berth-agent" ] &&
	    [ -x "$BIN/berth" ] || die "no binaries in bin/; run: make demo"
	command -v jq >/dev/null || die "jq is missing; run: make deps"

	say "Docker"
	"$ROOT/scripts/docker-up.sh"
	docker version --format '    engine {{.Server.Version}} answers' ||
	    die "Docker does not answer"

	say "local image berth-test/busybox:latest"
	"$ROOT/scripts/test-image.sh"
	echo "    ready"

	RESTART=1 cmd_stop
	for port in "${API_ADDR##*:}" "${AGENT_ADDR##*:}"; do
		port_busy "$port" || continue
		pid=$(listener_pid "$port")
		if [ -n "$pid" ]; then
			die "port $port is held by pid $pid ($(tr '\0' ' ' \
			    <"/proc/$pid/cmdline" | cut -c1-100)), which is not this demo's; the demo needs 127.0.0.1:9292 and 127.0.0.1:9293 free"
		fi
		die "port $port is in use by another process; the demo needs 127.0.0.1:9292 and 127.0.0.1:9293 free"
	done

	# A fresh state each time: previous master, agents and logs go.
	rm -rf "$DEMO/master" "$DEMO/agents" "$DEMO/logs" "$DEMO/pids"
	mkdir -p "$DEMO/master" "$DEMO/agents" "$DEMO/logs" "$DEMO/pids"

	say "master  API $API  agents ws://$AGENT_ADDR  data demo/master  log demo/logs/master.log"
	spawn master "$BIN/berth-master" --data-dir "$DEMO/master" \
	    --api-listen "$API_ADDR" --agent-listen "$AGENT_ADDR"
	local i=0
	until curl -sf "$API/healthz" >/dev/null 2>&1; do
		pid_of master >/dev/null || fail_with_log "the master exited" master
		i=$((i + 1))
		[ "$i" -ge $((WAIT_S * 10)) ] &&
		    fail_with_log "the master did not answer in ${WAIT_S}s" master
		sleep 0.1
	done
	echo "    up (pid $(pid_of master))"

	say "agents"
	start_agent static-1 "az=a"
	start_agent eph-1 "ephemeral=true,az=a"
	start_agent eph-2 "ephemeral=true,az=b"
	say "waiting for the three nodes to come online"
	wait_online static-1 eph-1 eph-2

	if berth stack show "$STACK" >/dev/null 2>&1; then
		say "upgrading stack $STACK from $STACK_FILE"
		show stack upgrade "$STACK" "$STACK_FILE"
	else
		say "installing stack $STACK from $STACK_FILE"
		show stack install "$STACK_FILE"
	fi
	show node ls
	show service containers "$STACK/stress"
	next_steps
}

next_steps() {
	cat <<EOF

The demo is running: berth-master and the agents $(cd "$DEMO/pids" &&
	    ls | sed 's/\.pid$//' | grep -v '^master$' | paste -sd' ' -)
(pids in demo/pids/, logs in demo/logs/), and one stress container on each
ephemeral node. Run these from the repository root:

Use the CLI against the demo master:
    export BERTH_MASTER=$API
    export BERTH_TOKEN=\$(cat demo/master/operator.token)
    bin/berth node ls
  (or instead of BERTH_TOKEN: export BERTH_DATA_DIR=\$PWD/demo/master;
   a new 'make demo' makes a new token: export it again)

Scale out (one more ephemeral node; the daemon service lands on it):
    scripts/demo.sh add-agent eph-3 az=b
    bin/berth service containers stress/stress

Watch the events (Ctrl-C to stop watching):
    bin/berth grid events default --follow

Stop everything (agents, master and the demo's containers; Docker stays up):
    make demo-stop
EOF
}

cmd_add_agent() {
	local name=${1:-}
	[ -n "$name" ] ||
	    die "usage: scripts/demo.sh add-agent NAME [k=v ...]  (e.g. add-agent eph-3 az=b)"
	shift
	[[ $name =~ ^[a-z0-9][a-z0-9-]{0,62}$ ]] ||
	    die "node name \"$name\": want [a-z0-9][a-z0-9-]{0,62}"
	need_master
	if pid=$(pid_of "$name"); then
		die "agent $name already runs (pid $pid)"
	fi
	local labels="ephemeral=true" l
	for l in "$@"; do
		case "$l" in
		ephemeral=*) labels=${labels#ephemeral=true}; labels=${labels#,} ;;
		esac
	done
	for l in "$@"; do
		[[ $l == *=* ]] || die "label \"$l\": want key=value"
		labels="${labels:+$labels,}$l"
	done
	say "agent $name joins"
	start_agent "$name" "$labels"
	wait_online "$name"
	# The daemon service is placed on join; wait for its container.
	if [[ ,$labels, == *,ephemeral=true,* ]]; then
		local i=0 st=""
		while [ "$i" -lt $((WAIT_S * 5)) ]; do
			st=$(berth service containers "$STACK/stress" --json 2>/dev/null |
			    jq -r --arg n "$name" '.[] | select(.node == $n) | .state' \
			    2>/dev/null | head -n 1) || st=""
			[ "$st" = running ] && break
			sleep 0.2
			i=$((i + 1))
		done
	fi
	show service containers "$STACK/stress" || true
	cat <<EOF

Agent $name runs (pid $(pid_of "$name"), log demo/logs/$name.log); 'make demo-stop' stops it with the rest.
EOF
}

cmd_stop_agent() {
	local name=${1:-} id ids
	[ -n "$name" ] || die "usage: scripts/demo.sh stop-agent NAME"
	[[ $name =~ ^[a-z0-9][a-z0-9-]{0,62}$ ]] && [ "$name" != master ] ||
	    die "\"$name\" is not an agent name"
	pid=$(pid_of "$name") || die "agent $name is not running"
	say "agent $name goes away (as when the Auto Scaling Group scales in)"
	kill_demo_pid "$pid" "agent $name"
	rm -f "$DEMO/pids/$name.pid"
	# The machine is gone with its containers; the agent leaves them
	# running on TERM, so remove them here.
	id=$(cat "$DEMO/agents/$name/node-id" 2>/dev/null) || id=""
	if [ -n "$id" ]; then
		ids=$(docker ps -aq --filter label=berth.grid=default \
		    --filter "label=berth.node=$id")
		if [ -n "$ids" ]; then
			# shellcheck disable=SC2086
			docker rm -f $ids >/dev/null
			echo "    removed its $(echo "$ids" | wc -w) container(s)"
		fi
	fi
	cat <<EOF

The master marks $name offline at once (its socket closed; a machine that
just vanishes is offline after offline_after_s, 15 s). An ephemeral node
offline for ephemeral_removal_s (1200 s by default) is removed from the grid
and its instances are placed elsewhere; static nodes stay. To see the
removal sooner:
    bin/berth grid set default ephemeral_removal_s=30
EOF
}

cmd_status() {
	local f name pid
	for f in "$DEMO"/pids/*.pid; do
		[ -e "$f" ] || { echo "the demo is not running"; return 0; }
		name=$(basename "$f" .pid)
		if pid=$(pid_of "$name"); then
			echo "$name: running (pid $pid)"
		else
			echo "$name: not running"
		fi
	done
	if pid_of master >/dev/null && [ -s "$DEMO/master/operator.token" ]; then
		show node ls || true
	fi
}

case "${1:-start}" in
start) cmd_start ;;
stop) cmd_stop; [ "$STOPPED" = 1 ] || echo "demo: nothing of the demo is running" ;;
add-agent) shift; cmd_add_agent "$@" ;;
stop-agent) shift; cmd_stop_agent "$@" ;;
status) cmd_status ;;
-h | --help | help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' ;;
*) die "unknown command \"$1\" (start, add-agent NAME [k=v ...], stop-agent NAME, status, stop)" ;;
esac
