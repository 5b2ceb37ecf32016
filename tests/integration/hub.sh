#!/usr/bin/env bash
# hub.sh - the agent websocket hub of a real master, driven by wsprobe (a
# protocol test peer): joins, node tokens, every close code, liveness, and
# that a refused connection writes nothing.
. "$(dirname "$0")/../lib.sh"

PROBE=$ROOT/$BUILD/tools/wsprobe
D=$TMP/data
master_start "$D" || exit 1
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":3}}'
GT=$(cat "$D/grid-default.token")
N1=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
N2=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')

# probe NODE_ID NAME TOKEN_HEADER [stay] [extra wsprobe args...]
probe() {
	local id=$1 name=$2 tok=$3 stay=${4:-2}
	shift 4 2>/dev/null || shift $#
	"$PROBE" --port "$AGENT_PORT" --stay "$stay" -H "Berth-Protocol: 1" \
	    -H "Berth-Node-Id: $id" -H "Berth-Node-Name: $name" \
	    -H "Berth-Node-Labels: az=a,ephemeral=true" \
	    -H "Berth-Agent-Version: test" -H "$tok" "$@"
}
store_rows() {
	sqlite3 "$D/berth.db" ".timeout 5000" \
	    "SELECT (SELECT count(*) FROM nodes) || '/' || (SELECT count(*) FROM events)"
}

out=$(probe "$N1" node-1 "Berth-Grid-Token: $GT" 1)
welcome=$(sed -n 's/^frame //p' <<<"$out" | head -1)
check_eq "first join: welcome" "$(jq -r .type <<<"$welcome")" welcome
NT1=$(jq -r .node_token <<<"$welcome")
check "first join mints a node token" grep -Eq '^[0-9a-f]{64}$' <<<"$NT1"
check_eq "welcome names the grid and node" "$(jq -r '.grid + " " + .node_id' <<<"$welcome")" "default $N1"
check_eq "welcome carries the heartbeat" "$(jq .heartbeat_interval_s <<<"$welcome")" 1
desired=$(sed -n 's/^frame //p' <<<"$out" | sed -n 2p)
check_eq "the desired set follows the welcome" "$(jq -c '[.type, .containers]' <<<"$desired")" '["desired",[]]'
api GET /v1/nodes/default/node-1
check_eq "joined node has its labels" "$(jq -c .labels <<<"$BODY")" '["az=a","ephemeral=true"]'
check_eq "the node token is not stored in clear" \
    "$(grep -c "$NT1" "$D/berth.db" "$D/berth.db-wal" 2>/dev/null | awk -F: '{s+=$2} END {print s}')" 0

node_is() { api_jq "/v1/nodes/default/$1" ".status == \"$2\"" -e >/dev/null; }
# The first session's end is written asynchronously: let it land first.
wait_for 5 node_is node-1 offline
sleep 0.3
before=$(store_rows)
out=$(probe "$N2" node-2 "Berth-Grid-Token: ffff$GT")
check_has "bad grid token: 4001" "$out" "close 4001"
out=$(probe "$N1" node-1 "Berth-Node-Token: $(printf '0%.0s' $(seq 64))")
check_has "bad node token: 4002" "$out" "close 4002"
out=$(probe "$N2" node-2 "Berth-Node-Token: $NT1")
check_has "node token replayed under another node id: 4003" "$out" "close 4003"
out=$("$PROBE" --port "$AGENT_PORT" -H "Berth-Protocol: 1" -H "Berth-Grid-Token: $GT")
check_has "missing node headers: 4000" "$out" "close 4000"
out=$("$PROBE" --port "$AGENT_PORT" -H "Berth-Protocol: 2" -H "Berth-Node-Id: $N2" \
    -H "Berth-Node-Name: node-2" -H "Berth-Grid-Token: $GT")
check_has "protocol version mismatch: 4004" "$out" "close 4004"
out=$(probe "$N2" "Bad_Name" "Berth-Grid-Token: $GT")
check_has "invalid node name: 4000" "$out" "close 4000"
check_eq "refused connections wrote nothing (nodes/events)" "$(store_rows)" "$before"
api GET /v1/nodes/default/node-2
check_eq "no node was created by a refused connection" "$STATUS" 404

# Rejoin with the node token: same node, no new token.
out=$(probe "$N1" node-1 "Berth-Node-Token: $NT1" 1)
check_eq "rejoin with the node token keeps it" \
    "$(sed -n 's/^frame //p' <<<"$out" | head -1 | jq -r '.node_token // "kept"')" kept

# Frames from the agent.
out=$(probe "$N1" node-1 "Berth-Node-Token: $NT1" 4 \
    --send '{"type":"node_info","hostname":"h1","cpus":4,"memory":8589934592,"addresses":["10.0.0.9"],"docker_version":"20.10","os":"Debian","kernel":"6.1"}' \
    --send '{"type":"stats","cpu_pct":42.5,"mem_used":1048576,"mem_total":8589934592,"containers":0}')
api GET /v1/nodes/default/node-1
check_eq "node_info is stored" "$(jq -c '[.cpus,.memory,.docker_version,.addresses]' <<<"$BODY")" '[4,8589934592,"20.10",["10.0.0.9"]]'
# The session is over: the API shows no load for an offline node, the
# store kept what the batch wrote.
check_eq "stats are stored (batched)" \
    "$(sqlite3 "$D/berth.db" ".timeout 5000" "SELECT cpu_pct FROM nodes WHERE name = 'node-1'")" 42.5
out=$(probe "$N1" node-1 "Berth-Node-Token: $NT1" 3 --send '{"type":"state","containers":[{"service_id":"x"}]}')
check_has "malformed frame: 4010" "$out" "close 4010"
out=$(probe "$N1" node-1 "Berth-Node-Token: $NT1" 3 --send 'not json')
check_has "non-JSON frame: 4010" "$out" "close 4010"
out=$(probe "$N1" node-1 "Berth-Node-Token: $NT1" 3 --send '{"type":"node_info","cpus":1,"memory":1,"addresses":["10.0.0.9",7]}')
check_has "node_info with a non-string address: 4010" "$out" "close 4010"
# A container's health (health_check, docs/health.md): every bad value is
# refused with the field it is in.
for bad in '"health":"sick"|containers[0].health: expected "starting", "healthy" or "unhealthy"' \
    '"health":7|containers[0].health: expected' \
    '"health_error":5|containers[0].health_error: expected a string of at most 512 bytes' \
    "\"health_error\":\"$(printf 'x%.0s' $(seq 513))\"|containers[0].health_error: expected a string of at most 512" \
    '"health_restarts":-1|containers[0].health_restarts: expected an integer 0-2147483647' \
    '"health_restarts":"3"|containers[0].health_restarts: expected an integer'; do
	field=${bad%%|*}
	out=$(probe "$N1" node-1 "Berth-Node-Token: $NT1" 3 --send \
	    "{\"type\":\"state\",\"containers\":[{\"service_id\":1,\"instance\":1,\"rev\":1,\"state\":\"running\",$field}]}")
	check_has "state with ${field:0:40}: 4010 naming the field" "$out" "close 4010 state.${bad#*|}"
done
# The hooks a container ran (docs/hooks.md), each field checked.
H='"type":"post_start","name":"x","ok":true,"exit_code":0,"output":"hi","at":1'
for bad in '"hooks":{}|containers[0].hooks: expected an array of at most 16 hook runs' \
    "\"hooks\":[$(printf '{%s},' $(seq 17 | sed "s/.*/$H/") | sed 's/,$//')]|containers[0].hooks: expected an array of at most 16" \
    '"hooks":[7]|containers[0].hooks[0]: expected an object' \
    '"hooks":[{"type":"pre_build","name":"x","ok":true,"at":1}]|containers[0].hooks[0].type: expected "pre_start", "post_start" or "pre_stop"' \
    '"hooks":[{"type":"pre_stop","name":7,"ok":true,"at":1}]|containers[0].hooks[0].name: expected a string of at most 256 bytes' \
    '"hooks":[{"type":"pre_stop","name":"x","ok":1,"at":1}]|containers[0].hooks[0].ok: expected a boolean' \
    '"hooks":[{"type":"pre_stop","name":"x","ok":true,"exit_code":"0","at":1}]|containers[0].hooks[0].exit_code: expected an integer or null' \
    '"hooks":[{"type":"pre_stop","name":"x","ok":true,"output":[],"at":1}]|containers[0].hooks[0].output: expected a string of at most 2048 bytes' \
    '"hooks":[{"type":"pre_stop","name":"x","ok":true}]|containers[0].hooks[0].at: expected an integer (epoch ms)'; do
	field=${bad%%|*}
	out=$(probe "$N1" node-1 "Berth-Node-Token: $NT1" 3 --send \
	    "{\"type\":\"state\",\"containers\":[{\"service_id\":1,\"instance\":1,\"rev\":1,\"state\":\"running\",$field}]}")
	check_has "state with ${field:0:48}: 4010 naming the field" "$out" "close 4010 state.${bad#*|}"
done
out=$(probe "$N1" node-1 "Berth-Node-Token: $NT1" 3 --send \
    '{"type":"state","containers":[{"service_id":1,"instance":1,"rev":1,"state":"starting","health":"unhealthy","health_error":"status 500","health_restarts":2,"hooks":[{'"$H"'}]}]}')
check "a state with a well-formed health and hooks is taken (no close 4010)" test "${out/close 4010/}" = "$out"
# 110 labels, 3191 bytes: over the 3072 the master reads, under lws's limit.
L=$(seq -f 'k%g=vvvvvvvvvvvvvvvvvvvvvvvv' 110 | paste -sd,)
out=$("$PROBE" --port "$AGENT_PORT" -H "Berth-Protocol: 1" -H "Berth-Node-Id: $N1" \
    -H "Berth-Node-Name: node-1" -H "Berth-Node-Labels: $L" \
    -H "Berth-Node-Token: $NT1")
check_has "a labels header too long to read is refused: 4000" "$out" "close 4000"

# Duplicate connection: the newest wins.
probe "$N1" node-1 "Berth-Node-Token: $NT1" 8 >"$TMP/first" &
p1=$!
wait_for 5 node_is node-1 online
out=$(probe "$N1" node-1 "Berth-Node-Token: $NT1" 1)
wait $p1
check_has "duplicate connection: the older gets 4007" "$(cat "$TMP/first")" "close 4007"
check_has "duplicate connection: the newer is welcomed" "$out" '"type":"welcome"'

# Liveness: a peer that stops answering pings goes offline.
probe "$N1" node-1 "Berth-Node-Token: $NT1" 12 >"$TMP/silent" &
p1=$!
wait_for 5 node_is node-1 online
# $p1 is the subshell running probe(); stop wsprobe itself.
kill -STOP $(pgrep -P $p1) $p1
t0=$(date +%s%N)
wait_for 10 node_is node-1 offline
ms=$((($(date +%s%N) - t0) / 1000000))
echo "# silent peer marked offline after $ms ms (offline_after 3 s, heartbeat 1 s)"
check "a silent peer is offline within offline_after + one heartbeat" test "$ms" -le 4500
kill -9 $(pgrep -P $p1) $p1 2>/dev/null
wait $p1 2>/dev/null
api GET "/v1/grids/default/events?type=node.offline"
check_has "the offline event says why" "$(jq -r '.[-1].message' <<<"$BODY")" "ping timeout"

# Closing a socket is seen at once.
probe "$N1" node-1 "Berth-Node-Token: $NT1" 1 >/dev/null
wait_for 3 api_jq /v1/nodes/default/node-1 '.status == "offline" and .connected == false' -e
check_eq "a closed socket marks the node offline" "$?" 0

# Token reset and node removal close the live session.
probe "$N1" node-1 "Berth-Node-Token: $NT1" 8 >"$TMP/reset" &
p1=$!
wait_for 5 node_is node-1 online
api POST /v1/nodes/default/node-1/token
wait $p1
check_has "token reset closes the session: 4008" "$(cat "$TMP/reset")" "close 4008"
out=$(probe "$N1" node-1 "Berth-Node-Token: $NT1")
check_has "the reset token is refused" "$out" "close 4002"
out=$(probe "$N1" node-1 "Berth-Grid-Token: $GT" 1)
NT2=$(sed -n 's/^frame //p' <<<"$out" | head -1 | jq -r .node_token)
check "rejoin with the grid token mints a new node token" test "$NT2" != "$NT1" -a ${#NT2} -eq 64
probe "$N1" node-1 "Berth-Node-Token: $NT2" 8 >"$TMP/removed" &
p1=$!
wait_for 5 node_is node-1 online
api DELETE "/v1/nodes/default/node-1?force=1"
wait $p1
check_has "removing the node closes the session: 4006" "$(cat "$TMP/removed")" "close 4006"

# Grid token rotation: the old token admits no new node.
api POST /v1/grids/default/token
out=$(probe "$N2" node-2 "Berth-Grid-Token: $GT")
check_has "the rotated-away grid token is refused" "$out" "close 4001"

# Rate limiting last: it blocks this address for a minute.
for i in $(seq 25); do
	probe "$N2" node-2 "Berth-Grid-Token: 0000" 1 >"$TMP/rl"
done
check_has "repeated failures from one address: 4009" "$(cat "$TMP/rl")" "close 4009"
for t in "$GT" "$NT1" "$NT2"; do
	if grep -qF "$t" "$D/master.log"; then
		notok "a token appears in the master's log"
		grep -F "$t" "$D/master.log" | sed "s/$t/<token>/g; s/^/# /" | head -3
	else
		ok "token absent from the master's log"
	fi
done
master_stop
