/*
 * The Chatwoot channel adapter (see channel_chatwoot.h): reads Chatwoot's
 * message_created webhooks into inbox events and carries out outbox
 * actions through Chatwoot's application API, checking the conversation
 * before a resend so nothing reaches a buyer twice.
 */
#include "parcelbot/channel_chatwoot.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parcelbot/digest.h"
#include "parcelbot/http.h"
#include "parcelbot/time.h"
#include "parcelbot/utf8.h"

#define MAX_TEXT ((size_t)256 << 10)
#define MAX_ANSWER ((size_t)4 << 20)

typedef struct cw {
	pb_channel base;
	pb_http *http;
	char *api;      /* {url}/api/v1/accounts/{account_id} */
	char *token;
	char *secret;
	char *label;
	char *token_hdr; /* "api_access_token: TOKEN" */
	long account_id;
} cw;

static void cw_free(pb_channel *ch)
{
	cw *c = (cw *)ch;

	if (!c)
		return;
	free(c->api);
	free(c->token);
	free(c->secret);
	free(c->label);
	free(c->token_hdr);
	free(c);
}

/* --- webhooks ------------------------------------------------------- */

/* An id written as a number or a string, as text; false when neither. */
static bool id_text(const cJSON *v, char *out, size_t n)
{
	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 9e15) {
		snprintf(out, n, "%lld", (long long)v->valuedouble);
		return true;
	}
	if (cJSON_IsString(v) && *v->valuestring && strlen(v->valuestring) < n &&
	    !strpbrk(v->valuestring, "/?#\r\n")) {
		snprintf(out, n, "%s", v->valuestring);
		return true;
	}
	return false;
}

#define PB_CW_TIME_MAX 253402300800.0 /* 10000-01-01T00:00:00Z */

/* Chatwoot writes created_at as Unix seconds (API), as "2026-11-20
 * 10:00:00 UTC" or as ISO 8601 (webhooks, by version). */
static bool parse_created(const cJSON *v, int64_t *out)
{
	pb_when w;
	char tmp[64];
	size_t n;

	if (cJSON_IsNumber(v)) {
		/* Up to the end of year 9999, as pb_time_parse reads: beyond
		 * it the cast, and later date arithmetic, would overflow. */
		if (!(v->valuedouble > -PB_CW_TIME_MAX && v->valuedouble < PB_CW_TIME_MAX))
			return false;
		*out = (int64_t)v->valuedouble;
		return true;
	}
	if (!cJSON_IsString(v) || (n = strlen(v->valuestring)) >= sizeof tmp)
		return false;
	memcpy(tmp, v->valuestring, n + 1);
	if (n > 4 && !strcmp(tmp + n - 4, " UTC"))
		tmp[n - 4] = '\0';
	if (pb_time_parse(tmp, 0, &w))
		return false;
	*out = w.t;
	return true;
}

/* Adds s (from outside, so maybe not UTF-8) to o under key, repaired. */
static bool add_text(cJSON *o, const char *key, const char *s)
{
	pb_buf b;
	bool ok;

	pb_buf_init(&b, MAX_TEXT + 64);
	ok = !pb_utf8_repair(s, strlen(s) > MAX_TEXT ? pb_utf8_clip(s, strlen(s), MAX_TEXT)
						    : strlen(s),
			     &b) &&
	     cJSON_AddStringToObject(o, key, pb_buf_str(&b));
	pb_buf_release(&b);
	return ok;
}

typedef enum { MT_INCOMING, MT_OUTGOING, MT_OTHER } msg_type;

static bool read_type(const cJSON *v, msg_type *out)
{
	if (cJSON_IsNumber(v)) {
		*out = v->valueint == 0 ? MT_INCOMING : v->valueint == 1 ? MT_OUTGOING : MT_OTHER;
		return true;
	}
	if (!cJSON_IsString(v))
		return false;
	*out = !strcmp(v->valuestring, "incoming")   ? MT_INCOMING
	       : !strcmp(v->valuestring, "outgoing") ? MT_OUTGOING
						     : MT_OTHER;
	return true;
}

typedef enum { ST_CONTACT, ST_USER, ST_BOT, ST_OTHER } sender_type;

static sender_type read_sender(const cJSON *s)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(s, "type");
	const char *v = cJSON_IsString(t) ? t->valuestring : "";

	if (!strcasecmp(v, "contact"))
		return ST_CONTACT;
	if (!strcasecmp(v, "user"))
		return ST_USER;
	if (!strcasecmp(v, "agent_bot") || !strcasecmp(v, "agentbot"))
		return ST_BOT;
	return ST_OTHER;
}

static pb_err cw_webhook(pb_channel *ch, const pb_chan_webhook *req, pb_chan_events *out,
			 int *status, pb_errbuf *eb)
{
	cw *c = (cw *)ch;
	cJSON *j = NULL, *ev = NULL;
	const cJSON *v, *conv, *sender, *attrs, *acct;
	const char *content, *cmd, *arg;
	char id[64], conv_id[64], buyer[64], order[128], ext[80], now_s[40];
	size_t arg_len;
	msg_type mt;
	sender_type st;
	bool priv;
	int64_t created;
	char *s = NULL, *argz = NULL;
	pb_err err = PB_OK;

	if (!req->secret ||
	    !pb_secret_equal(req->secret, strlen(req->secret), c->secret, strlen(c->secret))) {
		*status = 401;
		return pb_errf(eb, PB_EAUTH, "chatwoot webhook: wrong secret in the URL");
	}
	j = cJSON_ParseWithLength(req->body, req->body_len);
	if (!cJSON_IsObject(j)) {
		err = pb_errf(eb, PB_EPARSE, "chatwoot webhook: the body is not a JSON object");
		goto bad;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "event");
	if (!cJSON_IsString(v)) {
		err = pb_errf(eb, PB_EPARSE, "chatwoot webhook: no event name");
		goto bad;
	}
	if (strcmp(v->valuestring, "message_created"))
		goto out; /* conversation_updated and the like: nothing to do */
	conv = cJSON_GetObjectItemCaseSensitive(j, "conversation");
	sender = cJSON_GetObjectItemCaseSensitive(j, "sender");
	if (!cJSON_IsObject(sender) && cJSON_IsObject(conv))
		sender = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(conv, "meta"), "sender");
	if (!id_text(cJSON_GetObjectItemCaseSensitive(j, "id"), id, sizeof id) ||
	    !cJSON_IsObject(conv) ||
	    !id_text(cJSON_GetObjectItemCaseSensitive(conv, "id"), conv_id, sizeof conv_id) ||
	    !read_type(cJSON_GetObjectItemCaseSensitive(j, "message_type"), &mt) ||
	    !cJSON_IsObject(sender)) {
		err = pb_errf(eb, PB_EPARSE,
			      "chatwoot webhook: message_created needs id, message_type, "
			      "conversation.id and sender");
		goto bad;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "private");
	priv = cJSON_IsTrue(v) || (cJSON_IsNumber(v) && v->valueint);
	v = cJSON_GetObjectItemCaseSensitive(j, "created_at");
	created = req->now;
	if (v && !cJSON_IsNull(v) && !parse_created(v, &created)) {
		err = pb_errf(eb, PB_EPARSE, "chatwoot webhook: created_at is not a time");
		goto bad;
	}
	acct = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "account"), "id");
	if (cJSON_IsNumber(acct) && acct->valuedouble != (double)c->account_id)
		goto out; /* another account's inbox shares the URL: not ours */
	v = cJSON_GetObjectItemCaseSensitive(j, "content");
	content = cJSON_IsString(v) ? v->valuestring : NULL;
	st = read_sender(sender);
	/* Attachments without text, and everything parcelbot itself wrote,
	 * give nothing to do. */
	if (!content || !*content || st == ST_BOT)
		goto out;
	snprintf(ext, sizeof ext, "msg:%s", id);
	pb_time_format((pb_when){created, 0}, now_s, sizeof now_s);
	ev = cJSON_CreateObject();
	if (!ev) {
		err = PB_ENOMEM;
		goto fail;
	}
	if (mt == MT_INCOMING && !priv && st == ST_CONTACT) {
		if (!id_text(cJSON_GetObjectItemCaseSensitive(sender, "id"), buyer, sizeof buyer))
			buyer[0] = '\0';
		if (!cJSON_AddStringToObject(ev, "kind", "message") ||
		    !cJSON_AddStringToObject(ev, "channel", ch->name) ||
		    !cJSON_AddStringToObject(ev, "message_id", id) ||
		    !cJSON_AddStringToObject(ev, "conversation", conv_id) ||
		    (*buyer && !cJSON_AddStringToObject(ev, "buyer", buyer)) ||
		    !add_text(ev, "message", content) || !cJSON_AddStringToObject(ev, "now", now_s)) {
			err = PB_ENOMEM;
			goto fail;
		}
		attrs = cJSON_GetObjectItemCaseSensitive(conv, "custom_attributes");
		v = cJSON_GetObjectItemCaseSensitive(attrs, "order_id");
		if (!v || cJSON_IsNull(v))
			v = cJSON_GetObjectItemCaseSensitive(attrs, "order_sn");
		if (id_text(v, order, sizeof order)) {
			cJSON *o = cJSON_AddObjectToObject(ev, "order");
			if (!o || !add_text(o, "id", order)) {
				err = PB_ENOMEM;
				goto fail;
			}
		}
	} else if (priv && st == ST_USER && pb_chan_parse_command(content, &cmd, &arg, &arg_len)) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(sender, "name");
		argz = strndup(arg, arg_len);
		if (!argz || !cJSON_AddStringToObject(ev, "kind", "command") ||
		    !cJSON_AddStringToObject(ev, "channel", ch->name) ||
		    !cJSON_AddStringToObject(ev, "message_id", id) ||
		    !cJSON_AddStringToObject(ev, "conversation", conv_id) ||
		    !add_text(ev, "agent", cJSON_IsString(name) ? name->valuestring : "agent") ||
		    !cJSON_AddStringToObject(ev, "command", cmd) || !add_text(ev, "text", argz) ||
		    !cJSON_AddStringToObject(ev, "now", now_s)) {
			err = PB_ENOMEM;
			goto fail;
		}
	} else {
		goto out; /* outgoing replies, other notes: the agents' own talk */
	}
	s = cJSON_PrintUnformatted(ev);
	if (!s || (err = pb_chan_events_add(out, ext, s))) {
		err = PB_ENOMEM;
		goto fail;
	}
	goto out;
bad:
	*status = 400;
	goto out;
fail:
	*status = 500;
	if (err == PB_ENOMEM)
		pb_errf(eb, err, "chatwoot webhook: out of memory");
out:
	free(s);
	free(argz);
	cJSON_Delete(ev);
	cJSON_Delete(j);
	return err;
}

/* --- rendering ------------------------------------------------------ */

typedef struct labels {
	const char *draft, *severity, *checklist, *lint, *brief, *reason, *kase, *howto,
		*handoff, *overdue;
} labels;

static const labels en = {
	.draft = "parcelbot draft",
	.severity = "severity",
	.checklist = "Checklist:",
	.lint = "Lint findings:",
	.brief = "Brief:",
	.reason = "Reason:",
	.kase = "Case:",
	.howto = "To act, write a private note: /send to send the draft as it is, "
		 "/send <edited text> to send your version, /reject <reason> to drop it, "
		 "/escalate to hand the case to a person.",
	.handoff = "parcelbot hand-off: a person takes over this conversation",
	.overdue = "parcelbot: overdue",
};

static const labels zh = {
	.draft = "parcelbot 草稿",
	.severity = "严重程度",
	.checklist = "核对清单：",
	.lint = "措辞检查：",
	.brief = "案件摘要：",
	.reason = "原因：",
	.kase = "案件：",
	.howto = "处理方式（写私信备注）：/send 原样发送草稿，/send <修改后的文字> 发送修改版，"
		 "/reject <原因> 驳回，/escalate 转人工处理。",
	.handoff = "parcelbot 转人工：请人工接手此会话",
	.overdue = "parcelbot：已超时",
};

/* Appends the title and then "- line" for every non-blank line of text
 * (lines already starting with "-" are kept as they are); nothing at all
 * when every line is blank. */
static pb_err put_lines(pb_buf *out, const char *title, const char *text)
{
	const char *p = text, *e;
	pb_err err = PB_OK;
	size_t n;
	bool any = false;

	while (!err && *p) {
		n = strcspn(p, "\n");
		e = p + n;
		while (p < e && (*p == ' ' || *p == '\t' || *p == '\r'))
			p++;
		while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		if (p < e) {
			if (!any)
				err = pb_buf_printf(out, "\n\n%s", title);
			any = true;
			if (!err)
				err = pb_buf_puts(out, *p == '-' ? "\n" : "\n- ");
			if (!err)
				err = pb_buf_append(out, p, (size_t)(e - p));
		}
		p += strcspn(p, "\n");
		if (*p)
			p++;
	}
	return err;
}

pb_err pb_chatwoot_render(const pb_chan_action *a, pb_buf *out)
{
	const labels *L = a->lang && !strcmp(a->lang, "zh") ? &zh : &en;
	pb_err err = PB_OK;

	switch (a->kind) {
	case PB_CHAN_SEND_REPLY:
		return pb_buf_puts(out, a->text ? a->text : "");
	case PB_CHAN_POST_DRAFT:
		err = pb_buf_printf(out, "%s #%lld v%d · %s %d", L->draft, (long long)a->draft_id,
				    a->version, L->severity, a->severity);
		if (!err && a->template_id && *a->template_id)
			err = pb_buf_printf(out, " · %s", a->template_id);
		if (!err)
			err = pb_buf_printf(out, "\n\n%s", a->text ? a->text : "");
		if (!err && a->checklist)
			err = put_lines(out, L->checklist, a->checklist);
		if (!err && a->lint)
			err = put_lines(out, L->lint, a->lint);
		if (!err && a->brief && *a->brief)
			err = pb_buf_printf(out, "\n\n%s\n%s", L->brief, a->brief);
		if (!err && a->case_url && *a->case_url)
			err = pb_buf_printf(out, "\n\n%s %s", L->kase, a->case_url);
		if (!err)
			err = pb_buf_printf(out, "\n\n%s", L->howto);
		return err;
	case PB_CHAN_HAND_OFF:
		err = pb_buf_puts(out, L->handoff);
		if (!err && a->case_id)
			err = pb_buf_printf(out, " (#%lld)", (long long)a->case_id);
		if (!err && a->reason && *a->reason)
			err = pb_buf_printf(out, "\n%s %s", L->reason, a->reason);
		if (!err && a->brief && *a->brief)
			err = pb_buf_printf(out, "\n\n%s\n%s", L->brief, a->brief);
		if (!err && a->case_url && *a->case_url)
			err = pb_buf_printf(out, "\n\n%s %s", L->kase, a->case_url);
		return err;
	case PB_CHAN_NOTIFY:
		err = pb_buf_puts(out, L->overdue);
		if (!err && a->case_id)
			err = pb_buf_printf(out, " (#%lld)", (long long)a->case_id);
		if (!err)
			err = pb_buf_printf(out, ": %s", a->reason && *a->reason ? a->reason : "?");
		if (!err && a->case_url && *a->case_url)
			err = pb_buf_printf(out, "\n%s %s", L->kase, a->case_url);
		return err;
	default:
		return PB_EINVAL;
	}
}

/* --- the API -------------------------------------------------------- */

/* Reads Chatwoot's own error text from a failed answer, for the message. */
static void answer_error(const pb_http_req *r, char *out, size_t n)
{
	cJSON *j = cJSON_ParseWithLength(pb_buf_str(&r->resp), r->resp.len);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "error");

	if (!cJSON_IsString(v))
		v = cJSON_GetObjectItemCaseSensitive(j, "message");
	out[0] = '\0';
	if (cJSON_IsString(v) && pb_utf8_valid(v->valuestring, strlen(v->valuestring)))
		snprintf(out, n, ": %.*s", (int)pb_utf8_clip(v->valuestring,
							       strlen(v->valuestring), 160),
			 v->valuestring);
	cJSON_Delete(j);
}

/* Sends one request and reads a 2xx JSON answer into *json (caller
 * deletes it). Failures fill res->retryable and res->retry_after. */
static pb_err api(cw *c, const char *method, const char *path, const cJSON *body,
		  bool idempotent, cJSON **json, pb_chan_result *res, pb_errbuf *eb)
{
	const char *headers[] = {c->token_hdr, "Content-Type: application/json",
				 "Accept: application/json", NULL};
	const char *secrets[] = {c->token, NULL};
	pb_http_req r = {0};
	pb_buf url;
	char where[300], detail[200], *b = NULL;
	pb_err err;

	*json = NULL;
	pb_buf_init(&url, 8192);
	if ((err = pb_buf_printf(&url, "%s%s", c->api, path)))
		goto out;
	if (body && !(b = cJSON_PrintUnformatted(body))) {
		err = PB_ENOMEM;
		goto out;
	}
	r.method = method;
	r.url = url.data;
	r.headers = headers;
	r.body = b;
	r.body_len = b ? strlen(b) : 0;
	r.secrets = secrets;
	r.idempotent = idempotent;
	r.max_body = MAX_ANSWER;
	if ((err = pb_http_perform(c->http, &r, 1)))
		goto out;
	pb_http_describe(method, url.data, where, sizeof where);
	pb_http_redact(where, sizeof where, secrets);
	err = r.err;
	res->retry_after = r.retry_after;
	switch (err) {
	case PB_OK:
		break;
	case PB_ERATELIMIT:
	case PB_EUPSTREAM:
	case PB_ETIMEOUT:
	case PB_EHTTP:
		res->retryable = true;
		/* fall through */
	default:
		pb_errf(eb, err, "chatwoot: %s", pb_errmsg(&r.eb, err));
		goto out;
	}
	if (r.status < 200 || r.status > 299) {
		answer_error(&r, detail, sizeof detail);
		pb_http_redact(detail, sizeof detail, secrets);
		err = pb_errf(eb, r.status == 401 || r.status == 403 ? PB_EAUTH : PB_EUPSTREAM,
			      "chatwoot: HTTP %ld from %s%s", r.status, where, detail);
		goto out;
	}
	*json = cJSON_ParseWithLength(pb_buf_str(&r.resp), r.resp.len);
	if (!*json) {
		/* A 2xx that is not JSON: the action may have happened, and
		 * the resend check will find it. */
		res->retryable = true;
		err = pb_errf(eb, PB_EPARSE, "chatwoot: %s answered %ld with a body that is not JSON",
			      where, r.status);
	}
out:
	if (err == PB_ENOMEM)
		pb_errf(eb, err, "chatwoot: out of memory");
	free(b);
	pb_http_req_release(&r);
	pb_buf_release(&url);
	return err;
}

bool pb_chatwoot_find_message(const cJSON *answer, const char *content, bool priv, int64_t since,
			      char *ext, size_t n)
{
	const cJSON *m, *list;
	int64_t at;

	list = cJSON_GetObjectItemCaseSensitive(answer, "payload");
	if (!cJSON_IsArray(list))
		list = answer;
	cJSON_ArrayForEach(m, list)
	{
		const cJSON *ct = cJSON_GetObjectItemCaseSensitive(m, "content");
		const cJSON *pv = cJSON_GetObjectItemCaseSensitive(m, "private");
		msg_type mt;
		if (!cJSON_IsString(ct) || strcmp(ct->valuestring, content) ||
		    cJSON_IsTrue(pv) != priv ||
		    !read_type(cJSON_GetObjectItemCaseSensitive(m, "message_type"), &mt) ||
		    mt != MT_OUTGOING)
			continue;
		if (!parse_created(cJSON_GetObjectItemCaseSensitive(m, "created_at"), &at) ||
		    at < since - PB_CHATWOOT_CLOCK_SLACK)
			continue;
		if (!id_text(cJSON_GetObjectItemCaseSensitive(m, "id"), ext, n))
			ext[0] = '\0';
		return true;
	}
	return false;
}

/* Looks through the conversation's recent messages for one with this text
 * and visibility written since the action was queued. */
static pb_err find_delivered(cw *c, const char *conv, const char *content, bool priv,
			     int64_t since, bool *found, char *ext, size_t n, pb_chan_result *res,
			     pb_errbuf *eb)
{
	char path[128];
	cJSON *j = NULL;
	pb_err err;

	*found = false;
	snprintf(path, sizeof path, "/conversations/%s/messages", conv);
	if ((err = api(c, "GET", path, NULL, true, &j, res, eb)))
		return err;
	*found = pb_chatwoot_find_message(j, content, priv, since, ext, n);
	cJSON_Delete(j);
	return PB_OK;
}

static pb_err post_message(cw *c, const pb_chan_action *a, const char *content, bool priv,
			   pb_chan_result *res, pb_errbuf *eb)
{
	char path[128];
	cJSON *body = cJSON_CreateObject(), *ans = NULL;
	pb_err err = PB_OK;
	bool found = false;

	if (!body)
		return pb_errf(eb, PB_ENOMEM, "chatwoot: out of memory");
	if (a->attempt > 0) {
		err = find_delivered(c, a->conversation, content, priv, a->queued_at, &found,
				     res->external_id, sizeof res->external_id, res, eb);
		if (err || found) {
			res->already = found;
			goto out;
		}
	}
	if (!cJSON_AddStringToObject(body, "content", content) ||
	    !cJSON_AddStringToObject(body, "message_type", "outgoing") ||
	    !cJSON_AddBoolToObject(body, "private", priv)) {
		err = pb_errf(eb, PB_ENOMEM, "chatwoot: out of memory");
		goto out;
	}
	snprintf(path, sizeof path, "/conversations/%s/messages", a->conversation);
	/* Not idempotent: a POST that may have arrived is not resent here;
	 * the outbox retries it later, after the check above. */
	if ((err = api(c, "POST", path, body, false, &ans, res, eb)))
		goto out;
	if (!id_text(cJSON_GetObjectItemCaseSensitive(ans, "id"), res->external_id,
		     sizeof res->external_id))
		res->external_id[0] = '\0';
out:
	cJSON_Delete(body);
	cJSON_Delete(ans);
	return err;
}

static pb_err add_label(cw *c, const pb_chan_action *a, pb_chan_result *res, pb_errbuf *eb)
{
	char path[128];
	cJSON *have = NULL, *body = NULL, *ans = NULL, *list;
	const cJSON *l, *cur;
	pb_err err;

	snprintf(path, sizeof path, "/conversations/%s/labels", a->conversation);
	if ((err = api(c, "GET", path, NULL, true, &have, res, eb)))
		return err;
	cur = cJSON_GetObjectItemCaseSensitive(have, "payload");
	cJSON_ArrayForEach(l, cur)
	{
		if (cJSON_IsString(l) && !strcmp(l->valuestring, c->label))
			goto out; /* there already */
	}
	body = cJSON_CreateObject();
	list = body ? cJSON_AddArrayToObject(body, "labels") : NULL;
	if (!list) {
		err = pb_errf(eb, PB_ENOMEM, "chatwoot: out of memory");
		goto out;
	}
	/* POST replaces the whole set: send the union. */
	cJSON_ArrayForEach(l, cur)
	{
		if (cJSON_IsString(l) && !cJSON_AddItemToArray(list, cJSON_CreateString(l->valuestring))) {
			err = pb_errf(eb, PB_ENOMEM, "chatwoot: out of memory");
			goto out;
		}
	}
	if (!cJSON_AddItemToArray(list, cJSON_CreateString(c->label))) {
		err = pb_errf(eb, PB_ENOMEM, "chatwoot: out of memory");
		goto out;
	}
	err = api(c, "POST", path, body, true, &ans, res, eb);
out:
	cJSON_Delete(have);
	cJSON_Delete(body);
	cJSON_Delete(ans);
	return err;
}

static pb_err open_conversation(cw *c, const pb_chan_action *a, pb_chan_result *res,
				pb_errbuf *eb)
{
	char path[128];
	cJSON *body = cJSON_CreateObject(), *ans = NULL;
	pb_err err;

	if (!body || !cJSON_AddStringToObject(body, "status", "open")) {
		cJSON_Delete(body);
		return pb_errf(eb, PB_ENOMEM, "chatwoot: out of memory");
	}
	snprintf(path, sizeof path, "/conversations/%s/toggle_status", a->conversation);
	err = api(c, "POST", path, body, true, &ans, res, eb);
	cJSON_Delete(body);
	cJSON_Delete(ans);
	return err;
}

static bool digits(const char *s)
{
	size_t i;

	if (!s || !*s || strlen(s) > 20)
		return false;
	for (i = 0; s[i]; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static pb_err cw_perform(pb_channel *ch, const pb_chan_action *a, int64_t now,
			 pb_chan_result *res, pb_errbuf *eb)
{
	cw *c = (cw *)ch;
	pb_buf text;
	pb_err err;
	char note_id[sizeof res->external_id];
	bool already;

	(void)now;
	if (!digits(a->conversation))
		return pb_errf(eb, PB_EINVAL, "chatwoot: conversation id '%.40s' is not a number",
			       a->conversation ? a->conversation : "");
	if (a->kind == PB_CHAN_SEND_REPLY && (!a->text || !*a->text))
		return pb_errf(eb, PB_EINVAL, "chatwoot: a reply needs text");
	pb_buf_init(&text, MAX_TEXT);
	if ((err = pb_chatwoot_render(a, &text))) {
		err = pb_errf(eb, err, "chatwoot: cannot write the %s message: %s",
			      pb_chan_kind_name(a->kind), pb_strerror(err));
		goto out;
	}
	switch (a->kind) {
	case PB_CHAN_POST_DRAFT:
	case PB_CHAN_NOTIFY:
		err = post_message(c, a, pb_buf_str(&text), true, res, eb);
		break;
	case PB_CHAN_SEND_REPLY:
		err = post_message(c, a, pb_buf_str(&text), false, res, eb);
		break;
	case PB_CHAN_HAND_OFF:
		/* The note once; the label and the status again are harmless. */
		if ((err = post_message(c, a, pb_buf_str(&text), true, res, eb)))
			break;
		already = res->already;
		memcpy(note_id, res->external_id, sizeof note_id);
		if ((err = add_label(c, a, res, eb)) || (err = open_conversation(c, a, res, eb)))
			break;
		res->already = already;
		memcpy(res->external_id, note_id, sizeof note_id);
		break;
	default:
		err = pb_errf(eb, PB_EINVAL, "chatwoot: unknown action");
		break;
	}
out:
	pb_buf_release(&text);
	return err;
}

static const pb_channel_ops cw_ops = {
	.name = "chatwoot",
	.webhook = cw_webhook,
	.perform = cw_perform,
	.free = cw_free,
};

pb_err pb_chatwoot_new(const pb_chatwoot_config *cfg, pb_http *http, pb_channel **out,
		       pb_errbuf *eb)
{
	cw *c;
	size_t n;
	pb_buf b;

	if (!cfg->url || !*cfg->url || cfg->account_id <= 0 || !cfg->api_token ||
	    !*cfg->api_token || !cfg->webhook_secret || !*cfg->webhook_secret || !http)
		return pb_errf(eb, PB_ECONFIG,
			       "chatwoot: url, account_id, api_token and webhook_secret are required");
	if (strncmp(cfg->url, "http://", 7) && strncmp(cfg->url, "https://", 8))
		return pb_errf(eb, PB_ECONFIG, "chatwoot: url must start with http:// or https://");
	if (strpbrk(cfg->api_token, "\r\n"))
		return pb_errf(eb, PB_ECONFIG, "chatwoot: the api token contains a line break");
	c = calloc(1, sizeof *c);
	if (!c)
		return pb_errf(eb, PB_ENOMEM, "out of memory");
	c->base.ops = &cw_ops;
	snprintf(c->base.name, sizeof c->base.name, "chatwoot");
	c->http = http;
	c->account_id = cfg->account_id;
	n = strlen(cfg->url);
	while (n > 0 && cfg->url[n - 1] == '/')
		n--;
	pb_buf_init(&b, 8192);
	if (!pb_buf_printf(&b, "%.*s/api/v1/accounts/%ld", (int)n, cfg->url, cfg->account_id))
		c->api = pb_buf_detach(&b, NULL);
	pb_buf_release(&b);
	c->token = strdup(cfg->api_token);
	c->secret = strdup(cfg->webhook_secret);
	c->label = strdup(cfg->escalate_label && *cfg->escalate_label ? cfg->escalate_label
								    : "parcel-escalated");
	pb_buf_init(&b, 8192);
	if (!pb_buf_printf(&b, "api_access_token: %s", cfg->api_token))
		c->token_hdr = pb_buf_detach(&b, NULL);
	pb_buf_release(&b);
	if (!c->api || !c->token || !c->secret || !c->label || !c->token_hdr) {
		cw_free(&c->base);
		return pb_errf(eb, PB_ENOMEM, "out of memory");
	}
	*out = &c->base;
	return PB_OK;
}
