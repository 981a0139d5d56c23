/*
 * The Chatwoot channel: webhook bodies read into events (and everything
 * parcelbot must ignore ignored), the notes it writes, then every action
 * against the in-process sandbox's fake Chatwoot (notes, replies, hand-off
 * labels and status, the resend check, rate limits, failures and what
 * they say), webhooks delivered by the sandbox and read back by the
 * adapter (its own messages included), and the scripted play with its
 * follow-ups.
 */
#include "testutil.h"
#include "trackutil.h"

#include <cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "parcelbot/channel_chatwoot.h"
#include "parcelbot/http.h"
#include "parcelbot/utf8.h"

#define SECRET "hook-secret-123"
#define NOW 1795392000LL

static pb_sandbox *sb;
static pb_http *http;

static pb_http *make_http(void)
{
	pb_http_opts o;
	pb_http *h = NULL;
	pb_errbuf eb;

	pb_http_opts_init(&o);
	o.connect_timeout_ms = 1000;
	o.timeout_ms = 3000;
	o.retries = 0;
	if (pb_http_new(&o, &h, &eb))
		fail_msg("http: %s", eb.msg);
	return h;
}

static int setup(void **state)
{
	char seed[PATH_MAX];
	pb_sandbox_opts o;
	pb_errbuf eb;

	(void)state;
	snprintf(seed, sizeof seed, "%s/tests/fixtures/sandbox-chatwoot.yaml", tt_srcdir());
	pb_sandbox_opts_init(&o);
	o.seed_file = seed;
	if (pb_sandbox_start(&o, &sb, &eb))
		fail_msg("sandbox: %s", eb.msg);
	http = make_http();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pb_sandbox_stop(sb);
	pb_http_free(http);
	return 0;
}

static int reset(void **state)
{
	(void)state;
	pb_sandbox_reset(sb);
	return 0;
}

/* A channel pointed at the sandbox (or at url when given). */
static pb_channel *channel(const char *url, const char *token)
{
	pb_chatwoot_config c = {0};
	pb_channel *ch = NULL;
	pb_errbuf eb;
	char u[128];

	c.enabled = true;
	c.url = (char *)(url ? url : tt_url(sb, "", u, sizeof u));
	c.account_id = 1;
	c.api_token = (char *)(token ? token : PB_SANDBOX_CHATWOOT_TOKEN);
	c.webhook_secret = (char *)SECRET;
	c.escalate_label = (char *)"parcel-escalated";
	if (pb_chatwoot_new(&c, http, &ch, &eb))
		fail_msg("chatwoot: %s", eb.msg);
	assert_string_equal(ch->name, "chatwoot");
	return ch;
}

/* Calls the sandbox: method path body, the answer parsed (caller deletes). */
static cJSON *sbx(const char *method, const char *path, const char *body, long *status)
{
	pb_http_req r = {0};
	char url[256];
	cJSON *j;

	r.method = method;
	r.url = tt_url(sb, path, url, sizeof url);
	r.body = body;
	r.body_len = body ? strlen(body) : 0;
	r.idempotent = true;
	assert_int_equal(pb_http_perform(http, &r, 1), PB_OK);
	if (r.err)
		fail_msg("%s %s: %s", method, path, r.eb.msg);
	if (status)
		*status = r.status;
	j = cJSON_Parse(pb_buf_str(&r.resp));
	pb_http_req_release(&r);
	if (!j)
		fail_msg("%s %s: the answer is not JSON", method, path);
	return j;
}

static cJSON *conversation(int id)
{
	char path[64];
	long st;
	cJSON *j;

	snprintf(path, sizeof path, "/_sandbox/chatwoot/conversations/%d", id);
	j = sbx("GET", path, NULL, &st);
	assert_int_equal(st, 200);
	return j;
}

static cJSON *last_message(cJSON *conv)
{
	cJSON *m = cJSON_GetObjectItem(conv, "messages");

	assert_true(cJSON_GetArraySize(m) > 0);
	return cJSON_GetArrayItem(m, cJSON_GetArraySize(m) - 1);
}

static void set_webhook(const char *path)
{
	char url[256], body[400];
	cJSON *j;

	snprintf(body, sizeof body, "{\"webhook\":\"%s\"}", tt_url(sb, path, url, sizeof url));
	j = sbx("POST", "/_sandbox/chatwoot/config", body, NULL);
	cJSON_Delete(j);
}

/* Runs the adapter's webhook on body; returns the status. */
static int hook(pb_channel *ch, const char *secret, const char *body, pb_chan_events *evs)
{
	pb_chan_webhook w = {0};
	pb_errbuf eb;
	int status = 0;

	w.secret = secret;
	w.body = body;
	w.body_len = strlen(body);
	w.now = NOW;
	pb_channel_webhook(ch, &w, evs, &status, &eb);
	return status;
}

static cJSON *only_event(pb_chan_events *evs, const char *ext)
{
	cJSON *j;

	assert_int_equal(evs->n, 1);
	assert_string_equal(evs->v[0].external_id, ext);
	j = cJSON_Parse(evs->v[0].json);
	assert_non_null(j);
	return j;
}

#define S(o, k) (cJSON_GetStringValue(cJSON_GetObjectItem((o), (k))))

static const char incoming[] =
	"{\"event\":\"message_created\",\"id\":1234,\"content\":\"快递三天没动了\","
	"\"created_at\":\"2026-11-20 10:00:00 UTC\",\"message_type\":\"incoming\","
	"\"private\":false,\"sender\":{\"id\":70,\"name\":\"李伟\",\"type\":\"contact\"},"
	"\"conversation\":{\"id\":7,\"custom_attributes\":{\"order_id\":\"SO-1001\"}},"
	"\"account\":{\"id\":1}}";

/* --- webhooks ------------------------------------------------------- */

static void webhook_incoming(void **state)
{
	pb_channel *ch = channel("http://127.0.0.1:9", NULL);
	pb_chan_events evs = {0};
	cJSON *e, *o;

	(void)state;
	assert_int_equal(hook(ch, SECRET, incoming, &evs), 200);
	e = only_event(&evs, "msg:1234");
	assert_string_equal(S(e, "kind"), "message");
	assert_string_equal(S(e, "channel"), "chatwoot");
	assert_string_equal(S(e, "message_id"), "1234");
	assert_string_equal(S(e, "conversation"), "7");
	assert_string_equal(S(e, "buyer"), "70");
	assert_string_equal(S(e, "message"), "快递三天没动了");
	assert_string_equal(S(e, "now"), "2026-11-20T10:00:00Z");
	o = cJSON_GetObjectItem(e, "order");
	assert_non_null(o);
	assert_string_equal(S(o, "id"), "SO-1001");
	cJSON_Delete(e);
	pb_chan_events_release(&evs);

	/* Numeric message_type, Unix created_at, order_sn, sender only in
	 * conversation.meta. */
	assert_int_equal(
		hook(ch, SECRET,
		     "{\"event\":\"message_created\",\"id\":\"55\",\"content\":\"where is my parcel\","
		     "\"created_at\":1795392000,\"message_type\":0,"
		     "\"conversation\":{\"id\":\"9\",\"custom_attributes\":{\"order_sn\":240101},"
		     "\"meta\":{\"sender\":{\"id\":90,\"type\":\"contact\"}}}}",
		     &evs),
		200);
	e = only_event(&evs, "msg:55");
	assert_string_equal(S(e, "now"), "2026-11-23T00:00:00Z");
	assert_string_equal(S(e, "buyer"), "90");
	assert_string_equal(S(cJSON_GetObjectItem(e, "order"), "id"), "240101");
	cJSON_Delete(e);
	pb_chan_events_release(&evs);

	/* ISO time with a fraction, no custom attributes: no order. */
	assert_int_equal(
		hook(ch, SECRET,
		     "{\"event\":\"message_created\",\"id\":56,\"content\":\"hi\","
		     "\"created_at\":\"2026-11-20T10:00:00.000Z\",\"message_type\":\"incoming\","
		     "\"sender\":{\"id\":90,\"type\":\"contact\"},\"conversation\":{\"id\":9}}",
		     &evs),
		200);
	e = only_event(&evs, "msg:56");
	assert_string_equal(S(e, "now"), "2026-11-20T10:00:00Z");
	assert_null(cJSON_GetObjectItem(e, "order"));
	cJSON_Delete(e);
	pb_chan_events_release(&evs);
	pb_channel_free(ch);
}

static void expect_ignored(pb_channel *ch, const char *body)
{
	pb_chan_events evs = {0};

	if (hook(ch, SECRET, body, &evs) != 200 || evs.n)
		fail_msg("should be ignored with 200: %s", body);
	pb_chan_events_release(&evs);
}

static void webhook_ignored(void **state)
{
	pb_channel *ch = channel("http://127.0.0.1:9", NULL);

	(void)state;
	/* An agent's public reply. */
	expect_ignored(ch, "{\"event\":\"message_created\",\"id\":1,\"content\":\"Sorry!\","
			   "\"message_type\":\"outgoing\",\"private\":false,"
			   "\"sender\":{\"id\":2,\"name\":\"Ann\",\"type\":\"user\"},"
			   "\"conversation\":{\"id\":7}}");
	/* An agent's private note that is not a command. */
	expect_ignored(ch, "{\"event\":\"message_created\",\"id\":2,\"content\":\"calling the "
			   "courier\",\"message_type\":\"outgoing\",\"private\":true,"
			   "\"sender\":{\"id\":2,\"name\":\"Ann\",\"type\":\"user\"},"
			   "\"conversation\":{\"id\":7}}");
	/* parcelbot's own note and reply, even one that reads as a command. */
	expect_ignored(ch, "{\"event\":\"message_created\",\"id\":3,\"content\":\"/send\","
			   "\"message_type\":\"outgoing\",\"private\":true,"
			   "\"sender\":{\"id\":1,\"name\":\"parcelbot\",\"type\":\"agent_bot\"},"
			   "\"conversation\":{\"id\":7}}");
	expect_ignored(ch, "{\"event\":\"message_created\",\"id\":4,\"content\":\"Sorry!\","
			   "\"message_type\":1,\"private\":false,"
			   "\"sender\":{\"id\":1,\"type\":\"agent_bot\"},\"conversation\":{\"id\":7}}");
	/* A bot writing "incoming" (API channels allow it) is still a bot. */
	expect_ignored(ch, "{\"event\":\"message_created\",\"id\":5,\"content\":\"hi\","
			   "\"message_type\":\"incoming\",\"sender\":{\"id\":1,\"type\":\"agent_bot\"},"
			   "\"conversation\":{\"id\":7}}");
	/* Other events, attachments without text, other accounts. */
	expect_ignored(ch, "{\"event\":\"conversation_status_changed\",\"id\":7}");
	expect_ignored(ch, "{\"event\":\"message_created\",\"id\":6,\"content\":null,"
			   "\"message_type\":\"incoming\",\"sender\":{\"id\":70,\"type\":\"contact\"},"
			   "\"conversation\":{\"id\":7}}");
	expect_ignored(ch, "{\"event\":\"message_created\",\"id\":7,\"content\":\"hi\","
			   "\"message_type\":\"incoming\",\"sender\":{\"id\":70,\"type\":\"contact\"},"
			   "\"conversation\":{\"id\":7},\"account\":{\"id\":2}}");
	pb_channel_free(ch);
}

static void webhook_command(void **state)
{
	pb_channel *ch = channel("http://127.0.0.1:9", NULL);
	pb_chan_events evs = {0};
	cJSON *e;

	(void)state;
	assert_int_equal(hook(ch, SECRET,
			      "{\"event\":\"message_created\",\"id\":77,\"content\":\"  /send fixed "
			      "text\\nsecond line \",\"message_type\":\"outgoing\",\"private\":true,"
			      "\"created_at\":\"2026-11-20T11:00:00Z\","
			      "\"sender\":{\"id\":2,\"name\":\"Ann\",\"type\":\"user\"},"
			      "\"conversation\":{\"id\":7}}",
			      &evs),
			 200);
	e = only_event(&evs, "msg:77");
	assert_string_equal(S(e, "kind"), "command");
	assert_string_equal(S(e, "channel"), "chatwoot");
	assert_string_equal(S(e, "message_id"), "77");
	assert_string_equal(S(e, "conversation"), "7");
	assert_string_equal(S(e, "agent"), "Ann");
	assert_string_equal(S(e, "command"), "send");
	assert_string_equal(S(e, "text"), "fixed text\nsecond line");
	assert_string_equal(S(e, "now"), "2026-11-20T11:00:00Z");
	cJSON_Delete(e);
	pb_chan_events_release(&evs);

	assert_int_equal(hook(ch, SECRET,
			      "{\"event\":\"message_created\",\"id\":78,\"content\":\"/reject wrong "
			      "carrier\",\"message_type\":1,\"private\":true,"
			      "\"sender\":{\"id\":2,\"name\":\"Ann\",\"type\":\"user\"},"
			      "\"conversation\":{\"id\":7}}",
			      &evs),
			 200);
	e = only_event(&evs, "msg:78");
	assert_string_equal(S(e, "command"), "reject");
	assert_string_equal(S(e, "text"), "wrong carrier");
	/* No created_at: the time it arrived. */
	assert_string_equal(S(e, "now"), "2026-11-23T00:00:00Z");
	cJSON_Delete(e);
	pb_chan_events_release(&evs);

	/* A public "/send" by an agent is said to the buyer: not a command. */
	expect_ignored(ch, "{\"event\":\"message_created\",\"id\":79,\"content\":\"/send\","
			   "\"message_type\":\"outgoing\",\"private\":false,"
			   "\"sender\":{\"id\":2,\"name\":\"Ann\",\"type\":\"user\"},"
			   "\"conversation\":{\"id\":7}}");
	pb_channel_free(ch);
}

static void webhook_rejected(void **state)
{
	pb_channel *ch = channel("http://127.0.0.1:9", NULL);
	pb_chan_events evs = {0};
	static const char *const bad[] = {
		"",
		"not json",
		"[1,2]",
		"{\"id\":1}",
		"{\"event\":\"message_created\"}",
		"{\"event\":\"message_created\",\"id\":1,\"content\":\"x\",\"message_type\":\"incoming\","
		"\"sender\":{\"id\":1,\"type\":\"contact\"}}",
		"{\"event\":\"message_created\",\"id\":1,\"content\":\"x\",\"message_type\":\"incoming\","
		"\"conversation\":{\"id\":7}}",
		"{\"event\":\"message_created\",\"id\":1,\"content\":\"x\",\"message_type\":\"incoming\","
		"\"sender\":{\"id\":1,\"type\":\"contact\"},\"conversation\":{\"id\":7},"
		"\"created_at\":\"yesterday\"}",
		"{\"event\":\"message_created\",\"id\":\"../x\",\"content\":\"x\","
		"\"message_type\":\"incoming\",\"sender\":{\"id\":1,\"type\":\"contact\"},"
		"\"conversation\":{\"id\":7}}",
		"{\"event\":\"message_created\",\"id\":1,\"content\":\"x\",\"message_type\":\"incoming\","
		"\"sender\":{\"id\":1,\"type\":\"contact\"},\"conversation\":{\"id\":7}",
	};
	size_t i;

	(void)state;
	assert_int_equal(hook(ch, "wrong", incoming, &evs), 401);
	assert_int_equal(hook(ch, NULL, incoming, &evs), 401);
	assert_int_equal(hook(ch, "", incoming, &evs), 401);
	assert_int_equal(hook(ch, SECRET "x", incoming, &evs), 401);
	assert_int_equal(hook(ch, "hook-secret-12", incoming, &evs), 401); /* a prefix */
	assert_int_equal(hook(ch, "Hook-secret-123", incoming, &evs), 401);
	assert_int_equal(evs.n, 0);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (hook(ch, SECRET, bad[i], &evs) != 400)
			fail_msg("should be 400: %s", bad[i]);
		assert_int_equal(evs.n, 0);
	}
	pb_channel_free(ch);
}

static void webhook_bad_utf8(void **state)
{
	pb_channel *ch = channel("http://127.0.0.1:9", NULL);
	pb_chan_events evs = {0};
	const char *msg;
	cJSON *e;

	(void)state;
	assert_int_equal(hook(ch, SECRET,
			      "{\"event\":\"message_created\",\"id\":90,\"content\":\"bad \xff\xfe "
			      "\xe5\xbf end\",\"message_type\":\"incoming\","
			      "\"sender\":{\"id\":70,\"name\":\"\xc0\xaf\",\"type\":\"contact\"},"
			      "\"conversation\":{\"id\":7}}",
			      &evs),
			 200);
	e = only_event(&evs, "msg:90");
	msg = S(e, "message");
	assert_non_null(msg);
	assert_true(pb_utf8_valid(msg, strlen(msg)));
	assert_non_null(strstr(msg, "\xef\xbf\xbd"));
	assert_non_null(strstr(msg, "end"));
	assert_true(pb_utf8_valid(evs.v[0].json, strlen(evs.v[0].json)));
	cJSON_Delete(e);
	pb_chan_events_release(&evs);
	pb_channel_free(ch);
}

/* --- notes ---------------------------------------------------------- */

static pb_chan_action draft_action(const char *conv, const char *lang)
{
	pb_chan_action a = {0};

	a.kind = PB_CHAN_POST_DRAFT;
	a.key = "draft:1:v2";
	a.conversation = conv;
	a.case_id = 5;
	a.draft_id = 12;
	a.version = 2;
	a.severity = 2;
	a.lang = lang;
	a.text = "亲，非常抱歉让您久等了！您的包裹在杭州转运中心停留了两天。";
	a.template_id = "stalled";
	a.checklist = "check the trace\n\n  confirm the address  \n";
	a.lint = "vague: no date promised";
	a.queued_at = (int64_t)time(NULL);
	return a;
}

static void render_notes(void **state)
{
	pb_chan_action a = draft_action("7", "zh");
	pb_buf b;
	const char *s;

	(void)state;
	pb_buf_init(&b, 1 << 20);
	assert_int_equal(pb_chatwoot_render(&a, &b), PB_OK);
	s = pb_buf_str(&b);
	assert_true(s[0] != '/' && s[0] != ' ');
	assert_non_null(strstr(s, "#12 v2"));
	assert_non_null(strstr(s, "严重程度 2"));
	assert_non_null(strstr(s, a.text));
	assert_non_null(strstr(s, "核对清单"));
	assert_non_null(strstr(s, "\n- check the trace\n- confirm the address\n"));
	assert_non_null(strstr(s, "- vague: no date promised"));
	assert_non_null(strstr(s, "/send"));
	assert_non_null(strstr(s, "/reject"));
	assert_non_null(strstr(s, "/escalate"));
	assert_true(pb_utf8_valid(s, b.len));
	/* The same action, the same text: what the resend check relies on. */
	{
		pb_buf b2;
		pb_buf_init(&b2, 1 << 20);
		assert_int_equal(pb_chatwoot_render(&a, &b2), PB_OK);
		assert_string_equal(pb_buf_str(&b2), s);
		pb_buf_release(&b2);
	}
	pb_buf_reset(&b);
	a.lang = "en";
	a.lint = "";
	assert_int_equal(pb_chatwoot_render(&a, &b), PB_OK);
	s = pb_buf_str(&b);
	assert_non_null(strstr(s, "severity 2"));
	assert_non_null(strstr(s, "Checklist:"));
	assert_null(strstr(s, "Lint"));
	assert_non_null(strstr(s, "/send <edited text>"));
	pb_buf_reset(&b);
	a.kind = PB_CHAN_SEND_REPLY;
	assert_int_equal(pb_chatwoot_render(&a, &b), PB_OK);
	assert_string_equal(pb_buf_str(&b), a.text);
	pb_buf_release(&b);
}

/* --- actions against the sandbox ------------------------------------ */

static void perform_ok(pb_channel *ch, const pb_chan_action *a, pb_chan_result *res)
{
	pb_errbuf eb;

	if (pb_channel_perform(ch, a, NOW, res, &eb))
		fail_msg("%s: %s", pb_chan_kind_name(a->kind), eb.msg);
}

static void post_draft(void **state)
{
	pb_channel *ch = channel(NULL, NULL);
	pb_chan_action a = draft_action("7", "zh");
	pb_chan_result res;
	cJSON *c, *m;
	const char *content;

	(void)state;
	perform_ok(ch, &a, &res);
	assert_false(res.already);
	assert_true(res.external_id[0] >= '1' && res.external_id[0] <= '9');
	c = conversation(7);
	m = last_message(c);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(m, "private")));
	assert_int_equal(cJSON_GetObjectItem(m, "message_type")->valueint, 1);
	assert_int_equal(cJSON_GetObjectItem(m, "id")->valueint, atoi(res.external_id));
	content = S(m, "content");
	assert_non_null(strstr(content, a.text));
	assert_non_null(strstr(content, "confirm the address"));
	assert_non_null(strstr(content, "vague: no date promised"));
	assert_true(content[0] != '/');
	cJSON_Delete(c);
	pb_channel_free(ch);
}

static void send_reply(void **state)
{
	pb_channel *ch = channel(NULL, NULL);
	pb_chan_action a = {0};
	pb_chan_result res;
	cJSON *c, *m;

	(void)state;
	a.kind = PB_CHAN_SEND_REPLY;
	a.conversation = "7";
	a.lang = "zh";
	a.text = "亲，非常抱歉！\n包裹明天送到。";
	a.queued_at = (int64_t)time(NULL);
	perform_ok(ch, &a, &res);
	c = conversation(7);
	m = last_message(c);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(m, "private")));
	assert_int_equal(cJSON_GetObjectItem(m, "message_type")->valueint, 1);
	assert_string_equal(S(m, "content"), a.text);
	assert_string_equal(S(cJSON_GetObjectItem(m, "sender"), "type"), "agent_bot");
	cJSON_Delete(c);
	pb_channel_free(ch);
}

static void hand_off(void **state)
{
	pb_channel *ch = channel(NULL, NULL);
	pb_chan_action a = {0};
	pb_chan_result res;
	cJSON *c, *labels, *m;
	size_t creates;

	(void)state;
	c = conversation(8);
	assert_string_equal(S(c, "status"), "resolved");
	cJSON_Delete(c);
	a.kind = PB_CHAN_HAND_OFF;
	a.conversation = "8";
	a.case_id = 31;
	a.lang = "en";
	a.brief = "Parcel signed for at a locker the buyer does not use.";
	a.reason = "severity 3: possible loss";
	a.case_url = "https://parcelbot.example/cases/31";
	a.queued_at = (int64_t)time(NULL);
	perform_ok(ch, &a, &res);
	assert_false(res.already);
	c = conversation(8);
	assert_string_equal(S(c, "status"), "open");
	labels = cJSON_GetObjectItem(c, "labels");
	assert_int_equal(cJSON_GetArraySize(labels), 2);
	assert_string_equal(cJSON_GetArrayItem(labels, 0)->valuestring, "vip");
	assert_string_equal(cJSON_GetArrayItem(labels, 1)->valuestring, "parcel-escalated");
	m = last_message(c);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(m, "private")));
	assert_non_null(strstr(S(m, "content"), a.brief));
	assert_non_null(strstr(S(m, "content"), a.reason));
	assert_non_null(strstr(S(m, "content"), a.case_url));
	assert_int_equal(atoi(res.external_id), cJSON_GetObjectItem(m, "id")->valueint);
	cJSON_Delete(c);

	/* Again, as a retry: no second note, the label not doubled. */
	creates = pb_sandbox_count(sb, "chatwoot.messages.create");
	a.attempt = 1;
	perform_ok(ch, &a, &res);
	assert_true(res.already);
	assert_int_equal(pb_sandbox_count(sb, "chatwoot.messages.create"), creates);
	c = conversation(8);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c, "labels")), 2);
	assert_string_equal(S(c, "status"), "open");
	cJSON_Delete(c);
	pb_channel_free(ch);
}

static void notify(void **state)
{
	pb_channel *ch = channel(NULL, NULL);
	pb_chan_action a = {0};
	pb_chan_result res;
	cJSON *c, *m;

	(void)state;
	a.kind = PB_CHAN_NOTIFY;
	a.conversation = "7";
	a.case_id = 4;
	a.lang = "en";
	a.reason = "follow-up promised by 18:00 is 2 hours late";
	a.case_url = "https://parcelbot.example/cases/4";
	perform_ok(ch, &a, &res);
	c = conversation(7);
	m = last_message(c);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(m, "private")));
	assert_non_null(strstr(S(m, "content"), a.reason));
	assert_non_null(strstr(S(m, "content"), a.case_url));
	cJSON_Delete(c);
	pb_channel_free(ch);
}

static void resend_check(void **state)
{
	pb_channel *ch = channel(NULL, NULL);
	pb_chan_action a = {0};
	pb_chan_result res, res2;
	cJSON *c;
	int n;

	(void)state;
	a.kind = PB_CHAN_SEND_REPLY;
	a.conversation = "7";
	a.text = "Sorry for the wait: your parcel arrives tomorrow.";
	a.queued_at = (int64_t)time(NULL);
	perform_ok(ch, &a, &res);
	assert_false(res.already);
	/* The first try went through but its answer was lost: the retry
	 * finds it and sends nothing. */
	a.attempt = 1;
	perform_ok(ch, &a, &res2);
	assert_true(res2.already);
	assert_string_equal(res2.external_id, res.external_id);
	assert_int_equal(pb_sandbox_count(sb, "chatwoot.messages.create"), 1);
	assert_int_equal(pb_sandbox_count(sb, "chatwoot.messages.list"), 1);
	c = conversation(7);
	n = cJSON_GetArraySize(cJSON_GetObjectItem(c, "messages"));
	assert_int_equal(n, 1);
	cJSON_Delete(c);

	/* The same text as a private note is not the reply. */
	a.kind = PB_CHAN_POST_DRAFT;
	a.draft_id = 1;
	perform_ok(ch, &a, &res2);
	assert_false(res2.already);

	/* A first try that never arrived: the retry sends. */
	a.kind = PB_CHAN_SEND_REPLY;
	a.text = "A different reply.";
	a.attempt = 2;
	perform_ok(ch, &a, &res2);
	assert_false(res2.already);
	assert_int_equal(pb_sandbox_count(sb, "chatwoot.messages.create"), 3);

	/* The same text sent long before this action was queued is another
	 * message, not this one. */
	a.queued_at = (int64_t)time(NULL) + 3600;
	a.attempt = 1;
	perform_ok(ch, &a, &res2);
	assert_false(res2.already);
	assert_int_equal(pb_sandbox_count(sb, "chatwoot.messages.create"), 4);
	pb_channel_free(ch);
}

static pb_err perform_fail(pb_channel *ch, const pb_chan_action *a, pb_chan_result *res,
			   pb_errbuf *eb)
{
	pb_err err = pb_channel_perform(ch, a, NOW, res, eb);

	assert_int_not_equal(err, PB_OK);
	assert_null(strstr(eb->msg, PB_SANDBOX_CHATWOOT_TOKEN));
	assert_null(strstr(eb->msg, "wrong-token-abcdef"));
	return err;
}

static void failures(void **state)
{
	pb_channel *ch = channel(NULL, NULL), *bad;
	pb_chan_action a = {0};
	pb_chan_result res;
	pb_errbuf eb;
	char url[64];

	(void)state;
	a.kind = PB_CHAN_SEND_REPLY;
	a.conversation = "7";
	a.text = "Sorry!";
	a.queued_at = (int64_t)time(NULL);

	tt_fault(sb, "{\"route\":\"chatwoot.messages.create\",\"status\":429,\"retry_after\":7}");
	assert_int_equal(perform_fail(ch, &a, &res, &eb), PB_ERATELIMIT);
	assert_true(res.retryable);
	assert_int_equal(res.retry_after, 7);

	tt_fault(sb, "{\"route\":\"chatwoot.messages.create\",\"status\":500}");
	assert_int_equal(perform_fail(ch, &a, &res, &eb), PB_EUPSTREAM);
	assert_true(res.retryable);

	tt_fault(sb, "{\"route\":\"chatwoot.messages.create\",\"action\":\"drop\"}");
	perform_fail(ch, &a, &res, &eb);
	assert_true(res.retryable);

	/* The resend check failing is retryable too. */
	a.attempt = 1;
	tt_fault(sb, "{\"route\":\"chatwoot.messages.list\",\"status\":503}");
	perform_fail(ch, &a, &res, &eb);
	assert_true(res.retryable);
	assert_int_equal(pb_sandbox_count(sb, "chatwoot.messages.create"), 3);
	a.attempt = 0;

	/* A hand-off whose label step fails is retried whole. */
	a.kind = PB_CHAN_HAND_OFF;
	a.brief = "brief";
	tt_fault(sb, "{\"route\":\"chatwoot.labels\",\"status\":502}");
	perform_fail(ch, &a, &res, &eb);
	assert_true(res.retryable);
	a.kind = PB_CHAN_SEND_REPLY;

	/* Wrong token: not retryable, names status and endpoint, not the token. */
	bad = channel(NULL, "wrong-token-abcdef");
	assert_int_equal(perform_fail(bad, &a, &res, &eb), PB_EAUTH);
	assert_false(res.retryable);
	assert_non_null(strstr(eb.msg, "401"));
	assert_non_null(strstr(eb.msg, "/api/v1/accounts/1/conversations/7/messages"));
	pb_channel_free(bad);

	/* Unknown conversation: 404, not retryable. */
	a.conversation = "404";
	perform_fail(ch, &a, &res, &eb);
	assert_false(res.retryable);
	assert_non_null(strstr(eb.msg, "404"));
	/* Not a conversation id at all. */
	a.conversation = "7/../../x";
	assert_int_equal(perform_fail(ch, &a, &res, &eb), PB_EINVAL);
	assert_false(res.retryable);
	a.conversation = "7";

	/* Nobody listening: retryable. */
	snprintf(url, sizeof url, "http://127.0.0.1:1");
	bad = channel(url, NULL);
	perform_fail(bad, &a, &res, &eb);
	assert_true(res.retryable);
	pb_channel_free(bad);
	pb_channel_free(ch);
}

/* --- webhooks delivered by the sandbox ------------------------------ */

/* Waits until route has n records; returns them (caller deletes). */
static cJSON *wait_records(const char *route, int n)
{
	long long end = tt_ms() + 5000;
	cJSON *r;

	for (;;) {
		r = pb_sandbox_requests_json(sb, route);
		if (cJSON_GetArraySize(r) >= n)
			return r;
		cJSON_Delete(r);
		if (tt_ms() > end)
			fail_msg("fewer than %d requests on %s after 5 s", n, route);
		usleep(10000);
	}
}

/* Waits until the sandbox has recorded n deliveries; returns the
 * /_sandbox/chatwoot/deliveries answer (caller deletes). */
static cJSON *wait_deliveries(int n)
{
	long long end = tt_ms() + 5000;
	cJSON *j;
	long st;

	for (;;) {
		j = sbx("GET", "/_sandbox/chatwoot/deliveries", NULL, &st);
		if (cJSON_GetArraySize(cJSON_GetObjectItem(j, "deliveries")) >= n)
			return j;
		cJSON_Delete(j);
		if (tt_ms() > end)
			fail_msg("fewer than %d deliveries recorded after 5 s", n);
		usleep(10000);
	}
}

/* Feeds the k-th webhook the echo receiver got to the adapter. */
static int feed(pb_channel *ch, int k, pb_chan_events *evs)
{
	cJSON *r = wait_records("echo", k + 1);
	const char *body = S(cJSON_GetArrayItem(r, k), "body");
	int status;

	assert_non_null(body);
	status = hook(ch, SECRET, body, evs);
	cJSON_Delete(r);
	return status;
}

static void delivery(void **state)
{
	pb_channel *ch = channel(NULL, NULL);
	pb_chan_events evs = {0};
	pb_chan_action a = {0};
	pb_chan_result res;
	cJSON *j, *e, *d;
	long st;

	(void)state;
	set_webhook("/_sandbox/echo");
	j = sbx("POST", "/_sandbox/chatwoot/incoming",
		"{\"conversation\":7,\"text\":\"where is my parcel?\"}", &st);
	assert_int_equal(st, 200);
	cJSON_Delete(j);
	assert_int_equal(feed(ch, 0, &evs), 200);
	e = only_event(&evs, evs.n ? evs.v[0].external_id : "?");
	assert_string_equal(S(e, "kind"), "message");
	assert_string_equal(S(e, "conversation"), "7");
	assert_string_equal(S(e, "buyer"), "70");
	assert_string_equal(S(e, "message"), "where is my parcel?");
	assert_string_equal(S(cJSON_GetObjectItem(e, "order"), "id"), "SO-1001");
	cJSON_Delete(e);
	pb_chan_events_release(&evs);

	/* parcelbot's draft and reply come back as agent_bot messages. */
	a = draft_action("7", "en");
	perform_ok(ch, &a, &res);
	assert_int_equal(feed(ch, 1, &evs), 200);
	assert_int_equal(evs.n, 0);
	a.kind = PB_CHAN_SEND_REPLY;
	perform_ok(ch, &a, &res);
	assert_int_equal(feed(ch, 2, &evs), 200);
	assert_int_equal(evs.n, 0);

	/* An agent's command note. */
	j = sbx("POST", "/_sandbox/chatwoot/agent_note",
		"{\"conversation\":7,\"text\":\"/escalate buyer is upset\",\"agent\":\"Ann\"}", &st);
	assert_int_equal(st, 200);
	cJSON_Delete(j);
	assert_int_equal(feed(ch, 3, &evs), 200);
	e = only_event(&evs, evs.n ? evs.v[0].external_id : "?");
	assert_string_equal(S(e, "kind"), "command");
	assert_string_equal(S(e, "command"), "escalate");
	assert_string_equal(S(e, "text"), "buyer is upset");
	assert_string_equal(S(e, "agent"), "Ann");
	cJSON_Delete(e);
	pb_chan_events_release(&evs);

	/* Every delivery recorded as delivered (the record is written once
	 * the receiver's answer is in, a moment after the echo saw it). */
	j = wait_deliveries(4);
	d = cJSON_GetObjectItem(j, "deliveries");
	assert_int_equal(cJSON_GetArraySize(d), 4);
	cJSON_ArrayForEach(e, d)
	{
		assert_true(cJSON_IsTrue(cJSON_GetObjectItem(e, "ok")));
		assert_int_equal(cJSON_GetObjectItem(e, "status")->valueint, 200);
	}
	cJSON_Delete(j);

	/* A new conversation, made by the buyer's message. */
	j = sbx("POST", "/_sandbox/chatwoot/incoming",
		"{\"conversation\":42,\"contact\":420,\"text\":\"hello\",\"order_id\":\"SO-42\"}",
		&st);
	assert_int_equal(st, 200);
	cJSON_Delete(j);
	assert_int_equal(feed(ch, 4, &evs), 200);
	e = only_event(&evs, evs.n ? evs.v[0].external_id : "?");
	assert_string_equal(S(e, "conversation"), "42");
	assert_string_equal(S(e, "buyer"), "420");
	assert_string_equal(S(cJSON_GetObjectItem(e, "order"), "id"), "SO-42");
	cJSON_Delete(e);
	pb_chan_events_release(&evs);
	pb_channel_free(ch);
}

static void delivery_failures(void **state)
{
	cJSON *j, *d, *e;
	long st;

	(void)state;
	/* A receiver that fails: retried, then recorded as failed. */
	set_webhook("/_sandbox/echo");
	tt_fault(sb, "{\"route\":\"echo\",\"status\":500,\"times\":0}");
	j = sbx("POST", "/_sandbox/chatwoot/incoming", "{\"conversation\":7,\"text\":\"hi\"}", &st);
	cJSON_Delete(j);
	j = wait_deliveries(1);
	d = cJSON_GetObjectItem(j, "deliveries");
	assert_int_equal(cJSON_GetArraySize(d), 1);
	e = cJSON_GetArrayItem(d, 0);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(e, "ok")));
	assert_int_equal(cJSON_GetObjectItem(e, "status")->valueint, 500);
	assert_int_equal(cJSON_GetObjectItem(e, "attempts")->valueint, 3);
	assert_int_equal(pb_sandbox_count(sb, "echo"), 3);
	cJSON_Delete(j);
	pb_sandbox_faults_clear(sb);

	/* One failure, then the retry gets through. */
	tt_fault(sb, "{\"route\":\"echo\",\"status\":503}");
	j = sbx("POST", "/_sandbox/chatwoot/incoming", "{\"conversation\":7,\"text\":\"hi\"}", &st);
	cJSON_Delete(j);
	cJSON_Delete(wait_records("echo", 5));
	j = wait_deliveries(2);
	d = cJSON_GetObjectItem(j, "deliveries");
	assert_int_equal(cJSON_GetArraySize(d), 2);
	e = cJSON_GetArrayItem(d, 1);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(e, "ok")));
	assert_int_equal(cJSON_GetObjectItem(e, "attempts")->valueint, 2);
	cJSON_Delete(j);

	/* No webhook configured: nothing sent, the message still stored. */
	j = sbx("POST", "/_sandbox/chatwoot/config", "{\"webhook\":null}", &st);
	cJSON_Delete(j);
	j = sbx("POST", "/_sandbox/chatwoot/incoming", "{\"conversation\":7,\"text\":\"x\"}", &st);
	assert_int_equal(st, 200);
	cJSON_Delete(j);
	j = sbx("GET", "/_sandbox/chatwoot/deliveries", NULL, &st);
	d = cJSON_GetObjectItem(j, "deliveries");
	assert_int_equal(cJSON_GetArraySize(d), 3);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 2), "ok")));
	cJSON_Delete(j);
}

static void sandbox_api_checks(void **state)
{
	pb_http_req r = {0};
	const char *bad_tok[] = {"api_access_token: nope", NULL};
	const char *good_tok[] = {"api_access_token: " PB_SANDBOX_CHATWOOT_TOKEN, NULL};
	char url[256];
	cJSON *j;
	long st;

	(void)state;
	r.url = tt_url(sb, "/api/v1/accounts/1/conversations/7/messages", url, sizeof url);
	assert_int_equal(pb_http_perform(http, &r, 1), PB_OK);
	assert_int_equal(r.status, 401);
	pb_http_req_release(&r);
	memset(&r, 0, sizeof r);
	r.url = url;
	r.headers = bad_tok;
	assert_int_equal(pb_http_perform(http, &r, 1), PB_OK);
	assert_int_equal(r.status, 401);
	pb_http_req_release(&r);
	memset(&r, 0, sizeof r);
	r.url = tt_url(sb, "/api/v1/accounts/2/conversations/7/messages", url, sizeof url);
	r.headers = good_tok;
	assert_int_equal(pb_http_perform(http, &r, 1), PB_OK);
	assert_int_equal(r.status, 404);
	pb_http_req_release(&r);
	memset(&r, 0, sizeof r);
	r.url = tt_url(sb, "/api/v1/accounts/1/conversations/7/messages", url, sizeof url);
	r.headers = good_tok;
	assert_int_equal(pb_http_perform(http, &r, 1), PB_OK);
	assert_int_equal(r.status, 200);
	j = cJSON_Parse(pb_buf_str(&r.resp));
	assert_true(cJSON_IsArray(cJSON_GetObjectItem(j, "payload")));
	cJSON_Delete(j);
	pb_http_req_release(&r);
	/* Exact routes still answer beside the patterns; unknown paths 404. */
	j = sbx("GET", "/_sandbox/health", NULL, &st);
	assert_int_equal(st, 200);
	cJSON_Delete(j);
	j = sbx("GET", "/_sandbox/chatwoot/conversations/12345", NULL, &st);
	assert_int_equal(st, 404);
	cJSON_Delete(j);
	j = sbx("GET", "/api/v1/accounts/1/conversations/7/messages/extra", NULL, &st);
	assert_int_equal(st, 404);
	cJSON_Delete(j);
	j = sbx("DELETE", "/api/v1/accounts/1/conversations/7/messages", NULL, &st);
	assert_int_equal(st, 405);
	cJSON_Delete(j);
	j = sbx("POST", "/_sandbox/chatwoot/incoming", "{\"text\":\"no conversation\"}", &st);
	assert_int_equal(st, 400);
	cJSON_Delete(j);
}

/* --- scripted play -------------------------------------------------- */

static void play(void **state)
{
	pb_channel *ch = channel(NULL, NULL);
	pb_chan_action a = {0};
	pb_chan_result res;
	long long end = tt_ms() + 10000;
	cJSON *j, *c, *msgs;
	long st;

	(void)state;
	/* speed 5: conversation 7 at 0 and 0.2 s, its follow-up at 0.6 s;
	 * conversation 8 at 0, its follow-up at 0.6 s unless answered. */
	j = sbx("POST", "/_sandbox/chatwoot/play", "{\"speed\":5}", &st);
	assert_int_equal(st, 200);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "running")));
	assert_int_equal(cJSON_GetObjectItem(j, "pending")->valueint, 5);
	cJSON_Delete(j);
	j = sbx("POST", "/_sandbox/chatwoot/play", "{\"speed\":5}", &st);
	assert_int_equal(st, 409);
	cJSON_Delete(j);
	/* Answer conversation 8 as soon as its buyer has written. */
	for (;;) {
		c = conversation(8);
		if (cJSON_GetArraySize(cJSON_GetObjectItem(c, "messages")) > 0)
			break;
		cJSON_Delete(c);
		if (tt_ms() > end)
			fail_msg("conversation 8 never got its message");
		usleep(5000);
	}
	cJSON_Delete(c);
	a.kind = PB_CHAN_SEND_REPLY;
	a.conversation = "8";
	a.text = "We are so sorry. We have asked the courier where it was left.";
	perform_ok(ch, &a, &res);
	for (;;) {
		j = sbx("GET", "/_sandbox/chatwoot/play", NULL, &st);
		if (!cJSON_IsTrue(cJSON_GetObjectItem(j, "running")))
			break;
		cJSON_Delete(j);
		if (tt_ms() > end)
			fail_msg("the play did not finish");
		usleep(20000);
	}
	assert_int_equal(cJSON_GetObjectItem(j, "played")->valueint, 3);
	assert_int_equal(cJSON_GetObjectItem(j, "pending")->valueint, 0);
	assert_int_equal(cJSON_GetObjectItem(j, "follow_ups")->valueint, 1);
	assert_int_equal(cJSON_GetObjectItem(j, "follow_ups_skipped")->valueint, 1);
	cJSON_Delete(j);
	c = conversation(7);
	msgs = cJSON_GetObjectItem(c, "messages");
	assert_int_equal(cJSON_GetArraySize(msgs), 3);
	assert_string_equal(S(cJSON_GetArrayItem(msgs, 0), "content"),
			    "我的快递三天没动了，单号 73100000000001");
	assert_string_equal(S(cJSON_GetArrayItem(msgs, 2), "content"), "还在吗？怎么没人回复");
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 2), "message_type")->valueint,
			 0);
	cJSON_Delete(c);
	c = conversation(8);
	msgs = cJSON_GetObjectItem(c, "messages");
	assert_int_equal(cJSON_GetArraySize(msgs), 2);
	assert_string_equal(S(cJSON_GetArrayItem(msgs, 1), "content"), a.text);
	/* The buyer's message reopened the resolved conversation. */
	assert_string_equal(S(c, "status"), "open");
	cJSON_Delete(c);

	/* A reset stops a play under way and forgets the conversations. */
	j = sbx("POST", "/_sandbox/chatwoot/play", "{\"speed\":0.001}", &st);
	assert_int_equal(st, 200);
	cJSON_Delete(j);
	pb_sandbox_reset(sb);
	j = sbx("GET", "/_sandbox/chatwoot/play", NULL, &st);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(j, "running")));
	cJSON_Delete(j);
	c = conversation(7);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c, "messages")), 0);
	cJSON_Delete(c);
	j = sbx("POST", "/_sandbox/chatwoot/play", "{\"speed\":-1}", &st);
	assert_int_equal(st, 400);
	cJSON_Delete(j);
	pb_channel_free(ch);
}

static void seed_errors(void **state)
{
	char *dir = tu_mkdtemp(), path[PATH_MAX];
	pb_sandbox_opts o;
	pb_sandbox *s2 = NULL;
	pb_errbuf eb;

	(void)state;
	tu_write(dir, "bad.yaml",
		 "chatwoot:\n"
		 "  conversations:\n"
		 "    - id: 7\n"
		 "      messages:\n"
		 "        - {text: hi, at: -5}\n"
		 "      follow_up: {text: hello}\n");
	snprintf(path, sizeof path, "%s/bad.yaml", dir);
	pb_sandbox_opts_init(&o);
	o.seed_file = path;
	assert_int_not_equal(pb_sandbox_start(&o, &s2, &eb), PB_OK);
	assert_non_null(strstr(eb.msg, "bad.yaml:5:"));
	tu_write(dir, "bad2.yaml", "chatwoot:\n  conversations:\n    - id: 7\n      colour: red\n");
	snprintf(path, sizeof path, "%s/bad2.yaml", dir);
	assert_int_not_equal(pb_sandbox_start(&o, &s2, &eb), PB_OK);
	assert_non_null(strstr(eb.msg, "bad2.yaml:4:7"));
	assert_non_null(strstr(eb.msg, "colour"));
	tu_rmtree(dir);
	free(dir);
}

/* The resend check's reading of a messages list, without Chatwoot. */
static void find_message_shapes(void **state)
{
	static const char *const answers[] = {
		/* 0: payload object, found with a numeric id */
		"{\"payload\":[{\"id\":5,\"content\":\"hi\",\"private\":false,"
		"\"message_type\":1,\"created_at\":1795392000}]}",
		/* 1: a bare array, string type, ISO time, string id */
		"[{\"id\":\"m-9\",\"content\":\"hi\",\"message_type\":\"outgoing\","
		"\"created_at\":\"2026-11-23T10:00:00Z\"}]",
		/* 2: private, incoming, too old, other text: none match */
		"{\"payload\":[{\"content\":\"hi\",\"private\":true,\"message_type\":1,"
		"\"created_at\":1795392000},{\"content\":\"hi\",\"message_type\":0,"
		"\"created_at\":1795392000},{\"content\":\"hi\",\"message_type\":1,"
		"\"created_at\":1},{\"content\":\"ho\",\"message_type\":1,"
		"\"created_at\":1795392000}]}",
		/* 3: not a list at all, and a payload that is not one */
		"{\"payload\":{\"content\":\"hi\"}}",
		"17",
	};
	static const bool want[] = {true, true, false, false, false};
	char ext[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof answers / sizeof answers[0]; i++) {
		cJSON *j = cJSON_Parse(answers[i]);
		assert_non_null(j);
		strcpy(ext, "?");
		assert_int_equal(pb_chatwoot_find_message(j, "hi", false, NOW, ext, sizeof ext),
				 want[i]);
		if (i == 0)
			assert_string_equal(ext, "5");
		if (i == 1)
			assert_string_equal(ext, "m-9");
		cJSON_Delete(j);
	}
}

/* Fuzzing (tests/fuzz/regressions/fuzz_chatwoot): a created_at or account
 * id too large for an integer was cast to one (undefined), and the time
 * then overflowed in pb_time_fields. Such a webhook is now a 400, and such
 * a message is not the resend check's. */
static void webhook_huge_numbers(void **state)
{
	pb_channel *ch = channel("http://127.0.0.1:9", NULL);
	pb_chan_events evs = {0};
	char ext[32];
	cJSON *j;

	(void)state;
	assert_int_equal(hook(ch, SECRET,
			      "{\"event\":\"message_created\",\"id\":91,\"content\":\"hi\","
			      "\"message_type\":\"incoming\",\"created_at\":1.79539e100,"
			      "\"sender\":{\"id\":70,\"type\":\"contact\"},\"conversation\":{\"id\":7}}",
			      &evs),
			 400);
	assert_int_equal(evs.n, 0);
	assert_int_equal(hook(ch, SECRET,
			      "{\"event\":\"message_created\",\"id\":92,\"content\":\"hi\","
			      "\"message_type\":\"incoming\",\"created_at\":-9.3e18,"
			      "\"account\":{\"id\":1e300},"
			      "\"sender\":{\"id\":70,\"type\":\"contact\"},\"conversation\":{\"id\":7}}",
			      &evs),
			 400);
	assert_int_equal(evs.n, 0);
	/* Another account's id, however large, is not ours: ignored. */
	assert_int_equal(hook(ch, SECRET,
			      "{\"event\":\"message_created\",\"id\":93,\"content\":\"hi\","
			      "\"message_type\":\"incoming\",\"account\":{\"id\":1e300},"
			      "\"sender\":{\"id\":70,\"type\":\"contact\"},\"conversation\":{\"id\":7}}",
			      &evs),
			 200);
	assert_int_equal(evs.n, 0);
	j = cJSON_Parse("[{\"id\":1,\"content\":\"hi\",\"message_type\":1,\"created_at\":1e100}]");
	assert_non_null(j);
	assert_false(pb_chatwoot_find_message(j, "hi", false, NOW, ext, sizeof ext));
	cJSON_Delete(j);
	pb_chan_events_release(&evs);
	pb_channel_free(ch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(webhook_incoming),
		cmocka_unit_test(webhook_ignored),
		cmocka_unit_test(webhook_command),
		cmocka_unit_test(webhook_rejected),
		cmocka_unit_test(webhook_bad_utf8),
		cmocka_unit_test(webhook_huge_numbers),
		cmocka_unit_test(render_notes),
		cmocka_unit_test(find_message_shapes),
		cmocka_unit_test_setup(post_draft, reset),
		cmocka_unit_test_setup(send_reply, reset),
		cmocka_unit_test_setup(hand_off, reset),
		cmocka_unit_test_setup(notify, reset),
		cmocka_unit_test_setup(resend_check, reset),
		cmocka_unit_test_setup(failures, reset),
		cmocka_unit_test_setup(delivery, reset),
		cmocka_unit_test_setup(delivery_failures, reset),
		cmocka_unit_test_setup(sandbox_api_checks, reset),
		cmocka_unit_test_setup(play, reset),
		cmocka_unit_test(seed_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
