/*
 * Character normalisation shared by the classifier and the KB loader. Buyer
 * text is normalised before matching, so patterns must be written in the
 * normalised form; the loader uses pb_norm_cp to reject patterns containing
 * characters that can never appear in normalised text.
 */
#ifndef PARCELBOT_NORM_H
#define PARCELBOT_NORM_H

#include <stdint.h>

/* Folds one code point. fold is the KB's table (may be NULL). Returns the
 * code point to emit, or 0 to drop it; when *rep is set, emit that ASCII
 * string instead. ASCII letters are lower-cased. */
uint32_t pb_norm_cp(uint32_t *const *fold, uint32_t cp, const char **rep);

#endif
