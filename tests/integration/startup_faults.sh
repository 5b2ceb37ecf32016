#!/usr/bin/env bash
# startup_faults.sh - a read-only or full data dir at start-up gives a clear
# one-line error naming the dir, exits non-zero and changes nothing; a disk
# that fills while the master runs costs writes (answered 500) but never the
# database: integrity_check is ok, every acknowledged write is there, and the
# master starts again once there is room.
#
# Each data dir is a tmpfs mounted under this test's TMP (root only: chmod
# does not stop root, a read-only mount does). Mounting is part of the
# test, so a host where it fails fails the test.
. "$(dirname "$0")/../lib.sh"

MNT=$TMP/mnt
MOUNTED=""
# mnt NAME OPTIONS: a fresh tmpfs at $MNT/NAME.
mnt() {
	mkdir -p "$MNT/$1"
	mount -t tmpfs -o "$2" berth-test "$MNT/$1" || return 1
	MOUNTED="$MNT/$1 $MOUNTED"
}
at_exit 'for m in $MOUNTED; do umount -l "$m"; done'

if ! mnt probe size=64k; then
	notok "mount a tmpfs for the data dir (needs root)"
	exit 1
fi
ok "mount a tmpfs for the data dir"

# try_start DIR: run the master on DIR; it must exit by itself within 10 s.
# Sets RC and ERR (its output).
try_start() {
	local ap gp
	ap=$(free_port)
	gp=$(free_port)
	timeout 10 "$BIN/berth-master" --data-dir "$1" \
	    --api-listen "127.0.0.1:$ap" --agent-listen "127.0.0.1:$gp" \
	    >"$TMP/out" 2>&1
	RC=$?
	ERR=$(cat "$TMP/out")
	san_check "$TMP/out"
}
# snap DIR: names, sizes, modes and contents of everything in DIR.
snap() {
	(cd "$1" && find . -printf '%p %s %m\n' | sort &&
	    find . -type f -print0 | sort -z | xargs -0r sha256sum)
}
# one_line_error WHAT: the failed start printed exactly one line, an error.
one_line_error() {
	check_eq "$1: exit status 1 (not killed, not a crash)" "$RC" 1
	check_eq "$1: one line of output" "$(printf '%s\n' "$ERR" | grep -c .)" 1
	check_has "$1: it is an error" "$ERR" " error "
}

# ---- a read-only data dir -------------------------------------------------------
mnt ro ro,size=64k
try_start "$MNT/ro"
one_line_error "read-only empty data dir"
check_has "read-only: the error names the dir and why" "$ERR" \
    "data dir $MNT/ro is not writable: Read-only file system"
check_eq "read-only: nothing written" "$(ls -A "$MNT/ro")" ""
try_start "$MNT/ro/sub"
one_line_error "data dir to create on a read-only disk"
check_has "read-only: the error names the dir it cannot create" "$ERR" \
    "cannot create data dir $MNT/ro/sub: Read-only file system"

# A data dir in use, remounted read-only (as a failing disk often is).
mnt used size=2m
D=$MNT/used
master_start "$D" || exit 1
api POST /v1/grids '{"name":"before-ro"}'
check_eq "a grid written before the remount" "$STATUS" 201
master_stop
mount -o remount,ro "$D"
before=$(snap "$D")
try_start "$D"
one_line_error "read-only data dir with a database"
check_has "read-only with a database: the error names the dir" "$ERR" \
    "data dir $D is not writable: Read-only file system"
check_eq "read-only with a database: not a byte changed" "$(snap "$D")" "$before"
mount -o remount,rw "$D"
check_eq "read-only with a database: integrity_check" \
    "$(sqlite3 "$D/berth.db" 'PRAGMA integrity_check')" ok
API_PORT_FIXED=$API_PORT AGENT_PORT_FIXED=$AGENT_PORT master_start "$D" || exit 1
api GET /v1/grids/before-ro
check_eq "writable again: the master starts with its data" "$STATUS" 200
master_stop

# ---- a full disk -------------------------------------------------------------
mnt full size=64k
dd if=/dev/zero of="$MNT/full/filler" bs=4k count=64 2>/dev/null
check_eq "the tiny disk is full" "$(df --output=avail "$MNT/full" | tail -1 | tr -d ' ')" 0
before=$(snap "$MNT/full")
try_start "$MNT/full"
one_line_error "full disk, empty data dir"
check_has "full disk: the error names the dir and why" "$ERR" \
    "data dir $MNT/full has no room for the store"
check_has "full disk: the OS reason" "$ERR" "No space left on device"
check_eq "full disk: nothing left behind" "$(snap "$MNT/full")" "$before"

# A data dir in use on a disk that is full at the next start.
before_db=$(sha256sum <"$D/berth.db")
dd if=/dev/zero of="$D/filler" bs=4k 2>/dev/null
before=$(snap "$D")
try_start "$D"
one_line_error "full disk with a database"
check_has "full disk with a database: the error names the dir" "$ERR" \
    "data dir $D has no room for the store"
check_eq "full disk with a database: not a byte changed" "$(snap "$D")" "$before"
rm -f "$D/filler"
check_eq "full disk with a database: integrity_check" \
    "$(sqlite3 "$D/berth.db" 'PRAGMA integrity_check')" ok
check_eq "full disk with a database: the file is as it was" \
    "$(sha256sum <"$D/berth.db")" "$before_db"

# ---- the disk fills while the master runs ---------------------------------------
API_PORT_FIXED=$API_PORT AGENT_PORT_FIXED=$AGENT_PORT master_start "$D" || exit 1
# Leave ~200 KiB: enough to start, soon gone under a write burst.
avail=$(df --output=avail -k "$D" | tail -1 | tr -d ' ')
dd if=/dev/zero of="$D/filler" bs=1k count=$((avail - 200)) 2>/dev/null
: >"$TMP/acked"
n5xx=0
for i in $(seq 600); do
	code=$(curl -s -o "$TMP/body" -w '%{http_code}' -X POST \
	    -H "Authorization: Bearer $TOKEN" \
	    -d "{\"name\":\"fill-$i\",\"settings\":{\"heartbeat_interval_s\":7}}" \
	    "$API/v1/grids")
	case $code in
	201) echo "fill-$i" >>"$TMP/acked" ;;
	5*) n5xx=$((n5xx + 1)); last=$(cat "$TMP/body"); lastcode=$code ;;
	esac
	[ "$n5xx" -ge 20 ] && break
done
n_acked=$(grep -c . "$TMP/acked")
echo "# disk filled after $n_acked acknowledged writes; then $n5xx answered 5xx"
check "the disk filled up under the burst" test "$n5xx" -ge 20
# The reply names the cause: the master's log is on this disk too here,
# and whether its line still fits depends on a few bytes.
check_eq "a write on a full disk gets 507" "${lastcode:-}" 507
check_has "... and says the disk is full" "${last:-}" \
    '"error":"the master'"'"'s disk is full'
check_has "... and where to free space" "${last:-}" "--data-dir"
api GET /v1/grids
check_eq "reads still answered on a full disk" "$STATUS" 200
check "the master is still running on a full disk" kill -0 "$MASTER_PID"
master_stop KILL
rm -f "$D/filler"
check_eq "after a full disk and kill -9: integrity_check" \
    "$(sqlite3 "$D/berth.db" 'PRAGMA integrity_check')" ok
API_PORT_FIXED=$API_PORT AGENT_PORT_FIXED=$AGENT_PORT master_start "$D" || exit 1
api GET /v1/grids
missing=$(comm -23 <(sort "$TMP/acked") <(jq -r '.[].name' <<<"$BODY" | sort) | head -3)
check_eq "every write acknowledged before the disk filled is there" "$missing" ""
check_eq "acknowledged writes kept their settings" \
    "$(jq '[.[] | select(.name | startswith("fill-")) | .settings.heartbeat_interval_s] | unique' -c <<<"$BODY")" \
    "$([ "$n_acked" -gt 0 ] && echo '[7]' || echo '[]')"
api POST /v1/grids '{"name":"after-full"}'
check_eq "with room again the master takes writes" "$STATUS" 201
master_stop
