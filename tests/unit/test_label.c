/*
 * test_label.c: codegen/print/label.c, the geometry of label sheets: paper
 * and sizes parse strictly; a grid is derived from the label size or the
 * label size from the grid, and centred; labels go row by row; crop marks
 * stay off every label and off each other; a label's QR, text and PIN stack
 * inside it, and labels too small for them are refused with the reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "print/label.h"

#define MONO_EM 0.602 /* DejaVu Sans Mono's advance per character */

static void assert_mm(double got, double want)
{
	if (fabs(got - want) > 1e-6) {
		print_error("%f != %f\n", got, want);
		fail();
	}
}

static struct label_sheet a4(void)
{
	struct label_sheet s = {
	    .margin = LABEL_DEFAULT_MARGIN, .gap_x = LABEL_DEFAULT_GAP, .gap_y = LABEL_DEFAULT_GAP};
	assert_int_equal(label_parse_paper("A4", &s.width, &s.height), 0);
	return s;
}

/* ---- parsing ------------------------------------------------------------- */

static void test_paper_names_and_sizes_parse(void **state)
{
	double w = 0, h = 0;
	(void)state;
	assert_int_equal(label_parse_paper("a4", &w, &h), 0);
	assert_mm(w, 210);
	assert_mm(h, 297);
	assert_int_equal(label_parse_paper("Letter", &w, &h), 0);
	assert_mm(w, 215.9);
	assert_mm(h, 279.4);
	assert_int_equal(label_parse_paper("330x480", &w, &h), 0);
	assert_mm(w, 330);
	assert_mm(h, 480);
	assert_int_equal(label_parse_paper("100.5X150", &w, &h), 0);
	assert_mm(w, 100.5);
	assert_mm(h, 150);
}

static void test_sizes_that_are_not_plain_decimals_in_range_are_refused(void **state)
{
	static const char *bad[] = {"",       "A5",       "x100",     "100x",  "100",      "0x100",
	                            "-5x10",  "1e3x100",  "infx10",   "10x10", "3000x100", " 50x50",
	                            "50x50 ", "50,5x100", "50x50x50", ".x100"};
	double w = 7, h = 7;
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		if (label_parse_paper(bad[i], &w, &h) == 0) {
			print_error("paper \"%s\" was accepted\n", bad[i]);
			fail();
		}
	}
	assert_mm(w, 7); /* untouched */
	assert_int_equal(label_parse_size("40", 1, 10, 100, &w, &h), 0);
	assert_mm(w, 40);
	assert_mm(h, 40);
	assert_int_equal(label_parse_size("40", 0, 10, 100, &w, &h), -1);
	assert_int_equal(label_parse_size("4x6", 1, 0, 100, &w, &h), 0);
	assert_mm(w, 4);
	assert_mm(h, 6);
	assert_int_equal(label_parse_size("9x40", 0, 10, 100, &w, &h), -1);
}

static void test_grids_parse_as_columns_x_rows(void **state)
{
	unsigned c = 0, r = 0;
	(void)state;
	assert_int_equal(label_parse_grid("4x6", &c, &r), 0);
	assert_int_equal(c, 4);
	assert_int_equal(r, 6);
	assert_int_equal(label_parse_grid("100X1", &c, &r), 0);
	assert_int_equal(c, 100);
	assert_int_equal(r, 1);
	static const char *bad[] = {"",      "4",   "4x",    "x6",   "0x6",          "4x0",
	                            "101x1", "4*6", "4x6x1", "-4x6", "99999999999x1"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (label_parse_grid(bad[i], &c, &r) == 0) {
			print_error("grid \"%s\" was accepted\n", bad[i]);
			fail();
		}
}

/* ---- the grid ------------------------------------------------------------ */

static void test_a4_without_label_or_grid_takes_4x6_labels_of_40_mm_centred(void **state)
{
	struct label_sheet s = a4();
	char err[256];
	(void)state;
	assert_int_equal(label_sheet_layout(&s, err, sizeof err), 0);
	assert_int_equal(s.cols, 4);
	assert_int_equal(s.rows, 6);
	assert_mm(s.label_w, 40);
	assert_mm(s.label_h, 40);
	/* 4 x 40 + 3 x 4 = 172 of 210 mm; 6 x 40 + 5 x 4 = 260 of 297 mm */
	assert_mm(s.x0, 19);
	assert_mm(s.y0, 18.5);
	assert_int_equal(label_per_page(&s), 24);
}

static void test_a_label_size_alone_fits_as_many_as_fit(void **state)
{
	struct label_sheet s = a4();
	char err[256];
	(void)state;
	s.label_w = 63.5;
	s.label_h = 38.1;
	s.gap_x = 2.5;
	s.gap_y = 0;
	assert_int_equal(label_sheet_layout(&s, err, sizeof err), 0);
	assert_int_equal(s.cols, 2); /* 3 x 63.5 + 2 x 2.5 = 195.5 > 190 */
	assert_int_equal(s.rows, 7); /* 7 x 38.1 = 266.7 <= 277 */
	assert_mm(s.x0, (210 - 129.5) / 2);
	assert_mm(s.y0, (297 - 266.7) / 2);
}

static void test_labels_that_exactly_fill_the_margins_fit(void **state)
{
	struct label_sheet s = a4();
	char err[256];
	(void)state;
	s.label_w = 44.5; /* 4 x 44.5 + 3 x 4 = 190 exactly */
	s.label_h = 42;   /* 6 x 42 + 5 x 4 = 272 */
	assert_int_equal(label_sheet_layout(&s, err, sizeof err), 0);
	assert_int_equal(s.cols, 4);
	assert_mm(s.x0, 10);
}

static void test_a_grid_alone_shares_the_paper_inside_the_margins(void **state)
{
	struct label_sheet s = a4();
	char err[256];
	(void)state;
	s.cols = 3;
	s.rows = 8;
	s.gap_x = s.gap_y = 2;
	assert_int_equal(label_sheet_layout(&s, err, sizeof err), 0);
	assert_mm(s.label_w, (190 - 4) / 3.0);
	assert_mm(s.label_h, (277 - 14) / 8.0);
	assert_mm(s.x0, 10);
	assert_mm(s.y0, 10);
}

static void test_a_label_and_grid_that_do_not_fit_are_refused_with_the_sizes(void **state)
{
	struct label_sheet s = a4();
	char err[256] = "";
	(void)state;
	s.label_w = s.label_h = 50;
	s.cols = 4;
	s.rows = 5;
	assert_int_equal(label_sheet_layout(&s, err, sizeof err), -1);
	assert_non_null(strstr(err, "4x5 labels of 50x50 mm"));
	assert_non_null(strstr(err, "190x277 mm"));
	/* the same grid of 44 mm labels fits: 4 x 44 + 3 x 4 = 188 */
	s = a4();
	s.label_w = s.label_h = 44;
	s.cols = 4;
	s.rows = 5;
	assert_int_equal(label_sheet_layout(&s, err, sizeof err), 0);
}

static void test_a_grid_leaving_labels_under_10_mm_is_refused(void **state)
{
	struct label_sheet s = a4();
	char err[256] = "";
	(void)state;
	s.cols = 20;
	s.rows = 2;
	assert_int_equal(label_sheet_layout(&s, err, sizeof err), -1);
	assert_non_null(strstr(err, "20x2 grid leaves labels of"));
	s = a4();
	s.margin = 105;
	assert_int_equal(label_sheet_layout(&s, err, sizeof err), -1);
	assert_non_null(strstr(err, "margins"));
}

static void test_labels_go_row_by_row(void **state)
{
	struct label_sheet s = a4();
	char err[256];
	double x, y;
	(void)state;
	assert_int_equal(label_sheet_layout(&s, err, sizeof err), 0);
	label_position(&s, 0, &x, &y);
	assert_mm(x, 19);
	assert_mm(y, 18.5);
	label_position(&s, 3, &x, &y);
	assert_mm(x, 19 + 3 * 44);
	assert_mm(y, 18.5);
	label_position(&s, 4, &x, &y);
	assert_mm(x, 19);
	assert_mm(y, 18.5 + 44);
	label_position(&s, 23, &x, &y);
	assert_mm(x + s.label_w, 210 - 19);
	assert_mm(y + s.label_h, 297 - 18.5);
}

/* ---- crop marks ---------------------------------------------------------- */

static void test_crop_marks_take_3_mm_in_the_margin_and_half_their_gap_inside(void **state)
{
	struct label_sheet s = a4();
	char err[256];
	double off, len;
	(void)state;
	assert_int_equal(label_sheet_layout(&s, err, sizeof err), 0);
	/* the first label's left and top marks are in the margins */
	assert_true(label_crop_mark(&s, 0, 0, LABEL_LEFT, &off, &len));
	assert_mm(off, LABEL_MARK_OFFSET);
	assert_mm(len, LABEL_MARK_LEN);
	assert_true(off + len <= s.x0);
	assert_true(label_crop_mark(&s, 0, 0, LABEL_TOP, &off, &len));
	assert_true(off + len <= s.y0);
	assert_true(label_crop_mark(&s, 3, 5, LABEL_RIGHT, &off, &len));
	assert_mm(len, LABEL_MARK_LEN);
	assert_true(label_crop_mark(&s, 3, 5, LABEL_BOTTOM, &off, &len));
	assert_mm(len, LABEL_MARK_LEN);
	/* between two labels 4 mm apart: from 0.5 to 1.5 mm off each, 1 mm between */
	assert_true(label_crop_mark(&s, 0, 0, LABEL_RIGHT, &off, &len));
	assert_mm(off, 0.5);
	assert_mm(len, 1.0);
	double right = off + len;
	assert_true(label_crop_mark(&s, 1, 0, LABEL_LEFT, &off, &len));
	assert_true(right + off + len < s.gap_x);
	assert_true(label_crop_mark(&s, 1, 1, LABEL_TOP, &off, &len));
	assert_true(off + len < s.gap_y / 2 + 1e-9);
}

static void test_labels_that_touch_have_no_crop_marks_between_them(void **state)
{
	struct label_sheet s = a4();
	char err[256];
	double off, len;
	(void)state;
	s.gap_x = s.gap_y = 0;
	assert_int_equal(label_sheet_layout(&s, err, sizeof err), 0);
	assert_false(label_crop_mark(&s, 0, 0, LABEL_RIGHT, &off, &len));
	assert_false(label_crop_mark(&s, 1, 0, LABEL_LEFT, &off, &len));
	assert_false(label_crop_mark(&s, 1, 1, LABEL_TOP, &off, &len));
	assert_true(label_crop_mark(&s, 0, 0, LABEL_LEFT, &off, &len));
	assert_true(label_crop_mark(&s, 0, 0, LABEL_TOP, &off, &len));
	/* and none where the sheet leaves no margin */
	s = a4();
	s.margin = 0;
	s.gap_x = s.gap_y = 0;
	s.label_w = 52.5;
	s.label_h = 297.0 / 7;
	assert_int_equal(label_sheet_layout(&s, err, sizeof err), 0);
	assert_int_equal(s.cols, 4);
	assert_int_equal(s.rows, 7);
	assert_false(label_crop_mark(&s, 0, 0, LABEL_LEFT, &off, &len));
}

/* ---- inside a label ------------------------------------------------------ */

static void assert_inside(const struct label_content *c, double w, double h, enum label_pin pin)
{
	double text_w = 23 * MONO_EM * c->text_size;
	assert_true(c->qr_x >= c->pad - 1e-9 && c->qr_x + c->qr_side <= w - c->pad + 1e-9);
	assert_true(c->qr_y >= c->pad - 1e-9);
	assert_true(c->qr_side >= LABEL_QR_MIN);
	assert_true(text_w <= w - 2 * c->pad + 1e-9);
	assert_true(c->text_size >= LABEL_TEXT_MIN && c->text_size <= LABEL_TEXT_MAX);
	/* the text's ascent starts below the QR, its descent ends in the label */
	assert_true(c->text_base - 0.93 * c->text_size >= c->qr_y + c->qr_side);
	double bottom = c->text_base + 0.27 * c->text_size;
	if (pin == LABEL_PIN_SCRATCH) {
		assert_true(c->box_y >= bottom);
		assert_true(c->box_x > c->caption_x);
		assert_true(c->caption_x >= c->pad - 1e-9);
		assert_true(c->box_x + c->box_w <= w - c->pad + 1e-9);
		assert_true(c->pin_x >= c->box_x);
		assert_true(c->pin_x + 8 * MONO_EM * c->pin_size <= c->box_x + c->box_w + 1e-9);
		bottom = c->box_y + c->box_h;
	} else if (pin == LABEL_PIN_FIELD) {
		assert_true(c->pin_base - 0.93 * c->pin_size >= bottom);
		assert_true(c->pin_x >= c->pad - 1e-9);
		bottom = c->pin_base + 0.27 * c->pin_size;
	} else {
		assert_mm(c->pin_size, 0);
	}
	assert_true(bottom <= h - c->pad + 1e-9);
}

static void test_qr_text_and_pin_stack_inside_labels_of_every_shape(void **state)
{
	static const double sizes[][2] = {{40, 40}, {62.6, 61.85}, {30, 45}, {100, 40},
	                                  {25, 30}, {200, 200},    {45, 25}};
	static const enum label_pin pins[] = {LABEL_PIN_NONE, LABEL_PIN_SCRATCH, LABEL_PIN_FIELD};
	struct label_content c;
	char err[256];
	(void)state;
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
		for (size_t j = 0; j < 3; j++) {
			double w = sizes[i][0], h = sizes[i][1];
			if (label_content_layout(w, h, pins[j], MONO_EM, &c, err, sizeof err) < 0) {
				print_error("%gx%g pin %zu: %s\n", w, h, j, err);
				fail();
			}
			assert_inside(&c, w, h, pins[j]);
		}
}

static void test_a_pin_leaves_the_qr_less_room(void **state)
{
	struct label_content none, scratch, field;
	char err[256];
	(void)state;
	assert_int_equal(label_content_layout(40, 40, LABEL_PIN_NONE, MONO_EM, &none, err, 256), 0);
	assert_int_equal(
	    label_content_layout(40, 40, LABEL_PIN_SCRATCH, MONO_EM, &scratch, err, 256), 0);
	assert_int_equal(label_content_layout(40, 40, LABEL_PIN_FIELD, MONO_EM, &field, err, 256),
	                 0);
	assert_true(scratch.qr_side < field.qr_side);
	assert_true(field.qr_side < none.qr_side);
	assert_true(scratch.box_w > 0 && scratch.box_h > 0);
	assert_mm(field.box_w, 0);
}

static void test_labels_too_small_for_text_or_qr_are_refused_with_the_reason(void **state)
{
	struct label_content c;
	char err[256] = "";
	(void)state;
	/* 23 characters at 1.4 mm need about 21 mm across */
	assert_int_equal(label_content_layout(15, 40, LABEL_PIN_NONE, MONO_EM, &c, err, 256), -1);
	assert_non_null(strstr(err, "too small for the code's text"));
	/* wide enough, too short for a 10 mm QR above the text and the PIN */
	assert_int_equal(label_content_layout(60, 18, LABEL_PIN_SCRATCH, MONO_EM, &c, err, 256),
	                 -1);
	assert_non_null(strstr(err, "for the QR (at least 10)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_paper_names_and_sizes_parse),
	    cmocka_unit_test(test_sizes_that_are_not_plain_decimals_in_range_are_refused),
	    cmocka_unit_test(test_grids_parse_as_columns_x_rows),
	    cmocka_unit_test(test_a4_without_label_or_grid_takes_4x6_labels_of_40_mm_centred),
	    cmocka_unit_test(test_a_label_size_alone_fits_as_many_as_fit),
	    cmocka_unit_test(test_labels_that_exactly_fill_the_margins_fit),
	    cmocka_unit_test(test_a_grid_alone_shares_the_paper_inside_the_margins),
	    cmocka_unit_test(test_a_label_and_grid_that_do_not_fit_are_refused_with_the_sizes),
	    cmocka_unit_test(test_a_grid_leaving_labels_under_10_mm_is_refused),
	    cmocka_unit_test(test_labels_go_row_by_row),
	    cmocka_unit_test(test_crop_marks_take_3_mm_in_the_margin_and_half_their_gap_inside),
	    cmocka_unit_test(test_labels_that_touch_have_no_crop_marks_between_them),
	    cmocka_unit_test(test_qr_text_and_pin_stack_inside_labels_of_every_shape),
	    cmocka_unit_test(test_a_pin_leaves_the_qr_less_room),
	    cmocka_unit_test(test_labels_too_small_for_text_or_qr_are_refused_with_the_reason),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
