#!/bin/sh
# Runs every libFuzzer target in build-fuzz/ for FUZZ_SECONDS each (default
# 60), with AddressSanitizer and UBSan, starting from the seed corpus in
# tests/fuzz/corpus/<target>/. New inputs go to build-fuzz/corpus/<target>/;
# crashes to build-fuzz/crashes/ (UBSan findings included: they stop the
# run). Prints executions and coverage per target. Inputs that once failed
# are kept in tests/fuzz/regressions/<target>/, each with a unit test.
set -u
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-60}
status=0
mkdir -p build-fuzz/crashes
for t in build-fuzz/fuzz_*; do
	[ -x "$t" ] || continue
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
	printf '%-16s %10s execs  cov %6s  features %6s  %s\n' "$name" "${execs:-?}" "${cov:-?}" \
		"${ft:-?}" "$( [ $rc -eq 0 ] && echo ok || echo "FAILED (see $log)")"
	[ $rc -eq 0 ] || status=1
done
exit $status
