#!/usr/bin/env bash
# tests/run.sh - run the test layers and print "N passed, N failed".
#
#   unit         build/unit/test_*           (C, pure parts)
#   integration  tests/integration/*.sh      (the real master on loopback)
#   fuzz         tests/fuzz/run.sh           (each libFuzzer target briefly)
#   e2e          tests/e2e/*.sh              (real agents on real Docker)
#
# Each layer's programs print "ok - ..." / "not ok - ..." lines. A program
# that exits non-zero without printing a failure counts as one failure, so
# a crash can never pass. "ok - ... # SKIP why" is a skipped check: counted
# apart (a "# N skipped" line), neither passed nor failed.
#
#   BERTH_TESTS=pattern   run only the files whose path contains pattern
#   BERTH_LAYERS="unit integration"
#                         the layers to run (default: all four)
#   BERTH_SKIP_E2E=1      leave out the e2e layer
#   BERTH_JOBS=N          run up to N integration scripts at once (default
#                         1); each script's output is printed in one piece,
#                         in file order, once it has finished
set -u
cd "$(dirname "$0")/.."
BUILD=${BERTH_BUILD:-build}
export BERTH_BUILD=$BUILD
LAYERS=" ${BERTH_LAYERS:-unit integration fuzz e2e} "
JOBS=${BERTH_JOBS:-1}
pass=0
fail=0
skip=0
failed_names=""
skipped=""

OUT=$(mktemp -d /tmp/berth-run.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
sel=${BERTH_TESTS:-}

layer() { case "$LAYERS" in *" $1 "*) return 0 ;; esac; return 1; }
selected() { case "$1" in *"$sel"*) return 0 ;; esac; return 1; }

# capture KEY CMD...: run CMD; its stdout, stderr, exit status and seconds
# go to $OUT/KEY.{out,err,rc,s}.
capture() {
	local key=$1 t0=$SECONDS
	shift
	"$@" >"$OUT/$key.out" 2>"$OUT/$key.err" </dev/null
	echo $? >"$OUT/$key.rc"
	echo $((SECONDS - t0)) >"$OUT/$key.s"
}

# report NAME KEY: print what capture KEY recorded and count it.
report() {
	local name=$1 key=$2 rc p f s secs
	secs=$(cat "$OUT/$key.s")
	echo "# $name$([ "$secs" -gt 0 ] && echo " ($secs s)")"
	sed '$a\' "$OUT/$key.out"
	rc=$(cat "$OUT/$key.rc")
	p=$(grep -c '^ok - ' "$OUT/$key.out")
	s=$(grep -c '^ok - .*# [Ss][Kk][Ii][Pp]' "$OUT/$key.out")
	f=$(grep -c '^not ok - ' "$OUT/$key.out")
	p=$((p - s))
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "not ok - $name exited $rc"
		sed 's/^/# /' "$OUT/$key.err" | tail -20
		f=1
	fi
	pass=$((pass + p))
	fail=$((fail + f))
	skip=$((skip + s))
	if [ "$f" -gt 0 ]; then
		failed_names="$failed_names $name"
		# Kept for the end: a CI log shows its tail, not the middle.
		{
			echo "# ---- $name: its failures, each after the lines before it"
			grep -B4 '^not ok - ' "$OUT/$key.out" | tail -40
			[ -s "$OUT/$key.err" ] && sed 's/^/# stderr: /' \
			    "$OUT/$key.err" | tail -20
		} >>"$OUT/failures"
	fi
	[ "$s" -gt 0 ] && skipped="$skipped $name ($(sed -n \
	    's/^ok - \(.*\) # [Ss][Kk][Ii][Pp].*/\1/p' "$OUT/$key.out" |
	    paste -sd, -))"
}

run_one() {
	local name=$1
	shift
	capture one "$@"
	report "$name" one
}

# run_parallel SCRIPT...: up to $JOBS at once, the slowest of the last run
# ($TIMES) first; each is reported once it and every script before it in
# file order have finished, so the report reads in file order.
TIMES=$BUILD/.test-times
run_parallel() {
	local n=$# i k started=0 done_to=0 running t
	local -a scripts=("$@") order=()
	# Launch order: by the seconds the last run took, unknown ones first.
	while read -r t i; do order+=("$i"); done < <(
	    for ((i = 0; i < n; i++)); do
		t=$(awk -v s="${scripts[$i]}" '$1 == s { print $2 }' "$TIMES" 2>/dev/null)
		echo "${t:-9999} $i"
	    done | sort -k1,1nr -k2,2n)
	while [ "$done_to" -lt "$n" ]; do
		running=0
		for ((k = 0; k < started; k++)); do
			[ -e "$OUT/p${order[$k]}.s" ] || running=$((running + 1))
		done
		while [ "$started" -lt "$n" ] && [ "$running" -lt "$JOBS" ]; do
			i=${order[$started]}
			capture "p$i" bash "${scripts[$i]}" &
			started=$((started + 1))
			running=$((running + 1))
		done
		while [ "$done_to" -lt "$n" ] && [ -e "$OUT/p$done_to.s" ]; do
			report "${scripts[$done_to]}" "p$done_to"
			done_to=$((done_to + 1))
		done
		[ "$done_to" -lt "$n" ] && sleep 0.2
	done
	wait
	for ((i = 0; i < n; i++)); do
		echo "${scripts[$i]} $(cat "$OUT/p$i.s")"
	done >"$OUT/times.now"
	if [ -f "$TIMES" ]; then	# keep the times of the ones not run now
		awk 'NR == FNR { now[$1] = 1; next } !($1 in now)' \
		    "$OUT/times.now" "$TIMES" >>"$OUT/times.now"
	fi
	mkdir -p "$BUILD" && cp "$OUT/times.now" "$TIMES"
}

if layer unit; then
	for t in "$BUILD"/unit/test_*; do
		[ -x "$t" ] || continue
		selected "$t" || continue
		run_one "unit/$(basename "$t")" "$t"
	done
fi
ints=()
if layer integration; then
	for t in tests/integration/*.sh; do
		[ -f "$t" ] || continue
		selected "$t" && ints+=("$t")
	done
fi
e2es=()
if layer e2e && [ "${BERTH_SKIP_E2E:-0}" != 1 ]; then
	for t in tests/e2e/*.sh; do
		[ -f "$t" ] || continue
		selected "$t" && e2es+=("$t")
	done
fi
# The integration scripts need no Docker and the e2e scripts wait mostly
# on Docker, so with both to run (and BERTH_OVERLAP not 0) they go side by
# side in three lanes, each one script at a time: the e2e scripts in the
# foreground; in the background, the e2e scripts that say "# test-lane:
# side" (they mostly wait, and touch only containers of their own nodes),
# then the fuzz layer (a clang build, then two targets at a time), in one
# lane, and the integration scripts in another. Without the overlap the
# fuzz layer runs alone, before the e2e layer.
overlap=0
if [ "${BERTH_OVERLAP:-1}" != 0 ] && [ "${#ints[@]}" -gt 0 ] &&
    [ "${#e2es[@]}" -gt 0 ] && [ "$JOBS" -le 1 ]; then
	overlap=1
fi
side=()
if [ "$overlap" = 1 ]; then
	fg=()
	for t in "${e2es[@]}"; do
		if grep -qx '# test-lane: side' "$t"; then
			side+=("$t")
		else
			fg+=("$t")
		fi
	done
	e2es=("${fg[@]}")
fi

# run_ints: the integration layer, in the foreground.
run_ints() {
	if [ "$JOBS" -gt 1 ] && [ "${#ints[@]}" -gt 1 ]; then
		echo "# integration: ${#ints[@]} scripts, up to $JOBS at once"
		run_parallel "${ints[@]}"
	else
		for t in "${ints[@]}"; do run_one "$t" bash "$t"; done
	fi
}

# The background lane's scripts are reported, in order, as they end.
lane_done=0
report_lane() {
	while [ "$lane_done" -lt "${#lane_list[@]}" ] &&
	    [ -e "$OUT/i$lane_done.s" ]; do
		report "${lane_list[$lane_done]}" "i$lane_done"
		lane_done=$((lane_done + 1))
	done
}

[ "$overlap" = 0 ] && run_ints
fuzz=()
if layer fuzz; then
	for t in tests/fuzz/run.sh; do
		[ -f "$t" ] || continue
		selected "$t" && fuzz+=("$t")
	done
fi
if [ "$overlap" = 0 ]; then
	for t in "${fuzz[@]}"; do run_one "$t" bash "$t"; done
fi
docker_ok=1
if [ "${#e2es[@]}" -gt 0 ] || [ "${#side[@]}" -gt 0 ]; then
	if ! scripts/docker-up.sh >"$OUT/docker.err" 2>&1; then
		echo "not ok - Docker could not be started for the e2e tests"
		sed 's/^/# /' "$OUT/docker.err"
		fail=$((fail + 1))
		docker_ok=0
	fi
fi
if [ "$overlap" = 1 ]; then
	lane_list=()
	[ "$docker_ok" = 1 ] && lane_list+=("${side[@]}")
	nside=${#lane_list[@]}
	lane_list+=("${fuzz[@]}")
	nfirst=${#lane_list[@]}
	lane_list+=("${ints[@]}")
	echo "# in the background: ${#lane_list[@]} scripts (${#ints[@]} integration, $nside e2e), beside ${#e2es[@]} e2e"
	# Two background lanes: the side e2e scripts (then fuzz) in one,
	# the integration scripts in the other; the lanes and the
	# foreground take about as long each.
	(for ((k = 0; k < nfirst; k++)); do
		capture "i$k" bash "${lane_list[$k]}"
	done) &
	lane=$!
	(for ((k = nfirst; k < ${#lane_list[@]}; k++)); do
		capture "i$k" bash "${lane_list[$k]}"
	done) &
	lane2=$!
fi
if [ "$docker_ok" = 1 ]; then
	for t in "${e2es[@]}"; do
		run_one "$t" bash "$t"
		[ "$overlap" = 1 ] && report_lane
	done
fi
if [ "$overlap" = 1 ]; then
	wait "$lane" "$lane2"
	report_lane
fi

[ -s "$OUT/failures" ] && cat "$OUT/failures"
[ -n "$failed_names" ] && echo "# failed:$failed_names"
[ "$skip" -gt 0 ] && echo "# $skip skipped:$skipped"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
