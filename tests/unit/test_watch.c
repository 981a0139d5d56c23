/*
 * The proactive watch against a real store and the shipped KB, with an
 * injected resolver: each watched anomaly opens exactly one proactive case
 * with the right outreach draft queued; delivered and healthy parcels open
 * none; perishable goods use the tighter thresholds; a second scan opens
 * none; batches respect the rate; and a buyer's later message about the
 * order joins the proactive case as its first contact.
 */
#include "testutil.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/case.h"
#include "parcelbot/ingest.h"
#include "parcelbot/policy.h"
#include "parcelbot/watch.h"

#define NOW "2026-11-20T10:00:00+08:00"

typedef struct parcel {
	const char *order, *category, *events; /* events: a JSON array */
	const char *kind;                      /* expected case kind, NULL: none */
	const char *tpl;                       /* expected outreach template */
} parcel;

#define EV(t, st, ex) "{\"time\":\"" t "\",\"location\":\"杭州转运中心\",\"description\":\"快件到达杭州转运中心\",\"state\":\"" st "\",\"exception\":\"" ex "\"}"

static const parcel parcels[] = {
	{"W-UPD", "electronics", "[" EV("2026-11-17T22:00:00+08:00", "in_transit", "") "]",
	 "anomaly:no_update", "stuck"},
	{"W-STUCK", "electronics", "[" EV("2026-11-16T10:00:00+08:00", "in_transit", "") "]",
	 "anomaly:stuck_at_node", "stuck"},
	{"W-PICK", "electronics", "[" EV("2026-11-19T02:00:00+08:00", "info_received", "") "]",
	 "anomaly:not_picked_up", "no_trace"},
	{"W-NONE", "electronics", "[]", "anomaly:no_trace", "no_trace"},
	{"W-FAIL", "electronics", "[" EV("2026-11-20T08:00:00+08:00", "attempt_fail", "") "]",
	 "anomaly:delivery_failed", "returned"},
	{"W-RET", "electronics", "[" EV("2026-11-20T08:00:00+08:00", "exception", "returned") "]",
	 "anomaly:returned", "returned"},
	{"W-LOST", "electronics", "[" EV("2026-11-20T08:00:00+08:00", "exception", "lost") "]",
	 "anomaly:lost", "lost"},
	{"W-DONE", "electronics", "[" EV("2026-11-18T08:00:00+08:00", "delivered", "") "]", NULL,
	 NULL},
	{"W-FINE", "electronics", "[" EV("2026-11-20T06:00:00+08:00", "in_transit", "") "]", NULL,
	 NULL},
	/* 30 hours without news: late for fresh fruit, fine for a phone. */
	{"W-FRUIT", "fruit", "[" EV("2026-11-19T04:00:00+08:00", "in_transit", "") "]",
	 "anomaly:no_update", "stuck"},
	{"W-PHONE", "electronics", "[" EV("2026-11-19T04:00:00+08:00", "in_transit", "") "]", NULL,
	 NULL},
};
#define N_PARCELS (sizeof parcels / sizeof parcels[0])

typedef struct fx {
	char *dir;
	pb_store *st;
	size_t calls, looked, waits;
	long waited;
} fx;

static int64_t T(const char *iso)
{
	pb_when w;

	if (pb_time_parse(iso, 8 * 3600, &w))
		fail_msg("bad time %s", iso);
	return w.t;
}

/* The resolver: the trace of the parcel whose number is its order id. */
static void lookup(void *ctx, const pb_track_query *q, size_t n, int64_t now,
		   pb_track_result *r)
{
	fx *f = ctx;
	size_t i, k;
	char js[2048];
	cJSON *j;

	(void)now;
	f->calls++;
	for (i = 0; i < n; i++) {
		memset(&r[i], 0, sizeof r[i]);
		f->looked++;
		for (k = 0; k < N_PARCELS; k++)
			if (!strcmp(parcels[k].order, q[i].number))
				break;
		assert_true(k < N_PARCELS);
		snprintf(js, sizeof js, "{\"carrier\":\"zto\",\"number\":\"%s\",\"events\":%s}",
			 q[i].number, parcels[k].events);
		j = cJSON_Parse(js);
		assert_non_null(j);
		assert_int_equal(pb_trace_from_json(j, 8 * 3600, &r[i].trace, &r[i].eb), PB_OK);
		r[i].trace.found = r[i].trace.n_events > 0;
		cJSON_Delete(j);
	}
}

static void wait_ms(void *ctx, long ms)
{
	fx *f = ctx;

	f->waits++;
	f->waited += ms;
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	pb_store_opts o = {true, 0, 0};
	pb_errbuf eb;
	char path[512], js[600];
	size_t i;

	f->dir = tu_mkdtemp();
	snprintf(path, sizeof path, "%s/w.db", f->dir);
	if (pb_store_open(path, &o, &f->st, &eb)) {
		fprintf(stderr, "%s\n", eb.msg);
		return -1;
	}
	for (i = 0; i < N_PARCELS; i++) {
		snprintf(js, sizeof js,
			 "{\"id\":\"%s\",\"amount\":89,\"currency\":\"CNY\",\"category\":\"%s\","
			 "\"paid_at\":\"2026-11-15T09:00:00+08:00\",\"shipped_at\":"
			 "\"2026-11-16T18:00:00+08:00\",\"parcel\":{\"carrier\":\"zto\",\"number\":\"%s\"}}",
			 parcels[i].order, parcels[i].category, parcels[i].order);
		if (pb_store_order_put(f->st, "cli", parcels[i].order, js, T("2026-11-16T18:00:00"), NULL,
				       &eb))
			return -1;
	}
	/* An order without a parcel is not watched. */
	if (pb_store_order_put(f->st, "cli", "W-UNSHIPPED", "{\"id\":\"W-UNSHIPPED\"}", 1, NULL, &eb))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	pb_store_close(f->st);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void scan(fx *f, pb_watch_stats *s)
{
	pb_watch_opts o;
	pb_errbuf eb;

	memset(&o, 0, sizeof o);
	o.batch = 4;
	o.rate = 2;
	o.lookup = lookup;
	o.lookup_ctx = f;
	o.wait = wait_ms;
	o.wait_ctx = f;
	eb.msg[0] = '\0';
	assert_int_equal(pb_watch_run(f->st, tu_kb(), NULL, T(NOW), &o, s, &eb), PB_OK);
}

static void test_each_anomaly_once(void **state)
{
	fx *f = *state;
	pb_watch_stats s;
	pb_store_cases l = {NULL, 0};
	pb_errbuf eb;
	size_t i, k, want = 0;

	scan(f, &s);
	for (i = 0; i < N_PARCELS; i++)
		want += parcels[i].kind != NULL;
	if (s.failed)
		fail_msg("%s", s.error);
	assert_int_equal(s.orders, N_PARCELS + 1);
	assert_int_equal(s.parcels, N_PARCELS);
	assert_int_equal(s.lookups, N_PARCELS);
	assert_int_equal(s.delivered, 1);
	assert_int_equal(s.opened, want);
	/* 11 lookups, 4 a batch at 2 a second: two waits of about 2 s. */
	assert_int_equal(f->calls, 3);
	assert_int_equal(f->waits, 2);
	assert_true(f->waited > 3000 && f->waited <= 4000);

	assert_int_equal(pb_store_case_list(f->st, NULL, &l, &eb), PB_OK);
	assert_int_equal(l.n, want);
	for (i = 0; i < N_PARCELS; i++) {
		const pb_store_case *c = NULL;
		bool severe;
		pb_store_draft d;
		pb_store_outbox_rows ob = {NULL, 0};
		for (k = 0; k < l.n; k++)
			if (!strcmp(l.v[k].order_ref, parcels[i].order))
				c = &l.v[k];
		if (!parcels[i].kind) {
			if (c)
				fail_msg("%s opened %s", parcels[i].order, c->kind);
			continue;
		}
		if (!c)
			fail_msg("%s opened no case", parcels[i].order);
		assert_string_equal(c->kind, parcels[i].kind);
		assert_string_equal(c->origin, "watch");
		/* Lost and untraced parcels are severe (policy.yaml): a human takes
		 * the outreach over. */
		severe = !strcmp(parcels[i].kind, "anomaly:lost") ||
			 !strcmp(parcels[i].kind, "anomaly:no_trace");
		if (strcmp(c->state, severe ? "escalated" : "drafted"))
			fail_msg("%s: %s severity %d", parcels[i].order, c->state, c->severity);
		assert_int_equal(c->contacts, 0);
		assert_non_null(c->carrier);
		assert_string_equal(c->number, parcels[i].order);
		assert_int_equal(pb_store_draft_latest(f->st, c->id, &d, &eb), PB_OK);
		if (!strstr(d.template_id, parcels[i].tpl))
			fail_msg("%s: template %s, want %s", parcels[i].order, d.template_id,
				 parcels[i].tpl);
		assert_int_equal(d.message_id, 0);
		assert_string_equal(d.state, severe ? "escalated" : "pending");
		if (!strstr(d.text, "抱歉") && !strstr(d.text, "不好意思"))
			fail_msg("%s: no apology in %s (%s)", parcels[i].order, d.text, d.template_id);
		pb_store_draft_release(&d);
		assert_int_equal(pb_store_outbox_list(f->st, c->id, &ob, &eb), PB_OK);
		assert_int_equal(ob.n, 1);
		assert_string_equal(ob.v[0].kind, severe ? "hand_off" : "post_draft");
		pb_store_outbox_rows_release(&ob);
	}
	pb_store_cases_release(&l);

	/* Again: every anomaly already has its case. */
	scan(f, &s);
	assert_int_equal(s.opened, 0);
	assert_int_equal(s.existing, want);
	assert_int_equal(pb_store_case_list(f->st, NULL, &l, &eb), PB_OK);
	assert_int_equal(l.n, want);
	pb_store_cases_release(&l);
}

static void test_buyer_joins(void **state)
{
	fx *f = *state;
	pb_watch_stats s;
	pb_ingest *ing;
	pb_store_case c;
	pb_errbuf eb;
	pb_id id;
	size_t done;
	char scope[48];
	pb_id oid;
	const char *ev =
		"{\"message_id\":\"m1\",\"conversation\":\"c1\",\"message\":\"快递怎么好几天没动了\","
		"\"now\":\"2026-11-20T12:00:00+08:00\",\"order\":{\"id\":\"W-STUCK\",\"amount\":89,"
		"\"currency\":\"CNY\",\"category\":\"electronics\"}}";

	scan(f, &s);
	assert_int_equal(pb_store_order_find(f->st, "cli", "W-STUCK", &oid, NULL, &eb), PB_OK);
	snprintf(scope, sizeof scope, "order:%lld", (long long)oid);
	assert_int_equal(pb_store_case_find_open(f->st, scope, NULL, &c, &eb), PB_OK);
	id = c.id;
	assert_int_equal(c.contacts, 0);
	pb_store_case_release(&c);

	assert_int_equal(pb_ingest_new(tu_kb(), f->st, NULL, &ing, &eb), PB_OK);
	assert_int_equal(pb_ingest_accept(ing, ev, strlen(ev), T("2026-11-20T12:00:00"), &eb), PB_OK);
	assert_int_equal(pb_ingest_process(ing, T("2026-11-20T12:00:01"), SIZE_MAX, &done, &eb), PB_OK);
	assert_int_equal(pb_ingest_get_stats(ing)->joined, 1);
	assert_int_equal(pb_ingest_get_stats(ing)->opened, 0);
	pb_ingest_free(ing);
	assert_int_equal(pb_store_case_get(f->st, id, &c, &eb), PB_OK);
	assert_int_equal(c.contacts, 1);
	assert_string_equal(c.origin, "watch");
	assert_string_equal(c.kind, "anomaly:stuck_at_node");
	/* The case now knows where the buyer is, and the reply's draft is
	 * queued for that conversation. */
	assert_true(c.conversation_id != 0);
	assert_string_equal(c.conversation, "c1");
	{
		pb_store_outbox_rows ob = {NULL, 0};
		size_t i, found = 0;
		assert_int_equal(pb_store_outbox_list(f->st, id, &ob, &eb), PB_OK);
		for (i = 0; i < ob.n; i++)
			found += strstr(ob.v[i].payload, "\"conversation\":\"c1\"") != NULL;
		assert_int_equal(found, 1);
		pb_store_outbox_rows_release(&ob);
	}
	pb_store_case_release(&c);
}

static void test_needs_a_resolver(void **state)
{
	fx *f = *state;
	pb_watch_stats s;
	pb_errbuf eb;

	assert_int_equal(pb_watch_run(f->st, tu_kb(), NULL, T(NOW), NULL, &s, &eb), PB_EINVAL);
	assert_true(pb_watch_anomaly(PB_AN_LOST));
	assert_false(pb_watch_anomaly(PB_AN_SIGNED_ELSEWHERE));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_each_anomaly_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_buyer_joins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_needs_a_resolver, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
