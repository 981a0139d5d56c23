/*
 * The daemon (see serve.h): generations of the KB, the store handle pool,
 * the pipeline workers, the outbox sender, the scheduler, and the routes
 * that are not the API (webhooks, /healthz, /metrics).
 */
#include "serve_internal.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "parcelbot/case.h"
#include "parcelbot/classify.h"
#include "parcelbot/channel_chatwoot.h"
#include "parcelbot/channel_shopee.h"
#include "parcelbot/http.h"
#include "parcelbot/ingest.h"
#include "parcelbot/order.h"
#include "parcelbot/orders.h"
#include "parcelbot/policy.h"
#include "parcelbot/watch.h"
#include "parcelbot/ydoc.h"

/* ---- time ---- */

int64_t pb_daemon_now(void)
{
	return (int64_t)time(NULL);
}

int64_t pb_daemon_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A deadline for pthread_cond_timedwait, ms from now. */
static struct timespec after_ms(long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* ---- generations ---- */

static pb_err gen_build(pb_daemon *d, pb_gen **out, pb_errbuf *eb)
{
	pb_gen *g = calloc(1, sizeof *g);
	pb_diag dg;
	pb_err err;

	*out = NULL;
	if (!g)
		return pb_errf(eb, PB_ENOMEM, "out of memory");
	pb_diag_init(&dg);
	err = pb_kb_load(d->kb_dir, &g->kb, &dg);
	if (err) {
		pb_diag_to_errbuf(&dg, eb);
		pb_diag_release(&dg);
		free(g);
		return err;
	}
	pb_diag_release(&dg);
	if ((err = pb_tracker_new(&d->cfg->tracking, g->kb, &g->tr, eb))) {
		pb_kb_unref(g->kb);
		free(g);
		return err;
	}
	atomic_init(&g->refs, 1);
	*out = g;
	return PB_OK;
}

void pb_daemon_gen_put(pb_gen *g)
{
	if (g && atomic_fetch_sub(&g->refs, 1) == 1) {
		pb_tracker_free(g->tr);
		pb_kb_unref(g->kb);
		free(g);
	}
}

pb_gen *pb_daemon_gen(pb_daemon *d)
{
	pb_gen *g;

	pthread_mutex_lock(&d->mu);
	g = d->gen;
	atomic_fetch_add(&g->refs, 1);
	pthread_mutex_unlock(&d->mu);
	return g;
}

pb_err pb_daemon_reload(pb_daemon *d, pb_errbuf *eb)
{
	pb_gen *g, *old;
	pb_err err;

	if ((err = gen_build(d, &g, eb))) {
		pb_metric_add(d->m_reload_fail, 1);
		pb_logf(d->log, PB_LOG_ERROR, "kb.reload_failed",
			"the knowledge base was not reloaded; the one loaded before stays in use: %s",
			eb->msg);
		return err;
	}
	pthread_mutex_lock(&d->mu);
	old = d->gen;
	g->id = ++d->gen_seq;
	d->gen = g;
	pthread_mutex_unlock(&d->mu);
	pb_daemon_gen_put(old);
	pb_metric_add(d->m_reloads, 1);
	pb_logf(d->log, PB_LOG_INFO, "kb.reloaded", "knowledge base reloaded from %s (generation %lu)",
		d->kb_dir, g->id);
	return PB_OK;
}

/* ---- store handles ---- */

static pb_store *store_open(pb_daemon *d, pb_errbuf *eb)
{
	pb_store_opts o = {true, 0, 0};
	pb_store *st = NULL;

	if (pb_store_open(d->cfg->store_path, &o, &st, eb))
		return NULL;
	return st;
}

pb_store *pb_daemon_store(pb_daemon *d, pb_errbuf *eb)
{
	pb_store *st = NULL;

	pthread_mutex_lock(&d->mu);
	if (d->n_pool)
		st = d->pool[--d->n_pool];
	pthread_mutex_unlock(&d->mu);
	return st ? st : store_open(d, eb);
}

void pb_daemon_store_put(pb_daemon *d, pb_store *st)
{
	if (!st)
		return;
	if (pb_store_depth(st))
		pb_store_rollback(st);
	pthread_mutex_lock(&d->mu);
	if (d->n_pool == d->cap_pool) {
		size_t cap = d->cap_pool ? d->cap_pool * 2 : 8;
		pb_store **p = realloc(d->pool, cap * sizeof *p);
		if (!p) {
			pthread_mutex_unlock(&d->mu);
			pb_store_close(st);
			return;
		}
		d->pool = p;
		d->cap_pool = cap;
	}
	d->pool[d->n_pool++] = st;
	pthread_mutex_unlock(&d->mu);
}

void pb_daemon_kick_work(pb_daemon *d)
{
	pthread_mutex_lock(&d->mu);
	d->work_seq++;
	pthread_cond_broadcast(&d->work);
	pthread_mutex_unlock(&d->mu);
}

void pb_daemon_kick_send(pb_daemon *d)
{
	pthread_mutex_lock(&d->mu);
	d->send_seq++;
	pthread_cond_broadcast(&d->send);
	pthread_mutex_unlock(&d->mu);
}

bool pb_daemon_wait_processed(pb_daemon *d, pb_store *st, pb_id inbox_id, long timeout_ms)
{
	int64_t until = pb_daemon_now_ms() + timeout_ms;

	for (;;) {
		pb_store_inbox_row row;
		pb_errbuf eb;
		bool done = false, stop;
		struct timespec ts;
		if (!pb_store_inbox_get(st, inbox_id, &row, &eb)) {
			done = row.processed_at != 0;
			pb_store_inbox_row_release(&row);
		}
		if (done)
			return true;
		if (pb_daemon_now_ms() >= until)
			return false;
		ts = after_ms(100);
		pthread_mutex_lock(&d->mu);
		stop = d->stopping;
		if (!stop)
			pthread_cond_timedwait(&d->done, &d->mu, &ts);
		pthread_mutex_unlock(&d->mu);
		if (stop)
			return false;
	}
}

pb_chan_slot *pb_daemon_channel(pb_daemon *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->n_chans; i++)
		if (!strcmp(d->chans[i].ch->name, name))
			return &d->chans[i];
	return NULL;
}

static bool stopping(pb_daemon *d)
{
	bool s;

	pthread_mutex_lock(&d->mu);
	s = d->stopping;
	pthread_mutex_unlock(&d->mu);
	return s;
}

static const char *jstr(const cJSON *j, const char *k);
static void shopee_token_save(pb_daemon *d, pb_chan_slot *c);

/* ---- tracking and orders for the workers ---- */

static void resolve_many(void *ctx, pb_ingest_lookup *l, size_t n, int64_t now)
{
	pb_gen *g = ctx;
	pb_track_query *q = calloc(n, sizeof *q);
	pb_track_result *r = calloc(n, sizeof *r);
	size_t i;

	if (!q || !r) {
		for (i = 0; i < n; i++)
			l[i].err = pb_errf(&l[i].eb, PB_ENOMEM, "out of memory");
		free(q);
		free(r);
		return;
	}
	for (i = 0; i < n; i++) {
		q[i].carrier = strcmp(l[i].carrier, "unknown") ? l[i].carrier : NULL;
		q[i].number = l[i].number;
		q[i].phone_last4 = l[i].phone_last4;
	}
	if (pb_track_lookup_many(g->tr, q, n, now, r)) {
		for (i = 0; i < n; i++)
			l[i].err = pb_errf(&l[i].eb, PB_ENOMEM, "the tracking lookup could not start");
	} else {
		for (i = 0; i < n; i++) {
			l[i].err = r[i].err;
			l[i].eb = r[i].eb;
			if (!r[i].err) {
				l[i].trace = r[i].trace;
				pb_trace_init(&r[i].trace);
			}
			pb_track_result_release(&r[i]);
		}
	}
	free(q);
	free(r);
}

/* Completes a buyer's message before it is processed, outside any
 * transaction: a Shopee conversation's order and Shopee's own tracking of
 * it. A failure leaves the event as it was (ingest counts and logs it). */
/* A worker's context for enrich: the daemon, and the worker's KB and a
 * classifier for it (the text is searched for order numbers). */
typedef struct enrich_ctx {
	pb_daemon *d;
	pb_store *st; /* the worker's handle (no transaction is open) */
	const pb_kb *kb;
	pb_classifier *cl;
} enrich_ctx;

static pb_err enrich(void *ctx, cJSON *ev, int64_t now, pb_errbuf *eb)
{
	enrich_ctx *ec = ctx;
	pb_daemon *d = ec->d;
	const char *channel = jstr(ev, "channel");
	cJSON *order = cJSON_GetObjectItemCaseSensitive(ev, "order");
	pb_chan_slot *c = channel ? pb_daemon_channel(d, channel) : NULL;
	char order_id[128] = "";
	pb_err err = PB_OK;

	/* A copy: the event's order is replaced below. */
	if (jstr(order, "id"))
		snprintf(order_id, sizeof order_id, "%s", jstr(order, "id"));

	if (c && c->is_shopee && *order_id &&
	    !cJSON_GetObjectItemCaseSensitive(ev, "parcel")) {
		pb_order o;
		pb_trace t;
		char carrier[64], number[64];
		pb_order_init(&o);
		pthread_mutex_lock(&c->mu);
		err = pb_channel_order(c->ch, order_id, now, &o, eb);
		if (!err) {
			cJSON *oj = pb_order_json(&o);
			if (oj)
				cJSON_ReplaceItemInObjectCaseSensitive(ev, "order", oj);
			pb_order_release(&o);
			err = pb_shopee_tracking(c->ch, order_id, now, &t, carrier, sizeof carrier,
						 number, sizeof number, eb);
			if (!err) {
				cJSON *tj = pb_trace_json(&t);
				const char *have = jstr(tj, "carrier");
				/* Shopee names the carrier its own way ("SPX
				 * Express"); kept as it is for the record. */
				if (tj && (!have || !*have))
					cJSON_ReplaceItemInObjectCaseSensitive(
						tj, "carrier", cJSON_CreateString(carrier));
				if (tj)
					cJSON_AddItemToObject(ev, "parcel", tj);
				pb_trace_release(&t);
			}
		}
		shopee_token_save(d, c);
		pthread_mutex_unlock(&c->mu);
		if (!err)
			return PB_OK;
	}
	/* Imported orders, then the shop's order API, from the order id
	 * (or an order or tracking number in the text). */
	if (d->orders) {
		pb_errbuf eb2;
		pb_err e2 = pb_orders_enrich_with(d->orders, ec->st, ec->kb, ec->cl, ev, now, &eb2);
		if (!err && e2 && e2 != PB_ENOTFOUND) {
			err = e2;
			*eb = eb2;
		}
	}
	return err;
}

typedef struct worker_ctx {
	pb_daemon *d;
	unsigned index;
} worker_ctx;

static void count_stats(pb_daemon *d, const pb_ingest_stats *before, const pb_ingest_stats *s)
{
	pb_metric_add(d->m_processed, (double)(s->processed - before->processed));
	pb_metric_add(d->m_failed, (double)(s->failed - before->failed));
	pb_metric_add(d->m_drafts, (double)(s->drafted - before->drafted));
	pb_metric_add(d->m_escalated, (double)(s->escalated - before->escalated));
	pb_metric_add(d->m_commands, (double)(s->commands - before->commands));
	pb_metric_add(d->m_order_err, (double)(s->enrich_failed - before->enrich_failed));
	if (s->enrich_failed > before->enrich_failed)
		pb_logf(d->log, PB_LOG_WARN, "orders.lookup_failed", "%s", s->enrich_error);
	if (strcmp(s->lookup_error, before->lookup_error) && s->lookup_error[0]) {
		pb_metric_add(d->m_track_err, 1);
		pb_logf(d->log, PB_LOG_WARN, "tracking.lookup_failed",
			"drafting from the cache or without a trace: %s", s->lookup_error);
	}
	if (s->failed > before->failed)
		pb_logf(d->log, PB_LOG_WARN, "inbox.given_up",
			"%zu event(s) could not be processed; their errors are kept in the inbox",
			s->failed - before->failed);
}

static void *worker_main(void *arg)
{
	worker_ctx *w = arg;
	pb_daemon *d = w->d;
	pb_store *st = NULL;
	pb_ingest *ing = NULL;
	pb_gen *g = NULL;
	enrich_ctx ec = {d, NULL, NULL, NULL};
	pb_ingest_stats last;
	char name[64];
	unsigned long seen = 0;
	pb_errbuf eb;

	memset(&last, 0, sizeof last);
	snprintf(name, sizeof name, "serve-%u", w->index);
	while (!stopping(d)) {
		pb_gen *cur = pb_daemon_gen(d);
		size_t done = 0;
		pb_err err;
		if (!st && !(st = store_open(d, &eb))) {
			pb_logf(d->log, PB_LOG_ERROR, "store.open_failed", "%s", eb.msg);
			pb_daemon_gen_put(cur);
			goto wait;
		}
		if (cur != g || !ing) {
			/* A new KB: a new classifier and resolver with it. */
			pb_ingest_opts io;
			pb_ingest_free(ing);
			ing = NULL;
			pb_daemon_gen_put(g);
			g = cur;
			memset(&io, 0, sizeof io);
			io.worker = name;
			io.batch = d->cfg->pipeline.batch;
			io.lease = d->cfg->pipeline.lease;
			io.max_attempts = (int)d->cfg->pipeline.max_attempts;
			io.resolve_many = resolve_many;
			io.resolve_ctx = g;
			pb_classifier_free(ec.cl);
			ec.st = st;
			/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): pb_daemon_gen is never NULL */
			ec.kb = g->kb;
			ec.cl = pb_classifier_new(g->kb); /* NULL: one per call */
			io.enrich = enrich;
			io.enrich_ctx = &ec;
			io.cache_ttl = d->cfg->tracking.cache_ttl > 0 ? d->cfg->tracking.cache_ttl : 0;
			if (pb_ingest_new(g->kb, st, &io, &ing, &eb)) {
				pb_logf(d->log, PB_LOG_ERROR, "worker.failed", "%s", eb.msg);
				goto wait;
			}
			memset(&last, 0, sizeof last);
		} else {
			pb_daemon_gen_put(cur);
		}
		pthread_mutex_lock(&d->mu);
		seen = d->work_seq;
		pthread_mutex_unlock(&d->mu);
		{
			int64_t t0 = pb_daemon_now_ms();
			err = pb_ingest_process(ing, pb_daemon_now(), d->cfg->pipeline.batch, &done,
						&eb);
			if (done)
				pb_metric_observe(d->h_pipeline,
						  (double)(pb_daemon_now_ms() - t0) / 1000.0 /
							  (double)done);
		}
		{
			const pb_ingest_stats *s = pb_ingest_get_stats(ing);
			count_stats(d, &last, s);
			last = *s;
		}
		if (err) {
			pb_logf(d->log, PB_LOG_ERROR, "inbox.process_failed",
				"the batch was rolled back and will be taken up again: %s", eb.msg);
			/* The handle may be broken (disk full, file gone): reopen. */
			pb_ingest_free(ing);
			ing = NULL;
			pb_store_close(st);
			st = NULL;
			goto wait;
		}
		if (done) {
			pthread_mutex_lock(&d->mu);
			pthread_cond_broadcast(&d->done);
			d->send_seq++;
			pthread_cond_broadcast(&d->send);
			pthread_mutex_unlock(&d->mu);
			continue; /* there may be more */
		}
	wait:
		pthread_mutex_lock(&d->mu);
		if (!d->stopping && d->work_seq == seen) {
			struct timespec ts = after_ms(1000);
			pthread_cond_timedwait(&d->work, &d->mu, &ts);
		}
		pthread_mutex_unlock(&d->mu);
	}
	if (st) {
		pb_store_inbox_release(st, name, &eb);
		pb_ingest_free(ing);
		pb_store_close(st);
	}
	pb_classifier_free(ec.cl);
	pb_daemon_gen_put(g);
	free(w);
	return NULL;
}

/* ---- the outbox sender ---- */

/* A JSON list (of strings, or of objects with a "message") as one item per
 * line; "" for none. Caller frees. */
static char *json_lines(const char *json)
{
	cJSON *j = json ? cJSON_Parse(json) : NULL, *it;
	pb_buf b;
	char *out;

	pb_buf_init(&b, 64 * 1024);
	cJSON_ArrayForEach(it, j)
	{
		const char *t = NULL;
		if (cJSON_IsString(it))
			t = it->valuestring;
		else if (cJSON_IsObject(it)) {
			const cJSON *m = cJSON_GetObjectItemCaseSensitive(it, "message");
			if (!cJSON_IsString(m))
				m = cJSON_GetObjectItemCaseSensitive(it, "text");
			t = cJSON_IsString(m) ? m->valuestring : NULL;
		}
		if (t && *t)
			pb_buf_printf(&b, "%s%s", b.len ? "\n" : "", t);
	}
	cJSON_Delete(j);
	out = pb_buf_detach(&b, NULL);
	pb_buf_release(&b);
	return out;
}

static const char *jstr(const cJSON *j, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static pb_id jid(const cJSON *j, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);

	return cJSON_IsNumber(v) ? (pb_id)v->valuedouble : 0;
}

/* Seconds before the next try after `attempts` tries: 2, 4, 8 ... up to
 * 15 minutes, or what the channel asked for. */
static int64_t backoff_s(int attempts, long retry_after)
{
	int64_t s = 2;
	int i;

	for (i = 1; i < attempts && s < 900; i++)
		s *= 2;
	if (s > 900)
		s = 900;
	if (retry_after > s)
		s = retry_after > 3600 ? 3600 : retry_after;
	return s;
}

/* One outbox row in a sending round: what was tried and how it went. */
typedef struct send_job {
	const pb_store_outbox_row *row;
	pb_err err;             /* PB_OK: the channel confirmed it */
	pb_errbuf eb;
	pb_chan_result res;
	bool local;             /* no channel adapter: stored is delivered */
	double seconds;
} send_job;

typedef struct send_round {
	pb_daemon *d;
	send_job *jobs;
	size_t n;
	unsigned k, threads;   /* this thread's share: jobs k, k+threads, ... */
	int64_t now;
} send_round;

/* The adapter instance sender thread k uses, and its lock. Chatwoot keeps
 * one instance per sender thread so replies go out in parallel; Shopee has
 * one (its tokens rotate), which the threads share in turn. */
static pb_channel *send_instance(pb_chan_slot *c, unsigned k, pthread_mutex_t **mu)
{
	if (c->n_extra) {
		k %= (unsigned)c->n_extra;
		*mu = &c->extra_mu[k];
		return c->extra[k];
	}
	*mu = &c->mu;
	return c->ch;
}

/* Builds the action from the row and the draft it names, and carries it
 * out through the channel. */
static void perform_one(pb_daemon *d, pb_store *st, unsigned k, send_job *j, int64_t now)
{
	const pb_store_outbox_row *row = j->row;
	pb_chan_slot *slot = pb_daemon_channel(d, row->channel);
	cJSON *p = NULL;
	pb_store_draft dr;
	pb_chan_action a;
	pthread_mutex_t *mu;
	pb_channel *ch;
	char *checklist = NULL, *lint = NULL, url[1024], reason[512];
	bool have_draft = false;
	int64_t t0 = pb_daemon_now_ms();

	j->eb.msg[0] = '\0';
	j->res.retry_after = -1;
	if (!slot) {
		/* The API's and the command line's drafts wait in parcelbot
		 * itself: being stored is being delivered. */
		j->local = true;
		return;
	}
	memset(&a, 0, sizeof a);
	memset(&dr, 0, sizeof dr);
	p = cJSON_Parse(row->payload);
	a.kind = (pb_chan_kind)pb_chan_kind_from_name(row->kind);
	if ((int)a.kind < 0 || !p) {
		j->err = pb_errf(&j->eb, PB_EINVAL, "unknown action '%s' or unreadable payload",
				 row->kind);
		goto out;
	}
	a.key = row->key;
	a.attempt = (unsigned)row->attempts;
	a.queued_at = row->created_at;
	a.conversation = jstr(p, "conversation");
	a.case_id = row->case_id;
	a.draft_id = jid(p, "draft");
	a.version = (int)jid(p, "version");
	a.severity = (int)jid(p, "severity");
	a.text = jstr(p, "text");
	a.brief = jstr(p, "brief");
	a.reason = jstr(p, "reason");
	if (a.draft_id && !pb_store_draft_get(st, a.draft_id, &dr, &j->eb)) {
		have_draft = true;
		a.lang = dr.lang;
		a.severity = dr.severity;
		a.template_id = dr.template_id;
		if (a.kind == PB_CHAN_POST_DRAFT) {
			a.text = dr.text;
			checklist = json_lines(dr.checklist);
			lint = json_lines(dr.lint);
			a.checklist = checklist;
			a.lint = lint;
		}
		if (!a.brief)
			a.brief = dr.brief;
	}
	if (a.kind == PB_CHAN_NOTIFY) {
		snprintf(reason, sizeof reason, "reminder '%s' (due %s) is overdue; case state %s",
			 jstr(p, "kind") ? jstr(p, "kind") : "?", jstr(p, "due") ? jstr(p, "due") : "?",
			 jstr(p, "state") ? jstr(p, "state") : "?");
		a.reason = reason;
	}
	if (d->cfg->server.public_url && *d->cfg->server.public_url) {
		snprintf(url, sizeof url, "%s/#/cases/%lld", d->cfg->server.public_url,
			 (long long)row->case_id);
		a.case_url = url;
	}
	if (!a.conversation || !*a.conversation) {
		j->err = pb_errf(&j->eb, PB_EINVAL, "the action names no conversation");
		goto out;
	}
	ch = send_instance(slot, k, &mu);
	pthread_mutex_lock(mu);
	j->err = pb_channel_perform(ch, &a, now, &j->res, &j->eb);
	if (slot->is_shopee)
		shopee_token_save(d, slot);
	pthread_mutex_unlock(mu);
	j->seconds = (double)(pb_daemon_now_ms() - t0) / 1000.0;
out:
	if (have_draft)
		pb_store_draft_release(&dr);
	free(checklist);
	free(lint);
	cJSON_Delete(p);
}

static void *send_thread(void *arg)
{
	send_round *r = arg;
	pb_errbuf eb;
	pb_store *st = pb_daemon_store(r->d, &eb);
	size_t i;

	for (i = r->k; i < r->n; i += r->threads) {
		if (!st) {
			r->jobs[i].err = pb_errf(&r->jobs[i].eb, PB_EDB, "%s", eb.msg);
			r->jobs[i].res.retryable = true;
			continue;
		}
		perform_one(r->d, st, r->k, &r->jobs[i], r->now);
	}
	pb_daemon_store_put(r->d, st);
	return NULL;
}

/* Records a round's outcomes in one transaction: confirmed rows move
 * their cases on; failed ones get their next try (a failure retrying
 * cannot mend waits a day for an operator, with its error kept: nothing
 * is dropped). */
static pb_err finish_round(pb_daemon *d, pb_store *st, send_job *jobs, size_t n, int64_t now,
			   pb_errbuf *eb)
{
	unsigned max = d->cfg->pipeline.max_attempts ? d->cfg->pipeline.max_attempts : 5;
	size_t i;
	pb_err err;

	if ((err = pb_store_begin(st, eb)))
		return err;
	for (i = 0; i < n; i++) {
		send_job *j = &jobs[i];
		const pb_store_outbox_row *row = j->row;
		if (!j->err) {
			err = pb_case_outbox_confirmed(st, row->id, "sender", now, eb);
			if (err == PB_ESTATE)
				err = PB_OK; /* confirmed by another sender meanwhile */
			if (err)
				break;
			if (!j->local) {
				pb_metric_add(d->m_sent, 1);
				pb_metric_observe(d->h_send, j->seconds);
				pb_logf(d->log, PB_LOG_INFO, "outbox.sent", "%s on %s%s", row->key,
					row->channel,
					j->res.already ? " (delivered by an earlier try)" : "");
			}
		} else {
			int tries = row->attempts + 1;
			bool give_up = !j->res.retryable || tries >= 2 * (int)max;
			int64_t next = now + (give_up ? 86400 : backoff_s(tries, j->res.retry_after));
			pb_metric_add(d->m_send_fail, 1);
			pb_logf(d->log, give_up ? PB_LOG_ERROR : PB_LOG_WARN,
				give_up ? "outbox.parked" : "outbox.retry",
				"%s on %s: %s; next try in %llds", row->key, row->channel, j->eb.msg,
				(long long)(next - now));
			if ((err = pb_store_outbox_retry(st, row->id, next, j->eb.msg, eb)))
				break;
		}
	}
	if (!err && !(err = pb_store_commit(st, eb)))
		return PB_OK;
	pb_store_rollback(st);
	return err;
}

#define SEND_BATCH 256

/* One round: the due rows are marked tried (one transaction, so after a
 * crash mid-send the next try knows an earlier one may have delivered),
 * carried out by up to PB_SEND_THREADS threads at once, and their outcomes
 * recorded (one transaction). Returns how many rows it took. */
/* How long a round's claim on its actions lasts: a round that never
 * reports back (the daemon was killed) frees them after this. */
#define SEND_CLAIM_S 60

static size_t send_round_run(pb_daemon *d, pb_store *st)
{
	pb_store_outbox_rows rows;
	send_job *jobs = NULL;
	send_round r[PB_SEND_THREADS];
	pthread_t th[PB_SEND_THREADS];
	bool started[PB_SEND_THREADS] = {false};
	unsigned threads, k;
	int64_t now = pb_daemon_now();
	pb_errbuf eb;
	size_t i, n;

	if (pb_store_outbox_due(st, now, SEND_BATCH, &rows, &eb)) {
		pb_logf(d->log, PB_LOG_ERROR, "outbox.read_failed", "%s", eb.msg);
		return 0;
	}
	n = rows.n;
	if (!n)
		goto out;
	if (!(jobs = calloc(n, sizeof *jobs)))
		goto out;
	if (pb_store_begin(st, &eb))
		goto fail;
	for (i = 0; i < n; i++) {
		jobs[i].row = &rows.v[i];
		if (pb_store_outbox_retry(st, rows.v[i].id, now + SEND_CLAIM_S, NULL, &eb)) {
			pb_store_rollback(st);
			goto fail;
		}
	}
	if (pb_store_commit(st, &eb)) {
		pb_store_rollback(st);
		goto fail;
	}
	threads = n < PB_SEND_THREADS ? (unsigned)n : PB_SEND_THREADS;
	for (k = 0; k < threads; k++) {
		r[k] = (send_round){d, jobs, n, k, threads, now};
		started[k] = !pthread_create(&th[k], NULL, send_thread, &r[k]);
		if (!started[k])
			send_thread(&r[k]);
	}
	for (k = 0; k < threads; k++)
		if (started[k])
			pthread_join(th[k], NULL);
	if (finish_round(d, st, jobs, n, pb_daemon_now(), &eb))
		pb_logf(d->log, PB_LOG_ERROR, "outbox.confirm_failed",
			"%zu action(s) done but not recorded (each is checked with the channel before "
			"any resend): %s",
			n, eb.msg);
	goto out;
fail:
	pb_logf(d->log, PB_LOG_ERROR, "outbox.claim_failed", "%s", eb.msg);
	n = 0;
out:
	free(jobs);
	pb_store_outbox_rows_release(&rows);
	return n;
}

static void *sender_main(void *arg)
{
	pb_daemon *d = arg;
	pb_store *st = NULL;
	pb_errbuf eb;
	bool woken = false;

	while (!stopping(d)) {
		unsigned long seen;
		pthread_mutex_lock(&d->mu);
		seen = d->send_seq;
		pthread_mutex_unlock(&d->mu);
		if (!st && !(st = store_open(d, &eb))) {
			pb_logf(d->log, PB_LOG_ERROR, "store.open_failed", "%s", eb.msg);
		} else if (!woken) {
			/* Actions a killed daemon had claimed are due now, not when
			 * the claim runs out; each is checked with the channel
			 * before it is sent again. One sender per database. */
			size_t n = 0;
			if (pb_store_outbox_wake(st, pb_daemon_now(), SEND_CLAIM_S, &n, &eb)) {
				pb_logf(d->log, PB_LOG_ERROR, "outbox.wake_failed", "%s", eb.msg);
			} else {
				woken = true;
				if (n)
					pb_logf(d->log, PB_LOG_INFO, "outbox.resumed",
						"%zu action(s) interrupted by the last stop taken "
						"up again",
						n);
				continue;
			}
		} else if (send_round_run(d, st) == SEND_BATCH) {
			continue; /* more are due */
		}
		pthread_mutex_lock(&d->mu);
		if (!d->stopping && d->send_seq == seen) {
			struct timespec ts = after_ms(1000);
			pthread_cond_timedwait(&d->send, &d->mu, &ts);
		}
		pthread_mutex_unlock(&d->mu);
	}
	pb_store_close(st);
	return NULL;
}

/* ---- the scheduler: overdue reminders, polled channels ---- */

static size_t inbox_write(pb_daemon *d, const char *channel, const pb_chan_events *evs,
			  size_t *dups, pb_errbuf *eb, pb_err *errp);

/* glibc keeps what the daemon frees in its arenas; after a burst (a
 * backlog worked off) that is megabytes no longer in use, held for good.
 * The scheduler gives it back to the system now and then, so RSS follows
 * the memory in use (the soak run checks that it stays flat). */
static void release_free_memory(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

#define TRIM_EVERY_MS 60000

static void *scheduler_main(void *arg)
{
	pb_daemon *d = arg;
	pb_store *st = NULL;
	int64_t next_overdue = 0, next_trim = pb_daemon_now_ms() + TRIM_EVERY_MS;
	long interval = d->cfg->pipeline.scheduler_interval_ms > 0
				? d->cfg->pipeline.scheduler_interval_ms
				: 30000;
	pb_errbuf eb;

	while (!stopping(d)) {
		int64_t now_ms = pb_daemon_now_ms();
		long sleep_ms = interval;
		size_t i;
		if (!st && !(st = store_open(d, &eb))) {
			pb_logf(d->log, PB_LOG_ERROR, "store.open_failed", "%s", eb.msg);
			goto wait;
		}
		if (now_ms >= next_overdue) {
			pb_gen *g = pb_daemon_gen(d);
			size_t n = 0;
			if (pb_case_escalate_overdue(st, g->kb, now_ms / 1000, "scheduler", &n, &eb))
				pb_logf(d->log, PB_LOG_ERROR, "reminders.failed", "%s", eb.msg);
			else if (n) {
				pb_metric_add(d->m_overdue, (double)n);
				pb_logf(d->log, PB_LOG_WARN, "reminders.overdue",
					"%zu overdue reminder(s) escalated to a supervisor", n);
				pb_daemon_kick_send(d);
			}
			pb_daemon_gen_put(g);
			next_overdue = now_ms + interval;
		}
		for (i = 0; i < d->n_chans; i++) {
			pb_chan_slot *c = &d->chans[i];
			pb_chan_events evs = {0};
			size_t dups, n;
			pb_err err;
			if (!c->poll_ms)
				continue;
			if (now_ms < c->next_poll_ms) {
				if (c->next_poll_ms - now_ms < sleep_ms)
					sleep_ms = (long)(c->next_poll_ms - now_ms);
				continue;
			}
			c->next_poll_ms = now_ms + c->poll_ms;
			if (c->poll_ms < sleep_ms)
				sleep_ms = c->poll_ms;
			pthread_mutex_lock(&c->mu);
			err = pb_channel_poll(c->ch, now_ms / 1000, &evs, &eb);
			if (c->is_shopee)
				shopee_token_save(d, c);
			pthread_mutex_unlock(&c->mu);
			if (err) {
				pb_logf(d->log, PB_LOG_WARN, "poll.failed", "%s: %s (tried again in %lds)",
					c->ch->name, eb.msg, c->poll_ms / 1000);
				pb_chan_events_release(&evs);
				continue;
			}
			n = inbox_write(d, c->ch->name, &evs, &dups, &eb, &err);
			if (err)
				pb_logf(d->log, PB_LOG_ERROR, "poll.store_failed",
					"%s: %zu event(s) not stored, fetched again next poll: %s",
					c->ch->name, evs.n, eb.msg);
			else if (n)
				pb_daemon_kick_work(d);
			pb_chan_events_release(&evs);
		}
		if (now_ms >= next_trim) {
			release_free_memory();
			next_trim = now_ms + TRIM_EVERY_MS;
		}
	wait:
		pthread_mutex_lock(&d->mu);
		if (!d->stopping) {
			struct timespec ts = after_ms(sleep_ms > 50 ? sleep_ms : 50);
			pthread_cond_timedwait(&d->work, &d->mu, &ts);
		}
		pthread_mutex_unlock(&d->mu);
	}
	pb_store_close(st);
	return NULL;
}

/* ---- the proactive watch ---- */

/* Lookups for the watch: none once the daemon is stopping, so a long scan
 * ends at its next batch. */
static void watch_lookup(void *ctx, const pb_track_query *q, size_t n, int64_t now,
			 pb_track_result *r)
{
	void **c = ctx;
	pb_daemon *d = c[0];
	pb_gen *g = c[1];
	size_t i;

	if (stopping(d)) {
		for (i = 0; i < n; i++) {
			memset(&r[i], 0, sizeof r[i]);
			pb_trace_init(&r[i].trace);
			r[i].err = pb_errf(&r[i].eb, PB_ESTATE, "parcelbot is stopping");
		}
		return;
	}
	if (pb_track_lookup_many(g->tr, q, n, now, r))
		for (i = 0; i < n; i++) {
			memset(&r[i], 0, sizeof r[i]);
			pb_trace_init(&r[i].trace);
			r[i].err = pb_errf(&r[i].eb, PB_ENOMEM, "the lookup could not start");
		}
}

/* The watch's pause between batches, cut short by a stop. */
static void watch_wait(void *ctx, long ms)
{
	pb_daemon *d = ctx;
	struct timespec ts = after_ms(ms);

	pthread_mutex_lock(&d->mu);
	if (!d->stopping)
		pthread_cond_timedwait(&d->done, &d->mu, &ts);
	pthread_mutex_unlock(&d->mu);
}

/* Scans every scan_interval: parcels not yet delivered are looked up at
 * scan_rate, and an anomaly opens one proactive case with an outreach
 * draft for the agents. */
static void *watch_main(void *arg)
{
	pb_daemon *d = arg;
	long long interval = d->cfg->pipeline.scan_interval_ms;
	int64_t next = pb_daemon_now_ms() + 5000; /* let the start settle */

	while (!stopping(d)) {
		if (pb_daemon_now_ms() >= next) {
			pb_gen *g = pb_daemon_gen(d);
			void *ctx[2] = {d, g};
			pb_watch_opts o;
			pb_watch_stats ws;
			pb_errbuf eb;
			pb_store *st = store_open(d, &eb);
			memset(&o, 0, sizeof o);
			memset(&ws, 0, sizeof ws);
			o.rate = d->cfg->pipeline.scan_rate;
			o.lookup = watch_lookup;
			o.lookup_ctx = ctx;
			o.wait = watch_wait;
			o.wait_ctx = d;
			if (!st || pb_watch_run(st, g->kb, g->tr, pb_daemon_now(), &o, &ws, &eb))
				pb_logf(d->log, PB_LOG_ERROR, "watch.failed", "%s", eb.msg);
			else {
				pb_logf(d->log, ws.opened ? PB_LOG_INFO : PB_LOG_DEBUG, "watch.done",
					"%zu parcels looked up, %zu with a watched anomaly, %zu "
					"proactive case(s) opened, %zu lookup(s) failed",
					ws.lookups, ws.anomalous, ws.opened, ws.lookup_failed);
				pb_metric_add(d->m_watch_opened, (double)ws.opened);
				if (ws.opened)
					pb_daemon_kick_send(d);
			}
			pb_store_close(st);
			pb_daemon_gen_put(g);
			next = pb_daemon_now_ms() + interval;
		}
		watch_wait(d, 1000);
	}
	return NULL;
}

/* ---- the inbox writer: group commit for webhooks ----
 *
 * A webhook is acknowledged only once its events are committed, and a
 * durable commit costs an fsync. Requests arriving together are written by
 * one thread in one transaction, so the fsync is shared instead of
 * queued for. */

typedef struct inbox_req {
	const char *channel;
	const pb_chan_events *evs;
	size_t n, dups;
	pb_err err;
	pb_errbuf eb;
	bool done;
	struct inbox_req *next;
} inbox_req;

static void *inbox_writer_main(void *arg)
{
	pb_daemon *d = arg;
	pb_store *st = NULL;

	pthread_mutex_lock(&d->iq_mu);
	for (;;) {
		inbox_req *batch, *r;
		pb_errbuf eb;
		pb_err err = PB_OK;
		size_t i;
		while (!d->iq_head && !d->iq_stop)
			pthread_cond_wait(&d->iq_cond, &d->iq_mu);
		if (!d->iq_head && d->iq_stop)
			break;
		batch = d->iq_head;
		d->iq_head = d->iq_tail = NULL;
		pthread_mutex_unlock(&d->iq_mu);

		if (!st && !(st = store_open(d, &eb)))
			err = PB_EDB;
		if (!err)
			err = pb_store_begin(st, &eb);
		for (r = batch; !err && r; r = r->next) {
			r->n = r->dups = 0;
			for (i = 0; i < r->evs->n; i++) {
				pb_err e = pb_store_inbox_put(st, r->channel, r->evs->v[i].external_id,
							      r->evs->v[i].json, pb_daemon_now(), NULL,
							      &eb);
				if (e == PB_EEXIST) {
					r->dups++;
				} else if (e) {
					err = e;
					break;
				} else {
					r->n++;
				}
			}
		}
		if (!err && (err = pb_store_commit(st, &eb)) == PB_OK) {
			for (r = batch; r; r = r->next) {
				pb_metric_add(d->m_received, (double)r->n);
				pb_metric_add(d->m_duplicate, (double)r->dups);
			}
		} else if (st) {
			pb_store_rollback(st);
			/* The handle may be broken (disk full, file gone). */
			pb_store_close(st);
			st = NULL;
		}
		pthread_mutex_lock(&d->iq_mu);
		for (r = batch; r; r = r->next) {
			r->err = err;
			if (err)
				r->eb = eb;
			r->done = true;
		}
		pthread_cond_broadcast(&d->iq_done);
	}
	pthread_mutex_unlock(&d->iq_mu);
	pb_store_close(st);
	return NULL;
}

/* Puts the events in the inbox through the writer; returns how many were
 * new, with *dups those it had already. */
static size_t inbox_write(pb_daemon *d, const char *channel, const pb_chan_events *evs,
			  size_t *dups, pb_errbuf *eb, pb_err *errp)
{
	inbox_req r;

	memset(&r, 0, sizeof r);
	r.channel = channel;
	r.evs = evs;
	*dups = 0;
	*errp = PB_OK;
	if (!evs->n)
		return 0;
	pthread_mutex_lock(&d->iq_mu);
	if (d->iq_stop) {
		pthread_mutex_unlock(&d->iq_mu);
		*errp = pb_errf(eb, PB_ESTATE, "parcelbot is stopping");
		return 0;
	}
	/* r lives on this stack: the writer takes the whole queue off before
	 * it sets r.done, which is waited for below. */
	if (d->iq_tail)
		d->iq_tail->next = &r;
	else
		/* cppcheck-suppress autoVariables ; off the queue before we return */
		d->iq_head = &r;
	/* cppcheck-suppress autoVariables ; off the queue before we return */
	d->iq_tail = &r;
	pthread_cond_signal(&d->iq_cond);
	while (!r.done)
		pthread_cond_wait(&d->iq_done, &d->iq_mu);
	pthread_mutex_unlock(&d->iq_mu);
	*dups = r.dups;
	*errp = r.err;
	if (r.err)
		*eb = r.eb;
	return r.err ? 0 : r.n;
}

/* ---- webhooks, /healthz, /metrics ---- */

static const char *webhook_header(const void *ctx, const char *name)
{
	return pb_srv_header(ctx, name);
}

static void h_webhook(void *ud, const pb_srv_req *rq, pb_srv_resp *rs)
{
	pb_daemon *d = ud;
	pb_chan_slot *c = pb_daemon_channel(d, rq->params[0]);
	pb_chan_webhook wh;
	pb_chan_events evs = {0};
	pb_errbuf eb;
	size_t n, dups;
	int status = 400;
	cJSON *j;
	pb_err err;

	if (!c) {
		pb_srv_error(rs, 404, "not_found", "no channel '%s' is configured", rq->params[0]);
		return;
	}
	memset(&wh, 0, sizeof wh);
	wh.secret = rq->n_params > 1 ? rq->params[1] : NULL;
	wh.header = webhook_header;
	wh.header_ctx = rq;
	wh.body = rq->body;
	wh.body_len = rq->body_len;
	wh.now = pb_daemon_now();
	eb.msg[0] = '\0';
	pthread_mutex_lock(&c->mu);
	err = pb_channel_webhook(c->ch, &wh, &evs, &status, &eb);
	pthread_mutex_unlock(&c->mu);
	if (err) {
		/* Never echo the secret: the message is the adapter's own. */
		pb_logf(d->log, PB_LOG_WARN, "webhook.rejected", "%s: %d %s", c->ch->name, status,
			eb.msg);
		pb_srv_error(rs, status >= 400 ? status : 400,
			     status == 401 ? "unauthorized" : "bad_request", "%s",
			     status == 401 ? "bad webhook secret or signature" : eb.msg);
		pb_chan_events_release(&evs);
		return;
	}
	n = inbox_write(d, c->ch->name, &evs, &dups, &eb, &err);
	if (err) {
		/* Not acknowledged: the channel delivers it again. */
		pb_logf(d->log, PB_LOG_ERROR, "webhook.store_failed", "%s: %s", c->ch->name, eb.msg);
		pb_srv_error(rs, 503, "unavailable", "the event could not be stored; try again");
		pb_chan_events_release(&evs);
		return;
	}
	if (n)
		pb_daemon_kick_work(d);
	j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "received", (double)n);
	cJSON_AddNumberToObject(j, "duplicates", (double)dups);
	pb_srv_json(rs, 200, j);
	cJSON_Delete(j);
	pb_chan_events_release(&evs);
}

static void h_healthz(void *ud, const pb_srv_req *rq, pb_srv_resp *rs)
{
	pb_daemon *d = ud;
	pb_store *st;
	pb_errbuf eb;
	size_t pending = 0, failed = 0;
	cJSON *j = cJSON_CreateObject();
	pb_gen *g;
	bool ok;

	(void)rq;
	st = pb_daemon_store(d, &eb);
	ok = st && !pb_store_inbox_counts(st, &pending, &failed, &eb);
	pb_daemon_store_put(d, st);
	g = pb_daemon_gen(d);
	cJSON_AddStringToObject(j, "status", ok ? "ok" : "unavailable");
	cJSON_AddBoolToObject(j, "store", ok);
	cJSON_AddNumberToObject(j, "inbox_pending", (double)pending);
	cJSON_AddNumberToObject(j, "inbox_failed", (double)failed);
	cJSON_AddNumberToObject(j, "kb_generation", (double)g->id);
	cJSON_AddNumberToObject(j, "channels", (double)d->n_chans);
	pb_daemon_gen_put(g);
	if (!ok)
		cJSON_AddStringToObject(j, "error", eb.msg);
	pb_srv_json(rs, ok ? 200 : 503, j);
	cJSON_Delete(j);
}

static void h_metrics(void *ud, const pb_srv_req *rq, pb_srv_resp *rs)
{
	pb_daemon *d = ud;
	char *text = pb_metrics_render(d->metrics);

	(void)rq;
	if (!text) {
		pb_srv_error(rs, 500, "internal", "out of memory");
		return;
	}
	rs->content_type = "text/plain; version=0.0.4; charset=utf-8";
	pb_buf_append(&rs->body, text, strlen(text));
	free(text);
}

static void observe(void *ud, const char *route, const char *method, int status, double seconds)
{
	pb_daemon *d = ud;
	static const double bounds[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
	char code[8];
	const char *labels[] = {"route", *route ? route : "(none)", "method", method,
				"status", code, NULL};
	const char *hl[] = {"route", *route ? route : "(none)", NULL};

	snprintf(code, sizeof code, "%d", status);
	pb_metric_add(pb_metrics_counter(d->metrics, "parcelbot_http_requests_total",
					 "HTTP requests answered, by route, method and status",
					 labels),
		      1);
	pb_metric_observe(pb_metrics_histogram(d->metrics, "parcelbot_http_request_seconds",
					       "Time to answer an HTTP request", hl, bounds,
					       sizeof bounds / sizeof bounds[0]),
			  seconds);
	if (status >= 500)
		pb_logf(d->log, PB_LOG_WARN, "http.error", "%s %s answered %d", method, route, status);
}

static double gauge_slow_cut(void *ud)
{
	pb_daemon *d = ud;

	return d->srv ? (double)pb_server_cut_count(d->srv) : 0;
}

static double gauge_inbox(void *ud)
{
	pb_daemon *d = ud;
	pb_errbuf eb;
	size_t pending = 0, failed = 0;
	pb_store *st = pb_daemon_store(d, &eb);

	if (st)
		pb_store_inbox_counts(st, &pending, &failed, &eb);
	pb_daemon_store_put(d, st);
	return (double)pending;
}

static double gauge_outbox(void *ud)
{
	pb_daemon *d = ud;
	pb_errbuf eb;
	pb_store_outbox_rows rows;
	double n = 0;
	pb_store *st = pb_daemon_store(d, &eb);

	if (st && !pb_store_outbox_due(st, pb_daemon_now(), 100000, &rows, &eb)) {
		n = (double)rows.n;
		pb_store_outbox_rows_release(&rows);
	}
	pb_daemon_store_put(d, st);
	return n;
}

static double gauge_store_memory(void *ud)
{
	(void)ud;
	return pb_store_memory_bytes();
}

static void metrics_setup(pb_daemon *d)
{
	static const double lat[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.4, 0.5, 1, 2.5, 5, 10};
	pb_metrics *m = d->metrics;
	const char *draft[] = {"action", "draft", NULL}, *esc[] = {"action", "escalate", NULL};
	const char *track[] = {"service", "tracking", NULL}, *ord[] = {"service", "orders", NULL};

	d->m_received = pb_metrics_counter(m, "parcelbot_events_received_total",
					   "Events put in the inbox (buyer messages, agent commands)",
					   NULL);
	d->m_duplicate = pb_metrics_counter(m, "parcelbot_events_duplicate_total",
					    "Events the inbox already had, ignored", NULL);
	d->m_processed = pb_metrics_counter(m, "parcelbot_events_processed_total",
					    "Inbox events processed", NULL);
	d->m_failed = pb_metrics_counter(m, "parcelbot_events_failed_total",
					 "Inbox events given up, kept with their error", NULL);
	d->m_drafts = pb_metrics_counter(m, "parcelbot_drafts_total",
					 "Drafts made, by what they ask of the agent", draft);
	d->m_escalated = pb_metrics_counter(m, "parcelbot_drafts_total",
					    "Drafts made, by what they ask of the agent", esc);
	d->m_commands = pb_metrics_counter(m, "parcelbot_agent_commands_total",
					   "Agents' commands carried out from the channel", NULL);
	d->m_sent = pb_metrics_counter(m, "parcelbot_outbox_sent_total",
				       "Actions the channel confirmed", NULL);
	d->m_send_fail = pb_metrics_counter(m, "parcelbot_outbox_failures_total",
					    "Failed attempts at an action (retried)", NULL);
	d->m_track_err = pb_metrics_counter(m, "parcelbot_upstream_errors_total",
					    "Failures of upstream services", track);
	d->m_order_err = pb_metrics_counter(m, "parcelbot_upstream_errors_total",
					    "Failures of upstream services", ord);
	d->m_overdue = pb_metrics_counter(m, "parcelbot_reminders_overdue_total",
					  "Overdue reminders escalated to a supervisor", NULL);
	d->m_watch_opened = pb_metrics_counter(m, "parcelbot_watch_cases_opened_total",
					       "Proactive cases the watch opened", NULL);
	d->m_reloads = pb_metrics_counter(m, "parcelbot_kb_reloads_total",
					  "Knowledge base reloads that took effect", NULL);
	d->m_reload_fail = pb_metrics_counter(m, "parcelbot_kb_reload_failures_total",
					      "Knowledge base reloads refused", NULL);
	d->h_pipeline = pb_metrics_histogram(m, "parcelbot_pipeline_seconds",
					     "Processing time per inbox event, averaged over its batch", NULL, lat,
					     sizeof lat / sizeof lat[0]);
	d->h_send = pb_metrics_histogram(m, "parcelbot_send_seconds",
					 "Time to carry out one outbox action", NULL, lat,
					 sizeof lat / sizeof lat[0]);
	pb_metrics_gauge(m, "parcelbot_inbox_pending", "Inbox events not yet processed", NULL,
			 gauge_inbox, d);
	pb_metrics_gauge(m, "parcelbot_outbox_due", "Outbox actions due and not yet confirmed",
			 NULL, gauge_outbox, d);
	pb_metrics_gauge(m, "parcelbot_store_memory_bytes",
			 "Memory the store's engine holds (SQLite page caches, statements), all "
			 "handles together", NULL, gauge_store_memory, d);
	pb_metrics_gauge(m, "parcelbot_http_slow_requests_cut",
			 "Connections shut down since the start because a request had not arrived "
			 "whole within server.connection_timeout (trickling or idle)",
			 NULL, gauge_slow_cut, d);
}

/* ---- start and stop ---- */

static char *slurp(const char *path, pb_errbuf *eb)
{
	FILE *f = fopen(path, "rb");
	pb_buf b;
	pb_err err;
	char *out = NULL;

	if (!f) {
		pb_errf(eb, PB_EIO, "%s: %s", path, strerror(errno));
		return NULL;
	}
	pb_buf_init(&b, 1 << 20);
	if ((err = pb_buf_read(&b, f)))
		pb_errf(eb, err, "%s: %s", path,
			err == PB_EIO ? "read error" : "larger than 1 MiB");
	else
		out = pb_buf_detach(&b, NULL);
	(void)fclose(f); /* read only */
	pb_buf_release(&b);
	return out;
}

/* Shopee rotates its refresh token on every refresh and the old one stops
 * working, so the latest is kept beside the database (mode 600) and
 * preferred over the configured one at start. */
static void shopee_token_path(const pb_daemon *d, char *out, size_t n)
{
	const char *db = d->cfg->store_path;

	if (!strncmp(db, "sqlite:", 7))
		db += 7;
	snprintf(out, n, "%s.shopee-refresh-token", db);
}

static void shopee_token_save(pb_daemon *d, pb_chan_slot *c)
{
	const char *tok = pb_shopee_refresh_token(c->ch);
	char path[4200], tmp[4300];
	FILE *f;
	int fd;
	bool bad;

	if (!tok || !*tok || (c->saved_token && !strcmp(c->saved_token, tok)))
		return;
	shopee_token_path(d, path, sizeof path);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	bad = !f || fprintf(f, "%s\n", tok) < 0 || fflush(f) || fsync(fileno(f));
	/* Closed exactly once: fclose releases the stream even when it fails. */
	if (f && fclose(f))
		bad = true;
	else if (!f && fd >= 0)
		close(fd);
	if (bad || rename(tmp, path)) {
		pb_logf(d->log, PB_LOG_ERROR, "shopee.token_not_saved",
			"the rotated Shopee refresh token could not be written to %s: %s; after a "
			"restart the shop must be authorised again",
			path, strerror(errno));
		if (fd >= 0)
			(void)unlink(tmp); /* no half-written token left beside the database */
		return;
	}
	free(c->saved_token);
	c->saved_token = strdup(tok);
}

/* Builds the configured channel adapters. */
static pb_err channels_build(pb_daemon *d, pb_errbuf *eb)
{
	const pb_config *cfg = d->cfg;
	pb_err err;

	d->n_chans = 0;
	if (cfg->chatwoot.enabled) {
		pb_chan_slot *c = &d->chans[d->n_chans];
		size_t k;
		if ((err = pb_chatwoot_new(&cfg->chatwoot, d->http, &c->ch, eb)))
			return err;
		pthread_mutex_init(&c->mu, NULL);
		d->n_chans++;
		/* The sender's own instances, so that a slow chat API never
		 * holds up a webhook's acknowledgement. */
		for (k = 0; k < PB_SEND_THREADS; k++) {
			if ((err = pb_chatwoot_new(&cfg->chatwoot, d->http, &c->extra[k], eb)))
				return err;
			pthread_mutex_init(&c->extra_mu[k], NULL);
			c->n_extra++;
		}
	}
	if (cfg->shopee.enabled) {
		pb_chan_slot *c = &d->chans[d->n_chans];
		pb_shopee_config sc = cfg->shopee;
		char path[4200], *saved = NULL;
		pb_errbuf ignore;
		shopee_token_path(d, path, sizeof path);
		if (!access(path, F_OK) && !pb_config_read_secret(path, &saved, &ignore))
			sc.refresh_token = saved;
		err = pb_shopee_new(&sc, d->http, &c->ch, eb);
		c->saved_token = saved;
		if (err)
			return err;
		pthread_mutex_init(&c->mu, NULL);
		c->poll_ms = cfg->shopee.poll_interval_ms > 0 ? cfg->shopee.poll_interval_ms : 10000;
		c->is_shopee = true;
		d->n_chans++;
	}
	return PB_OK;
}

pb_err pb_daemon_start(const pb_daemon_opts *o, pb_daemon **out, pb_errbuf *eb)
{
	pb_daemon *d = calloc(1, sizeof *d);
	const pb_config *cfg = o->cfg;
	pb_http_opts ho;
	pb_srv_opts so;
	char *cert = NULL, *key = NULL;
	pb_store *st;
	unsigned i;
	pb_err err;

	*out = NULL;
	if (!d)
		return pb_errf(eb, PB_ENOMEM, "out of memory");
	d->cfg = cfg;
	d->log = o->log;
	pthread_mutex_init(&d->mu, NULL);
	pthread_mutex_init(&d->iq_mu, NULL);
	pthread_cond_init(&d->iq_cond, NULL);
	pthread_cond_init(&d->iq_done, NULL);
	pthread_cond_init(&d->work, NULL);
	pthread_cond_init(&d->done, NULL);
	pthread_cond_init(&d->send, NULL);
	{
		char buf[sizeof d->kb_dir];
		const char *dir = pb_kb_locate(o->kb_dir, buf, sizeof buf);
		if (!dir) {
			err = pb_errf(eb, PB_EKB,
				      "no knowledge base found (give --kb DIR or set PARCELBOT_KB)");
			goto fail;
		}
		snprintf(d->kb_dir, sizeof d->kb_dir, "%s", dir);
	}
	if ((err = pb_metrics_new(&d->metrics))) {
		err = pb_errf(eb, err, "out of memory");
		goto fail;
	}
	metrics_setup(d);
	if ((err = gen_build(d, &d->gen, eb)))
		goto fail;
	d->gen->id = d->gen_seq = 1;
	/* Open once here: the schema is migrated, and a database that is
	 * newer than this binary stops the start with its reason. */
	if (!(st = store_open(d, eb))) {
		err = PB_EDB;
		goto fail;
	}
	pb_daemon_store_put(d, st);
	pb_http_opts_init(&ho);
	ho.connect_timeout_ms = cfg->tracking.connect_timeout_ms;
	ho.timeout_ms = cfg->tracking.timeout_ms;
	if ((err = pb_http_new(&ho, &d->http, eb)))
		goto fail;
	if ((err = channels_build(d, eb)))
		goto fail;
	if ((err = pb_orders_new(&cfg->orders, d->http, &d->orders, eb)))
		goto fail;

	pb_srv_opts_init(&so);
	so.listen = cfg->server.listen;
	if (cfg->server.max_body)
		so.max_body = cfg->server.max_body;
	if (cfg->server.max_connections)
		so.max_connections = cfg->server.max_connections;
	if (cfg->server.connection_timeout_s > 0)
		so.connection_timeout_s = (unsigned)cfg->server.connection_timeout_s;
	so.per_ip_connections = cfg->server.max_connections_per_ip;
	if (cfg->server.tls_cert_file && cfg->server.tls_key_file) {
		if (!(cert = slurp(cfg->server.tls_cert_file, eb)) ||
		    !(key = slurp(cfg->server.tls_key_file, eb))) {
			err = PB_EIO;
			goto fail;
		}
		so.tls_cert_pem = cert;
		so.tls_key_pem = key;
	}
	if ((err = pb_server_new(&so, &d->srv, eb)))
		goto fail;
	pb_server_observe(d->srv, observe, d);
	if ((err = pb_server_route(d->srv, "POST", "/webhooks/{channel}/{secret}", h_webhook, d)) ||
	    (err = pb_server_route(d->srv, "POST", "/webhooks/{channel}", h_webhook, d)) ||
	    (err = pb_server_route(d->srv, "GET", "/healthz", h_healthz, d)) ||
	    (err = pb_server_route(d->srv, "GET", "/metrics", h_metrics, d)) ||
	    (err = pb_api_routes(d, eb)) || (err = pb_console_routes(d, eb))) {
		if (!eb->msg[0])
			pb_errf(eb, err, "out of memory");
		goto fail;
	}

	d->n_workers = cfg->pipeline.workers ? cfg->pipeline.workers : 2;
	d->workers = calloc(d->n_workers, sizeof *d->workers);
	if (!d->workers) {
		err = pb_errf(eb, PB_ENOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i < d->n_workers; i++) {
		worker_ctx *w = malloc(sizeof *w);
		if (w) {
			w->d = d;
			w->index = i;
		}
		if (!w || pthread_create(&d->workers[i], NULL, worker_main, w)) {
			free(w);
			err = pb_errf(eb, PB_ENOMEM, "cannot start a worker thread");
			goto fail;
		}
		d->started_workers++;
	}
	if (pthread_create(&d->inbox_writer, NULL, inbox_writer_main, d)) {
		err = pb_errf(eb, PB_ENOMEM, "cannot start the inbox writer thread");
		goto fail;
	}
	d->inbox_writer_started = true;
	if (pthread_create(&d->sender, NULL, sender_main, d)) {
		err = pb_errf(eb, PB_ENOMEM, "cannot start the sender thread");
		goto fail;
	}
	d->sender_started = true;
	if (pthread_create(&d->scheduler, NULL, scheduler_main, d)) {
		err = pb_errf(eb, PB_ENOMEM, "cannot start the scheduler thread");
		goto fail;
	}
	d->scheduler_started = true;
	if (cfg->pipeline.scan_interval_ms > 0) {
		if (pthread_create(&d->watcher, NULL, watch_main, d)) {
			err = pb_errf(eb, PB_ENOMEM, "cannot start the watch thread");
			goto fail;
		}
		d->watcher_started = true;
	}
	if ((err = pb_server_start(d->srv, eb)))
		goto fail;
	free(cert);
	free(key);
	pb_logf(d->log, PB_LOG_INFO, "serve.started",
		"listening on port %u; store %s; knowledge base %s; %u workers; %zu channel(s)",
		pb_server_port(d->srv), cfg->store_path, d->kb_dir, d->n_workers, d->n_chans);
	*out = d;
	return PB_OK;
fail:
	free(cert);
	free(key);
	pb_daemon_stop(d);
	return err;
}

unsigned short pb_daemon_port(const pb_daemon *d)
{
	return pb_server_port(d->srv);
}

void pb_daemon_stop(pb_daemon *d)
{
	unsigned i;
	size_t k;

	if (!d)
		return;
	pthread_mutex_lock(&d->mu);
	d->stopping = true;
	pthread_cond_broadcast(&d->work);
	pthread_cond_broadcast(&d->done);
	pthread_cond_broadcast(&d->send);
	pthread_mutex_unlock(&d->mu);
	/* No new requests; those running finish (API waits end early). */
	pb_server_stop(d->srv);
	d->srv = NULL;
	/* No request waits on the writer any more: stop it. */
	pthread_mutex_lock(&d->iq_mu);
	d->iq_stop = true;
	pthread_cond_broadcast(&d->iq_cond);
	pthread_mutex_unlock(&d->iq_mu);
	if (d->inbox_writer_started)
		pthread_join(d->inbox_writer, NULL);
	for (i = 0; i < d->started_workers; i++)
		pthread_join(d->workers[i], NULL);
	if (d->sender_started)
		pthread_join(d->sender, NULL);
	if (d->scheduler_started)
		pthread_join(d->scheduler, NULL);
	if (d->watcher_started)
		pthread_join(d->watcher, NULL);
	free(d->workers);
	for (k = 0; k < d->n_chans; k++) {
		size_t x;
		pb_channel_free(d->chans[k].ch);
		for (x = 0; x < d->chans[k].n_extra; x++) {
			pb_channel_free(d->chans[k].extra[x]);
			pthread_mutex_destroy(&d->chans[k].extra_mu[x]);
		}
		free(d->chans[k].saved_token);
		pthread_mutex_destroy(&d->chans[k].mu);
	}
	for (k = 0; k < d->n_pool; k++)
		pb_store_close(d->pool[k]);
	free(d->pool);
	pb_orders_free(d->orders);
	pb_http_free(d->http);
	if (d->gen)
		pb_daemon_gen_put(d->gen);
	pb_metrics_free(d->metrics);
	if (d->scheduler_started)
		pb_logf(d->log, PB_LOG_INFO, "serve.stopped", "stopped cleanly");
	pthread_mutex_destroy(&d->mu);
	pthread_cond_destroy(&d->work);
	pthread_cond_destroy(&d->done);
	pthread_cond_destroy(&d->send);
	pthread_mutex_destroy(&d->iq_mu);
	pthread_cond_destroy(&d->iq_cond);
	pthread_cond_destroy(&d->iq_done);
	free(d);
}
