/*
 * code.c: encode, parse and authenticate packcode codes.
 *
 * Layout of the 95 data bits, most significant first: key id (7), permuted
 * serial (40), tag (48); then one check character. The serial permutation is
 * an 8-round Feistel network over two 20-bit halves with AES-128 as the round
 * function; the tag is HMAC-SHA256 over (key id, serial) truncated to 48 bits.
 * Subkeys come from the key's secret by HMAC with fixed labels.
 *
 * The MAC is HMAC computed from SHA-256 states precomputed over the padded
 * key (RFC 2104), copied per code: no allocation, half the cost of
 * re-initialising an EVP_MAC context. That needs OpenSSL's low-level SHA256_*
 * calls, deprecated in 3.0 but present; the test vectors pin the result.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "code.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

const char code_alphabet[32] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

#define DATA_CHARS      (CODE_LEN - 1)
#define FEISTEL_ROUNDS  8
#define HALF_BITS       20
#define HALF_MASK       ((1u << HALF_BITS) - 1)
#define TAG_BITS        48
#define PSERIAL_BITS    40
#define BLOCKS_PER_CALL 256

struct code_signer {
	unsigned key_id;
	SHA256_CTX inner, outer; /* SHA-256 after (mac_key ^ ipad) and (mac_key ^ opad) */
	EVP_CIPHER_CTX *round;   /* AES-128-ECB under the permutation subkey */
	unsigned char in[BLOCKS_PER_CALL][16];
	unsigned char out[BLOCKS_PER_CALL][16];
};

/* ---- characters ---------------------------------------------------------- */

/* Value of a character as typed, or -1 if it is not part of the alphabet
 * (char_value() reads it from a table made once of this, by gf_init()). */
static int char_value_of(unsigned char c)
{
	if (c >= 'a' && c <= 'z')
		c = (unsigned char)(c - 'a' + 'A');
	switch (c) {
	case 'O':
		return 0;
	case 'I':
	case 'L':
		return 1;
	case 'U':
		return -1;
	}
	const char *p = memchr(code_alphabet, c, sizeof code_alphabet);
	return p && c ? (int)(p - code_alphabet) : -1;
}

/* GF(32) with the primitive polynomial x^5 + x^2 + 1; alpha = x. */
static unsigned char gf_exp[62];
static unsigned char gf_log[32];
static signed char char_values[256];

static void gf_init_once(void)
{
	for (int c = 0; c < 256; c++)
		char_values[c] = (signed char)char_value_of((unsigned char)c);
	unsigned x = 1;
	for (int i = 0; i < 31; i++) {
		gf_exp[i] = gf_exp[i + 31] = (unsigned char)x;
		gf_log[x] = (unsigned char)i;
		x <<= 1;
		if (x & 32)
			x ^= 0x25;
	}
}

static void gf_init(void)
{
	static CRYPTO_ONCE once = CRYPTO_ONCE_STATIC_INIT;
	CRYPTO_THREAD_run_once(&once, gf_init_once);
}

/* char_value_of(c), after gf_init(): a parse is a table look-up a character */
static int char_value(unsigned char c)
{
	return char_values[c];
}

/* alpha^power * v in GF(32). */
static unsigned gf_scale(unsigned v, unsigned power)
{
	return v ? gf_exp[(gf_log[v] + power) % 31] : 0;
}

/* Sum over i of alpha^i * value(c_i): zero for a code with a right check. */
static unsigned weighted_sum(const unsigned char *vals, size_t n)
{
	unsigned s = 0;
	for (size_t i = 0; i < n; i++)
		s ^= gf_scale(vals[i], (unsigned)i);
	return s;
}

char code_check_char(const char data[DATA_CHARS])
{
	unsigned char vals[DATA_CHARS];
	gf_init();
	for (int i = 0; i < DATA_CHARS; i++) {
		int v = char_value((unsigned char)data[i]);
		vals[i] = (unsigned char)(v < 0 ? 0 : v);
	}
	/* choose c_19 with alpha^19 * c_19 = sum: c_19 = alpha^(31-19) * sum */
	return code_alphabet[gf_scale(weighted_sum(vals, DATA_CHARS), 31 - DATA_CHARS)];
}

enum code_shape code_parse(const char *in, size_t len, struct code_fields *out)
{
	unsigned char vals[CODE_LEN];
	size_t n = 0;

	if (len > CODE_INPUT_MAX)
		return CODE_SHAPE_MALFORMED;
	gf_init();
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '-' || c == ' ')
			continue;
		int v = char_value(c);
		if (v < 0 || n == CODE_LEN)
			return CODE_SHAPE_MALFORMED;
		vals[n++] = (unsigned char)v;
	}
	if (n != CODE_LEN)
		return CODE_SHAPE_MALFORMED;
	if (weighted_sum(vals, CODE_LEN) != 0)
		return CODE_SHAPE_BAD_CHECK;

	unsigned __int128 bits = 0;
	for (int i = 0; i < DATA_CHARS; i++)
		bits = bits << 5 | vals[i];
	out->tag = (uint64_t)bits & ((1ULL << TAG_BITS) - 1);
	out->pserial = (uint64_t)(bits >> TAG_BITS) & CODE_SERIAL_MAX;
	out->key_id = (unsigned)(bits >> (TAG_BITS + PSERIAL_BITS));
	for (int i = 0; i < CODE_LEN; i++)
		out->text[i] = code_alphabet[vals[i]];
	out->text[CODE_LEN] = '\0';
	return CODE_SHAPE_OK;
}

void code_group(const char code[CODE_LEN], char out[CODE_GROUPED_LEN + 1])
{
	char *p = out;
	for (int i = 0; i < CODE_LEN; i++) {
		if (i && i % 5 == 0)
			*p++ = '-';
		*p++ = code[i];
	}
	*p = '\0';
}

static void pack(unsigned key_id, uint64_t pserial, uint64_t tag, char code[CODE_LEN + 1])
{
	unsigned __int128 bits = (unsigned __int128)key_id << (TAG_BITS + PSERIAL_BITS) |
	                         (unsigned __int128)pserial << TAG_BITS | tag;
	unsigned char vals[DATA_CHARS];
	for (int i = DATA_CHARS - 1; i >= 0; i--) {
		vals[i] = (unsigned char)bits & 31;
		code[i] = code_alphabet[vals[i]];
		bits >>= 5;
	}
	code[DATA_CHARS] = code_alphabet[gf_scale(weighted_sum(vals, DATA_CHARS), 31 - DATA_CHARS)];
	code[CODE_LEN] = '\0';
}

/* ---- keys ----------------------------------------------------------------- */

static int derive(const uint8_t secret[CODE_SECRET_LEN], const char *label, unsigned char out[32])
{
	size_t len = 0;
	return EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, CODE_SECRET_LEN,
	                 (const unsigned char *)label, strlen(label), out, 32, &len) &&
	               len == 32
	           ? 0
	           : -1;
}

struct code_signer *code_signer_new(unsigned key_id, const uint8_t secret[CODE_SECRET_LEN])
{
	unsigned char mac_key[32], perm_key[32], pad[SHA256_CBLOCK];
	struct code_signer *s = NULL;

	if (key_id < CODE_KEY_ID_MIN || key_id > CODE_KEY_ID_MAX)
		return NULL;
	gf_init();
	if (derive(secret, "packcode/v1/mac", mac_key) < 0 ||
	    derive(secret, "packcode/v1/permutation", perm_key) < 0)
		goto fail;
	s = calloc(1, sizeof *s);
	if (!s)
		goto fail;
	s->key_id = key_id;

	for (int i = 0; i < SHA256_CBLOCK; i++)
		pad[i] = (unsigned char)((i < 32 ? mac_key[i] : 0) ^ 0x36);
	if (!SHA256_Init(&s->inner) || !SHA256_Update(&s->inner, pad, sizeof pad))
		goto fail;
	for (int i = 0; i < SHA256_CBLOCK; i++)
		pad[i] = (unsigned char)((i < 32 ? mac_key[i] : 0) ^ 0x5c);
	if (!SHA256_Init(&s->outer) || !SHA256_Update(&s->outer, pad, sizeof pad))
		goto fail;

	s->round = EVP_CIPHER_CTX_new();
	if (!s->round || !EVP_EncryptInit_ex(s->round, EVP_aes_128_ecb(), NULL, perm_key, NULL) ||
	    !EVP_CIPHER_CTX_set_padding(s->round, 0))
		goto fail;
	OPENSSL_cleanse(mac_key, sizeof mac_key);
	OPENSSL_cleanse(perm_key, sizeof perm_key);
	OPENSSL_cleanse(pad, sizeof pad);
	return s;
fail:
	OPENSSL_cleanse(pad, sizeof pad);
	OPENSSL_cleanse(mac_key, sizeof mac_key);
	OPENSSL_cleanse(perm_key, sizeof perm_key);
	code_signer_free(s);
	return NULL;
}

void code_signer_free(struct code_signer *s)
{
	if (!s)
		return;
	EVP_CIPHER_CTX_free(s->round);
	OPENSSL_cleanse(s, sizeof *s);
	free(s);
}

unsigned code_signer_key_id(const struct code_signer *s)
{
	return s->key_id;
}

/* ---- the keyed permutation ----------------------------------------------- */

/*
 * One Feistel round function for n halves at once: F_r(x) is the first 20
 * bits of AES(k, "P" || r || x || 0...). Results replace x[i].
 */
static int round_fn(struct code_signer *s, unsigned r, uint32_t *x, size_t n)
{
	int outl = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char *b = s->in[i];
		memset(b, 0, 16);
		b[0] = 'P';
		b[1] = (unsigned char)r;
		b[2] = (unsigned char)(x[i] >> 16);
		b[3] = (unsigned char)(x[i] >> 8);
		b[4] = (unsigned char)x[i];
	}
	if (!EVP_EncryptUpdate(s->round, s->out[0], &outl, s->in[0], (int)(16 * n)) ||
	    outl != (int)(16 * n))
		return -1;
	for (size_t i = 0; i < n; i++) {
		const unsigned char *o = s->out[i];
		x[i] = ((uint32_t)o[0] << 16 | (uint32_t)o[1] << 8 | o[2]) & HALF_MASK;
	}
	return 0;
}

/* Permute (or invert, when inverse) n values in place; n <= BLOCKS_PER_CALL. */
static int feistel(struct code_signer *s, uint64_t *v, size_t n, int inverse)
{
	uint32_t l[BLOCKS_PER_CALL], r[BLOCKS_PER_CALL], f[BLOCKS_PER_CALL];

	for (size_t i = 0; i < n; i++) {
		l[i] = (uint32_t)(v[i] >> HALF_BITS) & HALF_MASK;
		r[i] = (uint32_t)v[i] & HALF_MASK;
	}
	for (int k = 0; k < FEISTEL_ROUNDS; k++) {
		unsigned round = inverse ? FEISTEL_ROUNDS - 1 - k : k;
		/* forward: (l, r) = (r, l ^ F(r)); inverse: (l, r) = (r ^ F(l), l) */
		uint32_t *in = inverse ? l : r;
		memcpy(f, in, n * sizeof *f);
		if (round_fn(s, round, f, n) < 0)
			return -1;
		for (size_t i = 0; i < n; i++) {
			uint32_t t = inverse ? r[i] ^ f[i] : l[i] ^ f[i];
			if (inverse) {
				r[i] = l[i];
				l[i] = t;
			} else {
				l[i] = r[i];
				r[i] = t;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		v[i] = (uint64_t)l[i] << HALF_BITS | r[i];
	return 0;
}

int code_permute(struct code_signer *s, uint64_t serial, uint64_t *out)
{
	if (serial > CODE_SERIAL_MAX)
		return -1;
	*out = serial;
	return feistel(s, out, 1, 0);
}

int code_unpermute(struct code_signer *s, uint64_t pserial, uint64_t *out)
{
	if (pserial > CODE_SERIAL_MAX)
		return -1;
	*out = pserial;
	return feistel(s, out, 1, 1);
}

/* ---- the MAC and the PIN ------------------------------------------------- */

static int mac(struct code_signer *s, uint64_t serial, uint64_t *tag, char pin[CODE_PIN_DIGITS + 1])
{
	unsigned char msg[6] = {
	    (unsigned char)s->key_id,      (unsigned char)(serial >> 32),
	    (unsigned char)(serial >> 24), (unsigned char)(serial >> 16),
	    (unsigned char)(serial >> 8),  (unsigned char)serial,
	};
	unsigned char d[SHA256_DIGEST_LENGTH];
	SHA256_CTX c = s->inner;

	if (!SHA256_Update(&c, msg, sizeof msg) || !SHA256_Final(d, &c))
		return -1;
	c = s->outer;
	if (!SHA256_Update(&c, d, sizeof d) || !SHA256_Final(d, &c))
		return -1;
	uint64_t t = 0, p = 0;
	for (int i = 0; i < 6; i++)
		t = t << 8 | d[i];
	*tag = t;
	if (pin) {
		/* bytes 8..15, disjoint from the public tag; bias below 2^-36 */
		for (int i = 8; i < 16; i++)
			p = p << 8 | d[i];
		p %= 100000000u;
		for (int i = CODE_PIN_DIGITS - 1; i >= 0; i--) {
			pin[i] = (char)('0' + p % 10);
			p /= 10;
		}
		pin[CODE_PIN_DIGITS] = '\0';
	}
	return 0;
}

int code_encode_many(struct code_signer *s, uint64_t first, size_t n, char (*codes)[CODE_LEN + 1],
                     char (*pins)[CODE_PIN_DIGITS + 1])
{
	uint64_t p[BLOCKS_PER_CALL];

	if (first < CODE_SERIAL_MIN || first > CODE_SERIAL_MAX || n > CODE_SERIAL_MAX - first + 1)
		return -1;
	for (size_t done = 0; done < n;) {
		size_t k = n - done < BLOCKS_PER_CALL ? n - done : BLOCKS_PER_CALL;
		for (size_t i = 0; i < k; i++)
			p[i] = first + done + i;
		if (feistel(s, p, k, 0) < 0)
			return -1;
		for (size_t i = 0; i < k; i++) {
			uint64_t tag;
			if (mac(s, first + done + i, &tag, pins ? pins[done + i] : NULL) < 0)
				return -1;
			pack(s->key_id, p[i], tag, codes[done + i]);
		}
		done += k;
	}
	return 0;
}

int code_encode(struct code_signer *s, uint64_t serial, char code[CODE_LEN + 1],
                char pin[CODE_PIN_DIGITS + 1])
{
	return code_encode_many(s, serial, 1, (char(*)[CODE_LEN + 1]) code,
	                        (char(*)[CODE_PIN_DIGITS + 1]) pin);
}

int code_authenticate(struct code_signer *s, const struct code_fields *f, uint64_t *serial,
                      char pin[CODE_PIN_DIGITS + 1])
{
	uint64_t sn, tag;
	unsigned char a[6], b[6];

	if (f->key_id != s->key_id || code_unpermute(s, f->pserial, &sn) < 0 ||
	    sn < CODE_SERIAL_MIN || mac(s, sn, &tag, pin) < 0)
		return -1;
	for (int i = 0; i < 6; i++) {
		a[i] = (unsigned char)(tag >> (8 * i));
		b[i] = (unsigned char)(f->tag >> (8 * i));
	}
	if (CRYPTO_memcmp(a, b, sizeof a) != 0)
		return -1;
	*serial = sn;
	return 0;
}

int code_pin_equal(const char *expected, const char *given)
{
	char g[CODE_PIN_DIGITS];
	size_t n = 0;
	int ok = 1;

	/* accept "1234 5678" and "1234-5678" as typed; anything else is wrong */
	for (const char *p = given; *p; p++) {
		if (*p == ' ' || *p == '-')
			continue;
		if (*p < '0' || *p > '9' || n == CODE_PIN_DIGITS)
			ok = 0;
		else
			g[n++] = *p;
	}
	if (n != CODE_PIN_DIGITS || strlen(expected) != CODE_PIN_DIGITS)
		return 0;
	return CRYPTO_memcmp(g, expected, CODE_PIN_DIGITS) == 0 && ok;
}
