/*
 * The metrics registry (see metrics.h). Series live in one list under one
 * lock; the daemon has a few dozen of them and updates them a few thousand
 * times a second at most, which a mutex serves without contention worth
 * measuring. Rendering groups series by name so each family gets one HELP
 * and one TYPE line, as the format requires.
 */
#include "parcelbot/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/buf.h"

typedef enum kind { K_COUNTER, K_HISTOGRAM, K_GAUGE } kind;

struct pb_metric {
	pb_metrics *m;
	kind k;
	char *name, *help, *labels; /* labels rendered: a="x",b="y" (may be "") */
	double value;               /* counter */
	double *bounds;             /* histogram */
	unsigned long long *buckets; /* per bound, not cumulative; +Inf last */
	size_t n_bounds;
	double sum;
	unsigned long long count;
	pb_gauge_fn fn;
	void *ud;
};

struct pb_metrics {
	pthread_mutex_t lock;
	pb_metric **v;
	size_t n, cap;
};

pb_err pb_metrics_new(pb_metrics **out)
{
	pb_metrics *m = calloc(1, sizeof *m);

	if (!m)
		return PB_ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	*out = m;
	return PB_OK;
}

static void metric_free(pb_metric *x)
{
	free(x->name);
	free(x->help);
	free(x->labels);
	free(x->bounds);
	free(x->buckets);
	free(x);
}

void pb_metrics_free(pb_metrics *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->n; i++)
		metric_free(m->v[i]);
	free(m->v);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* Renders a label list with values escaped as the format asks. */
static char *render_labels(const char *const *labels)
{
	pb_buf b;
	size_t i;
	const char *p;

	pb_buf_init(&b, 4096);
	if (pb_buf_puts(&b, ""))
		return NULL;
	for (i = 0; labels && labels[i] && labels[i + 1]; i += 2) {
		if (pb_buf_printf(&b, "%s%s=\"", i ? "," : "", labels[i]))
			goto fail;
		for (p = labels[i + 1]; *p; p++) {
			pb_err e = *p == '\\' ? pb_buf_puts(&b, "\\\\")
				   : *p == '"' ? pb_buf_puts(&b, "\\\"")
				   : *p == '\n' ? pb_buf_puts(&b, "\\n")
						: pb_buf_putc(&b, *p);
			if (e)
				goto fail;
		}
		if (pb_buf_putc(&b, '"'))
			goto fail;
	}
	return pb_buf_detach(&b, NULL);
fail:
	pb_buf_release(&b);
	return NULL;
}

/* Finds or adds a series; the caller holds the lock. */
static pb_metric *find_or_add(pb_metrics *m, kind k, const char *name, const char *help,
			      const char *const *labels)
{
	char *l = render_labels(labels);
	pb_metric *x = NULL, **v;
	size_t i;

	if (!l)
		return NULL;
	for (i = 0; i < m->n; i++)
		if (m->v[i]->k == k && !strcmp(m->v[i]->name, name) && !strcmp(m->v[i]->labels, l)) {
			free(l);
			return m->v[i];
		}
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 32;
		v = realloc(m->v, cap * sizeof *v);
		if (!v)
			goto fail;
		m->v = v;
		m->cap = cap;
	}
	x = calloc(1, sizeof *x);
	if (!x)
		goto fail;
	x->m = m;
	x->k = k;
	x->name = strdup(name);
	x->help = strdup(help ? help : "");
	x->labels = l;
	l = NULL;
	if (!x->name || !x->help)
		goto fail;
	m->v[m->n++] = x;
	return x;
fail:
	free(l);
	if (x)
		metric_free(x);
	return NULL;
}

pb_metric *pb_metrics_counter(pb_metrics *m, const char *name, const char *help,
			      const char *const *labels)
{
	pb_metric *x;

	pthread_mutex_lock(&m->lock);
	x = find_or_add(m, K_COUNTER, name, help, labels);
	pthread_mutex_unlock(&m->lock);
	return x;
}

void pb_metric_add(pb_metric *c, double v)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->m->lock);
	c->value += v;
	pthread_mutex_unlock(&c->m->lock);
}

double pb_metric_value(const pb_metric *c)
{
	double v;

	if (!c)
		return 0;
	pthread_mutex_lock(&c->m->lock);
	v = c->k == K_HISTOGRAM ? (double)c->count : c->value;
	pthread_mutex_unlock(&c->m->lock);
	return v;
}

pb_metric *pb_metrics_histogram(pb_metrics *m, const char *name, const char *help,
				const char *const *labels, const double *bounds, size_t n)
{
	pb_metric *x;

	pthread_mutex_lock(&m->lock);
	x = find_or_add(m, K_HISTOGRAM, name, help, labels);
	if (x && !x->buckets) {
		x->bounds = malloc((n ? n : 1) * sizeof *x->bounds);
		x->buckets = calloc(n + 1, sizeof *x->buckets);
		if (!x->bounds || !x->buckets) {
			free(x->bounds);
			free(x->buckets);
			x->bounds = NULL;
			x->buckets = NULL;
			x = NULL;
		} else {
			memcpy(x->bounds, bounds, n * sizeof *bounds);
			x->n_bounds = n;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return x;
}

void pb_metric_observe(pb_metric *h, double v)
{
	size_t i;

	if (!h || !h->buckets)
		return;
	pthread_mutex_lock(&h->m->lock);
	for (i = 0; i < h->n_bounds && v > h->bounds[i]; i++)
		;
	h->buckets[i]++;
	h->sum += v;
	h->count++;
	pthread_mutex_unlock(&h->m->lock);
}

pb_err pb_metrics_gauge(pb_metrics *m, const char *name, const char *help,
			const char *const *labels, pb_gauge_fn fn, void *ud)
{
	pb_metric *x;

	pthread_mutex_lock(&m->lock);
	x = find_or_add(m, K_GAUGE, name, help, labels);
	if (x) {
		x->fn = fn;
		x->ud = ud;
	}
	pthread_mutex_unlock(&m->lock);
	return x ? PB_OK : PB_ENOMEM;
}

static pb_err num(pb_buf *b, double v)
{
	if (isinf(v))
		return pb_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
	if (isnan(v))
		return pb_buf_puts(b, "NaN");
	if (v == floor(v) && fabs(v) < 1e15)
		return pb_buf_printf(b, "%.0f", v);
	return pb_buf_printf(b, "%.9g", v);
}

/* name{labels[,extra]} */
static pb_err series(pb_buf *b, const char *name, const char *suffix, const char *labels,
		     const char *extra)
{
	bool any = *labels || extra;

	return pb_buf_printf(b, "%s%s%s%s%s%s%s ", name, suffix, any ? "{" : "", labels,
			     *labels && extra ? "," : "", extra ? extra : "", any ? "}" : "");
}

static pb_err render_one(pb_buf *b, const pb_metric *x)
{
	char le[64];
	unsigned long long cum = 0;
	size_t i;
	pb_err e = PB_OK;

	switch (x->k) {
	case K_COUNTER:
		e = series(b, x->name, "", x->labels, NULL);
		e = e ? e : num(b, x->value);
		break;
	case K_GAUGE:
		e = series(b, x->name, "", x->labels, NULL);
		e = e ? e : num(b, x->fn ? x->fn(x->ud) : 0);
		break;
	case K_HISTOGRAM:
		for (i = 0; !e && i <= x->n_bounds; i++) {
			cum += x->buckets[i];
			if (i < x->n_bounds) {
				pb_buf tb;
				pb_buf_init(&tb, sizeof le - 8);
				num(&tb, x->bounds[i]);
				snprintf(le, sizeof le, "le=\"%s\"", pb_buf_str(&tb));
				pb_buf_release(&tb);
			} else {
				snprintf(le, sizeof le, "le=\"+Inf\"");
			}
			e = series(b, x->name, "_bucket", x->labels, le);
			e = e ? e : pb_buf_printf(b, "%llu\n", cum);
		}
		e = e ? e : series(b, x->name, "_sum", x->labels, NULL);
		e = e ? e : num(b, x->sum);
		e = e ? e : pb_buf_putc(b, '\n');
		e = e ? e : series(b, x->name, "_count", x->labels, NULL);
		e = e ? e : pb_buf_printf(b, "%llu", x->count);
		break;
	}
	return e ? e : pb_buf_putc(b, '\n');
}

char *pb_metrics_render(pb_metrics *m)
{
	static const char *const types[] = {"counter", "histogram", "gauge"};
	pb_buf b;
	bool *done;
	size_t i, j;
	pb_err e = PB_OK;

	pb_buf_init(&b, (size_t)16 << 20);
	pthread_mutex_lock(&m->lock);
	done = calloc(m->n ? m->n : 1, sizeof *done);
	if (!done) {
		pthread_mutex_unlock(&m->lock);
		return NULL;
	}
	e = pb_buf_puts(&b, "");
	for (i = 0; !e && i < m->n; i++) {
		if (done[i])
			continue;
		e = pb_buf_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", m->v[i]->name, m->v[i]->help,
				  m->v[i]->name, types[m->v[i]->k]);
		for (j = i; !e && j < m->n; j++)
			if (!done[j] && !strcmp(m->v[j]->name, m->v[i]->name)) {
				e = render_one(&b, m->v[j]);
				done[j] = true;
			}
	}
	pthread_mutex_unlock(&m->lock);
	free(done);
	if (e) {
		pb_buf_release(&b);
		return NULL;
	}
	return pb_buf_detach(&b, NULL);
}
