/*
 * test_code.c: the six properties of the code format and its test vectors
 * (docs/code-format.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "code.h"

static uint8_t secret_a[CODE_SECRET_LEN]; /* 00 01 02 ... 1f */
static uint8_t secret_b[CODE_SECRET_LEN]; /* a5 a5 ... a5 */

static int setup(void **state)
{
	(void)state;
	for (int i = 0; i < CODE_SECRET_LEN; i++) {
		secret_a[i] = (uint8_t)i;
		secret_b[i] = 0xa5;
	}
	return 0;
}

/* The vectors of docs/code-format.md, section "Test vectors". */
static const struct {
	const uint8_t *secret;
	unsigned key_id;
	uint64_t serial;
	const char *code;
	const char *pin;
} vectors[] = {
#include "code_vectors.inc"
};

static void test_vectors_from_the_spec(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
		struct code_signer *s = code_signer_new(vectors[i].key_id, vectors[i].secret);
		char code[CODE_LEN + 1], pin[CODE_PIN_DIGITS + 1];
		assert_non_null(s);
		assert_int_equal(code_encode(s, vectors[i].serial, code, pin), 0);
		assert_string_equal(code, vectors[i].code);
		assert_string_equal(pin, vectors[i].pin);
		code_signer_free(s);
	}
}

static void test_encoded_codes_authenticate_to_their_serial(void **state)
{
	(void)state;
	struct code_signer *s = code_signer_new(3, secret_a);
	uint64_t serials[] = {1, 2, 999, 1u << 20, (1ULL << 39) + 7, CODE_SERIAL_MAX};
	for (size_t i = 0; i < sizeof serials / sizeof serials[0]; i++) {
		char code[CODE_LEN + 1], pin[CODE_PIN_DIGITS + 1], pin2[CODE_PIN_DIGITS + 1];
		struct code_fields f;
		uint64_t back = 0;
		assert_int_equal(code_encode(s, serials[i], code, pin), 0);
		assert_int_equal(strlen(code), CODE_LEN);
		assert_int_equal(code_parse(code, strlen(code), &f), CODE_SHAPE_OK);
		assert_int_equal(f.key_id, 3);
		assert_int_equal(code_authenticate(s, &f, &back, pin2), 0);
		assert_true(back == serials[i]);
		assert_string_equal(pin, pin2);
	}
	code_signer_free(s);
}

static void test_serial_out_of_range_is_refused(void **state)
{
	(void)state;
	struct code_signer *s = code_signer_new(1, secret_a);
	char code[CODE_LEN + 1];
	assert_int_equal(code_encode(s, 0, code, NULL), -1);
	assert_int_equal(code_encode(s, CODE_SERIAL_MAX + 1, code, NULL), -1);
	char(*many)[CODE_LEN + 1] = malloc(4 * sizeof *many);
	assert_int_equal(code_encode_many(s, CODE_SERIAL_MAX - 1, 3, many, NULL), -1);
	assert_int_equal(code_encode_many(s, CODE_SERIAL_MAX - 1, 2, many, NULL), 0);
	free(many);
	code_signer_free(s);
	assert_null(code_signer_new(0, secret_a));
	assert_null(code_signer_new(CODE_KEY_ID_MAX + 1, secret_a));
}

static void test_batched_encoding_equals_one_at_a_time(void **state)
{
	(void)state;
	enum { N = 1000 };
	struct code_signer *s = code_signer_new(5, secret_b);
	char(*codes)[CODE_LEN + 1] = malloc(N * sizeof *codes);
	char(*pins)[CODE_PIN_DIGITS + 1] = malloc(N * sizeof *pins);
	assert_int_equal(code_encode_many(s, 5000, N, codes, pins), 0);
	for (int i = 0; i < N; i++) {
		char code[CODE_LEN + 1], pin[CODE_PIN_DIGITS + 1];
		assert_int_equal(code_encode(s, 5000 + (uint64_t)i, code, pin), 0);
		assert_string_equal(code, codes[i]);
		assert_string_equal(pin, pins[i]);
	}
	free(codes);
	free(pins);
	code_signer_free(s);
}

/* Property 1: 10 million random well-formed codes for a real key id, none accepted. */
static void test_ten_million_guesses_are_all_rejected(void **state)
{
	(void)state;
	enum { N = 10 * 1000 * 1000, CHUNK = 4096 };
	struct code_signer *s = code_signer_new(9, secret_a);
	unsigned char *rnd = malloc(CHUNK * 12);
	long accepted = 0, wellformed = 0;
	for (int done = 0; done < N; done += CHUNK) {
		assert_int_equal(RAND_bytes(rnd, CHUNK * 12), 1);
		for (int i = 0; i < CHUNK; i++) {
			const unsigned char *r = rnd + 12 * i;
			struct code_fields f;
			char code[CODE_LEN + 1];
			uint64_t serial;
			/* key id 9 (as a guesser who read it off a real pack), 88 random bits */
			unsigned __int128 bits = (unsigned __int128)9 << 88;
			for (int b = 0; b < 11; b++)
				bits |= (unsigned __int128)r[b] << (8 * b);
			for (int c = CODE_LEN - 2; c >= 0; c--) {
				code[c] = code_alphabet[(unsigned)bits & 31];
				bits >>= 5;
			}
			code[CODE_LEN - 1] = code_check_char(code);
			code[CODE_LEN] = '\0';
			if (code_parse(code, CODE_LEN, &f) != CODE_SHAPE_OK)
				continue;
			wellformed++;
			accepted += code_authenticate(s, &f, &serial, NULL) == 0;
		}
	}
	assert_int_equal(wellformed, N - N % CHUNK + (N % CHUNK ? CHUNK : 0));
	assert_int_equal(accepted, 0);
	free(rnd);
	code_signer_free(s);
}

/* Property 1, the other way round: the tag of a real code is bound to its key. */
static void test_codes_do_not_verify_under_another_key(void **state)
{
	(void)state;
	struct code_signer *a = code_signer_new(4, secret_a);
	struct code_signer *b = code_signer_new(4, secret_b);
	for (uint64_t serial = 1; serial <= 1000; serial++) {
		char code[CODE_LEN + 1];
		struct code_fields f;
		uint64_t out;
		assert_int_equal(code_encode(a, serial, code, NULL), 0);
		assert_int_equal(code_parse(code, CODE_LEN, &f), CODE_SHAPE_OK);
		assert_int_equal(code_authenticate(b, &f, &out, NULL), -1);
	}
	code_signer_free(a);
	code_signer_free(b);
}

/* Property 3: consecutive serials give codes whose order and values say nothing. */
static void test_consecutive_serials_look_unrelated(void **state)
{
	(void)state;
	enum { N = 4096 };
	struct code_signer *s = code_signer_new(1, secret_a);
	uint64_t *p = malloc(N * sizeof *p);
	long ascending = 0, high_bit = 0, same_prefix = 0;
	char prev[CODE_LEN + 1] = "";
	for (int i = 0; i < N; i++) {
		char code[CODE_LEN + 1];
		assert_int_equal(code_permute(s, (uint64_t)i + 1, &p[i]), 0);
		assert_int_equal(code_encode(s, (uint64_t)i + 1, code, NULL), 0);
		/* characters 2..4 carry permuted serial bits only */
		if (i && memcmp(code + 2, prev + 2, 3) == 0)
			same_prefix++;
		memcpy(prev, code, sizeof prev);
		if (i)
			ascending += p[i] > p[i - 1];
		high_bit += (p[i] >> 39) & 1;
	}
	/* about half of neighbours ascend and about half have the top bit set */
	assert_in_range(ascending, N / 2 - 200, N / 2 + 200);
	assert_in_range(high_bit, N / 2 - 200, N / 2 + 200);
	assert_true(same_prefix < 10);
	/* small serials do not map to small numbers: none of 4096 falls below 2^30 */
	long small = 0;
	for (int i = 0; i < N; i++)
		small += p[i] < (1ULL << 30);
	assert_true(small < 30);
	free(p);
	code_signer_free(s);
}

static void test_permutation_inverts(void **state)
{
	(void)state;
	struct code_signer *s = code_signer_new(2, secret_b);
	uint64_t seeds[] = {0, 1, 2, 12345, 1ULL << 39, CODE_SERIAL_MAX};
	for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
		uint64_t p, back;
		assert_int_equal(code_permute(s, seeds[i], &p), 0);
		assert_true(p <= CODE_SERIAL_MAX);
		assert_int_equal(code_unpermute(s, p, &back), 0);
		assert_true(back == seeds[i]);
	}
	code_signer_free(s);
}

/* Property 4: every single-character substitution is caught by the check character. */
static void test_every_substitution_is_a_typo(void **state)
{
	(void)state;
	struct code_signer *s = code_signer_new(1, secret_a);
	for (uint64_t serial = 1; serial <= 300; serial++) {
		char code[CODE_LEN + 1];
		assert_int_equal(code_encode(s, serial * 7919, code, NULL), 0);
		for (int pos = 0; pos < CODE_LEN; pos++) {
			for (int c = 0; c < 32; c++) {
				if (code_alphabet[c] == code[pos])
					continue;
				char t[CODE_LEN + 1];
				struct code_fields f;
				memcpy(t, code, sizeof t);
				t[pos] = code_alphabet[c];
				assert_int_equal(code_parse(t, CODE_LEN, &f), CODE_SHAPE_BAD_CHECK);
			}
			/* a character outside the alphabet is a typo too */
			char t[CODE_LEN + 1];
			struct code_fields f;
			memcpy(t, code, sizeof t);
			t[pos] = 'U';
			assert_int_equal(code_parse(t, CODE_LEN, &f), CODE_SHAPE_MALFORMED);
		}
	}
	code_signer_free(s);
}

/* Property 4: every transposition of two neighbours (that differ) is caught. */
static void test_every_adjacent_transposition_is_a_typo(void **state)
{
	(void)state;
	struct code_signer *s = code_signer_new(1, secret_a);
	long tried = 0;
	for (uint64_t serial = 1; serial <= 20000; serial++) {
		char code[CODE_LEN + 1];
		assert_int_equal(code_encode(s, serial, code, NULL), 0);
		for (int pos = 0; pos + 1 < CODE_LEN; pos++) {
			if (code[pos] == code[pos + 1])
				continue;
			char t[CODE_LEN + 1];
			struct code_fields f;
			memcpy(t, code, sizeof t);
			t[pos] = code[pos + 1];
			t[pos + 1] = code[pos];
			assert_int_equal(code_parse(t, CODE_LEN, &f), CODE_SHAPE_BAD_CHECK);
			tried++;
		}
	}
	assert_true(tried > 300000);
	code_signer_free(s);
}

static void test_typed_forms_are_read_as_the_same_code(void **state)
{
	(void)state;
	struct code_signer *s = code_signer_new(1, secret_a);
	char code[CODE_LEN + 1], grouped[CODE_GROUPED_LEN + 1], typed[64];
	struct code_fields f;
	assert_int_equal(code_encode(s, 42, code, NULL), 0);
	code_group(code, grouped);
	assert_int_equal(strlen(grouped), CODE_GROUPED_LEN);
	assert_int_equal(code_parse(grouped, strlen(grouped), &f), CODE_SHAPE_OK);
	assert_string_equal(f.text, code);

	/* lower case, spaces instead of hyphens, 0 typed as O, 1 as I or L */
	size_t n = 0;
	for (int i = 0; i < CODE_LEN; i++) {
		char c = code[i];
		if (i && i % 4 == 0)
			typed[n++] = ' ';
		if (c == '0')
			c = 'o';
		else if (c == '1')
			c = (i % 2) ? 'I' : 'l';
		else if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		typed[n++] = c;
	}
	assert_int_equal(code_parse(typed, n, &f), CODE_SHAPE_OK);
	assert_string_equal(f.text, code);
	code_signer_free(s);
}

static void test_wrong_lengths_and_bytes_are_malformed(void **state)
{
	(void)state;
	struct code_fields f;
	const char *bad[] = {"",
	                     "0",
	                     "0000000000000000000",
	                     "000000000000000000000",
	                     "00000000000000000000-0",
	                     "0000000000000000000*",
	                     "0000000000\x00"
	                     "000000000",
	                     "00000\xc3\xa9"
	                     "000000000000000"};
	size_t lens[] = {0, 1, 19, 21, 22, 20, 20, 21};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(code_parse(bad[i], lens[i], &f), CODE_SHAPE_MALFORMED);
	char longer[CODE_INPUT_MAX + 2];
	memset(longer, '-', sizeof longer);
	memcpy(longer, "00000000000000000000", 20);
	assert_int_equal(code_parse(longer, sizeof longer, &f), CODE_SHAPE_MALFORMED);
}

/* Property 6: at most 20 characters, all in GS1's AI 21 character set. */
static void test_codes_fit_gs1_serial_ai21(void **state)
{
	(void)state;
	struct code_signer *s = code_signer_new(CODE_KEY_ID_MAX, secret_b);
	for (uint64_t serial = CODE_SERIAL_MAX - 100; serial <= CODE_SERIAL_MAX; serial++) {
		char code[CODE_LEN + 1];
		assert_int_equal(code_encode(s, serial, code, NULL), 0);
		assert_true(strlen(code) <= 20);
		assert_int_equal(strspn(code, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
		                 strlen(code));
	}
	code_signer_free(s);
}

static void test_pins_are_eight_digits_and_differ(void **state)
{
	(void)state;
	struct code_signer *s = code_signer_new(1, secret_a);
	char pin1[CODE_PIN_DIGITS + 1], pin2[CODE_PIN_DIGITS + 1], code[CODE_LEN + 1];
	int same = 0;
	for (uint64_t serial = 1; serial <= 1000; serial++) {
		assert_int_equal(code_encode(s, serial, code, pin1), 0);
		assert_int_equal(strspn(pin1, "0123456789"), CODE_PIN_DIGITS);
		assert_int_equal(code_encode(s, serial + 1, code, pin2), 0);
		same += strcmp(pin1, pin2) == 0;
	}
	assert_true(same < 2);
	assert_true(code_pin_equal("12345678", "12345678"));
	assert_true(code_pin_equal("12345678", "1234 5678"));
	assert_true(code_pin_equal("12345678", "1234-5678"));
	assert_false(code_pin_equal("12345678", "12345679"));
	assert_false(code_pin_equal("12345678", "1234567"));
	assert_false(code_pin_equal("12345678", "123456789"));
	assert_false(code_pin_equal("12345678", "1234567a"));
	assert_false(code_pin_equal("12345678", ""));
	code_signer_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors_from_the_spec),
	    cmocka_unit_test(test_encoded_codes_authenticate_to_their_serial),
	    cmocka_unit_test(test_serial_out_of_range_is_refused),
	    cmocka_unit_test(test_batched_encoding_equals_one_at_a_time),
	    cmocka_unit_test(test_ten_million_guesses_are_all_rejected),
	    cmocka_unit_test(test_codes_do_not_verify_under_another_key),
	    cmocka_unit_test(test_consecutive_serials_look_unrelated),
	    cmocka_unit_test(test_permutation_inverts),
	    cmocka_unit_test(test_every_substitution_is_a_typo),
	    cmocka_unit_test(test_every_adjacent_transposition_is_a_typo),
	    cmocka_unit_test(test_typed_forms_are_read_as_the_same_code),
	    cmocka_unit_test(test_wrong_lengths_and_bytes_are_malformed),
	    cmocka_unit_test(test_codes_fit_gs1_serial_ai21),
	    cmocka_unit_test(test_pins_are_eight_digits_and_differ),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
