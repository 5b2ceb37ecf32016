#!/usr/bin/env bash
# jobs.sh - jobs on real agents and the real Docker Engine: 20 jobs, of
# which one exits 3, one runs past its timeout, one cannot pull its image
# and one is cancelled while it runs, end in exactly the right states,
# with the right exit codes and reasons; `berth job wait` exits with each
# job's status; every attempt's container is created once (Docker's own
# events count them), runs once and is kept until its job is removed; a
# job of three tasks gets BERTH_JOB_INDEX 0, 1, 2; the nodes count the
# jobs they finished.
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/docker-up.sh" >/dev/null || { notok "docker is up"; exit 1; }
"$ROOT/scripts/test-image.sh" >/dev/null || { notok "build the local test image"; exit 1; }
IMG=berth-test/busybox:latest
D=$TMP/data
master_start "$D" || exit 1
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":3}}'
B=$BIN/berth

agent_start j1 "az=a" BERTH_LOG_LEVEL=debug
agent_start j2 "az=b" BERTH_LOG_LEVEL=debug
check "two agents online" wait_for 30 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/grids/default/nodes | jq '[.[] | select(.status == \"online\")] | length')\" = 2 ]"
n1=$(node_id j1)
n2=$(node_id j2)

# Docker's own record of every container created for a job attempt.
docker events --filter type=container --filter event=create \
    --filter label=berth.attempt \
    --format '{{index .Actor.Attributes "berth.node"}} {{index .Actor.Attributes "berth.attempt"}}' \
    >"$TMP/creates" 2>/dev/null &
events_pid=$!
at_exit "kill $events_pid"
sleep 1

# 15 that succeed, one of three tasks, and the four that do not.
for i in $(seq 15); do
	"$B" job run --name "ok-$i" "$IMG" true >/dev/null || notok "job run ok-$i"
done
"$B" job run --name par --parallel 3 "$IMG" \
    sh -c 'echo "task $BERTH_JOB_INDEX says hello"' >/dev/null
"$B" job run --name fail "$IMG" sh -c 'exit 3' >/dev/null
"$B" job run --name slow --timeout 2s "$IMG" \
    sh -c 'trap "exit 143" TERM; sleep 120 & wait' >/dev/null
"$B" job run --name nopull berth-test/not-here:latest >/dev/null
"$B" job run --name stop-me "$IMG" \
    sh -c 'trap "exit 143" TERM; sleep 120 & wait' >/dev/null
check_eq "20 jobs queued" "$(api_jq /v1/grids/default/jobs length)" 20

check "the job to cancel runs" wait_for 120 api_jq /v1/jobs/default/stop-me '.state == "running"' -e
"$B" job cancel stop-me >/dev/null
check_eq "job cancel: cancelled at once" "$(api_jq /v1/jobs/default/stop-me .state)" cancelled

# berth job wait exits with each job's status.
"$B" job wait ok-1 >/dev/null;  check_eq "job wait: 0 when it succeeded" "$?" 0
"$B" job wait fail >/dev/null;  check_eq "job wait: the exit code (3)" "$?" 3
"$B" job wait slow >/dev/null;  check_eq "job wait: 124 when it timed out" "$?" 124
"$B" job wait nopull >/dev/null; check_eq "job wait: 125 when it could not start" "$?" 125
"$B" job wait stop-me >/dev/null; check_eq "job wait: 130 when cancelled" "$?" 130
for i in $(seq 2 15); do "$B" job wait "ok-$i" >/dev/null; done
"$B" job wait par >/dev/null
check_eq "job wait: a job of three tasks that all succeeded" "$?" 0

states=$(api_jq /v1/grids/default/jobs -c 'map(select(.name | startswith("ok-")) | .state) | unique')
check_eq "the 15 plain jobs succeeded" "$states" '["succeeded"]'
row() { api_jq "/v1/jobs/default/$1" -c '[.state, .exit_code, .exit_status]'; }
check_eq "fail: failed, exit code 3" "$(row fail)" '["failed",3,3]'
check_eq "slow: timed out" "$(row slow | jq -c '.[0], .[2]' | paste -sd,)" '"timed_out",124'
check_eq "nopull: failed, could not start" "$(row nopull)" '["failed",null,125]'
check_eq "stop-me: cancelled" "$(row stop-me)" '["cancelled",null,130]'
check_eq "par: succeeded, 3 of 3 tasks" \
    "$(api_jq /v1/jobs/default/par -c '[.state, .tasks_done, (.tasks | map(.state) | unique)]')" \
    '["succeeded",3,["succeeded"]]'
check_has "fail: its reason" "$(api_jq /v1/jobs/default/fail .reason)" "exit code 3"
check_has "slow: its reason" "$(api_jq /v1/jobs/default/slow .reason)" "ran past its timeout of 2s"
check_has "nopull: its reason is the pull's" "$(api_jq /v1/jobs/default/nopull .reason)" "could not start: pull berth-test/not-here:latest"
check_has "stop-me: its reason" "$(api_jq /v1/jobs/default/stop-me .reason)" "cancelled by an operator"
ev=$(api_jq '/v1/grids/default/events?type=job.&limit=1000' -r '.[] | "\(.type) \(.subject)"')
for t in "job.create fail" "job.assigned fail" "job.failed fail" "job.running stop-me" \
    "job.timed_out slow" "job.failed nopull" "job.cancelled stop-me" "job.succeeded par"; do
	check_has "event: $t" "$ev" "$t"
done

# Every attempt once: one attempt per job, one container per attempt.
check_eq "one attempt per task (22 tasks)" \
    "$(api_jq /v1/grids/default/jobs '[.[].attempt_count] | add')" 22
check "the stopped job's container is stopped" wait_for 30 sh -c \
    "[ -z \"\$(docker ps -q --filter label=berth.job=stop-me --filter label=berth.node=$n1; docker ps -q --filter label=berth.job=stop-me --filter label=berth.node=$n2)\" ]"
mine() { awk -v a="$n1" -v b="$n2" '$1 == a || $1 == b { print $2 }' "$TMP/creates"; }
check_eq "Docker created 21 containers (the image that cannot be pulled has none)" \
    "$(mine | wc -l)" 21
check_eq "no attempt's container was created twice" "$(mine | sort | uniq -d)" ""
kept=$(containers -a --filter label=berth.attempt)
check_eq "every container is kept after its job ended" "$(wc -w <<<"$kept")" 21
check_eq "none of them was restarted" \
    "$(for c in $kept; do docker inspect -f '{{.RestartCount}} {{.HostConfig.RestartPolicy.Name}}' "$c"; done | sort -u)" "0 no"
idx=$(for c in $(containers -a --filter label=berth.job=par); do
	docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$c" | grep '^BERTH_JOB_INDEX='
done | sort | paste -sd,)
check_eq "the three tasks have BERTH_JOB_INDEX 0, 1, 2" "$idx" \
    "BERTH_JOB_INDEX=0,BERTH_JOB_INDEX=1,BERTH_JOB_INDEX=2"
# berth job logs: what every task printed, from the master's log store.
par_logs() { [ "$("$B" job logs par 2>&1 | grep -c 'task [012] says hello')" = 3 ]; }
check "job logs: the three tasks' output" wait_for 60 par_logs
check_has "job logs: a line of task 1" "$("$B" job logs par)" "task 1 says hello"
check_eq "the nodes count the jobs they finished (21 ran)" \
    "$(api_jq /v1/grids/default/nodes '[.[].jobs_finished] | add')" 21

# berth job rm removes the job and, through its agent, its container.
c=$(containers -a --filter label=berth.job=ok-1)
check "ok-1 has its container" test -n "$c"
"$B" job rm ok-1 >/dev/null
check "job rm: its container goes" wait_for 60 sh -c "! docker inspect $c >/dev/null 2>&1"
check_eq "job rm: the other containers stay" "$(wc -w <<<"$(containers -a --filter label=berth.attempt)")" 20
master_stop
