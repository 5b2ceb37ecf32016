#!/usr/bin/env bash
# lifecycle.sh - the lifecycle routes on a real master (no agents): stop is
# idempotent and starts nothing on a later deploy, restart is a new
# revision and a deploy of that one service, start refuses nothing and
# deploys, rm refuses while another service links to the service unless
# forced; every change is in the event log. (tests/e2e/lifecycle.sh sees
# the same on real agents and Docker.)
. "$(dirname "$0")/../lib.sh"

master_start "$TMP/data" || exit 1

# Daemon services no node is eligible for: deploys succeed at once.
STACK='{"stack":"t/shop","services":{
 "db":{"image":"busybox","deploy":{"strategy":"daemon"},"affinity":["label==nowhere=1"]},
 "web":{"image":"busybox","deploy":{"strategy":"daemon"},"affinity":["label==nowhere=1"],"links":["db:database"]}}}'
api POST "/v1/grids/default/stacks?name=shop" "$STACK"
check_eq "install a stack" "$STATUS" 201
api POST /v1/stacks/default/shop/deploy
wait_for 20 api_jq "/v1/stacks/default/shop/deploys/$(jq -r .id <<<"$BODY")" '.state == "success"' -e
check "its deploy succeeds" test $? = 0
deploy_done() { wait_for 20 api_jq "/v1/stacks/default/shop/deploys/$1" '.state == "success"' -e; }

api POST /v1/services/default/shop/nope/stop
check_eq "stop an unknown service: 404" "$STATUS" 404
api POST /v1/stacks/default/nope/stop
check_eq "stop an unknown stack: 404" "$STATUS" 404

# ---- stop ------------------------------------------------------------------
api POST /v1/services/default/shop/web/stop
check_eq "stop: 200" "$STATUS" 200
check_eq "the service says stopped" "$(jq -r '"\(.state) \(.stopped)"' <<<"$BODY")" "stopped true"
api POST /v1/services/default/shop/web/stop
check_eq "stop again: 200 (nothing to do)" "$STATUS" 200
check_eq "one service.stop event, not two" \
    "$(api_jq '/v1/grids/default/events?type=service.stop' length)" 1
check_eq "the stack counts it" "$(api_jq /v1/stacks/default/shop '"\(.services | length) \(.stopped_services)"')" "2 1"
api POST /v1/services/default/shop/web/restart
check_eq "restart of a stopped service: 409" "$STATUS" 409
check_has "saying why" "$BODY" "is stopped: start it"
api POST /v1/stacks/default/shop/deploy
id=$(jq -r .id <<<"$BODY")
deploy_done "$id"
check "a stack deploy with web stopped succeeds" test $? = 0
check_has "and records that web stays stopped" "$(api_jq '/v1/grids/default/events?type=deploy.service' '[.[].message] | join("|")')" \
    "service shop/web is stopped"
check_eq "web is still stopped" "$(api_jq /v1/services/default/shop/web .state)" stopped

# ---- start, restart ----------------------------------------------------------
api POST /v1/services/default/shop/web/start
check_eq "start: 202 with a deploy" "$STATUS" 202
check_eq "the deploy is of web alone" "$(jq -r '[.services[].name] | join(",")' <<<"$BODY")" web
deploy_done "$(jq -r .id <<<"$BODY")"
check "it succeeds" test $? = 0
check_eq "web runs again (state)" "$(api_jq /v1/services/default/shop/web '"\(.state) \(.stopped)"')" "running false"
rev=$(api_jq /v1/services/default/shop/web .rev)
api POST /v1/services/default/shop/web/restart
check_eq "restart: 202 with a deploy" "$STATUS" 202
check_eq "of web alone" "$(jq -r '[.services[].name] | join(",")' <<<"$BODY")" web
deploy_done "$(jq -r .id <<<"$BODY")"
check "it succeeds" test $? = 0
check_eq "a restart is the next revision" "$(api_jq /v1/services/default/shop/web .rev)" $((rev + 1))
check_eq "db keeps its revision" "$(api_jq /v1/services/default/shop/db .rev)" 1
check_has "the restart is in the event log" \
    "$(api_jq '/v1/grids/default/events?type=service.restart' '.[0].message')" "restarts as revision $((rev + 1))"

# ---- the stack ---------------------------------------------------------------
api POST /v1/stacks/default/shop/stop
check_eq "stack stop: 200 with the stack" "$STATUS/$(jq -r .stopped_services <<<"$BODY")" 200/2
api POST /v1/stacks/default/shop/restart
check_eq "stack restart with every service stopped: 409" "$STATUS" 409
api POST /v1/stacks/default/shop/start
check_eq "stack start: 202 with a deploy of both" "$STATUS $(jq -r '[.services[].name] | sort | join(",")' <<<"$BODY")" "202 db,web"
deploy_done "$(jq -r .id <<<"$BODY")"
check_eq "both run" "$(api_jq '/v1/grids/default/services?stack=shop' '[.[].state] | join(",")')" "running,running"

# ---- rm ------------------------------------------------------------------------
api DELETE /v1/services/default/shop/db
check_eq "rm of db, which web links to: 409" "$STATUS" 409
check_has "naming web" "$BODY" "linked from web"
api GET /v1/services/default/shop/db
check_eq "db is still there" "$STATUS" 200
api DELETE /v1/services/default/shop/web
check_eq "rm of web: 204" "$STATUS" 204
api GET /v1/services/default/shop/web
check_eq "web is gone" "$STATUS" 404
check_eq "the stack's spec no longer has it" \
    "$(sqlite3 "$TMP/data/berth.db" "SELECT json_array_length(spec, '\$.services') FROM stacks WHERE name = 'shop'")" 1
api DELETE /v1/services/default/shop/db
check_eq "now db goes: 204" "$STATUS" 204
check_eq "two service.remove events" "$(api_jq '/v1/grids/default/events?type=service.remove' length)" 2

# rm --force goes past the links.
api POST "/v1/grids/default/stacks?name=shop2" "$STACK"
api DELETE "/v1/services/default/shop2/db?force=1"
check_eq "rm --force of a linked service: 204" "$STATUS" 204
check_has "the event says forced" "$(api_jq '/v1/grids/default/events?type=service.remove' '.[-1].message')" "removed (forced)"

master_stop
