#!/usr/bin/env bash
# aws_asg.sh (e2e) - the fake Auto Scaling endpoint boots each instance as
# a REAL berth-agent that joins a real master, and the aws-asg provider's
# calls act on them: grown to 2 (two agents join, named by their instance
# ids, with the AZ the ASG gave them), the join check protects each and
# returns the same AZ, a delete terminates exactly one (its agent stops,
# its node goes offline, the other stays), desired never lowered, no
# secret in any log. The master's wiring of the provider (the worker
# thread, the join by instance id) is not in this test: asgctl plays it.
. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
if ! "$PY" -c 'import botocore' 2>/dev/null; then
	if [ "${BERTH_DEPS:-0}" = 1 ]; then
		notok "python3-botocore is installed (make deps)"
		exit 1
	fi
	echo "ok - aws-asg with real agents # SKIP skipped: python3-botocore not installed (make deps installs it)"
	exit 0
fi

D=$TMP/data
master_start "$D" || exit 1
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":3}}'
ASGCTL=$ROOT/$BUILD/tools/asgctl
AK=AKIDBERTHE2E00001
SK='berthE2ESecret/Qw8+Er7Ty6Ui5Op4As3Df2Gh1'
mkdir -p "$TMP/agents" "$TMP/pids"

# What the launch template's user data would do: start berth-agent with
# the grid token (read from the master's file, never on a command line),
# the instance id as node name and the AZ as a label.
BOOT='echo $$ >'"$TMP"'/pids/$BERTH_INSTANCE_ID; exec env BERTH_URL=ws://127.0.0.1:'"$AGENT_PORT"' BERTH_TOKEN="$(cat '"$D"'/grid-default.token)" BERTH_NODE_NAME=$BERTH_INSTANCE_ID BERTH_LABELS=az=$BERTH_AZ,ephemeral=true,berth.group=burst BERTH_DATA_DIR='"$TMP"'/agents/$BERTH_INSTANCE_ID BERTH_STATS_INTERVAL_S=1 BERTH_BACKOFF_MAX_S=2 '"$BIN"'/berth-agent'
"$PY" "$ROOT/tests/peers/fake_asg.py" --port-file "$TMP/port" \
    --access-key "$AK" --secret-key "$SK" --region eu-west-1 \
    --group burst:0:3:0:eu-west-1a,eu-west-1b --boot-cmd "$BOOT" \
    --log-dir "$TMP/agents" 2>"$TMP/fake.log" &
FAKE=$!
at_exit "kill $FAKE; wait $FAKE"
wait_for 30 test -s "$TMP/port" || { notok "the fake endpoint starts"; exit 1; }
URL=http://127.0.0.1:$(cat "$TMP/port")
asg() {
	OUTPUT=$(AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK \
	    "$ASGCTL" --endpoint "$URL" "$@" 2>&1 | tee -a "$TMP/asgctl.log")
}
state() { curl -sf "$URL/_fake/state" | jq -r "$@"; }
online() {
	api_jq /v1/grids/default/nodes \
	    '[.[] | select(.status == "online") | .name] | sort | join(" ")'
}

asg grow-to burst 2
check_eq "grow the ASG to 2" "$OUTPUT" "grown to 2, 2 added"
IDS=$(state '[.groups.burst.instances[].id] | sort | join(" ")')
wait_for 40 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/grids/default/nodes | jq -r '[.[] | select(.status == \"online\") | .name] | sort | join(\" \")')\" = '$IDS' ]"
check_eq "each instance booted a real agent, online as a node named by its id" \
    "$(online)" "$IDS"

for id in $IDS; do
	asg join burst "$id"
	az=$(state ".groups.burst.instances[] | select(.id == \"$id\") | .az")
	check_eq "join $id: a live member, its AZ from the ASG" "$OUTPUT" \
	    "joined $id az=$az"
	check_has "the node's az label is the same" \
	    "$(api_jq "/v1/nodes/default/$id" -c .labels)" "\"az=$az\""
done
check_eq "both protected on join" \
    "$(state '[.groups.burst.instances[] | select(.protected)] | length')" 2
asg join burst i-0123456789abcdef0
check_has "an id that is not in the ASG is not matched" "$OUTPUT" \
    "is not a live instance of auto scaling group burst"

set -- $IDS
GONE=$1 KEPT=$2
GPID=$(cat "$TMP/pids/$GONE")
asg delete burst "$GONE"
check_eq "delete one instance by name" "$OUTPUT" "deleted $GONE"
wait_for 15 sh -c "! kill -0 $GPID 2>/dev/null"
check "its agent stopped" sh -c "! kill -0 $GPID 2>/dev/null"
wait_for 20 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/nodes/default/$GONE | jq -r .status)\" = offline ]"
check_eq "its node went offline, the other stays online" \
    "$(node_status "$GONE") $(online)" "offline $KEPT"
check_eq "the ASG: desired 1, only the kept instance, never lowered" \
    "$(state '[.groups.burst.desired, [.groups.burst.instances[].id], .counters.lowered, .counters.set_desired] | tostring')" \
    "[1,[\"$KEPT\"],0,[2]]"
leaks=$(grep -rlF -e "$SK" -e "$(cat "$D/grid-default.token")" \
    "$TMP/fake.log" "$TMP/asgctl.log" "$TMP"/agents/*.log "$D/master.log" 2>/dev/null)
check_eq "no secret key or grid token in any log" "$leaks" ""

exit $((N_FAIL > 0))
