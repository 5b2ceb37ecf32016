#!/usr/bin/env bash
# test-lane: side
# vault.sh - secrets on a real agent and the real Docker Engine (issue 15):
# a service's secrets reach its container's environment (docker inspect);
# the values appear in no log (master, agent), no event, no API reply but
# vault read, and the store holds them only sealed; a changed secret
# reaches the container with the next deploy, not before. A service's
# logging: becomes the container's Docker log config.
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/test-image.sh" >/dev/null || { notok "build the local test image"; exit 1; }
B=$BIN/berth
D=$TMP/data
master_start "$D" || exit 1
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":3}}'
agent_start v1 "az=a" BERTH_LOG_LEVEL=debug
wait_for 15 api_jq /v1/nodes/default/v1 '.status == "online"' -e
check_eq "a real agent is online" "$(node_status v1)" online

# Values distinct enough that a grep finds only them.
S1=one-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
S2=two-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
BODIES=$TMP/bodies
: >"$BODIES"
keep() { curl -s -H "Authorization: Bearer $TOKEN" "$API$1" >>"$BODIES"; echo >>"$BODIES"; }

printf '%s\n' "$S1" | "$B" vault write db-pw >/dev/null
check_eq "berth vault write db-pw (the value on stdin)" "$?" 0

cat >"$TMP/app.yml" <<'YML'
stack: e2e/app
variables:
  api_key:
    type: string
    from:
      vault: ${STACK}-api-key
      random_string: 24
    to:
      vault: ${STACK}-api-key
services:
  web:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    stop_grace_period: 2s
    environment:
      - PLAIN=visible
    logging:
      driver: json-file
      options:
        max-size: 1m
        max-file: 2
    secrets:
      - secret: db-pw
        name: DB_PASSWORD
        type: env
      - secret: ${STACK}-api-key
        name: API_KEY
        type: env
YML
"$B" stack install "$TMP/app.yml" >"$TMP/out" 2>&1
check_eq "install a stack whose service has secrets" "$?" 0
wait_for 30 sh -c '[ -n "$(docker ps -q --filter label=berth.stack=app --filter label=berth.grid=default)" ]'
c1=$(containers --filter label=berth.stack=app)
check_eq "one container runs" "$(wc -w <<<"$c1")" 1
KEY=$("$B" vault read app-api-key)
check_eq "the generated key is in the vault (24 characters)" "${#KEY}" 24
env1=$(docker inspect -f '{{json .Config.Env}}' "$c1")
check_has "DB_PASSWORD reaches the container's environment" "$env1" "\"DB_PASSWORD=$S1\""
check_has "API_KEY (generated, to: vault) reaches it too" "$env1" "\"API_KEY=$KEY\""
check_has "and the plain environment" "$env1" '"PLAIN=visible"'
check_eq "logging: Docker's log config, as the stack file says" \
    "$(docker inspect -f '{{.HostConfig.LogConfig.Type}} {{index .HostConfig.LogConfig.Config "max-size"}} {{index .HostConfig.LogConfig.Config "max-file"}}' "$c1")" \
    "json-file 1m 2"

# A changed secret: the service moves to a new revision at once, the
# container keeps its value until the next deploy replaces it.
printf '%s\n' "$S2" | "$B" vault update db-pw >/dev/null
check_eq "berth vault update db-pw" "$?" 0
check_eq "the service is at revision 2" "$(api_jq /v1/services/default/app/web .rev)" 2
from=$(agent_log_size v1)
sched_wait_round
# The evidence: the agent took a desired set (its periodic resync) and
# converged on it after the update, and decided on nothing.
check "the agent converged after the update" wait_for 60 agent_synced v1 "$from"
check_eq "  creating, starting or removing nothing" "$(agent_actions v1 "$from")" ""
check_eq "before a deploy the container is the same" \
    "$(containers --filter label=berth.stack=app)" "$c1"
check_has "  and still has the old value" \
    "$(docker inspect -f '{{json .Config.Env}}' "$c1")" "\"DB_PASSWORD=$S1\""
"$B" stack deploy app >"$TMP/out" 2>&1
check_eq "berth stack deploy app" "$?" 0
wait_for 30 sh -c 'c=$(docker ps -q --filter label=berth.stack=app --filter label=berth.rev=2); [ -n "$c" ]'
c2=$(containers --filter label=berth.stack=app --filter label=berth.rev=2)
check "the deploy replaced the container (revision 2)" test -n "$c2" -a "$c2" != "$c1"
check_has "  which starts with the new value" \
    "$(docker inspect -f '{{json .Config.Env}}' "$c2")" "\"DB_PASSWORD=$S2\""

# Nowhere else: no reply but vault read, no event, no log, the store sealed.
keep /v1/grids/default/events
keep /v1/grids/default/stacks
keep /v1/stacks/default/app
keep /v1/grids/default/services
keep /v1/services/default/app/web
keep /v1/services/default/app/web/containers
keep /v1/grids/default/vault
keep /v1/grids/default/nodes
for s in "$S1" "$S2" "$KEY"; do
	n=${s:0:3}
	check "$n...: in no API reply but vault read" sh -c "! grep -qF -- '$s' '$BODIES'"
	check "$n...: in no event" sh -c "! curl -s -H 'Authorization: Bearer $TOKEN' '$API/v1/grids/default/events?limit=1000' | grep -qF -- '$s'"
	check "$n...: not in the master's log" sh -c "! grep -qF -- '$s' '$D/master.log'"
	check "$n...: not in the agent's log (debug level)" sh -c "! grep -qF -- '$s' '$TMP/agents/v1.log'"
	check "$n...: not in the store, its WAL or any file of the data dir" sh -c "! grep -rqaF -- '$s' '$D'"
done
check_has "reads are events (vault.read)" \
    "$(api_jq '/v1/grids/default/events?type=vault.read' '[.[].subject] | join(",")')" "app-api-key"

"$B" stack rm --force app >/dev/null
check_eq "stack rm" "$?" 0
