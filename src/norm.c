/*
 * Normalisation of single code points (see norm.h): full-width ASCII forms
 * to ASCII, CJK punctuation to its ASCII counterpart, zero-width characters
 * dropped, ASCII lower-cased, then the KB's fold table (traditional to
 * simplified characters).
 */
#include "parcelbot/norm.h"

#include <stddef.h>
#include <string.h>

#include "parcelbot/buf.h"
#include "parcelbot/utf8.h"

uint32_t pb_norm_cp(uint32_t *const *fold, uint32_t cp, const char **rep)
{
	*rep = NULL;
	if (cp < 0x80) {
		if (cp >= 'A' && cp <= 'Z')
			return cp + 32;
		return cp;
	}
	if (cp >= 0xFF01 && cp <= 0xFF5E) {
		cp -= 0xFEE0;
		if (cp >= 'A' && cp <= 'Z')
			cp += 32;
		return cp;
	}
	switch (cp) {
	case 0x00A0: case 0x3000: case 0x2002: case 0x2003: case 0x2009:
		return ' ';
	case 0x3001: case 0xFF64:
		return ',';
	case 0x3002: case 0xFF61:
		return '.';
	case 0x201C: case 0x201D: case 0x300C: case 0x300D:
		return '"';
	case 0x2018: case 0x2019:
		return '\'';
	case 0x3010: case 0x3014:
		return '[';
	case 0x3011: case 0x3015:
		return ']';
	case 0x2013: case 0x2014:
		return '-';
	case 0x2026:
		*rep = "...";
		return 0;
	case 0x200B: case 0x200C: case 0x200D: case 0xFEFF: case 0xFE0E: case 0xFE0F:
		return 0;
	case 0x212A: /* KELVIN SIGN matches 'k' caselessly */
		return 'k';
	case 0x017F: /* LATIN SMALL LETTER LONG S matches 's' */
		return 's';
	default:
		break;
	}
	if (cp < 0x10000 && fold) {
		const uint32_t *page = fold[cp >> 8];
		if (page && page[cp & 0xFF])
			return page[cp & 0xFF];
	}
	return cp;
}

int pb_normalise(uint32_t *const *fold, const char *s, size_t n, pb_buf *out)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	const char *rep;
	char b[4];
	uint32_t cp;
	pb_err err = PB_OK;

	while (p < end && !err) {
		cp = pb_norm_cp(fold, pb_utf8_next(&p, end), &rep);
		if (rep)
			err = pb_buf_puts(out, rep);
		else if (cp)
			err = pb_buf_append(out, b, pb_utf8_put(cp, b));
	}
	return err;
}
