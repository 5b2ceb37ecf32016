#!/usr/bin/env bash
# network.sh - the grid network across three really separate nodes
# (docs/network.md): three Docker Engines, each started by the test in a
# network namespace of its own (own data root and socket), joined by veth
# pairs to a bridge in a fourth namespace (the "underlay" switch); three
# agents, each inside its engine's namespace with BERTH_NETWORK=on. Shown:
# every node gets its own subnet, a Docker network on it and VXLAN routes
# to the others' subnets; a client container on one node reaches a server
# container on another over TCP at its grid address; a node's removal
# removes its route on the other nodes; an agent restart keeps the node's
# subnet and the running server's address; nothing outside the test's
# namespaces gets a route, link or Docker network of the grid network.
# Names (docs/dns.md): the client reaches the server by "server",
# "server.net", the full and the Kontena name, its instance name, its link
# alias and the stack's exposed name; a name outside the grid goes to the
# node's own resolver (a stand-in in n1's namespace); when the server moves
# to n3 its name follows (how soon is printed, not asserted: a figure for
# the benchmarks, and 2 s was missed by 5 ms under a full make test).
# test-lane: side
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/test-image.sh" >/dev/null || { notok "build the local test image"; exit 1; }
BEFORE=$(grid_host_state)

D=$TMP/data
# The master listens on the first namespace's host-side address.
netns_up ctl || { notok "a namespace for the master's address"; exit 1; }
MIP=$NETNS_HOST_IP
AP=$(free_port)
AGENT_PORT_FIXED=$AP master_start "$D" --agent-listen "$MIP:$AP" \
    --insecure-plain || exit 1
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":3,"instance_settle_s":1}}'

# The underlay switch: a bridge in a namespace of its own.
underlay_up || { notok "the underlay switch"; exit 1; }
for i in 1 2 3; do
	engine_up "n$i" || { notok "Docker Engine n$i in its own namespace"; exit 1; }
	eval "NS$i=$NETNS SOCK$i=$ENGINE_SOCK"
	underlay_join "$NETNS" "$i" "$MIP" "$NETNS_HOST_IP" ||
	    { notok "underlay link of n$i"; exit 1; }
done
ok "three Docker Engines in their own namespaces on one underlay switch"
# The nodes' own resolver: a stand-in on n1's underlay address that
# answers every name with 192.0.2.7 (never contacted: only looked up).
nsenter --net="/var/run/netns/$NS1" python3 "$ROOT/tests/peers/dns_upstream.py" \
    192.168.250.1 53 192.0.2.7 >"$TMP/upstream.log" 2>&1 &
at_exit "kill $!"
echo "nameserver 192.168.250.1" >"$TMP/resolv.conf"

start() { # N: the agent of node nN, inside its engine's namespace
	local ns sock
	eval "ns=\$NS$1 sock=\$SOCK$1"
	agent_start_netns "$ns" "n$1" "node=n$1" BERTH_URL="ws://$MIP:$AP" \
	    BERTH_INSECURE_PLAIN=1 BERTH_NETWORK=on DOCKER_HOST="unix://$sock" \
	    BERTH_PEER_ADDRESS="192.168.250.$1" BERTH_LOG_LEVEL=debug \
	    BERTH_RESOLV_CONF="$TMP/resolv.conf"
}
start 1; start 2; start 3
check "three nodes online with their underlay addresses" wait_for 40 \
    api_jq /v1/grids/default/nodes \
    '[.[] | select(.status == "online" and .peer_address != null)] | length == 3' -e
subnet() { api_jq "/v1/nodes/default/$1" -r .subnet; }
S1=$(subnet n1); S2=$(subnet n2); S3=$(subnet n3)
VX=$(printf 'bvx%06x' "$(api_jq /v1/networks/default/grid .vni)")
routes() { ip -n "$1" -4 route show dev "$VX" 2>/dev/null | awk '{print $1}' | sort | tr '\n' ' '; }
want() { printf '%s\n' "$@" | sort | tr '\n' ' '; }
routes_are() { [ "$(routes "$1")" = "$(want "${@:2}")" ]; } # NS SUBNET...
check "n1 routes the other two subnets over VXLAN" wait_for 20 \
    routes_are "$NS1" "$S2" "$S3"
check "n3 routes the other two subnets over VXLAN" wait_for 20 \
    routes_are "$NS3" "$S1" "$S2"
check_eq "n2's Docker network is on its subnet" \
    "$(docker -H "unix://$SOCK2" network inspect berth-default -f '{{(index .IPAM.Config 0).Subnet}}')" "$S2"
check_eq "the VXLAN MTU is the underlay's less 50" \
    "$(ip -n "$NS2" -j link show "$VX" | jq '.[0].mtu')" 1450

stackfile() { # NODE: the server's node
	cat <<YML
stack: e2e/net
expose: server
services:
  server:
    image: berth-test/busybox:latest
    command: sh -c 'hostname > /www/id; exec httpd -f -p 8080 -h /www'
    affinity: ["label==node=$1"]
    stop_grace_period: 1s
  client:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    affinity: ["label==node=n2"]
    links: ["server:backend"]
    stop_grace_period: 1s
YML
}
stackfile n1 >"$TMP/s.yml"
"$BIN/berth" stack install "$TMP/s.yml" >/dev/null
check_eq "install the client/server stack" "$?" 0
running() { docker -H "unix://$1" ps -q --filter "label=berth.service=$2"; }
check "the server runs on n1" wait_for 40 sh -c "[ -n \"\$(docker -H unix://$SOCK1 ps -q --filter label=berth.service=server)\" ]"
check "the client runs on n2" wait_for 40 sh -c "[ -n \"\$(docker -H unix://$SOCK2 ps -q --filter label=berth.service=client)\" ]"
SRV=$(running "$SOCK1" server); CLI=$(running "$SOCK2" client)
SIP=$(docker -H "unix://$SOCK1" inspect "$SRV" -f '{{(index .NetworkSettings.Networks "berth-default").IPAddress}}')
check_has "the server has an address of n1's subnet" "$SIP" "${S1%.0/24}."
# An HTTP request over a plain TCP connection (busybox nc), the last line
# of the answer: the server's hostname.
fetch() {
	docker -H "unix://$SOCK2" exec "$CLI" sh -c \
	    "printf 'GET /id HTTP/1.0\r\n\r\n' | nc -w 3 $SIP 8080" 2>/dev/null |
	    tail -1
}
HN=$(docker -H "unix://$SOCK1" inspect "$SRV" -f '{{.Config.Hostname}}')
reached() { [ "$(fetch)" = "$HN" ]; }
check "the client on n2 reaches the server on n1 over TCP" wait_for 20 reached
check_eq "... and gets the server's own answer" "$(fetch)" "$HN"

# By name, through the node's DNS server on the gateway (docs/dns.md).
fetch_name() { # NAME: the server's answer, over TCP to NAME
	docker -H "unix://$SOCK2" exec "$CLI" sh -c \
	    "printf 'GET /id HTTP/1.0\r\n\r\n' | nc -w 3 $1 8080" 2>/dev/null |
	    tail -1
}
by_name() { [ "$(fetch_name "$1")" = "$HN" ]; }
check "the client reaches the server by 'server'" wait_for 20 by_name server
for n in server.net server.net.default.berth.local \
    server.net.default.kontena.local server-1.net.default.berth.local \
    backend net.default.berth.local; do
	check_eq "... and by '$n'" "$(fetch_name "$n")" "$HN"
done
resolve() { # NAME: the addresses the client's resolver gives, sorted
	docker -H "unix://$SOCK2" exec "$CLI" busybox nslookup "$1" 2>/dev/null |
	    awk '/^Name:/ {n = 1} n && /^Address/ {print $NF}' | sort | tr '\n' ' '
}
check_eq "an unknown name of the grid: no address" "$(resolve nope.net.default.berth.local)" ""
check_eq "a name outside the grid: the node's own resolver answers" \
    "$(resolve outside.example)" "192.0.2.7 "
check_has "... which was asked" "$(cat "$TMP/upstream.log")" "query outside.example"

# An agent restart keeps the node's subnet and the server's address.
agent_stop n1
start 1
check "n1 back online" wait_for 30 api_jq /v1/nodes/default/n1 '.status == "online"' -e
check_eq "n1 keeps its subnet" "$(subnet n1)" "$S1"
check_eq "the server keeps its container and address" \
    "$(running "$SOCK1" server) $(docker -H "unix://$SOCK1" inspect "$SRV" -f '{{(index .NetworkSettings.Networks "berth-default").IPAddress}}')" \
    "$SRV $SIP"
check_eq "the client still reaches it" "$(fetch)" "$HN"
# The name comes back with n1's first state report (until then the
# server is unknown, and no name points to it).
check "... by name too" wait_for 20 by_name server

# The server moves to n3: its name follows. Measured from the moment the
# API shows the new instance running to the client's resolver giving its
# address, sampled every 100 ms.
stackfile n3 >"$TMP/s3.yml"
"$BIN/berth" stack upgrade net "$TMP/s3.yml" --yes >/dev/null
check_eq "upgrade: the server goes to n3" "$?" 0
on_n3() {
	api_jq /v1/services/default/net/server/containers \
	    'any(.[]; .node == "n3" and .state == "running")' -e
}
check "the server runs on n3" wait_for 60 on_n3
T0=$(date +%s%N)
SRV3=$(running "$SOCK3" server)
SIP3=$(docker -H "unix://$SOCK3" inspect "$SRV3" -f '{{(index .NetworkSettings.Networks "berth-default").IPAddress}}')
check_has "it has an address of n3's subnet" "$SIP3" "${S3%.0/24}."
follows=-1
for i in $(seq 200); do
	case " $(resolve server)" in *" $SIP3 "*) follows=$((($(date +%s%N) - T0) / 1000000)); break ;; esac
	sleep 0.1
done
echo "# the name followed the move $follows ms after the API showed the new instance running"
check "the name 'server' follows it to n3's address" test "$follows" -ge 0
only_new() { [ "$(resolve server)" = "$SIP3 " ]; }
check "... and only it once the old instance is gone" wait_for 20 only_new
HN3=$(docker -H "unix://$SOCK3" inspect "$SRV3" -f '{{.Config.Hostname}}')
check_eq "the client reaches the moved server by name" "$(fetch_name server.net)" "$HN3"

# A node's removal removes its routes everywhere.
agent_stop n3
check "n3 offline" wait_for 20 api_jq /v1/nodes/default/n3 '.connected == false' -e
api DELETE "/v1/nodes/default/n3?force=1"
check_eq "n3 removed" "$STATUS" 204
wait_for 15 routes_are "$NS1" "$S2"
check_eq "n1 no longer routes n3's subnet" "$(routes "$NS1")" "$(want "$S2")"
wait_for 15 routes_are "$NS2" "$S1"
check_eq "n2 no longer routes n3's subnet" "$(routes "$NS2")" "$(want "$S1")"
check_eq "n2 keeps no forwarding entry for n3" \
    "$(bridge -n "$NS2" fdb show dev "$VX" | grep -c "192.168.250.3")" 0

"$BIN/berth" stack rm --force net >/dev/null
check_eq "the host has no route, link or Docker network of the grid network" \
    "$(grid_host_state)" "$BEFORE"
master_stop TERM
