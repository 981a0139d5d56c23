/*
 * The composed pure core (see pipeline.h), and the scenario JSON shape that
 * the CLI and the evaluation use for a case.
 */
#include "parcelbot/pipeline.h"

#include <cJSON.h>
#include <stdio.h>
#include <string.h>

#include "parcelbot/kb.h"
#include "parcelbot/policy.h"
#include "parcelbot/utf8.h"

pb_err pb_pipeline_run(const pb_kb *kb, pb_classifier *c, const pb_case_input *in,
		       pb_case_result *out, pb_errbuf *eb)
{
	pb_case_ctx ctx;
	pb_err err;

	memset(out, 0, sizeof *out);
	if (in->message && in->verdict) {
		out->verdict = *in->verdict;
	} else if (in->message) {
		err = pb_classify(c, in->message, strlen(in->message), &out->verdict, eb);
		if (err)
			return err;
	} else {
		out->verdict.lang = in->lang;
		out->verdict.ent.ordered = out->verdict.ent.received = -1;
	}
	err = pb_assess(kb, in->trace, in->order, in->now, &out->assessment);
	if (err)
		return pb_errf(eb, err, "cannot assess this case");
	ctx.case_id = in->id ? in->id : "";
	ctx.contacts = in->contacts;
	ctx.now = in->now;
	ctx.proactive = !in->message;
	return pb_draft(kb, in->message, &out->verdict, in->order, in->trace, &out->assessment, &ctx,
			&out->reply, eb);
}

void pb_case_result_release(pb_case_result *r)
{
	pb_reply_release(&r->reply);
}

cJSON *pb_case_result_json(const pb_kb *kb, const pb_case_input *in, const pb_case_result *r)
{
	const pb_assessment *a = &r->assessment;
	cJSON *o, *v, *x, *it;
	char tb[40];
	size_t i;

	o = pb_reply_json(kb, &r->reply);
	if (!o)
		return NULL;
	/* The verdict's fields go first in reading order; cJSON keeps
	 * insertion order, so build them and move the reply's after. */
	v = in->message ? pb_verdict_json(kb, &r->verdict, in->message, strlen(in->message)) : NULL;
	x = cJSON_CreateObject();
	if (!x) {
		cJSON_Delete(o);
		cJSON_Delete(v);
		return NULL;
	}
	cJSON_AddStringToObject(x, "id", in->id ? in->id : "");
	if (v) {
		cJSON_AddItemToObject(x, "intents", cJSON_DetachItemFromObject(v, "intents"));
		cJSON_AddItemToObject(x, "signals", cJSON_DetachItemFromObject(v, "signals"));
	} else {
		cJSON_AddArrayToObject(x, "intents");
		cJSON_AddArrayToObject(x, "signals");
	}
	cJSON_AddStringToObject(x, "lang", r->verdict.lang == PB_LANG_ZH ? "zh" : "en");
	cJSON_AddStringToObject(x, "state", a->has_parcel ? pb_pstate_name(a->state) : "no_parcel");
	it = cJSON_AddArrayToObject(x, "anomalies");
	for (i = 0; it && i < PB_AN_COUNT_; i++)
		if ((a->anomalies >> i) & 1)
			cJSON_AddItemToArray(it, cJSON_CreateString(pb_anomaly_name((pb_anomaly)i)));
	if (a->hours_since_update >= 0)
		cJSON_AddNumberToObject(x, "hours_since_update", (double)(long)(a->hours_since_update * 10) / 10);
	else
		cJSON_AddNullToObject(x, "hours_since_update");
	while (o->child) {
		cJSON *c = o->child;
		cJSON_DetachItemViaPointer(o, c);
		cJSON_AddItemToObject(x, c->string, c);
	}
	cJSON_Delete(o);
	if (v) {
		cJSON_AddItemToObject(x, "entities", cJSON_DetachItemFromObject(v, "entities"));
		cJSON_AddItemToObject(x, "matches", cJSON_DetachItemFromObject(v, "matches"));
		cJSON_Delete(v);
	}
	cJSON_AddItemToObject(x, "assessment", pb_assessment_json(a, in->trace));
	cJSON_AddStringToObject(x, "now",
				pb_time_format((pb_when){in->now, kb->policy->tz_off}, tb, sizeof tb));
	return x;
}

pb_err pb_case_from_json(const pb_kb *kb, const cJSON *j, pb_case_input *in, pb_order *order,
			 bool *has_order, pb_trace *trace, bool *has_trace, pb_errbuf *eb)
{
	const cJSON *v, *h;
	pb_when now;
	pb_err err;
	int32_t off = kb->policy ? kb->policy->tz_off : 0;

	memset(in, 0, sizeof *in);
	*has_order = *has_trace = false;
	if (!cJSON_IsObject(j))
		return pb_errf(eb, PB_EINVAL, "a case must be a JSON object");
	v = cJSON_GetObjectItemCaseSensitive(j, "id");
	if (cJSON_IsString(v))
		in->id = v->valuestring;
	else if (v && !cJSON_IsNull(v))
		return pb_errf(eb, PB_EINVAL, "id must be a string");
	v = cJSON_GetObjectItemCaseSensitive(j, "message");
	if (cJSON_IsString(v)) {
		in->message = v->valuestring;
		if (!pb_utf8_valid(in->message, strlen(in->message)))
			return pb_errf(eb, PB_EUTF8, "message is not valid UTF-8");
	} else if (cJSON_IsNull(v)) {
		/* Outreach before the buyer wrote: the language is given. */
		const cJSON *l = cJSON_GetObjectItemCaseSensitive(j, "lang");
		in->lang = cJSON_IsString(l) && !strcmp(l->valuestring, "en") ? PB_LANG_EN : PB_LANG_ZH;
	} else {
		return pb_errf(eb, PB_EINVAL, "message must be a string (or null for outreach)");
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "now");
	if (!v || cJSON_IsNull(v))
		return pb_errf(eb, PB_EINVAL, "now is required (an ISO 8601 date-time)");
	if (!cJSON_IsString(v) || pb_time_parse(v->valuestring, off, &now))
		return pb_errf(eb, PB_EPARSE, "now must be an ISO 8601 date-time");
	in->now = now.t;
	h = cJSON_GetObjectItemCaseSensitive(j, "history");
	v = h ? cJSON_GetObjectItemCaseSensitive(h, "contacts") : NULL;
	if (v && (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 10000))
		return pb_errf(eb, PB_EINVAL, "history.contacts must be a count");
	in->contacts = v ? (int)v->valuedouble : 0;
	v = cJSON_GetObjectItemCaseSensitive(j, "order");
	if (v && !cJSON_IsNull(v)) {
		if ((err = pb_order_from_json(v, off, order, eb)))
			return err;
		*has_order = true;
		in->order = order;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "parcel");
	if (v && !cJSON_IsNull(v)) {
		/* A parcel without "events" has not been looked up: there is
		 * nothing to assess yet, which is not the same as "no trace". */
		if (!cJSON_GetObjectItemCaseSensitive(v, "events"))
			return PB_OK;
		if ((err = pb_trace_from_json(v, off, trace, eb))) {
			if (*has_order)
				pb_order_release(order);
			*has_order = false;
			return err;
		}
		*has_trace = true;
		in->trace = trace;
	}
	return PB_OK;
}
