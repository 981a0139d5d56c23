/*
 * Error names and the helpers that fill a pb_errbuf. Kept tiny: every module
 * links this, and none of it may fail.
 */
#include "parcelbot/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const names[PB_ERR_COUNT_] = {
	[PB_OK] = "success",
	[PB_ENOMEM] = "out of memory",
	[PB_EINVAL] = "invalid input",
	[PB_EIO] = "input/output error",
	[PB_EPARSE] = "malformed data",
	[PB_EUTF8] = "invalid UTF-8",
	[PB_ETOOBIG] = "too large",
	[PB_EKB] = "invalid knowledge base",
	[PB_ECONFIG] = "invalid configuration",
	[PB_EHTTP] = "HTTP transfer failed",
	[PB_ETIMEOUT] = "timed out",
	[PB_EUPSTREAM] = "upstream error",
	[PB_ERATELIMIT] = "rate limited by upstream",
	[PB_ENOTFOUND] = "not found",
	[PB_EDB] = "store error",
	[PB_ESTATE] = "not allowed in the current state",
	[PB_EEXIST] = "already exists",
	[PB_EAUTH] = "authentication failed",
	[PB_ELIMIT] = "limit reached",
};

const char *pb_strerror(pb_err err)
{
	if ((int)err < 0 || err >= PB_ERR_COUNT_)
		return "unknown error";
	return names[err];
}

/* The parentheses keep the analyzer's pb_errf macro (err.h) out. */
pb_err (pb_errf)(pb_errbuf *eb, pb_err code, const char *fmt, ...)
{
	va_list ap;

	if (eb) {
		va_start(ap, fmt);
		vsnprintf(eb->msg, sizeof eb->msg, fmt, ap);
		va_end(ap);
	}
	return code;
}

void pb_err_prefix(pb_errbuf *eb, const char *fmt, ...)
{
	char pre[256];
	size_t pl, ol;
	va_list ap;

	if (!eb)
		return;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof pre, fmt, ap);
	va_end(ap);
	pl = strlen(pre);
	ol = strnlen(eb->msg, sizeof eb->msg - 1);
	/* Keep as much of the old message as fits after the prefix. */
	if (pl + ol > sizeof eb->msg - 1)
		ol = sizeof eb->msg - 1 - pl;
	memmove(eb->msg + pl, eb->msg, ol);
	memcpy(eb->msg, pre, pl);
	eb->msg[pl + ol] = '\0';
}

const char *pb_errmsg(const pb_errbuf *eb, pb_err code)
{
	if (eb && eb->msg[0])
		return eb->msg;
	return pb_strerror(code);
}
