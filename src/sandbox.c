/*
 * The sandbox core (see sandbox.h): the libmicrohttpd server, the route
 * table, request recording, fault injection and the /_sandbox control
 * endpoints. Services live in route modules (sandbox_*.c).
 *
 * Every connection gets its own thread, so an injected delay holds up only
 * the request it applies to; delays wait on a condition variable that
 * pb_sandbox_stop signals, so stopping never waits for them to run out.
 */
#include "parcelbot/sandbox.h"

#include <arpa/inet.h>
#include <cJSON.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "parcelbot/utf8.h"
#include "sandbox_internal.h"

#define MAX_ROUTES 64
#define MAX_MODULES 8
#define MAX_UPLOAD ((size_t)4 << 20)
#define MAX_ANSWER ((size_t)16 << 20)
#define MAX_RECORDS 20000
#define RECORD_BODY_MAX 65536
#define MAX_SEED ((size_t)16 << 20)

struct pb_sandbox {
	struct MHD_Daemon *d;
	unsigned short port;
	pthread_mutex_t lock; /* faults, records, stopping */
	pthread_cond_t stop_cond;
	bool stopping;
	pb_sbx_route routes[MAX_ROUTES];
	size_t n_routes;
	pb_sbx_module modules[MAX_MODULES];
	size_t n_modules;
	pb_sandbox_fault *faults;
	size_t n_faults, cap_faults;
	cJSON *records;
	size_t n_records;
	unsigned long seq;
};

typedef struct conn_ctx {
	pb_buf body;
	bool too_big;
} conn_ctx;

/* A body generated as it is sent: `total` bytes of `text` followed by
 * filler, cut off with an error at `stop_at` when `drop` is set. */
typedef struct stream {
	char *text;
	size_t text_len;
	uint64_t total;
	uint64_t stop_at;
	bool drop;
} stream;

static const struct {
	const char *const *keys;
	pb_err (*init)(pb_sandbox *, const pb_sandbox_opts *, const pb_ydoc *, pb_diag *);
} modules[] = {
	{pb_sbx_track_keys, pb_sbx_track_init},
	{pb_sbx_shopee_keys, pb_sbx_shopee_init},
	{pb_sbx_chatwoot_keys, pb_sbx_chatwoot_init},
	{pb_sbx_orders_keys, pb_sbx_orders_init},
};

void pb_sandbox_opts_init(pb_sandbox_opts *o)
{
	memset(o, 0, sizeof *o);
}

unsigned short pb_sandbox_port(const pb_sandbox *sb)
{
	return sb->port;
}

pb_err pb_sbx_add_route(pb_sandbox *sb, const pb_sbx_route *r)
{
	if (sb->n_routes == MAX_ROUTES)
		return PB_ELIMIT;
	sb->routes[sb->n_routes++] = *r;
	return PB_OK;
}

pb_err pb_sbx_add_module(pb_sandbox *sb, const pb_sbx_module *m)
{
	if (sb->n_modules == MAX_MODULES)
		return PB_ELIMIT;
	sb->modules[sb->n_modules++] = *m;
	return PB_OK;
}

const char *pb_sbx_header(const pb_sbx_req *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

cJSON *pb_sbx_yaml_to_json(const pb_ynode *n)
{
	cJSON *j = NULL, *c;
	size_t i, k;
	bool integer;

	if (!n)
		return cJSON_CreateNull();
	switch (n->kind) {
	case PB_Y_SCALAR:
		if (!n->plain)
			return cJSON_CreateString(n->str);
		if (!n->len || !strcmp(n->str, "null") || !strcmp(n->str, "~"))
			return cJSON_CreateNull();
		if (!strcmp(n->str, "true") || !strcmp(n->str, "false"))
			return cJSON_CreateBool(n->str[0] == 't');
		k = n->str[0] == '-' ? 1 : 0;
		integer = n->len > k && n->len - k <= 15;
		for (i = k; integer && i < n->len; i++)
			integer = n->str[i] >= '0' && n->str[i] <= '9';
		if (integer)
			return cJSON_CreateNumber((double)strtoll(n->str, NULL, 10));
		return cJSON_CreateString(n->str);
	case PB_Y_SEQ:
		j = cJSON_CreateArray();
		for (i = 0; j && i < n->n; i++) {
			c = pb_sbx_yaml_to_json(n->items[i]);
			if (!c || !cJSON_AddItemToArray(j, c)) {
				cJSON_Delete(c);
				cJSON_Delete(j);
				return NULL;
			}
		}
		return j;
	case PB_Y_MAP:
		j = cJSON_CreateObject();
		for (i = 0; j && i < n->n; i++) {
			const pb_ynode *key = pb_ymap_key(n, i);
			c = pb_sbx_yaml_to_json(pb_ymap_val(n, i));
			if (!c || key->kind != PB_Y_SCALAR || !cJSON_AddItemToObject(j, key->str, c)) {
				cJSON_Delete(c);
				cJSON_Delete(j);
				return NULL;
			}
		}
		return j;
	}
	return NULL;
}

void pb_sbx_send_json(pb_sbx_resp *rs, int status, const cJSON *j)
{
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;

	pb_buf_reset(&rs->body);
	rs->content_type = "application/json;charset=UTF-8";
	if (!s) {
		rs->status = 500;
		pb_buf_puts(&rs->body, "{\"error\":\"out of memory\"}");
		return;
	}
	rs->status = status;
	if (pb_buf_puts(&rs->body, s)) {
		rs->status = 500;
		pb_buf_reset(&rs->body);
	}
	free(s);
}

/* --- faults --------------------------------------------------------- */

pb_err pb_sandbox_fault_add(pb_sandbox *sb, const pb_sandbox_fault *f)
{
	pb_err err = PB_OK;

	pthread_mutex_lock(&sb->lock);
	if (sb->n_faults == sb->cap_faults) {
		size_t ncap = sb->cap_faults ? sb->cap_faults * 2 : 8;
		pb_sandbox_fault *nf = realloc(sb->faults, ncap * sizeof *nf);
		if (!nf) {
			err = PB_ENOMEM;
			goto out;
		}
		sb->faults = nf;
		sb->cap_faults = ncap;
	}
	sb->faults[sb->n_faults++] = *f;
out:
	pthread_mutex_unlock(&sb->lock);
	return err;
}

void pb_sandbox_faults_clear(pb_sandbox *sb)
{
	pthread_mutex_lock(&sb->lock);
	sb->n_faults = 0;
	pthread_mutex_unlock(&sb->lock);
}

/* Takes the first fault that applies to route, using one of its times. */
static bool fault_take(pb_sandbox *sb, const char *route, pb_sandbox_fault *out)
{
	size_t i;
	bool found = false;

	pthread_mutex_lock(&sb->lock);
	for (i = 0; i < sb->n_faults; i++) {
		pb_sandbox_fault *f = &sb->faults[i];
		if (strcmp(f->route, route) && strcmp(f->route, "*"))
			continue;
		*out = *f;
		found = true;
		if (f->times > 0 && --f->times == 0) {
			memmove(f, f + 1, (sb->n_faults - i - 1) * sizeof *f);
			sb->n_faults--;
		}
		break;
	}
	pthread_mutex_unlock(&sb->lock);
	return found;
}

pb_err pb_sandbox_fault_from_json(const cJSON *j, pb_sandbox_fault *f, pb_errbuf *eb)
{
	static const char *const actions[] = {"delay",	  "status", "drop", "garbage",
					      "truncate", "huge",   "body"};
	const cJSON *v;
	size_t i;

	memset(f, 0, sizeof *f);
	if (!cJSON_IsObject(j))
		return pb_errf(eb, PB_EINVAL, "a fault must be a JSON object");
	v = cJSON_GetObjectItemCaseSensitive(j, "route");
	if (!cJSON_IsString(v) || !*v->valuestring || strlen(v->valuestring) >= sizeof f->route)
		return pb_errf(eb, PB_EINVAL, "fault.route must be a route name or \"*\"");
	snprintf(f->route, sizeof f->route, "%s", v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(j, "times");
	if (v && (!cJSON_IsNumber(v) || v->valuedouble > 1e6))
		return pb_errf(eb, PB_EINVAL, "fault.times must be a number");
	f->times = v ? v->valueint : 1;
	v = cJSON_GetObjectItemCaseSensitive(j, "latency_ms");
	if (v && (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 600000))
		return pb_errf(eb, PB_EINVAL, "fault.latency_ms must be 0 to 600000");
	f->latency_ms = v ? (long)v->valuedouble : 0;
	v = cJSON_GetObjectItemCaseSensitive(j, "status");
	if (v && (!cJSON_IsNumber(v) || v->valueint < 100 || v->valueint > 599))
		return pb_errf(eb, PB_EINVAL, "fault.status must be an HTTP status");
	f->status = v ? v->valueint : 0;
	f->kind = v ? PB_FAULT_STATUS : PB_FAULT_DELAY;
	v = cJSON_GetObjectItemCaseSensitive(j, "retry_after");
	if (cJSON_IsNumber(v))
		snprintf(f->retry_after, sizeof f->retry_after, "%d", v->valueint);
	else if (cJSON_IsString(v) && strlen(v->valuestring) < sizeof f->retry_after &&
		 !strpbrk(v->valuestring, "\r\n"))
		snprintf(f->retry_after, sizeof f->retry_after, "%s", v->valuestring);
	else if (v)
		return pb_errf(eb, PB_EINVAL, "fault.retry_after must be seconds or an HTTP date");
	v = cJSON_GetObjectItemCaseSensitive(j, "bytes");
	if (v && (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e12))
		return pb_errf(eb, PB_EINVAL, "fault.bytes must be a byte count");
	f->bytes = v ? (uint64_t)v->valuedouble : 50u << 20;
	f->chunked = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "chunked"));
	v = cJSON_GetObjectItemCaseSensitive(j, "body");
	if (v) {
		if (!cJSON_IsString(v) || strlen(v->valuestring) >= sizeof f->body)
			return pb_errf(eb, PB_EINVAL, "fault.body must be a string under %zu bytes",
				       sizeof f->body);
		snprintf(f->body, sizeof f->body, "%s", v->valuestring);
		f->kind = PB_FAULT_BODY;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "action");
	if (v) {
		if (!cJSON_IsString(v))
			return pb_errf(eb, PB_EINVAL, "fault.action must be a string");
		for (i = 0; i < sizeof actions / sizeof actions[0]; i++)
			if (!strcmp(actions[i], v->valuestring))
				break;
		if (i == sizeof actions / sizeof actions[0])
			return pb_errf(eb, PB_EINVAL, "unknown fault action '%.40s'", v->valuestring);
		f->kind = (pb_fault_kind)i;
	}
	if (f->kind == PB_FAULT_STATUS && !f->status)
		return pb_errf(eb, PB_EINVAL, "a status fault needs a status");
	if (f->kind == PB_FAULT_BODY && !f->status)
		f->status = 200;
	return PB_OK;
}

/* --- records -------------------------------------------------------- */

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
			       const char *value)
{
	pb_buf *q = cls;

	(void)kind;
	pb_buf_printf(q, "%s%s=%s", q->len ? "&" : "", key, value ? value : "");
	return MHD_YES;
}

static void record(pb_sandbox *sb, const char *route, const pb_sbx_req *rq, const char *answered)
{
	cJSON *o = cJSON_CreateObject();
	pb_buf body, query;
	size_t n;

	pb_buf_init(&body, RECORD_BODY_MAX + 8);
	pb_buf_init(&query, 4096);
	MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, add_arg, &query);
	n = rq->body_len > RECORD_BODY_MAX ? pb_utf8_clip(rq->body, rq->body_len, RECORD_BODY_MAX)
					   : rq->body_len;
	pb_utf8_repair(rq->body, n, &body);
	pthread_mutex_lock(&sb->lock);
	if (o) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		cJSON_AddNumberToObject(o, "seq", (double)++sb->seq);
		/* When it arrived, for latency figures. */
		cJSON_AddNumberToObject(o, "at_ms",
					/* NOLINTNEXTLINE(bugprone-integer-division): whole ms */
					(double)ts.tv_sec * 1000.0 + (double)(ts.tv_nsec / 1000000));
		cJSON_AddStringToObject(o, "route", route);
		cJSON_AddStringToObject(o, "method", rq->method);
		cJSON_AddStringToObject(o, "path", rq->path);
		cJSON_AddStringToObject(o, "query", pb_buf_str(&query));
		cJSON_AddStringToObject(o, "body", pb_buf_str(&body));
		cJSON_AddStringToObject(o, "answered", answered);
		/* Counted here: cJSON_GetArraySize walks the whole list. */
		if (sb->n_records >= MAX_RECORDS)
			cJSON_DeleteItemFromArray(sb->records, 0);
		else
			sb->n_records++;
		cJSON_AddItemToArray(sb->records, o);
	}
	pthread_mutex_unlock(&sb->lock);
	pb_buf_release(&body);
	pb_buf_release(&query);
}

size_t pb_sandbox_count(pb_sandbox *sb, const char *route)
{
	const cJSON *r, *rt;
	size_t n = 0;

	pthread_mutex_lock(&sb->lock);
	cJSON_ArrayForEach(r, sb->records)
	{
		rt = cJSON_GetObjectItemCaseSensitive(r, "route");
		if (!route || (cJSON_IsString(rt) && !strcmp(rt->valuestring, route)))
			n++;
	}
	pthread_mutex_unlock(&sb->lock);
	return n;
}

cJSON *pb_sandbox_requests_json(pb_sandbox *sb, const char *route)
{
	cJSON *out = cJSON_CreateArray(), *c;
	const cJSON *r, *rt;

	pthread_mutex_lock(&sb->lock);
	cJSON_ArrayForEach(r, sb->records)
	{
		rt = cJSON_GetObjectItemCaseSensitive(r, "route");
		if (route && !(cJSON_IsString(rt) && !strcmp(rt->valuestring, route)))
			continue;
		c = cJSON_Duplicate(r, true);
		if (!c || !cJSON_AddItemToArray(out, c)) {
			cJSON_Delete(c);
			cJSON_Delete(out);
			out = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&sb->lock);
	return out;
}

void pb_sandbox_requests_clear(pb_sandbox *sb)
{
	cJSON *fresh = cJSON_CreateArray();

	pthread_mutex_lock(&sb->lock);
	if (fresh) {
		cJSON_Delete(sb->records);
		sb->records = fresh;
		sb->n_records = 0;
	}
	pthread_mutex_unlock(&sb->lock);
}

void pb_sandbox_reset(pb_sandbox *sb)
{
	size_t i;

	pb_sandbox_faults_clear(sb);
	pb_sandbox_requests_clear(sb);
	for (i = 0; i < sb->n_modules; i++)
		if (sb->modules[i].reset)
			sb->modules[i].reset(sb->modules[i].state);
}

/* --- answering ------------------------------------------------------ */

static void wait_ms(pb_sandbox *sb, long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&sb->lock);
	while (!sb->stopping)
		if (pthread_cond_timedwait(&sb->stop_cond, &sb->lock, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&sb->lock);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	stream *s = cls;
	size_t n, i;

	if (pos >= s->stop_at)
		return s->drop ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
	n = s->stop_at - pos < max ? (size_t)(s->stop_at - pos) : max;
	for (i = 0; i < n; i++)
		buf[i] = (char)(pos + i < s->text_len ? s->text[pos + i] : 'x');
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	stream *s = cls;

	free(s->text);
	free(s);
}

static enum MHD_Result queue(struct MHD_Connection *c, int status, const char *ctype,
			     const char *body, size_t len, const char *retry_after)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", ctype);
	if (retry_after && *retry_after)
		MHD_add_response_header(r, "Retry-After", retry_after);
	ret = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result queue_stream(struct MHD_Connection *c, const char *text, size_t len,
				    uint64_t total, uint64_t stop_at, bool drop, bool chunked)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	stream *s = calloc(1, sizeof *s);

	if (!s)
		return MHD_NO;
	s->text = malloc(len + 1);
	if (!s->text) {
		free(s);
		return MHD_NO;
	}
	memcpy(s->text, text, len);
	s->text_len = len;
	s->total = total;
	s->stop_at = stop_at;
	s->drop = drop;
	r = MHD_create_response_from_callback(chunked ? MHD_SIZE_UNKNOWN : total, 64 * 1024,
					      stream_read, s, stream_free);
	if (!r) {
		stream_free(s);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/json;charset=UTF-8");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, int status, cJSON *j)
{
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;
	enum MHD_Result ret;

	cJSON_Delete(j);
	if (!s)
		return queue(c, 500, "application/json", "{\"error\":\"out of memory\"}", 25, NULL);
	ret = queue(c, status, "application/json", s, strlen(s), NULL);
	free(s);
	return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, int status, const char *msg)
{
	cJSON *j = cJSON_CreateObject();

	if (j)
		cJSON_AddStringToObject(j, "error", msg);
	return send_json(c, status, j);
}

static enum MHD_Result control(pb_sandbox *sb, const pb_sbx_req *rq)
{
	const char *p = rq->path + strlen("/_sandbox/"), *m = rq->method;
	pb_sandbox_fault f;
	pb_errbuf eb;
	cJSON *j, *it;

	if (!strcmp(p, "health") && !strcmp(m, "GET"))
		return queue(rq->conn, 200, "application/json", "{\"ok\":true}", 11, NULL);
	if (!strcmp(p, "requests") && !strcmp(m, "GET"))
		return send_json(rq->conn, 200,
				 pb_sandbox_requests_json(sb, MHD_lookup_connection_value(
								      rq->conn, MHD_GET_ARGUMENT_KIND, "route")));
	if (!strcmp(p, "requests") && !strcmp(m, "DELETE")) {
		pb_sandbox_requests_clear(sb);
		return queue(rq->conn, 200, "application/json", "{\"ok\":true}", 11, NULL);
	}
	if (!strcmp(p, "faults") && !strcmp(m, "DELETE")) {
		pb_sandbox_faults_clear(sb);
		return queue(rq->conn, 200, "application/json", "{\"ok\":true}", 11, NULL);
	}
	if (!strcmp(p, "reset") && !strcmp(m, "POST")) {
		pb_sandbox_reset(sb);
		return queue(rq->conn, 200, "application/json", "{\"ok\":true}", 11, NULL);
	}
	if (!strcmp(p, "faults") && !strcmp(m, "POST")) {
		j = cJSON_ParseWithLength(rq->body, rq->body_len);
		if (!j)
			return send_error(rq->conn, 400, "the body must be a fault object or a list");
		/* Check them all before adding any, so a bad list adds none. */
		it = cJSON_IsArray(j) ? j->child : j;
		for (; it; it = cJSON_IsArray(j) ? it->next : NULL) {
			if (pb_sandbox_fault_from_json(it, &f, &eb)) {
				cJSON_Delete(j);
				return send_error(rq->conn, 400, eb.msg);
			}
		}
		it = cJSON_IsArray(j) ? j->child : j;
		for (; it; it = cJSON_IsArray(j) ? it->next : NULL) {
			pb_sandbox_fault_from_json(it, &f, &eb);
			if (pb_sandbox_fault_add(sb, &f)) {
				cJSON_Delete(j);
				return send_error(rq->conn, 500, "out of memory");
			}
		}
		cJSON_Delete(j);
		return queue(rq->conn, 200, "application/json", "{\"ok\":true}", 11, NULL);
	}
	return send_error(rq->conn, 404, "no such sandbox control");
}

static void echo(void *state, const pb_sbx_req *rq, pb_sbx_resp *rs)
{
	cJSON *j = cJSON_CreateObject();
	pb_buf b;

	(void)state;
	pb_buf_init(&b, 4096);
	pb_utf8_repair(rq->body, rq->body_len > 1024 ? pb_utf8_clip(rq->body, rq->body_len, 1024)
						      : rq->body_len,
		       &b);
	if (j) {
		cJSON_AddStringToObject(j, "method", rq->method);
		cJSON_AddStringToObject(j, "path", rq->path);
		cJSON_AddNumberToObject(j, "body_len", (double)rq->body_len);
		cJSON_AddStringToObject(j, "body", pb_buf_str(&b));
	}
	pb_sbx_send_json(rs, 200, j);
	cJSON_Delete(j);
	pb_buf_release(&b);
}

/* A route path matches segment by segment; a "*" segment matches any one
 * non-empty segment. */
static bool path_match(const char *pat, const char *path)
{
	size_t pn, sn;

	for (;;) {
		pn = strcspn(pat, "/");
		sn = strcspn(path, "/");
		if (pn == 1 && *pat == '*') {
			if (!sn)
				return false;
		} else if (pn != sn || strncmp(pat, path, pn)) {
			return false;
		}
		pat += pn;
		path += sn;
		if (!*pat || !*path)
			return !*pat && !*path;
		pat++;
		path++;
	}
}

static enum MHD_Result dispatch(pb_sandbox *sb, const pb_sbx_req *rq)
{
	static const pb_sbx_route echo_route = {"echo", NULL, "/_sandbox/echo", echo, NULL};
	const pb_sbx_route *route = NULL;
	pb_sandbox_fault f;
	pb_sbx_resp rs;
	bool faulted, path_known = false;
	enum MHD_Result ret;
	char answered[96];
	size_t i;

	if (!strcmp(rq->path, echo_route.path)) {
		route = &echo_route;
	} else {
		for (i = 0; i < sb->n_routes; i++) {
			if (!path_match(sb->routes[i].path, rq->path))
				continue;
			path_known = true;
			if (!strcmp(sb->routes[i].method, rq->method)) {
				route = &sb->routes[i];
				break;
			}
		}
	}
	/* Modules may serve their own controls under /_sandbox/<module>/. */
	if (!route && !path_known && !strncmp(rq->path, "/_sandbox/", 10))
		return control(sb, rq);
	if (!route)
		return send_error(rq->conn, path_known ? 405 : 404,
				  path_known ? "method not allowed" : "no such route");
	faulted = fault_take(sb, route->name, &f);
	if (faulted && f.latency_ms > 0)
		wait_ms(sb, f.latency_ms);
	if (faulted && f.kind == PB_FAULT_STATUS) {
		snprintf(answered, sizeof answered, "fault: status %d", f.status);
		record(sb, route->name, rq, answered);
		return queue(rq->conn, f.status, "text/html",
			     "<html><body><h1>Injected failure</h1></body></html>", 51, f.retry_after);
	}
	if (faulted && f.kind == PB_FAULT_BODY) {
		snprintf(answered, sizeof answered, "fault: body with status %d", f.status);
		record(sb, route->name, rq, answered);
		return queue(rq->conn, f.status, "application/json;charset=UTF-8", f.body,
			     strlen(f.body), f.retry_after);
	}
	if (faulted && f.kind == PB_FAULT_GARBAGE) {
		static const char garbage[] = "<html><title>502 Bad Gateway</title>\xff\xfe{\"data\":[";
		record(sb, route->name, rq, "fault: garbage");
		return queue(rq->conn, 200, "application/json;charset=UTF-8", garbage,
			     sizeof garbage - 1, NULL);
	}
	if (faulted && f.kind == PB_FAULT_HUGE) {
		static const char head[] = "{\"message\":\"ok\",\"filler\":\"";
		snprintf(answered, sizeof answered, "fault: huge %llu bytes%s",
			 (unsigned long long)f.bytes, f.chunked ? " chunked" : "");
		record(sb, route->name, rq, answered);
		return queue_stream(rq->conn, head, sizeof head - 1, f.bytes, f.bytes, false, f.chunked);
	}
	rs.status = 200;
	rs.content_type = "application/json;charset=UTF-8";
	pb_buf_init(&rs.body, MAX_ANSWER);
	route->fn(route->state, rq, &rs);
	if (faulted && f.kind == PB_FAULT_DROP) {
		record(sb, route->name, rq, "fault: dropped mid-response");
		ret = queue_stream(rq->conn, pb_buf_str(&rs.body), rs.body.len, rs.body.len,
				   rs.body.len / 2, true, false);
	} else if (faulted && f.kind == PB_FAULT_TRUNCATE) {
		record(sb, route->name, rq, "fault: truncated body");
		ret = queue(rq->conn, 200, rs.content_type, pb_buf_str(&rs.body), rs.body.len / 2,
			    NULL);
	} else {
		snprintf(answered, sizeof answered, "%d%s", rs.status,
			 faulted ? " (after injected delay)" : "");
		record(sb, route->name, rq, answered);
		ret = queue(rq->conn, rs.status, rs.content_type, pb_buf_str(&rs.body), rs.body.len,
			    NULL);
	}
	pb_buf_release(&rs.body);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	pb_sandbox *sb = cls;
	conn_ctx *ctx = *con_cls;
	pb_sbx_req rq;

	(void)version;
	if (!ctx) {
		ctx = calloc(1, sizeof *ctx);
		if (!ctx)
			return MHD_NO;
		pb_buf_init(&ctx->body, MAX_UPLOAD);
		*con_cls = ctx;
		return MHD_YES;
	}
	if (*upload_size) {
		if (pb_buf_append(&ctx->body, upload, *upload_size))
			ctx->too_big = true;
		*upload_size = 0;
		return MHD_YES;
	}
	if (ctx->too_big)
		return send_error(c, 413, "request body too large");
	rq.method = method;
	rq.path = url;
	rq.body = pb_buf_str(&ctx->body);
	rq.body_len = ctx->body.len;
	rq.conn = c;
	return dispatch(sb, &rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	conn_ctx *ctx = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (ctx) {
		pb_buf_release(&ctx->body);
		free(ctx);
		*con_cls = NULL;
	}
}

/* --- start and stop ------------------------------------------------- */

static bool key_known(const char *k)
{
	size_t m, i;

	for (m = 0; m < sizeof modules / sizeof modules[0]; m++)
		for (i = 0; modules[m].keys[i]; i++)
			if (!strcmp(modules[m].keys[i], k))
				return true;
	return false;
}

static pb_err load_seed(pb_sandbox *sb, const pb_sandbox_opts *o, pb_errbuf *eb)
{
	pb_ydoc doc = {0};
	pb_diag dg;
	pb_err err = PB_OK;
	size_t i;

	pb_diag_init(&dg);
	if (o->seed_file) {
		err = pb_ydoc_load(&doc, o->seed_file, MAX_SEED, &dg);
		if (err)
			goto out;
		if (doc.root && pb_y_expect(&dg, &doc, doc.root, PB_Y_MAP, "the seed file")) {
			for (i = 0; i < doc.root->n; i++) {
				const pb_ynode *k = pb_ymap_key(doc.root, i);
				if (k->kind != PB_Y_SCALAR || !key_known(k->str))
					pb_diag_at(&dg, &doc, k, "unknown section '%s'",
						   k->kind == PB_Y_SCALAR ? k->str : "?");
			}
		}
	}
	for (i = 0; i < sizeof modules / sizeof modules[0]; i++) {
		err = modules[i].init(sb, o, o->seed_file ? &doc : NULL, &dg);
		if (err)
			goto out;
	}
	if (pb_diag_count(&dg))
		err = PB_EPARSE;
out:
	if (err) {
		if (pb_diag_count(&dg))
			pb_diag_to_errbuf(&dg, eb);
		else
			pb_errf(eb, err, "sandbox: %s", pb_strerror(err));
	}
	pb_ydoc_release(&doc);
	pb_diag_release(&dg);
	return err;
}

static pb_err listen_socket(unsigned short port, int *fd_out, unsigned short *bound, pb_errbuf *eb)
{
	struct sockaddr_in a;
	socklen_t al = sizeof a;
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return pb_errf(eb, PB_EIO, "sandbox: socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 128) ||
	    getsockname(fd, (struct sockaddr *)&a, &al)) {
		int e = errno;
		close(fd);
		return pb_errf(eb, PB_EIO, "sandbox: cannot listen on 127.0.0.1:%u: %s", port,
			       strerror(e));
	}
	*fd_out = fd;
	*bound = ntohs(a.sin_port);
	return PB_OK;
}

pb_err pb_sandbox_start(const pb_sandbox_opts *o, pb_sandbox **out, pb_errbuf *eb)
{
	pb_sandbox *sb = calloc(1, sizeof *sb);
	pthread_condattr_t ca;
	pb_err err;
	int fd = -1;

	if (!sb)
		return pb_errf(eb, PB_ENOMEM, "out of memory");
	pthread_mutex_init(&sb->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sb->stop_cond, &ca);
	pthread_condattr_destroy(&ca);
	sb->records = cJSON_CreateArray();
	if (!sb->records) {
		err = pb_errf(eb, PB_ENOMEM, "out of memory");
		goto fail;
	}
	err = load_seed(sb, o, eb);
	if (err)
		goto fail;
	err = listen_socket(o->port, &fd, &sb->port, eb);
	if (err)
		goto fail;
	sb->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
				 NULL, NULL, on_request, sb, MHD_OPTION_LISTEN_SOCKET, fd,
				 MHD_OPTION_NOTIFY_COMPLETED, on_completed, sb,
				 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
				 MHD_OPTION_CONNECTION_LIMIT, (unsigned int)512, MHD_OPTION_END);
	if (!sb->d) {
		close(fd);
		err = pb_errf(eb, PB_EIO, "sandbox: libmicrohttpd failed to start");
		goto fail;
	}
	*out = sb;
	return PB_OK;
fail:
	pb_sandbox_stop(sb);
	return err;
}

void pb_sandbox_stop(pb_sandbox *sb)
{
	size_t i;

	if (!sb)
		return;
	pthread_mutex_lock(&sb->lock);
	sb->stopping = true;
	pthread_cond_broadcast(&sb->stop_cond);
	pthread_mutex_unlock(&sb->lock);
	if (sb->d)
		MHD_stop_daemon(sb->d);
	for (i = 0; i < sb->n_modules; i++)
		sb->modules[i].free(sb->modules[i].state);
	cJSON_Delete(sb->records);
	free(sb->faults);
	pthread_cond_destroy(&sb->stop_cond);
	pthread_mutex_destroy(&sb->lock);
	free(sb);
}
