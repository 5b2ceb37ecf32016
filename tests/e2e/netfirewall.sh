#!/usr/bin/env bash
# netfirewall.sh - the grid network on nodes where Docker manages iptables
# (Docker's default; docs/network.md "Firewall"): two Docker Engines, each
# in a network namespace of its own and started WITH iptables (a dockerd in
# a namespace programs only that namespace's tables: FORWARD policy DROP,
# DOCKER-USER, DOCKER-ISOLATION, its masquerade rules), on a test underlay
# switch; two real agents with BERTH_NETWORK=on; a server on n1 and a client
# on n2. Shown: the client reaches the server at its grid address over TCP
# (Docker's FORWARD chain would drop it without berth's DOCKER-USER rules),
# the client being a daemon service placed on n2 the moment n2 joins, before
# the grid network is in place there (the agent holds its creation until it
# is: docs/network.md); the server sees the client container's own address
# as the source (no masquerade inside the grid); the client still reaches an
# address outside the grid's prefix (the switch's 192.168.250.9, which has
# no route back into the grid), seen there as n2's underlay address
# (masquerade to the outside); a job on n2 reaches the server by its name,
# from its own grid address; the rules are in place, once; and the host's
# own iptables rules are unchanged after the test.
# test-lane: side
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/docker-up.sh" >/dev/null || { notok "docker is up"; exit 1; }
"$ROOT/scripts/test-image.sh" >/dev/null || { notok "build the local test image"; exit 1; }
command -v iptables-save >/dev/null || { notok "iptables is installed (scripts/deps.sh)"; exit 1; }
# The host's rules, less counters and what other tests' containers and
# Docker networks on the host's engine add and remove meanwhile.
host_rules() {
	iptables-save | grep -v '^#' | sed 's/ \[[0-9]*:[0-9]*\]$//' |
	    grep -vE 'br-[0-9a-f]{12}|/32|--to-destination'
}
RULES_BEFORE=$(host_rules)
GRID_BEFORE=$(grid_host_state)

# A CGI that answers the peer's address, for busybox httpd.
peer_cgi='#!/bin/sh
echo Content-Type: text/plain
echo
echo "$REMOTE_ADDR"'

# Two engines with Docker's iptables on, on one underlay switch; the
# master listens on n1's host-side address (n2 gets a route to it).
underlay_up || { notok "the underlay switch"; exit 1; }
ENGINE_IPTABLES=1 engine_up n1 || { notok "Docker Engine n1 (iptables on) in its own namespace"; exit 1; }
NS1=$NETNS SOCK1=$ENGINE_SOCK MIP=$NETNS_HOST_IP
ENGINE_IPTABLES=1 engine_up n2 || { notok "Docker Engine n2 (iptables on) in its own namespace"; exit 1; }
NS2=$NETNS SOCK2=$ENGINE_SOCK
underlay_join "$NS1" 1 && underlay_join "$NS2" 2 "$MIP" "$NETNS_HOST_IP" ||
    { notok "the underlay links"; exit 1; }
check "Docker manages iptables in n1's namespace (DOCKER-USER, FORWARD policy DROP)" \
    sh -c "ip netns exec $NS1 iptables -S FORWARD | grep -qx -- '-P FORWARD DROP' &&
	ip netns exec $NS1 iptables -S DOCKER-USER"
# The outside world: an address on the switch with no route into the grid,
# and a web server there that answers its peer's address.
mkdir -p "$TMP/out/cgi-bin" && printf '%s\n' "$peer_cgi" >"$TMP/out/cgi-bin/peer" &&
    chmod +x "$TMP/out/cgi-bin/peer" &&
    ip -n "$UNDERLAY_NS" addr add 192.168.250.9/24 dev br0 &&
    { ip netns exec "$UNDERLAY_NS" busybox httpd -f -p 192.168.250.9:8081 -h "$TMP/out" & } ||
    { notok "a web server outside the grid"; exit 1; }
at_exit "kill $!"

AP=$(free_port)
AGENT_PORT_FIXED=$AP master_start "$TMP/data" --agent-listen "$MIP:$AP" \
    --insecure-plain || exit 1
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":3,"instance_settle_s":1}}'
start() { # N NS SOCK
	agent_start_netns "$2" "n$1" "node=n$1" BERTH_URL="ws://$MIP:$AP" \
	    BERTH_INSECURE_PLAIN=1 BERTH_NETWORK=on DOCKER_HOST="unix://$3" \
	    BERTH_PEER_ADDRESS="192.168.250.$1" BERTH_NETWORK_RECHECK_S=1
}
start 1 "$NS1" "$SOCK1"
check "n1 online with its underlay address" wait_for 40 \
    api_jq /v1/nodes/default/n1 '.status == "online" and .peer_address != null' -e

cat >"$TMP/s.yml" <<'YML'
stack: e2e/fw
services:
  server:
    image: berth-test/busybox:latest
    command: sh -c 'mkdir -p /www/cgi-bin && printf "#!/bin/sh\necho Content-Type:text/plain\necho\necho \$$REMOTE_ADDR\n" > /www/cgi-bin/peer && chmod +x /www/cgi-bin/peer && exec httpd -f -p 8080 -h /www'
    affinity: ["label==node=n1"]
    stop_grace_period: 1s
  client:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    deploy:
      strategy: daemon
    stop_grace_period: 1s
YML
"$BIN/berth" stack install "$TMP/s.yml" >/dev/null
check_eq "install the client/server stack" "$?" 0
start 2 "$NS2" "$SOCK2"
check "two nodes online with their underlay addresses" wait_for 40 \
    api_jq /v1/grids/default/nodes \
    '[.[] | select(.status == "online" and .peer_address != null)] | length == 2' -e
S1=$(api_jq /v1/nodes/default/n1 -r .subnet); S2=$(api_jq /v1/nodes/default/n2 -r .subnet)
running() { docker -H "unix://$1" ps -q --filter "label=berth.service=$2"; }
gridip() { docker -H "unix://$1" inspect "$2" -f '{{with index .NetworkSettings.Networks "berth-default"}}{{.IPAddress}}{{end}}'; }
check "the server runs on n1" wait_for 40 sh -c "[ -n \"\$(docker -H unix://$SOCK1 ps -q --filter label=berth.service=server)\" ]"
check "the client (a daemon) runs on n2, placed as n2 joined" wait_for 40 sh -c "[ -n \"\$(docker -H unix://$SOCK2 ps -q --filter label=berth.service=client)\" ]"
SRV=$(running "$SOCK1" server); CLI=$(running "$SOCK2" client)
SIP=$(gridip "$SOCK1" "$SRV"); CIP=$(gridip "$SOCK2" "$CLI")
check_has "the server has an address of n1's subnet" "$SIP" "${S1%.0/24}."
check_has "the client has an address of n2's subnet" "$CIP" "${S2%.0/24}."

# GET /cgi-bin/peer over a plain TCP connection (busybox nc) from the
# client: the last line of the answer is the address the far end saw.
peer_of() { # HOST PORT
	docker -H "unix://$SOCK2" exec "$CLI" sh -c \
	    "printf 'GET /cgi-bin/peer HTTP/1.0\r\n\r\n' | nc -w 3 $1 $2" 2>/dev/null |
	    tail -1 | tr -d '\r' | sed 's/^\[::ffff:\(.*\)\]$/\1/' # IPv4-mapped
}
saw() { [ "$(peer_of "$1" "$2")" = "$3" ]; }
# wait_for counts tries, and a try here may take nc's 3 s: a deadline.
until_s() { local end=$((SECONDS + $1)); shift
	until "$@"; do [ "$SECONDS" -lt "$end" ] || return 1; sleep 0.5; done; }
check "the client on n2 reaches the server on n1 over TCP at its grid address" \
    until_s 30 sh -c "docker -H unix://$SOCK2 exec $CLI sh -c \"printf 'GET /cgi-bin/peer HTTP/1.0\r\n\r\n' | nc -w 3 $SIP 8080\" | grep -q ."
check_eq "... and the server sees the client's own container address" \
    "$(peer_of "$SIP" 8080)" "$CIP"
until_s 20 saw 192.168.250.9 8081 192.168.250.2
check_eq "the client reaches an address outside the grid, seen there as n2's underlay address" \
    "$(peer_of 192.168.250.9 8081)" 192.168.250.2

# A job joins the grid network as a service's container does: on n2, it
# reaches the server by its name, and the server sees the job's own grid
# address (of n2's subnet).
"$BIN/berth" job run --name reach --affinity node==n2 --timeout 60s --wait \
    berth-test/busybox:latest sh -c \
    'printf "GET /cgi-bin/peer HTTP/1.0\r\n\r\n" | nc -w 3 server.fw 8080' \
    >"$TMP/job.out" 2>&1
check_eq "a job on n2 reaches the server by its name (server.fw)" "$?" 0
check_has "... from its own address on n2's subnet" \
    "$("$BIN/berth" job logs reach 2>&1 | tail -1 | tr -d '\r')" "${S2%.0/24}."

# The rules, once each, in n2's namespace.
check_eq "DOCKER-USER accepts the grid's traffic into and out of n2's bridge (2 rules)" \
    "$(ip netns exec "$NS2" iptables -S DOCKER-USER | grep -c 'comment "berth:')" 2
check_eq "nat POSTROUTING: grid-internal RETURN, then MASQUERADE (2 rules)" \
    "$(ip netns exec "$NS2" iptables -t nat -S POSTROUTING | grep 'comment "berth:' | awk '{print $NF}' | tr '\n' ' ')" \
    "RETURN MASQUERADE "
check_eq "the Docker network's own masquerade is off" \
    "$(docker -H "unix://$SOCK2" network inspect berth-default -f '{{index .Options "com.docker.network.bridge.enable_ip_masquerade"}}')" false

"$BIN/berth" stack rm --force fw >/dev/null
agent_stop n1; agent_stop n2
check_eq "the host's iptables rules are unchanged" "$(host_rules)" "$RULES_BEFORE"
check_eq "the host has no route, link or Docker network of the grid network" \
    "$(grid_host_state)" "$GRID_BEFORE"
master_stop TERM
