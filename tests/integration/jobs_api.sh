#!/usr/bin/env bash
# jobs_api.sh - the jobs API and `berth job` against a real master, with
# no node: every field validated (422 naming it, with its line for YAML),
# nothing stored on a refusal, the queue's reason, cancel, rm, wait's exit
# status, job logs (404 for no job), the job settings of a grid.
. "$(dirname "$0")/../lib.sh"

D=$TMP/data
master_start "$D" || exit 1
B=$BIN/berth

jobs_count() { api_jq /v1/grids/default/jobs length; }

# ---- bad input: 422 naming the field, nothing stored -----------------------
bad() {	# NAME BODY FIELD [LINE]
	api POST /v1/grids/default/jobs "$2"
	if [ "$STATUS" = 422 ] && [ "$(jq -r .field <<<"$BODY")" = "$3" ] &&
	    { [ -z "${4:-}" ] || [ "$(jq -r .line <<<"$BODY")" = "$4" ]; }; then
		ok "refused: $1"
	else
		notok "refused: $1 (got $STATUS $BODY)"
	fi
}
bad "no image" '{"name":"x"}' image
bad "name" '{"image":"busybox","name":"Bad_Name"}' name
bad "image" '{"image":"bad image"}' image
bad "command" '{"image":"busybox","command":[]}' command
bad "env entry" '{"image":"busybox","env":["NOEQUALS"]}' 'env[0]'
bad "env reserved" '{"image":"busybox","env":{"BERTH_JOB_INDEX":"1"}}' env.BERTH_JOB_INDEX
bad "cpus" '{"image":"busybox","cpus":0}' cpus
bad "cpus type" '{"image":"busybox","cpus":"lots"}' cpus
bad "memory" '{"image":"busybox","memory":"1k"}' memory
bad "affinity rule" '{"image":"busybox","affinity":["label=x"]}' 'affinity[0]'
bad "timeout" '{"image":"busybox","timeout":"forever"}' timeout
bad "retries" '{"image":"busybox","retries":-1}' retries
bad "backoff" '{"image":"busybox","backoff":"2h"}' backoff
bad "parallel" '{"image":"busybox","parallel":0}' parallel
bad "priority" '{"image":"busybox","priority":5000}' priority
bad "labels" '{"image":"busybox","labels":{"berth.job":"x"}}' labels.berth.job
bad "unknown key" '{"image":"busybox","restart":"always"}' restart
bad "YAML, with its line" $'image: busybox\nname: ok\nparallel: 0\n' parallel 3
api POST /v1/grids/default/jobs $'image: busybox\nparallel: 0\nretries: x\n' application/yaml
check_eq "every error is listed, in line order" \
    "$(jq -c '[.errors[] | [.line, .key]]' <<<"$BODY")" '[[2,"parallel"],[3,"retries"]]'
api POST /v1/grids/default/jobs ''
check_eq "an empty body: 400" "$STATUS" 400
check_eq "nothing was stored on any refusal" "$(jobs_count)" 0
check_eq "no job event on a refusal" \
    "$(api_jq '/v1/grids/default/events?type=job.' length)" 0

# ---- a job with nowhere to run: queued, and why ------------------------------
api POST /v1/grids/default/jobs '{"name":"build","image":"busybox","cpus":1,"command":"make test"}'
check_eq "create: 201" "$STATUS" 201
check_eq "create: pending, its command split" \
    "$(jq -c '[.state, .command, .parallel, .retries]' <<<"$BODY")" \
    '["pending",["make","test"],1,0]'
check "the queue says why it waits" wait_for 10 api_jq /v1/jobs/default/build \
    '.reason == "no eligible node for job build: the grid has no nodes"' -e
check_eq "its task says so too" \
    "$(api_jq /v1/jobs/default/build '.tasks[0].queue_reason')" \
    "no eligible node for job build: the grid has no nodes"
id=$(api_jq /v1/jobs/default/build .id)
check_eq "a job is found by its id too" "$(api_jq "/v1/jobs/default/$id" .name)" build
api POST /v1/grids/default/jobs '{"name":"build","image":"busybox"}'
check_eq "a taken name: 409" "$STATUS" 409
check_has "a taken name: why" "$BODY" 'a job \"build\" exists'
api GET '/v1/grids/default/jobs?state=bogus'
check_eq "a bad state filter: 422" "$STATUS:$(jq -r .field <<<"$BODY")" "422:state"
check_eq "the state filter" "$(api_jq '/v1/grids/default/jobs?state=pending' 'map(.name) | join(",")')" build
api GET /v1/jobs/default/build/logs
check_eq "job logs of a job that has not run: 200, no lines" "$STATUS:$BODY" "200:"
api GET /v1/jobs/default/nope/logs
check_eq "job logs of no job: 404" "$STATUS" 404
check_has "job logs of no job: why" "$BODY" 'no job \"nope\"'
api DELETE /v1/jobs/default/build
check_eq "rm of an unfinished job: 409" "$STATUS" 409
api POST /v1/jobs/default/build/cancel
check_eq "cancel: 200, cancelled, status 130" \
    "$STATUS $(jq -c '[.state, .exit_status]' <<<"$BODY")" '200 ["cancelled",130]'
api POST /v1/jobs/default/build/cancel
check_eq "cancel of a finished job: 409" "$STATUS" 409
check_has "the cancel is an event" \
    "$(api_jq '/v1/grids/default/events?type=job.cancelled' '.[].message')" \
    "job build cancelled: cancelled by an operator"
api DELETE /v1/jobs/default/build
check_eq "rm of a finished job: 204" "$STATUS" 204
api GET /v1/jobs/default/build
check_eq "it is gone" "$STATUS" 404

# ---- the CLI ------------------------------------------------------------------
out=$("$B" job run --name hello --priority 3 --env A=b --label team=core \
    --timeout 10m --memory 64M berth-test/busybox:latest sh -c 'echo $A')
check_eq "job run: exit 0" "$?" 0
check_has "job run: says it is queued" "$out" "job hello queued"
check_eq "job run: the flags reach the job" \
    "$(api_jq /v1/jobs/default/hello -c '[.priority, .timeout, .memory, .spec.env, .labels, .command]')" \
    '[3,600,67108864,["A=b"],{"team":"core"},["sh","-c","echo $A"]]'
err=$("$B" job run --cpus lots --retries x busybox 2>&1)
check_eq "job run, bad flags: exit 1" "$?" 1
check_has "job run, bad flags: each flag named" "$err" "berth: --cpus: must be a number"
check_has "job run, bad flags: the second one too" "$err" "berth: --retries: must be an integer"
cat >"$TMP/job.yml" <<'YML'
name: from-file
image: berth-test/busybox:latest
command: ["true"]
parallel: 0
retries: 2
YML
err=$("$B" job run -f "$TMP/job.yml" 2>&1)
check_eq "job run -f, a bad file: exit 1" "$?" 1
check_has "job run -f: the file's line" "$err" "job.yml:4:11: parallel: 0 is out of range"
check_has "job run -f: nothing sent" "$err" "nothing was sent"
check_eq "job run -f: nothing stored" "$(api_jq /v1/jobs/default/from-file .error)" 'no job "from-file" in grid default'
sed -i 's/parallel: 0/parallel: 2/' "$TMP/job.yml"
"$B" job run -f "$TMP/job.yml" --name renamed >/dev/null
check_eq "job run -f: the file's job, renamed" \
    "$(api_jq /v1/jobs/default/renamed -c '[.parallel, .retries, (.tasks | length)]')" '[2,2,2]'
err=$("$B" job run -f "$TMP/job.yml" --cpus 2 2>&1)
check_has "job run -f with a field flag: refused" "$err" "--cpus goes in the file"
out=$("$B" job ls)
check_has "job ls: header" "$(head -1 <<<"$out")" "NAME     STATE    PRIORITY  TASKS  ATTEMPTS  NODE  EXIT  CREATED  REASON"
check_has "job ls: a row" "$out" "hello"
check_eq "job ls --json" "$("$B" job ls --json | jq -r 'map(.name) | sort | join(",")')" "hello,renamed"
check_eq "job ls --state" "$("$B" job ls --state cancelled --json | jq length)" 0
out=$("$B" job show hello)
check_has "job show" "$out" "timeout:    600"
"$B" job cancel hello >/dev/null
"$B" job wait hello >/dev/null
check_eq "job wait exits 130 for a cancelled job" "$?" 130
out=$("$B" job run --wait --name waits berth-test/busybox:latest true 2>&1 &
    sleep 1; "$B" job cancel waits >/dev/null; wait)
check_has "job run --wait shows its progress" "$out" "[....] job waits pending"
check_has "job run --wait ends with the state" "$out" "[fail] job waits cancelled"
"$B" job wait waits >/dev/null
check_eq "and exits with it" "$?" 130
err=$("$B" job logs hello 2>&1)
check_eq "job logs of a job that has not run: nothing, exit 0" "$?:$err" "0:"
err=$("$B" job logs nope 2>&1)
check_eq "job logs of no job: exit 1 with the master's reason" "$?:$err" \
    '1:berth: no job "nope" in grid default'
err=$("$B" job rm renamed 2>&1)
check_has "job rm of an unfinished job: why" "$err" "cancel it first"
"$B" job rm --force renamed >/dev/null
check_eq "job rm --force cancels and removes" "$(api_jq /v1/jobs/default/renamed .error)" 'no job "renamed" in grid default'

# ---- the grid's job settings -----------------------------------------------
"$B" grid set default job_lost_grace_s=1m job_retention_s=2h job_retention_max=50 >/dev/null
check_eq "the job settings of a grid" \
    "$(api_jq /v1/grids/default -c '[.settings.job_lost_grace_s, .settings.job_retention_s, .settings.job_retention_max]')" \
    '[60,7200,50]'
"$B" grid set default job_retention_s=0 >/dev/null
check "retention 0: finished jobs go at once" wait_for 20 sh -c \
    "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/grids/default/jobs | jq length)\" = 0 ]"
check_has "retention says what it removed" \
    "$(api_jq '/v1/grids/default/events?type=job.remove' '.[].message')" "retention: removed"
master_stop
