/*
 * The store: everything parcelbot must remember across a shift change, a
 * restart or a crash. Buyers and conversations per channel, messages,
 * orders and parcels as last seen, cases and every state change they went
 * through, every draft version, agents' decisions and notes, reminders, the
 * durable inbox (events received but not yet processed), the outbox
 * (actions not yet confirmed by the channel) and the tracking cache.
 *
 * This header is backend-neutral: no SQL and no database types appear in
 * it, and every operation goes through a backend's table of functions (see
 * src/store_impl.h). SQLite (src/store_sqlite.c) is the one backend today;
 * a PostgreSQL backend for shops that run several parcelbot instances can
 * be added beside it without touching the modules that use the store.
 *
 * Rules every caller can rely on:
 * - One pb_store handle is one connection. Use one per thread; handles in
 *   different threads and processes work on the same database at once.
 * - Operations outside a transaction commit on their own, atomically.
 *   pb_store_begin/commit group several into one durable commit; nested
 *   begins are savepoints, so a caller can undo one message's writes and
 *   keep the rest of a batch. Inside a transaction an operation that fails
 *   may have done part of its work: roll back what the caller began.
 * - Times are seconds since the epoch, passed in by the caller: the store
 *   never reads the clock. 0 means "not yet" or "none".
 * - Strings in records are owned by the record. Records and lists that a
 *   function fills are released with the matching _release function, also
 *   after a failure (they are then empty). Inputs are copied.
 * - Uniqueness is enforced by the store itself, so a retry after a crash
 *   cannot duplicate anything: inserting what exists returns PB_EEXIST and,
 *   where there is an id out-parameter, the existing row's id.
 */
#ifndef PARCELBOT_STORE_H
#define PARCELBOT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parcelbot/err.h"

/* Row ids. 0 means none. */
typedef int64_t pb_id;

typedef struct pb_store pb_store;

/* The schema version this binary creates and works with. */
#define PB_STORE_SCHEMA_VERSION 4

/* Longest inbox and outbox payload, and longest message text, in bytes. */
#define PB_STORE_MAX_PAYLOAD (1u << 20)
/* Longest channel name, external id, agent name, kind or state. */
#define PB_STORE_MAX_NAME 200

typedef struct pb_store_opts {
	bool create;         /* create the database when it does not exist */
	int busy_timeout_ms; /* wait this long for another writer; 0: 5000 */
	int max_version;     /* tests only: migrate no further than this schema
			      * version, to make a database as an older binary
			      * did; 0: migrate to PB_STORE_SCHEMA_VERSION */
} pb_store_opts;

/* Opens the database `where` names: "sqlite:PATH" or a plain PATH (SQLite).
 * Migrates its schema to the current version, each step in a transaction.
 * A database written by a newer parcelbot is refused (PB_EDB, naming both
 * versions); a missing one is PB_ENOTFOUND unless opts->create. opts may be
 * NULL. On success *out owns the new handle (pb_store_close). */
pb_err pb_store_open(const char *where, const pb_store_opts *opts, pb_store **out,
		     pb_errbuf *eb);
void pb_store_close(pb_store *st);
/* Bytes the storage engine holds in memory in this process, over all
 * handles (SQLite: page caches, statements, schemas), for /metrics and the
 * soak test, which tell its caches filling up from a leak by it. */
double pb_store_memory_bytes(void);
/* "sqlite", ... */
const char *pb_store_backend(const pb_store *st);
/* The schema version the open database is at. */
int pb_store_version(const pb_store *st);

/* Transactions. The outermost begin takes the write lock at once (so two
 * writers queue instead of failing half-way); inner ones are savepoints.
 * A commit that fails leaves the transaction open: roll it back. */
pb_err pb_store_begin(pb_store *st, pb_errbuf *eb);
pb_err pb_store_commit(pb_store *st, pb_errbuf *eb);
void pb_store_rollback(pb_store *st);
/* How many transactions are open (0: none). */
int pb_store_depth(const pb_store *st);

/* ---- buyers and conversations ---- */

/* Finds or creates the conversation (and its buyer, when buyer is not
 * NULL) on a channel; sets its last message time to at. */
pb_err pb_store_conversation_upsert(pb_store *st, const char *channel, const char *conversation,
				    const char *buyer, int64_t at, pb_id *id, pb_errbuf *eb);

/* ---- messages ---- */

typedef struct pb_store_message {
	pb_id id;
	char *channel;        /* with external_id: unique */
	char *external_id;    /* the channel's message id */
	pb_id conversation_id;
	pb_id case_id;        /* 0: the message belongs to no case */
	char direction[4];    /* "in" from the buyer, "out" to the buyer */
	char *author;         /* may be NULL */
	char *text;
	char *verdict;        /* the classifier's verdict as JSON, or NULL */
	int64_t at;
} pb_store_message;

typedef struct pb_store_messages {
	pb_store_message *v;
	size_t n;
} pb_store_messages;

/* Adds a message; PB_EEXIST (and its id) when the channel already gave one
 * with this id. */
pb_err pb_store_message_add(pb_store *st, const pb_store_message *m, pb_id *id, pb_errbuf *eb);
/* A case's messages, oldest first. */
/* The message the channel calls external_id; PB_ENOTFOUND when none. */
pb_err pb_store_message_get(pb_store *st, const char *channel, const char *external_id,
			    pb_store_message *out, pb_errbuf *eb);
pb_err pb_store_message_list(pb_store *st, pb_id case_id, pb_store_messages *out, pb_errbuf *eb);

/* ---- orders and parcels, as last seen ---- */

/* Inserts or replaces the order (pb_order_json) the channel calls order_id. */
pb_err pb_store_order_put(pb_store *st, const char *channel, const char *order_id,
			  const char *json, int64_t at, pb_id *id, pb_errbuf *eb);
/* The order's JSON; caller frees it. PB_ENOTFOUND when there is none. */
pb_err pb_store_order_get(pb_store *st, pb_id id, char **json, pb_errbuf *eb);
/* Finds an order by the shop's order id, on one channel or (channel NULL)
 * on any: an order id is the shop's, whichever channel the buyer writes
 * from. Letter case is ignored, as buyers and the classifier change it, but
 * an exact match wins; among several channels' copies the one whose JSON
 * carries a "parcel" wins (an imported order, say), then the most recently
 * updated. *id (may be NULL) gets its row id and *json (may be NULL; caller
 * frees it) its JSON. PB_ENOTFOUND when there is none. */
pb_err pb_store_order_find(pb_store *st, const char *channel, const char *order_id, pb_id *id,
			   char **json, pb_errbuf *eb);

typedef struct pb_store_order {
	pb_id id;
	char *channel;
	char *order_id;   /* the shop's order id */
	char *json;       /* pb_order_json, with "parcel" when it has one */
	int64_t updated_at;
} pb_store_order;

typedef struct pb_store_orders {
	pb_store_order *v;
	size_t n;
} pb_store_orders;

/* Every order as last seen, by row id (for the proactive watch). */
pb_err pb_store_order_list(pb_store *st, pb_store_orders *out, pb_errbuf *eb);

typedef struct pb_store_parcel {
	pb_id id;
	char *carrier, *number; /* unique together */
	pb_id order_id;         /* 0 when unknown */
	char *trace;            /* pb_trace_json, or NULL before any lookup */
	char *assessment;       /* pb_assessment_json of that trace, or NULL */
	int64_t updated_at;
} pb_store_parcel;

/* Inserts or replaces the parcel by carrier and number. */
pb_err pb_store_parcel_put(pb_store *st, const pb_store_parcel *p, pb_id *id, pb_errbuf *eb);
pb_err pb_store_parcel_get(pb_store *st, pb_id id, pb_store_parcel *out, pb_errbuf *eb);

/* ---- the tracking cache ---- */

pb_err pb_store_track_put(pb_store *st, const char *carrier, const char *number,
			  const char *json, int64_t fetched_at, pb_errbuf *eb);
/* The cached trace JSON (caller frees) and when it was fetched;
 * PB_ENOTFOUND when the parcel was never looked up. */
pb_err pb_store_track_get(pb_store *st, const char *carrier, const char *number, char **json,
			  int64_t *fetched_at, pb_errbuf *eb);

/* ---- cases ---- */

typedef struct pb_store_case {
	pb_id id;
	char *scope;      /* "order:<id>" or "conv:<id>"; at most one case per
			   * scope and kind is not closed */
	char *kind;       /* the problem: leading intent, or "anomaly:<name>" */
	char origin[8];   /* "buyer", or "watch" for proactive cases */
	pb_id conversation_id, order_id, parcel_id; /* 0: none */
	char state[16];   /* see case.h */
	int severity;     /* 0..3, the highest any draft had */
	bool problem;     /* a problem the shop must apologise for */
	int contacts;     /* the buyer's messages about it */
	char lang[4];     /* "zh" or "en" */
	char *owner;      /* the agent who took it, or NULL */
	char *outcome;    /* set when resolved, or NULL */
	int64_t opened_at, updated_at, first_reply_at, resolved_at, closed_at;
	/* Filled by reads, for display; ignored by writes. */
	char *channel, *conversation, *buyer, *order_ref, *carrier, *number;
} pb_store_case;

typedef struct pb_store_cases {
	pb_store_case *v;
	size_t n;
} pb_store_cases;

typedef struct pb_store_case_filter {
	const char *state; /* a state, "open" (any but closed) or NULL for all */
	int min_severity;  /* 0: any */
	size_t limit;      /* 0: no limit */
} pb_store_case_filter;

/* Inserts a case and sets c->id; PB_EEXIST (and c->id the existing case)
 * when one for the same scope and kind is not closed. */
pb_err pb_store_case_insert(pb_store *st, pb_store_case *c, pb_errbuf *eb);
/* Writes the mutable fields: state, severity, problem, contacts, lang,
 * owner, outcome, order_id, parcel_id and the times, and conversation_id
 * when it is set (a proactive case learns its conversation when the buyer
 * writes; a case never loses one). */
pb_err pb_store_case_update(pb_store *st, const pb_store_case *c, pb_errbuf *eb);
pb_err pb_store_case_get(pb_store *st, pb_id id, pb_store_case *out, pb_errbuf *eb);
/* The case of this scope and kind that is not closed; with kind NULL, the
 * most recently updated such case of the scope. PB_ENOTFOUND when none. */
pb_err pb_store_case_find_open(pb_store *st, const char *scope, const char *kind,
			       pb_store_case *out, pb_errbuf *eb);
/* The conversation's case an agent's command there is about: the open
 * case with a draft waiting, else the most recently active open one.
 * PB_ENOTFOUND when the conversation has no open case. */
pb_err pb_store_case_for_conversation(pb_store *st, const char *channel,
				      const char *conversation, pb_store_case *out,
				      pb_errbuf *eb);
/* Cases by severity (highest first), then longest waiting first. */
pb_err pb_store_case_list(pb_store *st, const pb_store_case_filter *f, pb_store_cases *out,
			  pb_errbuf *eb);

/* Cases opened at or after from and before to, oldest first (for the
 * review). */
pb_err pb_store_case_opened(pb_store *st, int64_t from, int64_t to, pb_store_cases *out,
			    pb_errbuf *eb);

/* ---- case events: every state change, and what else happened ---- */

typedef struct pb_store_event {
	pb_id id, case_id;
	int64_t at;
	char *actor;      /* an agent, "ingest", "scheduler", ... */
	char *what;       /* "state" for transitions, "overdue" for an
			   * escalated reminder, "contact" for a repeat contact */
	char *from_state; /* NULL when a case is opened */
	char *to_state;
	char *note;       /* may be NULL */
} pb_store_event;

typedef struct pb_store_events {
	pb_store_event *v;
	size_t n;
} pb_store_events;

pb_err pb_store_event_add(pb_store *st, const pb_store_event *e, pb_id *id, pb_errbuf *eb);
/* A case's events, in the order they happened. */
pb_err pb_store_event_list(pb_store *st, pb_id case_id, pb_store_events *out, pb_errbuf *eb);

/* ---- drafts: every version is kept ---- */

typedef struct pb_store_draft {
	pb_id id, case_id;
	pb_id message_id;     /* the message it answers (0 for outreach); a
			       * message has at most one draft */
	int version;          /* set by the store: 1 + the case's latest */
	int64_t created_at;
	char *text, *template_id, *brief;
	int severity;
	char action[12];      /* "draft" or "escalate" */
	char lang[4];
	char *compensation;   /* JSON {kind, amount, currency, cap, rule} */
	int64_t follow_up_due; /* 0: none */
	char *checklist, *reasons, *lint, *assessment; /* JSON */
	char state[12];       /* pending approved rejected escalated superseded */
} pb_store_draft;

typedef struct pb_store_drafts {
	pb_store_draft *v;
	size_t n;
} pb_store_drafts;

/* Adds the case's next version; sets d->id and d->version. PB_EEXIST when
 * the message already has a draft. */
pb_err pb_store_draft_add(pb_store *st, pb_store_draft *d, pb_errbuf *eb);
pb_err pb_store_draft_get(pb_store *st, pb_id id, pb_store_draft *out, pb_errbuf *eb);
/* The case's latest version; PB_ENOTFOUND when it has none. */
pb_err pb_store_draft_latest(pb_store *st, pb_id case_id, pb_store_draft *out, pb_errbuf *eb);
pb_err pb_store_draft_set_state(pb_store *st, pb_id id, const char *state, pb_errbuf *eb);
/* Marks the case's pending and escalated drafts other than keep as
 * superseded; *n (may be NULL) says how many. */
pb_err pb_store_draft_supersede(pb_store *st, pb_id case_id, pb_id keep, size_t *n,
				pb_errbuf *eb);
/* Drafts of one case (case_id 0: of all cases) in one state (NULL: any),
 * oldest first. */
pb_err pb_store_draft_list(pb_store *st, pb_id case_id, const char *state, pb_store_drafts *out,
			   pb_errbuf *eb);

/* ---- agents' decisions ---- */

typedef struct pb_store_decision {
	pb_id id, draft_id, case_id; /* draft_id 0: escalated without a draft */
	char kind[16];   /* approve approve_edited reject escalate */
	char *agent;
	int64_t at;
	char *text;      /* the text sent (edited or not); NULL otherwise */
	char *lint;      /* JSON findings on an edited text, or NULL */
	char *reason;    /* why rejected or escalated, or NULL */
} pb_store_decision;

typedef struct pb_store_decisions {
	pb_store_decision *v;
	size_t n;
} pb_store_decisions;

pb_err pb_store_decision_add(pb_store *st, const pb_store_decision *d, pb_id *id, pb_errbuf *eb);
pb_err pb_store_decision_list(pb_store *st, pb_id case_id, pb_store_decisions *out,
			      pb_errbuf *eb);

/* ---- notes, for shift hand-off ---- */

typedef struct pb_store_note {
	pb_id id, case_id;
	char *agent;
	int64_t at;
	char *text;
} pb_store_note;

typedef struct pb_store_notes {
	pb_store_note *v;
	size_t n;
} pb_store_notes;

pb_err pb_store_note_add(pb_store *st, const pb_store_note *n, pb_id *id, pb_errbuf *eb);
pb_err pb_store_note_list(pb_store *st, pb_id case_id, pb_store_notes *out, pb_errbuf *eb);

/* ---- reminders ---- */

typedef struct pb_store_reminder {
	pb_id id, case_id;
	char kind[16];    /* first_reply first_plan progress promise follow_up check_back */
	int64_t due, created_at;
	int64_t done_at;      /* 0: pending */
	int64_t escalated_at; /* 0: not escalated to a supervisor */
	char *source;     /* what set it ("draft 12: 今天18:00前"), may be NULL */
	/* Filled by pb_store_reminder_due, for display. */
	char case_state[16];
	int severity;
} pb_store_reminder;

typedef struct pb_store_reminders {
	pb_store_reminder *v;
	size_t n;
} pb_store_reminders;

/* Adds a reminder; PB_EEXIST (and its id) when the case already has a
 * pending one of this kind at this time. */
pb_err pb_store_reminder_add(pb_store *st, const pb_store_reminder *r, pb_id *id, pb_errbuf *eb);
/* Marks the case's pending reminders of the given kinds (NULL-terminated;
 * NULL: every kind but check_back) done at `at`; *n (may be NULL) counts
 * them. */
pb_err pb_store_reminder_complete(pb_store *st, pb_id case_id, const char *const *kinds,
				  int64_t at, size_t *n, pb_errbuf *eb);
/* Marks one reminder escalated; PB_ESTATE when it already was, or is done,
 * so that escalation happens exactly once however often it is asked. */
pb_err pb_store_reminder_escalate(pb_store *st, pb_id id, int64_t at, pb_errbuf *eb);
pb_err pb_store_reminder_list(pb_store *st, pb_id case_id, pb_store_reminders *out,
			      pb_errbuf *eb);
/* Pending reminders due at or before until, on every case, soonest first. */
pb_err pb_store_reminder_due(pb_store *st, int64_t until, pb_store_reminders *out,
			     pb_errbuf *eb);

/* ---- the inbox: events received, not yet processed ---- */

typedef struct pb_store_inbox_row {
	pb_id id;
	char *channel, *external_id; /* unique together */
	char *payload;
	int64_t received_at;
	int64_t claimed_at;  /* 0: not claimed */
	char *claimed_by;    /* the worker holding the claim, or NULL */
	int64_t processed_at; /* 0: not yet */
	int attempts;        /* failed processing attempts */
	char *error;         /* the last failure, or NULL */
} pb_store_inbox_row;

typedef struct pb_store_inbox_rows {
	pb_store_inbox_row *v;
	size_t n;
} pb_store_inbox_rows;

/* Records an event; PB_EEXIST (and its id) when the channel already
 * delivered one with this id. Acknowledge the event to its sender only
 * after this has committed. */
pb_err pb_store_inbox_put(pb_store *st, const char *channel, const char *external_id,
			  const char *payload, int64_t received_at, pb_id *id, pb_errbuf *eb);
/* Claims up to max unprocessed rows for worker, oldest first, atomically
 * against every other handle: rows nobody holds, rows this worker already
 * held (it restarted), and rows whose claim is older than lease seconds (a
 * worker died). */
pb_err pb_store_inbox_claim(pb_store *st, const char *worker, int64_t now, int64_t lease,
			    size_t max, pb_store_inbox_rows *out, pb_errbuf *eb);
/* Marks a row processed. PB_ESTATE when it already was: whoever holds a
 * claim, processing and this mark in one transaction make every event take
 * effect exactly once. */
pb_err pb_store_inbox_done(pb_store *st, pb_id id, int64_t at, pb_errbuf *eb);
/* Records a failed attempt and drops the claim; with give_up the row is
 * also marked processed, keeping the error for an operator to read. */
pb_err pb_store_inbox_fail(pb_store *st, pb_id id, int64_t at, const char *error, bool give_up,
			   pb_errbuf *eb);
/* Drops worker's claims on unprocessed rows (a clean shutdown). */
pb_err pb_store_inbox_release(pb_store *st, const char *worker, pb_errbuf *eb);
pb_err pb_store_inbox_get(pb_store *st, pb_id id, pb_store_inbox_row *out, pb_errbuf *eb);
/* Unprocessed rows, and rows given up with an error. */
pb_err pb_store_inbox_counts(pb_store *st, size_t *pending, size_t *failed, pb_errbuf *eb);

/* ---- the outbox: actions not yet confirmed by the channel ---- */

typedef struct pb_store_outbox_row {
	pb_id id;
	char *key;       /* idempotency key, unique: "send_reply:<draft id>" */
	char *kind;      /* post_draft send_reply hand_off notify_supervisor */
	char *channel;
	pb_id case_id;   /* 0: none */
	char *payload;   /* JSON */
	int64_t created_at, next_attempt_at;
	int attempts;
	int64_t sent_at; /* 0: not confirmed yet */
	char *last_error;
} pb_store_outbox_row;

typedef struct pb_store_outbox_rows {
	pb_store_outbox_row *v;
	size_t n;
} pb_store_outbox_rows;

/* Queues an action (next attempt at created_at); PB_EEXIST (and its id)
 * when the key exists, so a retried transaction never queues it twice. */
pb_err pb_store_outbox_put(pb_store *st, const pb_store_outbox_row *r, pb_id *id, pb_errbuf *eb);
pb_err pb_store_outbox_get(pb_store *st, pb_id id, pb_store_outbox_row *out, pb_errbuf *eb);
/* Unconfirmed rows whose next attempt is due at now, oldest first. A sender
 * pushes next_attempt_at ahead (pb_store_outbox_retry) before it sends. */
pb_err pb_store_outbox_due(pb_store *st, int64_t now, size_t max, pb_store_outbox_rows *out,
			   pb_errbuf *eb);
/* The channel confirmed it; PB_ESTATE when it was confirmed before. */
pb_err pb_store_outbox_sent(pb_store *st, pb_id id, int64_t at, pb_errbuf *eb);
/* Counts a failed attempt (error may be NULL) and sets the next one. */
pb_err pb_store_outbox_retry(pb_store *st, pb_id id, int64_t next_attempt_at,
			     const char *error, pb_errbuf *eb);
/* Makes unconfirmed rows due at now whose next attempt is at most
 * now + horizon seconds away: the claims (and short waits) a daemon killed
 * mid-send left, taken up at once by the one that starts after it rather
 * than when the claim runs out. Rows parked for longer keep their time.
 * *woken (may be NULL) says how many. */
pb_err pb_store_outbox_wake(pb_store *st, int64_t now, int64_t horizon, size_t *woken,
			    pb_errbuf *eb);
/* A case's rows (case_id 0: all), oldest first. */
pb_err pb_store_outbox_list(pb_store *st, pb_id case_id, pb_store_outbox_rows *out,
			    pb_errbuf *eb);

/* ---- agents (schema version 2) ---- */

typedef struct pb_store_agent {
	pb_id id;
	char *name;
	char role[12];   /* "agent" or "supervisor" */
	int64_t created_at, last_seen_at;
	char *password_hash; /* crypt(3) text (schema version 3), or NULL: the
			      * agent cannot sign in to the console */
} pb_store_agent;

typedef struct pb_store_agents {
	pb_store_agent *v;
	size_t n;
} pb_store_agents;

/* Records that the agent acted at `at`, creating it with role (NULL:
 * "agent") the first time; an existing agent's role changes only when role
 * is given. */
pb_err pb_store_agent_touch(pb_store *st, const char *name, const char *role, int64_t at,
			    pb_errbuf *eb);
pb_err pb_store_agent_get(pb_store *st, const char *name, pb_store_agent *out, pb_errbuf *eb);
/* Adds an agent who can sign in (role "agent" or "supervisor", hash a
 * crypt(3) string); PB_EEXIST when one of that name has a password
 * already. An agent known only from earlier decisions gets the role and
 * hash. */
pb_err pb_store_agent_add(pb_store *st, const char *name, const char *role,
			  const char *password_hash, int64_t at, pb_errbuf *eb);
/* Replaces the agent's password hash and ends every session of theirs;
 * PB_ENOTFOUND when there is no such agent. */
pb_err pb_store_agent_set_password(pb_store *st, const char *name, const char *password_hash,
				   pb_errbuf *eb);
/* Takes the agent's sign-in away (their name stays on past decisions) and
 * ends their sessions; PB_ENOTFOUND when there is no such agent. */
pb_err pb_store_agent_remove(pb_store *st, const char *name, pb_errbuf *eb);
/* Every agent, by name. */
pb_err pb_store_agent_list(pb_store *st, pb_store_agents *out, pb_errbuf *eb);

/* ---- console sessions (schema version 3) ---- */

typedef struct pb_store_session {
	char token_hash[65]; /* hex SHA-256 of the cookie's token; the token
			      * itself is never stored */
	char *agent;
	char csrf[65];       /* the token state-changing requests must echo */
	int64_t created_at, expires_at;
	/* Filled by reads. */
	char role[12];
} pb_store_session;

/* Records a session; PB_EINVAL when the agent does not exist. */
pb_err pb_store_session_add(pb_store *st, const pb_store_session *s, pb_errbuf *eb);
/* The session with this token hash that has not expired at now (whose
 * agent can still sign in); PB_ENOTFOUND otherwise. */
pb_err pb_store_session_get(pb_store *st, const char *token_hash, int64_t now,
			    pb_store_session *out, pb_errbuf *eb);
/* Ends a session (no error when there is none), and drops every session
 * expired at now. */
pb_err pb_store_session_delete(pb_store *st, const char *token_hash, int64_t now,
			       pb_errbuf *eb);

/* ---- figures for the console's status board ---- */

typedef struct pb_store_count {
	char *key;  /* a state, severity, kind, carrier or decision kind */
	int64_t n;
	int64_t n2; /* for carriers: cases about an anomaly */
} pb_store_count;

typedef struct pb_store_counts {
	pb_store_count *v;
	size_t n;
} pb_store_counts;

/* Open (not closed) cases grouped by "state", "severity", "kind" or
 * "carrier", largest first. */
pb_err pb_store_case_counts(pb_store *st, const char *by, pb_store_counts *out, pb_errbuf *eb);
/* Decisions made at or after since, by kind. */
pb_err pb_store_decision_counts(pb_store *st, int64_t since, pb_store_counts *out,
				pb_errbuf *eb);
/* First replies given at or after since: how many and their mean delay
 * from the case's opening, in seconds. */
pb_err pb_store_first_reply_stats(pb_store *st, int64_t since, int64_t *n, double *mean_s,
				  pb_errbuf *eb);

/* ---- releasing what the functions above fill ---- */

void pb_store_message_release(pb_store_message *m);
void pb_store_order_release(pb_store_order *o);
void pb_store_parcel_release(pb_store_parcel *p);
void pb_store_case_release(pb_store_case *c);
void pb_store_event_release(pb_store_event *e);
void pb_store_draft_release(pb_store_draft *d);
void pb_store_decision_release(pb_store_decision *d);
void pb_store_note_release(pb_store_note *n);
void pb_store_reminder_release(pb_store_reminder *r);
void pb_store_inbox_row_release(pb_store_inbox_row *r);
void pb_store_outbox_row_release(pb_store_outbox_row *r);
void pb_store_agent_release(pb_store_agent *a);
void pb_store_session_release(pb_store_session *s);

void pb_store_messages_release(pb_store_messages *l);
void pb_store_orders_release(pb_store_orders *l);
void pb_store_cases_release(pb_store_cases *l);
void pb_store_events_release(pb_store_events *l);
void pb_store_drafts_release(pb_store_drafts *l);
void pb_store_decisions_release(pb_store_decisions *l);
void pb_store_notes_release(pb_store_notes *l);
void pb_store_reminders_release(pb_store_reminders *l);
void pb_store_inbox_rows_release(pb_store_inbox_rows *l);
void pb_store_outbox_rows_release(pb_store_outbox_rows *l);
void pb_store_agents_release(pb_store_agents *l);
void pb_store_counts_release(pb_store_counts *l);

#endif
