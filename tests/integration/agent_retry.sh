#!/usr/bin/env bash
# agent_retry.sh - a real berth-agent against a master that cannot take it
# now, or sends what it cannot take (issues 20 and 21.9):
#
#   - a 4012 close with "retry after N ms" is waited out: N plus at most a
#     quarter of it, again and again, the backoff not grown (4011 is
#     another thing: a node id in use, claims.sh);
#   - a frame over 4 MiB is dropped, the session closed with 1009 and
#     opened again; the agent lives on (it died of a double free).
#
# The peer is tests/integration/fake_master.py; no Docker is needed (the
# agent's engine is a socket that does not exist, which it only retries).
# An upgrade the master never answers: connect_deadlines.sh.
. "$(dirname "$0")/../lib.sh"

FAKE=$ROOT/tests/integration/fake_master.py

# fake_start NAME ARGS...: fake_master on a free port (FAKE_PORT), output in
# $TMP/NAME.fake; waits until it listens.
fake_start() {
	local name=$1
	shift
	FAKE_PORT=$(free_port)
	python3 "$FAKE" --port "$FAKE_PORT" --grid-token gt "$@" \
	    >"$TMP/$name.fake" 2>&1 &
	FAKE_PID=$!
	at_exit "kill $FAKE_PID"
	wait_for 20 grep -q LISTEN "$TMP/$name.fake"
}

# agent_run NAME: a real agent against the fake master (AGENT_PID).
agent_run() {
	mkdir -p "$TMP/$1"
	BERTH_URL="ws://127.0.0.1:$FAKE_PORT" BERTH_TOKEN=gt \
	    BERTH_DATA_DIR="$TMP/$1" BERTH_NODE_NAME="$1" \
	    BERTH_BACKOFF_MAX_S=30 DOCKER_HOST="unix://$TMP/no-docker.sock" \
	    "$BIN/berth-agent" >"$TMP/$1.log" 2>&1 &
	AGENT_PID=$!
	at_exit "kill -9 $AGENT_PID"
}

# agent_end NAME: stop it; 0 if it was alive and stopped cleanly.
agent_end() {
	local rc=1
	if pid_alive "$AGENT_PID"; then
		kill -TERM "$AGENT_PID"
		wait "$AGENT_PID"
		rc=$?
	fi
	san_check "$TMP/$1.log"
	return $rc
}

# delays NAME: the agent's "reconnecting in N ms" values, one a line.
delays() { sed -n 's/.*reconnecting in \([0-9]*\) ms.*/\1/p' "$TMP/$1.log"; }

# ---- 4012: come back after the delay the master gives ----------------------
fake_start busy --close-code 4012 --close-reason "master busy; retry after 1500 ms"
agent_run busy
wait_for 30 test "$(delays busy | wc -l)" -ge 3
d=$(delays busy | head -3 | paste -sd' ')
echo "# reconnect delays after three 4012 closes: $d ms"
bad=$(delays busy | head -3 | awk '$1 < 1500 || $1 > 1875' | wc -l)
check_eq "after 4012 the agent waits the given 1500 ms + at most 25 %, the backoff not grown ($d)" \
    "$(delays busy | head -3 | wc -l)/$bad" "3/0"
check "the agent logs the close for what it is" \
    grep -q "master closed the session: 4012 (retry_later) master busy; retry after 1500 ms" "$TMP/busy.log"
check "the agent stops cleanly" agent_end busy
kill "$FAKE_PID"

# ---- a frame over 4 MiB ----------------------------------------------------
# 30 containers of 150 KB of environment each: one 4.5 MB desired frame.
python3 - "$TMP/big.json" <<'EOF'
import json, sys
env = ["E%d=%s" % (i, "x" * 1000) for i in range(150)]
cs = [{"name": "st.web-%d.aaaaaaaa" % i, "grid": "default", "stack": "st",
       "service": "web", "service_id": 1, "instance": i, "rev": 1,
       "image": "berth-test/busybox:latest", "env": env} for i in range(1, 31)]
json.dump({"type": "desired", "generation": 5, "containers": cs},
          open(sys.argv[1], "w"))
EOF
echo "# desired frame of $(stat -c %s "$TMP/big.json") bytes"
fake_start big --desired "$TMP/big.json"
agent_run big
check "the agent drops a frame over 4 MiB" \
    wait_for 30 grep -q "frame over 4194304 bytes from the master: dropped" "$TMP/big.log"
check "it closes the session with 1009" wait_for 10 grep -q "CLOSED 1009" "$TMP/big.fake"
check "and opens a new one" wait_for 20 grep -q "ACCEPT 2" "$TMP/big.fake"
check "the agent is alive and stops cleanly" agent_end big
check_eq "no crash in its log" "$(grep -cE 'double free|Segmentation|AddressSanitizer' "$TMP/big.log")" 0
kill "$FAKE_PID"
exit 0
