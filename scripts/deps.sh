#!/bin/sh
# deps.sh - install the Debian and npm packages berth needs to build, test
# and demo.
#
# Does nothing (and needs no network) when every package is already present,
# so `make test` and `make demo` can call it every time. Runs apt-get as root,
# or through sudo when not root.
set -eu

PKGS="build-essential pkg-config clang libclang-rt-14-dev
libmicrohttpd-dev libwebsockets-dev libsqlite3-dev libjansson-dev
libcurl4-openssl-dev libyaml-dev libssl-dev libev-dev libxml2-dev zlib1g-dev
libldns-dev libdqlite-dev libraft-dev libuv1-dev
libwebsockets-evlib-ev
sqlite3 curl jq docker.io busybox-static iproute2 iptables procps psmisc
cloud-init wrk python3-botocore awscli nodejs chromium"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
# Debian ships npm apart from nodejs; NodeSource's nodejs carries its own.
command -v npm >/dev/null 2>&1 || missing="$missing npm"

if [ -n "$missing" ]; then
	echo "deps: installing:$missing"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
	echo "deps: done"
fi

# The dashboard's npm packages (docs/dashboard.md), exactly as
# web/package-lock.json pins them: uplot, which the build vendors into
# berth-master, and playwright-core, which drives Debian's chromium in the
# browser tests. Reinstalled only when the lock file changed.
web=$(cd "$(dirname "$0")/../web" && pwd)
if ! cmp -s "$web/package-lock.json" "$web/node_modules/.berth-lock" 2>/dev/null; then
	echo "deps: npm ci in web/"
	(cd "$web" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) >/dev/null
	cp "$web/package-lock.json" "$web/node_modules/.berth-lock"
fi
