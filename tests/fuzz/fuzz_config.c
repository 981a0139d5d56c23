/*
 * Fuzz target: the configuration loader (pb_config_load_data, the file
 * loader on bytes in memory), then the checks and the JSON view. Relative
 * *_file secrets are looked for in an empty temporary directory.
 */
#include <cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "parcelbot/config.h"

static char path[256];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pb_config c;
	pb_diag dg;
	cJSON *j;

	if (!path[0]) {
		char dir[] = "/tmp/pb-fuzz-config-XXXXXX";
		if (!mkdtemp(dir))
			abort();
		snprintf(path, sizeof path, "%s/parcelbot.yaml", dir);
	}
	if (pb_config_init(&c))
		return 0;
	pb_diag_init(&dg);
	if (!pb_config_load_data(&c, path, (const char *)data, size, &dg)) {
		pb_config_check_serve(&c, &dg);
		j = pb_config_json(&c);
		cJSON_Delete(j);
	}
	pb_diag_release(&dg);
	pb_config_release(&c);
	return 0;
}
