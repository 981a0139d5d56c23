/*
 * The classifier: buyer text in, a pb_verdict out. Pure: the only inputs are
 * the KB and the text, and nothing is read from or written to the outside.
 *
 * A pb_classifier holds per-thread scratch memory (PCRE2 match data, the
 * normalised text, prefilter state) so that classifying does not allocate.
 * Use one per thread; the KB it was made for must outlive it.
 *
 * Text is normalised before matching: full-width forms become ASCII, ASCII
 * is lower-cased, traditional characters are folded to simplified ones (per
 * normalize.yaml) and zero-width characters are dropped. Spans in the
 * verdict always refer to the original text.
 */
#ifndef PARCELBOT_CLASSIFY_H
#define PARCELBOT_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parcelbot/err.h"
#include "parcelbot/kb.h"

struct cJSON;

/* Messages longer than this are classified on their first bytes only. */
#define PB_CLASSIFY_MAX_TEXT 16384
#define PB_VERDICT_MAX_HITS 48
#define PB_VERDICT_MAX_ENT 4
#define PB_MAX_NUMBER 40 /* bytes of an order or tracking number */

typedef struct pb_span {
	uint32_t off, len; /* bytes of the original text */
} pb_span;

typedef struct pb_hit {
	uint16_t rule;    /* index into kb->rules */
	uint32_t pattern; /* index into kb->patterns */
	pb_span span;
	bool suppressed;  /* fired, but a stronger intent removed it */
} pb_hit;

typedef enum pb_lang { PB_LANG_EN = 0, PB_LANG_ZH = 1 } pb_lang;

typedef struct pb_tracking_ref {
	char number[PB_MAX_NUMBER + 1]; /* upper-cased */
	pb_span span;
	uint16_t carriers[4]; /* indices into kb->carriers, most likely first */
	uint8_t n_carriers;
} pb_tracking_ref;

typedef struct pb_order_ref {
	char id[PB_MAX_NUMBER + 1];
	pb_span span;
} pb_order_ref;

typedef struct pb_duration {
	double hours;
	pb_span span;
} pb_duration;

typedef struct pb_entities {
	pb_order_ref orders[PB_VERDICT_MAX_ENT];
	size_t n_orders;
	pb_tracking_ref tracking[PB_VERDICT_MAX_ENT];
	size_t n_tracking;
	bool has_quantity;
	int ordered, received; /* -1 when the message does not say */
	pb_span quantity_span;
	uint32_t quantity_pattern; /* the extractor that found the quantity */
	pb_duration durations[PB_VERDICT_MAX_ENT];
	size_t n_durations;
} pb_entities;

typedef struct pb_verdict {
	uint64_t intents; /* bit i: kb->rules[i] (an intent) applies */
	uint64_t signals; /* bit i: kb->rules[n_intents + i] (a signal) applies */
	pb_hit hits[PB_VERDICT_MAX_HITS];
	size_t n_hits;
	pb_lang lang;
	pb_entities ent;
	bool truncated;      /* only the first PB_CLASSIFY_MAX_TEXT bytes were read */
	unsigned limit_hits; /* matches abandoned at the match limit */
} pb_verdict;

typedef struct pb_classifier pb_classifier;

/* Makes scratch space for classifying with kb. Returns NULL on ENOMEM. */
pb_classifier *pb_classifier_new(const pb_kb *kb);
void pb_classifier_free(pb_classifier *c);
/* For checking the prefilter: with false, every pattern is tried. */
void pb_classifier_use_prefilter(pb_classifier *c, bool on);

/* Classifies len bytes of text. Text that is not valid UTF-8 is refused with
 * PB_EUTF8 and the offset of the first bad byte in eb; repair it first with
 * pb_utf8_repair if it should be classified anyway. */
pb_err pb_classify(pb_classifier *c, const char *text, size_t len, pb_verdict *out, pb_errbuf *eb);

static inline bool pb_verdict_has_intent(const pb_verdict *v, int idx)
{
	return idx >= 0 && idx < 64 && (v->intents >> idx) & 1;
}

/* True when the verdict holds the intent or signal with this id. */
bool pb_verdict_has(const pb_kb *kb, const pb_verdict *v, const char *id);

/* Builds the JSON form used by `classify --jsonl` and the API:
 * {intents, signals, lang, entities, matches}. text is the classified text.
 * Returns NULL on ENOMEM; the caller owns the result (cJSON_Delete). */
struct cJSON *pb_verdict_json(const pb_kb *kb, const pb_verdict *v, const char *text, size_t len);

/* Parses a number written in digits, Chinese numerals (including 两 and
 * 十/百 forms) or small English words. Returns -1 when it is not one. */
double pb_parse_number(const char *s, size_t len);

#endif
