/*
 * code.h: the packcode code format (docs/code-format.md is the specification).
 *
 * A code is 20 Crockford base32 characters: 19 carry 95 bits (key id, a
 * keyed permutation of the serial, a 48-bit HMAC-SHA256 tag) and the last is
 * a check character over GF(32) that catches every single substitution and
 * every transposition, so typos are told apart from forgeries without a key.
 */
#ifndef PACKCODE_CODE_H
#define PACKCODE_CODE_H

#include <stddef.h>
#include <stdint.h>

#define CODE_LEN         20 /* characters, check character included */
#define CODE_GROUPED_LEN 23 /* "XXXXX-XXXXX-XXXXX-XXXXX" */
#define CODE_INPUT_MAX   64 /* longer input is malformed without a look */
#define CODE_KEY_ID_MIN  1
#define CODE_KEY_ID_MAX  127
#define CODE_SERIAL_MIN  1ULL
#define CODE_SERIAL_MAX  ((1ULL << 40) - 1)
#define CODE_PIN_DIGITS  8
#define CODE_SECRET_LEN  32 /* bytes of a key's secret */

extern const char code_alphabet[32];

/* What the characters alone say about a string, before any key is used. */
enum code_shape {
	CODE_SHAPE_OK,        /* well formed, check character right */
	CODE_SHAPE_MALFORMED, /* wrong length or a character outside the alphabet */
	CODE_SHAPE_BAD_CHECK, /* well formed, check character wrong: a typo */
};

/* The fields of a well-formed code; serial is still permuted. */
struct code_fields {
	unsigned key_id;
	uint64_t pserial;        /* the serial after the keyed permutation */
	uint64_t tag;            /* the 48-bit MAC */
	char text[CODE_LEN + 1]; /* canonical form: upper case, no separators */
};

/*
 * Normalise and check a code as typed or scanned: case-insensitive, O -> 0,
 * I and L -> 1, hyphens and spaces ignored. Fills *out when CODE_SHAPE_OK.
 */
enum code_shape code_parse(const char *in, size_t len, struct code_fields *out);

/* The check character for 19 canonical data characters. */
char code_check_char(const char data[CODE_LEN - 1]);

/* "ABCDE-FGHJK-MNPQR-STVWX" from a canonical code; out has room for 24. */
void code_group(const char code[CODE_LEN], char out[CODE_GROUPED_LEN + 1]);

/*
 * A signer holds one key's derived subkeys and prepared OpenSSL contexts.
 * Not thread-safe: give each thread its own.
 */
struct code_signer;

struct code_signer *code_signer_new(unsigned key_id, const uint8_t secret[CODE_SECRET_LEN]);
void code_signer_free(struct code_signer *s);
unsigned code_signer_key_id(const struct code_signer *s);

/*
 * Encode n consecutive serials starting at first into codes[i] (CODE_LEN + 1
 * bytes each, NUL-terminated) and, if pins is not NULL, pins[i]
 * (CODE_PIN_DIGITS + 1 bytes each). Batching lets the permutation's block
 * cipher work on many blocks per call. Returns 0, or -1 if a serial is out of
 * range or OpenSSL fails.
 */
int code_encode_many(struct code_signer *s, uint64_t first, size_t n, char (*codes)[CODE_LEN + 1],
                     char (*pins)[CODE_PIN_DIGITS + 1]);
int code_encode(struct code_signer *s, uint64_t serial, char code[CODE_LEN + 1],
                char pin[CODE_PIN_DIGITS + 1]);

/*
 * Authenticate parsed fields under this signer's key. On success stores the
 * serial (and the PIN if pin is not NULL) and returns 0; returns -1 for a code
 * this key did not sign. Compares the tag in constant time.
 */
int code_authenticate(struct code_signer *s, const struct code_fields *f, uint64_t *serial,
                      char pin[CODE_PIN_DIGITS + 1]);

/* The keyed permutation alone, exposed for tests: 0 or -1. */
int code_permute(struct code_signer *s, uint64_t serial, uint64_t *out);
int code_unpermute(struct code_signer *s, uint64_t pserial, uint64_t *out);

/* Constant-time comparison of two PINs as typed (digits only). 1 if equal. */
int code_pin_equal(const char *expected, const char *given);

#endif
