# Crash safety: ingest a stream of 10,000 generated messages (mixed Chinese
# and English, five per conversation, repeat contacts), kill the process
# with SIGKILL at random points, at least 20 times while work is still
# pending, restarting it on the same stream each time; then let it finish.
# Nothing may be lost, nothing processed twice, no case or outbox row
# doubled: the result must be the very database one uninterrupted run
# makes.
. tests/lib.sh
P=$PARCELBOT
N=${CRASH_MESSAGES:-10000}
KILLS=${CRASH_KILLS:-20}
NOW=2026-11-20T10:00:00+08:00
REF=$T_TMP/ref.db
DB=$T_TMP/crash.db
STREAM=$T_TMP/stream.jsonl
sql() { sqlite3 "$1" "$2"; }

python3 tests/e2e/stream.py "$N" 7 >"$STREAM"
is "$(wc -l <"$STREAM" | tr -d ' ')" "$N" "generated $N messages"

run sh -c "'$P' ingest --jsonl --db '$REF' --now $NOW < '$STREAM'"
ok "$T_RC" "an uninterrupted run ingests the stream"
is "$(sql "$REF" 'select count(*) from messages')" "$N" "and stores every message"

# Rounds: start ingest with a batch size drawn at random, kill it after a
# random delay. A kill counts when the stream was not yet fully processed
# afterwards: the process died with work in hand.
kills=0
rounds=0
while [ "$kills" -lt "$KILLS" ] && [ "$rounds" -lt $((KILLS * 4)) ]; do
	rounds=$((rounds + 1))
	set -- $(awk -v s="$rounds" 'BEGIN { srand(s * 7919); b = split("1 4 8 16 32 256", a, " ");
		printf "%s %.3f\n", a[int(rand() * b) + 1], 0.03 + rand() * 0.25 }')
	batch=$1
	delay=$2
	"$P" ingest --jsonl --db "$DB" --batch "$batch" --now $NOW <"$STREAM" 2>/dev/null &
	pid=$!
	sleep "$delay"
	kill -KILL "$pid" 2>/dev/null
	# (the shell's own "Killed" notice is not a test failure)
	{ wait "$pid"; } 2>/dev/null
	rc=$?
	done_n=$(sql "$DB" 'select count(*) from inbox where processed_at is not null' 2>/dev/null || echo 0)
	if [ "$rc" -eq 137 ] && [ "${done_n:-0}" -lt "$N" ]; then
		kills=$((kills + 1))
	fi
done
echo "# $kills kills with work pending in $rounds rounds; $done_n of $N processed before the last restart"
[ "$kills" -ge "$KILLS" ]
ok $? "killed with SIGKILL at least $KILLS times while work was pending"

run sh -c "'$P' ingest --jsonl --db '$DB' --now $NOW < '$STREAM'"
ok "$T_RC" "a last restart on the same stream finishes the work"
like "$T_ERR" "read $N, new [0-9]+, duplicate [0-9]+, failed 0" "with no failed line"

# What was promised, one property at a time.
is "$(sql "$DB" 'select count(*) from inbox')" "$N" "no message lost: every one is in the inbox"
is "$(sql "$DB" 'select count(*) from inbox where processed_at is null or error is not null')" 0 \
	"every one processed, none failed"
is "$(sql "$DB" 'select count(*) from messages')" "$N" "every one stored once"
is "$(sql "$DB" 'select count(*) from (select conversation_id from messages m
	join conversations c on c.id = m.conversation_id group by m.channel, m.external_id having count(*) > 1)')" 0 \
	"no message stored twice"
is "$(sql "$DB" 'select count(*) from drafts') $(sql "$DB" 'select count(distinct message_id) from drafts')" \
	"$(sql "$REF" 'select count(*) from drafts') $(sql "$REF" 'select count(*) from drafts')" \
	"one draft per message that needed one, none twice"
is "$(sql "$DB" "select count(*) from (select scope, kind from cases where state <> 'closed'
	group by scope, kind having count(*) > 1)")" 0 "no duplicate open case"
is "$(sql "$DB" 'select count(*) from cases')" "$(sql "$REF" 'select count(*) from cases')" \
	"as many cases as the uninterrupted run"
is "$(sql "$DB" 'select sum(contacts) from cases')" "$(sql "$REF" 'select sum(contacts) from cases')" \
	"every contact counted once"
is "$(sql "$DB" 'select count(*) - count(distinct key) from outbox')" 0 "no duplicate outbox row"
is "$(sql "$DB" 'select kind, count(*) from outbox group by kind order by kind' | tr '\n' ' ')" \
	"$(sql "$REF" 'select kind, count(*) from outbox group by kind order by kind' | tr '\n' ' ')" \
	"the same actions queued as the uninterrupted run"
is "$(sql "$DB" 'select count(*) from reminders')" "$(sql "$REF" 'select count(*) from reminders')" \
	"the same reminders"
# And the strongest check of all: row for row, the same database.
sqlite3 "$REF" .dump >"$T_TMP/ref.sql"
sqlite3 "$DB" .dump >"$T_TMP/crash.sql"
cmp -s "$T_TMP/ref.sql" "$T_TMP/crash.sql"
ok $? "the killed and restarted database equals the uninterrupted one, row for row"
if ! cmp -s "$T_TMP/ref.sql" "$T_TMP/crash.sql"; then
	diff "$T_TMP/ref.sql" "$T_TMP/crash.sql" | head -20 | sed 's/^/# /'
fi
is "$(sql "$DB" 'PRAGMA integrity_check')" ok "the database passes SQLite's integrity check"

done_testing
