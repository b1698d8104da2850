/*
 * test_http.c: the request-text helpers the router relies on: UTF-8
 * validation, form fields (percent and '+' decoding, limits), printable copies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "edge/http.h"
#include "text.h"

static int valid(const char *s)
{
	return http_utf8_valid(s, strlen(s));
}

static void test_utf8_accepts_ascii_and_multibyte(void **state)
{
	(void)state;
	assert_true(valid("alice"));
	assert_true(valid("李雷 \xf0\x9f\x8d\xb5 caf\xc3\xa9"));
	assert_true(valid("tab\tok"));
}

static void test_utf8_refuses_malformed_sequences(void **state)
{
	(void)state;
	assert_false(valid("\xff"));
	assert_false(valid("\xc3"));             /* truncated */
	assert_false(valid("\xc0\xaf"));         /* overlong '/' */
	assert_false(valid("\xed\xa0\x80"));     /* surrogate */
	assert_false(valid("\xf4\x90\x80\x80")); /* past U+10FFFF */
	assert_false(valid("\xe4\xb8"));         /* truncated */
}

static void test_utf8_refuses_control_bytes(void **state)
{
	(void)state;
	assert_false(valid("a\nb"));
	assert_false(valid("a\x7f"));
	assert_false(http_utf8_valid("a\0b", 3));
}

static void test_form_field_decodes_percent_and_plus(void **state)
{
	const char body[] = "pin=1234&member=%2B86+138+0013+8000";
	char out[64];
	(void)state;
	assert_int_equal(http_form_field(body, strlen(body), "member", out, sizeof out), 1);
	assert_string_equal(out, "+86 138 0013 8000");
	assert_int_equal(http_form_field(body, strlen(body), "pin", out, sizeof out), 1);
	assert_string_equal(out, "1234");
}

static void test_form_field_absent_or_empty(void **state)
{
	const char body[] = "member=&x";
	char out[16];
	(void)state;
	assert_int_equal(http_form_field(body, strlen(body), "pin", out, sizeof out), 0);
	assert_int_equal(http_form_field(body, strlen(body), "member", out, sizeof out), 1);
	assert_string_equal(out, "");
	assert_int_equal(http_form_field("", 0, "member", out, sizeof out), 0);
}

static void test_form_field_refuses_bad_escapes_nul_and_overflow(void **state)
{
	char out[8];
	(void)state;
	assert_int_equal(http_form_field("member=%G1", 10, "member", out, sizeof out), -1);
	assert_int_equal(http_form_field("member=%4", 9, "member", out, sizeof out), -1);
	assert_int_equal(http_form_field("member=a%00b", 12, "member", out, sizeof out), -1);
	assert_int_equal(http_form_field("member=123456789", 16, "member", out, sizeof out), -1);
}

static void test_query_int_bounds(void **state)
{
	long long v = 0;
	(void)state;
	assert_int_equal(http_query_int("limit=20&before=7", "limit", 100, &v), 1);
	assert_int_equal(v, 20);
	assert_int_equal(http_query_int("limit=20&before=7", "before", 100, &v), 1);
	assert_int_equal(v, 7);
	assert_int_equal(http_query_int("limit=20", "before", 100, &v), 0);
	assert_int_equal(http_query_int("", "limit", 100, &v), 0);
	assert_int_equal(http_query_int("limit=100", "limit", 100, &v), 1);
	/* out of [1, max], empty, signed, trailing junk, overflowing: bad */
	assert_int_equal(http_query_int("limit=101", "limit", 100, &v), -1);
	assert_int_equal(http_query_int("limit=0", "limit", 100, &v), -1);
	assert_int_equal(http_query_int("limit=", "limit", 100, &v), -1);
	assert_int_equal(http_query_int("limit=-5", "limit", 100, &v), -1);
	assert_int_equal(http_query_int("limit=5x", "limit", 100, &v), -1);
	assert_int_equal(http_query_int("limit=99999999999999999999", "limit", 100, &v), -1);
	assert_int_equal(v, 100); /* untouched by the refusals */
}

static void test_printable_replaces_other_bytes_and_cuts(void **state)
{
	char out[8];
	(void)state;
	text_printable("a\tb\xffz", 5, out, sizeof out);
	assert_string_equal(out, "a?b?z");
	text_printable("0123456789", 10, out, sizeof out);
	assert_string_equal(out, "0123456");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_utf8_accepts_ascii_and_multibyte),
	    cmocka_unit_test(test_utf8_refuses_malformed_sequences),
	    cmocka_unit_test(test_utf8_refuses_control_bytes),
	    cmocka_unit_test(test_form_field_decodes_percent_and_plus),
	    cmocka_unit_test(test_form_field_absent_or_empty),
	    cmocka_unit_test(test_form_field_refuses_bad_escapes_nul_and_overflow),
	    cmocka_unit_test(test_query_int_bounds),
	    cmocka_unit_test(test_printable_replaces_other_bytes_and_cuts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
