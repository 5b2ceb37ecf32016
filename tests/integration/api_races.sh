#!/usr/bin/env bash
# api_races.sh - concurrent writes to one object answer 2xx or 404, never
# 500 (issue 21.10): upgrades, deploys, scales and the lifecycle (stop,
# start, restart, a service's removal) racing a forced delete of their
# stack, round after round. Each request's status is kept; a 5xx
# fails the script with the request and the master's answer.
. "$(dirname "$0")/../lib.sh"

D=$TMP/data
master_start "$D" || exit 1

stack_yaml() {	# stack_yaml V
	cat <<YML
stack: races/r
services:
  web:
    image: berth-test/busybox:latest
    instances: 2
    environment:
      V: "$1"
  db:
    image: berth-test/busybox:latest
    environment:
      V: "$1"
YML
}

# req N METHOD PATH [BODY]: one request in the background; its status and
# answer go to $TMP/req.N.
req() {
	local n=$1 method=$2 path=$3 args=()
	if [ $# -ge 4 ]; then
		case $4 in
		'{'*) args=(-H 'Content-Type: application/json') ;;
		*) args=(-H 'Content-Type: application/yaml') ;;
		esac
		args+=(--data-binary "$4")
	fi
	curl -s -m 20 -o "$TMP/req.$n.body" -w "%{http_code} $method $path\n" \
	    -X "$method" -H "Authorization: Bearer $TOKEN" "${args[@]}" \
	    "$API$path" >"$TMP/req.$n" 2>&1
}

ROUNDS=8
bad="" n_req=0 n_404=0 n_409=0 n_2xx=0 won=""
for round in $(seq $ROUNDS); do
	api POST /v1/grids/default/stacks "$(stack_yaml "$round.0")" application/yaml
	if [ "$STATUS" != 201 ]; then
		notok "round $round: install the stack ($STATUS $BODY)"
		break
	fi
	rm -f "$TMP"/req.*
	pids=""
	if [ $((round % 2)) = 1 ]; then
		# The lifecycle first (stop, restart, start, a service's
		# removal): each reads the stack, then writes, then reads
		# its answer, and the deletes below come in between.
		req l1 POST /v1/stacks/default/r/stop &
		pids="$pids $!"
		req l2 POST /v1/services/default/r/web/restart &
		pids="$pids $!"
		req l3 POST /v1/stacks/default/r/start &
		pids="$pids $!"
		req l4 DELETE "/v1/services/default/r/db?force=1" &
		pids="$pids $!"
	fi
	# 16 at once: 8 upgrades and 8 forced deletes, interleaved in odd
	# rounds and the upgrades first in even ones (an upgrade takes longer:
	# the master parses it), plus a deploy and a scale in even rounds.
	for i in $(seq 0 15); do
		if [ $((round % 2)) = 1 -a $((i % 2)) = 0 ] ||
		    [ $((round % 2)) = 0 -a "$i" -lt 8 ]; then
			req "$i" PUT /v1/stacks/default/r "$(stack_yaml "$round.$i")" &
		else
			req "$i" DELETE "/v1/stacks/default/r?force=1" &
		fi
		pids="$pids $!"
	done
	if [ $((round % 2)) = 0 ]; then
		req d POST /v1/stacks/default/r/deploy &
		pids="$pids $!"
		req s POST /v1/services/default/r/web/scale '{"instances":3}' &
		pids="$pids $!"
	fi
	wait $pids	# not the master
	for f in "$TMP"/req.*; do
		case $f in *.body) continue ;; esac
		read -r code what <"$f"
		n_req=$((n_req + 1))
		case $code:$f in
		2??:*) n_2xx=$((n_2xx + 1)); won="$won ${what%% *}" ;;
		404:*) n_404=$((n_404 + 1)) ;;
		# Lifecycle requests conflict among themselves (a deploy in
		# progress, a restart of a service just stopped): 409.
		409:*.l?) n_409=$((n_409 + 1)) ;;
		*) bad="$bad [$code $what: $(head -c 200 "$f.body")]" ;;
		esac
	done
	# Whatever won, the stack is either gone or whole; clear it.
	api DELETE "/v1/stacks/default/r?force=1"
	case $STATUS in 204 | 404) ;; *) bad="$bad [cleanup DELETE: $STATUS $BODY]" ;; esac
done
echo "# $n_req requests in $ROUNDS rounds: $n_2xx 2xx ($(xargs -n1 <<<"$won" | sort | uniq -c | xargs)), $n_404 404, $n_409 409 (lifecycle conflicts)"
check_eq "upgrades, deploys, scales and the lifecycle racing forced deletes answer 2xx or 404, never 5xx" "$bad" ""
check "some requests won and some found the stack gone" test "$n_2xx" -gt 0 -a "$n_404" -gt 0
api GET /v1/grids/default/stacks
check_eq "no stack left behind" "$(jq length <<<"$BODY")" 0
master_stop
