#!/bin/sh
# Runs every cmocka unit test binary ($BUILD/tests/test_*) under valgrind
# memcheck and prints one line per binary: tests passed and failed, memcheck
# errors, bytes leaked (definitely + indirectly lost) and seconds taken, then
# a total. Exits non-zero if any test fails, memcheck reports any error or
# any definite or indirect leak, or a binary dies without reporting.
#
# The binaries are the normal build's (make check-build); nothing is rebuilt
# here. tests/valgrind.supp holds suppressions for third-party library noise
# only, each with its reason. A failing binary's valgrind log is printed
# (its first 200 lines) and kept in $BUILD/valgrind/.
#
# Environment: BUILD (build directory, default build), TESTS (optional: only
# binaries whose name contains this string), VALGRIND_FLAGS (extra memcheck
# options, e.g. --track-origins=yes when chasing an uninitialised value).
set -u
cd "$(dirname "$0")/.." || exit 2
. scripts/test-env.sh

if ! command -v valgrind >/dev/null 2>&1; then
	echo "valgrind: not installed (scripts/install-deps.sh valgrind)" >&2
	exit 2
fi

logdir="$BUILD/valgrind"
rm -rf "$logdir"
mkdir -p "$logdir"

# 97 is what memcheck exits with when it found an error (a test failure
# exits with cmocka's own count, at most a few dozen).
VG_ERR=97
# shellcheck disable=SC2086
set -- --tool=memcheck --error-exitcode=$VG_ERR \
	--leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect \
	--num-callers=30 --child-silent-after-fork=yes \
	--suppressions="$PWD/tests/valgrind.supp" --gen-suppressions=all \
	${VALGRIND_FLAGS:-}

now() { date +%s.%N; }

total_p=0 total_f=0 total_err=0 total_leak=0 bad="" n=0
start_all=$(now)
printf '%-22s %6s %6s %6s %10s %8s\n' binary passed failed errors leaked seconds
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] && [ -f "$t" ] || continue
	name=$(basename "$t")
	case "$name" in *"${TESTS:-}"*) ;; *) continue ;; esac
	n=$((n + 1))
	log="$logdir/$name.log"
	out="$logdir/$name.out"
	t0=$(now)
	valgrind "$@" --log-file="$log" "$t" >"$out" 2>&1
	rc=$?
	t1=$(now)
	p=$(grep -c '^ok ' "$out")
	f=$(grep -c '^not ok ' "$out")
	# The last summary line is the main process's (children are silent).
	err=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$log" | tail -1 | tr -d ,)
	def=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tail -1 | tr -d ,)
	ind=$(sed -n 's/.*indirectly lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tail -1 | tr -d ,)
	leak=$(( ${def:-0} + ${ind:-0} ))
	[ -n "$err" ] || err=1 # no summary: valgrind itself died
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && [ "$err" -eq 0 ]; then
		f=1 # died, or exited non-zero, without reporting a failure
	fi
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	printf '%-22s %6d %6d %6d %10d %8s\n' "$name" "$p" "$f" "$err" "$leak" "$secs"
	total_p=$((total_p + p))
	total_f=$((total_f + f))
	total_err=$((total_err + err))
	total_leak=$((total_leak + leak))
	if [ "$f" -gt 0 ] || [ "$err" -gt 0 ] || [ "$leak" -gt 0 ] || [ "$rc" -ne 0 ]; then
		bad="$bad $name"
		echo "---- $name (exit $rc) ----"
		grep -v '^ok ' "$out" | head -40
		head -200 "$log"
		echo "----"
	fi
done
secs=$(awk -v a="$start_all" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
printf '%-22s %6d %6d %6d %10d %8s\n' "total ($n binaries)" "$total_p" "$total_f" \
	"$total_err" "$total_leak" "$secs"
if [ "$n" -eq 0 ]; then
	echo "valgrind: no test binaries under $BUILD/tests (make check-build)" >&2
	exit 1
fi
if [ -n "$bad" ]; then
	echo "valgrind: failed:$bad (logs in $logdir/)"
	exit 1
fi
echo "valgrind: $n binaries clean"
