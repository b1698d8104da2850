/*
 * qr.h: QR images of a code's URL, as PNG (libpng) or SVG, for printing.
 *
 * A symbol is encoded once (qr_encode) and then drawn at a module size with a
 * quiet zone (4 modules by default, as ISO/IEC 18004 asks). PNGs are 1-bit
 * grayscale; SVGs are one path, sized in millimetres for print layouts.
 */
#ifndef PACKCODE_QR_H
#define PACKCODE_QR_H

#include <qrencode.h>
#include <stddef.h>

enum qr_ecc { QR_ECC_L, QR_ECC_M, QR_ECC_Q, QR_ECC_H };

struct qr_style {
	enum qr_ecc ecc;    /* default M: survives about 15% damage */
	unsigned module_px; /* PNG pixels per module, default 8 */
	double module_mm;   /* SVG millimetres per module, default 0.5 */
	unsigned quiet;     /* quiet zone in modules, default 4 */
};

extern const struct qr_style qr_style_default;

int qr_ecc_parse(const char *name, enum qr_ecc *out); /* "L", "M", "Q", "H" */

/* Encode text (8-bit or alphanumeric mode as the text allows); NULL on error. */
QRcode *qr_encode(const char *text, enum qr_ecc ecc);

/* Write the symbol to path; 0, or -1 with err. The caller frees q (QRcode_free). */
int qr_write_png(const QRcode *q, const struct qr_style *st, const char *path, char *err, size_t errlen);
int qr_write_svg(const QRcode *q, const struct qr_style *st, const char *path, char *err, size_t errlen);

#endif
