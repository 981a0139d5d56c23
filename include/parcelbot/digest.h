/*
 * Message digests for signing requests to upstream services, and the one
 * comparison of secrets. Kuaidi100 signs with MD5 (a fixed part of its API,
 * not a choice of ours). The digests come from OpenSSL's libcrypto, which
 * the OpenSSL build of libcurl already loads, rather than from hand-written
 * code: it is maintained, tested and will also give the HMAC-SHA256 that
 * Shopee's API needs.
 *
 * Every check parcelbot makes of a secret that arrives from outside (the
 * API's bearer token, a webhook secret, a push signature, the console's
 * CSRF token, a password hash) goes through pb_secret_equal, so that how
 * long an answer takes tells an attacker nothing about how much of a guess
 * was right.
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

/* True when the n_given bytes at given (what arrived) equal the n_expected
 * bytes at expected. The time taken and the memory read depend on the two
 * lengths only, never on the bytes: every byte of given is compared, the
 * differences are folded together without a branch, and the answer is
 * worked out from them without one. The lengths themselves may leak.
 * False when either pointer is NULL or either length is 0: an empty
 * secret matches nothing. Checked with valgrind in tests/unit/test_security.c. */
bool pb_secret_equal(const void *given, size_t n_given, const void *expected, size_t n_expected);

#endif
