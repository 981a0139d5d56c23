/*
 * The store through its public API against real SQLite files: every
 * table's operations, uniqueness and dedupe, the inbox claim (also from
 * several threads at once), transactions and savepoints, and migrations:
 * a database from the previous schema version opened with its data
 * intact, and one from a newer parcelbot refused.
 */
#include "testutil.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "parcelbot/store.h"

typedef struct fx {
	char *dir;
	char path[512];
	pb_store *st;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	pb_store_opts o = {true, 0, 0};
	pb_errbuf eb;

	f->dir = tu_mkdtemp();
	snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
	if (pb_store_open(f->path, &o, &f->st, &eb)) {
		fprintf(stderr, "%s\n", eb.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	pb_store_close(f->st);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* A conversation, and a case on it in the given state. */
static pb_id mk_case(pb_store *st, const char *scope, const char *kind, const char *state)
{
	pb_store_case c;
	pb_errbuf eb;
	pb_id conv;

	assert_int_equal(pb_store_conversation_upsert(st, "cli", "c1", "b1", 100, &conv, &eb), PB_OK);
	memset(&c, 0, sizeof c);
	c.scope = (char *)scope;
	c.kind = (char *)kind;
	strcpy(c.origin, "buyer");
	strcpy(c.state, state);
	strcpy(c.lang, "zh");
	c.conversation_id = conv;
	c.opened_at = c.updated_at = 100;
	assert_int_equal(pb_store_case_insert(st, &c, &eb), PB_OK);
	assert_true(c.id > 0);
	return c.id;
}

static pb_id mk_message(pb_store *st, const char *id, pb_id case_id, int64_t at)
{
	pb_store_message m;
	pb_errbuf eb;
	pb_id conv, mid = 0;

	assert_int_equal(pb_store_conversation_upsert(st, "cli", "c1", NULL, at, &conv, &eb), PB_OK);
	memset(&m, 0, sizeof m);
	m.channel = (char *)"cli";
	m.external_id = (char *)id;
	m.conversation_id = conv;
	m.case_id = case_id;
	strcpy(m.direction, "in");
	m.text = (char *)"物流三天没动了";
	m.at = at;
	assert_int_equal(pb_store_message_add(st, &m, &mid, &eb), PB_OK);
	return mid;
}

static pb_id mk_draft(pb_store *st, pb_id case_id, pb_id msg, int *version)
{
	pb_store_draft d;
	pb_errbuf eb;

	memset(&d, 0, sizeof d);
	d.case_id = case_id;
	d.message_id = msg;
	d.created_at = 200;
	d.text = (char *)"亲,非常抱歉";
	d.template_id = (char *)"stuck_parcel.no_update";
	d.severity = 2;
	strcpy(d.action, "draft");
	strcpy(d.lang, "zh");
	d.compensation = (char *)"{\"kind\":\"coupon\"}";
	d.lint = (char *)"[]";
	strcpy(d.state, "pending");
	assert_int_equal(pb_store_draft_add(st, &d, &eb), PB_OK);
	if (version)
		*version = d.version;
	return d.id;
}

/* ---- open, pragmas, errors ---- */

static void test_open_creates_wal_private(void **state)
{
	fx *f = *state;
	sqlite3 *db;
	sqlite3_stmt *s;
	struct stat sb;

	assert_string_equal(pb_store_backend(f->st), "sqlite");
	assert_int_equal(pb_store_version(f->st), PB_STORE_SCHEMA_VERSION);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* WAL is a property of the file: a second connection sees it. */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	sqlite3_close(db);
}

static void test_open_missing_and_bad(void **state)
{
	fx *f = *state;
	pb_store *st = NULL;
	pb_errbuf eb;
	char path[600];

	snprintf(path, sizeof path, "%s/none.db", f->dir);
	assert_int_equal(pb_store_open(path, NULL, &st, &eb), PB_ENOTFOUND);
	assert_null(st);
	assert_non_null(strstr(eb.msg, "no database"));
	assert_int_equal(pb_store_open("postgresql://db/parcelbot", NULL, &st, &eb), PB_EINVAL);
	assert_non_null(strstr(eb.msg, "no backend for 'postgresql'"));
	assert_int_equal(pb_store_open("", NULL, &st, &eb), PB_EINVAL);
	tu_write(f->dir, "junk.db", "this is not a database, just some text long enough to fail");
	snprintf(path, sizeof path, "%s/junk.db", f->dir);
	assert_int_not_equal(pb_store_open(path, NULL, &st, &eb), PB_OK);
	assert_non_null(strstr(eb.msg, "not a parcelbot database"));
	/* The scheme prefix names the same backend. */
	snprintf(path, sizeof path, "sqlite:%s", f->path);
	assert_int_equal(pb_store_open(path, NULL, &st, &eb), PB_OK);
	pb_store_close(st);
}

static void set_user_version(const char *path, int v)
{
	sqlite3 *db;
	char sql[64];

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void test_newer_database_refused(void **state)
{
	fx *f = *state;
	pb_store *st = NULL;
	pb_errbuf eb;
	char want[64];

	pb_store_close(f->st);
	f->st = NULL;
	set_user_version(f->path, PB_STORE_SCHEMA_VERSION + 7);
	assert_int_equal(pb_store_open(f->path, NULL, &st, &eb), PB_EDB);
	assert_null(st);
	snprintf(want, sizeof want, "schema version %d, newer", PB_STORE_SCHEMA_VERSION + 7);
	assert_non_null(strstr(eb.msg, want));
	snprintf(want, sizeof want, "understands (%d)", PB_STORE_SCHEMA_VERSION);
	assert_non_null(strstr(eb.msg, want));
	/* Put it back so teardown has a store to close. */
	set_user_version(f->path, PB_STORE_SCHEMA_VERSION);
	assert_int_equal(pb_store_open(f->path, NULL, &f->st, &eb), PB_OK);
}

/* A database made by schema version 1, filled, then opened by
 * this one: migrated, with everything it held still there. */
static void test_previous_version_migrates(void **state)
{
	fx *f = *state;
	pb_store_opts old = {true, 0, 1};
	pb_store *st = NULL;
	pb_store_decision d;
	pb_store_note n;
	pb_store_decisions dl;
	pb_store_notes nl;
	pb_store_messages ml;
	pb_store_case c;
	pb_store_agent ag;
	pb_errbuf eb;
	pb_id cid, mid, did;
	char path[600];

	snprintf(path, sizeof path, "%s/old.db", f->dir);
	assert_int_equal(pb_store_open(path, &old, &st, &eb), PB_OK);
	assert_int_equal(pb_store_version(st), 1);
	/* Version 1 has no agents table. */
	assert_int_not_equal(pb_store_agent_touch(st, "amy", NULL, 1, &eb), PB_OK);
	cid = mk_case(st, "order:1", "stuck_parcel", "sent");
	mid = mk_message(st, "m1", cid, 150);
	did = mk_draft(st, cid, mid, NULL);
	memset(&d, 0, sizeof d);
	d.draft_id = did;
	d.case_id = cid;
	strcpy(d.kind, "approve_edited");
	d.agent = (char *)"amy";
	d.at = 300;
	d.text = (char *)"edited";
	d.lint = (char *)"[{\"code\":\"vague\"}]";
	assert_int_equal(pb_store_decision_add(st, &d, NULL, &eb), PB_OK);
	memset(&n, 0, sizeof n);
	n.case_id = cid;
	n.agent = (char *)"bob";
	n.at = 400;
	n.text = (char *)"carrier says tomorrow";
	assert_int_equal(pb_store_note_add(st, &n, NULL, &eb), PB_OK);
	pb_store_close(st);

	assert_int_equal(pb_store_open(path, NULL, &st, &eb), PB_OK);
	assert_int_equal(pb_store_version(st), PB_STORE_SCHEMA_VERSION);
	assert_int_equal(pb_store_case_get(st, cid, &c, &eb), PB_OK);
	assert_string_equal(c.kind, "stuck_parcel");
	assert_string_equal(c.state, "sent");
	assert_string_equal(c.conversation, "c1");
	pb_store_case_release(&c);
	assert_int_equal(pb_store_message_list(st, cid, &ml, &eb), PB_OK);
	assert_int_equal(ml.n, 1);
	assert_string_equal(ml.v[0].text, "物流三天没动了");
	pb_store_messages_release(&ml);
	assert_int_equal(pb_store_decision_list(st, cid, &dl, &eb), PB_OK);
	assert_int_equal(dl.n, 1);
	assert_string_equal(dl.v[0].text, "edited");
	assert_string_equal(dl.v[0].lint, "[{\"code\":\"vague\"}]");
	pb_store_decisions_release(&dl);
	assert_int_equal(pb_store_note_list(st, cid, &nl, &eb), PB_OK);
	assert_int_equal(nl.n, 1);
	pb_store_notes_release(&nl);
	/* Version 2 filled agents from the names version 1 recorded. */
	assert_int_equal(pb_store_agent_get(st, "amy", &ag, &eb), PB_OK);
	assert_string_equal(ag.role, "agent");
	assert_int_equal(ag.created_at, 300);
	pb_store_agent_release(&ag);
	assert_int_equal(pb_store_agent_get(st, "bob", &ag, &eb), PB_OK);
	assert_int_equal(ag.last_seen_at, 400);
	pb_store_agent_release(&ag);
	pb_store_close(st);
	/* Opening again migrates nothing and changes nothing. */
	assert_int_equal(pb_store_open(path, NULL, &st, &eb), PB_OK);
	assert_int_equal(pb_store_version(st), PB_STORE_SCHEMA_VERSION);
	pb_store_close(st);
}

/* ---- transactions ---- */

static void test_savepoints(void **state)
{
	fx *f = *state;
	pb_store_events l;
	pb_store_event e;
	pb_errbuf eb;
	pb_id cid = mk_case(f->st, "conv:1", "damaged", "new");

	memset(&e, 0, sizeof e);
	e.case_id = cid;
	e.actor = (char *)"t";
	e.what = (char *)"state";
	e.to_state = (char *)"new";
	assert_int_equal(pb_store_begin(f->st, &eb), PB_OK);
	assert_int_equal(pb_store_event_add(f->st, &e, NULL, &eb), PB_OK);
	assert_int_equal(pb_store_begin(f->st, &eb), PB_OK);
	assert_int_equal(pb_store_depth(f->st), 2);
	assert_int_equal(pb_store_event_add(f->st, &e, NULL, &eb), PB_OK);
	pb_store_rollback(f->st); /* only the inner one */
	assert_int_equal(pb_store_commit(f->st, &eb), PB_OK);
	assert_int_equal(pb_store_depth(f->st), 0);
	assert_int_equal(pb_store_event_list(f->st, cid, &l, &eb), PB_OK);
	assert_int_equal(l.n, 1);
	pb_store_events_release(&l);
	assert_int_equal(pb_store_begin(f->st, &eb), PB_OK);
	assert_int_equal(pb_store_event_add(f->st, &e, NULL, &eb), PB_OK);
	pb_store_rollback(f->st);
	assert_int_equal(pb_store_event_list(f->st, cid, &l, &eb), PB_OK);
	assert_int_equal(l.n, 1);
	pb_store_events_release(&l);
	assert_int_equal(pb_store_commit(f->st, &eb), PB_ESTATE);
}

/* ---- conversations, messages, orders, parcels, cache ---- */

static void test_conversations_and_messages(void **state)
{
	fx *f = *state;
	pb_store_message m;
	pb_store_messages l;
	pb_errbuf eb;
	pb_id a, b, c, cid, m1, m2, dup = 0;

	assert_int_equal(pb_store_conversation_upsert(f->st, "cli", "c9", "b9", 10, &a, &eb), PB_OK);
	assert_int_equal(pb_store_conversation_upsert(f->st, "cli", "c9", NULL, 20, &b, &eb), PB_OK);
	assert_int_equal(a, b);
	/* Conversation ids are per channel. */
	assert_int_equal(pb_store_conversation_upsert(f->st, "shopee", "c9", NULL, 20, &c, &eb), PB_OK);
	assert_int_not_equal(a, c);
	assert_int_equal(pb_store_conversation_upsert(f->st, "", "c9", NULL, 20, &c, &eb), PB_EINVAL);

	cid = mk_case(f->st, "conv:9", "stuck_parcel", "new");
	m2 = mk_message(f->st, "late", cid, 500);
	m1 = mk_message(f->st, "early", cid, 100);
	memset(&m, 0, sizeof m);
	m.channel = (char *)"cli";
	m.external_id = (char *)"early";
	m.conversation_id = a;
	strcpy(m.direction, "in");
	m.text = (char *)"again";
	m.at = 999;
	assert_int_equal(pb_store_message_add(f->st, &m, &dup, &eb), PB_EEXIST);
	assert_int_equal(dup, m1);
	strcpy(m.direction, "up");
	m.external_id = (char *)"x";
	assert_int_equal(pb_store_message_add(f->st, &m, NULL, &eb), PB_EINVAL);
	/* A message on a case that does not exist is refused. */
	strcpy(m.direction, "in");
	m.case_id = 424242;
	assert_int_equal(pb_store_message_add(f->st, &m, NULL, &eb), PB_EINVAL);
	assert_int_equal(pb_store_message_list(f->st, cid, &l, &eb), PB_OK);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[0].id, m1); /* oldest first */
	assert_int_equal(l.v[1].id, m2);
	assert_string_equal(l.v[0].channel, "cli");
	pb_store_messages_release(&l);
}

static void test_orders_parcels_cache(void **state)
{
	fx *f = *state;
	pb_store_parcel p, got;
	pb_errbuf eb;
	pb_id o1, o2, p1, p2;
	char *j = NULL;
	int64_t at = 0;

	assert_int_equal(pb_store_order_put(f->st, "cli", "A1", "{\"v\":2}", 200, &o1, &eb), PB_OK);
	/* An older copy processed late does not win. */
	assert_int_equal(pb_store_order_put(f->st, "cli", "A1", "{\"v\":1}", 100, &o2, &eb), PB_OK);
	assert_int_equal(o1, o2);
	assert_int_equal(pb_store_order_get(f->st, o1, &j, &eb), PB_OK);
	assert_string_equal(j, "{\"v\":2}");
	free(j);
	assert_int_equal(pb_store_order_get(f->st, 777, &j, &eb), PB_ENOTFOUND);
	assert_null(j);

	memset(&p, 0, sizeof p);
	p.carrier = (char *)"zto";
	p.number = (char *)"753";
	p.order_id = o1;
	p.updated_at = 100;
	assert_int_equal(pb_store_parcel_put(f->st, &p, &p1, &eb), PB_OK);
	p.trace = (char *)"{\"events\":[]}";
	p.assessment = (char *)"{\"state\":\"in_transit\"}";
	p.order_id = 0; /* keeps the order it had */
	p.updated_at = 200;
	assert_int_equal(pb_store_parcel_put(f->st, &p, &p2, &eb), PB_OK);
	assert_int_equal(p1, p2);
	assert_int_equal(pb_store_parcel_get(f->st, p1, &got, &eb), PB_OK);
	assert_int_equal(got.order_id, o1);
	assert_string_equal(got.trace, "{\"events\":[]}");
	assert_string_equal(got.assessment, "{\"state\":\"in_transit\"}");
	assert_int_equal(got.updated_at, 200);
	pb_store_parcel_release(&got);

	assert_int_equal(pb_store_track_get(f->st, "zto", "753", &j, &at, &eb), PB_ENOTFOUND);
	assert_int_equal(pb_store_track_put(f->st, "zto", "753", "{\"n\":2}", 200, &eb), PB_OK);
	assert_int_equal(pb_store_track_put(f->st, "zto", "753", "{\"n\":1}", 100, &eb), PB_OK);
	assert_int_equal(pb_store_track_get(f->st, "zto", "753", &j, &at, &eb), PB_OK);
	assert_string_equal(j, "{\"n\":2}");
	assert_int_equal(at, 200);
	free(j);
	assert_int_equal(pb_store_track_put(f->st, "zto", "753", "{\"n\":3}", 300, &eb), PB_OK);
	assert_int_equal(pb_store_track_get(f->st, "zto", "753", &j, &at, &eb), PB_OK);
	assert_string_equal(j, "{\"n\":3}");
	free(j);
}

/* ---- cases and events ---- */

static void test_cases(void **state)
{
	fx *f = *state;
	pb_store_case c, got;
	pb_store_cases l;
	pb_store_case_filter flt = {"open", 0, 0};
	pb_errbuf eb;
	pb_id a, b, again;

	a = mk_case(f->st, "order:1", "stuck_parcel", "new");
	b = mk_case(f->st, "order:1", "damaged", "drafted");
	/* One open case per scope and kind. */
	memset(&c, 0, sizeof c);
	c.scope = (char *)"order:1";
	c.kind = (char *)"stuck_parcel";
	strcpy(c.origin, "buyer");
	strcpy(c.state, "new");
	strcpy(c.lang, "zh");
	c.opened_at = c.updated_at = 5;
	assert_int_equal(pb_store_case_insert(f->st, &c, &eb), PB_EEXIST);
	assert_int_equal(c.id, a);
	strcpy(c.state, "bogus");
	c.scope = (char *)"order:2";
	assert_int_equal(pb_store_case_insert(f->st, &c, &eb), PB_EINVAL);

	assert_int_equal(pb_store_case_find_open(f->st, "order:1", "damaged", &got, &eb), PB_OK);
	assert_int_equal(got.id, b);
	pb_store_case_release(&got);
	/* The most recently active one of the scope. */
	assert_int_equal(pb_store_case_get(f->st, a, &got, &eb), PB_OK);
	got.updated_at = 1000;
	got.severity = 3;
	got.contacts = 2;
	assert_int_equal(pb_store_case_update(f->st, &got, &eb), PB_OK);
	pb_store_case_release(&got);
	assert_int_equal(pb_store_case_find_open(f->st, "order:1", NULL, &got, &eb), PB_OK);
	assert_int_equal(got.id, a);
	assert_int_equal(got.severity, 3);
	assert_int_equal(got.contacts, 2);
	assert_string_equal(got.buyer, "b1");
	/* Closed, it no longer blocks a new case of its kind. */
	strcpy(got.state, "closed");
	got.closed_at = 1001;
	assert_int_equal(pb_store_case_update(f->st, &got, &eb), PB_OK);
	pb_store_case_release(&got);
	assert_int_equal(pb_store_case_find_open(f->st, "order:1", "stuck_parcel", &got, &eb),
			 PB_ENOTFOUND);
	again = mk_case(f->st, "order:1", "stuck_parcel", "new");
	assert_int_not_equal(again, a);
	/* Reopening the old one now would make two open: refused. */
	assert_int_equal(pb_store_case_get(f->st, a, &got, &eb), PB_OK);
	strcpy(got.state, "reopened");
	assert_int_equal(pb_store_case_update(f->st, &got, &eb), PB_EEXIST);
	pb_store_case_release(&got);

	assert_int_equal(pb_store_case_list(f->st, &flt, &l, &eb), PB_OK);
	assert_int_equal(l.n, 2);
	pb_store_cases_release(&l);
	flt.state = NULL;
	assert_int_equal(pb_store_case_list(f->st, &flt, &l, &eb), PB_OK);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.v[0].id, a); /* severity 3 first */
	pb_store_cases_release(&l);
	flt.state = "drafted";
	assert_int_equal(pb_store_case_list(f->st, &flt, &l, &eb), PB_OK);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].id, b);
	pb_store_cases_release(&l);
	flt.state = NULL;
	flt.min_severity = 1;
	assert_int_equal(pb_store_case_list(f->st, &flt, &l, &eb), PB_OK);
	assert_int_equal(l.n, 1);
	pb_store_cases_release(&l);
	flt.min_severity = 0;
	flt.limit = 2;
	assert_int_equal(pb_store_case_list(f->st, &flt, &l, &eb), PB_OK);
	assert_int_equal(l.n, 2);
	pb_store_cases_release(&l);
	assert_int_equal(pb_store_case_get(f->st, 999, &got, &eb), PB_ENOTFOUND);
	got.id = 999;
	strcpy(got.state, "new");
	assert_int_equal(pb_store_case_update(f->st, &got, &eb), PB_ENOTFOUND);
}

/* ---- drafts, decisions, notes ---- */

static void test_drafts_decisions_notes(void **state)
{
	fx *f = *state;
	pb_store_draft d, got;
	pb_store_drafts l;
	pb_store_decision dec;
	pb_store_decisions dl;
	pb_store_note n;
	pb_store_notes nl;
	pb_errbuf eb;
	pb_id cid = mk_case(f->st, "order:5", "damaged", "drafted");
	pb_id m1 = mk_message(f->st, "d1", cid, 10), m2 = mk_message(f->st, "d2", cid, 20);
	pb_id d1, d2;
	int v1, v2;
	size_t n_sup;

	d1 = mk_draft(f->st, cid, m1, &v1);
	d2 = mk_draft(f->st, cid, m2, &v2);
	assert_int_equal(v1, 1);
	assert_int_equal(v2, 2);
	/* A message has one draft. */
	memset(&d, 0, sizeof d);
	d.case_id = cid;
	d.message_id = m1;
	d.text = (char *)"x";
	strcpy(d.action, "draft");
	strcpy(d.state, "pending");
	assert_int_equal(pb_store_draft_add(f->st, &d, &eb), PB_EEXIST);
	assert_int_equal(d.id, d1);
	d.message_id = 0;
	strcpy(d.state, "maybe");
	assert_int_equal(pb_store_draft_add(f->st, &d, &eb), PB_EINVAL);

	assert_int_equal(pb_store_draft_latest(f->st, cid, &got, &eb), PB_OK);
	assert_int_equal(got.id, d2);
	assert_string_equal(got.template_id, "stuck_parcel.no_update");
	assert_string_equal(got.compensation, "{\"kind\":\"coupon\"}");
	pb_store_draft_release(&got);
	assert_int_equal(pb_store_draft_supersede(f->st, cid, d2, &n_sup, &eb), PB_OK);
	assert_int_equal(n_sup, 1);
	assert_int_equal(pb_store_draft_get(f->st, d1, &got, &eb), PB_OK);
	assert_string_equal(got.state, "superseded");
	pb_store_draft_release(&got);
	assert_int_equal(pb_store_draft_set_state(f->st, d2, "approved", &eb), PB_OK);
	assert_int_equal(pb_store_draft_list(f->st, 0, "pending", &l, &eb), PB_OK);
	assert_int_equal(l.n, 0);
	pb_store_drafts_release(&l);
	assert_int_equal(pb_store_draft_list(f->st, cid, NULL, &l, &eb), PB_OK);
	assert_int_equal(l.n, 2);
	pb_store_drafts_release(&l);
	assert_int_equal(pb_store_draft_latest(f->st, 4242, &got, &eb), PB_ENOTFOUND);
	assert_int_equal(pb_store_draft_set_state(f->st, 4242, "approved", &eb), PB_ENOTFOUND);

	memset(&dec, 0, sizeof dec);
	dec.draft_id = d1;
	dec.case_id = cid;
	strcpy(dec.kind, "reject");
	dec.agent = (char *)"amy";
	dec.at = 30;
	dec.reason = (char *)"wrong place";
	assert_int_equal(pb_store_decision_add(f->st, &dec, NULL, &eb), PB_OK);
	strcpy(dec.kind, "shrug");
	assert_int_equal(pb_store_decision_add(f->st, &dec, NULL, &eb), PB_EINVAL);
	dec.draft_id = 0; /* escalating a case without a draft */
	strcpy(dec.kind, "escalate");
	assert_int_equal(pb_store_decision_add(f->st, &dec, NULL, &eb), PB_OK);
	assert_int_equal(pb_store_decision_list(f->st, cid, &dl, &eb), PB_OK);
	assert_int_equal(dl.n, 2);
	assert_string_equal(dl.v[0].reason, "wrong place");
	assert_int_equal(dl.v[1].draft_id, 0);
	pb_store_decisions_release(&dl);

	memset(&n, 0, sizeof n);
	n.case_id = cid;
	n.agent = (char *)"amy";
	n.text = (char *)"";
	assert_int_equal(pb_store_note_add(f->st, &n, NULL, &eb), PB_EINVAL);
	n.text = (char *)"photo asked";
	assert_int_equal(pb_store_note_add(f->st, &n, NULL, &eb), PB_OK);
	assert_int_equal(pb_store_note_list(f->st, cid, &nl, &eb), PB_OK);
	assert_int_equal(nl.n, 1);
	assert_string_equal(nl.v[0].text, "photo asked");
	pb_store_notes_release(&nl);
}

/* ---- reminders ---- */

static pb_err add_rem(pb_store *st, pb_id cid, const char *kind, int64_t due, pb_id *id)
{
	pb_store_reminder r;
	pb_errbuf eb;

	memset(&r, 0, sizeof r);
	r.case_id = cid;
	strcpy(r.kind, kind);
	r.due = due;
	r.created_at = 1;
	return pb_store_reminder_add(st, &r, id, &eb);
}

static void test_reminders(void **state)
{
	fx *f = *state;
	static const char *const promise[] = {"promise", NULL};
	pb_store_reminders l;
	pb_errbuf eb;
	pb_id cid = mk_case(f->st, "order:7", "lost_parcel", "sent");
	pb_id r1, r2, r3, dup = 0;
	size_t n;

	assert_int_equal(add_rem(f->st, cid, "first_reply", 100, &r1), PB_OK);
	assert_int_equal(add_rem(f->st, cid, "promise", 300, &r2), PB_OK);
	assert_int_equal(add_rem(f->st, cid, "check_back", 200, &r3), PB_OK);
	assert_int_equal(add_rem(f->st, cid, "promise", 300, &dup), PB_EEXIST);
	assert_int_equal(dup, r2);
	assert_int_equal(add_rem(f->st, cid, "nap", 300, NULL), PB_EINVAL);

	assert_int_equal(pb_store_reminder_due(f->st, 250, &l, &eb), PB_OK);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[0].id, r1); /* soonest first */
	assert_int_equal(l.v[1].id, r3);
	assert_string_equal(l.v[0].case_state, "sent");
	pb_store_reminders_release(&l);

	/* Escalated once, however often asked. */
	assert_int_equal(pb_store_reminder_escalate(f->st, r1, 260, &eb), PB_OK);
	assert_int_equal(pb_store_reminder_escalate(f->st, r1, 270, &eb), PB_ESTATE);
	assert_int_equal(pb_store_reminder_escalate(f->st, 9999, 270, &eb), PB_ENOTFOUND);

	assert_int_equal(pb_store_reminder_complete(f->st, cid, promise, 280, &n, &eb), PB_OK);
	assert_int_equal(n, 1);
	/* Met, the same time promised again is a new deadline. */
	assert_int_equal(add_rem(f->st, cid, "promise", 300, &dup), PB_OK);
	assert_int_not_equal(dup, r2);
	/* Everything but the check-back. */
	assert_int_equal(pb_store_reminder_complete(f->st, cid, NULL, 290, &n, &eb), PB_OK);
	assert_int_equal(n, 2);
	assert_int_equal(pb_store_reminder_escalate(f->st, dup, 300, &eb), PB_ESTATE);
	assert_int_equal(pb_store_reminder_due(f->st, 1000, &l, &eb), PB_OK);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].id, r3);
	pb_store_reminders_release(&l);
	assert_int_equal(pb_store_reminder_list(f->st, cid, &l, &eb), PB_OK);
	assert_int_equal(l.n, 4);
	assert_int_equal(l.v[0].escalated_at, 260);
	assert_int_equal(l.v[0].done_at, 290);
	pb_store_reminders_release(&l);
}

/* ---- inbox ---- */

static void test_inbox(void **state)
{
	fx *f = *state;
	pb_store_inbox_rows l;
	pb_store_inbox_row r;
	pb_errbuf eb;
	pb_id ids[5], dup = 0;
	size_t pending, failed;
	char ext[16];
	int i;

	for (i = 0; i < 5; i++) {
		snprintf(ext, sizeof ext, "e%d", i);
		assert_int_equal(pb_store_inbox_put(f->st, "cli", ext, "{}", 100 + i, &ids[i], &eb),
				 PB_OK);
	}
	assert_int_equal(pb_store_inbox_put(f->st, "cli", "e2", "{\"other\":1}", 200, &dup, &eb),
			 PB_EEXIST);
	assert_int_equal(dup, ids[2]);
	assert_int_equal(pb_store_inbox_put(f->st, "shopee", "e2", "{}", 200, NULL, &eb), PB_OK);

	assert_int_equal(pb_store_inbox_claim(f->st, "w1", 1000, 60, 3, &l, &eb), PB_OK);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.v[0].id, ids[0]); /* oldest first */
	assert_int_equal(l.v[2].id, ids[2]);
	assert_string_equal(l.v[0].claimed_by, "w1");
	pb_store_inbox_rows_release(&l);
	/* Another worker gets only what nobody holds. */
	assert_int_equal(pb_store_inbox_claim(f->st, "w2", 1010, 60, 10, &l, &eb), PB_OK);
	assert_int_equal(l.n, 3);
	pb_store_inbox_rows_release(&l);
	assert_int_equal(pb_store_inbox_claim(f->st, "w3", 1020, 60, 10, &l, &eb), PB_OK);
	assert_int_equal(l.n, 0);
	pb_store_inbox_rows_release(&l);
	/* A worker that restarted takes its rows back at once. */
	assert_int_equal(pb_store_inbox_claim(f->st, "w1", 1030, 60, 10, &l, &eb), PB_OK);
	assert_int_equal(l.n, 3);
	pb_store_inbox_rows_release(&l);
	/* A claim older than the lease is up for grabs. */
	assert_int_equal(pb_store_inbox_claim(f->st, "w3", 1075, 60, 10, &l, &eb), PB_OK);
	assert_int_equal(l.n, 3); /* w2's, claimed at 1010 */
	pb_store_inbox_rows_release(&l);

	assert_int_equal(pb_store_inbox_done(f->st, ids[0], 1100, &eb), PB_OK);
	assert_int_equal(pb_store_inbox_done(f->st, ids[0], 1101, &eb), PB_ESTATE);
	assert_int_equal(pb_store_inbox_done(f->st, 4242, 1101, &eb), PB_ENOTFOUND);
	assert_int_equal(pb_store_inbox_fail(f->st, ids[1], 1100, "busy", false, &eb), PB_OK);
	assert_int_equal(pb_store_inbox_get(f->st, ids[1], &r, &eb), PB_OK);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(r.processed_at, 0);
	assert_null(r.claimed_by);
	assert_string_equal(r.error, "busy");
	pb_store_inbox_row_release(&r);
	assert_int_equal(pb_store_inbox_fail(f->st, ids[2], 1100, "bad order", true, &eb), PB_OK);
	assert_int_equal(pb_store_inbox_fail(f->st, ids[2], 1100, "again", true, &eb), PB_ESTATE);
	assert_int_equal(pb_store_inbox_get(f->st, ids[2], &r, &eb), PB_OK);
	assert_int_equal(r.processed_at, 1100);
	assert_string_equal(r.error, "bad order");
	pb_store_inbox_row_release(&r);
	assert_int_equal(pb_store_inbox_counts(f->st, &pending, &failed, &eb), PB_OK);
	assert_int_equal(pending, 4);
	assert_int_equal(failed, 1);
	/* Released claims are free for anyone. */
	assert_int_equal(pb_store_inbox_release(f->st, "w3", &eb), PB_OK);
	assert_int_equal(pb_store_inbox_claim(f->st, "w4", 1200, 600, 10, &l, &eb), PB_OK);
	assert_int_equal(l.n, 4);
	pb_store_inbox_rows_release(&l);
	assert_int_equal(pb_store_inbox_claim(f->st, "w4", 1200, 0, 10, &l, &eb), PB_EINVAL);
}

/* Several workers, each with its own handle, claim from one inbox at once:
 * every row is claimed by exactly one of them. */
#define N_EVENTS 300
#define N_WORKERS 4

typedef struct claimer {
	const char *path;
	char name[16];
	pb_id got[N_EVENTS];
	size_t n;
	pb_err err;
} claimer;

static void *claim_all(void *arg)
{
	claimer *w = arg;
	pb_store_opts o = {false, 10000, 0};
	pb_store *st = NULL;
	pb_store_inbox_rows l;
	pb_errbuf eb;
	size_t i;

	if ((w->err = pb_store_open(w->path, &o, &st, &eb)))
		return NULL;
	for (;;) {
		if ((w->err = pb_store_inbox_claim(st, w->name, 5000, 3600, 7, &l, &eb)))
			break;
		if (!l.n) {
			pb_store_inbox_rows_release(&l);
			break;
		}
		for (i = 0; i < l.n && w->n < N_EVENTS; i++) {
			w->got[w->n++] = l.v[i].id;
			if ((w->err = pb_store_inbox_done(st, l.v[i].id, 5001, &eb)))
				break;
		}
		pb_store_inbox_rows_release(&l);
		if (w->err)
			break;
	}
	pb_store_close(st);
	return NULL;
}

static void test_inbox_claim_concurrent(void **state)
{
	fx *f = *state;
	pthread_t th[N_WORKERS];
	claimer w[N_WORKERS];
	static unsigned char seen[N_EVENTS + 1];
	pb_errbuf eb;
	size_t total = 0, i;
	char ext[16];
	int k;

	assert_int_equal(pb_store_begin(f->st, &eb), PB_OK);
	for (i = 0; i < N_EVENTS; i++) {
		snprintf(ext, sizeof ext, "ev%zu", i);
		assert_int_equal(pb_store_inbox_put(f->st, "cli", ext, "{}", 1, NULL, &eb), PB_OK);
	}
	assert_int_equal(pb_store_commit(f->st, &eb), PB_OK);
	memset(seen, 0, sizeof seen);
	for (k = 0; k < N_WORKERS; k++) {
		memset(&w[k], 0, sizeof w[k]);
		w[k].path = f->path;
		snprintf(w[k].name, sizeof w[k].name, "w%d", k);
		assert_int_equal(pthread_create(&th[k], NULL, claim_all, &w[k]), 0);
	}
	for (k = 0; k < N_WORKERS; k++)
		assert_int_equal(pthread_join(th[k], NULL), 0);
	for (k = 0; k < N_WORKERS; k++) {
		assert_int_equal(w[k].err, PB_OK);
		for (i = 0; i < w[k].n; i++) {
			assert_true(w[k].got[i] >= 1 && w[k].got[i] <= N_EVENTS);
			assert_int_equal(seen[w[k].got[i]], 0); /* nobody else had it */
			seen[w[k].got[i]] = 1;
		}
		total += w[k].n;
	}
	assert_int_equal(total, N_EVENTS);
}

/* ---- outbox, agents ---- */

static void test_outbox(void **state)
{
	fx *f = *state;
	pb_store_outbox_row r, got;
	pb_store_outbox_rows l;
	pb_errbuf eb;
	pb_id cid = mk_case(f->st, "conv:3", "damaged", "sent");
	pb_id a, b, dup = 0;

	memset(&r, 0, sizeof r);
	r.key = (char *)"send_reply:1";
	r.kind = (char *)"send_reply";
	r.channel = (char *)"cli";
	r.case_id = cid;
	r.payload = (char *)"{\"text\":\"hi\"}";
	r.created_at = 100;
	assert_int_equal(pb_store_outbox_put(f->st, &r, &a, &eb), PB_OK);
	assert_int_equal(pb_store_outbox_put(f->st, &r, &dup, &eb), PB_EEXIST);
	assert_int_equal(dup, a);
	r.key = (char *)"post_draft:2";
	r.kind = (char *)"post_draft";
	r.created_at = 50;
	assert_int_equal(pb_store_outbox_put(f->st, &r, &b, &eb), PB_OK);
	r.key = (char *)"x:1";
	r.kind = (char *)"fax";
	assert_int_equal(pb_store_outbox_put(f->st, &r, NULL, &eb), PB_EINVAL);

	assert_int_equal(pb_store_outbox_due(f->st, 100, 10, &l, &eb), PB_OK);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[0].id, b); /* due first */
	pb_store_outbox_rows_release(&l);
	assert_int_equal(pb_store_outbox_retry(f->st, a, 160, "HTTP 503", &eb), PB_OK);
	assert_int_equal(pb_store_outbox_due(f->st, 100, 10, &l, &eb), PB_OK);
	assert_int_equal(l.n, 1);
	pb_store_outbox_rows_release(&l);
	assert_int_equal(pb_store_outbox_get(f->st, a, &got, &eb), PB_OK);
	assert_int_equal(got.attempts, 1);
	assert_int_equal(got.next_attempt_at, 160);
	assert_string_equal(got.last_error, "HTTP 503");
	pb_store_outbox_row_release(&got);
	assert_int_equal(pb_store_outbox_sent(f->st, a, 170, &eb), PB_OK);
	assert_int_equal(pb_store_outbox_sent(f->st, a, 171, &eb), PB_ESTATE);
	assert_int_equal(pb_store_outbox_retry(f->st, a, 200, NULL, &eb), PB_ESTATE);
	assert_int_equal(pb_store_outbox_sent(f->st, 4242, 171, &eb), PB_ENOTFOUND);
	assert_int_equal(pb_store_outbox_due(f->st, 1000, 10, &l, &eb), PB_OK);
	assert_int_equal(l.n, 1);
	pb_store_outbox_rows_release(&l);
	assert_int_equal(pb_store_outbox_list(f->st, cid, &l, &eb), PB_OK);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[0].sent_at, 170);
	pb_store_outbox_rows_release(&l);

	/* A claim left by a killed sender (next attempt a minute on) is due at
	 * once after wake; a row parked for a day keeps its time; sent rows
	 * are never touched. */
	{
		size_t woken = 9;
		assert_int_equal(pb_store_outbox_retry(f->st, b, 1060, NULL, &eb), PB_OK);
		assert_int_equal(pb_store_outbox_due(f->st, 1000, 10, &l, &eb), PB_OK);
		assert_int_equal(l.n, 0);
		pb_store_outbox_rows_release(&l);
		assert_int_equal(pb_store_outbox_wake(f->st, 1000, 60, &woken, &eb), PB_OK);
		assert_int_equal(woken, 1);
		assert_int_equal(pb_store_outbox_due(f->st, 1000, 10, &l, &eb), PB_OK);
		assert_int_equal(l.n, 1);
		assert_int_equal(l.v[0].id, b);
		assert_int_equal(l.v[0].next_attempt_at, 1000);
		pb_store_outbox_rows_release(&l);
		assert_int_equal(pb_store_outbox_retry(f->st, b, 1000 + 86400, "parked", &eb), PB_OK);
		assert_int_equal(pb_store_outbox_wake(f->st, 1000, 60, &woken, &eb), PB_OK);
		assert_int_equal(woken, 0);
		assert_int_equal(pb_store_outbox_get(f->st, b, &got, &eb), PB_OK);
		assert_int_equal(got.next_attempt_at, 1000 + 86400);
		pb_store_outbox_row_release(&got);
		assert_int_equal(pb_store_outbox_get(f->st, a, &got, &eb), PB_OK);
		assert_int_equal(got.sent_at, 170);
		pb_store_outbox_row_release(&got);
	}
}

static void test_agents(void **state)
{
	fx *f = *state;
	pb_store_agent a;
	pb_errbuf eb;

	assert_int_equal(pb_store_agent_touch(f->st, "amy", NULL, 10, &eb), PB_OK);
	assert_int_equal(pb_store_agent_touch(f->st, "amy", NULL, 5, &eb), PB_OK);
	assert_int_equal(pb_store_agent_get(f->st, "amy", &a, &eb), PB_OK);
	assert_string_equal(a.role, "agent");
	assert_int_equal(a.last_seen_at, 10);
	pb_store_agent_release(&a);
	assert_int_equal(pb_store_agent_touch(f->st, "amy", "supervisor", 20, &eb), PB_OK);
	assert_int_equal(pb_store_agent_touch(f->st, "amy", NULL, 30, &eb), PB_OK);
	assert_int_equal(pb_store_agent_get(f->st, "amy", &a, &eb), PB_OK);
	assert_string_equal(a.role, "supervisor");
	pb_store_agent_release(&a);
	assert_int_equal(pb_store_agent_touch(f->st, "amy", "boss", 20, &eb), PB_EINVAL);
	assert_int_equal(pb_store_agent_get(f->st, "zed", &a, &eb), PB_ENOTFOUND);
}

static void test_input_checked(void **state)
{
	fx *f = *state;
	pb_errbuf eb;
	char big[PB_STORE_MAX_NAME + 2];

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(pb_store_inbox_put(f->st, "cli", big, "{}", 1, NULL, &eb), PB_EINVAL);
	assert_int_equal(pb_store_inbox_put(f->st, "cli", "bad\xff", "{}", 1, NULL, &eb), PB_EINVAL);
	assert_int_equal(pb_store_inbox_put(f->st, "cli", "ok", "\xc3", 1, NULL, &eb), PB_EINVAL);
	assert_non_null(strstr(eb.msg, "UTF-8"));
	assert_int_equal(pb_store_inbox_put(f->st, "cli", NULL, "{}", 1, NULL, &eb), PB_EINVAL);
	assert_int_equal(pb_store_track_put(f->st, "zto", "", "{}", 1, &eb), PB_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_creates_wal_private, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_missing_and_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_database_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_previous_version_migrates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_savepoints, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conversations_and_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_orders_parcels_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drafts_decisions_notes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reminders, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inbox, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inbox_claim_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_input_checked, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
