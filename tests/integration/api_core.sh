#!/usr/bin/env bash
# api_core.sh - the REST API of a real berth-master on loopback: every
# route's happy path, every error status, auth on every /v1 route, and
# persistence across a restart.
. "$(dirname "$0")/../lib.sh"

D=$TMP/data
master_start "$D" || exit 1

# ---- open routes -----------------------------------------------------------
api_noauth GET /healthz
check_eq "GET /healthz needs no token" "$STATUS" 200
api_noauth GET /metrics
check_eq "GET /metrics needs no token" "$STATUS" 200
M=$(curl -s "$API/metrics")
check_has "metrics: nodes by state" "$M" 'berth_nodes{state="online"} 0'
check_has "metrics: grids" "$M" 'berth_grids 1'
check_has "metrics: requests by status" "$M" 'berth_api_requests_total{status="200"}'
sched_rounds() {
	curl -s "$API/metrics" |
	    awk '$1 == "berth_sched_rounds_total" { print $2 }'
}
check "metrics: the scheduler's rounds are counted" \
    wait_for 10 eval '[ "$(sched_rounds)" -ge 1 ] 2>/dev/null'
check_has "metrics: the longest round" "$(curl -s "$API/metrics")" \
    'berth_sched_round_max_seconds '
check_has "metrics: waits for the store's write lock" "$(curl -s "$API/metrics")" \
    'berth_store_lock_wait_seconds_total '

# ---- auth on every /v1 route, from the master's own route table -----------
n_auth=0
bad=""
while read -r method pattern mode; do
	path=${pattern//\{\}/x}
	if [ "$mode" = open ]; then
		continue
	fi
	n_auth=$((n_auth + 1))
	api_noauth "$method" "$path"
	[ "$STATUS" = 401 ] || bad="$bad $method:$path:no-token=$STATUS"
	api_noauth "$method" "$path" "Authorization: Bearer 0000"
	[ "$STATUS" = 403 ] || bad="$bad $method:$path:wrong=$STATUS"
	api_noauth "$method" "$path" "Authorization: Basic Zm9vOmJhcg=="
	[ "$STATUS" = 401 ] || bad="$bad $method:$path:basic=$STATUS"
done < <("$BIN/berth-master" --print-routes)
check_eq "every /v1 route refuses a missing (401) or wrong (403) token [$n_auth routes]" "$bad" ""
check "route table lists at least the core routes" test "$n_auth" -ge 15
"$BIN/berth-master" --print-routes | grep -v ' open$' | grep -vq '^[A-Z]* /v1/' &&
    notok "a non-/v1 route needs auth" ||
    ok "only /v1 routes and the open ones exist"
# Open: health, metrics and the installer + agent binary (cloud_config.sh),
# and a joining master's trade of its join token (ha_three.sh).
"$BIN/berth-master" --print-routes | grep ' open$' |
    grep -Evq '^(GET (/healthz|/metrics|/install/[a-z.-]+)|POST /v1/masters/join) open$' &&
    notok "a route other than /healthz, /metrics, /install/*, /v1/masters/join is open" ||
    ok "only /healthz, /metrics, /install/* and /v1/masters/join are open"

# ---- grids ------------------------------------------------------------------
api GET /v1/grids
check_eq "list grids" "$STATUS" 200
check_eq "first start created grid default" "$(jq -r '.[].name' <<<"$BODY")" default
check_eq "default settings" \
    "$(jq -c '.[0].settings' <<<"$BODY")" \
    '{"heartbeat_interval_s":5,"offline_after_s":15,"ephemeral_removal_s":1200,"ha_grace_s":120,"random_grace_s":30,"rebalance_settle_s":10,"move_cooldown_s":600,"instance_settle_s":5,"dry_run":false,"job_lost_grace_s":120,"job_retention_s":86400,"job_retention_max":10000,"logs_max_bytes":1073741824,"logs_max_age_s":604800,"logs_container_pct":10,"drain_deadline_s":600,"max_nodes_total":0,"max_cost_per_hour":0,"max_launches_per_hour":100,"webhook_url":"","webhook_events":"nodegroup.,machine.,node.drain","webhook_timeout_s":5,"webhook_retries":3,"join_approval":"auto","network_cidr":"10.81.0.0/16","network_node_prefix":24}'

api POST /v1/grids '{"name":"prod","settings":{"offline_after_s":30}}'
check_eq "create grid: 201" "$STATUS" 201
PROD_TOKEN=$(jq -r .token <<<"$BODY")
check "create grid returns a 64-hex token" grep -Eq '^[0-9a-f]{64}$' <<<"$PROD_TOKEN"
check_eq "create grid keeps given settings" "$(jq .settings.offline_after_s <<<"$BODY")" 30
api GET /v1/grids/prod
check_eq "show grid" "$(jq -r .name <<<"$BODY")" prod
check_eq "show grid has no token" "$(jq -r '.token // "none"' <<<"$BODY")" none

api POST /v1/grids '{"name":"prod"}'
check_eq "existing name: 409" "$STATUS" 409
api POST /v1/grids '{"name":"Prod_1"}'
check_eq "invalid name: 422" "$STATUS" 422
check_eq "invalid name names the field" "$(jq -r .field <<<"$BODY")" name
api POST /v1/grids "{\"name\":\"$(printf 'a%.0s' $(seq 64))\"}"
check_eq "64-character name: 422" "$STATUS" 422
api POST /v1/grids "{\"name\":\"$(printf 'a%.0s' $(seq 63))\"}"
check_eq "63-character name: 201" "$STATUS" 201
api POST /v1/grids '{}'
check_eq "missing name: 422 naming it" "$STATUS:$(jq -r .field <<<"$BODY")" 422:name
api POST /v1/grids '{"name":"x","colour":"red"}'
check_eq "unknown field: 422 naming it" "$STATUS:$(jq -r .field <<<"$BODY")" 422:colour
api POST /v1/grids '{"name":"x","settings":{"ha_grace_s":"soon"}}'
check_eq "bad setting type: 422 naming it" "$STATUS:$(jq -r .field <<<"$BODY")" 422:settings.ha_grace_s
api POST /v1/grids '{"name": "x",'
check_eq "malformed JSON: 400" "$STATUS" 400
check_has "malformed JSON names the problem" "$(jq -r .error <<<"$BODY")" "malformed JSON at line 1"
api POST /v1/grids '[1,2]'
check_eq "JSON that is not an object: 400" "$STATUS" 400
api POST /v1/grids '{"name":"x","name":"y"}'
check_eq "duplicate JSON key: 400" "$STATUS" 400
api POST /v1/grids ''
check_eq "empty body: 400" "$STATUS" 400
head -c $((1024 * 1024 + 10)) /dev/zero | tr '\0' ' ' >"$TMP/big"
STATUS=$(curl -s -o "$TMP/body" -w '%{http_code}' -X POST \
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    --data-binary @"$TMP/big" "$API/v1/grids")
check_eq "body over 1 MiB: 413" "$STATUS" 413
STATUS=$(head -c $((1024 * 1024 + 10)) /dev/zero | tr '\0' ' ' |
    curl -s -o "$TMP/body" -w '%{http_code}' -X POST -H 'Transfer-Encoding: chunked' \
    -H "Authorization: Bearer $TOKEN" --data-binary @- "$API/v1/grids")
check_eq "chunked body over 1 MiB: 413" "$STATUS" 413
api GET /v1/grids
check_eq "refused requests wrote nothing" "$(jq length <<<"$BODY")" 3

api PATCH /v1/grids/prod '{"settings":{"heartbeat_interval_s":2,"offline_after_s":6,"ephemeral_removal_s":60,"dry_run":true}}'
check_eq "patch settings: 200" "$STATUS" 200
check_eq "patch settings applied" "$(jq -c '[.settings.heartbeat_interval_s,.settings.offline_after_s,.settings.ephemeral_removal_s,.settings.dry_run,.settings.ha_grace_s]' <<<"$BODY")" '[2,6,60,true,120]'
api PATCH /v1/grids/prod '{"settings":{"offline_after_s":1}}'
check_eq "offline_after below heartbeat: 422" "$STATUS:$(jq -r .field <<<"$BODY")" 422:settings.offline_after_s
api PATCH /v1/grids/prod '{"settings":{"warp":1}}'
check_eq "unknown setting: 422" "$STATUS:$(jq -r .field <<<"$BODY")" 422:settings.warp
api GET /v1/grids/prod
check_eq "refused patch changed nothing" "$(jq .settings.offline_after_s <<<"$BODY")" 6
api PATCH /v1/grids/nope '{"settings":{}}'
check_eq "patch unknown grid: 404" "$STATUS" 404

api GET /v1/grids/prod/token
check_eq "show grid token" "$(jq -r .token <<<"$BODY")" "$PROD_TOKEN"
api POST /v1/grids/prod/token
NEW_TOKEN=$(jq -r .token <<<"$BODY")
check "rotate grid token gives a new token" test "$NEW_TOKEN" != "$PROD_TOKEN" -a ${#NEW_TOKEN} -eq 64
api GET /v1/grids/prod/token
check_eq "rotated token is the current one" "$(jq -r .token <<<"$BODY")" "$NEW_TOKEN"
api GET /v1/grids/default/token
check_eq "grid-default.token holds the default grid's token" \
    "$(jq -r .token <<<"$BODY")" "$(cat "$D/grid-default.token")"

# ---- routing -----------------------------------------------------------------
api GET /v1/nothing
check_eq "unknown route: 404" "$STATUS" 404
api PUT /v1/grids/prod '{}'
check_eq "wrong method: 405" "$STATUS" 405
ALLOW=$(curl -s -D - -o /dev/null -X PUT -H "Authorization: Bearer $TOKEN" "$API/v1/grids/prod" | tr -d '\r' | grep -i '^allow:')
check_has "405 lists the allowed methods" "$ALLOW" "GET, PATCH, DELETE"
api GET /v1/grids/nope
check_eq "unknown grid: 404" "$STATUS" 404
check_has "error body is {error: ...}" "$(jq -r .error <<<"$BODY")" 'no grid "nope"'

# ---- nodes (records written straight into the store; the hub tests join
# real agents) ----------------------------------------------------------------
NID=0123456789abcdef0123456789abcdef
sqlite3 "$D/berth.db" ".timeout 5000" "INSERT INTO nodes (id, grid_id, name, labels, created_at, status) SELECT '$NID', id, 'node-1', '[\"az=a\"]', 0, 'offline' FROM grids WHERE name='prod';"
api GET /v1/grids/prod/nodes
check_eq "list nodes" "$(jq -r '.[0].name + " " + .[0].id + " " + .[0].status + " " + (.[0].connected|tostring)' <<<"$BODY")" "node-1 $NID offline false"
api GET /v1/nodes/prod/node-1
check_eq "show node by name" "$(jq -c .labels <<<"$BODY")" '["az=a"]'
api GET /v1/nodes/prod/$NID
check_eq "show node by id" "$(jq -r .name <<<"$BODY")" node-1
api PATCH /v1/nodes/prod/node-1 '{"labels":["az=b","ephemeral=true"]}'
check_eq "patch node labels" "$STATUS:$(jq -c .labels <<<"$BODY")" '200:["az=b","ephemeral=true"]'
api PATCH /v1/nodes/prod/node-1 '{"labels":["az=b","bad label"]}'
check_eq "bad label: 422 naming it" "$STATUS:$(jq -r .field <<<"$BODY")" '422:labels[1]'
api PATCH /v1/nodes/prod/node-1 '{"labels":"az=b"}'
check_eq "labels not an array: 422" "$STATUS" 422
api GET /v1/nodes/prod/node-1
check_eq "refused label patch changed nothing" "$(jq -c .labels <<<"$BODY")" '["az=b","ephemeral=true"]'
api GET /v1/nodes/prod/nope
check_eq "unknown node: 404" "$STATUS" 404
api DELETE /v1/grids/prod
check_eq "delete a grid with nodes: 409" "$STATUS" 409
api POST /v1/nodes/prod/node-1/token
check_eq "reset node token" "$STATUS" 200
api DELETE /v1/nodes/prod/node-1
check_eq "delete node: 204" "$STATUS" 204
api GET /v1/nodes/prod/node-1
check_eq "deleted node is gone" "$STATUS" 404

# ---- services ------------------------------------------------------------------
api GET /v1/grids/prod/services
check_eq "list services (none yet)" "$STATUS:$BODY" "200:[]"
api GET /v1/services/prod/s/web
check_eq "unknown service: 404" "$STATUS" 404

# ---- events --------------------------------------------------------------------
api GET /v1/grids/prod/events
check_eq "events list" "$STATUS" 200
check_eq "events record what happened, in order" \
    "$(jq -r '[.[].type] | join(",")' <<<"$BODY")" \
    "grid.create,grid.settings,grid.token,node.labels,node.token,node.remove"
api GET "/v1/grids/prod/events?type=node."
check_eq "filter events by type prefix" "$(jq length <<<"$BODY")" 3
api GET "/v1/grids/prod/events?type=grid.token"
check_eq "filter events by exact type" "$(jq -r '.[0].type' <<<"$BODY"):$(jq length <<<"$BODY")" "grid.token:1"
api GET "/v1/grids/prod/events?since=2999-01-01T00:00:00Z"
check_eq "filter events by time (future: none)" "$BODY" "[]"
api GET "/v1/grids/prod/events?since=$(($(date +%s) - 3600))"
check_eq "filter events by epoch seconds" "$(jq length <<<"$BODY")" 6
api GET "/v1/grids/prod/events?since=yesterday"
check_eq "bad time filter: 422" "$STATUS:$(jq -r .field <<<"$BODY")" 422:since
api GET "/v1/grids/prod/events?limit=2"
check_eq "limit keeps the newest" "$(jq -r '[.[].type]|join(",")' <<<"$BODY")" "node.token,node.remove"

# ---- delete ---------------------------------------------------------------------
api DELETE /v1/grids/prod
check_eq "delete empty grid: 204" "$STATUS" 204
api GET /v1/grids/prod
check_eq "deleted grid is gone" "$STATUS" 404
api DELETE /v1/grids/prod
check_eq "delete it again: 404" "$STATUS" 404

# ---- restart: state and secrets persist ------------------------------------------
OP1=$(cat "$D/operator.token")
GT1=$(cat "$D/grid-default.token")
api POST /v1/grids '{"name":"kept"}'
master_stop TERM
API_PORT_FIXED=$API_PORT AGENT_PORT_FIXED=$AGENT_PORT master_start "$D" || exit 1
check_eq "operator token file unchanged after restart" "$(cat "$D/operator.token")" "$OP1"
check_eq "grid token file unchanged after restart" "$(cat "$D/grid-default.token")" "$GT1"
api GET /v1/grids
check_eq "grids persist across a restart" "$(jq -r '[.[].name]|join(",")' <<<"$BODY")" "$(printf 'a%.0s' $(seq 63)),default,kept"
api GET /v1/grids/default/token
check_eq "grid token still shows after restart" "$(jq -r .token <<<"$BODY")" "$GT1"
check "token files are mode 0600" test "$(stat -c %a "$D/operator.token" "$D/grid-default.token" "$D/master.key" | sort -u)" = 600
check "database file is private" test "$(stat -c %a "$D/berth.db")" = 600
check_eq "schema version recorded" "$(sqlite3 "$D/berth.db" 'PRAGMA user_version')" 18
check_eq "WAL mode" "$(sqlite3 "$D/berth.db" 'PRAGMA journal_mode')" wal
for t in "$OP1" "$GT1" "$PROD_TOKEN" "$NEW_TOKEN"; do
	if grep -rqF "$t" "$D/berth.db" "$D/berth.db-wal" "$D/master.log" 2>/dev/null; then
		notok "a token appears in clear in the store or the log"
	else
		ok "token absent from the store and the log"
	fi
done
master_stop TERM
