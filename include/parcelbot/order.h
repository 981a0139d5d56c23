/*
 * An order as parcelbot sees it: what was bought, for how much, when it was
 * paid for and shipped. Orders come from the channel, an order source or the
 * JSON a caller passes in; this header only defines the value and its JSON
 * form.
 */
#ifndef PARCELBOT_ORDER_H
#define PARCELBOT_ORDER_H

#include <stdbool.h>
#include <stddef.h>

#include "parcelbot/err.h"
#include "parcelbot/time.h"

struct cJSON;

typedef struct pb_item {
	char *name;
	int qty;
} pb_item;

typedef struct pb_order {
	char *id;
	double amount;
	char currency[8];  /* ISO 4217, e.g. "CNY", "MYR" */
	char *category;    /* "food", "fresh", "flowers", "electronics", ... */
	bool has_paid_at;
	pb_when paid_at;
	bool has_shipped_at;
	pb_when shipped_at;
	pb_item *items;
	size_t n_items;
	char *phone_last4; /* recipient phone, last 4 digits (for SF traces) */
} pb_order;

void pb_order_init(pb_order *o);
void pb_order_release(pb_order *o);
pb_err pb_order_copy(pb_order *dst, const pb_order *src);

/* Reads {id, amount, currency, category, paid_at, shipped_at, items:[{name,
 * qty}], phone_last4}. Only id is required. Times without an offset are at
 * default_off. */
pb_err pb_order_from_json(const struct cJSON *j, int32_t default_off, pb_order *out,
			  pb_errbuf *eb);
struct cJSON *pb_order_json(const pb_order *o);

/* Total quantity over all items (at least 1 when there are items). */
int pb_order_qty(const pb_order *o);

#endif
