/*
 * fuzz_console_input.c: libFuzzer target for the headers the console's
 * files are served by (server/handlers/console_input.c): Accept-Encoding
 * and If-None-Match, any bytes.
 *
 * Beyond "does not crash": a value that takes gzip still does with
 * ", identity" added (another element changes nothing of gzip's), and "*"
 * matches every ETag.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/console.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 16);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	int gz = console_takes_gzip(s);
	(void)console_etag_matches(s, "\"0123456789abcdef0123456789abcdef\"");
	if (gz && strlen(s) == size) {
		memcpy(s + size, ", identity", 11);
		if (!console_takes_gzip(s)) {
			fprintf(stderr,
			        "fuzz_console_input: another element changed gzip's answer\n");
			abort();
		}
	}
	if (!console_etag_matches("*", s)) {
		fprintf(stderr, "fuzz_console_input: * did not match\n");
		abort();
	}
	free(s);
	return 0;
}
