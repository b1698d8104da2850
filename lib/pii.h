/*
 * pii.h: members' personal data at rest. One key file (like the keyring:
 * 0600, refused if group or others can read it) holds a 256-bit secret from
 * which two keys are derived: one for the keyed hash that finds an identity
 * (HMAC-SHA256 of its kind and normalised value: no lookup needs the value
 * itself) and one that seals the value (AES-256-GCM, the kind as associated
 * data) so that only who holds the file can read it back. The database
 * never sees the key. Masking shows what may be shown without the pii scope.
 */
#ifndef PACKCODE_PII_H
#define PACKCODE_PII_H

#include <stddef.h>

#define PII_HASH_LEN      32
#define PII_SEAL_OVERHEAD (1 + 12 + 16) /* version, nonce, tag */
#define PII_VALUE_MAX     256           /* an identity's value, at most */
#define PII_SEALED_MAX    (PII_VALUE_MAX + PII_SEAL_OVERHEAD)
#define PII_MASK_MAX      64
#define PII_ERR_LEN       256

enum pii_kind { PII_PHONE, PII_WECHAT, PII_OIDC, PII_EXTERNAL, PII_KIND_COUNT };

struct pii_key {
	unsigned char hash_key[32]; /* HMAC-SHA256 for lookups */
	unsigned char seal_key[32]; /* AES-256-GCM */
};

/* $PACKCODE_PII_KEY, else $PACKCODE_HOME/pii.key. */
const char *pii_key_default_path(void);

/*
 * Write a new key file at path (0600, O_EXCL: an existing file is never
 * replaced). 0, or -1 with err (EEXIST says "exists").
 */
int pii_key_create(const char *path, char *err, size_t errlen);

/*
 * Read the key file at path into *k. With create, a missing file is made
 * first (pii_key_create; a file made meanwhile by another process is read).
 * *created (may be NULL) says whether this call made it. 0, or -1 with err:
 * missing, loose permissions, malformed.
 */
int pii_key_load(struct pii_key *k, const char *path, int create, int *created, char *err,
                 size_t errlen);

/* Wipe *k. */
void pii_key_clear(struct pii_key *k);

/* "phone", "wechat", "oidc", "external" (the SQL kind). */
const char *pii_kind_name(enum pii_kind kind);

/* HMAC-SHA256(hash key, kind ":" value[0..len)) into out. */
void pii_hash(const struct pii_key *k, enum pii_kind kind, const char *value, size_t len,
              unsigned char out[PII_HASH_LEN]);

/*
 * HMAC-SHA256(hash key, "otp:" phone_hash code): the stored form of a
 * one-time code sent to the phone of phone_hash.
 */
void pii_code_hash(const struct pii_key *k, const unsigned char phone_hash[PII_HASH_LEN],
                   const char *code, unsigned char out[PII_HASH_LEN]);

/*
 * Seal value[0..len) (at most PII_VALUE_MAX) into out (room for len +
 * PII_SEAL_OVERHEAD): its length, or -1.
 */
long pii_seal(const struct pii_key *k, enum pii_kind kind, const char *value, size_t len,
              unsigned char *out, size_t outlen);

/*
 * Open what pii_seal made into out (NUL-terminated): the value's length, or
 * -1 if it was not sealed by this key for this kind, or was altered.
 */
long pii_open(const struct pii_key *k, enum pii_kind kind, const unsigned char *in, size_t len,
              char *out, size_t outlen);

/*
 * Other personal text (a shipping address): sealed as pii_seal does, with
 * what (e.g. "address") as the associated data in place of a kind, up to
 * PII_TEXT_MAX bytes; opened by pii_open_text with the same what.
 */
#define PII_TEXT_MAX        2048
#define PII_TEXT_SEALED_MAX (PII_TEXT_MAX + PII_SEAL_OVERHEAD)
long pii_seal_text(const struct pii_key *k, const char *what, const char *text, size_t len,
                   unsigned char *out, size_t outlen);
long pii_open_text(const struct pii_key *k, const char *what, const unsigned char *in, size_t len,
                   char *out, size_t outlen);

/*
 * HMAC-SHA256(hash key, what ":" text[0..len)), any length: a fingerprint
 * of personal text (an order's request) that reveals nothing without the
 * key. 0, or -1 (out of memory).
 */
int pii_mac(const struct pii_key *k, const char *what, const char *text, size_t len,
            unsigned char out[PII_HASH_LEN]);

/*
 * What may be shown of a value without the pii scope: a phone in E.164 as
 * "+86 139****0000" (the country code, the first three and last four digits
 * of the national number), anything else its first two characters and
 * "***". 0, or -1 if out is too small.
 */
int pii_mask(enum pii_kind kind, const char *value, char *out, size_t outlen);

#endif
