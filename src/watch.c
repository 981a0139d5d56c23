/*
 * The proactive watch (watch.h): orders with a parcel not yet delivered,
 * looked up in rate-limited batches outside any transaction, assessed, and
 * for a watched anomaly a proactive case with its outreach draft, each
 * order's writes in one transaction.
 */
#include "parcelbot/watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "parcelbot/assess.h"
#include "parcelbot/case.h"
#include "parcelbot/kb.h"
#include "parcelbot/order.h"
#include "parcelbot/pipeline.h"
#include "parcelbot/policy.h"
#include "parcelbot/trace.h"

/* Most severe first: the one a case is opened for when several appear. */
static const pb_anomaly watched[] = {
	PB_AN_LOST,     PB_AN_RETURNED,      PB_AN_DELIVERY_FAILED, PB_AN_NO_TRACE,
	PB_AN_NOT_PICKED_UP, PB_AN_STUCK_AT_NODE, PB_AN_NO_UPDATE,
};
#define N_WATCHED (sizeof watched / sizeof watched[0])

bool pb_watch_anomaly(int anomaly)
{
	size_t i;

	for (i = 0; i < N_WATCHED; i++)
		if ((int)watched[i] == anomaly)
			return true;
	return false;
}

typedef struct item {
	const pb_store_order *row;
	pb_order order;
	char *carrier, *number;
	pb_track_result res;
	bool looked;
} item;

static void tracker_lookup(void *ctx, const pb_track_query *q, size_t n, int64_t now,
			   pb_track_result *r)
{
	size_t i;

	if (pb_track_lookup_many(ctx, q, n, now, r))
		for (i = 0; i < n; i++) {
			memset(&r[i], 0, sizeof r[i]);
			r[i].err = PB_ENOMEM;
			snprintf(r[i].eb.msg, sizeof r[i].eb.msg, "the lookup could not run");
		}
}

static void nap(void *ctx, long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	(void)ctx;
	nanosleep(&ts, NULL);
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void note(pb_watch_stats *s, const char *what, const pb_errbuf *eb, pb_err err)
{
	snprintf(s->error, sizeof s->error, "%s: %s", what, pb_errmsg(eb, err));
}

/* Whether the tracking cache already says delivered: no lookup needed. */
static bool cached_delivered(pb_store *st, const pb_kb *kb, const char *carrier,
			     const char *number)
{
	char *js = NULL;
	int64_t at;
	cJSON *j;
	pb_trace t;
	pb_errbuf eb;
	bool done = false;

	if (pb_store_track_get(st, carrier, number, &js, &at, &eb))
		return false;
	if ((j = cJSON_Parse(js))) {
		pb_trace_init(&t);
		if (!pb_trace_from_json(j, kb->policy->tz_off, &t, &eb)) {
			done = t.n_events && t.events[0].state == PB_ST_DELIVERED;
			pb_trace_release(&t);
		}
		cJSON_Delete(j);
	}
	free(js);
	return done;
}

static char *json_take(cJSON *j)
{
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;

	cJSON_Delete(j);
	return s;
}

/* Everything one anomalous order causes, in one transaction. */
static pb_err act(pb_store *st, const pb_kb *kb, item *it, const pb_assessment *a, int64_t now,
		  const char *actor, pb_watch_stats *s, pb_errbuf *eb)
{
	const pb_trace *tr = &it->res.trace;
	pb_store_parcel p;
	pb_store_case c;
	pb_case_open_args oa;
	pb_case_input in;
	pb_case_result r;
	bool has_r = false;
	pb_id parcel_id = 0;
	pb_anomaly an = PB_AN_COUNT_;
	char scope[48], kind[64], key[160], *tj = NULL, *aj = NULL;
	size_t i;
	pb_err err;

	memset(&c, 0, sizeof c);
	for (i = 0; i < N_WATCHED && an == PB_AN_COUNT_; i++)
		if (pb_has_anomaly(a, watched[i]))
			an = watched[i];
	snprintf(scope, sizeof scope, "order:%lld", (long long)it->row->id);
	snprintf(kind, sizeof kind, "anomaly:%s", pb_anomaly_name(an));
	if ((err = pb_store_begin(st, eb)))
		return err;
	tj = json_take(pb_trace_json(tr));
	aj = json_take(pb_assessment_json(a, tr));
	if (!tj || !aj) {
		err = pb_errf(eb, PB_ENOMEM, "out of memory");
		goto out;
	}
	memset(&p, 0, sizeof p);
	p.carrier = it->carrier;
	p.number = it->number;
	p.order_id = it->row->id;
	p.trace = tj;
	p.assessment = aj;
	p.updated_at = now;
	if ((err = pb_store_parcel_put(st, &p, &parcel_id, eb)) ||
	    (err = pb_store_track_put(st, it->carrier, it->number, tj, now, eb)))
		goto out;
	err = pb_store_case_find_open(st, scope, kind, &c, eb);
	if (!err) {
		s->existing++;
		goto out;
	}
	if (err != PB_ENOTFOUND)
		goto out;
	pb_store_case_release(&c);

	memset(&in, 0, sizeof in);
	snprintf(key, sizeof key, "%s/%s", scope, kind);
	in.id = key;
	in.message = NULL;
	in.order = &it->order;
	in.trace = tr;
	in.now = now;
	in.lang = PB_LANG_ZH;
	if ((err = pb_pipeline_run(kb, NULL, &in, &r, eb)))
		goto out;
	has_r = true;

	memset(&oa, 0, sizeof oa);
	oa.scope = scope;
	oa.kind = kind;
	oa.origin = "watch";
	oa.order_id = it->row->id;
	oa.parcel_id = parcel_id;
	oa.problem = true;
	oa.lang = r.reply.lang == PB_LANG_EN ? "en" : "zh";
	oa.now = now;
	oa.actor = actor;
	if ((err = pb_case_open(st, kb, &oa, &c, eb)) ||
	    (err = pb_case_outreach(st, kb, &c, &in, &r, actor, NULL, eb)))
		goto out;
	s->opened++;
out:
	if (has_r)
		pb_case_result_release(&r);
	pb_store_case_release(&c);
	free(tj);
	free(aj);
	if (err) {
		pb_store_rollback(st);
		return err;
	}
	if ((err = pb_store_commit(st, eb)))
		pb_store_rollback(st);
	return err;
}

pb_err pb_watch_run(pb_store *st, const pb_kb *kb, pb_tracker *tracker, int64_t now,
		    const pb_watch_opts *o, pb_watch_stats *s, pb_errbuf *eb)
{
	pb_watch_opts def;
	pb_store_orders orders = {NULL, 0};
	item *items = NULL;
	pb_track_query *q = NULL;
	pb_track_result *res = NULL;
	size_t n = 0, i, j, batch;
	pb_watch_lookup lookup;
	void *lctx;
	const char *actor;
	double rate;
	long long started;
	pb_err err;

	memset(s, 0, sizeof *s);
	if (!o) {
		memset(&def, 0, sizeof def);
		o = &def;
	}
	batch = o->batch ? o->batch : 40;
	rate = o->rate > 0 ? o->rate : 10;
	actor = o->actor ? o->actor : "watch";
	lookup = o->lookup ? o->lookup : tracker_lookup;
	lctx = o->lookup ? o->lookup_ctx : tracker;
	if (!o->lookup && !tracker)
		return pb_errf(eb, PB_EINVAL, "the watch needs a tracker or a lookup function");
	if (pb_store_depth(st))
		return pb_errf(eb, PB_EINVAL, "the watch runs outside any transaction");
	if ((err = pb_store_order_list(st, &orders, eb)))
		return err;
	s->orders = orders.n;
	if (orders.n && !(items = calloc(orders.n, sizeof *items))) {
		err = pb_errf(eb, PB_ENOMEM, "out of memory");
		goto out;
	}

	/* The orders with a parcel that may still be on its way. */
	for (i = 0; i < orders.n; i++) {
		cJSON *j = cJSON_Parse(orders.v[i].json), *pj, *cj, *nj;
		item *it = &items[n];
		pb_errbuf e2;
		pj = cJSON_GetObjectItemCaseSensitive(j, "parcel");
		cj = cJSON_GetObjectItemCaseSensitive(pj, "carrier");
		nj = cJSON_GetObjectItemCaseSensitive(pj, "number");
		if (!cJSON_IsString(nj) || !*nj->valuestring ||
		    cached_delivered(st, kb, cJSON_IsString(cj) ? cj->valuestring : "",
				     nj->valuestring)) {
			cJSON_Delete(j);
			continue;
		}
		pb_order_init(&it->order);
		if (pb_order_from_json(j, kb->policy->tz_off, &it->order, &e2)) {
			pb_order_release(&it->order);
			s->failed++;
			note(s, orders.v[i].order_id, &e2, PB_EINVAL);
			cJSON_Delete(j);
			continue;
		}
		it->row = &orders.v[i];
		it->carrier = strdup(cJSON_IsString(cj) ? cj->valuestring : "");
		it->number = strdup(nj->valuestring);
		cJSON_Delete(j);
		n++;
		if (!it->carrier || !it->number) {
			err = pb_errf(eb, PB_ENOMEM, "out of memory");
			goto out;
		}
	}
	s->parcels = n;

	/* Looked up in batches, no faster than rate lookups a second. */
	q = calloc(batch, sizeof *q);
	res = calloc(batch, sizeof *res);
	if (!q || !res) {
		err = pb_errf(eb, PB_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i += batch) {
		size_t m = n - i < batch ? n - i : batch;
		long long want, took;
		started = mono_ms();
		for (j = 0; j < m; j++) {
			memset(&q[j], 0, sizeof q[j]);
			q[j].carrier = items[i + j].carrier;
			q[j].number = items[i + j].number;
			q[j].phone_last4 = items[i + j].order.phone_last4;
			q[j].provider = PB_PROVIDER_AUTO;
		}
		lookup(lctx, q, m, now, res);
		for (j = 0; j < m; j++) {
			items[i + j].res = res[j];
			items[i + j].looked = true;
			memset(&res[j], 0, sizeof res[j]);
		}
		s->lookups += m;
		if (i + m >= n)
			break;
		want = (long long)((double)m * 1000.0 / rate);
		took = mono_ms() - started;
		if (want > took)
			(o->wait ? o->wait : nap)(o->wait_ctx, (long)(want - took));
	}

	for (i = 0; i < n; i++) {
		item *it = &items[i];
		pb_assessment a;
		pb_errbuf e2;
		bool any = false;
		if (it->res.err) {
			s->lookup_failed++;
			note(s, it->number, &it->res.eb, it->res.err);
			continue;
		}
		if (pb_assess(kb, &it->res.trace, &it->order, now, &a))
			continue;
		if (a.state == PB_ST_DELIVERED) {
			/* Cached, so that the next scan skips it without a lookup. */
			char *tj = json_take(pb_trace_json(&it->res.trace));
			s->delivered++;
			if (tj && (err = pb_store_track_put(st, it->carrier, it->number, tj, now, &e2)))
				note(s, it->number, &e2, err);
			free(tj);
			continue;
		}
		for (j = 0; j < N_WATCHED; j++)
			any = any || pb_has_anomaly(&a, watched[j]);
		if (!any)
			continue;
		s->anomalous++;
		e2.msg[0] = '\0';
		if ((err = act(st, kb, it, &a, now, actor, s, &e2))) {
			s->failed++;
			note(s, it->row->order_id, &e2, err);
		}
	}
	err = PB_OK;
out:
	for (i = 0; items && i < n; i++) {
		pb_order_release(&items[i].order);
		free(items[i].carrier);
		free(items[i].number);
		if (items[i].looked)
			pb_track_result_release(&items[i].res);
	}
	free(items);
	free(q);
	free(res);
	pb_store_orders_release(&orders);
	return err;
}
