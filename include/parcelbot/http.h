/*
 * The one HTTP client (libcurl underneath). Every call to an upstream service
 * goes through pb_http_perform, which runs a batch of requests concurrently
 * and gives each the same guarantees:
 *
 *  - connect and total timeouts on every attempt;
 *  - a cap on the response body, enforced while it arrives: a transfer that
 *    would go past it is aborted with PB_ETOOBIG and nothing more is kept;
 *  - TLS verification always on, certificate and host name (another CA
 *    bundle may be named, nothing turns verification off), redirects never
 *    followed, http and https only;
 *  - retries with exponential backoff and jitter on connection failures,
 *    timeouts, 408, 429 and 5xx answers, honouring Retry-After (seconds or
 *    an HTTP date) up to a maximum wait; a request waiting to retry does not
 *    hold up the others in its batch;
 *  - messages that name the method, host and path, never the query string,
 *    headers or bodies, with any value listed in a request's `secrets`
 *    replaced by "***".
 *
 * A pb_http is shared freely between threads. DNS answers and TLS sessions
 * are shared through a libcurl share object; live connections are kept in a
 * small pool of multi handles, each used by one batch at a time (libcurl
 * does not support one connection cache used by several threads at once),
 * so consecutive lookups reuse their connections.
 */
#ifndef PARCELBOT_HTTP_H
#define PARCELBOT_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "parcelbot/buf.h"
#include "parcelbot/err.h"

typedef struct pb_http pb_http;

typedef struct pb_http_opts {
	long connect_timeout_ms; /* per attempt; default 3000 */
	long timeout_ms;         /* whole attempt, connect included; default 10000 */
	unsigned retries;        /* attempts after the first; default 3 */
	long backoff_base_ms;    /* wait before the first retry; doubles each time; default 500 */
	long backoff_max_ms;     /* longest single wait, Retry-After included; default 30000 */
	size_t max_body;         /* largest response body kept; default 8 MiB */
	unsigned max_parallel;   /* transfers in flight per batch; default 16 */
	const char *ca_file;     /* trust the CAs in this PEM file instead of the
				  * system's; default $PARCELBOT_CA_FILE, else
				  * the system's */
	const char *user_agent;  /* default "parcelbot/VERSION" */
} pb_http_opts;

#define PB_HTTP_DEFAULT_MAX_BODY ((size_t)8 << 20)

/* Fills o with the defaults above. PARCELBOT_CA_FILE, when set, names the
 * CA bundle: a test CA, or a company CA in front of the internet. */
void pb_http_opts_init(pb_http_opts *o);

/* Creates a client. The strings in o are copied. On success *out owns a new
 * client, freed with pb_http_free. */
pb_err pb_http_new(const pb_http_opts *o, pb_http **out, pb_errbuf *eb);
/* Frees the client and closes its connections. No batch may be running. */
void pb_http_free(pb_http *h);

/* Decides, from a complete 2xx answer, whether to retry anyway: some APIs
 * report "busy, try again" inside a 200 body. Called on the batch's thread;
 * must not block. */
typedef bool (*pb_http_retry_fn)(long status, const pb_buf *body, void *ud);

/* One request of a batch. The caller sets the fields marked "in" (everything
 * else zero, e.g. with `= {0}`) and reads the fields marked "out" after
 * pb_http_perform; the response body belongs to the request and is freed
 * with pb_http_req_release. */
typedef struct pb_http_req {
	/* in */
	const char *method;          /* "GET", "POST", ...; NULL means GET */
	const char *url;             /* http:// or https:// */
	const char *const *headers;  /* "Name: value" lines, NULL-terminated, or NULL */
	const char *body;            /* request body, or NULL */
	size_t body_len;
	const char *const *secrets;  /* values to redact from messages, NULL-terminated */
	bool idempotent;             /* safe to resend even if it may have arrived;
				      * GET, HEAD, PUT, DELETE and OPTIONS always are */
	size_t max_body;             /* 0: the client's cap */
	pb_http_retry_fn retry_if;   /* optional, see above */
	void *retry_ud;

	/* out */
	pb_err err;        /* PB_OK when an answer arrived that is not a failure below */
	pb_errbuf eb;      /* what went wrong, for people; secrets redacted */
	long status;       /* HTTP status of the last answer, 0 when none arrived */
	pb_buf resp;       /* body of the last answer (owned; NUL-terminated) */
	char content_type[96]; /* Content-Type of the last answer, "" when absent */
	long retry_after;  /* seconds asked by the last answer's Retry-After, -1 if none */
	unsigned attempts; /* how many times the request was sent */
	long new_connections; /* connections opened for it (0: all reused) */
	long elapsed_ms;   /* from the start of the batch to this request's end */
} pb_http_req;

/* Frees a request's response body. */
void pb_http_req_release(pb_http_req *r);

/* Runs n requests concurrently and returns when all are done. Each request's
 * outcome is in its own err/eb/status/resp:
 *   PB_OK          an answer arrived: 2xx, or any 3xx/4xx other than 408/429
 *                  (the caller reads status and body);
 *   PB_ERATELIMIT  429 on the last attempt (body kept);
 *   PB_EUPSTREAM   5xx or 408 on the last attempt (body kept), or the
 *                  retry_if callback still wanted a retry;
 *   PB_ETIMEOUT    the last attempt timed out;
 *   PB_EHTTP       connection, TLS or protocol failure;
 *   PB_ETOOBIG     the body went past the cap (never retried);
 *   PB_EINVAL      the request itself is unusable (bad URL or method).
 * Returns PB_ENOMEM (or PB_EHTTP when libcurl cannot start a batch), in which
 * case requests not finished carry that error; PB_OK otherwise, whatever the
 * individual outcomes. */
pb_err pb_http_perform(pb_http *h, pb_http_req *reqs, size_t n);

/* Seconds from now until the time a Retry-After value names: "120", or an
 * HTTP date ("Wed, 21 Oct 2026 07:28:00 GMT"; a date in the past gives 0).
 * Returns -1 for anything else. */
long pb_http_parse_retry_after(const char *value, long long now);

/* Writes "METHOD host[:port]/path" for url into out (query and fragment left
 * out, user info never shown), for messages. */
void pb_http_describe(const char *method, const char *url, char *out, size_t n);

/* Replaces every occurrence of each secret in s (in place) with "***".
 * Secrets shorter than PB_HTTP_REDACT_MIN bytes are left alone: they guard
 * nothing and would garble any message containing their letters. */
#define PB_HTTP_REDACT_MIN 4
void pb_http_redact(char *s, size_t size, const char *const *secrets);

#endif
