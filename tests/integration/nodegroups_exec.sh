#!/usr/bin/env bash
# nodegroups_exec.sh - the exec provider and the autoscaler's limits on a
# real master, with real operator programs (shell scripts that log every
# call; no agent is started here: tests/e2e/nodegroups_exec.sh joins real
# ones). Demand is five one-cpu instances in a grid without nodes.
#  1. dry_run and `berth nodegroup plan`: the decisions are printed and
#     said once as an event, and the program is never called.
#  2. Grid limits: max_nodes_total, max_cost_per_hour and
#     max_launches_per_hour each stop launches with one nodegroup.limit
#     event, however many rounds run.
#  3. A program that exits 1, prints garbage or hangs: an event naming
#     the cause, the group backs off, the machine is forgotten or
#     deleted by name; while a call is in flight, rounds go on.
#  4. Bad exec settings: 422 naming the field.
#  5. An instance the program lists that no machine names (an orphan) is
#     deleted with one machine.orphan event.
. "$(dirname "$0")/../lib.sh"

D=$TMP/data
master_start "$D" || exit 1
B=$BIN/berth
P=$TMP/prov
CALLS=$TMP/calls
# The operator's program: logs each call (without the token), answers
# by the book, keeping a group's instances in $TMP/inst-<group>; the
# groups fail, junk, slow and hang have creates that exit 1, print
# garbage, block until the test lets go, or hang.
cat >"$P" <<EOF2
#!/bin/sh
in=\$(cat)
echo "\$1 \$(printf '%s' "\$in" | jq -c 'del(.token)')" >>"$CALLS"
g=\$(printf '%s' "\$in" | jq -r .group)
m=\$(printf '%s' "\$in" | jq -r .machine)
I="$TMP/inst-\$g"
case "\$1:\$g" in
create:fail) echo "quota exceeded for burst (test)" >&2; exit 1 ;;
create:junk) echo "Traceback (most recent call last):"; exit 0 ;;
create:slow)
	# Blocks until the test lets it go, then fails.
	while [ ! -f "$TMP/release" ]; do sleep 0.1; done
	echo "released by the test" >&2; exit 1 ;;
create:hang) sleep 30 & echo \$! >"$TMP/sleep.pid"; wait ;;
create:*)
	echo "i-\$m \$m" >>"\$I"
	printf '{"id": "i-%s"}\n' "\$m" ;;
delete:*)
	id=\$(printf '%s' "\$in" | jq -r '.id // empty')
	[ -f "\$I" ] && grep -v "^\$id " "\$I" >"\$I.new"; mv "\$I.new" "\$I" 2>/dev/null
	echo '{}' ;;
list:*)
	printf '{"instances": [%s]}\n' "\$(sed 's/^\([^ ]*\) \(.*\)/{"id": "\1", "machine": "\2"}/' "\$I" 2>/dev/null | paste -sd,)" ;;
esac
EOF2
chmod +x "$P"
creates() { grep -c '^create ' "$CALLS" 2>/dev/null || echo 0; }
count_events() { api_jq "/v1/grids/default/events?type=$1&limit=100" length; }
machines() { api_jq "/v1/nodegroups/default/$1/machines" "${@:2}"; }

# ---- 4. bad exec settings -------------------------------------------------------
api POST /v1/grids/default/nodegroups '{"name":"x","provider":"exec"}'
check_eq "exec without a program: 422 on settings.exec_program" \
    "$STATUS $(jq -r .field <<<"$BODY")" "422 settings.exec_program"
api POST /v1/grids/default/nodegroups '{"name":"x","provider":"exec","settings":{"exec_program":"prov.sh","exec_timeout_s":0,"cost_per_hour":-1,"paused":"yes"}}'
check_eq "a relative program, a zero timeout, a negative cost, a bad flag: each named" \
    "$STATUS $(jq -r '[.errors[].field] | sort | join(" ")' <<<"$BODY")" \
    "422 settings.cost_per_hour settings.exec_program settings.exec_timeout_s settings.paused"
api PATCH /v1/grids/default '{"settings":{"max_nodes_total":-1}}'
check_eq "a negative grid limit: 422" "$STATUS $(jq -r .field <<<"$BODY")" "422 settings.max_nodes_total"

# ---- 1. dry-run and plan --------------------------------------------------------
"$B" nodegroup create burst --provider exec --max 10 --set cpus=1 \
    --set "exec_program=$P" --set dry_run=true --set backoff_s=2s \
    --set backoff_max_s=2s >/dev/null || notok "nodegroup create burst"
api POST /v1/grids/default/stacks '{"stack":"t/web","services":{"web":{"image":"busybox","instances":5,"cpus":1}}}'
api POST /v1/stacks/default/web/deploy
out=$("$B" nodegroup plan burst)
check_has "plan: the group's state" "$out" "burst: 0 of 0..10, dry-run"
check_has "plan: it would launch 5" "$out" "launch  5 machine(s)"
check "a dry-run event" wait_for 20 sh -c \
    "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' '$API/v1/grids/default/events?type=nodegroup.dry_run' | jq length)\" -ge 1 ]"
check_has "it says what it would do" \
    "$(api_jq '/v1/grids/default/events?type=nodegroup.dry_run' '.[0].message')" \
    "dry-run: group burst would launch 5 machines"
sched_wait_round
sched_wait_round
check_eq "said once, however many rounds" "$(count_events nodegroup.dry_run)" 1
check_eq "plan --json: the same decision" \
    "$("$B" nodegroup plan burst --json | jq -c '[.decisions[] | select(.action == "launch") | .count]')" "[5]"
check_eq "no machine" "$(machines burst length)" 0
check_eq "the program was never called (no create, no list)" "$(cat "$CALLS" 2>/dev/null | wc -l)" 0
"$B" nodegroup set burst dry_run=false paused=true >/dev/null
check_has "paused: plan says why it waits" "$("$B" nodegroup plan burst)" "the group is paused"
sched_wait_round
check_eq "paused: no machine, no call" "$(machines burst length) $(creates)" "0 0"
check "plan without a group: the grid's" sh -c "$B nodegroup plan | grep -q '^burst: '"

# ---- 2. limits --------------------------------------------------------------------
api PATCH /v1/grids/default '{"settings":{"max_nodes_total":2}}'
"$B" nodegroup set burst paused=false >/dev/null
check "max_nodes_total 2: two machines" wait_for 20 sh -c \
    "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/nodegroups/default/burst/machines | jq '[.[] | select(.provider_id)] | length')\" = 2 ]"
sched_wait_round
check_eq "two creates, each with its machine's id" "$(creates) $(machines burst -c '[.[].provider_id] | sort')" \
    "2 [\"i-burst-1\",\"i-burst-2\"]"
check_eq "one nodegroup.limit event" "$(count_events nodegroup.limit)" 1
check_has "naming the limit" "$(api_jq '/v1/grids/default/events?type=nodegroup.limit' '.[0].message')" \
    "max_nodes_total of 2 holds launches back (0 nodes and machines on their way, 2 more allowed)"
check_has "plan shows it" "$("$B" nodegroup plan burst)" "max_nodes_total of 2"

"$B" nodegroup set burst cost_per_hour=100 >/dev/null
api PATCH /v1/grids/default '{"settings":{"max_nodes_total":0,"max_cost_per_hour":250}}'
check "the cost budget: its own event" wait_for 20 sh -c \
    "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' '$API/v1/grids/default/events?type=nodegroup.limit' | jq length)\" = 2 ]"
sched_wait_round
check_eq "still two machines, one event for the cost" "$(machines burst length) $(count_events nodegroup.limit)" "2 2"
check_has "naming the budget" "$(api_jq '/v1/grids/default/events?type=nodegroup.limit' 'last.message')" \
    "max_cost_per_hour of 250 holds launches back (200 per hour now, 100 more"

api PATCH /v1/grids/default '{"settings":{"max_cost_per_hour":0,"max_launches_per_hour":3}}'
check "three launches an hour: a third machine" wait_for 20 sh -c \
    "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/nodegroups/default/burst/machines | jq length)\" = 3 ]"
check "and its own event" wait_for 20 sh -c \
    "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' '$API/v1/grids/default/events?type=nodegroup.limit' | jq length)\" = 3 ]"
sched_wait_round
check_eq "no fourth launch, no fourth event" "$(machines burst length) $(creates) $(count_events nodegroup.limit)" "3 3 3"
check_has "naming the rate" "$(api_jq '/v1/grids/default/events?type=nodegroup.limit' 'last.message')" \
    "max_launches_per_hour of 3 holds launches back (2 launched in the last hour, 1 more allowed)"

# ---- 3. a program that fails ------------------------------------------------------
# One instance only groups labelled tier=x may run (burst's machines on
# their way would take any other), and a group per failure (each backs
# off after its own, and the next takes the demand).
"$B" nodegroup set burst max=0 >/dev/null
api PATCH /v1/grids/default '{"settings":{"max_launches_per_hour":0}}'
api POST /v1/grids/default/stacks '{"stack":"t/x","services":{"x":{"image":"busybox","instances":1,"cpus":1,"affinity":["label==tier=x"]}}}'
api POST /v1/stacks/default/x/deploy
"$B" nodegroup create fail --provider exec --max 1 --set cpus=1 --label tier=x \
    --set "exec_program=$P" --set backoff_s=1h --set backoff_max_s=1h \
    --set exec_timeout_s=20 >/dev/null || notok "nodegroup create fail"
# Group "fail" only: a new group sees the demand at once.
check "exit 1: an event naming the cause" wait_for 20 sh -c \
    "curl -s -H 'Authorization: Bearer $TOKEN' '$API/v1/grids/default/events?type=machine.launch_failed' | jq -r '.[].message' | grep -q 'exit status 1: quota exceeded for burst (test)'"
check_has "the group backs off" "$(api_jq '/v1/grids/default/events?type=nodegroup.backoff' 'last.message')" \
    "group fail: no launch for 1h"
check "nothing was made: the machine is forgotten without a delete" wait_for 20 sh -c \
    "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/nodegroups/default/fail/machines | jq length)\" = 0 ]"
check_has "its terminate event says so" "$(api_jq '/v1/grids/default/events?type=machine.terminate' 'last.message')" \
    "nothing was created"
check_eq "no delete called for it" "$(grep -c '^delete .*"fail-' "$CALLS")" 0

# garbage: a group per failure (a group backs off after its own)
"$B" nodegroup create junk --provider exec --max 1 --set cpus=1 --label tier=x \
    --set "exec_program=$P" --set backoff_s=1h --set backoff_max_s=1h >/dev/null
check "garbage: an event naming it" wait_for 20 sh -c \
    "curl -s -H 'Authorization: Bearer $TOKEN' '$API/v1/grids/default/events?type=machine.launch_failed' | jq -r '.[].message' | grep -q 'not a JSON object.*Traceback'"
check "it may have made something: deleted by name, then forgotten" wait_for 20 sh -c \
    "grep -q '^delete .*\"machine\":\"junk-[0-9]*\",\"id\":null' '$CALLS' && [ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/nodegroups/default/junk/machines | jq length)\" = 0 ]"

# A call in flight holds no round up: slow's create blocks until let go.
"$B" nodegroup create slow --provider exec --max 1 --set cpus=1 --label tier=x \
    --set "exec_program=$P" --set exec_timeout_s=60 --set backoff_s=1h \
    --set backoff_max_s=1h >/dev/null
check "slow: its create is in flight" wait_for 20 sh -c "grep -q '^create .*\"group\":\"slow\"' '$CALLS'"
sched_wait_round
sched_wait_round
check_eq "rounds go on meanwhile; the machine is launching" \
    "$(machines slow -r '.[0].state')" launching
touch "$TMP/release"
check "its answer is applied when it comes" wait_for 20 sh -c \
    "curl -s -H 'Authorization: Bearer $TOKEN' '$API/v1/grids/default/events?type=machine.launch_failed' | jq -r '.[].message' | grep -q 'released by the test'"

# A hang: killed at the timeout with its process group.
"$B" nodegroup create hang --provider exec --max 1 --set cpus=1 --label tier=x \
    --set "exec_program=$P" --set exec_timeout_s=2 --set backoff_s=1h \
    --set backoff_max_s=1h >/dev/null
check "killed at its timeout: an event naming it" wait_for 30 sh -c \
    "curl -s -H 'Authorization: Bearer $TOKEN' '$API/v1/grids/default/events?type=machine.launch_failed' | jq -r '.[].message' | grep -q 'timed out after 2s (killed)'"
check "the program's process group is gone (its sleep too)" wait_for 10 sh -c \
    "[ -s '$TMP/sleep.pid' ] && ! kill -0 \$(cat '$TMP/sleep.pid') 2>/dev/null"
check "deleted by name and forgotten" wait_for 20 sh -c \
    "grep -q '^delete .*\"machine\":\"hang-[0-9]*\"' '$CALLS' && [ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/nodegroups/default/hang/machines | jq length)\" = 0 ]"
check_eq "four groups backed off" "$(count_events nodegroup.backoff)" 4

# ---- 5. an orphan ----------------------------------------------------------------
echo "i-stray orph-999" >"$TMP/inst-orph"
"$B" nodegroup create orph --provider exec --max 0 --set "exec_program=$P" \
    --set list_interval_s=1s >/dev/null
check "listed: the stray instance is an orphan, deleted" wait_for 20 sh -c \
    "grep -q '^delete .*\"group\":\"orph\",\"machine\":\"orph-999\",\"id\":\"i-stray\"' '$CALLS'"
check_has "with an event naming it" \
    "$(api_jq '/v1/grids/default/events?type=machine.orphan' 'last.message')" \
    "group orph: instance i-stray (machine orph-999) has no machine: deleting it"
check "listed again" wait_for 20 sh -c "[ \$(grep -c '^list .*\"group\":\"orph\"' '$CALLS') -ge 3 ]"
check_eq "one orphan event: it is gone" "$(count_events machine.orphan)" 1
check_eq "burst's instances are its machines: no orphan there" \
    "$(grep -c '^delete .*"group":"burst"' "$CALLS")" 0
master_stop
