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

/* ---- the resolver: link types, requests, canonical URIs ------------------ */

static const char *const link_terms[DL_LT_COUNT] = {
    [DL_LT_DEFAULT] = "defaultLink",
    [DL_LT_VERIFICATION] = "verificationService",
    [DL_LT_PIP] = "pip",
    [DL_LT_CERTIFICATION] = "certificationInfo",
    [DL_LT_INSTRUCTIONS] = "instructions",
    [DL_LT_SAFETY] = "safetyInfo",
    [DL_LT_SUSTAINABILITY] = "sustainabilityInfo",
    [DL_LT_RECYCLING] = "recyclingInfo",
    [DL_LT_PROMOTION] = "promotion",
    [DL_LT_EPIL] = "epil",
    [DL_LT_SUPPORT] = "support",
    [DL_LT_REGISTER] = "registerProduct",
    [DL_LT_REVIEW] = "review",
    [DL_LT_VIDEO] = "relatedVideo",
    [DL_LT_RECIPE] = "recipeInfo",
    [DL_LT_NUTRITION] = "nutritionalInfo",
    [DL_LT_ALLERGEN] = "allergenInfo",
    [DL_LT_FAQS] = "faqs",
    [DL_LT_MASTER_DATA] = "masterData",
    [DL_LT_TRACEABILITY] = "traceability",
    [DL_LT_SOCIAL] = "socialMedia",
};

const char *dl_link_type_term(enum dl_link_type t)
{
	return t >= 0 && t < DL_LT_COUNT ? link_terms[t] : NULL;
}

static int has_prefix(const char *s, size_t n, const char *prefix, size_t *plen)
{
	size_t k = strlen(prefix);
	if (n < k || memcmp(s, prefix, k) != 0)
		return 0;
	*plen = k;
	return 1;
}

enum dl_link_type dl_link_type_parse(const char *s, size_t n)
{
	static const char *const prefixes[] = {
	    "gs1:",
	    "https://ref.gs1.org/voc/",
	    "https://gs1.org/voc/",
	    "https://www.gs1.org/voc/",
	    "http://gs1.org/voc/",
	    "http://www.gs1.org/voc/",
	};
	size_t k = 0;
	if (!s)
		return DL_LT_UNKNOWN;
	if ((n == 7 && memcmp(s, "linkset", 7) == 0) || (n == 3 && memcmp(s, "all", 3) == 0))
		return DL_LT_LINKSET;
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
		if (has_prefix(s, n, prefixes[i], &k))
			break;
	if (k == 0)
		return DL_LT_UNKNOWN;
	for (int t = DL_LT_DEFAULT; t < DL_LT_COUNT; t++)
		if (strlen(link_terms[t]) == n - k && memcmp(link_terms[t], s + k, n - k) == 0)
			return (enum dl_link_type)t;
	return DL_LT_UNKNOWN;
}

#define DL_REQUEST_SEGMENTS 8 /* 01 g 22 c 10 l 21 s */

static int parse_request_path(const char *path, size_t len, struct dl_request *r)
{
	char seg[DL_REQUEST_SEGMENTS][DL_FIELD_MAX + 1];
	int seglen[DL_REQUEST_SEGMENTS];
	int nseg = 0, last = 0; /* 22 < 10 < 21 in the standard's order */
	int seen_cpv = 0, seen_lot = 0, seen_serial = 0;

	if (len == 0 || path[0] != '/')
		return -1;
	if (len > 1 && path[len - 1] == '/')
		len--; /* one trailing slash is tolerated */
	for (size_t start = 1; start <= len;) {
		const char *slash = memchr(path + start, '/', len - start);
		size_t end = slash ? (size_t)(slash - path) : len;
		if (nseg == DL_REQUEST_SEGMENTS)
			return -1;
		seglen[nseg] = segment_decode(path + start, end - start, seg[nseg]);
		if (seglen[nseg] <= 0)
			return -1;
		nseg++;
		start = end + 1;
	}
	if (nseg < 2 || nseg % 2 != 0 || strcmp(seg[0], "01") != 0)
		return -1;
	if (strlen(seg[1]) != (size_t)seglen[1] || gtin_normalize(seg[1], r->key.gtin, NULL, 0) < 0)
		return -1;
	for (int i = 2; i < nseg; i += 2) {
		const char *v = seg[i + 1];
		size_t vn = (size_t)seglen[i + 1];
		char *slot;
		int rank, *seen;
		if (strcmp(seg[i], "22") == 0) {
			slot = r->cpv, rank = 1, seen = &seen_cpv;
		} else if (strcmp(seg[i], "10") == 0) {
			slot = r->key.lot, rank = 2, seen = &seen_lot;
		} else if (strcmp(seg[i], "21") == 0) {
			slot = r->key.code, rank = 3, seen = &seen_serial;
		} else {
			return -1;
		}
		/* the order is the standard's, but for a lot after the serial (dl_parse_path's) */
		if (*seen || (rank < last && !(rank == 2 && last == 3 && !seen_cpv)) ||
		    value_valid(v, vn, DL_FIELD_MAX) < 0)
			return -1;
		*seen = 1;
		if (rank > last)
			last = rank;
		memcpy(slot, v, vn + 1);
	}
	return 0;
}

/* Data attributes whose values are dates (YYMMDD). */
static int ai_is_date(const char *ai)
{
	return strcmp(ai, "11") == 0 || strcmp(ai, "13") == 0 || strcmp(ai, "15") == 0 ||
	       strcmp(ai, "16") == 0 || strcmp(ai, "17") == 0;
}

#define DL_QUERY_VALUE_MAX 90 /* the longest GS1 AI value */
#define DL_QUERY_AIS_MAX   16

/* Percent-decode s[0..n) into out (room for max + 1): the length, or -1. */
static long query_decode(const char *s, size_t n, char *out, size_t max)
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
		if (c == '\0' || o == max)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (long)o;
}

static int parse_request_query(const char *q, size_t qlen, struct dl_request *r)
{
	char seen[DL_QUERY_AIS_MAX][5];
	int nseen = 0, have_link_type = 0;
	for (size_t start = 0; start < qlen;) {
		const char *amp = memchr(q + start, '&', qlen - start);
		size_t end = amp ? (size_t)(amp - q) : qlen;
		const char *eq = memchr(q + start, '=', end - start);
		size_t kend = eq ? (size_t)(eq - q) : end;
		const char *k = q + start, *v = eq ? eq + 1 : q + end;
		size_t kn = kend - start, vn = eq ? end - kend - 1 : 0;
		char key[16], val[DL_QUERY_VALUE_MAX + 1];
		long dk;
		start = end + 1;
		if (kn == 0)
			continue;
		dk = query_decode(k, kn, key, sizeof key - 1);
		if (dk < 0)
			continue; /* a long or odd key is not ours: passed on, not read */
		if (strcmp(key, "linkType") == 0) {
			char lt[sizeof r->link_type_text];
			long n = query_decode(v, vn, lt, sizeof lt - 1);
			if (have_link_type++)
				continue; /* the first one counts */
			if (n < 0)
				return -1;
			memcpy(r->link_type_text, lt, (size_t)n + 1);
			r->link_type = dl_link_type_parse(lt, (size_t)n);
			r->all = r->link_type == DL_LT_LINKSET && strcmp(lt, "all") == 0;
			continue;
		}
		int numeric = dk >= 2 && dk <= 4;
		for (long i = 0; i < dk; i++)
			if (!is_digit((unsigned char)key[i]))
				numeric = 0;
		if (!numeric)
			continue; /* not an AI: passed on to a redirect's target */
		/* the key and its qualifiers belong in the path */
		if (strcmp(key, "01") == 0 || strcmp(key, "10") == 0 || strcmp(key, "21") == 0 ||
		    strcmp(key, "22") == 0 || strcmp(key, "00") == 0)
			return -1;
		for (int i = 0; i < nseen; i++)
			if (strcmp(seen[i], key) == 0)
				return -1;
		if (nseen == DL_QUERY_AIS_MAX)
			return -1;
		memcpy(seen[nseen++], key, (size_t)dk + 1);
		long n = query_decode(v, vn, val, DL_QUERY_VALUE_MAX);
		if (n <= 0)
			return -1;
		for (long i = 0; i < n; i++)
			if (!cset82((unsigned char)val[i]))
				return -1;
		if (ai_is_date(key) && dl_expiry_valid(val) < 0)
			return -1;
		if (strcmp(key, "17") == 0)
			memcpy(r->expiry, val, DL_EXPIRY_LEN + 1);
	}
	return 0;
}

int dl_parse_request(const char *path, size_t len, const char *query, size_t qlen,
                     struct dl_request *out)
{
	struct dl_request r;
	if (!path || !out || (!query && qlen))
		return -1;
	memset(&r, 0, sizeof r);
	r.link_type = DL_LT_NONE;
	if (parse_request_path(path, len, &r) < 0 || parse_request_query(query, qlen, &r) < 0)
		return -1;
	*out = r;
	return 0;
}

int dl_request_uri(char *out, size_t outlen, const char *host, const struct dl_request *r)
{
	struct sbuf b = {out, outlen, 0, 0};
	if (!out || !outlen)
		return -1;
	out[0] = '\0';
	if (!r || host_valid(host) < 0)
		return -1;
	sb_puts(&b, "https://");
	for (const char *h = host; *h; h++)
		sb_putc(&b, ascii_lower(*h));
	sb_puts(&b, "/01/");
	sb_puts(&b, r->key.gtin);
	if (r->cpv[0]) {
		sb_puts(&b, "/22/");
		sb_put_encoded(&b, r->cpv);
	}
	if (r->key.lot[0]) {
		sb_puts(&b, "/10/");
		sb_put_encoded(&b, r->key.lot);
	}
	if (r->key.code[0]) {
		sb_puts(&b, "/21/");
		sb_put_encoded(&b, r->key.code);
	}
	if (b.overflow) {
		out[0] = '\0';
		return -1;
	}
	return (int)b.len;
}

/* ---- a brand's link ------------------------------------------------------ */

static int utf8_text_valid(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t k = c < 0x80             ? 1
		           : (c & 0xe0) == 0xc0 ? 2
		           : (c & 0xf0) == 0xe0 ? 3
		           : (c & 0xf8) == 0xf0 ? 4
		                                : 0;
		if (k == 0 || i + k > n || (k == 2 && c < 0xc2) || (k == 4 && c > 0xf4))
			return 0;
		if (k == 1 && (c < 0x20 || c == 0x7f || c == '"' || c == '\\'))
			return 0;
		for (size_t j = 1; j < k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
		if (k == 3 && ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] >= 0xa0)))
			return 0;
		if (k == 4 && ((c == 0xf0 && s[i + 1] < 0x90) || (c == 0xf4 && s[i + 1] >= 0x90)))
			return 0;
		if (k == 2 && c == 0xc2 && s[i + 1] < 0xa0)
			return 0; /* C1 controls */
		i += k;
	}
	return 1;
}

static int hreflang_valid(const char *s)
{
	size_t n = strlen(s), i = 0, part = 0, len;
	if (n == 0)
		return 1;
	if (n > DL_HREFLANG_MAX)
		return 0;
	while (i <= n) {
		len = 0;
		while (i + len < n && s[i + len] != '-')
			len++;
		for (size_t j = 0; j < len; j++)
			if (!is_alpha((unsigned char)s[i + j]) &&
			    (part == 0 || !is_digit((unsigned char)s[i + j])))
				return 0;
		if (part == 0 ? (len < 2 || len > 3) : (len < 2 || len > 8))
			return 0;
		part++;
		i += len + 1;
	}
	return 1;
}

static int media_type_valid(const char *s)
{
	size_t n = strlen(s), i = 0;
	if (n == 0 || n > DL_MEDIA_TYPE_MAX)
		return 0;
	while (i < n && s[i] >= 'a' && s[i] <= 'z')
		i++;
	if (i == 0 || i == n || s[i] != '/' || i + 1 == n)
		return 0;
	for (i++; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || is_digit((unsigned char)s[i]) ||
		      s[i] == '.' || s[i] == '+' || s[i] == '-'))
			return 0;
	return 1;
}

int dl_link_check(const char *type, const char *href, const char *title, const char *hreflang,
                  const char *media_type, enum dl_link_type *out, char *err, size_t errlen)
{
	enum dl_link_type t;
	size_t n;
	if (!type || !href || !title) {
		errbuf_set(err, errlen, "a link needs a type, an href and a title");
		return -1;
	}
	n = strnlen(type, 64);
	t = dl_link_type_parse(type, n);
	if (t == DL_LT_UNKNOWN) {
		/* the bare term: "pip" */
		char curie[72];
		snprintf(curie, sizeof curie, "gs1:%.64s", type);
		t = dl_link_type_parse(curie, strlen(curie));
	}
	if (t < DL_LT_BRAND_FIRST || t >= DL_LT_COUNT) {
		errbuf_set(err, errlen,
		           "link type must be one a brand sets: gs1:pip, gs1:certificationInfo, "
		           "gs1:instructions, ... (docs/resolver.md), not \"%.40s\"",
		           type);
		return -1;
	}
	n = strnlen(href, DL_HREF_MAX + 1);
	int href_ok = n <= DL_HREF_MAX && n > 8 && strncmp(href, "https://", 8) == 0;
	for (size_t i = 0; href_ok && i < n; i++) {
		unsigned char c = (unsigned char)href[i];
		if (c <= 0x20 || c >= 0x7f || strchr("<>\"\\^`{|}", c))
			href_ok = 0;
	}
	if (!href_ok) {
		errbuf_set(err, errlen,
		           "href must be an https:// URL of at most %d characters, spaces and "
		           "<>\"\\^`{|} percent-encoded",
		           DL_HREF_MAX);
		return -1;
	}
	n = strnlen(title, DL_TITLE_MAX + 1);
	if (n == 0 || n > DL_TITLE_MAX || !utf8_text_valid((const unsigned char *)title, n)) {
		errbuf_set(err, errlen,
		           "title must be 1 to %d bytes of UTF-8 text without control characters, "
		           "'\"' or '\\'",
		           DL_TITLE_MAX);
		return -1;
	}
	if (hreflang && !hreflang_valid(hreflang)) {
		errbuf_set(err, errlen, "hreflang must be a language tag such as en or zh-CN");
		return -1;
	}
	if (media_type && !media_type_valid(media_type)) {
		errbuf_set(err, errlen, "type must be a media type such as text/html");
		return -1;
	}
	if (out)
		*out = t;
	return 0;
}

/* ---- SSCC ------------------------------------------------------------------ */

int sscc_make(char out[SSCC_LEN + 1], unsigned extension, const char *company_prefix,
              unsigned long long reference, char *err, size_t errlen)
{
	size_t n, refdigits;
	unsigned long long limit = 1;
	if (!out || !company_prefix) {
		errbuf_set(err, errlen, "an SSCC needs a GS1 Company Prefix");
		return -1;
	}
	if (extension > 9) {
		errbuf_set(err, errlen, "the SSCC extension digit is 0 to 9, not %u", extension);
		return -1;
	}
	n = strnlen(company_prefix, GCP_MAX + 1);
	for (size_t i = 0; i < n; i++)
		if (!is_digit((unsigned char)company_prefix[i]))
			n = 0;
	if (n < GCP_MIN || n > GCP_MAX) {
		errbuf_set(err, errlen, "a GS1 Company Prefix is %d to %d digits", GCP_MIN,
		           GCP_MAX);
		return -1;
	}
	refdigits = SSCC_LEN - 2 - n; /* 18 = extension + prefix + reference + check digit */
	for (size_t i = 0; i < refdigits; i++)
		limit *= 10;
	if (reference >= limit) {
		errbuf_set(err, errlen,
		           "serial reference %llu does not fit the %zu digits a %zu-digit company "
		           "prefix leaves",
		           reference, refdigits, n);
		return -1;
	}
	out[0] = (char)('0' + extension);
	memcpy(out + 1, company_prefix, n);
	for (size_t i = 0; i < refdigits; i++) {
		out[SSCC_LEN - 2 - i] = (char)('0' + reference % 10);
		reference /= 10;
	}
	out[SSCC_LEN - 1] = (char)('0' + gtin_check_digit(out, SSCC_LEN - 1));
	out[SSCC_LEN] = '\0';
	return 0;
}

int sscc_valid(const char *s, char *err, size_t errlen)
{
	size_t n = s ? strnlen(s, SSCC_LEN + 1) : 0;
	for (size_t i = 0; i < n; i++)
		if (!is_digit((unsigned char)s[i]))
			n = 0;
	if (n != SSCC_LEN) {
		errbuf_set(err, errlen, "an SSCC is 18 digits");
		return -1;
	}
	int want = gtin_check_digit(s, SSCC_LEN - 1);
	if (s[SSCC_LEN - 1] - '0' != want) {
		errbuf_set(err, errlen, "SSCC check digit is %c, expected %d", s[SSCC_LEN - 1],
		           want);
		return -1;
	}
	return 0;
}

int url_sscc(char *out, size_t outlen, const char *host, const char *sscc)
{
	struct sbuf b = {out, outlen, 0, 0};
	if (!out || !outlen)
		return -1;
	out[0] = '\0';
	if (host_valid(host) < 0 || sscc_valid(sscc, NULL, 0) < 0)
		return -1;
	sb_puts(&b, "https://");
	for (const char *h = host; *h; h++)
		sb_putc(&b, ascii_lower(*h));
	sb_puts(&b, "/00/");
	sb_puts(&b, sscc);
	if (b.overflow) {
		out[0] = '\0';
		return -1;
	}
	return (int)b.len;
}

int dl_parse_sscc_path(const char *path, size_t len, char out[SSCC_LEN + 1])
{
	char v[SSCC_LEN + 1];
	const char *q;
	if (!path || !out || len < 4 || memcmp(path, "/00/", 4) != 0)
		return -1;
	q = memchr(path, '?', len);
	if (q)
		len = (size_t)(q - path);
	if (len > 4 && path[len - 1] == '/')
		len--;
	if (len - 4 != SSCC_LEN)
		return -1;
	memcpy(v, path + 4, SSCC_LEN);
	v[SSCC_LEN] = '\0';
	if (sscc_valid(v, NULL, 0) < 0)
		return -1;
	memcpy(out, v, SSCC_LEN + 1);
	return 0;
}
