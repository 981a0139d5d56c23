/*
 * Agents' passwords and the console's session tokens. Passwords are hashed
 * with yescrypt through libcrypt and checked in constant time; session
 * tokens are 32 random bytes that only the browser keeps, the store keeping
 * their SHA-256.
 */
#ifndef PARCELBOT_AUTH_H
#define PARCELBOT_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "parcelbot/err.h"

/* Longest password accepted, in bytes. */
#define PB_AUTH_MAX_PASSWORD 1024
/* Room for a hex token or hash and its NUL. */
#define PB_AUTH_HEX 65

/* Hashes password with yescrypt and a fresh salt into out (n bytes; 256 is
 * enough). PB_EINVAL for an empty or too long password. */
pb_err pb_auth_hash(const char *password, char *out, size_t n, pb_errbuf *eb);
/* True when password matches hash (a crypt(3) string); the comparison
 * takes the same time wherever the strings differ. False for a NULL or
 * unusable hash. The hashes are compared with pb_secret_equal (digest.h). */
bool pb_auth_verify(const char *password, const char *hash);
/* 32 random bytes as 64 hex digits. */
pb_err pb_auth_token(char out[PB_AUTH_HEX], pb_errbuf *eb);
/* The SHA-256 of s as 64 hex digits. */
void pb_auth_sha256_hex(const char *s, char out[PB_AUTH_HEX]);

#endif
