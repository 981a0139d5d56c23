/*
 * The one growable byte buffer, with a size cap. Used for HTTP bodies, JSON,
 * messages and rendered replies. The contents are always NUL-terminated once
 * anything has been appended, so `data` can be used as a C string when the
 * bytes hold text. Appending past the cap fails with PB_ETOOBIG and leaves the
 * buffer as it was, so a huge upstream body can never exhaust memory.
 */
#ifndef PARCELBOT_BUF_H
#define PARCELBOT_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "parcelbot/err.h"

typedef struct pb_buf {
	char *data;  /* owned; NULL until the first append */
	size_t len;  /* bytes in use, not counting the NUL */
	size_t cap;  /* bytes allocated */
	size_t max;  /* largest len allowed */
} pb_buf;

#define PB_BUF_NOLIMIT SIZE_MAX

/* Sets up an empty buffer whose length may not exceed max bytes. */
void pb_buf_init(pb_buf *b, size_t max);
/* Makes room for extra more bytes (plus the NUL). */
pb_err pb_buf_reserve(pb_buf *b, size_t extra);
pb_err pb_buf_append(pb_buf *b, const void *p, size_t n);
pb_err pb_buf_puts(pb_buf *b, const char *s);
pb_err pb_buf_putc(pb_buf *b, char c);
pb_err pb_buf_printf(pb_buf *b, const char *fmt, ...) PB_PRINTF(2, 3);
pb_err pb_buf_vprintf(pb_buf *b, const char *fmt, va_list ap) PB_PRINTF(2, 0);
/* Appends what f holds, up to its end. The append's error (PB_ETOOBIG past
 * the buffer's max, PB_ENOMEM) when it does not fit, what fitted kept;
 * PB_EIO on a read error. f is not closed. */
pb_err pb_buf_read(pb_buf *b, FILE *f);
/* Empties the buffer, keeping its memory. */
void pb_buf_reset(pb_buf *b);
/* Frees the contents; the buffer can be reused after pb_buf_init. */
void pb_buf_release(pb_buf *b);
/* Hands the bytes to the caller, who frees them with free(); the buffer is
 * left empty. Returns an allocated empty string when nothing was appended,
 * or NULL when that allocation fails. */
char *pb_buf_detach(pb_buf *b, size_t *len);
/* Returns data, or "" when nothing has been appended. Never NULL. */
const char *pb_buf_str(const pb_buf *b);

#endif
