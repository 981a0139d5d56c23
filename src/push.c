/*
 * Tracking pushes (push.h): signature checks and body parsing for
 * Kuaidi100's subscription push and 17TRACK's webhook, reusing the
 * adapters' parsers for the trace itself.
 */
#include "parcelbot/push.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "parcelbot/digest.h"
#include "parcelbot/kb.h"
#include "track_internal.h"

void pb_push_release(pb_push *p)
{
	pb_trace_release(&p->trace);
	memset(p, 0, sizeof *p);
}

static pb_err set_ids(pb_trace *t, const char *carrier, const char *number)
{
	free(t->carrier);
	free(t->number);
	t->carrier = strdup(carrier ? carrier : "");
	t->number = strdup(number ? number : "");
	return t->carrier && t->number ? PB_OK : PB_ENOMEM;
}

pb_err pb_push_k100(const pb_kb *kb, const char *param, const char *sign, const char *salt,
		    pb_push *out, pb_errbuf *eb)
{
	char want[PB_MD5_HEX_LEN + 1], *buf = NULL;
	const char *carrier = "";
	cJSON *root = NULL, *last, *st, *com, *nu;
	size_t n, i;
	char *lj = NULL;
	pb_err err;

	memset(out, 0, sizeof *out);
	pb_trace_init(&out->trace);
	if (!salt || !*salt)
		return pb_errf(eb, PB_EINVAL, "Kuaidi100 pushes need a salt to be verified");
	if (!param || !sign || !*sign)
		return pb_errf(eb, PB_EAUTH, "the Kuaidi100 push is not signed");
	n = strlen(param) + strlen(salt);
	if (!(buf = malloc(n + 1)))
		return pb_errf(eb, PB_ENOMEM, "out of memory");
	snprintf(buf, n + 1, "%s%s", param, salt);
	err = pb_md5_hex(buf, n, true, want);
	free(buf);
	if (err)
		return pb_errf(eb, err, "cannot compute the signature");
	if (!pb_secret_equal(sign, strlen(sign), want, strlen(want)))
		return pb_errf(eb, PB_EAUTH, "the Kuaidi100 push's signature is wrong");

	if (!(root = pb_track_parse_json(param, strlen(param))) || !cJSON_IsObject(root)) {
		err = pb_errf(eb, PB_EPARSE, "the Kuaidi100 push's param is not a JSON object");
		goto out;
	}
	st = cJSON_GetObjectItemCaseSensitive(root, "status");
	last = cJSON_GetObjectItemCaseSensitive(root, "lastResult");
	if (!cJSON_IsString(st) || !cJSON_IsObject(last)) {
		err = pb_errf(eb, PB_EPARSE, "the Kuaidi100 push needs 'status' and 'lastResult'");
		goto out;
	}
	snprintf(out->kind, sizeof out->kind, "%s", st->valuestring);
	com = cJSON_GetObjectItemCaseSensitive(last, "com");
	nu = cJSON_GetObjectItemCaseSensitive(last, "nu");
	if (!cJSON_IsString(nu) || !*nu->valuestring) {
		err = pb_errf(eb, PB_EPARSE, "the Kuaidi100 push names no tracking number");
		goto out;
	}
	if (!(lj = cJSON_PrintUnformatted(last))) {
		err = pb_errf(eb, PB_ENOMEM, "out of memory");
		goto out;
	}
	if ((err = pb_k100_parse(lj, strlen(lj), NULL, &out->trace, eb)))
		goto out;
	for (i = 0; kb && cJSON_IsString(com) && i < kb->n_carriers; i++)
		if (kb->carriers[i].kuaidi100 && !strcmp(kb->carriers[i].kuaidi100, com->valuestring))
			carrier = kb->carriers[i].id;
	if (set_ids(&out->trace, carrier, nu->valuestring)) {
		err = pb_errf(eb, PB_ENOMEM, "out of memory");
		goto out;
	}
	free(out->trace.provider);
	out->trace.provider = strdup("kuaidi100");
out:
	free(lj);
	cJSON_Delete(root);
	if (err)
		pb_push_release(out);
	return err;
}

pb_err pb_push_17track(const pb_kb *kb, const char *body, size_t len, const char *sign,
		       const char *key, pb_push *out, pb_errbuf *eb)
{
	char want[PB_SHA256_HEX_LEN + 1], *buf = NULL;
	const char *carrier = "";
	cJSON *root = NULL, *ev, *data, *num, *car;
	size_t n, i, kl;
	pb_err err;

	memset(out, 0, sizeof *out);
	pb_trace_init(&out->trace);
	if (!key || !*key)
		return pb_errf(eb, PB_EINVAL, "17TRACK webhooks need the security key to be verified");
	if (!body || !sign || !*sign)
		return pb_errf(eb, PB_EAUTH, "the 17TRACK webhook is not signed");
	kl = strlen(key);
	n = len + 1 + kl;
	if (!(buf = malloc(n + 1)))
		return pb_errf(eb, PB_ENOMEM, "out of memory");
	memcpy(buf, body, len);
	buf[len] = '/';
	memcpy(buf + len + 1, key, kl);
	err = pb_sha256_hex(buf, n, want);
	free(buf);
	if (err)
		return pb_errf(eb, err, "cannot compute the signature");
	if (!pb_secret_equal(sign, strlen(sign), want, strlen(want)))
		return pb_errf(eb, PB_EAUTH, "the 17TRACK webhook's signature is wrong");

	if (!(root = pb_track_parse_json(body, len)) || !cJSON_IsObject(root)) {
		err = pb_errf(eb, PB_EPARSE, "the 17TRACK webhook is not a JSON object");
		goto out;
	}
	ev = cJSON_GetObjectItemCaseSensitive(root, "event");
	data = cJSON_GetObjectItemCaseSensitive(root, "data");
	num = cJSON_GetObjectItemCaseSensitive(data, "number");
	if (!cJSON_IsString(ev) || !cJSON_IsObject(data) || !cJSON_IsString(num) ||
	    !*num->valuestring) {
		err = pb_errf(eb, PB_EPARSE, "the 17TRACK webhook needs 'event' and 'data.number'");
		goto out;
	}
	snprintf(out->kind, sizeof out->kind, "%s", ev->valuestring);
	if ((err = pb_t17_trace(data, &out->trace, eb)))
		goto out;
	car = cJSON_GetObjectItemCaseSensitive(data, "carrier");
	for (i = 0; kb && cJSON_IsNumber(car) && i < kb->n_carriers; i++)
		if (kb->carriers[i].t17 && kb->carriers[i].t17 == (long)car->valuedouble)
			carrier = kb->carriers[i].id;
	if (set_ids(&out->trace, carrier, num->valuestring)) {
		err = pb_errf(eb, PB_ENOMEM, "out of memory");
		goto out;
	}
	free(out->trace.provider);
	out->trace.provider = strdup("17track");
out:
	cJSON_Delete(root);
	if (err)
		pb_push_release(out);
	return err;
}
