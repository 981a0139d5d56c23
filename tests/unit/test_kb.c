/*
 * The KB loader's validation: one test per kind of error, each checking the
 * exact `file:line:col: message` reported, plus the rule that a KB with any
 * error is rejected whole.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "parcelbot/classify.h"

static const char base_intents[] =
	"intents:\n"
	"  - id: stuck_parcel\n"
	"    description: stuck\n"
	"    problem: true\n"
	"    patterns:\n"
	"      - id: a\n"
	"        match: '没更新'\n"
	"    examples: [物流三天没更新, 还是没更新]\n"
	"  - id: where_is_order\n"
	"    description: where\n"
	"    patterns:\n"
	"      - id: a\n"
	"        match: '到哪'\n"
	"    examples: [到哪了, 快递到哪了]\n";

/* Copies the real KB, replaces one file (name, text), loads it, and returns
 * the first diagnostic (static buffer) or "" on success. Files load in a
 * fixed order, so the first diagnostic is the one the replaced file
 * caused even when later sections then complain about what it broke. */
static const char *load_with(const char *name, const char *text, size_t *nerr)
{
	static char first[1024];
	char *dir = tu_kb_copy();
	pb_diag dg;
	pb_kb *kb = NULL;
	pb_err err;

	if (name)
		tu_write(dir, name, text);
	pb_diag_init(&dg);
	err = pb_kb_load(dir, &kb, &dg);
	first[0] = '\0';
	if (dg.n) {
		/* Strip the temp dir so messages compare as kb-relative. */
		const char *l = dg.lines[0];
		if (!strncmp(l, dir, strlen(dir)))
			l += strlen(dir) + 1;
		snprintf(first, sizeof first, "%s", l);
	}
	if (nerr)
		*nerr = pb_diag_count(&dg);
	if (err)
		assert_null(kb);
	else
		assert_int_equal(pb_diag_count(&dg), 0);
	pb_kb_unref(kb);
	pb_diag_release(&dg);
	tu_rmtree(dir);
	free(dir);
	return first;
}

static void base_kb_loads(void **state)
{
	(void)state;
	assert_string_equal(load_with(NULL, NULL, NULL), "");
}

static void missing_file(void **state)
{
	char *dir = tu_kb_copy(), path[4096];
	pb_diag dg;
	pb_kb *kb = NULL;

	(void)state;
	snprintf(path, sizeof path, "%s/signals.yaml", dir);
	assert_int_equal(unlink(path), 0);
	pb_diag_init(&dg);
	assert_int_equal(pb_kb_load(dir, &kb, &dg), PB_EKB);
	assert_null(kb);
	assert_non_null(strstr(dg.lines[0], "signals.yaml: required file is missing"));
	pb_diag_release(&dg);
	tu_rmtree(dir);
	free(dir);
}

static void yaml_syntax_error(void **state)
{
	(void)state;
	assert_string_equal(load_with("signals.yaml", "signals:\n  - id: [unclosed\n", NULL),
			    "signals.yaml:3:1: YAML syntax error: did not find expected ',' or ']' "
			    "while parsing a flow sequence");
}

static void unknown_key(void **state)
{
	(void)state;
	assert_string_equal(
		load_with("carriers.yaml",
			  "carriers:\n  - id: sf\n    names: {zh: a, en: b}\n    region: cn\n"
			  "    colour: red\n",
			  NULL),
		"carriers.yaml:5:5: unknown key 'colour'");
}

static void missing_field(void **state)
{
	(void)state;
	assert_string_equal(
		load_with("carriers.yaml", "carriers:\n  - id: sf\n    names: {zh: a, en: b}\n", NULL),
		"carriers.yaml:2:5: missing required key 'region'");
}

static void duplicate_id(void **state)
{
	const char *m;

	(void)state;
	m = load_with("signals.yaml",
			  "signals:\n"
			  "  - id: stuck_parcel\n"
			  "    description: x\n"
			  "    patterns: [{id: a, match: 'x'}]\n"
			  "    examples: [x, xx]\n",
			  NULL);
	assert_true(!strncmp(m, "signals.yaml:2:9: duplicate id 'stuck_parcel' (first at ", 56));
	assert_non_null(strstr(m, "/intents.yaml:"));
}

static void duplicate_key(void **state)
{
	(void)state;
	assert_string_equal(load_with("entities.yaml",
				      "units:\n  - words: [天]\n    hours: 24\n    hours: 12\n", NULL),
			    "entities.yaml:4:5: duplicate key 'hours' (first at line 3)");
}

static void bad_reference_suppress(void **state)
{
	char text[2048];

	(void)state;
	snprintf(text, sizeof text, "%s    suppresses: [no_such_intent]\n", base_intents);
	assert_string_equal(load_with("intents.yaml", text, NULL),
			    "intents.yaml:15:18: 'no_such_intent' is not an intent");
}

static void bad_reference_term(void **state)
{
	(void)state;
	assert_string_equal(
		load_with("signals.yaml",
			  "signals:\n"
			  "  - id: urgent\n"
			  "    description: x\n"
			  "    patterns:\n"
			  "      - id: a\n"
			  "        match: '{{nosuch}}急'\n"
			  "    examples: [急, 很急]\n",
			  NULL),
		"signals.yaml:6:16: unknown term '{{nosuch}}' (define it in terms.yaml)");
}

static void regex_does_not_compile(void **state)
{
	(void)state;
	/* The column points into the regex: "(?:ab" is unterminated, and
	 * PCRE2 reports the end of the pattern (offset 5, column 16+1+5). */
	assert_string_equal(
		load_with("signals.yaml",
			  "signals:\n"
			  "  - id: urgent\n"
			  "    description: x\n"
			  "    patterns:\n"
			  "      - id: a\n"
			  "        match: '(?:ab'\n"
			  "    examples: [ab, abab]\n",
			  NULL),
		"signals.yaml:6:22: regex does not compile: missing closing parenthesis (at "
		"offset 5)");
}

static void pattern_not_normalised(void **state)
{
	(void)state;
	assert_string_equal(
		load_with("signals.yaml",
			  "signals:\n"
			  "  - id: urgent\n"
			  "    description: x\n"
			  "    patterns:\n"
			  "      - id: a\n"
			  "        match: '急，急'\n"
			  "    examples: [急急, 很急急]\n",
			  NULL),
		"signals.yaml:6:18: '，' never appears in normalised text; write ',' instead");
}

static void wrong_type(void **state)
{
	(void)state;
	assert_string_equal(load_with("signals.yaml",
				      "signals:\n"
				      "  - id: urgent\n"
				      "    description: x\n"
				      "    patterns: 急\n"
				      "    examples: [急, 很急]\n",
				      NULL),
			    "signals.yaml:4:15: patterns must be a list, not a single value");
}

static void too_few_examples(void **state)
{
	(void)state;
	assert_string_equal(load_with("signals.yaml",
				      "signals:\n"
				      "  - id: urgent\n"
				      "    description: x\n"
				      "    patterns: [{id: a, match: '急'}]\n"
				      "    examples: [急]\n",
				      NULL),
			    "signals.yaml:5:15: 'examples' needs at least 2 entries");
}

static void extractor_without_group(void **state)
{
	(void)state;
	assert_string_equal(load_with("entities.yaml",
				      "extractors:\n"
				      "  - id: order\n"
				      "    kind: order_id\n"
				      "    match: '订单\\d+'\n",
				      NULL),
			    "entities.yaml:4:12: a order_id extractor needs a (?<value>...) group");
}

static void alias_refused(void **state)
{
	(void)state;
	assert_string_equal(load_with("entities.yaml",
				      "units:\n  - &u\n    words: [天]\n    hours: 24\n  - *u\n", NULL),
			    "entities.yaml:2:5: anchors (&name) are not supported");
}

static void fold_must_be_single_characters(void **state)
{
	(void)state;
	assert_string_equal(load_with("normalize.yaml", "fold:\n  簽名: 签\n", NULL),
			    "normalize.yaml:2:3: fold entries map one character to one character");
}

static void invalid_utf8_file(void **state)
{
	(void)state;
	assert_string_equal(load_with("signals.yaml", "signals:\n  - id: \xff\n", NULL),
			    "signals.yaml:2:9: invalid UTF-8 (byte 0xff)");
}

static void template_variable_undefined(void **state)
{
	(void)state;
	assert_string_equal(
		load_with("replies/wrong_item.yaml",
			  "intent: wrong_item\n"
			  "templates:\n"
			  "  - id: any\n"
			  "    zh:\n"
			  "      - open: \"亲,非常抱歉!\"\n"
			  "        promise: \"{{follow_up}}给您{{refund}}。\"\n"
			  "      - {open: \"亲,抱歉!\", promise: \"{{follow_up}}回复您。\"}\n"
			  "    en:\n"
			  "      - {open: \"Sorry!\", promise: \"I will reply {{follow_up}}.\"}\n"
			  "      - {open: \"So sorry!\", promise: \"I will reply {{follow_up}}.\"}\n",
			  NULL),
		"replies/wrong_item.yaml:6:18: undefined variable '{{refund}}' (see "
		"docs/knowledge-base.md)");
}

static void template_fails_its_own_lint(void **state)
{
	(void)state;
	assert_string_equal(
		load_with("replies/wrong_item.yaml",
			  "intent: wrong_item\n"
			  "templates:\n"
			  "  - id: any\n"
			  "    zh:\n"
			  "      - open: \"亲,非常抱歉!\"\n"
			  "        action: \"这是快递的问题,您自己联系快递吧。\"\n"
			  "        promise: \"{{follow_up}}回复您。\"\n"
			  "      - open: \"亲,非常抱歉!\"\n"
			  "        promise: \"{{follow_up}}回复您。\"\n"
			  "    en:\n"
			  "      - open: \"Sorry!\"\n"
			  "        promise: \"I will reply {{follow_up}}.\"\n"
			  "      - open: \"Sorry!\"\n"
			  "        promise: \"I will reply {{follow_up}}.\"\n",
			  NULL),
		"replies/wrong_item.yaml:5:9: reply does not pass its own check: blame_shifting: "
		"不要把责任推给快递或说没办法:平台上商家要为物流负责 (\"快递的问题\")");
}

static void template_catch_all_required(void **state)
{
	(void)state;
	assert_string_equal(
		load_with("replies/wrong_item.yaml",
			  "intent: wrong_item\n"
			  "templates:\n"
			  "  - id: any\n"
			  "    when: {shipped: true}\n"
			  "    zh:\n"
			  "      - {open: \"亲,非常抱歉!\", promise: \"{{follow_up}}回复您。\"}\n"
			  "      - {open: \"亲,真的抱歉!\", promise: \"{{follow_up}}回复您。\"}\n"
			  "    en:\n"
			  "      - {open: \"Sorry!\", promise: \"I will reply {{follow_up}}.\"}\n"
			  "      - {open: \"So sorry!\", promise: \"I will reply {{follow_up}}.\"}\n",
			  NULL),
		"replies/wrong_item.yaml:3:3: add a last template with no 'when' that uses only "
		"{{follow_up}}, so every case can be answered even without an order or a trace");
}

static void policy_unknown_anomaly(void **state)
{
	char path[4096], *p, *at, buf[65536];

	(void)state;
	snprintf(path, sizeof path, "%s/policy.yaml", tu_kb_dir());
	p = tu_read(path, NULL);
	assert_non_null(p);
	at = strstr(p, "anomalies: [lost, no_trace]");
	assert_non_null(at);
	snprintf(buf, sizeof buf, "%.*sanomalies: [lost, no_tracks]%s", (int)(at - p), p,
		 at + strlen("anomalies: [lost, no_trace]"));
	assert_string_equal(load_with("policy.yaml", buf, NULL),
			    "policy.yaml:35:25: 'no_tracks' is not an anomaly (see docs/knowledge-base.md)");
	free(p);
}

static void policy_bad_threshold(void **state)
{
	char path[4096], *p, *at, buf[65536];

	(void)state;
	snprintf(path, sizeof path, "%s/policy.yaml", tu_kb_dir());
	p = tu_read(path, NULL);
	at = strstr(p, "no_update: 48");
	assert_non_null(at);
	snprintf(buf, sizeof buf, "%.*sno_update: -4%s", (int)(at - p), p, at + strlen("no_update: 48"));
	assert_string_equal(load_with("policy.yaml", buf, NULL),
			    "policy.yaml:12:14: 'no_update' must be between 0 and 8760 hours");
	free(p);
}

static void every_error_is_reported(void **state)
{
	size_t n = 0;

	(void)state;
	load_with("carriers.yaml",
		  "carriers:\n"
		  "  - id: Bad-Id\n"
		  "    names: {zh: a, en: b}\n"
		  "    region: cn\n"
		  "  - id: ok\n"
		  "    region: mars\n"
		  "    numbers: ['(']\n",
		  &n);
	/* bad id, missing names, bad region, regex error */
	assert_int_equal(n, 4);
}

static void real_kb_loads_and_refcounts(void **state)
{
	pb_diag dg;
	pb_kb *kb = NULL;

	(void)state;
	pb_diag_init(&dg);
	assert_int_equal(pb_kb_load(tu_kb_dir(), &kb, &dg), PB_OK);
	assert_true(kb->n_intents == 10);
	assert_true(kb->n_rules == 13);
	assert_non_null(pb_kb_carrier(kb, "sf"));
	assert_null(pb_kb_carrier(kb, "nope"));
	assert_int_equal(pb_kb_rule_index(kb, "stuck_parcel"), 0);
	pb_kb_ref(kb);
	pb_kb_unref(kb);
	assert_int_equal(kb->refs, 1);
	pb_kb_unref(kb);
	pb_diag_release(&dg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(base_kb_loads),
		cmocka_unit_test(missing_file),
		cmocka_unit_test(yaml_syntax_error),
		cmocka_unit_test(unknown_key),
		cmocka_unit_test(missing_field),
		cmocka_unit_test(duplicate_id),
		cmocka_unit_test(duplicate_key),
		cmocka_unit_test(bad_reference_suppress),
		cmocka_unit_test(bad_reference_term),
		cmocka_unit_test(regex_does_not_compile),
		cmocka_unit_test(pattern_not_normalised),
		cmocka_unit_test(wrong_type),
		cmocka_unit_test(too_few_examples),
		cmocka_unit_test(extractor_without_group),
		cmocka_unit_test(alias_refused),
		cmocka_unit_test(fold_must_be_single_characters),
		cmocka_unit_test(invalid_utf8_file),
		cmocka_unit_test(template_variable_undefined),
		cmocka_unit_test(template_fails_its_own_lint),
		cmocka_unit_test(template_catch_all_required),
		cmocka_unit_test(policy_unknown_anomaly),
		cmocka_unit_test(policy_bad_threshold),
		cmocka_unit_test(every_error_is_reported),
		cmocka_unit_test(real_kb_loads_and_refcounts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
