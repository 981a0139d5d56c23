# The security cases of `parcelbot serve` and `parcelbot track` against the
# real binary on loopback (docs/security.md lists every case and where it is
# tested): the comparison of secrets (valgrind, when present, on the unit
# test), wrong, empty and near-miss webhook secrets and tokens, slow clients
# (slowloris on headers and body, a silent client) and the per-address
# connection limit, oversized headers and bodies, TLS verification end to
# end with a certificate made here, secrets absent from the debug log and
# /metrics after failures, path traversal on the console's files, and
# markup in the knowledge base's text reaching the API, the console's
# script and the HTML report only as text.
. tests/lib.sh
P=$PARCELBOT
BUILD=${BUILD:-build}
CLIENTS="python3 $PB_SRCDIR/tests/e2e/security_clients.py"
SB="" PB="" TLS=""
trap 'kill $SB $PB $TLS 2>/dev/null; rm -rf "$T_TMP"' EXIT INT TERM

# Secrets, each distinctive so that any trace of one is found.
API_TOKEN=sec-api-3b8d52aa
HOOK_SECRET=sec-hook-91c4e7d0
K100_KEY=sec-k100-key-77e1f
T17_TOKEN=sec-17t-token-4a9c
CW_TOKEN=sec-cw-token-c0ffee
TIMEOUT=2
PER_IP=4

wait_file() { # wait_file FILE: prints FILE's first line once it has one
	for _ in $(seq 200); do
		[ -s "$1" ] && { head -n 1 "$1"; return 0; }
		sleep 0.05
	done
	return 1
}

# --- the comparison of secrets, under memcheck ---
t=$BUILD/tests/test_security
if ! command -v valgrind >/dev/null 2>&1; then
	echo "ok $((T_N + 1)) - pb_secret_equal under memcheck # SKIP valgrind is not installed"
	T_N=$((T_N + 1))
elif ldd "$t" 2>/dev/null | grep -q libasan; then
	echo "ok $((T_N + 1)) - pb_secret_equal under memcheck # SKIP a sanitizer build"
	T_N=$((T_N + 1))
else
	run env CMOCKA_MESSAGE_OUTPUT=TAP valgrind -q --error-exitcode=3 "$t"
	is "$T_RC" 0 "test_security passes under memcheck"
	like "$T_OUT" "constant time: checked under memcheck" \
		"pb_secret_equal: no branch or address depends on the secret bytes"
fi

# --- the sandbox shop and a KB whose reply texts carry markup ---
export PARCELBOT_KUAIDI100_CUSTOMER=sec-k100-customer PARCELBOT_KUAIDI100_KEY=$K100_KEY
export PARCELBOT_17TRACK_TOKEN=$T17_TOKEN PARCELBOT_CHATWOOT_TOKEN=$CW_TOKEN
export PARCELBOT_API_TOKEN=$API_TOKEN PARCELBOT_CHATWOOT_WEBHOOK_SECRET=$HOOK_SECRET
unset PARCELBOT_CONFIG PARCELBOT_API_TOKEN_FILE PARCELBOT_CHATWOOT_URL PARCELBOT_CA_FILE \
	PARCELBOT_KUAIDI100_KEY_FILE PARCELBOT_17TRACK_TOKEN_FILE PARCELBOT_ORDERS_URL
sandbox_start SBX --seed "$PB_SRCDIR/tests/fixtures/sandbox-parcels.yaml"
SB=$SBX_PID
sbport=${SBX##*:}
SBX=http://127.0.0.1:$sbport
export PARCELBOT_KUAIDI100_URL=$SBX/poll/query.do PARCELBOT_17TRACK_URL=$SBX/track/v2.2

MARK='<img src=x onerror=alert(1)>'
cp -r "$PB_SRCDIR/kb" "$T_TMP/kb"
sed -i "s#^\\([[:space:]]*action: \"\\)#\\1$MARK #" "$T_TMP"/kb/replies/*.yaml
cat >>"$T_TMP/kb/replies/common.yaml" <<'EOF'
  - zh: "<b>核对</b><script>alert(2)</script>"
    en: "<b>check</b><script>alert(2)</script>"
EOF
run "$P" kb check "$T_TMP/kb"
is "$T_RC" 0 "a KB with markup in its reply texts loads (markup is text to parcelbot)"

printf 'server:\n  listen: 127.0.0.1:0\n  max_body: 64KiB\n  connection_timeout: %ss\n  max_connections_per_ip: %s\nchannels:\n  chatwoot:\n    url: %s\n    account_id: 1\n' \
	"$TIMEOUT" "$PER_IP" "$SBX" >"$T_TMP/pb.yaml"
DB=$T_TMP/sec.db
"$P" --kb "$T_TMP/kb" serve --config "$T_TMP/pb.yaml" --db "$DB" --port-file "$T_TMP/port" \
	--log-format json --log-level debug 2>"$T_TMP/serve.log" &
PB=$!
port=$(wait_file "$T_TMP/port")
ok $? "serve starts with the marked-up KB, debug logging and short timeouts"
BASE=http://127.0.0.1:$port
curl -s -o /dev/null -d "{\"webhook\": \"$BASE/webhooks/chatwoot/$HOOK_SECRET\"}" "$SBX/_sandbox/chatwoot/config"

code() { # code [curl args...]: the status, 000 when the connection failed
	curl -s -o /dev/null -w '%{http_code}' "$@"
}

# --- webhook secret and API token: near misses are 401 ---
HOOK_BODY='{"event":"message_created","id":9001,"content":"快递三天没动了","created_at":"2026-11-20 10:00:00 UTC","message_type":"incoming","private":false,"sender":{"id":70,"name":"buyer","type":"contact"},"conversation":{"id":7},"account":{"id":1}}'
hook() { code -H 'Content-Type: application/json' --data-binary "$HOOK_BODY" "$BASE/webhooks/chatwoot$1"; }
is "$(hook /wrong-secret)" 401 "webhook: a wrong secret: 401"
is "$(hook "")" 401 "webhook: no secret: 401"
like "$(hook /)" "^40[14]$" "webhook: an empty secret: refused"
is "$(hook "/${HOOK_SECRET%?}")" 401 "webhook: the secret less its last character: 401"
is "$(hook "/${HOOK_SECRET%????}")" 401 "webhook: a shorter prefix of the secret: 401"
is "$(hook "/${HOOK_SECRET}x")" 401 "webhook: the secret and one character more: 401"
is "$(hook "/$(printf '%s' "$HOOK_SECRET" | tr 'a-z' 'A-Z')")" 401 "webhook: the secret in upper case: 401"
is "$(hook "/$HOOK_SECRET")" 200 "webhook: the right secret: 200"
api_code() { code -H "Authorization: $1" "$BASE/api/v1/drafts"; }
is "$(api_code "Bearer ${API_TOKEN%?}")" 401 "API: a prefix of the token: 401"
is "$(api_code "Bearer ${API_TOKEN}x")" 401 "API: the token and one character more: 401"
is "$(api_code "Bearer ")" 401 "API: an empty bearer token: 401"
is "$(api_code "Basic $API_TOKEN")" 401 "API: the token under another scheme: 401"
is "$(api_code "Bearer $API_TOKEN")" 200 "API: the right token: 200"

# --- markup in the KB's text: a JSON string in the API, text in the console ---
T_OUT=$(curl -s -D "$T_TMP/h" -H "Authorization: Bearer $API_TOKEN" -H 'Content-Type: application/json' \
	--data-binary '{"conversation":"c-k","buyer":"b-k","text":"我的快递三天没更新了","order_id":"A100","tracking_number":"73100000000001","carrier":"zto","message_id":"m-k"}' \
	"$BASE/api/v1/messages")
printf '%s' "$T_OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert "<img src=x onerror=alert(1)>" in d["draft"]["reply"], d["draft"]["reply"]' 2>&1
ok $? "the draft carries the KB's markup as a JSON string"
like "$(cat "$T_TMP/h")" "Content-Type: application/json" "as application/json"
like "$(cat "$T_TMP/h")" "X-Content-Type-Options: nosniff" "with nosniff, so no browser reads it as HTML"
case_id=$(printf '%s' "$T_OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["case"]["id"])')
T_OUT=$(curl -s -H "Authorization: Bearer $API_TOKEN" "$BASE/api/v1/cases/$case_id")
printf '%s' "$T_OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
dr = [t for t in d["timeline"] if t.get("type") == "draft"][-1]
cl = dr["checklist"] if isinstance(dr["checklist"], list) else json.loads(dr["checklist"])
texts = [c["text"] if isinstance(c, dict) else c for c in cl]
assert any("<script>alert(2)</script>" in t for t in texts), texts' 2>&1
ok $? "the case's checklist carries the KB's <script> as a JSON string"
# The console builds the page with createElement and textContent only: no
# call that parses a string as HTML (tests/browser/console.mjs renders it).
unlike "$(cat "$PB_SRCDIR"/src/console/*.js)" "innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function" \
	"the console's script never parses text as HTML"
run "$P" report --db "$DB" --kb "$T_TMP/kb" --from 2000-01-01 --to 2099-12-31 --format html
is "$T_RC" 0 "report --format html over a store drafted from that KB"
unlike "$T_OUT" "<img|<b>|<script" "the HTML report holds no element from KB text"
cp -r "$PB_SRCDIR/kb" "$T_TMP/kb-id"
sed -i '0,/^  - id: \([a-z_]*\)$/s//  - id: "<img src=x onerror=alert(1)>"/' "$T_TMP/kb-id/replies/stuck_parcel.yaml"
grep -q 'id: "<img' "$T_TMP/kb-id/replies/stuck_parcel.yaml"
ok $? "(a KB copy with markup in a template id)"
run "$P" kb check "$T_TMP/kb-id"
is "$T_RC" 2 "a template id with markup is refused, so ids in reports and the console are plain"

# --- path traversal on the console's files ---
is "$(code "$BASE/console/static/app.js")" 200 "an embedded file is served (the control)"
for p in \
	'/console/static/../../etc/passwd' \
	'/console/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd' \
	'/console/static/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd' \
	'/console/static/..%2f..%2f..%2fetc%2fpasswd' \
	'/console/static/%252e%252e%252f%252e%252e%252fetc%252fpasswd' \
	'/console/static/..%255c..%255cetc%255cpasswd' \
	'/console/static/..\..\..\etc\passwd' \
	'/console/static/..%5c..%5c..%5cetc%5cpasswd' \
	'/console/static//etc/passwd' \
	'/console/static/%2fetc%2fpasswd' \
	'/console/static/%2Fproc%2Fself%2Fenviron' \
	'/console/static/../../../../../../proc/self/environ' \
	'/console/static/....//....//....//etc/passwd' \
	'/console/static/..%c0%af..%c0%afetc%c0%afpasswd' \
	'/console/static/app.js%00.txt' \
	'/console/static/./app.js' \
	'/console/static/%2e%2e/src/server.c' \
	'/console/static/%2e%2e/console/index.html' \
	'/%2e%2e/%2e%2e/etc/passwd' \
	'/console/static/'; do
	T_OUT=$(curl -s --path-as-is -o - -w '\n%{http_code}' "$BASE$p")
	c=$(printf '%s' "$T_OUT" | tail -n 1)
	if [ "$c" != 200 ] && ! printf '%s' "$T_OUT" | grep -Eq 'root:|PARCELBOT_|#include|<html'; then
		ok 0 "traversal refused ($c): $p"
	else
		ok 1 "traversal refused: $p"
		printf '# got %s: %s\n' "$c" "$(printf '%s' "$T_OUT" | head -c 200)"
	fi
done

# --- oversized headers and bodies (max_body 64KiB; 32 KiB of headers) ---
$CLIENTS big "$port" "$API_TOKEN" "$HOOK_SECRET" >"$T_TMP/big" 2>&1
big() { sed -n "s/^$1 //p" "$T_TMP/big"; }
like "$(big hdr_api)" "^(431|413|closed)$" "API: a 100 KB header: 431 or closed ($(big hdr_api))"
like "$(big hdr_hook)" "^(431|413|closed)$" "webhook: a 100 KB header: 431 or closed ($(big hdr_hook))"
like "$(big many_api)" "^(431|413|closed)$" "API: 5000 small headers: 431 or closed ($(big many_api))"
like "$(big many_hook)" "^(431|413|closed)$" "webhook: 5000 small headers: 431 or closed ($(big many_hook))"
like "$(big url_api)" "^(414|431|413|closed)$" "API: a 100 KB URL: 414/431 or closed ($(big url_api))"
is "$(big body_api)" 413 "API: a 100 KB body: 413"
is "$(big body_hook)" 413 "webhook: a 100 KB body: 413"
is "$(big chunked_api)" 413 "API: a 100 KB chunked body (no length given): 413"
is "$(big chunked_hook)" 413 "webhook: a 100 KB chunked body: 413"
is "$(big claimed_hook)" 413 "webhook: a claimed 100 GB body: 413 before reading it"
is "$(big healthz_after)" 200 "healthy after all that"

# --- slow clients: the request deadline and the per-address limit ---
$CLIENTS slow "$port" "$TIMEOUT" "$PER_IP" >"$T_TMP/slow" 2>&1
slow() { sed -n "s/^$1 //p" "$T_TMP/slow"; }
within() { # within SECONDS LOW HIGH
	python3 -c "import sys; v=float('$1' or 'nan'); sys.exit(0 if $2 <= v <= $3 else 1)" 2>/dev/null
}
within "$(slow head_closed_after)" $((TIMEOUT - 1)) $((TIMEOUT + 3))
ok $? "headers trickling in: cut after $(slow head_closed_after) s (timeout ${TIMEOUT} s)"
within "$(slow body_closed_after)" $((TIMEOUT - 1)) $((TIMEOUT + 3))
ok $? "a body trickling in: cut after $(slow body_closed_after) s"
within "$(slow idle_closed_after)" $((TIMEOUT - 1)) $((TIMEOUT + 3))
ok $? "a silent client: closed after $(slow idle_closed_after) s"
is "$(slow held_from_1)" closed "with $PER_IP slow connections from 127.0.0.1, a fifth from it is closed"
is "$(slow other_addr)" 200 "while 127.0.0.2 still gets /healthz 200"
within "$(slow held_closed_after_max)" $((TIMEOUT - 1)) $((TIMEOUT + 3))
ok $? "the $PER_IP slow connections are cut too (last after $(slow held_closed_after_max) s)"
after=$(slow after_from_1)
like "$after" "^200 " "and 127.0.0.1 is served again ($after s after being turned away)"
like "$(curl -s "$BASE/metrics")" "parcelbot_http_slow_requests_cut ([5-9]|[1-9][0-9])" \
	"/metrics counts the connections cut"

# --- secrets absent from the debug log and /metrics, failures included ---
# Upstream failures: every sandbox route answers 500 (tracking and Chatwoot).
curl -s -o /dev/null -d '{"route":"*","status":500,"times":0}' "$SBX/_sandbox/faults"
curl -s -o /dev/null -H "Authorization: Bearer $API_TOKEN" -H 'Content-Type: application/json' \
	--data-binary '{"conversation":"c-f","text":"快递一直没动","tracking_number":"73100000000002","carrier":"zto","message_id":"m-f"}' \
	"$BASE/api/v1/messages"
HOOK_BODY=$(printf '%s' "$HOOK_BODY" | sed 's/"id":9001/"id":9002/')
hook "/$HOOK_SECRET" >/dev/null
for _ in $(seq 100); do
	grep -q '"event":"outbox\.' "$T_TMP/serve.log" &&
		grep -q '"event":"tracking\.lookup_failed' "$T_TMP/serve.log" && break
	sleep 0.1
done
like "$(cat "$T_TMP/serve.log")" '"level":"debug"' "the log is at debug level"
like "$(cat "$T_TMP/serve.log")" 'webhook.rejected' "and records the rejected webhooks"
like "$(cat "$T_TMP/serve.log")" 'tracking.lookup_failed' "and the failed tracking lookup"
like "$(cat "$T_TMP/serve.log")" '"event":"outbox\.(retry|parked|failed)' "and the failed calls to Chatwoot"
metrics=$(curl -s "$BASE/metrics")
like "$metrics" 'parcelbot_http_requests_total\{route="/webhooks/\{channel\}/\{secret\}",method="POST",status="401"\}' \
	"/metrics counts the 401s by route pattern"
for s in "$API_TOKEN" "$HOOK_SECRET" "$CW_TOKEN" "$K100_KEY" "$T17_TOKEN"; do
	if grep -qF "$s" "$T_TMP/serve.log"; then
		ok 1 "no ${s%-*}… in the debug log"
		grep -F "$s" "$T_TMP/serve.log" | head -3 | sed 's/^/# /'
	else ok 0 "no ${s%-*}… in the debug log"; fi
	if printf '%s' "$metrics" | grep -qF "$s"; then ok 1 "no ${s%-*}… in /metrics"
	else ok 0 "no ${s%-*}… in /metrics"; fi
done
# A guess that came close is not written down either.
unlike "$(cat "$T_TMP/serve.log")" "${HOOK_SECRET%????}" "no near-miss webhook secret in the log"
curl -s -o /dev/null -X DELETE "$SBX/_sandbox/faults"

# --- TLS verification, end to end, with a certificate made here ---
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost -keyout "$T_TMP/tls.key" -out "$T_TMP/tls.crt" \
	>/dev/null 2>&1
ok $? "a self-signed certificate for localhost"
cat >"$T_TMP/tls.py" <<'EOF'
# HTTPS in front of the sandbox: same answers, an untrusted certificate.
import http.server, ssl, sys, urllib.request
up, crt, key = sys.argv[1:4]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        r = urllib.request.Request(up + self.path, data=body,
                                   headers={"Content-Type": self.headers.get("Content-Type", "")})
        with urllib.request.urlopen(r) as a:
            data = a.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(crt, key)
s.socket = ctx.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.serve_forever()
EOF
python3 "$T_TMP/tls.py" "$SBX" "$T_TMP/tls.crt" "$T_TMP/tls.key" >"$T_TMP/tls.port" 2>"$T_TMP/tls.err" &
TLS=$!
tport=$(wait_file "$T_TMP/tls.port")
ok $? "HTTPS on loopback with it"
run env PARCELBOT_KUAIDI100_URL="https://localhost:$tport/poll/query.do" "$P" track zto 73100000000001
is "$T_RC" 2 "track against an untrusted certificate fails (exit 2)"
like "$T_ERR" "certificate" "with a certificate error: $(printf '%s' "$T_ERR" | head -n 1)"
unlike "$T_ERR$T_OUT" "$K100_KEY|sec-k100-customer" "and no credential in the message"
run env PARCELBOT_KUAIDI100_URL="https://localhost:$tport/poll/query.do" PARCELBOT_CA_FILE="$T_TMP/tls.crt" \
	"$P" track zto 73100000000001
is "$T_RC" 0 "the same with PARCELBOT_CA_FILE trusting that certificate: exit 0"
like "$T_OUT" "via kuaidi100" "and the trace comes through: verification was the only obstacle"
run env PARCELBOT_KUAIDI100_URL="https://127.0.0.1:$tport/poll/query.do" PARCELBOT_CA_FILE="$T_TMP/tls.crt" \
	"$P" track zto 73100000000001
is "$T_RC" 2 "a trusted certificate for another host name fails"
like "$T_ERR" "host ?name|subject name" "with a host name error: $(printf '%s' "$T_ERR" | head -n 1)"

kill -TERM $PB
wait $PB
is $? 0 "serve stops cleanly after all that"
done_testing
