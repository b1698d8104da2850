/*
 * label.c: the geometry of label sheets (see label.h). Everything is in
 * millimetres from the paper's top-left corner, y downwards, as a press
 * operator measures; pdf.c converts to points once, with its transform.
 */
#include "label.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "code.h"
#include "errbuf.h"

#define EPS 1e-9 /* mm: sums of decimals that are meant to fit do fit */

/* A decimal such as "40", "40.5" or ".5" (no sign, exponent or space): the end, or NULL. */
static const char *parse_decimal(const char *s, double *out)
{
	double v = 0, scale = 1;
	int digits = 0;
	for (; *s >= '0' && *s <= '9'; s++, digits++)
		if (digits < 9)
			v = v * 10 + (*s - '0');
		else
			return NULL;
	if (*s == '.') {
		int frac = 0;
		for (s++; *s >= '0' && *s <= '9'; s++, frac++)
			if (frac < 6) {
				scale /= 10;
				v += (*s - '0') * scale;
			}
		digits += frac;
	}
	if (!digits)
		return NULL;
	*out = v;
	return s;
}

int label_parse_size(const char *s, int square, double min, double max, double *w, double *h)
{
	double a, b;
	const char *p;
	if (!s || !(p = parse_decimal(s, &a)))
		return -1;
	if (*p == '\0' && square)
		b = a;
	else if ((*p == 'x' || *p == 'X') && (p = parse_decimal(p + 1, &b)) && *p == '\0')
		;
	else
		return -1;
	if (a < min || a > max || b < min || b > max)
		return -1;
	*w = a;
	*h = b;
	return 0;
}

int label_parse_paper(const char *s, double *w, double *h)
{
	if (!s)
		return -1;
	if (strcasecmp(s, "A4") == 0) {
		*w = 210;
		*h = 297;
		return 0;
	}
	if (strcasecmp(s, "Letter") == 0) {
		*w = 215.9;
		*h = 279.4;
		return 0;
	}
	return label_parse_size(s, 0, LABEL_PAPER_MIN, LABEL_PAPER_MAX, w, h);
}

int label_parse_grid(const char *s, unsigned *cols, unsigned *rows)
{
	unsigned long c = 0, r = 0;
	const char *p = s;
	if (!p)
		return -1;
	for (; *p >= '0' && *p <= '9' && c <= LABEL_GRID_MAX; p++)
		c = c * 10 + (unsigned long)(*p - '0');
	if (p == s || (*p != 'x' && *p != 'X'))
		return -1;
	s = ++p;
	for (; *p >= '0' && *p <= '9' && r <= LABEL_GRID_MAX; p++)
		r = r * 10 + (unsigned long)(*p - '0');
	if (p == s || *p || c < 1 || c > LABEL_GRID_MAX || r < 1 || r > LABEL_GRID_MAX)
		return -1;
	*cols = (unsigned)c;
	*rows = (unsigned)r;
	return 0;
}

/* How many labels of size l with gaps g fit in avail (at least 0). */
static unsigned fit(double avail, double l, double g)
{
	double n = floor((avail + g + EPS) / (l + g));
	return n < 0 ? 0 : n > LABEL_GRID_MAX ? LABEL_GRID_MAX : (unsigned)n;
}

int label_sheet_layout(struct label_sheet *s, char *err, size_t errlen)
{
	double aw = s->width - 2 * s->margin, ah = s->height - 2 * s->margin;
	int given_label = s->label_w > 0 && s->label_h > 0, given_grid = s->cols && s->rows;

	if (aw <= 0 || ah <= 0) {
		errbuf_set(err, errlen, "margins of %g mm leave nothing of a %gx%g mm sheet",
		           s->margin, s->width, s->height);
		return -1;
	}
	if (!given_label && given_grid) {
		s->label_w = (aw - (s->cols - 1) * s->gap_x) / s->cols;
		s->label_h = (ah - (s->rows - 1) * s->gap_y) / s->rows;
		if (s->label_w < LABEL_SIZE_MIN - EPS || s->label_h < LABEL_SIZE_MIN - EPS) {
			errbuf_set(
			    err, errlen,
			    "a %ux%u grid leaves labels of %.1fx%.1f mm (at least %g mm a side)",
			    s->cols, s->rows, s->label_w, s->label_h, LABEL_SIZE_MIN);
			return -1;
		}
	} else {
		if (!given_label)
			s->label_w = s->label_h = LABEL_DEFAULT_SIZE;
		unsigned c = fit(aw, s->label_w, s->gap_x), r = fit(ah, s->label_h, s->gap_y);
		if (!given_grid) {
			s->cols = c;
			s->rows = r;
		}
		if (c < s->cols || r < s->rows || !c || !r) {
			errbuf_set(err, errlen,
			           "%ux%u labels of %gx%g mm with %g mm gaps do not fit in the "
			           "%gx%g mm inside the margins",
			           s->cols ? s->cols : 1, s->rows ? s->rows : 1, s->label_w,
			           s->label_h, s->gap_x, aw, ah);
			return -1;
		}
	}
	s->x0 = (s->width - (s->cols * s->label_w + (s->cols - 1) * s->gap_x)) / 2;
	s->y0 = (s->height - (s->rows * s->label_h + (s->rows - 1) * s->gap_y)) / 2;
	return 0;
}

void label_position(const struct label_sheet *s, unsigned index, double *x, double *y)
{
	unsigned col = index % s->cols, row = index / s->cols;
	*x = s->x0 + col * (s->label_w + s->gap_x);
	*y = s->y0 + row * (s->label_h + s->gap_y);
}

int label_crop_mark(const struct label_sheet *s, unsigned col, unsigned row, enum label_side side,
                    double *offset, double *length)
{
	double room; /* paper free of labels beyond this side, that the mark may use */
	switch (side) {
	case LABEL_LEFT:
		room = col == 0 ? s->x0 : s->gap_x / 2;
		break;
	case LABEL_RIGHT:
		room = col + 1 == s->cols ? s->x0 : s->gap_x / 2;
		break;
	case LABEL_TOP:
		room = row == 0 ? s->y0 : s->gap_y / 2;
		break;
	default:
		room = row + 1 == s->rows ? s->y0 : s->gap_y / 2;
		break;
	}
	/* a quarter of the room off the corner, at most half of it long: marks of
	 * neighbours facing each other across a gap keep a quarter of it apart */
	*offset = fmin(LABEL_MARK_OFFSET, room / 4);
	*length = fmin(LABEL_MARK_LEN, room / 2);
	return *length >= 0.5;
}

int label_content_layout(double w, double h, enum label_pin pin, double char_em,
                         struct label_content *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	c->pad = fmin(fmax(0.05 * fmin(w, h), 1.0), 3.0);
	double iw = w - 2 * c->pad, ih = h - 2 * c->pad;
	double fs = fmin(fmin(iw / (CODE_GROUPED_LEN * char_em), LABEL_TEXT_MAX), ih * 0.1);
	if (!(char_em > 0) || fs < LABEL_TEXT_MIN - EPS) {
		errbuf_set(err, errlen,
		           "labels of %gx%g mm are too small for the code's text (at least %g mm "
		           "high)",
		           w, h, LABEL_TEXT_MIN);
		return -1;
	}
	double line = fs * 1.2, gap = fs * 0.5, block = 0;
	c->text_size = fs;
	if (pin == LABEL_PIN_SCRATCH) {
		/* "PIN" then a box with the digits a quarter larger, padded by half a digit */
		double caption = (3 * char_em + 0.5) * fs;
		c->pin_size = fs * 1.25;
		c->box_w = (CODE_PIN_DIGITS * char_em + 1.0) * c->pin_size;
		if (caption + c->box_w > iw) {
			c->pin_size = fs;
			c->box_w = (CODE_PIN_DIGITS * char_em + 1.0) * c->pin_size;
		}
		c->box_h = c->pin_size * 1.6;
		block = c->box_h;
	} else if (pin == LABEL_PIN_FIELD) {
		c->pin_size = fs;
		block = line;
	}
	c->qr_side = fmin(iw, ih - line - gap - (block > 0 ? block + gap : 0));
	if (c->qr_side < LABEL_QR_MIN - EPS) {
		errbuf_set(err, errlen, "labels of %gx%g mm leave %.1f mm for the QR (at least %g)",
		           w, h, c->qr_side > 0 ? c->qr_side : 0, LABEL_QR_MIN);
		return -1;
	}
	double total = c->qr_side + gap + line + (block > 0 ? gap + block : 0);
	double top = c->pad + (ih - total) / 2;
	c->qr_x = (w - c->qr_side) / 2;
	c->qr_y = top;
	top += c->qr_side + gap;
	c->text_base = top + 0.93 * fs; /* a line's ascent: 0.93 em in DejaVu Sans Mono */
	top += line + gap;
	if (pin == LABEL_PIN_SCRATCH) {
		double caption = (3 * char_em + 0.5) * fs;
		c->caption_x = (w - caption - c->box_w) / 2;
		c->box_x = c->caption_x + caption;
		c->box_y = top;
		/* digits and caption centred on the box's middle: cap height about 0.73 em */
		c->pin_x = c->box_x + 0.5 * c->pin_size;
		c->pin_base = top + c->box_h / 2 + 0.365 * c->pin_size;
		c->caption_base = top + c->box_h / 2 + 0.365 * fs;
	} else if (pin == LABEL_PIN_FIELD) {
		c->pin_x = (w - (5 + CODE_PIN_DIGITS) * char_em * fs) / 2; /* "PIN: " + digits */
		c->pin_base = top + 0.93 * fs;
	}
	return 0;
}
