#!/usr/bin/env bash
# exec.sh - the exec route and relay of a real master without Docker: the
# agent is wsprobe speaking the exec protocol (docs/protocol.md, "Exec").
# Refusals come before the upgrade as plain HTTP errors; a session runs
# through the relay and the hub (output, exit status, exec.start and
# exec.end); an agent that breaks its output window is closed with 4010
# and the operator gets a clear error; a node that is not connected is
# refused. (tests/e2e/exec.sh runs the real agent on Docker.)
. "$(dirname "$0")/../lib.sh"

PROBE=$ROOT/$BUILD/tools/wsprobe
B=$BIN/berth
D=$TMP/data
master_start "$D" || exit 1
GT=$(cat "$D/grid-default.token")
NID=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')

# probe MODE: a simulated agent as node "sim" that reports its containers
# running and answers exec_start as MODE says (wsprobe --exec); its output
# in $TMP/probe.out.
probe() {
	"$PROBE" --port "$AGENT_PORT" --stay 60 --auto-state --exec "$1" \
	    -H "Berth-Protocol: 1" -H "Berth-Node-Id: $NID" \
	    -H "Berth-Node-Name: sim" -H "Berth-Node-Labels: az=a" \
	    -H "Berth-Agent-Version: test" -H "Berth-Grid-Token: $GT" \
	    >"$TMP/probe.out" 2>&1 &
	PROBE_PID=$!
	wait_for 10 api_jq /v1/nodes/default/sim '.status == "online"' -e
}
ws_get() { # PATH [curl args]: an upgrade request; prints the status
	curl -s -o "$TMP/ws.body" -w '%{http_code}' -H "Connection: Upgrade" \
	    -H "Upgrade: websocket" -H "Sec-WebSocket-Version: 13" \
	    -H "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==" "${@:2}" "$API$1"
}

probe exit3
check "a simulated agent is online" test "$(node_status sim)" = online
api POST /v1/grids/default/stacks '{"stack":"t/web","services":{"web":{"image":"busybox","instances":1}}}'
api POST /v1/stacks/default/web/deploy
check "its instance runs" wait_for 20 api_jq /v1/services/default/web/web/containers '.[0].state == "running"' -e
NAME=$(api_jq /v1/services/default/web/web/containers '.[0].name')

# ---- refusals, before any upgrade --------------------------------------------
check_eq "no token: 401" "$(ws_get "/v1/services/default/web/web/exec?cmd=true")" 401
check_eq "a wrong token: 403" "$(ws_get "/v1/services/default/web/web/exec?cmd=true" -H "Authorization: Bearer $GT")" 403
A=(-H "Authorization: Bearer $TOKEN")
check_eq "a plain GET (no upgrade): 400" "$(curl -s -o /dev/null -w '%{http_code}' "${A[@]}" "$API/v1/services/default/web/web/exec?cmd=true")" 400
check_eq "no command: 422" "$(ws_get "/v1/services/default/web/web/exec" "${A[@]}")" 422
check_has "naming the field" "$(cat "$TMP/ws.body")" '"field":"cmd"'
check_eq "tty=2: 422" "$(ws_get "/v1/services/default/web/web/exec?cmd=sh&tty=2" "${A[@]}")" 422
check_eq "an unknown service: 404" "$(ws_get "/v1/services/default/web/nope/exec?cmd=true" "${A[@]}")" 404
check_eq "an instance that does not exist: 404" "$(ws_get "/v1/services/default/web/web/exec?cmd=true&instance=9" "${A[@]}")" 404
check_eq "an unknown container: 404" "$(ws_get "/v1/containers/default/web.web-9.x/exec?cmd=true" "${A[@]}")" 404
check_eq "a bad websocket key: 400" "$(curl -s -o /dev/null -w '%{http_code}' "${A[@]}" -H "Connection: Upgrade" -H "Upgrade: websocket" -H "Sec-WebSocket-Version: 13" -H "Sec-WebSocket-Key: short" "$API/v1/services/default/web/web/exec?cmd=true")" 400
check_eq "none of that was audited" "$(api_jq '/v1/grids/default/events?type=exec.' length)" 0

# ---- a session through the relay and the hub ----------------------------------
out=$("$B" service exec web/web -- sh -c 'anything')
rc=$?
check_eq "the agent's output reaches berth's stdout" "$out" hello
check_eq "its exit code is berth's" "$rc" 3
start=$(grep -o 'frame {"type":"exec_start"[^}]*}' "$TMP/probe.out" | head -1)
check_has "the agent got exec_start with the command" "$start" '"cmd":["sh","-c","anything"]'
check_has "and the container" "$start" "\"container\":\"$NAME\""
check_has "and an id" "$start" '"id":'
check_has "exec.start names what ran where" "$(api_jq '/v1/grids/default/events?type=exec.start' '.[0].message')" \
    "in $NAME (web/web#1) on node sim: [\"sh\",\"-c\",\"anything\"]"
check_has "exec.end its exit status" "$(api_jq '/v1/grids/default/events?type=exec.end' '.[0].message')" "exited 3"
out=$("$B" container exec "$NAME" -- true)
check_eq "container exec goes the same way" "$?" 3

# ---- an agent that breaks its window is cut off --------------------------------
kill "$PROBE_PID" 2>/dev/null
wait "$PROBE_PID" 2>/dev/null
probe flood
check "the instance runs again" wait_for 20 api_jq /v1/services/default/web/web/containers '.[0].state == "running"' -e
# An operator that never reads (a tiny receive buffer): the relay holds
# one window and acknowledges nothing more, so the flood breaks it.
python3 - "$API_PORT" "$TOKEN" >"$TMP/lazy.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(("GET /v1/services/default/web/web/exec?cmd=cat&cmd=/dev/zero HTTP/1.1\r\n"
    "Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    "Authorization: Bearer %s\r\n\r\n" % sys.argv[2]).encode())
print(s.recv(12).decode(), flush=True)
time.sleep(120)  # killed below; long enough for a loaded machine
PY
lazy=$!
check "an operator that does not read gets a 101" wait_for 10 grep -q "HTTP/1.1 101" "$TMP/lazy.out"
# The master closes the flooding agent with 4010. The probe, still
# writing, may lose the close frame to the reset of its connection, so
# the master's own word counts too.
flood_cut() {
	grep -q "close 4010 exec .*: output over its window" "$TMP/probe.out" ||
	    grep -q "hub: node sim: exec .*: output over its window" "$MASTER_LOG"
}
check "the master closes the flooding agent with 4010 (window)" wait_for 60 flood_cut
check "and ends its session" wait_for 10 sh -c \
    "curl -s -H 'Authorization: Bearer $TOKEN' '$API/v1/grids/default/events?type=exec.end' | grep -q 'node sim disconnected during the exec'"
kill "$lazy" 2>/dev/null
wait "$lazy" 2>/dev/null
kill "$PROBE_PID" 2>/dev/null
wait "$PROBE_PID" 2>/dev/null

# ---- a node that is not connected --------------------------------------------------
check "the node goes offline" wait_for 30 api_jq /v1/nodes/default/sim '.status != "online"' -e
out=$("$B" service exec web/web -- true 2>&1)
check_eq "exec on an offline node: 125" "$?" 125
check_has "saying so" "$out" "node sim of container $NAME is not connected"
master_stop
