#!/usr/bin/env bash
# cli.sh - the berth CLI against a real master: tables, --json, exit
# statuses and one-line reasons.
. "$(dirname "$0")/../lib.sh"

D=$TMP/data
master_start "$D" || exit 1
B=$BIN/berth

out=$("$B" --help)
check_has "berth --help lists the commands" "$out" "stack install FILE [--name S]"
"$B" >/dev/null 2>&1
check_eq "berth with no command exits 2" "$?" 2
err=$("$B" frobnicate 2>&1)
check_eq "unknown command: exit 1" "$?" 1
check_has "unknown command: one-line reason" "$err" 'berth: unknown command "frobnicate"'

out=$("$B" grid ls)
check_eq "grid ls: exit 0" "$?" 0
check_has "grid ls: header" "$(head -1 <<<"$out")" "NAME     NODES  ONLINE  STACKS  HEARTBEAT  OFFLINE-AFTER  REMOVAL"
check_has "grid ls: default grid row" "$out" "default  0      0       0       5s         15s            1200s"
out=$("$B" grid create staging)
check_has "grid create prints the token" "$out" "token: "
out=$("$B" grid ls --json)
check_eq "grid ls --json is a JSON array" "$(jq -r '[.[].name]|join(",")' <<<"$out")" "default,staging"
"$B" grid set staging offline_after_s=20 dry_run=true >/dev/null
check_eq "grid set changes settings" "$("$B" grid show staging --json | jq -c '[.settings.offline_after_s,.settings.dry_run]')" "[20,true]"
err=$("$B" grid set staging offline_after_s=soon 2>&1)
check_eq "grid set with a bad value fails" "$?" 1
check_has "grid set says why" "$err" 'offline_after_s: "soon" is not a duration'
"$B" grid set staging ephemeral_removal_s=20m offline_after_s=1m30s >/dev/null
check_eq "grid set reads durations by the setting's unit" "$("$B" grid show staging --json | jq -c '[.settings.ephemeral_removal_s,.settings.offline_after_s]')" "[1200,90]"
"$B" grid set staging offline_after_s=20 >/dev/null
"$B" grid set staging network_cidr=10.64.0.0/12 >/dev/null
check_has "grid show prints a string setting as set" \
    "$("$B" grid show staging | grep network_cidr)" "10.64.0.0/12"
err=$("$B" grid set staging warp=1 2>&1)
check_has "grid set unknown key: the master's reason" "$err" 'berth: unknown setting "warp"'
out=$("$B" grid show staging)
check_has "grid show" "$out" "offline_after_s        20"
t1=$("$B" grid token staging)
check "grid token prints 64 hex" grep -Eq '^[0-9a-f]{64}$' <<<"$t1"
t2=$("$B" grid token staging --rotate)
check "grid token --rotate prints a new token" test "$t1" != "$t2"
check_eq "grid token shows the rotated token" "$("$B" grid token staging)" "$t2"
err=$("$B" grid create staging 2>&1)
check_eq "grid create existing: exit 1" "$?" 1
check_eq "grid create existing: one line" "$err" 'berth: grid "staging" exists'
err=$("$B" grid show nope 2>&1)
check_eq "grid show unknown: one line" "$err" 'berth: no grid "nope"'
out=$("$B" grid events staging)
check_has "grid events table" "$out" "grid.token"
check_eq "grid events --json" "$("$B" grid events staging --json | jq -r '.[0].type')" grid.create
"$B" grid rm staging >/dev/null
check_eq "grid rm" "$("$B" grid ls --json | jq length)" 1

out=$("$B" node ls)
check_has "node ls on an empty grid prints the header" "$out" "NAME  STATUS  LABELS"
check_eq "node ls --json on an empty grid" "$("$B" node ls --json)" "[]"
err=$("$B" node show ghost 2>&1)
check_eq "node show unknown: one line" "$err" 'berth: no node "ghost" in grid default'
err=$("$B" node label ghost "bad label" 2>&1)
check_eq "node label unknown node fails" "$?" 1
out=$("$B" service ls)
check_has "service ls header" "$out" "SERVICE  STATE  STRATEGY  INSTANCES"
err=$("$B" service show nostack 2>&1)
check_has "service show needs STACK/SVC" "$err" 'is not STACK/SERVICE'
err=$("$B" --grid nope node ls 2>&1)
check_eq "--grid selects the grid" "$err" 'berth: no grid "nope"'

# ---- the command table: help, refusals, option syntax ------------------------
out=$("$B" stack install --help)
check_eq "stack install --help: exit 0" "$?" 0
check_eq "stack install --help: usage first" "$(head -1 <<<"$out")" "usage: berth stack install FILE [--name S] [-v K=V]... [--values-from F]"
check_has "stack install --help: its option, named as in the usage" "$out" "--name S"
check_has "stack install --help: the global options" "$out" "--grid G"
check_eq "berth help stack install is the same" "$("$B" help stack install)" "$out"
out=$("$B" stack rm --help)
check_has "stack rm --help: -f is --force there" "$out" "-f, --force"
check_has "stack rm --help: its alias" "$out" "berth stack remove"
out=$("$B" grid set --help)
check_has "grid set --help: the settings (help hook)" "$out" "rebalance_settle_s"
check_has "grid set --help: every one of them" "$out" "move_cooldown_s"
out=$("$B" stack --help)
check_eq "stack --help: exit 0" "$?" 0
check_has "stack --help: the group's commands" "$out" "stack upgrade S FILE"
check "stack --help: no other group's" test "${out/grid ls/}" = "$out"
# Every "GROUP VERB" line of berth --help: its --help works and starts
# with its usage (the listing and the dispatch are one table).
fails="" n=0
for cmd in $("$B" --help | awk '/^  (grid|node|stack|service) [a-z]/ { print $1 "/" $2 }'); do
	n=$((n + 1))
	u=$("$B" ${cmd/\// } --help 2>&1) && [ "${u#usage: berth ${cmd/\// }}" != "$u" ] ||
	    fails="$fails $cmd"
done
check "berth --help lists commands ($n)" test "$n" -ge 20
check_eq "every command listed by --help has its own --help" "$fails" ""
check "berth help: exit 0" "$B" help

err=$("$B" stack ls --force 2>&1)
check_eq "refused option: exit 1" "$?" 1
check_eq "refused option: names the command" "$err" "berth: stack ls does not take --force (see berth stack ls --help)"
err=$(BERTH_MASTER=http://127.0.0.1:1 "$B" node show -f ghost 2>&1)
check_eq "refused short option: before any request" "$err" "berth: node show does not take -f (see berth node show --help)"
err=$("$B" --force stack ls 2>&1)
check_eq "refused option before the command: still refused" "$err" "berth: stack ls does not take --force (see berth stack ls --help)"
err=$("$B" grid ls --frob 2>&1)
check_eq "unknown option: one line" "$err" "berth: unknown option --frob (see berth grid ls --help)"
err=$("$B" grid ls --json=yes 2>&1)
check_eq "a flag given a value: refused" "$err" "berth: --json takes no value"
err=$("$B" grid ls --grid 2>&1)
check_eq "an option without its value: refused" "$err" "berth: --grid needs a value"
err=$("$B" stack upgrade onlyone 2>&1)
check_eq "too few arguments: exit 1" "$?" 1
check_eq "too few arguments: names the missing one, shows the usage" "$err" "berth: stack upgrade needs FILE (usage: berth stack upgrade S FILE [-v K=V]... [--values-from F] [--values-to F] [--no-deploy] [--dry-run] [--yes])"
err=$("$B" grid ls extra 2>&1)
check_eq "too many arguments: names the extra one" "$err" 'berth: grid ls: unexpected argument "extra" (usage: berth grid ls)'

out=$("$B" grid frob 2>"$TMP/err")
check_eq "unknown verb: exit 1" "$?" 1
check_eq "unknown verb: nothing on stdout" "$out" ""
check_eq "unknown verb: the reason first" "$(head -1 "$TMP/err")" 'berth: unknown command "grid frob"'
check_has "unknown verb: then the group's help" "$(cat "$TMP/err")" "grid cloud-config G [--label k=v ...]"

err=$("$B" node show -f 2>&1)
check_eq "without --, -f is an option" "$err" "berth: node show does not take -f (see berth node show --help)"
err=$("$B" node show -- -f 2>&1)
check_eq "after --, -f is an argument" "$err" 'berth: no node "-f" in grid default'
err=$("$B" node show -- --json 2>&1)
check_eq "after --, --json is an argument" "$err" 'berth: no node "--json" in grid default'

err=$("$B" node ls --grid=nope 2>&1)
check_eq "--grid=G after the command" "$err" 'berth: no grid "nope"'
err=$("$B" node ls --grid nope 2>&1)
check_eq "--grid G after the command" "$err" 'berth: no grid "nope"'
err=$(BERTH_GRID=nope "$B" node ls 2>&1)
check_eq "BERTH_GRID selects the grid" "$err" 'berth: no grid "nope"'
out=$(BERTH_GRID=nope "$B" node ls --grid=default --json)
check_eq "--grid wins over BERTH_GRID" "$out" "[]"
check_eq "options before the group" "$("$B" --json grid ls)" "$("$B" grid ls --json)"
check_eq "a group alone runs its ls" "$("$B" grids --json)" "$("$B" grid ls --json)"
timeout 2 "$B" grid events default -f >/dev/null 2>&1
check_eq "grid events -f is --follow (still running after 2s)" "$?" 124

check_eq "berth version" "$("$B" version)" "berth 0.1.0"
check_eq "berth --version" "$("$B" --version)" "berth 0.1.0"
check_eq "berth version --json" "$("$B" version --json | jq -r .version)" "0.1.0"

err=$(BERTH_TOKEN=wrong "$B" grid ls 2>&1)
check_eq "wrong token: exit 1" "$?" 1
check_has "wrong token: says so" "$err" "invalid operator token"
mkdir -p "$TMP/elsewhere"
err=$(cd "$TMP/elsewhere" && BERTH_TOKEN= "$B" grid ls 2>&1)
check_has "no token: says how to give one" "$err" "set BERTH_TOKEN"
out=$(cd "$TMP/elsewhere" && BERTH_TOKEN= BERTH_DATA_DIR=$D "$B" grid ls --json | jq -r '.[0].name')
check_eq "token falls back to \$BERTH_DATA_DIR/operator.token" "$out" default
err=$(BERTH_MASTER=http://127.0.0.1:1 "$B" grid ls 2>&1)
check_has "master down: one-line reason" "$err" "berth: cannot reach the master at http://127.0.0.1:1"
master_stop
