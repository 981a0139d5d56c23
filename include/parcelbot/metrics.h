/*
 * Metrics in the Prometheus text format (version 0.0.4): counters,
 * histograms and gauges read through a callback when scraped. Series are
 * found or created by name and label set, so a caller can count per route
 * or per status without declaring every combination up front. Everything
 * is thread-safe. Label values are escaped here; no secret may ever be
 * put in a name or a label.
 */
#ifndef PARCELBOT_METRICS_H
#define PARCELBOT_METRICS_H

#include <stddef.h>

#include "parcelbot/err.h"

typedef struct pb_metrics pb_metrics;
typedef struct pb_metric pb_metric;

pb_err pb_metrics_new(pb_metrics **out);
void pb_metrics_free(pb_metrics *m);

/* The counter name{labels}, created at 0 on first use. labels is NULL or
 * a NULL-terminated list of name, value pairs. help is used when the name
 * is first seen. NULL on ENOMEM (adding to NULL is a no-op). */
pb_metric *pb_metrics_counter(pb_metrics *m, const char *name, const char *help,
			      const char *const *labels);
void pb_metric_add(pb_metric *c, double v);

/* A histogram with the given upper bounds (ascending; +Inf is implied). */
pb_metric *pb_metrics_histogram(pb_metrics *m, const char *name, const char *help,
				const char *const *labels, const double *bounds, size_t n);
void pb_metric_observe(pb_metric *h, double v);

/* A gauge whose value fn(ud) gives when scraped. */
typedef double (*pb_gauge_fn)(void *ud);
pb_err pb_metrics_gauge(pb_metrics *m, const char *name, const char *help,
			const char *const *labels, pb_gauge_fn fn, void *ud);

/* The counter's current value (for tests and summaries). */
double pb_metric_value(const pb_metric *c);

/* The exposition text; caller frees. NULL on ENOMEM. */
char *pb_metrics_render(pb_metrics *m);

#endif
