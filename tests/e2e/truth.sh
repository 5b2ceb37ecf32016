#!/usr/bin/env bash
# truth.sh - what berth shows is the truth, against real agents on the real
# Docker Engine (issue 19, with 21.6 and 21.7): a crash loop is a failed
# deploy, not a success; a manual scale survives an unchanged upgrade and
# an instance count recreates nothing; a new service never adopts the
# containers of a removed one (the race made certain with SIGSTOP of the
# agent); a paused container is "paused"; a dead engine behind a live agent
# is "engine down" and everything resumes when it returns; an unpullable
# image is retried within the deploy's time; an offline node's containers
# are unknown.
#
# The dead engine: agent a2 reaches Docker through tests/tools/sockproxy.py
# (DOCKER_HOST=unix://$TMP/docker.sock); killing the proxy removes the
# socket and closes its connections, which is what the agent sees when
# dockerd stops. The containers keep running in the real engine, as they
# would behind a crashed dockerd's socket.
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/test-image.sh" >/dev/null || { notok "build the local test image"; exit 1; }
D=$TMP/data
DEPLOY_TIMEOUT=120	# generous: a loaded engine has taken a minute to create and start one container
master_start "$D" --deploy-timeout-s "$DEPLOY_TIMEOUT" || exit 1
# Offline after 8 s: the agent stopped for 3 s below must stay online.
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":8}}'
api PATCH /v1/grids/default '{"settings":{"instance_settle_s":3}}'
check_eq "the settle time is a grid setting" "$STATUS" 200
B=$BIN/berth
SOCK=$TMP/docker.sock
proxy_start() {
	python3 "$ROOT/tests/tools/sockproxy.py" "$SOCK" /var/run/docker.sock &
	echo $! >"$TMP/proxy.pid"
	wait_for 10 test -S "$SOCK"
}
proxy_stop() { kill "$(cat "$TMP/proxy.pid")" 2>/dev/null; wait "$(cat "$TMP/proxy.pid")" 2>/dev/null; }
at_exit proxy_stop
proxy_start

agent_start a1 "az=a" BERTH_LOG_LEVEL=debug
agent_start a2 "az=b" DOCKER_HOST="unix://$SOCK"
wait_for 20 sh -c '[ "$(curl -s -H "Authorization: Bearer '"$TOKEN"'" '"$API"'/v1/grids/default/nodes | jq "[.[] | select(.status == \"online\")] | length")" = 2 ]'
check_eq "two real agents online" "$(node_status a1) $(node_status a2)" "online online"
ids_of() { docker ps -q --no-trunc --filter "label=berth.stack=$1" --filter "label=berth.node=$(node_id a1)" | sort | tr '\n' ' '; }
containers_json() { api_jq "/v1/services/default/$1/containers" "${2:-.}" -c; }

# ---- 19.1: a crash loop is a failed deploy, and says why ----------------------
cat >"$TMP/crash.yml" <<'YML'
stack: e2e/crash
services:
  loop:
    image: berth-test/busybox:latest
    command: sh -c 'echo booting; echo boom; exit 3'
    instances: 2
    affinity:
      - node==a1
YML
out=$("$B" stack install "$TMP/crash.yml" 2>&1)
check_eq "a crash-looping service fails its deploy" "$?" 1
check_has "the install says it is crashing" "$out" "crashing"
check_has "...with its exit code" "$out" "exit code 3"
check_has "...and its last output" "$out" "boom"
# Docker restarts it with a growing backoff; between two exits it runs for
# a moment, which a loaded engine may show for a while: wait for the
# agent's word while it is down.
wait_for 30 api_jq /v1/services/default/crash/loop/containers \
    '.[0].state == "crashing" and .[0].exit_code == 3' -e
c=$(containers_json crash/loop '.[0]')
check_eq "service containers: crashing" "$(jq -r .state <<<"$c")" crashing
check_eq "...with the exit code" "$(jq -r .exit_code <<<"$c")" 3
check "...and restarts counted" jq -ne 'input | .restarts >= 1' <<<"$c"
check_has "...and the last output lines" "$(jq -r .last_output <<<"$c")" "boom"
out=$("$B" service containers crash/loop)
check_has "the containers table shows crashing" "$out" "crashing"
check_has "...and the last output" "$out" "boom"
check_eq "stack ls does not call it a success" \
    "$("$B" stack ls --json | jq -r '.[] | select(.name == "crash") | .deploy_state')" error
check_has "the event log says so" \
    "$(api_jq '/v1/grids/default/events?type=deploy.error' '.[].message')" "crashing"
"$B" stack rm --force --yes crash >/dev/null

# ---- 19.4: an upgrade keeps a manual scale and recreates nothing ----------------
cat >"$TMP/web.yml" <<'YML'
stack: e2e/web
services:
  web:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    instances: 2
    stop_grace_period: 2s
    affinity:
      - node==a1
YML
"$B" stack install "$TMP/web.yml" >/dev/null
check_eq "a service that stays up deploys" "$?" 0
"$B" service scale web/web 4 >/dev/null
check "scaled to 4: four containers run" wait_for 30 \
    api_jq /v1/services/default/web/web/containers '[.[] | select(.state == "running")] | length == 4' -e
before=$(ids_of web)
out=$("$B" stack upgrade web "$TMP/web.yml" 2>&1)
check_eq "re-applying the unchanged file deploys" "$?" 0
check_eq "...and keeps the manual scale" "$(api_jq /v1/services/default/web/web '[.instances, .rev]' -c)" "[4,1]"
# The evidence before the absence: a converge pass that reported after it.
from=$(agent_log_size a1)
check "...with the agent converged since" wait_for 20 sh -c \
    "tail -c +$((from + 1)) '$TMP/agents/a1.log' | grep -q ' state: '"
check_eq "...and recreates no container" "$(ids_of web)" "$before"
check_eq "...nor decided to" "$(agent_actions a1 "$from")" ""
sed 's/instances: 2/instances: 3/' "$TMP/web.yml" >"$TMP/web3.yml"
"$B" stack upgrade web "$TMP/web3.yml" >/dev/null
check "a file that changes only instances: three run" wait_for 30 \
    api_jq /v1/services/default/web/web/containers 'length == 3 and ([.[] | select(.state == "running")] | length == 3)' -e
check "...and the fourth is gone from Docker" wait_for 30 \
    sh -c "[ \$(docker ps -q --filter label=berth.stack=web --filter label=berth.node=$(node_id a1) | wc -l) = 3 ]"
after=$(ids_of web)
kept=0
for id in $after; do case " $before " in *" $id "*) kept=$((kept + 1)) ;; esac; done
check_eq "...and recreates none of them" "$kept" 3

# ---- 21.6: a paused container is paused ---------------------------------------
victim=$(echo $after | cut -d' ' -f1)
docker pause "$victim" >/dev/null
check "a paused container is reported paused" wait_for 15 \
    api_jq /v1/services/default/web/web/containers "[.[] | select(.container_id == \"$victim\")][0].state == \"paused\"" -e
check_eq "...and not counted running" "$(api_jq /v1/services/default/web/web .running)" 2
out=$("$B" stack deploy web 2>&1)
check_eq "a deploy sees the paused instance" "$?" 1
check_has "...and says so" "$out" "paused"
docker unpause "$victim" >/dev/null
check "unpaused, it runs again" wait_for 15 \
    api_jq /v1/services/default/web/web/containers "[.[] | select(.container_id == \"$victim\")][0].state == \"running\"" -e

# ---- 19.3: a new service never adopts a removed one's containers ----------------
cat >"$TMP/race.yml" <<'YML'
stack: e2e/race
services:
  app:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; echo old; while true; do sleep 1; done'
    stop_grace_period: 2s
    affinity:
      - node==a1
YML
"$B" stack install "$TMP/race.yml" >/dev/null
old=$(ids_of race)
old_sid=$(api_jq /v1/services/default/race/app .id)
check_eq "the first service runs one container" "$(wc -w <<<"$old")" 1
# The agent misses everything between the removal and the new install.
kill -STOP "$(cat "$TMP/agents/a1.pid")"
api DELETE "/v1/stacks/default/race?force=1"
sed 's/echo old/echo new/' "$TMP/race.yml" >"$TMP/race2.yml"
api POST /v1/grids/default/stacks "$(cat "$TMP/race2.yml")" application/yaml
new_sid=$(jq -r '.services[0].id' <<<"$BODY")
api POST /v1/stacks/default/race/deploy
deploy=$(jq -r .id <<<"$BODY")
sleep 3
kill -CONT "$(cat "$TMP/agents/a1.pid")"
wait_for 60 api_jq "/v1/stacks/default/race/deploys/$deploy" '.state != "ongoing" and .state != "created"' -e
check_eq "the new service's deploy succeeds" \
    "$(api_jq "/v1/stacks/default/race/deploys/$deploy" '.state + " " + (.error // "")')" "success "
check "the new service has an id of its own ($old_sid, $new_sid)" test "$new_sid" != "$old_sid"
now=$(ids_of race)
check "the old container is not the new service's" test "$now" != "$old"
check_has "the new service runs the new code" \
    "$(docker inspect -f '{{json .Config.Cmd}}' $now 2>&1)" "echo new"
check "the old container goes" wait_for 20 sh -c "! docker ps -q --no-trunc | grep -q '$(echo $old)'"

# ---- 19.2 / 21.7: a dead engine behind a live agent -------------------------------
cat >"$TMP/eng.yml" <<'YML'
stack: e2e/eng
services:
  e:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    stop_grace_period: 2s
    affinity:
      - node==a2
YML
"$B" stack install "$TMP/eng.yml" >/dev/null
check_eq "a service runs on a2" "$(containers_json eng/e '.[0].state')" running
proxy_stop
check "a2's engine is reported down" wait_for 20 \
    api_jq /v1/nodes/default/a2 '.engine == "down"' -e
api GET /v1/nodes/default/a2
check_eq "...while its agent is connected" "$(jq -r .status <<<"$BODY")" online
reason=$(jq -r .engine_error <<<"$BODY")
check_has "...in plain words" "$reason" "$SOCK"
check "...not curl's" sh -c 'case "$1" in *"t connect"*|*curl*) exit 1;; esac' _ "$reason"
check_has "node ls: online, engine down" "$("$B" node ls)" "online, engine down"
c=$(containers_json eng/e '.[0]')
check_eq "its instances are unknown" "$(jq -r .state <<<"$c")" unknown
check_has "...with the reason" "$(jq -r .error <<<"$c")" "Docker Engine of node a2 is down"
t0=$SECONDS
sed -e 's/e2e\/eng/e2e\/need/' "$TMP/eng.yml" >"$TMP/need.yml"
out=$("$B" stack install "$TMP/need.yml" 2>&1)
check_eq "a deploy that needs the node fails" "$?" 1
check_has "...with the reason" "$out" "Docker Engine"
check "...fast, not at the deploy timeout ($((SECONDS - t0)) s)" test $((SECONDS - t0)) -lt "$DEPLOY_TIMEOUT"
cat >"$TMP/any.yml" <<'YML'
stack: e2e/any
services:
  any:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    instances: 2
    stop_grace_period: 2s
YML
"$B" stack install "$TMP/any.yml" >/dev/null
check_eq "a node with its engine down takes no new placements" \
    "$(containers_json any/any '[.[].node] | unique | join(",")')" a1
proxy_start
check "the engine is back: reported up" wait_for 20 \
    api_jq /v1/nodes/default/a2 '.engine == "up"' -e
check "...its instances run again" wait_for 20 \
    api_jq /v1/services/default/eng/e/containers '.[0].state == "running"' -e
out=$("$B" stack deploy need 2>&1)
check_eq "...and a deploy that needs it succeeds by itself" "$?" 0

# ---- 19.6: a failed pull is retried within the deploy's time --------------------
cat >"$TMP/bad.yml" <<'YML'
stack: e2e/bad
services:
  bad:
    image: berth-test/nothing-here:1
    affinity:
      - node==a1
YML
api POST /v1/grids/default/stacks "$(cat "$TMP/bad.yml")" application/yaml
api POST /v1/stacks/default/bad/deploy
deploy=$(jq -r .id <<<"$BODY")
check "the failed pull is the instance's reason" wait_for 30 \
    api_jq /v1/services/default/bad/bad/containers '.[0].error // "" | contains("nothing-here")' -e
from=$(agent_log_size a1)
check "the agent pulls again" wait_for 30 sh -c "tail -c +$((from + 1)) '$TMP/agents/a1.log' | grep -q nothing-here"
check_eq "...while the deploy goes on" \
    "$(api_jq "/v1/stacks/default/bad/deploys/$deploy" .state)" ongoing
api DELETE "/v1/stacks/default/bad?force=1"

# ---- 19.6: an offline node's containers are unknown -------------------------------
agent_stop a2 KILL
check "a2 goes offline" wait_for 15 api_jq /v1/nodes/default/a2 '.status == "offline"' -e
c=$(containers_json eng/e '.[0]')
check_eq "the containers of an offline node are unknown" "$(jq -r .state <<<"$c")" unknown
check_has "...because it is offline" "$(jq -r .error <<<"$c")" "node offline"
check_eq "an offline node shows no load" "$(api_jq /v1/nodes/default/a2 .cpu_pct)" null

for s in web need eng any; do "$B" stack rm --force --yes "$s" >/dev/null 2>&1; done
exit 0
