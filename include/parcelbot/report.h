/*
 * The monthly review: what went wrong and where, over the cases opened in
 * a date range. pb_report_load reads the rows from the store (through the
 * store's API, never SQL); pb_report_compute is a pure function of those
 * rows that returns every figure as one JSON document; pb_report_render
 * prints that document as Markdown, CSV, JSON or a self-contained HTML page.
 *
 * Definitions (docs/operations.md, "Reading the monthly review"):
 * - A case counts when it was opened at or after `from` and before `to`.
 * - Percentiles are nearest-rank: the p-th percentile of n sorted values is
 *   the value at rank ceil(p * n / 100) (1-based); none when n is 0.
 * - A parcel counts once per carrier however many cases name it. It is
 *   delayed when its assessment has no_update or stuck_at_node; lost when
 *   it has lost or a case about it is lost_parcel; damaged when it has
 *   damaged_in_transit or a case is damaged; failed when it has
 *   delivery_failed or returned, or a case is delivery_failed.
 * - A carrier is flagged for replacement when its delay rate was above the
 *   policy's carrier_delay_limit in each of the three calendar months
 *   (at the shop's offset) ending with the month of the range's last
 *   second, a parcel belonging to the month of its first case.
 * - A reminder is breached when it was escalated, or done after it was due.
 * - Edit size is the Levenshtein distance in Unicode code points between
 *   the draft and the text sent, each cut to edit_cap code points.
 */
#ifndef PARCELBOT_REPORT_H
#define PARCELBOT_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "parcelbot/buf.h"
#include "parcelbot/err.h"
#include "parcelbot/store.h"

struct cJSON;

/* One case and everything the review reads about it. */
typedef struct pb_report_case {
	pb_store_case c;
	pb_store_parcel parcel; /* id 0: the case has no parcel */
	pb_store_drafts drafts;
	pb_store_decisions decisions;
	pb_store_reminders reminders;
} pb_report_case;

typedef struct pb_report_data {
	pb_report_case *v;
	size_t n;
} pb_report_data;

typedef struct pb_report_opts {
	int64_t from, to;           /* cases opened in [from, to) */
	int32_t tz_off;             /* the shop's offset, for weeks and months */
	double carrier_delay_limit; /* a share, e.g. 0.10 */
	size_t edit_cap;            /* code points; 0: 2000 */
} pb_report_opts;

/* The range to load so that the three months of the carrier check are
 * there too: [min(from, first month), max(to, end of the last month)). */
void pb_report_load_range(const pb_report_opts *o, int64_t *from, int64_t *to);

/* Reads the cases opened in [from, to) with their parcel, drafts,
 * decisions and reminders. out is released with pb_report_data_release,
 * also after a failure. */
pb_err pb_report_load(pb_store *st, int64_t from, int64_t to, pb_report_data *out,
		      pb_errbuf *eb);
void pb_report_data_release(pb_report_data *d);

/* Every figure, as {from, to, summary, by_kind, by_week, carriers,
 * carrier_months, response_times, sla_breaches, compensation,
 * compensation_cost, templates}. Pure. NULL when out of memory; the caller
 * owns the result. */
struct cJSON *pb_report_compute(const pb_report_data *d, const pb_report_opts *o);

/* Prints the report as "md", "csv", "json" or "html" into out.
 * PB_EINVAL for another format. */
pb_err pb_report_render(const struct cJSON *r, const char *format, pb_buf *out, pb_errbuf *eb);

/* Levenshtein distance in code points between a and b, each cut to cap
 * code points (0: no cut). Invalid UTF-8 bytes count as one each. */
size_t pb_report_edit_distance(const char *a, const char *b, size_t cap);

/* The nearest-rank p-th percentile (0 < p <= 100) of n sorted values;
 * n must be at least 1. */
int64_t pb_report_percentile(const int64_t *sorted, size_t n, int p);

#endif
