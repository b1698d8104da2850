/*
 * console_input.c: the request headers the console's files are served by
 * (Accept-Encoding, If-None-Match), read by pure functions: outside input,
 * fuzzed (fuzz/fuzz_console_input.c) and unit-tested (tests/unit/test_console.c).
 */
#include "handlers/console.h"

#include <string.h>
#include <strings.h>

/* 1 if a q-value's text s[0..n) is zero ("0", "0.", "0.000"). */
static int q_zero(const char *s, size_t n)
{
	size_t i = 0;
	if (i == n || s[i] != '0')
		return 0;
	i++;
	if (i < n && s[i] == '.')
		i++;
	while (i < n && s[i] == '0')
		i++;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i == n;
}

/*
 * Each comma-separated element: a coding, then parameters after ';'. gzip
 * (or x-gzip), any case, is taken unless its q is 0.
 */
int console_takes_gzip(const char *ae)
{
	if (!ae)
		return 0;
	const char *p = ae;
	while (*p) {
		size_t len = strcspn(p, ",");
		const char *e = p + len;
		const char *c = p;
		while (c < e && (*c == ' ' || *c == '\t'))
			c++;
		size_t clen = strcspn(c, ";, \t");
		if (c + clen > e)
			clen = (size_t)(e - c);
		if ((clen == 4 && strncasecmp(c, "gzip", 4) == 0) ||
		    (clen == 6 && strncasecmp(c, "x-gzip", 6) == 0)) {
			int refused = 0;
			const char *q = c + clen;
			while (q < e) {
				q += strspn(q, "; \t");
				if (q >= e)
					break;
				size_t plen = strcspn(q, ";,");
				if (q + plen > e)
					plen = (size_t)(e - q);
				if (plen >= 2 && (q[0] == 'q' || q[0] == 'Q') && q[1] == '=')
					refused = q_zero(q + 2, plen - 2);
				q += plen;
			}
			if (!refused)
				return 1;
		}
		p = *e ? e + 1 : e;
	}
	return 0;
}

/* 1 if an If-None-Match value names etag (or is *). */
int console_etag_matches(const char *inm, const char *etag)
{
	if (!inm)
		return 0;
	if (strchr(inm, '*'))
		return 1;
	return strstr(inm, etag) != NULL;
}
