/*
 * Loading kb/replies/ (one YAML file per intent) and kb/phrases.yaml (see replies.h). Besides the
 * usual schema checks, the loader proves three things about the templates:
 * every variable they use exists, every intent has a catch-all template that
 * can always be rendered, and every variant, rendered with sample values,
 * passes the reply lint. A template that would draft a bad reply never loads.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "parcelbot/replies.h"

#include <dirent.h>
#include <limits.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kb_internal.h"
#include "parcelbot/template.h"

/* Reply variables first, then those only the case brief may use. */
const char *const pb_template_vars[] = {
	"order_id", "item", "carrier", "tracking_number", "last_time", "last_location",
	"last_text", "state", "hours_since_update", "days_since_update", "days_at_node",
	"pickup_place", "follow_up", "coupon", "coupon_days", "refund_amount", "order_amount",
	"upgrade_carrier", "qty_ordered", "qty_received", "qty_missing", "duration",
	/* brief only */
	"message", "intents", "signals", "anomalies", "reasons", "offer", "severity",
	"trace_summary", "order", NULL,
};
#define N_REPLY_VARS 22

/* Values for rendering templates at load time, to lint them. */
static const char *const sample_en[] = {
	"A1001", "mug", "ZTO Express", "75312345678901", "17 Nov 08:00", "Kuala Lumpur Hub",
	"Parcel arrived at sorting centre", "in transit", "74", "3", "3", "parcel locker",
	"by 18:00 tomorrow", "RM5", "30", "RM12.00", "RM40.00", "an express courier", "3", "1",
	"2", "3 days", "where is it", "stuck_parcel", "", "no_update", "anomaly no_update",
	"coupon RM5", "2", "ZTO 75312345678901: 17 Nov 08:00 Kuala Lumpur Hub", "A1001 (RM40)",
};
static const char *const sample_zh[] = {
	"A1001", "腰果", "中通快递", "75312345678901", "11月17日08:00", "杭州转运中心",
	"快件已到达杭州转运中心", "运输中", "74", "3", "3", "驿站", "明天18:00前", "10元",
	"30", "26.70元", "89.00元", "顺丰", "3", "1", "2", "3天", "到哪了", "stuck_parcel", "",
	"no_update", "anomaly no_update", "coupon 10元", "2", "中通快递 75312345678901: 11月17日08:00 杭州转运中心",
	"A1001 (89元)",
};

static void texts_free(pb_texts *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

void pb_replies_free(pb_replies *r)
{
	size_t i, j, k, l;

	if (!r)
		return;
	for (i = 0; i < r->n; i++) {
		free(r->t[i].id);
		for (l = 0; l < PB_NLANG; l++) {
			for (j = 0; j < r->t[i].n[l]; j++)
				for (k = 0; k < PB_PART_COUNT_; k++)
					free(r->t[i].v[l][j].part[k]);
			free(r->t[i].v[l]);
		}
	}
	free(r->t);
	for (i = 0; i < r->n_offer; i++)
		for (l = 0; l < PB_NLANG; l++)
			texts_free(&r->offer[i].text[l]);
	free(r->offer);
	for (l = 0; l < PB_NLANG; l++) {
		texts_free(&r->coupon[l]);
		texts_free(&r->apology[l]);
		texts_free(&r->peak[l]);
		texts_free(&r->stale[l]);
		texts_free(&r->untraced[l]);
		texts_free(&r->brief[l]);
		for (i = 0; i < PB_ST_COUNT_; i++)
			free(r->state_name[i][l]);
		for (i = 0; i < PB_PLACE_COUNT_; i++)
			free(r->place_name[i][l]);
		free(r->upgrade_carrier[l]);
	}
	for (i = 0; i < r->n_check; i++)
		for (l = 0; l < PB_NLANG; l++)
			free(r->check[i].text[l]);
	free(r->check);
	free(r);
}

void pb_phrases_free(pb_phrases *p)
{
	size_t i, l;

	if (!p)
		return;
	pcre2_code_free(p->apology);
	pcre2_code_free(p->question);
	pcre2_code_free(p->blame);
	pcre2_code_free(p->brush_off);
	pcre2_code_free(p->vague);
	pcre2_code_free(p->commitment);
	pcre2_code_free(p->in_transit);
	pcre2_code_free(p->delivered);
	pcre2_code_free(p->hub);
	for (i = 0; i < PB_LINT_COUNT_; i++)
		for (l = 0; l < PB_NLANG; l++)
			free(p->explain[i][l]);
	free(p);
}

/* ---- variables ---- */

typedef struct var_check {
	pb_kbl *L;
	const pb_ydoc *doc;
	const pb_ynode *n;
	bool ok;
	bool brief; /* the brief may also use the brief-only variables */
} var_check;

static bool check_var(const char *name, size_t len, void *ctx)
{
	var_check *vc = ctx;
	size_t i;

	for (i = 0; pb_template_vars[i]; i++)
		if (strlen(pb_template_vars[i]) == len && !memcmp(pb_template_vars[i], name, len)) {
			if (i >= N_REPLY_VARS && !vc->brief) {
				pb_diag_at(vc->L->dg, vc->doc, vc->n,
					   "'{{%.*s}}' is for the case brief only, never for a reply "
					   "the buyer reads",
					   (int)len, name);
				vc->ok = false;
			}
			return true;
		}
	pb_diag_at(vc->L->dg, vc->doc, vc->n, "undefined variable '{{%.*s}}' (see docs/knowledge-base.md)",
		   (int)len, name);
	vc->ok = false;
	return true;
}

static bool only_follow_up(const char *name, size_t len, void *ctx)
{
	(void)ctx;
	return len == 9 && !memcmp(name, "follow_up", 9);
}

/* A text node: checked for undefined variables, then copied. */
static char *text_at(pb_kbl *L, const pb_ydoc *doc, const pb_ynode *n, const char *what)
{
	var_check vc = {L, doc, n, true, !strcmp(what, "'brief'")};

	if (!pb_y_expect(L->dg, doc, n, PB_Y_SCALAR, what))
		return NULL;
	if (!n->len) {
		pb_diag_at(L->dg, doc, n, "%s is empty", what);
		return NULL;
	}
	pb_template_each_var(n->str, check_var, &vc);
	if (!vc.ok)
		return NULL;
	return pb_kbl_strdup(L, n->str);
}

/* {zh: [..], en: [..]} or {zh: "..", en: ".."} into texts per language.
 * Other keys are the caller's to check when the map has more (a checklist
 * item's `when`). */
static void lang_texts(pb_kbl *L, const pb_ydoc *doc, const pb_ynode *m, pb_texts *out,
		       const char *what, bool only_langs)
{
	static const char *const keys[] = {"en", "zh", NULL};
	size_t l, i;

	if (!pb_y_expect(L->dg, doc, m, PB_Y_MAP, what))
		return;
	if (only_langs)
		pb_y_keys(L->dg, doc, m, keys);
	for (l = 0; l < PB_NLANG; l++) {
		const pb_ynode *v = pb_ymap_get(m, keys[l]);
		if (!v) {
			pb_diag_at(L->dg, doc, m, "%s needs an '%s' text", what, keys[l]);
			continue;
		}
		if (v->kind == PB_Y_SCALAR) {
			out[l].v = calloc(1, sizeof *out[l].v);
			if (!out[l].v) {
				L->oom = true;
				return;
			}
			if ((out[l].v[0] = text_at(L, doc, v, what)))
				out[l].n = 1;
			continue;
		}
		if (!pb_y_expect(L->dg, doc, v, PB_Y_SEQ, what))
			continue;
		out[l].v = calloc(v->n ? v->n : 1, sizeof *out[l].v);
		if (!out[l].v) {
			L->oom = true;
			return;
		}
		for (i = 0; i < v->n; i++)
			if ((out[l].v[out[l].n] = text_at(L, doc, v->items[i], what)))
				out[l].n++;
		if (!v->n)
			pb_diag_at(L->dg, doc, v, "%s needs at least one text", what);
	}
}

/* {zh: "..", en: ".."} into one string per language. */
static void lang_names(pb_kbl *L, const pb_ydoc *doc, const pb_ynode *m, char **out,
		       const char *what, bool only_langs)
{
	pb_texts t[PB_NLANG];
	size_t l;

	memset(t, 0, sizeof t);
	lang_texts(L, doc, m, t, what, only_langs);
	for (l = 0; l < PB_NLANG; l++) {
		if (t[l].n) {
			out[l] = t[l].v[0];
			t[l].v[0] = NULL;
		}
		texts_free(&t[l]);
	}
}

/* ---- lint at load ---- */

/* Renders text with sample values and reports the lint findings in mask. */
static void lint_text(pb_kbl *L, const pb_ydoc *doc, const pb_ynode *n, const char *text, int lang,
		      bool problem, unsigned mask)
{
	pb_tvar vars[32];
	pb_buf out;
	pb_lint_result r;
	pb_lint_ctx ctx;
	pb_errbuf eb;
	const char *missing = NULL;
	size_t i;

	if (!L->kb->phrases)
		return;
	for (i = 0; pb_template_vars[i]; i++) {
		vars[i].name = pb_template_vars[i];
		vars[i].value = lang ? sample_zh[i] : sample_en[i];
	}
	pb_buf_init(&out, 65536);
	if (pb_template_render(text, vars, i, &out, &missing)) {
		pb_buf_release(&out);
		return;
	}
	memset(&ctx, 0, sizeof ctx);
	ctx.problem = problem;
	if (!pb_lint(L->kb, pb_buf_str(&out), out.len, &ctx, &r, &eb)) {
		for (i = 0; i < r.n; i++)
			if ((mask >> r.f[i].code) & 1)
				pb_diag_at(L->dg, doc, n, "reply does not pass its own check: %s: %s",
					   pb_lint_code_name(r.f[i].code), r.f[i].msg);
	}
	pb_buf_release(&out);
}

/* ---- templates ---- */

static void load_variants(pb_kbl *L, const pb_ydoc *doc, const pb_ynode *list, pb_template *t,
			  int lang, bool problem)
{
	static const char *const parts[] = {"open", "facts", "action", "promise", "close", NULL};
	size_t i, k;

	if (!pb_y_expect(L->dg, doc, list, PB_Y_SEQ, "the variants"))
		return;
	if (list->n < 2)
		pb_diag_at(L->dg, doc, list,
			   "give at least two variants, so replies to a busy shop do not read as canned");
	t->v[lang] = calloc(list->n ? list->n : 1, sizeof *t->v[lang]);
	if (!t->v[lang]) {
		L->oom = true;
		return;
	}
	for (i = 0; i < list->n; i++) {
		const pb_ynode *m = list->items[i];
		pb_variant *v = &t->v[lang][t->n[lang]];
		pb_buf whole;
		if (!pb_y_expect(L->dg, doc, m, PB_Y_MAP, "a variant"))
			continue;
		pb_y_keys(L->dg, doc, m, parts);
		if (!pb_ymap_get(m, "open")) {
			pb_diag_at(L->dg, doc, m, "a variant needs 'open', its first sentence");
			continue;
		}
		pb_buf_init(&whole, 65536);
		for (k = 0; k < PB_PART_COUNT_; k++) {
			const pb_ynode *p = pb_ymap_get(m, parts[k]);
			if (!p)
				continue;
			v->part[k] = text_at(L, doc, p, parts[k]);
			if (v->part[k]) {
				if (whole.len && lang == 0)
					pb_buf_putc(&whole, ' ');
				pb_buf_puts(&whole, v->part[k]);
			}
		}
		t->n[lang]++;
		if (whole.len)
			lint_text(L, doc, m, whole.data, lang, problem, ~0u);
		pb_buf_release(&whole);
	}
}

static bool uses_only_follow_up(const pb_template *t)
{
	size_t l, i, k;

	for (l = 0; l < PB_NLANG; l++)
		for (i = 0; i < t->n[l]; i++)
			for (k = 0; k < PB_PART_COUNT_; k++)
				if (t->v[l][i].part[k] &&
				    !pb_template_each_var(t->v[l][i].part[k], only_follow_up, NULL))
					return false;
	return true;
}

static bool cond_empty(const pb_cond *c)
{
	return !c->intents && !c->signals && !c->anomalies && !c->states && !c->places &&
	       c->min_hours_since_update < 0 && c->min_contacts < 0 && c->perishable < 0 &&
	       c->high_value < 0 && c->problem < 0 && c->has_trace < 0 && c->shipped < 0 &&
	       c->stale < 0;
}

static void load_checklist(pb_kbl *L, const pb_ydoc *doc, const pb_ynode *list, int intent)
{
	static const char *const keys[] = {"when", "en", "zh", NULL};
	pb_replies *r = L->kb->replies;
	pb_check *nc;
	size_t i;

	if (!pb_y_expect(L->dg, doc, list, PB_Y_SEQ, "'checklist'"))
		return;
	nc = realloc(r->check, (r->n_check + list->n + 1) * sizeof *nc);
	if (!nc) {
		L->oom = true;
		return;
	}
	r->check = nc;
	for (i = 0; i < list->n; i++) {
		const pb_ynode *m = list->items[i];
		pb_check *c = &r->check[r->n_check];
		if (!pb_y_expect(L->dg, doc, m, PB_Y_MAP, "a checklist item"))
			continue;
		pb_y_keys(L->dg, doc, m, keys);
		memset(c, 0, sizeof *c);
		c->intent = intent;
		if (pb_ymap_get(m, "when"))
			pb_kbl_cond(L, doc, pb_ymap_get(m, "when"), &c->when);
		else
			pb_cond_init(&c->when);
		lang_names(L, doc, m, c->text, "a checklist item", false);
		r->n_check++;
	}
}

static void load_reply_file(pb_kbl *L, const char *name)
{
	static const char *const top[] = {"intent", "templates", "checklist", NULL};
	static const char *const tkeys[] = {"id", "when", "en", "zh", NULL};
	pb_replies *r = L->kb->replies;
	pb_ydoc doc;
	const char *intent;
	const pb_ynode *list;
	int ri = -1;
	bool problem, has_catch_all = false;
	size_t i, j;
	char path[PATH_MAX];

	snprintf(path, sizeof path, "replies/%s", name);
	if (!pb_kbl_open(L, path, true, &doc))
		return;
	pb_y_keys(L->dg, &doc, doc.root, top);
	intent = pb_y_str(L->dg, &doc, doc.root, "intent", true);
	if (!intent)
		goto out;
	if (strcmp(intent, "proactive")) {
		ri = pb_kb_rule_index(L->kb, intent);
		if (ri < 0 || (size_t)ri >= L->kb->n_intents) {
			pb_diag_at(L->dg, &doc, pb_ymap_get(doc.root, "intent"),
				   "'%s' is not an intent (or 'proactive')", intent);
			goto out;
		}
	}
	problem = ri < 0 || L->kb->rules[ri].problem;
	list = pb_ymap_get(doc.root, "templates");
	if (!list || !pb_y_expect(L->dg, &doc, list, PB_Y_SEQ, "'templates'")) {
		if (!list)
			pb_diag_at(L->dg, &doc, doc.root, "missing required key 'templates'");
		goto out;
	}
	for (i = 0; i < list->n; i++) {
		const pb_ynode *m = list->items[i];
		pb_template *t, *nt;
		const char *id;
		char full[160];
		int l;
		if (!pb_y_expect(L->dg, &doc, m, PB_Y_MAP, "a template"))
			continue;
		pb_y_keys(L->dg, &doc, m, tkeys);
		id = pb_y_str(L->dg, &doc, m, "id", true);
		if (!id)
			continue;
		if (!pb_kbl_id_ok(id)) {
			pb_diag_at(L->dg, &doc, pb_ymap_get(m, "id"),
				   "template id '%s' must use lower-case letters, digits and '_'", id);
			continue;
		}
		snprintf(full, sizeof full, "%s.%s", intent, id);
		for (j = 0; j < r->n; j++)
			if (!strcmp(r->t[j].id, full))
				pb_diag_at(L->dg, &doc, pb_ymap_get(m, "id"), "duplicate template '%s'", full);
		nt = realloc(r->t, (r->n + 1) * sizeof *nt);
		if (!nt) {
			L->oom = true;
			goto out;
		}
		r->t = nt;
		t = &r->t[r->n++];
		memset(t, 0, sizeof *t);
		t->id = pb_kbl_strdup(L, full);
		t->intent = ri;
		t->file = pb_kbl_file(L, doc.file);
		t->line = m->line;
		if (pb_ymap_get(m, "when"))
			pb_kbl_cond(L, &doc, pb_ymap_get(m, "when"), &t->when);
		else
			pb_cond_init(&t->when);
		for (l = 0; l < PB_NLANG; l++) {
			const pb_ynode *v = pb_ymap_get(m, l ? "zh" : "en");
			bool p = problem || t->when.anomalies || t->when.problem == 1;
			if (!v) {
				pb_diag_at(L->dg, &doc, m, "template '%s' needs '%s' variants", full,
					   l ? "zh" : "en");
				continue;
			}
			load_variants(L, &doc, v, t, l, p);
		}
		if (cond_empty(&t->when) && uses_only_follow_up(t))
			has_catch_all = true;
	}
	if (!has_catch_all)
		pb_diag_at(L->dg, &doc, list,
			   "add a last template with no 'when' that uses only {{follow_up}}, so every "
			   "case can be answered even without an order or a trace");
	if ((list = pb_ymap_get(doc.root, "checklist")))
		load_checklist(L, &doc, list, ri);
out:
	pb_ydoc_release(&doc);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_common(pb_kbl *L)
{
	static const char *const top[] = {"priority", "names", "offers", "coupon", "apology", "peak",
					  "stale", "untraced", "brief", "checklist", NULL};
	static const char *const nkeys[] = {"states", "places", "upgrade_carrier", NULL};
	pb_replies *r = L->kb->replies;
	pb_ydoc doc;
	const pb_ynode *n, *m;
	size_t i, l;
	int k;

	if (!pb_kbl_open(L, "replies/common.yaml", true, &doc))
		return;
	pb_y_keys(L->dg, &doc, doc.root, top);
	n = pb_ymap_get(doc.root, "priority");
	if (!n)
		pb_diag_at(L->dg, &doc, doc.root, "missing required key 'priority'");
	else if (pb_y_expect(L->dg, &doc, n, PB_Y_SEQ, "'priority'")) {
		for (i = 0; i < n->n && r->n_priority < 64; i++) {
			int ri = n->items[i]->kind == PB_Y_SCALAR
					 ? pb_kb_rule_index(L->kb, n->items[i]->str)
					 : -1;
			if (ri < 0 || (size_t)ri >= L->kb->n_intents) {
				pb_diag_at(L->dg, &doc, n->items[i], "not an intent");
				continue;
			}
			r->priority[r->n_priority++] = ri;
		}
		if (r->n_priority != L->kb->n_intents)
			pb_diag_at(L->dg, &doc, n, "'priority' must list every intent once");
	}
	n = pb_ymap_get(doc.root, "names");
	if (!n)
		pb_diag_at(L->dg, &doc, doc.root, "missing required key 'names'");
	else if (pb_y_expect(L->dg, &doc, n, PB_Y_MAP, "'names'")) {
		pb_y_keys(L->dg, &doc, n, nkeys);
		m = pb_ymap_get(n, "states");
		if (m && pb_y_expect(L->dg, &doc, m, PB_Y_MAP, "'states'"))
			for (k = 0; k < PB_ST_COUNT_; k++) {
				const pb_ynode *v = pb_ymap_get(m, pb_pstate_name((pb_pstate)k));
				if (!v)
					pb_diag_at(L->dg, &doc, m, "name the state '%s'",
						   pb_pstate_name((pb_pstate)k));
				else
					lang_names(L, &doc, v, r->state_name[k], "a state name", true);
			}
		m = pb_ymap_get(n, "places");
		if (m && pb_y_expect(L->dg, &doc, m, PB_Y_MAP, "'places'"))
			for (k = 1; k < PB_PLACE_COUNT_; k++) {
				const pb_ynode *v = pb_ymap_get(m, pb_place_name((pb_place)k));
				if (!v)
					pb_diag_at(L->dg, &doc, m, "name the place '%s'",
						   pb_place_name((pb_place)k));
				else
					lang_names(L, &doc, v, r->place_name[k], "a place name", true);
			}
		if ((m = pb_ymap_get(n, "upgrade_carrier")))
			lang_names(L, &doc, m, r->upgrade_carrier, "'upgrade_carrier'", true);
		else
			pb_diag_at(L->dg, &doc, n, "missing required key 'upgrade_carrier'");
	}
	n = pb_ymap_get(doc.root, "offers");
	if (!n)
		pb_diag_at(L->dg, &doc, doc.root, "missing required key 'offers'");
	else if (pb_y_expect(L->dg, &doc, n, PB_Y_SEQ, "'offers'")) {
		static const char *const okeys[] = {"kind", "when", "en", "zh", NULL};
		bool fallback[PB_COMP_COUNT_] = {false};
		r->offer = calloc(n->n ? n->n : 1, sizeof *r->offer);
		if (!r->offer)
			L->oom = true;
		for (i = 0; r->offer && i < n->n; i++) {
			const pb_ynode *m = n->items[i];
			pb_offer_text *ot = &r->offer[r->n_offer];
			const char *kind;
			if (!pb_y_expect(L->dg, &doc, m, PB_Y_MAP, "an offer"))
				continue;
			pb_y_keys(L->dg, &doc, m, okeys);
			kind = pb_y_str(L->dg, &doc, m, "kind", true);
			if (!kind)
				continue;
			k = pb_comp_from_name(kind);
			if (k <= 0) {
				pb_diag_at(L->dg, &doc, pb_ymap_get(m, "kind"), "'%s' is not an offer kind",
					   kind);
				continue;
			}
			ot->kind = (pb_comp_kind)k;
			if (pb_ymap_get(m, "when"))
				pb_kbl_cond(L, &doc, pb_ymap_get(m, "when"), &ot->when);
			else {
				pb_cond_init(&ot->when);
				fallback[k] = true;
			}
			lang_texts(L, &doc, m, ot->text, "an offer", false);
			r->n_offer++;
		}
		for (k = 1; k < PB_COMP_COUNT_; k++)
			if (!fallback[k])
				pb_diag_at(L->dg, &doc, n,
					   "say how to offer '%s' in general (an entry without 'when')",
					   pb_comp_name((pb_comp_kind)k));
	}
#define TEXTS(key, field)                                                                  \
	do {                                                                               \
		if ((n = pb_ymap_get(doc.root, key)))                                      \
			lang_texts(L, &doc, n, r->field, "'" key "'", true);               \
		else                                                                       \
			pb_diag_at(L->dg, &doc, doc.root, "missing required key '" key "'"); \
	} while (0)
	TEXTS("coupon", coupon);
	TEXTS("apology", apology);
	TEXTS("peak", peak);
	TEXTS("stale", stale);
	TEXTS("untraced", untraced);
	TEXTS("brief", brief);
#undef TEXTS
	/* The apology added to a draft that lacks one must itself apologise. */
	for (l = 0; l < PB_NLANG; l++)
		for (i = 0; i < r->apology[l].n; i++)
			lint_text(L, &doc, pb_ymap_get(doc.root, "apology"), r->apology[l].v[i], (int)l,
				  true, ~(1u << PB_LINT_VAGUE));
	if ((n = pb_ymap_get(doc.root, "checklist")))
		load_checklist(L, &doc, n, -1);
	pb_ydoc_release(&doc);
}

void pb_kbl_load_replies(pb_kbl *L)
{
	char dir[PATH_MAX];
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, i, cap = 0;
	bool covered[PB_KB_MAX_INTENTS] = {false};

	L->kb->replies = calloc(1, sizeof *L->kb->replies);
	if (!L->kb->replies) {
		L->oom = true;
		return;
	}
	load_common(L);
	snprintf(dir, sizeof dir, "%s/replies", L->dir);
	d = opendir(dir);
	if (!d) {
		pb_diag_add(L->dg, dir, 0, 0, "directory of reply templates is missing");
		return;
	}
	/* cppcheck-suppress readdirCalled ; no other thread sees d (readdir_r is deprecated) */
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") || !strcmp(e->d_name, "common.yaml"))
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof *nn);
			if (!nn) {
				L->oom = true;
				break;
			}
			names = nn;
		}
		names[n] = strdup(e->d_name);
		if (!names[n]) {
			L->oom = true;
			break;
		}
		n++;
	}
	closedir(d);
	/* A stable order: templates are tried in file order. */
	if (n)
		qsort(names, n, sizeof *names, cmp_names);
	for (i = 0; i < n; i++) {
		load_reply_file(L, names[i]);
		free(names[i]);
	}
	free(names);
	for (i = 0; i < L->kb->replies->n; i++)
		if (L->kb->replies->t[i].intent >= 0)
			covered[L->kb->replies->t[i].intent] = true;
	for (i = 0; i < L->kb->n_intents; i++)
		if (!covered[i])
			pb_diag_add(L->dg, dir, 0, 0, "no reply templates for the intent '%s'",
				    L->kb->rules[i].id);
}

/* ---- phrases.yaml ---- */

static void *phrase(pb_kbl *L, const pb_ydoc *doc, const char *key)
{
	const pb_ynode *n = pb_ymap_get(doc->root, key);
	pcre2_code *code;
	int ec;
	PCRE2_SIZE off;
	char msg[200];

	if (!n) {
		pb_diag_at(L->dg, doc, doc->root, "missing required key '%s'", key);
		return NULL;
	}
	if (!pb_y_expect(L->dg, doc, n, PB_Y_SCALAR, key))
		return NULL;
	code = pcre2_compile((PCRE2_SPTR)n->str, n->len, PCRE2_UTF | PCRE2_CASELESS, &ec, &off, NULL);
	if (!code) {
		pcre2_get_error_message(ec, (PCRE2_UCHAR *)msg, sizeof msg);
		pb_diag_at(L->dg, doc, n, "regex does not compile: %s (at offset %zu)", msg, (size_t)off);
		return NULL;
	}
	if (pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) != 0) {
		/* Falls back to the interpreter; matching still works. */
	}
	return code;
}

void pb_kbl_load_phrases(pb_kbl *L)
{
	static const char *const top[] = {"apology", "question", "blame_shifting", "brush_off",
					  "vague", "commitment", "in_transit", "delivered", "hub",
					  "explain", NULL};
	pb_phrases *p;
	pb_ydoc doc;
	const pb_ynode *ex;
	int c;

	if (!pb_kbl_open(L, "phrases.yaml", true, &doc))
		return;
	p = calloc(1, sizeof *p);
	if (!p) {
		L->oom = true;
		pb_ydoc_release(&doc);
		return;
	}
	pb_y_keys(L->dg, &doc, doc.root, top);
	p->apology = phrase(L, &doc, "apology");
	p->question = phrase(L, &doc, "question");
	p->blame = phrase(L, &doc, "blame_shifting");
	p->brush_off = phrase(L, &doc, "brush_off");
	p->vague = phrase(L, &doc, "vague");
	p->commitment = phrase(L, &doc, "commitment");
	p->in_transit = phrase(L, &doc, "in_transit");
	p->delivered = phrase(L, &doc, "delivered");
	p->hub = phrase(L, &doc, "hub");
	ex = pb_ymap_get(doc.root, "explain");
	if (!ex)
		pb_diag_at(L->dg, &doc, doc.root, "missing required key 'explain'");
	else if (pb_y_expect(L->dg, &doc, ex, PB_Y_MAP, "'explain'"))
		for (c = 0; c < PB_LINT_COUNT_; c++) {
			const pb_ynode *v = pb_ymap_get(ex, pb_lint_code_name((pb_lint_code)c));
			if (!v)
				pb_diag_at(L->dg, &doc, ex, "explain the finding '%s'",
					   pb_lint_code_name((pb_lint_code)c));
			else
				lang_names(L, &doc, v, p->explain[c], "an explanation", true);
		}
	pb_ydoc_release(&doc);
	/* Only a complete set of phrases is used, so lint never runs half-armed. */
	if (!p->apology || !p->question || !p->blame || !p->brush_off || !p->vague ||
	    !p->commitment || !p->in_transit || !p->delivered || !p->hub) {
		pb_phrases_free(p);
		return;
	}
	L->kb->phrases = p;
}
