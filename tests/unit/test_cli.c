/*
 * test_cli.c: lib/cli.c: the number parsers take exactly a whole decimal
 * number in range and leave the output alone otherwise; the error lines have
 * the program's name and the exit statuses 1 and 2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* ---- cli_parse_int ------------------------------------------------------- */

static void test_int_in_range_is_parsed(void **state)
{
	long long v = 0;
	(void)state;
	assert_int_equal(cli_parse_int("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(cli_parse_int("10", 0, 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(cli_parse_int("-7", -10, 10, &v), 0);
	assert_int_equal(v, -7);
	assert_int_equal(cli_parse_int("007", 0, 10, &v), 0);
	assert_int_equal(v, 7);
}

static void test_int_takes_the_whole_range_of_long_long(void **state)
{
	long long v = 0;
	(void)state;
	assert_int_equal(cli_parse_int("9223372036854775807", LLONG_MIN, LLONG_MAX, &v), 0);
	assert_true(v == LLONG_MAX);
	assert_int_equal(cli_parse_int("-9223372036854775808", LLONG_MIN, LLONG_MAX, &v), 0);
	assert_true(v == LLONG_MIN);
}

static void test_int_out_of_range_is_rejected_and_output_untouched(void **state)
{
	long long v = 42;
	(void)state;
	assert_int_equal(cli_parse_int("11", 0, 10, &v), -1);
	assert_int_equal(cli_parse_int("-1", 0, 10, &v), -1);
	assert_int_equal(cli_parse_int("-11", -10, 10, &v), -1);
	assert_int_equal(cli_parse_int("9223372036854775808", LLONG_MIN, LLONG_MAX, &v), -1);
	assert_int_equal(cli_parse_int("-9223372036854775809", LLONG_MIN, LLONG_MAX, &v), -1);
	assert_int_equal(cli_parse_int("99999999999999999999999", LLONG_MIN, LLONG_MAX, &v), -1);
	assert_int_equal(v, 42);
}

static void test_int_with_anything_but_digits_is_rejected(void **state)
{
	static const char *const bad[] = {
	    "", "-", "+1", " 1", "1 ", "1x", "x1", "1.0", "1e3", "0x10", "--1", "- 1", "1\n", "١",
	};
	long long v = 42;
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(cli_parse_int(bad[i], LLONG_MIN, LLONG_MAX, &v), -1);
	assert_int_equal(cli_parse_int(NULL, LLONG_MIN, LLONG_MAX, &v), -1);
	assert_int_equal(v, 42);
}

/* ---- cli_parse_u64 ------------------------------------------------------- */

static void test_u64_in_range_is_parsed(void **state)
{
	uint64_t v = 0;
	(void)state;
	assert_int_equal(cli_parse_u64("1", 1, 100, &v), 0);
	assert_true(v == 1);
	assert_int_equal(cli_parse_u64("100", 1, 100, &v), 0);
	assert_true(v == 100);
	assert_int_equal(cli_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
}

static void test_u64_out_of_range_is_rejected_and_output_untouched(void **state)
{
	uint64_t v = 42;
	(void)state;
	assert_int_equal(cli_parse_u64("0", 1, 100, &v), -1);
	assert_int_equal(cli_parse_u64("101", 1, 100, &v), -1);
	assert_int_equal(cli_parse_u64("18446744073709551616", 0, UINT64_MAX, &v), -1);
	assert_true(v == 42);
}

static void test_u64_with_a_sign_or_anything_but_digits_is_rejected(void **state)
{
	/* strtoull alone would take "-1" as UINT64_MAX, and " 1" and "+1" as 1 */
	static const char *const bad[] = {"", "-1", "-0", "+1", " 1", "1 ", "1x", "1.5", "0x1"};
	uint64_t v = 42;
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(cli_parse_u64(bad[i], 0, UINT64_MAX, &v), -1);
	assert_int_equal(cli_parse_u64(NULL, 0, UINT64_MAX, &v), -1);
	assert_true(v == 42);
}

/* ---- error lines ---------------------------------------------------------- */

/* Run f with stderr going to a file; return what it wrote (static buffer). */
static const char *captured(int (*f)(void), int *rc)
{
	static char buf[512];
	FILE *tmp = tmpfile();
	assert_non_null(tmp);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
	*rc = f();
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	rewind(tmp);
	size_t n = fread(buf, 1, sizeof buf - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
	return buf;
}

static int error_with_cmd(void)
{
	return cli_error("mint", "unknown product \"%s\"", "X");
}
static int error_without_cmd(void)
{
	return cli_error(NULL, "out of memory");
}
static int usage_with_cmd(void)
{
	return cli_usage("mint", "--count is required");
}
static int usage_without_cmd(void)
{
	return cli_usage(NULL, "unknown command \"%s\"", "x");
}

static void test_error_names_program_and_command_and_returns_1(void **state)
{
	int rc;
	(void)state;
	cli_set_prog("prog-a");
	assert_string_equal(captured(error_with_cmd, &rc), "prog-a: mint: unknown product \"X\"\n");
	assert_int_equal(rc, 1);
	assert_string_equal(captured(error_without_cmd, &rc), "prog-a: out of memory\n");
	assert_int_equal(rc, 1);
}

static void test_usage_points_at_help_and_returns_2(void **state)
{
	int rc;
	(void)state;
	cli_set_prog("prog-b");
	assert_string_equal(captured(usage_with_cmd, &rc),
	                    "prog-b: mint: --count is required (see 'prog-b mint --help')\n");
	assert_int_equal(rc, 2);
	assert_string_equal(captured(usage_without_cmd, &rc),
	                    "prog-b: unknown command \"x\" (see 'prog-b --help')\n");
	assert_int_equal(rc, 2);
	assert_string_equal(cli_prog(), "prog-b");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_int_in_range_is_parsed),
	    cmocka_unit_test(test_int_takes_the_whole_range_of_long_long),
	    cmocka_unit_test(test_int_out_of_range_is_rejected_and_output_untouched),
	    cmocka_unit_test(test_int_with_anything_but_digits_is_rejected),
	    cmocka_unit_test(test_u64_in_range_is_parsed),
	    cmocka_unit_test(test_u64_out_of_range_is_rejected_and_output_untouched),
	    cmocka_unit_test(test_u64_with_a_sign_or_anything_but_digits_is_rejected),
	    cmocka_unit_test(test_error_names_program_and_command_and_returns_1),
	    cmocka_unit_test(test_usage_points_at_help_and_returns_2),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
