#!/usr/bin/env bash
# big_set.sh - a desired set over the protocol's 4 MiB frame (issue 21.9):
# a service with a 150 KB environment scaled to 30 on one node makes a
# 4.5 MB set. The master used to send it as one frame and the agent died
# ("double free or corruption" after "frame over 4194304 bytes"); now the
# set travels in desired_part frames and the agent takes it whole.
#
# A real master and a real berth-agent; no Docker is needed for what is
# checked here: the agent's engine is tests/integration/fake_docker.py,
# which answers (the master places nothing on a node whose engine is down)
# and runs nothing; the agent receives and validates the set, and only its
# creates fail.
. "$(dirname "$0")/../lib.sh"

D=$TMP/data
python3 "$ROOT/tests/integration/fake_docker.py" "$TMP/docker.sock" >"$TMP/docker.log" 2>&1 &
at_exit "kill $!"
wait_for 20 grep -q LISTEN "$TMP/docker.log"
master_start "$D" || exit 1
mkdir -p "$TMP/agent"
BERTH_URL="ws://127.0.0.1:$AGENT_PORT" BERTH_TOKEN="$(cat "$D/grid-default.token")" \
    BERTH_DATA_DIR="$TMP/agent" BERTH_NODE_NAME=big BERTH_LABELS=role=big \
    BERTH_BACKOFF_MAX_S=2 DOCKER_HOST="unix://$TMP/docker.sock" \
    "$BIN/berth-agent" >"$TMP/agent.log" 2>&1 &
AGENT_PID=$!
at_exit "kill -9 $AGENT_PID"
check "the agent joins" wait_for 30 api_jq /v1/nodes/default/big '.status == "online"' -e

# 150 variables of 1,000 bytes: a 150 KB environment.
python3 - >"$TMP/stack.yml" <<'EOF'
print("stack: t/big\nservices:\n  big:\n    image: berth-test/busybox:latest")
print("    command: sleep 100000\n    instances: 1\n    affinity:\n      - label==role=big")
print("    environment:")
for i in range(150):
    print("      - E%03d=%s" % (i, "x" * 1000))
EOF
STATUS=$(curl -s -o "$TMP/body" -w '%{http_code}' -X POST \
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/yaml' \
    --data-binary @"$TMP/stack.yml" "$API/v1/grids/default/stacks")
check_eq "the stack is installed" "$STATUS" 201
api POST /v1/stacks/default/big/deploy
check_eq "and deployed" "$STATUS" 202
check "the agent gets its one container" \
    wait_for 60 grep -q "desired: generation [0-9]*, 1 containers" "$TMP/agent.log"

api POST /v1/services/default/big/big/scale '{"instances":30}'
check_eq "scaled to 30" "$STATUS" 200
check "the master sends the 4.5 MB set in parts" \
    wait_for 60 grep -q "node big: desired set of [0-9]* bytes sent in 2 parts" "$MASTER_LOG"
check "the agent takes the set whole: 30 containers" \
    wait_for 60 grep -q "desired: generation [0-9]*, 30 containers" "$TMP/agent.log"
check "from its parts" grep -q "came in 2 parts" "$TMP/agent.log"
check_eq "no frame was too big for it" "$(grep -c 'frame over' "$TMP/agent.log")" 0
check "the agent lives on" pid_alive "$AGENT_PID"
api GET /v1/nodes/default/big
check_eq "and its node is online" "$(jq -r .status <<<"$BODY")" online

# Back to a set that fits: one frame again, and the agent follows.
api POST /v1/services/default/big/big/scale '{"instances":2}'
check "a set that fits comes whole again" \
    wait_for 60 grep -q "desired: generation [0-9]*, 2 containers" "$TMP/agent.log"
kill -TERM "$AGENT_PID"
wait "$AGENT_PID"
check_eq "the agent stops cleanly" "$?" 0
san_check "$TMP/agent.log"
master_stop
exit 0
