#!/usr/bin/env bash
# nodegroups.sh - node groups' API and `berth nodegroup` against a real
# master: create, list, show, set, rm; every bad field named in one 422
# (and nothing stored); providers not in this version refused by name; a
# group with machines cannot be removed; the shipped defaults.
. "$(dirname "$0")/../lib.sh"

D=$TMP/data
master_start "$D" || exit 1
B=$BIN/berth

groups_count() { api_jq /v1/grids/default/nodegroups length; }

# ---- bad input: every bad field named, nothing stored -----------------------
api POST /v1/grids/default/nodegroups \
    '{"name":"Bad_Name","provider":"nope","labels":["ephemeral=false","ok=1","x y"],"min":5,"max":-1,"settings":{"unneeded_s":0,"agent":"rel/path","bogus":1},"extra":1}'
check_eq "a bad group is refused with 422" "$STATUS" 422
fields=$(jq -r '[.errors[].field] | sort | join(" ")' <<<"$BODY")
check_eq "every bad field is named" "$fields" \
    "extra labels[0] labels[2] name provider settings.agent settings.bogus settings.max settings.unneeded_s"
check_has "the message counts the rest" "$(jq -r .error <<<"$BODY")" "more)"
check_eq "nothing stored" "$(groups_count)" 0
api POST /v1/grids/default/nodegroups '{"name":"g","provider":"process","min":3,"max":2}'
check_eq "min above max: 422 on min" "$STATUS $(jq -r .field <<<"$BODY")" "422 settings.min"
api POST /v1/grids/default/nodegroups '{"name":"g","provider":"aws-asg"}'
check_eq "aws-asg without its settings: 422 naming asg_name and region" \
    "$STATUS $(jq -r '[.errors[].field] | sort | join(" ")' <<<"$BODY")" \
    "422 settings.asg_name settings.region"
api POST /v1/grids/default/nodegroups '{"name":"g","provider":"aws-asg","settings":{"asg_name":"a","region":"EU_WEST","endpoint":"http://example.com","credentials_file":"rel","profile":"a b"}}'
check_eq "every bad aws-asg setting is named" \
    "$STATUS $(jq -r '[.errors[].field] | sort | join(" ")' <<<"$BODY")" \
    "422 settings.credentials_file settings.endpoint settings.profile settings.region"
check_has "the endpoint's rule is said" "$(jq -c .errors <<<"$BODY")" \
    "http:// only to a loopback test endpoint"
check_eq "nothing stored" "$(groups_count)" 0
out=$("$B" nodegroup create g --provider process --set unneeded_s=0 --set priority=-1 2>&1)
check "the CLI exits non-zero on a bad group" test $? -ne 0
check_has "and names each bad setting" "$out" "settings.unneeded_s: unneeded_s must be a whole number of seconds from 1 to 86400; settings.priority"
check_eq "nothing stored" "$(groups_count)" 0

# ---- create, show, list --------------------------------------------------------
out=$("$B" nodegroup create burst --provider process --min 0 --max 3 \
    --label az=a --set provision_timeout_s=2m --set memory=1GiB)
check_eq "create" "$out" "node group burst created (process, min 0, max 3)"
api GET "/v1/grids/default/cloud-config?group=burst"
check_eq "cloud-config --group of a process group: 422 on group" \
    "$STATUS $(jq -r .field <<<"$BODY")" "422 group"
api GET "/v1/grids/default/cloud-config?group=nope"
check_eq "cloud-config --group of no group: 404 on group" \
    "$STATUS $(jq -r .field <<<"$BODY")" "404 group"
api GET /v1/nodegroups/default/burst
check_eq "show: the API's form" "$(jq -c '{name,provider,min,max,size,labels}' <<<"$BODY")" \
    '{"name":"burst","provider":"process","min":0,"max":3,"size":0,"labels":["az=a"]}'
check_eq "settings from the CLI's units" \
    "$(jq -c '.settings | [.provision_timeout_s, .memory]' <<<"$BODY")" "[120,1073741824]"
check_eq "the shipped timings" \
    "$(jq -c '.settings | [.unneeded_s, .delay_after_add_s, .delay_after_failure_s, .backoff_s, .backoff_max_s]' <<<"$BODY")" \
    "[600,600,180,300,1800]"
api POST /v1/grids/default/nodegroups '{"name":"burst","provider":"process"}'
check_eq "a second burst: 409" "$STATUS" 409
"$B" nodegroup create spare --provider process --set priority=5 >/dev/null
out=$("$B" nodegroup ls)
check_has "ls: a table" "$(head -1 <<<"$out")" "NAME"
check_eq "ls: by priority" "$(awk 'NR>1 {print $1}' <<<"$out" | tr '\n' ' ')" "burst spare "
check_eq "ls --json" "$("$B" nodegroup ls --json | jq -r '.[1].settings.priority')" 5
out=$("$B" nodegroup show burst)
check_has "show names the forced labels" "$out" "ephemeral=true, berth.group=burst, az=a"

# ---- set ----------------------------------------------------------------------
out=$("$B" nodegroup set burst max=5 unneeded_s=30s labels=az=b,disk=ssd)
check_has "set: max" "$out" "(min 0, max 5)"
check_eq "set: labels replaced" "$(api_jq /v1/nodegroups/default/burst -c .labels)" '["az=b","disk=ssd"]'
check_eq "set: seconds" "$(api_jq /v1/nodegroups/default/burst .settings.unneeded_s)" 30
check_has "set writes an event" \
    "$(api_jq '/v1/grids/default/events?type=nodegroup.settings' '.[].message')" "max 3 -> 5"
"$B" nodegroup set burst min=9 >/dev/null 2>&1
check "set: min above max refused" test $? -ne 0
check_eq "and nothing changed" "$(api_jq /v1/nodegroups/default/burst .min)" 0
api PATCH /v1/nodegroups/default/burst '{"labels":["berth.group=other"]}'
check_eq "berth.group is the group's own" "$STATUS $(jq -r .field <<<"$BODY")" "422 labels[0]"
api GET /v1/nodegroups/default/nope
check_eq "no such group: 404" "$STATUS" 404
check_eq "machines: none yet" "$(api_jq /v1/nodegroups/default/burst/machines length)" 0

# ---- rm -------------------------------------------------------------------------
out=$("$B" nodegroup rm spare)
check_eq "rm" "$out" "node group spare removed"
check_eq "gone" "$(groups_count)" 1
"$B" nodegroup rm spare >/dev/null 2>&1
check "rm of a group that is not there fails" test $? -ne 0

# ---- process provider: an orphan agent is found and stopped -------------------
# Processes standing in for agents (pid file, working in the machine's
# directory, which names its group): burst-9999 of burst has no machine
# row (an orphan); other-9998 is another group's; a directory without its
# group file is not judged.
stray() {
	mkdir -p "$D/machines/$1"
	[ -z "$2" ] || echo "$2" >"$D/machines/$1/group"
	(cd "$D/machines/$1" && exec setsid sleep 300) &
	echo $! >"$D/machines/$1/agent.pid"
}
stray burst-9999 "default burst"
stray other-9998 "default other"
stray burst-9997 ""
runs() { agent_pid=$(cat "$D/machines/$1/agent.pid") && pid_alive "$agent_pid" &&
    [ "$(readlink "/proc/$agent_pid/cwd")" = "$D/machines/$1" ]; }
"$B" nodegroup set burst list_interval_s=1 >/dev/null || notok "set list_interval_s"
gone() { ! runs "$1"; }
check "the orphan is stopped" wait_for 30 gone burst-9999
check_has "with a machine.orphan event naming it" \
    "$(api_jq '/v1/grids/default/events?type=machine.orphan' '.[].message')" "(machine burst-9999) has no machine"
check "another group's agent runs on" runs other-9998
check "one without its group file too" runs burst-9997
check_eq "one orphan event" "$(api_jq '/v1/grids/default/events?type=machine.orphan' length)" 1
kill "$(cat "$D/machines/other-9998/agent.pid")" "$(cat "$D/machines/burst-9997/agent.pid")" 2>/dev/null
master_stop
