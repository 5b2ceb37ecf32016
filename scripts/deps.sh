#!/bin/sh
# deps.sh - install the Debian packages berth needs to build, test and demo.
#
# Does nothing (and needs no network) when every package is already present,
# so `make test` and `make demo` can call it every time. Runs apt-get as root,
# or through sudo when not root.
set -eu

PKGS="build-essential pkg-config clang libclang-rt-14-dev
libmicrohttpd-dev libwebsockets-dev libsqlite3-dev libjansson-dev
libcurl4-openssl-dev libyaml-dev libssl-dev libev-dev libxml2-dev
libwebsockets-evlib-ev
sqlite3 curl jq docker.io busybox-static iproute2 procps psmisc
cloud-init wrk python3-botocore awscli"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: done"
