#!/usr/bin/env bash
# tests/bench/jobs100.sh - 100 short jobs on one real agent against 100
# parallel `docker run` of the same container, on the same engine in one
# run (as docker50.sh does for services):
#
#   berth     100 jobs `true` POSTed at once (one keep-alive connection),
#             until the store holds 100 succeeded jobs: queue, placement,
#             the agent's create + start (BERTH_DOCKER_CONCURRENCY workers),
#             its report, the end written
#   parallel  100 `docker run` (no -d: each waits for its container to
#             exit) started at once, until all have returned
#
# Prints jobs100_berth_s, jobs100_parallel_run_s and their ratio
# (jobs100_vs_parallel_run_ratio). Containers of both are removed after.
set -u
. "$(dirname "$0")/../lib.sh"

N=${JOBS100_N:-100}
IMG=berth-test/busybox:latest
"$ROOT/scripts/docker-up.sh" >&2 || exit 1
"$ROOT/scripts/test-image.sh" >&2 || exit 1
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }

# ---- berth ---------------------------------------------------------------------
master_start "$TMP/m" >/dev/null || exit 1
agent_start bench-1 "" ${JOBS100_CONCURRENCY:+BERTH_DOCKER_CONCURRENCY=$JOBS100_CONCURRENCY}
wait_for 30 api_jq /v1/nodes/default/bench-1 '.status == "online"' -e ||
    { echo "jobs100: agent did not join" >&2; exit 1; }
succeeded() { sqlite3 "$TMP/m/berth.db" "SELECT count(*) FROM jobs WHERE state = 'succeeded'"; }
t0=$(now)
python3 "$ROOT/tests/bench/jobs_submit.py" "$API" "$TOKEN" "$N" \
    "{\"image\":\"$IMG\",\"command\":[\"true\"]}" || exit 1
for i in $(seq 6000); do
	[ "$(succeeded)" -ge "$N" ] && break
	sleep 0.05
done
t_berth=$(secs "$t0" "$(now)")
[ "$(succeeded)" -ge "$N" ] || { echo "jobs100: only $(succeeded) of $N succeeded" >&2; exit 1; }
echo "jobs100: berth $t_berth s" >&2
agent_stop bench-1
master_stop
docker ps -aq --filter "label=berth.node=$(node_id bench-1)" | xargs -r docker rm -f >/dev/null

# ---- parallel docker run -----------------------------------------------------------
t0=$(now)
pids=""
for i in $(seq "$N"); do
	docker run --label berth-bench=jobs100 --name "berth-bench-j100-$i" \
	    "$IMG" true >/dev/null 2>&1 &
	pids="$pids $!"
done
fails=0
for p in $pids; do wait "$p" || fails=$((fails + 1)); done
t_par=$(secs "$t0" "$(now)")
echo "jobs100: parallel docker run $t_par s ($fails failed)" >&2
docker ps -aq --filter label=berth-bench=jobs100 | xargs -r docker rm -f >/dev/null

echo "jobs100_berth_s $t_berth s"
echo "jobs100_parallel_run_s $t_par s"
awk -v a="$t_berth" -v b="$t_par" 'BEGIN { printf "jobs100_vs_parallel_run_ratio %.2f ratio\n", a / b }'
echo "jobs100: load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2
