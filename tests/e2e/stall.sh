#!/usr/bin/env bash
# stall.sh - the master frozen for 70 s (SIGSTOP), then resumed: every
# agent is back online within a minute of SIGCONT (issue 21.0), including
# one started while the master was frozen. Before the fix an agent whose
# session had hung up (lws: 40 s without a frame) reconnected into the
# frozen master's listen queue, its upgrade was never answered, and it
# waited there forever.
#
# The agents run with the shipped connect deadline (BERTH_CONNECT_TIMEOUT_S
# 15 s per step) and backoff cap (30 s); the master with its shipped
# liveness settings. The only long test of the suite: about 80 s,
# mostly the 70 s stall, which is the scenario of the issue.
# Runs in make test's background lane beside the other e2e scripts (it
# mostly waits, and reads and touches only its own nodes' containers):
# test-lane: side
. "$(dirname "$0")/../lib.sh"

STALL_S=${STALL_S:-70}
D=$TMP/data
master_start "$D" || exit 1
online() {
	curl -s -m 5 -H "Authorization: Bearer $TOKEN" "$API/v1/grids/default/nodes" |
	    jq '[.[] | select(.status == "online")] | length'
}
# The real defaults, not lib.sh's shortened backoff.
DEFAULTS=(BERTH_BACKOFF_MAX_S=30 BERTH_CONNECT_TIMEOUT_S=15)
agent_start s1 "stall=yes" "${DEFAULTS[@]}"
agent_start s2 "stall=yes" "${DEFAULTS[@]}"
wait_for 30 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/v1/grids/default/nodes | jq '[.[] | select(.status == \"online\")] | length')\" = 2 ]"
check_eq "two agents online before the stall" "$(online)" 2
from1=$(agent_log_size s1)
from2=$(agent_log_size s2)

kill -STOP "$MASTER_PID"
at_exit "kill -CONT $MASTER_PID"
t_stop=$SECONDS
echo "# master stopped (SIGSTOP) for $STALL_S s"
# A new agent while the master is frozen: it must join once it resumes.
sleep 10
agent_start s3 "stall=yes" "${DEFAULTS[@]}"
sleep $((STALL_S - (SECONDS - t_stop)))
# The evidence that the fix is what brings them back: with the shipped
# deadline each agent gave up unanswered attempts during the stall.
for a in s1 s2 s3; do
	from=0
	[ $a = s1 ] && from=$from1
	[ $a = s2 ] && from=$from2
	n=$(tail -c +"$((from + 1))" "$TMP/agents/$a.log" | grep -cE 'no answer to the websocket upgrade (within 15 s|after [0-9]+ s \(the connection.s own timeout\)); giving up this attempt')
	check "$a: gave up unanswered attempts during the stall ($n)" test "$n" -ge 1
done
kill -CONT "$MASTER_PID"
t_cont=$SECONDS
echo "# master resumed (SIGCONT) after $((t_cont - t_stop)) s"
# Wall time, not wait_for's count of polls: the bound is the issue's minute.
until [ "$(online)" = 3 ] || [ $((SECONDS - t_cont)) -ge 60 ]; do
	sleep 0.5
done
if [ "$(online)" = 3 ]; then
	ok "all three agents online within a minute of SIGCONT ($((SECONDS - t_cont)) s)"
else
	notok "all three agents online within a minute of SIGCONT (online: $(online); $(api_jq /v1/grids/default/nodes -c '[.[] | {name, status}]'))"
	for a in s1 s2 s3; do tail -5 "$TMP/agents/$a.log" | sed "s/^/# $a: /"; done
fi
check_eq "the agent started during the stall joined as a node" "$(node_status s3)" online
master_stop
