#!/usr/bin/env bash
# crash.sh - kill -9 the master in the middle of a burst of API writes; the
# database must open cleanly and hold every write that was acknowledged.
. "$(dirname "$0")/../lib.sh"

D=$TMP/data
master_start "$D" || exit 1

# Four writers create grids as fast as they can; each records the names
# the master acknowledged with 201.
writer() {
	local w=$1 i=0 code
	while :; do
		code=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
		    -H "Authorization: Bearer $TOKEN" \
		    -d "{\"name\":\"w$w-$i\"}" "$API/v1/grids")
		[ "$code" = 201 ] && echo "w$w-$i" >>"$TMP/acked.$w"
		[ "$code" = 000 ] && break
		i=$((i + 1))
	done
}
for w in 1 2 3 4; do
	: >"$TMP/acked.$w"
	writer "$w" &
done
# At least 1.5 s into the burst, and once it has had more than 20 writes
# acknowledged (the check below): a loaded machine (the integration
# scripts run in parallel) acknowledges fewer per second.
sleep 1.5
wait_for 30 sh -c "[ \$(cat $TMP/acked.* | wc -l) -gt 20 ]"
kill -9 "$MASTER_PID"
wait "$MASTER_PID" 2>/dev/null
MASTER_PID=""
wait
acked=$(cat "$TMP"/acked.* | sort)
n_acked=$(printf '%s\n' "$acked" | grep -c .)
echo "# $n_acked writes acknowledged before kill -9"
check "the burst got writes acknowledged before the kill" test "$n_acked" -gt 20

check_eq "integrity_check after kill -9" \
    "$(sqlite3 "$D/berth.db" 'PRAGMA integrity_check')" ok
check_eq "foreign keys hold after kill -9" \
    "$(sqlite3 "$D/berth.db" 'PRAGMA foreign_key_check' | wc -l)" 0

API_PORT_FIXED=$API_PORT AGENT_PORT_FIXED=$AGENT_PORT master_start "$D" || exit 1
api GET /v1/grids
have=$(jq -r '.[].name' <<<"$BODY" | sort)
missing=$(comm -23 <(printf '%s\n' "$acked") <(printf '%s\n' "$have") | head -5)
check_eq "every acknowledged write survived kill -9" "$missing" ""
# Each grid has its creation event: the write and its event are one
# transaction, so neither exists without the other.
n_events=$(sqlite3 "$D/berth.db" "SELECT count(*) FROM events WHERE type = 'grid.create'")
n_grids=$(sqlite3 "$D/berth.db" "SELECT count(*) FROM grids")
check_eq "no partial write: one creation event per grid" "$n_events" "$n_grids"
api POST /v1/grids '{"name":"after-crash"}'
check_eq "the restarted master takes writes" "$STATUS" 201
master_stop
