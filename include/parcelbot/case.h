/*
 * Cases: the closed loop. Every buyer problem becomes a case with a state,
 * deadlines and a history, so nothing falls through a shift change, a
 * restart or a crash. This module decides what happens to a case; the
 * store (store.h) only keeps it, and no SQL appears here.
 *
 * One case per order (or per conversation, when there is no order) and
 * problem kind is open at a time. A new message about the same problem
 * joins it and counts as a repeat contact, which raises the severity of
 * its draft (the third contact is severe).
 *
 * States and the transitions allowed between them (pb_case_can):
 *
 *   new ──▶ drafted ──▶ awaiting_agent ──▶ sent ──▶ following_up ──▶ resolved ──▶ closed
 *
 *   drafted         a draft is waiting for an agent
 *   awaiting_agent  the channel confirmed the draft is in the agent's console
 *   sent            an agent approved a reply; it is queued in the outbox
 *   following_up    the channel confirmed the reply; deadlines run
 *   escalated       a human took over (severe, or an agent escalated)
 *   resolved        an outcome is recorded; the check-back is due
 *   closed          checked back; a new message opens a new case
 *   reopened        the buyer wrote again about a resolved or closed case
 *
 * A new message's draft moves sent, following_up, awaiting_agent and
 * reopened cases back to drafted; anything open can be escalated or
 * resolved. Illegal transitions are refused with PB_ESTATE. Every
 * transition is recorded (time, actor, from, to, note).
 *
 * Every function that changes several things does so in one transaction
 * of its own, or inside the caller's (who rolls it back if the function
 * fails), and writes the outbox rows its change causes in that same
 * transaction, under deterministic idempotency keys: a crash and a retry
 * never queue an action twice.
 */
#ifndef PARCELBOT_CASE_H
#define PARCELBOT_CASE_H

#include <stdbool.h>
#include <stdint.h>

#include "parcelbot/lint.h"
#include "parcelbot/pipeline.h"
#include "parcelbot/store.h"

struct pb_kb;
struct pb_policy;
struct cJSON;

typedef enum pb_case_state {
	PB_CASE_NEW,
	PB_CASE_DRAFTED,
	PB_CASE_AWAITING_AGENT,
	PB_CASE_SENT,
	PB_CASE_FOLLOWING_UP,
	PB_CASE_RESOLVED,
	PB_CASE_CLOSED,
	PB_CASE_ESCALATED,
	PB_CASE_REOPENED,
	PB_CASE_STATE_COUNT_
} pb_case_state;

const char *pb_case_state_name(pb_case_state s);
/* -1 for a name that is not a state. */
int pb_case_state_from_name(const char *name);
/* The transition table. Pure. */
bool pb_case_can(pb_case_state from, pb_case_state to);

/* Moves c to `to`: refuses an illegal transition (PB_ESTATE, naming both
 * states), sets the state and its times in c, writes c and records the
 * event. */
pb_err pb_case_transition(pb_store *st, pb_store_case *c, pb_case_state to, const char *actor,
			  int64_t now, const char *note, pb_errbuf *eb);

/* ---- reminders ---- */

typedef enum pb_reminder_kind {
	PB_REM_FIRST_REPLY, /* policy first_reply after the case opened */
	PB_REM_FIRST_PLAN,  /* policy first_plan: a concrete offer or an outcome */
	PB_REM_PROGRESS,    /* policy progress_update after each reply while stuck */
	PB_REM_PROMISE,     /* a time the sent reply promised */
	PB_REM_FOLLOW_UP,   /* the draft's own follow-up deadline */
	PB_REM_CHECK_BACK,  /* policy check_back after resolution */
	PB_REM_COUNT_
} pb_reminder_kind;

const char *pb_reminder_kind_name(pb_reminder_kind k);

/* When a service-level reminder set at `from` is due: the policy's hours
 * for it, multiplied by the peak factor when `from` is in a peak season.
 * Promise and follow-up reminders carry their own time: 0 for them. */
int64_t pb_case_service_due(const struct pb_policy *p, pb_reminder_kind k, int64_t from);

/* ---- a buyer's message and its case ---- */

typedef enum pb_case_join {
	PB_JOIN_NONE,    /* no open case fits: open one if the message raises a problem */
	PB_JOIN_CONTACT, /* about this case: a (repeat) contact */
	PB_JOIN_ATTACH,  /* not about a problem ("thanks"): kept with the case only */
} pb_case_join;

/* The problem kind of a verdict: the leading intent (by the replies'
 * priority), else the first signal; NULL when the message raises neither. */
const char *pb_case_kind(const struct pb_kb *kb, const pb_verdict *v);

/* Finds the open case a message with verdict v belongs to within scope
 * ("order:<id>" or "conv:<id>"):
 *  - the open case of the same kind;
 *  - else, for a question that is not a problem in itself (where is it,
 *    hurry up, change the address) or a signal alone (a complaint threat),
 *    the scope's most recently active open case; for a problem, an open
 *    proactive case of the scope (the shop wrote first);
 *  - for a message raising nothing, the scope's most recently active open
 *    case, to attach it to.
 * *how says which; on PB_JOIN_NONE out is empty. */
pb_err pb_case_find_for_message(pb_store *st, const struct pb_kb *kb, const char *scope,
				const pb_verdict *v, pb_store_case *out, pb_case_join *how,
				pb_errbuf *eb);

typedef struct pb_case_open_args {
	const char *scope, *kind;
	const char *origin;   /* "buyer" or "watch" */
	pb_id conversation_id, order_id, parcel_id;
	bool problem;
	const char *lang;     /* "zh" or "en" */
	int64_t now;
	const char *actor;
} pb_case_open_args;

/* Opens a case in state new, records it, and sets the first-reply
 * reminder (and the first-plan one for a problem). PB_EEXIST when one is
 * open for the scope and kind already. out is released by the caller. */
pb_err pb_case_open(pb_store *st, const struct pb_kb *kb, const pb_case_open_args *a,
		    pb_store_case *out, pb_errbuf *eb);

/* What the pipeline made of a message that joined c (how, from
 * pb_case_find_for_message): reopens a resolved or closed case, counts a
 * contact, and for a contact with something to draft stores the draft
 * (superseding pending ones) with its outbox row, post_draft or hand_off,
 * and moves the case on (drafted, or escalated). in->contacts must be
 * c->contacts as found. *draft_id (may be NULL) gets the new draft, 0 when
 * none. */
pb_err pb_case_take_message(pb_store *st, const struct pb_kb *kb, pb_store_case *c,
			    pb_case_join how, pb_id message_id, const pb_case_input *in,
			    const pb_case_result *r, const char *actor, pb_id *draft_id,
			    pb_errbuf *eb);

/* Stores the outreach draft of a proactive case (the shop writes first:
 * in->message is NULL) with its outbox row, and moves c on as a buyer's
 * message would, without counting a contact: the buyer has not written.
 * *draft_id (may be NULL) gets the new draft. */
pb_err pb_case_outreach(pb_store *st, const struct pb_kb *kb, pb_store_case *c,
			const pb_case_input *in, const pb_case_result *r, const char *actor,
			pb_id *draft_id, pb_errbuf *eb);

/* ---- an agent's decisions ---- */

typedef struct pb_case_approval {
	pb_id draft_id, decision_id, outbox_id;
	int version;            /* the draft version approved */
	bool edited;
	pb_lint_result lint;    /* findings on the edited text (none when not edited) */
	size_t reminders;       /* promise and follow-up reminders set */
} pb_case_approval;

/* Approves the case's latest draft (draft_id 0), or exactly draft_id,
 * which must be the latest, as it is or with the agent's edited text.
 * Edited text is linted against the case's trace and order at now and the
 * findings are kept with the decision. Queues send_reply, moves the case
 * to sent, completes the reply deadlines and sets a reminder for every
 * time the sent text promises, the draft's follow-up deadline, and a
 * progress update while the parcel is stuck. */
pb_err pb_case_approve(pb_store *st, const struct pb_kb *kb, pb_id case_id, pb_id draft_id,
		       const char *edited, const char *agent, int64_t now,
		       pb_case_approval *out, pb_errbuf *eb);
/* Rejects the latest draft, with a reason (required). */
pb_err pb_case_reject(pb_store *st, pb_id case_id, const char *reason, const char *agent,
		      int64_t now, pb_errbuf *eb);
/* Hands the case to a human: escalated, the latest draft with it, and a
 * hand_off row. reason may be NULL. */
pb_err pb_case_escalate(pb_store *st, pb_id case_id, const char *reason, const char *agent,
			int64_t now, pb_errbuf *eb);
/* A note for the next shift. */
pb_err pb_case_note(pb_store *st, pb_id case_id, const char *text, const char *agent,
		    int64_t now, pb_id *note_id, pb_errbuf *eb);
/* True for the outcomes resolve accepts (reshipped, refunded, ...). */
bool pb_case_outcome_valid(const char *outcome);
/* The accepted outcomes, comma-separated, for messages and help. */
const char *pb_case_outcomes(void);
/* Records the outcome, completes the open deadlines, drops pending drafts
 * and sets the check-back reminder. */
pb_err pb_case_resolve(pb_store *st, const struct pb_kb *kb, pb_id case_id, const char *outcome,
		       const char *agent, int64_t now, pb_errbuf *eb);
/* Checked back with the buyer: closes a resolved case. */
pb_err pb_case_close(pb_store *st, pb_id case_id, const char *agent, int64_t now,
		     pb_errbuf *eb);

/* The channel confirmed an outbox row: marks it sent, and moves a drafted
 * case to awaiting_agent (post_draft) or a sent one to following_up
 * (send_reply). */
pb_err pb_case_outbox_confirmed(pb_store *st, pb_id outbox_id, const char *actor, int64_t now,
				pb_errbuf *eb);

/* Escalates every reminder due at now that has not been: a case event and
 * a notify_supervisor outbox row for each, exactly once however often this
 * runs. *n (may be NULL) counts the reminders escalated now. */
pb_err pb_case_escalate_overdue(pb_store *st, const struct pb_kb *kb, int64_t now,
				const char *actor, size_t *n, pb_errbuf *eb);

/* ---- reading a case ---- */

/* A case as listed: {id, state, severity, kind, origin, contacts, channel,
 * conversation, buyer, order, carrier, number, lang, owner, outcome and its
 * times}. Times are ISO 8601 at tz_off. Caller owns the result. */
struct cJSON *pb_case_summary_json(const pb_store_case *c, int32_t tz_off);
/* Adds a draft's fields to x: message (the id of the message it answers,
 * when there is one), version, state, severity, action, lang,
 * template, reply, brief, compensation, follow_up_due, checklist, reasons
 * and lint (the last five as JSON). */
void pb_case_draft_fields(struct cJSON *x, const pb_store_draft *d, int32_t tz_off);
/* The whole case: {case, order, parcel, timeline}, the timeline being its
 * messages, trace events, drafts (every version), decisions, notes,
 * reminders, outbox actions and state events, in the order they happened.
 * *out is the caller's. */
pb_err pb_case_json(pb_store *st, const struct pb_kb *kb, pb_id case_id, struct cJSON **out,
		    pb_errbuf *eb);

#endif
