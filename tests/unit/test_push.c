/*
 * Tracking pushes: Kuaidi100's subscription push and 17TRACK's webhook are
 * read into traces only when their signature is right; bad, missing and
 * unverifiable signatures are refused before anything is parsed.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/digest.h"
#include "parcelbot/push.h"

static const char k100_param[] =
	"{\"status\":\"polling\",\"billstatus\":\"got\",\"message\":\"\",\"lastResult\":{"
	"\"message\":\"ok\",\"state\":\"0\",\"status\":\"200\",\"condition\":\"F00\","
	"\"ischeck\":\"0\",\"com\":\"zhongtong\",\"nu\":\"73100000000001\",\"data\":["
	"{\"time\":\"2026-11-21 06:40:12\",\"ftime\":\"2026-11-21 06:40:12\","
	"\"context\":\"【杭州转运中心】已发出 下一站【上海转运中心】\",\"areaName\":\"浙江,杭州市\","
	"\"status\":\"干线\",\"statusCode\":\"1002\"},"
	"{\"time\":\"2026-11-20 22:05:31\",\"ftime\":\"2026-11-20 22:05:31\","
	"\"context\":\"快件已到达【杭州转运中心】\",\"areaName\":\"浙江,杭州市\","
	"\"status\":\"干线\",\"statusCode\":\"1002\"}]}}";

static void k100_sign(const char *param, const char *salt, char out[PB_MD5_HEX_LEN + 1])
{
	char buf[4096];

	snprintf(buf, sizeof buf, "%s%s", param, salt);
	assert_int_equal(pb_md5_hex(buf, strlen(buf), true, out), PB_OK);
}

static void test_k100_good(void **state)
{
	char sign[PB_MD5_HEX_LEN + 1];
	pb_push p;
	pb_errbuf eb;

	(void)state;
	k100_sign(k100_param, "s3cret", sign);
	assert_int_equal(pb_push_k100(tu_kb(), k100_param, sign, "s3cret", &p, &eb), PB_OK);
	assert_string_equal(p.kind, "polling");
	assert_string_equal(p.trace.carrier, "zto");
	assert_string_equal(p.trace.number, "73100000000001");
	assert_string_equal(p.trace.provider, "kuaidi100");
	assert_int_equal(p.trace.n_events, 2);
	assert_int_equal(p.trace.events[0].state, PB_ST_IN_TRANSIT);
	assert_non_null(strstr(p.trace.events[0].description, "已发出"));
	pb_push_release(&p);
}

static void test_k100_bad(void **state)
{
	char sign[PB_MD5_HEX_LEN + 1], lower[PB_MD5_HEX_LEN + 1];
	char tampered[sizeof k100_param];
	pb_push p;
	pb_errbuf eb;
	size_t i;

	(void)state;
	k100_sign(k100_param, "s3cret", sign);
	/* Another salt, a tampered body, no signature, a truncated one. */
	assert_int_equal(pb_push_k100(NULL, k100_param, sign, "other", &p, &eb), PB_EAUTH);
	memcpy(tampered, k100_param, sizeof tampered);
	*strstr(tampered, "73100000000001") = '8';
	assert_int_equal(pb_push_k100(NULL, tampered, sign, "s3cret", &p, &eb), PB_EAUTH);
	assert_int_equal(pb_push_k100(NULL, k100_param, NULL, "s3cret", &p, &eb), PB_EAUTH);
	assert_int_equal(pb_push_k100(NULL, k100_param, "", "s3cret", &p, &eb), PB_EAUTH);
	sign[31] = '\0';
	assert_int_equal(pb_push_k100(NULL, k100_param, sign, "s3cret", &p, &eb), PB_EAUTH);
	/* Kuaidi100 signs in upper case: lower case is not its signature. */
	k100_sign(k100_param, "s3cret", lower);
	for (i = 0; lower[i]; i++)
		if (lower[i] >= 'A' && lower[i] <= 'F')
			lower[i] = (char)(lower[i] - 'A' + 'a');
	assert_int_equal(pb_push_k100(NULL, k100_param, lower, "s3cret", &p, &eb), PB_EAUTH);
	/* Without a salt nothing can be verified: refused. */
	assert_int_equal(pb_push_k100(NULL, k100_param, sign, "", &p, &eb), PB_EINVAL);
	assert_int_equal(pb_push_k100(NULL, k100_param, sign, NULL, &p, &eb), PB_EINVAL);
	/* Signed, but not a push. */
	k100_sign("[1]", "s3cret", sign);
	assert_int_equal(pb_push_k100(NULL, "[1]", sign, "s3cret", &p, &eb), PB_EPARSE);
}

static const char t17_body[] =
	"{\"event\":\"TRACKING_UPDATED\",\"data\":{\"number\":\"SPXMY012345678901\","
	"\"carrier\":100001,\"param\":null,\"tag\":null,\"track_info\":{"
	"\"latest_status\":{\"status\":\"InTransit\",\"sub_status\":\"InTransit_Arrival\"},"
	"\"tracking\":{\"providers_hash\":1,\"providers\":[{\"provider\":{\"key\":100001},"
	"\"latest_sync_status\":\"Success\",\"events\":["
	"{\"time_iso\":\"2026-11-21T14:35:00+08:00\",\"time_utc\":\"2026-11-21T06:35:00Z\","
	"\"description\":\"Parcel has arrived at sorting hub\",\"location\":\"Shah Alam Hub\","
	"\"stage\":\"Arrival\",\"sub_status\":\"InTransit_Arrival\"}]}]}}}}";

static void t17_sign(const char *body, const char *key, char out[PB_SHA256_HEX_LEN + 1])
{
	char buf[4096];

	snprintf(buf, sizeof buf, "%s/%s", body, key);
	assert_int_equal(pb_sha256_hex(buf, strlen(buf), out), PB_OK);
}

static void test_t17_good(void **state)
{
	char sign[PB_SHA256_HEX_LEN + 1];
	pb_push p;
	pb_errbuf eb;

	(void)state;
	t17_sign(t17_body, "key-1", sign);
	assert_int_equal(pb_push_17track(tu_kb(), t17_body, strlen(t17_body), sign, "key-1", &p, &eb),
			 PB_OK);
	assert_string_equal(p.kind, "TRACKING_UPDATED");
	assert_string_equal(p.trace.number, "SPXMY012345678901");
	assert_string_equal(p.trace.provider, "17track");
	assert_int_equal(p.trace.n_events, 1);
	assert_int_equal(p.trace.events[0].state, PB_ST_IN_TRANSIT);
	pb_push_release(&p);
}

static void test_t17_bad(void **state)
{
	char sign[PB_SHA256_HEX_LEN + 1], body[sizeof t17_body];
	pb_push p;
	pb_errbuf eb;

	(void)state;
	t17_sign(t17_body, "key-1", sign);
	assert_int_equal(pb_push_17track(NULL, t17_body, strlen(t17_body), sign, "key-2", &p, &eb),
			 PB_EAUTH);
	memcpy(body, t17_body, sizeof body);
	*strstr(body, "SPXMY") = 'X';
	assert_int_equal(pb_push_17track(NULL, body, strlen(body), sign, "key-1", &p, &eb), PB_EAUTH);
	/* Only the signed bytes count: one byte fewer is another body. */
	assert_int_equal(pb_push_17track(NULL, t17_body, strlen(t17_body) - 1, sign, "key-1", &p, &eb),
			 PB_EAUTH);
	assert_int_equal(pb_push_17track(NULL, t17_body, strlen(t17_body), NULL, "key-1", &p, &eb),
			 PB_EAUTH);
	assert_int_equal(pb_push_17track(NULL, t17_body, strlen(t17_body), sign, "", &p, &eb),
			 PB_EINVAL);
	t17_sign("{\"event\":\"X\"}", "key-1", sign);
	assert_int_equal(pb_push_17track(NULL, "{\"event\":\"X\"}", 13, sign, "key-1", &p, &eb),
			 PB_EPARSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_k100_good),
		cmocka_unit_test(test_k100_bad),
		cmocka_unit_test(test_t17_good),
		cmocka_unit_test(test_t17_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
