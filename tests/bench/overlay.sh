#!/usr/bin/env bash
# tests/bench/overlay.sh - the grid network's throughput (docs/network.md):
# two Docker Engines, each started here in a network namespace of its own
# and joined by veth pairs to a bridge in a third (the underlay "switch"),
# as tests/e2e/overlay.sh does; a master and two real agents with
# BERTH_NETWORK=on; a stack with a server container on n1 and a client
# container on n2. Then one plain TCP stream of OVERLAY_BYTES (default
# 512 MiB) at a time, with the same tool (tests/bench/tcpstream.c: 128 KiB
# writes, so the tool is not the limit; busybox nc copies 1 KiB at a time):
#
#   overlay_tcp_mbps   client container -> server container's grid address
#                      (bridge -> VXLAN -> underlay -> VXLAN -> bridge)
#   underlay_tcp_mbps  n2's namespace -> n1's namespace at their underlay
#                      addresses (the veths and the switch alone)
#   overlay_tcp_ratio  the first over the second (target >= 0.8)
#
# Like for like: both ends of both paths are the same binary started from
# the host with nsenter --net, into the containers' own network namespaces
# (/proc/PID/ns/net of the container's process) for the overlay and into
# the node namespaces for the underlay; only the network path differs.
# Each figure is the slower of the two ends' views (the receiver: first
# byte to EOF; the sender: connect to the receiver's close), best of 3,
# the two paths taking turns. A "#" line says what else ran.
set -u
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/docker-up.sh" >&2 || exit 1
"$ROOT/scripts/test-image.sh" >&2 || exit 1
BYTES=${OVERLAY_BYTES:-536870912}
TS=$ROOT/$BUILD/bench/tcpstream
[ -x "$TS" ] || { echo "overlay bench: no $TS (make all)" >&2; exit 1; }
BEFORE=$(grid_host_state)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

D=$TMP/data
netns_up ctl || { echo "overlay bench: no namespace for the master" >&2; exit 1; }
MIP=$NETNS_HOST_IP
AP=$(free_port)
AGENT_PORT_FIXED=$AP master_start "$D" --agent-listen "$MIP:$AP" \
    --insecure-plain >/dev/null || exit 1
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":3,"instance_settle_s":1}}'
underlay_up || { echo "overlay bench: no underlay switch" >&2; exit 1; }
for i in 1 2; do
	engine_up "n$i" || { echo "overlay bench: no engine n$i" >&2; exit 1; }
	eval "NS$i=$NETNS SOCK$i=$ENGINE_SOCK"
	underlay_join "$NETNS" "$i" "$MIP" "$NETNS_HOST_IP" ||
	    { echo "overlay bench: no underlay link for n$i" >&2; exit 1; }
	agent_start_netns "$NETNS" "n$i" "node=n$i" BERTH_URL="ws://$MIP:$AP" \
	    BERTH_INSECURE_PLAIN=1 BERTH_NETWORK=on \
	    DOCKER_HOST="unix://$ENGINE_SOCK" BERTH_PEER_ADDRESS="192.168.250.$i"
done
wait_for 60 api_jq /v1/grids/default/nodes \
    '[.[] | select(.status == "online" and .peer_address != null)] | length == 2' -e ||
    { echo "overlay bench: the agents did not join" >&2; exit 1; }

cat >"$TMP/s.yml" <<'YML'
stack: bench/ovl
services:
  server:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    affinity: ["label==node=n1"]
    stop_grace_period: 1s
  client:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    affinity: ["label==node=n2"]
    stop_grace_period: 1s
YML
"$BIN/berth" stack install "$TMP/s.yml" >&2 || exit 1
running() { docker -H "unix://$1" ps -q --filter "label=berth.service=$2"; }
wait_for 60 sh -c "[ -n \"\$(docker -H unix://$SOCK1 ps -q --filter label=berth.service=server)\" ] &&
    [ -n \"\$(docker -H unix://$SOCK2 ps -q --filter label=berth.service=client)\" ]" ||
    { echo "overlay bench: the containers did not start" >&2; exit 1; }
SRV=$(running "$SOCK1" server)
CLI=$(running "$SOCK2" client)
SIP=$(docker -H "unix://$SOCK1" inspect "$SRV" -f '{{(index .NetworkSettings.Networks "berth-default").IPAddress}}')
[ -n "$SIP" ] || { echo "overlay bench: the server is not on the grid network" >&2; exit 1; }
SNET=/proc/$(docker -H "unix://$SOCK1" inspect "$SRV" -f '{{.State.Pid}}')/ns/net
CNET=/proc/$(docker -H "unix://$SOCK2" inspect "$CLI" -f '{{.State.Pid}}')/ns/net
VX=$(printf 'bvx%06x' "$(api_jq /v1/networks/default/grid .vni)")
echo "overlay bench: server $SIP; MTU underlay $(ip -n "$NS1" -j link show "bt$$u1" | jq '.[0].mtu'), VXLAN $(ip -n "$NS1" -j link show "$VX" | jq '.[0].mtu'), container $(nsenter --net="$CNET" ip -j link show eth0 | jq '.[0].mtu')" >&2
# stream RECV_NET SEND_NET ADDR: one stream; prints the slower end's Mbps.
PORT=5001
stream() {
	local r s
	PORT=$((PORT + 1))
	: >"$TMP/rerr"
	nsenter --net="$1" timeout 300 "$TS" recv "$PORT" >"$TMP/r" \
	    2>"$TMP/rerr" &
	local rp=$!
	wait_for 10 grep -q listening "$TMP/rerr" || { kill "$rp"; return 1; }
	s=$(nsenter --net="$2" timeout 300 "$TS" send "$3" "$PORT" "$BYTES") ||
	    { kill "$rp"; return 1; }
	wait "$rp" || return 1
	r=$(cat "$TMP/r")
	[ "${r%% *}" = "$BYTES" ] ||
	    { echo "overlay bench: received ${r%% *} of $BYTES bytes" >&2; return 1; }
	echo "overlay bench: $3: receiver ${r##* } Mbps, sender ${s##* } Mbps" >&2
	awk -v a="${r##* }" -v b="${s##* }" 'BEGIN { print (a < b ? a : b) }'
}
best() { sort -n | tail -1; }
# The route to n1's subnet comes with n2's agent's network frame: wait
# until a small stream gets through (each try bounded).
probe() {
	nsenter --net="$SNET" timeout 5 "$TS" recv 5000 >/dev/null 2>&1 &
	local rp=$! rc
	sleep 0.3
	timeout 5 nsenter --net="$CNET" "$TS" send "$SIP" 5000 65536 \
	    >/dev/null 2>&1
	rc=$?
	kill "$rp" 2>/dev/null
	wait "$rp" 2>/dev/null
	return $rc
}
t0=$SECONDS
until probe; do
	[ $((SECONDS - t0)) -lt 60 ] ||
	    { echo "overlay bench: the client does not reach the server" >&2; exit 1; }
	sleep 1
done
: >"$TMP/ov"; : >"$TMP/un"
for run in 1 2 3; do
	stream "$SNET" "$CNET" "$SIP" >>"$TMP/ov" || exit 1
	stream "/var/run/netns/$NS1" "/var/run/netns/$NS2" 192.168.250.1 \
	    >>"$TMP/un" || exit 1
done
OV=$(best <"$TMP/ov")
UN=$(best <"$TMP/un")
echo "overlay_tcp_mbps $OV Mbps"
echo "underlay_tcp_mbps $UN Mbps"
awk -v o="$OV" -v u="$UN" 'BEGIN { printf "overlay_tcp_ratio %.2f ratio\n", o / u }'
echo "# overlay: $(nproc) cpus, load average (1 5 15 min) $LOAD0 before, $(cut -d' ' -f1-3 /proc/loadavg) after; busiest processes now: $(top -b -n 1 -o %CPU -w 200 | awk 'NR > 7 && NR <= 10 { printf "%s%s %s%%", (NR > 8 ? ", " : ""), $12, $9 }')"

"$BIN/berth" stack rm --force ovl >/dev/null 2>&1
agent_stop n1
agent_stop n2
master_stop
for ns in "$NS1" "$NS2"; do
	engine_down "$TMP/engine-${ns##*-}"
done
eval "${CLEANUPS#;}" 2>/dev/null
CLEANUPS=""
[ "$(grid_host_state)" = "$BEFORE" ] ||
    echo "overlay bench: the host's grid state changed: $(grid_host_state)" >&2
