/*
 * url.c: GTINs, the short landing URL and GS1 Digital Link URLs and paths.
 *
 * dl_parse_path faces the internet: it never reads past len, never writes past
 * a field's buffer, and accepts only the few shapes url.h lists; everything
 * else is -1. Case folding here is ASCII only, never the locale's.
 */
#include "url.h"

#include <stdio.h>
#include <string.h>
#include "errbuf.h"
#include "hex.h"

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static char ascii_upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* ---- GTIN ---------------------------------------------------------------- */

/* GS1 mod-10: weights 3, 1, 3, ... from the digit left of the check digit. */
static int gtin_check_digit(const char *digits, size_t n)
{
	unsigned sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += (unsigned)(digits[n - 1 - i] - '0') * (i % 2 == 0 ? 3u : 1u);
	return (int)((10 - sum % 10) % 10);
}

int gtin_normalize(const char *in, char out[GTIN_LEN + 1], char *err, size_t errlen)
{
	size_t n;
	if (!in) {
		errbuf_set(err, errlen, "GTIN is missing");
		return -1;
	}
	n = strnlen(in, GTIN_LEN + 1);
	for (size_t i = 0; i < n; i++)
		if (!is_digit((unsigned char)in[i])) {
			errbuf_set(err, errlen, "GTIN must be digits only");
			return -1;
		}
	if (n != 8 && n != 12 && n != 13 && n != 14) {
		errbuf_set(err, errlen, "GTIN must be 8, 12, 13 or 14 digits");
		return -1;
	}
	int want = gtin_check_digit(in, n - 1);
	if (in[n - 1] - '0' != want) {
		errbuf_set(err, errlen, "GTIN check digit is %c, expected %d", in[n - 1], want);
		return -1;
	}
	memset(out, '0', GTIN_LEN - n);
	memcpy(out + (GTIN_LEN - n), in, n);
	out[GTIN_LEN] = '\0';
	return 0;
}

/* ---- hosts --------------------------------------------------------------- */

/* A decimal number of 1-5 digits without a leading zero, at most max. */
static int parse_decimal(const char *s, size_t n, unsigned max, unsigned *out)
{
	unsigned v = 0;
	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static int ipv4_valid(const char *s, size_t n)
{
	size_t start = 0;
	int parts = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		unsigned octet;
		if (++parts > 4 || parse_decimal(s + start, i - start, 255, &octet) < 0)
			return -1;
		start = i + 1;
	}
	return parts == 4 ? 0 : -1;
}

/* RFC 1123 names. A name whose last label is all digits is read as IPv4 by browsers. */
static int dns_name_valid(const char *s, size_t n)
{
	size_t start = 0;
	int last_numeric = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			unsigned char c = (unsigned char)s[i];
			if (!is_alpha(c) && !is_digit(c) && c != '-')
				return -1;
			continue;
		}
		size_t len = i - start;
		if (len == 0 || len > 63 || s[start] == '-' || s[i - 1] == '-')
			return -1;
		last_numeric = 1;
		for (size_t j = start; j < i; j++)
			if (!is_digit((unsigned char)s[j]))
				last_numeric = 0;
		start = i + 1;
	}
	return last_numeric ? -1 : 0;
}

int host_valid(const char *host)
{
	size_t n, hn;
	const char *colon;
	if (!host)
		return -1;
	n = strnlen(host, HOST_MAX + 1);
	if (n == 0 || n > HOST_MAX)
		return -1;
	colon = memchr(host, ':', n);
	hn = colon ? (size_t)(colon - host) : n;
	if (colon) {
		unsigned port;
		if (parse_decimal(colon + 1, n - hn - 1, 65535, &port) < 0 || port == 0)
			return -1;
	}
	if (ipv4_valid(host, hn) == 0 || dns_name_valid(host, hn) == 0)
		return 0;
	return -1;
}

/* ---- building URLs ------------------------------------------------------- */

/* An output buffer that remembers running out of room. */
struct sbuf {
	char *p;
	size_t cap, len;
	int overflow;
};

static void sb_putc(struct sbuf *b, char c)
{
	if (b->len + 1 >= b->cap) {
		b->overflow = 1;
		return;
	}
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
	while (*s)
		sb_putc(b, *s++);
}

/* GS1 AI encodable character set 82 (GS1 General Specifications, figure 7.11-1). */
static int cset82(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || (c != '\0' && strchr("!\"%&'()*+,-./:;<=>?_", c));
}

/* What may stand for itself in a path segment: RFC 3986 unreserved, less '~' (not in set 82). */
static int uri_unreserved(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_';
}

static void sb_put_encoded(struct sbuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (uri_unreserved(c)) {
			sb_putc(b, (char)c);
		} else {
			sb_putc(b, '%');
			sb_putc(b, hex[c >> 4]);
			sb_putc(b, hex[c & 15]);
		}
	}
}

/* "." and ".." are dot-segments: URL parsers would remove them, even percent-encoded. */
static int value_valid(const char *v, size_t n, size_t max)
{
	if (n == 0 || n > max)
		return -1;
	if ((n == 1 && v[0] == '.') || (n == 2 && v[0] == '.' && v[1] == '.'))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!cset82((unsigned char)v[i]))
			return -1;
	return 0;
}

int dl_value_valid(const char *value)
{
	if (!value)
		return -1;
	return value_valid(value, strnlen(value, DL_SERIAL_MAX + 1), DL_SERIAL_MAX);
}

int dl_expiry_valid(const char *s)
{
	static const unsigned days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	unsigned yy, mm, dd;
	if (!s || strnlen(s, DL_EXPIRY_LEN + 1) != DL_EXPIRY_LEN)
		return -1;
	for (int i = 0; i < DL_EXPIRY_LEN; i++)
		if (!is_digit((unsigned char)s[i]))
			return -1;
	yy = (unsigned)((s[0] - '0') * 10 + (s[1] - '0'));
	mm = (unsigned)((s[2] - '0') * 10 + (s[3] - '0'));
	dd = (unsigned)((s[4] - '0') * 10 + (s[5] - '0'));
	if (mm < 1 || mm > 12 || dd > days[mm - 1])
		return -1;
	/* GS1 reads YY within -49..+50 years of today: 2000-2099 for now, so YY % 4 == 0 is leap.
	 */
	if (mm == 2 && dd == 29 && yy % 4 != 0)
		return -1;
	return 0;
}

int url_short(char *out, size_t outlen, const char *host, const char *code)
{
	size_t n;
	int len;
	if (!out || !outlen || host_valid(host) < 0 || !code)
		return -1;
	n = strnlen(code, DL_SERIAL_MAX + 1);
	if (n == 0 || n > DL_SERIAL_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!is_alpha((unsigned char)code[i]) && !is_digit((unsigned char)code[i]))
			return -1;
	len = snprintf(out, outlen, "HTTPS://%s/C/%s", host, code);
	if (len < 0 || (size_t)len >= outlen) {
		out[0] = '\0';
		return -1;
	}
	for (int i = 0; i < len; i++)
		out[i] = ascii_upper(out[i]);
	return len;
}

int url_digital_link(char *out, size_t outlen, const char *host, const char *gtin, const char *code,
                     const char *lot, const char *expiry)
{
	char g[GTIN_LEN + 1];
	struct sbuf b = {out, outlen, 0, 0};
	if (!out || !outlen)
		return -1;
	out[0] = '\0';
	if (host_valid(host) < 0 || gtin_normalize(gtin, g, NULL, 0) < 0 ||
	    dl_value_valid(code) < 0 || (lot && dl_value_valid(lot) < 0) ||
	    (expiry && dl_expiry_valid(expiry) < 0))
		return -1;
	sb_puts(&b, "https://");
	for (const char *h = host; *h; h++)
		sb_putc(&b, ascii_lower(*h));
	sb_puts(&b, "/01/");
	sb_puts(&b, g);
	if (lot) {
		sb_puts(&b, "/10/");
		sb_put_encoded(&b, lot);
	}
	sb_puts(&b, "/21/");
	sb_put_encoded(&b, code);
	if (expiry) {
		sb_puts(&b, "?17=");
		sb_puts(&b, expiry);
	}
	if (b.overflow) {
		out[0] = '\0';
		return -1;
	}
	return (int)b.len;
}

/* ---- parsing Digital Link paths ------------------------------------------ */

#define DL_SEGMENTS_MAX 6
#define DL_FIELD_MAX    20 /* longest decoded segment: AI 10 and AI 21 values */

_Static_assert(DL_FIELD_MAX == DL_SERIAL_MAX && DL_FIELD_MAX == DL_LOT_MAX,
               "a decoded segment fills struct dl_path's code and lot exactly");

/*
 * Percent-decode s[0..n) into out (room for DL_FIELD_MAX + 1). Returns the
 * decoded length, or -1 for a broken escape, a byte outside set 82 (before or
 * after decoding), or more than DL_FIELD_MAX bytes.
 */
static int segment_decode(const char *s, size_t n, char out[DL_FIELD_MAX + 1])
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			int hi, lo;
			if (n - i < 3)
				return -1;
			hi = hex_digit((unsigned char)s[i + 1]);
			lo = hex_digit((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (!cset82(c) || o == DL_FIELD_MAX)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (int)o;
}

int dl_parse_path(const char *path, size_t len, struct dl_path *out)
{
	char seg[DL_SEGMENTS_MAX][DL_FIELD_MAX + 1];
	int seglen[DL_SEGMENTS_MAX];
	int nseg = 0;
	const char *q, *lot = NULL, *serial = NULL;
	struct dl_path r;

	if (!path || !out || len == 0 || path[0] != '/')
		return -1;
	q = memchr(path, '?', len);
	if (q)
		len = (size_t)(q - path);

	/* Split at '/' and decode; path[0] is the leading '/'. */
	for (size_t start = 1; start <= len;) {
		const char *slash = memchr(path + start, '/', len - start);
		size_t end = slash ? (size_t)(slash - path) : len;
		if (nseg == DL_SEGMENTS_MAX)
			return -1;
		seglen[nseg] = segment_decode(path + start, end - start, seg[nseg]);
		if (seglen[nseg] <= 0)
			return -1;
		nseg++;
		start = end + 1;
	}
	if ((nseg != 4 && nseg != 6) || strcmp(seg[0], "01") != 0)
		return -1;

	memset(&r, 0, sizeof r);
	if (gtin_normalize(seg[1], r.gtin, NULL, 0) < 0)
		return -1;
	for (int i = 2; i < nseg; i += 2) {
		const char **slot;
		if (strcmp(seg[i], "21") == 0)
			slot = &serial;
		else if (strcmp(seg[i], "10") == 0)
			slot = &lot;
		else
			return -1;
		if (*slot || value_valid(seg[i + 1], (size_t)seglen[i + 1], DL_FIELD_MAX) < 0)
			return -1;
		*slot = seg[i + 1];
	}
	if (!serial)
		return -1;
	memcpy(r.code, serial, strlen(serial) + 1);
	if (lot)
		memcpy(r.lot, lot, strlen(lot) + 1);
	*out = r;
	return 0;
}
