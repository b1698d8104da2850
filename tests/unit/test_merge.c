/*
 * test_merge.c: the body of an admin's merge of two members
 * (server/handlers/merge_input.c): {"from": id} or {"into": id}, nothing else.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "handlers/merge.h"

static int into;

static int decode(const char *body, char *from, size_t *n)
{
	char err[200];
	return merge_request_decode(body, strlen(body), from, MEMBER_ID_MAX * 3 + 1, n, &into, err,
	                            sizeof err);
}

static void test_from_is_taken_as_typed(void **state)
{
	(void)state;
	char from[MEMBER_ID_MAX * 3 + 1];
	size_t n;
	assert_int_equal(decode("{\"from\": \"139 0000 0000\"}", from, &n), 0);
	assert_string_equal(from, "139 0000 0000");
	assert_int_equal(n, 13);
	assert_false(into);
	assert_int_equal(decode("{\"into\": \"m-abc\"}", from, &n), 0);
	assert_string_equal(from, "m-abc");
	assert_true(into);
}

static void test_anything_else_is_refused(void **state)
{
	(void)state;
	char from[MEMBER_ID_MAX * 3 + 1];
	size_t n;
	const char *bad[] = {"",
	                     "[]",
	                     "{}",
	                     "{\"from\": 1}",
	                     "{\"from\": \"\"}",
	                     "{\"from\": \"a\", \"into\": \"b\"}",
	                     "{\"into\": 2}",
	                     "{\"from\": \"a\\u0000b\"}",
	                     "{\"from\": \"a\", \"from\": \"b\"}"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(decode(bad[i], from, &n), -1);
	char longer[400] = "{\"from\": \"";
	memset(longer + 10, 'a', 300);
	strcpy(longer + 310, "\"}");
	assert_int_equal(decode(longer, from, &n), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_from_is_taken_as_typed),
	    cmocka_unit_test(test_anything_else_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
