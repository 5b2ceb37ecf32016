#!/usr/bin/env bash
# drain.sh - cordon and drain on real agents and the real Docker Engine
# (docs/nodes.md): a cordoned node gets nothing from a new deploy; a drain
# moves a 2-instance service (min_health 0.5) off start-before-stop while
# a sampler reads Docker every 0.2 s (running web containers never fewer
# than min_health of 2, and n1's daemon stops only once no web container
# is left there), and the node ends drained and empty. Jobs and the
# deadline: drain_jobs.sh.
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/test-image.sh" >/dev/null || { notok "build the local test image"; exit 1; }
IMG=berth-test/busybox:latest
B=$BIN/berth
master_start "$TMP/data" || exit 1
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":3,"instance_settle_s":0,"rebalance_settle_s":86400}}'
for n in n1 n2 n3; do agent_start "$n" "az=a"; done
online3() { [ "$(api_jq /v1/grids/default/nodes '[.[] | select(.status == "online" and .cpus > 0)] | length')" = 3 ]; }
check "three real agents online" wait_for 30 online3
events() { api_jq '/v1/grids/default/events?limit=1000' "[.[] | select(.type == \"$1\")] | length"; }
ev_id() { # TYPE SUBJECT-PREFIX MESSAGE-PART: the first such event's id
	api_jq '/v1/grids/default/events?limit=1000' "[.[] | select(.type == \"$1\" and (.subject | startswith(\"$2\")) and (.message | contains(\"$3\")))] | map(.id) | min // empty"
}
on() { # NODE SERVICE [docker ps filters]: that service's containers on NODE
	local n=$1 s=$2
	shift 2
	docker ps -q --filter "label=berth.node=$(node_id "$n")" \
	    --filter label=berth.stack=drain --filter "label=berth.service=$s" "$@" | wc -l
}
running() { echo $(($(on n1 "$1" --filter status=running) + $(on n2 "$1" --filter status=running) + $(on n3 "$1" --filter status=running))); }
# sample: one docker ps: "running-web running-web-on-n1 running-daemon-on-n1"
# (a stopped web container not yet removed holds nothing up: not counted)
sample() {
	docker ps -a --filter label=berth.stack=drain --format \
	    '{{.Label "berth.node"}} {{.Label "berth.service"}} {{.State}}' |
	    awk -v n1="$N1" -v n2="$N2" -v n3="$N3" '
		$1 != n1 && $1 != n2 && $1 != n3 { next }
		$2 == "web" && $3 == "running" { w++ }
		$2 == "web" && $1 == n1 && $3 == "running" { w1++ }
		$2 == "agentd" && $1 == n1 && $3 == "running" { d1++ }
		END { print w + 0, w1 + 0, d1 + 0 }'
}

# ---- cordon: a new deploy places nothing there ----------------------------
"$B" node cordon n2 >/dev/null && "$B" node cordon n3 >/dev/null
cat >"$TMP/drain.yml" <<YML
stack: e2e/drain
services:
  web:
    image: $IMG
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    instances: 2
    stop_grace_period: 2s
    deploy:
      min_health: 0.5
  agentd:
    image: $IMG
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    stop_grace_period: 2s
    deploy:
      strategy: daemon
YML
out=$("$B" stack install "$TMP/drain.yml" 2>&1)
check_eq "install with n2 and n3 cordoned" "$?" 0
check_eq "both web instances and the one daemon run on n1 only" \
    "$(on n1 web --filter status=running) $(on n1 agentd --filter status=running) $(on n2 web -a) $(on n2 agentd -a) $(on n3 web -a) $(on n3 agentd -a)" \
    "2 1 0 0 0 0"
"$B" node uncordon n2 >/dev/null && "$B" node uncordon n3 >/dev/null
check "uncordoned, n2 and n3 get their daemons" wait_for 30 sh -c \
    "[ \$(docker ps -q --filter label=berth.node=$(node_id n2) --filter label=berth.service=agentd --filter status=running | wc -l) = 1 ] && [ \$(docker ps -q --filter label=berth.node=$(node_id n3) --filter label=berth.service=agentd --filter status=running | wc -l) = 1 ]"
check_eq "and web stays on n1 (uncordon moves nothing by itself; rebalancing waits out its settle time)" "$(on n1 web --filter status=running)" 2

# ---- drain n1, sampled ----------------------------------------------------
N1=$(node_id n1) N2=$(node_id n2) N3=$(node_id n3)
(
	while :; do
		sample
		sleep 0.2
	done
) >"$TMP/samples" 2>/dev/null &
SAMPLER=$!
at_exit "kill $SAMPLER 2>/dev/null"
t0=$(date +%s%N)
out=$("$B" node drain --deadline 5m n1 2>&1)
rc=$?
t1=$(date +%s%N)
sleep 0.5
kill "$SAMPLER" 2>/dev/null
wait "$SAMPLER" 2>/dev/null
echo "# drain of n1 took $(((t1 - t0) / 1000000)) ms; $(wc -l <"$TMP/samples") samples"
check_eq "berth node drain exits 0 once drained" "$rc" 0
check_has "and says so" "$out" "[done] draining node n1"
check_eq "the sampler saw the drain" "$(awk '$2 > 0' "$TMP/samples" | wc -l | tr -d ' ' | sed 's/^0$/none/;s/^[0-9]*$/some/')" some
check_eq "running web containers never fewer than min_health (1 of 2)" \
    "$(awk 'NR == 1 || $1 < m { m = $1 } END { print (m >= 1) ? "ok" : "min " m }' "$TMP/samples")" ok
echo "# fewest running web containers seen: $(awk 'NR == 1 || $1 < m { m = $1 } END { print m }' "$TMP/samples")"
# Daemons last (docs/nodes.md): the daemon's record goes once the web
# records are gone, and the agent holds the daemon's container (label
# berth.daemon) until no web container of n1 is left in Docker.
overlap=$(awk '$2 > 0 && $3 == 0' "$TMP/samples" | wc -l | tr -d ' ')
echo "# samples with a web container running on n1 and its daemon stopped: $overlap"
check_eq "n1's daemon ran as long as a web container was there (daemons last)" \
    "$overlap" 0
check_eq "the daemon's container carries berth.daemon" \
    "$(docker ps -a --filter label=berth.stack=drain --filter label=berth.service=agentd --format '{{.Label "berth.daemon"}}' | sort -u)" true
check_eq "both moves were start-before-stop (done once the new one ran)" \
    "$(api_jq '/v1/grids/default/events?limit=1000' '[.[] | select(.type == "sched.remove" and (.message | test("move of web#[12] to n[23] done: new instance running")))] | length')" 2
d=$(ev_id sched.remove drain/agentd "daemons stop last")
m=$(api_jq '/v1/grids/default/events?limit=1000' '[.[] | select(.type == "sched.remove" and (.message | contains("move of web"))) | .id] | max')
check "the daemon's removal comes after both moves (event order)" test "${d:-0}" -gt "${m:-0}"
# Drained is the records' word; the daemon's container, held until the
# web containers were gone, ends its stop after it (docs/nodes.md).
check_eq "n1 is drained and cordoned, nothing left on it" \
    "$(api_jq /v1/nodes/default/n1 '"\(.drain.state) \(.cordoned) \(.drain.left.instances + .drain.left.daemons)"')" \
    "drained true 0"
check "and empty in Docker once the daemon's stop is over" wait_for 30 sh -c \
    "[ \$(docker ps -aq --filter label=berth.node=$N1 --filter label=berth.stack=drain | wc -l) = 0 ]"
check_eq "web runs 2 elsewhere" "$(running web) $(on n1 web)" "2 0"
check_eq "node.drain and node.drain_done" "$(events node.drain) $(events node.drain_done)" "1 1"
check_has "node ls shows it" "$("$B" node ls)" "online, drained"

master_stop
