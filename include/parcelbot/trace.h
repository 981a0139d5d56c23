/*
 * A parcel's trace, normalised across providers: events newest first, each
 * with its time (with offset), place, text, the provider's raw code, a state
 * from one small vocabulary and, for exceptions, what kind. Every tracking
 * adapter produces this, and the assessment reads only this.
 */
#ifndef PARCELBOT_TRACE_H
#define PARCELBOT_TRACE_H

#include <stdbool.h>
#include <stddef.h>

#include "parcelbot/err.h"
#include "parcelbot/time.h"

struct cJSON;

typedef enum pb_pstate {
	PB_ST_UNKNOWN = 0,        /* no event at all */
	PB_ST_PENDING,            /* the provider has nothing yet */
	PB_ST_INFO_RECEIVED,      /* label printed, not picked up */
	PB_ST_IN_TRANSIT,
	PB_ST_OUT_FOR_DELIVERY,
	PB_ST_AVAILABLE_FOR_PICKUP,
	PB_ST_ATTEMPT_FAIL,
	PB_ST_DELIVERED,
	PB_ST_EXCEPTION,
	PB_ST_EXPIRED,
	PB_ST_COUNT_
} pb_pstate;

typedef enum pb_exkind {
	PB_EX_NONE = 0,
	PB_EX_LOST,
	PB_EX_DAMAGED,
	PB_EX_RETURNING,
	PB_EX_RETURNED,
	PB_EX_REFUSED,
	PB_EX_ADDRESS,
	PB_EX_CUSTOMS,
	PB_EX_DELAYED,
	PB_EX_OTHER,
	PB_EX_COUNT_
} pb_exkind;

typedef struct pb_event {
	pb_when time;
	char *location;    /* may be "" */
	char *description; /* the carrier's text */
	char *code;        /* the provider's raw status code, may be "" */
	pb_pstate state;
	pb_exkind exception; /* for PB_ST_EXCEPTION (and returns) */
} pb_event;

typedef struct pb_trace {
	char *carrier;  /* parcelbot carrier id, may be "" */
	char *number;   /* tracking number */
	char *provider; /* "kuaidi100", "17track", "order", ... */
	bool found;     /* the provider knows this number */
	bool stale;     /* served from cache because the provider failed */
	int64_t fetched_at;
	pb_event *events; /* newest first */
	size_t n_events;
} pb_trace;

const char *pb_pstate_name(pb_pstate s);
/* Returns PB_ST_UNKNOWN for names it does not know ("unknown" included). */
pb_pstate pb_pstate_from_name(const char *name);
const char *pb_exkind_name(pb_exkind k);
pb_exkind pb_exkind_from_name(const char *name);

void pb_trace_init(pb_trace *t);
void pb_trace_release(pb_trace *t);
/* Deep copy; returns PB_ENOMEM on failure (dst is then empty). */
pb_err pb_trace_copy(pb_trace *dst, const pb_trace *src);
/* Appends an event (copying the strings). Call pb_trace_sort when done. */
pb_err pb_trace_add(pb_trace *t, pb_when time, const char *location, const char *description,
		    const char *code, pb_pstate state, pb_exkind exception);
/* Sorts events newest first; events at the same instant keep their order. */
void pb_trace_sort(pb_trace *t);

/* {carrier, number, provider, found, stale, fetched_at, events: [...]}.
 * Caller owns the result. NULL on ENOMEM. */
struct cJSON *pb_trace_json(const pb_trace *t);
/* Reads the same shape (and the scenario shape: a parcel object with carrier,
 * number and events of {time, location, description, state}). Event times
 * without an offset are taken at default_off. Errors name the bad field. */
pb_err pb_trace_from_json(const struct cJSON *j, int32_t default_off, pb_trace *out,
			  pb_errbuf *eb);

#endif
