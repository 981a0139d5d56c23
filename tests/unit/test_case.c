/*
 * The closed loop against the shipped KB and a real store: every legal and
 * illegal state transition, which case a message joins, repeat contacts
 * raising severity, the reminders the policy and sent replies set (peak
 * seasons doubling them, promises read from the text), agents' decisions,
 * supervisor escalation exactly once, and the case timeline.
 */
#include "testutil.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/case.h"
#include "parcelbot/ingest.h"
#include "parcelbot/policy.h"

typedef struct fx {
	char *dir;
	pb_store *st;
	pb_ingest *ing;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	pb_store_opts o = {true, 0, 0};
	pb_errbuf eb;
	char path[512];

	f->dir = tu_mkdtemp();
	snprintf(path, sizeof path, "%s/c.db", f->dir);
	if (pb_store_open(path, &o, &f->st, &eb) || pb_ingest_new(tu_kb(), f->st, NULL, &f->ing, &eb)) {
		fprintf(stderr, "%s\n", eb.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	pb_ingest_free(f->ing);
	pb_store_close(f->st);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static int64_t T(const char *iso)
{
	pb_when w;

	if (pb_time_parse(iso, 8 * 3600, &w))
		fail_msg("bad time %s", iso);
	return w.t;
}

#define NOW "2026-11-20T10:00:00+08:00"

/* A buyer message on conversation conv about order (NULL: none), whose
 * parcel last moved at last_event (NULL: no parcel), at time `at`. */
static void say(fx *f, const char *id, const char *conv, const char *order, const char *msg,
		const char *last_event, const char *at)
{
	char line[2048], parcel[600] = "null", ord[400] = "null";
	pb_errbuf eb;
	size_t done;

	if (order)
		snprintf(ord, sizeof ord,
			 "{\"id\":\"%s\",\"amount\":89,\"currency\":\"CNY\",\"category\":\"food\","
			 "\"paid_at\":\"2026-11-14T09:00:00+08:00\","
			 "\"shipped_at\":\"2026-11-14T18:00:00+08:00\"}",
			 order);
	if (last_event)
		snprintf(parcel, sizeof parcel,
			 "{\"carrier\":\"zto\",\"number\":\"75312345678901\",\"events\":["
			 "{\"time\":\"%s\",\"location\":\"杭州转运中心\","
			 "\"description\":\"快件已到达【杭州转运中心】\",\"state\":\"in_transit\"}]}",
			 last_event);
	snprintf(line, sizeof line,
		 "{\"message_id\":\"%s\",\"conversation\":\"%s\",\"buyer\":\"b-%s\",\"message\":\"%s\","
		 "\"now\":\"%s\",\"order\":%s,\"parcel\":%s}",
		 id, conv, conv, msg, at, ord, parcel);
	if (pb_ingest_accept(f->ing, line, strlen(line), T(at), &eb))
		fail_msg("accept %s: %s", id, eb.msg);
	if (pb_ingest_process(f->ing, T(at), SIZE_MAX, &done, &eb))
		fail_msg("process %s: %s", id, eb.msg);
}

static pb_store_case get_case(fx *f, pb_id id)
{
	pb_store_case c;
	pb_errbuf eb;

	if (pb_store_case_get(f->st, id, &c, &eb))
		fail_msg("case %lld: %s", (long long)id, eb.msg);
	return c;
}

static size_t count_outbox(fx *f, pb_id case_id, const char *kind)
{
	pb_store_outbox_rows l;
	pb_errbuf eb;
	size_t i, n = 0;

	assert_int_equal(pb_store_outbox_list(f->st, case_id, &l, &eb), PB_OK);
	for (i = 0; i < l.n; i++)
		n += !strcmp(l.v[i].kind, kind);
	pb_store_outbox_rows_release(&l);
	return n;
}

/* The pending reminder of a kind, or 0 for its due time when none. */
static int64_t pending_due(fx *f, pb_id case_id, const char *kind, size_t *count)
{
	pb_store_reminders l;
	pb_errbuf eb;
	int64_t due = 0;
	size_t i, n = 0;

	assert_int_equal(pb_store_reminder_list(f->st, case_id, &l, &eb), PB_OK);
	for (i = 0; i < l.n; i++)
		if (!strcmp(l.v[i].kind, kind) && !l.v[i].done_at) {
			if (!due)
				due = l.v[i].due;
			n++;
		}
	pb_store_reminders_release(&l);
	if (count)
		*count = n;
	return due;
}

/* ---- the state machine ---- */

static const char *const legal[][2] = {
	{"new", "drafted"},		{"new", "escalated"},		{"new", "resolved"},
	{"drafted", "awaiting_agent"},	{"drafted", "sent"},		{"drafted", "escalated"},
	{"drafted", "resolved"},	{"awaiting_agent", "drafted"},	{"awaiting_agent", "sent"},
	{"awaiting_agent", "escalated"}, {"awaiting_agent", "resolved"}, {"sent", "following_up"},
	{"sent", "drafted"},		{"sent", "escalated"},		{"sent", "resolved"},
	{"following_up", "drafted"},	{"following_up", "escalated"},	{"following_up", "resolved"},
	{"escalated", "sent"},		{"escalated", "resolved"},	{"resolved", "closed"},
	{"resolved", "reopened"},	{"closed", "reopened"},		{"reopened", "drafted"},
	{"reopened", "escalated"},	{"reopened", "resolved"},
};

static bool is_legal(int from, int to)
{
	size_t i;

	for (i = 0; i < sizeof legal / sizeof legal[0]; i++)
		if (!strcmp(legal[i][0], pb_case_state_name((pb_case_state)from)) &&
		    !strcmp(legal[i][1], pb_case_state_name((pb_case_state)to)))
			return true;
	return false;
}

static void test_state_names(void **state)
{
	int s;

	(void)state;
	for (s = 0; s < PB_CASE_STATE_COUNT_; s++)
		assert_int_equal(pb_case_state_from_name(pb_case_state_name((pb_case_state)s)), s);
	assert_int_equal(pb_case_state_from_name("open"), -1);
	assert_int_equal(pb_case_state_from_name(NULL), -1);
	assert_false(pb_case_can(PB_CASE_STATE_COUNT_, PB_CASE_NEW));
}

/* Every pair of states, through the store: the legal ones move and are
 * recorded, the illegal ones are refused naming both states and change
 * nothing. */
static void test_every_transition(void **state)
{
	fx *f = *state;
	pb_errbuf eb;
	pb_id conv;
	int from, to, n_legal = 0;

	assert_int_equal(pb_store_conversation_upsert(f->st, "cli", "t", NULL, 1, &conv, &eb), PB_OK);
	for (from = 0; from < PB_CASE_STATE_COUNT_; from++)
		for (to = 0; to < PB_CASE_STATE_COUNT_; to++) {
			pb_store_case c, back;
			pb_store_events ev;
			char scope[32], want[96];
			pb_err err;
			bool ok = is_legal(from, to);
			assert_int_equal(pb_case_can((pb_case_state)from, (pb_case_state)to), ok);
			memset(&c, 0, sizeof c);
			snprintf(scope, sizeof scope, "conv:%d-%d", from, to);
			c.scope = scope;
			c.kind = (char *)"damaged";
			strcpy(c.origin, "buyer");
			strcpy(c.state, pb_case_state_name((pb_case_state)from));
			strcpy(c.lang, "en");
			c.conversation_id = conv;
			c.opened_at = c.updated_at = 10;
			assert_int_equal(pb_store_case_insert(f->st, &c, &eb), PB_OK);
			err = pb_case_transition(f->st, &c, (pb_case_state)to, "tester", 20, "why", &eb);
			back = get_case(f, c.id);
			assert_int_equal(pb_store_event_list(f->st, c.id, &ev, &eb), PB_OK);
			if (ok) {
				n_legal++;
				assert_int_equal(err, PB_OK);
				assert_string_equal(back.state, pb_case_state_name((pb_case_state)to));
				assert_int_equal(back.updated_at, 20);
				assert_int_equal(ev.n, 1);
				assert_string_equal(ev.v[0].from_state,
						    pb_case_state_name((pb_case_state)from));
				assert_string_equal(ev.v[0].to_state, pb_case_state_name((pb_case_state)to));
				assert_string_equal(ev.v[0].actor, "tester");
				assert_int_equal(ev.v[0].at, 20);
				if (to == PB_CASE_RESOLVED)
					assert_int_equal(back.resolved_at, 20);
				if (to == PB_CASE_CLOSED)
					assert_int_equal(back.closed_at, 20);
			} else {
				assert_int_equal(err, PB_ESTATE);
				snprintf(want, sizeof want, "cannot go from %s to %s",
					 pb_case_state_name((pb_case_state)from),
					 pb_case_state_name((pb_case_state)to));
				assert_non_null(strstr(eb.msg, want));
				assert_string_equal(back.state, pb_case_state_name((pb_case_state)from));
				assert_string_equal(c.state, pb_case_state_name((pb_case_state)from));
				assert_int_equal(ev.n, 0);
			}
			pb_store_events_release(&ev);
			pb_store_case_release(&back); /* c borrows its strings */
		}
	assert_int_equal(n_legal, sizeof legal / sizeof legal[0]);
}

/* ---- reminders and promises ---- */

static void test_service_due_peak(void **state)
{
	const pb_policy *p = tu_kb()->policy;
	int64_t normal = T("2026-11-20T10:00:00+08:00"), peak = T("2026-11-11T10:00:00+08:00");

	(void)state;
	assert_false(pb_policy_is_peak(p, normal));
	assert_true(pb_policy_is_peak(p, peak));
	assert_int_equal(pb_case_service_due(p, PB_REM_FIRST_REPLY, normal) - normal, 2 * 3600);
	assert_int_equal(pb_case_service_due(p, PB_REM_FIRST_REPLY, peak) - peak, 4 * 3600);
	assert_int_equal(pb_case_service_due(p, PB_REM_FIRST_PLAN, normal) - normal, 24 * 3600);
	assert_int_equal(pb_case_service_due(p, PB_REM_FIRST_PLAN, peak) - peak, 48 * 3600);
	assert_int_equal(pb_case_service_due(p, PB_REM_PROGRESS, normal) - normal, 12 * 3600);
	assert_int_equal(pb_case_service_due(p, PB_REM_CHECK_BACK, normal) - normal, 24 * 3600);
	assert_int_equal(pb_case_service_due(p, PB_REM_CHECK_BACK, peak) - peak, 48 * 3600);
	assert_int_equal(pb_case_service_due(p, PB_REM_PROMISE, normal), 0);
	assert_string_equal(pb_reminder_kind_name(PB_REM_CHECK_BACK), "check_back");
}

static void test_promises_parsed(void **state)
{
	static const char zh[] = "亲,非常抱歉!包裹11月17日08:00到了杭州,我们今天18:00前给您答复,"
				 "最晚明天12:00前补发。";
	static const char en[] = "Sorry! It reached the hub on 17 Nov 08:00. We will update you "
				 "by 18:00 tomorrow, and by 22 Nov at the latest.";
	int64_t now = T(NOW);
	pb_promise p[4];
	size_t n;

	(void)state;
	n = pb_lint_promises(zh, strlen(zh), now, 8 * 3600, p, 4);
	assert_int_equal(n, 2); /* 11月17日08:00 reports, it promises nothing */
	assert_int_equal(p[0].when, T("2026-11-20T18:00:00+08:00"));
	assert_int_equal(strncmp(zh + p[0].off, "今天18:00", p[0].len), 0);
	assert_int_equal(p[1].when, T("2026-11-21T12:00:00+08:00"));
	n = pb_lint_promises(en, strlen(en), now, 8 * 3600, p, 4);
	assert_int_equal(n, 2);
	assert_int_equal(p[0].when, T("2026-11-21T18:00:00+08:00"));
	assert_int_equal(p[1].when, T("2026-11-22T23:59:00+08:00")); /* a date: its end */
	/* More promises than room: all counted, max written. */
	assert_int_equal(pb_lint_promises(zh, strlen(zh), now, 8 * 3600, p, 1), 2);
	assert_int_equal(pb_lint_promises("no times here", 13, now, 0, NULL, 0), 0);
}

/* "by 18:00 tomorrow" read at 20:00 is tomorrow's 18:00: not a past
 * promise (the lint once read the day word only after "6 pm"). */
static void test_lint_tomorrow_not_past(void **state)
{
	static const char en[] = "Sorry for the wait! We will update you by 18:00 tomorrow.";
	static const char today[] = "Sorry for the wait! We will update you by 18:00 today.";
	pb_lint_ctx lc;
	pb_lint_result r;
	pb_errbuf eb;
	size_t i;
	bool past = false;

	(void)state;
	memset(&lc, 0, sizeof lc);
	lc.now = T("2026-11-20T20:00:00+08:00");
	assert_int_equal(pb_lint(tu_kb(), en, strlen(en), &lc, &r, &eb), PB_OK);
	for (i = 0; i < r.n; i++)
		past |= r.f[i].code == PB_LINT_PAST_PROMISE;
	assert_false(past);
	assert_int_equal(pb_lint(tu_kb(), today, strlen(today), &lc, &r, &eb), PB_OK);
	for (i = 0; i < r.n; i++)
		if (r.f[i].code == PB_LINT_PAST_PROMISE) {
			past = true;
			assert_int_equal(strncmp(today + r.f[i].off, "18:00", r.f[i].len), 0);
		}
	assert_true(past);
}

/* ---- which case a message joins ---- */

static void test_repeat_contact_raises_severity(void **state)
{
	fx *f = *state;
	pb_store_drafts dl;
	pb_store_case c;
	pb_errbuf eb;

	say(f, "m1", "c1", "A1", "物流已经3天没更新了,什么时候能到?", "2026-11-17T08:00:00+08:00", NOW);
	say(f, "m2", "c1", "A1", "还是没动啊,能帮我查一下吗", "2026-11-17T08:00:00+08:00",
	    "2026-11-20T11:00:00+08:00");
	say(f, "m3", "c1", "A1", "物流还是没有更新,怎么回事", "2026-11-17T08:00:00+08:00",
	    "2026-11-20T12:00:00+08:00");
	c = get_case(f, 1);
	assert_int_equal(c.contacts, 3);
	assert_int_equal(c.severity, 3);
	assert_string_equal(c.state, "escalated");
	assert_string_equal(c.kind, "stuck_parcel");
	assert_int_equal(pb_store_draft_list(f->st, c.id, NULL, &dl, &eb), PB_OK);
	assert_int_equal(dl.n, 3);
	assert_int_equal(dl.v[0].severity, 2);
	assert_int_equal(dl.v[1].severity, 2);
	assert_int_equal(dl.v[2].severity, 3); /* the third contact */
	assert_string_equal(dl.v[2].action, "escalate");
	assert_string_equal(dl.v[0].state, "superseded");
	assert_string_equal(dl.v[1].state, "superseded");
	assert_string_equal(dl.v[2].state, "escalated");
	assert_non_null(dl.v[2].brief);
	pb_store_drafts_release(&dl);
	assert_int_equal(count_outbox(f, c.id, "post_draft"), 2);
	assert_int_equal(count_outbox(f, c.id, "hand_off"), 1);
	pb_store_case_release(&c);
	/* Only one case was opened. */
	assert_int_equal(pb_store_case_get(f->st, 2, &c, &eb), PB_ENOTFOUND);
}

static void test_join_rules(void **state)
{
	fx *f = *state;
	pb_store_messages ml;
	pb_store_case c, w;
	pb_errbuf eb;

	say(f, "m1", "c1", "A1", "物流已经3天没更新了", "2026-11-17T08:00:00+08:00", NOW);
	/* A question that is not a problem in itself joins the open case. */
	say(f, "m2", "c1", "A1", "where is my order?", "2026-11-17T08:00:00+08:00",
	    "2026-11-20T10:10:00+08:00");
	c = get_case(f, 1);
	assert_int_equal(c.contacts, 2);
	pb_store_case_release(&c);
	/* Another problem on the same order is a case of its own. */
	say(f, "m3", "c1", "A1", "收到的东西碎了,盒子也压坏了", "2026-11-17T08:00:00+08:00",
	    "2026-11-20T10:20:00+08:00");
	c = get_case(f, 2);
	assert_string_equal(c.kind, "damaged");
	assert_int_equal(c.contacts, 1);
	pb_store_case_release(&c);
	/* Thanks joins nothing as a contact: it is kept with the newest case. */
	say(f, "m4", "c1", "A1", "好的谢谢", "2026-11-17T08:00:00+08:00", "2026-11-20T10:30:00+08:00");
	c = get_case(f, 2);
	assert_int_equal(c.contacts, 1);
	assert_int_equal(pb_store_message_list(f->st, c.id, &ml, &eb), PB_OK);
	assert_int_equal(ml.n, 2);
	pb_store_messages_release(&ml);
	pb_store_case_release(&c);
	/* Without an order the conversation is the scope. */
	say(f, "m5", "c2", NULL, "我的快递怎么还没到,是不是卡住了", NULL, NOW);
	c = get_case(f, 3);
	assert_string_equal(c.scope, "conv:2");
	pb_store_case_release(&c);

	/* A proactive case (the shop wrote first) takes the buyer's problem. */
	memset(&w, 0, sizeof w);
	w.scope = (char *)"order:9";
	w.kind = (char *)"anomaly:no_update";
	strcpy(w.origin, "watch");
	strcpy(w.state, "sent");
	strcpy(w.lang, "zh");
	w.opened_at = w.updated_at = T(NOW);
	assert_int_equal(pb_store_order_put(f->st, "cli", "P9", "{\"id\":\"P9\"}", 1, NULL, &eb), PB_OK);
	w.scope = (char *)"order:2";
	assert_int_equal(pb_store_case_insert(f->st, &w, &eb), PB_OK);
	say(f, "m6", "c3", "P9", "物流已经3天没更新了", "2026-11-17T08:00:00+08:00", NOW);
	c = get_case(f, w.id);
	assert_int_equal(c.contacts, 1);
	assert_string_equal(c.state, "drafted");
	pb_store_case_release(&c);
}

static void test_resolved_reopens_closed_does_not(void **state)
{
	fx *f = *state;
	pb_store_case c;
	pb_errbuf eb;
	int64_t now = T("2026-11-20T11:00:00+08:00");

	say(f, "m1", "c1", "A1", "收到的杯子碎了", NULL, NOW);
	assert_int_equal(pb_case_resolve(f->st, tu_kb(), 1, "partial_refund", "amy", now, &eb), PB_OK);
	say(f, "m2", "c1", "A1", "杯子碎了,退款还没到", NULL, "2026-11-20T12:00:00+08:00");
	c = get_case(f, 1);
	assert_string_equal(c.state, "drafted");
	assert_int_equal(c.contacts, 2);
	assert_int_equal(c.resolved_at, 0);
	pb_store_case_release(&c);
	assert_int_equal(pb_case_resolve(f->st, tu_kb(), 1, "refunded", "amy", now + 7200, &eb), PB_OK);
	assert_int_equal(pb_case_close(f->st, 1, "amy", now + 9000, &eb), PB_OK);
	say(f, "m3", "c1", "A1", "又收到一个碎的杯子", NULL, "2026-11-21T12:00:00+08:00");
	c = get_case(f, 2);
	assert_string_equal(c.kind, "damaged");
	assert_int_equal(c.contacts, 1);
	pb_store_case_release(&c);
}

/* ---- reminders the loop sets ---- */

static void test_open_sets_service_reminders(void **state)
{
	fx *f = *state;
	size_t n;

	say(f, "m1", "c1", "A1", "物流已经3天没更新了", "2026-11-17T08:00:00+08:00", NOW);
	assert_int_equal(pending_due(f, 1, "first_reply", &n), T("2026-11-20T12:00:00+08:00"));
	assert_int_equal(n, 1);
	assert_int_equal(pending_due(f, 1, "first_plan", NULL), T("2026-11-21T10:00:00+08:00"));
	/* In peak season every service level doubles. */
	say(f, "m2", "c2", "A2", "物流已经3天没更新了", "2026-11-08T08:00:00+08:00",
	    "2026-11-11T10:00:00+08:00");
	assert_int_equal(pending_due(f, 2, "first_reply", NULL), T("2026-11-11T14:00:00+08:00"));
	assert_int_equal(pending_due(f, 2, "first_plan", NULL), T("2026-11-13T10:00:00+08:00"));
	/* A question is no problem: a first reply is owed, no plan. */
	say(f, "m3", "c3", "A3", "where is my order?", "2026-11-20T08:00:00+08:00", NOW);
	assert_int_equal(pending_due(f, 3, "first_plan", &n), 0);
	assert_int_equal(n, 0);
}

static void test_approve_sets_promises(void **state)
{
	fx *f = *state;
	static const char edited[] = "亲,非常抱歉让您久等了!我们已经联系中通催件,今天18:00前给您答复,"
				     "明天12:00前还没动就给您补发。";
	pb_case_approval ap;
	pb_store_decisions dl;
	pb_store_case c;
	pb_errbuf eb;
	int64_t now = T("2026-11-20T10:30:00+08:00");
	size_t n;

	say(f, "m1", "c1", "A1", "物流已经3天没更新了", "2026-11-17T08:00:00+08:00", NOW);
	assert_int_equal(pb_case_approve(f->st, tu_kb(), 1, 0, edited, "amy", now, &ap, &eb), PB_OK);
	assert_true(ap.edited);
	assert_int_equal(ap.version, 1);
	assert_int_equal(ap.lint.n, 0);
	/* Both promised times, and the draft's own deadline (22:00 today). */
	assert_int_equal(ap.reminders, 3);
	assert_int_equal(pending_due(f, 1, "promise", &n), T("2026-11-20T18:00:00+08:00"));
	assert_int_equal(n, 2);
	assert_int_equal(pending_due(f, 1, "follow_up", NULL), T("2026-11-20T22:00:00+08:00"));
	/* The parcel is stuck: a progress update is due in 12 h. */
	assert_int_equal(pending_due(f, 1, "progress", NULL), now + 12 * 3600);
	/* The reply met the first-reply deadline, and its offer the plan. */
	assert_int_equal(pending_due(f, 1, "first_reply", &n), 0);
	assert_int_equal(pending_due(f, 1, "first_plan", &n), 0);
	c = get_case(f, 1);
	assert_string_equal(c.state, "sent");
	assert_int_equal(c.first_reply_at, now);
	assert_string_equal(c.owner, "amy");
	pb_store_case_release(&c);
	assert_int_equal(count_outbox(f, 1, "send_reply"), 1);
	assert_int_equal(pb_store_decision_list(f->st, 1, &dl, &eb), PB_OK);
	assert_int_equal(dl.n, 1);
	assert_string_equal(dl.v[0].kind, "approve_edited");
	assert_string_equal(dl.v[0].text, edited);
	assert_string_equal(dl.v[0].lint, "[]");
	pb_store_decisions_release(&dl);
	/* Nothing left to approve. */
	assert_int_equal(pb_case_approve(f->st, tu_kb(), 1, 0, NULL, "amy", now, &ap, &eb),
			 PB_ESTATE);
	assert_non_null(strstr(eb.msg, "cannot go from sent to sent"));
	assert_int_equal(count_outbox(f, 1, "send_reply"), 1);
}

static void test_approve_edit_keeps_findings(void **state)
{
	fx *f = *state;
	pb_case_approval ap;
	pb_store_decisions dl;
	pb_store_draft d;
	pb_errbuf eb;
	int64_t now = T("2026-11-20T10:30:00+08:00");

	say(f, "m1", "c1", "A1", "物流已经3天没更新了", "2026-11-17T08:00:00+08:00", NOW);
	say(f, "m2", "c1", "A1", "还没动", "2026-11-17T08:00:00+08:00", "2026-11-20T10:20:00+08:00");
	/* Only the latest draft can be approved. */
	assert_int_equal(pb_case_approve(f->st, tu_kb(), 1, 1, NULL, "amy", now, &ap, &eb), PB_ESTATE);
	assert_non_null(strstr(eb.msg, "not the latest"));
	assert_int_equal(pb_case_approve(f->st, tu_kb(), 1, 2, "快递的问题我们也没办法,请耐心等待。",
					 "amy", now, &ap, &eb),
			 PB_OK);
	assert_int_equal(ap.version, 2);
	assert_true(ap.lint.n >= 2);
	assert_int_equal(pb_store_decision_list(f->st, 1, &dl, &eb), PB_OK);
	assert_non_null(strstr(dl.v[0].lint, "blame_shifting"));
	assert_non_null(strstr(dl.v[0].lint, "apology_not_first"));
	pb_store_decisions_release(&dl);
	assert_int_equal(pb_store_draft_get(f->st, 2, &d, &eb), PB_OK);
	assert_string_equal(d.state, "approved");
	pb_store_draft_release(&d);
	/* The same words as the draft are no edit. */
	say(f, "m3", "c2", "A2", "物流已经3天没更新了", "2026-11-17T08:00:00+08:00", NOW);
	assert_int_equal(pb_store_draft_latest(f->st, 2, &d, &eb), PB_OK);
	assert_int_equal(pb_case_approve(f->st, tu_kb(), 2, 0, d.text, "amy", now, &ap, &eb), PB_OK);
	assert_false(ap.edited);
	pb_store_draft_release(&d);
	assert_int_equal(pb_case_approve(f->st, tu_kb(), 99, 0, NULL, "amy", now, &ap, &eb),
			 PB_ENOTFOUND);
	assert_int_equal(pb_case_approve(f->st, tu_kb(), 2, 0, "", "amy", now, &ap, &eb), PB_EINVAL);
}

static void test_reject_escalate_note(void **state)
{
	fx *f = *state;
	pb_case_approval ap;
	pb_store_case c;
	pb_store_draft d;
	pb_store_notes nl;
	pb_errbuf eb;
	int64_t now = T("2026-11-20T10:30:00+08:00");
	pb_id note = 0;

	say(f, "m1", "c1", "A1", "收到的杯子碎了", NULL, NOW);
	assert_int_equal(pb_case_reject(f->st, 1, "", "amy", now, &eb), PB_EINVAL);
	assert_int_equal(pb_case_reject(f->st, 1, "offer too small", "amy", now, &eb), PB_OK);
	c = get_case(f, 1);
	assert_string_equal(c.state, "drafted"); /* still owed a reply */
	pb_store_case_release(&c);
	assert_int_equal(pb_store_draft_latest(f->st, 1, &d, &eb), PB_OK);
	assert_string_equal(d.state, "rejected");
	pb_store_draft_release(&d);
	assert_int_equal(pb_case_reject(f->st, 1, "again", "amy", now, &eb), PB_ESTATE);
	assert_int_equal(pb_case_approve(f->st, tu_kb(), 1, 0, NULL, "amy", now, &ap, &eb), PB_ESTATE);
	assert_non_null(strstr(eb.msg, "rejected already"));

	assert_int_equal(pb_case_escalate(f->st, 1, "buyer is a reseller", "amy", now, &eb), PB_OK);
	c = get_case(f, 1);
	assert_string_equal(c.state, "escalated");
	pb_store_case_release(&c);
	assert_int_equal(count_outbox(f, 1, "hand_off"), 1);
	assert_int_equal(pb_case_escalate(f->st, 1, NULL, "amy", now, &eb), PB_ESTATE);
	assert_int_equal(count_outbox(f, 1, "hand_off"), 1);

	assert_int_equal(pb_case_note(f->st, 1, "", "amy", now, NULL, &eb), PB_EINVAL);
	assert_int_equal(pb_case_note(f->st, 1, "photos received", "amy", now, &note, &eb), PB_OK);
	assert_true(note > 0);
	assert_int_equal(pb_case_note(f->st, 42, "x", "amy", now, NULL, &eb), PB_ENOTFOUND);
	assert_int_equal(pb_store_note_list(f->st, 1, &nl, &eb), PB_OK);
	assert_int_equal(nl.n, 1);
	pb_store_notes_release(&nl);
}

static void test_resolve_and_close(void **state)
{
	fx *f = *state;
	pb_store_case c;
	pb_store_draft d;
	pb_errbuf eb;
	int64_t now = T("2026-11-20T11:00:00+08:00");
	size_t n;

	say(f, "m1", "c1", "A1", "物流已经3天没更新了", "2026-11-17T08:00:00+08:00", NOW);
	assert_int_equal(pb_case_resolve(f->st, tu_kb(), 1, "teleported", "amy", now, &eb), PB_EINVAL);
	assert_non_null(strstr(eb.msg, "reshipped"));
	assert_int_equal(pb_case_close(f->st, 1, "amy", now, &eb), PB_ESTATE);
	assert_int_equal(pb_case_resolve(f->st, tu_kb(), 1, "reshipped", "amy", now, &eb), PB_OK);
	c = get_case(f, 1);
	assert_string_equal(c.state, "resolved");
	assert_string_equal(c.outcome, "reshipped");
	assert_int_equal(c.resolved_at, now);
	pb_store_case_release(&c);
	assert_int_equal(pending_due(f, 1, "check_back", &n), now + 24 * 3600);
	assert_int_equal(n, 1);
	assert_int_equal(pending_due(f, 1, "first_reply", &n), 0);
	assert_int_equal(pending_due(f, 1, "first_plan", &n), 0);
	assert_int_equal(pb_store_draft_latest(f->st, 1, &d, &eb), PB_OK);
	assert_string_equal(d.state, "superseded");
	pb_store_draft_release(&d);
	assert_int_equal(pb_case_resolve(f->st, tu_kb(), 1, "refunded", "amy", now, &eb), PB_ESTATE);
	assert_int_equal(pb_case_close(f->st, 1, "amy", now + 3600, &eb), PB_OK);
	assert_int_equal(pending_due(f, 1, "check_back", &n), 0);
	c = get_case(f, 1);
	assert_string_equal(c.state, "closed");
	pb_store_case_release(&c);
	assert_int_equal(pb_case_close(f->st, 1, "amy", now + 3600, &eb), PB_ESTATE);
}

static void test_overdue_escalates_once(void **state)
{
	fx *f = *state;
	pb_store_events ev;
	pb_errbuf eb;
	size_t n, i, overdue = 0;

	say(f, "m1", "c1", "A1", "物流已经3天没更新了", "2026-11-17T08:00:00+08:00", NOW);
	/* Not due yet. */
	assert_int_equal(pb_case_escalate_overdue(f->st, tu_kb(), T("2026-11-20T11:00:00+08:00"),
						  "sched", &n, &eb),
			 PB_OK);
	assert_int_equal(n, 0);
	/* first_reply (12:00) is overdue at 13:00; first_plan is not. */
	assert_int_equal(pb_case_escalate_overdue(f->st, tu_kb(), T("2026-11-20T13:00:00+08:00"),
						  "sched", &n, &eb),
			 PB_OK);
	assert_int_equal(n, 1);
	assert_int_equal(pb_case_escalate_overdue(f->st, tu_kb(), T("2026-11-20T14:00:00+08:00"),
						  "sched", &n, &eb),
			 PB_OK);
	assert_int_equal(n, 0);
	assert_int_equal(count_outbox(f, 1, "notify_supervisor"), 1);
	assert_int_equal(pb_case_escalate_overdue(f->st, tu_kb(), T("2026-11-22T00:00:00+08:00"),
						  "sched", &n, &eb),
			 PB_OK);
	assert_int_equal(n, 1); /* now first_plan */
	assert_int_equal(count_outbox(f, 1, "notify_supervisor"), 2);
	assert_int_equal(pb_store_event_list(f->st, 1, &ev, &eb), PB_OK);
	for (i = 0; i < ev.n; i++)
		overdue += !strcmp(ev.v[i].what, "overdue");
	assert_int_equal(overdue, 2);
	pb_store_events_release(&ev);
}

static void test_outbox_confirmations(void **state)
{
	fx *f = *state;
	pb_store_outbox_rows l;
	pb_case_approval ap;
	pb_store_case c;
	pb_errbuf eb;
	pb_id first_post = 0;
	size_t i;

	say(f, "m1", "c1", "A1", "收到的杯子碎了", NULL, NOW);
	say(f, "m2", "c1", "A1", "杯子碎了怎么办", NULL, "2026-11-20T10:05:00+08:00");
	assert_int_equal(pb_store_outbox_list(f->st, 1, &l, &eb), PB_OK);
	assert_int_equal(l.n, 2);
	first_post = l.v[0].id;
	/* The first draft's post arrives late: it says nothing of v2. */
	assert_int_equal(pb_case_outbox_confirmed(f->st, first_post, "chatwoot", T(NOW), &eb), PB_OK);
	c = get_case(f, 1);
	assert_string_equal(c.state, "drafted");
	pb_store_case_release(&c);
	assert_int_equal(pb_case_outbox_confirmed(f->st, l.v[1].id, "chatwoot", T(NOW), &eb), PB_OK);
	assert_int_equal(pb_case_outbox_confirmed(f->st, l.v[1].id, "chatwoot", T(NOW), &eb),
			 PB_ESTATE);
	pb_store_outbox_rows_release(&l);
	c = get_case(f, 1);
	assert_string_equal(c.state, "awaiting_agent");
	pb_store_case_release(&c);
	assert_int_equal(pb_case_approve(f->st, tu_kb(), 1, 0, NULL, "amy", T(NOW) + 600, &ap, &eb),
			 PB_OK);
	assert_int_equal(pb_case_outbox_confirmed(f->st, ap.outbox_id, "chatwoot", T(NOW) + 700, &eb),
			 PB_OK);
	c = get_case(f, 1);
	assert_string_equal(c.state, "following_up");
	pb_store_case_release(&c);
	for (i = 0; i < 1; i++)
		assert_int_equal(pb_case_outbox_confirmed(f->st, 999, "x", 1, &eb), PB_ENOTFOUND);
}

static void test_timeline(void **state)
{
	fx *f = *state;
	pb_errbuf eb;
	cJSON *j = NULL, *x, *tl;
	const char *types[16];
	size_t n = 0, i;
	char last[40] = "";
	bool have[8] = {false};
	static const char *const want[] = {"trace", "message", "event", "draft",
					   "decision", "note", "reminder", "action"};

	say(f, "m1", "c1", "A1", "物流已经3天没更新了", "2026-11-17T08:00:00+08:00", NOW);
	assert_int_equal(pb_case_note(f->st, 1, "called ZTO", "amy", T(NOW) + 60, NULL, &eb), PB_OK);
	assert_int_equal(pb_case_reject(f->st, 1, "too long", "amy", T(NOW) + 120, &eb), PB_OK);
	assert_int_equal(pb_case_json(f->st, tu_kb(), 1, &j, &eb), PB_OK);
	assert_int_equal(pb_case_json(f->st, tu_kb(), 7, &x, &eb), PB_ENOTFOUND);
	x = cJSON_GetObjectItem(j, "case");
	assert_string_equal(cJSON_GetObjectItem(x, "kind")->valuestring, "stuck_parcel");
	assert_string_equal(cJSON_GetObjectItem(x, "order")->valuestring, "A1");
	x = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "parcel"), "assessment");
	assert_non_null(x);
	tl = cJSON_GetObjectItem(j, "timeline");
	cJSON_ArrayForEach(x, tl)
	{
		const char *at = cJSON_GetObjectItem(x, "at")->valuestring;
		const char *type = cJSON_GetObjectItem(x, "type")->valuestring;
		/* Same offset throughout, so text order is time order. */
		assert_true(strcmp(last, at) <= 0);
		snprintf(last, sizeof last, "%s", at);
		if (n < 16)
			types[n++] = type;
		for (i = 0; i < 8; i++)
			if (!strcmp(type, want[i]))
				have[i] = true;
	}
	for (i = 0; i < 8; i++)
		assert_true(have[i]);
	assert_string_equal(types[0], "trace"); /* the parcel moved days before */
	cJSON_Delete(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_names),
		cmocka_unit_test_setup_teardown(test_every_transition, setup, teardown),
		cmocka_unit_test(test_service_due_peak),
		cmocka_unit_test(test_promises_parsed),
		cmocka_unit_test(test_lint_tomorrow_not_past),
		cmocka_unit_test_setup_teardown(test_repeat_contact_raises_severity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_join_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolved_reopens_closed_does_not, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_sets_service_reminders, setup, teardown),
		cmocka_unit_test_setup_teardown(test_approve_sets_promises, setup, teardown),
		cmocka_unit_test_setup_teardown(test_approve_edit_keeps_findings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reject_escalate_note, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_and_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overdue_escalates_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_confirmations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeline, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	pb_kb_unref(tu_kb());
	return rc;
}
