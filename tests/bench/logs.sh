#!/usr/bin/env bash
# tests/bench/logs.sh - container log figures (docs/performance.md, "Logs").
#
#   logs_lines_per_s	50 containers on one agent each print LOG_LINES
#			lines at once; lines stored by the master per second,
#			from the first line Docker time-stamped to the last
#			stored (target >= 100,000)
#   logs_dropped	lines of that run counted as dropped (must be 0)
#   logs_master_lines_per_s  the master alone: 1,000,000 lines in logs
#			frames from a simulated agent, received to stored
#   logs_master_cpu_us_per_line  the master's CPU time per line of that
#   logs_follow_p99_ms	`berth service logs -f`: a container prints a line
#			every 50 ms for 10 s; p99 of (the CLI has it) minus
#			(Docker's time stamp) (target <= 250)
#
# Everything real but the simulated agent of the master-alone figure: the
# master, the agent, Docker, the CLI. Figures on stdout as "name value
# unit", details on stderr. LOG_CONTAINERS and LOG_LINES change the first.
. "$(dirname "$0")/../lib.sh"
exec 3>&1 1>&2

"$ROOT/scripts/test-image.sh" >/dev/null || { echo "bench: no test image"; exit 1; }
NC=${LOG_CONTAINERS:-50}
NL=${LOG_LINES:-20000}
D=$TMP/data
master_start "$D" || exit 1
B=$BIN/berth
figure() { echo "$1 $2 $3" >&3; echo "bench: $1 $2 $3"; }
cpu_s() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; }

# ---- the master alone -------------------------------------------------------------
GT=$(cat "$D/grid-default.token")
N1=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
NOW=$(date +%s%N)
spec="["
for i in $(seq 1 50); do
	cid=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
	spec="$spec{\"cid\":\"$cid\",\"name\":\"sim.p-$i.x\",\"stack\":\"sim\",\"service\":\"p\",\"instance\":$i,\"n\":20000,\"ts0\":$NOW,\"step\":1000,\"text\":\"{i} a log line of about sixty bytes, like most are\"},"
done
python3 "$ROOT/tests/integration/logs_frames.py" "$TMP/frames" 1 "${spec%,}]" 4000 >/dev/null
last=$(wc -l <"$TMP/frames")
c0=$(cpu_s "$MASTER_PID")
t0=$(date +%s%N)
"$ROOT/$BUILD/tools/wsprobe" --port "$AGENT_PORT" --stay 600 -H "Berth-Protocol: 1" \
    -H "Berth-Node-Id: $N1" -H "Berth-Node-Name: sim" -H "Berth-Node-Labels: " \
    -H "Berth-Agent-Version: bench" -H "Berth-Grid-Token: $GT" \
    --send-file "$TMP/frames" >"$TMP/acks" &
PPID_=$!
wait_for 600 grep -q "\"seq\":$last}" "$TMP/acks"
t1=$(date +%s%N)
c1=$(cpu_s "$MASTER_PID")
kill "$PPID_" 2>/dev/null
stored=$(sqlite3 "$D/logs.db" ".timeout 5000" "SELECT count(*) FROM lines")
echo "bench: master alone: $stored lines in $(( (t1 - t0) / 1000000 )) ms, $(awk -v a="$c0" -v b="$c1" 'BEGIN {print b - a}') s of CPU; load $(cut -d' ' -f1 /proc/loadavg)"
figure logs_master_lines_per_s "$(( stored * 1000000000 / (t1 - t0) ))" lines/s
figure logs_master_cpu_us_per_line "$(awk -v a="$c0" -v b="$c1" -v n="$stored" 'BEGIN {printf "%.1f", (b - a) * 1000000 / n}')" us

# ---- 50 containers on one agent ---------------------------------------------------
master_stop
rm -rf "$D"
master_start "$D" || exit 1
mkdir -p "$TMP/trig"
# Buffers that hold a whole burst: the figure is the sustained rate with
# nothing dropped (the drop count below proves it).
agent_start a1 "az=a" BERTH_LOG_BUFFER_LINES=$((NL + 1000)) \
    BERTH_LOG_BUFFER_BYTES=268435456 BERTH_LOG_BUFFER_TOTAL=2147483647
wait_for 30 api_jq /v1/nodes/default/a1 '.status == "online"' -e
cat >"$TMP/burst.yml" <<YML
stack: bench/burst
services:
  p:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; while [ ! -e /trig/go ]; do sleep 1; done; seq 1 $NL; while :; do sleep 5; done'
    instances: $NC
    stop_grace_period: 1s
    volumes:
      - $TMP/trig:/trig
YML
"$B" stack install "$TMP/burst.yml" >/dev/null || { echo "bench: install failed"; exit 1; }
total=$((NC * NL))
APID=$(cat "$TMP/agents/a1.pid")
ac0=$(cpu_s "$APID")
mc0=$(cpu_s "$MASTER_PID")
touch "$TMP/trig/go"
while :; do
	n=$(sqlite3 "$D/logs.db" ".timeout 5000" "SELECT coalesce(max(id), 0) FROM lines")
	[ "$n" -ge "$total" ] && break
	sleep 0.2
done
tl=$(date +%s%N)
ac1=$(cpu_s "$APID")
mc1=$(cpu_s "$MASTER_PID")
read -r t0 n dropped <<<"$(sqlite3 -separator ' ' "$D/logs.db" ".timeout 5000" \
    "SELECT min(ts), count(*), coalesce(sum(dropped), 0) FROM lines")"
echo "bench: $NC containers x $NL lines: $n stored in $(( (tl - t0) / 1000000 )) ms from the first printed; CPU agent $(awk -v a="$ac0" -v b="$ac1" 'BEGIN {print b - a}') s, master $(awk -v a="$mc0" -v b="$mc1" 'BEGIN {print b - a}') s; load $(cut -d' ' -f1 /proc/loadavg)"
figure logs_lines_per_s "$(( n * 1000000000 / (tl - t0) ))" lines/s
figure logs_dropped "$dropped" lines
"$B" stack rm --force burst >/dev/null

# ---- follow latency -------------------------------------------------------------------
cat >"$TMP/tick.yml" <<YML
stack: bench/tick
services:
  p:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; echo ready; while [ ! -e /trig/tick ]; do sleep 0.2; done; i=1; while [ \$\$i -le 200 ]; do echo "tick \$\$i"; sleep 0.05; i=\$\$((i+1)); done; while :; do sleep 5; done'
    instances: 1
    stop_grace_period: 1s
    volumes:
      - $TMP/trig:/trig
YML
"$B" stack install "$TMP/tick.yml" >/dev/null || { echo "bench: install failed"; exit 1; }
"$B" service logs -f --json tick/p |
    python3 -u -c 'import sys, time
for l in iter(sys.stdin.buffer.readline, b""):
    sys.stdout.write("%d %s" % (time.time_ns(), l.decode()))
    sys.stdout.flush()' >"$TMP/follow" &
wait_for 60 grep -q '"ready"' "$TMP/follow"	# the follower is on
touch "$TMP/trig/tick"
wait_for 120 grep -q '"tick 200"' "$TMP/follow"
python3 - "$TMP/follow" <<'PY' >"$TMP/lat"
import calendar, json, sys
for l in open(sys.argv[1]):
    recv, js = l.split(" ", 1)
    o = json.loads(js)
    if not o["line"].startswith("tick "):
        continue
    ts = o["ts"]
    sec = calendar.timegm(tuple(int(x) for x in (ts[0:4], ts[5:7], ts[8:10], ts[11:13], ts[14:16], ts[17:19])) + (0, 0, 0))
    ns = sec * 10**9 + int(ts[20:29])
    print((int(recv) - ns) / 1e6)
PY
sort -n "$TMP/lat" >"$TMP/lat.s"
cnt=$(wc -l <"$TMP/lat.s")
p50=$(sed -n "$(( (cnt + 1) / 2 ))p" "$TMP/lat.s")
p99=$(sed -n "$(( (cnt * 99 + 99) / 100 ))p" "$TMP/lat.s")
echo "bench: follow: $cnt lines, p50 $p50 ms, p99 $p99 ms, max $(tail -1 "$TMP/lat.s") ms; load $(cut -d' ' -f1 /proc/loadavg)"
figure logs_follow_p99_ms "$(printf '%.0f' "$p99")" ms
exit 0
