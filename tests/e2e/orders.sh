# `parcelbot orders import`: a shop's CSV export into the store. Quoting
# (commas, doubled quotes and line breaks inside fields), a byte-order
# mark, CRLF line ends, unknown columns, bad rows reported as FILE:LINE and
# skipped while the rest go in, re-importing, standard input, and the
# sandbox shop seed served by `parcelbot sandbox`.
. tests/lib.sh
P=$PARCELBOT
DB=$T_TMP/pb.db
unset PARCELBOT_DB XDG_DATA_HOME
sql() { sqlite3 "$DB" "$1"; }

run "$P" help orders
like "$T_OUT" "^usage: parcelbot orders import FILE" "help orders shows the usage"
like "$T_OUT" "tracking_number" "and names the columns"
run "$P" --help
like "$T_OUT" "orders +import the shop's orders" "the general help lists orders"
run "$P" orders
is "$T_RC" 1 "orders without a command is a usage error"
run "$P" orders export x.csv
is "$T_RC" 1 "an unknown orders command is a usage error"
run "$P" orders import
is "$T_RC" 1 "import without a FILE is a usage error"
run "$P" orders import "$T_TMP/none.csv" --db "$DB"
is "$T_RC" 2 "a missing file is an error (2)"
like "$T_ERR" "cannot open .*none.csv" "and says so"

# ---- a well-formed export: BOM, CRLF, quoting ----
printf '\357\273\277order_id,amount,currency,category,paid_at,shipped_at,items,phone_last4,carrier,tracking_number,remark\r\n' >"$T_TMP/a.csv"
printf '3958172046650101,68.00,CNY,home,2026-11-17T20:11:00+08:00,2026-11-18 16:30,"记忆棉抱枕 x2",0101,中通,73100000000101,"fragile, ""handle"" with care\r\nsecond line"\r\n' >>"$T_TMP/a.csv"
printf '"MY2611200021",89,myr,home,,,"Bamboo mat, large x1; Soap dish",,spx,SPXMY261120000021,\r\n' >>"$T_TMP/a.csv"
printf 'A-3,12.5,SGD,,,,"pen",,,,\r\n' >>"$T_TMP/a.csv"
run "$P" orders import "$T_TMP/a.csv" --db "$DB" --now 2026-11-23T10:00:00+08:00
is "$T_RC" 0 "a clean file imports with status 0"
is "$T_OUT" "$T_TMP/a.csv: 3 imported, 0 updated, 0 unchanged, 0 skipped" "the summary counts them"
like "$T_ERR" "a.csv:1: warning: ignoring unknown columns 'remark'" "one warning names the unknown column"
is "$(sql "select count(*) from orders where channel = 'import'")" 3 "three orders in the store"
is "$(sql "select json_extract(data, '\$.parcel.carrier') || ' ' || json_extract(data, '\$.parcel.number') from orders where external_id = '3958172046650101'")" \
	"zto 73100000000101" "the carrier's Chinese name becomes its id, with the number"
is "$(sql "select json_extract(data, '\$.shipped_at') from orders where external_id = '3958172046650101'")" \
	"2026-11-18T16:30:00+08:00" "a time without an offset is in the shop's time zone"
is "$(sql "select json_extract(data, '\$.items[0].name') || '|' || json_extract(data, '\$.items[0].qty') || '|' || json_extract(data, '\$.items[1].name') from orders where external_id = 'MY2611200021'")" \
	"Bamboo mat, large|1|Soap dish" "a quoted comma stays in the item name; items split on ;"
is "$(sql "select json_extract(data, '\$.currency') from orders where external_id = 'MY2611200021'")" MYR \
	"currency codes are upper-cased"
is "$(sql "select json_extract(data, '\$.phone_last4') from orders where external_id = '3958172046650101'")" 0101 \
	"phone digits keep their leading zero"

# ---- re-import: same rows unchanged, a changed row updated ----
sed 's/^A-3,12.5/A-3,13.5/' "$T_TMP/a.csv" >"$T_TMP/b.csv"
run "$P" orders import "$T_TMP/b.csv" --db "$DB" --now 2026-11-23T11:00:00+08:00
is "$T_RC" 0 "importing again succeeds"
is "$T_OUT" "$T_TMP/b.csv: 0 imported, 1 updated, 2 unchanged, 0 skipped" "updates, never duplicates"
is "$(sql "select count(*) from orders")" 3 "still three orders"
is "$(sql "select json_extract(data, '\$.amount') from orders where external_id = 'A-3'")" 13.5 "the new amount is kept"

# ---- bad rows: reported with their line, skipped, the rest imported ----
cat >"$T_TMP/c.csv" <<'EOF'
order_id,amount,items,carrier,tracking_number,paid_at
B1,10,"a
multi-line ""item"" name x2",,,
B2,ten,,,,
B3,5,,nosuch,X123,
B4,5,,,,yesterday
B5,5,"bad"quote,,,
B1,7,,,,
B6,6,,yto,YT2611200000102,
,3,,,,

B7,7,"never closed
EOF
run "$P" orders import "$T_TMP/c.csv" --db "$DB"
is "$T_RC" 2 "a bad row makes the exit status 2"
like "$T_ERR" "c.csv:4: amount 'ten' is not a number" "a bad amount, with its line (after a two-line record)"
like "$T_ERR" "c.csv:5: unknown carrier 'nosuch'" "an unknown carrier"
like "$T_ERR" "c.csv:6: order.paid_at must be an ISO 8601 date-time" "a bad time"
like "$T_ERR" "c.csv:7: text follows a closing quote" "a stray quote"
like "$T_ERR" "c.csv:8: order B1 is already on line 2" "an order twice in one file"
like "$T_ERR" "c.csv:10: order_id is empty" "a row without an order id"
like "$T_ERR" "c.csv:12: a quoted field is never closed" "a quote left open at the end"
is "$T_OUT" "$T_TMP/c.csv: 2 imported, 0 updated, 0 unchanged, 7 skipped" "the good rows are imported"
is "$(sql "select json_extract(data, '\$.items[0].name') from orders where external_id = 'B1'")" \
	'a
multi-line "item" name' "a line break and doubled quotes inside a quoted field"
is "$(sql "select count(*) from orders where external_id in ('B2','B3','B4','B5','B7')")" 0 "no bad row is stored"

# ---- files that cannot be imported at all ----
printf 'amount,currency\n1,CNY\n' >"$T_TMP/d.csv"
run "$P" orders import "$T_TMP/d.csv" --db "$DB"
is "$T_RC" 2 "a file without an order_id column is refused"
like "$T_ERR" "d.csv:1: no order_id column" "and says which line"
printf 'order_id,order_id\n1,2\n' >"$T_TMP/e.csv"
run "$P" orders import "$T_TMP/e.csv" --db "$DB"
like "$T_ERR" "column order_id appears twice" "a column given twice is refused"
printf 'order_id,amount\nC1,\377\376\n' >"$T_TMP/f.csv"
run "$P" orders import "$T_TMP/f.csv" --db "$DB"
like "$T_ERR" "f.csv:2: field 2 is not valid UTF-8" "invalid UTF-8 is a bad row"

# ---- standard input, another channel ----
run sh -c "printf 'order_id,amount\nS1,1\nS2,2\n' | '$P' orders import - --db '$DB' --channel shopee"
is "$T_RC" 0 "- reads standard input"
is "$T_OUT" "<stdin>: 2 imported, 0 updated, 0 unchanged, 0 skipped" "and names it <stdin>"
is "$(sql "select count(*) from orders where channel = 'shopee'")" 2 "--channel records the source"

# ---- the sandbox shop seed served over HTTP ----
"$P" sandbox --seed "$PB_SRCDIR/kb/sandbox/shop.yaml" >"$T_TMP/sbx.out" 2>&1 &
SBX=$!
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	grep -q listening "$T_TMP/sbx.out" && break
	sleep 0.1
done
PORT=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$T_TMP/sbx.out")
like "$PORT" "^[0-9]+$" "the sandbox starts with the shop seed"
U="http://127.0.0.1:$PORT"
A="Authorization: Bearer sandbox-orders-token"
body=$(curl -s -H "$A" "$U/orders?id=3958172046650114")
like "$body" '"amount":1299' "the order API serves the high-value order"
like "$body" '"parcel":\{"carrier":"jd","number":"JDV261120000114"\}' "with its parcel"
is "$(curl -s -o /dev/null -w '%{http_code}' "$U/orders?id=3958172046650114")" 401 "without the token: 401"
is "$(curl -s -o /dev/null -w '%{http_code}' -H "$A" "$U/orders?id=NOPE")" 404 "an unknown order: 404"
export PARCELBOT_KUAIDI100_URL="$U/poll/query.do" PARCELBOT_17TRACK_URL="$U/track/v2.2"
export PARCELBOT_KUAIDI100_CUSTOMER=sandbox-customer PARCELBOT_KUAIDI100_KEY=sandbox-key
export PARCELBOT_17TRACK_TOKEN=sandbox-token
run "$P" track --now 2026-11-23T10:00:00+08:00 --category seafood --phone 0111 sf SF261120000111
like "$T_OUT" "state: attempt_fail" "the fresh crabs' SF trace resolves (delivery failed)"
run "$P" track --now 2026-11-23T10:00:00+08:00 --shipped 2026-11-18T16:30:00+08:00 zto 73100000000101
like "$T_OUT" "anomalies: +no_update, stuck_at_node" "the hub-stuck parcel is stuck"
run "$P" track --now 2026-11-23T10:00:00+08:00 jnt 612611200024
like "$T_OUT" "state: exception/lost" "the laptop's 17TRACK trace says lost"
run "$P" track --now 2026-11-23T10:00:00+08:00 ninjavan NVSG2611200027AB
like "$T_OUT" "left with: +reception" "the guardhouse delivery reads as reception"
kill "$SBX" 2>/dev/null
wait "$SBX" 2>/dev/null

done_testing
