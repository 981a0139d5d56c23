/*
 * Loading the configuration (see config.h). The file is checked completely
 * before anything is reported, like the KB, so one run shows every mistake
 * with its position. Secrets read from files or the environment are copied
 * once into the config and wiped when it is released.
 */
#include "parcelbot/config.h"

#include <cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/utf8.h"

static void wipe(char **field)
{
	pb_track_config_set(field, NULL);
}

void pb_config_release(pb_config *c)
{
	pb_track_config_release(&c->tracking);
	wipe(&c->server.listen);
	wipe(&c->server.api_token);
	wipe(&c->server.public_url);
	wipe(&c->server.tls_cert_file);
	wipe(&c->server.tls_key_file);
	wipe(&c->store_path);
	wipe(&c->chatwoot.url);
	wipe(&c->chatwoot.api_token);
	wipe(&c->chatwoot.webhook_secret);
	wipe(&c->chatwoot.escalate_label);
	wipe(&c->shopee.url);
	wipe(&c->shopee.partner_key);
	wipe(&c->shopee.refresh_token);
	wipe(&c->shopee.access_token);
	wipe(&c->orders.url);
	wipe(&c->orders.token);
	free(c->file);
	c->file = NULL;
}

pb_err pb_config_init(pb_config *c)
{
	memset(c, 0, sizeof *c);
	if (pb_track_config_init(&c->tracking))
		return PB_ENOMEM;
	c->server.max_body = 1u << 20;
	c->server.max_connections = 256;
	c->server.max_connections_per_ip = 64;
	c->server.connection_timeout_s = 30;
	c->server.threads = 4;
	c->pipeline.workers = 2;
	c->pipeline.batch = 64;
	c->pipeline.lease = 300;
	c->pipeline.max_attempts = 5;
	c->pipeline.scheduler_interval_ms = 30000;
	c->pipeline.scan_interval_ms = 3600000;
	c->pipeline.scan_rate = 10;
	c->log_format = PB_LOG_TEXT;
	c->log_level = PB_LOG_INFO;
	c->shopee.poll_interval_ms = 10000;
	if (pb_track_config_set(&c->server.listen, "127.0.0.1:8080") ||
	    pb_track_config_set(&c->store_path, "parcelbot.db") ||
	    pb_track_config_set(&c->chatwoot.escalate_label, "parcel-escalated") ||
	    pb_track_config_set(&c->shopee.url, "https://partner.shopeemobile.com")) {
		pb_config_release(c);
		return PB_ENOMEM;
	}
	return PB_OK;
}

static const char *const log_levels[] = {"debug", "info", "warn", "error"};

const char *pb_log_level_name(pb_log_level l)
{
	return (unsigned)l < 4 ? log_levels[l] : "info";
}

bool pb_log_level_from_name(const char *name, pb_log_level *out)
{
	int i;

	for (i = 0; i < 4; i++)
		if (name && !strcmp(name, log_levels[i])) {
			*out = (pb_log_level)i;
			return true;
		}
	return false;
}

/* --- values --------------------------------------------------------- */

bool pb_config_duration(const char *s, long long *ms)
{
	static const struct {
		const char *unit;
		double ms;
	} units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
	char *end;
	double v;
	size_t i;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v < 0)
		return false;
	if (!*end) {
		v *= 1000;
	} else {
		for (i = 0; i < sizeof units / sizeof units[0]; i++)
			if (!strcmp(end, units[i].unit))
				break;
		if (i == sizeof units / sizeof units[0])
			return false;
		v *= units[i].ms;
	}
	if (v > 1e15)
		return false;
	*ms = (long long)llround(v);
	return true;
}

bool pb_config_size(const char *s, unsigned long long *bytes)
{
	static const struct {
		const char *unit;
		unsigned long long mul;
	} units[] = {
		{"", 1},	    {"k", 1ull << 10}, {"K", 1ull << 10}, {"KB", 1ull << 10},
		{"KiB", 1ull << 10}, {"M", 1ull << 20}, {"MB", 1ull << 20}, {"MiB", 1ull << 20},
		{"G", 1ull << 30},  {"GB", 1ull << 30}, {"GiB", 1ull << 30},
	};
	char *end;
	unsigned long long v;
	size_t i;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return false;
	for (i = 0; i < sizeof units / sizeof units[0]; i++)
		if (!strcmp(end, units[i].unit))
			break;
	if (i == sizeof units / sizeof units[0] || v > ULLONG_MAX / units[i].mul)
		return false;
	*bytes = v * units[i].mul;
	return true;
}

pb_err pb_config_read_secret(const char *path, char **out, pb_errbuf *eb)
{
	char buf[PB_CONFIG_MAX_SECRET + 2];
	size_t n;
	FILE *f;

	f = fopen(path, "rb");
	if (!f)
		return pb_errf(eb, PB_EIO, "cannot read '%s': %s", path, strerror(errno));
	n = fread(buf, 1, sizeof buf - 1, f);
	if (ferror(f)) {
		(void)fclose(f); /* read only */
		return pb_errf(eb, PB_EIO, "cannot read '%s': %s", path, strerror(errno));
	}
	(void)fclose(f);
	if (n > PB_CONFIG_MAX_SECRET) {
		explicit_bzero(buf, sizeof buf);
		return pb_errf(eb, PB_ETOOBIG, "'%s' is longer than %d bytes", path,
			       PB_CONFIG_MAX_SECRET);
	}
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
		     buf[n - 1] == '\t'))
		n--;
	buf[n] = '\0';
	if (!n || memchr(buf, '\0', n) || !pb_utf8_valid(buf, n)) {
		explicit_bzero(buf, sizeof buf);
		return pb_errf(eb, PB_EINVAL, "'%s' is empty or not text", path);
	}
	*out = strdup(buf);
	explicit_bzero(buf, sizeof buf);
	return *out ? PB_OK : pb_errf(eb, PB_ENOMEM, "out of memory");
}

static bool url_ok(const char *s)
{
	return (!strncmp(s, "http://", 7) || !strncmp(s, "https://", 8)) && !strpbrk(s, " \t\r\n");
}

/* --- the file ------------------------------------------------------- */

typedef struct loader {
	pb_config *c;
	const pb_ydoc *doc;
	pb_diag *dg;
	const char *dir; /* the config file's directory, for relative secret files */
	bool oom;
} loader;

static void set_str(loader *L, char **field, const char *v)
{
	if (pb_track_config_set(field, v))
		L->oom = true;
}

/* A string value under key (must be non-empty when present). */
static const char *str_at(loader *L, const pb_ynode *map, const char *key)
{
	const char *v = pb_y_str(L->dg, L->doc, map, key, false);

	if (v && !*v) {
		pb_diag_at(L->dg, L->doc, pb_ymap_get(map, key), "'%s' must not be empty", key);
		return NULL;
	}
	return v;
}

static void secret(loader *L, const pb_ynode *map, const char *key, const char *file_key,
		   char **field)
{
	const char *v = str_at(L, map, key), *f = str_at(L, map, file_key);
	char path[PATH_MAX], *s = NULL;
	pb_errbuf eb;

	if (v && f) {
		pb_diag_at(L->dg, L->doc, pb_ymap_get(map, file_key), "give '%s' or '%s', not both",
			   key, file_key);
		return;
	}
	if (v) {
		set_str(L, field, v);
		return;
	}
	if (!f)
		return;
	if (f[0] != '/' && L->dir)
		snprintf(path, sizeof path, "%s/%s", L->dir, f);
	else
		snprintf(path, sizeof path, "%s", f);
	if (pb_config_read_secret(path, &s, &eb)) {
		pb_diag_at(L->dg, L->doc, pb_ymap_get(map, file_key), "%s: %s", file_key, eb.msg);
		return;
	}
	set_str(L, field, s);
	explicit_bzero(s, strlen(s));
	free(s);
}

static void url(loader *L, const pb_ynode *map, char **field)
{
	const char *v = str_at(L, map, "url");

	if (!v)
		return;
	if (!url_ok(v)) {
		pb_diag_at(L->dg, L->doc, pb_ymap_get(map, "url"),
			   "url must start with http:// or https:// and hold no spaces");
		return;
	}
	set_str(L, field, v);
}

static bool duration_at(loader *L, const pb_ynode *map, const char *key, long long min_ms,
			long long max_ms, long long *out)
{
	const pb_ynode *n = pb_ymap_get(map, key);
	long long ms;

	if (!n)
		return false;
	if (n->kind != PB_Y_SCALAR || !pb_config_duration(n->str, &ms)) {
		pb_diag_at(L->dg, L->doc, n, "'%s' must be a duration such as 500ms, 3s or 10m", key);
		return false;
	}
	if (ms < min_ms || ms > max_ms) {
		pb_diag_at(L->dg, L->doc, n, "'%s' must be between %lldms and %llds", key, min_ms,
			   max_ms / 1000);
		return false;
	}
	*out = ms;
	return true;
}

static bool count_at(loader *L, const pb_ynode *map, const char *key, double max, double *out)
{
	const pb_ynode *n = pb_ymap_get(map, key);
	double d;

	if (!n)
		return false;
	if (!pb_y_node_num(L->dg, L->doc, n, &d))
		return false;
	if (d < 0 || d > max || d != floor(d)) {
		pb_diag_at(L->dg, L->doc, n, "'%s' must be a whole number from 0 to %.0f", key, max);
		return false;
	}
	*out = d;
	return true;
}

static void load_tracking(loader *L, const pb_ynode *sec)
{
	static const char *const keys[] = {"provider",	  "kuaidi100",	   "17track", "connect_timeout",
					   "timeout",	  "retries",	   "backoff", "backoff_max",
					   "cache_ttl",	  "cache_entries", "max_body", NULL};
	static const char *const k100_keys[] = {"customer", "customer_file", "key", "key_file",
						"url", NULL};
	static const char *const t17_keys[] = {"token", "token_file", "url", NULL};
	pb_track_config *t = &L->c->tracking;
	const pb_ynode *n;
	const char *v;
	long long ms;
	double d;
	unsigned long long sz;

	if (!pb_y_expect(L->dg, L->doc, sec, PB_Y_MAP, "tracking"))
		return;
	pb_y_keys(L->dg, L->doc, sec, keys);
	v = pb_y_str(L->dg, L->doc, sec, "provider", false);
	if (v && !pb_provider_from_name(v, &t->provider))
		pb_diag_at(L->dg, L->doc, pb_ymap_get(sec, "provider"),
			   "provider must be auto, kuaidi100 or 17track, not '%s'", v);
	n = pb_ymap_get(sec, "kuaidi100");
	if (n && pb_y_expect(L->dg, L->doc, n, PB_Y_MAP, "kuaidi100")) {
		pb_y_keys(L->dg, L->doc, n, k100_keys);
		secret(L, n, "customer", "customer_file", &t->k100_customer);
		secret(L, n, "key", "key_file", &t->k100_key);
		url(L, n, &t->k100_url);
	}
	n = pb_ymap_get(sec, "17track");
	if (n && pb_y_expect(L->dg, L->doc, n, PB_Y_MAP, "17track")) {
		pb_y_keys(L->dg, L->doc, n, t17_keys);
		secret(L, n, "token", "token_file", &t->t17_token);
		url(L, n, &t->t17_url);
	}
	if (duration_at(L, sec, "connect_timeout", 1, 600000, &ms))
		t->connect_timeout_ms = (long)ms;
	if (duration_at(L, sec, "timeout", 1, 3600000, &ms))
		t->timeout_ms = (long)ms;
	if (count_at(L, sec, "retries", 10, &d))
		t->retries = (unsigned)d;
	if (duration_at(L, sec, "backoff", 0, 60000, &ms))
		t->backoff_base_ms = (long)ms;
	if (duration_at(L, sec, "backoff_max", 0, 3600000, &ms))
		t->backoff_max_ms = (long)ms;
	if (t->backoff_max_ms < t->backoff_base_ms)
		pb_diag_at(L->dg, L->doc, pb_ymap_get(sec, "backoff_max") ? pb_ymap_get(sec, "backoff_max") : sec,
			   "backoff_max must not be shorter than backoff");
	if (duration_at(L, sec, "cache_ttl", 0, 7 * 86400000LL, &ms))
		t->cache_ttl = ms / 1000;
	if (count_at(L, sec, "cache_entries", 1000000, &d))
		t->cache_entries = (size_t)d;
	n = pb_ymap_get(sec, "max_body");
	if (n) {
		if (n->kind != PB_Y_SCALAR || !pb_config_size(n->str, &sz))
			pb_diag_at(L->dg, L->doc, n, "'max_body' must be a size such as 8MiB");
		else if (sz < 1024 || sz > (1ull << 30))
			pb_diag_at(L->dg, L->doc, n, "'max_body' must be between 1KiB and 1GiB");
		else
			t->max_body = (size_t)sz;
	}
}

/* A string under key, copied into *field. */
static void str_into(loader *L, const pb_ynode *map, const char *key, char **field)
{
	const char *v = str_at(L, map, key);

	if (v)
		set_str(L, field, v);
}

/* A URL under key (any key, unlike url()). */
static void url_into(loader *L, const pb_ynode *map, const char *key, char **field)
{
	const char *v = str_at(L, map, key);

	if (!v)
		return;
	if (!url_ok(v)) {
		pb_diag_at(L->dg, L->doc, pb_ymap_get(map, key),
			   "'%s' must start with http:// or https:// and hold no spaces", key);
		return;
	}
	set_str(L, field, v);
}

static bool size_at(loader *L, const pb_ynode *map, const char *key, unsigned long long min,
		    unsigned long long max, size_t *out)
{
	const pb_ynode *n = pb_ymap_get(map, key);
	unsigned long long sz;

	if (!n)
		return false;
	if (n->kind != PB_Y_SCALAR || !pb_config_size(n->str, &sz)) {
		pb_diag_at(L->dg, L->doc, n, "'%s' must be a size such as 1MiB", key);
		return false;
	}
	if (sz < min || sz > max) {
		pb_diag_at(L->dg, L->doc, n, "'%s' must be between %llu and %llu bytes", key, min,
			   max);
		return false;
	}
	*out = (size_t)sz;
	return true;
}

/* A whole number from min to max under key. */
static bool int_at(loader *L, const pb_ynode *map, const char *key, double min, double max,
		   double *out)
{
	const pb_ynode *n = pb_ymap_get(map, key);
	double d;

	if (!n)
		return false;
	if (!pb_y_node_num(L->dg, L->doc, n, &d))
		return false;
	if (d < min || d > max || d != floor(d)) {
		pb_diag_at(L->dg, L->doc, n, "'%s' must be a whole number from %.0f to %.0f", key,
			   min, max);
		return false;
	}
	*out = d;
	return true;
}

/* A number from min to max under key. */
static bool num_at(loader *L, const pb_ynode *map, const char *key, double min, double max,
		   double *out)
{
	const pb_ynode *n = pb_ymap_get(map, key);
	double d;

	if (!n)
		return false;
	if (!pb_y_node_num(L->dg, L->doc, n, &d))
		return false;
	if (d < min || d > max) {
		pb_diag_at(L->dg, L->doc, n, "'%s' must be a number from %g to %g", key, min, max);
		return false;
	}
	*out = d;
	return true;
}

/* "host:port" with a port from 0 to 65535. */
bool pb_config_listen_ok(const char *s)
{
	const char *colon = s ? strrchr(s, ':') : NULL;
	char *end;
	long port;

	if (!colon || colon == s || !colon[1] || strpbrk(s, " \t/"))
		return false;
	port = strtol(colon + 1, &end, 10);
	return !*end && port >= 0 && port <= 65535;
}

static void load_server(loader *L, const pb_ynode *sec)
{
	static const char *const keys[] = {"listen", "api_token", "api_token_file", "public_url",
					   "max_body", "max_connections", "max_connections_per_ip",
					   "connection_timeout", "threads", "tls", NULL};
	static const char *const tls_keys[] = {"cert_file", "key_file", NULL};
	pb_server_config *s = &L->c->server;
	const pb_ynode *n;
	const char *v;
	long long ms;
	double d;

	if (!pb_y_expect(L->dg, L->doc, sec, PB_Y_MAP, "server"))
		return;
	pb_y_keys(L->dg, L->doc, sec, keys);
	v = str_at(L, sec, "listen");
	if (v && !pb_config_listen_ok(v))
		pb_diag_at(L->dg, L->doc, pb_ymap_get(sec, "listen"),
			   "listen must be host:port, such as 127.0.0.1:8080");
	else if (v)
		set_str(L, &s->listen, v);
	secret(L, sec, "api_token", "api_token_file", &s->api_token);
	url_into(L, sec, "public_url", &s->public_url);
	size_at(L, sec, "max_body", 1024, 64ull << 20, &s->max_body);
	if (int_at(L, sec, "max_connections", 1, 100000, &d))
		s->max_connections = (unsigned)d;
	if (int_at(L, sec, "max_connections_per_ip", 0, 100000, &d))
		s->max_connections_per_ip = (unsigned)d;
	if (duration_at(L, sec, "connection_timeout", 1000, 3600000, &ms))
		s->connection_timeout_s = (long)(ms / 1000);
	if (int_at(L, sec, "threads", 1, 256, &d))
		s->threads = (unsigned)d;
	n = pb_ymap_get(sec, "tls");
	if (n && pb_y_expect(L->dg, L->doc, n, PB_Y_MAP, "tls")) {
		pb_y_keys(L->dg, L->doc, n, tls_keys);
		str_into(L, n, "cert_file", &s->tls_cert_file);
		str_into(L, n, "key_file", &s->tls_key_file);
		if (!s->tls_cert_file != !s->tls_key_file)
			pb_diag_at(L->dg, L->doc, n, "tls needs both cert_file and key_file");
	}
}

static void load_store(loader *L, const pb_ynode *sec)
{
	static const char *const keys[] = {"path", NULL};

	if (!pb_y_expect(L->dg, L->doc, sec, PB_Y_MAP, "store"))
		return;
	pb_y_keys(L->dg, L->doc, sec, keys);
	str_into(L, sec, "path", &L->c->store_path);
}

static void load_pipeline(loader *L, const pb_ynode *sec)
{
	static const char *const keys[] = {"workers", "batch", "lease", "max_attempts",
					   "scheduler_interval", "scan_interval", "scan_rate", NULL};
	pb_pipeline_config *p = &L->c->pipeline;
	long long ms;
	double d;

	if (!pb_y_expect(L->dg, L->doc, sec, PB_Y_MAP, "pipeline"))
		return;
	pb_y_keys(L->dg, L->doc, sec, keys);
	if (int_at(L, sec, "workers", 1, 64, &d))
		p->workers = (unsigned)d;
	if (int_at(L, sec, "batch", 1, 10000, &d))
		p->batch = (unsigned)d;
	if (duration_at(L, sec, "lease", 1000, 86400000, &ms))
		p->lease = ms / 1000;
	if (int_at(L, sec, "max_attempts", 1, 100, &d))
		p->max_attempts = (unsigned)d;
	if (duration_at(L, sec, "scheduler_interval", 100, 3600000, &ms))
		p->scheduler_interval_ms = (long)ms;
	if (duration_at(L, sec, "scan_interval", 0, 7 * 86400000LL, &ms))
		p->scan_interval_ms = ms;
	if (num_at(L, sec, "scan_rate", 0.1, 1000, &d))
		p->scan_rate = d;
}

static void load_log(loader *L, const pb_ynode *sec)
{
	static const char *const keys[] = {"format", "level", NULL};
	const char *v;

	if (!pb_y_expect(L->dg, L->doc, sec, PB_Y_MAP, "log"))
		return;
	pb_y_keys(L->dg, L->doc, sec, keys);
	v = str_at(L, sec, "format");
	if (v && !strcmp(v, "json"))
		L->c->log_format = PB_LOG_JSON;
	else if (v && !strcmp(v, "text"))
		L->c->log_format = PB_LOG_TEXT;
	else if (v)
		pb_diag_at(L->dg, L->doc, pb_ymap_get(sec, "format"),
			   "format must be text or json, not '%s'", v);
	v = str_at(L, sec, "level");
	if (v && !pb_log_level_from_name(v, &L->c->log_level))
		pb_diag_at(L->dg, L->doc, pb_ymap_get(sec, "level"),
			   "level must be debug, info, warn or error, not '%s'", v);
}

static void load_chatwoot(loader *L, const pb_ynode *sec)
{
	static const char *const keys[] = {"url",
					   "account_id",
					   "api_token",
					   "api_token_file",
					   "webhook_secret",
					   "webhook_secret_file",
					   "escalate_label",
					   NULL};
	pb_chatwoot_config *c = &L->c->chatwoot;
	double d;

	if (!pb_y_expect(L->dg, L->doc, sec, PB_Y_MAP, "chatwoot"))
		return;
	c->enabled = true;
	pb_y_keys(L->dg, L->doc, sec, keys);
	url_into(L, sec, "url", &c->url);
	if (int_at(L, sec, "account_id", 1, 1e15, &d))
		c->account_id = (long)d;
	secret(L, sec, "api_token", "api_token_file", &c->api_token);
	secret(L, sec, "webhook_secret", "webhook_secret_file", &c->webhook_secret);
	str_into(L, sec, "escalate_label", &c->escalate_label);
}

static void load_shopee(loader *L, const pb_ynode *sec)
{
	static const char *const keys[] = {"url",
					   "partner_id",
					   "partner_key",
					   "partner_key_file",
					   "shop_id",
					   "refresh_token",
					   "refresh_token_file",
					   "access_token",
					   "access_token_file",
					   "poll_interval",
					   NULL};
	pb_shopee_config *c = &L->c->shopee;
	long long ms;
	double d;

	if (!pb_y_expect(L->dg, L->doc, sec, PB_Y_MAP, "shopee"))
		return;
	c->enabled = true;
	pb_y_keys(L->dg, L->doc, sec, keys);
	url_into(L, sec, "url", &c->url);
	if (int_at(L, sec, "partner_id", 1, 1e15, &d))
		c->partner_id = (long long)d;
	if (int_at(L, sec, "shop_id", 1, 1e15, &d))
		c->shop_id = (long long)d;
	secret(L, sec, "partner_key", "partner_key_file", &c->partner_key);
	secret(L, sec, "refresh_token", "refresh_token_file", &c->refresh_token);
	secret(L, sec, "access_token", "access_token_file", &c->access_token);
	if (duration_at(L, sec, "poll_interval", 500, 3600000, &ms))
		c->poll_interval_ms = (long)ms;
}

static void load_channels(loader *L, const pb_ynode *sec)
{
	static const char *const keys[] = {"chatwoot", "shopee", NULL};

	if (!pb_y_expect(L->dg, L->doc, sec, PB_Y_MAP, "channels"))
		return;
	pb_y_keys(L->dg, L->doc, sec, keys);
	if (pb_ymap_get(sec, "chatwoot"))
		load_chatwoot(L, pb_ymap_get(sec, "chatwoot"));
	if (pb_ymap_get(sec, "shopee"))
		load_shopee(L, pb_ymap_get(sec, "shopee"));
}

static void load_orders(loader *L, const pb_ynode *sec)
{
	static const char *const keys[] = {"url", "token", "token_file", NULL};
	pb_orders_config *o = &L->c->orders;

	if (!pb_y_expect(L->dg, L->doc, sec, PB_Y_MAP, "orders"))
		return;
	pb_y_keys(L->dg, L->doc, sec, keys);
	url_into(L, sec, "url", &o->url);
	if (o->url && !strstr(o->url, "{order_id}"))
		pb_diag_at(L->dg, L->doc, pb_ymap_get(sec, "url"),
			   "url must contain {order_id}, where the order's id goes");
	secret(L, sec, "token", "token_file", &o->token);
}

/* Reads doc (loaded or parsed from path) over c. */
static pb_err load_doc(pb_config *c, const char *path, pb_ydoc *doc, pb_err err, pb_diag *dg,
		       size_t before);

pb_err pb_config_load_file(pb_config *c, const char *path, pb_diag *dg)
{
	size_t before = pb_diag_count(dg);
	pb_ydoc doc = {0};

	return load_doc(c, path, &doc, pb_ydoc_load(&doc, path, PB_CONFIG_MAX_FILE, dg), dg,
			before);
}

pb_err pb_config_load_data(pb_config *c, const char *path, const char *data, size_t len,
			   pb_diag *dg)
{
	size_t before = pb_diag_count(dg);
	pb_ydoc doc = {0};
	pb_err err;

	if (len > PB_CONFIG_MAX_FILE) {
		pb_diag_add(dg, path, 0, 0, "file is larger than %u bytes", PB_CONFIG_MAX_FILE);
		err = PB_ETOOBIG;
	} else {
		err = pb_ydoc_parse(&doc, path, data, len, dg);
	}
	return load_doc(c, path, &doc, err, dg, before);
}

static pb_err load_doc(pb_config *c, const char *path, pb_ydoc *doc, pb_err err, pb_diag *dg,
		       size_t before)
{
	static const char *const sections[] = {"tracking", "server", "store",	 "pipeline",
					       "log",	   "channels", "orders", NULL};
	static const struct {
		const char *name;
		void (*load)(loader *L, const pb_ynode *sec);
	} loaders[] = {
		{"tracking", load_tracking}, {"server", load_server},	  {"store", load_store},
		{"pipeline", load_pipeline}, {"log", load_log},		  {"channels", load_channels},
		{"orders", load_orders},
	};
	size_t i;
	char dir[PATH_MAX], *slash;
	loader L = {c, doc, dg, NULL, false};

	if (err)
		goto out;
	snprintf(dir, sizeof dir, "%s", path);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		L.dir = slash == dir ? "/" : dir;
	}
	if (doc->root && pb_y_expect(dg, doc, doc->root, PB_Y_MAP, "the configuration")) {
		pb_y_keys(dg, doc, doc->root, sections);
		for (i = 0; i < sizeof loaders / sizeof loaders[0]; i++)
			if (pb_ymap_get(doc->root, loaders[i].name))
				loaders[i].load(&L, pb_ymap_get(doc->root, loaders[i].name));
	}
	if (L.oom)
		err = PB_ENOMEM; /* NOLINT(bugprone-branch-clone): the order of the checks matters */
	else if (pb_diag_count(dg) > before)
		err = PB_ECONFIG;
	else if (pb_track_config_set(&c->file, path))
		err = PB_ENOMEM;
out:
	pb_ydoc_release(doc);
	if (err == PB_EIO || err == PB_EPARSE || err == PB_ETOOBIG)
		err = PB_ECONFIG;
	return err;
}

/* --- the environment ------------------------------------------------ */

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static void env_secret(pb_diag *dg, const char *name, char **field, bool *oom)
{
	char fname[96], *s = NULL;
	const char *v = env(name), *f;
	pb_errbuf eb;

	snprintf(fname, sizeof fname, "%s_FILE", name);
	f = env(fname);
	if (v && f) {
		pb_diag_add(dg, "environment", 0, 0, "%s and %s are both set; use one", name, fname);
		return;
	}
	if (v) {
		if (pb_track_config_set(field, v))
			*oom = true;
		return;
	}
	if (!f)
		return;
	if (pb_config_read_secret(f, &s, &eb)) {
		pb_diag_add(dg, "environment", 0, 0, "%s: %s", fname, eb.msg);
		return;
	}
	if (pb_track_config_set(field, s))
		*oom = true;
	explicit_bzero(s, strlen(s));
	free(s);
}

static void env_url(pb_diag *dg, const char *name, char **field, bool *oom)
{
	const char *v = env(name);

	if (!v)
		return;
	if (!url_ok(v)) {
		pb_diag_add(dg, "environment", 0, 0,
			    "%s must start with http:// or https:// and hold no spaces", name);
		return;
	}
	if (pb_track_config_set(field, v))
		*oom = true;
}

pb_err pb_config_apply_env(pb_config *c, pb_diag *dg)
{
	size_t before = pb_diag_count(dg);
	pb_track_config *t = &c->tracking;
	bool oom = false;

	env_secret(dg, "PARCELBOT_KUAIDI100_CUSTOMER", &t->k100_customer, &oom);
	env_secret(dg, "PARCELBOT_KUAIDI100_KEY", &t->k100_key, &oom);
	env_secret(dg, "PARCELBOT_17TRACK_TOKEN", &t->t17_token, &oom);
	env_url(dg, "PARCELBOT_KUAIDI100_URL", &t->k100_url, &oom);
	env_url(dg, "PARCELBOT_17TRACK_URL", &t->t17_url, &oom);
	env_secret(dg, "PARCELBOT_API_TOKEN", &c->server.api_token, &oom);
	if (env("PARCELBOT_LISTEN")) {
		if (!pb_config_listen_ok(env("PARCELBOT_LISTEN")))
			pb_diag_add(dg, "environment", 0, 0,
				    "PARCELBOT_LISTEN must be host:port, such as 127.0.0.1:8080");
		else if (pb_track_config_set(&c->server.listen, env("PARCELBOT_LISTEN")))
			oom = true;
	}
	if (env("PARCELBOT_DB") && pb_track_config_set(&c->store_path, env("PARCELBOT_DB")))
		oom = true;
	if (env("PARCELBOT_CHATWOOT_URL"))
		c->chatwoot.enabled = true;
	env_url(dg, "PARCELBOT_CHATWOOT_URL", &c->chatwoot.url, &oom);
	env_secret(dg, "PARCELBOT_CHATWOOT_TOKEN", &c->chatwoot.api_token, &oom);
	env_secret(dg, "PARCELBOT_CHATWOOT_WEBHOOK_SECRET", &c->chatwoot.webhook_secret, &oom);
	if (env("PARCELBOT_SHOPEE_URL"))
		c->shopee.enabled = true;
	env_url(dg, "PARCELBOT_SHOPEE_URL", &c->shopee.url, &oom);
	env_secret(dg, "PARCELBOT_SHOPEE_PARTNER_KEY", &c->shopee.partner_key, &oom);
	env_secret(dg, "PARCELBOT_SHOPEE_REFRESH_TOKEN", &c->shopee.refresh_token, &oom);
	env_secret(dg, "PARCELBOT_SHOPEE_ACCESS_TOKEN", &c->shopee.access_token, &oom);
	env_url(dg, "PARCELBOT_ORDERS_URL", &c->orders.url, &oom);
	env_secret(dg, "PARCELBOT_ORDERS_TOKEN", &c->orders.token, &oom);
	if (oom)
		return PB_ENOMEM;
	return pb_diag_count(dg) > before ? PB_ECONFIG : PB_OK;
}

pb_err pb_config_load(pb_config *c, const char *path, pb_diag *dg)
{
	pb_err err = PB_OK, e2;

	if (!path)
		path = env("PARCELBOT_CONFIG");
	if (path)
		err = pb_config_load_file(c, path, dg);
	if (err == PB_ENOMEM)
		return err;
	e2 = pb_config_apply_env(c, dg);
	return err ? err : e2;
}

/* --- JSON ----------------------------------------------------------- */

static void add_secret(cJSON *o, const char *key, const char *v)
{
	if (v && *v)
		cJSON_AddStringToObject(o, key, "(set)");
	else
		cJSON_AddNullToObject(o, key);
}

static void add_url(cJSON *o, const char *v)
{
	/* User info or a query in a URL may carry credentials. */
	if (v && (strchr(v, '@') || strchr(v, '?')))
		cJSON_AddStringToObject(o, "url", "(hidden: it holds user info or a query)");
	else
		cJSON_AddStringToObject(o, "url", v ? v : "");
}

static void add_str(cJSON *o, const char *key, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

static bool add_daemon_sections(cJSON *j, const pb_config *c)
{
	const pb_server_config *s = &c->server;
	const pb_pipeline_config *p = &c->pipeline;
	cJSON *o, *ch, *x;

	if (!(o = cJSON_AddObjectToObject(j, "server")))
		return false;
	add_str(o, "listen", s->listen);
	add_secret(o, "api_token", s->api_token);
	add_str(o, "public_url", s->public_url);
	cJSON_AddNumberToObject(o, "max_body", (double)s->max_body);
	cJSON_AddNumberToObject(o, "max_connections", s->max_connections);
	cJSON_AddNumberToObject(o, "max_connections_per_ip", s->max_connections_per_ip);
	cJSON_AddNumberToObject(o, "connection_timeout_s", (double)s->connection_timeout_s);
	cJSON_AddNumberToObject(o, "threads", s->threads);
	cJSON_AddBoolToObject(o, "tls", s->tls_cert_file != NULL);
	if (!(o = cJSON_AddObjectToObject(j, "store")))
		return false;
	add_str(o, "path", c->store_path);
	if (!(o = cJSON_AddObjectToObject(j, "pipeline")))
		return false;
	cJSON_AddNumberToObject(o, "workers", p->workers);
	cJSON_AddNumberToObject(o, "batch", p->batch);
	cJSON_AddNumberToObject(o, "lease_s", (double)p->lease);
	cJSON_AddNumberToObject(o, "max_attempts", p->max_attempts);
	cJSON_AddNumberToObject(o, "scheduler_interval_ms", (double)p->scheduler_interval_ms);
	cJSON_AddNumberToObject(o, "scan_interval_ms", (double)p->scan_interval_ms);
	cJSON_AddNumberToObject(o, "scan_rate", p->scan_rate);
	if (!(o = cJSON_AddObjectToObject(j, "log")))
		return false;
	cJSON_AddStringToObject(o, "format", c->log_format == PB_LOG_JSON ? "json" : "text");
	cJSON_AddStringToObject(o, "level", pb_log_level_name(c->log_level));
	if (!(ch = cJSON_AddObjectToObject(j, "channels")))
		return false;
	if (c->chatwoot.enabled) {
		if (!(x = cJSON_AddObjectToObject(ch, "chatwoot")))
			return false;
		add_url(x, c->chatwoot.url);
		cJSON_AddNumberToObject(x, "account_id", (double)c->chatwoot.account_id);
		add_secret(x, "api_token", c->chatwoot.api_token);
		add_secret(x, "webhook_secret", c->chatwoot.webhook_secret);
		add_str(x, "escalate_label", c->chatwoot.escalate_label);
	}
	if (c->shopee.enabled) {
		if (!(x = cJSON_AddObjectToObject(ch, "shopee")))
			return false;
		add_url(x, c->shopee.url);
		cJSON_AddNumberToObject(x, "partner_id", (double)c->shopee.partner_id);
		cJSON_AddNumberToObject(x, "shop_id", (double)c->shopee.shop_id);
		add_secret(x, "partner_key", c->shopee.partner_key);
		add_secret(x, "refresh_token", c->shopee.refresh_token);
		add_secret(x, "access_token", c->shopee.access_token);
		cJSON_AddNumberToObject(x, "poll_interval_ms", (double)c->shopee.poll_interval_ms);
	}
	if (!(o = cJSON_AddObjectToObject(j, "orders")))
		return false;
	if (c->orders.url)
		add_url(o, c->orders.url);
	else
		cJSON_AddNullToObject(o, "url");
	add_secret(o, "token", c->orders.token);
	return true;
}

pb_err pb_config_check_serve(const pb_config *c, pb_diag *dg)
{
	size_t before = pb_diag_count(dg);
	const char *f = c->file ? c->file : "configuration";

	if (c->chatwoot.enabled) {
		if (!c->chatwoot.url)
			pb_diag_add(dg, f, 0, 0, "channels.chatwoot.url is required");
		if (!c->chatwoot.account_id)
			pb_diag_add(dg, f, 0, 0, "channels.chatwoot.account_id is required");
		if (!c->chatwoot.api_token)
			pb_diag_add(dg, f, 0, 0,
				    "channels.chatwoot.api_token_file (or PARCELBOT_CHATWOOT_TOKEN) "
				    "is required");
		if (!c->chatwoot.webhook_secret)
			pb_diag_add(dg, f, 0, 0,
				    "channels.chatwoot.webhook_secret_file (or "
				    "PARCELBOT_CHATWOOT_WEBHOOK_SECRET) is required: the webhook URL "
				    "must carry a secret");
	}
	if (c->shopee.enabled) {
		if (!c->shopee.partner_id)
			pb_diag_add(dg, f, 0, 0, "channels.shopee.partner_id is required");
		if (!c->shopee.shop_id)
			pb_diag_add(dg, f, 0, 0, "channels.shopee.shop_id is required");
		if (!c->shopee.partner_key)
			pb_diag_add(dg, f, 0, 0,
				    "channels.shopee.partner_key_file (or PARCELBOT_SHOPEE_PARTNER_KEY) "
				    "is required");
		if (!c->shopee.refresh_token && !c->shopee.access_token)
			pb_diag_add(dg, f, 0, 0,
				    "channels.shopee.refresh_token_file (or "
				    "PARCELBOT_SHOPEE_REFRESH_TOKEN) is required");
	}
	if (!c->server.api_token)
		pb_diag_add(dg, f, 0, 0,
			    "server.api_token_file (or PARCELBOT_API_TOKEN) is required: every API "
			    "route needs a bearer token");
	return pb_diag_count(dg) > before ? PB_ECONFIG : PB_OK;
}

cJSON *pb_config_json(const pb_config *c)
{
	const pb_track_config *t = &c->tracking;
	cJSON *j = cJSON_CreateObject(), *tr, *k, *s;

	if (!j)
		return NULL;
	if (c->file)
		cJSON_AddStringToObject(j, "file", c->file);
	else
		cJSON_AddNullToObject(j, "file");
	tr = cJSON_AddObjectToObject(j, "tracking");
	if (!tr)
		goto oom;
	cJSON_AddStringToObject(tr, "provider", pb_provider_name(t->provider));
	k = cJSON_AddObjectToObject(tr, "kuaidi100");
	s = cJSON_AddObjectToObject(tr, "17track");
	if (!k || !s)
		goto oom;
	add_secret(k, "customer", t->k100_customer);
	add_secret(k, "key", t->k100_key);
	add_url(k, t->k100_url);
	add_secret(s, "token", t->t17_token);
	add_url(s, t->t17_url);
	cJSON_AddNumberToObject(tr, "connect_timeout_ms", (double)t->connect_timeout_ms);
	cJSON_AddNumberToObject(tr, "timeout_ms", (double)t->timeout_ms);
	cJSON_AddNumberToObject(tr, "retries", t->retries);
	cJSON_AddNumberToObject(tr, "backoff_ms", (double)t->backoff_base_ms);
	cJSON_AddNumberToObject(tr, "backoff_max_ms", (double)t->backoff_max_ms);
	cJSON_AddNumberToObject(tr, "cache_ttl_s", (double)t->cache_ttl);
	cJSON_AddNumberToObject(tr, "cache_entries", (double)t->cache_entries);
	cJSON_AddNumberToObject(tr, "max_body", (double)t->max_body);
	if (!add_daemon_sections(j, c))
		goto oom;
	return j;
oom:
	cJSON_Delete(j);
	return NULL;
}
