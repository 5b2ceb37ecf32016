#!/usr/bin/env bash
# exec.sh - berth service exec / container exec on a real master, real
# agents and the real Docker Engine (docs/exec.md): the command's exit
# status is berth's, stdout and stderr stay apart, -i carries stdin and
# its end, -t runs an interactive shell on a terminal (tmux) that follows
# a resize, a container of another node is reached through its own agent,
# the operator token is required, each exec is audited (exec.start,
# exec.end), a slow reader stalls only its own session, the command dies
# when the operator leaves, an agent that disconnects ends the exec with
# a clear error, an agent refuses a container that is not its own, and
# all of it works over https.
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/test-image.sh" >/dev/null || { notok "build the local test image"; exit 1; }
D=$TMP/data
master_start "$D" || exit 1
B=$BIN/berth
agent_start e1 "az=a"
agent_start e2 "az=b"
wait_for 20 sh -c '[ "$(curl -s -H "Authorization: Bearer '"$TOKEN"'" '"$API"'/v1/grids/default/nodes | jq "[.[] | select(.status == \"online\")] | length")" = 2 ]'
check_eq "two real agents online" "$(node_status e1) $(node_status e2)" "online online"

cat >"$TMP/web.yml" <<'YML'
stack: e2e/web
services:
  web:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    instances: 2
    stop_grace_period: 2s
YML
out=$("$B" stack install "$TMP/web.yml" 2>&1)
check_eq "install a service of two instances (one per node)" "$?" 0
# name_on NODE: the name of the web container on that node.
name_on() { api_jq /v1/services/default/web/web/containers ".[] | select(.node == \"$1\") | .name"; }
N1=$(name_on e1)
N2=$(name_on e2)
I2=$(api_jq /v1/services/default/web/web/containers ".[] | select(.node == \"e2\") | .instance")
check "a container on each node ($N1, $N2)" test -n "$N1" -a -n "$N2"
host_of() { docker inspect -f '{{.Config.Hostname}}' "$1"; }
ev() { api_jq "/v1/grids/default/events?type=exec.&limit=1000" "$@"; }

# ---- exit status, streams, stdin ---------------------------------------------
"$B" service exec web/web -- sh -c 'exit 7'
check_eq "berth service exec web/web -- sh -c 'exit 7' exits 7" "$?" 7
"$B" service exec web/web -- sh -c 'echo to-out; echo to-err >&2' >"$TMP/o" 2>"$TMP/e"
check_eq "a command that succeeds exits 0" "$?" 0
check_eq "its stdout is berth's stdout" "$(cat "$TMP/o")" to-out
check_eq "its stderr is berth's stderr" "$(cat "$TMP/e")" to-err
out=$(printf 'one\ntwo\nthree\n' | "$B" service exec -i web/web -- awk 'END { print NR }')
check_eq "-i passes stdin and its end (awk counts 3 lines)" "$out" 3
out=$(echo unread | "$B" service exec web/web -- sh -c 'cat; echo done')
check_eq "without -i the command's stdin is empty" "$out" done
out=$("$B" service exec web/web -- no-such-command 2>&1)
rc=$?
echo "# a command that does not exist: exit $rc"
check "a command that does not exist fails with Docker's status (126/127)" test "$rc" -eq 126 -o "$rc" -eq 127
check_has "and Docker's reason" "$out" "no-such-command"

# ---- which container: /N, another node, container exec -----------------------
out=$("$B" service exec "web/web/$I2" -- hostname)
check_eq "STACK/SVC/N runs in instance N (on node e2)" "$out" "$(host_of "$N2")"
out=$("$B" container exec "$N2" -- hostname)
check_eq "container exec reaches the container on node e2" "$out" "$(host_of "$N2")"
check_has "the audit record names the node" "$(ev '.[-1].message')" "on node e2"

# ---- the audit trail, and the operator token --------------------------------
starts=$(ev '[.[] | select(.message | contains("[\"sh\",\"-c\",\"exit 7\"]"))] | length')
check_eq "exec.start names the command" "$starts" 1
check_has "exec.end records the exit status" "$(ev '[.[].message] | join("|")')" "exited 7"
check "no event carries the operator token" sh -c "! curl -s -H 'Authorization: Bearer $TOKEN' '$API/v1/grids/default/events?limit=10000' | grep -q '$TOKEN'"
n0=$(ev 'length')
out=$(BERTH_TOKEN=0000000000000000000000000000000000000000000000000000000000000000 "$B" service exec web/web -- true 2>&1)
rc=$?
check_eq "without the operator token: refused, 125" "$rc" 125
check_has "saying why" "$out" "invalid operator token"
out=$(env -u BERTH_TOKEN BERTH_DATA_DIR=/nonexistent "$B" service exec web/web -- true 2>&1)
check_eq "with no token at all: refused, 125" "$?" 125
check_eq "and nothing ran (no exec.start)" "$(ev 'length')" "$n0"

# ---- a slow reader stalls its own session only -------------------------------
BIG=20000000
"$B" service exec "web/web/$I2" -- sh -c "head -c $BIG /dev/zero" |
    (sleep 8; wc -c) >"$TMP/big" &
big=$!
sleep 3
t0=$(date +%s%N)
out=$("$B" service exec "web/web/$I2" -- echo meanwhile)
ms=$((($(date +%s%N) - t0) / 1000000))
check_eq "another exec runs while a reader is stalled" "$out" meanwhile
echo "# that exec took $ms ms while the other reader slept"
seen0=$(api_jq /v1/nodes/default/e2 .last_seen_at)
check "the stalled node's agent keeps reporting" wait_for 10 sh -c \
    "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/nodes/default/e2 | jq -r .last_seen_at)\" != '$seen0' ]"
rss=$(ps -o rss= -p "$MASTER_PID")
echo "# master RSS with a reader stalled on a $BIG-byte output: $rss KiB"
wait "$big"
check_eq "the stalled reader gets every byte in the end" "$(cat "$TMP/big" | tr -d ' ')" "$BIG"

# ---- -it on a terminal: an interactive shell, resized -----------------------
TM="tmux -L berth-exec-$$"
at_exit "$TM kill-server"
$TM new-session -d -s x -x 100 -y 30 "env BERTH_MASTER=$API BERTH_TOKEN=$TOKEN $B service exec -it web/web -- sh; echo EXIT=\$? >$TMP/tmux.rc; sleep 600"
pane() { $TM capture-pane -p -t x; }
check "-it: the shell's prompt shows" wait_for 40 sh -c "$TM capture-pane -p -t x | grep -q '~ #'"
$TM send-keys -t x 'echo hello-$((6*7))' Enter
check "-it: a command typed runs (hello-42)" wait_for 30 sh -c "$TM capture-pane -p -t x | grep -q '^hello-42'"
$TM send-keys -t x 'stty size' Enter
check "-it: the terminal has the size of berth's (30 100)" wait_for 30 sh -c "$TM capture-pane -p -t x | grep -q '^30 100'"
$TM resize-window -t x -x 120 -y 40
sleep 1
$TM send-keys -t x 'stty size' Enter
check "-it: a resize reaches it (40 120)" wait_for 30 sh -c "$TM capture-pane -p -t x | grep -q '^40 120'"
$TM send-keys -t x 'exit 5' Enter
check "-it: the shell's exit status is berth's (5)" wait_for 30 grep -qx EXIT=5 "$TMP/tmux.rc"
$TM kill-server 2>/dev/null

# ---- the operator leaves: the command is killed -------------------------------
"$B" container exec "$N1" -- sleep 3001 &
cli=$!
check "a long command runs" wait_for 30 sh -c "docker top $N1 | grep -q 'sleep 3001'"
kill -9 "$cli"
wait "$cli" 2>/dev/null
check "the master records that the operator went away" wait_for 30 sh -c \
    "curl -s -H 'Authorization: Bearer $TOKEN' '$API/v1/grids/default/events?type=exec.end' | grep -q 'the operator went away'"
check "and the command is gone from the container" wait_for 30 sh -c "! docker top $N1 | grep -q 'sleep 3001'"

# ---- the agent disconnects: the exec ends with a clear error -------------------
"$B" container exec "$N2" -- sleep 3002 >"$TMP/lost.out" 2>&1 &
cli=$!
check "a long command runs on node e2" wait_for 30 sh -c "docker top $N2 | grep -q 'sleep 3002'"
agent_stop e2 KILL
t0=$(date +%s%N)
check "berth returns once the agent is gone" wait_for 30 sh -c "! kill -0 $cli 2>/dev/null"
wait "$cli"
rc=$?
echo "# berth returned $((($(date +%s%N) - t0) / 1000000)) ms after the agent was killed"
check_eq "with 125" "$rc" 125
check_has "saying why" "$(cat "$TMP/lost.out")" "node e2 disconnected during the exec"
# A killed agent could not end its command: it runs on, as docker exec's would.
docker exec "$N2" sh -c 'for p in $(ps | grep "sleep 3002" | grep -v grep | awk "{ print \$1 }"); do kill $p; done' 2>/dev/null
agent_start e2 "az=b"
wait_for 20 api_jq /v1/nodes/default/e2 '.status == "online"' -e

# ---- an agent refuses a container it does not own ----------------------------
FP=$(free_port)
FM_LOG=$TMP/fake_master.log
echo '{}' >"$TMP/fm.json"
python3 "$ROOT/tests/integration/fake_master.py" --port "$FP" --grid-token gt \
    --desired "$TMP/fm.json" >"$FM_LOG" 2>&1 &
at_exit "kill $!"
wait_for 10 grep -q LISTEN "$FM_LOG"
agent_start e3 "" BERTH_URL="ws://127.0.0.1:$FP" BERTH_TOKEN=gt
check "a third agent joins a stand-in master" wait_for 20 grep -q '"type": "node_info"\|"type":"node_info"' "$FM_LOG"
printf '{"type":"exec_start","id":77,"container":"%s","cmd":["touch","/tmp/owned"],"tty":false,"stdin":false}\n' "$N1" >"$TMP/fm.json"
check "asked to exec into node e1's container, it answers" wait_for 30 grep -q '"exec_end"' "$FM_LOG"
check_has "with a refusal" "$(grep exec_end "$FM_LOG")" "is not one of this node's"
check "and nothing ran there" sh -c "! docker exec $N1 test -e /tmp/owned"
agent_stop e3

# ---- over https -------------------------------------------------------------------
agent_stop e1
agent_stop e2
master_stop
AP=$(free_port)
GP=$(free_port)
"$BIN/berth-master" --data-dir "$D" --api-listen "127.0.0.1:$AP" \
    --agent-listen "127.0.0.1:$GP" --tick-ms 200 --tls-self-signed \
    >>"$D/master.log" 2>&1 &
MASTER_PID=$!
MASTER_PIDS="$MASTER_PIDS $MASTER_PID"
API=https://127.0.0.1:$AP
check "the master serves https" wait_for 20 curl -sf --cacert "$D/tls.crt" "$API/healthz"
PIN=$(grep -o 'sha256//[A-Za-z0-9+/=]*' "$D/master.log" | tail -1)
AGENT_PORT=$GP
agent_start e1 "az=a" BERTH_URL="wss://127.0.0.1:$GP" BERTH_MASTER_PIN="$PIN"
export BERTH_MASTER=$API BERTH_CA_CERT=$D/tls.crt
check "agent e1 is back over wss" wait_for 30 sh -c "curl -s --cacert $D/tls.crt -H 'Authorization: Bearer $TOKEN' $API/v1/nodes/default/e1 | jq -ne 'input | .status == \"online\"'"
check "its container runs again" wait_for 30 sh -c "curl -s --cacert $D/tls.crt -H 'Authorization: Bearer $TOKEN' $API/v1/services/default/web/web/containers | jq -ne 'input | .[] | select(.node == \"e1\" and .state == \"running\")'"
"$B" container exec "$N1" -- sh -c 'exit 4'
check_eq "over https: the exit status" "$?" 4
out=$(printf 'a\nb\n' | "$B" container exec -i "$N1" -- awk 'END { print NR }')
check_eq "over https: stdin" "$out" 2
agent_stop e1
master_stop
exit 0
