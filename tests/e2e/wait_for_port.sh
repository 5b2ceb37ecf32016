#!/usr/bin/env bash
# wait_for_port.sh - deploy.wait_for_port on a real master, a real agent
# and the real Docker Engine: an instance whose port is still closed is
# "starting" (and its deploy ongoing) until the port answers inside the
# container's own network namespace; a rolling upgrade (min_health 0.5)
# never has fewer than one instance running and each replacement waits for
# its port; a service without wait_for_port is running right after start.
. "$(dirname "$0")/../lib.sh"

"$ROOT/scripts/test-image.sh" >/dev/null || { notok "build the local test image"; exit 1; }
D=$TMP/data
master_start "$D" || exit 1
# Settling is not what this script measures: running once the port answers.
api PATCH /v1/grids/default '{"settings":{"instance_settle_s":0}}'
B=$BIN/berth
agent_start w1 "az=a"
wait_for 15 sh -c '[ "$(curl -s -H "Authorization: Bearer '"$TOKEN"'" '"$API"'/v1/nodes/default/w1 | jq -r .status)" = online ]'
check_eq "the agent is online" "$(node_status w1)" online

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
# states STACK SERVICE: "instance:rev:state ..." from the API, by instance.
states() {
	curl -s -H "Authorization: Bearer $TOKEN" \
	    "$API/v1/services/default/$1/$2/containers" |
	    jq -r '[sort_by(.instance)[] | "\(.instance):\(.rev):\(.state)"] | join(" ")'
}
deploy_state() {
	"$B" stack ls --json | jq -r --arg s "$1" '.[] | select(.name == $s) | .deploy_state'
}
# sample STACK SERVICE FILE: every 0.1 s "epoch-ms states deploy_state" into
# FILE until FILE.stop exists.
sample() {
	local stack=$1 svc=$2 out=$3
	: >"$out"
	while [ ! -e "$out.stop" ]; do
		echo "$(date +%s%3N) $(states "$stack" "$svc") $(deploy_state "$stack")" >>"$out"
		sleep 0.1
	done
}

web_yml() { # INSTANCES VERSION
	cat <<YML
stack: e2e/wfp
services:
  web:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; sleep 4; exec httpd -f -p 8080'
    instances: $1
    stop_grace_period: 2s
    deploy:
      wait_for_port: 8080
      min_health: 0.5
    environment:
      VERSION: "$2"
YML
}

# ---- 1. install: "starting" while the port is closed, then running ---------
web_yml 1 1 >"$TMP/web1.yml"
sample wfp web "$TMP/s1" &
sampler=$!
t0=$(date +%s%N)
out=$(timeout 60 "$B" stack install "$TMP/web1.yml" 2>&1)
rc=$?
t_install=$(ms_since "$t0")
sleep 0.5
touch "$TMP/s1.stop"
wait "$sampler"
check_eq "install a service with wait_for_port 8080" "$rc" 0
c=$(containers --filter label=berth.stack=wfp)
check_eq "one container" "$(wc -w <<<"$c")" 1
seen_starting=$(grep -c ' 1:1:starting ongoing$' "$TMP/s1")
first_running=$(awk '$2 == "1:1:running" { print $1; exit }' "$TMP/s1")
first_starting=$(awk '$2 == "1:1:starting" { print $1; exit }' "$TMP/s1")
last_starting=$(awk '$2 == "1:1:starting" { t = $1 } END { print (t == "" ? 0 : t) }' "$TMP/s1")
started=$(date -d "$(docker inspect -f '{{.State.StartedAt}}' "$c")" +%s%3N)
echo "# install with wait_for_port: $t_install ms; the API said starting in $seen_starting samples, for $((${first_running:-0} - ${first_starting:-0})) ms; running $((${first_running:-0} - started)) ms after the container started (its port opens after 4000 ms)"
check "the API shows 'starting' with the deploy ongoing while the port is closed (>= 2 samples; their number depends on the load)" \
    test "$seen_starting" -ge 2
check "'running' only after the port opened (>= 3900 ms after the start)" \
    test $((${first_running:-0} - started)) -ge 3900
check "and soon after (< 4000 + 1500 ms)" test $((${first_running:-0} - started)) -lt 5500
check "never 'starting' again once running" test "$last_starting" -lt "${first_running:-0}"
check "the deploy waited for the port (install took >= 4000 ms)" test "$t_install" -ge 4000
check "the deploy ended well within the bound (< 20000 ms)" test "$t_install" -lt 20000
check_eq "then running" "$(states wfp web)" "1:1:running"
check_eq "the deploy succeeded" "$(deploy_state wfp)" success
check_has "httpd answers inside the container" "$(docker exec "$c" sh -c 'printf "GET / HTTP/1.0\r\n\r\n" | nc -w 2 127.0.0.1 8080' 2>&1)" "HTTP/1"
seen=$(grep -h "${c:0:12}: port 8080 answers" "$TMP/agents/w1.log" | head -1 | cut -d' ' -f1)
probe_ms=$(($(date -d "${seen:-now}" +%s%3N) - started))
echo "# the agent's probe passed $probe_ms ms after the container started"
check "the agent logged the port answering" test -n "$seen"
check "the agent probed every 250 ms (passed < 4000 + 800 ms after the start)" test "$probe_ms" -lt 4800

# The probes ran in throwaway threads: every thread of the agent is still
# in the agent's own network namespace.
apid=$(cat "$TMP/agents/w1.pid")
own=$(readlink "/proc/$apid/ns/net")
other=$(for t in /proc/$apid/task/*; do readlink "$t/ns/net"; done | grep -Fxvc "$own")
check_eq "no agent thread stayed in a container's namespace" "$other" 0

# ---- 2. rolling upgrade: min_health 0.5 of 2, each replacement waits ------
web_yml 2 1 >"$TMP/web2.yml"
out=$(timeout 60 "$B" stack upgrade wfp "$TMP/web2.yml" 2>&1)
check_eq "scale to 2 instances (both wait for their port)" "$?" 0
R=$(states wfp web | sed 's/^1:\([0-9]*\):.*/\1/')
check_eq "both running" "$(states wfp web)" "1:$R:running 2:$R:running"
NR=$((R + 1))
web_yml 2 2 >"$TMP/web3.yml"
sample wfp web "$TMP/s2" &
sampler=$!
t0=$(date +%s%N)
out=$(timeout 90 "$B" stack upgrade wfp "$TMP/web3.yml" 2>&1)
rc=$?
t_roll=$(ms_since "$t0")
sleep 0.3
touch "$TMP/s2.stop"
wait "$sampler"
check_eq "rolling upgrade (new environment)" "$rc" 0
min_running=$(awk '{ n = 0; for (i = 2; i <= NF; i++) if ($i ~ /:running$/) n++; print n }' "$TMP/s2" | sort -n | head -1)
st1=$(grep -c " 1:$NR:starting" "$TMP/s2")
st2=$(grep -c " 2:$NR:starting" "$TMP/s2")
both=$(grep -c " 1:$NR:starting 2:$NR:starting" "$TMP/s2")
echo "# rolling upgrade of 2 (min_health 0.5, wait_for_port): $t_roll ms, $(wc -l <"$TMP/s2") samples, min running $min_running, new instance 1 starting in $st1 samples, instance 2 in $st2"
check "the API never showed fewer than 1 instance running" test "${min_running:-0}" -ge 1
check "instance 1's replacement waited for its port (starting >= 2 samples)" test "$st1" -ge 2
check "instance 2's replacement waited for its port (starting >= 2 samples)" test "$st2" -ge 2
check_eq "one replacement at a time (never both starting)" "$both" 0
check "the rollout took at least two port waits (>= 8000 ms)" test "$t_roll" -ge 8000
check_eq "both running at the new rev" "$(states wfp web)" "1:$NR:running 2:$NR:running"
check_eq "the upgrade's deploy succeeded" "$(deploy_state wfp)" success
c=$(containers --filter label=berth.stack=wfp | cut -d' ' -f1)
check_has "the new environment reached Docker" "$(docker inspect -f '{{json .Config.Env}}' "$c")" "VERSION=2"

# ---- 3. a restart of the container is proven again ---------------------------
c=$(docker ps -q --filter label=berth.stack=wfp --filter label=berth.instance=1 --filter "label=berth.node=$(node_id w1)")
docker restart -t 1 "$c" >/dev/null
wait_for 15 sh -c "curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/services/default/wfp/web/containers | jq -ne 'input | .[] | select(.instance == 1 and .state == \"starting\")'"
check "a restarted container is 'starting' again" test $? = 0
wait_for 20 sh -c "curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/services/default/wfp/web/containers | jq -ne 'input | [.[] | select(.state == \"running\")] | length == 2'"
check "and running once its port answers again" test $? = 0

# ---- 4. no wait_for_port: running right after start, as before --------------
cat >"$TMP/plain.yml" <<'YML'
stack: e2e/plain
services:
  plain:
    image: berth-test/busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    instances: 1
    stop_grace_period: 2s
YML
sample plain plain "$TMP/s3" &
sampler=$!
t0=$(date +%s%N)
out=$(timeout 60 "$B" stack install "$TMP/plain.yml" 2>&1)
rc=$?
t_plain=$(ms_since "$t0")
touch "$TMP/s3.stop"
wait "$sampler"
echo "# install without wait_for_port: $t_plain ms"
check_eq "install a service without wait_for_port" "$rc" 0
check_eq "it is running" "$(states plain plain)" "1:1:running"
check_eq "it was never reported starting" "$(grep -c starting "$TMP/s3")" 0
check "its deploy did not wait (< 4000 ms)" test "$t_plain" -lt 4000

"$B" stack rm --force wfp >/dev/null
"$B" stack rm --force plain >/dev/null
wait_for 20 sh -c '[ -z "$(docker ps -aq --filter label=berth.node='"$(node_id w1)"')" ]'
check_eq "stack rm removes every container" "$(docker ps -aq --filter "label=berth.node=$(node_id w1)" | wc -l)" 0
agent_stop w1
master_stop
