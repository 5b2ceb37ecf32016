#!/usr/bin/env bash
# node_stats.sh - what an agent's stats frames become in the API and the
# CLI: node ls shows CPU, memory used/total and the containers the agent
# counts; node show adds the load averages and the last minutes from the
# master's ring (master/loadring.c). The agent is wsprobe sending stats
# frames of known values; a bad stats field closes it with 4010.
. "$(dirname "$0")/../lib.sh"

PROBE=$ROOT/$BUILD/tools/wsprobe
B=$BIN/berth
master_start "$TMP/data" || exit 1
GT=$(cat "$TMP/data/grid-default.token")
NID=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
probe() { # STAY FRAME...: node "st" sending each FRAME once welcomed
	local stay=$1 f args=()
	shift
	for f in "$@"; do args+=(--send "$f"); done
	"$PROBE" --port "$AGENT_PORT" --stay "$stay" -H "Berth-Protocol: 1" \
	    -H "Berth-Node-Id: $NID" -H "Berth-Node-Name: st" \
	    -H "Berth-Node-Labels: az=a" -H "Berth-Agent-Version: test" \
	    -H "Berth-Grid-Token: $GT" "${args[@]}"
}

probe 6 '{"type":"stats","cpu_pct":37.5,"mem_used":1073741824,"mem_total":4294967296,"containers":3}' >"$TMP/p1" &
p1=$!
check "the node is online" wait_for 10 api_jq /v1/nodes/default/st '.status == "online"' -e
check "its stats reach the node list" wait_for 10 api_jq /v1/grids/default/nodes '.[0].containers == 3' -e
check_eq "containers, memory used and total, CPU" \
    "$(api_jq /v1/grids/default/nodes '.[0] | "\(.containers) \(.mem_used) \(.mem_total) \(.cpu_pct)"')" \
    "3 1073741824 4294967296 37.5"
out=$("$B" node ls)
check_has "node ls has the columns" "$out" "CPUS  CPU  MEMORY           CONTAINERS  INSTANCES"
check_has "and the values" "$out" "38%  1.0 GiB/4.0 GiB  3"
check_eq "node show (API): one sample in the last minutes" \
    "$(api_jq /v1/nodes/default/st '"\(.load_history | length) \(.load_history[0].cpu_pct) \(.load_history[0].containers) \(.load_avg."1m")"')" \
    "1 37.5 3 37.5"
out=$("$B" node show st)
check_has "node show: the averages" "$out" "load:           38% (1 min), 38% (5 min), 38% (10 min)"
check_has "node show: a row per minute" "$out" "1.0 GiB/4.0 GiB  3"
wait "$p1"

# Within one 10-s slot, frames are averaged.
probe 4 '{"type":"stats","cpu_pct":10,"mem_used":1,"mem_total":2,"containers":1}' >/dev/null
check "a second frame lands" wait_for 10 api_jq /v1/grids/default/nodes '.[0].containers == 1' -e
n=$(api_jq /v1/nodes/default/st '.load_history | length')
last=$(api_jq /v1/nodes/default/st '.load_history[-1].cpu_pct')
echo "# $n slot(s); the last slot's CPU: $last"
check "a frame in the same slot is averaged in, a later one opens a slot" \
    test "$last" = 23.75 -o "$last" = 10

# A stats field that is not a whole number is refused.
out=$(probe 3 '{"type":"stats","cpu_pct":1,"containers":"many"}')
check_has "a bad stats field: 4010" "$out" "close 4010 stats.containers: expected a whole number"
master_stop
