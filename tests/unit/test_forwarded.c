/*
 * test_forwarded.c: the client behind trusted proxies: headers ignored from
 * anyone else, the rightmost untrusted address chosen, spoofed entries on
 * the left ignored, X-Forwarded-For and Forwarded syntax, broken chains.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "edge/forwarded.h"

static struct cidr trusted[3];
static const size_t ntrusted = 3;

static int setup(void **state)
{
	(void)state;
	/* the load balancers' network, a local proxy, an IPv6 range */
	assert_int_equal(cidr_parse("10.0.0.0/8", &trusted[0]), 0);
	assert_int_equal(cidr_parse("127.0.0.1", &trusted[1]), 0);
	assert_int_equal(cidr_parse("2001:db8:1::/48", &trusted[2]), 0);
	return 0;
}

/* The client chosen for a request from peer with header values v..., as text; src too. */
static const char *client_of(const char *peer, enum forwarded_kind kind, enum forwarded_source *src,
                             const char *const *v, size_t n)
{
	static char text[CIDR_TEXT_MAX];
	struct cidr_addr p, c;
	assert_int_equal(cidr_addr_parse(peer, strlen(peer), &p), 0);
	enum forwarded_source s = forwarded_client(trusted, ntrusted, &p, kind, v, n, &c);
	if (src)
		*src = s;
	cidr_addr_format(&c, text);
	return text;
}

static const char *xff(const char *peer, const char *value)
{
	const char *v[] = {value};
	return client_of(peer, FORWARDED_XFF, NULL, v, value ? 1 : 0);
}

static const char *fwd(const char *peer, const char *value)
{
	const char *v[] = {value};
	return client_of(peer, FORWARDED_RFC7239, NULL, v, 1);
}

static void test_headers_from_an_untrusted_peer_are_ignored(void **state)
{
	enum forwarded_source s;
	const char *v[] = {"198.51.100.7"};
	(void)state;
	assert_string_equal(client_of("203.0.113.5", FORWARDED_XFF, &s, v, 1), "203.0.113.5");
	assert_int_equal(s, FORWARDED_PEER);
	assert_string_equal(fwd("203.0.113.5", "for=198.51.100.7"), "203.0.113.5");
}

static void test_a_trusted_peer_names_the_client(void **state)
{
	enum forwarded_source s;
	const char *v[] = {"198.51.100.7"};
	(void)state;
	assert_string_equal(client_of("10.1.1.1", FORWARDED_XFF, &s, v, 1), "198.51.100.7");
	assert_int_equal(s, FORWARDED_HEADER);
	/* the same over a dual-stack socket */
	assert_string_equal(xff("::ffff:10.1.1.1", "198.51.100.7"), "198.51.100.7");
}

static void test_the_rightmost_untrusted_address_wins(void **state)
{
	(void)state;
	/* the client claims to be 1.1.1.1; the proxies wrote what they saw */
	assert_string_equal(xff("10.0.0.1", "1.1.1.1, 198.51.100.7, 10.0.0.2"), "198.51.100.7");
	/* a client that pretends to be a trusted proxy is still itself */
	assert_string_equal(xff("10.0.0.1", "10.9.9.9, 198.51.100.7"), "198.51.100.7");
	/* every hop trusted: the leftmost is as far as anyone vouches */
	assert_string_equal(xff("127.0.0.1", "10.0.0.3, 10.0.0.2"), "10.0.0.3");
}

static void test_repeated_headers_are_one_list(void **state)
{
	(void)state;
	/* HAProxy adds its own X-Forwarded-For line after the client's */
	const char *v[] = {"6.6.6.6", "198.51.100.7"};
	assert_string_equal(client_of("10.0.0.1", FORWARDED_XFF, NULL, v, 2), "198.51.100.7");
	const char *w[] = {"198.51.100.7", "10.0.0.5"};
	assert_string_equal(client_of("10.0.0.1", FORWARDED_XFF, NULL, w, 2), "198.51.100.7");
}

static void test_no_header_leaves_the_peer(void **state)
{
	enum forwarded_source s;
	(void)state;
	assert_string_equal(client_of("10.0.0.1", FORWARDED_XFF, &s, NULL, 0), "10.0.0.1");
	assert_int_equal(s, FORWARDED_PEER);
	assert_string_equal(xff("10.0.0.1", "  ,  , "), "10.0.0.1");
}

static void test_ports_brackets_and_spaces(void **state)
{
	(void)state;
	assert_string_equal(xff("10.0.0.1", "  198.51.100.7:5123 "), "198.51.100.7");
	assert_string_equal(xff("10.0.0.1", "2001:db8:2::7"), "2001:db8:2::7");
	assert_string_equal(xff("10.0.0.1", "[2001:db8:2::7]:443"), "2001:db8:2::7");
	assert_string_equal(xff("10.0.0.1", "[2001:db8:2::7]"), "2001:db8:2::7");
	/* a trusted IPv6 proxy hop, then the client */
	assert_string_equal(xff("10.0.0.1", "198.51.100.9,2001:db8:1::5"), "198.51.100.9");
}

static void test_a_broken_entry_stops_at_the_last_trusted_hop(void **state)
{
	enum forwarded_source s;
	(void)state;
	const char *bad[] = {"unknown",     "_hidden",        "198.51.100.7:http",
	                     "1.2.3",       "[198.51.100.7]", "[2001:db8::1",
	                     "example.com", "198.51.100.7 x", "\"198.51.100.7\""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *v[] = {bad[i]};
		const char *got = client_of("10.0.0.1", FORWARDED_XFF, &s, v, 1);
		if (strcmp(got, "10.0.0.1") != 0 || s != FORWARDED_PROXY)
			fail_msg("\"%s\" gave %s", bad[i], got);
	}
	/* behind two trusted hops: the nearer one's word is the last we can take */
	assert_string_equal(xff("10.0.0.1", "198.51.100.7, garbage, 10.0.0.2"), "10.0.0.2");
	/* a broken entry left of the client does not matter */
	assert_string_equal(xff("10.0.0.1", "garbage, 198.51.100.7"), "198.51.100.7");
	/* a quote in X-Forwarded-For is no quoting: the proxy's entry stays its own */
	assert_string_equal(xff("10.0.0.1", "\", 198.51.100.7"), "198.51.100.7");
}

static void test_forwarded_syntax(void **state)
{
	(void)state;
	assert_string_equal(fwd("10.0.0.1", "for=198.51.100.7"), "198.51.100.7");
	assert_string_equal(fwd("10.0.0.1", "For=198.51.100.7;proto=https;by=10.0.0.1"),
	                    "198.51.100.7");
	assert_string_equal(fwd("10.0.0.1", "proto=https; for=\"198.51.100.7:8080\""),
	                    "198.51.100.7");
	assert_string_equal(fwd("10.0.0.1", "for=\"[2001:db8:cafe::17]:4711\""),
	                    "2001:db8:cafe::17");
	assert_string_equal(
	    fwd("10.0.0.1", "for=1.1.1.1, for=198.51.100.7;proto=http, for=10.0.0.9"),
	    "198.51.100.7");
	/* a comma inside a quoted string does not split */
	assert_string_equal(fwd("10.0.0.1", "for=198.51.100.7;x=\"a,b\""), "198.51.100.7");
	/* no for=, unknown, obfuscated, unterminated: broken */
	assert_string_equal(fwd("10.0.0.1", "proto=https"), "10.0.0.1");
	assert_string_equal(fwd("10.0.0.1", "for=unknown"), "10.0.0.1");
	assert_string_equal(fwd("10.0.0.1", "for=_gazonk"), "10.0.0.1");
	assert_string_equal(fwd("10.0.0.1", "for=\"[2001:db8::1]"), "10.0.0.1");
}

static void test_long_chains_keep_the_rightmost_hops(void **state)
{
	(void)state;
	char v[4096];
	size_t n = 0;
	/* 100 spoofed entries, then the client, then 3 trusted hops */
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(v + n, sizeof v - n, "6.6.6.%d, ", i % 250);
	snprintf(v + n, sizeof v - n, "198.51.100.7, 10.0.0.3, 10.0.0.2, 10.0.0.1");
	assert_string_equal(xff("10.0.0.1", v), "198.51.100.7");
	struct cidr_addr hops[FORWARDED_HOPS_MAX];
	unsigned char invalid[FORWARDED_HOPS_MAX];
	const char *vv[] = {v};
	assert_int_equal(forwarded_parse(FORWARDED_XFF, vv, 1, hops, invalid), FORWARDED_HOPS_MAX);
	char text[CIDR_TEXT_MAX];
	cidr_addr_format(&hops[FORWARDED_HOPS_MAX - 1], text);
	assert_string_equal(text, "10.0.0.1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_headers_from_an_untrusted_peer_are_ignored),
	    cmocka_unit_test(test_a_trusted_peer_names_the_client),
	    cmocka_unit_test(test_the_rightmost_untrusted_address_wins),
	    cmocka_unit_test(test_repeated_headers_are_one_list),
	    cmocka_unit_test(test_no_header_leaves_the_peer),
	    cmocka_unit_test(test_ports_brackets_and_spaces),
	    cmocka_unit_test(test_a_broken_entry_stops_at_the_last_trusted_hop),
	    cmocka_unit_test(test_forwarded_syntax),
	    cmocka_unit_test(test_long_chains_keep_the_rightmost_hops),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
