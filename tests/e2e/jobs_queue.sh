#!/usr/bin/env bash
# jobs_queue.sh - the queue on real agents and Docker: 10 jobs of one cpu
# on a grid of two one-cpu nodes (BERTH_CPUS=1) run at most two at a time
# (Docker's own start and finish times say so), are started in priority
# order, and all succeed.
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/docker-up.sh" >/dev/null || { notok "docker is up"; exit 1; }
"$ROOT/scripts/test-image.sh" >/dev/null || { notok "build the local test image"; exit 1; }
IMG=berth-test/busybox:latest
D=$TMP/data
master_start "$D" || exit 1
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":3}}'
B=$BIN/berth

# Queued before any node exists, so that priority alone orders them:
# q1..q10 with priorities 1..10 given in a shuffled order.
for p in 3 9 1 7 5 10 2 8 4 6; do
	"$B" job run --name "q$p" --cpus 1 --priority "$p" "$IMG" sleep 1 \
	    >/dev/null || notok "job run q$p"
done
check "all ten wait for a node" wait_for 20 sh -c \
    "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' '$API/v1/grids/default/jobs?state=pending' | jq '[.[] | select(.reason != null)] | length')\" = 10 ]"
agent_start c1 "" BERTH_CPUS=1
agent_start c2 "" BERTH_CPUS=1
check "two one-cpu nodes online" wait_for 30 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/grids/default/nodes | jq '[.[] | select(.status == \"online\" and .cpus == 1)] | length')\" = 2 ]"

for p in $(seq 10); do
	"$B" job wait "q$p" >/dev/null || notok "q$p succeeded (job wait: $?)"
done
check_eq "all ten succeeded" \
    "$(api_jq /v1/grids/default/jobs -c 'map(.state) | unique')" '["succeeded"]'

# Priority order: the order of the first attempts' assignments.
order=$(api_jq '/v1/grids/default/events?type=job.assigned&limit=100' -r \
    'sort_by(.id) | map(.subject) | join(" ")')
check_eq "assigned in priority order" "$order" "q10 q9 q8 q7 q6 q5 q4 q3 q2 q1"

# At most two at a time: the containers' own run times, from Docker.
for c in $(containers -a --filter label=berth.attempt); do
	docker inspect -f '{{.State.StartedAt}} {{.State.FinishedAt}}' "$c"
done >"$TMP/runs"
check_eq "ten containers ran" "$(wc -l <"$TMP/runs")" 10
most=$(python3 - "$TMP/runs" <<'PY'
import sys
from datetime import datetime
def t(s):
    s = s.rstrip('Z')
    if '.' in s:
        a, b = s.split('.')
        s = a + '.' + b[:6]
    return datetime.fromisoformat(s).timestamp()
ev = []
for line in open(sys.argv[1]):
    a, b = line.split()
    ev.append((t(a), 1))
    ev.append((t(b), -1))
ev.sort(key=lambda e: (e[0], e[1]))
n = most = 0
for _, d in ev:
    n += d
    most = max(most, n)
print(most)
PY
)
check "at most two ran at once (most: $most)" test "$most" -le 2
check "and two did run together (the capacity was used)" test "$most" -eq 2
master_stop
