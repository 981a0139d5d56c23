/*
 * Unit tests of what every channel adapter shares: the agent command
 * reader, the constant-time secret comparison, the event list and the
 * outbox kind names.
 */
#include "testutil.h"

#include <string.h>

#include "parcelbot/channel.h"

static void expect_cmd(const char *text, const char *cmd, const char *arg)
{
	const char *c = NULL, *a = NULL;
	size_t n = 0;

	if (!pb_chan_parse_command(text, &c, &a, &n))
		fail_msg("'%s' should be a command", text);
	assert_string_equal(c, cmd);
	if (strlen(arg) != n || strncmp(a, arg, n))
		fail_msg("'%s': argument '%.*s', want '%s'", text, (int)n, a, arg);
}

static void expect_not_cmd(const char *text)
{
	const char *c, *a;
	size_t n;

	if (pb_chan_parse_command(text, &c, &a, &n))
		fail_msg("'%s' should not be a command", text ? text : "(null)");
}

static void commands(void **state)
{
	(void)state;
	expect_cmd("/send", "send", "");
	expect_cmd("  /send  \n", "send", "");
	expect_cmd("/SEND 亲,很抱歉让您久等了。", "send", "亲,很抱歉让您久等了。");
	expect_cmd("/send\nSorry for the wait.\nSecond line.  ", "send",
		   "Sorry for the wait.\nSecond line.");
	expect_cmd("/reject wrong carrier in the draft", "reject", "wrong carrier in the draft");
	expect_cmd("/escalate", "escalate", "");
	expect_cmd("/escalate buyer is a VIP", "escalate", "buyer is a VIP");
	expect_cmd("/note called the courier, back at 5", "note", "called the courier, back at 5");
	expect_cmd("/resolve reshipped", "resolve", "reshipped");
	/* Arguments are required where the decision needs one. */
	expect_not_cmd("/reject");
	expect_not_cmd("/reject   ");
	expect_not_cmd("/note");
	expect_not_cmd("/resolve");
	/* Not commands: other words, no slash, a slash inside a word. */
	expect_not_cmd("/sendnow");
	expect_not_cmd("/sen");
	expect_not_cmd("/send-it");
	expect_not_cmd("send");
	expect_not_cmd("please /send");
	expect_not_cmd("");
	expect_not_cmd(NULL);
	expect_not_cmd("/");
}

static void events_and_kinds(void **state)
{
	pb_chan_events evs = {0};
	int i;

	(void)state;
	for (i = 0; i < 20; i++)
		assert_int_equal(pb_chan_events_add(&evs, "id", "{}"), PB_OK);
	assert_int_equal(evs.n, 20);
	assert_string_equal(evs.v[19].external_id, "id");
	pb_chan_events_release(&evs);
	assert_int_equal(evs.n, 0);
	assert_null(evs.v);
	for (i = 0; i < PB_CHAN_KIND_COUNT_; i++)
		assert_int_equal(pb_chan_kind_from_name(pb_chan_kind_name((pb_chan_kind)i)), i);
	assert_int_equal(pb_chan_kind_from_name("send_email"), -1);
	assert_int_equal(pb_chan_kind_from_name(NULL), -1);
	assert_string_equal(pb_chan_kind_name(PB_CHAN_NOTIFY), "notify_supervisor");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(commands),
		cmocka_unit_test(events_and_kinds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
