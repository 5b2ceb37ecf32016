#!/usr/bin/env bash
# kontena.sh - Kontena stack features against a real berth-master on
# loopback, with no agents (issue 15): links to other stacks' services
# (checked at install, deploys ordered by them, removal refused); the
# vault (API and CLI: values sealed in the store, never in a list, an
# event, an error body or the log; reads recorded) and stacks that read,
# write and use secrets; the CLI's envelope: the master asking back for
# environment variables, files and answers, -v, --values-from,
# --values-to, --no-deploy, --dry-run, stack validate.
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

# not_has TEXT FILE: FILE does not contain TEXT.
not_has() { ! grep -qF -- "$1" "$2"; }
# not_has_bytes TEXT DIR: no file under DIR holds TEXT (binary files too).
not_has_bytes() { ! grep -rqaF -- "$1" "$2"; }

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
    '[["lb/lb"],[{"alias":"lb/lb","service":"lb","stack":"lb"}]]'

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

# ---- the vault: API -----------------------------------------------------------
# Distinct values, so that a grep for them finds nothing else.
S1=v1-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
S2=v2-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
S3=v3-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
BODIES=$TMP/bodies
: >"$BODIES"
keep_body() { printf '%s\n' "$BODY" >>"$BODIES"; }

api POST /v1/grids/default/vault "{\"name\":\"db-pw\",\"value\":\"$S1\"}"
keep_body
check_eq "vault write: 201" "$STATUS" 201
check_eq "  the reply has name and version, no value" \
    "$(jq -c '[.name, .version, has("value")]' <<<"$BODY")" '["db-pw",1,false]'
api POST /v1/grids/default/vault "{\"name\":\"db-pw\",\"value\":\"$S2\"}"
keep_body
check_eq "vault write of an existing name: 409" "$STATUS:$(jq -r .field <<<"$BODY")" 409:name
api POST /v1/grids/default/vault "{\"name\":\"bad name\",\"value\":\"$S2\"}"
keep_body
check_eq "a bad name: 422 naming the field" "$STATUS:$(jq -r .field <<<"$BODY")" 422:name
api POST /v1/grids/default/vault '{"name":"e","value":""}'
check_eq "an empty value: 422" "$STATUS:$(jq -r .field <<<"$BODY")" 422:value
api POST /v1/grids/default/vault "{\"name\":\"x\",\"value\":\"$S2"
keep_body
check_eq "a malformed body: 400" "$STATUS" 400
api GET /v1/grids/default/vault
keep_body
check_eq "vault ls: names, versions, times; no value" \
    "$(jq -c '[.[] | [.name, .version, has("value"), (.created_at | type)]]' <<<"$BODY")" \
    '[["db-pw",1,false,"string"]]'
api GET /v1/vault/default/db-pw
check_eq "vault read: the value" "$STATUS:$(jq -r .value <<<"$BODY")" "200:$S1"
check_eq "  recorded: a vault.read event" \
    "$(api_jq '/v1/grids/default/events?type=vault.' '[.[] | .type] | join(" ")')" \
    "vault.write vault.read"
api GET /v1/vault/default/nope
check_eq "vault read of a missing secret: 404" "$STATUS" 404
api PUT /v1/vault/default/nope "{\"value\":\"$S2\"}"
keep_body
check_eq "vault update of a missing secret: 404" "$STATUS" 404
api PUT /v1/vault/default/up "{\"value\":\"$S2\",\"upsert\":true}"
keep_body
check_eq "vault update --upsert of a missing secret: 200, version 1" \
    "$STATUS:$(jq -r .version <<<"$BODY")" 200:1
api DELETE /v1/vault/default/up
check_eq "vault rm: 204" "$STATUS" 204
api DELETE /v1/vault/default/up
check_eq "vault rm of a missing secret: 404" "$STATUS" 404

# ---- the vault: CLI ---------------------------------------------------------------
printf '%s\n' "$S2" | "$B" vault write cli-pw >"$TMP/out" 2>"$TMP/err"
check_eq "berth vault write NAME (value on stdin): exit 0" "$?" 0
check_has "  says so" "$(cat "$TMP/out")" "Wrote secret cli-pw (version 1)"
run "$B" vault read cli-pw
check_eq "berth vault read: the value, the trailing newline dropped" "$RC:$OUT" "0:$S2"
run "$B" vault update cli-pw "$S3"
check_eq "berth vault update NAME VALUE: version 2" "$RC:$OUT" "0:Updated secret cli-pw (version 2)"
run "$B" vault write cli-pw x
check "berth vault write of an existing name: non-zero exit" test "$RC" -ne 0
check_has "  with the reason" "$ERR" "exists"
run "$B" vault ls
check "berth vault ls: a table of names" grep -Eq '^cli-pw +2 ' "$TMP/out"
check "  and no value in it" not_has "$S3" "$TMP/out"
run "$B" vault ls --json
check_eq "berth vault ls --json" "$(jq -r '[.[].name] | join(",")' "$TMP/out")" "cli-pw,db-pw"
run "$B" vault rm cli-pw
check_eq "berth vault rm" "$RC:$OUT" "0:Removed secret cli-pw"

# ---- stacks and the vault -----------------------------------------------------------
cat >"$TMP/sec.yml" <<'EOF'
stack: me/sec
variables:
  generated:
    type: string
    from:
      vault: ${STACK}-gen
      random_string: 20
    to:
      vault: ${STACK}-gen
services:
  web:
    image: busybox
    instances: 0
    environment:
      - PLAIN=1
    secrets:
      - secret: db-pw
        name: DB_PASSWORD
        type: env
      - secret: ${STACK}-gen
        name: GENERATED
        type: env
EOF
sed 's/      - secret: db-pw/      - secret: not-there/' "$TMP/sec.yml" >"$TMP/sec-bad.yml"
post_yaml /v1/grids/default/stacks "$TMP/sec-bad.yml"
keep_body
check_eq "a secret not in the vault: 422 at its entry" \
    "$(jq -c '[.line, .field]' <<<"$BODY")" '[17,"services.web.secrets[0]"]'
check_has "  naming it" "$(jq -r .error <<<"$BODY")" "secret not-there is not in the vault"
api GET /v1/vault/default/sec-gen
check_eq "  and nothing written: no generated secret" "$STATUS" 404
post_yaml /v1/grids/default/stacks "$TMP/sec.yml"
keep_body
check_eq "install a stack with secrets: 201" "$STATUS" 201
check_eq "  its values keep no secret (generated is null)" \
    "$(jq -c .variables <<<"$BODY")" '{"generated":null}'
api GET /v1/services/default/sec/web
keep_body
check_eq "  the spec names the secrets, its env has none" \
    "$(jq -c '[.spec.secrets, .spec.env]' <<<"$BODY")" \
    '[[{"name":"DB_PASSWORD","secret":"db-pw","type":"env"},{"name":"GENERATED","secret":"sec-gen","type":"env"}],["PLAIN=1"]]'
api GET /v1/vault/default/sec-gen
GEN=$(jq -r .value <<<"$BODY")
check_eq "to: vault wrote the generated value (20 characters)" "${#GEN}" 20
check_has "  with an event saying which stack wrote it" \
    "$(api_jq '/v1/grids/default/events?type=vault.write' '[.[].message] | join("|")')" \
    "secret sec-gen written to the vault by stack sec (to: vault)"
api PUT /v1/stacks/default/sec "$(jq -n --rawfile s "$TMP/sec.yml" '{source: $s, file: "sec.yml"}')"
keep_body
api GET /v1/vault/default/sec-gen
check_eq "an upgrade keeps it (from: vault comes first)" "$(jq -r .value <<<"$BODY")" "$GEN"
REV=$(api_jq /v1/services/default/sec/web .rev)
api PUT /v1/vault/default/db-pw "{\"value\":\"$S3\"}"
keep_body
check_eq "vault update of a used secret: 200, version 2" "$STATUS:$(jq -r .version <<<"$BODY")" 200:2
check_eq "  the service that uses it moves to a new revision" \
    "$(api_jq /v1/services/default/sec/web .rev)" "$((REV + 1))"
check_has "  the event says when it takes effect" \
    "$(api_jq '/v1/grids/default/events?type=vault.update' '.[-1].message')" \
    "1 service(s) that use it take the new value with their next deploy"
api DELETE /v1/vault/default/db-pw
check_eq "vault rm of a secret in use: 409 naming the service" \
    "$STATUS:$(jq -r .error <<<"$BODY" | grep -o 'sec/web')" "409:sec/web"

# Secrets never leave through a list, an event, an error, the store or the log.
api GET /v1/grids/default/events
keep_body
api GET /v1/grids/default/stacks
keep_body
api GET /v1/stacks/default/sec
keep_body
api GET /v1/grids/default/services
keep_body
for s in "$S1" "$S2" "$S3" "$GEN"; do
	check "no secret value in any reply but vault read (${s:0:2}...)" not_has "$s" "$BODIES"
	check "  nor in the master's log" not_has "$s" "$D/master.log"
	check "  nor in the store (db and WAL, as bytes)" not_has_bytes "$s" "$D"
done

# ---- the CLI: asking back, values, dry-run, validate ----------------------------------
mkdir -p "$TMP/sub"
printf 'IN_SUB=1\n' >"$TMP/sub/local.env"
cat >"$TMP/sub/ask.yml" <<'EOF'
stack: me/ask
variables:
  tag:
    type: string
    from:
      env: ASK_TAG
  n:
    type: integer
    default: 1
  size:
    type: string
    from:
      prompt: Size?
services:
  web:
    image: "busybox:${tag}"
    instances: {{ n }}
    env_file: local.env
    environment:
      - SIZE=${size}
EOF
run env ASK_TAG=1.2 "$B" stack install "$TMP/sub/ask.yml"
check "a prompt without a terminal and no value: non-zero exit" test "$RC" -ne 0
check_has "  says how to give it" "$ERR" "pass -v size=VALUE"
check_eq "  no progress line" "$OUT" ""
run env ASK_TAG=1.2 "$B" stack install --dry-run -v size=xl -v n=0 "$TMP/sub/ask.yml"
check_eq "install --dry-run: exit 0" "$RC" 0
check_has "  says what it would install" "$OUT" "Would install stack ask (me/ask) on grid default"
check "  with its services" grep -Eq '^web +busybox:1.2 +ha +0 ' "$TMP/out"
api GET /v1/stacks/default/ask
check_eq "  and writes nothing" "$STATUS" 404
printf 'n: 0\nsize: m\n' >"$TMP/values.yml"
run env ASK_TAG=1.2 "$B" stack install --no-deploy --values-from "$TMP/values.yml" \
    -v size=xl --values-to "$TMP/out-values.yml" "$TMP/sub/ask.yml"
check_eq "install --no-deploy --values-from F -v K=V --values-to F: exit 0" "$RC" 0
check_eq "  one step: no deploy" "$OUT" "[done] Creating stack ask"
api GET /v1/services/default/ask/web
check_eq "  env from the environment, -v over --values-from, env_file beside the stack file" \
    "$(jq -c '[.image, .instances, .spec.env]' <<<"$BODY")" '["busybox:1.2",0,["SIZE=xl","IN_SUB=1"]]'
check_eq "  --values-to wrote the values" "$(grep -v '^#' "$TMP/out-values.yml" | sort | tr '\n' ' ')" \
    'n: 0 size: "xl" tag: "1.2" '
check_eq "  no deploy was made" "$(api_jq /v1/stacks/default/ask .deploy_state)" null
run env ASK_TAG=1.3 "$B" stack upgrade --no-deploy ask "$TMP/sub/ask.yml"
check_eq "upgrade: the answers so far are kept (no prompt needed)" "$RC" 0
check_eq "  the new environment value is used" "$(api_jq /v1/services/default/ask/web .image)" busybox:1.3
check_eq "  the kept answer too" "$(api_jq /v1/services/default/ask/web '.spec.env[0]')" SIZE=xl

run "$B" stack validate -v size=s -v tag=2 "$TMP/sub/ask.yml"
check_eq "stack validate: exit 0, one line" "$RC:$OUT" \
    "0:$TMP/sub/ask.yml: valid: stack ask (me/ask) with 1 service(s)"
printf 'stack: me/bad\nservices:\n  web:\n    image: x\n    # {%% if nope %%}\n    # {%% endif %%}\n' >"$TMP/bad.yml"
run "$B" stack validate "$TMP/bad.yml"
check "stack validate of a bad file: non-zero exit" test "$RC" -ne 0
check_has "  the error at the template line" "$ERR" "$TMP/bad.yml:5:7: Liquid error: undefined variable nope"
check_has "  and the count" "$ERR" "1 error; nothing was installed"

# extends: a file beside the stack's, which extends one in its own folder
# and reads an env_file beside itself; the CLI sends each as the master
# asks. A service left out by only_if is not created.
mkdir -p "$TMP/sub/base/more"
printf 'FROM_BASE=1\n' >"$TMP/sub/base/base.env"
cat >"$TMP/sub/base/compose.yml" <<'EOF'
services:
  app:
    extends:
      file: more/root.yml
      service: root
    env_file: base.env
    environment:
      - TAG=${tag}
EOF
cat >"$TMP/sub/base/more/root.yml" <<'EOF'
services:
  root:
    image: busybox:1.36
    command: sleep 1000
    user: nobody
EOF
cat >"$TMP/sub/ext.yml" <<'EOF'
stack: me/ext
variables:
  tag:
    type: string
    default: t1
  debug:
    type: boolean
    default: false
services:
  web:
    extends:
      file: base/compose.yml
      service: app
    instances: 0
  debugger:
    image: busybox
    only_if: debug
EOF
run "$B" stack install --no-deploy "$TMP/sub/ext.yml"
check_eq "extends from files beside the stack: exit 0" "$RC" 0
check_has "  warns of what Kontena's extends dropped" "$ERR" "command, which Kontena's extends did not carry over"
api GET /v1/services/default/ext/web
check_eq "  image, user and environment from the files, the stack's variables in them" \
    "$(jq -c '[.image, .spec.user, .spec.env, .spec.command]' <<<"$BODY")" \
    '["busybox:1.36","nobody",["TAG=t1","FROM_BASE=1"],null]'
check_eq "  the service left out by only_if is not there" \
    "$(api_jq /v1/stacks/default/ext '[.services[].name] | join(",")')" web

# ---- child stacks (depends:) -------------------------------------------------------
mkdir -p "$TMP/tree/db"
cat >"$TMP/tree/app.yml" <<'EOF'
stack: me/app
depends:
  db:
    stack: db/db.yml
    variables:
      size: 0
services:
  web:
    image: busybox
    instances: 0
    environment:
      - DB=${db}
    links:
      - ${db}/postgres:pg
EOF
cat >"$TMP/tree/db/db.yml" <<'EOF'
stack: me/db
variables:
  size:
    type: integer
    default: 1
  pw:
    type: string
    from:
      random_string: 12
depends:
  backup:
    stack: backup.yml
services:
  postgres:
    image: busybox
    instances: ${size}
    environment:
      - PARENT=${PARENT_STACK}
      - PW=${pw}
EOF
cat >"$TMP/tree/db/backup.yml" <<'EOF'
stack: me/backup
services:
  cron:
    image: busybox
    instances: 0
    links:
      - ${PARENT_STACK}/postgres
EOF
run "$B" stack install --dry-run --name tree "$TMP/tree/app.yml"
check_eq "depends: install --dry-run: exit 0" "$RC" 0
check_has "  shows the child stacks" "$OUT" "with child stack tree-db (me/db), from db/db.yml:"
check_has "  and theirs" "$OUT" "with child stack tree-db-backup (me/backup), from backup.yml:"
run "$B" stack install --name tree "$TMP/tree/app.yml"
check_eq "install of a stack with child stacks (deploys them, then it): exit 0" "$RC" 0
check_eq "  children deployed before parents" \
    "$(grep -o 'Triggering deployment of stack [a-z-]*' <<<"$OUT" | awk '{print $NF}' | tr '\n' ' ')" \
    "tree-db-backup tree-db tree "
check_eq "  named PARENT-CHILD, each with its parent" \
    "$(api_jq /v1/stacks/default/tree-db '[.parent, (.children | join(","))] | join(" ")')" \
    "tree tree-db-backup"
check_eq "  the parent's variable db is the child's name" \
    "$(api_jq /v1/services/default/tree/web '.spec.env[0]')" DB=tree-db
check_eq "  its link to the child's service" \
    "$(api_jq /v1/services/default/tree/web '.spec.stack_links[0] | [.stack, .service, .alias] | join(" ")')" \
    "tree-db postgres pg"
check_eq "  the child's variables from depends:, PARENT_STACK set" \
    "$(api_jq /v1/services/default/tree-db/postgres '[(.instances | tostring), .spec.env[0]] | join(" ")')" \
    "0 PARENT=tree"
PW1=$(api_jq /v1/services/default/tree-db/postgres '.spec.env[1]')
printf 'stack: me/other\nservices:\n  x:\n    image: busybox\n    instances: 0\n' >"$TMP/tree/other.yml"
run "$B" stack install --name tree2-db --no-deploy "$TMP/tree/other.yml"
check_eq "a stack named as a child stack would be: installed" "$RC" 0
run "$B" stack install --no-deploy --name tree2 "$TMP/tree/app.yml"
check "  then the install of that tree is refused" test "$RC" -ne 0
check_has "  saying why" "$OUT$ERR" "a child stack of this one would be installed under that name"
api GET /v1/stacks/default/tree2
check_eq "  and writes nothing" "$STATUS" 404
"$B" stack rm --force tree2-db >/dev/null 2>&1
sed -i 's/^  backup:/  archive:/' "$TMP/tree/db/db.yml"
run "$B" stack upgrade --no-deploy -v db.size=0 tree "$TMP/tree/app.yml"
check_eq "upgrade: child stacks upgraded, added and removed: exit 0" "$RC" 0
api GET /v1/stacks/default/tree-db-backup
check_eq "  the child the file no longer has is removed" "$STATUS" 404
check_eq "  the new one is there" "$(api_jq /v1/stacks/default/tree-db-archive .parent)" tree-db
check_eq "  the child's generated value is kept" \
    "$(api_jq /v1/services/default/tree-db/postgres '.spec.env[1]')" "$PW1"
run "$B" stack rm --force tree-db
check "a child stack linked from its parent: rm refused" test "$RC" -ne 0
run "$B" stack rm --force tree
check_eq "rm removes the stack and its child stacks: exit 0" "$RC" 0
check_has "  and says so" "$OUT$ERR" "and its child stacks tree-db"
check_eq "  none is left" "$(api_jq /v1/grids/default/stacks '[.[] | select(.name | startswith("tree"))] | length')" 0

# ---- Kontena's stack library: every file installs -------------------------------
# The 22 real stack files of ../shared/kontena-stacks, installed as they
# are, each with what Kontena would have asked for on a terminal: the
# secrets they read from the vault (written first), the answers to their
# prompts without a default (-v), and the services they link to (the
# ingress-lb stack for load balancers, zookeeper-cluster for kafka).
# Then the normalized specs of six of them, in Kontena's shape
# (kontena-spec.jq), against the specs Kontena would have stored
# (kontena-expected/, derived from Kontena's code: see its README.md).
CORPUS=${BERTH_SHARED:-$ROOT/../shared}/kontena-stacks
if [ ! -d "$CORPUS" ] && [ -z "${BERTH_SHARED:-}" ]; then
	echo "ok - Kontena stack library # SKIP ../shared/kontena-stacks not present (set BERTH_SHARED)"
else
	for s in drone-github-gh-client drone-github-gh-secret drone-gitlab-gl-url \
	    drone-gitlab-gl-client drone-gitlab-gl-secret elastic-password \
	    kibana-password logstash-password fluentd-cloudwatch-aws-access-key-id \
	    fluentd-cloudwatch-aws-secret-access-key fluentd-loggly-token \
	    fluentd-splunkhec-token wordpress-cluster-resilio-secret; do
		printf 'corpus-%s\n' "$s" | "$B" vault write "$s" >/dev/null ||
		    notok "vault write $s"
	done
	LB=ingress-lb/lb
	n=0
	while read -r f args; do
		[ -n "$f" ] || continue
		# shellcheck disable=SC2086
		run "$B" stack install --no-deploy $args "$CORPUS/$f"
		if [ "$RC" = 0 ]; then
			n=$((n + 1))
			ok "Kontena's $f installs"
		else
			notok "Kontena's $f installs"
			sed 's/^/# /' "$TMP/err"
		fi
	done <<LIST
ingress-lb_kontena.yml
zookeeper_kontena.yml
cockroachdb_kontena.yml
drone_github.yml -v loadbalancer=$LB -v drone_host=drone.example.com
drone_gitlab.yml -v loadbalancer=$LB -v drone_host=drone.example.com
elasticsearch_kontena.yml -v instances=3
fluentd_cloudwatch.yml
fluentd_elasticsearch.yml
fluentd_gelf.yml
fluentd_loggly.yml
fluentd_splunkhec.yml -v host=splunk.example.com
kafka_kontena.yml -v zookeeper_link=zookeeper-cluster/zookeeper
kibana_kontena.yml -v loadbalancer=$LB -v virtual_host=kibana.example.com
kong-dashboard_kontena.yml
kong_kontena.yml
mariadb_kontena.yml
mongodb-replica-set_kontena.yml
rabbitmq_kontena.yml
redis-sentinel_kontena.yml
redis_kontena.yml
stolon_kontena.yml
wordpress-cluster_kontena.yml -v loadbalancer=$LB
LIST
	check_eq "all 22 files of Kontena's stack library install" "$n" 22
	for e in "$ROOT"/tests/integration/kontena-expected/*.json; do
		f=$(basename "$e" .json)
		name=$(jq -r .name "$e")
		api GET "/v1/stacks/default/$name"
		got=$(jq -S '.spec' <<<"$BODY" | jq -S -f "$ROOT/tests/integration/kontena-spec.jq")
		want=$(jq -S . "$e")
		check_eq "$f: the services are what Kontena would have made" "$got" "$want"
	done
	# The secrets they generated are in the vault, and used.
	check_eq "generated secrets went to the vault (to: vault)" \
	    "$(api_jq /v1/grids/default/vault '[.[] | select(.name | test("^(mariadb-root-password|stolon-su-password|LB_STATS_PASSWORD|RABBITMQ_COOKIE)$")) | .services | length] | join(",")')" \
	    "1,2,1,1"
fi

master_stop TERM
