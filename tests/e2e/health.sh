#!/usr/bin/env bash
# health.sh - health_check on a real agent and the real Docker Engine
# (issue 15.7, docs/health.md): a service whose http check passes deploys
# and shows healthy; one whose tcp port never answers is restarted after
# three failed probes (the restart counted, with an event) and its deploy
# fails at its deadline saying "unhealthy: <the last probe's error>"; one
# whose http check answers 404 fails the same way with the status.
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/test-image.sh" >/dev/null || { notok "build the local test image"; exit 1; }
B=$BIN/berth
D=$TMP/data
master_start "$D" --deploy-timeout-s 15 || exit 1
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":3}}'
agent_start h1 "az=a"
wait_for 15 api_jq /v1/nodes/default/h1 '.status == "online"' -e
check_eq "a real agent is online" "$(node_status h1)" online

# busybox httpd serves /www (index.html) on 8080; a check every second.
cat >"$TMP/good.yml" <<'YML'
stack: e2e/good
services:
  web:
    image: berth-test/busybox:latest
    command: httpd -f -p 8080 -h /www
    stop_grace_period: 1s
    health_check:
      protocol: http
      port: 8080
      uri: /index.html
      timeout: 2
      interval: 1
      initial_delay: 0
YML
# Nothing listens on 9999: every probe is refused.
cat >"$TMP/closed.yml" <<'YML'
stack: e2e/closed
services:
  web:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    stop_grace_period: 1s
    health_check:
      protocol: tcp
      port: 9999
      timeout: 1
      interval: 1
      initial_delay: 0
YML
# httpd answers, but 404 for this uri.
sed -e 's|e2e/good|e2e/missing|' -e 's|uri: /index.html|uri: /nope|' \
    "$TMP/good.yml" >"$TMP/missing.yml"

# The two that fail wait out the deploy timeout side by side.
"$B" stack install "$TMP/closed.yml" >"$TMP/closed.out" 2>&1 &
p_closed=$!
"$B" stack install "$TMP/missing.yml" >"$TMP/missing.out" 2>&1 &
p_missing=$!

out=$("$B" stack install "$TMP/good.yml" 2>&1)
check_eq "a service whose http health check passes deploys" "$?" 0
check "  with no warning about health_check" test "${out/health_check/}" = "$out"
api GET /v1/services/default/good/web/containers
check_eq "  its instance is running and healthy" \
    "$(jq -r '.[0] | "\(.state) \(.health) \(.health_error) \(.health_restarts)"' <<<"$BODY")" \
    "running healthy null 0"
check_has "berth service containers shows a HEALTH column" \
    "$("$B" service containers good/web)" "HEALTH"
check_has "  saying healthy" "$("$B" service containers good/web | sed -n 2p)" "healthy"

# The refused one: unhealthy, and restarted after three failed probes.
check "the refused one is restarted for failing its health check" \
    wait_for 20 api_jq /v1/services/default/closed/web/containers \
    '.[0].health_restarts >= 1' -e
api GET /v1/services/default/closed/web/containers
check_eq "  its health is not healthy" \
    "$(jq -r '.[0].health | . == "unhealthy" or . == "starting"' <<<"$BODY")" true
check_has "  the last failure says why" "$(jq -r '.[0].health_error' <<<"$BODY")" \
    ":9999: Connection refused"
check "  and the restarts are counted" test "$(jq -r '.[0].restarts' <<<"$BODY")" -ge 1
api GET '/v1/grids/default/events?type=instance.restart'
check_has "  an instance.restart event says why" \
    "$(jq -r '.[].message' <<<"$BODY")" "closed/web#1 on node h1 was restarted: unhealthy (connect to"
api GET '/v1/grids/default/events?type=instance.unhealthy'
check_has "  an instance.unhealthy event too" \
    "$(jq -r '.[].message' <<<"$BODY")" "closed/web#1 on node h1 is unhealthy: connect to"
check_has "  the agent logs the restart" "$(cat "$TMP/agents/h1.log")" \
    "restarting closed.web-1."

wait "$p_closed"
check_eq "the deploy of the never-healthy service fails" "$?" 1
tail -n 2 "$TMP/closed.out" "$TMP/missing.out" | sed 's/^/# /'
check_has "  at its deadline, saying it is unhealthy and why" "$(cat "$TMP/closed.out")" \
    "timed out after 15s"
check_has "  (the last probe's error)" "$(cat "$TMP/closed.out")" \
    "is starting: unhealthy: connect to "
check_has "  the stack's deploy_error says the same" \
    "$(api_jq /v1/stacks/default/closed .deploy_error)" ":9999: Connection refused"
wait "$p_missing"
check_eq "an http check answered 404 fails its deploy" "$?" 1
# The deploy's error quotes the last probe's. Three 404s in a row restart
# the container, so when the deadline falls in a restart (likelier on a
# loaded machine) the last probe was refused instead: then the 404 is in
# the instance.unhealthy events.
check_has "  saying it is unhealthy" "$(cat "$TMP/missing.out")" \
    "is starting: unhealthy: "
api GET '/v1/grids/default/events?type=instance.unhealthy'
check_has "  naming the status (404), in its error or its unhealthy events" \
    "$(cat "$TMP/missing.out"; jq -r '.[].message' <<<"$BODY")" \
    "unhealthy: GET http://"
check_has "  ... of the uri" "$(cat "$TMP/missing.out"; jq -r '.[].message' <<<"$BODY")" \
    "/nope: status 404"

"$B" stack rm --force closed >/dev/null
"$B" stack rm --force missing >/dev/null
"$B" stack rm --force good >/dev/null
check "the stacks are removed" wait_for 20 sh -c '[ -z "$(docker ps -q --filter label=berth.node='"$(node_id h1)"')" ]'
