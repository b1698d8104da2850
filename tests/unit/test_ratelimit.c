/*
 * test_ratelimit.c: token buckets per address and per member: bursts,
 * refills, Retry-After, IPv6 by /64, bounded tables, the option syntax.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "engine/ratelimit.h"

#define SEC 1000000LL /* microseconds */

static struct ratelimit *limiter(double rate, double burst)
{
	struct ratelimit_rate rates[RATELIMIT_KIND_COUNT] = {{0, 0}};
	rates[RATELIMIT_LOOKUPS] = (struct ratelimit_rate){rate, burst};
	struct ratelimit *rl = ratelimit_new(rates);
	assert_non_null(rl);
	return rl;
}

static uint64_t v4(const char *s)
{
	struct sockaddr_in in = {.sin_family = AF_INET};
	assert_int_equal(inet_pton(AF_INET, s, &in.sin_addr), 1);
	return ratelimit_addr_key((struct sockaddr *)&in);
}

static uint64_t v6(const char *s)
{
	struct sockaddr_in6 in = {.sin6_family = AF_INET6};
	assert_int_equal(inet_pton(AF_INET6, s, &in.sin6_addr), 1);
	return ratelimit_addr_key((struct sockaddr *)&in);
}

static void test_burst_then_refused_with_retry_after(void **state)
{
	struct ratelimit *rl = limiter(2, 5);
	long long t = 100 * SEC;
	(void)state;
	for (int i = 0; i < 5; i++)
		assert_int_equal(ratelimit_take(rl, RATELIMIT_LOOKUPS, 42, t), 0);
	/* empty: one token comes back in half a second, said as a whole second */
	assert_int_equal(ratelimit_take(rl, RATELIMIT_LOOKUPS, 42, t), 1);
	ratelimit_free(rl);
}

static void test_bucket_refills_at_the_rate(void **state)
{
	struct ratelimit *rl = limiter(2, 5);
	long long t = 100 * SEC;
	(void)state;
	for (int i = 0; i < 5; i++)
		assert_int_equal(ratelimit_take(rl, RATELIMIT_LOOKUPS, 7, t), 0);
	assert_int_not_equal(ratelimit_take(rl, RATELIMIT_LOOKUPS, 7, t), 0);
	t += SEC; /* two tokens */
	assert_int_equal(ratelimit_take(rl, RATELIMIT_LOOKUPS, 7, t), 0);
	assert_int_equal(ratelimit_take(rl, RATELIMIT_LOOKUPS, 7, t), 0);
	assert_int_not_equal(ratelimit_take(rl, RATELIMIT_LOOKUPS, 7, t), 0);
	t += 3600 * SEC; /* never more than the burst */
	for (int i = 0; i < 5; i++)
		assert_int_equal(ratelimit_take(rl, RATELIMIT_LOOKUPS, 7, t), 0);
	assert_int_not_equal(ratelimit_take(rl, RATELIMIT_LOOKUPS, 7, t), 0);
	ratelimit_free(rl);
}

static void test_slow_rate_says_how_many_seconds(void **state)
{
	struct ratelimit *rl = limiter(0.1, 1); /* one per 10 s */
	(void)state;
	assert_int_equal(ratelimit_take(rl, RATELIMIT_LOOKUPS, 1, 5 * SEC), 0);
	assert_int_equal(ratelimit_take(rl, RATELIMIT_LOOKUPS, 1, 5 * SEC), 10);
	assert_int_equal(ratelimit_take(rl, RATELIMIT_LOOKUPS, 1, 12 * SEC), 3);
	assert_int_equal(ratelimit_take(rl, RATELIMIT_LOOKUPS, 1, 15 * SEC), 0);
	ratelimit_free(rl);
}

static void test_clients_have_their_own_buckets(void **state)
{
	struct ratelimit *rl = limiter(1, 1);
	(void)state;
	assert_int_equal(ratelimit_take(rl, RATELIMIT_LOOKUPS, v4("192.0.2.1"), SEC), 0);
	assert_int_not_equal(ratelimit_take(rl, RATELIMIT_LOOKUPS, v4("192.0.2.1"), SEC), 0);
	assert_int_equal(ratelimit_take(rl, RATELIMIT_LOOKUPS, v4("192.0.2.2"), SEC), 0);
	ratelimit_free(rl);
}

static void test_kinds_are_separate_and_zero_is_unlimited(void **state)
{
	struct ratelimit_rate rates[RATELIMIT_KIND_COUNT] = {{0, 0}};
	rates[RATELIMIT_CLAIMS] = (struct ratelimit_rate){1, 1};
	struct ratelimit *rl = ratelimit_new(rates);
	(void)state;
	assert_int_equal(ratelimit_take(rl, RATELIMIT_CLAIMS, 9, SEC), 0);
	assert_int_not_equal(ratelimit_take(rl, RATELIMIT_CLAIMS, 9, SEC), 0);
	for (int i = 0; i < 1000; i++) /* lookups are not limited */
		assert_int_equal(ratelimit_take(rl, RATELIMIT_LOOKUPS, 9, SEC), 0);
	ratelimit_free(rl);
}

static void test_ipv6_counts_by_slash_64(void **state)
{
	(void)state;
	assert_true(v6("2001:db8:1:2::1") == v6("2001:db8:1:2:ffff:ffff:ffff:ffff"));
	assert_true(v6("2001:db8:1:2::1") != v6("2001:db8:1:3::1"));
	assert_true(v6("::ffff:192.0.2.7") == v4("192.0.2.7"));
	assert_true(v4("192.0.2.7") != v4("192.0.2.8"));
	assert_true(v6("::1") != v4("0.0.0.1"));
}

static void test_table_stays_bounded_and_evicts_the_oldest(void **state)
{
	struct ratelimit *rl = limiter(1, 1);
	long long t = SEC;
	(void)state;
	assert_int_equal(ratelimit_take(rl, RATELIMIT_LOOKUPS, 0xabc, t), 0);
	assert_int_not_equal(ratelimit_take(rl, RATELIMIT_LOOKUPS, 0xabc, t), 0);
	/* far more clients than slots: each still gets its burst, O(1) each */
	for (uint64_t k = 1; k <= 8 * RATELIMIT_SETS * RATELIMIT_WAYS; k++)
		assert_int_equal(ratelimit_take(rl, RATELIMIT_LOOKUPS, k << 20, ++t), 0);
	/* 0xabc was the least recently used of its set: evicted, so a full bucket again */
	assert_int_equal(ratelimit_take(rl, RATELIMIT_LOOKUPS, 0xabc, t), 0);
	ratelimit_free(rl);
}

static void test_member_keys_are_stable_and_distinct(void **state)
{
	(void)state;
	assert_true(ratelimit_str_key("+8613800138000", 14) ==
	            ratelimit_str_key("+8613800138000", 14));
	assert_true(ratelimit_str_key("+8613800138000", 14) !=
	            ratelimit_str_key("+8613800138001", 14));
	assert_true(ratelimit_str_key("alice", 5) != ratelimit_str_key("alicf", 5));
	assert_true(ratelimit_str_key("", 0) != ratelimit_str_key("a", 1));
}

static void test_parse_rate_and_burst(void **state)
{
	struct ratelimit_rate r;
	(void)state;
	assert_int_equal(ratelimit_parse("20/200", &r), 0);
	assert_true(r.rate == 20 && r.burst == 200);
	assert_int_equal(ratelimit_parse("0.2/30", &r), 0);
	assert_true(r.rate == 0.2 && r.burst == 30);
	assert_int_equal(ratelimit_parse("0", &r), 0);
	assert_true(r.rate == 0);
	const char *bad[] = {"",      "20",  "20/",  "/5",    "0/5",   "-1/5", "2/0",
	                     "2/1.5", "x/5", "2/5x", "nan/5", "inf/5", "2/-5"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(ratelimit_parse(bad[i], &r), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_burst_then_refused_with_retry_after),
	    cmocka_unit_test(test_bucket_refills_at_the_rate),
	    cmocka_unit_test(test_slow_rate_says_how_many_seconds),
	    cmocka_unit_test(test_clients_have_their_own_buckets),
	    cmocka_unit_test(test_kinds_are_separate_and_zero_is_unlimited),
	    cmocka_unit_test(test_ipv6_counts_by_slash_64),
	    cmocka_unit_test(test_table_stays_bounded_and_evicts_the_oldest),
	    cmocka_unit_test(test_member_keys_are_stable_and_distinct),
	    cmocka_unit_test(test_parse_rate_and_burst),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
