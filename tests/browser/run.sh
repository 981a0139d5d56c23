#!/bin/sh
# Optional browser tests of the agent console (not part of `make test`):
#   apt-get install -y chromium && (cd tests/browser && npm install)
#   make test-browser
# Starts the sandbox and the daemon like tests/e2e/console.sh, submits one
# message with markup in it, and drives the console in headless Chromium.
cd "$(dirname "$0")/../.." || exit 2
. tests/lib.sh
P=${PARCELBOT:-build/parcelbot}
PB_SRCDIR=$PWD
TOKEN=browser-token-1
SB="" PB=""
trap 'kill $SB $PB 2>/dev/null; rm -rf "$T_TMP"' EXIT INT TERM
[ -d tests/browser/node_modules/playwright-core ] || { echo "1..0 # SKIP: npm install under tests/browser first"; exit 0; }
command -v "${CHROMIUM:-chromium}" >/dev/null || { echo "1..0 # SKIP: no chromium"; exit 0; }

"$P" sandbox --port 0 --seed tests/fixtures/sandbox-parcels.yaml >"$T_TMP/sb.out" 2>&1 &
SB=$!
for _ in $(seq 100); do
	sbport=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$T_TMP/sb.out")
	[ -n "$sbport" ] && break
	sleep 0.05
done
export PARCELBOT_KUAIDI100_URL=http://127.0.0.1:$sbport/poll/query.do
export PARCELBOT_17TRACK_URL=http://127.0.0.1:$sbport/track/v2.2
export PARCELBOT_KUAIDI100_CUSTOMER=sandbox-customer PARCELBOT_KUAIDI100_KEY=sandbox-key
export PARCELBOT_17TRACK_TOKEN=sandbox-token PARCELBOT_API_TOKEN=$TOKEN
unset PARCELBOT_CONFIG PARCELBOT_API_TOKEN_FILE
DB=$T_TMP/b.db
printf 'pw-li-1\n' | "$P" agents add li --password-stdin --db "$DB" >/dev/null || exit 1
"$P" --kb kb serve --listen 127.0.0.1:0 --db "$DB" --port-file "$T_TMP/port" 2>"$T_TMP/serve.log" &
PB=$!
for _ in $(seq 200); do [ -s "$T_TMP/port" ] && break; sleep 0.05; done
BASE=http://127.0.0.1:$(cat "$T_TMP/port")
curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	--data-binary '{"conversation":"c-b","buyer":"b-b","text":"我的快递三天没更新了 <script>alert(1)</script><img src=x onerror=alert(1)>","order_id":"A100","tracking_number":"73100000000001","carrier":"zto","message_id":"m-b"}' \
	"$BASE/api/v1/messages"
BASE=$BASE AGENT=li PASSWORD=pw-li-1 node tests/browser/console.mjs
