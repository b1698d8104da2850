/*
 * fuzz_forwarded.c: libFuzzer target for the X-Forwarded-For and Forwarded
 * parser (server/edge/forwarded.c) and the CIDR parser beside it.
 *
 * Input: one byte choosing the header (even: X-Forwarded-For, odd:
 * Forwarded), then the header's values, one a line. Beyond "does not
 * crash": at most FORWARDED_HOPS_MAX entries; the client is the peer, or an
 * entry of the header; chosen from the header, it is no trusted proxy;
 * otherwise (a trusted hop) it is one; and an untrusted peer is its own client.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/forwarded.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_forwarded: %s\n", what);
		abort();
	}
}

#define VALUES_MAX 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cidr trusted[2];
	static int ready;
	if (!ready) {
		check(cidr_parse("10.0.0.0/8", &trusted[0]) == 0, "cidr_parse 10.0.0.0/8");
		check(cidr_parse("2001:db8::/32", &trusted[1]) == 0, "cidr_parse 2001:db8::/32");
		ready = 1;
	}
	if (size < 1)
		return 0;
	enum forwarded_kind kind = data[0] & 1 ? FORWARDED_RFC7239 : FORWARDED_XFF;
	char *text = malloc(size);
	check(text != NULL, "out of memory");
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';

	/* the lines are the values; a NUL ends the last one (header values hold none) */
	const char *v[VALUES_MAX];
	size_t n = 0;
	for (char *p = text; n < VALUES_MAX;) {
		v[n++] = p;
		char *nl = strchr(p, '\n');
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}

	struct cidr_addr hops[FORWARDED_HOPS_MAX];
	unsigned char invalid[FORWARDED_HOPS_MAX];
	size_t nhops = forwarded_parse(kind, v, n, hops, invalid);
	check(nhops <= FORWARDED_HOPS_MAX, "too many hops");

	struct cidr_addr peer, client;
	check(cidr_addr_parse("10.1.2.3", 8, &peer) == 0, "peer");
	enum forwarded_source src = forwarded_client(trusted, 2, &peer, kind, v, n, &client);
	int is_peer = memcmp(&client, &peer, sizeof peer) == 0, is_hop = 0;
	for (size_t i = 0; i < nhops; i++)
		if (!invalid[i] && memcmp(&client, &hops[i], sizeof client) == 0)
			is_hop = 1;
	check(is_peer || is_hop, "the client is neither the peer nor in the header");
	if (src == FORWARDED_HEADER)
		check(!cidr_match_any(trusted, 2, &client), "a trusted proxy chosen as the client");
	else
		check(cidr_match_any(trusted, 2, &client),
		      "an untrusted client not from the header");

	struct cidr_addr stranger;
	check(cidr_addr_parse("203.0.113.1", 11, &stranger) == 0, "stranger");
	check(forwarded_client(trusted, 2, &stranger, kind, v, n, &client) == FORWARDED_PEER &&
	          memcmp(&client, &stranger, sizeof client) == 0,
	      "headers believed from an untrusted peer");

	/* the same bytes as a CIDR block: parsed, it matches its own network */
	struct cidr c;
	if (cidr_parse(v[0], &c) == 0)
		check(cidr_match(&c, &c.net) && c.bits <= 128,
		      "a block that misses its own network");
	free(text);
	return 0;
}
