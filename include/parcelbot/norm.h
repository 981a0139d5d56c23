/*
 * Character normalisation shared by the classifier and the KB loader. Buyer
 * text is normalised before matching, so patterns must be written in the
 * normalised form; the loader uses pb_norm_cp to reject patterns containing
 * characters that can never appear in normalised text.
 */
#ifndef PARCELBOT_NORM_H
#define PARCELBOT_NORM_H

#include <stddef.h>
#include <stdint.h>

/* Folds one code point. fold is the KB's table (may be NULL). Returns the
 * code point to emit, or 0 to drop it; when *rep is set, emit that ASCII
 * string instead. ASCII letters are lower-cased. */
uint32_t pb_norm_cp(uint32_t *const *fold, uint32_t cp, const char **rep);

struct pb_buf;
/* Appends the normalised form of n bytes of valid UTF-8 to out (used for
 * texts other than buyer messages, such as carrier event descriptions). */
int pb_normalise(uint32_t *const *fold, const char *s, size_t n, struct pb_buf *out);

#endif
