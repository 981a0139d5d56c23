/*
 * The assessment (see assess.h). Everything is computed from the trace's
 * instants and the `now` passed in, so results are the same on any machine,
 * in any time zone, across midnight and across daylight-saving changes.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "parcelbot/assess.h"

#include <cJSON.h>
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

#include "parcelbot/buf.h"
#include "parcelbot/norm.h"
#include "parcelbot/order.h"
#include "parcelbot/policy.h"
#include "parcelbot/utf8.h"

static const char *const anomaly_names[PB_AN_COUNT_] = {
	"no_update", "stuck_at_node", "not_picked_up", "no_trace", "delivery_failed",
	"returned", "lost", "damaged_in_transit", "signed_elsewhere", "not_shipped_late",
};

static const char *const place_names[PB_PLACE_COUNT_] = {
	"none", "parcel_station", "locker", "reception", "family_or_other", "mailbox", "in_person",
};

const char *pb_anomaly_name(pb_anomaly a)
{
	return (unsigned)a < PB_AN_COUNT_ ? anomaly_names[a] : "unknown";
}

int pb_anomaly_from_name(const char *name)
{
	int i;

	for (i = 0; name && i < PB_AN_COUNT_; i++)
		if (!strcmp(anomaly_names[i], name))
			return i;
	return -1;
}

const char *pb_place_name(pb_place p)
{
	return (unsigned)p < PB_PLACE_COUNT_ ? place_names[p] : "none";
}

/* The kind of the first rule whose pattern matches text, or -1. */
static int match_text(const pb_kb *kb, const pb_text_rule *rules, size_t n, const char *text)
{
	pb_buf norm;
	pcre2_match_data *md;
	int kind = -1;
	size_t i;

	if (!text || !*text || !n)
		return -1;
	pb_buf_init(&norm, 16384);
	if (pb_normalise(kb->fold, text, strlen(text), &norm) || !norm.data) {
		pb_buf_release(&norm);
		return -1;
	}
	md = pcre2_match_data_create(1, NULL);
	for (i = 0; md && i < n && kind < 0; i++)
		if (pcre2_match(rules[i].code, (PCRE2_SPTR)norm.data, norm.len, 0, 0, md, NULL) >= 0)
			kind = rules[i].kind;
	pcre2_match_data_free(md);
	pb_buf_release(&norm);
	return kind;
}

pb_place pb_assess_place(const pb_kb *kb, const char *text)
{
	int k = match_text(kb, kb->policy->places, kb->policy->n_places, text);

	return k < 0 ? PB_PLACE_NONE : (pb_place)k;
}

pb_exkind pb_assess_exception(const pb_kb *kb, const char *text)
{
	int k = match_text(kb, kb->policy->exceptions, kb->policy->n_exceptions, text);

	return k < 0 ? PB_EX_OTHER : (pb_exkind)k;
}

/* Where an event happened: its location, or a place the carrier wrote in
 * brackets (快件已到达【杭州转运中心】) when the provider gave none. */
static const char *event_node(const pb_event *e, char *buf, size_t n)
{
	const char *open, *close;

	if (e->location && *e->location)
		return e->location;
	open = strstr(e->description, "【");
	close = open ? strstr(open, "】") : NULL;
	if (open && close && (size_t)(close - open - 3) < n) {
		memcpy(buf, open + 3, (size_t)(close - open - 3));
		buf[close - open - 3] = '\0';
		return buf;
	}
	return "";
}

static bool only_info_received(const pb_trace *t)
{
	size_t i;

	for (i = 0; i < t->n_events; i++)
		if (t->events[i].state != PB_ST_INFO_RECEIVED && t->events[i].state != PB_ST_PENDING)
			return false;
	return t->n_events > 0;
}

pb_err pb_assess(const pb_kb *kb, const pb_trace *trace, const pb_order *order, int64_t now,
		 pb_assessment *out)
{
	const pb_policy *pol = kb ? kb->policy : NULL;
	const pb_thresholds *th;
	const pb_event *last;
	char nb[256], nb2[256];
	const char *node;
	size_t i;

	if (!pol || !out)
		return PB_EINVAL;
	memset(out, 0, sizeof *out);
	out->last = -1;
	out->hours_since_update = out->hours_at_node = -1;
	out->hours_since_paid = out->hours_since_shipped = -1;
	th = pb_policy_thresholds(pol, order ? order->category : NULL, &out->perishable);
	if (order && order->has_paid_at)
		out->hours_since_paid = pb_hours_between(order->paid_at.t, now);
	if (order && order->has_shipped_at)
		out->hours_since_shipped = pb_hours_between(order->shipped_at.t, now);

	if (!trace || !trace->number || !*trace->number) {
		/* No parcel yet: late only if it should have shipped by now. */
		if (order && !order->has_shipped_at && out->hours_since_paid >= th->not_shipped)
			out->anomalies |= 1u << PB_AN_NOT_SHIPPED_LATE;
		return PB_OK;
	}
	out->has_parcel = true;
	out->stale = trace->stale;
	if (!trace->n_events) {
		out->state = PB_ST_UNKNOWN;
		/* A lookup that failed (stale, nothing cached) is no proof
		 * the carrier has no record. */
		if (out->hours_since_shipped >= th->no_trace && !trace->stale)
			out->anomalies |= 1u << PB_AN_NO_TRACE;
		return PB_OK;
	}
	out->has_trace = true;
	out->last = 0;
	last = &trace->events[0];
	out->state = last->state;
	out->exception = last->exception;
	if (out->state == PB_ST_EXCEPTION && out->exception == PB_EX_NONE)
		out->exception = pb_assess_exception(kb, last->description);
	out->hours_since_update = pb_hours_between(last->time.t, now);

	/* The node is where the newest event happened; the parcel has been
	 * there since the oldest consecutive event at the same place. */
	node = event_node(last, nb, sizeof nb);
	out->hours_at_node = out->hours_since_update;
	if (*node) {
		for (i = 1; i < trace->n_events; i++) {
			if (strcmp(event_node(&trace->events[i], nb2, sizeof nb2), node))
				break;
			out->hours_at_node = pb_hours_between(trace->events[i].time.t, now);
		}
		snprintf(out->node, sizeof out->node, "%.*s",
			 (int)pb_utf8_clip(node, strlen(node), sizeof out->node - 1), node);
	}

	if (out->state == PB_ST_DELIVERED || out->state == PB_ST_AVAILABLE_FOR_PICKUP) {
		out->place = pb_assess_place(kb, last->description);
		if (out->place == PB_PLACE_NONE && *last->location)
			out->place = pb_assess_place(kb, last->location);
		if (out->state == PB_ST_DELIVERED && out->place != PB_PLACE_NONE &&
		    out->place != PB_PLACE_IN_PERSON)
			out->anomalies |= 1u << PB_AN_SIGNED_ELSEWHERE;
	} else if (out->state != PB_ST_EXPIRED) {
		/* A parcel waiting at a pick-up point is not stalled; everything
		 * else not yet delivered is measured against the thresholds. */
		if (out->hours_since_update >= th->no_update)
			out->anomalies |= 1u << PB_AN_NO_UPDATE;
		if (*node && out->state != PB_ST_INFO_RECEIVED &&
		    out->hours_at_node >= th->stuck_at_node)
			out->anomalies |= 1u << PB_AN_STUCK_AT_NODE;
	}
	if (only_info_received(trace) &&
	    pb_hours_between(trace->events[trace->n_events - 1].time.t, now) >= th->not_picked_up)
		out->anomalies |= 1u << PB_AN_NOT_PICKED_UP;
	if (out->state == PB_ST_ATTEMPT_FAIL)
		out->anomalies |= 1u << PB_AN_DELIVERY_FAILED;
	if (out->exception == PB_EX_RETURNING || out->exception == PB_EX_RETURNED)
		out->anomalies |= 1u << PB_AN_RETURNED;
	if (out->exception == PB_EX_LOST)
		out->anomalies |= 1u << PB_AN_LOST;
	if (out->exception == PB_EX_DAMAGED)
		out->anomalies |= 1u << PB_AN_DAMAGED_IN_TRANSIT;
	return PB_OK;
}

cJSON *pb_assessment_json(const pb_assessment *a, const pb_trace *trace)
{
	cJSON *o = cJSON_CreateObject(), *arr, *e;
	char tb[40];
	int i;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "state", a->has_parcel ? pb_pstate_name(a->state) : "no_parcel");
	if (a->exception)
		cJSON_AddStringToObject(o, "exception", pb_exkind_name(a->exception));
	cJSON_AddBoolToObject(o, "stale", a->stale);
	if (a->last >= 0 && trace) {
		const pb_event *ev = &trace->events[a->last];
		e = cJSON_AddObjectToObject(o, "last_event");
		cJSON_AddStringToObject(e, "time", pb_time_format(ev->time, tb, sizeof tb));
		cJSON_AddStringToObject(e, "location", ev->location);
		cJSON_AddStringToObject(e, "description", ev->description);
	} else {
		cJSON_AddNullToObject(o, "last_event");
	}
	if (a->hours_since_update >= 0)
		cJSON_AddNumberToObject(o, "hours_since_update", (double)(long)(a->hours_since_update * 10) / 10);
	else
		cJSON_AddNullToObject(o, "hours_since_update");
	if (a->hours_at_node >= 0)
		cJSON_AddNumberToObject(o, "hours_at_node", (double)(long)(a->hours_at_node * 10) / 10);
	else
		cJSON_AddNullToObject(o, "hours_at_node");
	cJSON_AddStringToObject(o, "node", a->node);
	cJSON_AddStringToObject(o, "place", pb_place_name(a->place));
	cJSON_AddBoolToObject(o, "perishable", a->perishable);
	arr = cJSON_AddArrayToObject(o, "anomalies");
	for (i = 0; arr && i < PB_AN_COUNT_; i++)
		if ((a->anomalies >> i) & 1)
			cJSON_AddItemToArray(arr, cJSON_CreateString(pb_anomaly_name((pb_anomaly)i)));
	return o;
}
