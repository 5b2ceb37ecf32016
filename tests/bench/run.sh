#!/usr/bin/env bash
# tests/bench/run.sh - `make bench`: every benchmark, each figure printed as
# one line "name value unit" (docs/performance.md lists them with their
# targets). Progress and details go to stderr. Nothing here asserts a
# time; the figures are for reading.
#
#   startup   empty data dir to a serving /healthz, and a restart
#   sched     planning 100,000 instances over 10,000 nodes; one join
#   api       wrk on GET /v1/grids/default/nodes with 1,000 nodes
#   agentsim  1k and 10k simulated agents: join latency, idle RSS/CPU,
#             reconnect after a master restart (SIM_AGENTS=1000 for a
#             quick run)
#   docker50  50 containers: berth vs parallel `docker run` vs Swarm
#   exec      berth service exec: round trip vs docker exec, throughput
#             over http and https
#
# BENCH=name[,name] runs a subset.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BERTH_BUILD:-build}
export BERTH_BUILD=$BUILD
sel=${BENCH:-startup,sched,api,agentsim,docker50,exec}
rc=0

want() { case ",$sel," in *",$1,"*) return 0 ;; esac; return 1; }
run() {
	echo "bench: $1" >&2
	shift
	"$@" || { echo "bench: $* failed" >&2; rc=1; }
}

want startup && run startup tests/bench/startup.sh
want sched && run sched "$BUILD/bench/sched_bench"
want api && run api tests/bench/api.sh
want agentsim && SIM_AGENTS=${SIM_AGENTS:-10000} run agentsim tests/bench/agentsim.sh
want docker50 && run docker50 tests/bench/docker50.sh
want exec && run exec tests/bench/exec.sh
exit $rc
