/*
 * Shared command-line plumbing (see cli.h). Errors are one line on stderr,
 * prefixed "parcelbot:", so scripts can grep them.
 */
#include "parcelbot/cli.h"

#include <limits.h>
#include <stdarg.h>
#include <string.h>

int pb_cli_fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("parcelbot: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int pb_cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("parcelbot: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'parcelbot help %s')\n", cmd ? cmd : "");
	return PB_EXIT_USAGE;
}

void pb_cli_help(const pb_command *cmd)
{
	fputs(cmd->usage, stdout);
}

pb_kb *pb_cli_load_kb(const pb_cli *cli)
{
	char buf[PATH_MAX];
	const char *dir = pb_kb_locate(cli->kb_dir, buf, sizeof buf);
	pb_diag dg;
	pb_kb *kb = NULL;
	size_t i;

	pb_diag_init(&dg);
	if (pb_kb_load(dir, &kb, &dg)) {
		for (i = 0; i < dg.n; i++)
			fprintf(stderr, "%s\n", dg.lines[i]);
		if (dg.dropped)
			fprintf(stderr, "parcelbot: ... and %zu more errors\n", dg.dropped);
		fprintf(stderr, "parcelbot: knowledge base %s rejected (%zu error%s)\n", dir,
			pb_diag_count(&dg), pb_diag_count(&dg) == 1 ? "" : "s");
		kb = NULL;
	}
	pb_diag_release(&dg);
	return kb;
}

int pb_cli_read_line(FILE *f, pb_buf *b)
{
	char chunk[8192];
	bool too_long = false;
	size_t n;

	pb_buf_reset(b);
	for (;;) {
		if (!fgets(chunk, sizeof chunk, f)) {
			if (ferror(f))
				return -1;
			if (too_long)
				return -2;
			return b->len ? 1 : 0;
		}
		n = strlen(chunk);
		if (n && chunk[n - 1] == '\n') {
			n--;
			if (n && chunk[n - 1] == '\r')
				n--;
			if (too_long)
				return -2;
			if (pb_buf_append(b, chunk, n))
				return -2;
			if (!b->data)
				pb_buf_append(b, "", 0);
			return 1;
		}
		if (!too_long && pb_buf_append(b, chunk, n))
			too_long = true;
	}
}
