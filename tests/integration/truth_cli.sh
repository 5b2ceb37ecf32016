#!/usr/bin/env bash
# truth_cli.sh - what the master and the CLI say is the truth (issue 19),
# the parts a real master shows with a simulated agent (wsprobe): ids never
# reused, a scale that survives an unchanged upgrade, confirmations and
# node removal, stale states, warnings for keys not acted on, the CLI's
# own words, and docs that stand on their own. The same points against
# real agents on Docker are in tests/e2e/truth.sh.
. "$(dirname "$0")/../lib.sh"

PROBE=$ROOT/$BUILD/tools/wsprobe
D=$TMP/data
master_start "$D" || exit 1
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":2}}'
GT=$(cat "$D/grid-default.token")
B=$BIN/berth
hexid() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
# on_tty INPUT CMD...: run CMD with a terminal for stdin and stdout,
# INPUT typed into it; prints what it printed.
on_tty() {
	local input=$1
	shift
	(sleep 0.5; printf '%s\n' "$input") |
	    script -qec "$(printf '%q ' "$@")" /dev/null 2>&1 | tr -d '\r'
}
# agent NAME ID LABELS [wsprobe args]: a simulated agent that answers
# every desired set with "running", in the background for 600 s.
agent() {
	local name=$1 id=$2 labels=$3
	shift 3
	"$PROBE" --port "$AGENT_PORT" --stay 600 --auto-state \
	    -H "Berth-Protocol: 1" -H "Berth-Node-Id: $id" \
	    -H "Berth-Node-Name: $name" -H "Berth-Node-Labels: $labels" \
	    -H "Berth-Agent-Version: test" -H "Berth-Grid-Token: $GT" \
	    --send '{"type":"node_info","cpus":2,"memory":4294967296}' "$@" \
	    >"$TMP/$name.out" 2>&1 &
	echo $! >"$TMP/$name.pid"
}
N1=$(hexid)
agent n1 "$N1" "az=a" --send '{"type":"stats","cpu_pct":42.5,"mem_used":1000,"mem_total":2000,"containers":1}'
wait_for 10 api_jq /v1/nodes/default/n1 '.status == "online"' -e
wait_for 10 api_jq /v1/nodes/default/n1 '.cpu_pct != null' -e

# ---- 19.3: ids are never reused ---------------------------------------------
cat >"$TMP/app.yml" <<'YML'
stack: t/app
services:
  app:
    image: berth-test/busybox:latest
    instances: 2
    mem_limit: 64M
    command: sh -c 'echo "it runs"; while true; do sleep 1; done'
    environment:
      GREETING: hello world
YML
"$B" stack install "$TMP/app.yml" >/dev/null
id1=$(api_jq /v1/services/default/app/app .id)
"$B" stack rm --force app >/dev/null
"$B" stack install "$TMP/app.yml" >/dev/null
id2=$(api_jq /v1/services/default/app/app .id)
check "a service made after a removal gets a new id ($id1 then $id2)" \
    test "$id2" -gt "$id1"

# ---- 19.4: a scale is not the file's; an unchanged upgrade keeps it ---------
"$B" service scale app/app 6 >/dev/null
api GET /v1/services/default/app/app
check_eq "a scale sets the count" "$(jq .instances <<<"$BODY")" 6
check_eq "a scale does not write into the spec" "$(jq .spec.instances <<<"$BODY")" 2
"$B" stack upgrade app "$TMP/app.yml" >/dev/null
api GET /v1/services/default/app/app
check_eq "re-applying the unchanged file keeps the manual scale" \
    "$(jq -c '[.instances, .rev]' <<<"$BODY")" "[6,1]"
sed 's/instances: 2/instances: 3/' "$TMP/app.yml" >"$TMP/app3.yml"
"$B" stack upgrade app "$TMP/app3.yml" >/dev/null
api GET /v1/services/default/app/app
check_eq "a file that changes only instances sets the count, same revision" \
    "$(jq -c '[.instances, .rev, .spec.instances]' <<<"$BODY")" "[3,1,3]"

# ---- 19.8: the CLI's own words ----------------------------------------------
out=$("$B" service show app/app)
check_has "service show: memory in human units" "$out" "64.0 MiB"
check_has "service show: the command with its quoting" "$out" \
    "sh -c 'echo \"it runs\"; while true; do sleep 1; done'"
check_has "service show: the environment" "$out" "GREETING=hello world"
cat >"$TMP/daemon.yml" <<'YML'
stack: t/dmn
services:
  d:
    image: berth-test/busybox:latest
    deploy:
      strategy: daemon
    instances: 2
YML
out=$("$B" stack install "$TMP/daemon.yml" --json)
check_eq "stack install --json: exit 0" "$?" 0
check_eq "stack install --json prints the deploy as JSON" \
    "$(jq -r '.deploy.state' <<<"$out" 2>/dev/null)" success
check_has "service ls: a daemon's count is per node" "$("$B" service ls)" "2 per node"
out=$("$B" stack upgrade dmn "$TMP/daemon.yml" --json)
check_eq "stack upgrade --json prints JSON" "$(jq -r '.stack.name' <<<"$out" 2>/dev/null)" dmn
out=$("$B" stack rm dmn --yes --json)
check_eq "stack rm --json prints JSON" "$(jq -c '[.stack, .removed]' <<<"$out" 2>/dev/null)" '["dmn",true]'
err=$("$B" stack frob 2>&1)
check_has "an unknown verb: unknown command" "$err" 'unknown command "stack frob"'
check_has "an unknown verb: the group's help" "$err" "stack install FILE"
check_has "berth version" "$("$B" version)" "berth "
for doc in README.md docs/cli.md; do
	check_has "$doc documents BERTH_GRID" "$(cat "$ROOT/$doc" 2>/dev/null)" BERTH_GRID
done
missing=""
for cmd in $("$B" --help | sed -n 's/^  \([a-z][a-z-]*\( [a-z][a-z-]*\)\?\) .*/\1/p' | tr ' ' '_' | sort -u); do
	grep -q "berth ${cmd//_/ }" "$ROOT/docs/cli.md" 2>/dev/null || missing="$missing ${cmd//_/ }"
done
check_eq "docs/cli.md documents every command (stack deploy among them)" "$missing" ""

# ---- 19.5: destructive commands confirm and say what they destroy -----------
out=$(on_tty n "$B" stack rm app)
check_has "stack rm on a terminal says what it removes" "$out" "Remove stack app"
check_eq "stack rm on a terminal answered no keeps the stack" \
    "$(api_jq /v1/stacks/default/app .name)" app
out=$(on_tty y "$B" stack rm app)
check_has "stack rm on a terminal answered yes removes it" "$out" "[done] Removing stack app"
api GET /v1/stacks/default/app
check_eq "the stack is gone" "$STATUS" 404
"$B" stack install "$TMP/app.yml" >/dev/null
sed 's/t\/app/t\/other/' "$TMP/app.yml" >"$TMP/other.yml"
err=$("$B" stack upgrade app "$TMP/other.yml" 2>&1)
check_eq "stack upgrade with another stack's file fails" "$?" 1
check_has "...and says whose file it is" "$err" "t/other"
check_eq "...and changes nothing" "$(api_jq /v1/stacks/default/app .rev)" 1
cat >"$TMP/app2.yml" <<'YML'
stack: t/app
services:
  app:
    image: berth-test/busybox:latest
    instances: 2
    mem_limit: 64M
    command: sh -c 'echo "it runs"; while true; do sleep 1; done'
    environment:
      GREETING: hello world
  side:
    image: berth-test/busybox:latest
YML
"$B" stack upgrade app "$TMP/app2.yml" >/dev/null
out=$(on_tty n "$B" stack upgrade app "$TMP/app.yml")
check_has "an upgrade that removes a service names it" "$out" "side"
check_eq "...and answered no keeps it" \
    "$(api_jq /v1/services/default/app/side .name)" side
api DELETE /v1/nodes/default/n1
check_eq "node rm of a connected node is refused" "$STATUS" 409
check_has "...saying how to go ahead" "$BODY" "force"
check_eq "...and the node stays" "$(api_jq /v1/nodes/default/n1 .status)" online
out=$("$B" node rm n1 --force --yes 2>&1)
check_eq "node rm --force of a connected node" "$?" 0
out=$("$PROBE" --port "$AGENT_PORT" --stay 2 -H "Berth-Protocol: 1" \
    -H "Berth-Node-Id: $N1" -H "Berth-Node-Name: n1" -H "Berth-Grid-Token: $GT")
check_has "a removed node cannot rejoin under its id with the grid token" \
    "$out" "close 4006"
api GET /v1/nodes/default/n1
check_eq "...and is not recorded again" "$STATUS" 404

# ---- 19.6: stale states -------------------------------------------------------
N2=$(hexid)
agent n2 "$N2" "az=b" --send '{"type":"stats","cpu_pct":33,"mem_used":1000,"mem_total":2000,"containers":1}'
wait_for 10 api_jq /v1/nodes/default/n2 '.cpu_pct != null' -e
check "the live node's instances run" wait_for 20 \
    api_jq /v1/services/default/app/app/containers '[.[] | select(.state == "running")] | length == 2' -e
kill "$(cat "$TMP/n2.pid")"
wait_for 10 api_jq /v1/nodes/default/n2 '.status == "offline"' -e
api GET /v1/grids/default/nodes
check_eq "an offline node shows no load" "$(jq -c '.[] | select(.name == "n2") | [.cpu_pct, .mem_used]' <<<"$BODY")" "[null,null]"
api GET /v1/services/default/app/app/containers
check_eq "the containers of an offline node are unknown" \
    "$(jq -r '[.[].state] | unique | join(",")' <<<"$BODY")" unknown
check_has "...because the node is offline" "$(jq -r '.[0].error' <<<"$BODY")" "node offline"
check_has "service containers says so" "$("$B" service containers app/app)" "unknown (node offline)"
check_eq "an offline node's instances are not counted running" \
    "$(api_jq /v1/services/default/app/app .running)" 0

cat >"$TMP/zone.yml" <<'YML'
stack: t/zone
services:
  z:
    image: berth-test/busybox:latest
    affinity:
      - label==az=zz
YML
out=$("$B" stack install "$TMP/zone.yml" 2>&1)
check_eq "a deploy with no eligible node fails" "$?" 1
out=$("$B" stack show zone)
check_has "stack show gives the reason of the failed deploy" "$out" "no eligible node"
out=$("$B" stack deploys zone)
check_has "stack deploys lists the deploys" "$out" "error"
check_has "...with their reasons" "$out" "no eligible node"
N3=$(hexid)
agent n3 "$N3" "az=zz"
check "the stack converges once a node fits" wait_for 20 \
    api_jq /v1/services/default/zone/z/containers '[.[] | select(.state == "running")] | length == 1' -e
api GET /v1/stacks/default/zone
check_eq "a stack whose failed deploy later converged shows its real state" \
    "$(jq -r .state <<<"$BODY")" running
check_eq "...and still the last deploy's outcome" "$(jq -r .deploy_state <<<"$BODY")" error

# ---- 19.7: keys berth accepts but does not act on -----------------------------
cat >"$TMP/inert.yml" <<'YML'
stack: t/inert
expose: web
services:
  web:
    image: berth-test/busybox:latest
    affinity:
      - label==az=zz
    health_check:
      protocol: http
      port: 80
      uri: /health
    hooks:
      post_start:
        - name: hi
          cmd: echo hi
          instances: "*"
    logging:
      driver: json-file
      options:
        max-size: 10m
    deploy:
      interval: 1h
YML
out=$("$B" stack install "$TMP/inert.yml" 2>&1)
for k in expose; do
	check_has "install warns that $k is not acted on" "$out" "warning: $k"
done
# logging: is acted on (the container's Docker log config, e2e/vault.sh);
# health_check, hooks and deploy.interval too (the agent probes and runs
# them, e2e/health.sh, e2e/hooks.sh; the master redeploys, e2e/interval.sh).

for k in logging health_check hooks deploy.interval; do
	check "install does not warn of $k" test "${out/warning: services.web.$k/}" = "$out"
done
api GET /v1/stacks/default/inert
check_eq "the API gives the warnings too" "$(jq '.warnings | length' <<<"$BODY")" 1

# ---- 19.9: the docs stand on their own ----------------------------------------
check_eq "README's sample output names no path of the author's machine" \
    "$(grep -c '/work/' "$ROOT/README.md")" 0
check_eq "the docs do not name DESIGN.md" \
    "$(grep -l 'DESIGN\.md' "$ROOT/README.md" "$ROOT"/docs/*.md | wc -l)" 0

kill "$(cat "$TMP/n3.pid")" 2>/dev/null
exit 0
