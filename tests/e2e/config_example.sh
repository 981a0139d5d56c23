# parcelbot.example.yaml stays loadable. The example names its secrets by
# absolute paths (/run/secrets/parcelbot/..., /var/lib/parcelbot/...) that
# the loader reads, so it is checked twice: as shipped, where the only
# errors allowed are those unreadable secret files, and as a copy whose
# secret paths point at dummy files in a temp directory, which must load,
# print the values written in it, keep the secrets hidden and pass
# `serve --check`. The environment then overrides a few keys.
. tests/lib.sh
P=$PARCELBOT
EX=$PB_SRCDIR/parcelbot.example.yaml
for v in $(env | sed -n 's/^\(PARCELBOT_[A-Z0-9_]*\)=.*/\1/p'); do
	[ "$v" = PARCELBOT_KB ] || unset "$v"
done

# --- as shipped: nothing wrong but the absent secret files ---
run "$P" config --config "$EX"
is "$T_RC" 2 "the example as shipped: exit 2 without its secret files"
other=$(printf '%s\n' "$T_ERR" | grep -v "cannot read '/run/secrets/parcelbot/" |
	grep -v "cannot read '/var/lib/parcelbot/shopee-refresh-token'" |
	grep -v '^parcelbot: the configuration is invalid$')
is "$other" "" "and every error is an unreadable secret file"
like "$T_ERR" "parcelbot\.example\.yaml:[0-9]+:[0-9]+: api_token_file: cannot read" \
	"errors are file:line:col: message"

# --- with the secret files present ---
mkdir "$T_TMP/secrets"
for f in kuaidi100-customer kuaidi100-key 17track-token api-token chatwoot-token \
	chatwoot-webhook-secret shopee-partner-key shopee-refresh-token orders-token; do
	printf 'dummy-secret-%s\n' "$f" >"$T_TMP/secrets/$f"
done
sed -e "s#/run/secrets/parcelbot/#$T_TMP/secrets/#" \
	-e "s#/var/lib/parcelbot/shopee-refresh-token#$T_TMP/secrets/shopee-refresh-token#" \
	"$EX" >"$T_TMP/parcelbot.yaml"
run "$P" config --config "$T_TMP/parcelbot.yaml"
is "$T_RC" 0 "the example loads: exit 0"
is "$T_ERR" "" "and says nothing on stderr"
like "$T_OUT" "^server\.listen = 127\.0\.0\.1:8080$" "server.listen"
like "$T_OUT" "^server\.api_token = \(set\)$" "server.api_token is set, not shown"
like "$T_OUT" "^store\.path = /var/lib/parcelbot/parcelbot\.db$" "store.path"
like "$T_OUT" "^pipeline\.lease_s = 300$" "pipeline.lease 5m is 300 s"
like "$T_OUT" "^tracking\.max_body = 8388608$" "tracking.max_body 8MiB"
like "$T_OUT" "^log\.format = json$" "log.format"
like "$T_OUT" "^channels\.chatwoot\.webhook_secret = \(set\)$" "chatwoot webhook secret set"
like "$T_OUT" "^channels\.shopee\.refresh_token = \(set\)$" "shopee refresh token set"
like "$T_OUT" "^orders\.url = https://shop\.example-shop\.com/api/orders/\{order_id\}$" "orders.url"
unlike "$T_OUT" "dummy-secret" "no secret printed"

run "$P" config --config "$T_TMP/parcelbot.yaml" --json
printf '%s' "$T_OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); \
assert d["server"]["api_token"]=="(set)" and d["tracking"]["17track"]["token"]=="(set)", d; \
assert d["channels"]["shopee"]["poll_interval_ms"]==10000, d; \
assert d["pipeline"]["scheduler_interval_ms"]==30000, d'
ok $? "--json shows the same values"

run "$P" serve --config "$T_TMP/parcelbot.yaml" --check
is "$T_RC" 0 "serve --check accepts the example"
like "$T_OUT" "configuration and knowledge base are valid" "and says so"

# --- the environment wins over the file ---
run env PARCELBOT_LISTEN=0.0.0.0:9090 PARCELBOT_DB=/srv/pb.db \
	"$P" config --config "$T_TMP/parcelbot.yaml"
like "$T_OUT" "^server\.listen = 0\.0\.0\.0:9090$" "PARCELBOT_LISTEN overrides server.listen"
like "$T_OUT" "^store\.path = /srv/pb\.db$" "PARCELBOT_DB overrides store.path"
run env PARCELBOT_API_TOKEN=x PARCELBOT_API_TOKEN_FILE="$T_TMP/secrets/api-token" \
	"$P" config --config "$T_TMP/parcelbot.yaml"
is "$T_RC" 2 "a variable and its _FILE form together: exit 2"
like "$T_ERR" "PARCELBOT_API_TOKEN and PARCELBOT_API_TOKEN_FILE are both set" "and says which"

done_testing
