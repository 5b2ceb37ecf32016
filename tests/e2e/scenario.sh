#!/usr/bin/env bash
# scenario.sh - the auto-scaling scenario of the README's tour on the real Docker
# Engine with real agents: a static node and ephemeral nodes in two azs;
# the stress daemon on every ephemeral node; an ha service spread by node
# and az; scale-out (daemon at once, rebalance within the budget); a
# network cut (not a kill) with replacement after the grace and no
# duplicate on return, then removal without return; a static node kept
# offline; a rolling upgrade that respects min_health; kill -9 of the
# master mid-deploy; and stack rm --force. Checks the API and the Docker
# containers themselves (by label). Figures print as "# ..." lines.
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/test-image.sh" >/dev/null || { notok "build the local test image"; exit 1; }
B=$BIN/berth
D=$TMP/data

# Agent e3 lives in its own network namespace. The master's agent port
# listens on the host side of that namespace's veth, which the host agents
# reach through loopback routing whether the link is up or down. That
# address is not loopback, so plain ws is allowed explicitly (master and
# agents); it exists only inside this test.
netns_up cut || { notok "create a network namespace with a veth pair"; exit 1; }
AP=$(free_port)
MASTER_FLAGS=(--agent-listen "$NETNS_HOST_IP:$AP" --insecure-plain --deploy-timeout-s 30)
AGENT_PORT_FIXED=$AP master_start "$D" "${MASTER_FLAGS[@]}" || exit 1
U=ws://$NETNS_HOST_IP:$AP
api PATCH /v1/grids/default '{"settings":{"heartbeat_interval_s":1,"offline_after_s":2,"ha_grace_s":3,"random_grace_s":1,"ephemeral_removal_s":120,"rebalance_settle_s":1,"move_cooldown_s":2,"instance_settle_s":1}}'
check_eq "shortened timing settings" "$STATUS" 200

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

declare -A NAME_OF AZ_OF
# register NAME AZ: remember a started agent's node id and az.
register() {
	wait_for 10 test -s "$TMP/agents/$1/node-id"
	NAME_OF[$(node_id "$1")]=$1
	AZ_OF[$1]=$2
}
online() {
	curl -s -H "Authorization: Bearer $TOKEN" "$API/v1/grids/default/nodes" |
	    jq -r '[.[] | select(.status == "online") | .name] | sort | join(" ")'
}
# dps [docker ps flags...]: this test's containers, one line each:
# "node-name stack service instance rev id".
dps() {
	local node rest
	docker ps "$@" --filter label=berth.grid=default --format \
	    '{{.Label "berth.node"}} {{.Label "berth.stack"}} {{.Label "berth.service"}} {{.Label "berth.instance"}} {{.Label "berth.rev"}} {{.ID}}' |
	    while read -r node rest; do
		[ -n "${NAME_OF[$node]:-}" ] && echo "${NAME_OF[$node]} $rest"
	    done
}
# count STACK [docker ps flags...]: how many of this test's containers of STACK.
count() { local st=$1; shift; dps "$@" --filter "label=berth.stack=$st" | grep -c .; }
at_least() { [ "$(count "$1")" -ge "$2" ]; }
# per_node STACK NODE...: "node=count ..." of running containers of STACK.
per_node() {
	local st=$1 out="" n all
	shift
	all=$(dps --filter "label=berth.stack=$st")
	for n in "$@"; do
		out="$out $n=$(awk -v n="$n" '$1 == n' <<<"$all" | grep -c .)"
	done
	echo ${out# }
}
# per_az "node=count ...": "az=count ..." (sorted by az).
per_az() {
	local kv
	for kv in $1; do echo "${AZ_OF[${kv%=*}]} ${kv#*=}"; done |
	    awk '{ s[$1] += $2 } END { for (a in s) print a "=" s[a] }' | sort |
	    tr '\n' ' ' | sed 's/ $//'
}
# spread_ok "k=count ...": max - min <= 1.
spread_ok() {
	tr ' ' '\n' <<<"$1" | cut -d= -f2 | sort -n |
	    awk 'NR == 1 { lo = $1 } { hi = $1 } END { exit !(hi - lo <= 1) }'
}
# moving SVC_PATH: records that are the new half of a move.
moving() {
	curl -s -H "Authorization: Bearer $TOKEN" \
	    "$API/v1/services/default/$1/containers" |
	    jq '[.[] | select(.move_target)] | length'
}
api_nodes_of() {
	curl -s -H "Authorization: Bearer $TOKEN" \
	    "$API/v1/services/default/$1/containers" |
	    jq -r '[.[].node] | sort | join(" ")'
}
node_http() {
	curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	    "$API/v1/nodes/default/$1"
}
# dups: "stack/service#instance" that run more than one container.
dups() {
	dps | awk '{ print $2 "/" $3 "#" $4 }' | sort | uniq -d | tr '\n' ' '
}

# Debug logs: their state lines are the evidence agent_synced waits for.
agent_start s1 "az=a" BERTH_URL=$U BERTH_INSECURE_PLAIN=1 \
    BERTH_LOG_LEVEL=debug
agent_start e1 "ephemeral=true,az=a" BERTH_URL=$U BERTH_INSECURE_PLAIN=1 \
    BERTH_LOG_LEVEL=debug
agent_start e2 "ephemeral=true,az=b" BERTH_URL=$U BERTH_INSECURE_PLAIN=1 \
    BERTH_LOG_LEVEL=debug
agent_start_netns "$NETNS" e3 "ephemeral=true,az=b" BERTH_INSECURE_PLAIN=1
register s1 a; register e1 a; register e2 b; register e3 b
wait_for 15 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/grids/default/nodes | jq '[.[] | select(.status == \"online\")] | length')\" = 4 ]"
check_eq "a static and three ephemeral agents online (one in its own netns)" "$(online)" "e1 e2 e3 s1"

# ---- 1. the stress stack: a daemon on each ephemeral node -------------------
# The example stack, made quick to stop (it traps TERM, 1 s grace).
sed -e "s|^    command: .*|    command: sh -c 'trap \"exit 0\" TERM; while true; do sleep 1; done'|" \
    -e '$a\    stop_grace_period: 1s' \
    "$ROOT/stacks/examples/stress-local.yml" >"$TMP/stress.yml"
want_cpu=$(sed -n 's/^ *cpu_shares: *//p' "$TMP/stress.yml")
want_mem=$(( $(sed -n 's/^ *mem_limit: *\([0-9]*\)M$/\1/p' "$TMP/stress.yml") * 1024 * 1024 ))
out=$("$B" stack install "$TMP/stress.yml" 2>&1)
check_eq "berth stack install stress" "$?" 0
check_has "the CLI reports the deploy done" "$out" "[done] Deploying service stress"
wait_for 10 at_least stress 3
check_eq "one stress container on each ephemeral node, none on the static node" \
    "$(per_node stress s1 e1 e2 e3)" "s1=0 e1=1 e2=1 e3=1"
check_eq "the API places the daemon on the ephemeral nodes" "$(api_nodes_of stress/stress)" "e1 e2 e3"
ids=$(dps --filter label=berth.stack=stress | awk '{ print $6 }')
check_eq "cpu_shares as declared ($want_cpu)" \
    "$(for c in $ids; do docker inspect -f '{{.HostConfig.CpuShares}}' "$c"; done | sort -u)" "$want_cpu"
check_eq "memory as declared ($want_mem)" \
    "$(for c in $ids; do docker inspect -f '{{.HostConfig.Memory}}' "$c"; done | sort -u)" "$want_mem"

# ---- 2. an ha service spreads over nodes and azs ----------------------------
cat >"$TMP/web.yml" <<'YML'
stack: e2e/web
services:
  web:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    instances: 12
    stop_grace_period: 1s
    mem_limit: 16M
YML
out=$("$B" stack install "$TMP/web.yml" 2>&1)
check_eq "install a 12-instance ha service on 4 nodes" "$?" 0
wait_for 15 at_least web 12
sp=$(per_node web s1 e1 e2 e3)
az=$(per_az "$sp")
echo "# web per node: $sp; per az: $az"
check_eq "twelve web containers run" "$(count web)" 12
check "ha: per node max-min <= 1 ($sp)" spread_ok "$sp"
check "ha: per az max-min <= 1 ($az)" spread_ok "$az"

# ---- 3. scale-out: a new ephemeral node gets its daemon at once -------------
t0=$(date +%s%N)
agent_start e4 "ephemeral=true,az=b" BERTH_URL=$U BERTH_INSECURE_PLAIN=1 \
    BERTH_LOG_LEVEL=debug
register e4 b
id4=$(node_id e4)
t_join="" t_daemon=""
while [ -z "$t_daemon" ] && [ "$(ms_since "$t0")" -lt 15000 ]; do
	[ -z "$t_join" ] && [ "$(node_status e4)" = online ] && t_join=$(ms_since "$t0")
	[ -n "$(docker ps -q --filter "label=berth.node=$id4" --filter label=berth.stack=stress)" ] &&
	    t_daemon=$(ms_since "$t0")
done
[ -z "$t_join" ] && [ "$(node_status e4)" = online ] && t_join=$(ms_since "$t0")
c=$(docker ps -q --filter "label=berth.node=$id4" --filter label=berth.stack=stress)
cst=$(docker inspect -f '{{.Created}} {{.State.StartedAt}}' $c 2>/dev/null |
    { read -r a b; echo $((($(date -d "$b" +%s%N) - $(date -d "$a" +%s%N)) / 1000000)); })
echo "# daemon on join: ${t_daemon:-never} ms from agent start (node online after ${t_join:-?} ms; container create->started ${cst:-?} ms)"
check "the joining node's daemon container runs within 10 s" test "${t_daemon:-99999}" -le 10000
check_eq "the API shows the daemon on the new node" "$(api_nodes_of stress/stress)" "e1 e2 e3 e4"

# Rebalance onto e4 (settle 1 s): sample the moves in flight.
t0=$(date +%s%N)
maxflight=0 maxrun=0
while [ "$(ms_since "$t0")" -lt 30000 ]; do
	f=$(moving web/web)
	[ "$f" -gt "$maxflight" ] && maxflight=$f
	n=$(count web)
	[ "$n" -gt "$maxrun" ] && maxrun=$n
	sp=$(per_node web s1 e1 e2 e3 e4)
	[ "$f" = 0 ] && [ "$n" = 12 ] && spread_ok "$sp" && break
	sleep 0.1
done
echo "# rebalance after e4 joined: $sp in $(ms_since "$t0") ms; max moves in flight $maxflight, max web containers $maxrun"
check "ha instances rebalance onto the new node" test "$(per_node web e4)" != "e4=0"
check "rebalanced: per node max-min <= 1 ($sp)" spread_ok "$sp"
check "at most one move of the service in flight (max_moves_per_service)" test "$maxflight" -le 1
# In Docker a move can overlap the previous one: that move is complete (its
# old record removed) while its old container is still within its stop
# grace, so 12 + the move target + one old copy on its way out.
check "start-before-stop: at most 12 + 2 web containers in Docker ($maxrun)" test "$maxrun" -le 14
check_eq "twelve web containers after the rebalance" "$(count web)" 12
api GET "/v1/grids/default/events?type=sched.move"
check_has "the moves are events that say why" "$(jq -r '[.[].message] | join(" | ")' <<<"$BODY")" "e4"

# ---- 4. a network cut, not a kill ------------------------------------------
old3=$(dps --filter label=berth.stack=web | awk '$1 == "e3" { print $6 }' | sort)
daemon3=$(dps --filter label=berth.stack=stress | awk '$1 == "e3" { print $6 }')
echo "# e3 runs $(wc -w <<<"$old3") web containers before the cut"
t0=$(date +%s%N)
netns_link down
wait_for 10 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/nodes/default/e3 | jq -r .status)\" = offline ]"
t_off=$(ms_since "$t0")
echo "# e3 offline $t_off ms after its link went down (offline_after 2 s, heartbeat 1 s)"
check_eq "the cut-off node goes offline" "$(node_status e3)" offline
check_has "its ha instances stay during the grace" "$(api_nodes_of web/web)" "e3"
check_eq "the cut-off agent keeps its containers running" \
    "$(for c in $old3; do docker ps -q --filter "id=$c"; done | grep -c .)" "$(wc -w <<<"$old3")"
wait_for 20 sh -c "curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/services/default/web/web/containers | jq -ne 'input | any(.[]; .node == \"e3\") | not'"
wait_for 20 at_least web $((12 + $(wc -w <<<"$old3")))
t_rep=$(ms_since "$t0")
echo "# e3's ha instances replaced $t_rep ms after the cut ($((t_rep - t_off)) ms after offline; ha grace 3 s)"
check "replaced after the ha grace, not before" test $((t_rep - t_off)) -ge 2500
check_eq "the API has 12 web instances, none on e3" \
    "$(curl -s -H "Authorization: Bearer $TOKEN" "$API/v1/services/default/web/web/containers" | jq '[.[] | select(.node != "e3")] | length')" 12
check_has "the daemon record stays with its offline node" "$(api_nodes_of stress/stress)" "e3"
check_eq "the node is still there (removal is later)" "$(node_http e3)" 200

t0=$(date +%s%N)
netns_link up
wait_for 20 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/nodes/default/e3 | jq -r .status)\" = online ]"
echo "# e3 back online $(ms_since "$t0") ms after its link came back"
check_eq "the link returns: e3 online again" "$(node_status e3)" online
gone() { for c in $old3; do [ -z "$(docker ps -aq --filter "id=$c")" ] || return 1; done; }
wait_for 20 gone
echo "# e3's replaced containers removed by its agent $(ms_since "$t0") ms after the return"
check "the returning agent removes its replaced instances" gone
t1=$(date +%s%N)
while [ "$(ms_since "$t1")" -lt 30000 ]; do
	f=$(moving web/web)
	n=$(count web)
	sp=$(per_node web s1 e1 e2 e3 e4)
	[ "$f" = 0 ] && [ "$n" = 12 ] && spread_ok "$sp" && break
	sleep 0.1
done
echo "# web after e3 returned: $sp"
check_eq "nothing duplicated: 12 web containers (desired count)" "$(count web)" 12
check_eq "nothing duplicated: one container per instance" "$(dups)" ""
check_eq "e3's daemon container kept (not recreated)" \
    "$(dps --filter label=berth.stack=stress | awk '$1 == "e3" { print $6 }')" "$daemon3"

# The cut again, without return, and the static node stopped at the same
# time (2 of 5 nodes: no stand-down). e3 goes after the removal time; s1
# stays.
api PATCH /v1/grids/default '{"settings":{"ephemeral_removal_s":6}}'
check_eq "removal time shortened to 6 s" "$STATUS" 200
t0=$(date +%s%N)
netns_link down
agent_stop s1
wait_for 10 api_jq /v1/nodes/default/s1 '.status == "offline"' -e
t_s1=$(date +%s%3N)
wait_for 10 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/nodes/default/e3 | jq -r .status)\" = offline ]"
t_off=$(ms_since "$t0")
wait_for 25 sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $TOKEN' $API/v1/nodes/default/e3) = 404 ]"
t_rm=$(ms_since "$t0")
echo "# e3 removed $t_rm ms after the second cut (offline after $t_off ms; removal 6 s)"
check_eq "the ephemeral node cut off past the removal time is removed" "$(node_http e3)" 404
check "not removed before the removal time" test $((t_rm - t_off)) -ge 5500
api GET "/v1/grids/default/events?type=node.remove"
check_has "the removal is an event" "$(jq -r '[.[].message] | join(" | ")' <<<"$BODY")" "e3"
check_eq "the removed node's daemon record went with it" "$(api_nodes_of stress/stress)" "e1 e2 e4"

# ---- 5. the static node offline longer than the removal time stays ----------
# The evidence: a round planned after s1 had been offline past the removal
# time (6 s) kept it (e3's removal was most likely that round already).
sleep_until_ms $((t_s1 + 6000 + 500))
sched_wait_round
api GET /v1/nodes/default/s1
check_eq "static node offline past the removal time is kept" "$STATUS $(jq -r .status <<<"$BODY")" "200 offline"
wait_for 15 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/services/default/web/web/containers | jq '[.[] | select(.node != \"s1\" and .node != \"e3\" and .state == \"running\")] | length')\" = 12 ]"
check_eq "web instances of both lost nodes replaced (12 running elsewhere)" \
    "$(curl -s -H "Authorization: Bearer $TOKEN" "$API/v1/services/default/web/web/containers" | jq '[.[] | select(.state == "running")] | length')" 12
api GET "/v1/grids/default/events?type=sched.note"
check "no stand-down for 2 nodes of 5" test "$(jq '[.[] | select(.message | test("stand down"))] | length' <<<"$BODY")" = 0

# The cut-off machine is gone for good (its agent and containers with it);
# the static node comes back.
agent_stop e3 KILL
docker ps -aq --filter "label=berth.node=$(node_id e3)" | xargs -r docker rm -f >/dev/null
agent_start s1 "az=a" BERTH_URL=$U BERTH_INSECURE_PLAIN=1 \
    BERTH_LOG_LEVEL=debug
wait_for 15 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/nodes/default/s1 | jq -r .status)\" = online ]"
check_eq "the static node rejoins" "$(online)" "e1 e2 e4 s1"

# ---- 6. a rolling upgrade never goes below min_health ------------------------
roll_yml() { # VERSION COMMAND
	cat <<YML
stack: e2e/roll
services:
  roll:
    image: berth-test/busybox:latest
    command: $2
    instances: 4
    stop_grace_period: 3s
    deploy:
      min_health: 0.5
    environment:
      VERSION: "$1"
YML
}
QUICK="sh -c 'trap \"exit 0\" TERM; while true; do sleep 1; done'"
SLOW="sh -c 'trap \"sleep 1; exit 0\" TERM; while true; do sleep 1; done'"
roll_yml 1 "$QUICK" >"$TMP/roll1.yml"
roll_yml 2 "$SLOW" >"$TMP/roll2.yml"
roll_yml 3 "$SLOW" >"$TMP/roll3.yml"
out=$("$B" stack install "$TMP/roll1.yml" 2>&1)
check_eq "install a 4-instance ha service with min_health 0.5" "$?" 0
wait_for 10 at_least roll 4
: >"$TMP/samples"
touch "$TMP/sampling"
(
	while [ -e "$TMP/sampling" ]; do
		echo "$(count roll) $(curl -s -H "Authorization: Bearer $TOKEN" "$API/v1/services/default/roll/roll" | jq .running)" >>"$TMP/samples"
		sleep 0.1
	done
) &
sampler=$!
t0=$(date +%s%N)
out=$("$B" stack upgrade roll "$TMP/roll2.yml" 2>&1)
rc=$?
t_up=$(ms_since "$t0")
sleep 0.3
rm -f "$TMP/sampling"
wait "$sampler"
min_docker=$(awk '{ print $1 }' "$TMP/samples" | sort -n | head -1)
min_api=$(awk '$2 ~ /^[0-9]+$/ { print $2 }' "$TMP/samples" | sort -n | head -1)
echo "# rolling upgrade of 4 (min_health 0.5): $t_up ms, $(wc -l <"$TMP/samples") samples, min running: docker $min_docker, API $min_api"
check_eq "berth stack upgrade roll" "$rc" 0
check "the rollout was sampled (>= 5 samples)" test "$(wc -l <"$TMP/samples")" -ge 5
check "never fewer running containers than min_health allows (ceil(0.5*4) = 2)" test "${min_docker:-0}" -ge 2
check "the API never counts fewer running than min_health allows" test "${min_api:-0}" -ge 2
check_eq "all four end at the new rev" "$(dps --filter label=berth.stack=roll | awk '{ print $5 }' | sort | uniq -c | awk '{ print $1 "x" $2 }')" "4x2"
c=$(dps --filter label=berth.stack=roll | awk 'NR == 1 { print $6 }')
check_has "the new environment reached Docker" "$(docker inspect -f '{{json .Config.Env}}' "$c")" "VERSION=2"

# ---- 7. kill -9 of the master in the middle of a deploy ---------------------
api PUT /v1/stacks/default/roll "$(cat "$TMP/roll3.yml")" application/yaml
check_eq "upgrade roll to rev 3" "$STATUS" 200
api POST /v1/stacks/default/roll/deploy
did=$(jq -r .id <<<"$BODY")
check_eq "deploy triggered" "$STATUS" 202
# In the middle: once the first instances are being replaced (the rev-2
# containers take a second or two to stop).
midway() { [ "$(count roll -a --filter label=berth.rev=3)" -gt 0 ] || [ "$(count roll --filter label=berth.rev=2)" -lt 4 ]; }
wait_for 15 midway
st=$(curl -s -H "Authorization: Bearer $TOKEN" "$API/v1/stacks/default/roll/deploys/$did" | jq -r .state)
echo "# master killed with deploy $did $st; roll containers: $(dps -a --filter label=berth.stack=roll | awk '{ print "rev" $5 }' | sort | uniq -c | tr -s ' \n' ' ')"
check_eq "the deploy is under way when the master is killed" "$st" ongoing
master_stop KILL
for n in s1 e1 e2 e4; do eval "from_$n=\$(agent_log_size $n)"; done
sleep 1
t0=$(date +%s%N)
API_PORT_FIXED=$API_PORT AGENT_PORT_FIXED=$AP master_start "$D" "${MASTER_FLAGS[@]}" || exit 1
wait_for 45 sh -c "curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/stacks/default/roll/deploys/$did | jq -ne 'input | .state == \"success\" or .state == \"error\"'"
api GET "/v1/stacks/default/roll/deploys/$did"
st=$(jq -r .state <<<"$BODY")
echo "# after the restart deploy $did ended $st ($(jq -r '.error // "no error"' <<<"$BODY")) $(ms_since "$t0") ms after the restart"
case "$st" in success | error) ok "the interrupted deploy ends cleanly ($st)" ;;
*) notok "the interrupted deploy ends cleanly (still $st)" ;; esac
check_eq "no stack lost" "$("$B" stack ls --json | jq -r '[.[].name] | sort | join(" ")')" "roll stress web"
check_eq "all four nodes back" "$(online)" "e1 e2 e4 s1"
settled() { [ "$(moving web/web)" = 0 ] && [ "$(count roll)" -le 4 ]; }
wait_for 15 settled
# The evidence: every agent ran a converge pass on the latest desired set
# the restarted master sent it; then a second for what that pass launched
# to reach Docker.
all_synced() {
	local n f
	for n in s1 e1 e2 e4; do
		eval "f=\$from_$n"
		agent_synced "$n" "$f" || return 1
	done
}
check "every agent converged on the restarted master's latest desired set" \
    wait_for 20 all_synced
sleep 1
check_eq "no container duplicated per (service, instance)" "$(dups)" ""
if [ "$st" = success ]; then
	check_eq "the finished deploy left four roll containers at rev 3" \
	    "$(dps --filter label=berth.stack=roll | awk '{ print $5 }' | sort | uniq -c | awk '{ print $1 "x" $2 }')" "4x3"
fi
check_eq "web still runs 12, stress one per ephemeral node" \
    "$(count web) $(per_node stress s1 e1 e2 e4)" "12 s1=0 e1=1 e2=1 e4=1"

# ---- 8. stack rm --force removes every container -----------------------------
# web gets a deploy under way, then all three go with --force.
sed 's/instances: 12/instances: 12\n    environment:\n      V: "2"/' "$TMP/web.yml" >"$TMP/web2.yml"
api PUT /v1/stacks/default/web "$(cat "$TMP/web2.yml")" application/yaml
api POST /v1/stacks/default/web/deploy
t0=$(date +%s%N)
for s in web roll stress; do
	out=$("$B" stack rm --force "$s" 2>&1)
	check_eq "berth stack rm --force $s" "$?" 0
done
none_left() { [ -z "$(dps -a --filter label=berth.stack=web; dps -a --filter label=berth.stack=roll; dps -a --filter label=berth.stack=stress)" ]; }
wait_for 20 none_left
echo "# every container of the three stacks gone $(ms_since "$t0") ms after stack rm --force"
for s in web roll stress; do
	check_eq "no container of stack $s left (docker ps -a)" "$(count "$s" -a)" 0
	api GET "/v1/stacks/default/$s"
	check_eq "stack $s is gone from the API" "$STATUS" 404
done

for n in s1 e1 e2 e4; do agent_stop "$n"; done
master_stop
