/*
 * The closed loop (see case.h): which case a message belongs to, the state
 * machine, the deadlines the policy and the sent replies set, and the
 * agent's decisions. Everything goes through the store's API; the outbox
 * rows a change causes are written in the change's own transaction.
 */
#include "parcelbot/case.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/kb.h"
#include "parcelbot/policy.h"
#include "parcelbot/replies.h"
#include "parcelbot/utf8.h"

/* Longest reply an agent may send (the drafts' own limit). */
#define MAX_REPLY 16384

static const char *const state_names[PB_CASE_STATE_COUNT_] = {
	"new",      "drafted", "awaiting_agent", "sent",    "following_up",
	"resolved", "closed",  "escalated",      "reopened",
};

#define B(s) (1u << PB_CASE_##s)
#define OPEN_END (B(ESCALATED) | B(RESOLVED))
static const unsigned allowed[PB_CASE_STATE_COUNT_] = {
	[PB_CASE_NEW] = B(DRAFTED) | OPEN_END,
	[PB_CASE_DRAFTED] = B(AWAITING_AGENT) | B(SENT) | OPEN_END,
	[PB_CASE_AWAITING_AGENT] = B(DRAFTED) | B(SENT) | OPEN_END,
	[PB_CASE_SENT] = B(FOLLOWING_UP) | B(DRAFTED) | OPEN_END,
	[PB_CASE_FOLLOWING_UP] = B(DRAFTED) | OPEN_END,
	/* A human owns an escalated case: only they send, or resolve. */
	[PB_CASE_ESCALATED] = B(SENT) | B(RESOLVED),
	[PB_CASE_RESOLVED] = B(CLOSED) | B(REOPENED),
	[PB_CASE_CLOSED] = B(REOPENED),
	[PB_CASE_REOPENED] = B(DRAFTED) | OPEN_END,
};
#undef B

const char *pb_case_state_name(pb_case_state s)
{
	return (unsigned)s < PB_CASE_STATE_COUNT_ ? state_names[s] : "unknown";
}

int pb_case_state_from_name(const char *name)
{
	int i;

	for (i = 0; name && i < PB_CASE_STATE_COUNT_; i++)
		if (!strcmp(state_names[i], name))
			return i;
	return -1;
}

bool pb_case_can(pb_case_state from, pb_case_state to)
{
	if ((unsigned)from >= PB_CASE_STATE_COUNT_ || (unsigned)to >= PB_CASE_STATE_COUNT_)
		return false;
	return (allowed[from] >> to) & 1;
}

static const char *const kind_names[PB_REM_COUNT_] = {
	"first_reply", "first_plan", "progress", "promise", "follow_up", "check_back",
};

const char *pb_reminder_kind_name(pb_reminder_kind k)
{
	return (unsigned)k < PB_REM_COUNT_ ? kind_names[k] : "unknown";
}

static const char *const outcomes[] = {
	"reshipped", "refunded", "partial_refund", "exchanged", "delivered", "found",
	"compensated", "cancelled", "no_action", NULL,
};

bool pb_case_outcome_valid(const char *outcome)
{
	size_t i;

	for (i = 0; outcome && outcomes[i]; i++)
		if (!strcmp(outcomes[i], outcome))
			return true;
	return false;
}

const char *pb_case_outcomes(void)
{
	return "reshipped, refunded, partial_refund, exchanged, delivered, found, compensated, "
	       "cancelled, no_action";
}

/* ---- small helpers ---- */

static char *fmt_time(int64_t t, int32_t off, char *buf, size_t n)
{
	return pb_time_format((pb_when){t, off}, buf, n);
}

static int32_t tz(const pb_kb *kb)
{
	return kb && kb->policy ? kb->policy->tz_off : 0;
}

/* Prints and frees j; NULL when j is NULL or printing fails. */
static char *json_take(cJSON *j)
{
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;

	cJSON_Delete(j);
	return s;
}

/* A change of several rows runs in a transaction of its own, or in the
 * caller's, who then rolls back on failure (store.h's rule): savepoints
 * would copy every page the change touches once more, for nothing. */
static pb_err begin(pb_store *st, bool *own, pb_errbuf *eb)
{
	*own = pb_store_depth(st) == 0;
	return *own ? pb_store_begin(st, eb) : PB_OK;
}

/* Ends what begin started: commits on success, else rolls back. Returns
 * the first error. */
static pb_err finish(pb_store *st, bool own, pb_err err, pb_errbuf *eb)
{
	if (!own)
		return err;
	if (!err && !(err = pb_store_commit(st, eb)))
		return PB_OK;
	pb_store_rollback(st);
	return err;
}

static pb_err load_case(pb_store *st, pb_id id, pb_store_case *c, pb_case_state *state,
			pb_errbuf *eb)
{
	pb_err err = pb_store_case_get(st, id, c, eb);
	int s;

	if (err)
		return err;
	s = pb_case_state_from_name(c->state);
	if (s < 0) {
		err = pb_errf(eb, PB_ESTATE, "case %lld is in an unknown state '%s'", (long long)id,
			      c->state);
		pb_store_case_release(c);
		return err;
	}
	*state = (pb_case_state)s;
	return PB_OK;
}

/* With write false only the event is recorded and c changed: the caller
 * writes c later in the same transaction (one UPDATE per message, not
 * one per move). */
static pb_err transition(pb_store *st, pb_store_case *c, pb_case_state to, const char *actor,
			 int64_t now, const char *note, bool write, pb_id *event_id, pb_errbuf *eb)
{
	bool own;
	pb_store_case old = *c;
	pb_store_event ev;
	int from = pb_case_state_from_name(c->state);
	pb_err err;

	if (from < 0)
		return pb_errf(eb, PB_ESTATE, "case %lld is in an unknown state '%s'",
			       (long long)c->id, c->state);
	if (!pb_case_can((pb_case_state)from, to))
		return pb_errf(eb, PB_ESTATE, "case %lld cannot go from %s to %s", (long long)c->id,
			       state_names[from], pb_case_state_name(to));
	if ((err = begin(st, &own, eb)))
		return err;
	snprintf(c->state, sizeof c->state, "%s", state_names[to]);
	c->updated_at = now;
	if (to == PB_CASE_RESOLVED)
		c->resolved_at = now;
	if (to == PB_CASE_CLOSED)
		c->closed_at = now;
	if (to == PB_CASE_REOPENED)
		c->resolved_at = c->closed_at = 0;
	memset(&ev, 0, sizeof ev);
	ev.case_id = c->id;
	ev.at = now;
	ev.actor = (char *)actor;
	ev.what = (char *)"state";
	ev.from_state = (char *)state_names[from];
	ev.to_state = (char *)state_names[to];
	ev.note = (char *)note;
	if (!write || !(err = pb_store_case_update(st, c, eb)))
		err = pb_store_event_add(st, &ev, event_id, eb);
	if ((err = finish(st, own, err, eb))) {
		/* The record says what the database says. */
		memcpy(c->state, old.state, sizeof c->state);
		c->updated_at = old.updated_at;
		c->resolved_at = old.resolved_at;
		c->closed_at = old.closed_at;
	}
	return err;
}

pb_err pb_case_transition(pb_store *st, pb_store_case *c, pb_case_state to, const char *actor,
			  int64_t now, const char *note, pb_errbuf *eb)
{
	return transition(st, c, to, actor, now, note, true, NULL, eb);
}

static pb_err record_event(pb_store *st, const pb_store_case *c, const char *what,
			   const char *actor, int64_t now, const char *note, pb_errbuf *eb)
{
	pb_store_event ev;

	memset(&ev, 0, sizeof ev);
	ev.case_id = c->id;
	ev.at = now;
	ev.actor = (char *)actor;
	ev.what = (char *)what;
	ev.from_state = (char *)c->state;
	ev.to_state = (char *)c->state;
	ev.note = (char *)note;
	return pb_store_event_add(st, &ev, NULL, eb);
}

/* ---- reminders ---- */

int64_t pb_case_service_due(const pb_policy *p, pb_reminder_kind k, int64_t from)
{
	double hours, factor;

	switch (k) {
	case PB_REM_FIRST_REPLY: hours = p->first_reply; break;
	case PB_REM_FIRST_PLAN: hours = p->first_plan; break;
	case PB_REM_PROGRESS: hours = p->progress_update; break;
	case PB_REM_CHECK_BACK: hours = p->check_back; break;
	default: return 0;
	}
	/* policy.yaml: "Peak seasons multiply them" — every service level. */
	factor = pb_policy_is_peak(p, from) && p->peak_factor > 0 ? p->peak_factor : 1;
	return from + (int64_t)(hours * factor * 3600 + 0.5);
}

/* Sets a reminder; one that is already pending counts as set. */
static pb_err remind(pb_store *st, pb_id case_id, pb_reminder_kind k, int64_t due, int64_t now,
		     const char *source, bool *added, pb_errbuf *eb)
{
	pb_store_reminder r;
	pb_err err;

	memset(&r, 0, sizeof r);
	r.case_id = case_id;
	snprintf(r.kind, sizeof r.kind, "%s", kind_names[k]);
	r.due = due;
	r.created_at = now;
	r.source = (char *)source;
	err = pb_store_reminder_add(st, &r, NULL, eb);
	if (added)
		*added = !err;
	return err == PB_EEXIST ? PB_OK : err;
}

static pb_err remind_service(pb_store *st, const pb_kb *kb, pb_id case_id, pb_reminder_kind k,
			     int64_t from, pb_errbuf *eb)
{
	const pb_policy *p = kb->policy;
	char src[96];
	int64_t due = pb_case_service_due(p, k, from);

	snprintf(src, sizeof src, "policy: %s within %.4g h%s", kind_names[k],
		 (double)(due - from) / 3600.0, pb_policy_is_peak(p, from) ? " (peak season)" : "");
	return remind(st, case_id, k, due, from, src, NULL, eb);
}

/* ---- which case a message belongs to ---- */

const char *pb_case_kind(const pb_kb *kb, const pb_verdict *v)
{
	const pb_replies *rp = kb->replies;
	size_t i;

	if (rp)
		for (i = 0; i < rp->n_priority; i++)
			if (pb_verdict_has_intent(v, rp->priority[i]))
				return kb->rules[rp->priority[i]].id;
	for (i = 0; i < kb->n_intents; i++)
		if (pb_verdict_has_intent(v, (int)i))
			return kb->rules[i].id;
	for (i = 0; i + kb->n_intents < kb->n_rules && i < 64; i++)
		if ((v->signals >> i) & 1)
			return kb->rules[kb->n_intents + i].id;
	return NULL;
}

pb_err pb_case_find_for_message(pb_store *st, const pb_kb *kb, const char *scope,
				const pb_verdict *v, pb_store_case *out, pb_case_join *how,
				pb_errbuf *eb)
{
	const char *kind = pb_case_kind(kb, v);
	const pb_rule *rule;
	bool problem;
	pb_err err;

	*how = PB_JOIN_NONE;
	memset(out, 0, sizeof *out);
	if (kind) {
		err = pb_store_case_find_open(st, scope, kind, out, eb);
		if (!err) {
			*how = PB_JOIN_CONTACT;
			return PB_OK;
		}
		if (err != PB_ENOTFOUND)
			return err;
	}
	err = pb_store_case_find_open(st, scope, NULL, out, eb);
	if (err == PB_ENOTFOUND)
		return PB_OK;
	if (err)
		return err;
	if (!kind) {
		*how = PB_JOIN_ATTACH;
		return PB_OK;
	}
	rule = pb_kb_rule(kb, kind);
	problem = rule && rule->kind == PB_RULE_INTENT && rule->problem;
	if (!problem || !strcmp(out->origin, "watch")) {
		*how = PB_JOIN_CONTACT;
		return PB_OK;
	}
	/* A different problem on the same order is a case of its own. */
	pb_store_case_release(out);
	return PB_OK;
}

pb_err pb_case_open(pb_store *st, const pb_kb *kb, const pb_case_open_args *a,
		    pb_store_case *out, pb_errbuf *eb)
{
	bool own;
	pb_store_case c;
	pb_store_event ev;
	char note[PB_STORE_MAX_NAME + 32];
	pb_err err;

	memset(out, 0, sizeof *out);
	memset(&c, 0, sizeof c);
	c.scope = (char *)a->scope;
	c.kind = (char *)a->kind;
	snprintf(c.origin, sizeof c.origin, "%s", a->origin ? a->origin : "buyer");
	c.conversation_id = a->conversation_id;
	c.order_id = a->order_id;
	c.parcel_id = a->parcel_id;
	snprintf(c.state, sizeof c.state, "%s", state_names[PB_CASE_NEW]);
	c.problem = a->problem;
	snprintf(c.lang, sizeof c.lang, "%s", a->lang ? a->lang : "zh");
	c.opened_at = c.updated_at = a->now;
	if ((err = begin(st, &own, eb)))
		return err;
	if ((err = pb_store_case_insert(st, &c, eb)))
		goto out;
	memset(&ev, 0, sizeof ev);
	ev.case_id = c.id;
	ev.at = a->now;
	ev.actor = (char *)a->actor;
	ev.what = (char *)"state";
	ev.to_state = (char *)state_names[PB_CASE_NEW];
	snprintf(note, sizeof note, "opened: %s", a->kind);
	ev.note = note;
	if ((err = pb_store_event_add(st, &ev, NULL, eb)) ||
	    (err = remind_service(st, kb, c.id, PB_REM_FIRST_REPLY, a->now, eb)))
		goto out;
	if (a->problem && (err = remind_service(st, kb, c.id, PB_REM_FIRST_PLAN, a->now, eb)))
		goto out;
	err = pb_store_case_get(st, c.id, out, eb);
out:
	return finish(st, own, err, eb);
}

/* ---- drafts ---- */

static cJSON *str_list_json(const pb_str_list *l)
{
	cJSON *a = cJSON_CreateArray();
	size_t i;

	for (i = 0; a && i < l->n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(l->v[i]));
	return a;
}

static cJSON *comp_json(const pb_reply *r)
{
	cJSON *c = cJSON_CreateObject();

	if (!c)
		return NULL;
	cJSON_AddStringToObject(c, "kind", pb_comp_name(r->comp));
	cJSON_AddNumberToObject(c, "amount", r->comp_amount);
	cJSON_AddStringToObject(c, "currency", r->comp_currency);
	cJSON_AddNumberToObject(c, "cap", r->comp_cap);
	if (r->comp_rule)
		cJSON_AddStringToObject(c, "rule", r->comp_rule);
	if (r->comp_note)
		cJSON_AddStringToObject(c, "note", r->comp_note);
	return c;
}

/* {case, draft, version, channel, conversation, ...}: what a sender needs
 * to find the rest in the store. */
static cJSON *action_json(const pb_store_case *c, pb_id draft_id, int version)
{
	cJSON *p = cJSON_CreateObject();

	if (!p)
		return NULL;
	cJSON_AddNumberToObject(p, "case", (double)c->id);
	if (draft_id) {
		cJSON_AddNumberToObject(p, "draft", (double)draft_id);
		cJSON_AddNumberToObject(p, "version", version);
	}
	cJSON_AddStringToObject(p, "channel", c->channel ? c->channel : "");
	cJSON_AddStringToObject(p, "conversation", c->conversation ? c->conversation : "");
	return p;
}

static pb_err queue(pb_store *st, const pb_store_case *c, const char *kind, const char *key,
		    cJSON *payload, int64_t now, pb_id *id, pb_errbuf *eb)
{
	pb_store_outbox_row r;
	char *p = json_take(payload);
	pb_err err;

	if (!p)
		return pb_errf(eb, PB_ENOMEM, "out of memory");
	memset(&r, 0, sizeof r);
	r.key = (char *)key;
	r.kind = (char *)kind;
	r.channel = c->channel && *c->channel ? c->channel : (char *)"cli";
	r.case_id = c->id;
	r.payload = p;
	r.created_at = now;
	err = pb_store_outbox_put(st, &r, id, eb);
	free(p);
	/* The same key means the same action, queued by an earlier try. */
	return err == PB_EEXIST ? PB_OK : err;
}

/* Stores the draft and moves c on; the caller writes c. */
static pb_err add_draft(pb_store *st, const pb_kb *kb, pb_store_case *c, pb_case_state state,
			pb_id message_id, const pb_case_input *in, const pb_case_result *r,
			const char *actor, pb_id *draft_id, pb_errbuf *eb)
{
	const pb_reply *rp = &r->reply;
	bool escalate = rp->action == PB_ACT_ESCALATE;
	pb_store_draft d;
	pb_situation s;
	cJSON *p;
	char key[64], note[600];
	size_t i, o;
	pb_err err = PB_OK;

	pb_draft_situation(kb, &r->verdict, in->order, &r->assessment, in->contacts, &s);
	if (rp->severity > c->severity)
		c->severity = rp->severity;
	c->problem = c->problem || s.problem;
	snprintf(c->lang, sizeof c->lang, "%s", rp->lang == PB_LANG_ZH ? "zh" : "en");

	memset(&d, 0, sizeof d);
	d.case_id = c->id;
	d.message_id = message_id;
	d.created_at = in->now;
	d.text = rp->text;
	d.template_id = rp->template_id && *rp->template_id ? rp->template_id : NULL;
	d.brief = rp->brief && *rp->brief ? rp->brief : NULL;
	d.severity = rp->severity;
	snprintf(d.action, sizeof d.action, "%s", pb_action_name(rp->action));
	snprintf(d.lang, sizeof d.lang, "%s", c->lang);
	d.follow_up_due = rp->has_follow_up ? rp->follow_up_due.t : 0;
	snprintf(d.state, sizeof d.state, "%s",
		 escalate || state == PB_CASE_ESCALATED ? "escalated" : "pending");
	d.compensation = json_take(comp_json(rp));
	d.checklist = json_take(str_list_json(&rp->checklist));
	d.reasons = json_take(str_list_json(&rp->reasons));
	d.lint = json_take(pb_lint_json(&rp->lint, rp->text));
	d.assessment = json_take(pb_assessment_json(&r->assessment, in->trace));
	if (!d.compensation || !d.checklist || !d.reasons || !d.lint || !d.assessment) {
		err = pb_errf(eb, PB_ENOMEM, "out of memory");
		goto out;
	}
	if ((err = pb_store_draft_add(st, &d, eb)))
		goto out;
	if ((err = pb_store_draft_supersede(st, c->id, d.id, NULL, eb)))
		goto out;
	if (draft_id)
		*draft_id = d.id;
	if (escalate && state != PB_CASE_ESCALATED) {
		o = (size_t)snprintf(note, sizeof note, "severity %d: ", rp->severity);
		for (i = 0; i < rp->reasons.n && o < sizeof note; i++)
			o += (size_t)snprintf(note + o, sizeof note - o, "%s%s", i ? "; " : "",
					      rp->reasons.v[i]);
		note[pb_utf8_clip(note, strlen(note), sizeof note - 1)] = '\0';
		if ((err = transition(st, c, PB_CASE_ESCALATED, actor, in->now, note, false, NULL, eb)))
			goto out;
		snprintf(key, sizeof key, "hand_off:%lld", (long long)d.id);
		p = action_json(c, d.id, d.version);
		if (p) {
			cJSON_AddNumberToObject(p, "severity", rp->severity);
			cJSON_AddStringToObject(p, "brief", d.brief ? d.brief : "");
		}
		err = queue(st, c, "hand_off", key, p, in->now, NULL, eb);
		goto out;
	}
	if (state != PB_CASE_ESCALATED && state != PB_CASE_DRAFTED) {
		snprintf(note, sizeof note, "draft v%d", d.version);
		if ((err = transition(st, c, PB_CASE_DRAFTED, actor, in->now, note, false, NULL, eb)))
			goto out;
	}
	/* On an escalated case the draft is a suggestion for the human. */
	snprintf(key, sizeof key, "post_draft:%lld", (long long)d.id);
	p = action_json(c, d.id, d.version);
	if (p) {
		cJSON_AddNumberToObject(p, "severity", rp->severity);
		cJSON_AddStringToObject(p, "action", pb_action_name(rp->action));
	}
	err = queue(st, c, "post_draft", key, p, in->now, NULL, eb);
out:
	free(d.compensation);
	free(d.checklist);
	free(d.reasons);
	free(d.lint);
	free(d.assessment);
	return err;
}

pb_err pb_case_take_message(pb_store *st, const pb_kb *kb, pb_store_case *c, pb_case_join how,
			    pb_id message_id, const pb_case_input *in, const pb_case_result *r,
			    const char *actor, pb_id *draft_id, pb_errbuf *eb)
{
	bool own;
	int s = pb_case_state_from_name(c->state);
	char note[64];
	pb_err err;

	if (draft_id)
		*draft_id = 0;
	if (how == PB_JOIN_NONE)
		return pb_errf(eb, PB_EINVAL, "the message does not belong to case %lld",
			       (long long)c->id);
	if (s < 0)
		return pb_errf(eb, PB_ESTATE, "case %lld is in an unknown state '%s'",
			       (long long)c->id, c->state);
	if (how == PB_JOIN_ATTACH)
		return PB_OK;
	if ((err = begin(st, &own, eb)))
		return err;
	if (s == PB_CASE_RESOLVED || s == PB_CASE_CLOSED) {
		if ((err = transition(st, c, PB_CASE_REOPENED, actor, in->now, "the buyer wrote again",
				      false, NULL, eb)))
			goto out;
		s = PB_CASE_REOPENED;
	}
	c->contacts++;
	if (in->now > c->updated_at)
		c->updated_at = in->now;
	if (c->contacts > 1) {
		snprintf(note, sizeof note, "repeat contact: message %d on this case", c->contacts);
		if ((err = record_event(st, c, "contact", actor, in->now, note, eb)))
			goto out;
	}
	if (r && r->reply.action != PB_ACT_NONE &&
	    (err = add_draft(st, kb, c, (pb_case_state)s, message_id, in, r, actor, draft_id, eb)))
		goto out;
	err = pb_store_case_update(st, c, eb);
out:
	return finish(st, own, err, eb);
}

pb_err pb_case_outreach(pb_store *st, const pb_kb *kb, pb_store_case *c, const pb_case_input *in,
			const pb_case_result *r, const char *actor, pb_id *draft_id, pb_errbuf *eb)
{
	bool own;
	int s = pb_case_state_from_name(c->state);
	pb_err err;

	if (draft_id)
		*draft_id = 0;
	if (s < 0 || s == PB_CASE_RESOLVED || s == PB_CASE_CLOSED)
		return pb_errf(eb, PB_ESTATE, "case %lld is %s: no outreach", (long long)c->id,
			       c->state);
	if (!r || r->reply.action == PB_ACT_NONE)
		return PB_OK;
	if ((err = begin(st, &own, eb)))
		return err;
	if (in->now > c->updated_at)
		c->updated_at = in->now;
	if ((err = add_draft(st, kb, c, (pb_case_state)s, 0, in, r, actor, draft_id, eb)))
		goto out;
	err = pb_store_case_update(st, c, eb);
out:
	return finish(st, own, err, eb);
}

/* ---- the case's parcel and order, for checks at a later moment ---- */

typedef struct case_ctx {
	pb_order order;
	pb_trace trace;
	bool has_order, has_trace;
	pb_assessment a;
} case_ctx;

static void case_ctx_release(case_ctx *x)
{
	if (x->has_order)
		pb_order_release(&x->order);
	if (x->has_trace)
		pb_trace_release(&x->trace);
	x->has_order = x->has_trace = false;
}

/* Reads the case's order and trace as last seen and assesses them at now. */
static pb_err load_ctx(pb_store *st, const pb_kb *kb, const pb_store_case *c, int64_t now,
		       case_ctx *x, pb_errbuf *eb)
{
	pb_store_parcel p;
	char *oj = NULL;
	cJSON *j;
	pb_err err = PB_OK;

	memset(x, 0, sizeof *x);
	pb_order_init(&x->order);
	pb_trace_init(&x->trace);
	if (c->order_id) {
		if ((err = pb_store_order_get(st, c->order_id, &oj, eb)))
			return err;
		j = cJSON_Parse(oj);
		free(oj);
		if (!j || pb_order_from_json(j, tz(kb), &x->order, eb)) {
			cJSON_Delete(j);
			return pb_errf(eb, PB_EPARSE, "case %lld: the stored order cannot be read",
				       (long long)c->id);
		}
		cJSON_Delete(j);
		x->has_order = true;
	}
	if (c->parcel_id) {
		if ((err = pb_store_parcel_get(st, c->parcel_id, &p, eb)))
			goto fail;
		if (p.trace) {
			j = cJSON_Parse(p.trace);
			if (!j || pb_trace_from_json(j, tz(kb), &x->trace, eb))
				err = pb_errf(eb, PB_EPARSE, "case %lld: the stored trace cannot be read",
					      (long long)c->id);
			else
				x->has_trace = true;
			cJSON_Delete(j);
		}
		pb_store_parcel_release(&p);
		if (err)
			goto fail;
	}
	err = pb_assess(kb, x->has_trace ? &x->trace : NULL, x->has_order ? &x->order : NULL, now,
			&x->a);
	if (!err)
		return PB_OK;
	err = pb_errf(eb, err, "case %lld: cannot assess its parcel", (long long)c->id);
fail:
	case_ctx_release(x);
	return err;
}

static bool stuck(const pb_assessment *a)
{
	return pb_has_anomaly(a, PB_AN_NO_UPDATE) || pb_has_anomaly(a, PB_AN_STUCK_AT_NODE) ||
	       pb_has_anomaly(a, PB_AN_NO_TRACE);
}

/* The latest draft, which must still wait for a decision. */
static pb_err open_draft(pb_store *st, const pb_store_case *c, pb_id want, pb_store_draft *d,
			 pb_errbuf *eb)
{
	pb_err err = pb_store_draft_latest(st, c->id, d, eb);

	if (err == PB_ENOTFOUND)
		return pb_errf(eb, PB_ESTATE, "case %lld has no draft", (long long)c->id);
	if (err)
		return err;
	if (want && want != d->id)
		err = pb_errf(eb, PB_ESTATE,
			      "draft %lld is not the latest of case %lld (draft %lld, v%d, is)",
			      (long long)want, (long long)c->id, (long long)d->id, d->version);
	else if (strcmp(d->state, "pending") && strcmp(d->state, "escalated"))
		err = pb_errf(eb, PB_ESTATE, "draft v%d of case %lld is %s already", d->version,
			      (long long)c->id, d->state);
	if (err)
		pb_store_draft_release(d);
	return err;
}

static bool offers_plan(const char *comp_json)
{
	cJSON *j = comp_json ? cJSON_Parse(comp_json) : NULL;
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "kind");
	bool yes = cJSON_IsString(k) && strcmp(k->valuestring, "none");

	cJSON_Delete(j);
	return yes;
}

static const char *currency_of(const char *comp_json, const case_ctx *x, char *buf, size_t n)
{
	cJSON *j = comp_json ? cJSON_Parse(comp_json) : NULL;
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "currency");

	if (cJSON_IsString(k) && *k->valuestring)
		snprintf(buf, n, "%s", k->valuestring);
	else if (x->has_order && *x->order.currency)
		snprintf(buf, n, "%s", x->order.currency);
	else
		buf[0] = '\0';
	cJSON_Delete(j);
	return buf[0] ? buf : NULL;
}

pb_err pb_case_approve(pb_store *st, const pb_kb *kb, pb_id case_id, pb_id draft_id,
		       const char *edited, const char *agent, int64_t now,
		       pb_case_approval *out, pb_errbuf *eb)
{
	bool own;
	static const char *const met[] = {"first_reply", "progress", "promise", "follow_up", NULL};
	static const char *const plan[] = {"first_plan", NULL};
	pb_store_case c;
	pb_store_draft d;
	pb_store_decision dec;
	pb_case_state state;
	case_ctx x;
	pb_promise ps[16];
	size_t n, i;
	const char *text;
	char cur[8], note[96], key[64], src[160], *lint = NULL;
	bool added;
	cJSON *p;
	pb_err err;

	memset(out, 0, sizeof *out);
	if (edited && (!*edited || strlen(edited) > MAX_REPLY))
		return pb_errf(eb, PB_EINVAL, "the edited reply must be 1 to %d bytes", MAX_REPLY);
	if (edited && !pb_utf8_valid(edited, strlen(edited)))
		return pb_errf(eb, PB_EUTF8, "the edited reply is not valid UTF-8");
	if ((err = begin(st, &own, eb)))
		return err;
	if ((err = load_case(st, case_id, &c, &state, eb)))
		return finish(st, own, err, eb);
	memset(&d, 0, sizeof d);
	memset(&x, 0, sizeof x);
	if (!pb_case_can(state, PB_CASE_SENT)) {
		err = pb_errf(eb, PB_ESTATE, "case %lld cannot go from %s to sent: nothing to approve",
			      (long long)case_id, c.state);
		goto out;
	}
	if ((err = open_draft(st, &c, draft_id, &d, eb)))
		goto out;
	/* Sending the draft's own words is approving it as it is. */
	if (edited && !strcmp(edited, d.text))
		edited = NULL;
	text = edited ? edited : d.text;
	if ((err = load_ctx(st, kb, &c, now, &x, eb)))
		goto out;
	if (edited) {
		pb_lint_ctx lc;
		memset(&lc, 0, sizeof lc);
		lc.problem = c.problem;
		lc.trace = x.has_trace ? &x.trace : NULL;
		lc.a = &x.a;
		lc.now = now;
		lc.currency = currency_of(d.compensation, &x, cur, sizeof cur);
		lc.order_amount = x.has_order ? x.order.amount : 0;
		if ((err = pb_lint(kb, text, strlen(text), &lc, &out->lint, eb)))
			goto out;
		if (!(lint = json_take(pb_lint_json(&out->lint, text)))) {
			err = pb_errf(eb, PB_ENOMEM, "out of memory");
			goto out;
		}
	}
	memset(&dec, 0, sizeof dec);
	dec.draft_id = d.id;
	dec.case_id = c.id;
	snprintf(dec.kind, sizeof dec.kind, "%s", edited ? "approve_edited" : "approve");
	dec.agent = (char *)agent;
	dec.at = now;
	dec.text = (char *)text;
	dec.lint = lint;
	if ((err = pb_store_decision_add(st, &dec, &out->decision_id, eb)) ||
	    (err = pb_store_draft_set_state(st, d.id, "approved", eb)) ||
	    (err = pb_store_agent_touch(st, agent, NULL, now, eb)))
		goto out;
	snprintf(key, sizeof key, "send_reply:%lld", (long long)d.id);
	p = action_json(&c, d.id, d.version);
	if (p) {
		cJSON_AddNumberToObject(p, "decision", (double)out->decision_id);
		cJSON_AddStringToObject(p, "text", text);
	}
	if ((err = queue(st, &c, "send_reply", key, p, now, &out->outbox_id, eb)))
		goto out;
	snprintf(note, sizeof note, "draft v%d approved%s", d.version, edited ? " with edits" : "");
	if ((err = pb_case_transition(st, &c, PB_CASE_SENT, agent, now, note, eb)))
		goto out;

	/* Deadlines: a reply meets the ones pending, and sets its own. */
	if ((err = pb_store_reminder_complete(st, c.id, met, now, NULL, eb)))
		goto out;
	if (offers_plan(d.compensation) &&
	    (err = pb_store_reminder_complete(st, c.id, plan, now, NULL, eb)))
		goto out;
	n = pb_lint_promises(text, strlen(text), now, tz(kb), ps, 16);
	for (i = 0; i < n && i < 16; i++) {
		if (ps[i].when <= now)
			continue; /* a past time is a lint finding, not a deadline */
		snprintf(src, sizeof src, "draft v%d promised \"%.*s\"", d.version, (int)ps[i].len,
			 text + ps[i].off);
		src[pb_utf8_clip(src, strlen(src), sizeof src - 1)] = '\0';
		if ((err = remind(st, c.id, PB_REM_PROMISE, ps[i].when, now, src, &added, eb)))
			goto out;
		out->reminders += added;
	}
	if (d.follow_up_due > now) {
		bool covered = false;
		/* The draft's deadline is usually the time its text promises:
		 * one deadline, not two. */
		for (i = 0; i < n && i < 16; i++)
			if (ps[i].when > d.follow_up_due - 900 && ps[i].when < d.follow_up_due + 900)
				covered = true;
		snprintf(src, sizeof src, "draft v%d follow-up deadline", d.version);
		if (!covered) {
			if ((err = remind(st, c.id, PB_REM_FOLLOW_UP, d.follow_up_due, now, src, &added,
					  eb)))
				goto out;
			out->reminders += added;
		}
	}
	if (stuck(&x.a) && (err = remind_service(st, kb, c.id, PB_REM_PROGRESS, now, eb)))
		goto out;
	if (!c.first_reply_at)
		c.first_reply_at = now;
	if (!c.owner && !(c.owner = strdup(agent))) {
		err = pb_errf(eb, PB_ENOMEM, "out of memory");
		goto out;
	}
	err = pb_store_case_update(st, &c, eb);
	out->draft_id = d.id;
	out->version = d.version;
	out->edited = edited != NULL;
out:
	free(lint);
	case_ctx_release(&x);
	pb_store_draft_release(&d);
	pb_store_case_release(&c);
	return finish(st, own, err, eb);
}

pb_err pb_case_reject(pb_store *st, pb_id case_id, const char *reason, const char *agent,
		      int64_t now, pb_errbuf *eb)
{
	bool own;
	pb_store_case c;
	pb_store_draft d;
	pb_store_decision dec;
	pb_case_state state;
	pb_err err;

	if (!reason || !*reason)
		return pb_errf(eb, PB_EINVAL, "a rejection needs a reason");
	if ((err = begin(st, &own, eb)))
		return err;
	if ((err = load_case(st, case_id, &c, &state, eb)))
		return finish(st, own, err, eb);
	memset(&d, 0, sizeof d);
	if (state == PB_CASE_RESOLVED || state == PB_CASE_CLOSED) {
		err = pb_errf(eb, PB_ESTATE, "case %lld is %s: nothing to reject", (long long)case_id,
			      c.state);
		goto out;
	}
	if ((err = open_draft(st, &c, 0, &d, eb)))
		goto out;
	memset(&dec, 0, sizeof dec);
	dec.draft_id = d.id;
	dec.case_id = c.id;
	snprintf(dec.kind, sizeof dec.kind, "reject");
	dec.agent = (char *)agent;
	dec.at = now;
	dec.reason = (char *)reason;
	/* The case stays where it is: its deadlines still run, and the
	 * agent now owes the buyer a reply of their own. */
	if (!(err = pb_store_decision_add(st, &dec, NULL, eb)) &&
	    !(err = pb_store_draft_set_state(st, d.id, "rejected", eb)))
		err = pb_store_agent_touch(st, agent, NULL, now, eb);
out:
	pb_store_draft_release(&d);
	pb_store_case_release(&c);
	return finish(st, own, err, eb);
}

pb_err pb_case_escalate(pb_store *st, pb_id case_id, const char *reason, const char *agent,
			int64_t now, pb_errbuf *eb)
{
	bool own;
	pb_store_case c;
	pb_store_draft d;
	pb_store_decision dec;
	pb_case_state state;
	pb_id event_id = 0;
	char key[64];
	cJSON *p;
	pb_err err;

	if ((err = begin(st, &own, eb)))
		return err;
	if ((err = load_case(st, case_id, &c, &state, eb)))
		return finish(st, own, err, eb);
	memset(&d, 0, sizeof d);
	if (!pb_case_can(state, PB_CASE_ESCALATED)) {
		err = pb_errf(eb, PB_ESTATE, "case %lld cannot go from %s to escalated",
			      (long long)case_id, c.state);
		goto out;
	}
	err = pb_store_draft_latest(st, c.id, &d, eb);
	if (err == PB_ENOTFOUND)
		err = PB_OK;
	if (err)
		goto out;
	if (d.id && strcmp(d.state, "pending"))
		pb_store_draft_release(&d); /* decided already: nothing to hand over */
	memset(&dec, 0, sizeof dec);
	dec.draft_id = d.id;
	dec.case_id = c.id;
	snprintf(dec.kind, sizeof dec.kind, "escalate");
	dec.agent = (char *)agent;
	dec.at = now;
	dec.reason = (char *)reason;
	if ((err = pb_store_decision_add(st, &dec, NULL, eb)) ||
	    (d.id && (err = pb_store_draft_set_state(st, d.id, "escalated", eb))) ||
	    (err = pb_store_agent_touch(st, agent, NULL, now, eb)) ||
	    (err = transition(st, &c, PB_CASE_ESCALATED, agent, now,
			      reason ? reason : "escalated by an agent", true, &event_id, eb)))
		goto out;
	/* Keyed by the transition that caused it: retrying the command after
	 * a crash either finds it committed or repeats all of it. */
	snprintf(key, sizeof key, "hand_off:case%lld:event%lld", (long long)c.id,
		 (long long)event_id);
	p = action_json(&c, d.id, d.version);
	if (p) {
		cJSON_AddStringToObject(p, "by", agent);
		cJSON_AddStringToObject(p, "reason", reason ? reason : "");
		cJSON_AddStringToObject(p, "brief", d.brief ? d.brief : "");
	}
	err = queue(st, &c, "hand_off", key, p, now, NULL, eb);
out:
	pb_store_draft_release(&d);
	pb_store_case_release(&c);
	return finish(st, own, err, eb);
}

pb_err pb_case_note(pb_store *st, pb_id case_id, const char *text, const char *agent,
		    int64_t now, pb_id *note_id, pb_errbuf *eb)
{
	bool own;
	pb_store_case c;
	pb_store_note n;
	pb_case_state state;
	pb_err err;

	if (!text || !*text)
		return pb_errf(eb, PB_EINVAL, "a note needs a text");
	if ((err = begin(st, &own, eb)))
		return err;
	if ((err = load_case(st, case_id, &c, &state, eb)))
		return finish(st, own, err, eb);
	memset(&n, 0, sizeof n);
	n.case_id = c.id;
	n.agent = (char *)agent;
	n.at = now;
	n.text = (char *)text;
	if (!(err = pb_store_note_add(st, &n, note_id, eb)))
		err = pb_store_agent_touch(st, agent, NULL, now, eb);
	pb_store_case_release(&c);
	return finish(st, own, err, eb);
}

pb_err pb_case_resolve(pb_store *st, const pb_kb *kb, pb_id case_id, const char *outcome,
		       const char *agent, int64_t now, pb_errbuf *eb)
{
	bool own;
	pb_store_case c;
	pb_case_state state;
	char note[96];
	pb_err err;

	if (!pb_case_outcome_valid(outcome))
		return pb_errf(eb, PB_EINVAL, "unknown outcome '%s' (one of: %s)",
			       outcome ? outcome : "", pb_case_outcomes());
	if ((err = begin(st, &own, eb)))
		return err;
	if ((err = load_case(st, case_id, &c, &state, eb)))
		return finish(st, own, err, eb);
	snprintf(note, sizeof note, "outcome: %s", outcome);
	free(c.outcome);
	if (!(c.outcome = strdup(outcome)))
		err = pb_errf(eb, PB_ENOMEM, "out of memory");
	if (!err && !(err = pb_case_transition(st, &c, PB_CASE_RESOLVED, agent, now, note, eb)) &&
	    !(err = pb_store_reminder_complete(st, c.id, NULL, now, NULL, eb)) &&
	    !(err = pb_store_draft_supersede(st, c.id, 0, NULL, eb)) &&
	    !(err = pb_store_agent_touch(st, agent, NULL, now, eb)))
		err = remind_service(st, kb, c.id, PB_REM_CHECK_BACK, now, eb);
	pb_store_case_release(&c);
	return finish(st, own, err, eb);
}

pb_err pb_case_close(pb_store *st, pb_id case_id, const char *agent, int64_t now,
		     pb_errbuf *eb)
{
	bool own;
	static const char *const back[] = {"check_back", NULL};
	pb_store_case c;
	pb_case_state state;
	pb_err err;

	if ((err = begin(st, &own, eb)))
		return err;
	if ((err = load_case(st, case_id, &c, &state, eb)))
		return finish(st, own, err, eb);
	if (!(err = pb_case_transition(st, &c, PB_CASE_CLOSED, agent, now, "checked back", eb)) &&
	    !(err = pb_store_reminder_complete(st, c.id, back, now, NULL, eb)))
		err = pb_store_agent_touch(st, agent, NULL, now, eb);
	pb_store_case_release(&c);
	return finish(st, own, err, eb);
}

pb_err pb_case_outbox_confirmed(pb_store *st, pb_id outbox_id, const char *actor, int64_t now,
				pb_errbuf *eb)
{
	bool own;
	pb_store_outbox_row r;
	pb_store_case c;
	pb_store_draft d;
	pb_case_state state, to = PB_CASE_STATE_COUNT_;
	cJSON *j = NULL;
	const cJSON *dj;
	pb_err err;

	if ((err = begin(st, &own, eb)))
		return err;
	memset(&c, 0, sizeof c);
	memset(&d, 0, sizeof d);
	if ((err = pb_store_outbox_get(st, outbox_id, &r, eb)))
		return finish(st, own, err, eb);
	if ((err = pb_store_outbox_sent(st, outbox_id, now, eb)) || !r.case_id)
		goto out;
	if ((err = load_case(st, r.case_id, &c, &state, eb)))
		goto out;
	if (!strcmp(r.kind, "post_draft") && state == PB_CASE_DRAFTED)
		to = PB_CASE_AWAITING_AGENT;
	else if (!strcmp(r.kind, "send_reply") && state == PB_CASE_SENT)
		to = PB_CASE_FOLLOWING_UP;
	if (to == PB_CASE_STATE_COUNT_)
		goto out;
	/* Only the confirmation of the latest draft's action moves the case:
	 * an older one arriving late says nothing about the current draft. */
	j = cJSON_Parse(r.payload);
	dj = cJSON_GetObjectItemCaseSensitive(j, "draft");
	if ((err = pb_store_draft_latest(st, c.id, &d, eb)))
		goto out;
	if (cJSON_IsNumber(dj) && (pb_id)dj->valuedouble == d.id)
		err = pb_case_transition(st, &c, to, actor, now,
					 to == PB_CASE_AWAITING_AGENT ? "draft posted to the agent"
								       : "reply delivered",
					 eb);
out:
	cJSON_Delete(j);
	pb_store_draft_release(&d);
	pb_store_case_release(&c);
	pb_store_outbox_row_release(&r);
	return finish(st, own, err, eb);
}

pb_err pb_case_escalate_overdue(pb_store *st, const pb_kb *kb, int64_t now, const char *actor,
				size_t *n, pb_errbuf *eb)
{
	bool own;
	pb_store_reminders due;
	pb_store_case c;
	pb_case_state state;
	char note[160], key[64], tb[40];
	size_t i, count = 0;
	cJSON *p;
	pb_err err;

	if (n)
		*n = 0;
	if ((err = begin(st, &own, eb)))
		return err;
	if ((err = pb_store_reminder_due(st, now, &due, eb)))
		return finish(st, own, err, eb);
	for (i = 0; i < due.n && !err; i++) {
		const pb_store_reminder *r = &due.v[i];
		if (r->escalated_at)
			continue;
		err = pb_store_reminder_escalate(st, r->id, now, eb);
		if (err == PB_ESTATE) {
			err = PB_OK;
			continue;
		}
		if (err || (err = load_case(st, r->case_id, &c, &state, eb)))
			break;
		snprintf(note, sizeof note, "%s reminder due %s is overdue: supervisor notified",
			 r->kind, fmt_time(r->due, tz(kb), tb, sizeof tb));
		snprintf(key, sizeof key, "notify_supervisor:%lld", (long long)r->id);
		p = action_json(&c, 0, 0);
		if (p) {
			cJSON_AddNumberToObject(p, "reminder", (double)r->id);
			cJSON_AddStringToObject(p, "kind", r->kind);
			cJSON_AddStringToObject(p, "due", tb);
			cJSON_AddNumberToObject(p, "severity", c.severity);
			cJSON_AddStringToObject(p, "state", c.state);
		}
		if (!(err = record_event(st, &c, "overdue", actor, now, note, eb)))
			err = queue(st, &c, "notify_supervisor", key, p, now, NULL, eb);
		else
			cJSON_Delete(p);
		pb_store_case_release(&c);
		count++;
	}
	pb_store_reminders_release(&due);
	if ((err = finish(st, own, err, eb)))
		return err;
	if (n)
		*n = count;
	return PB_OK;
}

/* ---- reading ---- */

static void add_time(cJSON *o, const char *key, int64_t t, int32_t off)
{
	char tb[40];

	if (t)
		cJSON_AddStringToObject(o, key, fmt_time(t, off, tb, sizeof tb));
	else
		cJSON_AddNullToObject(o, key);
}

static void add_str(cJSON *o, const char *key, const char *s)
{
	if (s)
		cJSON_AddStringToObject(o, key, s);
	else
		cJSON_AddNullToObject(o, key);
}

/* Stored JSON, parsed back; null when absent or unreadable. */
static void add_raw(cJSON *o, const char *key, const char *json)
{
	cJSON *j = json ? cJSON_Parse(json) : NULL;

	cJSON_AddItemToObject(o, key, j ? j : cJSON_CreateNull());
}

cJSON *pb_case_summary_json(const pb_store_case *c, int32_t off)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "id", (double)c->id);
	cJSON_AddStringToObject(o, "state", c->state);
	cJSON_AddNumberToObject(o, "severity", c->severity);
	add_str(o, "kind", c->kind);
	cJSON_AddStringToObject(o, "origin", c->origin);
	cJSON_AddNumberToObject(o, "contacts", c->contacts);
	cJSON_AddBoolToObject(o, "problem", c->problem);
	add_str(o, "channel", c->channel);
	add_str(o, "conversation", c->conversation);
	add_str(o, "buyer", c->buyer);
	add_str(o, "order", c->order_ref);
	add_str(o, "carrier", c->carrier);
	add_str(o, "number", c->number);
	cJSON_AddStringToObject(o, "lang", c->lang);
	add_str(o, "owner", c->owner);
	add_str(o, "outcome", c->outcome);
	add_time(o, "opened_at", c->opened_at, off);
	add_time(o, "updated_at", c->updated_at, off);
	add_time(o, "first_reply_at", c->first_reply_at, off);
	add_time(o, "resolved_at", c->resolved_at, off);
	add_time(o, "closed_at", c->closed_at, off);
	return o;
}

typedef struct tl_item {
	int64_t at;
	int rank; /* at the same instant: trace, message, events, draft, ... */
	int64_t id;
	cJSON *j;
} tl_item;

typedef struct timeline {
	tl_item *v;
	size_t n, cap;
	bool oom;
} timeline;

static cJSON *tl_add(timeline *tl, const char *type, int64_t at, int rank, int64_t id,
		     int32_t off)
{
	tl_item *it;
	cJSON *j;

	if (tl->oom)
		return NULL;
	if (tl->n == tl->cap) {
		size_t cap = tl->cap ? tl->cap * 2 : 32;
		tl_item *nv = realloc(tl->v, cap * sizeof *nv);
		if (!nv) {
			tl->oom = true;
			return NULL;
		}
		tl->v = nv;
		tl->cap = cap;
	}
	it = &tl->v[tl->n];
	j = cJSON_CreateObject();
	if (!j) {
		tl->oom = true;
		return NULL;
	}
	tl->n++;
	it->at = at;
	it->rank = rank;
	it->id = id;
	it->j = j;
	cJSON_AddStringToObject(j, "type", type);
	add_time(j, "at", at, off);
	if (id)
		cJSON_AddNumberToObject(j, "id", (double)id);
	return j;
}

static int tl_cmp(const void *a, const void *b)
{
	const tl_item *x = a, *y = b;

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	return x->id < y->id ? -1 : x->id > y->id;
}

void pb_case_draft_fields(cJSON *x, const pb_store_draft *d, int32_t off)
{
	if (d->message_id)
		cJSON_AddNumberToObject(x, "message", (double)d->message_id);
	cJSON_AddNumberToObject(x, "version", d->version);
	cJSON_AddStringToObject(x, "state", d->state);
	cJSON_AddNumberToObject(x, "severity", d->severity);
	cJSON_AddStringToObject(x, "action", d->action);
	cJSON_AddStringToObject(x, "lang", d->lang);
	add_str(x, "template", d->template_id);
	cJSON_AddStringToObject(x, "reply", d->text ? d->text : "");
	add_str(x, "brief", d->brief);
	add_raw(x, "compensation", d->compensation);
	add_time(x, "follow_up_due", d->follow_up_due, off);
	add_raw(x, "checklist", d->checklist);
	add_raw(x, "reasons", d->reasons);
	add_raw(x, "lint", d->lint);
}

pb_err pb_case_json(pb_store *st, const pb_kb *kb, pb_id case_id, cJSON **out, pb_errbuf *eb)
{
	int32_t off = tz(kb);
	pb_store_case c;
	pb_store_messages ms = {0};
	pb_store_events es = {0};
	pb_store_drafts ds = {0};
	pb_store_decisions dcs = {0};
	pb_store_notes ns = {0};
	pb_store_reminders rs = {0};
	pb_store_outbox_rows os = {0};
	pb_store_parcel parcel = {0};
	timeline tl = {NULL, 0, 0, false};
	cJSON *o = NULL, *j, *arr, *tr = NULL;
	char *order = NULL;
	size_t i;
	pb_err err;

	*out = NULL;
	if ((err = pb_store_case_get(st, case_id, &c, eb)))
		return err;
	if ((err = pb_store_message_list(st, c.id, &ms, eb)) ||
	    (err = pb_store_event_list(st, c.id, &es, eb)) ||
	    (err = pb_store_draft_list(st, c.id, NULL, &ds, eb)) ||
	    (err = pb_store_decision_list(st, c.id, &dcs, eb)) ||
	    (err = pb_store_note_list(st, c.id, &ns, eb)) ||
	    (err = pb_store_reminder_list(st, c.id, &rs, eb)) ||
	    (err = pb_store_outbox_list(st, c.id, &os, eb)) ||
	    (c.order_id && (err = pb_store_order_get(st, c.order_id, &order, eb))) ||
	    (c.parcel_id && (err = pb_store_parcel_get(st, c.parcel_id, &parcel, eb))))
		goto out;

	o = cJSON_CreateObject();
	if (!o)
		goto oom;
	cJSON_AddItemToObject(o, "case", pb_case_summary_json(&c, off));
	add_raw(o, "order", order);
	if (c.parcel_id) {
		j = cJSON_AddObjectToObject(o, "parcel");
		if (j) {
			cJSON_AddStringToObject(j, "carrier", parcel.carrier);
			cJSON_AddStringToObject(j, "number", parcel.number);
			add_time(j, "updated_at", parcel.updated_at, off);
			add_raw(j, "assessment", parcel.assessment);
		}
		tr = parcel.trace ? cJSON_Parse(parcel.trace) : NULL;
	} else {
		cJSON_AddNullToObject(o, "parcel");
	}

	/* Trace facts, as events in their own right. */
	arr = cJSON_GetObjectItemCaseSensitive(tr, "events");
	cJSON_ArrayForEach(j, arr)
	{
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "time");
		pb_when w;
		cJSON *x;
		if (!cJSON_IsString(t) || pb_time_parse(t->valuestring, off, &w))
			continue;
		x = tl_add(&tl, "trace", w.t, 0, 0, off);
		if (!x)
			break;
		cJSON_AddItemToObject(x, "state", cJSON_Duplicate(cJSON_GetObjectItem(j, "state"), 1));
		cJSON_AddItemToObject(x, "location",
				      cJSON_Duplicate(cJSON_GetObjectItem(j, "location"), 1));
		cJSON_AddItemToObject(x, "description",
				      cJSON_Duplicate(cJSON_GetObjectItem(j, "description"), 1));
	}
	for (i = 0; i < ms.n; i++) {
		const pb_store_message *m = &ms.v[i];
		cJSON *x = tl_add(&tl, "message", m->at, 1, m->id, off), *v;
		if (!x)
			break;
		cJSON_AddStringToObject(x, "direction", m->direction);
		add_str(x, "message_id", m->external_id);
		add_str(x, "author", m->author);
		cJSON_AddStringToObject(x, "text", m->text);
		v = m->verdict ? cJSON_Parse(m->verdict) : NULL;
		cJSON_AddItemToObject(x, "intents",
				      v ? cJSON_DetachItemFromObject(v, "intents") : cJSON_CreateArray());
		cJSON_AddItemToObject(x, "signals",
				      v ? cJSON_DetachItemFromObject(v, "signals") : cJSON_CreateArray());
		/* The phrases that matched, for a console to highlight. */
		cJSON_AddItemToObject(x, "matches",
				      v && cJSON_GetObjectItem(v, "matches")
					      ? cJSON_DetachItemFromObject(v, "matches")
					      : cJSON_CreateArray());
		cJSON_Delete(v);
	}
	for (i = 0; i < es.n; i++) {
		const pb_store_event *e = &es.v[i];
		cJSON *x = tl_add(&tl, "event", e->at, 2, e->id, off);
		if (!x)
			break;
		cJSON_AddStringToObject(x, "what", e->what);
		add_str(x, "from", e->from_state);
		cJSON_AddStringToObject(x, "to", e->to_state);
		cJSON_AddStringToObject(x, "actor", e->actor);
		add_str(x, "note", e->note);
	}
	for (i = 0; i < ds.n; i++) {
		const pb_store_draft *d = &ds.v[i];
		cJSON *x = tl_add(&tl, "draft", d->created_at, 3, d->id, off);
		if (!x)
			break;
		pb_case_draft_fields(x, d, off);
	}
	for (i = 0; i < dcs.n; i++) {
		const pb_store_decision *d = &dcs.v[i];
		cJSON *x = tl_add(&tl, "decision", d->at, 4, d->id, off);
		if (!x)
			break;
		cJSON_AddStringToObject(x, "kind", d->kind);
		cJSON_AddStringToObject(x, "agent", d->agent);
		if (d->draft_id)
			cJSON_AddNumberToObject(x, "draft", (double)d->draft_id);
		else
			cJSON_AddNullToObject(x, "draft");
		add_str(x, "text", d->text);
		add_str(x, "reason", d->reason);
		add_raw(x, "lint", d->lint);
	}
	for (i = 0; i < ns.n; i++) {
		const pb_store_note *nt = &ns.v[i];
		cJSON *x = tl_add(&tl, "note", nt->at, 5, nt->id, off);
		if (!x)
			break;
		cJSON_AddStringToObject(x, "agent", nt->agent);
		cJSON_AddStringToObject(x, "text", nt->text);
	}
	for (i = 0; i < rs.n; i++) {
		const pb_store_reminder *r = &rs.v[i];
		cJSON *x = tl_add(&tl, "reminder", r->created_at, 6, r->id, off);
		if (!x)
			break;
		cJSON_AddStringToObject(x, "kind", r->kind);
		add_time(x, "due", r->due, off);
		add_time(x, "done_at", r->done_at, off);
		add_time(x, "escalated_at", r->escalated_at, off);
		add_str(x, "source", r->source);
	}
	for (i = 0; i < os.n; i++) {
		const pb_store_outbox_row *r = &os.v[i];
		cJSON *x = tl_add(&tl, "action", r->created_at, 7, r->id, off);
		if (!x)
			break;
		cJSON_AddStringToObject(x, "kind", r->kind);
		cJSON_AddStringToObject(x, "key", r->key);
		add_time(x, "sent_at", r->sent_at, off);
		cJSON_AddNumberToObject(x, "attempts", r->attempts);
		add_str(x, "last_error", r->last_error);
	}
	if (tl.oom)
		goto oom;
	if (tl.n > 1)
		qsort(tl.v, tl.n, sizeof *tl.v, tl_cmp);
	arr = cJSON_AddArrayToObject(o, "timeline");
	if (!arr)
		goto oom;
	for (i = 0; i < tl.n; i++) {
		cJSON_AddItemToArray(arr, tl.v[i].j);
		tl.v[i].j = NULL;
	}
	*out = o;
	o = NULL;
	goto out;
oom:
	err = pb_errf(eb, PB_ENOMEM, "out of memory");
out:
	for (i = 0; i < tl.n; i++)
		cJSON_Delete(tl.v[i].j);
	free(tl.v);
	cJSON_Delete(o);
	cJSON_Delete(tr);
	free(order);
	pb_store_parcel_release(&parcel);
	pb_store_messages_release(&ms);
	pb_store_events_release(&es);
	pb_store_drafts_release(&ds);
	pb_store_decisions_release(&dcs);
	pb_store_notes_release(&ns);
	pb_store_reminders_release(&rs);
	pb_store_outbox_rows_release(&os);
	pb_store_case_release(&c);
	return err;
}
