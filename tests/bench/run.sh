#!/usr/bin/env bash
# tests/bench/run.sh - `make bench`: every benchmark, each figure printed as
# one line "name value unit" (docs/performance.md lists them with their
# targets). Progress and details go to stderr. Nothing here asserts a
# time; the figures are for reading.
#
#   startup   empty data dir to a serving /healthz, and a restart
#   sched     planning 100,000 instances over 10,000 nodes; one join
#   autoscale node groups: sizing a scale-up over 10,000 nodes
#             (autoscale_sim_bench), and a master's decision from a
#             deploy of 10,000 pending instances to the provider's create
#             call with 1,000 simulated agents (tests/bench/autoscale.sh)
#   api       wrk on GET /v1/grids/default/nodes with 1,000 nodes
#   agentsim  1k and 10k simulated agents: join latency, idle RSS/CPU,
#             reconnect after a master restart, the master's stop and
#             admission rate; then 10k again beside a CPU hog on one core
#             (lines ending _contended; SIM_CONTENDED=0 leaves it out,
#             SIM_AGENTS=1000 for a quick run)
#   docker50  50 containers: berth vs parallel `docker run` vs Swarm
#   jobs      jobs dispatched through the queue to simulated agents that
#             finish them at once (JOBS_N=4000 jobs, 20 agents x 8 cpus)
#   jobs100   100 short jobs on a real agent vs 100 parallel `docker run`
#   logs      container logs: lines/s from 50 containers, the master
#             alone, follow latency (tests/bench/logs.sh)
#   exec      berth service exec: round trip vs docker exec, throughput
#             over http and https
#   overlay   the grid network: TCP stream container to container across
#             two engines in namespaces vs the same between the
#             namespaces (tests/bench/overlay.sh; root)
#   dashboard the web dashboard in chromium: first-load KB, time to a
#             1,000-node table, master CPU with 10 dashboards open
#   dns       the agent's DNS server on loopback with 2,000 services and
#             10,000 instances, 4 client threads: p50/p99 answer time and
#             queries/s as the clients see them (tests/bench/dns_bench.c)
#   ha        three masters on dqlite: kill -9 of the leader to the first
#             accepted write (median, max), 1,000 simulated agents back on
#             the new leader, write latency against a single master
#             (tests/bench/ha.sh)
#
# BENCH=name[,name] runs a subset.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BERTH_BUILD:-build}
export BERTH_BUILD=$BUILD
sel=${BENCH:-startup,sched,autoscale,api,agentsim,docker50,jobs,jobs100,logs,exec,overlay,dashboard,dns,ha}
rc=0

want() { case ",$sel," in *",$1,"*) return 0 ;; esac; return 1; }
run() {
	echo "bench: $1" >&2
	shift
	"$@" || { echo "bench: $* failed" >&2; rc=1; }
}

want startup && run startup tests/bench/startup.sh
want sched && run sched "$BUILD/bench/sched_bench"
want autoscale && run autoscale "$BUILD/bench/autoscale_sim_bench"
want autoscale && run autoscale tests/bench/autoscale.sh
want api && run api tests/bench/api.sh
want agentsim && SIM_AGENTS=${SIM_AGENTS:-10000} \
    SIM_CONTENDED=${SIM_CONTENDED:-1} run agentsim tests/bench/agentsim.sh
want docker50 && run docker50 tests/bench/docker50.sh
want jobs && run jobs tests/bench/jobs_dispatch.sh
want jobs100 && run jobs100 tests/bench/jobs100.sh
want logs && run logs tests/bench/logs.sh
want exec && run exec tests/bench/exec.sh
want overlay && run overlay tests/bench/overlay.sh
want dashboard && run dashboard tests/bench/dashboard.sh
want dns && run dns "$BUILD/bench/dns_bench"
want ha && run ha tests/bench/ha.sh
exit $rc
