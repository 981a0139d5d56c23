# `parcelbot scan` as cron runs it: orders imported from CSV, parcels looked
# up at the sandbox's Kuaidi100 on a loopback port, proactive cases opened
# with outreach drafts, and a second run opening none.
. tests/lib.sh
P=$PARCELBOT
DB=$T_TMP/pb.db
export PARCELBOT_DB="$DB"
export USER=tester
unset XDG_DATA_HOME PARCELBOT_CONFIG

sandbox_start SBX --seed "$PB_SRCDIR/tests/fixtures/sandbox-parcels.yaml"
SB=$SBX_PID
trap 'kill $SB 2>/dev/null; rm -rf "$T_TMP"' EXIT INT TERM
port=${SBX##*:}
[ -n "$port" ]
ok $? "the sandbox is listening"
[ -z "$port" ] && { done_testing; exit 1; }
BASE=http://127.0.0.1:$port
export PARCELBOT_KUAIDI100_URL=$BASE/poll/query.do
export PARCELBOT_17TRACK_URL=$BASE/track/v2.2
export PARCELBOT_KUAIDI100_CUSTOMER=sandbox-customer
printf 'sandbox-key\n' >"$T_TMP/k100.key"
export PARCELBOT_KUAIDI100_KEY_FILE=$T_TMP/k100.key
export PARCELBOT_17TRACK_TOKEN=sandbox-token

run "$P" help scan
like "$T_OUT" "^usage: parcelbot scan" "help scan shows its usage"
run "$P" scan --rate 0
is "$T_RC" 1 "--rate must be positive"

cat >"$T_TMP/orders.csv" <<'CSV'
order_id,amount,category,paid_at,shipped_at,carrier,tracking_number
S-STUCK,89,electronics,2026-11-19T09:00:00+08:00,2026-11-20T09:00:00+08:00,zto,73100000000001
S-LOST,59,electronics,2026-11-12T09:00:00+08:00,2026-11-13T09:00:00+08:00,ems,EA123456789CN
S-DONE,99,electronics,2026-11-20T09:00:00+08:00,2026-11-21T09:00:00+08:00,yunda,4312345678901
S-NEW,19,electronics,2026-11-23T09:00:00+08:00,,,
CSV
run "$P" orders import "$T_TMP/orders.csv" --channel cli --now 2026-11-23T10:00:00+08:00
is "$T_RC" 0 "orders imported"

run "$P" scan --now 2026-11-24T10:00:00+08:00 --rate 50
is "$T_RC" 0 "scan runs"
like "$T_OUT" "^scan: 4 orders, 3 parcels looked up \(0 failed\), 1 delivered, 2 with an anomaly; 2 cases opened, 0 already open, 0 failed" "scan summarises"
is "$(sqlite3 "$DB" "SELECT kind FROM cases WHERE origin = 'watch' ORDER BY kind")" "anomaly:lost
anomaly:stuck_at_node" "a proactive case per anomalous order, the most severe anomaly"
is "$(sqlite3 "$DB" "SELECT count(*) FROM drafts d JOIN cases c ON c.id = d.case_id WHERE c.origin = 'watch' AND d.message_id IS NULL")" 2 "each with an outreach draft"
is "$(sqlite3 "$DB" "SELECT group_concat(kind) FROM (SELECT kind FROM outbox ORDER BY kind)")" "hand_off,post_draft" "queued like any draft (a lost parcel goes to a human)"

run "$P" scan --now 2026-11-24T11:00:00+08:00 --rate 50
like "$T_OUT" "2 parcels looked up \(0 failed\), 0 delivered, 2 with an anomaly; 0 cases opened, 2 already open" "a second scan opens none, and skips the delivered parcel"

done_testing
