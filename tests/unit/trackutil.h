/*
 * Helpers for the tests of the HTTP client, the tracker and the sandbox:
 * an in-process sandbox on a free loopback port serving the seed fixture,
 * fault injection from JSON text, and a tracker configuration pointed at it
 * with short timeouts and backoff so the suite stays fast.
 */
#ifndef PARCELBOT_TRACKUTIL_H
#define PARCELBOT_TRACKUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "parcelbot/kb.h"
#include "parcelbot/sandbox.h"
#include "parcelbot/track.h"

/* Starts a sandbox serving tests/fixtures/sandbox-parcels.yaml. */
pb_sandbox *tt_sandbox(void);
/* Writes http://127.0.0.1:PORT<path> into buf. */
const char *tt_url(pb_sandbox *sb, const char *path, char *buf, size_t n);
/* Adds the fault described by json; fails the test if it is malformed. */
void tt_fault(pb_sandbox *sb, const char *json);
/* The source tree's KB, loaded once per process. */
pb_kb *tt_kb(void);
/* A tracker configuration for sb: the sandbox's credentials, its URLs,
 * connect 1 s, timeout 2 s, 2 retries from 20 ms. */
void tt_config(pb_track_config *c, pb_sandbox *sb);
/* Milliseconds on the monotonic clock. */
long long tt_ms(void);
/* The directory of the source tree ($PB_SRCDIR or "."). */
const char *tt_srcdir(void);

#endif
