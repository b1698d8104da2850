/*
 * test_cidr.c: addresses and CIDR blocks: strict parsing, IPv4 inside IPv6
 * (a block matches a peer however the socket reports it), prefix edges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "edge/cidr.h"

static struct cidr_addr addr(const char *s)
{
	struct cidr_addr a;
	assert_int_equal(cidr_addr_parse(s, strlen(s), &a), 0);
	return a;
}

static struct cidr block(const char *s)
{
	struct cidr c;
	assert_int_equal(cidr_parse(s, &c), 0);
	return c;
}

static int in(const char *blk, const char *a)
{
	struct cidr c = block(blk);
	struct cidr_addr x = addr(a);
	return cidr_match(&c, &x);
}

static void test_ipv4_blocks_match_their_addresses_only(void **state)
{
	(void)state;
	assert_true(in("10.0.0.0/8", "10.255.1.2"));
	assert_false(in("10.0.0.0/8", "11.0.0.0"));
	assert_true(in("192.168.1.0/24", "192.168.1.255"));
	assert_false(in("192.168.1.0/24", "192.168.2.0"));
	assert_true(in("172.16.0.0/12", "172.31.255.255"));
	assert_false(in("172.16.0.0/12", "172.32.0.0"));
	assert_true(in("127.0.0.2/31", "127.0.0.3"));
	assert_false(in("127.0.0.2/31", "127.0.0.4"));
}

static void test_an_address_alone_is_a_host_block(void **state)
{
	(void)state;
	assert_true(in("127.0.0.1", "127.0.0.1"));
	assert_false(in("127.0.0.1", "127.0.0.2"));
	assert_true(in("2001:db8::1", "2001:db8::1"));
	assert_false(in("2001:db8::1", "2001:db8::2"));
	struct cidr c = block("192.0.2.7");
	assert_int_equal(c.bits, 128); /* 96 + 32 */
}

static void test_zero_prefix_matches_everything_of_its_family(void **state)
{
	(void)state;
	assert_true(in("0.0.0.0/0", "203.0.113.9"));
	assert_false(in("0.0.0.0/0", "2001:db8::1"));
	assert_true(in("::/0", "2001:db8::1"));
	assert_true(in("::/0", "203.0.113.9")); /* every address is in ::/0 */
}

static void test_ipv6_blocks(void **state)
{
	(void)state;
	assert_true(in("2001:db8::/32", "2001:db8:ffff::1"));
	assert_false(in("2001:db8::/32", "2001:db9::1"));
	assert_true(in("2001:db8:0:1::/64", "2001:db8:0:1:ffff:ffff:ffff:ffff"));
	assert_false(in("2001:db8:0:1::/64", "2001:db8:0:2::"));
	assert_true(in("fe80::/10", "febf::1"));
	assert_false(in("fe80::/10", "fec0::1"));
}

static void test_ipv4_mapped_peers_match_ipv4_blocks(void **state)
{
	(void)state;
	/* a dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d */
	assert_true(in("10.0.0.0/8", "::ffff:10.1.2.3"));
	assert_false(in("10.0.0.0/8", "::ffff:11.1.2.3"));
	assert_true(in("::ffff:10.0.0.0/104", "10.9.9.9"));
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
	inet_pton(AF_INET6, "::ffff:10.1.2.3", &s6.sin6_addr);
	struct cidr_addr a;
	assert_int_equal(cidr_addr_from_sockaddr((struct sockaddr *)&s6, &a), 0);
	struct cidr c = block("10.0.0.0/8");
	assert_true(cidr_match(&c, &a));
	char text[CIDR_TEXT_MAX];
	cidr_addr_format(&a, text);
	assert_string_equal(text, "10.1.2.3");
}

static void test_socket_addresses_round_trip(void **state)
{
	(void)state;
	const char *cases[] = {"192.0.2.1", "2001:db8::8", "::1", "0.0.0.0"};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct cidr_addr a = addr(cases[i]), b;
		struct sockaddr_storage ss;
		socklen_t len = cidr_addr_to_sockaddr(&a, &ss);
		assert_true(len == sizeof(struct sockaddr_in) ||
		            len == sizeof(struct sockaddr_in6));
		assert_int_equal(cidr_addr_from_sockaddr((struct sockaddr *)&ss, &b), 0);
		assert_memory_equal(a.b, b.b, 16);
		char text[CIDR_TEXT_MAX];
		cidr_addr_format(&b, text);
		assert_string_equal(text, cases[i]);
	}
	struct sockaddr un = {.sa_family = AF_UNIX};
	struct cidr_addr x;
	assert_int_equal(cidr_addr_from_sockaddr(&un, &x), -1);
	assert_int_equal(cidr_addr_from_sockaddr(NULL, &x), -1);
}

static void test_malformed_blocks_are_refused(void **state)
{
	struct cidr c;
	(void)state;
	const char *bad[] = {
	    "",
	    "/8",
	    "10.0.0.0/",
	    "10.0.0.0/33",
	    "10.0.0.0/-1",
	    "10.0.0.0/8x",
	    "10.0.0.0/08",
	    "10.0.0/8",
	    "10.0.0.1/8",
	    "2001:db8::1/32",
	    "::/129",
	    "localhost",
	    "10.0.0.0 /8",
	    "10.0.0.0/ 8",
	    " 10.0.0.0/8",
	    "1.2.3.4.5",
	    "256.0.0.0",
	    "::g",
	    "10.0.0.0/8/8",
	    "10.0.0.0/1000",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (cidr_parse(bad[i], &c) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	struct cidr_addr a;
	assert_int_equal(cidr_addr_parse("10.0.0.1\0", 9, &a), -1); /* a NUL inside */
	assert_int_equal(cidr_addr_parse("", 0, &a), -1);
	char longer[100];
	memset(longer, '1', sizeof longer);
	assert_int_equal(cidr_addr_parse(longer, sizeof longer, &a), -1);
}

static void test_any_of_a_set(void **state)
{
	(void)state;
	struct cidr set[] = {block("10.0.0.0/8"), block("2001:db8::/32"), block("127.0.0.1")};
	struct cidr_addr a = addr("2001:db8::5"), b = addr("127.0.0.2"), c = addr("10.2.3.4");
	assert_true(cidr_match_any(set, 3, &a));
	assert_false(cidr_match_any(set, 3, &b));
	assert_true(cidr_match_any(set, 3, &c));
	assert_false(cidr_match_any(set, 0, &c));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ipv4_blocks_match_their_addresses_only),
	    cmocka_unit_test(test_an_address_alone_is_a_host_block),
	    cmocka_unit_test(test_zero_prefix_matches_everything_of_its_family),
	    cmocka_unit_test(test_ipv6_blocks),
	    cmocka_unit_test(test_ipv4_mapped_peers_match_ipv4_blocks),
	    cmocka_unit_test(test_socket_addresses_round_trip),
	    cmocka_unit_test(test_malformed_blocks_are_refused),
	    cmocka_unit_test(test_any_of_a_set),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
