/*
 * Drafting: the buyer's message (already classified), the order, the trace
 * and its assessment, and the case's history, turned into the reply a
 * first-rate agent would write: apology first, the concrete facts, what the
 * shop has done, when the buyer will hear back, and what the policy offers.
 * Also the severity and why, the action (draft, escalate to a human, or
 * nothing), the follow-up deadline, a checklist for the agent and, for
 * escalations, a brief for the human who takes over. Pure: the time is
 * passed in and nothing outside the arguments is touched.
 */
#ifndef PARCELBOT_DRAFT_H
#define PARCELBOT_DRAFT_H

#include <stdbool.h>
#include <stdint.h>

#include "parcelbot/assess.h"
#include "parcelbot/classify.h"
#include "parcelbot/lint.h"
#include "parcelbot/order.h"
#include "parcelbot/policy.h"
#include "parcelbot/time.h"
#include "parcelbot/trace.h"

struct cJSON;

typedef enum pb_action { PB_ACT_NONE, PB_ACT_DRAFT, PB_ACT_ESCALATE } pb_action;

typedef struct pb_case_ctx {
	const char *case_id;  /* picks the template variant; any stable string */
	int contacts;         /* the buyer's earlier contacts on this open case */
	int64_t now;
	bool proactive;       /* outreach before the buyer asked: no message */
} pb_case_ctx;

typedef struct pb_reply {
	int severity;             /* 0..3 */
	pb_action action;
	pb_lang lang;
	char *text;               /* the reply; "" for PB_ACT_NONE */
	char *brief;              /* for escalations; "" otherwise */
	char *template_id;        /* "stuck_parcel.no_update" (+ secondary ids) */
	pb_comp_kind comp;
	double comp_amount;       /* coupon value or partial refund; 0 when none */
	char comp_currency[8];
	double comp_cap;          /* the policy cap for this currency */
	const char *comp_rule;    /* the policy rule that decided (KB-owned) */
	const char *comp_note;    /* what the offer includes (KB-owned), or NULL */
	bool has_follow_up;
	pb_when follow_up_due;
	pb_str_list checklist;
	pb_str_list reasons;      /* why this severity, one line each */
	pb_lint_result lint;      /* findings on the reply text */
} pb_reply;

/* Drafts a reply. message may be NULL for proactive outreach; order, trace
 * may be NULL; a must be the assessment of trace and order at ctx->now.
 * On success out owns its strings (release with pb_reply_release). */
pb_err pb_draft(const struct pb_kb *kb, const char *message, const pb_verdict *v,
		const pb_order *order, const pb_trace *trace, const pb_assessment *a,
		const pb_case_ctx *ctx, pb_reply *out, pb_errbuf *eb);

void pb_reply_release(pb_reply *r);
const char *pb_action_name(pb_action a);

/* The situation conditions are checked against (exposed for tests). */
void pb_draft_situation(const struct pb_kb *kb, const pb_verdict *v, const pb_order *order,
			const pb_assessment *a, int contacts, pb_situation *s);

/* {severity, action, reply, brief, template, compensation{kind, amount,
 * currency, cap, rule}, follow_up_due, checklist, reasons, lint}. */
struct cJSON *pb_reply_json(const struct pb_kb *kb, const pb_reply *r);

#endif
