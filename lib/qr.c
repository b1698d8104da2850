/*
 * qr.c: encode a URL with libqrencode and draw it as PNG (libpng) or SVG.
 *
 * qr_write_png is the hot path of minting a print run with images: rows are
 * built once per module row from runs of dark modules, and bytes go to the
 * file through one buffer, so the cost is libqrencode's and zlib's. Files are
 * written in place (mint stages them in a private directory); on failure the
 * partial file is removed.
 */
#include "qr.h"

#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "errbuf.h"

const struct qr_style qr_style_default = {
    .ecc = QR_ECC_M,
    .module_px = 8,
    .module_mm = 0.5,
    .quiet = 4,
};

#define QR_WIDTH_MAX  177 /* modules of a version 40 symbol */
#define SIDE_PX_MAX   ((QR_WIDTH_MAX + 2 * QR_QUIET_MAX) * QR_MODULE_PX_MAX)
#define ROW_BYTES_MAX ((SIDE_PX_MAX + 7) / 8)
#define OUT_BUF       16384

/*
 * zlib settings for QR PNGs. The image is a few module rows, each repeated
 * module_px times, so deflate needs a window of about one row, not 32 KiB,
 * and a small hash table: at memLevel 2 a version 3 symbol at 8 px comes out
 * smaller than with zlib's defaults and 3-5 times faster, because zlib no
 * longer allocates and clears some 256 KiB of state per image.
 */
#define PNG_ZLIB_LEVEL     6
#define PNG_ZLIB_MEM_LEVEL 2

/* The smallest deflate window (9..15 bits) that reaches back one row. */
static int png_window_bits(size_t rowbytes)
{
	int bits = 9;
	while (bits < 15 && ((size_t)1 << bits) < rowbytes + 1 + 262) /* 262: zlib's lookahead */
		bits++;
	return bits;
}

int qr_ecc_parse(const char *name, enum qr_ecc *out)
{
	static const char names[] = "LMQH";
	if (!name || !name[0] || name[1])
		return -1;
	for (int i = 0; i < 4; i++)
		if (name[0] == names[i] || name[0] == names[i] - 'A' + 'a') {
			*out = (enum qr_ecc)i;
			return 0;
		}
	return -1;
}

const char *qr_ecc_name(enum qr_ecc ecc)
{
	switch (ecc) {
	case QR_ECC_L:
		return "L";
	case QR_ECC_M:
		return "M";
	case QR_ECC_Q:
		return "Q";
	case QR_ECC_H:
		return "H";
	}
	return "?";
}

static const QRecLevel level[] = {
    [QR_ECC_L] = QR_ECLEVEL_L,
    [QR_ECC_M] = QR_ECLEVEL_M,
    [QR_ECC_Q] = QR_ECLEVEL_Q,
    [QR_ECC_H] = QR_ECLEVEL_H,
};

QRcode *qr_encode(const char *text, enum qr_ecc ecc)
{
	if (!text || (unsigned)ecc > QR_ECC_H) {
		errno = EINVAL;
		return NULL;
	}
	/* With the 8-bit hint and case sensitivity, libqrencode splits the text
	 * into numeric, alphanumeric and 8-bit stretches, whichever is shortest. */
	return QRcode_encodeString(text, 0, level[ecc], QR_MODE_8, 1);
}

QRcode *qr_encode_8bit(const char *text, enum qr_ecc ecc)
{
	if (!text || (unsigned)ecc > QR_ECC_H) {
		errno = EINVAL;
		return NULL;
	}
	return QRcode_encodeString8bit(text, 0, level[ecc]);
}

enum qr_ecc qr_ecc_same_version(const char *text, enum qr_ecc base, enum qr_ecc want)
{
	QRcode *a = qr_encode(text, base), *b = a ? qr_encode(text, want) : NULL;
	enum qr_ecc ecc = b && b->version == a->version ? want : base;
	QRcode_free(b);
	QRcode_free(a);
	return ecc;
}

/* ---- output: one buffer, one file ---------------------------------------- */

struct out {
	int fd;
	int is_reg; /* only a regular file we opened is removed on failure */
	int error;  /* errno of the first failure, 0 while all is well */
	size_t n;
	unsigned char buf[OUT_BUF];
};

static int out_open(struct out *o, const char *path, char *err, size_t errlen)
{
	struct stat sb;
	o->n = 0;
	o->error = 0;
	o->is_reg = 0;
	o->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (o->fd < 0) {
		errbuf_set(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	o->is_reg = fstat(o->fd, &sb) == 0 && S_ISREG(sb.st_mode);
	return 0;
}

static void out_flush(struct out *o)
{
	size_t done = 0;
	while (!o->error && done < o->n) {
		ssize_t w = write(o->fd, o->buf + done, o->n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			o->error = w < 0 ? errno : EIO;
		else
			done += (size_t)w;
	}
	o->n = 0;
}

static void out_write(struct out *o, const void *p, size_t len)
{
	const unsigned char *s = p;
	while (len > 0 && !o->error) {
		size_t room = sizeof o->buf - o->n, k = len < room ? len : room;
		memcpy(o->buf + o->n, s, k);
		o->n += k;
		s += k;
		len -= k;
		if (o->n == sizeof o->buf)
			out_flush(o);
	}
}

static void out_printf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out_printf(struct out *o, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;
	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		if (!o->error)
			o->error = EOVERFLOW;
		return;
	}
	out_write(o, tmp, (size_t)n);
}

/*
 * Flush and close. If anything failed before (ok == 0, err already set) or
 * fails now, remove the file and return -1.
 */
static int out_close(struct out *o, int ok, const char *path, char *err, size_t errlen)
{
	if (ok)
		out_flush(o);
	if (ok && o->error)
		errbuf_set(err, errlen, "%s: %s", path, strerror(o->error));
	if (close(o->fd) < 0 && ok && !o->error) {
		o->error = errno;
		errbuf_set(err, errlen, "%s: %s", path, strerror(o->error));
	}
	o->fd = -1;
	if (ok && !o->error)
		return 0;
	if (o->is_reg)
		unlink(path);
	return -1;
}

/* ---- style --------------------------------------------------------------- */

static int check_args(const QRcode *q, const struct qr_style *st, const char *path, int need_mm,
                      char *err, size_t errlen)
{
	if (!q || !q->data || q->width < 21 || q->width > QR_WIDTH_MAX) {
		errbuf_set(err, errlen, "no QR symbol to draw");
		return -1;
	}
	if (!path || !*path) {
		errbuf_set(err, errlen, "no output path");
		return -1;
	}
	if (st->module_px < 1 || st->module_px > QR_MODULE_PX_MAX) {
		errbuf_set(err, errlen, "module size must be 1 to %d pixels", QR_MODULE_PX_MAX);
		return -1;
	}
	if (st->quiet > QR_QUIET_MAX) {
		errbuf_set(err, errlen, "quiet zone must be 0 to %d modules", QR_QUIET_MAX);
		return -1;
	}
	if (!(st->module_mm >= 0 && st->module_mm <= QR_MODULE_MM_MAX) ||
	    (need_mm && st->module_mm == 0)) {
		errbuf_set(err, errlen, "module size must be more than 0 and at most %g mm",
		           QR_MODULE_MM_MAX);
		return -1;
	}
	return 0;
}

/* ---- PNG ----------------------------------------------------------------- */

struct png_ctx {
	struct out *out;
	const char *path;
	char *err;
	size_t errlen;
};

static void png_error_cb(png_structp png, png_const_charp msg)
{
	struct png_ctx *c = png_get_error_ptr(png);
	errbuf_set(c->err, c->errlen, "%s: %s", c->path, msg);
	png_longjmp(png, 1);
}

static void png_warning_cb(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

static void png_write_cb(png_structp png, png_bytep data, size_t len)
{
	struct png_ctx *c = png_get_io_ptr(png);
	out_write(c->out, data, len);
	if (c->out->error)
		png_error(png, strerror(c->out->error));
}

static void png_flush_cb(png_structp png)
{
	(void)png;
}

/* Clear bits [a, b) of a 1-bit row, most significant bit first: black pixels. */
static void clear_bits(unsigned char *row, size_t a, size_t b)
{
	for (; a < b && (a & 7); a++)
		row[a >> 3] &= (unsigned char)~(0x80u >> (a & 7));
	if (a + 8 <= b) {
		memset(row + (a >> 3), 0, (b - a) >> 3);
		a += (b - a) & ~(size_t)7;
	}
	for (; a < b; a++)
		row[a >> 3] &= (unsigned char)~(0x80u >> (a & 7));
}

/* One module row as pixels: white, with each run of dark modules cleared. */
static void module_row(const unsigned char *mod, unsigned width, unsigned quiet, unsigned px,
                       unsigned char *row, size_t rowbytes)
{
	memset(row, 0xff, rowbytes);
	for (unsigned x = 0; x < width;) {
		if (!(mod[x] & 1)) {
			x++;
			continue;
		}
		unsigned x0 = x;
		while (x < width && (mod[x] & 1))
			x++;
		clear_bits(row, (size_t)(quiet + x0) * px, (size_t)(quiet + x) * px);
	}
}

/*
 * Draw q through libpng into ctx->out. 0, or -1 with the error set. Nothing
 * that changes after setjmp is read after a longjmp.
 */
static int png_draw(struct png_ctx *ctx, const QRcode *q, const struct qr_style *st)
{
	png_structp png = NULL;
	png_infop info = NULL;
	unsigned char row[ROW_BYTES_MAX], white[ROW_BYTES_MAX];
	const unsigned width = (unsigned)q->width, px = st->module_px;
	const unsigned side = (width + 2 * st->quiet) * px;
	const size_t rowbytes = (side + 7) / 8;

	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, ctx, png_error_cb, png_warning_cb);
	if (png)
		info = png_create_info_struct(png);
	if (!png || !info) {
		errbuf_set(ctx->err, ctx->errlen, "%s: out of memory", ctx->path);
		goto fail;
	}
	if (setjmp(png_jmpbuf(png)))
		goto fail; /* png_error_cb said why */

	png_set_write_fn(png, ctx, png_write_cb, png_flush_cb);
	png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
	png_set_compression_level(png, PNG_ZLIB_LEVEL);
	png_set_compression_mem_level(png, PNG_ZLIB_MEM_LEVEL);
	png_set_compression_window_bits(png, png_window_bits(rowbytes));
	png_set_IHDR(png, info, side, side, 1, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
	             PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	if (st->module_mm > 0) {
		png_uint_32 ppm = (png_uint_32)(px * 1000.0 / st->module_mm + 0.5);
		png_set_pHYs(png, info, ppm, ppm, PNG_RESOLUTION_METER);
	}
	png_write_info(png, info);
	memset(white, 0xff, rowbytes);
	for (unsigned i = 0; i < st->quiet * px; i++)
		png_write_row(png, white);
	for (unsigned y = 0; y < width; y++) {
		module_row(q->data + (size_t)y * width, width, st->quiet, px, row, rowbytes);
		for (unsigned i = 0; i < px; i++)
			png_write_row(png, row);
	}
	for (unsigned i = 0; i < st->quiet * px; i++)
		png_write_row(png, white);
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	return 0;
fail:
	png_destroy_write_struct(&png, &info);
	return -1;
}

int qr_write_png(const QRcode *q, const struct qr_style *st, const char *path, char *err,
                 size_t errlen)
{
	struct out o;
	struct png_ctx ctx = {&o, path, err, errlen};

	if (!st)
		st = &qr_style_default;
	if (check_args(q, st, path, 0, err, errlen) < 0)
		return -1;
	if (out_open(&o, path, err, errlen) < 0)
		return -1;
	return out_close(&o, png_draw(&ctx, q, st) == 0, path, err, errlen);
}

/* ---- SVG ----------------------------------------------------------------- */

/* mm with up to three decimals and no locale: "18.5", "14.8", "37". */
static void format_mm(char *buf, size_t len, double mm)
{
	unsigned long um = (unsigned long)(mm * 1000.0 + 0.5);
	unsigned long frac = um % 1000;
	int digits = 3;
	if (frac == 0) {
		snprintf(buf, len, "%lu", um / 1000);
		return;
	}
	while (frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	snprintf(buf, len, "%lu.%0*lu", um / 1000, digits, frac);
}

int qr_write_svg(const QRcode *q, const struct qr_style *st, const char *path, char *err,
                 size_t errlen)
{
	struct out o;
	char mm[32];
	unsigned width, side;

	if (!st)
		st = &qr_style_default;
	if (check_args(q, st, path, 1, err, errlen) < 0)
		return -1;
	width = (unsigned)q->width;
	side = width + 2 * st->quiet;
	format_mm(mm, sizeof mm, side * st->module_mm);

	if (out_open(&o, path, err, errlen) < 0)
		return -1;
	out_printf(&o,
	           "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	           "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
	           "width=\"%smm\" height=\"%smm\" viewBox=\"0 0 %u %u\" "
	           "shape-rendering=\"crispEdges\">\n",
	           mm, mm, side, side);
	out_printf(&o, "<rect width=\"%u\" height=\"%u\" fill=\"#fff\"/>\n<path fill=\"#000\" d=\"",
	           side, side);
	for (unsigned y = 0; y < width; y++) {
		const unsigned char *mod = q->data + (size_t)y * width;
		for (unsigned x = 0; x < width;) {
			if (!(mod[x] & 1)) {
				x++;
				continue;
			}
			unsigned x0 = x;
			while (x < width && (mod[x] & 1))
				x++;
			out_printf(&o, "M%u %uh%uv1h-%uz", st->quiet + x0, st->quiet + y, x - x0,
			           x - x0);
		}
	}
	out_printf(&o, "\"/>\n</svg>\n");
	return out_close(&o, 1, path, err, errlen);
}
