#!/usr/bin/env bash
# tls.sh - the master over TLS (docs/security.md, "TLS"): a self-signed
# pair made on first start and reused, an operator's pair, https and wss,
# the agent verifying the master by pin or by CA before it sends a token,
# the CLI over https, cloud-configs that carry the pin (and an installer
# run that downloads the agent through it), and the plain-text policy.
# Agents run without Docker (DOCKER_HOST points nowhere): joining needs none.
. "$(dirname "$0")/../lib.sh"

NODOCKER="unix://$TMP/no-docker.sock"
BOGUS_PIN="sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

# pin_of CERT: the public-key pin, computed by the openssl CLI.
pin_of() {
	echo "sha256//$(openssl x509 -in "$1" -pubkey -noout |
	    openssl pkey -pubin -outform der | openssl dgst -sha256 -binary |
	    base64)"
}

# tls_master DIR CA [flags...]: start a master on loopback (ports AP, GP)
# and wait until https answers; CA is the file curl trusts afterwards.
tls_master() {
	local dir=$1
	CA=$2
	shift 2
	mkdir -p "$dir"
	"$BIN/berth-master" --data-dir "$dir" --api-listen "127.0.0.1:$AP" \
	    --agent-listen "127.0.0.1:$GP" --tick-ms 200 "$@" \
	    >>"$dir/master.log" 2>&1 &
	MASTER_PID=$!
	MASTER_PIDS="$MASTER_PIDS $MASTER_PID"
	MASTER_LOG=$dir/master.log
	MASTER_DIR=$dir
	AGENT_PORT=$GP
	API=https://127.0.0.1:$AP
	wait_for 20 curl -sfk "$API/healthz" || {
		sed 's/^/# /' "$dir/master.log" >&2
		return 1
	}
	TOKEN=$(cat "$dir/operator.token")
}

# tcurl ARGS...: curl trusting the current master's certificate.
tcurl() { curl -s --cacert "$CA" -H "Authorization: Bearer $TOKEN" "$@"; }
nodes_json() { tcurl "$API/v1/grids/default/nodes"; }
node_status_tls() {
	tcurl "$API/v1/nodes/default/$1" | jq -r '.status // empty'
}
online() { [ "$(node_status_tls "$1")" = online ]; }
agent() { agent_start "$1" "" BERTH_URL="wss://127.0.0.1:$GP" \
    DOCKER_HOST="$NODOCKER" "${@:2}"; }

# ---- --help --------------------------------------------------------------------
HELP=$("$BIN/berth-master" --help)
for opt in --tls-cert --tls-key --tls-self-signed --tls-san --insecure-plain \
    BERTH_TLS_CERT BERTH_TLS_SELF_SIGNED BERTH_INSECURE_PLAIN BERTH_MASTER_PIN; do
	check_has "--help documents $opt" "$HELP" "$opt"
done

# ---- the plain-text policy -------------------------------------------------------
AP=$(free_port)
GP=$(free_port)
D0=$TMP/plain
out=$(timeout 10 "$BIN/berth-master" --data-dir "$D0" \
    --api-listen "0.0.0.0:$AP" --agent-listen "127.0.0.1:$GP" 2>&1)
rc=$?
check "non-loopback listen without TLS: refused at start-up" \
    test "$rc" -ne 0 -a "$rc" -ne 124
check_has "the refusal names --insecure-plain and the TLS flags" "$out" \
    "--insecure-plain"
check_has "... and the address" "$out" "0.0.0.0:$AP"
check "nothing listens after the refusal" \
    sh -c "! ss -tlnH '( sport = :$AP )' | grep -q ."
"$BIN/berth-master" --data-dir "$D0" --api-listen "0.0.0.0:$AP" \
    --agent-listen "127.0.0.1:$GP" --insecure-plain >>"$D0/master.log" 2>&1 &
PLAIN_PID=$!
MASTER_PIDS="$MASTER_PIDS $PLAIN_PID"
check "--insecure-plain: plain http on 0.0.0.0 serves" \
    wait_for 20 curl -sf "http://127.0.0.1:$AP/healthz"
check_has "--insecure-plain is logged as a warning" "$(cat "$D0/master.log")" \
    "serving plain http/ws (--insecure-plain)"
T0=$(cat "$D0/operator.token")
CC0=$(curl -s -H "Authorization: Bearer $T0" \
    "http://127.0.0.1:$AP/v1/grids/default/cloud-config")
check_has "plain master's cloud-config lets its agents use ws://" "$CC0" \
    "BERTH_INSECURE_PLAIN=1"
kill "$PLAIN_PID"
wait "$PLAIN_PID" 2>/dev/null

out=$(BERTH_URL=ws://192.0.2.1:9293 BERTH_TOKEN=x BERTH_DATA_DIR=$TMP/ap \
    timeout 10 "$BIN/berth-agent" 2>&1)
check "agent: ws:// to a non-loopback master refused" test $? -eq 1
check_has "... naming BERTH_INSECURE_PLAIN" "$out" "BERTH_INSECURE_PLAIN=1"
out=$(BERTH_MASTER=http://192.0.2.1:9292 BERTH_TOKEN=x timeout 10 \
    "$BIN/berth" grid ls 2>&1)
check "CLI: http:// to a non-loopback master refused" test $? -ne 0
check_has "... before connecting, naming BERTH_INSECURE_PLAIN" "$out" \
    "BERTH_INSECURE_PLAIN=1"

# ---- self-signed: first start -----------------------------------------------------
D=$TMP/data
tls_master "$D" "$D/tls.crt" --tls-self-signed || exit 1
check "tls.crt and tls.key created" test -s "$D/tls.crt" -a -s "$D/tls.key"
check_eq "tls.key is mode 0600" "$(stat -c %a "$D/tls.key")" 600
PIN=$(pin_of "$D/tls.crt")
LOG=$(cat "$D/master.log")
check_has "public-key pin logged" "$LOG" "public-key pin $PIN"
FPR=$(openssl x509 -in "$D/tls.crt" -noout -fingerprint -sha256 | cut -d= -f2)
check_has "certificate SHA-256 fingerprint logged" "$LOG" "$FPR"
check_has "SANs include 127.0.0.1 and localhost" \
    "$(openssl x509 -in "$D/tls.crt" -noout -ext subjectAltName)" \
    "DNS:localhost, IP Address:127.0.0.1"
check "https with --cacert tls.crt: /healthz" \
    curl -sf --cacert "$D/tls.crt" "https://127.0.0.1:$AP/healthz"
check "https by name (localhost) with --cacert" \
    curl -sf --cacert "$D/tls.crt" "https://localhost:$AP/healthz"
check "https without the CA is refused by curl" \
    sh -c "! curl -sf https://127.0.0.1:$AP/healthz"
check "plain http to the TLS port fails" \
    sh -c "! curl -sf -m 5 http://127.0.0.1:$AP/healthz"
check "curl --pinnedpubkey with the logged pin" \
    curl -sfk --pinnedpubkey "$PIN" "https://127.0.0.1:$AP/healthz"

# ---- the CLI over https -------------------------------------------------------------
export BERTH_TOKEN=$TOKEN
out=$(BERTH_MASTER=$API BERTH_CA_CERT=$D/tls.crt "$BIN/berth" grid ls 2>&1)
check_eq "CLI over https with BERTH_CA_CERT" "$?" 0
check_has "... lists grid default" "$out" default
out=$(BERTH_MASTER=$API BERTH_MASTER_PIN=$PIN "$BIN/berth" grid ls 2>&1)
check_eq "CLI over https with BERTH_MASTER_PIN" "$?" 0
HEXPIN="sha256:$(openssl x509 -in "$D/tls.crt" -pubkey -noout |
    openssl pkey -pubin -outform der | openssl dgst -sha256 -hex |
    awk '{print $NF}')"
out=$(BERTH_MASTER=$API BERTH_MASTER_PIN=$HEXPIN "$BIN/berth" grid ls 2>&1)
check_eq "CLI accepts the sha256:<hex> form of the pin" "$?" 0
out=$(BERTH_MASTER=$API BERTH_MASTER_PIN=$BOGUS_PIN "$BIN/berth" grid ls 2>&1)
check "CLI with a wrong pin fails" test $? -ne 0
check_has "... saying the key does not match" "$out" "does not match"
out=$(BERTH_MASTER=$API "$BIN/berth" grid ls 2>&1)
check "CLI with neither (system CAs) refuses the self-signed master" \
    test $? -ne 0
unset BERTH_TOKEN

# ---- agents over wss ------------------------------------------------------------------
agent pinned BERTH_MASTER_PIN="$PIN"
check "agent with the right pin joins (node online)" wait_for 20 online pinned
N_BEFORE=$(nodes_json | jq length)
agent wrongpin BERTH_MASTER_PIN="$BOGUS_PIN"
# The evidence that it tried: it logs the mismatch (checked below).
wait_for 20 grep -q "does not match BERTH_MASTER_PIN" "$TMP/agents/wrongpin.log"
check_eq "agent with a wrong pin: no node created" "$(nodes_json | jq length)" \
    "$N_BEFORE"
check_eq "... not online" "$(node_status_tls wrongpin)" ""
check_has "... and it logs the mismatch" "$(cat "$TMP/agents/wrongpin.log")" \
    "does not match BERTH_MASTER_PIN"
check "... and the master never saw its upgrade (no refusal logged)" \
    sh -c "! grep -q wrongpin '$D/master.log'"
agent_stop wrongpin
agent byca BERTH_CA_CERT="$D/tls.crt"
check "agent with BERTH_CA_CERT=tls.crt joins" wait_for 20 online byca
agent sysca
check "agent with neither (system CAs) fails its TLS connection" \
    wait_for 20 grep -q "cannot connect to wss://127.0.0.1:$GP" \
    "$TMP/agents/sysca.log"
check_eq "agent with neither (system CAs) does not join" \
    "$(node_status_tls sysca)" ""
agent_stop sysca
out=$(BERTH_URL="ws://127.0.0.1:$GP" BERTH_MASTER_PIN=$PIN BERTH_TOKEN=x \
    BERTH_DATA_DIR=$TMP/ap2 timeout 10 "$BIN/berth-agent" 2>&1)
check_has "agent: a pin with ws:// is a configuration error" "$out" \
    "BERTH_URL must be wss://"

# ---- cloud-config from a TLS master ------------------------------------------------------
CC=$(tcurl "$API/v1/grids/default/cloud-config?label=tls=yes")
check_has "cloud-config: agent URL is wss://" "$CC" \
    "BERTH_URL=wss://127.0.0.1:$GP"$'\n'
check_has "cloud-config: API URL is https://" "$CC" \
    "BERTH_MASTER_API=https://127.0.0.1:$AP"$'\n'
check_has "cloud-config: carries the pin" "$CC" "BERTH_MASTER_PIN=$PIN"$'\n'
check_eq "cloud-config: no BERTH_INSECURE_PLAIN" \
    "$(grep -c INSECURE <<<"$CC")" 0
RUN=$(grep -o "curl -fsSL.*agent.sh' | sh" <<<"$CC")
check_has "runcmd fetches the installer with the pinned key" "$RUN" \
    "--pinnedpubkey '$PIN' 'https://127.0.0.1:$AP/install/agent.sh'"
if command -v cloud-init >/dev/null 2>&1; then
	printf '%s' "$CC" >"$TMP/cc.yml"
	check "cloud-init schema accepts the TLS cloud-config" \
	    cloud-init schema --config-file "$TMP/cc.yml"
fi
# Run the runcmd's fetch as written (| cat instead of | sh).
eval "${RUN%| sh}" >"$TMP/fetched.sh" 2>/dev/null
check "runcmd's curl fetches the installer over https" \
    cmp -s "$TMP/fetched.sh" "$ROOT/scripts/install-agent.sh"
BADRUN=${RUN//$PIN/$BOGUS_PIN}
check "... and fails against another key" \
    sh -c "! ${BADRUN%| sh} >/dev/null 2>&1"
# The installer: downloads the agent with the pin, the agent joins with it.
sed -n '/^    content: |$/,/^runcmd:/p' <<<"$CC" | sed '1d;$d' |
    sed 's/^      //' >"$TMP/berth-agent.env"
env -u BERTH_TOKEN BERTH_ENV_FILE="$TMP/berth-agent.env" \
    BERTH_PREFIX="$TMP/prefix" BERTH_NO_SYSTEMD=1 \
    BERTH_PIDFILE="$TMP/inst.pid" BERTH_LOGFILE="$TMP/inst.log" \
    BERTH_DATA_DIR="$TMP/inst" BERTH_NODE_NAME=installed \
    DOCKER_HOST="$NODOCKER" BERTH_STATS_INTERVAL_S=1 \
    sh "$TMP/fetched.sh" >"$TMP/installer.out" 2>&1
check_eq "installer over https exits 0" "$?" 0
at_exit "kill \$(cat $TMP/inst.pid)"
check "installer's agent binary equals the build" \
    cmp -s "$TMP/prefix/bin/berth-agent" "$BIN/berth-agent"
check "installer's agent joins with the cloud-config's pin" \
    wait_for 20 online installed
check_eq "... with the cloud-config's label" \
    "$(tcurl "$API/v1/nodes/default/installed" | jq -r '.labels | join(",")')" \
    "tls=yes"
kill "$(cat "$TMP/inst.pid")" 2>/dev/null

# ---- restart reuses the pair ---------------------------------------------------------------
SUM=$(sha256sum <"$D/tls.crt")
master_stop
tls_master "$D" "$D/tls.crt" --tls-self-signed || exit 1
check_eq "restart: same certificate file" "$(sha256sum <"$D/tls.crt")" "$SUM"
check_has "restart: same pin logged" "$(tail -n 20 "$D/master.log")" \
    "public-key pin $PIN"
check_eq "restart: no new certificate made" \
    "$(grep -c 'made a self-signed certificate' "$D/master.log")" 1
check "the pinned agent rejoins the restarted master" wait_for 20 online pinned
rm "$D/tls.key"
master_stop
out=$(timeout 10 "$BIN/berth-master" --data-dir "$D" --api-listen \
    "127.0.0.1:$AP" --agent-listen "127.0.0.1:$GP" --tls-self-signed 2>&1)
check "a lone tls.crt (key missing) stops the master" test $? -ne 0
check_has "... saying which file is missing" "$out" "tls.key does not"

# ---- an operator's pair -----------------------------------------------------------------
P=$TMP/own
mkdir -p "$P"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$P/key.pem" \
    -out "$P/cert.pem" -days 30 -subj /CN=berth-test \
    -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
AP=$(free_port)
GP=$(free_port)
tls_master "$TMP/data2" "$P/cert.pem" --tls-cert "$P/cert.pem" \
    --tls-key "$P/key.pem" || exit 1
check "--tls-cert/--tls-key: https serves with that certificate" \
    curl -sf --cacert "$P/cert.pem" "$API/healthz"
check_has "--tls-cert/--tls-key: its pin logged" \
    "$(cat "$TMP/data2/master.log")" "public-key pin $(pin_of "$P/cert.pem")"
check "no self-signed pair made in the data dir" test ! -e "$TMP/data2/tls.key"
agent own BERTH_CA_CERT="$P/cert.pem"
check "agent trusting the operator's CA joins over wss" wait_for 20 online own
master_stop
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$P/other.pem" \
    -out "$P/other.crt" -days 30 -subj /CN=other >/dev/null 2>&1
out=$(timeout 10 "$BIN/berth-master" --data-dir "$TMP/data3" \
    --api-listen "127.0.0.1:$AP" --agent-listen "127.0.0.1:$GP" \
    --tls-cert "$P/cert.pem" --tls-key "$P/other.pem" 2>&1)
check "a key that is not the certificate's stops the master" test $? -ne 0
check_has "... saying so" "$out" "does not belong to the certificate"
out=$(timeout 10 "$BIN/berth-master" --data-dir "$TMP/data3" \
    --tls-cert "$P/cert.pem" 2>&1)
check_has "--tls-cert without --tls-key is refused" "$out" "go together"

# ---- no token in clear in any log -----------------------------------------------------------
LOGS=("$D/master.log" "$TMP/data2/master.log" "$D0/master.log"
    "$TMP"/agents/*.log "$TMP/inst.log")
SECRETS=("$TOKEN" "$(cat "$D/grid-default.token")" "$T0"
    "$(cat "$TMP/data2/grid-default.token")")
for f in "$TMP"/agents/*/node-token "$TMP/inst/node-token"; do
	[ -f "$f" ] && SECRETS+=("$(cat "$f")")
done
leak=0
for s in "${SECRETS[@]}"; do
	[ -n "$s" ] || continue
	grep -qF -- "$s" "${LOGS[@]}" 2>/dev/null && leak=1
done
check_eq "no token in the master's or the agents' logs (${#SECRETS[@]} tokens)" \
    "$leak" 0
for n in pinned byca own; do agent_stop "$n"; done
exit 0
