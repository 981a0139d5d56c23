/*
 * Fuzz target: the classifier on arbitrary bytes (invalid UTF-8 must be
 * refused, never matched), and the verdict's JSON form.
 */
#include <cJSON.h>
#include <stdint.h>
#include <stdlib.h>

#include "parcelbot/classify.h"

static pb_kb *kb;
static pb_classifier *cl;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pb_verdict v;
	pb_errbuf eb;
	cJSON *j;

	if (!kb) {
		pb_diag dg;
		const char *dir = getenv("PB_FUZZ_KB");
		pb_diag_init(&dg);
		if (pb_kb_load(dir ? dir : "kb", &kb, &dg))
			abort();
		pb_diag_release(&dg);
		cl = pb_classifier_new(kb);
	}
	if (pb_classify(cl, (const char *)data, size, &v, &eb))
		return 0;
	j = pb_verdict_json(kb, &v, (const char *)data, size);
	cJSON_Delete(j);
	return 0;
}
