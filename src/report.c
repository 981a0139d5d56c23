/*
 * The monthly review (report.h): reading the cases of a range through the
 * store's API, computing every figure as a pure function of those rows,
 * and printing the result as Markdown, CSV, JSON or self-contained HTML.
 * The definitions of the figures are in report.h.
 */
#include "parcelbot/report.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "parcelbot/time.h"
#include "parcelbot/utf8.h"

/* ---- loading ---- */

void pb_report_data_release(pb_report_data *d)
{
	size_t i;

	for (i = 0; d->v && i < d->n; i++) {
		pb_store_case_release(&d->v[i].c);
		pb_store_parcel_release(&d->v[i].parcel);
		pb_store_drafts_release(&d->v[i].drafts);
		pb_store_decisions_release(&d->v[i].decisions);
		pb_store_reminders_release(&d->v[i].reminders);
	}
	free(d->v);
	d->v = NULL;
	d->n = 0;
}

pb_err pb_report_load(pb_store *st, int64_t from, int64_t to, pb_report_data *out,
		      pb_errbuf *eb)
{
	pb_store_cases cs = {NULL, 0};
	size_t i;
	pb_err err;

	memset(out, 0, sizeof *out);
	if ((err = pb_store_case_opened(st, from, to, &cs, eb)))
		return err;
	if (cs.n && !(out->v = calloc(cs.n, sizeof *out->v))) {
		err = pb_errf(eb, PB_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < cs.n; i++) {
		pb_report_case *rc = &out->v[i];
		rc->c = cs.v[i];
		memset(&cs.v[i], 0, sizeof cs.v[i]);
		out->n++;
		if (rc->c.parcel_id) {
			err = pb_store_parcel_get(st, rc->c.parcel_id, &rc->parcel, eb);
			if (err == PB_ENOTFOUND)
				err = PB_OK;
			if (err)
				goto out;
		}
		if ((err = pb_store_draft_list(st, rc->c.id, NULL, &rc->drafts, eb)) ||
		    (err = pb_store_decision_list(st, rc->c.id, &rc->decisions, eb)) ||
		    (err = pb_store_reminder_list(st, rc->c.id, &rc->reminders, eb)))
			goto out;
	}
out:
	pb_store_cases_release(&cs);
	if (err)
		pb_report_data_release(out);
	return err;
}

/* ---- small pure helpers ---- */

int64_t pb_report_percentile(const int64_t *sorted, size_t n, int p)
{
	size_t rank = ((size_t)p * n + 99) / 100;

	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

/* Decodes up to cap code points of s into a new array; *n gets the count. */
static uint32_t *code_points(const char *s, size_t cap, size_t *n)
{
	size_t len = s ? strlen(s) : 0, k = 0;
	const unsigned char *p = (const unsigned char *)(s ? s : ""), *end = p + len;
	uint32_t *v = malloc((len ? len : 1) * sizeof *v);

	if (!v)
		return NULL;
	while (p < end && (!cap || k < cap)) {
		const unsigned char *before = p;
		uint32_t cp = pb_utf8_next(&p, end);
		if (p == before) /* never stall on a bad byte */
			p++;
		v[k++] = cp;
	}
	*n = k;
	return v;
}

size_t pb_report_edit_distance(const char *a, const char *b, size_t cap)
{
	size_t na, nb, i, j, d = 0;
	uint32_t *x = code_points(a, cap, &na), *y = code_points(b, cap, &nb);
	size_t *prev = NULL, *cur = NULL, *t;

	if (!x || !y)
		goto out;
	prev = malloc((nb + 1) * sizeof *prev);
	cur = malloc((nb + 1) * sizeof *cur);
	if (!prev || !cur)
		goto out;
	for (j = 0; j <= nb; j++)
		prev[j] = j;
	for (i = 1; i <= na; i++) {
		cur[0] = i;
		for (j = 1; j <= nb; j++) {
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			size_t sub = prev[j - 1] + (x[i - 1] != y[j - 1]);
			size_t m = del < ins ? del : ins;
			cur[j] = m < sub ? m : sub;
		}
		t = prev;
		prev = cur;
		cur = t;
	}
	d = prev[nb];
out:
	free(x);
	free(y);
	free(prev);
	free(cur);
	return d;
}

static void local_fields(int64_t t, int32_t off, struct tm *tm)
{
	pb_time_fields((pb_when){t, off}, tm);
}

/* "2026-W47" for the ISO week of t at off. */
static void iso_week(int64_t t, int32_t off, char *buf, size_t n)
{
	struct tm tm;
	int64_t days, wday, thu;
	int week;

	local_fields(t, off, &tm);
	days = pb_days_from_civil(tm.tm_year + 1900, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday);
	wday = ((days + 3) % 7 + 7) % 7; /* Monday 0; 1970-01-01 was a Thursday */
	thu = days - wday + 3;
	local_fields(thu * 86400, 0, &tm);
	week = tm.tm_yday / 7 + 1;
	snprintf(buf, n, "%04d-W%02d", tm.tm_year + 1900, week);
}

/* Start of the month `delta` months from the month of t, at off. */
static int64_t month_start(int64_t t, int32_t off, int delta, char *name, size_t n)
{
	struct tm tm;
	int y, m;

	local_fields(t, off, &tm);
	y = tm.tm_year + 1900;
	m = tm.tm_mon + delta; /* 0-based */
	while (m < 0) {
		m += 12;
		y--;
	}
	while (m > 11) {
		m -= 12;
		y++;
	}
	if (name)
		snprintf(name, n, "%04d-%02d", y, m + 1);
	return pb_time_from_fields(y, m + 1, 1, 0, 0, 0, off);
}

void pb_report_load_range(const pb_report_opts *o, int64_t *from, int64_t *to)
{
	int64_t last = o->to > o->from ? o->to - 1 : o->from;
	int64_t a = month_start(last, o->tz_off, -2, NULL, 0);
	int64_t b = month_start(last, o->tz_off, 1, NULL, 0);

	*from = o->from < a ? o->from : a;
	*to = o->to > b ? o->to : b;
}

/* ---- counting by name ---- */

typedef struct counter {
	char *name;
	double v[12];
	void *extra;
} counter;

typedef struct counters {
	counter *v;
	size_t n, cap;
	bool oom;
} counters;

static counter *count_at(counters *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].name, name))
			return &l->v[i];
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 16;
		counter *nv = realloc(l->v, nc * sizeof *nv);
		if (!nv) {
			l->oom = true;
			return NULL;
		}
		l->v = nv;
		l->cap = nc;
	}
	memset(&l->v[l->n], 0, sizeof l->v[l->n]);
	if (!(l->v[l->n].name = strdup(name))) {
		l->oom = true;
		return NULL;
	}
	return &l->v[l->n++];
}

static void counters_release(counters *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].name);
		cJSON_Delete(l->v[i].extra);
	}
	free(l->v);
	memset(l, 0, sizeof *l);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const counter *)a)->name, ((const counter *)b)->name);
}

/* Most first, then by name: the order a reader scans a table in. */
static int by_v0_desc(const void *a, const void *b)
{
	const counter *x = a, *y = b;

	if (x->v[0] != y->v[0])
		return x->v[0] < y->v[0] ? 1 : -1;
	return strcmp(x->name, y->name);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static double rate(double k, double n)
{
	return n > 0 ? k / n : 0;
}

/* ---- the figures ---- */

enum { P_DELAY, P_LOST, P_DAMAGED, P_FAILED, P_N_ };

typedef struct parcel_seen {
	pb_id id;
	const char *carrier;
	int64_t first_opened;
	bool flag[P_N_];
	bool in_range;
} parcel_seen;

static bool has_anomaly(const cJSON *as, const char *name)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(as, "anomalies"), *e;

	cJSON_ArrayForEach(e, a)
		if (cJSON_IsString(e) && !strcmp(e->valuestring, name))
			return true;
	return false;
}

static void mark_parcel(parcel_seen *p, const pb_report_case *rc)
{
	cJSON *as = rc->parcel.assessment ? cJSON_Parse(rc->parcel.assessment) : NULL;
	const char *k = rc->c.kind ? rc->c.kind : "";

	if (has_anomaly(as, "no_update") || has_anomaly(as, "stuck_at_node") ||
	    !strcmp(k, "anomaly:no_update") || !strcmp(k, "anomaly:stuck_at_node"))
		p->flag[P_DELAY] = true;
	if (has_anomaly(as, "lost") || !strcmp(k, "lost_parcel") || !strcmp(k, "anomaly:lost"))
		p->flag[P_LOST] = true;
	if (has_anomaly(as, "damaged_in_transit") || !strcmp(k, "damaged"))
		p->flag[P_DAMAGED] = true;
	if (has_anomaly(as, "delivery_failed") || has_anomaly(as, "returned") ||
	    !strcmp(k, "delivery_failed") || !strcmp(k, "anomaly:delivery_failed") ||
	    !strcmp(k, "anomaly:returned"))
		p->flag[P_FAILED] = true;
	cJSON_Delete(as);
}

static void add_row_str(cJSON *row, const char *k, const char *v)
{
	cJSON_AddStringToObject(row, k, v ? v : "");
}

static cJSON *time_row(const char *measure, int64_t *v, size_t n)
{
	cJSON *row = cJSON_CreateObject();

	add_row_str(row, "measure", measure);
	cJSON_AddNumberToObject(row, "cases", (double)n);
	if (n) {
		qsort(v, n, sizeof *v, cmp_i64);
		cJSON_AddNumberToObject(row, "p50", (double)pb_report_percentile(v, n, 50));
		cJSON_AddNumberToObject(row, "p90", (double)pb_report_percentile(v, n, 90));
	} else {
		cJSON_AddNullToObject(row, "p50");
		cJSON_AddNullToObject(row, "p90");
	}
	return row;
}

cJSON *pb_report_compute(const pb_report_data *d, const pb_report_opts *o)
{
	cJSON *r = cJSON_CreateObject(), *sum, *arr, *row;
	counters kinds = {0}, weeks = {0}, carriers = {0}, sla = {0}, comp = {0},
		 cost = {0}, tpl = {0};
	parcel_seen *ps = NULL;
	size_t n_ps = 0, i, j, k, n_cases = 0, repeat = 0, problems = 0, proactive = 0;
	int64_t *first = NULL, *resolve = NULL, contacts = 0, last;
	size_t n_first = 0, n_resolve = 0, cap = o->edit_cap ? o->edit_cap : 2000;
	char buf[64], months[3][16];
	int64_t mstart[4];
	char tb[40];

	if (!r)
		return NULL;
	last = o->to > o->from ? o->to - 1 : o->from;
	for (i = 0; i < 3; i++)
		mstart[i] = month_start(last, o->tz_off, (int)i - 2, months[i], sizeof months[i]);
	mstart[3] = month_start(last, o->tz_off, 1, NULL, 0);
	ps = calloc(d->n ? d->n : 1, sizeof *ps);
	first = calloc(d->n ? d->n : 1, sizeof *first);
	resolve = calloc(d->n ? d->n : 1, sizeof *resolve);
	if (!ps || !first || !resolve)
		goto oom;

	for (i = 0; i < d->n; i++) {
		const pb_report_case *rc = &d->v[i];
		const pb_store_case *c = &rc->c;
		bool in = c->opened_at >= o->from && c->opened_at < o->to;
		counter *ct;

		/* Parcels: every loaded case, for the three-month check too. */
		if (rc->parcel.id) {
			parcel_seen *p = NULL;
			for (j = 0; j < n_ps; j++)
				if (ps[j].id == rc->parcel.id)
					p = &ps[j];
			if (!p) {
				p = &ps[n_ps++];
				p->id = rc->parcel.id;
				p->carrier = rc->parcel.carrier ? rc->parcel.carrier : "unknown";
				p->first_opened = c->opened_at;
			}
			if (c->opened_at < p->first_opened)
				p->first_opened = c->opened_at;
			p->in_range = p->in_range || in;
			mark_parcel(p, rc);
		}
		if (!in)
			continue;
		n_cases++;
		problems += c->problem;
		proactive += !strcmp(c->origin, "watch");
		contacts += c->contacts;
		repeat += c->contacts >= 2;
		if ((ct = count_at(&kinds, c->kind ? c->kind : "unknown")))
			ct->v[0]++;
		iso_week(c->opened_at, o->tz_off, buf, sizeof buf);
		if ((ct = count_at(&weeks, buf)))
			ct->v[0]++;
		if (c->first_reply_at && c->first_reply_at >= c->opened_at)
			first[n_first++] = c->first_reply_at - c->opened_at;
		if (c->resolved_at && c->resolved_at >= c->opened_at)
			resolve[n_resolve++] = c->resolved_at - c->opened_at;

		for (j = 0; j < rc->reminders.n; j++) {
			const pb_store_reminder *m = &rc->reminders.v[j];
			if (!(ct = count_at(&sla, m->kind)))
				continue;
			ct->v[0]++;
			if (m->escalated_at || (m->done_at && m->done_at > m->due))
				ct->v[1]++;
		}
		for (j = 0; j < rc->drafts.n; j++) {
			const pb_store_draft *dr = &rc->drafts.v[j];
			cJSON *cj, *kj, *aj, *cu;
			if (strcmp(dr->state, "approved") || !dr->compensation)
				continue;
			if (!(cj = cJSON_Parse(dr->compensation)))
				continue;
			kj = cJSON_GetObjectItemCaseSensitive(cj, "kind");
			aj = cJSON_GetObjectItemCaseSensitive(cj, "amount");
			cu = cJSON_GetObjectItemCaseSensitive(cj, "currency");
			if (cJSON_IsString(kj) && *kj->valuestring && strcmp(kj->valuestring, "none")) {
				if ((ct = count_at(&comp, kj->valuestring)))
					ct->v[0]++;
				if (cJSON_IsNumber(aj) && aj->valuedouble > 0 &&
				    (ct = count_at(&cost, cJSON_IsString(cu) && *cu->valuestring
								  ? cu->valuestring
								  : "unknown")))
					ct->v[0] += aj->valuedouble;
			}
			cJSON_Delete(cj);
		}
		for (j = 0; j < rc->decisions.n; j++) {
			const pb_store_decision *dc = &rc->decisions.v[j];
			const pb_store_draft *dr = NULL;
			cJSON *lj, *e;
			for (k = 0; k < rc->drafts.n; k++)
				if (rc->drafts.v[k].id == dc->draft_id)
					dr = &rc->drafts.v[k];
			if (!dr)
				continue;
			if (!(ct = count_at(&tpl, dr->template_id && *dr->template_id ? dr->template_id
										  : "(none)")))
				continue;
			/* v: 0 approved as-is, 1 edited, 2 rejected, 3 edit sum */
			if (!strcmp(dc->kind, "approve")) {
				ct->v[0]++;
			} else if (!strcmp(dc->kind, "approve_edited")) {
				ct->v[1]++;
				ct->v[3] += (double)pb_report_edit_distance(dr->text, dc->text, cap);
			} else if (!strcmp(dc->kind, "reject")) {
				ct->v[2]++;
			}
			if (!dc->lint || !(lj = cJSON_Parse(dc->lint)))
				continue;
			if (!ct->extra)
				ct->extra = cJSON_CreateObject();
			cJSON_ArrayForEach(e, lj) {
				const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
				cJSON *have;
				if (!cJSON_IsString(code) || !ct->extra)
					continue;
				have = cJSON_GetObjectItemCaseSensitive(ct->extra, code->valuestring);
				if (have)
					cJSON_SetNumberValue(have, have->valuedouble + 1);
				else
					cJSON_AddNumberToObject(ct->extra, code->valuestring, 1);
			}
			cJSON_Delete(lj);
		}
	}

	/* Carriers: in-range figures, and the delay rate of each month. */
	for (i = 0; i < n_ps; i++) {
		const parcel_seen *p = &ps[i];
		counter *ct = count_at(&carriers, p->carrier);
		if (!ct)
			continue;
		if (p->in_range) {
			ct->v[0]++;
			for (k = 0; k < P_N_; k++)
				ct->v[1 + k] += p->flag[k];
		}
		for (k = 0; k < 3; k++) {
			if (p->first_opened < mstart[k] || p->first_opened >= mstart[k + 1])
				continue;
			ct->v[6 + 2 * k]++;
			ct->v[7 + 2 * k] += p->flag[P_DELAY];
		}
	}
	if (kinds.oom || weeks.oom || carriers.oom || sla.oom || comp.oom || cost.oom || tpl.oom)
		goto oom;

	add_row_str(r, "from", pb_time_format((pb_when){o->from, o->tz_off}, tb, sizeof tb));
	add_row_str(r, "to", pb_time_format((pb_when){o->to, o->tz_off}, tb, sizeof tb));
	cJSON_AddNumberToObject(r, "carrier_delay_limit", o->carrier_delay_limit);
	sum = cJSON_AddObjectToObject(r, "summary");
	cJSON_AddNumberToObject(sum, "cases", (double)n_cases);
	cJSON_AddNumberToObject(sum, "problems", (double)problems);
	cJSON_AddNumberToObject(sum, "proactive", (double)proactive);
	cJSON_AddNumberToObject(sum, "repeat_cases", (double)repeat);
	cJSON_AddNumberToObject(sum, "contacts", (double)contacts);

	if (kinds.n)
		qsort(kinds.v, kinds.n, sizeof *kinds.v, by_v0_desc);
	arr = cJSON_AddArrayToObject(r, "by_kind");
	for (i = 0; i < kinds.n; i++) {
		row = cJSON_CreateObject();
		add_row_str(row, "kind", kinds.v[i].name);
		cJSON_AddNumberToObject(row, "cases", kinds.v[i].v[0]);
		cJSON_AddNumberToObject(row, "share", rate(kinds.v[i].v[0], (double)n_cases));
		cJSON_AddItemToArray(arr, row);
	}
	if (weeks.n)
		qsort(weeks.v, weeks.n, sizeof *weeks.v, by_name);
	arr = cJSON_AddArrayToObject(r, "by_week");
	for (i = 0; i < weeks.n; i++) {
		row = cJSON_CreateObject();
		add_row_str(row, "week", weeks.v[i].name);
		cJSON_AddNumberToObject(row, "cases", weeks.v[i].v[0]);
		cJSON_AddItemToArray(arr, row);
	}

	if (carriers.n)
		qsort(carriers.v, carriers.n, sizeof *carriers.v, by_v0_desc);
	arr = cJSON_AddArrayToObject(r, "carriers");
	{
		cJSON *marr = cJSON_AddArrayToObject(r, "carrier_months");
		static const char *const names[P_N_] = {"delayed", "lost", "damaged", "failed"};
		static const char *const rates[P_N_] = {"delay_rate", "loss_rate", "damage_rate",
							"failed_rate"};
		for (i = 0; i < carriers.n; i++) {
			const counter *ct = &carriers.v[i];
			bool replace = true;
			for (k = 0; k < 3; k++) {
				double n = ct->v[6 + 2 * k], dl = ct->v[7 + 2 * k];
				bool over = n > 0 && rate(dl, n) > o->carrier_delay_limit;
				replace = replace && over;
				row = cJSON_CreateObject();
				add_row_str(row, "carrier", ct->name);
				add_row_str(row, "month", months[k]);
				cJSON_AddNumberToObject(row, "parcels", n);
				cJSON_AddNumberToObject(row, "delayed", dl);
				cJSON_AddNumberToObject(row, "delay_rate", rate(dl, n));
				cJSON_AddBoolToObject(row, "over_limit", over);
				cJSON_AddItemToArray(marr, row);
			}
			row = cJSON_CreateObject();
			add_row_str(row, "carrier", ct->name);
			cJSON_AddNumberToObject(row, "parcels", ct->v[0]);
			for (k = 0; k < P_N_; k++) {
				cJSON_AddNumberToObject(row, names[k], ct->v[1 + k]);
				cJSON_AddNumberToObject(row, rates[k], rate(ct->v[1 + k], ct->v[0]));
			}
			cJSON_AddBoolToObject(row, "replace", replace);
			cJSON_AddItemToArray(arr, row);
		}
	}

	arr = cJSON_AddArrayToObject(r, "response_times");
	cJSON_AddItemToArray(arr, time_row("first_response", first, n_first));
	cJSON_AddItemToArray(arr, time_row("resolution", resolve, n_resolve));

	if (sla.n)
		qsort(sla.v, sla.n, sizeof *sla.v, by_name);
	arr = cJSON_AddArrayToObject(r, "sla_breaches");
	for (i = 0; i < sla.n; i++) {
		row = cJSON_CreateObject();
		add_row_str(row, "kind", sla.v[i].name);
		cJSON_AddNumberToObject(row, "reminders", sla.v[i].v[0]);
		cJSON_AddNumberToObject(row, "breached", sla.v[i].v[1]);
		cJSON_AddNumberToObject(row, "breach_rate", rate(sla.v[i].v[1], sla.v[i].v[0]));
		cJSON_AddItemToArray(arr, row);
	}

	if (comp.n)
		qsort(comp.v, comp.n, sizeof *comp.v, by_v0_desc);
	arr = cJSON_AddArrayToObject(r, "compensation");
	for (i = 0; i < comp.n; i++) {
		row = cJSON_CreateObject();
		add_row_str(row, "kind", comp.v[i].name);
		cJSON_AddNumberToObject(row, "offers", comp.v[i].v[0]);
		cJSON_AddItemToArray(arr, row);
	}
	if (cost.n)
		qsort(cost.v, cost.n, sizeof *cost.v, by_name);
	arr = cJSON_AddArrayToObject(r, "compensation_cost");
	for (i = 0; i < cost.n; i++) {
		row = cJSON_CreateObject();
		add_row_str(row, "currency", cost.v[i].name);
		cJSON_AddNumberToObject(row, "total", cost.v[i].v[0]);
		cJSON_AddItemToArray(arr, row);
	}

	/* Weakest first: most edited, then most rejected. */
	for (i = 0; i < tpl.n; i++) {
		tpl.v[i].v[4] = tpl.v[i].v[0];
		tpl.v[i].v[0] = tpl.v[i].v[1] * 1e6 + tpl.v[i].v[2];
	}
	if (tpl.n)
		qsort(tpl.v, tpl.n, sizeof *tpl.v, by_v0_desc);
	arr = cJSON_AddArrayToObject(r, "templates");
	for (i = 0; i < tpl.n; i++) {
		const counter *ct = &tpl.v[i];
		pb_buf lb;
		cJSON *e;
		row = cJSON_CreateObject();
		add_row_str(row, "template", ct->name);
		cJSON_AddNumberToObject(row, "approved", ct->v[4]);
		cJSON_AddNumberToObject(row, "edited", ct->v[1]);
		cJSON_AddNumberToObject(row, "rejected", ct->v[2]);
		cJSON_AddNumberToObject(row, "mean_edit", ct->v[1] > 0 ? ct->v[3] / ct->v[1] : 0);
		pb_buf_init(&lb, 4096);
		cJSON_ArrayForEach(e, (cJSON *)ct->extra)
			pb_buf_printf(&lb, "%s%s x%d", pb_buf_str(&lb)[0] ? ", " : "", e->string,
				      (int)e->valuedouble);
		add_row_str(row, "lint", pb_buf_str(&lb));
		pb_buf_release(&lb);
		cJSON_AddItemToObject(row, "lint_findings",
				      ct->extra ? cJSON_Duplicate(ct->extra, true) : cJSON_CreateObject());
		cJSON_AddItemToArray(arr, row);
	}
	goto out;
oom:
	cJSON_Delete(r);
	r = NULL;
out:
	counters_release(&kinds);
	counters_release(&weeks);
	counters_release(&carriers);
	counters_release(&sla);
	counters_release(&comp);
	counters_release(&cost);
	counters_release(&tpl);
	free(ps);
	free(first);
	free(resolve);
	return r;
}

/* ---- rendering ---- */

typedef struct col {
	const char *field, *header;
	char fmt; /* i whole number, r rate, h seconds as hours, s text, b yes/no, f money */
} col;

typedef struct table {
	const char *key, *title;
	col cols[12];
	const char *bar_label, *bar_value; /* an HTML bar chart of this column */
} table;

static const table tables[] = {
	{"by_kind", "Problems by kind",
	 {{"kind", "kind", 's'}, {"cases", "cases", 'i'}, {"share", "share", 'r'}},
	 "kind", "cases"},
	{"by_week", "Problems by ISO week", {{"week", "week", 's'}, {"cases", "cases", 'i'}},
	 "week", "cases"},
	{"carriers", "Carriers",
	 {{"carrier", "carrier", 's'},
	  {"parcels", "parcels", 'i'},
	  {"delayed", "delayed", 'i'},
	  {"delay_rate", "delay rate", 'r'},
	  {"lost", "lost", 'i'},
	  {"loss_rate", "loss rate", 'r'},
	  {"damaged", "damaged", 'i'},
	  {"damage_rate", "damage rate", 'r'},
	  {"failed", "failed", 'i'},
	  {"failed_rate", "failed delivery rate", 'r'},
	  {"replace", "replace", 'b'}},
	 "carrier", "delay_rate"},
	{"carrier_months", "Carrier delay rate in the last three months",
	 {{"carrier", "carrier", 's'},
	  {"month", "month", 's'},
	  {"parcels", "parcels", 'i'},
	  {"delayed", "delayed", 'i'},
	  {"delay_rate", "delay rate", 'r'},
	  {"over_limit", "over the limit", 'b'}},
	 NULL, NULL},
	{"response_times", "Response and resolution times",
	 {{"measure", "measure", 's'}, {"cases", "cases", 'i'}, {"p50", "p50", 'h'},
	  {"p90", "p90", 'h'}},
	 NULL, NULL},
	{"sla_breaches", "Service-level breaches by reminder",
	 {{"kind", "reminder", 's'}, {"reminders", "reminders", 'i'}, {"breached", "breached", 'i'},
	  {"breach_rate", "breach rate", 'r'}},
	 "kind", "breached"},
	{"compensation", "Compensation offered (approved replies)",
	 {{"kind", "kind", 's'}, {"offers", "offers", 'i'}}, "kind", "offers"},
	{"compensation_cost", "Compensation cost", {{"currency", "currency", 's'}, {"total", "total", 'f'}},
	 NULL, NULL},
	{"templates", "Reply templates, weakest first",
	 {{"template", "template", 's'},
	  {"approved", "approved as-is", 'i'},
	  {"edited", "edited", 'i'},
	  {"rejected", "rejected", 'i'},
	  {"mean_edit", "mean edit size", 'f'},
	  {"lint", "lint findings in edits", 's'}},
	 "template", "edited"},
};

#define N_TABLES (sizeof tables / sizeof tables[0])

enum { ESC_NONE, ESC_MD, ESC_CSV, ESC_HTML };

static void put_escaped(pb_buf *b, const char *s, int esc)
{
	const char *p;
	bool quote = false;

	if (esc == ESC_CSV) {
		/* A cell a spreadsheet would run as a formula is kept as text. */
		quote = strpbrk(s, ",\"\r\n") != NULL;
		if (quote)
			pb_buf_putc(b, '"');
		if (strchr("=+-@", *s) && *s)
			pb_buf_putc(b, '\'');
	}
	for (p = s; *p; p++) {
		char c = *p;
		switch (esc) {
		case ESC_MD:
			if (c == '|' || c == '\\' || c == '<' || c == '>' || c == '`' || c == '*' ||
			    c == '_' || c == '[' || c == ']')
				pb_buf_putc(b, '\\');
			pb_buf_putc(b, (char)(c == '\n' || c == '\r' ? ' ' : c));
			break;
		case ESC_CSV:
			if (c == '"')
				pb_buf_putc(b, '"');
			pb_buf_putc(b, c);
			break;
		case ESC_HTML:
			if (c == '<')
				pb_buf_puts(b, "&lt;");
			else if (c == '>')
				pb_buf_puts(b, "&gt;");
			else if (c == '&')
				pb_buf_puts(b, "&amp;");
			else if (c == '"')
				pb_buf_puts(b, "&quot;");
			else if (c == '\'')
				pb_buf_puts(b, "&#39;");
			else
				pb_buf_putc(b, c);
			break;
		default:
			pb_buf_putc(b, c);
		}
	}
	if (quote)
		pb_buf_putc(b, '"');
}

/* A cell as text; machine formats (csv) keep full precision. */
static void cell(pb_buf *b, const cJSON *row, const col *c, int esc)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, c->field);
	bool raw = esc == ESC_CSV;

	if (!v || cJSON_IsNull(v)) {
		pb_buf_puts(b, raw ? "" : "-");
		return;
	}
	switch (c->fmt) {
	case 's':
		put_escaped(b, cJSON_IsString(v) ? v->valuestring : "", esc);
		break;
	case 'b':
		pb_buf_puts(b, cJSON_IsTrue(v) ? (raw ? "true" : "yes") : (raw ? "false" : "no"));
		break;
	case 'i':
		pb_buf_printf(b, "%lld", (long long)v->valuedouble);
		break;
	case 'r':
		if (raw)
			pb_buf_printf(b, "%.6g", v->valuedouble);
		else
			pb_buf_printf(b, "%.1f%%", v->valuedouble * 100);
		break;
	case 'h':
		if (raw)
			pb_buf_printf(b, "%lld", (long long)v->valuedouble);
		else
			pb_buf_printf(b, "%.1f h", v->valuedouble / 3600);
		break;
	default:
		pb_buf_printf(b, raw ? "%.6g" : "%.2f", v->valuedouble);
	}
}

static size_t n_cols(const table *t)
{
	size_t n = 0;

	while (n < sizeof t->cols / sizeof t->cols[0] && t->cols[n].field)
		n++;
	return n;
}

static const char *summary_keys[][2] = {
	{"cases", "cases opened"},
	{"problems", "problems the shop apologised for"},
	{"proactive", "opened by the watch"},
	{"repeat_cases", "cases with two contacts or more"},
	{"contacts", "buyer contacts, in all"},
};

static void render_md(const cJSON *r, pb_buf *b)
{
	size_t t, i, k, n;
	const cJSON *sum = cJSON_GetObjectItemCaseSensitive(r, "summary"), *row;

	pb_buf_printf(b, "# parcelbot review\n\nCases opened from %s to %s.\n\n",
		      cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "from")),
		      cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "to")));
	pb_buf_puts(b, "| figure | value |\n|---|---|\n");
	for (i = 0; i < sizeof summary_keys / sizeof summary_keys[0]; i++)
		pb_buf_printf(b, "| %s | %lld |\n", summary_keys[i][1],
			      (long long)cJSON_GetNumberValue(
				      cJSON_GetObjectItemCaseSensitive(sum, summary_keys[i][0])));
	for (t = 0; t < N_TABLES; t++) {
		const cJSON *arr = cJSON_GetObjectItemCaseSensitive(r, tables[t].key);
		n = n_cols(&tables[t]);
		pb_buf_printf(b, "\n## %s\n\n", tables[t].title);
		if (!cJSON_GetArraySize(arr)) {
			pb_buf_puts(b, "None.\n");
			continue;
		}
		pb_buf_puts(b, "|");
		for (k = 0; k < n; k++)
			pb_buf_printf(b, " %s |", tables[t].cols[k].header);
		pb_buf_puts(b, "\n|");
		for (k = 0; k < n; k++)
			pb_buf_puts(b, tables[t].cols[k].fmt == 's' ? "---|" : "---:|");
		pb_buf_puts(b, "\n");
		cJSON_ArrayForEach(row, arr) {
			pb_buf_puts(b, "|");
			for (k = 0; k < n; k++) {
				pb_buf_puts(b, " ");
				cell(b, row, &tables[t].cols[k], ESC_MD);
				pb_buf_puts(b, " |");
			}
			pb_buf_puts(b, "\n");
		}
	}
}

static void render_csv(const cJSON *r, pb_buf *b)
{
	size_t t, i, k, n;
	const cJSON *sum = cJSON_GetObjectItemCaseSensitive(r, "summary"), *row;

	pb_buf_puts(b, "# summary\r\nfigure,value\r\n");
	pb_buf_printf(b, "from,%s\r\nto,%s\r\n",
		      cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "from")),
		      cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "to")));
	for (i = 0; i < sizeof summary_keys / sizeof summary_keys[0]; i++)
		pb_buf_printf(b, "%s,%lld\r\n", summary_keys[i][0],
			      (long long)cJSON_GetNumberValue(
				      cJSON_GetObjectItemCaseSensitive(sum, summary_keys[i][0])));
	for (t = 0; t < N_TABLES; t++) {
		n = n_cols(&tables[t]);
		pb_buf_printf(b, "\r\n# %s\r\n", tables[t].key);
		for (k = 0; k < n; k++)
			pb_buf_printf(b, "%s%s", k ? "," : "", tables[t].cols[k].field);
		pb_buf_puts(b, "\r\n");
		cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(r, tables[t].key)) {
			for (k = 0; k < n; k++) {
				if (k)
					pb_buf_putc(b, ',');
				cell(b, row, &tables[t].cols[k], ESC_CSV);
			}
			pb_buf_puts(b, "\r\n");
		}
	}
}

/* A horizontal bar chart as inline SVG: no script, no external asset. */
static void svg_bars(pb_buf *b, const cJSON *arr, const char *label, const char *value, bool pct)
{
	const cJSON *row;
	double max = 0;
	int n = cJSON_GetArraySize(arr), y = 0;

	cJSON_ArrayForEach(row, arr) {
		double v = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(row, value));
		if (v > max)
			max = v;
	}
	pb_buf_printf(b,
		      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"%d\" "
		      "role=\"img\">\n",
		      n * 22 + 4);
	cJSON_ArrayForEach(row, arr) {
		double v = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(row, value));
		const char *l = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, label));
		int w = max > 0 ? (int)(v / max * 360) : 0;
		pb_buf_printf(b, "<text x=\"0\" y=\"%d\" font-size=\"12\">", y + 15);
		put_escaped(b, l ? l : "", ESC_HTML);
		pb_buf_printf(b,
			      "</text><rect x=\"200\" y=\"%d\" width=\"%d\" height=\"16\" "
			      "fill=\"#4a7bb7\"/><text x=\"%d\" y=\"%d\" font-size=\"12\">",
			      y + 3, w, 205 + w, y + 15);
		if (pct)
			pb_buf_printf(b, "%.1f%%", v * 100);
		else
			pb_buf_printf(b, "%g", v);
		pb_buf_puts(b, "</text>\n");
		y += 22;
	}
	pb_buf_puts(b, "</svg>\n");
}

static void render_html(const cJSON *r, pb_buf *b)
{
	size_t t, i, k, n;
	const cJSON *sum = cJSON_GetObjectItemCaseSensitive(r, "summary"), *row;

	pb_buf_puts(b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
		       "<title>parcelbot review</title>\n<style>body{font-family:sans-serif;"
		       "margin:2em}table{border-collapse:collapse;margin-bottom:1em}"
		       "td,th{border:1px solid #ccc;padding:2px 8px}td.n{text-align:right}"
		       "</style></head><body>\n<h1>parcelbot review</h1>\n<p>Cases opened from ");
	put_escaped(b, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "from")), ESC_HTML);
	pb_buf_puts(b, " to ");
	put_escaped(b, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "to")), ESC_HTML);
	pb_buf_puts(b, ".</p>\n<table>\n");
	for (i = 0; i < sizeof summary_keys / sizeof summary_keys[0]; i++)
		pb_buf_printf(b, "<tr><th>%s</th><td class=\"n\">%lld</td></tr>\n", summary_keys[i][1],
			      (long long)cJSON_GetNumberValue(
				      cJSON_GetObjectItemCaseSensitive(sum, summary_keys[i][0])));
	pb_buf_puts(b, "</table>\n");
	for (t = 0; t < N_TABLES; t++) {
		const table *tb = &tables[t];
		const cJSON *arr = cJSON_GetObjectItemCaseSensitive(r, tb->key);
		n = n_cols(tb);
		pb_buf_printf(b, "<h2>%s</h2>\n", tb->title);
		if (!cJSON_GetArraySize(arr)) {
			pb_buf_puts(b, "<p>None.</p>\n");
			continue;
		}
		if (tb->bar_label) {
			bool pct = false;
			for (k = 0; k < n; k++)
				if (!strcmp(tb->cols[k].field, tb->bar_value))
					pct = tb->cols[k].fmt == 'r';
			svg_bars(b, arr, tb->bar_label, tb->bar_value, pct);
		}
		pb_buf_puts(b, "<table>\n<tr>");
		for (k = 0; k < n; k++)
			pb_buf_printf(b, "<th>%s</th>", tb->cols[k].header);
		pb_buf_puts(b, "</tr>\n");
		cJSON_ArrayForEach(row, arr) {
			pb_buf_puts(b, "<tr>");
			for (k = 0; k < n; k++) {
				pb_buf_puts(b, tb->cols[k].fmt == 's' ? "<td>" : "<td class=\"n\">");
				cell(b, row, &tb->cols[k], ESC_HTML);
				pb_buf_puts(b, "</td>");
			}
			pb_buf_puts(b, "</tr>\n");
		}
		pb_buf_puts(b, "</table>\n");
	}
	pb_buf_puts(b, "</body></html>\n");
}

pb_err pb_report_render(const cJSON *r, const char *format, pb_buf *out, pb_errbuf *eb)
{
	char *s;

	if (!strcmp(format, "md")) {
		render_md(r, out);
	} else if (!strcmp(format, "csv")) {
		render_csv(r, out);
	} else if (!strcmp(format, "html")) {
		render_html(r, out);
	} else if (!strcmp(format, "json")) {
		if (!(s = cJSON_Print(r)))
			return pb_errf(eb, PB_ENOMEM, "out of memory");
		pb_buf_puts(out, s);
		pb_buf_putc(out, '\n');
		free(s);
	} else {
		return pb_errf(eb, PB_EINVAL, "unknown format '%s' (md, html, csv or json)", format);
	}
	return PB_OK;
}
