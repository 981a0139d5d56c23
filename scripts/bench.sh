#!/bin/sh
# Runs parcelbot's benchmarks and prints their figures. Not part of
# `make test`: timings depend on the machine and are reported, not asserted.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
for b in "$BUILD"/bench/bench_*; do
	[ -x "$b" ] || continue
	echo "== $(basename "$b")"
	# Pin to one core where taskset exists: the figures are per core.
	if command -v taskset >/dev/null 2>&1; then
		taskset -c 0 "$b" kb
	else
		"$b" kb
	fi
	echo
done
# The daemon end to end, against the sandbox on loopback (all cores).
echo "== serve (end to end)"
PARCELBOT=${PARCELBOT:-./parcelbot} python3 scripts/bench_serve.py
# The proactive watch: parcels assessed per second within a rate limit.
echo
echo "== scan"
PARCELBOT=${PARCELBOT:-./parcelbot} python3 scripts/bench_scan.py
