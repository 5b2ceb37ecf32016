#!/usr/bin/env bash
# tests/bench/jobs_dispatch.sh - how fast the master dispatches queued
# jobs: JOBS_N jobs of one cpu are queued while no node exists, then
# JOBS_AGENTS simulated agents (build/bench/agentsim, JOBS_CPUS cpus each)
# join and finish every attempt they are given at once. From the moment
# they start until the store holds JOBS_N succeeded jobs, every job went
# through the queue, a placement, an attempt written with its event, a
# desired set, an agent's report and its end: that is jobs_dispatch_per_s.
# The capacity (agents x cpus) is far below JOBS_N, so the queue turns
# over many times. Also prints the master's CPU time per job over the same
# window (less at the mercy of the machine's other load than the rate:
# 1e6 / it is the rate one free core would sustain). Prints "name value
# unit" lines; progress on stderr.
set -u
. "$(dirname "$0")/../lib.sh"

N=${JOBS_N:-4000}
AGENTS=${JOBS_AGENTS:-20}
CPUS=${JOBS_CPUS:-8}
SIM=$ROOT/$BUILD/bench/agentsim
[ -x "$SIM" ] || { echo "jobs_dispatch: missing $SIM (run make)" >&2; exit 1; }

master_start "$TMP/m" >/dev/null || exit 1
echo "jobs_dispatch: queueing $N jobs" >&2
python3 "$ROOT/tests/bench/jobs_submit.py" "$API" "$TOKEN" "$N" \
    '{"image":"berth-test/busybox:latest","command":["true"],"cpus":1}' ||
    exit 1
succeeded() { sqlite3 "$TMP/m/berth.db" "SELECT count(*) FROM jobs WHERE state = 'succeeded'"; }

cpu() { awk '{ print $14 + $15 }' "/proc/$MASTER_PID/stat"; }
c0=$(cpu)
t0=$(date +%s%N)
"$SIM" --url "ws://127.0.0.1:$AGENT_PORT" \
    --token "$(cat "$TMP/m/grid-default.token")" --agents "$AGENTS" \
    --cpus "$CPUS" --ramp 1000 --duration 3600 --data-dir "$TMP" \
    >"$TMP/sim.out" 2>"$TMP/sim.err" &
sim=$!
at_exit "kill $sim 2>/dev/null"
done=0
for i in $(seq 6000); do
	n=$(succeeded)
	[ "$n" -ge "$N" ] && { done=1; break; }
	kill -0 "$sim" 2>/dev/null || { echo "jobs_dispatch: agentsim died" >&2; cat "$TMP/sim.err" >&2; exit 1; }
	sleep 0.1
done
t1=$(date +%s%N)
c1=$(cpu)
[ "$done" = 1 ] || { echo "jobs_dispatch: $(succeeded) of $N succeeded in time" >&2; exit 1; }
kill "$sim" 2>/dev/null
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
echo "jobs_dispatch: $N jobs through $AGENTS x $CPUS slots in $secs s" >&2
echo "jobs_dispatch_s $secs s"
awk -v n="$N" -v s="$secs" 'BEGIN { printf "jobs_dispatch_per_s %.0f jobs/s\n", n / s }'
awk -v n="$N" -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "jobs_dispatch_master_cpu_us_per_job %.0f us\n", c / hz * 1e6 / n }'
echo "jobs_dispatch: load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2
master_stop
