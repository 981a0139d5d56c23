/*
 * Tracking pushes: the providers calling us when a parcel moves, instead of
 * parcelbot polling. One pure function per provider checks the signature
 * and reads the body into a trace; no route is wired to them yet (the
 * daemon will hand them the request's fields).
 *
 * - Kuaidi100 subscription push: a form POST with `param` (JSON: status,
 *   message, lastResult shaped like a real-time query answer) and `sign`,
 *   the upper-case hex MD5 of param followed by the salt given when
 *   subscribing.
 * - 17TRACK webhook: a JSON body {event, data} whose data is shaped like a
 *   gettrackinfo item, signed in the `sign` header with the lower-case hex
 *   SHA-256 of the body, "/" and the account's security key.
 *
 * Signatures are compared in constant time. A missing or wrong signature is
 * PB_EAUTH and nothing is parsed; an empty salt or key is refused
 * (PB_EINVAL): an unsigned push would let anyone write traces.
 */
#ifndef PARCELBOT_PUSH_H
#define PARCELBOT_PUSH_H

#include <stddef.h>

#include "parcelbot/err.h"
#include "parcelbot/trace.h"

struct pb_kb;

typedef struct pb_push {
	char kind[24];  /* Kuaidi100 status (polling, shutdown, abort,
			 * updateall) or 17TRACK event (TRACKING_UPDATED,
			 * TRACKING_STOPPED) */
	pb_trace trace; /* carrier is parcelbot's id when kb knows the
			 * provider's code, else ""; number as pushed */
} pb_push;

void pb_push_release(pb_push *p);

/* Verifies and reads a Kuaidi100 push. kb (may be NULL) maps the company
 * code to a carrier. On success out is the caller's (pb_push_release). */
pb_err pb_push_k100(const struct pb_kb *kb, const char *param, const char *sign,
		    const char *salt, pb_push *out, pb_errbuf *eb);

/* Verifies and reads a 17TRACK webhook body of len bytes. */
pb_err pb_push_17track(const struct pb_kb *kb, const char *body, size_t len, const char *sign,
		       const char *key, pb_push *out, pb_errbuf *eb);

#endif
