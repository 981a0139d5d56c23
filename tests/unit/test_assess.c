/*
 * The assessment against the shipped policy: every anomaly at and just below
 * its threshold, every signed-for place, perishable thresholds, and time
 * zones (across midnight, across a daylight-saving change).
 */
#include "testutil.h"

#include <string.h>

#include "parcelbot/assess.h"
#include "parcelbot/order.h"
#include "parcelbot/policy.h"

static int64_t T(const char *iso)
{
	pb_when w;

	if (pb_time_parse(iso, 8 * 3600, &w))
		fail_msg("bad time %s", iso);
	return w.t;
}

static const int64_t H = 3600;

static void add(pb_trace *t, const char *when, const char *loc, const char *desc, pb_pstate st)
{
	pb_when w;

	assert_int_equal(pb_time_parse(when, 8 * 3600, &w), PB_OK);
	assert_int_equal(pb_trace_add(t, w, loc, desc, "", st, PB_EX_NONE), PB_OK);
}

static pb_trace trace1(const char *when, const char *loc, const char *desc, pb_pstate st)
{
	pb_trace t;

	pb_trace_init(&t);
	t.carrier = strdup("zto");
	t.number = strdup("75312345678901");
	t.provider = strdup("test");
	add(&t, when, loc, desc, st);
	return t;
}

static pb_assessment assess(const pb_trace *t, const pb_order *o, int64_t now)
{
	pb_assessment a;

	assert_int_equal(pb_assess(tu_kb(), t, o, now, &a), PB_OK);
	return a;
}

static pb_order order_in(const char *category, const char *paid, const char *shipped)
{
	pb_order o;

	pb_order_init(&o);
	o.id = strdup("A1");
	o.category = strdup(category);
	strcpy(o.currency, "CNY");
	if (paid) {
		o.has_paid_at = true;
		assert_int_equal(pb_time_parse(paid, 8 * 3600, &o.paid_at), PB_OK);
	}
	if (shipped) {
		o.has_shipped_at = true;
		assert_int_equal(pb_time_parse(shipped, 8 * 3600, &o.shipped_at), PB_OK);
	}
	return o;
}

static void no_update_at_and_below(void **state)
{
	pb_trace t = trace1("2026-11-18T10:00:00+08:00", "广州", "快件已发往上海", PB_ST_IN_TRANSIT);
	int64_t last = T("2026-11-18T10:00:00+08:00");
	pb_assessment a;

	(void)state;
	a = assess(&t, NULL, last + 48 * H - 1);
	assert_false(pb_has_anomaly(&a, PB_AN_NO_UPDATE));
	a = assess(&t, NULL, last + 48 * H);
	assert_true(pb_has_anomaly(&a, PB_AN_NO_UPDATE));
	assert_true(a.hours_since_update == 48);
	pb_trace_release(&t);
}

static void stuck_at_node_counts_from_first_event_there(void **state)
{
	pb_trace t;
	int64_t first = T("2026-11-15T08:00:00+08:00");
	pb_assessment a;

	(void)state;
	pb_trace_init(&t);
	t.number = strdup("1");
	add(&t, "2026-11-14T20:00:00+08:00", "义乌", "已揽收", PB_ST_IN_TRANSIT);
	add(&t, "2026-11-15T08:00:00+08:00", "杭州转运中心", "到达", PB_ST_IN_TRANSIT);
	add(&t, "2026-11-16T08:00:00+08:00", "杭州转运中心", "装车", PB_ST_IN_TRANSIT);
	pb_trace_sort(&t);
	a = assess(&t, NULL, first + 72 * H - 1);
	assert_false(pb_has_anomaly(&a, PB_AN_STUCK_AT_NODE));
	a = assess(&t, NULL, first + 72 * H);
	assert_true(pb_has_anomaly(&a, PB_AN_STUCK_AT_NODE));
	assert_true(a.hours_at_node == 72);
	assert_true(a.hours_since_update == 48);
	assert_string_equal(a.node, "杭州转运中心");
	pb_trace_release(&t);
}

static void node_from_brackets_when_no_location(void **state)
{
	pb_trace t = trace1("2026-11-15T08:00:00+08:00", "", "快件已到达【成都转运中心】", PB_ST_IN_TRANSIT);
	pb_assessment a = assess(&t, NULL, T("2026-11-20T10:00:00+08:00"));

	(void)state;
	assert_string_equal(a.node, "成都转运中心");
	assert_true(pb_has_anomaly(&a, PB_AN_STUCK_AT_NODE));
	pb_trace_release(&t);
}

static void not_picked_up_at_and_below(void **state)
{
	pb_trace t = trace1("2026-11-19T02:00:00+08:00", "金华", "商家已打单,等待揽收", PB_ST_INFO_RECEIVED);
	int64_t first = T("2026-11-19T02:00:00+08:00");
	pb_assessment a;

	(void)state;
	a = assess(&t, NULL, first + 24 * H - 1);
	assert_false(pb_has_anomaly(&a, PB_AN_NOT_PICKED_UP));
	a = assess(&t, NULL, first + 24 * H);
	assert_true(pb_has_anomaly(&a, PB_AN_NOT_PICKED_UP));
	/* a label-only parcel is not "stuck at a node" */
	a = assess(&t, NULL, first + 100 * H);
	assert_false(pb_has_anomaly(&a, PB_AN_STUCK_AT_NODE));
	pb_trace_release(&t);
}

static void no_trace_at_and_below(void **state)
{
	pb_trace t;
	pb_order o = order_in("food", "2026-11-14T09:00:00+08:00", "2026-11-16T09:00:00+08:00");
	int64_t shipped = T("2026-11-16T09:00:00+08:00");
	pb_assessment a;

	(void)state;
	pb_trace_init(&t);
	t.number = strdup("773123456789012");
	a = assess(&t, &o, shipped + 72 * H - 1);
	assert_false(pb_has_anomaly(&a, PB_AN_NO_TRACE));
	a = assess(&t, &o, shipped + 72 * H);
	assert_true(pb_has_anomaly(&a, PB_AN_NO_TRACE));
	assert_true(a.has_parcel);
	assert_false(a.has_trace);
	pb_trace_release(&t);
	pb_order_release(&o);
}

static void not_shipped_late_at_and_below(void **state)
{
	pb_order o = order_in("food", "2026-11-17T09:00:00+08:00", NULL);
	int64_t paid = T("2026-11-17T09:00:00+08:00");
	pb_assessment a;

	(void)state;
	a = assess(NULL, &o, paid + 48 * H - 1);
	assert_false(pb_has_anomaly(&a, PB_AN_NOT_SHIPPED_LATE));
	a = assess(NULL, &o, paid + 48 * H);
	assert_true(pb_has_anomaly(&a, PB_AN_NOT_SHIPPED_LATE));
	assert_false(a.has_parcel);
	pb_order_release(&o);
	/* shipped, but the trace was not passed: not "not shipped" */
	o = order_in("food", "2026-11-14T09:00:00+08:00", "2026-11-14T18:00:00+08:00");
	a = assess(NULL, &o, paid + 200 * H);
	assert_int_equal(a.anomalies, 0);
	pb_order_release(&o);
}

static void perishable_thresholds_are_tighter(void **state)
{
	pb_trace t = trace1("2026-11-18T10:00:00+08:00", "上海", "运输中", PB_ST_IN_TRANSIT);
	pb_order fresh = order_in("fresh", "2026-11-17T09:00:00+08:00", "2026-11-17T18:00:00+08:00");
	pb_order durable = order_in("apparel", "2026-11-17T09:00:00+08:00", "2026-11-17T18:00:00+08:00");
	int64_t last = T("2026-11-18T10:00:00+08:00");
	pb_assessment a;

	(void)state;
	a = assess(&t, &fresh, last + 24 * H);
	assert_true(a.perishable);
	assert_true(pb_has_anomaly(&a, PB_AN_NO_UPDATE));
	a = assess(&t, &fresh, last + 24 * H - 1);
	assert_false(pb_has_anomaly(&a, PB_AN_NO_UPDATE));
	a = assess(&t, &durable, last + 24 * H);
	assert_false(a.perishable);
	assert_false(pb_has_anomaly(&a, PB_AN_NO_UPDATE));
	pb_trace_release(&t);
	pb_order_release(&fresh);
	pb_order_release(&durable);
}

static void state_anomalies(void **state)
{
	int64_t now = T("2026-11-20T10:00:00+08:00");
	pb_trace t;
	pb_assessment a;

	(void)state;
	t = trace1("2026-11-20T08:30:00+08:00", "杭州西湖", "派送不成功,收件人电话无人接听",
		   PB_ST_ATTEMPT_FAIL);
	a = assess(&t, NULL, now);
	assert_int_equal(a.anomalies, 1u << PB_AN_DELIVERY_FAILED);
	pb_trace_release(&t);
	t = trace1("2026-11-19T10:00:00+08:00", "长沙", "快件退回中,原因:地址不详", PB_ST_EXCEPTION);
	a = assess(&t, NULL, now);
	assert_int_equal(a.exception, PB_EX_RETURNING);
	assert_true(pb_has_anomaly(&a, PB_AN_RETURNED));
	pb_trace_release(&t);
	t = trace1("2026-11-19T10:00:00+08:00", "长沙", "Returned to sender", PB_ST_EXCEPTION);
	a = assess(&t, NULL, now);
	assert_int_equal(a.exception, PB_EX_RETURNED);
	pb_trace_release(&t);
	t = trace1("2026-11-19T11:00:00+08:00", "郑州", "快件遗失,已登记理赔", PB_ST_EXCEPTION);
	a = assess(&t, NULL, now);
	assert_int_equal(a.exception, PB_EX_LOST);
	assert_true(pb_has_anomaly(&a, PB_AN_LOST));
	pb_trace_release(&t);
	t = trace1("2026-11-19T11:00:00+08:00", "郑州", "外包装破损,已联系发件人", PB_ST_EXCEPTION);
	a = assess(&t, NULL, now);
	assert_true(pb_has_anomaly(&a, PB_AN_DAMAGED_IN_TRANSIT));
	pb_trace_release(&t);
	t = trace1("2026-11-19T11:00:00+08:00", "上海", "海关查验中", PB_ST_EXCEPTION);
	a = assess(&t, NULL, now);
	assert_int_equal(a.exception, PB_EX_CUSTOMS);
	pb_trace_release(&t);
	/* a kind given by the provider wins over the text */
	pb_trace_init(&t);
	t.number = strdup("1");
	assert_int_equal(pb_trace_add(&t, (pb_when){now - H, 0}, "", "Exception", "", PB_ST_EXCEPTION,
				      PB_EX_REFUSED),
			 PB_OK);
	a = assess(&t, NULL, now);
	assert_int_equal(a.exception, PB_EX_REFUSED);
	pb_trace_release(&t);
}

static pb_place place_of(const char *desc)
{
	pb_trace t = trace1("2026-11-19T17:30:00+08:00", "", desc, PB_ST_DELIVERED);
	pb_assessment a = assess(&t, NULL, T("2026-11-20T10:00:00+08:00"));

	pb_trace_release(&t);
	if (a.place != PB_PLACE_NONE && a.place != PB_PLACE_IN_PERSON)
		assert_true(pb_has_anomaly(&a, PB_AN_SIGNED_ELSEWHERE));
	else
		assert_false(pb_has_anomaly(&a, PB_AN_SIGNED_ELSEWHERE));
	return a.place;
}

static void signed_for_places(void **state)
{
	(void)state;
	assert_int_equal(place_of("您的快件已由【菜鸟驿站(江宁万达店)】代收,请及时取件"),
			 PB_PLACE_PARCEL_STATION);
	assert_int_equal(place_of("快件已存放至丰巢快递柜,取件码123456"), PB_PLACE_LOCKER);
	assert_int_equal(place_of("Delivered to parcel locker"), PB_PLACE_LOCKER);
	assert_int_equal(place_of("已签收,签收人:前台"), PB_PLACE_RECEPTION);
	assert_int_equal(place_of("已签收,签收人：门卫"), PB_PLACE_RECEPTION);
	assert_int_equal(place_of("Left at reception"), PB_PLACE_RECEPTION);
	assert_int_equal(place_of("已签收,家人代签"), PB_PLACE_FAMILY_OR_OTHER);
	assert_int_equal(place_of("Delivered, left with neighbour"), PB_PLACE_FAMILY_OR_OTHER);
	assert_int_equal(place_of("Delivered to letterbox"), PB_PLACE_MAILBOX);
	assert_int_equal(place_of("已签收,签收人:本人"), PB_PLACE_IN_PERSON);
	assert_int_equal(place_of("Delivered to the recipient in person"), PB_PLACE_IN_PERSON);
	assert_int_equal(place_of("已签收"), PB_PLACE_NONE);
	assert_int_equal(place_of("Delivered"), PB_PLACE_NONE);
	/* traditional characters are folded before matching */
	assert_int_equal(place_of("已簽收,已放入快遞櫃"), PB_PLACE_LOCKER);
}

static void delivered_parcels_are_not_stalled(void **state)
{
	pb_trace t = trace1("2026-11-01T10:00:00+08:00", "上海", "已签收,签收人:本人", PB_ST_DELIVERED);
	pb_assessment a = assess(&t, NULL, T("2026-11-20T10:00:00+08:00"));

	(void)state;
	assert_int_equal(a.anomalies, 0);
	pb_trace_release(&t);
	t = trace1("2026-11-01T10:00:00+08:00", "上海", "已到驿站,请取件", PB_ST_AVAILABLE_FOR_PICKUP);
	a = assess(&t, NULL, T("2026-11-20T10:00:00+08:00"));
	assert_false(pb_has_anomaly(&a, PB_AN_NO_UPDATE));
	assert_int_equal(a.place, PB_PLACE_PARCEL_STATION);
	pb_trace_release(&t);
}

static void across_midnight(void **state)
{
	/* 23:30 to 23:30 two days later is exactly 48 h whatever the date. */
	pb_trace t = trace1("2026-11-18T23:30:00+08:00", "广州", "运输中", PB_ST_IN_TRANSIT);
	pb_assessment a = assess(&t, NULL, T("2026-11-20T23:30:00+08:00"));

	(void)state;
	assert_true(a.hours_since_update == 48);
	assert_true(pb_has_anomaly(&a, PB_AN_NO_UPDATE));
	pb_trace_release(&t);
}

static void across_dst_in_london(void **state)
{
	/* British summer time ends 2026-10-25 at 02:00 BST. An event at
	 * 10:00 BST on the 24th and "now" 09:00 GMT on the 26th are 48 hours
	 * apart, though the wall clocks differ by 47. */
	pb_trace t;
	pb_when w, now;
	pb_assessment a;

	(void)state;
	pb_trace_init(&t);
	t.number = strdup("GB1");
	assert_int_equal(pb_time_parse("2026-10-24T10:00:00+01:00", 0, &w), PB_OK);
	assert_int_equal(pb_trace_add(&t, w, "London", "In transit", "", PB_ST_IN_TRANSIT, PB_EX_NONE),
			 PB_OK);
	assert_int_equal(pb_time_parse("2026-10-26T09:00:00+00:00", 0, &now), PB_OK);
	a = assess(&t, NULL, now.t);
	assert_true(a.hours_since_update == 48);
	assert_true(pb_has_anomaly(&a, PB_AN_NO_UPDATE));
	now.t -= 1;
	a = assess(&t, NULL, now.t);
	assert_false(pb_has_anomaly(&a, PB_AN_NO_UPDATE));
	pb_trace_release(&t);
}

static void events_are_sorted_newest_first(void **state)
{
	pb_trace t;
	pb_assessment a;

	(void)state;
	pb_trace_init(&t);
	t.number = strdup("1");
	/* Given out of order, with mixed offsets: 12:00+08:00 is 04:00Z, the
	 * newest; 05:00Z written as 06:00+01:00 is older. */
	add(&t, "2026-11-19T06:00:00+01:00", "A", "older", PB_ST_IN_TRANSIT);
	add(&t, "2026-11-20T12:00:00+08:00", "B", "newest", PB_ST_OUT_FOR_DELIVERY);
	add(&t, "2026-11-18T12:00:00+08:00", "C", "oldest", PB_ST_IN_TRANSIT);
	pb_trace_sort(&t);
	assert_string_equal(t.events[0].description, "newest");
	assert_string_equal(t.events[2].description, "oldest");
	a = assess(&t, NULL, T("2026-11-20T13:00:00+08:00"));
	assert_int_equal(a.state, PB_ST_OUT_FOR_DELIVERY);
	pb_trace_release(&t);
}

static void policy_peak_and_money(void **state)
{
	const pb_policy *p = tu_kb()->policy;

	(void)state;
	assert_true(pb_policy_is_peak(p, T("2026-11-11T12:00:00+08:00")));
	assert_false(pb_policy_is_peak(p, T("2026-11-20T12:00:00+08:00")));
	/* New Year wraps the year end. */
	assert_true(pb_policy_is_peak(p, T("2027-01-02T12:00:00+08:00")));
	assert_true(pb_policy_is_peak(p, T("2026-12-30T12:00:00+08:00")));
	assert_string_equal(pb_policy_money(p, "MYR")->currency, "MYR");
	assert_string_equal(pb_policy_money(p, "THB")->currency, "default");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(no_update_at_and_below),
		cmocka_unit_test(stuck_at_node_counts_from_first_event_there),
		cmocka_unit_test(node_from_brackets_when_no_location),
		cmocka_unit_test(not_picked_up_at_and_below),
		cmocka_unit_test(no_trace_at_and_below),
		cmocka_unit_test(not_shipped_late_at_and_below),
		cmocka_unit_test(perishable_thresholds_are_tighter),
		cmocka_unit_test(state_anomalies),
		cmocka_unit_test(signed_for_places),
		cmocka_unit_test(delivered_parcels_are_not_stalled),
		cmocka_unit_test(across_midnight),
		cmocka_unit_test(across_dst_in_london),
		cmocka_unit_test(events_are_sorted_newest_first),
		cmocka_unit_test(policy_peak_and_money),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	pb_kb_unref(tu_kb());
	return rc;
}
