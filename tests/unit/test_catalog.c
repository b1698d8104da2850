/*
 * test_catalog.c: finding a code's batch in a catalog snapshot (binary
 * search over serial ranges), and the lookup reply's pre-rendered batch part.
 * Snapshots are built from in-memory PGresults shaped like the catalog query.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "engine/catalog.h"

#define NCOLS 14

/* Rows: id, first, last, status, pin (the rest fixed). */
static PGresult *result(const char *rows[][5], int n)
{
	PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	PGresAttDesc attrs[NCOLS];
	static const char *names[NCOLS] = {
	    "id",   "key_id",  "serial_first", "serial_last", "status", "pin_required", "factory",
	    "line", "created", "sku",          "gtin",        "name",   "brand",        "points"};
	memset(attrs, 0, sizeof attrs);
	for (int c = 0; c < NCOLS; c++) {
		attrs[c].name = (char *)names[c];
		attrs[c].format = 0;
		attrs[c].typlen = -1;
		attrs[c].atttypmod = -1;
	}
	PQsetResultAttrs(r, NCOLS, attrs);
	for (int i = 0; i < n; i++) {
		const char *v[NCOLS] = {rows[i][0],  "1",        rows[i][1],
		                        rows[i][2],  rows[i][3], rows[i][4],
		                        "Fac \"1\"", "L2",       "2026-11-23T16:08:28Z",
		                        "TEA",       "",         "Green <tea>",
		                        "",          "10"};
		for (int c = 0; c < NCOLS; c++)
			PQsetvalue(r, i, c, (char *)v[c], (int)strlen(v[c]));
	}
	return r;
}

static struct catalog_snapshot *snap;

static int setup(void **state)
{
	static const char *rows[][5] = {
	    {"1", "1", "100", "active", "f"},
	    {"2", "101", "101", "recalled", "t"},
	    {"3", "500", "999", "minting", "f"},
	};
	(void)state;
	PGresult *r = result(rows, 3);
	snap = catalog_snapshot_from_result(r);
	PQclear(r);
	return snap ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	catalog_snapshot_unref(snap);
	return 0;
}

static void test_serials_inside_ranges_find_their_batch(void **state)
{
	(void)state;
	assert_int_equal(catalog_find(snap, 1)->id, 1);
	assert_int_equal(catalog_find(snap, 100)->id, 1);
	assert_int_equal(catalog_find(snap, 101)->id, 2);
	assert_int_equal(catalog_find(snap, 500)->id, 3);
	assert_int_equal(catalog_find(snap, 999)->id, 3);
}

static void test_serials_between_or_beyond_ranges_find_nothing(void **state)
{
	(void)state;
	assert_null(catalog_find(snap, 0));
	assert_null(catalog_find(snap, 102));
	assert_null(catalog_find(snap, 499));
	assert_null(catalog_find(snap, 1000));
	assert_null(catalog_find(snap, UINT64_MAX));
	assert_null(catalog_find(NULL, 5));
}

static void test_status_and_pin_are_read(void **state)
{
	(void)state;
	assert_int_equal(catalog_find(snap, 50)->status, BATCH_ACTIVE);
	assert_false(catalog_find(snap, 50)->pin_required);
	assert_int_equal(catalog_find(snap, 101)->status, BATCH_RECALLED);
	assert_true(catalog_find(snap, 101)->pin_required);
	assert_int_equal(catalog_find(snap, 600)->status, BATCH_MINTING);
}

static void test_rendered_batch_json_is_valid_and_escaped(void **state)
{
	char doc[2048];
	json_error_t err;
	(void)state;
	snprintf(doc, sizeof doc, "{%s}", catalog_find(snap, 7)->json);
	json_t *j = json_loads(doc, 0, &err);
	assert_non_null(j);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(j, "product"), "name")),
	    "Green <tea>");
	assert_true(json_is_null(json_object_get(json_object_get(j, "product"), "gtin")));
	assert_string_equal(json_string_value(json_object_get(j, "factory")), "Fac \"1\"");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(j, "batch"), "status")), "active");
	json_decref(j);
}

/* A snapshot of one batch (serials 1-1000) with the supply columns: inactive, lot, expiry, ranges.
 */
static struct catalog_snapshot *supply_snapshot(const char *inactive, const char *ranges)
{
	static const char *names[18] = {
	    "id",      "key_id", "serial_first", "serial_last", "status", "pin_required",
	    "factory", "line",   "created",      "sku",         "gtin",   "name",
	    "brand",   "points", "inactive",     "lot",         "expiry", "activations"};
	const char *v[18] = {"9", "1",  "1",      "1000", "active",     "f",
	                     "",  "",   "x",      "TEA",  "",           "Tea",
	                     "",  "10", inactive, "L7",   "2020-01-31", ranges};
	PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	PGresAttDesc attrs[18];
	memset(attrs, 0, sizeof attrs);
	for (int c = 0; c < 18; c++) {
		attrs[c].name = (char *)names[c];
		attrs[c].typlen = -1;
		attrs[c].atttypmod = -1;
	}
	PQsetResultAttrs(r, 18, attrs);
	for (int c = 0; c < 18; c++)
		PQsetvalue(r, 0, c, (char *)v[c], (int)strlen(v[c]));
	struct catalog_snapshot *s = catalog_snapshot_from_result(r);
	PQclear(r);
	return s;
}

static void test_a_batch_minted_active_is_released_whole(void **state)
{
	(void)state;
	struct catalog_snapshot *s = supply_snapshot("f", "");
	assert_non_null(s);
	assert_true(catalog_released(catalog_find(s, 1), 1));
	assert_true(catalog_released(catalog_find(s, 1000), 1000));
	assert_true(catalog_released(catalog_find(snap, 7), 7)); /* no supply columns at all */
	catalog_snapshot_unref(s);
}

static void test_an_inactive_batch_is_released_only_where_a_range_covers(void **state)
{
	(void)state;
	/* overlapping and nested ranges, sorted by first */
	struct catalog_snapshot *s = supply_snapshot("t", "10-20,15-100,30-40,500-500");
	const struct catalog_batch *b = catalog_find(s, 1);
	assert_non_null(b);
	assert_int_equal(b->nranges, 4);
	assert_false(catalog_released(b, 9));
	assert_true(catalog_released(b, 10));
	assert_true(catalog_released(b, 50)); /* inside 15-100, past 30-40 */
	assert_true(catalog_released(b, 100));
	assert_false(catalog_released(b, 101));
	assert_true(catalog_released(b, 500));
	assert_false(catalog_released(b, 501));
	catalog_snapshot_unref(s);
	s = supply_snapshot("t", "");
	assert_false(catalog_released(catalog_find(s, 1), 1));
	catalog_snapshot_unref(s);
}

static void test_lot_and_expiry_are_read_and_rendered(void **state)
{
	char doc[2048];
	(void)state;
	struct catalog_snapshot *s = supply_snapshot("f", "");
	const struct catalog_batch *b = catalog_find(s, 5);
	assert_string_equal(b->lot, "L7");
	assert_true(catalog_expired(b, "2020-02-01"));
	assert_false(catalog_expired(b, "2020-01-31"));
	snprintf(doc, sizeof doc, "{%s}", b->json);
	json_t *j = json_loads(doc, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "batch"), "lot")),
	                    "L7");
	json_decref(j);
	catalog_snapshot_unref(s);
}

static void test_empty_catalog_finds_nothing(void **state)
{
	(void)state;
	PGresult *r = result(NULL, 0);
	struct catalog_snapshot *s = catalog_snapshot_from_result(r);
	PQclear(r);
	assert_non_null(s);
	assert_int_equal(catalog_snapshot_size(s), 0);
	assert_null(catalog_find(s, 1));
	catalog_snapshot_unref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_serials_inside_ranges_find_their_batch),
	    cmocka_unit_test(test_serials_between_or_beyond_ranges_find_nothing),
	    cmocka_unit_test(test_status_and_pin_are_read),
	    cmocka_unit_test(test_rendered_batch_json_is_valid_and_escaped),
	    cmocka_unit_test(test_empty_catalog_finds_nothing),
	    cmocka_unit_test(test_a_batch_minted_active_is_released_whole),
	    cmocka_unit_test(test_an_inactive_batch_is_released_only_where_a_range_covers),
	    cmocka_unit_test(test_lot_and_expiry_are_read_and_rendered),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
