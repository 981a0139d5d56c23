/*
 * `parcelbot scan`: one run of the proactive watch (src/watch.c) from the
 * command line, for cron. Prints a one-line summary.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/cli.h"
#include "parcelbot/config.h"
#include "parcelbot/kb.h"
#include "parcelbot/policy.h"
#include "parcelbot/store.h"
#include "parcelbot/watch.h"

const char pb_usage_scan[] =
	"usage: parcelbot scan [--db PATH] [--config FILE] [--now TIME] [--rate N]\n"
	"                      [--batch N] [--kb DIR]\n"
	"\n"
	"Looks up every order's parcel that is not known to be delivered, assesses\n"
	"it, and for a parcel with no update, stuck at a node, not picked up, with\n"
	"no trace, a failed delivery, returned or lost, opens a proactive case with\n"
	"an outreach draft for an agent, before the buyer asks. One case per order\n"
	"and anomaly: running it again opens none for the same problem. A buyer's\n"
	"later message about the order joins that case.\n"
	"\n"
	"Options:\n"
	"  --rate N       at most N lookups a second (default 10)\n"
	"  --batch N      parcels per provider request (default 40)\n"
	"  --config FILE  configuration with the tracking providers' credentials\n"
	"                 (default: $PARCELBOT_CONFIG)\n"
	"  --now TIME     the time to assess at (default: now)\n"
	"  --db PATH      the database (default: $PARCELBOT_DB, then the data dir)\n"
	"\n"
	"Exit status: 0 done (even when some lookups failed; the summary counts\n"
	"them), 1 bad command line, 2 the store, KB or configuration failed.\n";

int pb_cmd_scan(pb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"config", required_argument, NULL, 'c'},
		{"now", required_argument, NULL, 'n'},
		{"rate", required_argument, NULL, 'r'},
		{"batch", required_argument, NULL, 'b'},
		{"kb", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL, *config_file = NULL, *now_s = NULL;
	pb_watch_opts wo;
	pb_watch_stats s;
	pb_config cfg;
	bool have_cfg = false;
	pb_kb *kb = NULL;
	pb_store *st = NULL;
	pb_tracker *tr = NULL;
	pb_errbuf eb;
	pb_diag dg;
	int64_t now;
	char *end;
	int o, rc = PB_EXIT_INPUT;
	pb_err err;

	memset(&wo, 0, sizeof wo);
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'd': db = optarg; break;
		case 'c': config_file = optarg; break;
		case 'n': now_s = optarg; break;
		case 'r':
			wo.rate = strtod(optarg, &end);
			if (end == optarg || *end || !(wo.rate > 0) || wo.rate > 1000)
				return pb_cli_usage("scan", "--rate needs lookups a second (0 < N <= 1000)");
			break;
		case 'b': {
			long v = strtol(optarg, &end, 10);
			if (end == optarg || *end || v < 1 || v > 1000)
				return pb_cli_usage("scan", "--batch needs a whole number from 1 to 1000");
			wo.batch = (size_t)v;
			break;
		}
		case 'k': cli->kb_dir = optarg; break;
		case 'h':
			pb_cli_help(pb_cli_find("scan"));
			return PB_EXIT_OK;
		default:
			return pb_cli_usage("scan", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return pb_cli_usage("scan", "unexpected argument '%s'", argv[optind]);
	pb_diag_init(&dg);
	if (!(kb = pb_cli_load_kb(cli)))
		goto out;
	if (!pb_cli_now("scan", now_s, kb->policy->tz_off, &now)) {
		rc = PB_EXIT_USAGE;
		goto out;
	}
	if (pb_config_init(&cfg)) {
		rc = pb_cli_fail(PB_EXIT_INPUT, "out of memory");
		goto out;
	}
	have_cfg = true;
	if (pb_config_load(&cfg, config_file, &dg)) {
		pb_diag_to_errbuf(&dg, &eb);
		rc = pb_cli_fail(PB_EXIT_INPUT, "%s", eb.msg);
		goto out;
	}
	eb.msg[0] = '\0';
	if (pb_tracker_new(&cfg.tracking, kb, &tr, &eb)) {
		rc = pb_cli_fail(PB_EXIT_INPUT, "%s", eb.msg);
		goto out;
	}
	if (!(st = pb_cli_open_store(db, false)))
		goto out;
	if ((err = pb_watch_run(st, kb, tr, now, &wo, &s, &eb))) {
		rc = pb_cli_fail(PB_EXIT_INPUT, "%s", pb_errmsg(&eb, err));
		goto out;
	}
	printf("scan: %zu orders, %zu parcels looked up (%zu failed), %zu delivered, %zu with an "
	       "anomaly; %zu cases opened, %zu already open, %zu failed\n",
	       s.orders, s.lookups, s.lookup_failed, s.delivered, s.anomalous, s.opened, s.existing,
	       s.failed);
	if (s.error[0])
		fprintf(stderr, "parcelbot: scan: last failure: %s\n", s.error);
	rc = PB_EXIT_OK;
out:
	if (st)
		pb_store_close(st);
	pb_tracker_free(tr);
	pb_kb_unref(kb);
	if (have_cfg)
		pb_config_release(&cfg);
	pb_diag_release(&dg);
	return rc;
}
