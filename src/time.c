/*
 * Date-time parsing and formatting without the C library's time zone state:
 * the conversions are plain civil-calendar arithmetic, so they are pure and
 * thread-safe, and every value carries its own UTC offset.
 */
#include "parcelbot/time.h"

#include <stdio.h>
#include <string.h>

/* Days from 1970-01-01 to y-m-d, after Howard Hinnant's days_from_civil. */
int64_t pb_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era, yy;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yy + (*m <= 2));
}

int64_t pb_time_from_fields(int year, int mon, int day, int hour, int min, int sec, int32_t off)
{
	return pb_days_from_civil(year, (unsigned)mon, (unsigned)day) * 86400 + hour * 3600 +
	       min * 60 + sec - off;
}

static int digits(const char **p, int n)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return v;
}

static int days_in_month(int y, int m)
{
	static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dm[m - 1];
}

pb_err pb_time_parse(const char *s, int32_t default_off, pb_when *out)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, se = 0, oh, om, sign;
	int32_t off = default_off;

	if (!s)
		return PB_EINVAL;
	while (*p == ' ')
		p++;
	y = digits(&p, 4);
	if (y < 0 || *p++ != '-')
		return PB_EPARSE;
	mo = digits(&p, 2);
	if (mo < 1 || mo > 12 || *p++ != '-')
		return PB_EPARSE;
	d = digits(&p, 2);
	if (d < 1 || d > days_in_month(y, mo))
		return PB_EPARSE;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		h = digits(&p, 2);
		if (h < 0 || h > 23 || *p++ != ':')
			return PB_EPARSE;
		mi = digits(&p, 2);
		if (mi < 0 || mi > 59)
			return PB_EPARSE;
		if (*p == ':') {
			p++;
			se = digits(&p, 2);
			/* 60 allows a leap second; it rolls into the next minute. */
			if (se < 0 || se > 60)
				return PB_EPARSE;
			if (*p == '.' || *p == ',') {
				p++;
				if (*p < '0' || *p > '9')
					return PB_EPARSE;
				while (*p >= '0' && *p <= '9')
					p++;
			}
		}
		if (*p == 'Z' || *p == 'z') {
			off = 0;
			p++;
		} else if (*p == '+' || *p == '-') {
			sign = *p++ == '-' ? -1 : 1;
			oh = digits(&p, 2);
			if (oh < 0 || oh > 18)
				return PB_EPARSE;
			if (*p == ':')
				p++;
			om = 0;
			if (*p >= '0' && *p <= '9') {
				om = digits(&p, 2);
				if (om < 0 || om > 59)
					return PB_EPARSE;
			}
			off = sign * (oh * 3600 + om * 60);
		}
	}
	while (*p == ' ')
		p++;
	if (*p)
		return PB_EPARSE;
	out->t = pb_time_from_fields(y, mo, d, h, mi, se, off);
	out->off = off;
	return PB_OK;
}

void pb_time_fields(pb_when w, struct tm *tm)
{
	int64_t local = w.t + w.off, days, secs;
	int y, m, d;

	days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
	secs = local - days * 86400;
	civil_from_days(days, &y, &m, &d);
	memset(tm, 0, sizeof *tm);
	tm->tm_year = y - 1900;
	tm->tm_mon = m - 1;
	tm->tm_mday = d;
	tm->tm_hour = (int)(secs / 3600);
	tm->tm_min = (int)(secs % 3600 / 60);
	tm->tm_sec = (int)(secs % 60);
	/* 1970-01-01 was a Thursday. */
	tm->tm_wday = (int)(((days % 7) + 11) % 7);
	tm->tm_yday = (int)(days - pb_days_from_civil(y, 1, 1));
}

char *pb_time_format(pb_when w, char *buf, size_t n)
{
	struct tm tm;
	int32_t a = w.off < 0 ? -w.off : w.off;

	pb_time_fields(w, &tm);
	if (w.off == 0)
		snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	else
		snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 w.off < 0 ? '-' : '+', (int)(a / 3600), (int)(a % 3600 / 60));
	return buf;
}
