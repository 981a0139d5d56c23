/*
 * The daemon's log: one line per event on stderr (or any stream), human
 * readable ("2026-11-23T08:00:00Z info  draft.posted case=12 ...") or one
 * JSON object per line ({"ts", "level", "event", "msg"}). The log holds a
 * list of secrets (tokens, keys) and replaces any of them that slips into
 * a line with "***", as a second line of defence: callers must still never
 * pass a secret. Thread-safe; a line is written with one call, so lines
 * from different threads never interleave.
 */
#ifndef PARCELBOT_LOG_H
#define PARCELBOT_LOG_H

#include <stdio.h>

#include "parcelbot/config.h"
#include "parcelbot/err.h"

typedef struct pb_log pb_log;

/* out is not closed by pb_log_free. */
pb_err pb_log_new(FILE *out, pb_log_format format, pb_log_level level, pb_log **lg);
void pb_log_free(pb_log *lg);
/* Adds a value to redact from every line (copied; values under 4 bytes
 * are ignored: they would garble every line that holds their letters). */
pb_err pb_log_secret(pb_log *lg, const char *secret);
void pb_log_set_level(pb_log *lg, pb_log_level level);

/* Logs event (a short dotted name, "webhook.rejected") at level with a
 * printf-style message. Invalid UTF-8 and control characters in the
 * message are replaced, so a buyer's text cannot forge a log line. A NULL
 * lg is a no-op. */
void pb_logf(pb_log *lg, pb_log_level level, const char *event, const char *fmt, ...)
	PB_PRINTF(4, 5);

#endif
