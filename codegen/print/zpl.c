/*
 * zpl.c: ZPL II labels (see zpl.h). Sizes are in printer dots. Font 0 is a
 * proportional font; a character of the code is taken as 0.6 of its height
 * wide (digits and capitals of font 0 are narrower), and every text field is
 * centred in a field block (^FB), so small differences do not show.
 */
#include "zpl.h"

#include <stdio.h>
#include <string.h>

#include "code.h"
#include "errbuf.h"

#define CHAR_W 0.6 /* a character's width, in its height */

static unsigned umin(unsigned a, unsigned b)
{
	return a < b ? a : b;
}

/* Digits up to a character other than a digit: the end, or NULL (none, or too many). */
static const char *parse_dots(const char *s, unsigned *out)
{
	unsigned long v = 0;
	const char *p = s;
	for (; *p >= '0' && *p <= '9'; p++)
		if ((v = v * 10 + (unsigned long)(*p - '0')) > ZPL_DOTS_MAX)
			return NULL;
	if (p == s || v < ZPL_DOTS_MIN)
		return NULL;
	*out = (unsigned)v;
	return p;
}

int zpl_parse_dots(const char *s, unsigned *w, unsigned *h)
{
	unsigned a, b;
	const char *p = s ? parse_dots(s, &a) : NULL;
	if (!p || (*p != 'x' && *p != 'X') || !(p = parse_dots(p + 1, &b)) || *p)
		return -1;
	*w = a;
	*h = b;
	return 0;
}

int zpl_layout(struct zpl_options *z, int qr_width, char *err, size_t errlen)
{
	if (!z->width)
		z->width = 2 * z->dpi;
	if (!z->height)
		z->height = 2 * z->dpi;
	z->pad = z->dpi / 16; /* about 1.6 mm */
	if (z->width <= 2 * z->pad || z->height <= 2 * z->pad)
		goto small;
	unsigned iw = z->width - 2 * z->pad, ih = z->height - 2 * z->pad;
	/* the code's text: 3.5 mm high, less if 23 characters would not fit */
	z->text_h = umin((z->dpi * 35 + 127) / 254, (unsigned)(iw / (CODE_GROUPED_LEN * CHAR_W)));
	if (z->text_h < z->dpi / 20) /* 1.3 mm */
		goto small;
	unsigned gap = z->text_h / 2, block = 0, caption = 0;
	z->box_x = z->box_w = z->box_h = 0;
	if (z->pin == LABEL_PIN_FIELD) {
		block = z->text_h;
	} else if (z->pin == LABEL_PIN_SCRATCH) {
		caption = (unsigned)((3 * CHAR_W + 0.5) * z->text_h);
		z->box_w = (unsigned)((CODE_PIN_DIGITS * CHAR_W + 1.2) * z->text_h);
		z->box_h = z->text_h * 9 / 5;
		block = z->box_h;
	}
	z->pin_h = block;
	unsigned used = z->text_h + gap + (block ? block + gap : 0);
	unsigned side = (unsigned)qr_width + 2 * z->quiet; /* modules, quiet zone included */
	unsigned fit = used < ih ? umin(iw, ih - used) / side : 0;
	if (!z->magnification)
		z->magnification = umin(fit, ZPL_MAG_MAX);
	if (z->magnification < 1 || z->magnification > fit) {
		errbuf_set(err, errlen,
		           "a %ux%u-dot label has room for QR modules of %u dots at most (%d "
		           "modules, quiet zone included, and the text under them)",
		           z->width, z->height, fit, side);
		return -1;
	}
	unsigned qr = side * z->magnification, total = qr + gap + used - gap;
	unsigned top = (z->height - total) / 2;
	z->qr_x = (z->width - (unsigned)qr_width * z->magnification) / 2;
	z->qr_y = top + z->quiet * z->magnification;
	z->text_y = top + qr + gap;
	z->pin_y = z->text_y + z->text_h + gap;
	if (z->pin == LABEL_PIN_SCRATCH)
		z->box_x = (z->width - caption - z->box_w) / 2 + caption;
	return 0;
small:
	errbuf_set(err, errlen, "a %ux%u-dot label is too small for the code's text", z->width,
	           z->height);
	return -1;
}

size_t zpl_field_data(const char *data, char *out, size_t outlen, int *hex)
{
	size_t o = 0;
	*hex = 0;
	for (const unsigned char *p = (const unsigned char *)data; *p; p++)
		if (*p == '^' || *p == '~' || *p < 0x20 || *p == 0x7f)
			*hex = 1;
	for (const unsigned char *p = (const unsigned char *)data; *p; p++) {
		int esc = *hex && (*p == '^' || *p == '~' || *p == '_' || *p < 0x20 || *p == 0x7f);
		if (o + (esc ? 3 : 1) >= outlen)
			return 0;
		if (esc) {
			static const char digits[] = "0123456789ABCDEF";
			out[o++] = '_';
			out[o++] = digits[*p >> 4];
			out[o++] = digits[*p & 15];
		} else {
			out[o++] = (char)*p;
		}
	}
	if (o >= outlen)
		return 0;
	out[o] = '\0';
	return o;
}

/* Append a text field centred in a block of width w at (x, y); 0 on overflow. */
static int text_field(char *out, size_t outlen, size_t *o, unsigned x, unsigned y, unsigned w,
                      unsigned h, const char *text)
{
	char data[3 * 64 + 1];
	int hex;
	if (!zpl_field_data(text, data, sizeof data, &hex))
		return 0;
	int n = snprintf(out + *o, outlen - *o, "^FO%u,%u^A0N,%u,%u^FB%u,1,0,C,0%s^FD%s^FS\n", x, y,
	                 h, h, w, hex ? "^FH_" : "", data);
	if (n < 0 || (size_t)n >= outlen - *o)
		return 0;
	*o += (size_t)n;
	return 1;
}

size_t zpl_label(const struct zpl_options *z, const char *url, const char *grouped, const char *pin,
                 char *out, size_t outlen)
{
	char data[3 * URL_MAX + 1];
	const char *ecc = qr_ecc_name(z->ecc);
	int hex, n;
	size_t o = 0;
	if (!zpl_field_data(url, data, sizeof data, &hex))
		return 0;
	/* ^BQ orientation N, model 2, magnification, error correction; its data
	 * starts with the error correction again and A (automatic input mode) */
	n = snprintf(out, outlen, "^XA\n^PW%u^LL%u^LH0,0\n^FO%u,%u^BQN,2,%u,%s%s^FD%sA,%s^FS\n",
	             z->width, z->height, z->qr_x, z->qr_y, z->magnification, ecc,
	             hex ? "^FH_" : "", ecc, data);
	if (n < 0 || (size_t)n >= outlen)
		return 0;
	o = (size_t)n;
	unsigned iw = z->width - 2 * z->pad;
	if (!text_field(out, outlen, &o, z->pad, z->text_y, iw, z->text_h, grouped))
		return 0;
	if (pin && z->pin == LABEL_PIN_FIELD) {
		char field[8 + CODE_PIN_DIGITS];
		snprintf(field, sizeof field, "PIN: %s", pin);
		if (!text_field(out, outlen, &o, z->pad, z->pin_y, iw, z->text_h, field))
			return 0;
	} else if (pin && z->pin == LABEL_PIN_SCRATCH) {
		unsigned ty = z->pin_y + (z->box_h - z->text_h) / 2;
		unsigned line = z->dpi / 100 ? z->dpi / 100 : 1; /* 0.25 mm */
		n = snprintf(out + o, outlen - o, "^FO%u,%u^GB%u,%u,%u^FS\n", z->box_x, z->pin_y,
		             z->box_w, z->box_h, line);
		if (n < 0 || (size_t)n >= outlen - o)
			return 0;
		o += (size_t)n;
		unsigned cw = (unsigned)((3 * CHAR_W + 0.5) * z->text_h);
		if (!text_field(out, outlen, &o, z->box_x - cw, ty, cw, z->text_h, "PIN") ||
		    !text_field(out, outlen, &o, z->box_x, ty, z->box_w, z->text_h, pin))
			return 0;
	}
	n = snprintf(out + o, outlen - o, "^XZ\n");
	if (n < 0 || (size_t)n >= outlen - o)
		return 0;
	return o + (size_t)n;
}
