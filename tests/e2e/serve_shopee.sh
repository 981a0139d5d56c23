# `parcelbot serve` beside Shopee seller chat, against the sandbox's fake
# Shopee (signature and token checks on): the daemon polls, drafts wait in
# parcelbot's API (Shopee has no private notes), an approved reply reaches
# the buyer exactly once, Shopee's own order and tracking feed the draft,
# and the rotated refresh token is kept so a restart still signs in.
. tests/lib.sh
P=$PARCELBOT
TOKEN=e2e-shopee-api-token
SB=""
PB=""
trap 'kill $SB $PB 2>/dev/null; [ -n "${KEEP_LOG:-}" ] && cp "$T_TMP/serve.log" "$KEEP_LOG"; [ -n "${KEEP_LOG:-}" ] && cp "$DB" "$KEEP_LOG.db"; rm -rf "$T_TMP"' EXIT INT TERM

sandbox_start SBX --seed "$PB_SRCDIR/tests/fixtures/sandbox-shopee.yaml"
SB=$SBX_PID
sbport=${SBX##*:}
SBX=http://127.0.0.1:$sbport
unset PARCELBOT_CONFIG PARCELBOT_API_TOKEN_FILE PARCELBOT_CHATWOOT_URL PARCELBOT_SHOPEE_URL \
	PARCELBOT_SHOPEE_ACCESS_TOKEN
export PARCELBOT_API_TOKEN=$TOKEN
export PARCELBOT_SHOPEE_PARTNER_KEY=sandbox-shopee-key
export PARCELBOT_SHOPEE_REFRESH_TOKEN=sandbox-refresh
cat >"$T_TMP/parcelbot.yaml" <<EOF
server:
  listen: 127.0.0.1:0
channels:
  shopee:
    url: $SBX
    partner_id: 1000001
    shop_id: 2000001
    poll_interval: 500ms
EOF
DB=$T_TMP/shopee.db

start() {
	serve_start "$T_TMP/parcelbot.yaml" "$DB"
}

drafts() { # drafts PYTHON-EXPR over the list d of all drafts on Shopee
	curl -s -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/drafts?state=all" | python3 -c "
import json, sys
d = [x for x in json.load(sys.stdin)['drafts'] if x['case_summary']['channel'] == 'shopee']
print($1)"
}

wait_drafts() { # wait_drafts N: until there are N Shopee drafts (10 s)
	for _ in $(seq 100); do
		[ "$(drafts 'len(d)')" -ge "$1" ] 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

shop_says() { # shop_says CONV TEXT: how many shop messages carry exactly TEXT
	curl -s "$SBX/_sandbox/shopee/conversations?id=$1" | python3 -c "
import json, sys
d = json.load(sys.stdin)
d = d.get('response', d)
m = d.get('messages', [])
print(sum(1 for x in m if x.get('from') == 'shop' and (x.get('text') or (x.get('content') or {}).get('text')) == sys.argv[1]))" "$2"
}

start
wait_drafts 1
ok $? "the unanswered buyer message found by the first poll is drafted"
is "$(drafts 'd[0]["case_summary"]["order"]')" 2611200001ABCD "with the order from the conversation's order card"
like "$(drafts 'd[0]["reply"]')" "lost|Lost" "and Shopee's own tracking: reported lost"
is "$(drafts 'd[0]["action"]')" escalate "a lost parcel goes to a human"

curl -sf -H 'Content-Type: application/json' \
	-d '{"conversation_id": "1900000000000000002", "text": "My new order is stuck, no tracking update for 5 days"}' \
	"$SBX/_sandbox/shopee/incoming" >/dev/null
wait_drafts 2
ok $? "a new buyer message is polled and drafted"
id=$(drafts '[x for x in d if x["case_summary"]["conversation"] == "1900000000000000002"][0]["id"]')
REPLY="Sorry for the delay! We have asked the courier and will update you by 18:00."
code=$(curl -s -o "$T_TMP/ap" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	-d "{\"text\": \"$REPLY\", \"agent\": \"amir\"}" "$BASE/api/v1/drafts/$id/approve")
is "$code" 200 "approved in parcelbot's API"
n=0
for _ in $(seq 100); do
	n=$(shop_says 1900000000000000002 "$REPLY")
	[ "$n" = 1 ] && break
	sleep 0.1
done
is "$n" 1 "the buyer gets the approved text on Shopee"
sleep 1.5
is "$(shop_says 1900000000000000002 "$REPLY")" 1 "exactly once"

tokfile=$DB.shopee-refresh-token
[ -f "$tokfile" ]
ok $? "the rotated refresh token is kept beside the database"
is "$(stat -c %a "$tokfile")" 600 "readable by its owner only"
unlike "$(cat "$tokfile")" "^sandbox-refresh$" "and it is the new one"

kill -TERM $PB
wait $PB
start
curl -sf -H 'Content-Type: application/json' \
	-d '{"conversation_id": "1900000000000000002", "text": "hello? the parcel still has not moved"}' \
	"$SBX/_sandbox/shopee/incoming" >/dev/null
wait_drafts 3
ok $? "after a restart the daemon signs in with the kept token and goes on polling"
unlike "$(cat "$T_TMP/serve.log")" "sandbox-shopee-key|$TOKEN" "no secret in the log"
kill -TERM $PB
wait $PB

done_testing
