/*
 * test_batch.c: the array parameters batches send: text array literals
 * whose elements are quoted and escaped, NULLs as NULL, empty as {}.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/batch.h"

static void test_strings_are_quoted_and_escaped(void **state)
{
	const char *v[1];
	(void)state;
	struct batch_params *bp = batch_params_new();
	batch_param_str(bp, 0, "plain");
	batch_param_str(bp, 0, "a \"quote\", a \\ and {braces}");
	batch_param_str(bp, 0, NULL);
	batch_param_str(bp, 0, "");
	assert_int_equal(batch_params_finish(bp, 1, v), 0);
	assert_string_equal(v[0], "{\"plain\",\"a \\\"quote\\\", a \\\\ and {braces}\",NULL,\"\"}");
	batch_params_free(bp);
}

static void test_numbers_and_columns(void **state)
{
	const char *v[2];
	(void)state;
	struct batch_params *bp = batch_params_new();
	batch_param_uint(bp, 0, 18446744073709551615ULL);
	batch_param_int(bp, 1, -5);
	batch_param_uint(bp, 0, 1);
	batch_param_int(bp, 1, 0);
	assert_int_equal(batch_params_finish(bp, 2, v), 0);
	assert_string_equal(v[0], "{18446744073709551615,1}");
	assert_string_equal(v[1], "{-5,0}");
	batch_params_free(bp);
}

static void test_empty_column_is_an_empty_array(void **state)
{
	const char *v[1];
	(void)state;
	struct batch_params *bp = batch_params_new();
	assert_int_equal(batch_params_finish(bp, 1, v), 0);
	assert_string_equal(v[0], "{}");
	batch_params_free(bp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strings_are_quoted_and_escaped),
	    cmocka_unit_test(test_numbers_and_columns),
	    cmocka_unit_test(test_empty_column_is_an_empty_array),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
