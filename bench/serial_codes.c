/*
 * serial_codes.c: the codes of given serials, for bench_scale.sh's spread
 * workload (codes of random serials across every print run, which no mint
 * file holds once the database is seeded set-based).
 *
 *   serial_codes <SERIALS >CODES   one serial a line in, its code a line out
 *
 * Signs with the active key of the keyring (PACKCODE_KEYRING, else
 * PACKCODE_HOME/keyring): the seeded print runs are allocated under it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "code.h"
#include "keyring.h"

int main(void)
{
	char err[KEYRING_ERR_LEN];
	struct keyring *kr = keyring_load(keyring_default_path(), err, sizeof err);
	struct keyring_key *k;
	struct code_signer *s;
	char line[64], code[CODE_LEN + 1];
	long lineno = 0;
	int rc = 1;

	if (kr == NULL) {
		fprintf(stderr, "serial_codes: %s\n", err);
		return 1;
	}
	k = keyring_active(kr);
	s = k != NULL ? keyring_signer(k) : NULL;
	if (s == NULL) {
		fprintf(stderr, "serial_codes: no active key in %s\n", keyring_default_path());
		goto out;
	}
	while (fgets(line, sizeof line, stdin) != NULL) {
		char *end;
		unsigned long long serial;

		lineno++;
		serial = strtoull(line, &end, 10);
		if (end == line || (*end != '\n' && *end != '\0') || serial < CODE_SERIAL_MIN ||
		    serial > CODE_SERIAL_MAX) {
			fprintf(stderr, "serial_codes: line %ld: not a serial\n", lineno);
			goto out;
		}
		if (code_encode(s, serial, code, NULL) != 0) {
			fprintf(stderr, "serial_codes: line %ld: cannot encode\n", lineno);
			goto out;
		}
		puts(code);
	}
	rc = ferror(stdin) || fflush(stdout) != 0 ? 1 : 0;
	if (rc)
		fprintf(stderr, "serial_codes: input or output failed\n");
out:
	keyring_free(kr);
	return rc;
}
