#!/usr/bin/env bash
# kontena.sh - Kontena stack features against a real berth-master on
# loopback, with no agents (issue 15): links to other stacks' services
# (checked at install, deploys ordered by them, removal refused).
#
# Nodes are rows written straight into the store (as stacks.sh does); a
# PATCH of their labels through the API makes the scheduler read them.
. "$(dirname "$0")/../lib.sh"

cd "$ROOT" || exit 1
B=$BIN/berth

# run CMD...: sets RC, OUT (stdout) and ERR (stderr).
run() {
	"$@" >"$TMP/out" 2>"$TMP/err"
	RC=$?
	OUT=$(cat "$TMP/out")
	ERR=$(cat "$TMP/err")
}

# post_yaml PATH FILE: POST a stack file as application/yaml.
post_yaml() {
	STATUS=$(curl -s -o "$TMP/body" -w '%{http_code}' -X "${3:-POST}" \
	    -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/yaml" \
	    --data-binary @"$2" "$API$1")
	BODY=$(cat "$TMP/body")
}

# deploy_state STACK ID: the deploy's state.
deploy_state() { api_jq "/v1/stacks/default/$1/deploys/$2" .state; }

# insert_node DB NAME ID LABELS-JSON: an online, connected node row.
insert_node() {
	sqlite3 "$1" ".timeout 5000" "INSERT INTO nodes (id, grid_id, name,
	    labels, created_at, status, connected, connected_at) SELECT '$3',
	    id, '$2', '$4', 0, 'online', 1, 0 FROM grids WHERE name='default';"
	api PATCH "/v1/nodes/default/$2" "{\"labels\":$4}"
}

D=$TMP/data
master_start "$D" --deploy-timeout-s 600 || exit 1
insert_node "$D/berth.db" n1 0123456789abcdef0123456789abcdef '["lb=yes"]'

# ---- links to another stack's service ----------------------------------------
# The load balancer: a daemon on n1, whose instance never reports (no
# agent), so its deploy stays ongoing until an upgrade scales it to 0.
cat >"$TMP/lb.yml" <<'EOF'
stack: kontena/lb
services:
  lb:
    image: kontena/lb:latest
    deploy:
      strategy: daemon
    affinity:
      - label==lb=yes
EOF
cat >"$TMP/app.yml" <<'EOF'
stack: me/app
services:
  web:
    image: busybox
    instances: 0
    links:
      - lb/lb
EOF
cat >"$TMP/app-bad.yml" <<'EOF'
stack: me/bad
services:
  web:
    image: busybox
    links:
      - db
      - lb/proxy
  db:
    image: busybox
    links: [nostack/lb:balancer]
EOF

post_yaml /v1/grids/default/stacks "$TMP/app.yml"
check_eq "link to a stack that is not installed: 422" "$STATUS" 422
check_eq "  the error is at the link's line, naming it" \
    "$(jq -c '[.field, .line]' <<<"$BODY")" '["services.web.links[0]",7]'
check_has "  and says the stack is missing" "$(jq -r .error <<<"$BODY")" \
    "link to lb/lb: there is no stack lb in grid default"

post_yaml /v1/grids/default/stacks "$TMP/lb.yml"
check_eq "install the load balancer stack lb" "$STATUS" 201
api POST /v1/stacks/default/lb/deploy
LB_DEPLOY=$(jq -r .id <<<"$BODY")
wait_for 10 test "$(api_jq /v1/services/default/lb/lb .placed)" = 1
check_eq "lb's deploy is ongoing (its instance never reports)" \
    "$(deploy_state lb "$LB_DEPLOY")" ongoing

post_yaml /v1/grids/default/stacks "$TMP/app-bad.yml"
check_eq "links to a missing service and stack: 422" "$STATUS" 422
check_eq "  both reported, each at its entry" \
    "$(jq -c '[.errors[] | [.line, .key]]' <<<"$BODY")" \
    '[[7,"services.web.links[1]"],[10,"services.db.links[0]"]]'
check_has "  the missing service is named" "$(jq -r '.errors[0].message' <<<"$BODY")" \
    "stack lb has no service proxy"
api GET /v1/stacks/default/bad
check_eq "  nothing stored" "$STATUS" 404

post_yaml /v1/grids/default/stacks "$TMP/app.yml"
check_eq "link to lb/lb once lb is installed: 201" "$STATUS" 201
api GET /v1/services/default/app/web
check_eq "  the spec keeps the link and lists it in stack_links" \
    "$(jq -c '[.spec.links, .spec.stack_links]' <<<"$BODY")" \
    '[["lb/lb"],[{"alias":"lb","service":"lb","stack":"lb"}]]'

# Deploy order across stacks: app/web waits for lb/lb's deploy.
api POST /v1/stacks/default/app/deploy
APP_DEPLOY=$(jq -r .id <<<"$BODY")
wait_for 10 test "$(deploy_state app "$APP_DEPLOY")" = ongoing
sched_wait_round
sched_wait_round
check_eq "app's deploy waits while lb's is ongoing: web not started" \
    "$(api_jq "/v1/stacks/default/app/deploys/$APP_DEPLOY" '[.state, .services[0].state] | join(" ")')" \
    "ongoing created"

api DELETE "/v1/stacks/default/lb?force=1"
check_eq "removing a stack that another links to: 409" "$STATUS" 409
check_has "  names the link" "$(jq -r .error <<<"$BODY")" "app/web -> lb"
sed 's/^    image: kontena\/lb:latest/    image: kontena\/lb:latest\n    instances: 0/' \
    "$TMP/lb.yml" >"$TMP/lb0.yml"
sed 's/^  lb:/  proxy:/' "$TMP/lb.yml" >"$TMP/lb-renamed.yml"
post_yaml /v1/stacks/default/lb "$TMP/lb-renamed.yml" PUT
check_eq "an upgrade that removes a linked service: 409" "$STATUS" 409
check_has "  names the link" "$(jq -r .error <<<"$BODY")" "app/web -> lb"

post_yaml /v1/stacks/default/lb "$TMP/lb0.yml" PUT
check_eq "upgrade lb to no instances" "$STATUS" 200
api POST /v1/stacks/default/lb/deploy
LB_DEPLOY=$(jq -r .id <<<"$BODY")
wait_for 20 test "$(deploy_state lb "$LB_DEPLOY")" = success
check_eq "lb's new deploy succeeds" "$(deploy_state lb "$LB_DEPLOY")" success
wait_for 20 test "$(deploy_state app "$APP_DEPLOY")" = success
check_eq "then app's deploy goes on and succeeds" "$(deploy_state app "$APP_DEPLOY")" success

api DELETE "/v1/stacks/default/app?force=1"
check_eq "remove app" "$STATUS" 204
api DELETE "/v1/stacks/default/lb?force=1"
check_eq "then lb, no longer linked, can go" "$STATUS" 204

master_stop TERM
