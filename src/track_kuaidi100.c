/*
 * The Kuaidi100 adapter: the real-time query (实时查询, poll/query.do). One
 * signed form POST per parcel; the tracker's batch runs them concurrently.
 *
 * We ask for resultv2=4, which adds a status code to every event, so each
 * event gets its own state instead of all inheriting the parcel's. Times in
 * Kuaidi100's answers carry no offset: they are China time (+08:00). "No
 * result" (returnCode 500) is an answer, not a failure: the trace comes back
 * with found=false. "Busy" (502) is retried by the HTTP layer, with backoff,
 * like a 5xx.
 */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/utf8.h"
#include "track_internal.h"

#define K100_MAX_BODY_REQ (16 * 1024)

typedef struct k100_code {
	int code;
	const char *name;
	pb_pstate st;
	pb_exkind ex;
} k100_code;

/* The basic states (0-8, 14) and the advanced ones of resultv2=4 (see
 * docs/providers.md for the reasoning behind each line). */
static const k100_code codes[] = {
	{0, "在途", PB_ST_IN_TRANSIT, PB_EX_NONE},
	{1001, "到达派件城市", PB_ST_IN_TRANSIT, PB_EX_NONE},
	{1002, "干线", PB_ST_IN_TRANSIT, PB_EX_NONE},
	{1003, "转递", PB_ST_IN_TRANSIT, PB_EX_NONE},
	{1, "揽收", PB_ST_IN_TRANSIT, PB_EX_NONE},
	{101, "已下单", PB_ST_INFO_RECEIVED, PB_EX_NONE},
	{102, "待揽收", PB_ST_INFO_RECEIVED, PB_EX_NONE},
	{103, "已揽收", PB_ST_IN_TRANSIT, PB_EX_NONE},
	{2, "疑难", PB_ST_EXCEPTION, PB_EX_OTHER},
	{201, "超时未签收", PB_ST_EXCEPTION, PB_EX_DELAYED},
	{202, "超时未更新", PB_ST_EXCEPTION, PB_EX_DELAYED},
	{203, "拒收", PB_ST_EXCEPTION, PB_EX_REFUSED},
	{204, "派件异常", PB_ST_ATTEMPT_FAIL, PB_EX_NONE},
	{205, "柜或驿站超时未取", PB_ST_AVAILABLE_FOR_PICKUP, PB_EX_NONE},
	{206, "无法联系", PB_ST_ATTEMPT_FAIL, PB_EX_NONE},
	{207, "超区", PB_ST_EXCEPTION, PB_EX_ADDRESS},
	{208, "滞留", PB_ST_EXCEPTION, PB_EX_DELAYED},
	{209, "破损", PB_ST_EXCEPTION, PB_EX_DAMAGED},
	{210, "销单", PB_ST_EXCEPTION, PB_EX_OTHER},
	{3, "签收", PB_ST_DELIVERED, PB_EX_NONE},
	{301, "本人签收", PB_ST_DELIVERED, PB_EX_NONE},
	{302, "派件异常后签收", PB_ST_DELIVERED, PB_EX_NONE},
	{303, "代签", PB_ST_DELIVERED, PB_EX_NONE},
	{304, "投柜或站签收", PB_ST_DELIVERED, PB_EX_NONE},
	{4, "退签", PB_ST_EXCEPTION, PB_EX_RETURNED},
	{401, "已销单", PB_ST_EXCEPTION, PB_EX_OTHER},
	{14, "拒签", PB_ST_EXCEPTION, PB_EX_REFUSED},
	{5, "派件", PB_ST_OUT_FOR_DELIVERY, PB_EX_NONE},
	{501, "投柜或驿站", PB_ST_AVAILABLE_FOR_PICKUP, PB_EX_NONE},
	{6, "退回", PB_ST_EXCEPTION, PB_EX_RETURNING},
	{7, "转投", PB_ST_IN_TRANSIT, PB_EX_NONE},
	{8, "清关", PB_ST_IN_TRANSIT, PB_EX_NONE},
	{10, "待清关", PB_ST_IN_TRANSIT, PB_EX_NONE},
	{11, "清关中", PB_ST_IN_TRANSIT, PB_EX_NONE},
	{12, "已清关", PB_ST_IN_TRANSIT, PB_EX_NONE},
	{13, "清关异常", PB_ST_EXCEPTION, PB_EX_CUSTOMS},
};

static const k100_code *by_code(long c)
{
	size_t i;

	for (i = 0; i < sizeof codes / sizeof codes[0]; i++)
		if (codes[i].code == c)
			return &codes[i];
	return NULL;
}

bool pb_k100_map(const char *code, pb_pstate *st, pb_exkind *ex)
{
	const k100_code *k = NULL;
	char *end;
	long c;
	size_t i;

	*st = PB_ST_UNKNOWN;
	*ex = PB_EX_NONE;
	if (!code || !*code)
		return false;
	if (*code >= '0' && *code <= '9') {
		c = strtol(code, &end, 10);
		if (*end || c < 0 || c > 9999)
			return false;
		k = by_code(c);
		/* An advanced code we do not know yet belongs to the family its
		 * number says: 10xx to 0 (在途), 1xx-5xx to 1-5. */
		if (!k && c >= 1000 && c < 2000)
			k = by_code(0);
		else if (!k && c >= 100 && c < 1000)
			k = by_code(c / 100);
	} else {
		for (i = 0; i < sizeof codes / sizeof codes[0]; i++)
			if (!strcmp(codes[i].name, code)) {
				k = &codes[i];
				break;
			}
	}
	if (!k)
		return false;
	*st = k->st;
	*ex = k->ex;
	return true;
}

pb_err pb_k100_param(const char *com, const char *num, const char *phone, pb_buf *out)
{
	cJSON *p = cJSON_CreateObject();
	char *s = NULL;
	pb_err err = PB_ENOMEM;

	if (!p || !cJSON_AddStringToObject(p, "com", com) || !cJSON_AddStringToObject(p, "num", num))
		goto out;
	if (phone && *phone && !cJSON_AddStringToObject(p, "phone", phone))
		goto out;
	if (!cJSON_AddStringToObject(p, "resultv2", "4") || !cJSON_AddStringToObject(p, "show", "0") ||
	    !cJSON_AddStringToObject(p, "order", "desc"))
		goto out;
	s = cJSON_PrintUnformatted(p);
	if (!s)
		goto out;
	pb_buf_reset(out);
	err = pb_buf_puts(out, s);
out:
	free(s);
	cJSON_Delete(p);
	return err;
}

pb_err pb_k100_sign(const char *param, const char *key, const char *customer,
		    char out[PB_MD5_HEX_LEN + 1])
{
	pb_buf b;
	pb_err err;

	pb_buf_init(&b, PB_BUF_NOLIMIT);
	err = pb_buf_puts(&b, param);
	if (!err)
		err = pb_buf_puts(&b, key);
	if (!err)
		err = pb_buf_puts(&b, customer);
	if (!err)
		err = pb_md5_hex(pb_buf_str(&b), b.len, true, out);
	/* The buffer held the key. */
	if (b.data)
		memset(b.data, 0, b.cap);
	pb_buf_release(&b);
	return err;
}

static pb_err form_escape(pb_buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	pb_err err = PB_OK;

	for (; *s && !err; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~')
			err = pb_buf_putc(out, (char)c);
		else
			err = pb_buf_printf(out, "%%%c%c", hex[c >> 4], hex[c & 15]);
	}
	return err;
}

pb_err pb_k100_body(const char *customer, const char *key, const char *param, pb_buf *out)
{
	char sign[PB_MD5_HEX_LEN + 1];
	pb_err err;

	pb_buf_reset(out);
	err = pb_k100_sign(param, key, customer, sign);
	if (!err)
		err = pb_buf_puts(out, "customer=");
	if (!err)
		err = form_escape(out, customer);
	if (!err)
		err = pb_buf_printf(out, "&sign=%s&param=", sign);
	if (!err)
		err = form_escape(out, param);
	return err;
}

/* Kuaidi100 has no code for a lost or damaged parcel: both come as the
 * generic 疑难 ("problem") with the carrier saying what happened in words. */
static pb_exkind refine_problem(const char *desc)
{
	static const char *const lost[] = {"丢失", "遗失", "丢件", "lost", "Lost", "LOST", NULL};
	static const char *const damaged[] = {"破损", "损坏", "damaged", "Damaged", NULL};
	size_t i;

	for (i = 0; lost[i]; i++)
		if (strstr(desc, lost[i]))
			return PB_EX_LOST;
	for (i = 0; damaged[i]; i++)
		if (strstr(desc, damaged[i]))
			return PB_EX_DAMAGED;
	return PB_EX_OTHER;
}

/* A JSON string or number as text ("500" and 500 both occur). */
static const char *str_or_num(const cJSON *v, char *buf, size_t n)
{
	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsNumber(v)) {
		snprintf(buf, n, "%.0f", v->valuedouble);
		return buf;
	}
	return NULL;
}

static void provider_msg(const cJSON *root, const char *const *secrets, char *out, size_t n)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "message");
	char *c = pb_track_clean(cJSON_IsString(m) ? m->valuestring : "", 120);

	snprintf(out, n, "%s", c ? c : "");
	free(c);
	pb_http_redact(out, n, secrets);
}

static pb_err error_reply(const char *rc, const cJSON *root, const char *const *secrets,
			  pb_trace *trace, pb_errbuf *eb)
{
	char msg[160];

	provider_msg(root, secrets, msg, sizeof msg);
	if (!strcmp(rc, "500")) {
		/* 查询无结果: Kuaidi100 does not know the number (yet). */
		trace->found = false;
		return PB_OK;
	}
	if (!strcmp(rc, "400"))
		return pb_errf(eb, PB_EINVAL, "Kuaidi100 rejected the query (returnCode 400: %s)", msg);
	if (!strcmp(rc, "503"))
		return pb_errf(eb, PB_EAUTH,
			       "Kuaidi100 rejected the signature (returnCode 503: %s); check the "
			       "customer and key",
			       msg);
	if (!strcmp(rc, "601"))
		return pb_errf(eb, PB_EAUTH,
			       "Kuaidi100 refused the key (returnCode 601: %s); it may have expired "
			       "or run out of balance",
			       msg);
	if (!strcmp(rc, "502"))
		return pb_errf(eb, PB_EUPSTREAM, "Kuaidi100 is busy (returnCode 502: %s)", msg);
	if (!strcmp(rc, "501"))
		return pb_errf(eb, PB_EUPSTREAM, "Kuaidi100 server error (returnCode 501: %s)", msg);
	return pb_errf(eb, PB_EUPSTREAM, "Kuaidi100 answered returnCode %.8s: %s", rc, msg);
}

pb_err pb_k100_parse(const char *body, size_t len, const char *const *secrets, pb_trace *trace,
		     pb_errbuf *eb)
{
	cJSON *root = pb_track_parse_json(body, len);
	const cJSON *rc, *data, *ev, *v;
	const char *rcs, *state, *tm, *code;
	char num[32], sbuf[32], cbuf[32];
	pb_err err = PB_OK;
	pb_pstate st;
	pb_exkind ex;
	pb_when w;
	char *desc = NULL, *loc = NULL;
	size_t i = 0;

	if (!cJSON_IsObject(root)) {
		err = pb_errf(eb, PB_EPARSE, "Kuaidi100's answer is not a JSON object");
		goto out;
	}
	rc = cJSON_GetObjectItemCaseSensitive(root, "returnCode");
	rcs = str_or_num(rc, num, sizeof num);
	if (rcs && *rcs && strcmp(rcs, "200")) {
		err = error_reply(rcs, root, secrets, trace, eb);
		goto out;
	}
	data = cJSON_GetObjectItemCaseSensitive(root, "data");
	if (data && !cJSON_IsArray(data) && !cJSON_IsNull(data)) {
		err = pb_errf(eb, PB_EPARSE, "Kuaidi100's answer has a 'data' that is not a list");
		goto out;
	}
	state = str_or_num(cJSON_GetObjectItemCaseSensitive(root, "state"), sbuf, sizeof sbuf);
	if (!cJSON_IsArray(data) && !state) {
		err = pb_errf(eb, PB_EPARSE, "Kuaidi100's answer has neither 'data' nor 'state'");
		goto out;
	}
	trace->found = true;
	cJSON_ArrayForEach(ev, data)
	{
		if (i >= PB_TRACK_MAX_EVENTS)
			break;
		if (!cJSON_IsObject(ev)) {
			err = pb_errf(eb, PB_EPARSE, "Kuaidi100's data[%zu] is not an object", i);
			goto out;
		}
		v = cJSON_GetObjectItemCaseSensitive(ev, "time");
		tm = cJSON_IsString(v) ? v->valuestring : NULL;
		if (!tm || !*tm) {
			v = cJSON_GetObjectItemCaseSensitive(ev, "ftime");
			tm = cJSON_IsString(v) ? v->valuestring : NULL;
		}
		if (!tm || pb_time_parse(tm, PB_CHINA_OFFSET, &w)) {
			err = pb_errf(eb, PB_EPARSE, "Kuaidi100's data[%zu].time is not a date-time", i);
			goto out;
		}
		v = cJSON_GetObjectItemCaseSensitive(ev, "context");
		desc = pb_track_clean(cJSON_IsString(v) ? v->valuestring : "", PB_TRACK_MAX_DESC);
		v = cJSON_GetObjectItemCaseSensitive(ev, "areaName");
		if (!cJSON_IsString(v) || !*v->valuestring)
			v = cJSON_GetObjectItemCaseSensitive(ev, "location");
		loc = pb_track_clean(cJSON_IsString(v) ? v->valuestring : "", PB_TRACK_MAX_LOC);
		if (!desc || !loc) {
			err = PB_ENOMEM;
			goto out;
		}
		st = PB_ST_UNKNOWN;
		ex = PB_EX_NONE;
		code = str_or_num(cJSON_GetObjectItemCaseSensitive(ev, "statusCode"), cbuf,
				  sizeof cbuf);
		if (!code || !*code || !pb_k100_map(code, &st, &ex)) {
			/* resultv2=1 gives only the status name. */
			v = cJSON_GetObjectItemCaseSensitive(ev, "status");
			if (cJSON_IsString(v) && pb_k100_map(v->valuestring, &st, &ex) &&
			    (!code || !*code))
				code = v->valuestring;
		}
		if (st == PB_ST_EXCEPTION && ex == PB_EX_OTHER)
			ex = refine_problem(desc);
		err = pb_trace_add(trace, w, loc, desc, code ? code : "", st, ex);
		if (err)
			goto out;
		free(desc);
		free(loc);
		desc = loc = NULL;
		i++;
	}
	pb_trace_sort(trace);
	/* Without per-event codes, the parcel's state belongs to its newest
	 * event; older events stay unknown rather than guessed. */
	if (trace->n_events && !*trace->events[0].code && state && pb_k100_map(state, &st, &ex)) {
		char *c = strdup(state);
		if (!c) {
			err = PB_ENOMEM;
			goto out;
		}
		if (st == PB_ST_EXCEPTION && ex == PB_EX_OTHER)
			ex = refine_problem(trace->events[0].description);
		free(trace->events[0].code);
		trace->events[0].code = c;
		trace->events[0].state = st;
		trace->events[0].exception = ex;
	}
out:
	free(desc);
	free(loc);
	cJSON_Delete(root);
	return err;
}

/* Kuaidi100 answers "busy" (502) with HTTP 200; retry those like a 5xx. */
static bool k100_busy(long status, const pb_buf *body, void *ud)
{
	cJSON *root;
	const char *rc;
	char num[32];
	bool busy;

	(void)ud;
	(void)status;
	if (!body->len || !strstr(pb_buf_str(body), "returnCode"))
		return false;
	root = pb_track_parse_json(pb_buf_str(body), body->len);
	rc = str_or_num(cJSON_GetObjectItemCaseSensitive(root, "returnCode"), num, sizeof num);
	busy = rc && !strcmp(rc, "502");
	cJSON_Delete(root);
	return busy;
}

void pb_k100_lookup(const pb_track_ctx *ctx, pb_track_job *jobs, size_t n)
{
	static const char *const headers[] = {
		"Content-Type: application/x-www-form-urlencoded",
		"Accept: application/json",
		NULL,
	};
	const pb_track_config *cfg = ctx->cfg;
	const char *secrets[] = {cfg->k100_key, cfg->k100_customer, NULL};
	pb_http_req *batch = calloc(n ? n : 1, sizeof *batch);
	pb_buf *bodies = calloc(n ? n : 1, sizeof *bodies);
	size_t *map = calloc(n ? n : 1, sizeof *map);
	size_t i, k = 0;
	pb_buf param;
	pb_err err;

	pb_buf_init(&param, K100_MAX_BODY_REQ);
	if (!batch || !bodies || !map) {
		for (i = 0; i < n; i++)
			jobs[i].err = pb_errf(&jobs[i].eb, PB_ENOMEM, "out of memory");
		goto out;
	}
	if (!cfg->k100_customer || !*cfg->k100_customer || !cfg->k100_key || !*cfg->k100_key) {
		for (i = 0; i < n; i++)
			jobs[i].err = pb_errf(&jobs[i].eb, PB_ECONFIG,
					      "Kuaidi100 credentials are not set: set "
					      "PARCELBOT_KUAIDI100_CUSTOMER and PARCELBOT_KUAIDI100_KEY "
					      "(or tracking.kuaidi100 in the config)");
		goto out;
	}
	for (i = 0; i < n; i++) {
		pb_buf_init(&bodies[i], K100_MAX_BODY_REQ);
		err = pb_k100_param(jobs[i].k100_com, jobs[i].number, jobs[i].phone_last4, &param);
		if (!err)
			err = pb_k100_body(cfg->k100_customer, cfg->k100_key, pb_buf_str(&param),
					   &bodies[i]);
		if (err) {
			jobs[i].err = pb_errf(&jobs[i].eb, err, "Kuaidi100: cannot build the query: %s",
					      pb_strerror(err));
			continue;
		}
		batch[k].method = "POST";
		batch[k].url = cfg->k100_url;
		batch[k].headers = headers;
		batch[k].body = pb_buf_str(&bodies[i]);
		batch[k].body_len = bodies[i].len;
		batch[k].secrets = secrets;
		batch[k].idempotent = true; /* a query changes nothing */
		batch[k].retry_if = k100_busy;
		map[k++] = i;
	}
	pb_http_perform(ctx->http, batch, k);
	for (i = 0; i < k; i++) {
		pb_http_req *r = &batch[i];
		pb_track_job *j = &jobs[map[i]];
		if (r->err) {
			j->err = pb_errf(&j->eb, r->err, "Kuaidi100: %s", r->eb.msg);
		} else if (r->status != 200) {
			j->err = pb_errf(&j->eb,
					 r->status == 401 || r->status == 403 ? PB_EAUTH : PB_EUPSTREAM,
					 "Kuaidi100 answered HTTP %ld", r->status);
		} else {
			j->err = pb_k100_parse(pb_buf_str(&r->resp), r->resp.len, secrets, &j->trace,
					       &j->eb);
			if (j->err)
				pb_trace_release(&j->trace);
		}
		pb_http_req_release(r);
	}
out:
	for (i = 0; bodies && i < n; i++) {
		/* The bodies carry the customer id and a signature. */
		if (bodies[i].data)
			memset(bodies[i].data, 0, bodies[i].cap);
		pb_buf_release(&bodies[i]);
	}
	free(bodies);
	free(batch);
	free(map);
	pb_buf_release(&param);
}
