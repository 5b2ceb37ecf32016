#!/usr/bin/env bash
# ha_single.sh - one master with --cluster-address (docs/ha.md): its store
# on the dqlite node it runs, bootstrapped on first start, migrated through
# the wire client. API writes (a grid, a stack, a deploy the scheduler
# finishes), kill -9, restart: every acknowledged write is back. A second
# master joins with --join as a voter and stands by. A changed
# --cluster-address and a plain non-loopback one are refused clearly.
. "$(dirname "$0")/../lib.sh"

D=$TMP/data
CA=127.0.0.1:$(free_port)
master_start "$D" --cluster-address "$CA" || exit 1

check_has "the first start bootstraps a one-node cluster" \
    "$(cat "$D/master.log")" "dqlite node 1 on $CA, data in $D/dqlite (new cluster, bootstrapped)"
check "the store is on the node, not in a file" test ! -e "$D/berth.db"
check "the node's data is under the data dir" test -s "$D/dqlite/berth-node"
check "every migration ran through the node" \
    test "$(grep -c 'store: schema migrated to version' "$D/master.log")" -ge 14

api POST /v1/grids '{"name":"prod","settings":{"offline_after_s":30}}'
check_eq "a grid is created" "$STATUS" 201
api POST /v1/grids '{"name":"prod"}'
check_eq "the same name again: 409 (UNIQUE through dqlite)" "$STATUS" 409
api POST "/v1/grids/prod/stacks?name=web" \
    '{"stack":"t/web","version":"1.0.0","services":{"api":{"image":"busybox","instances":2},"db":{"image":"redis:7","deploy":{"strategy":"daemon"}}}}'
check_eq "a stack is installed" "$STATUS" 201
# Deploys advance only in the scheduler's rounds: its writes go through
# the node too.
sched_wait_round prod && ok "the scheduler's rounds run on the node"
api PATCH /v1/grids/prod '{"settings":{"offline_after_s":45}}'
check_eq "a grid setting is changed" "$STATUS" 200

# kill -9: the acknowledged writes are in the node's Raft log.
kill -9 "$MASTER_PID"
wait "$MASTER_PID" 2>/dev/null
MASTER_PID=""
master_start "$D" --cluster-address "$CA" || exit 1
check "the restart does not bootstrap again" \
    test "$(grep -c 'new cluster, bootstrapped' "$D/master.log")" = 1
check_eq "the grids are back" "$(api_jq /v1/grids '[.[].name] | sort | join(",")')" \
    "default,prod"
check_eq "the grid's setting is back" \
    "$(api_jq /v1/grids/prod .settings.offline_after_s)" 45
check_eq "the stack is back with its services" \
    "$(api_jq /v1/stacks/prod/web '[.services[].name] | sort | join(",")')" \
    "api,db"
check_eq "the events are back, the probe's deploys finished" \
    "$(api_jq '/v1/grids/prod/events?type=deploy.' '[.[] | select(.subject == "round-probe") | .type] | unique | join(",")')" \
    "deploy.service,deploy.start,deploy.success"
api POST "/v1/grids/prod/stacks?name=web2" \
    '{"stack":"t/web2","services":{"x":{"image":"busybox"}}}'
check_eq "writes go on after the restart" "$STATUS" 201

# --dump: the store through the cluster as a plain SQLite file, while the
# master runs; a single master starts on it (with the master key) and
# serves every write.
"$BIN/berth-master" --data-dir "$D" --dump "$TMP/backup.db" >"$TMP/dump.out" 2>&1
check "--dump of a clustered master exits 0" test $? = 0
check_has "and says what it wrote" "$(cat "$TMP/dump.out")" \
    "dumped $TMP/backup.db: "
"$BIN/berth-master" --data-dir "$D" --dump "$TMP/backup.db" >"$TMP/dump2.out" 2>&1
check "--dump refuses an existing file" test $? -ne 0
check_has "saying so" "$(cat "$TMP/dump2.out")" "backup.db exists (--dump-overwrite replaces it)"
master_stop
mkdir -p "$TMP/restored"
cp "$TMP/backup.db" "$TMP/restored/berth.db"
cp "$D/master.key" "$D/operator.token" "$TMP/restored/"
master_start "$TMP/restored" || exit 1
check_eq "a plain master on the dump: the grids" \
    "$(api_jq /v1/grids '[.[].name] | sort | join(",")')" "default,prod"
check_eq "the grid's setting" \
    "$(api_jq /v1/grids/prod .settings.offline_after_s)" 45
check_eq "the stacks and their services" \
    "$(api_jq /v1/grids/prod/stacks '[.[].name] | sort | join(",")')" "web,web2"
api GET /v1/grids/default/token
check_eq "the grid token unseals (the dump and the key agree)" "$STATUS" 200
api POST /v1/grids '{"name":"after-restore"}'
check_eq "and it takes writes" "$STATUS" 201
# The plain backend's --dump (VACUUM INTO), the master running.
"$BIN/berth-master" --data-dir "$TMP/restored" --dump "$TMP/plain.db" >"$TMP/dump3.out" 2>&1
check "--dump of a running plain master exits 0" test $? = 0 || cat "$TMP/dump3.out"
check_eq "its dump holds the last write" \
    "$(sqlite3 "$TMP/plain.db" "SELECT count(*) FROM grids WHERE name = 'after-restore'")" 1
check_eq "and the schema version" "$(sqlite3 "$TMP/plain.db" 'PRAGMA user_version')" \
    "$(sqlite3 "$TMP/backup.db" 'PRAGMA user_version')"
master_stop

# A second master joins as a voter and stands by: its API redirects to
# the first (roles: ha_three.sh). ASSIGN returns once the new voter has
# caught up.
master_start "$D" --cluster-address "$CA" || exit 1
M1_PID=$MASTER_PID
JT=$("$BIN/berth" master join-token)
D2=$TMP/data2
mkdir -p "$D2"
CA2=127.0.0.1:$(free_port)
API2_PORT=$(free_port)
"$BIN/berth-master" --data-dir "$D2" --api-listen "127.0.0.1:$API2_PORT" \
    --agent-listen "127.0.0.1:$(free_port)" --cluster-address "$CA2" \
    --join "$CA" --join-token "$JT" >>"$D2/master.log" 2>&1 </dev/null &
M2_PID=$!
MASTER_PIDS="$MASTER_PIDS $M2_PID"
wait_for 30 grep -q "role: standby; the leader is node 1" "$D2/master.log"
check_has "a master joins the cluster as a voter" "$(cat "$D2/master.log")" \
    "joined $CA as a voter"
# A join token serves once, and not after its TTL.
join_status() {
	curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	    --data-binary "{\"token\":\"$1\",\"address\":\"127.0.0.1:9\"}" "$API/v1/masters/join"
}
check_eq "a used join token is refused (403)" "$(join_status "$JT")" 403
api POST /v1/masters/join-token '{"ttl_s":1}'
EXP=$(jq -r .token <<<"$BODY")
api POST /v1/masters/join-token '{"ttl_s":0}'
check_eq "a TTL out of bounds is refused, naming the field" "$STATUS $(jq -r .field <<<"$BODY")" "422 ttl_s"
sleep 1.2
check_eq "an expired join token is refused (403)" "$(join_status "$EXP")" 403
check_eq "the join route wants a token (no operator token needed, none given: 422)" \
    "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data-binary '{"address":"127.0.0.1:9"}' "$API/v1/masters/join")" 422
check_eq "the joined master stands by: its API redirects to the first" \
    "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://127.0.0.1:$API2_PORT/v1/grids")" \
    "307 $API/v1/grids"
api POST /v1/grids '{"name":"two-voters"}'
check_eq "the first master writes with two voters (a majority of 2)" "$STATUS" 201
# The standby restarts (the first master loses its majority meanwhile):
# it does not join again, and the first master writes again once it is
# back.
kill -TERM "$M2_PID"
wait "$M2_PID" 2>/dev/null
# Its ports may have been taken meanwhile by another test (the scripts
# run in parallel): then it starts again on new ones. A standby that is
# not running would leave the first master without a majority.
for try in 1 2 3; do
	from=$(($(stat -c %s "$D2/master.log") + 1))
	"$BIN/berth-master" --data-dir "$D2" --api-listen "127.0.0.1:$API2_PORT" \
	    --agent-listen "127.0.0.1:$(free_port)" --cluster-address "$CA2" \
	    >>"$D2/master.log" 2>&1 </dev/null &
	M2_PID=$!
	MASTER_PIDS="$MASTER_PIDS $M2_PID"
	wait_for 30 sh -c "[ \$(grep -c 'role: standby until' '$D2/master.log') = 2 ] || ! [ -r /proc/$M2_PID/stat ] || grep -q ') Z' /proc/$M2_PID/stat"
	pid_alive "$M2_PID" && break
	wait "$M2_PID" 2>/dev/null
	tail -c +"$from" "$D2/master.log" | grep -q 'address in use' || break
	API2_PORT=$(free_port)
done
check "the standby runs again" pid_alive "$M2_PID" ||
    tail -c +"$from" "$D2/master.log" | tail -5 | sed 's/^/# /'
check "the joined master's restart does not join again" \
    test "$(grep -c 'as a voter' "$D2/master.log")" = 1
# Once the standby is back the two voters elect a leader again (either
# one) and writes through the first master's URL land. Every store call
# is bounded in time now (--cluster-timeout-ms), so an API call during the
# outage answers within seconds instead of blocking.
# Each try writes a new name: a write cut by the election may have
# committed ("in doubt", 500) and its name then exists.
t0=$(date +%s%3N)
n=0
st=""
while [ "$st" != 201 ] && [ "$n" -lt 120 ]; do
	n=$((n + 1))
	st=$(curl -s --location-trusted -m 10 -o /dev/null -w '%{http_code}' \
	    -X POST -H "Authorization: Bearer $TOKEN" \
	    --data-binary "{\"name\":\"two-again-$n\"}" "$API/v1/grids")
	[ "$st" = 201 ] || sleep 0.5
done
check_eq "two voters write again once the standby is back" \
    "$(curl -s --location-trusted -m 10 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$API/v1/grids/two-again-$n")" 200
echo "# writes again $(($(date +%s%3N) - t0)) ms after the standby's restart"
grep -h "role: leader\|no longer leads" "$D/master.log" "$D2/master.log" | tail -4 | sed 's/^/# /'
MASTER_PID=$M1_PID
master_stop
kill -TERM "$M2_PID"
wait "$M2_PID" 2>/dev/null
check "the standby stops on SIGTERM" test $? = 0
san_check "$D2/master.log"

# The node's address is in the cluster's configuration: another one is
# refused with the one to use.
"$BIN/berth-master" --data-dir "$D" --api-listen "127.0.0.1:$(free_port)" \
    --agent-listen "127.0.0.1:$(free_port)" \
    --cluster-address "127.0.0.1:$(free_port)" >"$TMP/moved.log" 2>&1
check "a changed --cluster-address exits non-zero" test $? -ne 0
check_has "and names the address to use" "$(cat "$TMP/moved.log")" \
    "start it with --cluster-address $CA"
# dqlite traffic is plain TCP: off loopback only with --insecure-plain.
"$BIN/berth-master" --data-dir "$TMP/d2" --api-listen "127.0.0.1:$(free_port)" \
    --agent-listen "127.0.0.1:$(free_port)" \
    --cluster-address 192.0.2.1:9001 >"$TMP/plain.log" 2>&1
check "a non-loopback --cluster-address without --insecure-plain exits" test $? -ne 0
check_has "saying why" "$(cat "$TMP/plain.log")" "plain TCP (dqlite 1.11 has no TLS)"
"$BIN/berth-master" --data-dir "$TMP/d3" --api-listen "127.0.0.1:$(free_port)" \
    --agent-listen "127.0.0.1:$(free_port)" \
    --cluster-address localhost:9001 >"$TMP/name.log" 2>&1
check_has "a host name is refused (dqlite binds IPv4)" "$(cat "$TMP/name.log")" \
    "is not IPV4:PORT"

# ---- quorum lost for good (docs/ha.md, the runbook) -------------------------
# Of the two voters only the first survives: it alone is no majority. It
# is made the only voter of its cluster (stopped), starts, leads with
# every write, and a new master joins it with a join token.
rm -rf "$D2"
"$BIN/berth-master" --data-dir "$D" --cluster-recover >"$TMP/recover.out" 2>&1
check "--cluster-recover on the survivor exits 0" test $? = 0
check_has "saying what it did" "$(cat "$TMP/recover.out")" "is the only voter of its cluster now"
master_start "$D" --cluster-address "$CA" || exit 1
check_eq "the survivor leads alone, with the writes made by two voters" \
    "$(api_jq /v1/grids "[.[].name | select(. == \"two-voters\" or . == \"two-again-$n\")] | length")" 2
api POST /v1/grids '{"name":"after-recovery"}'
check_eq "and takes writes" "$STATUS" 201
JT=$("$BIN/berth" master join-token)
D4=$TMP/data4
mkdir -p "$D4"
"$BIN/berth-master" --data-dir "$D4" --api-listen "127.0.0.1:$(free_port)" \
    --agent-listen "127.0.0.1:$(free_port)" --cluster-address "127.0.0.1:$(free_port)" \
    --join "$CA" --join-token "$JT" >>"$D4/master.log" 2>&1 </dev/null &
M4_PID=$!
MASTER_PIDS="$MASTER_PIDS $M4_PID"
wait_for 30 grep -q "role: standby; the leader is node 1" "$D4/master.log"
check_eq "a new master joins the recovered cluster" \
    "$("$BIN/berth" master ls --json | jq -r '[.[] | .role + "/" + (.online | tostring)] | sort | join(",")')" \
    "leader/true,voter/true"
api POST /v1/grids '{"name":"after-rejoin"}'
check_eq "two voters write again" "$STATUS" 201
master_stop
kill -TERM "$M4_PID"
wait "$M4_PID" 2>/dev/null
san_check "$D4/master.log"

# ---- a join over TLS: the token's pin checks the leader ---------------------
# A master serving TLS mints tokens that carry its public-key pin; the
# joiner checks the leader against it before the token leaves, and gets
# the cluster's master key and TLS identity (one pin for every master).
D5=$TMP/tls1
CA5=127.0.0.1:$(free_port)
AP5=$(free_port)
mkdir -p "$D5"
"$BIN/berth-master" --data-dir "$D5" --tls-self-signed --api-listen "127.0.0.1:$AP5" \
    --agent-listen "127.0.0.1:$(free_port)" --cluster-address "$CA5" \
    >>"$D5/master.log" 2>&1 </dev/null &
M5_PID=$!
MASTER_PIDS="$MASTER_PIDS $M5_PID"
wait_for 30 grep -q "role: leader" "$D5/master.log"
PIN=$(grep -o 'sha256//[^ ]*' "$D5/master.log" | head -1)
export BERTH_MASTER=https://127.0.0.1:$AP5 BERTH_TOKEN=$(cat "$D5/operator.token") \
    BERTH_MASTER_PIN=$PIN
JT=$("$BIN/berth" master join-token)
check "a TLS master's join token carries its pin" \
    sh -c "echo '$JT' | grep -qE '^bj1\\.[0-9a-f]{64}\\.[0-9a-f]{64}\$'"
JT2=$("$BIN/berth" master join-token)
D6=$TMP/tls2
"$BIN/berth-master" --data-dir "$D6" --tls-self-signed --api-listen "127.0.0.1:$(free_port)" \
    --agent-listen "127.0.0.1:$(free_port)" --cluster-address "127.0.0.1:$(free_port)" \
    --join "$CA5" --join-token "${JT2%.*}.$(printf '%064d' 1)" >"$TMP/badpin.log" 2>&1
check "a token whose pin is not the leader's is refused" test $? -ne 0
check_has "by the TLS check, before the token is sent" "$(cat "$TMP/badpin.log")" \
    "public key does not match pinned public key"
check "and nothing was written" test ! -e "$D6/master.key"
"$BIN/berth-master" --data-dir "$D6" --tls-self-signed --api-listen "127.0.0.1:$(free_port)" \
    --agent-listen "127.0.0.1:$(free_port)" --cluster-address "127.0.0.1:$(free_port)" \
    --join "$CA5" --join-token "$JT" >>"$D6/master.log" 2>&1 </dev/null &
M6_PID=$!
MASTER_PIDS="$MASTER_PIDS $M6_PID"
wait_for 30 grep -q "role: standby; the leader is node 1" "$D6/master.log"
check "the joiner has the leader's master key and TLS identity" \
    sh -c "cmp -s '$D5/master.key' '$D6/master.key' && cmp -s '$D5/tls.crt' '$D6/tls.crt' && cmp -s '$D5/tls.key' '$D6/tls.key'"
check_has "and serves it: the same pin" "$(cat "$D6/master.log")" "public-key pin $PIN"
unset BERTH_MASTER_PIN
kill -TERM "$M5_PID" "$M6_PID"
wait "$M5_PID" 2>/dev/null
san_check "$D5/master.log"
wait "$M6_PID" 2>/dev/null
san_check "$D6/master.log"
