# The closed loop from a terminal, against a temporary database: ingest,
# repeat contacts, promises becoming reminders that go overdue, approving
# with edits, rejecting, escalating, notes, resolving with a check-back,
# closing, and feeding the same messages twice.
. tests/lib.sh
P=$PARCELBOT
DB=$T_TMP/pb.db
export PARCELBOT_DB="$DB"
export USER=tester
unset XDG_DATA_HOME

# msg ID CONV TEXT NOW [ORDER] [LAST_EVENT]: one ingest line. The parcel
# last moved at LAST_EVENT, at a hub.
msg() {
	order=null
	parcel=null
	[ -n "${5:-}" ] && order="{\"id\":\"$5\",\"amount\":89,\"currency\":\"CNY\",\"category\":\"food\",\"paid_at\":\"2026-11-14T09:00:00+08:00\",\"shipped_at\":\"2026-11-14T18:00:00+08:00\"}"
	[ -n "${6:-}" ] && parcel="{\"carrier\":\"zto\",\"number\":\"75312345678901\",\"events\":[{\"time\":\"$6\",\"location\":\"杭州转运中心\",\"description\":\"快件已到达【杭州转运中心】\",\"state\":\"in_transit\"}]}"
	printf '{"message_id":"%s","conversation":"%s","buyer":"b-%s","message":"%s","now":"%s","order":%s,"parcel":%s}\n' \
		"$1" "$2" "$2" "$3" "$4" "$order" "$parcel"
}
STUCK=2026-11-17T08:00:00+08:00
sql() { sqlite3 "$DB" "$1"; }

# ---- the commands as a user meets them ----
for c in ingest cases case due approve reject escalate note resolve close; do
	run "$P" help "$c"
	like "$T_OUT" "^usage: parcelbot $c" "help $c shows its usage"
done
run "$P" --help
like "$T_OUT" "approve +approve a case's draft" "the general help lists the case commands"
run "$P" cases --db "$T_TMP/none.db"
is "$T_RC" 2 "a missing database is an error (2), not a new empty one"
like "$T_ERR" "^parcelbot: no database at .*none.db" "and says so in one line"
[ ! -e "$T_TMP/none.db" ]
ok $? "and creates nothing"
run "$P" ingest
is "$T_RC" 1 "ingest without --jsonl is a usage error"
run "$P" approve
is "$T_RC" 1 "approve without an ID is a usage error"
run "$P" approve x1
is "$T_RC" 1 "a case ID must be a number"
run "$P" case 1 --bogus
is "$T_RC" 1 "unknown options are usage errors"

# ---- ingest, and the same messages again ----
{
	msg m1 c1 "物流已经3天没更新了,什么时候能到?" 2026-11-20T10:00:00+08:00 A1 $STUCK
	msg m2 c2 "收到的杯子碎了一个" 2026-11-20T10:05:00+08:00 A2
	msg m3 c3 "Where is my order? Thanks" 2026-11-20T10:10:00+08:00 A3 2026-11-20T08:00:00+08:00
	msg m4 c4 "好的,谢谢" 2026-11-20T10:15:00+08:00
	echo 'not json'
	echo '{"message_id":"m6","message":"no conversation"}'
} >"$T_TMP/day1.jsonl"
run sh -c "'$P' ingest --jsonl --now 2026-11-20T10:20:00+08:00 < '$T_TMP/day1.jsonl'"
is "$T_RC" 2 "ingest exits 2 when a line failed"
like "$T_ERR" "line 5: not valid JSON" "a bad line is reported with its number"
like "$T_ERR" "line 6: conversation is required" "and why"
like "$T_ERR" "ingest: read 6, new 4, duplicate 0, failed 2; processed 4" "summary line"
[ -f "$DB" ]
ok $? "PARCELBOT_DB names the database ingest creates"
is "$(stat -c %a "$DB")" 600 "the database is readable by its owner only"
is "$(sql 'select count(*) from cases')" 3 "three problems, three cases; thanks opens none"
is "$(sql 'PRAGMA journal_mode')" wal "the database is in WAL mode"

before=$(sqlite3 "$DB" .dump | md5sum)
run sh -c "head -4 '$T_TMP/day1.jsonl' | '$P' ingest --jsonl --now 2026-11-20T11:00:00+08:00"
is "$T_RC" 0 "feeding the same messages again succeeds"
like "$T_ERR" "read 4, new 0, duplicate 4, failed 0; processed 0" "and finds only duplicates"
is "$(sqlite3 "$DB" .dump | md5sum)" "$before" "the same message ids change nothing in the database"

run "$P" cases
ok "$T_RC" "cases lists the queue"
like "$T_OUT" "^ID +STATE +SEV +KIND" "with a header"
like "$T_OUT" "1 +drafted +2 +stuck_parcel +1 +cli:c1 +A1" "the stuck parcel, drafted, severity 2"
run "$P" cases --severity 2 --json
is "$(printf '%s' "$T_OUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 2 \
	"--severity 2 --json lists the two moderate cases"
run "$P" cases --state bogus
is "$T_RC" 1 "an unknown state is a usage error"

# ---- repeat contacts: the third is severe ----
{
	msg m7 c1 "还是没动啊,能帮我查一下吗" 2026-11-20T12:00:00+08:00 A1 $STUCK
	msg m8 c1 "物流还是没有更新,怎么回事" 2026-11-20T14:00:00+08:00 A1 $STUCK
} | "$P" ingest --jsonl 2>"$T_TMP/err"
ok $? "two more messages about the stuck parcel"
like "$(cat "$T_TMP/err")" "escalated 1\), cases opened 0, joined 2" "they join case 1; the third contact escalates"
run "$P" case 1 --json
J=$T_OUT
jq() { printf '%s' "$J" | python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }
is "$(jq 'j["case"]["contacts"]')" 3 "case 1 counts three contacts"
is "$(jq 'j["case"]["severity"]')" 3 "and is severe"
is "$(jq 'j["case"]["state"]')" escalated "and handed to a human"
is "$(jq '[x["severity"] for x in j["timeline"] if x["type"]=="draft"]')" "[2, 2, 3]" \
	"draft severities 2, 2, then 3 at the third contact"
is "$(jq '[x["state"] for x in j["timeline"] if x["type"]=="draft"]')" \
	"['superseded', 'superseded', 'escalated']" "every version kept, older ones superseded"
is "$(jq '[x["kind"] for x in j["timeline"] if x["type"]=="action"]')" \
	"['post_draft', 'post_draft', 'hand_off']" "drafts posted, then handed off"
run "$P" case 1
like "$T_OUT" "^case 1: stuck_parcel, escalated, severity 3, 3 contacts" "case shows the case"
like "$T_OUT" "trace +in_transit 杭州转运中心" "with the trace facts"
like "$T_OUT" "state +drafted -> escalated by parcelbot: severity 3" "the escalation and why"
like "$T_OUT" "brief:" "and the brief for the human"

# ---- approve with edits: the edit and its findings are kept ----
printf '亲，快递的问题我们也没办法，请您耐心等待。\n' >"$T_TMP/edit.txt"
run "$P" approve 2 --text "$T_TMP/edit.txt" --as amy --now 2026-11-20T10:30:00+08:00
ok "$T_RC" "approve with an edited text"
like "$T_OUT" "draft v1 approved with your edits by amy" "says what was done"
like "$T_OUT" "reply check: blame_shifting" "prints the edit's findings"
like "$T_OUT" "reply check: apology_not_first" "all of them"
is "$(sql "select kind||'|'||agent||'|'||text from decisions where case_id=2")" \
	"approve_edited|amy|亲，快递的问题我们也没办法，请您耐心等待。" "the edited text is stored with the decision"
like "$(sql "select lint from decisions where case_id=2")" '"code":"blame_shifting"' \
	"and its lint findings"
is "$(sql "select count(*) from outbox where kind='send_reply' and case_id=2")" 1 "the reply is queued once"
run "$P" approve 2 --now 2026-11-20T10:31:00+08:00
is "$T_RC" 2 "approving again is refused"
like "$T_ERR" "^parcelbot: case 2 cannot go from sent to sent" "naming both states"
is "$(sql "select count(*) from outbox where kind='send_reply' and case_id=2")" 1 "and queues nothing"

# ---- a promised time becomes a reminder, which goes overdue ----
printf 'Sorry for the wait! We have asked the courier and will update you by 16:00 today.\n' \
	>"$T_TMP/promise.txt"
run "$P" approve 3 --text "$T_TMP/promise.txt" --now 2026-11-20T11:00:00+08:00 --json
ok "$T_RC" "approve with a promise"
like "$T_OUT" '"reminders":[[:space:]]*2' "two reminders: the promise and the draft's own deadline"
is "$(sql "select kind||'|'||datetime(due,'unixepoch','+8 hours') from reminders where case_id=3 and kind='promise'")" \
	"promise|2026-11-20 16:00:00" "16:00 today is a deadline"
run "$P" due --now 2026-11-20T15:30:00+08:00 --within 1h
like "$T_OUT" "upcoming +case 3 +promise +due 2026-11-20 16:00 \(in 0h30m\)" "due lists it as upcoming"
run "$P" due --now 2026-11-20T16:30:00+08:00 --within 0
like "$T_OUT" "OVERDUE +case 3 +promise +due 2026-11-20 16:00 \(0h30m late\)" "and then as overdue"
run "$P" due --now 2026-11-20T16:30:00+08:00 --escalate --as sup
like "$T_OUT" "escalated [1-9][0-9]* overdue reminders? to a supervisor" "--escalate escalates the overdue ones"
n=$(sql "select count(*) from outbox where kind='notify_supervisor'")
run "$P" due --now 2026-11-20T17:00:00+08:00 --escalate --as sup
like "$T_OUT" "escalated 0 overdue reminders" "each reminder is escalated once"
is "$(sql "select count(*) from outbox where kind='notify_supervisor'")" "$n" "and notified once"
is "$(sql "select count(*) from case_events where what='overdue' and case_id=3")" \
	"$(sql "select count(*) from reminders where case_id=3 and escalated_at is not null")" \
	"the case records every escalation"
run "$P" due --within forever
is "$T_RC" 1 "a bad --within is a usage error"

# ---- reject, escalate, note ----
{
	msg m9 c5 "少发了一件,我买了3个只收到2个" 2026-11-20T12:00:00+08:00 A5
} | "$P" ingest --jsonl 2>/dev/null
run "$P" reject 4 --now 2026-11-20T12:10:00+08:00
is "$T_RC" 1 "reject needs a reason"
run "$P" reject 4 --reason "wrong tone" --now 2026-11-20T12:10:00+08:00
ok "$T_RC" "reject with a reason"
is "$(sql "select state from drafts where case_id=4")" rejected "the draft is rejected"
is "$(sql "select state from cases where id=4")" drafted "the case stays open"
run "$P" note 4 checked the label weight with ZTO --as bob --now 2026-11-20T12:20:00+08:00
ok "$T_RC" "note"
is "$(sql "select agent||': '||text from notes where case_id=4")" "bob: checked the label weight with ZTO" \
	"the note is kept, words joined"
run "$P" escalate 4 --reason "VIP buyer" --now 2026-11-20T12:30:00+08:00
ok "$T_RC" "escalate"
run "$P" escalate 4
is "$T_RC" 2 "escalating twice is refused"
like "$T_ERR" "cannot go from escalated to escalated" "naming both states"
run "$P" case 4
like "$T_OUT" "decision +reject by tester \(draft [0-9]+\): wrong tone" "the timeline shows the rejection"
like "$T_OUT" "note +by bob" "the note"
like "$T_OUT" "state +drafted -> escalated by tester: VIP buyer" "and the escalation"

# ---- resolve schedules the check-back; close ends it ----
run "$P" resolve 2 --outcome teleported
is "$T_RC" 1 "an unknown outcome is a usage error"
run "$P" resolve 2 --outcome partial_refund --now 2026-11-21T09:00:00+08:00
ok "$T_RC" "resolve"
like "$T_OUT" "check back with the buyer by 2026-11-22T09:00:00\+08:00" "says when to check back"
is "$(sql "select count(*) from reminders where case_id=2 and kind='check_back' and done_at is null")" 1 \
	"the check-back is a reminder"
is "$(sql "select count(*) from reminders where case_id=2 and kind<>'check_back' and done_at is null")" 0 \
	"the other deadlines are met"
run "$P" due --now 2026-11-22T09:30:00+08:00 --within 0
like "$T_OUT" "OVERDUE +case 2 +check_back" "an unchecked check-back goes overdue"
run "$P" close 2 --now 2026-11-22T10:00:00+08:00
ok "$T_RC" "close"
is "$(sql "select state from cases where id=2")" closed "the case is closed"
run "$P" close 2
is "$T_RC" 2 "closing twice is refused"
run "$P" cases --state closed
like "$T_OUT" "^2 +closed" "cases --state closed lists it"
run "$P" cases
unlike "$T_OUT" "closed" "the default queue leaves closed cases out"
run "$P" case 99
is "$T_RC" 2 "an unknown case exits 2"
like "$T_ERR" "no case 99" "and says so"

done_testing
