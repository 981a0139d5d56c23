/*
 * UTF-8 at the edge. Text from outside (buyers, upstream JSON, files) is
 * checked here before anything else touches it: it is either rejected with
 * the offset of the first bad byte or repaired by replacing each bad sequence
 * with U+FFFD. Nothing unchecked reaches PCRE2.
 */
#ifndef PARCELBOT_UTF8_H
#define PARCELBOT_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parcelbot/buf.h"

/* Returns the offset of the first byte that is not part of a valid UTF-8
 * sequence (overlong forms, surrogates and code points above U+10FFFF are
 * invalid), or n when all n bytes are valid. NUL bytes are valid here. */
size_t pb_utf8_check(const char *s, size_t n);

static inline bool pb_utf8_valid(const char *s, size_t n)
{
	return pb_utf8_check(s, n) == n;
}

/* Appends s to out with every invalid sequence replaced by U+FFFD and NUL
 * bytes dropped. Returns PB_ETOOBIG when out's cap is reached. */
pb_err pb_utf8_repair(const char *s, size_t n, pb_buf *out);

/* Decodes the code point at *p (which must be valid UTF-8 before end) and
 * advances *p past it. */
uint32_t pb_utf8_next(const unsigned char **p, const unsigned char *end);

/* Encodes cp into out (4 bytes of room) and returns the byte count. */
size_t pb_utf8_put(uint32_t cp, char *out);

/* The largest length <= max that does not cut a code point of s in two. */
size_t pb_utf8_clip(const char *s, size_t n, size_t max);

/* Counts the code points in valid UTF-8. */
size_t pb_utf8_len(const char *s, size_t n);

#endif
