/*
 * mkcodes.c: print the codes (and PINs) of serials FIRST.. under key ID of a
 * keyring, "CODE,PIN" a line. A stopgap for the server tests until
 * `packcode-gen mint` lands; then it goes.
 */
#include <stdio.h>
#include <stdlib.h>

#include "keyring.h"

int main(int argc, char **argv)
{
	char err[KEYRING_ERR_LEN], code[CODE_LEN + 1], pin[CODE_PIN_DIGITS + 1];
	if (argc != 5) {
		fprintf(stderr, "usage: mkcodes KEYRING KEY-ID FIRST-SERIAL COUNT\n");
		return 2;
	}
	struct keyring *kr = keyring_load(argv[1], err, sizeof err);
	if (!kr) {
		fprintf(stderr, "mkcodes: %s\n", err);
		return 1;
	}
	struct keyring_key *k = keyring_find(kr, (unsigned)atoi(argv[2]));
	struct code_signer *s = k ? keyring_signer(k) : NULL;
	if (!s) {
		fprintf(stderr, "mkcodes: no key %s\n", argv[2]);
		return 1;
	}
	unsigned long long first = strtoull(argv[3], NULL, 10), n = strtoull(argv[4], NULL, 10);
	for (unsigned long long i = 0; i < n; i++) {
		if (code_encode(s, first + i, code, pin) < 0)
			return 1;
		printf("%s,%s\n", code, pin);
	}
	keyring_free(kr);
	return 0;
}
