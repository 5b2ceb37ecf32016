#!/usr/bin/env bash
# nodegroup_template.sh - a node group's template learned from its first
# node (docs/autoscaling.md, "The node template"), on a real master with
# the exec provider; the "machine" that joins is wsprobe holding the
# machine's single-use join token (the program writes it to a file), so
# no Docker. Demand: two one-cpu instances in a grid without nodes.
#  1. A group without cpus takes no demand: one nodegroup.no_template
#     event however many rounds, a wait decision in `berth nodegroup
#     plan`, and no create call.
#  2. min=1 launches a machine anyway; when it joins and reports 2 cpus
#     and 1 GiB, the group's cpus and memory become those, with one
#     nodegroup.template event naming the node; a second node_info (a
#     reconnect) teaches nothing more.
#  3. Sized with the learned template: demand of 4 one-cpu instances,
#     2 on the joined node, is served by exactly one more machine.
. "$(dirname "$0")/../lib.sh"

D=$TMP/data
master_start "$D" || exit 1
B=$BIN/berth
PROBE=$ROOT/$BUILD/tools/wsprobe
P=$TMP/prov
cat >"$P" <<EOF2
#!/bin/sh
in=\$(cat)
m=\$(printf '%s' "\$in" | jq -r .machine)
echo "\$1 \$m" >>"$TMP/calls"
case "\$1" in
create)
	printf '%s' "\$in" | jq -r .token >"$TMP/token-\$m"
	printf '{"id": "i-%s"}\n' "\$m" ;;
delete) echo '{}' ;;
list) echo '{"instances": []}' ;;
esac
EOF2
chmod +x "$P"
creates() { grep -c '^create ' "$TMP/calls" 2>/dev/null || echo 0; }
events() { api_jq "/v1/grids/default/events?type=$1&limit=100" length; }

"$B" nodegroup create t --provider exec --max 3 --set exec_program="$P" \
    --set provision_timeout_s=60 --set list_interval_s=0 >/dev/null
check_eq "a new group's template is not set" \
    "$(api_jq /v1/nodegroups/default/t '"\(.settings.cpus) \(.settings.memory)"')" "0 0"
api POST /v1/grids/default/stacks '{"stack":"t/web","services":{"web":{"image":"busybox","instances":2,"cpus":1}}}'
api POST /v1/stacks/default/web/deploy

# ---- 1. no template: no scale from zero --------------------------------------
check "one nodegroup.no_template event" wait_for 20 eval '[ "$(events nodegroup.no_template)" = 1 ]'
sched_wait_round
check_eq "said once, however many rounds" "$(events nodegroup.no_template)" 1
check_has "it names the group and the fix" \
    "$(api_jq '/v1/grids/default/events?type=nodegroup.no_template' '.[0].message')" "berth nodegroup set t cpus=N"
check_eq "no create call" "$(creates)" 0
check_has "berth nodegroup plan says why" "$("$B" nodegroup plan 2>&1)" "no node template"

# ---- 2. min=1 launches; the first node teaches the template ------------------
"$B" nodegroup set t min=1 >/dev/null
check "min=1 launches one machine without a template" wait_for 20 eval '[ "$(creates)" = 1 ]'
M=$(sed -n 's/^create //p' "$TMP/calls" | head -1)
check "the program got its join token" wait_for 5 test -s "$TMP/token-$M"
NID=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
INFO='{"type":"node_info","hostname":"h","cpus":2,"memory":1073741824,"addresses":["10.0.0.9"],"docker_version":"20.10","os":"Debian","kernel":"6.1"}'
"$PROBE" --port "$AGENT_PORT" --stay 120 --auto-state -H "Berth-Protocol: 1" \
    -H "Berth-Node-Id: $NID" -H "Berth-Node-Name: x" -H "Berth-Agent-Version: test" \
    -H "Berth-Grid-Token: $(cat "$TMP/token-$M")" --send "$INFO" >"$TMP/probe.log" 2>&1 &
at_exit "kill $! 2>/dev/null"
check "the machine joins" wait_for 20 api_jq "/v1/nodegroups/default/t/machines" '.[0].state == "joined"' -e
check "the group learned cpus 2 and 1 GiB from it" \
    wait_for 10 api_jq /v1/nodegroups/default/t '.settings.cpus == 2 and .settings.memory == 1073741824' -e
check_eq "one nodegroup.template event" "$(events nodegroup.template)" 1
check_has "naming the node" \
    "$(api_jq '/v1/grids/default/events?type=nodegroup.template' '.[0].message')" "from its first node $M: 2 cpu(s), 1073741824 bytes"

# ---- 3. sized with it ---------------------------------------------------------
check "the two instances land on the joined node" \
    wait_for 20 api_jq "/v1/nodes/default/$M" '.instances == 2' -e
sched_wait_round
check_eq "nothing more is launched for demand the node holds" "$(creates)" 1
api PUT /v1/stacks/default/web '{"stack":"t/web","services":{"web":{"image":"busybox","instances":4,"cpus":1}}}'
check_eq "the stack is upgraded to 4 instances" "$STATUS" 200
api POST /v1/stacks/default/web/deploy
check "two more one-cpu instances: one more 2-cpu machine" wait_for 20 eval '[ "$(creates)" = 2 ]'
sched_wait_round
check_eq "and no third" "$(creates)" 2
check_eq "the template stays as learned" \
    "$(api_jq /v1/nodegroups/default/t '"\(.settings.cpus) \(.settings.memory)"') $(events nodegroup.template)" "2 1073741824 1"
master_stop
