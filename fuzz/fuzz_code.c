/*
 * fuzz_code.c: libFuzzer target for code_parse and keyring_verify, which read
 * every code a phone or a person sends.
 *
 * Beyond "does not crash": an input that parses gives a canonical text that
 * parses again to the same fields, and a code the fuzzer's key accepts
 * re-encodes to exactly that canonical text.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_code: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct keyring *kr;
	struct code_fields f, again;
	struct verification v;

	if (!kr) {
		/* one fixed key 1, so well-formed inputs reach the MAC check */
		static const char text[] = "1 active 2026-01-01T00:00:00Z "
		                           "000102030405060708090a0b0c0d0e0f"
		                           "101112131415161718191a1b1c1d1e1f\n";
		kr = keyring_parse(text, sizeof text - 1, NULL, 0);
		check(kr != NULL, "fixed keyring does not parse");
	}
	enum code_shape shape = code_parse((const char *)data, size, &f);
	if (shape == CODE_SHAPE_OK) {
		check(strlen(f.text) == CODE_LEN, "canonical text is not 20 characters");
		check(code_parse(f.text, CODE_LEN, &again) == CODE_SHAPE_OK,
		      "canonical text does not parse");
		check(again.key_id == f.key_id && again.pserial == f.pserial && again.tag == f.tag,
		      "canonical text parses to other fields");
	}
	enum verdict vd = keyring_verify(kr, (const char *)data, size, &v);
	check((shape == CODE_SHAPE_OK) == (vd != VERDICT_TYPO),
	      "verify and parse disagree on typos");
	if (vd == VERDICT_GENUINE) {
		char code[CODE_LEN + 1];
		check(code_encode(keyring_signer(keyring_find(kr, 1)), v.serial, code, NULL) == 0,
		      "cannot re-encode an accepted serial");
		check(strcmp(code, v.fields.text) == 0, "accepted code re-encodes differently");
	}
	return 0;
}
