/*
 * Loading kb/policy.yaml and kb/tracking.yaml into a pb_policy (see
 * policy.h). Every value is validated with its position, like the rest of
 * the KB: a shop that mistypes a threshold learns where, and the KB is
 * refused rather than run with a guess.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "parcelbot/policy.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kb_internal.h"
#include "parcelbot/buf.h"
#include "parcelbot/norm.h"
#include "parcelbot/time.h"

static const char *const comp_names[PB_COMP_COUNT_] = {
	"none", "coupon", "partial_refund", "refund", "reship", "reship_or_refund", "exchange",
};

const char *pb_comp_name(pb_comp_kind k)
{
	return (unsigned)k < PB_COMP_COUNT_ ? comp_names[k] : "none";
}

int pb_comp_from_name(const char *name)
{
	int i;

	for (i = 0; name && i < PB_COMP_COUNT_; i++)
		if (!strcmp(comp_names[i], name))
			return i;
	return -1;
}

const pb_money *pb_policy_money(const pb_policy *p, const char *currency)
{
	size_t i;
	const pb_money *def = NULL;

	for (i = 0; i < p->n_money; i++) {
		if (currency && !strcmp(p->money[i].currency, currency))
			return &p->money[i];
		if (!strcmp(p->money[i].currency, "default"))
			def = &p->money[i];
	}
	return def;
}

bool pb_policy_is_peak(const pb_policy *p, int64_t now)
{
	struct tm tm;
	int md;
	size_t i;

	pb_time_fields((pb_when){now, p->tz_off}, &tm);
	md = (tm.tm_mon + 1) * 100 + tm.tm_mday;
	for (i = 0; i < p->n_peaks; i++) {
		const pb_peak *k = &p->peaks[i];
		bool in = k->from_md <= k->to_md ? md >= k->from_md && md <= k->to_md
						 : md >= k->from_md || md <= k->to_md;
		if (in)
			return true;
	}
	return false;
}

const pb_thresholds *pb_policy_thresholds(const pb_policy *p, const char *category,
					  bool *perishable)
{
	size_t i;

	*perishable = false;
	for (i = 0; category && i < p->perishable_categories.n; i++)
		if (!strcmp(p->perishable_categories.v[i], category)) {
			*perishable = true;
			return &p->perishable;
		}
	return &p->normal;
}

void pb_policy_free(pb_policy *p)
{
	size_t i;

	if (!p)
		return;
	pb_str_list_release(&p->perishable_categories);
	free(p->sev3);
	free(p->sev2);
	free(p->money);
	for (i = 0; i < p->n_comp; i++) {
		free(p->comp[i].id);
		free(p->comp[i].note);
	}
	free(p->comp);
	for (i = 0; i < p->n_peaks; i++)
		free(p->peaks[i].name);
	free(p->peaks);
	for (i = 0; i < p->n_places; i++) {
		pcre2_code_free(p->places[i].code);
		free(p->places[i].source);
	}
	free(p->places);
	for (i = 0; i < p->n_exceptions; i++) {
		pcre2_code_free(p->exceptions[i].code);
		free(p->exceptions[i].source);
	}
	free(p->exceptions);
	free(p);
}

/* ---- helpers ---- */

/* A non-negative number under key; keeps *out when the key is absent. */
static bool hours_at(pb_kbl *L, const pb_ydoc *doc, const pb_ynode *map, const char *key,
		     bool required, double *out)
{
	double v = *out;

	if (!pb_y_num(L->dg, doc, map, key, required, &v))
		return false;
	if (v < 0 || v > 24 * 365) {
		pb_diag_at(L->dg, doc, pb_ymap_get(map, key), "'%s' must be between 0 and 8760 hours",
			   key);
		return false;
	}
	*out = v;
	return true;
}

/* Reads a list of rule ids of one kind into a bitmask. */
static uint64_t id_list(pb_kbl *L, const pb_ydoc *doc, const pb_ynode *list, pb_rule_kind kind)
{
	pb_kb *kb = L->kb;
	uint64_t bits = 0;
	size_t i;

	if (!pb_y_expect(L->dg, doc, list, PB_Y_SEQ, kind == PB_RULE_INTENT ? "'intents'" : "'signals'"))
		return 0;
	for (i = 0; i < list->n; i++) {
		const pb_ynode *it = list->items[i];
		int r = it->kind == PB_Y_SCALAR ? pb_kb_rule_index(kb, it->str) : -1;
		bool ok = r >= 0 && (kind == PB_RULE_INTENT ? (size_t)r < kb->n_intents
							    : (size_t)r >= kb->n_intents);
		if (!ok) {
			pb_diag_at(L->dg, doc, it, "'%s' is not %s", it->kind == PB_Y_SCALAR ? it->str : "?",
				   kind == PB_RULE_INTENT ? "an intent" : "a signal");
			continue;
		}
		bits |= (uint64_t)1 << (kind == PB_RULE_INTENT ? (size_t)r : (size_t)r - kb->n_intents);
	}
	return bits;
}

static uint32_t anomaly_list(pb_kbl *L, const pb_ydoc *doc, const pb_ynode *list)
{
	uint32_t bits = 0;
	size_t i;

	if (!pb_y_expect(L->dg, doc, list, PB_Y_SEQ, "'anomalies'"))
		return 0;
	for (i = 0; i < list->n; i++) {
		const pb_ynode *it = list->items[i];
		int a = it->kind == PB_Y_SCALAR ? pb_anomaly_from_name(it->str) : -1;
		if (a < 0) {
			pb_diag_at(L->dg, doc, it, "'%s' is not an anomaly (see docs/knowledge-base.md)",
				   it->kind == PB_Y_SCALAR ? it->str : "?");
			continue;
		}
		bits |= (uint32_t)1 << a;
	}
	return bits;
}

static int tri_bool(pb_kbl *L, const pb_ydoc *doc, const pb_ynode *map, const char *key)
{
	bool b = false;

	if (!pb_ymap_get(map, key))
		return -1;
	if (!pb_y_bool(L->dg, doc, map, key, false, &b))
		return -1;
	return b ? 1 : 0;
}

static uint32_t name_list(pb_kbl *L, const pb_ydoc *doc, const pb_ynode *list, const char *what,
			  const char *(*name)(int), int count)
{
	uint32_t bits = 0;
	size_t i;
	int k;

	if (!pb_y_expect(L->dg, doc, list, PB_Y_SEQ, what))
		return 0;
	for (i = 0; i < list->n; i++) {
		const pb_ynode *it = list->items[i];
		for (k = 0; k < count; k++)
			if (it->kind == PB_Y_SCALAR && !strcmp(name(k), it->str))
				break;
		if (k == count) {
			pb_diag_at(L->dg, doc, it, "'%s' is not one of the %s",
				   it->kind == PB_Y_SCALAR ? it->str : "?", what);
			continue;
		}
		bits |= (uint32_t)1 << k;
	}
	return bits;
}

static const char *state_name_i(int i)
{
	return pb_pstate_name((pb_pstate)i);
}

static const char *place_name_i(int i)
{
	return pb_place_name((pb_place)i);
}

void pb_cond_init(pb_cond *c)
{
	memset(c, 0, sizeof *c);
	c->min_hours_since_update = -1;
	c->min_contacts = -1;
	c->perishable = c->high_value = c->problem = -1;
	c->has_trace = c->shipped = c->stale = -1;
}

bool pb_cond_holds(const pb_cond *c, const pb_situation *s)
{
	if (c->intents && !(c->intents & s->intents))
		return false;
	if (c->signals && !(c->signals & s->signals))
		return false;
	if (c->anomalies && !(c->anomalies & s->anomalies))
		return false;
	if (c->states && !((c->states >> s->state) & 1))
		return false;
	if (c->places && !((c->places >> s->place) & 1))
		return false;
	if (c->min_hours_since_update >= 0 && s->hours_since_update < c->min_hours_since_update)
		return false;
	if (c->min_contacts >= 0 && s->contacts < c->min_contacts)
		return false;
	if (c->perishable >= 0 && c->perishable != s->perishable)
		return false;
	if (c->high_value >= 0 && c->high_value != s->high_value)
		return false;
	if (c->problem >= 0 && c->problem != s->problem)
		return false;
	if (c->has_trace >= 0 && c->has_trace != s->has_trace)
		return false;
	if (c->shipped >= 0 && c->shipped != s->shipped)
		return false;
	if (c->stale >= 0 && c->stale != s->stale)
		return false;
	return true;
}

void pb_kbl_cond(pb_kbl *L, const pb_ydoc *doc, const pb_ynode *m, pb_cond *c)
{
	static const char *const keys[] = {"intents", "signals", "anomalies", "states", "places",
					   "min_hours_since_update", "min_contacts", "perishable",
					   "high_value", "problem", "has_trace", "shipped", "stale",
					   NULL};
	const pb_ynode *v;
	double d;

	pb_cond_init(c);
	if (!pb_y_expect(L->dg, doc, m, PB_Y_MAP, "a condition"))
		return;
	pb_y_keys(L->dg, doc, m, keys);

	if ((v = pb_ymap_get(m, "intents")))
		c->intents = id_list(L, doc, v, PB_RULE_INTENT);
	if ((v = pb_ymap_get(m, "signals")))
		c->signals = id_list(L, doc, v, PB_RULE_SIGNAL);
	if ((v = pb_ymap_get(m, "anomalies")))
		c->anomalies = anomaly_list(L, doc, v);
	if ((v = pb_ymap_get(m, "states")))
		c->states = name_list(L, doc, v, "tracking states", state_name_i, PB_ST_COUNT_);
	if ((v = pb_ymap_get(m, "places")))
		c->places = name_list(L, doc, v, "places", place_name_i, PB_PLACE_COUNT_);
	if (pb_ymap_get(m, "min_hours_since_update"))
		hours_at(L, doc, m, "min_hours_since_update", true, &c->min_hours_since_update);
	if (pb_ymap_get(m, "min_contacts")) {
		d = 0;
		if (pb_y_num(L->dg, doc, m, "min_contacts", true, &d)) {
			if (d < 0 || d > 1000 || d != (int)d)
				pb_diag_at(L->dg, doc, pb_ymap_get(m, "min_contacts"),
					   "'min_contacts' must be a whole number");
			else
				c->min_contacts = (int)d;
		}
	}
	c->perishable = tri_bool(L, doc, m, "perishable");
	c->high_value = tri_bool(L, doc, m, "high_value");
	c->problem = tri_bool(L, doc, m, "problem");
	c->has_trace = tri_bool(L, doc, m, "has_trace");
	c->shipped = tri_bool(L, doc, m, "shipped");
	c->stale = tri_bool(L, doc, m, "stale");
}

static pb_cond *cond_list(pb_kbl *L, const pb_ydoc *doc, const pb_ynode *list, size_t *n)
{
	pb_cond *v;
	size_t i;

	*n = 0;
	if (!pb_y_expect(L->dg, doc, list, PB_Y_SEQ, "a severity level"))
		return NULL;
	v = calloc(list->n ? list->n : 1, sizeof *v);
	if (!v) {
		L->oom = true;
		return NULL;
	}
	for (i = 0; i < list->n; i++)
		pb_kbl_cond(L, doc, list->items[i], &v[i]);
	*n = list->n;
	return v;
}

static void thresholds(pb_kbl *L, const pb_ydoc *doc, const pb_ynode *m, pb_thresholds *t,
		       bool required)
{
	static const char *const keys[] = {"no_update", "stuck_at_node", "not_picked_up", "no_trace",
					   "not_shipped", "categories", NULL};

	if (!pb_y_expect(L->dg, doc, m, PB_Y_MAP, "thresholds"))
		return;
	pb_y_keys(L->dg, doc, m, keys);
	hours_at(L, doc, m, "no_update", required, &t->no_update);
	hours_at(L, doc, m, "stuck_at_node", required, &t->stuck_at_node);
	hours_at(L, doc, m, "not_picked_up", required, &t->not_picked_up);
	hours_at(L, doc, m, "no_trace", required, &t->no_trace);
	hours_at(L, doc, m, "not_shipped", required, &t->not_shipped);
}

/* "18:00" -> minutes after midnight, or -1. */
static int clock_minutes(const char *s)
{
	int h, m;
	char tail;

	/* NOLINTNEXTLINE(cert-err34-c): "HH:MM" from the KB, range-checked here; glibc clamps overflow */
	if (sscanf(s, "%d:%d%c", &h, &m, &tail) != 2 || h < 0 || h > 23 || m < 0 || m > 59)
		return -1;
	return h * 60 + m;
}

static void follow_up(pb_kbl *L, const pb_ydoc *doc, const pb_ynode *m, pb_follow_up *f)
{
	static const char *const keys[] = {"within_hours", "by", NULL};
	const char *by;

	f->hours = -1;
	f->by_minute = -1;
	if (!pb_y_expect(L->dg, doc, m, PB_Y_MAP, "a follow-up"))
		return;
	pb_y_keys(L->dg, doc, m, keys);
	by = pb_y_str(L->dg, doc, m, "by", false);
	if (pb_ymap_get(m, "within_hours") && by) {
		pb_diag_at(L->dg, doc, m, "give either 'within_hours' or 'by', not both");
		return;
	}
	if (by) {
		f->by_minute = clock_minutes(by);
		if (f->by_minute < 0)
			pb_diag_at(L->dg, doc, pb_ymap_get(m, "by"), "'by' must be a time like \"18:00\"");
		return;
	}
	if (!hours_at(L, doc, m, "within_hours", true, &f->hours))
		return;
	if (f->hours <= 0)
		pb_diag_at(L->dg, doc, pb_ymap_get(m, "within_hours"), "'within_hours' must be positive");
}

static int month_day(const char *s)
{
	int m, d;
	char tail;

	/* NOLINTNEXTLINE(cert-err34-c): "MM-DD" from the KB, range-checked here; glibc clamps overflow */
	if (sscanf(s, "%d-%d%c", &m, &d, &tail) != 2 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	return m * 100 + d;
}

static void load_money(pb_kbl *L, const pb_ydoc *doc, const pb_ynode *list, pb_policy *p)
{
	static const char *const keys[] = {"currency", "coupon", "coupon_large", "cap", "high_value",
					   NULL};
	size_t i, j;
	bool have_default = false;

	if (!pb_y_expect(L->dg, doc, list, PB_Y_SEQ, "'money'"))
		return;
	p->money = calloc(list->n ? list->n : 1, sizeof *p->money);
	if (!p->money) {
		L->oom = true;
		return;
	}
	for (i = 0; i < list->n; i++) {
		const pb_ynode *m = list->items[i];
		pb_money *mo = &p->money[p->n_money];
		const char *cur;
		if (!pb_y_expect(L->dg, doc, m, PB_Y_MAP, "a currency row"))
			continue;
		pb_y_keys(L->dg, doc, m, keys);
		cur = pb_y_str(L->dg, doc, m, "currency", true);
		if (!cur)
			continue;
		if (strcmp(cur, "default") && (strlen(cur) != 3 || strspn(cur, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3)) {
			pb_diag_at(L->dg, doc, pb_ymap_get(m, "currency"),
				   "currency must be an ISO code like CNY, or 'default'");
			continue;
		}
		for (j = 0; j < p->n_money; j++)
			if (!strcmp(p->money[j].currency, cur))
				pb_diag_at(L->dg, doc, pb_ymap_get(m, "currency"), "currency '%s' is listed twice",
					   cur);
		snprintf(mo->currency, sizeof mo->currency, "%s", cur);
		if (!strcmp(cur, "default"))
			have_default = true;
		pb_y_num(L->dg, doc, m, "coupon", true, &mo->coupon);
		pb_y_num(L->dg, doc, m, "coupon_large", true, &mo->coupon_large);
		pb_y_num(L->dg, doc, m, "cap", true, &mo->cap);
		pb_y_num(L->dg, doc, m, "high_value", true, &mo->high_value);
		if (mo->coupon < 0 || mo->coupon_large < 0 || mo->cap < 0 || mo->high_value <= 0)
			pb_diag_at(L->dg, doc, m, "amounts must be positive");
		else if (mo->coupon > mo->cap || mo->coupon_large > mo->cap)
			pb_diag_at(L->dg, doc, m, "a coupon above the cap could never be offered");
		p->n_money++;
	}
	if (!have_default)
		pb_diag_at(L->dg, doc, list, "add a 'default' currency row for orders in other currencies");
}

static void load_comp_rules(pb_kbl *L, const pb_ydoc *doc, const pb_ynode *list, pb_policy *p)
{
	static const char *const keys[] = {"id", "when", "offer", "coupon", "refund_share", "note",
					   NULL};
	size_t i, j;

	if (!pb_y_expect(L->dg, doc, list, PB_Y_SEQ, "'rules'"))
		return;
	p->comp = calloc(list->n ? list->n : 1, sizeof *p->comp);
	if (!p->comp) {
		L->oom = true;
		return;
	}
	for (i = 0; i < list->n; i++) {
		const pb_ynode *m = list->items[i];
		pb_comp_rule *r = &p->comp[p->n_comp];
		const char *id, *offer, *coupon, *note;
		int k;
		if (!pb_y_expect(L->dg, doc, m, PB_Y_MAP, "a compensation rule"))
			continue;
		pb_y_keys(L->dg, doc, m, keys);
		id = pb_y_str(L->dg, doc, m, "id", true);
		offer = pb_y_str(L->dg, doc, m, "offer", true);
		coupon = pb_y_str(L->dg, doc, m, "coupon", false);
		note = pb_y_str(L->dg, doc, m, "note", false);
		if (!id || !offer)
			continue;
		for (j = 0; j < p->n_comp; j++)
			/* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): the first n_comp have an id */
			if (!strcmp(p->comp[j].id, id))
				pb_diag_at(L->dg, doc, pb_ymap_get(m, "id"), "duplicate rule id '%s'", id);
		k = pb_comp_from_name(offer);
		if (k < 0) {
			pb_diag_at(L->dg, doc, pb_ymap_get(m, "offer"),
				   "offer must be none, coupon, partial_refund, refund, reship, "
				   "reship_or_refund or exchange");
			continue;
		}
		if (!pb_ymap_get(m, "when")) {
			pb_diag_at(L->dg, doc, m, "missing required key 'when'");
			continue;
		}
		pb_kbl_cond(L, doc, pb_ymap_get(m, "when"), &r->when);
		r->offer = (pb_comp_kind)k;
		r->coupon = 0;
		if (coupon) {
			if (!strcmp(coupon, "small"))
				r->coupon = 1;
			else if (!strcmp(coupon, "large"))
				r->coupon = 2;
			else if (strcmp(coupon, "none"))
				pb_diag_at(L->dg, doc, pb_ymap_get(m, "coupon"),
					   "coupon must be none, small or large");
		}
		if (r->offer == PB_COMP_COUPON && !r->coupon)
			pb_diag_at(L->dg, doc, m, "a coupon offer needs 'coupon: small' or 'coupon: large'");
		r->refund_share = 0;
		if (pb_ymap_get(m, "refund_share")) {
			pb_y_num(L->dg, doc, m, "refund_share", true, &r->refund_share);
			if (r->refund_share <= 0 || r->refund_share > 1)
				pb_diag_at(L->dg, doc, pb_ymap_get(m, "refund_share"),
					   "refund_share is a share of the order amount, between 0 and 1");
		} else if (r->offer == PB_COMP_PARTIAL_REFUND) {
			pb_diag_at(L->dg, doc, m, "a partial refund needs 'refund_share'");
		}
		r->id = pb_kbl_strdup(L, id);
		r->note = note ? pb_kbl_strdup(L, note) : NULL;
		r->file = pb_kbl_file(L, doc->file);
		r->line = m->line;
		p->n_comp++;
	}
}

void pb_kbl_load_policy(pb_kbl *L)
{
	static const char *const top[] = {"timezone", "thresholds", "perishable", "severity",
					  "compensation", "service_levels", "follow_up", "peak_seasons",
					  "carrier_delay_limit", NULL};
	static const char *const sevkeys[] = {"escalate_at", "severe", "moderate", NULL};
	static const char *const compkeys[] = {"coupon_valid_days", "money", "rules", NULL};
	static const char *const slkeys[] = {"first_reply", "first_plan", "progress_update",
					     "check_back", NULL};
	static const char *const fukeys[] = {"default", "intents", NULL};
	static const char *const pkkeys[] = {"factor", "seasons", NULL};
	static const char *const seasonkeys[] = {"name", "from", "to", NULL};
	pb_ydoc doc;
	pb_policy *p;
	const pb_ynode *n, *m;
	const char *tz;
	pb_when w;
	double d;
	size_t i;

	p = calloc(1, sizeof *p);
	if (!p) {
		L->oom = true;
		return;
	}
	L->kb->policy = p;
	p->escalate_at = 3;
	p->peak_factor = 2;
	p->coupon_valid_days = 30;
	p->follow_default.hours = 12;
	p->follow_default.by_minute = -1;
	for (i = 0; i < PB_KB_MAX_INTENTS; i++) {
		p->follow[i].hours = -1;
		p->follow[i].by_minute = -1;
	}
	if (!pb_kbl_open(L, "policy.yaml", true, &doc))
		return;
	pb_y_keys(L->dg, &doc, doc.root, top);

	tz = pb_y_str(L->dg, &doc, doc.root, "timezone", true);
	if (tz) {
		char iso[40];
		snprintf(iso, sizeof iso, "2000-01-01T00:00:00%s", tz);
		if (pb_time_parse(iso, 0, &w) || (tz[0] != '+' && tz[0] != '-'))
			pb_diag_at(L->dg, &doc, pb_ymap_get(doc.root, "timezone"),
				   "timezone must be a UTC offset like \"+08:00\"");
		else
			p->tz_off = w.off;
	}

	n = pb_ymap_get(doc.root, "thresholds");
	if (!n)
		pb_diag_at(L->dg, &doc, doc.root, "missing required key 'thresholds'");
	else
		thresholds(L, &doc, n, &p->normal, true);
	p->perishable = p->normal;
	n = pb_ymap_get(doc.root, "perishable");
	if (n && pb_y_expect(L->dg, &doc, n, PB_Y_MAP, "'perishable'")) {
		thresholds(L, &doc, n, &p->perishable, false);
		pb_kbl_strings(L, &doc, n, "categories", true, 1, &p->perishable_categories);
	}

	n = pb_ymap_get(doc.root, "severity");
	if (!n)
		pb_diag_at(L->dg, &doc, doc.root, "missing required key 'severity'");
	else if (pb_y_expect(L->dg, &doc, n, PB_Y_MAP, "'severity'")) {
		pb_y_keys(L->dg, &doc, n, sevkeys);
		d = 3;
		if (pb_y_num(L->dg, &doc, n, "escalate_at", false, &d)) {
			if (d != 2 && d != 3)
				pb_diag_at(L->dg, &doc, pb_ymap_get(n, "escalate_at"),
					   "escalate_at must be 2 or 3");
			else
				p->escalate_at = (int)d;
		}
		if ((m = pb_ymap_get(n, "severe")))
			p->sev3 = cond_list(L, &doc, m, &p->n_sev3);
		if ((m = pb_ymap_get(n, "moderate")))
			p->sev2 = cond_list(L, &doc, m, &p->n_sev2);
	}

	n = pb_ymap_get(doc.root, "compensation");
	if (!n)
		pb_diag_at(L->dg, &doc, doc.root, "missing required key 'compensation'");
	else if (pb_y_expect(L->dg, &doc, n, PB_Y_MAP, "'compensation'")) {
		pb_y_keys(L->dg, &doc, n, compkeys);
		d = p->coupon_valid_days;
		if (pb_y_num(L->dg, &doc, n, "coupon_valid_days", false, &d)) {
			/* Buyers read a coupon that lapses in days as an insult. */
			if (d < 15 || d > 3650 || d != (int)d)
				pb_diag_at(L->dg, &doc, pb_ymap_get(n, "coupon_valid_days"),
					   "coupon_valid_days must be a whole number of at least 15");
			else
				p->coupon_valid_days = (int)d;
		}
		if ((m = pb_ymap_get(n, "money")))
			load_money(L, &doc, m, p);
		else
			pb_diag_at(L->dg, &doc, n, "missing required key 'money'");
		if ((m = pb_ymap_get(n, "rules")))
			load_comp_rules(L, &doc, m, p);
		else
			pb_diag_at(L->dg, &doc, n, "missing required key 'rules'");
	}

	p->carrier_delay_limit = 0.10;
	if (pb_y_num(L->dg, &doc, doc.root, "carrier_delay_limit", false, &p->carrier_delay_limit) &&
	    (p->carrier_delay_limit < 0 || p->carrier_delay_limit > 1))
		pb_diag_at(L->dg, &doc, pb_ymap_get(doc.root, "carrier_delay_limit"),
			   "carrier_delay_limit must be a share between 0 and 1");

	p->first_reply = 2;
	p->first_plan = 24;
	p->progress_update = 12;
	p->check_back = 24;
	n = pb_ymap_get(doc.root, "service_levels");
	if (n && pb_y_expect(L->dg, &doc, n, PB_Y_MAP, "'service_levels'")) {
		pb_y_keys(L->dg, &doc, n, slkeys);
		hours_at(L, &doc, n, "first_reply", false, &p->first_reply);
		hours_at(L, &doc, n, "first_plan", false, &p->first_plan);
		hours_at(L, &doc, n, "progress_update", false, &p->progress_update);
		hours_at(L, &doc, n, "check_back", false, &p->check_back);
	}

	n = pb_ymap_get(doc.root, "follow_up");
	if (n && pb_y_expect(L->dg, &doc, n, PB_Y_MAP, "'follow_up'")) {
		pb_y_keys(L->dg, &doc, n, fukeys);
		if ((m = pb_ymap_get(n, "default")))
			follow_up(L, &doc, m, &p->follow_default);
		m = pb_ymap_get(n, "intents");
		if (m && pb_y_expect(L->dg, &doc, m, PB_Y_MAP, "'intents'")) {
			for (i = 0; i < m->n; i++) {
				const pb_ynode *k = pb_ymap_key(m, i);
				int r = pb_kb_rule_index(L->kb, k->str);
				if (r < 0 || (size_t)r >= L->kb->n_intents) {
					pb_diag_at(L->dg, &doc, k, "'%s' is not an intent", k->str);
					continue;
				}
				follow_up(L, &doc, pb_ymap_val(m, i), &p->follow[r]);
			}
		}
	}

	n = pb_ymap_get(doc.root, "peak_seasons");
	if (n && pb_y_expect(L->dg, &doc, n, PB_Y_MAP, "'peak_seasons'")) {
		pb_y_keys(L->dg, &doc, n, pkkeys);
		if (pb_y_num(L->dg, &doc, n, "factor", false, &p->peak_factor) &&
		    (p->peak_factor < 1 || p->peak_factor > 10))
			pb_diag_at(L->dg, &doc, pb_ymap_get(n, "factor"), "factor must be between 1 and 10");
		m = pb_ymap_get(n, "seasons");
		if (m && pb_y_expect(L->dg, &doc, m, PB_Y_SEQ, "'seasons'")) {
			p->peaks = calloc(m->n ? m->n : 1, sizeof *p->peaks);
			if (!p->peaks)
				L->oom = true;
			for (i = 0; p->peaks && i < m->n; i++) {
				const pb_ynode *s = m->items[i];
				const char *name, *from, *to;
				int f, t;
				if (!pb_y_expect(L->dg, &doc, s, PB_Y_MAP, "a season"))
					continue;
				pb_y_keys(L->dg, &doc, s, seasonkeys);
				name = pb_y_str(L->dg, &doc, s, "name", true);
				from = pb_y_str(L->dg, &doc, s, "from", true);
				to = pb_y_str(L->dg, &doc, s, "to", true);
				if (!name || !from || !to)
					continue;
				f = month_day(from);
				t = month_day(to);
				if (f < 0 || t < 0) {
					pb_diag_at(L->dg, &doc, s, "'from' and 'to' are dates like \"11-01\"");
					continue;
				}
				p->peaks[p->n_peaks].name = pb_kbl_strdup(L, name);
				p->peaks[p->n_peaks].from_md = f;
				p->peaks[p->n_peaks].to_md = t;
				p->n_peaks++;
			}
		}
	}
	pb_ydoc_release(&doc);
}

/* ---- tracking.yaml ---- */

static pb_text_rule *text_rules(pb_kbl *L, const pb_ydoc *doc, const pb_ynode *map,
				const char *const *names, int count, size_t *n)
{
	pb_text_rule *v;
	size_t i, j;

	*n = 0;
	if (!pb_y_expect(L->dg, doc, map, PB_Y_MAP, "a list of kinds"))
		return NULL;
	v = calloc(map->n ? map->n : 1, sizeof *v);
	if (!v) {
		L->oom = true;
		return NULL;
	}
	for (i = 0; i < map->n; i++) {
		const pb_ynode *k = pb_ymap_key(map, i), *re = pb_ymap_val(map, i);
		int kind = -1, c;
		char *ex;
		pcre2_code *code;
		int ec;
		PCRE2_SIZE off;
		char msg[200];
		for (c = 0; c < count; c++)
			if (names[c] && !strcmp(names[c], k->str))
				kind = c;
		if (kind < 0) {
			pb_diag_at(L->dg, doc, k, "'%s' is not a kind this file knows", k->str);
			continue;
		}
		for (j = 0; j < *n; j++)
			if (v[j].kind == kind)
				pb_diag_at(L->dg, doc, k, "'%s' is listed twice", k->str);
		if (!pb_y_expect(L->dg, doc, re, PB_Y_SCALAR, "a pattern"))
			continue;
		ex = pb_kbl_expand(L, doc, re, re->str);
		if (!ex)
			continue;
		code = pcre2_compile((PCRE2_SPTR)ex, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_CASELESS,
				     &ec, &off, NULL);
		if (!code) {
			pcre2_get_error_message(ec, (PCRE2_UCHAR *)msg, sizeof msg);
			pb_diag_at(L->dg, doc, re, "regex does not compile: %s (at offset %zu)", msg,
				   (size_t)off);
			free(ex);
			continue;
		}
		v[*n].kind = kind;
		v[*n].code = code;
		v[*n].source = ex;
		(*n)++;
	}
	return v;
}

void pb_kbl_load_tracking(pb_kbl *L)
{
	static const char *const top[] = {"places", "exceptions", NULL};
	const char *places[PB_PLACE_COUNT_], *ex[PB_EX_COUNT_];
	pb_policy *p = L->kb->policy;
	pb_ydoc doc;
	const pb_ynode *n;
	int i;

	if (!p || !pb_kbl_open(L, "tracking.yaml", true, &doc))
		return;
	pb_y_keys(L->dg, &doc, doc.root, top);
	for (i = 0; i < PB_PLACE_COUNT_; i++)
		places[i] = i == PB_PLACE_NONE ? NULL : pb_place_name((pb_place)i);
	for (i = 0; i < PB_EX_COUNT_; i++)
		ex[i] = i == PB_EX_NONE || i == PB_EX_OTHER ? NULL : pb_exkind_name((pb_exkind)i);
	if ((n = pb_ymap_get(doc.root, "places")))
		p->places = text_rules(L, &doc, n, places, PB_PLACE_COUNT_, &p->n_places);
	else
		pb_diag_at(L->dg, &doc, doc.root, "missing required key 'places'");
	if ((n = pb_ymap_get(doc.root, "exceptions")))
		p->exceptions = text_rules(L, &doc, n, ex, PB_EX_COUNT_, &p->n_exceptions);
	else
		pb_diag_at(L->dg, &doc, doc.root, "missing required key 'exceptions'");
	pb_ydoc_release(&doc);
}
