/*
 * Reply templates and phrases, loaded from kb/replies/ (one YAML file per intent) and
 * kb/phrases.yaml into the immutable pb_kb. The drafting module fills the
 * templates; the lint module uses the phrases.
 *
 * A template belongs to one intent (or to proactive outreach), applies when
 * its condition holds, and has several variants per language so replies do
 * not read as canned. Each variant has up to five sections, rendered in
 * order with the policy's offer between action and promise:
 *   open (the first sentence: the apology), facts, action, promise, close.
 */
#ifndef PARCELBOT_REPLIES_H
#define PARCELBOT_REPLIES_H

#include <stddef.h>

#include "parcelbot/lint.h"
#include "parcelbot/policy.h"

enum { PB_PART_OPEN, PB_PART_FACTS, PB_PART_ACTION, PB_PART_PROMISE, PB_PART_CLOSE,
       PB_PART_COUNT_ };

/* Index 0 is English, 1 is Chinese, as pb_lang. */
#define PB_NLANG 2

typedef struct pb_variant {
	char *part[PB_PART_COUNT_]; /* NULL when a section is absent */
} pb_variant;

typedef struct pb_template {
	char *id;
	int intent;       /* rule index, or -1 for proactive outreach */
	pb_cond when;
	pb_variant *v[PB_NLANG];
	size_t n[PB_NLANG];
	const char *file;
	int line;
} pb_template;

typedef struct pb_texts {
	char **v;
	size_t n;
} pb_texts;

/* How one kind of offer is worded, in the situations its condition covers
 * (a reship for a lost parcel reads differently from one for missing
 * items). */
typedef struct pb_offer_text {
	pb_comp_kind kind;
	pb_cond when;
	pb_texts text[PB_NLANG];
} pb_offer_text;

/* A checklist item for the agent: applies when its condition holds. */
typedef struct pb_check {
	int intent;       /* rule index, or -1 for any */
	pb_cond when;
	char *text[PB_NLANG];
} pb_check;

typedef struct pb_replies {
	pb_template *t;            /* in file order */
	size_t n;
	int priority[64];          /* intents, most important first */
	size_t n_priority;
	pb_offer_text *offer;      /* in file order; the first that applies is used */
	size_t n_offer;
	pb_texts coupon[PB_NLANG];   /* the coupon sentence */
	pb_texts apology[PB_NLANG];  /* prepended when a draft lacks one */
	pb_texts peak[PB_NLANG];     /* said in peak season */
	pb_texts stale[PB_NLANG];    /* said when the trace is from cache */
	pb_texts untraced[PB_NLANG]; /* said when no trace could be had at all */
	pb_texts brief[PB_NLANG];    /* the case brief for escalations */
	char *state_name[PB_ST_COUNT_][PB_NLANG];
	char *place_name[PB_PLACE_COUNT_][PB_NLANG];
	char *upgrade_carrier[PB_NLANG];
	pb_check *check;
	size_t n_check;
} pb_replies;

/* Compiled phrase patterns for the lint, one list per purpose. */
typedef struct pb_phrases {
	void *apology, *question, *blame, *brush_off, *vague, *commitment;
	void *in_transit, *delivered, *hub;
	char *explain[PB_LINT_COUNT_][PB_NLANG];
} pb_phrases;

/* The variables templates may use; any other {{name}} is a KB error. */
extern const char *const pb_template_vars[];

#endif
