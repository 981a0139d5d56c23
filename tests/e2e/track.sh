# `parcelbot track`, `config` and `sandbox` as a user meets them: the real
# binary against the sandbox on a free loopback port, for both providers:
# normal and signed traces, JSON, not found, provider errors (one line on
# stderr, no secret in it), a fault the retries ride out, and the sandbox
# stopping cleanly on SIGTERM.
. tests/lib.sh
P=$PARCELBOT

sandbox_start SBX --seed "$PB_SRCDIR/tests/fixtures/sandbox-parcels.yaml"
SB=$SBX_PID
trap 'kill $SB 2>/dev/null; rm -rf "$T_TMP"' EXIT INT TERM
port=${SBX##*:}
[ -n "$port" ]
ok $? "sandbox prints 'listening on 127.0.0.1:PORT' first"
[ -z "$port" ] && { cat "$T_TMP/sandbox.err"; done_testing; exit 1; }
BASE=http://127.0.0.1:$port

export PARCELBOT_KUAIDI100_URL=$BASE/poll/query.do
export PARCELBOT_17TRACK_URL=$BASE/track/v2.2
export PARCELBOT_KUAIDI100_CUSTOMER=sandbox-customer
printf 'sandbox-key\n' >"$T_TMP/k100.key"
export PARCELBOT_KUAIDI100_KEY_FILE=$T_TMP/k100.key
export PARCELBOT_17TRACK_TOKEN=sandbox-token
unset PARCELBOT_CONFIG PARCELBOT_KUAIDI100_KEY PARCELBOT_17TRACK_TOKEN_FILE \
	PARCELBOT_KUAIDI100_CUSTOMER_FILE

run "$P" track zto 73100000000001
ok "$T_RC" "kuaidi100: track exits 0"
like "$T_OUT" "^zto 73100000000001 via kuaidi100" "names carrier, number and provider"
like "$T_OUT" "state: in_transit" "says the state"
first=$(printf '%s\n' "$T_OUT" | grep -nF '2026-11-21 06:40 +08:00' | cut -d: -f1)
last=$(printf '%s\n' "$T_OUT" | grep -nF '2026-11-20 09:30 +08:00' | cut -d: -f1)
[ -n "$first" ] && [ -n "$last" ] && [ "$first" -lt "$last" ]
ok $? "events newest first, in China time"
like "$T_OUT" "info_received +商家已下单" "oldest event is the order"

run "$P" track sf SF1234567890123 --phone 5678
ok "$T_RC" "kuaidi100: SF with the phone's last 4 digits"
like "$T_OUT" "state: delivered" "SF parcel delivered"
like "$T_OUT" "本人签收.*\[301\]" "keeps Kuaidi100's raw code"

run "$P" track yunda 4312345678901 --json
ok "$T_RC" "--json exits 0"
printf '%s' "$T_OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin)["trace"]; \
assert d["provider"]=="kuaidi100" and d["found"] and not d["stale"]; \
assert d["events"][0]["state"]=="delivered" and "丰巢" in d["events"][0]["description"]; \
assert d["events"][0]["time"]=="2026-11-23T07:58:21+08:00"'
ok $? "--json is the normalised trace"

# The assessment under the KB's default policy, at a fixed moment.
run "$P" track zto 73100000000001 --now 2026-11-24T10:00+08:00
like "$T_OUT" "last update: +75\.3 h ago" "hours since the last event, across the date line"
like "$T_OUT" "at current node: +83\.9 h \(浙江,杭州市\)" "hours at the node since it first arrived"
like "$T_OUT" "anomalies: +no_update, stuck_at_node" "48 h and 72 h thresholds passed"
run "$P" track zto 73100000000001 --now 2026-11-23T06:00+08:00
like "$T_OUT" "anomalies: +\(none\)" "just under 48 h: no anomaly"
run "$P" track zto 73100000000001 --now 2026-11-22T12:00+08:00 --category fresh
like "$T_OUT" "thresholds: +perishable" "a fresh-food order uses perishable thresholds"
like "$T_OUT" "anomalies: +no_update" "and 29 h without an update is already too long"
run "$P" track yunda 4312345678901 --json --now 2026-11-24T10:00+08:00
printf '%s' "$T_OUT" | python3 -c 'import json,sys; a=json.load(sys.stdin)["assessment"]; \
assert a["state"]=="delivered" and a["place"]=="locker", a; \
assert a["anomalies"]==["signed_elsewhere"], a; assert a["hours_since_update"]==26, a'
ok $? "--json carries the assessment: locker delivery is signed_elsewhere"
run "$P" track zto 73199999999999 --shipped 2026-11-18T09:00+08:00 --now 2026-11-23T12:00+08:00
like "$T_OUT" "anomalies: +no_trace" "an unknown number 5 days after shipping is no_trace"
run "$P" track zto 73199999999999
like "$T_OUT" "give --shipped" "without --shipped it says no_trace cannot be judged"
run "$P" track zto 73100000000001 --now yesterday
is "$T_RC" 1 "a bad --now is a usage error"

run "$P" track ninjavan NVMY1234567890AB
ok "$T_RC" "17track: track exits 0"
like "$T_OUT" "via 17track" "chooses 17TRACK for a carrier Kuaidi100 does not cover"
like "$T_OUT" "delivered +Petaling Jaya: Delivered to Ninja Point parcel locker" "locker delivery"

run "$P" track --provider 17track jnt JNT123456789012
ok "$T_RC" "17track: lost parcel exits 0"
like "$T_OUT" "state: exception/lost" "lost parcel is exception/lost"

run "$P" track - RB123456789CN
ok "$T_RC" "'-' lets 17TRACK detect the carrier"
is "$(printf '%s\n' "$T_OUT" | grep -c 'Arrived at destination country')" 1 \
	"an event two providers share is shown once"

run "$P" track zto 73199999999999
ok "$T_RC" "an unknown number is an answer (exit 0)"
like "$T_OUT" "not found: kuaidi100 has no trace" "and says so plainly"

run "$P" track sf SF1234567890123
is "$T_RC" 2 "SF without --phone exits 2"
is "$(printf '%s\n' "$T_ERR" | wc -l)" 1 "with one line on stderr"
like "$T_ERR" "phone \(last 4 digits\)" "saying what is missing"

run env PARCELBOT_KUAIDI100_KEY_FILE= PARCELBOT_KUAIDI100_KEY=not-the-key \
	"$P" track zto 73100000000001
is "$T_RC" 2 "wrong Kuaidi100 key exits 2"
like "$T_ERR" "^parcelbot: Kuaidi100 rejected the signature \(returnCode 503" "Kuaidi100's 503"
unlike "$T_ERR" "not-the-key|sandbox-customer" "no secret in the message"

run env PARCELBOT_17TRACK_TOKEN=not-the-token "$P" track spx SPXMY012345678901
is "$T_RC" 2 "wrong 17TRACK token exits 2"
like "$T_ERR" "-18010002" "17TRACK's invalid-key code"
unlike "$T_ERR" "not-the-token" "no token in the message"
is "$(printf '%s\n' "$T_ERR" | wc -l)" 1 "one line on stderr"

run "$P" track --provider dhl zto 73100000000001
is "$T_RC" 1 "unknown --provider is a usage error"
run "$P" track zto
is "$T_RC" 1 "a missing NUMBER is a usage error"
run "$P" track nosuch 73100000000001
is "$T_RC" 2 "an unknown carrier exits 2"
like "$T_ERR" "unknown carrier 'nosuch'" "and names it"

curl -sf -XPOST "$BASE/_sandbox/faults" \
	-d '{"route":"kuaidi100.query","status":500,"times":2}' >/dev/null
ok $? "sandbox takes a fault over its control endpoint"
curl -sf -XDELETE "$BASE/_sandbox/requests" >/dev/null
run "$P" track zto 73100000000003
ok "$T_RC" "two HTTP 500s are retried away"
like "$T_OUT" "exception/delayed" "and the real trace comes back"
n=$(curl -sf "$BASE/_sandbox/requests?route=kuaidi100.query" |
	python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
is "$n" 3 "the sandbox saw three attempts"
curl -sf "$BASE/_sandbox/requests" >"$T_TMP/requests.json"
grep -q 'sign=' "$T_TMP/requests.json" && ! grep -q 'sandbox-key' "$T_TMP/requests.json"
ok $? "requests carry the signature, never the key"

curl -sf -XPOST "$BASE/_sandbox/faults" \
	-d '{"route":"17track.gettrackinfo","action":"huge","bytes":52428800}' >/dev/null
run "$P" track spx SPXMY012345678901
is "$T_RC" 2 "a 50 MB answer is refused"
like "$T_ERR" "larger than 8388608 bytes" "as too large"

cat >"$T_TMP/bad.yaml" <<'EOF'
tracking:
  timeout: soon
  kuaidi100:
    key: inline-secret
EOF
run "$P" track --config "$T_TMP/bad.yaml" zto 73100000000001
is "$T_RC" 2 "a bad config file exits 2"
like "$T_ERR" "bad.yaml:2:12: 'timeout' must be a duration" "naming line and column"

cat >"$T_TMP/good.yaml" <<'EOF'
tracking:
  kuaidi100:
    key: inline-secret
  cache_ttl: 5m
EOF
run env PARCELBOT_KUAIDI100_KEY_FILE= "$P" config --config "$T_TMP/good.yaml" --json
ok "$T_RC" "config --json exits 0"
unlike "$T_OUT" "inline-secret|sandbox-token|sandbox-customer" "config --json prints no secret"
like "$T_OUT" '"key":[[:space:]]*"\(set\)"' "but says the key is set"
like "$T_OUT" '"cache_ttl_s":[[:space:]]*300' "and shows the settings"
run env PARCELBOT_KUAIDI100_KEY_FILE= "$P" config --config "$T_TMP/good.yaml"
like "$T_OUT" "tracking.17track.token = \(set\)" "config prints one setting per line"

kill -TERM $SB
wait $SB
is "$?" 0 "sandbox stops cleanly on SIGTERM"
done_testing
