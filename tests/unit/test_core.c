/*
 * Unit tests of the small core pieces: pb_buf, UTF-8 handling, pb_err,
 * time parsing and formatting.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "parcelbot/buf.h"
#include "parcelbot/time.h"
#include "parcelbot/utf8.h"
#include "parcelbot/ydoc.h"

static void buf_cap_refuses_and_keeps_contents(void **state)
{
	pb_buf b;

	(void)state;
	pb_buf_init(&b, 8);
	assert_int_equal(pb_buf_puts(&b, "abcd"), PB_OK);
	assert_int_equal(pb_buf_puts(&b, "efghi"), PB_ETOOBIG);
	assert_string_equal(pb_buf_str(&b), "abcd");
	assert_int_equal(pb_buf_printf(&b, "%d", 1234), PB_OK);
	assert_string_equal(b.data, "abcd1234");
	assert_int_equal(pb_buf_putc(&b, 'x'), PB_ETOOBIG);
	pb_buf_release(&b);
}

static void buf_detach_gives_ownership(void **state)
{
	pb_buf b;
	char *s;
	size_t n;

	(void)state;
	pb_buf_init(&b, PB_BUF_NOLIMIT);
	s = pb_buf_detach(&b, &n);
	assert_string_equal(s, "");
	assert_int_equal(n, 0);
	free(s);
	pb_buf_printf(&b, "%s-%s", "a", "b");
	s = pb_buf_detach(&b, &n);
	assert_string_equal(s, "a-b");
	assert_null(b.data);
	free(s);
}

static void utf8_check_finds_first_bad_byte(void **state)
{
	(void)state;
	assert_int_equal(pb_utf8_check("abc", 3), 3);
	assert_int_equal(pb_utf8_check("快递", 6), 6);
	assert_int_equal(pb_utf8_check("ab\xff", 3), 2);
	/* overlong '/' */
	assert_int_equal(pb_utf8_check("\xc0\xaf", 2), 0);
	/* UTF-16 surrogate encoded as UTF-8 */
	assert_int_equal(pb_utf8_check("x\xed\xa0\x80", 4), 1);
	/* above U+10FFFF */
	assert_int_equal(pb_utf8_check("\xf4\x90\x80\x80", 4), 0);
	/* truncated sequence at the end */
	assert_int_equal(pb_utf8_check("快\xe9\x80", 5), 3);
	/* emoji (4 bytes) */
	assert_int_equal(pb_utf8_check("\xf0\x9f\x98\xad", 4), 4);
}

static void utf8_repair_replaces_each_bad_sequence_once(void **state)
{
	pb_buf b;

	(void)state;
	pb_buf_init(&b, 64);
	assert_int_equal(pb_utf8_repair("a\xff" "b\xe9\x80" "c", 6, &b), PB_OK);
	assert_string_equal(b.data, "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c");
	pb_buf_reset(&b);
	assert_int_equal(pb_utf8_repair("x\0y", 3, &b), PB_OK);
	assert_string_equal(b.data, "xy");
	assert_true(pb_utf8_valid(b.data, b.len));
	pb_buf_release(&b);
}

static void utf8_clip_never_splits(void **state)
{
	const char *s = "快递到了";

	(void)state;
	assert_int_equal(pb_utf8_clip(s, 12, 4), 3);
	assert_int_equal(pb_utf8_clip(s, 12, 6), 6);
	assert_int_equal(pb_utf8_clip(s, 12, 100), 12);
	assert_int_equal(pb_utf8_len(s, 12), 4);
}

static void err_prefix_and_names(void **state)
{
	pb_errbuf eb;

	(void)state;
	assert_int_equal(pb_errf(&eb, PB_EINVAL, "bad %s", "thing"), PB_EINVAL);
	pb_err_prefix(&eb, "ctx: ");
	assert_string_equal(eb.msg, "ctx: bad thing");
	assert_string_equal(pb_strerror(PB_ETOOBIG), "too large");
	assert_string_equal(pb_strerror((pb_err)999), "unknown error");
	assert_string_equal(pb_errmsg(NULL, PB_ENOMEM), "out of memory");
}

static void time_parses_offsets_and_formats_back(void **state)
{
	pb_when w;
	char b[40];

	(void)state;
	assert_int_equal(pb_time_parse("2026-11-20T10:00:00+08:00", 0, &w), PB_OK);
	assert_int_equal(w.t, 1795140000);
	assert_int_equal(w.off, 8 * 3600);
	assert_string_equal(pb_time_format(w, b, sizeof b), "2026-11-20T10:00:00+08:00");
	assert_int_equal(pb_time_parse("2026-11-20T02:00:00Z", 0, &w), PB_OK);
	assert_int_equal(w.t, 1795140000);
	assert_string_equal(pb_time_format(w, b, sizeof b), "2026-11-20T02:00:00Z");
	/* No offset: the default applies (Kuaidi100 times are China time). */
	assert_int_equal(pb_time_parse("2026-11-20 10:00:00", 8 * 3600, &w), PB_OK);
	assert_int_equal(w.t, 1795140000);
	assert_int_equal(pb_time_parse("2026-11-20T10:00", 8 * 3600, &w), PB_OK);
	assert_int_equal(w.t, 1795140000);
	assert_int_equal(pb_time_parse("2026-11-20T10:00:00.123-05:30", 0, &w), PB_OK);
	assert_int_equal(w.off, -(5 * 3600 + 30 * 60));
	assert_string_equal(pb_time_format(w, b, sizeof b), "2026-11-20T10:00:00-05:30");
	assert_int_equal(pb_time_parse("2026-02-29T10:00:00Z", 0, &w), PB_EPARSE);
	assert_int_equal(pb_time_parse("2028-02-29T10:00:00Z", 0, &w), PB_OK);
	assert_int_equal(pb_time_parse("2026-13-01", 0, &w), PB_EPARSE);
	assert_int_equal(pb_time_parse("2026-11-20T25:00:00Z", 0, &w), PB_EPARSE);
	assert_int_equal(pb_time_parse("yesterday", 0, &w), PB_EPARSE);
	assert_int_equal(pb_time_parse("2026-11-20T10:00:00+08:00 trailing", 0, &w), PB_EPARSE);
}

static void time_fields_across_midnight_and_dst(void **state)
{
	pb_when a, b;
	struct tm tm;

	(void)state;
	/* 23:30 in Shanghai is 15:30 UTC the same day; the fields follow the
	 * value's own offset, not the machine's zone. */
	assert_int_equal(pb_time_parse("2026-11-20T23:30:00+08:00", 0, &a), PB_OK);
	pb_time_fields(a, &tm);
	assert_int_equal(tm.tm_mday, 20);
	assert_int_equal(tm.tm_hour, 23);
	a.off = 0;
	pb_time_fields(a, &tm);
	assert_int_equal(tm.tm_hour, 15);
	/* London leaves summer time on 2026-10-25 at 02:00 BST: 00:30 BST to
	 * 01:30 GMT is two hours, not one. */
	assert_int_equal(pb_time_parse("2026-10-25T00:30:00+01:00", 0, &a), PB_OK);
	assert_int_equal(pb_time_parse("2026-10-25T01:30:00+00:00", 0, &b), PB_OK);
	assert_true(pb_hours_between(a.t, b.t) == 2.0);
	/* 2026-11-20 is a Friday. */
	assert_int_equal(pb_time_parse("2026-11-20T10:00:00+08:00", 0, &a), PB_OK);
	pb_time_fields(a, &tm);
	assert_int_equal(tm.tm_wday, 5);
}

/* Found by fuzzing: a failed parse leaked the file name. Nothing may be
 * handed out on failure. */
static void ydoc_failure_hands_out_nothing(void **state)
{
	static const char *const bad[] = {"a: [unclosed\n", "x: \xff\n", "- &a 1\n- *a\n", "a: 1\n---\nb: 2\n"};
	pb_ydoc doc;
	pb_diag dg;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pb_diag_init(&dg);
		memset(&doc, 0x5a, sizeof doc);
		assert_int_equal(pb_ydoc_parse(&doc, "t.yaml", bad[i], strlen(bad[i]), &dg), PB_EPARSE);
		assert_null(doc.file);
		assert_null(doc.root);
		assert_true(pb_diag_count(&dg) >= 1);
		pb_diag_release(&dg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buf_cap_refuses_and_keeps_contents),
		cmocka_unit_test(buf_detach_gives_ownership),
		cmocka_unit_test(utf8_check_finds_first_bad_byte),
		cmocka_unit_test(utf8_repair_replaces_each_bad_sequence_once),
		cmocka_unit_test(utf8_clip_never_splits),
		cmocka_unit_test(err_prefix_and_names),
		cmocka_unit_test(time_parses_offsets_and_formats_back),
		cmocka_unit_test(time_fields_across_midnight_and_dst),
		cmocka_unit_test(ydoc_failure_hands_out_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
