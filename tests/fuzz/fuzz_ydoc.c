/*
 * Fuzz target: the YAML layer alone (positioned trees, aliases refused,
 * depth and node limits, invalid UTF-8 located), then every node walked
 * with the schema helpers the loaders use. fuzz_yaml feeds the whole KB
 * loader, which compiles every pattern per input and so runs slowly; this
 * one runs the parser thousands of times faster.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "parcelbot/ydoc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(pb_diag *dg, const pb_ydoc *doc, const pb_ynode *n, int depth)
{
	static const char *const allowed[] = {"id", "match", "examples", NULL};
	double d;
	bool b;
	size_t i;

	if (!n || depth > PB_YDOC_MAX_DEPTH + 1)
		return;
	switch (n->kind) {
	case PB_Y_SCALAR:
		(void)pb_y_node_num(dg, doc, n, &d);
		break;
	case PB_Y_SEQ:
		for (i = 0; i < n->n; i++)
			walk(dg, doc, n->items[i], depth + 1);
		break;
	case PB_Y_MAP:
		(void)pb_y_keys(dg, doc, n, allowed);
		(void)pb_y_keys(dg, doc, n, NULL);
		(void)pb_y_str(dg, doc, n, "id", false);
		(void)pb_y_num(dg, doc, n, "match", false, &d);
		(void)pb_y_bool(dg, doc, n, "examples", false, &b);
		(void)pb_ymap_get(n, "id");
		for (i = 0; i < n->n; i++) {
			walk(dg, doc, pb_ymap_key(n, i), depth + 1);
			walk(dg, doc, pb_ymap_val(n, i), depth + 1);
		}
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pb_ydoc doc;
	pb_diag dg;
	pb_errbuf eb;

	pb_diag_init(&dg);
	if (!pb_ydoc_parse(&doc, "fuzz.yaml", (const char *)data, size, &dg)) {
		walk(&dg, &doc, doc.root, 0);
		pb_ydoc_release(&doc);
	}
	pb_diag_to_errbuf(&dg, &eb);
	pb_diag_release(&dg);
	return 0;
}
