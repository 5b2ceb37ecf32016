#!/usr/bin/env bash
# bad_actors.sh - slow-loris clients against the API and the agent port, and
# a flood of failed websocket logins, all at once: the API still answers a
# normal request promptly and an agent (wsprobe, the real protocol) still
# joins from another address. Also checks the bounds that make it so:
# connections held per address (API 256, hub 256 not yet upgraded), the
# hub's 10 s limit on an upgrade however slowly it trickles, the API's 30 s
# limit on a connection that sends nothing, and the per-address refusal of
# repeated failed logins (4009), which writes nothing to the store.
#
# The attackers use their own loopback source addresses (127.0.0.2-10);
# the honest clients use 127.0.0.1. The master runs under a soft open-file
# limit of 1024, common on hosts, which it raises itself: without that,
# four trickling addresses would hold every descriptor it has.
. "$(dirname "$0")/../lib.sh"

PROBE=$ROOT/$BUILD/tools/wsprobe
LORIS=$ROOT/tests/tools/loris.py
D=$TMP/data
ulimit -Sn 1024
master_start "$D" || exit 1
GT=$(cat "$D/grid-default.token")
check_eq "the master raised its open-file limit" \
    "$(awk '/Max open files/ { print ($4 > 1024) }' /proc/$MASTER_PID/limits)" 1

hexid() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
# join NAME [wsprobe args...]: an honest agent's first join; prints the
# first frame's type and the milliseconds from start to that frame.
join() {
	local name=$1 t0 at line
	shift
	t0=$(date +%s%N)
	read -r at line < <("$PROBE" --port "$AGENT_PORT" --stay 3 \
	    -H "Berth-Protocol: 1" -H "Berth-Node-Id: $(hexid)" \
	    -H "Berth-Node-Name: $name" -H "Berth-Grid-Token: $GT" "$@" |
	    while IFS= read -r l; do echo "$(date +%s%N) $l"; done |
	    grep -m1 ' frame ')
	echo "$(jq -r .type <<<"${line#frame }" 2>/dev/null) $(((${at:-$t0} - t0) / 1000000))"
}
# api_ms: one normal API request from 127.0.0.1; prints "status ms".
api_ms() {
	curl -s -m 10 -o /dev/null -w '%{http_code} %{time_total}\n' \
	    -H "Authorization: Bearer $TOKEN" "$API/v1/grids" |
	    awk '{ printf "%s %d\n", $1, $2 * 1000 }'
}
fig() { sed -n "s/.*\<$2=\([^ ]*\).*/\1/p" "$TMP/$1"; }

# ---- the attack starts ---------------------------------------------------------
API_LORIS_S=34
for a in 2 3 4 5; do	# trickled REST requests, 300 per address
	python3 "$LORIS" --port "$API_PORT" --bind "127.0.0.$a" --conns 300 \
	    --mode http --interval 1 --duration $API_LORIS_S --out "$TMP/api.$a" &
done
python3 "$LORIS" --port "$API_PORT" --bind 127.0.0.6 --conns 3 --mode idle \
    --duration $API_LORIS_S --out "$TMP/api.idle" &
for a in 7 8; do	# trickled websocket upgrades, 300 per address
	python3 "$LORIS" --port "$AGENT_PORT" --bind "127.0.0.$a" --conns 300 \
	    --mode upgrade --interval 1 --duration 14 --out "$TMP/ws.$a" &
done
python3 "$LORIS" --port "$AGENT_PORT" --bind 127.0.0.9 --conns 3 --mode idle \
    --duration 14 --out "$TMP/ws.idle" &
# attack_in_place: every slow-loris client holds the connections the master
# lets it hold (256 per address; 3 for the silent ones), counted from the
# clients' side in one ss call.
attack_in_place() {
	ss -tanH "( dport = :$API_PORT or dport = :$AGENT_PORT )" |
	    awk -v api="$API_PORT" '
		{ split($4, l, ":"); split($5, r, ":")
		  n[l[1] (r[2] == api ? "a" : "w")]++ }
		END {
			for (a = 2; a <= 5; a++) if (n["127.0.0." a "a"] < 256) exit 1
			for (a = 7; a <= 8; a++) if (n["127.0.0." a "w"] < 256) exit 1
			exit !(n["127.0.0.6a"] >= 3 && n["127.0.0.9w"] >= 3)
		}'
}
t0=$(date +%s%N)
check "the slow-loris clients hold their connections (256 per address)" \
    wait_for 20 attack_in_place
echo "# the slow-loris in place after $((($(date +%s%N) - t0) / 1000000)) ms"

# ---- honest clients under the slow-loris ------------------------------------------
worst=0 bad=""
for i in $(seq 10); do
	read -r code ms < <(api_ms)
	[ "$code" = 200 ] || bad="$bad $code"
	[ "$ms" -gt "$worst" ] && worst=$ms
done
echo "# under 1200 slow-loris API connections and 600 upgrades: 10 API requests, slowest $worst ms"
check_eq "the API answers every request during a slow-loris" "$bad" ""
check "the API answers within 2 s during a slow-loris" test "$worst" -lt 2000
read -r type ms < <(join honest-1)
echo "# an agent joined in $ms ms during the slow-loris"
check_eq "an agent joins during a slow-loris on the agent port" "$type" welcome
check "it joins within 2 s" test "$ms" -lt 2000
code=$(curl -s -m 5 --interface 127.0.0.2 -o /dev/null -w '%{http_code}' \
    -H "Authorization: Bearer $TOKEN" "$API/v1/grids")
check "the attacker's own address gets no more API connections" test "$code" != 200

# ---- a flood of failed logins from one address, during all of that -------------
flood() {
	local i
	for i in $(seq 10); do
		"$PROBE" --bind 127.0.0.10 --port "$AGENT_PORT" --stay 2 \
		    -H "Berth-Protocol: 1" -H "Berth-Node-Id: $(hexid)" \
		    -H "Berth-Node-Name: intruder-$1-$i" \
		    -H "Berth-Grid-Token: $(hexid)$(hexid)" | grep '^close'
	done
}
for f in 1 2 3 4 5 6 7 8; do flood "$f" >"$TMP/flood.$f" & done
sleep 0.5
read -r type ms < <(join honest-2)
echo "# an agent joined in $ms ms during a flood of failed logins from another address"
check_eq "an agent joins during a flood of failed logins" "$type" welcome
read -r code ms < <(api_ms)
check_eq "the API answers during the flood" "$code" 200
wait_for 30 sh -c "[ \$(cat $TMP/flood.* | wc -l) -ge 80 ]"
n_bad=$(cat "$TMP"/flood.* | grep -c 'close 4001')
n_limited=$(cat "$TMP"/flood.* | grep -c 'close 4009')
echo "# flood: 80 bad logins, $n_bad refused as bad tokens, $n_limited refused outright (rate limit)"
check_eq "the flood is refused: 20 token checks, then 4009" "$n_bad $n_limited" "20 60"
check_eq "refused logins wrote no node and no event" \
    "$(sqlite3 "$D/berth.db" ".timeout 5000" "SELECT (SELECT count(*) FROM nodes WHERE name LIKE 'intruder%') + (SELECT count(*) FROM events WHERE message LIKE '%intruder%')")" 0
read -r type ms < <(join honest-3)
check_eq "after the flood an agent from another address still joins" "$type" welcome
out=$("$PROBE" --bind 127.0.0.10 --port "$AGENT_PORT" --stay 2 -H "Berth-Protocol: 1" \
    -H "Berth-Node-Id: $(hexid)" -H "Berth-Node-Name: late" -H "Berth-Grid-Token: $GT")
check_has "the flooding address is refused even with the right token (for a minute)" "$out" "close 4009"

# ---- the bounds ---------------------------------------------------------------------
wait_for 20 test -s "$TMP/ws.7" -a -s "$TMP/ws.8" -a -s "$TMP/ws.idle"
for a in 7 8; do
	echo "# agent port, address 127.0.0.$a: $(cat "$TMP/ws.$a")"
	check_eq "agent port: at most 256 upgrades pending from 127.0.0.$a" \
	    "$(fig "ws.$a" held)/$(fig "ws.$a" dropped_at_once)" "256/44"
	check "agent port: a trickled upgrade is cut after 10 s" \
	    awk "BEGIN { exit !($(fig "ws.$a" max_held_close_s) <= 12) }"
done
echo "# agent port, silent connections: $(cat "$TMP/ws.idle")"
check "agent port: a connection that sends nothing is cut after 10 s" \
    awk "BEGIN { c = $(fig ws.idle first_close_s); exit !(c >= 9 && c <= 12) }"
wait_for 40 test -s "$TMP/api.2" -a -s "$TMP/api.3" -a -s "$TMP/api.4" -a \
    -s "$TMP/api.5" -a -s "$TMP/api.idle"
for a in 2 3 4 5; do
	echo "# API, address 127.0.0.$a: $(cat "$TMP/api.$a")"
	check "API: at most 256 connections from 127.0.0.$a" \
	    test "$(fig "api.$a" held)" -le 256
done
echo "# API, silent connections: $(cat "$TMP/api.idle")"
check "API: a connection that sends nothing is cut after 30 s" \
    awk "BEGIN { c = $(fig api.idle first_close_s); exit !(c >= 29 && c <= 33) }"
read -r code ms < <(api_ms)
check_eq "the API answers after the attack" "$code" 200
check "the master survived" kill -0 "$MASTER_PID"
master_stop
