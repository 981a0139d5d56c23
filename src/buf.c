/*
 * The capped growable buffer. Growth doubles so appends are amortised O(1);
 * the cap is checked before any allocation.
 */
#include "parcelbot/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pb_buf_init(pb_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

pb_err pb_buf_reserve(pb_buf *b, size_t extra)
{
	size_t need, ncap;
	char *p;

	if (extra > b->max - b->len)
		return PB_ETOOBIG;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return PB_OK;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	p = realloc(b->data, ncap);
	if (!p)
		return PB_ENOMEM;
	b->data = p;
	b->cap = ncap;
	return PB_OK;
}

pb_err pb_buf_append(pb_buf *b, const void *p, size_t n)
{
	pb_err err = pb_buf_reserve(b, n);

	if (err)
		return err;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return PB_OK;
}

pb_err pb_buf_read(pb_buf *b, FILE *f)
{
	char chunk[8192];
	size_t n;
	pb_err err;

	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		if ((err = pb_buf_append(b, chunk, n)))
			return err;
	return ferror(f) ? PB_EIO : PB_OK;
}

pb_err pb_buf_puts(pb_buf *b, const char *s)
{
	return pb_buf_append(b, s, strlen(s));
}

pb_err pb_buf_putc(pb_buf *b, char c)
{
	return pb_buf_append(b, &c, 1);
}

pb_err pb_buf_vprintf(pb_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;
	pb_err err;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return PB_EINVAL;
	err = pb_buf_reserve(b, (size_t)n);
	if (err)
		return err;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return PB_OK;
}

pb_err pb_buf_printf(pb_buf *b, const char *fmt, ...)
{
	va_list ap;
	pb_err err;

	va_start(ap, fmt);
	err = pb_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return err;
}

void pb_buf_reset(pb_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void pb_buf_release(pb_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *pb_buf_detach(pb_buf *b, size_t *len)
{
	char *p = b->data;

	if (!p) {
		p = calloc(1, 1);
		if (!p)
			return NULL;
	}
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

const char *pb_buf_str(const pb_buf *b)
{
	return b->data ? b->data : "";
}
