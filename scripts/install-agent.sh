#!/bin/sh
# install-agent.sh - install berth-agent and start it on this machine.
#
# berth-master serves this script at /install/agent.sh and the agent
# binary at /install/berth-agent; a node's cloud-config runs
#   curl -fsSL <master>/install/agent.sh | sh
# after writing /etc/berth-agent.env. See docs/cloud-config.md.
#
# Settings come from the environment, else from the env file:
#   BERTH_ENV_FILE     the env file (default /etc/berth-agent.env)
#   BERTH_MASTER_API   master API URL the binary is fetched from (required)
#   BERTH_URL, BERTH_TOKEN, BERTH_LABELS, BERTH_NODE_NAME, BERTH_DATA_DIR
#                      passed to berth-agent (see docs/agent.md)
#   BERTH_MASTER_PIN   sha256//<base64>: the master's public-key pin; the
#                      download is checked against it (and so is the agent)
#   BERTH_CA_CERT      a CA file that vouches for the master (ditto)
#   BERTH_INSECURE_PLAIN=1  the agent may use ws:// off loopback
#   BERTH_PROVIDER_ID  the machine's instance id at its node group's
#                      provider, passed to berth-agent; with
#                      BERTH_PROVIDER_ID_FROM=ec2 (an aws-asg group's
#                      cloud-config) read from the instance metadata
#                      (IMDSv2) at BERTH_EC2_METADATA (default
#                      http://169.254.169.254) when not given
#   BERTH_PREFIX       berth-agent goes to $BERTH_PREFIX/bin (default
#                      /usr/local)
#   BERTH_NO_SYSTEMD=1 start with nohup instead of a systemd unit; also
#                      chosen when systemd is not running (BERTH_SYSTEMD=1
#                      insists on systemd)
#   BERTH_PIDFILE      nohup mode: pid file (default /run/berth-agent.pid)
#   BERTH_LOGFILE      nohup mode: log (default /var/log/berth-agent.log)
#   BERTH_UNIT_DIR     systemd mode: unit directory (/etc/systemd/system)
# Running it again upgrades the binary and restarts the agent.
set -eu

say() { printf 'berth-install: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
# running PID: alive and not a zombie (kill -0 succeeds on an unreaped
# child, and the agent we start is our child).
running() {
	kill -0 "$1" 2>/dev/null || return 1
	[ -r "/proc/$1/stat" ] || return 0
	case $(cut -d ')' -f 2 "/proc/$1/stat") in ' Z'*) return 1 ;; esac
}

ENV_FILE=${BERTH_ENV_FILE:-/etc/berth-agent.env}

# Read KEY=VALUE lines of the env file; a variable already set wins. The
# file is parsed, never sourced, so a value cannot run commands.
if [ -r "$ENV_FILE" ]; then
	while IFS= read -r line || [ -n "$line" ]; do
		case $line in '' | '#'* | ';'*) continue ;; esac
		key=${line%%=*}
		val=${line#*=}
		[ "$key" != "$line" ] || continue
		case $key in
		'' | *[!A-Za-z0-9_]* | [0-9]*) continue ;;
		BERTH_* | KONTENA_* | DOCKER_HOST) ;;
		*) continue ;;
		esac
		case $val in \"*\") val=${val#\"}; val=${val%\"} ;; esac
		eval "isset=\${$key+x}"
		if [ -z "$isset" ]; then
			eval "$key=\$val"
			export "${key?}"
		fi
	done <"$ENV_FILE"
fi

[ -n "${BERTH_MASTER_API:-}" ] ||
	die "BERTH_MASTER_API is not set (in the env or $ENV_FILE)"
[ -n "${BERTH_URL:-${KONTENA_URI:-${KONTENA_URL:-}}}" ] ||
	die "BERTH_URL is not set (in the env or $ENV_FILE)"
command -v curl >/dev/null 2>&1 || die "curl is needed"

# An aws-asg node joins with its EC2 instance id (docs/autoscaling.md).
if [ "${BERTH_PROVIDER_ID_FROM:-}" = ec2 ] && [ -z "${BERTH_PROVIDER_ID:-}" ]; then
	md=${BERTH_EC2_METADATA:-http://169.254.169.254}
	md=${md%/}
	imds=$(curl -fsS --retry 5 --retry-connrefused -X PUT \
		-H 'X-aws-ec2-metadata-token-ttl-seconds: 300' \
		"$md/latest/api/token") ||
		die "cannot get an instance metadata token from $md"
	BERTH_PROVIDER_ID=$(curl -fsS --retry 5 --retry-connrefused \
		-H "X-aws-ec2-metadata-token: $imds" \
		"$md/latest/meta-data/instance-id") ||
		die "cannot read the instance id from $md"
	export BERTH_PROVIDER_ID
fi
if [ -n "${BERTH_PROVIDER_ID:-}" ]; then
	case $BERTH_PROVIDER_ID in
	*[!A-Za-z0-9._:/-]*) die "BERTH_PROVIDER_ID: [A-Za-z0-9._:/-] only" ;;
	esac
	say "instance id $BERTH_PROVIDER_ID"
fi

PREFIX=${BERTH_PREFIX:-/usr/local}
BIN=$PREFIX/bin/berth-agent
API=${BERTH_MASTER_API%/}

# Download beside the target, then rename: a running agent keeps its
# old inode and a failed download leaves the old binary in place.
mkdir -p "$PREFIX/bin"
tmp=$BIN.new.$$
trap 'rm -f "$tmp"' EXIT
# TLS: a CA file, and/or the pin of the master's key, which then stands
# in for a CA (a self-signed master): curl checks it before sending.
set -- -fsSL --retry 5 --retry-delay 2 --retry-connrefused
[ -z "${BERTH_CA_CERT:-}" ] || set -- "$@" --cacert "$BERTH_CA_CERT"
if [ -n "${BERTH_MASTER_PIN:-}" ]; then
	case $BERTH_MASTER_PIN in
	sha256//*) ;;
	*) die "BERTH_MASTER_PIN: the installer needs the sha256//<base64> form" ;;
	esac
	[ -n "${BERTH_CA_CERT:-}" ] || set -- "$@" --insecure
	set -- "$@" --pinnedpubkey "$BERTH_MASTER_PIN"
fi
say "downloading $API/install/berth-agent"
curl "$@" -o "$tmp" "$API/install/berth-agent" ||
	die "cannot download $API/install/berth-agent"
chmod 0755 "$tmp"
mv -f "$tmp" "$BIN"
say "installed $BIN"

# systemd when it runs this machine (or BERTH_SYSTEMD=1), else nohup.
mode=systemd
if [ "${BERTH_NO_SYSTEMD:-0}" = 1 ]; then
	mode='nohup'
elif [ "${BERTH_SYSTEMD:-0}" != 1 ] &&
	{ ! command -v systemctl >/dev/null 2>&1 ||
		[ ! -d /run/systemd/system ]; }; then
	mode='nohup'
fi

if [ "$mode" = systemd ]; then
	# The unit reads the env file: write it from the environment when
	# the installer was given its settings that way.
	if [ ! -e "$ENV_FILE" ]; then
		(
			umask 077
			for v in BERTH_MASTER_API BERTH_URL BERTH_TOKEN \
				BERTH_LABELS BERTH_NODE_NAME BERTH_DATA_DIR \
				BERTH_MASTER_PIN BERTH_CA_CERT \
				BERTH_INSECURE_PLAIN BERTH_PROVIDER_ID; do
				eval "val=\${$v:-}"
				[ -z "$val" ] || echo "$v=$val"
			done >"$ENV_FILE"
		)
		say "wrote $ENV_FILE"
	fi
	# The instance id read above, for the unit (once).
	if [ -n "${BERTH_PROVIDER_ID:-}" ] &&
		! grep -q '^BERTH_PROVIDER_ID=' "$ENV_FILE"; then
		echo "BERTH_PROVIDER_ID=$BERTH_PROVIDER_ID" >>"$ENV_FILE"
	fi
	UNIT_DIR=${BERTH_UNIT_DIR:-/etc/systemd/system}
	mkdir -p "$UNIT_DIR"
	cat >"$UNIT_DIR/berth-agent.service" <<EOF
[Unit]
Description=berth agent
Documentation=$API/install/agent.sh
Wants=network-online.target docker.service
After=network-online.target docker.service

[Service]
EnvironmentFile=$ENV_FILE
ExecStart=$BIN
Restart=always
RestartSec=5
KillMode=process

[Install]
WantedBy=multi-user.target
EOF
	systemctl daemon-reload
	systemctl enable berth-agent.service
	systemctl restart berth-agent.service
	say "berth-agent.service started (journalctl -u berth-agent)"
	exit 0
fi

# No systemd: run it in the background, pid and log in files.
PIDFILE=${BERTH_PIDFILE:-/run/berth-agent.pid}
LOGFILE=${BERTH_LOGFILE:-/var/log/berth-agent.log}
mkdir -p "$(dirname "$PIDFILE")" "$(dirname "$LOGFILE")"
if [ -s "$PIDFILE" ]; then
	old=$(cat "$PIDFILE")
	case $old in
	'' | *[!0-9]*) ;;
	*)
		# Only a berth-agent: the pid may have been reused since.
		if running "$old" && { [ ! -r "/proc/$old/comm" ] ||
			[ "$(cat "/proc/$old/comm")" = berth-agent ]; }; then
			say "stopping the running agent (pid $old)"
			kill "$old" 2>/dev/null || true
			i=0
			while running "$old" && [ $i -lt 50 ]; do
				sleep 0.1
				i=$((i + 1))
			done
			if running "$old"; then
				say "the agent did not stop in 5 s: SIGKILL"
				kill -9 "$old" 2>/dev/null || true
				# SIGKILL is delivered, not waited for: wait.
				i=0
				while running "$old" && [ $i -lt 100 ]; do
					sleep 0.1
					i=$((i + 1))
				done
				! running "$old" ||
					die "the running agent (pid $old) does not stop"
			fi
		fi
		;;
	esac
fi
nohup "$BIN" >>"$LOGFILE" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$PIDFILE"
sleep 1
if ! running "$pid"; then
	say "berth-agent exited at once; the end of $LOGFILE:"
	tail -n 20 "$LOGFILE" >&2
	exit 1
fi
say "berth-agent running without systemd (pid $pid, log $LOGFILE)"
