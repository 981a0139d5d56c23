# The classifier evaluation: the shared labelled dev set (the issue's
# acceptance bar) and parcelbot's own wider corpus of buyer messages.
. tests/lib.sh

dev=$PB_SRCDIR/../shared/eval/messages-dev.jsonl
if [ -f "$dev" ]; then
	run "$PB_SRCDIR/../shared/eval/score-intents" --min-macro-f1 0.97 --min-exact 0.93 \
		"$dev" -- "$PARCELBOT" classify --jsonl
	ok "$T_RC" "shared dev set: macro-F1 >= 0.97, exact >= 0.93"
	echo "# $(printf '%s\n' "$T_OUT" | tail -1)"
	[ "$T_RC" -ne 0 ] && printf '%s\n' "$T_OUT" | grep '^miss' | sed 's/^/# /'
else
	ok 1 "shared dev set found at $dev (CI clones ../shared beside the repo)"
fi

# parcelbot's own corpora, each written blind to the patterns by someone
# other than their author (see tests/cases/README.md).
for extra in "$PB_SRCDIR"/tests/cases/messages-*.jsonl; do
	[ -f "$extra" ] || continue
	run "$PB_SRCDIR/../shared/eval/score-intents" --min-macro-f1 0.95 --min-exact 0.90 \
		"$extra" -- "$PARCELBOT" classify --jsonl
	ok "$T_RC" "$(basename "$extra"): macro-F1 >= 0.95, exact >= 0.90"
	echo "# $(printf '%s\n' "$T_OUT" | tail -1)"
	[ "$T_RC" -ne 0 ] && printf '%s\n' "$T_OUT" | grep '^miss' | head -40 | sed 's/^/# /'
done

run "$PARCELBOT" kb check "$PB_SRCDIR/kb"
ok "$T_RC" "kb check: every example classifies as its intent"
[ "$T_RC" -ne 0 ] && printf '%s\n' "$T_ERR" | sed 's/^/# /'
done_testing
