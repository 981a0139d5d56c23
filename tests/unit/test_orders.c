/*
 * Order sources: the URL template's encoding, the HTTP source against the
 * in-process sandbox serving kb/sandbox/shop.yaml (bearer token, 404,
 * malformed, wrapped and oversized answers), the sandbox's order seed
 * checks, and enrichment of buyer events from their text (Chinese and
 * English order numbers, tracking numbers) and from orders in the store.
 */
#include "trackutil.h"

#include <cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/http.h"
#include "parcelbot/orders.h"
#include "parcelbot/store.h"
#include "testutil.h"

static pb_sandbox *sb;
static pb_http *http;

static pb_sandbox *shop_sandbox(void)
{
	char seed[PATH_MAX];
	pb_sandbox_opts o;
	pb_sandbox *s = NULL;
	pb_errbuf eb;

	snprintf(seed, sizeof seed, "%s/kb/sandbox/shop.yaml", tt_srcdir());
	pb_sandbox_opts_init(&o);
	o.seed_file = seed;
	if (pb_sandbox_start(&o, &s, &eb))
		fail_msg("sandbox: %s", eb.msg);
	return s;
}

static int setup(void **state)
{
	pb_http_opts o;
	pb_errbuf eb;

	(void)state;
	sb = shop_sandbox();
	pb_http_opts_init(&o);
	o.connect_timeout_ms = 1000;
	o.timeout_ms = 2000;
	o.retries = 1;
	o.backoff_base_ms = 20;
	if (pb_http_new(&o, &http, &eb))
		fail_msg("http: %s", eb.msg);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pb_http_free(http);
	pb_sandbox_stop(sb);
	return 0;
}

static int reset(void **state)
{
	(void)state;
	pb_sandbox_reset(sb);
	return 0;
}

/* Order sources pointed at the sandbox, with the given token. */
static pb_orders *sources(const char *token)
{
	char url[256];
	pb_orders_config c;
	pb_orders *o = NULL;
	pb_errbuf eb;

	c.url = (char *)tt_url(sb, "/orders?id={order_id}", url, sizeof url);
	c.token = (char *)token;
	if (pb_orders_new(&c, http, &o, &eb))
		fail_msg("orders: %s", eb.msg);
	return o;
}

static const char *jstr(const cJSON *j, const char *path)
{
	char buf[128], *save = NULL, *k;
	const cJSON *v = j;

	snprintf(buf, sizeof buf, "%s", path);
	for (k = strtok_r(buf, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
		v = cJSON_GetObjectItemCaseSensitive(v, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* ---- the URL template ---- */

static void url_template(void **state)
{
	pb_orders_config c = {NULL, NULL};
	pb_orders *o = NULL;
	pb_errbuf eb;
	char *u = NULL;

	(void)state;
	assert_int_equal(pb_orders_url("https://shop.example/api/orders/{order_id}?again={order_id}",
				       "A 1/é#?&", &u, &eb),
			 PB_OK);
	assert_string_equal(u, "https://shop.example/api/orders/A%201%2F%C3%A9%23%3F%26?again=A%201%2F"
			       "%C3%A9%23%3F%26");
	free(u);
	assert_int_equal(pb_orders_url("http://x/{order_id}", "Ab-9._~", &u, &eb), PB_OK);
	assert_string_equal(u, "http://x/Ab-9._~");
	free(u);
	assert_int_equal(pb_orders_url("http://x/{order_id}", "", &u, &eb), PB_EINVAL);
	assert_null(u);
	assert_int_equal(pb_orders_url("http://x/{order_id}", "a\nb", &u, &eb), PB_EINVAL);

	c.url = (char *)"ftp://shop/{order_id}";
	assert_int_equal(pb_orders_new(&c, http, &o, &eb), PB_EINVAL);
	c.url = (char *)"https://shop/orders";
	assert_int_equal(pb_orders_new(&c, http, &o, &eb), PB_EINVAL);
	assert_non_null(strstr(eb.msg, "{order_id}"));
	c.url = NULL;
	assert_int_equal(pb_orders_new(&c, NULL, &o, &eb), PB_OK);
	assert_false(pb_orders_has_http(o));
	pb_orders_free(o);
}

/* ---- the HTTP source ---- */

static void fetch_with_bearer(void **state)
{
	pb_orders *o = sources(PB_SANDBOX_ORDERS_TOKEN);
	cJSON *j = NULL;
	pb_errbuf eb;

	(void)state;
	assert_int_equal(pb_orders_fetch(o, "3958172046650111", tt_kb(), 8 * 3600, &j, &eb), PB_OK);
	assert_string_equal(jstr(j, "id"), "3958172046650111");
	assert_string_equal(jstr(j, "currency"), "CNY");
	assert_string_equal(jstr(j, "category"), "seafood");
	assert_true(jnum(j, "amount") == 398);
	assert_string_equal(jstr(j, "phone_last4"), "0111");
	assert_string_equal(jstr(j, "paid_at"), "2026-11-21T09:30:00+08:00");
	assert_string_equal(jstr(j, "parcel.carrier"), "sf");
	assert_string_equal(jstr(j, "parcel.number"), "SF261120000111");
	assert_int_equal(pb_sandbox_count(sb, "orders.get"), 1);
	cJSON_Delete(j);
	pb_orders_free(o);
}

static void fetch_refused_token(void **state)
{
	pb_orders *o = sources("wrong-secret-token"), *none = sources(NULL);
	cJSON *j = NULL;
	pb_errbuf eb;

	(void)state;
	assert_int_equal(pb_orders_fetch(o, "3958172046650111", tt_kb(), 0, &j, &eb), PB_EAUTH);
	assert_null(j);
	assert_null(strstr(eb.msg, "wrong-secret-token"));
	assert_non_null(strstr(eb.msg, "/orders"));
	assert_int_equal(pb_orders_fetch(none, "3958172046650111", tt_kb(), 0, &j, &eb), PB_EAUTH);
	pb_orders_free(o);
	pb_orders_free(none);
}

static void fetch_not_found(void **state)
{
	pb_orders *o = sources(PB_SANDBOX_ORDERS_TOKEN);
	cJSON *j = NULL;
	pb_errbuf eb;

	(void)state;
	assert_int_equal(pb_orders_fetch(o, "NO-SUCH-ORDER", tt_kb(), 0, &j, &eb), PB_ENOTFOUND);
	assert_null(j);
	assert_non_null(strstr(eb.msg, "NO-SUCH-ORDER"));
	pb_orders_free(o);
}

static void fetch_bad_answers(void **state)
{
	pb_orders *o = sources(PB_SANDBOX_ORDERS_TOKEN);
	cJSON *j = NULL;
	pb_errbuf eb;

	(void)state;
	tt_fault(sb, "{\"route\":\"orders.get\",\"action\":\"garbage\"}");
	assert_int_equal(pb_orders_fetch(o, "3958172046650101", tt_kb(), 0, &j, &eb), PB_EUPSTREAM);
	assert_non_null(strstr(eb.msg, "not JSON"));
	tt_fault(sb, "{\"route\":\"orders.get\",\"action\":\"truncate\"}");
	assert_int_equal(pb_orders_fetch(o, "3958172046650101", tt_kb(), 0, &j, &eb), PB_EUPSTREAM);
	tt_fault(sb, "{\"route\":\"orders.get\",\"body\":\"[1,2]\"}");
	assert_int_equal(pb_orders_fetch(o, "3958172046650101", tt_kb(), 0, &j, &eb), PB_EUPSTREAM);
	assert_non_null(strstr(eb.msg, "not an order"));
	tt_fault(sb, "{\"route\":\"orders.get\",\"body\":\"{\\\"id\\\":\\\"OTHER-1\\\"}\"}");
	assert_int_equal(pb_orders_fetch(o, "3958172046650101", tt_kb(), 0, &j, &eb), PB_EUPSTREAM);
	assert_non_null(strstr(eb.msg, "OTHER-1"));
	tt_fault(sb, "{\"route\":\"orders.get\",\"body\":\"{\\\"id\\\":\\\"X\\\",\\\"amount\\\":\\\"lots\\\"}\"}");
	assert_int_equal(pb_orders_fetch(o, "X", tt_kb(), 0, &j, &eb), PB_EUPSTREAM);
	assert_non_null(strstr(eb.msg, "amount"));
	tt_fault(sb, "{\"route\":\"orders.get\",\"action\":\"huge\",\"bytes\":3000000}");
	assert_int_equal(pb_orders_fetch(o, "3958172046650101", tt_kb(), 0, &j, &eb), PB_EUPSTREAM);
	assert_non_null(strstr(eb.msg, "larger than"));
	tt_fault(sb, "{\"route\":\"orders.get\",\"status\":500,\"times\":0}");
	assert_int_equal(pb_orders_fetch(o, "3958172046650101", tt_kb(), 0, &j, &eb), PB_EUPSTREAM);
	assert_int_equal(pb_sandbox_count(sb, "orders.get"), 8); /* the 500 was retried once */
	assert_null(j);
	pb_orders_free(o);
}

static void fetch_wrapped(void **state)
{
	pb_orders *o = sources(PB_SANDBOX_ORDERS_TOKEN);
	cJSON *j = NULL;
	pb_errbuf eb;

	(void)state;
	/* {"order": {...}} with the parcel beside it as "tracking", no id,
	 * and the carrier by its Chinese name. */
	tt_fault(sb, "{\"route\":\"orders.get\",\"body\":\"{\\\"order\\\":{\\\"amount\\\":12.5,"
		     "\\\"currency\\\":\\\"CNY\\\",\\\"paid_at\\\":\\\"2026-11-20 10:00\\\"},"
		     "\\\"tracking\\\":{\\\"carrier\\\":\\\"顺丰\\\",\\\"number\\\":\\\"SF1\\\"}}\"}");
	assert_int_equal(pb_orders_fetch(o, "W-1", tt_kb(), 8 * 3600, &j, &eb), PB_OK);
	assert_string_equal(jstr(j, "id"), "W-1");
	assert_true(jnum(j, "amount") == 12.5);
	assert_string_equal(jstr(j, "paid_at"), "2026-11-20T10:00:00+08:00");
	assert_string_equal(jstr(j, "parcel.carrier"), "sf");
	assert_string_equal(jstr(j, "parcel.number"), "SF1");
	cJSON_Delete(j);
	pb_orders_free(o);
}

/* ---- the sandbox's seed checks ---- */

static void seed_checked(void **state)
{
	char *dir = tu_mkdtemp(), path[PATH_MAX];
	pb_sandbox_opts so;
	pb_sandbox *bad = NULL;
	pb_errbuf eb;

	(void)state;
	tu_write(dir, "seed.yaml",
		 "orders:\n"
		 "  - id: \"A1\"\n"
		 "    colour: red\n"
		 "  - id: \"A1\"\n"
		 "    paid_at: yesterday\n"
		 "    phone_last4: \"12\"\n");
	snprintf(path, sizeof path, "%s/seed.yaml", dir);
	pb_sandbox_opts_init(&so);
	so.seed_file = path;
	assert_int_equal(pb_sandbox_start(&so, &bad, &eb), PB_EPARSE);
	assert_null(bad);
	assert_non_null(strstr(eb.msg, "seed.yaml:3:5: unknown key 'colour'"));
	tu_rmtree(dir);
	free(dir);
}

/* ---- enrichment ---- */

static cJSON *event(const char *json)
{
	cJSON *j = cJSON_Parse(json);

	if (!j)
		fail_msg("bad test event %s", json);
	return j;
}

static void enrich_from_text(void **state)
{
	pb_orders *o = sources(PB_SANDBOX_ORDERS_TOKEN);
	pb_errbuf eb;
	cJSON *e;

	(void)state;
	e = event("{\"message\":\"亲，订单号3958172046650101怎么还没到？都好几天了\"}");
	assert_int_equal(pb_orders_enrich(o, NULL, tt_kb(), e, 0, &eb), PB_OK);
	assert_string_equal(jstr(e, "order.id"), "3958172046650101");
	assert_string_equal(jstr(e, "order.category"), "home");
	assert_null(jstr(e, "order.parcel.number")); /* the parcel moves out of the order */
	assert_string_equal(jstr(e, "parcel.carrier"), "zto");
	assert_string_equal(jstr(e, "parcel.number"), "73100000000101");
	cJSON_Delete(e);

	e = event("{\"message\":\"Hi, my order MY2611200024 is showing lost?? It was a laptop\"}");
	assert_int_equal(pb_orders_enrich(o, NULL, tt_kb(), e, 0, &eb), PB_OK);
	assert_string_equal(jstr(e, "order.currency"), "MYR");
	assert_true(jnum(cJSON_GetObjectItemCaseSensitive(e, "order"), "amount") == 2399);
	assert_string_equal(jstr(e, "parcel.carrier"), "jnt");
	assert_string_equal(jstr(e, "parcel.number"), "612611200024");
	cJSON_Delete(e);

	/* Lower case in the text: the classifier upper-cases, the id matches. */
	e = event("{\"message\":\"order #sg2611200030 where is it\"}");
	assert_int_equal(pb_orders_enrich(o, NULL, tt_kb(), e, 0, &eb), PB_OK);
	assert_string_equal(jstr(e, "order.id"), "SG2611200030");
	cJSON_Delete(e);

	/* The event names its order by id only. */
	e = event("{\"message\":\"还没收到\",\"order\":{\"id\":\"3958172046650106\"}}");
	assert_int_equal(pb_orders_enrich(o, NULL, tt_kb(), e, 0, &eb), PB_OK);
	assert_string_equal(jstr(e, "order.category"), "food");
	assert_string_equal(jstr(e, "parcel.number"), "4311200000106");
	cJSON_Delete(e);
	pb_orders_free(o);
}

static void enrich_tracking_number(void **state)
{
	pb_errbuf eb;
	cJSON *e;

	(void)state;
	/* No order source at all: the tracking number alone gives the parcel. */
	e = event("{\"message\":\"快递单号 SF261120000116 三天没动了，花都要蔫了\"}");
	assert_int_equal(pb_orders_enrich(NULL, NULL, tt_kb(), e, 0, &eb), PB_OK);
	assert_null(cJSON_GetObjectItemCaseSensitive(e, "order"));
	assert_string_equal(jstr(e, "parcel.carrier"), "sf");
	assert_string_equal(jstr(e, "parcel.number"), "SF261120000116");
	cJSON_Delete(e);

	e = event("{\"message\":\"my parcel NVSG2611200027AB says delivered but I have nothing\"}");
	assert_int_equal(pb_orders_enrich(NULL, NULL, tt_kb(), e, 0, &eb), PB_OK);
	assert_string_equal(jstr(e, "parcel.carrier"), "ninjavan");
	cJSON_Delete(e);

	/* A parcel the event already has is kept. */
	e = event("{\"message\":\"快递单号 SF261120000116\",\"parcel\":{\"carrier\":\"zto\","
		  "\"number\":\"73100000000101\"}}");
	assert_int_equal(pb_orders_enrich(NULL, NULL, tt_kb(), e, 0, &eb), PB_OK);
	assert_string_equal(jstr(e, "parcel.number"), "73100000000101");
	cJSON_Delete(e);
}

static void enrich_keeps_the_message(void **state)
{
	pb_orders *o = sources(PB_SANDBOX_ORDERS_TOKEN);
	const char *src = "{\"message\":\"订单号 9999999999999999 到哪了\",\"conversation\":\"c1\"}";
	pb_errbuf eb;
	char *before, *after;
	cJSON *e;

	(void)state;
	e = event(src);
	before = cJSON_PrintUnformatted(e);
	eb.msg[0] = '\0';
	assert_int_equal(pb_orders_enrich(o, NULL, tt_kb(), e, 0, &eb), PB_ENOTFOUND);
	assert_non_null(strstr(eb.msg, "9999999999999999"));
	after = cJSON_PrintUnformatted(e);
	assert_string_equal(before, after);
	free(before);
	free(after);
	cJSON_Delete(e);

	/* The source down: the error is returned, and a tracking number in
	 * the text still gives the parcel. */
	tt_fault(sb, "{\"route\":\"orders.get\",\"status\":503,\"times\":0}");
	e = event("{\"message\":\"订单号 3958172046650102，单号 YT2611200000102 两天没更新\"}");
	assert_int_equal(pb_orders_enrich(o, NULL, tt_kb(), e, 0, &eb), PB_EUPSTREAM);
	assert_null(cJSON_GetObjectItemCaseSensitive(e, "order"));
	assert_string_equal(jstr(e, "parcel.carrier"), "yto");
	cJSON_Delete(e);
	pb_sandbox_faults_clear(sb);

	/* A full order is left alone: nothing is asked. */
	pb_sandbox_requests_clear(sb);
	e = event("{\"message\":\"订单号 3958172046650101\",\"order\":{\"id\":\"X1\",\"amount\":5}}");
	assert_int_equal(pb_orders_enrich(o, NULL, tt_kb(), e, 0, &eb), PB_OK);
	assert_string_equal(jstr(e, "order.id"), "X1");
	assert_int_equal(pb_sandbox_count(sb, "orders.get"), 0);
	cJSON_Delete(e);

	assert_int_equal(pb_orders_enrich(o, NULL, tt_kb(), NULL, 0, &eb), PB_EINVAL);
	pb_orders_free(o);
}

static void enrich_from_store(void **state)
{
	char *dir = tu_mkdtemp(), path[PATH_MAX], *json = NULL;
	pb_store_opts so = {true, 0, 0};
	pb_store *st = NULL;
	pb_orders *o = sources(PB_SANDBOX_ORDERS_TOKEN);
	pb_errbuf eb;
	pb_id id = 0;
	cJSON *e;

	(void)state;
	snprintf(path, sizeof path, "%s/pb.db", dir);
	assert_int_equal(pb_store_open(path, &so, &st, &eb), PB_OK);
	/* As `orders import` stores it, and a later copy a channel saved
	 * without the parcel: the one with the parcel wins. */
	assert_int_equal(pb_store_order_put(st, "import", "IMP-77",
					    "{\"id\":\"IMP-77\",\"amount\":520,\"currency\":\"CNY\","
					    "\"category\":\"electronics\",\"items\":[{\"name\":\"耳机\","
					    "\"qty\":1}],\"parcel\":{\"carrier\":\"zto\","
					    "\"number\":\"73100000000115\"}}",
					    100, NULL, &eb),
			 PB_OK);
	assert_int_equal(pb_store_order_put(st, "chatwoot", "IMP-77",
					    "{\"id\":\"IMP-77\",\"amount\":520,\"currency\":\"CNY\"}", 200,
					    NULL, &eb),
			 PB_OK);
	assert_int_equal(pb_store_order_find(st, NULL, "imp-77", &id, &json, &eb), PB_OK);
	assert_true(id > 0);
	assert_non_null(strstr(json, "73100000000115"));
	free(json);
	assert_int_equal(pb_store_order_find(st, "chatwoot", "IMP-77", NULL, &json, &eb), PB_OK);
	assert_null(strstr(json, "parcel"));
	free(json);
	assert_int_equal(pb_store_order_find(st, "shopee", "IMP-77", NULL, NULL, &eb), PB_ENOTFOUND);
	assert_int_equal(pb_store_order_find(st, NULL, "", NULL, NULL, &eb), PB_EINVAL);

	pb_sandbox_requests_clear(sb);
	e = event("{\"message\":\"订单号IMP-77的耳机收到是坏的\"}");
	assert_int_equal(pb_orders_enrich(o, st, tt_kb(), e, 0, &eb), PB_OK);
	assert_true(jnum(cJSON_GetObjectItemCaseSensitive(e, "order"), "amount") == 520);
	assert_string_equal(jstr(e, "parcel.number"), "73100000000115");
	assert_int_equal(pb_sandbox_count(sb, "orders.get"), 0); /* the store answered */
	cJSON_Delete(e);

	/* Not in the store: the HTTP source is asked next. */
	e = event("{\"message\":\"订单号 3958172046650119 什么时候到\"}");
	assert_int_equal(pb_orders_enrich(o, st, tt_kb(), e, 0, &eb), PB_OK);
	assert_string_equal(jstr(e, "parcel.carrier"), "jd");
	assert_int_equal(pb_sandbox_count(sb, "orders.get"), 1);
	cJSON_Delete(e);

	pb_store_close(st);
	pb_orders_free(o);
	tu_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(url_template),
		cmocka_unit_test_setup(fetch_with_bearer, reset),
		cmocka_unit_test_setup(fetch_refused_token, reset),
		cmocka_unit_test_setup(fetch_not_found, reset),
		cmocka_unit_test_setup(fetch_bad_answers, reset),
		cmocka_unit_test_setup(fetch_wrapped, reset),
		cmocka_unit_test(seed_checked),
		cmocka_unit_test_setup(enrich_from_text, reset),
		cmocka_unit_test_setup(enrich_tracking_number, reset),
		cmocka_unit_test_setup(enrich_keeps_the_message, reset),
		cmocka_unit_test_setup(enrich_from_store, reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
