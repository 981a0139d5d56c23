/*
 * The sandbox's Chatwoot (see sandbox.h): the slice of the application API
 * the adapter uses, with its token and account checks and its answer
 * shapes; buyers and agents played through /_sandbox/chatwoot/ controls or
 * a scripted seed; and message_created webhooks delivered the way Chatwoot
 * sends them, for every message whoever wrote it, so a test sees parcelbot
 * receive (and ignore) its own notes and replies.
 *
 * Webhooks go out from one delivery thread in the order the messages were
 * made, so an HTTP handler never waits on parcelbot. A scripted play runs
 * in its own thread. Both wait on one condition variable that stopping and
 * resetting signal.
 *
 *   chatwoot:
 *     conversations:
 *       - id: 7
 *         contact: 70          # the buyer's contact id
 *         name: "Li Wei"       # optional contact name
 *         order_id: "SO-1001"  # optional, becomes custom_attributes.order_id
 *         labels: [vip]        # optional starting labels
 *         messages:
 *           - {text: "我的快递三天没动了", at: 0}
 *         follow_up: {after: 600, text: "还在吗？"}
 */
#include <cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parcelbot/http.h"
#include "parcelbot/time.h"
#include "sandbox_internal.h"

#define LIST_LIMIT 20      /* messages a GET returns, newest last, as Chatwoot */
#define MAX_DELIVERIES 10000
#define MAX_CONVS 10000
#define MAX_MESSAGES 5000  /* per conversation */

typedef struct delivery {
	struct delivery *next;
	char *url;
	char *body;
	long long message_id;
} delivery;

typedef struct play_ev {
	long long at_ms;
	size_t conv; /* index into seed */
	long msg;    /* message index, -1 for the follow-up */
} play_ev;

typedef struct sbx_cw {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* new delivery, delivery done, stop, play cancelled */
	bool stopping;
	char *token;
	long account;
	char *webhook_opt; /* from the options: restored on reset */
	char *webhook;
	cJSON *seed;  /* the seed's conversations, as read */
	cJSON *convs; /* live conversation state, an array */
	long long next_msg;
	pb_http *http;
	pthread_t deliverer;
	bool deliverer_started;
	delivery *head, *tail;
	bool delivering;
	cJSON *deliveries;
	unsigned long delivery_seq;
	pthread_t player;
	bool player_started, play_running, play_cancel;
	double speed;
	size_t played, pending, follow_ups, follow_ups_skipped;
} sbx_cw;

const char *const pb_sbx_chatwoot_keys[] = {"chatwoot", NULL};

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static long long jnum(const cJSON *o, const char *key, long long dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? (long long)v->valuedouble : dflt;
}

static void error_json(pb_sbx_resp *rs, int status, const char *msg)
{
	cJSON *j = cJSON_CreateObject();

	if (j)
		cJSON_AddStringToObject(j, "error", msg);
	pb_sbx_send_json(rs, status, j);
	cJSON_Delete(j);
}

static void send_owned(pb_sbx_resp *rs, int status, cJSON *j)
{
	pb_sbx_send_json(rs, status, j);
	cJSON_Delete(j);
}

/* --- conversations -------------------------------------------------- */

/* Caller holds the lock. */
static cJSON *conv_find(sbx_cw *t, long long id)
{
	cJSON *c;

	cJSON_ArrayForEach(c, t->convs)
	{
		if (jnum(c, "id", -1) == id)
			return c;
	}
	return NULL;
}

static cJSON *person(long long id, const char *name, const char *type)
{
	cJSON *p = cJSON_CreateObject();

	if (p && (!cJSON_AddNumberToObject(p, "id", (double)id) ||
		  !cJSON_AddStringToObject(p, "name", name) ||
		  !cJSON_AddStringToObject(p, "type", type))) {
		cJSON_Delete(p);
		return NULL;
	}
	return p;
}

/* Makes a conversation in its starting state. Caller holds the lock. */
static cJSON *conv_new(sbx_cw *t, long long id, long long contact, const char *name,
		       const char *order_id, const cJSON *labels, const char *status)
{
	cJSON *c = cJSON_CreateObject(), *attrs, *p;
	char nm[64];

	if (!c)
		return NULL;
	if (!name) {
		snprintf(nm, sizeof nm, "Buyer %lld", contact);
		name = nm;
	}
	p = person(contact, name, "contact");
	if (!p || !cJSON_AddNumberToObject(c, "id", (double)id) ||
	    !cJSON_AddStringToObject(c, "status", status ? status : "open") ||
	    !cJSON_AddItemToObject(c, "labels",
				   labels ? cJSON_Duplicate(labels, true) : cJSON_CreateArray()) ||
	    !cJSON_AddItemToObject(c, "contact", p) ||
	    !(attrs = cJSON_AddObjectToObject(c, "custom_attributes")) ||
	    (order_id && !cJSON_AddStringToObject(attrs, "order_id", order_id)) ||
	    !cJSON_AddArrayToObject(c, "messages") || !cJSON_AddItemToArray(t->convs, c)) {
		if (p && !cJSON_GetObjectItemCaseSensitive(c, "contact"))
			cJSON_Delete(p);
		cJSON_Delete(c);
		return NULL;
	}
	return c;
}

/* Rebuilds every conversation from the seed. Caller holds the lock. */
static pb_err convs_from_seed(sbx_cw *t)
{
	cJSON *fresh = cJSON_CreateArray(), *old = t->convs;
	const cJSON *s;

	if (!fresh)
		return PB_ENOMEM;
	t->convs = fresh;
	cJSON_ArrayForEach(s, t->seed)
	{
		if (!conv_new(t, jnum(s, "id", 0), jnum(s, "contact", 0), jstr(s, "name"),
			      jstr(s, "order_id"), cJSON_GetObjectItemCaseSensitive(s, "labels"),
			      jstr(s, "status"))) {
			cJSON_Delete(fresh);
			t->convs = old;
			return PB_ENOMEM;
		}
	}
	cJSON_Delete(old);
	return PB_OK;
}

static void record_delivery(sbx_cw *t, long long msg, const char *url, long status,
			    unsigned attempts, const char *error)
{
	cJSON *d = cJSON_CreateObject();

	if (!d)
		return;
	cJSON_AddNumberToObject(d, "seq", (double)++t->delivery_seq);
	cJSON_AddNumberToObject(d, "message_id", (double)msg);
	cJSON_AddStringToObject(d, "event", "message_created");
	if (url)
		cJSON_AddStringToObject(d, "url", url);
	else
		cJSON_AddNullToObject(d, "url");
	cJSON_AddNumberToObject(d, "status", (double)status);
	cJSON_AddNumberToObject(d, "attempts", attempts);
	cJSON_AddBoolToObject(d, "ok", !error);
	if (error)
		cJSON_AddStringToObject(d, "error", error);
	if (cJSON_GetArraySize(t->deliveries) >= MAX_DELIVERIES)
		cJSON_DeleteItemFromArray(t->deliveries, 0);
	cJSON_AddItemToArray(t->deliveries, d);
}

/* The message_created body Chatwoot posts for message m of conversation c.
 * Caller holds the lock. */
static char *webhook_body(sbx_cw *t, const cJSON *c, const cJSON *m)
{
	cJSON *j = cJSON_CreateObject(), *conv, *meta, *acct, *inbox;
	char when[40];
	char *s = NULL;
	long long type = jnum(m, "message_type", 0);

	if (!j)
		return NULL;
	pb_time_format((pb_when){jnum(m, "created_at", 0), 0}, when, sizeof when);
	cJSON_AddStringToObject(j, "event", "message_created");
	cJSON_AddNumberToObject(j, "id", (double)jnum(m, "id", 0));
	cJSON_AddItemToObject(j, "content",
			      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(m, "content"), true));
	cJSON_AddStringToObject(j, "created_at", when);
	cJSON_AddStringToObject(j, "message_type", type == 0 ? "incoming" : "outgoing");
	cJSON_AddStringToObject(j, "content_type", "text");
	cJSON_AddObjectToObject(j, "content_attributes");
	cJSON_AddObjectToObject(j, "additional_attributes");
	cJSON_AddNullToObject(j, "source_id");
	cJSON_AddBoolToObject(j, "private",
			      cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "private")));
	cJSON_AddItemToObject(j, "sender",
			      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(m, "sender"), true));
	conv = cJSON_AddObjectToObject(j, "conversation");
	if (conv) {
		cJSON_AddNumberToObject(conv, "id", (double)jnum(c, "id", 0));
		cJSON_AddNumberToObject(conv, "inbox_id", 1);
		cJSON_AddStringToObject(conv, "channel", "Channel::Api");
		cJSON_AddStringToObject(conv, "status", jstr(c, "status") ? jstr(c, "status") : "open");
		cJSON_AddBoolToObject(conv, "can_reply", true);
		cJSON_AddItemToObject(conv, "labels",
				      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(c, "labels"), true));
		cJSON_AddItemToObject(
			conv, "custom_attributes",
			cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(c, "custom_attributes"), true));
		cJSON_AddObjectToObject(conv, "additional_attributes");
		meta = cJSON_AddObjectToObject(conv, "meta");
		if (meta) {
			cJSON_AddItemToObject(
				meta, "sender",
				cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(c, "contact"), true));
			cJSON_AddNullToObject(meta, "assignee");
		}
	}
	acct = cJSON_AddObjectToObject(j, "account");
	if (acct) {
		cJSON_AddNumberToObject(acct, "id", (double)t->account);
		cJSON_AddStringToObject(acct, "name", "Sandbox shop");
	}
	inbox = cJSON_AddObjectToObject(j, "inbox");
	if (inbox) {
		cJSON_AddNumberToObject(inbox, "id", 1);
		cJSON_AddStringToObject(inbox, "name", "Sandbox inbox");
	}
	s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return s;
}

/* Adds a message to conversation c and queues its webhook. Returns the new
 * message (owned by c) or NULL. Caller holds the lock. */
static cJSON *add_message(sbx_cw *t, cJSON *c, const char *content, int type, bool priv,
			  cJSON *sender)
{
	cJSON *msgs = cJSON_GetObjectItemCaseSensitive(c, "messages"), *m;
	delivery *d;
	long long id;

	if (!sender)
		return NULL;
	if (cJSON_GetArraySize(msgs) >= MAX_MESSAGES || !(m = cJSON_CreateObject())) {
		cJSON_Delete(sender);
		return NULL;
	}
	id = t->next_msg++;
	if (!cJSON_AddNumberToObject(m, "id", (double)id) ||
	    !cJSON_AddStringToObject(m, "content", content) ||
	    !cJSON_AddNumberToObject(m, "account_id", (double)t->account) ||
	    !cJSON_AddNumberToObject(m, "inbox_id", 1) ||
	    !cJSON_AddNumberToObject(m, "conversation_id", (double)jnum(c, "id", 0)) ||
	    !cJSON_AddNumberToObject(m, "message_type", type) ||
	    !cJSON_AddStringToObject(m, "content_type", "text") ||
	    !cJSON_AddStringToObject(m, "status", "sent") ||
	    !cJSON_AddBoolToObject(m, "private", priv) ||
	    !cJSON_AddNumberToObject(m, "created_at", (double)time(NULL)) ||
	    !cJSON_AddItemToObject(m, "sender", sender)) {
		if (!cJSON_GetObjectItemCaseSensitive(m, "sender"))
			cJSON_Delete(sender);
		cJSON_Delete(m);
		return NULL;
	}
	if (!cJSON_AddItemToArray(msgs, m)) {
		cJSON_Delete(m);
		return NULL;
	}
	if (!t->webhook) {
		record_delivery(t, id, NULL, 0, 0, "no webhook URL configured");
		return m;
	}
	d = calloc(1, sizeof *d);
	if (d) {
		d->message_id = id;
		d->url = strdup(t->webhook);
		d->body = webhook_body(t, c, m);
	}
	if (!d || !d->url || !d->body) {
		if (d) {
			free(d->url);
			free(d->body);
			free(d);
		}
		record_delivery(t, id, t->webhook, 0, 0, "out of memory");
		return m;
	}
	if (t->tail)
		t->tail->next = d;
	else
		t->head = d;
	t->tail = d;
	pthread_cond_broadcast(&t->cond);
	return m;
}

/* A buyer writes in conversation id (made when new). Caller holds the lock. */
static cJSON *buyer_writes(sbx_cw *t, long long id, long long contact, const char *order_id,
			   const char *text)
{
	cJSON *c = conv_find(t, id), *ct, *attrs;

	if (!c) {
		if (cJSON_GetArraySize(t->convs) >= MAX_CONVS)
			return NULL;
		c = conv_new(t, id, contact > 0 ? contact : id, NULL, order_id, NULL, NULL);
		if (!c)
			return NULL;
	} else if (order_id) {
		attrs = cJSON_GetObjectItemCaseSensitive(c, "custom_attributes");
		cJSON_DeleteItemFromObjectCaseSensitive(attrs, "order_id");
		cJSON_AddStringToObject(attrs, "order_id", order_id);
	}
	/* A buyer's message reopens a resolved conversation, as in Chatwoot. */
	cJSON_ReplaceItemInObjectCaseSensitive(c, "status", cJSON_CreateString("open"));
	ct = cJSON_GetObjectItemCaseSensitive(c, "contact");
	return add_message(t, c, text, 0, false, cJSON_Duplicate(ct, true));
}

/* --- webhook delivery ----------------------------------------------- */

static void deliver(sbx_cw *t, delivery *d)
{
	static const char *const headers[] = {"Content-Type: application/json", NULL};
	pb_http_req r = {0};
	char err[300];
	bool ok;

	r.method = "POST";
	r.url = d->url;
	r.headers = headers;
	r.body = d->body;
	r.body_len = strlen(d->body);
	r.idempotent = true; /* webhooks are at-least-once; the inbox drops repeats */
	r.max_body = 64 * 1024;
	if (pb_http_perform(t->http, &r, 1))
		r.err = PB_ENOMEM;
	ok = !r.err && r.status >= 200 && r.status < 300;
	if (!ok && !r.err)
		snprintf(err, sizeof err, "HTTP %ld", r.status);
	else if (!ok)
		snprintf(err, sizeof err, "%s", pb_errmsg(&r.eb, r.err));
	pthread_mutex_lock(&t->lock);
	record_delivery(t, d->message_id, d->url, r.status, r.attempts, ok ? NULL : err);
	pthread_mutex_unlock(&t->lock);
	pb_http_req_release(&r);
}

static void delivery_free(delivery *d)
{
	free(d->url);
	free(d->body);
	free(d);
}

static void *deliverer(void *arg)
{
	sbx_cw *t = arg;
	delivery *d;

	pthread_mutex_lock(&t->lock);
	while (!t->stopping) {
		if (!t->head) {
			pthread_cond_wait(&t->cond, &t->lock);
			continue;
		}
		d = t->head;
		t->head = d->next;
		if (!t->head)
			t->tail = NULL;
		t->delivering = true;
		pthread_mutex_unlock(&t->lock);
		deliver(t, d);
		delivery_free(d);
		pthread_mutex_lock(&t->lock);
		t->delivering = false;
		pthread_cond_broadcast(&t->cond);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

/* Drops deliveries not yet sent and waits for the one under way. Caller
 * holds the lock. */
static void deliveries_drain(sbx_cw *t)
{
	delivery *d;

	while ((d = t->head)) {
		t->head = d->next;
		delivery_free(d);
	}
	t->tail = NULL;
	while (t->delivering && !t->stopping)
		pthread_cond_wait(&t->cond, &t->lock);
}

/* --- scripted play -------------------------------------------------- */

static int ev_cmp(const void *a, const void *b)
{
	const play_ev *x = a, *y = b;

	if (x->at_ms != y->at_ms)
		return x->at_ms < y->at_ms ? -1 : 1;
	if (x->conv != y->conv)
		return x->conv < y->conv ? -1 : 1;
	return x->msg < y->msg ? -1 : x->msg > y->msg;
}

typedef struct play_plan {
	sbx_cw *t;
	play_ev *ev;
	size_t n;
	long long *last_id; /* per seed conversation: its last played message */
} play_plan;

static void deadline(struct timespec *ts, const struct timespec *start, long long ms)
{
	*ts = *start;
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Whether a public reply came after message id in conversation c. */
static bool replied_since(const cJSON *c, long long id)
{
	const cJSON *m;

	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(c, "messages"))
	{
		if (jnum(m, "id", 0) > id && jnum(m, "message_type", 0) == 1 &&
		    !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "private")))
			return true;
	}
	return false;
}

static void *player(void *arg)
{
	play_plan *p = arg;
	sbx_cw *t = p->t;
	struct timespec start, due;
	size_t i;

	clock_gettime(CLOCK_MONOTONIC, &start);
	pthread_mutex_lock(&t->lock);
	for (i = 0; i < p->n && !t->stopping && !t->play_cancel; i++) {
		const play_ev *e = &p->ev[i];
		const cJSON *s = cJSON_GetArrayItem(t->seed, (int)e->conv), *m, *f;
		long long id = jnum(s, "id", 0);
		cJSON *c, *msg;

		deadline(&due, &start, e->at_ms);
		while (!t->stopping && !t->play_cancel &&
		       pthread_cond_timedwait(&t->cond, &t->lock, &due) != ETIMEDOUT)
			;
		if (t->stopping || t->play_cancel)
			break;
		t->pending--;
		if (e->msg >= 0) {
			m = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(s, "messages"),
					       (int)e->msg);
			msg = buyer_writes(t, id, jnum(s, "contact", 0), NULL, jstr(m, "text"));
			if (msg)
				p->last_id[e->conv] = jnum(msg, "id", 0);
			t->played++;
			continue;
		}
		f = cJSON_GetObjectItemCaseSensitive(s, "follow_up");
		c = conv_find(t, id);
		if (c && replied_since(c, p->last_id[e->conv])) {
			t->follow_ups_skipped++;
			continue;
		}
		buyer_writes(t, id, jnum(s, "contact", 0), NULL, jstr(f, "text"));
		t->follow_ups++;
	}
	t->play_running = false;
	pthread_mutex_unlock(&t->lock);
	free(p->ev);
	free(p->last_id);
	free(p);
	return NULL;
}

/* Joins a finished or cancelled player. Caller does not hold the lock. */
static void player_join(sbx_cw *t, bool cancel)
{
	bool started;

	pthread_mutex_lock(&t->lock);
	if (cancel) {
		t->play_cancel = true;
		pthread_cond_broadcast(&t->cond);
	}
	started = t->player_started;
	t->player_started = false;
	pthread_mutex_unlock(&t->lock);
	if (started)
		pthread_join(t->player, NULL);
	pthread_mutex_lock(&t->lock);
	t->play_cancel = false;
	pthread_mutex_unlock(&t->lock);
}

/* Builds the schedule: every seed message at its time, and each follow-up
 * `after` seconds past its conversation's last message. */
static play_plan *plan_new(sbx_cw *t, double speed)
{
	play_plan *p = calloc(1, sizeof *p);
	const cJSON *s, *m, *f;
	size_t ci = 0, cap = 0, n = cJSON_GetArraySize(t->seed);
	double last;
	long mi;

	if (!p)
		return NULL;
	p->t = t;
	p->last_id = calloc(n ? n : 1, sizeof *p->last_id);
	if (!p->last_id)
		goto fail;
	cJSON_ArrayForEach(s, t->seed)
	{
		last = 0;
		mi = 0;
		cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(s, "messages"))
		{
			if (p->n == cap) {
				play_ev *nv;
				cap = cap ? cap * 2 : 16;
				if (!(nv = realloc(p->ev, cap * sizeof *nv)))
					goto fail;
				p->ev = nv;
			}
			double at = (double)jnum(m, "at", 0);
			if (at > last)
				last = at;
			p->ev[p->n++] = (play_ev){(long long)(at * 1000.0 / speed), ci, mi++};
		}
		f = cJSON_GetObjectItemCaseSensitive(s, "follow_up");
		if (f) {
			if (p->n == cap) {
				play_ev *nv;
				cap = cap ? cap * 2 : 16;
				if (!(nv = realloc(p->ev, cap * sizeof *nv)))
					goto fail;
				p->ev = nv;
			}
			p->ev[p->n++] = (play_ev){
				(long long)((last + (double)jnum(f, "after", 0)) * 1000.0 / speed), ci, -1};
		}
		ci++;
	}
	if (p->n)
		qsort(p->ev, p->n, sizeof *p->ev, ev_cmp);
	return p;
fail:
	free(p->ev);
	free(p->last_id);
	free(p);
	return NULL;
}

static cJSON *play_status(sbx_cw *t)
{
	cJSON *j = cJSON_CreateObject();

	if (!j)
		return NULL;
	cJSON_AddBoolToObject(j, "running", t->play_running);
	cJSON_AddNumberToObject(j, "speed", t->speed);
	cJSON_AddNumberToObject(j, "played", (double)t->played);
	cJSON_AddNumberToObject(j, "pending", (double)t->pending);
	cJSON_AddNumberToObject(j, "follow_ups", (double)t->follow_ups);
	cJSON_AddNumberToObject(j, "follow_ups_skipped", (double)t->follow_ups_skipped);
	return j;
}

static void h_play_start(void *state, const pb_sbx_req *rq, pb_sbx_resp *rs)
{
	sbx_cw *t = state;
	cJSON *j = rq->body_len ? cJSON_ParseWithLength(rq->body, rq->body_len) : NULL;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "speed");
	double speed = 1;
	play_plan *p;

	if (rq->body_len && !cJSON_IsObject(j)) {
		error_json(rs, 400, "the body must be a JSON object");
		goto out;
	}
	if (v && (!cJSON_IsNumber(v) || v->valuedouble <= 0 || v->valuedouble > 1e6)) {
		error_json(rs, 400, "speed must be a number above 0, at most 1000000");
		goto out;
	}
	if (v)
		speed = v->valuedouble;
	pthread_mutex_lock(&t->lock);
	if (t->play_running) {
		pthread_mutex_unlock(&t->lock);
		error_json(rs, 409, "a play is already running");
		goto out;
	}
	pthread_mutex_unlock(&t->lock);
	player_join(t, false); /* the last one, finished */
	pthread_mutex_lock(&t->lock);
	p = plan_new(t, speed);
	if (!p) {
		pthread_mutex_unlock(&t->lock);
		error_json(rs, 500, "out of memory");
		goto out;
	}
	t->speed = speed;
	t->played = t->follow_ups = t->follow_ups_skipped = 0;
	t->pending = p->n;
	t->play_running = true;
	if (pthread_create(&t->player, NULL, player, p)) {
		t->play_running = false;
		t->pending = 0;
		pthread_mutex_unlock(&t->lock);
		free(p->ev);
		free(p->last_id);
		free(p);
		error_json(rs, 500, "cannot start the player thread");
		goto out;
	}
	t->player_started = true;
	send_owned(rs, 200, play_status(t));
	pthread_mutex_unlock(&t->lock);
out:
	cJSON_Delete(j);
}

static void h_play_get(void *state, const pb_sbx_req *rq, pb_sbx_resp *rs)
{
	sbx_cw *t = state;

	(void)rq;
	pthread_mutex_lock(&t->lock);
	send_owned(rs, 200, play_status(t));
	pthread_mutex_unlock(&t->lock);
}

/* --- the API -------------------------------------------------------- */

static bool all_digits(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return i > 0 && i < 16;
}

/* Checks the token and the account and finds the conversation named in
 * /api/v1/accounts/A/conversations/C/...; answers the error itself and
 * returns NULL when something is wrong. Returns with the lock held
 * otherwise. */
static cJSON *api_conv(sbx_cw *t, const pb_sbx_req *rq, pb_sbx_resp *rs)
{
	const char *tok = pb_sbx_header(rq, "api_access_token");
	char acct[32], conv[32];
	cJSON *c;

	if (!tok || strcmp(tok, t->token)) {
		error_json(rs, 401, "You need to sign in or sign up before continuing.");
		return NULL;
	}
	if (sscanf(rq->path, "/api/v1/accounts/%31[^/]/conversations/%31[^/]/", acct, conv) != 2 ||
	    !all_digits(acct) || !all_digits(conv) || strtol(acct, NULL, 10) != t->account) {
		error_json(rs, 404, "Resource could not be found");
		return NULL;
	}
	pthread_mutex_lock(&t->lock);
	c = conv_find(t, strtoll(conv, NULL, 10));
	if (!c) {
		pthread_mutex_unlock(&t->lock);
		error_json(rs, 404, "Resource could not be found");
	}
	return c;
}

static void h_messages_create(void *state, const pb_sbx_req *rq, pb_sbx_resp *rs)
{
	sbx_cw *t = state;
	cJSON *j = NULL, *c, *m;
	const cJSON *v;
	const char *content, *type;
	bool priv;

	if (!(c = api_conv(t, rq, rs)))
		return;
	j = cJSON_ParseWithLength(rq->body, rq->body_len);
	content = jstr(j, "content");
	type = jstr(j, "message_type");
	v = cJSON_GetObjectItemCaseSensitive(j, "private");
	if (!cJSON_IsObject(j) || !content || !*content) {
		error_json(rs, 422, "Content can't be blank");
		goto out;
	}
	if ((type && strcmp(type, "outgoing")) || (v && !cJSON_IsBool(v))) {
		error_json(rs, 422, "message_type must be outgoing and private a boolean");
		goto out;
	}
	priv = cJSON_IsTrue(v);
	m = add_message(t, c, content, 1, priv, person(1, "parcelbot", "agent_bot"));
	if (!m)
		error_json(rs, 500, "out of memory");
	else
		pb_sbx_send_json(rs, 200, m);
out:
	pthread_mutex_unlock(&t->lock);
	cJSON_Delete(j);
}

static void h_messages_list(void *state, const pb_sbx_req *rq, pb_sbx_resp *rs)
{
	sbx_cw *t = state;
	cJSON *c, *out, *meta, *list;
	const cJSON *msgs, *m;
	int n, skip;

	if (!(c = api_conv(t, rq, rs)))
		return;
	out = cJSON_CreateObject();
	meta = out ? cJSON_AddObjectToObject(out, "meta") : NULL;
	list = out ? cJSON_AddArrayToObject(out, "payload") : NULL;
	if (meta) {
		cJSON_AddItemToObject(meta, "labels",
				      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(c, "labels"), true));
		cJSON_AddItemToObject(meta, "contact",
				      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(c, "contact"), true));
	}
	msgs = cJSON_GetObjectItemCaseSensitive(c, "messages");
	n = cJSON_GetArraySize(msgs);
	skip = n > LIST_LIMIT ? n - LIST_LIMIT : 0;
	cJSON_ArrayForEach(m, msgs)
	{
		if (skip > 0) {
			skip--;
			continue;
		}
		if (list)
			cJSON_AddItemToArray(list, cJSON_Duplicate(m, true));
	}
	pthread_mutex_unlock(&t->lock);
	send_owned(rs, 200, out);
}

static void h_labels(void *state, const pb_sbx_req *rq, pb_sbx_resp *rs)
{
	sbx_cw *t = state;
	cJSON *c, *j = NULL, *out = NULL, *fresh;
	const cJSON *l, *list;

	if (!(c = api_conv(t, rq, rs)))
		return;
	if (!strcmp(rq->method, "POST")) {
		j = cJSON_ParseWithLength(rq->body, rq->body_len);
		list = cJSON_GetObjectItemCaseSensitive(j, "labels");
		if (!cJSON_IsArray(list)) {
			error_json(rs, 422, "labels must be a list");
			goto out;
		}
		cJSON_ArrayForEach(l, list)
		{
			if (!cJSON_IsString(l) || !*l->valuestring) {
				error_json(rs, 422, "every label must be a non-empty string");
				goto out;
			}
		}
		/* Chatwoot's POST replaces the whole set. */
		fresh = cJSON_Duplicate(list, true);
		if (!fresh) {
			error_json(rs, 500, "out of memory");
			goto out;
		}
		cJSON_ReplaceItemInObjectCaseSensitive(c, "labels", fresh);
	}
	out = cJSON_CreateObject();
	if (out)
		cJSON_AddItemToObject(out, "payload",
				      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(c, "labels"), true));
	send_owned(rs, 200, out);
out:
	pthread_mutex_unlock(&t->lock);
	cJSON_Delete(j);
}

static void h_toggle_status(void *state, const pb_sbx_req *rq, pb_sbx_resp *rs)
{
	static const char *const ok[] = {"open", "resolved", "pending", "snoozed", NULL};
	sbx_cw *t = state;
	cJSON *c, *j, *out, *p;
	const char *want, *cur;
	size_t i;

	if (!(c = api_conv(t, rq, rs)))
		return;
	j = cJSON_ParseWithLength(rq->body, rq->body_len);
	want = jstr(j, "status");
	cur = jstr(c, "status");
	if (!want) /* no status: toggle between open and resolved */
		want = cur && !strcmp(cur, "open") ? "resolved" : "open";
	for (i = 0; ok[i] && strcmp(ok[i], want); i++)
		;
	if (!ok[i]) {
		error_json(rs, 422, "status must be open, resolved, pending or snoozed");
	} else {
		cJSON_ReplaceItemInObjectCaseSensitive(c, "status", cJSON_CreateString(ok[i]));
		out = cJSON_CreateObject();
		cJSON_AddObjectToObject(out, "meta");
		p = cJSON_AddObjectToObject(out, "payload");
		if (p) {
			cJSON_AddBoolToObject(p, "success", true);
			cJSON_AddStringToObject(p, "current_status", ok[i]);
			cJSON_AddNumberToObject(p, "conversation_id", (double)jnum(c, "id", 0));
		}
		send_owned(rs, 200, out);
	}
	pthread_mutex_unlock(&t->lock);
	cJSON_Delete(j);
}

/* --- the sandbox's own controls ------------------------------------- */

static bool positive_id(const cJSON *v, long long *out)
{
	if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 1e15 ||
	    v->valuedouble != (double)(long long)v->valuedouble)
		return false;
	*out = (long long)v->valuedouble;
	return true;
}

static void h_incoming(void *state, const pb_sbx_req *rq, pb_sbx_resp *rs)
{
	sbx_cw *t = state;
	cJSON *j = cJSON_ParseWithLength(rq->body, rq->body_len), *m, *out;
	const cJSON *ct = cJSON_GetObjectItemCaseSensitive(j, "contact");
	const char *text = jstr(j, "text"), *order = jstr(j, "order_id");
	long long conv, contact = 0;

	if (!positive_id(cJSON_GetObjectItemCaseSensitive(j, "conversation"), &conv) || !text ||
	    !*text || (ct && !positive_id(ct, &contact)) ||
	    (cJSON_HasObjectItem(j, "order_id") && !order)) {
		error_json(rs, 400,
			   "need {\"conversation\": N, \"text\": \"...\", \"contact\": N?, "
			   "\"order_id\": \"...\"?}");
		goto out;
	}
	pthread_mutex_lock(&t->lock);
	m = buyer_writes(t, conv, contact, order, text);
	out = m ? cJSON_Duplicate(m, true) : NULL;
	pthread_mutex_unlock(&t->lock);
	if (!out)
		error_json(rs, 500, "cannot add the message (out of memory or too many)");
	else
		send_owned(rs, 200, out);
out:
	cJSON_Delete(j);
}

static void h_agent_note(void *state, const pb_sbx_req *rq, pb_sbx_resp *rs)
{
	sbx_cw *t = state;
	cJSON *j = cJSON_ParseWithLength(rq->body, rq->body_len), *c, *m, *out = NULL;
	const char *text = jstr(j, "text"), *agent = jstr(j, "agent");
	long long conv;

	if (!positive_id(cJSON_GetObjectItemCaseSensitive(j, "conversation"), &conv) || !text ||
	    !*text) {
		error_json(rs, 400, "need {\"conversation\": N, \"text\": \"...\", \"agent\": NAME?}");
		goto out;
	}
	pthread_mutex_lock(&t->lock);
	c = conv_find(t, conv);
	m = c ? add_message(t, c, text, 1, true, person(2, agent && *agent ? agent : "Agent", "user"))
	      : NULL;
	out = m ? cJSON_Duplicate(m, true) : NULL;
	pthread_mutex_unlock(&t->lock);
	if (!c)
		error_json(rs, 404, "no such conversation");
	else if (!out)
		error_json(rs, 500, "cannot add the message (out of memory or too many)");
	else
		send_owned(rs, 200, out);
out:
	cJSON_Delete(j);
}

static void h_config(void *state, const pb_sbx_req *rq, pb_sbx_resp *rs)
{
	sbx_cw *t = state;
	cJSON *j = cJSON_ParseWithLength(rq->body, rq->body_len), *out;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "webhook");
	char *url = NULL;

	if (!v || !(cJSON_IsNull(v) ||
		    (cJSON_IsString(v) && (!strncmp(v->valuestring, "http://", 7) ||
					   !strncmp(v->valuestring, "https://", 8))))) {
		error_json(rs, 400, "need {\"webhook\": \"http(s)://...\" or null}");
		goto out;
	}
	if (cJSON_IsString(v) && !(url = strdup(v->valuestring))) {
		error_json(rs, 500, "out of memory");
		goto out;
	}
	pthread_mutex_lock(&t->lock);
	free(t->webhook);
	t->webhook = url;
	out = cJSON_CreateObject();
	if (out) {
		if (url)
			cJSON_AddStringToObject(out, "webhook", url);
		else
			cJSON_AddNullToObject(out, "webhook");
	}
	pthread_mutex_unlock(&t->lock);
	send_owned(rs, 200, out);
out:
	cJSON_Delete(j);
}

static void h_conversation(void *state, const pb_sbx_req *rq, pb_sbx_resp *rs)
{
	sbx_cw *t = state;
	const char *id = strrchr(rq->path, '/') + 1;
	cJSON *out = NULL, *c;

	if (!all_digits(id)) {
		error_json(rs, 404, "no such conversation");
		return;
	}
	pthread_mutex_lock(&t->lock);
	c = conv_find(t, strtoll(id, NULL, 10));
	if (c)
		out = cJSON_Duplicate(c, true);
	pthread_mutex_unlock(&t->lock);
	if (!c)
		error_json(rs, 404, "no such conversation");
	else
		send_owned(rs, 200, out);
}

static void h_deliveries(void *state, const pb_sbx_req *rq, pb_sbx_resp *rs)
{
	sbx_cw *t = state;
	cJSON *out = cJSON_CreateObject();
	const delivery *d;
	size_t n = 0;

	(void)rq;
	pthread_mutex_lock(&t->lock);
	for (d = t->head; d; d = d->next)
		n++;
	if (out) {
		cJSON_AddItemToObject(out, "deliveries", cJSON_Duplicate(t->deliveries, true));
		cJSON_AddNumberToObject(out, "queued", (double)(n + (t->delivering ? 1 : 0)));
		if (t->webhook)
			cJSON_AddStringToObject(out, "webhook", t->webhook);
		else
			cJSON_AddNullToObject(out, "webhook");
	}
	pthread_mutex_unlock(&t->lock);
	send_owned(rs, 200, out);
}

/* --- lifecycle ------------------------------------------------------ */

static void cw_reset(void *state)
{
	sbx_cw *t = state;
	cJSON *fresh = cJSON_CreateArray();

	player_join(t, true);
	pthread_mutex_lock(&t->lock);
	deliveries_drain(t);
	if (fresh) {
		cJSON_Delete(t->deliveries);
		t->deliveries = fresh;
	}
	convs_from_seed(t);
	free(t->webhook);
	t->webhook = t->webhook_opt ? strdup(t->webhook_opt) : NULL;
	t->played = t->pending = t->follow_ups = t->follow_ups_skipped = 0;
	pthread_mutex_unlock(&t->lock);
}

static void cw_free(void *state)
{
	sbx_cw *t = state;

	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	t->stopping = true;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
	if (t->player_started)
		pthread_join(t->player, NULL);
	if (t->deliverer_started)
		pthread_join(t->deliverer, NULL);
	deliveries_drain(t);
	pb_http_free(t->http);
	free(t->token);
	free(t->webhook_opt);
	free(t->webhook);
	cJSON_Delete(t->seed);
	cJSON_Delete(t->convs);
	cJSON_Delete(t->deliveries);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* --- seed ----------------------------------------------------------- */

static const char *const top_keys[] = {"conversations", NULL};
static const char *const conv_keys[] = {"id",	  "contact",  "name",	   "order_id",
					"labels", "status",   "messages", "follow_up",
					NULL};
static const char *const msg_keys[] = {"text", "at", NULL};
static const char *const follow_keys[] = {"after", "text", NULL};

static bool seed_id(pb_diag *dg, const pb_ydoc *doc, const pb_ynode *map, const char *key,
		    bool required, long long *out)
{
	const pb_ynode *n = pb_ymap_get(map, key);
	double d = 0;

	if (!n && !required)
		return true;
	if (!pb_y_num(dg, doc, map, key, required, &d))
		return false;
	if (d < 1 || d > 1e15 || d != (double)(long long)d) {
		pb_diag_at(dg, doc, n, "%s must be a positive whole number", key);
		return false;
	}
	*out = (long long)d;
	return true;
}

/* Reads one seed conversation into JSON, reporting problems in dg. */
static cJSON *seed_conv(pb_diag *dg, const pb_ydoc *doc, const pb_ynode *e)
{
	const pb_ynode *msgs, *f, *labels;
	const char *s;
	cJSON *c = cJSON_CreateObject(), *list, *m, *fj, *lj;
	long long id = 0, contact = 0;
	double at, after;
	size_t i;

	if (!c)
		return NULL;
	pb_y_keys(dg, doc, e, conv_keys);
	seed_id(dg, doc, e, "id", true, &id);
	contact = id;
	seed_id(dg, doc, e, "contact", false, &contact);
	cJSON_AddNumberToObject(c, "id", (double)id);
	cJSON_AddNumberToObject(c, "contact", (double)contact);
	if ((s = pb_y_str(dg, doc, e, "name", false)))
		cJSON_AddStringToObject(c, "name", s);
	if ((s = pb_y_str(dg, doc, e, "order_id", false)))
		cJSON_AddStringToObject(c, "order_id", s);
	if ((s = pb_y_str(dg, doc, e, "status", false))) {
		if (strcmp(s, "open") && strcmp(s, "resolved") && strcmp(s, "pending") &&
		    strcmp(s, "snoozed"))
			pb_diag_at(dg, doc, pb_ymap_get(e, "status"),
				   "status must be open, resolved, pending or snoozed");
		cJSON_AddStringToObject(c, "status", s);
	}
	labels = pb_ymap_get(e, "labels");
	if (labels && pb_y_expect(dg, doc, labels, PB_Y_SEQ, "labels")) {
		lj = cJSON_AddArrayToObject(c, "labels");
		for (i = 0; i < labels->n; i++)
			if (pb_y_expect(dg, doc, labels->items[i], PB_Y_SCALAR, "a label") && lj)
				cJSON_AddItemToArray(lj, cJSON_CreateString(labels->items[i]->str));
	}
	list = cJSON_AddArrayToObject(c, "messages");
	msgs = pb_ymap_get(e, "messages");
	if (msgs && pb_y_expect(dg, doc, msgs, PB_Y_SEQ, "messages")) {
		for (i = 0; i < msgs->n; i++) {
			const pb_ynode *mn = msgs->items[i];
			if (!pb_y_expect(dg, doc, mn, PB_Y_MAP, "a message"))
				continue;
			pb_y_keys(dg, doc, mn, msg_keys);
			s = pb_y_str(dg, doc, mn, "text", true);
			at = 0;
			if (pb_y_num(dg, doc, mn, "at", false, &at) && (at < 0 || at > 86400 * 365))
				pb_diag_at(dg, doc, pb_ymap_get(mn, "at"),
					   "at must be 0 to a year, in seconds from the start");
			m = cJSON_CreateObject();
			if (m && s) {
				cJSON_AddStringToObject(m, "text", s);
				cJSON_AddNumberToObject(m, "at", at);
			}
			if (!m || !list || !cJSON_AddItemToArray(list, m))
				cJSON_Delete(m);
		}
	}
	f = pb_ymap_get(e, "follow_up");
	if (f && pb_y_expect(dg, doc, f, PB_Y_MAP, "follow_up")) {
		pb_y_keys(dg, doc, f, follow_keys);
		s = pb_y_str(dg, doc, f, "text", true);
		after = 0;
		if (pb_y_num(dg, doc, f, "after", true, &after) && (after < 0 || after > 86400 * 365))
			pb_diag_at(dg, doc, pb_ymap_get(f, "after"),
				   "after must be 0 to a year, in seconds");
		fj = cJSON_AddObjectToObject(c, "follow_up");
		if (fj && s) {
			cJSON_AddStringToObject(fj, "text", s);
			cJSON_AddNumberToObject(fj, "after", after);
		}
	}
	return c;
}

static cJSON *read_seed(pb_diag *dg, const pb_ydoc *doc, const pb_ynode *sec)
{
	cJSON *out = cJSON_CreateArray(), *c;
	const pb_ynode *list;
	size_t i;

	if (!out || !sec)
		return out;
	if (!pb_y_expect(dg, doc, sec, PB_Y_MAP, "chatwoot"))
		return out;
	pb_y_keys(dg, doc, sec, top_keys);
	list = pb_ymap_get(sec, "conversations");
	if (!list || !pb_y_expect(dg, doc, list, PB_Y_SEQ, "chatwoot.conversations"))
		return out;
	for (i = 0; i < list->n; i++) {
		const pb_ynode *e = list->items[i];
		const cJSON *o;
		if (!pb_y_expect(dg, doc, e, PB_Y_MAP, "a chatwoot conversation"))
			continue;
		c = seed_conv(dg, doc, e);
		if (!c)
			break;
		cJSON_ArrayForEach(o, out)
		{
			if (jnum(o, "id", -1) == jnum(c, "id", -2)) {
				pb_diag_at(dg, doc, pb_ymap_get(e, "id"),
					   "conversation %lld is listed twice", jnum(c, "id", 0));
				break;
			}
		}
		cJSON_AddItemToArray(out, c);
	}
	return out;
}

pb_err pb_sbx_chatwoot_init(pb_sandbox *sb, const pb_sandbox_opts *o, const pb_ydoc *seed,
			    pb_diag *dg)
{
	static const pb_sbx_route routes[] = {
		{"chatwoot.messages.create", "POST",
		 "/api/v1/accounts/*/conversations/*/messages", h_messages_create, NULL},
		{"chatwoot.messages.list", "GET", "/api/v1/accounts/*/conversations/*/messages",
		 h_messages_list, NULL},
		{"chatwoot.labels", "GET", "/api/v1/accounts/*/conversations/*/labels", h_labels,
		 NULL},
		{"chatwoot.labels", "POST", "/api/v1/accounts/*/conversations/*/labels", h_labels,
		 NULL},
		{"chatwoot.toggle_status", "POST",
		 "/api/v1/accounts/*/conversations/*/toggle_status", h_toggle_status, NULL},
		{"chatwoot.incoming", "POST", "/_sandbox/chatwoot/incoming", h_incoming, NULL},
		{"chatwoot.agent_note", "POST", "/_sandbox/chatwoot/agent_note", h_agent_note, NULL},
		{"chatwoot.config", "POST", "/_sandbox/chatwoot/config", h_config, NULL},
		{"chatwoot.deliveries", "GET", "/_sandbox/chatwoot/deliveries", h_deliveries, NULL},
		{"chatwoot.conversation", "GET", "/_sandbox/chatwoot/conversations/*",
		 h_conversation, NULL},
		{"chatwoot.play", "POST", "/_sandbox/chatwoot/play", h_play_start, NULL},
		{"chatwoot.play", "GET", "/_sandbox/chatwoot/play", h_play_get, NULL},
	};
	const pb_ynode *root = seed ? seed->root : NULL;
	pthread_condattr_t ca;
	pb_http_opts ho;
	pb_sbx_module m;
	pb_sbx_route r;
	sbx_cw *t = calloc(1, sizeof *t);
	size_t i;

	if (!t)
		return PB_ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cond, &ca);
	pthread_condattr_destroy(&ca);
	t->account = o->chatwoot_account > 0 ? o->chatwoot_account : PB_SANDBOX_CHATWOOT_ACCOUNT;
	t->token = strdup(o->chatwoot_token ? o->chatwoot_token : PB_SANDBOX_CHATWOOT_TOKEN);
	t->next_msg = 1001;
	t->speed = 1;
	t->seed = read_seed(dg, seed, root && root->kind == PB_Y_MAP ? pb_ymap_get(root, "chatwoot")
								      : NULL);
	t->deliveries = cJSON_CreateArray();
	t->convs = cJSON_CreateArray();
	if (o->chatwoot_webhook) {
		t->webhook_opt = strdup(o->chatwoot_webhook);
		t->webhook = strdup(o->chatwoot_webhook);
	}
	pb_http_opts_init(&ho);
	ho.connect_timeout_ms = 1000;
	ho.timeout_ms = 5000;
	ho.retries = 2;
	ho.backoff_base_ms = 100;
	ho.backoff_max_ms = 1000;
	ho.user_agent = "Chatwoot-sandbox";
	if (!t->token || !t->seed || !t->deliveries || !t->convs ||
	    (o->chatwoot_webhook && (!t->webhook_opt || !t->webhook)) || convs_from_seed(t) ||
	    pb_http_new(&ho, &t->http, NULL)) {
		cw_free(t);
		return PB_ENOMEM;
	}
	if (pthread_create(&t->deliverer, NULL, deliverer, t)) {
		cw_free(t);
		return PB_ENOMEM;
	}
	t->deliverer_started = true;
	m.state = t;
	m.reset = cw_reset;
	m.free = cw_free;
	if (pb_sbx_add_module(sb, &m)) {
		cw_free(t);
		return PB_ENOMEM;
	}
	for (i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		r = routes[i];
		r.state = t;
		if (pb_sbx_add_route(sb, &r))
			return PB_ELIMIT;
	}
	return PB_OK;
}
