/*
 * The pure core of the pipeline, composed: classify the buyer's message,
 * assess the trace against the order and policy, draft the reply. The
 * daemon, `ingest` and `draft` all run a case through this one function;
 * fetching orders and traces, and storing results, happen around it.
 */
#ifndef PARCELBOT_PIPELINE_H
#define PARCELBOT_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "parcelbot/assess.h"
#include "parcelbot/classify.h"
#include "parcelbot/draft.h"
#include "parcelbot/order.h"
#include "parcelbot/trace.h"

struct cJSON;

typedef struct pb_case_input {
	const char *id;        /* the case id (picks template variants) */
	const char *message;   /* the buyer's text; NULL for proactive outreach */
	const pb_order *order; /* may be NULL */
	const pb_trace *trace; /* may be NULL: no parcel, or not looked up */
	int64_t now;
	int contacts;          /* the buyer's earlier contacts on the open case */
	pb_lang lang;          /* for proactive outreach (no message to read) */
	const pb_verdict *verdict; /* may be NULL; when set, message's verdict from
				    * an earlier pb_classify, used as is (the store
				    * classifies first to find the case) */
} pb_case_input;

typedef struct pb_case_result {
	pb_verdict verdict;
	pb_assessment assessment;
	pb_reply reply;
} pb_case_result;

/* Runs one case. On success the caller releases the result with
 * pb_case_result_release. */
pb_err pb_pipeline_run(const struct pb_kb *kb, pb_classifier *c, const pb_case_input *in,
		       pb_case_result *out, pb_errbuf *eb);
void pb_case_result_release(pb_case_result *r);

/* The result as `draft --jsonl` prints it: id, intents, signals, lang,
 * state, anomalies, hours_since_update, severity, action, reply, brief,
 * template, compensation, follow_up_due, checklist, lint, and more. */
struct cJSON *pb_case_result_json(const struct pb_kb *kb, const pb_case_input *in,
				  const pb_case_result *r);

/* Reads a case in the scenario shape: {id, message, now, order, parcel,
 * history: {contacts}}. Strings in *in point into j, order and trace are
 * filled (release them); *has_trace says whether the parcel had events to
 * assess. */
pb_err pb_case_from_json(const struct pb_kb *kb, const struct cJSON *j, pb_case_input *in,
			 pb_order *order, bool *has_order, pb_trace *trace, bool *has_trace,
			 pb_errbuf *eb);

#endif
