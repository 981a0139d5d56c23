/*
 * The HTTP server (libmicrohttpd underneath) that carries webhooks,
 * parcelbot's JSON API, the console, /healthz and /metrics. It owns what
 * every route needs and no route should get wrong on its own:
 *
 *  - routing by method and path pattern ("/api/v1/drafts/{id}/approve"),
 *    404 for an unknown path and 405 (with Allow) for a known path asked
 *    with the wrong method;
 *  - a cap on request bodies (413, checked against Content-Length before
 *    anything is read and again while it arrives), on header memory per
 *    connection, on connections in all and per client address, and a
 *    timeout for idle connections that is also the most a request may
 *    take to arrive, however steadily it trickles in (slowloris);
 *  - paths that try to climb out (".." segments, NUL bytes) refused with
 *    400 before any route sees them;
 *  - security headers on every response (nosniff, no framing, no referrer,
 *    no caching unless the route says otherwise);
 *  - an observer called after every response, for metrics and logs.
 *
 * One thread serves each connection, so handlers may block (on SQLite,
 * say); a connection limit bounds the threads. A streaming response (for
 * Server-Sent Events) is produced by a callback that may block too, and
 * must return promptly once pb_server_stopping() is true.
 */
#ifndef PARCELBOT_SERVER_H
#define PARCELBOT_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parcelbot/buf.h"
#include "parcelbot/err.h"

struct cJSON;

typedef struct pb_server pb_server;

typedef struct pb_srv_opts {
	const char *listen;          /* "host:port"; port 0 picks a free one */
	size_t max_body;             /* default 1 MiB */
	unsigned max_connections;    /* default 256 */
	unsigned per_ip_connections; /* default 64; 0: no limit */
	unsigned connection_timeout_s; /* idle connections, and the longest a
					* request may take to arrive; default 30 */
	size_t header_memory;        /* per connection, for the request line and
				      * headers; default 32 KiB */
	const char *tls_cert_pem;    /* PEM text of certificate and key, both or
				      * neither; served over TLS when given */
	const char *tls_key_pem;
} pb_srv_opts;

void pb_srv_opts_init(pb_srv_opts *o);

#define PB_SRV_MAX_PARAMS 4

/* A request as a handler sees it. Valid during the handler only. */
typedef struct pb_srv_req {
	const char *method;
	const char *path;           /* decoded, without the query */
	const char *route;          /* the pattern that matched */
	const char *body;           /* NUL-terminated; "" when none */
	size_t body_len;
	const char *params[PB_SRV_MAX_PARAMS]; /* {name} captures, in order */
	size_t n_params;
	bool tls;                   /* arrived over TLS */
	void *conn_;                /* private */
} pb_srv_req;

/* A request header, query argument or cookie by name, or NULL. */
const char *pb_srv_header(const pb_srv_req *rq, const char *name);
const char *pb_srv_query(const pb_srv_req *rq, const char *name);
const char *pb_srv_cookie(const pb_srv_req *rq, const char *name);
/* The client's address ("127.0.0.1", "::1"), for logs. */
void pb_srv_remote(const pb_srv_req *rq, char *out, size_t n);
/* True when the request carries "Authorization: Bearer <token>" with this
 * token, compared in constant time. False for a NULL or empty token. */
bool pb_srv_bearer_ok(const pb_srv_req *rq, const char *token);

/* A streaming body: writes up to max bytes into buf and returns how many;
 * 0 when it has nothing yet (it is called again), -1 at the end. Runs on
 * the connection's thread and may block briefly. */
typedef long (*pb_srv_stream_fn)(void *ud, char *buf, size_t max);

#define PB_SRV_MAX_HEADERS 8

/* The answer a handler builds. The server has set status 200, content type
 * application/json and an empty body capped at 64 MiB. */
typedef struct pb_srv_resp {
	int status;
	const char *content_type; /* static string */
	pb_buf body;
	char *headers[PB_SRV_MAX_HEADERS]; /* "Name: value", owned */
	size_t n_headers;
	pb_srv_stream_fn stream;  /* when set, the body comes from here */
	void *stream_ud;
	void (*stream_free)(void *ud); /* called once the stream is done */
} pb_srv_resp;

/* The body is j in compact form. */
void pb_srv_json(pb_srv_resp *rs, int status, const struct cJSON *j);
/* {"error": {"code": code, "message": ...}} with status. */
void pb_srv_error(pb_srv_resp *rs, int status, const char *code, const char *fmt, ...)
	PB_PRINTF(4, 5);
/* Adds a response header; PB_ELIMIT beyond PB_SRV_MAX_HEADERS. */
pb_err pb_srv_add_header(pb_srv_resp *rs, const char *name, const char *value);

typedef void (*pb_srv_handler)(void *ud, const pb_srv_req *rq, pb_srv_resp *rs);

/* Called after every response: the route pattern (or "" for none), method,
 * status and seconds from the request's arrival to its handler's end. */
typedef void (*pb_srv_observer)(void *ud, const char *route, const char *method, int status,
				double seconds);

/* Builds a server (not listening yet). The strings in o are copied. */
pb_err pb_server_new(const pb_srv_opts *o, pb_server **out, pb_errbuf *eb);

/* Adds a route, before pb_server_start. pattern is a path in which "{name}"
 * matches one non-empty segment and a final "*" matches the rest of the
 * path (possibly empty); captures go to params in order. method is exact
 * ("GET") or "*". Routes are tried in the order added. The pattern must be
 * static. */
pb_err pb_server_route(pb_server *s, const char *method, const char *pattern, pb_srv_handler fn,
		       void *ud);
void pb_server_observe(pb_server *s, pb_srv_observer fn, void *ud);

/* Starts listening. PB_EIO (with the reason) when the address cannot be
 * bound. */
pb_err pb_server_start(pb_server *s, pb_errbuf *eb);
/* The port bound, after start. */
unsigned short pb_server_port(const pb_server *s);
/* Connections shut down so far because a request took longer than the
 * connection timeout to arrive. */
unsigned long pb_server_cut_count(const pb_server *s);
/* True once pb_server_stop has begun: streams should end. */
bool pb_server_stopping(const pb_server *s);
/* Stops accepting, lets running requests finish, closes every connection
 * and frees the server. NULL is ignored. */
void pb_server_stop(pb_server *s);

/* Decodes %XX escapes and '+' (as a space, for form bodies) of src into
 * out (size n, NUL-terminated). False when the result does not fit, an
 * escape is malformed or it decodes to a NUL byte. */
bool pb_srv_url_decode(const char *src, size_t len, bool plus_is_space, char *out, size_t n);

#endif
