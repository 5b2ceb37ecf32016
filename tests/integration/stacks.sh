#!/usr/bin/env bash
# stacks.sh - stacks through the REST API and the berth CLI against a real
# berth-master on loopback, with no agents: install of the reference
# stress.yml, refusals (unknown keys, several errors, variables, name
# clashes), YAML and JSON bodies, upgrades and revisions, deploys that
# succeed with no eligible node (daemon), fail with the reason (ha), stay
# ongoing (an instance placed on a node row that never reports) or time
# out, DELETE while a deploy runs, scaling and the container view.
#
# Nodes are rows written straight into the store (as api_core.sh does); a
# PATCH of their labels through the API makes the scheduler read them.
. "$(dirname "$0")/../lib.sh"

cd "$ROOT" || exit 1
B=$BIN/berth
STRESS=stacks/examples/stress.yml

# run CMD...: sets RC, OUT (stdout) and ERR (stderr). stdout is a file, so
# the CLI prints plain progress lines.
run() {
	"$@" >"$TMP/out" 2>"$TMP/err"
	RC=$?
	OUT=$(cat "$TMP/out")
	ERR=$(cat "$TMP/err")
}

# api_file METHOD PATH FILE CTYPE: like api, with the body sent byte for byte.
api_file() {
	STATUS=$(curl -s -o "$TMP/body" -w '%{http_code}' -X "$1" \
	    -H "Authorization: Bearer $TOKEN" -H "Content-Type: $4" \
	    --data-binary @"$3" "$API$2")
	BODY=$(cat "$TMP/body")
}

# deploy_is STACK ID STATE: the deploy has reached STATE.
deploy_is() {
	api GET "/v1/stacks/default/$1/deploys/$2"
	[ "$(jq -r .state <<<"$BODY")" = "$3" ]
}

# stack_names: the stack names of grid default, comma-separated.
stack_names() {
	api GET /v1/grids/default/stacks
	jq -r '[.[].name] | join(",")' <<<"$BODY"
}

# no_escapes FILE: FILE holds no terminal escape sequence.
no_escapes() { ! grep -q $'\033' "$1"; }

# insert_node DB NAME ID LABELS-JSON: an online, connected node row; the
# PATCH through the API wakes the scheduler, which then reads the row.
insert_node() {
	sqlite3 "$1" ".timeout 20000" "INSERT INTO nodes (id, grid_id, name,
	    labels, created_at, status, connected, connected_at) SELECT '$3',
	    id, '$2', '$4', 0, 'online', 1, 0 FROM grids WHERE name='default';"
	api PATCH "/v1/nodes/default/$2" "{\"labels\":$4}"
}

D=$TMP/data
master_start "$D" --deploy-timeout-s 600 || exit 1

# ---- the reference stress.yml, verbatim, through the CLI ------------------------
run "$B" stack install "$STRESS"
check_eq "stack install stress.yml: exit 0" "$RC" 0
check_eq "stack install stress.yml: the four [done] lines" "$OUT" \
    "[done] Creating stack stress
[done] Triggering deployment of stack stress
[done] Waiting for deployment to start
[done] Deploying service stress"
check "stack install: plain lines when stdout is not a terminal" no_escapes "$TMP/out"
check_eq "stack install: nothing on stderr" "$ERR" ""

# On a terminal: a live line per step, each ending as its [done] line.
if command -v script >/dev/null 2>&1; then
	script -qec "$B stack install --name stress-tty $STRESS" /dev/null >"$TMP/tty" 2>&1
	check "on a terminal: live lines redrawn in place" grep -qF $'\r\033[K[....] Creating stack stress-tty' "$TMP/tty"
	check_eq "on a terminal: each step ends as its [done] line" \
	    "$(tr -d '\r' <"$TMP/tty" | sed 's/.*\x1b\[K//' | grep .)" \
	    "[done] Creating stack stress-tty
[done] Triggering deployment of stack stress-tty
[done] Waiting for deployment to start
[done] Deploying service stress"
	api DELETE /v1/stacks/default/stress-tty
	check_eq "remove stress-tty" "$STATUS" 204
else
	echo "# skip: no script(1) for the terminal checks"
fi

api GET /v1/stacks/default/stress
check_eq "GET /v1/stacks/default/stress: 200" "$STATUS" 200
check_eq "stack fields" \
    "$(jq -c '[.name, .stack, .version, .description, .rev, .deploy_state, (.deploy_id|type)]' <<<"$BODY")" \
    '["stress","jussi/stress","0.1.1","Runs progrium/stress on multiple instances",1,"success","number"]'
check_eq "stack lists its service: daemon, 1 instance, affinity, cpu_shares, image" \
    "$(jq -c '[.services[] | [.name, .stack, .strategy, .instances, .affinity, .cpu_shares, .image]]' <<<"$BODY")" \
    '[["stress","stress","daemon",1,["label==ephemeral=true"],100,"progrium/stress"]]'
jq -j .source <<<"$BODY" >"$TMP/source"
check "stored source is byte-identical to stress.yml" cmp -s "$TMP/source" "$STRESS"

api GET /v1/services/default/stress/stress
check_eq "GET /v1/services/default/stress/stress: 200" "$STATUS" 200
check_eq "service fields" \
    "$(jq -c '[.name, .stack, .strategy, .instances, .affinity, .image, .spec.cpu_shares, .spec.deploy.strategy]' <<<"$BODY")" \
    '["stress","stress","daemon",1,["label==ephemeral=true"],"progrium/stress",100,"daemon"]'
check_eq "service command is split into words" "$(jq -c .spec.command <<<"$BODY")" \
    '["-q","--cpu","1","--vm","1","--vm-bytes","128M","--timeout","30m"]'
check_eq "daemon service with no eligible node: 0 instances placed" \
    "$(jq -c '[.running, .placed]' <<<"$BODY")" '[0,0]'

run "$B" stack show stress
check_eq "stack show: exit 0" "$RC" 0
check_has "stack show: stack reference" "$OUT" "jussi/stress"
check_has "stack show: deploy state" "$OUT" "success"
check "stack show: service row with daemon, cpu_shares 100 and the affinity" \
    grep -Eq '^stress +running +progrium/stress +daemon +1 per node +0 +100 +label==ephemeral=true *$' "$TMP/out"
check "stack show: table header" grep -Eq '^SERVICE +STATE +IMAGE +STRATEGY +INSTANCES +RUNNING +CPU_SHARES +AFFINITY' "$TMP/out"
run "$B" stack show --json stress
check_eq "stack show --json" "$RC:$(jq -r '.services[0].strategy' <"$TMP/out")" "0:daemon"
run "$B" stack show nope
check "stack show of an unknown stack: non-zero exit" test "$RC" -ne 0
check_has "stack show of an unknown stack: one-line reason" "$ERR" 'no stack "nope"'

run "$B" service ls
check_eq "service ls: exit 0" "$RC" 0
check "service ls: stress/stress row" \
    grep -Eq '^stress/stress +running +daemon +1 per node +0 +progrium/stress +label==ephemeral=true *$' "$TMP/out"
run "$B" service show stress/stress
check_has "service show: cpu_shares" "$OUT" "cpu_shares: 100"

# ---- name clash, --name, ?name= ------------------------------------------------
run "$B" stack install "$STRESS"
check_eq "install again: exit 1" "$RC" 1
check_eq "install again: one line of output" \
    "$(printf '%s\n%s\n' "$OUT" "$ERR" | grep -c .)" 1
check_has "install again: the reason" "$OUT$ERR" 'stack "stress" exists'
check_has "install again: the failed step" "$OUT" "[fail] Creating stack stress"
api_file POST /v1/grids/default/stacks "$STRESS" application/yaml
check_eq "POST an existing stack: 409 naming the field" "$STATUS:$(jq -r .field <<<"$BODY")" 409:name
check_has "409 says the stack exists" "$(jq -r .error <<<"$BODY")" 'stack "stress" exists'

run "$B" stack install --name stress-b "$STRESS"
check_eq "install --name stress-b: exit 0" "$RC" 0
check_eq "install --name: progress names the new stack" "$(head -1 "$TMP/out")" "[done] Creating stack stress-b"
api GET /v1/stacks/default/stress-b
check_eq "install --name: stored under the given name" \
    "$(jq -c '[.name, .stack, [.services[].name]]' <<<"$BODY")" '["stress-b","jussi/stress",["stress"]]'
run "$B" stack install "$STRESS" --name stress-c
check_eq "install FILE --name (option after the file)" "$RC:$(head -1 "$TMP/out")" "0:[done] Creating stack stress-c"

api_file POST "/v1/grids/default/stacks?name=stress-q" "$STRESS" application/yaml
check_eq "POST ?name=stress-q: 201" "$STATUS:$(jq -r .name <<<"$BODY")" 201:stress-q
check_eq "POST ?name=: no deploy yet" "$(jq -r .deploy_state <<<"$BODY")" null
api_file POST "/v1/grids/default/stacks?name=Bad_Name" "$STRESS" application/yaml
check_eq "POST ?name= invalid: 422 naming the field" "$STATUS:$(jq -r .field <<<"$BODY")" 422:name
# A name beginning with '-' would make container names Docker refuses and
# CLI words that read as options (issue 21.11): refused wherever it comes in.
n_before=$(api_jq /v1/grids/default/stacks length)
api_file POST "/v1/grids/default/stacks?name=-x" "$STRESS" application/yaml
check_eq "POST ?name=-x: 422 naming the field" "$STATUS:$(jq -r .field <<<"$BODY")" 422:name
check_has "POST ?name=-x: says why" "$(jq -r .error <<<"$BODY")" "beginning with a letter or digit"
api POST /v1/grids/default/stacks 'stack: me/-x
services:
  web:
    image: berth-test/busybox:latest' application/yaml
check_eq "stack: me/-x in the file: 422 at line 1" "$STATUS:$(jq -r .field <<<"$BODY"):$(jq -r .line <<<"$BODY")" 422:stack:1
api POST /v1/grids/default/stacks 'stack: me/ok
services:
  -web:
    image: berth-test/busybox:latest' application/yaml
check_eq "a service named -web: 422 at its line" "$STATUS:$(jq -r .field <<<"$BODY"):$(jq -r .line <<<"$BODY")" 422:services.-web:3
api POST /v1/grids/default/stacks '{"source":"stack: me/ok\nservices: {}\nvolumes:\n  v:\n    external: true\n","name":"-x"}'
check_eq "the envelope's name -x: 422 naming the field" "$STATUS:$(jq -r .field <<<"$BODY")" 422:name
api POST /v1/grids '{"name":"-g"}'
check_eq "a grid named -g: 422 naming the field" "$STATUS:$(jq -r .field <<<"$BODY")" 422:name
api GET "/v1/grids/default/cloud-config?name=-n"
check_eq "cloud-config for a node named -n: 422" "$STATUS:$(jq -r .field <<<"$BODY")" 422:name
check_eq "nothing stored for a refused name" "$(api_jq /v1/grids/default/stacks length)" "$n_before"
run "$B" stack install --name -x "$STRESS"
check_eq "berth stack install --name -x: exit 1" "$RC" 1
# The master reads the file (Liquid, the vault): it refuses the name.
check_has "berth stack install --name -x: refused, naming the rule" "$ERR" 'stack name "-x" is invalid: use [a-z0-9-], 1 to 63 characters, beginning with a letter or digit'
check_eq "... and nothing stored" "$(api_jq /v1/grids/default/stacks length)" "$n_before"
run "$B" stack rm -- -x
check_eq "berth stack rm -- -x reaches the master (a name from an older store)" "$RC:$OUT" '1:[fail] Removing stack -x: no stack "-x" in grid default'
api_file POST "/v1/grids/nogrid/stacks" "$STRESS" application/yaml
check_eq "POST to an unknown grid: 404" "$STATUS" 404

# ---- refused stacks: unknown key, several errors; nothing stored ------------------
cat >"$TMP/unknown.yml" <<'EOF'
stack: t/unknown
services:
  web:
    image: busybox
    colour: red
EOF
cat >"$TMP/multi.yml" <<'EOF'
stack: t/multi
services:
  web:
    image: busybox
    colour: red
    instances: two
  db:
    image: x
    flavour: 1
EOF
BEFORE=$(stack_names)
api_file POST /v1/grids/default/stacks "$TMP/unknown.yml" application/yaml
check_eq "unknown key: 422" "$STATUS" 422
check_eq "unknown key: .field is the key path" "$(jq -r .field <<<"$BODY")" services.web.colour
check_eq "unknown key: .line is its line" "$(jq -r .line <<<"$BODY")" 5
check_has "unknown key: .error names file:line:col and key" "$(jq -r .error <<<"$BODY")" \
    'stack.yml:5:5: services.web.colour: unknown key "colour"'
check_eq "unknown key: .errors lists it with line and column" \
    "$(jq -c '[.errors[] | [.line, .column, .key]]' <<<"$BODY")" '[[5,5,"services.web.colour"]]'
check_eq "unknown key: nothing stored (list unchanged)" "$(stack_names)" "$BEFORE"
api GET /v1/stacks/default/unknown
check_eq "unknown key: GET the stack is 404" "$STATUS" 404

api_file POST /v1/grids/default/stacks "$TMP/multi.yml" application/yaml
check_eq "several errors: 422" "$STATUS" 422
check_eq "several errors: all reported, in order, with line and column" \
    "$(jq -c '[.errors[] | [.line, .column, .key]]' <<<"$BODY")" \
    '[[5,5,"services.web.colour"],[6,16,"services.web.instances"],[9,5,"services.db.flavour"]]'
check_eq "several errors: every entry has file and message" \
    "$(jq '[.errors[] | (.file == "stack.yml") and (.message | length > 0)] | all' <<<"$BODY")" true
check_eq "several errors: .field/.line are the first" "$(jq -c '[.field, .line]' <<<"$BODY")" '["services.web.colour",5]'
check_has "several errors: .error says there are more" "$(jq -r .error <<<"$BODY")" "and more"
check_eq "several errors: nothing stored" "$(stack_names)" "$BEFORE"
api GET /v1/stacks/default/multi
check_eq "several errors: GET the stack is 404" "$STATUS" 404

run "$B" stack install "$TMP/unknown.yml"
check "CLI, unknown key: non-zero exit" test "$RC" -ne 0
check_has "CLI, unknown key: stderr has file:line:col and key" "$ERR" \
    "$TMP/unknown.yml:5:5: services.web.colour: unknown key \"colour\""
check_has "CLI, unknown key: says nothing was installed" "$ERR" "nothing was installed"
check_eq "CLI, unknown key: no progress line" "$OUT" ""
run "$B" stack install "$TMP/multi.yml"
check "CLI, several errors: non-zero exit" test "$RC" -ne 0
check_has "CLI, several errors: first" "$ERR" "$TMP/multi.yml:5:5: services.web.colour"
check_has "CLI, several errors: second" "$ERR" "$TMP/multi.yml:6:16: services.web.instances"
check_has "CLI, several errors: third" "$ERR" "$TMP/multi.yml:9:5: services.db.flavour"
check_eq "CLI, several errors: the last line counts them" "$(tail -1 "$TMP/err")" \
    "berth: $TMP/multi.yml: 3 errors; nothing was installed"
check_eq "CLI refusals stored nothing" "$(stack_names)" "$BEFORE"

# ---- YAML and JSON bodies ---------------------------------------------------------
cat >"$TMP/same.yml" <<'EOF'
stack: t/same
version: 1.0.0
services:
  web:
    image: busybox:1
    instances: 2
    command: sh -c 'sleep 1'
    environment:
      A: "1"
    affinity:
      - node!=x
    deploy:
      strategy: random
      min_health: 0.5
EOF
printf '%s' '{"stack":"t/same","version":"1.0.0","services":{"web":{"image":"busybox:1","instances":2,"command":"sh -c '"'"'sleep 1'"'"'","environment":{"A":"1"},"affinity":["node!=x"],"deploy":{"strategy":"random","min_health":0.5}}}}' >"$TMP/same.json"
api_file POST "/v1/grids/default/stacks?name=same-yaml" "$TMP/same.yml" application/yaml
check_eq "YAML body (application/yaml): 201" "$STATUS" 201
api_file POST "/v1/grids/default/stacks?name=same-json" "$TMP/same.json" application/json
check_eq "the same stack as JSON (application/json): 201" "$STATUS" 201
jq -j .source <<<"$BODY" >"$TMP/source"
check "JSON body: stored source is the body as sent" cmp -s "$TMP/source" "$TMP/same.json"
api GET /v1/services/default/same-yaml/web
Y=$(jq -S .spec <<<"$BODY")
api GET /v1/services/default/same-json/web
J=$(jq -S .spec <<<"$BODY")
check_eq "YAML and JSON give the same service spec" "$J" "$Y"
check_eq "the JSON form was read" "$(jq -c '[.strategy, .instances, .affinity, .spec.command]' <<<"$BODY")" \
    '["random",2,["node!=x"],["sh","-c","sleep 1"]]'
api_file POST "/v1/grids/default/stacks?name=same-x" "$TMP/same.yml" application/x-yaml
check_eq "application/x-yaml is YAML too" "$STATUS" 201
api POST "/v1/grids/default/stacks?name=same-env" "$(jq -n --rawfile s "$TMP/same.yml" '{source: $s, file: "same.yml"}')"
check_eq "CLI envelope {source, file}: 201" "$STATUS" 201
jq -j .source <<<"$BODY" >"$TMP/source"
check "envelope: stored source is the source field" cmp -s "$TMP/source" "$TMP/same.yml"
api POST /v1/grids/default/stacks "$(jq -n --rawfile s "$TMP/same.yml" '{source: $s, name: "same-env2"}')"
check_eq "envelope name" "$STATUS:$(jq -r .name <<<"$BODY")" 201:same-env2
api POST "/v1/grids/default/stacks?name=same-q" "$(jq -n --rawfile s "$TMP/same.yml" '{source: $s, name: "same-e"}')"
check_eq "?name= wins over the envelope's name" "$STATUS:$(jq -r .name <<<"$BODY")" 201:same-q
api POST /v1/grids/default/stacks "$(jq -n --rawfile s "$TMP/unknown.yml" '{source: $s, file: "mine.yml"}')"
check_eq "envelope: errors name the envelope's file" "$STATUS:$(jq -r '.errors[0].file' <<<"$BODY")" 422:mine.yml
api POST /v1/grids/default/stacks '{"source": 42}'
check_eq "envelope: source not a string: 422" "$STATUS:$(jq -r .field <<<"$BODY")" 422:source
api POST /v1/grids/default/stacks '{"source": "stack: a/b", "colour": 1}'
check_eq "envelope: unknown field: 422 naming it" "$STATUS:$(jq -r .field <<<"$BODY")" 422:colour
api POST /v1/grids/default/stacks '{"stack":"t/j","services":{"web":{"image":"x","colour":"red"}}}'
check_eq "JSON stack with an unknown key: 422 naming it" "$STATUS:$(jq -r .field <<<"$BODY")" 422:services.web.colour
api POST /v1/grids/default/stacks '{"stack": "t/j", "services": {'
check_eq "malformed JSON: 400" "$STATUS" 400
check_has "malformed JSON: says so" "$(jq -r .error <<<"$BODY")" "malformed JSON"
api POST /v1/grids/default/stacks '{"stack":"t/j","stack":"t/k"}'
check_eq "JSON with a duplicate key: 400" "$STATUS" 400
api POST /v1/grids/default/stacks '' application/yaml
check_eq "empty body: 400" "$STATUS" 400
api GET /v1/stacks/default/j
check_eq "refused JSON stored nothing" "$STATUS" 404

# ---- variables -------------------------------------------------------------------
cat >"$TMP/undeclared.yml" <<'EOF'
stack: t/undeclared
services:
  web:
    image: "busybox:${nope}"
EOF
api_file POST /v1/grids/default/stacks "$TMP/undeclared.yml" application/yaml
check_eq "undeclared variable: 422" "$STATUS" 422
check_eq "undeclared variable: field and line" "$(jq -c '[.field, .line]' <<<"$BODY")" '["services.web.image",4]'
check_has "undeclared variable: named" "$(jq -r .error <<<"$BODY")" 'undeclared variable "nope"'
run "$B" stack install "$TMP/undeclared.yml"
check "CLI, undeclared variable: non-zero exit" test "$RC" -ne 0
check_has "CLI, undeclared variable: named with file:line:col" "$ERR" \
    "$TMP/undeclared.yml:4:12: services.web.image: undeclared variable \"nope\""

cat >"$TMP/vars.yml" <<'EOF'
stack: t/vars
variables:
  tag:
    type: string
    from:
      env: BERTH_TEST_TAG
services:
  web:
    image: "busybox:${tag}"
    deploy:
      strategy: daemon
    affinity:
      - label==never=true
EOF
api_file POST /v1/grids/default/stacks "$TMP/vars.yml" application/yaml
check_eq "from: env through the raw API without a value: 422" "$STATUS" 422
check_eq "from: env without a value: names the variable" "$(jq -r .field <<<"$BODY")" variables.tag
check_has "from: env without a value: says it has none" "$(jq -r .error <<<"$BODY")" 'variable "tag" has no value'
run env BERTH_TEST_TAG=1.2.3 "$B" stack install "$TMP/vars.yml"
check_eq "CLI, from: env with the operator's value: exit 0" "$RC" 0
api GET /v1/services/default/vars/web
check_eq "from: env: the operator's value is used" "$(jq -r .image <<<"$BODY")" busybox:1.2.3
api GET /v1/stacks/default/vars
jq -j .source <<<"$BODY" >"$TMP/source"
check "from: env: stored source is the raw file" cmp -s "$TMP/source" "$TMP/vars.yml"
api POST "/v1/grids/default/stacks?name=vars2" "$(jq -n --rawfile s "$TMP/vars.yml" '{source: $s, variables: {BERTH_TEST_TAG: "9"}}')"
check_eq "envelope variables give the value" "$STATUS" 201
api GET /v1/services/default/vars2/web
check_eq "envelope variables: used" "$(jq -r .image <<<"$BODY")" busybox:9
api POST "/v1/grids/default/stacks?name=vars3" "$(jq -n --rawfile s "$TMP/vars.yml" '{source: $s, variables: ["x"]}')"
check_eq "envelope variables not an object: 422" "$STATUS:$(jq -r .field <<<"$BODY")" 422:variables

# env_file: the CLI reads it and sends its content along; the raw API has
# nothing to read it from.
printf '# comment\nFROM_FILE=yes\nexport OTHER=2\n' >"$TMP/app.env"
cat >"$TMP/envfile.yml" <<EOF
stack: t/envfile
services:
  web:
    image: busybox
    env_file: $TMP/app.env
    environment:
      OTHER: "3"
    deploy:
      strategy: daemon
    affinity:
      - label==never=true
EOF
run "$B" stack install "$TMP/envfile.yml"
check_eq "CLI, env_file: exit 0" "$RC" 0
api GET /v1/services/default/envfile/web
check_eq "env_file: its values reach the service, environment overrides" \
    "$(jq -c '.spec.env | sort' <<<"$BODY")" '["FROM_FILE=yes","OTHER=3"]'
api_file POST "/v1/grids/default/stacks?name=envfile2" "$TMP/envfile.yml" application/yaml
check_eq "env_file through the raw API: 422" "$STATUS" 422
check_has "env_file through the raw API: says it was not sent" "$(jq -r .error <<<"$BODY")" "not sent with the stack"

# ---- upgrade ------------------------------------------------------------------------
svc() { # svc NAME IMAGE [INSTANCES]
	printf '  %s:\n    image: %s\n    instances: %s\n    deploy:\n      strategy: daemon\n    affinity:\n      - label==never=true\n' \
	    "$1" "$2" "${3:-1}"
}
{ echo "stack: t/up"; echo "services:"; svc a busybox:1; svc b busybox:1; svc c busybox:1; } >"$TMP/up1.yml"
{ echo "stack: t/up"; echo "services:"; svc a busybox:2; svc b busybox:1; svc d busybox:1; } >"$TMP/up2.yml"
{ echo "stack: t/up"; echo "services:"; svc a busybox:2; svc b busybox:1 2; svc d busybox:1; } >"$TMP/up3.yml"
run "$B" stack install "$TMP/up1.yml"
check_eq "install up1: exit 0" "$RC" 0
api GET /v1/stacks/default/up
check_eq "up1: services and revisions" "$(jq -c '[.services[] | [.name, .rev]]' <<<"$BODY")" '[["a",1],["b",1],["c",1]]'
run "$B" stack upgrade up "$TMP/up2.yml"
check_eq "stack upgrade: exit 0" "$RC" 0
check_eq "stack upgrade: progress" "$OUT" "The upgrade of stack up removes 1 service (c) and 0 containers.
[done] Upgrading stack up
[done] Triggering deployment of stack up
[done] Waiting for deployment to start
[done] Deploying service a
[done] Deploying service b
[done] Deploying service d"
api GET /v1/stacks/default/up
check_eq "upgrade: a changed (rev 2), b unchanged (rev 1), c removed, d added (rev 1)" \
    "$(jq -c '[.services[] | [.name, .rev]] | sort' <<<"$BODY")" '[["a",2],["b",1],["d",1]]'
check_eq "upgrade: stack revision goes up" "$(jq .rev <<<"$BODY")" 2
check_eq "upgrade: changed service has its new image" "$(jq -r '.services[] | select(.name == "a") | .image' <<<"$BODY")" busybox:2
jq -j .source <<<"$BODY" >"$TMP/source"
check "upgrade: stored source is the new file" cmp -s "$TMP/source" "$TMP/up2.yml"
api GET /v1/services/default/up/c
check_eq "upgrade: removed service is gone" "$STATUS" 404
api GET /v1/services/default/up/d
check_eq "upgrade: added service exists" "$STATUS" 200
api_file PUT /v1/stacks/default/up "$TMP/up3.yml" application/yaml
check_eq "PUT upgrade: 200" "$STATUS" 200
check_eq "PUT upgrade: b's count follows the file, its rev stays (nothing recreated)" \
    "$(jq -c '[.services[] | [.name, .rev, .instances]] | sort' <<<"$BODY")" '[["a",2,1],["b",1,2],["d",1,1]]'
check_eq "PUT upgrade: stack revision 3" "$(jq .rev <<<"$BODY")" 3
api_file PUT /v1/stacks/default/up "$TMP/multi.yml" application/yaml
check_eq "PUT an invalid stack: 422" "$STATUS" 422
api GET /v1/stacks/default/up
check_eq "PUT an invalid stack: nothing changed" "$(jq -c '[.rev, ([.services[].name] | sort)]' <<<"$BODY")" '[3,["a","b","d"]]'
api_file PUT /v1/stacks/default/nope "$TMP/up3.yml" application/yaml
check_eq "PUT an unknown stack: 404" "$STATUS" 404
run "$B" stack upgrade nope "$TMP/up3.yml"
check "CLI upgrade of an unknown stack: non-zero exit" test "$RC" -ne 0
check_has "CLI upgrade of an unknown stack: the reason" "$OUT$ERR" 'no stack "nope"'

# ---- a deploy that cannot place: ha service, no nodes ---------------------------------
cat >"$TMP/ha.yml" <<'EOF'
stack: t/ha
services:
  web:
    image: busybox
    instances: 2
  after:
    image: busybox
    depends_on:
      - web
EOF
run "$B" stack install "$TMP/ha.yml"
check_eq "ha with no nodes: CLI install exits 1" "$RC" 1
check_eq "ha with no nodes: three [done] lines first" "$(head -3 "$TMP/out")" "[done] Creating stack ha
[done] Triggering deployment of stack ha
[done] Waiting for deployment to start"
LAST=$(tail -1 "$TMP/out")
check_has "ha with no nodes: [fail] Deploying service web" "$LAST" "[fail] Deploying service web: "
check_has "ha with no nodes: the reason" "$LAST" "no eligible node"
api GET /v1/stacks/default/ha
check_eq "ha: stack deploy_state error" "$(jq -r .deploy_state <<<"$BODY")" error
DID=$(jq .deploy_id <<<"$BODY")
api GET "/v1/stacks/default/ha/deploys/$DID"
check_eq "deploy GET: 200" "$STATUS" 200
check_eq "deploy JSON: id, stack, state" "$(jq -c '[.id, .stack, .state]' <<<"$BODY")" "[$DID,\"ha\",\"error\"]"
check_has "deploy JSON: error has the reason" "$(jq -r .error <<<"$BODY")" "no eligible node"
check_eq "deploy JSON: services in deploy order with name and state" \
    "$(jq -c '[.services[] | [.name, .state]]' <<<"$BODY")" '[["web","error"],["after","error"]]'
check_eq "deploy JSON: every service has name, state, error" \
    "$(jq '[.services[] | has("name") and has("state") and has("error")] | all' <<<"$BODY")" true
check_has "deploy JSON: the failed service's error" "$(jq -r '.services[0].error' <<<"$BODY")" "no eligible node"
check_has "deploy JSON: later services say why they did not run" "$(jq -r '.services[1].error' <<<"$BODY")" "earlier service failed"
check_eq "deploy JSON: timestamps" "$(jq -c '[(.created_at|type), (.finished_at|type)]' <<<"$BODY")" '["string","string"]'

api POST /v1/stacks/default/ha/deploy
check_eq "POST deploy: 202" "$STATUS" 202
check_eq "POST deploy: {id, state, services}" \
    "$(jq -c '[(.id|type), .stack, (.state|IN("created","ongoing","error")), (.services|length)]' <<<"$BODY")" \
    '["number","ha",true,2]'
DID2=$(jq .id <<<"$BODY")
check "POST deploy: a new id" test "$DID2" -gt "$DID"
check "deploy through the API ends in error, never hangs" wait_for 10 deploy_is ha "$DID2" error
api GET /v1/stacks/default/ha/deploys/999999
check_eq "unknown deploy id: 404" "$STATUS" 404
api GET /v1/stacks/default/ha/deploys/abc
check_eq "non-numeric deploy id: 404" "$STATUS" 404
api POST /v1/stacks/default/nope/deploy
check_eq "deploy of an unknown stack: 404" "$STATUS" 404

# ---- scale -----------------------------------------------------------------------
run "$B" service scale stress/stress 3
check_eq "service scale stress/stress 3: exit 0" "$RC" 0
check_eq "service scale: says so" "$OUT" "stress/stress scaled to 3"
api GET /v1/services/default/stress/stress
check_eq "scale: instances is 3" "$(jq .instances <<<"$BODY")" 3
api POST /v1/services/default/stress/nope/scale '{"instances":2}'
check_eq "scale an unknown service: 404" "$STATUS" 404
run "$B" service scale stress/nope 2
check "CLI scale of an unknown service: non-zero exit" test "$RC" -ne 0
check_has "CLI scale of an unknown service: the reason" "$ERR" "no service stress/nope"
api POST /v1/services/default/stress/stress/scale '{"instances":-1}'
check_eq "scale to -1: 422 naming instances" "$STATUS:$(jq -r .field <<<"$BODY")" 422:instances
api POST /v1/services/default/stress/stress/scale '{"instances":"3"}'
check_eq "scale to a string: 422" "$STATUS" 422
api POST /v1/services/default/stress/stress/scale '{"instances":10001}'
check_eq "scale above 10000: 422" "$STATUS" 422
api POST /v1/services/default/stress/stress/scale '{"instances":2,"x":1}'
check_eq "scale with an unknown field: 422 naming it" "$STATUS:$(jq -r .field <<<"$BODY")" 422:x
api POST /v1/services/default/stress/stress/scale '{"instances":'
check_eq "scale with malformed JSON: 400" "$STATUS" 400
run "$B" service scale stress/stress lots
check "CLI scale by a bad count: non-zero exit" test "$RC" -ne 0
check_has "CLI scale by a bad count: the reason" "$ERR" "not an instance count"
api GET /v1/services/default/stress/stress
check_eq "refused scales changed nothing" "$(jq .instances <<<"$BODY")" 3

# ---- a node row: the daemon service lands on it; containers view ----------------------
NID=0123456789abcdef0123456789abcdef
insert_node "$D/berth.db" node-1 "$NID" '["ephemeral=true","az=a"]'
check_eq "node row labelled through the API" "$STATUS" 200
placed_n() { # placed_n STACK SVC N
	api GET "/v1/services/default/$1/$2/containers"
	[ "$(jq length <<<"$BODY")" = "$3" ]
}
check "daemon service placed on the new eligible node (3 instances)" wait_for 10 placed_n stress stress 3
api GET /v1/services/default/stress/stress/containers
check_eq "containers: 200" "$STATUS" 200
check_eq "containers: node, instance, state, error" \
    "$(jq -c '[.[] | [.node, .instance, .state, .error]]' <<<"$BODY")" \
    '[["node-1",1,"pending",null],["node-1",2,"pending",null],["node-1",3,"pending",null]]'
check_eq "containers: every entry has node, instance, state, error" \
    "$(jq '[.[] | has("node") and has("instance") and has("state") and has("error")] | all' <<<"$BODY")" true
check_eq "containers: names are stack.service-n, unique per node" \
    "$(jq -r '.[0].name' <<<"$BODY")" "stress.stress-1.${NID:0:8}"
run "$B" service scale stress/stress 2
check_eq "scale down to 2: exit 0" "$RC" 0
check "scale down: the third instance goes" wait_for 10 placed_n stress stress 2
check_eq "scale down: instances 1 and 2 stay" "$(jq -c '[.[].instance]' <<<"$BODY")" '[1,2]'
api GET /v1/services/default/stress/nope/containers
check_eq "containers of an unknown service: 404" "$STATUS" 404
run "$B" service containers stress/stress
check "CLI service containers: a row per instance" \
    test "$(grep -c "node-1 .*pending" "$TMP/out")" -eq 2
api GET /v1/services/default/up/a/containers
check_eq "ineligible daemon service: no containers" "$BODY" "[]"

# ---- a deploy stays ongoing; DELETE refused unless forced ---------------------------
api POST /v1/stacks/default/stress/deploy
check_eq "deploy stress: 202" "$STATUS" 202
OD=$(jq .id <<<"$BODY")
check "deploy with an instance that never runs is ongoing" wait_for 10 deploy_is stress "$OD" ongoing
check_eq "ongoing deploy: service ongoing, 2 placed, 0 running" \
    "$(jq -c '[.services[] | [.name, .state, .placed, .running]]' <<<"$BODY")" '[["stress","ongoing",2,0]]'
# A second later, and the scheduler has advanced the grid's deploys since.
sleep 1
sched_wait_round
check "still ongoing a second later" deploy_is stress "$OD" ongoing
run "$B" stack ls
check "stack ls shows the ongoing deploy" grep -Eq '^stress +jussi/stress +0\.1\.1 +1 +deploying +ongoing ' "$TMP/out"
api POST /v1/stacks/default/stress/deploy
OD2=$(jq .id <<<"$BODY")
api GET "/v1/stacks/default/stress/deploys/$OD"
check_eq "a newer deploy supersedes the running one" \
    "$(jq -r '.state + ": " + .error' <<<"$BODY")" "error: superseded by a newer deploy"
check "the newer deploy is ongoing" wait_for 10 deploy_is stress "$OD2" ongoing

SID=$(sqlite3 "$D/berth.db" ".timeout 5000" "SELECT v.id FROM services v JOIN stacks k ON k.id = v.stack_id WHERE k.name = 'stress'")
n_inst() { sqlite3 "$D/berth.db" ".timeout 5000" "SELECT count(*) FROM instances WHERE service_id = $1"; }
check_eq "stress has 2 instance rows" "$(n_inst "$SID")" 2
api DELETE /v1/stacks/default/stress
check_eq "DELETE while a deploy is ongoing: 409" "$STATUS" 409
check_has "409 says why" "$(jq -r .error <<<"$BODY")" "deploy in progress"
api DELETE "/v1/stacks/default/stress?force=0"
check_eq "DELETE ?force=0 is not forced: 409" "$STATUS" 409
run "$B" stack rm stress
check_eq "CLI stack rm without --force while ongoing: exit 1" "$RC" 1
check_has "CLI stack rm: [fail] with the reason" "$OUT" "[fail] Removing stack stress: "
api GET /v1/stacks/default/stress
check_eq "refused DELETE kept the stack" "$STATUS" 200
check_eq "refused DELETE kept its instances" "$(n_inst "$SID")" 2
api DELETE "/v1/stacks/default/stress?force=1"
check_eq "DELETE ?force=1: 204" "$STATUS" 204
api GET /v1/stacks/default/stress
check_eq "forced DELETE: the stack is gone" "$STATUS" 404
api GET /v1/services/default/stress/stress
check_eq "forced DELETE: its service is gone" "$STATUS" 404
check_eq "forced DELETE: its instance rows are gone" "$(n_inst "$SID")" 0
check_eq "forced DELETE: its deploys are gone" \
    "$(sqlite3 "$D/berth.db" ".timeout 5000" "SELECT count(*) FROM deploys WHERE id IN ($OD, $OD2)")" 0
api GET "/v1/stacks/default/stress/deploys/$OD2"
check_eq "deploy of a removed stack: 404" "$STATUS" 404

# stress-b has the same daemon service: placed on node-1 too.
check "stress-b placed on the node" wait_for 10 placed_n stress-b stress 1
api POST /v1/stacks/default/stress-b/deploy
BD=$(jq .id <<<"$BODY")
check "stress-b deploy ongoing" wait_for 10 deploy_is stress-b "$BD" ongoing
SIDB=$(sqlite3 "$D/berth.db" ".timeout 5000" "SELECT v.id FROM services v JOIN stacks k ON k.id = v.stack_id WHERE k.name = 'stress-b'")
run "$B" stack rm --force stress-b
check_eq "stack rm --force while ongoing: exit 0" "$RC" 0
check_eq "stack rm --force: prints [done] Removing stack" "$OUT" "[done] Removing stack stress-b"
api GET /v1/stacks/default/stress-b
check_eq "stack rm --force: gone" "$STATUS" 404
check_eq "stack rm --force: instance rows gone" "$(n_inst "$SIDB")" 0

# ---- ls, rm -------------------------------------------------------------------------
run "$B" stack ls
check_eq "stack ls: exit 0" "$RC" 0
check "stack ls: header" grep -Eq '^NAME +STACK +VERSION +SERVICES +STATE +DEPLOY +UPDATED *$' "$TMP/out"
check "stack ls: up row" grep -Eq '^up +t/up +- +3 +running +success ' "$TMP/out"
check "stack ls: ha row shows the failed deploy" grep -Eq '^ha +t/ha +- +2 +[a-z ]+ +error ' "$TMP/out"
check "stack ls: removed stacks are not listed" test "$(grep -Ec '^stress(-b)? ' "$TMP/out")" -eq 0
run "$B" stack ls --json
check_eq "stack ls --json: the API's list" "$(jq -r '[.[].name] | join(",")' <"$TMP/out")" "$(stack_names)"
check_eq "stack ls --json: fields" \
    "$(jq -c '.[] | select(.name == "up") | [.stack, .services, .deploy_state, .rev]' <"$TMP/out")" '["t/up",3,"success",3]'
run "$B" stack rm same-json
check_eq "stack rm with no deploy running: [done] without --force" "$RC:$OUT" "0:[done] Removing stack same-json"
api DELETE /v1/stacks/default/same-yaml
check_eq "DELETE with no deploy: 204" "$STATUS" 204
api DELETE /v1/stacks/default/same-yaml
check_eq "DELETE again: 404" "$STATUS" 404
run "$B" stack rm --force nope
check_eq "stack rm of an unknown stack: exit 1 with [fail]" "$RC:$(grep -c '^\[fail\] Removing stack nope: ' "$TMP/out")" "1:1"

api GET /v1/grids/default/events?type=stack.
check_has "events record stack create, upgrade, remove" "$(jq -r '[.[].type] | unique | join(",")' <<<"$BODY")" \
    "stack.create,stack.remove,stack.upgrade"
master_stop TERM

# ---- deploy timeout (a second master with --deploy-timeout-s 1) ---------------------
D2=$TMP/data2
master_start "$D2" --deploy-timeout-s 1 || exit 1
insert_node "$D2/berth.db" node-1 "$NID" '["ephemeral=true"]'
# Without the row (or the PATCH that tells the scheduler of it) the
# daemon has no node, and its deploy succeeds at once with none.
check_eq "deploy timeout: node row labelled through the API" "$STATUS" 200
run "$B" stack install "$STRESS"
check_eq "deploy timeout: CLI install exits 1" "$RC" 1
check_has "deploy timeout: [fail] Deploying service stress with the reason" "$(tail -1 "$TMP/out")" \
    "[fail] Deploying service stress: "
check_has "deploy timeout: says it timed out" "$(tail -1 "$TMP/out")" "timed out after 1s"
api GET /v1/stacks/default/stress
TD=$(jq .deploy_id <<<"$BODY")
api GET "/v1/stacks/default/stress/deploys/$TD"
check_eq "deploy timeout: deploy and service in error" \
    "$(jq -c '[.state, .services[0].state]' <<<"$BODY")" '["error","error"]'
api DELETE /v1/stacks/default/stress
check_eq "a stack whose deploy ended in error deletes without force" "$STATUS" 204
master_stop TERM
