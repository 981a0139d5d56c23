/*
 * parcelbot's own JSON API under /api/v1 (documented in docs/api.md): what
 * any console, the built-in one included, integrates with. Every route
 * needs the bearer token, or the built-in console's session cookie (and,
 * for a POST, its CSRF token). Handlers run on the connection's thread and use
 * a store handle from the daemon's pool.
 */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/case.h"
#include "parcelbot/lint.h"
#include "parcelbot/policy.h"
#include "parcelbot/utf8.h"
#include "serve_internal.h"

#define MAX_TEXT (16 * 1024)
#define WAIT_MS 20000

typedef struct call {
	pb_daemon *d;
	pb_store *st;
	pb_gen *g;
	cJSON *body; /* the parsed request body, or NULL */
	char agent[PB_STORE_MAX_NAME + 1];
} call;

/* Authenticates (the bearer token, or a console session cookie whose
 * state-changing requests carry its X-CSRF-Token), parses the body and
 * takes a store handle and the KB. A session's agent is the acting agent.
 * False when an error answer was written. */
static bool begin_call(pb_daemon *d, const pb_srv_req *rq, pb_srv_resp *rs, bool body, call *c)
{
	const cJSON *a;
	const char *h = NULL;
	pb_store_session se;
	bool session = false;
	pb_errbuf eb;

	memset(c, 0, sizeof *c);
	c->d = d;
	if (!pb_srv_bearer_ok(rq, d->cfg->server.api_token)) {
		if (pb_srv_cookie(rq, "pb_session")) {
			if (!(c->st = pb_daemon_store(d, &eb))) {
				pb_srv_error(rs, 503, "unavailable",
					     "the store cannot be opened: try again");
				return false;
			}
			session = pb_console_session(c->st, rq, &se);
		}
		if (!session) {
			if (c->st)
				pb_daemon_store_put(d, c->st);
			pb_srv_add_header(rs, "WWW-Authenticate", "Bearer realm=\"parcelbot\"");
			pb_srv_error(rs, 401, "unauthorized", "a valid bearer token is required");
			return false;
		}
		if (strcmp(rq->method, "GET") && strcmp(rq->method, "HEAD") &&
		    !pb_console_csrf_ok(rq, &se)) {
			pb_store_session_release(&se);
			pb_daemon_store_put(d, c->st);
			pb_srv_error(rs, 403, "forbidden", "X-CSRF-Token is missing or wrong");
			return false;
		}
		snprintf(c->agent, sizeof c->agent, "%s", se.agent);
		pb_store_session_release(&se);
	}
	if (body) {
		if (!rq->body_len) {
			c->body = cJSON_CreateObject();
		} else if (!pb_utf8_valid(rq->body, rq->body_len)) {
			pb_srv_error(rs, 400, "bad_request", "the body is not valid UTF-8");
			goto fail;
		} else if (!(c->body = cJSON_ParseWithLength(rq->body, rq->body_len)) ||
			   !cJSON_IsObject(c->body)) {
			cJSON_Delete(c->body);
			c->body = NULL;
			pb_srv_error(rs, 400, "bad_request", "the body must be a JSON object");
			goto fail;
		}
	}
	if (!session) {
		/* With the bearer token the caller names the agent; a session's
		 * agent is who signed in, whatever the body says. */
		a = c->body ? cJSON_GetObjectItemCaseSensitive(c->body, "agent") : NULL;
		/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): cJSON_IsString(NULL) is false */
		h = cJSON_IsString(a) ? a->valuestring : pb_srv_header(rq, "X-Parcelbot-Agent");
		if (h && (!*h || strlen(h) > PB_STORE_MAX_NAME)) {
			pb_srv_error(rs, 400, "bad_request", "agent must be a name of 1 to %d bytes",
				     PB_STORE_MAX_NAME);
			goto fail;
		}
		snprintf(c->agent, sizeof c->agent, "%s", h ? h : "api");
		if (!(c->st = pb_daemon_store(d, &eb))) {
			cJSON_Delete(c->body);
			pb_srv_error(rs, 503, "unavailable", "the store cannot be opened: try again");
			return false;
		}
	}
	c->g = pb_daemon_gen(d);
	return true;
fail:
	cJSON_Delete(c->body);
	c->body = NULL;
	if (c->st)
		pb_daemon_store_put(d, c->st);
	c->st = NULL;
	return false;
}

static void end_call(call *c)
{
	cJSON_Delete(c->body);
	pb_daemon_store_put(c->d, c->st);
	pb_daemon_gen_put(c->g);
}

static int32_t tz(const call *c)
{
	return c->g->kb->policy->tz_off;
}

/* A store or case error as an HTTP answer. */
static void fail(pb_srv_resp *rs, pb_err err, const pb_errbuf *eb)
{
	switch (err) {
	case PB_ENOTFOUND:
		pb_srv_error(rs, 404, "not_found", "%s", eb->msg);
		break;
	case PB_ESTATE:
	case PB_EEXIST:
		pb_srv_error(rs, 409, "conflict", "%s", eb->msg);
		break;
	case PB_EINVAL:
	case PB_EPARSE:
	case PB_EUTF8:
	case PB_ETOOBIG:
		pb_srv_error(rs, 400, "bad_request", "%s", eb->msg);
		break;
	default:
		pb_srv_error(rs, 500, "internal", "%s", eb->msg);
	}
}

static bool path_id(const pb_srv_req *rq, pb_srv_resp *rs, pb_id *out)
{
	char *end;
	long long v = strtoll(rq->params[0], &end, 10);

	if (*end || v <= 0) {
		pb_srv_error(rs, 404, "not_found", "'%s' is not an id", rq->params[0]);
		return false;
	}
	*out = (pb_id)v;
	return true;
}

/* An optional string field of the body; false (answer written) when it is
 * there and not a string of valid size. */
static bool body_str(call *c, pb_srv_resp *rs, const char *key, size_t max, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->body, key);

	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return true;
	if (cJSON_IsNumber(v) && !strcmp(key, "order_id") && v->valuedouble >= 0 &&
	    v->valuedouble <= 9007199254740992.0 && v->valuedouble == (double)(long long)v->valuedouble) {
		/* An order id sent as a whole number JSON keeps exactly (up to
		 * 2^53; larger ones must be sent as strings). */
		static _Thread_local char num[32];
		snprintf(num, sizeof num, "%lld", (long long)v->valuedouble);
		*out = num;
		return true;
	}
	if (!cJSON_IsString(v) || strlen(v->valuestring) > max) {
		pb_srv_error(rs, 400, "bad_request", "%s must be a string of at most %zu bytes", key,
			     max);
		return false;
	}
	*out = v->valuestring;
	return true;
}

/* ?limit=N: a positive whole number, at most 10000; 500 when absent.
 * False (answer written) when it is something else. */
static bool query_limit(const pb_srv_req *rq, pb_srv_resp *rs, size_t *out)
{
	const char *v = pb_srv_query(rq, "limit");
	char *end;
	unsigned long n;

	*out = 500;
	if (!v)
		return true;
	n = strtoul(v, &end, 10);
	if (!*v || *end || n == 0 || n > 10000 || *v == '-') {
		pb_srv_error(rs, 400, "bad_request", "limit must be a whole number from 1 to 10000");
		return false;
	}
	*out = n;
	return true;
}

static cJSON *draft_json(const pb_store_draft *dr, int32_t off)
{
	cJSON *x = cJSON_CreateObject();
	char tb[40];

	cJSON_AddNumberToObject(x, "id", (double)dr->id);
	cJSON_AddNumberToObject(x, "case", (double)dr->case_id);
	cJSON_AddStringToObject(x, "created_at",
				pb_time_format((pb_when){dr->created_at, off}, tb, sizeof tb));
	pb_case_draft_fields(x, dr, off);
	return x;
}

/* ---- POST /api/v1/messages ---- */

static void result_json(call *c, const char *channel, const char *message_id, cJSON *out)
{
	pb_store_message m;
	pb_store_case cs;
	pb_store_draft dr;
	pb_errbuf eb;

	cJSON_AddStringToObject(out, "channel", channel);
	cJSON_AddStringToObject(out, "message_id", message_id);
	if (pb_store_message_get(c->st, channel, message_id, &m, &eb))
		return;
	if (m.verdict)
		cJSON_AddItemToObject(out, "verdict", cJSON_Parse(m.verdict));
	if (m.case_id && !pb_store_case_get(c->st, m.case_id, &cs, &eb)) {
		cJSON_AddItemToObject(out, "case", pb_case_summary_json(&cs, tz(c)));
		pb_store_case_release(&cs);
		if (!pb_store_draft_latest(c->st, m.case_id, &dr, &eb)) {
			if (dr.message_id == m.id)
				cJSON_AddItemToObject(out, "draft", draft_json(&dr, tz(c)));
			pb_store_draft_release(&dr);
		}
	}
	if (!cJSON_GetObjectItemCaseSensitive(out, "case"))
		cJSON_AddNullToObject(out, "case");
	if (!cJSON_GetObjectItemCaseSensitive(out, "draft"))
		cJSON_AddNullToObject(out, "draft");
	pb_store_message_release(&m);
}

static void h_messages(void *ud, const pb_srv_req *rq, pb_srv_resp *rs)
{
	static atomic_ulong seq;
	pb_daemon *d = ud;
	const char *channel, *conversation, *buyer, *text, *mid, *order_id, *number, *carrier,
		*now;
	const cJSON *order;
	char idbuf[64];
	cJSON *ev = NULL, *out;
	char *payload = NULL;
	pb_store_inbox_row row;
	pb_id inbox_id = 0;
	pb_errbuf eb;
	bool dup = false;
	call c;
	pb_err err;

	if (!begin_call(d, rq, rs, true, &c))
		return;
	if (!body_str(&c, rs, "channel", 64, &channel) ||
	    !body_str(&c, rs, "conversation", PB_STORE_MAX_NAME, &conversation) ||
	    !body_str(&c, rs, "buyer", PB_STORE_MAX_NAME, &buyer) ||
	    !body_str(&c, rs, "text", MAX_TEXT, &text) ||
	    !body_str(&c, rs, "message_id", PB_STORE_MAX_NAME, &mid) ||
	    !body_str(&c, rs, "order_id", 64, &order_id) ||
	    !body_str(&c, rs, "tracking_number", 64, &number) ||
	    !body_str(&c, rs, "carrier", 64, &carrier) || !body_str(&c, rs, "now", 64, &now))
		goto out;
	if (!conversation || !*conversation || !text || !*text) {
		pb_srv_error(rs, 400, "bad_request", "conversation and text are required");
		goto out;
	}
	if (!channel || !*channel)
		channel = "api";
	if (!mid || !*mid) {
		snprintf(idbuf, sizeof idbuf, "api-%lld-%lu", (long long)pb_daemon_now_ms(),
			 (unsigned long)atomic_fetch_add(&seq, 1));
		mid = idbuf;
	}
	ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "kind", "message");
	cJSON_AddStringToObject(ev, "channel", channel);
	cJSON_AddStringToObject(ev, "message_id", mid);
	cJSON_AddStringToObject(ev, "conversation", conversation);
	if (buyer)
		cJSON_AddStringToObject(ev, "buyer", buyer);
	cJSON_AddStringToObject(ev, "message", text);
	if (now)
		cJSON_AddStringToObject(ev, "now", now);
	order = cJSON_GetObjectItemCaseSensitive(c.body, "order");
	if (cJSON_IsObject(order))
		cJSON_AddItemToObject(ev, "order", cJSON_Duplicate(order, true));
	else if (order_id && *order_id)
		cJSON_AddStringToObject(cJSON_AddObjectToObject(ev, "order"), "id", order_id);
	if (number && *number) {
		cJSON *p = cJSON_AddObjectToObject(ev, "parcel");
		cJSON_AddStringToObject(p, "number", number);
		if (carrier && *carrier)
			cJSON_AddStringToObject(p, "carrier", carrier);
	}
	if (!(payload = cJSON_PrintUnformatted(ev))) {
		pb_srv_error(rs, 500, "internal", "out of memory");
		goto out;
	}
	err = pb_store_inbox_put(c.st, channel, mid, payload, pb_daemon_now(), &inbox_id, &eb);
	if (err == PB_EEXIST) {
		dup = true;
		pb_metric_add(d->m_duplicate, 1);
	} else if (err) {
		fail(rs, err, &eb);
		goto out;
	} else {
		pb_metric_add(d->m_received, 1);
		pb_daemon_kick_work(d);
	}
	if (!pb_daemon_wait_processed(d, c.st, inbox_id, WAIT_MS)) {
		out = cJSON_CreateObject();
		cJSON_AddStringToObject(out, "status", "queued");
		cJSON_AddNumberToObject(out, "inbox_id", (double)inbox_id);
		cJSON_AddStringToObject(out, "message_id", mid);
		pb_srv_json(rs, 202, out);
		cJSON_Delete(out);
		goto out;
	}
	if (!pb_store_inbox_get(c.st, inbox_id, &row, &eb)) {
		if (row.error) {
			pb_srv_error(rs, 422, "unprocessable", "%s", row.error);
			pb_store_inbox_row_release(&row);
			goto out;
		}
		pb_store_inbox_row_release(&row);
	}
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "status", dup ? "duplicate" : "processed");
	result_json(&c, channel, mid, out);
	pb_srv_json(rs, dup ? 200 : 201, out);
	cJSON_Delete(out);
out:
	free(payload);
	cJSON_Delete(ev);
	end_call(&c);
}

/* ---- drafts ---- */

static void h_drafts(void *ud, const pb_srv_req *rq, pb_srv_resp *rs)
{
	const char *state = pb_srv_query(rq, "state");
	static const char *const states[] = {"pending",  "approved",   "rejected",
					     "escalated", "superseded", NULL};
	pb_store_drafts l;
	pb_errbuf eb;
	size_t i, limit;
	cJSON *out, *arr;
	call c;
	pb_err err;

	if (!begin_call(ud, rq, rs, false, &c))
		return;
	if (!query_limit(rq, rs, &limit))
		goto out;
	if (!state)
		state = "pending";
	for (i = 0; states[i] && strcmp(states[i], state); i++)
		;
	if (!states[i] && strcmp(state, "all")) {
		pb_srv_error(rs, 400, "bad_request",
			     "state must be pending, approved, rejected, escalated, superseded or all");
		goto out;
	}
	if ((err = pb_store_draft_list(c.st, 0, strcmp(state, "all") ? state : NULL, &l, &eb))) {
		fail(rs, err, &eb);
		goto out;
	}
	out = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(out, "drafts");
	for (i = 0; i < l.n && i < limit; i++) {
		cJSON *x = draft_json(&l.v[i], tz(&c));
		pb_store_case cs;
		pb_store_reminders rm;
		if (!pb_store_case_get(c.st, l.v[i].case_id, &cs, &eb)) {
			cJSON_AddItemToObject(x, "case_summary", pb_case_summary_json(&cs, tz(&c)));
			pb_store_case_release(&cs);
		}
		/* The case's nearest open deadline, for a queue's countdown. */
		if (!pb_store_reminder_list(c.st, l.v[i].case_id, &rm, &eb)) {
			int64_t due = 0;
			size_t k;
			char tb[40];
			for (k = 0; k < rm.n; k++)
				if (!rm.v[k].done_at && (!due || rm.v[k].due < due))
					due = rm.v[k].due;
			if (due)
				cJSON_AddStringToObject(x, "reply_due",
							pb_time_format((pb_when){due, tz(&c)}, tb,
								       sizeof tb));
			else
				cJSON_AddNullToObject(x, "reply_due");
			pb_store_reminders_release(&rm);
		}
		cJSON_AddItemToArray(arr, x);
	}
	cJSON_AddNumberToObject(out, "total", (double)l.n);
	pb_store_drafts_release(&l);
	pb_srv_json(rs, 200, out);
	cJSON_Delete(out);
out:
	end_call(&c);
}

static void h_draft(void *ud, const pb_srv_req *rq, pb_srv_resp *rs)
{
	pb_store_draft dr;
	pb_errbuf eb;
	pb_id id;
	cJSON *x;
	call c;
	pb_err err;

	if (!begin_call(ud, rq, rs, false, &c))
		return;
	if (!path_id(rq, rs, &id)) {
		end_call(&c);
		return;
	}
	if ((err = pb_store_draft_get(c.st, id, &dr, &eb))) {
		fail(rs, err, &eb);
	} else {
		x = draft_json(&dr, tz(&c));
		pb_srv_json(rs, 200, x);
		cJSON_Delete(x);
		pb_store_draft_release(&dr);
	}
	end_call(&c);
}

/* The draft named in the path, which must be its case's latest: a
 * decision on an older version would act on a reply nobody is looking at. */
static bool latest_draft(call *c, const pb_srv_req *rq, pb_srv_resp *rs, pb_store_draft *dr)
{
	pb_store_draft last;
	pb_errbuf eb;
	pb_id id;
	pb_err err;

	if (!path_id(rq, rs, &id))
		return false;
	if ((err = pb_store_draft_get(c->st, id, dr, &eb))) {
		fail(rs, err, &eb);
		return false;
	}
	if (!pb_store_draft_latest(c->st, dr->case_id, &last, &eb)) {
		bool ok = last.id == dr->id;
		pb_store_draft_release(&last);
		if (!ok) {
			pb_srv_error(rs, 409, "conflict",
				     "draft %lld is not case %lld's latest: a newer version is waiting",
				     (long long)dr->id, (long long)dr->case_id);
			pb_store_draft_release(dr);
			return false;
		}
	}
	return true;
}

static void answer_case(call *c, pb_srv_resp *rs, pb_id case_id, cJSON *out)
{
	pb_store_case cs;
	pb_errbuf eb;

	if (!pb_store_case_get(c->st, case_id, &cs, &eb)) {
		cJSON_AddItemToObject(out, "case", pb_case_summary_json(&cs, tz(c)));
		pb_store_case_release(&cs);
	}
	pb_srv_json(rs, 200, out);
	cJSON_Delete(out);
	pb_daemon_kick_send(c->d);
}

static void h_approve(void *ud, const pb_srv_req *rq, pb_srv_resp *rs)
{
	pb_store_draft dr;
	pb_case_approval ap;
	const char *text;
	pb_errbuf eb;
	cJSON *out;
	call c;
	pb_err err;

	if (!begin_call(ud, rq, rs, true, &c))
		return;
	if (!body_str(&c, rs, "text", MAX_TEXT, &text) || !latest_draft(&c, rq, rs, &dr))
		goto out;
	if (text && !*text)
		text = NULL;
	err = pb_case_approve(c.st, c.g->kb, dr.case_id, dr.id, text, c.agent, pb_daemon_now(), &ap,
			      &eb);
	if (err) {
		fail(rs, err, &eb);
	} else {
		out = cJSON_CreateObject();
		cJSON_AddNumberToObject(out, "draft", (double)dr.id);
		cJSON_AddNumberToObject(out, "decision", (double)ap.decision_id);
		cJSON_AddNumberToObject(out, "outbox", (double)ap.outbox_id);
		cJSON_AddBoolToObject(out, "edited", ap.edited);
		cJSON_AddStringToObject(out, "text", text ? text : dr.text);
		cJSON_AddItemToObject(out, "lint", pb_lint_json(&ap.lint, text ? text : dr.text));
		cJSON_AddNumberToObject(out, "reminders", (double)ap.reminders);
		answer_case(&c, rs, dr.case_id, out);
	}
	pb_store_draft_release(&dr);
out:
	end_call(&c);
}

/* Reject (a reason is required: the buyer still needs an answer, and the
 * next draft should not repeat the mistake) or escalate (reason optional). */
static void decide(void *ud, const pb_srv_req *rq, pb_srv_resp *rs, bool reject)
{
	pb_store_draft dr;
	const char *reason;
	pb_errbuf eb;
	cJSON *out;
	call c;
	pb_err err;

	if (!begin_call(ud, rq, rs, true, &c))
		return;
	if (!body_str(&c, rs, "reason", 2000, &reason))
		goto out;
	if (reject && (!reason || !*reason)) {
		pb_srv_error(rs, 400, "bad_request", "reason is required: say what is wrong with it");
		goto out;
	}
	if (!latest_draft(&c, rq, rs, &dr))
		goto out;
	if (reject)
		err = pb_case_reject(c.st, dr.case_id, reason, c.agent, pb_daemon_now(), &eb);
	else
		err = pb_case_escalate(c.st, dr.case_id, reason && *reason ? reason : NULL, c.agent,
				       pb_daemon_now(), &eb);
	if (err) {
		fail(rs, err, &eb);
	} else {
		out = cJSON_CreateObject();
		cJSON_AddNumberToObject(out, "draft", (double)dr.id);
		if (reject)
			cJSON_AddStringToObject(out, "state", "rejected");
		answer_case(&c, rs, dr.case_id, out);
	}
	pb_store_draft_release(&dr);
out:
	end_call(&c);
}

static void h_reject(void *ud, const pb_srv_req *rq, pb_srv_resp *rs)
{
	decide(ud, rq, rs, true);
}

static void h_escalate(void *ud, const pb_srv_req *rq, pb_srv_resp *rs)
{
	decide(ud, rq, rs, false);
}

/* ---- cases ---- */

static void h_cases(void *ud, const pb_srv_req *rq, pb_srv_resp *rs)
{
	const char *state = pb_srv_query(rq, "state"), *sev = pb_srv_query(rq, "min_severity");
	pb_store_case_filter f = {NULL, 0, 0};
	pb_store_cases l;
	pb_errbuf eb;
	cJSON *out, *arr;
	size_t i;
	call c;
	pb_err err;

	if (!begin_call(ud, rq, rs, false, &c))
		return;
	f.state = state && strcmp(state, "all") ? state : state ? NULL : "open";
	if (f.state && strcmp(f.state, "open") && pb_case_state_from_name(f.state) < 0) {
		pb_srv_error(rs, 400, "bad_request", "unknown state '%s'", f.state);
		goto out;
	}
	if (sev && (strlen(sev) != 1 || sev[0] < '0' || sev[0] > '3')) {
		pb_srv_error(rs, 400, "bad_request", "min_severity must be 0, 1, 2 or 3");
		goto out;
	}
	f.min_severity = sev ? sev[0] - '0' : 0;
	if (!query_limit(rq, rs, &f.limit))
		goto out;
	if ((err = pb_store_case_list(c.st, &f, &l, &eb))) {
		fail(rs, err, &eb);
		goto out;
	}
	out = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(out, "cases");
	for (i = 0; i < l.n; i++)
		cJSON_AddItemToArray(arr, pb_case_summary_json(&l.v[i], tz(&c)));
	pb_store_cases_release(&l);
	pb_srv_json(rs, 200, out);
	cJSON_Delete(out);
out:
	end_call(&c);
}

static void h_case(void *ud, const pb_srv_req *rq, pb_srv_resp *rs)
{
	pb_errbuf eb;
	cJSON *out = NULL;
	pb_id id;
	call c;
	pb_err err;

	if (!begin_call(ud, rq, rs, false, &c))
		return;
	if (!path_id(rq, rs, &id)) {
		end_call(&c);
		return;
	}
	if ((err = pb_case_json(c.st, c.g->kb, id, &out, &eb))) {
		fail(rs, err, &eb);
	} else {
		pb_srv_json(rs, 200, out);
		cJSON_Delete(out);
	}
	end_call(&c);
}

static void h_note(void *ud, const pb_srv_req *rq, pb_srv_resp *rs)
{
	const char *text;
	pb_errbuf eb;
	pb_id id, note = 0;
	cJSON *out;
	call c;
	pb_err err;

	if (!begin_call(ud, rq, rs, true, &c))
		return;
	if (!path_id(rq, rs, &id)) {
		end_call(&c);
		return;
	}
	if (!body_str(&c, rs, "text", MAX_TEXT, &text))
		goto out;
	if (!text || !*text) {
		pb_srv_error(rs, 400, "bad_request", "text is required");
		goto out;
	}
	if ((err = pb_case_note(c.st, id, text, c.agent, pb_daemon_now(), &note, &eb))) {
		fail(rs, err, &eb);
		goto out;
	}
	out = cJSON_CreateObject();
	cJSON_AddNumberToObject(out, "note", (double)note);
	cJSON_AddNumberToObject(out, "case", (double)id);
	pb_srv_json(rs, 201, out);
	cJSON_Delete(out);
out:
	end_call(&c);
}

static void h_resolve(void *ud, const pb_srv_req *rq, pb_srv_resp *rs)
{
	const char *outcome;
	pb_errbuf eb;
	pb_id id;
	call c;
	pb_err err;

	if (!begin_call(ud, rq, rs, true, &c))
		return;
	if (!path_id(rq, rs, &id)) {
		end_call(&c);
		return;
	}
	if (!body_str(&c, rs, "outcome", 64, &outcome))
		goto out;
	if (!outcome || !pb_case_outcome_valid(outcome)) {
		pb_srv_error(rs, 400, "bad_request", "outcome must be one of %s", pb_case_outcomes());
		goto out;
	}
	if ((err = pb_case_resolve(c.st, c.g->kb, id, outcome, c.agent, pb_daemon_now(), &eb)))
		fail(rs, err, &eb);
	else
		answer_case(&c, rs, id, cJSON_CreateObject());
out:
	end_call(&c);
}

/* POST /api/v1/lint {text, case?}: the reply check an edit gets, for an
 * editor that underlines findings as the agent types. */
static void h_lint(void *ud, const pb_srv_req *rq, pb_srv_resp *rs)
{
	const char *text;
	pb_lint_result r;
	pb_lint_ctx ctx;
	pb_errbuf eb;
	cJSON *out;
	call c;
	pb_err err;

	if (!begin_call(ud, rq, rs, true, &c))
		return;
	if (!body_str(&c, rs, "text", MAX_TEXT, &text))
		goto out;
	if (!text) {
		pb_srv_error(rs, 400, "bad_request", "text is required");
		goto out;
	}
	memset(&ctx, 0, sizeof ctx);
	ctx.now = pb_daemon_now();
	/* With a case, the checks that depend on it being a problem (an
	 * apology first, a time given) run as they would on its draft. */
	{
		const cJSON *cid = cJSON_GetObjectItemCaseSensitive(c.body, "case");
		pb_store_case cs;
		if (cid && !cJSON_IsNull(cid)) {
			if (!cJSON_IsNumber(cid) || cid->valuedouble < 1) {
				pb_srv_error(rs, 400, "bad_request", "case must be a case id");
				goto out;
			}
			if ((err = pb_store_case_get(c.st, (pb_id)cid->valuedouble, &cs, &eb))) {
				fail(rs, err, &eb);
				goto out;
			}
			ctx.problem = cs.problem;
			pb_store_case_release(&cs);
		}
	}
	if ((err = pb_lint(c.g->kb, text, strlen(text), &ctx, &r, &eb))) {
		fail(rs, err, &eb);
		goto out;
	}
	out = cJSON_CreateObject();
	cJSON_AddItemToObject(out, "lint", pb_lint_json(&r, text));
	pb_srv_json(rs, 200, out);
	cJSON_Delete(out);
out:
	end_call(&c);
}

pb_err pb_api_routes(pb_daemon *d, pb_errbuf *eb)
{
	static const struct {
		const char *method, *pattern;
		pb_srv_handler fn;
	} routes[] = {
		{"POST", "/api/v1/messages", h_messages},
		{"GET", "/api/v1/drafts", h_drafts},
		{"GET", "/api/v1/drafts/{id}", h_draft},
		{"POST", "/api/v1/drafts/{id}/approve", h_approve},
		{"POST", "/api/v1/drafts/{id}/reject", h_reject},
		{"POST", "/api/v1/drafts/{id}/escalate", h_escalate},
		{"GET", "/api/v1/cases", h_cases},
		{"GET", "/api/v1/cases/{id}", h_case},
		{"POST", "/api/v1/cases/{id}/notes", h_note},
		{"POST", "/api/v1/cases/{id}/resolve", h_resolve},
		{"POST", "/api/v1/lint", h_lint},
	};
	size_t i;
	pb_err err;

	for (i = 0; i < sizeof routes / sizeof routes[0]; i++)
		if ((err = pb_server_route(d->srv, routes[i].method, routes[i].pattern, routes[i].fn,
					   d)))
			return pb_errf(eb, err, "cannot add route %s", routes[i].pattern);
	return PB_OK;
}
