/*
 * `parcelbot sandbox`: run the fake providers on 127.0.0.1 until SIGINT or
 * SIGTERM. The first line on standard output names the address, so a script
 * that started it on port 0 can read which port it got.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/cli.h"
#include "parcelbot/config.h"
#include "parcelbot/sandbox.h"

const char pb_usage_sandbox[] =
	"usage: parcelbot sandbox [--port N] [--seed FILE] [--chatwoot-webhook URL]\n"
	"\n"
	"Serves fake Kuaidi100 and 17TRACK APIs on 127.0.0.1, speaking their wire\n"
	"formats and checking their signatures and tokens, with the parcels in the\n"
	"seed FILE (see tests/fixtures/sandbox-parcels.yaml; without one, every\n"
	"number is unknown). Prints \"listening on 127.0.0.1:PORT\" first and runs\n"
	"until interrupted (SIGINT or SIGTERM).\n"
	"\n"
	"Point parcelbot at it with PARCELBOT_KUAIDI100_URL=\n"
	"http://127.0.0.1:PORT/poll/query.do and PARCELBOT_17TRACK_URL=\n"
	"http://127.0.0.1:PORT/track/v2.2. It accepts the credentials in\n"
	"PARCELBOT_KUAIDI100_CUSTOMER, PARCELBOT_KUAIDI100_KEY and\n"
	"PARCELBOT_17TRACK_TOKEN (or their *_FILE forms) when they are set, else\n"
	"sandbox-customer, sandbox-key and sandbox-token.\n"
	"\n"
	"It also serves a fake Chatwoot (account 1, token PARCELBOT_CHATWOOT_TOKEN\n"
	"or sandbox-chatwoot-token): point PARCELBOT_CHATWOOT_URL at\n"
	"http://127.0.0.1:PORT and --chatwoot-webhook at parcelbot's\n"
	"/webhooks/chatwoot/<secret>. Play a buyer with POST\n"
	"/_sandbox/chatwoot/incoming, an agent with POST /_sandbox/chatwoot/agent_note,\n"
	"or the seed's scripted conversations with POST /_sandbox/chatwoot/play\n"
	"(see docs/channels.md).\n"
	"\n"
	"With a seed's `shopee` section it serves a fake Shopee Open Platform v2\n"
	"(partner 1000001, key sandbox-shopee-key, shop 2000001, refresh token\n"
	"sandbox-refresh; signatures and tokens checked; see docs/channels.md),\n"
	"and with an `orders` section the shop's order API at\n"
	"GET /orders?id=ORDER_ID (bearer sandbox-orders-token; see docs/orders.md).\n"
	"kb/sandbox/shop.yaml is the whole sandbox shop that make demo plays.\n"
	"\n"
	"Test controls: GET /_sandbox/requests, POST /_sandbox/faults, DELETE\n"
	"/_sandbox/faults, POST /_sandbox/reset (see docs/providers.md).\n"
	"\n"
	"Options:\n"
	"  --port N     port to listen on; 0 (the default) picks a free one\n"
	"  --seed FILE  parcels (and Chatwoot conversations) to serve (YAML or JSON)\n"
	"  --chatwoot-webhook URL\n"
	"               where the fake Chatwoot posts message_created webhooks\n"
	"  -h, --help   show this help\n";

int pb_cmd_sandbox(pb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"port", required_argument, NULL, 'p'},
		{"seed", required_argument, NULL, 's'},
		{"chatwoot-webhook", required_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	pb_sandbox_opts so;
	pb_sandbox *sb = NULL;
	pb_config cfg;
	pb_errbuf eb;
	pb_diag dg;
	sigset_t set;
	char *end;
	long port;
	int o, sig, status = PB_EXIT_OK;

	(void)cli;
	pb_sandbox_opts_init(&so);
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'p':
			port = strtol(optarg, &end, 10);
			if (*end || end == optarg || port < 0 || port > 65535)
				return pb_cli_usage("sandbox", "--port must be 0 to 65535");
			so.port = (unsigned short)port;
			break;
		case 's':
			so.seed_file = optarg;
			break;
		case 'w':
			if (strncmp(optarg, "http://", 7) && strncmp(optarg, "https://", 8))
				return pb_cli_usage("sandbox",
						    "--chatwoot-webhook must be an http(s) URL");
			so.chatwoot_webhook = optarg;
			break;
		case 'h':
			pb_cli_help(pb_cli_find("sandbox"));
			return PB_EXIT_OK;
		default:
			return pb_cli_usage("sandbox", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return pb_cli_usage("sandbox", "unexpected argument '%s'", argv[optind]);
	pb_diag_init(&dg);
	if (pb_config_init(&cfg)) {
		pb_diag_release(&dg);
		return pb_cli_fail(PB_EXIT_INPUT, "out of memory");
	}
	/* The sandbox accepts the credentials the client would send. */
	if (pb_config_apply_env(&cfg, &dg)) {
		pb_diag_to_errbuf(&dg, &eb);
		status = pb_cli_fail(PB_EXIT_INPUT, "%s", eb.msg);
		goto out;
	}
	so.k100_customer = cfg.tracking.k100_customer;
	so.k100_key = cfg.tracking.k100_key;
	so.t17_token = cfg.tracking.t17_token;
	so.chatwoot_token = cfg.chatwoot.api_token;
	/* Block the stop signals before the server's threads exist, so they
	 * inherit the mask and only sigwait below sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pb_sandbox_start(&so, &sb, &eb)) {
		status = pb_cli_fail(PB_EXIT_INPUT, "%s", eb.msg);
		goto out;
	}
	printf("listening on 127.0.0.1:%u\n", pb_sandbox_port(sb));
	if (fflush(stdout) != 0) {
		status = pb_cli_fail(PB_EXIT_INPUT, "writing standard output failed");
		goto out;
	}
	while (sigwait(&set, &sig) != 0)
		;
out:
	pb_sandbox_stop(sb);
	pb_config_release(&cfg);
	pb_diag_release(&dg);
	return status;
}
