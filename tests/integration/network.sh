#!/usr/bin/env bash
# network.sh - the grid network's addresses on the master (docs/network.md),
# with real agents whose data plane is off and whose Docker Engine is
# absent (so no Docker is needed): every node takes its own /24 of the
# grid's 10.81.0.0/16 at its first join and keeps it across an agent
# restart and a master restart; node show and network ls|show (and their
# --json) show subnets, underlay addresses and peers; the agents get the
# peer list pushed ("network" frames) and a node's removal leaves it;
# its subnet is free for a later node, and no subnet is held twice; bad
# network settings are refused naming the field, nothing stored.
. "$(dirname "$0")/../lib.sh"

B=$BIN/berth
master_start "$TMP/data" || exit 1
nodocker=unix://$TMP/no-docker.sock
start() { # NAME N: an agent with underlay address 10.200.0.N
	agent_start "$1" "" BERTH_PEER_ADDRESS="10.200.0.$2" \
	    DOCKER_HOST="$nodocker" BERTH_LOG_LEVEL=debug BERTH_NETWORK=off
}
start a1 1; start a2 2; start a3 3
check "three nodes online" wait_for 20 api_jq /v1/grids/default/nodes \
    '[.[] | select(.status == "online" and .peer_address != null)] | length == 3' -e
subnet() { api_jq "/v1/nodes/default/$1" -r .subnet; }
S1=$(subnet a1); S2=$(subnet a2); S3=$(subnet a3)
check_eq "each node has its own /24 of 10.81.0.0/16" \
    "$(printf '%s\n' "$S1" "$S2" "$S3" | sort)" \
    "$(printf '%s\n' 10.81.0.0/24 10.81.1.0/24 10.81.2.0/24)"
check_eq "node show --json: the underlay address" \
    "$(api_jq /v1/nodes/default/a2 -r .peer_address)" 10.200.0.2
check_eq "node show --json: the peers are the other nodes" \
    "$($B node show a1 --json | jq -c '[.peers[] | [.name, .address, .subnet]] | sort')" \
    "$(jq -cn --arg s2 "$S2" --arg s3 "$S3" '[["a2","10.200.0.2",$s2],["a3","10.200.0.3",$s3]]')"
OUT=$($B node show a1)
check_has "node show prints the subnet" "$OUT" "subnet:         $S1"
check_has "node show prints the peer address" "$OUT" "peer address:   10.200.0.1"
check_has "node show lists a peer" "$OUT" "a3    10.200.0.3  $S3"
OUT=$($B network ls)
check_has "network ls: the grid network" "$OUT" "grid  10.81.0.0/16  /24"
check_has "network ls: its domain" "$OUT" "default.berth.local"
check_eq "network ls --json: three nodes" \
    "$($B network ls --json | jq '.[0].nodes | length')" 3
check_has "network show: a node's subnet and address" "$($B network show grid)" \
    "a2    10.200.0.2  $S2"
$B network show nope >"$TMP/out" 2>&1
check_eq "network show of an unknown network fails" "$?" 1
check_has "... saying which" "$(cat "$TMP/out")" "no network nope"

# The agents have the peer list (their debug log shows each frame).
frames() { grep -c "network: frame of grid default: $2 node(s)" "$TMP/agents/$1.log"; }
got3() { [ "$(frames a1 3)" -ge 1 ] && [ "$(frames a3 3)" -ge 1 ]; }
check "agents get the peer list of three nodes" wait_for 10 got3

# An agent restart and a master restart keep every subnet.
agent_stop a2
start a2 2
check "a2 back online" wait_for 20 api_jq /v1/nodes/default/a2 '.status == "online"' -e
check_eq "an agent restart keeps the node's subnet" "$(subnet a2)" "$S2"
master_stop
API_PORT_FIXED=$API_PORT AGENT_PORT_FIXED=$AGENT_PORT master_start "$TMP/data" ||
    exit 1
check "the nodes come back to the new master" wait_for 30 api_jq \
    /v1/grids/default/nodes '[.[] | select(.status == "online")] | length == 3' -e
check_eq "a master restart keeps every subnet" \
    "$(subnet a1) $(subnet a2) $(subnet a3)" "$S1 $S2 $S3"

# A node's removal takes it out of every agent's peer list and frees its
# subnet, which the next new node takes; none is held twice.
agent_stop a3
check "a3 offline" wait_for 30 api_jq /v1/nodes/default/a3 '.connected == false' -e
FROM=$(agent_log_size a1)
api DELETE "/v1/nodes/default/a3?force=1"
check_eq "a3 removed" "$STATUS" 204
check "a1's peer list drops a3 within seconds" wait_for 10 sh -c \
    "tail -c +$((FROM + 1)) '$TMP/agents/a1.log' | grep -q 'network: frame of grid default: 2 node(s)'"
check_eq "network show lists two nodes" \
    "$($B network show grid --json | jq -c '[.nodes[].name] | sort')" '["a1","a2"]'
start a4 4
check "a4 online" wait_for 20 api_jq /v1/nodes/default/a4 '.subnet != null' -e
check_eq "the freed subnet goes to the new node" "$(subnet a4)" "$S3"
check_eq "no subnet is held twice" "$(sqlite3 "$TMP/data/berth.db" \
    'SELECT count(*) - count(DISTINCT subnet) FROM node_subnets')" 0

# Bad settings: refused naming the field; nothing changes.
api PATCH /v1/grids/default '{"settings":{"network_cidr":"8.8.0.0/16"}}'
check_eq "a public network_cidr: 422" "$STATUS" 422
check_has "... naming the field" "$BODY" "network_cidr"
check_has "... and why" "$BODY" "private range"
api PATCH /v1/grids/default '{"settings":{"network_cidr":"10.81.0.1/16"}}'
check_eq "host bits set: 422" "$STATUS" 422
api PATCH /v1/grids/default '{"settings":{"network_node_prefix":16}}'
check_eq "node subnets as big as the grid's: 422" "$STATUS" 422
check_has "... naming the field" "$BODY" "network_node_prefix"
check_eq "nothing stored" "$(api_jq /v1/grids/default -r \
    '.settings.network_cidr + " " + (.settings.network_node_prefix | tostring)')" \
    "10.81.0.0/16 24"
$B grid set default network_cidr=10.99.0.0/16 >/dev/null
check_eq "a new network_cidr is taken" \
    "$(api_jq /v1/grids/default -r .settings.network_cidr)" 10.99.0.0/16
check_eq "nodes keep their subnets after it" "$(subnet a1)" "$S1"
master_stop TERM
