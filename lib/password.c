/*
 * password.c: argon2id through libsodium (password.h). The parameters are
 * libsodium's "interactive" ones, written into every hash, so that raising
 * them later leaves the existing hashes valid.
 */
#include "password.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* A hash of a password nobody has, with the same parameters: see password_verify. */
static const char dummy_hash[PASSWORD_HASH_MAX] =
    "$argon2id$v=19$m=65536,t=2,p=1$QzbZNfo9Gsww+5QT1erzdA$"
    "pi8DZz4YGOL99PqjldSoPKKTIqeP3qVH7v5HF20JT+4";

int password_check(const char *pw, size_t len, char *err, size_t errlen)
{
	if (len < PASSWORD_MIN || len > PASSWORD_MAX) {
		snprintf(err, errlen, "a password is %d to %d bytes long", PASSWORD_MIN,
		         PASSWORD_MAX);
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)pw[i] < 0x20 || pw[i] == 0x7f) {
			snprintf(err, errlen, "a password holds no control characters");
			return -1;
		}
	return 0;
}

int password_hash(const char *pw, size_t len, char out[PASSWORD_HASH_MAX])
{
	if (sodium_init() < 0)
		return -1;
	return crypto_pwhash_str_alg(out, pw, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                             crypto_pwhash_MEMLIMIT_INTERACTIVE,
	                             crypto_pwhash_ALG_ARGON2ID13) == 0
	           ? 0
	           : -1;
}

int password_verify(const char *hash, const char *pw, size_t len)
{
	if (sodium_init() < 0)
		return 0;
	if (!hash) {
		if (crypto_pwhash_str_verify(dummy_hash, pw, len) == 0)
			return 0; /* its password was thrown away: cannot happen */
		return 0;
	}
	if (strncmp(hash, "$argon2id$", 10) != 0)
		return 0;
	return crypto_pwhash_str_verify(hash, pw, len) == 0;
}
