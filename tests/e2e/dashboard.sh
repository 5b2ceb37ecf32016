#!/usr/bin/env bash
# dashboard.sh - the web dashboard (docs/dashboard.md) in Debian's
# chromium, driven by playwright-core (tests/browser/dashboard.mjs), against
# a real master and three real agents on the real Docker Engine: log in, a
# wrong token, the agents online, a stack installed through the API and its
# instances appearing, scale, logs followed live, events filtered, a job,
# cordon/uncordon, drain and protect from the nodes page, a pending node
# approved,
# remove a node, a node group's scale-up (process provider) charted, log
# out; CSP on throughout. Screenshots of each page go to
# $BERTH_ARTIFACTS (default tests/artifacts/dashboard).
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/test-image.sh" >/dev/null || { notok "build the local test image"; exit 1; }
[ -x /usr/bin/chromium ] && [ -d "$ROOT/web/node_modules/playwright-core" ] ||
    { notok "chromium and playwright-core are installed (run make deps)"; exit 1; }
D=$TMP/data
master_start "$D" --deploy-timeout-s 30 || exit 1
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":3,"instance_settle_s":1}}'

agent_start a1 "az=a,role=web"
agent_start a2 "az=b,role=web"
agent_start a3 "az=c"
check "three real agents online" wait_for 30 sh -c '[ "$(curl -s -H "Authorization: Bearer '"$TOKEN"'" '"$API"'/v1/grids/default/nodes | jq "[.[] | select(.status == \"online\")] | length")" = 3 ]'
# A fourth joins while the grid wants approval: pending, for the page's
# Approve button.
api PATCH /v1/grids/default '{"settings":{"join_approval":"manual"}}'
agent_start a4 "az=d"
check "a fourth agent waits as pending (join_approval manual)" wait_for 30 sh -c \
    "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/nodes/default/a4 | jq -r .status)\" = pending ]"

cat >"$TMP/web.yml" <<'YML'
stack: e2e/web
services:
  web:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do date +"tick %s"; sleep 1; done'
    instances: 2
    stop_grace_period: 2s
YML

# The group's machines (process-provider agents) and their containers go
# at exit with everything else the test started (tests/lib.sh cleanup).

ART=${BERTH_ARTIFACTS:-$ROOT/tests/artifacts}/dashboard
rm -rf "$ART"
GROUP_ENV="BERTH_STATS_INTERVAL_S=1 BERTH_RESYNC_INTERVAL_S=2 BERTH_BACKOFF_MAX_S=2" \
BERTH_API=$API BERTH_TOKEN=$TOKEN BERTH_ARTIFACTS=$ART STACK_FILE=$TMP/web.yml \
    timeout 240 node "$ROOT/tests/browser/dashboard.mjs" e2e
rc=$?
[ "$rc" = 0 ] || [ "$rc" = 1 ] || notok "the browser test ran to its end (exit $rc)"

n=$(ls "$ART"/*.png 2>/dev/null | wc -l)
check "a screenshot of each page is saved ($n in $ART)" test "$n" -ge 10
if grep -qF "$TOKEN" "$D/master.log"; then
	notok "the operator token is not in the master's log"
else
	ok "the operator token is not in the master's log"
fi
# The browser's requests reached the master: the dashboard really used it.
check "the master served the dashboard's files and its API calls" \
    sh -c "curl -s '$API/metrics' | grep -q 'berth_api_requests_total{status=\"304\"}\|berth_api_requests_total{status=\"200\"}'"
exit 0
