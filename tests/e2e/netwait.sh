#!/usr/bin/env bash
# netwait.sh - a container that joins the grid network waits for it
# (docs/network.md, "Before the network is in place"): a real agent with
# BERTH_NETWORK=on and a real Docker Engine in a network namespace of its
# own, against tests/integration/fake_master.py, which lets the test choose
# the order of the frames (a real master sends the first network frame on
# its next tick, so a service placed on a node the moment it joins can
# reach the agent first; netfirewall.sh shows that on a real master).
# Shown: given a desired set before any network frame, the agent makes no
# container and reports the instance "pending", saying it waits for the
# grid network; once the frame comes, the container is made on the grid
# network with an address of the node's subnet. A node the master gave no
# subnet does not wait: its new container runs on Docker's default bridge.
# A job's attempt waits and then joins the network the same way.
# test-lane: side
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/docker-up.sh" >/dev/null || { notok "docker is up"; exit 1; }
"$ROOT/scripts/test-image.sh" >/dev/null || { notok "build the local test image"; exit 1; }
BEFORE=$(grid_host_state)
engine_up n1 || { notok "a Docker Engine in its own namespace"; exit 1; }
NS=$NETNS SOCK=$ENGINE_SOCK
dk() { docker -H "unix://$SOCK" "$@"; }

FP=$(free_port)
FM=$TMP/fake.log
echo '{}' >"$TMP/desired.json"
python3 "$ROOT/tests/integration/fake_master.py" --host "$NETNS_HOST_IP" \
    --port "$FP" --grid-token gt --desired "$TMP/desired.json" \
    --frame "$TMP/network.json" >"$FM" 2>&1 &
at_exit "kill $!"
check "the stand-in master listens" wait_for 20 grep -q LISTEN "$FM"
MASTER_DIR=$TMP/fm && mkdir -p "$MASTER_DIR" && echo gt >"$MASTER_DIR/grid-default.token"
agent_start_netns "$NS" n1 "" BERTH_URL="ws://$NETNS_HOST_IP:$FP" \
    BERTH_INSECURE_PLAIN=1 BERTH_NETWORK=on DOCKER_HOST="unix://$SOCK" \
    BERTH_NETWORK_RECHECK_S=1
check "the agent connects" wait_for 30 grep -q '^CONNECT ' "$FM"
NID=$(grep -m1 '^CONNECT ' "$FM" | cut -d' ' -f2- | jq -r .node_id)
check "... and says what it runs (node_info)" wait_for 20 grep -q '"type":"node_info"' "$FM"

# desired GEN SERVICE...: a set of one busybox instance of each service.
desired() {
	local gen=$1 id=0 svc cs=""
	shift
	for svc in "$@"; do
		id=$((id + 1))
		cs="$cs${cs:+,}{\"name\":\"nw.$svc-1.${NID:0:8}\",\"grid\":\"default\",\"stack\":\"nw\",\"service\":\"$svc\",\"service_id\":$id,\"instance\":1,\"rev\":1,\"image\":\"berth-test/busybox:latest\",\"command\":[\"sh\",\"-c\",\"trap 'exit 0' TERM; while true; do sleep 1; done\"],\"stop_grace_period\":1,\"settle_s\":1}"
	done
	printf '{"type":"desired","generation":%s,"containers":[%s],"jobs":[%s]}\n' \
	    "$gen" "$cs" "${JOBS:-}" >"$TMP/desired.tmp"
	mv "$TMP/desired.tmp" "$TMP/desired.json"
}
# network SUBNET: the grid's network frame, this node holding SUBNET
# ("null": none).
network() {
	printf '{"type":"network","name":"grid","grid":"default","cidr":"10.81.0.0/16","node_prefix":24,"vni":8454145,"domain":"default.berth.local","nodes":[{"node_id":"%s","name":"n1","address":null,"subnet":%s}]}\n' \
	    "$NID" "$1" >"$TMP/network.tmp"
	mv "$TMP/network.tmp" "$TMP/network.json"
}
# reported SERVICE_ID: the last state the agent reported of it, as JSON.
reported() {
	grep '^RX {"type":"state"' "$FM" | tail -1 | cut -c4- |
	    jq -c --argjson s "$1" '[.containers[] | select(.service_id == $s)][0]'
}
container() { dk ps -aq --filter "label=berth.service=$1"; }
netmode() { dk inspect "$(container "$1")" -f '{{.HostConfig.NetworkMode}} {{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}}{{end}}'; }

# ---- a desired set before the network frame ---------------------------------
# A service's instance and a job's attempt.
JOBS="{\"attempt\":17,\"job_id\":5,\"job\":\"probe\",\"index\":0,\"grid\":\"default\",\"name\":\"job.probe-0.17.${NID:0:8}\",\"phase\":\"run\",\"image\":\"berth-test/busybox:latest\",\"command\":[\"sleep\",\"2\"]}"
desired 1 web
check "the set reaches the agent" wait_for 20 grep -q 'TX desired generation 1' "$FM"
waiting() { reported 1 | jq -ne 'input | .state == "pending" and (.error | test("^waiting for the grid network: no peer list from the master yet"))' >/dev/null; }
check "the agent reports the instance pending: it waits for the grid network" \
    wait_for 30 waiting
# Two more reports of it, a second apart at least: still waiting.
N=$(grep -c '^RX {"type":"state"' "$FM")
check "... and keeps waiting (two more reports)" wait_for 30 \
    sh -c "[ \$(grep -c '^RX {\"type\":\"state\"' '$FM') -ge $((N + 2)) ]"
check "... still pending" waiting
check_eq "no container was made meanwhile" "$(container web)" ""
job_state() { grep '^RX {"type":"state"' "$FM" | tail -1 | cut -c4- | jq -r '.jobs[] | select(.attempt == 17) | .state'; }
check_eq "the job's attempt is pending too" "$(job_state)" pending
check_eq "... with no container" "$(dk ps -aq --filter label=berth.attempt=17)" ""

# ---- the network frame -----------------------------------------------------
network '"10.81.5.0/24"'
check "the agent makes the grid's Docker network" wait_for 30 \
    sh -c "docker -H unix://$SOCK network inspect berth-default >/dev/null 2>&1"
check "the container is made once the network is in place" wait_for 30 \
    sh -c "[ -n \"\$(docker -H unix://$SOCK ps -q --filter label=berth.service=web)\" ]"
check_has "it is on the grid network, with an address of the node's subnet" \
    "$(netmode web)" "berth-default berth-default=10.81.5."
check "the agent reports it running, with that address" wait_for 30 \
    sh -c "grep '^RX {\"type\":\"state\"' '$FM' | tail -1 | cut -c4- | jq -ne 'input | [.containers[] | select(.service_id == 1)][0] | .state == \"running\" and (.address | startswith(\"10.81.5.\"))' >/dev/null"
check_eq "the error is gone" "$(reported 1 | jq -r '.error // "none"')" none
check "the job's container is made too" wait_for 30 \
    sh -c "[ -n \"\$(docker -H unix://$SOCK ps -aq --filter label=berth.attempt=17)\" ]"
check_eq "... on the grid network" \
    "$(dk inspect "$(dk ps -aq --filter label=berth.attempt=17)" -f '{{.HostConfig.NetworkMode}}')" berth-default
JOBS=""

# ---- a node without a subnet does not wait ---------------------------------
network null
check "a frame without the node's subnet: the agent says so" wait_for 30 \
    grep -q "the master gave this node no subnet" "$TMP/agents/n1.log"
desired 2 web api
check "a new container still runs, on Docker's default bridge" wait_for 30 \
    sh -c "docker -H unix://$SOCK ps --filter label=berth.service=api --format '{{.Networks}}' | grep -qx bridge"
check_eq "... never reported waiting for the network" \
    "$(grep '^RX {"type":"state"' "$FM" | cut -c4- | jq -c '.containers[] | select(.service_id == 2) | .error // empty' | grep -c 'grid network')" 0

agent_stop n1
dk rm -f $(dk ps -aq) >/dev/null 2>&1
dk network rm berth-default >/dev/null 2>&1
check_eq "the host has no route, link or Docker network of the grid network" \
    "$(grid_host_state)" "$BEFORE"
