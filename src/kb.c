/*
 * Loading and validating the knowledge base (see kb.h). Every file is read
 * completely and every error is reported with its position before the load
 * is refused; a KB is either entirely valid or not used at all.
 *
 * Patterns are stored rule by rule (triggers, then unless, then
 * unless_anywhere), then extractors, then carrier number shapes. The
 * classifier relies on that order to decide rules in one pass over its
 * sorted candidate list.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "parcelbot/kb.h"

#include <errno.h>
#include <limits.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kb_internal.h"
#include "parcelbot/buf.h"
#include "parcelbot/norm.h"
#include "parcelbot/prefilter.h"
#include "parcelbot/utf8.h"
#include "pb_build.h"

#define MAX_TERM_DEPTH 8

char *pb_kbl_strdup(pb_kbl *L, const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		L->oom = true;
	return d;
}

void pb_idx_push(pb_kbl *L, pb_idx_list *l, uint32_t v)
{
	uint32_t *nv = realloc(l->v, (l->n + 1) * sizeof *nv);

	if (!nv) {
		L->oom = true;
		return;
	}
	nv[l->n++] = v;
	l->v = nv;
}

void pb_str_list_release(pb_str_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

bool pb_kbl_id_ok(const char *id)
{
	const char *p = id;

	if (!(*p >= 'a' && *p <= 'z'))
		return false;
	for (; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return p - id <= 64;
}

const char *pb_kbl_file(pb_kbl *L, const char *name)
{
	pb_kb *kb = L->kb;
	char **nf;
	size_t i;

	for (i = 0; i < kb->n_files; i++)
		if (!strcmp(kb->files[i], name))
			return kb->files[i];
	nf = realloc(kb->files, (kb->n_files + 1) * sizeof *nf);
	if (!nf) {
		L->oom = true;
		return "?";
	}
	kb->files = nf;
	kb->files[kb->n_files] = pb_kbl_strdup(L, name);
	if (!kb->files[kb->n_files])
		return "?";
	return kb->files[kb->n_files++];
}

bool pb_kbl_open(pb_kbl *L, const char *name, bool required, pb_ydoc *doc)
{
	char path[PATH_MAX];
	struct stat st;
	pb_err err;

	snprintf(path, sizeof path, "%s/%s", L->dir, name);
	memset(doc, 0, sizeof *doc);
	if (stat(path, &st) != 0) {
		if (required)
			pb_diag_add(L->dg, path, 0, 0, "required file is missing");
		return false;
	}
	err = pb_ydoc_load(doc, path, PB_KB_MAX_FILE, L->dg);
	if (err) {
		if (err == PB_ENOMEM)
			L->oom = true;
		pb_ydoc_release(doc);
		return false;
	}
	if (!doc->root) {
		pb_diag_add(L->dg, path, 0, 0, "file is empty");
		pb_ydoc_release(doc);
		return false;
	}
	if (!pb_y_expect(L->dg, doc, doc->root, PB_Y_MAP, "the top level")) {
		pb_ydoc_release(doc);
		return false;
	}
	return true;
}

/* ---- terms ---- */

static bool expand_into(pb_kbl *L, const pb_ydoc *doc, const pb_ynode *n, const char *src,
			pb_buf *out, int depth)
{
	const char *p = src, *open, *close;
	char name[80];
	const pb_ynode *t;

	if (depth > MAX_TERM_DEPTH) {
		pb_diag_at(L->dg, doc, n, "terms nest deeper than %d levels (a term may refer to itself)",
			   MAX_TERM_DEPTH);
		return false;
	}
	while ((open = strstr(p, "{{")) != NULL) {
		close = strstr(open + 2, "}}");
		if (!close) {
			pb_diag_at(L->dg, doc, n, "'{{' without a closing '}}'");
			return false;
		}
		if (pb_buf_append(out, p, (size_t)(open - p)))
			goto oom;
		{
			const char *s = open + 2, *e = close;
			while (s < e && *s == ' ')
				s++;
			while (e > s && e[-1] == ' ')
				e--;
			if ((size_t)(e - s) >= sizeof name || e == s) {
				pb_diag_at(L->dg, doc, n, "bad term reference '%.*s'",
					   (int)(close + 2 - open), open);
				return false;
			}
			memcpy(name, s, (size_t)(e - s));
			name[e - s] = '\0';
		}
		t = L->terms ? pb_ymap_get(L->terms, name) : NULL;
		if (!t || t->kind != PB_Y_SCALAR) {
			pb_diag_at(L->dg, doc, n, "unknown term '{{%s}}' (define it in terms.yaml)", name);
			return false;
		}
		if (pb_buf_puts(out, "(?:"))
			goto oom;
		if (!expand_into(L, &L->terms_doc, t, t->str, out, depth + 1))
			return false;
		if (pb_buf_putc(out, ')'))
			goto oom;
		p = close + 2;
	}
	if (pb_buf_puts(out, p))
		goto oom;
	return true;
oom:
	pb_diag_at(L->dg, doc, n, "pattern is longer than %d bytes after expanding terms",
		   PB_KB_MAX_PATTERN);
	return false;
}

char *pb_kbl_expand(pb_kbl *L, const pb_ydoc *doc, const pb_ynode *n, const char *src)
{
	pb_buf b;

	pb_buf_init(&b, PB_KB_MAX_PATTERN);
	if (!expand_into(L, doc, n, src, &b, 0)) {
		pb_buf_release(&b);
		return NULL;
	}
	return pb_buf_detach(&b, NULL);
}

/* Column of byte off within a scalar written on one line without escapes,
 * or the scalar's own column when that cannot be known. */
static int column_at(const pb_ynode *n, const char *src, size_t off)
{
	if (strchr(src, '\n') || n->len != strlen(src) || strcmp(n->str, src) != 0)
		return n->col;
	return n->col + (n->plain ? 0 : 1) + (int)pb_utf8_len(src, off);
}

/* Patterns are matched against normalised text, so a character that
 * normalisation replaces can never match. */
static bool check_normal_form(pb_kbl *L, const pb_ydoc *doc, const pb_ynode *n, const char *src)
{
	const unsigned char *p = (const unsigned char *)src, *end = p + strlen(src), *s;
	const char *rep;
	uint32_t cp, to;

	while (p < end) {
		s = p;
		cp = pb_utf8_next(&p, end);
		if (cp < 0x80)
			continue;
		to = pb_norm_cp(L->kb->fold, cp, &rep);
		if (to != cp) {
			char want[8] = "";
			if (rep)
				snprintf(want, sizeof want, "%s", rep);
			else if (to)
				want[pb_utf8_put(to, want)] = '\0';
			pb_diag_add(L->dg, doc->file, n->line,
				    column_at(n, src, (size_t)(s - (const unsigned char *)src)),
				    "'%.*s' never appears in normalised text; write %s%s%s instead",
				    (int)(p - s), s, to || rep ? "'" : "nothing", want,
				    to || rep ? "'" : "");
			return false;
		}
	}
	return true;
}

static pcre2_code *compile(pb_kbl *L, const pb_ydoc *doc, const pb_ynode *n, const char *src,
			   const char *expanded, bool anchored)
{
	pcre2_code *code;
	int ec;
	PCRE2_SIZE off;
	char msg[256];
	pb_buf b;
	const char *re = expanded;

	pb_buf_init(&b, PB_KB_MAX_PATTERN + 16);
	if (anchored) {
		if (pb_buf_printf(&b, "^(?:%s)$", expanded)) {
			L->oom = true;
			return NULL;
		}
		re = b.data;
	}
	code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
			     PCRE2_UTF | PCRE2_CASELESS | PCRE2_NEVER_BACKSLASH_C, &ec, &off, NULL);
	if (!code) {
		pcre2_get_error_message(ec, (PCRE2_UCHAR *)msg, sizeof msg);
		if (!anchored && !strcmp(expanded, src))
			pb_diag_add(L->dg, doc->file, n->line, column_at(n, src, off),
				    "regex does not compile: %s (at offset %zu)", msg, (size_t)off);
		else
			pb_diag_at(L->dg, doc, n,
				   "regex does not compile: %s (at offset %zu of '%s' after expanding terms)",
				   msg, (size_t)off, re);
	}
	pb_buf_release(&b);
	return code;
}

/* Splits re at its top-level '|' (outside groups, classes and \Q..\E).
 * Returns the number of branches written to starts/lens (at most max), or 0
 * when there are more than max. */
static size_t split_top(const char *re, size_t *starts, size_t *lens, size_t max)
{
	size_t i = 0, n = 0, start = 0, len = strlen(re);
	int depth = 0;

	while (i < len) {
		char c = re[i];
		if (c == '\\') {
			if (re[i + 1] == 'Q') {
				const char *e = strstr(re + i + 2, "\\E");
				i = e ? (size_t)(e - re) + 2 : len;
			} else {
				i += 2;
			}
			continue;
		}
		if (c == '[') {
			/* A ']' right after '[' or '[^' is a literal. */
			i++;
			if (re[i] == '^')
				i++;
			if (re[i] == ']')
				i++;
			while (i < len && re[i] != ']') {
				if (re[i] == '\\')
					i++;
				else if (re[i] == '[' && re[i + 1] == ':') {
					const char *e = strstr(re + i + 2, ":]");
					if (e)
						i = (size_t)(e - re) + 1;
				}
				i++;
			}
			i++;
			continue;
		}
		if (c == '(')
			depth++;
		else if (c == ')')
			depth--;
		else if (c == '|' && depth == 0) {
			if (n == max)
				return 0;
			starts[n] = start;
			lens[n++] = i - start;
			start = i + 1;
		}
		i++;
	}
	if (n == max)
		return 0;
	starts[n] = start;
	lens[n++] = len - start;
	return n;
}

static long add_pattern(pb_kbl *L, const pb_ydoc *doc, const pb_ynode *re, const char *id,
			pb_pattern_role role, uint32_t owner, char *source, pcre2_code *code)
{
	pb_kb *kb = L->kb;
	pb_pattern *np, *p;

	if (kb->jit && pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) != 0)
		kb->jit = false;
	np = realloc(kb->patterns, (kb->n_patterns + 1) * sizeof *np);
	if (!np) {
		L->oom = true;
		pcre2_code_free(code);
		free(source);
		return -1;
	}
	kb->patterns = np;
	p = &kb->patterns[kb->n_patterns];
	memset(p, 0, sizeof *p);
	p->id = pb_kbl_strdup(L, id);
	p->source = source;
	p->code = (struct pcre2_real_code_8 *)code;
	p->role = role;
	p->owner = owner;
	p->file = pb_kbl_file(L, doc->file);
	p->line = re->line;
	p->col = re->col;
	p->g_value = pcre2_substring_number_from_name(code, (PCRE2_SPTR) "value");
	p->g_ordered = pcre2_substring_number_from_name(code, (PCRE2_SPTR) "ordered");
	p->g_received = pcre2_substring_number_from_name(code, (PCRE2_SPTR) "received");
	p->g_num = pcre2_substring_number_from_name(code, (PCRE2_SPTR) "num");
	p->g_unit = pcre2_substring_number_from_name(code, (PCRE2_SPTR) "unit");
	if (p->g_value < 0) p->g_value = 0;
	if (p->g_ordered < 0) p->g_ordered = 0;
	if (p->g_received < 0) p->g_received = 0;
	if (p->g_num < 0) p->g_num = 0;
	if (p->g_unit < 0) p->g_unit = 0;
	return (long)kb->n_patterns++;
}

#define MAX_BRANCHES 64

long pb_kbl_pattern(pb_kbl *L, const pb_ydoc *doc, const pb_ynode *re, const char *id,
		    pb_pattern_role role, uint32_t owner, pb_idx_list *out)
{
	pb_kb *kb = L->kb;
	char *expanded;
	pcre2_code *code;
	size_t i, nb = 0, starts[MAX_BRANCHES], lens[MAX_BRANCHES];
	long idx, count = 0;
	bool split = role == PB_PAT_TRIGGER || role == PB_PAT_UNLESS || role == PB_PAT_UNLESS_ANY;

	if (!pb_y_expect(L->dg, doc, re, PB_Y_SCALAR, "'match'"))
		return -1;
	if (!re->len) {
		pb_diag_at(L->dg, doc, re, "empty regex");
		return -1;
	}
	for (i = 0; i < kb->n_patterns; i++)
		if (!strcmp(kb->patterns[i].id, id)) {
			pb_diag_at(L->dg, doc, re, "duplicate pattern id '%s' (first at %s:%d)", id,
				   kb->patterns[i].file, kb->patterns[i].line);
			return -1;
		}
	expanded = pb_kbl_expand(L, doc, re, re->str);
	if (!expanded)
		return -1;
	if (!check_normal_form(L, doc, re, expanded)) {
		free(expanded);
		return -1;
	}
	/* The whole regex is compiled first so errors point into what the
	 * author wrote. */
	code = compile(L, doc, re, re->str, expanded, role == PB_PAT_SHAPE);
	if (!code) {
		free(expanded);
		return -1;
	}
	/* Rules only ask whether some branch of a trigger or veto matches, so
	 * top-level alternatives become patterns of their own: each gets its
	 * own prefilter literals and runs only when those occur, instead of
	 * every alternative being retried whenever any one's words appear. */
	if (split)
		nb = split_top(expanded, starts, lens, MAX_BRANCHES);
	if (nb > 1) {
		pcre2_code *bc[MAX_BRANCHES];
		char *bs[MAX_BRANCHES];
		int ec;
		PCRE2_SIZE off;
		size_t k, made = 0;
		bool ok = true;
		for (k = 0; k < nb && ok; k++) {
			bc[k] = NULL;
			bs[k] = lens[k] ? strndup(expanded + starts[k], lens[k]) : NULL;
			made = k + 1;
			if (!bs[k]) {
				/* An empty alternative matches everywhere; keep the
				 * regex whole and let it mean what it says. */
				if (lens[k])
					L->oom = true;
				ok = false;
				break;
			}
			bc[k] = pcre2_compile((PCRE2_SPTR)bs[k], PCRE2_ZERO_TERMINATED,
					      PCRE2_UTF | PCRE2_CASELESS | PCRE2_NEVER_BACKSLASH_C, &ec,
					      &off, NULL);
			/* A branch that cannot stand alone (a reference into
			 * another branch) also keeps the regex whole. */
			if (!bc[k])
				ok = false;
		}
		if (ok) {
			pcre2_code_free(code);
			free(expanded);
			for (k = 0; k < nb; k++) {
				idx = add_pattern(L, doc, re, id, role, owner, bs[k], bc[k]);
				if (idx < 0)
					return -1;
				pb_idx_push(L, out, (uint32_t)idx);
				count++;
			}
			return count;
		}
		for (k = 0; k < made; k++) {
			pcre2_code_free(bc[k]);
			free(bs[k]);
		}
	}
	idx = add_pattern(L, doc, re, id, role, owner, expanded, code);
	if (idx < 0)
		return -1;
	pb_idx_push(L, out, (uint32_t)idx);
	return 1;
}

bool pb_kbl_strings(pb_kbl *L, const pb_ydoc *doc, const pb_ynode *map, const char *key,
		    bool required, size_t min, pb_str_list *out)
{
	const pb_ynode *v = pb_ymap_get(map, key);
	size_t i;
	bool ok = true;

	memset(out, 0, sizeof *out);
	if (!v) {
		if (required) {
			pb_diag_at(L->dg, doc, map, "missing required key '%s'", key);
			return false;
		}
		return true;
	}
	if (v->kind == PB_Y_SCALAR && !v->len && v->plain && !min)
		return true; /* `key:` with nothing after it */
	if (!pb_y_expect(L->dg, doc, v, PB_Y_SEQ, key))
		return false;
	if (v->n < min) {
		pb_diag_at(L->dg, doc, v, "'%s' needs at least %zu entries", key, min);
		ok = false;
	}
	out->v = calloc(v->n ? v->n : 1, sizeof *out->v);
	if (!out->v) {
		L->oom = true;
		return false;
	}
	for (i = 0; i < v->n; i++) {
		if (v->items[i]->kind != PB_Y_SCALAR || !v->items[i]->len) {
			pb_diag_at(L->dg, doc, v->items[i], "entries of '%s' must be non-empty text", key);
			ok = false;
			continue;
		}
		out->v[out->n++] = pb_kbl_strdup(L, v->items[i]->str);
	}
	return ok;
}

/* ---- normalize.yaml ---- */

static void load_fold(pb_kbl *L)
{
	static const char *const top[] = {"fold", NULL};
	pb_ydoc doc;
	const pb_ynode *m;
	size_t i;

	if (!pb_kbl_open(L, "normalize.yaml", false, &doc))
		return;
	pb_y_keys(L->dg, &doc, doc.root, top);
	m = pb_ymap_get(doc.root, "fold");
	if (m && pb_y_expect(L->dg, &doc, m, PB_Y_MAP, "'fold'")) {
		pb_y_keys(L->dg, &doc, m, NULL);
		L->kb->fold = calloc(256, sizeof *L->kb->fold);
		if (!L->kb->fold) {
			L->oom = true;
			goto out;
		}
		for (i = 0; i < m->n; i++) {
			const pb_ynode *k = pb_ymap_key(m, i), *v = pb_ymap_val(m, i);
			const unsigned char *kp, *vp;
			uint32_t from, to;
			if (v->kind != PB_Y_SCALAR || pb_utf8_len(k->str, k->len) != 1 ||
			    pb_utf8_len(v->str, v->len) != 1) {
				pb_diag_at(L->dg, &doc, k, "fold entries map one character to one character");
				continue;
			}
			kp = (const unsigned char *)k->str;
			vp = (const unsigned char *)v->str;
			from = pb_utf8_next(&kp, kp + k->len);
			to = pb_utf8_next(&vp, vp + v->len);
			if (from < 0x80 || from >= 0x10000 || to < 0x80) {
				pb_diag_at(L->dg, &doc, k,
					   "fold entries must be non-ASCII characters of the basic plane");
				continue;
			}
			if (!L->kb->fold[from >> 8]) {
				L->kb->fold[from >> 8] = calloc(256, sizeof(uint32_t));
				if (!L->kb->fold[from >> 8]) {
					L->oom = true;
					goto out;
				}
			}
			if (L->kb->fold[from >> 8][from & 0xFF] &&
			    L->kb->fold[from >> 8][from & 0xFF] != to)
				pb_diag_at(L->dg, &doc, k, "'%s' is folded twice", k->str);
			L->kb->fold[from >> 8][from & 0xFF] = to;
		}
		/* A chain (a -> b, b -> c) would make folding order-dependent. */
		for (i = 0; i < m->n; i++) {
			const pb_ynode *k = pb_ymap_key(m, i), *v = pb_ymap_val(m, i);
			const unsigned char *vp = (const unsigned char *)v->str;
			uint32_t to;
			if (v->kind != PB_Y_SCALAR || !v->len)
				continue;
			to = pb_utf8_next(&vp, vp + v->len);
			if (to < 0x10000 && L->kb->fold[to >> 8] && L->kb->fold[to >> 8][to & 0xFF])
				pb_diag_at(L->dg, &doc, k,
					   "'%s' folds to '%s', which is itself folded; fold it directly",
					   k->str, v->str);
		}
	}
out:
	pb_ydoc_release(&doc);
}

/* ---- terms.yaml ---- */

static void load_terms(pb_kbl *L)
{
	static const char *const top[] = {"terms", NULL};
	const pb_ynode *m;

	if (!pb_kbl_open(L, "terms.yaml", false, &L->terms_doc))
		return;
	pb_y_keys(L->dg, &L->terms_doc, L->terms_doc.root, top);
	m = pb_ymap_get(L->terms_doc.root, "terms");
	if (!m || !pb_y_expect(L->dg, &L->terms_doc, m, PB_Y_MAP, "'terms'"))
		return;
	L->terms = m; /* names and values are checked by check_terms */
}

static void check_terms(pb_kbl *L)
{
	const pb_ynode *m = L->terms;
	size_t i, j;

	if (!m)
		return;
	for (i = 0; i < m->n; i++) {
		const pb_ynode *k = pb_ymap_key(m, i), *v = pb_ymap_val(m, i);
		char *ex;
		pcre2_code *code;
		if (!pb_kbl_id_ok(k->str))
			pb_diag_at(L->dg, &L->terms_doc, k,
				   "term names use lower-case letters, digits and '_'");
		for (j = 0; j < i; j++)
			if (!strcmp(pb_ymap_key(m, j)->str, k->str))
				pb_diag_at(L->dg, &L->terms_doc, k, "duplicate term '%s'", k->str);
		if (!pb_y_expect(L->dg, &L->terms_doc, v, PB_Y_SCALAR, "a term"))
			continue;
		ex = pb_kbl_expand(L, &L->terms_doc, v, v->str);
		if (!ex)
			continue;
		if (check_normal_form(L, &L->terms_doc, v, ex)) {
			code = compile(L, &L->terms_doc, v, v->str, ex, false);
			pcre2_code_free(code);
		}
		free(ex);
	}
}

/* ---- intents.yaml and signals.yaml ---- */

static void load_pattern_list(pb_kbl *L, const pb_ydoc *doc, const pb_ynode *rmap, const char *key,
			      const char *rid, pb_pattern_role role, uint32_t owner,
			      pb_idx_list *out, bool required)
{
	static const char *const pkeys[] = {"id", "match", NULL};
	const pb_ynode *list = pb_ymap_get(rmap, key);
	size_t i;

	if (!list) {
		if (required)
			pb_diag_at(L->dg, doc, rmap, "missing required key '%s'", key);
		return;
	}
	if (!pb_y_expect(L->dg, doc, list, PB_Y_SEQ, key))
		return;
	if (required && !list->n)
		pb_diag_at(L->dg, doc, list, "'%s' needs at least one pattern", key);
	for (i = 0; i < list->n; i++) {
		const pb_ynode *it = list->items[i];
		const char *pid, *re;
		char full[160];
		if (!pb_y_expect(L->dg, doc, it, PB_Y_MAP, "a pattern"))
			continue;
		pb_y_keys(L->dg, doc, it, pkeys);
		pid = pb_y_str(L->dg, doc, it, "id", true);
		re = pb_y_str(L->dg, doc, it, "match", true);
		if (!pid || !re)
			continue;
		if (!pb_kbl_id_ok(pid)) {
			pb_diag_at(L->dg, doc, pb_ymap_get(it, "id"),
				   "pattern id '%s' must use lower-case letters, digits and '_'", pid);
			continue;
		}
		snprintf(full, sizeof full, "%s.%s", rid, pid);
		pb_kbl_pattern(L, doc, pb_ymap_get(it, "match"), full, role, owner, out);
	}
}

static void load_rules(pb_kbl *L, const char *file, const char *topkey, pb_rule_kind kind,
		       pb_ydoc *doc, bool *have)
{
	static const char *const rkeys[] = {"id", "description", "problem", "patterns", "unless",
					    "unless_anywhere", "suppresses", "examples",
					    "not_examples", NULL};
	const char *const top[] = {topkey, NULL};
	const pb_ynode *list;
	pb_kb *kb = L->kb;
	size_t i, j;

	*have = pb_kbl_open(L, file, true, doc);
	if (!*have)
		return;
	pb_y_keys(L->dg, doc, doc->root, top);
	list = pb_ymap_get(doc->root, topkey);
	if (!list) {
		pb_diag_at(L->dg, doc, doc->root, "missing required key '%s'", topkey);
		return;
	}
	if (!pb_y_expect(L->dg, doc, list, PB_Y_SEQ, topkey))
		return;
	for (i = 0; i < list->n; i++) {
		const pb_ynode *rm = list->items[i];
		const char *id, *desc;
		pb_rule *r, *nr;
		uint32_t ri;
		bool problem = false;

		if (!pb_y_expect(L->dg, doc, rm, PB_Y_MAP, "an entry"))
			continue;
		pb_y_keys(L->dg, doc, rm, rkeys);
		id = pb_y_str(L->dg, doc, rm, "id", true);
		desc = pb_y_str(L->dg, doc, rm, "description", true);
		if (!id)
			continue;
		if (!pb_kbl_id_ok(id)) {
			pb_diag_at(L->dg, doc, pb_ymap_get(rm, "id"),
				   "id '%s' must use lower-case letters, digits and '_'", id);
			continue;
		}
		for (j = 0; j < kb->n_rules; j++)
			if (!strcmp(kb->rules[j].id, id)) {
				pb_diag_at(L->dg, doc, pb_ymap_get(rm, "id"),
					   "duplicate id '%s' (first at %s:%d)", id, kb->rules[j].file,
					   kb->rules[j].line);
				break;
			}
		if (j < kb->n_rules)
			continue;
		if (kb->n_rules >= 64) {
			pb_diag_at(L->dg, doc, rm, "at most 64 intents and signals in all");
			continue;
		}
		pb_y_bool(L->dg, doc, rm, "problem", false, &problem);
		if (kind == PB_RULE_SIGNAL && pb_ymap_get(rm, "problem"))
			pb_diag_at(L->dg, doc, pb_ymap_get(rm, "problem"),
				   "'problem' applies to intents only");
		if (kind == PB_RULE_SIGNAL && pb_ymap_get(rm, "suppresses"))
			pb_diag_at(L->dg, doc, pb_ymap_get(rm, "suppresses"),
				   "'suppresses' applies to intents only");
		nr = realloc(kb->rules, (kb->n_rules + 1) * sizeof *nr);
		if (!nr) {
			L->oom = true;
			return;
		}
		kb->rules = nr;
		ri = (uint32_t)kb->n_rules++;
		r = &kb->rules[ri];
		memset(r, 0, sizeof *r);
		r->id = pb_kbl_strdup(L, id);
		r->description = pb_kbl_strdup(L, desc);
		r->kind = kind;
		r->problem = problem;
		r->file = pb_kbl_file(L, doc->file);
		r->line = rm->line;
		r->col = rm->col;
		load_pattern_list(L, doc, rm, "patterns", id, PB_PAT_TRIGGER, ri, &r->triggers, true);
		r = &kb->rules[ri];
		load_pattern_list(L, doc, rm, "unless", id, PB_PAT_UNLESS, ri, &r->unless, false);
		load_pattern_list(L, doc, rm, "unless_anywhere", id, PB_PAT_UNLESS_ANY, ri,
				  &r->unless_any, false);
		pb_kbl_strings(L, doc, rm, "examples", true, 2, &r->examples);
		pb_kbl_strings(L, doc, rm, "not_examples", false, 0, &r->not_examples);
	}
}

static void resolve_suppress(pb_kbl *L, const pb_ydoc *doc)
{
	pb_kb *kb = L->kb;
	const pb_ynode *list = pb_ymap_get(doc->root, "intents");
	size_t i, j, k;

	if (!list || list->kind != PB_Y_SEQ)
		return;
	for (i = 0; i < list->n; i++) {
		const pb_ynode *rm = list->items[i], *s;
		const char *id;
		int ri;
		if (rm->kind != PB_Y_MAP)
			continue;
		id = pb_y_str(NULL, doc, rm, "id", false);
		s = pb_ymap_get(rm, "suppresses");
		if (!id || !s)
			continue;
		ri = pb_kb_rule_index(kb, id);
		if (ri < 0 || (size_t)ri >= kb->n_intents)
			continue;
		if (!pb_y_expect(L->dg, doc, s, PB_Y_SEQ, "'suppresses'"))
			continue;
		for (j = 0; j < s->n; j++) {
			int t = s->items[j]->kind == PB_Y_SCALAR
					? pb_kb_rule_index(kb, s->items[j]->str)
					: -1;
			if (t < 0 || (size_t)t >= kb->n_intents) {
				pb_diag_at(L->dg, doc, s->items[j], "'%s' is not an intent",
					   s->items[j]->kind == PB_Y_SCALAR ? s->items[j]->str : "?");
				continue;
			}
			if (t == ri) {
				pb_diag_at(L->dg, doc, s->items[j], "an intent cannot suppress itself");
				continue;
			}
			kb->rules[ri].suppresses |= (uint64_t)1 << t;
		}
	}
	/* Mutual suppression would drop both intents whenever both fire. */
	for (j = 0; j < kb->n_intents; j++)
		for (k = j + 1; k < kb->n_intents; k++)
			if (((kb->rules[j].suppresses >> k) & 1) && ((kb->rules[k].suppresses >> j) & 1))
				pb_diag_add(L->dg, kb->rules[j].file, kb->rules[j].line,
					    kb->rules[j].col, "'%s' and '%s' suppress each other",
					    kb->rules[j].id, kb->rules[k].id);
}

/* ---- entities.yaml ---- */

static void load_entities(pb_kbl *L)
{
	static const char *const top[] = {"units", "extractors", "short_count_intent", NULL};
	static const char *const ukeys[] = {"words", "hours", NULL};
	static const char *const xkeys[] = {"id", "kind", "match", NULL};
	static const char *const kinds[] = {"order_id", "quantity", "duration", "tracking"};
	pb_kb *kb = L->kb;
	pb_ydoc doc;
	const pb_ynode *units, *xs;
	size_t i, j, k;

	if (!pb_kbl_open(L, "entities.yaml", true, &doc))
		return;
	pb_y_keys(L->dg, &doc, doc.root, top);
	{
		const char *sc = pb_y_str(L->dg, &doc, doc.root, "short_count_intent", false);
		int ri = sc ? pb_kb_rule_index(kb, sc) : -1;
		if (sc && (ri < 0 || (size_t)ri >= kb->n_intents))
			pb_diag_at(L->dg, &doc, pb_ymap_get(doc.root, "short_count_intent"),
				   "'%s' is not an intent", sc);
		kb->short_count_intent = sc ? ri : -1;
	}
	units = pb_ymap_get(doc.root, "units");
	if (units && pb_y_expect(L->dg, &doc, units, PB_Y_SEQ, "'units'")) {
		for (i = 0; i < units->n; i++) {
			const pb_ynode *u = units->items[i];
			pb_str_list words;
			double hours = 0;
			if (!pb_y_expect(L->dg, &doc, u, PB_Y_MAP, "a unit"))
				continue;
			pb_y_keys(L->dg, &doc, u, ukeys);
			if (!pb_y_num(L->dg, &doc, u, "hours", true, &hours))
				continue;
			if (hours <= 0) {
				pb_diag_at(L->dg, &doc, pb_ymap_get(u, "hours"), "hours must be positive");
				continue;
			}
			if (!pb_kbl_strings(L, &doc, u, "words", true, 1, &words)) {
				pb_str_list_release(&words);
				continue;
			}
			for (j = 0; j < words.n; j++) {
				pb_unit *nu;
				for (k = 0; k < kb->n_units; k++)
					if (!strcmp(kb->units[k].word, words.v[j]))
						pb_diag_at(L->dg, &doc, u, "unit word '%s' is listed twice",
							   words.v[j]);
				if (!check_normal_form(L, &doc, pb_ymap_get(u, "words"), words.v[j]))
					continue;
				nu = realloc(kb->units, (kb->n_units + 1) * sizeof *nu);
				if (!nu) {
					L->oom = true;
					break;
				}
				kb->units = nu;
				kb->units[kb->n_units].word = words.v[j];
				words.v[j] = NULL;
				kb->units[kb->n_units].hours = hours;
				kb->n_units++;
			}
			pb_str_list_release(&words);
		}
	}
	xs = pb_ymap_get(doc.root, "extractors");
	if (xs && pb_y_expect(L->dg, &doc, xs, PB_Y_SEQ, "'extractors'")) {
		for (i = 0; i < xs->n; i++) {
			const pb_ynode *x = xs->items[i];
			const char *id, *kind;
			char full[160];
			int kd = -1;
			if (!pb_y_expect(L->dg, &doc, x, PB_Y_MAP, "an extractor"))
				continue;
			pb_y_keys(L->dg, &doc, x, xkeys);
			id = pb_y_str(L->dg, &doc, x, "id", true);
			kind = pb_y_str(L->dg, &doc, x, "kind", true);
			if (!pb_y_str(L->dg, &doc, x, "match", true) || !id || !kind)
				continue;
			for (k = 0; k < 4; k++)
				if (!strcmp(kind, kinds[k]))
					kd = (int)k;
			if (kd < 0) {
				pb_diag_at(L->dg, &doc, pb_ymap_get(x, "kind"),
					   "kind must be order_id, quantity, duration or tracking");
				continue;
			}
			if (!pb_kbl_id_ok(id)) {
				pb_diag_at(L->dg, &doc, pb_ymap_get(x, "id"),
					   "extractor id '%s' must use lower-case letters, digits and '_'",
					   id);
				continue;
			}
			snprintf(full, sizeof full, "entity.%s", id);
			if (pb_kbl_pattern(L, &doc, pb_ymap_get(x, "match"), full, PB_PAT_EXTRACT,
					   (uint32_t)kd, &kb->extractors) < 0)
				continue;
			{
				const pb_pattern *p = &kb->patterns[kb->n_patterns - 1];
				const char *need = NULL;
				if ((kd == PB_ENT_ORDER_ID || kd == PB_ENT_TRACKING) && !p->g_value)
					need = "a (?<value>...) group";
				else if (kd == PB_ENT_QUANTITY && !p->g_ordered && !p->g_received)
					need = "an (?<ordered>...) or (?<received>...) group";
				else if (kd == PB_ENT_DURATION && !p->g_unit)
					need = "a (?<unit>...) group";
				if (need)
					pb_diag_at(L->dg, &doc, pb_ymap_get(x, "match"), "a %s extractor needs %s",
						   kind, need);
			}
		}
	}
	pb_ydoc_release(&doc);
}

/* ---- carriers.yaml ---- */

static void load_carriers(pb_kbl *L)
{
	static const char *const top[] = {"carriers", NULL};
	static const char *const ckeys[] = {"id", "names", "region", "numbers", "aliases",
					    "kuaidi100", "17track", "phone_required", NULL};
	static const char *const nkeys[] = {"zh", "en", NULL};
	pb_kb *kb = L->kb;
	pb_ydoc doc;
	const pb_ynode *list;
	size_t i, j;

	if (!pb_kbl_open(L, "carriers.yaml", true, &doc))
		return;
	pb_y_keys(L->dg, &doc, doc.root, top);
	list = pb_ymap_get(doc.root, "carriers");
	if (!list) {
		pb_diag_at(L->dg, &doc, doc.root, "missing required key 'carriers'");
		goto out;
	}
	if (!pb_y_expect(L->dg, &doc, list, PB_Y_SEQ, "'carriers'"))
		goto out;
	kb->carriers = calloc(list->n ? list->n : 1, sizeof *kb->carriers);
	if (!kb->carriers) {
		L->oom = true;
		goto out;
	}
	for (i = 0; i < list->n; i++) {
		const pb_ynode *cm = list->items[i], *names, *nums, *n17;
		const char *id, *region;
		pb_carrier *c;
		uint32_t ci;
		double t17 = 0;
		if (!pb_y_expect(L->dg, &doc, cm, PB_Y_MAP, "a carrier"))
			continue;
		pb_y_keys(L->dg, &doc, cm, ckeys);
		id = pb_y_str(L->dg, &doc, cm, "id", true);
		if (!id)
			continue;
		if (!pb_kbl_id_ok(id)) {
			pb_diag_at(L->dg, &doc, pb_ymap_get(cm, "id"),
				   "carrier id '%s' must use lower-case letters, digits and '_'", id);
			continue;
		}
		for (j = 0; j < kb->n_carriers; j++)
			/* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): the first n_carriers have an id */
			if (!strcmp(kb->carriers[j].id, id))
				break;
		if (j < kb->n_carriers) {
			pb_diag_at(L->dg, &doc, pb_ymap_get(cm, "id"), "duplicate carrier '%s'", id);
			continue;
		}
		ci = (uint32_t)kb->n_carriers++;
		c = &kb->carriers[ci];
		c->id = pb_kbl_strdup(L, id);
		c->file = pb_kbl_file(L, doc.file);
		c->line = cm->line;
		c->col = cm->col;
		names = pb_ymap_get(cm, "names");
		if (!names)
			pb_diag_at(L->dg, &doc, cm, "missing required key 'names'");
		else if (pb_y_expect(L->dg, &doc, names, PB_Y_MAP, "'names'")) {
			const char *zh, *en;
			pb_y_keys(L->dg, &doc, names, nkeys);
			zh = pb_y_str(L->dg, &doc, names, "zh", true);
			en = pb_y_str(L->dg, &doc, names, "en", true);
			c->name_zh = pb_kbl_strdup(L, zh);
			c->name_en = pb_kbl_strdup(L, en);
		}
		region = pb_y_str(L->dg, &doc, cm, "region", true);
		if (region && strcmp(region, "cn") && strcmp(region, "sea") && strcmp(region, "intl"))
			pb_diag_at(L->dg, &doc, pb_ymap_get(cm, "region"),
				   "region must be cn, sea or intl");
		c->region = pb_kbl_strdup(L, region);
		c->kuaidi100 = pb_y_str(L->dg, &doc, cm, "kuaidi100", false)
				       ? pb_kbl_strdup(L, pb_y_str(NULL, &doc, cm, "kuaidi100", false))
				       : NULL;
		n17 = pb_ymap_get(cm, "17track");
		if (n17 && pb_y_node_num(L->dg, &doc, n17, &t17)) {
			if (t17 < 1 || t17 > 1e9 || t17 != (double)(long)t17)
				pb_diag_at(L->dg, &doc, n17, "17track must be the carrier's numeric key");
			else
				c->t17 = (long)t17;
		}
		pb_y_bool(L->dg, &doc, cm, "phone_required", false, &c->phone_required);
		pb_kbl_strings(L, &doc, cm, "aliases", false, 0, &c->aliases);
		nums = pb_ymap_get(cm, "numbers");
		if (nums && pb_y_expect(L->dg, &doc, nums, PB_Y_SEQ, "'numbers'")) {
			for (j = 0; j < nums->n; j++) {
				char full[160];
				snprintf(full, sizeof full, "carrier.%s.%zu", id, j + 1);
				pb_kbl_pattern(L, &doc, nums->items[j], full, PB_PAT_SHAPE, ci,
					       &kb->carriers[ci].shapes);
			}
		}
	}
out:
	pb_ydoc_release(&doc);
}

/* ---- the whole KB ---- */

static void rule_release(pb_rule *r)
{
	free(r->id);
	free(r->description);
	free(r->triggers.v);
	free(r->unless.v);
	free(r->unless_any.v);
	pb_str_list_release(&r->examples);
	pb_str_list_release(&r->not_examples);
}

static void kb_free(pb_kb *kb)
{
	size_t i;

	if (!kb)
		return;
	for (i = 0; i < kb->n_rules; i++)
		rule_release(&kb->rules[i]);
	free(kb->rules);
	for (i = 0; i < kb->n_patterns; i++) {
		free(kb->patterns[i].id);
		free(kb->patterns[i].source);
		pcre2_code_free((pcre2_code *)kb->patterns[i].code);
	}
	free(kb->patterns);
	free(kb->extractors.v);
	for (i = 0; i < kb->n_carriers; i++) {
		pb_carrier *c = &kb->carriers[i];
		free(c->id);
		free(c->name_zh);
		free(c->name_en);
		free(c->region);
		free(c->kuaidi100);
		free(c->shapes.v);
		pb_str_list_release(&c->aliases);
	}
	free(kb->carriers);
	for (i = 0; i < kb->n_units; i++)
		free(kb->units[i].word);
	free(kb->units);
	if (kb->fold)
		for (i = 0; i < 256; i++)
			free(kb->fold[i]);
	free(kb->fold);
	pb_prefilter_free(kb->pf);
	pb_policy_free(kb->policy);
	pb_replies_free(kb->replies);
	pb_phrases_free(kb->phrases);
	for (i = 0; i < kb->n_files; i++)
		free(kb->files[i]);
	free(kb->files);
	free(kb->dir);
	free(kb);
}

pb_err pb_kb_load(const char *dir, pb_kb **out, pb_diag *dg)
{
	pb_kbl L;
	pb_kb *kb;
	pb_ydoc idoc, sdoc;
	bool have_i = false, have_s = false;
	size_t i, start = pb_diag_count(dg);
	struct stat st;

	memset(&L, 0, sizeof L);
	memset(&idoc, 0, sizeof idoc);
	memset(&sdoc, 0, sizeof sdoc);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		pb_diag_add(dg, dir, 0, 0, "knowledge base directory not found");
		return PB_EKB;
	}
	kb = calloc(1, sizeof *kb);
	if (!kb)
		return PB_ENOMEM;
	kb->dir = strdup(dir);
	kb->short_count_intent = -1;
	kb->jit = true;
	kb->refs = 1;
	L.kb = kb;
	L.dg = dg;
	L.dir = dir;
	if (!kb->dir)
		L.oom = true;

	load_fold(&L);
	load_terms(&L);
	load_rules(&L, "intents.yaml", "intents", PB_RULE_INTENT, &idoc, &have_i);
	kb->n_intents = kb->n_rules;
	load_rules(&L, "signals.yaml", "signals", PB_RULE_SIGNAL, &sdoc, &have_s);
	if (have_i)
		resolve_suppress(&L, &idoc);
	if (have_i && !kb->n_intents)
		pb_diag_add(dg, idoc.file, 0, 0, "no intents defined");
	load_entities(&L);
	load_carriers(&L);
	check_terms(&L);
	pb_kbl_load_policy(&L);
	pb_kbl_load_tracking(&L);
	/* Phrases first: templates are linted as they load. */
	pb_kbl_load_phrases(&L);
	pb_kbl_load_replies(&L);

	kb->pf = pb_prefilter_new();
	if (!kb->pf)
		L.oom = true;
	for (i = 0; kb->pf && i < kb->n_patterns; i++) {
		const pb_pattern *p = &kb->patterns[i];
		int nf;
		/* Shapes are matched against single tokens, never scanned for. */
		if (p->role == PB_PAT_SHAPE)
			nf = pb_prefilter_add(kb->pf, (uint32_t)i, NULL, 0);
		else
			nf = pb_prefilter_add(kb->pf, (uint32_t)i, p->source, strlen(p->source));
		if (nf < 0)
			L.oom = true;
		else
			kb->patterns[i].n_factors = nf;
	}
	if (kb->pf && !L.oom && pb_prefilter_build(kb->pf))
		L.oom = true;

	pb_ydoc_release(&idoc);
	pb_ydoc_release(&sdoc);
	pb_ydoc_release(&L.terms_doc);
	if (L.oom) {
		pb_diag_add(dg, dir, 0, 0, "out of memory while loading the knowledge base");
		kb_free(kb);
		return PB_ENOMEM;
	}
	if (pb_diag_count(dg) > start) {
		kb_free(kb);
		return PB_EKB;
	}
	*out = kb;
	return PB_OK;
}

pb_kb *pb_kb_ref(pb_kb *kb)
{
	__atomic_add_fetch(&kb->refs, 1, __ATOMIC_RELAXED);
	return kb;
}

void pb_kb_unref(pb_kb *kb)
{
	if (kb && __atomic_sub_fetch(&kb->refs, 1, __ATOMIC_ACQ_REL) == 0)
		kb_free(kb);
}

int pb_kb_rule_index(const pb_kb *kb, const char *id)
{
	size_t i;

	for (i = 0; i < kb->n_rules; i++)
		if (!strcmp(kb->rules[i].id, id))
			return (int)i;
	return -1;
}

const pb_rule *pb_kb_rule(const pb_kb *kb, const char *id)
{
	int i = pb_kb_rule_index(kb, id);

	return i < 0 ? NULL : &kb->rules[i];
}

const pb_carrier *pb_kb_carrier(const pb_kb *kb, const char *id)
{
	size_t i;

	for (i = 0; i < kb->n_carriers; i++)
		if (!strcmp(kb->carriers[i].id, id))
			return &kb->carriers[i];
	return NULL;
}

static bool is_kb_dir(const char *d)
{
	char p[PATH_MAX];
	struct stat st;

	snprintf(p, sizeof p, "%s/intents.yaml", d);
	return stat(p, &st) == 0;
}

const char *pb_kb_locate(const char *explicit_dir, char *buf, size_t bufsz)
{
	const char *env = getenv("PARCELBOT_KB");
	char exe[PATH_MAX];
	ssize_t n;

	if (explicit_dir && *explicit_dir)
		return explicit_dir;
	if (env && *env)
		return env;
	if (is_kb_dir("kb"))
		return "kb";
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		char *slash;
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(buf, bufsz, "%s/kb", exe);
			if (is_kb_dir(buf))
				return buf;
			/* build/parcelbot in a source tree: the kb is one level up. */
			snprintf(buf, bufsz, "%s/../kb", exe);
			if (is_kb_dir(buf))
				return buf;
		}
	}
	return PB_KB_INSTALL_DIR;
}
