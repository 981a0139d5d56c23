/*
 * Fuzz target: a 17TRACK register or gettrackinfo answer (pb_t17_parse)
 * for a fixed batch of numbers, then every accepted item read into a trace
 * (pb_t17_trace). The first byte picks the HTTP status.
 */
#include <cJSON.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../src/track_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const secrets[] = {"t17-secret-token", NULL};
	static const long statuses[] = {200, 200, 200, 200, 400, 401, 429, 500};
	pb_t17_item items[4] = {{.number = "RR123456789CN"},
				{.number = "YT2300000000001"},
				{.number = "AA1"},
				{.number = ""}};
	cJSON *root = NULL;
	pb_errbuf eb;
	long status = 200;
	size_t i;

	if (size) {
		status = statuses[data[0] & 7];
		data++;
		size--;
	}
	if (!pb_t17_parse((const char *)data, size, status, items, 4, secrets, &root, &eb)) {
		for (i = 0; i < 4; i++) {
			pb_trace t;
			if (!items[i].accepted)
				continue;
			pb_trace_init(&t);
			if (!pb_t17_trace(items[i].json, &t, &eb)) {
				cJSON *j = pb_trace_json(&t);
				cJSON_Delete(j);
			}
			pb_trace_release(&t);
		}
	}
	cJSON_Delete(root);
	return 0;
}
