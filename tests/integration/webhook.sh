#!/usr/bin/env bash
# webhook.sh - a grid's webhook, node groups' metrics and spare, on a real
# master with a loopback receiver (tests/peers/webhook_receiver.py) and an
# exec provider whose program answers by the book (no agent joins here).
#  1. webhook_url and webhook_events validated: 422 naming the field.
#  2. The URL is a secret: redacted in the API, `berth grid show`, the
#     grid.settings event and the log; sealed in the store: neither the
#     secret path nor host+path in the db file or its WAL; after a master
#     restart it opens with the same key (every post below is after one).
#  3. A scale-up: the chosen events (nodegroup., machine.) arrive as JSON
#     with a Slack-compatible "text" and the structured event; the others
#     (stack., deploy., grid.) do not.
#  4. GET /metrics: the group's series with HELP/TYPE after the scale-up.
#  5. A slow receiver never stalls the master: scheduling goes on (a new
#     scale-up) while a POST hangs; a receiver that is down: events
#     dropped and counted, the URL never in the log in clear.
#  6. A deploy waiting for capacity says for which ("waiting for 2 nodes of
#     burst, 3s of 15m"), in its status and the CLI's progress.
#  7. spare: a group keeps warm idle machines beyond demand; min + spare
#     above max is refused naming spare.
#  8. master.key replaced: the sealed URL does not open: no POST, a drop
#     logged and a grid.webhook_unsealable event, both without the secret;
#     the master goes on.
. "$(dirname "$0")/../lib.sh"

D=$TMP/data
master_start "$D" || exit 1
B=$BIN/berth
R=$TMP/recv
mkdir -p "$R"
SECRET=T0SECRET/B0SECRET/xoxsecretpath
# metric NAME: its value in the last GET /metrics ($m), or a fresh one.
metric() { awk -v k="$1" '$1 == k {print $2}' <<<"${m:-$(curl -s "$API/metrics")}"; }
posted_types() { jq -r .type "$R/posts" 2>/dev/null | sort -u | tr '\n' ' '; }
not_in() { ! grep -q "$1" <<<"$2"; }

# ---- 1. validation ------------------------------------------------------------
api PATCH /v1/grids/default '{"settings":{"webhook_url":"ftp://127.0.0.1/x"}}'
check_eq "an ftp URL: 422 naming settings.webhook_url" \
    "$STATUS $(jq -r .field <<<"$BODY")" "422 settings.webhook_url"
check_has "and says what it must be" "$(jq -r .error <<<"$BODY")" "http:// or https://"
api PATCH /v1/grids/default '{"settings":{"webhook_url":"https:///path"}}'
check_eq "a URL without a host: 422" "$STATUS $(jq -r .field <<<"$BODY")" "422 settings.webhook_url"
api PATCH /v1/grids/default '{"settings":{"webhook_events":"Node Drain"}}'
check_eq "bad event prefixes: 422 naming settings.webhook_events" \
    "$STATUS $(jq -r .field <<<"$BODY")" "422 settings.webhook_events"
check_eq "nothing stored" "$(api_jq /v1/grids/default .settings.webhook_url)" ""

# ---- the receiver ---------------------------------------------------------------
python3 "$ROOT/tests/peers/webhook_receiver.py" "$R" 2>"$TMP/recv.log" &
RECV_PID=$!
at_exit "kill $RECV_PID"
wait_for 10 test -s "$R/port" || notok "the receiver starts"
URL="http://127.0.0.1:$(cat "$R/port")/services/$SECRET"

# ---- 2. set, shown redacted -------------------------------------------------------
out=$("$B" grid set default "webhook_url=$URL" webhook_events=nodegroup.,machine. \
    webhook_timeout_s=1s webhook_retries=1 2>&1)
check "grid set takes the webhook" test $? -eq 0
check_eq "the API shows it redacted" "$(api_jq /v1/grids/default .settings.webhook_url)" \
    "http://127.0.0.1:$(cat "$R/port")/***"
out=$("$B" grid show default 2>&1; "$B" grid show default --json 2>&1)
check_has "grid show: the host" "$out" "127.0.0.1:$(cat "$R/port")/***"
check "grid show: never the secret path" not_in SECRET "$out"
check "the grid.settings event names no secret" sh -c \
    "curl -s -H 'Authorization: Bearer $TOKEN' '$API/v1/grids/default/events?type=grid.settings' | grep -q webhook_url && ! curl -s -H 'Authorization: Bearer $TOKEN' '$API/v1/grids/default/events?type=grid.settings' | grep -q SECRET"
# Sealed at rest: the row holds the envelope (the evidence it was written),
# and no byte of the db file or its WAL holds the URL's secret part.
HOSTPATH="127.0.0.1:$(cat "$R/port")/services"
check_has "the store holds it sealed" \
    "$(sqlite3 "$D/berth.db" "SELECT webhook_url FROM grids WHERE name = 'default'")" "sealed:v1:"
check "the db file and its WAL: never the secret path" sh -c \
    "! cat '$D/berth.db' '$D/berth.db-wal' 2>/dev/null | strings | grep -q -e SECRET -e '$HOSTPATH'"
check "grep -a on the raw files: neither" sh -c \
    "! grep -a -q -e T0SECRET -e '$HOSTPATH' '$D/berth.db' '$D/berth.db-wal'"
"$B" grid set default webhook_events=nodegroup.,machine. >/dev/null
check_has "another key's PATCH keeps it" "$(api_jq /v1/grids/default .settings.webhook_url)" \
    "127.0.0.1:$(cat "$R/port")/***"
# Every POST below comes from a restarted master: it opens the URL with
# the same key (master.key in the data dir).
master_stop
master_start "$D" || exit 1
check "after a restart, still not in clear in the file" sh -c \
    "! grep -a -q -e T0SECRET -e '$HOSTPATH' '$D/berth.db' '$D/berth.db-wal'"

# ---- 3. a scale-up: the chosen events arrive ---------------------------------------
P=$TMP/prov
cat >"$P" <<'EOF2'
#!/bin/sh
in=$(cat)
case "$1" in
create) printf '{"id": "i-%s"}\n' "$(printf '%s' "$in" | jq -r .machine)" ;;
list) echo '{"instances": []}' ;;
*) echo '{}' ;;
esac
EOF2
chmod +x "$P"
"$B" nodegroup create burst --provider exec --max 6 --set cpus=1 \
    --set "exec_program=$P" --set list_interval_s=0 >/dev/null ||
    notok "nodegroup create burst"
api POST /v1/grids/default/stacks '{"stack":"t/web","services":{"web":{"image":"busybox","instances":2,"cpus":1}}}'
api POST /v1/stacks/default/web/deploy
check "nodegroup.scale_up is posted" wait_for 20 grep -q '"type":"nodegroup.scale_up"' "$R/posts"
check "machine.launch is posted, twice" wait_for 20 \
    sh -c "[ \$(grep -c '\"type\":\"machine.launch\"' '$R/posts') -ge 2 ]"
post=$(grep '"type":"nodegroup.scale_up"' "$R/posts" | head -1)
check_has "a Slack-compatible text" "$(jq -r .text <<<"$post")" \
    "[default] nodegroup.scale_up: group burst: launching 2 machines"
check_eq "and the structured event" "$(jq -c '{type, grid, subject}' <<<"$post")" \
    '{"type":"nodegroup.scale_up","grid":"default","subject":"burst"}'
check_eq "with its time" "$(jq -r '.time | test("^20[0-9-]+T")' <<<"$post")" true
check_eq "posted to the URL's path" "$(head -1 "$R/paths")" "/services/$SECRET"
# The events arrived after stack.create, deploy.* and grid.settings were
# written: none of those was posted.
check_eq "only the chosen types" "$(posted_types)" \
    "machine.launch nodegroup.create nodegroup.scale_up "

# ---- 4. metrics of the group ----------------------------------------------------------
m=$(curl -s "$API/metrics")
L='grid="default",group="burst"'
check_has "HELP and TYPE" "$m" "# TYPE berth_nodegroup_machines gauge"
check_has "a counter" "$m" "# TYPE berth_nodegroup_scale_ups_total counter"
check_eq "scale-ups" "$(metric "berth_nodegroup_scale_ups_total{$L}")" 1
check_eq "machines launched" "$(metric "berth_nodegroup_launched_total{$L}")" 2
check_eq "machines launching" "$(metric "berth_nodegroup_machines{$L,state=\"launching\"}")" 2
check_eq "target" "$(metric "berth_nodegroup_target{$L}")" 2
check_eq "max" "$(metric "berth_nodegroup_max{$L}")" 6
check_eq "launches in the last hour" "$(metric "berth_nodegroup_launches_last_hour{$L}")" 2
check_eq "no backoff" "$(metric "berth_nodegroup_backoff{$L}")" 0
check_eq "the grid's pending demand" "$(metric 'berth_nodegroup_pending_demand{grid="default"}')" 2
check "posts counted" test "$(metric berth_webhook_posts_total)" -ge 3
m=

# ---- the deploy names the capacity it waits for ------------------------------------------
dep=$(api_jq /v1/stacks/default/web/deploys '.[0].id')
w=$(api_jq "/v1/stacks/default/web/deploys/$dep" '.services[0].waiting')
check_has "the deploy waits for the group's machines" "$w" "waiting for 2 nodes of burst, "
check_has "against the provision timeout" "$w" " of 15m"
check_eq "and has not failed" "$(api_jq "/v1/stacks/default/web/deploys/$dep" .state)" ongoing
out=$(timeout 3 "$B" stack deploy web 2>&1)
check_has "the CLI's progress says so" "$out" \
    "[wait] Deploying service web: waiting for 2 nodes of burst, "

# ---- 5. a slow receiver, then none ------------------------------------------------------
echo 10 >"$R/slow"
"$B" nodegroup set burst max=5 >/dev/null	# a nodegroup.settings event, posted (and held)
check "a POST is held by the slow receiver" wait_for 20 \
    sh -c "[ \"\$(curl -s '$API/metrics' | awk '\$1 == \"berth_webhook_failures_total\" {print \$2}')\" -ge 1 ]"
api POST /v1/grids/default/stacks '{"stack":"t/more","services":{"more":{"image":"busybox","instances":1,"cpus":1}}}'
api POST /v1/stacks/default/more/deploy
check "scheduling goes on: a second scale-up while the receiver hangs" \
    wait_for 20 sh -c "[ \$(curl -s -H 'Authorization: Bearer $TOKEN' '$API/v1/grids/default/events?type=nodegroup.scale_up' | jq length) -ge 2 ]"
kill "$RECV_PID"
wait "$RECV_PID" 2>/dev/null
"$B" grid set default webhook_retries=0 >/dev/null
for i in 1 2 3; do "$B" nodegroup set burst "max=$((3 + i))" >/dev/null; done
check "a receiver that is down: events dropped and counted" wait_for 30 \
    sh -c "[ \"\$(curl -s '$API/metrics' | awk '\$1 == \"berth_webhook_dropped_total\" {print \$2}')\" -ge 3 ]"
check_has "each drop logged, redacted" "$(grep 'webhook:' "$MASTER_LOG")" \
    "to http://127.0.0.1:$(cat "$R/port")/*** dropped"
check "the log never holds the secret" sh -c "! grep -q SECRET '$MASTER_LOG'"

# ---- 7. spare ---------------------------------------------------------------------------
# No demand left (the planner could put some on warm's machines, too).
api DELETE /v1/stacks/default/web?force=1
api DELETE /v1/stacks/default/more?force=1
api POST /v1/grids/default/nodegroups '{"name":"warm","provider":"exec","min":1,"max":2,"settings":{"spare":2,"exec_program":"/bin/true"}}'
check_eq "min + spare above max: 422 naming spare" "$STATUS $(jq -r .field <<<"$BODY")" "422 settings.spare"
"$B" nodegroup create warm --provider exec --max 3 --set cpus=1 --set spare=2 \
    --set "exec_program=$P" --set list_interval_s=0 --set priority=9 >/dev/null ||
    notok "nodegroup create warm"
check "a group with spare 2 and no demand launches 2" wait_for 20 \
    sh -c "[ \$(curl -s -H 'Authorization: Bearer $TOKEN' '$API/v1/nodegroups/default/warm/machines' | jq length) -eq 2 ]"
check_has "saying why" "$(api_jq '/v1/grids/default/events?type=nodegroup.scale_up' '.[].message')" \
    "group warm: launching 2 machines: below its min of 0 plus its spare"
check_eq "spare in the metrics" "$(metric 'berth_nodegroup_spare{grid="default",group="warm"}')" 2
sched_wait_round
check_eq "and no more (they will be idle)" \
    "$(api_jq /v1/nodegroups/default/warm/machines length)" 2

# ---- 8. master.key replaced: the sealed URL does not open ------------------------------
master_stop
head -c 32 /dev/urandom >"$D/master.key"
master_start "$D" || exit 1
"$B" nodegroup set burst max=7 >/dev/null	# a nodegroup.settings event: wanted
check "a grid.webhook_unsealable event" wait_for 20 sh -c \
    "curl -s -H 'Authorization: Bearer $TOKEN' '$API/v1/grids/default/events?type=grid.webhook_unsealable' | grep -q unsealed"
check_has "it names the host only" \
    "$(api_jq '/v1/grids/default/events?type=grid.webhook_unsealable' '.[].message')" \
    "events are not posted to http://127.0.0.1:$(cat "$R/port")/***"
"$B" nodegroup set burst max=6 >/dev/null	# another: dropped too, not told again
check "both events dropped, counted" wait_for 20 \
    sh -c "[ \"\$(curl -s '$API/metrics' | awk '\$1 == \"berth_webhook_dropped_total\" {print \$2}')\" -ge 2 ]"
check_eq "never posted (no attempt failed)" "$(metric berth_webhook_failures_total)" 0
check_eq "told once" "$(api_jq '/v1/grids/default/events?type=grid.webhook_unsealable' length)" 1
check_has "the log says why" "$(grep 'webhook:' "$MASTER_LOG" | tail -3)" \
    "webhook_url cannot be unsealed with this master's key"
check "the log never holds the secret" sh -c "! grep -q SECRET '$MASTER_LOG'"
check "the master goes on" pid_alive "$MASTER_PID"
master_stop
