/*
 * Order sources: finding the order behind a buyer message. Buyers rarely
 * paste their whole order; a chat event may carry the channel's order, only
 * its id, or nothing but the text ("订单号 4102938475610001 怎么还没到").
 * Before ingest, the daemon calls pb_orders_enrich, which fills the event's
 * "order" (and its "parcel" {carrier, number}) from the sources below, so
 * that the pipeline can judge the parcel against what was bought, for how
 * much and when.
 *
 * Two sources, asked in this order:
 *  1. the store: orders imported with `parcelbot orders import` (a CSV
 *     export of the shop's orders) and orders seen on earlier messages,
 *     whatever the channel (pb_store_order_find);
 *  2. an HTTP JSON source (config.h, `orders: {url, token_file}`): GET of
 *     the URL template with "{order_id}" replaced by the percent-encoded
 *     id, with "Authorization: Bearer TOKEN" when a token is configured.
 *     It answers an order in parcelbot's shape (order.h: id, amount,
 *     currency, category, paid_at, shipped_at, items [{name, qty}],
 *     phone_last4) with an optional "parcel" (or "tracking") object
 *     {carrier, number}; the whole may be wrapped as {"order": {...}}.
 *     404 means the shop has no such order. The sandbox serves this API
 *     (src/sandbox_orders.c) at http://127.0.0.1:PORT/orders?id={order_id}
 *     with the token PB_SANDBOX_ORDERS_TOKEN.
 *
 * A found order always comes out in one shape, "the order JSON": the
 * object pb_order_json makes, plus "parcel": {"carrier", "number"} when the
 * source named the parcel (carrier: a KB carrier id when the name is one of
 * the KB's carriers or their aliases, else as the source wrote it, and left
 * out when unknown).
 *
 * A pb_orders is immutable once made and shared freely between threads;
 * the pb_http it borrows is thread-safe too.
 */
#ifndef PARCELBOT_ORDERS_H
#define PARCELBOT_ORDERS_H

#include <stdint.h>

#include "parcelbot/config.h"
#include "parcelbot/err.h"
#include "parcelbot/kb.h"
#include "parcelbot/store.h"

struct cJSON;
struct pb_http;

/* Largest answer the HTTP source may send. */
#define PB_ORDERS_MAX_BODY ((size_t)1 << 20)

typedef struct pb_orders pb_orders;

/* Makes the order sources. cfg->url may be NULL (no HTTP source: only the
 * store is asked); when set it must be an http(s) URL containing
 * "{order_id}". cfg is copied. http is borrowed and must outlive the
 * handle; it may be NULL only when there is no URL. On success *out owns
 * the handle (pb_orders_free). */
pb_err pb_orders_new(const pb_orders_config *cfg, struct pb_http *http, pb_orders **out,
		     pb_errbuf *eb);
/* Frees the handle (the token is wiped). NULL is ignored. */
void pb_orders_free(pb_orders *o);
/* Whether an HTTP source is configured. */
bool pb_orders_has_http(const pb_orders *o);

/* Writes the template with every "{order_id}" replaced by order_id,
 * percent-encoded (everything but A-Z a-z 0-9 - . _ ~) into *out (caller
 * frees). PB_EINVAL for an empty, overlong or control-character id. */
pb_err pb_orders_url(const char *tmpl, const char *order_id, char **out, pb_errbuf *eb);

/* The KB's carrier id for a carrier named by its id, an alias, its
 * Chinese or English name or its Kuaidi100 code, case-insensitively; NULL
 * when the KB knows none of them (or kb is NULL). */
const char *pb_orders_carrier_id(const pb_kb *kb, const char *name);

/* Reads an order answer (the HTTP source's body, or an order JSON kept in
 * the store) into the order JSON described above; *out is caller-owned.
 * An answer without an id is taken to be order_id's; one naming another
 * order is refused. kb (may be NULL) maps carrier names to ids; times
 * without an offset are at default_off. PB_EUPSTREAM (with the reason) for
 * anything that is not such an order. */
pb_err pb_orders_parse(const char *body, size_t len, const char *order_id, const pb_kb *kb,
		       int32_t default_off, struct cJSON **out, pb_errbuf *eb);

/* Asks the HTTP source for one order; *out gets the order JSON (caller
 * owns it). PB_ENOTFOUND: the source answered 404 (or there is no HTTP
 * source). PB_EAUTH: it refused the token (401, 403). PB_EUPSTREAM: any
 * other status, or an answer that is malformed or larger than
 * PB_ORDERS_MAX_BODY. Connection failures, timeouts and 429/5xx after
 * pb_http's retries keep pb_http's codes. Messages name the host and path
 * and the order id, never the token. */
pb_err pb_orders_fetch(pb_orders *o, const char *order_id, const pb_kb *kb, int32_t default_off,
		       struct cJSON **out, pb_errbuf *eb);

/* Looks one order up: in the store first (st may be NULL), then at the
 * HTTP source (o may be NULL). *out gets the order JSON (caller owns it).
 * PB_ENOTFOUND when neither has it; when a source failed otherwise, that
 * failure. */
pb_err pb_orders_lookup(pb_orders *o, pb_store *st, const pb_kb *kb, const char *order_id,
			struct cJSON **out, pb_errbuf *eb);

/* Fills a message event's "order" and "parcel" (channel.h, "Events").
 *
 * Nothing is done when the event already has an order with more than its
 * id. Otherwise the order id is the event's order.id (a string or a whole
 * number) or else, from the message text, the first order number the
 * KB's extractors find (kb/entities.yaml) that a source knows. The order
 * found replaces the event's "order" (as pb_order_json makes it) and, when
 * the event has no "parcel", its parcel becomes the event's {carrier,
 * number}. When no order is found and the event has no parcel, a tracking
 * number in the text becomes the parcel: {"carrier": the likeliest carrier
 * by its number shape or hint (left out when none fits), "number"}.
 *
 * The contract with the caller: a lookup failure never costs the message.
 * The event keeps everything it had, gains whatever could be found, and is
 * fit for ingest either way; the return value is only for the log.
 * PB_OK: nothing needed finding, or it was found. PB_ENOTFOUND: an order
 * id was named but no source knows it. Other codes: a source failed
 * (store, network, the source's answer), PB_EUTF8 for text the classifier
 * refuses, PB_EINVAL when event is not an object, PB_ENOMEM. eb says
 * which order and why.
 *
 * o and st may be NULL (that source is skipped); kb must be the KB the
 * pipeline uses (carriers, extractors, the shop's time zone). now is when
 * the message is handled; the sources keep no cache today, so it only
 * dates what they answer. Safe to call from several threads at once with
 * different st handles. */
pb_err pb_orders_enrich(pb_orders *o, pb_store *st, const pb_kb *kb, struct cJSON *event,
			int64_t now, pb_errbuf *eb);
/* The same with the caller's classifier for kb (one per thread), instead
 * of one built per call; cl may be NULL. */
struct pb_classifier;
pb_err pb_orders_enrich_with(pb_orders *o, pb_store *st, const pb_kb *kb,
			     struct pb_classifier *cl, struct cJSON *event, int64_t now,
			     pb_errbuf *eb);

#endif
