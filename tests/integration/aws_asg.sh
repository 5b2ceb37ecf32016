#!/usr/bin/env bash
# aws_asg.sh - the aws-asg client (master/aws_asg.c, driven by asgctl)
# against tests/peers/fake_asg.py, a loopback Auto Scaling endpoint that
# recomputes every SigV4 signature with Debian's botocore signer and checks
# every request against botocore's autoscaling 2011-01-01 model:
# signatures accepted (env and credentials-file keys, a session token), a
# wrong secret or token refused with AWS's own code; desired grown, never
# lowered (the fake proves it); protection; terminate-with-decrement of
# exactly the named instance (its booted process ends); Throttling retried
# (the fake counts the retries) and given up on when it lasts; a Failed
# launch activity seen; a slow endpoint cut off by the timeout; Debian's
# awscli parses the fake's replies; no secret in any output or log.
. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
AWS=/usr/bin/aws
if ! "$PY" -c 'import botocore' 2>/dev/null || [ ! -x "$AWS" ]; then
	if [ "${BERTH_DEPS:-0}" = 1 ]; then
		notok "python3-botocore and awscli are installed (make deps)"
		exit 1
	fi
	echo "ok - aws-asg against the fake endpoint # SKIP skipped: python3-botocore not installed (make deps installs it)"
	exit 0
fi

ASGCTL=$ROOT/$BUILD/tools/asgctl
AK=AKIDBERTHTEST0001
SK='berthTestSecret/9Kq+xYz0wVu8tS7r6Q5p4O3n2M1'
TOK='berthTestSessionToken//Zm9vYmFyYmF6cXV4'
OUT=$TMP/out		# every output of every command, grepped for secrets
mkdir -p "$OUT" "$TMP/boot"

# The fake "boots" an instance by running this: a stand-in for the agent,
# alive until the instance is terminated.
BOOT='echo "$BERTH_INSTANCE_ID $BERTH_AZ $BERTH_ASG_NAME" >>'"$TMP"'/booted; echo $$ >'"$TMP"'/boot/$BERTH_INSTANCE_ID.pid; exec sleep 600'
"$PY" "$ROOT/tests/peers/fake_asg.py" --port-file "$TMP/port" \
    --access-key "$AK" --secret-key "$SK" --token "$TOK" \
    --region eu-west-1 --group web:0:4:1:eu-west-1a,eu-west-1b \
    --boot-cmd "$BOOT" 2>"$OUT/fake.log" &
FAKE=$!
at_exit "kill $FAKE; wait $FAKE"
if ! wait_for 30 test -s "$TMP/port"; then
	notok "the fake endpoint starts"
	sed 's/^/# /' "$OUT/fake.log"
	exit 1
fi
PORT=$(cat "$TMP/port")
URL=http://127.0.0.1:$PORT
N=0
T0=$(date +%s%3N)

# asg ARGS...: asgctl with the env keys; sets RC and OUTPUT (stdout+stderr).
asg() {
	N=$((N + 1))
	AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK AWS_SESSION_TOKEN=$TOK \
	    "$ASGCTL" --endpoint "$URL" "$@" >"$OUT/asg.$N" 2>&1
	RC=$?
	OUTPUT=$(cat "$OUT/asg.$N")
}
state() { curl -sf "$URL/_fake/state" | tee "$OUT/state.$N" | jq -c "$@"; }
fault() { curl -sf -X POST -d "$1" "$URL/_fake/fault" >/dev/null; }

# ---- Debian's awscli against the fake: its signer verified, replies parsed ---
awsc() {
	AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK AWS_SESSION_TOKEN=$TOK \
	    AWS_DEFAULT_REGION=eu-west-1 AWS_CONFIG_FILE=/dev/null \
	    AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER= \
	    "$AWS" --endpoint-url "$URL" autoscaling "$@"
}
# The two run at once (awscli takes seconds to start on a loaded machine).
awsc describe-auto-scaling-groups --auto-scaling-group-names web \
    --output json >"$OUT/aws.1" 2>&1 &
a1=$!
awsc set-desired-capacity --auto-scaling-group-name web \
    --desired-capacity 9 >"$OUT/aws.2" 2>&1 &
a2=$!
wait $a1
wait $a2
rc2=$?
check_eq "awscli parses DescribeAutoScalingGroups" \
    "$(jq -c '.AutoScalingGroups[0] | [.AutoScalingGroupName, .MinSize, .MaxSize, .DesiredCapacity, (.Instances | length), .Instances[0].LifecycleState]' "$OUT/aws.1" 2>&1)" \
    '["web",0,4,1,1,"InService"]'
check_has "awscli parses the fake's ValidationError (above MaxSize)" \
    "$(cat "$OUT/aws.2")" \
    "(ValidationError) when calling the SetDesiredCapacity operation: New SetDesiredCapacity value 9 is above max value 4"
check_eq "awscli exits 254 on it" "$rc2" 254

# ---- signatures ----------------------------------------------------------------
asg describe web
check_eq "a signed describe is accepted (env keys, session token)" \
    "$RC $(head -1 <<<"$OUTPUT")" "0 group web min 0 max 4 desired 1 instances 1"
ID0=$(awk '/^instance/ {print $2; exit}' <<<"$OUTPUT")
check_has "the instance's id, AZ, state and protection are read" \
    "$OUTPUT" "instance $ID0 eu-west-1a InService Healthy unprotected"
check_eq "the fake booted it with its id and AZ" "$(cat "$TMP/booted")" \
    "$ID0 eu-west-1a web"

N=$((N + 1))
AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY="${SK}x" AWS_SESSION_TOKEN=$TOK \
    "$ASGCTL" --endpoint "$URL" describe web >"$OUT/asg.$N" 2>&1
RC=$?
check_eq "a wrong secret fails" "$RC" 1
check_has "with AWS's SignatureDoesNotMatch, said clearly" "$(cat "$OUT/asg.$N")" \
    "asgctl: DescribeAutoScalingGroups: SignatureDoesNotMatch: The request signature we calculated does not match"
check_eq "the fake refused it on the signature" \
    "$(state .counters.signature_refused)" 1
N=$((N + 1))
AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK AWS_SESSION_TOKEN=wrong \
    "$ASGCTL" --endpoint "$URL" describe web >"$OUT/asg.$N" 2>&1
check_has "a wrong session token: InvalidClientTokenId" "$(cat "$OUT/asg.$N")" \
    "InvalidClientTokenId"

# A credentials file (ini, profiles); the environment holds no keys.
cat >"$TMP/credentials" <<EOF
# berth test keys
[default]
aws_access_key_id = AKIDOTHER
aws_secret_access_key = other

[profile berth]
aws_access_key_id=$AK
aws_secret_access_key = $SK
aws_session_token = $TOK
EOF
chmod 600 "$TMP/credentials"
out=$(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
    "$ASGCTL" --endpoint "$URL" --credentials-file "$TMP/credentials" \
    --profile berth describe web 2>&1 | tee "$OUT/file.1")
check_has "keys from a credentials file profile are accepted" "$out" \
    "group web min 0 max 4 desired 1"
out=$(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
    "$ASGCTL" --endpoint "$URL" --credentials-file "$TMP/credentials" \
    --profile nope describe web 2>&1 | tee "$OUT/file.2")
check_eq "a missing profile is named" "$out" \
    "asgctl: credentials file $TMP/credentials: no profile [nope]"
out=$(env -u AWS_SECRET_ACCESS_KEY AWS_ACCESS_KEY_ID=$AK "$ASGCTL" \
    --endpoint "$URL" describe web 2>&1 | tee "$OUT/file.3")
check_eq "a key id without its secret is named" "$out" \
    "asgctl: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"

# ---- desired capacity: up only ------------------------------------------------------
asg set-desired web 3
check_eq "desired grows to 3" "$RC $OUTPUT" "0 desired web 3"
check_eq "the fake has 3 instances, desired 3" \
    "$(state '.groups.web | [.desired, (.instances | length)]')" "[3,3]"
wait_for 20 test "$(wc -l <"$TMP/booted")" -eq 3
check_eq "each new instance was booted" "$(wc -l <"$TMP/booted")" 3
asg set-desired web 1
check_eq "lowering is refused by the client" "$RC" 1
check_has "saying why" "$OUTPUT" \
    "refused to lower the desired capacity of web from 3 to 1: AWS would choose which instances to terminate"
asg set-desired web 5
check_has "above MaxSize is refused naming it" "$OUTPUT" \
    "desired capacity 5 of web is above its MaxSize 4"
check_eq "the fake never saw desired lowered (SetDesiredCapacity values)" \
    "$(state '[.counters.lowered, .counters.set_desired, .groups.web.desired]')" \
    "[0,[3],3]"

# ---- protection ---------------------------------------------------------------------
asg describe web
mapfile -t IDS < <(awk '/^instance/ {print $2}' <<<"$OUTPUT")
asg protect web "${IDS[0]}" "${IDS[1]}"
check_eq "protect two instances" "$RC $OUTPUT" "0 protected 2"
check_eq "the fake has exactly those two protected" \
    "$(state '[.groups.web.instances[] | select(.protected) | .id] | sort | join(" ")')" \
    "\"$(printf '%s\n' "${IDS[0]}" "${IDS[1]}" | sort | paste -sd' ')\""
asg describe web
check_eq "describe reads the protection back" \
    "$(grep -c ' protected$' <<<"$OUTPUT")" 2

# ---- terminate with decrement, by name ---------------------------------------------
VICTIM=${IDS[1]}
VPID=$(cat "$TMP/boot/$VICTIM.pid")
check "the victim's booted process runs" pid_alive "$VPID"
asg terminate "$VICTIM"
check_eq "terminate the named instance" "$RC $OUTPUT" "0 terminated $VICTIM"
check_eq "exactly it is gone, desired decremented, nothing replaced" \
    "$(state '[.groups.web.desired, ([.groups.web.instances[].id] | sort | join(" ")), .counters.terminated]')" \
    "[2,\"$(printf '%s\n' "${IDS[0]}" "${IDS[2]}" | sort | paste -sd' ')\",[\"$VICTIM\"]]"
wait_for 10 sh -c "! kill -0 $VPID 2>/dev/null"
check "its booted process ended" sh -c "! kill -0 $VPID 2>/dev/null"
asg terminate "$VICTIM"
check_has "terminating it again: the fake's ValidationError, passed on" \
    "$OUTPUT" "TerminateInstanceInAutoScalingGroup: ValidationError: Instance Id not found"
asg terminate "i-nothex"
check_has "a malformed id is refused before any call" "$OUTPUT" \
    "instance id i-nothex: must be i- and 8 or 17 hex digits"

# ---- Throttling --------------------------------------------------------------------
fault '{"throttle": 3}'
asg --retry-base-ms 20 --stats describe web
check_eq "Throttling thrice, then the call succeeds" "$RC" 0
check_has "after 3 retries (4 requests)" "$OUTPUT" \
    "stats calls=1 requests=4 retries=3"
check_eq "the fake throttled exactly 3" "$(state .counters.throttled)" 3
fault '{"throttle": 10}'
asg --retry-base-ms 10 --retries 2 describe web
check_has "lasting Throttling: given up after the bound" "$OUTPUT" \
    "asgctl: DescribeAutoScalingGroups: Throttling: Rate exceeded (gave up after 2 retries,"
asg --retry-base-ms 400 --retries 10 --deadline-ms 1500 --stats describe web
check_has "and when the call's deadline would pass, before the retries are spent" \
    "$OUTPUT" "Throttling: Rate exceeded (gave up after"
check "(at most 3 retries fit in 1.5 s of 200 + 400 + 800 ms sleeps)" \
    test "$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$OUTPUT")" -le 4
fault '{"throttle": 0}'
fault '{"error_code": "ResourceContention", "error_status": 500, "error_n": 1}'
asg --retry-base-ms 10 --stats describe web
check_has "ResourceContention (HTTP 500) is retried too" "$RC $OUTPUT" \
    "0 group web"
check_has "once" "$OUTPUT" "stats calls=1 requests=2 retries=1"
fault '{"error_code": "InternalFailure", "error_status": 500, "error_n": 1}'
asg --retry-base-ms 10 --stats describe web
check_has "another 500 is returned at once with its code" "$RC $OUTPUT" \
    "InternalFailure: injected by the test"
check_eq "(one request: AWS may have acted on it)" \
    "$(grep -c 'requests=1 retries=0' <<<"$OUTPUT")" 1

# ---- an instance that never boots (for the provision timeout's tests) ----------
fault '{"no_boot": 1}'
booted=$(wc -l <"$TMP/booted")
asg launch web 1
check_eq "fake: an instance launched with no_boot is never booted" \
    "$RC $(state -r '[.groups.web.instances[-1].state, .groups.web.instances[-1].running] | tostring') $(wc -l <"$TMP/booted")" \
    "0 [\"Pending\",false] $booted"
NOBOOT=$(state -r '.groups.web.instances[-1].id')
asg delete web "$NOBOOT"
check_eq "and it is deleted by name like any other" "$RC $OUTPUT" "0 deleted $NOBOOT"

# ---- a Failed scaling activity -------------------------------------------------------
fault '{"fail_launch": 1}'
asg set-desired web 3
check_eq "the API accepts the grow" "$RC" 0
asg activities web 5
check_has "the Failed launch activity is seen" \
    "$(grep '^activity ' <<<"$OUTPUT" | head -1)" \
    "Failed Launching a new EC2 instance.  Status Reason: We currently do not have sufficient capacity"
check_has "with its status message" "$OUTPUT" \
    "| We currently do not have sufficient capacity in the Availability Zone you requested."
check_eq "and no instance came of it" "$(state '.groups.web.instances | length')" 2

# ---- the provider's calls (master/provider_aws.c) ----------------------------------
asg failed-since web "$T0"
check_has "provider: a Failed launch since the launch time means backoff" \
    "$OUTPUT" "failed: We currently do not have sufficient capacity"
asg failed-since web "$(($(date +%s%3N) + 60000))"
check_eq "provider: none since a later time" "$OUTPUT" "no failed launch"
asg describe web
JOINER=$(awk '/ unprotected$/ {print $2; exit}' <<<"$OUTPUT")
pc=$(state .counters.protect_calls)
asg join web "$JOINER"
check_eq "provider: a joining instance of the group is accepted, with its AZ" \
    "$RC $OUTPUT" "0 joined $JOINER az=$(state -r ".groups.web.instances[] | select(.id == \"$JOINER\") | .az")"
check_eq "provider: and protected on join" \
    "$(state ".groups.web.instances[] | select(.id == \"$JOINER\") | .protected")" true
asg join web "$JOINER"
check_eq "provider: joining again makes no second protect call" \
    "$RC $(state .counters.protect_calls)" "0 $((pc + 1))"
asg join web "$VICTIM"
check_has "provider: an id that is not in the group is refused" "$OUTPUT" \
    "instance $VICTIM is not a live instance of auto scaling group web"
d=$(state .groups.web.desired)
sets=$(state '.counters.set_desired | length')
asg grow-to web "$d"
check_eq "provider: grow-to the current size adds nothing, calls nothing" \
    "$OUTPUT $(state '.counters.set_desired | length')" "grown to $d, 0 added $sets"
asg grow-to web 1
check_eq "provider: grow-to below the size never lowers" \
    "$RC $OUTPUT $(state .groups.web.desired)" "0 grown to 1, 0 added $d"
asg launch web 1
check_eq "provider: launch 1 grows desired by one" \
    "$RC $(state .groups.web.desired)" "0 $((d + 1))"
asg launch web 1
check_has "provider: beyond MaxSize is refused naming it" "$OUTPUT" \
    "above its MaxSize 4"
asg delete web "$JOINER"
check_eq "provider: delete the named instance" "$RC $OUTPUT" "0 deleted $JOINER"
asg delete web "$JOINER"
check_eq "provider: deleting it again is done, without a call" \
    "$RC $(state '[.counters.terminated[] | select(. == "'"$JOINER"'")] | length')" "0 1"
check_eq "provider: desired was decremented once" \
    "$(state .groups.web.desired)" "$d"

# ---- timeouts --------------------------------------------------------------------------
fault '{"slow_ms": 4000, "slow_n": 1}'
asg --timeout-ms 500 describe web
check_eq "a slow endpoint is cut off by the call's timeout" "$RC" 1
check_has "saying so" "$OUTPUT" "Operation timed out"

# ---- the fake's contract checks (so that the checks above mean something) --------------
signed() {
	curl -s --aws-sigv4 "aws:amz:eu-west-1:autoscaling" --user "$AK:$SK" \
	    -H "X-Amz-Security-Token: $TOK" --data "$1" "$URL/"
}
check_has "fake: a wrong type is a ValidationError" \
    "$(signed 'Action=SetDesiredCapacity&Version=2011-01-01&AutoScalingGroupName=web&DesiredCapacity=many')" \
    "<Code>ValidationError</Code><Message>Value 'many' at 'DesiredCapacity' failed to satisfy constraint: Member must be a number"
check_has "fake: an unknown parameter is a ValidationError" \
    "$(signed 'Action=SetDesiredCapacity&Version=2011-01-01&AutoScalingGroupName=web&DesiredCapacity=3&Force=true')" \
    "Unknown parameter for SetDesiredCapacity: Force"
check_has "fake: a missing required member is a ValidationError" \
    "$(signed 'Action=SetDesiredCapacity&Version=2011-01-01&AutoScalingGroupName=web')" \
    "Missing required parameter in input: \"DesiredCapacity\""
check_has "fake: an unknown action is refused" \
    "$(signed 'Action=ScaleEverything&Version=2011-01-01')" "<Code>InvalidAction</Code>"
check_has "fake: a signed GET query string is not served" \
    "$(curl -s --aws-sigv4 "aws:amz:eu-west-1:autoscaling" --user "$AK:$SK" \
    "$URL/?Action=DescribeAutoScalingGroups&Version=2011-01-01")" \
    "only POST with a form body is served"

# ---- no secret anywhere ------------------------------------------------------------
check_eq "the fake's state never lowered desired through SetDesiredCapacity" \
    "$(state .counters.lowered)" 0
leaks=$(grep -rlF -e "$SK" -e "$TOK" "$OUT" 2>/dev/null)
check_eq "no secret key or session token in any output or log" "$leaks" ""
check_has "(the fake's log does record the calls)" "$(cat "$OUT/fake.log")" \
    "TerminateInstanceInAutoScalingGroup InstanceId=$VICTIM ShouldDecrementDesiredCapacity=true"

exit $((N_FAIL > 0))
