/*
 * Message digests for signing requests to upstream services. Kuaidi100 signs
 * with MD5 (a fixed part of its API, not a choice of ours). The digests come
 * from OpenSSL's libcrypto, which the OpenSSL build of libcurl already loads,
 * rather than from hand-written code: it is maintained, tested and will also
 * give the HMAC-SHA256 that Shopee's API needs.
 */
#ifndef PARCELBOT_DIGEST_H
#define PARCELBOT_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "parcelbot/err.h"

#define PB_MD5_HEX_LEN 32
#define PB_SHA256_HEX_LEN 64

/* Writes the MD5 of n bytes of data as 32 hex digits plus a NUL into out,
 * in upper case when upper is true. Returns PB_ENOMEM (out is then "") when
 * libcrypto cannot set up the digest. */
pb_err pb_md5_hex(const void *data, size_t n, bool upper, char out[PB_MD5_HEX_LEN + 1]);

/* Writes the SHA-256 of n bytes of data as 64 lower-case hex digits plus a
 * NUL into out. Returns PB_ENOMEM (out is then "") when libcrypto cannot
 * compute it. */
pb_err pb_sha256_hex(const void *data, size_t n, char out[PB_SHA256_HEX_LEN + 1]);

/* Writes the HMAC-SHA256 of n bytes of data under the key_len-byte key as 64
 * lower-case hex digits plus a NUL into out. Returns PB_ENOMEM (out is then
 * "") when libcrypto cannot compute it, PB_EINVAL for a key over INT_MAX
 * bytes. */
pb_err pb_hmac_sha256_hex(const void *key, size_t key_len, const void *data, size_t n,
			  char out[PB_SHA256_HEX_LEN + 1]);

#endif
