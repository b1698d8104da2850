/*
 * test_campaigns.c: campaigns as the server caches them (engine/campaigns.c:
 * which apply to a pack, for the landing page's link) and a new campaign's
 * body as the admin API checks it (handlers/campaigns_input.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "engine/campaigns.h"
#include "handlers/campaigns.h"

#define NCOLS 7

static PGresult *result(const char *rows[][NCOLS], int n)
{
	PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	PGresAttDesc attrs[NCOLS];
	static const char *names[NCOLS] = {"id",   "brand",     "starts_unix", "ends_unix",
	                                   "skus", "batch_ids", "name"};
	memset(attrs, 0, sizeof attrs);
	for (int c = 0; c < NCOLS; c++) {
		attrs[c].name = (char *)names[c];
		attrs[c].typid = 25; /* text */
		attrs[c].typlen = -1;
		attrs[c].atttypmod = -1;
	}
	PQsetResultAttrs(r, NCOLS, attrs);
	for (int i = 0; i < n; i++)
		for (int c = 0; c < NCOLS; c++)
			PQsetvalue(r, i, c, (char *)rows[i][c], (int)strlen(rows[i][c]));
	return r;
}

static void test_a_pack_matches_its_brands_campaigns_by_product_batch_and_time(void **state)
{
	const char *rows[][NCOLS] = {
	    {"1", "Tea", "100", "200", "", "", "every product"},
	    {"2", "Tea", "100", "200", "TEA MATCHA", "", "two products"},
	    {"3", "Tea", "100", "200", "", "17 170", "two print runs"},
	    {"4", "Tea", "300", "400", "", "", "later"},
	    {"5", "Bean", "100", "200", "", "", "another brand"},
	    {"6", "Tea", "100", "200", "TEAX", "1", "a longer SKU, another run"},
	};
	long long ids[8];
	const char *names[8];
	(void)state;
	PGresult *r = result(rows, 6);
	struct campaigns_snapshot *s = campaigns_snapshot_from_result(r);
	PQclear(r);
	assert_non_null(s);
	assert_int_equal(campaigns_snapshot_match(s, "Tea", "TEA", 17, 150, ids, names, 8), 3);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 2);
	assert_int_equal(ids[2], 3);
	assert_string_equal(names[2], "two print runs");
	/* 7 is not 17 nor 170; EA is not TEA */
	assert_int_equal(campaigns_snapshot_match(s, "Tea", "EA", 7, 150, ids, NULL, 8), 1);
	assert_int_equal(campaigns_snapshot_match(s, "Tea", "TEA", 17, 99, ids, NULL, 8), 0);
	assert_int_equal(campaigns_snapshot_match(s, "Tea", "TEA", 17, 200, ids, NULL, 8), 0);
	assert_int_equal(campaigns_snapshot_match(s, "Tea", "TEA", 17, 300, ids, NULL, 8), 1);
	assert_int_equal(ids[0], 4);
	assert_int_equal(campaigns_snapshot_match(s, "Tea", "TEA", 17, 150, ids, NULL, 2), 2);
	campaigns_snapshot_unref(s);
}

static void test_a_malformed_load_is_refused(void **state)
{
	const char *rows[][NCOLS] = {{"x", "Tea", "1", "2", "", "", "n"}};
	(void)state;
	PGresult *r = result(rows, 1);
	assert_null(campaigns_snapshot_from_result(r));
	PQclear(r);
}

static void test_a_campaign_body_is_checked_in_shape(void **state)
{
	char err[256], *canon;
	const char *ok = "{\"brand\":\"Tea\",\"name\":\"x\",\"ends_at\":\"2030-01-01T00:00:00Z\","
	                 "\"products\":[\"TEA\"],\"batches\":[3],\"regions\":[\"CN-ZJ\"],"
	                 "\"multiplier\":1.5,\"bonus\":5,\"first_claim_bonus\":10,"
	                 "\"ladder\":{\"every\":3,\"bonus\":7},\"daily_limit\":2,"
	                 "\"prizes\":[{\"name\":\"Cup\",\"count\":10,\"probability_ppm\":1000}]}";
	static const char *const bad[] = {
	    "{\"name\":\"x\",\"ends_at\":\"t\"}",
	    "{\"brand\":\"Tea\",\"name\":\"\",\"ends_at\":\"t\"}",
	    "{\"brand\":\"Tea\",\"name\":\"x\"}",
	    "{\"brand\":\"Tea\",\"name\":\"x\",\"ends_at\":\"t\",\"extra\":1}",
	    "{\"brand\":\"Tea\",\"name\":\"x\",\"ends_at\":\"t\",\"products\":[]}",
	    "{\"brand\":\"Tea\",\"name\":\"x\",\"ends_at\":\"t\",\"batches\":[\"3\"]}",
	    "{\"brand\":\"Tea\",\"name\":\"x\",\"ends_at\":\"t\",\"multiplier\":0.9}",
	    "{\"brand\":\"Tea\",\"name\":\"x\",\"ends_at\":\"t\",\"bonus\":-1}",
	    "{\"brand\":\"Tea\",\"name\":\"x\",\"ends_at\":\"t\",\"ladder\":{\"every\":1,\"bonus\":"
	    "1}}",
	    "{\"brand\":\"Tea\",\"name\":\"x\",\"ends_at\":\"t\",\"ladder\":{\"every\":2}}",
	    "{\"brand\":\"Tea\",\"name\":\"x\",\"ends_at\":\"t\",\"daily_limit\":0}",
	    "{\"brand\":\"Tea\",\"name\":\"x\",\"ends_at\":\"t\",\"prizes\":[{\"name\":\"a\","
	    "\"count\":0,\"probability_ppm\":1}]}",
	    "{\"brand\":\"Tea\",\"name\":\"x\",\"ends_at\":\"t\",\"prizes\":[{\"name\":\"a\","
	    "\"count\":1,\"probability_ppm\":1000001}]}",
	    "[]",
	};
	(void)state;
	assert_int_equal(campaign_decode(ok, strlen(ok), &canon, err, sizeof err), ADMIN_DECODE_OK);
	assert_non_null(strstr(canon, "\"multiplier\":1.5"));
	free(canon);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(campaign_decode(bad[i], strlen(bad[i]), &canon, err, sizeof err),
		                 ADMIN_DECODE_BAD_REQUEST);
		assert_null(canon);
	}
	assert_int_equal(campaign_decode("{\"name\":1,\"name\":2}", 19, &canon, err, sizeof err),
	                 ADMIN_DECODE_BAD_JSON);
	assert_int_equal(campaign_decode("{", 1, &canon, err, sizeof err), ADMIN_DECODE_BAD_JSON);
}

#define RP_HEAD                                                                                    \
	"{\"brand\":\"B\",\"name\":\"n\",\"ends_at\":\"2030-01-01T00:00:00Z\",\"red_packet\":"

static void test_a_red_packet_is_whole_minor_units_and_known_fields(void **state)
{
	char err[256], *canon = NULL;
	(void)state;
	const char *ok[] = {RP_HEAD "{\"amount\":88,\"budget\":100000,\"currency\":\"CNY\"}}",
	                    RP_HEAD "{\"min\":1,\"max\":500,\"budget\":9000,\"member_cap\":900}}",
	                    RP_HEAD "{\"amount\":5,\"budget\":9000,\"daily_cap\":600}}"};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		assert_int_equal(campaign_decode(ok[i], strlen(ok[i]), &canon, err, sizeof err),
		                 ADMIN_DECODE_OK);
		free(canon);
	}
	const char *bad[] = {RP_HEAD "{\"amount\":1.5}}",        RP_HEAD "{\"amount\":0}}",
	                     RP_HEAD "{\"amount\":\"8\"}}",      RP_HEAD "{\"tip\":8}}",
	                     RP_HEAD "{\"currency\":\"RMB1\"}}", RP_HEAD "[8]}"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(campaign_decode(bad[i], strlen(bad[i]), &canon, err, sizeof err),
		                 ADMIN_DECODE_BAD_REQUEST);
		assert_non_null(strstr(err, "red_packet"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_pack_matches_its_brands_campaigns_by_product_batch_and_time),
	    cmocka_unit_test(test_a_malformed_load_is_refused),
	    cmocka_unit_test(test_a_campaign_body_is_checked_in_shape),
	    cmocka_unit_test(test_a_red_packet_is_whole_minor_units_and_known_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
