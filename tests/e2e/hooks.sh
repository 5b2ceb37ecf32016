#!/usr/bin/env bash
# hooks.sh - a service's hooks on a real agent and the real Docker Engine
# (issue 15.7, docs/hooks.md): pre_start in a container of its own,
# post_start in the instance's container after each start, pre_stop before
# a stop; instances and oneshot as Kontena had them; each run an event
# with its output; a failing post_start fails the instance (and the
# deploy) with its output.
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/test-image.sh" >/dev/null || { notok "build the local test image"; exit 1; }
B=$BIN/berth
D=$TMP/data
master_start "$D" || exit 1
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":3,"instance_settle_s":1}}'
agent_start k1 "az=a"
wait_for 15 api_jq /v1/nodes/default/k1 '.status == "online"' -e
check_eq "a real agent is online" "$(node_status k1)" online

cat >"$TMP/hk.yml" <<'YML'
stack: e2e/hk
services:
  web:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    instances: 2
    stop_grace_period: 1s
    hooks:
      pre_start:
        - name: prep
          cmd: echo preparing in a container of its own
          instances: 2
      post_start:
        - name: greet
          cmd: echo hello from $(hostname); echo on stderr >&2
          instances: "*"
        - name: once
          cmd: echo only once
          instances: 1
          oneshot: true
      pre_stop:
        - name: bye
          cmd: echo bye
YML
out=$("$B" stack install "$TMP/hk.yml" 2>&1)
check_eq "a stack with hooks installs and deploys" "$?" 0
check "  with no warning about hooks" test "${out/warning: services.web.hooks/}" = "$out"
hook_events() { api_jq '/v1/grids/default/events?type=instance.hook&limit=1000' '[.[].message] | join("\n")'; }
ev=$(hook_events)
# Docker copies the exec's stdout and stderr on two goroutines: the two
# lines may come in either order.
check_has "post_start ran in instance 1 (an event with its output)" "$ev" \
    "hk/web#1 on node k1: post_start hook greet ran: exit code 0: "
check_has "  its stdout" "$ev" "hello from"
check_has "  and its stderr" "$ev" "on stderr"
check_has "  and in instance 2" "$ev" "hk/web#2 on node k1: post_start hook greet ran"
check_has "instances: 1 ran in instance 1" "$ev" "hk/web#1 on node k1: post_start hook once ran: exit code 0: only once"
check_eq "  and not in instance 2" "$(grep -c 'web#2 .*hook once' <<<"$ev")" 0
check_has "pre_start ran for instance 2 (instances: 2), in a container of its own" "$ev" \
    "hk/web#2 on node k1: pre_start hook prep ran: exit code 0: preparing in a container of its own"
check_eq "  and not for instance 1" "$(grep -c 'web#1 .*hook prep' <<<"$ev")" 0
check_eq "  the pre_start container is gone" \
    "$(docker ps -aq --filter name=hk.web-2 | wc -l)" 1
api GET /v1/services/default/hk/web/containers
check_eq "the API shows each instance's last hook" \
    "$(jq -c '[.[] | .last_hook | {type, name, ok, exit_code}]' <<<"$BODY")" \
    '[{"type":"post_start","name":"once","ok":true,"exit_code":0},{"type":"post_start","name":"greet","ok":true,"exit_code":0}]'

# Instance 1's container stops: the agent starts it again, post_start runs
# again, the oneshot one does not.
c1=$(docker ps -q --filter name=hk.web-1.)
from=$(agent_log_size k1)
docker stop -t 1 "$c1" >/dev/null
check "a restart of instance 1 runs post_start again" \
    wait_for 30 sh -c "tail -c +$((from + 1)) '$TMP/agents/k1.log' | grep -q 'hk.web-1.*post_start hook greet: exit code 0'"
check_eq "  the oneshot hook ran once in all" \
    "$(grep -c 'post_start hook once: exit code 0' "$TMP/agents/k1.log")" 1
check_has "  remembered in the agent's data dir" "$(cat "$TMP/agents/k1/hooks-done")" "/1/post_start/once"

# A failing post_start fails the instance and the deploy, with its output.
cat >"$TMP/bad.yml" <<'YML'
stack: e2e/bad
services:
  web:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    stop_grace_period: 1s
    hooks:
      post_start:
        - name: migrate
          cmd: echo migrating; echo boom >&2; exit 3
YML
out=$("$B" stack install "$TMP/bad.yml" 2>&1)
check_eq "a deploy whose post_start hook fails fails" "$?" 1
check_has "  saying which hook and its exit code" "$out" \
    "post_start hook migrate failed: exit code 3: "
check_has "  and its output" "$out" "migrating"
api GET /v1/services/default/bad/web/containers
check_eq "the instance is in error" "$(jq -r '.[0].state' <<<"$BODY")" error
check_has "  with the hook's output" "$(jq -r '.[0].error' <<<"$BODY")" \
    "post_start hook migrate failed: exit code 3: "
check_has "  (stdout)" "$(jq -r '.[0].error' <<<"$BODY")" "migrating"
check_has "  (both streams)" "$(jq -r '.[0].error' <<<"$BODY")" "boom"
check_eq "  its last_hook says so" "$(jq -c '.[0].last_hook | [.ok, .exit_code]' <<<"$BODY")" "[false,3]"
check_has "berth service containers shows the error" \
    "$("$B" service containers bad/web)" "post_start hook migrate failed: exit code 3"
check_has "an event says so" "$(hook_events)" \
    "bad/web#1 on node k1: post_start hook migrate failed: exit code 3: "
check_eq "  and its container is not left running" \
    "$(docker ps -q --filter name=bad.web-1. | wc -l)" 0

from=$(agent_log_size k1)
"$B" stack rm --force hk >/dev/null
check "pre_stop runs before the stack's containers are stopped" \
    wait_for 20 sh -c "tail -c +$((from + 1)) '$TMP/agents/k1.log' | grep -q 'hk.web-1.*pre_stop hook bye: exit code 0'"
"$B" stack rm --force bad >/dev/null
check "the stacks are removed" wait_for 20 sh -c '[ -z "$(docker ps -aq --filter label=berth.node='"$(node_id k1)"')" ]'
