# The monthly review from a terminal: a few real cases ingested and
# decided, then `parcelbot report` in every format. Names that come from
# outside (a carrier, a template id) carry markup, which every format must
# keep inert.
. tests/lib.sh
P=$PARCELBOT
DB=$T_TMP/pb.db
export PARCELBOT_DB="$DB"
export USER=tester
unset XDG_DATA_HOME
sql() { sqlite3 "$DB" "$1"; }

msg() { # msg ID CONV ORDER TEXT NOW
	printf '{"message_id":"%s","conversation":"%s","message":"%s","now":"%s","order":{"id":"%s","amount":89,"currency":"CNY","category":"food","paid_at":"2026-11-14T09:00:00+08:00","shipped_at":"2026-11-14T18:00:00+08:00"},"parcel":{"carrier":"zto","number":"7531234567890%s","events":[{"time":"2026-11-17T08:00:00+08:00","location":"杭州转运中心","description":"快件已到达【杭州转运中心】","state":"in_transit"}]}}\n' \
		"$1" "$2" "$4" "$5" "$3" "$1"
}

run "$P" help report
like "$T_OUT" "^usage: parcelbot report" "help report shows its usage"
run "$P" report --to 2026-11-30 --db "$DB"
is "$T_RC" 1 "--from is required"
run "$P" report --from 2026-11-01 --to 2026-11-30 --format pdf
is "$T_RC" 1 "an unknown format is a usage error"
run "$P" report --from 2026-11-31 --to 2026-11-30
is "$T_RC" 1 "a bad date is a usage error"

{
	msg 1 c1 A-1 "三天了物流一直没更新,怎么回事" 2026-11-20T10:00:00+08:00
	msg 2 c2 A-2 "快递好几天没动了,到底什么时候到" 2026-11-21T10:00:00+08:00
	msg 3 c2 A-2 "还是没动,再不到我要投诉了" 2026-11-22T10:00:00+08:00
} >"$T_TMP/in.jsonl"
run sh -c "'$P' ingest --jsonl < '$T_TMP/in.jsonl'"
is "$T_RC" 0 "three messages ingested"
printf '%s\n' "亲,非常抱歉让您久等了!包裹在杭州转运中心,我们已催促快递,今天18:00前给您答复。" >"$T_TMP/edit.txt"
run "$P" approve 1 --text "$T_TMP/edit.txt" --now 2026-11-20T10:30:00+08:00
is "$T_RC" 0 "case 1 approved with an edit"
sql "UPDATE parcels SET carrier = '<script>alert(1)</script>' WHERE id = 1"
sql "UPDATE drafts SET template = '<script>t</script>' WHERE case_id = 1"

run "$P" report --from 2026-11-01 --to 2026-11-30
is "$T_RC" 0 "report (md) runs"
like "$T_OUT" "^# parcelbot review" "md has a title"
like "$T_OUT" "\| cases opened \| 2 \|" "md counts the two cases"
like "$T_OUT" "## Carriers" "md has the carrier table"
like "$T_OUT" "\\\\<script\\\\>" "md escapes markup in a name"

run "$P" report --from 2026-11-01 --to 2026-11-30 --format csv
is "$T_RC" 0 "report (csv) runs"
like "$T_OUT" "^# carriers" "csv has a section per table"
like "$T_OUT" "^carrier,parcels,delayed,delay_rate" "csv sections have a header row"

run "$P" report --from 2026-11-01 --to 2026-11-30 --format json
is "$T_RC" 0 "report (json) runs"
printf '%s' "$T_OUT" | python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["summary"]["cases"] == 2 and r["summary"]["repeat_cases"] == 1, r["summary"]'
ok $? "json parses, with the cases and the repeat contact"

run "$P" report --from 2026-11-01 --to 2026-11-30 --format html
is "$T_RC" 0 "report (html) runs"
like "$T_OUT" "<svg" "html has inline SVG charts"
like "$T_OUT" "&lt;script&gt;alert\(1\)&lt;/script&gt;" "html escapes a carrier name"
like "$T_OUT" "&lt;script&gt;t&lt;/script&gt;" "html escapes a template id"
unlike "$T_OUT" "<script" "html holds no script element"
unlike "$T_OUT" "(src|href)=" "html loads no external asset"

run "$P" report --from 2026-12-01 --to 2026-12-31 --format json
like "$T_OUT" '"cases":[[:space:]]*0' "an empty month reports zero cases"

done_testing
