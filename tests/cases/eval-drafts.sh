# The drafting evaluation: the shared dev scenarios through `draft --jsonl`,
# scored by the shared scorer (the issue's acceptance bar).
. tests/lib.sh

dev=$PB_SRCDIR/../shared/eval/scenarios-dev.jsonl
if [ -f "$dev" ]; then
	run "$PB_SRCDIR/../shared/eval/score-drafts" --min-pass 0.95 "$dev" -- "$PARCELBOT" draft --jsonl
	ok "$T_RC" "shared scenarios: pass rate >= 0.95"
	echo "# $(printf '%s\n' "$T_OUT" | tail -1)"
	[ "$T_RC" -ne 0 ] && printf '%s\n' "$T_OUT" | grep FAIL | sed 's/^/# /'
else
	ok 1 "shared scenarios found at $dev (CI clones ../shared beside the repo)"
fi
done_testing
