#!/bin/sh
# agent-image.sh - build a Docker image of this build's berth-agent, for the
# docker provider of node groups (docs/autoscaling.md), without a registry:
# a root file system holding the binary and the shared libraries it links
# (as ldd names them, at the same paths), made into an image with
# `docker import`.
#
#	scripts/agent-image.sh [TAG] [AGENT]
#
# TAG defaults to berth-agent:local, AGENT to build/bin/berth-agent.
# Idempotent: an image of that tag already there is kept (pass a tag of
# the binary's hash to rebuild on change, as the tests do). Needs a running
# Engine (scripts/docker-up.sh).
set -eu

TAG=${1:-berth-agent:local}
AGENT=${2:-$(dirname "$0")/../build/bin/berth-agent}

if docker image inspect "$TAG" >/dev/null 2>&1; then
	exit 0
fi
if [ ! -x "$AGENT" ]; then
	echo "agent-image: $AGENT missing (make first)" >&2
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
root="$tmp/root"
mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/proc" "$root/sys" \
    "$root/dev"
chmod 1777 "$root/tmp"
cp "$AGENT" "$root/bin/berth-agent"
# Every library it needs, and the dynamic loader, where ldd finds them.
ldd "$AGENT" | awk '/=> \// { print $3 } /^[[:space:]]*\// { print $1 }' |
while read -r lib; do
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done
echo 'root:x:0:0:root:/:/bin/berth-agent' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"

tar -C "$root" -cf "$tmp/rootfs.tar" .
docker import \
    --change 'ENTRYPOINT ["/bin/berth-agent"]' \
    --change 'ENV PATH=/bin' \
    "$tmp/rootfs.tar" "$TAG" >/dev/null
echo "agent-image: built $TAG" >&2
