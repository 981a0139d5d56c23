/*
 * parcelbot's configuration: a YAML file (read with the ydoc module, so
 * every mistake is reported as `file:line:col: message`, unknown keys
 * included) overlaid by environment variables, which win. One section per
 * subsystem; docs/configuration.md describes every key and
 * parcelbot.example.yaml is a commented example.
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
 *   server:
 *     listen: 127.0.0.1:8080    # host:port; port 0 picks a free one
 *     api_token_file: ...       # bearer token for /api/v1 (secret)
 *     public_url: https://...   # how agents reach parcelbot, for links
 *     max_body: 1MiB
 *     max_connections: 256
 *     max_connections_per_ip: 64
 *     connection_timeout: 30s
 *     threads: 4
 *     tls: {cert_file: ..., key_file: ...}
 *   store: {path: parcelbot.db}
 *   pipeline: {workers: 2, batch: 64, lease: 5m, max_attempts: 5,
 *              scheduler_interval: 30s, scan_interval: 1h, scan_rate: 10}
 *   log: {format: text, level: info}    # text | json; debug | info | warn | error
 *   channels:
 *     chatwoot: {url, account_id, api_token_file, webhook_secret_file,
 *                escalate_label: parcel-escalated}
 *     shopee: {url, partner_id, partner_key_file, shop_id,
 *              refresh_token_file, access_token_file, poll_interval: 10s}
 *   orders: {url: https://shop/api/orders/{order_id}, token_file: ...}
 *
 * Environment (an empty value counts as unset):
 *   PARCELBOT_CONFIG                    the file to load when none is given
 *   PARCELBOT_KUAIDI100_CUSTOMER[_FILE] PARCELBOT_KUAIDI100_KEY[_FILE]
 *   PARCELBOT_17TRACK_TOKEN[_FILE]      PARCELBOT_KUAIDI100_URL
 *   PARCELBOT_17TRACK_URL               PARCELBOT_LISTEN
 *   PARCELBOT_API_TOKEN[_FILE]          PARCELBOT_DB
 *   PARCELBOT_CHATWOOT_URL              PARCELBOT_CHATWOOT_TOKEN[_FILE]
 *   PARCELBOT_CHATWOOT_WEBHOOK_SECRET[_FILE]
 *   PARCELBOT_SHOPEE_URL                PARCELBOT_SHOPEE_PARTNER_KEY[_FILE]
 *   PARCELBOT_SHOPEE_REFRESH_TOKEN[_FILE] PARCELBOT_SHOPEE_ACCESS_TOKEN[_FILE]
 *   PARCELBOT_ORDERS_URL                PARCELBOT_ORDERS_TOKEN[_FILE]
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

typedef struct pb_server_config {
	char *listen;             /* "host:port" */
	char *api_token;          /* bearer token for the API (secret), or NULL */
	char *public_url;         /* base URL agents use, or NULL */
	char *tls_cert_file, *tls_key_file; /* both or neither */
	size_t max_body;          /* largest request body */
	unsigned max_connections;
	unsigned max_connections_per_ip; /* 0: no limit */
	long connection_timeout_s;
	unsigned threads;
} pb_server_config;

typedef struct pb_pipeline_config {
	unsigned workers;          /* threads processing the inbox */
	unsigned batch;            /* events per transaction */
	int64_t lease;             /* seconds a claim holds */
	unsigned max_attempts;     /* before an event or action is given up */
	long scheduler_interval_ms; /* reminders and polls */
	long long scan_interval_ms; /* the proactive watch; 0: off */
	double scan_rate;          /* the watch's lookups per second */
} pb_pipeline_config;

typedef enum pb_log_format { PB_LOG_TEXT, PB_LOG_JSON } pb_log_format;
typedef enum pb_log_level { PB_LOG_DEBUG, PB_LOG_INFO, PB_LOG_WARN, PB_LOG_ERROR } pb_log_level;

typedef struct pb_chatwoot_config {
	bool enabled;             /* the section (or PARCELBOT_CHATWOOT_URL) is there */
	char *url;                /* e.g. https://app.chatwoot.com */
	long account_id;
	char *api_token;          /* the agent bot's or an agent's access token (secret) */
	char *webhook_secret;     /* the last path segment of the webhook URL (secret) */
	char *escalate_label;     /* default "parcel-escalated" */
} pb_chatwoot_config;

typedef struct pb_shopee_config {
	bool enabled;
	char *url;                /* default https://partner.shopeemobile.com */
	long long partner_id;
	char *partner_key;        /* signs every request (secret) */
	long long shop_id;
	char *refresh_token;      /* (secret) */
	char *access_token;       /* optional starting token (secret) */
	long poll_interval_ms;
} pb_shopee_config;

typedef struct pb_orders_config {
	char *url;                /* template with {order_id}, or NULL */
	char *token;              /* sent as a bearer token (secret), or NULL */
} pb_orders_config;

typedef struct pb_config {
	char *file;               /* the file loaded, or NULL */
	pb_track_config tracking; /* the tracking section */
	pb_server_config server;
	char *store_path;         /* default "parcelbot.db" */
	pb_pipeline_config pipeline;
	pb_log_format log_format;
	pb_log_level log_level;
	pb_chatwoot_config chatwoot;
	pb_shopee_config shopee;
	pb_orders_config orders;
} pb_config;

/* "debug", "info", ... and back; false for an unknown name. */
const char *pb_log_level_name(pb_log_level l);
bool pb_log_level_from_name(const char *name, pb_log_level *out);

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
/* pb_config_load_file on len bytes already in memory; path names them in
 * messages and its directory is where relative *_file secrets are read. */
pb_err pb_config_load_data(pb_config *c, const char *path, const char *data, size_t len,
			   pb_diag *dg);

/* Checks what `parcelbot serve` needs beyond a valid file: each enabled
 * channel's required keys and secrets, and the API token. Problems go to
 * dg, naming the key and the variable that can supply it. */
pb_err pb_config_check_serve(const pb_config *c, pb_diag *dg);

/* True for "host:port" with a port from 0 to 65535. */
bool pb_config_listen_ok(const char *s);

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
