/*
 * The 17TRACK adapter (API v2.2). A number must be registered before
 * 17TRACK tracks it, so a lookup is two rounds: register (numbers already
 * registered come back rejected with -18019901, which is fine), then
 * gettrackinfo. Each round sends JSON arrays of at most 40 numbers, all of a
 * round's batches at once. A number the cache has seen before is known to be
 * registered and skips the first round.
 *
 * Event times come as time_iso (local time with its offset) and time_utc;
 * we keep the instant and the carrier's own offset. Postal parcels handed
 * from one carrier to another list the shared events under both providers,
 * so events are merged and duplicates (same instant, same text) dropped.
 */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "track_internal.h"

typedef struct t17_status {
	const char *name;
	pb_pstate st;
	pb_exkind ex;
} t17_status;

/* Main statuses and their sub-statuses (see docs/providers.md). */
static const t17_status statuses[] = {
	{"NotFound", PB_ST_PENDING, PB_EX_NONE},
	{"NotFound_Other", PB_ST_PENDING, PB_EX_NONE},
	{"NotFound_InvalidCode", PB_ST_PENDING, PB_EX_NONE},
	{"InfoReceived", PB_ST_INFO_RECEIVED, PB_EX_NONE},
	{"InTransit", PB_ST_IN_TRANSIT, PB_EX_NONE},
	{"InTransit_PickedUp", PB_ST_IN_TRANSIT, PB_EX_NONE},
	{"InTransit_Other", PB_ST_IN_TRANSIT, PB_EX_NONE},
	{"InTransit_Departure", PB_ST_IN_TRANSIT, PB_EX_NONE},
	{"InTransit_Arrival", PB_ST_IN_TRANSIT, PB_EX_NONE},
	{"InTransit_CustomsProcessing", PB_ST_IN_TRANSIT, PB_EX_NONE},
	{"InTransit_CustomsReleased", PB_ST_IN_TRANSIT, PB_EX_NONE},
	{"InTransit_CustomsRequiringInformation", PB_ST_EXCEPTION, PB_EX_CUSTOMS},
	{"Expired", PB_ST_EXPIRED, PB_EX_NONE},
	{"Expired_Other", PB_ST_EXPIRED, PB_EX_NONE},
	{"AvailableForPickup", PB_ST_AVAILABLE_FOR_PICKUP, PB_EX_NONE},
	{"AvailableForPickup_Other", PB_ST_AVAILABLE_FOR_PICKUP, PB_EX_NONE},
	{"OutForDelivery", PB_ST_OUT_FOR_DELIVERY, PB_EX_NONE},
	{"OutForDelivery_Other", PB_ST_OUT_FOR_DELIVERY, PB_EX_NONE},
	{"DeliveryFailure", PB_ST_ATTEMPT_FAIL, PB_EX_NONE},
	{"DeliveryFailure_Other", PB_ST_ATTEMPT_FAIL, PB_EX_NONE},
	{"DeliveryFailure_NoBody", PB_ST_ATTEMPT_FAIL, PB_EX_NONE},
	{"DeliveryFailure_Security", PB_ST_EXCEPTION, PB_EX_CUSTOMS},
	{"DeliveryFailure_Rejected", PB_ST_EXCEPTION, PB_EX_REFUSED},
	{"DeliveryFailure_InvalidAddress", PB_ST_EXCEPTION, PB_EX_ADDRESS},
	{"Delivered", PB_ST_DELIVERED, PB_EX_NONE},
	{"Delivered_Other", PB_ST_DELIVERED, PB_EX_NONE},
	{"Exception", PB_ST_EXCEPTION, PB_EX_OTHER},
	{"Exception_Other", PB_ST_EXCEPTION, PB_EX_OTHER},
	{"Exception_Returning", PB_ST_EXCEPTION, PB_EX_RETURNING},
	{"Exception_Returned", PB_ST_EXCEPTION, PB_EX_RETURNED},
	{"Exception_NoBody", PB_ST_EXCEPTION, PB_EX_ADDRESS},
	{"Exception_Security", PB_ST_EXCEPTION, PB_EX_CUSTOMS},
	{"Exception_Damage", PB_ST_EXCEPTION, PB_EX_DAMAGED},
	{"Exception_Rejected", PB_ST_EXCEPTION, PB_EX_REFUSED},
	{"Exception_Delayed", PB_ST_EXCEPTION, PB_EX_DELAYED},
	{"Exception_Lost", PB_ST_EXCEPTION, PB_EX_LOST},
	{"Exception_Destroyed", PB_ST_EXCEPTION, PB_EX_LOST},
	{"Exception_Cancel", PB_ST_EXCEPTION, PB_EX_OTHER},
};

bool pb_t17_map(const char *status, pb_pstate *st, pb_exkind *ex)
{
	char main_status[48];
	const char *us;
	size_t i;

	*st = PB_ST_UNKNOWN;
	*ex = PB_EX_NONE;
	if (!status || !*status)
		return false;
	for (i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
		if (!strcmp(statuses[i].name, status))
			goto found;
	/* A sub-status added after this table falls back to its main status. */
	us = strchr(status, '_');
	if (!us || (size_t)(us - status) >= sizeof main_status)
		return false;
	memcpy(main_status, status, (size_t)(us - status));
	main_status[us - status] = '\0';
	for (i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
		if (!strcmp(statuses[i].name, main_status))
			goto found;
	return false;
found:
	*st = statuses[i].st;
	*ex = statuses[i].ex;
	return true;
}

typedef struct t17_err {
	long code;
	pb_err err;
	const char *what;
} t17_err;

static const t17_err errors[] = {
	{-18010001, PB_EAUTH, "this server's IP address is not on the key's whitelist"},
	{-18010002, PB_EAUTH, "the API key (17token) is invalid"},
	{-18010003, PB_EUPSTREAM, "17TRACK had an internal error"},
	{-18010004, PB_EAUTH, "the 17TRACK account is disabled"},
	{-18010005, PB_EAUTH, "unauthorised access"},
	{-18010010, PB_EINVAL, "a required field is missing"},
	{-18010011, PB_EINVAL, "a field's value is invalid"},
	{-18010012, PB_EINVAL, "the number's format is invalid"},
	{-18010013, PB_EINVAL, "the submitted data is invalid"},
	{-18010014, PB_EINVAL, "more than 40 numbers in one request"},
	{-18010015, PB_EINVAL, "a field's value is invalid"},
	{-18010016, PB_EINVAL, "a last-mile carrier can be set only for postal services"},
	{-18010018, PB_EINVAL, "this carrier needs the destination country and postal code"},
	{-18010019, PB_EINVAL, "this carrier needs the destination postal code"},
	{-18010020, PB_EINVAL, "this carrier needs a phone number"},
	{-18010022, PB_EINVAL, "this carrier needs the shipping date"},
	{-18019901, PB_OK, "the number is already registered"},
	{-18019902, PB_EUPSTREAM, "the number is not registered"},
	{-18019903, PB_EINVAL, "17TRACK cannot detect the carrier; give the carrier's 17track key "
			       "in carriers.yaml"},
	{-18019907, PB_ELIMIT, "the daily tracking limit is reached"},
	{-18019908, PB_ELIMIT, "the 17TRACK quota is used up"},
	{-18019909, PB_ENOTFOUND, "no tracking information yet"},
	{-18019910, PB_EINVAL, "the carrier key is wrong for this number"},
	{-18019911, PB_EUPSTREAM, "this carrier's numbers cannot be registered at the moment"},
};

static const t17_err *find_error(long code)
{
	size_t i;

	for (i = 0; i < sizeof errors / sizeof errors[0]; i++)
		if (errors[i].code == code)
			return &errors[i];
	return NULL;
}

pb_err pb_t17_error(long code)
{
	const t17_err *e = find_error(code);

	return e ? e->err : PB_EUPSTREAM;
}

static const char *error_what(long code)
{
	const t17_err *e = find_error(code);

	return e ? e->what : "17TRACK refused it";
}

pb_err pb_t17_body(pb_track_job *const *jobs, size_t n, pb_buf *out)
{
	cJSON *arr = cJSON_CreateArray(), *o;
	char *s = NULL;
	pb_err err = PB_ENOMEM;
	size_t i;

	for (i = 0; arr && i < n; i++) {
		o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			goto out;
		}
		if (!cJSON_AddStringToObject(o, "number", jobs[i]->number))
			goto out;
		if (jobs[i]->t17_carrier > 0 &&
		    !cJSON_AddNumberToObject(o, "carrier", (double)jobs[i]->t17_carrier))
			goto out;
	}
	s = arr ? cJSON_PrintUnformatted(arr) : NULL;
	if (!s)
		goto out;
	pb_buf_reset(out);
	err = pb_buf_puts(out, s);
out:
	free(s);
	cJSON_Delete(arr);
	return err;
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) && *v->valuestring ? v->valuestring : NULL;
}

/* Whether a date-time string says its offset ("Z", "+08:00", "-0500"). */
static bool has_offset(const char *s)
{
	const char *t = strpbrk(s, "Tt ");

	return t && strpbrk(t, "Zz+-");
}

static pb_err event_time(const cJSON *ev, pb_when *out)
{
	const char *iso = jstr(ev, "time_iso"), *utc = jstr(ev, "time_utc");
	pb_when wi, wu;
	bool have_i = iso && !pb_time_parse(iso, 0, &wi);
	bool have_u = utc && !pb_time_parse(utc, 0, &wu);
	int64_t off;

	if (have_i && has_offset(iso)) {
		*out = wi;
		return PB_OK;
	}
	if (have_u) {
		*out = wu;
		/* A local time without offset next to the UTC one tells the
		 * offset, if it is a sensible one. */
		if (have_i) {
			off = wi.t - wu.t;
			if (off >= -18 * 3600 && off <= 18 * 3600 && off % 900 == 0)
				out->off = (int32_t)off;
		}
		return PB_OK;
	}
	if (have_i) {
		*out = wi;
		return PB_OK;
	}
	return PB_EPARSE;
}

static char *event_location(const cJSON *ev)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(ev, "address");
	const char *loc = jstr(ev, "location"), *parts[3];
	char buf[PB_TRACK_MAX_LOC];
	size_t i, o = 0;

	if (loc)
		return pb_track_clean(loc, PB_TRACK_MAX_LOC);
	parts[0] = jstr(a, "city");
	parts[1] = jstr(a, "state");
	parts[2] = jstr(a, "country");
	buf[0] = '\0';
	for (i = 0; i < 3; i++) {
		if (!parts[i])
			continue;
		o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s", o ? ", " : "", parts[i]);
		if (o >= sizeof buf)
			break;
	}
	return pb_track_clean(buf, PB_TRACK_MAX_LOC);
}

static bool is_dup(const pb_trace *t, pb_when w, const char *desc)
{
	size_t i;

	for (i = 0; i < t->n_events; i++)
		if (t->events[i].time.t == w.t && !strcmp(t->events[i].description, desc))
			return true;
	return false;
}

pb_err pb_t17_trace(const cJSON *item, pb_trace *trace, pb_errbuf *eb)
{
	const cJSON *ti = cJSON_GetObjectItemCaseSensitive(item, "track_info"), *ls, *provs, *p, *evs,
		    *ev;
	const char *status, *sub, *code;
	char *desc = NULL, *loc = NULL;
	pb_err err = PB_OK;
	pb_pstate st;
	pb_exkind ex;
	pb_when w;
	size_t k = 0;

	trace->found = false;
	if (!ti || cJSON_IsNull(ti))
		return PB_OK;
	if (!cJSON_IsObject(ti))
		return pb_errf(eb, PB_EPARSE, "17TRACK's track_info is not an object");
	ls = cJSON_GetObjectItemCaseSensitive(ti, "latest_status");
	status = jstr(ls, "status");
	sub = jstr(ls, "sub_status");
	provs = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(ti, "tracking"), "providers");
	if (provs && !cJSON_IsArray(provs) && !cJSON_IsNull(provs))
		return pb_errf(eb, PB_EPARSE, "17TRACK's tracking.providers is not a list");
	cJSON_ArrayForEach(p, provs)
	{
		evs = cJSON_GetObjectItemCaseSensitive(p, "events");
		if (evs && !cJSON_IsArray(evs) && !cJSON_IsNull(evs)) {
			err = pb_errf(eb, PB_EPARSE, "17TRACK's provider events are not a list");
			goto out;
		}
		cJSON_ArrayForEach(ev, evs)
		{
			if (k++ >= PB_TRACK_MAX_EVENTS)
				break;
			if (!cJSON_IsObject(ev)) {
				err = pb_errf(eb, PB_EPARSE, "17TRACK sent an event that is not an object");
				goto out;
			}
			if (event_time(ev, &w)) {
				err = pb_errf(eb, PB_EPARSE,
					      "17TRACK sent an event without a readable time_iso or "
					      "time_utc");
				goto out;
			}
			desc = pb_track_clean(jstr(ev, "description"), PB_TRACK_MAX_DESC);
			loc = event_location(ev);
			if (!desc || !loc) {
				err = PB_ENOMEM;
				goto out;
			}
			if (!is_dup(trace, w, desc)) {
				code = jstr(ev, "sub_status");
				pb_t17_map(code, &st, &ex);
				err = pb_trace_add(trace, w, loc, desc, code ? code : "", st, ex);
				if (err)
					goto out;
			}
			free(desc);
			free(loc);
			desc = loc = NULL;
		}
	}
	pb_trace_sort(trace);
	/* An event without its own sub-status gets the parcel's, if it is the
	 * newest; older ones stay unknown rather than guessed. */
	code = sub ? sub : status;
	if (trace->n_events && !*trace->events[0].code && code && pb_t17_map(code, &st, &ex)) {
		char *c = strdup(code);
		if (!c) {
			err = PB_ENOMEM;
			goto out;
		}
		free(trace->events[0].code);
		trace->events[0].code = c;
		trace->events[0].state = st;
		trace->events[0].exception = ex;
	}
	trace->found = trace->n_events > 0 || (status && strcmp(status, "NotFound"));
out:
	free(desc);
	free(loc);
	return err;
}

static void clean_msg(const char *m, const char *const *secrets, char *out, size_t n)
{
	char *c = pb_track_clean(m ? m : "", 120);

	snprintf(out, n, "%s", c ? c : "");
	free(c);
	pb_http_redact(out, n, secrets);
}

/* A JSON number as an error code; def when it is not a number or is too
 * large to be one (a cast would be undefined). */
static long code_of(const cJSON *v, long def)
{
	/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): cJSON_IsNumber(NULL) is false */
	if (!cJSON_IsNumber(v) || !(v->valuedouble > -2147483648.0 && v->valuedouble < 2147483648.0))
		return def;
	return (long)v->valuedouble;
}

pb_err pb_t17_parse(const char *body, size_t len, long http_status, pb_t17_item *items, size_t n,
		    const char *const *secrets, cJSON **root_out, pb_errbuf *eb)
{
	cJSON *root = pb_track_parse_json(body, len);
	const cJSON *code, *data, *errs, *e0, *it, *num, *err_o;
	long c, detail;
	char msg[PB_TRACK_MAX_MSG];
	pb_err err = PB_OK;
	size_t i;

	*root_out = NULL;
	for (i = 0; i < n; i++) {
		items[i].accepted = false;
		items[i].code = 0;
		items[i].msg[0] = '\0';
		items[i].json = NULL;
	}
	code = cJSON_GetObjectItemCaseSensitive(root, "code");
	data = cJSON_GetObjectItemCaseSensitive(root, "data");
	if (!cJSON_IsObject(root) || !cJSON_IsNumber(code)) {
		if (http_status == 401 || http_status == 403)
			err = pb_errf(eb, PB_EAUTH, "17TRACK refused the API key (HTTP %ld)",
				      http_status);
		else if (http_status >= 400)
			err = pb_errf(eb, PB_EUPSTREAM, "17TRACK answered HTTP %ld", http_status);
		else
			err = pb_errf(eb, PB_EPARSE, "17TRACK's answer is not the JSON it should be");
		goto out;
	}
	c = code_of(code, -1);
	if (c != 0 || http_status >= 400) {
		/* Request-level errors list the detail in data.errors. */
		errs = cJSON_GetObjectItemCaseSensitive(data, "errors");
		e0 = cJSON_IsArray(errs) ? errs->child : NULL;
		num = cJSON_GetObjectItemCaseSensitive(e0, "code");
		detail = code_of(num, c);
		num = cJSON_GetObjectItemCaseSensitive(e0, "message");
		clean_msg(cJSON_IsString(num) ? num->valuestring : "", secrets, msg, sizeof msg);
		if (http_status == 401 || http_status == 403)
			err = PB_EAUTH;
		else if (detail == 0)
			err = PB_EUPSTREAM;
		else
			err = pb_t17_error(detail);
		if (!err)
			err = PB_EUPSTREAM;
		err = pb_errf(eb, err, "17TRACK refused the request (code %ld: %s%s%s)", detail,
			      error_what(detail), *msg ? "; " : "", msg);
		goto out;
	}
	if (!cJSON_IsObject(data)) {
		err = pb_errf(eb, PB_EPARSE, "17TRACK's answer has no data object");
		goto out;
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(data, "accepted"))
	{
		const char *s = jstr(it, "number");
		for (i = 0; s && i < n; i++)
			if (!items[i].accepted && !items[i].code && !strcmp(items[i].number, s)) {
				items[i].accepted = true;
				items[i].json = it;
				break;
			}
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(data, "rejected"))
	{
		const char *s = jstr(it, "number");
		err_o = cJSON_GetObjectItemCaseSensitive(it, "error");
		num = cJSON_GetObjectItemCaseSensitive(err_o, "code");
		for (i = 0; s && i < n; i++)
			if (!items[i].accepted && !items[i].code && !strcmp(items[i].number, s)) {
				items[i].code = code_of(num, -1);
				if (!items[i].code)
					items[i].code = -1;
				clean_msg(jstr(err_o, "message"), secrets, items[i].msg,
					  sizeof items[i].msg);
				break;
			}
	}
	*root_out = root;
	root = NULL;
out:
	cJSON_Delete(root);
	return err;
}

/* "Internal error, try again later" comes with HTTP 200. */
static bool t17_busy(long status, const pb_buf *body, void *ud)
{
	cJSON *root;
	const cJSON *c;
	bool busy;

	(void)ud;
	(void)status;
	if (!strstr(pb_buf_str(body), "-18010003"))
		return false;
	root = pb_track_parse_json(pb_buf_str(body), body->len);
	c = cJSON_GetObjectItemCaseSensitive(root, "code");
	busy = code_of(c, 0) == -18010003;
	if (!busy) {
		c = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "data"),
						     "errors");
		c = cJSON_IsArray(c) ? cJSON_GetObjectItemCaseSensitive(c->child, "code") : NULL;
		busy = code_of(c, 0) == -18010003;
	}
	cJSON_Delete(root);
	return busy;
}

/* One round: register or gettrackinfo for the given jobs, in batches of 40
 * sent together. Calls back into `done` for each job with its item. */
typedef void (*item_fn)(pb_track_job *j, const pb_t17_item *it);

static void t17_round(const pb_track_ctx *ctx, const char *url, const char *const *headers,
		      const char *const *secrets, pb_track_job **jobs, size_t n, item_fn done)
{
	size_t nb = (n + PB_T17_MAX_BATCH - 1) / PB_T17_MAX_BATCH, b, i, k, first, cnt;
	pb_http_req *reqs = calloc(nb ? nb : 1, sizeof *reqs);
	pb_buf *bodies = calloc(nb ? nb : 1, sizeof *bodies);
	pb_t17_item *items = calloc(PB_T17_MAX_BATCH, sizeof *items);
	cJSON *root;
	pb_errbuf eb;
	pb_err err;

	if (!reqs || !bodies || !items) {
		for (i = 0; i < n; i++)
			jobs[i]->err = pb_errf(&jobs[i]->eb, PB_ENOMEM, "out of memory");
		goto out;
	}
	for (b = 0; b < nb; b++) {
		first = b * PB_T17_MAX_BATCH;
		cnt = n - first < PB_T17_MAX_BATCH ? n - first : PB_T17_MAX_BATCH;
		pb_buf_init(&bodies[b], 64 * 1024);
		err = pb_t17_body(jobs + first, cnt, &bodies[b]);
		reqs[b].method = "POST";
		/* An unbuildable body gets no URL, so the batch reports it. */
		reqs[b].url = err ? "" : url;
		reqs[b].headers = headers;
		reqs[b].body = pb_buf_str(&bodies[b]);
		reqs[b].body_len = bodies[b].len;
		reqs[b].secrets = secrets;
		/* Registering twice is harmless (-18019901), reading is a read. */
		reqs[b].idempotent = true;
		reqs[b].retry_if = t17_busy;
	}
	pb_http_perform(ctx->http, reqs, nb);
	for (b = 0; b < nb; b++) {
		first = b * PB_T17_MAX_BATCH;
		cnt = n - first < PB_T17_MAX_BATCH ? n - first : PB_T17_MAX_BATCH;
		root = NULL;
		if (reqs[b].err) {
			/* cppcheck-suppress knownConditionTrueFalse ; cnt >= 1 (first < n) */
			for (k = 0; k < cnt; k++)
				jobs[first + k]->err = pb_errf(&jobs[first + k]->eb, reqs[b].err,
							       "17TRACK: %s", reqs[b].eb.msg);
			continue;
		}
		/* cppcheck-suppress knownConditionTrueFalse ; cnt >= 1 (first < n) */
		for (k = 0; k < cnt; k++)
			items[k].number = jobs[first + k]->number;
		err = pb_t17_parse(pb_buf_str(&reqs[b].resp), reqs[b].resp.len, reqs[b].status, items,
				   cnt, secrets, &root, &eb);
		/* cppcheck-suppress knownConditionTrueFalse ; cnt >= 1 (first < n) */
		for (k = 0; k < cnt; k++) {
			if (err)
				jobs[first + k]->err = pb_errf(&jobs[first + k]->eb, err, "%s", eb.msg);
			else
				done(jobs[first + k], &items[k]);
		}
		cJSON_Delete(root);
	}
out:
	for (b = 0; bodies && reqs && b < nb; b++) {
		pb_http_req_release(&reqs[b]);
		pb_buf_release(&bodies[b]);
	}
	free(reqs);
	free(bodies);
	free(items);
}

static void registered(pb_track_job *j, const pb_t17_item *it)
{
	if (it->accepted || it->code == -18019901)
		return;
	if (!it->code) {
		j->err = pb_errf(&j->eb, PB_EUPSTREAM,
				 "17TRACK's register answer does not mention %s", j->number);
		return;
	}
	j->err = pb_errf(&j->eb, pb_t17_error(it->code) ? pb_t17_error(it->code) : PB_EUPSTREAM,
			 "17TRACK would not register %s (code %ld: %s%s%s)", j->number, it->code,
			 error_what(it->code), *it->msg ? "; " : "", it->msg);
}

static void got_info(pb_track_job *j, const pb_t17_item *it)
{
	if (it->accepted) {
		j->err = pb_t17_trace(it->json, &j->trace, &j->eb);
		if (j->err)
			pb_trace_release(&j->trace);
		return;
	}
	if (it->code == -18019909) {
		/* Registered, but the carrier has nothing yet. */
		j->trace.found = false;
		j->err = PB_OK;
		return;
	}
	if (!it->code) {
		j->err = pb_errf(&j->eb, PB_EUPSTREAM,
				 "17TRACK's gettrackinfo answer does not mention %s", j->number);
		return;
	}
	j->err = pb_errf(&j->eb, pb_t17_error(it->code) ? pb_t17_error(it->code) : PB_EUPSTREAM,
			 "17TRACK has no trace for %s (code %ld: %s%s%s)", j->number, it->code,
			 error_what(it->code), *it->msg ? "; " : "", it->msg);
}

void pb_t17_lookup(const pb_track_ctx *ctx, pb_track_job *jobs, size_t n)
{
	const pb_track_config *cfg = ctx->cfg;
	const char *secrets[] = {cfg->t17_token, NULL};
	const char *headers[] = {"Content-Type: application/json", NULL, NULL};
	pb_track_job **todo = calloc(n ? n : 1, sizeof *todo);
	pb_buf token_hdr, url_reg, url_get;
	size_t i, k;
	pb_err err;

	pb_buf_init(&token_hdr, 4096);
	pb_buf_init(&url_reg, 4096);
	pb_buf_init(&url_get, 4096);
	if (!todo) {
		for (i = 0; i < n; i++)
			jobs[i].err = pb_errf(&jobs[i].eb, PB_ENOMEM, "out of memory");
		goto out;
	}
	if (!cfg->t17_token || !*cfg->t17_token) {
		for (i = 0; i < n; i++)
			jobs[i].err = pb_errf(&jobs[i].eb, PB_ECONFIG,
					      "the 17TRACK token is not set: set PARCELBOT_17TRACK_TOKEN "
					      "(or tracking.17track in the config)");
		goto out;
	}
	err = pb_buf_printf(&token_hdr, "17token: %s", cfg->t17_token);
	if (!err)
		err = pb_buf_printf(&url_reg, "%s/register", cfg->t17_url);
	if (!err)
		err = pb_buf_printf(&url_get, "%s/gettrackinfo", cfg->t17_url);
	if (err || strpbrk(cfg->t17_token, "\r\n")) {
		for (i = 0; i < n; i++)
			jobs[i].err = pb_errf(&jobs[i].eb, err ? err : PB_ECONFIG,
					      "17TRACK: unusable token or URL");
		goto out;
	}
	headers[1] = pb_buf_str(&token_hdr);
	for (i = k = 0; i < n; i++)
		if (!jobs[i].t17_registered)
			todo[k++] = &jobs[i];
	if (k)
		t17_round(ctx, pb_buf_str(&url_reg), headers, secrets, todo, k, registered);
	for (i = k = 0; i < n; i++)
		if (!jobs[i].err)
			todo[k++] = &jobs[i];
	if (k)
		t17_round(ctx, pb_buf_str(&url_get), headers, secrets, todo, k, got_info);
out:
	if (token_hdr.data)
		memset(token_hdr.data, 0, token_hdr.cap);
	pb_buf_release(&token_hdr);
	pb_buf_release(&url_reg);
	pb_buf_release(&url_get);
	free(todo);
}
