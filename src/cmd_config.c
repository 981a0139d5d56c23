/*
 * `parcelbot config`: load and check the configuration (file plus
 * environment) and show the result, with every secret shown only as set or
 * not.
 */
#include <cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/cli.h"
#include "parcelbot/config.h"

const char pb_usage_config[] =
	"usage: parcelbot config [--config FILE] [--json]\n"
	"\n"
	"Loads the configuration FILE (default: $PARCELBOT_CONFIG, or none), applies\n"
	"the environment over it and prints the settings in effect, one per line\n"
	"(or as JSON). Secrets are never printed, only whether they are set.\n"
	"Errors are printed as file:line:col: message.\n"
	"\n"
	"Options:\n"
	"  --config FILE  configuration file\n"
	"  --json         print JSON\n"
	"  -h, --help     show this help\n"
	"\n"
	"Exit status: 0 when the configuration is valid, 2 otherwise.\n";

static void print_flat(const cJSON *j, const char *prefix)
{
	const cJSON *c;
	char key[256];

	cJSON_ArrayForEach(c, j)
	{
		snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", c->string);
		if (cJSON_IsObject(c))
			print_flat(c, key);
		else if (cJSON_IsString(c))
			printf("%s = %s\n", key, c->valuestring);
		else if (cJSON_IsNumber(c))
			printf("%s = %.0f\n", key, c->valuedouble);
		else if (cJSON_IsBool(c))
			printf("%s = %s\n", key, cJSON_IsTrue(c) ? "true" : "false");
		else if (cJSON_IsNull(c))
			printf("%s = (not set)\n", key);
	}
}

int pb_cmd_config(pb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *file = NULL;
	bool json = false;
	pb_config cfg;
	pb_diag dg;
	cJSON *j = NULL;
	char *s = NULL;
	size_t i;
	int o, status = PB_EXIT_OK;

	(void)cli;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			file = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			pb_cli_help(pb_cli_find("config"));
			return PB_EXIT_OK;
		default:
			return pb_cli_usage("config", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return pb_cli_usage("config", "unexpected argument '%s'", argv[optind]);
	if (pb_config_init(&cfg))
		return pb_cli_fail(PB_EXIT_INPUT, "out of memory");
	pb_diag_init(&dg);
	if (pb_config_load(&cfg, file, &dg)) {
		for (i = 0; i < dg.n; i++)
			fprintf(stderr, "%s\n", dg.lines[i]);
		if (dg.dropped)
			fprintf(stderr, "parcelbot: ... and %zu more errors\n", dg.dropped);
		status = pb_cli_fail(PB_EXIT_INPUT, "the configuration is invalid");
		goto out;
	}
	j = pb_config_json(&cfg);
	if (!j) {
		status = pb_cli_fail(PB_EXIT_INPUT, "out of memory");
		goto out;
	}
	if (json) {
		s = cJSON_Print(j);
		if (!s) {
			status = pb_cli_fail(PB_EXIT_INPUT, "out of memory");
			goto out;
		}
		printf("%s\n", s);
	} else {
		print_flat(j, "");
	}
	if (fflush(stdout) != 0)
		status = pb_cli_fail(PB_EXIT_INPUT, "writing standard output failed");
out:
	free(s);
	cJSON_Delete(j);
	pb_config_release(&cfg);
	pb_diag_release(&dg);
	return status;
}
