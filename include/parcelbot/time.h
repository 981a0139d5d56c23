/*
 * Time values. Pure code never reads the clock: callers pass `now`. A pb_when
 * is an instant (seconds since the Unix epoch, UTC) plus the UTC offset it
 * was written with, so "18:00" in a reply means 18:00 where the shop or the
 * carrier said it, not on the server. Arithmetic uses the instant only, so
 * durations are right across midnight and across DST changes.
 */
#ifndef PARCELBOT_TIME_H
#define PARCELBOT_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "parcelbot/err.h"

typedef struct pb_when {
	int64_t t;   /* seconds since 1970-01-01T00:00:00Z */
	int32_t off; /* seconds east of UTC for display */
} pb_when;

/* Parses ISO 8601 date-times: "2026-11-20T10:00:00+08:00", "...Z",
 * "2026-11-20 10:00:00" and "2026-11-20T10:00" (seconds optional), and dates
 * "2026-11-20" (midnight). Fractions of a second are ignored. A value with
 * no offset is taken to be at default_off seconds east of UTC. */
pb_err pb_time_parse(const char *s, int32_t default_off, pb_when *out);

/* Formats as "2026-11-20T10:00:00+08:00" (or "Z" for offset 0) into buf,
 * which must hold at least 26 bytes. Returns buf. */
char *pb_time_format(pb_when w, char *buf, size_t n);

/* The wall-clock fields of w at its own offset. */
void pb_time_fields(pb_when w, struct tm *tm);

/* The instant at the given wall-clock fields and offset. */
int64_t pb_time_from_fields(int year, int mon, int day, int hour, int min, int sec, int32_t off);

/* Days since the epoch of a civil date (proleptic Gregorian). */
int64_t pb_days_from_civil(int64_t y, unsigned m, unsigned d);

static inline double pb_hours_between(int64_t from, int64_t to)
{
	return (double)(to - from) / 3600.0;
}

#endif
