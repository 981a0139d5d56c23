#!/bin/sh
# Browser tests of the agent console, part of `make test` (through
# tests/e2e/browser.sh) and `make test-browser`. Installs what they need
# when it is missing: Debian's chromium, nodejs and npm (install-deps.sh),
# and playwright-core from npm under tests/browser. Starts the sandbox shop
# and the daemon with the Chatwoot channel, has buyers write through the
# fake Chatwoot, and drives the console in headless Chromium. Saves
# screenshots of the queue, the case page and the status board under
# docs/img/. A second daemon runs with a copy of the KB whose reply texts
# and checklist carry markup, to show that KB text is shown as text too.
cd "$(dirname "$0")/../.." || exit 2
. tests/lib.sh
P=${PARCELBOT:-build/parcelbot}
PB_SRCDIR=$PWD
TOKEN=browser-token-1
SB="" PB=""
trap 'kill $SB $PB 2>/dev/null; rm -rf "$T_TMP"' EXIT INT TERM
# Only what is missing: a Node.js from elsewhere (which ships its own npm)
# conflicts with Debian's npm package.
need=""
command -v "${CHROMIUM:-chromium}" >/dev/null 2>&1 || need="$need chromium"
command -v node >/dev/null 2>&1 || need="$need nodejs"
command -v npm >/dev/null 2>&1 || need="$need npm"
# A CJK font, or the screenshots show boxes for Chinese text.
fc-list :lang=zh 2>/dev/null | grep -q . || need="$need fonts-wqy-zenhei"
if [ -n "$need" ]; then
	# shellcheck disable=SC2086
	./scripts/install-deps.sh $need >&2 || { echo "not ok 1 - install$need"; exit 1; }
fi
if [ ! -d tests/browser/node_modules/playwright-core ]; then
	(cd tests/browser && npm install --no-audit --no-fund --loglevel=error >&2) ||
		{ echo "not ok 1 - npm install playwright-core"; exit 1; }
fi

"$P" sandbox --port 0 --seed kb/sandbox/shop.yaml >"$T_TMP/sb.out" 2>&1 &
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
export PARCELBOT_CHATWOOT_TOKEN=sandbox-chatwoot-token PARCELBOT_CHATWOOT_WEBHOOK_SECRET=browser-hook-1
export PARCELBOT_ORDERS_URL="http://127.0.0.1:$sbport/orders?id={order_id}"
export PARCELBOT_ORDERS_TOKEN=sandbox-orders-token
unset PARCELBOT_CONFIG PARCELBOT_API_TOKEN_FILE PARCELBOT_CHATWOOT_URL
printf 'server:\n  listen: 127.0.0.1:0\nchannels:\n  chatwoot:\n    url: http://127.0.0.1:%s\n    account_id: 1\n' \
	"$sbport" >"$T_TMP/pb.yaml"
DB=$T_TMP/b.db
printf 'pw-li-1\n' | "$P" agents add li --password-stdin --db "$DB" >/dev/null || exit 1
"$P" --kb kb serve --config "$T_TMP/pb.yaml" --db "$DB" --port-file "$T_TMP/port" 2>"$T_TMP/serve.log" &
PB=$!
for _ in $(seq 200); do [ -s "$T_TMP/port" ] && break; sleep 0.05; done
BASE=http://127.0.0.1:$(cat "$T_TMP/port")
curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	--data-binary '{"conversation":"c-b","buyer":"b-b","text":"我的快递三天没更新了 <script>alert(1)</script><img src=x onerror=alert(1)>","order_id":"3958172046650102","tracking_number":"YT2611200000102","carrier":"yto","message_id":"m-b"}' \
	"$BASE/api/v1/messages"
SBX=http://127.0.0.1:$sbport
curl -s -o /dev/null -d "{\"webhook\": \"$BASE/webhooks/chatwoot/browser-hook-1\"}" "$SBX/_sandbox/chatwoot/config"

# The second daemon: markup in every reply's action sentence and in an
# unconditional checklist item; no channel, one API message.
cp -r kb "$T_TMP/kb-mark"
sed -i 's#^\([[:space:]]*action: "\)#\1<img src=x onerror=alert(1)> #' "$T_TMP"/kb-mark/replies/*.yaml
printf '  - zh: "<b>核对</b><script>alert(2)</script>"\n    en: "<b>check</b><script>alert(2)</script>"\n' \
	>>"$T_TMP/kb-mark/replies/common.yaml"
printf 'pw-li-1\n' | "$P" agents add li --password-stdin --db "$T_TMP/k.db" >/dev/null || exit 1
env -u PARCELBOT_CHATWOOT_TOKEN -u PARCELBOT_CHATWOOT_WEBHOOK_SECRET -u PARCELBOT_ORDERS_URL \
	"$P" --kb "$T_TMP/kb-mark" serve --listen 127.0.0.1:0 --db "$T_TMP/k.db" \
	--port-file "$T_TMP/kport" 2>"$T_TMP/kserve.log" &
PBK=$!
trap 'kill $SB $PB $PBK 2>/dev/null; rm -rf "$T_TMP"' EXIT INT TERM
for _ in $(seq 200); do [ -s "$T_TMP/kport" ] && break; sleep 0.05; done
KBASE=http://127.0.0.1:$(cat "$T_TMP/kport")
curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	--data-binary '{"conversation":"c-k","buyer":"b-k","text":"我的快递三天没更新了","order_id":"A100","tracking_number":"YT2611200000102","carrier":"yto","message_id":"m-k"}' \
	"$KBASE/api/v1/messages"

mkdir -p docs/img
BASE=$BASE KBASE=$KBASE SBX=$SBX TOKEN=$TOKEN AGENT=li PASSWORD=pw-li-1 SHOTS=docs/img node tests/browser/console.mjs
rc=$?
[ $rc -eq 0 ] || { echo "---- serve.log" >&2; tail -30 "$T_TMP/serve.log" >&2; }
exit $rc
