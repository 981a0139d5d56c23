/*
 * Command-line plumbing for the subcommands that use the store (see
 * cli.h): where the database is, who is acting, and what time it is.
 */
#include "parcelbot/cli.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "parcelbot/store.h"
#include "parcelbot/time.h"
#include "parcelbot/utf8.h"

const char *pb_cli_db_path(const char *opt, char *buf, size_t n)
{
	const char *env = getenv("PARCELBOT_DB"), *xdg = getenv("XDG_DATA_HOME");
	const char *home = getenv("HOME");

	if (opt && *opt)
		return opt;
	if (env && *env)
		return env;
	if (xdg && *xdg == '/')
		snprintf(buf, n, "%s/parcelbot/parcelbot.db", xdg);
	else if (home && *home)
		snprintf(buf, n, "%s/.local/share/parcelbot/parcelbot.db", home);
	else {
		pb_cli_fail(PB_EXIT_USAGE, "no database: give --db PATH or set PARCELBOT_DB");
		return NULL;
	}
	return buf;
}

/* mkdir -p for the directory part of path, owner-only like the file. */
static bool make_parents(const char *path)
{
	char dir[PATH_MAX], *p;

	if (strlen(path) >= sizeof dir)
		return false;
	strcpy(dir, path); /* NOLINT(clang-analyzer-security.insecureAPI.strcpy): fits, checked above */
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return true;
	*p = '\0';
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) && errno != EEXIST)
			return false;
		*p = '/';
	}
	return !mkdir(dir, 0700) || errno == EEXIST;
}

struct pb_store *pb_cli_open_store(const char *opt, bool create)
{
	char buf[PATH_MAX];
	const char *path = pb_cli_db_path(opt, buf, sizeof buf);
	pb_store_opts o = {create, 0, 0};
	pb_store *st = NULL;
	pb_errbuf eb;
	pb_err err;

	if (!path)
		return NULL;
	if (create && path == buf && !make_parents(path)) {
		pb_cli_fail(PB_EXIT_INPUT, "cannot create the directory for %s: %s", path,
			    strerror(errno));
		return NULL;
	}
	eb.msg[0] = '\0';
	err = pb_store_open(path, &o, &st, &eb);
	if (err == PB_ENOTFOUND)
		pb_cli_fail(PB_EXIT_INPUT,
			    "no database at %s (give --db PATH or set PARCELBOT_DB; "
			    "'parcelbot ingest' creates one)",
			    path);
	else if (err)
		pb_cli_fail(PB_EXIT_INPUT, "%s", pb_errmsg(&eb, err));
	return err ? NULL : st;
}

const char *pb_cli_agent(const char *opt)
{
	const char *name = opt && *opt ? opt : getenv("USER");
	const char *p;

	if (!name || !*name) {
		pb_cli_fail(PB_EXIT_USAGE, "who is acting? give --as NAME (or set USER)");
		return NULL;
	}
	if (strlen(name) > 64 || !pb_utf8_valid(name, strlen(name))) {
		pb_cli_fail(PB_EXIT_USAGE, "an agent name must be 1 to 64 bytes of UTF-8");
		return NULL;
	}
	for (p = name; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			pb_cli_fail(PB_EXIT_USAGE, "an agent name must not hold control characters");
			return NULL;
		}
	return name;
}

bool pb_cli_now(const char *cmd, const char *opt, int32_t tz_off, int64_t *out)
{
	pb_when w;

	if (!opt) {
		*out = (int64_t)time(NULL);
		return true;
	}
	if (pb_time_parse(opt, tz_off, &w)) {
		pb_cli_usage(cmd, "--now must be an ISO 8601 time, not '%s'", opt);
		return false;
	}
	*out = w.t;
	return true;
}

bool pb_cli_case_id(const char *cmd, const char *arg, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = arg ? strtoll(arg, &end, 10) : 0;
	if (!arg || !*arg || *end || errno || v <= 0) {
		pb_cli_usage(cmd, "a case ID is a positive whole number, not '%s'", arg ? arg : "");
		return false;
	}
	*out = v;
	return true;
}
