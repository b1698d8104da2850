/*
 * keyring.h: the file of secret keys that sign codes.
 *
 * A keyring is a text file, one key a line (id, status, created, secret),
 * that must never be readable by group or others: loading refuses it then.
 * Exactly one key is active (mints); verify-only keys still verify; revoked
 * keys' codes are answered as VERDICT_REVOKED. Not thread-safe.
 */
#ifndef PACKCODE_KEYRING_H
#define PACKCODE_KEYRING_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "code.h"
#include "verdict.h"

enum key_status { KEY_ACTIVE, KEY_VERIFY_ONLY, KEY_REVOKED };

struct keyring_key {
	unsigned id;
	enum key_status status;
	time_t created;
	uint8_t secret[CODE_SECRET_LEN];
	struct code_signer *signer; /* made on first use */
};

struct keyring {
	size_t n;
	struct keyring_key keys[CODE_KEY_ID_MAX];
};

/* The outcome of checking a code against the keyring alone. */
struct verification {
	enum verdict verdict;
	struct code_fields fields; /* valid unless VERDICT_TYPO */
	uint64_t serial;           /* valid for GENUINE and REVOKED */
	char pin[CODE_PIN_DIGITS + 1];
};

#define KEYRING_ERR_LEN 256

/* The keyring path: $PACKCODE_KEYRING, else $PACKCODE_HOME/keyring, else ./keyring. */
const char *keyring_default_path(void);

/*
 * Read a keyring file. Fails (NULL, reason in err) if it is missing,
 * malformed, or readable by group or others.
 */
struct keyring *keyring_load(const char *path, char *err, size_t errlen);

/* Parse keyring text (for keyring_load and the fuzzer); NULL and err on error. */
struct keyring *keyring_parse(const char *text, size_t len, char *err, size_t errlen);

struct keyring *keyring_new(void);
void keyring_free(struct keyring *kr);

/* Write atomically with mode 0600 (temporary file, fsync, rename). 0 or -1. */
int keyring_save(const struct keyring *kr, const char *path, char *err, size_t errlen);

/* Add a fresh random key and make it the active one; the old active key becomes verify-only. */
int keyring_generate(struct keyring *kr, unsigned *id, char *err, size_t errlen);

struct keyring_key *keyring_find(struct keyring *kr, unsigned id);
struct keyring_key *keyring_active(struct keyring *kr);

/* The key's signer, created on first use; NULL if OpenSSL fails. */
struct code_signer *keyring_signer(struct keyring_key *k);

/* Verdict on a code from the keyring alone; pin is filled for signed codes. */
enum verdict keyring_verify(struct keyring *kr, const char *in, size_t len,
                            struct verification *out);

const char *key_status_name(enum key_status s);
int key_status_parse(const char *name, enum key_status *out);

#endif
