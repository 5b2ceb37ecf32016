#!/usr/bin/env bash
# logs.sh - the master's side of container logs, driven by wsprobe as an
# agent: logs frames stored once and acknowledged, tail/since/after exact,
# follow (also through TLS, and with more followers than API threads),
# every field of a frame checked, retention, logs that outlive their node.
. "$(dirname "$0")/../lib.sh"

PROBE=$ROOT/$BUILD/tools/wsprobe
GEN=$ROOT/tests/integration/logs_frames.py
D=$TMP/data
master_start "$D" || exit 1
GT=$(cat "$D/grid-default.token")
N1=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
hex64() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
CA=$(hex64)
CB=$(hex64)
NOW=$(date +%s%N)
T0=$((NOW - 60000000000))	# a minute ago: inside every retention

# send FILE [node-id] [name] [extra wsprobe args...]: one agent session
# that sends every frame of FILE; prints what came back.
send() {
	local file=$1 id=${2:-$N1} name=${3:-n1}
	shift 3 2>/dev/null || shift $#
	"$PROBE" --port "$AGENT_PORT" --stay 3 -H "Berth-Protocol: 1" \
	    -H "Berth-Node-Id: $id" -H "Berth-Node-Name: $name" \
	    -H "Berth-Node-Labels: " -H "Berth-Agent-Version: test" \
	    -H "Berth-Grid-Token: $GT" --send-file "$file" "$@"
}
logs() { curl -s -H "Authorization: Bearer $TOKEN" "$API$1"; }
# lines PATH: "instance:text" of each line, joined by "|".
lines() { logs "$1" | jq -r '"\(.instance):\(.line)"' | tr '\n' '|' | sed 's/|$//'; }
count() { logs "$1" | grep -c '^{'; }
# acks: the acknowledged frame numbers, in order (one covers all before).
acks() { sed -n 's/^frame {"type":"logs_ack","seq":\([0-9]*\)}$/\1/p' | tr '\n' ' ' | sed 's/ $//'; }
last_ack() { acks | awk '{print $NF}'; }
rising() { awk '{for (i = 2; i <= NF; i++) if ($i <= $(i-1)) exit 1}'; }

# ---- two containers of one service, interleaved in time --------------------
SPEC='[{"cid":"'$CA'","name":"st.web-1.'${N1:0:8}'","stack":"st","service":"web","instance":1,"n":100,"ts0":'$((T0 + 1000000))',"step":1000000},
       {"cid":"'$CB'","name":"st.web-2.'${N1:0:8}'","stack":"st","service":"web","instance":2,"n":100,"ts0":'$((T0 + 1500000))',"step":1000000,"stream":"e"}]'
python3 "$GEN" "$TMP/f1" 1 "$SPEC" 60 >/dev/null
out=$(send "$TMP/f1")
check_eq "the frames are acknowledged up to the last" "$(last_ack <<<"$out")" 4
check "... in rising order" rising <<<"$(acks <<<"$out")"
check_eq "the session stays open" "$(grep -c '^close' <<<"$out")" 0
check_eq "all 200 lines are stored" "$(count /v1/services/default/st/web/logs)" 200
check_eq "lines come merged in time order" \
    "$(lines /v1/services/default/st/web/logs | cut -d'|' -f1-4)" \
    "1:line 1|2:line 1|1:line 2|2:line 2"
check_eq "tail=10 is exactly the last ten" \
    "$(lines '/v1/services/default/st/web/logs?tail=10')" \
    "1:line 96|2:line 96|1:line 97|2:line 97|1:line 98|2:line 98|1:line 99|2:line 99|1:line 100|2:line 100"
SINCE=$(logs '/v1/services/default/st/web/logs' | jq -r 'select(.instance == 1 and .line == "line 51") | .ts')
got=$(lines "/v1/services/default/st/web/logs?since=$SINCE")
check_eq "since=T starts exactly at T" "$(tr '|' '\n' <<<"$got" | wc -l) $(cut -d'|' -f1 <<<"$got") $(awk -F'|' '{print $NF}' <<<"$got")" \
    "100 1:line 51 2:line 100"
check_eq "tail and since together" \
    "$(lines "/v1/services/default/st/web/logs?since=$SINCE&tail=3")" \
    "2:line 99|1:line 100|2:line 100"
check_eq "tail=0 gives nothing" "$(count '/v1/services/default/st/web/logs?tail=0')" 0
check_eq "since as a duration" "$(count '/v1/services/default/st/web/logs?since=2h')" 200
check_eq "since in the future gives nothing" "$(count '/v1/services/default/st/web/logs?since=2099-01-01T00:00:00Z')" 0
check_eq "a container by name" "$(count "/v1/containers/default/st.web-2.${N1:0:8}/logs")" 100
check_eq "a container by id prefix" "$(count "/v1/containers/default/${CA:0:12}/logs?tail=7")" 7
check_eq "a stack" "$(count /v1/stacks/default/st/logs?tail=150)" 150
one=$(logs '/v1/services/default/st/web/logs?tail=1')
check_eq "a line's fields" "$(jq -c '[.stream, .instance, .service, .stack, .node, (.ts | test("^[0-9-]{10}T[0-9:]{8}\\.[0-9]{9}Z$")), (.id | type)]' <<<"$one")" \
    '["stderr",2,"web","st","n1",true,"number"]'
LAST=$(logs '/v1/services/default/st/web/logs' | jq -s 'map(.id) | max')
check_eq "after=ID gives the lines that came after that one" "$(count "/v1/services/default/st/web/logs?after=$((LAST - 4))")" 4

# ---- exactly once: a resend, an overlap, a drop marker ----------------------
out=$(send "$TMP/f1")
check_eq "a resent session is acknowledged again" "$(last_ack <<<"$out")" 4
check_eq "... and stores nothing twice" "$(count /v1/services/default/st/web/logs)" 200
metrics=$(curl -s "$API/metrics")
check_eq "/metrics counts the lines stored and those sent twice" \
    "$(awk '/^berth_log_lines_total / {a = $2} /^berth_log_duplicates_total / {b = $2} END {print a, b}' <<<"$metrics")" "200 200"
cat >"$TMP/f2" <<EOF
{"type":"logs","seq":7,"streams":[{"container_id":"$CA","name":"st.web-1.${N1:0:8}","stack":"st","service":"web","instance":1,"lines":[[95,$((T0 + 95000000)),"o","line 95"],[101,$((T0 + 101000000)),"o","line 101"],[110,$((T0 + 110000000)),"d",9]]}]}
{"type":"logs","seq":8,"streams":[{"container_id":"$CA","name":"st.web-1.${N1:0:8}","stack":"st","service":"web","instance":1,"lines":[[120,$((T0 + 111000000)),"d",15],[121,$((T0 + 121000000)),"o","line 121"]]}]}
EOF
out=$(send "$TMP/f2")
check_eq "overlapping frames are acknowledged" "$(last_ack <<<"$out")" 8
got=$(logs "/v1/containers/default/${CA:0:12}/logs?tail=4" | jq -r '"\(.stream):\(.dropped // .line)"' | tr '\n' ' ')
check_eq "old lines skipped, new kept, markers clipped to what is new" "$got" \
    "stdout:line 101 dropped:9 dropped:10 stdout:line 121 "
check "a marker says how many lines were lost" \
    sh -c "curl -s -H 'Authorization: Bearer $TOKEN' '$API/v1/containers/default/${CA:0:12}/logs?tail=2' | head -1 | jq -ne 'input | .line | test(\"10 lines dropped\")'"

# ---- outside input: text that would break a frame or a terminal --------------
CN=$(hex64)
printf '%s\n' '{"type":"logs","seq":1,"streams":[{"container_id":"'$CN'","name":"bin.raw-1.'${N1:0:8}'","stack":"bin","service":"raw","instance":1,"lines":[[1,'$NOW',"o","nul \u0000 esc \u001b[31m quote \" bs \\ é \ufffd"]]}]}' >"$TMP/f3"
out=$(send "$TMP/f3")
check_eq "control characters and NULs are accepted" "$(last_ack <<<"$out")" 1
got=$(logs "/v1/containers/default/${CN:0:12}/logs" | jq -c '.line')
check_eq "... and come back as they were" "$got" '"nul \u0000 esc \u001b[31m quote \" bs \\ é �"'
check "... escaped in the JSON, never raw" sh -c "curl -s -H 'Authorization: Bearer $TOKEN' '$API/v1/containers/default/${CN:0:12}/logs' | grep -q 'nul \\\\u0000 esc \\\\u001b'"

# ---- every field of a frame is checked ------------------------------------------
rows() { sqlite3 "$D/logs.db" ".timeout 5000" "SELECT count(*) FROM lines"; }
bad() {	# NAME FRAME WANT-IN-REASON
	local before after out
	before=$(rows)
	printf '%s\n' "$2" >"$TMP/bad"
	out=$(send "$TMP/bad")
	after=$(rows)
	check_has "refused: $1" "$(grep '^close' <<<"$out")" "close 4010 $3"
	check_eq "refused: $1: nothing stored" "$after" "$before"
}
L1='[1,'$NOW',"o","x"]'
S='"container_id":"'$CN'","name":"n.x-1.y","stack":"bin","service":"raw","instance":1'
bad "seq missing" '{"type":"logs","streams":[{'"$S"',"lines":['"$L1"']}]}' "logs.seq"
bad "no streams" '{"type":"logs","seq":1,"streams":[]}' "logs.streams"
bad "container id not hex" '{"type":"logs","seq":1,"streams":[{"container_id":"zz","name":"a","lines":['"$L1"']}]}' "logs.streams[0].container_id"
bad "name with a space" '{"type":"logs","seq":1,"streams":[{"container_id":"'$CN'","name":"a b","lines":['"$L1"']}]}' "logs.streams[0].name"
bad "name with a NUL" '{"type":"logs","seq":1,"streams":[{"container_id":"'$CN'","name":"a\u0000b","lines":['"$L1"']}]}' "logs.streams[0].name"
bad "service not a name" '{"type":"logs","seq":1,"streams":[{'"${S/\"raw\"/\"w\/x\"}"',"lines":['"$L1"']}]}' "logs.streams[0].service"
bad "instance negative" '{"type":"logs","seq":1,"streams":[{'"${S/\"instance\":1/\"instance\":-1}"',"lines":['"$L1"']}]}' "logs.streams[0].instance"
bad "seq going back" '{"type":"logs","seq":1,"streams":[{'"$S"',"lines":[[5,1,"o","a"],[5,2,"o","b"]]}]}' "logs.streams[0].lines[1][0]"
bad "negative time" '{"type":"logs","seq":1,"streams":[{'"$S"',"lines":[[5,-1,"o","a"]]}]}' "logs.streams[0].lines[0][1]"
bad "unknown stream" '{"type":"logs","seq":1,"streams":[{'"$S"',"lines":[[5,1,"x","a"]]}]}' "logs.streams[0].lines[0][2]"
bad "marker reaching back" '{"type":"logs","seq":1,"streams":[{'"$S"',"lines":[[5,1,"o","a"],[7,2,"d",3]]}]}' "logs.streams[0].lines[1][3]"
bad "partial flag 2" '{"type":"logs","seq":1,"streams":[{'"$S"',"lines":[[5,1,"o","a",2]]}]}' "logs.streams[0].lines[0][4]"
bad "text not a string" '{"type":"logs","seq":1,"streams":[{'"$S"',"lines":[[5,1,"o",7]]}]}' "logs.streams[0].lines[0][3]"
bad "one container twice" '{"type":"logs","seq":1,"streams":[{'"$S"',"lines":['"$L1"']},{'"$S"',"lines":[[9,1,"o","b"]]}]}' "logs.streams[1].container_id"
long=$(head -c 16385 /dev/zero | tr '\0' a)
bad "a line over 16 KiB" '{"type":"logs","seq":1,"streams":[{'"$S"',"lines":[[5,1,"o","'$long'"]]}]}' "logs.streams[0].lines[0][3]"
ok_long=$(head -c 16384 /dev/zero | tr '\0' a)
printf '%s\n' '{"type":"logs","seq":1,"streams":[{'"$S"',"lines":[[50,'$NOW',"o","'$ok_long'",1]]}]}' >"$TMP/f4"
check_eq "a line of exactly 16 KiB is taken" "$(send "$TMP/f4" | last_ack)" 1
check_eq "... whole" "$(logs "/v1/containers/default/${CN:0:12}/logs?tail=1" | jq -r '"\(.line | length) \(.partial)"')" "16384 true"

# ---- follow ----------------------------------------------------------------------
curl -sN -H "Authorization: Bearer $TOKEN" "$API/v1/services/default/st/web/logs?follow=1&tail=1" >"$TMP/follow" &
FPID=$!
at_exit "kill $FPID"
wait_for 10 grep -q 'line 121' "$TMP/follow"
check_eq "follow starts with the tail" "$(jq -r .line "$TMP/follow" | head -1)" "line 121"
SPEC2='[{"cid":"'$CB'","name":"st.web-2.'${N1:0:8}'","stack":"st","service":"web","instance":2,"seq0":101,"n":3,"ts0":'$NOW',"step":1000}]'
python3 "$GEN" "$TMP/f5" 20 "$SPEC2" >/dev/null
send "$TMP/f5" >/dev/null
check "a follower gets new lines as they are stored" wait_for 10 grep -q 'line 103' "$TMP/follow"
check_eq "... each once, in order" "$(jq -r .line "$TMP/follow" | tr '\n' '|')" "line 121|line 101|line 102|line 103|"
# A new container of the service shows up in the same follow.
CC=$(hex64)
SPEC3='[{"cid":"'$CC'","name":"st.web-4.'${N1:0:8}'","stack":"st","service":"web","instance":4,"n":1,"ts0":'$NOW',"text":"new container"}]'
python3 "$GEN" "$TMP/f6" 30 "$SPEC3" >/dev/null
send "$TMP/f6" >/dev/null
check "a follower sees a container that appeared after it began" wait_for 10 grep -q 'new container' "$TMP/follow"
kill $FPID 2>/dev/null

# ---- logs outlive their node -------------------------------------------------------
api DELETE "/v1/nodes/default/n1"
check_eq "the node is removed" "$STATUS" 204
check_eq "its containers' logs stay readable" "$(count /v1/services/default/st/web/logs)" 208
check_eq "... by container name too" "$(count "/v1/containers/default/st.web-1.${N1:0:8}/logs")" 104
# A removed node's id is revoked (its machine joins again as a new node):
# the frames below come from a new one.
N1=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')

# ---- errors ------------------------------------------------------------------------
api GET "/v1/services/default/st/nope/logs"
check_eq "an unknown service is 404" "$STATUS" 404
api GET "/v1/stacks/default/nope/logs"
check_eq "an unknown stack is 404" "$STATUS" 404
api GET "/v1/containers/default/nope/logs"
check_eq "an unknown container is 404" "$STATUS" 404
api GET "/v1/services/nogrid/st/web/logs"
check_eq "an unknown grid is 404" "$STATUS" 404
api GET "/v1/services/default/st/web/logs?tail=-1"
check_eq "a bad tail is 422 naming it" "$STATUS $(jq -r .field <<<"$BODY")" "422 tail"
api GET "/v1/services/default/st/web/logs?since=yesterday"
check_eq "a bad since is 422 naming it" "$STATUS $(jq -r .field <<<"$BODY")" "422 since"
api GET "/v1/services/default/st/web/logs?follow=maybe"
check_eq "a bad follow is 422 naming it" "$STATUS $(jq -r .field <<<"$BODY")" "422 follow"
api_noauth GET "/v1/services/default/st/web/logs"
check_eq "logs need the operator token" "$STATUS" 401

# ---- retention ---------------------------------------------------------------------
api PATCH /v1/grids/default '{"settings":{"logs_max_bytes":4194304,"logs_container_pct":25}}'
check_eq "retention settings take" "$STATUS" 200
CR=$(hex64)
SPEC4='[{"cid":"'$CR'","name":"ret.big-1.'${N1:0:8}'","stack":"ret","service":"big","instance":1,"n":3000,"ts0":'$((T0 + 1000000))',"step":1000000,"pad":900}]'
python3 "$GEN" "$TMP/f7" 1 "$SPEC4" 200 >/dev/null
send "$TMP/f7" "$N1" n1 >/dev/null
wait_for 10 sh -c "[ \"\$(sqlite3 '$D/logs.db' '.timeout 5000' \"SELECT max_seq FROM streams WHERE container_id = '$CR'\")\" = 3000 ]"
bytes=$(sqlite3 "$D/logs.db" ".timeout 5000" "SELECT bytes FROM streams WHERE container_id = '$CR'")
echo "# a container sent ~2.8 MiB; its share is 25% of 4 MiB: it keeps $bytes bytes"
check "a container keeps at most its share of the grid's logs" test "$bytes" -le 1048576
check_eq "the newest lines are the ones kept" "$(lines /v1/stacks/default/ret/logs?tail=1 | cut -c1-11)" "1:line 3000"
check "the oldest are gone" test "$(count /v1/stacks/default/ret/logs)" -lt 3000
# Age: lines from two hours ago go once logs_max_age_s is an hour.
CO=$(hex64)
SPEC5='[{"cid":"'$CO'","name":"ret.old-1.'${N1:0:8}'","stack":"ret","service":"old","instance":1,"n":5,"ts0":'$((NOW - 7200000000000))',"step":1000000},
        {"cid":"'$CO'","name":"ret.old-1.'${N1:0:8}'","stack":"ret","service":"old","instance":1,"seq0":6,"n":2,"ts0":'$NOW',"step":1000000}]'
python3 "$GEN" "$TMP/f8" 1 "$SPEC5" >/dev/null
send "$TMP/f8" >/dev/null
check_eq "old and new lines are stored" "$(count /v1/services/default/ret/old/logs)" 7
api PATCH /v1/grids/default '{"settings":{"logs_max_age_s":3600}}'
check "lines past logs_max_age_s are deleted (a pass every 10 s)" \
    wait_for 30 sh -c "[ \$(curl -s -H 'Authorization: Bearer $TOKEN' '$API/v1/services/default/ret/old/logs' | grep -c '^{') = 2 ]"
check_eq "... the recent ones stay" "$(lines /v1/services/default/ret/old/logs)" "1:line 6|1:line 7"

# ---- more followers than API threads; TLS ------------------------------------------
master_stop
D2=$TMP/data2
mkdir -p "$D2"
AP=$(free_port)
AGENT_PORT=$(free_port)
"$BIN/berth-master" --data-dir "$D2" --api-listen "127.0.0.1:$AP" \
    --agent-listen "127.0.0.1:$AGENT_PORT" --api-threads 1 \
    --tls-self-signed >>"$D2/master.log" 2>&1 &
MASTER_PID=$!
MASTER_PIDS="$MASTER_PIDS $MASTER_PID"
MASTER_LOG=$D2/master.log
API=https://127.0.0.1:$AP
wait_for 20 curl -sfk "$API/healthz" || { sed 's/^/# /' "$D2/master.log"; exit 1; }
GT=$(cat "$D2/grid-default.token")
TOKEN=$(cat "$D2/operator.token")
CURL_TLS=(--cacert "$D2/tls.crt")
CT=$(hex64)
printf '%s\n' '{"type":"logs","seq":1,"streams":[{"container_id":"'$CT'","name":"tls.f-1.'${N1:0:8}'","stack":"tls","service":"f","instance":1,"lines":[[1,'$NOW',"o","first"]]}]}' >"$TMP/t1"
check_eq "a logs frame over wss" "$(send "$TMP/t1" "$N1" n1 --tls | last_ack)" 1
check_eq "plain http to the TLS master is refused" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$AP/healthz")" 000
for i in 1 2 3 4 5 6; do
	curl -sN "${CURL_TLS[@]}" -H "Authorization: Bearer $TOKEN" \
	    "$API/v1/services/default/tls/f/logs?follow=1" >"$TMP/tf$i" &
	at_exit "kill $!"
done
check "six followers, one API thread: all got the history" \
    wait_for 15 sh -c "[ \$(cat $TMP/tf1 $TMP/tf2 $TMP/tf3 $TMP/tf4 $TMP/tf5 $TMP/tf6 | grep -c first) = 6 ]"
t0=$(date +%s%N)
api_code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 "${CURL_TLS[@]}" -H "Authorization: Bearer $TOKEN" "$API/v1/grids")
echo "# GET /v1/grids with six followers on one API thread: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
check_eq "followers leave the API thread free for other requests" "$api_code" 200
printf '%s\n' '{"type":"logs","seq":2,"streams":[{"container_id":"'$CT'","name":"tls.f-1.'${N1:0:8}'","stack":"tls","service":"f","instance":1,"lines":[[2,'$((NOW + 1))',"o","second"]]}]}' >"$TMP/t2"
send "$TMP/t2" "$N1" n1 --tls >/dev/null
check "every follower gets a new line through TLS" \
    wait_for 15 sh -c "[ \$(cat $TMP/tf1 $TMP/tf2 $TMP/tf3 $TMP/tf4 $TMP/tf5 $TMP/tf6 | grep -c second) = 6 ]"
master_stop
check "the master stops with followers attached" sh -c "! kill -0 $MASTER_PID 2>/dev/null"
exit $((N_FAIL > 0))
