#!/bin/sh
# Static analysis of parcelbot's C sources: cppcheck, then clang-tidy (the
# checks in .clang-tidy, the clang static analyzer among them), over src/*.c
# and, through them, the headers under include/ and src/. Prints each
# finding, then one line per tool with its count, and exits non-zero when
# either tool reports anything. `make lint` runs it after building (the
# generated $BUILD/gen/pb_build.h is needed) with the real compile flags.
#
# A finding is fixed, or suppressed where it occurs with its reason:
#   clang-tidy: `// NOLINT(check): reason`, `/* NOLINTNEXTLINE(check): reason */`
#   cppcheck:   `// cppcheck-suppress id ; reason` on the line before
#               (read thanks to --inline-suppr)
# The few checks off for the whole tree are listed, each with its reason, in
# .clang-tidy and below.
#
# Environment: BUILD (build directory, default build), LINT_CFLAGS (the
# compile flags; the Makefile passes its own), LINT_FILES (optional: only
# these sources), JOBS (parallel clang-tidy runs, default the CPU count).
set -u
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
LINT_CFLAGS=${LINT_CFLAGS:--std=c11 -Iinclude -I$BUILD/gen -D_GNU_SOURCE -pthread}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
files=${LINT_FILES:-$(ls src/*.c)}

for tool in cppcheck clang-tidy; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "lint: $tool is not installed (scripts/install-deps.sh cppcheck clang-tidy)" >&2
		exit 2
	fi
done
if [ ! -f "$BUILD/gen/pb_build.h" ]; then
	echo "lint: $BUILD/gen/pb_build.h is missing (run make first)" >&2
	exit 2
fi

out="$BUILD/lint"
rm -rf "$out/tidy"
mkdir -p "$out/cppcheck-cache" "$out/tidy"

# cppcheck reads the project's own -I and -D flags; the libraries' headers
# are described by its bundled library files instead (it parses system
# headers poorly), plus one for cJSON's iteration macro.
cpp_flags=""
for f in $LINT_CFLAGS; do
	case "$f" in
	-I/*) ;; # system and pkg-config include directories
	-I* | -D* | -U*) cpp_flags="$cpp_flags $f" ;;
	esac
done
start=$(date +%s)
# Off for the whole tree:
#   missingIncludeSystem: system headers are deliberately not given (above).
#   variableScope: the code declares variables at the top of a block on
#     purpose (the house style); narrowing their scope is style only.
#   shadowVariable: the compiler build does not use -Wshadow either; the two
#     places that shadow do it in a loop body on purpose.
# shellcheck disable=SC2086
cppcheck --quiet --std=c11 --enable=warning,style,performance,portability \
	--inline-suppr --error-exitcode=0 -j "$JOBS" \
	--library=posix,gnu,libcurl,sqlite3,openssl,scripts/cppcheck-cjson.cfg \
	--suppress=missingIncludeSystem --suppress=variableScope --suppress=shadowVariable \
	--cppcheck-build-dir="$out/cppcheck-cache" \
	--template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
	$cpp_flags -Isrc $files 2>"$out/cppcheck.txt"
cpp_rc=$?
cpp_n=$(grep -c ': \(error\|warning\|style\|performance\|portability\|information\): ' "$out/cppcheck.txt")
cat "$out/cppcheck.txt"
cpp_secs=$(( $(date +%s) - start ))

# clang-tidy, one process per file. A header's findings show up once per
# file that includes it, so the count is of distinct findings.
start=$(date +%s)
export LINT_CFLAGS out
# shellcheck disable=SC2016
printf '%s\n' $files | xargs -P "$JOBS" -I{} sh -c '
	f=$1
	o="$out/tidy/$(echo "$f" | tr / _).txt"
	# shellcheck disable=SC2086
	clang-tidy --quiet "$f" -- $LINT_CFLAGS >"$o" 2>"$o.err" || {
		rc=$?
		grep -q ": \(warning\|error\): " "$o" || {
			echo "lint: clang-tidy failed on $f (exit $rc):" >&2
			cat "$o.err" >&2
			echo "$f:1:1: error: clang-tidy failed [lint-clang-tidy-failed]" >>"$o"
		}
	}
' sh {}
tidy_secs=$(( $(date +%s) - start ))
cat "$out"/tidy/*.txt 2>/dev/null | grep ': \(warning\|error\): ' | sed "s|^$PWD/||" |
	sort -u >"$out/clang-tidy.txt"
tidy_n=$(wc -l <"$out/clang-tidy.txt")
# The findings with their notes (the analyzer's path to them) are in
# $out/tidy/; the summary lists each distinct finding once.
cat "$out/clang-tidy.txt"

echo
printf 'lint: cppcheck   %3d findings (%ds)\n' "$cpp_n" "$cpp_secs"
printf 'lint: clang-tidy %3d findings (%ds; with the analyzer'"'"'s notes in %s/tidy/)\n' \
	"$tidy_n" "$tidy_secs" "$out"
if [ "$cpp_rc" -ne 0 ]; then
	echo "lint: cppcheck exited $cpp_rc" >&2
	exit 1
fi
[ "$cpp_n" -eq 0 ] && [ "$tidy_n" -eq 0 ]
