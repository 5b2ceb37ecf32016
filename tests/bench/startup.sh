#!/usr/bin/env bash
# tests/bench/startup.sh - time from exec of berth-master on an empty data
# dir (first start: schema, keys, tokens, grid default) to a serving
# /healthz, and the same for a restart on that data dir. Median of
# STARTUP_RUNS (default 9). Prints
#   master_startup_empty_ms <n> ms
#   master_startup_restart_ms <n> ms
set -u
. "$(dirname "$0")/../lib.sh"

RUNS=${STARTUP_RUNS:-9}
port=$(free_port)
aport=$(free_port)
one() {
	local t0 pid
	t0=$(date +%s%N)
	"$BIN/berth-master" --data-dir "$1" --api-listen "127.0.0.1:$port" \
	    --agent-listen "127.0.0.1:$aport" >/dev/null 2>&1 &
	pid=$!
	until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
		sleep 0.002
	done
	echo $((($(date +%s%N) - t0) / 1000000))
	kill "$pid"
	wait "$pid" 2>/dev/null
}
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
empty=$(for i in $(seq "$RUNS"); do rm -rf "$TMP/s"; one "$TMP/s"; done | median)
restart=$(for i in $(seq "$RUNS"); do one "$TMP/s"; done | median)
echo "master_startup_empty_ms $empty ms"
echo "master_startup_restart_ms $restart ms"
