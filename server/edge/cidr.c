/*
 * cidr.c: addresses and CIDR blocks (cidr.h). IPv4 lives inside IPv6 as
 * ::ffff:0:0/96, so every comparison is one 128-bit prefix test.
 */
#include "edge/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int cidr_addr_parse(const char *s, size_t len, struct cidr_addr *out)
{
	char text[CIDR_TEXT_MAX];
	if (len == 0 || len >= sizeof text || memchr(s, '\0', len))
		return -1;
	memcpy(text, s, len);
	text[len] = '\0';
	if (inet_pton(AF_INET, text, out->b + 12) == 1) {
		memcpy(out->b, v4_mapped, sizeof v4_mapped);
		return 0;
	}
	return inet_pton(AF_INET6, text, out->b) == 1 ? 0 : -1;
}

int cidr_addr_from_sockaddr(const struct sockaddr *sa, struct cidr_addr *out)
{
	if (!sa)
		return -1;
	if (sa->sa_family == AF_INET) {
		memcpy(out->b, v4_mapped, sizeof v4_mapped);
		memcpy(out->b + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(out->b, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return 0;
	}
	return -1;
}

int cidr_addr_is_v4(const struct cidr_addr *a)
{
	return memcmp(a->b, v4_mapped, sizeof v4_mapped) == 0;
}

socklen_t cidr_addr_to_sockaddr(const struct cidr_addr *a, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof *out);
	if (cidr_addr_is_v4(a)) {
		struct sockaddr_in *in = (struct sockaddr_in *)out;
		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, a->b + 12, 4);
		return sizeof *in;
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
	in6->sin6_family = AF_INET6;
	memcpy(&in6->sin6_addr, a->b, 16);
	return sizeof *in6;
}

void cidr_addr_format(const struct cidr_addr *a, char out[CIDR_TEXT_MAX])
{
	if (cidr_addr_is_v4(a))
		inet_ntop(AF_INET, a->b + 12, out, CIDR_TEXT_MAX);
	else
		inet_ntop(AF_INET6, a->b, out, CIDR_TEXT_MAX);
}

/* 1 if the bits of a after the first bits are all 0. */
static int host_bits_clear(const struct cidr_addr *a, unsigned bits)
{
	for (unsigned i = bits; i < 128; i++)
		if (a->b[i / 8] & (0x80u >> (i % 8)))
			return 0;
	return 1;
}

int cidr_parse(const char *s, struct cidr *out)
{
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	if (cidr_addr_parse(s, alen, &out->net) < 0)
		return -1;
	int v4 = cidr_addr_is_v4(&out->net) && !memchr(s, ':', alen);
	unsigned max = v4 ? 32 : 128, bits = max;
	if (slash) {
		const char *p = slash + 1;
		size_t n = strspn(p, "0123456789");
		if (n == 0 || n > 3 || p[n] != '\0' || (n > 1 && p[0] == '0'))
			return -1;
		bits = 0;
		for (size_t i = 0; i < n; i++)
			bits = bits * 10 + (unsigned)(p[i] - '0');
		if (bits > max)
			return -1;
	}
	out->bits = v4 ? 96 + bits : bits;
	return host_bits_clear(&out->net, out->bits) ? 0 : -1;
}

int cidr_match(const struct cidr *c, const struct cidr_addr *a)
{
	unsigned whole = c->bits / 8, rest = c->bits % 8;
	if (memcmp(c->net.b, a->b, whole) != 0)
		return 0;
	if (!rest)
		return 1;
	uint8_t mask = (uint8_t)(0xffu << (8 - rest));
	return (c->net.b[whole] & mask) == (a->b[whole] & mask);
}

int cidr_match_any(const struct cidr *set, size_t n, const struct cidr_addr *a)
{
	for (size_t i = 0; i < n; i++)
		if (cidr_match(&set[i], a))
			return 1;
	return 0;
}
