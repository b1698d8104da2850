/*
 * password.h: staff passwords, hashed with argon2id (libsodium) in the
 * PHC string form "$argon2id$v=19$m=65536,t=2,p=1$salt$hash", which carries
 * its own parameters and salt. Hashing and verifying cost about 64 MiB and
 * a tenth of a second on purpose: never on an event loop.
 */
#ifndef PACKCODE_LIB_PASSWORD_H
#define PACKCODE_LIB_PASSWORD_H

#include <stddef.h>

#define PASSWORD_HASH_MAX 128  /* crypto_pwhash_STRBYTES, the NUL included */
#define PASSWORD_MIN      10   /* characters (bytes) */
#define PASSWORD_MAX      1024 /* bytes */

/* 0, or -1 with the rule it breaks in err: length, NUL or control bytes. */
int password_check(const char *pw, size_t len, char *err, size_t errlen);

/* The argon2id hash of pw[0..len) into out: 0, or -1 (out of memory, libsodium failed). */
int password_hash(const char *pw, size_t len, char out[PASSWORD_HASH_MAX]);

/*
 * 1 if pw[0..len) is the password of hash (an argon2id string), else 0 (a
 * wrong password, or a hash that is not argon2id). With hash NULL the same
 * work is done against a fixed hash and 0 returned: a name that does not
 * exist costs what a wrong password costs.
 */
int password_verify(const char *hash, const char *pw, size_t len);

#endif
