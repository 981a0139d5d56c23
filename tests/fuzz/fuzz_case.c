/*
 * Fuzz target: a case as JSON (the draft --jsonl and ingest shape: order,
 * parcel with events, times) through the whole pure pipeline, and the time
 * parser on the raw bytes.
 */
#include <cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/pipeline.h"

static pb_kb *kb;
static pb_classifier *cl;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *j, *out;
	pb_case_input in;
	pb_case_result r;
	pb_order order;
	pb_trace trace;
	bool ho = false, ht = false;
	pb_errbuf eb;
	pb_when w;
	char *s;

	if (!kb) {
		pb_diag dg;
		const char *dir = getenv("PB_FUZZ_KB");
		pb_diag_init(&dg);
		if (pb_kb_load(dir ? dir : "kb", &kb, &dg))
			abort();
		pb_diag_release(&dg);
		cl = pb_classifier_new(kb);
	}
	s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	pb_time_parse(s, 0, &w);
	free(s);
	j = cJSON_ParseWithLength((const char *)data, size);
	if (!j)
		return 0;
	pb_order_init(&order);
	pb_trace_init(&trace);
	if (!pb_case_from_json(kb, j, &in, &order, &ho, &trace, &ht, &eb) &&
	    !pb_pipeline_run(kb, cl, &in, &r, &eb)) {
		out = pb_case_result_json(kb, &in, &r);
		cJSON_Delete(out);
		pb_case_result_release(&r);
	}
	if (ho)
		pb_order_release(&order);
	if (ht)
		pb_trace_release(&trace);
	cJSON_Delete(j);
	return 0;
}
