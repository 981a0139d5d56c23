#!/bin/sh
# Runs every libFuzzer target in build-fuzz/ for FUZZ_SECONDS each (default
# 60), with AddressSanitizer and UBSan, starting from the seed corpus in
# tests/fuzz/corpus/<target>/. New inputs go to build-fuzz/corpus/<target>/;
# crashes to build-fuzz/crashes/ (UBSan findings included: they stop the
# run). FUZZ_JOBS targets run at once (default 1); FUZZ_TARGETS limits the
# run to targets whose name contains one of its words. Prints executions and
# coverage (edges reached of the edges instrumented) per target. Inputs that
# once failed are kept in tests/fuzz/regressions/<target>/, each replayed by
# a unit test.
set -u
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-1}
mkdir -p build-fuzz/crashes

run_one() {
	t=$1
	name=$(basename "$t")
	mkdir -p "build-fuzz/corpus/$name"
	log="build-fuzz/$name.log"
	PB_FUZZ_KB="$PWD/kb" "$t" -max_total_time="$secs" -max_len=16384 -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="build-fuzz/crashes/$name-" \
		"build-fuzz/corpus/$name" "tests/fuzz/corpus/$name" </dev/null >"$log" 2>&1
	rc=$?
	execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
	ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
	edges=$(grep -o 'Loaded 1 modules *([0-9]*' "$log" | head -1 | grep -o '[0-9]*$')
	corpus=$(ls "build-fuzz/corpus/$name" | wc -l)
	printf '%-16s %11s execs  cov %6s of %6s edges  features %6s  corpus %5s  %s\n' \
		"$name" "${execs:-?}" "${cov:-?}" "${edges:-?}" "${ft:-?}" "$corpus" \
		"$( [ $rc -eq 0 ] && echo ok || echo "FAILED (see $log)")"
	return $rc
}

targets=""
for t in build-fuzz/fuzz_*; do
	[ -x "$t" ] || continue
	if [ -n "${FUZZ_TARGETS:-}" ]; then
		hit=0
		for w in $FUZZ_TARGETS; do
			case "$t" in *"$w"*) hit=1 ;; esac
		done
		[ $hit -eq 1 ] || continue
	fi
	targets="$targets $t"
done

# Lanes: target i runs in lane i mod jobs, lanes run side by side.
status=0
lane=0
pids=""
while [ $lane -lt "$jobs" ]; do
	(
		i=0
		rc=0
		for t in $targets; do
			[ $((i % jobs)) -eq $lane ] && { run_one "$t" || rc=1; }
			i=$((i + 1))
		done
		exit $rc
	) &
	pids="$pids $!"
	lane=$((lane + 1))
done
for p in $pids; do
	wait "$p" || status=1
done
exit $status
