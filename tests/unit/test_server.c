/*
 * Unit tests of the HTTP server, the metrics registry and the log: the
 * real server on a free loopback port, driven by parcelbot's own HTTP
 * client and, where a client would tidy the request up, by a raw socket.
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <cJSON.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "parcelbot/http.h"
#include "parcelbot/log.h"
#include "parcelbot/metrics.h"
#include "parcelbot/server.h"

typedef struct fixture {
	pb_server *s;
	pb_http *h;
	char base[64];
	int observed;
	int last_status;
	char last_route[64];
	int stream_left;
} fixture;

static void echo(void *ud, const pb_srv_req *rq, pb_srv_resp *rs)
{
	cJSON *j = cJSON_CreateObject(), *p = cJSON_AddArrayToObject(j, "params");
	size_t i;

	(void)ud;
	cJSON_AddStringToObject(j, "method", rq->method);
	cJSON_AddStringToObject(j, "path", rq->path);
	cJSON_AddStringToObject(j, "route", rq->route);
	cJSON_AddNumberToObject(j, "body_len", (double)rq->body_len);
	for (i = 0; i < rq->n_params; i++)
		cJSON_AddItemToArray(p, cJSON_CreateString(rq->params[i]));
	if (pb_srv_query(rq, "q"))
		cJSON_AddStringToObject(j, "q", pb_srv_query(rq, "q"));
	pb_srv_json(rs, 200, j);
	cJSON_Delete(j);
}

static void secret_route(void *ud, const pb_srv_req *rq, pb_srv_resp *rs)
{
	(void)ud;
	if (!pb_srv_bearer_ok(rq, "tok-123456"))
		pb_srv_error(rs, 401, "unauthorized", "a bearer token is required");
	else
		pb_srv_add_header(rs, "X-Ok", "yes");
}

static long stream_fn(void *ud, char *buf, size_t max)
{
	fixture *f = ud;

	if (f->stream_left == 0)
		return -1;
	f->stream_left--;
	return snprintf(buf, max, "data: %d\n\n", f->stream_left);
}

static void stream_route(void *ud, const pb_srv_req *rq, pb_srv_resp *rs)
{
	fixture *f = ud;

	(void)rq;
	f->stream_left = 3;
	rs->content_type = "text/event-stream";
	rs->stream = stream_fn;
	rs->stream_ud = f;
}

static void observe(void *ud, const char *route, const char *method, int status, double s)
{
	fixture *f = ud;

	(void)method;
	assert_true(s >= 0);
	f->observed++;
	f->last_status = status;
	snprintf(f->last_route, sizeof f->last_route, "%s", route);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	pb_srv_opts o;
	pb_http_opts ho;
	pb_errbuf eb;

	pb_srv_opts_init(&o);
	o.listen = "127.0.0.1:0";
	o.max_body = 1000;
	o.header_memory = 8 * 1024;
	assert_int_equal(pb_server_new(&o, &f->s, &eb), PB_OK);
	pb_server_route(f->s, "GET", "/things/{id}", echo, f);
	pb_server_route(f->s, "POST", "/things/{id}/notes/{n}", echo, f);
	pb_server_route(f->s, "POST", "/things/{id}", echo, f);
	pb_server_route(f->s, "GET", "/static/*", echo, f);
	pb_server_route(f->s, "GET", "/secret", secret_route, f);
	pb_server_route(f->s, "GET", "/events", stream_route, f);
	pb_server_observe(f->s, observe, f);
	assert_int_equal(pb_server_start(f->s, &eb), PB_OK);
	snprintf(f->base, sizeof f->base, "http://127.0.0.1:%u", pb_server_port(f->s));
	pb_http_opts_init(&ho);
	ho.retries = 0;
	assert_int_equal(pb_http_new(&ho, &f->h, &eb), PB_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	pb_http_free(f->h);
	pb_server_stop(f->s);
	free(f);
	return 0;
}

/* One request; the caller releases r. */
static void req(fixture *f, pb_http_req *r, const char *method, const char *path,
		const char *body, const char *const *headers)
{
	static char url[512];

	snprintf(url, sizeof url, "%s%s", f->base, path);
	memset(r, 0, sizeof *r);
	r->method = method;
	r->url = url;
	r->body = body;
	r->body_len = body ? strlen(body) : 0;
	r->headers = headers;
	assert_int_equal(pb_http_perform(f->h, r, 1), PB_OK);
}

/* Sends raw bytes and returns the status of the answer (0 when none). */
static int raw(fixture *f, const char *bytes)
{
	struct sockaddr_in a;
	char buf[4096];
	int fd, status = 0;
	ssize_t n, got = 0;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons(pb_server_port(f->s));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_true(write(fd, bytes, strlen(bytes)) == (ssize_t)strlen(bytes));
	while ((n = read(fd, buf + got, sizeof buf - 1 - (size_t)got)) > 0 &&
	       got + n < (ssize_t)sizeof buf - 1)
		got += n;
	buf[got > 0 ? got : 0] = '\0';
	close(fd);
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		status = 0;
	return status;
}

static void routes_and_params(void **state)
{
	fixture *f = *state;
	pb_http_req r;
	cJSON *j;

	req(f, &r, "GET", "/things/42?q=%E5%BF%AB%E9%80%92", NULL, NULL);
	assert_int_equal(r.status, 200);
	j = cJSON_Parse(pb_buf_str(&r.resp));
	assert_string_equal(cJSON_GetObjectItem(j, "route")->valuestring, "/things/{id}");
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "params"), 0)->valuestring,
			    "42");
	assert_string_equal(cJSON_GetObjectItem(j, "q")->valuestring, "快递");
	cJSON_Delete(j);
	assert_non_null(strstr(r.content_type, "application/json"));
	pb_http_req_release(&r);
	assert_int_equal(f->last_status, 200);
	assert_string_equal(f->last_route, "/things/{id}");

	req(f, &r, "POST", "/things/7/notes/3", "hello", NULL);
	assert_int_equal(r.status, 200);
	j = cJSON_Parse(pb_buf_str(&r.resp));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "params")), 2);
	assert_int_equal(cJSON_GetObjectItem(j, "body_len")->valueint, 5);
	cJSON_Delete(j);
	pb_http_req_release(&r);

	req(f, &r, "GET", "/static/css/app.css", NULL, NULL);
	j = cJSON_Parse(pb_buf_str(&r.resp));
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "params"), 0)->valuestring,
			    "css/app.css");
	cJSON_Delete(j);
	pb_http_req_release(&r);

	req(f, &r, "GET", "/nothing", NULL, NULL);
	assert_int_equal(r.status, 404);
	assert_non_null(strstr(pb_buf_str(&r.resp), "\"not_found\""));
	pb_http_req_release(&r);
	assert_int_equal(f->last_status, 404);
	assert_string_equal(f->last_route, "");

	/* An empty segment does not match {id}. */
	req(f, &r, "GET", "/things/", NULL, NULL);
	assert_int_equal(r.status, 404);
	pb_http_req_release(&r);
}

static void wrong_method_is_405(void **state)
{
	fixture *f = *state;
	pb_http_req r;

	req(f, &r, "DELETE", "/things/42", NULL, NULL);
	assert_int_equal(r.status, 405);
	pb_http_req_release(&r);
	assert_int_equal(raw(f, "PUT /things/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
				"Connection: close\r\n\r\n"),
			 405);
}

static void body_cap(void **state)
{
	fixture *f = *state;
	char big[1500];
	pb_http_req r;

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	req(f, &r, "POST", "/things/1", big, NULL);
	assert_int_equal(r.status, 413);
	assert_non_null(strstr(pb_buf_str(&r.resp), "too_large"));
	pb_http_req_release(&r);
	/* Chunked, so no Content-Length announces it. */
	assert_int_equal(raw(f, "POST /things/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
				"Connection: close\r\n\r\n"
				"3e8\r\n"
				"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				"\r\n"
				"3e8\r\n"
				"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				"\r\n0\r\n\r\n"),
			 413);
}

static void traversal_is_refused(void **state)
{
	fixture *f = *state;
	pb_http_req r;

	/* Encoded dots survive a client's path clean-up and are decoded by the
	 * server: it must still refuse them. */
	req(f, &r, "GET", "/static/%2e%2e/%2e%2e/etc/passwd", NULL, NULL);
	assert_int_equal(r.status, 400);
	pb_http_req_release(&r);
	assert_int_equal(raw(f, "GET /static/../secret HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
			 400);
	assert_int_equal(raw(f, "GET /static/./x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 400);
	assert_int_equal(raw(f, "GET /static/a%5c..%5cb HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
			 400);
	/* An escaped NUL would cut the decoded path short ("app.v2.js"). */
	assert_int_equal(raw(f, "GET /static/app.v2.js%00.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
			 400);
	/* In the query it does not touch the path. */
	assert_int_equal(raw(f, "GET /static/app.v2.js?q=%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
			 200);
	/* A dot inside a name is fine. */
	req(f, &r, "GET", "/static/app.v2.js", NULL, NULL);
	assert_int_equal(r.status, 200);
	pb_http_req_release(&r);
}

static void bearer_and_headers(void **state)
{
	fixture *f = *state;
	const char *const good[] = {"Authorization: Bearer tok-123456", NULL};
	const char *const bad[] = {"Authorization: Bearer tok-123457", NULL};
	const char *const basic[] = {"Authorization: Basic dG9rLTEyMzQ1Ng==", NULL};
	pb_http_req r;

	req(f, &r, "GET", "/secret", NULL, NULL);
	assert_int_equal(r.status, 401);
	pb_http_req_release(&r);
	req(f, &r, "GET", "/secret", NULL, bad);
	assert_int_equal(r.status, 401);
	pb_http_req_release(&r);
	req(f, &r, "GET", "/secret", NULL, basic);
	assert_int_equal(r.status, 401);
	pb_http_req_release(&r);
	req(f, &r, "GET", "/secret", NULL, good);
	assert_int_equal(r.status, 200);
	pb_http_req_release(&r);
	/* The security headers, seen on the wire. */
	{
		struct sockaddr_in a;
		char buf[4096] = "";
		ssize_t n, got = 0;
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		const char *rq = "GET /secret HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok-123456\r\n"
				 "Connection: close\r\n\r\n";

		memset(&a, 0, sizeof a);
		a.sin_family = AF_INET;
		a.sin_port = htons(pb_server_port(f->s));
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
		assert_true(write(fd, rq, strlen(rq)) > 0);
		while ((n = read(fd, buf + got, sizeof buf - 1 - (size_t)got)) > 0)
			got += n;
		buf[got] = '\0';
		close(fd);
		assert_non_null(strstr(buf, "X-Content-Type-Options: nosniff"));
		assert_non_null(strstr(buf, "X-Frame-Options: DENY"));
		assert_non_null(strstr(buf, "Cache-Control: no-store"));
		assert_non_null(strstr(buf, "X-Ok: yes"));
	}
}

static void oversized_headers(void **state)
{
	fixture *f = *state;
	char *rq = malloc(20000);
	int status;

	strcpy(rq, "GET /things/1 HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(rq + strlen(rq), 'a', 16000);
	strcpy(rq + strlen("GET /things/1 HTTP/1.1\r\nHost: x\r\nX-Big: ") + 16000,
	       "\r\nConnection: close\r\n\r\n");
	status = raw(f, rq);
	free(rq);
	/* Refused (431 or 413 depending on where the limit bites), or the
	 * connection closed: never served. */
	assert_true(status == 0 || status == 431 || status == 413 || status == 400);
}

static void streaming(void **state)
{
	fixture *f = *state;
	pb_http_req r;

	req(f, &r, "GET", "/events", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(pb_buf_str(&r.resp), "data: 2\n\ndata: 1\n\ndata: 0\n\n");
	assert_non_null(strstr(r.content_type, "text/event-stream"));
	pb_http_req_release(&r);
}

static void url_decode(void **state)
{
	char out[32];

	(void)state;
	assert_true(pb_srv_url_decode("a%20b+c", 7, true, out, sizeof out));
	assert_string_equal(out, "a b c");
	assert_true(pb_srv_url_decode("a+b", 3, false, out, sizeof out));
	assert_string_equal(out, "a+b");
	assert_false(pb_srv_url_decode("%zz", 3, false, out, sizeof out));
	assert_false(pb_srv_url_decode("%4", 2, false, out, sizeof out));
	assert_false(pb_srv_url_decode("a%00b", 5, false, out, sizeof out));
	assert_false(pb_srv_url_decode("abcdef", 6, false, out, 4));
}

static double gauge(void *ud)
{
	return *(double *)ud;
}

static void metrics(void **state)
{
	pb_metrics *m;
	pb_metric *c, *c2, *h;
	double g = 7;
	const char *const l1[] = {"kind", "post_draft", NULL};
	const char *const l2[] = {"kind", "send \"reply\"\n", NULL};
	const double bounds[] = {0.1, 0.5, 1};
	char *txt;

	(void)state;
	assert_int_equal(pb_metrics_new(&m), PB_OK);
	c = pb_metrics_counter(m, "pb_actions_total", "Actions.", l1);
	c2 = pb_metrics_counter(m, "pb_actions_total", "Actions.", l2);
	pb_metric_add(c, 2);
	pb_metric_add(pb_metrics_counter(m, "pb_actions_total", "Actions.", l1), 1);
	pb_metric_add(c2, 1);
	assert_true(pb_metric_value(c) == 3);
	h = pb_metrics_histogram(m, "pb_latency_seconds", "Latency.", NULL, bounds, 3);
	pb_metric_observe(h, 0.05);
	pb_metric_observe(h, 0.3);
	pb_metric_observe(h, 5);
	assert_int_equal(pb_metrics_gauge(m, "pb_inbox_pending", "Pending.", NULL, gauge, &g), PB_OK);
	txt = pb_metrics_render(m);
	assert_non_null(txt);
	assert_non_null(strstr(txt, "# HELP pb_actions_total Actions.\n# TYPE pb_actions_total counter\n"
				    "pb_actions_total{kind=\"post_draft\"} 3\n"
				    "pb_actions_total{kind=\"send \\\"reply\\\"\\n\"} 1\n"));
	assert_null(strstr(strstr(txt, "pb_actions_total{kind=\"send") + 1, "# TYPE pb_actions_total"));
	assert_non_null(strstr(txt, "pb_latency_seconds_bucket{le=\"0.1\"} 1\n"
				    "pb_latency_seconds_bucket{le=\"0.5\"} 2\n"
				    "pb_latency_seconds_bucket{le=\"1\"} 2\n"
				    "pb_latency_seconds_bucket{le=\"+Inf\"} 3\n"
				    "pb_latency_seconds_sum 5.35\n"
				    "pb_latency_seconds_count 3\n"));
	assert_non_null(strstr(txt, "# TYPE pb_inbox_pending gauge\npb_inbox_pending 7\n"));
	free(txt);
	pb_metrics_free(m);
}

static void log_lines(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	pb_log *lg;
	cJSON *j;

	(void)state;
	assert_int_equal(pb_log_new(f, PB_LOG_TEXT, PB_LOG_INFO, &lg), PB_OK);
	assert_int_equal(pb_log_secret(lg, "sekret-token-9"), PB_OK);
	pb_logf(lg, PB_LOG_DEBUG, "hidden", "not shown");
	pb_logf(lg, PB_LOG_INFO, "webhook.rejected", "token sekret-token-9 was wrong\nforged line \xff");
	fflush(f);
	assert_null(strstr(buf, "not shown"));
	assert_null(strstr(buf, "sekret-token-9"));
	assert_non_null(strstr(buf, " info  webhook.rejected: token *** was wrong forged line \xef\xbf\xbd\n"));
	assert_int_equal(strchr(buf, '\n') - buf + 1, (long)len);
	pb_log_free(lg);
	fclose(f);
	free(buf);

	buf = NULL;
	f = open_memstream(&buf, &len);
	assert_int_equal(pb_log_new(f, PB_LOG_JSON, PB_LOG_DEBUG, &lg), PB_OK);
	pb_logf(lg, PB_LOG_WARN, "outbox.retry", "case %d: \"quoted\"", 12);
	fflush(f);
	j = cJSON_Parse(buf);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "level")->valuestring, "warn");
	assert_string_equal(cJSON_GetObjectItem(j, "event")->valuestring, "outbox.retry");
	assert_string_equal(cJSON_GetObjectItem(j, "msg")->valuestring, "case 12: \"quoted\"");
	assert_non_null(cJSON_GetObjectItem(j, "ts"));
	cJSON_Delete(j);
	pb_log_free(lg);
	fclose(f);
	free(buf);
}

static void bad_listen(void **state)
{
	pb_srv_opts o;
	pb_server *s;
	pb_errbuf eb;

	(void)state;
	pb_srv_opts_init(&o);
	o.listen = "256.1.1.1:80";
	assert_int_equal(pb_server_new(&o, &s, &eb), PB_OK);
	assert_int_equal(pb_server_start(s, &eb), PB_EIO);
	assert_non_null(strstr(eb.msg, "cannot listen on 256.1.1.1:80"));
	pb_server_stop(s);
	o.tls_cert_pem = "x";
	assert_int_equal(pb_server_new(&o, &s, &eb), PB_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(routes_and_params, setup, teardown),
		cmocka_unit_test_setup_teardown(wrong_method_is_405, setup, teardown),
		cmocka_unit_test_setup_teardown(body_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(traversal_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(bearer_and_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(oversized_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(streaming, setup, teardown),
		cmocka_unit_test(url_decode),
		cmocka_unit_test(metrics),
		cmocka_unit_test(log_lines),
		cmocka_unit_test(bad_listen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
