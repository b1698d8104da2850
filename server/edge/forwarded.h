/*
 * forwarded.h: the client's address behind trusted proxies, read from
 * X-Forwarded-For or Forwarded (RFC 7239). Pure: no I/O, no allocation.
 *
 * Anyone can send these headers, so they say something only when the peer
 * is a trusted proxy (--trusted-proxy), and only as far as trusted proxies
 * wrote them: each proxy appends the address it received the request from,
 * so the chain is read from the right, and the first address that is not a
 * trusted proxy is the client. Whatever lies left of it is the client's own
 * claim and is ignored. An entry that is no address ("unknown", an
 * obfuscated name, garbage) ends the walk at the last trusted hop.
 */
#ifndef PACKCODE_SERVER_FORWARDED_H
#define PACKCODE_SERVER_FORWARDED_H

#include <stddef.h>

#include "edge/cidr.h"

/* The rightmost entries looked at; a longer chain is cut on the left. */
#define FORWARDED_HOPS_MAX 32

enum forwarded_kind {
	FORWARDED_XFF,     /* X-Forwarded-For: 192.0.2.1, 2001:db8::1 */
	FORWARDED_RFC7239, /* Forwarded: for=192.0.2.1;proto=https, for="[2001:db8::1]:80" */
};

enum forwarded_source {
	FORWARDED_PEER,   /* the peer itself: not a trusted proxy, or no header */
	FORWARDED_HEADER, /* the rightmost address in the header that is not a trusted proxy */
	FORWARDED_PROXY,  /* a trusted proxy: the chain held only trusted hops or broke off */
};

/*
 * The entries of header values v[0..n) (the header's occurrences, in the
 * order they came), rightmost last: up to FORWARDED_HOPS_MAX of the rightmost
 * into hops (invalid[i] set for an entry that is no address). Returns how
 * many were stored.
 */
size_t forwarded_parse(enum forwarded_kind kind, const char *const *v, size_t n,
                       struct cidr_addr hops[FORWARDED_HOPS_MAX],
                       unsigned char invalid[FORWARDED_HOPS_MAX]);

/*
 * The client of a request from peer carrying header values v[0..n) of kind,
 * given the trusted proxies trusted[0..ntrusted): into *client, and how it
 * was chosen. The headers are not looked at unless peer is trusted.
 */
enum forwarded_source forwarded_client(const struct cidr *trusted, size_t ntrusted,
                                       const struct cidr_addr *peer, enum forwarded_kind kind,
                                       const char *const *v, size_t n, struct cidr_addr *client);

#endif
