/*
 * parcelbot's configuration: a YAML file (read with the ydoc module, so
 * every mistake is reported as `file:line:col: message`, unknown keys
 * included) overlaid by environment variables, which win. One section per
 * subsystem; only `tracking` exists so far, and later sections (server,
 * store, channels) become further members of pb_config with their own
 * loaders beside load_tracking in config.c.
 *
 *   tracking:
 *     provider: auto            # auto | kuaidi100 | 17track
 *     kuaidi100: {customer: ..., key_file: /run/secrets/kuaidi100, url: ...}
 *     17track: {token_file: /run/secrets/17track, url: ...}
 *     connect_timeout: 3s       # durations: 500ms, 3s, 2m, 1h, 1d, or seconds
 *     timeout: 10s
 *     retries: 3
 *     backoff: 500ms            # first retry wait, doubling up to backoff_max
 *     backoff_max: 30s
 *     cache_ttl: 10m
 *     cache_entries: 1000
 *     max_body: 8MiB            # sizes: bytes, or with k/KiB, M/MiB, G/GiB
 *
 * Environment (an empty value counts as unset):
 *   PARCELBOT_CONFIG                    the file to load when none is given
 *   PARCELBOT_KUAIDI100_CUSTOMER[_FILE] PARCELBOT_KUAIDI100_KEY[_FILE]
 *   PARCELBOT_17TRACK_TOKEN[_FILE]      PARCELBOT_KUAIDI100_URL
 *   PARCELBOT_17TRACK_URL
 * A *_FILE variable names a file holding the value (trailing white space
 * dropped); giving both forms of one variable is an error. Secrets never
 * come from the command line and are never printed: pb_config_json shows
 * only whether each is set.
 */
#ifndef PARCELBOT_CONFIG_H
#define PARCELBOT_CONFIG_H

#include "parcelbot/err.h"
#include "parcelbot/track.h"
#include "parcelbot/ydoc.h"

struct cJSON;

#define PB_CONFIG_MAX_FILE (1u << 20)
#define PB_CONFIG_MAX_SECRET 4096

typedef struct pb_config {
	char *file;               /* the file loaded, or NULL */
	pb_track_config tracking; /* the tracking section */
} pb_config;

/* Sets every section to its defaults. Returns PB_ENOMEM. */
pb_err pb_config_init(pb_config *c);
void pb_config_release(pb_config *c);

/* Loads the file at path (NULL: $PARCELBOT_CONFIG, or no file) over the
 * defaults, then the environment over that. Every problem found goes to dg;
 * returns PB_ECONFIG (or PB_ENOMEM) when there was any, and c then holds
 * whatever could be read. */
pb_err pb_config_load(pb_config *c, const char *path, pb_diag *dg);
/* The two steps on their own. */
pb_err pb_config_load_file(pb_config *c, const char *path, pb_diag *dg);
pb_err pb_config_apply_env(pb_config *c, pb_diag *dg);

/* Reads a secret from a file: at most PB_CONFIG_MAX_SECRET bytes of valid
 * UTF-8, trailing white space dropped, not empty. *out is caller-owned. */
pb_err pb_config_read_secret(const char *path, char **out, pb_errbuf *eb);

/* The effective configuration as JSON, secrets shown only as "(set)" or
 * null. Caller owns the result; NULL on ENOMEM. */
struct cJSON *pb_config_json(const pb_config *c);

/* Parses a duration ("500ms", "3s", "2m", "1h", "1d", or a plain number of
 * seconds) into milliseconds; false when it is not one. */
bool pb_config_duration(const char *s, long long *ms);
/* Parses a size ("1048576", "512k", "8MiB", "1G") into bytes. */
bool pb_config_size(const char *s, unsigned long long *bytes);

#endif
