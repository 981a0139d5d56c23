/*
 * The Shopee seller-chat channel (Open Platform v2). Shopee sends no
 * webhooks we use: the daemon polls (channels.shopee.poll_interval), and
 * the adapter turns new buyer text messages into inbox events. It sends
 * approved replies with sellerchat/send_message, looks orders up with
 * order/get_order_detail, and reads Shopee's own logistics tracking.
 *
 * Shopee chat has no private notes, labels or assignment, so POST_DRAFT,
 * HAND_OFF and NOTIFY succeed without calling Shopee: drafts, hand-offs and
 * overdue notices wait in parcelbot's own console and API. Only SEND_REPLY
 * reaches the buyer.
 *
 * Every shop-level request is signed: query parameters partner_id,
 * timestamp, access_token, shop_id and sign, where sign is the lower-case
 * hex HMAC-SHA256, under the partner key, of
 *     partner_id + api path + timestamp + access_token + shop_id
 * (public and auth calls: partner_id + api path + timestamp). The timestamp
 * is the `now` passed in, so the caller's clock must be right to within
 * Shopee's five minutes.
 *
 * Tokens. Access tokens last about four hours and are refreshed with
 * auth/access_token/get: on first use when none was configured, five
 * minutes before expiry, and once after Shopee rejects one. Each refresh
 * rotates the refresh token, and the old one stops working: the daemon
 * must save pb_shopee_refresh_token() after any call (e.g. to the
 * refresh_token_file) or it cannot sign in again after a restart. Tokens
 * live only in memory and never appear in error messages.
 */
#ifndef PARCELBOT_CHANNEL_SHOPEE_H
#define PARCELBOT_CHANNEL_SHOPEE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parcelbot/buf.h"
#include "parcelbot/channel.h"
#include "parcelbot/config.h"
#include "parcelbot/trace.h"

struct cJSON;
struct pb_http;
struct pb_order;

/* Creates the adapter (name "shopee"). cfg is copied; http is borrowed and
 * must outlive the channel. Requires url, partner_id, partner_key, shop_id
 * and refresh_token (access_token is optional). On success *out is owned
 * by the caller and freed with pb_channel_free. Makes no request. */
pb_err pb_shopee_new(const pb_shopee_config *cfg, struct pb_http *http, pb_channel **out,
		     pb_errbuf *eb);

/* The refresh token to keep: the configured one until the first refresh,
 * then the latest Shopee issued. Owned by the channel, valid until its next
 * call. NULL when ch is not a Shopee channel. */
const char *pb_shopee_refresh_token(pb_channel *ch);

/* Looks up an order's parcel: its tracking number (get_tracking_number),
 * its carrier as Shopee names it (get_order_detail's shipping_carrier) and
 * its trace (get_tracking_info), newest event first, provider "shopee".
 * carrier and number receive NUL-terminated copies, cut to fit. out is
 * initialised here and owned by the caller (pb_trace_release) on success.
 * PB_ENOTFOUND for an order Shopee does not know. */
pb_err pb_shopee_tracking(pb_channel *ch, const char *order_sn, int64_t now, pb_trace *out,
			  char *carrier, size_t carrier_n, char *number, size_t number_n,
			  pb_errbuf *eb);

/* --- pure helpers, exposed for the tests and the sandbox ------------- */

/* Appends the string Shopee signs to out: partner_id, path, timestamp and,
 * for shop-level calls (access_token not NULL), access_token and shop_id. */
pb_err pb_shopee_sign_base(pb_buf *out, long long partner_id, const char *path, int64_t timestamp,
			   const char *access_token, long long shop_id);

/* Maps a TrackingLogisticsStatus (or an order-level LogisticsStatus) to a
 * trace state. false for a code it does not know, which is then in transit:
 * Shopee adds codes, and a parcel with events is at least moving. */
bool pb_shopee_map_status(const char *code, pb_pstate *st, pb_exkind *ex);

/* Rewrites the values of the named keys that are bare JSON integers into
 * strings ("conversation_id": 1913574906283841870 -> "1913574906..."), so
 * that 64-bit ids and nanosecond times survive a parser that reads numbers
 * as doubles. Strings and other keys are copied unchanged. keys ends with
 * NULL. Appends to out. */
pb_err pb_shopee_quote_ids(const char *json, size_t len, const char *const *keys, pb_buf *out);

/* The readers of Shopee's answers (parsed JSON, ids already quoted), used by
 * pb_channel_order and pb_shopee_tracking. */
/* The order order_sn in a get_order_detail answer: id, amount, currency,
 * paid_at, shipped_at and items. PB_ENOTFOUND when the answer does not
 * list it. out is owned by the caller (pb_order_release) on success. */
pb_err pb_shopee_read_order(const struct cJSON *ans, const char *order_sn, struct pb_order *out,
			    pb_errbuf *eb);
/* The trace in a get_tracking_number and a get_tracking_info answer,
 * newest event first, provider "shopee", fetched at now. out is owned by
 * the caller (pb_trace_release) on success. */
pb_err pb_shopee_read_tracking(const struct cJSON *number_ans, const struct cJSON *info_ans,
			       int64_t now, pb_trace *out, pb_errbuf *eb);

#endif
