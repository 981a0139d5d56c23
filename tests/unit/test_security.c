/*
 * pb_secret_equal, the one comparison of secrets (digest.h): that it
 * answers right (equal, a first, middle or last byte wrong, other lengths,
 * empty, NULL), and that it runs in constant time.
 *
 * The timing check is done the "ctgrind" way, with valgrind's memcheck
 * rather than a stopwatch: the secret's bytes are marked undefined, so a
 * conditional jump, a conditional move or a memory address that depends on
 * them is reported as an error, and the test counts those errors around the
 * comparison. That proves the property for the machine code actually built,
 * at whatever optimisation level, without noisy timings. Outside valgrind
 * (a plain `make test`) only the answers are checked and a "# " line says
 * so; `make valgrind`, and tests/e2e/security.sh when valgrind is present,
 * run this binary under memcheck.
 */
#include "testutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "parcelbot/digest.h"

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define HAVE_MEMCHECK 1
#endif
#endif
#ifndef HAVE_MEMCHECK
#define HAVE_MEMCHECK 0
#endif

static bool eq(const char *a, const char *b)
{
	return pb_secret_equal(a, a ? strlen(a) : 0, b, b ? strlen(b) : 0);
}

static void answers(void **state)
{
	static const char tok[] = "a3f09c1d5e7b2468a3f09c1d5e7b2468a3f09c1d5e7b2468a3f09c1d5e7b2468";
	char other[sizeof tok];

	(void)state;
	assert_true(eq(tok, tok));
	assert_true(eq("s3cret-token", "s3cret-token"));
	assert_true(eq("x", "x"));
	memcpy(other, tok, sizeof tok);
	assert_true(eq(other, tok));
	other[0] ^= 1;
	assert_false(eq(other, tok)); /* the first byte */
	other[0] = tok[0];
	other[31] ^= 0x80;
	assert_false(eq(other, tok)); /* one bit in the middle */
	other[31] = tok[31];
	other[63] = (char)(tok[63] + 1);
	assert_false(eq(other, tok)); /* the last byte */
	assert_false(eq("s3cret-token", "s3cret-tokem"));
	assert_false(eq("S3cret-token", "s3cret-token"));
	/* Other lengths, either way round: a prefix is not the secret, nor is
	 * the secret with something after it. */
	assert_false(eq("s3cret", "s3cret-token"));
	assert_false(eq("s3cret-token", "s3cret"));
	assert_false(eq("s3cret-token-longer", "s3cret-token"));
	assert_false(eq("s3cret-tokenx", "s3cret-token"));
	/* The lengths given count, not the NULs: a given with an embedded NUL
	 * is not cut short. */
	assert_false(pb_secret_equal("ab\0c", 4, "ab\0d", 4));
	assert_true(pb_secret_equal("ab\0c", 4, "ab\0c", 4));
	assert_false(pb_secret_equal("abc", 2, "abc", 3));
	/* Empty never matches, even empty; NULL never matches. */
	assert_false(eq("", ""));
	assert_false(eq("x", ""));
	assert_false(eq("", "x"));
	assert_false(eq(NULL, "x"));
	assert_false(eq("x", NULL));
	assert_false(eq(NULL, NULL));
	assert_false(pb_secret_equal("x", 1, "x", 0));
	assert_false(pb_secret_equal("x", 0, "x", 1));
}

#if HAVE_MEMCHECK
/* Compares given with expected while memcheck treats the bytes of both as
 * secret; returns the errors memcheck reported during the comparison and
 * sets *res to the answer. */
static unsigned long ct_run(const char *given, const char *expected, bool *res, bool *tainted)
{
	char g[128], e[128];
	size_t ng = strlen(given), ne = strlen(expected);
	unsigned long before, after;
	unsigned char vbits = 0;
	bool r;

	assert_true(ng < sizeof g && ne < sizeof e);
	memcpy(g, given, ng);
	memcpy(e, expected, ne);
	/* The lengths stay known: pb_secret_equal may depend on them. */
	VALGRIND_MAKE_MEM_UNDEFINED(g, ng);
	VALGRIND_MAKE_MEM_UNDEFINED(e, ne);
	before = (unsigned long)VALGRIND_COUNT_ERRORS;
	r = pb_secret_equal(g, ng, e, ne);
	after = (unsigned long)VALGRIND_COUNT_ERRORS;
	/* The answer is made from the secret bytes, so memcheck must see it
	 * as undefined: that shows the bytes really were being tracked (had
	 * the marking missed, nothing could have been reported). Reading the
	 * V bits reports nothing. */
	if (VALGRIND_GET_VBITS(&r, &vbits, 1) == 1)
		*tainted = vbits != 0;
	VALGRIND_MAKE_MEM_DEFINED(&r, sizeof r);
	VALGRIND_MAKE_MEM_DEFINED(g, ng);
	VALGRIND_MAKE_MEM_DEFINED(e, ne);
	*res = r;
	return after - before;
}
#endif

static void constant_time(void **state)
{
	static const struct {
		const char *given, *expected;
		bool want;
	} cases[] = {
		{"a3f09c1d5e7b2468a3f09c1d5e7b2468a3f09c1d5e7b2468a3f09c1d5e7b2468",
		 "a3f09c1d5e7b2468a3f09c1d5e7b2468a3f09c1d5e7b2468a3f09c1d5e7b2468", true},
		{"b3f09c1d5e7b2468a3f09c1d5e7b2468a3f09c1d5e7b2468a3f09c1d5e7b2468",
		 "a3f09c1d5e7b2468a3f09c1d5e7b2468a3f09c1d5e7b2468a3f09c1d5e7b2468", false},
		{"a3f09c1d5e7b2468a3f09c1d5e7b2468a3f09c1d5e7b2468a3f09c1d5e7b2469",
		 "a3f09c1d5e7b2468a3f09c1d5e7b2468a3f09c1d5e7b2468a3f09c1d5e7b2468", false},
		{"webhook-secret-1", "webhook-secret-1", true},
		{"webhook-secret-2", "webhook-secret-1", false},
		{"webhook-secret", "webhook-secret-1", false},
		{"webhook-secret-1x", "webhook-secret-1", false},
		{"x", "webhook-secret-1", false},
	};
	size_t i;

	(void)state;
#if HAVE_MEMCHECK
	if (RUNNING_ON_VALGRIND) {
		for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
			bool res = !cases[i].want, tainted = false;
			unsigned long errs = ct_run(cases[i].given, cases[i].expected, &res, &tainted);
			if (errs)
				fail_msg("case %zu: %lu memcheck errors: the comparison branches on or "
					 "indexes by secret bytes",
					 i, errs);
			assert_int_equal(res, cases[i].want);
			/* Equal lengths: the answer comes from the bytes alone. */
			if (strlen(cases[i].given) == strlen(cases[i].expected) && !tainted)
				fail_msg("case %zu: the answer is not derived from the marked bytes; "
					 "the check would see nothing",
					 i);
		}
		printf("# constant time: checked under memcheck (%zu cases, no error)\n", i);
		return;
	}
#endif
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		assert_int_equal(eq(cases[i].given, cases[i].expected), cases[i].want);
	printf("# constant time: not checked here (%s); the answers were; "
	       "run under valgrind (make valgrind) for the timing check\n",
	       HAVE_MEMCHECK ? "not running under valgrind" : "built without valgrind/memcheck.h");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(answers),
		cmocka_unit_test(constant_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
