/*
 * `parcelbot classify`: recognise the problem in one message (for people) or
 * in a stream of JSON lines (for scripts and the evaluation scorers).
 */
#include <cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/classify.h"
#include "parcelbot/cli.h"
#include "parcelbot/utf8.h"

const char pb_usage_classify[] =
	"usage: parcelbot classify [--kb DIR] TEXT...\n"
	"       parcelbot classify [--kb DIR] --jsonl < messages.jsonl\n"
	"\n"
	"Recognises the logistics problem (intent), the signals (complaint threat,\n"
	"urgency, refund request), the language and the entities (order and\n"
	"tracking numbers, quantities, durations) in buyer messages.\n"
	"\n"
	"With TEXT (several words are joined with spaces) it prints which pattern\n"
	"fired where. With --jsonl it reads one JSON object per line with a \"text\"\n"
	"field and writes one JSON object per line, in order, with intents,\n"
	"signals, lang, entities and matches; an \"id\" field is copied through.\n"
	"A line that cannot be classified gets {\"error\": ...} and the exit\n"
	"status is 2 once all lines are done. Blank lines are skipped.\n"
	"\n"
	"Options:\n"
	"  --jsonl      read JSON lines on standard input\n"
	"  --kb DIR     knowledge base directory\n"
	"  -h, --help   show this help\n";

static void print_human(const pb_kb *kb, const pb_verdict *v, const char *text)
{
	size_t i, k;
	bool any;

	printf("language: %s\n", v->lang == PB_LANG_ZH ? "zh" : "en");
	printf("intents:  ");
	any = false;
	for (i = 0; i < kb->n_intents; i++)
		if ((v->intents >> i) & 1) {
			printf("%s%s", any ? ", " : "", kb->rules[i].id);
			any = true;
		}
	printf("%s\nsignals:  ", any ? "" : "(none: not a logistics problem)");
	any = false;
	for (i = kb->n_intents; i < kb->n_rules; i++)
		if ((v->signals >> (i - kb->n_intents)) & 1) {
			printf("%s%s", any ? ", " : "", kb->rules[i].id);
			any = true;
		}
	printf("%s\n", any ? "" : "(none)");
	if (v->n_hits) {
		printf("matches:\n");
		for (i = 0; i < v->n_hits; i++) {
			const pb_hit *h = &v->hits[i];
			printf("  %-22s %-40s bytes %u-%u  \"%.*s\"%s\n", kb->rules[h->rule].id,
			       kb->patterns[h->pattern].id, h->span.off, h->span.off + h->span.len,
			       (int)h->span.len, text + h->span.off,
			       h->suppressed ? "  (suppressed by a stronger intent)" : "");
		}
	}
	if (v->ent.n_orders || v->ent.n_tracking || v->ent.has_quantity || v->ent.n_durations) {
		printf("entities:\n");
		for (i = 0; i < v->ent.n_orders; i++)
			printf("  order id   %s\n", v->ent.orders[i].id);
		for (i = 0; i < v->ent.n_tracking; i++) {
			printf("  tracking   %s", v->ent.tracking[i].number);
			for (k = 0; k < v->ent.tracking[i].n_carriers; k++)
				printf("%s%s", k ? ", " : " (likely ",
				       kb->carriers[v->ent.tracking[i].carriers[k]].id);
			printf("%s\n", v->ent.tracking[i].n_carriers ? ")" : " (carrier unknown)");
		}
		if (v->ent.has_quantity) {
			printf("  quantity   ordered ");
			if (v->ent.ordered >= 0)
				printf("%d", v->ent.ordered);
			else
				printf("?");
			printf(", received ");
			if (v->ent.received >= 0)
				printf("%d\n", v->ent.received);
			else
				printf("?\n");
		}
		for (i = 0; i < v->ent.n_durations; i++)
			printf("  duration   \"%.*s\" = %g hours\n", (int)v->ent.durations[i].span.len,
			       text + v->ent.durations[i].span.off, v->ent.durations[i].hours);
	}
	if (v->truncated)
		printf("note: only the first %d bytes were classified\n", PB_CLASSIFY_MAX_TEXT);
}

static void emit_error(const cJSON *id, const char *msg)
{
	cJSON *o = cJSON_CreateObject();
	char *s;

	if (id)
		cJSON_AddItemToObject(o, "id", cJSON_Duplicate(id, true));
	cJSON_AddStringToObject(o, "error", msg);
	s = cJSON_PrintUnformatted(o);
	if (s)
		printf("%s\n", s);
	free(s);
	cJSON_Delete(o);
}

static int run_jsonl(pb_kb *kb, pb_classifier *c)
{
	pb_buf line;
	int rc, status = PB_EXIT_OK;
	unsigned long lineno = 0;
	pb_verdict v;
	pb_errbuf eb;
	char msg[600];

	pb_buf_init(&line, PB_CLI_MAX_LINE);
	while ((rc = pb_cli_read_line(stdin, &line)) != 0) {
		cJSON *in, *text, *id, *out;
		char *s;
		lineno++;
		if (rc == -1) {
			status = pb_cli_fail(PB_EXIT_INPUT, "reading standard input failed");
			break;
		}
		if (rc == -2) {
			snprintf(msg, sizeof msg, "line %lu is longer than %u bytes", lineno,
				 PB_CLI_MAX_LINE);
			emit_error(NULL, msg);
			status = PB_EXIT_INPUT;
			continue;
		}
		if (strspn(pb_buf_str(&line), " \t") == line.len)
			continue;
		in = cJSON_ParseWithLength(line.data, line.len);
		id = in ? cJSON_GetObjectItemCaseSensitive(in, "id") : NULL;
		text = in ? cJSON_GetObjectItemCaseSensitive(in, "text") : NULL;
		if (!in || !cJSON_IsObject(in)) {
			snprintf(msg, sizeof msg, "line %lu is not a JSON object", lineno);
			emit_error(NULL, msg);
			status = PB_EXIT_INPUT;
		} else if (!cJSON_IsString(text)) {
			snprintf(msg, sizeof msg, "line %lu has no \"text\" string", lineno);
			emit_error(id, msg);
			status = PB_EXIT_INPUT;
		} else {
			eb.msg[0] = '\0';
			if (pb_classify(c, text->valuestring, strlen(text->valuestring), &v, &eb)) {
				snprintf(msg, sizeof msg, "line %lu: %s", lineno, eb.msg);
				emit_error(id, msg);
				status = PB_EXIT_INPUT;
			} else {
				out = pb_verdict_json(kb, &v, text->valuestring,
						      strlen(text->valuestring));
				if (out && id)
					cJSON_AddItemToObject(out, "id", cJSON_Duplicate(id, true));
				s = out ? cJSON_PrintUnformatted(out) : NULL;
				if (!s) {
					cJSON_Delete(out);
					cJSON_Delete(in);
					status = pb_cli_fail(PB_EXIT_INPUT, "out of memory");
					break;
				}
				fputs(s, stdout);
				fputc('\n', stdout);
				free(s);
				cJSON_Delete(out);
			}
		}
		cJSON_Delete(in);
	}
	pb_buf_release(&line);
	if (fflush(stdout) != 0)
		status = pb_cli_fail(PB_EXIT_INPUT, "writing standard output failed");
	return status;
}

int pb_cmd_classify(pb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"jsonl", no_argument, NULL, 'j'},
		{"kb", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool jsonl = false;
	pb_kb *kb = NULL;
	pb_classifier *c = NULL;
	pb_buf text;
	pb_verdict v;
	pb_errbuf eb;
	int o, status = PB_EXIT_OK, i;

	pb_buf_init(&text, PB_CLI_MAX_LINE);
	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (o) {
		case 'j':
			jsonl = true;
			break;
		case 'k':
			cli->kb_dir = optarg;
			break;
		case 'h':
			pb_cli_help(pb_cli_find("classify"));
			return PB_EXIT_OK;
		default:
			return pb_cli_usage("classify", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (jsonl && optind < argc)
		return pb_cli_usage("classify", "give either TEXT or --jsonl, not both");
	if (!jsonl && optind >= argc)
		return pb_cli_usage("classify", "nothing to classify: give TEXT or --jsonl");
	for (i = optind; i < argc; i++) {
		if ((i > optind && pb_buf_putc(&text, ' ')) || pb_buf_puts(&text, argv[i])) {
			pb_buf_release(&text);
			return pb_cli_fail(PB_EXIT_INPUT, "TEXT is longer than %u bytes",
					   PB_CLI_MAX_LINE);
		}
	}
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
	if (pb_classify(c, pb_buf_str(&text), text.len, &v, &eb)) {
		status = pb_cli_fail(PB_EXIT_INPUT, "%s", eb.msg);
		goto out;
	}
	print_human(kb, &v, pb_buf_str(&text));
out:
	pb_classifier_free(c);
	pb_kb_unref(kb);
	pb_buf_release(&text);
	return status;
}
