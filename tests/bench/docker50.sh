#!/usr/bin/env bash
# tests/bench/docker50.sh - 50 containers on one node, three ways, on the
# same Docker engine in one run:
#
#   berth     `berth stack install` of a 50-instance ha service on one
#             real agent, until all 50 containers run
#   parallel  50 parallel `docker run -d` (the engine's own limit)
#   swarm     Docker Swarm mode: `docker service create --replicas 50`
#
# Each is timed from the command until `docker ps` shows 50 running, then
# cleaned up. Swarm is initialised on loopback and left again afterwards,
# unless the engine was already in a swarm (then it is not touched).
# Prints docker50_{berth,parallel_run,swarm}_s and the two ratios.
set -u
. "$(dirname "$0")/../lib.sh"

N=${DOCKER50_N:-50}
IMG=berth-test/busybox:latest
CMD='trap "exit 0" TERM; while true; do sleep 1; done'
"$ROOT/scripts/docker-up.sh" >&2 || exit 1
"$ROOT/scripts/test-image.sh" >&2 || exit 1
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }
running() { docker ps -q --filter "$1" --filter status=running | wc -l; }
wait_running() {
	local filter=$1 i
	for i in $(seq 1200); do
		[ "$(running "$filter")" -ge "$N" ] && return 0
		sleep 0.05
	done
	echo "docker50: timed out waiting for $N running ($filter)" >&2
	return 1
}

# ---- berth ---------------------------------------------------------------------
D=$TMP/data
master_start "$D" >/dev/null || exit 1
agent_start bench-1 "az=a"
wait_for 20 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/nodes/default/bench-1 | jq -r .status)\" = online ]" ||
    { echo "docker50: agent did not join" >&2; exit 1; }
cat >"$TMP/bench.yml" <<YML
stack: bench
services:
  web:
    image: $IMG
    command: sh -c '$CMD'
    instances: $N
    stop_grace_period: 1s
YML
t0=$(now)
"$BIN/berth" stack install "$TMP/bench.yml" >/dev/null 2>&1 &
install_pid=$!
wait_running "label=berth.node=$(node_id bench-1)" || exit 1
t_berth=$(secs "$t0" "$(now)")
wait "$install_pid"
echo "docker50: berth $t_berth s" >&2
"$BIN/berth" stack rm --force bench >/dev/null
for i in $(seq 600); do
	[ -z "$(docker ps -aq --filter "label=berth.node=$(node_id bench-1)")" ] && break
	sleep 0.1
done
agent_stop bench-1
master_stop

# ---- parallel docker run -----------------------------------------------------------
t0=$(now)
pids=""
for i in $(seq "$N"); do
	docker run -d --label berth-bench=par --name "berth-bench-par-$i" \
	    --stop-timeout 1 "$IMG" sh -c "$CMD" >/dev/null &
	pids="$pids $!"
done
wait $pids
wait_running "label=berth-bench=par" || exit 1
t_par=$(secs "$t0" "$(now)")
echo "docker50: parallel docker run $t_par s" >&2
docker ps -aq --filter label=berth-bench=par | xargs -r docker rm -f >/dev/null

# ---- swarm ---------------------------------------------------------------------------
state=$(docker info --format '{{.Swarm.LocalNodeState}}')
if [ "$state" = active ]; then
	echo "docker50: the engine is already in a swarm; not touching it" >&2
	t_swarm=""
else
	docker swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377 >/dev/null || exit 1
	at_exit 'docker swarm leave --force >/dev/null 2>&1'
	t0=$(now)
	docker service create -d --name berth-bench-swarm --replicas "$N" \
	    --no-resolve-image --stop-grace-period 1s "$IMG" sh -c "$CMD" >/dev/null
	wait_running "label=com.docker.swarm.service.name=berth-bench-swarm" || exit 1
	t_swarm=$(secs "$t0" "$(now)")
	echo "docker50: swarm $t_swarm s" >&2
	docker service rm berth-bench-swarm >/dev/null
	for i in $(seq 600); do
		[ -z "$(docker ps -aq --filter label=com.docker.swarm.service.name=berth-bench-swarm)" ] && break
		sleep 0.1
	done
	docker swarm leave --force >/dev/null
fi

echo "docker50_berth_s $t_berth s"
echo "docker50_parallel_run_s $t_par s"
awk -v a="$t_berth" -v b="$t_par" 'BEGIN { printf "docker50_vs_parallel_run_ratio %.2f ratio\n", a / b }'
if [ -n "$t_swarm" ]; then
	echo "docker50_swarm_s $t_swarm s"
	awk -v a="$t_berth" -v b="$t_swarm" 'BEGIN { printf "docker50_vs_swarm_ratio %.2f ratio\n", a / b }'
fi
