/*
 * parcelbot's command line: a thin client of the library, one subcommand per
 * src/cmd_*.c file. This file only dispatches and prints general help.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "parcelbot/cli.h"
#include "pb_build.h"

static const char usage_help[] =
	"usage: parcelbot help [COMMAND]\n"
	"\n"
	"Shows the list of commands, or the full help of one command.\n";

static const pb_command commands[] = {
	{"serve", "run the daemon beside the shop's chat: webhooks, API, drafts", pb_usage_serve,
	 pb_cmd_serve},
	{"classify", "recognise the logistics problem in buyer messages", pb_usage_classify,
	 pb_cmd_classify},
	{"draft", "draft the apology-first reply to a case", pb_usage_draft, pb_cmd_draft},
	{"lint", "check a reply text the way drafts are checked", pb_usage_lint, pb_cmd_lint},
	{"ingest", "feed buyer messages through the pipeline into the store", pb_usage_ingest,
	 pb_cmd_ingest},
	{"cases", "list the cases waiting, most severe first", pb_usage_cases, pb_cmd_cases},
	{"case", "show one case's whole timeline", pb_usage_case, pb_cmd_case},
	{"due", "list overdue and upcoming deadlines; escalate missed ones", pb_usage_due,
	 pb_cmd_due},
	{"approve", "approve a case's draft, as it is or edited", pb_usage_approve, pb_cmd_approve},
	{"reject", "reject a case's draft, saying why", pb_usage_reject, pb_cmd_reject},
	{"escalate", "hand a case to a human", pb_usage_escalate, pb_cmd_escalate},
	{"note", "add a note to a case for the next shift", pb_usage_note, pb_cmd_note},
	{"resolve", "record how a case ended; schedules the check-back", pb_usage_resolve,
	 pb_cmd_resolve},
	{"close", "close a resolved case after checking back", pb_usage_close, pb_cmd_close},
	{"orders", "import the shop's orders (CSV) for lookups by order number",
	 pb_usage_orders, pb_cmd_orders},
	{"agents", "add, list and remove the console's agents; set passwords", pb_usage_agents,
	 pb_cmd_agents},
	{"report", "review a month: problems, carriers, response times, costs, templates",
	 pb_usage_report, pb_cmd_report},
	{"scan", "watch shipments and open proactive cases before buyers ask", pb_usage_scan,
	 pb_cmd_scan},
	{"kb", "check the knowledge base", pb_usage_kb, pb_cmd_kb},
	{"track", "look up a parcel's trace with a tracking provider", pb_usage_track,
	 pb_cmd_track},
	{"config", "check the configuration and show the settings in effect", pb_usage_config,
	 pb_cmd_config},
	{"sandbox", "run the sandbox shop on 127.0.0.1 (chat, orders, tracking) for tests and demos",
	 pb_usage_sandbox, pb_cmd_sandbox},
	{"help", "show help for a command", usage_help, pb_cmd_help},
};

const pb_command *pb_cli_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void general_help(FILE *out)
{
	size_t i;

	fprintf(out,
		"usage: parcelbot [--kb DIR] COMMAND [ARGS...]\n"
		"\n"
		"parcelbot drafts apology-first replies to buyers whose parcels are stuck,\n"
		"short, broken or signed for by someone else, for an agent to approve.\n"
		"\n"
		"Commands:\n");
	for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out,
		"\n"
		"Options:\n"
		"  --kb DIR     knowledge base directory (default: $PARCELBOT_KB, ./kb,\n"
		"               or the one installed with parcelbot)\n"
		"  -h, --help   show this help\n"
		"  --version    show the version\n"
		"\n"
		"'parcelbot help COMMAND' shows a command's options.\n"
		"Exit status: 0 success, 1 usage error, 2 bad input or knowledge base, or\n"
		"an operation the store refused or could not do.\n");
}

int pb_cmd_help(pb_cli *cli, int argc, char **argv)
{
	const pb_command *c;

	(void)cli;
	if (argc < 2) {
		general_help(stdout);
		return PB_EXIT_OK;
	}
	c = pb_cli_find(argv[1]);
	if (!c)
		return pb_cli_usage("", "unknown command '%s'", argv[1]);
	pb_cli_help(c);
	return PB_EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"kb", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	pb_cli cli = {NULL};
	const pb_command *c;
	int o, sub;

	opterr = 0;
	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (o) {
		case 'k':
			cli.kb_dir = optarg;
			break;
		case 'h':
			general_help(stdout);
			return PB_EXIT_OK;
		case 'V':
			printf("parcelbot %s\n", PB_VERSION);
			return PB_EXIT_OK;
		default:
			return pb_cli_usage("", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc) {
		general_help(stderr);
		return PB_EXIT_USAGE;
	}
	c = pb_cli_find(argv[optind]);
	if (!c)
		return pb_cli_usage("", "unknown command '%s'", argv[optind]);
	sub = optind;
	/* Subcommands parse their own options with getopt; 0 makes glibc
	 * start over completely. */
	optind = 0;
	return c->run(&cli, argc - sub, argv + sub);
}
