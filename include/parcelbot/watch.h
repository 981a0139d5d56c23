/*
 * The proactive watch: every order in the store with a parcel that is not
 * delivered is looked up (in batches, at a bounded rate) and assessed; when
 * one of the watched anomalies appears, a proactive case (origin "watch",
 * kind "anomaly:<name>", scope "order:<id>") is opened with an outreach
 * draft queued for the agent like any other draft, before the buyer asks.
 *
 * One case per order and anomaly: an open case of that scope and kind is
 * never opened twice, so a second scan opens none. When several watched
 * anomalies appear on an order at once, the case is opened for the most
 * severe (lost, returned, delivery_failed, no_trace, not_picked_up,
 * stuck_at_node, no_update): the outreach template reads all of them, and
 * the buyer gets one message, not one per symptom. A buyer message about
 * the same order later joins the proactive case (pb_case_find_for_message).
 *
 * Perishable orders are assessed against the policy's perishable
 * thresholds (pb_assess reads the order's category).
 *
 * The daemon's scheduler can call pb_watch_run as `parcelbot scan` does;
 * it uses one store handle and must not be called inside a transaction
 * (lookups run outside any, each order's writes are one transaction).
 */
#ifndef PARCELBOT_WATCH_H
#define PARCELBOT_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parcelbot/err.h"
#include "parcelbot/store.h"
#include "parcelbot/track.h"

struct pb_kb;

/* Looks up n parcels (results[i] answers queries[i]), as
 * pb_track_lookup_many does; tests inject their own. */
typedef void (*pb_watch_lookup)(void *ctx, const pb_track_query *queries, size_t n, int64_t now,
				pb_track_result *results);

typedef struct pb_watch_opts {
	size_t batch;          /* lookups per batch; 0: 40 */
	double rate;           /* lookups per second at most; 0: 10 */
	const char *actor;     /* recorded on the cases; NULL: "watch" */
	pb_watch_lookup lookup; /* NULL: pb_track_lookup_many on the tracker */
	void *lookup_ctx;
	/* Waits ms milliseconds between batches; NULL: nanosleep. */
	void (*wait)(void *ctx, long ms);
	void *wait_ctx;
} pb_watch_opts;

typedef struct pb_watch_stats {
	size_t orders;        /* orders in the store */
	size_t parcels;       /* orders with a parcel not known to be delivered */
	size_t lookups;       /* parcels looked up */
	size_t lookup_failed; /* lookups that gave no trace */
	size_t delivered;     /* parcels found delivered */
	size_t anomalous;     /* parcels with a watched anomaly */
	size_t opened;        /* proactive cases opened, each with a draft */
	size_t existing;      /* anomalies whose case was already open */
	size_t failed;        /* orders whose writes failed (see error) */
	char error[256];      /* the last failure, for a summary */
} pb_watch_stats;

/* Runs one scan at now. tracker may be NULL when o->lookup is set.
 * Failures of single lookups or orders are counted in stats and skipped;
 * an error is returned only when the scan could not run at all. */
pb_err pb_watch_run(pb_store *st, const struct pb_kb *kb, pb_tracker *tracker, int64_t now,
		    const pb_watch_opts *o, pb_watch_stats *stats, pb_errbuf *eb);

/* True for the anomalies the watch acts on. */
bool pb_watch_anomaly(int anomaly);

#endif
