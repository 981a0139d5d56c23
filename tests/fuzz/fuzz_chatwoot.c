/*
 * Fuzz target: the Chatwoot adapter's readers of what Chatwoot sends. The
 * bytes are a webhook body (pb_channel_webhook on a channel with a fixed
 * secret; the webhook makes no request, so http is never used) and, parsed
 * as JSON, a messages-list answer for the resend check
 * (pb_chatwoot_find_message).
 */
#include <cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/channel_chatwoot.h"
#include "parcelbot/http.h"

static pb_channel *ch;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *no_header(const void *ctx, const char *name)
{
	(void)ctx;
	(void)name;
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pb_chan_webhook req = {0};
	pb_chan_events evs = {0};
	pb_errbuf eb;
	char ext[128], *body;
	int status = 0;
	cJSON *j;

	if (!ch) {
		static char url[] = "http://127.0.0.1:9", token[] = "cw-token",
			    secret[] = "cw-hook-secret", label[] = "parcel-escalated";
		pb_chatwoot_config cfg = {true, url, 1, token, secret, label};
		pb_http_opts o;
		pb_http *http;
		pb_http_opts_init(&o);
		if (pb_http_new(&o, &http, &eb) || pb_chatwoot_new(&cfg, http, &ch, &eb))
			abort();
	}
	body = malloc(size + 1);
	if (!body)
		return 0;
	memcpy(body, data, size);
	body[size] = '\0';
	req.secret = "cw-hook-secret";
	req.header = no_header;
	req.body = body;
	req.body_len = size;
	req.now = 1795392000;
	pb_channel_webhook(ch, &req, &evs, &status, &eb);
	pb_chan_events_release(&evs);
	j = cJSON_ParseWithLength(body, size);
	if (j) {
		pb_chatwoot_find_message(j, "Your parcel is on its way.", false, 1795392000, ext,
					 sizeof ext);
		pb_chatwoot_find_message(j, "", true, INT64_MIN / 2, ext, sizeof ext);
		cJSON_Delete(j);
	}
	free(body);
	return 0;
}
