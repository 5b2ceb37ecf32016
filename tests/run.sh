#!/usr/bin/env bash
# tests/run.sh - run every test layer and print "N passed, N failed".
#
#   unit         build/unit/test_*           (C, pure parts)
#   integration  tests/integration/*.sh      (the real master on loopback)
#   fuzz         tests/fuzz/run.sh           (each libFuzzer target briefly)
#   e2e          tests/e2e/*.sh              (real agents on real Docker)
#
# Each layer's programs print "ok - ..." / "not ok - ..." lines. A program
# that exits non-zero without printing a failure counts as one failure, so
# a crash can never pass. BERTH_TESTS=pattern runs only matching files.
set -u
cd "$(dirname "$0")/.."
BUILD=${BERTH_BUILD:-build}
export BERTH_BUILD=$BUILD
pass=0
fail=0
failed_names=""

run_one() {
	local name=$1
	shift
	local out rc p f
	echo "# $name"
	out=$("$@" 2>"$TMPERR"; echo "rc=$?")
	rc=${out##*rc=}
	out=${out%rc=*}
	printf '%s' "$out"
	p=$(printf '%s' "$out" | grep -c '^ok - ')
	f=$(printf '%s' "$out" | grep -c '^not ok - ')
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "not ok - $name exited $rc"
		sed 's/^/# /' "$TMPERR" | tail -20
		f=1
	fi
	pass=$((pass + p))
	fail=$((fail + f))
	[ "$f" -gt 0 ] && failed_names="$failed_names $name"
}

TMPERR=$(mktemp)
trap 'rm -f "$TMPERR"' EXIT
sel=${BERTH_TESTS:-}

for t in "$BUILD"/unit/test_*; do
	[ -x "$t" ] || continue
	case "$t" in *"$sel"*) ;; *) continue ;; esac
	run_one "unit/$(basename "$t")" "$t"
done
for t in tests/integration/*.sh; do
	[ -f "$t" ] || continue
	case "$t" in *"$sel"*) ;; *) continue ;; esac
	run_one "$t" bash "$t"
done
for t in tests/fuzz/run.sh; do
	[ -f "$t" ] || continue
	case "$t" in *"$sel"*) ;; *) continue ;; esac
	run_one "$t" bash "$t"
done
if ls tests/e2e/*.sh >/dev/null 2>&1 && [ "${BERTH_SKIP_E2E:-0}" != 1 ]; then
	if ! scripts/docker-up.sh >"$TMPERR" 2>&1; then
		echo "not ok - Docker could not be started for the e2e tests"
		sed 's/^/# /' "$TMPERR"
		fail=$((fail + 1))
	else
		for t in tests/e2e/*.sh; do
			case "$t" in *"$sel"*) ;; *) continue ;; esac
			run_one "$t" bash "$t"
		done
	fi
fi

[ -n "$failed_names" ] && echo "# failed:$failed_names"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
