# The command line as a user meets it: help, exit codes, one-line errors,
# JSON lines in and out, a broken KB, and an installed copy finding its KB.
. tests/lib.sh
P=$PARCELBOT

run "$P" --help
ok "$T_RC" "--help exits 0"
like "$T_OUT" "classify" "--help lists classify"
run "$P" --version
like "$T_OUT" "^parcelbot [0-9]+\.[0-9]+\.[0-9]+$" "--version prints the version"
run "$P" help classify
like "$T_OUT" "--jsonl" "help classify shows its options"
run "$P" classify --help
like "$T_OUT" "usage: parcelbot classify" "classify --help"
run "$P"
is "$T_RC" 1 "no command is a usage error (1)"
run "$P" frobnicate
is "$T_RC" 1 "unknown command exits 1"
is "$(printf '%s\n' "$T_ERR" | wc -l)" 1 "usage error is one line"
like "$T_ERR" "unknown command 'frobnicate'" "and names the command"
run "$P" classify --bogus
is "$T_RC" 1 "unknown option exits 1"
run "$P" classify
is "$T_RC" 1 "classify without text exits 1"

run "$P" classify 物流已经3天没更新了
ok "$T_RC" "classify TEXT exits 0"
like "$T_OUT" "intents: +stuck_parcel" "human output names the intent"
like "$T_OUT" "stuck_parcel\.[a-z_]+ +bytes [0-9]+-[0-9]+" "shows which pattern fired and where"
like "$T_OUT" "duration +\"3天\" = 72 hours" "shows the duration entity"
run "$P" classify thanks, got it
like "$T_OUT" "not a logistics problem" "a non-logistics message says so"

run "$P" classify "$(printf 'bad \377 byte')"
is "$T_RC" 2 "invalid UTF-8 in TEXT exits 2"
like "$T_ERR" "not valid UTF-8" "with a clear message"

printf '%s\n' '{"id":1,"text":"签收了没收到"}' 'not json' '{"text":5}' '' \
	'{"text":"Where is my order?"}' >"$T_TMP/in.jsonl"
printf '{"text":"bad \377"}\n' >>"$T_TMP/in.jsonl"
run sh -c "\"$P\" classify --jsonl < \"$T_TMP/in.jsonl\""
is "$T_RC" 2 "jsonl with bad lines exits 2 after all lines"
is "$(printf '%s\n' "$T_OUT" | wc -l)" 5 "one output line per non-blank input line"
like "$(printf '%s\n' "$T_OUT" | sed -n 1p)" '"intents":\["signed_not_received"\].*"id":1' \
	"first line classified, id copied through"
like "$(printf '%s\n' "$T_OUT" | sed -n 2p)" '"error":"line 2 is not a JSON object"' \
	"malformed JSON gets an error line"
like "$(printf '%s\n' "$T_OUT" | sed -n 3p)" 'no \\"text\\" string' "missing text gets an error line"
like "$(printf '%s\n' "$T_OUT" | sed -n 4p)" '"where_is_order"' "later lines still classified"
like "$(printf '%s\n' "$T_OUT" | sed -n 5p)" 'not valid UTF-8' "invalid UTF-8 gets an error line"

# A huge line is refused with an error line, and the next line still works.
python3 -c "import sys; sys.stdout.write('{\"text\":\"' + 'a'*1100000 + '\"}\n{\"text\":\"包裹丢了\"}\n')" \
	>"$T_TMP/big.jsonl"
run sh -c "\"$P\" classify --jsonl < \"$T_TMP/big.jsonl\""
like "$(printf '%s\n' "$T_OUT" | sed -n 1p)" 'longer than' "an over-long line is refused"
like "$(printf '%s\n' "$T_OUT" | sed -n 2p)" 'lost_parcel' "the line after it is still classified"

# A broken KB is rejected with file:line:col and exit 2, whole.
cp -r "$PB_SRCDIR/kb" "$T_TMP/kb"
sed -i 's/^  - id: damaged$/  - id: damaged\n    colour: red/' "$T_TMP/kb/intents.yaml"
sed -i "0,/match: '/s//match: '(/" "$T_TMP/kb/signals.yaml"
run "$P" --kb "$T_TMP/kb" classify hello
is "$T_RC" 2 "a broken KB exits 2"
like "$T_ERR" "intents.yaml:[0-9]+:5: unknown key 'colour'" "unknown key reported at line:col"
like "$T_ERR" "signals.yaml:[0-9]+:[0-9]+: regex does not compile" "bad regex reported at line:col"
like "$T_ERR" "rejected \(2 errors\)" "every error is reported"
run "$P" kb check "$T_TMP/kb"
is "$T_RC" 2 "kb check on a broken KB exits 2"
run "$P" kb check "$PB_SRCDIR/kb"
ok "$T_RC" "kb check on the shipped KB passes"
like "$T_OUT" "0 problems" "and reports no problems"
PARCELBOT_KB="$T_TMP/nope" run "$P" classify hi
is "$T_RC" 2 "a missing KB directory exits 2"
like "$T_ERR" "knowledge base directory not found" "and says so"

# make install: the installed binary, run from elsewhere with no --kb and no
# PARCELBOT_KB, finds the KB that was installed with it. It is built in its
# own directory so the suite's build (maybe a sanitizer build) is untouched.
pre="$T_TMP/prefix"
if make -C "$PB_SRCDIR" --no-print-directory -s -j2 install PREFIX="$pre" \
	BUILD="$T_TMP/build" NO_DEPS=1 >"$T_TMP/inst.log" 2>&1; then
	ok 0 "make install PREFIX=..."
	ok "$([ -f "$pre/share/parcelbot/kb/intents.yaml" ]; echo $?)" "KB installed under PREFIX/share/parcelbot/kb"
	(cd / && env -u PARCELBOT_KB "$pre/bin/parcelbot" classify 快递丢了 >"$T_TMP/o" 2>&1)
	like "$(cat "$T_TMP/o")" "lost_parcel" "installed binary finds the installed KB by itself"
	make -C "$PB_SRCDIR" --no-print-directory -s install PREFIX="$pre" DESTDIR="$T_TMP/stage" \
		BUILD="$T_TMP/build" NO_DEPS=1 >/dev/null 2>&1
	ok "$([ -x "$T_TMP/stage$pre/bin/parcelbot" ] && [ -f "$T_TMP/stage$pre/share/parcelbot/kb/carriers.yaml" ]; echo $?)" \
		"DESTDIR stages the same tree"
	make -C "$PB_SRCDIR" --no-print-directory -s uninstall PREFIX="$pre" BUILD="$T_TMP/build" \
		NO_DEPS=1 >/dev/null 2>&1
	ok "$([ ! -e "$pre/bin/parcelbot" ] && [ ! -e "$pre/share/parcelbot" ]; echo $?)" "make uninstall removes both"
else
	ok 1 "make install PREFIX=..."
	sed 's/^/# /' "$T_TMP/inst.log"
fi
done_testing
