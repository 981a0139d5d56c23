/*
 * Fuzz target: the YAML layer (positioned trees, aliases refused, depth and
 * node limits) and, through a temporary KB directory, the whole KB loader
 * with the input as its intents file.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parcelbot/kb.h"
#include "parcelbot/ydoc.h"

static char dir[64];

static void setup_dir(void)
{
	const char *src = getenv("PB_FUZZ_KB");
	char cmd[512];

	if (dir[0])
		return;
	snprintf(dir, sizeof dir, "/tmp/pbfuzz.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(cmd, sizeof cmd, "cp -r '%s'/. '%s'/", src ? src : "kb", dir);
	if (system(cmd) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pb_ydoc doc;
	pb_diag dg;
	pb_kb *kb = NULL;
	char path[128];
	FILE *f;

	bool signals;

	pb_diag_init(&dg);
	if (pb_ydoc_parse(&doc, "fuzz.yaml", (const char *)data, size, &dg)) {
		pb_diag_release(&dg);
		return 0;
	}
	/* A whole-KB load compiles hundreds of patterns, so only inputs that
	 * look like a signals file get one. */
	signals = pb_ymap_get(doc.root, "signals") != NULL;
	pb_ydoc_release(&doc);
	pb_diag_release(&dg);
	if (!signals || size > 65536)
		return 0;
	setup_dir();
	snprintf(path, sizeof path, "%s/signals.yaml", dir);
	f = fopen(path, "wb");
	if (!f)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
	pb_diag_init(&dg);
	if (!pb_kb_load(dir, &kb, &dg))
		pb_kb_unref(kb);
	pb_diag_release(&dg);
	return 0;
}
