/*
 * The reply lint (see lint.h). Phrase lists come from kb/phrases.yaml; the
 * structural checks (which sentence comes first, whether a promised time
 * has passed, whether an amount exceeds the cap) are code. Everything works
 * on byte offsets of the original text so the console can underline the
 * exact words.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "parcelbot/lint.h"

#include <cJSON.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/kb.h"
#include "parcelbot/policy.h"
#include "parcelbot/replies.h"
#include "parcelbot/time.h"
#include "parcelbot/utf8.h"

static const char *const code_names[PB_LINT_COUNT_] = {
	"apology_not_first", "blame_shifting", "brush_off", "vague", "interrogation_first",
	"contradicts_trace", "past_promise", "over_cap", "unfilled_placeholder",
};

const char *pb_lint_code_name(pb_lint_code c)
{
	return (unsigned)c < PB_LINT_COUNT_ ? code_names[c] : "unknown";
}

typedef struct lint_state {
	const pb_kb *kb;
	const pb_phrases *ph;
	const char *text;
	size_t len;
	int lang;
	pcre2_match_data *md;
	pb_lint_result *out;
	int64_t now;
} lint_state;

static void add(lint_state *st, pb_lint_code code, size_t off, size_t len, const char *detail)
{
	pb_finding *f;
	const char *expl;
	size_t i;

	for (i = 0; i < st->out->n; i++)
		if (st->out->f[i].code == code && st->out->f[i].off == off)
			return;
	if (st->out->n >= PB_LINT_MAX)
		return;
	f = &st->out->f[st->out->n++];
	f->code = code;
	f->off = (uint32_t)off;
	f->len = (uint32_t)len;
	expl = st->ph->explain[code][st->lang];
	if (!expl)
		expl = st->ph->explain[code][0];
	if (detail && *detail)
		snprintf(f->msg, sizeof f->msg, "%s (%s)", expl ? expl : code_names[code], detail);
	else
		snprintf(f->msg, sizeof f->msg, "%s", expl ? expl : code_names[code]);
	/* A detail quoted from the text may be cut mid-character. */
	f->msg[pb_utf8_clip(f->msg, strlen(f->msg), sizeof f->msg - 1)] = '\0';
	while (!pb_utf8_valid(f->msg, strlen(f->msg)) && strlen(f->msg))
		f->msg[strlen(f->msg) - 1] = '\0';
}

/* First match of code in [from, to): returns true with its bounds. */
static bool find(lint_state *st, void *code, size_t from, size_t to, size_t *so, size_t *eo)
{
	PCRE2_SIZE *ov;
	int rc;

	if (!code || from >= to)
		return false;
	rc = pcre2_match(code, (PCRE2_SPTR)st->text, to, from, PCRE2_NO_UTF_CHECK, st->md, NULL);
	if (rc < 0)
		return false;
	ov = pcre2_get_ovector_pointer(st->md);
	*so = ov[0];
	*eo = ov[1];
	return *eo > *so;
}

/* Reports every match of code (up to a few) under one finding code. */
static void each(lint_state *st, void *code, pb_lint_code what)
{
	size_t at = 0, so, eo, n = 0;
	char detail[96];

	while (n < 4 && find(st, code, at, st->len, &so, &eo)) {
		snprintf(detail, sizeof detail, "\"%.*s\"", (int)(eo - so < 80 ? eo - so : 80),
			 st->text + so);
		add(st, what, so, eo - so, detail);
		at = eo;
		n++;
	}
}

/* Sentence ends: 。！？!? and newlines, and '.' followed by space or the
 * end, as a reader (and the drafting scorers) would split. */
static size_t sentence_end(const char *t, size_t len, size_t from)
{
	size_t i = from;

	while (i < len) {
		unsigned char c = (unsigned char)t[i];
		if (c == '!' || c == '?' || c == '\n')
			return i + 1;
		if (c == '.' && (i + 1 == len || t[i + 1] == ' ' || t[i + 1] == '\n'))
			return i + 1;
		if (c == 0xE3 && i + 2 < len && (unsigned char)t[i + 1] == 0x80 &&
		    (unsigned char)t[i + 2] == 0x82) /* 。 */
			return i + 3;
		if (c == 0xEF && i + 2 < len && (unsigned char)t[i + 1] == 0xBC &&
		    ((unsigned char)t[i + 2] == 0x81 || (unsigned char)t[i + 2] == 0x9F)) /* ！？ */
			return i + 3;
		i++;
	}
	return len;
}

static void check_placeholders(lint_state *st)
{
	static const char *const marks[] = {"{{", "${", "%s", "%d", "(null)", "[[", NULL};
	const char *t = st->text;
	size_t i, k;

	for (i = 0; i < st->len; i++) {
		for (k = 0; marks[k]; k++) {
			size_t ml = strlen(marks[k]);
			if (i + ml <= st->len && !memcmp(t + i, marks[k], ml)) {
				size_t e = i + ml;
				while (e < st->len && e < i + 40 && t[e] != '}' && t[e] != ']' &&
				       t[e] != ' ')
					e++;
				if (e < st->len && (t[e] == '}' || t[e] == ']'))
					e++;
				if (e < st->len && t[e] == '}')
					e++;
				add(st, PB_LINT_UNFILLED_PLACEHOLDER, i, e - i, NULL);
				i = e;
				break;
			}
		}
		/* {name} with a bare identifier inside, as some tools leave it. */
		if (i < st->len && t[i] == '{') {
			size_t e = i + 1;
			while (e < st->len && ((t[e] >= 'a' && t[e] <= 'z') || (t[e] >= 'A' && t[e] <= 'Z') ||
					       t[e] == '_' || (e > i + 1 && t[e] >= '0' && t[e] <= '9')))
				e++;
			if (e > i + 1 && e < st->len && t[e] == '}')
				add(st, PB_LINT_UNFILLED_PLACEHOLDER, i, e + 1 - i, NULL);
		}
	}
}

/* ---- times: for past promises ---- */

static int digits_at(const char *t, size_t len, size_t *i, int max)
{
	int v = 0, n = 0;

	while (*i < len && t[*i] >= '0' && t[*i] <= '9' && n < max) {
		v = v * 10 + (t[*i] - '0');
		(*i)++;
		n++;
	}
	return n ? v : -1;
}

static bool starts(const char *t, size_t len, size_t i, const char *w)
{
	size_t l = strlen(w);

	return i + l <= len && !strncasecmp(t + i, w, l);
}

static bool ends_before(const char *t, size_t i, const char *w)
{
	size_t l = strlen(w);

	return i >= l && !strncasecmp(t + i - l, w, l);
}

/* Whether the words around [s, e) make it a promise ("by", "前", "会在"),
 * rather than a time the text reports. */
static bool promise_cue(const char *t, size_t len, size_t s, size_t e)
{
	static const char *const after[] = {"前", "之前", "以前", "以内", "内给", "给您", "回复",
					    "答复", "联系您", "发出", "发货", NULL};
	static const char *const before[] = {"会在", "将在", "最迟", "最晚", "预计", "承诺",
					     "by ", "before ", "until ", "latest ", "by the ", NULL};
	size_t k, j;

	for (k = 0; after[k]; k++) {
		j = e;
		while (j < len && t[j] == ' ')
			j++;
		if (starts(t, len, j, after[k]))
			return true;
	}
	for (k = 0; before[k]; k++)
		if (ends_before(t, s, before[k]))
			return true;
	return false;
}

static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
				     "jul", "aug", "sep", "oct", "nov", "dec"};

typedef void (*promise_fn)(void *ctx, const char *t, const pb_promise *p);

/* Finds time expressions that are promises and resolves each to an instant
 * in the shop's zone, calling fn for each. The one reader of promised times:
 * the past_promise check and the reminders a sent reply creates both use it,
 * so what the lint calls a promise is exactly what gets tracked. */
static size_t scan_promises(const char *t, size_t len, int64_t now, int32_t off, promise_fn fn,
			    void *ctx)
{
	size_t i = 0, s, e, found = 0;
	struct tm nt;

	pb_time_fields((pb_when){now, off}, &nt);
	while (i < len) {
		int mon = -1, day = -1, hh = -1, mm = 0, dayoff = 0;
		bool pm = false, am = false;
		size_t j;
		int64_t when;
		if (t[i] < '0' || t[i] > '9' || (i > 0 && t[i - 1] >= '0' && t[i - 1] <= '9')) {
			i++;
			continue;
		}
		s = i;
		j = i;
		{
			int a = digits_at(t, len, &j, 4);
			/* 11月20日 [18:00] */
			if (starts(t, len, j, "月")) {
				j += 3;
				day = digits_at(t, len, &j, 2);
				if (day < 0 || !(starts(t, len, j, "日") || starts(t, len, j, "号"))) {
					i = j;
					continue;
				}
				j += 3;
				mon = a;
				while (j < len && t[j] == ' ')
					j++;
				if (j < len && t[j] >= '0' && t[j] <= '9') {
					size_t k = j;
					int h = digits_at(t, len, &k, 2);
					if (k < len && (t[k] == ':' || starts(t, len, k, "点") ||
							starts(t, len, k, "时"))) {
						hh = h;
						j = k + (t[k] == ':' ? 1 : 3);
						if (j < len && t[j] >= '0' && t[j] <= '9')
							mm = digits_at(t, len, &j, 2);
					}
				}
			} else if (j < len && (t[j] == ':' || starts(t, len, j, "点") ||
					       starts(t, len, j, "："))) {
				/* 18:00, 18点, 6:30 pm */
				hh = a;
				j += t[j] == ':' ? 1 : 3;
				if (j < len && t[j] >= '0' && t[j] <= '9')
					mm = digits_at(t, len, &j, 2);
				else if (starts(t, len, j, "半")) {
					mm = 30;
					j += 3;
				}
			} else if (j < len && (starts(t, len, j, " am") || starts(t, len, j, "am") ||
					       starts(t, len, j, " pm") || starts(t, len, j, "pm"))) {
				hh = a;
			} else if (j + 1 < len && t[j] == ' ') {
				/* 20 Nov */
				size_t k;
				for (k = 0; k < 12; k++)
					if (starts(t, len, j + 1, months[k]))
						break;
				if (k == 12 || a < 1 || a > 31) {
					i = j;
					continue;
				}
				mon = (int)k + 1;
				day = a;
				j += 4;
				while (j < len && t[j] >= 'a' && t[j] <= 'z')
					j++;
			} else {
				i = j;
				continue;
			}
		}
		/* "6 pm", but "18:00 tomorrow" must leave the space before
		 * the day word for the checks below. */
		e = j;
		while (j < len && t[j] == ' ')
			j++;
		if (starts(t, len, j, "pm")) {
			pm = true;
			e = j + 2;
		} else if (starts(t, len, j, "am")) {
			am = true;
			e = j + 2;
		}
		j = e;
		/* Day words before or after. */
		if (ends_before(t, s, "今天") || ends_before(t, s, "今日") || ends_before(t, s, "今晚") ||
		    starts(t, len, j, " today") || starts(t, len, j, " tonight"))
			dayoff = 0;
		else if (ends_before(t, s, "明天") || ends_before(t, s, "明日") ||
			 ends_before(t, s, "明早") || starts(t, len, j, " tomorrow"))
			dayoff = 1;
		else if (ends_before(t, s, "后天"))
			dayoff = 2;
		else if (ends_before(t, s, "昨天") || starts(t, len, j, " yesterday"))
			dayoff = -1;
		if (hh > 23 || mm > 59 || (hh >= 0 && (pm || am) && hh > 12)) {
			i = e;
			continue;
		}
		if (pm && hh < 12)
			hh += 12;
		if (am && hh == 12)
			hh = 0;
		if (!promise_cue(t, len, s, e)) {
			i = e;
			continue;
		}
		if (mon > 0) {
			int year = nt.tm_year + 1900;
			if (mon > 12 || day < 1 || day > 31) {
				i = e;
				continue;
			}
			/* A December date read in January is last year's, a January
			 * date in December is next year's. */
			if (mon - (nt.tm_mon + 1) > 6)
				year--;
			else if ((nt.tm_mon + 1) - mon > 6)
				year++;
			when = pb_time_from_fields(year, mon, day, hh >= 0 ? hh : 23, hh >= 0 ? mm : 59, 0,
						   off);
		} else {
			/* No date: today, or the day a day word names; no time of
			 * day: the end of that day. */
			int64_t midnight = pb_time_from_fields(nt.tm_year + 1900, nt.tm_mon + 1,
							       nt.tm_mday, 0, 0, 0, off);
			when = midnight + (int64_t)dayoff * 86400 +
			       (hh >= 0 ? hh * 3600 + mm * 60 : 86399);
		}
		{
			/* Include a day word just before in the span. */
			static const char *const dw[] = {"今天", "今日", "今晚", "明天", "昨天", NULL};
			pb_promise p;
			size_t sp = s, k;
			for (k = 0; dw[k]; k++)
				if (ends_before(t, s, dw[k]))
					sp = s - strlen(dw[k]);
			p.when = when;
			p.off = (uint32_t)sp;
			p.len = (uint32_t)(e - sp);
			fn(ctx, t, &p);
			found++;
		}
		i = e > i ? e : i + 1;
	}
	return found;
}

static void past_promise(void *ctx, const char *t, const pb_promise *p)
{
	lint_state *st = ctx;
	char detail[96];

	if (p->when >= st->now - 60)
		return;
	snprintf(detail, sizeof detail, "\"%.*s\"", (int)p->len, t + p->off);
	add(st, PB_LINT_PAST_PROMISE, p->off, p->len, detail);
}

typedef struct promise_out {
	pb_promise *v;
	size_t n, max;
} promise_out;

static void collect_promise(void *ctx, const char *t, const pb_promise *p)
{
	promise_out *o = ctx;

	(void)t;
	if (o->n < o->max)
		o->v[o->n++] = *p;
}

size_t pb_lint_promises(const char *text, size_t len, int64_t now, int32_t tz_off,
			pb_promise *out, size_t max)
{
	promise_out o = {out, 0, out ? max : 0};

	return scan_promises(text, len, now, tz_off, collect_promise, &o);
}

/* ---- money: for the cap ---- */

static bool money_unit_after(const char *t, size_t len, size_t j)
{
	static const char *const units[] = {"元", "块", "rmb", " rmb", "cny", " cny", " yuan",
					    " ringgit", "ringgit", " myr", "myr", " sgd", " usd",
					    " dollars", " dollar", "美元", "新币", "令吉", NULL};
	size_t k;

	for (k = 0; units[k]; k++)
		if (starts(t, len, j, units[k]))
			return true;
	return false;
}

static bool money_unit_before(const char *t, size_t s)
{
	static const char *const units[] = {"¥", "￥", "rm", "rm ", "s$", "$", "myr ", "sgd ", "usd ",
					    "cny ", "rmb ", NULL};
	size_t k;

	for (k = 0; units[k]; k++)
		if (ends_before(t, s, units[k]))
			return true;
	return false;
}

static void check_cap(lint_state *st, const pb_lint_ctx *ctx)
{
	const pb_money *m = pb_policy_money(st->kb->policy, ctx->currency);
	const char *t = st->text;
	size_t len = st->len, i = 0, s, j;
	char detail[120];

	if (!m)
		return;
	while (i < len) {
		double v = 0, scale = 0.1;
		if (t[i] < '0' || t[i] > '9' || (i > 0 && ((t[i - 1] >= '0' && t[i - 1] <= '9') ||
							   (t[i - 1] >= 'a' && t[i - 1] <= 'z' &&
							    !ends_before(t, i, "rm") &&
							    !ends_before(t, i, "s$"))))) {
			i++;
			continue;
		}
		s = i;
		j = i;
		while (j < len && t[j] >= '0' && t[j] <= '9')
			v = v * 10 + (t[j++] - '0');
		if (j + 1 < len && t[j] == '.' && t[j + 1] >= '0' && t[j + 1] <= '9') {
			j++;
			while (j < len && t[j] >= '0' && t[j] <= '9') {
				v += (t[j++] - '0') * scale;
				scale /= 10;
			}
		}
		i = j;
		if (!money_unit_after(t, len, j) && !money_unit_before(t, s))
			continue;
		/* Giving back what the buyer paid is not extra compensation. */
		if (ctx->order_amount > 0 && v >= ctx->order_amount - 0.005 &&
		    v <= ctx->order_amount + 0.005)
			continue;
		if (v > m->cap + 0.005) {
			snprintf(detail, sizeof detail, "%.*s > %g %s", (int)(j - s), t + s, m->cap,
				 strcmp(m->currency, "default") ? m->currency : "");
			add(st, PB_LINT_OVER_CAP, s, j - s, detail);
		}
	}
}

/* ---- places and hubs: for contradictions ---- */

static bool trace_mentions(const pb_trace *tr, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < tr->n_events; i++) {
		const pb_event *e = &tr->events[i];
		if (memmem(e->location, strlen(e->location), s, n) ||
		    memmem(e->description, strlen(e->description), s, n))
			return true;
	}
	return false;
}

/* Where the name of a Chinese hub starts: the run of name characters before
 * the hub word (杭州 in 停在杭州转运中心), stopping at words that are not
 * part of a name. SIZE_MAX when fewer than two remain. English matches carry
 * their name already. */
static size_t hub_name(const char *t, size_t so)
{
	static const char stop[] = "在到了的是从起停就还已经过往向于这那个和与及或被把给让再都也又仍一直正为将会";
	size_t p = so, chars = 0;

	if ((unsigned char)t[so] < 0x80)
		return so;
	while (p >= 3 && chars < 8) {
		const unsigned char *c = (const unsigned char *)t + p - 3;
		char one[4];
		if (c[0] < 0xE4 || c[0] > 0xE9)
			break;
		memcpy(one, c, 3);
		one[3] = '\0';
		if (strstr(stop, one))
			break;
		p -= 3;
		chars++;
	}
	return chars >= 2 ? p : SIZE_MAX;
}

static void check_trace(lint_state *st, const pb_lint_ctx *ctx)
{
	const pb_assessment *a = ctx->a;
	const pb_policy *pol = st->kb->policy;
	size_t so, eo, at, i;
	char detail[120];

	if (!a || !a->has_trace)
		return;
	if ((a->state == PB_ST_DELIVERED || a->state == PB_ST_AVAILABLE_FOR_PICKUP) &&
	    find(st, st->ph->in_transit, 0, st->len, &so, &eo)) {
		snprintf(detail, sizeof detail, "\"%.*s\"", (int)(eo - so), st->text + so);
		add(st, PB_LINT_CONTRADICTS_TRACE, so, eo - so, detail);
	}
	if (a->state != PB_ST_DELIVERED && a->state != PB_ST_AVAILABLE_FOR_PICKUP &&
	    find(st, st->ph->delivered, 0, st->len, &so, &eo)) {
		snprintf(detail, sizeof detail, "\"%.*s\"", (int)(eo - so), st->text + so);
		add(st, PB_LINT_CONTRADICTS_TRACE, so, eo - so, detail);
	}
	/* A named place kind other than the one the trace names. */
	if (a->place != PB_PLACE_NONE)
		for (i = 0; i < pol->n_places; i++) {
			if (pol->places[i].kind == (int)a->place ||
			    pol->places[i].kind == PB_PLACE_IN_PERSON ||
			    pol->places[i].kind == PB_PLACE_FAMILY_OR_OTHER)
				continue;
			if (find(st, pol->places[i].code, 0, st->len, &so, &eo)) {
				snprintf(detail, sizeof detail, "\"%.*s\"", (int)(eo - so), st->text + so);
				add(st, PB_LINT_CONTRADICTS_TRACE, so, eo - so, detail);
			}
		}
	/* A hub or station the trace never mentions. */
	at = 0;
	while (ctx->trace && find(st, st->ph->hub, at, st->len, &so, &eo)) {
		size_t name = hub_name(st->text, so);
		at = eo;
		if (name == SIZE_MAX)
			continue; /* a generic word ("中转站积压"), not a named place */
		if (!trace_mentions(ctx->trace, st->text + name, eo - name)) {
			snprintf(detail, sizeof detail, "\"%.*s\"", (int)(eo - name), st->text + name);
			add(st, PB_LINT_CONTRADICTS_TRACE, name, eo - name, detail);
		}
	}
}

static bool has_han(const char *t, size_t n)
{
	const unsigned char *p = (const unsigned char *)t, *end = p + n;

	while (p < end) {
		uint32_t cp = pb_utf8_next(&p, end);
		if (cp >= 0x4E00 && cp <= 0x9FFF)
			return true;
	}
	return false;
}

pb_err pb_lint(const pb_kb *kb, const char *text, size_t len, const pb_lint_ctx *ctx,
	       pb_lint_result *out, pb_errbuf *eb)
{
	lint_state st;
	size_t so, eo, first_end, at, apology_at = SIZE_MAX;
	pb_lint_ctx none;

	out->n = 0;
	if (!kb->phrases)
		return pb_errf(eb, PB_EINVAL, "the knowledge base has no phrases for the reply check");
	if (!pb_utf8_valid(text, len))
		return pb_errf(eb, PB_EUTF8, "the reply is not valid UTF-8");
	if (!ctx) {
		memset(&none, 0, sizeof none);
		ctx = &none;
	}
	st.kb = kb;
	st.ph = kb->phrases;
	st.text = text;
	st.len = len;
	st.lang = has_han(text, len) ? 1 : 0;
	st.out = out;
	st.md = pcre2_match_data_create(4, NULL);
	if (!st.md)
		return pb_errf(eb, PB_ENOMEM, "out of memory");

	check_placeholders(&st);
	each(&st, st.ph->blame, PB_LINT_BLAME_SHIFTING);
	each(&st, st.ph->brush_off, PB_LINT_BRUSH_OFF);

	/* Skip leading blank space: the first sentence is the first words. */
	at = 0;
	while (at < len && (text[at] == ' ' || text[at] == '\n'))
		at++;
	first_end = sentence_end(text, len, at);
	if (find(&st, st.ph->apology, 0, len, &so, &eo))
		apology_at = so;
	if (ctx->problem) {
		if (apology_at >= first_end)
			add(&st, PB_LINT_APOLOGY_NOT_FIRST, at, first_end - at, NULL);
		/* Questions before the first apology (or with none at all). */
		while (at < len && at < apology_at) {
			size_t e = sentence_end(text, len, at);
			if (find(&st, st.ph->question, at, e, &so, &eo)) {
				add(&st, PB_LINT_INTERROGATION_FIRST, at, e - at, NULL);
				break;
			}
			at = e;
		}
		if (!find(&st, st.ph->commitment, 0, len, &so, &eo)) {
			if (find(&st, st.ph->vague, 0, len, &so, &eo))
				add(&st, PB_LINT_VAGUE, so, eo - so, NULL);
			else
				add(&st, PB_LINT_VAGUE, 0, len, NULL);
		}
	}
	check_trace(&st, ctx);
	if (ctx->now) {
		st.now = ctx->now;
		scan_promises(text, len, ctx->now, kb->policy ? kb->policy->tz_off : 0, past_promise,
			      &st);
	}
	if (ctx->currency)
		check_cap(&st, ctx);
	pcre2_match_data_free(st.md);
	return PB_OK;
}

cJSON *pb_lint_json(const pb_lint_result *r, const char *text)
{
	cJSON *a = cJSON_CreateArray(), *o;
	size_t i;
	char *s;

	for (i = 0; a && i < r->n; i++) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "code", pb_lint_code_name(r->f[i].code));
		cJSON_AddNumberToObject(o, "start", r->f[i].off);
		cJSON_AddNumberToObject(o, "end", r->f[i].off + r->f[i].len);
		s = text ? strndup(text + r->f[i].off, r->f[i].len) : NULL;
		cJSON_AddStringToObject(o, "text", s ? s : "");
		free(s);
		cJSON_AddStringToObject(o, "message", r->f[i].msg);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}
