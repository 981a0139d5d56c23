/*
 * UTF-8 validation, repair and decoding. The validator follows the table of
 * well-formed byte sequences in the Unicode standard (chapter 3), so overlong
 * encodings and surrogates are refused exactly where the standard says.
 */
#include "parcelbot/utf8.h"

/* Length of the valid sequence starting at s[i], or 0 if it is invalid. */
static size_t seq_len(const unsigned char *s, size_t n, size_t i)
{
	unsigned char c = s[i], lo = 0x80, hi = 0xBF;
	size_t len, k;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else
		return 0;
	if (n - i < len)
		return 0;
	if (s[i + 1] < lo || s[i + 1] > hi)
		return 0;
	for (k = 2; k < len; k++)
		if (s[i + k] < 0x80 || s[i + k] > 0xBF)
			return 0;
	return len;
}

size_t pb_utf8_check(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, l;

	while (i < n) {
		/* Most chat text is ASCII or 3-byte CJK; the ASCII run is the
		 * hot path. */
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		l = seq_len(s, n, i);
		if (!l)
			return i;
		i += l;
	}
	return n;
}

pb_err pb_utf8_repair(const char *str, size_t n, pb_buf *out)
{
	static const char repl[] = "\xEF\xBF\xBD";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, start = 0, l;
	pb_err err = PB_OK;

	while (i < n) {
		l = s[i] ? seq_len(s, n, i) : 0;
		if (l) {
			i += l;
			continue;
		}
		err = pb_buf_append(out, s + start, i - start);
		if (!err && s[i])
			err = pb_buf_append(out, repl, 3);
		if (err)
			return err;
		/* Skip the lead byte and any continuation bytes after it, so one
		 * broken sequence becomes one replacement character. */
		i++;
		if (s[i - 1] >= 0xC0)
			while (i < n && s[i] >= 0x80 && s[i] <= 0xBF && !seq_len(s, n, i))
				i++;
		start = i;
	}
	err = pb_buf_append(out, s + start, n - start);
	return err;
}

uint32_t pb_utf8_next(const unsigned char **pp, const unsigned char *end)
{
	const unsigned char *p = *pp;
	uint32_t cp = *p++;

	if (cp >= 0xF0 && end - p >= 3) {
		cp = ((cp & 0x07) << 18) | ((uint32_t)(p[0] & 0x3F) << 12) |
		     ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
		p += 3;
	} else if (cp >= 0xE0 && end - p >= 2) {
		cp = ((cp & 0x0F) << 12) | ((uint32_t)(p[0] & 0x3F) << 6) | (p[1] & 0x3F);
		p += 2;
	} else if (cp >= 0xC0 && end - p >= 1) {
		cp = ((cp & 0x1F) << 6) | (p[0] & 0x3F);
		p += 1;
	}
	*pp = p;
	return cp;
}

size_t pb_utf8_put(uint32_t cp, char *out)
{
	unsigned char *o = (unsigned char *)out;

	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xC0 | (cp >> 6));
		o[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xE0 | (cp >> 12));
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (unsigned char)(0xF0 | (cp >> 18));
	o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

size_t pb_utf8_clip(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return max;
}

size_t pb_utf8_len(const char *s, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			c++;
	return c;
}
