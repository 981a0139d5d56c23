# The agent console against the real daemon: signing in (wrong password,
# the rate limit, the cookie's flags), the session cookie on the JSON API
# (CSRF token required for a POST, the decision recorded as the signed-in
# agent), the static files (CSP, no path traversal), the status board,
# the live events, expiry and signing out, and a buyer's markup coming
# back as a plain JSON string.
. tests/lib.sh
P=$PARCELBOT
TOKEN=e2e-console-7c2d1a
SB=""
PB=""
trap 'kill $SB $PB 2>/dev/null; rm -rf "$T_TMP"' EXIT INT TERM

wait_port() {
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
unset PARCELBOT_CONFIG PARCELBOT_API_TOKEN_FILE PARCELBOT_SESSION_TTL
DB=$T_TMP/console.db

start() {
	rm -f "$T_TMP/port"
	"$P" --kb "$PB_SRCDIR/kb" serve --listen 127.0.0.1:0 --db "$DB" --port-file "$T_TMP/port" \
		--log-format json 2>>"$T_TMP/serve.log" &
	PB=$!
	port=$(wait_port "$T_TMP/port") || { cat "$T_TMP/serve.log"; return 1; }
	BASE=http://127.0.0.1:$port
}

# req METHOD PATH [BODY] [curl args...]: with the cookie jar; sets $T_CODE,
# $T_OUT and the response headers in $T_TMP/h.
req() {
	m=$1 p=$2
	shift 2
	b=""
	if [ $# -ge 1 ]; then b=$1; shift; fi
	T_OUT=$(curl -s -D "$T_TMP/h" -b "$T_TMP/jar" -c "$T_TMP/jar" -o - -w '\n%{http_code}' \
		-X "$m" -H 'Content-Type: application/json' ${b:+--data-binary "$b"} "$@" "$BASE$p")
	T_CODE=$(printf '%s' "$T_OUT" | tail -n 1)
	T_OUT=$(printf '%s' "$T_OUT" | sed '$d')
}
api() { # with the bearer token
	T_OUT=$(curl -s -o - -w '\n%{http_code}' -X "$1" -H "Authorization: Bearer $TOKEN" \
		-H 'Content-Type: application/json' ${3:+--data-binary "$3"} "$BASE$2")
	T_CODE=$(printf '%s' "$T_OUT" | tail -n 1)
	T_OUT=$(printf '%s' "$T_OUT" | sed '$d')
}
jget() {
	printf '%s' "$T_OUT" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

# --- agents from the command line ---
printf 'amy-pass-1\n' | "$P" agents add amy --role supervisor --password-stdin --db "$DB" >/dev/null
ok $? "agents add amy (supervisor)"
printf 'bob-pass-1\n' | "$P" agents add bob --password-stdin --db "$DB" >/dev/null
ok $? "agents add bob"
printf 'x\n' | "$P" agents add bob --password-stdin --db "$DB" >/dev/null 2>&1
is $? 2 "adding bob twice fails"
run "$P" agents list --db "$DB"
like "$T_OUT" "amy +supervisor +sign-in" "agents list shows amy as supervisor"
run "$P" agents add carl --db "$DB" </dev/null
is "$T_RC" 1 "no terminal and no --password-stdin: usage error"
run sqlite3 "$DB" "SELECT password_hash FROM agents WHERE name = 'amy'"
like "$T_OUT" '^\$y\$' "the password is stored as a yescrypt hash"

start
ok $? "serve starts"

# --- static files ---
req GET /
is "$T_CODE" 200 "GET / : 200"
like "$(cat "$T_TMP/h")" "Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'" "CSP header on /"
like "$(cat "$T_TMP/h")" "Content-Type: text/html" "index is HTML"
unlike "$T_OUT" "<script>[^<]|style=|onclick=" "no inline script, style or handlers"
req GET /console/static/app.js
is "$T_CODE" 200 "app.js: 200"
like "$(cat "$T_TMP/h")" "Content-Type: text/javascript" "app.js as JavaScript"
req GET /console/static/app.css
like "$(cat "$T_TMP/h")" "Content-Type: text/css" "app.css as CSS"
code=$(curl -s --path-as-is -o /dev/null -w '%{http_code}' "$BASE/console/static/../../etc/passwd")
is "$code" 400 "/console/static/../../etc/passwd refused"
code=$(curl -s --path-as-is -o /dev/null -w '%{http_code}' "$BASE/console/static/%2e%2e%2fetc%2fpasswd")
like "$code" "^40[04]$" "an escaped traversal refused"
req GET /console/static/nope.js
is "$T_CODE" 404 "a file not embedded: 404"

# --- signing in ---
req POST /console/login '{"name":"amy","password":"wrong"}'
is "$T_CODE" 401 "wrong password: 401"
req POST /console/login '{"name":"nobody","password":"x"}'
is "$T_CODE" 401 "unknown agent: 401"
req GET /console/me
is "$T_CODE" 401 "/console/me without a session: 401"
for i in 1 2 3 4 5; do req POST /console/login '{"name":"bob","password":"wrong"}'; done
req POST /console/login '{"name":"bob","password":"bob-pass-1"}'
is "$T_CODE" 429 "five failures for a name: 429 even with the right password"
like "$(cat "$T_TMP/h")" "Retry-After" "429 says when to retry"
for i in $(seq 13); do req POST /console/login "{\"name\":\"x$i\",\"password\":\"wrong\"}"; done
req POST /console/login '{"name":"x99","password":"wrong"}'
is "$T_CODE" 429 "twenty failures from one address: 429 for any name"
kill -TERM $PB; wait $PB 2>/dev/null
start

req POST /console/login '{"name":"amy","password":"amy-pass-1"}'
is "$T_CODE" 200 "amy signs in: 200"
is "$(jget 'd["agent"]+"/"+d["role"]')" "amy/supervisor" "login answers agent and role"
CSRF=$(jget 'd["csrf"]')
like "$CSRF" '^[0-9a-f]{64}$' "and a CSRF token"
cookie=$(grep -i '^Set-Cookie: pb_session=' "$T_TMP/h")
like "$cookie" "HttpOnly" "cookie is HttpOnly"
like "$cookie" "SameSite=Strict" "cookie is SameSite=Strict"
like "$cookie" "Path=/" "cookie is for Path=/"
like "$cookie" "Max-Age=43200" "cookie lasts 12 hours"
unlike "$cookie" "Secure" "not Secure over plain HTTP"
tok=$(printf '%s' "$cookie" | sed 's/.*pb_session=\([0-9a-f]*\).*/\1/')
run sqlite3 "$DB" "SELECT count(*) FROM sessions WHERE token_hash = '$tok'"
is "$T_OUT" 0 "the token itself is not stored"
run sqlite3 "$DB" "SELECT count(*) FROM sessions WHERE agent = 'amy'"
is "$T_OUT" 1 "its hash is"
req GET /console/me
is "$(jget 'd["agent"]')" amy "/console/me with the cookie"

# --- the API with the cookie ---
XSS='<script>alert(1)</script><img src=x onerror=alert(1)>'
api POST /api/v1/messages "{\"conversation\":\"c-x\",\"buyer\":\"b-x\",\"text\":\"我的快递三天没更新了 $XSS\",\"order_id\":\"A100\",\"tracking_number\":\"73100000000001\",\"carrier\":\"zto\",\"message_id\":\"m-x\"}"
is "$T_CODE" 201 "a message with markup: 201"
case1=$(jget 'd["case"]["id"]')
draft1=$(jget 'd["draft"]["id"]')
req GET /api/v1/drafts
is "$T_CODE" 200 "GET /api/v1/drafts with the cookie: 200"
req GET "/api/v1/cases/$case1"
is "$T_CODE" 200 "GET the case with the cookie"
is "$(jget '[t["text"] for t in d["timeline"] if t.get("type", t.get("kind"))=="message"][0].endswith("<script>alert(1)</script><img src=x onerror=alert(1)>")')" True "the buyer's markup comes back as a plain JSON string"
like "$(cat "$T_TMP/h")" "Content-Type: application/json" "as JSON"
req POST "/api/v1/drafts/$draft1/approve" '{}'
is "$T_CODE" 403 "approve with the cookie, no X-CSRF-Token: 403"
req POST "/api/v1/drafts/$draft1/approve" '{}' -H "X-CSRF-Token: 0000000000000000000000000000000000000000000000000000000000000000"
is "$T_CODE" 403 "with a wrong X-CSRF-Token: 403"
req POST "/api/v1/drafts/$draft1/approve" '{"agent":"mallory"}' -H "X-CSRF-Token: $CSRF"
is "$T_CODE" 200 "with the X-CSRF-Token: 200"
api GET "/api/v1/cases/$case1"
is "$(jget '[t["agent"] for t in d["timeline"] if t.get("type", t.get("kind"))=="decision"][0]')" amy "the decision's agent is the session's, not the body's"
req POST /api/v1/lint '{"text":"亲，很抱歉"}' -H "X-CSRF-Token: $CSRF"
is "$T_CODE" 200 "lint with the cookie and token"
req POST /api/v1/lint "{\"text\":\"包裹已经签收了，请查收。\",\"case\":$case1}" -H "X-CSRF-Token: $CSRF"
like "$(jget '" ".join(f["code"] for f in d["lint"])')" "apology_not_first" "lint with a problem case asks for the apology first"
req POST /api/v1/lint '{"text":"x","case":999999}' -H "X-CSRF-Token: $CSRF"
is "$T_CODE" 404 "lint with an unknown case: 404"

# --- status board ---
req GET /api/v1/stats
is "$T_CODE" 200 "GET /api/v1/stats with the cookie"
is "$(jget 'd["today"]["decisions"]["approve"]')" 1 "today's approvals counted"
is "$(jget 'sum(d["open"]["by_state"].values())')" 1 "open cases by state"
api GET /api/v1/stats
is "$T_CODE" 200 "stats with the bearer token"
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/api/v1/stats")
is "$code" 401 "stats without either: 401"

# --- live events ---
curl -s -N -b "$T_TMP/jar" --max-time 3 "$BASE/console/events" >"$T_TMP/sse" 2>/dev/null &
SSE=$!
sleep 1
api POST /api/v1/messages '{"conversation":"c-y","buyer":"b-y","text":"快递三天没动了","order_id":"A101","tracking_number":"73100000000001","carrier":"zto","message_id":"m-y"}'
wait $SSE
like "$(cat "$T_TMP/sse")" "^event: drafts" "events: drafts announced"
is "$(grep -c '^event: drafts' "$T_TMP/sse")" 2 "and again when a draft arrives"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$BASE/console/events")
is "$code" 401 "events need a session"

# --- signing out ---
req POST /console/logout '' 
is "$T_CODE" 403 "logout without the CSRF token: 403"
cp "$T_TMP/jar" "$T_TMP/jar.old"
req POST /console/logout '' -H "X-CSRF-Token: $CSRF"
is "$T_CODE" 200 "logout: 200"
T_OUT=$(curl -s -o /dev/null -w '%{http_code}' -b "$T_TMP/jar.old" "$BASE/console/me")
is "$T_OUT" 401 "the old cookie no longer works"
T_OUT=$(curl -s -o /dev/null -w '%{http_code}' -b "$T_TMP/jar.old" "$BASE/api/v1/drafts")
is "$T_OUT" 401 "nor on the API"

# --- expiry ---
kill -TERM $PB; wait $PB 2>/dev/null
PARCELBOT_SESSION_TTL=1 start
req POST /console/login '{"name":"amy","password":"amy-pass-1"}'
is "$T_CODE" 200 "sign in with a one-second session"
like "$(cat "$T_TMP/h")" "Max-Age=1" "cookie says so"
cp "$T_TMP/jar" "$T_TMP/jar.short"
sleep 2.2
T_OUT=$(curl -s -o /dev/null -w '%{http_code}' -b "$T_TMP/jar.short" "$BASE/console/me")
is "$T_OUT" 401 "an expired session: 401"

# --- password change ends sessions ---
req POST /console/login '{"name":"amy","password":"amy-pass-1"}'
printf 'amy-pass-2\n' | "$P" agents passwd amy --password-stdin --db "$DB" >/dev/null
req GET /console/me
is "$T_CODE" 401 "a changed password ends the session"
req POST /console/login '{"name":"amy","password":"amy-pass-2"}'
is "$T_CODE" 200 "the new password works"
"$P" agents remove amy --db "$DB" >/dev/null
req GET /console/me
is "$T_CODE" 401 "a removed agent's session ends"

kill -TERM $PB; wait $PB 2>/dev/null
done_testing
