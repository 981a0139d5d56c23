/*
 * The console's sign-in pieces: yescrypt password hashes and their check,
 * session tokens, the agents' password column and the sessions table
 * (expiry, sign-out, a changed password or a removed agent ending them),
 * the version 2 -> 3 migration, and the status board's counts.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/auth.h"
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

static void test_password_hash(void **state)
{
	char h1[256], h2[256];
	pb_errbuf eb;

	(void)state;
	assert_int_equal(pb_auth_hash("correct horse", h1, sizeof h1, &eb), PB_OK);
	assert_true(!strncmp(h1, "$y$", 3));
	assert_int_equal(pb_auth_hash("correct horse", h2, sizeof h2, &eb), PB_OK);
	assert_string_not_equal(h1, h2); /* a fresh salt each time */
	assert_true(pb_auth_verify("correct horse", h1));
	assert_true(pb_auth_verify("correct horse", h2));
	assert_false(pb_auth_verify("correct horsE", h1));
	assert_false(pb_auth_verify("", h1));
	assert_false(pb_auth_verify("correct horse", ""));
	assert_false(pb_auth_verify("correct horse", NULL));
	assert_false(pb_auth_verify("correct horse", "*0"));
	assert_int_equal(pb_auth_hash("", h1, sizeof h1, &eb), PB_EINVAL);
	assert_int_equal(pb_auth_hash("x", h1, 8, &eb), PB_ETOOBIG);
}

static void test_tokens(void **state)
{
	char a[PB_AUTH_HEX], b[PB_AUTH_HEX], h[PB_AUTH_HEX];
	pb_errbuf eb;

	(void)state;
	assert_int_equal(pb_auth_token(a, &eb), PB_OK);
	assert_int_equal(pb_auth_token(b, &eb), PB_OK);
	assert_int_equal(strlen(a), 64);
	assert_string_not_equal(a, b);
	pb_auth_sha256_hex("abc", h);
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void mk_session(pb_store *st, const char *agent, const char *tok, int64_t at,
		       int64_t ttl, pb_store_session *se)
{
	pb_errbuf eb;

	memset(se, 0, sizeof *se);
	pb_auth_sha256_hex(tok, se->token_hash);
	pb_auth_sha256_hex("csrf", se->csrf);
	se->agent = (char *)agent;
	se->created_at = at;
	se->expires_at = at + ttl;
	assert_int_equal(pb_store_session_add(st, se, &eb), PB_OK);
}

static void test_agents_and_sessions(void **state)
{
	fx *f = *state;
	pb_store_agent ag;
	pb_store_agents l;
	pb_store_session se, got;
	pb_errbuf eb;
	char h[PB_AUTH_HEX];

	assert_true(pb_store_version(f->st) >= 3); /* sessions came with version 3 */
	/* An agent known from a decision, then given a password. */
	assert_int_equal(pb_store_agent_touch(f->st, "amy", NULL, 10, &eb), PB_OK);
	assert_int_equal(pb_store_agent_get(f->st, "amy", &ag, &eb), PB_OK);
	assert_null(ag.password_hash);
	pb_store_agent_release(&ag);
	assert_int_equal(pb_store_agent_add(f->st, "amy", "supervisor", "$y$h1", 20, &eb), PB_OK);
	assert_int_equal(pb_store_agent_add(f->st, "amy", NULL, "$y$h2", 20, &eb), PB_EEXIST);
	assert_int_equal(pb_store_agent_add(f->st, "bob", "boss", "$y$h", 20, &eb), PB_EINVAL);
	assert_int_equal(pb_store_agent_add(f->st, "bob", NULL, "$y$hb", 20, &eb), PB_OK);
	assert_int_equal(pb_store_agent_get(f->st, "amy", &ag, &eb), PB_OK);
	assert_string_equal(ag.password_hash, "$y$h1");
	assert_string_equal(ag.role, "supervisor");
	pb_store_agent_release(&ag);
	assert_int_equal(pb_store_agent_list(f->st, &l, &eb), PB_OK);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].name, "amy");
	assert_string_equal(l.v[1].role, "agent");
	pb_store_agents_release(&l);

	/* Sessions: found until they expire, by the token's hash only. */
	mk_session(f->st, "amy", "tok-1", 100, 50, &se);
	assert_int_equal(pb_store_session_get(f->st, se.token_hash, 120, &got, &eb), PB_OK);
	assert_string_equal(got.agent, "amy");
	assert_string_equal(got.role, "supervisor");
	assert_string_equal(got.csrf, se.csrf);
	pb_store_session_release(&got);
	assert_int_equal(pb_store_session_get(f->st, se.token_hash, 150, &got, &eb), PB_ENOTFOUND);
	pb_auth_sha256_hex("tok-2", h);
	assert_int_equal(pb_store_session_get(f->st, h, 120, &got, &eb), PB_ENOTFOUND);
	assert_int_equal(pb_store_session_get(f->st, "tok-1", 120, &got, &eb), PB_EINVAL);
	se.agent = (char *)"nobody";
	pb_auth_sha256_hex("tok-9", se.token_hash);
	assert_int_equal(pb_store_session_add(f->st, &se, &eb), PB_EINVAL);

	/* Sign-out ends one session; a new password ends them all. */
	mk_session(f->st, "amy", "tok-2", 100, 50, &se);
	mk_session(f->st, "amy", "tok-3", 100, 50, &se);
	mk_session(f->st, "bob", "tok-4", 100, 50, &se);
	pb_auth_sha256_hex("tok-2", h);
	assert_int_equal(pb_store_session_delete(f->st, h, 120, &eb), PB_OK);
	assert_int_equal(pb_store_session_get(f->st, h, 120, &got, &eb), PB_ENOTFOUND);
	pb_auth_sha256_hex("tok-3", h);
	assert_int_equal(pb_store_session_get(f->st, h, 120, &got, &eb), PB_OK);
	pb_store_session_release(&got);
	assert_int_equal(pb_store_agent_set_password(f->st, "amy", "$y$new", &eb), PB_OK);
	assert_int_equal(pb_store_session_get(f->st, h, 120, &got, &eb), PB_ENOTFOUND);
	assert_int_equal(pb_store_agent_set_password(f->st, "zed", "$y$new", &eb), PB_ENOTFOUND);
	/* Removing an agent ends theirs, and no one else's. */
	mk_session(f->st, "amy", "tok-5", 100, 50, &se);
	assert_int_equal(pb_store_agent_remove(f->st, "amy", &eb), PB_OK);
	pb_auth_sha256_hex("tok-5", h);
	assert_int_equal(pb_store_session_get(f->st, h, 120, &got, &eb), PB_ENOTFOUND);
	assert_int_equal(pb_store_agent_remove(f->st, "amy", &eb), PB_ENOTFOUND);
	pb_auth_sha256_hex("tok-4", h);
	assert_int_equal(pb_store_session_get(f->st, h, 120, &got, &eb), PB_OK);
	pb_store_session_release(&got);
}

static void test_migration_from_v2(void **state)
{
	fx *f = *state;
	pb_store_opts old = {true, 0, 2};
	pb_store *st = NULL;
	pb_store_agent ag;
	pb_errbuf eb;
	char path[600];

	snprintf(path, sizeof path, "%s/v2.db", f->dir);
	assert_int_equal(pb_store_open(path, &old, &st, &eb), PB_OK);
	assert_int_equal(pb_store_version(st), 2);
	assert_int_equal(pb_store_agent_touch(st, "amy", "supervisor", 5, &eb), PB_OK);
	pb_store_close(st);
	assert_int_equal(pb_store_open(path, NULL, &st, &eb), PB_OK);
	assert_int_equal(pb_store_version(st), PB_STORE_SCHEMA_VERSION);
	assert_int_equal(pb_store_agent_get(st, "amy", &ag, &eb), PB_OK);
	assert_string_equal(ag.role, "supervisor");
	assert_null(ag.password_hash);
	pb_store_agent_release(&ag);
	assert_int_equal(pb_store_agent_add(st, "amy", "supervisor", "$y$x", 6, &eb), PB_OK);
	pb_store_close(st);
}

static void test_counts(void **state)
{
	fx *f = *state;
	pb_store_counts l;
	int64_t n;
	double mean;
	pb_errbuf eb;

	assert_int_equal(pb_store_case_counts(f->st, "state", &l, &eb), PB_OK);
	assert_int_equal(l.n, 0);
	pb_store_counts_release(&l);
	assert_int_equal(pb_store_case_counts(f->st, "owner; DROP TABLE x", &l, &eb), PB_EINVAL);
	assert_int_equal(pb_store_decision_counts(f->st, 0, &l, &eb), PB_OK);
	pb_store_counts_release(&l);
	assert_int_equal(pb_store_first_reply_stats(f->st, 0, &n, &mean, &eb), PB_OK);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_password_hash),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test_setup_teardown(test_agents_and_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_from_v2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counts, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
