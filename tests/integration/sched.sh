#!/usr/bin/env bash
# sched.sh - the scheduling loop of a real master with simulated agents
# speaking the real protocol (wsprobe --auto-state reports every container
# it is given as running): daemons on join, ha rebalancing within the
# budget, replacement after the grace, ephemeral removal, and standing down
# when half the grid drops at once.
. "$(dirname "$0")/../lib.sh"

PROBE=$ROOT/$BUILD/tools/wsprobe
D=$TMP/data
master_start "$D" || exit 1
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":2,"ha_grace_s":3,"random_grace_s":1,"ephemeral_removal_s":5,"rebalance_settle_s":1,"move_cooldown_s":2}}'
check_eq "shortened timing settings" "$STATUS" 200
GT=$(cat "$D/grid-default.token")
SIMS=""

# sim NAME LABELS: a simulated agent that stays for a few minutes.
sim() {
	local id
	id=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
	"$PROBE" --port "$AGENT_PORT" --stay 300 --auto-state \
	    -H "Berth-Protocol: 1" -H "Berth-Node-Id: $id" \
	    -H "Berth-Node-Name: $1" -H "Berth-Node-Labels: $2" \
	    -H "Berth-Grid-Token: $GT" >"$TMP/$1.out" 2>&1 &
	echo $! >"$TMP/$1.pid"
	SIMS="$SIMS $1"
}
sim_kill() { kill -9 "$(cat "$TMP/$1.pid")" 2>/dev/null; }
at_exit 'for s in $SIMS; do sim_kill $s; done'
online() {
	api_jq /v1/grids/default/nodes '[.[] | select(.status == "online")] | length'
}
online_is() { [ "$(online)" = "$1" ]; }
# node_is NAME STATUS: the master has node NAME in STATUS.
node_is() { api_jq "/v1/nodes/default/$1" ".status == \"$2\"" -e; }
# node_code NAME: the HTTP status of GET /v1/nodes/default/NAME.
node_code() {
	curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	    "$API/v1/nodes/default/$1"
}
node_gone() { [ "$(node_code "$1")" = 404 ]; }
# spread SERVICE: instance count per node name, as "node=n" sorted.
spread() {
	api_jq "/v1/services/default/$1/containers" \
	    '[group_by(.node)[] | "\(.[0].node)=\(length)"] | join(" ")'
}
total() { api_jq "/v1/services/default/$1/containers" length; }
# on_node SERVICE NODE: SERVICE has an instance on NODE; off_node: has none.
on_node() {
	api_jq "/v1/services/default/$1/containers" 'any(.[]; .node == $n)' \
	    --arg n "$2" -e
}
off_node() { ! on_node "$@"; }
# noted REGEX: a sched.note event whose message matches REGEX.
noted() {
	api_jq "/v1/grids/default/events?type=sched.note" \
	    'any(.[]; .message | test($re))' --arg re "$1" -e
}

sim s1 "az=a"
sim e1 "az=a,ephemeral=true"
sim e2 "az=b,ephemeral=true"
wait_for 10 online_is 3
check_eq "three simulated agents online" "$(online)" 3

cat >"$TMP/app.yml" <<'YML'
stack: app
services:
  agent:
    image: berth-test/busybox:latest
    deploy:
      strategy: daemon
    affinity:
      - label==ephemeral=true
  web:
    image: berth-test/busybox:latest
    instances: 6
    deploy:
      min_health: 0.5
    affinity:
      - label!=role=db
YML
out=$("$BIN/berth" stack install "$TMP/app.yml" 2>&1)
check_eq "install the app stack on simulated agents" "$?" 0
check_eq "daemon: one per ephemeral node" "$(spread app/agent)" "e1=1 e2=1"
# ha spreads by az first: az a (s1, e1) and az b (e2) get three each.
azs=$(api_jq /v1/services/default/app/web/containers \
    '[.[] | if .node == "e2" then "b" else "a" end] | group_by(.)[] | "\(.[0])=\(length)"' | tr '\n' ' ')
check_eq "ha: 6 instances spread evenly over the two azs" "$azs" "a=3 b=3 "

# ---- a node joins: its daemon instance in its first desired set ----------------
sim e3 "az=b,ephemeral=true"
wait_for 5 grep -q '"service":"agent"' "$TMP/e3.out"
check_has "a joining ephemeral node gets the daemon in its desired set" \
    "$(grep '^frame {"type":"desired"' "$TMP/e3.out" | head -3)" '"service":"agent"'
# The set sent with the welcome, or the one after the round the join
# woke (the grid's network and names frames may come between: not
# counted).
first=$(grep '^frame {"type":"desired"' "$TMP/e3.out" | grep -m1 -n '"service":"agent"' | cut -d: -f1)
check "the daemon arrives in the first or second desired set (set $first)" test "${first:-9}" -le 2

# ---- rebalance onto the new node within the budget --------------------------------
maxflight=0
for i in $(seq 60); do
	f=$(api_jq /v1/services/default/app/web/containers '[.[] | select(.move_target)] | length')
	[ "$f" -gt "$maxflight" ] && maxflight=$f
	s=$(spread app/web)
	case "$s" in *e3=1*) [ "$(total app/web)" = 6 ] && [ "$f" = 0 ] && break ;; esac
	sleep 0.25
done
echo "# web after e3 joined: $s"
check_has "ha instances rebalance onto the new node" "$s" "e3=1"
check_eq "still six web instances" "$(total app/web)" 6
check "at most one move of a service in flight (budget)" test "$maxflight" -le 1
api GET "/v1/grids/default/events?type=sched.move"
check "each move is an event with its reason" test "$(jq length <<<"$BODY")" -ge 1
check_has "the move says why" "$(jq -r '.[0].message' <<<"$BODY")" "rebalance"

# ---- a node goes offline: its ha instances replaced after the grace -----------------
before=$(spread app/web)
sim_kill s1
wait_for 5 node_is s1 offline
t0=$(date +%s)
sleep 1
check_has "instances stay during the grace" "$(spread app/web)" "s1="
wait_for 10 off_node app/web s1
echo "# web after s1 went offline ($(($(date +%s) - t0)) s): $(spread app/web) (was $before)"
check_eq "s1's instances replaced elsewhere after the ha grace" "$(spread app/web | grep -c s1=)" 0
# The evidence that they stayed for the whole grace, whatever the load: in
# the master's own clock, no step on s1's instances before the grace had
# passed since s1's offline event.
off_at=$(api_jq "/v1/grids/default/events?type=node.offline&limit=10000" \
    '[.[] | select(.subject == "s1")][0].at')
first_at=$(api_jq "/v1/grids/default/events?type=sched.&limit=10000" \
    '[.[] | select(.message | startswith("node s1 offline"))][0].at')
gap=$(($(date -d "$first_at" +%s%3N) - $(date -d "$off_at" +%s%3N)))
check "s1's instances were replaced after the grace, not before (first step $gap ms after it went offline; grace 3 s)" \
    test "$gap" -ge 2990
check_eq "six web instances again" "$(total app/web)" 6
api GET "/v1/grids/default/events?type=sched.move"
check_has "the replacement says why" "$(jq -r '[.[].message] | join(" | ")' <<<"$BODY")" "offline"

# ---- removal: ephemeral goes after the removal time, static stays ------------------
sim_kill e3
wait_for 5 node_is e3 offline
wait_for 12 node_gone e3
check_eq "ephemeral node removed after the removal time" "$(node_code e3)" 404
api GET /v1/nodes/default/s1
check_eq "static node offline as long is kept" "$STATUS:$(jq -r .status <<<"$BODY")" "200:offline"
api GET "/v1/grids/default/events?type=node.remove"
check_has "the removal is an event with its reason" "$(jq -r '.[-1].message' <<<"$BODY")" "e3"
check_eq "the removed node's daemon instance went with it" "$(spread app/agent | grep -c e3=)" 0

# ---- dry run: the balancer and the reaper plan and log, change nothing --------------
api PATCH /v1/grids/default '{"settings":{"dry_run":true}}'
sim d1 "az=b,ephemeral=true"
wait_for 5 node_is d1 online
# Past the settle delay a real run would rebalance onto d1; the dry run
# says so in a NOTE instead. That note is the evidence it looked.
check "dry run: the balancer notes the move onto d1 it would make" \
    wait_for 15 noted "^dry-run: would move .* to d1"
check_eq "dry run: no web instance moves onto the new node" "$(spread app/web | grep -c d1=)" 0
check_has "dry run: the daemon is still placed (placement is not the balancer)" "$(spread app/agent)" "d1=1"
api GET "/v1/grids/default/events?type=sched.note"
check_has "dry run: the balancer says what it would do" "$(jq -r '[.[].message] | join(" | ")' <<<"$BODY")" "dry-run"
api PATCH /v1/grids/default '{"settings":{"dry_run":false}}'
sim_kill d1
wait_for 15 node_gone d1

# ---- half the grid offline at once: stand down ------------------------------------
sim e4 "az=a,ephemeral=true"
sim e5 "az=b,ephemeral=true"
sim e6 "az=a,ephemeral=true"
sim e7 "az=b,ephemeral=true"
wait_for 10 online_is 6
sleep 2
# Four of the seven nodes (s1 e1 e2 e4 e5 e6 e7) drop within one window.
sim_kill e4; sim_kill e5; sim_kill e6; sim_kill e7
# The evidence that the master acted: its stand-down NOTE, then a round
# planned after the removal time (5 s) had passed for all four.
wait_for 10 online_is 2
t_off=$(date +%s%3N)
wait_for 10 noted "^stand down: "
sleep_until_ms $((t_off + 5000 + 500))
sched_wait_round
echo "# checked $(($(date +%s%3N) - t_off)) ms after the four went offline (removal 5 s)"
api GET /v1/grids/default/nodes
check_eq "more than half the grid dropped at once: nothing removed" \
    "$(jq -r '[.[] | select(.name | test("e[4-7]")) | .name] | join(",")' <<<"$BODY")" "e4,e5,e6,e7"
api GET "/v1/grids/default/events?type=sched.note"
check_has "the loop says it stands down" "$(jq -r '[.[].message] | join(" | ")' <<<"$BODY")" "offline"
[ -n "${KEEP:-}" ] && { cp "$D/berth.db"* /tmp/schedtest/ 2>/dev/null; cp "$D/master.log" /tmp/schedtest/; }
master_stop
