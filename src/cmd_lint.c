/*
 * `parcelbot lint`: checks a reply text (typically an agent's edit) with the
 * same lint drafts get, optionally against a case so trace contradictions,
 * past promises and the compensation cap can be checked too.
 */
#include <cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/cli.h"
#include "parcelbot/pipeline.h"
#include "parcelbot/policy.h"

const char pb_usage_lint[] =
	"usage: parcelbot lint [--kb DIR] [--case FILE] [--no-problem] [--json] TEXT...\n"
	"       parcelbot lint [--kb DIR] [--case FILE] [--json] -   (text on stdin)\n"
	"\n"
	"Checks a reply and prints its findings, each with a stable code, the bytes\n"
	"it concerns and an explanation: apology_not_first, blame_shifting,\n"
	"brush_off, vague, interrogation_first, contradicts_trace, past_promise,\n"
	"over_cap, unfilled_placeholder.\n"
	"\n"
	"Without --case the reply is assumed to answer a problem (so it must\n"
	"apologise first and commit to a time); --no-problem drops those two checks.\n"
	"With --case FILE (a case in the draft --jsonl shape: message, now, order,\n"
	"parcel) the checks use the case: whether it is a problem, its trace, its\n"
	"time and its currency's compensation cap.\n"
	"\n"
	"Exit status: 0 when the check ran (findings or not), 1 usage, 2 bad input.\n";

static int read_stdin(pb_buf *b)
{
	char chunk[8192];
	size_t r;

	while ((r = fread(chunk, 1, sizeof chunk, stdin)) > 0)
		if (pb_buf_append(b, chunk, r))
			return -1;
	return ferror(stdin) ? -1 : 0;
}

int pb_cmd_lint(pb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"case", required_argument, NULL, 'c'}, {"no-problem", no_argument, NULL, 'p'},
		{"json", no_argument, NULL, 'j'},       {"kb", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
	};
	const char *case_file = NULL;
	bool json = false, no_problem = false, has_order = false, has_trace = false, have_case = false;
	pb_kb *kb = NULL;
	pb_classifier *c = NULL;
	pb_buf text, cb;
	pb_lint_ctx ctx;
	pb_lint_result res;
	pb_case_input in;
	pb_case_result r;
	pb_order order;
	pb_trace trace;
	pb_errbuf eb;
	cJSON *cj = NULL;
	int o, i, status = PB_EXIT_OK;
	size_t k;

	pb_buf_init(&text, PB_CLI_MAX_LINE);
	pb_buf_init(&cb, PB_CLI_MAX_LINE);
	pb_order_init(&order);
	pb_trace_init(&trace);
	memset(&r, 0, sizeof r);
	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (o) {
		case 'c': case_file = optarg; break;
		case 'p': no_problem = true; break;
		case 'j': json = true; break;
		case 'k': cli->kb_dir = optarg; break;
		case 'h':
			pb_cli_help(pb_cli_find("lint"));
			return PB_EXIT_OK;
		default:
			return pb_cli_usage("lint", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return pb_cli_usage("lint", "give the reply TEXT, or - to read it from stdin");
	if (optind + 1 == argc && !strcmp(argv[optind], "-")) {
		if (read_stdin(&text))
			return pb_cli_fail(PB_EXIT_INPUT, "cannot read the reply from stdin (or it is over %u bytes)",
					   PB_CLI_MAX_LINE);
	} else {
		for (i = optind; i < argc; i++)
			if ((i > optind && pb_buf_putc(&text, ' ')) || pb_buf_puts(&text, argv[i]))
				return pb_cli_fail(PB_EXIT_INPUT, "TEXT is too long");
	}
	kb = pb_cli_load_kb(cli);
	if (!kb) {
		status = PB_EXIT_INPUT;
		goto out;
	}
	memset(&ctx, 0, sizeof ctx);
	ctx.problem = !no_problem;
	if (case_file) {
		FILE *f = fopen(case_file, "rb");
		if (!f) {
			status = pb_cli_fail(PB_EXIT_INPUT, "cannot open %s", case_file);
			goto out;
		}
		/* What does not fit fails to parse below. */
		(void)pb_buf_read(&cb, f);
		(void)fclose(f); /* read only */
		cj = cJSON_ParseWithLength(pb_buf_str(&cb), cb.len);
		c = pb_classifier_new(kb);
		if (!cj || !c ||
		    pb_case_from_json(kb, cj, &in, &order, &has_order, &trace, &has_trace, &eb) ||
		    pb_pipeline_run(kb, c, &in, &r, &eb)) {
			status = pb_cli_fail(PB_EXIT_INPUT, "%s: %s", case_file,
					     !cj ? "not valid JSON" : eb.msg);
			goto out;
		}
		have_case = true;
		{
			pb_situation s;
			pb_draft_situation(kb, &r.verdict, in.order, &r.assessment, in.contacts, &s);
			ctx.problem = !no_problem && s.problem;
		}
		ctx.trace = in.trace;
		ctx.a = &r.assessment;
		ctx.now = in.now;
		ctx.currency = has_order ? order.currency : NULL;
		ctx.order_amount = has_order ? order.amount : 0;
	}
	if (pb_lint(kb, pb_buf_str(&text), text.len, &ctx, &res, &eb)) {
		status = pb_cli_fail(PB_EXIT_INPUT, "%s", eb.msg);
		goto out;
	}
	if (json) {
		cJSON *a = pb_lint_json(&res, pb_buf_str(&text));
		char *s = a ? cJSON_PrintUnformatted(a) : NULL;
		if (s)
			printf("%s\n", s);
		free(s);
		cJSON_Delete(a);
	} else if (!res.n) {
		printf("clean: no findings\n");
	} else {
		for (k = 0; k < res.n; k++)
			printf("%-21s bytes %u-%u  \"%.*s\"\n    %s\n", pb_lint_code_name(res.f[k].code),
			       res.f[k].off, res.f[k].off + res.f[k].len, (int)res.f[k].len,
			       pb_buf_str(&text) + res.f[k].off, res.f[k].msg);
	}
out:
	if (have_case)
		pb_case_result_release(&r);
	if (has_order)
		pb_order_release(&order);
	if (has_trace)
		pb_trace_release(&trace);
	cJSON_Delete(cj);
	pb_classifier_free(c);
	pb_kb_unref(kb);
	pb_buf_release(&text);
	pb_buf_release(&cb);
	return status;
}
