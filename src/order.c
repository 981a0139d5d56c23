/*
 * Orders (see order.h): lifecycle helpers and the JSON form.
 */
#include "parcelbot/order.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/utf8.h"

void pb_order_init(pb_order *o)
{
	memset(o, 0, sizeof *o);
}

void pb_order_release(pb_order *o)
{
	size_t i;

	for (i = 0; i < o->n_items; i++)
		/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): n_items > 0 only with items */
		free(o->items[i].name);
	free(o->items);
	free(o->id);
	free(o->category);
	free(o->phone_last4);
	pb_order_init(o);
}

pb_err pb_order_copy(pb_order *dst, const pb_order *src)
{
	size_t i;

	*dst = *src;
	dst->id = strdup(src->id ? src->id : "");
	dst->category = strdup(src->category ? src->category : "");
	dst->phone_last4 = src->phone_last4 ? strdup(src->phone_last4) : NULL;
	dst->items = src->n_items ? calloc(src->n_items, sizeof *dst->items) : NULL;
	dst->n_items = 0;
	if (!dst->id || !dst->category || (src->phone_last4 && !dst->phone_last4) ||
	    (src->n_items && !dst->items))
		goto oom;
	for (i = 0; i < src->n_items; i++) {
		dst->items[i].name = strdup(src->items[i].name ? src->items[i].name : "");
		dst->items[i].qty = src->items[i].qty;
		if (!dst->items[i].name)
			goto oom;
		dst->n_items++;
	}
	return PB_OK;
oom:
	pb_order_release(dst);
	return PB_ENOMEM;
}

static pb_err opt_str(const cJSON *o, const char *key, char **out, pb_errbuf *eb)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return PB_OK;
	if (!cJSON_IsString(v))
		return pb_errf(eb, PB_EINVAL, "order.%s must be a string", key);
	if (!pb_utf8_valid(v->valuestring, strlen(v->valuestring)))
		return pb_errf(eb, PB_EUTF8, "order.%s is not valid UTF-8", key);
	*out = strdup(v->valuestring);
	return *out ? PB_OK : PB_ENOMEM;
}

static pb_err opt_time(const cJSON *o, const char *key, int32_t off, bool *has, pb_when *w,
		       pb_errbuf *eb)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	*has = false;
	if (!v || cJSON_IsNull(v))
		return PB_OK;
	if (!cJSON_IsString(v) || pb_time_parse(v->valuestring, off, w))
		return pb_errf(eb, PB_EPARSE, "order.%s must be an ISO 8601 date-time", key);
	*has = true;
	return PB_OK;
}

pb_err pb_order_from_json(const cJSON *j, int32_t default_off, pb_order *out, pb_errbuf *eb)
{
	pb_order o;
	const cJSON *v, *it;
	char *cur = NULL;
	pb_err err;
	size_t i = 0;

	pb_order_init(&o);
	if (!cJSON_IsObject(j))
		return pb_errf(eb, PB_EINVAL, "order must be an object");
	if ((err = opt_str(j, "id", &o.id, eb)) || (err = opt_str(j, "category", &o.category, eb)) ||
	    (err = opt_str(j, "phone_last4", &o.phone_last4, eb)) ||
	    (err = opt_str(j, "currency", &cur, eb)))
		goto out;
	if (!o.id || !*o.id) {
		err = pb_errf(eb, PB_EINVAL, "order.id is required");
		goto out;
	}
	if (!o.category && !(o.category = strdup(""))) {
		err = PB_ENOMEM;
		goto out;
	}
	if (cur && (strlen(cur) < 3 || strlen(cur) >= sizeof o.currency)) {
		err = pb_errf(eb, PB_EINVAL, "order.currency '%s' is not a currency code", cur);
		goto out;
	}
	snprintf(o.currency, sizeof o.currency, "%s", cur ? cur : "CNY");
	v = cJSON_GetObjectItemCaseSensitive(j, "amount");
	if (v && !cJSON_IsNull(v)) {
		if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0) {
			err = pb_errf(eb, PB_EINVAL, "order.amount must be a number >= 0");
			goto out;
		}
		o.amount = v->valuedouble;
	}
	if ((err = opt_time(j, "paid_at", default_off, &o.has_paid_at, &o.paid_at, eb)) ||
	    (err = opt_time(j, "shipped_at", default_off, &o.has_shipped_at, &o.shipped_at, eb)))
		goto out;
	v = cJSON_GetObjectItemCaseSensitive(j, "items");
	if (v && !cJSON_IsNull(v)) {
		if (!cJSON_IsArray(v)) {
			err = pb_errf(eb, PB_EINVAL, "order.items must be a list");
			goto out;
		}
		o.items = calloc((size_t)cJSON_GetArraySize(v) + 1, sizeof *o.items);
		if (!o.items) {
			err = PB_ENOMEM;
			goto out;
		}
		cJSON_ArrayForEach(it, v)
		{
			const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
			const cJSON *qty = cJSON_GetObjectItemCaseSensitive(it, "qty");
			if (!cJSON_IsString(name) ||
			    !pb_utf8_valid(name->valuestring, strlen(name->valuestring))) {
				err = pb_errf(eb, PB_EINVAL, "order.items[%zu].name must be text", i);
				goto out;
			}
			if (qty && (!cJSON_IsNumber(qty) || qty->valuedouble < 0 ||
				    qty->valuedouble > 1e6)) {
				err = pb_errf(eb, PB_EINVAL, "order.items[%zu].qty must be a count", i);
				goto out;
			}
			o.items[i].name = strdup(name->valuestring);
			o.items[i].qty = qty ? (int)qty->valuedouble : 1;
			if (!o.items[i].name) {
				err = PB_ENOMEM;
				goto out;
			}
			o.n_items = ++i;
		}
	}
	*out = o;
	free(cur);
	return PB_OK;
out:
	free(cur);
	pb_order_release(&o);
	return err;
}

cJSON *pb_order_json(const pb_order *o)
{
	cJSON *j = cJSON_CreateObject(), *a, *it;
	char tb[40];
	size_t i;

	if (!j)
		return NULL;
	cJSON_AddStringToObject(j, "id", o->id ? o->id : "");
	cJSON_AddNumberToObject(j, "amount", o->amount);
	cJSON_AddStringToObject(j, "currency", o->currency);
	cJSON_AddStringToObject(j, "category", o->category ? o->category : "");
	if (o->has_paid_at)
		cJSON_AddStringToObject(j, "paid_at", pb_time_format(o->paid_at, tb, sizeof tb));
	else
		cJSON_AddNullToObject(j, "paid_at");
	if (o->has_shipped_at)
		cJSON_AddStringToObject(j, "shipped_at", pb_time_format(o->shipped_at, tb, sizeof tb));
	else
		cJSON_AddNullToObject(j, "shipped_at");
	a = cJSON_AddArrayToObject(j, "items");
	for (i = 0; a && i < o->n_items; i++) {
		it = cJSON_CreateObject();
		cJSON_AddStringToObject(it, "name", o->items[i].name);
		cJSON_AddNumberToObject(it, "qty", o->items[i].qty);
		cJSON_AddItemToArray(a, it);
	}
	if (o->phone_last4)
		cJSON_AddStringToObject(j, "phone_last4", o->phone_last4);
	return j;
}

int pb_order_qty(const pb_order *o)
{
	size_t i;
	int q = 0;

	for (i = 0; i < o->n_items; i++)
		q += o->items[i].qty;
	return q;
}
