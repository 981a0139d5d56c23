/*
 * Reply lint: checks a reply text (a draft, or an agent's edit) against what
 * good after-sales replies do and bad ones do not. Pure. Findings carry a
 * stable code, the span they concern and a one-line explanation an agent
 * understands, in the reply's language. The phrases each check looks for
 * live in kb/phrases.yaml.
 */
#ifndef PARCELBOT_LINT_H
#define PARCELBOT_LINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parcelbot/assess.h"
#include "parcelbot/classify.h"
#include "parcelbot/err.h"
#include "parcelbot/trace.h"

struct pb_kb;
struct cJSON;

typedef enum pb_lint_code {
	PB_LINT_APOLOGY_NOT_FIRST,     /* a problem, and the first sentence does not apologise */
	PB_LINT_BLAME_SHIFTING,        /* "快递的问题", "not our fault" */
	PB_LINT_BRUSH_OFF,             /* sends the buyer to the courier themselves */
	PB_LINT_VAGUE,                 /* no time commitment */
	PB_LINT_INTERROGATION_FIRST,   /* questions before any apology */
	PB_LINT_CONTRADICTS_TRACE,     /* says in transit when signed, or a place not in the trace */
	PB_LINT_PAST_PROMISE,          /* promises a time that has passed */
	PB_LINT_OVER_CAP,              /* offers more than the policy cap */
	PB_LINT_UNFILLED_PLACEHOLDER,  /* {{var}}, ${x}, %s, (null) */
	PB_LINT_COUNT_
} pb_lint_code;

#define PB_LINT_MAX 24

typedef struct pb_finding {
	pb_lint_code code;
	uint32_t off, len; /* bytes of the text */
	char msg[240];     /* one line, in the text's language */
} pb_finding;

typedef struct pb_lint_result {
	pb_finding f[PB_LINT_MAX];
	size_t n;
} pb_lint_result;

/* What the text is checked against. Every pointer may be NULL: the checks
 * that need it are then skipped. */
typedef struct pb_lint_ctx {
	bool problem;               /* the case is a problem: apology and a time are due */
	const pb_trace *trace;      /* for contradicts_trace */
	const pb_assessment *a;
	int64_t now;                /* for past_promise; 0 skips it */
	const char *currency;       /* for over_cap */
	double order_amount;        /* refunding this much is not "over the cap" */
} pb_lint_ctx;

/* Lints len bytes of UTF-8 text. Invalid UTF-8 is refused (PB_EUTF8). */
pb_err pb_lint(const struct pb_kb *kb, const char *text, size_t len, const pb_lint_ctx *ctx,
	       pb_lint_result *out, pb_errbuf *eb);

/* A time a reply promises ("今天18:00前", "by 18:00 tomorrow", "11月22日前"),
 * resolved to an instant. */
typedef struct pb_promise {
	int64_t when;      /* a date without a time of day means its last minute */
	uint32_t off, len; /* bytes of the text, with a day word just before it */
} pb_promise;

/* Finds the times text promises, read exactly as the past_promise check
 * reads them: dates without a year and times without a date are resolved
 * against now at the UTC offset tz_off (the shop's zone). Writes up to max
 * promises into out, in text order, and returns how many the text holds
 * (which may exceed max). Pure; text need not be NUL-terminated. */
size_t pb_lint_promises(const char *text, size_t len, int64_t now, int32_t tz_off,
			pb_promise *out, size_t max);

const char *pb_lint_code_name(pb_lint_code c);
/* [{code, start, end, text, message}], ownership to the caller. */
struct cJSON *pb_lint_json(const pb_lint_result *r, const char *text);

#endif
