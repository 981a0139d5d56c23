/*
 * `parcelbot track`: look one parcel up and print its normalised trace and
 * the assessment of it (facts and anomalies under the KB's policy), for
 * people or as the JSON the pipeline uses.
 */
#include <cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parcelbot/assess.h"
#include "parcelbot/cli.h"
#include "parcelbot/kb.h"
#include "parcelbot/order.h"
#include "parcelbot/config.h"
#include "parcelbot/track.h"

const char pb_usage_track[] =
	"usage: parcelbot track [--provider P] [--phone LAST4] [--shipped TIME]\n"
	"                       [--category CAT] [--now TIME] [--json]\n"
	"                       [--config FILE] [--kb DIR] CARRIER NUMBER\n"
	"\n"
	"Looks the parcel up with a tracking provider and prints its trace: the\n"
	"events newest first, each with its time (in the carrier's time zone),\n"
	"state, place and the carrier's words. Then it prints the assessment:\n"
	"hours since the last update and at the current node, where a delivered\n"
	"parcel was left, and the anomalies the policy in kb/policy.yaml finds.\n"
	"CARRIER is a carrier id from the knowledge base (sf, zto, jnt, ...), or\n"
	"'-' to let 17TRACK detect it.\n"
	"\n"
	"When the provider fails but an earlier trace is at hand, that trace is\n"
	"printed marked STALE and a warning goes to standard error.\n"
	"\n"
	"Options:\n"
	"  --provider P   kuaidi100 or 17track (default: tracking.provider, or by\n"
	"                 carrier: Kuaidi100 for carriers it covers when its\n"
	"                 credentials are set, else 17TRACK)\n"
	"  --phone LAST4  last 4 digits of the recipient's phone (SF needs them)\n"
	"  --shipped TIME when the parcel was handed over (ISO 8601, e.g.\n"
	"                 2026-11-20T09:00+08:00); lets an empty trace count as\n"
	"                 no_trace once the policy's hours have passed\n"
	"  --category CAT the order's category (fresh, flowers, ...): perishable\n"
	"                 categories use the policy's tighter thresholds\n"
	"  --now TIME     judge the trace as at TIME instead of the clock\n"
	"  --json         print {\"trace\", \"assessment\"} as JSON\n"
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

/* The assessment for people, after the trace. */
static void print_assessment(FILE *out, const pb_assessment *a, bool know_shipped)
{
	static const char *const place_words[PB_PLACE_COUNT_] = {
		[PB_PLACE_PARCEL_STATION] = "parcel station",
		[PB_PLACE_LOCKER] = "locker",
		[PB_PLACE_RECEPTION] = "reception / guard / property office",
		[PB_PLACE_FAMILY_OR_OTHER] = "family member or someone else",
		[PB_PLACE_MAILBOX] = "mailbox",
		[PB_PLACE_IN_PERSON] = "the buyer in person",
	};
	size_t i;
	int n = 0;

	fprintf(out, "assessment:\n");
	if (a->has_trace) {
		fprintf(out, "  last update:     %.1f h ago\n", a->hours_since_update);
		fprintf(out, "  at current node: %.1f h%s%s%s\n", a->hours_at_node,
			*a->node ? " (" : "", a->node, *a->node ? ")" : "");
	}
	if (a->place != PB_PLACE_NONE)
		fprintf(out, "  left with:       %s (%s)\n", place_words[a->place],
			pb_place_name(a->place));
	if (a->perishable)
		fprintf(out, "  thresholds:      perishable\n");
	fprintf(out, "  anomalies:       ");
	for (i = 0; i < PB_AN_COUNT_; i++)
		if (pb_has_anomaly(a, (pb_anomaly)i))
			fprintf(out, "%s%s", n++ ? ", " : "", pb_anomaly_name((pb_anomaly)i));
	fprintf(out, "%s\n", n ? "" : "(none)");
	if (!a->has_trace && !know_shipped)
		fprintf(out, "  (an empty trace is no_trace only some hours after shipping; "
			     "give --shipped to judge it)\n");
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
		{"shipped", required_argument, NULL, 's'},
		{"category", required_argument, NULL, 'C'},
		{"now", required_argument, NULL, 'n'},
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
	pb_order order;
	pb_assessment as;
	pb_when now = {(int64_t)time(NULL), 0};
	pb_errbuf eb;
	pb_diag dg;
	int o, status = PB_EXIT_OK;
	char *s;
	cJSON *j;

	pb_diag_init(&dg);
	pb_order_init(&order);
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
		case 's':
			if (pb_time_parse(optarg, 0, &order.shipped_at))
				return pb_cli_usage("track", "--shipped: '%s' is not an ISO 8601 time",
						    optarg);
			order.has_shipped_at = true;
			break;
		case 'C':
			order.category = optarg;
			break;
		case 'n':
			if (pb_time_parse(optarg, 0, &now))
				return pb_cli_usage("track", "--now: '%s' is not an ISO 8601 time",
						    optarg);
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
	pb_track_lookup(tr, &q, now.t, &res);
	have_res = true;
	if (res.err) {
		status = pb_cli_fail(PB_EXIT_INPUT, "%s", pb_errmsg(&res.eb, res.err));
		goto out;
	}
	if (res.trace.stale)
		fprintf(stderr, "parcelbot: warning: showing a stale trace: %s\n",
			pb_errmsg(&res.eb, res.provider_err));
	/* An order is passed only when the user told us something about it. */
	/* A number the provider does not know is still a parcel: an empty
	 * trace, which is no_trace once the policy's hours after shipping
	 * have passed. */
	if (pb_assess(kb, &res.trace,
		      order.has_shipped_at || order.category ? &order : NULL, now.t, &as)) {
		status = pb_cli_fail(PB_EXIT_INPUT, "cannot assess this trace");
		goto out;
	}
	if (json) {
		j = cJSON_CreateObject();
		if (j) {
			cJSON_AddItemToObject(j, "trace", pb_trace_json(&res.trace));
			cJSON_AddItemToObject(j, "assessment",
					      pb_assessment_json(&as, &res.trace));
		}
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
		print_assessment(stdout, &as, order.has_shipped_at);
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
