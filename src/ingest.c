/*
 * Ingest (see ingest.h): events into the inbox, inbox rows through the
 * pipeline into cases. A batch is claimed in a short transaction of its
 * own, its traces are looked up with no transaction open, and then all of
 * it is written in one transaction with a savepoint per message, so one
 * bad message is set aside without losing the others' work.
 */
#include "parcelbot/ingest.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/case.h"
#include "parcelbot/classify.h"
#include "parcelbot/kb.h"
#include "parcelbot/pipeline.h"
#include "parcelbot/policy.h"
#include "parcelbot/utf8.h"

struct pb_ingest {
	const pb_kb *kb;
	pb_store *st;
	pb_classifier *cl;
	pb_ingest_opts o;
	char worker[PB_STORE_MAX_NAME + 1];
	char actor[PB_STORE_MAX_NAME + 1];
	pb_ingest_stats stats;
};

pb_err pb_ingest_new(const pb_kb *kb, pb_store *st, const pb_ingest_opts *o, pb_ingest **out,
		     pb_errbuf *eb)
{
	pb_ingest *ing;

	*out = NULL;
	if (!kb || !kb->policy || !st)
		return pb_errf(eb, PB_EINVAL, "ingest needs a knowledge base and a store");
	ing = calloc(1, sizeof *ing);
	if (!ing || !(ing->cl = pb_classifier_new(kb))) {
		free(ing);
		return pb_errf(eb, PB_ENOMEM, "out of memory");
	}
	ing->kb = kb;
	ing->st = st;
	if (o)
		ing->o = *o;
	snprintf(ing->worker, sizeof ing->worker, "%s",
		 ing->o.worker && *ing->o.worker ? ing->o.worker : "ingest");
	snprintf(ing->actor, sizeof ing->actor, "%s",
		 ing->o.actor && *ing->o.actor ? ing->o.actor : "parcelbot");
	if (!ing->o.batch)
		ing->o.batch = 256;
	if (ing->o.lease <= 0)
		ing->o.lease = 300;
	if (ing->o.cache_ttl <= 0)
		ing->o.cache_ttl = 7200;
	if (ing->o.max_attempts <= 0)
		ing->o.max_attempts = 3;
	*out = ing;
	return PB_OK;
}

void pb_ingest_free(pb_ingest *ing)
{
	if (!ing)
		return;
	pb_classifier_free(ing->cl);
	free(ing);
}

const pb_ingest_stats *pb_ingest_get_stats(const pb_ingest *ing)
{
	return &ing->stats;
}

/* ---- the envelope: what identifies an event ---- */

typedef struct envelope {
	char channel[65];
	char message_id[PB_STORE_MAX_NAME + 1];
	char conversation[PB_STORE_MAX_NAME + 1];
	char buyer[PB_STORE_MAX_NAME + 1];
	const char *message;
	const char *command; /* an agent's command, or NULL for a buyer's message */
	const char *agent;   /* who gave the command */
	const char *text;    /* the command's argument, "" when none */
} envelope;

static const char *const commands[] = {"send", "reject", "escalate", "note", "resolve", NULL};

/* An id given as a string or an integer. */
static pb_err id_field(const cJSON *j, const char *key, bool required, char *buf, size_t n,
		       pb_errbuf *eb)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
	size_t len;

	buf[0] = '\0';
	if (!v || cJSON_IsNull(v))
		return required ? pb_errf(eb, PB_EINVAL, "%s is required", key) : PB_OK;
	if (cJSON_IsNumber(v)) {
		/* Range first: casting a double beyond long long is undefined. */
		if (!(v->valuedouble >= 0 && v->valuedouble < 9.2e18) ||
		    v->valuedouble != (double)(long long)v->valuedouble)
			return pb_errf(eb, PB_EINVAL, "%s must be a string or a whole number", key);
		snprintf(buf, n, "%lld", (long long)v->valuedouble);
		return PB_OK;
	}
	if (!cJSON_IsString(v))
		return pb_errf(eb, PB_EINVAL, "%s must be a string or a whole number", key);
	len = strlen(v->valuestring);
	if (!len || len >= n)
		return pb_errf(eb, PB_EINVAL, "%s must be 1 to %zu bytes", key, n - 1);
	if (!pb_utf8_valid(v->valuestring, len))
		return pb_errf(eb, PB_EUTF8, "%s is not valid UTF-8", key);
	memcpy(buf, v->valuestring, len + 1);
	return PB_OK;
}

static pb_err read_envelope(const pb_kb *kb, const cJSON *j, envelope *e, pb_errbuf *eb)
{
	const cJSON *v;
	const char *p;
	pb_when w;
	pb_err err;

	memset(e, 0, sizeof *e);
	if (!cJSON_IsObject(j))
		return pb_errf(eb, PB_EINVAL, "an event must be a JSON object");
	if ((err = id_field(j, "message_id", true, e->message_id, sizeof e->message_id, eb)) ||
	    (err = id_field(j, "conversation", true, e->conversation, sizeof e->conversation, eb)) ||
	    (err = id_field(j, "buyer", false, e->buyer, sizeof e->buyer, eb)) ||
	    (err = id_field(j, "channel", false, e->channel, sizeof e->channel, eb)))
		return err;
	if (!e->channel[0])
		snprintf(e->channel, sizeof e->channel, "cli");
	/* Channel names end up in keys and file names: keep them plain. */
	for (p = e->channel; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		      *p == '-' || *p == '.'))
			return pb_errf(eb, PB_EINVAL,
				       "channel must be lower-case letters, digits, '_', '-' or '.'");
	v = cJSON_GetObjectItemCaseSensitive(j, "kind");
	if (v && !cJSON_IsNull(v) &&
	    (!cJSON_IsString(v) ||
	     (strcmp(v->valuestring, "message") && strcmp(v->valuestring, "command"))))
		return pb_errf(eb, PB_EINVAL, "kind must be \"message\" or \"command\"");
	if (v && cJSON_IsString(v) && !strcmp(v->valuestring, "command")) {
		size_t i;
		v = cJSON_GetObjectItemCaseSensitive(j, "command");
		for (i = 0; cJSON_IsString(v) && commands[i]; i++)
			if (!strcmp(v->valuestring, commands[i]))
				e->command = commands[i];
		if (!e->command)
			return pb_errf(eb, PB_EINVAL,
				       "command must be send, reject, escalate, note or resolve");
		v = cJSON_GetObjectItemCaseSensitive(j, "agent");
		if (v && !cJSON_IsNull(v) &&
		    (!cJSON_IsString(v) || !*v->valuestring ||
		     strlen(v->valuestring) > PB_STORE_MAX_NAME ||
		     !pb_utf8_valid(v->valuestring, strlen(v->valuestring))))
			return pb_errf(eb, PB_EINVAL, "agent must be a name of 1 to %d bytes",
				       PB_STORE_MAX_NAME);
		/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): cJSON_IsString(NULL) is false */
		e->agent = cJSON_IsString(v) ? v->valuestring : "agent";
		v = cJSON_GetObjectItemCaseSensitive(j, "text");
		if (v && !cJSON_IsNull(v) && !cJSON_IsString(v))
			return pb_errf(eb, PB_EINVAL, "text must be a string");
		/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): cJSON_IsString(NULL) is false */
		e->text = cJSON_IsString(v) ? v->valuestring : "";
		if (!pb_utf8_valid(e->text, strlen(e->text)))
			return pb_errf(eb, PB_EUTF8, "text is not valid UTF-8");
	} else {
		v = cJSON_GetObjectItemCaseSensitive(j, "message");
		if (!cJSON_IsString(v) || !*v->valuestring)
			return pb_errf(eb, PB_EINVAL, "message must be a non-empty string");
		if (!pb_utf8_valid(v->valuestring, strlen(v->valuestring)))
			return pb_errf(eb, PB_EUTF8, "message is not valid UTF-8");
		e->message = v->valuestring;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "now");
	if (v && !cJSON_IsNull(v) &&
	    (!cJSON_IsString(v) || pb_time_parse(v->valuestring, kb->policy->tz_off, &w)))
		return pb_errf(eb, PB_EPARSE, "now must be an ISO 8601 date-time");
	return PB_OK;
}

pb_err pb_ingest_accept(pb_ingest *ing, const char *json, size_t len, int64_t received_at,
			pb_errbuf *eb)
{
	cJSON *j = cJSON_ParseWithLength(json, len);
	envelope e;
	char *payload = NULL;
	pb_err err;

	if (!j) {
		err = pb_errf(eb, PB_EPARSE, "not valid JSON");
		goto out;
	}
	if ((err = read_envelope(ing->kb, j, &e, eb)))
		goto out;
	payload = strndup(json, len);
	if (!payload) {
		err = pb_errf(eb, PB_ENOMEM, "out of memory");
		goto out;
	}
	err = pb_store_inbox_put(ing->st, e.channel, e.message_id, payload, received_at, NULL, eb);
out:
	if (!err)
		ing->stats.received++;
	else if (err == PB_EEXIST)
		ing->stats.duplicate++;
	else if (err == PB_EINVAL || err == PB_EPARSE || err == PB_EUTF8)
		ing->stats.rejected++;
	free(payload);
	cJSON_Delete(j);
	return err;
}

/* ---- one batch ---- */

typedef struct job {
	pb_store_inbox_row row;
	cJSON *j;
	envelope e;
	char bad[sizeof(pb_errbuf)]; /* why the payload cannot be processed, or "" */
	pb_err bad_err;
	bool lookup_wanted; /* the parcel came with a number and no events */
	const char *carrier; /* its carrier, as looked up ("unknown" if none) */
	const char *number;
	const char *phone;  /* the recipient's last 4 digits, or NULL */
	int64_t at;         /* when the buyer wrote */
	bool ask;           /* the cache has no fresh trace: look it up */
	pb_trace resolved;  /* the resolver's answer, asked before the transaction */
	bool has_resolved;
	pb_trace looked;    /* the trace the message uses, chosen inside it */
	bool has_looked;
} job;

static void job_release(job *jb)
{
	pb_store_inbox_row_release(&jb->row);
	cJSON_Delete(jb->j);
	if (jb->has_looked)
		pb_trace_release(&jb->looked);
	if (jb->has_resolved)
		pb_trace_release(&jb->resolved);
	memset(jb, 0, sizeof *jb);
}

/* The cached trace, whether it is fresh or not; false when there is none
 * or it cannot be read. */
static bool from_cache(pb_ingest *ing, const char *carrier, const char *number, pb_trace *t,
		       int64_t *fetched_at)
{
	pb_errbuf eb;
	char *json = NULL;
	cJSON *j;
	bool ok = false;

	if (pb_store_track_get(ing->st, carrier, number, &json, fetched_at, &eb))
		return false;
	j = cJSON_Parse(json);
	if (j && !pb_trace_from_json(j, ing->kb->policy->tz_off, t, &eb)) {
		t->fetched_at = *fetched_at;
		ok = true;
	}
	cJSON_Delete(j);
	free(json);
	return ok;
}

/* Before the transaction: whether a parcel given only by carrier and
 * number needs a lookup, i.e. the cache holds no fresh trace of it. */
static bool needs_lookup(pb_ingest *ing, const job *jb)
{
	pb_errbuf eb;
	char *json = NULL;
	int64_t fetched = 0;

	if (!pb_store_track_get(ing->st, jb->carrier, jb->number, &json, &fetched, &eb)) {
		free(json);
		if (fetched >= jb->at - ing->o.cache_ttl)
			return false;
	}
	return true;
}

/* Keeps a looked-up trace: in the cache, and with every job that asked
 * for it. A cache that cannot be written costs a lookup next time,
 * nothing more. */
static void keep_resolved(pb_ingest *ing, job *jb, pb_trace *fresh)
{
	cJSON *tj;
	char *js;
	pb_errbuf eb;

	if (!fresh->fetched_at)
		fresh->fetched_at = jb->at;
	tj = pb_trace_json(fresh);
	js = tj ? cJSON_PrintUnformatted(tj) : NULL;
	if (js)
		pb_store_track_put(ing->st, jb->carrier, jb->number, js, fresh->fetched_at, &eb);
	free(js);
	cJSON_Delete(tj);
	jb->resolved = *fresh;
	jb->has_resolved = true;
}

static bool same_parcel(const job *a, const job *b)
{
	return !strcmp(a->carrier, b->carrier) && !strcmp(a->number, b->number);
}

/* Before the transaction: looks up every number-only parcel of the batch
 * the cache cannot answer, each once, all at once when the resolver can
 * batch. */
static void resolve_batch(pb_ingest *ing, job *jobs, size_t n, pb_ingest_stats *s)
{
	pb_ingest_lookup *l;
	size_t *of, m = 0, i, k;

	for (i = 0; i < n; i++)
		if (jobs[i].lookup_wanted && !jobs[i].bad[0])
			jobs[i].ask = needs_lookup(ing, &jobs[i]);
	for (i = 0; i < n; i++)
		m += jobs[i].ask;
	if (!m)
		return;
	if (!ing->o.resolve && !ing->o.resolve_many) {
		snprintf(s->lookup_error, sizeof s->lookup_error, "no tracking lookup is configured");
		return;
	}
	l = calloc(m, sizeof *l);
	of = calloc(m, sizeof *of);
	if (!l || !of) {
		free(l);
		free(of);
		snprintf(s->lookup_error, sizeof s->lookup_error, "out of memory");
		return;
	}
	m = 0;
	for (i = 0; i < n; i++) {
		if (!jobs[i].ask)
			continue;
		for (k = 0; k < m && !same_parcel(&jobs[of[k]], &jobs[i]); k++)
			;
		if (k < m)
			continue; /* asked already for an earlier message */
		of[m] = i;
		l[m].carrier = jobs[i].carrier;
		l[m].number = jobs[i].number;
		l[m].phone_last4 = jobs[i].phone;
		pb_trace_init(&l[m].trace);
		m++;
	}
	s->lookups += m;
	if (ing->o.resolve_many) {
		ing->o.resolve_many(ing->o.resolve_ctx, l, m, jobs[of[0]].at);
	} else {
		for (k = 0; k < m; k++) {
			l[k].eb.msg[0] = '\0';
			l[k].err = ing->o.resolve(ing->o.resolve_ctx, l[k].carrier, l[k].number,
						  l[k].phone_last4, jobs[of[k]].at, &l[k].trace,
						  &l[k].eb);
		}
	}
	for (k = 0; k < m; k++) {
		if (l[k].err) {
			snprintf(s->lookup_error, sizeof s->lookup_error, "%s",
				 pb_errmsg(&l[k].eb, l[k].err));
			pb_trace_release(&l[k].trace);
			continue;
		}
		/* Later messages about the same parcel share the answer. */
		for (i = of[k] + 1; i < n; i++) {
			pb_trace copy;
			if (!jobs[i].ask || !same_parcel(&jobs[i], &jobs[of[k]]) ||
			    pb_trace_copy(&copy, &l[k].trace))
				continue;
			if (!copy.fetched_at)
				copy.fetched_at = jobs[of[k]].at;
			jobs[i].resolved = copy;
			jobs[i].has_resolved = true;
		}
		keep_resolved(ing, &jobs[of[k]], &l[k].trace);
	}
	free(l);
	free(of);
}

/* Inside the transaction: the trace a number-only parcel uses is a fresh
 * cached one, else the resolver's answer, else a stale cached one marked
 * stale. Reading the cache here, not before, means a trace an earlier
 * message of the same batch brought is seen: what a message gets never
 * depends on where a batch happened to start. */
static pb_err choose_trace(pb_ingest *ing, job *jb, int64_t at, pb_ingest_stats *s)
{
	pb_trace cached;
	int64_t fetched = 0;
	bool have;

	if (!jb->lookup_wanted)
		return PB_OK;
	if (jb->has_looked) {
		/* A replay of the batch chooses again. */
		pb_trace_release(&jb->looked);
		jb->has_looked = false;
	}
	have = from_cache(ing, jb->carrier, jb->number, &cached, &fetched);
	if (have && fetched >= at - ing->o.cache_ttl) {
		jb->looked = cached;
		s->cache_hits++;
	} else if (jb->has_resolved) {
		if (have)
			pb_trace_release(&cached);
		if (pb_trace_copy(&jb->looked, &jb->resolved))
			return PB_ENOMEM;
	} else if (have) {
		cached.stale = true;
		jb->looked = cached;
		s->cache_hits++;
	} else {
		s->untraced++;
		return PB_OK;
	}
	jb->has_looked = true;
	return PB_OK;
}

static bool is_command(const cJSON *j)
{
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "kind");

	return cJSON_IsString(k) && !strcmp(k->valuestring, "command");
}

/* Reads the payload and sees whether its parcel needs a lookup, outside
 * any transaction. */
static void prepare(pb_ingest *ing, job *jb, pb_ingest_stats *s)
{
	const cJSON *parcel, *order, *v;
	pb_errbuf eb;
	pb_when at;
	char tb[40];

	eb.msg[0] = '\0';
	jb->j = cJSON_Parse(jb->row.payload);
	if (!jb->j) {
		jb->bad_err = PB_EPARSE;
		snprintf(jb->bad, sizeof jb->bad, "the event is not valid JSON");
		return;
	}
	if (ing->o.enrich && !is_command(jb->j)) {
		pb_err err = ing->o.enrich(ing->o.enrich_ctx, jb->j, jb->row.received_at, &eb);
		if (err) {
			s->enrich_failed++;
			snprintf(s->enrich_error, sizeof s->enrich_error, "event %s: %s",
				 jb->row.external_id, pb_errmsg(&eb, err));
		}
		eb.msg[0] = '\0';
	}
	if ((jb->bad_err = read_envelope(ing->kb, jb->j, &jb->e, &eb))) {
		snprintf(jb->bad, sizeof jb->bad, "%s", eb.msg);
		return;
	}
	if (jb->e.command)
		return;
	v = cJSON_GetObjectItemCaseSensitive(jb->j, "now");
	if (!v || cJSON_IsNull(v)) {
		/* The buyer wrote when the event arrived. */
		cJSON_DeleteItemFromObjectCaseSensitive(jb->j, "now");
		cJSON_AddStringToObject(jb->j, "now",
					pb_time_format((pb_when){jb->row.received_at,
								 ing->kb->policy->tz_off},
						       tb, sizeof tb));
		v = cJSON_GetObjectItemCaseSensitive(jb->j, "now");
	}
	if (!cJSON_IsString(v) || pb_time_parse(v->valuestring, ing->kb->policy->tz_off, &at)) {
		jb->bad_err = PB_EPARSE;
		snprintf(jb->bad, sizeof jb->bad, "now must be an ISO 8601 date-time");
		return;
	}
	parcel = cJSON_GetObjectItemCaseSensitive(jb->j, "parcel");
	if (cJSON_IsObject(parcel) && !cJSON_GetObjectItemCaseSensitive(parcel, "events")) {
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(parcel, "carrier");
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(parcel, "number");
		const char *phone = NULL;
		order = cJSON_GetObjectItemCaseSensitive(jb->j, "order");
		v = cJSON_GetObjectItemCaseSensitive(order, "phone_last4");
		if (cJSON_IsString(v))
			phone = v->valuestring;
		if (cJSON_IsString(n) && *n->valuestring && strlen(n->valuestring) <= PB_MAX_NUMBER &&
		    pb_utf8_valid(n->valuestring, strlen(n->valuestring))) {
			jb->lookup_wanted = true;
			jb->carrier = cJSON_IsString(c) && *c->valuestring &&
						      strlen(c->valuestring) <= PB_STORE_MAX_NAME &&
						      pb_utf8_valid(c->valuestring, strlen(c->valuestring))
					      ? c->valuestring
					      : "unknown";
			jb->number = n->valuestring;
			jb->phone = phone;
			jb->at = at.t;
		}
	}
}

static char *json_take(cJSON *j)
{
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;

	cJSON_Delete(j);
	return s;
}

/* Errors in the event itself: retrying cannot help. */
static bool permanent(pb_err err)
{
	return err == PB_EINVAL || err == PB_EPARSE || err == PB_EUTF8 || err == PB_ETOOBIG ||
	       err == PB_ENOTFOUND || err == PB_EKB;
}

/* Errors of the store or the machine: the batch stops. */
static bool fatal(pb_err err)
{
	return err == PB_EDB || err == PB_EIO || err == PB_ENOMEM;
}

/* An agent's command from the channel, on the conversation's case. */
static pb_err process_command(pb_ingest *ing, job *jb, int64_t now, pb_ingest_stats *s,
			      pb_errbuf *eb)
{
	const envelope *e = &jb->e;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(jb->j, "now");
	pb_store_case c;
	pb_when at = {now, ing->kb->policy->tz_off};
	pb_err err;

	if (cJSON_IsString(v) && pb_time_parse(v->valuestring, ing->kb->policy->tz_off, &at))
		at.t = now;
	err = pb_store_case_for_conversation(ing->st, e->channel, e->conversation, &c, eb);
	if (err == PB_ENOTFOUND)
		return pb_errf(eb, PB_ENOTFOUND, "/%s: conversation %s has no open case", e->command,
			       e->conversation);
	if (err)
		return err;
	if (!strcmp(e->command, "send")) {
		pb_case_approval ap;
		err = pb_case_approve(ing->st, ing->kb, c.id, 0, *e->text ? e->text : NULL, e->agent,
				      at.t, &ap, eb);
	} else if (!strcmp(e->command, "reject")) {
		err = pb_case_reject(ing->st, c.id, e->text, e->agent, at.t, eb);
	} else if (!strcmp(e->command, "escalate")) {
		err = pb_case_escalate(ing->st, c.id, *e->text ? e->text : NULL, e->agent, at.t, eb);
	} else if (!strcmp(e->command, "note")) {
		err = pb_case_note(ing->st, c.id, e->text, e->agent, at.t, NULL, eb);
	} else if (!pb_case_outcome_valid(e->text)) {
		err = pb_errf(eb, PB_EINVAL, "/resolve: the outcome must be one of %s",
			      pb_case_outcomes());
	} else {
		err = pb_case_resolve(ing->st, ing->kb, c.id, e->text, e->agent, at.t, eb);
	}
	pb_store_case_release(&c);
	/* A refusal is about this command, not a race between workers: keep
	 * it with the event for the agent and the operator to read. */
	if (err == PB_ESTATE)
		err = PB_EINVAL;
	if (!err)
		s->commands++;
	return err;
}

/* Everything one message causes. Runs inside a savepoint. */
static pb_err process_one(pb_ingest *ing, job *jb, int64_t now, pb_ingest_stats *s,
			  pb_errbuf *eb)
{
	const pb_kb *kb = ing->kb;
	pb_store *st = ing->st;
	const envelope *e = &jb->e;
	pb_case_input in;
	pb_case_result r;
	pb_order order;
	pb_trace trace, unknown;
	pb_verdict v;
	pb_store_case c;
	pb_case_join how = PB_JOIN_NONE;
	pb_store_message m;
	pb_id conv = 0, order_id = 0, parcel_id = 0, msg_id = 0, draft_id = 0;
	bool has_order = false, has_trace = false, has_r = false;
	const char *kind;
	char scope[48], key[PB_STORE_MAX_NAME + 64], *js = NULL, *js2 = NULL;
	pb_err err;

	memset(&c, 0, sizeof c);
	pb_order_init(&order);
	pb_trace_init(&trace);
	pb_trace_init(&unknown);
	if ((err = pb_store_inbox_done(st, jb->row.id, now, eb)))
		return err; /* PB_ESTATE: another worker did it */
	if (jb->bad[0])
		return pb_errf(eb, jb->bad_err, "%s", jb->bad);
	if (e->command)
		return process_command(ing, jb, now, s, eb);
	if ((err = pb_case_from_json(kb, jb->j, &in, &order, &has_order, &trace, &has_trace, eb)))
		return err;
	if ((err = choose_trace(ing, jb, in.now, s)))
		goto out;
	if (!has_trace && jb->has_looked) {
		in.trace = &jb->looked;
	} else if (!has_trace && jb->lookup_wanted) {
		/* The parcel exists but its trace could not be had: it has
		 * shipped, and the draft must not claim where it is. */
		unknown.carrier = (char *)jb->carrier;
		unknown.number = (char *)jb->number;
		unknown.stale = true;
		in.trace = &unknown;
	}
	if ((err = pb_classify(ing->cl, in.message, strlen(in.message), &v, eb)))
		goto out;
	in.verdict = &v;

	if ((err = pb_store_conversation_upsert(st, e->channel, e->conversation,
						e->buyer[0] ? e->buyer : NULL, in.now, &conv, eb)))
		goto out;
	if (has_order) {
		if (!(js = json_take(pb_order_json(&order)))) {
			err = pb_errf(eb, PB_ENOMEM, "out of memory");
			goto out;
		}
		if ((err = pb_store_order_put(st, e->channel, order.id, js, in.now, &order_id, eb)))
			goto out;
		free(js);
		js = NULL;
	}
	if (order_id)
		snprintf(scope, sizeof scope, "order:%lld", (long long)order_id);
	else
		snprintf(scope, sizeof scope, "conv:%lld", (long long)conv);
	kind = pb_case_kind(kb, &v);
	if ((err = pb_case_find_for_message(st, kb, scope, &v, &c, &how, eb)))
		goto out;
	/* The template variant follows the case: scope and kind name it. */
	snprintf(key, sizeof key, "%s/%s", how != PB_JOIN_NONE ? c.scope : scope,
		 how != PB_JOIN_NONE ? c.kind : kind ? kind : "none");
	in.id = key;
	in.contacts = how == PB_JOIN_CONTACT ? c.contacts : 0;
	if ((err = pb_pipeline_run(kb, ing->cl, &in, &r, eb)))
		goto out;
	has_r = true;

	/* The parcel as last seen, with the trace and what it meant. */
	{
		const cJSON *pj = cJSON_GetObjectItemCaseSensitive(jb->j, "parcel");
		const cJSON *cj = cJSON_GetObjectItemCaseSensitive(pj, "carrier");
		const cJSON *nj = cJSON_GetObjectItemCaseSensitive(pj, "number");
		pb_store_parcel p;
		memset(&p, 0, sizeof p);
		p.carrier = in.trace && in.trace->carrier && *in.trace->carrier ? in.trace->carrier
			    : cJSON_IsString(cj) && *cj->valuestring ? cj->valuestring
								     : (char *)"unknown";
		p.number = in.trace && in.trace->number && *in.trace->number ? in.trace->number
			   : cJSON_IsString(nj) ? nj->valuestring
						: NULL;
		if (p.number && *p.number) {
			if (in.trace && in.trace != &unknown) {
				js = json_take(pb_trace_json(in.trace));
				js2 = json_take(pb_assessment_json(&r.assessment, in.trace));
				if (!js || !js2) {
					err = pb_errf(eb, PB_ENOMEM, "out of memory");
					goto out;
				}
			}
			p.trace = js;
			p.assessment = js2;
			p.order_id = order_id;
			p.updated_at = in.now;
			if ((err = pb_store_parcel_put(st, &p, &parcel_id, eb)))
				goto out;
			/* A trace the order source gave is the freshest there
			 * is: later messages that name only the number use it. */
			if (has_trace &&
			    (err = pb_store_track_put(st, p.carrier, p.number, js, in.now, eb)))
				goto out;
			free(js);
			free(js2);
			js = js2 = NULL;
		}
	}

	if (how == PB_JOIN_NONE && kind && r.reply.action != PB_ACT_NONE) {
		pb_case_open_args a;
		pb_situation sit;
		pb_draft_situation(kb, &v, in.order, &r.assessment, 0, &sit);
		memset(&a, 0, sizeof a);
		a.scope = scope;
		a.kind = kind;
		a.origin = "buyer";
		a.conversation_id = conv;
		a.order_id = order_id;
		a.parcel_id = parcel_id;
		a.problem = sit.problem;
		a.lang = v.lang == PB_LANG_ZH ? "zh" : "en";
		a.now = in.now;
		a.actor = ing->actor;
		if ((err = pb_case_open(st, kb, &a, &c, eb)))
			goto out;
		how = PB_JOIN_CONTACT;
		s->opened++;
	} else if (how == PB_JOIN_CONTACT) {
		s->joined++;
	}
	if (how == PB_JOIN_CONTACT) {
		if (order_id)
			c.order_id = order_id;
		if (parcel_id)
			c.parcel_id = parcel_id;
		/* A proactive case has no conversation until the buyer writes:
		 * this one is where its replies go from now on. */
		if (!c.conversation_id) {
			char *ch = strdup(e->channel), *cv = strdup(e->conversation);
			if (!ch || !cv) {
				free(ch);
				free(cv);
				err = pb_errf(eb, PB_ENOMEM, "out of memory");
				goto out;
			}
			c.conversation_id = conv;
			free(c.channel);
			free(c.conversation);
			c.channel = ch;
			c.conversation = cv;
		}
	}

	memset(&m, 0, sizeof m);
	m.channel = (char *)e->channel;
	m.external_id = (char *)e->message_id;
	m.conversation_id = conv;
	m.case_id = how != PB_JOIN_NONE ? c.id : 0;
	snprintf(m.direction, sizeof m.direction, "in");
	m.author = e->buyer[0] ? (char *)e->buyer : NULL;
	m.text = (char *)in.message;
	m.verdict = js = json_take(pb_verdict_json(kb, &v, in.message, strlen(in.message)));
	m.at = in.now;
	if ((err = pb_store_message_add(st, &m, &msg_id, eb)))
		goto out;
	if (how == PB_JOIN_NONE) {
		s->no_case++;
		goto out;
	}
	if ((err = pb_case_take_message(st, kb, &c, how, msg_id, &in, &r, ing->actor, &draft_id,
					eb)))
		goto out;
	if (draft_id) {
		if (r.reply.action == PB_ACT_ESCALATE)
			s->escalated++;
		else
			s->drafted++;
	}
out:
	free(js);
	free(js2);
	if (has_r)
		pb_case_result_release(&r);
	if (has_order)
		pb_order_release(&order);
	if (has_trace)
		pb_trace_release(&trace);
	pb_store_case_release(&c);
	return err;
}

static void add_stats(pb_ingest_stats *to, const pb_ingest_stats *s)
{
	to->processed += s->processed;
	to->failed += s->failed;
	to->drafted += s->drafted;
	to->escalated += s->escalated;
	to->opened += s->opened;
	to->joined += s->joined;
	to->no_case += s->no_case;
	to->cache_hits += s->cache_hits;
	to->lookups += s->lookups;
	to->untraced += s->untraced;
	to->commands += s->commands;
	to->enrich_failed += s->enrich_failed;
	if (s->lookup_error[0])
		memcpy(to->lookup_error, s->lookup_error, sizeof to->lookup_error);
	if (s->enrich_error[0])
		memcpy(to->enrich_error, s->enrich_error, sizeof to->enrich_error);
}

/* Writes one claimed batch in one transaction. The first pass takes no
 * savepoints: a savepoint copies every page a message touches, and
 * messages rarely fail. If one does, the pass is rolled back and replayed
 * with a savepoint per message, so the failure is set aside alone. */
static pb_err write_batch(pb_ingest *ing, job *jobs, size_t n, int64_t now, pb_ingest_stats *s,
			  pb_errbuf *eb)
{
	pb_store *st = ing->st;
	pb_ingest_stats start = *s;
	pb_errbuf one;
	bool careful = false;
	size_t i;
	pb_err err;

again:
	if ((err = pb_store_begin(st, eb)))
		return err;
	for (i = 0; i < n; i++) {
		job *jb = &jobs[i];
		pb_ingest_stats before = *s;
		if (careful && (err = pb_store_begin(st, eb)))
			break;
		one.msg[0] = '\0';
		err = process_one(ing, jb, now, s, &one);
		if (!err) {
			if (careful && (err = pb_store_commit(st, eb)))
				break;
			s->processed++;
			continue;
		}
		if (!careful && !fatal(err)) {
			pb_store_rollback(st);
			*s = start;
			careful = true;
			goto again;
		}
		if (careful)
			pb_store_rollback(st);
		*s = before;
		if (err == PB_ESTATE) {
			err = PB_OK;
			continue; /* processed by someone else meanwhile */
		}
		if (fatal(err)) {
			pb_errf(eb, err, "event %s: %s", jb->row.external_id, pb_errmsg(&one, err));
			break;
		}
		{
			bool give_up = permanent(err) || err == PB_EEXIST ||
				       jb->row.attempts + 1 >= ing->o.max_attempts;
			if ((err = pb_store_inbox_fail(st, jb->row.id, now, pb_errmsg(&one, err),
						       give_up, eb)))
				break;
			if (give_up)
				s->failed++;
		}
	}
	if (!err && !(err = pb_store_commit(st, eb)))
		return PB_OK;
	pb_store_rollback(st);
	return err;
}

pb_err pb_ingest_process(pb_ingest *ing, int64_t now, size_t max, size_t *done, pb_errbuf *eb)
{
	pb_store_inbox_rows rows;
	size_t handled = 0, i;
	pb_err err = PB_OK;

	if (done)
		*done = 0;
	if (pb_store_depth(ing->st))
		return pb_errf(eb, PB_ESTATE, "ingest processes in transactions of its own");
	while (handled < max) {
		size_t want = max - handled < ing->o.batch ? max - handled : ing->o.batch;
		pb_ingest_stats s;
		job *jobs;
		if ((err = pb_store_inbox_claim(ing->st, ing->worker, now, ing->o.lease, want, &rows,
						eb)))
			break;
		if (!rows.n) {
			pb_store_inbox_rows_release(&rows);
			break;
		}
		jobs = calloc(rows.n, sizeof *jobs);
		if (!jobs) {
			pb_store_inbox_rows_release(&rows);
			err = pb_errf(eb, PB_ENOMEM, "out of memory");
			break;
		}
		memset(&s, 0, sizeof s);
		for (i = 0; i < rows.n; i++) {
			/* The job takes the row's strings. */
			jobs[i].row = rows.v[i];
			prepare(ing, &jobs[i], &s);
		}
		free(rows.v);
		resolve_batch(ing, jobs, rows.n, &s);
		err = write_batch(ing, jobs, rows.n, now, &s, eb);
		if (!err) {
			add_stats(&ing->stats, &s);
			handled += rows.n;
		}
		for (i = 0; i < rows.n; i++)
			job_release(&jobs[i]);
		free(jobs);
		if (err)
			break;
	}
	if (done)
		*done = handled;
	return err;
}
