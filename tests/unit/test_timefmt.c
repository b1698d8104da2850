/*
 * test_timefmt.c: PostgreSQL timestamps in, ISO 8601 out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "engine/timefmt.h"

static void test_pg_timestamp_becomes_iso(void **state)
{
	char out[TIMEFMT_ISO_LEN];
	(void)state;
	timefmt_pg_to_iso("2026-11-23 14:46:17.58237+00", out);
	assert_string_equal(out, "2026-11-23T14:46:17Z");
	timefmt_pg_to_iso("2024-02-29 00:00:00+00", out);
	assert_string_equal(out, "2024-02-29T00:00:00Z");
}

static void test_garbage_gives_empty(void **state)
{
	char out[TIMEFMT_ISO_LEN];
	time_t t;
	(void)state;
	timefmt_pg_to_iso("yesterday", out);
	assert_string_equal(out, "");
	assert_int_equal(timefmt_parse_pg("2026-11-23", &t), -1);
	assert_int_equal(timefmt_parse_pg(NULL, &t), -1);
}

static void test_iso_input_parses_too(void **state)
{
	time_t t;
	char out[TIMEFMT_ISO_LEN];
	(void)state;
	assert_int_equal(timefmt_parse_pg("1970-01-02T00:00:00Z", &t), 0);
	assert_int_equal(t, 86400);
	timefmt_iso(t, out);
	assert_string_equal(out, "1970-01-02T00:00:00Z");
}

static void test_now_for_postgresql_has_microseconds_and_utc(void **state)
{
	char pg[40], iso[TIMEFMT_ISO_LEN], back[TIMEFMT_ISO_LEN];
	(void)state;
	timefmt_pg_now(pg, sizeof pg);
	assert_int_equal(strlen(pg), 29);
	assert_int_equal(pg[19], '.');
	assert_string_equal(pg + 26, "+00");
	timefmt_now_iso(iso);
	timefmt_pg_to_iso(pg, back);
	assert_int_equal(strlen(back), 20);
	assert_memory_equal(back, iso, 11); /* same day (unless run across midnight) */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pg_timestamp_becomes_iso),
	    cmocka_unit_test(test_garbage_gives_empty),
	    cmocka_unit_test(test_iso_input_parses_too),
	    cmocka_unit_test(test_now_for_postgresql_has_microseconds_and_utc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
