# The proactive watch inside `parcelbot serve`: orders imported into the
# store, their parcels looked up on the daemon's schedule against the
# sandbox, and a parcel with no update for days gets one proactive case with
# an outreach draft, however many scans run.
. tests/lib.sh
P=$PARCELBOT
TOKEN=e2e-watch-token-55
SB=""
PB=""
trap 'kill $SB $PB 2>/dev/null; rm -rf "$T_TMP"' EXIT INT TERM

sandbox_start SBX --seed "$PB_SRCDIR/tests/fixtures/sandbox-parcels.yaml"
SB=$SBX_PID
sbport=${SBX##*:}
unset PARCELBOT_CONFIG PARCELBOT_API_TOKEN_FILE PARCELBOT_CHATWOOT_URL PARCELBOT_SHOPEE_URL
export PARCELBOT_KUAIDI100_URL=http://127.0.0.1:$sbport/poll/query.do
export PARCELBOT_KUAIDI100_CUSTOMER=sandbox-customer PARCELBOT_KUAIDI100_KEY=sandbox-key
export PARCELBOT_API_TOKEN=$TOKEN
DB=$T_TMP/w.db
printf 'order_id,amount,currency,category,paid_at,shipped_at,carrier,tracking_number\n' >"$T_TMP/o.csv"
printf 'W1,59,CNY,home,2026-11-19T09:00:00+08:00,2026-11-20T09:30:00+08:00,zto,73100000000001\n' >>"$T_TMP/o.csv"
run "$P" orders import "$T_TMP/o.csv" --db "$DB"
is "$T_RC" 0 "an order with its parcel is imported"
printf 'server:\n  listen: 127.0.0.1:0\npipeline:\n  scan_interval: 1s\n  scan_rate: 50\n' >"$T_TMP/pb.yaml"
"$P" serve --config "$T_TMP/pb.yaml" --db "$DB" --port-file "$T_TMP/port" --log-level debug \
	2>"$T_TMP/serve.log" &
PB=$!
for _ in $(seq 200); do [ -s "$T_TMP/port" ] && break; sleep 0.05; done
BASE=http://127.0.0.1:$(cat "$T_TMP/port")
n=0
for _ in $(seq 150); do
	n=$(curl -s -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/cases?state=all" |
		python3 -c "import json,sys; print(sum(1 for c in json.load(sys.stdin)['cases'] if c['origin'] == 'watch'))")
	[ "$n" -ge 1 ] && break
	sleep 0.1
done
is "$n" 1 "the daemon's watch opens a proactive case for the stalled parcel"
sleep 2.5
like "$(grep -c 'watch.done' "$T_TMP/serve.log")" "^[2-9]" "the watch ran again"
n=$(curl -s -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/cases?state=all" |
	python3 -c "import json,sys; print(sum(1 for c in json.load(sys.stdin)['cases'] if c['origin'] == 'watch'))")
is "$n" 1 "and opened no second case"
like "$(curl -s -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/drafts?state=all")" "73100000000001|杭州|上海" "the outreach draft states the facts"
like "$(curl -s "$BASE/metrics")" "parcelbot_watch_cases_opened_total 1" "counted in /metrics"
kill -TERM $PB
wait $PB
is $? 0 "SIGTERM stops the watch with the rest"

done_testing
