/*
 * Fuzz target: the reply check (lint) and the template renderer on
 * arbitrary text, with a trace so every check runs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/assess.h"
#include "parcelbot/lint.h"
#include "parcelbot/template.h"
#include "parcelbot/utf8.h"

static pb_kb *kb;
static pb_trace tr;
static pb_assessment as;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const pb_tvar vars[] = {{"carrier", "中通快递"}, {"follow_up", "明天18:00前"},
				       {"last_location", NULL}};
	pb_lint_ctx ctx;
	pb_lint_result r;
	pb_errbuf eb;
	pb_buf out;
	char *text;

	if (!kb) {
		pb_diag dg;
		pb_when w;
		const char *dir = getenv("PB_FUZZ_KB");
		pb_diag_init(&dg);
		if (pb_kb_load(dir ? dir : "kb", &kb, &dg))
			abort();
		pb_diag_release(&dg);
		pb_trace_init(&tr);
		tr.number = strdup("1");
		pb_time_parse("2026-11-19T10:00:00+08:00", 0, &w);
		pb_trace_add(&tr, w, "杭州转运中心", "已存入丰巢快递柜", "", PB_ST_DELIVERED, PB_EX_NONE);
		pb_assess(kb, &tr, NULL, w.t + 86400, &as);
	}
	memset(&ctx, 0, sizeof ctx);
	ctx.problem = true;
	ctx.trace = &tr;
	ctx.a = &as;
	ctx.now = 1795140000;
	ctx.currency = "CNY";
	ctx.order_amount = 89;
	pb_lint(kb, (const char *)data, size, &ctx, &r, &eb);

	text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	if (pb_utf8_valid(text, strlen(text))) {
		pb_buf_init(&out, 65536);
		pb_template_render(text, vars, 3, &out, NULL);
		pb_buf_release(&out);
	}
	free(text);
	return 0;
}
