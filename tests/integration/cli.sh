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
check_has "service ls header" "$out" "SERVICE  STRATEGY  INSTANCES"
err=$("$B" service show nostack 2>&1)
check_has "service show needs STACK/SVC" "$err" 'is not STACK/SERVICE'
err=$("$B" --grid nope node ls 2>&1)
check_eq "--grid selects the grid" "$err" 'berth: no grid "nope"'

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
