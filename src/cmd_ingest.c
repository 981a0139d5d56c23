/*
 * `parcelbot ingest --jsonl`: buyer messages through the whole pipeline into
 * the store, as the chat integration will feed them. Each batch of lines is
 * committed to the inbox first, then processed; feeding the same input
 * again, after a crash or by mistake, changes nothing.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parcelbot/cli.h"
#include "parcelbot/ingest.h"
#include "parcelbot/policy.h"
#include "parcelbot/store.h"

const char pb_usage_ingest[] =
	"usage: parcelbot ingest --jsonl [--db PATH] [--now TIME] [--batch N] [--kb DIR]\n"
	"\n"
	"Feeds buyer messages through the whole pipeline into the store, as the chat\n"
	"integration will. Each line of standard input is one message. It is put in\n"
	"the store's inbox first, then processed: classified, joined to its open case\n"
	"or given a new one, its parcel assessed, its reply drafted for an agent (or\n"
	"handed to a human when severe), deadlines set and the actions queued. A\n"
	"message id seen before changes nothing, so the same input can be fed again,\n"
	"for instance after a crash; messages received but not processed then are\n"
	"processed now.\n"
	"\n"
	"Each line is a JSON object shaped like a `parcelbot draft --jsonl` case,\n"
	"plus:\n"
	"  message_id    the channel's id for the message (required)\n"
	"  conversation  the channel's conversation id (required)\n"
	"  channel       the channel (default \"cli\")\n"
	"  buyer         the buyer's id on the channel (optional)\n"
	"The fields message, now, order and parcel are as for draft; now is when the\n"
	"buyer wrote (default: --now), history is ignored (the store counts the\n"
	"contacts). A parcel with events is its trace as last seen; a parcel with only\n"
	"carrier and number is taken from the tracking cache. This build has no live\n"
	"tracking lookup: a parcel never seen with events is drafted without a trace,\n"
	"and the draft says so.\n"
	"\n"
	"Prints one summary line on standard error, and a line for each input line\n"
	"that cannot be read:\n"
	"  ingest: read N, new N, duplicate N, failed N; processed N (drafted N,\n"
	"  escalated N), cases opened N, joined N\n"
	"\n"
	"Options:\n"
	"  --jsonl       read JSON lines on standard input (required)\n"
	"  --db PATH     the database (default: $PARCELBOT_DB, else\n"
	"                $XDG_DATA_HOME/parcelbot/parcelbot.db, else\n"
	"                ~/.local/share/parcelbot/parcelbot.db); created when missing\n"
	"  --now TIME    when the lines were received (ISO 8601; default: now)\n"
	"  --batch N     messages per transaction (default 256; 1 commits each alone)\n"
	"  --kb DIR      knowledge base directory\n"
	"\n"
	"Exit status: 0 every line ingested (duplicates too), 1 usage, 2 a line\n"
	"failed or the store failed.\n";

/* Until live tracking is wired in, only the cache answers. */
static pb_err cache_only(void *ctx, const char *carrier, const char *number,
			 const char *phone_last4, int64_t now, pb_trace *out, pb_errbuf *eb)
{
	(void)ctx;
	(void)carrier;
	(void)number;
	(void)phone_last4;
	(void)now;
	(void)out;
	return pb_errf(eb, PB_ENOTFOUND,
		       "no live tracking lookup is available in this build; only the tracking "
		       "cache is used");
}

static const char *worker_name(char *buf, size_t n)
{
	char host[128];

	/* One name per host: an ingest restarted after a crash takes back
	 * the rows its predecessor claimed, at once. */
	if (gethostname(host, sizeof host))
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	snprintf(buf, n, "ingest@%s", host);
	return buf;
}

int pb_cmd_ingest(pb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"jsonl", no_argument, NULL, 'j'},     {"db", required_argument, NULL, 'd'},
		{"now", required_argument, NULL, 'n'}, {"batch", required_argument, NULL, 'b'},
		{"kb", required_argument, NULL, 'k'},  {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL, *now_s = NULL;
	bool jsonl = false, eof = false;
	long batch = 256;
	unsigned long lineno = 0, read = 0, failed = 0;
	pb_kb *kb = NULL;
	pb_store *st = NULL;
	pb_ingest *ing = NULL;
	pb_ingest_opts io;
	const pb_ingest_stats *s;
	pb_errbuf eb;
	pb_buf line;
	char wbuf[200], *end;
	int64_t now;
	int o, rc, status = PB_EXIT_OK;

	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (o) {
		case 'j': jsonl = true; break;
		case 'd': db = optarg; break;
		case 'n': now_s = optarg; break;
		case 'b':
			batch = strtol(optarg, &end, 10);
			if (*end || batch < 1 || batch > 100000)
				return pb_cli_usage("ingest", "--batch needs a count from 1 to 100000, "
							      "not '%s'", optarg);
			break;
		case 'k': cli->kb_dir = optarg; break;
		case 'h':
			pb_cli_help(pb_cli_find("ingest"));
			return PB_EXIT_OK;
		default:
			return pb_cli_usage("ingest", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (!jsonl)
		return pb_cli_usage("ingest", "give --jsonl and the messages on standard input");
	if (optind < argc)
		return pb_cli_usage("ingest", "unexpected argument '%s'", argv[optind]);
	if (!(kb = pb_cli_load_kb(cli)))
		return PB_EXIT_INPUT;
	if (!pb_cli_now("ingest", now_s, kb->policy->tz_off, &now)) {
		pb_kb_unref(kb);
		return PB_EXIT_USAGE;
	}
	pb_buf_init(&line, PB_CLI_MAX_LINE);
	if (!(st = pb_cli_open_store(db, true))) {
		status = PB_EXIT_INPUT;
		goto out;
	}
	memset(&io, 0, sizeof io);
	io.worker = worker_name(wbuf, sizeof wbuf);
	io.batch = (size_t)batch;
	io.resolve = cache_only;
	if (pb_ingest_new(kb, st, &io, &ing, &eb)) {
		status = pb_cli_fail(PB_EXIT_INPUT, "%s", eb.msg);
		goto out;
	}
	while (!eof) {
		long n = 0;
		/* The batch is received (committed) before any of it is worked
		 * on: from then on a crash cannot lose it. */
		if (pb_store_begin(st, &eb)) {
			status = pb_cli_fail(PB_EXIT_INPUT, "%s", eb.msg);
			goto out;
		}
		while (n < batch) {
			pb_err err;
			rc = pb_cli_read_line(stdin, &line);
			if (rc == 0) {
				eof = true;
				break;
			}
			lineno++;
			if (rc == -1) {
				pb_store_rollback(st);
				status = pb_cli_fail(PB_EXIT_INPUT, "reading standard input failed");
				goto out;
			}
			if (rc == 1 && strspn(pb_buf_str(&line), " \t") == line.len)
				continue;
			read++;
			n++;
			if (rc == -2) {
				pb_cli_fail(0, "line %lu is longer than %u bytes", lineno,
					    PB_CLI_MAX_LINE);
				failed++;
				continue;
			}
			eb.msg[0] = '\0';
			err = pb_ingest_accept(ing, line.data, line.len, now, &eb);
			if (!err || err == PB_EEXIST)
				continue;
			if (err == PB_EINVAL || err == PB_EPARSE || err == PB_EUTF8) {
				pb_cli_fail(0, "line %lu: %s", lineno, eb.msg);
				failed++;
				continue;
			}
			pb_store_rollback(st);
			status = pb_cli_fail(PB_EXIT_INPUT, "line %lu: %s", lineno, eb.msg);
			goto out;
		}
		if (pb_store_commit(st, &eb)) {
			pb_store_rollback(st);
			status = pb_cli_fail(PB_EXIT_INPUT, "%s", eb.msg);
			goto out;
		}
		if (pb_ingest_process(ing, now, SIZE_MAX, NULL, &eb)) {
			status = pb_cli_fail(PB_EXIT_INPUT, "%s", eb.msg);
			goto out;
		}
	}
out:
	if (ing) {
		s = pb_ingest_get_stats(ing);
		failed += s->failed;
		fprintf(stderr,
			"ingest: read %lu, new %zu, duplicate %zu, failed %lu; processed %zu "
			"(drafted %zu, escalated %zu), cases opened %zu, joined %zu\n",
			read, s->received, s->duplicate, failed, s->processed, s->drafted,
			s->escalated, s->opened, s->joined);
		if (s->untraced)
			fprintf(stderr,
				"ingest: %zu message%s drafted without a trace: %s\n", s->untraced,
				s->untraced == 1 ? "" : "s", s->lookup_error);
		if (s->failed) {
			size_t pending = 0, given_up = 0;
			pb_store_inbox_counts(st, &pending, &given_up, &eb);
			fprintf(stderr, "ingest: %zu event%s kept in the inbox with an error\n",
				given_up, given_up == 1 ? "" : "s");
		}
		if (failed && status == PB_EXIT_OK)
			status = PB_EXIT_INPUT;
	}
	pb_ingest_free(ing);
	pb_store_close(st);
	pb_buf_release(&line);
	pb_kb_unref(kb);
	return status;
}
