/*
 * http_text.c: the pure text side of HTTP requests: percent-decoding, form
 * fields, UTF-8 and printable checks. No I/O and no state: the router, the
 * handlers, the unit tests and the fuzz targets (fuzz/fuzz_form.c) call the
 * same functions. Whatever comes in is bounded by the caller's buffer.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/http.h"
#include "hex.h"

int http_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	while (p < end) {
		unsigned c = *p;
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return 0;
			p++;
			continue;
		}
		int n;
		unsigned min, cp;
		if ((c & 0xe0) == 0xc0) {
			n = 1;
			min = 0x80;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			min = 0x800;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			min = 0x10000;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (end - p <= n)
			return 0;
		for (int i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		p += n + 1;
	}
	return 1;
}

long http_decode(const char *in, size_t len, int plus, char *out, size_t outlen)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)in[i];
		if (c == '%') {
			if (i + 2 >= len)
				return -1;
			int h = hex_digit((unsigned char)in[i + 1]),
			    l = hex_digit((unsigned char)in[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			c = h * 16 + l;
			i += 2;
		} else if (c == '+' && plus) {
			c = ' ';
		}
		if (c == 0 || o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (long)o;
}

long http_percent_decode(const char *in, size_t len, char *out, size_t outlen)
{
	return http_decode(in, len, 0, out, outlen);
}

int http_form_field(const char *body, size_t len, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name);
	const char *p = body, *end = body + len;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *pair_end = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(pair_end - p));
		const char *key_end = eq ? eq : pair_end;
		char key[64];
		long klen = http_decode(p, (size_t)(key_end - p), 1, key, sizeof key);
		if (klen == (long)nlen && memcmp(key, name, nlen) == 0) {
			const char *v = eq ? eq + 1 : pair_end;
			return http_decode(v, (size_t)(pair_end - v), 1, out, outlen) < 0 ? -1 : 1;
		}
		p = pair_end + 1;
	}
	return 0;
}

int http_query_int(const char *query, const char *name, long long max, long long *out)
{
	char val[32];
	int f = http_form_field(query, strlen(query), name, val, sizeof val);
	if (f <= 0)
		return f;
	char *end;
	long long v = strtoll(val, &end, 10);
	if (!val[0] || *end || v < 1 || v > max)
		return -1;
	*out = v;
	return 1;
}

int http_cookie(const char *header, const char *name, const char **value, size_t *len)
{
	size_t nlen = strlen(name);
	int found = 0;
	const char *p = header;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		size_t pair = strcspn(p, ";");
		const char *eq = memchr(p, '=', pair);
		if (eq && (size_t)(eq - p) == nlen && memcmp(p, name, nlen) == 0) {
			if (found)
				return -1;
			found = 1;
			*value = eq + 1;
			*len = pair - nlen - 1;
			while (*len && ((*value)[*len - 1] == ' ' || (*value)[*len - 1] == '\t'))
				(*len)--;
		}
		p += pair;
	}
	return found;
}
