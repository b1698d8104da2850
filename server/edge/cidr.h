/*
 * cidr.h: IP addresses and CIDR blocks, as the edge compares them (the
 * trusted proxies, the client behind them, connections per address).
 *
 * One representation for both families: an IPv4 address is held as the
 * IPv4-mapped IPv6 address ::ffff:a.b.c.d, and an IPv4 block as its /96+n,
 * so "10.0.0.0/8" matches a peer whether the socket reports it as 10.1.2.3
 * or ::ffff:10.1.2.3. Pure: parsing is inet_pton's, strict, no names.
 */
#ifndef PACKCODE_SERVER_CIDR_H
#define PACKCODE_SERVER_CIDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CIDR_TEXT_MAX 46 /* INET6_ADDRSTRLEN: the longest address as text, NUL included */

struct cidr_addr {
	uint8_t b[16]; /* network order; IPv4 as ::ffff:a.b.c.d */
};

struct cidr {
	struct cidr_addr net; /* the bits after the prefix are 0 */
	unsigned bits;        /* 0 to 128; an IPv4 /n is 96 + n */
};

/* "192.0.2.1" or "2001:db8::1" in s[0..len): 0, or -1 if it is no address. */
int cidr_addr_parse(const char *s, size_t len, struct cidr_addr *out);
/* The address of an AF_INET or AF_INET6 socket address: 0, or -1 for another family. */
int cidr_addr_from_sockaddr(const struct sockaddr *sa, struct cidr_addr *out);
/* As a socket address (AF_INET for an IPv4 one, port 0): its length. */
socklen_t cidr_addr_to_sockaddr(const struct cidr_addr *a, struct sockaddr_storage *out);
/* 1 for an IPv4 (mapped) address. */
int cidr_addr_is_v4(const struct cidr_addr *a);
/* As text, IPv4 dotted: out has room for CIDR_TEXT_MAX. */
void cidr_addr_format(const struct cidr_addr *a, char out[CIDR_TEXT_MAX]);

/*
 * "10.0.0.0/8", "2001:db8::/32", or an address alone (a /32 or /128): 0, or
 * -1 when it is none of these, the prefix is out of range or has leading
 * zeros, or bits are set after the prefix ("10.0.0.1/8": a typo, not a block).
 */
int cidr_parse(const char *s, struct cidr *out);
/* 1 if a is in c. */
int cidr_match(const struct cidr *c, const struct cidr_addr *a);
/* 1 if a is in one of set[0..n). */
int cidr_match_any(const struct cidr *set, size_t n, const struct cidr_addr *a);

#endif
