#!/usr/bin/env bash
# test-lane: side
# nodegroups_crash.sh - a master killed (-9) 20 times while its node group
# launches and drains, restarted each time on the same SQLite file
# (docs/autoscaling.md, "Tests"). Real berth-agent processes (the
# process provider) on real Docker, timings shortened by settings.
#
# Demand swings between 6 and 2 one-cpu instances pinned to the group
# (agents offering 2 cpus, max 4 machines): going up launches machines;
# going down leaves empty nodes (drained, terminated); an operator's
# drain of a busy node needs a new machine for its instances (moved
# start-before-stop), then its own machine is terminated as unneeded.
# The master is killed at a random moment 0.3-1.3 s into each life (after
# the checks, which run while it lives).
# After every restart: no agent process without its machine row (one
# that runs from before to after the store's read), no two agent processes for one machine, no node claimed by
# two machines. At the end (demand gone): every machine and drain ended,
# no machine row, agent process, data dir, container or group node record
# is left, and no machine was launched twice.
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/docker-up.sh" >/dev/null || { notok "docker is up"; exit 1; }
"$ROOT/scripts/test-image.sh" >/dev/null || { notok "build the local test image"; exit 1; }
D=$TMP/data
DB=$D/berth.db
KILLS=${CRASH_KILLS:-20}
master_start "$D" || exit 1
B=$BIN/berth
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":3,"instance_settle_s":0,"rebalance_settle_s":0}}'
check_eq "short grid timings" "$STATUS" 200
ENV="BERTH_CPUS=2 BERTH_STATS_INTERVAL_S=1 BERTH_RESYNC_INTERVAL_S=1 BERTH_BACKOFF_MAX_S=1"
"$B" nodegroup create crash --provider process --min 0 --max 4 \
    --set cpus=2 --set provision_timeout_s=60 --set unneeded_s=1 \
    --set delay_after_add_s=0 --set delay_after_failure_s=0 \
    --set drain_deadline_s=60 --set stop_grace_s=2 --set "agent_env=$ENV" \
    >/dev/null || notok "nodegroup create crash"

sq() { sqlite3 -cmd '.timeout 5000' "$DB" "$1"; }

# Agent processes of this test: pid and data dir (their cwd).
agents() {
	local p dir
	for p in $(pgrep -x berth-agent); do
		dir=$(readlink "/proc/$p/cwd" 2>/dev/null) || continue
		case $dir in "$D"/machines/*) echo "$p $dir" ;; esac
	done
}
NODE_IDS=""
remember_nodes() {
	local f
	for f in "$D"/machines/*/node-id; do
		[ -s "$f" ] && NODE_IDS="$NODE_IDS $(cat "$f")"
	done
}
BAD=0
bad() { BAD=$((BAD + 1)); echo "# after kill $k: $*"; }
invariants() {
	local rows dup
	# The master runs (and acts) while this looks: a machine it launches
	# between the store's read and the process list would look like an
	# orphan. So the processes are listed before and after that read: one
	# in both lists ran before it (so its row, written before its launch,
	# was there) and still runs after it (so its row must still be there).
	agents >"$TMP/agents.before"
	# One read of the store: the live machines' data dirs, then what
	# would be a duplicate (a node claimed twice, a name twice).
	sq "SELECT 'dir ' || data_dir FROM machines WHERE state != 'gone' AND data_dir IS NOT NULL;
	    SELECT 'node ' || node_id FROM machines WHERE node_id IS NOT NULL AND state != 'gone' GROUP BY node_id HAVING count(*) > 1;
	    SELECT 'name ' || name FROM machines GROUP BY name HAVING count(*) > 1;
	    SELECT 'states ' || group_concat(state, ',') FROM machines;" >"$TMP/rows"
	rows=$(sed -n 's/^dir //p' "$TMP/rows")
	agents | grep -xFf "$TMP/agents.before" >"$TMP/agents"
	while read -r pid dir; do
		[ -n "$pid" ] || continue
		grep -qxF "$dir" <<<"$rows" || bad "agent $pid in $dir has no machine row (an orphan)"
	done <"$TMP/agents"
	dup=$(awk '{ print $2 }' "$TMP/agents" | sort | uniq -d)
	[ -z "$dup" ] || bad "two agent processes for one machine: $dup"
	dup=$(grep -E '^(node|name) ' "$TMP/rows")
	[ -z "$dup" ] || bad "a duplicate machine: $dup"
}

# Under way first: the first launches.
api POST /v1/grids/default/stacks '{"stack":"e2e/crashweb","services":{"web":{"image":"berth-test/busybox:latest","command":"sh -c '"'"'trap \"exit 0\" TERM; while true; do sleep 1; done'"'"'","instances":6,"cpus":1,"stop_grace_period":"1s","affinity":["label==berth.group=crash"]}}}'
check_eq "stack installed" "$STATUS" 201
api POST /v1/stacks/default/crashweb/deploy
want=6
drained=""
for k in $(seq "$KILLS"); do
	# Every third life something new is under way, in turn: demand
	# down to 2 (scale-in: empty nodes terminated), back up to 6
	# (launches), and an operator's drain of a busy node (its instances
	# fit nowhere else: a launch, then moves start-before-stop).
	if [ $((k % 3)) = 0 ]; then
		case $(( (k / 3) % 3 )) in
		1|2)
			[ "$want" = 6 ] && want=2 || want=6
			api PATCH /v1/services/default/crashweb/web "{\"instances\":$want}"
			[ "$STATUS" = 200 ] || bad "scale to $want: $STATUS $BODY" ;;
		0)
			node=$(api_jq /v1/services/default/crashweb/web/containers '[.[].node] | first // empty')
			if [ -n "$node" ]; then
				api POST "/v1/nodes/default/$node/drain"
				[ "${STATUS#2}" != "$STATUS" ] || bad "drain $node: $STATUS $BODY"
				drained="$drained $node"
			fi ;;
		esac
	fi
	sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.3 + (r % 1000) / 1000 }')"
	remember_nodes
	t0=$(date +%s%3N)
	master_stop KILL
	API_PORT_FIXED=$API_PORT AGENT_PORT_FIXED=$AGENT_PORT master_start "$D" >/dev/null ||
	    { notok "the master restarts after kill $k"; exit 1; }
	t1=$(date +%s%3N)
	invariants
	echo "# kill $k (demand $want): restart $((t1 - t0)) ms, checks $(($(date +%s%3N) - t1)) ms; machines $(sed -n 's/^states //p' "$TMP/rows")"
done
check_eq "after each of $KILLS kills: no orphan process, no duplicate machine or node" "$BAD" 0
check_eq "it had launched machines" "$(( $(sq "SELECT count(*) FROM events WHERE type = 'machine.launch'") > 2 ))" 1
check_eq "and drained busy nodes (an operator's drain of$drained)" \
    "$(( $(sq "SELECT count(*) FROM events WHERE type = 'node.drain' AND message NOT LIKE '%nothing but daemons%'") >= 1 ))" 1
echo "# the kills took $SECONDS s"

# ---- the end: demand gone, everything winds down ---------------------------------
api DELETE "/v1/stacks/default/crashweb?force=1"
check "every machine is terminated and forgotten" wait_for 120 sh -c \
    "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/nodegroups/default/crash/machines | jq length)\" = 0 ]"
remember_nodes
check_eq "no machine row" "$(sq "SELECT count(*) FROM machines")" 0
check_eq "no agent process" "$(agents | wc -l)" 0
check_eq "no data dir" "$(ls "$D/machines" 2>/dev/null)" ""
check_eq "no group node record" \
    "$(api_jq /v1/grids/default/nodes '[.[] | select(.labels | index("berth.group=crash"))] | length')" 0
left=""
for id in $(tr ' ' '\n' <<<"$NODE_IDS" | sort -u); do
	left="$left$(docker ps -aq --filter "label=berth.node=$id")"
done
check_eq "no container of theirs" "$left" ""
check_eq "no machine was taken for an orphan (its list ran at every start)" \
    "$(sq "SELECT count(*) FROM events WHERE type = 'machine.orphan'")" 0
check_eq "each machine launched once" \
    "$(sq "SELECT count(*) FROM (SELECT substr(message, 1, instr(message, ' of group')) m FROM events WHERE type = 'machine.launch' GROUP BY m HAVING count(*) > 1)")" 0
nd=$(sq "SELECT count(*) FROM events WHERE type = 'node.drain'")
ndd=$(sq "SELECT count(*) FROM events WHERE type = 'node.drain_done'")
# Demand swings back up while nodes drain: such a drain is cancelled (it
# ends with node.drain_cancel, and the node is kept), not done.
ndc=$(sq "SELECT count(*) FROM events WHERE type = 'node.drain_cancel'")
check_eq "every drain ended, done or cancelled by new demand (node.drain $nd, drain_done $ndd, drain_cancel $ndc)" \
    "$((ndd + ndc))" "$nd"
check_eq "no drain was forced at a deadline" "$(sq "SELECT count(*) FROM events WHERE type = 'node.drain_forced'")" 0
echo "# $(sq "SELECT count(*) FROM events WHERE type = 'machine.launch'") launches, $nd drains, $(sq "SELECT count(*) FROM events WHERE type = 'machine.terminate'") terminations over $KILLS kills; $SECONDS s"
master_stop
