#!/usr/bin/env bash
# tests/fuzz/run.sh - build the libFuzzer targets and run each for a while.
#
#	tests/fuzz/run.sh			the CI layer (tests/run.sh runs it):
#						FUZZ_CI_SECONDS each, default 4
#	FUZZ_SECONDS=60 tests/fuzz/run.sh	make fuzz
#
# Targets are tests/fuzz/fuzz_<name>.c, built with clang into build-fuzz/
# (make FUZZ=1; an up-to-date build is reused). Each runs over a copy of
# its seeds, build-fuzz/corpus/<name>/, which keeps what it found between
# runs; tests/fuzz/corpus/<name>/ only ever holds the committed seeds.
# Targets run side by side, one per CPU. For each this prints
#	ok - fuzz_<name>: N execs, no crash	(or "not ok - ...")
#	fuzz_<name>_execs N execs
# and exits 1 if any crashed (the input is kept in build-fuzz/artifacts/,
# the log in build-fuzz/logs/). Runs at the same time (two checkouts' make
# test on one tree) share the build under a lock and keep their own logs.
set -u
cd "$(dirname "$0")/../.."
SECS=${FUZZ_SECONDS:-${FUZZ_CI_SECONDS:-4}}
OUT=build-fuzz
mkdir -p "$OUT/logs"
LOGS=$(mktemp -d "$OUT/logs/run.XXXXXX")

if ! command -v clang >/dev/null 2>&1; then
	echo "not ok - fuzz: clang is not installed (make deps)"
	exit 1
fi
if ! flock "$OUT/.build.lock" make -j"$(nproc)" --no-print-directory \
    BUILD=$OUT FUZZ=1 CC=clang fuzz-bins >"$LOGS/build.log" 2>&1; then
	echo "not ok - fuzz: the targets do not build"
	tail -20 "$LOGS/build.log" | sed 's/^/# /'
	exit 1
fi

# run_target NAME: fuzz one target; its verdict goes to $LOGS/NAME.result.
run_target() {
	local name=$1 short=${1#fuzz_} log=$LOGS/$1.log rc execs
	local work=$OUT/corpus/$short art=$OUT/artifacts/$short/

	mkdir -p "$work" "$art"
	if [ -d "tests/fuzz/corpus/$short" ]; then
		cp -n tests/fuzz/corpus/"$short"/* "$work"/ 2>/dev/null
	fi
	local dict=
	[ -f "tests/fuzz/$short.dict" ] && dict=-dict=tests/fuzz/$short.dict
	"$OUT/fuzz/$name" $dict -max_total_time="$SECS" -timeout=10 \
	    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$art" \
	    "$work" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" |
	    tail -1)
	{
		if [ "$rc" = 0 ]; then
			echo "ok - $name: ${execs:-0} execs, no crash"
		else
			echo "not ok - $name: exited $rc after ${execs:-?} execs;" \
			    "input in $art (run $OUT/fuzz/$name <file>), log $log"
			grep -E -A25 'ERROR: |runtime error|==ERROR|deadly signal' \
			    "$log" | head -40 | sed 's/^/# /'
		fi
		echo "${name}_execs ${execs:-0} execs"
	} >"$LOGS/$name.result"
	[ "$rc" = 0 ]
}

names=()
for f in tests/fuzz/fuzz_*.c; do
	n=${f##*/}
	names+=("${n%.c}")
done

jobs=$(nproc 2>/dev/null || echo 2)
running=0
for n in "${names[@]}"; do
	run_target "$n" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

fail=0
for n in "${names[@]}"; do
	if [ -f "$LOGS/$n.result" ]; then
		cat "$LOGS/$n.result"
		grep -q '^not ok' "$LOGS/$n.result" && fail=1
	else
		echo "not ok - $n: no result"
		fail=1
	fi
done
[ "$fail" = 0 ] && rm -rf "$LOGS"
exit $fail
