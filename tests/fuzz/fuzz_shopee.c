/*
 * Fuzz target: the Shopee adapter's pure helpers on answers from Shopee:
 * pb_shopee_quote_ids (the rewrite every answer goes through before it is
 * parsed), the result parsed as JSON and read as a get_order_detail answer
 * (pb_shopee_read_order) and as both tracking answers
 * (pb_shopee_read_tracking), and pb_shopee_map_status and
 * pb_shopee_sign_base on the raw bytes as a string.
 */
#include <cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/channel_shopee.h"
#include "parcelbot/order.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = {"conversation_id", "message_id", "from_id",
					   "to_id", "created_timestamp", "shop_id",
					   "latest_message_id", "order_sn", NULL};
	pb_buf out;
	pb_order o;
	pb_trace t;
	pb_errbuf eb;
	pb_pstate st;
	pb_exkind ex;
	char *s;
	cJSON *j;

	pb_buf_init(&out, (size_t)1 << 22);
	if (!pb_shopee_quote_ids((const char *)data, size, keys, &out)) {
		j = cJSON_ParseWithLength(pb_buf_str(&out), out.len);
		if (j && !pb_shopee_read_order(j, "220101ABCDEF", &o, &eb))
			pb_order_release(&o);
		if (j && !pb_shopee_read_tracking(j, j, 1795392000, &t, &eb)) {
			cJSON *tj = pb_trace_json(&t);
			cJSON_Delete(tj);
			pb_trace_release(&t);
		}
		cJSON_Delete(j);
	}
	pb_buf_release(&out);
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	pb_shopee_map_status(s, &st, &ex);
	pb_buf_init(&out, (size_t)1 << 22);
	pb_shopee_sign_base(&out, 1000001, s, 1795392000, s, 2000001);
	pb_buf_release(&out);
	free(s);
	return 0;
}
