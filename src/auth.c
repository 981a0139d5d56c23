/*
 * Passwords and session tokens (see auth.h): libcrypt's yescrypt for the
 * one, OpenSSL's random bytes and SHA-256 for the other.
 */
#include "parcelbot/auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/digest.h"

static void hex(const unsigned char *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

pb_err pb_auth_hash(const char *password, char *out, size_t n, pb_errbuf *eb)
{
	struct crypt_data *cd = NULL;
	char *salt = NULL, *h;
	pb_err err = PB_OK;

	if (!password || !*password || strlen(password) > PB_AUTH_MAX_PASSWORD)
		return pb_errf(eb, PB_EINVAL, "a password must be 1 to %d bytes",
			       PB_AUTH_MAX_PASSWORD);
	if (!(salt = crypt_gensalt_ra("$y$", 0, NULL, 0))) {
		err = pb_errf(eb, PB_EIO, "cannot make a password salt (is yescrypt available?)");
		goto out;
	}
	if (!(cd = calloc(1, sizeof *cd))) {
		err = pb_errf(eb, PB_ENOMEM, "out of memory");
		goto out;
	}
	h = crypt_r(password, salt, cd);
	if (!h || h[0] == '*') {
		err = pb_errf(eb, PB_EIO, "cannot hash the password");
		goto out;
	}
	if (strlen(h) >= n) {
		err = pb_errf(eb, PB_ETOOBIG, "the password hash does not fit");
		goto out;
	}
	strcpy(out, h); /* NOLINT(clang-analyzer-security.insecureAPI.strcpy): fits, checked above */
out:
	if (cd) {
		OPENSSL_cleanse(cd, sizeof *cd);
		free(cd);
	}
	free(salt);
	return err;
}

bool pb_auth_verify(const char *password, const char *hash)
{
	struct crypt_data *cd;
	const char *h;
	bool ok = false;

	if (!password || !hash || !*hash || hash[0] == '*' ||
	    strlen(password) > PB_AUTH_MAX_PASSWORD)
		return false;
	if (!(cd = calloc(1, sizeof *cd)))
		return false;
	h = crypt_r(password, hash, cd);
	if (h && h[0] != '*')
		ok = pb_secret_equal(h, strlen(h), hash, strlen(hash));
	OPENSSL_cleanse(cd, sizeof *cd);
	free(cd);
	return ok;
}

pb_err pb_auth_token(char out[PB_AUTH_HEX], pb_errbuf *eb)
{
	unsigned char b[32];

	if (RAND_bytes(b, sizeof b) != 1)
		return pb_errf(eb, PB_EIO, "no random bytes for a token");
	hex(b, sizeof b, out);
	OPENSSL_cleanse(b, sizeof b);
	return PB_OK;
}

void pb_auth_sha256_hex(const char *s, char out[PB_AUTH_HEX])
{
	unsigned char md[32];
	unsigned int n = 0;

	EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL);
	hex(md, 32, out);
}
