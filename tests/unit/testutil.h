/*
 * Helpers shared by the cmocka unit tests: temporary directories, writing
 * small files, and finding the source tree's KB.
 */
#ifndef PARCELBOT_TESTUTIL_H
#define PARCELBOT_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "parcelbot/kb.h"

/* Makes a fresh temporary directory; the caller frees the string after
 * tu_rmtree. */
char *tu_mkdtemp(void);
/* Writes text to dir/name (creating subdirectories). */
void tu_write(const char *dir, const char *name, const char *text);
/* Removes a directory tree. */
void tu_rmtree(const char *dir);
/* The KB directory of the source tree ($PB_SRCDIR/kb or ./kb). */
const char *tu_kb_dir(void);
/* Loads the source tree's KB once per process; fails the test on error. */
pb_kb *tu_kb(void);
/* Copies the source tree's KB into a fresh temporary directory (caller
 * removes it with tu_rmtree and frees the string). */
char *tu_kb_copy(void);
/* Appends text to dir/name. */
void tu_append(const char *dir, const char *name, const char *text);
/* Reads a whole file into a NUL-terminated buffer (caller frees). */
char *tu_read(const char *path, size_t *len);

#endif
