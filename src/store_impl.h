/*
 * What a store backend implements: one function per operation of store.h,
 * in a table. src/store.c checks arguments and dispatches; a backend only
 * talks to its database. Adding a backend means writing one such table and
 * naming it in store.c's list; no other module changes.
 */
#ifndef PARCELBOT_STORE_IMPL_H
#define PARCELBOT_STORE_IMPL_H

#include "parcelbot/store.h"

typedef struct pb_store_ops pb_store_ops;

/* The part of every handle that store.c owns. A backend's handle starts
 * with it and casts. */
struct pb_store {
	const pb_store_ops *ops;
	int depth;   /* open transactions */
	int version; /* schema version after migration */
};

struct pb_store_ops {
	const char *name;   /* "sqlite" */
	const char *scheme; /* "sqlite:"; a `where` starting with it picks this backend */

	pb_err (*open)(const char *where, const pb_store_opts *o, pb_store **out, pb_errbuf *eb);
	void (*close)(pb_store *st);
	/* depth is the depth the transaction opens or closes (1: outermost). */
	pb_err (*begin)(pb_store *st, int depth, pb_errbuf *eb);
	pb_err (*commit)(pb_store *st, int depth, pb_errbuf *eb);
	void (*rollback)(pb_store *st, int depth);

	pb_err (*conversation_upsert)(pb_store *st, const char *channel, const char *conversation,
				      const char *buyer, int64_t at, pb_id *id, pb_errbuf *eb);
	pb_err (*message_add)(pb_store *st, const pb_store_message *m, pb_id *id, pb_errbuf *eb);
	pb_err (*message_get)(pb_store *st, const char *channel, const char *external_id,
			      pb_store_message *out, pb_errbuf *eb);
	pb_err (*message_list)(pb_store *st, pb_id case_id, pb_store_messages *out, pb_errbuf *eb);
	pb_err (*order_put)(pb_store *st, const char *channel, const char *order_id,
			    const char *json, int64_t at, pb_id *id, pb_errbuf *eb);
	pb_err (*order_get)(pb_store *st, pb_id id, char **json, pb_errbuf *eb);
	/* channel may be NULL; id and json are non-NULL, json set only on success. */
	pb_err (*order_find)(pb_store *st, const char *channel, const char *order_id, pb_id *id,
			     char **json, pb_errbuf *eb);
	pb_err (*order_list)(pb_store *st, pb_store_orders *out, pb_errbuf *eb);
	pb_err (*parcel_put)(pb_store *st, const pb_store_parcel *p, pb_id *id, pb_errbuf *eb);
	pb_err (*parcel_get)(pb_store *st, pb_id id, pb_store_parcel *out, pb_errbuf *eb);
	pb_err (*track_put)(pb_store *st, const char *carrier, const char *number,
			    const char *json, int64_t fetched_at, pb_errbuf *eb);
	pb_err (*track_get)(pb_store *st, const char *carrier, const char *number, char **json,
			    int64_t *fetched_at, pb_errbuf *eb);
	pb_err (*case_insert)(pb_store *st, pb_store_case *c, pb_errbuf *eb);
	pb_err (*case_update)(pb_store *st, const pb_store_case *c, pb_errbuf *eb);
	pb_err (*case_get)(pb_store *st, pb_id id, pb_store_case *out, pb_errbuf *eb);
	pb_err (*case_find_open)(pb_store *st, const char *scope, const char *kind,
				 pb_store_case *out, pb_errbuf *eb);
	pb_err (*case_for_conversation)(pb_store *st, const char *channel,
					const char *conversation, pb_store_case *out,
					pb_errbuf *eb);
	pb_err (*case_list)(pb_store *st, const pb_store_case_filter *f, pb_store_cases *out,
			    pb_errbuf *eb);
	pb_err (*case_opened)(pb_store *st, int64_t from, int64_t to, pb_store_cases *out,
			      pb_errbuf *eb);
	pb_err (*event_add)(pb_store *st, const pb_store_event *e, pb_id *id, pb_errbuf *eb);
	pb_err (*event_list)(pb_store *st, pb_id case_id, pb_store_events *out, pb_errbuf *eb);
	pb_err (*draft_add)(pb_store *st, pb_store_draft *d, pb_errbuf *eb);
	pb_err (*draft_get)(pb_store *st, pb_id id, pb_store_draft *out, pb_errbuf *eb);
	pb_err (*draft_latest)(pb_store *st, pb_id case_id, pb_store_draft *out, pb_errbuf *eb);
	pb_err (*draft_set_state)(pb_store *st, pb_id id, const char *state, pb_errbuf *eb);
	pb_err (*draft_supersede)(pb_store *st, pb_id case_id, pb_id keep, size_t *n,
				  pb_errbuf *eb);
	pb_err (*draft_list)(pb_store *st, pb_id case_id, const char *state, pb_store_drafts *out,
			     pb_errbuf *eb);
	pb_err (*decision_add)(pb_store *st, const pb_store_decision *d, pb_id *id, pb_errbuf *eb);
	pb_err (*decision_list)(pb_store *st, pb_id case_id, pb_store_decisions *out,
				pb_errbuf *eb);
	pb_err (*note_add)(pb_store *st, const pb_store_note *n, pb_id *id, pb_errbuf *eb);
	pb_err (*note_list)(pb_store *st, pb_id case_id, pb_store_notes *out, pb_errbuf *eb);
	pb_err (*reminder_add)(pb_store *st, const pb_store_reminder *r, pb_id *id, pb_errbuf *eb);
	pb_err (*reminder_complete)(pb_store *st, pb_id case_id, const char *const *kinds,
				    int64_t at, size_t *n, pb_errbuf *eb);
	pb_err (*reminder_escalate)(pb_store *st, pb_id id, int64_t at, pb_errbuf *eb);
	pb_err (*reminder_list)(pb_store *st, pb_id case_id, pb_store_reminders *out,
				pb_errbuf *eb);
	pb_err (*reminder_due)(pb_store *st, int64_t until, pb_store_reminders *out, pb_errbuf *eb);
	pb_err (*inbox_put)(pb_store *st, const char *channel, const char *external_id,
			    const char *payload, int64_t received_at, pb_id *id, pb_errbuf *eb);
	pb_err (*inbox_claim)(pb_store *st, const char *worker, int64_t now, int64_t lease,
			      size_t max, pb_store_inbox_rows *out, pb_errbuf *eb);
	pb_err (*inbox_done)(pb_store *st, pb_id id, int64_t at, pb_errbuf *eb);
	pb_err (*inbox_fail)(pb_store *st, pb_id id, int64_t at, const char *error, bool give_up,
			     pb_errbuf *eb);
	pb_err (*inbox_release)(pb_store *st, const char *worker, pb_errbuf *eb);
	pb_err (*inbox_get)(pb_store *st, pb_id id, pb_store_inbox_row *out, pb_errbuf *eb);
	pb_err (*inbox_counts)(pb_store *st, size_t *pending, size_t *failed, pb_errbuf *eb);
	pb_err (*outbox_put)(pb_store *st, const pb_store_outbox_row *r, pb_id *id, pb_errbuf *eb);
	pb_err (*outbox_get)(pb_store *st, pb_id id, pb_store_outbox_row *out, pb_errbuf *eb);
	pb_err (*outbox_due)(pb_store *st, int64_t now, size_t max, pb_store_outbox_rows *out,
			     pb_errbuf *eb);
	pb_err (*outbox_sent)(pb_store *st, pb_id id, int64_t at, pb_errbuf *eb);
	pb_err (*outbox_wake)(pb_store *st, int64_t now, int64_t horizon, size_t *woken,
			      pb_errbuf *eb);
	pb_err (*outbox_retry)(pb_store *st, pb_id id, int64_t next_attempt_at, const char *error,
			       pb_errbuf *eb);
	pb_err (*outbox_list)(pb_store *st, pb_id case_id, pb_store_outbox_rows *out,
			      pb_errbuf *eb);
	pb_err (*agent_touch)(pb_store *st, const char *name, const char *role, int64_t at,
			      pb_errbuf *eb);
	pb_err (*agent_get)(pb_store *st, const char *name, pb_store_agent *out, pb_errbuf *eb);
	pb_err (*agent_add)(pb_store *st, const char *name, const char *role,
			    const char *password_hash, int64_t at, pb_errbuf *eb);
	pb_err (*agent_set_password)(pb_store *st, const char *name, const char *password_hash,
				     pb_errbuf *eb);
	pb_err (*agent_remove)(pb_store *st, const char *name, pb_errbuf *eb);
	pb_err (*agent_list)(pb_store *st, pb_store_agents *out, pb_errbuf *eb);
	pb_err (*session_add)(pb_store *st, const pb_store_session *s, pb_errbuf *eb);
	pb_err (*session_get)(pb_store *st, const char *token_hash, int64_t now,
			      pb_store_session *out, pb_errbuf *eb);
	pb_err (*session_delete)(pb_store *st, const char *token_hash, int64_t now,
				 pb_errbuf *eb);
	/* by is one of "state", "severity", "kind", "carrier" (checked). */
	pb_err (*case_counts)(pb_store *st, const char *by, pb_store_counts *out, pb_errbuf *eb);
	pb_err (*decision_counts)(pb_store *st, int64_t since, pb_store_counts *out,
				  pb_errbuf *eb);
	pb_err (*first_reply_stats)(pb_store *st, int64_t since, int64_t *n, double *mean_s,
				    pb_errbuf *eb);
};

extern const pb_store_ops pb_store_sqlite_ops;

/* Appends one zeroed element to a list's array (v, n), growing it in
 * doublings; returns the element or NULL when out of memory. */
void *pb_store_list_push(void *vp, size_t *n, size_t size);

#endif
