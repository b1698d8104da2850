/*
 * test_member.c: member ids (lib/member_id.c): phone numbers in every usual
 * form become one E.164 id under the default region, impossible numbers are
 * refused with the reason, external ids pass as they are.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "handlers/member.h"

static enum phone_result why;

static const char *norm_in(const char *in, const char *region)
{
	static char out[MEMBER_MAX + 1];
	return member_id_normalize(in, strlen(in), region, out, &why) == 0 ? out : NULL;
}

static const char *norm(const char *in)
{
	return norm_in(in, "CN");
}

static void test_four_spellings_are_one_member(void **state)
{
	(void)state;
	assert_string_equal(norm("13900000000"), "+8613900000000");
	assert_string_equal(norm("139 0000 0000"), "+8613900000000");
	assert_string_equal(norm("+86 139-0000-0000"), "+8613900000000");
	assert_string_equal(norm("008613900000000"), "+8613900000000");
	assert_string_equal(norm("  +86 (139) 0000.0000 "), "+8613900000000");
}

static void test_the_default_region_reads_national_numbers(void **state)
{
	(void)state;
	assert_string_equal(norm_in("0912 345 678", "TW"), "+886912345678");
	assert_string_equal(norm_in("(415) 555-0100", "US"), "+14155550100");
	/* a number with its country code is that country's, whatever the default */
	assert_string_equal(norm_in("+86 139 0000 0000", "US"), "+8613900000000");
}

static void test_impossible_numbers_are_refused_with_the_reason(void **state)
{
	(void)state;
	assert_null(norm("13900"));
	assert_int_equal(why, PHONE_TOO_SHORT);
	assert_null(norm("+86 139 0000 0000 0000 000"));
	assert_int_equal(why, PHONE_TOO_LONG);
	assert_null(norm("+999 1234 5678"));
	assert_int_equal(why, PHONE_BAD_COUNTRY);
	assert_null(norm("10000000000"));
	assert_int_equal(why, PHONE_NO_SUCH_RANGE);
	assert_non_null(strstr(member_id_message(PHONE_TOO_SHORT), "too few digits"));
}

static void test_digits_alone_are_a_phone_number(void **state)
{
	(void)state;
	/* an external id of digits alone would be read as a number: it needs a prefix */
	assert_null(norm("778812"));
	assert_int_equal(why, PHONE_TOO_SHORT);
	assert_string_equal(norm("crm:778812"), "crm:778812");
}

static void test_external_ids_pass_unchanged(void **state)
{
	(void)state;
	assert_string_equal(norm("alice@example.com"), "alice@example.com");
	assert_string_equal(norm("crm:42"), "crm:42");
	assert_string_equal(norm("A.b_c-9"), "A.b_c-9");
	assert_int_equal(why, PHONE_OK);
}

static void test_external_id_rules(void **state)
{
	char long_id[66];
	(void)state;
	memset(long_id, 'a', 65);
	long_id[65] = '\0';
	assert_null(norm(long_id));
	long_id[64] = '\0';
	assert_non_null(norm(long_id));
	assert_null(norm("-alice"));
	assert_null(norm(".alice"));
	assert_null(norm("al ice"));
	assert_null(norm("alice/bob"));
	assert_null(norm(""));
	assert_null(norm("   "));
	assert_int_equal(why, PHONE_OK);
}

static void test_non_ascii_and_control_bytes_are_refused(void **state)
{
	char out[MEMBER_MAX + 1];
	(void)state;
	assert_null(norm("李雷"));
	assert_null(norm("al\xffice"));
	assert_null(norm("al\tice"));
	assert_int_equal(member_id_normalize("al\0ice", 6, "CN", out, NULL), -1);
	assert_int_equal(member_id_normalize("139\0"
	                                     "00000000",
	                                     12, "CN", out, NULL),
	                 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_four_spellings_are_one_member),
	    cmocka_unit_test(test_the_default_region_reads_national_numbers),
	    cmocka_unit_test(test_impossible_numbers_are_refused_with_the_reason),
	    cmocka_unit_test(test_digits_alone_are_a_phone_number),
	    cmocka_unit_test(test_external_ids_pass_unchanged),
	    cmocka_unit_test(test_external_id_rules),
	    cmocka_unit_test(test_non_ascii_and_control_bytes_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
