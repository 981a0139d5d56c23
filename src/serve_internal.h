/*
 * What the daemon's parts share (src/serve.c, src/api.c). Not public API.
 */
#ifndef PARCELBOT_SERVE_INTERNAL_H
#define PARCELBOT_SERVE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "parcelbot/channel.h"
#include "parcelbot/config.h"
#include "parcelbot/kb.h"
#include "parcelbot/log.h"
#include "parcelbot/metrics.h"
#include "parcelbot/serve.h"
#include "parcelbot/server.h"
#include "parcelbot/store.h"
#include "parcelbot/track.h"

struct pb_http;
struct pb_orders;

/* A KB and what is built from it, swapped whole on reload. */
typedef struct pb_gen {
	pb_kb *kb;
	pb_tracker *tr;
	atomic_int refs;
	unsigned long id;
} pb_gen;

/* Threads carrying out outbox actions at once. */
#define PB_SEND_THREADS 8

/* A configured channel. An adapter instance is used by one thread at a
 * time: ch (webhooks, polls, order lookups) under mu, and, for adapters
 * that hold no changing state, one more instance per sender thread. */
typedef struct pb_chan_slot {
	pb_channel *ch;
	pthread_mutex_t mu;
	pb_channel *extra[PB_SEND_THREADS];
	pthread_mutex_t extra_mu[PB_SEND_THREADS];
	size_t n_extra;
	long poll_ms;        /* 0: not polled */
	int64_t next_poll_ms;
	bool is_shopee;      /* its rotating refresh token is saved */
	char *saved_token;   /* the refresh token last saved */
} pb_chan_slot;

#define PB_DAEMON_MAX_CHANNELS 4

struct pb_daemon {
	const pb_config *cfg;
	char kb_dir[4096];
	pb_log *log;
	pb_metrics *metrics;
	struct pb_http *http;
	struct pb_orders *orders; /* NULL: no order source */
	pb_server *srv;

	pthread_mutex_t mu;      /* guards everything below */
	pthread_cond_t work;     /* the inbox may have rows */
	pthread_cond_t done;     /* a batch was processed */
	pthread_cond_t send;     /* the outbox may have rows */
	unsigned long work_seq, send_seq;
	bool stopping;
	pb_gen *gen;
	unsigned long gen_seq;
	pb_store **pool;         /* idle store handles for request threads */
	size_t n_pool, cap_pool;

	pb_chan_slot chans[PB_DAEMON_MAX_CHANNELS];
	size_t n_chans;

	pthread_t *workers;
	unsigned n_workers, started_workers;
	pthread_t sender, scheduler, inbox_writer, watcher;
	bool sender_started, scheduler_started, inbox_writer_started, watcher_started;

	/* the inbox writer's queue (serve.c) */
	pthread_mutex_t iq_mu;
	pthread_cond_t iq_cond, iq_done;
	struct inbox_req *iq_head, *iq_tail;
	bool iq_stop;

	/* metrics */
	pb_metric *m_received, *m_duplicate, *m_drafts, *m_escalated, *m_processed, *m_failed,
		*m_commands, *m_sent, *m_send_fail, *m_track_err, *m_order_err, *m_overdue,
		*m_reloads, *m_reload_fail, *m_decisions_api, *m_watch_opened;
	pb_metric *h_pipeline, *h_send;
};

/* The current generation, with a reference the caller drops. */
pb_gen *pb_daemon_gen(pb_daemon *d);
void pb_daemon_gen_put(pb_gen *g);

/* A store handle for this thread (from the pool, or a new one); NULL with
 * eb set when the database cannot be opened. Give it back when done. */
pb_store *pb_daemon_store(pb_daemon *d, pb_errbuf *eb);
void pb_daemon_store_put(pb_daemon *d, pb_store *st);

/* Wakes the workers (new inbox rows) or the sender (new outbox rows). */
void pb_daemon_kick_work(pb_daemon *d);
void pb_daemon_kick_send(pb_daemon *d);

/* Waits until the inbox row is processed or timeout_ms passes; true when
 * it was processed. */
bool pb_daemon_wait_processed(pb_daemon *d, pb_store *st, pb_id inbox_id, long timeout_ms);

/* The configured channel of that name, or NULL. */
pb_chan_slot *pb_daemon_channel(pb_daemon *d, const char *name);

/* Wall clock in seconds and milliseconds. */
int64_t pb_daemon_now(void);
int64_t pb_daemon_now_ms(void);

/* Adds the API routes (src/api.c). */
pb_err pb_api_routes(pb_daemon *d, pb_errbuf *eb);

/* Adds the console's routes: sign-in, events, stats, static files
 * (src/console.c). */
pb_err pb_console_routes(pb_daemon *d, pb_errbuf *eb);
/* The live session the request's cookie names, read with st; false when
 * there is none. Release *out when true. */
bool pb_console_session(pb_store *st, const pb_srv_req *rq, pb_store_session *out);
/* True when the request's X-CSRF-Token is the session's. */
bool pb_console_csrf_ok(const pb_srv_req *rq, const pb_store_session *se);

#endif
