/*
 * The normalised trace (see trace.h): names of states and exception kinds,
 * ownership helpers, and the JSON form shared by the CLI, the store and the
 * API.
 */
#include "parcelbot/trace.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/utf8.h"

static const char *const state_names[PB_ST_COUNT_] = {
	"unknown", "pending", "info_received", "in_transit", "out_for_delivery",
	"available_for_pickup", "attempt_fail", "delivered", "exception", "expired",
};

static const char *const ex_names[PB_EX_COUNT_] = {
	"none", "lost", "damaged", "returning", "returned", "refused",
	"address", "customs", "delayed", "other",
};

const char *pb_pstate_name(pb_pstate s)
{
	return (unsigned)s < PB_ST_COUNT_ ? state_names[s] : "unknown";
}

pb_pstate pb_pstate_from_name(const char *name)
{
	int i;

	for (i = 0; name && i < PB_ST_COUNT_; i++)
		if (!strcmp(state_names[i], name))
			return (pb_pstate)i;
	return PB_ST_UNKNOWN;
}

const char *pb_exkind_name(pb_exkind k)
{
	return (unsigned)k < PB_EX_COUNT_ ? ex_names[k] : "other";
}

pb_exkind pb_exkind_from_name(const char *name)
{
	int i;

	for (i = 0; name && i < PB_EX_COUNT_; i++)
		if (!strcmp(ex_names[i], name))
			return (pb_exkind)i;
	return PB_EX_OTHER;
}

void pb_trace_init(pb_trace *t)
{
	memset(t, 0, sizeof *t);
}

void pb_trace_release(pb_trace *t)
{
	size_t i;

	for (i = 0; i < t->n_events; i++) {
		free(t->events[i].location);
		free(t->events[i].description);
		free(t->events[i].code);
	}
	free(t->events);
	free(t->carrier);
	free(t->number);
	free(t->provider);
	pb_trace_init(t);
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

pb_err pb_trace_add(pb_trace *t, pb_when time, const char *location, const char *description,
		    const char *code, pb_pstate state, pb_exkind exception)
{
	pb_event *ne = realloc(t->events, (t->n_events + 1) * sizeof *ne), *e;

	if (!ne)
		return PB_ENOMEM;
	t->events = ne;
	e = &t->events[t->n_events];
	e->time = time;
	e->state = state;
	e->exception = exception;
	e->location = dup_or_empty(location);
	e->description = dup_or_empty(description);
	e->code = dup_or_empty(code);
	if (!e->location || !e->description || !e->code) {
		free(e->location);
		free(e->description);
		free(e->code);
		return PB_ENOMEM;
	}
	t->n_events++;
	return PB_OK;
}

void pb_trace_sort(pb_trace *t)
{
	size_t i, j;
	pb_event x;

	/* Insertion sort: stable, and traces are short. */
	for (i = 1; i < t->n_events; i++) {
		x = t->events[i];
		for (j = i; j > 0 && t->events[j - 1].time.t < x.time.t; j--)
			t->events[j] = t->events[j - 1];
		t->events[j] = x;
	}
}

pb_err pb_trace_copy(pb_trace *dst, const pb_trace *src)
{
	size_t i;

	pb_trace_init(dst);
	dst->carrier = dup_or_empty(src->carrier);
	dst->number = dup_or_empty(src->number);
	dst->provider = dup_or_empty(src->provider);
	dst->found = src->found;
	dst->stale = src->stale;
	dst->fetched_at = src->fetched_at;
	if (!dst->carrier || !dst->number || !dst->provider)
		goto oom;
	for (i = 0; i < src->n_events; i++) {
		const pb_event *e = &src->events[i];
		if (pb_trace_add(dst, e->time, e->location, e->description, e->code, e->state,
				 e->exception))
			goto oom;
	}
	return PB_OK;
oom:
	pb_trace_release(dst);
	return PB_ENOMEM;
}

cJSON *pb_trace_json(const pb_trace *t)
{
	cJSON *o = cJSON_CreateObject(), *a, *e;
	char tb[40];
	size_t i;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "carrier", t->carrier ? t->carrier : "");
	cJSON_AddStringToObject(o, "number", t->number ? t->number : "");
	cJSON_AddStringToObject(o, "provider", t->provider ? t->provider : "");
	cJSON_AddBoolToObject(o, "found", t->found);
	cJSON_AddBoolToObject(o, "stale", t->stale);
	if (t->fetched_at)
		cJSON_AddStringToObject(o, "fetched_at",
					pb_time_format((pb_when){t->fetched_at, 0}, tb, sizeof tb));
	a = cJSON_AddArrayToObject(o, "events");
	for (i = 0; a && i < t->n_events; i++) {
		const pb_event *ev = &t->events[i];
		e = cJSON_CreateObject();
		if (!e)
			break;
		cJSON_AddStringToObject(e, "time", pb_time_format(ev->time, tb, sizeof tb));
		cJSON_AddStringToObject(e, "location", ev->location);
		cJSON_AddStringToObject(e, "description", ev->description);
		cJSON_AddStringToObject(e, "state", pb_pstate_name(ev->state));
		if (ev->exception)
			cJSON_AddStringToObject(e, "exception", pb_exkind_name(ev->exception));
		if (ev->code && *ev->code)
			cJSON_AddStringToObject(e, "code", ev->code);
		cJSON_AddItemToArray(a, e);
	}
	return o;
}

/* A string field, checked to be valid UTF-8; "" when absent or null. */
static pb_err get_str(const cJSON *o, const char *key, const char **out, pb_errbuf *eb,
		      const char *where)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	*out = "";
	if (!v || cJSON_IsNull(v))
		return PB_OK;
	if (!cJSON_IsString(v))
		return pb_errf(eb, PB_EINVAL, "%s.%s must be a string", where, key);
	if (!pb_utf8_valid(v->valuestring, strlen(v->valuestring)))
		return pb_errf(eb, PB_EUTF8, "%s.%s is not valid UTF-8", where, key);
	*out = v->valuestring;
	return PB_OK;
}

pb_err pb_trace_from_json(const cJSON *j, int32_t default_off, pb_trace *out, pb_errbuf *eb)
{
	const cJSON *evs, *e, *fb;
	const char *carrier, *number, *provider;
	pb_trace t;
	pb_err err;
	size_t i = 0;
	char where[48];

	pb_trace_init(&t);
	if (!cJSON_IsObject(j))
		return pb_errf(eb, PB_EINVAL, "parcel must be an object");
	if ((err = get_str(j, "carrier", &carrier, eb, "parcel")) ||
	    (err = get_str(j, "number", &number, eb, "parcel")) ||
	    (err = get_str(j, "provider", &provider, eb, "parcel")))
		return err;
	t.carrier = strdup(carrier);
	t.number = strdup(number);
	t.provider = strdup(*provider ? provider : "order");
	if (!t.carrier || !t.number || !t.provider) {
		err = PB_ENOMEM;
		goto out;
	}
	fb = cJSON_GetObjectItemCaseSensitive(j, "stale");
	t.stale = cJSON_IsTrue(fb);
	evs = cJSON_GetObjectItemCaseSensitive(j, "events");
	fb = cJSON_GetObjectItemCaseSensitive(j, "found");
	t.found = fb ? cJSON_IsTrue(fb) : cJSON_IsArray(evs);
	if (evs && !cJSON_IsNull(evs) && !cJSON_IsArray(evs)) {
		err = pb_errf(eb, PB_EINVAL, "parcel.events must be a list");
		goto out;
	}
	cJSON_ArrayForEach(e, evs)
	{
		const char *time, *loc, *desc, *state, *code, *ex;
		pb_when w;
		pb_pstate st;
		snprintf(where, sizeof where, "parcel.events[%zu]", i++);
		if (!cJSON_IsObject(e)) {
			err = pb_errf(eb, PB_EINVAL, "%s must be an object", where);
			goto out;
		}
		if ((err = get_str(e, "time", &time, eb, where)) ||
		    (err = get_str(e, "location", &loc, eb, where)) ||
		    (err = get_str(e, "description", &desc, eb, where)) ||
		    (err = get_str(e, "state", &state, eb, where)) ||
		    (err = get_str(e, "code", &code, eb, where)) ||
		    (err = get_str(e, "exception", &ex, eb, where)))
			goto out;
		if (pb_time_parse(time, default_off, &w)) {
			err = pb_errf(eb, PB_EPARSE, "%s.time '%s' is not an ISO 8601 date-time", where,
				      time);
			goto out;
		}
		st = pb_pstate_from_name(state);
		if (*state && st == PB_ST_UNKNOWN && strcmp(state, "unknown")) {
			err = pb_errf(eb, PB_EINVAL, "%s.state '%s' is not a known state", where, state);
			goto out;
		}
		err = pb_trace_add(&t, w, loc, desc, code, st, *ex ? pb_exkind_from_name(ex) : PB_EX_NONE);
		if (err)
			goto out;
	}
	pb_trace_sort(&t);
	*out = t;
	return PB_OK;
out:
	pb_trace_release(&t);
	return err;
}
