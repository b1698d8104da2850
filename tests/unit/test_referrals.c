/*
 * test_referrals.c: what comes in for referrals
 * (server/handlers/referrals_input.c): codes, device ids, the body of
 * POST /api/v1/members/me/referral and the staff list's query.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "handlers/referrals.h"

static int body(const char *b, char code[REFERRAL_CODE_LEN + 1])
{
	char err[200];
	return referral_body_decode(b, strlen(b), code, err, sizeof err);
}

static void test_a_code_is_ten_base32_characters(void **state)
{
	(void)state;
	assert_true(referral_code_valid("abcdefgh23", 10));
	assert_true(referral_code_valid("zzzzzz7777", 10));
	assert_false(referral_code_valid("abcdefgh2", 9));
	assert_false(referral_code_valid("abcdefgh231", 11));
	assert_false(referral_code_valid("abcdefgh18", 10)); /* 0, 1, 8, 9 are no base32 */
	assert_false(referral_code_valid("ABCDEFGH23", 10));
	assert_false(referral_code_valid("abcd/fgh23", 10));
}

static void test_a_device_is_32_lowercase_hex_digits(void **state)
{
	(void)state;
	assert_true(referral_device_valid("0123456789abcdef0123456789abcdef", 32));
	assert_false(referral_device_valid("0123456789ABCDEF0123456789abcdef", 32));
	assert_false(referral_device_valid("0123456789abcdef0123456789abcde", 31));
	assert_false(referral_device_valid("0123456789abcdef0123456789abcdeg", 32));
}

static void test_the_body_gives_the_code_in_lowercase(void **state)
{
	(void)state;
	char code[REFERRAL_CODE_LEN + 1];
	assert_int_equal(body("{\"code\": \"abcdefgh23\"}", code), 0);
	assert_string_equal(code, "abcdefgh23");
	assert_int_equal(body("{\"code\": \"ABCDEFGH23\"}", code), 0);
	assert_string_equal(code, "abcdefgh23");
}

static void test_a_body_of_anything_else_is_refused(void **state)
{
	(void)state;
	char code[REFERRAL_CODE_LEN + 1];
	assert_int_equal(body("", code), -1);
	assert_int_equal(body("[]", code), -1);
	assert_int_equal(body("{\"code\": 1}", code), -1);
	assert_int_equal(body("{\"code\": \"abc\"}", code), -1);
	assert_int_equal(body("{\"code\": \"abcdefgh23\", \"x\": 1}", code), -1);
	assert_int_equal(body("{\"code\": \"abcdefgh23\", \"code\": \"abcdefgh24\"}", code), -1);
	assert_int_equal(body("{\"code\": \"abcdefgh\\u00002\"}", code), -1);
	assert_int_equal(body("{\"code\": \"abcdefgh2323232323\"}", code), -1);
}

static void test_the_query_has_defaults_and_bounds(void **state)
{
	(void)state;
	int flagged, limit;
	long long before;
	char err[200];
	assert_int_equal(referral_query_decode("", &flagged, &before, &limit, err, sizeof err), 0);
	assert_int_equal(flagged, 0);
	assert_int_equal(before, 0);
	assert_int_equal(limit, 50);
	assert_int_equal(referral_query_decode("flagged=true&before=7&limit=100", &flagged, &before,
	                                       &limit, err, sizeof err),
	                 0);
	assert_int_equal(flagged, 1);
	assert_int_equal(before, 7);
	assert_int_equal(limit, 100);
	assert_int_equal(
	    referral_query_decode("flagged=yes", &flagged, &before, &limit, err, sizeof err), -1);
	assert_int_equal(
	    referral_query_decode("limit=101", &flagged, &before, &limit, err, sizeof err), -1);
	assert_int_equal(
	    referral_query_decode("before=-1", &flagged, &before, &limit, err, sizeof err), -1);
}

static int rules(const char *b, struct referral_rules_input *in)
{
	char err[200];
	return referral_rules_decode(b, strlen(b), in, err, sizeof err);
}

static void test_the_rules_are_the_groups_or_a_brands(void **state)
{
	(void)state;
	struct referral_rules_input in;
	assert_int_equal(rules("{\"referee_points\": 100, \"referrer_points\": 0, "
	                       "\"daily_max\": 5, \"window_hours\": 48}",
	                       &in),
	                 0);
	assert_string_equal(in.brand, "");
	assert_int_equal(in.referee_points, 100);
	assert_int_equal(in.referrer_points, 0);
	assert_int_equal(in.daily_max, 5);
	assert_int_equal(in.window_hours, 48);
	assert_int_equal(rules("{\"brand\": \"Tea\", \"referee_points\": 1, "
	                       "\"referrer_points\": 2}",
	                       &in),
	                 0);
	assert_string_equal(in.brand, "Tea");
	assert_int_equal(in.daily_max, 0);
	assert_int_equal(
	    rules("{\"brand\": null, \"referee_points\": 1, \"referrer_points\": 2}", &in), 0);
	assert_string_equal(in.brand, "");
}

static void test_bad_rules_are_refused(void **state)
{
	(void)state;
	struct referral_rules_input in;
	assert_int_equal(rules("{\"referee_points\": 1}", &in), -1);
	assert_int_equal(rules("{\"referee_points\": -1, \"referrer_points\": 2}", &in), -1);
	assert_int_equal(rules("{\"referee_points\": 1000001, \"referrer_points\": 2}", &in), -1);
	assert_int_equal(rules("{\"referee_points\": 1, \"referrer_points\": 2, \"x\": 1}", &in),
	                 -1);
	assert_int_equal(
	    rules("{\"brand\": \"\", \"referee_points\": 1, \"referrer_points\": 2}", &in), -1);
	assert_int_equal(
	    rules("{\"brand\": \"Tea\", \"referee_points\": 1, \"referrer_points\": 2, "
	          "\"daily_max\": 3}",
	          &in),
	    -1);
	assert_int_equal(
	    rules("{\"referee_points\": 1, \"referrer_points\": 2, \"window_hours\": 0}", &in), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_code_is_ten_base32_characters),
	    cmocka_unit_test(test_a_device_is_32_lowercase_hex_digits),
	    cmocka_unit_test(test_the_body_gives_the_code_in_lowercase),
	    cmocka_unit_test(test_a_body_of_anything_else_is_refused),
	    cmocka_unit_test(test_the_query_has_defaults_and_bounds),
	    cmocka_unit_test(test_the_rules_are_the_groups_or_a_brands),
	    cmocka_unit_test(test_bad_rules_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
