/*
 * test_url.c: GTIN check digits, hosts, the two URL forms as exact strings,
 * and the GS1 Digital Link path parser against real and hostile paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

/* ---- GTIN ---------------------------------------------------------------- */

static void test_real_gtins_normalize_to_14_digits(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"4006381333931", "04006381333931"},  /* EAN-13 */
	    {"9780306406157", "09780306406157"},  /* ISBN-13 */
	    {"036000291452", "00036000291452"},   /* UPC-A */
	    {"96385074", "00000096385074"},       /* EAN-8 */
	    {"10614141000415", "10614141000415"}, /* GTIN-14 */
	    {"09521234543213", "09521234543213"}, /* GTIN-14 with a leading zero */
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char out[GTIN_LEN + 1], err[128] = "";
		assert_int_equal(gtin_normalize(cases[i].in, out, err, sizeof err), 0);
		assert_string_equal(out, cases[i].out);
	}
}

static void test_wrong_check_digit_is_rejected_with_the_expected_digit(void **state)
{
	char out[GTIN_LEN + 1], err[128];
	(void)state;
	assert_int_equal(gtin_normalize("4006381333932", out, err, sizeof err), -1);
	assert_string_equal(err, "GTIN check digit is 2, expected 1");
	assert_int_equal(gtin_normalize("9780306406150", out, err, sizeof err), -1);
	assert_string_equal(err, "GTIN check digit is 0, expected 7");
	assert_int_equal(gtin_normalize("96385070", out, err, sizeof err), -1);
	assert_string_equal(err, "GTIN check digit is 0, expected 4");
}

static void test_every_wrong_check_digit_is_rejected(void **state)
{
	char gtin[] = "4006381333931", out[GTIN_LEN + 1];
	(void)state;
	for (char d = '0'; d <= '9'; d++) {
		gtin[12] = d;
		assert_int_equal(gtin_normalize(gtin, out, NULL, 0), d == '1' ? 0 : -1);
	}
}

static void test_gtin_of_wrong_length_or_with_non_digits_is_rejected(void **state)
{
	static const char *lengths[] = {
	    "",          "1",           "9638507",         "963850744",
	    "963850740", "12345678901", "123456789012345", "12345678901234567890"};
	static const char *non_digits[] = {"400638133393a", " 4006381333931", "4006381333931 ",
	                                   "4006-381333931", "+96385074"};
	char out[GTIN_LEN + 1], err[128];
	(void)state;
	for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
		err[0] = '\0';
		assert_int_equal(gtin_normalize(lengths[i], out, err, sizeof err), -1);
		assert_string_equal(err, "GTIN must be 8, 12, 13 or 14 digits");
	}
	for (size_t i = 0; i < sizeof non_digits / sizeof non_digits[0]; i++) {
		assert_int_equal(gtin_normalize(non_digits[i], out, err, sizeof err), -1);
		assert_string_equal(err, "GTIN must be digits only");
	}
	assert_int_equal(gtin_normalize(NULL, out, err, sizeof err), -1);
}

/* ---- hosts --------------------------------------------------------------- */

static void test_dns_names_and_ipv4_with_ports_are_valid_hosts(void **state)
{
	static const char *good[] = {
	    "example.com",
	    "packcode.example.com",
	    "localhost",
	    "a",
	    "x-1.b2.example",
	    "SCAN.BRAND.EXAMPLE",
	    "example.com:8443",
	    "localhost:1",
	    "localhost:65535",
	    "127.0.0.1",
	    "127.0.0.1:8080",
	    "0.0.0.0",
	    "255.255.255.255",
	    "1.example",
	    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk.com", /* 63 */
	};
	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		if (host_valid(good[i]) != 0)
			fail_msg("host \"%s\" should be valid", good[i]);
}

static void test_hosts_with_schemes_paths_users_or_bad_labels_are_rejected(void **state)
{
	static const char *bad[] = {
	    "",
	    "https://example.com",
	    "example.com/",
	    "example.com/c",
	    "user@example.com",
	    "exa mple.com",
	    "example.com.",
	    ".example.com",
	    "example..com",
	    "-example.com",
	    "example-.com",
	    "exam_ple.com",
	    "example.com:",
	    "example.com:0",
	    "example.com:65536",
	    "example.com:080",
	    "example.com:1:2",
	    ":80",
	    "[::1]",
	    "[::1]:80",
	    "256.1.1.1",
	    "1.2.3",
	    "1.2.3.4.5",
	    "01.2.3.4",
	    "1.2.3.4:99999",
	    "123",
	    "example.123",
	    "exa\tmple.com",
	    "example.com?x",
	    "example.com#x",
	    "ex\xc3\xa4mple.com",
	    "%65xample.com",
	    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl.com", /* 64 */
	};
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (host_valid(bad[i]) != -1)
			fail_msg("host \"%s\" should be rejected", bad[i]);
	assert_int_equal(host_valid(NULL), -1);
}

static void test_host_longer_than_host_max_is_rejected(void **state)
{
	char host[HOST_MAX + 2];
	(void)state;
	/* labels "aaaaaaaaa." repeated: a valid name of any length */
	for (size_t i = 0; i < sizeof host - 1; i++)
		host[i] = i % 10 == 9 ? '.' : 'a';
	host[HOST_MAX - 1] = 'a';
	host[HOST_MAX] = '\0';
	assert_int_equal(host_valid(host), 0);
	host[HOST_MAX] = 'a';
	host[HOST_MAX + 1] = '\0';
	assert_int_equal(host_valid(host), -1);
}

/* ---- URLs ---------------------------------------------------------------- */

static void test_short_url_is_upper_case(void **state)
{
	char url[URL_MAX];
	(void)state;
	assert_int_equal(url_short(url, sizeof url, "scan.example.com", "7k3f9abcdefghjkmnpq4"),
	                 (int)strlen("HTTPS://SCAN.EXAMPLE.COM/C/7K3F9ABCDEFGHJKMNPQ4"));
	assert_string_equal(url, "HTTPS://SCAN.EXAMPLE.COM/C/7K3F9ABCDEFGHJKMNPQ4");
	assert_int_equal(url_short(url, sizeof url, "localhost:8080", "ABC"),
	                 (int)strlen("HTTPS://LOCALHOST:8080/C/ABC"));
	assert_string_equal(url, "HTTPS://LOCALHOST:8080/C/ABC");
}

static void test_short_url_rejects_bad_parts_and_small_buffers(void **state)
{
	char url[URL_MAX], small[28];
	(void)state;
	assert_int_equal(url_short(url, sizeof url, "bad host", "ABC"), -1);
	assert_int_equal(url_short(url, sizeof url, "example.com", ""), -1);
	assert_int_equal(url_short(url, sizeof url, "example.com", "ABC-DEF"), -1);
	assert_int_equal(url_short(url, sizeof url, "example.com", "ABC/../X"), -1);
	assert_int_equal(url_short(url, sizeof url, "example.com", "ABCDEFGHJKMNPQRSTVWXY"), -1);
	assert_int_equal(url_short(url, sizeof url, "example.com", NULL), -1);
	/* "HTTPS://EXAMPLE.COM/C/ABCDE" is 27 characters: it fits in 28, not in 27 */
	assert_int_equal(url_short(small, sizeof small, "example.com", "ABCDE"), 27);
	assert_int_equal(url_short(small, sizeof small - 1, "example.com", "ABCDE"), -1);
	assert_string_equal(small, "");
}

static void test_digital_link_exact_strings(void **state)
{
	char url[URL_MAX];
	int n;
	(void)state;
	n = url_digital_link(url, sizeof url, "Scan.Example.COM", "4006381333931",
	                     "7K3F9ABCDEFGHJKMNPQ4", NULL, NULL);
	assert_int_equal(n, (int)strlen(url));
	assert_string_equal(url,
	                    "https://scan.example.com/01/04006381333931/21/7K3F9ABCDEFGHJKMNPQ4");

	assert_true(url_digital_link(url, sizeof url, "example.com", "96385074", "ABC", "L42",
	                             "261231") > 0);
	assert_string_equal(url, "https://example.com/01/00000096385074/10/L42/21/ABC?17=261231");

	assert_true(url_digital_link(url, sizeof url, "example.com:8443", "09521234543213", "s1",
	                             NULL, "280200") > 0);
	assert_string_equal(url, "https://example.com:8443/01/09521234543213/21/s1?17=280200");
}

static void test_digital_link_percent_encodes_what_a_uri_needs(void **state)
{
	char url[URL_MAX];
	(void)state;
	assert_true(url_digital_link(url, sizeof url, "example.com", "4006381333931", "A/B?C",
	                             "x%y&z 1", NULL) < 0); /* space is not in GS1 set 82 */
	assert_true(url_digital_link(url, sizeof url, "example.com", "4006381333931", "A/B?C",
	                             "x%y&z#", NULL) < 0); /* neither is '#' */
	assert_true(url_digital_link(url, sizeof url, "example.com", "4006381333931", "A/B?C",
	                             "x%y&z\"<>", NULL) > 0);
	assert_string_equal(url, "https://example.com/01/04006381333931/10/x%25y%26z%22%3C%3E"
	                         "/21/A%2FB%3FC");
	assert_true(url_digital_link(url, sizeof url, "example.com", "4006381333931", "a-b.c_d",
	                             "!'()*+,:;=", NULL) > 0);
	assert_string_equal(url, "https://example.com/01/04006381333931/10/%21%27%28%29%2A%2B%2C"
	                         "%3A%3B%3D/21/a-b.c_d");
}

static void test_digital_link_rejects_bad_gtin_lot_serial_and_expiry(void **state)
{
	char url[URL_MAX], small[40];
	const char *h = "example.com", *g = "4006381333931";
	(void)state;
	assert_int_equal(url_digital_link(url, sizeof url, h, "4006381333932", "A", NULL, NULL),
	                 -1);
	assert_int_equal(url_digital_link(url, sizeof url, "http://x", g, "A", NULL, NULL), -1);
	assert_int_equal(url_digital_link(url, sizeof url, h, g, "", NULL, NULL), -1);
	assert_int_equal(url_digital_link(url, sizeof url, h, g, "..", NULL, NULL), -1);
	assert_int_equal(url_digital_link(url, sizeof url, h, g, "A", ".", NULL), -1);
	assert_int_equal(url_digital_link(url, sizeof url, h, g, "A", "", NULL), -1);
	assert_int_equal(
	    url_digital_link(url, sizeof url, h, g, "A", "123456789012345678901", NULL), -1);
	assert_true(url_digital_link(url, sizeof url, h, g, "A", "12345678901234567890", NULL) > 0);
	assert_int_equal(url_digital_link(url, sizeof url, h, g, "A", "lot\xc3\xa9", NULL), -1);
	assert_int_equal(url_digital_link(url, sizeof url, h, g, "A", NULL, "261332"), -1);
	assert_int_equal(url_digital_link(url, sizeof url, h, g, "A", NULL, "26123"), -1);
	assert_int_equal(url_digital_link(small, sizeof small, h, g, "ABC", NULL, NULL), -1);
	assert_string_equal(small, "");
}

static void test_expiry_dates_follow_the_calendar(void **state)
{
	static const char *good[] = {"261231", "260100", "280229", "000229", "990430", "250228"};
	static const char *bad[] = {"261301", "260001",  "260132", "270229", "260431",
	                            "26123a", "2612310", "26-231", ""};
	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		if (dl_expiry_valid(good[i]) != 0)
			fail_msg("expiry %s should be valid", good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (dl_expiry_valid(bad[i]) != -1)
			fail_msg("expiry \"%s\" should be rejected", bad[i]);
}

/* ---- Digital Link paths -------------------------------------------------- */

static int parse(const char *path, struct dl_path *out)
{
	return dl_parse_path(path, strlen(path), out);
}

/* The path of an absolute URL: from the first '/' after "scheme://". */
static const char *path_of(const char *url)
{
	const char *p = strstr(url, "://");
	assert_non_null(p);
	p = strchr(p + 3, '/');
	assert_non_null(p);
	return p;
}

static void test_digital_link_round_trips_through_the_path_parser(void **state)
{
	static const struct {
		const char *gtin, *code, *lot, *expiry, *gtin14;
	} cases[] = {
	    {"4006381333931", "7K3F9ABCDEFGHJKMNPQ4", NULL, NULL, "04006381333931"},
	    {"036000291452", "7K3F9ABCDEFGHJKMNPQ4", "B2026-07", "271130", "00036000291452"},
	    {"96385074", "a/b?c#", NULL, NULL, NULL}, /* '#' is not GS1: no URL */
	    {"96385074", "a/b?c%d", "!\"%&'()*+,-./:;<=>?_", "260100", "00000096385074"},
	    {"10614141000415", "...", "x", NULL, "10614141000415"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char url[URL_MAX];
		struct dl_path p;
		int n = url_digital_link(url, sizeof url, "example.com", cases[i].gtin,
		                         cases[i].code, cases[i].lot, cases[i].expiry);
		if (!cases[i].gtin14) {
			assert_int_equal(n, -1);
			continue;
		}
		assert_true(n > 0);
		assert_int_equal(parse(path_of(url), &p), 0);
		assert_string_equal(p.gtin, cases[i].gtin14);
		assert_string_equal(p.code, cases[i].code);
		assert_string_equal(p.lot, cases[i].lot ? cases[i].lot : "");
	}
}

static void test_path_parser_decodes_escapes_in_either_case_and_ignores_the_query(void **state)
{
	struct dl_path p;
	(void)state;
	assert_int_equal(parse("/01/4006381333931/21/AB%2fc%2F%41?17=261231&x=/../%00", &p), 0);
	assert_string_equal(p.gtin, "04006381333931");
	assert_string_equal(p.code, "AB/c/A");
	assert_string_equal(p.lot, "");
	assert_int_equal(parse("/01/96385074/21/S1/10/LOT-1", &p), 0);
	assert_string_equal(p.code, "S1");
	assert_string_equal(p.lot, "LOT-1");
	assert_int_equal(parse("/01/96385074/10/L%3b2/21/S1?", &p), 0);
	assert_string_equal(p.lot, "L;2");
	assert_string_equal(p.code, "S1");
}

static void test_path_parser_reads_no_further_than_len(void **state)
{
	const char full[] = "/01/4006381333931/21/ABC/10/LOT";
	char *exact;
	struct dl_path p;
	(void)state;
	/* cut before "/10/LOT": no lot */
	assert_int_equal(dl_parse_path(full, strlen("/01/4006381333931/21/ABC"), &p), 0);
	assert_string_equal(p.code, "ABC");
	assert_string_equal(p.lot, "");
	/* cut inside the serial */
	assert_int_equal(dl_parse_path(full, strlen("/01/4006381333931/21/A"), &p), 0);
	assert_string_equal(p.code, "A");
	/* a buffer without a terminating NUL (ASan builds catch any read past it) */
	exact = malloc(sizeof full - 1);
	assert_non_null(exact);
	memcpy(exact, full, sizeof full - 1);
	assert_int_equal(dl_parse_path(exact, sizeof full - 1, &p), 0);
	assert_string_equal(p.lot, "LOT");
	assert_int_equal(dl_parse_path(exact, strlen("/01/4006381333931/21/ABC/10/"), &p), -1);
	free(exact);
}

static void test_hostile_paths_are_rejected(void **state)
{
	static const char *bad[] = {
	    "",
	    "/",
	    "//",
	    "01/4006381333931/21/ABC",
	    "/01",
	    "/01/4006381333931",
	    "/01/4006381333931/21",
	    "/01/4006381333931/21/",
	    "/01/4006381333931/21/ABC/",
	    "/01/4006381333932/21/ABC", /* check digit */
	    "/01/400638133393/21/ABC",  /* 12 digits that are no UPC-A */
	    "/01/04006381333931x/21/ABC",
	    "/01/00004006381333931/21/ABC",
	    "/02/4006381333931/21/ABC",
	    "/01/4006381333931/22/ABC",
	    "/01/4006381333931/10/LOT",        /* no serial */
	    "/01/4006381333931/21/ABC/21/DEF", /* serial twice */
	    "/01/4006381333931/10/L/10/M",     /* lot twice */
	    "/01/4006381333931/21/ABC/10/LOT/17/261231",
	    "/01/4006381333931/21/ABC/10",
	    "/01/4006381333931/21/ABCDEFGHJKMNPQRSTVWXY",      /* 21 characters */
	    "/01/4006381333931/21/A/10/123456789012345678901", /* lot of 21 */
	    "/01/4006381333931/21/%41%42%43%44%45%46%47%48%49%4a%4b%4c%4d%4e%4f%50%51%52%53%54%55",
	    "/01/4006381333931/21/AB%00C",
	    "/01/4006381333931/21/AB%0aC",
	    "/01/4006381333931/21/AB%20C",
	    "/01/4006381333931/21/AB C",
	    "/01/4006381333931/21/AB%",
	    "/01/4006381333931/21/AB%4",
	    "/01/4006381333931/21/AB%4g",
	    "/01/4006381333931/21/AB%%41",
	    "/01/4006381333931/21/AB%C3%A9",
	    "/01/4006381333931/21/AB\xc3\xa9",
	    "/01/4006381333931/21/AB\x7f",
	    "/01/4006381333931/21/AB#frag",
	    "/01/4006381333931/21/AB%23",
	    "/01/4006381333931/21/..",
	    "/01/4006381333931/21/%2e%2E",
	    "/01/4006381333931/21/.",
	    "/01/4006381333931/21/A/10/..",
	    "/01/4006381333931//21/ABC",
	    "/01/4006381333931/21//ABC",
	    "\\01\\4006381333931\\21\\ABC",
	    "/c/7K3F9ABCDEFGHJKMNPQ4",
	    "/01/4006381333931/21/A~B",
	    "/01/4006381333931/21/A\\B",
	};
	struct dl_path p;
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (parse(bad[i], &p) != -1)
			fail_msg("path \"%s\" should be rejected", bad[i]);
}

static void test_path_with_an_embedded_nul_is_rejected(void **state)
{
	const char path[] = "/01/4006381333931/21/AB\0C";
	struct dl_path p;
	(void)state;
	assert_int_equal(dl_parse_path(path, sizeof path - 1, &p), -1);
	assert_int_equal(dl_parse_path(NULL, 10, &p), -1);
	assert_int_equal(dl_parse_path(path, 0, &p), -1);
}

static void test_rejected_path_leaves_the_output_untouched(void **state)
{
	struct dl_path p;
	(void)state;
	memset(&p, 'Z', sizeof p);
	assert_int_equal(parse("/01/4006381333931/21/ABC/10/%00", &p), -1);
	for (size_t i = 0; i < sizeof p; i++)
		assert_int_equal(((unsigned char *)&p)[i], 'Z');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_real_gtins_normalize_to_14_digits),
	    cmocka_unit_test(test_wrong_check_digit_is_rejected_with_the_expected_digit),
	    cmocka_unit_test(test_every_wrong_check_digit_is_rejected),
	    cmocka_unit_test(test_gtin_of_wrong_length_or_with_non_digits_is_rejected),
	    cmocka_unit_test(test_dns_names_and_ipv4_with_ports_are_valid_hosts),
	    cmocka_unit_test(test_hosts_with_schemes_paths_users_or_bad_labels_are_rejected),
	    cmocka_unit_test(test_host_longer_than_host_max_is_rejected),
	    cmocka_unit_test(test_short_url_is_upper_case),
	    cmocka_unit_test(test_short_url_rejects_bad_parts_and_small_buffers),
	    cmocka_unit_test(test_digital_link_exact_strings),
	    cmocka_unit_test(test_digital_link_percent_encodes_what_a_uri_needs),
	    cmocka_unit_test(test_digital_link_rejects_bad_gtin_lot_serial_and_expiry),
	    cmocka_unit_test(test_expiry_dates_follow_the_calendar),
	    cmocka_unit_test(test_digital_link_round_trips_through_the_path_parser),
	    cmocka_unit_test(test_path_parser_decodes_escapes_in_either_case_and_ignores_the_query),
	    cmocka_unit_test(test_path_parser_reads_no_further_than_len),
	    cmocka_unit_test(test_hostile_paths_are_rejected),
	    cmocka_unit_test(test_path_with_an_embedded_nul_is_rejected),
	    cmocka_unit_test(test_rejected_path_leaves_the_output_untouched),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
