/*
 * test_analytics.c: the analytics endpoints' query strings
 * (server/handlers/analytics_query.c): dates that are calendar dates,
 * ranges, levels, countries, SKUs, a parameter given twice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "handlers/analytics.h"

static char err[128];

static int decode(const char *q, struct analytics_query *out)
{
	err[0] = '\0';
	return analytics_query_decode(q, out, err, sizeof err);
}

static void test_nothing_given_is_the_defaults(void **state)
{
	struct analytics_query q;
	(void)state;
	assert_int_equal(decode("", &q), 0);
	assert_string_equal(q.from, "");
	assert_string_equal(q.to, "");
	assert_string_equal(q.product, "");
	assert_string_equal(q.country, "");
	assert_int_equal(q.level, ANALYTICS_SUBDIVISION);
	assert_int_equal(decode(NULL, &q), 0);
}

static void test_everything_given_is_decoded(void **state)
{
	struct analytics_query q;
	(void)state;
	assert_int_equal(
	    decode("from=2026-02-01&to=2026-02-28&product=TEA-1.a_b&country=CN&level=city", &q), 0);
	assert_string_equal(q.from, "2026-02-01");
	assert_string_equal(q.to, "2026-02-28");
	assert_string_equal(q.product, "TEA-1.a_b");
	assert_string_equal(q.country, "CN");
	assert_int_equal(q.level, ANALYTICS_CITY);
	assert_int_equal(decode("batch=42", &q), 0);
	assert_int_equal(q.batch, 42);
	assert_int_equal(decode("batch=0", &q), -1);
	assert_string_equal(err, "batch is a print run's id");
	assert_int_equal(decode("batch=x", &q), -1);
	assert_int_equal(decode("level=country", &q), 0);
	assert_int_equal(q.level, ANALYTICS_COUNTRY);
	assert_int_equal(analytics_days_between("2024-02-28", "2024-03-01"), 2);
	assert_int_equal(analytics_days_between("2025-12-31", "2026-01-01"), 1);
}

static void test_a_date_must_be_on_the_calendar(void **state)
{
	struct analytics_query q;
	(void)state;
	assert_int_equal(decode("from=2024-02-29", &q), 0); /* a leap year */
	assert_int_equal(decode("from=2026-02-29", &q), -1);
	assert_string_equal(err, "from is a date, YYYY-MM-DD");
	assert_int_equal(decode("from=2100-02-29", &q), -1); /* not a leap year */
	assert_int_equal(decode("from=2000-02-29", &q), 0);  /* but 2000 was */
	assert_int_equal(decode("to=2026-13-01", &q), -1);
	assert_string_equal(err, "to is a date, YYYY-MM-DD");
	assert_int_equal(decode("to=2026-04-31", &q), -1);
	assert_int_equal(decode("to=20260401", &q), -1);
	assert_int_equal(decode("to=2026-4-01", &q), -1);
	assert_int_equal(decode("to=1999-12-31", &q), -1);
	assert_int_equal(decode("to=2026-01-0x", &q), -1);
	assert_int_equal(decode("to=", &q), -1);
}

static void test_a_range_runs_forward_and_at_most_366_days(void **state)
{
	struct analytics_query q;
	(void)state;
	assert_int_equal(decode("from=2026-03-02&to=2026-03-01", &q), -1);
	assert_int_equal(decode("from=2026-03-01&to=2026-03-01", &q), 0);
	assert_int_equal(decode("from=2024-01-01&to=2024-12-31", &q), 0); /* 366 days */
	assert_int_equal(decode("from=2024-01-01&to=2025-01-01", &q), -1);
	assert_string_equal(err, "to is from or later, at most 366 days in all");
}

static void test_levels_countries_and_skus_are_checked(void **state)
{
	struct analytics_query q;
	(void)state;
	assert_int_equal(decode("level=planet", &q), -1);
	assert_string_equal(err, "level is country, subdivision or city");
	assert_int_equal(decode("level=", &q), -1);
	assert_int_equal(decode("country=cn", &q), -1);
	assert_int_equal(decode("country=CHN", &q), -1);
	assert_int_equal(decode("country=C%4E", &q), 0); /* percent-decoded first */
	assert_string_equal(q.country, "CN");
	assert_int_equal(decode("product=a%20b", &q), -1);
	assert_string_equal(err, "product is a SKU");
	assert_int_equal(decode("product=", &q), -1);
	char long_sku[100] = "product=";
	memset(long_sku + 8, 'A', 70);
	assert_int_equal(decode(long_sku, &q), -1);
}

static void test_a_parameter_given_twice_is_refused(void **state)
{
	struct analytics_query q;
	(void)state;
	assert_int_equal(decode("from=2026-01-01&from=2026-01-02", &q), -1);
	assert_int_equal(decode("level=city&level=city", &q), -1);
	/* a name that merely ends like one is another parameter */
	assert_int_equal(decode("xfrom=1&from=2026-01-01", &q), 0);
	assert_string_equal(q.from, "2026-01-01");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nothing_given_is_the_defaults),
	    cmocka_unit_test(test_everything_given_is_decoded),
	    cmocka_unit_test(test_a_date_must_be_on_the_calendar),
	    cmocka_unit_test(test_a_range_runs_forward_and_at_most_366_days),
	    cmocka_unit_test(test_levels_countries_and_skus_are_checked),
	    cmocka_unit_test(test_a_parameter_given_twice_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
