/*
 * Test helpers (see testutil.h).
 */
#include "testutil.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parcelbot/ydoc.h"

char *tu_mkdtemp(void)
{
	char tmpl[] = "/tmp/pbtest.XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

void tu_write(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX], *slash;
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	for (slash = strchr(path + strlen(dir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

char *tu_kb_copy(void)
{
	char *d = tu_mkdtemp(), cmd[PATH_MAX * 2 + 32];

	snprintf(cmd, sizeof cmd, "cp -r '%s'/. '%s'/", tu_kb_dir(), d);
	assert_int_equal(system(cmd), 0);
	return d;
}

void tu_append(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "a");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

void tu_rmtree(const char *dir)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

const char *tu_kb_dir(void)
{
	static char buf[PATH_MAX];
	const char *src = getenv("PB_SRCDIR");

	snprintf(buf, sizeof buf, "%s/kb", src && *src ? src : ".");
	return buf;
}

pb_kb *tu_kb(void)
{
	static pb_kb *kb;
	pb_diag dg;
	size_t i;

	if (kb)
		return kb;
	pb_diag_init(&dg);
	if (pb_kb_load(tu_kb_dir(), &kb, &dg)) {
		for (i = 0; i < dg.n; i++)
			fprintf(stderr, "%s\n", dg.lines[i]);
		fail_msg("the source tree's KB does not load");
	}
	pb_diag_release(&dg);
	return kb;
}

char *tu_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}
