/*
 * The Shopee seller-chat adapter (see channel_shopee.h): request signing,
 * the access token's lifecycle, polling conversations for new buyer
 * messages, sending replies without sending one twice, orders and
 * Shopee's logistics tracking.
 *
 * Shopee's ids (conversation_id, message_id) are 64-bit and its chat times
 * are in nanoseconds, both beyond a double's 53 bits, and some endpoints
 * send them as bare numbers: every answer is passed through
 * pb_shopee_quote_ids before cJSON reads it, and the adapter handles ids
 * only as strings.
 */
#include "parcelbot/channel_shopee.h"

#include <cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/digest.h"
#include "parcelbot/http.h"
#include "parcelbot/order.h"
#include "parcelbot/time.h"

#define SHOPEE_ID_MAX 40        /* decimal ids and order_sn fit easily */
#define REFRESH_MARGIN 300      /* seconds before expiry to refresh */
#define CONV_PAGE_SIZE 25
#define CONV_MAX_PAGES 20       /* per poll: 500 conversations */
#define MSG_PAGE_SIZE 50
#define MSG_MAX_PAGES 4         /* per conversation per poll */
#define MAX_CONVS 100000        /* remembered conversations */
#define SEEN_IDS 8

/* What the adapter remembers of one conversation between polls. */
typedef struct conv {
	char id[SHOPEE_ID_MAX];
	char buyer[SHOPEE_ID_MAX];
	char order_sn[SHOPEE_ID_MAX]; /* the latest order the chat showed, or "" */
	char last_ns[32];             /* last_message_timestamp when last read */
	int64_t seen_at;              /* newest message handled, seconds */
	char seen_ids[SEEN_IDS][SHOPEE_ID_MAX]; /* messages handled at seen_at */
	unsigned n_seen;
	bool whole_second;            /* everything at seen_at was handled */
} conv;

typedef struct shopee {
	pb_channel base;
	struct pb_http *http;
	char *url, *partner_key, *refresh_token, *access_token;
	long long partner_id, shop_id;
	int64_t expires_at; /* when access_token should be replaced */
	bool polled;        /* a poll has completed: later ones report everything new */
	char mark[32];      /* the newest last_message_timestamp a poll has seen */
	conv *convs;
	size_t n_convs, cap_convs;
} shopee;

/* Keys whose integer values must stay exact (see the top of the file). */
static const char *const id_keys[] = {
	"conversation_id", "message_id", "latest_message_id", "last_read_message_id",
	"last_message_timestamp", "next_message_time_nano", "next_timestamp_nano",
	"from_id", "to_id", "from_shop_id", "to_shop_id", "shop_id", NULL,
};

/* The outcome of one call, for perform's result. */
typedef struct outcome {
	bool retryable;
	long retry_after;
} outcome;

static const pb_channel_ops shopee_ops;

/* --- pure helpers --------------------------------------------------- */

pb_err pb_shopee_sign_base(pb_buf *out, long long partner_id, const char *path, int64_t timestamp,
			   const char *access_token, long long shop_id)
{
	if (access_token)
		return pb_buf_printf(out, "%lld%s%" PRId64 "%s%lld", partner_id, path, timestamp,
				     access_token, shop_id);
	return pb_buf_printf(out, "%lld%s%" PRId64, partner_id, path, timestamp);
}

typedef struct status_map {
	const char *code;
	pb_pstate st;
	pb_exkind ex;
} status_map;

/* TrackingLogisticsStatus (per event) first, then the order-level
 * LogisticsStatus values, which some answers carry instead. */
static const status_map statuses[] = {
	{"INITIAL", PB_ST_INFO_RECEIVED, PB_EX_NONE},
	{"ORDER_INIT", PB_ST_INFO_RECEIVED, PB_EX_NONE},
	{"ORDER_SUBMITTED", PB_ST_INFO_RECEIVED, PB_EX_NONE},
	{"ORDER_FINALIZED", PB_ST_INFO_RECEIVED, PB_EX_NONE},
	{"ORDER_CREATED", PB_ST_INFO_RECEIVED, PB_EX_NONE},
	{"PICKUP_REQUESTED", PB_ST_INFO_RECEIVED, PB_EX_NONE},
	{"PICKUP_PENDING", PB_ST_INFO_RECEIVED, PB_EX_NONE},
	{"PICKUP_RETRY", PB_ST_INFO_RECEIVED, PB_EX_NONE},
	{"PICKED_UP", PB_ST_IN_TRANSIT, PB_EX_NONE},
	{"UPDATE", PB_ST_IN_TRANSIT, PB_EX_NONE},
	{"UPDATE_SUBMITTED", PB_ST_IN_TRANSIT, PB_EX_NONE},
	{"UPDATE_CREATED", PB_ST_IN_TRANSIT, PB_EX_NONE},
	{"DELIVERY_PENDING", PB_ST_OUT_FOR_DELIVERY, PB_EX_NONE},
	{"DELIVERED", PB_ST_DELIVERED, PB_EX_NONE},
	{"FAILED_DELIVERED", PB_ST_ATTEMPT_FAIL, PB_EX_NONE},
	{"TIMEOUT", PB_ST_EXCEPTION, PB_EX_DELAYED},
	{"LOST", PB_ST_EXCEPTION, PB_EX_LOST},
	{"RETURN_INITIATED", PB_ST_EXCEPTION, PB_EX_RETURNING},
	{"RETURN_STARTED", PB_ST_EXCEPTION, PB_EX_RETURNING},
	{"RETURN_PENDING", PB_ST_EXCEPTION, PB_EX_RETURNING},
	{"RETURNED", PB_ST_EXCEPTION, PB_EX_RETURNED},
	{"EXPIRED", PB_ST_EXPIRED, PB_EX_NONE},
	{"CANCEL", PB_ST_EXCEPTION, PB_EX_OTHER},
	{"CANCEL_CREATED", PB_ST_EXCEPTION, PB_EX_OTHER},
	{"CANCELED", PB_ST_EXCEPTION, PB_EX_OTHER},
	{"FAILED_ORDER_INIT", PB_ST_EXCEPTION, PB_EX_OTHER},
	{"FAILED_ORDER_SUBMITTED", PB_ST_EXCEPTION, PB_EX_OTHER},
	{"FAILED_ORDER_CREATED", PB_ST_EXCEPTION, PB_EX_OTHER},
	{"FAILED_PICKUP_REQUESTED", PB_ST_EXCEPTION, PB_EX_OTHER},
	{"FAILED_PICKED_UP", PB_ST_EXCEPTION, PB_EX_OTHER},
	{"FAILED_UPDATE_SUBMITTED", PB_ST_EXCEPTION, PB_EX_OTHER},
	{"FAILED_UPDATE_CREATED", PB_ST_EXCEPTION, PB_EX_OTHER},
	{"FAILED_RETURN_STARTED", PB_ST_EXCEPTION, PB_EX_OTHER},
	{"FAILED_RETURNED", PB_ST_EXCEPTION, PB_EX_OTHER},
	{"FAILED_CANCEL_CREATED", PB_ST_EXCEPTION, PB_EX_OTHER},
	{"FAILED_CANCELED", PB_ST_EXCEPTION, PB_EX_OTHER},
	{"LOGISTICS_NOT_START", PB_ST_INFO_RECEIVED, PB_EX_NONE},
	{"LOGISTICS_PENDING_ARRANGE", PB_ST_INFO_RECEIVED, PB_EX_NONE},
	{"LOGISTICS_READY", PB_ST_INFO_RECEIVED, PB_EX_NONE},
	{"LOGISTICS_REQUEST_CREATED", PB_ST_INFO_RECEIVED, PB_EX_NONE},
	{"LOGISTICS_PICKUP_RETRY", PB_ST_INFO_RECEIVED, PB_EX_NONE},
	{"LOGISTICS_PICKUP_DONE", PB_ST_IN_TRANSIT, PB_EX_NONE},
	{"LOGISTICS_DELIVERY_DONE", PB_ST_DELIVERED, PB_EX_NONE},
	{"LOGISTICS_DELIVERY_FAILED", PB_ST_EXCEPTION, PB_EX_OTHER},
	{"LOGISTICS_PICKUP_FAILED", PB_ST_EXCEPTION, PB_EX_OTHER},
	{"LOGISTICS_LOST", PB_ST_EXCEPTION, PB_EX_LOST},
	{"LOGISTICS_COD_REJECTED", PB_ST_EXCEPTION, PB_EX_REFUSED},
	{"LOGISTICS_REQUEST_CANCELED", PB_ST_EXCEPTION, PB_EX_OTHER},
	{"LOGISTICS_INVALID", PB_ST_EXCEPTION, PB_EX_OTHER},
};

bool pb_shopee_map_status(const char *code, pb_pstate *st, pb_exkind *ex)
{
	size_t i;

	for (i = 0; code && i < sizeof statuses / sizeof statuses[0]; i++) {
		if (!strcmp(statuses[i].code, code)) {
			*st = statuses[i].st;
			*ex = statuses[i].ex;
			return true;
		}
	}
	*st = PB_ST_IN_TRANSIT;
	*ex = PB_EX_NONE;
	return false;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

pb_err pb_shopee_quote_ids(const char *json, size_t len, const char *const *keys, pb_buf *out)
{
	size_t i = 0, key_start = 0, key_len = 0, k, j;
	bool after_key = false; /* the last token was a string followed by ':' */
	bool have_str = false;  /* the last token was a string */
	pb_err err;

	while (i < len) {
		char c = json[i];
		if (c == '"') {
			/* Copy the whole string, escapes included. */
			j = i + 1;
			while (j < len && json[j] != '"')
				j += json[j] == '\\' ? 2 : 1;
			if (j >= len)
				j = len - 1;
			if ((err = pb_buf_append(out, json + i, j + 1 - i)))
				return err;
			key_start = i + 1;
			key_len = j - i - 1;
			have_str = true;
			after_key = false;
			i = j + 1;
			continue;
		}
		if (c == ':' && have_str) {
			after_key = true;
			have_str = false;
		} else if ((is_digit(c) || c == '-') && after_key) {
			j = i + 1;
			while (j < len && is_digit(json[j]))
				j++;
			/* Only plain integers: a fraction or exponent is left alone. */
			if (j == len || (json[j] != '.' && json[j] != 'e' && json[j] != 'E')) {
				for (k = 0; keys[k]; k++)
					if (strlen(keys[k]) == key_len &&
					    !memcmp(keys[k], json + key_start, key_len))
						break;
				if (keys[k]) {
					if ((err = pb_buf_putc(out, '"')) ||
					    (err = pb_buf_append(out, json + i, j - i)) ||
					    (err = pb_buf_putc(out, '"')))
						return err;
					after_key = false;
					i = j;
					continue;
				}
			}
			after_key = false;
		} else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			have_str = false;
			after_key = false;
		}
		if ((err = pb_buf_putc(out, c)))
			return err;
		i++;
	}
	if (!out->data)
		return pb_buf_append(out, "", 0);
	return PB_OK;
}

/* --- small JSON readers ----------------------------------------------- */

/* An id given as a string or a whole number, into buf; false if absent. */
static bool id_of(const cJSON *o, const char *key, char *buf, size_t n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	buf[0] = '\0';
	if (cJSON_IsString(v) && *v->valuestring && strlen(v->valuestring) < n) {
		memcpy(buf, v->valuestring, strlen(v->valuestring) + 1);
		return true;
	}
	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 9e15) {
		snprintf(buf, n, "%.0f", v->valuedouble);
		return true;
	}
	return false;
}

/* A whole number given as a number or a decimal string; def if absent. */
static long long int_of(const cJSON *o, const char *key, long long def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	char *end;
	long long x;

	if (cJSON_IsNumber(v))
		return v->valuedouble >= -9223372036854775808.0 && v->valuedouble < 9223372036854775808.0
			       ? (long long)v->valuedouble
			       : def;
	if (cJSON_IsString(v) && *v->valuestring) {
		x = strtoll(v->valuestring, &end, 10);
		if (!*end)
			return x;
	}
	return def;
}

/* A Unix time in seconds; 0 (as if absent) outside years 1970 to 9999,
 * where date arithmetic on it would overflow. */
static int64_t time_of(const cJSON *o, const char *key)
{
	long long t = int_of(o, key, 0);

	return t >= 0 && t < 253402300800LL ? t : 0;
}

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Compares two decimal strings without leading zeros as numbers. */
static int numcmp(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a, b);
}

/* Percent-encodes s for a query value. */
static pb_err put_escaped(pb_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	pb_err err = PB_OK;

	for (; *s && !err; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit((char)c) || c == '-' ||
		    c == '_' || c == '.' || c == '~')
			err = pb_buf_putc(b, (char)c);
		else
			err = pb_buf_printf(b, "%%%c%c", hex[c >> 4], hex[c & 15]);
	}
	return err;
}

/* --- calls ------------------------------------------------------------ */

static bool error_is(const char *e, const char *const *names)
{
	for (; *names; names++)
		if (!strcmp(e, *names))
			return true;
	return false;
}

static const char *const auth_errors[] = {
	"invalid_acceess_token", "invalid_access_token", "error_access_token", "error_auth",
	"error_token", "invalid_token", NULL,
};
static const char *const busy_errors[] = {
	"error_server", "error_inner", "error_busi", "error_system_busy", "error_network",
	"error_timeout", "error_internal", NULL,
};
static const char *const notfound_errors[] = {
	"error_not_found", "error_item_not_found", "order.order_not_found", "logistics.invalid_error",
	"logistics.package_not_exist", NULL,
};

static bool is_rate_limit(const char *e)
{
	return strstr(e, "rate_limit") || strstr(e, "too_many") || strstr(e, "ratelimit") ||
	       !strcmp(e, "error_limit");
}

static pb_err refresh(shopee *sh, int64_t now, outcome *oc, pb_errbuf *eb);

/* Shopee's messages might echo what they were sent; none of the
 * credentials may reach a log through them. */
static void redact(const shopee *sh, pb_errbuf *eb, const char *sign)
{
	const char *secrets[5];

	if (!eb)
		return;
	secrets[0] = sh->partner_key;
	secrets[1] = sh->refresh_token ? sh->refresh_token : "";
	secrets[2] = sh->access_token ? sh->access_token : "";
	secrets[3] = sign;
	secrets[4] = NULL;
	pb_http_redact(eb->msg, sizeof eb->msg, secrets);
}

/* One signed request to path (query: extra parameters, already encoded,
 * without the leading '&'; body: JSON for a POST or NULL). On success *out
 * is the parsed answer, owned by the caller. shop_level calls carry the
 * access token, refreshed when due and once after Shopee rejects it. */
static pb_err call(shopee *sh, const char *method, const char *path, const char *query,
		   const char *body, bool shop_level, int64_t now, cJSON **out, outcome *oc,
		   pb_errbuf *eb)
{
	char sign[PB_SHA256_HEX_LEN + 1];
	const char *secrets[5];
	const char *e, *msg;
	pb_buf base, url, fixed;
	pb_http_req r;
	cJSON *j = NULL;
	bool refreshed = false;
	pb_err err;

	sign[0] = '\0';
	oc->retryable = false;
	oc->retry_after = -1;
	pb_buf_init(&base, 64 * 1024);
	pb_buf_init(&url, 64 * 1024);
	pb_buf_init(&fixed, PB_HTTP_DEFAULT_MAX_BODY * 2);
	memset(&r, 0, sizeof r);
again:
	if (shop_level && (!sh->access_token || now >= sh->expires_at)) {
		if ((err = refresh(sh, now, oc, eb)))
			goto out;
		refreshed = true;
	}
	pb_buf_reset(&base);
	pb_buf_reset(&url);
	pb_buf_reset(&fixed);
	pb_http_req_release(&r);
	memset(&r, 0, sizeof r);
	if (pb_shopee_sign_base(&base, sh->partner_id, path, now,
				shop_level ? sh->access_token : NULL, sh->shop_id) ||
	    pb_hmac_sha256_hex(sh->partner_key, strlen(sh->partner_key), base.data, base.len, sign))
		goto oom;
	err = pb_buf_printf(&url, "%s%s?partner_id=%lld&timestamp=%" PRId64, sh->url, path,
			    sh->partner_id, now);
	if (!err && shop_level)
		err = pb_buf_puts(&url, "&access_token=");
	if (!err && shop_level)
		err = put_escaped(&url, sh->access_token);
	if (!err && shop_level)
		err = pb_buf_printf(&url, "&shop_id=%lld", sh->shop_id);
	if (!err)
		err = pb_buf_printf(&url, "&sign=%s%s%s", sign, query && *query ? "&" : "",
				    query ? query : "");
	if (err)
		goto oom;
	secrets[0] = sh->partner_key;
	secrets[1] = sh->refresh_token;
	secrets[2] = sign;
	secrets[3] = shop_level ? sh->access_token : NULL;
	secrets[4] = NULL;
	r.method = method;
	r.url = url.data;
	r.secrets = secrets;
	if (body) {
		static const char *const json_headers[] = {"Content-Type: application/json", NULL};
		r.headers = json_headers;
		r.body = body;
		r.body_len = strlen(body);
	}
	if ((err = pb_http_perform(sh->http, &r, 1)) || (err = r.err)) {
		oc->retryable = err == PB_ERATELIMIT || err == PB_EUPSTREAM || err == PB_ETIMEOUT ||
				err == PB_EHTTP;
		oc->retry_after = r.retry_after;
		pb_errf(eb, err, "shopee: %s %s: %s", method, path, pb_errmsg(&r.eb, err));
		goto out;
	}
	if (pb_shopee_quote_ids(pb_buf_str(&r.resp), r.resp.len, id_keys, &fixed))
		goto oom;
	j = cJSON_ParseWithLength(fixed.data, fixed.len);
	if (!cJSON_IsObject(j)) {
		err = pb_errf(eb, PB_EPARSE, "shopee: %s %s: HTTP %ld with a body that is not JSON",
			      method, path, r.status);
		oc->retryable = r.status == 200; /* a proxy's page or a cut-off answer */
		goto out;
	}
	e = str_of(j, "error");
	msg = str_of(j, "message");
	if (e && *e) {
		if (shop_level && error_is(e, auth_errors) && !refreshed) {
			/* The token may have been revoked or expired early. */
			cJSON_Delete(j);
			j = NULL;
			free(sh->access_token);
			sh->access_token = NULL;
			goto again;
		}
		if (is_rate_limit(e)) {
			err = PB_ERATELIMIT;
			oc->retryable = true;
			oc->retry_after = r.retry_after;
		} else if (error_is(e, busy_errors)) {
			err = PB_EUPSTREAM;
			oc->retryable = true;
		} else if (error_is(e, auth_errors) || !strcmp(e, "error_sign") ||
			   !strcmp(e, "error_permission")) {
			err = PB_EAUTH;
		} else if (error_is(e, notfound_errors)) {
			err = PB_ENOTFOUND;
		} else {
			err = PB_EUPSTREAM;
		}
		pb_errf(eb, err, "shopee: %s %s: %.60s: %.200s", method, path, e, msg ? msg : "");
		goto out;
	}
	if (r.status < 200 || r.status >= 300) {
		err = pb_errf(eb, r.status == 401 || r.status == 403 ? PB_EAUTH : PB_EUPSTREAM,
			      "shopee: %s %s: HTTP %ld", method, path, r.status);
		goto out;
	}
	*out = j;
	j = NULL;
	err = PB_OK;
	goto out;
oom:
	err = pb_errf(eb, PB_ENOMEM, "shopee: out of memory");
out:
	if (err)
		redact(sh, eb, sign);
	cJSON_Delete(j);
	pb_http_req_release(&r);
	pb_buf_release(&base);
	pb_buf_release(&url);
	pb_buf_release(&fixed);
	return err;
}

static pb_err refresh(shopee *sh, int64_t now, outcome *oc, pb_errbuf *eb)
{
	static const char path[] = "/api/v2/auth/access_token/get";
	cJSON *req = cJSON_CreateObject(), *ans = NULL;
	const cJSON *src;
	const char *at, *rt;
	char *body = NULL, *nat = NULL, *nrt = NULL;
	long long ttl;
	pb_err err;

	if (!req || !cJSON_AddStringToObject(req, "refresh_token", sh->refresh_token) ||
	    !cJSON_AddNumberToObject(req, "partner_id", (double)sh->partner_id) ||
	    !cJSON_AddNumberToObject(req, "shop_id", (double)sh->shop_id) ||
	    !(body = cJSON_PrintUnformatted(req))) {
		err = pb_errf(eb, PB_ENOMEM, "shopee: out of memory");
		goto out;
	}
	/* A refused refresh token (PB_EAUTH) needs a person: call() does
	 * not mark it retryable. */
	if ((err = call(sh, "POST", path, NULL, body, false, now, &ans, oc, eb)))
		goto out;
	/* The token fields are at the top level; accept them under
	 * "response" too, as every other v2 answer has them. */
	src = ans;
	if (!str_of(src, "access_token") && cJSON_IsObject(cJSON_GetObjectItem(ans, "response")))
		src = cJSON_GetObjectItem(ans, "response");
	at = str_of(src, "access_token");
	rt = str_of(src, "refresh_token");
	ttl = int_of(src, "expire_in", 4 * 3600);
	if (!at || !*at || !rt || !*rt) {
		err = pb_errf(eb, PB_EUPSTREAM, "shopee: POST %s: the answer has no access_token "
						"or refresh_token", path);
		goto out;
	}
	if (!(nat = strdup(at)) || !(nrt = strdup(rt))) {
		err = pb_errf(eb, PB_ENOMEM, "shopee: out of memory");
		goto out;
	}
	free(sh->access_token);
	free(sh->refresh_token);
	sh->access_token = nat;
	sh->refresh_token = nrt;
	nat = nrt = NULL;
	if (ttl < 0)
		ttl = 0;
	/* Short-lived tokens (tests) are replaced halfway through. */
	sh->expires_at = now + ttl - (ttl > 2 * REFRESH_MARGIN ? REFRESH_MARGIN : ttl / 2);
out:
	free(nat);
	free(nrt);
	free(body);
	cJSON_Delete(req);
	cJSON_Delete(ans);
	return err;
}

/* The object holding an answer's data: "response", or the answer. */
static const cJSON *response_of(const cJSON *j)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "response");

	return cJSON_IsObject(r) ? r : j;
}

/* --- conversations ---------------------------------------------------- */

static conv *conv_find(shopee *sh, const char *id)
{
	size_t i;

	for (i = 0; i < sh->n_convs; i++)
		if (!strcmp(sh->convs[i].id, id))
			return &sh->convs[i];
	return NULL;
}

static conv *conv_add(shopee *sh, const char *id)
{
	conv *c;

	if (sh->n_convs == sh->cap_convs) {
		size_t cap = sh->cap_convs ? sh->cap_convs * 2 : 64;
		if (sh->n_convs >= MAX_CONVS)
			return NULL;
		c = realloc(sh->convs, cap * sizeof *c);
		if (!c)
			return NULL;
		sh->convs = c;
		sh->cap_convs = cap;
	}
	c = &sh->convs[sh->n_convs++];
	memset(c, 0, sizeof *c);
	snprintf(c->id, sizeof c->id, "%s", id);
	return c;
}

static bool from_shop(const shopee *sh, const cJSON *m)
{
	return int_of(m, "from_shop_id", 0) == sh->shop_id || int_of(m, "from_id", 0) == sh->shop_id;
}

/* The messages of one conversation, oldest first. */
typedef struct msgs {
	cJSON *pages[MSG_MAX_PAGES];
	const cJSON **v;
	size_t n;
} msgs;

static void msgs_release(msgs *m)
{
	size_t i;

	for (i = 0; i < MSG_MAX_PAGES; i++)
		cJSON_Delete(m->pages[i]);
	free(m->v);
	memset(m, 0, sizeof *m);
}

static int msg_cmp(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	long long tx = int_of(x, "created_timestamp", 0), ty = int_of(y, "created_timestamp", 0);
	char ix[SHOPEE_ID_MAX], iy[SHOPEE_ID_MAX];

	if (tx != ty)
		return tx < ty ? -1 : 1;
	id_of(x, "message_id", ix, sizeof ix);
	id_of(y, "message_id", iy, sizeof iy);
	return numcmp(ix, iy);
}

/* Reads a conversation's latest messages, going further back while the
 * oldest read is newer than since (seconds; -1: until a shop message). */
static pb_err fetch_messages(shopee *sh, const char *conv_id, int64_t since, int64_t now, msgs *m,
			     outcome *oc, pb_errbuf *eb)
{
	static const char path[] = "/api/v2/sellerchat/get_message";
	char offset[64] = "";
	pb_buf q;
	pb_err err = PB_OK;
	size_t p, cap = 0;

	memset(m, 0, sizeof *m);
	pb_buf_init(&q, 4096);
	for (p = 0; p < MSG_MAX_PAGES; p++) {
		const cJSON *list, *it, *pr;
		long long oldest = INT64_MAX;
		bool shop_seen = false;

		pb_buf_reset(&q);
		if (pb_buf_puts(&q, "conversation_id=") || put_escaped(&q, conv_id) ||
		    pb_buf_printf(&q, "&page_size=%d", MSG_PAGE_SIZE) ||
		    (*offset && (pb_buf_puts(&q, "&offset=") || put_escaped(&q, offset)))) {
			err = pb_errf(eb, PB_ENOMEM, "shopee: out of memory");
			goto out;
		}
		if ((err = call(sh, "GET", path, q.data, NULL, true, now, &m->pages[p], oc, eb)))
			goto out;
		list = cJSON_GetObjectItemCaseSensitive(response_of(m->pages[p]), "messages");
		cJSON_ArrayForEach(it, list)
		{
			if (!cJSON_IsObject(it))
				continue;
			if (m->n == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				const cJSON **nv = realloc(m->v, ncap * sizeof *nv);
				if (!nv) {
					err = pb_errf(eb, PB_ENOMEM, "shopee: out of memory");
					goto out;
				}
				m->v = nv;
				cap = ncap;
			}
			m->v[m->n++] = it;
			if (int_of(it, "created_timestamp", 0) < oldest)
				oldest = int_of(it, "created_timestamp", 0);
			if (from_shop(sh, it))
				shop_seen = true;
		}
		pr = cJSON_GetObjectItemCaseSensitive(response_of(m->pages[p]), "page_result");
		if (!id_of(pr, "next_offset", offset, sizeof offset) || !cJSON_GetArraySize(list))
			break;
		if (since >= 0 ? oldest <= since : shop_seen)
			break;
	}
	if (m->n)
		qsort(m->v, m->n, sizeof *m->v, msg_cmp);
out:
	pb_buf_release(&q);
	if (err)
		msgs_release(m);
	return err;
}

/* Adds one "message" event for m. */
static pb_err emit(shopee *sh, const conv *c, const cJSON *m, const char *text, pb_chan_events *out)
{
	char id[SHOPEE_ID_MAX], ext[SHOPEE_ID_MAX + 8], when[32];
	cJSON *e = cJSON_CreateObject(), *o;
	char *s = NULL;
	pb_when w;
	pb_err err = PB_ENOMEM;

	id_of(m, "message_id", id, sizeof id);
	/* Out of range (a corrupt answer) reads as absent, never as a
	 * time pb_time_format cannot hold. */
	w.t = time_of(m, "created_timestamp");
	w.off = 0;
	pb_time_format(w, when, sizeof when);
	snprintf(ext, sizeof ext, "msg:%s", id);
	if (!e || !cJSON_AddStringToObject(e, "kind", "message") ||
	    !cJSON_AddStringToObject(e, "channel", sh->base.name) ||
	    !cJSON_AddStringToObject(e, "message_id", id) ||
	    !cJSON_AddStringToObject(e, "conversation", c->id) ||
	    !cJSON_AddStringToObject(e, "buyer", c->buyer) ||
	    !cJSON_AddStringToObject(e, "message", text) || !cJSON_AddStringToObject(e, "now", when))
		goto out;
	if (*c->order_sn) {
		o = cJSON_AddObjectToObject(e, "order");
		if (!o || !cJSON_AddStringToObject(o, "id", c->order_sn))
			goto out;
	}
	if (!(s = cJSON_PrintUnformatted(e)))
		goto out;
	err = pb_chan_events_add(out, ext, s);
out:
	free(s);
	cJSON_Delete(e);
	return err;
}

/* Reads one conversation's new messages into events. tail: report the
 * buyer's messages after the shop's last one (the first poll). */
static pb_err read_conversation(shopee *sh, conv *c, bool tail, int64_t now, pb_chan_events *out,
				outcome *oc, pb_errbuf *eb)
{
	msgs m;
	size_t i, start = 0;
	int64_t newest = c->seen_at;
	pb_err err;

	if ((err = fetch_messages(sh, c->id, tail ? -1 : c->seen_at, now, &m, oc, eb)))
		return err;
	for (i = 0; i < m.n; i++) {
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(m.v[i], "content");
		char sn[SHOPEE_ID_MAX];
		/* An order card, or any message naming an order, tells us
		 * what the buyer is talking about. */
		if (id_of(content, "order_sn", sn, sizeof sn) || id_of(m.v[i], "order_sn", sn, sizeof sn))
			snprintf(c->order_sn, sizeof c->order_sn, "%s", sn);
		if (tail && from_shop(sh, m.v[i]))
			start = i + 1;
	}
	for (i = start; i < m.n; i++) {
		const cJSON *msg = m.v[i];
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
		const char *type = str_of(msg, "message_type"), *text = str_of(content, "text");
		int64_t at = int_of(msg, "created_timestamp", 0);
		char id[SHOPEE_ID_MAX];
		unsigned k;
		bool seen = false;

		if (!id_of(msg, "message_id", id, sizeof id))
			continue;
		if (!tail) {
			if (at < c->seen_at || (at == c->seen_at && c->whole_second))
				continue;
			for (k = 0; at == c->seen_at && k < c->n_seen; k++)
				seen = seen || !strcmp(c->seen_ids[k], id);
			if (seen)
				continue;
		}
		if (at > newest) {
			newest = at;
			c->n_seen = 0;
			c->whole_second = false;
		}
		if (at == newest && c->n_seen < SEEN_IDS)
			snprintf(c->seen_ids[c->n_seen++], SHOPEE_ID_MAX, "%s", id);
		if (from_shop(sh, msg) || !type || strcmp(type, "text") || !text || !*text)
			continue;
		if ((err = emit(sh, c, msg, text, out)))
			break;
	}
	c->seen_at = newest;
	msgs_release(&m);
	if (err == PB_ENOMEM)
		pb_errf(eb, err, "shopee: out of memory");
	return err;
}

static pb_err shopee_poll(pb_channel *ch, int64_t now, pb_chan_events *out, pb_errbuf *eb)
{
	static const char path[] = "/api/v2/sellerchat/get_conversation_list";
	shopee *sh = (shopee *)ch;
	conv *saved = NULL, *c;
	size_t saved_n = sh->n_convs, added_from = out->n, p, i;
	char cursor[32] = "", newest[32] = "";
	cJSON *page = NULL;
	outcome oc;
	pb_buf q;
	pb_err err = PB_OK;

	pb_buf_init(&q, 4096);
	/* On failure the conversations are put back as they were, so what
	 * was not reported is reported next time. */
	if (sh->n_convs && !(saved = malloc(sh->n_convs * sizeof *saved))) {
		err = pb_errf(eb, PB_ENOMEM, "shopee: out of memory");
		goto out;
	}
	if (saved)
		memcpy(saved, sh->convs, sh->n_convs * sizeof *saved);
	for (p = 0; p < CONV_MAX_PAGES; p++) {
		const cJSON *r, *list, *it, *pr;
		char oldest[32] = "";

		pb_buf_reset(&q);
		if (pb_buf_printf(&q, "direction=older&type=all&page_size=%d", CONV_PAGE_SIZE) ||
		    (*cursor && pb_buf_printf(&q, "&next_timestamp_nano=%s", cursor))) {
			err = pb_errf(eb, PB_ENOMEM, "shopee: out of memory");
			goto out;
		}
		cJSON_Delete(page);
		page = NULL;
		if ((err = call(sh, "GET", path, q.data, NULL, true, now, &page, &oc, eb)))
			goto out;
		r = response_of(page);
		list = cJSON_GetObjectItemCaseSensitive(r, "conversations");
		cJSON_ArrayForEach(it, list)
		{
			char id[SHOPEE_ID_MAX], last[32];
			bool fresh;

			if (!id_of(it, "conversation_id", id, sizeof id))
				continue;
			if (!id_of(it, "last_message_timestamp", last, sizeof last))
				snprintf(last, sizeof last, "0");
			if (!*newest || numcmp(last, newest) > 0)
				snprintf(newest, sizeof newest, "%s", last);
			if (!*oldest || numcmp(last, oldest) < 0)
				snprintf(oldest, sizeof oldest, "%s", last);
			c = conv_find(sh, id);
			fresh = !c || !*c->last_ns;
			if (!c && !(c = conv_add(sh, id))) {
				err = pb_errf(eb, PB_ENOMEM, "shopee: too many conversations");
				goto out;
			}
			id_of(it, "to_id", c->buyer, sizeof c->buyer);
			if (!fresh && numcmp(last, c->last_ns) <= 0)
				continue;
			if (fresh && !sh->polled && int_of(it, "unread_count", 0) <= 0) {
				/* Old news at start-up: remember where it ends. */
				c->seen_at = strtoll(last, NULL, 10) / 1000000000LL;
				c->whole_second = true;
				snprintf(c->last_ns, sizeof c->last_ns, "%s", last);
				continue;
			}
			if ((err = read_conversation(sh, c, fresh && !sh->polled, now, out, &oc, eb)))
				goto out;
			snprintf(c->last_ns, sizeof c->last_ns, "%s", last);
		}
		pr = cJSON_GetObjectItemCaseSensitive(r, "page_result");
		if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pr, "more")) ||
		    !id_of(cJSON_GetObjectItemCaseSensitive(pr, "next_cursor"), "next_message_time_nano",
			   cursor, sizeof cursor) ||
		    !cJSON_GetArraySize(list))
			break;
		/* Past what the last poll saw, nothing can have changed. */
		if (sh->polled && *oldest && *sh->mark && numcmp(oldest, sh->mark) <= 0)
			break;
	}
	sh->polled = true;
	if (*newest && (!*sh->mark || numcmp(newest, sh->mark) > 0))
		snprintf(sh->mark, sizeof sh->mark, "%s", newest);
out:
	if (err) {
		if (saved)
			memcpy(sh->convs, saved, saved_n * sizeof *saved);
		sh->n_convs = saved_n;
		for (i = added_from; i < out->n; i++) {
			free(out->v[i].external_id);
			free(out->v[i].json);
		}
		out->n = added_from;
	}
	free(saved);
	cJSON_Delete(page);
	pb_buf_release(&q);
	return err;
}

/* --- actions ---------------------------------------------------------- */

/* The buyer of a conversation: from the last poll, else from Shopee. */
static pb_err buyer_of(shopee *sh, const char *conv_id, int64_t now, char *buyer, size_t n,
		       outcome *oc, pb_errbuf *eb)
{
	static const char path[] = "/api/v2/sellerchat/get_one_conversation";
	conv *c = conv_find(sh, conv_id);
	cJSON *ans = NULL;
	pb_buf q;
	pb_err err;

	if (c && *c->buyer) {
		snprintf(buyer, n, "%s", c->buyer);
		return PB_OK;
	}
	pb_buf_init(&q, 4096);
	if (pb_buf_puts(&q, "conversation_id=") || put_escaped(&q, conv_id)) {
		err = pb_errf(eb, PB_ENOMEM, "shopee: out of memory");
		goto out;
	}
	if ((err = call(sh, "GET", path, q.data, NULL, true, now, &ans, oc, eb)))
		goto out;
	if (!id_of(response_of(ans), "to_id", buyer, n)) {
		err = pb_errf(eb, PB_EUPSTREAM, "shopee: GET %s: conversation %s has no buyer (to_id)",
			      path, conv_id);
		goto out;
	}
	/* Remember it for next time, without disturbing what polling reads. */
	if (!c && (c = conv_add(sh, conv_id))) {
		snprintf(c->buyer, sizeof c->buyer, "%s", buyer);
		/* Should polling find it changed later, its history before
		 * now is not news. */
		c->seen_at = now;
	}
out:
	cJSON_Delete(ans);
	pb_buf_release(&q);
	return err;
}

/* Whether the shop already sent text in the conversation at or after
 * since; *found then holds the message's id. */
static pb_err already_sent(shopee *sh, const char *conv_id, const char *text, int64_t since,
			   int64_t now, bool *found, char *id, size_t n, outcome *oc, pb_errbuf *eb)
{
	msgs m;
	size_t i;
	pb_err err;

	*found = false;
	if ((err = fetch_messages(sh, conv_id, since, now, &m, oc, eb)))
		return err;
	for (i = m.n; i-- > 0;) {
		const cJSON *msg = m.v[i];
		const char *t = str_of(cJSON_GetObjectItemCaseSensitive(msg, "content"), "text");
		const char *type = str_of(msg, "message_type");
		if (from_shop(sh, msg) && type && !strcmp(type, "text") && t && !strcmp(t, text) &&
		    int_of(msg, "created_timestamp", 0) >= since) {
			*found = true;
			id_of(msg, "message_id", id, n);
			break;
		}
	}
	msgs_release(&m);
	return PB_OK;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!is_digit(*s))
			return false;
	return true;
}

static pb_err send_reply(shopee *sh, const pb_chan_action *a, int64_t now, pb_chan_result *res,
			 outcome *oc, pb_errbuf *eb)
{
	static const char path[] = "/api/v2/sellerchat/send_message";
	char buyer[SHOPEE_ID_MAX], id[SHOPEE_ID_MAX] = "";
	cJSON *req = NULL, *ans = NULL, *content;
	char *body = NULL;
	bool found;
	pb_err err;

	if (!a->conversation || !*a->conversation || !a->text || !*a->text)
		return pb_errf(eb, PB_EINVAL, "shopee: send_reply needs a conversation and text");
	if (a->attempt > 0) {
		/* An earlier try may have arrived although we never heard back. */
		if ((err = already_sent(sh, a->conversation, a->text, a->queued_at, now, &found, id,
					sizeof id, oc, eb)))
			return err;
		if (found) {
			res->already = true;
			snprintf(res->external_id, sizeof res->external_id, "%s", id);
			return PB_OK;
		}
	}
	if ((err = buyer_of(sh, a->conversation, now, buyer, sizeof buyer, oc, eb)))
		return err;
	req = cJSON_CreateObject();
	/* Shopee's to_id is a number; keep all its digits. */
	if (!req ||
	    !cJSON_AddItemToObject(req, "to_id", all_digits(buyer) ? cJSON_CreateRaw(buyer)
								   : cJSON_CreateString(buyer)) ||
	    !cJSON_AddStringToObject(req, "message_type", "text") ||
	    !(content = cJSON_AddObjectToObject(req, "content")) ||
	    !cJSON_AddStringToObject(content, "text", a->text) ||
	    !(body = cJSON_PrintUnformatted(req))) {
		err = pb_errf(eb, PB_ENOMEM, "shopee: out of memory");
		goto out;
	}
	if ((err = call(sh, "POST", path, NULL, body, true, now, &ans, oc, eb)))
		goto out;
	id_of(response_of(ans), "message_id", res->external_id, sizeof res->external_id);
out:
	free(body);
	cJSON_Delete(req);
	cJSON_Delete(ans);
	return err;
}

static pb_err shopee_perform(pb_channel *ch, const pb_chan_action *a, int64_t now,
			     pb_chan_result *res, pb_errbuf *eb)
{
	shopee *sh = (shopee *)ch;
	outcome oc = {false, -1};
	pb_err err;

	switch (a->kind) {
	case PB_CHAN_SEND_REPLY:
		err = send_reply(sh, a, now, res, &oc, eb);
		break;
	case PB_CHAN_POST_DRAFT:
	case PB_CHAN_HAND_OFF:
	case PB_CHAN_NOTIFY:
		/* Shopee chat has nowhere private to put these: they wait in
		 * parcelbot's console (see channel_shopee.h). */
		return PB_OK;
	default:
		return pb_errf(eb, PB_EINVAL, "shopee: unknown action kind %d", (int)a->kind);
	}
	if (err) {
		res->retryable = oc.retryable;
		res->retry_after = oc.retry_after;
	}
	return err;
}

/* --- orders and tracking ---------------------------------------------- */

/* Fetches one order's detail; *ans owns the answer, *order points into it. */
/* The order order_sn in a get_order_detail answer, or NULL. */
static const cJSON *find_order(const cJSON *ans, const char *order_sn)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(response_of(ans), "order_list"))
	{
		const char *sn = str_of(it, "order_sn");
		if (sn && !strcmp(sn, order_sn))
			return it;
	}
	return NULL;
}

static pb_err order_detail(shopee *sh, const char *order_sn, int64_t now, cJSON **ans,
			   const cJSON **order, pb_errbuf *eb)
{
	static const char path[] = "/api/v2/order/get_order_detail";
	outcome oc;
	pb_buf q;
	pb_err err;

	*ans = NULL;
	if (!order_sn || !*order_sn)
		return pb_errf(eb, PB_EINVAL, "shopee: an order_sn is required");
	pb_buf_init(&q, 4096);
	if (pb_buf_puts(&q, "order_sn_list=") || put_escaped(&q, order_sn) ||
	    pb_buf_puts(&q, "&response_optional_fields=") ||
	    put_escaped(&q, "item_list,total_amount,currency,pay_time,ship_by_date,"
			    "shipping_carrier,package_list,pickup_done_time")) {
		err = pb_errf(eb, PB_ENOMEM, "shopee: out of memory");
		goto out;
	}
	if ((err = call(sh, "GET", path, q.data, NULL, true, now, ans, &oc, eb)))
		goto out;
	if ((*order = find_order(*ans, order_sn)))
		goto out;
	err = pb_errf(eb, PB_ENOTFOUND, "shopee: order %.60s not found", order_sn);
out:
	if (err) {
		cJSON_Delete(*ans);
		*ans = NULL;
	}
	pb_buf_release(&q);
	return err;
}

pb_err pb_shopee_read_order(const cJSON *ans, const char *order_sn, pb_order *out,
			   pb_errbuf *eb)
{
	const cJSON *o, *items, *it, *amt;
	const char *cur;
	pb_order r;
	size_t n;
	long long t;
	pb_err err;

	pb_order_init(&r);
	if (!(o = find_order(ans, order_sn)))
		return pb_errf(eb, PB_ENOTFOUND, "shopee: order %.60s not found", order_sn);
	err = PB_ENOMEM;
	if (!(r.id = strdup(order_sn)))
		goto fail;
	amt = cJSON_GetObjectItemCaseSensitive(o, "total_amount");
	if (cJSON_IsNumber(amt))
		r.amount = amt->valuedouble;
	else if (cJSON_IsString(amt))
		r.amount = strtod(amt->valuestring, NULL);
	cur = str_of(o, "currency");
	if (cur && strlen(cur) < sizeof r.currency)
		snprintf(r.currency, sizeof r.currency, "%s", cur);
	if ((t = time_of(o, "pay_time")) > 0) {
		r.has_paid_at = true;
		r.paid_at.t = t;
	}
	if ((t = time_of(o, "pickup_done_time")) > 0) {
		r.has_shipped_at = true;
		r.shipped_at.t = t;
	}
	items = cJSON_GetObjectItemCaseSensitive(o, "item_list");
	n = (size_t)cJSON_GetArraySize(items);
	if (n && !(r.items = calloc(n, sizeof *r.items)))
		goto fail;
	cJSON_ArrayForEach(it, items)
	{
		const char *name = str_of(it, "item_name");
		long long q = int_of(it, "model_quantity_purchased", 1);
		if (!cJSON_IsObject(it))
			continue;
		if (!(r.items[r.n_items].name = strdup(name ? name : "")))
			goto fail;
		r.items[r.n_items++].qty = q > 0 && q < 1000000 ? (int)q : 1;
	}
	*out = r;
	return PB_OK;
fail:
	pb_order_release(&r);
	return pb_errf(eb, err, "shopee: out of memory");
}

static pb_err shopee_order(pb_channel *ch, const char *order_id, int64_t now, pb_order *out,
			   pb_errbuf *eb)
{
	shopee *sh = (shopee *)ch;
	const cJSON *o = NULL;
	cJSON *ans = NULL;
	pb_err err;

	if ((err = order_detail(sh, order_id, now, &ans, &o, eb)))
		return err;
	err = pb_shopee_read_order(ans, order_id, out, eb);
	cJSON_Delete(ans);
	return err;
}

pb_err pb_shopee_read_tracking(const cJSON *number_ans, const cJSON *info_ans, int64_t now,
			      pb_trace *out, pb_errbuf *eb)
{
	const char *num = str_of(response_of(number_ans), "tracking_number");
	const cJSON *ev;
	pb_trace t;

	pb_trace_init(&t);
	if (!(t.provider = strdup("shopee")) || !(t.number = strdup(num ? num : "")) ||
	    !(t.carrier = strdup("")))
		goto oom;
	t.fetched_at = now;
	cJSON_ArrayForEach(ev, cJSON_GetObjectItemCaseSensitive(response_of(info_ans),
								 "tracking_info"))
	{
		const char *code = str_of(ev, "logistics_status"), *desc = str_of(ev, "description");
		pb_when w = {time_of(ev, "update_time"), 0};
		pb_pstate st;
		pb_exkind ex;

		if (!cJSON_IsObject(ev))
			continue;
		pb_shopee_map_status(code, &st, &ex);
		if (pb_trace_add(&t, w, "", desc ? desc : "", code ? code : "", st, ex))
			goto oom;
	}
	pb_trace_sort(&t);
	t.found = *t.number || t.n_events > 0;
	*out = t;
	return PB_OK;
oom:
	pb_trace_release(&t);
	return pb_errf(eb, PB_ENOMEM, "shopee: out of memory");
}

pb_err pb_shopee_tracking(pb_channel *ch, const char *order_sn, int64_t now, pb_trace *out,
			  char *carrier, size_t carrier_n, char *number, size_t number_n,
			  pb_errbuf *eb)
{
	shopee *sh = (shopee *)ch;
	const cJSON *o = NULL, *pk;
	cJSON *detail = NULL, *tn = NULL, *ti = NULL;
	const char *car;
	pb_trace t;
	outcome oc;
	pb_buf q;
	pb_err err;

	pb_trace_init(&t);
	pb_buf_init(&q, 4096);
	if (ch->ops != &shopee_ops) {
		err = pb_errf(eb, PB_EINVAL, "channel '%s' is not Shopee", ch->name);
		goto out;
	}
	if ((err = order_detail(sh, order_sn, now, &detail, &o, eb)))
		goto out;
	car = str_of(o, "shipping_carrier");
	pk = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "package_list"), 0);
	if ((!car || !*car) && pk)
		car = str_of(pk, "shipping_carrier");
	if (pb_buf_puts(&q, "order_sn=") || put_escaped(&q, order_sn)) {
		err = pb_errf(eb, PB_ENOMEM, "shopee: out of memory");
		goto out;
	}
	if ((err = call(sh, "GET", "/api/v2/logistics/get_tracking_number", q.data, NULL, true, now,
			&tn, &oc, eb)) ||
	    (err = call(sh, "GET", "/api/v2/logistics/get_tracking_info", q.data, NULL, true, now,
			&ti, &oc, eb)))
		goto out;
	if ((err = pb_shopee_read_tracking(tn, ti, now, &t, eb)))
		goto out;
	snprintf(carrier, carrier_n, "%s", car ? car : "");
	snprintf(number, number_n, "%s", t.number);
	*out = t;
	pb_trace_init(&t);
	err = PB_OK;
out:
	pb_trace_release(&t);
	cJSON_Delete(detail);
	cJSON_Delete(tn);
	cJSON_Delete(ti);
	pb_buf_release(&q);
	return err;
}

/* --- lifecycle -------------------------------------------------------- */

static void shopee_free(pb_channel *ch)
{
	shopee *sh = (shopee *)ch;

	free(sh->url);
	free(sh->partner_key);
	free(sh->refresh_token);
	free(sh->access_token);
	free(sh->convs);
	free(sh);
}

static const pb_channel_ops shopee_ops = {
	.name = "shopee",
	.webhook = NULL,
	.poll = shopee_poll,
	.perform = shopee_perform,
	.order = shopee_order,
	.free = shopee_free,
};

const char *pb_shopee_refresh_token(pb_channel *ch)
{
	if (!ch || ch->ops != &shopee_ops)
		return NULL;
	return ((shopee *)ch)->refresh_token;
}

pb_err pb_shopee_new(const pb_shopee_config *cfg, struct pb_http *http, pb_channel **out,
		     pb_errbuf *eb)
{
	shopee *sh;
	size_t n;

	if (!cfg->url || !*cfg->url)
		return pb_errf(eb, PB_EINVAL, "shopee: url is required");
	if (cfg->partner_id <= 0 || cfg->shop_id <= 0)
		return pb_errf(eb, PB_EINVAL, "shopee: partner_id and shop_id are required");
	if (!cfg->partner_key || !*cfg->partner_key)
		return pb_errf(eb, PB_EINVAL, "shopee: the partner key is required");
	if (!cfg->refresh_token || !*cfg->refresh_token)
		return pb_errf(eb, PB_EINVAL, "shopee: a refresh token is required");
	if (!http)
		return pb_errf(eb, PB_EINVAL, "shopee: an HTTP client is required");
	if (!(sh = calloc(1, sizeof *sh)))
		return pb_errf(eb, PB_ENOMEM, "shopee: out of memory");
	sh->base.ops = &shopee_ops;
	snprintf(sh->base.name, sizeof sh->base.name, "shopee");
	sh->http = http;
	sh->partner_id = cfg->partner_id;
	sh->shop_id = cfg->shop_id;
	sh->url = strdup(cfg->url);
	sh->partner_key = strdup(cfg->partner_key);
	sh->refresh_token = strdup(cfg->refresh_token);
	if (cfg->access_token && *cfg->access_token) {
		sh->access_token = strdup(cfg->access_token);
		/* Its age is unknown: use it until Shopee refuses it. */
		sh->expires_at = INT64_MAX;
		if (!sh->access_token)
			goto oom;
	}
	if (!sh->url || !sh->partner_key || !sh->refresh_token)
		goto oom;
	n = strlen(sh->url);
	while (n && sh->url[n - 1] == '/')
		sh->url[--n] = '\0';
	*out = &sh->base;
	return PB_OK;
oom:
	shopee_free(&sh->base);
	return pb_errf(eb, PB_ENOMEM, "shopee: out of memory");
}
