/*
 * Drafting and lint against the shipped KB: every severity rule and every
 * compensation row at its boundary, the follow-up deadline, and every lint
 * code with a positive and a negative example in both languages.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "parcelbot/pipeline.h"
#include "parcelbot/policy.h"

static pb_classifier *cl;

static int setup(void **state)
{
	(void)state;
	cl = pb_classifier_new(tu_kb());
	return cl ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	pb_classifier_free(cl);
	pb_kb_unref(tu_kb());
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

typedef struct kase {
	pb_order order;
	pb_trace trace;
	bool has_trace;
	pb_case_input in;
	pb_case_result r;
} kase;

/* A case: message, order (amount, currency, category, shipped or not), a
 * one-event trace (or none) and earlier contacts, run through the pipeline
 * at NOW. */
static kase *run(const char *msg, double amount, const char *cur, const char *cat,
		 const char *ev_time, const char *ev_loc, const char *ev_desc, pb_pstate st,
		 int contacts)
{
	kase *k = calloc(1, sizeof *k);
	pb_errbuf eb;

	pb_order_init(&k->order);
	k->order.id = strdup("A1");
	k->order.amount = amount;
	strcpy(k->order.currency, cur);
	k->order.category = strdup(cat);
	k->order.has_paid_at = true;
	pb_time_parse("2026-11-14T09:00:00+08:00", 0, &k->order.paid_at);
	pb_trace_init(&k->trace);
	if (ev_time) {
		pb_when w;
		k->order.has_shipped_at = true;
		pb_time_parse("2026-11-14T18:00:00+08:00", 0, &k->order.shipped_at);
		k->trace.carrier = strdup("zto");
		k->trace.number = strdup("75312345678901");
		k->trace.provider = strdup("test");
		if (*ev_time) {
			pb_time_parse(ev_time, 8 * 3600, &w);
			pb_trace_add(&k->trace, w, ev_loc, ev_desc, "", st, PB_EX_NONE);
		}
		k->has_trace = true;
	}
	k->in.id = "t1";
	k->in.message = msg;
	k->in.order = &k->order;
	k->in.trace = k->has_trace ? &k->trace : NULL;
	k->in.now = T(NOW);
	k->in.contacts = contacts;
	if (pb_pipeline_run(tu_kb(), cl, &k->in, &k->r, &eb))
		fail_msg("pipeline failed: %s", eb.msg);
	return k;
}

static void done(kase *k)
{
	pb_case_result_release(&k->r);
	pb_order_release(&k->order);
	pb_trace_release(&k->trace);
	free(k);
}

/* hours before NOW, as an ISO time at +08:00 */
static const char *ago(double hours)
{
	static char b[40];

	pb_time_format((pb_when){T(NOW) - (int64_t)(hours * 3600), 8 * 3600}, b, sizeof b);
	return b;
}

static void check(kase *k, int severity, pb_action action, pb_comp_kind comp, double amount)
{
	if (k->r.reply.severity != severity || k->r.reply.action != action ||
	    k->r.reply.comp != comp || (amount >= 0 && k->r.reply.comp_amount != amount))
		fail_msg("\"%s\": severity %d action %s comp %s %g; want %d %s %s %g", k->in.message,
			 k->r.reply.severity, pb_action_name(k->r.reply.action),
			 pb_comp_name(k->r.reply.comp), k->r.reply.comp_amount, severity,
			 pb_action_name(action), pb_comp_name(comp), amount);
	done(k);
}

static void severity_rules(void **state)
{
	(void)state;
	/* level 3 */
	check(run("快递是不是丢了", 89, "CNY", "food", ago(10), "杭州", "运输中", PB_ST_IN_TRANSIT, 0),
	      3, PB_ACT_ESCALATE, PB_COMP_RESHIP, 0);
	check(run("我的快递到哪了", 89, "CNY", "food", ago(10), "郑州", "快件遗失", PB_ST_EXCEPTION, 0),
	      3, PB_ACT_ESCALATE, PB_COMP_RESHIP, 0);
	check(run("我的快递到哪了", 89, "CNY", "food", "", "", "", PB_ST_UNKNOWN, 0), 3,
	      PB_ACT_ESCALATE, PB_COMP_RESHIP_OR_REFUND, 15);
	check(run("快递到哪了,再不到就投诉", 89, "CNY", "food", ago(5), "杭州", "运输中",
		  PB_ST_IN_TRANSIT, 0),
	      3, PB_ACT_ESCALATE, PB_COMP_NONE, 0);
	/* third contact: contacts 1 is still level 2, 2 is level 3 */
	check(run("还是没动", 89, "CNY", "food", ago(50), "杭州", "运输中", PB_ST_IN_TRANSIT, 1), 2,
	      PB_ACT_DRAFT, PB_COMP_COUPON, 10);
	check(run("还是没动", 89, "CNY", "food", ago(50), "杭州", "运输中", PB_ST_IN_TRANSIT, 2), 3,
	      PB_ACT_ESCALATE, PB_COMP_RESHIP_OR_REFUND, 15);
	/* high value with a problem: 499.99 is not, 500 is */
	check(run("东西碎了", 499.99, "CNY", "home", ago(10), "上海", "已签收,签收人:本人",
		  PB_ST_DELIVERED, 0),
	      2, PB_ACT_DRAFT, PB_COMP_PARTIAL_REFUND, 150);
	check(run("东西碎了", 500, "CNY", "home", ago(10), "上海", "已签收,签收人:本人",
		  PB_ST_DELIVERED, 0),
	      3, PB_ACT_ESCALATE, PB_COMP_RESHIP_OR_REFUND, 0);
	/* high value without a problem stays general */
	check(run("我的快递到哪了", 3000, "CNY", "phone", ago(5), "上海", "运输中", PB_ST_IN_TRANSIT, 0),
	      1, PB_ACT_DRAFT, PB_COMP_NONE, 0);
	/* level 2 by intent and by anomaly; level 1; level 0 */
	check(run("显示签收了但是没收到", 89, "CNY", "food", ago(10), "上海", "已签收", PB_ST_DELIVERED,
		  0),
	      2, PB_ACT_DRAFT, PB_COMP_NONE, 0);
	check(run("我的快递到哪了", 89, "CNY", "food", ago(3), "杭州", "派送不成功", PB_ST_ATTEMPT_FAIL, 0),
	      2, PB_ACT_DRAFT, PB_COMP_NONE, 0);
	/* paid six days ago and not shipped: late, so level 2 */
	check(run("地址填错了,能改一下吗", 89, "CNY", "food", NULL, NULL, NULL, PB_ST_UNKNOWN, 0), 2,
	      PB_ACT_DRAFT, PB_COMP_NONE, 0);
	check(run("Can I change the delivery address?", 40, "MYR", "home", ago(5), "PJ", "In transit",
		  PB_ST_IN_TRANSIT, 0),
	      1, PB_ACT_DRAFT, PB_COMP_NONE, 0);
	check(run("请问有红色的吗", 89, "CNY", "food", ago(5), "上海", "运输中", PB_ST_IN_TRANSIT, 0), 0,
	      PB_ACT_NONE, PB_COMP_NONE, 0);
	/* no intent, but the order is in trouble: outreach, not silence */
	check(run("请问有红色的吗", 89, "CNY", "food", NULL, NULL, NULL, PB_ST_UNKNOWN, 0), 2,
	      PB_ACT_DRAFT, PB_COMP_NONE, 0);
}

static void compensation_rows(void **state)
{
	(void)state;
	/* no_update: just below 72 h a small coupon, at 72 h reship or refund */
	check(run("物流没更新", 89, "CNY", "food", ago(71.99), "广州", "运输中", PB_ST_IN_TRANSIT, 0),
	      2, PB_ACT_DRAFT, PB_COMP_COUPON, 10);
	check(run("物流没更新", 89, "CNY", "food", ago(72), "", "运输中", PB_ST_IN_TRANSIT, 0), 2,
	      PB_ACT_DRAFT, PB_COMP_RESHIP_OR_REFUND, 15);
	/* stuck at a node */
	check(run("物流没更新", 89, "CNY", "food", ago(72), "广州", "运输中", PB_ST_IN_TRANSIT, 0), 2,
	      PB_ACT_DRAFT, PB_COMP_RESHIP_OR_REFUND, 15);
	/* amounts follow the currency */
	check(run("my parcel has not moved", 40, "MYR", "home", ago(50), "KL Hub", "In transit",
		  PB_ST_IN_TRANSIT, 0),
	      2, PB_ACT_DRAFT, PB_COMP_COUPON, 5);
	/* damaged: perishable reship or refund, else a partial refund capped */
	check(run("草莓烂了", 128, "CNY", "fresh", ago(1), "大连", "已签收", PB_ST_DELIVERED, 0), 2,
	      PB_ACT_DRAFT, PB_COMP_RESHIP_OR_REFUND, 0);
	check(run("The mug is broken", 40, "MYR", "home", ago(1), "PJ", "Delivered", PB_ST_DELIVERED, 0),
	      2, PB_ACT_DRAFT, PB_COMP_PARTIAL_REFUND, 12);
	check(run("The lamp is broken", 450, "MYR", "home", ago(1), "PJ", "Delivered", PB_ST_DELIVERED,
		  0),
	      2, PB_ACT_DRAFT, PB_COMP_PARTIAL_REFUND, 100);
	check(run("拍了3盒只收到1盒", 89, "CNY", "food", ago(1), "上海", "已签收", PB_ST_DELIVERED, 0),
	      2, PB_ACT_DRAFT, PB_COMP_RESHIP, 0);
	check(run("发错货了", 89, "CNY", "apparel", ago(1), "苏州", "已签收", PB_ST_DELIVERED, 0), 2,
	      PB_ACT_DRAFT, PB_COMP_EXCHANGE, 0);
	check(run("什么时候发货", 89, "CNY", "food", NULL, NULL, NULL, PB_ST_UNKNOWN, 0), 2,
	      PB_ACT_DRAFT, PB_COMP_NONE, 0);
}

static void follow_up_deadlines(void **state)
{
	kase *k;
	char b[40];

	(void)state;
	/* investigations: 18:00 tomorrow */
	k = run("显示签收了没收到", 89, "CNY", "food", ago(10), "上海", "已签收", PB_ST_DELIVERED, 0);
	assert_string_equal(pb_time_format(k->r.reply.follow_up_due, b, sizeof b),
			    "2026-11-21T18:00:00+08:00");
	assert_non_null(strstr(k->r.reply.text, "明天18:00前"));
	done(k);
	/* shipping: within 2 hours */
	k = run("什么时候发货", 89, "CNY", "food", NULL, NULL, NULL, PB_ST_UNKNOWN, 0);
	assert_string_equal(pb_time_format(k->r.reply.follow_up_due, b, sizeof b),
			    "2026-11-20T12:00:00+08:00");
	assert_non_null(strstr(k->r.reply.text, "今天12:00前"));
	done(k);
	/* peak season doubles it: 11 Nov, 2 h -> 4 h */
	k = run("什么时候发货", 89, "CNY", "food", NULL, NULL, NULL, PB_ST_UNKNOWN, 0);
	k->in.now = T("2026-11-11T10:00:00+08:00");
	pb_case_result_release(&k->r);
	{
		pb_errbuf eb;
		assert_int_equal(pb_pipeline_run(tu_kb(), cl, &k->in, &k->r, &eb), PB_OK);
	}
	assert_string_equal(pb_time_format(k->r.reply.follow_up_due, b, sizeof b),
			    "2026-11-11T14:00:00+08:00");
	done(k);
}

static void reply_shape(void **state)
{
	kase *k;

	(void)state;
	/* facts from the trace, never invented; English stays English */
	k = run("My package is stuck", 40, "MYR", "home", ago(97), "Kuala Lumpur Hub",
		"Parcel arrived at sorting centre", PB_ST_IN_TRANSIT, 0);
	assert_non_null(strstr(k->r.reply.text, "Kuala Lumpur Hub"));
	assert_int_equal(k->r.reply.lint.n, 0);
	done(k);
	k = run("my parcel is stuck", 40, "MYR", "home", ago(97), "杭州转运中心", "快件已到达",
		PB_ST_IN_TRANSIT, 0);
	assert_null(strstr(k->r.reply.text, "杭州"));
	assert_non_null(strstr(k->r.reply.text, "ZTO Express"));
	done(k);
	/* no order and no trace: the catch-all still answers */
	{
		pb_case_input in = {"t2", "快递怎么还没到", NULL, NULL, T(NOW), 0, PB_LANG_ZH, NULL};
		pb_case_result r;
		pb_errbuf eb;
		assert_int_equal(pb_pipeline_run(tu_kb(), cl, &in, &r, &eb), PB_OK);
		assert_string_equal(r.reply.template_id, "stuck_parcel.any");
		assert_true(strstr(r.reply.text, "抱歉") != NULL);
		pb_case_result_release(&r);
	}
	/* an escalation carries a brief with the buyer's words and the reason */
	k = run("快递公司说包裹丢失了", 89, "CNY", "food", ago(20), "郑州", "快件遗失", PB_ST_EXCEPTION, 0);
	assert_non_null(strstr(k->r.reply.brief, "快递公司说包裹丢失了"));
	assert_non_null(strstr(k->r.reply.brief, "intent lost_parcel"));
	assert_true(k->r.reply.checklist.n >= 2);
	done(k);
	/* variants are chosen by case id: same id, same text */
	{
		kase *a = run("物流没更新", 89, "CNY", "food", ago(50), "广州", "运输中", PB_ST_IN_TRANSIT, 0);
		kase *b = run("物流没更新", 89, "CNY", "food", ago(50), "广州", "运输中", PB_ST_IN_TRANSIT, 0);
		assert_string_equal(a->r.reply.text, b->r.reply.text);
		done(a);
		done(b);
	}
}

/* ---- lint ---- */

static pb_lint_ctx base_ctx(void)
{
	pb_lint_ctx c;

	memset(&c, 0, sizeof c);
	c.problem = true;
	return c;
}

static bool has(const char *text, pb_lint_code code, const pb_lint_ctx *c)
{
	pb_lint_result r;
	pb_errbuf eb;
	size_t i;

	if (pb_lint(tu_kb(), text, strlen(text), c, &r, &eb))
		fail_msg("lint failed: %s", eb.msg);
	for (i = 0; i < r.n; i++)
		if (r.f[i].code == code)
			return true;
	return false;
}

#define YES(t, code, c) if (!has(t, code, c)) fail_msg("%s: want %s", t, pb_lint_code_name(code))
#define NO(t, code, c) if (has(t, code, c)) fail_msg("%s: do not want %s", t, pb_lint_code_name(code))

static void lint_codes(void **state)
{
	pb_lint_ctx c = base_ctx(), nc = base_ctx();
	pb_trace tr;
	pb_assessment a;
	pb_when w;

	(void)state;
	nc.problem = false;
	YES("请把照片发给我。非常抱歉。", PB_LINT_APOLOGY_NOT_FIRST, &c);
	NO("非常抱歉让您久等了!我们明天18:00前回复您。", PB_LINT_APOLOGY_NOT_FIRST, &c);
	YES("Please send a photo. Sorry for that.", PB_LINT_APOLOGY_NOT_FIRST, &c);
	NO("Sorry for the wait! We will reply by 18:00 tomorrow.", PB_LINT_APOLOGY_NOT_FIRST, &c);
	NO("请把照片发给我。", PB_LINT_APOLOGY_NOT_FIRST, &nc);

	YES("抱歉,这是快递的问题,明天给您答复。", PB_LINT_BLAME_SHIFTING, &c);
	NO("抱歉,我们已经联系快递核实,明天给您答复。", PB_LINT_BLAME_SHIFTING, &c);
	YES("Sorry, it's not our fault.", PB_LINT_BLAME_SHIFTING, &c);
	NO("Sorry, we will fix this for you today.", PB_LINT_BLAME_SHIFTING, &c);

	YES("抱歉,您自己联系快递吧。", PB_LINT_BRUSH_OFF, &c);
	NO("抱歉,我们已联系快递公司,明天答复您。", PB_LINT_BRUSH_OFF, &c);
	YES("Sorry. Please contact the courier.", PB_LINT_BRUSH_OFF, &c);
	NO("Sorry. We have contacted the courier and will reply today.", PB_LINT_BRUSH_OFF, &c);

	YES("非常抱歉,请耐心等待。", PB_LINT_VAGUE, &c);
	NO("非常抱歉,明天18:00前给您答复。", PB_LINT_VAGUE, &c);
	YES("So sorry. Please be patient.", PB_LINT_VAGUE, &c);
	NO("So sorry. You will hear from us within 2 hours.", PB_LINT_VAGUE, &c);

	YES("外箱是否完好?面单还在吗?抱歉。", PB_LINT_INTERROGATION_FIRST, &c);
	NO("抱歉给您添麻烦了!外箱是否完好?", PB_LINT_INTERROGATION_FIRST, &c);
	YES("Is the label still on the box? Sorry.", PB_LINT_INTERROGATION_FIRST, &c);
	NO("Sorry about this! Is the label still on the box?", PB_LINT_INTERROGATION_FIRST, &c);

	/* contradictions need a trace: delivered to a locker at 杭州 */
	pb_trace_init(&tr);
	tr.number = strdup("1");
	pb_time_parse("2026-11-19T10:00:00+08:00", 0, &w);
	pb_trace_add(&tr, w, "杭州转运中心", "已存入丰巢快递柜", "", PB_ST_DELIVERED, PB_EX_NONE);
	assert_int_equal(pb_assess(tu_kb(), &tr, NULL, T(NOW), &a), PB_OK);
	c.trace = &tr;
	c.a = &a;
	YES("抱歉,您的包裹还在路上,明天到。", PB_LINT_CONTRADICTS_TRACE, &c);
	NO("抱歉,包裹已经放到快递柜了,明天前给您答复。", PB_LINT_CONTRADICTS_TRACE, &c);
	YES("Sorry, your parcel is on its way and arrives today.", PB_LINT_CONTRADICTS_TRACE, &c);
	YES("抱歉,包裹放在驿站了,明天给您答复。", PB_LINT_CONTRADICTS_TRACE, &c);
	YES("抱歉,包裹停在北京转运中心,明天答复您。", PB_LINT_CONTRADICTS_TRACE, &c);
	NO("抱歉,包裹经过了杭州转运中心,明天答复您。", PB_LINT_CONTRADICTS_TRACE, &c);
	NO("抱歉,多半是中转站积压,明天答复您。", PB_LINT_CONTRADICTS_TRACE, &c);
	NO("Sorry it was damaged in transit; we will refund today.", PB_LINT_CONTRADICTS_TRACE, &c);

	c.now = T(NOW);
	YES("抱歉,我们会在今天09:00前给您答复。", PB_LINT_PAST_PROMISE, &c);
	NO("抱歉,我们会在今天18:00前给您答复。", PB_LINT_PAST_PROMISE, &c);
	YES("抱歉,11月19日前给您答复。", PB_LINT_PAST_PROMISE, &c);
	NO("抱歉,物流在11月19日11:00显示已签收,明天给您答复。", PB_LINT_PAST_PROMISE, &c);
	YES("Sorry, you will hear from us by 9:00 am today.", PB_LINT_PAST_PROMISE, &c);
	NO("Sorry, you will hear from us by 6:00 pm today.", PB_LINT_PAST_PROMISE, &c);

	c.currency = "CNY";
	c.order_amount = 2999;
	YES("抱歉,补偿您300元,明天到账。", PB_LINT_OVER_CAP, &c);
	NO("抱歉,补偿您20元,明天到账。", PB_LINT_OVER_CAP, &c);
	NO("抱歉,给您全额退款2999元,今天到账。", PB_LINT_OVER_CAP, &c);
	c.currency = "MYR";
	YES("Sorry, here is a RM150 voucher, today.", PB_LINT_OVER_CAP, &c);
	NO("Sorry, here is a RM5 voucher, today.", PB_LINT_OVER_CAP, &c);

	YES("抱歉,订单{{order_id}}明天发。", PB_LINT_UNFILLED_PLACEHOLDER, &c);
	YES("Sorry, order ${id} ships today.", PB_LINT_UNFILLED_PLACEHOLDER, &c);
	YES("Sorry, order %s ships today.", PB_LINT_UNFILLED_PLACEHOLDER, &c);
	YES("Sorry, order (null) ships today.", PB_LINT_UNFILLED_PLACEHOLDER, &c);
	YES("抱歉,{name}明天发。", PB_LINT_UNFILLED_PLACEHOLDER, &c);
	NO("抱歉,订单A1001明天发。", PB_LINT_UNFILLED_PLACEHOLDER, &c);
	pb_trace_release(&tr);
}

static void lint_spans_and_messages(void **state)
{
	const char *t = "这是快递的问题。";
	pb_lint_ctx c = base_ctx();
	pb_lint_result r;
	pb_errbuf eb;
	size_t i;

	(void)state;
	assert_int_equal(pb_lint(tu_kb(), t, strlen(t), &c, &r, &eb), PB_OK);
	for (i = 0; i < r.n; i++)
		if (r.f[i].code == PB_LINT_BLAME_SHIFTING)
			break;
	assert_true(i < r.n);
	assert_int_equal(r.f[i].off, 6);
	assert_int_equal(r.f[i].len, 15);
	assert_non_null(strstr(r.f[i].msg, "不要把责任推给快递"));
	assert_int_equal(pb_lint(tu_kb(), "\xff", 1, &c, &r, &eb), PB_EUTF8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(severity_rules),
		cmocka_unit_test(compensation_rows),
		cmocka_unit_test(follow_up_deadlines),
		cmocka_unit_test(reply_shape),
		cmocka_unit_test(lint_codes),
		cmocka_unit_test(lint_spans_and_messages),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
