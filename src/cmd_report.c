/*
 * `parcelbot report`: the monthly review of the cases opened in a date
 * range, as Markdown, CSV, JSON or a self-contained HTML page. The figures
 * come from src/report.c; this file reads the command line and prints.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "parcelbot/cli.h"
#include "parcelbot/policy.h"
#include "parcelbot/report.h"
#include "parcelbot/store.h"
#include "parcelbot/time.h"

const char pb_usage_report[] =
	"usage: parcelbot report --from DATE --to DATE [--format md|html|csv|json]\n"
	"                        [--db PATH] [--kb DIR]\n"
	"\n"
	"Reviews the cases opened from DATE --from to DATE --to, both days included\n"
	"(YYYY-MM-DD at the shop's offset, or full ISO 8601 times, --to then being\n"
	"the end): problems by kind and ISO week, repeat contacts, each carrier's\n"
	"delay, loss, damage and failed-delivery rates (a carrier above the policy's\n"
	"carrier_delay_limit in each of the three months ending with the last\n"
	"month is flagged for replacement), first-response and resolution times\n"
	"(p50 and p90, nearest rank), service-level breaches, compensation and its\n"
	"cost, and the reply templates agents edited or rejected most.\n"
	"\n"
	"--format md (default) prints tables; csv prints one section per table, a\n"
	"'# name' line, a header row and the rows; json prints every figure; html\n"
	"prints one page with inline SVG charts and no external asset.\n"
	"See docs/operations.md, \"Reading the monthly review\".\n"
	"\n"
	"Exit status: 0 done, 1 bad command line, 2 the store or KB failed.\n";

static bool read_date(const char *s, int32_t off, bool end, int64_t *out)
{
	pb_when w;
	size_t n = strlen(s);

	if (pb_time_parse(s, off, &w))
		return false;
	/* A bare date covers the whole day. */
	*out = w.t + (end && n == 10 ? 86400 : 0);
	return true;
}

int pb_cmd_report(pb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"from", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 't'},
		{"format", required_argument, NULL, 'F'},
		{"db", required_argument, NULL, 'd'},
		{"kb", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL, *from = NULL, *to = NULL, *format = "md";
	pb_kb *kb = NULL;
	pb_store *st = NULL;
	pb_report_data d = {NULL, 0};
	pb_report_opts ro;
	cJSON *r = NULL;
	pb_buf out;
	pb_errbuf eb;
	pb_err err;
	int64_t lf, lt;
	int o, rc = PB_EXIT_INPUT;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'f': from = optarg; break;
		case 't': to = optarg; break;
		case 'F': format = optarg; break;
		case 'd': db = optarg; break;
		case 'k': cli->kb_dir = optarg; break;
		case 'h':
			pb_cli_help(pb_cli_find("report"));
			return PB_EXIT_OK;
		default:
			return pb_cli_usage("report", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return pb_cli_usage("report", "unexpected argument '%s'", argv[optind]);
	if (!from || !to)
		return pb_cli_usage("report", "--from and --to are both required");
	if (strcmp(format, "md") && strcmp(format, "html") && strcmp(format, "csv") &&
	    strcmp(format, "json"))
		return pb_cli_usage("report", "--format is md, html, csv or json, not '%s'", format);
	if (!(kb = pb_cli_load_kb(cli)))
		return PB_EXIT_INPUT;
	memset(&ro, 0, sizeof ro);
	ro.tz_off = kb->policy->tz_off;
	ro.carrier_delay_limit = kb->policy->carrier_delay_limit;
	if (!read_date(from, ro.tz_off, false, &ro.from)) {
		rc = pb_cli_usage("report", "--from needs a date such as 2026-11-01, not '%s'", from);
		goto out;
	}
	if (!read_date(to, ro.tz_off, true, &ro.to)) {
		rc = pb_cli_usage("report", "--to needs a date such as 2026-11-30, not '%s'", to);
		goto out;
	}
	if (ro.to <= ro.from) {
		rc = pb_cli_usage("report", "--to must come after --from");
		goto out;
	}
	if (!(st = pb_cli_open_store(db, false)))
		goto out;
	eb.msg[0] = '\0';
	pb_report_load_range(&ro, &lf, &lt);
	if ((err = pb_report_load(st, lf, lt, &d, &eb))) {
		rc = pb_cli_fail(PB_EXIT_INPUT, "%s", pb_errmsg(&eb, err));
		goto out;
	}
	if (!(r = pb_report_compute(&d, &ro))) {
		rc = pb_cli_fail(PB_EXIT_INPUT, "out of memory");
		goto out;
	}
	pb_buf_init(&out, PB_BUF_NOLIMIT);
	if ((err = pb_report_render(r, format, &out, &eb))) {
		pb_buf_release(&out);
		rc = pb_cli_fail(PB_EXIT_INPUT, "%s", pb_errmsg(&eb, err));
		goto out;
	}
	/* A failed fwrite need not leave fflush anything to fail on. */
	rc = fwrite(pb_buf_str(&out), 1, out.len, stdout) != out.len || fflush(stdout)
		     ? pb_cli_fail(PB_EXIT_INPUT, "cannot write the report")
		     : PB_EXIT_OK;
	pb_buf_release(&out);
out:
	cJSON_Delete(r);
	pb_report_data_release(&d);
	if (st)
		pb_store_close(st);
	pb_kb_unref(kb);
	return rc;
}
