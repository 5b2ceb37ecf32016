#!/usr/bin/env bash
# tests/bench/agentsim.sh - the agentsim scenarios of issue 7.
#
# For each size it starts a private berth-master on loopback, installs the
# daemon stack (stacks/examples/stress-local.yml, affinity
# label==ephemeral=true) when the stacks API answers, then runs
# build/bench/agentsim with that many simulated agents:
#
#   join      ramp the agents in; p50/p99 of welcome -> desired set
#   idle      hold them; master RSS (VmRSS) and CPU (utime+stime over
#             SIM_IDLE_S seconds) with all N connected
#   restart   SIGTERM the master (master_stop_ms: until it has exited) and
#             start it again on the same data dir; time from the first
#             dropped session until all N are back and have their desired
#             set again; the new master's admission rate while it had
#             sessions waiting (admissions_per_s, from GET /metrics)
#
# With SIM_CONTENDED=1 the largest size runs a second time with a CPU hog
# (a busy loop pinned to core 0, started and stopped here) for the whole
# scenario; its lines end in _contended.
#
# Figures go to stdout as "name value unit"; progress to stderr. Knobs:
#   SIM_AGENTS=1000     largest size (10000 for the full issue-7 run; the
#                       1k size always runs too, for join_..._1k)
#   SIM_RAMP=500        first connections per second
#   SIM_IDLE_S=20       idle CPU window
#   SIM_SOURCE_IPS=100  source addresses the agents are spread over
#   SIM_CONTENDED=1     also run the largest size beside a CPU hog
#   SIM_KEEP=1          keep the temp dir (master logs, reports, and
#                       join-trace.txt: each agent's welcome in wall-clock
#                       ms and its welcome -> desired ms)
#   SIM_MAX_CONNECTING=256  agentsim's handshakes in flight (one process
#                       holds every agent; docs/performance.md)
#   BERTH_BUILD=build   tree with bin/berth-master and bench/agentsim
#   BERTH_MASTER_BIN, AGENTSIM_BIN override the binaries.
# Every wait is bounded; the trap kills what the script started.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BERTH_BUILD:-build}
MASTER_BIN=${BERTH_MASTER_BIN:-$ROOT/$BUILD/bin/berth-master}
SIM_BIN=${AGENTSIM_BIN:-$ROOT/$BUILD/bench/agentsim}
STACK=$ROOT/stacks/examples/stress-local.yml
SIM_AGENTS=${SIM_AGENTS:-1000}
SIM_RAMP=${SIM_RAMP:-500}
SIM_IDLE_S=${SIM_IDLE_S:-20}
# A real fleet has an address per node; the hub bounds pending upgrades per
# address (256), so the agents come from 127.0.0.1..127.0.0.N.
SIM_SOURCE_IPS=${SIM_SOURCE_IPS:-100}
SIM_SETTLE_S=5
SIM_MAX_CONNECTING=${SIM_MAX_CONNECTING:-256}
TMP=$(mktemp -d /tmp/berth-agentsim.XXXXXX)
MASTER_PID=""
SIM_PID=""
HOG_PID=""
STOP_MS=""
HZ=$(getconf CLK_TCK)

note() { echo "agentsim.sh: $*" >&2; }

loadavg() { cut -d' ' -f1 /proc/loadavg; }

# A CPU hog on core 0 for the contended run: one busy loop, bounded.
hog_start() {
	if [ "$(nproc)" -lt 2 ]; then
		note "one core: no CPU hog (it would be the whole machine)"
		return
	fi
	timeout 3600 taskset -c 0 bash -c 'while :; do :; done' &
	HOG_PID=$!
	note "CPU hog on core 0 (pid $HOG_PID)"
}
hog_stop() {
	[ -n "$HOG_PID" ] || return 0
	kill "$HOG_PID" 2>/dev/null
	wait "$HOG_PID" 2>/dev/null
	HOG_PID=""
}

cleanup() {
	hog_stop
	[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null
	[ -n "$MASTER_PID" ] && kill "$MASTER_PID" 2>/dev/null
	sleep 0.5
	[ -n "$SIM_PID" ] && kill -9 "$SIM_PID" 2>/dev/null
	[ -n "$MASTER_PID" ] && kill -9 "$MASTER_PID" 2>/dev/null
	if [ "${SIM_KEEP:-0}" = 1 ]; then note "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for b in "$MASTER_BIN" "$SIM_BIN"; do
	[ -x "$b" ] || { note "missing $b (run make)"; exit 1; }
done

# A free loopback port below the ephemeral range, so that the agents'
# source ports never take it.
free_port() {
	local p
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % 12000))
		if ! ss -ltnH "sport = :$p" 2>/dev/null | grep -q .; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# Size label: 1000 -> 1k, 10000 -> 10k.
klabel() {
	if [ $(($1 % 1000)) -eq 0 ]; then echo "$(($1 / 1000))k"; else echo "$1"; fi
}

rss_mib() {
	awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null
}

# utime+stime of a process, in clock ticks.
cpu_ticks() {
	sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'
}

now_ms() { date +%s%3N; }

# pause SECONDS: sleep by the clock (a sleep cut short does not shorten it).
pause() {
	local end=$(($(now_ms) + $1 * 1000))
	while [ "$(now_ms)" -lt "$end" ]; do sleep 0.2; done
}

# wait_phase NAME SECONDS: until agentsim wrote phase NAME (or exited).
wait_phase() {
	local end=$(($(now_ms) + $2 * 1000))
	while [ "$(now_ms)" -lt "$end" ]; do
		[ "$(cat "$PHASE" 2>/dev/null)" = "$1" ] && return 0
		kill -0 "$SIM_PID" 2>/dev/null || {
			note "agentsim exited before phase $1"; return 1; }
		sleep 0.1
	done
	note "no phase $1 after $2 s (last: $(cat "$PHASE" 2>/dev/null))"
	return 1
}

# master_start DIR: start berth-master with the fd limit raised to the
# hard limit; waits for /healthz.
master_start() {
	(ulimit -n "$(ulimit -Hn)"; exec "$MASTER_BIN" --data-dir "$1" \
	    --api-listen "127.0.0.1:$API_PORT" \
	    --agent-listen "127.0.0.1:$AGENT_PORT") >>"$LOG" 2>&1 &
	MASTER_PID=$!
	local end=$(($(now_ms) + 30000))
	while [ "$(now_ms)" -lt "$end" ]; do
		curl -sf "$API/healthz" >/dev/null 2>&1 && return 0
		kill -0 "$MASTER_PID" 2>/dev/null || break
		sleep 0.1
	done
	note "master did not start; log:"
	tail -20 "$LOG" >&2
	return 1
}

master_stop() {
	local t0 end=$(($(now_ms) + 30000))
	t0=$(now_ms)
	kill -TERM "$MASTER_PID" 2>/dev/null
	while [ "$(now_ms)" -lt "$end" ]; do
		kill -0 "$MASTER_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$MASTER_PID" 2>/dev/null; then
		note "master ignored SIGTERM for 30 s: killing it"
		kill -9 "$MASTER_PID"
	fi
	wait "$MASTER_PID" 2>/dev/null
	STOP_MS=$(($(now_ms) - t0))
	MASTER_PID=""
}

# metric NAME: a value from the master's GET /metrics, empty if absent.
metric() {
	curl -s "$API/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}

# install_stack: 0 if the daemon stack was installed and deployed.
install_stack() {
	local code
	code=$(curl -s -o "$DIR/stack.out" -w '%{http_code}' -X POST \
	    -H "Authorization: Bearer $OP" -H 'Content-Type: application/yaml' \
	    --data-binary @"$STACK" "$API/v1/grids/default/stacks")
	case "$code" in
	2*) ;;
	*) note "stack install: HTTP $code $(head -c 200 "$DIR/stack.out")"
	   return 1 ;;
	esac
	code=$(curl -s -o "$DIR/deploy.out" -w '%{http_code}' -X POST \
	    -H "Authorization: Bearer $OP" "$API/v1/stacks/default/stress/deploy")
	case "$code" in
	2*) return 0 ;;
	*) note "stack deploy: HTTP $code $(head -c 200 "$DIR/deploy.out")"
	   return 1 ;;
	esac
}

# fig NAME: a figure from agentsim's stdout, empty if absent.
fig() { awk -v n="$1" '$1 == n { print $2 }' "$OUT"; }

# scenario N [contended]: one master, N agents, join + idle + restart.
scenario() {
	local n=$1 k expect="" hold t0 t1 c0 c1 s0 s1 rss cpu simcpu r0 r1 rs0 rs1 rm1 t
	local sr sb sm
	local join_s restart_t0 restart_ms p99 p50 lim sfx="" load stop_ms
	local adm busy
	k=$(klabel "$n")
	if [ "${2:-}" = contended ]; then
		sfx=_contended
		hog_start
	fi
	DIR=$TMP/$k$sfx
	mkdir -p "$DIR"
	LOG=$DIR/master.log
	OUT=$DIR/agentsim.out
	PHASE=$DIR/phase
	API_PORT=$(free_port) && AGENT_PORT=$(free_port) || {
		note "no free port"; return 1; }
	API=http://127.0.0.1:$API_PORT
	master_start "$DIR/data" || return 1
	OP=$(cat "$DIR/data/operator.token")
	if install_stack; then
		expect=--expect-containers
		note "$k: daemon stack installed; join waits for its container"
	else
		note "$k: no stacks API: join measures welcome -> first desired" \
		    "frame (no containers)"
	fi
	hold=$((SIM_SETTLE_S + SIM_IDLE_S + 3))
	join_s=$((n / SIM_RAMP + 90))
	note "$k: $n agents at $SIM_RAMP/s (master pid $MASTER_PID," \
	    "agent port $AGENT_PORT)"
	# Bytes the master reads from files (SQLite pages it had no cache
	# for) while the agents join: a figure the machine's load does not
	# move.
	rchar0=$(awk '/^rchar/ { print $2 }' "/proc/$MASTER_PID/io")
	(ulimit -n "$(ulimit -Hn)"; exec "$SIM_BIN" \
	    --url "ws://127.0.0.1:$AGENT_PORT" \
	    --token "$(cat "$DIR/data/grid-default.token")" \
	    --agents "$n" --ramp "$SIM_RAMP" --label ephemeral=true \
	    --source-ips "$SIM_SOURCE_IPS" \
	    --label az=sim-a --name-prefix sim --data-dir "$DIR" \
	    --measure join --measure idle --measure reconnect \
	    --duration "$hold" --join-timeout "$join_s" \
	    --restart-timeout 180 --max-connecting "$SIM_MAX_CONNECTING" \
	    $expect --report "$DIR/agentsim.json" \
	    --join-trace "$DIR/join-trace.txt" \
	    --phase-file "$PHASE") >"$OUT" 2>"$DIR/agentsim.err" &
	SIM_PID=$!

	if ! wait_phase synced $((join_s + 10)); then
		note "$k: agents never synced; master log tail:"
		tail -20 "$LOG" >&2
		return 1
	fi
	# The rounds that placed the joined nodes' daemons (a node's
	# desired set waits for one).
	rchar1=$(awk '/^rchar/ { print $2 }' "/proc/$MASTER_PID/io")
	sr=$(metric berth_sched_rounds_total)
	sb=$(metric berth_sched_round_seconds_total)
	sm=$(metric berth_sched_round_max_seconds)
	lw=$(metric berth_store_lock_waits_total)
	ls=$(metric berth_store_lock_wait_seconds_total)
	pause "$SIM_SETTLE_S"
	# Idle window: master and agentsim CPU, master RSS.
	t0=$(now_ms); c0=$(cpu_ticks "$MASTER_PID"); s0=$(cpu_ticks "$SIM_PID")
	pause "$SIM_IDLE_S"
	t1=$(now_ms); c1=$(cpu_ticks "$MASTER_PID"); s1=$(cpu_ticks "$SIM_PID")
	rss=$(rss_mib "$MASTER_PID")
	load=$(loadavg)
	cpu=$(awk -v a="$c0" -v b="$c1" -v t="$((t1 - t0))" -v hz="$HZ" \
	    'BEGIN { printf "%.1f", (b - a) * 100000 / hz / t }')
	simcpu=$(awk -v a="$s0" -v b="$s1" -v t="$((t1 - t0))" -v hz="$HZ" \
	    'BEGIN { printf "%.1f", (b - a) * 100000 / hz / t }')

	if ! wait_phase held 60; then
		note "$k: agentsim did not finish its hold"
		return 1
	fi
	restart_t0=$(now_ms)
	master_stop
	stop_ms=$STOP_MS
	note "$k: master stopped in $stop_ms ms; starting it again"
	master_start "$DIR/data" || return 1
	restart_ms=$(($(now_ms) - restart_t0))
	lim=$(($(now_ms) + 200000))
	# Who is busy while the agents come back: both processes' CPU,
	# sampled until agentsim (done when all are back) exits.
	r0=$(now_ms); rs0=$(cpu_ticks "$SIM_PID"); rs1=$rs0
	while kill -0 "$SIM_PID" 2>/dev/null && [ "$(now_ms)" -lt "$lim" ]; do
		t=$(cpu_ticks "$SIM_PID")
		[ -n "$t" ] && rs1=$t && r1=$(now_ms) &&
		    rm1=$(cpu_ticks "$MASTER_PID")
		sleep 0.2
	done
	if kill -0 "$SIM_PID" 2>/dev/null; then
		note "$k: agentsim still running; stopping it"
		kill "$SIM_PID"
	fi
	wait "$SIM_PID" 2>/dev/null
	SIM_PID=""

	# The new master admitted every agent back: its rate while it had
	# sessions waiting.
	adm=$(metric berth_hub_admissions_total)
	busy=$(metric berth_hub_admission_busy_seconds_total)

	if [ -n "${r1:-}" ] && [ "$r1" -gt "$r0" ]; then
		awk -v a="${rs0:-0}" -v b="$rs1" -v m="${rm1:-0}" \
		    -v t="$((r1 - r0))" -v hz="$HZ" -v k="$k$sfx" 'BEGIN {
			printf "master_cpu_pct_during_resync_%s %.1f %%\n", k,
			    m * 100000 / hz / t
			printf "agentsim_cpu_pct_during_resync_%s %.1f %%\n", k,
			    (b - a) * 100000 / hz / t }'
	fi
	if [ -n "$sr" ] && [ "$sr" -gt 0 ]; then
		awk -v r="$sr" -v b="$sb" -v m="$sm" -v k="$k$sfx" 'BEGIN {
			printf "sched_rounds_during_join_%s %d rounds\n", k, r
			printf "sched_round_mean_ms_%s %.1f ms\n", k,
			    b * 1000 / r
			printf "sched_round_max_ms_%s %.1f ms\n", k, m * 1000 }'
	fi
	[ -n "$rchar1" ] && awk -v a="${rchar0:-0}" -v b="$rchar1" -v k="$k$sfx" \
	    'BEGIN { printf "master_read_mib_during_join_%s %.1f MiB\n", k,
	    (b - a) / 1048576 }'
	# Writers that waited for SQLite's write lock during the join.
	[ -n "$lw" ] && echo "store_lock_waits_during_join_$k$sfx $lw waits" &&
	    echo "store_lock_wait_s_during_join_$k$sfx $ls s"
	echo "agents_connected_$k$sfx $(fig agents_connected) agents"
	echo "idle_drops_$k$sfx $(fig idle_drops) sessions"
	echo "master_rss_mib_at_$k$sfx $rss MiB"
	echo "master_idle_cpu_pct_at_$k$sfx $cpu %"
	echo "agentsim_idle_cpu_pct_at_$k$sfx $simcpu %"
	echo "load_avg_1m_at_$k$sfx $load load"
	if [ -n "$expect" ] && [ -n "$(fig join_to_desired_p99_ms)" ]; then
		echo "join_to_desired_p50_ms_$k$sfx $(fig join_to_desired_p50_ms) ms"
		echo "join_to_desired_p99_ms_$k$sfx $(fig join_to_desired_p99_ms) ms"
		p99=$(fig join_to_desired_late_p99_ms)
		[ -n "$p99" ] &&
		    echo "join_to_desired_late_p99_ms_$k$sfx $p99 ms"
	else
		p50=$(fig join_welcome_to_first_desired_p50_ms)
		p99=$(fig join_welcome_to_first_desired_p99_ms)
		echo "join_welcome_to_first_desired_p50_ms_$k$sfx $p50 ms"
		echo "join_welcome_to_first_desired_p99_ms_$k$sfx $p99 ms"
	fi
	echo "join_connect_to_welcome_p99_ms_$k$sfx" \
	    "$(fig join_connect_to_welcome_p99_ms) ms"
	echo "ramp_${k}_s$sfx $(fig ramp_s) s"
	# The load generator's own worst stall during the ramp: the join
	# figures above include it.
	echo "join_sim_stall_max_ms_$k$sfx $(fig join_sim_stall_max_ms) ms"
	echo "master_stop_ms_$k$sfx $stop_ms ms"
	echo "master_restart_${k}_ms$sfx $restart_ms ms"
	if [ -n "$(fig reconnect_all_s)" ]; then
		echo "restart_resync_${k}_s$sfx $(fig reconnect_all_s) s"
	else
		echo "restart_resync_${k}_s$sfx failed ($(fig agents_resynced) of $n) s"
	fi
	if [ -n "$adm" ] && [ -n "$busy" ]; then
		awk -v a="$adm" -v b="$busy" -v n="admissions_per_s_$k$sfx" \
		    'BEGIN { if (b > 0) printf "%s %.0f admissions/s\n", n, a / b }'
		note "$k$sfx: the restarted master admitted $adm sessions in" \
		    "$busy s of queue; $(metric berth_hub_shed_total) told to" \
		    "retry later; loop stalled $(metric berth_hub_stall_seconds_total) s"
	fi
	echo "master_rss_mib_after_resync_$k$sfx $(rss_mib "$MASTER_PID") MiB"
	if [ -n "$expect" ]; then
		# The made-up state frames must have reached the store: the
		# agents' last word (agentsim has ended, so the master shows
		# the instances of its now offline nodes as "unknown").
		curl -s -H "Authorization: Bearer $OP" \
		    "$API/v1/services/default/stress/stress/containers" \
		    >"$DIR/containers.json"
		echo "containers_running_$k$sfx $(grep -o \
		    '"reported_state": *"running"' "$DIR/containers.json" |
		    wc -l) containers"
	fi
	note "$k: master log: $(grep -c ' error ' "$LOG") error," \
	    "$(grep -c ' warn ' "$LOG") warn lines;" \
	    "$(grep -c 'refused' "$LOG") refusals"
	grep -E ' (error|warn) ' "$LOG" | head -5 >&2
	master_stop
	hog_stop
}

sizes=1000
[ "$SIM_AGENTS" -ne 1000 ] && sizes="1000 $SIM_AGENTS"
[ "$SIM_AGENTS" -lt 1000 ] && sizes=$SIM_AGENTS
note "ulimit -n $(ulimit -Hn) (hard); ports $(cat /proc/sys/net/ipv4/ip_local_port_range)"
rc=0
runs=$sizes
[ "${SIM_CONTENDED:-0}" = 1 ] && runs="$runs $SIM_AGENTS:contended"
for run in $runs; do
	note "load average $(cut -d' ' -f1-3 /proc/loadavg) before $run"
	scenario "${run%%:*}" "$(case $run in *:*) echo "${run#*:}" ;; esac)" || rc=1
	if [ -n "$SIM_PID" ]; then kill "$SIM_PID" 2>/dev/null; wait "$SIM_PID" 2>/dev/null; SIM_PID=""; fi
	[ -n "$MASTER_PID" ] && master_stop
	hog_stop
done
exit $rc
