/*
 * Shopee: the HMAC-SHA256 helper against RFC 4231 and openssl-computed
 * vectors, the v2 sign base strings (pure functions), then the adapter end
 * to end against the in-process sandbox's fake Shopee: signature and
 * timestamp checks, token refresh (on start, on expiry, rotated refresh
 * tokens), polling buyer messages, sending replies without duplicates,
 * retryable and final errors, order details, tracking, and secrets kept
 * out of every error message.
 */
#include "trackutil.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <limits.h>
#include <time.h>

#include "parcelbot/channel_shopee.h"
#include "parcelbot/digest.h"
#include "parcelbot/http.h"
#include "parcelbot/order.h"

/* --- HMAC-SHA256 ------------------------------------------------------ */

static void hmac_sha256_vectors(void **state)
{
	char out[PB_SHA256_HEX_LEN + 1];
	unsigned char longkey[131];

	(void)state;
	/* RFC 4231 test case 2. */
	assert_int_equal(pb_hmac_sha256_hex("Jefe", 4, "what do ya want for nothing?", 28, out),
			 PB_OK);
	assert_string_equal(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* RFC 4231 test case 6: a key longer than the block is hashed first. */
	memset(longkey, 0xaa, sizeof longkey);
	assert_int_equal(pb_hmac_sha256_hex(longkey, sizeof longkey,
					    "Test Using Larger Than Block-Size Key - Hash Key First",
					    54, out),
			 PB_OK);
	assert_string_equal(out, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
	/* Empty key and data (openssl dgst -sha256 -hmac ''). */
	assert_int_equal(pb_hmac_sha256_hex("", 0, "", 0, out), PB_OK);
	assert_string_equal(out, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
	assert_int_equal(strlen(out), PB_SHA256_HEX_LEN);
}

/* --- the sign and other pure helpers ------------------------------------ */

static void sign_base_strings(void **state)
{
	char out[PB_SHA256_HEX_LEN + 1];
	pb_buf b;

	(void)state;
	pb_buf_init(&b, 4096);
	assert_int_equal(pb_shopee_sign_base(&b, 1000001, "/api/v2/sellerchat/get_message",
					     1795392000, "tok-abc", 2000001),
			 PB_OK);
	assert_string_equal(pb_buf_str(&b), "1000001/api/v2/sellerchat/get_message1795392000tok-abc2000001");
	/* printf '%s' BASE | openssl dgst -sha256 -hmac sandbox-shopee-key */
	assert_int_equal(pb_hmac_sha256_hex("sandbox-shopee-key", 18, b.data, b.len, out), PB_OK);
	assert_string_equal(out, "5b9e8ac21b9d5d54229acc14668e176482b5fa43c12208e55cc45863847be698");
	pb_buf_reset(&b);
	assert_int_equal(pb_shopee_sign_base(&b, 1000001, "/api/v2/auth/access_token/get",
					     1795392000, NULL, 2000001),
			 PB_OK);
	assert_string_equal(pb_buf_str(&b), "1000001/api/v2/auth/access_token/get1795392000");
	pb_buf_release(&b);
}

static void status_mapping(void **state)
{
	static const struct {
		const char *code;
		pb_pstate st;
		pb_exkind ex;
	} v[] = {
		{"ORDER_CREATED", PB_ST_INFO_RECEIVED, PB_EX_NONE},
		{"PICKUP_RETRY", PB_ST_INFO_RECEIVED, PB_EX_NONE},
		{"PICKED_UP", PB_ST_IN_TRANSIT, PB_EX_NONE},
		{"DELIVERY_PENDING", PB_ST_OUT_FOR_DELIVERY, PB_EX_NONE},
		{"DELIVERED", PB_ST_DELIVERED, PB_EX_NONE},
		{"FAILED_DELIVERED", PB_ST_ATTEMPT_FAIL, PB_EX_NONE},
		{"LOST", PB_ST_EXCEPTION, PB_EX_LOST},
		{"TIMEOUT", PB_ST_EXCEPTION, PB_EX_DELAYED},
		{"RETURN_STARTED", PB_ST_EXCEPTION, PB_EX_RETURNING},
		{"RETURNED", PB_ST_EXCEPTION, PB_EX_RETURNED},
		{"EXPIRED", PB_ST_EXPIRED, PB_EX_NONE},
		{"CANCELED", PB_ST_EXCEPTION, PB_EX_OTHER},
		{"LOGISTICS_DELIVERY_DONE", PB_ST_DELIVERED, PB_EX_NONE},
		{"LOGISTICS_COD_REJECTED", PB_ST_EXCEPTION, PB_EX_REFUSED},
	};
	pb_pstate st;
	pb_exkind ex;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		if (!pb_shopee_map_status(v[i].code, &st, &ex))
			fail_msg("%s not mapped", v[i].code);
		if (st != v[i].st || ex != v[i].ex)
			fail_msg("%s: got %s/%s", v[i].code, pb_pstate_name(st), pb_exkind_name(ex));
	}
	assert_false(pb_shopee_map_status("SORTING_REROUTED", &st, &ex));
	assert_int_equal(st, PB_ST_IN_TRANSIT);
	assert_false(pb_shopee_map_status(NULL, &st, &ex));
	assert_int_equal(st, PB_ST_IN_TRANSIT);
}

static void quote_ids(void **state)
{
	static const char *const keys[] = {"conversation_id", "last_message_timestamp", NULL};
	static const char in[] =
		"{\"conversation_id\": 1913574906283841870,\"x\":{\"conversation_id\":-12},"
		"\"text\":\"\\\"conversation_id\\\":123\",\"last_message_timestamp\":1.5,"
		"\"n\":[1,2],\"amount\":59.9,\"last_message_timestamp\" :1795392000000000001}";
	static const char want[] =
		"{\"conversation_id\": \"1913574906283841870\",\"x\":{\"conversation_id\":\"-12\"},"
		"\"text\":\"\\\"conversation_id\\\":123\",\"last_message_timestamp\":1.5,"
		"\"n\":[1,2],\"amount\":59.9,\"last_message_timestamp\" :\"1795392000000000001\"}";
	pb_buf b;

	(void)state;
	pb_buf_init(&b, 4096);
	assert_int_equal(pb_shopee_quote_ids(in, sizeof in - 1, keys, &b), PB_OK);
	assert_string_equal(pb_buf_str(&b), want);
	pb_buf_reset(&b);
	assert_int_equal(pb_shopee_quote_ids("", 0, keys, &b), PB_OK);
	assert_string_equal(pb_buf_str(&b), "");
	pb_buf_release(&b);
}

/* --- against the sandbox --------------------------------------------------- */

static pb_sandbox *sb;
static pb_http *http;

static int setup(void **state)
{
	char seed[PATH_MAX];
	pb_sandbox_opts o;
	pb_http_opts ho;
	pb_errbuf eb;

	(void)state;
	snprintf(seed, sizeof seed, "%s/tests/fixtures/sandbox-shopee.yaml", tt_srcdir());
	pb_sandbox_opts_init(&o);
	o.seed_file = seed;
	if (pb_sandbox_start(&o, &sb, &eb))
		fail_msg("sandbox: %s", eb.msg);
	pb_http_opts_init(&ho);
	ho.connect_timeout_ms = 1000;
	ho.timeout_ms = 3000;
	ho.retries = 1;
	ho.backoff_base_ms = 10;
	ho.backoff_max_ms = 50;
	if (pb_http_new(&ho, &http, &eb))
		fail_msg("http: %s", eb.msg);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pb_http_free(http);
	pb_sandbox_stop(sb);
	return 0;
}

static int reset(void **state)
{
	(void)state;
	pb_sandbox_reset(sb);
	return 0;
}

static int64_t now(void)
{
	return (int64_t)time(NULL);
}

typedef struct cfg_strings {
	char url[128], key[64], refresh[64], access[64];
	pb_shopee_config c;
} cfg_strings;

static void cfg_init(cfg_strings *s, const char *access)
{
	memset(s, 0, sizeof *s);
	tt_url(sb, "", s->url, sizeof s->url);
	snprintf(s->key, sizeof s->key, "%s", PB_SANDBOX_SHOPEE_PARTNER_KEY);
	snprintf(s->refresh, sizeof s->refresh, "%s", PB_SANDBOX_SHOPEE_REFRESH_TOKEN);
	snprintf(s->access, sizeof s->access, "%s", access ? access : "");
	s->c.enabled = true;
	s->c.url = s->url;
	s->c.partner_id = PB_SANDBOX_SHOPEE_PARTNER_ID;
	s->c.partner_key = s->key;
	s->c.shop_id = PB_SANDBOX_SHOPEE_SHOP_ID;
	s->c.refresh_token = s->refresh;
	s->c.access_token = access ? s->access : NULL;
	s->c.poll_interval_ms = 10000;
}

static pb_channel *open_channel(const char *access)
{
	cfg_strings s;
	pb_channel *ch = NULL;
	pb_errbuf eb;

	cfg_init(&s, access);
	if (pb_shopee_new(&s.c, http, &ch, &eb))
		fail_msg("pb_shopee_new: %s", eb.msg);
	return ch;
}

/* One request to the sandbox; returns the status, body into *body. */
static long request(const char *method, const char *path_and_query, const char *body,
		    char **resp)
{
	char url[1024];
	pb_http_req r;
	long status;

	memset(&r, 0, sizeof r);
	r.method = method;
	r.url = tt_url(sb, path_and_query, url, sizeof url);
	r.body = body;
	r.body_len = body ? strlen(body) : 0;
	assert_int_equal(pb_http_perform(http, &r, 1), PB_OK);
	status = r.status;
	if (resp)
		*resp = strdup(pb_buf_str(&r.resp));
	pb_http_req_release(&r);
	return status;
}

/* A signed request, as the adapter would make it; key signs it. */
static long signed_request(const char *method, const char *path, const char *token,
			   const char *extra, const char *key, const char *body, char **resp)
{
	char sign[PB_SHA256_HEX_LEN + 1], pq[2048];
	int64_t ts = now();
	pb_buf b;

	pb_buf_init(&b, 4096);
	assert_int_equal(pb_shopee_sign_base(&b, PB_SANDBOX_SHOPEE_PARTNER_ID, path, ts, token,
					     PB_SANDBOX_SHOPEE_SHOP_ID),
			 PB_OK);
	assert_int_equal(pb_hmac_sha256_hex(key, strlen(key), b.data, b.len, sign), PB_OK);
	pb_buf_release(&b);
	if (token)
		snprintf(pq, sizeof pq, "%s?partner_id=%d&timestamp=%lld&access_token=%s&shop_id=%d&sign=%s%s%s",
			 path, PB_SANDBOX_SHOPEE_PARTNER_ID, (long long)ts, token,
			 PB_SANDBOX_SHOPEE_SHOP_ID, sign, extra ? "&" : "", extra ? extra : "");
	else
		snprintf(pq, sizeof pq, "%s?partner_id=%d&timestamp=%lld&sign=%s", path,
			 PB_SANDBOX_SHOPEE_PARTNER_ID, (long long)ts, sign);
	return request(method, pq, body, resp);
}

static char *json_str(const char *json, const char *key)
{
	cJSON *j = cJSON_Parse(json);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
	char *s = cJSON_IsString(v) ? strdup(v->valuestring) : NULL;

	cJSON_Delete(j);
	return s;
}

static const char *last_answered(const char *route)
{
	static char buf[64];
	cJSON *a = pb_sandbox_requests_json(sb, route);
	const cJSON *last = cJSON_GetArrayItem(a, cJSON_GetArraySize(a) - 1);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(last, "answered");

	snprintf(buf, sizeof buf, "%s", cJSON_IsString(v) ? v->valuestring : "");
	cJSON_Delete(a);
	return buf;
}

static void sandbox_checks_signatures(void **state)
{
	static const char auth_body[] =
		"{\"refresh_token\":\"sandbox-refresh\",\"partner_id\":1000001,\"shop_id\":2000001}";
	char *resp = NULL, *e, *tok, *rt;

	(void)state;
	/* Signed with the wrong key: refused, and recorded so. */
	assert_int_equal(signed_request("POST", "/api/v2/auth/access_token/get", NULL, NULL,
					"not-the-key", auth_body, &resp),
			 403);
	e = json_str(resp, "error");
	assert_string_equal(e, "error_sign");
	free(e);
	free(resp);
	assert_string_equal(last_answered("shopee.auth"), "403");
	/* No sign at all. */
	assert_int_equal(request("POST", "/api/v2/auth/access_token/get?partner_id=1000001&timestamp=1",
				 auth_body, NULL),
			 400);
	/* Signed right: a token pair. */
	assert_int_equal(signed_request("POST", "/api/v2/auth/access_token/get", NULL, NULL,
					PB_SANDBOX_SHOPEE_PARTNER_KEY, auth_body, &resp),
			 200);
	tok = json_str(resp, "access_token");
	rt = json_str(resp, "refresh_token");
	free(resp);
	assert_non_null(tok);
	assert_non_null(rt);
	assert_string_not_equal(rt, PB_SANDBOX_SHOPEE_REFRESH_TOKEN);
	/* The old refresh token is retired. */
	assert_int_equal(signed_request("POST", "/api/v2/auth/access_token/get", NULL, NULL,
					PB_SANDBOX_SHOPEE_PARTNER_KEY, auth_body, NULL),
			 403);
	/* A shop-level call with the token works; a token signed into the
	 * base string but not the query does not; an unknown token does not. */
	assert_int_equal(signed_request("GET", "/api/v2/sellerchat/get_one_conversation", tok,
					"conversation_id=1900000000000000002",
					PB_SANDBOX_SHOPEE_PARTNER_KEY, NULL, &resp),
			 200);
	assert_non_null(strstr(resp, "\"to_id\":3000002"));
	free(resp);
	assert_int_equal(signed_request("GET", "/api/v2/sellerchat/get_one_conversation",
					"made-up-token", "conversation_id=1900000000000000002",
					PB_SANDBOX_SHOPEE_PARTNER_KEY, NULL, &resp),
			 403);
	e = json_str(resp, "error");
	assert_string_equal(e, "invalid_acceess_token");
	free(e);
	free(resp);
	assert_int_equal(signed_request("GET", "/api/v2/sellerchat/get_one_conversation", tok,
					"conversation_id=1900000000000000002", "wrong-key", NULL,
					NULL),
			 403);
	assert_string_equal(last_answered("shopee.conversation"), "403");
	free(tok);
	free(rt);
}

static void set_ttl(long ttl)
{
	char body[64];

	snprintf(body, sizeof body, "{\"token_ttl\":%ld}", ttl);
	assert_int_equal(request("POST", "/_sandbox/shopee/config", body, NULL), 200);
}

static void token_refresh_on_start_and_expiry(void **state)
{
	pb_channel *ch = open_channel(NULL);
	pb_chan_events evs = {0};
	pb_errbuf eb;
	int64_t t = now();
	char first[64];

	(void)state;
	set_ttl(20);
	assert_string_equal(pb_shopee_refresh_token(ch), PB_SANDBOX_SHOPEE_REFRESH_TOKEN);
	if (pb_channel_poll(ch, t, &evs, &eb))
		fail_msg("poll: %s", eb.msg);
	assert_int_equal(pb_sandbox_count(sb, "shopee.auth"), 1);
	snprintf(first, sizeof first, "%s", pb_shopee_refresh_token(ch));
	assert_string_not_equal(first, PB_SANDBOX_SHOPEE_REFRESH_TOKEN);
	/* Still fresh: no refresh. */
	pb_chan_events_release(&evs);
	assert_int_equal(pb_channel_poll(ch, t + 5, &evs, &eb), PB_OK);
	assert_int_equal(pb_sandbox_count(sb, "shopee.auth"), 1);
	/* Near expiry: refreshed with the rotated token (the sandbox refuses
	 * the first one now), and the newer one kept. */
	pb_chan_events_release(&evs);
	if (pb_channel_poll(ch, t + 12, &evs, &eb))
		fail_msg("poll: %s", eb.msg);
	assert_int_equal(pb_sandbox_count(sb, "shopee.auth"), 2);
	assert_string_not_equal(pb_shopee_refresh_token(ch), first);
	pb_chan_events_release(&evs);
	pb_channel_free(ch);
}

static void token_refresh_after_rejection(void **state)
{
	pb_channel *ch = open_channel("stale-access-token");
	pb_chan_events evs = {0};
	pb_errbuf eb;

	(void)state;
	if (pb_channel_poll(ch, now(), &evs, &eb))
		fail_msg("poll: %s", eb.msg);
	assert_int_equal(pb_sandbox_count(sb, "shopee.auth"), 1);
	assert_int_equal(evs.n, 1);
	pb_chan_events_release(&evs);
	pb_channel_free(ch);
}

static void assert_no_secrets(const char *msg)
{
	assert_null(strstr(msg, PB_SANDBOX_SHOPEE_PARTNER_KEY));
	assert_null(strstr(msg, "sandbox-refresh"));
	assert_null(strstr(msg, "sandbox-access"));
	assert_null(strstr(msg, "stale-access-token"));
	assert_null(strstr(msg, "sign="));
	assert_null(strstr(msg, "access_token="));
}

static void token_refused_twice_is_final(void **state)
{
	pb_channel *ch = open_channel("stale-access-token");
	pb_chan_action a = {0};
	pb_chan_result res;
	pb_errbuf eb;

	(void)state;
	/* Tokens that are dead on arrival: one refresh, then give up. */
	set_ttl(0);
	a.kind = PB_CHAN_SEND_REPLY;
	a.conversation = "1900000000000000001";
	a.text = "hello";
	a.queued_at = now();
	assert_int_equal(pb_channel_perform(ch, &a, now(), &res, &eb), PB_EAUTH);
	assert_false(res.retryable);
	assert_int_equal(pb_sandbox_count(sb, "shopee.auth"), 1);
	assert_non_null(strstr(eb.msg, "invalid_acceess_token"));
	assert_non_null(strstr(eb.msg, "/api/v2/sellerchat/get_one_conversation"));
	assert_no_secrets(eb.msg);
	assert_int_equal(pb_sandbox_count(sb, "shopee.send"), 0);
	pb_channel_free(ch);
}

static void wrong_partner_key(void **state)
{
	cfg_strings s;
	pb_channel *ch = NULL;
	pb_chan_events evs = {0};
	pb_errbuf eb;

	(void)state;
	cfg_init(&s, NULL);
	snprintf(s.key, sizeof s.key, "a-wrong-partner-key");
	assert_int_equal(pb_shopee_new(&s.c, http, &ch, &eb), PB_OK);
	assert_int_equal(pb_channel_poll(ch, now(), &evs, &eb), PB_EAUTH);
	assert_non_null(strstr(eb.msg, "error_sign"));
	assert_non_null(strstr(eb.msg, "/api/v2/auth/access_token/get"));
	assert_null(strstr(eb.msg, "a-wrong-partner-key"));
	assert_no_secrets(eb.msg);
	assert_int_equal(evs.n, 0);
	assert_string_equal(last_answered("shopee.auth"), "403");
	pb_channel_free(ch);
}

static cJSON *event_json(const pb_chan_events *evs, size_t i)
{
	cJSON *j = cJSON_Parse(evs->v[i].json);

	assert_non_null(j);
	return j;
}

static void poll_reports_buyer_messages_once(void **state)
{
	pb_channel *ch = open_channel(NULL);
	pb_chan_events evs = {0};
	pb_chan_action a = {0};
	pb_chan_result res;
	pb_errbuf eb;
	cJSON *j;
	char *resp = NULL, *mid;
	char ext[64];

	(void)state;
	/* Start-up: only alice's unanswered message; bob's chat is answered. */
	if (pb_channel_poll(ch, now(), &evs, &eb))
		fail_msg("poll: %s", eb.msg);
	assert_int_equal(evs.n, 1);
	j = event_json(&evs, 0);
	assert_string_equal(cJSON_GetObjectItem(j, "kind")->valuestring, "message");
	assert_string_equal(cJSON_GetObjectItem(j, "channel")->valuestring, "shopee");
	assert_string_equal(cJSON_GetObjectItem(j, "conversation")->valuestring,
			    "1900000000000000001");
	assert_string_equal(cJSON_GetObjectItem(j, "buyer")->valuestring, "3000001");
	assert_string_equal(cJSON_GetObjectItem(j, "message")->valuestring,
			    "Any update? Where is my parcel?");
	assert_string_equal(cJSON_GetObjectItem(j, "now")->valuestring, "2026-11-21T01:00:00Z");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "order"), "id")->valuestring,
			    "2611200001ABCD");
	snprintf(ext, sizeof ext, "msg:%s", cJSON_GetObjectItem(j, "message_id")->valuestring);
	assert_string_equal(evs.v[0].external_id, ext);
	cJSON_Delete(j);
	pb_chan_events_release(&evs);

	/* Nothing new: nothing reported, and no message list fetched. */
	pb_sandbox_requests_clear(sb);
	assert_int_equal(pb_channel_poll(ch, now(), &evs, &eb), PB_OK);
	assert_int_equal(evs.n, 0);
	assert_int_equal(pb_sandbox_count(sb, "shopee.messages"), 0);

	/* A new buyer message in bob's chat, and the shop's reply to alice. */
	assert_int_equal(request("POST", "/_sandbox/shopee/incoming",
				 "{\"conversation_id\":\"1900000000000000002\",\"text\":\"包裹在哪里？😟\"}",
				 &resp),
			 200);
	mid = json_str(resp, "message_id");
	free(resp);
	a.kind = PB_CHAN_SEND_REPLY;
	a.conversation = "1900000000000000001";
	a.text = "We are sorry, the courier is tracing it now.";
	a.queued_at = now();
	assert_int_equal(pb_channel_perform(ch, &a, now(), &res, &eb), PB_OK);
	assert_int_equal(pb_channel_poll(ch, now(), &evs, &eb), PB_OK);
	assert_int_equal(evs.n, 1);
	j = event_json(&evs, 0);
	assert_string_equal(cJSON_GetObjectItem(j, "message")->valuestring, "包裹在哪里？😟");
	assert_string_equal(cJSON_GetObjectItem(j, "buyer")->valuestring, "3000002");
	assert_string_equal(cJSON_GetObjectItem(j, "message_id")->valuestring, mid);
	assert_null(cJSON_GetObjectItem(j, "order"));
	cJSON_Delete(j);
	pb_chan_events_release(&evs);
	free(mid);

	/* And again: nothing. */
	assert_int_equal(pb_channel_poll(ch, now(), &evs, &eb), PB_OK);
	assert_int_equal(evs.n, 0);
	pb_channel_free(ch);
}

static void send_and_resend(void **state)
{
	static const char text[] = "非常抱歉！We are so sorry — a replacement ships today. 🙏";
	pb_channel *ch = open_channel(NULL);
	pb_chan_action a = {0};
	pb_chan_result res;
	pb_errbuf eb;
	char *resp = NULL, first_id[128];
	cJSON *j, *msgs, *last;

	(void)state;
	a.kind = PB_CHAN_SEND_REPLY;
	a.key = "case-1-send";
	a.conversation = "1900000000000000001";
	a.text = text;
	a.queued_at = now() - 5;
	/* The buyer is looked up (no poll has run yet). */
	if (pb_channel_perform(ch, &a, now(), &res, &eb))
		fail_msg("perform: %s", eb.msg);
	assert_false(res.already);
	assert_true(res.external_id[0] != '\0');
	snprintf(first_id, sizeof first_id, "%s", res.external_id);
	assert_int_equal(pb_sandbox_count(sb, "shopee.conversation"), 1);
	assert_int_equal(pb_sandbox_count(sb, "shopee.send"), 1);
	assert_int_equal(request("GET", "/_sandbox/shopee/conversations?id=1900000000000000001",
				 NULL, &resp),
			 200);
	j = cJSON_Parse(resp);
	free(resp);
	msgs = cJSON_GetObjectItem(j, "messages");
	last = cJSON_GetArrayItem(msgs, cJSON_GetArraySize(msgs) - 1);
	assert_string_equal(cJSON_GetObjectItem(last, "from")->valuestring, "shop");
	assert_string_equal(cJSON_GetObjectItem(last, "text")->valuestring, text);
	assert_string_equal(cJSON_GetObjectItem(last, "message_id")->valuestring, first_id);
	cJSON_Delete(j);

	/* A retry of the same row after it was delivered: nothing sent. */
	a.attempt = 1;
	if (pb_channel_perform(ch, &a, now(), &res, &eb))
		fail_msg("perform: %s", eb.msg);
	assert_true(res.already);
	assert_string_equal(res.external_id, first_id);
	assert_int_equal(pb_sandbox_count(sb, "shopee.send"), 1);

	/* The same text sent before this row was queued is another reply. */
	a.queued_at = now() + 120;
	if (pb_channel_perform(ch, &a, now(), &res, &eb))
		fail_msg("perform: %s", eb.msg);
	assert_false(res.already);
	assert_int_equal(pb_sandbox_count(sb, "shopee.send"), 2);
	/* The buyer was remembered. */
	assert_int_equal(pb_sandbox_count(sb, "shopee.conversation"), 1);

	/* Drafts, hand-offs and notices stay in parcelbot. */
	pb_sandbox_requests_clear(sb);
	a.attempt = 0;
	a.kind = PB_CHAN_POST_DRAFT;
	assert_int_equal(pb_channel_perform(ch, &a, now(), &res, &eb), PB_OK);
	a.kind = PB_CHAN_HAND_OFF;
	assert_int_equal(pb_channel_perform(ch, &a, now(), &res, &eb), PB_OK);
	a.kind = PB_CHAN_NOTIFY;
	assert_int_equal(pb_channel_perform(ch, &a, now(), &res, &eb), PB_OK);
	assert_int_equal(pb_sandbox_count(sb, NULL), 0);
	pb_channel_free(ch);
}

static void send_errors(void **state)
{
	pb_channel *ch = open_channel(NULL);
	pb_chan_action a = {0};
	pb_chan_result res;
	pb_errbuf eb;

	(void)state;
	a.kind = PB_CHAN_SEND_REPLY;
	a.conversation = "1900000000000000001";
	a.text = "Sorry!";
	a.queued_at = now();
	tt_fault(sb, "{\"route\":\"shopee.send\",\"status\":429,\"retry_after\":\"7\",\"times\":0}");
	assert_int_equal(pb_channel_perform(ch, &a, now(), &res, &eb), PB_ERATELIMIT);
	assert_true(res.retryable);
	assert_int_equal(res.retry_after, 7);
	assert_no_secrets(eb.msg);
	pb_sandbox_faults_clear(sb);

	tt_fault(sb, "{\"route\":\"shopee.send\",\"status\":500,\"times\":0}");
	assert_int_equal(pb_channel_perform(ch, &a, now(), &res, &eb), PB_EUPSTREAM);
	assert_true(res.retryable);
	assert_no_secrets(eb.msg);
	pb_sandbox_faults_clear(sb);

	/* Shopee's own rate-limit error in a 200 answer. */
	tt_fault(sb, "{\"route\":\"shopee.send\",\"body\":\"{\\\"request_id\\\":\\\"x\\\","
		     "\\\"error\\\":\\\"error_rate_limit\\\",\\\"message\\\":\\\"Too many requests\\\"}\"}");
	assert_int_equal(pb_channel_perform(ch, &a, now(), &res, &eb), PB_ERATELIMIT);
	assert_true(res.retryable);

	/* Any other Shopee error is final, and says which and where. */
	tt_fault(sb, "{\"route\":\"shopee.send\",\"status\":400,\"body\":\"{\\\"request_id\\\":\\\"x\\\","
		     "\\\"error\\\":\\\"error_param\\\",\\\"message\\\":\\\"content too long\\\"}\"}");
	assert_int_equal(pb_channel_perform(ch, &a, now(), &res, &eb), PB_EUPSTREAM);
	assert_false(res.retryable);
	assert_non_null(strstr(eb.msg, "/api/v2/sellerchat/send_message"));
	assert_non_null(strstr(eb.msg, "error_param"));
	assert_non_null(strstr(eb.msg, "content too long"));
	assert_no_secrets(eb.msg);

	/* Garbage from a proxy is worth another try. */
	tt_fault(sb, "{\"route\":\"shopee.send\",\"action\":\"garbage\"}");
	assert_int_equal(pb_channel_perform(ch, &a, now(), &res, &eb), PB_EPARSE);
	assert_true(res.retryable);
	pb_channel_free(ch);
}

static void order_detail(void **state)
{
	pb_channel *ch = open_channel(NULL);
	pb_order o;
	pb_errbuf eb;

	(void)state;
	if (pb_channel_order(ch, "2611200001ABCD", now(), &o, &eb))
		fail_msg("order: %s", eb.msg);
	assert_string_equal(o.id, "2611200001ABCD");
	assert_true(o.amount > 59.89 && o.amount < 59.91);
	assert_string_equal(o.currency, "MYR");
	assert_true(o.has_paid_at);
	assert_int_equal(o.paid_at.t, 1794272400LL); /* 2026-11-10T09:00:00+08:00 */
	assert_int_equal(o.n_items, 2);
	assert_string_equal(o.items[0].name, "Ceramic mug");
	assert_int_equal(o.items[0].qty, 2);
	assert_int_equal(pb_order_qty(&o), 3);
	pb_order_release(&o);
	assert_int_equal(pb_channel_order(ch, "NO-SUCH-ORDER", now(), &o, &eb), PB_ENOTFOUND);
	pb_channel_free(ch);
}

static void tracking(void **state)
{
	pb_channel *ch = open_channel(NULL);
	char carrier[64], number[64];
	pb_trace t;
	pb_errbuf eb;

	(void)state;
	if (pb_shopee_tracking(ch, "2611200001ABCD", now(), &t, carrier, sizeof carrier, number,
			       sizeof number, &eb))
		fail_msg("tracking: %s", eb.msg);
	assert_string_equal(carrier, "SPX Express");
	assert_string_equal(number, "SPXMY000000001");
	assert_string_equal(t.number, "SPXMY000000001");
	assert_string_equal(t.provider, "shopee");
	assert_true(t.found);
	assert_int_equal(t.n_events, 4);
	/* Newest first. */
	assert_string_equal(t.events[0].code, "LOST");
	assert_int_equal(t.events[0].state, PB_ST_EXCEPTION);
	assert_int_equal(t.events[0].exception, PB_EX_LOST);
	assert_string_equal(t.events[0].description, "Parcel reported lost in transit");
	/* An unknown code: in transit, raw code kept. */
	assert_string_equal(t.events[1].code, "SORTING_REROUTED");
	assert_int_equal(t.events[1].state, PB_ST_IN_TRANSIT);
	assert_int_equal(t.events[2].state, PB_ST_IN_TRANSIT);
	assert_int_equal(t.events[3].state, PB_ST_INFO_RECEIVED);
	assert_true(t.events[0].time.t > t.events[1].time.t);
	pb_trace_release(&t);
	assert_int_equal(pb_shopee_tracking(ch, "NO-SUCH-ORDER", now(), &t, carrier, sizeof carrier,
					    number, sizeof number, &eb),
			 PB_ENOTFOUND);
	pb_channel_free(ch);
}

/* The answer readers on their own: an order found or not, and a trace. */
static void read_answers(void **state)
{
	cJSON *j = cJSON_Parse(
		"{\"response\":{\"order_list\":[{\"order_sn\":\"OTHER\"},"
		"{\"order_sn\":\"220101ABC\",\"total_amount\":\"12.5\",\"currency\":\"MYR\","
		"\"pay_time\":1795000000,\"item_list\":[{\"item_name\":\"Case\","
		"\"model_quantity_purchased\":2},7]}],"
		"\"tracking_number\":\"MY1\",\"tracking_info\":[{\"update_time\":1795000100,"
		"\"logistics_status\":\"ORDER_PICKED_UP\"},{\"update_time\":\"1795000200\","
		"\"description\":\"Delivered\",\"logistics_status\":\"ORDER_DELIVERED\"}]}}");
	pb_order o;
	pb_trace t;
	pb_errbuf eb;

	(void)state;
	assert_non_null(j);
	assert_int_equal(pb_shopee_read_order(j, "220101ABC", &o, &eb), PB_OK);
	assert_string_equal(o.id, "220101ABC");
	assert_true(o.amount == 12.5);
	assert_string_equal(o.currency, "MYR");
	assert_true(o.has_paid_at && o.paid_at.t == 1795000000);
	assert_int_equal(o.n_items, 1);
	assert_int_equal(o.items[0].qty, 2);
	pb_order_release(&o);
	assert_int_equal(pb_shopee_read_order(j, "NOPE", &o, &eb), PB_ENOTFOUND);
	assert_int_equal(pb_shopee_read_tracking(j, j, 1795392000, &t, &eb), PB_OK);
	assert_true(t.found);
	assert_string_equal(t.number, "MY1");
	assert_string_equal(t.provider, "shopee");
	assert_int_equal(t.n_events, 2);
	assert_int_equal(t.events[0].time.t, 1795000200);
	pb_trace_release(&t);
	cJSON_Delete(j);
}

/* Fuzzing (tests/fuzz/regressions/fuzz_shopee): numbers too large for a
 * long long were cast to one (undefined), and times out of any calendar's
 * range overflowed when formatted. Both now read as absent. */
static void read_extreme_numbers(void **state)
{
	cJSON *j = cJSON_Parse("{\"response\":{\"order_list\":[{\"order_sn\":\"220101ABCDEF\","
			       "\"pay_time\":1e300,\"pickup_done_time\":\"9223372036854775807\","
			       "\"item_list\":[{\"item_name\":\"A\",\"model_quantity_purchased\":-1e300}]}],"
			       "\"tracking_number\":\"MY1\",\"tracking_info\":[{\"update_time\":"
			       "\"-9223372036854775808\",\"logistics_status\":\"X\"},"
			       "{\"update_time\":1e300}]}}");
	pb_order o;
	pb_trace t;
	pb_errbuf eb;
	cJSON *out;

	(void)state;
	assert_non_null(j);
	assert_int_equal(pb_shopee_read_order(j, "220101ABCDEF", &o, &eb), PB_OK);
	assert_false(o.has_paid_at);
	assert_false(o.has_shipped_at);
	assert_int_equal(o.items[0].qty, 1);
	pb_order_release(&o);
	assert_int_equal(pb_shopee_read_tracking(j, j, 1795392000, &t, &eb), PB_OK);
	assert_int_equal(t.n_events, 2);
	assert_int_equal(t.events[0].time.t, 0);
	assert_int_equal(t.events[1].time.t, 0);
	out = pb_trace_json(&t);
	assert_non_null(out);
	cJSON_Delete(out);
	pb_trace_release(&t);
	cJSON_Delete(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hmac_sha256_vectors),
		cmocka_unit_test(sign_base_strings),
		cmocka_unit_test(status_mapping),
		cmocka_unit_test(quote_ids),
		cmocka_unit_test(read_answers),
		cmocka_unit_test(read_extreme_numbers),
		cmocka_unit_test_setup(sandbox_checks_signatures, reset),
		cmocka_unit_test_setup(token_refresh_on_start_and_expiry, reset),
		cmocka_unit_test_setup(token_refresh_after_rejection, reset),
		cmocka_unit_test_setup(token_refused_twice_is_final, reset),
		cmocka_unit_test_setup(wrong_partner_key, reset),
		cmocka_unit_test_setup(poll_reports_buyer_messages_once, reset),
		cmocka_unit_test_setup(send_and_resend, reset),
		cmocka_unit_test_setup(send_errors, reset),
		cmocka_unit_test_setup(order_detail, reset),
		cmocka_unit_test_setup(tracking, reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
