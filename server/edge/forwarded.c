/*
 * forwarded.c: X-Forwarded-For and Forwarded (forwarded.h). The values are
 * split left to right (a quoted string may hold a comma), keeping the
 * rightmost FORWARDED_HOPS_MAX entries in a ring; the walk then goes right
 * to left. Every entry is an address with an optional port, IPv6 also in
 * brackets: "192.0.2.1", "192.0.2.1:80", "2001:db8::1", "[2001:db8::1]:80".
 */
#include "edge/forwarded.h"

#include <string.h>
#include <strings.h>

static int is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static int all_digits(const char *s, size_t n)
{
	if (n == 0 || n > 5)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* One node, trimmed: an address, maybe with a port. 0, or -1. */
static int parse_node(const char *s, size_t n, struct cidr_addr *out)
{
	if (n && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (!close)
			return -1;
		size_t in = (size_t)(close - s - 1), after = n - in - 2;
		if (after && !(close[1] == ':' && all_digits(close + 2, after - 1)))
			return -1;
		if (cidr_addr_parse(s + 1, in, out) < 0 || cidr_addr_is_v4(out))
			return -1;
		return 0;
	}
	const char *colon = memchr(s, ':', n);
	if (colon && !memchr(colon + 1, ':', n - (size_t)(colon - s) - 1)) {
		/* one colon: an IPv4 address and a port */
		size_t alen = (size_t)(colon - s);
		if (!all_digits(colon + 1, n - alen - 1) || cidr_addr_parse(s, alen, out) < 0 ||
		    !cidr_addr_is_v4(out))
			return -1;
		return 0;
	}
	return cidr_addr_parse(s, n, out);
}

struct ring {
	struct cidr_addr *hops;
	unsigned char *invalid;
	size_t total; /* entries seen; the ring keeps the last FORWARDED_HOPS_MAX */
};

static void ring_add(struct ring *r, int ok, const struct cidr_addr *a)
{
	size_t i = r->total++ % FORWARDED_HOPS_MAX;
	r->invalid[i] = !ok;
	if (ok)
		r->hops[i] = *a;
	else
		memset(&r->hops[i], 0, sizeof r->hops[i]);
}

/* An X-Forwarded-For element s[0..n), untrimmed; empty ones are no entry. */
static void xff_element(struct ring *r, const char *s, size_t n)
{
	struct cidr_addr a;
	while (n && is_ows(*s))
		s++, n--;
	while (n && is_ows(s[n - 1]))
		n--;
	if (n)
		ring_add(r, parse_node(s, n, &a) == 0, &a);
}

/*
 * The for= node of a Forwarded element s[0..n) (pairs separated by ';',
 * values tokens or quoted strings): 0 with *a, or -1 if it has none or it is
 * no address ("unknown", "_hidden").
 */
static int forwarded_for(const char *s, size_t n, struct cidr_addr *a)
{
	size_t i = 0;
	while (i < n) {
		while (i < n && (is_ows(s[i]) || s[i] == ';'))
			i++;
		size_t name = i;
		while (i < n && s[i] != '=' && s[i] != ';')
			i++;
		size_t name_len = i - name;
		while (name_len && is_ows(s[name + name_len - 1]))
			name_len--;
		if (i >= n || s[i] != '=')
			continue; /* a pair without a value: skip it */
		i++;
		char val[CIDR_TEXT_MAX + 8];
		size_t vlen = 0;
		int too_long = 0;
		if (i < n && s[i] == '"') {
			for (i++; i < n && s[i] != '"'; i++) {
				if (s[i] == '\\' && i + 1 < n)
					i++;
				if (vlen < sizeof val)
					val[vlen++] = s[i];
				else
					too_long = 1;
			}
			if (i >= n)
				return -1; /* an unterminated quoted string */
			i++;
		} else {
			for (; i < n && s[i] != ';'; i++) {
				if (vlen < sizeof val)
					val[vlen++] = s[i];
				else
					too_long = 1;
			}
			while (vlen && is_ows(val[vlen - 1]))
				vlen--;
		}
		if (name_len == 3 && strncasecmp(s + name, "for", 3) == 0)
			return too_long ? -1 : parse_node(val, vlen, a);
	}
	return -1;
}

/* Split v into elements at commas outside quoted strings; each goes to the ring. */
static void split(struct ring *r, enum forwarded_kind kind, const char *v)
{
	const char *start = v;
	int quoted = 0;
	for (const char *p = v;; p++) {
		/* quoted strings are Forwarded's only: X-Forwarded-For has none */
		if (kind == FORWARDED_RFC7239 && *p == '"' && (p == v || p[-1] != '\\'))
			quoted = !quoted;
		if (*p && (*p != ',' || quoted))
			continue;
		size_t n = (size_t)(p - start);
		if (kind == FORWARDED_XFF) {
			xff_element(r, start, n);
		} else {
			size_t k = 0;
			while (k < n && is_ows(start[k]))
				k++;
			if (k < n) {
				struct cidr_addr a;
				ring_add(r, forwarded_for(start, n, &a) == 0, &a);
			}
		}
		if (!*p)
			return;
		start = p + 1;
	}
}

size_t forwarded_parse(enum forwarded_kind kind, const char *const *v, size_t n,
                       struct cidr_addr hops[FORWARDED_HOPS_MAX],
                       unsigned char invalid[FORWARDED_HOPS_MAX])
{
	struct cidr_addr ring_hops[FORWARDED_HOPS_MAX];
	unsigned char ring_invalid[FORWARDED_HOPS_MAX];
	struct ring r = {ring_hops, ring_invalid, 0};
	for (size_t i = 0; i < n; i++)
		if (v[i])
			split(&r, kind, v[i]);
	size_t kept = r.total < FORWARDED_HOPS_MAX ? r.total : FORWARDED_HOPS_MAX;
	size_t first = r.total - kept; /* the oldest entry kept */
	for (size_t i = 0; i < kept; i++) {
		hops[i] = ring_hops[(first + i) % FORWARDED_HOPS_MAX];
		invalid[i] = ring_invalid[(first + i) % FORWARDED_HOPS_MAX];
	}
	return kept;
}

enum forwarded_source forwarded_client(const struct cidr *trusted, size_t ntrusted,
                                       const struct cidr_addr *peer, enum forwarded_kind kind,
                                       const char *const *v, size_t n, struct cidr_addr *client)
{
	struct cidr_addr hops[FORWARDED_HOPS_MAX];
	unsigned char invalid[FORWARDED_HOPS_MAX];
	*client = *peer;
	if (!cidr_match_any(trusted, ntrusted, peer))
		return FORWARDED_PEER;
	size_t nhops = forwarded_parse(kind, v, n, hops, invalid);
	if (nhops == 0)
		return FORWARDED_PEER;
	for (size_t i = nhops; i-- > 0;) {
		if (invalid[i])
			return FORWARDED_PROXY; /* the last trusted hop: *client already */
		*client = hops[i];
		if (!cidr_match_any(trusted, ntrusted, &hops[i]))
			return FORWARDED_HEADER;
	}
	return FORWARDED_PROXY;
}
