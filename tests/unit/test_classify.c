/*
 * The classifier against the real KB: negations and contradictions, text
 * normalisation, entity extraction, invalid UTF-8, spans, hostile input, and
 * the prefilter's soundness (it must never change a result).
 */
#include "testutil.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parcelbot/classify.h"
#include "parcelbot/prefilter.h"

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

static pb_verdict classify(const char *text)
{
	pb_verdict v;
	pb_errbuf eb;

	if (pb_classify(cl, text, strlen(text), &v, &eb))
		fail_msg("classify failed: %s", eb.msg);
	return v;
}

/* The intents of text as a comma-separated string, in KB order. */
static const char *intents_of(const char *text)
{
	static char out[256];
	pb_verdict v = classify(text);
	const pb_kb *kb = tu_kb();
	size_t i;

	out[0] = '\0';
	for (i = 0; i < kb->n_intents; i++)
		if ((v.intents >> i) & 1) {
			if (out[0])
				strcat(out, ",");
			strcat(out, kb->rules[i].id);
		}
	return out;
}

static const char *signals_of(const char *text)
{
	static char out[256];
	pb_verdict v = classify(text);
	const pb_kb *kb = tu_kb();
	size_t i;

	out[0] = '\0';
	for (i = kb->n_intents; i < kb->n_rules; i++)
		if ((v.signals >> (i - kb->n_intents)) & 1) {
			if (out[0])
				strcat(out, ",");
			strcat(out, kb->rules[i].id);
		}
	return out;
}

static void negations_do_not_trigger(void **state)
{
	static const char *const none[] = {
		"没有破损", "没有任何问题", "已经收到了,谢谢", "物流很快", "a week early, no damage",
		"东西收到了,包装很好没有破损,好评", "快递显示签收了,我已经拿到了,谢谢",
		"Received in good condition, thank you", "物流很快,第二天就到了",
		"包装完好无损,很满意", "not broken at all, thanks", "一件不少,都收到了",
		"不着急,慢慢发", "包装结实吗,会不会压坏?", "no complaints, great seller",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof none / sizeof none[0]; i++) {
		if (*intents_of(none[i]) || *signals_of(none[i]))
			fail_msg("\"%s\" gave intents [%s] signals [%s]", none[i], intents_of(none[i]),
				 signals_of(none[i]));
	}
}

static void negation_only_cancels_what_it_overlaps(void **state)
{
	(void)state;
	/* "没有破损" is vetoed, but the later "碎了" still counts. */
	assert_string_equal(intents_of("外箱没有破损,但是里面的杯子碎了"), "damaged");
	assert_string_equal(intents_of("the box is not damaged but the mug inside is broken"),
			    "damaged");
}

static void normalisation_variants(void **state)
{
	(void)state;
	/* traditional characters */
	assert_string_equal(intents_of("物流顯示已簽收,可我根本沒拿到東西"), "signed_not_received");
	/* full-width punctuation and letters, emoji, mixed case */
	assert_string_equal(intents_of("ＴＲＡＣＫＩＮＧ　ｓａｙｓ　ＤＥＬＩＶＥＲＥＤ　ｂｕｔ　Ｉ　ＮＥＶＥＲ　ＲＥＣＥＩＶＥＤ　ＩＴ"),
			    "signed_not_received");
	assert_string_equal(intents_of("快递😭😭三天没更新了🙏"), "stuck_parcel");
	assert_string_equal(intents_of("My PaRcEl Is StUcK at the hub"), "stuck_parcel");
	/* zero-width characters inside a word */
	assert_string_equal(intents_of("发\xe2\x80\x8b错货了"), "wrong_item");
}

static void suppression_prefers_the_specific_intent(void **state)
{
	(void)state;
	assert_string_equal(intents_of("快递是不是丢了,十天了"), "lost_parcel");
	assert_string_equal(intents_of("物流已经3天没更新了,什么时候能到?"), "stuck_parcel");
	assert_string_equal(intents_of("签收了两天了我还没见到快递,驿站也没有"),
			    "signed_not_received");
	/* "order moved" inside a question is not "it moved, all resolved" */
	assert_string_equal(intents_of("Why hasn't my order moved from the warehouse in 4 days?"),
			    "stuck_parcel");
}

static void language(void **state)
{
	(void)state;
	assert_int_equal(classify("快递到哪了").lang, PB_LANG_ZH);
	assert_int_equal(classify("where is my parcel").lang, PB_LANG_EN);
	assert_int_equal(classify("my 快递 where").lang, PB_LANG_ZH);
	assert_int_equal(classify("").lang, PB_LANG_EN);
}

static void entities_quantities(void **state)
{
	pb_verdict v;

	(void)state;
	v = classify("拍了3盒只收到1盒");
	assert_true(v.ent.has_quantity);
	assert_int_equal(v.ent.ordered, 3);
	assert_int_equal(v.ent.received, 1);
	v = classify("我买的腰果250克3罐,只有1罐?");
	assert_int_equal(v.ent.ordered, 3);
	assert_int_equal(v.ent.received, 1);
	v = classify("买了一套四个,里面只有三个");
	assert_int_equal(v.ent.ordered, 4);
	assert_int_equal(v.ent.received, 3);
	v = classify("拍了两件只到了一件");
	assert_int_equal(v.ent.ordered, 2);
	assert_int_equal(v.ent.received, 1);
	v = classify("ordered 4 received 3");
	assert_int_equal(v.ent.ordered, 4);
	assert_int_equal(v.ent.received, 3);
	v = classify("I only got 2 of the 3 items I ordered");
	assert_int_equal(v.ent.ordered, 3);
	assert_int_equal(v.ent.received, 2);
	v = classify("少发了一件,订单是两件的");
	assert_int_equal(v.ent.ordered, 2);
	assert_int_equal(v.ent.received, -1);
	v = classify("物流很快");
	assert_false(v.ent.has_quantity);
}

static double first_hours(const char *text)
{
	pb_verdict v = classify(text);

	return v.ent.n_durations ? v.ent.durations[0].hours : -1;
}

static void entities_durations(void **state)
{
	(void)state;
	assert_true(first_hours("物流已经3天没更新了") == 72);
	assert_true(first_hours("两天没动了") == 48);
	assert_true(first_hours("48小时了") == 48);
	assert_true(first_hours("都一个星期了") == 168);
	assert_true(first_hours("十天了还没到") == 240);
	assert_true(first_hours("半个月了") == 360);
	assert_true(first_hours("No tracking updates for a week now") == 168);
	assert_true(first_hours("stuck for 5 days") == 120);
	assert_true(first_hours("no update in 48h") == 48);
	assert_true(pb_parse_number("half", 4) == 0.5);
	assert_true(pb_parse_number("半", strlen("半")) == 0.5);
	assert_true(pb_parse_number("couple", 6) == 2);
	/* not durations */
	assert_true(first_hours("第二天就到了") < 0);
	assert_true(first_hours("11月3日发货") < 0);
	assert_true(first_hours("好几天了") < 0);
	assert_true(first_hours("ah ok") < 0);
	assert_int_equal(classify("5 days, 5 days").ent.n_durations, 2);
	assert_int_equal(classify("stuck 5 days").ent.n_durations, 1);
}

static void entities_numbers(void **state)
{
	const pb_kb *kb = tu_kb();
	pb_verdict v;

	(void)state;
	v = classify("单号SF1234567890123怎么查不到");
	assert_int_equal(v.ent.n_tracking, 1);
	assert_string_equal(v.ent.tracking[0].number, "SF1234567890123");
	assert_string_equal(kb->carriers[v.ent.tracking[0].carriers[0]].id, "sf");
	v = classify("my tracking is yt7512345678901 and nothing shows");
	assert_string_equal(v.ent.tracking[0].number, "YT7512345678901");
	assert_string_equal(kb->carriers[v.ent.tracking[0].carriers[0]].id, "yto");
	v = classify("75312345678901 到哪了");
	assert_string_equal(kb->carriers[v.ent.tracking[0].carriers[0]].id, "zto");
	v = classify("订单号:A1001-778899,还没发货");
	assert_int_equal(v.ent.n_orders, 1);
	assert_string_equal(v.ent.orders[0].id, "A1001-778899");
	assert_int_equal(v.ent.n_tracking, 0);
	v = classify("运单号 123456789 查不到");
	assert_int_equal(v.ent.n_tracking, 1);
	assert_int_equal(v.ent.tracking[0].n_carriers, 0);
	/* a phone number is not a tracking number */
	v = classify("我电话13812345678一直开着");
	assert_int_equal(v.ent.n_tracking, 0);
}

static void spans_point_into_the_original_text(void **state)
{
	/* Full-width letters normalise to 1 byte each but are 3 bytes in the
	 * original; the span must cover the original bytes. */
	const char *text = "亲，ＳＴＵＣＫ at hub";
	pb_verdict v = classify("亲,ＷＨＥＲＥ　ｉｓ my order?");
	const char *t2 = "亲,ＷＨＥＲＥ　ｉｓ my order?";

	(void)state;
	(void)text;
	assert_int_equal(v.n_hits, 1);
	assert_int_equal(v.hits[0].span.off, 4);
	assert_int_equal(strncmp(t2 + v.hits[0].span.off, "ＷＨＥＲＥ", 15), 0);
	assert_int_equal(v.hits[0].span.off + v.hits[0].span.len, strlen(t2) - 1);
}

/* A pasted order or tracking number does not break the words around it,
 * the number is still extracted, and the hit's span covers the original
 * bytes, number included. */
static void numbers_inside_a_sentence(void **state)
{
	const char *t = "我的快递73100000000101三天没更新了";
	pb_verdict v;

	(void)state;
	assert_string_equal(intents_of(t), "stuck_parcel");
	assert_string_equal(intents_of("快递单号73100000000101，三天没更新了"), "stuck_parcel");
	assert_string_equal(intents_of("my parcel 73100000000101 has not moved for 3 days"),
			    "stuck_parcel");
	assert_string_equal(intents_of("order #SF1234567890123 arrived damaged"), "damaged");
	/* a number longer than the pattern's gap, in ASCII and in full-width
	 * digits (no problem is found unless the number is taken out) */
	assert_string_equal(intents_of("物流SF1234567890123没有任何更新"), "stuck_parcel");
	assert_string_equal(intents_of("物流SF１２３４５６７８９０１２３没有任何更新"), "stuck_parcel");
	v = classify(t);
	assert_int_equal(v.ent.n_tracking, 1);
	assert_string_equal(v.ent.tracking[0].number, "73100000000101");
	assert_int_equal(v.n_hits, 1);
	assert_int_equal(v.hits[0].span.off, strlen("我的"));
	assert_int_equal(strncmp(t + v.hits[0].span.off, "快递7310", 10), 0);
	/* short numbers are words, not masked: quantities still read */
	assert_string_equal(intents_of("买了3个只收到2个"), "missing_items");
}

static void invalid_utf8_is_refused(void **state)
{
	pb_verdict v;
	pb_errbuf eb;

	(void)state;
	assert_int_equal(pb_classify(cl, "快递\xff没更新", 13, &v, &eb), PB_EUTF8);
	assert_non_null(strstr(eb.msg, "offset 6"));
	assert_int_equal(pb_classify(cl, "\xc0\xaf", 2, &v, &eb), PB_EUTF8);
}

static void long_text_is_truncated_not_refused(void **state)
{
	size_t n = PB_CLASSIFY_MAX_TEXT * 2, i;
	char *big = malloc(n + 1);
	pb_verdict v;
	pb_errbuf eb;

	(void)state;
	for (i = 0; i + 3 <= n; i += 3)
		memcpy(big + i, "快", 3);
	big[i] = '\0';
	assert_int_equal(pb_classify(cl, big, i, &v, &eb), PB_OK);
	assert_true(v.truncated);
	free(big);
}

/* A KB with a pattern that backtracks catastrophically; the match limit must
 * stop it quickly, and the message simply does not match. */
static void match_limit_bounds_hostile_input(void **state)
{
	char *dir = tu_kb_copy(), text[4096];
	pb_diag dg;
	pb_kb *kb = NULL;
	pb_classifier *c;
	pb_verdict v;
	pb_errbuf eb;
	clock_t t0;

	(void)state;
	tu_append(dir, "signals.yaml",
		  "  - id: evil\n    description: x\n    patterns:\n"
		  "      - id: a\n        match: '(?:x+x+)+(?:y|z)'\n    examples: [xy, xxz]\n");
	pb_diag_init(&dg);
	assert_int_equal(pb_kb_load(dir, &kb, &dg), PB_OK);
	c = pb_classifier_new(kb);
	/* A leading 'z' gets past the prefilter; the x run with no y or z
	 * after it is the classic exponential backtrack. */
	text[0] = 'z';
	memset(text + 1, 'x', 3998);
	text[3999] = 'w';
	text[4000] = '\0';
	t0 = clock();
	assert_int_equal(pb_classify(c, text, 4000, &v, &eb), PB_OK);
	assert_true(v.limit_hits > 0);
	assert_int_equal(v.signals, 0);
	/* Generous bound: without the limit this would run for years. */
	assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 20.0);
	pb_classifier_free(c);
	pb_kb_unref(kb);
	pb_diag_release(&dg);
	tu_rmtree(dir);
	free(dir);
}

static void prefilter_analysis(void **state)
{
	pb_pf_factors f;

	(void)state;
	assert_int_equal(pb_pf_analyze("快递.{0,8}没(?:更新|动)", 29, &f), PB_OK);
	assert_true(f.understood);
	assert_int_equal(f.n, 2);
	pb_pf_factors_release(&f);
	/* case folding of ASCII literals */
	assert_int_equal(pb_pf_analyze("Stuck", 5, &f), PB_OK);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.f[0].v[0], "stuck");
	pb_pf_factors_release(&f);
	/* an optional piece is not required */
	assert_int_equal(pb_pf_analyze("(?:abc)?d", 9, &f), PB_OK);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.f[0].n, 1);
	assert_string_equal(f.f[0].v[0], "d");
	pb_pf_factors_release(&f);
	/* a backreference is not understood: the pattern is always tried */
	assert_int_equal(pb_pf_analyze("(a)\\1", 5, &f), PB_OK);
	assert_false(f.understood);
	assert_int_equal(f.n, 0);
	pb_pf_factors_release(&f);
	/* alternation where one branch has no literal: nothing required */
	assert_int_equal(pb_pf_analyze("abc|\\d+", 7, &f), PB_OK);
	assert_int_equal(f.n, 0);
	pb_pf_factors_release(&f);
	/* small classes expand */
	assert_int_equal(pb_pf_analyze("[签簽]收", 10, &f), PB_OK);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.f[0].n, 2);
	pb_pf_factors_release(&f);
}

/* Every text in every corpus and every KB example must classify the same
 * with and without the prefilter. */
static void check_equal(pb_classifier *slow, const char *text)
{
	pb_verdict a, b;
	pb_errbuf eb;
	size_t i;

	if (pb_classify(cl, text, strlen(text), &a, &eb) ||
	    pb_classify(slow, text, strlen(text), &b, &eb))
		return;
	if (a.intents != b.intents || a.signals != b.signals || a.n_hits != b.n_hits ||
	    a.ent.n_durations != b.ent.n_durations || a.ent.has_quantity != b.ent.has_quantity ||
	    a.ent.n_tracking != b.ent.n_tracking || a.ent.n_orders != b.ent.n_orders)
		fail_msg("prefilter changes the result for \"%s\"", text);
	for (i = 0; i < a.n_hits; i++)
		if (a.hits[i].pattern != b.hits[i].pattern)
			fail_msg("prefilter changes which pattern fired for \"%s\"", text);
}

static size_t check_file(pb_classifier *slow, const char *path)
{
	char *data = tu_read(path, NULL), *line, *save = NULL;
	size_t n = 0;

	if (!data)
		return 0;
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		cJSON *j = cJSON_Parse(line);
		cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "text");
		if (!cJSON_IsString(t))
			t = cJSON_GetObjectItemCaseSensitive(j, "message");
		if (cJSON_IsString(t)) {
			check_equal(slow, t->valuestring);
			n++;
		}
		cJSON_Delete(j);
	}
	free(data);
	return n;
}

static void prefilter_never_changes_a_result(void **state)
{
	const pb_kb *kb = tu_kb();
	pb_classifier *slow = pb_classifier_new(kb);
	const char *src = getenv("PB_SRCDIR");
	char path[4096];
	size_t i, j, n = 0;

	(void)state;
	pb_classifier_use_prefilter(slow, false);
	for (i = 0; i < kb->n_rules; i++) {
		for (j = 0; j < kb->rules[i].examples.n; j++, n++)
			check_equal(slow, kb->rules[i].examples.v[j]);
		for (j = 0; j < kb->rules[i].not_examples.n; j++, n++)
			check_equal(slow, kb->rules[i].not_examples.v[j]);
	}
	snprintf(path, sizeof path, "%s/../shared/eval/messages-dev.jsonl", src ? src : ".");
	n += check_file(slow, path);
	snprintf(path, sizeof path, "%s/../shared/eval/scenarios-dev.jsonl", src ? src : ".");
	n += check_file(slow, path);
	snprintf(path, sizeof path, "%s/tests/cases/messages-extra.jsonl", src ? src : ".");
	n += check_file(slow, path);
	assert_true(n > 100);
	pb_classifier_free(slow);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(negations_do_not_trigger),
		cmocka_unit_test(negation_only_cancels_what_it_overlaps),
		cmocka_unit_test(normalisation_variants),
		cmocka_unit_test(suppression_prefers_the_specific_intent),
		cmocka_unit_test(language),
		cmocka_unit_test(entities_quantities),
		cmocka_unit_test(entities_durations),
		cmocka_unit_test(entities_numbers),
		cmocka_unit_test(spans_point_into_the_original_text),
		cmocka_unit_test(numbers_inside_a_sentence),
		cmocka_unit_test(invalid_utf8_is_refused),
		cmocka_unit_test(long_text_is_truncated_not_refused),
		cmocka_unit_test(match_limit_bounds_hostile_input),
		cmocka_unit_test(prefilter_analysis),
		cmocka_unit_test(prefilter_never_changes_a_result),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
