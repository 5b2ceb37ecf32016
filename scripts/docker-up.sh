#!/bin/sh
# docker-up.sh - make sure a Docker Engine answers on this machine.
#
# Idempotent: exits 0 at once when `docker info` works. Otherwise starts
# dockerd in the background (there is no systemd on the test machines),
# logging to $BERTH_DOCKERD_LOG (default /var/log/berth-dockerd.log), and
# waits up to $BERTH_DOCKERD_WAIT_S (default 30) seconds for it to answer.
# Fails loudly with the tail of the log when it does not come up.
# Installs nothing: scripts/deps.sh does the packages.
set -eu

LOG=${BERTH_DOCKERD_LOG:-/var/log/berth-dockerd.log}
WAIT=${BERTH_DOCKERD_WAIT_S:-30}

docker_ok() {
	docker info >/dev/null 2>&1
}

if docker_ok; then
	exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
	echo "docker-up: dockerd not found (run scripts/deps.sh)" >&2
	exit 1
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

# A dockerd may already be starting (another caller, or a stale pid file
# from a killed daemon); only start one when none runs.
if ! pgrep -x dockerd >/dev/null 2>&1; then
	$SUDO rm -f /var/run/docker.pid
	echo "docker-up: starting dockerd (log: $LOG)" >&2
	# setsid: the daemon must outlive the shell that started it.
	$SUDO sh -c "setsid dockerd ${BERTH_DOCKERD_ARGS:-} >>'$LOG' 2>&1 </dev/null &"
fi

i=0
while [ "$i" -lt "$((WAIT * 2))" ]; do
	if docker_ok; then
		echo "docker-up: docker is up" >&2
		exit 0
	fi
	sleep 0.5
	i=$((i + 1))
done

echo "docker-up: dockerd did not answer within ${WAIT}s; last log lines:" >&2
tail -n 30 "$LOG" >&2 || true
exit 1
