/*
 * The agent console that `parcelbot serve` shows at /: signing in and out
 * (a session cookie, its token kept in the store only as a SHA-256), the
 * live feed of pending drafts (Server-Sent Events), the status board's
 * figures, and the static files embedded from src/console/. The console's
 * data calls go to the JSON API (src/api.c), which accepts the session
 * cookie as well as the bearer token.
 */
#include <cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "console_files.h"
#include "parcelbot/auth.h"
#include "parcelbot/digest.h"
#include "parcelbot/policy.h"
#include "parcelbot/utf8.h"
#include "serve_internal.h"

#define COOKIE "pb_session"
#define DEFAULT_TTL (12 * 3600)
#define MAX_FAILS 5     /* per name */
#define MAX_IP_FAILS 20 /* per client address, which several agents may share */
#define FAIL_WINDOW 300
#define CSP                                                                                \
	"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "  \
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

/* Seconds a session lasts: PARCELBOT_SESSION_TTL (for tests), else 12 h. */
static int64_t session_ttl(void)
{
	const char *v = getenv("PARCELBOT_SESSION_TTL");
	char *end;
	long n;

	if (v && *v) {
		n = strtol(v, &end, 10);
		if (!*end && n > 0 && n <= 30 * 86400)
			return n;
	}
	return DEFAULT_TTL;
}

/* ---- sign-in attempts: at most MAX_FAILS failures per FAIL_WINDOW for a
 * name, and MAX_IP_FAILS from one client address ---- */

#define FAIL_SLOTS 1024

typedef struct fail_slot {
	char key[PB_STORE_MAX_NAME + 8];
	int n;
	int64_t since;
} fail_slot;

static pthread_mutex_t fails_mu = PTHREAD_MUTEX_INITIALIZER;
static fail_slot fails[FAIL_SLOTS];

static fail_slot *fail_find(const char *key, int64_t now, bool make)
{
	fail_slot *oldest = NULL, *free_slot = NULL;
	size_t i;

	for (i = 0; i < FAIL_SLOTS; i++) {
		fail_slot *f = &fails[i];
		if (f->key[0] && now - f->since >= FAIL_WINDOW)
			f->key[0] = '\0';
		if (!f->key[0]) {
			if (!free_slot)
				free_slot = f;
			continue;
		}
		if (!strcmp(f->key, key))
			return f;
		if (!oldest || f->since < oldest->since)
			oldest = f;
	}
	/* Full: the oldest window gives way. */
	if (free_slot)
		oldest = free_slot;
	if (!make)
		return NULL;
	snprintf(oldest->key, sizeof oldest->key, "%s", key);
	oldest->n = 0;
	oldest->since = now;
	return oldest;
}

static bool fail_blocked(const char *ip_key, const char *name_key, int64_t now)
{
	fail_slot *a, *b;
	bool blocked;

	pthread_mutex_lock(&fails_mu);
	a = fail_find(ip_key, now, false);
	b = fail_find(name_key, now, false);
	blocked = (a && a->n >= MAX_IP_FAILS) || (b && b->n >= MAX_FAILS);
	pthread_mutex_unlock(&fails_mu);
	return blocked;
}

static void fail_count(const char *ip_key, const char *name_key, int64_t now)
{
	fail_slot *f;

	pthread_mutex_lock(&fails_mu);
	if ((f = fail_find(ip_key, now, true)))
		f->n++;
	if ((f = fail_find(name_key, now, true)))
		f->n++;
	pthread_mutex_unlock(&fails_mu);
}

static void fail_clear(const char *name_key, int64_t now)
{
	fail_slot *f;

	pthread_mutex_lock(&fails_mu);
	if ((f = fail_find(name_key, now, false)))
		f->key[0] = '\0';
	pthread_mutex_unlock(&fails_mu);
}

/* ---- sessions ---- */

bool pb_console_session(pb_store *st, const pb_srv_req *rq, pb_store_session *out)
{
	const char *tok = pb_srv_cookie(rq, COOKIE);
	char h[PB_AUTH_HEX];
	pb_errbuf eb;

	if (!tok || strlen(tok) != 64)
		return false;
	pb_auth_sha256_hex(tok, h);
	return pb_store_session_get(st, h, pb_daemon_now(), out, &eb) == PB_OK;
}

bool pb_console_csrf_ok(const pb_srv_req *rq, const pb_store_session *se)
{
	const char *h = pb_srv_header(rq, "X-CSRF-Token");

	return h && pb_secret_equal(h, strlen(h), se->csrf, strlen(se->csrf));
}

static void set_cookie(const pb_srv_req *rq, pb_srv_resp *rs, const char *tok, int64_t ttl)
{
	char v[256];

	snprintf(v, sizeof v, COOKIE "=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%lld%s", tok,
		 (long long)ttl, rq->tls ? "; Secure" : "");
	pb_srv_add_header(rs, "Set-Cookie", v);
}

static cJSON *me_json(const char *agent, const char *role, const char *csrf)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "agent", agent);
	cJSON_AddStringToObject(o, "role", role);
	cJSON_AddStringToObject(o, "csrf", csrf);
	return o;
}

/* A constant hash to check a password against when the name is unknown,
 * so that a miss takes as long as a wrong password. */
static char dummy_hash[256];

static void make_dummy(void)
{
	char tok[PB_AUTH_HEX];
	pb_errbuf eb;

	if (pb_auth_token(tok, &eb) || pb_auth_hash(tok, dummy_hash, sizeof dummy_hash, &eb))
		dummy_hash[0] = '\0';
}

static void h_login(void *ud, const pb_srv_req *rq, pb_srv_resp *rs)
{
	pb_daemon *d = ud;
	const cJSON *jn, *jp;
	cJSON *body = NULL, *out;
	pb_store *st = NULL;
	pb_store_agent ag;
	pb_store_session se;
	char ip[64], ip_key[80], name_key[PB_STORE_MAX_NAME + 8], tok[PB_AUTH_HEX];
	int64_t now = pb_daemon_now(), ttl = session_ttl();
	bool found, ok;
	pb_errbuf eb;

	memset(&ag, 0, sizeof ag);
	if (!pb_utf8_valid(rq->body, rq->body_len) ||
	    !(body = cJSON_ParseWithLength(rq->body, rq->body_len)) || !cJSON_IsObject(body)) {
		pb_srv_error(rs, 400, "bad_request", "the body must be a JSON object");
		goto out;
	}
	jn = cJSON_GetObjectItemCaseSensitive(body, "name");
	jp = cJSON_GetObjectItemCaseSensitive(body, "password");
	if (!cJSON_IsString(jn) || !cJSON_IsString(jp) || !*jn->valuestring ||
	    strlen(jn->valuestring) > PB_STORE_MAX_NAME ||
	    strlen(jp->valuestring) > PB_AUTH_MAX_PASSWORD) {
		pb_srv_error(rs, 400, "bad_request", "name and password are required");
		goto out;
	}
	pb_srv_remote(rq, ip, sizeof ip);
	snprintf(ip_key, sizeof ip_key, "ip:%s", ip);
	snprintf(name_key, sizeof name_key, "name:%s", jn->valuestring);
	if (fail_blocked(ip_key, name_key, now)) {
		pb_srv_add_header(rs, "Retry-After", "300");
		pb_srv_error(rs, 429, "too_many_attempts",
			     "too many failed sign-ins: wait a few minutes");
		goto out;
	}
	if (!(st = pb_daemon_store(d, &eb))) {
		pb_srv_error(rs, 503, "unavailable", "the store cannot be opened: try again");
		goto out;
	}
	found = pb_store_agent_get(st, jn->valuestring, &ag, &eb) == PB_OK && ag.password_hash;
	ok = pb_auth_verify(jp->valuestring, found ? ag.password_hash : dummy_hash) && found;
	if (!ok) {
		fail_count(ip_key, name_key, now);
		pb_srv_error(rs, 401, "unauthorized", "wrong name or password");
		goto out;
	}
	fail_clear(name_key, now);
	memset(&se, 0, sizeof se);
	if (pb_auth_token(tok, &eb) || pb_auth_token(se.csrf, &eb)) {
		pb_srv_error(rs, 500, "internal", "no random bytes for a session");
		goto out;
	}
	pb_auth_sha256_hex(tok, se.token_hash);
	se.agent = ag.name;
	se.created_at = now;
	se.expires_at = now + ttl;
	if (pb_store_session_add(st, &se, &eb)) {
		pb_srv_error(rs, 500, "internal", "%s", eb.msg);
		goto out;
	}
	pb_store_agent_touch(st, ag.name, NULL, now, &eb);
	set_cookie(rq, rs, tok, ttl);
	out = me_json(ag.name, ag.role, se.csrf);
	pb_srv_json(rs, 200, out);
	cJSON_Delete(out);
out:
	memset(tok, 0, sizeof tok);
	pb_store_agent_release(&ag);
	if (st)
		pb_daemon_store_put(d, st);
	cJSON_Delete(body);
}

/* The session of a console request, with a store handle; false when an
 * error answer was written. */
static bool console_call(pb_daemon *d, const pb_srv_req *rq, pb_srv_resp *rs, bool csrf,
			 pb_store **st, pb_store_session *se)
{
	pb_errbuf eb;

	if (!(*st = pb_daemon_store(d, &eb))) {
		pb_srv_error(rs, 503, "unavailable", "the store cannot be opened: try again");
		return false;
	}
	if (!pb_console_session(*st, rq, se)) {
		pb_daemon_store_put(d, *st);
		pb_srv_error(rs, 401, "unauthorized", "sign in first");
		return false;
	}
	if (csrf && !pb_console_csrf_ok(rq, se)) {
		pb_store_session_release(se);
		pb_daemon_store_put(d, *st);
		pb_srv_error(rs, 403, "forbidden", "X-CSRF-Token is missing or wrong");
		return false;
	}
	return true;
}

static void h_logout(void *ud, const pb_srv_req *rq, pb_srv_resp *rs)
{
	pb_daemon *d = ud;
	pb_store_session se;
	pb_store *st;
	pb_errbuf eb;
	cJSON *out;

	if (!console_call(d, rq, rs, true, &st, &se))
		return;
	pb_store_session_delete(st, se.token_hash, pb_daemon_now(), &eb);
	pb_srv_add_header(rs, "Set-Cookie",
			  COOKIE "=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
	out = cJSON_CreateObject();
	cJSON_AddBoolToObject(out, "signed_out", true);
	pb_srv_json(rs, 200, out);
	cJSON_Delete(out);
	pb_store_session_release(&se);
	pb_daemon_store_put(d, st);
}

static void h_me(void *ud, const pb_srv_req *rq, pb_srv_resp *rs)
{
	pb_daemon *d = ud;
	pb_store_session se;
	pb_store *st;
	cJSON *out;

	if (!console_call(d, rq, rs, false, &st, &se))
		return;
	out = me_json(se.agent, se.role, se.csrf);
	pb_srv_json(rs, 200, out);
	cJSON_Delete(out);
	pb_store_session_release(&se);
	pb_daemon_store_put(d, st);
}

/* ---- GET /console/events: Server-Sent Events ---- */

typedef struct events {
	pb_daemon *d;
	pb_store *st;
	char token_hash[PB_AUTH_HEX];
	pb_buf out;       /* what is still to be written */
	size_t sent;      /* of out */
	char *last;       /* the pending drafts last announced */
	int64_t next_poll_ms, next_ping_ms;
	bool ended;
} events;

/* The pending drafts as {"count": n, "ids": [...]}; caller frees. */
static char *pending_json(events *ev)
{
	pb_store_drafts l;
	pb_errbuf eb;
	cJSON *o, *ids;
	char *s;
	size_t i;

	if (pb_store_draft_list(ev->st, 0, "pending", &l, &eb))
		return NULL;
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "count", (double)l.n);
	ids = cJSON_AddArrayToObject(o, "ids");
	for (i = 0; i < l.n; i++)
		cJSON_AddItemToArray(ids, cJSON_CreateNumber((double)l.v[i].id));
	pb_store_drafts_release(&l);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

static long events_next(void *ud, char *buf, size_t max)
{
	events *ev = ud;
	pb_store_session se;
	pb_errbuf eb;
	int64_t now;
	size_t n;

	for (;;) {
		if (ev->sent < ev->out.len) {
			n = ev->out.len - ev->sent;
			if (n > max)
				n = max;
			memcpy(buf, ev->out.data + ev->sent, n);
			ev->sent += n;
			return (long)n;
		}
		pb_buf_reset(&ev->out);
		ev->sent = 0;
		if (ev->ended || pb_server_stopping(ev->d->srv))
			return -1;
		now = pb_daemon_now_ms();
		if (now < ev->next_poll_ms) {
			/* Short naps, so a stopping server is noticed at once. */
			struct timespec ts = {0, 100 * 1000 * 1000};
			nanosleep(&ts, NULL);
			continue;
		}
		ev->next_poll_ms = now + 1000;
		/* A session signed out or expired ends its stream. */
		if (pb_store_session_get(ev->st, ev->token_hash, now / 1000, &se, &eb)) {
			ev->ended = true;
			pb_buf_puts(&ev->out, "event: signed_out\ndata: {}\n\n");
			continue;
		}
		pb_store_session_release(&se);
		{
			char *cur = pending_json(ev);
			if (cur && (!ev->last || strcmp(cur, ev->last))) {
				pb_buf_printf(&ev->out, "event: drafts\ndata: %s\n\n", cur);
				free(ev->last);
				ev->last = cur;
				ev->next_ping_ms = now + 15000;
			} else {
				free(cur);
			}
		}
		if (!ev->out.len && now >= ev->next_ping_ms) {
			pb_buf_puts(&ev->out, ": ping\n\n");
			ev->next_ping_ms = now + 15000;
		}
		if (!ev->out.len)
			return 0;
	}
}

static void events_free(void *ud)
{
	events *ev = ud;

	pb_daemon_store_put(ev->d, ev->st);
	pb_buf_release(&ev->out);
	free(ev->last);
	free(ev);
}

static void h_events(void *ud, const pb_srv_req *rq, pb_srv_resp *rs)
{
	pb_daemon *d = ud;
	pb_store_session se;
	pb_store *st;
	events *ev;

	if (!console_call(d, rq, rs, false, &st, &se))
		return;
	if (!(ev = calloc(1, sizeof *ev))) {
		pb_store_session_release(&se);
		pb_daemon_store_put(d, st);
		pb_srv_error(rs, 500, "internal", "out of memory");
		return;
	}
	ev->d = d;
	ev->st = st;
	memcpy(ev->token_hash, se.token_hash, sizeof ev->token_hash);
	pb_store_session_release(&se);
	pb_buf_init(&ev->out, 1u << 20);
	pb_buf_puts(&ev->out, "retry: 3000\n\n");
	rs->content_type = "text/event-stream";
	pb_srv_add_header(rs, "X-Accel-Buffering", "no");
	rs->stream = events_next;
	rs->stream_ud = ev;
	rs->stream_free = events_free;
}

/* ---- GET /api/v1/stats: the status board ---- */

static cJSON *counts_json(pb_store *st, const char *by, pb_errbuf *eb, pb_err *err)
{
	pb_store_counts l;
	cJSON *o = cJSON_CreateObject();
	size_t i;

	if ((*err = pb_store_case_counts(st, by, &l, eb)))
		return o;
	for (i = 0; i < l.n; i++)
		cJSON_AddNumberToObject(o, l.v[i].key[0] ? l.v[i].key : "unknown", (double)l.v[i].n);
	pb_store_counts_release(&l);
	return o;
}

static void h_stats(void *ud, const pb_srv_req *rq, pb_srv_resp *rs)
{
	pb_daemon *d = ud;
	pb_store *st = NULL;
	pb_store_session se;
	pb_store_counts l = {0};
	pb_store_reminders rm = {0};
	pb_gen *g = NULL;
	pb_errbuf eb;
	cJSON *out, *x, *arr;
	int64_t now = pb_daemon_now(), since, nfirst = 0, total;
	double mean = 0;
	int32_t off;
	size_t i;
	pb_err err = PB_OK, e2 = PB_OK;
	char tb[40];

	if (pb_srv_bearer_ok(rq, d->cfg->server.api_token)) {
		if (!(st = pb_daemon_store(d, &eb))) {
			pb_srv_error(rs, 503, "unavailable", "the store cannot be opened: try again");
			return;
		}
	} else if (!console_call(d, rq, rs, false, &st, &se)) {
		return;
	} else {
		pb_store_session_release(&se);
	}
	g = pb_daemon_gen(d);
	off = g->kb->policy->tz_off;
	/* "Today" is the shop's day. */
	since = now - (((now + off) % 86400) + 86400) % 86400;
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "now", pb_time_format((pb_when){now, off}, tb, sizeof tb));
	cJSON_AddStringToObject(out, "since", pb_time_format((pb_when){since, off}, tb, sizeof tb));
	x = cJSON_AddObjectToObject(out, "open");
	cJSON_AddItemToObject(x, "by_state", counts_json(st, "state", &eb, &e2));
	err = err ? err : e2;
	cJSON_AddItemToObject(x, "by_severity", counts_json(st, "severity", &eb, &e2));
	err = err ? err : e2;
	cJSON_AddItemToObject(x, "by_intent", counts_json(st, "kind", &eb, &e2));
	err = err ? err : e2;
	arr = cJSON_AddArrayToObject(out, "carriers");
	if (!err && !(err = pb_store_case_counts(st, "carrier", &l, &eb))) {
		for (i = 0; i < l.n; i++) {
			cJSON *c = cJSON_CreateObject();
			cJSON_AddStringToObject(c, "carrier", l.v[i].key[0] ? l.v[i].key : "unknown");
			cJSON_AddNumberToObject(c, "open", (double)l.v[i].n);
			cJSON_AddNumberToObject(c, "anomalies", (double)l.v[i].n2);
			cJSON_AddItemToArray(arr, c);
		}
		pb_store_counts_release(&l);
	}
	arr = cJSON_AddArrayToObject(out, "overdue");
	if (!err && !(err = pb_store_reminder_due(st, now, &rm, &eb))) {
		for (i = 0; i < rm.n; i++) {
			cJSON *r = cJSON_CreateObject();
			cJSON_AddNumberToObject(r, "case", (double)rm.v[i].case_id);
			cJSON_AddStringToObject(r, "kind", rm.v[i].kind);
			cJSON_AddStringToObject(r, "due",
						pb_time_format((pb_when){rm.v[i].due, off}, tb, sizeof tb));
			cJSON_AddNumberToObject(r, "severity", rm.v[i].severity);
			cJSON_AddBoolToObject(r, "escalated", rm.v[i].escalated_at != 0);
			cJSON_AddItemToArray(arr, r);
		}
		pb_store_reminders_release(&rm);
	}
	x = cJSON_AddObjectToObject(out, "today");
	if (!err)
		err = pb_store_first_reply_stats(st, since, &nfirst, &mean, &eb);
	cJSON_AddNumberToObject(x, "first_replies", (double)nfirst);
	if (nfirst)
		cJSON_AddNumberToObject(x, "first_reply_mean_s", mean);
	else
		cJSON_AddNullToObject(x, "first_reply_mean_s");
	if (!err && !(err = pb_store_decision_counts(st, since, &l, &eb))) {
		cJSON *dc = cJSON_AddObjectToObject(x, "decisions");
		static const char *const kinds[] = {"approve", "approve_edited", "reject",
						    "escalate"};
		int64_t n[4] = {0, 0, 0, 0};
		size_t k;
		for (i = 0; i < l.n; i++)
			for (k = 0; k < 4; k++)
				if (!strcmp(l.v[i].key, kinds[k]))
					n[k] += l.v[i].n;
		for (k = 0; k < 4; k++)
			cJSON_AddNumberToObject(dc, kinds[k], (double)n[k]);
		total = n[0] + n[1] + n[2];
		x = cJSON_AddObjectToObject(x, "shares");
		cJSON_AddNumberToObject(x, "approved_as_is", total ? (double)n[0] / (double)total : 0);
		cJSON_AddNumberToObject(x, "approved_edited", total ? (double)n[1] / (double)total : 0);
		cJSON_AddNumberToObject(x, "rejected", total ? (double)n[2] / (double)total : 0);
		pb_store_counts_release(&l);
	}
	if (err)
		pb_srv_error(rs, 500, "internal", "%s", eb.msg);
	else
		pb_srv_json(rs, 200, out);
	cJSON_Delete(out);
	pb_daemon_gen_put(g);
	pb_daemon_store_put(d, st);
}

/* ---- static files ---- */

static const char *content_type(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (!dot)
		return "application/octet-stream";
	if (!strcmp(dot, ".html"))
		return "text/html; charset=utf-8";
	if (!strcmp(dot, ".js"))
		return "text/javascript; charset=utf-8";
	if (!strcmp(dot, ".css"))
		return "text/css; charset=utf-8";
	if (!strcmp(dot, ".svg"))
		return "image/svg+xml";
	if (!strcmp(dot, ".json"))
		return "application/json";
	return "application/octet-stream";
}

/* Only names in the embedded table are served: no path is ever opened. */
static void serve_file(const char *name, pb_srv_resp *rs)
{
	size_t i;

	for (i = 0; i < pb_console_n_files; i++) {
		const pb_console_file *f = &pb_console_files[i];
		if (strcmp(f->name, name))
			continue;
		rs->content_type = content_type(f->name);
		pb_buf_append(&rs->body, f->data, f->len);
		pb_srv_add_header(rs, "Content-Security-Policy", CSP);
		pb_srv_add_header(rs, "Cache-Control", "no-cache");
		return;
	}
	pb_srv_error(rs, 404, "not_found", "no such file");
}

static void h_index(void *ud, const pb_srv_req *rq, pb_srv_resp *rs)
{
	(void)ud;
	(void)rq;
	serve_file("index.html", rs);
}

static void h_static(void *ud, const pb_srv_req *rq, pb_srv_resp *rs)
{
	(void)ud;
	if (rq->n_params < 1 || !*rq->params[0] || strchr(rq->params[0], '/') ||
	    !strcmp(rq->params[0], "index.html")) {
		pb_srv_error(rs, 404, "not_found", "no such file");
		return;
	}
	serve_file(rq->params[0], rs);
}

pb_err pb_console_routes(pb_daemon *d, pb_errbuf *eb)
{
	static const struct {
		const char *method, *pattern;
		pb_srv_handler fn;
	} routes[] = {
		{"GET", "/", h_index},
		{"GET", "/console/static/*", h_static},
		{"POST", "/console/login", h_login},
		{"POST", "/console/logout", h_logout},
		{"GET", "/console/me", h_me},
		{"GET", "/console/events", h_events},
		{"GET", "/api/v1/stats", h_stats},
	};
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	size_t i;
	pb_err err;

	pthread_once(&once, make_dummy);
	for (i = 0; i < sizeof routes / sizeof routes[0]; i++)
		if ((err = pb_server_route(d->srv, routes[i].method, routes[i].pattern, routes[i].fn,
					   d)))
			return pb_errf(eb, err, "cannot add route %s", routes[i].pattern);
	return PB_OK;
}
