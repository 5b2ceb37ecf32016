#!/usr/bin/env bash
# faults.sh - kill -9 of the master at random points while stacks are
# installed, upgraded, scaled and removed through the API and nodes come
# and go, with real agents on the real Docker Engine; then every token the
# run saw is searched for in the store, the logs and the API's error bodies.
#
# Each round: a background writer drives the API (recording every write the
# master acknowledged with 2xx, and the one in flight when the master died);
# a real agent is stopped (TERM or KILL) and simulated nodes (wsprobe)
# join and leave; after a random 0-1.5 s the master is killed with SIGKILL.
# While it is down: PRAGMA integrity_check and foreign_key_check. Then it
# restarts on the same ports and the round checks that every acknowledged
# write is there as acknowledged (the stack exists or not, its service's
# instance count and environment; every acknowledged deploy), the stopped
# agent comes back, and Docker converges: per stack as many running
# containers of this test's nodes as the service's instances, all at its
# revision, and never two for one (stack, service, instance).
#
# Knobs: FAULT_ROUNDS (default 20); FAULTS_KEEP=DIR copies the temp dir
# (logs, store, the writer's log) there at exit. Figures print as "# ..." lines.
# Runs in make test's background lane beside the other e2e scripts (it
# mostly waits, and reads and touches only its own nodes' containers):
# test-lane: side
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/test-image.sh" >/dev/null || { notok "build the local test image"; exit 1; }
PROBE=$ROOT/$BUILD/tools/wsprobe
ROUNDS=${FAULT_ROUNDS:-20}
STACKS="f0 f1 f2"
D=$TMP/data
W=$TMP/writer
mkdir -p "$W"
T_START=$(date +%s)
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

master_start "$D" || exit 1
GT_FIRST=$(cat "$D/grid-default.token")
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":3,"ha_grace_s":3,"rebalance_settle_s":1,"move_cooldown_s":5,"instance_settle_s":1}}'
check_eq "shortened timing settings" "$STATUS" 200
REAL="r1 r2 r3"
for a in $REAL; do agent_start "$a" "real=yes"; done
for a in $REAL; do wait_for 10 test -s "$TMP/agents/$a/node-id"; done
declare -A IS_OURS
for a in $REAL; do IS_OURS[$(node_id "$a")]=1; done
online_real() {
	curl -s -H "Authorization: Bearer $TOKEN" "$API/v1/grids/default/nodes" |
	    jq '[.[] | select(.status == "online" and (.labels | index("real=yes")))] | length'
}
all_online() { [ "$(online_real)" = 3 ]; }
wait_for 20 all_online
check_eq "three real agents online" "$(online_real)" 3

# A daemon stack on the simulated nodes: their joins and leaves are
# scheduling work too (their containers exist only in the API).
cat >"$TMP/simd.yml" <<'YML'
stack: faults/simd
services:
  d:
    image: berth-test/busybox:latest
    deploy:
      strategy: daemon
    affinity:
      - label==sim=yes
YML
curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/yaml' \
    --data-binary @"$TMP/simd.yml" "$API/v1/grids/default/stacks"
api POST /v1/stacks/default/simd/deploy
check_eq "the simulated nodes' daemon stack is deployed" "$STATUS" 202

# ---- the writer -------------------------------------------------------------------
# It owns stacks f0..f2. Every operation sets the state it leaves absolutely
# (exists, instances, environment V), so the expected state of a stack is
# that of its last acknowledged operation, or of the operation in flight
# when the master died. Log lines (in $W/log):
#   ack|lost|refused STACK OP EXISTS INSTANCES V [DEPLOY-ID]
#   sync STACK - EXISTS INSTANCES V        (read back after a restart)
# "lost" is the one in flight at the kill (committed or not); "refused" a
# non-2xx answer. After a lost operation the writer waits for the next
# round ($W/go) and reads its stacks back before going on.
stack_yaml() {	# stack_yaml NAME INSTANCES V
	cat <<YML
stack: faults/$1
services:
  web:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 0.2; done'
    instances: $2
    stop_grace_period: 1s
    affinity:
      - label==real=yes
    environment:
      V: "$3"
YML
}
# wcall METHOD PATH [YAML-or-JSON]: sets WCODE and WBODY.
wcall() {
	local args=(-s -m 10 -o "$W/body" -w '%{http_code}' -X "$1"
	    -H "Authorization: Bearer $TOKEN")
	if [ $# -ge 3 ]; then
		case $3 in
		'{'*) args+=(-H 'Content-Type: application/json') ;;
		*) args+=(-H 'Content-Type: application/yaml') ;;
		esac
		args+=(--data-binary "$3")
	fi
	WCODE=$(curl "${args[@]}" "$API$2")
	WBODY=$(cat "$W/body" 2>/dev/null)
}
# read_stack4 NAME: "EXISTS INSTANCES V FILE-COUNT" from the API, or "" if
# it is down; read_stack NAME: the first three.
read_stack4() {
	local out
	out=$(curl -s -m 10 -w '\n%{http_code}' -H "Authorization: Bearer $TOKEN" \
	    "$API/v1/services/default/$1/web")
	case ${out##*$'\n'} in
	200) jq -r '"1 \(.instances) \(.spec.env[] | select(startswith("V=")) | .[2:]) \(.spec.instances)"' <<<"${out%$'\n'*}" ;;
	404) echo "0 0 0 0" ;;
	*) echo "" ;;
	esac
}
read_stack() {
	local st
	st=$(read_stack4 "$1")
	echo "${st% *}"
}
writer() {
	# FILE: the count of the stack's last file. An upgrade sets the count
	# only when the file changes it; a scale is kept otherwise (api.md).
	declare -A EX INST VER FILE
	local gen=0 s op n v r st ver=0 ops=0 tries
	for s in $STACKS; do EX[$s]=0 INST[$s]=0 VER[$s]=0 FILE[$s]=0; done
	while [ ! -e "$W/stop" ]; do
		# Wait for a round to begin; then read back what the master has.
		tries=0
		while [ "$(cat "$W/go" 2>/dev/null)" = "$gen" ]; do
			[ -e "$W/stop" ] && return
			tries=$((tries + 1))
			[ $tries -gt 3000 ] && return	# 300 s: the test is gone
			sleep 0.1
		done
		gen=$(cat "$W/go")
		for s in $STACKS; do
			st=$(read_stack4 "$s")
			if [ -z "$st" ]; then
				echo "down $s" >>"$W/log"
				continue 2
			fi
			read -r EX[$s] INST[$s] VER[$s] FILE[$s] <<<"$st"
			echo "sync $s - ${st% *}" >>"$W/log"
		done
		# Write until the master dies under us.
		while [ ! -e "$W/stop" ]; do
			s=f$((RANDOM % 3))
			ver=$((ver + 1))
			n=$((1 + RANDOM % 3))
			r=$((RANDOM % 10))
			if [ "${EX[$s]}" = 0 ]; then op=install
			elif [ $r -lt 4 ]; then op=upgrade
			elif [ $r -lt 8 ]; then op=scale
			elif [ $r -lt 9 ]; then op=rm
			else op=deploy; fi
			case $op in
			install) wcall POST /v1/grids/default/stacks "$(stack_yaml "$s" $n $ver)"
			    st="1 $n $ver" ;;
			upgrade) wcall PUT "/v1/stacks/default/$s" "$(stack_yaml "$s" $n $ver)"
			    if [ "$n" != "${FILE[$s]}" ]; then st="1 $n $ver"
			    else st="1 ${INST[$s]} $ver"; fi ;;
			scale) wcall POST "/v1/services/default/$s/web/scale" "{\"instances\":$n}"
			    st="1 $n ${VER[$s]}" ;;
			rm) wcall DELETE "/v1/stacks/default/$s?force=1"
			    st="0 0 0" ;;
			deploy) wcall POST "/v1/stacks/default/$s/deploy"
			    st="1 ${INST[$s]} ${VER[$s]}" ;;
			esac
			ops=$((ops + 1))
			case $WCODE in
			2*) echo "ack $s $op $st$([ $op = deploy ] && echo " $(jq -r .id <<<"$WBODY")")" >>"$W/log" ;;
			000) echo "lost $s $op $st" >>"$W/log"; break ;;
			*) echo "refused $s $op $st $WCODE $WBODY" >>"$W/log"; continue ;;
			esac
			read -r EX[$s] INST[$s] VER[$s] <<<"$st"
			case $op in
			install | upgrade) FILE[$s]=$n ;;
			rm) FILE[$s]=0 ;;
			esac
			# An install or upgrade is deployed, as the CLI does.
			case $op in install | upgrade)
				wcall POST "/v1/stacks/default/$s/deploy"
				case $WCODE in
				2*) echo "ack $s deploy $st $(jq -r .id <<<"$WBODY")" >>"$W/log" ;;
				000) echo "lost $s deploy $st" >>"$W/log"; break ;;
				*) echo "refused $s deploy $st $WCODE" >>"$W/log" ;;
				esac ;;
			esac
		done
	done
}

# ---- the checks of one round ---------------------------------------------------
# check_acked: every stack is as its last acknowledged write left it (or as
# the lost write would have), and every acknowledged deploy exists. Sets
# BAD to what is not.
check_acked() {
	local s last lost have want_ids id bad=""
	for s in $STACKS; do
		last=$(awk -v s="$s" '($1 == "ack" || $1 == "sync") && $2 == s { l = $4 " " $5 " " $6 } END { print l }' "$W/log")
		lost=$(awk -v s="$s" '$2 == s && ($1 == "ack" || $1 == "sync") { l = "" } $2 == s && $1 == "lost" { l = $4 " " $5 " " $6 } END { print l }' "$W/log")
		[ -n "$last" ] || last="0 0 0"
		have=$(read_stack "$s")
		if [ "$have" != "$last" ] && [ "$have" != "$lost" ]; then
			bad="$bad $s:have($have)want($last${lost:+ or $lost})"
		elif [ -n "$lost" ] && [ "$have" != "$last" ]; then
			N_LOST_COMMITTED=$((N_LOST_COMMITTED + 1))
		fi
		# Deploys acknowledged since the stack was last (re)created.
		[ "${have%% *}" = 1 ] || continue
		want_ids=$(awk -v s="$s" '$2 != s { next }
		    ($3 == "install" || $3 == "rm") || ($1 == "sync" && $4 == 0) { ids = ""; next }
		    $1 == "ack" && $3 == "deploy" && $7 != "" { ids = ids " " $7 }
		    END { print ids }' "$W/log")
		for id in $want_ids; do
			code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
			    "$API/v1/stacks/default/$s/deploys/$id")
			[ "$code" = 200 ] || bad="$bad $s:deploy-$id:$code"
			N_DEPLOYS_CHECKED=$((N_DEPLOYS_CHECKED + 1))
		done
	done
	BAD=$bad
}
# docker_state: "stack service instance rev" per running container of the
# real agents.
docker_state() {
	local node rest
	docker ps --filter label=berth.grid=default --format \
	    '{{.Label "berth.node"}} {{.Label "berth.stack"}} {{.Label "berth.service"}} {{.Label "berth.instance"}} {{.Label "berth.rev"}}' |
	    while read -r node rest; do
		[ -n "${IS_OURS[$node]:-}" ] && echo "$rest"
	    done
}
dups() { docker_state | awk '{ print $1 "/" $2 "#" $3 }' | sort | uniq -d | tr '\n' ' '; }
# converged: for every stack, running containers = instances, all at the
# service's revision, no duplicate; prints what differs.
converged() {
	local want have
	want=$(curl -s -H "Authorization: Bearer $TOKEN" "$API/v1/grids/default/services" |
	    jq -r '.[] | select(.stack | test("^f[0-9]$")) | "\(.stack) \(.instances) \(.rev)"' | sort)
	have=$(docker_state | awk '$1 ~ /^f[0-9]$/ { n[$1]++
	    if (!($1 in r)) r[$1] = $4; else if (r[$1] != $4) r[$1] = "mixed" }
	    END { for (s in n) print s, n[s], r[s] }' | sort)
	[ "$want" = "$have" ] && [ -z "$(dups)" ] && return 0
	echo "want [$want] have [$have] dups [$(dups)] containers [$(docker_state | sort | tr '\n' ,)]"
	return 1
}

# ---- the rounds ---------------------------------------------------------------------
N_DEPLOYS_CHECKED=0 N_LOST_COMMITTED=0
echo 0 >"$W/go"
writer &
WRITER_PID=$!
at_exit "touch $W/stop"
[ -n "${FAULTS_KEEP:-}" ] && at_exit "cp -r $TMP $FAULTS_KEEP"
SIMS=""
for i in 1 2 3 4; do SIMS="$SIMS $(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"; done
SIMS=($SIMS)
round_fail=0 conv_worst=0 down_ms_worst=0 R_DONE=0
for round in $(seq "$ROUNDS"); do
	echo "$round" >"$W/go"		# the writer starts (again)
	# Node churn: two simulated nodes join (answering like healthy
	# agents) for 1-2 s; one real agent is stopped at a random moment.
	for k in 0 1; do
		i=$(((round + k) % 4))
		"$PROBE" --port "$AGENT_PORT" --auto-state --stay $((1 + RANDOM % 2)) \
		    -H "Berth-Protocol: 1" -H "Berth-Node-Id: ${SIMS[$i]}" \
		    -H "Berth-Node-Name: sim-$i" -H "Berth-Node-Labels: sim=yes" \
		    -H "Berth-Agent-Version: wsprobe" -H "Berth-Grid-Token: $(cat "$D/grid-default.token")" \
		    >>"$TMP/sim.out" 2>&1 &
	done
	victim=r$((1 + RANDOM % 3))
	sig=$([ $((RANDOM % 2)) = 0 ] && echo KILL || echo TERM)
	t1=$((RANDOM % 750)) t2=$((RANDOM % 750))
	sleep "$(printf '0.%03d' $t1)"
	agent_stop "$victim" "$sig"
	sleep "$(printf '0.%03d' $t2)"
	kill -9 "$MASTER_PID"
	wait "$MASTER_PID" 2>/dev/null
	t_down=$(date +%s%N)
	MASTER_PID=""
	# The writer notices (its request fails) and waits for the next round.
	wait_for 15 sh -c "tail -1 $W/log 2>/dev/null | grep -Eq '^(lost|down) '"

	ic=$(sqlite3 "$D/berth.db" 'PRAGMA integrity_check' 2>&1)
	fk=$(sqlite3 "$D/berth.db" 'PRAGMA foreign_key_check' 2>&1 | wc -l)
	if [ "$ic" != ok ] || [ "$fk" != 0 ]; then
		notok "round $round: integrity_check '$ic', foreign_key_check $fk rows"
		round_fail=$((round_fail + 1))
	fi
	API_PORT_FIXED=$API_PORT AGENT_PORT_FIXED=$AGENT_PORT master_start "$D" || {
		notok "round $round: the master restarts after kill -9"
		break
	}
	ms=$(ms_since "$t_down")
	[ "$ms" -gt "$down_ms_worst" ] && down_ms_worst=$ms
	check_acked
	if [ -n "$BAD" ]; then
		notok "round $round: acknowledged writes present:$BAD"
		round_fail=$((round_fail + 1))
	fi
	# Re-sync: the stopped agent comes back; every stack is deployed (a
	# deploy lost with the master would leave a service inactive).
	agent_start "$victim" "real=yes"
	for s in $STACKS; do
		curl -s -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" \
		    "$API/v1/stacks/default/$s/deploy"
	done
	t0=$(date +%s%N)
	# Typical convergence is a few seconds; the bound is generous because
	# a loaded machine (other work on the same Docker engine) has been
	# seen to take over a minute, which the closing figures report.
	if ! wait_for 120 converged; then
		notok "round $round: Docker converges without duplicates: $(converged)"
		round_fail=$((round_fail + 1))
		curl -s -H "Authorization: Bearer $TOKEN" "$API/v1/grids/default/nodes" |
		    jq -r '.[] | "# node \(.name) \(.id[0:8]) \(.status)"'
		for s in $STACKS; do
			curl -s -H "Authorization: Bearer $TOKEN" "$API/v1/services/default/$s/web/containers" |
			    jq -r --arg s "$s" '.[]? | "# \($s) #\(.instance) on \(.node): \(.state) \(.error // "")"'
		done
	fi
	ms=$(ms_since "$t0")
	[ "$ms" -gt "$conv_worst" ] && conv_worst=$ms
	if ! wait_for 15 all_online; then
		notok "round $round: the three real agents are back online"
		round_fail=$((round_fail + 1))
	fi
	R_DONE=$round
done
touch "$W/stop"
wait "$WRITER_PID" 2>/dev/null
n_ack=$(grep -c '^ack ' "$W/log")
n_lost=$(grep -c '^lost ' "$W/log")
n_refused=$(grep -c '^refused ' "$W/log")
echo "# $R_DONE rounds of kill -9 in $(($(date +%s) - T_START)) s: $n_ack writes acknowledged, $n_lost in flight at a kill, $n_refused refused; $N_DEPLOYS_CHECKED acknowledged deploys checked"
echo "# writes in flight at a kill that had been committed (their reply lost): $N_LOST_COMMITTED"
echo "# longest outage (kill -9 to the API answering again, integrity checks included): $down_ms_worst ms; slowest re-sync and convergence: $conv_worst ms"
check_eq "kill -9 rounds completed" "$R_DONE" "$ROUNDS"
check "at least 20 rounds" test "$R_DONE" -ge 20
check_eq "every round: store intact, acknowledged writes present, converged without duplicates" "$round_fail" 0
# How many depends on the machine's load (the figure is printed above); a
# quarter of the rounds proves the writer ran through the kills.
check "the writer got writes acknowledged ($n_ack)" test "$n_ack" -ge "$((ROUNDS / 4))"
check_eq "the writer's writes were never refused" "$n_refused" 0
grep '^refused' "$W/log" | head -3 | sed 's/^/# /'
check_eq "no duplicate container at the end" "$(dups)" ""

# ---- tokens: none in clear in the store, the logs or an error body --------------
# The grid token is rotated; a new agent joins with the new one, an old
# agent comes back with its node token. Then error bodies are provoked
# with tokens in every place a client can put one.
api POST /v1/grids/default/token
GT_NEW=$(jq -r .token <<<"$BODY")
check "grid token rotation returns the new token" grep -Eq '^[0-9a-f]{64}$' <<<"$GT_NEW"
out=$("$PROBE" --port "$AGENT_PORT" -H "Berth-Protocol: 1" \
    -H "Berth-Node-Id: $(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
    -H "Berth-Node-Name: late-node" -H "Berth-Grid-Token: $GT_FIRST")
check_has "the rotated-away grid token admits no new node" "$out" "close 4001"
check_eq "the grid token file holds the new token" "$(tr -d '\n' <"$D/grid-default.token")" "$GT_NEW"
agent_start r4 "real=no"
# r1 comes back offered only the old grid token: it can join only with its
# node token, which must be kept (not minted again).
NT_R1_BEFORE=$(cat "$TMP/agents/r1/node-token")
agent_stop r1
agent_start r1 "real=yes" BERTH_TOKEN="$GT_FIRST"
wait_for 15 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/grids/default/nodes | jq '[.[] | select(.status == \"online\" and (.name == \"r1\" or .name == \"r4\"))] | length')\" = 2 ]"
check_eq "after the rotation a new agent joins and an old one keeps its node token" \
    "$(node_status r4) $(node_status r1)" "online online"
check_eq "the old agent's node token is unchanged" "$(cat "$TMP/agents/r1/node-token")" "$NT_R1_BEFORE"

# The tokens: operator, grid (first and rotated), every real agent's node
# token, every node token the simulated nodes were given.
{
	echo "operator $TOKEN"
	echo "grid-first $GT_FIRST"
	echo "grid-rotated $GT_NEW"
	for a in $AGENTS; do
		[ -s "$TMP/agents/$a/node-token" ] && echo "node-$a $(tr -d '\n' <"$TMP/agents/$a/node-token")"
	done
	sed -n 's/^frame //p' "$TMP/sim.out" | jq -r 'select(.type == "welcome") | .node_token // empty' 2>/dev/null |
	    sort -u | sed 's/^/node-sim /'
} | awk 'length($2) == 64' >"$TMP/tokens"
echo "# $(wc -l <"$TMP/tokens") tokens collected ($(cut -d' ' -f1 "$TMP/tokens" | sed 's/-.*//' | sort | uniq -c | awk '{ printf "%s %s, ", $1, $2 }')from this run)"
check "the run saw a node token from every real agent" \
    test "$(grep -c '^node-r' "$TMP/tokens")" -ge 4

# provoke METHOD PATH [BODY [CONTENT-TYPE [AUTH]]]: an error reply, kept.
: >"$TMP/errors"
n_err=0
provoke() {
	local auth=${5:-$TOKEN} code args
	args=(-s -o "$TMP/ebody" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $auth")
	[ $# -ge 3 ] && args+=(-H "Content-Type: ${4:-application/json}" --data-binary "$3")
	code=$(curl "${args[@]}" "$API$2")
	case $code in
	4* | 5*) n_err=$((n_err + 1)) ;;
	*) echo "# provoked no error: $1 $2 -> $code" ;;
	esac
	{ cat "$TMP/ebody"; echo; } >>"$TMP/errors"	# the bodies only
}
NT_R1=$(tr -d '\n' <"$TMP/agents/r1/node-token")
for t in "$TOKEN" "$GT_FIRST" "$GT_NEW" "$NT_R1"; do
	provoke GET /v1/grids "" "" "$t$t"
	provoke GET /v1/grids "" "" "x$t"
	provoke GET "/v1/grids/$t"
	provoke GET "/v1/nodes/default/$t"
	provoke GET "/v1/stacks/default/f0/deploys/$t"
	provoke POST /v1/grids "{\"name\":\"$t\"}"
	provoke POST /v1/grids "{\"name\":\"g\",\"$t\":1}"
	provoke PATCH /v1/grids/default "{\"settings\":{\"heartbeat_interval_s\":\"$t\"}}"
	provoke PATCH /v1/nodes/default/r1 "{\"labels\":[\"$t\"]}"
	provoke POST "/v1/services/default/f0/web/scale" "{\"instances\":\"$t\"}"
	provoke POST /v1/grids/default/stacks "stack: x/$t
services: {}" application/yaml
	provoke POST /v1/grids/default/stacks "stack: x/y
services:
  web:
    image: busybox
    $t: 1" application/yaml
	provoke POST /v1/grids/default/stacks "{\"source\": \"$t"
	provoke PUT "/v1/stacks/default/$t" "stack: x/y" application/yaml
done
# The grid token alone is no operator token, and is not echoed either.
provoke GET /v1/grids "" "" "$GT_NEW"
echo "# $n_err error replies provoked with tokens in the path, headers and bodies"

# find_tokens FILE...: "kind file" for every token found in clear (hex, any
# case, or its 32 raw bytes).
find_tokens() {
	python3 - "$TMP/tokens" "$@" <<'PY'
import sys
toks = [l.split() for l in open(sys.argv[1]) if l.strip()]
for path in sys.argv[2:]:
    try:
        data = open(path, "rb").read()
    except OSError:
        continue
    low = data.lower()
    for kind, t in toks:
        if t.encode() in low or bytes.fromhex(t) in data:
            print(kind, path)
PY
}
places=("$D/berth.db" "$D/berth.db-wal" "$D/master.log" "$TMP"/agents/*.log "$TMP/errors")
found=$(find_tokens "${places[@]}")
echo "# searched ${#places[@]} files while the master runs: the store and its WAL, $(ls "$TMP"/agents/*.log | wc -l) agent logs, the master's log, the error bodies"
check_eq "no token in clear in the store, its WAL, any log or any error body (master running)" "$found" ""
agent_stop r4
master_stop
found=$(find_tokens "$D/berth.db" "$D/berth.db-wal" "$D/master.log")
check_eq "no token in clear in the store after a clean stop" "$found" ""
