/*
 * `parcelbot track`: look one parcel up and print its normalised trace, for
 * people (newest event first, with state names) or as JSON. The printing
 * takes only the trace, so the assessment can be printed beside it.
 */
#include <cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parcelbot/cli.h"
#include "parcelbot/config.h"
#include "parcelbot/track.h"

const char pb_usage_track[] =
	"usage: parcelbot track [--provider P] [--phone LAST4] [--json] [--config FILE]\n"
	"                       [--kb DIR] CARRIER NUMBER\n"
	"\n"
	"Looks the parcel up with a tracking provider and prints its trace: the\n"
	"events newest first, each with its time (in the carrier's time zone),\n"
	"state, place and the carrier's words. CARRIER is a carrier id from the\n"
	"knowledge base (sf, zto, jnt, ...), or '-' to let 17TRACK detect it.\n"
	"\n"
	"When the provider fails but an earlier trace is at hand, that trace is\n"
	"printed marked STALE and a warning goes to standard error.\n"
	"\n"
	"Options:\n"
	"  --provider P   kuaidi100 or 17track (default: tracking.provider, or by\n"
	"                 carrier: Kuaidi100 for carriers it covers when its\n"
	"                 credentials are set, else 17TRACK)\n"
	"  --phone LAST4  last 4 digits of the recipient's phone (SF needs them)\n"
	"  --json         print the trace as JSON\n"
	"  --config FILE  configuration file (default: $PARCELBOT_CONFIG)\n"
	"  --kb DIR       knowledge base directory\n"
	"  -h, --help     show this help\n"
	"\n"
	"Credentials come from the configuration or the environment\n"
	"(PARCELBOT_KUAIDI100_CUSTOMER, PARCELBOT_KUAIDI100_KEY,\n"
	"PARCELBOT_17TRACK_TOKEN, or their *_FILE forms), never from the command\n"
	"line; see docs/providers.md.\n"
	"\n"
	"Exit status: 0 when a trace (or the provider's \"not found\") was printed,\n"
	"1 for a usage error, 2 when the lookup failed.\n";

static void print_when(FILE *out, pb_when w)
{
	struct tm tm;
	int32_t off = w.off < 0 ? -w.off : w.off;

	pb_time_fields(w, &tm);
	fprintf(out, "%04d-%02d-%02d %02d:%02d %c%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
		tm.tm_mday, tm.tm_hour, tm.tm_min, w.off < 0 ? '-' : '+', off / 3600,
		off % 3600 / 60);
}

static void state_label(const pb_event *e, char *buf, size_t n)
{
	if (e->exception)
		snprintf(buf, n, "%s/%s", pb_pstate_name(e->state), pb_exkind_name(e->exception));
	else
		snprintf(buf, n, "%s", pb_pstate_name(e->state));
}

/* The trace for people. */
static void print_trace(FILE *out, const pb_trace *t)
{
	char st[64], tb[40];
	size_t i;

	fprintf(out, "%s %s via %s%s\n", *t->carrier ? t->carrier : "(carrier detected by provider)",
		t->number, t->provider, t->stale ? "  [STALE]" : "");
	if (!t->found) {
		fprintf(out, "not found: %s has no trace for this number (yet)\n", t->provider);
		return;
	}
	if (t->n_events)
		state_label(&t->events[0], st, sizeof st);
	else
		snprintf(st, sizeof st, "%s", pb_pstate_name(PB_ST_UNKNOWN));
	fprintf(out, "state: %s\n", st);
	if (t->fetched_at)
		fprintf(out, "fetched: %s\n", pb_time_format((pb_when){t->fetched_at, 0}, tb, sizeof tb));
	if (!t->n_events) {
		fprintf(out, "no events yet\n");
		return;
	}
	fprintf(out, "events, newest first:\n");
	for (i = 0; i < t->n_events; i++) {
		const pb_event *e = &t->events[i];
		state_label(e, st, sizeof st);
		fputs("  ", out);
		print_when(out, e->time);
		fprintf(out, "  %-22s", st);
		if (*e->location)
			fprintf(out, " %s:", e->location);
		fprintf(out, " %s", e->description);
		if (*e->code)
			fprintf(out, "  [%s]", e->code);
		fputc('\n', out);
	}
}

int pb_cmd_track(pb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"provider", required_argument, NULL, 'p'},
		{"phone", required_argument, NULL, 'P'},
		{"json", no_argument, NULL, 'j'},
		{"config", required_argument, NULL, 'c'},
		{"kb", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	pb_track_query q = {0};
	pb_track_result res;
	pb_tracker *tr = NULL;
	pb_config cfg;
	const char *config_file = NULL;
	bool json = false, have_cfg = false, have_res = false;
	pb_kb *kb = NULL;
	pb_errbuf eb;
	pb_diag dg;
	int o, status = PB_EXIT_OK;
	char *s;
	cJSON *j;

	pb_diag_init(&dg);
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'p':
			if (!pb_provider_from_name(optarg, &q.provider) || q.provider == PB_PROVIDER_AUTO)
				return pb_cli_usage("track", "--provider must be kuaidi100 or 17track");
			break;
		case 'P':
			q.phone_last4 = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'c':
			config_file = optarg;
			break;
		case 'k':
			cli->kb_dir = optarg;
			break;
		case 'h':
			pb_cli_help(pb_cli_find("track"));
			return PB_EXIT_OK;
		default:
			return pb_cli_usage("track", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return pb_cli_usage("track", "give CARRIER and NUMBER");
	q.carrier = strcmp(argv[optind], "-") ? argv[optind] : NULL;
	q.number = argv[optind + 1];
	if (pb_config_init(&cfg)) {
		status = pb_cli_fail(PB_EXIT_INPUT, "out of memory");
		goto out;
	}
	have_cfg = true;
	if (pb_config_load(&cfg, config_file, &dg)) {
		pb_diag_to_errbuf(&dg, &eb);
		status = pb_cli_fail(PB_EXIT_INPUT, "%s", eb.msg);
		goto out;
	}
	kb = pb_cli_load_kb(cli);
	if (!kb) {
		status = PB_EXIT_INPUT;
		goto out;
	}
	if (pb_tracker_new(&cfg.tracking, kb, &tr, &eb)) {
		status = pb_cli_fail(PB_EXIT_INPUT, "%s", eb.msg);
		goto out;
	}
	pb_track_lookup(tr, &q, (int64_t)time(NULL), &res);
	have_res = true;
	if (res.err) {
		status = pb_cli_fail(PB_EXIT_INPUT, "%s", pb_errmsg(&res.eb, res.err));
		goto out;
	}
	if (res.trace.stale)
		fprintf(stderr, "parcelbot: warning: showing a stale trace: %s\n",
			pb_errmsg(&res.eb, res.provider_err));
	if (json) {
		j = pb_trace_json(&res.trace);
		s = j ? cJSON_Print(j) : NULL;
		cJSON_Delete(j);
		if (!s) {
			status = pb_cli_fail(PB_EXIT_INPUT, "out of memory");
			goto out;
		}
		printf("%s\n", s);
		free(s);
	} else {
		print_trace(stdout, &res.trace);
	}
	if (fflush(stdout) != 0)
		status = pb_cli_fail(PB_EXIT_INPUT, "writing standard output failed");
out:
	if (have_res)
		pb_track_result_release(&res);
	pb_tracker_free(tr);
	pb_kb_unref(kb);
	if (have_cfg)
		pb_config_release(&cfg);
	pb_diag_release(&dg);
	return status;
}
