#!/usr/bin/env bash
# ha_three.sh - three masters on dqlite, loopback only (docs/ha.md,
# "Roles"). One leads (API, agents, scheduling), two stand by: their API
# answers 307 to the leader (writes through any master's URL land on the
# leader when the client follows it), /healthz and /metrics answer locally
# with the role, and their hub refuses agents with 4013 naming the
# leader's agent URL: a real agent listing every master goes there. kill
# -9 of the leader, several times (BERTH_HA_KILLS, 5; `make test-ha`: 20),
# while a client writes through all three URLs, nodes join (simulated
# agents listing every master, one joining every 0.5 s from each kill on)
# and a deploy is in flight (a stack upgrade and its deploy, the leader
# killed at the deploy's 202; simulated agents report its containers
# running): every acknowledged write is there afterwards, every agent
# that was welcomed is a node once, every acknowledged deploy finished
# or was superseded, the last with each instance placed once and
# running, a new leader serves writes each time, the CLI
# with every master listed sees no error, and the real agent is back on
# each new leader as the same node. A frozen leader
# (SIGSTOP) is deposed: when it runs again it stands by and closes its
# agents with 4013. A killed master rejoins and catches up: it ends up the
# only node with the newest entries, and the leader. A SIGTERM of the
# leader hands the lead over (TRANSFER) before it stops.
. "$(dirname "$0")/../lib.sh"

PROBE=$ROOT/$BUILD/tools/wsprobe
SIM=$ROOT/$BUILD/bench/agentsim
KILLS=${BERTH_HA_KILLS:-5}
declare -a D CA AP GP PID
for i in 1 2 3; do
	D[$i]=$TMP/m$i
	CA[$i]=127.0.0.1:$(free_port)
	AP[$i]=$(free_port)
	GP[$i]=$(free_port)
	mkdir -p "${D[$i]}"
done
m_start() { ha_start "$@"; }
m_kill() { ha_kill "$1"; }
url() { echo "http://127.0.0.1:${AP[$1]}"; }
health() { curl -s -m 2 "$(url "$1")/healthz"; }
role() { health "$1" | jq -r '.role // "down"' 2>/dev/null || echo down; }
is_role() { [ "$(role "$1")" = "$2" ]; }
# A standby that knows the leader's URL.
standby_of() { [ "$(health "$1" | jq -r '.role + " " + .leader')" = "standby $(url "$2")" ]; }
# The index of the master that says it leads (none: empty).
leader() {
	local i
	for i in 1 2 3; do
		[ -n "${PID[$i]}" ] && is_role "$i" leader && { echo "$i"; return 0; }
	done
	return 1
}
# post I PATH BODY: POST through master I, following a 307 (curl keeps the
# method and body on a 307, and with --location-trusted the token to
# another port); prints the final status.
post() {
	curl -s --location-trusted -m 10 -o /dev/null -w '%{http_code}' -X POST \
	    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	    --data-binary "$3" "$(url "$1")$2"
}
grids() {
	curl -s --location-trusted -m 10 -H "Authorization: Bearer $TOKEN" "$(url "$1")/v1/grids" |
	    jq -r '.[].name' | sort
}

m_start 1
wait_for 30 is_role 1 leader
check_eq "the first master bootstraps and leads" "$(role 1)" leader
TOKEN=$(cat "${D[1]}/operator.token")
export BERTH_TOKEN=$TOKEN
# Joining takes a join token (one use each); a wrong one is refused and
# the cluster is unchanged.
"$BIN/berth-master" --data-dir "$TMP/bad" --api-listen "127.0.0.1:$(free_port)" \
    --agent-listen "127.0.0.1:$(free_port)" --cluster-address "127.0.0.1:$(free_port)" \
    --join "${CA[1]}" --join-token "bj1.$(printf '%064d' 7)" >"$TMP/bad.log" 2>&1
check "a master with a wrong join token does not start" test $? -ne 0
check_has "saying the leader refused it" "$(cat "$TMP/bad.log")" \
    "refused the join: 403 join token refused"
check "and got no master key" test ! -e "$TMP/bad/master.key"
check_eq "the cluster is unchanged (berth master ls)" \
    "$(BERTH_MASTER=$(url 1) "$BIN/berth" master ls --json | jq -r '[.[] | .role] | join(",")')" leader
JT2=$(BERTH_MASTER=$(url 1) "$BIN/berth" master join-token)
JT3=$(BERTH_MASTER=$(url 1) "$BIN/berth" master join-token --ttl 10m)
check "berth master join-token prints a token" \
    sh -c "echo '$JT2' | grep -qE '^bj1\.[0-9a-f]{64}\$'"
check "the store keeps no join token in clear" \
    sh -c "! grep -qF '${JT2#bj1.}' '${D[1]}'/dqlite/* 2>/dev/null"
m_start 2 --join "${CA[1]}" --join-token "$JT2"
m_start 3 --join "${CA[1]}" --join-token "$JT3"
check "the joiners got the cluster's master key over the join" \
    sh -c "cmp -s '${D[1]}/master.key' '${D[2]}/master.key' && cmp -s '${D[1]}/master.key' '${D[3]}/master.key'"
wait_for 30 standby_of 2 1 && wait_for 30 standby_of 3 1
LS=$(BERTH_MASTER=$(url 2),$(url 1) "$BIN/berth" master ls --json)
check_eq "berth master ls: three members, one leader, all online" \
    "$(echo "$LS" | jq -r '[.[] | .role + "/" + (.online | tostring)] | sort | join(",")')" \
    "leader/true,voter/true,voter/true"
check_eq "with each one's API URL" \
    "$(echo "$LS" | jq -r '[.[].api_url] | sort | join(",")')" \
    "$(printf '%s\n' "$(url 1)" "$(url 2)" "$(url 3)" | sort | paste -sd,)"
check_has "and as a table" "$(BERTH_MASTER=$(url 1) "$BIN/berth" master ls)" \
    "ID"
# A node booted from the grid's cloud-config can join through any master.
CCU=$(BERTH_MASTER=$(url 1) "$BIN/berth" grid cloud-config default | sed -n 's/^ *BERTH_URL=//p')
check_eq "grid cloud-config: BERTH_URL lists every master, the serving one first ($CCU)" \
    "${CCU%%,*} $(echo "${CCU#*,}" | tr , '\n' | sort | paste -sd,)" \
    "ws://127.0.0.1:${GP[1]} $(printf 'ws://127.0.0.1:%s\n' "${GP[2]}" "${GP[3]}" | sort | paste -sd,)"
CCL=$(BERTH_MASTER=http://localhost:${AP[1]} "$BIN/berth" grid cloud-config default | sed -n 's/^ *BERTH_URL=//p')
check_eq "... asked by a name, it lists itself once, by that name ($CCL)" \
    "${CCL%%,*} $(echo "${CCL#*,}" | tr , '\n' | sort | paste -sd,)" \
    "ws://localhost:${GP[1]} $(printf 'ws://127.0.0.1:%s\n' "${GP[2]}" "${GP[3]}" | sort | paste -sd,)"
check "two masters join and stand by, knowing the leader's URL" \
    sh -c "[ \"\$(curl -s -m 2 $(url 2)/healthz | jq -r .role)\" = standby ] && [ \"\$(curl -s -m 2 $(url 3)/healthz | jq -r .leader)\" = $(url 1) ]"
check_has "a standby's /metrics answers locally with its role" \
    "$(curl -s -m 2 "$(url 2)/metrics")" "berth_master_leader 0"
check_has "the leader's says it leads" \
    "$(curl -s -m 2 -H "Authorization: Bearer $TOKEN" "$(url 1)/metrics")" \
    "berth_master_leader 1"

# A standby redirects: 307, Location = the same path and query on the
# leader, without reading the store or the token.
HDRS=$(curl -s -m 5 -D - -o /dev/null "$(url 2)/v1/grids/default/events?type=deploy.&limit=5")
check_has "a standby answers 307" "$HDRS" "HTTP/1.1 307"
check_has "to the same path and query on the leader's API URL" "$HDRS" \
    "Location: $(url 1)/v1/grids/default/events?type=deploy.&limit=5"
for i in 1 2 3; do
	check_eq "a write through master $i's URL lands (following the 307)" \
	    "$(post "$i" /v1/grids "{\"name\":\"via-$i\"}")" 201
done
check_eq "the three writes are on the leader" \
    "$(grids 1 | grep -c '^via-')" 3

# The CLI follows a standby's 307 itself, to a master of its list only
# (the token and the pin checks go nowhere else).
ALL="$(url 2),$(url 3),$(url 1)"
OUT=$(BERTH_MASTER=$ALL "$BIN/berth" grid create cli-1 2>&1)
check "the CLI with every master listed, a standby first, writes" \
    test "$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$(url 1)/v1/grids/cli-1")" = 200
OUT=$(BERTH_MASTER=$(url 2) "$BIN/berth" grid create cli-2 2>&1)
check "a 307 to a master not in BERTH_MASTER is not followed" test $? -ne 0
check_has "saying so" "$OUT" "which is not in BERTH_MASTER"
# exec's websocket follows the list too: the leader's answer (no such
# container) comes back through a standby listed first.
OUT=$(BERTH_MASTER=$ALL "$BIN/berth" container exec nope -- true 2>&1)
check_has "berth exec with a standby first reaches the leader" "$OUT" \
    "no container nope in grid default"
OUT=$(BERTH_MASTER=$(url 2) "$BIN/berth" container exec nope -- true 2>&1)
check_has "and not a leader outside BERTH_MASTER" "$OUT" \
    "which is not in BERTH_MASTER"

# A standby's hub refuses agents: 4013, the reason naming the leader's
# agent URL; the leader admits them.
GT=$(cat "${D[1]}/grid-default.token")
probe() {
	"$PROBE" --port "$1" --stay "$2" -H "Berth-Protocol: 1" \
	    -H "Berth-Node-Id: $(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
	    -H "Berth-Node-Name: $3" -H "Berth-Agent-Version: test" \
	    -H "Berth-Grid-Token: $GT" 2>&1
}
OUT=$(probe "${GP[3]}" 3 p-standby)
check_has "a standby refuses an agent with 4013 naming the leader's agent URL" \
    "$OUT" "close 4013 standby; leader at ws://127.0.0.1:${GP[1]}"
check_eq "... and never welcomes it" "$(grep -c '"type":"welcome"' <<<"$OUT")" 0

# A real agent (without a Docker engine: the session is what counts here)
# with BERTH_URL listing every master, a standby first: the standby's 4013
# sends it to the leader at once, which admits it.
mkdir -p "$TMP/agent"
BERTH_URL="ws://127.0.0.1:${GP[2]},ws://127.0.0.1:${GP[3]},ws://127.0.0.1:${GP[1]}" \
    BERTH_TOKEN="$GT" BERTH_NODE_NAME=a1 BERTH_DATA_DIR="$TMP/agent" \
    BERTH_BACKOFF_MAX_S=2 DOCKER_HOST="unix://$TMP/no-docker.sock" \
    "$BIN/berth-agent" >>"$TMP/agent.log" 2>&1 &
AGENT_PID=$!
at_exit "kill -9 $AGENT_PID"
node_on() {	# node_on I: the node is online on master I, the leader
	[ "$(curl -s -m 5 -H "Authorization: Bearer $TOKEN" \
	    "$(url "$1")/v1/nodes/default/a1" | jq -r .status)" = online ]
}
wait_for 30 node_on 1
check "an agent listing a standby first joins the leader" node_on 1
check_has "sent there by the standby's 4013" "$(cat "$TMP/agent.log")" \
    "ws://127.0.0.1:${GP[2]} is a standby: going to the leader, ws://127.0.0.1:${GP[1]}"

# ---- a fleet for the deploys ----------------------------------------------
# Three simulated agents (labelled role=fleet; the stack's service runs
# there only) listing every master, as BERTH_URL does: they report every
# container of their desired sets running, so a deploy can finish. Their
# backoff is capped at 2 s, as the real agent's here (the kills come
# closer together than the 30 s a session needs to reset the backoff).
SIM_URL="ws://127.0.0.1:${GP[1]},ws://127.0.0.1:${GP[2]},ws://127.0.0.1:${GP[3]}"
"$SIM" --url "$SIM_URL" --token "$GT" --agents 3 --ramp 20 \
    --label role=fleet --name-prefix fleet --duration 3600 --join-timeout 60 \
    --backoff-max 2 \
    --phase-file "$TMP/fleet.phase" >"$TMP/fleet.out" 2>"$TMP/fleet.err" &
FLEET_PID=$!
at_exit "kill $FLEET_PID"
wait_for 60 grep -qx synced "$TMP/fleet.phase"
check "three simulated agents listing every master join" \
    grep -qx "agents_synced 3 agents" "$TMP/fleet.out"
# req METHOD PATH BODY: through the leader found now; prints the status,
# the answer in $TMP/req.
req() {
	curl -s --location-trusted -m 10 -o "$TMP/req" -w '%{http_code}' \
	    -X "$1" -H "Authorization: Bearer $TOKEN" \
	    -H 'Content-Type: application/json' --data-binary "$3" \
	    "$(url "$(leader || echo 1)")$2"
}
stack_json() {	# stack_json ROUND: a new environment, so a new rev
	printf '{"stack":"t/hs","version":"1.0.%s","services":{"web":{"image":"busybox","instances":3,"environment":{"ROUND":"%s"},"affinity":["label==role=fleet"]}}}' "$1" "$1"
}
check_eq "a stack for the fleet is installed" \
    "$(req POST '/v1/grids/default/stacks?name=hs' "$(stack_json 0)")" 201
check_eq "and deployed" "$(req POST /v1/stacks/default/hs/deploy '')" 202
DEP1=$(jq -r .id "$TMP/req")
deploy_state() {
	curl -s -m 5 --location-trusted -H "Authorization: Bearer $TOKEN" \
	    "$(url "$(leader || echo 1)")/v1/stacks/default/hs/deploys/$1" |
	    jq -r .state
}
deploy_done() { [ "$(deploy_state "$1")" = success ]; }
wait_for 60 deploy_done "$DEP1"
check_eq "the first deploy finishes on the fleet" "$(deploy_state "$DEP1")" success

# ---- kill -9 of the leader, again and again, during writes, joins and a
# deploy ---------------------------------------------------------------------
# The writer sends each name once, through the three URLs in turn, and
# records the names acknowledged with 201.
: >"$TMP/acked"
writer() {
	local n=0 i st
	while [ ! -e "$TMP/stop" ]; do
		i=$((n % 3 + 1))
		st=$(post "$i" /v1/grids "{\"name\":\"w-$n\"}")
		[ "$st" = 201 ] && echo "w-$n" >>"$TMP/acked"
		n=$((n + 1))
		sleep 0.02
	done
}
writer &
WRITER=$!
FAILOVER_MAX=0
: >"$TMP/deploys"
: >"$TMP/upgrades"
JOINERS=""
for k in $(seq 1 "$KILLS"); do
	c0=$(date +%s%3N)
	L=$(leader) || { notok "a leader before kill $k"; break; }
	sleep 1		# writes flow
	# A deploy accepted and not finished: the stack upgraded (a new
	# rev) and deployed, the leader killed at the deploy's 202 (the
	# fleet reports running at once: a deploy takes well under a second).
	[ "$(req PUT /v1/stacks/default/hs "$(stack_json "$k")")" = 200 ] &&
	    echo "$k" >>"$TMP/upgrades"
	[ "$(req POST /v1/stacks/default/hs/deploy '')" = 202 ] &&
	    jq -r .id "$TMP/req" >>"$TMP/deploys"
	m_kill "$L"
	t0=$(date +%s%3N)
	# Joins during the failover: four agents, one every 0.5 s from now
	# (an election takes over a second).
	"$SIM" --url "$SIM_URL" --token "$GT" --agents 4 --ramp 2 \
	    --name-prefix "join$k" --duration 1 --join-timeout 60 --backoff-max 2 \
	    --report "$TMP/join$k.json" \
	    >"$TMP/join$k.out" 2>"$TMP/join$k.err" &
	JOINERS="$JOINERS $!"
	at_exit "kill $! 2>/dev/null"
	# The CLI with the list rides the failover out: no error seen.
	OUT=$(BERTH_MASTER=$ALL "$BIN/berth" grid create "cli-kill-$k" 2>&1) ||
	    notok "the CLI writes through kill $k ($OUT)"
	if ! wait_for 30 leader; then
		notok "a new leader after kill $k of master $L"
		break
	fi
	N=$(leader)
	wait_for 30 sh -c "[ \"\$(curl -s --location-trusted -m 5 -o /dev/null -w '%{http_code}' -X POST -H 'Authorization: Bearer $TOKEN' --data-binary '{\"name\":\"after-kill-$k\"}' $(url "$N")/v1/grids)\" = 201 ]"
	ms=$(($(date +%s%3N) - t0))
	[ "$ms" -gt "$FAILOVER_MAX" ] && FAILOVER_MAX=$ms
	echo "# kill $k: master $L killed, master $N leads and wrote after $ms ms"
	wait_for 30 node_on "$N" ||
	    notok "the agent is back on the new leader after kill $k"
	m_start "$L"
	wait_for 30 standby_of "$L" "$N" ||
	    notok "master $L rejoins as a standby after kill $k"
	echo "# kill $k: the whole cycle took $(($(date +%s%3N) - c0)) ms"
done
touch "$TMP/stop"
wait "$WRITER"
for p in $JOINERS; do
	wait_for 60 sh -c "! kill -0 $p 2>/dev/null"
	wait "$p" 2>/dev/null
done
echo "# slowest failover (kill to the first write on the new leader): $FAILOVER_MAX ms"
L=$(leader)
check "a leader serves after $KILLS kills" test -n "$L"
ACKED=$(sort -u "$TMP/acked" | wc -l)
check "writes were acknowledged through the kills ($ACKED)" test "$ACKED" -ge "$KILLS"
grids "$L" >"$TMP/have"
check_eq "every acknowledged write is there" \
    "$(comm -23 <(sort -u "$TMP/acked") "$TMP/have" | head -5 | tr '\n' ' ')" ""
check_eq "and every write after a kill" \
    "$(grep -c '^after-kill-' "$TMP/have")" "$KILLS"
check_eq "and every one the CLI made during the failovers" \
    "$(grep -c '^cli-kill-' "$TMP/have")" "$KILLS"
check "the agent is online on the last leader" node_on "$L"
curl -s -m 5 -H "Authorization: Bearer $TOKEN" \
    "$(url "$L")/v1/grids/default/nodes" >"$TMP/nodes.json"
check_eq "as the same node: none removed, none added" \
    "$(jq -c '[.[].name | select(test("^(a1|fleet-)"))] | sort' "$TMP/nodes.json")" \
    '["a1","fleet-0","fleet-1","fleet-2"]'
FAILED_JOINS=$(cat "$TMP"/join*.json | jq -s '[.[].counters.connect_errors] | add')
check "the joins met the failovers: $FAILED_JOINS attempts refused or sent on" \
    test "${FAILED_JOINS:-0}" -ge "$KILLS"
check_eq "every agent that joined during the kills was admitted" \
    "$(cat "$TMP"/join*.out | grep -c '^agents_synced 4 agents$')" "$KILLS"
check_eq "and is a node once: no join lost, none doubled" \
    "$(jq -r '.[].name | select(startswith("join"))' "$TMP/nodes.json" | sort | uniq -c | awk '$1 == 1' | wc -l) $(jq '[.[].name | select(startswith("join"))] | length' "$TMP/nodes.json")" \
    "$((4 * KILLS)) $((4 * KILLS))"
# The deploys sent just before each kill: every acknowledged one is
# there; the last one finishes, each instance placed once, on the last
# upgrade's rev, running.
LASTDEP=$(tail -1 "$TMP/deploys")

check "deploys were accepted just before the kills ($(wc -l <"$TMP/deploys"))" \
    test -n "$LASTDEP"
wait_for 60 deploy_done "$LASTDEP"
check_eq "the last deploy finishes" "$(deploy_state "$LASTDEP")" success
for d in $(cat "$TMP/deploys"); do
	curl -s -m 5 -H "Authorization: Bearer $TOKEN" \
	    "$(url "$L")/v1/stacks/default/hs/deploys/$d" |
	    jq -r '.state + " " + (.error // "")'
done >"$TMP/deploy-ends"
echo "# the deploys sent just before the kills ended:"
sort "$TMP/deploy-ends" | uniq -c | sed 's/^/#   /'
check_eq "each one finished, or a newer one superseded it" \
    "$(grep -cvx -e 'success ' -e 'error superseded by a newer deploy' "$TMP/deploy-ends")" 0
fleet_on() {
	[ "$(curl -s -m 5 -H "Authorization: Bearer $TOKEN" "$(url "$L")/v1/grids/default/nodes" |
	    jq '[.[] | select((.name | startswith("fleet-")) and .status == "online")] | length')" = 3 ]
}
wait_for 40 fleet_on
check_eq "every acknowledged deploy is there" \
    "$(for d in $(cat "$TMP/deploys"); do curl -s -m 5 -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $TOKEN" "$(url "$L")/v1/stacks/default/hs/deploys/$d"; done | sort -u | tr '\n' ' ')" "200 "
check_eq "the stack has the last acknowledged upgrade" \
    "$(curl -s -m 5 -H "Authorization: Bearer $TOKEN" "$(url "$L")/v1/stacks/default/hs" | jq -r .version)" \
    "1.0.$(tail -1 "$TMP/upgrades")"
curl -s -m 5 -H "Authorization: Bearer $TOKEN" \
    "$(url "$L")/v1/services/default/hs/web/containers" >"$TMP/web.json"
check_eq "no instance is duplicated: 1, 2 and 3 once each, running" \
    "$(jq -c '[.[] | [.instance, .state]]' "$TMP/web.json")" \
    '[[1,"running"],[2,"running"],[3,"running"]]'
check_eq "all on one rev, on the fleet" \
    "$(jq -r '[.[].rev] | unique | length' "$TMP/web.json") $(jq -r '[.[].node | select(startswith("fleet-"))] | length' "$TMP/web.json")" \
    "1 3"
check_eq "the agent joined once (its node token served every reconnect)" \
    "$(grep -c 'joined: node token stored' "$TMP/agent.log")" 1

# ---- a frozen leader is deposed, then stands by --------------------------
L=$(leader)
OUT_F=$TMP/frozen.probe
"$PROBE" --port "${GP[$L]}" --stay 40 -H "Berth-Protocol: 1" \
    -H "Berth-Node-Id: $(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
    -H "Berth-Node-Name: p-frozen" -H "Berth-Agent-Version: test" \
    -H "Berth-Grid-Token: $GT" >"$OUT_F" 2>&1 &
PROBE_PID=$!
wait_for 10 grep -q '"type":"welcome"' "$OUT_F"
check "the leader admits an agent" grep -q '"type":"welcome"' "$OUT_F"
kill -STOP "${PID[$L]}"
N=""
for try in $(seq 1 300); do
	for i in 1 2 3; do
		[ "$i" != "$L" ] && is_role "$i" leader && N=$i
	done
	[ -n "$N" ] && break
	sleep 0.1
done
check "while the leader is frozen another master leads" test -n "$N"
kill -CONT "${PID[$L]}"
wait_for 30 standby_of "$L" "$N"
check "the old leader, running again, stands by" standby_of "$L" "$N"
wait "$PROBE_PID" 2>/dev/null
check_has "and closes its agents with 4013 naming the new leader" \
    "$(cat "$OUT_F")" "close 4013 standby; leader at ws://127.0.0.1:${GP[$N]}"
check_has "its log says it stood down" "$(cat "${D[$L]}/master.log")" \
    "no longer leads: standing by"

# ---- a killed master rejoins and catches up ------------------------------
# X is killed and misses W1; back, it must take W1 and W2 (W2 is committed
# by the leader and X alone, the third master being down). Then the
# leader dies and the third master comes back: X holds the newest entries,
# so only X can win the first election, and the leader serves both
# writes. (X, leading, brings Y up to date; a loaded X that misses its
# heartbeats then may lose the lead to Y in a later term: whoever leads
# in the end must serve W1 and W2.)
L=$(leader)
X=$(for i in 1 2 3; do [ "$i" != "$L" ] && echo "$i"; done | head -1)
Y=$((6 - L - X))
m_kill "$X"
check_eq "W1 is written while master $X is down" "$(post "$L" /v1/grids '{"name":"catch-w1"}')" 201
m_start "$X"
wait_for 30 standby_of "$X" "$L"
check "master $X rejoins as a standby" standby_of "$X" "$L"
m_kill "$Y"
check_eq "W2 is committed by the leader and master $X alone" \
    "$(post "$L" /v1/grids '{"name":"catch-w2"}')" 201
FROM_X=$(($(stat -c %s "${D[$X]}/master.log") + 1))
m_kill "$L"
m_start "$Y"
wait_for 40 leader
N=$(leader)
led_since() {	# led_since FROM LOG: the master's node led after byte FROM
	tail -c +"$1" "$2" | grep -Eq "role: (leader \(node|this master's node leads)"
}
check "master $X, the only one with every entry, is elected first" \
    led_since "$FROM_X" "${D[$X]}/master.log"
check "a leader serves (master ${N:-none})" test -n "$N"
[ -n "$N" ] && [ "$N" != "$X" ] && { Y=$X; X=$N; }
check_eq "and serves W1 and W2" "$(grids "$X" | grep -c '^catch-w')" 2
check_eq "and every acknowledged write" \
    "$(comm -23 <(sort -u "$TMP/acked") <(grids "$X") | wc -l)" 0
wait_for 30 standby_of "$Y" "$X"
check "master $Y stands by for it" standby_of "$Y" "$X"

# ---- a planned stop of the leader hands the lead over first --------------
m_start "$L"
wait_for 30 standby_of "$L" "$X"
kill -TERM "${PID[$X]}"
OUT=$(BERTH_MASTER=$ALL "$BIN/berth" grid create cli-term 2>&1)
check "the CLI writes while the leader stops (SIGTERM), no error seen" \
    test $? = 0
wait "${PID[$X]}" 2>/dev/null
check "the stopped leader exits 0" test $? = 0
PID[$X]=""
check_has "it handed the lead over before it stopped" \
    "$(cat "${D[$X]}/master.log")" "role: handed the lead over to node"
grep -h "handed the lead over" "${D[$X]}/master.log" | sed 's/^/# /'
N=$(leader)
check "another master leads" test -n "$N"
check_eq "and has the CLI's write" "$(grids "$N" | grep -c '^cli-term$')" 1

# ---- berth master rm -------------------------------------------------------
# The stopped master is removed (by address), then the leader (by id): it
# hands the lead over first, and a CLI write right after sees no error.
LS=$(BERTH_MASTER=$ALL "$BIN/berth" master ls --json)
check_eq "berth master ls shows the stopped master offline" \
    "$(echo "$LS" | jq -r --arg a "${CA[$X]}" '.[] | select(.address == $a) | .online')" false
OUT=$(BERTH_MASTER=$ALL "$BIN/berth" master rm "${CA[$X]}" 2>&1)
check "berth master rm ADDRESS removes the stopped master" test $? = 0
OUT=$(BERTH_MASTER=$ALL "$BIN/berth" master rm 12345 2>&1)
check_has "an unknown member is a clear error" "$OUT" 'no master "12345" in the cluster'
N=$(leader)
NID=$(BERTH_MASTER=$ALL "$BIN/berth" master ls --json | jq -r --arg a "${CA[$N]}" '.[] | select(.address == $a) | .id')
OUT=$(BERTH_MASTER=$ALL "$BIN/berth" master rm "$NID" 2>&1)
check_has "berth master rm of the leader hands over first" "$OUT" \
    "removed after handing the lead over"
OUT=$(BERTH_MASTER=$ALL "$BIN/berth" grid create cli-after-rm 2>&1)
check_eq "a CLI write right after sees no error" "$? $(echo "$OUT" | head -1)" "0 grid cli-after-rm created"
LS=$(BERTH_MASTER=$ALL "$BIN/berth" master ls --json)
check_eq "one member is left, and it leads" \
    "$(echo "$LS" | jq -r '[.[] | .role] | join(",")')" leader
OUT=$(BERTH_MASTER=$ALL "$BIN/berth" master rm "$(echo "$LS" | jq -r '.[0].id')" 2>&1)
check_has "the last member is not removed" "$OUT" "is the cluster's only member"

kill -TERM "$AGENT_PID" 2>/dev/null
wait "$AGENT_PID" 2>/dev/null
kill "$FLEET_PID" 2>/dev/null
wait "$FLEET_PID" 2>/dev/null
for i in 1 2 3; do
	if [ -n "${PID[$i]}" ]; then
		kill -TERM "${PID[$i]}"
		wait "${PID[$i]}" 2>/dev/null
		check "master $i stops on SIGTERM" test $? = 0
	fi
	san_check "${D[$i]}/master.log"
done
