/*
 * Fuzz target: a Kuaidi100 real-time query answer (pb_k100_parse) into a
 * trace, with a secret to redact, then the trace's JSON form.
 */
#include <cJSON.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../src/track_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const secrets[] = {"k100-secret-key", "CUSTOMER42", NULL};
	pb_trace t;
	pb_errbuf eb;
	cJSON *j;

	pb_trace_init(&t);
	if (!pb_k100_parse((const char *)data, size, secrets, &t, &eb)) {
		j = pb_trace_json(&t);
		cJSON_Delete(j);
	}
	pb_trace_release(&t);
	return 0;
}
