/*
 * Digests over OpenSSL's one-shot EVP interface (see digest.h). EVP_Digest
 * keeps no state between calls, so this is safe from any thread.
 */
#include "parcelbot/digest.h"

#include <openssl/evp.h>

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
