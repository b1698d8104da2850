/*
 * fuzz_form.c: libFuzzer target for the form and percent decoders
 * (server/http_text.c) that read the landing page's claim form, query
 * strings and path segments, the query integers (limit, before), and the
 * UTF-8 and printable checks.
 *
 * Beyond "does not crash": a field found decodes to a string that fits its
 * buffer with no NUL inside, and percent-encoding it again and decoding
 * gives it back; the printable copy is printable ASCII.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/http.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_form: %s\n", what);
		abort();
	}
}

/* Percent-encode s (every byte) and decode it again: must give s back. */
static void round_trip(const char *s)
{
	size_t n = strlen(s);
	char *enc = malloc(3 * n + 1), *dec = malloc(n + 1);
	check(enc && dec, "out of memory");
	for (size_t i = 0; i < n; i++)
		snprintf(enc + 3 * i, 4, "%%%02X", (unsigned char)s[i]);
	check(http_decode(enc, 3 * n, 1, dec, n + 1) == (long)n && memcmp(dec, s, n) == 0,
	      "a decoded value does not survive encoding and decoding");
	free(enc);
	free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	/* the buffers the landing form, the member query and the router use */
	static const struct {
		const char *name;
		size_t outlen;
	} fields[] = {{"member", 193}, {"pin", 49}, {"limit", 32}, {"before", 32}};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		char out[193];
		memset(out, 'Z', sizeof out);
		int f = http_form_field(body, size, fields[i].name, out, fields[i].outlen);
		check(f >= -1 && f <= 1, "http_form_field outcome");
		if (f == 1) {
			check(memchr(out, '\0', fields[i].outlen) != NULL, "value not terminated");
			round_trip(out);
		}
	}
	char seg[201];
	long n = http_decode(body, size, 0, seg, sizeof seg);
	check(n >= -1 && n < (long)sizeof seg, "http_decode length");
	if (n >= 0)
		check(strlen(seg) == (size_t)n, "a decoded segment with a NUL inside");
	int valid = http_utf8_valid(body, size);
	check(valid == 0 || valid == 1, "http_utf8_valid outcome");
	if (valid)
		check(memchr(body, '\0', size) == NULL, "valid UTF-8 with a NUL");
	/* the same bytes as a query string: limit=..&before=.. */
	char *query = malloc(size + 1);
	check(query != NULL, "out of memory");
	memcpy(query, data, size);
	query[size] = '\0';
	long long v = 0;
	int q = http_query_int(query, "limit", 500, &v);
	check(q >= -1 && q <= 1, "http_query_int outcome");
	if (q == 1)
		check(v >= 1 && v <= 500, "http_query_int out of its bounds");
	free(query);
	char shown[65];
	text_printable(body, size, shown, sizeof shown);
	for (const char *p = shown; *p; p++)
		check(*p >= 0x20 && *p < 0x7f, "printable copy is not printable");
	check(strlen(shown) == (size < sizeof shown ? size : sizeof shown - 1),
	      "printable copy of the wrong length");
	return 0;
}
