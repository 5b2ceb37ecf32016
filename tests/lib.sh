# tests/lib.sh - shared helpers for the shell test layers (sourced).
#
# Each test script prints one "ok - name" or "not ok - name" line per
# check; tests/run.sh counts them. Every script gets a private temp dir,
# starts its own master(s) on free loopback ports, and cleans up on exit.
# Under BERTH_SAN=1 a master whose log holds a sanitizer report fails the
# script.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BERTH_BUILD:-build}
BIN=$ROOT/$BUILD/bin
TMP=$(mktemp -d /tmp/berth-test.XXXXXX)
MASTER_PIDS=""
CLEANUPS=""
# Agents of the tests share the host's one Docker engine (and its network
# namespace): the grid network's data plane (docs/network.md) stays off
# for them, and for the agents node groups start. Tests of the network
# give their agents, each on an engine of its own, BERTH_NETWORK=on.
export BERTH_NETWORK=${BERTH_NETWORK:-off}
N_FAIL=0

ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; N_FAIL=$((N_FAIL + 1)); }

# check NAME CMD...: ok if CMD succeeds.
check() {
	local name=$1
	shift
	if "$@" >/dev/null 2>&1; then ok "$name"; else notok "$name"; fi
}

# check_eq NAME GOT WANT
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		notok "$1 (got '$2', want '$3')"
	fi
}

# check_has NAME HAYSTACK NEEDLE
check_has() {
	case "$2" in
	*"$3"*) ok "$1" ;;
	*) notok "$1 ('$3' not in: $(printf '%s' "$2" | head -c 300))" ;;
	esac
}

# A TCP port nobody uses: below the kernel's ephemeral range (so no
# outgoing connection holds it) and not listened on or connected.
free_port() {
	local p lo
	lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
	[ -n "$lo" ] && [ "$lo" -gt 12000 ] || lo=32768
	while :; do
		p=$((10000 + RANDOM % (lo - 11000)))
		if ! ss -tanH "( sport = :$p )" 2>/dev/null | grep -q .; then
			echo "$p"
			return
		fi
	done
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
wait_for() {
	local limit=$1 i=0
	shift
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -ge $((limit * 10)) ] && return 1
		sleep 0.1
	done
	return 0
}

# pid_alive PID: the process runs (a zombie, exited but not reaped, does not).
pid_alive() {
	[ -n "$1" ] && [ -r "/proc/$1/stat" ] &&
	    ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null
}

# agent_alive PID DIR: PID is still a berth-agent process (pid_alive) working
# in DIR or below it (its cwd; " (deleted)" once the directory is gone). Pids
# are reused within a minute or two on a busy machine (pid_max 32768 and
# every thread takes one): a bare pid_alive of an agent that was stopped
# may see someone else's process or thread.
agent_alive() {
	local cwd
	pid_alive "$1" && grep -qx 'berth-agent' "/proc/$1/comm" 2>/dev/null &&
	    grep -qx "Tgid:[[:space:]]*$1" "/proc/$1/status" 2>/dev/null &&
	    cwd=$(readlink "/proc/$1/cwd" 2>/dev/null) &&
	    case $cwd in "$2" | "$2"/*) true ;; *) false ;; esac
}

# master_answers DATA_DIR: the master of DATA_DIR answers on $API. Its own
# operator token tells it from another test's master that holds the port.
master_answers() {
	[ -s "$1/operator.token" ] && curl -sf -m 2 -o /dev/null \
	    -H "Authorization: Bearer $(cat "$1/operator.token")" "$API/v1/grids"
}

# master_start DATA_DIR [flags...]: start berth-master; sets API, AGENT_PORT,
# MASTER_PID, TOKEN, BERTH_MASTER, BERTH_TOKEN. A port that free_port chose
# can be taken before the master binds it (the integration scripts run in
# parallel, and so may other checkouts' tests): when the master exits
# saying so, it starts again on new ports. Ports given in API_PORT_FIXED /
# AGENT_PORT_FIXED are kept.
master_start() {
	local dir=$1 try from end up
	shift
	mkdir -p "$dir"
	for try in 1 2 3; do
		API_PORT=${API_PORT_FIXED:-$(free_port)}
		AGENT_PORT=${AGENT_PORT_FIXED:-$(free_port)}
		API=http://127.0.0.1:$API_PORT
		from=$(($(stat -c %s "$dir/master.log" 2>/dev/null || echo 0) + 1))
		"$BIN/berth-master" --data-dir "$dir" \
		    --api-listen "127.0.0.1:$API_PORT" \
		    --agent-listen "127.0.0.1:$AGENT_PORT" --tick-ms 200 "$@" \
		    >>"$dir/master.log" 2>&1 </dev/null &
		MASTER_PID=$!
		MASTER_PIDS="$MASTER_PIDS $MASTER_PID"
		MASTER_LOG=$dir/master.log
		MASTER_DIR=$dir
		# Up within 20 s, or gone (then no need to wait them out).
		up=0
		end=$((SECONDS + 20))
		while [ "$SECONDS" -le "$end" ]; do
			master_answers "$dir" && { up=1; break; }
			pid_alive "$MASTER_PID" || break
			sleep 0.1
		done
		[ "$up" = 1 ] && break
		if ! pid_alive "$MASTER_PID" && [ "$try" -lt 3 ] &&
		    [ -z "${API_PORT_FIXED:-}" -o -z "${AGENT_PORT_FIXED:-}" ] &&
		    tail -c +"$from" "$dir/master.log" | grep -q 'address in use'; then
			wait "$MASTER_PID" 2>/dev/null
			echo "# a port was taken before the master bound it: new ports"
			continue
		fi
		echo "# master did not start; log:" >&2
		sed 's/^/# /' "$dir/master.log" >&2
		return 1
	done
	TOKEN=$(cat "$dir/operator.token")
	export BERTH_MASTER=$API BERTH_TOKEN=$TOKEN
}

# master_stop [SIGNAL]: stop the last master started (default TERM).
master_stop() {
	local sig=${1:-TERM}
	[ -n "${MASTER_PID:-}" ] || return 0
	local rc
	kill "-$sig" "$MASTER_PID" 2>/dev/null
	wait "$MASTER_PID" 2>/dev/null
	rc=$?
	MASTER_PID=""
	# A planned stop ends cleanly: exit 0, never a crash on the way out.
	case $sig in
	TERM | INT)
		[ "$rc" = 0 ] || [ "$rc" = 127 ] ||
		    notok "the master exits 0 after SIG$sig" \
		    "(exit status $rc$( [ "$rc" -gt 128 ] &&
		    echo ": killed by signal $((rc - 128))"))" ;;
	esac
	san_check "$MASTER_LOG"
}

# san_check LOG: a sanitizer report in LOG is a failed check.
SAN_RE='ERROR: (Address|Leak)Sanitizer|runtime error:|WARNING: ThreadSanitizer|scheduler: invariant broken'
san_check() {
	if [ "${BERTH_SAN:-0}" = 1 ] && [ -f "$1" ] &&
	    grep -qE "$SAN_RE" "$1"; then
		notok "no sanitizer report in $(basename "$1")"
		grep -E -A30 "$SAN_RE" "$1" | head -60 | sed 's/^/# /'
	fi
}

# api METHOD PATH [BODY [CONTENT-TYPE]]: sets STATUS and BODY.
api() {
	local method=$1 path=$2 data=${3-} ctype=${4:-application/json}
	local args=(-s -o "$TMP/body" -w '%{http_code}' -X "$method"
	    -H "Authorization: Bearer $TOKEN")
	if [ $# -ge 3 ]; then
		args+=(-H "Content-Type: $ctype" --data-binary "$data")
	fi
	STATUS=$(curl "${args[@]}" "$API$path")
	BODY=$(cat "$TMP/body")
}

# api_jq PATH FILTER [JQ-OPTION...]: GET PATH with the operator token and
# print jq -r FILTER of the answer; the status is jq's, so -e makes it a
# condition: wait_for 5 api_jq /v1/nodes/default/n1 '.status == "online"' -e
api_jq() {
	local body
	# No answer fails (jq 1.6 -e exits 0 on empty input: a wait for
	# '.status == "online"' would pass while the master is down).
	body=$(curl -s -H "Authorization: Bearer $TOKEN" "$API$1") &&
	    [ -n "$body" ] || return 1
	jq -r "${@:3}" "$2" <<<"$body"
}

# sched_wait_round [GRID]: return once the master's scheduler has planned
# GRID (default "default") in a round that began after this call; if it
# cannot tell, a failed check. A test that asserts the scheduler did
# nothing (nothing moved, nothing removed, instances kept) waits for this
# first, or its check proves nothing when the scheduler is slow. The master
# keeps no round counter to read, so the evidence is a deploy: deploys
# advance only in a round, right after the round planned their grid
# (round_grid_run in master/sched_round.c). Two deploys of a probe stack (a
# daemon service no node is eligible for: it places nothing, and each
# deploy succeeds at once), the second started after the first finished,
# so a plan began between them. The probe stack is removed again; its
# stack.* and deploy.* events stay.
sched_wait_round() {
	local g=${1:-default} i id STATUS BODY
	api POST "/v1/grids/$g/stacks?name=round-probe" \
	    '{"stack":"t/round-probe","services":{"p":{"image":"busybox","deploy":{"strategy":"daemon"},"affinity":["label==round-probe=never"]}}}'
	if [ "$STATUS" != 201 ]; then
		notok "a scheduler round is seen (round-probe install: $STATUS $BODY)"
		return 1
	fi
	for i in 1 2; do
		api POST "/v1/stacks/$g/round-probe/deploy"
		id=$(jq -r .id <<<"$BODY")
		if ! wait_for 30 api_jq "/v1/stacks/$g/round-probe/deploys/$id" \
		    '.state == "success"' -e; then
			notok "a scheduler round is seen (round-probe deploy $id: $(api_jq "/v1/stacks/$g/round-probe/deploys/$id" -c .))"
			return 1
		fi
	done
	api DELETE "/v1/stacks/$g/round-probe?force=1"
	[ "$STATUS" = 204 ] ||
	    { notok "a scheduler round is seen (round-probe rm: $STATUS)"; return 1; }
}

# sleep_until_ms EPOCH-MS: sleep until the wall clock has passed EPOCH-MS.
sleep_until_ms() {
	local left=$(($1 - $(date +%s%3N)))
	[ "$left" -gt 0 ] && sleep "$((left / 1000)).$(printf '%03d' $((left % 1000)))"
	return 0
}

# api_noauth METHOD PATH [AUTH-HEADER]: sets STATUS.
api_noauth() {
	local hdr=()
	[ -n "${3-}" ] && hdr=(-H "$3")
	STATUS=$(curl -s -o /dev/null -w '%{http_code}' -X "$1" "${hdr[@]}" \
	    "$API$2")
}

# ---- real agents (end-to-end layer) ----------------------------------------

AGENTS=""

# agent_start NAME LABELS [VAR=value...]: start a real berth-agent against
# the current master, with its own data dir and node name.
agent_start() {
	local name=$1 labels=$2
	shift 2
	mkdir -p "$TMP/agents/$name"
	env BERTH_URL="ws://127.0.0.1:$AGENT_PORT" \
	    BERTH_TOKEN="$(cat "$MASTER_DIR/grid-default.token")" \
	    BERTH_LABELS="$labels" BERTH_NODE_NAME="$name" \
	    BERTH_DATA_DIR="$TMP/agents/$name" BERTH_STATS_INTERVAL_S=1 \
	    BERTH_RESYNC_INTERVAL_S=2 BERTH_BACKOFF_MAX_S=2 "$@" \
	    "$BIN/berth-agent" >>"$TMP/agents/$name.log" 2>&1 &
	echo $! >"$TMP/agents/$name.pid"
	case " $AGENTS " in *" $name "*) ;; *) AGENTS="$AGENTS $name" ;; esac
}

# agent_stop NAME [SIGNAL]
agent_stop() {
	local pid
	pid=$(cat "$TMP/agents/$1.pid" 2>/dev/null) || return 0
	kill "-${2:-TERM}" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -f "$TMP/agents/$1.pid"
	san_check "$TMP/agents/$1.log"
}

# agent_log_size NAME: the size of the agent's log now, for the FROM of
# agent_synced and agent_actions.
agent_log_size() { stat -c %s "$TMP/agents/$1.log" 2>/dev/null || echo 0; }

# agent_synced NAME [FROM]: in its log past byte FROM, the agent took a
# desired set and then ran a converge pass on the latest one and reported
# its state at that generation: the evidence to wait for before asserting
# that it created, started or removed nothing. The state line is a debug
# line: start the agent with BERTH_LOG_LEVEL=debug.
agent_synced() {
	tail -c +"$((${2:-0} + 1))" "$TMP/agents/$1.log" 2>/dev/null | awk '
	    / desired: generation [0-9]+,/ {
		want = $0; sub(/.* desired: generation /, "", want)
		sub(/,.*/, "", want); ok = 0 }
	    / state: [0-9]+ containers, generation [0-9]+$/ && want != "" {
		g = $0; sub(/.*, generation /, "", g); if (g == want) ok = 1 }
	    END { exit !ok }'
}

# agent_actions NAME [FROM]: the containers the agent decided to create,
# start or remove, from its log past byte FROM (one line each).
agent_actions() {
	tail -c +"$((${2:-0} + 1))" "$TMP/agents/$1.log" 2>/dev/null |
	    grep -E ' (creating|starting|removing) ' | sed 's/^[^ ]* //'
}

# node_id NAME: the id the agent generated for itself.
node_id() { cat "$TMP/agents/$1/node-id" 2>/dev/null; }

# node_status NAME: the master's view ("online", "offline", or "").
node_status() { api_jq "/v1/nodes/default/$1" '.status // empty'; }

# containers [FILTER...]: ids of containers of this test's agents.
containers() {
	local n id out=""
	for n in $AGENTS; do
		id=$(node_id "$n")
		[ -n "$id" ] || continue
		out="$out $(docker ps -q --filter "label=berth.node=$id" "$@")"
	done
	echo $out
}

at_exit() { CLEANUPS="$CLEANUPS;$*"; }

cleanup() {
	local p n id
	# A failed test leaves the master's last warnings on stderr: a CI
	# log shows them (tests/run.sh repeats a failed script's stderr).
	if [ "${N_FAIL:-0}" -gt 0 ] && [ -n "${MASTER_LOG:-}" ]; then
		grep -E ' (warn|error) ' "$MASTER_LOG" 2>/dev/null | tail -15 |
		    cut -c1-300 | sed 's/^/# master: /' >&2
	fi
	eval "${CLEANUPS#;}" 2>/dev/null
	for n in $AGENTS; do
		agent_stop "$n" KILL
	done
	for p in $MASTER_PIDS; do
		kill -9 "$p" 2>/dev/null
	done
	# A node group's process-provider agents run in their machine's data
	# dir under $TMP and outlive a master by design; a machine launched
	# after the test's own cleanup (the master was still running) would
	# be left behind. Nothing of this test's survives it.
	for p in /proc/[0-9]*; do
		case $(readlink "$p/cwd" 2>/dev/null) in
		"$TMP"/*) [ "${p#/proc/}" = $$ ] || kill -9 "${p#/proc/}" 2>/dev/null ;;
		esac
	done
	wait 2>/dev/null
	# The containers of every node this test made (its agents' and its
	# machines'), found with one listing.
	local ids
	ids=$( { find "$TMP" -path '*/machines/*/node-id' 2>/dev/null |
		    while read -r f; do cat "$f"; echo; done
		for n in $AGENTS; do node_id "$n"; echo; done; } | sed '/^$/d')
	if [ -n "$ids" ] && command -v docker >/dev/null; then
		docker ps -a --format '{{.ID}} {{.Label "berth.node"}}' 2>/dev/null |
		    awk 'NR == FNR { want[$1] = 1; next } ($2 in want) { print $1 }' \
		    <(echo "$ids") - | xargs -r docker rm -f >/dev/null 2>&1
	fi
	# BERTH_TEST_KEEP=DIR: keep this run's logs and stores for a look.
	[ -n "${BERTH_TEST_KEEP:-}" ] && mkdir -p "$BERTH_TEST_KEEP" &&
	    cp -r "$TMP" "$BERTH_TEST_KEEP/$(basename "$0" .sh).$$"
	rm -rf "$TMP"
}
trap cleanup EXIT

# ---- network namespaces (end-to-end layer) ----------------------------------

NETNS_N=0

# netns_up NAME: a network namespace joined to the host by a veth pair on a
# private /30 that exists only for this test (10.199.X.Y+1 on the host
# side, +2 inside). Sets NETNS (the namespace), NETNS_IF (the host-side
# link: netns_link down cuts the namespace off), NETNS_HOST_IP and
# NETNS_IP. The host still reaches NETNS_HOST_IP while the link is down,
# so a master listening there serves host agents and the namespace alike.
# Both are removed at exit. Needs root.
netns_up() {
	local a b i
	NETNS_N=$((NETNS_N + 1))
	NETNS=berth-$$-$1
	NETNS_IF=bt$$n$NETNS_N
	for i in $(seq 100); do
		a=$((RANDOM % 256))
		b=$((RANDOM % 64 * 4))
		ip -o -4 addr show | grep -qE "inet 10\.199\.$a\.($((b + 1))|$((b + 2)))/" ||
		    break
	done
	NETNS_HOST_IP=10.199.$a.$((b + 1))
	NETNS_IP=10.199.$a.$((b + 2))
	at_exit "ip link del $NETNS_IF; ip netns del $NETNS"
	ip netns add "$NETNS" &&
	    ip link add "$NETNS_IF" type veth peer name "${NETNS_IF}p" &&
	    ip link set "${NETNS_IF}p" netns "$NETNS" &&
	    ip addr add "$NETNS_HOST_IP/30" dev "$NETNS_IF" &&
	    ip link set "$NETNS_IF" up &&
	    ip -n "$NETNS" addr add "$NETNS_IP/30" dev "${NETNS_IF}p" &&
	    ip -n "$NETNS" link set "${NETNS_IF}p" up &&
	    ip -n "$NETNS" link set lo up
}

# netns_link up|down: bring the last namespace's host-side link up or down.
netns_link() { ip link set "$NETNS_IF" "$1"; }

# agent_start_netns NS NAME LABELS [VAR=value...]: agent_start, with the
# agent inside network namespace NS (Docker is still the host's unix
# socket). BERTH_URL defaults to ws://$NETNS_HOST_IP:$AGENT_PORT.
agent_start_netns() {
	local ns=$1 name=$2 labels=$3
	shift 3
	mkdir -p "$TMP/agents/$name"
	ip netns exec "$ns" env BERTH_URL="ws://$NETNS_HOST_IP:$AGENT_PORT" \
	    BERTH_TOKEN="$(cat "$MASTER_DIR/grid-default.token")" \
	    BERTH_LABELS="$labels" BERTH_NODE_NAME="$name" \
	    BERTH_DATA_DIR="$TMP/agents/$name" BERTH_STATS_INTERVAL_S=1 \
	    BERTH_RESYNC_INTERVAL_S=2 BERTH_BACKOFF_MAX_S=2 "$@" \
	    "$BIN/berth-agent" >>"$TMP/agents/$name.log" 2>&1 &
	echo $! >"$TMP/agents/$name.pid"
	case " $AGENTS " in *" $name "*) ;; *) AGENTS="$AGENTS $name" ;; esac
}

# ---- a second Docker Engine (end-to-end layer) ----------------------------------

# engine_up NAME: a Docker Engine of its own, as a second machine would
# have, started inside a new network namespace (netns_up NAME) with the
# recipe of DESIGN.md section 7 (nsenter, not ip netns exec: that remounts
# /sys and dockerd then finds no cgroups). Its data and exec roots are under
# $TMP; it starts its own containerd. Sets ENGINE_SOCK (the unix socket:
# DOCKER_HOST=unix://$ENGINE_SOCK) and loads berth-test/busybox:latest into
# it. At exit its containers are removed and it is stopped. Needs root.
# With ENGINE_IPTABLES=1 the engine manages iptables as a stock Docker
# host does (Docker's default: FORWARD policy DROP, DOCKER-USER, its
# masquerade rules; only in the namespace's own tables: a dockerd in a
# network namespace sees no other); else --iptables=false.
engine_up() {
	local d=$TMP/engine-$1 i ipt="--iptables=false --ip-masq=false"
	[ "${ENGINE_IPTABLES:-0}" = 1 ] && ipt=""
	netns_up "$1" || return 1
	# A fresh host forwards nothing: Docker turns forwarding on and then
	# sets FORWARD's policy to DROP (a new namespace may inherit the
	# host's forwarding on, and Docker would leave the policy ACCEPT).
	[ -n "$ipt" ] || ip netns exec "$NETNS" sysctl -qw net.ipv4.ip_forward=0
	mkdir -p "$d"
	ENGINE_SOCK=$d/docker.sock
	at_exit "engine_down $d"
	# shellcheck disable=SC2086
	nsenter --net="/var/run/netns/$NETNS" dockerd --data-root "$d/root" \
	    --exec-root "$d/exec" -H "unix://$ENGINE_SOCK" --pidfile "$d/pid" \
	    $ipt >"$d/log" 2>&1 </dev/null &
	for i in $(seq 300); do
		docker -H "unix://$ENGINE_SOCK" info >/dev/null 2>&1 && break
		sleep 0.2
	done
	if ! docker -H "unix://$ENGINE_SOCK" info >/dev/null 2>&1; then
		echo "# second engine did not start; its log:" >&2
		tail -20 "$d/log" | sed 's/^/# /' >&2
		return 1
	fi
	docker save berth-test/busybox:latest |
	    docker -H "unix://$ENGINE_SOCK" load >/dev/null
}

# engine_down DIR: remove the engine's containers, stop it, wait for it.
engine_down() {
	local d=$1 pid i
	docker -H "unix://$d/docker.sock" ps -aq 2>/dev/null |
	    xargs -r docker -H "unix://$d/docker.sock" rm -f >/dev/null 2>&1
	pid=$(cat "$d/pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
}

# ---- a test underlay between engines' namespaces (end-to-end layer) -----------

# underlay_up: the "switch" of a test underlay: a bridge br0 in a namespace
# of its own (UNDERLAY_NS), removed at exit. Nodes join it with
# underlay_join. Needs root.
underlay_up() {
	UNDERLAY_NS=berth-$$-sw
	at_exit "ip netns del $UNDERLAY_NS"
	ip netns add "$UNDERLAY_NS" &&
	    ip -n "$UNDERLAY_NS" link add br0 type bridge &&
	    ip -n "$UNDERLAY_NS" link set br0 up
}

# underlay_join NS I [HOST_IP GW]: a veth pair from namespace NS to the
# switch, 192.168.250.I/24 on NS's end (the node's underlay address); with
# HOST_IP and GW, a route in NS to HOST_IP (say, a master's address on
# another namespace's host side) via GW (NS's own host-side address). The
# links go with the namespaces.
underlay_join() {
	local ns=$1 i=$2
	ip link add "bt$$u$i" type veth peer name "bt$$w$i" &&
	    ip link set "bt$$u$i" netns "$ns" &&
	    ip link set "bt$$w$i" netns "$UNDERLAY_NS" &&
	    ip -n "$UNDERLAY_NS" link set "bt$$w$i" master br0 up &&
	    ip -n "$ns" addr add "192.168.250.$i/24" dev "bt$$u$i" &&
	    ip -n "$ns" link set "bt$$u$i" up &&
	    { [ -z "${3:-}" ] || ip -n "$ns" route add "$3/32" via "$4"; }
}

# grid_host_state: what the grid network could touch on the host (routes
# into the default overlay prefix 10.81/16, bridge and VXLAN links of its
# names, Docker networks of its name), sorted: equal before and after a
# test of the grid network. (The machine is shared: other tests' links
# and routes come and go.)
grid_host_state() {
	{ ip -4 route show table all | grep -E '(^| )10\.81\.'
	  ip -o link show | grep -E ': (bvx|bbr)[0-9a-f]'
	  docker network ls --format '{{.Name}}' | grep '^berth-'; } | sort
}

# ---- several masters on loopback (ha_*.sh) ---------------------------------
# The caller fills arrays D (data dirs), AP and GP (API and agent ports),
# CA (cluster addresses, fixed: the Raft configuration holds them) and
# defines url I (the master's API URL); ha_start fills PID. Settings:
# HA_FLAGS, flags every master gets (--tls-self-signed, --tick-ms 200);
# HA_CURL, what curl needs to reach url (-k); HA_START_S, the wait.

# ha_start I [FLAGS...]: start master I in the background and wait until
# its API answers. When another test took its API or agent port meanwhile
# (the scripts run in parallel), it starts again on new ones.
ha_start() {
	local i=$1 try from
	shift
	for try in 1 2 3; do
		from=$(($(stat -c %s "${D[$i]}/master.log" 2>/dev/null || echo 0) + 1))
		# shellcheck disable=SC2086 # HA_FLAGS is a list of flags
		"$BIN/berth-master" --data-dir "${D[$i]}" ${HA_FLAGS:-} \
		    --api-listen "127.0.0.1:${AP[$i]}" \
		    --agent-listen "127.0.0.1:${GP[$i]}" \
		    --cluster-address "${CA[$i]}" "$@" \
		    >>"${D[$i]}/master.log" 2>&1 </dev/null &
		PID[$i]=$!
		MASTER_PIDS="$MASTER_PIDS ${PID[$i]}"
		wait_for "${HA_START_S:-20}" sh -c "curl -s ${HA_CURL:-} -m 1 -o /dev/null $(url "$i")/healthz || ! [ -r /proc/${PID[$i]}/stat ] || grep -q ') Z' /proc/${PID[$i]}/stat"
		pid_alive "${PID[$i]}" && return 0
		wait "${PID[$i]}" 2>/dev/null
		tail -c +"$from" "${D[$i]}/master.log" | grep -q 'address in use' ||
		    break
		echo "# master $i: a port was taken meanwhile: new ports"
		AP[$i]=$(free_port)
		GP[$i]=$(free_port)
	done
	notok "master $i starts"
	tail -c +"$from" "${D[$i]}/master.log" | tail -5 | sed 's/^/# /'
	return 1
}

# ha_kill I: kill -9 of master I.
ha_kill() {
	kill -9 "${PID[$1]}" 2>/dev/null
	wait "${PID[$1]}" 2>/dev/null
	PID[$1]=""
}
