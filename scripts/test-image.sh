#!/bin/sh
# test-image.sh - build the local test image berth-test/busybox:latest.
#
# No image registry is reachable from the test machines, so the image is
# made with `docker import` from a tarball holding the static busybox of the
# busybox-static package plus the applet symlinks tests use. Idempotent:
# does nothing when the image exists. Needs a running engine
# (scripts/docker-up.sh) and busybox-static (scripts/deps.sh).
set -eu

IMAGE=${BERTH_TEST_IMAGE:-berth-test/busybox:latest}
BUSYBOX=/bin/busybox

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
	exit 0
fi

if [ ! -x "$BUSYBOX" ]; then
	echo "test-image: $BUSYBOX missing (install busybox-static)" >&2
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

root="$tmp/root"
mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/proc" "$root/sys" \
    "$root/dev" "$root/www"
cp "$BUSYBOX" "$root/bin/busybox"
for a in sh ash sleep nc httpd echo cat ls ps kill top env true false \
    wget printf date id hostname mkdir rm cp mv grep sed awk head tail \
    yes dd uname free; do
	ln -s busybox "$root/bin/$a"
done
echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
echo 'berth test image' >"$root/www/index.html"

tar -C "$root" -cf "$tmp/rootfs.tar" .
docker import \
    --change 'CMD ["/bin/sh"]' \
    --change 'ENV PATH=/bin' \
    "$tmp/rootfs.tar" "$IMAGE" >/dev/null
echo "test-image: built $IMAGE" >&2
