/*
 * The tracker (see track.h): checks each query, answers what it can from the
 * cache, sends the rest to the providers' adapters (Kuaidi100 and 17TRACK
 * lookups run at the same time, on two threads, when a batch has both), and
 * turns each outcome into a result: a fresh trace, a stale one from the
 * cache when the provider failed, or an error.
 *
 * The cache is a hash table of traces threaded on a most-recently-used list;
 * when it is full the least recently used trace goes. One mutex guards it,
 * held only to copy traces in and out, never across network calls.
 */
#include "parcelbot/track.h"

#include <cJSON.h>
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/http.h"
#include "parcelbot/utf8.h"
#include "track_internal.h"

/* "Not found yet" is worth asking again soon: a parcel just handed over
 * usually shows up within minutes. */
#define NOT_FOUND_TTL 60

typedef struct centry {
	char *key;
	pb_trace trace;
	int64_t ttl;
	struct centry *prev, *next; /* recency list, most recent first */
	struct centry *hnext;       /* hash chain */
} centry;

struct pb_tracker {
	pb_track_config cfg;
	pb_kb *kb;
	pb_http *http;
	pthread_mutex_t lock;
	centry **buckets;
	size_t nbuckets;
	size_t count;
	centry *head, *tail;
};

/* --- names and configuration ---------------------------------------- */

const char *pb_provider_name(pb_provider p)
{
	switch (p) {
	case PB_PROVIDER_KUAIDI100:
		return "kuaidi100";
	case PB_PROVIDER_17TRACK:
		return "17track";
	default:
		return "auto";
	}
}

bool pb_provider_from_name(const char *name, pb_provider *out)
{
	if (!name)
		return false;
	if (!strcmp(name, "auto"))
		*out = PB_PROVIDER_AUTO;
	else if (!strcmp(name, "kuaidi100"))
		*out = PB_PROVIDER_KUAIDI100;
	else if (!strcmp(name, "17track"))
		*out = PB_PROVIDER_17TRACK;
	else
		return false;
	return true;
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

pb_err pb_track_config_set(char **field, const char *value)
{
	char *c = NULL;

	if (value) {
		c = strdup(value);
		if (!c)
			return PB_ENOMEM;
	}
	wipe_free(*field);
	*field = c;
	return PB_OK;
}

pb_err pb_track_config_init(pb_track_config *c)
{
	memset(c, 0, sizeof *c);
	c->provider = PB_PROVIDER_AUTO;
	c->connect_timeout_ms = 3000;
	c->timeout_ms = 10000;
	c->retries = 3;
	c->backoff_base_ms = 500;
	c->backoff_max_ms = 30000;
	c->cache_ttl = 600;
	c->cache_entries = 1000;
	c->max_body = PB_HTTP_DEFAULT_MAX_BODY;
	if (pb_track_config_set(&c->k100_url, PB_KUAIDI100_URL) ||
	    pb_track_config_set(&c->t17_url, PB_17TRACK_URL)) {
		pb_track_config_release(c);
		return PB_ENOMEM;
	}
	return PB_OK;
}

void pb_track_config_release(pb_track_config *c)
{
	wipe_free(c->k100_customer);
	wipe_free(c->k100_key);
	wipe_free(c->t17_token);
	free(c->k100_url);
	free(c->t17_url);
	c->k100_customer = c->k100_key = c->t17_token = c->k100_url = c->t17_url = NULL;
}

static pb_err config_copy(pb_track_config *dst, const pb_track_config *src)
{
	*dst = *src;
	dst->k100_customer = dst->k100_key = dst->t17_token = dst->k100_url = dst->t17_url = NULL;
	if (pb_track_config_set(&dst->k100_customer, src->k100_customer) ||
	    pb_track_config_set(&dst->k100_key, src->k100_key) ||
	    pb_track_config_set(&dst->t17_token, src->t17_token) ||
	    pb_track_config_set(&dst->k100_url, src->k100_url ? src->k100_url : PB_KUAIDI100_URL) ||
	    pb_track_config_set(&dst->t17_url, src->t17_url ? src->t17_url : PB_17TRACK_URL)) {
		pb_track_config_release(dst);
		return PB_ENOMEM;
	}
	/* The adapters append paths to the 17TRACK base. */
	while (*dst->t17_url && dst->t17_url[strlen(dst->t17_url) - 1] == '/')
		dst->t17_url[strlen(dst->t17_url) - 1] = '\0';
	return PB_OK;
}

/* --- helpers shared with the adapters -------------------------------- */

char *pb_track_clean(const char *s, size_t max)
{
	pb_buf b;
	size_t n, start, end;
	char *out;

	if (!s)
		s = "";
	n = strlen(s);
	/* Repairing can only grow text threefold; no need to look further. */
	if (n > max * 4 + 16)
		n = max * 4 + 16;
	pb_buf_init(&b, PB_BUF_NOLIMIT);
	if (pb_utf8_repair(s, n, &b) || pb_buf_append(&b, "", 0)) {
		pb_buf_release(&b);
		return NULL;
	}
	start = 0;
	end = b.len;
	while (start < end && isspace((unsigned char)b.data[start]))
		start++;
	while (end > start && isspace((unsigned char)b.data[end - 1]))
		end--;
	end = start + pb_utf8_clip(b.data + start, end - start, max);
	out = malloc(end - start + 1);
	if (out) {
		memcpy(out, b.data + start, end - start);
		out[end - start] = '\0';
	}
	pb_buf_release(&b);
	return out;
}

cJSON *pb_track_parse_json(const char *body, size_t len)
{
	pb_buf b;
	cJSON *j;

	if (!body)
		return NULL;
	if (pb_utf8_valid(body, len))
		return cJSON_ParseWithLength(body, len);
	pb_buf_init(&b, PB_BUF_NOLIMIT);
	j = pb_utf8_repair(body, len, &b) ? NULL : cJSON_ParseWithLength(pb_buf_str(&b), b.len);
	pb_buf_release(&b);
	return j;
}

/* --- the cache ------------------------------------------------------- */

static size_t hash(const char *s)
{
	size_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static centry **slot_of(pb_tracker *t, const char *key)
{
	centry **p = &t->buckets[hash(key) & (t->nbuckets - 1)];

	while (*p && strcmp((*p)->key, key))
		p = &(*p)->hnext;
	return p;
}

static void lru_unlink(pb_tracker *t, centry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		t->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		t->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_front(pb_tracker *t, centry *e)
{
	e->next = t->head;
	e->prev = NULL;
	if (t->head)
		t->head->prev = e;
	t->head = e;
	if (!t->tail)
		t->tail = e;
}

static void entry_free(centry *e)
{
	free(e->key);
	pb_trace_release(&e->trace);
	free(e);
}

static void cache_remove(pb_tracker *t, centry *e)
{
	centry **p = slot_of(t, e->key);

	*p = e->hnext;
	lru_unlink(t, e);
	entry_free(e);
	t->count--;
}

/* Stores a copy of trace under key; caller holds the lock. */
static void cache_put(pb_tracker *t, const char *key, const pb_trace *trace, int64_t ttl)
{
	centry **p, *e;

	if (!t->buckets || !t->cfg.cache_entries)
		return;
	p = slot_of(t, key);
	e = *p;
	if (e) {
		pb_trace_release(&e->trace);
		lru_unlink(t, e);
	} else {
		e = calloc(1, sizeof *e);
		if (!e || !(e->key = strdup(key))) {
			free(e);
			return;
		}
		*p = e;
		t->count++;
	}
	e->ttl = ttl;
	lru_front(t, e);
	if (pb_trace_copy(&e->trace, trace)) {
		cache_remove(t, e);
		return;
	}
	e->trace.stale = false;
	while (t->count > t->cfg.cache_entries && t->tail)
		cache_remove(t, t->tail);
}

void pb_tracker_cache_clear(pb_tracker *t)
{
	pthread_mutex_lock(&t->lock);
	while (t->head)
		cache_remove(t, t->head);
	pthread_mutex_unlock(&t->lock);
}

size_t pb_tracker_cache_size(pb_tracker *t)
{
	size_t n;

	pthread_mutex_lock(&t->lock);
	n = t->count;
	pthread_mutex_unlock(&t->lock);
	return n;
}

/* --- the tracker ----------------------------------------------------- */

pb_err pb_tracker_new(const pb_track_config *cfg, pb_kb *kb, pb_tracker **out, pb_errbuf *eb)
{
	pb_tracker *t = calloc(1, sizeof *t);
	pb_http_opts ho;
	pb_err err;
	size_t nb = 16;

	if (!t)
		return pb_errf(eb, PB_ENOMEM, "out of memory");
	pthread_mutex_init(&t->lock, NULL);
	if (config_copy(&t->cfg, cfg)) {
		pthread_mutex_destroy(&t->lock);
		free(t);
		return pb_errf(eb, PB_ENOMEM, "out of memory");
	}
	while (nb < t->cfg.cache_entries * 2 && nb < ((size_t)1 << 24))
		nb *= 2;
	t->nbuckets = nb;
	t->buckets = calloc(nb, sizeof *t->buckets);
	if (!t->buckets) {
		err = pb_errf(eb, PB_ENOMEM, "out of memory");
		goto fail;
	}
	pb_http_opts_init(&ho);
	ho.connect_timeout_ms = cfg->connect_timeout_ms;
	ho.timeout_ms = cfg->timeout_ms;
	ho.retries = cfg->retries;
	ho.backoff_base_ms = cfg->backoff_base_ms;
	ho.backoff_max_ms = cfg->backoff_max_ms;
	ho.max_body = cfg->max_body;
	/* A pipeline batch's lookups overlap rather than queue: a batch of 64
	 * messages costs one provider round trip, not four. */
	ho.max_parallel = 64;
	err = pb_http_new(&ho, &t->http, eb);
	if (err)
		goto fail;
	t->kb = kb ? pb_kb_ref(kb) : NULL;
	*out = t;
	return PB_OK;
fail:
	pb_tracker_free(t);
	return err;
}

void pb_tracker_free(pb_tracker *t)
{
	if (!t)
		return;
	if (t->buckets)
		pb_tracker_cache_clear(t);
	free(t->buckets);
	pb_http_free(t->http);
	pb_kb_unref(t->kb);
	pb_track_config_release(&t->cfg);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

void pb_track_result_release(pb_track_result *r)
{
	pb_trace_release(&r->trace);
}

/* What the tracker knows about one query on its way. */
typedef struct slot {
	const pb_carrier *carrier;
	pb_provider prov;
	char key[PB_TRACK_MAX_NUMBER + 80];
	bool done;       /* the result is final */
	long job;        /* index into the batch's jobs, or -1 */
	long dup_of;     /* an earlier identical query, or -1 */
	bool cached;     /* a trace for it was in the cache (maybe expired) */
	pb_trace old;    /* that trace, kept for a stale answer */
} slot;

static bool number_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 4 || n > PB_TRACK_MAX_NUMBER)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

static bool phone_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return i == 4;
}

static bool set(const char *s)
{
	return s && *s;
}

static pb_provider choose(const pb_tracker *t, const pb_track_query *q, const pb_carrier *c)
{
	pb_provider p = q->provider != PB_PROVIDER_AUTO ? q->provider : t->cfg.provider;
	bool k100 = set(t->cfg.k100_customer) && set(t->cfg.k100_key);

	if (p != PB_PROVIDER_AUTO)
		return p;
	if (c && c->kuaidi100 && k100)
		return PB_PROVIDER_KUAIDI100;
	if (set(t->cfg.t17_token))
		return PB_PROVIDER_17TRACK;
	return c && c->kuaidi100 ? PB_PROVIDER_KUAIDI100 : PB_PROVIDER_17TRACK;
}

/* Checks a query; fills s->carrier, s->prov and s->key. */
static pb_err check_query(const pb_tracker *t, const pb_track_query *q, slot *s, pb_errbuf *eb)
{
	const char *carrier = q->carrier ? q->carrier : "";
	size_t i, o;

	if (!q->number || !number_ok(q->number))
		return pb_errf(eb, PB_EINVAL,
			       "'%.40s' is not a tracking number (4 to %d letters, digits or '-')",
			       q->number ? q->number : "", PB_TRACK_MAX_NUMBER);
	if (q->phone_last4 && *q->phone_last4 && !phone_ok(q->phone_last4))
		return pb_errf(eb, PB_EINVAL, "the phone must be given as its last 4 digits");
	if (*carrier) {
		s->carrier = t->kb ? pb_kb_carrier(t->kb, carrier) : NULL;
		if (!s->carrier)
			return pb_errf(eb, PB_EINVAL, "unknown carrier '%.40s' (see kb/carriers.yaml)",
				       carrier);
	}
	s->prov = choose(t, q, s->carrier);
	if (s->prov == PB_PROVIDER_KUAIDI100) {
		if (!s->carrier)
			return pb_errf(eb, PB_EINVAL, "Kuaidi100 needs the carrier of %s", q->number);
		if (!s->carrier->kuaidi100)
			return pb_errf(eb, PB_EINVAL,
				       "carrier '%s' has no Kuaidi100 code in carriers.yaml; try "
				       "--provider 17track",
				       s->carrier->id);
	}
	o = (size_t)snprintf(s->key, sizeof s->key, "%s|%s|", pb_provider_name(s->prov),
			     s->carrier ? s->carrier->id : "");
	/* Carriers print numbers in either case; one parcel, one entry. */
	for (i = 0; q->number[i] && o + 1 < sizeof s->key; i++)
		s->key[o++] = (char)toupper((unsigned char)q->number[i]);
	s->key[o] = '\0';
	return PB_OK;
}

typedef struct t17_thread_arg {
	const pb_track_ctx *ctx;
	pb_track_job *jobs;
	size_t n;
} t17_thread_arg;

static void *t17_thread(void *p)
{
	t17_thread_arg *a = p;

	pb_t17_lookup(a->ctx, a->jobs, a->n);
	return NULL;
}

/* Runs the Kuaidi100 and 17TRACK jobs, at the same time when there are
 * both. */
static void run_jobs(pb_tracker *t, pb_track_job *k100, size_t nk, pb_track_job *t17, size_t nt)
{
	pb_track_ctx ctx = {&t->cfg, t->http};
	t17_thread_arg a = {&ctx, t17, nt};
	pthread_t th;
	bool threaded = false;

	if (nk && nt)
		threaded = pthread_create(&th, NULL, t17_thread, &a) == 0;
	if (nt && !threaded)
		pb_t17_lookup(&ctx, t17, nt);
	if (nk)
		pb_k100_lookup(&ctx, k100, nk);
	if (threaded)
		pthread_join(th, NULL);
}

static void format_when(int64_t t, char *buf, size_t n)
{
	pb_time_format((pb_when){t, 0}, buf, n);
}

/* Settles one query from its job's outcome. */
static void settle(pb_tracker *t, const pb_track_query *q, slot *s, pb_track_job *j, int64_t now,
		   pb_track_result *r)
{
	char when[40];

	if (!j->err && !j->trace.found && s->cached && s->old.found) {
		/* The provider has lost a parcel it used to know: keep what
		 * we knew rather than forget it. */
		format_when(s->old.fetched_at, when, sizeof when);
		r->trace = s->old;
		pb_trace_init(&s->old);
		r->trace.stale = true;
		r->provider_err = PB_ENOTFOUND;
		pb_errf(&r->eb, PB_ENOTFOUND,
			"%s has no record of %s now; showing the trace fetched at %s",
			pb_provider_name(s->prov), q->number, when);
		return;
	}
	if (!j->err) {
		r->trace = j->trace;
		pb_trace_init(&j->trace);
		if (pb_track_config_set(&r->trace.carrier, s->carrier ? s->carrier->id : "") ||
		    pb_track_config_set(&r->trace.number, q->number) ||
		    pb_track_config_set(&r->trace.provider, pb_provider_name(s->prov))) {
			pb_trace_release(&r->trace);
			r->err = pb_errf(&r->eb, PB_ENOMEM, "out of memory");
			return;
		}
		r->trace.fetched_at = now;
		r->trace.stale = false;
		pthread_mutex_lock(&t->lock);
		cache_put(t, s->key, &r->trace,
			  r->trace.found || t->cfg.cache_ttl < NOT_FOUND_TTL ? t->cfg.cache_ttl
									  : NOT_FOUND_TTL);
		pthread_mutex_unlock(&t->lock);
		return;
	}
	r->provider_err = j->err;
	if (s->cached) {
		format_when(s->old.fetched_at, when, sizeof when);
		r->trace = s->old;
		pb_trace_init(&s->old);
		r->trace.stale = true;
		pb_errf(&r->eb, j->err, "%s (showing the trace fetched at %s)", j->eb.msg, when);
		return;
	}
	r->err = j->err;
	r->eb = j->eb;
}

pb_err pb_track_lookup_many(pb_tracker *t, const pb_track_query *queries, size_t n, int64_t now,
			    pb_track_result *results)
{
	slot *slots = NULL;
	pb_track_job *k100 = NULL, *t17 = NULL;
	size_t i, k, nk = 0, nt = 0;
	pb_err err = PB_OK;

	if (!t || (n && (!queries || !results)))
		return PB_EINVAL;
	for (i = 0; i < n; i++) {
		memset(&results[i], 0, sizeof results[i]);
		pb_trace_init(&results[i].trace);
	}
	if (!n)
		return PB_OK;
	slots = calloc(n, sizeof *slots);
	k100 = calloc(n, sizeof *k100);
	t17 = calloc(n, sizeof *t17);
	if (!slots || !k100 || !t17) {
		for (i = 0; i < n; i++)
			results[i].err = pb_errf(&results[i].eb, PB_ENOMEM, "out of memory");
		err = PB_ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		const pb_track_query *q = &queries[i];
		slot *s = &slots[i];
		pb_track_result *r = &results[i];
		centry *e;

		s->job = s->dup_of = -1;
		pb_trace_init(&s->old);
		r->err = check_query(t, q, s, &r->eb);
		if (r->err) {
			s->done = true;
			continue;
		}
		for (k = 0; k < i; k++)
			if (!slots[k].done && slots[k].dup_of < 0 && !strcmp(slots[k].key, s->key))
				break;
		if (k < i) {
			s->dup_of = (long)k;
			continue;
		}
		pthread_mutex_lock(&t->lock);
		e = *slot_of(t, s->key);
		if (e && now - e->trace.fetched_at < e->ttl && now >= e->trace.fetched_at) {
			lru_unlink(t, e);
			lru_front(t, e);
			r->err = pb_trace_copy(&r->trace, &e->trace);
			r->from_cache = !r->err;
			s->done = true;
		} else if (e) {
			s->cached = !pb_trace_copy(&s->old, &e->trace);
		}
		pthread_mutex_unlock(&t->lock);
		if (s->done) {
			if (r->err)
				pb_errf(&r->eb, r->err, "out of memory");
			continue;
		}
		if (s->prov == PB_PROVIDER_KUAIDI100 && s->carrier->phone_required &&
		    !(q->phone_last4 && *q->phone_last4)) {
			r->err = pb_errf(&r->eb, PB_EINVAL,
					 "Kuaidi100 needs the recipient's phone (last 4 digits) to "
					 "track %s parcels",
					 s->carrier->id);
			s->done = true;
			continue;
		}
		if (s->prov == PB_PROVIDER_KUAIDI100) {
			pb_track_job *j = &k100[nk];
			s->job = (long)nk++;
			j->number = q->number;
			j->phone_last4 = q->phone_last4;
			j->k100_com = s->carrier->kuaidi100;
		} else {
			pb_track_job *j = &t17[nt];
			s->job = (long)nt++;
			j->number = q->number;
			j->t17_carrier = s->carrier ? s->carrier->t17 : 0;
			j->t17_registered = s->cached;
		}
	}
	run_jobs(t, k100, nk, t17, nt);
	for (i = 0; i < n; i++) {
		slot *s = &slots[i];
		if (s->done || s->dup_of >= 0)
			continue;
		settle(t, &queries[i], s,
		       s->prov == PB_PROVIDER_KUAIDI100 ? &k100[s->job] : &t17[s->job], now,
		       &results[i]);
	}
	for (i = 0; i < n; i++) {
		slot *s = &slots[i];
		pb_track_result *r = &results[i], *o;
		if (s->dup_of < 0)
			continue;
		o = &results[s->dup_of];
		*r = *o;
		pb_trace_init(&r->trace);
		if (!o->err && pb_trace_copy(&r->trace, &o->trace))
			r->err = pb_errf(&r->eb, PB_ENOMEM, "out of memory");
	}
out:
	for (i = 0; slots && i < n; i++)
		pb_trace_release(&slots[i].old);
	for (i = 0; k100 && i < nk; i++)
		pb_trace_release(&k100[i].trace);
	for (i = 0; t17 && i < nt; i++)
		pb_trace_release(&t17[i].trace);
	free(slots);
	free(k100);
	free(t17);
	return err;
}

pb_err pb_track_lookup(pb_tracker *t, const pb_track_query *q, int64_t now, pb_track_result *result)
{
	pb_err err = pb_track_lookup_many(t, q, 1, now, result);

	return err ? err : result->err;
}
