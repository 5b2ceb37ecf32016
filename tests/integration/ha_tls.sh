#!/usr/bin/env bash
# ha_tls.sh - three masters with TLS (docs/ha.md, "TLS between masters"):
# their dqlite traffic goes over TLS to berth's listener on each master's
# --cluster-address (an `Upgrade: dqlite` request checked with a
# credential derived from master.key), on loopback too. Three form a
# cluster; a write through any master is read back through the others;
# the dqlite nodes listen on no TCP port (the master's TCP ports are its
# API, agent and cluster listeners; the node is an abstract unix socket);
# an upgrade without the credential or with a wrong one is refused (401,
# 403) and plain dqlite bytes sent to the cluster and API ports get no
# dqlite answer, neither breaking the cluster; --dump reads over TLS, and
# the dialer refuses a peer with another TLS key (pin) and is refused
# (403) without the cluster's master.key;
# kill -9 of the leader, and a new leader serves writes; the killed
# master rejoins. A cluster address on the API port and a joiner without
# TLS are refused.
. "$(dirname "$0")/../lib.sh"

declare -a D AP GP CP CA PID
for i in 1 2 3; do
	D[$i]=$TMP/m$i
	AP[$i]=$(free_port)
	GP[$i]=$(free_port)
	CP[$i]=$(free_port)
	CA[$i]=127.0.0.1:${CP[$i]}
	mkdir -p "${D[$i]}"
done
ca() { echo "${CA[$1]}"; }
url() { echo "https://127.0.0.1:${AP[$1]}"; }
HA_FLAGS=--tls-self-signed HA_CURL=-k HA_START_S=30
m_start() { ha_start "$@"; }
m_kill() { ha_kill "$1"; }
health() { curl -s -m 2 --pinnedpubkey "$PIN" -k "$(url "$1")/healthz"; }
role() { health "$1" | jq -r '.role // "down"' 2>/dev/null || echo down; }
is_role() { [ "$(role "$1")" = "$2" ]; }
standby_of() { [ "$(health "$1" | jq -r '.role + " " + .leader')" = "standby $(url "$2")" ]; }
leader() {
	local i
	for i in 1 2 3; do
		[ -n "${PID[$i]}" ] && is_role "$i" leader && { echo "$i"; return 0; }
	done
	return 1
}
# post I PATH BODY: POST through master I, following a standby's 307.
post() {
	curl -s --location-trusted -m 10 --pinnedpubkey "$PIN" -k -o /dev/null \
	    -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
	    -H 'Content-Type: application/json' --data-binary "$3" "$(url "$1")$2"
}
grids() {
	curl -s --location-trusted -m 10 --pinnedpubkey "$PIN" -k \
	    -H "Authorization: Bearer $TOKEN" "$(url "$1")/v1/grids" |
	    jq -r '.[].name' | sort | paste -sd,
}
# upgrade I [HEADER...]: an `Upgrade: dqlite` request to master I; prints
# the status.
upgrade() {
	local i=$1
	shift
	curl -s -m 5 --pinnedpubkey "$PIN" -k -o /dev/null -w '%{http_code}' \
	    -H 'Upgrade: dqlite' -H 'Connection: Upgrade' "$@" \
	    "https://$(ca "$i")/internal/dqlite"
}
# The TCP ports master I's process listens on, sorted.
tcp_ports() {
	ss -ltnpH 2>/dev/null | grep "pid=${PID[$1]}," |
	    awk '{ n = split($4, a, ":"); print a[n] }' | sort -n | paste -sd,
}

# A TLS master serves its peers on its cluster address itself: the API's
# port is refused, naming the flag.
BP=$(free_port)
"$BIN/berth-master" --data-dir "$TMP/badport" --tls-self-signed \
    --api-listen "127.0.0.1:$BP" --agent-listen "127.0.0.1:$(free_port)" \
    --cluster-address "127.0.0.1:$BP" >"$TMP/badport.log" 2>&1
check "a TLS master whose --cluster-address is its API port does not start" \
    test $? -ne 0
check_has "saying so, naming the flag" "$(cat "$TMP/badport.log")" \
    "--cluster-address 127.0.0.1:$BP: with TLS this master serves the other masters' dqlite traffic on that port itself"

m_start 1 || exit 1
PIN=$(grep -o 'sha256//[^ ]*' "${D[1]}/master.log" | head -1)
wait_for 30 is_role 1 leader
check_eq "the first TLS master bootstraps and leads" "$(role 1)" leader
check_has "its node is bound to an abstract unix socket" \
    "$(cat "${D[1]}/master.log")" "(bound to @berth-dqlite-"
TOKEN=$(cat "${D[1]}/operator.token")
export BERTH_TOKEN=$TOKEN BERTH_MASTER_PIN=$PIN
JT2=$(BERTH_MASTER=$(url 1) "$BIN/berth" master join-token)
JT3=$(BERTH_MASTER=$(url 1) "$BIN/berth" master join-token)
# A joiner without TLS is refused before the token is spent.
"$BIN/berth-master" --data-dir "$TMP/plainjoin" --api-listen "127.0.0.1:$(free_port)" \
    --agent-listen "127.0.0.1:$(free_port)" --cluster-address "127.0.0.1:$(free_port)" \
    --join "$(ca 1)" --join-token "$JT2" >"$TMP/plainjoin.log" 2>&1
check "a joiner without TLS in a TLS cluster does not start" test $? -ne 0
check_has "saying why" "$(cat "$TMP/plainjoin.log")" "the cluster's masters run TLS"
m_start 2 --join "$(ca 1)" --join-token "$JT2" || exit 1
m_start 3 --join "$(ca 1)" --join-token "$JT3" || exit 1
wait_for 30 standby_of 2 1 && wait_for 30 standby_of 3 1
check "the joiners share the cluster's master key and TLS identity" \
    sh -c "cmp -s '${D[1]}/master.key' '${D[2]}/master.key' && cmp -s '${D[1]}/tls.key' '${D[3]}/tls.key'"
ALL=$(url 1),$(url 2),$(url 3)
LS=$(BERTH_MASTER=$ALL "$BIN/berth" master ls --json)
check_eq "berth master ls: three members, one leader, all online" \
    "$(echo "$LS" | jq -r '[.[] | .role + "/" + (.online | tostring)] | sort | join(",")')" \
    "leader/true,voter/true,voter/true"

# Writes through every master land on the leader and read back everywhere.
check_eq "a write through master 1 (the leader)" "$(post 1 /v1/grids '{"name":"g1"}')" 201
check_eq "a write through master 2 (a standby: 307)" "$(post 2 /v1/grids '{"name":"g2"}')" 201
check_eq "a write through master 3 (a standby: 307)" "$(post 3 /v1/grids '{"name":"g3"}')" 201
for i in 1 2 3; do
	check_eq "read back through master $i" "$(grids "$i")" "default,g1,g2,g3"
done

# --dump of a running standby's data dir (its TLS flag given) reads
# through its node's private endpoint and the leader's API port.
"$BIN/berth-master" --data-dir "${D[2]}" --tls-self-signed --dump "$TMP/backup.db" \
    >"$TMP/dump.out" 2>&1
check "--dump of a TLS master's data dir exits 0" test $? = 0 || sed "s/^/# /" "$TMP/dump.out"
check_has "through the cluster over TLS" "$(cat "$TMP/dump.out")" "dqlite over TLS, through"
check_eq "with every write in it" \
    "$(sqlite3 "$TMP/backup.db" 'SELECT name FROM grids ORDER BY name' | paste -sd,)" \
    "default,g1,g2,g3"

# The dialing side's checks, seen through --dump: a data dir with another
# TLS key is refused by the pin before anything is sent; one with the
# cluster's TLS key but another master.key gets a 403 from the listener.
mkdir -p "$TMP/other" "$TMP/otherkey"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=other \
    -days 1 -keyout "$TMP/other/tls.key" -out "$TMP/other/tls.crt" >/dev/null 2>&1
head -c 32 /dev/urandom >"$TMP/other/master.key"
cp "${D[1]}/tls.crt" "${D[1]}/tls.key" "$TMP/otherkey/"
head -c 32 /dev/urandom >"$TMP/otherkey/master.key"
chmod 600 "$TMP"/other*/tls.key "$TMP"/other*/master.key
"$BIN/berth-master" --data-dir "$TMP/other" --tls-self-signed --cluster-address "$(ca 1)" \
    --dump "$TMP/other.db" >"$TMP/other.out" 2>&1
check "--dump with another TLS key fails" test $? -ne 0
check_has "on the pin: not a master of this cluster" "$(cat "$TMP/other.out")" \
    "$(ca 1) presents a TLS key whose pin is"
"$BIN/berth-master" --data-dir "$TMP/otherkey" --tls-self-signed --cluster-address "$(ca 1)" \
    --dump "$TMP/otherkey.db" >"$TMP/otherkey.out" 2>&1
check "--dump with the cluster's TLS key but another master.key fails" test $? -ne 0
check_has "refused by the listener: 403" "$(cat "$TMP/otherkey.out")" \
    "$(ca 1) refused the dqlite upgrade: HTTP/1.1 403 Forbidden"

# No dqlite node listens on TCP: each master's process has its API, agent
# and cluster (TLS) ports open, nothing else; the node is an abstract
# unix socket.
for i in 1 2 3; do
	check_eq "master $i listens on TCP only on its API, agent and cluster ports" \
	    "$(tcp_ports "$i")" "$(printf '%s\n' "${AP[$i]}" "${GP[$i]}" "${CP[$i]}" | sort -n | paste -sd,)"
done
check "master 1's node listens on an abstract unix socket" \
    sh -c "ss -lxpH | grep 'pid=${PID[1]},' | grep -q '@berth-dqlite-'"

# The upgrade is refused without the cluster's credential.
check_eq "an upgrade without the credential: 401" "$(upgrade 2)" 401
check_eq "an upgrade with a wrong credential: 403" \
    "$(upgrade 2 -H "X-Berth-Cluster-Auth: $(printf '%064d' 0)")" 403
check_eq "an upgrade without Upgrade: dqlite: 400" \
    "$(curl -s -m 5 --pinnedpubkey "$PIN" -k -o /dev/null -w '%{http_code}' \
    "https://$(ca 2)/internal/dqlite")" 400
check_has "the refusal is logged" "$(cat "${D[2]}/master.log")" \
    "a dqlite upgrade with a wrong X-Berth-Cluster-Auth refused"
check_eq "GET /internal/leader (for joiners) names the leader's API" \
    "$(curl -s -m 5 --pinnedpubkey "$PIN" -k "https://$(ca 3)/internal/leader")" "$(url 1)"
# Plain dqlite bytes to the cluster and API ports (the handshake, then
# LEADER): the TLS servers answer no dqlite (no SERVER reply naming the
# leader).
plain_dqlite() {
python3 - "$1" <<'EOF'
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
s.sendall(struct.pack("<Q", 1))                      # protocol version 1
s.sendall(struct.pack("<IBBH", 1, 0, 0, 0) + b"\0" * 8)  # LEADER
got = b""
try:
    while len(got) < 4096:
        b = s.recv(4096)
        if not b:
            break
        got += b
except OSError:
    pass
sys.stdout.write(got.hex())
EOF
}
LEADER_HEX=$(printf '%s' "$(ca 1)" | od -An -tx1 | tr -d ' \n')
check "plain dqlite bytes to the cluster port get no dqlite answer" \
    sh -c "! echo '$(plain_dqlite "${CP[2]}")' | grep -q '$LEADER_HEX'"
check "plain dqlite bytes to the API port get no dqlite answer" \
    sh -c "! echo '$(plain_dqlite "${AP[2]}")' | grep -q '$LEADER_HEX'"
check_eq "the cluster still serves writes after those" "$(post 3 /v1/grids '{"name":"g4"}')" 201

# kill -9 of the leader: one of the other two leads and serves writes.
OLD=$(leader)
m_kill "$OLD"
wait_for 20 leader
NEW=$(leader)
check "a new leader after kill -9 of master $OLD (master ${NEW:-none})" \
    test -n "$NEW" -a "$NEW" != "$OLD"
check_eq "the new leader serves writes" "$(post "$NEW" /v1/grids '{"name":"g5"}')" 201
check_eq "with every earlier write there" "$(grids "$NEW")" "default,g1,g2,g3,g4,g5"
# The killed master comes back as a standby and catches up.
m_start "$OLD" || exit 1
wait_for 30 standby_of "$OLD" "$NEW"
check "the killed master $OLD rejoins as a standby of $NEW" standby_of "$OLD" "$NEW"
check_eq "and reads every write through the leader" "$(grids "$OLD")" "default,g1,g2,g3,g4,g5"

# An orderly stop of all three, the leader last.
for i in 1 2 3; do
	[ "$i" = "$NEW" ] && continue
	kill -TERM "${PID[$i]}"
	wait "${PID[$i]}"
	check_eq "master $i stops cleanly (SIGTERM)" "$?" 0
	san_check "${D[$i]}/master.log"
done
kill -TERM "${PID[$NEW]}"
wait "${PID[$NEW]}"
check_eq "the leader stops cleanly (SIGTERM)" "$?" 0
san_check "${D[$NEW]}/master.log"
exit $((N_FAIL > 0))
