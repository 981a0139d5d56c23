/*
 * Tracking: the providers' mapping tables, the Kuaidi100 signature, the
 * parsing of every documented answer shape and error reply (pure functions,
 * literal inputs), then the tracker end to end against the in-process
 * sandbox: each provider's normal, signed, lost, returned, customs, empty
 * and unknown parcels, error replies, retries, Retry-After, timeouts, bad
 * and oversized bodies, the cache (hits, expiry, LRU, stale answers) and
 * 17TRACK's batches of 40.
 */
#include "trackutil.h"

#include <cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/digest.h"
#include "../../src/track_internal.h"

/* 2026-11-23T00:00:00Z, after every event in the seed. */
#define NOW 1795392000LL

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

/* --- mapping tables -------------------------------------------------- */

static void expect_k100(const char *code, pb_pstate st, pb_exkind ex)
{
	pb_pstate s;
	pb_exkind e;

	if (!pb_k100_map(code, &s, &e))
		fail_msg("kuaidi100 code %s not mapped", code);
	if (s != st || e != ex)
		fail_msg("kuaidi100 %s: got %s/%s, want %s/%s", code, pb_pstate_name(s),
			 pb_exkind_name(e), pb_pstate_name(st), pb_exkind_name(ex));
}

static void kuaidi100_mapping(void **state)
{
	pb_pstate s;
	pb_exkind e;

	(void)state;
	expect_k100("0", PB_ST_IN_TRANSIT, PB_EX_NONE);
	expect_k100("1", PB_ST_IN_TRANSIT, PB_EX_NONE);
	expect_k100("101", PB_ST_INFO_RECEIVED, PB_EX_NONE);
	expect_k100("102", PB_ST_INFO_RECEIVED, PB_EX_NONE);
	expect_k100("103", PB_ST_IN_TRANSIT, PB_EX_NONE);
	expect_k100("1001", PB_ST_IN_TRANSIT, PB_EX_NONE);
	expect_k100("1002", PB_ST_IN_TRANSIT, PB_EX_NONE);
	expect_k100("1003", PB_ST_IN_TRANSIT, PB_EX_NONE);
	expect_k100("2", PB_ST_EXCEPTION, PB_EX_OTHER);
	expect_k100("201", PB_ST_EXCEPTION, PB_EX_DELAYED);
	expect_k100("202", PB_ST_EXCEPTION, PB_EX_DELAYED);
	expect_k100("203", PB_ST_EXCEPTION, PB_EX_REFUSED);
	expect_k100("204", PB_ST_ATTEMPT_FAIL, PB_EX_NONE);
	expect_k100("205", PB_ST_AVAILABLE_FOR_PICKUP, PB_EX_NONE);
	expect_k100("206", PB_ST_ATTEMPT_FAIL, PB_EX_NONE);
	expect_k100("207", PB_ST_EXCEPTION, PB_EX_ADDRESS);
	expect_k100("208", PB_ST_EXCEPTION, PB_EX_DELAYED);
	expect_k100("209", PB_ST_EXCEPTION, PB_EX_DAMAGED);
	expect_k100("210", PB_ST_EXCEPTION, PB_EX_OTHER);
	expect_k100("3", PB_ST_DELIVERED, PB_EX_NONE);
	expect_k100("301", PB_ST_DELIVERED, PB_EX_NONE);
	expect_k100("302", PB_ST_DELIVERED, PB_EX_NONE);
	expect_k100("303", PB_ST_DELIVERED, PB_EX_NONE);
	expect_k100("304", PB_ST_DELIVERED, PB_EX_NONE);
	expect_k100("4", PB_ST_EXCEPTION, PB_EX_RETURNED);
	expect_k100("401", PB_ST_EXCEPTION, PB_EX_OTHER);
	expect_k100("5", PB_ST_OUT_FOR_DELIVERY, PB_EX_NONE);
	expect_k100("501", PB_ST_AVAILABLE_FOR_PICKUP, PB_EX_NONE);
	expect_k100("6", PB_ST_EXCEPTION, PB_EX_RETURNING);
	expect_k100("7", PB_ST_IN_TRANSIT, PB_EX_NONE);
	expect_k100("8", PB_ST_IN_TRANSIT, PB_EX_NONE);
	expect_k100("10", PB_ST_IN_TRANSIT, PB_EX_NONE);
	expect_k100("11", PB_ST_IN_TRANSIT, PB_EX_NONE);
	expect_k100("12", PB_ST_IN_TRANSIT, PB_EX_NONE);
	expect_k100("13", PB_ST_EXCEPTION, PB_EX_CUSTOMS);
	expect_k100("14", PB_ST_EXCEPTION, PB_EX_REFUSED);
	/* Names, as resultv2=1 sends them. */
	expect_k100("签收", PB_ST_DELIVERED, PB_EX_NONE);
	expect_k100("退回", PB_ST_EXCEPTION, PB_EX_RETURNING);
	expect_k100("投柜或驿站", PB_ST_AVAILABLE_FOR_PICKUP, PB_EX_NONE);
	/* Codes added after this table fall back to their family. */
	expect_k100("1004", PB_ST_IN_TRANSIT, PB_EX_NONE);
	expect_k100("305", PB_ST_DELIVERED, PB_EX_NONE);
	expect_k100("502", PB_ST_OUT_FOR_DELIVERY, PB_EX_NONE);
	assert_false(pb_k100_map("9", &s, &e));
	assert_int_equal(s, PB_ST_UNKNOWN);
	assert_false(pb_k100_map("99999", &s, &e));
	assert_false(pb_k100_map("3a", &s, &e));
	assert_false(pb_k100_map("", &s, &e));
	assert_false(pb_k100_map(NULL, &s, &e));
	assert_false(pb_k100_map("未知状态", &s, &e));
}

static void expect_t17(const char *code, pb_pstate st, pb_exkind ex)
{
	pb_pstate s;
	pb_exkind e;

	if (!pb_t17_map(code, &s, &e))
		fail_msg("17track status %s not mapped", code);
	if (s != st || e != ex)
		fail_msg("17track %s: got %s/%s, want %s/%s", code, pb_pstate_name(s),
			 pb_exkind_name(e), pb_pstate_name(st), pb_exkind_name(ex));
}

static void t17_mapping(void **state)
{
	pb_pstate s;
	pb_exkind e;

	(void)state;
	expect_t17("NotFound", PB_ST_PENDING, PB_EX_NONE);
	expect_t17("NotFound_InvalidCode", PB_ST_PENDING, PB_EX_NONE);
	expect_t17("InfoReceived", PB_ST_INFO_RECEIVED, PB_EX_NONE);
	expect_t17("InTransit_PickedUp", PB_ST_IN_TRANSIT, PB_EX_NONE);
	expect_t17("InTransit_Departure", PB_ST_IN_TRANSIT, PB_EX_NONE);
	expect_t17("InTransit_Arrival", PB_ST_IN_TRANSIT, PB_EX_NONE);
	expect_t17("InTransit_CustomsProcessing", PB_ST_IN_TRANSIT, PB_EX_NONE);
	expect_t17("InTransit_CustomsReleased", PB_ST_IN_TRANSIT, PB_EX_NONE);
	expect_t17("InTransit_CustomsRequiringInformation", PB_ST_EXCEPTION, PB_EX_CUSTOMS);
	expect_t17("InTransit_Other", PB_ST_IN_TRANSIT, PB_EX_NONE);
	expect_t17("Expired_Other", PB_ST_EXPIRED, PB_EX_NONE);
	expect_t17("AvailableForPickup_Other", PB_ST_AVAILABLE_FOR_PICKUP, PB_EX_NONE);
	expect_t17("OutForDelivery_Other", PB_ST_OUT_FOR_DELIVERY, PB_EX_NONE);
	expect_t17("DeliveryFailure_Other", PB_ST_ATTEMPT_FAIL, PB_EX_NONE);
	expect_t17("DeliveryFailure_NoBody", PB_ST_ATTEMPT_FAIL, PB_EX_NONE);
	expect_t17("DeliveryFailure_Security", PB_ST_EXCEPTION, PB_EX_CUSTOMS);
	expect_t17("DeliveryFailure_Rejected", PB_ST_EXCEPTION, PB_EX_REFUSED);
	expect_t17("DeliveryFailure_InvalidAddress", PB_ST_EXCEPTION, PB_EX_ADDRESS);
	expect_t17("Delivered_Other", PB_ST_DELIVERED, PB_EX_NONE);
	expect_t17("Exception_Other", PB_ST_EXCEPTION, PB_EX_OTHER);
	expect_t17("Exception_Returning", PB_ST_EXCEPTION, PB_EX_RETURNING);
	expect_t17("Exception_Returned", PB_ST_EXCEPTION, PB_EX_RETURNED);
	expect_t17("Exception_NoBody", PB_ST_EXCEPTION, PB_EX_ADDRESS);
	expect_t17("Exception_Security", PB_ST_EXCEPTION, PB_EX_CUSTOMS);
	expect_t17("Exception_Damage", PB_ST_EXCEPTION, PB_EX_DAMAGED);
	expect_t17("Exception_Rejected", PB_ST_EXCEPTION, PB_EX_REFUSED);
	expect_t17("Exception_Delayed", PB_ST_EXCEPTION, PB_EX_DELAYED);
	expect_t17("Exception_Lost", PB_ST_EXCEPTION, PB_EX_LOST);
	expect_t17("Exception_Destroyed", PB_ST_EXCEPTION, PB_EX_LOST);
	expect_t17("Exception_Cancel", PB_ST_EXCEPTION, PB_EX_OTHER);
	/* A sub-status added later falls back to its main status. */
	expect_t17("Delivered_Neighbour", PB_ST_DELIVERED, PB_EX_NONE);
	expect_t17("Exception_Confiscated", PB_ST_EXCEPTION, PB_EX_OTHER);
	assert_false(pb_t17_map("Teleported", &s, &e));
	assert_false(pb_t17_map("Teleported_Other", &s, &e));
	assert_false(pb_t17_map(NULL, &s, &e));
	assert_int_equal(s, PB_ST_UNKNOWN);
}

static void t17_error_codes(void **state)
{
	(void)state;
	assert_int_equal(pb_t17_error(-18010001), PB_EAUTH);
	assert_int_equal(pb_t17_error(-18010002), PB_EAUTH);
	assert_int_equal(pb_t17_error(-18010004), PB_EAUTH);
	assert_int_equal(pb_t17_error(-18010005), PB_EAUTH);
	assert_int_equal(pb_t17_error(-18010003), PB_EUPSTREAM);
	assert_int_equal(pb_t17_error(-18010012), PB_EINVAL);
	assert_int_equal(pb_t17_error(-18010014), PB_EINVAL);
	assert_int_equal(pb_t17_error(-18019901), PB_OK);
	assert_int_equal(pb_t17_error(-18019903), PB_EINVAL);
	assert_int_equal(pb_t17_error(-18019907), PB_ELIMIT);
	assert_int_equal(pb_t17_error(-18019908), PB_ELIMIT);
	assert_int_equal(pb_t17_error(-18019909), PB_ENOTFOUND);
	assert_int_equal(pb_t17_error(-1), PB_EUPSTREAM);
}

/* --- Kuaidi100 wire format ------------------------------------------- */

static void md5_rfc1321_vectors(void **state)
{
	static const char *const v[][2] = {
		{"", "d41d8cd98f00b204e9800998ecf8427e"},
		{"a", "0cc175b9c0f1b6a831c399e269772661"},
		{"abc", "900150983cd24fb0d6963f7d28e17f72"},
		{"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
		{"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		 "d174ab98d277d9f5a5611c2c9f419d9f"},
		{"1234567890123456789012345678901234567890123456789012345678901234567890123456"
		 "7890",
		 "57edf4a22be3c955ac49da2e2107b67a"},
	};
	char out[PB_MD5_HEX_LEN + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		assert_int_equal(pb_md5_hex(v[i][0], strlen(v[i][0]), false, out), PB_OK);
		assert_string_equal(out, v[i][1]);
	}
	assert_int_equal(pb_md5_hex("abc", 3, true, out), PB_OK);
	assert_string_equal(out, "900150983CD24FB0D6963F7D28E17F72");
}

static void kuaidi100_sign_and_body(void **state)
{
	char sign[PB_MD5_HEX_LEN + 1];
	pb_buf param, body;
	cJSON *j;

	(void)state;
	/* Worked out independently (Python's hashlib) for this input. */
	assert_int_equal(pb_k100_sign("{\"com\":\"yuantong\",\"num\":\"12345678\"}", "testkey",
				      "TESTCUSTOMER", sign),
			 PB_OK);
	assert_string_equal(sign, "C5781ABD67953FEAE58CC3921E6D2B18");

	pb_buf_init(&param, 4096);
	pb_buf_init(&body, 4096);
	assert_int_equal(pb_k100_param("zhongtong", "73100000000001", NULL, &param), PB_OK);
	assert_string_equal(pb_buf_str(&param), "{\"com\":\"zhongtong\",\"num\":\"73100000000001\","
						"\"resultv2\":\"4\",\"show\":\"0\",\"order\":\"desc\"}");
	assert_int_equal(pb_k100_body("sandbox-customer", "sandbox-key", pb_buf_str(&param), &body),
			 PB_OK);
	assert_string_equal(pb_buf_str(&body),
			    "customer=sandbox-customer&sign=BE420A7FBD9C371F8551DB40CF44A856&param="
			    "%7B%22com%22%3A%22zhongtong%22%2C%22num%22%3A%2273100000000001%22%2C%22"
			    "resultv2%22%3A%224%22%2C%22show%22%3A%220%22%2C%22order%22%3A%22desc%22%7D");
	/* The key is never sent, only the signature. */
	assert_null(strstr(pb_buf_str(&body), "sandbox-key"));
	assert_int_equal(pb_k100_param("shunfeng", "SF1", "5678", &param), PB_OK);
	j = cJSON_Parse(pb_buf_str(&param));
	assert_string_equal(cJSON_GetObjectItem(j, "phone")->valuestring, "5678");
	cJSON_Delete(j);
	assert_int_equal(pb_k100_body("a&b=c", "k", "{}", &body), PB_OK);
	assert_non_null(strstr(pb_buf_str(&body), "customer=a%26b%3Dc&"));
	pb_buf_release(&param);
	pb_buf_release(&body);
}

static pb_err k100(const char *json, pb_trace *t, pb_errbuf *eb)
{
	static const char *const secrets[] = {"the-key", "the-customer", NULL};

	pb_trace_init(t);
	eb->msg[0] = '\0';
	return pb_k100_parse(json, strlen(json), secrets, t, eb);
}

static void kuaidi100_answer_with_status_codes(void **state)
{
	pb_trace t;
	pb_errbuf eb;
	char tb[40];

	(void)state;
	assert_int_equal(
		k100("{\"message\":\"ok\",\"nu\":\"YT1\",\"ischeck\":\"1\",\"condition\":\"F00\","
		     "\"com\":\"yuantong\",\"status\":\"200\",\"state\":\"304\",\"data\":["
		     "{\"time\":\"2026-11-20 09:00:00\",\"ftime\":\"2026-11-20 09:00:00\","
		     "\"context\":\"已揽收\",\"areaName\":\"浙江,杭州市\",\"status\":\"揽收\","
		     "\"statusCode\":\"103\"},"
		     "{\"time\":\"2026-11-22 19:45:10\",\"context\":\" 您的快件已由【菜鸟驿站】代收 \","
		     "\"location\":\"杭州\",\"areaName\":\"\",\"status\":\"投柜或站签收\","
		     "\"statusCode\":304}]}",
		     &t, &eb),
		PB_OK);
	assert_true(t.found);
	assert_int_equal(t.n_events, 2);
	/* Sorted newest first whatever order they came in. */
	assert_string_equal(pb_time_format(t.events[0].time, tb, sizeof tb),
			    "2026-11-22T19:45:10+08:00");
	assert_string_equal(t.events[0].description, "您的快件已由【菜鸟驿站】代收");
	assert_string_equal(t.events[0].location, "杭州");
	assert_string_equal(t.events[0].code, "304");
	assert_int_equal(t.events[0].state, PB_ST_DELIVERED);
	assert_string_equal(t.events[1].location, "浙江,杭州市");
	assert_int_equal(t.events[1].state, PB_ST_IN_TRANSIT);
	assert_string_equal(t.events[1].code, "103");
	pb_trace_release(&t);
}

static void kuaidi100_answer_without_status_codes(void **state)
{
	pb_trace t;
	pb_errbuf eb;

	(void)state;
	/* The plain shape: only the parcel's state. */
	assert_int_equal(k100("{\"message\":\"ok\",\"state\":\"3\",\"status\":\"200\",\"data\":["
			      "{\"time\":\"2026-11-22 10:00:00\",\"context\":\"已签收\"},"
			      "{\"time\":\"2026-11-21 10:00:00\",\"context\":\"派件中\"}]}",
			      &t, &eb),
			 PB_OK);
	assert_int_equal(t.events[0].state, PB_ST_DELIVERED);
	assert_string_equal(t.events[0].code, "3");
	assert_int_equal(t.events[1].state, PB_ST_UNKNOWN);
	assert_string_equal(t.events[1].code, "");
	pb_trace_release(&t);
	/* resultv2=1: status names only. */
	assert_int_equal(k100("{\"state\":0,\"data\":[{\"ftime\":\"2026-11-21 10:00:00\","
			      "\"context\":\"到达\",\"status\":\"在途\"}]}",
			      &t, &eb),
			 PB_OK);
	assert_int_equal(t.events[0].state, PB_ST_IN_TRANSIT);
	assert_string_equal(t.events[0].code, "在途");
	pb_trace_release(&t);
}

static void kuaidi100_problem_text(void **state)
{
	pb_trace t;
	pb_errbuf eb;

	(void)state;
	assert_int_equal(k100("{\"state\":\"2\",\"data\":["
			      "{\"time\":\"2026-11-19 15:00:00\",\"context\":\"快件遗失\",\"statusCode\":\"2\"},"
			      "{\"time\":\"2026-11-18 15:00:00\",\"context\":\"外包装破损\",\"statusCode\":\"2\"},"
			      "{\"time\":\"2026-11-17 15:00:00\",\"context\":\"地址不详\",\"statusCode\":\"2\"}]}",
			      &t, &eb),
			 PB_OK);
	assert_int_equal(t.events[0].exception, PB_EX_LOST);
	assert_int_equal(t.events[1].exception, PB_EX_DAMAGED);
	assert_int_equal(t.events[2].exception, PB_EX_OTHER);
	pb_trace_release(&t);
}

static void kuaidi100_error_replies(void **state)
{
	pb_trace t;
	pb_errbuf eb;

	(void)state;
	assert_int_equal(k100("{\"result\":false,\"returnCode\":\"500\",\"message\":\"查询无结果，请隔段时间再查\"}",
			      &t, &eb),
			 PB_OK);
	assert_false(t.found);
	assert_int_equal(t.n_events, 0);
	assert_int_equal(k100("{\"result\":false,\"returnCode\":\"400\",\"message\":\"找不到对应公司\"}",
			      &t, &eb),
			 PB_EINVAL);
	assert_non_null(strstr(eb.msg, "returnCode 400: 找不到对应公司"));
	assert_int_equal(k100("{\"result\":false,\"returnCode\":\"501\",\"message\":\"服务器错误\"}",
			      &t, &eb),
			 PB_EUPSTREAM);
	assert_int_equal(k100("{\"result\":false,\"returnCode\":\"502\",\"message\":\"服务器繁忙\"}",
			      &t, &eb),
			 PB_EUPSTREAM);
	assert_non_null(strstr(eb.msg, "busy"));
	assert_int_equal(k100("{\"result\":false,\"returnCode\":503,\"message\":\"验证签名失败\"}", &t,
			      &eb),
			 PB_EAUTH);
	assert_non_null(strstr(eb.msg, "signature"));
	assert_int_equal(k100("{\"result\":false,\"returnCode\":\"601\",\"message\":\"POLL:KEY已过期\"}",
			      &t, &eb),
			 PB_EAUTH);
	assert_int_equal(k100("{\"result\":false,\"returnCode\":\"777\",\"message\":\"?\"}", &t, &eb),
			 PB_EUPSTREAM);
	/* A message quoting a secret is redacted. */
	assert_int_equal(k100("{\"result\":false,\"returnCode\":\"503\",\"message\":\"bad key the-key "
			      "for the-customer\"}",
			      &t, &eb),
			 PB_EAUTH);
	assert_null(strstr(eb.msg, "the-key"));
	assert_null(strstr(eb.msg, "the-customer"));
	assert_non_null(strstr(eb.msg, "bad key *** for ***"));
	pb_trace_release(&t);
}

static void kuaidi100_malformed(void **state)
{
	pb_trace t;
	pb_errbuf eb;
	static const char *const bad[] = {
		"",
		"<html>502 Bad Gateway</html>",
		"{\"message\":\"ok\",\"data\":[{\"time\":\"2026-11-2",
		"[1,2,3]",
		"{\"message\":\"ok\"}",
		"{\"state\":\"0\",\"data\":{\"time\":\"x\"}}",
		"{\"state\":\"0\",\"data\":[42]}",
		"{\"state\":\"0\",\"data\":[{\"context\":\"no time\"}]}",
		"{\"state\":\"0\",\"data\":[{\"time\":\"yesterday\",\"context\":\"x\"}]}",
		"{\"state\":\"0\",\"data\":[{\"time\":\"2026-13-01 00:00:00\",\"context\":\"x\"}]}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (k100(bad[i], &t, &eb) != PB_EPARSE)
			fail_msg("accepted: %s", bad[i]);
		assert_true(eb.msg[0] != '\0');
		pb_trace_release(&t);
	}
}

static void kuaidi100_invalid_utf8_is_repaired(void **state)
{
	pb_trace t;
	pb_errbuf eb;

	(void)state;
	assert_int_equal(k100("{\"state\":\"0\",\"data\":[{\"time\":\"2026-11-21 10:00:00\","
			      "\"context\":\"到达\xff\xfe中心\",\"areaName\":\"\xc3\"}]}",
			      &t, &eb),
			 PB_OK);
	assert_string_equal(t.events[0].description, "到达\xef\xbf\xbd\xef\xbf\xbd中心");
	assert_string_equal(t.events[0].location, "\xef\xbf\xbd");
	pb_trace_release(&t);
}

static void kuaidi100_event_cap(void **state)
{
	pb_buf b;
	pb_trace t;
	pb_errbuf eb;
	int i;

	(void)state;
	pb_buf_init(&b, PB_BUF_NOLIMIT);
	pb_buf_puts(&b, "{\"state\":\"0\",\"data\":[");
	for (i = 0; i < 800; i++)
		pb_buf_printf(&b, "%s{\"time\":\"2026-11-%02d %02d:%02d:00\",\"context\":\"%s\"}",
			      i ? "," : "", 1 + i / 60 % 28, i / 60 % 24, i % 60,
			      i == 0 ? "x" : "very long text that goes on");
	pb_buf_puts(&b, "]}");
	assert_int_equal(k100(pb_buf_str(&b), &t, &eb), PB_OK);
	assert_int_equal(t.n_events, PB_TRACK_MAX_EVENTS);
	pb_trace_release(&t);
	pb_buf_release(&b);
}

/* --- 17TRACK wire format --------------------------------------------- */

static pb_err t17(const char *json, long status, pb_t17_item *items, size_t n, cJSON **root,
		  pb_errbuf *eb)
{
	static const char *const secrets[] = {"tok123", NULL};

	eb->msg[0] = '\0';
	return pb_t17_parse(json, strlen(json), status, items, n, secrets, root, eb);
}

static void t17_register_answer(void **state)
{
	pb_t17_item it[4] = {{.number = "AA1"}, {.number = "BB2"}, {.number = "CC3"}, {.number = "DD4"}};
	pb_errbuf eb;
	cJSON *root;

	(void)state;
	assert_int_equal(
		t17("{\"code\":0,\"data\":{\"accepted\":[{\"origin\":1,\"number\":\"AA1\",\"carrier\":3011,"
		    "\"email\":null,\"tag\":null,\"lang\":null}],\"rejected\":["
		    "{\"number\":\"BB2\",\"error\":{\"code\":-18019901,\"message\":\"The tracking number "
		    "'BB2' has been registered, don't need to repeat registration.\"}},"
		    "{\"number\":\"CC3\",\"error\":{\"code\":-18019903,\"message\":\"The carrier cannot be "
		    "detected.\"}}]}}",
		    200, it, 4, &root, &eb),
		PB_OK);
	assert_true(it[0].accepted);
	assert_non_null(it[0].json);
	assert_false(it[1].accepted);
	assert_int_equal(it[1].code, -18019901);
	assert_int_equal(it[2].code, -18019903);
	assert_non_null(strstr(it[2].msg, "cannot be detected"));
	assert_false(it[3].accepted);
	assert_int_equal(it[3].code, 0);
	cJSON_Delete(root);
}

static void t17_request_errors(void **state)
{
	pb_t17_item it[1] = {{.number = "AA1"}};
	pb_errbuf eb;
	cJSON *root;

	(void)state;
	assert_int_equal(t17("{\"code\":401,\"data\":{\"errors\":[{\"code\":-18010002,"
			     "\"message\":\"The security key tok123 is invalid.\"}]}}",
			     401, it, 1, &root, &eb),
			 PB_EAUTH);
	assert_null(root);
	assert_non_null(strstr(eb.msg, "-18010002"));
	assert_null(strstr(eb.msg, "tok123"));
	assert_int_equal(t17("{\"code\":-18019908,\"data\":{\"errors\":[{\"code\":-18019908,"
			     "\"message\":\"Your quotas have run out.\"}]}}",
			     200, it, 1, &root, &eb),
			 PB_ELIMIT);
	assert_int_equal(t17("{\"code\":-18010014,\"data\":null}", 200, it, 1, &root, &eb),
			 PB_EINVAL);
	assert_int_equal(t17("{\"code\":-18010002,\"data\":null}", 200, it, 1, &root, &eb),
			 PB_EAUTH);
	assert_int_equal(t17("<html>oops</html>", 500, it, 1, &root, &eb), PB_EUPSTREAM);
	assert_int_equal(t17("Unauthorized", 401, it, 1, &root, &eb), PB_EAUTH);
	assert_int_equal(t17("{\"code\":0,\"data\":[", 200, it, 1, &root, &eb), PB_EPARSE);
	assert_int_equal(t17("{\"code\":0}", 200, it, 1, &root, &eb), PB_EPARSE);
	assert_int_equal(t17("{\"data\":{}}", 200, it, 1, &root, &eb), PB_EPARSE);
}

static pb_err t17_item_trace(const char *json, pb_trace *t, pb_errbuf *eb)
{
	cJSON *j = cJSON_Parse(json);
	pb_err err;

	if (!j)
		fail_msg("test JSON does not parse: %s", json);
	pb_trace_init(t);
	err = pb_t17_trace(j, t, eb);
	cJSON_Delete(j);
	return err;
}

static void t17_trace_shapes(void **state)
{
	pb_trace t;
	pb_errbuf eb;
	char tb[40];

	(void)state;
	/* Two providers repeating an event; one event without a sub-status
	 * (the newest: it takes the parcel's); one with a local time and no
	 * offset beside its UTC time. */
	assert_int_equal(
		t17_item_trace(
			"{\"number\":\"RB1\",\"carrier\":3011,\"track_info\":{\"latest_status\":"
			"{\"status\":\"AvailableForPickup\",\"sub_status\":\"AvailableForPickup_Other\"},"
			"\"tracking\":{\"providers\":["
			"{\"provider\":{\"key\":1},\"events\":["
			"{\"time_iso\":\"2026-11-22T13:00:00+08:00\",\"time_utc\":\"2026-11-22T05:00:00Z\","
			"\"description\":\"Ready for collection\",\"location\":null,"
			"\"address\":{\"city\":\"Tampines\",\"country\":\"SG\"},\"sub_status\":null},"
			"{\"time_iso\":\"2026-11-21T06:00:00+08:00\",\"time_utc\":\"2026-11-20T22:00:00Z\","
			"\"description\":\"Arrived\",\"location\":\"Singapore\",\"sub_status\":\"InTransit_Arrival\"}]},"
			"{\"provider\":{\"key\":2},\"events\":["
			"{\"time_iso\":\"2026-11-21T06:00:00+08:00\",\"time_utc\":\"2026-11-20T22:00:00Z\","
			"\"description\":\"Arrived\",\"location\":\"Singapore\",\"sub_status\":\"InTransit_Arrival\"},"
			"{\"time_iso\":\"2026-11-18T23:00:00\",\"time_utc\":\"2026-11-18T15:00:00Z\","
			"\"description\":\"Departed\",\"location\":\"广州\",\"sub_status\":\"InTransit_Departure\"}]}]}}}",
			&t, &eb),
		PB_OK);
	assert_true(t.found);
	assert_int_equal(t.n_events, 3);
	assert_int_equal(t.events[0].state, PB_ST_AVAILABLE_FOR_PICKUP);
	assert_string_equal(t.events[0].code, "AvailableForPickup_Other");
	assert_string_equal(t.events[0].location, "Tampines, SG");
	assert_string_equal(pb_time_format(t.events[2].time, tb, sizeof tb),
			    "2026-11-18T23:00:00+08:00");
	pb_trace_release(&t);

	assert_int_equal(t17_item_trace("{\"number\":\"X1\",\"track_info\":{\"latest_status\":"
					"{\"status\":\"NotFound\",\"sub_status\":\"NotFound_Other\"},"
					"\"tracking\":{\"providers\":[]}}}",
					&t, &eb),
			 PB_OK);
	assert_false(t.found);
	pb_trace_release(&t);
	assert_int_equal(t17_item_trace("{\"number\":\"X1\",\"track_info\":null}", &t, &eb), PB_OK);
	assert_false(t.found);
	pb_trace_release(&t);
	assert_int_equal(t17_item_trace("{\"number\":\"X1\",\"track_info\":{\"tracking\":{\"providers\":"
					"[{\"events\":[{\"time_iso\":\"soon\",\"description\":\"x\"}]}]}}}",
					&t, &eb),
			 PB_EPARSE);
	pb_trace_release(&t);
	assert_int_equal(t17_item_trace("{\"number\":\"X1\",\"track_info\":{\"tracking\":{\"providers\":"
					"{\"events\":[]}}}}",
					&t, &eb),
			 PB_EPARSE);
	pb_trace_release(&t);
}

/* --- the tracker against the sandbox --------------------------------- */

static pb_tracker *tracker(pb_track_config *c)
{
	pb_tracker *t = NULL;
	pb_errbuf eb;

	if (pb_tracker_new(c, tt_kb(), &t, &eb))
		fail_msg("%s", eb.msg);
	return t;
}

static pb_tracker *default_tracker(void)
{
	pb_track_config c;
	pb_tracker *t;

	tt_config(&c, sb);
	t = tracker(&c);
	pb_track_config_release(&c);
	return t;
}

/* Looks one parcel up and checks the newest event. */
static void expect_parcel(pb_tracker *t, const char *carrier, const char *number,
			  const char *phone, pb_provider prov, pb_pstate st, pb_exkind ex,
			  const char *text)
{
	pb_track_query q = {carrier, number, phone, prov};
	pb_track_result r;

	if (pb_track_lookup(t, &q, NOW, &r))
		fail_msg("%s %s: %s", carrier ? carrier : "-", number, r.eb.msg);
	assert_true(r.trace.found);
	assert_false(r.trace.stale);
	assert_true(r.trace.n_events > 0);
	if (r.trace.events[0].state != st || r.trace.events[0].exception != ex)
		fail_msg("%s: got %s/%s", number, pb_pstate_name(r.trace.events[0].state),
			 pb_exkind_name(r.trace.events[0].exception));
	if (text && !strstr(r.trace.events[0].description, text))
		fail_msg("%s: '%s' lacks '%s'", number, r.trace.events[0].description, text);
	assert_string_equal(r.trace.number, number);
	assert_string_equal(r.trace.provider, pb_provider_name(prov));
	assert_int_equal(r.trace.fetched_at, NOW);
	pb_track_result_release(&r);
}

static void kuaidi100_parcels(void **state)
{
	pb_tracker *t = default_tracker();
	pb_provider K = PB_PROVIDER_KUAIDI100;

	(void)state;
	expect_parcel(t, "zto", "73100000000001", NULL, K, PB_ST_IN_TRANSIT, PB_EX_NONE, "杭州转运中心");
	expect_parcel(t, "sf", "SF1234567890123", "5678", K, PB_ST_DELIVERED, PB_EX_NONE, "本人签收");
	expect_parcel(t, "yto", "YT1234567890123", NULL, K, PB_ST_DELIVERED, PB_EX_NONE, "驿站");
	expect_parcel(t, "yunda", "4312345678901", NULL, K, PB_ST_DELIVERED, PB_EX_NONE, "丰巢");
	expect_parcel(t, "sto", "773000000000001", NULL, K, PB_ST_DELIVERED, PB_EX_NONE, "前台");
	expect_parcel(t, "jt", "JT1234567890123", NULL, K, PB_ST_DELIVERED, PB_EX_NONE, "代签");
	expect_parcel(t, "ems", "EA123456789CN", NULL, K, PB_ST_EXCEPTION, PB_EX_LOST, "遗失");
	expect_parcel(t, "zto", "73100000000003", NULL, K, PB_ST_EXCEPTION, PB_EX_DELAYED, "滞留");
	expect_parcel(t, "deppon", "DPK123456789012", NULL, K, PB_ST_EXCEPTION, PB_EX_RETURNED, NULL);
	expect_parcel(t, "ems", "EB123456789CN", NULL, K, PB_ST_EXCEPTION, PB_EX_CUSTOMS, "清关");
	expect_parcel(t, "jd", "JDX001234567890", NULL, K, PB_ST_OUT_FOR_DELIVERY, PB_EX_NONE,
		      "Out for delivery");
	pb_tracker_free(t);
}

static void t17_parcels(void **state)
{
	pb_tracker *t = default_tracker();
	pb_provider S = PB_PROVIDER_17TRACK;

	(void)state;
	expect_parcel(t, "spx", "SPXMY012345678901", NULL, S, PB_ST_IN_TRANSIT, PB_EX_NONE, "sorting hub");
	expect_parcel(t, "ninjavan", "NVMY1234567890AB", NULL, S, PB_ST_DELIVERED, PB_EX_NONE, "locker");
	expect_parcel(t, NULL, "LX123456789CN", NULL, S, PB_ST_DELIVERED, PB_EX_NONE, "本人签收");
	expect_parcel(t, "jnt", "JNT123456789012", NULL, S, PB_ST_EXCEPTION, PB_EX_LOST, "lost");
	expect_parcel(t, "singpost", "RR123456789SG", NULL, S, PB_ST_EXCEPTION, PB_EX_RETURNED, NULL);
	expect_parcel(t, "lex", "LEXMY12345678", NULL, S, PB_ST_EXCEPTION, PB_EX_CUSTOMS, "customs");
	expect_parcel(t, NULL, "RB123456789CN", NULL, S, PB_ST_AVAILABLE_FOR_PICKUP, PB_EX_NONE,
		      "POPStation");
	pb_tracker_free(t);
}

static void auto_provider_by_carrier(void **state)
{
	pb_tracker *t = default_tracker();
	pb_track_query q[2] = {
		{"zto", "73100000000001", NULL, PB_PROVIDER_AUTO},
		{"spx", "SPXMY012345678901", NULL, PB_PROVIDER_AUTO},
	};
	pb_track_result r[2];

	(void)state;
	/* zto has a Kuaidi100 code and Kuaidi100 is configured; spx has none. */
	assert_int_equal(pb_track_lookup_many(t, q, 2, NOW, r), PB_OK);
	assert_int_equal(r[0].err, PB_OK);
	assert_int_equal(r[1].err, PB_OK);
	assert_string_equal(r[0].trace.provider, "kuaidi100");
	assert_string_equal(r[1].trace.provider, "17track");
	assert_int_equal(pb_sandbox_count(sb, "kuaidi100.query"), 1);
	assert_int_equal(pb_sandbox_count(sb, "17track.gettrackinfo"), 1);
	pb_track_result_release(&r[0]);
	pb_track_result_release(&r[1]);
	pb_tracker_free(t);
}

static void empty_and_unknown(void **state)
{
	pb_tracker *t = default_tracker();
	pb_track_query q[4] = {
		{"zto", "73100000000002", NULL, PB_PROVIDER_KUAIDI100},
		{"zto", "73199999999999", NULL, PB_PROVIDER_KUAIDI100},
		{"jnt", "612345678901", NULL, PB_PROVIDER_17TRACK},
		{"spx", "SPXMY099999999999", NULL, PB_PROVIDER_17TRACK},
	};
	pb_track_result r[4];
	size_t i;

	(void)state;
	assert_int_equal(pb_track_lookup_many(t, q, 4, NOW, r), PB_OK);
	for (i = 0; i < 4; i++) {
		if (r[i].err)
			fail_msg("%s: %s", q[i].number, r[i].eb.msg);
		assert_int_equal(r[i].trace.n_events, 0);
	}
	/* Kuaidi100 knows the waybill but has no scans yet. */
	assert_true(r[0].trace.found);
	assert_false(r[1].trace.found);
	assert_false(r[2].trace.found);
	assert_false(r[3].trace.found);
	for (i = 0; i < 4; i++)
		pb_track_result_release(&r[i]);
	pb_tracker_free(t);
}

static void bad_queries(void **state)
{
	pb_tracker *t = default_tracker();
	pb_track_query q[6] = {
		{"zto", "73 1000", NULL, PB_PROVIDER_AUTO},
		{"zto", "7", NULL, PB_PROVIDER_AUTO},
		{"nosuch", "73100000000001", NULL, PB_PROVIDER_AUTO},
		{"sf", "SF1234567890123", NULL, PB_PROVIDER_KUAIDI100},
		{"sf", "SF1234567890123", "56789", PB_PROVIDER_KUAIDI100},
		{"spx", "SPXMY012345678901", NULL, PB_PROVIDER_KUAIDI100},
	};
	pb_track_result r[6];
	size_t i;

	(void)state;
	assert_int_equal(pb_track_lookup_many(t, q, 6, NOW, r), PB_OK);
	for (i = 0; i < 6; i++) {
		assert_int_equal(r[i].err, PB_EINVAL);
		assert_int_equal(r[i].trace.n_events, 0);
		pb_track_result_release(&r[i]);
	}
	/* None of them was worth asking a provider about. */
	assert_int_equal(pb_sandbox_count(sb, NULL), 0);
	pb_tracker_free(t);
}

static void wrong_credentials(void **state)
{
	pb_track_config c;
	pb_tracker *t;
	pb_track_query q1 = {"zto", "73100000000001", NULL, PB_PROVIDER_KUAIDI100};
	pb_track_query q2 = {"spx", "SPXMY012345678901", NULL, PB_PROVIDER_17TRACK};
	pb_track_result r;

	(void)state;
	tt_config(&c, sb);
	pb_track_config_set(&c.k100_key, "wrong-key-value");
	pb_track_config_set(&c.t17_token, "wrong-token-value");
	t = tracker(&c);
	assert_int_equal(pb_track_lookup(t, &q1, NOW, &r), PB_EAUTH);
	assert_non_null(strstr(r.eb.msg, "returnCode 503"));
	assert_null(strstr(r.eb.msg, "wrong-key-value"));
	pb_track_result_release(&r);
	assert_int_equal(pb_track_lookup(t, &q2, NOW, &r), PB_EAUTH);
	assert_non_null(strstr(r.eb.msg, "-18010002"));
	assert_null(strstr(r.eb.msg, "wrong-token-value"));
	pb_track_result_release(&r);
	/* Not retried: an auth failure will not go away. */
	assert_int_equal(pb_sandbox_count(sb, "kuaidi100.query"), 1);
	assert_int_equal(pb_sandbox_count(sb, "17track.register"), 1);
	pb_tracker_free(t);
	pb_track_config_release(&c);

	tt_config(&c, sb);
	pb_track_config_set(&c.k100_key, NULL);
	pb_track_config_set(&c.t17_token, "");
	t = tracker(&c);
	assert_int_equal(pb_track_lookup(t, &q1, NOW, &r), PB_ECONFIG);
	assert_non_null(strstr(r.eb.msg, "PARCELBOT_KUAIDI100_KEY"));
	pb_track_result_release(&r);
	assert_int_equal(pb_track_lookup(t, &q2, NOW, &r), PB_ECONFIG);
	pb_track_result_release(&r);
	pb_tracker_free(t);
	pb_track_config_release(&c);
}

static void provider_error_replies(void **state)
{
	pb_tracker *t = default_tracker();
	pb_track_query k = {"zto", "73100000000001", NULL, PB_PROVIDER_KUAIDI100};
	pb_track_query s = {"spx", "SPXMY012345678901", NULL, PB_PROVIDER_17TRACK};
	pb_track_query bad = {"spx", "ABCD", NULL, PB_PROVIDER_17TRACK};
	pb_track_result r;

	(void)state;
	tt_fault(sb, "{\"route\":\"kuaidi100.query\",\"body\":\"{\\\"result\\\":false,"
		     "\\\"returnCode\\\":\\\"400\\\",\\\"message\\\":\\\"找不到对应公司\\\"}\"}");
	assert_int_equal(pb_track_lookup(t, &k, NOW, &r), PB_EINVAL);
	pb_track_result_release(&r);
	tt_fault(sb, "{\"route\":\"kuaidi100.query\",\"body\":\"{\\\"result\\\":false,"
		     "\\\"returnCode\\\":\\\"501\\\",\\\"message\\\":\\\"服务器错误\\\"}\"}");
	assert_int_equal(pb_track_lookup(t, &k, NOW, &r), PB_EUPSTREAM);
	assert_non_null(strstr(r.eb.msg, "501"));
	pb_track_result_release(&r);
	/* 502 "busy" is retried like a 5xx, then the real answer comes. */
	pb_sandbox_requests_clear(sb);
	tt_fault(sb, "{\"route\":\"kuaidi100.query\",\"times\":2,\"body\":\"{\\\"result\\\":false,"
		     "\\\"returnCode\\\":\\\"502\\\",\\\"message\\\":\\\"服务器繁忙\\\"}\"}");
	assert_int_equal(pb_track_lookup(t, &k, NOW, &r), PB_OK);
	assert_true(r.trace.found);
	assert_int_equal(pb_sandbox_count(sb, "kuaidi100.query"), 3);
	pb_track_result_release(&r);
	/* 17TRACK: quota gone, then a number it will not take. */
	tt_fault(sb, "{\"route\":\"17track.register\",\"body\":\"{\\\"code\\\":-18019908,"
		     "\\\"data\\\":{\\\"errors\\\":[{\\\"code\\\":-18019908,"
		     "\\\"message\\\":\\\"Your quotas have run out.\\\"}]}}\"}");
	assert_int_equal(pb_track_lookup(t, &s, NOW, &r), PB_ELIMIT);
	assert_non_null(strstr(r.eb.msg, "quota"));
	pb_track_result_release(&r);
	assert_int_equal(pb_track_lookup(t, &bad, NOW, &r), PB_EINVAL);
	assert_non_null(strstr(r.eb.msg, "-18010012"));
	pb_track_result_release(&r);
	pb_tracker_free(t);
}

static void server_errors_then_success(void **state)
{
	pb_tracker *t = default_tracker();
	pb_track_query q[2] = {
		{"zto", "73100000000001", NULL, PB_PROVIDER_KUAIDI100},
		{"spx", "SPXMY012345678901", NULL, PB_PROVIDER_17TRACK},
	};
	pb_track_result r[2];

	(void)state;
	tt_fault(sb, "{\"route\":\"kuaidi100.query\",\"status\":500,\"times\":2}");
	tt_fault(sb, "{\"route\":\"17track.gettrackinfo\",\"status\":502,\"times\":1}");
	assert_int_equal(pb_track_lookup_many(t, q, 2, NOW, r), PB_OK);
	assert_int_equal(r[0].err, PB_OK);
	assert_int_equal(r[1].err, PB_OK);
	assert_true(r[0].trace.found && r[1].trace.found);
	assert_int_equal(pb_sandbox_count(sb, "kuaidi100.query"), 3);
	assert_int_equal(pb_sandbox_count(sb, "17track.gettrackinfo"), 2);
	pb_track_result_release(&r[0]);
	pb_track_result_release(&r[1]);
	pb_tracker_free(t);
}

static void rate_limited_waits(void **state)
{
	pb_tracker *t = default_tracker();
	pb_track_query q[2] = {
		{"zto", "73100000000001", NULL, PB_PROVIDER_KUAIDI100},
		{"spx", "SPXMY012345678901", NULL, PB_PROVIDER_17TRACK},
	};
	pb_track_result r[2];
	long long t0;

	(void)state;
	tt_fault(sb, "{\"route\":\"kuaidi100.query\",\"status\":429,\"retry_after\":\"2\"}");
	tt_fault(sb, "{\"route\":\"17track.register\",\"status\":429,\"retry_after\":\"2\"}");
	t0 = tt_ms();
	assert_int_equal(pb_track_lookup_many(t, q, 2, NOW, r), PB_OK);
	assert_true(tt_ms() - t0 >= 2000);
	/* Both waited the same two seconds, side by side. */
	assert_true(tt_ms() - t0 < 3500);
	assert_int_equal(r[0].err, PB_OK);
	assert_int_equal(r[1].err, PB_OK);
	assert_int_equal(pb_sandbox_count(sb, "kuaidi100.query"), 2);
	assert_int_equal(pb_sandbox_count(sb, "17track.register"), 2);
	pb_track_result_release(&r[0]);
	pb_track_result_release(&r[1]);
	pb_tracker_free(t);
}

static void timeouts(void **state)
{
	pb_track_config c;
	pb_tracker *t;
	pb_track_query q[2] = {
		{"zto", "73100000000001", NULL, PB_PROVIDER_KUAIDI100},
		{"spx", "SPXMY012345678901", NULL, PB_PROVIDER_17TRACK},
	};
	pb_track_result r[2];

	(void)state;
	tt_config(&c, sb);
	c.timeout_ms = 300;
	c.retries = 1;
	t = tracker(&c);
	tt_fault(sb, "{\"route\":\"kuaidi100.query\",\"latency_ms\":3000,\"times\":0}");
	tt_fault(sb, "{\"route\":\"17track.register\",\"latency_ms\":3000,\"times\":0}");
	assert_int_equal(pb_track_lookup_many(t, q, 2, NOW, r), PB_OK);
	assert_int_equal(r[0].err, PB_ETIMEOUT);
	assert_int_equal(r[1].err, PB_ETIMEOUT);
	assert_non_null(strstr(r[0].eb.msg, "Kuaidi100: POST 127.0.0.1:"));
	assert_non_null(strstr(r[1].eb.msg, "17TRACK: POST 127.0.0.1:"));
	assert_false(r[0].trace.found);
	assert_int_equal(r[0].trace.n_events, 0);
	pb_track_result_release(&r[0]);
	pb_track_result_release(&r[1]);
	pb_tracker_free(t);
	pb_track_config_release(&c);
}

static void bad_bodies(void **state)
{
	pb_tracker *t = default_tracker();
	pb_track_query q[2] = {
		{"zto", "73100000000001", NULL, PB_PROVIDER_KUAIDI100},
		{"spx", "SPXMY012345678901", NULL, PB_PROVIDER_17TRACK},
	};
	static const char *const actions[] = {"garbage", "truncate"};
	pb_track_result r[2];
	char fault[160];
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		pb_sandbox_reset(sb);
		snprintf(fault, sizeof fault, "{\"route\":\"kuaidi100.query\",\"action\":\"%s\"}",
			 actions[i]);
		tt_fault(sb, fault);
		snprintf(fault, sizeof fault, "{\"route\":\"17track.gettrackinfo\",\"action\":\"%s\"}",
			 actions[i]);
		tt_fault(sb, fault);
		assert_int_equal(pb_track_lookup_many(t, q, 2, NOW, r), PB_OK);
		assert_int_equal(r[0].err, PB_EPARSE);
		assert_int_equal(r[1].err, PB_EPARSE);
		assert_int_equal(r[0].trace.n_events, 0);
		pb_track_result_release(&r[0]);
		pb_track_result_release(&r[1]);
	}
	pb_tracker_free(t);
}

static void oversized_bodies(void **state)
{
	pb_track_config c;
	pb_tracker *t;
	pb_track_query q[2] = {
		{"zto", "73100000000001", NULL, PB_PROVIDER_KUAIDI100},
		{"spx", "SPXMY012345678901", NULL, PB_PROVIDER_17TRACK},
	};
	pb_track_result r[2];
	long long t0;

	(void)state;
	tt_config(&c, sb);
	c.max_body = 256 * 1024;
	t = tracker(&c);
	tt_fault(sb, "{\"route\":\"kuaidi100.query\",\"action\":\"huge\",\"bytes\":52428800,"
		     "\"chunked\":true}");
	tt_fault(sb, "{\"route\":\"17track.register\",\"action\":\"huge\",\"bytes\":52428800}");
	t0 = tt_ms();
	assert_int_equal(pb_track_lookup_many(t, q, 2, NOW, r), PB_OK);
	assert_int_equal(r[0].err, PB_ETOOBIG);
	assert_int_equal(r[1].err, PB_ETOOBIG);
	assert_non_null(strstr(r[0].eb.msg, "larger than 262144 bytes"));
	assert_true(tt_ms() - t0 < 3000);
	/* Not retried: it would only be as big again. */
	assert_int_equal(pb_sandbox_count(sb, "kuaidi100.query"), 1);
	pb_track_result_release(&r[0]);
	pb_track_result_release(&r[1]);
	pb_tracker_free(t);
	pb_track_config_release(&c);
}

static void cache_hit_asks_nobody(void **state)
{
	pb_tracker *t = default_tracker();
	pb_track_query q[2] = {
		{"zto", "73100000000001", NULL, PB_PROVIDER_KUAIDI100},
		{"spx", "SPXMY012345678901", NULL, PB_PROVIDER_17TRACK},
	};
	pb_track_query lower = {"zto", "73100000000001", NULL, PB_PROVIDER_KUAIDI100};
	pb_track_result r[2];
	size_t before;

	(void)state;
	assert_int_equal(pb_track_lookup_many(t, q, 2, NOW, r), PB_OK);
	assert_false(r[0].from_cache);
	pb_track_result_release(&r[0]);
	pb_track_result_release(&r[1]);
	before = pb_sandbox_count(sb, NULL);
	assert_int_equal(pb_track_lookup_many(t, q, 2, NOW + 599, r), PB_OK);
	assert_true(r[0].from_cache && r[1].from_cache);
	assert_int_equal(r[0].trace.fetched_at, NOW);
	assert_int_equal(r[1].trace.n_events, 3);
	assert_int_equal(pb_sandbox_count(sb, NULL), before);
	pb_track_result_release(&r[0]);
	pb_track_result_release(&r[1]);
	assert_int_equal(pb_track_lookup(t, &lower, NOW + 1, &r[0]), PB_OK);
	assert_true(r[0].from_cache);
	pb_track_result_release(&r[0]);
	/* After the TTL both are asked again; 17TRACK skips registering. */
	assert_int_equal(pb_track_lookup_many(t, q, 2, NOW + 600, r), PB_OK);
	assert_false(r[0].from_cache || r[1].from_cache);
	assert_int_equal(r[0].trace.fetched_at, NOW + 600);
	assert_int_equal(pb_sandbox_count(sb, "17track.register"), 1);
	assert_int_equal(pb_sandbox_count(sb, "17track.gettrackinfo"), 2);
	pb_track_result_release(&r[0]);
	pb_track_result_release(&r[1]);
	pb_tracker_free(t);
}

static void not_found_is_cached_briefly(void **state)
{
	pb_tracker *t = default_tracker();
	pb_track_query q = {"zto", "73199999999999", NULL, PB_PROVIDER_KUAIDI100};
	pb_track_result r;

	(void)state;
	assert_int_equal(pb_track_lookup(t, &q, NOW, &r), PB_OK);
	pb_track_result_release(&r);
	assert_int_equal(pb_track_lookup(t, &q, NOW + 30, &r), PB_OK);
	assert_true(r.from_cache);
	pb_track_result_release(&r);
	assert_int_equal(pb_track_lookup(t, &q, NOW + 61, &r), PB_OK);
	assert_false(r.from_cache);
	pb_track_result_release(&r);
	assert_int_equal(pb_sandbox_count(sb, "kuaidi100.query"), 2);
	pb_tracker_free(t);
}

static void stale_when_the_provider_fails(void **state)
{
	pb_tracker *t = default_tracker();
	pb_track_query q[2] = {
		{"zto", "73100000000001", NULL, PB_PROVIDER_KUAIDI100},
		{"spx", "SPXMY012345678901", NULL, PB_PROVIDER_17TRACK},
	};
	pb_track_result r[2];

	(void)state;
	assert_int_equal(pb_track_lookup_many(t, q, 2, NOW, r), PB_OK);
	pb_track_result_release(&r[0]);
	pb_track_result_release(&r[1]);
	tt_fault(sb, "{\"route\":\"kuaidi100.query\",\"status\":500,\"times\":0}");
	tt_fault(sb, "{\"route\":\"17track.gettrackinfo\",\"status\":503,\"times\":0}");
	/* A day later: long expired, but better than nothing. */
	assert_int_equal(pb_track_lookup_many(t, q, 2, NOW + 86400, r), PB_OK);
	assert_int_equal(r[0].err, PB_OK);
	assert_int_equal(r[1].err, PB_OK);
	assert_true(r[0].trace.stale && r[1].trace.stale);
	assert_false(r[0].from_cache);
	assert_int_equal(r[0].provider_err, PB_EUPSTREAM);
	assert_int_equal(r[0].trace.fetched_at, NOW);
	assert_int_equal(r[0].trace.n_events, 4);
	assert_non_null(strstr(r[0].eb.msg, "HTTP 500"));
	assert_non_null(strstr(r[0].eb.msg, "showing the trace fetched at 2026-11-23T00:00:00Z"));
	pb_track_result_release(&r[0]);
	pb_track_result_release(&r[1]);
	/* A parcel never seen has nothing to fall back on. */
	{
		pb_track_query n = {"zto", "73100000000003", NULL, PB_PROVIDER_KUAIDI100};
		pb_track_result x;
		assert_int_equal(pb_track_lookup(t, &n, NOW + 86400, &x), PB_EUPSTREAM);
		assert_false(x.trace.stale);
		assert_int_equal(x.trace.n_events, 0);
		pb_track_result_release(&x);
	}
	/* A provider forgetting a parcel it knew also keeps the old trace. */
	pb_sandbox_faults_clear(sb);
	tt_fault(sb, "{\"route\":\"kuaidi100.query\",\"body\":\"{\\\"result\\\":false,"
		     "\\\"returnCode\\\":\\\"500\\\",\\\"message\\\":\\\"查询无结果\\\"}\"}");
	assert_int_equal(pb_track_lookup(t, &q[0], NOW + 86400, &r[0]), PB_OK);
	assert_true(r[0].trace.stale);
	assert_true(r[0].trace.found);
	assert_int_equal(r[0].provider_err, PB_ENOTFOUND);
	pb_track_result_release(&r[0]);
	pb_tracker_free(t);
}

static void cache_is_bounded(void **state)
{
	pb_track_config c;
	pb_tracker *t;
	pb_track_query a = {"zto", "73100000000001", NULL, PB_PROVIDER_KUAIDI100};
	pb_track_query b = {"yto", "YT1234567890123", NULL, PB_PROVIDER_KUAIDI100};
	pb_track_query d = {"yunda", "4312345678901", NULL, PB_PROVIDER_KUAIDI100};
	pb_track_result r;

	(void)state;
	tt_config(&c, sb);
	c.cache_entries = 2;
	t = tracker(&c);
	assert_int_equal(pb_track_lookup(t, &a, NOW, &r), PB_OK);
	pb_track_result_release(&r);
	assert_int_equal(pb_track_lookup(t, &b, NOW, &r), PB_OK);
	pb_track_result_release(&r);
	/* Touch a, so b is the least recently used when d comes in. */
	assert_int_equal(pb_track_lookup(t, &a, NOW + 1, &r), PB_OK);
	assert_true(r.from_cache);
	pb_track_result_release(&r);
	assert_int_equal(pb_track_lookup(t, &d, NOW + 2, &r), PB_OK);
	pb_track_result_release(&r);
	assert_int_equal(pb_tracker_cache_size(t), 2);
	assert_int_equal(pb_track_lookup(t, &a, NOW + 3, &r), PB_OK);
	assert_true(r.from_cache);
	pb_track_result_release(&r);
	assert_int_equal(pb_track_lookup(t, &b, NOW + 4, &r), PB_OK);
	assert_false(r.from_cache);
	pb_track_result_release(&r);
	pb_tracker_cache_clear(t);
	assert_int_equal(pb_tracker_cache_size(t), 0);
	pb_tracker_free(t);
	pb_track_config_release(&c);
}

/* The numbers in one recorded 17TRACK request body. */
static int batch_size(const cJSON *rec)
{
	const cJSON *body = cJSON_GetObjectItem(rec, "body");
	cJSON *arr = cJSON_Parse(body->valuestring);
	int n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : -1;

	cJSON_Delete(arr);
	return n;
}

static void t17_batches_of_40(void **state)
{
	enum { N = 45 };
	pb_tracker *t = default_tracker();
	pb_track_query q[N];
	pb_track_result r[N];
	char numbers[N][24];
	cJSON *recs;
	const cJSON *rec;
	int total = 0;
	size_t i;

	(void)state;
	for (i = 0; i < N; i++) {
		snprintf(numbers[i], sizeof numbers[i], "SPXMY0999%08zu", i);
		q[i] = (pb_track_query){"spx", numbers[i], NULL, PB_PROVIDER_17TRACK};
	}
	q[7].number = "SPXMY012345678901";
	q[30].number = "NVMY1234567890AB";
	q[30].carrier = "ninjavan";
	assert_int_equal(pb_track_lookup_many(t, q, N, NOW, r), PB_OK);
	for (i = 0; i < N; i++) {
		if (r[i].err)
			fail_msg("%s: %s", q[i].number, r[i].eb.msg);
		assert_int_equal(r[i].trace.found, i == 7 || i == 30);
	}
	assert_int_equal(r[7].trace.events[0].state, PB_ST_IN_TRANSIT);
	assert_int_equal(r[30].trace.events[0].state, PB_ST_DELIVERED);
	assert_int_equal(pb_sandbox_count(sb, "17track.register"), 2);
	assert_int_equal(pb_sandbox_count(sb, "17track.gettrackinfo"), 2);
	recs = pb_sandbox_requests_json(sb, "17track.gettrackinfo");
	cJSON_ArrayForEach(rec, recs)
	{
		assert_true(batch_size(rec) <= 40);
		total += batch_size(rec);
	}
	assert_int_equal(total, N);
	cJSON_Delete(recs);
	for (i = 0; i < N; i++)
		pb_track_result_release(&r[i]);
	pb_tracker_free(t);
}

static void mixed_batch_with_duplicates(void **state)
{
	pb_tracker *t = default_tracker();
	pb_track_query q[5] = {
		{"zto", "73100000000001", NULL, PB_PROVIDER_KUAIDI100},
		{"spx", "SPXMY012345678901", NULL, PB_PROVIDER_17TRACK},
		{"zto", "73100000000001", NULL, PB_PROVIDER_KUAIDI100},
		{"zto", "bad number!", NULL, PB_PROVIDER_KUAIDI100},
		{"yto", "YT1234567890123", NULL, PB_PROVIDER_KUAIDI100},
	};
	pb_track_result r[5];
	size_t i;

	(void)state;
	tt_fault(sb, "{\"route\":\"*\",\"latency_ms\":300,\"times\":0}");
	assert_int_equal(pb_track_lookup_many(t, q, 5, NOW, r), PB_OK);
	assert_int_equal(r[0].err, PB_OK);
	assert_int_equal(r[1].err, PB_OK);
	assert_int_equal(r[2].err, PB_OK);
	assert_int_equal(r[3].err, PB_EINVAL);
	assert_int_equal(r[4].err, PB_OK);
	assert_int_equal(r[2].trace.n_events, r[0].trace.n_events);
	assert_ptr_not_equal(r[2].trace.events, r[0].trace.events);
	/* The duplicate was asked once. */
	assert_int_equal(pb_sandbox_count(sb, "kuaidi100.query"), 2);
	for (i = 0; i < 5; i++)
		pb_track_result_release(&r[i]);
	pb_tracker_free(t);
}

typedef struct thread_arg {
	pb_tracker *t;
	int id;
	int ok;
} thread_arg;

static void *lookups(void *p)
{
	thread_arg *a = p;
	pb_track_query q[3] = {
		{"zto", "73100000000001", NULL, PB_PROVIDER_KUAIDI100},
		{"yto", "YT1234567890123", NULL, PB_PROVIDER_KUAIDI100},
		{"spx", "SPXMY012345678901", NULL, PB_PROVIDER_17TRACK},
	};
	pb_track_result r[3];
	int i;
	size_t k;

	for (i = 0; i < 8; i++) {
		/* Times spread so that some lookups hit the cache and some
		 * refresh it while other threads read it. */
		pb_track_lookup_many(a->t, q, 3, NOW + (i + a->id) * 2, r);
		for (k = 0; k < 3; k++) {
			a->ok += r[k].err == PB_OK && r[k].trace.found && r[k].trace.n_events > 0;
			pb_track_result_release(&r[k]);
		}
	}
	return NULL;
}

static void one_tracker_many_threads(void **state)
{
	pb_track_config c;
	pb_tracker *t;
	pthread_t th[4];
	thread_arg a[4];
	int i;

	(void)state;
	tt_config(&c, sb);
	c.cache_ttl = 3;
	c.cache_entries = 2;
	t = tracker(&c);
	for (i = 0; i < 4; i++) {
		a[i] = (thread_arg){t, i, 0};
		assert_int_equal(pthread_create(&th[i], NULL, lookups, &a[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(a[i].ok, 24);
	}
	assert_true(pb_tracker_cache_size(t) <= 2);
	pb_tracker_free(t);
	pb_track_config_release(&c);
}

/* Fuzzing (tests/fuzz/regressions/fuzz_t17): error codes too large for a
 * long were cast to one, which is undefined. They are now unknown codes. */
static void t17_huge_codes(void **state)
{
	pb_t17_item it[1] = {{.number = "AA1"}};
	pb_errbuf eb;
	cJSON *root;

	(void)state;
	assert_int_equal(t17("{\"code\":-1.801e20,\"data\":{}}", 200, it, 1, &root, &eb),
			 PB_EUPSTREAM);
	assert_null(root);
	assert_true(eb.msg[0] != '\0');
	assert_int_equal(t17("{\"code\":1,\"data\":{\"errors\":[{\"code\":-1.80111e133,"
			     "\"message\":\"x\"}]}}",
			     200, it, 1, &root, &eb),
			 PB_EUPSTREAM);
	assert_null(root);
	assert_int_equal(t17("{\"code\":0,\"data\":{\"accepted\":[],\"rejected\":[{\"number\":"
			     "\"AA1\",\"error\":{\"code\":1e40,\"message\":\"no\"}}]}}",
			     200, it, 1, &root, &eb),
			 PB_OK);
	assert_false(it[0].accepted);
	assert_int_equal(it[0].code, -1);
	cJSON_Delete(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kuaidi100_mapping),
		cmocka_unit_test(t17_mapping),
		cmocka_unit_test(t17_error_codes),
		cmocka_unit_test(md5_rfc1321_vectors),
		cmocka_unit_test(kuaidi100_sign_and_body),
		cmocka_unit_test(kuaidi100_answer_with_status_codes),
		cmocka_unit_test(kuaidi100_answer_without_status_codes),
		cmocka_unit_test(kuaidi100_problem_text),
		cmocka_unit_test(kuaidi100_error_replies),
		cmocka_unit_test(kuaidi100_malformed),
		cmocka_unit_test(kuaidi100_invalid_utf8_is_repaired),
		cmocka_unit_test(kuaidi100_event_cap),
		cmocka_unit_test(t17_register_answer),
		cmocka_unit_test(t17_request_errors),
		cmocka_unit_test(t17_huge_codes),
		cmocka_unit_test(t17_trace_shapes),
		cmocka_unit_test_setup(kuaidi100_parcels, reset),
		cmocka_unit_test_setup(t17_parcels, reset),
		cmocka_unit_test_setup(auto_provider_by_carrier, reset),
		cmocka_unit_test_setup(empty_and_unknown, reset),
		cmocka_unit_test_setup(bad_queries, reset),
		cmocka_unit_test_setup(wrong_credentials, reset),
		cmocka_unit_test_setup(provider_error_replies, reset),
		cmocka_unit_test_setup(server_errors_then_success, reset),
		cmocka_unit_test_setup(rate_limited_waits, reset),
		cmocka_unit_test_setup(timeouts, reset),
		cmocka_unit_test_setup(bad_bodies, reset),
		cmocka_unit_test_setup(oversized_bodies, reset),
		cmocka_unit_test_setup(cache_hit_asks_nobody, reset),
		cmocka_unit_test_setup(not_found_is_cached_briefly, reset),
		cmocka_unit_test_setup(stale_when_the_provider_fails, reset),
		cmocka_unit_test_setup(cache_is_bounded, reset),
		cmocka_unit_test_setup(t17_batches_of_40, reset),
		cmocka_unit_test_setup(mixed_batch_with_duplicates, reset),
		cmocka_unit_test_setup(one_tracker_many_threads, reset),
	};

	return cmocka_run_group_tests_name("track", tests, setup, teardown);
}
