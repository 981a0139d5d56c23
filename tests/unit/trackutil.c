/*
 * Test helpers for the HTTP, tracking and sandbox tests (see trackutil.h).
 */
#include "trackutil.h"

#include <cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *tt_srcdir(void)
{
	const char *s = getenv("PB_SRCDIR");

	return s && *s ? s : ".";
}

pb_sandbox *tt_sandbox(void)
{
	char seed[PATH_MAX];
	pb_sandbox_opts o;
	pb_sandbox *sb = NULL;
	pb_errbuf eb;

	snprintf(seed, sizeof seed, "%s/tests/fixtures/sandbox-parcels.yaml", tt_srcdir());
	pb_sandbox_opts_init(&o);
	o.seed_file = seed;
	if (pb_sandbox_start(&o, &sb, &eb))
		fail_msg("sandbox: %s", eb.msg);
	return sb;
}

const char *tt_url(pb_sandbox *sb, const char *path, char *buf, size_t n)
{
	snprintf(buf, n, "http://127.0.0.1:%u%s", pb_sandbox_port(sb), path);
	return buf;
}

void tt_fault(pb_sandbox *sb, const char *json)
{
	cJSON *j = cJSON_Parse(json);
	pb_sandbox_fault f;
	pb_errbuf eb;

	if (!j)
		fail_msg("fault is not JSON: %s", json);
	if (pb_sandbox_fault_from_json(j, &f, &eb))
		fail_msg("bad fault %s: %s", json, eb.msg);
	cJSON_Delete(j);
	assert_int_equal(pb_sandbox_fault_add(sb, &f), PB_OK);
}

pb_kb *tt_kb(void)
{
	static pb_kb *kb;
	char dir[PATH_MAX];
	pb_diag dg;
	size_t i;

	if (kb)
		return kb;
	snprintf(dir, sizeof dir, "%s/kb", tt_srcdir());
	pb_diag_init(&dg);
	if (pb_kb_load(dir, &kb, &dg)) {
		for (i = 0; i < dg.n; i++)
			fprintf(stderr, "%s\n", dg.lines[i]);
		fail_msg("the source tree's KB does not load");
	}
	pb_diag_release(&dg);
	return kb;
}

void tt_config(pb_track_config *c, pb_sandbox *sb)
{
	char url[256];

	assert_int_equal(pb_track_config_init(c), PB_OK);
	assert_int_equal(pb_track_config_set(&c->k100_customer, PB_SANDBOX_K100_CUSTOMER), PB_OK);
	assert_int_equal(pb_track_config_set(&c->k100_key, PB_SANDBOX_K100_KEY), PB_OK);
	assert_int_equal(pb_track_config_set(&c->t17_token, PB_SANDBOX_17TRACK_TOKEN), PB_OK);
	assert_int_equal(pb_track_config_set(&c->k100_url, tt_url(sb, "/poll/query.do", url, sizeof url)),
			 PB_OK);
	assert_int_equal(pb_track_config_set(&c->t17_url, tt_url(sb, "/track/v2.2", url, sizeof url)),
			 PB_OK);
	c->connect_timeout_ms = 1000;
	c->timeout_ms = 2000;
	c->retries = 2;
	c->backoff_base_ms = 20;
	c->backoff_max_ms = 3000;
}

long long tt_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
