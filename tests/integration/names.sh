#!/usr/bin/env bash
# names.sh - the grid's names on the master (docs/dns.md), without Docker:
# a simulated agent reports its containers running at grid addresses;
# every agent then gets a "names" frame listing each service of the grid
# in its DNS form, whether it is its stack's expose, its links with their
# aliases and the addresses of its running instances; the frame follows
# a scale-down and a stack's removal; a bad address in a state report
# closes the session naming the field, and nothing of it is kept.
. "$(dirname "$0")/../lib.sh"

PROBE=$ROOT/$BUILD/tools/wsprobe
D=$TMP/data
master_start "$D" || exit 1
GT=$(cat "$D/grid-default.token")
sim() { # NAME [ARGS...]: a simulated agent for a minute
	local id n=$1
	shift
	id=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
	"$PROBE" --port "$AGENT_PORT" --stay 60 --auto-state "$@" \
	    -H "Berth-Protocol: 1" -H "Berth-Node-Id: $id" \
	    -H "Berth-Node-Name: $n" -H "Berth-Grid-Token: $GT" \
	    >"$TMP/$n.out" 2>&1 &
	echo $! >"$TMP/$n.pid"
}
at_exit 'kill -9 $(cat "$TMP"/*.pid 2>/dev/null) 2>/dev/null'
sim s1 --auto-address 10.81.0
check "the simulated agent is online" wait_for 20 api_jq /v1/grids/default/nodes \
    '[.[] | select(.status == "online")] | length == 1' -e

cat >"$TMP/wp.yml" <<'YML'
stack: wp
expose: Web_Front
services:
  db:
    image: berth-test/busybox:latest
    instances: 2
  Web_Front:
    image: berth-test/busybox:latest
    links:
      - db:database
YML
"$BIN/berth" stack install "$TMP/wp.yml" >/dev/null
check_eq "install a stack with a link and an expose" "$?" 0
# last: the newest names frame s1 got, as JSON.
last() { grep '^frame {"domain"' "$TMP/s1.out" | grep '"type":"names"' | tail -1 | sed 's/^frame //'; }
svc() { last | jq -c --arg s "$1" '.services[] | select(.service == $s)'; }
addrs() { svc "$1" | jq -c '[.instances[].address] | sort'; }
addrs_are() { [ "$(addrs "$1")" = "$2" ]; }
check "the names frame lists db's two instances" wait_for 20 \
    addrs_are db '["10.81.0.1","10.81.0.2"]'
check_eq "... in the grid's domain" "$(last | jq -r .domain)" default.berth.local
check_eq "the service's name in its DNS form, exposed" \
    "$(svc web-front | jq -c '[.stack, .exposed]')" '["wp",true]'
check_eq "its link with the alias" "$(svc web-front | jq -c .links)" \
    '[{"alias":"database","service":"db","stack":"wp"}]'
check_eq "db is not exposed, has no links" "$(svc db | jq -c '[.exposed, .links]')" '[false,[]]'

api PATCH /v1/services/default/wp/db '{"instances":1}'
check_eq "scale db to 1" "$STATUS" 200
check "the names frame follows: db has one address" wait_for 20 \
    addrs_are db '["10.81.0.1"]'

"$BIN/berth" stack rm --force wp >/dev/null
no_services() { [ "$(last | jq '.services | length')" = 0 ]; }
check "the stack's removal empties the names" wait_for 20 no_services

# A state report with a bad address: the session is closed naming the
# field, and no instance keeps it.
sim s2 --send '{"type":"state","generation":0,"containers":[{"service_id":1,"instance":1,"rev":1,"state":"running","address":"10.81.0.300"}]}'
check "a bad address closes the session with 4010" wait_for 20 \
    grep -q '^close 4010 .*containers\[0\]\.address: expected an IPv4 address' "$TMP/s2.out"
check_eq "no instance holds it" \
    "$(sqlite3 "$D/berth.db" "SELECT count(*) FROM instances WHERE address = '10.81.0.300'")" 0
master_stop TERM
