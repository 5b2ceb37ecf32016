#!/usr/bin/env bash
# connect_deadlines.sh - every step of the agent's connect path has its
# own deadline that ends in the next attempt (issue 21.0): a real
# berth-agent against tests/integration/fake_master.py stalling at one
# step each - the TCP connect (a full accept queue), the TLS handshake
# (wss:// to a peer that accepts and says nothing), the answer to the
# upgrade, and the welcome frame. Each stall must be logged by name and
# followed by another attempt; when the peer answers again the agent
# joins. Before the deadlines an agent waited on the first stall forever.
# The steps run with BERTH_CONNECT_TIMEOUT_S=1; the default (15 s) is what
# tests/e2e/stall.sh exercises against a frozen master.
. "$(dirname "$0")/../lib.sh"

FM=$ROOT/tests/integration/fake_master.py
N=0
declare -A PORT
# fm NAME ARGS...: a fake master on a free port, PORT[NAME].
fm() {
	local name=$1
	shift
	PORT[$name]=$(free_port)
	python3 "$FM" --port "${PORT[$name]}" "$@" >"$TMP/$name.fm" 2>&1 &
	MASTER_PIDS="$MASTER_PIDS $!"
}
# agent NAME URL: a real agent, no Docker (a socket that does not exist).
agent() {
	mkdir -p "$TMP/$1"
	env BERTH_URL="$2" BERTH_TOKEN=grid-secret BERTH_DATA_DIR="$TMP/$1" \
	    BERTH_NODE_NAME="$1" BERTH_CONNECT_TIMEOUT_S=1 BERTH_BACKOFF_MAX_S=1 \
	    DOCKER_HOST="unix://$TMP/no-docker.sock" \
	    "$BIN/berth-agent" >"$TMP/$1.log" 2>&1 &
	AGENT_PIDS="${AGENT_PIDS:-} $!"
}
at_exit 'for p in $AGENT_PIDS; do kill $p; done'
gave_up() { grep -c "giving up this attempt" "$TMP/$1.log"; }
# at_least N CMD...: CMD prints a count of N or more (evaluated each poll).
at_least() { local n=$1; shift; [ "$("$@")" -ge "$n" ]; }
tls_stalls() { grep -c '^STALL accept' "$TMP/tls.fm"; }

fm upgrade --silent accept --silent-count 2
fm welcome --silent welcome --silent-count 2
fm tls --silent accept
fm syn --silent syn
for a in upgrade welcome tls syn; do
	wait_for 30 grep -q '^LISTEN' "$TMP/$a.fm" || notok "fake master $a listens"
done
agent upgrade "ws://127.0.0.1:${PORT[upgrade]}"
agent welcome "ws://127.0.0.1:${PORT[welcome]}"
agent tls "wss://127.0.0.1:${PORT[tls]}"
agent syn "ws://127.0.0.1:${PORT[syn]}"

# A peer that accepts and never answers the upgrade: two attempts given
# up, each with its line, then the third is served and the agent joins.
wait_for 30 grep -q '"type": *"node_info"' "$TMP/upgrade.fm"
check_eq "unanswered upgrade: the peer saw three attempts, two stalled" \
    "$(grep -c '^STALL accept' "$TMP/upgrade.fm"):$(grep -c '^CONNECT' "$TMP/upgrade.fm")" "2:1"
check_has "unanswered upgrade: the step is named in the log" "$(cat "$TMP/upgrade.log")" \
    "connecting to ws://127.0.0.1:${PORT[upgrade]}: no answer to the websocket upgrade within 1 s; giving up this attempt"
check_eq "unanswered upgrade: one line per attempt given up" "$(gave_up upgrade)" 2
check_has "unanswered upgrade: joined once the peer answers" "$(cat "$TMP/upgrade.log")" "welcome: grid default"

# Upgraded, but no welcome frame.
wait_for 30 grep -q '"type": *"node_info"' "$TMP/welcome.fm"
check_eq "no welcome: two attempts stalled after the upgrade, the third welcomed" \
    "$(grep -c '^STALL welcome' "$TMP/welcome.fm"):$(grep -c '^CONNECT' "$TMP/welcome.fm")" "2:1"
check_has "no welcome: the step is named in the log" "$(cat "$TMP/welcome.log")" \
    "no welcome frame within 1 s; giving up this attempt"
check_has "no welcome: joined on the third attempt" "$(cat "$TMP/welcome.log")" "welcome: grid default"

# wss:// to a peer that accepts and never answers the TLS handshake.
wait_for 30 at_least 3 tls_stalls
check "silent TLS peer: attempt after attempt (3 or more)" at_least 3 tls_stalls
check_has "silent TLS peer: the step is named in the log" "$(cat "$TMP/tls.log")" \
    "connecting to wss://127.0.0.1:${PORT[tls]}: no TLS handshake within 1 s; giving up this attempt"

# A TCP connect that never completes (SYNs dropped by a full queue).
wait_for 30 at_least 2 gave_up syn
check "TCP connect that hangs: given up again and again (2 or more)" at_least 2 gave_up syn
check_has "TCP connect that hangs: the step is named in the log" "$(cat "$TMP/syn.log")" \
    "no TCP connection within 1 s; giving up this attempt"
check_eq "TCP connect that hangs: never got further" "$(grep -c 'no answer to the websocket upgrade\|no TLS' "$TMP/syn.log")" 0

for a in upgrade welcome tls syn; do
	grep -q "reconnecting in" "$TMP/$a.log" || notok "$a: the agent scheduled its next attempt"
done
ok "each given-up attempt is followed by 'reconnecting in N ms'"
