/*
 * The sandbox's Shopee (Open Platform v2): token refresh, seller chat
 * (conversation list, messages, one conversation, send), order detail and
 * logistics tracking, each in Shopee's envelope {request_id, error,
 * message, response} and each checking what Shopee checks: the partner id,
 * a timestamp within five minutes, the HMAC-SHA256 sign and, for
 * shop-level calls, the shop id and a live access token. Refreshing
 * rotates the refresh token: the old one stops working.
 *
 * Seed (key `shopee`):
 *
 *   shopee:
 *     conversations:
 *       - id: "1900000000000000001"   # decimal, may pass 2^53
 *         buyer_id: 3000001
 *         buyer_name: alice
 *         order_sn: 2611200001ABCD     # optional: shown as an order card
 *         messages:
 *           - {text: "...", from: buyer, at: "2026-11-20T10:00:00+08:00"}
 *     orders:
 *       - order_sn: 2611200001ABCD
 *         total_amount: 59.9
 *         currency: MYR
 *         pay_time: "2026-11-18T09:00:00+08:00"   # or Unix seconds
 *         items: [{name: "...", qty: 2}]
 *         tracking_number: SPXMY000000001
 *         carrier: SPX Express
 *         tracking_info: [{update_time: ..., description: ..., logistics_status: PICKED_UP}]
 *
 * Test controls: POST /_sandbox/shopee/config {"token_ttl": seconds} (for
 * tokens issued from then on), POST /_sandbox/shopee/incoming
 * {conversation_id, text} (a new unread buyer message), GET
 * /_sandbox/shopee/conversations?id=ID (the conversation as stored).
 */
#include <cJSON.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parcelbot/channel.h"
#include "parcelbot/digest.h"
#include "parcelbot/time.h"
#include "sandbox_internal.h"

#define DEFAULT_TTL (4 * 3600)
#define TIMESTAMP_SKEW 300
#define MAX_PAGE 60

typedef struct sbx_shopee {
	pthread_mutex_t lock;
	cJSON *seed_convs, *seed_orders; /* as loaded, for reset */
	cJSON *convs, *orders;           /* live copies */
	cJSON *tokens;                   /* access token -> expiry (seconds) */
	char refresh[64];
	unsigned long gen;               /* tokens issued */
	unsigned long seq;               /* messages created */
	unsigned long requests;
	long ttl;
} sbx_shopee;

const char *const pb_sbx_shopee_keys[] = {"shopee", NULL};

/* --- state ------------------------------------------------------------ */

static void shopee_reset_locked(sbx_shopee *s)
{
	cJSON *c = cJSON_Duplicate(s->seed_convs, true), *o = cJSON_Duplicate(s->seed_orders, true);
	cJSON *t = cJSON_CreateObject();

	if (c && o && t) {
		cJSON_Delete(s->convs);
		cJSON_Delete(s->orders);
		cJSON_Delete(s->tokens);
		s->convs = c;
		s->orders = o;
		s->tokens = t;
		c = o = t = NULL;
	}
	cJSON_Delete(c);
	cJSON_Delete(o);
	cJSON_Delete(t);
	snprintf(s->refresh, sizeof s->refresh, "%s", PB_SANDBOX_SHOPEE_REFRESH_TOKEN);
	s->ttl = DEFAULT_TTL;
}

static void shopee_reset(void *state)
{
	sbx_shopee *s = state;

	pthread_mutex_lock(&s->lock);
	shopee_reset_locked(s);
	pthread_mutex_unlock(&s->lock);
}

static void shopee_free(void *state)
{
	sbx_shopee *s = state;

	if (!s)
		return;
	cJSON_Delete(s->seed_convs);
	cJSON_Delete(s->seed_orders);
	cJSON_Delete(s->convs);
	cJSON_Delete(s->orders);
	cJSON_Delete(s->tokens);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static long long jint(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (cJSON_IsNumber(v))
		return (long long)v->valuedouble;
	if (cJSON_IsString(v))
		return strtoll(v->valuestring, NULL, 10);
	return 0;
}

static const char *query(const pb_sbx_req *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

static bool digits(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* An id as Shopee writes it: a bare number (all its digits) when it is
 * one, else a string. */
static cJSON *raw_id(const char *id)
{
	return digits(id) && strlen(id) < 21 ? cJSON_CreateRaw(id) : cJSON_CreateString(id);
}

static cJSON *conv_by_id(sbx_shopee *s, const char *id)
{
	cJSON *c;

	cJSON_ArrayForEach(c, s->convs)
	{
		const char *cid = jstr(c, "id");
		if (cid && id && !strcmp(cid, id))
			return c;
	}
	return NULL;
}

static cJSON *order_by_sn(sbx_shopee *s, const char *sn)
{
	cJSON *o;

	cJSON_ArrayForEach(o, s->orders)
	{
		const char *osn = jstr(o, "order_sn");
		if (osn && sn && !strcmp(osn, sn))
			return o;
	}
	return NULL;
}

/* Appends a message to conversation c: {message_id, type, from, text,
 * order_sn, at, ns, read}. Returns it, or NULL on ENOMEM. */
static cJSON *add_message(sbx_shopee *s, cJSON *c, const char *type, const char *from,
			  const char *text, const char *order_sn, long long at)
{
	cJSON *msgs = cJSON_GetObjectItemCaseSensitive(c, "messages"), *m = cJSON_CreateObject();
	char id[32], ns[32];

	if (!m)
		return NULL;
	s->seq++;
	snprintf(id, sizeof id, "%lu", 2000000000000000000UL + s->seq);
	/* Chat times are nanoseconds; the sequence keeps them distinct. */
	snprintf(ns, sizeof ns, "%lld", at * 1000000000LL + (long long)(s->seq % 1000000000UL));
	cJSON_AddStringToObject(m, "message_id", id);
	cJSON_AddStringToObject(m, "type", type);
	cJSON_AddStringToObject(m, "from", from);
	cJSON_AddStringToObject(m, "text", text ? text : "");
	if (order_sn)
		cJSON_AddStringToObject(m, "order_sn", order_sn);
	cJSON_AddNumberToObject(m, "at", (double)at);
	cJSON_AddStringToObject(m, "ns", ns);
	cJSON_AddBoolToObject(m, "read", strcmp(from, "buyer") != 0);
	if (!msgs || !cJSON_AddItemToArray(msgs, m)) {
		cJSON_Delete(m);
		return NULL;
	}
	return m;
}

/* --- answers ---------------------------------------------------------- */

static void envelope(sbx_shopee *s, pb_sbx_resp *rs, int status, const char *error,
		     const char *message, cJSON *response)
{
	cJSON *j = cJSON_CreateObject();
	char rid[40];

	pthread_mutex_lock(&s->lock);
	snprintf(rid, sizeof rid, "sbx%029lu", ++s->requests);
	pthread_mutex_unlock(&s->lock);
	if (j) {
		cJSON_AddStringToObject(j, "request_id", rid);
		cJSON_AddStringToObject(j, "error", error ? error : "");
		cJSON_AddStringToObject(j, "message", message ? message : "");
		if (response)
			cJSON_AddItemToObject(j, "response", response);
		response = NULL;
	}
	cJSON_Delete(response);
	pb_sbx_send_json(rs, status, j);
	cJSON_Delete(j);
}

/* Checks the common parameters and the sign; on failure the error answer
 * is in rs and false is returned. */
static bool authorised(sbx_shopee *s, const pb_sbx_req *rq, pb_sbx_resp *rs, bool shop_level)
{
	const char *pid = query(rq, "partner_id"), *ts = query(rq, "timestamp");
	const char *sign = query(rq, "sign"), *tok = query(rq, "access_token");
	const char *shop = query(rq, "shop_id");
	char base[4096], want[PB_SHA256_HEX_LEN + 1];
	const cJSON *exp;
	long long t, now = (long long)time(NULL);
	bool live;

	if (!pid || !ts || !sign || !digits(ts)) {
		envelope(s, rs, 400, "error_param", "partner_id, timestamp and sign are required.", NULL);
		return false;
	}
	if (strtoll(pid, NULL, 10) != PB_SANDBOX_SHOPEE_PARTNER_ID) {
		envelope(s, rs, 403, "error_auth", "Invalid partner_id.", NULL);
		return false;
	}
	t = strtoll(ts, NULL, 10);
	if (t < now - TIMESTAMP_SKEW || t > now + TIMESTAMP_SKEW) {
		envelope(s, rs, 403, "error_param", "Invalid timestamp.", NULL);
		return false;
	}
	if (shop_level && (!tok || !shop)) {
		envelope(s, rs, 400, "error_param", "access_token and shop_id are required.", NULL);
		return false;
	}
	/* The sign is computed here from the query, independently of the
	 * adapter's pb_shopee_sign_base. */
	if (shop_level)
		snprintf(base, sizeof base, "%lld%s%lld%s%s", (long long)PB_SANDBOX_SHOPEE_PARTNER_ID,
			 rq->path, t, tok, shop);
	else
		snprintf(base, sizeof base, "%lld%s%lld", (long long)PB_SANDBOX_SHOPEE_PARTNER_ID,
			 rq->path, t);
	if (pb_hmac_sha256_hex(PB_SANDBOX_SHOPEE_PARTNER_KEY, strlen(PB_SANDBOX_SHOPEE_PARTNER_KEY),
			       base, strlen(base), want) ||
	    !pb_secret_equal(sign, strlen(sign), want, strlen(want))) {
		envelope(s, rs, 403, "error_sign", "Wrong sign.", NULL);
		return false;
	}
	if (!shop_level)
		return true;
	if (strtoll(shop, NULL, 10) != PB_SANDBOX_SHOPEE_SHOP_ID) {
		envelope(s, rs, 403, "error_auth", "Invalid shop_id.", NULL);
		return false;
	}
	pthread_mutex_lock(&s->lock);
	exp = cJSON_GetObjectItemCaseSensitive(s->tokens, tok);
	live = cJSON_IsNumber(exp) && (long long)exp->valuedouble > now;
	pthread_mutex_unlock(&s->lock);
	if (!live) {
		/* Shopee's own spelling. */
		envelope(s, rs, 403, "invalid_acceess_token", "Invalid access_token.", NULL);
		return false;
	}
	return true;
}

static void auth_token(void *state, const pb_sbx_req *rq, pb_sbx_resp *rs)
{
	sbx_shopee *s = state;
	cJSON *b, *j = NULL;
	const char *rt;
	char at[64], nrt[64], rid[40];
	long ttl;

	if (!authorised(s, rq, rs, false))
		return;
	b = cJSON_ParseWithLength(rq->body, rq->body_len);
	rt = jstr(b, "refresh_token");
	if (!cJSON_IsObject(b) || !rt || jint(b, "partner_id") != PB_SANDBOX_SHOPEE_PARTNER_ID ||
	    jint(b, "shop_id") != PB_SANDBOX_SHOPEE_SHOP_ID) {
		envelope(s, rs, 400, "error_param",
			 "refresh_token, partner_id and shop_id are required.", NULL);
		goto out;
	}
	pthread_mutex_lock(&s->lock);
	if (strcmp(rt, s->refresh)) {
		pthread_mutex_unlock(&s->lock);
		envelope(s, rs, 403, "error_auth", "Invalid refresh_token.", NULL);
		goto out;
	}
	s->gen++;
	snprintf(at, sizeof at, "sandbox-access-%lu-%ld", s->gen, (long)time(NULL) % 100000);
	snprintf(nrt, sizeof nrt, "sandbox-refresh-%lu", s->gen);
	snprintf(s->refresh, sizeof s->refresh, "%s", nrt);
	ttl = s->ttl;
	cJSON_AddNumberToObject(s->tokens, at, (double)((long long)time(NULL) + ttl));
	s->requests++;
	snprintf(rid, sizeof rid, "sbx%029lu", s->requests);
	pthread_mutex_unlock(&s->lock);
	/* Shopee answers this one without the "response" wrapper. */
	j = cJSON_CreateObject();
	if (j) {
		cJSON_AddStringToObject(j, "request_id", rid);
		cJSON_AddStringToObject(j, "error", "");
		cJSON_AddStringToObject(j, "message", "");
		cJSON_AddStringToObject(j, "access_token", at);
		cJSON_AddStringToObject(j, "refresh_token", nrt);
		cJSON_AddNumberToObject(j, "expire_in", (double)ttl);
		cJSON_AddNumberToObject(j, "partner_id", PB_SANDBOX_SHOPEE_PARTNER_ID);
		cJSON_AddNumberToObject(j, "shop_id", PB_SANDBOX_SHOPEE_SHOP_ID);
	}
	pb_sbx_send_json(rs, 200, j);
out:
	cJSON_Delete(b);
	cJSON_Delete(j);
}

/* --- chat ------------------------------------------------------------- */

static const cJSON *last_message(const cJSON *c)
{
	const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(c, "messages");
	int n = cJSON_GetArraySize(msgs);

	return n ? cJSON_GetArrayItem(msgs, n - 1) : NULL;
}

static int unread(const cJSON *c)
{
	const cJSON *m;
	int n = 0;

	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(c, "messages"))
		n += !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "read"));
	return n;
}

/* A message as get_message and send_message show it. */
static cJSON *message_json(const cJSON *c, const cJSON *m)
{
	cJSON *j = cJSON_CreateObject(), *content;
	const char *from = jstr(m, "from"), *type = jstr(m, "type");
	bool shop = from && !strcmp(from, "shop");
	char buyer[32];

	if (!j)
		return NULL;
	snprintf(buyer, sizeof buyer, "%lld", jint(c, "buyer_id"));
	cJSON_AddStringToObject(j, "message_id", jstr(m, "message_id"));
	cJSON_AddStringToObject(j, "message_type", type ? type : "text");
	cJSON_AddItemToObject(j, "from_id", shop ? cJSON_CreateNumber(PB_SANDBOX_SHOPEE_SHOP_ID)
						 : raw_id(buyer));
	cJSON_AddNumberToObject(j, "from_shop_id", shop ? PB_SANDBOX_SHOPEE_SHOP_ID : 0);
	cJSON_AddItemToObject(j, "to_id", shop ? raw_id(buyer)
					       : cJSON_CreateNumber(PB_SANDBOX_SHOPEE_SHOP_ID));
	cJSON_AddNumberToObject(j, "to_shop_id", shop ? 0 : PB_SANDBOX_SHOPEE_SHOP_ID);
	cJSON_AddItemToObject(j, "conversation_id", raw_id(jstr(c, "id")));
	cJSON_AddNumberToObject(j, "created_timestamp", (double)jint(m, "at"));
	cJSON_AddStringToObject(j, "region", "MY");
	cJSON_AddStringToObject(j, "status", "normal");
	cJSON_AddStringToObject(j, "source", shop ? "api" : "app");
	content = cJSON_AddObjectToObject(j, "content");
	if (content && type && !strcmp(type, "order")) {
		cJSON_AddStringToObject(content, "order_sn", jstr(m, "order_sn"));
		cJSON_AddNumberToObject(content, "shop_id", PB_SANDBOX_SHOPEE_SHOP_ID);
	} else if (content) {
		cJSON_AddStringToObject(content, "text", jstr(m, "text"));
	}
	return j;
}

/* A conversation as get_conversation_list and get_one_conversation show it. */
static cJSON *conversation_json(const cJSON *c)
{
	cJSON *j = cJSON_CreateObject(), *content;
	const cJSON *last = last_message(c);
	const char *from = last ? jstr(last, "from") : NULL;
	char buyer[32];

	if (!j)
		return NULL;
	snprintf(buyer, sizeof buyer, "%lld", jint(c, "buyer_id"));
	cJSON_AddStringToObject(j, "conversation_id", jstr(c, "id"));
	cJSON_AddItemToObject(j, "to_id", raw_id(buyer));
	cJSON_AddStringToObject(j, "to_name", jstr(c, "buyer_name") ? jstr(c, "buyer_name") : "");
	cJSON_AddStringToObject(j, "to_avatar", "");
	cJSON_AddNumberToObject(j, "shop_id", PB_SANDBOX_SHOPEE_SHOP_ID);
	cJSON_AddNumberToObject(j, "unread_count", unread(c));
	cJSON_AddBoolToObject(j, "pinned", false);
	cJSON_AddStringToObject(j, "latest_message_id", last ? jstr(last, "message_id") : "");
	cJSON_AddStringToObject(j, "latest_message_type", last ? jstr(last, "type") : "");
	content = cJSON_AddObjectToObject(j, "latest_message_content");
	if (content && last)
		cJSON_AddStringToObject(content, "text", jstr(last, "text"));
	cJSON_AddItemToObject(j, "latest_message_from_id",
			      from && !strcmp(from, "shop")
				      ? cJSON_CreateNumber(PB_SANDBOX_SHOPEE_SHOP_ID)
				      : raw_id(buyer));
	cJSON_AddItemToObject(j, "last_message_timestamp",
			      cJSON_CreateRaw(last ? jstr(last, "ns") : "0"));
	return j;
}

static const char *last_ns(const cJSON *c)
{
	const cJSON *last = last_message(c);

	return last ? jstr(last, "ns") : "0";
}

static int nscmp(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	return la != lb ? (la < lb ? -1 : 1) : strcmp(a, b);
}

static int conv_newest_first(const void *a, const void *b)
{
	return -nscmp(last_ns(*(const cJSON *const *)a), last_ns(*(const cJSON *const *)b));
}

static void conversation_list(void *state, const pb_sbx_req *rq, pb_sbx_resp *rs)
{
	sbx_shopee *s = state;
	const char *dir = query(rq, "direction"), *type = query(rq, "type");
	const char *cursor = query(rq, "next_timestamp_nano"), *ps = query(rq, "page_size");
	const cJSON **v = NULL;
	cJSON *resp = NULL, *list, *pr, *nc, *c;
	size_t n = 0, i, taken = 0;
	long size = ps ? strtol(ps, NULL, 10) : 25;
	bool more = false;

	if (!authorised(s, rq, rs, true))
		return;
	if (!dir || (strcmp(dir, "older") && strcmp(dir, "latest")) || !type ||
	    (strcmp(type, "all") && strcmp(type, "pinned") && strcmp(type, "unread")) ||
	    (cursor && !digits(cursor)) || size < 1 || size > MAX_PAGE) {
		envelope(s, rs, 400, "error_param",
			 "direction (older|latest), type (all|pinned|unread) and page_size 1-60.",
			 NULL);
		return;
	}
	pthread_mutex_lock(&s->lock);
	v = malloc(((size_t)cJSON_GetArraySize(s->convs) + 1) * sizeof *v);
	resp = cJSON_CreateObject();
	list = resp ? cJSON_AddArrayToObject(resp, "conversations") : NULL;
	if (!v || !list)
		goto unlock;
	cJSON_ArrayForEach(c, s->convs)
	{
		const char *ns = last_ns(c);
		if (!strcmp(type, "pinned") || (!strcmp(type, "unread") && !unread(c)))
			continue;
		if (cursor && (!strcmp(dir, "older") ? nscmp(ns, cursor) >= 0 : nscmp(ns, cursor) <= 0))
			continue;
		v[n++] = c;
	}
	qsort(v, n, sizeof *v, conv_newest_first);
	for (i = 0; i < n && taken < (size_t)size; i++, taken++)
		cJSON_AddItemToArray(list, conversation_json(v[i]));
	more = i < n;
	pr = cJSON_AddObjectToObject(resp, "page_result");
	if (pr) {
		cJSON_AddNumberToObject(pr, "page_size", (double)taken);
		nc = cJSON_AddObjectToObject(pr, "next_cursor");
		if (nc) {
			cJSON_AddStringToObject(nc, "next_message_time_nano",
						taken ? last_ns(v[taken - 1]) : "");
			cJSON_AddStringToObject(nc, "conversation_id",
						taken ? jstr(v[taken - 1], "id") : "");
		}
		cJSON_AddBoolToObject(pr, "more", more);
	}
unlock:
	pthread_mutex_unlock(&s->lock);
	free(v);
	if (!list) {
		cJSON_Delete(resp);
		envelope(s, rs, 500, "error_server", "Out of memory.", NULL);
		return;
	}
	envelope(s, rs, 200, NULL, NULL, resp);
}

static void get_message(void *state, const pb_sbx_req *rq, pb_sbx_resp *rs)
{
	sbx_shopee *s = state;
	const char *id = query(rq, "conversation_id"), *off = query(rq, "offset");
	const char *ps = query(rq, "page_size");
	long size = ps ? strtol(ps, NULL, 10) : 25, start = off && *off ? strtol(off, NULL, 10) : 0;
	cJSON *resp = NULL, *list, *pr, *c, *msgs;
	char next[32] = "";
	int n, i, k;

	if (!authorised(s, rq, rs, true))
		return;
	if (!digits(id) || size < 1 || size > MAX_PAGE || start < 0) {
		envelope(s, rs, 400, "error_param", "conversation_id and page_size 1-60 are required.",
			 NULL);
		return;
	}
	pthread_mutex_lock(&s->lock);
	c = conv_by_id(s, id);
	if (!c) {
		pthread_mutex_unlock(&s->lock);
		envelope(s, rs, 400, "error_not_found", "Conversation not found.", NULL);
		return;
	}
	/* Newest first; offset counts back from the newest. */
	msgs = cJSON_GetObjectItemCaseSensitive(c, "messages");
	n = cJSON_GetArraySize(msgs);
	resp = cJSON_CreateObject();
	list = resp ? cJSON_AddArrayToObject(resp, "messages") : NULL;
	for (i = n - 1 - (int)start, k = 0; list && i >= 0 && k < size; i--, k++)
		cJSON_AddItemToArray(list, message_json(c, cJSON_GetArrayItem(msgs, i)));
	if (i >= 0)
		snprintf(next, sizeof next, "%ld", start + k);
	pr = resp ? cJSON_AddObjectToObject(resp, "page_result") : NULL;
	if (pr) {
		cJSON_AddStringToObject(pr, "next_offset", next);
		cJSON_AddNumberToObject(pr, "page_size", k);
	}
	pthread_mutex_unlock(&s->lock);
	envelope(s, rs, 200, NULL, NULL, resp);
}

static void one_conversation(void *state, const pb_sbx_req *rq, pb_sbx_resp *rs)
{
	sbx_shopee *s = state;
	const char *id = query(rq, "conversation_id");
	cJSON *c, *resp = NULL;

	if (!authorised(s, rq, rs, true))
		return;
	pthread_mutex_lock(&s->lock);
	c = digits(id) ? conv_by_id(s, id) : NULL;
	if (c)
		resp = conversation_json(c);
	pthread_mutex_unlock(&s->lock);
	if (!c) {
		envelope(s, rs, 400, "error_not_found", "Conversation not found.", NULL);
		return;
	}
	envelope(s, rs, 200, NULL, NULL, resp);
}

static void send_message(void *state, const pb_sbx_req *rq, pb_sbx_resp *rs)
{
	sbx_shopee *s = state;
	cJSON *b, *c, *m, *resp = NULL, *msg;
	const char *type, *text;
	long long to;

	if (!authorised(s, rq, rs, true))
		return;
	b = cJSON_ParseWithLength(rq->body, rq->body_len);
	to = jint(b, "to_id");
	type = jstr(b, "message_type");
	text = jstr(cJSON_GetObjectItemCaseSensitive(b, "content"), "text");
	if (!cJSON_IsObject(b) || !to || !type || strcmp(type, "text") || !text || !*text) {
		envelope(s, rs, 400, "error_param", "to_id, message_type text and content.text "
						    "are required.",
			 NULL);
		goto out;
	}
	pthread_mutex_lock(&s->lock);
	cJSON_ArrayForEach(c, s->convs)
		if (jint(c, "buyer_id") == to)
			break;
	m = c ? add_message(s, c, "text", "shop", text, NULL, (long long)time(NULL)) : NULL;
	if (m) {
		/* Replying reads the conversation. */
		cJSON_ArrayForEach(msg, cJSON_GetObjectItemCaseSensitive(c, "messages"))
			cJSON_ReplaceItemInObjectCaseSensitive(msg, "read", cJSON_CreateTrue());
		resp = message_json(c, m);
	}
	pthread_mutex_unlock(&s->lock);
	if (!c)
		envelope(s, rs, 400, "error_param", "The buyer (to_id) has no conversation with the shop.",
			 NULL);
	else
		envelope(s, rs, 200, NULL, NULL, resp);
out:
	cJSON_Delete(b);
}

/* --- orders and logistics --------------------------------------------- */

static bool wants(const char *fields, const char *f)
{
	size_t n = strlen(f);
	const char *p = fields;

	while (p && (p = strstr(p, f))) {
		if ((p == fields || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
		p += n;
	}
	return false;
}

static cJSON *order_json(const cJSON *o, const char *fields)
{
	cJSON *j = cJSON_CreateObject(), *items, *it, *pl, *pk;
	const cJSON *src;
	const char *car = jstr(o, "carrier");

	if (!j)
		return NULL;
	cJSON_AddStringToObject(j, "order_sn", jstr(o, "order_sn"));
	cJSON_AddStringToObject(j, "order_status", "SHIPPED");
	cJSON_AddStringToObject(j, "region", "MY");
	if (wants(fields, "currency"))
		cJSON_AddStringToObject(j, "currency", jstr(o, "currency") ? jstr(o, "currency") : "");
	if (wants(fields, "total_amount"))
		cJSON_AddItemToObject(j, "total_amount", cJSON_Duplicate(cJSON_GetObjectItem(o,
									 "total_amount"), true));
	if (wants(fields, "pay_time"))
		cJSON_AddNumberToObject(j, "pay_time", (double)jint(o, "pay_time"));
	if (wants(fields, "ship_by_date"))
		cJSON_AddNumberToObject(j, "ship_by_date", (double)(jint(o, "pay_time") + 3 * 86400));
	if (wants(fields, "shipping_carrier"))
		cJSON_AddStringToObject(j, "shipping_carrier", car ? car : "");
	if (wants(fields, "item_list") && (items = cJSON_AddArrayToObject(j, "item_list"))) {
		cJSON_ArrayForEach(src, cJSON_GetObjectItemCaseSensitive(o, "items"))
		{
			it = cJSON_CreateObject();
			if (!it)
				continue;
			cJSON_AddStringToObject(it, "item_name", jstr(src, "name"));
			cJSON_AddNumberToObject(it, "model_quantity_purchased",
						(double)(jint(src, "qty") ? jint(src, "qty") : 1));
			cJSON_AddItemToArray(items, it);
		}
	}
	if (wants(fields, "package_list") && (pl = cJSON_AddArrayToObject(j, "package_list")) &&
	    (pk = cJSON_CreateObject())) {
		char pn[80];
		snprintf(pn, sizeof pn, "OFG%s", jstr(o, "order_sn"));
		cJSON_AddStringToObject(pk, "package_number", pn);
		cJSON_AddStringToObject(pk, "logistics_status", "LOGISTICS_PICKUP_DONE");
		cJSON_AddStringToObject(pk, "shipping_carrier", car ? car : "");
		cJSON_AddItemToArray(pl, pk);
	}
	return j;
}

static void order_detail(void *state, const pb_sbx_req *rq, pb_sbx_resp *rs)
{
	sbx_shopee *s = state;
	const char *list = query(rq, "order_sn_list"), *fields = query(rq, "response_optional_fields");
	char buf[2048], *p, *save = NULL;
	cJSON *resp, *arr, *o;
	int n = 0;

	if (!authorised(s, rq, rs, true))
		return;
	if (!list || !*list || strlen(list) >= sizeof buf) {
		envelope(s, rs, 400, "error_param", "order_sn_list is required.", NULL);
		return;
	}
	resp = cJSON_CreateObject();
	arr = resp ? cJSON_AddArrayToObject(resp, "order_list") : NULL;
	snprintf(buf, sizeof buf, "%s", list);
	pthread_mutex_lock(&s->lock);
	for (p = strtok_r(buf, ",", &save); arr && p; p = strtok_r(NULL, ",", &save)) {
		if (++n > 50)
			break;
		if ((o = order_by_sn(s, p)))
			cJSON_AddItemToArray(arr, order_json(o, fields ? fields : ""));
	}
	pthread_mutex_unlock(&s->lock);
	if (n > 50) {
		cJSON_Delete(resp);
		envelope(s, rs, 400, "error_param", "At most 50 order_sn in order_sn_list.", NULL);
		return;
	}
	envelope(s, rs, 200, NULL, NULL, resp);
}

/* The order named by ?order_sn=, or NULL with the error answered. Called
 * with the lock held. */
static cJSON *logistics_order(sbx_shopee *s, const pb_sbx_req *rq, pb_sbx_resp *rs)
{
	const char *sn = query(rq, "order_sn");
	cJSON *o = sn && *sn ? order_by_sn(s, sn) : NULL;

	if (!o)
		envelope(s, rs, 400, "logistics.invalid_error", "Order does not exist.", NULL);
	return o;
}

static void tracking_number(void *state, const pb_sbx_req *rq, pb_sbx_resp *rs)
{
	sbx_shopee *s = state;
	cJSON *o, *resp = NULL;
	const char *tn;

	if (!authorised(s, rq, rs, true))
		return;
	pthread_mutex_lock(&s->lock);
	o = logistics_order(s, rq, rs);
	if (o && (resp = cJSON_CreateObject())) {
		tn = jstr(o, "tracking_number");
		cJSON_AddStringToObject(resp, "tracking_number", tn ? tn : "");
	}
	pthread_mutex_unlock(&s->lock);
	if (o)
		envelope(s, rs, 200, NULL, NULL, resp);
}

static int newest_update_first(const void *a, const void *b)
{
	long long x = jint(*(const cJSON *const *)a, "update_time");
	long long y = jint(*(const cJSON *const *)b, "update_time");

	return x < y ? 1 : x > y ? -1 : 0;
}

static void tracking_info(void *state, const pb_sbx_req *rq, pb_sbx_resp *rs)
{
	sbx_shopee *s = state;
	cJSON *o, *resp = NULL, *arr, *e, *x;
	const cJSON **v = NULL, *ti;
	size_t n = 0, i;
	char pn[80];

	if (!authorised(s, rq, rs, true))
		return;
	pthread_mutex_lock(&s->lock);
	o = logistics_order(s, rq, rs);
	if (o && (resp = cJSON_CreateObject())) {
		ti = cJSON_GetObjectItemCaseSensitive(o, "tracking_info");
		snprintf(pn, sizeof pn, "OFG%s", jstr(o, "order_sn"));
		cJSON_AddStringToObject(resp, "order_sn", jstr(o, "order_sn"));
		cJSON_AddStringToObject(resp, "package_number", pn);
		cJSON_AddStringToObject(resp, "logistics_status", "LOGISTICS_PICKUP_DONE");
		arr = cJSON_AddArrayToObject(resp, "tracking_info");
		v = malloc(((size_t)cJSON_GetArraySize(ti) + 1) * sizeof *v);
		cJSON_ArrayForEach(x, ti)
			if (v)
				v[n++] = x;
		if (v)
			qsort(v, n, sizeof *v, newest_update_first);
		for (i = 0; arr && i < n; i++) {
			if (!(e = cJSON_CreateObject()))
				continue;
			cJSON_AddNumberToObject(e, "update_time", (double)jint(v[i], "update_time"));
			cJSON_AddStringToObject(e, "description",
						jstr(v[i], "description") ? jstr(v[i], "description") : "");
			cJSON_AddStringToObject(e, "logistics_status",
						jstr(v[i], "logistics_status") ? jstr(v[i], "logistics_status")
									       : "");
			cJSON_AddItemToArray(arr, e);
		}
	}
	pthread_mutex_unlock(&s->lock);
	free(v);
	if (o)
		envelope(s, rs, 200, NULL, NULL, resp);
}

/* --- test controls ----------------------------------------------------- */

static void control_error(pb_sbx_resp *rs, int status, const char *msg)
{
	cJSON *j = cJSON_CreateObject();

	if (j)
		cJSON_AddStringToObject(j, "error", msg);
	pb_sbx_send_json(rs, status, j);
	cJSON_Delete(j);
}

static void control_config(void *state, const pb_sbx_req *rq, pb_sbx_resp *rs)
{
	sbx_shopee *s = state;
	cJSON *b = cJSON_ParseWithLength(rq->body, rq->body_len), *ok;
	const cJSON *ttl = cJSON_GetObjectItemCaseSensitive(b, "token_ttl");

	if (!cJSON_IsObject(b) || !cJSON_IsNumber(ttl) || ttl->valuedouble < 0 ||
	    ttl->valuedouble > 366 * 86400.0) {
		cJSON_Delete(b);
		control_error(rs, 400, "the body must be {\"token_ttl\": seconds}");
		return;
	}
	pthread_mutex_lock(&s->lock);
	s->ttl = (long)ttl->valuedouble;
	pthread_mutex_unlock(&s->lock);
	cJSON_Delete(b);
	ok = cJSON_CreateObject();
	if (ok)
		cJSON_AddTrueToObject(ok, "ok");
	pb_sbx_send_json(rs, 200, ok);
	cJSON_Delete(ok);
}

static void control_incoming(void *state, const pb_sbx_req *rq, pb_sbx_resp *rs)
{
	sbx_shopee *s = state;
	cJSON *b = cJSON_ParseWithLength(rq->body, rq->body_len), *c, *m = NULL, *ans = NULL;
	const cJSON *cid = cJSON_GetObjectItemCaseSensitive(b, "conversation_id");
	const char *text = jstr(b, "text");
	char id[32] = "";

	if (cJSON_IsString(cid) && strlen(cid->valuestring) < sizeof id)
		snprintf(id, sizeof id, "%s", cid->valuestring);
	else if (cJSON_IsNumber(cid))
		snprintf(id, sizeof id, "%.0f", cid->valuedouble);
	if (!*id || !text || !*text) {
		cJSON_Delete(b);
		control_error(rs, 400, "the body must be {\"conversation_id\", \"text\"}");
		return;
	}
	pthread_mutex_lock(&s->lock);
	c = conv_by_id(s, id);
	if (c && (m = add_message(s, c, "text", "buyer", text, NULL, (long long)time(NULL))) &&
	    (ans = cJSON_CreateObject()))
		cJSON_AddStringToObject(ans, "message_id", jstr(m, "message_id"));
	pthread_mutex_unlock(&s->lock);
	cJSON_Delete(b);
	if (!c)
		control_error(rs, 404, "no such conversation");
	else
		pb_sbx_send_json(rs, 200, ans);
	cJSON_Delete(ans);
}

static void control_conversation(void *state, const pb_sbx_req *rq, pb_sbx_resp *rs)
{
	sbx_shopee *s = state;
	const char *id = query(rq, "id");
	cJSON *c, *copy = NULL;

	pthread_mutex_lock(&s->lock);
	c = conv_by_id(s, id);
	if (c)
		copy = cJSON_Duplicate(c, true);
	pthread_mutex_unlock(&s->lock);
	if (!c)
		control_error(rs, 404, "no such conversation");
	else
		pb_sbx_send_json(rs, 200, copy);
	cJSON_Delete(copy);
}

/* --- seed -------------------------------------------------------------- */

static const char *const top_keys[] = {"conversations", "orders", NULL};
static const char *const conv_keys[] = {"id", "buyer_id", "buyer_name", "order_sn", "messages",
					NULL};
static const char *const msg_keys[] = {"text", "from", "at", NULL};
static const char *const order_keys[] = {"order_sn",	    "total_amount", "currency",
					 "pay_time",	    "items",	    "tracking_number",
					 "carrier",	    "tracking_info", NULL};
static const char *const item_keys[] = {"name", "qty", NULL};
static const char *const info_keys[] = {"update_time", "description", "logistics_status", NULL};

/* A time given as Unix seconds or ISO 8601; false (reported) otherwise. */
static bool seed_time(pb_diag *dg, const pb_ydoc *doc, const pb_ynode *map, const char *key,
		      bool required, long long *out)
{
	const pb_ynode *v = pb_ymap_get(map, key);
	pb_when w;
	char *end;

	*out = 0;
	if (!v) {
		if (required)
			pb_diag_at(dg, doc, map, "'%s' is required", key);
		return !required;
	}
	if (v->kind == PB_Y_SCALAR) {
		*out = strtoll(v->str, &end, 10);
		if (v->len && !*end)
			return true;
		if (!pb_time_parse(v->str, 0, &w)) {
			*out = w.t;
			return true;
		}
	}
	pb_diag_at(dg, doc, v, "'%s' must be Unix seconds or an ISO 8601 time", key);
	return false;
}

/* Reads the seed into s->seed_convs and s->seed_orders. */
static pb_err load(sbx_shopee *s, const pb_ydoc *doc, const pb_ynode *root, pb_diag *dg)
{
	const pb_ynode *convs, *orders, *e, *ms, *m, *x;
	cJSON *c, *o, *arr, *it;
	size_t i, k;
	long long t;
	double d;

	if (!pb_y_expect(dg, doc, root, PB_Y_MAP, "shopee"))
		return PB_OK;
	pb_y_keys(dg, doc, root, top_keys);
	convs = pb_ymap_get(root, "conversations");
	if (convs && pb_y_expect(dg, doc, convs, PB_Y_SEQ, "shopee.conversations")) {
		for (i = 0; i < convs->n; i++) {
			const char *id, *name, *sn;
			e = convs->items[i];
			if (!pb_y_expect(dg, doc, e, PB_Y_MAP, "a conversation"))
				continue;
			pb_y_keys(dg, doc, e, conv_keys);
			id = pb_y_str(dg, doc, e, "id", true);
			name = pb_y_str(dg, doc, e, "buyer_name", false);
			sn = pb_y_str(dg, doc, e, "order_sn", false);
			if (!pb_y_num(dg, doc, e, "buyer_id", true, &d))
				continue;
			if (!id)
				continue;
			if (!digits(id) || strlen(id) > 19) {
				pb_diag_at(dg, doc, pb_ymap_get(e, "id"),
					   "a conversation id is a decimal number of up to 19 digits");
				continue;
			}
			if (d < 1 || d > 9e15) {
				pb_diag_at(dg, doc, pb_ymap_get(e, "buyer_id"),
					   "buyer_id must be a positive whole number");
				continue;
			}
			if (!(c = cJSON_CreateObject()) || !cJSON_AddItemToArray(s->seed_convs, c)) {
				cJSON_Delete(c);
				return PB_ENOMEM;
			}
			cJSON_AddStringToObject(c, "id", id);
			cJSON_AddNumberToObject(c, "buyer_id", d);
			cJSON_AddStringToObject(c, "buyer_name", name ? name : "");
			if (!cJSON_AddArrayToObject(c, "messages"))
				return PB_ENOMEM;
			ms = pb_ymap_get(e, "messages");
			t = 0;
			if (sn) {
				/* The order card the buyer opened the chat with. */
				pb_when w;
				m = ms && ms->kind == PB_Y_SEQ && ms->n ? ms->items[0] : NULL;
				x = m && m->kind == PB_Y_MAP ? pb_ymap_get(m, "at") : NULL;
				if (x && x->kind == PB_Y_SCALAR && !pb_time_parse(x->str, 0, &w))
					t = w.t;
				cJSON_AddStringToObject(c, "order_sn", sn);
				if (!(it = add_message(s, c, "order", "buyer", "", sn, t ? t - 1 : 0)))
					return PB_ENOMEM;
				cJSON_ReplaceItemInObjectCaseSensitive(it, "read", cJSON_CreateTrue());
			}
			if (!ms || !pb_y_expect(dg, doc, ms, PB_Y_SEQ, "messages"))
				continue;
			for (k = 0; k < ms->n; k++) {
				const char *text, *from;
				m = ms->items[k];
				if (!pb_y_expect(dg, doc, m, PB_Y_MAP, "a message"))
					continue;
				pb_y_keys(dg, doc, m, msg_keys);
				text = pb_y_str(dg, doc, m, "text", true);
				from = pb_y_str(dg, doc, m, "from", true);
				if (!seed_time(dg, doc, m, "at", true, &t) || !text || !from)
					continue;
				if (strcmp(from, "buyer") && strcmp(from, "shop")) {
					pb_diag_at(dg, doc, pb_ymap_get(m, "from"),
						   "'from' must be buyer or shop");
					continue;
				}
				if (!add_message(s, c, "text", from, text, NULL, t))
					return PB_ENOMEM;
			}
			/* Buyer messages the shop has answered are read. */
			arr = cJSON_GetObjectItemCaseSensitive(c, "messages");
			for (k = (size_t)cJSON_GetArraySize(arr); k-- > 0;) {
				it = cJSON_GetArrayItem(arr, (int)k);
				if (!strcmp(jstr(it, "from"), "shop")) {
					for (; k-- > 0;)
						cJSON_ReplaceItemInObjectCaseSensitive(
							cJSON_GetArrayItem(arr, (int)k), "read",
							cJSON_CreateTrue());
					break;
				}
			}
		}
	}
	orders = pb_ymap_get(root, "orders");
	if (orders && pb_y_expect(dg, doc, orders, PB_Y_SEQ, "shopee.orders")) {
		for (i = 0; i < orders->n; i++) {
			const char *sn;
			e = orders->items[i];
			if (!pb_y_expect(dg, doc, e, PB_Y_MAP, "an order"))
				continue;
			pb_y_keys(dg, doc, e, order_keys);
			if (!(sn = pb_y_str(dg, doc, e, "order_sn", true)))
				continue;
			if (!(o = pb_sbx_yaml_to_json(e)) || !cJSON_AddItemToArray(s->seed_orders, o)) {
				cJSON_Delete(o);
				return PB_ENOMEM;
			}
			cJSON_ReplaceItemInObjectCaseSensitive(o, "order_sn", cJSON_CreateString(sn));
			if (pb_ymap_get(e, "total_amount"))
				pb_y_num(dg, doc, e, "total_amount", false, &d);
			if (seed_time(dg, doc, e, "pay_time", false, &t) && t)
				cJSON_ReplaceItemInObjectCaseSensitive(o, "pay_time",
								       cJSON_CreateNumber((double)t));
			pb_y_str(dg, doc, e, "tracking_number", false);
			pb_y_str(dg, doc, e, "carrier", false);
			x = pb_ymap_get(e, "items");
			if (x && pb_y_expect(dg, doc, x, PB_Y_SEQ, "items"))
				for (k = 0; k < x->n; k++)
					if (pb_y_expect(dg, doc, x->items[k], PB_Y_MAP, "an item")) {
						pb_y_keys(dg, doc, x->items[k], item_keys);
						pb_y_str(dg, doc, x->items[k], "name", true);
						pb_y_num(dg, doc, x->items[k], "qty", false, &d);
					}
			x = pb_ymap_get(e, "tracking_info");
			arr = cJSON_GetObjectItemCaseSensitive(o, "tracking_info");
			if (x && pb_y_expect(dg, doc, x, PB_Y_SEQ, "tracking_info"))
				for (k = 0; k < x->n; k++) {
					if (!pb_y_expect(dg, doc, x->items[k], PB_Y_MAP,
							 "a tracking_info entry"))
						continue;
					pb_y_keys(dg, doc, x->items[k], info_keys);
					pb_y_str(dg, doc, x->items[k], "logistics_status", true);
					if (seed_time(dg, doc, x->items[k], "update_time", true, &t))
						cJSON_ReplaceItemInObjectCaseSensitive(
							cJSON_GetArrayItem(arr, (int)k), "update_time",
							cJSON_CreateNumber((double)t));
				}
		}
	}
	return PB_OK;
}

pb_err pb_sbx_shopee_init(pb_sandbox *sb, const pb_sandbox_opts *o, const pb_ydoc *seed,
			  pb_diag *dg)
{
	static const pb_sbx_route routes[] = {
		{"shopee.auth", "POST", "/api/v2/auth/access_token/get", auth_token, NULL},
		{"shopee.conversations", "GET", "/api/v2/sellerchat/get_conversation_list",
		 conversation_list, NULL},
		{"shopee.conversation", "GET", "/api/v2/sellerchat/get_one_conversation",
		 one_conversation, NULL},
		{"shopee.messages", "GET", "/api/v2/sellerchat/get_message", get_message, NULL},
		{"shopee.send", "POST", "/api/v2/sellerchat/send_message", send_message, NULL},
		{"shopee.order", "GET", "/api/v2/order/get_order_detail", order_detail, NULL},
		{"shopee.tracking_number", "GET", "/api/v2/logistics/get_tracking_number",
		 tracking_number, NULL},
		{"shopee.tracking_info", "GET", "/api/v2/logistics/get_tracking_info", tracking_info,
		 NULL},
		{"shopee.config", "POST", "/_sandbox/shopee/config", control_config, NULL},
		{"shopee.incoming", "POST", "/_sandbox/shopee/incoming", control_incoming, NULL},
		{"shopee.view", "GET", "/_sandbox/shopee/conversations", control_conversation, NULL},
	};
	const pb_ynode *root = seed ? pb_ymap_get(seed->root, "shopee") : NULL;
	sbx_shopee *s = calloc(1, sizeof *s);
	pb_sbx_module m;
	pb_sbx_route r;
	pb_err err;
	size_t i;

	(void)o;
	if (!s)
		return PB_ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	s->seed_convs = cJSON_CreateArray();
	s->seed_orders = cJSON_CreateArray();
	if (!s->seed_convs || !s->seed_orders) {
		shopee_free(s);
		return PB_ENOMEM;
	}
	/* Seed messages are numbered as they are read; live ones go on. */
	if (root && (err = load(s, seed, root, dg))) {
		shopee_free(s);
		return err;
	}
	shopee_reset_locked(s);
	m.state = s;
	m.reset = shopee_reset;
	m.free = shopee_free;
	if (!s->convs || !s->orders || !s->tokens || pb_sbx_add_module(sb, &m)) {
		shopee_free(s);
		return PB_ENOMEM;
	}
	for (i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		r = routes[i];
		r.state = s;
		if (pb_sbx_add_route(sb, &r))
			return PB_ELIMIT;
	}
	return PB_OK;
}
