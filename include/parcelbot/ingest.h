/*
 * Ingest: the pipeline's imperative shell. Buyer messages come in as JSON
 * events, go into the store's inbox first (that is when they count as
 * received), and are then processed: conversation, buyer, order, parcel
 * and trace saved; the case found or opened; the pure pipeline run with the
 * case's earlier contacts; the draft, the case's moves, its reminders and
 * outbox rows written; the inbox row marked processed. All of one
 * message's writes are one transaction (a savepoint in a batch's), so a
 * crash loses at most the batch being written, whose events are still in
 * the inbox, and nothing is ever done twice.
 *
 * An event is an object shaped like a line of the evaluation's
 * scenarios-dev.jsonl (message, now, order, parcel) plus:
 *   message_id    the channel's id for the message (string or integer)
 *   conversation  the channel's conversation id
 *   channel       optional, default "cli"
 *   buyer         optional buyer id on the channel
 * "now" is when the buyer wrote (default: when the event was received).
 * A parcel with events is the trace as last seen; a parcel with only
 * carrier and number is looked up: in the tracking cache, then through the
 * resolver. history.contacts is ignored: the store knows the contacts.
 *
 * An event may instead be an agent's command given in the channel (see
 * channel.h): {"kind": "command", "channel", "message_id", "conversation",
 * "agent", "command": send|reject|escalate|note|resolve, "text", "now"}.
 * It acts on the conversation's case (pb_store_case_for_conversation)
 * exactly as the matching pb_case_* call; one the case refuses (no draft
 * waiting, a state that does not allow it) is kept in the inbox with the
 * reason as its error.
 *
 * A pb_ingest uses one store handle and one classifier: one per thread.
 */
#ifndef PARCELBOT_INGEST_H
#define PARCELBOT_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parcelbot/err.h"
#include "parcelbot/store.h"
#include "parcelbot/trace.h"

struct pb_kb;
struct cJSON;

/* Looks up a parcel's trace. Fills out (the caller releases it) or returns
 * an error with a message in eb. Called outside any store transaction, so
 * a slow lookup holds up no other writer. */
typedef pb_err (*pb_trace_resolver)(void *ctx, const char *carrier, const char *number,
				    const char *phone_last4, int64_t now, pb_trace *out,
				    pb_errbuf *eb);

/* One number-only parcel of a batch to look up: carrier, number and the
 * recipient's phone digits (may be NULL) in; trace (released by ingest),
 * err and eb out. */
typedef struct pb_ingest_lookup {
	const char *carrier, *number, *phone_last4;
	pb_trace trace;
	pb_err err;
	pb_errbuf eb;
} pb_ingest_lookup;

/* Looks up n parcels at once (a provider batches them, and they overlap
 * instead of queueing); each entry gets its own answer. Called outside
 * any store transaction. */
typedef void (*pb_trace_resolver_many)(void *ctx, pb_ingest_lookup *l, size_t n, int64_t now);

/* Completes a message event before it is processed, outside any store
 * transaction: fills in the order and parcel from an order source, say.
 * A failure is counted and logged, and the event goes on as it was. */
typedef pb_err (*pb_event_enricher)(void *ctx, struct cJSON *event, int64_t now,
				    pb_errbuf *eb);

typedef struct pb_ingest_opts {
	const char *worker;      /* the inbox claim owner; default "ingest" */
	const char *actor;       /* recorded on case events; default "parcelbot" */
	size_t batch;            /* messages per transaction; default 256 */
	int64_t lease;           /* seconds a claim holds against other
				  * workers; default 300 */
	int64_t cache_ttl;       /* a cached trace younger than this many
				  * seconds is used without a lookup; default 7200 */
	int max_attempts;        /* an event failing this often is given up;
				  * default 3 (bad input: at once) */
	pb_trace_resolver resolve; /* NULL: the tracking cache only */
	pb_trace_resolver_many resolve_many; /* preferred over resolve when set */
	void *resolve_ctx;          /* for either */
	pb_event_enricher enrich;   /* NULL: events are taken as they are */
	void *enrich_ctx;
} pb_ingest_opts;

typedef struct pb_ingest_stats {
	size_t received;   /* new events put in the inbox */
	size_t duplicate;  /* events the inbox had already */
	size_t rejected;   /* events refused before the inbox (malformed) */
	size_t processed;  /* inbox rows processed */
	size_t failed;     /* inbox rows given up, with their error kept */
	size_t drafted;    /* drafts for an agent */
	size_t escalated;  /* drafts handed to a human */
	size_t opened;     /* cases opened */
	size_t joined;     /* messages that joined an open case as a contact */
	size_t no_case;    /* messages that raised no problem and had no case */
	size_t cache_hits; /* traces served by the tracking cache */
	size_t lookups;    /* resolver calls */
	size_t untraced;   /* parcels drafted without a trace: nothing found */
	size_t commands;   /* agents' commands carried out */
	size_t enrich_failed; /* events the enricher could not complete */
	char lookup_error[256]; /* the last resolver failure, for a summary */
	char enrich_error[256]; /* the last enricher failure */
} pb_ingest_stats;

typedef struct pb_ingest pb_ingest;

/* kb and st must outlive the ingest. o may be NULL. */
pb_err pb_ingest_new(const struct pb_kb *kb, pb_store *st, const pb_ingest_opts *o,
		     pb_ingest **out, pb_errbuf *eb);
void pb_ingest_free(pb_ingest *ing);

/* Checks an event and puts it in the inbox, as received at received_at.
 * PB_EEXIST: the inbox has it already, nothing changes. Other errors: the
 * event is refused (eb says why) and nothing is stored. Inside a caller's
 * transaction it commits with it; otherwise on its own. */
pb_err pb_ingest_accept(pb_ingest *ing, const char *json, size_t len, int64_t received_at,
			pb_errbuf *eb);

/* Claims and processes up to max inbox rows (SIZE_MAX: until none is
 * left), `batch` per transaction, at now (for claims). Rows that fail are
 * kept with their error: retried up to max_attempts, and given up at once
 * when their content is bad. *done (may be NULL) counts rows handled. A
 * store failure stops it with the batch rolled back; its rows stay
 * claimed by this worker, which takes them up again on the next call. */
pb_err pb_ingest_process(pb_ingest *ing, int64_t now, size_t max, size_t *done, pb_errbuf *eb);

const pb_ingest_stats *pb_ingest_get_stats(const pb_ingest *ing);

#endif
