/*
 * Shared between the tracker (track.c) and its provider adapters
 * (track_kuaidi100.c, track_17track.c), and exposed to the unit tests: the
 * wire-format builders and parsers are pure functions of their input. Not
 * part of the public API.
 */
#ifndef PARCELBOT_TRACK_INTERNAL_H
#define PARCELBOT_TRACK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "parcelbot/buf.h"
#include "parcelbot/digest.h"
#include "parcelbot/http.h"
#include "parcelbot/track.h"

struct cJSON;

/* Caps on what one answer may put into a trace. */
#define PB_TRACK_MAX_EVENTS 500
#define PB_TRACK_MAX_DESC 1024
#define PB_TRACK_MAX_LOC 256
#define PB_TRACK_MAX_NUMBER 64
#define PB_TRACK_MAX_MSG 160

/* Chinese traces carry China time without saying so. */
#define PB_CHINA_OFFSET (8 * 3600)

/* One parcel on its way through an adapter. The tracker fills the inputs;
 * the adapter sets err/eb and, on success, trace (with found and events;
 * the tracker fills carrier, number, provider and fetched_at). */
typedef struct pb_track_job {
	/* in */
	const char *number;
	const char *phone_last4;      /* NULL or 4 digits */
	const char *k100_com;         /* Kuaidi100 company code */
	long t17_carrier;             /* 17TRACK carrier key, 0 to let it detect */
	bool t17_registered;          /* known to be registered already */
	/* out */
	pb_err err;                   /* PB_OK: trace is the provider's answer */
	pb_errbuf eb;
	pb_trace trace;
} pb_track_job;

/* The credentials and limits an adapter works with. */
typedef struct pb_track_ctx {
	const pb_track_config *cfg;
	pb_http *http;
} pb_track_ctx;

/* Looks up every job (concurrently), setting each job's outcome. */
void pb_k100_lookup(const pb_track_ctx *ctx, pb_track_job *jobs, size_t n);
void pb_t17_lookup(const pb_track_ctx *ctx, pb_track_job *jobs, size_t n);

/* --- Kuaidi100 ------------------------------------------------------ */

/* The `param` JSON of a real-time query (com, num, phone when given,
 * resultv2=4 for per-event status codes, show=0, order=desc). */
pb_err pb_k100_param(const char *com, const char *num, const char *phone, pb_buf *out);
/* sign = upper-case hex MD5 of param + key + customer. */
pb_err pb_k100_sign(const char *param, const char *key, const char *customer,
		    char out[PB_MD5_HEX_LEN + 1]);
/* The form body "customer=...&sign=...&param=..." (URL-encoded). */
pb_err pb_k100_body(const char *customer, const char *key, const char *param, pb_buf *out);
/* Maps a Kuaidi100 state or status code ("0", "1002", "304", ...) or status
 * name ("在途", "签收", ...) to a state and exception kind. Unknown codes
 * fall back to their basic family (1002 -> 0); returns false, with
 * PB_ST_UNKNOWN, when even that is unknown. */
bool pb_k100_map(const char *code, pb_pstate *st, pb_exkind *ex);
/* Reads a query answer. PB_OK with trace->found false for "no result"
 * (returnCode 500); PB_EINVAL (400), PB_EUPSTREAM (501, 502 and codes it
 * does not know), PB_EAUTH (503, 601) for error replies; PB_EPARSE for
 * anything malformed. Messages quote the provider's message with the
 * secrets redacted. */
pb_err pb_k100_parse(const char *body, size_t len, const char *const *secrets, pb_trace *trace,
		     pb_errbuf *eb);

/* --- 17TRACK -------------------------------------------------------- */

#define PB_T17_MAX_BATCH 40

/* Maps a 17TRACK status or sub-status ("InTransit", "Exception_Lost", ...)
 * to a state and exception kind; false (PB_ST_UNKNOWN) when unknown. A
 * sub-status it does not know falls back to its main status. */
bool pb_t17_map(const char *status, pb_pstate *st, pb_exkind *ex);
/* Maps a 17TRACK error code to parcelbot's: -18010001/2/4/5 PB_EAUTH,
 * -18019907/8 PB_ELIMIT, format and field errors PB_EINVAL, -18019909
 * PB_ENOTFOUND, everything else PB_EUPSTREAM. */
pb_err pb_t17_error(long code);
/* The JSON array body for a batch of jobs (number and, when known, carrier). */
pb_err pb_t17_body(pb_track_job *const *jobs, size_t n, pb_buf *out);
/* Reads an accepted gettrackinfo item into a trace. */
pb_err pb_t17_trace(const struct cJSON *item, pb_trace *trace, pb_errbuf *eb);

/* One number's fate in a 17TRACK answer. */
typedef struct pb_t17_item {
	const char *number; /* in */
	bool accepted;      /* out */
	long code;          /* out: the rejection's error code, 0 if none */
	char msg[PB_TRACK_MAX_MSG]; /* out: the rejection's message */
	const struct cJSON *json; /* out: the accepted item, valid while root lives */
} pb_t17_item;

/* Reads a register or gettrackinfo answer, matching items by number. A
 * request-level error (token, quota, malformed batch) is returned and
 * described in eb; otherwise PB_OK with each item marked. *root receives the
 * parsed document (caller frees with cJSON_Delete) so that accepted items
 * can be read. */
pb_err pb_t17_parse(const char *body, size_t len, long http_status, pb_t17_item *items, size_t n,
		    const char *const *secrets, struct cJSON **root, pb_errbuf *eb);

/* --- shared helpers ------------------------------------------------- */

/* A provider's string, made fit for a trace: invalid UTF-8 repaired, NULs
 * dropped, surrounding white space trimmed, clipped to max bytes. Returns
 * an allocated string ("" for NULL), or NULL on ENOMEM. */
char *pb_track_clean(const char *s, size_t max);
/* Parses a JSON body that may hold invalid UTF-8 (repaired first). */
struct cJSON *pb_track_parse_json(const char *body, size_t len);

#endif
