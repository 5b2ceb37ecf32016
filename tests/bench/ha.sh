#!/usr/bin/env bash
# tests/bench/ha.sh - several masters on dqlite (issue 18, docs/ha.md):
# three berth-masters on loopback, started as tests/integration/ha_three.sh
# starts them (the first bootstraps, two join), with the shipped defaults
# (--cluster-latency-ms 50, --leader-poll-ms 100).
#
#   ha_failover_ms       kill -9 of the leader to the first API write
#                        (POST /v1/grids, sent again and again through
#                        every master's URL, following the 307) accepted
#                        with 201: median and max over HA_KILLS kills
#                        (the killed master is started again, and stands
#                        by, before the next kill). Target 2,000 ms.
#   ha_write_p50/p99_ms  API write latency (POST /v1/grids, one at a time,
#                        curl's time_total) through the leader of the three
#                        against a single master on plain SQLite (the
#                        default backend) running beside them, HA_WRITES
#                        each, alternating; the p50 and p99 ratios.
#   ha_agents_back_1k_s  HA_AGENTS (1,000) simulated agents (agentsim, with
#                        --url listing the three masters as BERTH_URL
#                        does) connected to the leader; kill -9 of the
#                        leader; seconds from the first dropped session
#                        until every agent was welcomed by the new leader
#                        and had its desired set. Target 10 s.
#
# Figures go to stdout as "name value unit"; progress to stderr. Nothing
# is asserted. Knobs: HA_KILLS=5, HA_WRITES=200, HA_AGENTS=1000,
# HA_KEEP=1 (keep the temp dir), BERTH_BUILD=build.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BERTH_BUILD:-build}
MASTER_BIN=$ROOT/$BUILD/bin/berth-master
SIM_BIN=$ROOT/$BUILD/bench/agentsim
KILLS=${HA_KILLS:-5}
WRITES=${HA_WRITES:-200}
AGENTS=${HA_AGENTS:-1000}
TMP=$(mktemp -d /tmp/berth-habench.XXXXXX)
SIM_PID=""
declare -a D CA AP GP PID

note() { echo "ha.sh: $*" >&2; }
now_ms() { date +%s%3N; }

cleanup() {
	local i p
	[ -n "$SIM_PID" ] && kill -9 "$SIM_PID" 2>/dev/null
	for i in 1 2 3 4; do
		p=${PID[$i]:-}
		[ -n "$p" ] && kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	if [ "${HA_KEEP:-0}" = 1 ]; then note "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for b in "$MASTER_BIN" "$SIM_BIN"; do
	[ -x "$b" ] || { note "missing $b (run make)"; exit 1; }
done

# A free loopback port below the ephemeral range (the agents' source
# ports never take it).
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

url() { echo "http://127.0.0.1:${AP[$1]}"; }
role() {
	curl -s -m 2 "$(url "$1")/healthz" 2>/dev/null |
	    jq -r '.role // "down"' 2>/dev/null || echo down
}
# The index of the master that says it leads (none: empty).
leader() {
	local i
	for i in 1 2 3; do
		[ -n "${PID[$i]:-}" ] && [ "$(role "$i")" = leader ] &&
		    { echo "$i"; return 0; }
	done
	return 1
}
# wait_until SECONDS CMD...: poll CMD every 0.1 s.
wait_until() {
	local end=$(($(now_ms) + $1 * 1000))
	shift
	while [ "$(now_ms)" -lt "$end" ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
standby() { [ "$(role "$1")" = standby ]; }
is_leader() { [ "$(role "$1")" = leader ]; }

# m_start I [flags...]: start master I (fd limit raised for the agents);
# wait for its /healthz.
m_start() {
	local i=$1
	shift
	(ulimit -n "$(ulimit -Hn)"; exec "$MASTER_BIN" --data-dir "${D[$i]}" \
	    --api-listen "127.0.0.1:${AP[$i]}" \
	    --agent-listen "127.0.0.1:${GP[$i]}" "$@") \
	    >>"${D[$i]}/master.log" 2>&1 </dev/null &
	PID[$i]=$!
	if ! wait_until 30 curl -sf -m 1 -o /dev/null "$(url "$i")/healthz"; then
		note "master $i did not start; log:"
		tail -5 "${D[$i]}/master.log" >&2
		return 1
	fi
}
m_kill() {
	kill -9 "${PID[$1]}" 2>/dev/null
	wait "${PID[$1]}" 2>/dev/null
	PID[$1]=""
}

# post I NAME: create grid NAME through master I, following a 307 (curl
# keeps the method, body and, with --location-trusted, the token); prints
# "status seconds".
post() {
	curl -s --location-trusted -m "${3:-10}" -o /dev/null \
	    -w '%{http_code} %{time_total}' -X POST \
	    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	    --data-binary "{\"name\":\"$2\"}" "$(url "$1")/v1/grids"
}

# pct P FILE: the P-th percentile (nearest rank) of FILE's numbers.
pct() {
	sort -n "$2" | awk -v p="$1" '{ v[NR] = $1 } END {
		if (NR == 0) exit; r = int((NR * p + 99) / 100);
		if (r < 1) r = 1; print v[r] }'
}

# latency I TOKEN_I J TOKEN_J: HA_WRITES writes one at a time through
# master I and as many through master J, in turn (the machine's load
# then weighs on both alike); each 201's time_total in ms goes to
# $TMP/lat-I and $TMP/lat-J.
latency() {
	local n st t m tok
	: >"$TMP/lat-$1"
	: >"$TMP/lat-$3"
	for n in $(seq 1 "$WRITES"); do
		for m in "$1:$2" "$3:$4"; do
			tok=${m#*:}
			m=${m%%:*}
			read -r st t <<<"$(TOKEN=$tok post "$m" "lat-$m-$n")"
			[ "$st" = 201 ] && awk -v t="$t" \
			    'BEGIN { printf "%.3f\n", t * 1000 }' >>"$TMP/lat-$m"
		done
	done
	for m in "$1" "$3"; do
		[ "$(wc -l <"$TMP/lat-$m")" -eq "$WRITES" ] ||
		    note "master $m: only $(wc -l <"$TMP/lat-$m") of $WRITES" \
		    "writes answered 201"
	done
}

note "load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
echo "# ha: 2 cores shared with other engineers; see load_avg_1m_at_ha_*"
echo "load_avg_1m_at_ha_start $(cut -d' ' -f1 /proc/loadavg) load"

# ---- three masters -------------------------------------------------------
for i in 1 2 3; do
	D[$i]=$TMP/m$i
	CA[$i]=127.0.0.1:$(free_port)
	AP[$i]=$(free_port)
	GP[$i]=$(free_port)
	mkdir -p "${D[$i]}"
done
m_start 1 --cluster-address "${CA[1]}" || exit 1
wait_until 30 is_leader 1 || { note "master 1 never leads"; exit 1; }
TOKEN=$(cat "${D[1]}/operator.token")
GRID_TOKEN=$(cat "${D[1]}/grid-default.token")
# docs/ha.md: each joiner trades a join token for the cluster's master.key.
jtoken() {
	curl -s -m 10 -X POST -H "Authorization: Bearer $TOKEN" \
	    "$(url 1)/v1/masters/join-token" | jq -r .token
}
m_start 2 --cluster-address "${CA[2]}" --join "${CA[1]}" --join-token "$(jtoken)" || exit 1
m_start 3 --cluster-address "${CA[3]}" --join "${CA[1]}" --join-token "$(jtoken)" || exit 1
wait_until 30 standby 2 && wait_until 30 standby 3 ||
    { note "masters 2 and 3 never stand by"; exit 1; }
note "three masters: leader 1, API ports ${AP[1]} ${AP[2]} ${AP[3]}"

# ---- write latency: the leader of three against a single master ----------
# The single master (plain SQLite, the default backend) runs beside the
# three; the writes alternate between them.
D[4]=$TMP/single
AP[4]=$(free_port)
GP[4]=$(free_port)
mkdir -p "${D[4]}"
m_start 4 || exit 1
L=$(leader)
latency "$L" "$TOKEN" 4 "$(cat "${D[4]}/operator.token")"
m_kill 4
HA50=$(pct 50 "$TMP/lat-$L")
HA99=$(pct 99 "$TMP/lat-$L")
S50=$(pct 50 "$TMP/lat-4")
S99=$(pct 99 "$TMP/lat-4")

# ---- failover: kill -9 of the leader to the first accepted write ---------
: >"$TMP/failover"
for k in $(seq 1 "$KILLS"); do
	L=$(leader) || { note "no leader before kill $k"; break; }
	t0=$(now_ms)
	m_kill "$L"
	n=0 ok=""
	while [ $(($(now_ms) - t0)) -lt 30000 ]; do
		i=$((n % 3 + 1))
		n=$((n + 1))
		[ "$i" = "$L" ] && continue
		st=$(post "$i" "fo-$k-$n" 2 | cut -d' ' -f1)
		if [ "$st" = 201 ]; then ok=1; break; fi
		sleep 0.02
	done
	ms=$(($(now_ms) - t0))
	if [ -z "$ok" ]; then
		note "kill $k: no write accepted within 30 s"
		break
	fi
	echo "$ms" >>"$TMP/failover"
	note "kill $k: master $L killed; a write was accepted after $ms ms"
	# Back as a standby before the next kill: three voters again.
	m_start "$L" --cluster-address "${CA[$L]}" || exit 1
	wait_until 30 standby "$L" || note "master $L did not stand by again"
done
if [ -s "$TMP/failover" ]; then
	echo "# ha_failover_ms: kill -9 of the leader -> first write accepted on" \
	    "the new leader, $(wc -l <"$TMP/failover") kills; target 2000 ms"
	echo "ha_failover_ms_median $(pct 50 "$TMP/failover") ms"
	echo "ha_failover_ms_max $(sort -n "$TMP/failover" | tail -1) ms"
fi

# ---- 1,000 agents back on the new leader ----------------------------------
L=$(leader) || { note "no leader for the agents"; exit 1; }
LIST="ws://127.0.0.1:${GP[$L]}"
for i in 1 2 3; do
	[ "$i" != "$L" ] && LIST="$LIST,ws://127.0.0.1:${GP[$i]}"
done
mkdir -p "$TMP/sim"
(ulimit -n "$(ulimit -Hn)"; exec "$SIM_BIN" --url "$LIST" \
    --token "$GRID_TOKEN" --agents "$AGENTS" --ramp 500 \
    --source-ips 100 --name-prefix ha --data-dir "$TMP/sim" \
    --measure reconnect --duration 3 --join-timeout 120 \
    --restart-timeout 120 --report "$TMP/sim/report.json" \
    --phase-file "$TMP/sim/phase") >"$TMP/sim/out" 2>"$TMP/sim/err" &
SIM_PID=$!
phase() { [ "$(cat "$TMP/sim/phase" 2>/dev/null)" = "$1" ]; }
if wait_until 150 phase held; then
	note "$AGENTS agents on master $L: killing it"
	load=$(cut -d' ' -f1 /proc/loadavg)
	m_kill "$L"
	wait_until 30 leader
	N=$(leader)
	wait_until 150 sh -c "! kill -0 $SIM_PID"
	kill "$SIM_PID" 2>/dev/null
	wait "$SIM_PID" 2>/dev/null
	SIM_PID=""
	back=$(awk '$1 == "reconnect_all_s" { print $2 }' "$TMP/sim/out")
	n=$(awk '$1 == "agents_resynced" { print $2 }' "$TMP/sim/out")
	k=$(( AGENTS % 1000 == 0 ? AGENTS / 1000 : 0 ))
	name=ha_agents_back_${k}k_s
	[ "$k" = 0 ] && name=ha_agents_back_${AGENTS}_s
	echo "# $name: $AGENTS simulated agents, kill -9 of their leader ->" \
	    "every one welcomed by the new leader with its desired set;" \
	    "target 10 s (load $load at the kill)"
	if [ -n "$back" ]; then
		echo "$name $back s"
	else
		echo "$name failed (${n:-0} of $AGENTS back) s"
	fi
	# Per agent: kill -> back (p50, p99), and its attempts meanwhile
	# (a dead master, standbys' 4013s, the leader).
	for f in resync_back_p50_ms resync_back_p99_ms; do
		v=$(awk -v f="$f" '$1 == f { print $2 }' "$TMP/sim/out")
		[ -n "$v" ] && echo "ha_agents_${f} $v ms"
	done
	v=$(awk '$1 == "resync_attempts_x1000_p99_ms" { print $2 }' "$TMP/sim/out")
	[ -n "$v" ] && echo "ha_agents_attempts_p99 $v attempts"
	note "agentsim: $(jq -c .counters "$TMP/sim/report.json" 2>/dev/null)," \
	    "closes $(jq -c .closes "$TMP/sim/report.json" 2>/dev/null)"
	[ -n "$N" ] && note "the new leader: $(grep -c 'loop stalled' "${D[$N]}/master.log")" \
	    "hub loop stalls logged, the longest" \
	    "$(grep -o 'loop stalled for [0-9]* ms' "${D[$N]}/master.log" |
	    awk '{ if ($4 > m) m = $4 } END { print m + 0 }') ms"
else
	note "the agents never synced: $(tail -2 "$TMP/sim/err")"
fi
echo "load_avg_1m_at_ha_agents $(cut -d' ' -f1 /proc/loadavg) load"
[ -n "$SIM_PID" ] && { kill "$SIM_PID" 2>/dev/null; wait "$SIM_PID" 2>/dev/null; SIM_PID=""; }
for i in 1 2 3; do
	[ -n "${PID[$i]:-}" ] && m_kill "$i"
done

echo "# ha_write: POST /v1/grids one at a time ($WRITES each), curl's" \
    "time_total: the leader of three dqlite masters against one master" \
    "on plain SQLite, in turn"
echo "ha_write_p50_ms $HA50 ms"
echo "ha_write_p99_ms $HA99 ms"
echo "single_write_p50_ms $S50 ms"
echo "single_write_p99_ms $S99 ms"
awk -v a="$HA99" -v b="$S99" -v c="$HA50" -v d="$S50" 'BEGIN {
	if (b > 0) printf "ha_write_p99_ratio %.2f x\n", a / b
	if (d > 0) printf "ha_write_p50_ratio %.2f x\n", c / d }'
echo "load_avg_1m_at_ha_end $(cut -d' ' -f1 /proc/loadavg) load"
