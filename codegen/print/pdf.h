/*
 * pdf.h: label sheets as PDF, drawn with cairo, for digital label presses:
 * one label per code in the order given, row by row, page after page; each
 * label the QR (vector, quiet zone included), the grouped code under it, the
 * PIN of a PIN batch, crop marks at its corners. Pages are written as they
 * fill, so memory does not grow with the number of labels.
 */
#ifndef PACKCODE_PRINT_PDF_H
#define PACKCODE_PRINT_PDF_H

#include <qrencode.h>
#include <stddef.h>
#include <stdint.h>

#include "label.h"

#define PDF_MODULE_MIN     0.25 /* mm: smaller QR modules are not printed reliably */
#define PDF_PAGES_PER_FILE 1000 /* the default: 24,000 labels, about 12 MB, a file */

struct pdf_options {
	struct label_sheet sheet;     /* laid out by label_sheet_layout */
	enum label_pin pin;           /* NONE for a batch without PINs */
	int crop_marks;               /* draw them */
	unsigned quiet;               /* the QR's quiet zone, in modules */
	unsigned pages_per_file;      /* 0: one file, labels.pdf */
	struct label_content content; /* set by pdf_check */
};

/*
 * Lay out a label's content for QR symbols qr_width modules wide and check
 * that their modules are at least PDF_MODULE_MIN. 0, or -1 with err.
 */
int pdf_check(struct pdf_options *o, int qr_width, char *err, size_t errlen);

/*
 * The name of file i (0-based) of a run of count labels: "labels.pdf", or
 * with pages_per_file "labels-0001.pdf" (as many digits as the last needs,
 * at least 4). How many files there are: pdf_files().
 */
unsigned pdf_files(const struct pdf_options *o, uint64_t count);
void pdf_file_name(const struct pdf_options *o, uint64_t count, unsigned i, char *out,
                   size_t outlen);

struct pdf_labels;

/*
 * Start writing count labels into dir (files named as above, created). The
 * title goes into each file's metadata. NULL with err on failure.
 */
struct pdf_labels *pdf_labels_open(const struct pdf_options *o, const char *dir, uint64_t count,
                                   const char *title, char *err, size_t errlen);

/*
 * Draw the next label: its symbol, grouped code and PIN (NULL without);
 * after its page's last label the page is written. 0, or -1 with err.
 */
int pdf_labels_add(struct pdf_labels *p, const QRcode *q, const char *grouped, const char *pin,
                   char *err, size_t errlen);

/* Finish the last page and file. 0, or -1 with err (also for an earlier add's failure). */
int pdf_labels_close(struct pdf_labels *p, char *err, size_t errlen);

/* Close without finishing (after a failure); accepts NULL. */
void pdf_labels_free(struct pdf_labels *p);

/*
 * Free what cairo and fontconfig keep for the life of the process (fonts,
 * caches), so that a leak checker sees only real leaks. Last, once no cairo
 * object is left.
 */
void pdf_release(void);

#endif
