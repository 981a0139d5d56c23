/*
 * Digests over OpenSSL's one-shot interfaces (see digest.h). EVP_Digest and
 * HMAC keep no state between calls, so this is safe from any thread. Also
 * the constant-time comparison of secrets.
 */
#include "parcelbot/digest.h"

#include <limits.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

pb_err pb_md5_hex(const void *data, size_t n, bool upper, char out[PB_MD5_HEX_LEN + 1])
{
	static const char lower_digits[] = "0123456789abcdef", upper_digits[] = "0123456789ABCDEF";
	const char *hex = upper ? upper_digits : lower_digits;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;

	out[0] = '\0';
	if (!EVP_Digest(data, n, md, &len, EVP_md5(), NULL) || len != PB_MD5_HEX_LEN / 2)
		return PB_ENOMEM;
	for (i = 0; i < len; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * len] = '\0';
	return PB_OK;
}

pb_err pb_sha256_hex(const void *data, size_t n, char out[PB_SHA256_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;

	out[0] = '\0';
	if (!EVP_Digest(data, n, md, &len, EVP_sha256(), NULL) || len != PB_SHA256_HEX_LEN / 2)
		return PB_ENOMEM;
	for (i = 0; i < len; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * len] = '\0';
	return PB_OK;
}

pb_err pb_hmac_sha256_hex(const void *key, size_t key_len, const void *data, size_t n,
			  char out[PB_SHA256_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;

	out[0] = '\0';
	/* HMAC() takes the key length as an int. */
	if (key_len > INT_MAX)
		return PB_EINVAL;
	if (!HMAC(EVP_sha256(), key, (int)key_len, data, n, md, &len) ||
	    len != PB_SHA256_HEX_LEN / 2)
		return PB_ENOMEM;
	for (i = 0; i < len; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * len] = '\0';
	return PB_OK;
}

bool pb_secret_equal(const void *given, size_t n_given, const void *expected, size_t n_expected)
{
	/* volatile: every byte is read, whatever the compiler makes of the loop. */
	const volatile unsigned char *a = given, *b = expected;
	unsigned d;
	size_t i;

	if (!given || !expected || !n_given || !n_expected)
		return false;
	d = n_given != n_expected;
	/* The index into expected depends on the lengths alone. */
	for (i = 0; i < n_given; i++)
		d |= (unsigned)(a[i] ^ b[i < n_expected ? i : 0]);
	/* d is 0..255: d - 1 wraps to all ones only when d is 0. A plain
	 * d == 0 may be compiled into a jump on secret data. */
	return (bool)(((d - 1) >> 8) & 1);
}
