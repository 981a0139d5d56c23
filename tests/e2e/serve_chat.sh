# `parcelbot serve` beside a chat, as a shop runs it: the daemon and the
# sandbox's fake Chatwoot (and tracking) on free loopback ports. A buyer's
# stuck-parcel message becomes a private-note draft; "/send" gives exactly
# one public reply; an edited "/send" sends the edit and keeps its lint
# findings; a complaint threat is handed to a human (brief, label, status
# open) with no public reply; parcelbot ignores its own messages and a
# duplicate webhook; a bad webhook secret is refused. Then faults: 500s and
# 429s from the chat API and a SIGKILL mid-run lose nothing and send
# nothing twice.
. tests/lib.sh
. tests/chat.sh
P=$PARCELBOT
TOKEN=e2e-api-token-77
SECRET=e2e-hook-secret-91
SB=""
PB=""
trap 'kill $SB $PB 2>/dev/null; [ -n "${KEEP_LOG:-}" ] && cp "$T_TMP/serve.log" "$KEEP_LOG"; rm -rf "$T_TMP"' EXIT INT TERM

sandbox_start SBX --seed "$PB_SRCDIR/tests/fixtures/sandbox-parcels.yaml"
SB=$SBX_PID
export PARCELBOT_KUAIDI100_URL=$SBX/poll/query.do
export PARCELBOT_17TRACK_URL=$SBX/track/v2.2
export PARCELBOT_KUAIDI100_CUSTOMER=sandbox-customer
export PARCELBOT_KUAIDI100_KEY=sandbox-key
export PARCELBOT_17TRACK_TOKEN=sandbox-token
export PARCELBOT_API_TOKEN=$TOKEN
export PARCELBOT_CHATWOOT_TOKEN=sandbox-chatwoot-token
export PARCELBOT_CHATWOOT_WEBHOOK_SECRET=$SECRET
unset PARCELBOT_CONFIG PARCELBOT_API_TOKEN_FILE PARCELBOT_CHATWOOT_URL

cat >"$T_TMP/parcelbot.yaml" <<EOF
server:
  listen: 127.0.0.1:0
pipeline:
  scheduler_interval: 1s
channels:
  chatwoot:
    url: $SBX
    account_id: 1
EOF
DB=$T_TMP/chat.db

start() {
	serve_start "$T_TMP/parcelbot.yaml" "$DB"
	curl -sf -d "{\"webhook\": \"$BASE/webhooks/chatwoot/$SECRET\"}" \
		"$SBX/_sandbox/chatwoot/config" >/dev/null
}

start
[ -n "$port" ]
ok $? "serve starts with the Chatwoot channel"

# --- a stuck parcel: a private-note draft ---
buyer 101 "我的快递三天没更新了，怎么回事" A100
wait_for 101 notes 1
ok $? "a stuck-parcel message gets a private-note draft"
like "$(count 101 last_note)" "parcelbot" "the note is parcelbot's draft"
like "$(count 101 last_note)" "/send" "and tells the agent how to send it"
sleep 1
is "$(count 101 notes)" 1 "parcelbot does not answer its own note"
is "$(count 101 public)" 0 "nothing reaches the buyer before an agent approves"

# --- /send: exactly one public reply ---
agent 101 "/send"
wait_for 101 public 1
ok $? "/send gives a public reply"
sleep 1.5
is "$(count 101 public)" 1 "exactly one"

# --- an edited /send: the edit is sent, lint findings kept ---
buyer 102 "where is my parcel? no update for days" A200
wait_for 102 notes 1
agent 102 "/send Your parcel was delivered yesterday, please check."
wait_for 102 public 1
ok $? "an edited /send gives one public reply"
is "$(count 102 last_public)" "Your parcel was delivered yesterday, please check." "with the edited text"
sqlite3 "$DB" "select kind, coalesce(lint, '') from decisions where text like 'Your parcel was delivered%'" >"$T_TMP/dec"
like "$(cat "$T_TMP/dec")" "^approve_edited\|" "recorded as an edited approval"
like "$(cat "$T_TMP/dec")" "apolog|sorry|missing" "with its lint findings"

# --- a complaint threat: handed to a human ---
buyer 103 "三天了还不到，再不处理我就投诉到12315" A300
wait_for 103 labels parcel-escalated
ok $? "a complaint threat gets the label parcel-escalated"
is "$(count 103 status)" open "the conversation is open for a human"
like "$(count 103 last_note)" "12315" "the brief quotes the buyer"
sleep 1
is "$(count 103 public)" 0 "and no public reply is sent"

# --- a duplicate webhook and a bad secret ---
before=$(sqlite3 "$DB" "select count(*) from inbox")
body='{"event":"message_created","id":900001,"content":"还没到","message_type":"incoming","private":false,"created_at":"2026-11-23T10:00:00Z","conversation":{"id":104},"sender":{"id":5,"type":"contact","name":"x"},"account":{"id":1}}'
curl -s -o /dev/null -d "$body" -H 'Content-Type: application/json' "$BASE/webhooks/chatwoot/$SECRET"
code=$(curl -s -o "$T_TMP/dup" -w '%{http_code}' -d "$body" -H 'Content-Type: application/json' \
	"$BASE/webhooks/chatwoot/$SECRET")
is "$code" 200 "a duplicate webhook is acknowledged"
like "$(cat "$T_TMP/dup")" '"duplicates":1' "as a duplicate"
after=$(sqlite3 "$DB" "select count(*) from inbox")
is "$after" "$((before + 1))" "and stored once"
code=$(curl -s -o /dev/null -w '%{http_code}' -d "$body" "$BASE/webhooks/chatwoot/wrong-secret")
is "$code" 401 "a bad webhook secret: 401"
unlike "$(cat "$T_TMP/serve.log")" "$SECRET|sandbox-chatwoot-token|$TOKEN" "no secret in the log"

# --- faults: 500s and a 429 from Chatwoot, then SIGKILL mid-run ---
curl -sf -d '[{"route": "chatwoot.messages.create", "action": "status", "status": 500, "times": 2},
              {"route": "chatwoot.messages.create", "action": "status", "status": 429, "retry_after": "1", "times": 1}]' \
	"$SBX/_sandbox/faults" >/dev/null
for i in 1 2 3 4 5 6; do
	buyer $((200 + i)) "快递三天没更新了 $i" "F$i"
done
ok=0
for i in 1 2 3 4 5 6; do wait_for $((200 + i)) notes 1 || ok=1; done
is "$ok" 0 "every draft arrives once the chat API recovers"
for i in 1 2 3 4 5 6; do agent $((200 + i)) "/send"; done
sleep 0.4
kill -KILL $PB
wait $PB 2>/dev/null
start
ok=0
for i in 1 2 3 4 5 6; do wait_for $((200 + i)) public 1 || ok=1; done
is "$ok" 0 "after SIGKILL every approved reply is sent"
sleep 2
dups=0
for i in 1 2 3 4 5 6; do
	[ "$(count $((200 + i)) public)" = 1 ] || dups=1
	[ "$(count $((200 + i)) notes)" = 1 ] || dups=1
done
is "$dups" 0 "and nothing was sent twice (one note, one reply each)"
left=$(sqlite3 "$DB" "select count(*) from outbox where sent_at is null or sent_at = 0")
is "$left" 0 "the outbox is empty"
kill -TERM $PB
wait $PB
is $? 0 "SIGTERM: clean exit"

done_testing
