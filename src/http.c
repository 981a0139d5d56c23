/*
 * The libcurl wrapper (see http.h). One batch is one multi handle driven by a
 * loop that starts attempts when they are due, collects finished transfers
 * and decides, per transfer, whether to give up or schedule another attempt.
 * Waiting for a retry is just a future start time, so a request in backoff
 * never blocks the rest of its batch, and no thread ever sleeps on its own.
 */
#include "parcelbot/http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "pb_build.h"

/* Idle multi handles (each with its connection cache) kept between
 * batches; more than this many concurrent batches simply start cold. */
#define POOL_SIZE 4
#define MAX_HEADERS 64

struct pb_http {
	pb_http_opts o;
	char *ca_file;    /* owned copies of the option strings */
	char *user_agent;
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	pthread_mutex_t pool_lock;
	CURLM *pool[POOL_SIZE];
	size_t n_pool;
	unsigned seed;
};

/* The private state of one request during a batch. */
typedef struct xfer {
	pb_http_req *r;
	CURL *easy;
	struct curl_slist *hdrs;
	size_t cap;
	bool idempotent;
	bool in_flight;
	bool done;
	bool too_big;
	bool oom;
	long long next_at; /* monotonic ms at which the next attempt may start */
	char what[256];    /* "POST host/path" for messages */
	char query[256];   /* the URL's query, to keep it out of messages */
	char curl_err[CURL_ERROR_SIZE];
} xfer;

void pb_http_opts_init(pb_http_opts *o)
{
	memset(o, 0, sizeof *o);
	o->connect_timeout_ms = 3000;
	o->timeout_ms = 10000;
	o->retries = 3;
	o->backoff_base_ms = 500;
	o->backoff_max_ms = 30000;
	o->max_body = PB_HTTP_DEFAULT_MAX_BODY;
	o->max_parallel = 16;
	o->ca_file = getenv("PARCELBOT_CA_FILE");
	if (o->ca_file && !*o->ca_file)
		o->ca_file = NULL;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void share_lock(CURL *easy, curl_lock_data data, curl_lock_access access, void *ud)
{
	pb_http *h = ud;

	(void)easy;
	(void)access;
	if ((unsigned)data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&h->share_locks[data]);
}

static void share_unlock(CURL *easy, curl_lock_data data, void *ud)
{
	pb_http *h = ud;

	(void)easy;
	if ((unsigned)data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&h->share_locks[data]);
}

pb_err pb_http_new(const pb_http_opts *o, pb_http **out, pb_errbuf *eb)
{
	pb_http *h;
	pb_err err;
	int i;
	char ua[64];

	if (o->connect_timeout_ms <= 0 || o->timeout_ms <= 0 || o->backoff_base_ms < 0 ||
	    o->backoff_max_ms < 0 || o->max_body == 0)
		return pb_errf(eb, PB_EINVAL, "HTTP client: timeouts and the body cap must be positive");
	/* libcurl counts its global initialisations, so every client can
	 * take one and give it back in pb_http_free. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return pb_errf(eb, PB_EHTTP, "HTTP client: libcurl failed to initialise");
	h = calloc(1, sizeof *h);
	if (!h) {
		curl_global_cleanup();
		return pb_errf(eb, PB_ENOMEM, "out of memory");
	}
	h->o = *o;
	if (!h->o.max_parallel)
		h->o.max_parallel = 16;
	snprintf(ua, sizeof ua, "parcelbot/%s", PB_VERSION);
	h->user_agent = strdup(o->user_agent ? o->user_agent : ua);
	h->ca_file = o->ca_file ? strdup(o->ca_file) : NULL;
	h->o.user_agent = h->user_agent;
	h->o.ca_file = h->ca_file;
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&h->share_locks[i], NULL);
	pthread_mutex_init(&h->pool_lock, NULL);
	h->seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)h;
	h->share = curl_share_init();
	if (!h->user_agent || (o->ca_file && !h->ca_file) || !h->share) {
		err = pb_errf(eb, PB_ENOMEM, "out of memory");
		goto fail;
	}
	/* Connections are not shared here: libcurl does not support one
	 * connection cache used from several threads at once (see http.h). */
	if (curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, share_lock) ||
	    curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, share_unlock) ||
	    curl_share_setopt(h->share, CURLSHOPT_USERDATA, h) ||
	    curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) ||
	    curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION)) {
		err = pb_errf(eb, PB_EHTTP, "HTTP client: libcurl share setup failed");
		goto fail;
	}
	*out = h;
	return PB_OK;
fail:
	pb_http_free(h);
	return err;
}

void pb_http_free(pb_http *h)
{
	size_t i;
	int k;

	if (!h)
		return;
	for (i = 0; i < h->n_pool; i++)
		curl_multi_cleanup(h->pool[i]);
	if (h->share)
		curl_share_cleanup(h->share);
	for (k = 0; k < CURL_LOCK_DATA_LAST; k++)
		pthread_mutex_destroy(&h->share_locks[k]);
	pthread_mutex_destroy(&h->pool_lock);
	free(h->user_agent);
	free(h->ca_file);
	free(h);
	curl_global_cleanup();
}

void pb_http_req_release(pb_http_req *r)
{
	pb_buf_release(&r->resp);
}

static CURLM *pool_get(pb_http *h)
{
	CURLM *m = NULL;

	pthread_mutex_lock(&h->pool_lock);
	if (h->n_pool)
		m = h->pool[--h->n_pool];
	pthread_mutex_unlock(&h->pool_lock);
	return m ? m : curl_multi_init();
}

static void pool_put(pb_http *h, CURLM *m)
{
	pthread_mutex_lock(&h->pool_lock);
	if (h->n_pool < POOL_SIZE) {
		h->pool[h->n_pool++] = m;
		m = NULL;
	}
	pthread_mutex_unlock(&h->pool_lock);
	if (m)
		curl_multi_cleanup(m);
}

/* --- messages ------------------------------------------------------- */

void pb_http_redact(char *s, size_t size, const char *const *secrets)
{
	char tmp[1024];
	size_t i, o, sl;
	const char *const *sp;
	bool hit;

	if (!s || !secrets || size == 0)
		return;
	for (sp = secrets; *sp; sp++) {
		sl = strlen(*sp);
		/* A secret of a few characters protects nothing and would
		 * shred every message it occurs in. */
		if (sl < PB_HTTP_REDACT_MIN || !strstr(s, *sp))
			continue;
		o = 0;
		hit = false;
		for (i = 0; s[i] && o + 4 < sizeof tmp;) {
			if (!strncmp(s + i, *sp, sl)) {
				memcpy(tmp + o, "***", 3);
				o += 3;
				i += sl;
				hit = true;
			} else {
				tmp[o++] = s[i++];
			}
		}
		tmp[o] = '\0';
		if (hit)
			snprintf(s, size, "%s", tmp);
	}
}

void pb_http_describe(const char *method, const char *url, char *out, size_t n)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, *path = NULL;

	if (!method)
		method = "GET";
	if (!u || curl_url_set(u, CURLUPART_URL, url ? url : "", 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0)) {
		snprintf(out, n, "%s (unparsable URL)", method);
		goto out;
	}
	curl_url_get(u, CURLUPART_PORT, &port, 0);
	curl_url_get(u, CURLUPART_PATH, &path, 0);
	snprintf(out, n, "%s %s%s%s%s", method, host, port ? ":" : "", port ? port : "",
		 path ? path : "/");
out:
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
}

static void url_query(const char *url, char *out, size_t n)
{
	CURLU *u = curl_url();
	char *q = NULL;

	out[0] = '\0';
	if (u && !curl_url_set(u, CURLUPART_URL, url, 0) &&
	    !curl_url_get(u, CURLUPART_QUERY, &q, 0) && q)
		snprintf(out, n, "%s", q);
	curl_free(q);
	curl_url_cleanup(u);
}

static pb_err xfer_fail(xfer *x, pb_err code, const char *fmt, ...) PB_PRINTF(3, 4);

/* Sets the request's outcome: "<what>: <message>", redacted. */
static pb_err xfer_fail(xfer *x, pb_err code, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(x->r->eb.msg, sizeof x->r->eb.msg, "%.150s: %.350s", x->what, msg);
	pb_http_redact(x->r->eb.msg, sizeof x->r->eb.msg, x->r->secrets);
	x->r->err = code;
	return code;
}

/* --- Retry-After ---------------------------------------------------- */

long pb_http_parse_retry_after(const char *v, long long now)
{
	char *end;
	long long secs;
	time_t t;

	if (!v)
		return -1;
	while (*v == ' ' || *v == '\t')
		v++;
	if (*v >= '0' && *v <= '9') {
		secs = strtoll(v, &end, 10);
		while (*end == ' ' || *end == '\t')
			end++;
		if (*end || secs < 0)
			return -1;
		return secs > 86400 * 365 ? 86400 * 365 : (long)secs;
	}
	/* curl_getdate reads the three date forms RFC 9110 allows. A date
	 * needs a weekday name, so a stray word is not taken as one. */
	if (!isalpha((unsigned char)*v))
		return -1;
	t = curl_getdate(v, NULL);
	if (t == -1)
		return -1;
	if ((long long)t <= now)
		return 0;
	return (long long)t - now > 86400 * 365 ? 86400 * 365 : (long)((long long)t - now);
}

/* --- transfer callbacks -------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	xfer *x = ud;
	size_t n = size * nmemb;
	pb_err err;

	err = pb_buf_append(&x->r->resp, p, n);
	if (err == PB_ETOOBIG) {
		x->too_big = true;
		return 0; /* anything but n makes libcurl abort the transfer */
	}
	if (err) {
		x->oom = true;
		return 0;
	}
	return n;
}

static void trim_copy(char *dst, size_t n, const char *src, size_t len)
{
	while (len && (*src == ' ' || *src == '\t')) {
		src++;
		len--;
	}
	while (len && (src[len - 1] == '\r' || src[len - 1] == '\n' || src[len - 1] == ' ' ||
		       src[len - 1] == '\t'))
		len--;
	if (len >= n)
		len = n - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	xfer *x = ud;
	size_t n = size * nmemb;
	char val[128];

	/* A status line starts a new answer (after a 100 Continue, say):
	 * forget what the previous one said. */
	if (n >= 5 && !strncmp(p, "HTTP/", 5)) {
		x->r->content_type[0] = '\0';
		x->r->retry_after = -1;
	} else if (n > 12 && !strncasecmp(p, "Retry-After:", 12)) {
		trim_copy(val, sizeof val, p + 12, n - 12);
		x->r->retry_after = pb_http_parse_retry_after(val, (long long)time(NULL));
	} else if (n > 13 && !strncasecmp(p, "Content-Type:", 13)) {
		trim_copy(x->r->content_type, sizeof x->r->content_type, p + 13, n - 13);
	}
	return n;
}

/* --- one batch ------------------------------------------------------ */

static bool method_ok(const char *m)
{
	size_t i;

	for (i = 0; m[i]; i++)
		if (m[i] < 'A' || m[i] > 'Z' || i >= 16)
			return false;
	return i > 0;
}

static bool method_idempotent(const char *m)
{
	return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "PUT") ||
	       !strcmp(m, "DELETE") || !strcmp(m, "OPTIONS");
}

/* Creates the easy handle with everything that stays the same between
 * attempts. */
static pb_err xfer_setup(pb_http *h, xfer *x)
{
	pb_http_req *r = x->r;
	const char *m = r->method ? r->method : "GET";
	struct curl_slist *l;
	CURL *e;
	size_t i;

	if (!r->url || (strncasecmp(r->url, "http://", 7) && strncasecmp(r->url, "https://", 8)))
		return xfer_fail(x, PB_EINVAL, "only http:// and https:// URLs are allowed");
	if (!method_ok(m))
		return xfer_fail(x, PB_EINVAL, "invalid method");
	for (i = 0; r->headers && r->headers[i]; i++) {
		if (i >= MAX_HEADERS || strpbrk(r->headers[i], "\r\n") || !strchr(r->headers[i], ':'))
			return xfer_fail(x, PB_EINVAL, "invalid request header");
		if (!(l = curl_slist_append(x->hdrs, r->headers[i])))
			return xfer_fail(x, PB_ENOMEM, "out of memory");
		x->hdrs = l;
	}
	/* No "Expect: 100-continue" round trip before POST bodies. */
	if (!(l = curl_slist_append(x->hdrs, "Expect:")))
		return xfer_fail(x, PB_ENOMEM, "out of memory");
	x->hdrs = l;
	e = x->easy = curl_easy_init();
	if (!e)
		return xfer_fail(x, PB_ENOMEM, "out of memory");
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_SHARE, h->share);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_file);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, h->o.connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, h->o.timeout_ms);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, h->user_agent);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
	/* Decompressed bytes pass through on_body, so the cap also holds
	 * against a small compressed body that inflates hugely. */
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->cap);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->curl_err);
	if (curl_easy_setopt(e, CURLOPT_URL, r->url) != CURLE_OK)
		return xfer_fail(x, PB_EINVAL, "the URL is malformed");
	if (!strcmp(m, "HEAD")) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(m, "POST")) {
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body ? r->body : "");
	} else if (strcmp(m, "GET")) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
		if (r->body) {
			curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
			curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
		}
	}
	return PB_OK;
}

static bool attempt_start(CURLM *m, xfer *x)
{
	pb_buf_reset(&x->r->resp);
	x->r->content_type[0] = '\0';
	x->r->retry_after = -1;
	x->r->status = 0;
	x->too_big = x->oom = false;
	x->curl_err[0] = '\0';
	if (curl_multi_add_handle(m, x->easy) != CURLM_OK) {
		xfer_fail(x, PB_EHTTP, "libcurl could not start the transfer");
		return false;
	}
	x->in_flight = true;
	return true;
}

static unsigned rng_next(unsigned *s)
{
	unsigned x = *s ? *s : 0x9e3779b9u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

/* The wait before retry number k (1-based): base * 2^(k-1), capped, then
 * "equal jitter" (half fixed, half random) so that clients failing together
 * do not come back together. */
static long backoff_ms(const pb_http *h, unsigned k, unsigned *rng)
{
	long d = h->o.backoff_base_ms, half;
	unsigned i;

	for (i = 1; i < k && d < h->o.backoff_max_ms; i++)
		d *= 2;
	if (d > h->o.backoff_max_ms)
		d = h->o.backoff_max_ms;
	half = d / 2;
	return half + (long)(rng_next(rng) % (unsigned long)(d - half + 1));
}

static const char *curl_reason(xfer *x, CURLcode res)
{
	/* libcurl's detailed message names the host at most; if it ever
	 * quoted the query string, fall back to the generic text. */
	if (x->curl_err[0] && !(x->query[0] && strstr(x->curl_err, x->query)))
		return x->curl_err;
	return curl_easy_strerror(res);
}

/* Looks at a finished attempt: either the request is done (err set) or it is
 * scheduled again. */
static void attempt_done(pb_http *h, xfer *x, CURLcode res, unsigned *rng)
{
	pb_http_req *r = x->r;
	long status = 0, conns = 0, sent = 0, wait;
	bool retry = false;
	pb_err err = PB_OK;
	char why[CURL_ERROR_SIZE + 64];

	r->attempts++;
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &conns);
	curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &sent);
	r->status = status;
	r->new_connections += conns;
	why[0] = '\0';
	if (res == CURLE_OK) {
		if (status == 429) {
			err = PB_ERATELIMIT;
			retry = true; /* the server refused it: safe for any method */
			snprintf(why, sizeof why, "HTTP 429 (rate limited)");
		} else if (status == 408 || status >= 500) {
			err = PB_EUPSTREAM;
			retry = x->idempotent;
			snprintf(why, sizeof why, "HTTP %ld", status);
		} else if (status >= 200 && status < 300 && r->retry_if &&
			   r->retry_if(status, &r->resp, r->retry_ud)) {
			err = PB_EUPSTREAM;
			retry = true;
			snprintf(why, sizeof why, "the service answered \"busy, try again\"");
		}
	} else if (x->too_big || res == CURLE_FILESIZE_EXCEEDED) {
		err = PB_ETOOBIG;
		snprintf(why, sizeof why, "response body larger than %zu bytes; transfer aborted",
			 x->cap);
		/* Nothing of an oversized body is handed on. */
		pb_buf_release(&r->resp);
		pb_buf_init(&r->resp, x->cap);
	} else if (x->oom) {
		err = PB_ENOMEM;
		snprintf(why, sizeof why, "out of memory");
	} else {
		switch (res) {
		case CURLE_OPERATION_TIMEDOUT:
			err = PB_ETIMEOUT;
			retry = x->idempotent || !sent;
			break;
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
		case CURLE_COULDNT_CONNECT:
			err = PB_EHTTP;
			retry = true;
			break;
		case CURLE_GOT_NOTHING:
		case CURLE_SEND_ERROR:
		case CURLE_RECV_ERROR:
		case CURLE_PARTIAL_FILE:
		case CURLE_HTTP2:
		case CURLE_HTTP2_STREAM:
		case CURLE_WEIRD_SERVER_REPLY:
			err = PB_EHTTP;
			/* A request that never left cannot have been acted on,
			 * so even a POST may go again then. */
			retry = x->idempotent || !sent;
			break;
		case CURLE_URL_MALFORMAT:
		case CURLE_UNSUPPORTED_PROTOCOL:
			err = PB_EINVAL;
			break;
		default:
			/* TLS and certificate failures among them: trying again
			 * would only fail again. */
			err = PB_EHTTP;
			break;
		}
		snprintf(why, sizeof why, "%s", curl_reason(x, res));
	}
	if (!err) {
		r->err = PB_OK;
		r->eb.msg[0] = '\0';
		x->done = true;
		return;
	}
	if (retry && r->attempts <= h->o.retries) {
		wait = backoff_ms(h, r->attempts, rng);
		if (r->retry_after >= 0) {
			if (r->retry_after * 1000 > h->o.backoff_max_ms) {
				xfer_fail(x, err, "%s; asked to retry after %ld s, longer than the %ld s allowed",
					  why, r->retry_after, h->o.backoff_max_ms / 1000);
				x->done = true;
				return;
			}
			if (r->retry_after * 1000 > wait)
				wait = r->retry_after * 1000;
		}
		x->next_at = now_ms() + wait;
		return;
	}
	if (r->attempts > 1)
		xfer_fail(x, err, "%s (gave up after %u attempts)", why, r->attempts);
	else
		xfer_fail(x, err, "%s", why);
	x->done = true;
}

pb_err pb_http_perform(pb_http *h, pb_http_req *reqs, size_t n)
{
	xfer *xs = NULL;
	CURLM *m = NULL;
	CURLMsg *msg;
	size_t i, remaining = n, in_flight;
	long long start = now_ms(), now, next;
	unsigned rng;
	int running, left;
	pb_err err = PB_OK;

	if (!n)
		return PB_OK;
	for (i = 0; i < n; i++) {
		pb_buf_release(&reqs[i].resp);
		reqs[i].err = PB_OK;
		reqs[i].eb.msg[0] = '\0';
		reqs[i].status = 0;
		reqs[i].content_type[0] = '\0';
		reqs[i].retry_after = -1;
		reqs[i].attempts = 0;
		reqs[i].new_connections = 0;
		reqs[i].elapsed_ms = 0;
	}
	xs = calloc(n, sizeof *xs);
	m = pool_get(h);
	if (!xs || !m) {
		err = PB_ENOMEM;
		for (i = 0; i < n; i++)
			reqs[i].err = pb_errf(&reqs[i].eb, PB_ENOMEM, "out of memory");
		goto out;
	}
	rng = h->seed ^ (unsigned)start ^ (unsigned)(uintptr_t)xs;
	for (i = 0; i < n; i++) {
		xfer *x = &xs[i];
		pb_http_req *r = &reqs[i];
		const char *meth = r->method ? r->method : "GET";
		x->r = r;
		x->cap = r->max_body ? r->max_body : h->o.max_body;
		pb_buf_init(&r->resp, x->cap);
		x->idempotent = r->idempotent || method_idempotent(meth);
		pb_http_describe(meth, r->url, x->what, sizeof x->what);
		pb_http_redact(x->what, sizeof x->what, r->secrets);
		url_query(r->url ? r->url : "", x->query, sizeof x->query);
		x->next_at = start;
		if (xfer_setup(h, x)) {
			x->done = true;
			remaining--;
		}
	}
	in_flight = 0;
	while (remaining) {
		now = now_ms();
		for (i = 0; i < n && in_flight < h->o.max_parallel; i++) {
			xfer *x = &xs[i];
			if (x->done || x->in_flight || x->next_at > now)
				continue;
			if (attempt_start(m, x)) {
				in_flight++;
			} else {
				x->done = true;
				x->r->elapsed_ms = (long)(now - start);
				remaining--;
			}
		}
		if (curl_multi_perform(m, &running) != CURLM_OK) {
			err = PB_EHTTP;
			break;
		}
		while ((msg = curl_multi_info_read(m, &left))) {
			xfer *x;
			char *priv = NULL;
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
			x = (xfer *)priv;
			curl_multi_remove_handle(m, msg->easy_handle);
			x->in_flight = false;
			in_flight--;
			attempt_done(h, x, msg->data.result, &rng);
			if (x->done) {
				x->r->elapsed_ms = (long)(now_ms() - start);
				remaining--;
			}
		}
		if (!remaining)
			break;
		/* Sleep until a transfer needs attention or a retry is due;
		 * curl_multi_poll also wakes for libcurl's own timers. */
		now = now_ms();
		next = now + 1000;
		for (i = 0; i < n; i++)
			if (!xs[i].done && !xs[i].in_flight && xs[i].next_at < next)
				next = xs[i].next_at;
		if (next > now && curl_multi_poll(m, NULL, 0, (int)(next - now), NULL) != CURLM_OK) {
			err = PB_EHTTP;
			break;
		}
	}
out:
	for (i = 0; xs && i < n; i++) {
		xfer *x = &xs[i];
		if (x->easy) {
			if (x->in_flight)
				curl_multi_remove_handle(m, x->easy);
			curl_easy_cleanup(x->easy);
		}
		curl_slist_free_all(x->hdrs);
		if (err && !x->done) {
			xfer_fail(x, err, "%s", err == PB_ENOMEM ? "out of memory" : "libcurl failed");
			x->r->elapsed_ms = (long)(now_ms() - start);
		}
	}
	free(xs);
	if (m) {
		if (err)
			curl_multi_cleanup(m);
		else
			pool_put(h, m);
	}
	return err;
}
