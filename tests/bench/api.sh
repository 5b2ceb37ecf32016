#!/usr/bin/env bash
# tests/bench/api.sh - REST API throughput with wrk on loopback.
#
# A private master with 1,000 nodes in grid "default" (rows written
# straight into its store, as a grid of that size would have them), then
# wrk on GET /v1/grids/default/nodes with the operator token. Prints
#   api_nodes_rps_1k <n> req/s
#   api_nodes_p99_ms_1k <n> ms
# Knobs: API_NODES (1000), API_SECONDS (10), API_CONNS (32).
set -u
. "$(dirname "$0")/../lib.sh"

N=${API_NODES:-1000}
SECS=${API_SECONDS:-10}
CONNS=${API_CONNS:-32}
D=$TMP/data
master_start "$D" >/dev/null || exit 1
sqlite3 "$D/berth.db" ".timeout 5000" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
INSERT INTO nodes (id, grid_id, name, labels, cpus, memory, status, connected, created_at, last_seen_at)
SELECT printf('%032x', i), 1, 'node-' || i, '[\"az=a\",\"ephemeral=true\"]', 2, 4294967296, 'online', 1,
       strftime('%s','now') * 1000, strftime('%s','now') * 1000 FROM n;" || exit 1
api GET /v1/grids/default/nodes
got=$(jq length <<<"$BODY")
[ "$got" = "$N" ] || { echo "api.sh: expected $N nodes, the API lists $got" >&2; exit 1; }
echo "api.sh: $N nodes, one reply is $(printf %s "$BODY" | wc -c) bytes; wrk ${SECS}s, $CONNS connections" >&2
out=$(wrk -t2 -c"$CONNS" -d"${SECS}s" --latency \
    -H "Authorization: Bearer $TOKEN" "$API/v1/grids/default/nodes")
echo "$out" >&2
rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out")
p99=$(awk '$1 == "99%" {v = $2; u = v; gsub(/[0-9.]/, "", u); gsub(/[a-z]/, "", v);
    if (u == "us") v /= 1000; else if (u == "s") v *= 1000; printf "%.2f", v}' <<<"$out")
echo "api_nodes_rps_1k $rps req/s"
echo "api_nodes_p99_ms_1k $p99 ms"
master_stop
