/*
 * The monthly review over a generated month of known cases, written
 * through the store's API and pb_case_open as the pipeline writes them:
 * every figure checked exactly (kinds, ISO weeks, repeat contacts, carrier
 * rates, the three-month replacement flag, nearest-rank percentiles,
 * service-level breaches, compensation, template edits and lint), and each
 * output format.
 */
#include "testutil.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/case.h"
#include "parcelbot/policy.h"
#include "parcelbot/report.h"

#define TZ (8 * 3600)

typedef struct spec {
	const char *day;     /* opened at 10:00 that day, +08:00 */
	const char *carrier;
	const char *kind;
	const char *anoms;   /* JSON array of the parcel's anomalies */
	int contacts;
	int fr_min;          /* first reply after this many minutes; 0: none */
	int resolve_h;       /* resolved after this many hours; 0: not */
	const char *tpl, *decision, *draft, *sent, *lint, *comp;
} spec;

static const spec month[] = {
	{"2026-11-02", "ZTO", "stuck_parcel", "[\"no_update\"]", 1, 30, 24, "stuck.t1", "approve",
	 "亲,抱歉", NULL, NULL, "{\"kind\":\"coupon\",\"amount\":10,\"currency\":\"CNY\"}"},
	{"2026-11-03", "ZTO", "stuck_parcel", "[\"stuck_at_node\"]", 2, 60, 48, "stuck.t1",
	 "approve_edited", "亲,抱歉", "亲,非常抱歉", "[{\"code\":\"vague\"}]",
	 "{\"kind\":\"coupon\",\"amount\":15,\"currency\":\"CNY\"}"},
	{"2026-11-04", "ZTO", "lost_parcel", "[\"lost\"]", 3, 90, 72, "lost.t1", "approve", "sorry",
	 NULL, NULL, "{\"kind\":\"reship\",\"amount\":0,\"currency\":\"CNY\"}"},
	{"2026-11-05", "ZTO", "where_is_order", "[]", 1, 10, 0, "where.t1", "approve", "here", NULL,
	 NULL, "{\"kind\":\"none\",\"amount\":0,\"currency\":\"CNY\"}"},
	{"2026-11-09", "ZTO", "where_is_order", "[]", 1, 20, 0, "where.t1", "approve", "here", NULL,
	 NULL, NULL},
	{"2026-11-10", "ZTO", "where_is_order", "[]", 1, 40, 0, "where.t1", "approve", "here", NULL,
	 NULL, NULL},
	{"2026-11-11", "ZTO", "stuck_parcel", "[]", 1, 50, 0, "stuck.t1", "approve_edited", "hello",
	 "hallo!", NULL, NULL},
	{"2026-11-16", "ZTO", "stuck_parcel", "[]", 1, 120, 0, "stuck.t1", "reject", "meh", NULL, NULL,
	 NULL},
	{"2026-11-17", "ZTO", "where_is_order", "[]", 1, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
	{"2026-11-23", "ZTO", "where_is_order", "[]", 1, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
	{"2026-11-24", "SF", "stuck_parcel", "[\"no_update\"]", 2, 15, 12, "stuck.t2", "approve",
	 "sorry", NULL, NULL, "{\"kind\":\"coupon\",\"amount\":5,\"currency\":\"MYR\"}"},
	{"2026-11-25", "SF", "damaged", "[]", 1, 25, 36, "damaged.t1", "approve_edited", "kitten",
	 "sitting", "[{\"code\":\"blame_shifting\"},{\"code\":\"vague\"}]",
	 "{\"kind\":\"partial_refund\",\"amount\":30.5,\"currency\":\"CNY\"}"},
	{"2026-11-26", "SF", "delivery_failed", "[\"delivery_failed\"]", 1, 35, 6, "failed.t1",
	 "reject", "nope", NULL, NULL, "{\"kind\":\"coupon\",\"amount\":100,\"currency\":\"CNY\"}"},
	{"2026-11-27", "SF", "delivery_failed", "[\"returned\"]", 1, 45, 0, "failed.t1",
	 "approve_edited", "ab", "ba", "[{\"code\":\"blame_shifting\"}]", NULL},
	{"2026-11-30", "SF", "stuck_parcel", "[]", 1, 55, 0, "stuck.t2", "approve", "sorry", NULL,
	 NULL, NULL},
};

/* The months before, for the carrier check: ZTO above 10% in September
 * and October, SF at exactly 10% in September (not above). */
static const spec before[] = {
	{"2026-09-03", "ZTO", "stuck_parcel", "[\"no_update\"]", 1, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
	{"2026-09-04", "ZTO", "stuck_parcel", "[]", 1, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
	{"2026-09-05", "ZTO", "stuck_parcel", "[]", 1, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
	{"2026-09-06", "ZTO", "stuck_parcel", "[]", 1, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
	{"2026-09-07", "ZTO", "stuck_parcel", "[]", 1, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
	{"2026-09-08", "SF", "stuck_parcel", "[\"no_update\"]", 1, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
	{"2026-09-09", "SF", "stuck_parcel", "[]", 1, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
	{"2026-09-10", "SF", "stuck_parcel", "[]", 1, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
	{"2026-09-11", "SF", "stuck_parcel", "[]", 1, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
	{"2026-09-12", "SF", "stuck_parcel", "[]", 1, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
	{"2026-09-13", "SF", "stuck_parcel", "[]", 1, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
	{"2026-09-14", "SF", "stuck_parcel", "[]", 1, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
	{"2026-09-15", "SF", "stuck_parcel", "[]", 1, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
	{"2026-09-16", "SF", "stuck_parcel", "[]", 1, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
	{"2026-09-17", "SF", "stuck_parcel", "[]", 1, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
	{"2026-10-03", "ZTO", "stuck_parcel", "[\"stuck_at_node\"]", 1, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
	{"2026-10-04", "ZTO", "where_is_order", "[]", 1, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
	{"2026-10-05", "ZTO", "where_is_order", "[]", 1, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
	{"2026-10-06", "ZTO", "where_is_order", "[]", 1, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
	{"2026-10-07", "SF", "stuck_parcel", "[\"no_update\"]", 1, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
	{"2026-10-08", "SF", "where_is_order", "[]", 1, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
	{"2026-10-09", "SF", "where_is_order", "[]", 1, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
	{"2026-10-10", "SF", "where_is_order", "[]", 1, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
	{"2026-10-11", "SF", "where_is_order", "[]", 1, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
	/* December: after the range, counted nowhere. */
	{"2026-12-01", "ZTO", "stuck_parcel", "[\"no_update\"]", 1, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
};

static int64_t T(const char *iso)
{
	pb_when w;

	if (pb_time_parse(iso, TZ, &w))
		fail_msg("bad time %s", iso);
	return w.t;
}

static void add_case(pb_store *st, const spec *s, int n)
{
	pb_store_parcel p;
	pb_store_case c;
	pb_case_open_args a;
	pb_errbuf eb;
	pb_id pid;
	char num[32], scope[32], day[40], as[200];
	int64_t at;

	snprintf(day, sizeof day, "%sT10:00:00+08:00", s->day);
	at = T(day);
	snprintf(num, sizeof num, "N%04d", n);
	snprintf(scope, sizeof scope, "order:%d", n);
	snprintf(as, sizeof as, "{\"state\":\"in_transit\",\"anomalies\":%s}", s->anoms);
	memset(&p, 0, sizeof p);
	p.carrier = (char *)s->carrier;
	p.number = num;
	p.assessment = as;
	p.updated_at = at;
	assert_int_equal(pb_store_parcel_put(st, &p, &pid, &eb), PB_OK);
	memset(&a, 0, sizeof a);
	a.scope = scope;
	a.kind = s->kind;
	a.origin = "buyer";
	a.parcel_id = pid;
	a.problem = strcmp(s->kind, "where_is_order") != 0;
	a.lang = "zh";
	a.now = at;
	a.actor = "test";
	assert_int_equal(pb_case_open(st, tu_kb(), &a, &c, &eb), PB_OK);
	c.contacts = s->contacts;
	if (s->fr_min)
		c.first_reply_at = at + s->fr_min * 60;
	if (s->resolve_h)
		c.resolved_at = at + s->resolve_h * 3600;
	assert_int_equal(pb_store_case_update(st, &c, &eb), PB_OK);
	if (s->fr_min) {
		static const char *const fr[] = {"first_reply", NULL};
		assert_int_equal(pb_store_reminder_complete(st, c.id, fr, at + s->fr_min * 60, NULL, &eb),
				 PB_OK);
	}
	if (s->tpl) {
		pb_store_draft d;
		pb_store_decision dc;
		bool rej = !strcmp(s->decision, "reject");
		memset(&d, 0, sizeof d);
		d.case_id = c.id;
		d.created_at = at + 60;
		d.text = (char *)s->draft;
		d.template_id = (char *)s->tpl;
		d.severity = 1;
		snprintf(d.action, sizeof d.action, "draft");
		snprintf(d.lang, sizeof d.lang, "zh");
		d.compensation = (char *)s->comp;
		snprintf(d.state, sizeof d.state, "%s", rej ? "rejected" : "approved");
		assert_int_equal(pb_store_draft_add(st, &d, &eb), PB_OK);
		memset(&dc, 0, sizeof dc);
		dc.draft_id = d.id;
		dc.case_id = c.id;
		snprintf(dc.kind, sizeof dc.kind, "%s", s->decision);
		dc.agent = (char *)"amy";
		dc.at = at + s->fr_min * 60;
		dc.text = rej ? NULL : (char *)(s->sent ? s->sent : s->draft);
		dc.lint = (char *)s->lint;
		dc.reason = rej ? (char *)"wrong tone" : NULL;
		assert_int_equal(pb_store_decision_add(st, &dc, NULL, &eb), PB_OK);
	}
	pb_store_case_release(&c);
}

/* Reminder outcomes: the two unanswered cases escalated; one first plan
 * late, one on time. */
static void reminders(pb_store *st)
{
	static const char *const fp[] = {"first_plan", NULL};
	pb_store_reminders l = {NULL, 0};
	pb_errbuf eb;
	size_t i;

	assert_int_equal(pb_store_reminder_due(st, T("2027-01-01"), &l, &eb), PB_OK);
	for (i = 0; i < l.n; i++) {
		if (!strcmp(l.v[i].kind, "first_reply") &&
		    (l.v[i].case_id == 9 + 15 || l.v[i].case_id == 10 + 15))
			assert_int_equal(pb_store_reminder_escalate(st, l.v[i].id, l.v[i].due + 1, &eb),
					 PB_OK);
	}
	pb_store_reminders_release(&l);
	/* case 12 (25 Nov, no peak: due +24h) done at +36h; case 1 (peak:
	 * due +48h) done at +30h. */
	assert_int_equal(pb_store_reminder_complete(st, 12 + 15, fp, T("2026-11-26T22:00:00+08:00"),
						    NULL, &eb),
			 PB_OK);
	assert_int_equal(pb_store_reminder_complete(st, 1 + 15, fp, T("2026-11-03T16:00:00+08:00"),
						    NULL, &eb),
			 PB_OK);
}

typedef struct fx {
	char *dir;
	pb_store *st;
	cJSON *r;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	pb_store_opts o = {true, 0, 0};
	pb_report_data d = {NULL, 0};
	pb_report_opts ro;
	pb_errbuf eb;
	char path[512];
	int64_t lf, lt;
	size_t i;

	f->dir = tu_mkdtemp();
	snprintf(path, sizeof path, "%s/r.db", f->dir);
	if (pb_store_open(path, &o, &f->st, &eb)) {
		fprintf(stderr, "%s\n", eb.msg);
		return -1;
	}
	/* The months before first, so case ids 16..30 are November's. */
	for (i = 0; i < 15; i++)
		add_case(f->st, &before[i], (int)i + 100);
	for (i = 0; i < sizeof month / sizeof month[0]; i++)
		add_case(f->st, &month[i], (int)i + 1);
	for (i = 15; i < sizeof before / sizeof before[0]; i++)
		add_case(f->st, &before[i], (int)i + 100);
	reminders(f->st);

	memset(&ro, 0, sizeof ro);
	ro.from = T("2026-11-01");
	ro.to = T("2026-12-01");
	ro.tz_off = TZ;
	ro.carrier_delay_limit = tu_kb()->policy->carrier_delay_limit;
	pb_report_load_range(&ro, &lf, &lt);
	if (pb_report_load(f->st, lf, lt, &d, &eb)) {
		fprintf(stderr, "%s\n", eb.msg);
		return -1;
	}
	f->r = pb_report_compute(&d, &ro);
	pb_report_data_release(&d);
	*state = f;
	return f->r ? 0 : -1;
}

static int teardown(void **state)
{
	fx *f = *state;

	cJSON_Delete(f->r);
	pb_store_close(f->st);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* The row of table `key` whose field `name` is `value`. */
static const cJSON *row(const cJSON *r, const char *key, const char *name, const char *value)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r, key)) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, name);
		if (cJSON_IsString(v) && !strcmp(v->valuestring, value))
			return e;
	}
	fail_msg("no %s row with %s = %s", key, name, value);
	return NULL;
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!cJSON_IsNumber(v))
		fail_msg("%s is not a number", k);
	return v->valuedouble;
}

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-9)

static void test_policy_limit(void **state)
{
	(void)state;
	NEAR(tu_kb()->policy->carrier_delay_limit, 0.10);
}

static void test_summary_kinds_weeks(void **state)
{
	fx *f = *state;
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(f->r, "summary");

	NEAR(num(s, "cases"), 15);
	NEAR(num(s, "problems"), 10);
	NEAR(num(s, "repeat_cases"), 3);
	NEAR(num(s, "contacts"), 19);
	NEAR(num(s, "proactive"), 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(f->r, "by_kind")), 5);
	NEAR(num(row(f->r, "by_kind", "kind", "stuck_parcel"), "cases"), 6);
	NEAR(num(row(f->r, "by_kind", "kind", "stuck_parcel"), "share"), 6.0 / 15);
	NEAR(num(row(f->r, "by_kind", "kind", "where_is_order"), "cases"), 5);
	NEAR(num(row(f->r, "by_kind", "kind", "lost_parcel"), "cases"), 1);
	NEAR(num(row(f->r, "by_kind", "kind", "damaged"), "cases"), 1);
	NEAR(num(row(f->r, "by_kind", "kind", "delivery_failed"), "cases"), 2);
	/* Most frequent first. */
	assert_string_equal(
		cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(f->r, "by_kind"), 0)->child->valuestring,
		"stuck_parcel");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(f->r, "by_week")), 5);
	NEAR(num(row(f->r, "by_week", "week", "2026-W45"), "cases"), 4);
	NEAR(num(row(f->r, "by_week", "week", "2026-W46"), "cases"), 3);
	NEAR(num(row(f->r, "by_week", "week", "2026-W47"), "cases"), 2);
	NEAR(num(row(f->r, "by_week", "week", "2026-W48"), "cases"), 5);
	NEAR(num(row(f->r, "by_week", "week", "2026-W49"), "cases"), 1);
}

static void test_carriers(void **state)
{
	fx *f = *state;
	const cJSON *z = row(f->r, "carriers", "carrier", "ZTO");
	const cJSON *s = row(f->r, "carriers", "carrier", "SF");
	const cJSON *m;

	NEAR(num(z, "parcels"), 10);
	NEAR(num(z, "delayed"), 2);
	NEAR(num(z, "delay_rate"), 0.2);
	NEAR(num(z, "lost"), 1);
	NEAR(num(z, "loss_rate"), 0.1);
	NEAR(num(z, "damage_rate"), 0);
	NEAR(num(z, "failed_rate"), 0);
	NEAR(num(s, "parcels"), 5);
	NEAR(num(s, "delay_rate"), 0.2);
	NEAR(num(s, "loss_rate"), 0);
	NEAR(num(s, "damaged"), 1);
	NEAR(num(s, "damage_rate"), 0.2);
	NEAR(num(s, "failed"), 2);
	NEAR(num(s, "failed_rate"), 0.4);
	/* Three months above the limit: replace. Two (September exactly at
	 * the limit): not. */
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(z, "replace")));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(s, "replace")));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(f->r, "carrier_months")),
			 6);
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(f->r, "carrier_months")) {
		const char *c = cJSON_GetObjectItemCaseSensitive(m, "carrier")->valuestring;
		const char *mo = cJSON_GetObjectItemCaseSensitive(m, "month")->valuestring;
		bool over = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "over_limit"));
		if (!strcmp(c, "ZTO") && !strcmp(mo, "2026-09")) {
			NEAR(num(m, "parcels"), 5);
			NEAR(num(m, "delay_rate"), 0.2);
		} else if (!strcmp(c, "ZTO") && !strcmp(mo, "2026-10")) {
			NEAR(num(m, "parcels"), 4);
			NEAR(num(m, "delay_rate"), 0.25);
		} else if (!strcmp(c, "SF") && !strcmp(mo, "2026-09")) {
			NEAR(num(m, "parcels"), 10);
			NEAR(num(m, "delay_rate"), 0.1);
			assert_false(over);
			continue;
		} else if (!strcmp(c, "SF") && !strcmp(mo, "2026-10")) {
			NEAR(num(m, "parcels"), 5);
		} else {
			assert_string_equal(mo, "2026-11");
		}
		assert_true(over);
	}
}

static void test_times_and_sla(void **state)
{
	fx *f = *state;
	const cJSON *fr = row(f->r, "response_times", "measure", "first_response");
	const cJSON *rs = row(f->r, "response_times", "measure", "resolution");
	const cJSON *a = row(f->r, "sla_breaches", "kind", "first_reply");
	const cJSON *b = row(f->r, "sla_breaches", "kind", "first_plan");

	NEAR(num(fr, "cases"), 13);
	NEAR(num(fr, "p50"), 40 * 60);  /* rank ceil(6.5) = 7 of 13 */
	NEAR(num(fr, "p90"), 90 * 60);  /* rank ceil(11.7) = 12 */
	NEAR(num(rs, "cases"), 6);
	NEAR(num(rs, "p50"), 24 * 3600); /* rank 3 of 6 */
	NEAR(num(rs, "p90"), 72 * 3600); /* rank ceil(5.4) = 6 */
	NEAR(num(a, "reminders"), 15);
	NEAR(num(a, "breached"), 2);
	NEAR(num(b, "reminders"), 10);
	NEAR(num(b, "breached"), 1);
	NEAR(num(b, "breach_rate"), 0.1);
}

static void test_compensation(void **state)
{
	fx *f = *state;

	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(f->r, "compensation")), 3);
	NEAR(num(row(f->r, "compensation", "kind", "coupon"), "offers"), 3);
	NEAR(num(row(f->r, "compensation", "kind", "reship"), "offers"), 1);
	NEAR(num(row(f->r, "compensation", "kind", "partial_refund"), "offers"), 1);
	assert_int_equal(
		cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(f->r, "compensation_cost")), 2);
	NEAR(num(row(f->r, "compensation_cost", "currency", "CNY"), "total"), 55.5);
	NEAR(num(row(f->r, "compensation_cost", "currency", "MYR"), "total"), 5);
}

static void test_templates(void **state)
{
	fx *f = *state;
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(f->r, "templates");
	const cJSON *t = row(f->r, "templates", "template", "stuck.t1");
	static const char *const order[] = {"stuck.t1", "failed.t1", "damaged.t1",
					    "lost.t1",  "stuck.t2",  "where.t1"};
	size_t i;

	assert_int_equal(cJSON_GetArraySize(arr), 6);
	for (i = 0; i < 6; i++)
		assert_string_equal(
			cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(arr, (int)i), "template")
				->valuestring,
			order[i]);
	NEAR(num(t, "approved"), 1);
	NEAR(num(t, "edited"), 2);
	NEAR(num(t, "rejected"), 1);
	NEAR(num(t, "mean_edit"), 2);
	NEAR(num(cJSON_GetObjectItemCaseSensitive(t, "lint_findings"), "vague"), 1);
	t = row(f->r, "templates", "template", "damaged.t1");
	NEAR(num(t, "edited"), 1);
	NEAR(num(t, "mean_edit"), 3);
	NEAR(num(cJSON_GetObjectItemCaseSensitive(t, "lint_findings"), "blame_shifting"), 1);
	NEAR(num(cJSON_GetObjectItemCaseSensitive(t, "lint_findings"), "vague"), 1);
	t = row(f->r, "templates", "template", "failed.t1");
	NEAR(num(t, "approved"), 0);
	NEAR(num(t, "edited"), 1);
	NEAR(num(t, "rejected"), 1);
	NEAR(num(t, "mean_edit"), 2);
	NEAR(num(row(f->r, "templates", "template", "where.t1"), "approved"), 3);
}

static void test_helpers(void **state)
{
	int64_t v[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

	(void)state;
	assert_int_equal(pb_report_percentile(v, 10, 50), 5);
	assert_int_equal(pb_report_percentile(v, 10, 90), 9);
	assert_int_equal(pb_report_percentile(v, 10, 100), 10);
	assert_int_equal(pb_report_percentile(v, 1, 90), 1);
	assert_int_equal(pb_report_edit_distance("kitten", "sitting", 0), 3);
	assert_int_equal(pb_report_edit_distance("亲,抱歉", "亲,非常抱歉", 0), 2);
	assert_int_equal(pb_report_edit_distance("", "abc", 0), 3);
	assert_int_equal(pb_report_edit_distance("abcdef", "abcxyz", 3), 0);
}

/* A month without cases: zeros and empty tables, no percentile. */
static void test_empty(void **state)
{
	pb_report_data d = {NULL, 0};
	pb_report_opts o;
	cJSON *r;
	pb_buf b;
	pb_errbuf eb;

	(void)state;
	memset(&o, 0, sizeof o);
	o.from = T("2026-12-01");
	o.to = T("2027-01-01");
	o.tz_off = TZ;
	o.carrier_delay_limit = 0.1;
	r = pb_report_compute(&d, &o);
	assert_non_null(r);
	NEAR(num(cJSON_GetObjectItemCaseSensitive(r, "summary"), "cases"), 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "carriers")), 0);
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "response_times"), 0), "p50")));
	pb_buf_init(&b, PB_BUF_NOLIMIT);
	assert_int_equal(pb_report_render(r, "html", &b, &eb), PB_OK);
	assert_non_null(strstr(pb_buf_str(&b), "None."));
	pb_buf_release(&b);
	cJSON_Delete(r);
}

static void test_formats(void **state)
{
	fx *f = *state;
	static const char *const fm[] = {"md", "csv", "json", "html"};
	pb_buf b;
	pb_errbuf eb;
	size_t i;

	for (i = 0; i < 4; i++) {
		pb_buf_init(&b, PB_BUF_NOLIMIT);
		assert_int_equal(pb_report_render(f->r, fm[i], &b, &eb), PB_OK);
		assert_non_null(strstr(pb_buf_str(&b), "stuck.t1"));
		pb_buf_release(&b);
	}
	pb_buf_init(&b, PB_BUF_NOLIMIT);
	assert_int_equal(pb_report_render(f->r, "html", &b, &eb), PB_OK);
	assert_non_null(strstr(pb_buf_str(&b), "<svg"));
	assert_null(strstr(pb_buf_str(&b), "<script"));
	pb_buf_release(&b);
	pb_buf_init(&b, PB_BUF_NOLIMIT);
	assert_int_equal(pb_report_render(f->r, "csv", &b, &eb), PB_OK);
	assert_non_null(strstr(pb_buf_str(&b), "\r\n# carriers\r\ncarrier,parcels,"));
	assert_non_null(strstr(pb_buf_str(&b), "ZTO,10,2,0.2,1,0.1,0,0,0,0,true\r\n"));
	pb_buf_release(&b);
	pb_buf_init(&b, PB_BUF_NOLIMIT);
	assert_int_equal(pb_report_render(f->r, "pdf", &b, &eb), PB_EINVAL);
	pb_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_limit),
		cmocka_unit_test(test_helpers),
		cmocka_unit_test(test_empty),
		cmocka_unit_test_setup_teardown(test_summary_kinds_weeks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_carriers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_times_and_sla, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compensation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_templates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_formats, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
