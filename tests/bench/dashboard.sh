#!/usr/bin/env bash
# tests/bench/dashboard.sh - the web dashboard's weight and speed, in
# Debian's chromium (tests/browser/dashboard.mjs, mode bench), against a
# private master with 1,000 nodes in grid "default" (rows written straight
# into its store, as api.sh does). Prints
#   dashboard_first_load_kb     every byte of a logged-in first load of the
#                               overview (compressed, headers included)
#   dashboard_reload_kb         the same tab reloaded (304s)
#   dashboard_nodes_1000_ms     navigation start to a rendered table of all
#                               1,000 nodes (median of 3); its _dcl_ms
#                               and _api_done_ms lines say when that
#                               run's page files had run and its node
#                               list had arrived
#   dashboard_master_cpu_idle_pct       the master's CPU, no dashboard open
#   dashboard_master_cpu_10tabs_pct     ... with 10 dashboards on the nodes
#                                       page (each polls every 2 s)
# CPU is % of one core over DASH_HOLD_S (20) seconds. Knobs: DASH_NODES.
set -u
. "$(dirname "$0")/../lib.sh"

N=${DASH_NODES:-1000}
HOLD=${DASH_HOLD_S:-20}
HZ=$(getconf CLK_TCK)
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }

D=$TMP/data
master_start "$D" >/dev/null || exit 1
sqlite3 "$D/berth.db" ".timeout 5000" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
INSERT INTO nodes (id, grid_id, name, labels, cpus, memory, status, connected, created_at, last_seen_at)
SELECT printf('%032x', i), 1, 'node-' || i, '[\"az=a\",\"ephemeral=true\"]', 2, 4294967296, 'online', 1,
       strftime('%s','now') * 1000, strftime('%s','now') * 1000 FROM n;" || exit 1
got=$(api_jq /v1/grids/default/nodes length)
[ "$got" = "$N" ] || { echo "dashboard.sh: expected $N nodes, the API lists $got" >&2; exit 1; }

t0=$(cpu_ticks "$MASTER_PID")
sleep "$HOLD"
t1=$(cpu_ticks "$MASTER_PID")
idle=$(awk -v t="$((t1 - t0))" -v hz="$HZ" -v s="$HOLD" 'BEGIN { printf "%.1f", 100 * t / hz / s }')

READY=$TMP/ready
BERTH_API=$API BERTH_TOKEN=$TOKEN BENCH_NODES=$N BENCH_TABS=10 \
    BENCH_READY=$READY BENCH_HOLD_S=$((HOLD + 5)) \
    node "$ROOT/tests/browser/dashboard.mjs" bench >"$TMP/figs" 2>&1 &
NODE_PID=$!
wait_for 180 test -s "$READY" || { echo "dashboard.sh: the 10 tabs never loaded" >&2; cat "$TMP/figs" >&2; kill "$NODE_PID" 2>/dev/null; exit 1; }
sleep 2
t0=$(cpu_ticks "$MASTER_PID")
sleep "$HOLD"
t1=$(cpu_ticks "$MASTER_PID")
busy=$(awk -v t="$((t1 - t0))" -v hz="$HZ" -v s="$HOLD" 'BEGIN { printf "%.1f", 100 * t / hz / s }')
wait "$NODE_PID" || { echo "dashboard.sh: the browser run failed" >&2; cat "$TMP/figs" >&2; exit 1; }
grep '^dashboard_' "$TMP/figs"
echo "dashboard_master_cpu_idle_pct $idle %"
echo "dashboard_master_cpu_10tabs_pct $busy %"
echo "dashboard.sh: $N nodes; the machine is shared (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
master_stop
