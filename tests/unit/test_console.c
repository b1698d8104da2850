/*
 * test_console.c: the console's files as compiled in (console_find over
 * console_assets[]) and the request headers they are served by
 * (console_input.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "handlers/console.h"

static void test_empty_path_is_index_html(void **state)
{
	(void)state;
	const struct console_asset *a = console_find("", 0);
	assert_non_null(a);
	assert_string_equal(a->path, "index.html");
	assert_string_equal(a->type, "text/html; charset=utf-8");
	assert_true(a->raw_len > 100);
	assert_memory_equal(a->raw, "<!DOCTYPE html>", 15);
}

static void test_assets_are_found_by_exact_path_only(void **state)
{
	(void)state;
	const char *js = "vendor/echarts-5.6.0/echarts.min.js";
	const struct console_asset *a = console_find(js, strlen(js));
	assert_non_null(a);
	assert_string_equal(a->type, "text/javascript; charset=utf-8");
	assert_non_null(a->gz); /* a megabyte of JavaScript is worth compressing */
	assert_true(a->gz_len < a->raw_len / 2);
	assert_null(console_find("app.j", 5));
	assert_null(console_find("../app.js", 9));
	assert_null(console_find("APP.JS", 6));
	assert_null(console_find("app.js/", 7));
	assert_int_equal(a->etag[0], '"');
	assert_int_equal(strlen(a->etag), 34);
}

static void test_gzip_is_taken_unless_refused(void **state)
{
	(void)state;
	assert_true(console_takes_gzip("gzip"));
	assert_true(console_takes_gzip("gzip, deflate, br"));
	assert_true(console_takes_gzip("br;q=1.0, GZIP;q=0.5"));
	assert_true(console_takes_gzip("x-gzip"));
	assert_true(console_takes_gzip("gzip;q=0.001"));
	assert_false(console_takes_gzip(NULL));
	assert_false(console_takes_gzip(""));
	assert_false(console_takes_gzip("br, deflate"));
	assert_false(console_takes_gzip("gzip;q=0"));
	assert_false(console_takes_gzip("gzip; q=0.000"));
	assert_false(console_takes_gzip("gzipx"));
	assert_true(console_takes_gzip("gzip, br;q=0")); /* another coding's q is not gzip's */
}

static void test_etag_matches_its_own_or_star(void **state)
{
	(void)state;
	assert_true(console_etag_matches("\"abc\"", "\"abc\""));
	assert_true(console_etag_matches("\"x\", \"abc\"", "\"abc\""));
	assert_true(console_etag_matches("*", "\"abc\""));
	assert_false(console_etag_matches(NULL, "\"abc\""));
	assert_false(console_etag_matches("\"abd\"", "\"abc\""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_path_is_index_html),
	    cmocka_unit_test(test_assets_are_found_by_exact_path_only),
	    cmocka_unit_test(test_gzip_is_taken_unless_refused),
	    cmocka_unit_test(test_etag_matches_its_own_or_star),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
