/*
 * The sandbox's order API: the shop's own order lookup, as the daemon's
 * HTTP order source (orders.h) calls it. One route,
 *
 *   GET /orders?id=ORDER_ID
 *   Authorization: Bearer sandbox-orders-token   (PB_SANDBOX_ORDERS_TOKEN)
 *
 * so the daemon's URL template for the sandbox is
 * http://127.0.0.1:PORT/orders?id={order_id}. Answers: 200 with the order
 * in parcelbot's order shape plus "parcel": {carrier, number}; 401 without
 * the right bearer token; 400 without an id; 404 for an unknown id.
 * (The id travels in the query rather than the path so that the route is
 * one exact path in the core's route table.)
 *
 * Orders come from the seed's `orders:` list:
 *
 *   orders:
 *     - id: "4102938475610001"       # quoted: ids are text
 *       amount: 129.00
 *       currency: CNY
 *       category: food
 *       paid_at: "2026-11-18T20:15:00+08:00"
 *       shipped_at: "2026-11-19T10:00:00+08:00"
 *       items: [{name: 坚果礼盒, qty: 2}]
 *       phone_last4: "5678"
 *       parcel: {carrier: zto, number: "73100000000001"}
 *
 * Every key is checked at load with its position, as the tracking module
 * checks its parcels.
 */
#include <cJSON.h>
#include <math.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parcelbot/time.h"
#include "sandbox_internal.h"

typedef struct sbx_orders {
	cJSON *orders; /* an array of answers, built once at load */
} sbx_orders;

const char *const pb_sbx_orders_keys[] = {"orders", NULL};

static const char *const order_keys[] = {"id",	       "amount", "currency",    "category",
					 "paid_at",    "shipped_at", "items", "phone_last4",
					 "parcel",     NULL};
static const char *const item_keys[] = {"name", "qty", NULL};
static const char *const parcel_keys[] = {"carrier", "number", NULL};

static void orders_free(void *state)
{
	sbx_orders *s = state;

	if (!s)
		return;
	cJSON_Delete(s->orders);
	free(s);
}

static void send_error(pb_sbx_resp *rs, int status, const char *msg)
{
	cJSON *j = cJSON_CreateObject();

	if (j)
		cJSON_AddStringToObject(j, "error", msg);
	pb_sbx_send_json(rs, status, j);
	cJSON_Delete(j);
}

static void get_order(void *state, const pb_sbx_req *rq, pb_sbx_resp *rs)
{
	static const char bearer[] = "Bearer ";
	sbx_orders *s = state;
	const char *auth = pb_sbx_header(rq, "Authorization"), *id;
	const cJSON *o, *oid;

	if (!auth || strncasecmp(auth, bearer, sizeof bearer - 1) ||
	    strcmp(auth + sizeof bearer - 1, PB_SANDBOX_ORDERS_TOKEN)) {
		send_error(rs, 401, "a valid bearer token is required");
		return;
	}
	id = MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, "id");
	if (!id || !*id) {
		send_error(rs, 400, "the order id is missing: GET /orders?id=ORDER_ID");
		return;
	}
	cJSON_ArrayForEach(o, s->orders)
	{
		oid = cJSON_GetObjectItemCaseSensitive(o, "id");
		if (cJSON_IsString(oid) && !strcmp(oid->valuestring, id)) {
			pb_sbx_send_json(rs, 200, o);
			return;
		}
	}
	send_error(rs, 404, "order not found");
}

/* --- seed ----------------------------------------------------------- */

/* A scalar under key as a JSON string, whether quoted or not (ids and
 * phone digits must stay text). */
static bool add_text(cJSON *j, const pb_ynode *map, const char *key)
{
	const pb_ynode *v = pb_ymap_get(map, key);

	if (!v || v->kind != PB_Y_SCALAR || (v->plain && (!v->len || !strcmp(v->str, "null") ||
							  !strcmp(v->str, "~"))))
		return true;
	return cJSON_AddStringToObject(j, key, v->str) != NULL;
}

static void check_time(pb_diag *dg, const pb_ydoc *doc, const pb_ynode *map, const char *key)
{
	const pb_ynode *v = pb_ymap_get(map, key);
	pb_when w;

	if (v && v->kind == PB_Y_SCALAR && !(v->plain && !strcmp(v->str, "null")) &&
	    pb_time_parse(v->str, 8 * 3600, &w))
		pb_diag_at(dg, doc, v, "%s must be an ISO 8601 date-time", key);
}

/* Checks one seed order and builds its answer; NULL when it does not fit
 * (the problems are in dg) or on ENOMEM (*oom set). */
static cJSON *seed_order(pb_diag *dg, const pb_ydoc *doc, const pb_ynode *e, const cJSON *seen,
			 bool *oom)
{
	const pb_ynode *id, *items, *parcel;
	cJSON *j = NULL, *a, *it, *p;
	const cJSON *s;
	size_t n0 = pb_diag_count(dg), k;
	double d = 0;

	if (!pb_y_expect(dg, doc, e, PB_Y_MAP, "an order"))
		return NULL;
	pb_y_keys(dg, doc, e, order_keys);
	if (pb_y_str(dg, doc, e, "id", true)) {
		id = pb_ymap_get(e, "id");
		if (!id->len)
			pb_diag_at(dg, doc, id, "an order id must not be empty");
		cJSON_ArrayForEach(s, seen)
		{
			const cJSON *sid = cJSON_GetObjectItemCaseSensitive(s, "id");
			if (cJSON_IsString(sid) && !strcmp(sid->valuestring, id->str))
				pb_diag_at(dg, doc, id, "order '%s' is listed twice", id->str);
		}
	}
	if (pb_y_num(dg, doc, e, "amount", false, &d) && (d < 0 || !isfinite(d)))
		pb_diag_at(dg, doc, pb_ymap_get(e, "amount"), "amount must be 0 or more");
	pb_y_str(dg, doc, e, "currency", false);
	pb_y_str(dg, doc, e, "category", false);
	check_time(dg, doc, e, "paid_at");
	check_time(dg, doc, e, "shipped_at");
	if (pb_y_str(dg, doc, e, "phone_last4", false)) {
		const char *ph = pb_ymap_get(e, "phone_last4")->str;
		if (strlen(ph) != 4 || strspn(ph, "0123456789") != 4)
			pb_diag_at(dg, doc, pb_ymap_get(e, "phone_last4"),
				   "phone_last4 must be 4 digits");
	}
	items = pb_ymap_get(e, "items");
	if (items && pb_y_expect(dg, doc, items, PB_Y_SEQ, "items"))
		for (k = 0; k < items->n; k++)
			if (pb_y_expect(dg, doc, items->items[k], PB_Y_MAP, "an item")) {
				pb_y_keys(dg, doc, items->items[k], item_keys);
				pb_y_str(dg, doc, items->items[k], "name", true);
				pb_y_num(dg, doc, items->items[k], "qty", false, &d);
			}
	parcel = pb_ymap_get(e, "parcel");
	if (parcel && pb_y_expect(dg, doc, parcel, PB_Y_MAP, "parcel")) {
		pb_y_keys(dg, doc, parcel, parcel_keys);
		pb_y_str(dg, doc, parcel, "carrier", true);
		pb_y_str(dg, doc, parcel, "number", true);
	}
	if (pb_diag_count(dg) != n0)
		return NULL;

	j = cJSON_CreateObject();
	if (!j || !add_text(j, e, "id"))
		goto oom;
	if (pb_ymap_get(e, "amount")) {
		pb_y_num(dg, doc, e, "amount", false, &d);
		if (!cJSON_AddNumberToObject(j, "amount", d))
			goto oom;
	}
	if (!add_text(j, e, "currency") || !add_text(j, e, "category") ||
	    !add_text(j, e, "paid_at") || !add_text(j, e, "shipped_at"))
		goto oom;
	if (items) {
		if (!(a = cJSON_AddArrayToObject(j, "items")))
			goto oom;
		for (k = 0; k < items->n; k++) {
			d = 1;
			pb_y_num(dg, doc, items->items[k], "qty", false, &d);
			if (!(it = cJSON_CreateObject()) || !cJSON_AddItemToArray(a, it) ||
			    !add_text(it, items->items[k], "name") ||
			    !cJSON_AddNumberToObject(it, "qty", d))
				goto oom;
		}
	}
	if (!add_text(j, e, "phone_last4"))
		goto oom;
	if (parcel) {
		if (!(p = cJSON_AddObjectToObject(j, "parcel")) || !add_text(p, parcel, "carrier") ||
		    !add_text(p, parcel, "number"))
			goto oom;
	}
	return j;
oom:
	*oom = true;
	cJSON_Delete(j);
	return NULL;
}

pb_err pb_sbx_orders_init(pb_sandbox *sb, const pb_sandbox_opts *o, const pb_ydoc *seed,
			  pb_diag *dg)
{
	static const pb_sbx_route route = {"orders.get", "GET", "/orders", get_order, NULL};
	const pb_ynode *root = seed ? seed->root : NULL, *list;
	sbx_orders *s = calloc(1, sizeof *s);
	pb_sbx_module m;
	pb_sbx_route r;
	bool oom = false;
	cJSON *j;
	size_t i;

	(void)o;
	if (!s || !(s->orders = cJSON_CreateArray())) {
		free(s);
		return PB_ENOMEM;
	}
	list = pb_ymap_get(root, "orders");
	if (list && pb_y_expect(dg, seed, list, PB_Y_SEQ, "orders"))
		for (i = 0; i < list->n && !oom; i++) {
			j = seed_order(dg, seed, list->items[i], s->orders, &oom);
			if (j && !cJSON_AddItemToArray(s->orders, j)) {
				cJSON_Delete(j);
				oom = true;
			}
		}
	m.state = s;
	m.reset = NULL; /* nothing changes while serving */
	m.free = orders_free;
	if (oom || pb_sbx_add_module(sb, &m)) {
		orders_free(s);
		return PB_ENOMEM;
	}
	r = route;
	r.state = s;
	return pb_sbx_add_route(sb, &r);
}
