/*
 * zpl.h: labels for Zebra-compatible thermal printers, as ZPL II text: one
 * ^XA ... ^XZ format per code, the QR drawn by the printer itself (^BQ,
 * model 2) from the URL, the grouped code in font 0 under it, and the PIN of
 * a PIN batch. Pure: a label is formatted into a buffer, so mint's workers
 * format them in parallel as they do CSV rows.
 */
#ifndef PACKCODE_PRINT_ZPL_H
#define PACKCODE_PRINT_ZPL_H

#include <stddef.h>

#include "label.h"
#include "qr.h"
#include "url.h"

#define ZPL_MAG_MAX   10 /* ^BQ's largest magnification: dots per module */
#define ZPL_DOTS_MIN  50
#define ZPL_DOTS_MAX  32000
#define ZPL_LABEL_MAX (3 * URL_MAX + 640) /* bytes one label can take */

struct zpl_options {
	unsigned dpi;           /* 203, 300 or 600 */
	unsigned width, height; /* the label in dots; 0: 2 x 2 inches at dpi */
	unsigned magnification; /* dots per QR module, 1..ZPL_MAG_MAX; 0: the largest that fits */
	unsigned quiet;         /* the QR's quiet zone, in modules */
	enum qr_ecc ecc;
	enum label_pin pin;
	/* computed by zpl_layout, in dots */
	unsigned pad, qr_x, qr_y, text_y, text_h, pin_y, pin_h, box_x, box_w, box_h;
};

/* "WxH" in dots, each ZPL_DOTS_MIN..ZPL_DOTS_MAX: 0, or -1. */
int zpl_parse_dots(const char *s, unsigned *w, unsigned *h);

/*
 * Fill in the defaults and place the QR (qr_width modules: the version the
 * printer will draw for a URL of this batch), the code and the PIN. 0, or
 * -1 with err when they do not fit the label.
 */
int zpl_layout(struct zpl_options *z, int qr_width, char *err, size_t errlen);

/*
 * One label, "^XA" to "^XZ\n", into out (ZPL_LABEL_MAX bytes are always
 * enough for a URL shorter than URL_MAX). pin is NULL without. Its length,
 * or 0 when out is too small.
 */
size_t zpl_label(const struct zpl_options *z, const char *url, const char *grouped, const char *pin,
                 char *out, size_t outlen);

/*
 * Field data as ^FD takes it. ^ and ~ start ZPL commands wherever they are,
 * so a field that holds either is written with ^FH (hexadecimal escapes, _
 * as the indicator): ^ as _5E, ~ as _7E and _ itself as _5F; *hex is then
 * set and the caller puts "^FH_" before ^FD. Its length, or 0 when out is
 * too small (3 * strlen(data) + 1 bytes always do).
 */
size_t zpl_field_data(const char *data, char *out, size_t outlen, int *hex);

#endif
