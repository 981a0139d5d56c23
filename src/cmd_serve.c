/*
 * `parcelbot serve`: loads and checks the configuration, starts the daemon
 * (serve.h) and waits for signals: SIGTERM and SIGINT drain and stop it,
 * SIGHUP reloads the knowledge base.
 */
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/cli.h"
#include "parcelbot/config.h"
#include "parcelbot/log.h"
#include "parcelbot/serve.h"

const char pb_usage_serve[] =
	"usage: parcelbot serve [--config FILE] [--listen HOST:PORT] [--db PATH]\n"
	"                       [--log-format text|json] [--log-level LEVEL] [--check]\n"
	"                       [--port-file FILE]\n"
	"\n"
	"Runs parcelbot as a daemon beside the shop's chat: webhooks and polling bring\n"
	"buyer messages in, workers draft the replies, and drafts, approved replies and\n"
	"hand-offs go out through the configured channels. It also serves parcelbot's\n"
	"JSON API (/api/v1, bearer token), /healthz and /metrics. See\n"
	"docs/configuration.md and docs/api.md.\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE    configuration file (default: $PARCELBOT_CONFIG)\n"
	"  --listen HOST:PORT   address to listen on (port 0: any free port)\n"
	"  --db PATH            the SQLite database (default: store.path)\n"
	"  --log-format FORMAT  text (default) or json, on standard error\n"
	"  --log-level LEVEL    debug, info (default), warn or error\n"
	"  --check              check the configuration and the knowledge base, then exit\n"
	"  --port-file FILE     write the port listened on to FILE once ready\n"
	"  -h, --help           show this help\n"
	"\n"
	"Signals: SIGTERM or SIGINT finish the work in progress and stop; SIGHUP\n"
	"reloads the knowledge base and policy (a broken one is refused and the one\n"
	"in use stays).\n"
	"\n"
	"Exit status: 0 after a clean stop, 1 usage error, 2 bad configuration or\n"
	"knowledge base, or the daemon could not start.\n";

static void print_diag(const pb_diag *dg)
{
	size_t i;

	for (i = 0; i < dg->n; i++)
		fprintf(stderr, "%s\n", dg->lines[i]);
	if (dg->dropped)
		fprintf(stderr, "parcelbot: ... and %zu more errors\n", dg->dropped);
}

static bool set(char **field, const char *v)
{
	char *c = strdup(v);

	if (!c)
		return false;
	free(*field);
	*field = c;
	return true;
}

/* glibc gives threads arenas of their own, up to eight per core. The
 * daemon starts a thread per connection and per send round, so its small
 * long-lived allocations end up spread over all of them, and the free
 * space left between them is not given back: in a 30-minute soak at 40
 * messages/s RSS crept from 30 to 70 MB. With two arenas the same load
 * stays flat (28.3 MB at 1 minute, 28.6 at 4). MALLOC_ARENA_MAX, when
 * set, has the last word. */
static void limit_malloc_arenas(void)
{
#if defined(__GLIBC__) && defined(M_ARENA_MAX)
	if (!getenv("MALLOC_ARENA_MAX"))
		mallopt(M_ARENA_MAX, 2);
#endif
}

int pb_cmd_serve(pb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"listen", required_argument, NULL, 'l'},
		{"db", required_argument, NULL, 'd'},
		{"log-format", required_argument, NULL, 'f'},
		{"log-level", required_argument, NULL, 'v'},
		{"check", no_argument, NULL, 'k'},
		{"port-file", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *file = NULL, *listen = NULL, *db = NULL, *fmt = NULL, *level = NULL,
		   *port_file = NULL;
	bool check = false, running = true;
	pb_daemon_opts dopts;
	pb_daemon *d = NULL;
	pb_config cfg;
	pb_diag dg;
	pb_log *lg = NULL;
	pb_errbuf eb;
	sigset_t sigs;
	int o, status = PB_EXIT_OK;

	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			file = optarg;
			break;
		case 'l':
			listen = optarg;
			break;
		case 'd':
			db = optarg;
			break;
		case 'f':
			fmt = optarg;
			break;
		case 'v':
			level = optarg;
			break;
		case 'k':
			check = true;
			break;
		case 'p':
			port_file = optarg;
			break;
		case 'h':
			pb_cli_help(pb_cli_find("serve"));
			return PB_EXIT_OK;
		default:
			return pb_cli_usage("serve", "unknown option or missing value '%s'",
					    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return pb_cli_usage("serve", "unexpected argument '%s'", argv[optind]);
	limit_malloc_arenas();
	if (fmt && strcmp(fmt, "text") && strcmp(fmt, "json"))
		return pb_cli_usage("serve", "--log-format must be text or json");
	if (listen && !pb_config_listen_ok(listen))
		return pb_cli_usage("serve", "--listen must be HOST:PORT");
	if (pb_config_init(&cfg))
		return pb_cli_fail(PB_EXIT_INPUT, "out of memory");
	pb_diag_init(&dg);
	if (pb_config_load(&cfg, file, &dg)) {
		print_diag(&dg);
		status = pb_cli_fail(PB_EXIT_INPUT, "the configuration is invalid");
		goto out;
	}
	if ((listen && !set(&cfg.server.listen, listen)) || (db && !set(&cfg.store_path, db))) {
		status = pb_cli_fail(PB_EXIT_INPUT, "out of memory");
		goto out;
	}
	if (fmt)
		cfg.log_format = strcmp(fmt, "json") ? PB_LOG_TEXT : PB_LOG_JSON;
	if (level && !pb_log_level_from_name(level, &cfg.log_level)) {
		status = pb_cli_usage("serve", "--log-level must be debug, info, warn or error");
		goto out;
	}
	if (pb_config_check_serve(&cfg, &dg)) {
		print_diag(&dg);
		status = pb_cli_fail(PB_EXIT_INPUT, "the configuration is not enough to serve");
		goto out;
	}
	if (check) {
		pb_kb *kb = pb_cli_load_kb(cli);
		if (!kb) {
			status = PB_EXIT_INPUT;
			goto out;
		}
		pb_kb_unref(kb);
		printf("configuration and knowledge base are valid\n");
		goto out;
	}
	if (pb_log_new(stderr, cfg.log_format, cfg.log_level, &lg)) {
		status = pb_cli_fail(PB_EXIT_INPUT, "out of memory");
		goto out;
	}
	/* Whatever a message may quote, these never reach a log line. */
	pb_log_secret(lg, cfg.server.api_token);
	pb_log_secret(lg, cfg.chatwoot.api_token);
	pb_log_secret(lg, cfg.chatwoot.webhook_secret);
	pb_log_secret(lg, cfg.shopee.partner_key);
	pb_log_secret(lg, cfg.shopee.refresh_token);
	pb_log_secret(lg, cfg.shopee.access_token);
	pb_log_secret(lg, cfg.orders.token);
	pb_log_secret(lg, cfg.tracking.k100_customer);
	pb_log_secret(lg, cfg.tracking.k100_key);
	pb_log_secret(lg, cfg.tracking.t17_token);

	/* Every thread the daemon starts inherits this mask, so the signals
	 * come only to sigwait below. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	(void)signal(SIGPIPE, SIG_IGN); /* cannot fail for a valid signal */

	memset(&dopts, 0, sizeof dopts);
	dopts.cfg = &cfg;
	dopts.kb_dir = cli->kb_dir;
	dopts.log = lg;
	eb.msg[0] = '\0';
	if (pb_daemon_start(&dopts, &d, &eb)) {
		status = pb_cli_fail(PB_EXIT_INPUT, "cannot start: %s", eb.msg);
		goto out;
	}
	if (port_file) {
		FILE *f = fopen(port_file, "w");
		if (!f || fprintf(f, "%u\n", pb_daemon_port(d)) < 0 || fclose(f)) {
			status = pb_cli_fail(PB_EXIT_INPUT, "cannot write %s", port_file);
			pb_daemon_stop(d);
			goto out;
		}
	}
	while (running) {
		int sig = 0;
		if (sigwait(&sigs, &sig))
			continue;
		if (sig == SIGHUP) {
			eb.msg[0] = '\0';
			pb_daemon_reload(d, &eb);
		} else {
			pb_logf(lg, PB_LOG_INFO, "serve.stopping", "signal %d: finishing work in progress",
				sig);
			running = false;
		}
	}
	pb_daemon_stop(d);
out:
	pb_log_free(lg);
	pb_config_release(&cfg);
	pb_diag_release(&dg);
	return status;
}
