/*
 * The store's backend-neutral half (see store.h): picks the backend a
 * `where` names, checks every argument once so no backend has to, keeps the
 * transaction depth, and releases records. Everything that touches a
 * database is in a backend (src/store_sqlite.c).
 */
#include "store_impl.h"

#include <stdlib.h>
#include <string.h>

#include "parcelbot/utf8.h"

static const pb_store_ops *const backends[] = {&pb_store_sqlite_ops};

/* ---- argument checks ---- */

static pb_err bad(pb_errbuf *eb, const char *what, const char *why)
{
	return pb_errf(eb, PB_EINVAL, "store: %s %s", what, why);
}

/* A required short string: an id, a name, a kind. */
static pb_err name_ok(const char *s, const char *what, pb_errbuf *eb)
{
	size_t n;

	if (!s || !*s)
		return bad(eb, what, "is missing");
	n = strlen(s);
	if (n > PB_STORE_MAX_NAME)
		return bad(eb, what, "is too long");
	if (!pb_utf8_valid(s, n))
		return bad(eb, what, "is not valid UTF-8");
	return PB_OK;
}

static pb_err opt_name_ok(const char *s, const char *what, pb_errbuf *eb)
{
	return s ? name_ok(s, what, eb) : PB_OK;
}

/* A required text: a message, a payload, JSON. */
static pb_err text_ok(const char *s, const char *what, pb_errbuf *eb)
{
	size_t n;

	if (!s)
		return bad(eb, what, "is missing");
	n = strlen(s);
	if (n > PB_STORE_MAX_PAYLOAD)
		return bad(eb, what, "is too long");
	if (!pb_utf8_valid(s, n))
		return bad(eb, what, "is not valid UTF-8");
	return PB_OK;
}

static pb_err opt_text_ok(const char *s, const char *what, pb_errbuf *eb)
{
	return s ? text_ok(s, what, eb) : PB_OK;
}

static pb_err id_ok(pb_id id, const char *what, pb_errbuf *eb)
{
	return id > 0 ? PB_OK : bad(eb, what, "is not a valid id");
}

#define CHECK(x)                                                                           \
	do {                                                                               \
		pb_err e_ = (x);                                                           \
		if (e_)                                                                    \
			return e_;                                                         \
	} while (0)

/* ---- lifecycle and transactions ---- */

pb_err pb_store_open(const char *where, const pb_store_opts *opts, pb_store **out,
		     pb_errbuf *eb)
{
	pb_store_opts o = {false, 0, 0};
	const pb_store_ops *ops = NULL;
	const char *rest = where;
	size_t i;
	pb_err err;

	*out = NULL;
	if (!where || !*where)
		return pb_errf(eb, PB_EINVAL, "store: no database given");
	if (opts)
		o = *opts;
	if (o.busy_timeout_ms <= 0)
		o.busy_timeout_ms = 5000;
	if (o.max_version < 0 || o.max_version > PB_STORE_SCHEMA_VERSION)
		return pb_errf(eb, PB_EINVAL, "store: no schema version %d", o.max_version);
	for (i = 0; i < sizeof backends / sizeof backends[0]; i++) {
		size_t n = strlen(backends[i]->scheme);
		if (!strncmp(where, backends[i]->scheme, n)) {
			ops = backends[i];
			rest = where + n;
			break;
		}
	}
	if (!ops) {
		/* A URL with a scheme nobody handles is a mistake, not a
		 * file name: "postgresql://..." must not create a file. */
		const char *colon = strstr(where, "://");
		if (colon)
			return pb_errf(eb, PB_EINVAL, "store: no backend for '%.*s' databases",
				       (int)(colon - where), where);
		ops = backends[0];
	}
	if (!*rest)
		return pb_errf(eb, PB_EINVAL, "store: no database path in '%s'", where);
	err = ops->open(rest, &o, out, eb);
	if (err)
		return err;
	(*out)->ops = ops;
	(*out)->depth = 0;
	return PB_OK;
}

void pb_store_close(pb_store *st)
{
	if (!st)
		return;
	while (st->depth > 0)
		pb_store_rollback(st);
	st->ops->close(st);
}

const char *pb_store_backend(const pb_store *st)
{
	return st->ops->name;
}

int pb_store_version(const pb_store *st)
{
	return st->version;
}

int pb_store_depth(const pb_store *st)
{
	return st->depth;
}

pb_err pb_store_begin(pb_store *st, pb_errbuf *eb)
{
	pb_err err = st->ops->begin(st, st->depth + 1, eb);

	if (!err)
		st->depth++;
	return err;
}

pb_err pb_store_commit(pb_store *st, pb_errbuf *eb)
{
	pb_err err;

	if (st->depth <= 0)
		return pb_errf(eb, PB_ESTATE, "store: commit without a transaction");
	err = st->ops->commit(st, st->depth, eb);
	if (!err)
		st->depth--;
	return err;
}

void pb_store_rollback(pb_store *st)
{
	if (st->depth <= 0)
		return;
	st->ops->rollback(st, st->depth);
	st->depth--;
}

/* ---- operations: check, then dispatch ---- */

pb_err pb_store_conversation_upsert(pb_store *st, const char *channel, const char *conversation,
				    const char *buyer, int64_t at, pb_id *id, pb_errbuf *eb)
{
	CHECK(name_ok(channel, "channel", eb));
	CHECK(name_ok(conversation, "conversation", eb));
	CHECK(opt_name_ok(buyer, "buyer", eb));
	return st->ops->conversation_upsert(st, channel, conversation, buyer, at, id, eb);
}

pb_err pb_store_message_add(pb_store *st, const pb_store_message *m, pb_id *id, pb_errbuf *eb)
{
	CHECK(name_ok(m->channel, "message channel", eb));
	CHECK(name_ok(m->external_id, "message id", eb));
	CHECK(id_ok(m->conversation_id, "message conversation", eb));
	CHECK(text_ok(m->text, "message text", eb));
	CHECK(opt_name_ok(m->author, "message author", eb));
	CHECK(opt_text_ok(m->verdict, "message verdict", eb));
	if (strcmp(m->direction, "in") && strcmp(m->direction, "out"))
		return bad(eb, "message direction", "must be \"in\" or \"out\"");
	return st->ops->message_add(st, m, id, eb);
}

pb_err pb_store_message_get(pb_store *st, const char *channel, const char *external_id,
			    pb_store_message *out, pb_errbuf *eb)
{
	memset(out, 0, sizeof *out);
	CHECK(name_ok(channel, "channel", eb));
	CHECK(name_ok(external_id, "message id", eb));
	return st->ops->message_get(st, channel, external_id, out, eb);
}

pb_err pb_store_message_list(pb_store *st, pb_id case_id, pb_store_messages *out, pb_errbuf *eb)
{
	memset(out, 0, sizeof *out);
	return st->ops->message_list(st, case_id, out, eb);
}

pb_err pb_store_order_put(pb_store *st, const char *channel, const char *order_id,
			  const char *json, int64_t at, pb_id *id, pb_errbuf *eb)
{
	CHECK(name_ok(channel, "channel", eb));
	CHECK(name_ok(order_id, "order id", eb));
	CHECK(text_ok(json, "order", eb));
	return st->ops->order_put(st, channel, order_id, json, at, id, eb);
}

pb_err pb_store_order_get(pb_store *st, pb_id id, char **json, pb_errbuf *eb)
{
	*json = NULL;
	return st->ops->order_get(st, id, json, eb);
}

pb_err pb_store_order_find(pb_store *st, const char *channel, const char *order_id, pb_id *id,
			   char **json, pb_errbuf *eb)
{
	pb_id v = 0;
	char *j = NULL;
	pb_err err;

	if (json)
		*json = NULL;
	CHECK(opt_name_ok(channel, "channel", eb));
	CHECK(name_ok(order_id, "order id", eb));
	err = st->ops->order_find(st, channel, order_id, &v, &j, eb);
	if (err)
		return err;
	if (id)
		*id = v;
	if (json)
		*json = j;
	else
		free(j);
	return PB_OK;
}

pb_err pb_store_order_list(pb_store *st, pb_store_orders *out, pb_errbuf *eb)
{
	memset(out, 0, sizeof *out);
	return st->ops->order_list(st, out, eb);
}

pb_err pb_store_parcel_put(pb_store *st, const pb_store_parcel *p, pb_id *id, pb_errbuf *eb)
{
	CHECK(name_ok(p->carrier, "parcel carrier", eb));
	CHECK(name_ok(p->number, "parcel number", eb));
	CHECK(opt_text_ok(p->trace, "parcel trace", eb));
	CHECK(opt_text_ok(p->assessment, "parcel assessment", eb));
	return st->ops->parcel_put(st, p, id, eb);
}

pb_err pb_store_parcel_get(pb_store *st, pb_id id, pb_store_parcel *out, pb_errbuf *eb)
{
	memset(out, 0, sizeof *out);
	return st->ops->parcel_get(st, id, out, eb);
}

pb_err pb_store_track_put(pb_store *st, const char *carrier, const char *number,
			  const char *json, int64_t fetched_at, pb_errbuf *eb)
{
	CHECK(name_ok(carrier, "carrier", eb));
	CHECK(name_ok(number, "tracking number", eb));
	CHECK(text_ok(json, "trace", eb));
	return st->ops->track_put(st, carrier, number, json, fetched_at, eb);
}

pb_err pb_store_track_get(pb_store *st, const char *carrier, const char *number, char **json,
			  int64_t *fetched_at, pb_errbuf *eb)
{
	*json = NULL;
	CHECK(name_ok(carrier, "carrier", eb));
	CHECK(name_ok(number, "tracking number", eb));
	return st->ops->track_get(st, carrier, number, json, fetched_at, eb);
}

static pb_err case_fields_ok(const pb_store_case *c, pb_errbuf *eb)
{
	CHECK(name_ok(c->state, "case state", eb));
	CHECK(opt_name_ok(c->owner, "case owner", eb));
	CHECK(opt_name_ok(c->outcome, "case outcome", eb));
	if (c->severity < 0 || c->severity > 3)
		return bad(eb, "case severity", "must be 0 to 3");
	if (c->contacts < 0)
		return bad(eb, "case contacts", "must not be negative");
	return PB_OK;
}

pb_err pb_store_case_insert(pb_store *st, pb_store_case *c, pb_errbuf *eb)
{
	CHECK(name_ok(c->scope, "case scope", eb));
	CHECK(name_ok(c->kind, "case kind", eb));
	CHECK(name_ok(c->origin, "case origin", eb));
	CHECK(case_fields_ok(c, eb));
	return st->ops->case_insert(st, c, eb);
}

pb_err pb_store_case_update(pb_store *st, const pb_store_case *c, pb_errbuf *eb)
{
	CHECK(id_ok(c->id, "case", eb));
	CHECK(case_fields_ok(c, eb));
	return st->ops->case_update(st, c, eb);
}

pb_err pb_store_case_get(pb_store *st, pb_id id, pb_store_case *out, pb_errbuf *eb)
{
	memset(out, 0, sizeof *out);
	return st->ops->case_get(st, id, out, eb);
}

pb_err pb_store_case_find_open(pb_store *st, const char *scope, const char *kind,
			       pb_store_case *out, pb_errbuf *eb)
{
	memset(out, 0, sizeof *out);
	CHECK(name_ok(scope, "case scope", eb));
	CHECK(opt_name_ok(kind, "case kind", eb));
	return st->ops->case_find_open(st, scope, kind, out, eb);
}

pb_err pb_store_case_for_conversation(pb_store *st, const char *channel,
				     const char *conversation, pb_store_case *out, pb_errbuf *eb)
{
	memset(out, 0, sizeof *out);
	CHECK(name_ok(channel, "channel", eb));
	CHECK(name_ok(conversation, "conversation", eb));
	return st->ops->case_for_conversation(st, channel, conversation, out, eb);
}

pb_err pb_store_case_list(pb_store *st, const pb_store_case_filter *f, pb_store_cases *out,
			  pb_errbuf *eb)
{
	pb_store_case_filter none = {NULL, 0, 0};

	memset(out, 0, sizeof *out);
	if (!f)
		f = &none;
	CHECK(opt_name_ok(f->state, "case state", eb));
	return st->ops->case_list(st, f, out, eb);
}

pb_err pb_store_case_opened(pb_store *st, int64_t from, int64_t to, pb_store_cases *out,
			    pb_errbuf *eb)
{
	memset(out, 0, sizeof *out);
	if (to < from)
		return pb_errf(eb, PB_EINVAL, "the range ends before it starts");
	return st->ops->case_opened(st, from, to, out, eb);
}

pb_err pb_store_event_add(pb_store *st, const pb_store_event *e, pb_id *id, pb_errbuf *eb)
{
	CHECK(id_ok(e->case_id, "event case", eb));
	CHECK(name_ok(e->actor, "event actor", eb));
	CHECK(name_ok(e->what, "event kind", eb));
	CHECK(opt_name_ok(e->from_state, "event from-state", eb));
	CHECK(name_ok(e->to_state, "event to-state", eb));
	CHECK(opt_text_ok(e->note, "event note", eb));
	return st->ops->event_add(st, e, id, eb);
}

pb_err pb_store_event_list(pb_store *st, pb_id case_id, pb_store_events *out, pb_errbuf *eb)
{
	memset(out, 0, sizeof *out);
	return st->ops->event_list(st, case_id, out, eb);
}

pb_err pb_store_draft_add(pb_store *st, pb_store_draft *d, pb_errbuf *eb)
{
	CHECK(id_ok(d->case_id, "draft case", eb));
	CHECK(text_ok(d->text, "draft text", eb));
	CHECK(opt_name_ok(d->template_id, "draft template", eb));
	CHECK(opt_text_ok(d->brief, "draft brief", eb));
	CHECK(opt_text_ok(d->compensation, "draft compensation", eb));
	CHECK(opt_text_ok(d->checklist, "draft checklist", eb));
	CHECK(opt_text_ok(d->reasons, "draft reasons", eb));
	CHECK(opt_text_ok(d->lint, "draft lint", eb));
	CHECK(opt_text_ok(d->assessment, "draft assessment", eb));
	CHECK(name_ok(d->action, "draft action", eb));
	CHECK(name_ok(d->state, "draft state", eb));
	return st->ops->draft_add(st, d, eb);
}

pb_err pb_store_draft_get(pb_store *st, pb_id id, pb_store_draft *out, pb_errbuf *eb)
{
	memset(out, 0, sizeof *out);
	return st->ops->draft_get(st, id, out, eb);
}

pb_err pb_store_draft_latest(pb_store *st, pb_id case_id, pb_store_draft *out, pb_errbuf *eb)
{
	memset(out, 0, sizeof *out);
	return st->ops->draft_latest(st, case_id, out, eb);
}

pb_err pb_store_draft_set_state(pb_store *st, pb_id id, const char *state, pb_errbuf *eb)
{
	CHECK(name_ok(state, "draft state", eb));
	return st->ops->draft_set_state(st, id, state, eb);
}

pb_err pb_store_draft_supersede(pb_store *st, pb_id case_id, pb_id keep, size_t *n,
				pb_errbuf *eb)
{
	size_t dummy;

	return st->ops->draft_supersede(st, case_id, keep, n ? n : &dummy, eb);
}

pb_err pb_store_draft_list(pb_store *st, pb_id case_id, const char *state, pb_store_drafts *out,
			   pb_errbuf *eb)
{
	memset(out, 0, sizeof *out);
	CHECK(opt_name_ok(state, "draft state", eb));
	return st->ops->draft_list(st, case_id, state, out, eb);
}

pb_err pb_store_decision_add(pb_store *st, const pb_store_decision *d, pb_id *id, pb_errbuf *eb)
{
	CHECK(id_ok(d->case_id, "decision case", eb));
	CHECK(name_ok(d->kind, "decision kind", eb));
	CHECK(name_ok(d->agent, "decision agent", eb));
	CHECK(opt_text_ok(d->text, "decision text", eb));
	CHECK(opt_text_ok(d->lint, "decision lint", eb));
	CHECK(opt_text_ok(d->reason, "decision reason", eb));
	return st->ops->decision_add(st, d, id, eb);
}

pb_err pb_store_decision_list(pb_store *st, pb_id case_id, pb_store_decisions *out,
			      pb_errbuf *eb)
{
	memset(out, 0, sizeof *out);
	return st->ops->decision_list(st, case_id, out, eb);
}

pb_err pb_store_note_add(pb_store *st, const pb_store_note *n, pb_id *id, pb_errbuf *eb)
{
	CHECK(id_ok(n->case_id, "note case", eb));
	CHECK(name_ok(n->agent, "note agent", eb));
	CHECK(text_ok(n->text, "note text", eb));
	if (!*n->text)
		return bad(eb, "note text", "is empty");
	return st->ops->note_add(st, n, id, eb);
}

pb_err pb_store_note_list(pb_store *st, pb_id case_id, pb_store_notes *out, pb_errbuf *eb)
{
	memset(out, 0, sizeof *out);
	return st->ops->note_list(st, case_id, out, eb);
}

pb_err pb_store_reminder_add(pb_store *st, const pb_store_reminder *r, pb_id *id, pb_errbuf *eb)
{
	CHECK(id_ok(r->case_id, "reminder case", eb));
	CHECK(name_ok(r->kind, "reminder kind", eb));
	CHECK(opt_text_ok(r->source, "reminder source", eb));
	return st->ops->reminder_add(st, r, id, eb);
}

pb_err pb_store_reminder_complete(pb_store *st, pb_id case_id, const char *const *kinds,
				  int64_t at, size_t *n, pb_errbuf *eb)
{
	size_t dummy, i;

	for (i = 0; kinds && kinds[i]; i++)
		CHECK(name_ok(kinds[i], "reminder kind", eb));
	return st->ops->reminder_complete(st, case_id, kinds, at, n ? n : &dummy, eb);
}

pb_err pb_store_reminder_escalate(pb_store *st, pb_id id, int64_t at, pb_errbuf *eb)
{
	return st->ops->reminder_escalate(st, id, at, eb);
}

pb_err pb_store_reminder_list(pb_store *st, pb_id case_id, pb_store_reminders *out,
			      pb_errbuf *eb)
{
	memset(out, 0, sizeof *out);
	return st->ops->reminder_list(st, case_id, out, eb);
}

pb_err pb_store_reminder_due(pb_store *st, int64_t until, pb_store_reminders *out,
			     pb_errbuf *eb)
{
	memset(out, 0, sizeof *out);
	return st->ops->reminder_due(st, until, out, eb);
}

pb_err pb_store_inbox_put(pb_store *st, const char *channel, const char *external_id,
			  const char *payload, int64_t received_at, pb_id *id, pb_errbuf *eb)
{
	CHECK(name_ok(channel, "inbox channel", eb));
	CHECK(name_ok(external_id, "inbox event id", eb));
	CHECK(text_ok(payload, "inbox payload", eb));
	return st->ops->inbox_put(st, channel, external_id, payload, received_at, id, eb);
}

pb_err pb_store_inbox_claim(pb_store *st, const char *worker, int64_t now, int64_t lease,
			    size_t max, pb_store_inbox_rows *out, pb_errbuf *eb)
{
	memset(out, 0, sizeof *out);
	CHECK(name_ok(worker, "worker", eb));
	if (lease <= 0)
		return bad(eb, "claim lease", "must be positive");
	if (!max)
		return PB_OK;
	return st->ops->inbox_claim(st, worker, now, lease, max, out, eb);
}

pb_err pb_store_inbox_done(pb_store *st, pb_id id, int64_t at, pb_errbuf *eb)
{
	return st->ops->inbox_done(st, id, at, eb);
}

pb_err pb_store_inbox_fail(pb_store *st, pb_id id, int64_t at, const char *error, bool give_up,
			   pb_errbuf *eb)
{
	CHECK(text_ok(error, "inbox error", eb));
	return st->ops->inbox_fail(st, id, at, error, give_up, eb);
}

pb_err pb_store_inbox_release(pb_store *st, const char *worker, pb_errbuf *eb)
{
	CHECK(name_ok(worker, "worker", eb));
	return st->ops->inbox_release(st, worker, eb);
}

pb_err pb_store_inbox_get(pb_store *st, pb_id id, pb_store_inbox_row *out, pb_errbuf *eb)
{
	memset(out, 0, sizeof *out);
	return st->ops->inbox_get(st, id, out, eb);
}

pb_err pb_store_inbox_counts(pb_store *st, size_t *pending, size_t *failed, pb_errbuf *eb)
{
	return st->ops->inbox_counts(st, pending, failed, eb);
}

pb_err pb_store_outbox_put(pb_store *st, const pb_store_outbox_row *r, pb_id *id, pb_errbuf *eb)
{
	CHECK(name_ok(r->key, "outbox key", eb));
	CHECK(name_ok(r->kind, "outbox kind", eb));
	CHECK(name_ok(r->channel, "outbox channel", eb));
	CHECK(text_ok(r->payload, "outbox payload", eb));
	return st->ops->outbox_put(st, r, id, eb);
}

pb_err pb_store_outbox_get(pb_store *st, pb_id id, pb_store_outbox_row *out, pb_errbuf *eb)
{
	memset(out, 0, sizeof *out);
	return st->ops->outbox_get(st, id, out, eb);
}

pb_err pb_store_outbox_due(pb_store *st, int64_t now, size_t max, pb_store_outbox_rows *out,
			   pb_errbuf *eb)
{
	memset(out, 0, sizeof *out);
	if (!max)
		return PB_OK;
	return st->ops->outbox_due(st, now, max, out, eb);
}

pb_err pb_store_outbox_sent(pb_store *st, pb_id id, int64_t at, pb_errbuf *eb)
{
	return st->ops->outbox_sent(st, id, at, eb);
}

pb_err pb_store_outbox_wake(pb_store *st, int64_t now, int64_t horizon, size_t *woken,
			    pb_errbuf *eb)
{
	size_t n = 0;
	pb_err err = st->ops->outbox_wake(st, now, horizon, &n, eb);

	if (woken)
		*woken = n;
	return err;
}

pb_err pb_store_outbox_retry(pb_store *st, pb_id id, int64_t next_attempt_at,
			     const char *error, pb_errbuf *eb)
{
	CHECK(opt_text_ok(error, "outbox error", eb));
	return st->ops->outbox_retry(st, id, next_attempt_at, error, eb);
}

pb_err pb_store_outbox_list(pb_store *st, pb_id case_id, pb_store_outbox_rows *out,
			    pb_errbuf *eb)
{
	memset(out, 0, sizeof *out);
	return st->ops->outbox_list(st, case_id, out, eb);
}

pb_err pb_store_agent_touch(pb_store *st, const char *name, const char *role, int64_t at,
			    pb_errbuf *eb)
{
	CHECK(name_ok(name, "agent name", eb));
	if (role && strcmp(role, "agent") && strcmp(role, "supervisor"))
		return bad(eb, "agent role", "must be \"agent\" or \"supervisor\"");
	return st->ops->agent_touch(st, name, role, at, eb);
}

pb_err pb_store_agent_get(pb_store *st, const char *name, pb_store_agent *out, pb_errbuf *eb)
{
	memset(out, 0, sizeof *out);
	CHECK(name_ok(name, "agent name", eb));
	return st->ops->agent_get(st, name, out, eb);
}

static pb_err role_ok(const char *role, pb_errbuf *eb)
{
	if (role && strcmp(role, "agent") && strcmp(role, "supervisor"))
		return bad(eb, "agent role", "must be \"agent\" or \"supervisor\"");
	return PB_OK;
}

/* A hex SHA-256, as session tokens are kept. */
static pb_err hex64_ok(const char *s, const char *what, pb_errbuf *eb)
{
	size_t i;

	if (!s || strlen(s) != 64)
		return bad(eb, what, "must be 64 hex digits");
	for (i = 0; i < 64; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return bad(eb, what, "must be 64 hex digits");
	return PB_OK;
}

pb_err pb_store_agent_add(pb_store *st, const char *name, const char *role,
			  const char *password_hash, int64_t at, pb_errbuf *eb)
{
	CHECK(name_ok(name, "agent name", eb));
	CHECK(role_ok(role, eb));
	CHECK(name_ok(password_hash, "password hash", eb));
	return st->ops->agent_add(st, name, role ? role : "agent", password_hash, at, eb);
}

pb_err pb_store_agent_set_password(pb_store *st, const char *name, const char *password_hash,
				   pb_errbuf *eb)
{
	CHECK(name_ok(name, "agent name", eb));
	CHECK(name_ok(password_hash, "password hash", eb));
	return st->ops->agent_set_password(st, name, password_hash, eb);
}

pb_err pb_store_agent_remove(pb_store *st, const char *name, pb_errbuf *eb)
{
	CHECK(name_ok(name, "agent name", eb));
	return st->ops->agent_remove(st, name, eb);
}

pb_err pb_store_agent_list(pb_store *st, pb_store_agents *out, pb_errbuf *eb)
{
	memset(out, 0, sizeof *out);
	return st->ops->agent_list(st, out, eb);
}

pb_err pb_store_session_add(pb_store *st, const pb_store_session *s, pb_errbuf *eb)
{
	CHECK(hex64_ok(s->token_hash, "session token hash", eb));
	CHECK(hex64_ok(s->csrf, "session csrf token", eb));
	CHECK(name_ok(s->agent, "session agent", eb));
	if (s->expires_at <= s->created_at)
		return bad(eb, "session", "must expire after it is created");
	return st->ops->session_add(st, s, eb);
}

pb_err pb_store_session_get(pb_store *st, const char *token_hash, int64_t now,
			    pb_store_session *out, pb_errbuf *eb)
{
	memset(out, 0, sizeof *out);
	CHECK(hex64_ok(token_hash, "session token hash", eb));
	return st->ops->session_get(st, token_hash, now, out, eb);
}

pb_err pb_store_session_delete(pb_store *st, const char *token_hash, int64_t now,
			       pb_errbuf *eb)
{
	CHECK(hex64_ok(token_hash, "session token hash", eb));
	return st->ops->session_delete(st, token_hash, now, eb);
}

pb_err pb_store_case_counts(pb_store *st, const char *by, pb_store_counts *out, pb_errbuf *eb)
{
	memset(out, 0, sizeof *out);
	if (!by || (strcmp(by, "state") && strcmp(by, "severity") && strcmp(by, "kind") &&
		    strcmp(by, "carrier")))
		return bad(eb, "case count", "must be by state, severity, kind or carrier");
	return st->ops->case_counts(st, by, out, eb);
}

pb_err pb_store_decision_counts(pb_store *st, int64_t since, pb_store_counts *out,
				pb_errbuf *eb)
{
	memset(out, 0, sizeof *out);
	return st->ops->decision_counts(st, since, out, eb);
}

pb_err pb_store_first_reply_stats(pb_store *st, int64_t since, int64_t *n, double *mean_s,
				  pb_errbuf *eb)
{
	*n = 0;
	*mean_s = 0;
	return st->ops->first_reply_stats(st, since, n, mean_s, eb);
}

/* ---- lists and releases ---- */

void *pb_store_list_push(void *vp, size_t *n, size_t size)
{
	char **v = vp;
	char *nv;

	/* Grow at 0 and at every power of two: amortised doubling without a
	 * capacity field in the public list types. */
	if (*n == 0 || (*n >= 8 && !(*n & (*n - 1)))) {
		size_t cap = *n ? *n * 2 : 8;
		nv = realloc(*v, cap * size);
		if (!nv)
			return NULL;
		*v = nv;
	}
	memset(*v + *n * size, 0, size);
	return *v + (*n)++ * size;
}

void pb_store_message_release(pb_store_message *m)
{
	free(m->channel);
	free(m->external_id);
	free(m->author);
	free(m->text);
	free(m->verdict);
	memset(m, 0, sizeof *m);
}

void pb_store_parcel_release(pb_store_parcel *p)
{
	free(p->carrier);
	free(p->number);
	free(p->trace);
	free(p->assessment);
	memset(p, 0, sizeof *p);
}

void pb_store_order_release(pb_store_order *o)
{
	free(o->channel);
	free(o->order_id);
	free(o->json);
	memset(o, 0, sizeof *o);
}

void pb_store_orders_release(pb_store_orders *l)
{
	size_t i;

	for (i = 0; l->v && i < l->n; i++)
		pb_store_order_release(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void pb_store_case_release(pb_store_case *c)
{
	free(c->scope);
	free(c->kind);
	free(c->owner);
	free(c->outcome);
	free(c->channel);
	free(c->conversation);
	free(c->buyer);
	free(c->order_ref);
	free(c->carrier);
	free(c->number);
	memset(c, 0, sizeof *c);
}

void pb_store_event_release(pb_store_event *e)
{
	free(e->actor);
	free(e->what);
	free(e->from_state);
	free(e->to_state);
	free(e->note);
	memset(e, 0, sizeof *e);
}

void pb_store_draft_release(pb_store_draft *d)
{
	free(d->text);
	free(d->template_id);
	free(d->brief);
	free(d->compensation);
	free(d->checklist);
	free(d->reasons);
	free(d->lint);
	free(d->assessment);
	memset(d, 0, sizeof *d);
}

void pb_store_decision_release(pb_store_decision *d)
{
	free(d->agent);
	free(d->text);
	free(d->lint);
	free(d->reason);
	memset(d, 0, sizeof *d);
}

void pb_store_note_release(pb_store_note *n)
{
	free(n->agent);
	free(n->text);
	memset(n, 0, sizeof *n);
}

void pb_store_reminder_release(pb_store_reminder *r)
{
	free(r->source);
	memset(r, 0, sizeof *r);
}

void pb_store_inbox_row_release(pb_store_inbox_row *r)
{
	free(r->channel);
	free(r->external_id);
	free(r->payload);
	free(r->claimed_by);
	free(r->error);
	memset(r, 0, sizeof *r);
}

void pb_store_outbox_row_release(pb_store_outbox_row *r)
{
	free(r->key);
	free(r->kind);
	free(r->channel);
	free(r->payload);
	free(r->last_error);
	memset(r, 0, sizeof *r);
}

void pb_store_agent_release(pb_store_agent *a)
{
	free(a->name);
	free(a->password_hash);
	memset(a, 0, sizeof *a);
}

void pb_store_session_release(pb_store_session *s)
{
	free(s->agent);
	memset(s, 0, sizeof *s);
}

static void count_release(pb_store_count *c)
{
	free(c->key);
}

#define LIST_RELEASE(fn, list_t, one)                                                      \
	void fn(list_t *l) /* NOLINT(bugprone-macro-parentheses): a type */                \
	{                                                                                  \
		size_t i;                                                                  \
		for (i = 0; i < l->n; i++)                                                 \
			one(&l->v[i]);                                                     \
		free(l->v);                                                                \
		l->v = NULL;                                                               \
		l->n = 0;                                                                  \
	}

LIST_RELEASE(pb_store_messages_release, pb_store_messages, pb_store_message_release)
LIST_RELEASE(pb_store_cases_release, pb_store_cases, pb_store_case_release)
LIST_RELEASE(pb_store_events_release, pb_store_events, pb_store_event_release)
LIST_RELEASE(pb_store_drafts_release, pb_store_drafts, pb_store_draft_release)
LIST_RELEASE(pb_store_decisions_release, pb_store_decisions, pb_store_decision_release)
LIST_RELEASE(pb_store_notes_release, pb_store_notes, pb_store_note_release)
LIST_RELEASE(pb_store_reminders_release, pb_store_reminders, pb_store_reminder_release)
LIST_RELEASE(pb_store_inbox_rows_release, pb_store_inbox_rows, pb_store_inbox_row_release)
LIST_RELEASE(pb_store_outbox_rows_release, pb_store_outbox_rows, pb_store_outbox_row_release)
LIST_RELEASE(pb_store_agents_release, pb_store_agents, pb_store_agent_release)
LIST_RELEASE(pb_store_counts_release, pb_store_counts, count_release)
