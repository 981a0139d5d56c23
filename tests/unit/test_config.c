/*
 * The configuration: defaults, a full file, every kind of mistake reported
 * at its line and column, secrets from files (relative to the config file),
 * the environment winning over the file, and secrets never shown in the
 * JSON dump.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parcelbot/config.h"

static char dir[64];

static const char *const env_vars[] = {
	"PARCELBOT_CONFIG",
	"PARCELBOT_KUAIDI100_CUSTOMER",
	"PARCELBOT_KUAIDI100_CUSTOMER_FILE",
	"PARCELBOT_KUAIDI100_KEY",
	"PARCELBOT_KUAIDI100_KEY_FILE",
	"PARCELBOT_17TRACK_TOKEN",
	"PARCELBOT_17TRACK_TOKEN_FILE",
	"PARCELBOT_KUAIDI100_URL",
	"PARCELBOT_17TRACK_URL",
	"PARCELBOT_LISTEN",
	"PARCELBOT_API_TOKEN",
	"PARCELBOT_API_TOKEN_FILE",
	"PARCELBOT_DB",
	"PARCELBOT_CHATWOOT_URL",
	"PARCELBOT_CHATWOOT_TOKEN",
	"PARCELBOT_CHATWOOT_TOKEN_FILE",
	"PARCELBOT_CHATWOOT_WEBHOOK_SECRET",
	"PARCELBOT_CHATWOOT_WEBHOOK_SECRET_FILE",
	"PARCELBOT_SHOPEE_URL",
	"PARCELBOT_SHOPEE_PARTNER_KEY",
	"PARCELBOT_SHOPEE_PARTNER_KEY_FILE",
	"PARCELBOT_SHOPEE_REFRESH_TOKEN",
	"PARCELBOT_SHOPEE_REFRESH_TOKEN_FILE",
	"PARCELBOT_SHOPEE_ACCESS_TOKEN",
	"PARCELBOT_SHOPEE_ACCESS_TOKEN_FILE",
	"PARCELBOT_ORDERS_URL",
	"PARCELBOT_ORDERS_TOKEN",
	"PARCELBOT_ORDERS_TOKEN_FILE",
	NULL,
};

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/pbconfig.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int clear_env(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; env_vars[i]; i++)
		unsetenv(env_vars[i]);
	return 0;
}

/* Writes text to dir/name and returns the path (static buffer). */
static const char *write_file(const char *name, const char *text)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* Loads text as a config file; returns the error and the first message. */
static pb_err load(const char *text, pb_config *c, char *first, size_t n)
{
	pb_diag dg;
	pb_err err;

	assert_int_equal(pb_config_init(c), PB_OK);
	pb_diag_init(&dg);
	err = pb_config_load(c, write_file("parcelbot.yaml", text), &dg);
	if (first)
		snprintf(first, n, "%s", dg.n ? dg.lines[0] : "");
	pb_diag_release(&dg);
	return err;
}

/* Expects text to be refused with a message ending as want. */
static void expect_error(const char *text, const char *want)
{
	pb_config c;
	char first[600];
	const char *base;

	assert_int_equal(load(text, &c, first, sizeof first), PB_ECONFIG);
	base = strstr(first, "parcelbot.yaml:");
	if (!base || !strstr(base, want))
		fail_msg("got \"%s\", want \"%s\"", first, want);
	pb_config_release(&c);
}

static void defaults(void **state)
{
	pb_config c;
	pb_diag dg;

	(void)state;
	assert_int_equal(pb_config_init(&c), PB_OK);
	pb_diag_init(&dg);
	assert_int_equal(pb_config_load(&c, NULL, &dg), PB_OK);
	assert_null(c.file);
	assert_int_equal(c.tracking.provider, PB_PROVIDER_AUTO);
	assert_string_equal(c.tracking.k100_url, "https://poll.kuaidi100.com/poll/query.do");
	assert_string_equal(c.tracking.t17_url, "https://api.17track.net/track/v2.2");
	assert_null(c.tracking.k100_key);
	assert_int_equal(c.tracking.connect_timeout_ms, 3000);
	assert_int_equal(c.tracking.timeout_ms, 10000);
	assert_int_equal(c.tracking.retries, 3);
	assert_int_equal(c.tracking.cache_ttl, 600);
	assert_int_equal(c.tracking.cache_entries, 1000);
	assert_int_equal(c.tracking.max_body, 8 << 20);
	pb_diag_release(&dg);
	pb_config_release(&c);
}

static void full_file(void **state)
{
	pb_config c;
	char first[600];

	(void)state;
	write_file("k100.key", "file-key\n\n");
	assert_int_equal(load("# parcelbot\n"
			      "tracking:\n"
			      "  provider: 17track\n"
			      "  kuaidi100:\n"
			      "    customer: CUST01\n"
			      "    key_file: k100.key\n"
			      "    url: http://127.0.0.1:9/poll/query.do\n"
			      "  17track: {token: tok-1, url: 'http://127.0.0.1:9/track/v2.2/'}\n"
			      "  connect_timeout: 500ms\n"
			      "  timeout: 2.5\n"
			      "  retries: 5\n"
			      "  backoff: 50ms\n"
			      "  backoff_max: 1m\n"
			      "  cache_ttl: 30m\n"
			      "  cache_entries: 20\n"
			      "  max_body: 2MiB\n",
			      &c, first, sizeof first),
			 PB_OK);
	assert_string_equal(first, "");
	assert_non_null(strstr(c.file, "parcelbot.yaml"));
	assert_int_equal(c.tracking.provider, PB_PROVIDER_17TRACK);
	assert_string_equal(c.tracking.k100_customer, "CUST01");
	assert_string_equal(c.tracking.k100_key, "file-key");
	assert_string_equal(c.tracking.k100_url, "http://127.0.0.1:9/poll/query.do");
	assert_string_equal(c.tracking.t17_token, "tok-1");
	assert_int_equal(c.tracking.connect_timeout_ms, 500);
	assert_int_equal(c.tracking.timeout_ms, 2500);
	assert_int_equal(c.tracking.retries, 5);
	assert_int_equal(c.tracking.backoff_base_ms, 50);
	assert_int_equal(c.tracking.backoff_max_ms, 60000);
	assert_int_equal(c.tracking.cache_ttl, 1800);
	assert_int_equal(c.tracking.cache_entries, 20);
	assert_int_equal(c.tracking.max_body, 2 << 20);
	pb_config_release(&c);
}

static void daemon_sections(void **state)
{
	pb_config c;
	pb_diag dg;
	char first[600];
	cJSON *j;
	char *txt;

	(void)state;
	write_file("cw.token", "cw-token-1\n");
	write_file("api.token", "api-token-1\n");
	assert_int_equal(load("server:\n"
			      "  listen: 0.0.0.0:9090\n"
			      "  api_token_file: api.token\n"
			      "  public_url: https://bot.example.com\n"
			      "  max_body: 2MiB\n"
			      "  threads: 8\n"
			      "store: {path: /var/lib/parcelbot/pb.db}\n"
			      "pipeline: {workers: 3, batch: 10, lease: 1m, max_attempts: 4}\n"
			      "log: {format: json, level: debug}\n"
			      "channels:\n"
			      "  chatwoot:\n"
			      "    url: http://127.0.0.1:3000\n"
			      "    account_id: 7\n"
			      "    api_token_file: cw.token\n"
			      "    webhook_secret: hook-secret-1\n"
			      "orders: {url: 'https://shop.example.com/o/{order_id}'}\n",
			      &c, first, sizeof first),
			 PB_OK);
	assert_string_equal(c.server.listen, "0.0.0.0:9090");
	assert_string_equal(c.server.api_token, "api-token-1");
	assert_int_equal(c.server.max_body, 2 << 20);
	assert_int_equal(c.server.threads, 8);
	assert_string_equal(c.store_path, "/var/lib/parcelbot/pb.db");
	assert_int_equal(c.pipeline.workers, 3);
	assert_int_equal(c.pipeline.lease, 60);
	assert_int_equal(c.log_format, PB_LOG_JSON);
	assert_int_equal(c.log_level, PB_LOG_DEBUG);
	assert_true(c.chatwoot.enabled);
	assert_int_equal(c.chatwoot.account_id, 7);
	assert_string_equal(c.chatwoot.api_token, "cw-token-1");
	assert_string_equal(c.chatwoot.escalate_label, "parcel-escalated");
	assert_false(c.shopee.enabled);
	pb_diag_init(&dg);
	assert_int_equal(pb_config_check_serve(&c, &dg), PB_OK);
	pb_diag_release(&dg);
	j = pb_config_json(&c);
	txt = cJSON_PrintUnformatted(j);
	assert_null(strstr(txt, "cw-token-1"));
	assert_null(strstr(txt, "api-token-1"));
	assert_null(strstr(txt, "hook-secret-1"));
	assert_non_null(strstr(txt, "\"listen\":\"0.0.0.0:9090\""));
	free(txt);
	cJSON_Delete(j);
	pb_config_release(&c);

	/* What serve needs and the file did not give. */
	assert_int_equal(load("channels:\n  chatwoot: {url: 'http://127.0.0.1:3000'}\n"
			      "  shopee: {partner_id: 1}\n",
			      &c, first, sizeof first),
			 PB_OK);
	pb_diag_init(&dg);
	assert_int_equal(pb_config_check_serve(&c, &dg), PB_ECONFIG);
	assert_true(dg.n >= 5);
	assert_non_null(strstr(dg.lines[0], "channels.chatwoot.account_id is required"));
	pb_diag_release(&dg);
	pb_config_release(&c);

	expect_error("server:\n  listen: 8080\n", ":2:11: listen must be host:port");
	expect_error("log:\n  format: xml\n", ":2:11: format must be text or json, not 'xml'");
	expect_error("pipeline:\n  workers: 0\n", ":2:12: 'workers' must be a whole number from 1");
	expect_error("orders:\n  url: https://x/o\n", ":2:8: url must contain {order_id}");
	expect_error("server:\n  tls: {cert_file: a.pem}\n", ":2:8: tls needs both");
	expect_error("channels:\n  slack: {}\n", ":2:3: unknown key 'slack'");
}

static void mistakes_have_positions(void **state)
{
	(void)state;
	expect_error("tracking:\n  timeout: 3s\n  bogus: 1\n", "parcelbot.yaml:3:3: unknown key 'bogus'");
	expect_error("tracking: {}\nservr: {}\n", "parcelbot.yaml:2:1: unknown key 'servr'");
	expect_error("tracking:\n  timeout: fast\n",
		     "parcelbot.yaml:2:12: 'timeout' must be a duration such as 500ms, 3s or 10m");
	expect_error("tracking:\n  timeout: 2h\n", ":2:12: 'timeout' must be between 1ms and 3600s");
	expect_error("tracking:\n  provider: dhl\n",
		     ":2:13: provider must be auto, kuaidi100 or 17track, not 'dhl'");
	expect_error("tracking:\n  retries: 2.5\n", ":2:12: 'retries' must be a whole number");
	expect_error("tracking:\n  retries: many\n", ":2:12: 'many' is not a number");
	expect_error("tracking:\n  cache_entries: -1\n", ":2:18: 'cache_entries' must be a whole");
	expect_error("tracking:\n  max_body: 12\n", ":2:13: 'max_body' must be between 1KiB and 1GiB");
	expect_error("tracking:\n  max_body: lots\n", ":2:13: 'max_body' must be a size");
	expect_error("tracking:\n  backoff: 2s\n  backoff_max: 1s\n",
		     ":3:16: backoff_max must not be shorter than backoff");
	expect_error("tracking:\n  kuaidi100:\n    key: a\n    key_file: b\n",
		     ":4:15: give 'key' or 'key_file', not both");
	expect_error("tracking:\n  kuaidi100:\n    key_file: missing.key\n",
		     ":3:15: key_file: cannot read");
	expect_error("tracking:\n  kuaidi100:\n    url: ftp://x\n",
		     ":3:10: url must start with http:// or https://");
	expect_error("tracking:\n  17track:\n    token: ''\n", ":3:12: 'token' must not be empty");
	expect_error("tracking:\n  17track:\n    tokn: x\n", ":3:5: unknown key 'tokn'");
	expect_error("tracking:\n  17track: [a]\n", ":2:12: 17track must be a mapping");
	expect_error("tracking: 5\n", ":1:11: tracking must be a mapping");
	expect_error("tracking:\n  timeout: 3s\n  timeout: 4s\n", ":3:3: duplicate key 'timeout'");
	expect_error("tracking: [unclosed\n", "parcelbot.yaml:");
}

static void every_mistake_is_reported(void **state)
{
	pb_config c;
	pb_diag dg;

	(void)state;
	assert_int_equal(pb_config_init(&c), PB_OK);
	pb_diag_init(&dg);
	assert_int_equal(pb_config_load(&c,
					write_file("many.yaml", "tracking:\n  a: 1\n  b: 2\n"
								"  timeout: x\n"),
					&dg),
			 PB_ECONFIG);
	assert_int_equal(pb_diag_count(&dg), 3);
	pb_diag_release(&dg);
	pb_config_release(&c);
}

static void environment_wins(void **state)
{
	pb_config c;
	char first[600];

	(void)state;
	setenv("PARCELBOT_KUAIDI100_CUSTOMER", "ENVCUST", 1);
	setenv("PARCELBOT_KUAIDI100_KEY_FILE", write_file("env.key", "env-key\n"), 1);
	setenv("PARCELBOT_17TRACK_TOKEN", "", 1); /* empty counts as unset */
	setenv("PARCELBOT_17TRACK_URL", "http://127.0.0.1:1/t17", 1);
	assert_int_equal(load("tracking:\n  kuaidi100: {customer: FILECUST, key: file-key}\n"
			      "  17track: {token: file-token}\n",
			      &c, first, sizeof first),
			 PB_OK);
	assert_string_equal(c.tracking.k100_customer, "ENVCUST");
	assert_string_equal(c.tracking.k100_key, "env-key");
	assert_string_equal(c.tracking.t17_token, "file-token");
	assert_string_equal(c.tracking.t17_url, "http://127.0.0.1:1/t17");
	pb_config_release(&c);
}

static void environment_mistakes(void **state)
{
	pb_config c;
	pb_diag dg;

	(void)state;
	setenv("PARCELBOT_17TRACK_TOKEN", "a", 1);
	setenv("PARCELBOT_17TRACK_TOKEN_FILE", "/nonexistent", 1);
	setenv("PARCELBOT_KUAIDI100_KEY_FILE", "/nonexistent/key", 1);
	setenv("PARCELBOT_KUAIDI100_URL", "poll.kuaidi100.com", 1);
	assert_int_equal(pb_config_init(&c), PB_OK);
	pb_diag_init(&dg);
	assert_int_equal(pb_config_load(&c, NULL, &dg), PB_ECONFIG);
	assert_int_equal(dg.n, 3);
	assert_string_equal(dg.lines[0], "environment: PARCELBOT_KUAIDI100_KEY_FILE: cannot read "
					 "'/nonexistent/key': No such file or directory");
	assert_string_equal(dg.lines[1], "environment: PARCELBOT_17TRACK_TOKEN and "
					 "PARCELBOT_17TRACK_TOKEN_FILE are both set; use one");
	assert_non_null(strstr(dg.lines[2], "PARCELBOT_KUAIDI100_URL must start with http://"));
	pb_diag_release(&dg);
	pb_config_release(&c);
}

static void config_from_environment_path(void **state)
{
	pb_config c;
	pb_diag dg;

	(void)state;
	setenv("PARCELBOT_CONFIG", write_file("env.yaml", "tracking:\n  retries: 7\n"), 1);
	assert_int_equal(pb_config_init(&c), PB_OK);
	pb_diag_init(&dg);
	assert_int_equal(pb_config_load(&c, NULL, &dg), PB_OK);
	assert_int_equal(c.tracking.retries, 7);
	pb_diag_release(&dg);
	pb_config_release(&c);
	/* A missing file is an error, not silently the defaults. */
	assert_int_equal(pb_config_init(&c), PB_OK);
	pb_diag_init(&dg);
	assert_int_equal(pb_config_load(&c, "/nonexistent/parcelbot.yaml", &dg), PB_ECONFIG);
	assert_non_null(strstr(dg.lines[0], "cannot open"));
	pb_diag_release(&dg);
	pb_config_release(&c);
}

static void secret_files(void **state)
{
	char *s = NULL;
	pb_errbuf eb;
	char big[PB_CONFIG_MAX_SECRET + 10];

	(void)state;
	assert_int_equal(pb_config_read_secret(write_file("s1", "  tok en \r\n"), &s, &eb), PB_OK);
	assert_string_equal(s, "  tok en");
	free(s);
	assert_int_equal(pb_config_read_secret(write_file("s2", "\n\n"), &s, &eb), PB_EINVAL);
	assert_int_equal(pb_config_read_secret(write_file("s3", "bad \xff utf8"), &s, &eb), PB_EINVAL);
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(pb_config_read_secret(write_file("s4", big), &s, &eb), PB_ETOOBIG);
	assert_int_equal(pb_config_read_secret("/nonexistent", &s, &eb), PB_EIO);
}

static void json_hides_secrets(void **state)
{
	pb_config c;
	cJSON *j;
	char *s;

	(void)state;
	assert_int_equal(load("tracking:\n  kuaidi100: {customer: CUSTSECRET, key: KEYSECRET}\n"
			      "  17track: {url: 'https://u:PASSSECRET@api.example/track'}\n",
			      &c, NULL, 0),
			 PB_OK);
	j = pb_config_json(&c);
	s = cJSON_PrintUnformatted(j);
	assert_non_null(s);
	assert_null(strstr(s, "CUSTSECRET"));
	assert_null(strstr(s, "KEYSECRET"));
	assert_null(strstr(s, "PASSSECRET"));
	assert_non_null(strstr(s, "\"key\":\"(set)\""));
	assert_non_null(strstr(s, "\"token\":null"));
	assert_non_null(strstr(s, "\"url\":\"https://poll.kuaidi100.com/poll/query.do\""));
	free(s);
	cJSON_Delete(j);
	pb_config_release(&c);
}

static void durations_and_sizes(void **state)
{
	long long ms;
	unsigned long long b;

	(void)state;
	assert_true(pb_config_duration("500ms", &ms) && ms == 500);
	assert_true(pb_config_duration("3s", &ms) && ms == 3000);
	assert_true(pb_config_duration("1.5", &ms) && ms == 1500);
	assert_true(pb_config_duration("10m", &ms) && ms == 600000);
	assert_true(pb_config_duration("2h", &ms) && ms == 7200000);
	assert_true(pb_config_duration("1d", &ms) && ms == 86400000);
	assert_true(pb_config_duration("0", &ms) && ms == 0);
	assert_false(pb_config_duration("", &ms));
	assert_false(pb_config_duration("-1s", &ms));
	assert_false(pb_config_duration("3 s", &ms));
	assert_false(pb_config_duration("3w", &ms));
	assert_false(pb_config_duration("nan", &ms));
	assert_true(pb_config_size("1048576", &b) && b == 1048576);
	assert_true(pb_config_size("512k", &b) && b == 524288);
	assert_true(pb_config_size("8MiB", &b) && b == 8388608);
	assert_true(pb_config_size("1G", &b) && b == 1073741824);
	assert_false(pb_config_size("8 MiB", &b));
	assert_false(pb_config_size("-1", &b));
	assert_false(pb_config_size("1T", &b));
	assert_false(pb_config_size("99999999999999999999", &b));
}

/* The loader on bytes in memory: same reading as the file, messages under
 * the given name, relative secret files beside it. */
static void load_from_memory(void **state)
{
	static const char text[] = "tracking:\n  kuaidi100:\n    customer: C1\n"
				   "    key_file: mem.key\n  retries: 2\n";
	char path[160];
	pb_config c;
	pb_diag dg;

	(void)state;
	write_file("mem.key", "mem-key\n");
	snprintf(path, sizeof path, "%s/in-memory.yaml", dir);
	assert_int_equal(pb_config_init(&c), PB_OK);
	pb_diag_init(&dg);
	assert_int_equal(pb_config_load_data(&c, path, text, strlen(text), &dg), PB_OK);
	assert_int_equal(dg.n, 0);
	assert_string_equal(c.tracking.k100_customer, "C1");
	assert_string_equal(c.tracking.k100_key, "mem-key");
	assert_string_equal(c.file, path);
	pb_diag_release(&dg);
	pb_config_release(&c);

	assert_int_equal(pb_config_init(&c), PB_OK);
	pb_diag_init(&dg);
	assert_int_equal(pb_config_load_data(&c, "mem.yaml", "log: [1\n", 8, &dg), PB_ECONFIG);
	assert_true(dg.n > 0);
	assert_non_null(strstr(dg.lines[0], "mem.yaml:"));
	pb_diag_release(&dg);
	pb_config_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(defaults, clear_env),
		cmocka_unit_test_setup(full_file, clear_env),
		cmocka_unit_test_setup(mistakes_have_positions, clear_env),
		cmocka_unit_test_setup(daemon_sections, clear_env),
		cmocka_unit_test_setup(every_mistake_is_reported, clear_env),
		cmocka_unit_test_setup(environment_wins, clear_env),
		cmocka_unit_test_setup(environment_mistakes, clear_env),
		cmocka_unit_test_setup(config_from_environment_path, clear_env),
		cmocka_unit_test_setup(secret_files, clear_env),
		cmocka_unit_test_setup(json_hides_secrets, clear_env),
		cmocka_unit_test(durations_and_sizes),
		cmocka_unit_test_setup(load_from_memory, clear_env),
	};

	return cmocka_run_group_tests_name("config", tests, setup, teardown);
}
