/*
 * `parcelbot draft`: the reply a case needs, for people (one message, with
 * an order and a trace from files) or for scripts (JSON lines in the
 * evaluation's scenario shape).
 */
#include <cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parcelbot/cli.h"
#include "parcelbot/pipeline.h"
#include "parcelbot/policy.h"

const char pb_usage_draft[] =
	"usage: parcelbot draft [--kb DIR] TEXT [--order FILE] [--trace FILE] [--now TIME]\n"
	"                       [--contacts N]\n"
	"       parcelbot draft [--kb DIR] --jsonl < cases.jsonl\n"
	"\n"
	"Drafts the reply to a buyer's message: the problem, the parcel's situation,\n"
	"the severity and why, the action (draft, escalate to a human, or none), the\n"
	"apology-first reply, the compensation the policy allows, the follow-up\n"
	"deadline, a checklist for the agent and, for escalations, a case brief.\n"
	"\n"
	"With --jsonl it reads one case per line: {id, message, now, order, parcel,\n"
	"history: {contacts}} (the parcel with carrier, number and events, or null)\n"
	"and writes one JSON result per line, in order. A line that cannot be read\n"
	"gets {\"id\": ..., \"error\": ...}; the exit status is then 2.\n"
	"\n"
	"Options:\n"
	"  --order FILE    the order as JSON {id, amount, currency, category, paid_at,\n"
	"                  shipped_at, items: [{name, qty}]}\n"
	"  --trace FILE    the parcel as JSON {carrier, number, events: [{time,\n"
	"                  location, description, state}]}\n"
	"  --now TIME      the moment to judge at (ISO 8601; default: now)\n"
	"  --contacts N    the buyer's earlier contacts on this open case (default 0)\n"
	"  --jsonl         read cases as JSON lines on standard input\n"
	"  --json          print the result as JSON\n"
	"  --kb DIR        knowledge base directory\n";

static cJSON *read_json_file(const char *path, char *err, size_t n)
{
	FILE *f = fopen(path, "rb");
	pb_buf b;
	cJSON *j = NULL;

	if (!f) {
		snprintf(err, n, "cannot open %s", path);
		return NULL;
	}
	pb_buf_init(&b, PB_CLI_MAX_LINE);
	if (pb_buf_read(&b, f) != PB_OK && !ferror(f)) {
		snprintf(err, n, "%s is larger than %u bytes", path, PB_CLI_MAX_LINE);
		goto out;
	}
	j = cJSON_ParseWithLength(pb_buf_str(&b), b.len);
	if (!j)
		snprintf(err, n, "%s is not valid JSON", path);
out:
	fclose(f);
	pb_buf_release(&b);
	return j;
}

static void print_line(const char *label, const char *text)
{
	printf("%-11s%s\n", label, text);
}

static void print_human(const pb_kb *kb, const pb_case_input *in, const pb_case_result *r)
{
	const pb_reply *rp = &r->reply;
	const pb_assessment *a = &r->assessment;
	char b[512], tb[40];
	size_t i, o;

	o = 0;
	b[0] = '\0';
	for (i = 0; i < kb->n_intents; i++)
		if ((r->verdict.intents >> i) & 1)
			o += (size_t)snprintf(b + o, sizeof b - o, "%s%s", o ? ", " : "", kb->rules[i].id);
	print_line("intents:", o ? b : "(none)");
	o = 0;
	b[0] = '\0';
	for (i = kb->n_intents; i < kb->n_rules; i++)
		if ((r->verdict.signals >> (i - kb->n_intents)) & 1)
			o += (size_t)snprintf(b + o, sizeof b - o, "%s%s", o ? ", " : "", kb->rules[i].id);
	print_line("signals:", o ? b : "(none)");
	if (a->has_trace && in->trace) {
		const pb_event *e = &in->trace->events[a->last];
		snprintf(b, sizeof b, "%s, last %s %s \"%s\" (%.0f h ago)", pb_pstate_name(a->state),
			 pb_time_format(e->time, tb, sizeof tb), a->node, e->description,
			 a->hours_since_update);
		print_line("trace:", b);
	} else {
		print_line("trace:", a->has_parcel ? "no events" : "no parcel");
	}
	o = 0;
	b[0] = '\0';
	for (i = 0; i < PB_AN_COUNT_; i++)
		if ((a->anomalies >> i) & 1)
			o += (size_t)snprintf(b + o, sizeof b - o, "%s%s", o ? ", " : "",
					      pb_anomaly_name((pb_anomaly)i));
	print_line("anomalies:", o ? b : "(none)");
	snprintf(b, sizeof b, "%d, %s", rp->severity,
		 rp->action == PB_ACT_ESCALATE ? "escalate: a human takes over"
		 : rp->action == PB_ACT_DRAFT ? "draft for an agent to approve"
					      : "nothing to draft");
	print_line("severity:", b);
	for (i = 0; i < rp->reasons.n; i++)
		print_line(i ? "" : "because:", rp->reasons.v[i]);
	if (rp->action == PB_ACT_NONE)
		return;
	snprintf(b, sizeof b, "%s %g %s (rule %s; extra compensation capped at %g)",
		 pb_comp_name(rp->comp), rp->comp_amount, rp->comp_currency,
		 rp->comp_rule ? rp->comp_rule : "-", rp->comp_cap);
	print_line("offer:", b);
	print_line("follow-up:", pb_time_format(rp->follow_up_due, tb, sizeof tb));
	print_line("template:", rp->template_id);
	printf("\nreply:\n  %s\n", rp->text);
	if (rp->checklist.n) {
		printf("\nchecklist:\n");
		for (i = 0; i < rp->checklist.n; i++)
			printf("  - %s\n", rp->checklist.v[i]);
	}
	if (rp->brief && *rp->brief)
		printf("\nbrief:\n%s\n", rp->brief);
	printf("\nlint: %s\n", rp->lint.n ? "" : "clean");
	for (i = 0; i < rp->lint.n; i++)
		printf("  %s: %s\n", pb_lint_code_name(rp->lint.f[i].code), rp->lint.f[i].msg);
}

static void emit(cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);

	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
	}
	free(s);
}

static int run_jsonl(const pb_kb *kb, pb_classifier *c)
{
	pb_buf line;
	int rc, status = PB_EXIT_OK;
	unsigned long lineno = 0;

	pb_buf_init(&line, PB_CLI_MAX_LINE);
	while ((rc = pb_cli_read_line(stdin, &line)) != 0) {
		cJSON *j, *out, *id;
		pb_case_input in;
		pb_case_result r;
		pb_order order;
		pb_trace trace;
		bool has_order = false, has_trace = false;
		pb_errbuf eb;
		char msg[600];
		lineno++;
		if (rc == -1) {
			status = pb_cli_fail(PB_EXIT_INPUT, "reading standard input failed");
			break;
		}
		if (rc == 1 && strspn(pb_buf_str(&line), " \t") == line.len)
			continue;
		j = rc == 1 ? cJSON_ParseWithLength(line.data, line.len) : NULL;
		id = j ? cJSON_GetObjectItemCaseSensitive(j, "id") : NULL;
		eb.msg[0] = '\0';
		pb_order_init(&order);
		pb_trace_init(&trace);
		if (!j) {
			snprintf(msg, sizeof msg, rc == -2 ? "line %lu is longer than %u bytes"
							   : "line %lu is not valid JSON",
				 lineno, PB_CLI_MAX_LINE);
		} else if (pb_case_from_json(kb, j, &in, &order, &has_order, &trace, &has_trace, &eb) ||
			   pb_pipeline_run(kb, c, &in, &r, &eb)) {
			snprintf(msg, sizeof msg, "line %lu: %s", lineno, eb.msg);
		} else {
			out = pb_case_result_json(kb, &in, &r);
			if (out)
				emit(out);
			cJSON_Delete(out);
			pb_case_result_release(&r);
			msg[0] = '\0';
		}
		if (msg[0]) {
			out = cJSON_CreateObject();
			if (cJSON_IsString(id))
				/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): cJSON_IsString(NULL) is false */
				cJSON_AddStringToObject(out, "id", id->valuestring);
			cJSON_AddStringToObject(out, "error", msg);
			emit(out);
			cJSON_Delete(out);
			status = PB_EXIT_INPUT;
		}
		if (has_order)
			pb_order_release(&order);
		if (has_trace)
			pb_trace_release(&trace);
		cJSON_Delete(j);
	}
	pb_buf_release(&line);
	if (fflush(stdout))
		status = pb_cli_fail(PB_EXIT_INPUT, "writing standard output failed");
	return status;
}

int pb_cmd_draft(pb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"jsonl", no_argument, NULL, 'j'},   {"json", no_argument, NULL, 'J'},
		{"order", required_argument, NULL, 'o'}, {"trace", required_argument, NULL, 't'},
		{"now", required_argument, NULL, 'n'},   {"contacts", required_argument, NULL, 'c'},
		{"kb", required_argument, NULL, 'k'},    {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *order_file = NULL, *trace_file = NULL, *now_s = NULL;
	bool jsonl = false, json = false, has_order = false, has_trace = false;
	long contacts = 0;
	pb_kb *kb = NULL;
	pb_classifier *c = NULL;
	pb_order order;
	pb_trace trace;
	pb_case_input in;
	pb_case_result r;
	pb_errbuf eb;
	pb_buf text;
	cJSON *j = NULL;
	char err[300], *end;
	int o, status = PB_EXIT_OK, i;

	pb_buf_init(&text, PB_CLI_MAX_LINE);
	pb_order_init(&order);
	pb_trace_init(&trace);
	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (o) {
		case 'j': jsonl = true; break;
		case 'J': json = true; break;
		case 'o': order_file = optarg; break;
		case 't': trace_file = optarg; break;
		case 'n': now_s = optarg; break;
		case 'c':
			contacts = strtol(optarg, &end, 10);
			if (*end || contacts < 0 || contacts > 10000)
				return pb_cli_usage("draft", "--contacts needs a count, not '%s'", optarg);
			break;
		case 'k': cli->kb_dir = optarg; break;
		case 'h':
			pb_cli_help(pb_cli_find("draft"));
			return PB_EXIT_OK;
		default:
			return pb_cli_usage("draft", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (jsonl && (optind < argc || order_file || trace_file || now_s))
		return pb_cli_usage("draft", "--jsonl takes its cases from standard input only");
	if (!jsonl && optind >= argc)
		return pb_cli_usage("draft", "nothing to draft: give TEXT or --jsonl");
	for (i = optind; i < argc; i++)
		if ((i > optind && pb_buf_putc(&text, ' ')) || pb_buf_puts(&text, argv[i]))
			return pb_cli_fail(PB_EXIT_INPUT, "TEXT is too long");
	kb = pb_cli_load_kb(cli);
	if (!kb) {
		status = PB_EXIT_INPUT;
		goto out;
	}
	c = pb_classifier_new(kb);
	if (!c) {
		status = pb_cli_fail(PB_EXIT_INPUT, "out of memory");
		goto out;
	}
	if (jsonl) {
		status = run_jsonl(kb, c);
		goto out;
	}
	memset(&in, 0, sizeof in);
	in.message = pb_buf_str(&text);
	in.id = in.message;
	in.contacts = (int)contacts;
	if (now_s) {
		pb_when w;
		if (pb_time_parse(now_s, kb->policy->tz_off, &w)) {
			status = pb_cli_usage("draft", "--now must be an ISO 8601 time, not '%s'", now_s);
			goto out;
		}
		in.now = w.t;
	} else {
		in.now = (int64_t)time(NULL);
	}
	if (order_file) {
		if (!(j = read_json_file(order_file, err, sizeof err)) ||
		    pb_order_from_json(j, kb->policy->tz_off, &order, &eb)) {
			status = pb_cli_fail(PB_EXIT_INPUT, "%s", j ? eb.msg : err);
			goto out;
		}
		has_order = true;
		in.order = &order;
		cJSON_Delete(j);
		j = NULL;
	}
	if (trace_file) {
		if (!(j = read_json_file(trace_file, err, sizeof err)) ||
		    pb_trace_from_json(j, kb->policy->tz_off, &trace, &eb)) {
			status = pb_cli_fail(PB_EXIT_INPUT, "%s", j ? eb.msg : err);
			goto out;
		}
		has_trace = true;
		in.trace = &trace;
	}
	if (pb_pipeline_run(kb, c, &in, &r, &eb)) {
		status = pb_cli_fail(PB_EXIT_INPUT, "%s", eb.msg);
		goto out;
	}
	if (json) {
		cJSON *out = pb_case_result_json(kb, &in, &r);
		char *s = out ? cJSON_Print(out) : NULL;
		if (s)
			printf("%s\n", s);
		free(s);
		cJSON_Delete(out);
	} else {
		print_human(kb, &in, &r);
	}
	pb_case_result_release(&r);
out:
	cJSON_Delete(j);
	if (has_order)
		pb_order_release(&order);
	if (has_trace)
		pb_trace_release(&trace);
	pb_classifier_free(c);
	pb_kb_unref(kb);
	pb_buf_release(&text);
	return status;
}
