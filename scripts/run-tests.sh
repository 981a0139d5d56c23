#!/bin/sh
# Runs the whole parcelbot test suite and prints one summary line,
# "N passed, N failed". Every suite speaks TAP ("ok N - name" /
# "not ok N - name"): the cmocka unit binaries, the shell suites under
# tests/e2e and tests/cases, and the evaluation scorers. A suite that dies
# without reporting counts as one failure.
#
# Environment: BUILD (build directory), PARCELBOT (binary under test),
# TESTS (optional: only suites whose path contains this string).
set -u
cd "$(dirname "$0")/.." || exit 2
. scripts/test-env.sh

passed=0
failed=0
failures=""
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

run_suite() {
	name=$1
	shift
	case "$name" in *"${TESTS:-}"*) ;; *) return ;; esac
	start=$(date +%s)
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	p=$(grep -c '^ok ' "$tmp/out")
	f=$(grep -c '^not ok ' "$tmp/out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited $rc without reporting a failure" >>"$tmp/out"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	secs=$(( $(date +%s) - start ))
	printf '%-44s %4d passed %3d failed  %3ds\n' "$name" "$p" "$f" "$secs"
	if [ "$f" -gt 0 ]; then
		failures="$failures $name"
		echo "---- $name ----"
		grep -v '^ok ' "$tmp/out" | head -60
		tail -40 "$tmp/err"
		echo "----"
	fi
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	run_suite "unit/$(basename "$t")" "$t"
done
for s in tests/cases/*.sh tests/e2e/*.sh; do
	[ -f "$s" ] || continue
	run_suite "$s" sh "$s"
done

echo
[ -n "$failures" ] && echo "failed suites:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
