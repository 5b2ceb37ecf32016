#!/usr/bin/env bash
# test-lane: side
# aws_asg.sh (e2e) - the aws-asg provider wired into a real master, against
# the signature-checking fake Auto Scaling endpoint, whose instances boot
# REAL berth-agents through the installer and the env file of
# `berth grid cloud-config --group` (docs/autoscaling.md):
#  1. demand 2 (one-cpu instances): the desired capacity is raised (never
#     lowered), each instance's agent presents the group token and its
#     instance id, is matched, protected and joins with the ASG's AZ as its
#     `az` label; both instances run.
#  2. the stack removed (with Throttling injected, retried): the drained
#     instances are terminated by name with decrement, rows and node
#     records gone.
#  3. an instance the master did not ask for: its agent is refused
#     (unmatched), and the instance is terminated as an orphan after the
#     provision timeout.
#  4. a Failed launch activity: the group backs off with an event naming
#     AWS's reason.
#  5. an agent with the group's token and an instance id the ASG does not
#     know: it waits as a pending node until `berth node approve`.
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
"$ROOT/scripts/docker-up.sh" >/dev/null || { notok "docker is up"; exit 1; }
"$ROOT/scripts/test-image.sh" >/dev/null || { notok "build the local test image"; exit 1; }

D=$TMP/data
master_start "$D" || exit 1
B=$BIN/berth
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":3}}'
AK=AKIDBERTHE2E00001
SK='berthE2ESecret/Qw8+Er7Ty6Ui5Op4As3Df2Gh1'
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
    "$AK" "$SK" >"$TMP/creds"
chmod 600 "$TMP/creds"
mkdir -p "$TMP/agents"

# The fake boots an instance as its user data would: the installer with
# the group's env file (the instance id given, as EC2's metadata would;
# not the CLI's BERTH_TOKEN of tests/lib.sh: the environment would win).
BOOT='d='"$TMP"'/agents/$BERTH_INSTANCE_ID; mkdir -p $d; exec env -u BERTH_TOKEN -u BERTH_MASTER BERTH_ENV_FILE='"$TMP"'/burst.env BERTH_NO_SYSTEMD=1 BERTH_PREFIX=$d BERTH_PIDFILE=$d/agent.pid BERTH_LOGFILE=$d/agent.log BERTH_DATA_DIR=$d/data BERTH_PROVIDER_ID=$BERTH_INSTANCE_ID BERTH_CPUS=1 BERTH_STATS_INTERVAL_S=1 BERTH_RESYNC_INTERVAL_S=2 BERTH_BACKOFF_MAX_S=2 sh '"$ROOT"'/scripts/install-agent.sh'
"$PY" "$ROOT/tests/peers/fake_asg.py" --port-file "$TMP/port" \
    --access-key "$AK" --secret-key "$SK" --region eu-west-1 \
    --group burst:0:3:0:eu-west-1a,eu-west-1b --boot-cmd "$BOOT" \
    --log-dir "$TMP/agents" 2>"$TMP/fake.log" &
FAKE=$!
at_exit "kill $FAKE; wait $FAKE"
wait_for 30 test -s "$TMP/port" || { notok "the fake endpoint starts"; exit 1; }
URL=http://127.0.0.1:$(cat "$TMP/port")
state() { curl -sf "$URL/_fake/state" | jq -r "$@"; }
fault() { curl -sf -X POST -d "$1" "$URL/_fake/fault" >/dev/null; }
machines() { api_jq /v1/nodegroups/default/burst/machines "$@"; }
events() { api_jq "/v1/grids/default/events?type=$1&limit=100" "${@:2}"; }

"$B" nodegroup create burst --provider aws-asg --max 3 --set cpus=1 \
    --set asg_name=burst --set region=eu-west-1 --set "endpoint=$URL" \
    --set "credentials_file=$TMP/creds" --set list_interval_s=1 \
    --set provision_timeout_s=90 --set unneeded_s=1s \
    --set delay_after_add_s=0 --set exec_timeout_s=30 >/dev/null ||
    notok "nodegroup create burst"
"$B" grid cloud-config default --group burst >"$TMP/cc.yml" ||
    notok "grid cloud-config --group burst"
"$PY" -c 'import sys, yaml
y = yaml.safe_load(open(sys.argv[1]))
print([w["content"] for w in y["write_files"]][0], end="")' "$TMP/cc.yml" \
    >"$TMP/burst.env"
GT=$(sed -n 's/^BERTH_TOKEN=//p' "$TMP/burst.env")
check_has "cloud-config --group: the group's labels" "$(cat "$TMP/burst.env")" \
    "BERTH_LABELS=ephemeral=true,berth.group=burst"
check_has "cloud-config --group: the id from EC2's metadata" \
    "$(cat "$TMP/burst.env")" "BERTH_PROVIDER_ID_FROM=ec2"
check "cloud-config --group: the group's own token, not the grid's" \
    test -n "$GT" -a "$GT" != "$(cat "$D/grid-default.token")"

# ---- 1. scale-up: desired raised, instances matched, protected, az ------------
cat >"$TMP/web.yml" <<'YML'
stack: e2e/web
services:
  web:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    instances: 2
    cpus: 1
    stop_grace_period: 1s
YML
t0=$(date +%s%3N)
"$B" stack install "$TMP/web.yml" >"$TMP/install.out" 2>&1 &
INSTALL=$!
check "two instances run on the new nodes" wait_for 120 sh -c \
    "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/services/default/web/web/containers | jq '[.[] | select(.state == \"running\")] | length')\" = 2 ]"
echo "# demand to 2 running on 2 aws-asg instances: $(( $(date +%s%3N) - t0 )) ms (loaded shared machine)"
wait "$INSTALL"
check_eq "the install waited for the capacity and succeeded" "$?" 0
IDS=$(state '[.groups.burst.instances[].id] | sort | join(" ")')
check_eq "both machines joined, bound to the ASG's instances" \
    "$(machines -r '[.[] | select(.state == "joined") | .provider_id] | sort | join(" ")')" "$IDS"
check_eq "desired raised to 2, never lowered" \
    "$(state -c '[.groups.burst.desired, .counters.lowered]')" "[2,0]"
check_eq "each instance protected on join" \
    "$(state '[.groups.burst.instances[] | select(.protected)] | length')" 2
for id in $IDS; do
	az=$(state ".groups.burst.instances[] | select(.id == \"$id\") | .az")
	name=$(machines -r ".[] | select(.provider_id == \"$id\") | .name")
	check_has "node $name: az label from the ASG ($az)" \
	    "$(api_jq "/v1/nodes/default/$name" -c .labels)" "\"az=$az\""
done
binds=$(events machine.bind length)
check_eq "a machine.bind event per instance" "$binds" 2
[ "$binds" = 2 ] || { events machine.bind -r '.[].message' | sed 's/^/# bind: /'
	grep -E 'instance|bind|groups:' "$D/master.log" | tail -40 | sed 's/^/# log: /'; }

# ---- 2. scale-in, Throttling retried -------------------------------------------
fault '{"throttle": 2}'
"$B" stack rm --force web >/dev/null 2>&1 || notok "stack rm web"
check "the drained instances are terminated and forgotten" wait_for 60 sh -c \
    "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/nodegroups/default/burst/machines | jq length)\" = 0 ]"
check_eq "terminated by name with decrement: desired 0, no instance, never lowered" \
    "$(state -c '[.groups.burst.desired, (.groups.burst.instances | length), .counters.lowered]')" \
    "[0,0,0]"
check "Throttling was answered and retried" \
    test "$(state '.counters.throttled')" -ge 2
check_eq "their node records went with them" \
    "$(api_jq /v1/grids/default/nodes length)" 0

# ---- 3. an instance nobody asked for: unmatched, then an orphan ----------------
"$B" nodegroup set burst provision_timeout_s=4 >/dev/null || notok "nodegroup set"
AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK "$ROOT/$BUILD/tools/asgctl" \
    --endpoint "$URL" grow-to burst 1 >/dev/null 2>&1
check "its agent is refused: no launching machine to claim it" wait_for 30 \
    sh -c "curl -s -H 'Authorization: Bearer $TOKEN' '$API/v1/grids/default/events?type=machine.unmatched' | jq -ne 'input | length > 0' >/dev/null"
check "after the provision timeout it is terminated as an orphan" wait_for 30 \
    sh -c "curl -s -H 'Authorization: Bearer $TOKEN' '$API/v1/grids/default/events?type=machine.orphan' | jq -ne 'input | length > 0' >/dev/null"
check "the orphan is gone from the ASG" wait_for 10 sh -c \
    "[ \"\$(curl -sf $URL/_fake/state | jq -c '[.groups.burst.desired, (.groups.burst.instances | length)]')\" = '[0,0]' ]"
check_eq "and no node record was made for it" \
    "$(api_jq /v1/grids/default/nodes length)" 0

# ---- 4. a Failed launch activity: backoff with AWS's reason --------------------
"$B" nodegroup set burst provision_timeout_s=90 >/dev/null || notok "nodegroup set"
fault '{"fail_launch": 1}'
sed 's/instances: 2/instances: 1/' "$TMP/web.yml" >"$TMP/web1.yml"
"$B" stack install "$TMP/web1.yml" >/dev/null 2>&1 &
INSTALL=$!
at_exit "kill $INSTALL 2>/dev/null"
check "the group backs off, the event names AWS's reason" wait_for 30 sh -c \
    "curl -s -H 'Authorization: Bearer $TOKEN' '$API/v1/grids/default/events?type=nodegroup.backoff' | jq -ne 'input | any(.[]; .message | contains(\"sufficient capacity\"))' >/dev/null"
check_eq "the group shows its backoff" \
    "$(api_jq /v1/nodegroups/default/burst -r '.backoff_until != null')" true

# ---- 5. an agent whose instance id the ASG does not know: pending --------------
# (an agent started by hand with the group's env file, or on an instance
# of another group): it waits as a pending node until approved.
"$B" stack rm web >/dev/null 2>&1 || "$B" stack rm e2e/web >/dev/null 2>&1
kill "$INSTALL" 2>/dev/null
SID=i-0a11ce5e1f0000000
BERTH_INSTANCE_ID=$SID sh -c "$BOOT" >/dev/null 2>&1
at_exit "kill \$(cat '$TMP/agents/$SID/agent.pid' 2>/dev/null) 2>/dev/null"
pending() { api_jq /v1/grids/default/nodes -r '[.[] | select(.status == "pending")] | .[0] // empty | '"$1"; }
check "an agent with an instance id the ASG does not know waits as pending" \
    wait_for 30 sh -c "curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/grids/default/nodes | jq -ne 'input | any(.[]; .status == \"pending\")' >/dev/null"
check_has "  saying why (the instance is not the group's)" "$(pending .pending_reason)" "$SID"
check_eq "  with a node.pending event" "$(events node.pending length)" 1
PN=$(pending .name)
check_has "  berth node ls shows it pending" "$("$B" node ls)" "pending"
out=$("$B" node approve "$PN" 2>&1)
check_eq "berth node approve admits it" "$?" 0
check "  it is online, no longer pending" wait_for 20 sh -c \
    "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/nodes/default/$PN | jq -r .status)\" = online ]"
check_eq "  with a node.approve event" "$(events node.approve length)" 1

leaks=$(grep -rlF -e "$SK" -e "$GT" "$TMP/fake.log" "$TMP"/agents/*/agent.log \
    "$D/master.log" 2>/dev/null)
check_eq "no secret key or group token in any log" "$leaks" ""
exit $((N_FAIL > 0))
