/*
 * The HTTP server (see server.h): libmicrohttpd with one thread per
 * connection, a small router, and the limits and headers every route
 * shares. Bodies are gathered into a capped buffer before the handler
 * runs, so a handler always sees the whole request or none of it.
 *
 * libmicrohttpd's connection timeout counts idle time only: a client that
 * sends one header byte a second is never idle and would hold its thread
 * for hours. So a watchdog thread also gives every request a deadline: it
 * must have arrived whole (headers and body, or the TLS handshake and
 * them) within the same timeout of its first byte, or of the previous
 * response on that connection; past it the socket is shut down.
 */
#include "parcelbot/server.h"

#include <arpa/inet.h>
#include <cJSON.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "parcelbot/digest.h"

#define MAX_ROUTES 96
#define MAX_ANSWER ((size_t)64 << 20)
/* How often the watchdog looks for requests past their deadline. */
#define WATCH_TICK_MS 250

/* One open connection, as the watchdog sees it. */
typedef struct conn_watch {
	struct conn_watch *prev, *next;
	int fd;
	struct timespec since; /* when the request now arriving began */
	bool reading;          /* false while a handler or a response runs */
	bool cut;
} conn_watch;

typedef struct route {
	const char *method;
	const char *pattern;
	pb_srv_handler fn;
	void *ud;
} route;

struct pb_server {
	struct MHD_Daemon *d;
	char *listen;
	char *cert, *key;
	size_t max_body;
	unsigned max_conn, per_ip, timeout_s;
	size_t header_memory;
	unsigned short port;
	route routes[MAX_ROUTES];
	size_t n_routes;
	pb_srv_observer observe;
	void *observe_ud;
	atomic_bool stopping;
	/* The request deadline (see the top of this file). */
	pthread_mutex_t watch_mu;
	pthread_cond_t watch_cv;
	conn_watch *watched;
	pthread_t watchdog;
	bool watchdog_running;
	atomic_ulong cut;
};

/* Per request. */
typedef struct conn_ctx {
	pb_buf body;
	bool too_big;
	bool nul_in_path; /* "%00" in the path: libmicrohttpd's decoded copy ends there */
	bool started;     /* on_request has seen the headers */
	struct timespec t0;
} conn_ctx;

void pb_srv_opts_init(pb_srv_opts *o)
{
	memset(o, 0, sizeof *o);
	o->listen = "127.0.0.1:8080";
	o->max_body = (size_t)1 << 20;
	o->max_connections = 256;
	o->per_ip_connections = 64;
	o->connection_timeout_s = 30;
	o->header_memory = 32 * 1024;
}

/* --- requests ------------------------------------------------------- */

const char *pb_srv_header(const pb_srv_req *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn_, MHD_HEADER_KIND, name);
}

const char *pb_srv_query(const pb_srv_req *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn_, MHD_GET_ARGUMENT_KIND, name);
}

const char *pb_srv_cookie(const pb_srv_req *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn_, MHD_COOKIE_KIND, name);
}

void pb_srv_remote(const pb_srv_req *rq, char *out, size_t n)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(rq->conn_, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	snprintf(out, n, "?");
	if (!ci || !ci->client_addr)
		return;
	if (ci->client_addr->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr,
			  out, (socklen_t)n);
	else if (ci->client_addr->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
			  &((const struct sockaddr_in6 *)(const void *)ci->client_addr)->sin6_addr, out,
			  (socklen_t)n);
}

bool pb_srv_bearer_ok(const pb_srv_req *rq, const char *token)
{
	const char *h = pb_srv_header(rq, "Authorization");

	if (!token || !*token || !h || strncasecmp(h, "Bearer ", 7))
		return false;
	h += 7;
	while (*h == ' ')
		h++;
	return pb_secret_equal(h, strlen(h), token, strlen(token));
}

/* --- responses ------------------------------------------------------ */

void pb_srv_json(pb_srv_resp *rs, int status, const cJSON *j)
{
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;

	pb_buf_reset(&rs->body);
	rs->content_type = "application/json; charset=utf-8";
	if (!s) {
		rs->status = 500;
		pb_buf_puts(&rs->body, "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}");
		return;
	}
	rs->status = status;
	if (pb_buf_puts(&rs->body, s)) {
		rs->status = 500;
		pb_buf_reset(&rs->body);
		pb_buf_puts(&rs->body, "{\"error\":{\"code\":\"internal\",\"message\":\"answer too large\"}}");
	}
	free(s);
}

void pb_srv_error(pb_srv_resp *rs, int status, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	cJSON *j, *e;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	j = cJSON_CreateObject();
	e = j ? cJSON_AddObjectToObject(j, "error") : NULL;
	if (e) {
		cJSON_AddStringToObject(e, "code", code);
		cJSON_AddStringToObject(e, "message", msg);
	}
	pb_srv_json(rs, status, e ? j : NULL);
	if (e)
		rs->status = status;
	cJSON_Delete(j);
}

pb_err pb_srv_add_header(pb_srv_resp *rs, const char *name, const char *value)
{
	size_t n;
	char *h;

	if (rs->n_headers == PB_SRV_MAX_HEADERS)
		return PB_ELIMIT;
	/* A header value must not smuggle in another header. */
	if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
		return PB_EINVAL;
	n = strlen(name) + strlen(value) + 3;
	h = malloc(n);
	if (!h)
		return PB_ENOMEM;
	snprintf(h, n, "%s: %s", name, value);
	rs->headers[rs->n_headers++] = h;
	return PB_OK;
}

static void resp_release(pb_srv_resp *rs)
{
	size_t i;

	pb_buf_release(&rs->body);
	for (i = 0; i < rs->n_headers; i++)
		free(rs->headers[i]);
	rs->n_headers = 0;
}

static bool has_header(const pb_srv_resp *rs, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < rs->n_headers; i++)
		if (!strncasecmp(rs->headers[i], name, n) && rs->headers[i][n] == ':')
			return true;
	return false;
}

static void add_headers(struct MHD_Response *r, const pb_srv_resp *rs)
{
	size_t i;

	for (i = 0; i < rs->n_headers; i++) {
		char *colon = strchr(rs->headers[i], ':');
		*colon = '\0';
		MHD_add_response_header(r, rs->headers[i], colon + 2);
		*colon = ':';
	}
	if (rs->content_type)
		MHD_add_response_header(r, "Content-Type", rs->content_type);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	if (!has_header(rs, "Cache-Control"))
		MHD_add_response_header(r, "Cache-Control", "no-store");
}

typedef struct stream_ctx {
	pb_server *s;
	pb_srv_stream_fn fn;
	void *ud;
	void (*free_fn)(void *ud);
} stream_ctx;

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	stream_ctx *sc = cls;
	long n;

	(void)pos;
	if (atomic_load(&sc->s->stopping))
		return MHD_CONTENT_READER_END_OF_STREAM;
	n = sc->fn(sc->ud, buf, max);
	if (n < 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n == 0) {
		/* Thread-per-connection mode calls again at once: pause so a
		 * stream with nothing to say does not spin. */
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	stream_ctx *sc = cls;

	if (sc->free_fn)
		sc->free_fn(sc->ud);
	free(sc);
}

static enum MHD_Result queue(pb_server *s, struct MHD_Connection *c, pb_srv_resp *rs)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	stream_ctx *sc;

	if (rs->stream) {
		sc = malloc(sizeof *sc);
		if (!sc) {
			if (rs->stream_free)
				rs->stream_free(rs->stream_ud);
			return MHD_NO;
		}
		*sc = (stream_ctx){s, rs->stream, rs->stream_ud, rs->stream_free};
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_reader, sc,
						      stream_free);
		if (!r) {
			stream_free(sc);
			return MHD_NO;
		}
	} else {
		r = MHD_create_response_from_buffer(rs->body.len, (void *)pb_buf_str(&rs->body),
						    MHD_RESPMEM_MUST_COPY);
		if (!r)
			return MHD_NO;
	}
	add_headers(r, rs);
	ret = MHD_queue_response(c, (unsigned)rs->status, r);
	MHD_destroy_response(r);
	return ret;
}

/* --- routing -------------------------------------------------------- */

/* Matches path against pattern, capturing {name} segments and a final "*"
 * into params (pointers into buf, a copy of the path). */
static bool match(const char *pattern, const char *path, char *buf, size_t bufn,
		  const char **params, size_t *n_params)
{
	const char *p = pattern, *q = path;
	size_t used = 0, np = 0;

	while (*p) {
		if (*p == '*' && !p[1]) {
			size_t len = strlen(q);
			if (np == PB_SRV_MAX_PARAMS || used + len + 1 > bufn)
				return false;
			memcpy(buf + used, q, len + 1);
			params[np++] = buf + used;
			*n_params = np;
			return true;
		}
		if (*p == '{') {
			const char *end = strchr(q, '/');
			size_t len = end ? (size_t)(end - q) : strlen(q);
			if (!len || np == PB_SRV_MAX_PARAMS || used + len + 1 > bufn)
				return false;
			memcpy(buf + used, q, len);
			buf[used + len] = '\0';
			params[np++] = buf + used;
			used += len + 1;
			q += len;
			p = strchr(p, '}');
			if (!p)
				return false;
			p++;
			continue;
		}
		if (*p != *q)
			return false;
		p++;
		q++;
	}
	if (*q)
		return false;
	*n_params = np;
	return true;
}

/* Refuses "..", "." segments and backslashes (an escaped NUL is caught by
 * on_uri). */
static bool path_safe(const char *path)
{
	const char *seg = path;

	if (*path != '/')
		return false;
	while (seg) {
		const char *next = strchr(seg + 1, '/');
		size_t len = next ? (size_t)(next - seg - 1) : strlen(seg + 1);
		if ((len == 1 && seg[1] == '.') || (len == 2 && seg[1] == '.' && seg[2] == '.'))
			return false;
		if (len && memchr(seg + 1, '\\', len))
			return false;
		seg = next;
	}
	return true;
}

static double since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static enum MHD_Result dispatch(pb_server *s, struct MHD_Connection *c, const char *path,
				const char *method, conn_ctx *ctx)
{
	char buf[2048], allow[128] = "";
	pb_srv_resp rs;
	pb_srv_req rq;
	const route *hit = NULL;
	enum MHD_Result ret;
	size_t i;
	memset(&rs, 0, sizeof rs);
	memset(&rq, 0, sizeof rq);
	rs.status = 200;
	rs.content_type = "application/json; charset=utf-8";
	pb_buf_init(&rs.body, MAX_ANSWER);
	rq.method = method;
	rq.path = path;
	rq.body = pb_buf_str(&ctx->body);
	rq.body_len = ctx->body.len;
	rq.conn_ = c;
	rq.tls = s->cert != NULL;
	rq.route = "";
	if (ctx->too_big) {
		pb_srv_error(&rs, 413, "too_large", "the request body is larger than %zu bytes",
			     s->max_body);
	} else if (ctx->nul_in_path || !path_safe(path)) {
		pb_srv_error(&rs, 400, "bad_path", "the path is not allowed");
	} else {
		for (i = 0; i < s->n_routes; i++) {
			const route *r = &s->routes[i];
			size_t np = 0;
			if (!match(r->pattern, path, buf, sizeof buf, rq.params, &np))
				continue;
			if (strcmp(r->method, "*") && strcmp(r->method, method)) {
				if (!strstr(allow, r->method) && strlen(allow) + strlen(r->method) + 3 < sizeof allow)
					snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s",
						 *allow ? ", " : "", r->method);
				continue;
			}
			rq.n_params = np;
			hit = r;
			break;
		}
		if (hit) {
			rq.route = hit->pattern;
			hit->fn(hit->ud, &rq, &rs);
		} else if (*allow) {
			pb_srv_error(&rs, 405, "method_not_allowed", "%s is not allowed here", method);
			pb_srv_add_header(&rs, "Allow", allow);
		} else {
			pb_srv_error(&rs, 404, "not_found", "no such resource");
		}
	}
	if (s->observe)
		s->observe(s->observe_ud, rq.route, method, rs.status, since(&ctx->t0));
	ret = queue(s, c, &rs);
	resp_release(&rs);
	return ret;
}

/* --- the request deadline ---------------------------------------- */

static void watch_reading(pb_server *s, struct MHD_Connection *c, bool reading)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	conn_watch *w = ci ? ci->socket_context : NULL;

	if (!w)
		return;
	pthread_mutex_lock(&s->watch_mu);
	w->reading = reading;
	if (reading)
		clock_gettime(CLOCK_MONOTONIC, &w->since);
	pthread_mutex_unlock(&s->watch_mu);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	pb_server *s = cls;
	conn_watch *w;
	const union MHD_ConnectionInfo *ci;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (!ci || !(w = calloc(1, sizeof *w)))
			return; /* unwatched: libmicrohttpd's idle timeout still applies */
		w->fd = ci->connect_fd;
		w->reading = true;
		clock_gettime(CLOCK_MONOTONIC, &w->since);
		pthread_mutex_lock(&s->watch_mu);
		w->next = s->watched;
		if (w->next)
			w->next->prev = w;
		s->watched = w;
		pthread_mutex_unlock(&s->watch_mu);
		*socket_context = w;
		return;
	}
	/* Closed: libmicrohttpd closes the socket after this returns, so the
	 * watchdog, holding the same lock, never touches a reused fd. */
	if (!(w = *socket_context))
		return;
	pthread_mutex_lock(&s->watch_mu);
	if (w->prev)
		w->prev->next = w->next;
	else
		s->watched = w->next;
	if (w->next)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&s->watch_mu);
	free(w);
	*socket_context = NULL;
}

static void *watchdog(void *arg)
{
	pb_server *s = arg;
	struct timespec now, until;
	long long limit_ms = (long long)s->timeout_s * 1000, ms;
	conn_watch *w;

	pthread_mutex_lock(&s->watch_mu);
	while (!atomic_load(&s->stopping)) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		for (w = s->watched; w; w = w->next) {
			ms = (long long)(now.tv_sec - w->since.tv_sec) * 1000 +
			     (now.tv_nsec - w->since.tv_nsec) / 1000000;
			if (!w->reading || w->cut || ms < limit_ms)
				continue;
			/* The connection's thread sees the end of its stream and
			 * closes the connection itself. */
			shutdown(w->fd, SHUT_RDWR);
			w->cut = true;
			atomic_fetch_add(&s->cut, 1);
		}
		until = now;
		until.tv_nsec += WATCH_TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->watch_cv, &s->watch_mu, &until);
	}
	pthread_mutex_unlock(&s->watch_mu);
	return NULL;
}

static conn_ctx *new_ctx(pb_server *s)
{
	conn_ctx *ctx = calloc(1, sizeof *ctx);

	if (!ctx)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &ctx->t0);
	pb_buf_init(&ctx->body, s->max_body);
	return ctx;
}

/* Called with the request line's URI as sent, before libmicrohttpd decodes
 * it: the one place an escaped NUL in the path can be seen ("/a.js%00.txt"
 * would otherwise reach the routes as "/a.js"). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	conn_ctx *ctx = new_ctx(cls);
	const char *p;

	(void)c;
	if (!ctx)
		return NULL;
	for (p = uri; *p && *p != '?'; p++)
		if (p[0] == '%' && p[1] == '0' && p[2] == '0')
			ctx->nul_in_path = true;
	return ctx;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	pb_server *s = cls;
	conn_ctx *ctx = *con_cls;
	const char *cl;

	(void)version;
	if (!ctx && !(*con_cls = ctx = new_ctx(s)))
		return MHD_NO;
	if (!ctx->started) {
		ctx->started = true;
		/* Refuse an announced oversized body before reading any of it. */
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > s->max_body) {
			ctx->too_big = true;
			return dispatch(s, c, url, method, ctx);
		}
		return MHD_YES;
	}
	if (*upload_size) {
		if (!ctx->too_big && pb_buf_append(&ctx->body, upload, *upload_size)) {
			ctx->too_big = true;
			pb_buf_reset(&ctx->body);
		}
		*upload_size = 0;
		return MHD_YES;
	}
	watch_reading(s, c, false);
	return dispatch(s, c, url, method, ctx);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	conn_ctx *ctx = *con_cls;

	(void)toe;
	/* The next request on this connection starts its deadline now. */
	watch_reading(cls, c, true);
	if (ctx) {
		pb_buf_release(&ctx->body);
		free(ctx);
		*con_cls = NULL;
	}
}

/* --- life ----------------------------------------------------------- */

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

pb_err pb_server_new(const pb_srv_opts *o, pb_server **out, pb_errbuf *eb)
{
	pb_server *s = calloc(1, sizeof *s);
	pthread_condattr_t ca;

	if (!s)
		return pb_errf(eb, PB_ENOMEM, "out of memory");
	pthread_mutex_init(&s->watch_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->watch_cv, &ca);
	pthread_condattr_destroy(&ca);
	if (!o->tls_cert_pem != !o->tls_key_pem) {
		pb_server_stop(s);
		return pb_errf(eb, PB_EINVAL, "TLS needs both a certificate and a key");
	}
	s->listen = dup_or_null(o->listen ? o->listen : "127.0.0.1:8080");
	s->cert = dup_or_null(o->tls_cert_pem);
	s->key = dup_or_null(o->tls_key_pem);
	s->max_body = o->max_body ? o->max_body : (size_t)1 << 20;
	s->max_conn = o->max_connections ? o->max_connections : 256;
	s->per_ip = o->per_ip_connections;
	s->timeout_s = o->connection_timeout_s ? o->connection_timeout_s : 30;
	s->header_memory = o->header_memory ? o->header_memory : 32 * 1024;
	if (!s->listen || (o->tls_cert_pem && (!s->cert || !s->key))) {
		pb_server_stop(s);
		return pb_errf(eb, PB_ENOMEM, "out of memory");
	}
	*out = s;
	return PB_OK;
}

pb_err pb_server_route(pb_server *s, const char *method, const char *pattern, pb_srv_handler fn,
		       void *ud)
{
	if (s->n_routes == MAX_ROUTES)
		return PB_ELIMIT;
	s->routes[s->n_routes++] = (route){method, pattern, fn, ud};
	return PB_OK;
}

void pb_server_observe(pb_server *s, pb_srv_observer fn, void *ud)
{
	s->observe = fn;
	s->observe_ud = ud;
}

static pb_err listen_socket(const char *listen_at, int *fd_out, unsigned short *bound,
			    pb_errbuf *eb)
{
	char host[256], port[16];
	const char *colon = strrchr(listen_at, ':');
	struct addrinfo hints, *ai = NULL;
	struct sockaddr_storage a;
	socklen_t al = sizeof a;
	int fd = -1, one = 1, rc;
	size_t hl;

	if (!colon || (size_t)(colon - listen_at) >= sizeof host || strlen(colon + 1) >= sizeof port)
		return pb_errf(eb, PB_EINVAL, "listen address '%s' is not host:port", listen_at);
	hl = (size_t)(colon - listen_at);
	/* "[::1]:8080" */
	if (hl >= 2 && listen_at[0] == '[' && listen_at[hl - 1] == ']') {
		memcpy(host, listen_at + 1, hl - 2);
		host[hl - 2] = '\0';
	} else {
		memcpy(host, listen_at, hl);
		host[hl] = '\0';
	}
	snprintf(port, sizeof port, "%s", colon + 1);
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(*host ? host : NULL, port, &hints, &ai);
	if (rc)
		return pb_errf(eb, PB_EIO, "cannot listen on %s: %s", listen_at, gai_strerror(rc));
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0) {
		freeaddrinfo(ai);
		return pb_errf(eb, PB_EIO, "cannot listen on %s: %s", listen_at, strerror(errno));
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 256) ||
	    getsockname(fd, (struct sockaddr *)&a, &al)) {
		int e = errno;
		close(fd);
		freeaddrinfo(ai);
		return pb_errf(eb, PB_EIO, "cannot listen on %s: %s", listen_at, strerror(e));
	}
	freeaddrinfo(ai);
	/* NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult): getsockname filled a */
	*bound = ntohs(a.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&a)->sin6_port
					       : ((struct sockaddr_in *)&a)->sin_port);
	*fd_out = fd;
	return PB_OK;
}

pb_err pb_server_start(pb_server *s, pb_errbuf *eb)
{
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD;
	pb_err err;
	int fd;

	err = listen_socket(s->listen, &fd, &s->port, eb);
	if (err)
		return err;
	if (s->cert) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			close(fd);
			return pb_errf(eb, PB_EINVAL,
				       "this libmicrohttpd was built without TLS; put a TLS proxy in "
				       "front or remove server.tls");
		}
		flags |= MHD_USE_TLS;
		s->d = MHD_start_daemon(
			flags, 0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, fd,
			MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION,
			on_connection, s, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
			MHD_OPTION_CONNECTION_TIMEOUT,
			s->timeout_s, MHD_OPTION_CONNECTION_LIMIT, s->max_conn,
			MHD_OPTION_PER_IP_CONNECTION_LIMIT, s->per_ip, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
			s->header_memory, MHD_OPTION_HTTPS_MEM_CERT, s->cert, MHD_OPTION_HTTPS_MEM_KEY,
			s->key, MHD_OPTION_END);
	} else {
		s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET,
					fd, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
					MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
					MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
					MHD_OPTION_CONNECTION_TIMEOUT, s->timeout_s,
					MHD_OPTION_CONNECTION_LIMIT, s->max_conn,
					MHD_OPTION_PER_IP_CONNECTION_LIMIT, s->per_ip,
					MHD_OPTION_CONNECTION_MEMORY_LIMIT, s->header_memory,
					MHD_OPTION_END);
	}
	if (!s->d) {
		close(fd);
		return pb_errf(eb, PB_EIO, "the HTTP server failed to start on %s", s->listen);
	}
	if (pthread_create(&s->watchdog, NULL, watchdog, s)) {
		MHD_stop_daemon(s->d);
		s->d = NULL;
		return pb_errf(eb, PB_EIO, "cannot start the connection watchdog");
	}
	s->watchdog_running = true;
	return PB_OK;
}

unsigned long pb_server_cut_count(const pb_server *s)
{
	return atomic_load(&((pb_server *)s)->cut);
}

unsigned short pb_server_port(const pb_server *s)
{
	return s->port;
}

bool pb_server_stopping(const pb_server *s)
{
	return atomic_load(&((pb_server *)s)->stopping);
}

void pb_server_stop(pb_server *s)
{
	if (!s)
		return;
	atomic_store(&s->stopping, true);
	if (s->watchdog_running) {
		pthread_mutex_lock(&s->watch_mu);
		pthread_cond_broadcast(&s->watch_cv);
		pthread_mutex_unlock(&s->watch_mu);
		pthread_join(s->watchdog, NULL);
	}
	if (s->d)
		MHD_stop_daemon(s->d);
	/* Every connection was announced closed by now; nothing is left. */
	pthread_cond_destroy(&s->watch_cv);
	pthread_mutex_destroy(&s->watch_mu);
	free(s->listen);
	if (s->key) {
		explicit_bzero(s->key, strlen(s->key));
		free(s->key);
	}
	free(s->cert);
	free(s);
}

/* --- helpers -------------------------------------------------------- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool pb_srv_url_decode(const char *src, size_t len, bool plus_is_space, char *out, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		int c = (unsigned char)src[i];
		if (c == '%') {
			int h, l;
			if (i + 2 >= len)
				return false;
			h = hexval((unsigned char)src[i + 1]);
			l = hexval((unsigned char)src[i + 2]);
			if (h < 0 || l < 0)
				return false;
			c = h * 16 + l;
			i += 2;
		} else if (c == '+' && plus_is_space) {
			c = ' ';
		}
		if (!c || o + 1 >= n)
			return false;
		out[o++] = (char)c;
	}
	if (o >= n)
		return false;
	out[o] = '\0';
	return true;
}
