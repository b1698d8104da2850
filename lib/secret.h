/*
 * secret.h: random secrets that are shown once and stored only as their
 * SHA-256 hash: admin API tokens ("pct_...") and staff session cookies
 * ("pcs_..."), 256 random bits each (RAND_priv_bytes) in base64url. A hash
 * is enough to store them: there is nothing to brute-force.
 */
#ifndef PACKCODE_LIB_SECRET_H
#define PACKCODE_LIB_SECRET_H

#include <stddef.h>

#define SECRET_HASH_LEN 32
#define SECRET_LEN_MAX  64 /* prefix, 43 characters and the NUL */
#define SECRET_CSRF_LEN 43 /* base64url of 32 bytes */

/* prefix and 32 random bytes in base64url into out, its SHA-256 into hash. 0 or -1. */
int secret_new(const char *prefix, char *out, size_t outlen, unsigned char hash[SECRET_HASH_LEN]);

/*
 * The CSRF token of a session secret s[0..len): base64url of
 * SHA-256("packcode-csrf:" s), NUL-terminated. Whoever cannot read the
 * session cookie cannot compute it; the server need not store it.
 */
int secret_csrf(const char *s, size_t len, char out[SECRET_CSRF_LEN + 1]);

#endif
