/*
 * test_links.c: the brands' resolver links as the server caches them
 * (engine/links.c): found by GTIN among others, and a malformed load
 * refused whole (the old snapshot stays).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "engine/links.h"

#define NCOLS 7

static PGresult *result(const char *rows[][3], int n)
{
	PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	PGresAttDesc attrs[NCOLS];
	static const char *names[NCOLS] = {"gtin",     "link_type",  "href", "title",
	                                   "hreflang", "media_type", "name"};
	memset(attrs, 0, sizeof attrs);
	for (int c = 0; c < NCOLS; c++) {
		attrs[c].name = (char *)names[c];
		attrs[c].format = 0;
		attrs[c].typid = 25; /* text */
		attrs[c].typlen = -1;
		attrs[c].atttypmod = -1;
	}
	PQsetResultAttrs(r, NCOLS, attrs);
	for (int i = 0; i < n; i++) {
		const char *v[NCOLS] = {rows[i][0], rows[i][1],  rows[i][2], "A title",
		                        "en",       "text/html", "Green tea"};
		for (int c = 0; c < NCOLS; c++)
			PQsetvalue(r, i, c, (char *)v[c], (int)strlen(v[c]));
	}
	return r;
}

static void test_links_are_found_by_gtin(void **state)
{
	const char *rows[][3] = {
	    {"00000096385074", "gs1:pip", "https://a.example/mini"},
	    {"06901234567892", "gs1:certificationInfo", "https://a.example/cert"},
	    {"06901234567892", "gs1:pip", "https://a.example/tea"},
	    {"09506000134352", "gs1:recipeInfo", "https://a.example/r"},
	};
	const struct links_link *l;
	(void)state;
	PGresult *r = result(rows, 4);
	struct links_snapshot *s = links_snapshot_from_result(r);
	PQclear(r);
	assert_non_null(s);
	assert_int_equal(links_snapshot_find(s, "06901234567892", &l), 2);
	assert_int_equal(l[0].type, DL_LT_CERTIFICATION);
	assert_int_equal(l[1].type, DL_LT_PIP);
	assert_string_equal(l[1].href, "https://a.example/tea");
	assert_string_equal(l[1].product, "Green tea");
	assert_int_equal(links_snapshot_find(s, "00000096385074", &l), 1);
	assert_int_equal(links_snapshot_find(s, "09506000134352", &l), 1);
	assert_int_equal(links_snapshot_find(s, "04006381333931", &l), 0);
	assert_null(l);
	links_snapshot_unref(s);
}

static void test_an_empty_load_finds_nothing(void **state)
{
	const struct links_link *l;
	(void)state;
	PGresult *r = result(NULL, 0);
	struct links_snapshot *s = links_snapshot_from_result(r);
	PQclear(r);
	assert_non_null(s);
	assert_int_equal(links_snapshot_find(s, "06901234567892", &l), 0);
	links_snapshot_unref(s);
}

static void test_a_malformed_load_is_refused(void **state)
{
	const char *unsorted[][3] = {
	    {"06901234567892", "gs1:pip", "https://a.example/tea"},
	    {"00000096385074", "gs1:pip", "https://a.example/mini"},
	};
	const char *ours[][3] = {{"06901234567892", "gs1:defaultLink", "https://a.example"}};
	const char *unknown[][3] = {{"06901234567892", "gs1:nothing", "https://a.example"}};
	const char *short_gtin[][3] = {{"6901234567892", "gs1:pip", "https://a.example"}};
	(void)state;
	PGresult *r = result(unsorted, 2);
	assert_null(links_snapshot_from_result(r));
	PQclear(r);
	r = result(ours, 1);
	assert_null(links_snapshot_from_result(r));
	PQclear(r);
	r = result(unknown, 1);
	assert_null(links_snapshot_from_result(r));
	PQclear(r);
	r = result(short_gtin, 1);
	assert_null(links_snapshot_from_result(r));
	PQclear(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_links_are_found_by_gtin),
	    cmocka_unit_test(test_an_empty_load_finds_nothing),
	    cmocka_unit_test(test_a_malformed_load_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
