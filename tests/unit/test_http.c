/*
 * The HTTP client against the in-process sandbox on loopback: retries with
 * backoff, Retry-After in both forms, timeouts, the body cap (by
 * Content-Length and while streaming), dropped connections, concurrency (a
 * retrying request must not hold up the others), connection reuse, TLS
 * refusing a server that does not speak it, and secrets kept out of
 * messages.
 */
#include "trackutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parcelbot/http.h"

static pb_sandbox *sb;

static int setup(void **state)
{
	(void)state;
	sb = tt_sandbox();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pb_sandbox_stop(sb);
	return 0;
}

static int reset(void **state)
{
	(void)state;
	pb_sandbox_reset(sb);
	return 0;
}

/* A client with fast backoff; tweak lets a test change options first. */
static pb_http *client(long timeout_ms, unsigned retries, long backoff_max_ms)
{
	pb_http_opts o;
	pb_http *h = NULL;
	pb_errbuf eb;

	pb_http_opts_init(&o);
	o.connect_timeout_ms = 1000;
	o.timeout_ms = timeout_ms;
	o.retries = retries;
	o.backoff_base_ms = 10;
	o.backoff_max_ms = backoff_max_ms;
	if (pb_http_new(&o, &h, &eb))
		fail_msg("%s", eb.msg);
	return h;
}

static void get_and_post(void **state)
{
	pb_http *h = client(2000, 2, 3000);
	pb_http_req r[2] = {{0}};
	char url[128];
	static const char *const hdrs[] = {"Content-Type: text/plain", NULL};

	(void)state;
	r[0].url = tt_url(sb, "/_sandbox/echo", url, sizeof url);
	r[1].url = url;
	r[1].method = "POST";
	r[1].headers = hdrs;
	r[1].body = "hello body";
	r[1].body_len = 10;
	assert_int_equal(pb_http_perform(h, r, 2), PB_OK);
	assert_int_equal(r[0].err, PB_OK);
	assert_int_equal(r[0].status, 200);
	assert_non_null(strstr(pb_buf_str(&r[0].resp), "\"method\":\"GET\""));
	assert_non_null(strstr(r[0].content_type, "application/json"));
	assert_int_equal(r[0].attempts, 1);
	assert_int_equal(r[0].retry_after, -1);
	assert_int_equal(r[1].err, PB_OK);
	assert_non_null(strstr(pb_buf_str(&r[1].resp), "\"body\":\"hello body\""));
	pb_http_req_release(&r[0]);
	pb_http_req_release(&r[1]);
	pb_http_free(h);
}

static void retries_5xx_then_succeeds(void **state)
{
	pb_http *h = client(2000, 3, 3000);
	pb_http_req r = {0};
	char url[128];

	(void)state;
	tt_fault(sb, "{\"route\":\"echo\",\"status\":500,\"times\":2}");
	r.url = tt_url(sb, "/_sandbox/echo", url, sizeof url);
	pb_http_perform(h, &r, 1);
	assert_int_equal(r.err, PB_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.attempts, 3);
	assert_int_equal(pb_sandbox_count(sb, "echo"), 3);
	pb_http_req_release(&r);
	pb_http_free(h);
}

static void gives_up_after_the_retries(void **state)
{
	pb_http *h = client(2000, 2, 3000);
	pb_http_req r = {0};
	char url[128];

	(void)state;
	tt_fault(sb, "{\"route\":\"echo\",\"status\":503,\"times\":0}");
	r.url = tt_url(sb, "/_sandbox/echo?page=1", url, sizeof url);
	pb_http_perform(h, &r, 1);
	assert_int_equal(r.err, PB_EUPSTREAM);
	assert_int_equal(r.status, 503);
	assert_int_equal(r.attempts, 3);
	assert_non_null(strstr(r.eb.msg, "GET 127.0.0.1:"));
	assert_non_null(strstr(r.eb.msg, "/_sandbox/echo: HTTP 503 (gave up after 3 attempts)"));
	assert_null(strstr(r.eb.msg, "page=1"));
	/* The body of the last answer is kept for the caller. */
	assert_non_null(strstr(pb_buf_str(&r.resp), "Injected failure"));
	pb_http_req_release(&r);
	pb_http_free(h);
}

static void post_is_not_resent_after_a_5xx(void **state)
{
	pb_http *h = client(2000, 3, 3000);
	pb_http_req r = {0};
	char url[128];

	(void)state;
	tt_fault(sb, "{\"route\":\"echo\",\"status\":500,\"times\":1}");
	r.url = tt_url(sb, "/_sandbox/echo", url, sizeof url);
	r.method = "POST";
	r.body = "{}";
	r.body_len = 2;
	pb_http_perform(h, &r, 1);
	assert_int_equal(r.err, PB_EUPSTREAM);
	assert_int_equal(r.attempts, 1);
	/* ...but a 429 means the server did not act on it: resend. */
	tt_fault(sb, "{\"route\":\"echo\",\"status\":429,\"times\":1}");
	pb_http_perform(h, &r, 1);
	assert_int_equal(r.err, PB_OK);
	assert_int_equal(r.attempts, 2);
	pb_http_req_release(&r);
	pb_http_free(h);
}

static void honours_retry_after_seconds(void **state)
{
	pb_http *h = client(2000, 2, 5000);
	pb_http_req r = {0};
	char url[128];
	long long t0;

	(void)state;
	tt_fault(sb, "{\"route\":\"echo\",\"status\":429,\"retry_after\":\"1\"}");
	r.url = tt_url(sb, "/_sandbox/echo", url, sizeof url);
	t0 = tt_ms();
	pb_http_perform(h, &r, 1);
	assert_int_equal(r.err, PB_OK);
	assert_int_equal(r.attempts, 2);
	assert_true(tt_ms() - t0 >= 1000);
	pb_http_req_release(&r);
	pb_http_free(h);
}

static void honours_retry_after_date(void **state)
{
	pb_http *h = client(2000, 2, 5000);
	pb_http_req r = {0};
	char url[128], fault[256], date[64];
	time_t when = time(NULL) + 2;
	struct tm tm;
	long long t0;

	(void)state;
	gmtime_r(&when, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	snprintf(fault, sizeof fault,
		 "{\"route\":\"echo\",\"status\":503,\"retry_after\":\"%s\"}", date);
	tt_fault(sb, fault);
	r.url = tt_url(sb, "/_sandbox/echo", url, sizeof url);
	t0 = tt_ms();
	pb_http_perform(h, &r, 1);
	assert_int_equal(r.err, PB_OK);
	assert_int_equal(r.attempts, 2);
	/* Whole seconds: the date is 1 to 2 s ahead when it is read. */
	assert_true(tt_ms() - t0 >= 900);
	pb_http_req_release(&r);
	pb_http_free(h);
}

static void retry_after_longer_than_allowed_gives_up(void **state)
{
	pb_http *h = client(2000, 3, 2000);
	pb_http_req r = {0};
	char url[128];
	long long t0;

	(void)state;
	tt_fault(sb, "{\"route\":\"echo\",\"status\":429,\"retry_after\":120}");
	r.url = tt_url(sb, "/_sandbox/echo", url, sizeof url);
	t0 = tt_ms();
	pb_http_perform(h, &r, 1);
	assert_int_equal(r.err, PB_ERATELIMIT);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(r.retry_after, 120);
	assert_non_null(strstr(r.eb.msg, "retry after 120 s"));
	assert_true(tt_ms() - t0 < 1000);
	pb_http_req_release(&r);
	pb_http_free(h);
}

static void times_out(void **state)
{
	pb_http *h = client(200, 1, 3000);
	pb_http_req r = {0};
	char url[128];
	long long t0;

	(void)state;
	tt_fault(sb, "{\"route\":\"echo\",\"latency_ms\":3000,\"times\":0}");
	r.url = tt_url(sb, "/_sandbox/echo", url, sizeof url);
	t0 = tt_ms();
	pb_http_perform(h, &r, 1);
	assert_int_equal(r.err, PB_ETIMEOUT);
	assert_int_equal(r.attempts, 2);
	assert_int_equal(r.status, 0);
	assert_true(tt_ms() - t0 < 2000);
	assert_non_null(strstr(r.eb.msg, "gave up after 2 attempts"));
	pb_http_req_release(&r);
	pb_http_free(h);
}

static void oversized_body_is_refused(void **state, bool chunked)
{
	pb_http *h = client(5000, 3, 3000);
	pb_http_req r = {0};
	char url[128], fault[128];
	long long t0;

	(void)state;
	snprintf(fault, sizeof fault,
		 "{\"route\":\"echo\",\"action\":\"huge\",\"bytes\":52428800,\"chunked\":%s}",
		 chunked ? "true" : "false");
	tt_fault(sb, fault);
	r.url = tt_url(sb, "/_sandbox/echo", url, sizeof url);
	r.max_body = 1 << 20;
	t0 = tt_ms();
	pb_http_perform(h, &r, 1);
	assert_int_equal(r.err, PB_ETOOBIG);
	assert_int_equal(r.attempts, 1);
	/* Nothing of it is kept, and the transfer stopped early. */
	assert_int_equal(r.resp.len, 0);
	assert_true(r.resp.cap <= (size_t)2 << 20);
	assert_true(tt_ms() - t0 < 3000);
	assert_non_null(strstr(r.eb.msg, "larger than 1048576 bytes"));
	pb_http_req_release(&r);
	pb_http_free(h);
}

static void oversized_by_content_length(void **state)
{
	oversized_body_is_refused(state, false);
}

static void oversized_while_streaming(void **state)
{
	oversized_body_is_refused(state, true);
}

static void dropped_connection_is_retried(void **state)
{
	pb_http *h = client(2000, 2, 3000);
	pb_http_req r = {0};
	char url[128];

	(void)state;
	tt_fault(sb, "{\"route\":\"echo\",\"action\":\"drop\"}");
	r.url = tt_url(sb, "/_sandbox/echo", url, sizeof url);
	pb_http_perform(h, &r, 1);
	assert_int_equal(r.err, PB_OK);
	assert_int_equal(r.attempts, 2);
	assert_non_null(strstr(pb_buf_str(&r.resp), "\"method\":\"GET\""));
	pb_http_req_release(&r);
	pb_http_free(h);
}

static void batch_runs_concurrently(void **state)
{
	pb_http *h = client(3000, 0, 3000);
	pb_http_req r[6] = {{0}};
	char url[128];
	long long t0;
	size_t i;

	(void)state;
	tt_fault(sb, "{\"route\":\"echo\",\"latency_ms\":400,\"times\":0}");
	tt_url(sb, "/_sandbox/echo", url, sizeof url);
	for (i = 0; i < 6; i++)
		r[i].url = url;
	t0 = tt_ms();
	assert_int_equal(pb_http_perform(h, r, 6), PB_OK);
	/* One after the other would take 2.4 s. */
	assert_true(tt_ms() - t0 < 2000);
	for (i = 0; i < 6; i++) {
		assert_int_equal(r[i].err, PB_OK);
		pb_http_req_release(&r[i]);
	}
	pb_http_free(h);
}

static void parallelism_is_capped(void **state)
{
	pb_http_opts o;
	pb_http *h = NULL;
	pb_http_req r[4] = {{0}};
	pb_errbuf eb;
	char url[128];
	long long t0;
	size_t i;

	(void)state;
	pb_http_opts_init(&o);
	o.max_parallel = 2;
	o.retries = 0;
	assert_int_equal(pb_http_new(&o, &h, &eb), PB_OK);
	tt_fault(sb, "{\"route\":\"echo\",\"latency_ms\":300,\"times\":0}");
	tt_url(sb, "/_sandbox/echo", url, sizeof url);
	for (i = 0; i < 4; i++)
		r[i].url = url;
	t0 = tt_ms();
	assert_int_equal(pb_http_perform(h, r, 4), PB_OK);
	/* Two rounds of two; the waiting ones did not time out meanwhile. */
	assert_true(tt_ms() - t0 >= 600);
	for (i = 0; i < 4; i++) {
		assert_int_equal(r[i].err, PB_OK);
		pb_http_req_release(&r[i]);
	}
	pb_http_free(h);
}

typedef struct thread_arg {
	pb_http *h;
	const char *url;
	int ok;
} thread_arg;

static void *hammer(void *p)
{
	thread_arg *a = p;
	pb_http_req r[3] = {{0}};
	int round;
	size_t i;

	for (round = 0; round < 10; round++) {
		for (i = 0; i < 3; i++)
			r[i].url = a->url;
		pb_http_perform(a->h, r, 3);
		for (i = 0; i < 3; i++) {
			a->ok += r[i].err == PB_OK && r[i].status == 200;
			pb_http_req_release(&r[i]);
		}
	}
	return NULL;
}

static void one_client_many_threads(void **state)
{
	/* A long timeout: under valgrind on a busy machine an answer can take
	 * seconds, and a timed-out GET is sent again, counted twice below. */
	pb_http *h = client(30000, 1, 3000);
	pthread_t th[4];
	thread_arg a[4];
	char url[128];
	size_t i;

	(void)state;
	tt_url(sb, "/_sandbox/echo", url, sizeof url);
	for (i = 0; i < 4; i++) {
		a[i] = (thread_arg){h, url, 0};
		assert_int_equal(pthread_create(&th[i], NULL, hammer, &a[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(a[i].ok, 30);
	}
	assert_int_equal(pb_sandbox_count(sb, "echo"), 120);
	pb_http_free(h);
}

static void retrying_request_does_not_block_the_batch(void **state)
{
	pb_http *h = client(3000, 2, 5000);
	pb_http_req r[2] = {{0}};
	char u0[128], u1[128];

	(void)state;
	tt_fault(sb, "{\"route\":\"kuaidi100.query\",\"status\":429,\"retry_after\":\"1\"}");
	r[0].url = tt_url(sb, "/poll/query.do", u0, sizeof u0);
	r[0].method = "POST";
	r[0].body = "";
	r[1].url = tt_url(sb, "/_sandbox/echo", u1, sizeof u1);
	pb_http_perform(h, r, 2);
	assert_int_equal(r[0].err, PB_OK);
	assert_int_equal(r[0].attempts, 2);
	assert_true(r[0].elapsed_ms >= 1000);
	assert_int_equal(r[1].err, PB_OK);
	assert_true(r[1].elapsed_ms < 900);
	pb_http_req_release(&r[0]);
	pb_http_req_release(&r[1]);
	pb_http_free(h);
}

static void connections_are_reused(void **state)
{
	pb_http *h = client(2000, 0, 3000);
	pb_http_req r = {0};
	char url[128];

	(void)state;
	r.url = tt_url(sb, "/_sandbox/echo", url, sizeof url);
	pb_http_perform(h, &r, 1);
	assert_int_equal(r.err, PB_OK);
	assert_int_equal(r.new_connections, 1);
	pb_http_perform(h, &r, 1);
	assert_int_equal(r.err, PB_OK);
	assert_int_equal(r.new_connections, 0);
	pb_http_req_release(&r);
	pb_http_free(h);
}

static void body_fault_is_served_as_is(void **state)
{
	pb_http *h = client(2000, 2, 3000);
	pb_http_req r = {0};
	char url[128];

	(void)state;
	tt_fault(sb, "{\"route\":\"echo\",\"body\":\"{\\\"busy\\\":true}\",\"times\":1}");
	r.url = tt_url(sb, "/_sandbox/echo", url, sizeof url);
	r.retry_if = NULL;
	pb_http_perform(h, &r, 1);
	assert_int_equal(r.err, PB_OK);
	assert_string_equal(pb_buf_str(&r.resp), "{\"busy\":true}");
	pb_http_req_release(&r);
	pb_http_free(h);
}

static bool says_busy(long status, const pb_buf *body, void *ud)
{
	int *calls = ud;

	(void)status;
	(*calls)++;
	return strstr(pb_buf_str(body), "busy") != NULL;
}

static void retry_if_callback(void **state)
{
	pb_http *h = client(2000, 2, 3000);
	pb_http_req r = {0};
	char url[128];
	int calls = 0;

	(void)state;
	tt_fault(sb, "{\"route\":\"echo\",\"body\":\"{\\\"busy\\\":true}\",\"times\":1}");
	r.url = tt_url(sb, "/_sandbox/echo", url, sizeof url);
	r.retry_if = says_busy;
	r.retry_ud = &calls;
	pb_http_perform(h, &r, 1);
	assert_int_equal(r.err, PB_OK);
	assert_int_equal(r.attempts, 2);
	assert_int_equal(calls, 2);
	/* Busy every time: it gives up, saying why. */
	tt_fault(sb, "{\"route\":\"echo\",\"body\":\"{\\\"busy\\\":true}\",\"times\":0}");
	pb_http_perform(h, &r, 1);
	assert_int_equal(r.err, PB_EUPSTREAM);
	assert_int_equal(r.attempts, 3);
	assert_non_null(strstr(r.eb.msg, "busy"));
	pb_http_req_release(&r);
	pb_http_free(h);
}

static void secrets_stay_out_of_messages(void **state)
{
	static const char *const secrets[] = {"TOPSECRET", NULL};
	pb_http *h = client(500, 0, 3000);
	pb_http_req r = {0};
	static const char *const hdrs[] = {"Authorization: Bearer HEADERSECRET", NULL};

	(void)state;
	r.url = "http://user:PASSWORD@127.0.0.1:1/v1/TOPSECRET/x?token=QUERYSECRET";
	r.headers = hdrs;
	r.body = "BODYSECRET";
	r.body_len = 10;
	r.method = "POST";
	r.secrets = secrets;
	pb_http_perform(h, &r, 1);
	assert_int_equal(r.err, PB_EHTTP);
	assert_non_null(strstr(r.eb.msg, "POST 127.0.0.1:1/v1/***/x"));
	assert_null(strstr(r.eb.msg, "TOPSECRET"));
	assert_null(strstr(r.eb.msg, "QUERYSECRET"));
	assert_null(strstr(r.eb.msg, "HEADERSECRET"));
	assert_null(strstr(r.eb.msg, "BODYSECRET"));
	assert_null(strstr(r.eb.msg, "PASSWORD"));
	pb_http_req_release(&r);
	pb_http_free(h);
}

static void tls_is_verified(void **state)
{
	pb_http_opts o;
	pb_http *h = NULL;
	pb_http_req r = {0};
	char url[128];
	pb_errbuf eb;

	(void)state;
	/* Generous timeouts: setting up TLS (loading the CA store) can take
	 * seconds under valgrind, and a timeout would be retried. */
	pb_http_opts_init(&o);
	o.connect_timeout_ms = 20000;
	o.timeout_ms = 20000;
	o.retries = 3;
	o.backoff_base_ms = 10;
	o.backoff_max_ms = 3000;
	if (pb_http_new(&o, &h, &eb))
		fail_msg("%s", eb.msg);
	/* The sandbox speaks plain HTTP: a TLS handshake with it fails, and
	 * such a failure is not retried. */
	snprintf(url, sizeof url, "https://127.0.0.1:%u/_sandbox/echo", pb_sandbox_port(sb));
	r.url = url;
	pb_http_perform(h, &r, 1);
	assert_int_equal(r.err, PB_EHTTP);
	assert_int_equal(r.attempts, 1);
	pb_http_req_release(&r);
	pb_http_free(h);
}

static void bad_requests_are_refused(void **state)
{
	static const char *const bad_hdr[] = {"X-A: 1\r\nX-Injected: 2", NULL};
	pb_http *h = client(1000, 0, 3000);
	pb_http_req r[4] = {{0}};
	char url[128];
	size_t i;

	(void)state;
	r[0].url = "ftp://127.0.0.1/x";
	r[1].url = NULL;
	r[2].url = tt_url(sb, "/_sandbox/echo", url, sizeof url);
	r[2].headers = bad_hdr;
	r[3].url = url;
	r[3].method = "get me";
	assert_int_equal(pb_http_perform(h, r, 4), PB_OK);
	for (i = 0; i < 4; i++) {
		assert_int_equal(r[i].err, PB_EINVAL);
		assert_int_equal(r[i].attempts, 0);
		pb_http_req_release(&r[i]);
	}
	assert_int_equal(pb_sandbox_count(sb, NULL), 0);
	pb_http_free(h);
}

static void retry_after_values(void **state)
{
	long long now = 1445412480; /* Wed, 21 Oct 2015 07:28:00 GMT */

	(void)state;
	assert_int_equal(pb_http_parse_retry_after("120", now), 120);
	assert_int_equal(pb_http_parse_retry_after(" 5 ", now), 5);
	assert_int_equal(pb_http_parse_retry_after("0", now), 0);
	assert_int_equal(pb_http_parse_retry_after("-5", now), -1);
	assert_int_equal(pb_http_parse_retry_after("5s", now), -1);
	assert_int_equal(pb_http_parse_retry_after("", now), -1);
	assert_int_equal(pb_http_parse_retry_after("soon", now), -1);
	assert_int_equal(pb_http_parse_retry_after(NULL, now), -1);
	assert_int_equal(pb_http_parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now), 30);
	/* The two obsolete forms HTTP still allows. */
	assert_int_equal(pb_http_parse_retry_after("Wednesday, 21-Oct-15 07:29:00 GMT", now), 60);
	assert_int_equal(pb_http_parse_retry_after("Wed Oct 21 07:28:10 2015", now), 10);
	assert_int_equal(pb_http_parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), 0);
}

static void describe_and_redact(void **state)
{
	static const char *const secrets[] = {"s3cr3t", "", "c", "key", NULL};
	char buf[256];

	(void)state;
	pb_http_describe("POST", "https://api.17track.net/track/v2.2/register?x=1#f", buf, sizeof buf);
	assert_string_equal(buf, "POST api.17track.net/track/v2.2/register");
	pb_http_describe(NULL, "http://u:p@example.com:8080", buf, sizeof buf);
	assert_string_equal(buf, "GET example.com:8080/");
	pb_http_describe("GET", "not a url", buf, sizeof buf);
	assert_string_equal(buf, "GET (unparsable URL)");
	snprintf(buf, sizeof buf, "key s3cr3t and s3cr3ts3cr3t end");
	pb_http_redact(buf, sizeof buf, secrets);
	assert_string_equal(buf, "key *** and ****** end");
	/* Too short to be worth hiding, and hiding it would garble text. */
	snprintf(buf, sizeof buf, "could not connect");
	pb_http_redact(buf, sizeof buf, secrets);
	assert_string_equal(buf, "could not connect");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(retry_after_values),
		cmocka_unit_test(describe_and_redact),
		cmocka_unit_test_setup(get_and_post, reset),
		cmocka_unit_test_setup(retries_5xx_then_succeeds, reset),
		cmocka_unit_test_setup(gives_up_after_the_retries, reset),
		cmocka_unit_test_setup(post_is_not_resent_after_a_5xx, reset),
		cmocka_unit_test_setup(honours_retry_after_seconds, reset),
		cmocka_unit_test_setup(honours_retry_after_date, reset),
		cmocka_unit_test_setup(retry_after_longer_than_allowed_gives_up, reset),
		cmocka_unit_test_setup(times_out, reset),
		cmocka_unit_test_setup(oversized_by_content_length, reset),
		cmocka_unit_test_setup(oversized_while_streaming, reset),
		cmocka_unit_test_setup(dropped_connection_is_retried, reset),
		cmocka_unit_test_setup(batch_runs_concurrently, reset),
		cmocka_unit_test_setup(parallelism_is_capped, reset),
		cmocka_unit_test_setup(one_client_many_threads, reset),
		cmocka_unit_test_setup(retrying_request_does_not_block_the_batch, reset),
		cmocka_unit_test_setup(connections_are_reused, reset),
		cmocka_unit_test_setup(body_fault_is_served_as_is, reset),
		cmocka_unit_test_setup(retry_if_callback, reset),
		cmocka_unit_test_setup(secrets_stay_out_of_messages, reset),
		cmocka_unit_test_setup(tls_is_verified, reset),
		cmocka_unit_test_setup(bad_requests_are_refused, reset),
	};

	return cmocka_run_group_tests_name("http", tests, setup, teardown);
}
