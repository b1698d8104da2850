/*
 * test_zpl.c: codegen/print/zpl.c, thermal labels as ZPL II: field data
 * escapes the command prefixes ^ and ~ (and then _) through ^FH; a label is
 * one ^XA...^XZ format whose ^BQ field holds the URL after the error
 * correction and input mode; the layout keeps the QR with its quiet zone,
 * the code and the PIN inside the label at every resolution, and refuses a
 * magnification that does not fit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "print/zpl.h"

static const char *short_url = "HTTPS://PACK.EXAMPLE.COM/C/08NDYQW9146XWQN1ANSB";
static const char *grouped = "08NDY-QW914-6XWQN-1ANSB";

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Every ^ in out starts one of the commands a label is made of: none came from the data. */
static int only_commands(const char *out)
{
	static const char *known[] = {"XA", "PW", "LL", "LH", "FO", "BQ", "FH",
	                              "FD", "FS", "A0", "FB", "GB", "XZ"};
	for (const char *p = out; (p = strchr(p, '^')); p++) {
		size_t i = 0;
		while (i < sizeof known / sizeof *known && strncmp(p + 1, known[i], 2) != 0)
			i++;
		if (i == sizeof known / sizeof *known) {
			print_error("unexpected ^ at \"%.20s\"\n", p);
			return 0;
		}
	}
	return 1;
}

static struct zpl_options options(unsigned dpi, enum label_pin pin)
{
	struct zpl_options z = {.dpi = dpi, .quiet = 4, .ecc = QR_ECC_Q, .pin = pin};
	return z;
}

/* ---- field data ---------------------------------------------------------- */

static void test_field_data_without_caret_or_tilde_is_copied_as_is(void **state)
{
	char out[128];
	int hex = 7;
	(void)state;
	const char *url = "https://x.example/01/04006381333931/10/A_B%2F7/21/CODE?17=271231";
	assert_int_equal(zpl_field_data(url, out, sizeof out, &hex), strlen(url));
	assert_string_equal(out, url);
	assert_int_equal(hex, 0); /* _ is an ordinary character without ^FH */
}

static void test_caret_tilde_and_underscore_become_hex_escapes(void **state)
{
	char out[128];
	int hex = 0;
	(void)state;
	assert_int_equal(zpl_field_data("a^b~c_d", out, sizeof out, &hex), 13);
	assert_string_equal(out, "a_5Eb_7Ec_5Fd");
	assert_int_equal(hex, 1);
	assert_true(zpl_field_data("line\nbreak", out, sizeof out, &hex) > 0);
	assert_string_equal(out, "line_0Abreak");
	assert_int_equal(hex, 1);
}

static void test_field_data_that_does_not_fit_is_refused(void **state)
{
	char out[8];
	int hex;
	(void)state;
	assert_int_equal(zpl_field_data("1234567", out, sizeof out, &hex), 7);
	assert_int_equal(zpl_field_data("12345678", out, sizeof out, &hex), 0);
	assert_int_equal(zpl_field_data("12^4", out, 6, &hex), 0); /* "12_5E4" + NUL is 7 */
	assert_int_equal(zpl_field_data("12^4", out, 7, &hex), 6);
}

/* ---- labels -------------------------------------------------------------- */

static void test_a_label_is_one_format_with_the_url_in_bq_and_the_code_under_it(void **state)
{
	struct zpl_options z = options(203, LABEL_PIN_NONE);
	char err[256], out[ZPL_LABEL_MAX], want[256];
	(void)state;
	assert_int_equal(zpl_layout(&z, 29, err, sizeof err), 0);
	size_t n = zpl_label(&z, short_url, grouped, NULL, out, sizeof out);
	assert_int_equal(n, strlen(out));
	assert_int_equal(strncmp(out, "^XA\n", 4), 0);
	assert_string_equal(out + n - 4, "^XZ\n");
	assert_int_equal(count(out, "^XA"), 1);
	assert_int_equal(count(out, "^XZ"), 1);
	assert_non_null(strstr(out, "^PW406^LL406"));
	/* model 2, the magnification, ECC Q; the data: Q (ECC) A (automatic), a comma */
	snprintf(want, sizeof want, "^BQN,2,%u,Q^FDQA,%s^FS", z.magnification, short_url);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof want, "^A0N,%u,%u^FB%u,1,0,C,0^FD%s^FS", z.text_h, z.text_h,
	         406 - 2 * z.pad, grouped);
	assert_non_null(strstr(out, want));
	assert_null(strstr(out, "^FH"));
	assert_null(strstr(out, "PIN"));
	assert_true(only_commands(out));
}

static void test_a_url_holding_a_caret_or_tilde_goes_through_fh(void **state)
{
	struct zpl_options z = options(203, LABEL_PIN_NONE);
	char err[256], out[ZPL_LABEL_MAX];
	(void)state;
	z.ecc = QR_ECC_M;
	assert_int_equal(zpl_layout(&z, 37, err, sizeof err), 0);
	assert_true(zpl_label(&z, "https://x.example/01/1/10/L~1_^/21/C", grouped, NULL, out,
	                      sizeof out) > 0);
	assert_non_null(strstr(out, ",M^FH_^FDMA,https://x.example/01/1/10/L_7E1_5F_5E/21/C^FS"));
	assert_int_equal(count(out, "~"), 0);
	assert_true(only_commands(out));
}

static void test_default_labels_are_2_inches_and_hold_everything_at_each_dpi(void **state)
{
	static const unsigned dpis[] = {203, 300, 600};
	static const enum label_pin pins[] = {LABEL_PIN_NONE, LABEL_PIN_FIELD, LABEL_PIN_SCRATCH};
	char err[256];
	(void)state;
	for (size_t i = 0; i < 3; i++)
		for (size_t j = 0; j < 3; j++) {
			struct zpl_options z = options(dpis[i], pins[j]);
			assert_int_equal(zpl_layout(&z, 33, err, sizeof err), 0);
			unsigned m = z.magnification, q = 4 * m;
			assert_int_equal(z.width, 2 * dpis[i]);
			assert_int_equal(z.height, 2 * dpis[i]);
			assert_true(m >= 1 && m <= ZPL_MAG_MAX);
			assert_true(z.qr_x >= q && z.qr_x + 33 * m + q <= z.width);
			assert_true(z.qr_y >= q);
			assert_true(z.text_y >= z.qr_y + 33 * m + q);
			assert_true(z.text_y + z.text_h <= z.height - z.pad);
			if (pins[j] != LABEL_PIN_NONE) {
				assert_true(z.pin_y >= z.text_y + z.text_h);
				assert_true(z.pin_y + z.pin_h <= z.height - z.pad);
			}
			if (pins[j] == LABEL_PIN_SCRATCH)
				assert_true(z.box_x + z.box_w <= z.width - z.pad);
		}
	/* at 203 dpi a version 4 symbol with its quiet zone takes 8 dots a module */
	struct zpl_options z = options(203, LABEL_PIN_NONE);
	assert_int_equal(zpl_layout(&z, 33, err, sizeof err), 0);
	assert_int_equal(z.magnification, 8);
}

static void test_a_magnification_that_does_not_fit_is_refused(void **state)
{
	struct zpl_options z = options(203, LABEL_PIN_NONE);
	char err[256] = "";
	(void)state;
	z.width = 406;
	z.height = 203;
	z.magnification = 10;
	assert_int_equal(zpl_layout(&z, 29, err, sizeof err), -1);
	assert_non_null(strstr(err, "406x203-dot label has room for QR modules of 3 dots"));
	z.magnification = 3;
	assert_int_equal(zpl_layout(&z, 29, err, sizeof err), 0);
	z = options(203, LABEL_PIN_NONE);
	z.width = z.height = 100;
	assert_int_equal(zpl_layout(&z, 29, err, sizeof err), -1);
}

static void test_pins_print_as_a_field_or_in_a_box_for_a_scratch_off(void **state)
{
	char err[256], out[ZPL_LABEL_MAX], want[128];
	(void)state;
	struct zpl_options z = options(300, LABEL_PIN_FIELD);
	assert_int_equal(zpl_layout(&z, 29, err, sizeof err), 0);
	assert_true(zpl_label(&z, short_url, grouped, "23299005", out, sizeof out) > 0);
	assert_non_null(strstr(out, "^FDPIN: 23299005^FS"));
	assert_null(strstr(out, "^GB"));

	z = options(300, LABEL_PIN_SCRATCH);
	assert_int_equal(zpl_layout(&z, 29, err, sizeof err), 0);
	assert_true(zpl_label(&z, short_url, grouped, "23299005", out, sizeof out) > 0);
	snprintf(want, sizeof want, "^FO%u,%u^GB%u,%u,", z.box_x, z.pin_y, z.box_w, z.box_h);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "^FDPIN^FS"));
	assert_non_null(strstr(out, "^FD23299005^FS"));
	/* a batch without PINs prints none whatever the style */
	assert_true(zpl_label(&z, short_url, grouped, NULL, out, sizeof out) > 0);
	assert_null(strstr(out, "PIN"));
}

static void test_label_sizes_parse_as_dots(void **state)
{
	unsigned w = 0, h = 0;
	(void)state;
	assert_int_equal(zpl_parse_dots("406x203", &w, &h), 0);
	assert_int_equal(w, 406);
	assert_int_equal(h, 203);
	static const char *bad[] = {
	    "",          "406",       "406x",    "x203",     "49x100",          "100x49",
	    "32001x100", "406x203x1", "40.6x20", "-406x203", "99999999999999x1"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (zpl_parse_dots(bad[i], &w, &h) == 0) {
			print_error("\"%s\" was accepted\n", bad[i]);
			fail();
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_field_data_without_caret_or_tilde_is_copied_as_is),
	    cmocka_unit_test(test_caret_tilde_and_underscore_become_hex_escapes),
	    cmocka_unit_test(test_field_data_that_does_not_fit_is_refused),
	    cmocka_unit_test(test_a_label_is_one_format_with_the_url_in_bq_and_the_code_under_it),
	    cmocka_unit_test(test_a_url_holding_a_caret_or_tilde_goes_through_fh),
	    cmocka_unit_test(test_default_labels_are_2_inches_and_hold_everything_at_each_dpi),
	    cmocka_unit_test(test_a_magnification_that_does_not_fit_is_refused),
	    cmocka_unit_test(test_pins_print_as_a_field_or_in_a_box_for_a_scratch_off),
	    cmocka_unit_test(test_label_sizes_parse_as_dots),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
