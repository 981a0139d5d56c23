# The sandbox's fake Chatwoot as `parcelbot sandbox` serves it: a second
# sandbox plays parcelbot's webhook receiver (its echo route), the first is
# started with --chatwoot-webhook pointing at it; a buyer's message and an
# agent's note arrive there as message_created webhooks; the API takes the
# token from PARCELBOT_CHATWOOT_TOKEN; a bad --chatwoot-webhook is a usage
# error; both stop cleanly on SIGTERM.
. tests/lib.sh
P=$PARCELBOT

start_sandbox() { # start_sandbox NAME ARGS...: sets SB_PID and SB_PORT
	shift
	sandbox_start SBV "$@"
	SB_PID=$SBV_PID
	SB_PORT=${SBV##*:}
}

start_sandbox receiver
RX=$SB_PID
RX_BASE=http://127.0.0.1:$SB_PORT
trap 'kill $RX 2>/dev/null; [ -n "${CW:-}" ] && kill $CW 2>/dev/null; rm -rf "$T_TMP"' EXIT INT TERM
[ -n "$SB_PORT" ]
ok $? "the receiver sandbox starts"

run "$P" sandbox --chatwoot-webhook ftp://example.com/x
is "$T_RC" 1 "--chatwoot-webhook must be http(s): usage error (exit 1)"
like "$T_ERR" "chatwoot-webhook" "and the message names the option"

PARCELBOT_CHATWOOT_TOKEN=e2e-chatwoot-token start_sandbox chatwoot \
	--seed "$PB_SRCDIR/tests/fixtures/sandbox-chatwoot.yaml" \
	--chatwoot-webhook "$RX_BASE/_sandbox/echo"
CW=$SB_PID
BASE=http://127.0.0.1:$SB_PORT
[ -n "$SB_PORT" ]
ok $? "the Chatwoot sandbox starts with a seed and a webhook URL"

code=$(curl -s -o /dev/null -w '%{http_code}' -H 'api_access_token: sandbox-chatwoot-token' \
	"$BASE/api/v1/accounts/1/conversations/7/messages")
is "$code" 401 "the default token is refused when PARCELBOT_CHATWOOT_TOKEN is set"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'api_access_token: e2e-chatwoot-token' \
	"$BASE/api/v1/accounts/1/conversations/7/messages")
is "$code" 200 "the token from the environment is accepted"

curl -sf -d '{"conversation": 7, "text": "我的快递三天没动了"}' "$BASE/_sandbox/chatwoot/incoming" >/dev/null
ok $? "a buyer writes"
curl -sf -d '{"conversation": 7, "text": "/send", "agent": "Ann"}' \
	"$BASE/_sandbox/chatwoot/agent_note" >/dev/null
ok $? "an agent writes a note"
n=0
for _ in $(seq 100); do
	n=$(curl -sf "$RX_BASE/_sandbox/requests?route=echo" |
		python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
	[ "$n" -ge 2 ] && break
	sleep 0.05
done
is "$n" 2 "both arrive at the webhook URL"
curl -sf "$RX_BASE/_sandbox/requests?route=echo" | python3 -c '
import json, sys
r = json.load(sys.stdin)
a, b = (json.loads(x["body"]) for x in r)
assert a["event"] == "message_created" and a["message_type"] == "incoming", a
assert a["content"] == "我的快递三天没动了" and a["sender"]["type"] == "contact", a
assert a["conversation"]["id"] == 7 and a["conversation"]["custom_attributes"]["order_id"] == "SO-1001", a
assert b["private"] is True and b["sender"]["type"] == "user" and b["sender"]["name"] == "Ann", b
'
ok $? "as message_created bodies shaped like Chatwoot's"

curl -sf "$BASE/_sandbox/chatwoot/deliveries" | python3 -c '
import json, sys
d = json.load(sys.stdin)["deliveries"]
assert len(d) == 2 and all(x["ok"] and x["status"] == 200 for x in d), d'
ok $? "the deliveries are recorded as delivered"

kill -TERM $CW
wait $CW
is "$?" 0 "the Chatwoot sandbox stops cleanly on SIGTERM"
CW=""
kill -TERM $RX
wait $RX
is "$?" 0 "the receiver stops cleanly"
done_testing
