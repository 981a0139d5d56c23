/*
 * The classifier (see classify.h). One pass normalises the text and records,
 * for every normalised byte, the original offset it came from; the prefilter
 * then picks the patterns worth running; each rule is decided from its
 * trigger matches minus the ones its `unless` patterns overlap; and finally
 * stronger intents remove the weaker ones they suppress.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "parcelbot/classify.h"

#include <cJSON.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/norm.h"
#include "parcelbot/prefilter.h"
#include "parcelbot/utf8.h"

/* Bounds on matching a single pattern. JIT code honours the match limit;
 * the interpreter also honours the depth limit. */
#define MATCH_LIMIT 200000
#define DEPTH_LIMIT 2000
#define MAX_EXCLUDE 32

struct pb_classifier {
	const pb_kb *kb;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	pcre2_jit_stack *jstack;
	pb_pf_scratch *pfs;
	bool use_pf;
	/* The text patterns run on: points at one of the two views below. */
	unsigned char *norm; /* normalised text */
	uint32_t *map;       /* norm byte -> original byte offset, len+1 entries */
	size_t nlen;         /* bytes of normalised text */
	/* The views: the whole normalised text (extractors run on it), and the
	 * same without long order and tracking numbers (intents run on it,
	 * so "快递73100000000101三天没更新" reads like "快递三天没更新"). */
	unsigned char *full, *masked;
	uint32_t *full_map, *masked_map;
	size_t full_len, masked_len;
	size_t digits;  /* ASCII digits in the full view */
	size_t cap;
	uint32_t *cands;
	uint32_t *cstamp;    /* per pattern: == gen when a candidate */
	uint32_t gen;
};

pb_classifier *pb_classifier_new(const pb_kb *kb)
{
	pb_classifier *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	c->kb = kb;
	c->use_pf = true;
	c->md = pcre2_match_data_create(32, NULL);
	c->mctx = pcre2_match_context_create(NULL);
	c->pfs = pb_pf_scratch_new(kb->pf);
	c->cands = malloc((kb->n_patterns + 1) * sizeof *c->cands);
	c->cstamp = calloc(kb->n_patterns + 1, sizeof *c->cstamp);
	if (!c->md || !c->mctx || !c->pfs || !c->cands || !c->cstamp)
		goto fail;
	pcre2_set_match_limit(c->mctx, MATCH_LIMIT);
	pcre2_set_depth_limit(c->mctx, DEPTH_LIMIT);
	if (kb->jit) {
		c->jstack = pcre2_jit_stack_create(32 * 1024, 512 * 1024, NULL);
		if (!c->jstack)
			goto fail;
		pcre2_jit_stack_assign(c->mctx, NULL, c->jstack);
	}
	return c;
fail:
	pb_classifier_free(c);
	return NULL;
}

void pb_classifier_free(pb_classifier *c)
{
	if (!c)
		return;
	pcre2_match_data_free(c->md);
	pcre2_match_context_free(c->mctx);
	pcre2_jit_stack_free(c->jstack);
	pb_pf_scratch_free(c->pfs);
	free(c->full);
	free(c->full_map);
	free(c->masked);
	free(c->masked_map);
	free(c->cands);
	free(c->cstamp);
	free(c);
}

void pb_classifier_use_prefilter(pb_classifier *c, bool on)
{
	c->use_pf = on;
}

/* Normalises text into c->norm, recording for each normalised byte the
 * original offset it came from, and validates the UTF-8 in the same pass.
 * Returns PB_EUTF8 with *bad set to the offset of the first bad byte. */
static pb_err normalise(pb_classifier *c, const char *text, size_t len, size_t *nlen, bool *han,
			size_t *bad)
{
	const unsigned char *s = (const unsigned char *)text;
	uint32_t *const *fold = c->kb->fold;
	size_t need = len * 3 + 4, o = 0, i = 0, k, n;
	uint32_t cp, out;
	const char *rep;
	char b[4];

	/* A code point grows at most from 1 to 3 bytes ("…" to "..." keeps
	 * 3), so three times the input is always enough. */
	if (need > c->cap) {
		unsigned char *nn = realloc(c->full, need);
		uint32_t *nm;
		if (!nn)
			return PB_ENOMEM;
		c->full = nn;
		nm = realloc(c->full_map, need * sizeof *nm);
		if (!nm)
			return PB_ENOMEM;
		c->full_map = nm;
		nn = realloc(c->masked, need);
		if (!nn)
			return PB_ENOMEM;
		c->masked = nn;
		nm = realloc(c->masked_map, need * sizeof *nm);
		if (!nm)
			return PB_ENOMEM;
		c->masked_map = nm;
		c->cap = need;
	}
	c->norm = c->full;
	c->map = c->full_map;
	*han = false;
	c->digits = 0;
	while (i < len) {
		unsigned char ch = s[i];
		size_t start = i;
		/* ASCII: lower-case in place. */
		if (ch < 0x80) {
			c->digits += ch >= '0' && ch <= '9';
			c->norm[o] = ch >= 'A' && ch <= 'Z' ? (unsigned char)(ch + 32) : ch;
			c->map[o++] = (uint32_t)i++;
			continue;
		}
		/* The length the lead byte announces; pb_utf8_check then vets the
		 * whole sequence (overlongs, surrogates, truncation). */
		n = ch >= 0xF0 ? 4 : ch >= 0xE0 ? 3 : 2;
		if (n > len - i)
			n = len - i;
		k = pb_utf8_check(text + i, n);
		if (k != n || n < (size_t)(ch >= 0xF0 ? 4 : ch >= 0xE0 ? 3 : 2)) {
			*bad = i + k;
			return PB_EUTF8;
		}
		{
			const unsigned char *p = s + i;
			cp = pb_utf8_next(&p, s + len);
			i = (size_t)(p - s);
		}
		/* Han characters: only the fold table can change them. */
		if (cp >= 0x3400 && cp <= 0x9FFF) {
			const uint32_t *page = fold ? fold[cp >> 8] : NULL;
			*han = true;
			if (page && page[cp & 0xFF])
				cp = page[cp & 0xFF];
			n = pb_utf8_put(cp, (char *)c->norm + o);
			for (k = 0; k < n; k++)
				c->map[o + k] = (uint32_t)start;
			o += n;
			continue;
		}
		out = pb_norm_cp(fold, cp, &rep);
		if (rep) {
			n = strlen(rep);
			memcpy(c->norm + o, rep, n);
			for (k = 0; k < n; k++)
				c->digits += rep[k] >= '0' && rep[k] <= '9';
		} else if (out) {
			c->digits += out >= '0' && out <= '9'; /* full-width digits */
			if ((out >= 0x4E00 && out <= 0x9FFF) || (out >= 0x3400 && out <= 0x4DBF) ||
			    (out >= 0xF900 && out <= 0xFAFF) || (out >= 0x20000 && out <= 0x2FA1F))
				*han = true;
			n = pb_utf8_put(out, b);
			memcpy(c->norm + o, b, n);
		} else {
			continue;
		}
		for (k = 0; k < n; k++)
			c->map[o + k] = (uint32_t)start;
		o += n;
	}
	c->map[o] = (uint32_t)len;
	c->norm[o] = '\0';
	c->nlen = c->full_len = o;
	*nlen = o;
	return PB_OK;
}

static bool alnum_lc(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

/* Digits a number-like token has at least. */
#define NUMBER_MIN_DIGITS 6

/* A run of letters and digits long enough and digit-heavy enough to be an
 * order or tracking number (the shape scan_tokens looks for). */
static bool number_like(const unsigned char *s, size_t n)
{
	size_t i, digits = 0;

	if (n < 8)
		return false;
	for (i = 0; i < n; i++)
		digits += s[i] >= '0' && s[i] <= '9';
	return digits >= NUMBER_MIN_DIGITS;
}

/* Whether the text can hold a number to take out; most messages hold none,
 * and then the masked view is the full one, never copied. */
static bool has_numbers(const pb_classifier *c)
{
	return c->digits >= NUMBER_MIN_DIGITS;
}

/* Builds the masked view: the full one without number-like tokens. Where a
 * token stood between two spaces, one of them goes too, so "parcel 7310...
 * has not moved" reads "parcel has not moved". */
static void mask_numbers(pb_classifier *c)
{
	const unsigned char *s = c->full;
	size_t n = c->full_len, i = 0, o = 0, e;

	if (!has_numbers(c)) {
		c->masked_len = n;
		return;
	}
	while (i < n) {
		if (alnum_lc(s[i]) && (i == 0 || !alnum_lc(s[i - 1]))) {
			for (e = i; e < n && alnum_lc(s[e]); e++)
				;
			if (number_like(s + i, e - i)) {
				if (o > 0 && c->masked[o - 1] == ' ' && e < n && s[e] == ' ')
					e++;
				i = e;
				continue;
			}
		}
		c->masked[o] = s[i];
		c->masked_map[o++] = c->full_map[i++];
	}
	c->masked_map[o] = c->full_map[n];
	c->masked[o] = '\0';
	c->masked_len = o;
}

/* Points the patterns at one view. */
static void use_view(pb_classifier *c, bool masked)
{
	masked = masked && has_numbers(c);
	c->norm = masked ? c->masked : c->full;
	c->map = masked ? c->masked_map : c->full_map;
	c->nlen = masked ? c->masked_len : c->full_len;
}

/* Runs pattern p from start. Returns 1 and the match bounds, 0 for no match,
 * -1 when the match limit was hit. */
static int run(pb_classifier *c, const pb_pattern *p, size_t len, size_t start, size_t *so,
	       size_t *eo)
{
	int rc;
	PCRE2_SIZE *ov;

	if (c->kb->jit)
		rc = pcre2_jit_match(p->code, c->norm, len, start, 0, c->md, c->mctx);
	else
		rc = pcre2_match(p->code, c->norm, len, start, PCRE2_NO_UTF_CHECK, c->md, c->mctx);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0)
		return -1;
	ov = pcre2_get_ovector_pointer(c->md);
	*so = ov[0];
	*eo = ov[1];
	return 1;
}

/* Offset just past the code point at i, for stepping over empty matches. */
static size_t next_cp(const unsigned char *s, size_t len, size_t i)
{
	i++;
	while (i < len && (s[i] & 0xC0) == 0x80)
		i++;
	return i;
}

/* The original bytes behind normalised bytes [so, eo). Matches end on code
 * point boundaries of the normalised text, but one original character can
 * expand to several normalised ones ("…" to "..."); a match that ends inside
 * such an expansion still covers the whole original character. */
static pb_span span_of(const pb_classifier *c, size_t so, size_t eo)
{
	pb_span sp;
	size_t k = eo;

	if (eo > so)
		while (k < c->nlen && c->map[k] == c->map[eo - 1])
			k++;
	sp.off = c->map[so];
	sp.len = c->map[k] - c->map[so];
	return sp;
}

static bool is_cand(const pb_classifier *c, uint32_t p)
{
	return c->cstamp[p] == c->gen;
}

typedef struct range {
	size_t so, eo;
} range;

/* All matches of the rule's `unless` patterns. */
static size_t exclusions(pb_classifier *c, pb_verdict *v, const pb_rule *r, size_t len,
			 range *ex)
{
	size_t i, n = 0, at, so, eo;
	int rc;

	for (i = 0; i < r->unless.n && n < MAX_EXCLUDE; i++) {
		uint32_t pi = r->unless.v[i];
		if (!is_cand(c, pi))
			continue;
		at = 0;
		while (at <= len && n < MAX_EXCLUDE) {
			rc = run(c, &c->kb->patterns[pi], len, at, &so, &eo);
			if (rc < 0)
				v->limit_hits++;
			if (rc <= 0)
				break;
			ex[n].so = so;
			ex[n].eo = eo;
			n++;
			at = eo > so ? eo : next_cp(c->norm, len, so);
		}
	}
	return n;
}

static bool overlaps(const range *ex, size_t n, size_t so, size_t eo)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (so < ex[i].eo && ex[i].so < eo)
			return true;
	return false;
}

/* Decides one rule. Returns true and records a hit when it fires. */
static bool eval_rule(pb_classifier *c, pb_verdict *v, uint16_t ri, size_t len)
{
	const pb_rule *r = &c->kb->rules[ri];
	range ex[MAX_EXCLUDE];
	size_t nex = 0, i, at, so, eo;
	bool ex_done = false;
	int rc;

	for (i = 0; i < r->triggers.n; i++) {
		uint32_t pi = r->triggers.v[i];
		if (!is_cand(c, pi))
			continue;
		at = 0;
		while (at <= len) {
			rc = run(c, &c->kb->patterns[pi], len, at, &so, &eo);
			if (rc < 0)
				v->limit_hits++;
			if (rc <= 0)
				break;
			if (!ex_done) {
				nex = exclusions(c, v, r, len, ex);
				ex_done = true;
			}
			if (!overlaps(ex, nex, so, eo)) {
				size_t k;
				for (k = 0; k < r->unless_any.n; k++) {
					uint32_t q = r->unless_any.v[k];
					size_t qs, qe;
					if (!is_cand(c, q))
						continue;
					rc = run(c, &c->kb->patterns[q], len, 0, &qs, &qe);
					if (rc < 0)
						v->limit_hits++;
					if (rc > 0)
						return false;
				}
				if (v->n_hits < PB_VERDICT_MAX_HITS) {
					pb_hit *h = &v->hits[v->n_hits++];
					h->rule = ri;
					h->pattern = pi;
					h->span = span_of(c, so, eo);
					h->suppressed = false;
				}
				return true;
			}
			at = eo > so ? eo : next_cp(c->norm, len, so);
		}
	}
	return false;
}

double pb_parse_number(const char *s, size_t len)
{
	static const struct {
		const char *w;
		double v;
	} words[] = {
		{"a", 1}, {"an", 1}, {"one", 1}, {"two", 2}, {"three", 3}, {"four", 4},
		{"five", 5}, {"six", 6}, {"seven", 7}, {"eight", 8}, {"nine", 9}, {"ten", 10},
		{"eleven", 11}, {"twelve", 12}, {"couple", 2}, {"half", 0.5}, {"半", 0.5},
	};
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	double total = 0, cur = 0, frac = 0, scale = 0.1;
	bool any = false, dot = false;
	size_t i;

	while (p < end && *p == ' ')
		p++;
	while (end > p && end[-1] == ' ')
		end--;
	len = (size_t)(end - p);
	/* cppcheck-suppress knownConditionTrueFalse ; zero when s is all spaces */
	if (!len)
		return -1;
	if (*p >= '0' && *p <= '9') {
		for (; p < end; p++) {
			if (*p == '.' && !dot) {
				dot = true;
				continue;
			}
			if (*p < '0' || *p > '9')
				return -1;
			if (dot) {
				frac += (*p - '0') * scale;
				scale /= 10;
			} else {
				cur = cur * 10 + (*p - '0');
				if (cur > 1e9)
					return -1;
			}
		}
		return cur + frac;
	}
	for (i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strlen(words[i].w) == len && !memcmp(words[i].w, p, len))
			return words[i].v;
	while (p < end) {
		uint32_t cp = pb_utf8_next(&p, end);
		int d = -1, unit = 0;
		switch (cp) {
		case 0x96F6: case 0x3007: d = 0; break;                 /* 零 〇 */
		case 0x4E00: d = 1; break;                               /* 一 */
		case 0x4E8C: case 0x4E24: d = 2; break;                  /* 二 两 */
		case 0x4E09: d = 3; break;                               /* 三 */
		case 0x56DB: d = 4; break;                               /* 四 */
		case 0x4E94: d = 5; break;                               /* 五 */
		case 0x516D: d = 6; break;                               /* 六 */
		case 0x4E03: d = 7; break;                               /* 七 */
		case 0x516B: d = 8; break;                               /* 八 */
		case 0x4E5D: d = 9; break;                               /* 九 */
		case 0x5341: unit = 10; break;                           /* 十 */
		case 0x767E: unit = 100; break;                          /* 百 */
		case 0x5343: unit = 1000; break;                         /* 千 */
		case 0x534A: /* 半: "一个半" adds a half */
			if (any) {
				frac = 0.5;
				continue;
			}
			return p == end ? 0.5 : -1;
		case 0x4E2A: /* 个, as in 一个星期 */
			continue;
		default:
			return -1;
		}
		any = true;
		if (d >= 0)
			cur = d;
		else {
			total += (cur ? cur : 1) * unit;
			cur = 0;
		}
	}
	if (!any)
		return -1;
	return total + cur + frac;
}

static bool group(const pb_classifier *c, int g, size_t *so, size_t *eo)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md);

	if (g <= 0 || (uint32_t)g >= pcre2_get_ovector_count(c->md))
		return false;
	if (ov[2 * g] == PCRE2_UNSET)
		return false;
	*so = ov[2 * g];
	*eo = ov[2 * g + 1];
	return true;
}

static double group_number(const pb_classifier *c, int g)
{
	size_t so, eo;

	if (!group(c, g, &so, &eo))
		return -1;
	return pb_parse_number((const char *)c->norm + so, eo - so);
}

/* Copies the original text of span into out, upper-casing ASCII and keeping
 * only letters, digits and dashes. */
static void copy_number(const char *text, pb_span sp, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < sp.len && o < PB_MAX_NUMBER; i++) {
		char ch = text[sp.off + i];
		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 32);
		if ((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-')
			out[o++] = ch;
	}
	out[o] = '\0';
}

static bool number_seen(const pb_verdict *v, const char *num)
{
	size_t i;

	for (i = 0; i < v->ent.n_orders; i++)
		if (!strcmp(v->ent.orders[i].id, num))
			return true;
	for (i = 0; i < v->ent.n_tracking; i++)
		if (!strcmp(v->ent.tracking[i].number, num))
			return true;
	return false;
}

/* Carriers whose number shapes match the normalised token [so, eo). */
static uint8_t match_carriers(pb_classifier *c, size_t so, size_t eo, uint16_t *out)
{
	const pb_kb *kb = c->kb;
	size_t ci, k;
	uint8_t n = 0;

	for (ci = 0; ci < kb->n_carriers && n < 4; ci++)
		for (k = 0; k < kb->carriers[ci].shapes.n; k++) {
			const pb_pattern *p = &kb->patterns[kb->carriers[ci].shapes.v[k]];
			int rc;
			if (kb->jit)
				rc = pcre2_jit_match(p->code, c->norm + so, eo - so, 0, 0, c->md,
						     c->mctx);
			else
				rc = pcre2_match(p->code, c->norm + so, eo - so, 0, PCRE2_NO_UTF_CHECK,
						 c->md, c->mctx);
			if (rc > 0) {
				out[n++] = (uint16_t)ci;
				break;
			}
		}
	return n;
}

static void add_tracking(pb_classifier *c, pb_verdict *v, const char *text, size_t so, size_t eo,
			 bool from_hint)
{
	pb_tracking_ref t;

	if (v->ent.n_tracking >= PB_VERDICT_MAX_ENT)
		return;
	memset(&t, 0, sizeof t);
	t.span = span_of(c, so, eo);
	copy_number(text, t.span, t.number);
	if (strlen(t.number) < 6 || number_seen(v, t.number))
		return;
	t.n_carriers = match_carriers(c, so, eo, t.carriers);
	if (!t.n_carriers && !from_hint)
		return;
	v->ent.tracking[v->ent.n_tracking++] = t;
}

/* Two extractors may find the same stretch of time ("5 days"). */
static bool duration_seen(const pb_classifier *c, const pb_verdict *v, size_t so, size_t eo)
{
	pb_span sp = span_of(c, so, eo);
	size_t i;

	for (i = 0; i < v->ent.n_durations; i++) {
		const pb_span *d = &v->ent.durations[i].span;
		if (sp.off < d->off + d->len && d->off < sp.off + sp.len)
			return true;
	}
	return false;
}

static void run_extractor(pb_classifier *c, pb_verdict *v, const pb_pattern *p, const char *text,
			  size_t len)
{
	size_t at = 0, so, eo, gs, ge;
	int rc;

	while (at <= len) {
		rc = run(c, p, len, at, &so, &eo);
		if (rc < 0)
			v->limit_hits++;
		if (rc <= 0)
			return;
		at = eo > so ? eo : next_cp(c->norm, len, so);
		switch ((pb_entity_kind)p->owner) {
		case PB_ENT_ORDER_ID:
			if (group(c, p->g_value, &gs, &ge) && v->ent.n_orders < PB_VERDICT_MAX_ENT) {
				pb_order_ref *o = &v->ent.orders[v->ent.n_orders];
				o->span = span_of(c, gs, ge);
				copy_number(text, o->span, o->id);
				if (o->id[0] && !number_seen(v, o->id))
					v->ent.n_orders++;
			}
			break;
		case PB_ENT_TRACKING:
			if (group(c, p->g_value, &gs, &ge))
				add_tracking(c, v, text, gs, ge, true);
			break;
		case PB_ENT_QUANTITY:
			if (!v->ent.has_quantity) {
				double o = group_number(c, p->g_ordered);
				double r = group_number(c, p->g_received);
				if (o >= 0 || r >= 0) {
					v->ent.has_quantity = true;
					v->ent.ordered = o >= 0 ? (int)o : -1;
					v->ent.received = r >= 0 ? (int)r : -1;
					v->ent.quantity_span = span_of(c, so, eo);
					v->ent.quantity_pattern = (uint32_t)(p - c->kb->patterns);
				}
			}
			break;
		case PB_ENT_DURATION:
			if (v->ent.n_durations < PB_VERDICT_MAX_ENT && !duration_seen(c, v, so, eo) &&
			    group(c, p->g_unit, &gs, &ge)) {
				double num = p->g_num ? group_number(c, p->g_num) : 1;
				size_t u;
				if (num < 0) {
					size_t ns, ne;
					/* An unset number group ("a week" with the article
					 * optional) counts as one. */
					if (group(c, p->g_num, &ns, &ne))
						break;
					num = 1;
				}
				for (u = 0; u < c->kb->n_units; u++) {
					const pb_unit *un = &c->kb->units[u];
					if (strlen(un->word) == ge - gs &&
					    !memcmp(un->word, c->norm + gs, ge - gs)) {
						pb_duration *d = &v->ent.durations[v->ent.n_durations++];
						d->hours = num * un->hours;
						d->span = span_of(c, so, eo);
						break;
					}
				}
			}
			break;
		}
	}
}

/* Bare tracking numbers: runs of letters and digits that fit a carrier's
 * number shape. */
static void scan_tokens(pb_classifier *c, pb_verdict *v, const char *text, size_t len)
{
	size_t i = 0, s, digits;

	while (i < len) {
		unsigned char ch = c->norm[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))) {
			i++;
			continue;
		}
		s = i;
		digits = 0;
		while (i < len && ((c->norm[i] >= 'a' && c->norm[i] <= 'z') ||
				   (c->norm[i] >= '0' && c->norm[i] <= '9'))) {
			if (c->norm[i] >= '0' && c->norm[i] <= '9')
				digits++;
			i++;
		}
		if (i - s >= 8 && i - s <= PB_MAX_NUMBER && digits >= 6)
			add_tracking(c, v, text, s, i, false);
	}
}

pb_err pb_classify(pb_classifier *c, const char *text, size_t len, pb_verdict *out,
		   pb_errbuf *eb)
{
	const pb_kb *kb = c->kb;
	size_t bad = 0, nlen, nc, i, full = len;
	bool han, truncated = false;
	uint64_t fired = 0, sup = 0;
	pb_err err;

	if (len > PB_CLASSIFY_MAX_TEXT) {
		/* The rest is still checked: a verdict on invalid text would
		 * pass bad bytes on to whoever stores or shows it. */
		bad = pb_utf8_check(text, full);
		if (bad != full)
			return pb_errf(eb, PB_EUTF8,
				       "text is not valid UTF-8 (bad byte 0x%02x at offset %zu)",
				       (unsigned char)text[bad], bad);
		len = pb_utf8_clip(text, len, PB_CLASSIFY_MAX_TEXT);
		truncated = true;
	}
	err = normalise(c, text, len, &nlen, &han, &bad);
	if (err == PB_EUTF8)
		return pb_errf(eb, err, "text is not valid UTF-8 (bad byte 0x%02x at offset %zu)",
			       (unsigned char)text[bad], bad);
	if (err)
		return pb_errf(eb, err, "out of memory");
	mask_numbers(c);
	/* The arrays are filled up to their counts; only the header needs
	 * clearing, which keeps this off the per-message cost. */
	out->intents = out->signals = 0;
	out->n_hits = 0;
	out->limit_hits = 0;
	out->truncated = truncated;
	out->ent.n_orders = out->ent.n_tracking = out->ent.n_durations = 0;
	out->ent.has_quantity = false;
	out->ent.ordered = out->ent.received = -1;
	out->lang = han ? PB_LANG_ZH : PB_LANG_EN;

	if (++c->gen == 0) {
		memset(c->cstamp, 0, (kb->n_patterns + 1) * sizeof *c->cstamp);
		c->gen = 1;
	}
	if (c->use_pf) {
		nc = pb_prefilter_scan(kb->pf, c->pfs, c->norm, nlen, c->cands, kb->n_patterns);
	} else {
		nc = 0;
		for (i = 0; i < kb->n_patterns; i++)
			if (kb->patterns[i].role != PB_PAT_SHAPE)
				c->cands[nc++] = (uint32_t)i;
	}
	for (i = 0; i < nc; i++)
		c->cstamp[c->cands[i]] = c->gen;
	/* Taking a number out can bring two literals together ("快递" and
	 * "三天" around one): the masked view's candidates join the list,
	 * which is rebuilt in pattern order. */
	if (c->use_pf && c->masked_len != c->full_len) {
		nc = pb_prefilter_scan(kb->pf, c->pfs, c->masked, c->masked_len, c->cands,
				       kb->n_patterns);
		for (i = 0; i < nc; i++)
			c->cstamp[c->cands[i]] = c->gen;
		nc = 0;
		for (i = 0; i < kb->n_patterns; i++)
			if (c->cstamp[i] == c->gen)
				c->cands[nc++] = (uint32_t)i;
	}

	/* Candidates are in pattern order, and a rule's patterns are stored
	 * together, so rules are decided in KB order. */
	for (i = 0; i < nc; i++) {
		const pb_pattern *p = &kb->patterns[c->cands[i]];
		uint32_t r = p->owner;
		if (p->role == PB_PAT_EXTRACT) {
			use_view(c, false);
			run_extractor(c, out, p, text, c->nlen);
			continue;
		}
		if (p->role != PB_PAT_TRIGGER || ((fired >> r) & 1))
			continue;
		/* Each rule is tried once, from its first candidate trigger. */
		use_view(c, true);
		if (eval_rule(c, out, (uint16_t)r, c->nlen))
			fired |= (uint64_t)1 << r;
		/* Skip this rule's remaining triggers: eval_rule tried them all. */
		while (i + 1 < nc && kb->patterns[c->cands[i + 1]].owner == r &&
		       kb->patterns[c->cands[i + 1]].role == PB_PAT_TRIGGER)
			i++;
	}
	use_view(c, false);
	scan_tokens(c, out, text, nlen);
	/* Fewer arrived than were ordered: that is the short-count intent
	 * however the buyer worded it ("ordered 2 got 1"). */
	if (kb->short_count_intent >= 0 && out->ent.has_quantity && out->ent.received >= 0 &&
	    out->ent.ordered > out->ent.received &&
	    !((fired >> kb->short_count_intent) & 1)) {
		fired |= (uint64_t)1 << kb->short_count_intent;
		if (out->n_hits < PB_VERDICT_MAX_HITS) {
			pb_hit *h = &out->hits[out->n_hits++];
			h->rule = (uint16_t)kb->short_count_intent;
			h->pattern = out->ent.quantity_pattern;
			h->span = out->ent.quantity_span;
			h->suppressed = false;
		}
	}

	for (i = 0; i < kb->n_intents; i++)
		if ((fired >> i) & 1)
			sup |= kb->rules[i].suppresses;
	out->intents = fired & ~sup & (kb->n_intents >= 64 ? ~(uint64_t)0
							   : (((uint64_t)1 << kb->n_intents) - 1));
	out->signals = fired >> kb->n_intents;
	for (i = 0; i < out->n_hits; i++)
		if (out->hits[i].rule < kb->n_intents && ((sup >> out->hits[i].rule) & 1))
			out->hits[i].suppressed = true;
	return PB_OK;
}

bool pb_verdict_has(const pb_kb *kb, const pb_verdict *v, const char *id)
{
	int i = pb_kb_rule_index(kb, id);

	if (i < 0)
		return false;
	if ((size_t)i < kb->n_intents)
		return (v->intents >> i) & 1;
	return (v->signals >> (i - (int)kb->n_intents)) & 1;
}

struct cJSON *pb_verdict_json(const pb_kb *kb, const pb_verdict *v, const char *text, size_t len)
{
	cJSON *o = cJSON_CreateObject(), *a, *e, *x, *m;
	size_t i, k;
	char *tmp;

	if (!o)
		return NULL;
	a = cJSON_AddArrayToObject(o, "intents");
	for (i = 0; a && i < kb->n_intents; i++)
		if ((v->intents >> i) & 1)
			cJSON_AddItemToArray(a, cJSON_CreateString(kb->rules[i].id));
	a = cJSON_AddArrayToObject(o, "signals");
	for (i = kb->n_intents; a && i < kb->n_rules; i++)
		if ((v->signals >> (i - kb->n_intents)) & 1)
			cJSON_AddItemToArray(a, cJSON_CreateString(kb->rules[i].id));
	cJSON_AddStringToObject(o, "lang", v->lang == PB_LANG_ZH ? "zh" : "en");

	e = cJSON_AddObjectToObject(o, "entities");
	a = cJSON_AddArrayToObject(e, "order_ids");
	for (i = 0; a && i < v->ent.n_orders; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v->ent.orders[i].id));
	a = cJSON_AddArrayToObject(e, "tracking");
	for (i = 0; a && i < v->ent.n_tracking; i++) {
		cJSON *c;
		x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "number", v->ent.tracking[i].number);
		c = cJSON_AddArrayToObject(x, "carriers");
		for (k = 0; c && k < v->ent.tracking[i].n_carriers; k++)
			cJSON_AddItemToArray(
				c, cJSON_CreateString(kb->carriers[v->ent.tracking[i].carriers[k]].id));
		cJSON_AddItemToArray(a, x);
	}
	if (v->ent.has_quantity) {
		x = cJSON_AddObjectToObject(e, "quantity");
		if (v->ent.ordered >= 0)
			cJSON_AddNumberToObject(x, "ordered", v->ent.ordered);
		if (v->ent.received >= 0)
			cJSON_AddNumberToObject(x, "received", v->ent.received);
	} else {
		cJSON_AddNullToObject(e, "quantity");
	}
	a = cJSON_AddArrayToObject(e, "durations");
	for (i = 0; a && i < v->ent.n_durations; i++) {
		const pb_span *sp = &v->ent.durations[i].span;
		x = cJSON_CreateObject();
		tmp = strndup(text + sp->off, sp->len);
		cJSON_AddStringToObject(x, "text", tmp ? tmp : "");
		free(tmp);
		cJSON_AddNumberToObject(x, "hours", v->ent.durations[i].hours);
		cJSON_AddItemToArray(a, x);
	}

	a = cJSON_AddArrayToObject(o, "matches");
	for (i = 0; a && i < v->n_hits; i++) {
		const pb_hit *h = &v->hits[i];
		const pb_rule *r = &kb->rules[h->rule];
		m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "label", r->id);
		cJSON_AddStringToObject(m, "kind", r->kind == PB_RULE_INTENT ? "intent" : "signal");
		cJSON_AddStringToObject(m, "pattern", kb->patterns[h->pattern].id);
		cJSON_AddNumberToObject(m, "start", h->span.off);
		cJSON_AddNumberToObject(m, "end", h->span.off + h->span.len);
		tmp = h->span.off + h->span.len <= len ? strndup(text + h->span.off, h->span.len)
						       : NULL;
		cJSON_AddStringToObject(m, "text", tmp ? tmp : "");
		free(tmp);
		if (h->suppressed)
			cJSON_AddTrueToObject(m, "suppressed");
		cJSON_AddItemToArray(a, m);
	}
	if (v->truncated)
		cJSON_AddTrueToObject(o, "truncated");
	return o;
}
