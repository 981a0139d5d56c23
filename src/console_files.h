/*
 * The console's static files (src/console/), embedded at build time by
 * scripts/embed.sh into $(BUILD)/gen/console_files.c. Not public API.
 */
#ifndef PARCELBOT_CONSOLE_FILES_H
#define PARCELBOT_CONSOLE_FILES_H

#include <stddef.h>

typedef struct pb_console_file {
	const char *name; /* "app.js": a bare file name */
	const unsigned char *data;
	size_t len;
} pb_console_file;

extern const pb_console_file pb_console_files[];
extern const size_t pb_console_n_files;

#endif
