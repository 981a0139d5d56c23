/*
 * Parcel tracking: asks a provider (Kuaidi100 or 17TRACK) for the trace of
 * one or many parcels and normalises each answer into a pb_trace (events
 * newest first, states and exception kinds from trace.h, the provider's raw
 * code kept in each event). See docs/providers.md for the mapping tables.
 *
 * A pb_tracker holds the providers' credentials, one HTTP client and a trace
 * cache, and is shared freely between threads. Lookups in one call run
 * concurrently: one request per parcel for Kuaidi100, batches of up to 40
 * numbers for 17TRACK.
 *
 * The cache keeps each trace for cache_ttl seconds (measured with the `now`
 * the caller passes, never the clock), holds at most cache_entries traces
 * and drops the least recently used first. When a provider fails and the
 * cache has any trace for the parcel, however old, that trace is returned
 * marked stale (trace.stale) together with why the provider failed. When no
 * trace can be had, the result carries the error and an empty trace: no
 * event is ever made up.
 */
#ifndef PARCELBOT_TRACK_H
#define PARCELBOT_TRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parcelbot/err.h"
#include "parcelbot/kb.h"
#include "parcelbot/trace.h"

typedef enum pb_provider {
	PB_PROVIDER_AUTO = 0, /* per carrier: Kuaidi100 when it has a Kuaidi100 code and
			       * credentials are set, else 17TRACK */
	PB_PROVIDER_KUAIDI100,
	PB_PROVIDER_17TRACK,
} pb_provider;

/* "auto", "kuaidi100", "17track" */
const char *pb_provider_name(pb_provider p);
/* Returns false for a name it does not know. */
bool pb_provider_from_name(const char *name, pb_provider *out);

#define PB_KUAIDI100_URL "https://poll.kuaidi100.com/poll/query.do"
#define PB_17TRACK_URL "https://api.17track.net/track/v2.2"

/* The tracking section of the configuration (see config.h). Strings are
 * owned; the secrets are wiped before they are freed. */
typedef struct pb_track_config {
	pb_provider provider;
	char *k100_customer; /* Kuaidi100 "customer" (authorisation code) */
	char *k100_key;      /* Kuaidi100 key (secret) */
	char *k100_url;      /* the real-time query endpoint */
	char *t17_token;     /* 17TRACK API key, sent as the 17token header (secret) */
	char *t17_url;       /* base URL; /register and /gettrackinfo are appended */
	long connect_timeout_ms;
	long timeout_ms;
	unsigned retries;
	long backoff_base_ms;
	long backoff_max_ms;
	int64_t cache_ttl;    /* seconds */
	size_t cache_entries;
	size_t max_body;      /* bytes */
} pb_track_config;

/* Defaults: provider auto, the providers' public URLs, connect timeout 3 s,
 * timeout 10 s, 3 retries from 500 ms up to 30 s, cache 10 minutes and 1000
 * traces, bodies up to 8 MiB. Returns PB_ENOMEM (c is then released). */
pb_err pb_track_config_init(pb_track_config *c);
void pb_track_config_release(pb_track_config *c);
/* Replaces *field with a copy of value (NULL clears it); wipes the old one. */
pb_err pb_track_config_set(char **field, const char *value);

typedef struct pb_tracker pb_tracker;

/* Builds a tracker. cfg is copied; kb gains a reference (it supplies the
 * carriers' Kuaidi100 codes, 17TRACK keys and phone requirements). */
pb_err pb_tracker_new(const pb_track_config *cfg, pb_kb *kb, pb_tracker **out, pb_errbuf *eb);
void pb_tracker_free(pb_tracker *t);

typedef struct pb_track_query {
	const char *carrier;     /* parcelbot carrier id from the KB; may be NULL or ""
				  * for 17TRACK, which then detects the carrier */
	const char *number;      /* tracking number */
	const char *phone_last4; /* recipient's phone, last 4 digits, or NULL */
	pb_provider provider;    /* AUTO: as configured */
} pb_track_query;

typedef struct pb_track_result {
	pb_err err;          /* PB_OK: trace is usable (fresh, cached, or stale) */
	pb_errbuf eb;        /* why, when err is set or the trace is stale */
	pb_err provider_err; /* the provider's failure behind a stale trace, or PB_OK */
	bool from_cache;     /* answered from the cache without asking anyone */
	pb_trace trace;      /* owned; empty when err is set */
} pb_track_result;

void pb_track_result_release(pb_track_result *r);

/* Looks up n parcels at once (results[i] answers queries[i]; results need
 * no initialisation). now is the current time in seconds since the epoch.
 * Returns PB_EINVAL for bad arguments, PB_ENOMEM when nothing could be
 * done, PB_OK otherwise: each result says how its own lookup went. */
pb_err pb_track_lookup_many(pb_tracker *t, const pb_track_query *queries, size_t n, int64_t now,
			    pb_track_result *results);
/* One parcel; returns result->err. */
pb_err pb_track_lookup(pb_tracker *t, const pb_track_query *q, int64_t now,
		       pb_track_result *result);

/* Drops every cached trace. */
void pb_tracker_cache_clear(pb_tracker *t);
/* Traces in the cache now. */
size_t pb_tracker_cache_size(pb_tracker *t);

#endif
