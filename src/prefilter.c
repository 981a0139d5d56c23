/*
 * Prefilter for the classifier (see prefilter.h): a conservative analysis of
 * PCRE2 patterns for required literals, and an Aho-Corasick DFA over them.
 *
 * The analysis walks the regex once with a recursive-descent parser. Each
 * node yields either an exact set of strings it can match ("exact"), or a
 * list of factors (sets of strings one of which must appear). Concatenation
 * takes cross products of adjacent exact parts while they stay small;
 * alternation unions; a quantifier with a minimum of zero contributes
 * nothing. Anything unfamiliar (backreferences, verbs, conditionals,
 * extended mode) makes the parser give up, and the pattern is always run.
 */
#include "parcelbot/prefilter.h"

#include <stdlib.h>
#include <string.h>

#include "parcelbot/utf8.h"

/* ---- string sets ---- */

typedef struct sset {
	char **v;
	size_t *l;
	size_t n;
} sset;

static void sset_free(sset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	free(s->l);
	s->v = NULL;
	s->l = NULL;
	s->n = 0;
}

static bool sset_has(const sset *s, const char *p, size_t l)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->l[i] == l && memcmp(s->v[i], p, l) == 0)
			return true;
	return false;
}

/* Adds a copy of p; duplicates are ignored. Returns false on ENOMEM. */
static bool sset_add(sset *s, const char *p, size_t l)
{
	char **nv, *c;
	size_t *nl;

	if (sset_has(s, p, l))
		return true;
	nv = realloc(s->v, (s->n + 1) * sizeof *nv);
	if (!nv)
		return false;
	s->v = nv;
	nl = realloc(s->l, (s->n + 1) * sizeof *nl);
	if (!nl)
		return false;
	s->l = nl;
	c = malloc(l + 1);
	if (!c)
		return false;
	memcpy(c, p, l);
	c[l] = '\0';
	s->v[s->n] = c;
	s->l[s->n] = l;
	s->n++;
	return true;
}

static bool sset_has_empty(const sset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (!s->l[i])
			return true;
	return false;
}

static size_t sset_minlen(const sset *s)
{
	size_t i, m = SIZE_MAX;

	for (i = 0; i < s->n; i++)
		if (s->l[i] < m)
			m = s->l[i];
	return s->n ? m : 0;
}

static size_t sset_maxlen(const sset *s)
{
	size_t i, m = 0;

	for (i = 0; i < s->n; i++)
		if (s->l[i] > m)
			m = s->l[i];
	return m;
}

/* ---- analysis nodes ---- */

typedef struct info {
	bool exact_ok; /* exact holds every string the node can match */
	sset exact;
	sset f[16];    /* required factors */
	size_t nf;
} info;

typedef struct parser {
	const unsigned char *p, *end;
	bool fail;
	bool oom;
	int depth;
} parser;

static void info_free(info *in)
{
	size_t i;

	sset_free(&in->exact);
	for (i = 0; i < in->nf; i++)
		sset_free(&in->f[i]);
	in->nf = 0;
	in->exact_ok = false;
}

static info info_empty(parser *ps)
{
	info in;

	memset(&in, 0, sizeof in);
	in.exact_ok = true;
	if (!sset_add(&in.exact, "", 0))
		ps->oom = true;
	return in;
}

static info info_wild(void)
{
	info in;

	memset(&in, 0, sizeof in);
	return in;
}

/* Selectivity of a factor: a longer shortest literal is rarer in text, and
 * every doubling of the alternatives costs about one byte of it. UTF-8
 * bytes weigh CJK characters at three ASCII letters, which matches how
 * selective each is. */
static long factor_score(const sset *s)
{
	long n = (long)s->n, lg = 0;

	while (n > 1) {
		n >>= 1;
		lg++;
	}
	return (long)sset_minlen(s) * 4 - lg * 3;
}

static bool factor_usable(const sset *s)
{
	return s->n > 0 && s->n <= PB_PF_MAX_UNION && !sset_has_empty(s);
}

/* Moves factor s into in (taking ownership), keeping the best 16. */
static void push_factor(info *in, sset *s)
{
	size_t i, worst = 0;

	if (!factor_usable(s)) {
		sset_free(s);
		return;
	}
	if (in->nf < 16) {
		in->f[in->nf++] = *s;
		memset(s, 0, sizeof *s);
		return;
	}
	for (i = 1; i < in->nf; i++)
		if (factor_score(&in->f[i]) < factor_score(&in->f[worst]))
			worst = i;
	if (factor_score(s) > factor_score(&in->f[worst])) {
		sset_free(&in->f[worst]);
		in->f[worst] = *s;
		memset(s, 0, sizeof *s);
	} else {
		sset_free(s);
	}
}

static sset sset_copy(parser *ps, const sset *s)
{
	sset c = {0};
	size_t i;

	for (i = 0; i < s->n; i++)
		if (!sset_add(&c, s->v[i], s->l[i]))
			ps->oom = true;
	return c;
}

/* Best factor of a node: the highest-scoring of its exact set and its
 * factors. */
static bool best_factor(parser *ps, const info *in, sset *out)
{
	const sset *best = NULL;
	size_t i;

	if (in->exact_ok && factor_usable(&in->exact))
		best = &in->exact;
	for (i = 0; i < in->nf; i++)
		if (!best || factor_score(&in->f[i]) > factor_score(best))
			best = &in->f[i];
	if (!best)
		return false;
	*out = sset_copy(ps, best);
	return true;
}

static bool cross(parser *ps, const sset *a, const sset *b, sset *out)
{
	size_t i, j;
	char tmp[2 * PB_PF_MAX_LITERAL];

	if (a->n * b->n > PB_PF_MAX_SET || sset_maxlen(a) + sset_maxlen(b) > PB_PF_MAX_LITERAL)
		return false;
	memset(out, 0, sizeof *out);
	for (i = 0; i < a->n; i++)
		for (j = 0; j < b->n; j++) {
			memcpy(tmp, a->v[i], a->l[i]);
			memcpy(tmp + a->l[i], b->v[j], b->l[j]);
			if (!sset_add(out, tmp, a->l[i] + b->l[j]))
				ps->oom = true;
		}
	return true;
}

static info parse_alt(parser *ps);

static int peek(const parser *ps, size_t k)
{
	return ps->p + k < ps->end ? ps->p[k] : -1;
}

/* Adds the code point cp as a one-character literal, lower-casing ASCII.
 * Returns false for characters whose case-insensitive matches we cannot
 * enumerate (non-ASCII letters of cased scripts). */
static bool lit_char(parser *ps, sset *s, uint32_t cp)
{
	char b[4];
	size_t n;

	if (cp >= 'A' && cp <= 'Z')
		cp += 32;
	/* ASCII 'k' and 's' also match KELVIN SIGN and LONG S caselessly; the
	 * classifier folds those to ASCII before scanning, so they are safe. */
	if (cp >= 0x80 && cp < 0x2000)
		return false;
	n = pb_utf8_put(cp, b);
	if (!sset_add(s, b, n))
		ps->oom = true;
	return true;
}

static uint32_t read_cp(parser *ps)
{
	const unsigned char *p = ps->p;
	uint32_t cp;

	/* Patterns come from YAML that was checked to be valid UTF-8, and
	 * pb_utf8_next never reads past end, so decoding is safe. */
	cp = pb_utf8_next(&p, ps->end);
	ps->p = p;
	return cp;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parses the escape after a backslash. Returns 0 for a literal (in *cp),
 * 1 for a zero-width assertion, 2 for a character type (matches one of many
 * characters), -1 for something we do not analyse. */
static int parse_escape(parser *ps, uint32_t *cp)
{
	int c = peek(ps, 0), h;
	uint32_t v = 0;

	if (c < 0)
		return -1;
	ps->p++;
	switch (c) {
	case 'd': case 'D': case 'w': case 'W': case 's': case 'S': case 'h': case 'H':
	case 'v': case 'V': case 'N': case 'R': case 'X': case 'C':
		return 2;
	case 'p': case 'P':
		if (peek(ps, 0) == '{') {
			while (ps->p < ps->end && *ps->p != '}')
				ps->p++;
			if (ps->p >= ps->end)
				return -1;
			ps->p++;
		} else if (ps->p < ps->end) {
			ps->p++;
		}
		return 2;
	case 'b': case 'B': case 'A': case 'z': case 'Z': case 'G': case 'K':
		return 1;
	case 'n': *cp = '\n'; return 0;
	case 't': *cp = '\t'; return 0;
	case 'r': *cp = '\r'; return 0;
	case 'f': *cp = '\f'; return 0;
	case 'e': *cp = 0x1B; return 0;
	case 'a': *cp = 0x07; return 0;
	case 'x':
		if (peek(ps, 0) == '{') {
			ps->p++;
			while ((h = hexval(peek(ps, 0))) >= 0 && v < 0x110000) {
				v = v * 16 + (uint32_t)h;
				ps->p++;
			}
			if (peek(ps, 0) != '}')
				return -1;
			ps->p++;
		} else {
			int k;
			for (k = 0; k < 2 && (h = hexval(peek(ps, 0))) >= 0; k++) {
				v = v * 16 + (uint32_t)h;
				ps->p++;
			}
		}
		*cp = v;
		return 0;
	default:
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
			return -1; /* backreferences, \g, \k, \Q, octal, ... */
		*cp = (uint32_t)c;
		return 0;
	}
}

/* A character class: exact set of its characters when small, else wild. */
static info parse_class(parser *ps)
{
	info in = info_wild();
	sset s = {0};
	bool neg = false, wild = false, first = true;
	uint32_t prev = 0, cp;
	bool have_prev = false;
	size_t count = 0;

	ps->p++; /* '[' */
	if (peek(ps, 0) == '^') {
		neg = true;
		ps->p++;
	}
	for (;;) {
		int c = peek(ps, 0);
		if (c < 0) {
			ps->fail = true;
			break;
		}
		if (c == ']' && !first) {
			ps->p++;
			break;
		}
		first = false;
		if (c == '[' && peek(ps, 1) == ':') {
			/* POSIX class like [:alpha:] */
			while (ps->p < ps->end && !(*ps->p == ']' && ps->p[-1] == ':'))
				ps->p++;
			if (ps->p < ps->end)
				ps->p++;
			wild = true;
			have_prev = false;
			continue;
		}
		if (c == '-' && have_prev && peek(ps, 1) != ']' && peek(ps, 1) >= 0) {
			uint32_t hi;
			ps->p++;
			if (peek(ps, 0) == '\\') {
				ps->p++;
				if (parse_escape(ps, &hi) != 0) {
					wild = true;
					have_prev = false;
					continue;
				}
			} else {
				hi = read_cp(ps);
			}
			if (hi < prev || hi - prev > 16) {
				wild = true;
			} else {
				for (cp = prev + 1; cp <= hi; cp++) {
					count++;
					if (!lit_char(ps, &s, cp))
						wild = true;
				}
			}
			have_prev = false;
			continue;
		}
		if (c == '\\') {
			int r;
			ps->p++;
			r = parse_escape(ps, &cp);
			if (r != 0) {
				wild = true;
				have_prev = false;
				if (r < 0)
					ps->fail = true;
				continue;
			}
		} else {
			cp = read_cp(ps);
		}
		count++;
		if (!lit_char(ps, &s, cp))
			wild = true;
		/* The same character in both cases also matches its ASCII
		 * partner, which lit_char already lower-cased. */
		prev = cp;
		have_prev = true;
	}
	if (neg || wild || count > 16 || s.n > 16) {
		sset_free(&s);
		return in;
	}
	in.exact_ok = true;
	in.exact = s;
	return in;
}

/* Skips an inline option group like (?i) or (?i: and reports which. */
static info parse_group(parser *ps)
{
	info in;
	bool lookaround = false;

	ps->p++; /* '(' */
	if (peek(ps, 0) == '*') {
		ps->fail = true;
		return info_wild();
	}
	if (peek(ps, 0) == '?') {
		int c = peek(ps, 1);
		if (c == ':' || c == '>' || c == '|') {
			ps->p += 2;
		} else if (c == '=' || c == '!') {
			ps->p += 2;
			lookaround = true;
		} else if (c == '<' && (peek(ps, 2) == '=' || peek(ps, 2) == '!')) {
			ps->p += 3;
			lookaround = true;
		} else if (c == '<' || c == '\'' || (c == 'P' && peek(ps, 2) == '<')) {
			int close = c == '\'' ? '\'' : '>';
			ps->p += c == 'P' ? 3 : 2;
			while (ps->p < ps->end && *ps->p != close)
				ps->p++;
			if (ps->p >= ps->end) {
				ps->fail = true;
				return info_wild();
			}
			ps->p++;
		} else if (c == '#') {
			while (ps->p < ps->end && *ps->p != ')')
				ps->p++;
			if (ps->p < ps->end)
				ps->p++;
			return info_empty(ps);
		} else {
			/* Option letters: only i, s, m, n are harmless here. */
			size_t k = 1;
			int o;
			while ((o = peek(ps, k)) == 'i' || o == 's' || o == 'm' || o == 'n')
				k++;
			o = peek(ps, k);
			if (k == 1 || (o != ')' && o != ':')) {
				ps->fail = true;
				return info_wild();
			}
			ps->p += k + 1;
			if (o == ')')
				return info_empty(ps);
		}
	}
	if (++ps->depth > 200) {
		ps->fail = true;
		return info_wild();
	}
	in = parse_alt(ps);
	ps->depth--;
	if (peek(ps, 0) != ')') {
		ps->fail = true;
		info_free(&in);
		return info_wild();
	}
	ps->p++;
	if (lookaround) {
		info_free(&in);
		return info_empty(ps);
	}
	return in;
}

static info parse_atom(parser *ps)
{
	int c = peek(ps, 0);
	info in;
	uint32_t cp;
	int r;

	switch (c) {
	case '(':
		return parse_group(ps);
	case '[':
		return parse_class(ps);
	case '.':
		ps->p++;
		return info_wild();
	case '^':
	case '$':
		ps->p++;
		return info_empty(ps);
	case '\\':
		ps->p++;
		if (peek(ps, 0) == 'Q') {
			/* \Q...\E quotes a literal run. */
			in = info_empty(ps);
			ps->p++;
			while (ps->p < ps->end && !(*ps->p == '\\' && peek(ps, 1) == 'E')) {
				sset one = {0}, prod;
				cp = read_cp(ps);
				if (!lit_char(ps, &one, cp) || !cross(ps, &in.exact, &one, &prod)) {
					sset_free(&one);
					info_free(&in);
					return info_wild();
				}
				sset_free(&one);
				sset_free(&in.exact);
				in.exact = prod;
			}
			if (ps->p < ps->end)
				ps->p += 2;
			return in;
		}
		r = parse_escape(ps, &cp);
		if (r < 0) {
			ps->fail = true;
			return info_wild();
		}
		if (r == 1)
			return info_empty(ps);
		if (r == 2)
			return info_wild();
		break;
	default:
		cp = read_cp(ps);
		break;
	}
	in = info_wild();
	in.exact_ok = lit_char(ps, &in.exact, cp);
	if (!in.exact_ok)
		sset_free(&in.exact);
	return in;
}

/* Reads a {n}, {n,}, {n,m} quantifier. Returns false (consuming nothing)
 * when the brace is a literal. */
static bool read_braces(parser *ps, long *min, long *max)
{
	const unsigned char *p = ps->p + 1;
	long a = 0, b;
	bool digits = false;

	while (p < ps->end && *p >= '0' && *p <= '9') {
		a = a * 10 + (*p++ - '0');
		digits = true;
		if (a > 100000)
			return false;
	}
	if (!digits)
		return false;
	b = a;
	if (p < ps->end && *p == ',') {
		p++;
		b = -1;
		if (p < ps->end && *p >= '0' && *p <= '9') {
			b = 0;
			while (p < ps->end && *p >= '0' && *p <= '9') {
				b = b * 10 + (*p++ - '0');
				if (b > 100000)
					return false;
			}
		}
	}
	if (p >= ps->end || *p != '}')
		return false;
	ps->p = p + 1;
	*min = a;
	*max = b;
	return true;
}

static info parse_quantified(parser *ps)
{
	info in = parse_atom(ps), out;
	long min, max;
	int c = peek(ps, 0);
	long k;

	if (c == '?') {
		min = 0;
		max = 1;
		ps->p++;
	} else if (c == '*') {
		min = 0;
		max = -1;
		ps->p++;
	} else if (c == '+') {
		min = 1;
		max = -1;
		ps->p++;
	} else if (c == '{' && read_braces(ps, &min, &max)) {
		/* read */
	} else {
		return in;
	}
	c = peek(ps, 0);
	if (c == '?' || c == '+')
		ps->p++;
	if (min == 1 && max == 1)
		return in;
	if (min == 0) {
		/* An optional piece requires nothing. Treating it as a break,
		 * rather than as "itself or empty", keeps the neighbours' cross
		 * products small; the literals on either side stay required. */
		info_free(&in);
		return info_wild();
	}
	out = info_wild();
	if (in.exact_ok && min == max) {
		sset acc = sset_copy(ps, &in.exact), prod;
		bool ok = true;
		for (k = 1; k < min && ok; k++) {
			ok = cross(ps, &acc, &in.exact, &prod);
			if (ok) {
				sset_free(&acc);
				acc = prod;
			}
		}
		if (ok) {
			out.exact_ok = true;
			out.exact = acc;
			info_free(&in);
			return out;
		}
		sset_free(&acc);
	}
	/* At least one repetition: whatever the item requires is required. */
	if (in.exact_ok) {
		sset s = sset_copy(ps, &in.exact);
		push_factor(&out, &s);
	}
	for (k = 0; k < (long)in.nf; k++) {
		push_factor(&out, &in.f[k]);
	}
	in.nf = 0;
	info_free(&in);
	return out;
}

static info parse_seq(parser *ps)
{
	info res = info_wild();
	sset acc = {0}, prod;
	bool whole = true;
	size_t k;

	if (!sset_add(&acc, "", 0))
		ps->oom = true;
	while (ps->p < ps->end && *ps->p != '|' && *ps->p != ')' && !ps->fail) {
		info it = parse_quantified(ps);
		/* Whatever a piece requires, the sequence requires too. */
		for (k = 0; k < it.nf; k++)
			push_factor(&res, &it.f[k]);
		it.nf = 0;
		if (it.exact_ok && factor_usable(&it.exact)) {
			sset c = sset_copy(ps, &it.exact);
			push_factor(&res, &c);
		}
		if (it.exact_ok) {
			if (cross(ps, &acc, &it.exact, &prod)) {
				sset_free(&acc);
				acc = prod;
				info_free(&it);
			} else {
				push_factor(&res, &acc);
				acc = it.exact;
				memset(&it.exact, 0, sizeof it.exact);
				info_free(&it);
				whole = false;
			}
		} else {
			push_factor(&res, &acc);
			memset(&acc, 0, sizeof acc);
			if (!sset_add(&acc, "", 0))
				ps->oom = true;
			info_free(&it);
			whole = false;
		}
	}
	if (whole) {
		sset c = sset_copy(ps, &acc);
		push_factor(&res, &c);
		res.exact_ok = true;
		res.exact = acc;
		return res;
	}
	push_factor(&res, &acc);
	return res;
}

static info parse_alt(parser *ps)
{
	info br[64];
	size_t nb = 0, i, total = 0;
	bool all_exact = true, all_factor = true;
	info res;
	sset uni = {0};

	br[nb++] = parse_seq(ps);
	while (peek(ps, 0) == '|' && !ps->fail) {
		ps->p++;
		if (nb == 64) {
			/* Too many branches to track: analyse and drop the rest. */
			info t = parse_seq(ps);
			info_free(&t);
			all_exact = all_factor = false;
			continue;
		}
		br[nb++] = parse_seq(ps);
	}
	if (nb == 1)
		return br[0];
	for (i = 0; i < nb; i++) {
		if (!br[i].exact_ok)
			all_exact = false;
		else
			total += br[i].exact.n;
	}
	res = info_wild();
	if (all_exact && total <= PB_PF_MAX_SET) {
		res.exact_ok = true;
		for (i = 0; i < nb; i++) {
			size_t j;
			for (j = 0; j < br[i].exact.n; j++)
				if (!sset_add(&res.exact, br[i].exact.v[j], br[i].exact.l[j]))
					ps->oom = true;
		}
	} else if (all_factor) {
		for (i = 0; i < nb && all_factor; i++) {
			sset bf;
			size_t j;
			if (!best_factor(ps, &br[i], &bf)) {
				all_factor = false;
				break;
			}
			for (j = 0; j < bf.n; j++)
				if (!sset_add(&uni, bf.v[j], bf.l[j]))
					ps->oom = true;
			sset_free(&bf);
		}
		if (all_factor && uni.n <= PB_PF_MAX_UNION)
			push_factor(&res, &uni);
		else
			sset_free(&uni);
	}
	for (i = 0; i < nb; i++)
		info_free(&br[i]);
	return res;
}

void pb_pf_factors_release(pb_pf_factors *f)
{
	size_t i, j;

	for (i = 0; i < f->n; i++) {
		for (j = 0; j < f->f[i].n; j++)
			free(f->f[i].v[j]);
		free(f->f[i].v);
	}
	f->n = 0;
}

/* True when every string of a (a chosen factor) contains a string of b. */
static bool implies(const pb_pf_set *a, const sset *b)
{
	size_t i, j;

	for (i = 0; i < a->n; i++) {
		bool found = false;
		for (j = 0; j < b->n && !found; j++)
			found = memmem(a->v[i], strlen(a->v[i]), b->v[j], b->l[j]) != NULL;
		if (!found)
			return false;
	}
	return true;
}

pb_err pb_pf_analyze(const char *re, size_t len, pb_pf_factors *out)
{
	parser ps = {(const unsigned char *)re, (const unsigned char *)re + len, false, false, 0};
	info in;
	sset all[17];
	size_t na = 0, i, j, best;

	memset(out, 0, sizeof *out);
	in = parse_alt(&ps);
	if (ps.p != ps.end)
		ps.fail = true; /* an unbalanced ')' */
	if (ps.oom) {
		info_free(&in);
		return PB_ENOMEM;
	}
	if (ps.fail) {
		info_free(&in);
		return PB_OK;
	}
	out->understood = true;
	if (in.exact_ok) {
		if (factor_usable(&in.exact)) {
			all[na++] = in.exact;
			memset(&in.exact, 0, sizeof in.exact);
		}
	}
	for (i = 0; i < in.nf; i++) {
		all[na++] = in.f[i];
		memset(&in.f[i], 0, sizeof in.f[i]);
	}
	in.nf = 0;
	info_free(&in);
	/* Keep the best PB_PF_MAX_FACTORS factors, skipping any that a chosen
	 * one implies (every string of the chosen contains one of its strings):
	 * requiring it as well would cost a check and filter nothing. */
	while (out->n < PB_PF_MAX_FACTORS && na) {
		best = 0;
		for (i = 1; i < na; i++)
			if (factor_score(&all[i]) > factor_score(&all[best]))
				best = i;
		for (j = 0; j < out->n; j++)
			if (implies(&out->f[j], &all[best]))
				break;
		if (j == out->n) {
			out->f[out->n].v = all[best].v;
			out->f[out->n].n = all[best].n;
			free(all[best].l);
			out->n++;
		} else {
			sset_free(&all[best]);
		}
		all[best] = all[--na];
	}
	for (i = 0; i < na; i++)
		sset_free(&all[i]);
	return PB_OK;
}

/* ---- the automaton ---- */

typedef struct lit {
	char *s;
	size_t l;
	uint32_t *factors;
	size_t nfactors;
} lit;

/* An open-addressing table from byte strings to ids, for building. */
typedef struct strtab {
	char **keys;
	size_t *lens;
	uint32_t *ids;
	size_t cap, n;
} strtab;

struct pb_prefilter {
	/* building */
	lit *lits;
	size_t nlits, caplits;
	strtab lit_index;    /* literal bytes -> index into lits */
	strtab factor_index; /* sorted literal set -> factor id */
	uint32_t nfactors;
	uint32_t **factor_pats; /* per factor: patterns needing it */
	size_t *factor_npats;
	uint8_t *need;          /* per pattern: factors required (0: always) */
	uint32_t npats;
	uint32_t *always;
	size_t nalways;
	/* built DFA */
	uint8_t cls[256];
	uint32_t ncls;
	uint32_t nstates;
	/* nstates * ncls entries. Each holds the next state's row offset
	 * (state * ncls), with OUT_BIT set when that state has outputs, so a
	 * scan step is one table load. */
	uint32_t *delta;
	uint32_t *out_off;      /* nstates + 1, into out */
	uint32_t *out;          /* factor ids */
};

#define OUT_BIT 0x80000000u

static void strtab_free(strtab *t);

struct pb_pf_scratch {
	uint32_t gen;
	uint32_t *fstamp;
	uint32_t *pstamp;
	uint8_t *pcount;
	uint32_t nfactors, npats;
};

pb_prefilter *pb_prefilter_new(void)
{
	return calloc(1, sizeof(pb_prefilter));
}

void pb_prefilter_free(pb_prefilter *pf)
{
	size_t i;

	if (!pf)
		return;
	for (i = 0; i < pf->nlits; i++) {
		free(pf->lits[i].s);
		free(pf->lits[i].factors);
	}
	free(pf->lits);
	for (i = 0; i < pf->nfactors; i++)
		free(pf->factor_pats[i]);
	free(pf->factor_pats);
	free(pf->factor_npats);
	free(pf->need);
	free(pf->always);
	strtab_free(&pf->lit_index);
	strtab_free(&pf->factor_index);
	free(pf->delta);
	free(pf->out_off);
	free(pf->out);
	free(pf);
}

static uint64_t hash_bytes(const char *s, size_t l)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	size_t i;

	for (i = 0; i < l; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

static void strtab_free(strtab *t)
{
	size_t i;

	for (i = 0; t->keys && i < t->cap; i++)
		free(t->keys[i]);
	free(t->keys);
	free(t->lens);
	free(t->ids);
	memset(t, 0, sizeof *t);
}

/* Returns the id stored for key, or -1. */
static long strtab_get(const strtab *t, const char *k, size_t l)
{
	size_t i;

	if (!t->cap)
		return -1;
	for (i = hash_bytes(k, l) & (t->cap - 1); t->keys[i]; i = (i + 1) & (t->cap - 1))
		if (t->lens[i] == l && !memcmp(t->keys[i], k, l))
			return (long)t->ids[i];
	return -1;
}

static bool strtab_put(strtab *t, const char *k, size_t l, uint32_t id)
{
	size_t i;
	char *c;

	if ((t->n + 1) * 2 > t->cap) {
		strtab nt = {0};
		nt.cap = t->cap ? t->cap * 2 : 256;
		nt.keys = calloc(nt.cap, sizeof *nt.keys);
		nt.lens = calloc(nt.cap, sizeof *nt.lens);
		nt.ids = calloc(nt.cap, sizeof *nt.ids);
		if (!nt.keys || !nt.lens || !nt.ids) {
			strtab_free(&nt);
			return false;
		}
		for (i = 0; i < t->cap; i++) {
			size_t j;
			if (!t->keys[i])
				continue;
			for (j = hash_bytes(t->keys[i], t->lens[i]) & (nt.cap - 1); nt.keys[j];
			     j = (j + 1) & (nt.cap - 1))
				;
			nt.keys[j] = t->keys[i];
			nt.lens[j] = t->lens[i];
			nt.ids[j] = t->ids[i];
			t->keys[i] = NULL;
		}
		nt.n = t->n;
		strtab_free(t);
		*t = nt;
	}
	c = malloc(l ? l : 1);
	if (!c)
		return false;
	memcpy(c, k, l);
	for (i = hash_bytes(k, l) & (t->cap - 1); t->keys[i]; i = (i + 1) & (t->cap - 1))
		;
	t->keys[i] = c;
	t->lens[i] = l;
	t->ids[i] = id;
	t->n++;
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A factor's key: its strings sorted and joined with NUL separators. */
static char *factor_key(const pb_pf_set *f, size_t *len)
{
	char **v = malloc(f->n * sizeof *v), *k, *o;
	size_t i, n = 0;

	if (!v)
		return NULL;
	for (i = 0; i < f->n; i++) {
		v[i] = f->v[i];
		n += strlen(f->v[i]) + 1;
	}
	qsort(v, f->n, sizeof *v, cmp_str);
	k = malloc(n ? n : 1);
	if (k) {
		o = k;
		for (i = 0; i < f->n; i++) {
			size_t l = strlen(v[i]) + 1;
			memcpy(o, v[i], l);
			o += l;
		}
		*len = n;
	}
	free(v);
	return k;
}

static long lit_find_or_add(pb_prefilter *pf, const char *s, size_t l)
{
	long found = strtab_get(&pf->lit_index, s, l);
	char *c;

	if (found >= 0)
		return found;
	if (pf->nlits == pf->caplits) {
		size_t nc = pf->caplits ? pf->caplits * 2 : 64;
		lit *nl = realloc(pf->lits, nc * sizeof *nl);
		if (!nl)
			return -1;
		pf->lits = nl;
		pf->caplits = nc;
	}
	c = malloc(l + 1);
	if (!c)
		return -1;
	memcpy(c, s, l);
	c[l] = '\0';
	pf->lits[pf->nlits].s = c;
	pf->lits[pf->nlits].l = l;
	pf->lits[pf->nlits].factors = NULL;
	pf->lits[pf->nlits].nfactors = 0;
	if (!strtab_put(&pf->lit_index, s, l, (uint32_t)pf->nlits)) {
		free(c);
		return -1;
	}
	return (long)pf->nlits++;
}

static bool append_u32(uint32_t **v, size_t *n, uint32_t x)
{
	uint32_t *nv = realloc(*v, (*n + 1) * sizeof *nv);

	if (!nv)
		return false;
	nv[(*n)++] = x;
	*v = nv;
	return true;
}

int pb_prefilter_add(pb_prefilter *pf, uint32_t idx, const char *re, size_t len)
{
	pb_pf_factors fs;
	size_t i, j;
	int used = 0;

	memset(&fs, 0, sizeof fs);
	if (re && pb_pf_analyze(re, len, &fs))
		return -1;
	if (idx >= pf->npats) {
		uint8_t *nn = realloc(pf->need, idx + 1);
		if (!nn)
			goto oom;
		memset(nn + pf->npats, 0, idx + 1 - pf->npats);
		pf->need = nn;
		pf->npats = idx + 1;
	}
	for (i = 0; i < fs.n; i++) {
		uint32_t fid = pf->nfactors;
		uint32_t **nfp;
		size_t *nnp, klen = 0;
		char *key = factor_key(&fs.f[i], &klen);
		long same;
		if (!key)
			goto oom;
		same = strtab_get(&pf->factor_index, key, klen);
		if (same < 0 && !strtab_put(&pf->factor_index, key, klen, fid)) {
			free(key);
			goto oom;
		}
		free(key);
		if (same >= 0) {
			/* Patterns that need the same set share one factor, so a
			 * hit is processed once for all of them. */
			if (!append_u32(&pf->factor_pats[same], &pf->factor_npats[same], idx))
				goto oom;
			used++;
			continue;
		}
		nfp = realloc(pf->factor_pats, (fid + 1) * sizeof *nfp);
		if (!nfp)
			goto oom;
		pf->factor_pats = nfp;
		nnp = realloc(pf->factor_npats, (fid + 1) * sizeof *nnp);
		if (!nnp)
			goto oom;
		pf->factor_npats = nnp;
		pf->factor_pats[fid] = NULL;
		pf->factor_npats[fid] = 0;
		pf->nfactors++;
		if (!append_u32(&pf->factor_pats[fid], &pf->factor_npats[fid], idx))
			goto oom;
		for (j = 0; j < fs.f[i].n; j++) {
			long li = lit_find_or_add(pf, fs.f[i].v[j], strlen(fs.f[i].v[j]));
			if (li < 0 || !append_u32(&pf->lits[li].factors, &pf->lits[li].nfactors, fid))
				goto oom;
		}
		used++;
	}
	pf->need[idx] = (uint8_t)used;
	if (!used && re && !append_u32(&pf->always, &pf->nalways, idx))
		goto oom;
	pb_pf_factors_release(&fs);
	return used;
oom:
	pb_pf_factors_release(&fs);
	return -1;
}

pb_err pb_prefilter_build(pb_prefilter *pf)
{
	uint32_t *go = NULL, *fail = NULL, *queue = NULL;
	uint32_t **outs = NULL;
	size_t *nouts = NULL;
	size_t total = 1, i, j, head = 0, tail = 0, nout_all = 0;
	uint32_t ns = 1, s, c;
	bool used[256] = {false};
	pb_err err = PB_ENOMEM;

	for (i = 0; i < pf->nlits; i++) {
		total += pf->lits[i].l;
		for (j = 0; j < pf->lits[i].l; j++)
			used[(unsigned char)pf->lits[i].s[j]] = true;
	}
	pf->ncls = 1;
	for (i = 0; i < 256; i++)
		pf->cls[i] = used[i] ? (uint8_t)pf->ncls++ : 0;
	if (pf->ncls > 256)
		return PB_EINVAL;
	go = malloc(total * pf->ncls * sizeof *go);
	fail = calloc(total, sizeof *fail);
	queue = malloc(total * sizeof *queue);
	outs = calloc(total, sizeof *outs);
	nouts = calloc(total, sizeof *nouts);
	if (!go || !fail || !queue || !outs || !nouts)
		goto out;
	/* UINT32_MAX marks "no goto edge" while the trie is built. */
	memset(go, 0xFF, total * pf->ncls * sizeof *go);
	for (i = 0; i < pf->nlits; i++) {
		s = 0;
		for (j = 0; j < pf->lits[i].l; j++) {
			c = pf->cls[(unsigned char)pf->lits[i].s[j]];
			if (go[s * pf->ncls + c] == UINT32_MAX)
				go[s * pf->ncls + c] = ns++;
			s = go[s * pf->ncls + c];
		}
		for (j = 0; j < pf->lits[i].nfactors; j++)
			if (!append_u32(&outs[s], &nouts[s], pf->lits[i].factors[j]))
				goto out;
	}
	/* Breadth-first: fail links, then complete the DFA. */
	for (c = 0; c < pf->ncls; c++) {
		uint32_t t = go[c];
		if (t == UINT32_MAX) {
			go[c] = 0;
		} else {
			fail[t] = 0;
			queue[tail++] = t;
		}
	}
	while (head < tail) {
		s = queue[head++];
		/* Inherit the outputs of the fail state (already final, as it is
		 * shallower). */
		for (j = 0; j < nouts[fail[s]]; j++) {
			size_t k;
			bool dup = false;
			for (k = 0; k < nouts[s]; k++)
				if (outs[s][k] == outs[fail[s]][j])
					dup = true;
			if (!dup && !append_u32(&outs[s], &nouts[s], outs[fail[s]][j]))
				goto out;
		}
		for (c = 0; c < pf->ncls; c++) {
			uint32_t t = go[s * pf->ncls + c];
			if (t == UINT32_MAX) {
				go[s * pf->ncls + c] = go[fail[s] * pf->ncls + c];
			} else {
				fail[t] = go[fail[s] * pf->ncls + c];
				queue[tail++] = t;
			}
		}
	}
	pf->nstates = ns;
	if ((uint64_t)ns * pf->ncls >= OUT_BIT) {
		err = PB_ETOOBIG;
		goto out;
	}
	pf->delta = realloc(go, (size_t)ns * pf->ncls * sizeof *go);
	if (!pf->delta)
		pf->delta = go;
	go = NULL;
	pf->out_off = malloc((ns + 1) * sizeof *pf->out_off);
	for (s = 0; s < ns; s++)
		nout_all += nouts[s];
	pf->out = malloc((nout_all ? nout_all : 1) * sizeof *pf->out);
	if (!pf->out_off || !pf->out)
		goto out;
	nout_all = 0;
	for (s = 0; s < ns; s++) {
		pf->out_off[s] = (uint32_t)nout_all;
		for (j = 0; j < nouts[s]; j++)
			pf->out[nout_all++] = outs[s][j];
	}
	pf->out_off[ns] = (uint32_t)nout_all;
	for (i = 0; i < (size_t)ns * pf->ncls; i++) {
		uint32_t t = pf->delta[i];
		pf->delta[i] = t * pf->ncls | (pf->out_off[t + 1] > pf->out_off[t] ? OUT_BIT : 0);
	}
	err = PB_OK;
out:
	free(go);
	free(fail);
	free(queue);
	if (outs)
		for (i = 0; i < total; i++)
			free(outs[i]);
	free(outs);
	free(nouts);
	return err;
}

size_t pb_prefilter_literals(const pb_prefilter *pf)
{
	return pf->nlits;
}

size_t pb_prefilter_states(const pb_prefilter *pf)
{
	return pf->nstates;
}

pb_pf_scratch *pb_pf_scratch_new(const pb_prefilter *pf)
{
	pb_pf_scratch *s = calloc(1, sizeof *s);

	if (!s)
		return NULL;
	s->nfactors = pf->nfactors;
	s->npats = pf->npats;
	s->fstamp = calloc(pf->nfactors + 1, sizeof *s->fstamp);
	s->pstamp = calloc(pf->npats + 1, sizeof *s->pstamp);
	s->pcount = calloc(pf->npats + 1, 1);
	if (!s->fstamp || !s->pstamp || !s->pcount) {
		pb_pf_scratch_free(s);
		return NULL;
	}
	return s;
}

void pb_pf_scratch_free(pb_pf_scratch *s)
{
	if (!s)
		return;
	free(s->fstamp);
	free(s->pstamp);
	free(s->pcount);
	free(s);
}

size_t pb_prefilter_scan(const pb_prefilter *pf, pb_pf_scratch *s, const unsigned char *text,
			 size_t len, uint32_t *cands, size_t max)
{
	const uint32_t *delta = pf->delta;
	const uint8_t *cls = pf->cls;
	uint32_t ncls = pf->ncls, row = 0, e, st, gen, k, x;
	size_t i, n = 0, a, b;

	if (++s->gen == 0) {
		/* Wrapped after four billion scans: clear the stamps once. */
		memset(s->fstamp, 0, (s->nfactors + 1) * sizeof *s->fstamp);
		memset(s->pstamp, 0, (s->npats + 1) * sizeof *s->pstamp);
		s->gen = 1;
	}
	gen = s->gen;
	for (i = 0; i < len; i++) {
		e = delta[row + cls[text[i]]];
		row = e & ~OUT_BIT;
		if (!(e & OUT_BIT))
			continue;
		st = row / ncls;
		a = pf->out_off[st];
		b = pf->out_off[st + 1];
		for (; a < b; a++) {
			uint32_t f = pf->out[a];
			if (s->fstamp[f] == gen)
				continue;
			s->fstamp[f] = gen;
			for (k = 0; k < pf->factor_npats[f]; k++) {
				uint32_t p = pf->factor_pats[f][k];
				if (s->pstamp[p] != gen) {
					s->pstamp[p] = gen;
					s->pcount[p] = 0;
				}
				if (++s->pcount[p] == pf->need[p] && n < max)
					cands[n++] = p;
			}
		}
	}
	for (k = 0; k < pf->nalways && n < max; k++)
		cands[n++] = pf->always[k];
	/* Insertion sort: candidate lists are short. */
	for (i = 1; i < n; i++) {
		x = cands[i];
		for (a = i; a > 0 && cands[a - 1] > x; a--)
			cands[a] = cands[a - 1];
		cands[a] = x;
	}
	return n;
}
