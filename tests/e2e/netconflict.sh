#!/usr/bin/env bash
# netconflict.sh - a node subnet that overlaps a route of the host's is
# refused (docs/network.md): one Docker Engine in a network namespace of
# its own, a real agent in it with BERTH_NETWORK=on, the grid's
# network_cidr set first so the node's subnet is known (10.82.0.0/24), and
# in that namespace a route into it (10.82.0.128/25 on a bridge of its
# own) before the agent starts. Shown: the agent logs the subnet and the route and
# makes no bridge, VXLAN device or Docker network of the grid; a service
# container still runs, on Docker's default bridge. Once the route goes,
# the agent's next check (BERTH_NETWORK_RECHECK_S=1 here; 30 s shipped)
# brings the network up, and a new container joins it.
# test-lane: side
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/docker-up.sh" >/dev/null || { notok "docker is up"; exit 1; }
"$ROOT/scripts/test-image.sh" >/dev/null || { notok "build the local test image"; exit 1; }
host_state() {
	{ ip -4 route show table all | grep -E '(^| )10\.82\.'
	  ip -o link show | grep -E ': (bvx|bbr)[0-9a-f]'; } | sort
}
BEFORE=$(host_state)

engine_up n1 || { notok "a Docker Engine in its own namespace"; exit 1; }
NS=$NETNS SOCK=$ENGINE_SOCK
dk() { docker -H "unix://$SOCK" "$@"; }
AP=$(free_port)
AGENT_PORT_FIXED=$AP master_start "$TMP/data" --agent-listen "$NETNS_HOST_IP:$AP" \
    --insecure-plain || exit 1
api PATCH /v1/grids/default '{"settings":{"network_cidr":"10.82.0.0/16","heartbeat_interval_s":1,"offline_after_s":3,"instance_settle_s":1}}'
check_eq "the grid's network_cidr is 10.82.0.0/16" "$STATUS" 200
ip -n "$NS" link add bcf0 type bridge && ip -n "$NS" link set bcf0 up &&
    ip -n "$NS" route add 10.82.0.128/25 dev bcf0
check_eq "a route into the node's subnet in its namespace" "$?" 0

agent_start_netns "$NS" n1 "node=n1" BERTH_INSECURE_PLAIN=1 BERTH_NETWORK=on \
    DOCKER_HOST="unix://$SOCK" BERTH_NETWORK_RECHECK_S=1
check "the node joins" wait_for 30 api_jq /v1/nodes/default/n1 '.status == "online"' -e
check_eq "its subnet is the first /24 of the prefix" \
    "$(api_jq /v1/nodes/default/n1 -r .subnet)" 10.82.0.0/24
LOG=$TMP/agents/n1.log
MSG="subnet 10.82.0.0/24 overlaps the host's route 10.82.0.128/25 dev bcf0: the grid network is off on this node"
check "the agent says which subnet and which route" \
    wait_for 20 grep -qF "$MSG" "$LOG"

cat >"$TMP/s.yml" <<'YML'
stack: e2e/nc
services:
  web:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    stop_grace_period: 1s
YML
"$BIN/berth" stack install "$TMP/s.yml" >/dev/null
check_eq "install a one-service stack" "$?" 0
web() { dk ps -q --filter label=berth.service=web; }
check "its container runs" wait_for 30 sh -c "[ -n \"\$(docker -H unix://$SOCK ps -q --filter label=berth.service=web)\" ]"
C1=$(web)
check_eq "... on Docker's default bridge" \
    "$(dk inspect "$C1" -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}')" "bridge "
# The container ran after the refusal was logged: the agent has acted.
check_eq "no bridge or VXLAN device of the grid in the node's namespace" \
    "$(ip -n "$NS" -o link show | grep -cE ': (bvx|bbr)[0-9a-f]')" 0
check_eq "no Docker network of the grid on the node's engine" \
    "$(dk network ls -q --filter name=berth-default | wc -l)" 0
check_eq "the refusal is logged once, not at every check" \
    "$(grep -cF "$MSG" "$LOG")" 1

# The route goes: the next check brings the network up.
ip -n "$NS" route del 10.82.0.128/25 dev bcf0
check "without the route, the node's Docker network comes up on its subnet" \
    wait_for 20 sh -c "[ \"\$(docker -H unix://$SOCK network inspect berth-default -f '{{(index .IPAM.Config 0).Subnet}}' 2>/dev/null)\" = 10.82.0.0/24 ]"
check "... and its VXLAN device" wait_for 10 sh -c \
    "ip -n $NS -o link show | grep -qE ': bvx[0-9a-f]'"
check_has "the agent says so" "$(grep 'network: Docker network' "$LOG")" \
    "on 10.82.0.0/24"
"$BIN/berth" service scale nc/web 2 >/dev/null
check_eq "scale the service to 2" "$?" 0
check "a new container joins the grid network" wait_for 30 sh -c \
    "docker -H unix://$SOCK ps -q --filter label=berth.service=web | xargs -r docker -H unix://$SOCK inspect -f '{{with index .NetworkSettings.Networks \"berth-default\"}}{{.IPAddress}}{{end}}' | grep -q '^10\.82\.0\.'"

"$BIN/berth" stack rm --force nc >/dev/null
check_eq "the host has no route or link of the grid network" "$(host_state)" "$BEFORE"
master_stop TERM
