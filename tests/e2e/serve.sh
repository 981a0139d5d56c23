# `parcelbot serve` as an operator and a console meet it: the real daemon on
# a free loopback port with a SQLite file in a temp directory, tracking from
# the sandbox. The JSON API end to end (submit, list, approve as is and
# edited, reject, escalate, notes, resolve), bearer checks, bad bodies,
# /healthz and /metrics with no secret in them, SIGHUP with a good and a
# broken KB, SIGTERM, and SIGKILL with work pending.
. tests/lib.sh
P=$PARCELBOT
TOKEN=e2e-token-4f1b9c
SB=""
PB=""
trap 'kill $SB $PB 2>/dev/null; rm -rf "$T_TMP"' EXIT INT TERM

wait_port() { # wait_port FILE: prints the port written to FILE
	for _ in $(seq 200); do
		[ -s "$1" ] && { cat "$1"; return 0; }
		sleep 0.05
	done
	return 1
}

sandbox_start SBX --seed "$PB_SRCDIR/tests/fixtures/sandbox-parcels.yaml"
SB=$SBX_PID
sbport=${SBX##*:}
export PARCELBOT_KUAIDI100_URL=http://127.0.0.1:$sbport/poll/query.do
export PARCELBOT_17TRACK_URL=http://127.0.0.1:$sbport/track/v2.2
export PARCELBOT_KUAIDI100_CUSTOMER=sandbox-customer
export PARCELBOT_KUAIDI100_KEY=sandbox-key
export PARCELBOT_17TRACK_TOKEN=sandbox-token
export PARCELBOT_API_TOKEN=$TOKEN
unset PARCELBOT_CONFIG PARCELBOT_API_TOKEN_FILE

cp -r "$PB_SRCDIR/kb" "$T_TMP/kb"
DB=$T_TMP/serve.db

start() {
	rm -f "$T_TMP/port"
	"$P" --kb "$T_TMP/kb" serve --listen 127.0.0.1:0 --db "$DB" --port-file "$T_TMP/port" \
		--log-format json 2>>"$T_TMP/serve.log" &
	PB=$!
	port=$(wait_port "$T_TMP/port") || { cat "$T_TMP/serve.log"; return 1; }
	BASE=http://127.0.0.1:$port
}

api() { # api METHOD PATH [BODY]: sets $T_CODE and $T_OUT
	if [ $# -ge 3 ]; then
		T_OUT=$(curl -s -o - -w '\n%{http_code}' -X "$1" -H "Authorization: Bearer $TOKEN" \
			-H 'Content-Type: application/json' --data-binary "$3" "$BASE$2")
	else
		T_OUT=$(curl -s -o - -w '\n%{http_code}' -X "$1" -H "Authorization: Bearer $TOKEN" \
			"$BASE$2")
	fi
	T_CODE=$(printf '%s' "$T_OUT" | tail -n 1)
	T_OUT=$(printf '%s' "$T_OUT" | sed '$d')
}

jget() { # jget EXPR: evaluates a Python expression over the JSON in $T_OUT as d
	printf '%s' "$T_OUT" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

start
ok $? "serve starts and writes its port"

# --- authentication ---
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/api/v1/drafts")
is "$code" 401 "no token: 401"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong' "$BASE/api/v1/drafts")
is "$code" 401 "wrong token: 401"
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/api/v1/cases/abc")
is "$code" 401 "no token on a bad id: 401, not 404"
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz")
is "$code" 200 "/healthz needs no token"
api GET "/api/v1/cases?limit=abc"
is "$T_CODE" 400 "a limit that is not a number: 400"
api GET "/api/v1/cases?min_severity=9"
is "$T_CODE" 400 "a min_severity out of range: 400"

# --- a stuck parcel, traced live through the sandbox ---
api POST /api/v1/messages '{"conversation":"c-1","buyer":"b-1","text":"我的快递三天没更新了，怎么回事","order_id":"A100","tracking_number":"73100000000001","carrier":"zto","message_id":"m-1"}'
is "$T_CODE" 201 "POST /messages: 201"
is "$(jget 'd["verdict"]["intents"][0]')" stuck_parcel "recognised stuck_parcel"
is "$(jget 'd["case"]["state"]')" drafted "case drafted"
like "$(jget 'd["draft"]["reply"]')" "杭州|上海" "draft quotes the live trace's place"
case1=$(jget 'd["case"]["id"]')
draft1=$(jget 'd["draft"]["id"]')

api POST /api/v1/messages '{"conversation":"c-1","text":"again","message_id":"m-1"}'
is "$T_CODE" 200 "the same message id again: 200"
is "$(jget 'd["status"]')" duplicate "reported as a duplicate"

api GET "/api/v1/drafts?state=pending"
is "$T_CODE" 200 "GET /drafts: 200"
is "$(jget 'len(d["drafts"])')" 1 "one draft pending"
is "$(jget 'd["drafts"][0]["case_summary"]["number"]')" 73100000000001 "with its case"

# --- approve, edited: linted, and the findings returned ---
api POST "/api/v1/drafts/$draft1/approve" '{"text":"包裹已经签收了，请查收。","agent":"li"}'
is "$T_CODE" 200 "approve edited: 200"
is "$(jget 'd["edited"]')" True "recorded as edited"
like "$(jget '" ".join(f["code"] for f in d["lint"]["findings"]) if isinstance(d["lint"], dict) else " ".join(f["code"] for f in d["lint"])')" "." "lint findings returned"
is "$(jget 'd["case"]["state"]')" sent "case sent"
api POST "/api/v1/drafts/$draft1/approve" '{}'
is "$T_CODE" 409 "approving it twice: 409"

# --- reject and escalate on a second case ---
api POST /api/v1/messages '{"conversation":"c-2","text":"where is my parcel? it has not moved","order_id":"A200","message_id":"m-2"}'
draft2=$(jget 'd["draft"]["id"]')
case2=$(jget 'd["case"]["id"]')
api POST "/api/v1/drafts/$draft2/reject" '{}'
is "$T_CODE" 400 "reject without a reason: 400"
api POST "/api/v1/drafts/$draft2/reject" '{"reason":"wrong hub"}'
is "$T_CODE" 200 "reject with a reason: 200"
api POST /api/v1/messages '{"conversation":"c-2","text":"hello?? still nothing, where is it","order_id":"A200","message_id":"m-3"}'
draft3=$(jget 'd["draft"]["id"]')
api POST "/api/v1/drafts/$draft3/escalate" '{"reason":"VIP buyer"}'
is "$T_CODE" 200 "escalate: 200"
is "$(jget 'd["case"]["state"]')" escalated "case escalated"
api POST "/api/v1/cases/$case2/notes" '{"text":"asked the hub, answer at 15:00","agent":"wang"}'
is "$T_CODE" 201 "note: 201"
api GET "/api/v1/cases/$case2"
is "$T_CODE" 200 "GET /cases/ID: 200"
like "$T_OUT" "answer at 15:00" "the case shows the note"
like "$T_OUT" "VIP buyer" "and the escalation reason"
api POST "/api/v1/cases/$case2/resolve" '{"outcome":"reshipped"}'
is "$(jget 'd["case"]["state"]')" resolved "resolve"
api GET "/api/v1/cases/999999"
is "$T_CODE" 404 "unknown case: 404"

# --- a complaint threat goes to a human ---
api POST /api/v1/messages '{"conversation":"c-3","text":"三天了还不到，再不处理我就投诉到12315","order_id":"A300","message_id":"m-4"}'
is "$(jget 'd["draft"]["action"]')" escalate "a complaint threat is escalated"
is "$(jget 'd["case"]["state"]')" escalated "its case is escalated"

# --- bad input ---
api POST /api/v1/messages '{"conversation":"c-4"'
is "$T_CODE" 400 "malformed JSON: 400"
api POST /api/v1/messages '{"conversation":"c-4"}'
is "$T_CODE" 400 "no text: 400"
T_OUT=$(printf '{"conversation":"c","text":"\377\376"}' | curl -s -o /dev/null -w '%{http_code}' \
	-H "Authorization: Bearer $TOKEN" --data-binary @- "$BASE/api/v1/messages")
is "$T_OUT" 400 "invalid UTF-8: 400"
head -c 2000000 /dev/zero | tr '\0' 'a' >"$T_TMP/big"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	--data-binary @"$T_TMP/big" "$BASE/api/v1/messages")
is "$code" 413 "a 2 MB body: 413"
api POST /api/v1/lint '{"text":"已经签收了"}'
is "$T_CODE" 200 "POST /lint: 200"

# --- /healthz and /metrics, with no secret ---
T_OUT=$(curl -s "$BASE/healthz")
is "$(jget 'd["status"]')" ok "healthz: ok"
metrics=$(curl -s "$BASE/metrics")
like "$metrics" 'parcelbot_events_processed_total [1-9]' "metrics count processed events"
like "$metrics" 'parcelbot_drafts_total\{action="escalate"\} [1-9]' "and escalations"
like "$metrics" 'parcelbot_http_request_seconds_bucket' "and request latency"
unlike "$metrics" "$TOKEN|sandbox-key" "no secret in /metrics"

# --- SIGHUP: a broken KB is refused, a good one taken ---
cp "$T_TMP/kb/intents.yaml" "$T_TMP/intents.good"
printf 'intents: [\n' >"$T_TMP/kb/intents.yaml"
kill -HUP $PB
for _ in $(seq 100); do grep -q kb.reload_failed "$T_TMP/serve.log" && break; sleep 0.1; done
like "$(cat "$T_TMP/serve.log")" "kb.reload_failed" "a broken KB is refused on SIGHUP"
api POST /api/v1/messages '{"conversation":"c-5","text":"快递一直没动","message_id":"m-5"}'
is "$T_CODE" 201 "still serving with the old KB"
cp "$T_TMP/intents.good" "$T_TMP/kb/intents.yaml"
kill -HUP $PB
for _ in $(seq 100); do grep -q kb.reloaded "$T_TMP/serve.log" && break; sleep 0.1; done
like "$(cat "$T_TMP/serve.log")" "kb.reloaded" "a good KB is taken on SIGHUP"
T_OUT=$(curl -s "$BASE/healthz")
is "$(jget 'd["kb_generation"]')" 2 "the generation moved on"
unlike "$(cat "$T_TMP/serve.log")" "$TOKEN|sandbox-key" "no secret in the log"

# --- SIGTERM: a clean stop ---
kill -TERM $PB
wait $PB
is $? 0 "SIGTERM: exit 0"
like "$(cat "$T_TMP/serve.log")" "serve.stopped" "logs the stop"

# --- SIGKILL with work pending: nothing lost on restart ---
sqlite3 "$DB" "select count(*) from inbox" >"$T_TMP/n0"
start
CURLS=""
for i in $(seq 1 40); do
	curl -s -o /dev/null -m 0.2 -H "Authorization: Bearer $TOKEN" \
		--data-binary "{\"conversation\":\"k-$i\",\"text\":\"快递三天没更新了 $i\",\"message_id\":\"k-$i\"}" \
		"$BASE/api/v1/messages" &
	CURLS="$CURLS $!"
done
sleep 0.3
kill -KILL $PB
wait $PB 2>/dev/null
for c in $CURLS; do wait "$c" 2>/dev/null; done
accepted=$(sqlite3 "$DB" "select count(*) from inbox where external_id like 'k-%'")
start
ok $? "restarts after SIGKILL"
for _ in $(seq 100); do
	left=$(sqlite3 "$DB" "select count(*) from inbox where processed_at is null")
	[ "$left" = 0 ] && break
	sleep 0.1
done
is "$left" 0 "every accepted event processed after the restart"
msgs=$(sqlite3 "$DB" "select count(*) from messages where external_id like 'k-%'")
is "$msgs" "$accepted" "each exactly once ($accepted accepted)"
kill -TERM $PB
wait $PB

done_testing
