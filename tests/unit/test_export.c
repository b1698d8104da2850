/*
 * test_export.c: the pure parts of exports and alert rules: an export's
 * kinds, times (dates and RFC 3339 times with offsets, real days only) and
 * query, and an alert rule's body.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "handlers/alerts.h"
#include "handlers/export.h"

static char err[256];

static void test_kinds_are_the_four_names(void **state)
{
	enum export_kind k;
	(void)state;
	assert_int_equal(export_kind_parse("ledger", 6, &k), 0);
	assert_int_equal(k, EXPORT_LEDGER);
	assert_string_equal(export_kind_name(EXPORT_CLAIMS), "claims");
	assert_int_equal(export_kind_parse("scan", 4, &k), -1);
	assert_int_equal(export_kind_parse("scansx", 6, &k), -1);
	assert_int_equal(export_kind_parse("", 0, &k), -1);
}

static void test_a_date_or_a_time_with_its_offset(void **state)
{
	(void)state;
	assert_int_equal(export_time_check("2026-12-01"), 0);
	assert_int_equal(export_time_check("2024-02-29"), 0);
	assert_int_equal(export_time_check("2026-12-01T08:00Z"), 0);
	assert_int_equal(export_time_check("2026-12-01T08:00:59.123456+08:00"), 0);
	assert_int_equal(export_time_check("2026-12-01t08:00:00-05:30"), 0);
}

static void test_no_time_without_an_offset_nor_an_unreal_day(void **state)
{
	(void)state;
	assert_int_equal(export_time_check("2026-12-01T08:00:00"), -1); /* whose 08:00? */
	assert_int_equal(export_time_check("2026-02-29"), -1);
	assert_int_equal(export_time_check("2026-13-01"), -1);
	assert_int_equal(export_time_check("2026-12-01T24:00Z"), -1);
	assert_int_equal(export_time_check("2026-12-01T08:00:00.1234567Z"), -1);
	assert_int_equal(export_time_check("2026-12-01T08:00:00+15:00"), -1);
	assert_int_equal(export_time_check("1969-12-31"), -1);
	assert_int_equal(export_time_check("yesterday"), -1);
	assert_int_equal(export_time_check("2026-12-01 08:00Z"), -1);
}

static void test_a_query_needs_both_ends_and_a_known_format(void **state)
{
	struct export_in in;
	(void)state;
	assert_int_equal(export_decode_query("from=2026-12-01&to=2026-12-02", &in, err, sizeof err),
	                 0);
	assert_int_equal(in.format, EXPORT_CSV);
	assert_int_equal(
	    export_decode_query("to=2026-12-02&format=jsonl&from=2026-12-01", &in, err, sizeof err),
	    0);
	assert_int_equal(in.format, EXPORT_JSONL);
	assert_int_equal(export_decode_query("from=2026-12-01", &in, err, sizeof err), -1);
	assert_int_equal(
	    export_decode_query("from=2026-12-01&to=2026-12-02&format=xlsx", &in, err, sizeof err),
	    -1);
	assert_non_null(strstr(err, "csv or jsonl"));
}

static void test_an_unescaped_plus_of_an_offset_is_taken_as_meant(void **state)
{
	struct export_in in;
	(void)state;
	assert_int_equal(
	    export_decode_query("from=2026-12-01T08:00+08:00&to=2026-12-02T08:00%2B08:00", &in, err,
	                        sizeof err),
	    0);
	assert_string_equal(in.from, "2026-12-01T08:00+08:00");
	assert_string_equal(in.to, "2026-12-02T08:00+08:00");
}

static void test_a_rule_meets_the_table_constraints(void **state)
{
	struct alert_rule_in in;
	static const char ok[] = "{\"kind\":\"scanners\",\"threshold\":3,\"window_s\":600,"
	                         "\"brand\":\"Packcode Tea\"}";
	(void)state;
	assert_int_equal(alert_rule_decode(ok, strlen(ok), &in, err, sizeof err), ADMIN_DECODE_OK);
	assert_string_equal(in.kind, "scanners");
	assert_int_equal(in.threshold, 3);
	assert_int_equal(in.window_s, 600);
	assert_true(in.has_brand);
	assert_string_equal(in.brand, "Packcode Tea");
	static const char *const bad[] = {
	    "{\"kind\":\"scanners\",\"threshold\":0,\"window_s\":600}",
	    "{\"kind\":\"scanners\",\"threshold\":3,\"window_s\":59}",
	    "{\"kind\":\"scanners\",\"threshold\":3,\"window_s\":2592001}",
	    "{\"kind\":\"teleport\",\"threshold\":3,\"window_s\":600}",
	    "{\"kind\":\"scanners\",\"threshold\":3,\"window_s\":600,\"brand\":7}",
	    "{\"kind\":\"scanners\",\"threshold\":3,\"window_s\":600,\"color\":\"red\"}",
	    "[1]",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(alert_rule_decode(bad[i], strlen(bad[i]), &in, err, sizeof err),
		                 ADMIN_DECODE_BAD_REQUEST);
	assert_int_equal(alert_rule_decode("{\"kind\":1,\"kind\":2}", 19, &in, err, sizeof err),
	                 ADMIN_DECODE_BAD_JSON);
}

static void test_a_travel_rule_defaults_its_speed_and_a_region_is_for_not_genuine(void **state)
{
	struct alert_rule_in in;
	static const char travel[] = "{\"kind\":\"travel\",\"window_s\":3600}";
	static const char region[] =
	    "{\"kind\":\"not_genuine\",\"threshold\":5,\"window_s\":600,\"region\":\"CN-ZJ\"}";
	(void)state;
	assert_int_equal(alert_rule_decode(travel, strlen(travel), &in, err, sizeof err),
	                 ADMIN_DECODE_OK);
	assert_int_equal(in.threshold, ALERT_TRAVEL_KMH);
	assert_string_equal(in.region, "");
	assert_int_equal(alert_rule_decode(region, strlen(region), &in, err, sizeof err),
	                 ADMIN_DECODE_OK);
	assert_string_equal(in.region, "CN-ZJ");
	static const char *const bad[] = {
	    "{\"kind\":\"scanners\",\"window_s\":600}", /* only travel has a default */
	    "{\"kind\":\"travel\",\"threshold\":0,\"window_s\":600}",
	    "{\"kind\":\"scanners\",\"threshold\":3,\"window_s\":600,\"region\":\"CN\"}",
	    "{\"kind\":\"not_genuine\",\"threshold\":3,\"window_s\":600,\"region\":\"cn-zj\"}",
	    "{\"kind\":\"not_genuine\",\"threshold\":3,\"window_s\":600,\"region\":\"CN-\"}",
	    "{\"kind\":\"not_genuine\",\"threshold\":3,\"window_s\":600,\"region\":\"CNZJ\"}",
	    "{\"kind\":\"not_genuine\",\"threshold\":3,\"window_s\":600,\"region\":7}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(alert_rule_decode(bad[i], strlen(bad[i]), &in, err, sizeof err),
		                 ADMIN_DECODE_BAD_REQUEST);
}

static void test_a_job_needs_a_kind_and_both_ends(void **state)
{
	struct export_in in;
	static const char ok[] =
	    "{\"kind\":\"ledger\",\"from\":\"2026-11-01\",\"to\":\"2026-12-01T08:00:00+08:00\","
	    "\"format\":\"jsonl\"}";
	static const char plain[] =
	    "{\"kind\":\"scans\",\"from\":\"2026-11-01\",\"to\":\"2026-12-01\"}";
	(void)state;
	assert_int_equal(export_job_decode(ok, strlen(ok), &in, err, sizeof err), 0);
	assert_int_equal(in.kind, EXPORT_LEDGER);
	assert_int_equal(in.format, EXPORT_JSONL);
	assert_string_equal(in.to, "2026-12-01T08:00:00+08:00");
	assert_int_equal(export_job_decode(plain, strlen(plain), &in, err, sizeof err), 0);
	assert_int_equal(in.format, EXPORT_CSV);
	static const char *const bad[] = {
	    "{\"kind\":\"orders\",\"from\":\"2026-11-01\",\"to\":\"2026-12-01\"}",
	    "{\"kind\":\"scans\",\"to\":\"2026-12-01\"}",
	    "{\"kind\":\"scans\",\"from\":\"2026-02-30\",\"to\":\"2026-12-01\"}",
	    "{\"kind\":\"scans\",\"from\":\"2026-11-01\",\"to\":\"2026-12-01\",\"format\":\"xml\"}",
	    "{\"kind\":\"scans\",\"from\":\"2026-11-01\",\"to\":\"2026-12-01\",\"pii\":true}",
	    "{\"kind\":\"scans\",\"kind\":\"claims\",\"to\":\"2026-12-01\"}",
	    "[]",
	    "",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(export_job_decode(bad[i], strlen(bad[i]), &in, err, sizeof err),
		                 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kinds_are_the_four_names),
	    cmocka_unit_test(test_a_date_or_a_time_with_its_offset),
	    cmocka_unit_test(test_no_time_without_an_offset_nor_an_unreal_day),
	    cmocka_unit_test(test_a_query_needs_both_ends_and_a_known_format),
	    cmocka_unit_test(test_an_unescaped_plus_of_an_offset_is_taken_as_meant),
	    cmocka_unit_test(test_a_rule_meets_the_table_constraints),
	    cmocka_unit_test(test_a_travel_rule_defaults_its_speed_and_a_region_is_for_not_genuine),
	    cmocka_unit_test(test_a_job_needs_a_kind_and_both_ends),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
