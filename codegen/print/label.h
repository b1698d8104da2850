/*
 * label.h: where things go on a sheet of labels, in millimetres: the paper,
 * the grid of labels, the crop marks at each label's corners, and inside a
 * label the QR, the code's line and the PIN. Pure geometry: pdf.c draws what
 * these functions place, and the unit tests check the numbers.
 */
#ifndef PACKCODE_PRINT_LABEL_H
#define PACKCODE_PRINT_LABEL_H

#include <stddef.h>

/* How a PIN batch shows each code's PIN on its label. */
enum label_pin {
	LABEL_PIN_NONE,    /* no PIN (a batch minted without --pin) */
	LABEL_PIN_SCRATCH, /* the digits in a box meant to be covered by a scratch-off */
	LABEL_PIN_FIELD,   /* a plain "PIN: 12345678" line */
};

#define LABEL_DEFAULT_SIZE   40.0 /* mm, square, when neither label nor grid is given */
#define LABEL_DEFAULT_MARGIN 10.0
#define LABEL_DEFAULT_GAP    4.0
#define LABEL_SIZE_MIN       10.0   /* a label's side, mm */
#define LABEL_PAPER_MIN      20.0   /* a sheet's side, mm */
#define LABEL_PAPER_MAX      2000.0 /* roll-fed presses print long sheets */
#define LABEL_GRID_MAX       100    /* labels across or down */
#define LABEL_MARK_LEN       3.0    /* crop marks where there is room, mm */
#define LABEL_MARK_OFFSET    1.0    /* from the corner, where there is room */
#define LABEL_QR_MIN         10.0   /* the QR square's side, quiet zone included */
#define LABEL_TEXT_MIN       1.4    /* mm (4 pt): smaller is not read by people */
#define LABEL_TEXT_MAX       4.2    /* mm (12 pt) */

struct label_sheet {
	/* given (label_w, cols and rows may be 0: label_sheet_layout fills them) */
	double width, height;    /* the paper */
	double margin;           /* at least this much paper left at every edge */
	double gap_x, gap_y;     /* between neighbouring labels */
	double label_w, label_h; /* 0: what the grid leaves, or the default size */
	unsigned cols, rows;     /* 0: as many as fit */
	/* computed: the grid is centred on the paper */
	double x0, y0; /* top-left corner of the first label */
};

/* "A4", "Letter" (either case) or "WxH" in mm: 0, or -1. */
int label_parse_paper(const char *s, double *w, double *h);

/* "WxH" (or "S" for a square, when square is set) in mm, each in [min, max]: 0, or -1. */
int label_parse_size(const char *s, int square, double min, double max, double *w, double *h);

/* "CxR", each 1..LABEL_GRID_MAX: 0, or -1. */
int label_parse_grid(const char *s, unsigned *cols, unsigned *rows);

/*
 * Complete s: with a grid and no label size, the labels share the paper
 * inside the margins; with a label size and no grid, as many fit as fit;
 * with neither, LABEL_DEFAULT_SIZE labels as many as fit; with both, they
 * must fit. Then the grid is centred. 0, or -1 with err (labels that do not
 * fit, or would be smaller than LABEL_SIZE_MIN).
 */
int label_sheet_layout(struct label_sheet *s, char *err, size_t errlen);

static inline unsigned label_per_page(const struct label_sheet *s)
{
	return s->cols * s->rows;
}

/* Top-left corner of the label at index (0..per page - 1), row by row. */
void label_position(const struct label_sheet *s, unsigned index, double *x, double *y);

enum label_side { LABEL_LEFT, LABEL_RIGHT, LABEL_TOP, LABEL_BOTTOM };

/*
 * The crop marks of the label at (col, row) on one side: the two marks that
 * continue its top and bottom edges (LEFT, RIGHT) or its left and right
 * edges (TOP, BOTTOM) outwards, from offset to offset + length beyond the
 * corner. They stay in their half of the gap to the next label (or in the
 * margin), so neighbours' marks never touch a label or each other. 1 and
 * the mark, or 0 when there is no room for one (labels that touch).
 */
int label_crop_mark(const struct label_sheet *s, unsigned col, unsigned row, enum label_side side,
                    double *offset, double *length);

/*
 * Inside a label, relative to its top-left corner: the QR square (quiet zone
 * included), the code's line and the PIN, stacked and centred. Text is in a
 * monospaced font whose characters advance char_em ems; a baseline is where
 * the glyphs sit; a font size is in mm.
 */
struct label_content {
	double pad;                     /* white kept at the label's edges */
	double qr_x, qr_y, qr_side;     /* the QR square */
	double text_size, text_base;    /* the grouped code, centred */
	double pin_size, pin_base;      /* the PIN digits (FIELD: the whole "PIN: ..." line) */
	double pin_x;                   /* where the digits (SCRATCH) or line (FIELD) start */
	double box_x, box_y;            /* SCRATCH: the box around the digits */
	double box_w, box_h;            /*          (0 otherwise) */
	double caption_x, caption_base; /* SCRATCH: "PIN" left of the box, at text_size */
};

/* 0, or -1 with err when the label is too small for legible text or the QR. */
int label_content_layout(double w, double h, enum label_pin pin, double char_em,
                         struct label_content *c, char *err, size_t errlen);

#endif
