/*
 * The daemon behind `parcelbot serve`: the HTTP server (webhooks, the JSON
 * API, /healthz, /metrics), pipeline workers that claim inbox rows, an
 * outbox sender that carries out actions through the channel adapters, and
 * a scheduler for reminders and polled channels. Everything durable lives
 * in the store; the daemon's own state is only what is in flight, so a
 * crash or SIGKILL loses nothing that was acknowledged.
 *
 *   webhook / API / poll ─▶ inbox ─▶ workers (ingest: classify, track,
 *   assess, draft) ─▶ outbox ─▶ sender ─▶ channel
 *
 * The knowledge base and everything built from it (the tracker) form one
 * generation, reference counted: pb_daemon_reload builds a new one and
 * swaps it in, and work already running finishes on the old one. A broken
 * KB is refused and the old generation stays.
 */
#ifndef PARCELBOT_SERVE_H
#define PARCELBOT_SERVE_H

#include <stdbool.h>
#include <stdint.h>

#include "parcelbot/config.h"
#include "parcelbot/err.h"

struct pb_log;

typedef struct pb_daemon pb_daemon;

typedef struct pb_daemon_opts {
	const pb_config *cfg;  /* copied where needed; must outlive the call only */
	const char *kb_dir;    /* NULL: pb_kb_locate's default */
	struct pb_log *log;    /* borrowed; NULL: no log */
} pb_daemon_opts;

/* Loads the KB, opens the store (migrating it), builds the channels and
 * starts every thread and the server. On failure nothing is left running
 * and eb says what went wrong. */
pb_err pb_daemon_start(const pb_daemon_opts *o, pb_daemon **out, pb_errbuf *eb);
/* The port the server listens on. */
unsigned short pb_daemon_port(const pb_daemon *d);
/* Loads the KB again and swaps it in; on failure the old one stays and eb
 * names the problems. */
pb_err pb_daemon_reload(pb_daemon *d, pb_errbuf *eb);
/* Stops taking new work, lets the batch and the send in progress finish,
 * releases inbox claims, stops the server and frees everything. */
void pb_daemon_stop(pb_daemon *d);

#endif
