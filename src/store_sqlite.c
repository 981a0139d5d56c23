/*
 * The SQLite store backend, and the only file with SQL in it. One database
 * file in WAL mode, so readers never block the writer and the file can be
 * backed up while parcelbot runs; synchronous=FULL, so a commit that
 * returned survives a power cut; foreign keys on; a busy timeout so that
 * several processes queue for the write lock instead of failing.
 *
 * The schema is versioned with PRAGMA user_version. Each migration runs in
 * its own transaction and re-reads the version inside it, so two processes
 * starting at once migrate once. Statements are prepared once per handle
 * and reused.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_impl.h"

/* ---- the schema, one migration per version ---- */

static const char *const v1[] = {
	/* 1: the core tables. */
	"CREATE TABLE buyers ("
	" id INTEGER PRIMARY KEY,"
	" channel TEXT NOT NULL,"
	" external_id TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" UNIQUE (channel, external_id));",
	"CREATE TABLE conversations ("
	" id INTEGER PRIMARY KEY,"
	" channel TEXT NOT NULL,"
	" external_id TEXT NOT NULL,"
	" buyer_id INTEGER REFERENCES buyers(id),"
	" created_at INTEGER NOT NULL,"
	" last_message_at INTEGER NOT NULL,"
	" UNIQUE (channel, external_id));",
	"CREATE TABLE orders ("
	" id INTEGER PRIMARY KEY,"
	" channel TEXT NOT NULL,"
	" external_id TEXT NOT NULL,"
	" data TEXT NOT NULL,"
	" updated_at INTEGER NOT NULL,"
	" UNIQUE (channel, external_id));",
	"CREATE TABLE parcels ("
	" id INTEGER PRIMARY KEY,"
	" carrier TEXT NOT NULL,"
	" number TEXT NOT NULL,"
	" order_id INTEGER REFERENCES orders(id),"
	" trace TEXT,"
	" assessment TEXT,"
	" updated_at INTEGER NOT NULL,"
	" UNIQUE (carrier, number));",
	"CREATE TABLE cases ("
	" id INTEGER PRIMARY KEY,"
	" scope TEXT NOT NULL,"
	" kind TEXT NOT NULL,"
	" origin TEXT NOT NULL CHECK (origin IN ('buyer', 'watch')),"
	" conversation_id INTEGER REFERENCES conversations(id),"
	" order_id INTEGER REFERENCES orders(id),"
	" parcel_id INTEGER REFERENCES parcels(id),"
	" state TEXT NOT NULL CHECK (state IN ('new', 'drafted', 'awaiting_agent', 'sent',"
	"  'following_up', 'resolved', 'closed', 'escalated', 'reopened')),"
	" severity INTEGER NOT NULL CHECK (severity BETWEEN 0 AND 3),"
	" problem INTEGER NOT NULL,"
	" contacts INTEGER NOT NULL,"
	" lang TEXT NOT NULL,"
	" owner TEXT,"
	" outcome TEXT,"
	" opened_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL,"
	" first_reply_at INTEGER,"
	" resolved_at INTEGER,"
	" closed_at INTEGER);",
	/* The closed loop's first rule, kept by the database itself: one case
	 * per order (or conversation) and problem that is not closed. */
	"CREATE UNIQUE INDEX cases_open ON cases (scope, kind) WHERE state <> 'closed';",
	"CREATE INDEX cases_state ON cases (state);",
	"CREATE TABLE messages ("
	" id INTEGER PRIMARY KEY,"
	" channel TEXT NOT NULL,"
	" external_id TEXT NOT NULL,"
	" conversation_id INTEGER NOT NULL REFERENCES conversations(id),"
	" case_id INTEGER REFERENCES cases(id),"
	" direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),"
	" author TEXT,"
	" text TEXT NOT NULL,"
	" verdict TEXT,"
	" at INTEGER NOT NULL,"
	" UNIQUE (channel, external_id));",
	"CREATE INDEX messages_case ON messages (case_id, at);",
	"CREATE TABLE case_events ("
	" id INTEGER PRIMARY KEY,"
	" case_id INTEGER NOT NULL REFERENCES cases(id),"
	" at INTEGER NOT NULL,"
	" actor TEXT NOT NULL,"
	" what TEXT NOT NULL,"
	" from_state TEXT,"
	" to_state TEXT NOT NULL,"
	" note TEXT);",
	"CREATE INDEX case_events_case ON case_events (case_id, id);",
	"CREATE TABLE drafts ("
	" id INTEGER PRIMARY KEY,"
	" case_id INTEGER NOT NULL REFERENCES cases(id),"
	" version INTEGER NOT NULL,"
	" message_id INTEGER UNIQUE REFERENCES messages(id),"
	" created_at INTEGER NOT NULL,"
	" text TEXT NOT NULL,"
	" template TEXT,"
	" brief TEXT,"
	" severity INTEGER NOT NULL,"
	" action TEXT NOT NULL CHECK (action IN ('draft', 'escalate')),"
	" lang TEXT NOT NULL,"
	" compensation TEXT,"
	" follow_up_due INTEGER,"
	" checklist TEXT,"
	" reasons TEXT,"
	" lint TEXT,"
	" assessment TEXT,"
	" state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'escalated',"
	"  'superseded')),"
	" UNIQUE (case_id, version));",
	"CREATE TABLE decisions ("
	" id INTEGER PRIMARY KEY,"
	" draft_id INTEGER REFERENCES drafts(id),"
	" case_id INTEGER NOT NULL REFERENCES cases(id),"
	" kind TEXT NOT NULL CHECK (kind IN ('approve', 'approve_edited', 'reject', 'escalate')),"
	" agent TEXT NOT NULL,"
	" at INTEGER NOT NULL,"
	" text TEXT,"
	" lint TEXT,"
	" reason TEXT);",
	"CREATE INDEX decisions_case ON decisions (case_id, id);",
	"CREATE TABLE notes ("
	" id INTEGER PRIMARY KEY,"
	" case_id INTEGER NOT NULL REFERENCES cases(id),"
	" agent TEXT NOT NULL,"
	" at INTEGER NOT NULL,"
	" text TEXT NOT NULL);",
	"CREATE INDEX notes_case ON notes (case_id, id);",
	"CREATE TABLE reminders ("
	" id INTEGER PRIMARY KEY,"
	" case_id INTEGER NOT NULL REFERENCES cases(id),"
	" kind TEXT NOT NULL CHECK (kind IN ('first_reply', 'first_plan', 'progress', 'promise',"
	"  'follow_up', 'check_back')),"
	" due INTEGER NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" done_at INTEGER,"
	" escalated_at INTEGER,"
	" source TEXT);",
	/* A deadline is tracked once while pending; the same time promised
	 * again after it was met is a new deadline. */
	"CREATE UNIQUE INDEX reminders_once ON reminders (case_id, kind, due)"
	" WHERE done_at IS NULL;",
	"CREATE INDEX reminders_pending ON reminders (due) WHERE done_at IS NULL;",
	"CREATE INDEX reminders_case ON reminders (case_id, due);",
	"CREATE TABLE inbox ("
	" id INTEGER PRIMARY KEY,"
	" channel TEXT NOT NULL,"
	" external_id TEXT NOT NULL,"
	" payload TEXT NOT NULL,"
	" received_at INTEGER NOT NULL,"
	" claimed_at INTEGER,"
	" claimed_by TEXT,"
	" processed_at INTEGER,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" error TEXT,"
	" UNIQUE (channel, external_id));",
	"CREATE INDEX inbox_pending ON inbox (id) WHERE processed_at IS NULL;",
	"CREATE TABLE outbox ("
	" id INTEGER PRIMARY KEY,"
	" key TEXT NOT NULL UNIQUE,"
	" kind TEXT NOT NULL CHECK (kind IN ('post_draft', 'send_reply', 'hand_off',"
	"  'notify_supervisor')),"
	" channel TEXT NOT NULL,"
	" case_id INTEGER REFERENCES cases(id),"
	" payload TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" next_attempt_at INTEGER NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" sent_at INTEGER,"
	" last_error TEXT);",
	"CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE sent_at IS NULL;",
	"CREATE INDEX outbox_case ON outbox (case_id, id);",
	"CREATE TABLE tracking_cache ("
	" carrier TEXT NOT NULL,"
	" number TEXT NOT NULL,"
	" trace TEXT NOT NULL,"
	" fetched_at INTEGER NOT NULL,"
	" PRIMARY KEY (carrier, number)) WITHOUT ROWID;",
	NULL,
};

static const char *const v2[] = {
	/* 2: agents, for the console's logins and the report's per-agent
	 * figures, filled from the names earlier versions recorded; and the
	 * indexes the monthly report reads by. */
	"CREATE TABLE agents ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"
	" role TEXT NOT NULL DEFAULT 'agent' CHECK (role IN ('agent', 'supervisor')),"
	" created_at INTEGER NOT NULL,"
	" last_seen_at INTEGER NOT NULL);",
	"INSERT INTO agents (name, created_at, last_seen_at)"
	" SELECT agent, min(at), max(at) FROM"
	"  (SELECT agent, at FROM decisions UNION ALL SELECT agent, at FROM notes)"
	" GROUP BY agent;",
	"CREATE INDEX cases_kind_opened ON cases (kind, opened_at);",
	"CREATE INDEX drafts_template ON drafts (template, state);",
	"CREATE INDEX decisions_agent ON decisions (agent, at);",
	NULL,
};

static const char *const v3[] = {
	/* 3: the console's sign-in: a password hash per agent, and sessions
	 * kept by the SHA-256 of their token, never the token itself. */
	"ALTER TABLE agents ADD COLUMN password_hash TEXT;",
	"CREATE TABLE sessions ("
	" token_hash TEXT PRIMARY KEY,"
	" agent TEXT NOT NULL,"
	" csrf TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" expires_at INTEGER NOT NULL);",
	"CREATE INDEX sessions_agent ON sessions (agent);",
	"CREATE INDEX sessions_expires ON sessions (expires_at);",
	NULL,
};

static const char *const v4[] = {
	/* 4: orders found by the number a buyer quotes, whatever the channel
	 * and letter case, without reading the whole table per message. */
	"CREATE INDEX orders_external_nocase ON orders (external_id COLLATE NOCASE);",
	NULL,
};

/* Migration n brings a database from version n - 1 to n. */
static const char *const *const migrations[PB_STORE_SCHEMA_VERSION + 1] = {NULL, v1, v2, v3, v4};

/* ---- statements ---- */

#define CASE_COLS                                                                          \
	"c.id, c.scope, c.kind, c.origin, c.conversation_id, c.order_id, c.parcel_id,"     \
	" c.state, c.severity, c.problem, c.contacts, c.lang, c.owner, c.outcome,"         \
	" c.opened_at, c.updated_at, c.first_reply_at, c.resolved_at, c.closed_at,"        \
	" v.channel, v.external_id, b.external_id, o.external_id, p.carrier, p.number"     \
	" FROM cases c LEFT JOIN conversations v ON v.id = c.conversation_id"              \
	" LEFT JOIN buyers b ON b.id = v.buyer_id LEFT JOIN orders o ON o.id = c.order_id" \
	" LEFT JOIN parcels p ON p.id = c.parcel_id"
#define DRAFT_COLS                                                                         \
	"id, case_id, message_id, version, created_at, text, template, brief, severity,"   \
	" action, lang, compensation, follow_up_due, checklist, reasons, lint, assessment," \
	" state"                                                                           \
	" FROM drafts"
#define REMINDER_COLS                                                                      \
	"r.id, r.case_id, r.kind, r.due, r.created_at, r.done_at, r.escalated_at, r.source," \
	" c.state, c.severity FROM reminders r JOIN cases c ON c.id = r.case_id"
#define INBOX_COLS                                                                         \
	"id, channel, external_id, payload, received_at, claimed_at, claimed_by,"          \
	" processed_at, attempts, error"
#define OUTBOX_COLS                                                                        \
	"id, key, kind, channel, case_id, payload, created_at, next_attempt_at, attempts," \
	" sent_at, last_error FROM outbox"
#define AGENT_COLS                                                                         \
	"id, name, role, created_at, last_seen_at, password_hash FROM agents"
#define MESSAGE_COLS                                                                       \
	"id, channel, external_id, conversation_id, case_id, direction, author, text,"     \
	" verdict, at FROM messages"

enum {
	S_BUYER_UPSERT,
	S_BUYER_FIND,
	S_CONV_FIND,
	S_CONV_INSERT,
	S_CONV_TOUCH,
	S_MSG_ADD,
	S_MSG_FIND,
	S_MSG_LIST,
	S_MSG_GET,
	S_ORDER_PUT,
	S_ORDER_FIND,
	S_ORDER_UPDATE,
	S_ORDER_GET,
	S_ORDER_FIND_IN,
	S_ORDER_FIND_ANY,
	S_PARCEL_PUT,
	S_PARCEL_FIND,
	S_PARCEL_UPDATE,
	S_PARCEL_GET,
	S_TRACK_PUT,
	S_TRACK_GET,
	S_CASE_INSERT,
	S_CASE_UPDATE,
	S_CASE_GET,
	S_CASE_OPEN,
	S_CASE_OPEN_ANY,
	S_CASE_FOR_CONV,
	S_CASE_LIST,
	S_CASE_OPENED,
	S_ORDER_LIST,
	S_EVENT_ADD,
	S_EVENT_LIST,
	S_DRAFT_NEXT,
	S_DRAFT_ADD,
	S_DRAFT_BY_MSG,
	S_DRAFT_GET,
	S_DRAFT_LATEST,
	S_DRAFT_STATE,
	S_DRAFT_SUPERSEDE,
	S_DRAFT_LIST,
	S_DECISION_ADD,
	S_DECISION_LIST,
	S_NOTE_ADD,
	S_NOTE_LIST,
	S_REM_ADD,
	S_REM_FIND,
	S_REM_DONE_ALL,
	S_REM_DONE_KIND,
	S_REM_ESCALATE,
	S_REM_EXISTS,
	S_REM_LIST,
	S_REM_DUE,
	S_INBOX_PUT,
	S_INBOX_FIND,
	S_INBOX_CLAIM,
	S_INBOX_DONE,
	S_INBOX_FAIL,
	S_INBOX_RELEASE,
	S_INBOX_GET,
	S_INBOX_COUNTS,
	S_OUTBOX_PUT,
	S_OUTBOX_FIND,
	S_OUTBOX_GET,
	S_OUTBOX_DUE,
	S_OUTBOX_SENT,
	S_OUTBOX_RETRY,
	S_OUTBOX_EXISTS,
	S_OUTBOX_LIST,
	S_OUTBOX_WAKE,
	S_AGENT_TOUCH,
	S_AGENT_GET,
	S_AGENT_ADD,
	S_AGENT_PASSWD,
	S_AGENT_REMOVE,
	S_AGENT_LIST,
	S_SESSION_ADD,
	S_SESSION_GET,
	S_SESSION_DELETE,
	S_SESSION_PURGE,
	S_SESSION_DROP_AGENT,
	S_COUNT_STATE,
	S_COUNT_SEVERITY,
	S_COUNT_KIND,
	S_COUNT_CARRIER,
	S_COUNT_DECISIONS,
	S_FIRST_REPLY,
	S_COUNT_
};

static const char *const sql[S_COUNT_] = {
	[S_BUYER_UPSERT] =
		"INSERT INTO buyers (channel, external_id, created_at) VALUES (?1, ?2, ?3)"
		" ON CONFLICT (channel, external_id) DO NOTHING",
	[S_BUYER_FIND] = "SELECT id FROM buyers WHERE channel = ?1 AND external_id = ?2",
	[S_CONV_FIND] = "SELECT id FROM conversations WHERE channel = ?1 AND external_id = ?2",
	[S_CONV_INSERT] = "INSERT INTO conversations (channel, external_id, buyer_id, created_at,"
			  " last_message_at) VALUES (?1, ?2, ?3, ?4, ?4)",
	[S_CONV_TOUCH] = "UPDATE conversations SET last_message_at = max(last_message_at, ?2),"
			 " buyer_id = coalesce(?3, buyer_id) WHERE id = ?1"
			 " AND (last_message_at < ?2 OR (?3 IS NOT NULL AND buyer_id IS NOT ?3))",
	[S_MSG_ADD] =
		"INSERT INTO messages (channel, external_id, conversation_id, case_id, direction,"
		" author, text, verdict, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
		" ON CONFLICT (channel, external_id) DO NOTHING",
	[S_MSG_FIND] = "SELECT id FROM messages WHERE channel = ?1 AND external_id = ?2",
	[S_MSG_LIST] = "SELECT " MESSAGE_COLS " WHERE case_id = ?1 ORDER BY at, id",
	[S_MSG_GET] = "SELECT " MESSAGE_COLS " WHERE channel = ?1 AND external_id = ?2",
	[S_ORDER_PUT] =
		"INSERT INTO orders (channel, external_id, data, updated_at) VALUES (?1, ?2, ?3, ?4)"
		" ON CONFLICT (channel, external_id) DO NOTHING",
	[S_ORDER_FIND] = "SELECT id FROM orders WHERE channel = ?1 AND external_id = ?2",
	[S_ORDER_UPDATE] =
		/* Last seen wins; an older message processed late must not
		 * put back an older copy, and the same copy again writes
		 * nothing (most messages repeat their order). */
		"UPDATE orders SET data = ?2, updated_at = ?3 WHERE id = ?1 AND updated_at <= ?3"
		" AND data IS NOT ?2",
	[S_ORDER_GET] = "SELECT data FROM orders WHERE id = ?1",
	/* By the shop's order id alone: no index serves it (the unique one
	 * leads with the channel), which is fine at a shop's order counts. */
	[S_ORDER_FIND_IN] =
		"SELECT id, data FROM orders WHERE channel = ?1 AND external_id = ?2 COLLATE NOCASE"
		" ORDER BY external_id = ?2 DESC, id LIMIT 1",
	[S_ORDER_FIND_ANY] =
		"SELECT id, data FROM orders WHERE external_id = ?1 COLLATE NOCASE"
		" ORDER BY external_id = ?1 DESC, json_extract(data, '$.parcel.number') IS NULL,"
		" updated_at DESC, id DESC LIMIT 1",
	[S_PARCEL_PUT] =
		"INSERT INTO parcels (carrier, number, order_id, trace, assessment, updated_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (carrier, number) DO NOTHING",
	[S_PARCEL_FIND] = "SELECT id FROM parcels WHERE carrier = ?1 AND number = ?2",
	[S_PARCEL_UPDATE] =
		"UPDATE parcels SET order_id = coalesce(?2, order_id),"
		" trace = CASE WHEN ?5 >= updated_at THEN coalesce(?3, trace) ELSE trace END,"
		" assessment = CASE WHEN ?5 >= updated_at THEN coalesce(?4, assessment)"
		"  ELSE assessment END, updated_at = max(updated_at, ?5) WHERE id = ?1",
	[S_PARCEL_GET] = "SELECT id, carrier, number, order_id, trace, assessment, updated_at"
			 " FROM parcels WHERE id = ?1",
	[S_TRACK_PUT] =
		"INSERT INTO tracking_cache (carrier, number, trace, fetched_at) VALUES (?1, ?2, ?3, ?4)"
		" ON CONFLICT (carrier, number) DO UPDATE SET trace = excluded.trace,"
		" fetched_at = excluded.fetched_at WHERE excluded.fetched_at >= fetched_at",
	[S_TRACK_GET] = "SELECT trace, fetched_at FROM tracking_cache WHERE carrier = ?1 AND number = ?2",
	[S_CASE_INSERT] =
		"INSERT INTO cases (scope, kind, origin, conversation_id, order_id, parcel_id, state,"
		" severity, problem, contacts, lang, owner, outcome, opened_at, updated_at,"
		" first_reply_at, resolved_at, closed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
		" ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18) ON CONFLICT DO NOTHING",
	[S_CASE_UPDATE] =
		"UPDATE cases SET state = ?2, severity = ?3, problem = ?4, contacts = ?5, lang = ?6,"
		" owner = ?7, outcome = ?8, order_id = ?9, parcel_id = ?10, updated_at = ?11,"
		" first_reply_at = ?12, resolved_at = ?13, closed_at = ?14,"
		" conversation_id = coalesce(?15, conversation_id) WHERE id = ?1",
	[S_CASE_GET] = "SELECT " CASE_COLS " WHERE c.id = ?1",
	[S_CASE_OPEN] = "SELECT " CASE_COLS " WHERE c.scope = ?1 AND c.kind = ?2 AND c.state <> 'closed'",
	[S_CASE_OPEN_ANY] = "SELECT " CASE_COLS " WHERE c.scope = ?1 AND c.state <> 'closed'"
			    " ORDER BY c.updated_at DESC, c.id DESC LIMIT 1",
	[S_CASE_FOR_CONV] = "SELECT " CASE_COLS " WHERE v.channel = ?1 AND v.external_id = ?2"
			    " AND c.state <> 'closed' ORDER BY EXISTS (SELECT 1 FROM drafts d"
			    " WHERE d.case_id = c.id AND d.state IN ('pending', 'escalated')) DESC,"
			    " c.updated_at DESC, c.id DESC LIMIT 1",
	[S_CASE_LIST] = "SELECT " CASE_COLS
			" WHERE (?1 IS NULL OR (?1 = 'open' AND c.state <> 'closed') OR c.state = ?1)"
			" AND c.severity >= ?2 ORDER BY c.severity DESC, c.updated_at, c.id LIMIT ?3",
	[S_CASE_OPENED] = "SELECT " CASE_COLS " WHERE c.opened_at >= ?1 AND c.opened_at < ?2"
			  " ORDER BY c.opened_at, c.id",
	[S_ORDER_LIST] = "SELECT id, channel, external_id, data, updated_at FROM orders ORDER BY id",
	[S_EVENT_ADD] = "INSERT INTO case_events (case_id, at, actor, what, from_state, to_state, note)"
			" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[S_EVENT_LIST] = "SELECT id, case_id, at, actor, what, from_state, to_state, note"
			 " FROM case_events WHERE case_id = ?1 ORDER BY id",
	[S_DRAFT_NEXT] = "SELECT coalesce(max(version), 0) + 1 FROM drafts WHERE case_id = ?1",
	[S_DRAFT_ADD] =
		"INSERT INTO drafts (case_id, version, message_id, created_at, text, template, brief,"
		" severity, action, lang, compensation, follow_up_due, checklist, reasons, lint,"
		" assessment, state) VALUES (?1, ?17, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
		" ?13, ?14, ?15, ?16) ON CONFLICT (message_id) DO NOTHING",
	[S_DRAFT_BY_MSG] = "SELECT id, version FROM drafts WHERE message_id = ?1",
	[S_DRAFT_GET] = "SELECT " DRAFT_COLS " WHERE id = ?1",
	[S_DRAFT_LATEST] = "SELECT " DRAFT_COLS " WHERE case_id = ?1 ORDER BY version DESC LIMIT 1",
	[S_DRAFT_STATE] = "UPDATE drafts SET state = ?2 WHERE id = ?1",
	[S_DRAFT_SUPERSEDE] = "UPDATE drafts SET state = 'superseded' WHERE case_id = ?1 AND id <> ?2"
			      " AND state IN ('pending', 'escalated')",
	[S_DRAFT_LIST] = "SELECT " DRAFT_COLS " WHERE (?1 = 0 OR case_id = ?1)"
			 " AND (?2 IS NULL OR state = ?2) ORDER BY id",
	[S_DECISION_ADD] = "INSERT INTO decisions (draft_id, case_id, kind, agent, at, text, lint, reason)"
			   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[S_DECISION_LIST] = "SELECT id, draft_id, case_id, kind, agent, at, text, lint, reason"
			    " FROM decisions WHERE case_id = ?1 ORDER BY id",
	[S_NOTE_ADD] = "INSERT INTO notes (case_id, agent, at, text) VALUES (?1, ?2, ?3, ?4)",
	[S_NOTE_LIST] = "SELECT id, case_id, agent, at, text FROM notes WHERE case_id = ?1 ORDER BY id",
	[S_REM_ADD] = "INSERT INTO reminders (case_id, kind, due, created_at, source)"
		      " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (case_id, kind, due)"
		      " WHERE done_at IS NULL DO NOTHING",
	[S_REM_FIND] = "SELECT id FROM reminders WHERE case_id = ?1 AND kind = ?2 AND due = ?3"
		       " AND done_at IS NULL",
	[S_REM_DONE_ALL] = "UPDATE reminders SET done_at = ?2 WHERE case_id = ?1 AND done_at IS NULL"
			   " AND kind <> 'check_back'",
	[S_REM_DONE_KIND] = "UPDATE reminders SET done_at = ?2 WHERE case_id = ?1 AND done_at IS NULL"
			    " AND kind = ?3",
	[S_REM_ESCALATE] = "UPDATE reminders SET escalated_at = ?2 WHERE id = ?1"
			   " AND escalated_at IS NULL AND done_at IS NULL",
	[S_REM_EXISTS] = "SELECT 1 FROM reminders WHERE id = ?1",
	[S_REM_LIST] = "SELECT " REMINDER_COLS " WHERE r.case_id = ?1 ORDER BY r.due, r.id",
	[S_REM_DUE] = "SELECT " REMINDER_COLS " WHERE r.done_at IS NULL AND r.due <= ?1"
		      " ORDER BY r.due, r.id",
	[S_INBOX_PUT] = "INSERT INTO inbox (channel, external_id, payload, received_at)"
			" VALUES (?1, ?2, ?3, ?4) ON CONFLICT (channel, external_id) DO NOTHING",
	[S_INBOX_FIND] = "SELECT id FROM inbox WHERE channel = ?1 AND external_id = ?2",
	[S_INBOX_CLAIM] =
		/* One statement, so the choice and the claim are atomic; it
		 * runs under the write lock, which other handles queue for. */
		"UPDATE inbox SET claimed_at = ?2, claimed_by = ?1 WHERE id IN"
		" (SELECT id FROM inbox WHERE processed_at IS NULL AND (claimed_by IS NULL"
		"  OR claimed_by = ?1 OR claimed_at <= ?3) ORDER BY id LIMIT ?4)"
		" RETURNING " INBOX_COLS,
	[S_INBOX_DONE] = "UPDATE inbox SET processed_at = ?2, error = NULL"
			 " WHERE id = ?1 AND processed_at IS NULL",
	[S_INBOX_FAIL] = "UPDATE inbox SET attempts = attempts + 1, error = ?3, claimed_at = NULL,"
			 " claimed_by = NULL, processed_at = CASE WHEN ?4 THEN ?2 END"
			 " WHERE id = ?1 AND processed_at IS NULL",
	[S_INBOX_RELEASE] = "UPDATE inbox SET claimed_at = NULL, claimed_by = NULL"
			    " WHERE claimed_by = ?1 AND processed_at IS NULL",
	[S_INBOX_GET] = "SELECT " INBOX_COLS " FROM inbox WHERE id = ?1",
	[S_INBOX_COUNTS] = "SELECT coalesce(sum(processed_at IS NULL), 0),"
			   " coalesce(sum(processed_at IS NOT NULL AND error IS NOT NULL), 0) FROM inbox",
	[S_OUTBOX_PUT] = "INSERT INTO outbox (key, kind, channel, case_id, payload, created_at,"
			 " next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)"
			 " ON CONFLICT (key) DO NOTHING",
	[S_OUTBOX_FIND] = "SELECT id FROM outbox WHERE key = ?1",
	[S_OUTBOX_GET] = "SELECT " OUTBOX_COLS " WHERE id = ?1",
	[S_OUTBOX_DUE] = "SELECT " OUTBOX_COLS " WHERE sent_at IS NULL AND next_attempt_at <= ?1"
			 " ORDER BY next_attempt_at, id LIMIT ?2",
	[S_OUTBOX_SENT] = "UPDATE outbox SET sent_at = ?2 WHERE id = ?1 AND sent_at IS NULL",
	[S_OUTBOX_RETRY] = "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2,"
			   " last_error = coalesce(?3, last_error) WHERE id = ?1 AND sent_at IS NULL",
	[S_OUTBOX_EXISTS] = "SELECT 1 FROM outbox WHERE id = ?1",
	[S_OUTBOX_WAKE] = "UPDATE outbox SET next_attempt_at = ?1 WHERE sent_at IS NULL"
			  " AND next_attempt_at > ?1 AND next_attempt_at <= ?1 + ?2",
	[S_OUTBOX_LIST] = "SELECT " OUTBOX_COLS " WHERE (?1 = 0 OR case_id = ?1) ORDER BY id",
	[S_AGENT_TOUCH] = "INSERT INTO agents (name, role, created_at, last_seen_at)"
			  " VALUES (?1, coalesce(?2, 'agent'), ?3, ?3) ON CONFLICT (name) DO UPDATE"
			  " SET last_seen_at = max(last_seen_at, excluded.last_seen_at),"
			  " role = coalesce(?2, role)",
	[S_AGENT_GET] = "SELECT " AGENT_COLS " WHERE name = ?1",
	[S_AGENT_ADD] = "INSERT INTO agents (name, role, created_at, last_seen_at, password_hash)"
			" VALUES (?1, ?2, ?4, ?4, ?3) ON CONFLICT (name) DO UPDATE"
			" SET role = excluded.role, password_hash = excluded.password_hash"
			" WHERE password_hash IS NULL",
	[S_AGENT_PASSWD] = "UPDATE agents SET password_hash = ?2 WHERE name = ?1",
	[S_AGENT_REMOVE] = "DELETE FROM agents WHERE name = ?1",
	[S_AGENT_LIST] = "SELECT " AGENT_COLS " ORDER BY name",
	[S_SESSION_ADD] = "INSERT INTO sessions (token_hash, agent, csrf, created_at, expires_at)"
			  " SELECT ?1, name, ?3, ?4, ?5 FROM agents WHERE name = ?2",
	[S_SESSION_GET] = "SELECT s.token_hash, s.agent, s.csrf, s.created_at, s.expires_at, a.role"
			  " FROM sessions s JOIN agents a ON a.name = s.agent"
			  " WHERE s.token_hash = ?1 AND s.expires_at > ?2"
			  " AND a.password_hash IS NOT NULL",
	[S_SESSION_DELETE] = "DELETE FROM sessions WHERE token_hash = ?1",
	[S_SESSION_PURGE] = "DELETE FROM sessions WHERE expires_at <= ?1",
	[S_SESSION_DROP_AGENT] = "DELETE FROM sessions WHERE agent = ?1",
	[S_COUNT_STATE] = "SELECT state, count(*), 0 FROM cases WHERE state <> 'closed'"
			  " GROUP BY state ORDER BY 2 DESC, 1",
	[S_COUNT_SEVERITY] = "SELECT CAST(severity AS TEXT), count(*), 0 FROM cases"
			     " WHERE state <> 'closed' GROUP BY severity ORDER BY severity DESC",
	[S_COUNT_KIND] = "SELECT kind, count(*), 0 FROM cases WHERE state <> 'closed'"
			 " GROUP BY kind ORDER BY 2 DESC, 1",
	[S_COUNT_CARRIER] = "SELECT coalesce(p.carrier, ''), count(*),"
			    " sum(c.kind LIKE 'anomaly:%' OR c.origin = 'watch')"
			    " FROM cases c LEFT JOIN parcels p ON p.id = c.parcel_id"
			    " WHERE c.state <> 'closed' GROUP BY 1 ORDER BY 2 DESC, 1",
	[S_COUNT_DECISIONS] = "SELECT kind, count(*), 0 FROM decisions WHERE at >= ?1"
			      " GROUP BY kind ORDER BY 2 DESC, 1",
	[S_FIRST_REPLY] = "SELECT count(*), coalesce(avg(first_reply_at - opened_at), 0) FROM cases"
			  " WHERE first_reply_at IS NOT NULL AND first_reply_at >= ?1",
};

/* Savepoint statements are prepared once per depth: a batch opens and
 * closes several per message, and parsing them each time costs more than
 * running them. Deeper nesting falls back to sqlite3_exec. */
#define TX_DEPTHS 8
enum { TX_BEGIN, TX_COMMIT, TX_ROLLBACK, TX_RELEASE_AFTER_ROLLBACK, TX_N_ };

typedef struct sq_store {
	pb_store base;
	sqlite3 *db;
	char *path;
	sqlite3_stmt *stmt[S_COUNT_];
	sqlite3_stmt *tx[TX_DEPTHS + 1][TX_N_];
} sq_store;

static sq_store *SQ(pb_store *st)
{
	return (sq_store *)st;
}

/* ---- errors ---- */

/* Converts a SQLite result at the module edge, naming what failed. */
static pb_err fail(sq_store *q, int rc, const char *what, pb_errbuf *eb)
{
	const char *msg = q && q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc);

	switch (rc & 0xff) {
	case SQLITE_NOMEM:
		return pb_errf(eb, PB_ENOMEM, "store: %s: out of memory", what);
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return pb_errf(eb, PB_EDB,
			       "store: %s: the database is busy (another writer held it longer "
			       "than the busy timeout)", what);
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
			return pb_errf(eb, PB_EEXIST, "store: %s: %s", what, msg);
		if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
			return pb_errf(eb, PB_EINVAL, "store: %s: refers to a row that does not exist",
				       what);
		return pb_errf(eb, PB_EINVAL, "store: %s: %s", what, msg);
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
		return pb_errf(eb, PB_EIO, "store: %s: %s", what, msg);
	default:
		return pb_errf(eb, PB_EDB, "store: %s: %s", what, msg);
	}
}

/* ---- statement helpers ---- */

static sqlite3_stmt *prep(sq_store *q, int which, pb_errbuf *eb, pb_err *err)
{
	sqlite3_stmt *s = q->stmt[which];
	int rc;

	if (s)
		return s;
	rc = sqlite3_prepare_v3(q->db, sql[which], -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
	if (rc != SQLITE_OK) {
		*err = fail(q, rc, "preparing a statement", eb);
		return NULL;
	}
	q->stmt[which] = s;
	return s;
}

static void bind_str(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

/* 0 binds NULL: ids and times use 0 for "none". */
static void bind_opt(sqlite3_stmt *s, int i, int64_t v)
{
	if (v)
		sqlite3_bind_int64(s, i, v);
	else
		sqlite3_bind_null(s, i);
}

/* Reads columns into records, remembering whether any copy failed. */
typedef struct rd {
	sqlite3_stmt *s;
	bool oom;
} rd;

static char *rd_str(rd *r, int col)
{
	const unsigned char *t = sqlite3_column_text(r->s, col);
	char *c;

	if (!t)
		return NULL;
	c = strdup((const char *)t);
	if (!c)
		r->oom = true;
	return c;
}

static void rd_fix(rd *r, int col, char *buf, size_t n)
{
	const unsigned char *t = sqlite3_column_text(r->s, col);

	snprintf(buf, n, "%s", t ? (const char *)t : "");
}

static int64_t rd_i64(rd *r, int col)
{
	return sqlite3_column_int64(r->s, col);
}

/* Runs a statement that returns nothing (or whose rows are ignored) and
 * resets it; *changes (may be NULL) gets the rows it changed. */
static pb_err run(sq_store *q, sqlite3_stmt *s, const char *what, int *changes, pb_errbuf *eb)
{
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE) {
		pb_err err = fail(q, sqlite3_extended_errcode(q->db), what, eb);
		sqlite3_reset(s);
		return err;
	}
	if (changes)
		*changes = sqlite3_changes(q->db);
	sqlite3_reset(s);
	return PB_OK;
}

/* Runs a statement that returns at most one integer: *v gets it and
 * *found whether there was a row. */
static pb_err run_id(sq_store *q, sqlite3_stmt *s, const char *what, int64_t *v, bool *found,
		     pb_errbuf *eb)
{
	int rc = sqlite3_step(s);
	pb_err err = PB_OK;

	*found = false;
	if (rc == SQLITE_ROW) {
		*v = sqlite3_column_int64(s, 0);
		*found = true;
		while ((rc = sqlite3_step(s)) == SQLITE_ROW)
			;
	}
	if (rc != SQLITE_DONE)
		err = fail(q, sqlite3_extended_errcode(q->db), what, eb);
	sqlite3_reset(s);
	return err;
}

/* Runs an INSERT (... ON CONFLICT DO NOTHING): *inserted says whether it
 * added a row, and *id (when it did) the row's id. Plain inserts rather
 * than RETURNING: SQLite gathers RETURNING rows in a temporary table,
 * which costs more than the insert itself. */
static pb_err run_insert(sq_store *q, sqlite3_stmt *s, const char *what, int64_t *id,
			 bool *inserted, pb_errbuf *eb)
{
	int changed = 0;
	pb_err err = run(q, s, what, &changed, eb);

	*inserted = !err && changed > 0;
	if (*inserted)
		*id = sqlite3_last_insert_rowid(q->db);
	return err;
}

/* Steps through a statement's rows, calling one(rd, item) for each into a
 * list grown with pb_store_list_push. */
typedef void (*row_fn)(rd *r, void *item);

static pb_err run_list(sq_store *q, sqlite3_stmt *s, const char *what, void *vp, size_t *n,
		       size_t size, row_fn one, pb_errbuf *eb)
{
	rd r = {s, false};
	pb_err err = PB_OK;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		void *item = pb_store_list_push(vp, n, size);
		if (!item) {
			r.oom = true;
			break;
		}
		one(&r, item);
		if (r.oom)
			break;
	}
	if (r.oom)
		err = pb_errf(eb, PB_ENOMEM, "store: %s: out of memory", what);
	else if (rc != SQLITE_DONE)
		err = fail(q, sqlite3_extended_errcode(q->db), what, eb);
	sqlite3_reset(s);
	return err;
}

/* Like run_list for exactly one row: PB_ENOTFOUND when there is none. */
static pb_err run_one(sq_store *q, sqlite3_stmt *s, const char *what, void *item, row_fn one,
		      pb_errbuf *eb)
{
	rd r = {s, false};
	pb_err err = PB_OK;
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW) {
		one(&r, item);
		if (r.oom)
			err = pb_errf(eb, PB_ENOMEM, "store: %s: out of memory", what);
	} else if (rc == SQLITE_DONE) {
		err = pb_errf(eb, PB_ENOTFOUND, "store: %s: not found", what);
	} else {
		err = fail(q, sqlite3_extended_errcode(q->db), what, eb);
	}
	sqlite3_reset(s);
	return err;
}

#define PREP(var, which)                                                                   \
	do {                                                                               \
		pb_err e_ = PB_OK;                                                         \
		(var) = prep(q, (which), eb, &e_);                                         \
		if (!(var))                                                                \
			return e_;                                                         \
	} while (0)

/* ---- open, migrate, close ---- */

static pb_err exec(sq_store *q, const char *s, const char *what, pb_errbuf *eb)
{
	int rc = sqlite3_exec(q->db, s, NULL, NULL, NULL);

	return rc == SQLITE_OK ? PB_OK : fail(q, sqlite3_extended_errcode(q->db), what, eb);
}

static pb_err user_version(sq_store *q, int *v, pb_errbuf *eb)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(q->db, "PRAGMA user_version", -1, &s, NULL);

	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		*v = sqlite3_column_int(s, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_OK ? PB_OK : fail(q, rc, "reading the schema version", eb);
}

static pb_err migrate(sq_store *q, int target, pb_errbuf *eb)
{
	const char *const *step;
	int v, next;
	char set[48];
	pb_err err;

	if ((err = user_version(q, &v, eb)))
		return err;
	/* NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult): set on PB_OK */
	if (v > PB_STORE_SCHEMA_VERSION)
		return pb_errf(eb, PB_EDB,
			       "store: %s has schema version %d, newer than this parcelbot "
			       "understands (%d): run a newer parcelbot, or restore a backup",
			       q->path, v, PB_STORE_SCHEMA_VERSION);
	for (next = v + 1; next <= target; next++) {
		if ((err = exec(q, "BEGIN IMMEDIATE", "starting a migration", eb)))
			return err;
		/* Another process may have migrated while we waited. */
		if ((err = user_version(q, &v, eb)))
			goto fail;
		if (v >= next)
			goto commit;
		snprintf(set, sizeof set, "PRAGMA user_version = %d", next);
		for (step = migrations[next]; *step && !err; step++)
			err = exec(q, *step, "migrating the schema", eb);
		if (err || (err = exec(q, set, "migrating the schema", eb))) {
			pb_err_prefix(eb, "version %d: ", next);
			goto fail;
		}
commit:
		if ((err = exec(q, "COMMIT", "committing a migration", eb)))
			goto fail;
		continue;
fail:
		sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
		return err;
	}
	if ((err = user_version(q, &v, eb)))
		return err;
	q->base.version = v;
	return PB_OK;
}

static void sq_close(pb_store *st)
{
	sq_store *q = SQ(st);
	size_t i, k;

	for (i = 0; i < S_COUNT_; i++)
		sqlite3_finalize(q->stmt[i]);
	for (i = 0; i <= TX_DEPTHS; i++)
		for (k = 0; k < TX_N_; k++)
			sqlite3_finalize(q->tx[i][k]);
	/* The last connection to close checkpoints and removes the WAL. */
	sqlite3_close(q->db);
	free(q->path);
	free(q);
}

static pb_err sq_open(const char *path, const pb_store_opts *o, pb_store **out, pb_errbuf *eb)
{
	sq_store *q = calloc(1, sizeof *q);
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, rc;
	sqlite3_stmt *s = NULL;
	pb_err err;

	if (!q || !(q->path = strdup(path))) {
		free(q);
		return pb_errf(eb, PB_ENOMEM, "store: out of memory");
	}
	if (access(path, F_OK) != 0) {
		int fd;
		if (!o->create) {
			err = pb_errf(eb, PB_ENOTFOUND, "store: no database at %s", path);
			goto out;
		}
		/* Buyers' messages and phone digits are personal data: the
		 * file (and the WAL SQLite creates beside it with the same
		 * mode) is readable by its owner only. */
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST) {
			err = pb_errf(eb, PB_EIO, "store: cannot create %s: %s", path, strerror(errno));
			goto out;
		}
		if (fd >= 0)
			close(fd);
	}
	rc = sqlite3_open_v2(path, &q->db, flags, NULL);
	if (rc != SQLITE_OK) {
		err = pb_errf(eb, PB_EIO, "store: cannot open %s: %s", path,
			      q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc));
		goto out;
	}
	sqlite3_extended_result_codes(q->db, 1);
	sqlite3_busy_timeout(q->db, o->busy_timeout_ms);
	/* journal_mode answers with the mode in force: a file on a file
	 * system without shared memory stays in another mode, which loses
	 * concurrency and must not pass silently. */
	rc = sqlite3_prepare_v2(q->db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *mode = (const char *)sqlite3_column_text(s, 0);
		if (!mode || strcmp(mode, "wal")) {
			err = pb_errf(eb, PB_EDB, "store: %s cannot use WAL mode (got '%s')", path,
				      mode ? mode : "?");
			sqlite3_finalize(s);
			goto out;
		}
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_OK) {
		err = fail(q, rc, "setting WAL mode", eb);
		if (rc == SQLITE_NOTADB)
			err = pb_errf(eb, PB_EDB, "store: %s is not a parcelbot database", path);
		goto out;
	}
	if ((err = exec(q, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
			/* Savepoint journals in memory, not in temporary
			 * files: a batch takes one savepoint per message. */
			" PRAGMA temp_store = MEMORY;"
			/* 16 MB of page cache, and a checkpoint every 16 MB
			 * of WAL rather than 4: a batch touches many pages. */
			" PRAGMA cache_size = -16384; PRAGMA wal_autocheckpoint = 4000;",
			"setting up the connection", eb)))
		goto out;
	if ((err = migrate(q, o->max_version ? o->max_version : PB_STORE_SCHEMA_VERSION, eb)))
		goto out;
	*out = &q->base;
	return PB_OK;
out:
	if (q->db)
		sqlite3_close(q->db);
	free(q->path);
	free(q);
	return err;
}

/* ---- transactions ---- */

/* The statement for one transaction step at one depth: depth 1 is the
 * transaction itself, deeper ones are savepoints. */
static void tx_sql(int depth, int what, char *buf, size_t n)
{
	/* IMMEDIATE takes the write lock now, under the busy timeout; a
	 * deferred transaction would fail when it first writes. */
	static const char *const top[TX_N_] = {"BEGIN IMMEDIATE", "COMMIT", "ROLLBACK", NULL};
	static const char *const sp[TX_N_] = {"SAVEPOINT", "RELEASE", "ROLLBACK TO", "RELEASE"};

	if (depth == 1)
		snprintf(buf, n, "%s", top[what] ? top[what] : "");
	else
		snprintf(buf, n, "%s sp%d", sp[what], depth);
}

static pb_err tx_step(sq_store *q, int depth, int what, const char *why, pb_errbuf *eb)
{
	sqlite3_stmt *s = NULL;
	char sql_text[48];
	int rc;

	tx_sql(depth, what, sql_text, sizeof sql_text);
	if (!*sql_text)
		return PB_OK;
	if (depth > TX_DEPTHS)
		return exec(q, sql_text, why, eb);
	s = q->tx[depth][what];
	if (!s) {
		rc = sqlite3_prepare_v3(q->db, sql_text, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
		if (rc != SQLITE_OK)
			return fail(q, rc, why, eb);
		q->tx[depth][what] = s;
	}
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? PB_OK : fail(q, sqlite3_extended_errcode(q->db), why, eb);
}

static pb_err sq_begin(pb_store *st, int depth, pb_errbuf *eb)
{
	return tx_step(SQ(st), depth, TX_BEGIN, depth == 1 ? "starting a transaction"
							    : "starting a savepoint", eb);
}

static pb_err sq_commit(pb_store *st, int depth, pb_errbuf *eb)
{
	return tx_step(SQ(st), depth, TX_COMMIT, depth == 1 ? "committing" : "releasing a savepoint",
		       eb);
}

static void sq_rollback(pb_store *st, int depth)
{
	/* A savepoint rolled back to stays open until released. */
	tx_step(SQ(st), depth, TX_ROLLBACK, "rolling back", NULL);
	tx_step(SQ(st), depth, TX_RELEASE_AFTER_ROLLBACK, "rolling back", NULL);
}

/* Several statements that must act as one run in a transaction of their
 * own. Inside a caller's transaction they need no savepoint: a failure
 * there is the caller's to roll back, as store.h says. */
static pb_err tx_begin(pb_store *st, bool *opened, pb_errbuf *eb)
{
	*opened = pb_store_depth(st) == 0;
	return *opened ? pb_store_begin(st, eb) : PB_OK;
}

static pb_err tx_end(pb_store *st, bool opened, pb_err err, pb_errbuf *eb)
{
	if (!opened)
		return err;
	if (!err && !(err = pb_store_commit(st, eb)))
		return PB_OK;
	pb_store_rollback(st);
	return err;
}

/* ---- conversations and messages ---- */

static pb_err sq_conversation_upsert(pb_store *st, const char *channel, const char *conversation,
				     const char *buyer, int64_t at, pb_id *id, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	int64_t buyer_id = 0, cid = 0;
	bool found, opened;
	pb_err err;

	if ((err = tx_begin(st, &opened, eb)))
		return err;
	if (buyer) {
		if (!(s = prep(q, S_BUYER_UPSERT, eb, &err)))
			return tx_end(st, opened, err, eb);
		bind_str(s, 1, channel);
		bind_str(s, 2, buyer);
		sqlite3_bind_int64(s, 3, at);
		if ((err = run_insert(q, s, "saving a buyer", &buyer_id, &found, eb)))
			return tx_end(st, opened, err, eb);
		if (!found) {
			if (!(s = prep(q, S_BUYER_FIND, eb, &err)))
				return tx_end(st, opened, err, eb);
			bind_str(s, 1, channel);
			bind_str(s, 2, buyer);
			if ((err = run_id(q, s, "finding a buyer", &buyer_id, &found, eb)))
				return tx_end(st, opened, err, eb);
		}
	}
	if (!(s = prep(q, S_CONV_FIND, eb, &err)))
		return tx_end(st, opened, err, eb);
	bind_str(s, 1, channel);
	bind_str(s, 2, conversation);
	if ((err = run_id(q, s, "finding a conversation", &cid, &found, eb)))
		return tx_end(st, opened, err, eb);
	if (found) {
		/* Writes only when something changed. */
		if (!(s = prep(q, S_CONV_TOUCH, eb, &err)))
			return tx_end(st, opened, err, eb);
		sqlite3_bind_int64(s, 1, cid);
		sqlite3_bind_int64(s, 2, at);
		bind_opt(s, 3, buyer_id);
		err = run(q, s, "saving a conversation", NULL, eb);
	} else {
		if (!(s = prep(q, S_CONV_INSERT, eb, &err)))
			return tx_end(st, opened, err, eb);
		bind_str(s, 1, channel);
		bind_str(s, 2, conversation);
		bind_opt(s, 3, buyer_id);
		sqlite3_bind_int64(s, 4, at);
		err = run_insert(q, s, "saving a conversation", &cid, &found, eb);
	}
	if (!err && id)
		*id = cid;
	return tx_end(st, opened, err, eb);
}

static pb_err sq_message_add(pb_store *st, const pb_store_message *m, pb_id *id, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	int64_t v = 0;
	bool found;
	pb_err err;

	PREP(s, S_MSG_ADD);
	bind_str(s, 1, m->channel);
	bind_str(s, 2, m->external_id);
	sqlite3_bind_int64(s, 3, m->conversation_id);
	bind_opt(s, 4, m->case_id);
	bind_str(s, 5, m->direction);
	bind_str(s, 6, m->author);
	bind_str(s, 7, m->text);
	bind_str(s, 8, m->verdict);
	sqlite3_bind_int64(s, 9, m->at);
	if ((err = run_insert(q, s, "saving a message", &v, &found, eb)))
		return err;
	if (!found) {
		PREP(s, S_MSG_FIND);
		bind_str(s, 1, m->channel);
		bind_str(s, 2, m->external_id);
		if ((err = run_id(q, s, "finding a message", &v, &found, eb)))
			return err;
		err = pb_errf(eb, PB_EEXIST, "store: message %s on %s exists", m->external_id,
			      m->channel);
	}
	if (id)
		*id = v;
	return err;
}

static void row_message(rd *r, void *item)
{
	pb_store_message *m = item;

	m->id = rd_i64(r, 0);
	m->channel = rd_str(r, 1);
	m->external_id = rd_str(r, 2);
	m->conversation_id = rd_i64(r, 3);
	m->case_id = rd_i64(r, 4);
	rd_fix(r, 5, m->direction, sizeof m->direction);
	m->author = rd_str(r, 6);
	m->text = rd_str(r, 7);
	m->verdict = rd_str(r, 8);
	m->at = rd_i64(r, 9);
}

static pb_err sq_message_list(pb_store *st, pb_id case_id, pb_store_messages *out, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	pb_err err;

	PREP(s, S_MSG_LIST);
	sqlite3_bind_int64(s, 1, case_id);
	err = run_list(q, s, "listing messages", &out->v, &out->n, sizeof *out->v, row_message, eb);
	if (err)
		pb_store_messages_release(out);
	return err;
}

static pb_err sq_message_get(pb_store *st, const char *channel, const char *external_id,
			     pb_store_message *out, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	pb_err err;

	PREP(s, S_MSG_GET);
	bind_str(s, 1, channel);
	bind_str(s, 2, external_id);
	err = run_one(q, s, "reading a message", out, row_message, eb);
	if (err)
		pb_store_message_release(out);
	return err;
}

/* ---- orders, parcels, tracking cache ---- */

static pb_err sq_order_put(pb_store *st, const char *channel, const char *order_id,
			   const char *json, int64_t at, pb_id *id, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	int64_t v = 0;
	bool found, opened;
	pb_err err;

	if ((err = tx_begin(st, &opened, eb)))
		return err;
	if (!(s = prep(q, S_ORDER_PUT, eb, &err)))
		return tx_end(st, opened, err, eb);
	bind_str(s, 1, channel);
	bind_str(s, 2, order_id);
	bind_str(s, 3, json);
	sqlite3_bind_int64(s, 4, at);
	if ((err = run_insert(q, s, "saving an order", &v, &found, eb)) || found)
		goto out;
	if (!(s = prep(q, S_ORDER_FIND, eb, &err)))
		goto out;
	bind_str(s, 1, channel);
	bind_str(s, 2, order_id);
	if ((err = run_id(q, s, "finding an order", &v, &found, eb)))
		goto out;
	if (!(s = prep(q, S_ORDER_UPDATE, eb, &err)))
		goto out;
	sqlite3_bind_int64(s, 1, v);
	bind_str(s, 2, json);
	sqlite3_bind_int64(s, 3, at);
	err = run(q, s, "saving an order", NULL, eb);
out:
	if (!err && id)
		*id = v;
	return tx_end(st, opened, err, eb);
}

static void row_text0(rd *r, void *item)
{
	*(char **)item = rd_str(r, 0);
}

static pb_err sq_order_get(pb_store *st, pb_id id, char **json, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;

	PREP(s, S_ORDER_GET);
	sqlite3_bind_int64(s, 1, id);
	return run_one(q, s, "reading an order", json, row_text0, eb);
}

typedef struct order_row {
	int64_t id;
	char *json;
} order_row;

static void row_order(rd *r, void *item)
{
	order_row *o = item;

	o->id = rd_i64(r, 0);
	o->json = rd_str(r, 1);
}

static pb_err sq_order_find(pb_store *st, const char *channel, const char *order_id, pb_id *id,
			    char **json, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	order_row o = {0, NULL};
	pb_err err;

	if (channel) {
		PREP(s, S_ORDER_FIND_IN);
		bind_str(s, 1, channel);
		bind_str(s, 2, order_id);
	} else {
		PREP(s, S_ORDER_FIND_ANY);
		bind_str(s, 1, order_id);
	}
	err = run_one(q, s, "finding an order", &o, row_order, eb);
	if (err) {
		free(o.json);
		return err;
	}
	*id = o.id;
	*json = o.json;
	return PB_OK;
}

static pb_err sq_parcel_put(pb_store *st, const pb_store_parcel *p, pb_id *id, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	int64_t v = 0;
	bool found, opened;
	pb_err err;

	if ((err = tx_begin(st, &opened, eb)))
		return err;
	if (!(s = prep(q, S_PARCEL_PUT, eb, &err)))
		return tx_end(st, opened, err, eb);
	bind_str(s, 1, p->carrier);
	bind_str(s, 2, p->number);
	bind_opt(s, 3, p->order_id);
	bind_str(s, 4, p->trace);
	bind_str(s, 5, p->assessment);
	sqlite3_bind_int64(s, 6, p->updated_at);
	if ((err = run_insert(q, s, "saving a parcel", &v, &found, eb)) || found)
		goto out;
	if (!(s = prep(q, S_PARCEL_FIND, eb, &err)))
		goto out;
	bind_str(s, 1, p->carrier);
	bind_str(s, 2, p->number);
	if ((err = run_id(q, s, "finding a parcel", &v, &found, eb)))
		goto out;
	/* Last seen wins, as for orders. */
	if (!(s = prep(q, S_PARCEL_UPDATE, eb, &err)))
		goto out;
	sqlite3_bind_int64(s, 1, v);
	bind_opt(s, 2, p->order_id);
	bind_str(s, 3, p->trace);
	bind_str(s, 4, p->assessment);
	sqlite3_bind_int64(s, 5, p->updated_at);
	err = run(q, s, "saving a parcel", NULL, eb);
out:
	if (!err && id)
		*id = v;
	return tx_end(st, opened, err, eb);
}

static void row_parcel(rd *r, void *item)
{
	pb_store_parcel *p = item;

	p->id = rd_i64(r, 0);
	p->carrier = rd_str(r, 1);
	p->number = rd_str(r, 2);
	p->order_id = rd_i64(r, 3);
	p->trace = rd_str(r, 4);
	p->assessment = rd_str(r, 5);
	p->updated_at = rd_i64(r, 6);
}

static pb_err sq_parcel_get(pb_store *st, pb_id id, pb_store_parcel *out, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	pb_err err;

	PREP(s, S_PARCEL_GET);
	sqlite3_bind_int64(s, 1, id);
	err = run_one(q, s, "reading a parcel", out, row_parcel, eb);
	if (err)
		pb_store_parcel_release(out);
	return err;
}

static pb_err sq_track_put(pb_store *st, const char *carrier, const char *number,
			   const char *json, int64_t fetched_at, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;

	PREP(s, S_TRACK_PUT);
	bind_str(s, 1, carrier);
	bind_str(s, 2, number);
	bind_str(s, 3, json);
	sqlite3_bind_int64(s, 4, fetched_at);
	return run(q, s, "caching a trace", NULL, eb);
}

typedef struct track_row {
	char *json;
	int64_t at;
} track_row;

static void row_track(rd *r, void *item)
{
	track_row *t = item;

	t->json = rd_str(r, 0);
	t->at = rd_i64(r, 1);
}

static pb_err sq_track_get(pb_store *st, const char *carrier, const char *number, char **json,
			   int64_t *fetched_at, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	track_row t = {NULL, 0};
	pb_err err;

	PREP(s, S_TRACK_GET);
	bind_str(s, 1, carrier);
	bind_str(s, 2, number);
	err = run_one(q, s, "reading the tracking cache", &t, row_track, eb);
	if (err) {
		free(t.json);
		return err;
	}
	*json = t.json;
	if (fetched_at)
		*fetched_at = t.at;
	return PB_OK;
}

/* ---- cases and their events ---- */

static void row_case(rd *r, void *item)
{
	pb_store_case *c = item;

	c->id = rd_i64(r, 0);
	c->scope = rd_str(r, 1);
	c->kind = rd_str(r, 2);
	rd_fix(r, 3, c->origin, sizeof c->origin);
	c->conversation_id = rd_i64(r, 4);
	c->order_id = rd_i64(r, 5);
	c->parcel_id = rd_i64(r, 6);
	rd_fix(r, 7, c->state, sizeof c->state);
	c->severity = (int)rd_i64(r, 8);
	c->problem = rd_i64(r, 9) != 0;
	c->contacts = (int)rd_i64(r, 10);
	rd_fix(r, 11, c->lang, sizeof c->lang);
	c->owner = rd_str(r, 12);
	c->outcome = rd_str(r, 13);
	c->opened_at = rd_i64(r, 14);
	c->updated_at = rd_i64(r, 15);
	c->first_reply_at = rd_i64(r, 16);
	c->resolved_at = rd_i64(r, 17);
	c->closed_at = rd_i64(r, 18);
	c->channel = rd_str(r, 19);
	c->conversation = rd_str(r, 20);
	c->buyer = rd_str(r, 21);
	c->order_ref = rd_str(r, 22);
	c->carrier = rd_str(r, 23);
	c->number = rd_str(r, 24);
}

static pb_err sq_case_find_open(pb_store *st, const char *scope, const char *kind,
				pb_store_case *out, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	pb_err err;

	PREP(s, kind ? S_CASE_OPEN : S_CASE_OPEN_ANY);
	bind_str(s, 1, scope);
	if (kind)
		bind_str(s, 2, kind);
	err = run_one(q, s, "finding an open case", out, row_case, eb);
	if (err)
		pb_store_case_release(out);
	return err;
}

static pb_err sq_case_for_conversation(pb_store *st, const char *channel,
				       const char *conversation, pb_store_case *out, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	pb_err err;

	PREP(s, S_CASE_FOR_CONV);
	bind_str(s, 1, channel);
	bind_str(s, 2, conversation);
	err = run_one(q, s, "finding a conversation's case", out, row_case, eb);
	if (err)
		pb_store_case_release(out);
	return err;
}

static pb_err sq_case_insert(pb_store *st, pb_store_case *c, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	pb_store_case other;
	int64_t v = 0;
	bool found;
	pb_err err;

	PREP(s, S_CASE_INSERT);
	bind_str(s, 1, c->scope);
	bind_str(s, 2, c->kind);
	bind_str(s, 3, c->origin);
	bind_opt(s, 4, c->conversation_id);
	bind_opt(s, 5, c->order_id);
	bind_opt(s, 6, c->parcel_id);
	bind_str(s, 7, c->state);
	sqlite3_bind_int(s, 8, c->severity);
	sqlite3_bind_int(s, 9, c->problem ? 1 : 0);
	sqlite3_bind_int(s, 10, c->contacts);
	bind_str(s, 11, c->lang);
	bind_str(s, 12, c->owner);
	bind_str(s, 13, c->outcome);
	sqlite3_bind_int64(s, 14, c->opened_at);
	sqlite3_bind_int64(s, 15, c->updated_at);
	bind_opt(s, 16, c->first_reply_at);
	bind_opt(s, 17, c->resolved_at);
	bind_opt(s, 18, c->closed_at);
	if ((err = run_insert(q, s, "opening a case", &v, &found, eb)))
		return err;
	if (found) {
		c->id = v;
		return PB_OK;
	}
	memset(&other, 0, sizeof other);
	if ((err = sq_case_find_open(st, c->scope, c->kind, &other, eb)))
		return err;
	c->id = other.id;
	pb_store_case_release(&other);
	return pb_errf(eb, PB_EEXIST, "store: case %lld is already open for %s %s",
		       (long long)c->id, c->scope, c->kind);
}

static pb_err sq_case_update(pb_store *st, const pb_store_case *c, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	int changed = 0;
	pb_err err;

	PREP(s, S_CASE_UPDATE);
	sqlite3_bind_int64(s, 1, c->id);
	bind_str(s, 2, c->state);
	sqlite3_bind_int(s, 3, c->severity);
	sqlite3_bind_int(s, 4, c->problem ? 1 : 0);
	sqlite3_bind_int(s, 5, c->contacts);
	bind_str(s, 6, c->lang);
	bind_str(s, 7, c->owner);
	bind_str(s, 8, c->outcome);
	bind_opt(s, 9, c->order_id);
	bind_opt(s, 10, c->parcel_id);
	sqlite3_bind_int64(s, 11, c->updated_at);
	bind_opt(s, 12, c->first_reply_at);
	bind_opt(s, 13, c->resolved_at);
	bind_opt(s, 14, c->closed_at);
	bind_opt(s, 15, c->conversation_id);
	if ((err = run(q, s, "updating a case", &changed, eb))) {
		if (err == PB_EEXIST)
			return pb_errf(eb, PB_EEXIST,
				       "store: another case is open for %s %s", c->scope ? c->scope : "",
				       c->kind ? c->kind : "");
		return err;
	}
	return changed ? PB_OK
		       : pb_errf(eb, PB_ENOTFOUND, "store: no case %lld", (long long)c->id);
}

static pb_err sq_case_get(pb_store *st, pb_id id, pb_store_case *out, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	pb_err err;

	PREP(s, S_CASE_GET);
	sqlite3_bind_int64(s, 1, id);
	err = run_one(q, s, "reading a case", out, row_case, eb);
	if (err) {
		pb_store_case_release(out);
		if (err == PB_ENOTFOUND)
			err = pb_errf(eb, PB_ENOTFOUND, "no case %lld", (long long)id);
	}
	return err;
}

static pb_err sq_case_list(pb_store *st, const pb_store_case_filter *f, pb_store_cases *out,
			   pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	pb_err err;

	PREP(s, S_CASE_LIST);
	bind_str(s, 1, f->state);
	sqlite3_bind_int(s, 2, f->min_severity);
	sqlite3_bind_int64(s, 3, f->limit ? (int64_t)f->limit : -1);
	err = run_list(q, s, "listing cases", &out->v, &out->n, sizeof *out->v, row_case, eb);
	if (err)
		pb_store_cases_release(out);
	return err;
}

static pb_err sq_case_opened(pb_store *st, int64_t from, int64_t to, pb_store_cases *out,
			     pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	pb_err err;

	PREP(s, S_CASE_OPENED);
	sqlite3_bind_int64(s, 1, from);
	sqlite3_bind_int64(s, 2, to);
	err = run_list(q, s, "listing cases opened", &out->v, &out->n, sizeof *out->v, row_case, eb);
	if (err)
		pb_store_cases_release(out);
	return err;
}

static void row_order_full(rd *r, void *item)
{
	pb_store_order *o = item;

	o->id = rd_i64(r, 0);
	o->channel = rd_str(r, 1);
	o->order_id = rd_str(r, 2);
	o->json = rd_str(r, 3);
	o->updated_at = rd_i64(r, 4);
}

static pb_err sq_order_list(pb_store *st, pb_store_orders *out, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	pb_err err;

	PREP(s, S_ORDER_LIST);
	err = run_list(q, s, "listing orders", &out->v, &out->n, sizeof *out->v, row_order_full,
		       eb);
	if (err)
		pb_store_orders_release(out);
	return err;
}

static pb_err sq_event_add(pb_store *st, const pb_store_event *e, pb_id *id, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	int64_t v = 0;
	bool found;
	pb_err err;

	PREP(s, S_EVENT_ADD);
	sqlite3_bind_int64(s, 1, e->case_id);
	sqlite3_bind_int64(s, 2, e->at);
	bind_str(s, 3, e->actor);
	bind_str(s, 4, e->what);
	bind_str(s, 5, e->from_state);
	bind_str(s, 6, e->to_state);
	bind_str(s, 7, e->note);
	err = run_insert(q, s, "recording a case event", &v, &found, eb);
	if (!err && id)
		*id = v;
	return err;
}

static void row_event(rd *r, void *item)
{
	pb_store_event *e = item;

	e->id = rd_i64(r, 0);
	e->case_id = rd_i64(r, 1);
	e->at = rd_i64(r, 2);
	e->actor = rd_str(r, 3);
	e->what = rd_str(r, 4);
	e->from_state = rd_str(r, 5);
	e->to_state = rd_str(r, 6);
	e->note = rd_str(r, 7);
}

static pb_err sq_event_list(pb_store *st, pb_id case_id, pb_store_events *out, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	pb_err err;

	PREP(s, S_EVENT_LIST);
	sqlite3_bind_int64(s, 1, case_id);
	err = run_list(q, s, "listing case events", &out->v, &out->n, sizeof *out->v, row_event, eb);
	if (err)
		pb_store_events_release(out);
	return err;
}

/* ---- drafts ---- */

static pb_err sq_draft_add(pb_store *st, pb_store_draft *d, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	int64_t v = 0, version = 0;
	bool found, opened;
	pb_err err;

	/* The next version and the insert under one write lock. */
	if ((err = tx_begin(st, &opened, eb)))
		return err;
	if (!(s = prep(q, S_DRAFT_NEXT, eb, &err)))
		return tx_end(st, opened, err, eb);
	sqlite3_bind_int64(s, 1, d->case_id);
	if ((err = run_id(q, s, "numbering a draft", &version, &found, eb)))
		return tx_end(st, opened, err, eb);
	if (!(s = prep(q, S_DRAFT_ADD, eb, &err)))
		return tx_end(st, opened, err, eb);
	sqlite3_bind_int64(s, 1, d->case_id);
	bind_opt(s, 2, d->message_id);
	sqlite3_bind_int64(s, 3, d->created_at);
	bind_str(s, 4, d->text);
	bind_str(s, 5, d->template_id);
	bind_str(s, 6, d->brief);
	sqlite3_bind_int(s, 7, d->severity);
	bind_str(s, 8, d->action);
	bind_str(s, 9, d->lang);
	bind_str(s, 10, d->compensation);
	bind_opt(s, 11, d->follow_up_due);
	bind_str(s, 12, d->checklist);
	bind_str(s, 13, d->reasons);
	bind_str(s, 14, d->lint);
	bind_str(s, 15, d->assessment);
	bind_str(s, 16, d->state);
	sqlite3_bind_int64(s, 17, version);
	if ((err = run_insert(q, s, "saving a draft", &v, &found, eb)))
		return tx_end(st, opened, err, eb);
	if (found) {
		d->id = v;
		d->version = (int)version;
		return tx_end(st, opened, PB_OK, eb);
	}
	if (!(s = prep(q, S_DRAFT_BY_MSG, eb, &err)))
		return tx_end(st, opened, err, eb);
	sqlite3_bind_int64(s, 1, d->message_id);
	if (sqlite3_step(s) == SQLITE_ROW) {
		d->id = sqlite3_column_int64(s, 0);
		d->version = sqlite3_column_int(s, 1);
	}
	sqlite3_reset(s);
	err = pb_errf(eb, PB_EEXIST, "store: message %lld already has draft %lld",
		      (long long)d->message_id, (long long)d->id);
	return tx_end(st, opened, err, eb);
}

static void row_draft(rd *r, void *item)
{
	pb_store_draft *d = item;

	d->id = rd_i64(r, 0);
	d->case_id = rd_i64(r, 1);
	d->message_id = rd_i64(r, 2);
	d->version = (int)rd_i64(r, 3);
	d->created_at = rd_i64(r, 4);
	d->text = rd_str(r, 5);
	d->template_id = rd_str(r, 6);
	d->brief = rd_str(r, 7);
	d->severity = (int)rd_i64(r, 8);
	rd_fix(r, 9, d->action, sizeof d->action);
	rd_fix(r, 10, d->lang, sizeof d->lang);
	d->compensation = rd_str(r, 11);
	d->follow_up_due = rd_i64(r, 12);
	d->checklist = rd_str(r, 13);
	d->reasons = rd_str(r, 14);
	d->lint = rd_str(r, 15);
	d->assessment = rd_str(r, 16);
	rd_fix(r, 17, d->state, sizeof d->state);
}

static pb_err sq_draft_get(pb_store *st, pb_id id, pb_store_draft *out, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	pb_err err;

	PREP(s, S_DRAFT_GET);
	sqlite3_bind_int64(s, 1, id);
	err = run_one(q, s, "reading a draft", out, row_draft, eb);
	if (err)
		pb_store_draft_release(out);
	return err;
}

static pb_err sq_draft_latest(pb_store *st, pb_id case_id, pb_store_draft *out, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	pb_err err;

	PREP(s, S_DRAFT_LATEST);
	sqlite3_bind_int64(s, 1, case_id);
	err = run_one(q, s, "reading the latest draft", out, row_draft, eb);
	if (err) {
		pb_store_draft_release(out);
		if (err == PB_ENOTFOUND)
			err = pb_errf(eb, PB_ENOTFOUND, "case %lld has no draft", (long long)case_id);
	}
	return err;
}

static pb_err sq_draft_set_state(pb_store *st, pb_id id, const char *state, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	int changed = 0;
	pb_err err;

	PREP(s, S_DRAFT_STATE);
	sqlite3_bind_int64(s, 1, id);
	bind_str(s, 2, state);
	if ((err = run(q, s, "updating a draft", &changed, eb)))
		return err;
	return changed ? PB_OK : pb_errf(eb, PB_ENOTFOUND, "store: no draft %lld", (long long)id);
}

static pb_err sq_draft_supersede(pb_store *st, pb_id case_id, pb_id keep, size_t *n,
				 pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	int changed = 0;
	pb_err err;

	PREP(s, S_DRAFT_SUPERSEDE);
	sqlite3_bind_int64(s, 1, case_id);
	sqlite3_bind_int64(s, 2, keep);
	err = run(q, s, "superseding drafts", &changed, eb);
	*n = (size_t)changed;
	return err;
}

static pb_err sq_draft_list(pb_store *st, pb_id case_id, const char *state, pb_store_drafts *out,
			    pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	pb_err err;

	PREP(s, S_DRAFT_LIST);
	sqlite3_bind_int64(s, 1, case_id);
	bind_str(s, 2, state);
	err = run_list(q, s, "listing drafts", &out->v, &out->n, sizeof *out->v, row_draft, eb);
	if (err)
		pb_store_drafts_release(out);
	return err;
}

/* ---- decisions and notes ---- */

static pb_err sq_decision_add(pb_store *st, const pb_store_decision *d, pb_id *id, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	int64_t v = 0;
	bool found;
	pb_err err;

	PREP(s, S_DECISION_ADD);
	bind_opt(s, 1, d->draft_id);
	sqlite3_bind_int64(s, 2, d->case_id);
	bind_str(s, 3, d->kind);
	bind_str(s, 4, d->agent);
	sqlite3_bind_int64(s, 5, d->at);
	bind_str(s, 6, d->text);
	bind_str(s, 7, d->lint);
	bind_str(s, 8, d->reason);
	err = run_insert(q, s, "recording a decision", &v, &found, eb);
	if (!err && id)
		*id = v;
	return err;
}

static void row_decision(rd *r, void *item)
{
	pb_store_decision *d = item;

	d->id = rd_i64(r, 0);
	d->draft_id = rd_i64(r, 1);
	d->case_id = rd_i64(r, 2);
	rd_fix(r, 3, d->kind, sizeof d->kind);
	d->agent = rd_str(r, 4);
	d->at = rd_i64(r, 5);
	d->text = rd_str(r, 6);
	d->lint = rd_str(r, 7);
	d->reason = rd_str(r, 8);
}

static pb_err sq_decision_list(pb_store *st, pb_id case_id, pb_store_decisions *out,
			       pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	pb_err err;

	PREP(s, S_DECISION_LIST);
	sqlite3_bind_int64(s, 1, case_id);
	err = run_list(q, s, "listing decisions", &out->v, &out->n, sizeof *out->v, row_decision,
		       eb);
	if (err)
		pb_store_decisions_release(out);
	return err;
}

static pb_err sq_note_add(pb_store *st, const pb_store_note *n, pb_id *id, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	int64_t v = 0;
	bool found;
	pb_err err;

	PREP(s, S_NOTE_ADD);
	sqlite3_bind_int64(s, 1, n->case_id);
	bind_str(s, 2, n->agent);
	sqlite3_bind_int64(s, 3, n->at);
	bind_str(s, 4, n->text);
	err = run_insert(q, s, "adding a note", &v, &found, eb);
	if (!err && id)
		*id = v;
	return err;
}

static void row_note(rd *r, void *item)
{
	pb_store_note *n = item;

	n->id = rd_i64(r, 0);
	n->case_id = rd_i64(r, 1);
	n->agent = rd_str(r, 2);
	n->at = rd_i64(r, 3);
	n->text = rd_str(r, 4);
}

static pb_err sq_note_list(pb_store *st, pb_id case_id, pb_store_notes *out, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	pb_err err;

	PREP(s, S_NOTE_LIST);
	sqlite3_bind_int64(s, 1, case_id);
	err = run_list(q, s, "listing notes", &out->v, &out->n, sizeof *out->v, row_note, eb);
	if (err)
		pb_store_notes_release(out);
	return err;
}

/* ---- reminders ---- */

static pb_err sq_reminder_add(pb_store *st, const pb_store_reminder *r, pb_id *id, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	int64_t v = 0;
	bool found;
	pb_err err;

	PREP(s, S_REM_ADD);
	sqlite3_bind_int64(s, 1, r->case_id);
	bind_str(s, 2, r->kind);
	sqlite3_bind_int64(s, 3, r->due);
	sqlite3_bind_int64(s, 4, r->created_at);
	bind_str(s, 5, r->source);
	if ((err = run_insert(q, s, "adding a reminder", &v, &found, eb)))
		return err;
	if (!found) {
		PREP(s, S_REM_FIND);
		sqlite3_bind_int64(s, 1, r->case_id);
		bind_str(s, 2, r->kind);
		sqlite3_bind_int64(s, 3, r->due);
		if ((err = run_id(q, s, "finding a reminder", &v, &found, eb)))
			return err;
		err = pb_errf(eb, PB_EEXIST, "store: case %lld already has that %s reminder",
			      (long long)r->case_id, r->kind);
	}
	if (id)
		*id = v;
	return err;
}

static pb_err sq_reminder_complete(pb_store *st, pb_id case_id, const char *const *kinds,
				   int64_t at, size_t *n, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	int changed = 0;
	size_t i;
	pb_err err;

	*n = 0;
	if (!kinds) {
		PREP(s, S_REM_DONE_ALL);
		sqlite3_bind_int64(s, 1, case_id);
		sqlite3_bind_int64(s, 2, at);
		err = run(q, s, "completing reminders", &changed, eb);
		*n = (size_t)changed;
		return err;
	}
	PREP(s, S_REM_DONE_KIND);
	for (i = 0; kinds[i]; i++) {
		sqlite3_bind_int64(s, 1, case_id);
		sqlite3_bind_int64(s, 2, at);
		bind_str(s, 3, kinds[i]);
		if ((err = run(q, s, "completing reminders", &changed, eb)))
			return err;
		*n += (size_t)changed;
	}
	return PB_OK;
}

static pb_err sq_reminder_escalate(pb_store *st, pb_id id, int64_t at, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	int changed = 0;
	int64_t v;
	bool found;
	pb_err err;

	PREP(s, S_REM_ESCALATE);
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, at);
	if ((err = run(q, s, "escalating a reminder", &changed, eb)))
		return err;
	if (changed)
		return PB_OK;
	PREP(s, S_REM_EXISTS);
	sqlite3_bind_int64(s, 1, id);
	if ((err = run_id(q, s, "finding a reminder", &v, &found, eb)))
		return err;
	return found ? pb_errf(eb, PB_ESTATE, "reminder %lld is done or already escalated",
			       (long long)id)
		     : pb_errf(eb, PB_ENOTFOUND, "no reminder %lld", (long long)id);
}

static void row_reminder(rd *r, void *item)
{
	pb_store_reminder *m = item;

	m->id = rd_i64(r, 0);
	m->case_id = rd_i64(r, 1);
	rd_fix(r, 2, m->kind, sizeof m->kind);
	m->due = rd_i64(r, 3);
	m->created_at = rd_i64(r, 4);
	m->done_at = rd_i64(r, 5);
	m->escalated_at = rd_i64(r, 6);
	m->source = rd_str(r, 7);
	rd_fix(r, 8, m->case_state, sizeof m->case_state);
	m->severity = (int)rd_i64(r, 9);
}

static pb_err sq_reminder_list(pb_store *st, pb_id case_id, pb_store_reminders *out,
			       pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	pb_err err;

	PREP(s, S_REM_LIST);
	sqlite3_bind_int64(s, 1, case_id);
	err = run_list(q, s, "listing reminders", &out->v, &out->n, sizeof *out->v, row_reminder,
		       eb);
	if (err)
		pb_store_reminders_release(out);
	return err;
}

static pb_err sq_reminder_due(pb_store *st, int64_t until, pb_store_reminders *out,
			      pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	pb_err err;

	PREP(s, S_REM_DUE);
	sqlite3_bind_int64(s, 1, until);
	err = run_list(q, s, "listing due reminders", &out->v, &out->n, sizeof *out->v,
		       row_reminder, eb);
	if (err)
		pb_store_reminders_release(out);
	return err;
}

/* ---- inbox ---- */

static pb_err sq_inbox_put(pb_store *st, const char *channel, const char *external_id,
			   const char *payload, int64_t received_at, pb_id *id, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	int64_t v = 0;
	bool found;
	pb_err err;

	PREP(s, S_INBOX_PUT);
	bind_str(s, 1, channel);
	bind_str(s, 2, external_id);
	bind_str(s, 3, payload);
	sqlite3_bind_int64(s, 4, received_at);
	if ((err = run_insert(q, s, "receiving an event", &v, &found, eb)))
		return err;
	if (!found) {
		PREP(s, S_INBOX_FIND);
		bind_str(s, 1, channel);
		bind_str(s, 2, external_id);
		if ((err = run_id(q, s, "finding an event", &v, &found, eb)))
			return err;
		err = pb_errf(eb, PB_EEXIST, "store: event %s on %s was received before",
			      external_id, channel);
	}
	if (id)
		*id = v;
	return err;
}

static void row_inbox(rd *r, void *item)
{
	pb_store_inbox_row *x = item;

	x->id = rd_i64(r, 0);
	x->channel = rd_str(r, 1);
	x->external_id = rd_str(r, 2);
	x->payload = rd_str(r, 3);
	x->received_at = rd_i64(r, 4);
	x->claimed_at = rd_i64(r, 5);
	x->claimed_by = rd_str(r, 6);
	x->processed_at = rd_i64(r, 7);
	x->attempts = (int)rd_i64(r, 8);
	x->error = rd_str(r, 9);
}

static int by_id(const void *a, const void *b)
{
	pb_id x = ((const pb_store_inbox_row *)a)->id, y = ((const pb_store_inbox_row *)b)->id;

	return x < y ? -1 : x > y;
}

static pb_err sq_inbox_claim(pb_store *st, const char *worker, int64_t now, int64_t lease,
			     size_t max, pb_store_inbox_rows *out, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	bool opened;
	pb_err err;

	/* One statement, atomic by itself; the transaction takes the write
	 * lock before it reads, so a concurrent claim waits instead of
	 * failing on a stale snapshot. */
	if ((err = tx_begin(st, &opened, eb)))
		return err;
	if (!(s = prep(q, S_INBOX_CLAIM, eb, &err)))
		return tx_end(st, opened, err, eb);
	bind_str(s, 1, worker);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_int64(s, 3, now - lease);
	sqlite3_bind_int64(s, 4, (int64_t)max);
	err = run_list(q, s, "claiming events", &out->v, &out->n, sizeof *out->v, row_inbox, eb);
	if ((err = tx_end(st, opened, err, eb))) {
		pb_store_inbox_rows_release(out);
		return err;
	}
	/* RETURNING promises no order. */
	if (out->n > 1)
		qsort(out->v, out->n, sizeof *out->v, by_id);
	return PB_OK;
}

static pb_err sq_inbox_get(pb_store *st, pb_id id, pb_store_inbox_row *out, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	pb_err err;

	PREP(s, S_INBOX_GET);
	sqlite3_bind_int64(s, 1, id);
	err = run_one(q, s, "reading an event", out, row_inbox, eb);
	if (err)
		pb_store_inbox_row_release(out);
	return err;
}

/* PB_ESTATE when the row exists (so it was processed), else PB_ENOTFOUND. */
static pb_err inbox_why(pb_store *st, pb_id id, pb_errbuf *eb)
{
	pb_store_inbox_row r;
	pb_err err;

	memset(&r, 0, sizeof r);
	err = sq_inbox_get(st, id, &r, eb);
	pb_store_inbox_row_release(&r);
	if (err == PB_ENOTFOUND)
		return pb_errf(eb, err, "no inbox event %lld", (long long)id);
	if (err)
		return err;
	return pb_errf(eb, PB_ESTATE, "inbox event %lld was processed already", (long long)id);
}

static pb_err sq_inbox_done(pb_store *st, pb_id id, int64_t at, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	int changed = 0;
	pb_err err;

	PREP(s, S_INBOX_DONE);
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, at);
	if ((err = run(q, s, "marking an event processed", &changed, eb)))
		return err;
	return changed ? PB_OK : inbox_why(st, id, eb);
}

static pb_err sq_inbox_fail(pb_store *st, pb_id id, int64_t at, const char *error, bool give_up,
			    pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	int changed = 0;
	pb_err err;

	PREP(s, S_INBOX_FAIL);
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, at);
	bind_str(s, 3, error);
	sqlite3_bind_int(s, 4, give_up ? 1 : 0);
	if ((err = run(q, s, "recording a failed event", &changed, eb)))
		return err;
	return changed ? PB_OK : inbox_why(st, id, eb);
}

static pb_err sq_inbox_release(pb_store *st, const char *worker, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;

	PREP(s, S_INBOX_RELEASE);
	bind_str(s, 1, worker);
	return run(q, s, "releasing claims", NULL, eb);
}

static pb_err sq_inbox_counts(pb_store *st, size_t *pending, size_t *failed, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	int rc;

	PREP(s, S_INBOX_COUNTS);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if (pending)
			*pending = (size_t)sqlite3_column_int64(s, 0);
		if (failed)
			*failed = (size_t)sqlite3_column_int64(s, 1);
		rc = SQLITE_DONE;
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? PB_OK : fail(q, rc, "counting events", eb);
}

/* ---- outbox ---- */

static pb_err sq_outbox_put(pb_store *st, const pb_store_outbox_row *r, pb_id *id, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	int64_t v = 0;
	bool found;
	pb_err err;

	PREP(s, S_OUTBOX_PUT);
	bind_str(s, 1, r->key);
	bind_str(s, 2, r->kind);
	bind_str(s, 3, r->channel);
	bind_opt(s, 4, r->case_id);
	bind_str(s, 5, r->payload);
	sqlite3_bind_int64(s, 6, r->created_at);
	if ((err = run_insert(q, s, "queueing an action", &v, &found, eb)))
		return err;
	if (!found) {
		PREP(s, S_OUTBOX_FIND);
		bind_str(s, 1, r->key);
		if ((err = run_id(q, s, "finding an action", &v, &found, eb)))
			return err;
		err = pb_errf(eb, PB_EEXIST, "store: action %s is queued already", r->key);
	}
	if (id)
		*id = v;
	return err;
}

static void row_outbox(rd *r, void *item)
{
	pb_store_outbox_row *o = item;

	o->id = rd_i64(r, 0);
	o->key = rd_str(r, 1);
	o->kind = rd_str(r, 2);
	o->channel = rd_str(r, 3);
	o->case_id = rd_i64(r, 4);
	o->payload = rd_str(r, 5);
	o->created_at = rd_i64(r, 6);
	o->next_attempt_at = rd_i64(r, 7);
	o->attempts = (int)rd_i64(r, 8);
	o->sent_at = rd_i64(r, 9);
	o->last_error = rd_str(r, 10);
}

static pb_err sq_outbox_get(pb_store *st, pb_id id, pb_store_outbox_row *out, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	pb_err err;

	PREP(s, S_OUTBOX_GET);
	sqlite3_bind_int64(s, 1, id);
	err = run_one(q, s, "reading an action", out, row_outbox, eb);
	if (err)
		pb_store_outbox_row_release(out);
	return err;
}

static pb_err sq_outbox_due(pb_store *st, int64_t now, size_t max, pb_store_outbox_rows *out,
			    pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	pb_err err;

	PREP(s, S_OUTBOX_DUE);
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int64(s, 2, (int64_t)max);
	err = run_list(q, s, "listing due actions", &out->v, &out->n, sizeof *out->v, row_outbox,
		       eb);
	if (err)
		pb_store_outbox_rows_release(out);
	return err;
}

/* After an UPDATE that changed nothing: was the row there? */
static pb_err outbox_why(pb_store *st, pb_id id, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	int64_t v;
	bool found;
	pb_err err;

	PREP(s, S_OUTBOX_EXISTS);
	sqlite3_bind_int64(s, 1, id);
	if ((err = run_id(q, s, "finding an action", &v, &found, eb)))
		return err;
	return found ? pb_errf(eb, PB_ESTATE, "outbox action %lld was confirmed already",
			       (long long)id)
		     : pb_errf(eb, PB_ENOTFOUND, "no outbox action %lld", (long long)id);
}

static pb_err sq_outbox_sent(pb_store *st, pb_id id, int64_t at, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	int changed = 0;
	pb_err err;

	PREP(s, S_OUTBOX_SENT);
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, at);
	if ((err = run(q, s, "confirming an action", &changed, eb)))
		return err;
	return changed ? PB_OK : outbox_why(st, id, eb);
}

static pb_err sq_outbox_retry(pb_store *st, pb_id id, int64_t next_attempt_at, const char *error,
			      pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	int changed = 0;
	pb_err err;

	PREP(s, S_OUTBOX_RETRY);
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, next_attempt_at);
	bind_str(s, 3, error);
	if ((err = run(q, s, "rescheduling an action", &changed, eb)))
		return err;
	return changed ? PB_OK : outbox_why(st, id, eb);
}

static pb_err sq_outbox_wake(pb_store *st, int64_t now, int64_t horizon, size_t *woken,
			     pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	int changed = 0;
	pb_err err;

	PREP(s, S_OUTBOX_WAKE);
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int64(s, 2, horizon);
	err = run(q, s, "waking interrupted actions", &changed, eb);
	*woken = err ? 0 : (size_t)changed;
	return err;
}

static pb_err sq_outbox_list(pb_store *st, pb_id case_id, pb_store_outbox_rows *out,
			     pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	pb_err err;

	PREP(s, S_OUTBOX_LIST);
	sqlite3_bind_int64(s, 1, case_id);
	err = run_list(q, s, "listing actions", &out->v, &out->n, sizeof *out->v, row_outbox, eb);
	if (err)
		pb_store_outbox_rows_release(out);
	return err;
}

/* ---- agents ---- */

static pb_err sq_agent_touch(pb_store *st, const char *name, const char *role, int64_t at,
			     pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;

	PREP(s, S_AGENT_TOUCH);
	bind_str(s, 1, name);
	bind_str(s, 2, role);
	sqlite3_bind_int64(s, 3, at);
	return run(q, s, "recording an agent", NULL, eb);
}

static void row_agent(rd *r, void *item)
{
	pb_store_agent *a = item;

	a->id = rd_i64(r, 0);
	a->name = rd_str(r, 1);
	rd_fix(r, 2, a->role, sizeof a->role);
	a->created_at = rd_i64(r, 3);
	a->last_seen_at = rd_i64(r, 4);
	a->password_hash = rd_str(r, 5);
}

static pb_err sq_agent_get(pb_store *st, const char *name, pb_store_agent *out, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	pb_err err;

	PREP(s, S_AGENT_GET);
	bind_str(s, 1, name);
	err = run_one(q, s, "reading an agent", out, row_agent, eb);
	if (err)
		pb_store_agent_release(out);
	return err;
}

static pb_err sq_agent_add(pb_store *st, const char *name, const char *role,
			   const char *password_hash, int64_t at, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	int changed = 0;
	pb_err err;

	PREP(s, S_AGENT_ADD);
	bind_str(s, 1, name);
	bind_str(s, 2, role);
	bind_str(s, 3, password_hash);
	sqlite3_bind_int64(s, 4, at);
	if ((err = run(q, s, "adding an agent", &changed, eb)))
		return err;
	if (!changed)
		return pb_errf(eb, PB_EEXIST, "store: agent '%s' exists already", name);
	return PB_OK;
}

static pb_err drop_sessions(sq_store *q, const char *name, pb_errbuf *eb)
{
	sqlite3_stmt *s;

	PREP(s, S_SESSION_DROP_AGENT);
	bind_str(s, 1, name);
	return run(q, s, "ending an agent's sessions", NULL, eb);
}

/* One statement on an agent, then their sessions ended, in one
 * transaction: a changed password must not leave an old session alive. */
static pb_err agent_change(sq_store *q, sqlite3_stmt *s, const char *name, const char *what,
			   pb_errbuf *eb)
{
	int changed = 0;
	pb_err err;

	if ((err = pb_store_begin(&q->base, eb))) {
		sqlite3_clear_bindings(s);
		return err;
	}
	if (!(err = run(q, s, what, &changed, eb))) {
		if (!changed)
			err = pb_errf(eb, PB_ENOTFOUND, "store: no agent '%s'", name);
		else
			err = drop_sessions(q, name, eb);
	}
	if (!err)
		err = pb_store_commit(&q->base, eb);
	if (err)
		pb_store_rollback(&q->base);
	return err;
}

static pb_err sq_agent_set_password(pb_store *st, const char *name, const char *password_hash,
				    pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;

	PREP(s, S_AGENT_PASSWD);
	bind_str(s, 1, name);
	bind_str(s, 2, password_hash);
	return agent_change(q, s, name, "changing a password", eb);
}

static pb_err sq_agent_remove(pb_store *st, const char *name, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;

	PREP(s, S_AGENT_REMOVE);
	bind_str(s, 1, name);
	return agent_change(q, s, name, "removing an agent", eb);
}

static pb_err sq_agent_list(pb_store *st, pb_store_agents *out, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	pb_err err;

	PREP(s, S_AGENT_LIST);
	err = run_list(q, s, "listing agents", &out->v, &out->n, sizeof *out->v, row_agent, eb);
	if (err)
		pb_store_agents_release(out);
	return err;
}

/* ---- sessions ---- */

static pb_err sq_session_add(pb_store *st, const pb_store_session *se, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	int changed = 0;
	pb_err err;

	PREP(s, S_SESSION_ADD);
	bind_str(s, 1, se->token_hash);
	bind_str(s, 2, se->agent);
	bind_str(s, 3, se->csrf);
	sqlite3_bind_int64(s, 4, se->created_at);
	sqlite3_bind_int64(s, 5, se->expires_at);
	if ((err = run(q, s, "adding a session", &changed, eb)))
		return err;
	if (!changed)
		return pb_errf(eb, PB_EINVAL, "store: no agent '%s'", se->agent);
	return PB_OK;
}

static void row_session(rd *r, void *item)
{
	pb_store_session *se = item;

	rd_fix(r, 0, se->token_hash, sizeof se->token_hash);
	se->agent = rd_str(r, 1);
	rd_fix(r, 2, se->csrf, sizeof se->csrf);
	se->created_at = rd_i64(r, 3);
	se->expires_at = rd_i64(r, 4);
	rd_fix(r, 5, se->role, sizeof se->role);
}

static pb_err sq_session_get(pb_store *st, const char *token_hash, int64_t now,
			     pb_store_session *out, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	pb_err err;

	PREP(s, S_SESSION_GET);
	bind_str(s, 1, token_hash);
	sqlite3_bind_int64(s, 2, now);
	err = run_one(q, s, "reading a session", out, row_session, eb);
	if (err)
		pb_store_session_release(out);
	return err;
}

static pb_err sq_session_delete(pb_store *st, const char *token_hash, int64_t now,
				pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	pb_err err;

	PREP(s, S_SESSION_DELETE);
	bind_str(s, 1, token_hash);
	if ((err = run(q, s, "ending a session", NULL, eb)))
		return err;
	PREP(s, S_SESSION_PURGE);
	sqlite3_bind_int64(s, 1, now);
	return run(q, s, "dropping expired sessions", NULL, eb);
}

/* ---- figures for the status board ---- */

static void row_count(rd *r, void *item)
{
	pb_store_count *c = item;

	c->key = rd_str(r, 0);
	if (!c->key && !r->oom && !(c->key = strdup("")))
		r->oom = true;
	c->n = rd_i64(r, 1);
	c->n2 = rd_i64(r, 2);
}

static pb_err sq_case_counts(pb_store *st, const char *by, pb_store_counts *out, pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	pb_err err;
	int which = !strcmp(by, "state")      ? S_COUNT_STATE
		    : !strcmp(by, "severity") ? S_COUNT_SEVERITY
		    : !strcmp(by, "kind")     ? S_COUNT_KIND
					      : S_COUNT_CARRIER;

	PREP(s, which);
	err = run_list(q, s, "counting cases", &out->v, &out->n, sizeof *out->v, row_count, eb);
	if (err)
		pb_store_counts_release(out);
	return err;
}

static pb_err sq_decision_counts(pb_store *st, int64_t since, pb_store_counts *out,
				 pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	pb_err err;

	PREP(s, S_COUNT_DECISIONS);
	sqlite3_bind_int64(s, 1, since);
	err = run_list(q, s, "counting decisions", &out->v, &out->n, sizeof *out->v, row_count,
		       eb);
	if (err)
		pb_store_counts_release(out);
	return err;
}

static pb_err sq_first_reply_stats(pb_store *st, int64_t since, int64_t *n, double *mean_s,
				   pb_errbuf *eb)
{
	sq_store *q = SQ(st);
	sqlite3_stmt *s;
	int rc;
	pb_err err = PB_OK;

	PREP(s, S_FIRST_REPLY);
	sqlite3_bind_int64(s, 1, since);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*n = sqlite3_column_int64(s, 0);
		*mean_s = sqlite3_column_double(s, 1);
	} else {
		err = fail(q, sqlite3_extended_errcode(q->db), "timing first replies", eb);
	}
	sqlite3_reset(s);
	return err;
}

const pb_store_ops pb_store_sqlite_ops = {
	.name = "sqlite",
	.scheme = "sqlite:",
	.open = sq_open,
	.close = sq_close,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.conversation_upsert = sq_conversation_upsert,
	.message_add = sq_message_add,
	.message_list = sq_message_list,
	.message_get = sq_message_get,
	.order_put = sq_order_put,
	.order_get = sq_order_get,
	.order_find = sq_order_find,
	.parcel_put = sq_parcel_put,
	.parcel_get = sq_parcel_get,
	.track_put = sq_track_put,
	.track_get = sq_track_get,
	.case_insert = sq_case_insert,
	.case_update = sq_case_update,
	.case_get = sq_case_get,
	.case_find_open = sq_case_find_open,
	.case_for_conversation = sq_case_for_conversation,
	.case_list = sq_case_list,
	.case_opened = sq_case_opened,
	.order_list = sq_order_list,
	.event_add = sq_event_add,
	.event_list = sq_event_list,
	.draft_add = sq_draft_add,
	.draft_get = sq_draft_get,
	.draft_latest = sq_draft_latest,
	.draft_set_state = sq_draft_set_state,
	.draft_supersede = sq_draft_supersede,
	.draft_list = sq_draft_list,
	.decision_add = sq_decision_add,
	.decision_list = sq_decision_list,
	.note_add = sq_note_add,
	.note_list = sq_note_list,
	.reminder_add = sq_reminder_add,
	.reminder_complete = sq_reminder_complete,
	.reminder_escalate = sq_reminder_escalate,
	.reminder_list = sq_reminder_list,
	.reminder_due = sq_reminder_due,
	.inbox_put = sq_inbox_put,
	.inbox_claim = sq_inbox_claim,
	.inbox_done = sq_inbox_done,
	.inbox_fail = sq_inbox_fail,
	.inbox_release = sq_inbox_release,
	.inbox_get = sq_inbox_get,
	.inbox_counts = sq_inbox_counts,
	.outbox_put = sq_outbox_put,
	.outbox_get = sq_outbox_get,
	.outbox_due = sq_outbox_due,
	.outbox_sent = sq_outbox_sent,
	.outbox_wake = sq_outbox_wake,
	.outbox_retry = sq_outbox_retry,
	.outbox_list = sq_outbox_list,
	.agent_touch = sq_agent_touch,
	.agent_get = sq_agent_get,
	.agent_add = sq_agent_add,
	.agent_set_password = sq_agent_set_password,
	.agent_remove = sq_agent_remove,
	.agent_list = sq_agent_list,
	.session_add = sq_session_add,
	.session_get = sq_session_get,
	.session_delete = sq_session_delete,
	.case_counts = sq_case_counts,
	.decision_counts = sq_decision_counts,
	.first_reply_stats = sq_first_reply_stats,
};

double pb_store_memory_bytes(void)
{
	return (double)sqlite3_memory_used();
}
