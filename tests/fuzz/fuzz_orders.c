/*
 * Fuzz target: an order source's answer (pb_orders_parse) with the KB's
 * carriers, into the order JSON.
 */
#include <cJSON.h>
#include <stdint.h>
#include <stdlib.h>

#include "parcelbot/orders.h"

static pb_kb *kb;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *out = NULL;
	pb_errbuf eb;

	if (!kb) {
		pb_diag dg;
		const char *dir = getenv("PB_FUZZ_KB");
		pb_diag_init(&dg);
		if (pb_kb_load(dir ? dir : "kb", &kb, &dg))
			abort();
		pb_diag_release(&dg);
	}
	if (!pb_orders_parse((const char *)data, size, "4102938475610001", kb, 8 * 3600, &out,
			     &eb))
		cJSON_Delete(out);
	return 0;
}
