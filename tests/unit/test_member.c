/*
 * test_member.c: member ids: E.164 phone numbers are normalised, external
 * ids pass as they are, and everything else is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "handlers/member.h"

static const char *norm(const char *in)
{
	static char out[MEMBER_MAX + 1];
	return member_normalize(in, strlen(in), out) == 0 ? out : NULL;
}

static void test_phone_separators_are_dropped(void **state)
{
	(void)state;
	assert_string_equal(norm("+86 138-0013-8000"), "+8613800138000");
	assert_string_equal(norm("+1 (415) 555.0100"), "+14155550100");
	assert_string_equal(norm("  +4915123456789 "), "+4915123456789");
}

static void test_phone_needs_8_to_15_digits(void **state)
{
	(void)state;
	assert_null(norm("+1234567"));
	assert_non_null(norm("+12345678"));
	assert_non_null(norm("+123456789012345"));
	assert_null(norm("+1234567890123456"));
}

static void test_phone_rejects_letters_and_leading_zero(void **state)
{
	(void)state;
	assert_null(norm("+86 138 0013 800x"));
	assert_null(norm("+0861380013800"));
	assert_null(norm("+"));
	assert_null(norm("++8613800138000"));
}

static void test_external_ids_pass_unchanged(void **state)
{
	(void)state;
	assert_string_equal(norm("alice@example.com"), "alice@example.com");
	assert_string_equal(norm("crm:778812"), "crm:778812");
	assert_string_equal(norm("A.b_c-9"), "A.b_c-9");
	assert_string_equal(norm("13800138000"), "13800138000");
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
}

static void test_non_ascii_and_control_bytes_are_refused(void **state)
{
	char out[MEMBER_MAX + 1];
	(void)state;
	assert_null(norm("李雷"));
	assert_null(norm("al\xffice"));
	assert_null(norm("al\tice"));
	assert_int_equal(member_normalize("al\0ice", 6, out), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_phone_separators_are_dropped),
	    cmocka_unit_test(test_phone_needs_8_to_15_digits),
	    cmocka_unit_test(test_phone_rejects_letters_and_leading_zero),
	    cmocka_unit_test(test_external_ids_pass_unchanged),
	    cmocka_unit_test(test_external_id_rules),
	    cmocka_unit_test(test_non_ascii_and_control_bytes_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
