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

#define QR_MODULE_PX_MAX 64 /* PNG pixels per module */
#define QR_QUIET_MAX     16 /* modules */
#define QR_MODULE_MM_MAX 10.0

struct qr_style {
	enum qr_ecc ecc;    /* default M: survives about 15% damage */
	unsigned module_px; /* PNG pixels per module, 1..QR_MODULE_PX_MAX, default 8 */
	double module_mm;   /* millimetres per module, default 0.5: the SVG's size and
	                       the PNG's pHYs resolution (0: no pHYs chunk) */
	unsigned quiet;     /* quiet zone in modules, 0..QR_QUIET_MAX, default 4 */
};

extern const struct qr_style qr_style_default;

/* "L", "M", "Q", "H" (either case): 0, or -1. */
int qr_ecc_parse(const char *name, enum qr_ecc *out);
const char *qr_ecc_name(enum qr_ecc ecc);

/*
 * Encode text in the smallest version at this level, case-sensitively, with
 * the mode (alphanumeric, numeric, 8-bit) chosen per stretch of text. NULL on
 * error (errno: EINVAL, ERANGE if too long, ENOMEM). Free with QRcode_free.
 */
QRcode *qr_encode(const char *text, enum qr_ecc ecc);

/*
 * The whole text in 8-bit mode, as an encoder that does not split it into
 * modes would (a printer's own): the largest version a reader may meet.
 */
QRcode *qr_encode_8bit(const char *text, enum qr_ecc ecc);

/*
 * want if text encodes at level want in the same symbol version (the same
 * size) as at level base, else base; base also when text does not encode.
 * Minting asks it once per batch: every short URL of a batch has the same
 * length and mode, so one answer holds for all of them.
 */
enum qr_ecc qr_ecc_same_version(const char *text, enum qr_ecc base, enum qr_ecc want);

/*
 * Write the symbol to path (created or truncated), of
 * (q->width + 2 * quiet) * module_px pixels square. 0, or -1 with err and no
 * file left under path. The caller frees q (QRcode_free).
 */
int qr_write_png(const QRcode *q, const struct qr_style *st, const char *path, char *err,
                 size_t errlen);

/*
 * Write a standalone SVG: viewBox in modules, width and height in mm, a white
 * background and one black path. 0, or -1 with err and no file left.
 */
int qr_write_svg(const QRcode *q, const struct qr_style *st, const char *path, char *err,
                 size_t errlen);

#endif
