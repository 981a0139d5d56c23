/*
 * Order sources (see orders.h): the store, then the shop's HTTP order API,
 * and the enrichment that puts what they know into a buyer's event before
 * ingest. Everything here is best effort by design: a missing order makes
 * a vaguer draft, never a lost message.
 */
#include "parcelbot/orders.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parcelbot/classify.h"
#include "parcelbot/http.h"
#include "parcelbot/order.h"
#include "parcelbot/policy.h"
#include "parcelbot/utf8.h"

#define PLACEHOLDER "{order_id}"
#define MAX_ID PB_STORE_MAX_NAME

struct pb_orders {
	char *url;   /* the template, or NULL */
	char *token; /* or NULL */
	pb_http *http;
};

static void wipe_free(char *s)
{
	if (!s)
		return;
	/* volatile so the wipe is not optimised away before free. */
	for (volatile char *p = s; *p; p++)
		*p = '\0';
	free(s);
}

pb_err pb_orders_new(const pb_orders_config *cfg, pb_http *http, pb_orders **out, pb_errbuf *eb)
{
	pb_orders *o;
	const char *url = cfg ? cfg->url : NULL;
	const char *tok = cfg ? cfg->token : NULL;

	*out = NULL;
	if (url && !*url)
		url = NULL;
	if (tok && !*tok)
		tok = NULL;
	if (url) {
		if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
			return pb_errf(eb, PB_EINVAL, "orders.url must be an http:// or https:// URL");
		if (!strstr(url, PLACEHOLDER))
			return pb_errf(eb, PB_EINVAL, "orders.url must contain %s", PLACEHOLDER);
		if (!http)
			return pb_errf(eb, PB_EINVAL, "orders: an HTTP client is needed for orders.url");
	}
	if (tok && strpbrk(tok, "\r\n"))
		return pb_errf(eb, PB_EINVAL, "orders: the token must be one line");
	o = calloc(1, sizeof *o);
	if (!o)
		return pb_errf(eb, PB_ENOMEM, "out of memory");
	o->http = http;
	if ((url && !(o->url = strdup(url))) || (tok && !(o->token = strdup(tok)))) {
		pb_orders_free(o);
		return pb_errf(eb, PB_ENOMEM, "out of memory");
	}
	*out = o;
	return PB_OK;
}

void pb_orders_free(pb_orders *o)
{
	if (!o)
		return;
	free(o->url);
	wipe_free(o->token);
	free(o);
}

bool pb_orders_has_http(const pb_orders *o)
{
	return o && o->url;
}

static pb_err id_ok(const char *id, pb_errbuf *eb)
{
	size_t n = id ? strlen(id) : 0, i;

	if (!n)
		return pb_errf(eb, PB_EINVAL, "orders: an order id is needed");
	if (n > MAX_ID)
		return pb_errf(eb, PB_EINVAL, "orders: an order id is at most %d bytes", MAX_ID);
	if (!pb_utf8_valid(id, n))
		return pb_errf(eb, PB_EUTF8, "orders: the order id is not valid UTF-8");
	for (i = 0; i < n; i++)
		if ((unsigned char)id[i] < 0x20 || id[i] == 0x7f)
			return pb_errf(eb, PB_EINVAL, "orders: the order id holds control characters");
	return PB_OK;
}

pb_err pb_orders_url(const char *tmpl, const char *order_id, char **out, pb_errbuf *eb)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t pl = strlen(PLACEHOLDER), i;
	const char *p, *q;
	pb_buf b;
	pb_err err;

	*out = NULL;
	if ((err = id_ok(order_id, eb)))
		return err;
	pb_buf_init(&b, 64 * 1024);
	for (p = tmpl; (q = strstr(p, PLACEHOLDER)); p = q + pl) {
		err = pb_buf_append(&b, p, (size_t)(q - p));
		for (i = 0; !err && order_id[i]; i++) {
			unsigned char c = (unsigned char)order_id[i];
			if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			    c == '-' || c == '.' || c == '_' || c == '~')
				err = pb_buf_putc(&b, (char)c);
			else
				err = pb_buf_printf(&b, "%%%c%c", hex[c >> 4], hex[c & 15]);
		}
		if (err)
			break;
	}
	if (!err)
		err = pb_buf_puts(&b, p);
	if (err) {
		pb_buf_release(&b);
		return pb_errf(eb, err, "orders: cannot build the URL: %s", pb_strerror(err));
	}
	*out = pb_buf_detach(&b, NULL);
	return *out ? PB_OK : pb_errf(eb, PB_ENOMEM, "out of memory");
}

/* ---- reading an answer ---- */

const char *pb_orders_carrier_id(const pb_kb *kb, const char *name)
{
	size_t i, k;

	if (!kb || !name || !*name)
		return NULL;
	for (i = 0; i < kb->n_carriers; i++) {
		const pb_carrier *c = &kb->carriers[i];
		if (!strcasecmp(c->id, name) || (c->kuaidi100 && !strcasecmp(c->kuaidi100, name)) ||
		    (c->name_zh && !strcasecmp(c->name_zh, name)) ||
		    (c->name_en && !strcasecmp(c->name_en, name)))
			return c->id;
		for (k = 0; k < c->aliases.n; k++)
			if (!strcasecmp(c->aliases.v[k], name))
				return c->id;
	}
	return NULL;
}

/* Reads a {carrier, number} object into a new normalised one; *out stays
 * NULL for a missing or null parcel. */
static pb_err read_parcel(const cJSON *p, const pb_kb *kb, cJSON **out, pb_errbuf *eb)
{
	const cJSON *c, *n;
	const char *id;
	cJSON *j;

	*out = NULL;
	if (!p || cJSON_IsNull(p))
		return PB_OK;
	if (!cJSON_IsObject(p))
		return pb_errf(eb, PB_EUPSTREAM, "the parcel must be an object");
	c = cJSON_GetObjectItemCaseSensitive(p, "carrier");
	n = cJSON_GetObjectItemCaseSensitive(p, "number");
	if (!n || cJSON_IsNull(n))
		return PB_OK; /* a parcel not yet handed to a carrier */
	if (!cJSON_IsString(n) || !*n->valuestring || strlen(n->valuestring) > PB_MAX_NUMBER ||
	    !pb_utf8_valid(n->valuestring, strlen(n->valuestring)))
		return pb_errf(eb, PB_EUPSTREAM, "parcel.number must be text of 1 to %d bytes",
			       PB_MAX_NUMBER);
	if (c && !cJSON_IsNull(c) &&
	    (!cJSON_IsString(c) || strlen(c->valuestring) > PB_STORE_MAX_NAME ||
	     !pb_utf8_valid(c->valuestring, strlen(c->valuestring))))
		return pb_errf(eb, PB_EUPSTREAM, "parcel.carrier must be text");
	j = cJSON_CreateObject();
	if (!j)
		return PB_ENOMEM;
	/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): cJSON_IsString(NULL) is false */
	if (cJSON_IsString(c) && *c->valuestring) {
		id = pb_orders_carrier_id(kb, c->valuestring);
		cJSON_AddStringToObject(j, "carrier", id ? id : c->valuestring);
	}
	if (!cJSON_AddStringToObject(j, "number", n->valuestring)) {
		cJSON_Delete(j);
		return PB_ENOMEM;
	}
	*out = j;
	return PB_OK;
}

static const cJSON *parcel_of(const cJSON *o)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "parcel");

	return p && !cJSON_IsNull(p) ? p : cJSON_GetObjectItemCaseSensitive(o, "tracking");
}

pb_err pb_orders_parse(const char *body, size_t len, const char *order_id, const pb_kb *kb,
		       int32_t default_off, cJSON **out, pb_errbuf *eb)
{
	cJSON *root = NULL, *res = NULL, *parcel = NULL;
	const cJSON *ord, *id, *pj;
	pb_order o;
	pb_errbuf ob;
	pb_err err;

	*out = NULL;
	pb_order_init(&o);
	ob.msg[0] = '\0';
	root = cJSON_ParseWithLength(body, len);
	if (!root) {
		err = pb_errf(eb, PB_EUPSTREAM, "the answer is not JSON");
		goto out;
	}
	ord = root;
	if (cJSON_IsObject(root) && cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "order")))
		ord = cJSON_GetObjectItemCaseSensitive(root, "order");
	if (!cJSON_IsObject(ord)) {
		err = pb_errf(eb, PB_EUPSTREAM, "the answer is not an order object");
		goto out;
	}
	id = cJSON_GetObjectItemCaseSensitive(ord, "id");
	if (!id || cJSON_IsNull(id)) {
		/* An order source may leave out what it was asked for. */
		cJSON_DeleteItemFromObjectCaseSensitive((cJSON *)ord, "id");
		if (!cJSON_AddStringToObject((cJSON *)ord, "id", order_id)) {
			err = pb_errf(eb, PB_ENOMEM, "out of memory");
			goto out;
		}
	} else if (cJSON_IsNumber(id) && id->valuedouble >= 0 && id->valuedouble < 1e15 &&
		   id->valuedouble == (double)(long long)id->valuedouble) {
		char nb[24];
		snprintf(nb, sizeof nb, "%lld", (long long)id->valuedouble);
		cJSON_ReplaceItemInObjectCaseSensitive((cJSON *)ord, "id", cJSON_CreateString(nb));
	}
	if ((err = pb_order_from_json(ord, default_off, &o, &ob))) {
		err = pb_errf(eb, err == PB_ENOMEM ? PB_ENOMEM : PB_EUPSTREAM, "%s",
			      pb_errmsg(&ob, err));
		goto out;
	}
	if (strcasecmp(o.id, order_id)) {
		err = pb_errf(eb, PB_EUPSTREAM, "the answer is about order '%.60s'", o.id);
		goto out;
	}
	pj = parcel_of(ord);
	if (!pj && ord != root)
		pj = parcel_of(root);
	if ((err = read_parcel(pj, kb, &parcel, eb)))
		goto out;
	res = pb_order_json(&o);
	if (!res || (parcel && !cJSON_AddItemToObject(res, "parcel", parcel))) {
		err = pb_errf(eb, PB_ENOMEM, "out of memory");
		goto out;
	}
	parcel = NULL;
	*out = res;
	res = NULL;
out:
	cJSON_Delete(root);
	cJSON_Delete(res);
	cJSON_Delete(parcel);
	pb_order_release(&o);
	return err;
}

/* ---- the HTTP source ---- */

pb_err pb_orders_fetch(pb_orders *o, const char *order_id, const pb_kb *kb, int32_t default_off,
		       cJSON **out, pb_errbuf *eb)
{
	const char *headers[3] = {"Accept: application/json", NULL, NULL};
	const char *secrets[2] = {NULL, NULL};
	pb_http_req req = {0};
	char *url = NULL, *auth = NULL, what[300];
	pb_errbuf pe;
	pb_err err;

	*out = NULL;
	if (!pb_orders_has_http(o))
		return pb_errf(eb, PB_ENOTFOUND, "orders: no order source is configured");
	if ((err = pb_orders_url(o->url, order_id, &url, eb)))
		return err;
	if (o->token) {
		size_t n = strlen(o->token) + sizeof "Authorization: Bearer ";
		auth = malloc(n);
		if (!auth) {
			free(url);
			return pb_errf(eb, PB_ENOMEM, "out of memory");
		}
		snprintf(auth, n, "Authorization: Bearer %s", o->token);
		headers[1] = auth;
		secrets[0] = o->token;
	}
	pb_http_describe("GET", url, what, sizeof what);
	pb_http_redact(what, sizeof what, secrets);
	req.method = "GET";
	req.url = url;
	req.headers = headers;
	req.secrets = secrets;
	req.max_body = PB_ORDERS_MAX_BODY;
	if ((err = pb_http_perform(o->http, &req, 1))) {
		err = pb_errf(eb, err, "orders: %s: %s", what, pb_strerror(err));
		goto out;
	}
	switch (req.err) {
	case PB_OK:
		break;
	case PB_ETOOBIG:
		err = pb_errf(eb, PB_EUPSTREAM, "orders: %s: the answer for order '%.60s' is larger "
			      "than %zu bytes", what, order_id, PB_ORDERS_MAX_BODY);
		goto out;
	default:
		err = pb_errf(eb, req.err, "orders: order '%.60s': %s", order_id,
			      pb_errmsg(&req.eb, req.err));
		goto out;
	}
	if (req.status == 404) {
		err = pb_errf(eb, PB_ENOTFOUND, "orders: %s: no order '%.60s' (404)", what, order_id);
		goto out;
	}
	if (req.status == 401 || req.status == 403) {
		err = pb_errf(eb, PB_EAUTH, "orders: %s: the order source refused our token (%ld)",
			      what, req.status);
		goto out;
	}
	if (req.status < 200 || req.status > 299) {
		err = pb_errf(eb, PB_EUPSTREAM, "orders: %s: HTTP %ld for order '%.60s'", what,
			      req.status, order_id);
		goto out;
	}
	pe.msg[0] = '\0';
	if ((err = pb_orders_parse(pb_buf_str(&req.resp), req.resp.len, order_id, kb, default_off,
				   out, &pe)))
		pb_errf(eb, err, "orders: %s: order '%.60s': %s", what, order_id,
			pb_errmsg(&pe, err));
out:
	pb_http_req_release(&req);
	free(url);
	wipe_free(auth);
	return err;
}

/* ---- both sources ---- */

static int32_t shop_off(const pb_kb *kb)
{
	return kb && kb->policy ? kb->policy->tz_off : 8 * 3600;
}

pb_err pb_orders_lookup(pb_orders *o, pb_store *st, const pb_kb *kb, const char *order_id,
			cJSON **out, pb_errbuf *eb)
{
	pb_err err, store_err = PB_OK;
	pb_errbuf sb, pe;
	char *json = NULL;

	*out = NULL;
	sb.msg[0] = '\0';
	if ((err = id_ok(order_id, eb)))
		return err;
	if (st) {
		err = pb_store_order_find(st, NULL, order_id, NULL, &json, &sb);
		if (!err) {
			pe.msg[0] = '\0';
			err = pb_orders_parse(json, strlen(json), order_id, kb, shop_off(kb), out, &pe);
			free(json);
			if (!err)
				return PB_OK;
			/* A stored copy that no longer reads is the store's
			 * problem; the HTTP source may still know better. */
			snprintf(sb.msg, sizeof sb.msg, "orders: the stored order '%.60s': %s",
				 order_id, pb_errmsg(&pe, err));
			store_err = err;
		} else if (err != PB_ENOTFOUND) {
			store_err = err;
		}
	}
	if (pb_orders_has_http(o)) {
		err = pb_orders_fetch(o, order_id, kb, shop_off(kb), out, eb);
		if (err != PB_ENOTFOUND || !store_err)
			return err;
	}
	if (store_err)
		return pb_errf(eb, store_err, "%s", pb_errmsg(&sb, store_err));
	return pb_errf(eb, PB_ENOTFOUND, "orders: no order '%.60s' in the store%s", order_id,
		       pb_orders_has_http(o) ? " or at the order source" : "");
}

/* ---- enrichment ---- */

/* An order that says more than its id came with the event: keep it. */
static bool full_order(const cJSON *order)
{
	const cJSON *c;

	if (!cJSON_IsObject(order))
		return false;
	for (c = order->child; c; c = c->next)
		if (c->string && strcmp(c->string, "id") && !cJSON_IsNull(c))
			return true;
	return false;
}

/* The event's order id, written into buf; false when it names none. */
static bool event_order_id(const cJSON *order, char *buf, size_t n)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(order, "id");

	if (cJSON_IsString(id) && *id->valuestring) {
		snprintf(buf, n, "%s", id->valuestring);
		return strlen(id->valuestring) < n;
	}
	if (cJSON_IsNumber(id) && id->valuedouble >= 0 && id->valuedouble < 1e15 &&
	    id->valuedouble == (double)(long long)id->valuedouble) {
		snprintf(buf, n, "%lld", (long long)id->valuedouble);
		return true;
	}
	return false;
}

static bool has_parcel(const cJSON *event)
{
	return cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(event, "parcel"));
}

/* Moves a found order (and its parcel, when the event has none) into the
 * event. Consumes found. */
static pb_err put_order(cJSON *event, cJSON *found)
{
	cJSON *parcel = cJSON_DetachItemFromObjectCaseSensitive(found, "parcel");

	if (parcel && !has_parcel(event)) {
		cJSON_DeleteItemFromObjectCaseSensitive(event, "parcel");
		if (!cJSON_AddItemToObject(event, "parcel", parcel))
			cJSON_Delete(parcel);
	} else {
		cJSON_Delete(parcel);
	}
	cJSON_DeleteItemFromObjectCaseSensitive(event, "order");
	if (!cJSON_AddItemToObject(event, "order", found)) {
		cJSON_Delete(found);
		return PB_ENOMEM;
	}
	return PB_OK;
}

/* Keeps the most telling failure: anything beats "not found". */
static void keep_err(pb_err *err, pb_errbuf *eb, pb_err e, const pb_errbuf *ee)
{
	if (!e || (*err && *err != PB_ENOTFOUND) || (*err && e == PB_ENOTFOUND))
		return;
	*err = e;
	if (eb)
		*eb = *ee;
}

pb_err pb_orders_enrich(pb_orders *o, pb_store *st, const pb_kb *kb, cJSON *event, int64_t now,
			pb_errbuf *eb)
{
	return pb_orders_enrich_with(o, st, kb, NULL, event, now, eb);
}

pb_err pb_orders_enrich_with(pb_orders *o, pb_store *st, const pb_kb *kb, pb_classifier *shared,
			     cJSON *event, int64_t now, pb_errbuf *eb)
{
	const cJSON *msg;
	pb_classifier *cl = NULL;
	pb_verdict *v = NULL;
	char id[MAX_ID + 1];
	cJSON *found = NULL;
	pb_errbuf le, ce;
	pb_err err = PB_OK, e;
	bool named;
	size_t i;

	(void)now;
	if (!cJSON_IsObject(event))
		return pb_errf(eb, PB_EINVAL, "orders: the event must be a JSON object");
	if (full_order(cJSON_GetObjectItemCaseSensitive(event, "order")))
		return PB_OK;
	named = event_order_id(cJSON_GetObjectItemCaseSensitive(event, "order"), id, sizeof id);
	if (named) {
		le.msg[0] = '\0';
		e = pb_orders_lookup(o, st, kb, id, &found, &le);
		if (!e)
			return put_order(event, found) ? pb_errf(eb, PB_ENOMEM, "out of memory")
						       : PB_OK;
		keep_err(&err, eb, e, &le);
		if (has_parcel(event))
			return err;
	}
	/* The text: order numbers (unless the event named its order), then
	 * a tracking number for the parcel. */
	msg = cJSON_GetObjectItemCaseSensitive(event, "message");
	if (!cJSON_IsString(msg) || !*msg->valuestring)
		return err;
	cl = shared ? shared : pb_classifier_new(kb);
	v = malloc(sizeof *v);
	if (!cl || !v) {
		err = pb_errf(eb, PB_ENOMEM, "out of memory");
		goto out;
	}
	ce.msg[0] = '\0';
	if ((e = pb_classify(cl, msg->valuestring, strlen(msg->valuestring), v, &ce))) {
		pb_errf(&le, e, "orders: the message: %s", pb_errmsg(&ce, e));
		keep_err(&err, eb, e, &le);
		goto out;
	}
	for (i = 0; !named && i < v->ent.n_orders; i++) {
		le.msg[0] = '\0';
		e = pb_orders_lookup(o, st, kb, v->ent.orders[i].id, &found, &le);
		if (!e) {
			err = put_order(event, found) ? pb_errf(eb, PB_ENOMEM, "out of memory") : PB_OK;
			goto out;
		}
		keep_err(&err, eb, e, &le);
	}
	if (!has_parcel(event) && v->ent.n_tracking) {
		const pb_tracking_ref *t = &v->ent.tracking[0];
		cJSON *p = cJSON_CreateObject();
		if (p && t->n_carriers)
			cJSON_AddStringToObject(p, "carrier", kb->carriers[t->carriers[0]].id);
		if (!p || !cJSON_AddStringToObject(p, "number", t->number)) {
			cJSON_Delete(p);
			err = pb_errf(eb, PB_ENOMEM, "out of memory");
			goto out;
		}
		cJSON_DeleteItemFromObjectCaseSensitive(event, "parcel");
		if (!cJSON_AddItemToObject(event, "parcel", p)) {
			cJSON_Delete(p);
			err = pb_errf(eb, PB_ENOMEM, "out of memory");
		}
	}
out:
	free(v);
	if (cl != shared)
		pb_classifier_free(cl);
	return err;
}
