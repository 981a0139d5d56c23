/*
 * Ingest against the shipped KB and a real store: which events the inbox
 * accepts, traces from the cache and from an injected resolver (fresh,
 * stale, or none at all), bad content set aside with its error, claims
 * held by another worker respected until their lease runs out, and
 * batches.
 */
#include "testutil.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/ingest.h"

typedef struct fake {
	int calls;
	bool fail;
} fake;

/* Knows one parcel, YT1, which left the hub an hour before it is asked. */
static pb_err fake_resolve(void *ctx, const char *carrier, const char *number,
			   const char *phone_last4, int64_t now, pb_trace *out, pb_errbuf *eb)
{
	fake *fk = ctx;
	pb_when w = {now - 3600, 8 * 3600};

	(void)phone_last4;
	fk->calls++;
	if (fk->fail || strcmp(number, "YT1"))
		return pb_errf(eb, PB_EUPSTREAM, "provider said no");
	out->carrier = strdup(carrier);
	out->number = strdup(number);
	out->provider = strdup("fake");
	out->found = true;
	return pb_trace_add(out, w, "上海", "快件已发往【上海】", "", PB_ST_IN_TRANSIT, PB_EX_NONE);
}

typedef struct fx {
	char *dir;
	pb_store *st;
	pb_ingest *ing;
	fake fk;
} fx;

static int mk(void **state, size_t batch, bool resolver)
{
	fx *f = calloc(1, sizeof *f);
	pb_store_opts o = {true, 0, 0};
	pb_ingest_opts io;
	pb_errbuf eb;
	char path[512];

	f->dir = tu_mkdtemp();
	snprintf(path, sizeof path, "%s/i.db", f->dir);
	memset(&io, 0, sizeof io);
	io.batch = batch;
	if (resolver) {
		io.resolve = fake_resolve;
		io.resolve_ctx = &f->fk;
	}
	if (pb_store_open(path, &o, &f->st, &eb) || pb_ingest_new(tu_kb(), f->st, &io, &f->ing, &eb)) {
		fprintf(stderr, "%s\n", eb.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return mk(state, 0, true);
}

static int setup_small_batches(void **state)
{
	return mk(state, 2, false);
}

static int teardown(void **state)
{
	fx *f = *state;

	pb_ingest_free(f->ing);
	pb_store_close(f->st);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static int64_t T(const char *iso)
{
	pb_when w;

	if (pb_time_parse(iso, 8 * 3600, &w))
		fail_msg("bad time %s", iso);
	return w.t;
}

#define NOW "2026-11-20T10:00:00+08:00"

static pb_err accept(fx *f, const char *line, pb_errbuf *eb)
{
	return pb_ingest_accept(f->ing, line, strlen(line), T(NOW), eb);
}

static size_t process(fx *f, int64_t now)
{
	pb_errbuf eb;
	size_t done = 0;

	if (pb_ingest_process(f->ing, now, SIZE_MAX, &done, &eb))
		fail_msg("process: %s", eb.msg);
	return done;
}

static void test_accept_checks(void **state)
{
	fx *f = *state;
	const pb_ingest_stats *s = pb_ingest_get_stats(f->ing);
	pb_errbuf eb;

	assert_int_equal(accept(f, "not json", &eb), PB_EPARSE);
	assert_int_equal(accept(f, "[1,2]", &eb), PB_EINVAL);
	assert_int_equal(accept(f, "{\"conversation\":\"c\",\"message\":\"hi\"}", &eb), PB_EINVAL);
	assert_non_null(strstr(eb.msg, "message_id is required"));
	assert_int_equal(accept(f, "{\"message_id\":\"m\",\"message\":\"hi\"}", &eb), PB_EINVAL);
	assert_int_equal(accept(f, "{\"message_id\":1.5,\"conversation\":\"c\",\"message\":\"hi\"}",
				&eb),
			 PB_EINVAL);
	assert_int_equal(accept(f, "{\"message_id\":\"m\",\"conversation\":\"c\",\"message\":7}", &eb),
			 PB_EINVAL);
	assert_int_equal(accept(f, "{\"message_id\":\"m\",\"conversation\":\"c\",\"message\":\"\"}",
				&eb),
			 PB_EINVAL);
	assert_int_equal(accept(f, "{\"message_id\":\"m\",\"conversation\":\"c\",\"message\":\"hi\","
				   "\"channel\":\"Bad Channel\"}",
				&eb),
			 PB_EINVAL);
	assert_int_equal(accept(f, "{\"message_id\":\"m\",\"conversation\":\"c\",\"message\":\"hi\","
				   "\"now\":\"yesterday\"}",
				&eb),
			 PB_EPARSE);
	assert_int_equal(accept(f, "{\"message_id\":\"m\",\"conversation\":\"c\",\"message\":\"\xff\"}",
				&eb),
			 PB_EUTF8);
	assert_int_equal(s->rejected, 10);
	assert_int_equal(s->received, 0);
	/* Integer ids are ids too; the same id again is a duplicate. */
	assert_int_equal(accept(f, "{\"message_id\":42,\"conversation\":7,\"message\":\"where is it\"}",
				&eb),
			 PB_OK);
	assert_int_equal(accept(f, "{\"message_id\":\"42\",\"conversation\":7,\"message\":\"again\"}",
				&eb),
			 PB_EEXIST);
	/* Per channel. */
	assert_int_equal(accept(f, "{\"message_id\":42,\"conversation\":7,\"message\":\"where is it\","
				   "\"channel\":\"shopee\"}",
				&eb),
			 PB_OK);
	assert_int_equal(s->received, 2);
	assert_int_equal(s->duplicate, 1);
	assert_int_equal(process(f, T(NOW)), 2);
	assert_int_equal(s->processed, 2);
	assert_int_equal(process(f, T(NOW)), 0);
	/* Not from inside someone else's transaction. */
	assert_int_equal(pb_store_begin(f->st, &eb), PB_OK);
	assert_int_equal(pb_ingest_process(f->ing, T(NOW), 10, NULL, &eb), PB_ESTATE);
	pb_store_rollback(f->st);
}

static pb_store_parcel parcel_of_case(fx *f, pb_id case_id)
{
	pb_store_case c;
	pb_store_parcel p;
	pb_errbuf eb;

	assert_int_equal(pb_store_case_get(f->st, case_id, &c, &eb), PB_OK);
	assert_true(c.parcel_id > 0);
	assert_int_equal(pb_store_parcel_get(f->st, c.parcel_id, &p, &eb), PB_OK);
	pb_store_case_release(&c);
	return p;
}

static void test_cache_then_resolver(void **state)
{
	fx *f = *state;
	const pb_ingest_stats *s = pb_ingest_get_stats(f->ing);
	pb_store_parcel p;
	pb_errbuf eb;
	char *js = NULL;
	int64_t at = 0;

	/* The order source gave the trace: it is cached. */
	assert_int_equal(accept(f,
				"{\"message_id\":\"m1\",\"conversation\":\"c1\",\"message\":\"物流三天没更新了\","
				"\"now\":\"" NOW "\",\"order\":{\"id\":\"A1\"},\"parcel\":{\"carrier\":\"zto\","
				"\"number\":\"753\",\"events\":[{\"time\":\"2026-11-17T08:00:00+08:00\","
				"\"location\":\"杭州转运中心\",\"description\":\"到达\",\"state\":\"in_transit\"}]}}",
				&eb),
			 PB_OK);
	assert_int_equal(process(f, T(NOW)), 1);
	assert_int_equal(pb_store_track_get(f->st, "zto", "753", &js, &at, &eb), PB_OK);
	assert_int_equal(at, T(NOW));
	assert_non_null(strstr(js, "杭州转运中心"));
	free(js);
	/* A later message naming only the number is served from the cache. */
	assert_int_equal(accept(f,
				"{\"message_id\":\"m2\",\"conversation\":\"c2\",\"message\":\"物流三天没更新了\","
				"\"now\":\"2026-11-20T11:00:00+08:00\",\"order\":{\"id\":\"A2\"},"
				"\"parcel\":{\"carrier\":\"zto\",\"number\":\"753\"}}",
				&eb),
			 PB_OK);
	assert_int_equal(process(f, T(NOW)), 1);
	assert_int_equal(s->cache_hits, 1);
	assert_int_equal(f->fk.calls, 0);
	p = parcel_of_case(f, 2);
	assert_non_null(p.trace);
	assert_non_null(strstr(p.trace, "杭州转运中心"));
	assert_non_null(strstr(p.assessment, "no_update"));
	pb_store_parcel_release(&p);

	/* Not cached: the resolver is asked, and its answer cached. */
	assert_int_equal(accept(f,
				"{\"message_id\":\"m3\",\"conversation\":\"c3\",\"message\":\"where is my "
				"parcel?\",\"now\":\"" NOW "\",\"order\":{\"id\":\"A3\"},"
				"\"parcel\":{\"carrier\":\"yto\",\"number\":\"YT1\"}}",
				&eb),
			 PB_OK);
	assert_int_equal(process(f, T(NOW)), 1);
	assert_int_equal(f->fk.calls, 1);
	assert_int_equal(s->lookups, 1);
	assert_int_equal(pb_store_track_get(f->st, "yto", "YT1", &js, &at, &eb), PB_OK);
	assert_non_null(strstr(js, "上海"));
	free(js);
	p = parcel_of_case(f, 3);
	assert_non_null(strstr(p.trace, "上海"));
	pb_store_parcel_release(&p);
	/* Within the cache's lifetime nobody asks again. */
	assert_int_equal(accept(f,
				"{\"message_id\":\"m4\",\"conversation\":\"c4\",\"message\":\"where is my "
				"parcel?\",\"now\":\"2026-11-20T10:30:00+08:00\",\"order\":{\"id\":\"A4\"},"
				"\"parcel\":{\"carrier\":\"yto\",\"number\":\"YT1\"}}",
				&eb),
			 PB_OK);
	assert_int_equal(process(f, T(NOW)), 1);
	assert_int_equal(f->fk.calls, 1);

	/* Older than the cache's lifetime and the provider fails: the old
	 * trace is used, marked stale. */
	f->fk.fail = true;
	assert_int_equal(accept(f,
				"{\"message_id\":\"m5\",\"conversation\":\"c5\",\"message\":\"where is my "
				"parcel?\",\"now\":\"2026-11-21T10:00:00+08:00\",\"order\":{\"id\":\"A5\"},"
				"\"parcel\":{\"carrier\":\"yto\",\"number\":\"YT1\"}}",
				&eb),
			 PB_OK);
	assert_int_equal(process(f, T(NOW)), 1);
	assert_int_equal(f->fk.calls, 2);
	p = parcel_of_case(f, 5);
	assert_non_null(strstr(p.trace, "\"stale\":true"));
	pb_store_parcel_release(&p);
	assert_non_null(strstr(s->lookup_error, "provider said no"));

	/* Never seen and no answer: drafted without a trace. */
	assert_int_equal(accept(f,
				"{\"message_id\":\"m6\",\"conversation\":\"c6\",\"message\":\"where is my "
				"parcel?\",\"now\":\"" NOW "\",\"order\":{\"id\":\"A6\"},"
				"\"parcel\":{\"carrier\":\"sf\",\"number\":\"SF9\"}}",
				&eb),
			 PB_OK);
	assert_int_equal(process(f, T(NOW)), 1);
	assert_int_equal(s->untraced, 1);
	assert_int_equal(s->drafted + s->escalated, 6);
	p = parcel_of_case(f, 6);
	assert_null(p.trace);
	assert_string_equal(p.number, "SF9");
	pb_store_parcel_release(&p);
	/* The reply says the trace could not be had, and claims neither a
	 * place nor that the order has not shipped. */
	{
		pb_store_draft d;
		assert_int_equal(pb_store_draft_latest(f->st, 6, &d, &eb), PB_OK);
		assert_non_null(strstr(d.text, "courier directly"));
		assert_null(strstr(d.text, "not shipped"));
		pb_store_draft_release(&d);
	}
}

static void test_bad_content_set_aside(void **state)
{
	fx *f = *state;
	const pb_ingest_stats *s = pb_ingest_get_stats(f->ing);
	pb_store_inbox_row r;
	pb_store_cases cl;
	pb_errbuf eb;
	size_t pending = 9, failed = 9;

	/* The envelope is fine, the order inside is not. */
	assert_int_equal(accept(f, "{\"message_id\":\"m1\",\"conversation\":\"c1\",\"message\":\"包裹丢了\","
				   "\"order\":{\"amount\":5}}",
				&eb),
			 PB_OK);
	assert_int_equal(accept(f, "{\"message_id\":\"m2\",\"conversation\":\"c2\",\"message\":\"包裹丢了\"}",
				&eb),
			 PB_OK);
	assert_int_equal(process(f, T(NOW)), 2);
	assert_int_equal(s->failed, 1);
	assert_int_equal(s->processed, 1);
	assert_int_equal(pb_store_inbox_get(f->st, 1, &r, &eb), PB_OK);
	assert_true(r.processed_at > 0);
	assert_non_null(r.error);
	assert_non_null(strstr(r.error, "id"));
	pb_store_inbox_row_release(&r);
	assert_int_equal(pb_store_inbox_counts(f->st, &pending, &failed, &eb), PB_OK);
	assert_int_equal(pending, 0);
	assert_int_equal(failed, 1);
	/* Nothing of the bad one reached a case. */
	assert_int_equal(pb_store_case_list(f->st, NULL, &cl, &eb), PB_OK);
	assert_int_equal(cl.n, 1);
	assert_string_equal(cl.v[0].conversation, "c2");
	pb_store_cases_release(&cl);
}

static void test_claims_respected(void **state)
{
	fx *f = *state;
	pb_store_inbox_rows l;
	pb_errbuf eb;
	int64_t t0 = T(NOW);
	char line[200];
	int i;

	for (i = 0; i < 3; i++) {
		snprintf(line, sizeof line,
			 "{\"message_id\":\"m%d\",\"conversation\":\"c%d\",\"message\":\"包裹丢了\"}", i, i);
		assert_int_equal(accept(f, line, &eb), PB_OK);
	}
	/* Another worker holds them... */
	assert_int_equal(pb_store_inbox_claim(f->st, "other", t0, 300, 10, &l, &eb), PB_OK);
	assert_int_equal(l.n, 3);
	assert_int_equal(process(f, t0 + 100), 0);
	/* ...until its lease runs out. */
	assert_int_equal(process(f, t0 + 400), 3);
	/* The slow worker then finds each one done: none takes effect twice. */
	for (i = 0; i < 3; i++)
		assert_int_equal(pb_store_inbox_done(f->st, l.v[i].id, t0 + 500, &eb), PB_ESTATE);
	pb_store_inbox_rows_release(&l);
}

static void test_batches(void **state)
{
	fx *f = *state;
	const pb_ingest_stats *s = pb_ingest_get_stats(f->ing);
	pb_store_cases cl;
	pb_errbuf eb;
	char line[300];
	int i;

	for (i = 0; i < 7; i++) {
		snprintf(line, sizeof line,
			 "{\"message_id\":\"m%d\",\"conversation\":\"c%d\",\"message\":\"%s\"}", i, i % 3,
			 i >= 3 ? "where is my order?" : "收到的东西坏了");
		assert_int_equal(accept(f, line, &eb), PB_OK);
	}
	assert_int_equal(process(f, T(NOW)), 7);
	assert_int_equal(s->processed, 7);
	assert_int_equal(pb_store_case_list(f->st, NULL, &cl, &eb), PB_OK);
	/* One damaged case per conversation; the questions joined them. */
	assert_int_equal(cl.n, 3);
	assert_int_equal(cl.v[0].contacts + cl.v[1].contacts + cl.v[2].contacts, 7);
	pb_store_cases_release(&cl);
	assert_int_equal(s->opened, 3);
	assert_int_equal(s->joined, 4);
}

/* A number-only parcel finds the trace an earlier message of the same
 * batch brought: what a message gets does not depend on batch edges. */
static void test_cache_within_batch(void **state)
{
	fx *f = *state;
	const pb_ingest_stats *s = pb_ingest_get_stats(f->ing);
	pb_store_draft d;
	pb_errbuf eb;

	assert_int_equal(accept(f,
				"{\"message_id\":\"m1\",\"conversation\":\"c1\",\"message\":\"物流三天没更新了\","
				"\"now\":\"" NOW "\",\"order\":{\"id\":\"A1\"},\"parcel\":{\"carrier\":\"zto\","
				"\"number\":\"753\",\"events\":[{\"time\":\"2026-11-17T08:00:00+08:00\","
				"\"location\":\"杭州转运中心\",\"description\":\"到达\",\"state\":\"in_transit\"}]}}",
				&eb),
			 PB_OK);
	assert_int_equal(accept(f,
				"{\"message_id\":\"m2\",\"conversation\":\"c2\",\"message\":\"where is my "
				"parcel?\",\"now\":\"" NOW "\",\"order\":{\"id\":\"A2\"},"
				"\"parcel\":{\"carrier\":\"zto\",\"number\":\"753\"}}",
				&eb),
			 PB_OK);
	assert_int_equal(process(f, T(NOW)), 2);
	assert_int_equal(s->untraced, 0);
	assert_int_equal(s->cache_hits, 1);
	assert_int_equal(f->fk.calls, 1); /* asked before the batch was written */
	/* The draft of the second message was made from that trace. */
	assert_int_equal(pb_store_draft_latest(f->st, 2, &d, &eb), PB_OK);
	assert_non_null(strstr(d.assessment, "杭州转运中心"));
	pb_store_draft_release(&d);
}

/* Agents' commands given in the channel act on the conversation's case. */
static void test_commands(void **state)
{
	fx *f = *state;
	const pb_ingest_stats *s = pb_ingest_get_stats(f->ing);
	pb_store_case c;
	pb_store_inbox_row row;
	pb_store_decisions ds;
	pb_errbuf eb;

	assert_int_equal(accept(f,
				"{\"message_id\":\"m1\",\"conversation\":\"c1\",\"channel\":\"chatwoot\","
				"\"message\":\"物流三天没更新了\",\"now\":\"" NOW "\","
				"\"order\":{\"id\":\"A1\"},\"parcel\":{\"carrier\":\"zto\","
				"\"number\":\"753\",\"events\":[{\"time\":\"2026-11-17T08:00:00+08:00\","
				"\"location\":\"杭州转运中心\",\"description\":\"到达\",\"state\":\"in_transit\"}]}}",
				&eb),
			 PB_OK);
	assert_int_equal(process(f, T(NOW)), 1);
	/* A command without a known command word is refused at the door. */
	/* A message id too large for any integer is refused, not cast. */
	assert_int_equal(accept(f,
				"{\"message_id\":1e300,\"conversation\":\"c1\",\"message\":\"x\"}",
				&eb),
			 PB_EINVAL);
	assert_int_equal(accept(f,
				"{\"kind\":\"command\",\"message_id\":\"n0\",\"conversation\":\"c1\","
				"\"channel\":\"chatwoot\",\"command\":\"launch\"}",
				&eb),
			 PB_EINVAL);
	assert_int_equal(accept(f,
				"{\"kind\":\"command\",\"message_id\":\"n1\",\"conversation\":\"c1\","
				"\"channel\":\"chatwoot\",\"agent\":\"li\",\"command\":\"note\","
				"\"text\":\"asked ZTO\",\"now\":\"" NOW "\"}",
				&eb),
			 PB_OK);
	assert_int_equal(accept(f,
				"{\"kind\":\"command\",\"message_id\":\"n2\",\"conversation\":\"c1\","
				"\"channel\":\"chatwoot\",\"agent\":\"li\",\"command\":\"send\","
				"\"text\":\"\",\"now\":\"" NOW "\"}",
				&eb),
			 PB_OK);
	/* A second /send finds no draft waiting: kept with its reason. */
	assert_int_equal(accept(f,
				"{\"kind\":\"command\",\"message_id\":\"n3\",\"conversation\":\"c1\","
				"\"channel\":\"chatwoot\",\"agent\":\"li\",\"command\":\"send\"}",
				&eb),
			 PB_OK);
	/* A conversation with no case. */
	assert_int_equal(accept(f,
				"{\"kind\":\"command\",\"message_id\":\"n4\",\"conversation\":\"c9\","
				"\"channel\":\"chatwoot\",\"command\":\"escalate\"}",
				&eb),
			 PB_OK);
	assert_int_equal(process(f, T(NOW) + 60), 4);
	assert_int_equal(s->commands, 2);
	assert_int_equal(s->failed, 2);
	assert_int_equal(pb_store_case_get(f->st, 1, &c, &eb), PB_OK);
	assert_string_equal(c.state, "sent");
	pb_store_case_release(&c);
	assert_int_equal(pb_store_decision_list(f->st, 1, &ds, &eb), PB_OK);
	assert_int_equal(ds.n, 1);
	assert_string_equal(ds.v[0].agent, "li");
	pb_store_decisions_release(&ds);
	assert_int_equal(pb_store_inbox_get(f->st, 5, &row, &eb), PB_OK);
	assert_non_null(row.error);
	assert_non_null(strstr(row.error, "c9"));
	pb_store_inbox_row_release(&row);
}

typedef struct many {
	int calls;
	size_t asked;
} many;

static void fake_resolve_many(void *ctx, pb_ingest_lookup *l, size_t n, int64_t now)
{
	many *m = ctx;
	size_t i;

	m->calls++;
	m->asked += n;
	for (i = 0; i < n; i++) {
		pb_when w = {now - 3600, 8 * 3600};
		l[i].trace.carrier = strdup(l[i].carrier);
		l[i].trace.number = strdup(l[i].number);
		l[i].trace.provider = strdup("fake");
		l[i].trace.found = true;
		l[i].err = pb_trace_add(&l[i].trace, w, "上海", "快件已发往【上海】", "",
					PB_ST_IN_TRANSIT, PB_EX_NONE);
	}
}

/* The enricher finds the parcel from the order id in the text. */
static pb_err fake_enrich(void *ctx, cJSON *ev, int64_t now, pb_errbuf *eb)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(ev, "message");
	cJSON *p;

	(void)ctx;
	(void)now;
	if (!strstr(m->valuestring, "B7"))
		return pb_errf(eb, PB_ENOTFOUND, "no order in the text");
	cJSON_DeleteItemFromObjectCaseSensitive(ev, "parcel");
	p = cJSON_AddObjectToObject(ev, "parcel");
	cJSON_AddStringToObject(p, "carrier", "yto");
	cJSON_AddStringToObject(p, "number", "YT7");
	return PB_OK;
}

/* One batched lookup per batch, each parcel once; enrichment first. */
static void test_resolve_many_and_enrich(void **state)
{
	fx *f = calloc(1, sizeof *f);
	pb_store_opts o = {true, 0, 0};
	pb_ingest_opts io;
	many m = {0, 0};
	pb_errbuf eb;
	char path[512], line[512];
	int i;

	(void)state;
	f->dir = tu_mkdtemp();
	snprintf(path, sizeof path, "%s/m.db", f->dir);
	memset(&io, 0, sizeof io);
	io.resolve_many = fake_resolve_many;
	io.resolve_ctx = &m;
	io.enrich = fake_enrich;
	assert_int_equal(pb_store_open(path, &o, &f->st, &eb), PB_OK);
	assert_int_equal(pb_ingest_new(tu_kb(), f->st, &io, &f->ing, &eb), PB_OK);
	for (i = 0; i < 6; i++) {
		snprintf(line, sizeof line,
			 "{\"message_id\":\"m%d\",\"conversation\":\"c%d\",\"message\":\"order B7 "
			 "where is my parcel?\",\"now\":\"" NOW "\",\"parcel\":{\"carrier\":\"zto\","
			 "\"number\":\"N%d\"}}",
			 i, i, i % 3);
		assert_int_equal(accept(f, line, &eb), PB_OK);
	}
	assert_int_equal(accept(f, "{\"message_id\":\"x\",\"conversation\":\"c\",\"message\":"
				   "\"where is it\",\"now\":\"" NOW "\"}", &eb), PB_OK);
	assert_int_equal(process(f, T(NOW)), 7);
	assert_int_equal(m.calls, 1);
	/* The enricher replaced the parcels: YT7 once, whatever the count. */
	assert_int_equal(m.asked, 1);
	assert_int_equal(pb_ingest_get_stats(f->ing)->enrich_failed, 1);
	*state = f;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_accept_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_then_resolver, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_content_set_aside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claims_respected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_within_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batches, setup_small_batches, teardown),
		cmocka_unit_test_setup_teardown(test_commands, setup, teardown),
		cmocka_unit_test_teardown(test_resolve_many_and_enrich, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	pb_kb_unref(tu_kb());
	return rc;
}
