/*
 * pdf.c: label sheets through cairo's PDF surface (see pdf.h).
 *
 * Each QR is a 1-bit image, one sample per module, drawn without
 * interpolation: its edges are as sharp as vectors at any resolution, and it
 * costs about 500 bytes and 0.1 ms a label, where one rectangle per run of
 * modules cost seven times the bytes and fifteen times the time. cairo keeps
 * some 150 bytes per image until its file is finished, which is why a long
 * run is cut into files of pages_per_file pages: memory stays flat.
 */
#include "pdf.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <errno.h>
#include <fcntl.h>
#include <fontconfig/fontconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "code.h"
#include "errbuf.h"

#define PT_PER_MM  (72.0 / 25.4)
#define FONT       "monospace" /* fontconfig's: DejaVu Sans Mono on Debian */
#define MARK_WIDTH 0.15        /* mm: crop marks and the PIN box */
#define OUT_BUF    65536

struct pdf_labels {
	struct pdf_options o;
	char dir[4096];
	char title[256];
	uint64_t count, done;
	unsigned nfiles, file, pages_in_file, on_page;
	int fd;
	int werr; /* errno of the first failed write */
	cairo_surface_t *surface;
	cairo_t *cr;
	double char_em; /* the font's advance per character, in ems */
	char err[512];
	size_t n;
	unsigned char buf[OUT_BUF];
};

/* The font's advance per character in ems, measured where it is used: in a PDF. */
static double measure_char_em(void)
{
	cairo_surface_t *s = cairo_pdf_surface_create_for_stream(NULL, NULL, 100, 100);
	cairo_t *cr = cairo_create(s);
	cairo_text_extents_t e = {0};
	cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
	cairo_set_font_size(cr, 100);
	cairo_text_extents(cr, "0000000000", &e);
	int ok = cairo_status(cr) == CAIRO_STATUS_SUCCESS;
	cairo_destroy(cr);
	cairo_surface_destroy(s);
	return ok ? e.x_advance / 1000 : 0;
}

int pdf_check(struct pdf_options *o, int qr_width, char *err, size_t errlen)
{
	const struct label_sheet *s = &o->sheet;
	double char_em = measure_char_em();
	if (!(char_em > 0)) {
		errbuf_set(err, errlen,
		           "no font for the labels' text: fontconfig finds no \"%s\" "
		           "(Debian: fonts-dejavu-core)",
		           FONT);
		return -1;
	}
	if (label_content_layout(s->label_w, s->label_h, o->pin, char_em, &o->content, err,
	                         errlen) < 0)
		return -1;
	double module = o->content.qr_side / (qr_width + 2 * o->quiet);
	if (module < PDF_MODULE_MIN) {
		errbuf_set(err, errlen,
		           "labels of %gx%g mm leave QR modules of %.2f mm (at least %g): "
		           "choose larger labels or a smaller --quiet-zone",
		           s->label_w, s->label_h, module, PDF_MODULE_MIN);
		return -1;
	}
	return 0;
}

unsigned pdf_files(const struct pdf_options *o, uint64_t count)
{
	uint64_t per_file = (uint64_t)o->pages_per_file * label_per_page(&o->sheet);
	return per_file ? (unsigned)((count + per_file - 1) / per_file) : 1;
}

void pdf_file_name(const struct pdf_options *o, uint64_t count, unsigned i, char *out,
                   size_t outlen)
{
	unsigned n = pdf_files(o, count), digits = 4;
	for (unsigned v = n; v >= 10000; v /= 10)
		digits++;
	if (n <= 1)
		snprintf(out, outlen, "labels.pdf");
	else
		snprintf(out, outlen, "labels-%0*u.pdf", (int)digits, i + 1);
}

/* ---- the output stream: cairo's bytes through one buffer to fd ---------- */

static void flush_out(struct pdf_labels *p)
{
	size_t done = 0;
	while (!p->werr && done < p->n) {
		ssize_t w = write(p->fd, p->buf + done, p->n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			p->werr = w < 0 ? errno : EIO;
		else
			done += (size_t)w;
	}
	p->n = 0;
}

static cairo_status_t write_cb(void *closure, const unsigned char *data, unsigned int len)
{
	struct pdf_labels *p = closure;
	while (len && !p->werr) {
		size_t k = sizeof p->buf - p->n < len ? sizeof p->buf - p->n : len;
		memcpy(p->buf + p->n, data, k);
		p->n += k;
		data += k;
		len -= (unsigned)k;
		if (p->n == sizeof p->buf)
			flush_out(p);
	}
	return p->werr ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

static int fail(struct pdf_labels *p, const char *what)
{
	char name[64];
	pdf_file_name(&p->o, p->count, p->file, name, sizeof name);
	if (!p->err[0])
		snprintf(p->err, sizeof p->err, "cannot write %s: %s", name,
		         p->werr ? strerror(p->werr) : what);
	return -1;
}

static int open_file(struct pdf_labels *p)
{
	char name[64], path[4200];
	const struct label_sheet *s = &p->o.sheet;
	pdf_file_name(&p->o, p->count, p->file, name, sizeof name);
	snprintf(path, sizeof path, "%s/%s", p->dir, name);
	p->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (p->fd < 0) {
		p->werr = errno;
		return fail(p, "");
	}
	p->n = 0;
	p->pages_in_file = 0;
	p->surface = cairo_pdf_surface_create_for_stream(write_cb, p, s->width * PT_PER_MM,
	                                                 s->height * PT_PER_MM);
	p->cr = cairo_create(p->surface);
	if (cairo_status(p->cr) != CAIRO_STATUS_SUCCESS)
		return fail(p, cairo_status_to_string(cairo_status(p->cr)));
	cairo_pdf_surface_set_metadata(p->surface, CAIRO_PDF_METADATA_TITLE, p->title);
	cairo_pdf_surface_set_metadata(p->surface, CAIRO_PDF_METADATA_CREATOR, "packcode-gen");
	cairo_scale(p->cr, PT_PER_MM, PT_PER_MM); /* from here on, millimetres */
	cairo_select_font_face(p->cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
	cairo_set_line_width(p->cr, MARK_WIDTH);
	return 0;
}

static int close_file(struct pdf_labels *p)
{
	int rc = 0;
	if (p->cr) {
		if (p->on_page) {
			cairo_show_page(p->cr);
			p->on_page = 0;
		}
		cairo_destroy(p->cr);
		p->cr = NULL;
	}
	if (p->surface) {
		cairo_surface_finish(p->surface);
		cairo_status_t st = cairo_surface_status(p->surface);
		cairo_surface_destroy(p->surface);
		p->surface = NULL;
		if (st != CAIRO_STATUS_SUCCESS)
			rc = fail(p, cairo_status_to_string(st));
	}
	if (p->fd >= 0) {
		flush_out(p);
		if (close(p->fd) < 0 && !p->werr)
			p->werr = errno;
		p->fd = -1;
		if (p->werr)
			rc = fail(p, "");
	}
	return rc;
}

struct pdf_labels *pdf_labels_open(const struct pdf_options *o, const char *dir, uint64_t count,
                                   const char *title, char *err, size_t errlen)
{
	struct pdf_labels *p = calloc(1, sizeof *p);
	if (!p) {
		errbuf_set(err, errlen, "out of memory");
		return NULL;
	}
	p->o = *o;
	p->fd = -1;
	p->count = count;
	p->nfiles = pdf_files(o, count);
	p->char_em = measure_char_em();
	snprintf(p->dir, sizeof p->dir, "%s", dir);
	snprintf(p->title, sizeof p->title, "%s", title);
	if (!(p->char_em > 0) || open_file(p) < 0) {
		errbuf_set(err, errlen, "%s", p->err[0] ? p->err : "cannot measure the font");
		pdf_labels_free(p);
		return NULL;
	}
	return p;
}

/* ---- one label ----------------------------------------------------------- */

/* The symbol as a 1-bit-looking RGB image, a sample per module (cairo writes it 1-bit). */
static int draw_qr(struct pdf_labels *p, const QRcode *q, double x, double y)
{
	const int w = q->width;
	cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, w);
	if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
		cairo_surface_destroy(img);
		return fail(p, "out of memory");
	}
	unsigned char *data = cairo_image_surface_get_data(img);
	int stride = cairo_image_surface_get_stride(img);
	cairo_surface_flush(img);
	for (int r = 0; r < w; r++) {
		uint32_t *px = (uint32_t *)(void *)(data + (size_t)r * (size_t)stride);
		const unsigned char *mod = q->data + (size_t)r * (size_t)w;
		for (int c = 0; c < w; c++)
			px[c] = (mod[c] & 1) ? 0x000000 : 0xffffff;
	}
	cairo_surface_mark_dirty(img);

	double module = p->o.content.qr_side / (w + 2 * p->o.quiet);
	cairo_t *cr = p->cr;
	cairo_save(cr);
	cairo_translate(cr, x + p->o.content.qr_x + p->o.quiet * module,
	                y + p->o.content.qr_y + p->o.quiet * module);
	cairo_scale(cr, module, module);
	cairo_set_source_surface(cr, img, 0, 0);
	cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
	cairo_paint(cr);
	cairo_restore(cr);
	cairo_surface_destroy(img); /* cairo keeps its own reference until the page is written */
	return 0;
}

static void draw_marks(struct pdf_labels *p, unsigned index, double x, double y)
{
	const struct label_sheet *s = &p->o.sheet;
	unsigned col = index % s->cols, row = index / s->cols;
	double w = s->label_w, h = s->label_h, off, len;
	cairo_t *cr = p->cr;
	if (label_crop_mark(s, col, row, LABEL_LEFT, &off, &len))
		for (int i = 0; i < 2; i++) {
			cairo_move_to(cr, x - off, y + i * h);
			cairo_line_to(cr, x - off - len, y + i * h);
		}
	if (label_crop_mark(s, col, row, LABEL_RIGHT, &off, &len))
		for (int i = 0; i < 2; i++) {
			cairo_move_to(cr, x + w + off, y + i * h);
			cairo_line_to(cr, x + w + off + len, y + i * h);
		}
	if (label_crop_mark(s, col, row, LABEL_TOP, &off, &len))
		for (int i = 0; i < 2; i++) {
			cairo_move_to(cr, x + i * w, y - off);
			cairo_line_to(cr, x + i * w, y - off - len);
		}
	if (label_crop_mark(s, col, row, LABEL_BOTTOM, &off, &len))
		for (int i = 0; i < 2; i++) {
			cairo_move_to(cr, x + i * w, y + h + off);
			cairo_line_to(cr, x + i * w, y + h + off + len);
		}
	cairo_stroke(cr);
}

static void draw_pin(struct pdf_labels *p, const char *pin, double x, double y)
{
	const struct label_content *c = &p->o.content;
	cairo_t *cr = p->cr;
	if (p->o.pin == LABEL_PIN_SCRATCH) {
		cairo_rectangle(cr, x + c->box_x, y + c->box_y, c->box_w, c->box_h);
		cairo_stroke(cr);
		cairo_move_to(cr, x + c->caption_x, y + c->caption_base);
		cairo_show_text(cr, "PIN");
		cairo_set_font_size(cr, c->pin_size);
		cairo_move_to(cr, x + c->pin_x, y + c->pin_base);
		cairo_show_text(cr, pin);
	} else {
		char field[8 + CODE_PIN_DIGITS];
		snprintf(field, sizeof field, "PIN: %s", pin);
		cairo_move_to(cr, x + c->pin_x, y + c->pin_base);
		cairo_show_text(cr, field);
	}
}

static int add(struct pdf_labels *p, const QRcode *q, const char *grouped, const char *pin)
{
	const struct label_content *c = &p->o.content;
	const struct label_sheet *s = &p->o.sheet;
	double x, y;
	if (p->err[0])
		return -1;
	if (p->done >= p->count)
		return fail(p, "more labels than announced");
	label_position(s, p->on_page, &x, &y);
	if (draw_qr(p, q, x, y) < 0)
		return -1;
	cairo_set_font_size(p->cr, c->text_size);
	cairo_move_to(p->cr, x + (s->label_w - strlen(grouped) * p->char_em * c->text_size) / 2,
	              y + c->text_base);
	cairo_show_text(p->cr, grouped);
	if (pin && p->o.pin != LABEL_PIN_NONE)
		draw_pin(p, pin, x, y);
	if (p->o.crop_marks)
		draw_marks(p, p->on_page, x, y);
	p->done++;
	if (++p->on_page == label_per_page(s)) {
		cairo_show_page(p->cr);
		p->on_page = 0;
		p->pages_in_file++;
		if (cairo_status(p->cr) != CAIRO_STATUS_SUCCESS)
			return fail(p, cairo_status_to_string(cairo_status(p->cr)));
		if (p->werr)
			return fail(p, "");
		if (p->o.pages_per_file && p->pages_in_file == p->o.pages_per_file &&
		    p->done < p->count) {
			if (close_file(p) < 0)
				return -1;
			p->file++;
			if (open_file(p) < 0)
				return -1;
		}
	}
	return 0;
}

int pdf_labels_add(struct pdf_labels *p, const QRcode *q, const char *grouped, const char *pin,
                   char *err, size_t errlen)
{
	if (add(p, q, grouped, pin) == 0)
		return 0;
	errbuf_set(err, errlen, "%s", p->err);
	return -1;
}

int pdf_labels_close(struct pdf_labels *p, char *err, size_t errlen)
{
	int rc = p->err[0] ? -1 : close_file(p);
	if (rc == 0 && p->done != p->count)
		rc = fail(p, "fewer labels than announced");
	if (rc < 0)
		errbuf_set(err, errlen, "%s", p->err);
	return rc;
}

void pdf_labels_free(struct pdf_labels *p)
{
	if (!p)
		return;
	if (p->cr)
		cairo_destroy(p->cr);
	if (p->surface) {
		/* no more output: a failed run's files are removed with the staging directory */
		p->werr = p->werr ? p->werr : ECANCELED;
		cairo_surface_destroy(p->surface);
	}
	if (p->fd >= 0)
		close(p->fd);
	free(p);
}

void pdf_release(void)
{
	cairo_debug_reset_static_data();
	FcFini();
}
