/*
 * The classifier's prefilter. Each regex is analysed for literal strings that
 * every match must contain: a list of "factors", each a set of alternatives
 * (a match contains at least one string of every factor). All literals of all
 * patterns go into one Aho-Corasick automaton; one pass over a message tells
 * which factors occur, and only patterns whose factors all occur are run.
 *
 * The analysis is conservative: a construct it does not understand makes the
 * pattern "always run", never "skipped". Text must be normalised the way the
 * classifier does it (ASCII lower-cased), since patterns are case-insensitive.
 */
#ifndef PARCELBOT_PREFILTER_H
#define PARCELBOT_PREFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parcelbot/err.h"

#define PB_PF_MAX_SET 64      /* strings in a cross product of literals */
#define PB_PF_MAX_UNION 192   /* alternatives in one factor */
#define PB_PF_MAX_FACTORS 4   /* factors kept per pattern */
#define PB_PF_MAX_LITERAL 48  /* bytes in one literal */

typedef struct pb_prefilter pb_prefilter;

/* One factor: a match contains at least one of these strings. */
typedef struct pb_pf_set {
	char **v;
	size_t n;
} pb_pf_set;

/* The factors found in one regex, for tests and `kb check`. */
typedef struct pb_pf_factors {
	size_t n;
	pb_pf_set f[PB_PF_MAX_FACTORS];
	bool understood; /* false: the pattern uses a construct the analysis skips */
} pb_pf_factors;

/* Analyses one regex (UTF-8, PCRE2 syntax, case-insensitive). Fills out with
 * the chosen factors; release with pb_pf_factors_release. */
pb_err pb_pf_analyze(const char *re, size_t len, pb_pf_factors *out);
void pb_pf_factors_release(pb_pf_factors *f);

pb_prefilter *pb_prefilter_new(void);
void pb_prefilter_free(pb_prefilter *pf);
/* Registers pattern number idx (dense, from 0) with its regex. Returns the
 * number of factors used (0: the pattern is always tried) or -1 on ENOMEM.
 * A NULL re registers a pattern that is never a candidate. */
int pb_prefilter_add(pb_prefilter *pf, uint32_t idx, const char *re, size_t len);
/* Builds the automaton once every pattern is added. */
pb_err pb_prefilter_build(pb_prefilter *pf);
size_t pb_prefilter_literals(const pb_prefilter *pf);
size_t pb_prefilter_states(const pb_prefilter *pf);

/* Per-thread scanning state. */
typedef struct pb_pf_scratch pb_pf_scratch;
pb_pf_scratch *pb_pf_scratch_new(const pb_prefilter *pf);
void pb_pf_scratch_free(pb_pf_scratch *s);

/* Scans text and returns the candidate patterns in increasing index order in
 * cands (room for max; the prefilter never yields more than the number of
 * patterns registered). Returns the count. */
size_t pb_prefilter_scan(const pb_prefilter *pf, pb_pf_scratch *s, const unsigned char *text,
			 size_t len, uint32_t *cands, size_t max);

#endif
