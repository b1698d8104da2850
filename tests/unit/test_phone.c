/*
 * test_phone.c: the C API of lib/phone.cc over libphonenumber: E.164 out of
 * the usual spellings, the reason for a refusal, the regions it knows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "phone.h"

static char out[PHONE_E164_MAX + 1];

static enum phone_result norm(const char *in, const char *region)
{
	return phone_normalize(in, strlen(in), region, out);
}

static void test_national_and_international_spellings_agree(void **state)
{
	(void)state;
	const char *const cn[] = {"13900000000",     "139 0000 0000", "+86 139-0000-0000",
	                          "008613900000000", "8613900000000", "+86 (139) 0000.0000"};
	for (size_t i = 0; i < sizeof cn / sizeof cn[0]; i++) {
		assert_int_equal(norm(cn[i], "CN"), PHONE_OK);
		assert_string_equal(out, "+8613900000000");
	}
	assert_int_equal(norm("+852 6123 4567", "CN"), PHONE_OK);
	assert_string_equal(out, "+85261234567");
}

static void test_region_is_any_case(void **state)
{
	(void)state;
	assert_int_equal(norm("0912-345-678", "tw"), PHONE_OK);
	assert_string_equal(out, "+886912345678");
	assert_true(phone_region_known("cn"));
	assert_true(phone_region_known("HK"));
	assert_false(phone_region_known("XX"));
	assert_false(phone_region_known(""));
	assert_false(phone_region_known("CHN"));
}

static void test_each_refusal_has_its_reason(void **state)
{
	(void)state;
	assert_int_equal(norm("12345", "CN"), PHONE_TOO_SHORT);
	assert_string_equal(out, "");
	assert_int_equal(norm("+8613900000000000000", "CN"), PHONE_TOO_LONG);
	assert_int_equal(norm("+999 1234 5678", "CN"), PHONE_BAD_COUNTRY);
	assert_int_equal(norm("10000000000", "CN"), PHONE_NO_SUCH_RANGE);
	assert_int_equal(norm("+86 139 0000 0000 ext. 5", "CN"), PHONE_NOT_A_NUMBER);
	assert_int_equal(norm("", "CN"), PHONE_NOT_A_NUMBER);
	for (int r = PHONE_OK; r < PHONE_RESULT_COUNT; r++)
		assert_true(strlen(phone_result_message((enum phone_result)r)) > 0);
	assert_non_null(strstr(phone_result_message(PHONE_TOO_SHORT), "too few"));
}

static void test_nul_inside_is_no_number(void **state)
{
	(void)state;
	assert_int_equal(phone_normalize("139\0"
	                                 "00000000",
	                                 12, "CN", out),
	                 PHONE_NOT_A_NUMBER);
}

static void test_what_looks_like_a_number(void **state)
{
	(void)state;
	assert_true(phone_looks_like("13900000000", 11));
	assert_true(phone_looks_like(" +86 139", 8));
	assert_true(phone_looks_like("(010) 6552-9988", 15));
	assert_false(phone_looks_like("crm:42", 6));
	assert_false(phone_looks_like("alice@example.com", 17));
	assert_false(phone_looks_like(" - ", 3));
	assert_false(phone_looks_like("139\0"
	                              "1",
	                              5));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_national_and_international_spellings_agree),
	    cmocka_unit_test(test_region_is_any_case),
	    cmocka_unit_test(test_each_refusal_has_its_reason),
	    cmocka_unit_test(test_nul_inside_is_no_number),
	    cmocka_unit_test(test_what_looks_like_a_number),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
