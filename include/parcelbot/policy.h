/*
 * The shop's policy, loaded from kb/policy.yaml: anomaly thresholds (with
 * tighter ones for perishable goods), severity and escalation rules, the
 * compensation table with per-currency amounts and caps, service-level
 * times, follow-up promises and peak seasons. Also kb/tracking.yaml: how
 * carrier event texts are read (where a parcel was left, what an exception
 * was). Part of the immutable pb_kb.
 */
#ifndef PARCELBOT_POLICY_H
#define PARCELBOT_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "parcelbot/assess.h"
#include "parcelbot/kb.h"

typedef enum pb_comp_kind {
	PB_COMP_NONE = 0,
	PB_COMP_COUPON,
	PB_COMP_PARTIAL_REFUND,
	PB_COMP_REFUND,
	PB_COMP_RESHIP,
	PB_COMP_RESHIP_OR_REFUND,
	PB_COMP_EXCHANGE,
	PB_COMP_COUNT_
} pb_comp_kind;

const char *pb_comp_name(pb_comp_kind k);
int pb_comp_from_name(const char *name); /* -1 when unknown */

typedef struct pb_thresholds {
	double no_update;     /* hours without an event */
	double stuck_at_node; /* hours at one node */
	double not_picked_up; /* hours with only "info received" */
	double no_trace;      /* hours after shipping with no event */
	double not_shipped;   /* hours after payment with no parcel */
} pb_thresholds;

/* A condition: every field that is set must hold. Lists mean "any of". */
typedef struct pb_cond {
	uint64_t intents;   /* bit per intent (rule index); 0: not set */
	uint64_t signals;   /* bit per signal (index - n_intents) */
	uint32_t anomalies; /* bit per pb_anomaly */
	uint32_t states;    /* bit per pb_pstate of the newest event */
	uint32_t places;    /* bit per pb_place */
	double min_hours_since_update; /* < 0: not set */
	int min_contacts;   /* < 0: not set */
	int perishable;     /* -1: not set, else 0 or 1 */
	int high_value;     /* -1: not set */
	int problem;        /* -1: not set; 1: a problem intent or any anomaly */
	int has_trace;      /* -1: not set; 1: at least one tracking event */
	int shipped;        /* -1: not set; 1: the order has a parcel */
	int stale;          /* -1: not set; 1: the trace is from cache */
} pb_cond;

/* What a condition is checked against: one case at one moment. */
typedef struct pb_situation {
	uint64_t intents, signals;
	uint32_t anomalies;
	pb_pstate state;
	pb_place place;
	double hours_since_update; /* < 0 when unknown */
	int contacts;       /* earlier contacts on the same open case */
	bool perishable, high_value, problem, has_trace, stale;
	int shipped;        /* 1 yes, 0 no, -1 unknown (no order and no parcel) */
} pb_situation;

/* A condition with nothing set: it always holds. */
void pb_cond_init(pb_cond *c);
bool pb_cond_holds(const pb_cond *c, const pb_situation *s);

typedef struct pb_money {
	char currency[8];   /* ISO code; "default" for all others */
	double coupon;      /* the small apology coupon */
	double coupon_large;
	double cap;         /* most extra compensation a reply may offer */
	double high_value;  /* order amount from which a problem is severe */
} pb_money;

typedef struct pb_comp_rule {
	char *id;
	pb_cond when;
	pb_comp_kind offer;
	int coupon;          /* 0 none, 1 the small coupon, 2 the large one */
	double refund_share; /* partial refunds: share of the order amount */
	char *note;          /* what the offer includes, for agents */
	const char *file;
	int line;
} pb_comp_rule;

typedef struct pb_follow_up {
	double hours;  /* promise an answer within this many hours, or */
	int by_minute; /* >= 0: by this time of day (minutes), the next day */
} pb_follow_up;

typedef struct pb_peak {
	char *name;
	int from_md, to_md; /* month * 100 + day, inclusive; may wrap the year */
} pb_peak;

typedef struct pb_text_rule {
	int kind;      /* a pb_place or a pb_exkind */
	void *code;    /* compiled PCRE2 pattern */
	char *source;
} pb_text_rule;

typedef struct pb_policy {
	int32_t tz_off;             /* the shop's UTC offset, seconds */
	pb_thresholds normal, perishable;
	pb_str_list perishable_categories;
	pb_cond *sev3, *sev2;       /* any one makes severity 3 / 2 */
	size_t n_sev3, n_sev2;
	int escalate_at;            /* severity from which a human takes over */
	pb_money *money;
	size_t n_money;
	int coupon_valid_days;
	pb_comp_rule *comp;
	size_t n_comp;
	double first_reply, first_plan, progress_update, check_back; /* hours */
	pb_follow_up follow_default;
	pb_follow_up follow[PB_KB_MAX_INTENTS]; /* per intent; hours < 0: default */
	pb_peak *peaks;
	size_t n_peaks;
	double peak_factor;
	/* The monthly review flags a carrier for replacement when more than
	 * this share of its parcels was delayed in each of three months. */
	double carrier_delay_limit;
	/* tracking.yaml */
	pb_text_rule *places, *exceptions;
	size_t n_places, n_exceptions;
} pb_policy;

/* Parses a condition map (the keys of pb_cond) for any KB section. */
struct pb_kbl;
void pb_kbl_cond(struct pb_kbl *L, const pb_ydoc *doc, const pb_ynode *m, pb_cond *c);

/* The money row for a currency (the "default" row when it has none). */
const pb_money *pb_policy_money(const pb_policy *p, const char *currency);
/* True when the day of `now` (at the policy's offset) is in a peak season. */
bool pb_policy_is_peak(const pb_policy *p, int64_t now);
/* The thresholds for an order of this category. */
const pb_thresholds *pb_policy_thresholds(const pb_policy *p, const char *category,
					  bool *perishable);

#endif
