/*
 * Drafting (see draft.h). The order of work mirrors what a good agent does:
 * judge how serious the case is and why, decide what the policy offers and
 * when the buyer will hear back, then write the reply from the KB's
 * templates (apology first), check it with the same lint an agent's edit
 * gets, and list what the agent must do. Escalations also get a brief.
 */
#include "parcelbot/draft.h"

#include <cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/kb.h"
#include "parcelbot/replies.h"
#include "parcelbot/template.h"
#include "parcelbot/utf8.h"

#define MAX_TEXT 16384

static const char *const action_names[] = {"none", "draft", "escalate"};

const char *pb_action_name(pb_action a)
{
	return (unsigned)a <= PB_ACT_ESCALATE ? action_names[a] : "none";
}

void pb_reply_release(pb_reply *r)
{
	free(r->text);
	free(r->brief);
	free(r->template_id);
	pb_str_list_release(&r->checklist);
	pb_str_list_release(&r->reasons);
	memset(r, 0, sizeof *r);
}

static bool problem_intents(const pb_kb *kb, uint64_t intents)
{
	size_t i;

	for (i = 0; i < kb->n_intents; i++)
		if (((intents >> i) & 1) && kb->rules[i].problem)
			return true;
	return false;
}

void pb_draft_situation(const pb_kb *kb, const pb_verdict *v, const pb_order *order,
			const pb_assessment *a, int contacts, pb_situation *s)
{
	const pb_money *m = pb_policy_money(kb->policy, order ? order->currency : NULL);

	memset(s, 0, sizeof *s);
	s->intents = v ? v->intents : 0;
	s->signals = v ? v->signals : 0;
	s->anomalies = a->anomalies;
	s->state = a->state;
	s->place = a->place;
	s->hours_since_update = a->hours_since_update;
	s->contacts = contacts;
	s->perishable = a->perishable;
	s->high_value = order && m && order->amount >= m->high_value;
	s->problem = problem_intents(kb, s->intents) || a->anomalies;
	s->has_trace = a->has_trace;
	/* Without an order or a parcel nobody knows whether it shipped; a
	 * reply must not claim either. */
	s->shipped = a->has_parcel || (order && order->has_shipped_at) ? 1 : order ? 0 : -1;
	s->stale = a->stale;
}

/* ---- small helpers ---- */

static pb_err list_add(pb_str_list *l, const char *s)
{
	char **nv = realloc(l->v, (l->n + 1) * sizeof *nv);

	if (!nv)
		return PB_ENOMEM;
	l->v = nv;
	l->v[l->n] = strdup(s);
	if (!l->v[l->n])
		return PB_ENOMEM;
	l->n++;
	return PB_OK;
}

static uint64_t fnv(const char *a, const char *b)
{
	uint64_t h = 1469598103934665603ull;
	const char *s;

	for (s = a ? a : ""; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	h = (h ^ '/') * 1099511628211ull;
	for (s = b ? b : ""; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static void fmt_amount(double v, char *buf, size_t n)
{
	if (fabs(v - round(v)) < 0.005)
		snprintf(buf, n, "%.0f", v);
	else
		snprintf(buf, n, "%.2f", v);
}

/* An amount as buyers read it: 10元, RM5, S$2, US$3, 12 THB. */
static void fmt_money(double v, const char *cur, int lang, char *buf, size_t n)
{
	char a[32];

	fmt_amount(v, a, sizeof a);
	if (!strcmp(cur, "CNY"))
		snprintf(buf, n, lang ? "%s元" : "CNY %s", a);
	else if (!strcmp(cur, "MYR"))
		snprintf(buf, n, "RM%s", a);
	else if (!strcmp(cur, "SGD"))
		snprintf(buf, n, "S$%s", a);
	else if (!strcmp(cur, "USD"))
		snprintf(buf, n, "US$%s", a);
	else
		snprintf(buf, n, "%s %s", a, cur);
}

static const char *const month_abbr[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* An event time in the shop's zone: 11月17日08:00 / 17 Nov 08:00. */
static void fmt_time(int64_t t, int32_t off, int lang, char *buf, size_t n)
{
	struct tm tm;

	pb_time_fields((pb_when){t, off}, &tm);
	if (lang)
		snprintf(buf, n, "%d月%d日%02d:%02d", tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min);
	else
		snprintf(buf, n, "%d %s %02d:%02d", tm.tm_mday, month_abbr[tm.tm_mon], tm.tm_hour,
			 tm.tm_min);
}

/* A deadline relative to now: 今天18:00前 / by 18:00 tomorrow. */
static void fmt_due(int64_t due, int64_t now, int32_t off, int lang, char *buf, size_t n)
{
	struct tm d, t;
	int64_t days;

	pb_time_fields((pb_when){due, off}, &d);
	pb_time_fields((pb_when){now, off}, &t);
	days = pb_days_from_civil(d.tm_year + 1900, (unsigned)d.tm_mon + 1, (unsigned)d.tm_mday) -
	       pb_days_from_civil(t.tm_year + 1900, (unsigned)t.tm_mon + 1, (unsigned)t.tm_mday);
	if (lang) {
		if (days == 0)
			snprintf(buf, n, "今天%02d:%02d前", d.tm_hour, d.tm_min);
		else if (days == 1)
			snprintf(buf, n, "明天%02d:%02d前", d.tm_hour, d.tm_min);
		else
			snprintf(buf, n, "%d月%d日%02d:%02d前", d.tm_mon + 1, d.tm_mday, d.tm_hour,
				 d.tm_min);
	} else {
		if (days == 0)
			snprintf(buf, n, "by %02d:%02d today", d.tm_hour, d.tm_min);
		else if (days == 1)
			snprintf(buf, n, "by %02d:%02d tomorrow", d.tm_hour, d.tm_min);
		else
			snprintf(buf, n, "by %02d:%02d on %d %s", d.tm_hour, d.tm_min, d.tm_mday,
				 month_abbr[d.tm_mon]);
	}
}

/* When the reply promises the next update, per the policy's follow-up for
 * the intent, stretched in peak season. */
static int64_t follow_up_due(const pb_policy *p, int intent, int64_t now, bool peak)
{
	const pb_follow_up *f = intent >= 0 && p->follow[intent].hours > 0 ? &p->follow[intent]
			      /* cppcheck-suppress knownConditionTrueFalse ; true when hours <= 0 */
			      : intent >= 0 && p->follow[intent].by_minute >= 0 ? &p->follow[intent]
										   : &p->follow_default;
	double factor = peak ? p->peak_factor : 1;
	struct tm tm;
	int64_t midnight, due;

	if (f->by_minute >= 0) {
		/* "by 18:00" means 18:00 the next day; peak adds days. */
		pb_time_fields((pb_when){now, p->tz_off}, &tm);
		midnight = pb_time_from_fields(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, 0, 0, 0,
					       p->tz_off);
		return midnight + (int64_t)ceil(factor) * 86400 + (int64_t)f->by_minute * 60;
	}
	due = now + (int64_t)(f->hours * factor * 3600);
	/* Round up to the quarter hour: people promise 14:15, not 14:07. */
	return (due + 899) / 900 * 900;
}

static bool has_han(const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);

	while (p < end) {
		uint32_t cp = pb_utf8_next(&p, end);
		if ((cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF))
			return true;
	}
	return false;
}

/* ---- variables ---- */

enum {
	V_ORDER_ID, V_ITEM, V_CARRIER, V_TRACKING, V_LAST_TIME, V_LAST_LOCATION, V_LAST_TEXT,
	V_STATE, V_HOURS, V_DAYS, V_DAYS_NODE, V_PICKUP, V_FOLLOW_UP, V_COUPON, V_COUPON_DAYS,
	V_REFUND, V_ORDER_AMOUNT, V_UPGRADE, V_QTY_ORDERED, V_QTY_RECEIVED, V_QTY_MISSING,
	V_DURATION, V_MESSAGE, V_INTENTS, V_SIGNALS, V_ANOMALIES, V_REASONS, V_OFFER, V_SEVERITY,
	V_TRACE_SUMMARY, V_ORDER, V_COUNT
};

typedef struct vars {
	pb_tvar v[V_COUNT];
	char buf[V_COUNT][256];
	char *message; /* owned copies of long values */
	char *reasons;
} vars;

static void set(vars *vs, int k, const char *fmt, ...) PB_PRINTF(3, 4);

static void set(vars *vs, int k, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(vs->buf[k], sizeof vs->buf[k], fmt, ap);
	va_end(ap);
	/* Values are cut to fit, never mid-character. */
	vs->buf[k][pb_utf8_clip(vs->buf[k], strlen(vs->buf[k]), sizeof vs->buf[k] - 1)] = '\0';
	vs->v[k].value = vs->buf[k];
}

typedef struct draft_ctx {
	const pb_kb *kb;
	const pb_replies *rp;
	const pb_policy *pol;
	const pb_verdict *v;
	const pb_order *order;
	const pb_trace *trace;
	const pb_assessment *a;
	const pb_case_ctx *cc;
	const char *message;
	int lang;
	pb_situation s;
	pb_reply *out;
	vars vs;
} draft_ctx;

static void build_vars(draft_ctx *d)
{
	const pb_kb *kb = d->kb;
	const pb_assessment *a = d->a;
	const pb_order *o = d->order;
	const pb_trace *t = d->trace;
	const pb_replies *rp = d->rp;
	int lang = d->lang, i;
	char m[64];

	memset(&d->vs, 0, sizeof d->vs);
	for (i = 0; i < V_COUNT; i++)
		d->vs.v[i].name = pb_template_vars[i];
	if (o && o->id && *o->id)
		set(&d->vs, V_ORDER_ID, "%s", o->id);
	if (o && o->n_items && *o->items[0].name)
		set(&d->vs, V_ITEM, "%s", o->items[0].name);
	if (t && t->carrier && *t->carrier) {
		const pb_carrier *c = pb_kb_carrier(kb, t->carrier);
		if (c)
			set(&d->vs, V_CARRIER, "%s", lang ? c->name_zh : c->name_en);
	}
	/* An unknown carrier is still "the courier"; a reply need not stall on
	 * a missing name. */
	if (!d->vs.v[V_CARRIER].value)
		set(&d->vs, V_CARRIER, "%s", lang ? "快递公司" : "the courier");
	if (t && t->number && *t->number)
		set(&d->vs, V_TRACKING, "%s", t->number);
	if (a->last >= 0 && t) {
		const pb_event *e = &t->events[a->last];
		fmt_time(e->time.t, d->pol->tz_off, lang, d->vs.buf[V_LAST_TIME],
			 sizeof d->vs.buf[V_LAST_TIME]);
		d->vs.v[V_LAST_TIME].value = d->vs.buf[V_LAST_TIME];
		if (*a->node)
			set(&d->vs, V_LAST_LOCATION, "%s", a->node);
		if (*e->description)
			set(&d->vs, V_LAST_TEXT, "%s", e->description);
		if (rp->state_name[a->state][lang])
			set(&d->vs, V_STATE, "%s", rp->state_name[a->state][lang]);
		set(&d->vs, V_HOURS, "%d", (int)a->hours_since_update);
		if (a->hours_since_update >= 24)
			set(&d->vs, V_DAYS, "%d", (int)(a->hours_since_update / 24));
		if (a->hours_at_node >= 24)
			set(&d->vs, V_DAYS_NODE, "%d", (int)(a->hours_at_node / 24));
	}
	if (a->place != PB_PLACE_NONE && a->place != PB_PLACE_IN_PERSON &&
	    rp->place_name[a->place][lang])
		set(&d->vs, V_PICKUP, "%s", rp->place_name[a->place][lang]);
	if (d->out->has_follow_up) {
		fmt_due(d->out->follow_up_due.t, d->cc->now, d->pol->tz_off, lang,
			d->vs.buf[V_FOLLOW_UP], sizeof d->vs.buf[V_FOLLOW_UP]);
		d->vs.v[V_FOLLOW_UP].value = d->vs.buf[V_FOLLOW_UP];
	}
	if (d->out->comp != PB_COMP_NONE) {
		const char *cur = d->out->comp_currency;
		const pb_comp_rule *r = NULL;
		size_t k;
		for (k = 0; k < d->pol->n_comp; k++)
			if (d->pol->comp[k].id == d->out->comp_rule)
				r = &d->pol->comp[k];
		if (r && r->coupon) {
			const pb_money *mo = pb_policy_money(d->pol, cur);
			fmt_money(r->coupon == 2 ? mo->coupon_large : mo->coupon, cur, lang, m, sizeof m);
			set(&d->vs, V_COUPON, "%s", m);
			set(&d->vs, V_COUPON_DAYS, "%d", d->pol->coupon_valid_days);
		}
		if (d->out->comp == PB_COMP_PARTIAL_REFUND) {
			fmt_money(d->out->comp_amount, cur, lang, m, sizeof m);
			set(&d->vs, V_REFUND, "%s", m);
		}
	}
	if (o && o->amount > 0) {
		fmt_money(o->amount, o->currency, lang, m, sizeof m);
		set(&d->vs, V_ORDER_AMOUNT, "%s", m);
	}
	if (rp->upgrade_carrier[lang])
		set(&d->vs, V_UPGRADE, "%s", rp->upgrade_carrier[lang]);
	if (d->v && d->v->ent.has_quantity) {
		int ord = d->v->ent.ordered >= 0 ? d->v->ent.ordered : (o ? pb_order_qty(o) : -1);
		if (ord > 0)
			set(&d->vs, V_QTY_ORDERED, "%d", ord);
		if (d->v->ent.received >= 0)
			set(&d->vs, V_QTY_RECEIVED, "%d", d->v->ent.received);
		if (ord > 0 && d->v->ent.received >= 0 && ord > d->v->ent.received)
			set(&d->vs, V_QTY_MISSING, "%d", ord - d->v->ent.received);
	}
	if (d->v && d->v->ent.n_durations && d->message) {
		const pb_span *sp = &d->v->ent.durations[0].span;
		set(&d->vs, V_DURATION, "%.*s", (int)sp->len, d->message + sp->off);
	}
	if (o && o->id && *o->id) {
		if (o->amount > 0)
			set(&d->vs, V_ORDER, "%s (%s)", o->id, d->vs.buf[V_ORDER_AMOUNT]);
		else
			set(&d->vs, V_ORDER, "%s", o->id);
	} else {
		set(&d->vs, V_ORDER, "-");
	}
	/* An English reply must read as English: trace texts and item names in
	 * Chinese are left out, and templates that need them are passed over. */
	if (!lang)
		for (i = 0; i < V_MESSAGE; i++)
			if (d->vs.v[i].value && has_han(d->vs.v[i].value))
				d->vs.v[i].value = NULL;
}

/* ---- the reply ---- */

static bool render(draft_ctx *d, const char *text, pb_buf *out)
{
	size_t mark = out->len;

	if (!text)
		return true;
	if (pb_template_render(text, d->vs.v, V_COUNT, out, NULL)) {
		out->len = mark;
		if (out->data)
			out->data[mark] = '\0';
		return false;
	}
	return true;
}

/* Appends a piece, separated by a space in English. */
static bool piece(draft_ctx *d, const char *text, pb_buf *out)
{
	size_t mark = out->len;

	if (!text || !*text)
		return true;
	if (!d->lang && out->len && out->data[out->len - 1] != ' ' && pb_buf_putc(out, ' '))
		return false;
	if (!render(d, text, out)) {
		out->len = mark;
		if (out->data)
			out->data[mark] = '\0';
		return false;
	}
	return true;
}

static const pb_variant *pick_variant(const draft_ctx *d, const pb_template *t)
{
	size_t n = t->n[d->lang];

	if (!n)
		return NULL;
	return &t->v[d->lang][fnv(d->cc->case_id, t->id) % n];
}

/* True when every section of the variant can be rendered for this case. */
static bool renderable(draft_ctx *d, const pb_variant *v)
{
	pb_buf tmp;
	bool ok = true;
	int k;

	pb_buf_init(&tmp, MAX_TEXT);
	for (k = 0; k < PB_PART_COUNT_ && ok; k++)
		ok = render(d, v->part[k], &tmp);
	pb_buf_release(&tmp);
	return ok;
}

/* The first template of an intent (-1: proactive) that applies and can be
 * rendered, with the variant for this case. */
static const pb_template *choose(draft_ctx *d, int intent, const pb_variant **vout)
{
	size_t i;

	for (i = 0; i < d->rp->n; i++) {
		const pb_template *t = &d->rp->t[i];
		const pb_variant *v;
		if (t->intent != intent || !pb_cond_holds(&t->when, &d->s))
			continue;
		v = pick_variant(d, t);
		if (v && renderable(d, v)) {
			*vout = v;
			return t;
		}
	}
	return NULL;
}

static const char *pick_text(const draft_ctx *d, const pb_texts *t, const char *salt)
{
	if (!t->n)
		return NULL;
	return t->v[fnv(d->cc->case_id, salt) % t->n];
}

static bool first_sentence_apologises(const pb_kb *kb, const char *text)
{
	pb_lint_result r;
	pb_lint_ctx c;
	size_t i;

	memset(&c, 0, sizeof c);
	c.problem = true;
	if (pb_lint(kb, text, strlen(text), &c, &r, NULL))
		return false;
	for (i = 0; i < r.n; i++)
		if (r.f[i].code == PB_LINT_APOLOGY_NOT_FIRST)
			return false;
	return true;
}

static pb_err compose(draft_ctx *d)
{
	const pb_template *prim, *sec;
	const pb_variant *pv = NULL, *sv = NULL;
	pb_buf text, id;
	int intents[64], ni = 0, k;
	size_t i;
	const char *s;
	pb_err err = PB_OK;

	for (i = 0; i < d->rp->n_priority; i++)
		if ((d->s.intents >> d->rp->priority[i]) & 1)
			intents[ni++] = d->rp->priority[i];
	pb_buf_init(&text, MAX_TEXT);
	pb_buf_init(&id, 512);
	prim = choose(d, ni ? intents[0] : -1, &pv);
	if (!prim) {
		/* Every intent has a catch-all template (checked at load); only a
		 * proactive case without outreach templates gets here. */
		err = PB_ENOTFOUND;
		goto out;
	}
	pb_buf_puts(&id, prim->id);
	piece(d, pv->part[PB_PART_OPEN], &text);
	piece(d, pv->part[PB_PART_FACTS], &text);
	if (d->a->stale && !d->a->has_trace)
		piece(d, pick_text(d, &d->rp->untraced[d->lang], "untraced"), &text);
	else if (d->a->stale)
		piece(d, pick_text(d, &d->rp->stale[d->lang], "stale"), &text);
	piece(d, pv->part[PB_PART_ACTION], &text);
	/* Secondary problems get their facts and actions too, not a second
	 * apology or a second promise. */
	for (k = 1; k < ni && k < 3; k++) {
		sec = choose(d, intents[k], &sv);
		if (!sec)
			continue;
		piece(d, sv->part[PB_PART_FACTS], &text);
		piece(d, sv->part[PB_PART_ACTION], &text);
		pb_buf_printf(&id, "+%s", sec->id);
	}
	/* The promise comes before the offer: "if it has not moved by then,
	 * we reship" refers to the promised time. */
	if (pb_policy_is_peak(d->pol, d->cc->now))
		piece(d, pick_text(d, &d->rp->peak[d->lang], "peak"), &text);
	piece(d, pv->part[PB_PART_PROMISE], &text);
	if (d->out->comp != PB_COMP_NONE) {
		const pb_comp_rule *r = NULL;
		for (i = 0; i < d->rp->n_offer; i++) {
			const pb_offer_text *ot = &d->rp->offer[i];
			if (ot->kind == d->out->comp && pb_cond_holds(&ot->when, &d->s) &&
			    piece(d, pick_text(d, &ot->text[d->lang], "offer"), &text))
				break;
		}
		for (i = 0; i < d->pol->n_comp; i++)
			if (d->pol->comp[i].id == d->out->comp_rule)
				r = &d->pol->comp[i];
		if (r && r->coupon && d->out->comp != PB_COMP_COUPON)
			piece(d, pick_text(d, &d->rp->coupon[d->lang], "coupon"), &text);
	}
	piece(d, pv->part[PB_PART_CLOSE], &text);

	/* A problem is met with an apology first, whatever a template says. */
	if (d->s.problem && !first_sentence_apologises(d->kb, pb_buf_str(&text))) {
		pb_buf fixed;
		pb_buf_init(&fixed, MAX_TEXT);
		s = pick_text(d, &d->rp->apology[d->lang], "apology");
		if (s && render(d, s, &fixed)) {
			if (!d->lang)
				pb_buf_putc(&fixed, ' ');
			pb_buf_append(&fixed, text.data, text.len);
			pb_buf_release(&text);
			text = fixed;
		} else {
			pb_buf_release(&fixed);
		}
	}
	if (text.len >= MAX_TEXT || id.len >= 512) {
		err = PB_ETOOBIG;
		goto out;
	}
	d->out->text = pb_buf_detach(&text, NULL);
	d->out->template_id = pb_buf_detach(&id, NULL);
	if (!d->out->text || !d->out->template_id)
		err = PB_ENOMEM;
out:
	pb_buf_release(&text);
	pb_buf_release(&id);
	return err;
}

/* ---- severity, compensation, checklist, brief ---- */

static void describe(const draft_ctx *d, const pb_cond *c, pb_buf *b)
{
	const pb_kb *kb = d->kb;
	size_t i;

	for (i = 0; i < kb->n_intents; i++)
		if ((c->intents >> i) & 1 && (d->s.intents >> i) & 1)
			pb_buf_printf(b, "%sintent %s", b->len ? ", " : "", kb->rules[i].id);
	for (i = 0; i + kb->n_intents < kb->n_rules; i++)
		if ((c->signals >> i) & 1 && (d->s.signals >> i) & 1)
			pb_buf_printf(b, "%ssignal %s", b->len ? ", " : "",
				      kb->rules[kb->n_intents + i].id);
	for (i = 0; i < PB_AN_COUNT_; i++)
		if ((c->anomalies >> i) & 1 && (d->s.anomalies >> i) & 1)
			pb_buf_printf(b, "%sanomaly %s", b->len ? ", " : "", pb_anomaly_name((pb_anomaly)i));
	if (c->min_contacts >= 0)
		pb_buf_printf(b, "%scontact number %d on the same open case", b->len ? ", " : "",
			      d->s.contacts + 1);
	if (c->high_value == 1 && d->order) {
		const pb_money *m = pb_policy_money(d->pol, d->order->currency);
		pb_buf_printf(b, "%sorder of %.2f %s at or above the high-value mark %.0f",
			      b->len ? ", " : "", d->order->amount, d->order->currency,
			      m ? m->high_value : 0);
	}
	if (c->problem == 1 && !b->len)
		pb_buf_puts(b, "a logistics problem");
	if (c->perishable == 1)
		pb_buf_printf(b, "%sperishable goods", b->len ? ", " : "");
	if (c->min_hours_since_update >= 0)
		pb_buf_printf(b, "%s%.0f h without a tracking update", b->len ? ", " : "",
			      d->s.hours_since_update);
}

static pb_err judge(draft_ctx *d)
{
	const pb_policy *p = d->pol;
	pb_reply *out = d->out;
	pb_buf b;
	size_t i;
	pb_err err = PB_OK;

	pb_buf_init(&b, 1024);
	out->severity = 0;
	for (i = 0; i < p->n_sev3 && !err; i++)
		if (pb_cond_holds(&p->sev3[i], &d->s)) {
			out->severity = 3;
			pb_buf_reset(&b);
			describe(d, &p->sev3[i], &b);
			err = list_add(&out->reasons, pb_buf_str(&b));
		}
	for (i = 0; out->severity < 3 && i < p->n_sev2 && !err; i++)
		if (pb_cond_holds(&p->sev2[i], &d->s)) {
			out->severity = 2;
			pb_buf_reset(&b);
			describe(d, &p->sev2[i], &b);
			err = list_add(&out->reasons, pb_buf_str(&b));
		}
	if (!out->severity && (d->s.intents || d->s.anomalies)) {
		out->severity = 1;
		err = list_add(&out->reasons, d->s.intents ? "a logistics question"
							   : "a tracking anomaly");
	}
	pb_buf_release(&b);
	if (err)
		return err;
	out->action = !out->severity ? PB_ACT_NONE
		      : out->severity >= p->escalate_at ? PB_ACT_ESCALATE
							: PB_ACT_DRAFT;

	/* Compensation: the first rule that holds. */
	out->comp = PB_COMP_NONE;
	snprintf(out->comp_currency, sizeof out->comp_currency, "%s",
		 d->order ? d->order->currency : "CNY");
	{
		const pb_money *m = pb_policy_money(p, out->comp_currency);
		out->comp_cap = m ? m->cap : 0;
		for (i = 0; i < p->n_comp && out->severity; i++) {
			const pb_comp_rule *r = &p->comp[i];
			if (!pb_cond_holds(&r->when, &d->s))
				continue;
			out->comp = r->offer;
			out->comp_rule = r->id;
			out->comp_note = r->note;
			if (r->coupon && m)
				out->comp_amount = r->coupon == 2 ? m->coupon_large : m->coupon;
			if (r->offer == PB_COMP_PARTIAL_REFUND && d->order) {
				double v = round(d->order->amount * r->refund_share * 100) / 100;
				out->comp_amount = m && v > m->cap ? m->cap : v;
			}
			if (r->offer == PB_COMP_REFUND && d->order)
				out->comp_amount = d->order->amount;
			break;
		}
	}
	return PB_OK;
}

static pb_err checklist(draft_ctx *d)
{
	const pb_replies *rp = d->rp;
	pb_buf b;
	size_t i;
	pb_err err = PB_OK;

	pb_buf_init(&b, 1024);
	for (i = 0; i < rp->n_check && !err; i++) {
		const pb_check *c = &rp->check[i];
		if (c->intent >= 0 && !((d->s.intents >> c->intent) & 1))
			continue;
		if (c->intent < 0 && !pb_cond_holds(&c->when, &d->s))
			continue;
		if (c->intent >= 0 && !pb_cond_holds(&c->when, &d->s))
			continue;
		pb_buf_reset(&b);
		if (c->text[d->lang] && render(d, c->text[d->lang], &b))
			err = list_add(&d->out->checklist, pb_buf_str(&b));
	}
	pb_buf_release(&b);
	return err;
}

static pb_err brief(draft_ctx *d)
{
	const pb_kb *kb = d->kb;
	pb_reply *out = d->out;
	pb_buf b, l;
	const char *s;
	size_t i;
	char m[64];
	pb_err err = PB_OK;

	pb_buf_init(&b, MAX_TEXT);
	pb_buf_init(&l, 4096);
	set(&d->vs, V_MESSAGE, "%s", d->message ? d->message : "-");
	if (d->message && strlen(d->message) >= sizeof d->vs.buf[0]) {
		free(d->vs.message);
		d->vs.message = strdup(d->message);
		d->vs.v[V_MESSAGE].value = d->vs.message ? d->vs.message : "-";
	}
#define LIST(cond, name)                                                                   \
	do {                                                                               \
		pb_buf_reset(&l);                                                          \
		for (i = 0; i < kb->n_rules; i++)                                          \
			if (cond)                                                          \
				pb_buf_printf(&l, "%s%s", l.len ? ", " : "", name);        \
	} while (0)
	LIST(i < kb->n_intents && ((d->s.intents >> i) & 1), kb->rules[i].id);
	set(&d->vs, V_INTENTS, "%s", l.len ? l.data : "-");
	LIST(i >= kb->n_intents && ((d->s.signals >> (i - kb->n_intents)) & 1), kb->rules[i].id);
	set(&d->vs, V_SIGNALS, "%s", l.len ? l.data : "-");
	pb_buf_reset(&l);
	for (i = 0; i < PB_AN_COUNT_; i++)
		if ((d->s.anomalies >> i) & 1)
			pb_buf_printf(&l, "%s%s", l.len ? ", " : "", pb_anomaly_name((pb_anomaly)i));
	set(&d->vs, V_ANOMALIES, "%s", l.len ? l.data : "-");
#undef LIST
	pb_buf_reset(&l);
	for (i = 0; i < out->reasons.n; i++)
		pb_buf_printf(&l, "%s%s", l.len ? "; " : "", out->reasons.v[i]);
	free(d->vs.reasons);
	d->vs.reasons = strdup(pb_buf_str(&l));
	d->vs.v[V_REASONS].value = d->vs.reasons ? d->vs.reasons : "-";
	pb_buf_reset(&l);
	pb_buf_puts(&l, pb_comp_name(out->comp));
	if (out->comp_amount > 0) {
		fmt_money(out->comp_amount, out->comp_currency, d->lang, m, sizeof m);
		pb_buf_printf(&l, " %s", m);
	}
	if (out->comp_note)
		pb_buf_printf(&l, " (%s)", out->comp_note);
	fmt_money(out->comp_cap, out->comp_currency, d->lang, m, sizeof m);
	pb_buf_printf(&l, d->lang ? ";额外补偿上限 %s" : "; extra compensation capped at %s", m);
	set(&d->vs, V_OFFER, "%s", l.data);
	set(&d->vs, V_SEVERITY, "%d", out->severity);
	pb_buf_reset(&l);
	if (d->a->has_trace) {
		pb_buf_printf(&l, "%s %s: %s %s \"%s\" (%s)",
			      d->vs.v[V_CARRIER].value ? d->vs.v[V_CARRIER].value : d->trace->carrier,
			      d->trace->number, d->vs.v[V_LAST_TIME].value,
			      d->vs.v[V_LAST_LOCATION].value ? d->vs.v[V_LAST_LOCATION].value : "",
			      d->vs.v[V_LAST_TEXT].value ? d->vs.v[V_LAST_TEXT].value : "",
			      d->vs.v[V_STATE].value ? d->vs.v[V_STATE].value : "");
		if (d->a->hours_since_update >= 0)
			pb_buf_printf(&l, d->lang ? ",%d小时无更新" : ", %d h without an update",
				      (int)d->a->hours_since_update);
		if (d->a->stale)
			pb_buf_puts(&l, d->lang ? "(缓存的物流信息)" : " (cached trace)");
	} else if (d->a->has_parcel) {
		pb_buf_printf(&l, d->lang ? "%s:查不到任何物流记录" : "%s: no tracking events at all",
			      d->trace->number);
	} else {
		pb_buf_puts(&l, d->lang ? "尚未发货,没有包裹" : "not shipped yet: no parcel");
	}
	set(&d->vs, V_TRACE_SUMMARY, "%s", l.data ? l.data : "");
	s = pick_text(d, &d->rp->brief[d->lang], "brief");
	if (s && !render(d, s, &b))
		err = PB_ENOTFOUND;
	if (!err) {
		out->brief = pb_buf_detach(&b, NULL);
		if (!out->brief)
			err = PB_ENOMEM;
	}
	pb_buf_release(&b);
	pb_buf_release(&l);
	return err;
}

pb_err pb_draft(const pb_kb *kb, const char *message, const pb_verdict *v, const pb_order *order,
		const pb_trace *trace, const pb_assessment *a, const pb_case_ctx *ctx, pb_reply *out,
		pb_errbuf *eb)
{
	draft_ctx d;
	pb_lint_ctx lc;
	pb_err err;
	int intent = -1;
	size_t i;

	memset(out, 0, sizeof *out);
	if (!kb || !kb->policy || !kb->replies || !a || !ctx)
		return pb_errf(eb, PB_EINVAL, "drafting needs a knowledge base with policy and replies");
	memset(&d, 0, sizeof d);
	d.kb = kb;
	d.rp = kb->replies;
	d.pol = kb->policy;
	d.v = v;
	d.order = order;
	d.trace = trace;
	d.a = a;
	d.cc = ctx;
	d.message = message;
	d.out = out;
	d.lang = v && v->lang == PB_LANG_ZH ? 1 : 0;
	out->lang = d.lang ? PB_LANG_ZH : PB_LANG_EN;
	pb_draft_situation(kb, v, order, a, ctx->contacts, &d.s);

	if ((err = judge(&d)))
		goto out;
	for (i = 0; i < d.rp->n_priority; i++)
		if ((d.s.intents >> d.rp->priority[i]) & 1) {
			intent = d.rp->priority[i];
			break;
		}
	if (out->action != PB_ACT_NONE) {
		bool peak = pb_policy_is_peak(d.pol, ctx->now);
		out->has_follow_up = true;
		out->follow_up_due.t = follow_up_due(d.pol, intent, ctx->now, peak);
		out->follow_up_due.off = d.pol->tz_off;
	}
	build_vars(&d);
	if (out->action == PB_ACT_NONE) {
		/* Not a logistics matter: nothing to draft. */
		out->text = strdup("");
		out->brief = strdup("");
		out->template_id = strdup("");
		if (!out->text || !out->brief || !out->template_id)
			err = PB_ENOMEM;
		goto out;
	}
	if ((err = compose(&d)) || (err = checklist(&d)))
		goto out;
	if (out->action == PB_ACT_ESCALATE)
		err = brief(&d);
	else if (!(out->brief = strdup("")))
		err = PB_ENOMEM;
	if (err)
		goto out;
	memset(&lc, 0, sizeof lc);
	lc.problem = d.s.problem;
	lc.trace = trace;
	lc.a = a;
	lc.now = ctx->now;
	lc.currency = out->comp_currency;
	lc.order_amount = order ? order->amount : 0;
	err = pb_lint(kb, out->text, strlen(out->text), &lc, &out->lint, eb);
out:
	free(d.vs.message);
	free(d.vs.reasons);
	if (!err)
		return PB_OK;
	pb_reply_release(out);
	if (err == PB_ENOTFOUND)
		return pb_errf(eb, err, "no reply template applies to this case");
	if (err == PB_EUTF8)
		return err; /* eb already says why */
	return pb_errf(eb, err, "%s", pb_strerror(err));
}

cJSON *pb_reply_json(const pb_kb *kb, const pb_reply *r)
{
	cJSON *o = cJSON_CreateObject(), *c, *a;
	char tb[40];
	size_t i;

	(void)kb;
	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "severity", r->severity);
	cJSON_AddStringToObject(o, "action", pb_action_name(r->action));
	cJSON_AddStringToObject(o, "reply", r->text ? r->text : "");
	cJSON_AddStringToObject(o, "brief", r->brief ? r->brief : "");
	cJSON_AddStringToObject(o, "template", r->template_id ? r->template_id : "");
	c = cJSON_AddObjectToObject(o, "compensation");
	cJSON_AddStringToObject(c, "kind", pb_comp_name(r->comp));
	cJSON_AddNumberToObject(c, "amount", r->comp_amount);
	cJSON_AddStringToObject(c, "currency", r->comp_currency);
	cJSON_AddNumberToObject(c, "cap", r->comp_cap);
	if (r->comp_rule)
		cJSON_AddStringToObject(c, "rule", r->comp_rule);
	if (r->comp_note)
		cJSON_AddStringToObject(c, "note", r->comp_note);
	if (r->has_follow_up)
		cJSON_AddStringToObject(o, "follow_up_due", pb_time_format(r->follow_up_due, tb, sizeof tb));
	else
		cJSON_AddNullToObject(o, "follow_up_due");
	a = cJSON_AddArrayToObject(o, "checklist");
	for (i = 0; a && i < r->checklist.n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(r->checklist.v[i]));
	a = cJSON_AddArrayToObject(o, "reasons");
	for (i = 0; a && i < r->reasons.n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(r->reasons.v[i]));
	cJSON_AddItemToObject(o, "lint", pb_lint_json(&r->lint, r->text));
	return o;
}
