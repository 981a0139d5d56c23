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

pb_err pb_config_init(pb_config *c)
{
	memset(c, 0, sizeof *c);
	return pb_track_config_init(&c->tracking);
}

void pb_config_release(pb_config *c)
{
	pb_track_config_release(&c->tracking);
	free(c->file);
	c->file = NULL;
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
		fclose(f);
		return pb_errf(eb, PB_EIO, "cannot read '%s': %s", path, strerror(errno));
	}
	fclose(f);
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

pb_err pb_config_load_file(pb_config *c, const char *path, pb_diag *dg)
{
	static const char *const sections[] = {"tracking", NULL};
	size_t before = pb_diag_count(dg);
	pb_ydoc doc = {0};
	char dir[PATH_MAX], *slash;
	loader L = {c, &doc, dg, NULL, false};
	pb_err err;

	err = pb_ydoc_load(&doc, path, PB_CONFIG_MAX_FILE, dg);
	if (err)
		goto out;
	snprintf(dir, sizeof dir, "%s", path);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		L.dir = slash == dir ? "/" : dir;
	}
	if (doc.root && pb_y_expect(dg, &doc, doc.root, PB_Y_MAP, "the configuration")) {
		pb_y_keys(dg, &doc, doc.root, sections);
		if (pb_ymap_get(doc.root, "tracking"))
			load_tracking(&L, pb_ymap_get(doc.root, "tracking"));
	}
	if (L.oom)
		err = PB_ENOMEM;
	else if (pb_diag_count(dg) > before)
		err = PB_ECONFIG;
	else if (pb_track_config_set(&c->file, path))
		err = PB_ENOMEM;
out:
	pb_ydoc_release(&doc);
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
	return j;
oom:
	cJSON_Delete(j);
	return NULL;
}
