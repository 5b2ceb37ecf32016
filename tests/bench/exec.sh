#!/usr/bin/env bash
# tests/bench/exec.sh - berth service exec on one real agent and Docker:
#
#   exec_roundtrip_ms        `berth service exec S -- true`, median of 5
#   exec_docker_roundtrip_ms `docker exec C true` on the same container,
#                            median of 5: the engine's own share
#   exec_throughput_mib_s    100 MiB of output through master and agent
#                            (plain http on loopback)
#   exec_tls_throughput_mib_s the same over https, 4 MiB: libmicrohttpd
#                            0.9.75 (Debian 12) forwards upgraded TLS
#                            connections 4 bytes per record (fixed
#                            upstream in 0.9.77); see docs/exec.md
set -u
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/docker-up.sh" >&2 || exit 1
"$ROOT/scripts/test-image.sh" >&2 || exit 1
B=$BIN/berth
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }

D=$TMP/data
master_start "$D" >/dev/null || exit 1
agent_start bench-x "az=a"
wait_for 20 api_jq /v1/nodes/default/bench-x '.status == "online"' -e ||
    { echo "exec bench: agent did not join" >&2; exit 1; }
cat >"$TMP/s.yml" <<'YML'
stack: bench/x
services:
  x:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    stop_grace_period: 1s
YML
"$B" stack install "$TMP/s.yml" >&2 || exit 1
C=$(api_jq /v1/services/default/x/x/containers '.[0].name')

for i in 1 2 3 4 5; do t=$(date +%s%N); "$B" service exec x/x -- true; ms "$t"; done |
    median | sed 's/^/exec_roundtrip_ms /; s/$/ ms/'
for i in 1 2 3 4 5; do t=$(date +%s%N); docker exec "$C" true; ms "$t"; done |
    median | sed 's/^/exec_docker_roundtrip_ms /; s/$/ ms/'
t=$(date +%s%N)
n=$("$B" service exec x/x -- head -c 104857600 /dev/zero | wc -c)
el=$(ms "$t")
[ "$n" = 104857600 ] || echo "exec bench: got $n bytes" >&2
awk -v ms="$el" 'BEGIN { printf "exec_throughput_mib_s %.1f MiB/s\n", 100 / (ms / 1000) }'

# Over https: the same master, restarted with a self-signed certificate.
agent_stop bench-x
master_stop
AP=$(free_port)
GP=$(free_port)
"$BIN/berth-master" --data-dir "$D" --api-listen "127.0.0.1:$AP" \
    --agent-listen "127.0.0.1:$GP" --tick-ms 200 --tls-self-signed \
    >>"$D/master.log" 2>&1 &
MASTER_PID=$!
MASTER_PIDS="$MASTER_PIDS $MASTER_PID"
API=https://127.0.0.1:$AP
wait_for 20 curl -sf --cacert "$D/tls.crt" "$API/healthz" || exit 1
PIN=$(grep -o 'sha256//[A-Za-z0-9+/=]*' "$D/master.log" | tail -1)
AGENT_PORT=$GP
agent_start bench-x "az=a" BERTH_URL="wss://127.0.0.1:$GP" BERTH_MASTER_PIN="$PIN"
export BERTH_MASTER=$API BERTH_CA_CERT=$D/tls.crt
wait_for 30 sh -c "curl -s --cacert $D/tls.crt -H 'Authorization: Bearer $TOKEN' $API/v1/services/default/x/x/containers | jq -ne 'input | .[0].state == \"running\"'" || exit 1
t=$(date +%s%N)
n=$("$B" service exec x/x -- head -c 4194304 /dev/zero | wc -c)
el=$(ms "$t")
[ "$n" = 4194304 ] || echo "exec bench: got $n bytes over https" >&2
awk -v ms="$el" 'BEGIN { printf "exec_tls_throughput_mib_s %.2f MiB/s\n", 4 / (ms / 1000) }'
"$B" stack rm --force x >/dev/null 2>&1
agent_stop bench-x
master_stop
