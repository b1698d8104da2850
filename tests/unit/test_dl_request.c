/*
 * test_dl_request.c: the resolver's side of lib/url.c: link types as
 * requests and brands write them, Digital Link requests (paths with every
 * qualifier order the standard allows, query AIs, linkType) and their
 * canonical URIs, a brand's link checked as the database checks it; and
 * SSCCs, the codes of cases and pallets (GS1 AI 00, Digital Link /00/).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "url.h"

static int req(const char *uri, struct dl_request *r)
{
	const char *q = strchr(uri, '?');
	size_t plen = q ? (size_t)(q - uri) : strlen(uri);
	return dl_parse_request(uri, plen, q ? q + 1 : "", q ? strlen(q + 1) : 0, r);
}

static void test_link_types_are_read_as_curie_or_iri(void **state)
{
	static const struct {
		const char *in;
		enum dl_link_type want;
	} cases[] = {
	    {"gs1:pip", DL_LT_PIP},
	    {"https://ref.gs1.org/voc/pip", DL_LT_PIP},
	    {"https://gs1.org/voc/certificationInfo", DL_LT_CERTIFICATION},
	    {"http://www.gs1.org/voc/verificationService", DL_LT_VERIFICATION},
	    {"gs1:defaultLink", DL_LT_DEFAULT},
	    {"linkset", DL_LT_LINKSET},
	    {"all", DL_LT_LINKSET},
	    {"gs1:Pip", DL_LT_UNKNOWN},
	    {"pip", DL_LT_UNKNOWN},
	    {"schema:pip", DL_LT_UNKNOWN},
	    {"gs1:", DL_LT_UNKNOWN},
	    {"", DL_LT_UNKNOWN},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		assert_int_equal(dl_link_type_parse(cases[i].in, strlen(cases[i].in)),
		                 cases[i].want);
	assert_string_equal(dl_link_type_term(DL_LT_PIP), "pip");
	assert_null(dl_link_type_term(DL_LT_LINKSET));
	for (int t = DL_LT_DEFAULT; t < DL_LT_COUNT; t++)
		assert_non_null(dl_link_type_term((enum dl_link_type)t));
}

static void test_every_qualifier_order_the_standard_allows_is_read(void **state)
{
	struct dl_request r;
	char uri[URL_MAX];
	(void)state;
	assert_int_equal(req("/01/96385074/22/V1/10/L%2F1/21/S1", &r), 0);
	assert_string_equal(r.key.gtin, "00000096385074");
	assert_string_equal(r.cpv, "V1");
	assert_string_equal(r.key.lot, "L/1");
	assert_string_equal(r.key.code, "S1");
	assert_true(dl_request_uri(uri, sizeof uri, "Pack.Example", &r) > 0);
	assert_string_equal(uri, "https://pack.example/01/00000096385074/22/V1/10/L%2F1/21/S1");
	/* the GTIN alone, with a lot, a trailing slash; the serial before the lot, as minted long
	 * ago */
	assert_int_equal(req("/01/036000291452", &r), 0);
	assert_string_equal(r.key.gtin, "00036000291452");
	assert_string_equal(r.key.code, "");
	assert_int_equal(req("/01/4006381333931/10/L1/", &r), 0);
	assert_string_equal(r.key.lot, "L1");
	assert_int_equal(req("/01/4006381333931/21/S/10/L", &r), 0);
	assert_true(dl_request_uri(uri, sizeof uri, "a.example:8443", &r) > 0);
	assert_string_equal(uri, "https://a.example:8443/01/04006381333931/10/L/21/S");
}

static void test_the_query_gives_link_type_and_data_attributes(void **state)
{
	struct dl_request r;
	(void)state;
	assert_int_equal(
	    req("/01/4006381333931/21/S?17=271231&linkType=gs1%3Apip&utm=x&3103=000500", &r), 0);
	assert_string_equal(r.expiry, "271231");
	assert_int_equal(r.link_type, DL_LT_PIP);
	assert_string_equal(r.link_type_text, "gs1:pip");
	assert_int_equal(req("/01/4006381333931/21/S?linkType=all", &r), 0);
	assert_int_equal(r.link_type, DL_LT_LINKSET);
	assert_int_equal(r.all, 1);
	assert_int_equal(req("/01/4006381333931/21/S?linkType=gs1:nothing", &r), 0);
	assert_int_equal(r.link_type, DL_LT_UNKNOWN);
	assert_int_equal(req("/01/4006381333931/21/S?linkType=gs1:pip&linkType=linkset", &r), 0);
	assert_int_equal(r.link_type, DL_LT_PIP); /* the first one */
	assert_int_equal(req("/01/4006381333931/21/S?&&x&=y", &r), 0);
	assert_int_equal(r.link_type, DL_LT_NONE);
}

static void test_uris_the_standard_rejects_are_refused(void **state)
{
	static const char *bad[] = {
	    "/01/4006381333931/21/S/22/V",      /* variant after the serial */
	    "/01/4006381333931/10/L/22/V/21/S", /* variant after the lot */
	    "/01/4006381333931/22/V/21/S/10/L", /* a lot after the serial, with a variant */
	    "/01/4006381333932/21/S",           /* check digit */
	    "/01/4006381333931/21/S/21/T",
	    "/01/4006381333931/99/X",
	    "/01/4006381333931/21",
	    "/01/4006381333931//",
	    "/01/",
	    "/01",
	    "/00/106141412345678908",
	    "/01/4006381333931/21/S?17=271399",
	    "/01/4006381333931/21/S?15=2712",
	    "/01/4006381333931/21/S?21=T",
	    "/01/4006381333931/21/S?10=L",
	    "/01/4006381333931/21/S?17=271231&17=271231",
	    "/01/4006381333931/21/S?99=",
	    "/01/4006381333931/21/S?99=a%20b",
	    "/01/4006381333931/21/S?99=%4",
	    "/01/4006381333931/21/S?linkType=%zz",
	    "/01/4006381333931/21/S/10/L/22/V/x/y",
	};
	struct dl_request r;
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (req(bad[i], &r) != -1)
			fail_msg("\"%s\" should be refused", bad[i]);
	assert_int_equal(dl_parse_request(NULL, 0, "", 0, &r), -1);
	assert_int_equal(dl_parse_request("/01/4006381333931", 17, NULL, 3, &r), -1);
}

static void test_a_request_is_read_no_further_than_its_lengths(void **state)
{
	static const char full[] = "/01/4006381333931/21/S1/10/L1?17=271231";
	char *path = malloc(23), *query = malloc(4);
	struct dl_request r;
	(void)state;
	assert_non_null(path);
	assert_non_null(query);
	memcpy(path, full, 23); /* "/01/4006381333931/21/S1" without a NUL */
	memcpy(query, "17=2", 4);
	assert_int_equal(dl_parse_request(path, 23, query, 0, &r), 0);
	assert_string_equal(r.key.code, "S1");
	assert_string_equal(r.key.lot, "");
	assert_int_equal(dl_parse_request(path, 23, query, 4, &r), -1); /* "17=2" is no date */
	free(path);
	free(query);
}

static void test_a_brands_link_is_checked_as_the_database_checks_it(void **state)
{
	enum dl_link_type t = DL_LT_NONE;
	char err[256];
	(void)state;
	assert_int_equal(dl_link_check("gs1:pip", "https://tea.example/p?x=1", "Green tea", "en",
	                               "text/html", &t, err, sizeof err),
	                 0);
	assert_int_equal(t, DL_LT_PIP);
	assert_int_equal(dl_link_check("certificationInfo", "https://a.example/c.pdf", "有机认证",
	                               "zh-CN", "application/pdf", &t, err, sizeof err),
	                 0);
	assert_int_equal(t, DL_LT_CERTIFICATION);
	assert_int_equal(dl_link_check("https://gs1.org/voc/recipeInfo", "https://a.example", "r",
	                               "", "text/html", &t, err, sizeof err),
	                 0);
	static const struct {
		const char *type, *href, *title, *lang, *media, *says;
	} bad[] = {
	    {"gs1:defaultLink", "https://a.example", "t", "", "text/html", "link type"},
	    {"gs1:verificationService", "https://a.example", "t", "", "text/html", "link type"},
	    {"gs1:made", "https://a.example", "t", "", "text/html", "link type"},
	    {"pip", "http://a.example", "t", "", "text/html", "href"},
	    {"pip", "https://a.example/a b", "t", "", "text/html", "href"},
	    {"pip", "https://a.example/<x>", "t", "", "text/html", "href"},
	    {"pip", "https://", "t", "", "text/html", "href"},
	    {"pip", "https://a.example/\xc3\xa9", "t", "", "text/html", "href"},
	    {"pip", "https://a.example", "", "", "text/html", "title"},
	    {"pip", "https://a.example", "a\"b", "", "text/html", "title"},
	    {"pip", "https://a.example", "a\nb", "", "text/html", "title"},
	    {"pip", "https://a.example", "\xc3", "", "text/html", "title"},
	    {"pip", "https://a.example", "\xed\xa0\x80", "", "text/html", "title"},
	    {"pip", "https://a.example", "t", "english", "text/html", "hreflang"},
	    {"pip", "https://a.example", "t", "e", "text/html", "hreflang"},
	    {"pip", "https://a.example", "t", "en-", "text/html", "hreflang"},
	    {"pip", "https://a.example", "t", "", "text", "type"},
	    {"pip", "https://a.example", "t", "", "Text/HTML", "type"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		if (dl_link_check(bad[i].type, bad[i].href, bad[i].title, bad[i].lang, bad[i].media,
		                  &t, err, sizeof err) != -1)
			fail_msg("case %zu should be refused", i);
		if (!strstr(err, bad[i].says))
			fail_msg("case %zu: \"%s\" does not name %s", i, err, bad[i].says);
	}
	char title[DL_TITLE_MAX + 2];
	memset(title, 'x', sizeof title - 1);
	title[sizeof title - 1] = '\0';
	assert_int_equal(
	    dl_link_check("pip", "https://a.example", title, "", "text/html", &t, err, sizeof err),
	    -1);
}

static void test_an_sscc_is_extension_prefix_reference_and_check_digit(void **state)
{
	char sscc[SSCC_LEN + 1], err[160], url[URL_MAX];
	(void)state;
	/* GS1's own example (General Specifications; id.gs1.org/00/106141412345678908) */
	assert_int_equal(sscc_make(sscc, 1, "0614141", 234567890, err, sizeof err), 0);
	assert_string_equal(sscc, "106141412345678908");
	assert_int_equal(sscc_valid(sscc, err, sizeof err), 0);
	/* the reference is zero padded to the digits the prefix leaves (these check digits
	 * are also the ones digital-link.js accepts) */
	assert_int_equal(sscc_make(sscc, 0, "6901234", 42, err, sizeof err), 0);
	assert_string_equal(sscc, "069012340000000429");
	assert_int_equal(sscc_valid(sscc, NULL, 0), 0);
	assert_int_equal(sscc_make(sscc, 9, "690123456789", 9999, err, sizeof err), 0);
	assert_string_equal(sscc, "969012345678999993");
	assert_int_equal(url_sscc(url, sizeof url, "Pack.Example", sscc), 42);
	assert_string_equal(url, "https://pack.example/00/969012345678999993");
}

static void test_an_sscc_that_cannot_be_is_refused(void **state)
{
	char sscc[SSCC_LEN + 1], err[160];
	(void)state;
	assert_int_equal(sscc_make(sscc, 9, "690123456789", 10000, err, sizeof err), -1);
	assert_non_null(strstr(err, "does not fit the 4 digits"));
	assert_int_equal(sscc_make(sscc, 10, "0614141", 1, err, sizeof err), -1);
	assert_non_null(strstr(err, "extension digit"));
	assert_int_equal(sscc_make(sscc, 1, "061", 1, err, sizeof err), -1);
	assert_int_equal(sscc_make(sscc, 1, "0614141234567", 1, err, sizeof err), -1);
	assert_int_equal(sscc_make(sscc, 1, "06141A1", 1, err, sizeof err), -1);
	assert_int_equal(sscc_make(sscc, 1, NULL, 1, err, sizeof err), -1);
	assert_int_equal(sscc_valid("106141412345678907", err, sizeof err), -1);
	assert_string_equal(err, "SSCC check digit is 7, expected 8");
	assert_int_equal(sscc_valid("10614141234567890", err, sizeof err), -1);
	assert_int_equal(sscc_valid("1061414123456789080", err, sizeof err), -1);
	assert_int_equal(sscc_valid("10614141234567890x", err, sizeof err), -1);
	assert_int_equal(sscc_valid(NULL, err, sizeof err), -1);
	char url[URL_MAX];
	assert_int_equal(url_sscc(url, sizeof url, "pack.example", "106141412345678907"), -1);
	assert_int_equal(url_sscc(url, sizeof url, "pack example", "106141412345678908"), -1);
	assert_int_equal(url_sscc(url, 20, "pack.example", "106141412345678908"), -1);
}

static void test_an_sscc_path_is_read(void **state)
{
	char sscc[SSCC_LEN + 1];
	static const char *bad[] = {
	    "/00/106141412345678907",
	    "/00/10614141234567890",
	    "/00/1061414123456789080",
	    "/00/10614141234567890a",
	    "/01/106141412345678908",
	    "/00/106141412345678908//",
	    "/00/",
	    "/00",
	    "",
	    "/00/106141412345678908/21/X",
	};
	(void)state;
	assert_int_equal(dl_parse_sscc_path("/00/106141412345678908", 22, sscc), 0);
	assert_string_equal(sscc, "106141412345678908");
	assert_int_equal(dl_parse_sscc_path("/00/106141412345678908/?linkType=all", 36, sscc), 0);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (dl_parse_sscc_path(bad[i], strlen(bad[i]), sscc) != -1)
			fail_msg("\"%s\" should be refused", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_link_types_are_read_as_curie_or_iri),
	    cmocka_unit_test(test_every_qualifier_order_the_standard_allows_is_read),
	    cmocka_unit_test(test_the_query_gives_link_type_and_data_attributes),
	    cmocka_unit_test(test_uris_the_standard_rejects_are_refused),
	    cmocka_unit_test(test_a_request_is_read_no_further_than_its_lengths),
	    cmocka_unit_test(test_a_brands_link_is_checked_as_the_database_checks_it),
	    cmocka_unit_test(test_an_sscc_is_extension_prefix_reference_and_check_digit),
	    cmocka_unit_test(test_an_sscc_that_cannot_be_is_refused),
	    cmocka_unit_test(test_an_sscc_path_is_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
