/*
 * The sandbox's tracking providers: Kuaidi100's real-time query and 17TRACK's
 * v2.2 register/gettrackinfo, with their checks (Kuaidi100's MD5 signature,
 * 17TRACK's token header, its 40-number limit and its registration state)
 * and their error shapes. Parcels come from the seed file, written as the
 * providers' own response bodies:
 *
 *   kuaidi100:            # one real-time query answer per parcel
 *     - com: zhongtong
 *       nu: "73100000000001"
 *       phone: "5678"     # sandbox only: the query must carry these digits
 *       state: "0"
 *       data: [{time: ..., context: ..., areaName: ..., status: ..., statusCode: ...}]
 *   17track:              # one accepted gettrackinfo item per parcel
 *     - number: "SPXMY00000000001"
 *       carrier: 100001
 *       track_info: {latest_status: {...}, tracking: {providers: [...]}}
 */
#include <cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/digest.h"
#include "sandbox_internal.h"

#define T17_MAX_NUMBERS 40
#define MAX_REGISTERED 100000

typedef struct sbx_track {
	char *customer, *key, *token;
	cJSON *k100; /* seed answers, an array */
	cJSON *t17;  /* seed items, an array */
	pthread_mutex_t lock;
	cJSON *registered; /* 17TRACK numbers registered so far: an object used as a set */
} sbx_track;

const char *const pb_sbx_track_keys[] = {"kuaidi100", "17track", NULL};

static void track_free(void *state)
{
	sbx_track *t = state;

	if (!t)
		return;
	free(t->customer);
	free(t->key);
	free(t->token);
	cJSON_Delete(t->k100);
	cJSON_Delete(t->t17);
	cJSON_Delete(t->registered);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static void track_reset(void *state)
{
	sbx_track *t = state;
	cJSON *fresh = cJSON_CreateObject();

	pthread_mutex_lock(&t->lock);
	if (fresh) {
		cJSON_Delete(t->registered);
		t->registered = fresh;
	}
	pthread_mutex_unlock(&t->lock);
}

/* --- Kuaidi100 ------------------------------------------------------ */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Finds name in an application/x-www-form-urlencoded body and decodes its
 * value into out. Returns false when absent or badly encoded. */
static bool form_get(const char *body, size_t len, const char *name, pb_buf *out)
{
	size_t nl = strlen(name), i = 0, j;
	int hi, lo;

	pb_buf_reset(out);
	while (i < len) {
		size_t end = i;
		while (end < len && body[end] != '&')
			end++;
		if (end - i > nl && !strncmp(body + i, name, nl) && body[i + nl] == '=') {
			for (j = i + nl + 1; j < end; j++) {
				char c = body[j];
				if (c == '+') {
					c = ' ';
				} else if (c == '%') {
					if (j + 2 >= end)
						return false;
					hi = hexval(body[j + 1]);
					lo = hexval(body[j + 2]);
					if (hi < 0 || lo < 0)
						return false;
					c = (char)(hi * 16 + lo);
					j += 2;
				}
				if (pb_buf_putc(out, c))
					return false;
			}
			if (!out->data)
				pb_buf_append(out, "", 0);
			return true;
		}
		i = end + 1;
	}
	return false;
}

static void k100_error(pb_sbx_resp *rs, const char *code, const char *message)
{
	cJSON *j = cJSON_CreateObject();

	if (j) {
		cJSON_AddBoolToObject(j, "result", false);
		cJSON_AddStringToObject(j, "returnCode", code);
		cJSON_AddStringToObject(j, "message", message);
	}
	pb_sbx_send_json(rs, 200, j);
	cJSON_Delete(j);
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void k100_query(void *state, const pb_sbx_req *rq, pb_sbx_resp *rs)
{
	sbx_track *t = state;
	pb_buf customer, sign, param, signed_text;
	cJSON *p = NULL, *ans = NULL, *e, *data;
	const char *com, *num, *phone, *want_phone, *order;
	char md5[PB_MD5_HEX_LEN + 1];
	size_t pl;

	pb_buf_init(&customer, 1024);
	pb_buf_init(&sign, 1024);
	pb_buf_init(&param, 64 * 1024);
	pb_buf_init(&signed_text, 70 * 1024);
	if (!form_get(rq->body, rq->body_len, "customer", &customer) ||
	    !form_get(rq->body, rq->body_len, "sign", &sign) ||
	    !form_get(rq->body, rq->body_len, "param", &param)) {
		k100_error(rs, "400", "数据不完整：需要 customer、sign 和 param");
		goto out;
	}
	/* sign = upper-case MD5 of param + key + customer. */
	if (pb_buf_append(&signed_text, param.data, param.len) ||
	    pb_buf_puts(&signed_text, t->key) || pb_buf_puts(&signed_text, t->customer) ||
	    pb_md5_hex(signed_text.data, signed_text.len, true, md5) ||
	    strcmp(pb_buf_str(&customer), t->customer) || strcmp(pb_buf_str(&sign), md5)) {
		k100_error(rs, "503", "验证签名失败");
		goto out;
	}
	p = cJSON_ParseWithLength(param.data, param.len);
	com = jstr(p, "com");
	num = jstr(p, "num");
	if (!cJSON_IsObject(p) || !com || !num || !*com || !*num) {
		k100_error(rs, "400", "参数错误：param 需要 com 和 num");
		goto out;
	}
	cJSON_ArrayForEach(e, t->k100)
	{
		const char *ec = jstr(e, "com"), *en = jstr(e, "nu");
		if (ec && en && !strcmp(ec, com) && !strcmp(en, num))
			break;
	}
	if (!e) {
		k100_error(rs, "500", "查询无结果，请隔段时间再查");
		goto out;
	}
	want_phone = jstr(e, "phone");
	phone = jstr(p, "phone");
	if (want_phone && *want_phone) {
		pl = phone ? strlen(phone) : 0;
		if (pl < 4 || strcmp(phone + pl - 4, want_phone)) {
			k100_error(rs, "400", "该快递公司需要收、寄件人的电话号码(后四位)");
			goto out;
		}
	}
	ans = cJSON_Duplicate(e, true);
	if (!ans) {
		k100_error(rs, "501", "服务器错误");
		goto out;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(ans, "phone");
	if (!cJSON_HasObjectItem(ans, "message"))
		cJSON_AddStringToObject(ans, "message", "ok");
	if (!cJSON_HasObjectItem(ans, "status"))
		cJSON_AddStringToObject(ans, "status", "200");
	if (!cJSON_HasObjectItem(ans, "condition"))
		cJSON_AddStringToObject(ans, "condition", "F00");
	if (!cJSON_HasObjectItem(ans, "ischeck"))
		cJSON_AddStringToObject(ans, "ischeck", "0");
	order = jstr(p, "order");
	data = cJSON_GetObjectItemCaseSensitive(ans, "data");
	if (order && !strcmp(order, "asc") && cJSON_IsArray(data)) {
		/* The seed is newest first, as Kuaidi100's default. */
		cJSON *rev = cJSON_CreateArray(), *it;
		while (rev && (it = cJSON_DetachItemFromArray(data, 0)))
			cJSON_InsertItemInArray(rev, 0, it);
		if (rev)
			cJSON_ReplaceItemInObjectCaseSensitive(ans, "data", rev);
	}
	pb_sbx_send_json(rs, 200, ans);
out:
	cJSON_Delete(p);
	cJSON_Delete(ans);
	pb_buf_release(&customer);
	pb_buf_release(&sign);
	pb_buf_release(&param);
	pb_buf_release(&signed_text);
}

/* --- 17TRACK -------------------------------------------------------- */

static void t17_request_error(pb_sbx_resp *rs, int http, int code, const char *message)
{
	cJSON *j = cJSON_CreateObject(), *d, *errs, *e;

	if (j) {
		cJSON_AddNumberToObject(j, "code", http == 200 ? code : http);
		d = cJSON_AddObjectToObject(j, "data");
		errs = d ? cJSON_AddArrayToObject(d, "errors") : NULL;
		e = cJSON_CreateObject();
		if (e) {
			cJSON_AddNumberToObject(e, "code", code);
			cJSON_AddStringToObject(e, "message", message);
			if (!errs || !cJSON_AddItemToArray(errs, e))
				cJSON_Delete(e);
		}
	}
	pb_sbx_send_json(rs, http, j);
	cJSON_Delete(j);
}

static cJSON *rejected(const char *number, int code, const char *msg)
{
	cJSON *r = cJSON_CreateObject(), *e;

	if (!r)
		return NULL;
	cJSON_AddStringToObject(r, "number", number);
	e = cJSON_AddObjectToObject(r, "error");
	if (e) {
		cJSON_AddNumberToObject(e, "code", code);
		cJSON_AddStringToObject(e, "message", msg);
	}
	return r;
}

static bool number_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 5 || n > 50)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= 'a' && s[i] <= 'z') || s[i] == '-'))
			return false;
	return true;
}

static cJSON *t17_seed(sbx_track *t, const char *number)
{
	cJSON *e;

	cJSON_ArrayForEach(e, t->t17)
	{
		const char *n = jstr(e, "number");
		if (n && !strcmp(n, number))
			return e;
	}
	return NULL;
}

/* Checks the token and the body shared by both 17TRACK routes; on failure
 * the error answer is already in rs and NULL is returned. */
static cJSON *t17_items(sbx_track *t, const pb_sbx_req *rq, pb_sbx_resp *rs)
{
	const char *tok = pb_sbx_header(rq, "17token");
	cJSON *arr;
	const cJSON *it;

	if (!tok || strcmp(tok, t->token)) {
		t17_request_error(rs, 401, -18010002, "The security key is invalid.");
		return NULL;
	}
	arr = cJSON_ParseWithLength(rq->body, rq->body_len);
	if (!cJSON_IsArray(arr)) {
		cJSON_Delete(arr);
		t17_request_error(rs, 200, -18010013, "Submitted data is invalid.");
		return NULL;
	}
	if (cJSON_GetArraySize(arr) > T17_MAX_NUMBERS) {
		cJSON_Delete(arr);
		t17_request_error(rs, 200, -18010014,
				  "The submitted tracking numbers exceed the 40 limit.");
		return NULL;
	}
	cJSON_ArrayForEach(it, arr)
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "number");
		if (!cJSON_IsObject(it) || !cJSON_IsString(n)) {
			cJSON_Delete(arr);
			t17_request_error(rs, 200, -18010010, "The data 'number' is required.");
			return NULL;
		}
	}
	return arr;
}

static cJSON *ok_body(cJSON **accepted, cJSON **rej)
{
	cJSON *j = cJSON_CreateObject(), *d;

	if (!j)
		return NULL;
	cJSON_AddNumberToObject(j, "code", 0);
	d = cJSON_AddObjectToObject(j, "data");
	*accepted = d ? cJSON_AddArrayToObject(d, "accepted") : NULL;
	*rej = d ? cJSON_AddArrayToObject(d, "rejected") : NULL;
	if (!*accepted || !*rej) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

static int carrier_of(const cJSON *item, const cJSON *seed)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(item, "carrier");

	if (cJSON_IsNumber(c) && c->valueint > 0)
		return c->valueint;
	c = cJSON_GetObjectItemCaseSensitive(seed, "carrier");
	return cJSON_IsNumber(c) ? c->valueint : 0;
}

static void t17_register(void *state, const pb_sbx_req *rq, pb_sbx_resp *rs)
{
	sbx_track *t = state;
	cJSON *items = t17_items(t, rq, rs), *out = NULL, *acc, *rej, *a;
	const cJSON *it;
	char msg[256];

	if (!items)
		return;
	out = ok_body(&acc, &rej);
	if (!out)
		goto out;
	pthread_mutex_lock(&t->lock);
	cJSON_ArrayForEach(it, items)
	{
		const char *num = cJSON_GetObjectItemCaseSensitive(it, "number")->valuestring;
		if (!number_ok(num)) {
			snprintf(msg, sizeof msg, "The format of '%.60s' is invalid.", num);
			cJSON_AddItemToArray(rej, rejected(num, -18010012, msg));
		} else if (cJSON_HasObjectItem(t->registered, num)) {
			snprintf(msg, sizeof msg,
				 "The tracking number '%s' has been registered, don't need to repeat "
				 "registration.",
				 num);
			cJSON_AddItemToArray(rej, rejected(num, -18019901, msg));
		} else if (cJSON_GetArraySize(t->registered) >= MAX_REGISTERED) {
			cJSON_AddItemToArray(rej, rejected(num, -18019908, "Your quotas have run out."));
		} else {
			cJSON_AddTrueToObject(t->registered, num);
			a = cJSON_CreateObject();
			if (a) {
				cJSON_AddNumberToObject(a, "origin", 1);
				cJSON_AddStringToObject(a, "number", num);
				cJSON_AddNumberToObject(a, "carrier",
							carrier_of(it, t17_seed(t, num)));
				cJSON_AddNullToObject(a, "email");
				cJSON_AddNullToObject(a, "tag");
				cJSON_AddNullToObject(a, "lang");
				cJSON_AddItemToArray(acc, a);
			}
		}
	}
	pthread_mutex_unlock(&t->lock);
	pb_sbx_send_json(rs, 200, out);
out:
	cJSON_Delete(out);
	cJSON_Delete(items);
}

/* The newest event over all providers, for latest_event. */
static const cJSON *newest_event(const cJSON *track_info)
{
	const cJSON *provs, *p, *ev, *best = NULL;
	const char *bt = NULL, *t;

	provs = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(track_info, "tracking"), "providers");
	cJSON_ArrayForEach(p, provs)
	{
		cJSON_ArrayForEach(ev, cJSON_GetObjectItemCaseSensitive(p, "events"))
		{
			t = jstr(ev, "time_utc");
			if (t && (!bt || strcmp(t, bt) > 0)) {
				bt = t;
				best = ev;
			}
		}
	}
	return best;
}

static cJSON *track_info_for(const cJSON *seed)
{
	const cJSON *ti = cJSON_GetObjectItemCaseSensitive(seed, "track_info"), *ne;
	cJSON *out, *ls, *tr;

	out = ti ? cJSON_Duplicate(ti, true) : cJSON_CreateObject();
	if (!out)
		return NULL;
	if (!cJSON_HasObjectItem(out, "latest_status")) {
		ls = cJSON_AddObjectToObject(out, "latest_status");
		if (ls) {
			cJSON_AddStringToObject(ls, "status", "NotFound");
			cJSON_AddStringToObject(ls, "sub_status", "NotFound_Other");
			cJSON_AddNullToObject(ls, "sub_status_descr");
		}
	}
	if (!cJSON_HasObjectItem(out, "latest_event")) {
		ne = newest_event(out);
		if (ne)
			cJSON_AddItemToObject(out, "latest_event", cJSON_Duplicate(ne, true));
		else
			cJSON_AddNullToObject(out, "latest_event");
	}
	if (!cJSON_HasObjectItem(out, "tracking")) {
		tr = cJSON_AddObjectToObject(out, "tracking");
		if (tr) {
			cJSON_AddNumberToObject(tr, "providers_hash", 0);
			cJSON_AddArrayToObject(tr, "providers");
		}
	}
	return out;
}

static void t17_gettrackinfo(void *state, const pb_sbx_req *rq, pb_sbx_resp *rs)
{
	sbx_track *t = state;
	cJSON *items = t17_items(t, rq, rs), *out = NULL, *acc, *rej, *a;
	const cJSON *it, *seed;
	bool reg;
	char msg[256];

	if (!items)
		return;
	out = ok_body(&acc, &rej);
	if (!out)
		goto out;
	cJSON_ArrayForEach(it, items)
	{
		const char *num = cJSON_GetObjectItemCaseSensitive(it, "number")->valuestring;
		pthread_mutex_lock(&t->lock);
		reg = cJSON_HasObjectItem(t->registered, num);
		pthread_mutex_unlock(&t->lock);
		if (!reg) {
			snprintf(msg, sizeof msg,
				 "The tracking number '%.60s' does not register, please register first.",
				 num);
			cJSON_AddItemToArray(rej, rejected(num, -18019902, msg));
			continue;
		}
		seed = t17_seed(t, num);
		a = cJSON_CreateObject();
		if (!a)
			continue;
		cJSON_AddStringToObject(a, "number", num);
		cJSON_AddNumberToObject(a, "carrier", carrier_of(it, seed));
		cJSON_AddNullToObject(a, "param");
		cJSON_AddStringToObject(a, "tag", "");
		cJSON_AddItemToObject(a, "track_info", track_info_for(seed));
		cJSON_AddItemToArray(acc, a);
	}
	pb_sbx_send_json(rs, 200, out);
out:
	cJSON_Delete(out);
	cJSON_Delete(items);
}

/* --- seed ----------------------------------------------------------- */

static const char *const k100_keys[] = {"com",  "nu",        "phone", "state",  "ischeck",
					"condition", "message", "status", "data", "routeInfo",
					"isLoop", NULL};
static const char *const k100_event_keys[] = {"time",      "ftime",      "context",    "location",
					      "areaCode",  "areaName",   "status",     "statusCode",
					      "areaCenter", "areaPinYin", "areaPhone", NULL};
static const char *const t17_keys[] = {"number", "carrier", "param", "tag", "track_info", NULL};
static const char *const t17_info_keys[] = {"shipping_info", "latest_status", "latest_event",
					    "time_metrics",  "milestone",     "misc_info",
					    "tracking",      NULL};

static void check_k100(pb_diag *dg, const pb_ydoc *doc, const pb_ynode *list)
{
	size_t i, k;

	if (!pb_y_expect(dg, doc, list, PB_Y_SEQ, "kuaidi100"))
		return;
	for (i = 0; i < list->n; i++) {
		const pb_ynode *e = list->items[i], *data;
		if (!pb_y_expect(dg, doc, e, PB_Y_MAP, "a kuaidi100 parcel"))
			continue;
		pb_y_keys(dg, doc, e, k100_keys);
		pb_y_str(dg, doc, e, "com", true);
		pb_y_str(dg, doc, e, "nu", true);
		pb_y_str(dg, doc, e, "phone", false);
		data = pb_ymap_get(e, "data");
		if (data && pb_y_expect(dg, doc, data, PB_Y_SEQ, "data"))
			for (k = 0; k < data->n; k++)
				if (pb_y_expect(dg, doc, data->items[k], PB_Y_MAP, "a data item")) {
					pb_y_keys(dg, doc, data->items[k], k100_event_keys);
					pb_y_str(dg, doc, data->items[k], "time", true);
				}
	}
}

static void check_t17(pb_diag *dg, const pb_ydoc *doc, const pb_ynode *list)
{
	size_t i;
	double d;

	if (!pb_y_expect(dg, doc, list, PB_Y_SEQ, "17track"))
		return;
	for (i = 0; i < list->n; i++) {
		const pb_ynode *e = list->items[i], *ti;
		if (!pb_y_expect(dg, doc, e, PB_Y_MAP, "a 17track parcel"))
			continue;
		pb_y_keys(dg, doc, e, t17_keys);
		pb_y_str(dg, doc, e, "number", true);
		pb_y_num(dg, doc, e, "carrier", false, &d);
		ti = pb_ymap_get(e, "track_info");
		if (ti && pb_y_expect(dg, doc, ti, PB_Y_MAP, "track_info"))
			pb_y_keys(dg, doc, ti, t17_info_keys);
	}
}

pb_err pb_sbx_track_init(pb_sandbox *sb, const pb_sandbox_opts *o, const pb_ydoc *seed,
			 pb_diag *dg)
{
	static const pb_sbx_route routes[] = {
		{"kuaidi100.query", "POST", "/poll/query.do", k100_query, NULL},
		{"17track.register", "POST", "/track/v2.2/register", t17_register, NULL},
		{"17track.gettrackinfo", "POST", "/track/v2.2/gettrackinfo", t17_gettrackinfo, NULL},
	};
	const pb_ynode *root = seed ? seed->root : NULL, *k, *s;
	pb_sbx_module m;
	pb_sbx_route r;
	sbx_track *t = calloc(1, sizeof *t);
	size_t i;

	if (!t)
		return PB_ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	t->customer = strdup(o->k100_customer ? o->k100_customer : PB_SANDBOX_K100_CUSTOMER);
	t->key = strdup(o->k100_key ? o->k100_key : PB_SANDBOX_K100_KEY);
	t->token = strdup(o->t17_token ? o->t17_token : PB_SANDBOX_17TRACK_TOKEN);
	k = pb_ymap_get(root, "kuaidi100");
	s = pb_ymap_get(root, "17track");
	if (k)
		check_k100(dg, seed, k);
	if (s)
		check_t17(dg, seed, s);
	t->k100 = k && k->kind == PB_Y_SEQ ? pb_sbx_yaml_to_json(k) : cJSON_CreateArray();
	t->t17 = s && s->kind == PB_Y_SEQ ? pb_sbx_yaml_to_json(s) : cJSON_CreateArray();
	t->registered = cJSON_CreateObject();
	m.state = t;
	m.reset = track_reset;
	m.free = track_free;
	if (!t->customer || !t->key || !t->token || !t->k100 || !t->t17 || !t->registered ||
	    pb_sbx_add_module(sb, &m)) {
		track_free(t);
		return PB_ENOMEM;
	}
	for (i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		r = routes[i];
		r.state = t;
		if (pb_sbx_add_route(sb, &r))
			return PB_ELIMIT;
	}
	return PB_OK;
}
