/*
 * Fuzz target: the trace and order JSON readers (pb_trace_from_json,
 * pb_order_from_json) on any JSON, and what they read written back.
 */
#include <cJSON.h>
#include <stdint.h>
#include <stdlib.h>

#include "parcelbot/order.h"
#include "parcelbot/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *j, *out;
	pb_trace t;
	pb_order o;
	pb_errbuf eb;

	j = cJSON_ParseWithLength((const char *)data, size);
	if (!j)
		return 0;
	pb_trace_init(&t);
	if (!pb_trace_from_json(j, 8 * 3600, &t, &eb)) {
		out = pb_trace_json(&t);
		cJSON_Delete(out);
		pb_trace_release(&t);
	}
	pb_order_init(&o);
	if (!pb_order_from_json(j, -5 * 3600, &o, &eb)) {
		out = pb_order_json(&o);
		cJSON_Delete(out);
		pb_order_release(&o);
	}
	cJSON_Delete(j);
	return 0;
}
