/*
 * The assessment: a parcel's trace, the order and the shop's policy at a
 * given moment, turned into facts (state, last event, hours without update,
 * hours at the current node, where a delivered parcel was left) and
 * anomalies with the names and thresholds the policy defines. Pure: `now`
 * is passed in, and nothing is read or written outside the arguments.
 */
#ifndef PARCELBOT_ASSESS_H
#define PARCELBOT_ASSESS_H

#include <stdbool.h>
#include <stdint.h>

#include "parcelbot/err.h"
#include "parcelbot/trace.h"

struct pb_kb;
struct pb_order;
struct cJSON;

typedef enum pb_anomaly {
	PB_AN_NO_UPDATE,          /* not delivered, no event for policy hours */
	PB_AN_STUCK_AT_NODE,      /* at the same node for policy hours */
	PB_AN_NOT_PICKED_UP,      /* only "info received" for policy hours */
	PB_AN_NO_TRACE,           /* no event at all, long after shipping */
	PB_AN_DELIVERY_FAILED,    /* the last state is a failed attempt */
	PB_AN_RETURNED,           /* returning or returned to the sender */
	PB_AN_LOST,               /* the carrier says lost */
	PB_AN_DAMAGED_IN_TRANSIT, /* the carrier says damaged */
	PB_AN_SIGNED_ELSEWHERE,   /* delivered, but not to the buyer in person */
	PB_AN_NOT_SHIPPED_LATE,   /* no parcel yet, paid long ago */
	PB_AN_COUNT_
} pb_anomaly;

typedef enum pb_place {
	PB_PLACE_NONE = 0,       /* not delivered, or the text does not say */
	PB_PLACE_PARCEL_STATION, /* 驿站, pick-up point */
	PB_PLACE_LOCKER,         /* 快递柜, 丰巢 */
	PB_PLACE_RECEPTION,      /* 前台, 门卫, 物业 */
	PB_PLACE_FAMILY_OR_OTHER, /* 代签, a neighbour */
	PB_PLACE_MAILBOX,
	PB_PLACE_IN_PERSON,
	PB_PLACE_COUNT_
} pb_place;

typedef struct pb_assessment {
	bool has_parcel;          /* a parcel (tracking number) exists */
	bool has_trace;           /* at least one event */
	bool stale;               /* the trace came from cache after a failure */
	bool perishable;          /* the order's category uses perishable thresholds */
	pb_pstate state;          /* state of the newest event */
	pb_exkind exception;      /* its exception kind (inferred from the text
				   * when the provider gave none) */
	int last;                 /* index of the newest event, -1 when none */
	char node[128];           /* where the parcel is: the newest event's
				   * location, or a place named in its text */
	double hours_since_update; /* -1 when there is no event */
	double hours_at_node;      /* -1 when there is no event */
	double hours_since_paid;   /* -1 when unknown */
	double hours_since_shipped; /* -1 when unknown */
	pb_place place;           /* where a delivered / pickup parcel was left */
	uint32_t anomalies;       /* bit per pb_anomaly */
} pb_assessment;

const char *pb_anomaly_name(pb_anomaly a);
/* Returns -1 for an unknown name. */
int pb_anomaly_from_name(const char *name);
const char *pb_place_name(pb_place p);

static inline bool pb_has_anomaly(const pb_assessment *a, pb_anomaly x)
{
	return (a->anomalies >> x) & 1;
}

/* Assesses trace (NULL when the order has no parcel yet) for order (may be
 * NULL) at now. out->last indexes trace->events. Fails only for invalid
 * arguments. */
pb_err pb_assess(const struct pb_kb *kb, const pb_trace *trace, const struct pb_order *order,
		 int64_t now, pb_assessment *out);

/* The place named in a delivery text ("已由菜鸟驿站代收" is a parcel station),
 * per the KB's tracking.yaml. */
pb_place pb_assess_place(const struct pb_kb *kb, const char *text);
/* The exception kind named in an event text, PB_EX_OTHER when none. */
pb_exkind pb_assess_exception(const struct pb_kb *kb, const char *text);

/* {state, exception, stale, last_event{time,location,description},
 * hours_since_update, hours_at_node, place, anomalies[]} */
struct cJSON *pb_assessment_json(const pb_assessment *a, const pb_trace *trace);

#endif
