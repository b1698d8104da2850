/*
 * mint.c: packcode-gen mint, a print run from one batch row to the files a
 * factory prints from.
 *
 * The batch's serial range is allocated in one transaction (status minting);
 * worker threads sign chunks of serials and format CSV rows (and draw QR
 * images) while the main thread writes chunks in order, so memory stays flat
 * whatever the count. Everything is written into a private staging directory
 * next to DIR that is renamed into place only when complete and after the
 * batch is marked active; a failed or interrupted mint removes it and marks
 * the batch void. The batch row and its moves are batch_create() and
 * batch_set_status() of sql/006, each audited (batch.create, batch.activate,
 * batch.void) under actor cli:USER.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "db.h"
#include "print/pdf.h"
#include "print/zpl.h"
#include "qr.h"
#include "statements.h"
#include "url.h"

#define CHUNK       8192 /* codes a worker signs and formats at once */
#define PRINT_CHUNK 256  /* the same with labels (PDF, ZPL): their slots hold more */
#define MAX_THREADS 64

static const char help[] =
    "Usage: packcode-gen mint --product SKU --count N --out DIR [options]\n"
    "\n"
    "Mint a print run: allocate N serial numbers to a new batch of product SKU,\n"
    "sign one code per serial with the active key, and write what the factory\n"
    "prints from into DIR:\n"
    "\n"
    "  codes.csv    a header row, then one row per code: code, code_grouped\n"
    "               (XXXXX-XXXXX-XXXXX-XXXXX, for people), url (the QR content),\n"
    "               pin (with --pin), seq (1..N, print order), batch, sku, gtin,\n"
    "               and png/svg (image paths relative to DIR) when asked for\n"
    "  batch.json   batch id, product, serial range, count, key id, created, the\n"
    "               QR's error correction, the files and the label layout\n"
    "  png/CODE.png, svg/CODE.svg   one QR image per code, with --format\n"
    "  labels.pdf   label sheets for a digital label press, with --format pdf\n"
    "  labels.zpl   one label per code for a Zebra-compatible thermal printer,\n"
    "               with --format zpl\n"
    "\n"
    "The batch is one database row (a serial range), not N rows. DIR must not\n"
    "exist or be empty. Files appear in DIR only when all of them are complete;\n"
    "a failed or interrupted mint (Ctrl-C) leaves nothing in DIR and marks its\n"
    "batch void, so its codes are never accepted.\n"
    "\n"
    "QR content: for a product with a GTIN, a GS1 Digital Link URL\n"
    "https://HOST/01/GTIN-14/21/CODE that retail checkouts can read; otherwise,\n"
    "or with --short, HTTPS://HOST/C/CODE in upper case, which QR encodes in\n"
    "alphanumeric mode (version 3, 29x29 modules, at ECC M for a host of up to\n"
    "30 characters, at ECC Q for up to 16). The short form takes ECC Q when Q\n"
    "keeps the symbol M would have: the same size, more damage survived.\n"
    "\n"
    "Options:\n"
    "  --product SKU       the product (see 'packcode-gen product add')\n"
    "  --count N           number of codes, 1 to 1099511627775\n"
    "  --out DIR           output directory (created; must not hold files)\n"
    "  --host HOST         host of the landing URLs (default: $PACKCODE_HOST)\n"
    "  --format LIST       comma-separated: csv, png, svg, pdf, zpl (default: csv;\n"
    "                      the CSV is always written)\n"
    "  --short             short URLs HTTPS://HOST/C/CODE even with a GTIN\n"
    "  --pin               also mint an 8-digit inner claim PIN per code (its own\n"
    "                      CSV column, for printing hidden); claims then need it\n"
    "  --lot LOT           GS1 batch/lot (AI 10): stored with the batch and put in\n"
    "                      Digital Link URLs; a URL with another lot is not genuine.\n"
    "                      Needs a product with a GTIN.\n"
    "  --expiry YYMMDD     GS1 expiry date (AI 17; day 00: the month's last day):\n"
    "                      stored with the batch and put in Digital Link URLs; past\n"
    "                      it, scans answer \"expired\" and claims are refused.\n"
    "                      Needs a product with a GTIN.\n"
    "  --inactive          mint the codes inactive: until 'packcode-gen batch\n"
    "                      activate' releases them (on shipment), a scan answers\n"
    "                      \"never released for sale\" and alerts the brand\n"
    "                      (default: the product's, see product add\n"
    "                      --inactive-by-default)\n"
    "  --active            mint them valid at once, whatever the product's default\n"
    "  --factory NAME      factory, recorded with the batch\n"
    "  --line NAME         production line, recorded with the batch\n"
    "  --region NAME       sales region, recorded with the batch\n"
    "  --ecc L|M|Q|H       QR error correction, for every format (default M, about\n"
    "                      15% damage; Q, about 25%, for the short form where it\n"
    "                      fits the same version)\n"
    "  --module-px N       PNG pixels per QR module (default 8)\n"
    "  --module-mm X       SVG millimetres per QR module (default 0.5)\n"
    "  --quiet-zone N      quiet zone in modules (default 4, as ISO/IEC 18004 asks)\n"
    "  --threads N         worker threads (default: all cores)\n"
    "  -q, --quiet         no progress and no summary\n"
    "\n"
    "Label sheets (--format pdf): one label per code in CSV order, row by row,\n"
    "page after page. Each label holds the QR, the grouped code under it and,\n"
    "in a --pin batch, the PIN; crop marks continue each label's edges beyond\n"
    "its corners. Sizes are in millimetres; the grid is centred on the sheet.\n"
    "  --sheet SIZE        A4 (default), Letter, or WxH such as 330x480\n"
    "  --label WxH         label size (default: what --grid leaves, else 40x40)\n"
    "  --grid CxR          labels across and down (default: as many as fit)\n"
    "  --margin MM         paper kept free at the sheet's edges (default 10)\n"
    "  --gap MM|XxY        between labels, across and down (default 4)\n"
    "  --pin-style STYLE   scratch (default): the PIN in a box to be covered by a\n"
    "                      scratch-off; field: a plain \"PIN: 12345678\" line\n"
    "  --no-crop-marks     for stock that is already die-cut\n"
    "  --pages-per-file N  start a new file every N pages, labels-0001.pdf and on\n"
    "                      (default 1000; 0: one labels.pdf whatever the count).\n"
    "                      A run that fits one file is labels.pdf.\n"
    "\n"
    "Thermal labels (--format zpl): labels.zpl holds one ^XA...^XZ label per code\n"
    "in CSV order. The printer draws the QR itself (^BQ, model 2, the --ecc\n"
    "level) from the URL; the grouped code is printed under it in font 0, and\n"
    "the PIN under that (--pin-style as above). Sizes are in printer dots.\n"
    "  --zpl-dpi N         the printer's resolution: 203 (default), 300 or 600\n"
    "  --zpl-label WxH     label size (default 2x2 inches: 406x406 at 203 dpi)\n"
    "  --zpl-magnification N  dots per QR module, 1 to 10 (default: the largest\n"
    "                      that fits the label with the quiet zone and the text)\n"
    "\n"
    "Progress is shown on a terminal. Exit status 0 on success, 1 on failure or\n"
    "interruption (nothing in DIR, batch void), 2 on a usage error (labels too\n"
    "small for their QR or text included).\n";

struct options {
	const char *sku, *out, *host, *lot, *expiry, *factory, *line, *region;
	uint64_t count;
	int csv, png, svg, pdf, zpl, short_url, pin, quiet, ecc_given;
	int inactive; /* 1 --inactive, 0 --active, -1 the product's default */
	unsigned threads;
	struct qr_style style;
	const char *sheet_name;   /* as given: "A4", "Letter", "WxH" */
	const char *pdf_option;   /* a PDF option given, to refuse it without --format pdf */
	const char *zpl_option;   /* the same for ZPL */
	const char *pin_option;   /* --pin-style, to refuse it without --pin */
	enum label_pin pin_style; /* SCRATCH or FIELD, for a PIN batch */
	struct pdf_options pdf_opt;
	struct zpl_options zpl_opt;
};

struct product {
	char sku[72], gtin[GTIN_LEN + 1], name[208];
	long points;
};

/* One code's label on its way to the PDF: the writer draws what a worker encoded. */
struct label {
	char code[CODE_LEN + 1];
	char pin[CODE_PIN_DIGITS + 1];
	QRcode *qr;
};

/* A chunk of formatted CSV rows (and labels) on its way from a worker to the writer. */
struct slot {
	uint64_t chunk; /* which chunk this slot holds */
	int ready;      /* formatted and waiting for the writer */
	char *buf;
	size_t len;
	char *zpl; /* --format zpl: the chunk's labels as ZPL */
	size_t zpl_len;
	struct label *labels; /* --format pdf: the chunk's labels, in order */
	size_t nlabels;
};

struct mint {
	const struct options *o;
	struct keyring_key *key;
	uint64_t first_serial, batch_id;
	int inactive;           /* minted inactive (sql/013_supply.sql) */
	char expiry_date[16];   /* the AI 17 date as YYYY-MM-DD, "" for none */
	char stage[4096];       /* the staging directory */
	char url_head[URL_MAX]; /* CSV url field up to the code */
	char url_tail[URL_MAX]; /* and after it */
	char row_tail[512];     /* ",batch,sku,gtin" */
	uint64_t nchunks;
	size_t chunk;   /* codes per chunk: CHUNK, or PRINT_CHUNK with labels */
	size_t row_max; /* bytes one CSV row can take */
	size_t zpl_max; /* bytes one ZPL label can take */
	int zpl_fd;     /* labels.zpl, or -1 */
	struct pdf_labels *pdf;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct slot *slots;
	unsigned nslots;
	uint64_t next_chunk;    /* next chunk a worker takes */
	uint64_t written_chunk; /* chunks the writer has written */
	atomic_int failed;      /* set by the first worker error */
	char error[512];
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* ---- options ------------------------------------------------------------ */

static int parse_formats(const char *list, struct options *o)
{
	char buf[64];
	char *save = NULL;
	if (snprintf(buf, sizeof buf, "%s", list) >= (int)sizeof buf)
		return -1;
	o->csv = 1;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (strcmp(t, "csv") == 0)
			continue;
		else if (strcmp(t, "png") == 0)
			o->png = 1;
		else if (strcmp(t, "svg") == 0)
			o->svg = 1;
		else if (strcmp(t, "pdf") == 0)
			o->pdf = 1;
		else if (strcmp(t, "zpl") == 0)
			o->zpl = 1;
		else
			return -1;
	}
	return 0;
}

static int valid_expiry(const char *s)
{
	if (strlen(s) != 6 || strspn(s, "0123456789") != 6)
		return 0;
	int mm = (s[2] - '0') * 10 + (s[3] - '0'), dd = (s[4] - '0') * 10 + (s[5] - '0');
	return mm >= 1 && mm <= 12 && dd <= 31; /* GS1: day 00 means end of month */
}

static int valid_label(const char *s)
{
	size_t n = strlen(s);
	if (n > 200)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	enum {
		O_PRODUCT = 256,
		O_COUNT,
		O_OUT,
		O_HOST,
		O_FORMAT,
		O_SHORT,
		O_PIN,
		O_LOT,
		O_EXPIRY,
		O_FACTORY,
		O_LINE,
		O_REGION,
		O_ECC,
		O_MODULE_PX,
		O_MODULE_MM,
		O_QUIET_ZONE,
		O_THREADS,
		O_SHEET,
		O_LABEL,
		O_GRID,
		O_MARGIN,
		O_GAP,
		O_PIN_STYLE,
		O_NO_CROP_MARKS,
		O_PAGES_PER_FILE,
		O_ZPL_DPI,
		O_ZPL_LABEL,
		O_ZPL_MAGNIFICATION,
		O_INACTIVE,
		O_ACTIVE
	};
	static const struct option opts[] = {
	    {"product", required_argument, NULL, O_PRODUCT},
	    {"count", required_argument, NULL, O_COUNT},
	    {"out", required_argument, NULL, O_OUT},
	    {"host", required_argument, NULL, O_HOST},
	    {"format", required_argument, NULL, O_FORMAT},
	    {"short", no_argument, NULL, O_SHORT},
	    {"pin", no_argument, NULL, O_PIN},
	    {"lot", required_argument, NULL, O_LOT},
	    {"expiry", required_argument, NULL, O_EXPIRY},
	    {"inactive", no_argument, NULL, O_INACTIVE},
	    {"active", no_argument, NULL, O_ACTIVE},
	    {"factory", required_argument, NULL, O_FACTORY},
	    {"line", required_argument, NULL, O_LINE},
	    {"region", required_argument, NULL, O_REGION},
	    {"ecc", required_argument, NULL, O_ECC},
	    {"module-px", required_argument, NULL, O_MODULE_PX},
	    {"module-mm", required_argument, NULL, O_MODULE_MM},
	    {"quiet-zone", required_argument, NULL, O_QUIET_ZONE},
	    {"threads", required_argument, NULL, O_THREADS},
	    {"sheet", required_argument, NULL, O_SHEET},
	    {"label", required_argument, NULL, O_LABEL},
	    {"grid", required_argument, NULL, O_GRID},
	    {"margin", required_argument, NULL, O_MARGIN},
	    {"gap", required_argument, NULL, O_GAP},
	    {"pin-style", required_argument, NULL, O_PIN_STYLE},
	    {"no-crop-marks", no_argument, NULL, O_NO_CROP_MARKS},
	    {"pages-per-file", required_argument, NULL, O_PAGES_PER_FILE},
	    {"zpl-dpi", required_argument, NULL, O_ZPL_DPI},
	    {"zpl-label", required_argument, NULL, O_ZPL_LABEL},
	    {"zpl-magnification", required_argument, NULL, O_ZPL_MAGNIFICATION},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	uint64_t v;
	int c;
	char *end;

	memset(o, 0, sizeof *o);
	o->csv = 1;
	o->inactive = -1;
	o->style = qr_style_default;
	o->sheet_name = "A4";
	o->pin_style = LABEL_PIN_SCRATCH;
	struct label_sheet *sh = &o->pdf_opt.sheet;
	label_parse_paper(o->sheet_name, &sh->width, &sh->height);
	sh->margin = LABEL_DEFAULT_MARGIN;
	sh->gap_x = sh->gap_y = LABEL_DEFAULT_GAP;
	o->pdf_opt.crop_marks = 1;
	o->pdf_opt.pages_per_file = PDF_PAGES_PER_FILE;
	o->zpl_opt.dpi = 203;
	double unused;
	o->host = getenv("PACKCODE_HOST");
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	o->threads = cpus < 1 ? 1 : cpus > MAX_THREADS ? MAX_THREADS : (unsigned)cpus;

	while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (c) {
		case O_PRODUCT:
			o->sku = optarg;
			break;
		case O_COUNT:
			if (cli_parse_u64(optarg, 1, CODE_SERIAL_MAX, &o->count) < 0)
				return cli_usage("mint", "--count must be a number from 1 to %llu",
				                 (unsigned long long)CODE_SERIAL_MAX);
			break;
		case O_OUT:
			o->out = optarg;
			break;
		case O_HOST:
			o->host = optarg;
			break;
		case O_FORMAT:
			if (parse_formats(optarg, o) < 0)
				return cli_usage(
				    "mint",
				    "--format takes csv, png, svg, pdf and zpl, comma-separated");
			break;
		case O_SHORT:
			o->short_url = 1;
			break;
		case O_PIN:
			o->pin = 1;
			break;
		case O_LOT:
			if (dl_value_valid(optarg) < 0)
				return cli_usage("mint",
				                 "--lot must be 1 to %d characters of GS1's "
				                 "set (letters, digits, !\"%%&'()*+,-./:;<=>?_)",
				                 DL_LOT_MAX);
			o->lot = optarg;
			break;
		case O_INACTIVE:
		case O_ACTIVE:
			o->inactive = c == O_INACTIVE;
			break;
		case O_EXPIRY:
			if (!valid_expiry(optarg))
				return cli_usage("mint", "--expiry must be a date YYMMDD");
			o->expiry = optarg;
			break;
		case O_FACTORY:
		case O_LINE:
		case O_REGION:
			if (!valid_label(optarg))
				return cli_usage("mint",
				                 "--%s must be up to 200 printable characters",
				                 c == O_FACTORY ? "factory"
				                 : c == O_LINE  ? "line"
				                                : "region");
			*(c == O_FACTORY ? &o->factory
			  : c == O_LINE  ? &o->line
			                 : &o->region) = optarg;
			break;
		case O_ECC:
			if (qr_ecc_parse(optarg, &o->style.ecc) < 0)
				return cli_usage("mint", "--ecc must be L, M, Q or H");
			o->ecc_given = 1;
			break;
		case O_MODULE_PX:
			if (cli_parse_u64(optarg, 1, 100, &v) < 0)
				return cli_usage("mint", "--module-px must be 1 to 100");
			o->style.module_px = (unsigned)v;
			break;
		case O_MODULE_MM:
			errno = 0;
			o->style.module_mm = strtod(optarg, &end);
			if (errno || *end || end == optarg || !(o->style.module_mm >= 0.1) ||
			    o->style.module_mm > 10)
				return cli_usage("mint", "--module-mm must be 0.1 to 10");
			break;
		case O_QUIET_ZONE:
			if (cli_parse_u64(optarg, 0, 40, &v) < 0)
				return cli_usage("mint", "--quiet-zone must be 0 to 40 modules");
			o->style.quiet = (unsigned)v;
			break;
		case O_THREADS:
			if (cli_parse_u64(optarg, 1, MAX_THREADS, &v) < 0)
				return cli_usage("mint", "--threads must be 1 to %d", MAX_THREADS);
			o->threads = (unsigned)v;
			break;
		case O_SHEET:
			if (label_parse_paper(optarg, &sh->width, &sh->height) < 0)
				return cli_usage("mint",
				                 "--sheet must be A4, Letter or WxH in mm "
				                 "(%g to %g)",
				                 LABEL_PAPER_MIN, LABEL_PAPER_MAX);
			o->sheet_name = optarg;
			o->pdf_option = "--sheet";
			break;
		case O_LABEL:
			if (label_parse_size(optarg, 0, LABEL_SIZE_MIN, LABEL_PAPER_MAX,
			                     &sh->label_w, &sh->label_h) < 0)
				return cli_usage("mint", "--label must be WxH in mm (at least %g)",
				                 LABEL_SIZE_MIN);
			o->pdf_option = "--label";
			break;
		case O_GRID:
			if (label_parse_grid(optarg, &sh->cols, &sh->rows) < 0)
				return cli_usage("mint", "--grid must be CxR, 1 to %d each",
				                 LABEL_GRID_MAX);
			o->pdf_option = "--grid";
			break;
		case O_MARGIN:
			if (strpbrk(optarg, "xX") ||
			    label_parse_size(optarg, 1, 0, 200, &sh->margin, &unused) < 0)
				return cli_usage("mint", "--margin must be 0 to 200 mm");
			o->pdf_option = "--margin";
			break;
		case O_GAP:
			if (label_parse_size(optarg, 1, 0, 200, &sh->gap_x, &sh->gap_y) < 0)
				return cli_usage("mint", "--gap must be MM or XxY in mm, 0 to 200");
			o->pdf_option = "--gap";
			break;
		case O_PIN_STYLE:
			if (strcmp(optarg, "scratch") == 0)
				o->pin_style = LABEL_PIN_SCRATCH;
			else if (strcmp(optarg, "field") == 0)
				o->pin_style = LABEL_PIN_FIELD;
			else
				return cli_usage("mint", "--pin-style must be scratch or field");
			o->pin_option = "--pin-style";
			break;
		case O_NO_CROP_MARKS:
			o->pdf_opt.crop_marks = 0;
			o->pdf_option = "--no-crop-marks";
			break;
		case O_PAGES_PER_FILE:
			if (cli_parse_u64(optarg, 0, 1000000, &v) < 0)
				return cli_usage("mint", "--pages-per-file must be 0 (one file) to "
				                         "1000000");
			o->pdf_opt.pages_per_file = (unsigned)v;
			o->pdf_option = "--pages-per-file";
			break;
		case O_ZPL_DPI:
			if (cli_parse_u64(optarg, 203, 600, &v) < 0 ||
			    (v != 203 && v != 300 && v != 600))
				return cli_usage("mint", "--zpl-dpi must be 203, 300 or 600");
			o->zpl_opt.dpi = (unsigned)v;
			o->zpl_option = "--zpl-dpi";
			break;
		case O_ZPL_LABEL:
			if (zpl_parse_dots(optarg, &o->zpl_opt.width, &o->zpl_opt.height) < 0)
				return cli_usage("mint",
				                 "--zpl-label must be WxH in dots (%d to %d)",
				                 ZPL_DOTS_MIN, ZPL_DOTS_MAX);
			o->zpl_option = "--zpl-label";
			break;
		case O_ZPL_MAGNIFICATION:
			if (cli_parse_u64(optarg, 1, ZPL_MAG_MAX, &v) < 0)
				return cli_usage("mint", "--zpl-magnification must be 1 to %d",
				                 ZPL_MAG_MAX);
			o->zpl_opt.magnification = (unsigned)v;
			o->zpl_option = "--zpl-magnification";
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'h':
			fputs(help, stdout);
			return 0;
		default:
			return cli_usage("mint", "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage("mint", "unexpected argument \"%s\"", argv[optind]);
	if (!o->sku)
		return cli_usage("mint", "--product is required");
	if (!o->count)
		return cli_usage("mint", "--count is required");
	if (!o->out || !*o->out)
		return cli_usage("mint", "--out is required");
	if (!o->host || !*o->host)
		return cli_usage("mint", "no host for the URLs: give --host (your landing domain) "
		                         "or set PACKCODE_HOST");
	if (host_valid(o->host) < 0)
		return cli_usage("mint", "--host \"%s\" is not a host name (no scheme, no path)",
		                 o->host);
	if (o->pdf_option && !o->pdf)
		return cli_usage("mint", "%s is for label sheets: add pdf to --format",
		                 o->pdf_option);
	if (o->zpl_option && !o->zpl)
		return cli_usage("mint", "%s is for thermal labels: add zpl to --format",
		                 o->zpl_option);
	if (o->pin_option && (!o->pin || !(o->pdf || o->zpl)))
		return cli_usage("mint", "--pin-style is for the labels of a --pin batch "
		                         "(--format pdf or zpl)");
	if (o->pdf) {
		char err[256];
		if (label_sheet_layout(sh, err, sizeof err) < 0)
			return cli_usage("mint", "%s", err);
		o->pdf_opt.pin = o->pin ? o->pin_style : LABEL_PIN_NONE;
		o->pdf_opt.quiet = o->style.quiet;
	}
	if (o->zpl) {
		o->zpl_opt.pin = o->pin ? o->pin_style : LABEL_PIN_NONE;
		o->zpl_opt.quiet = o->style.quiet;
	}
	return -1;
}

/* ---- the staging directory ---------------------------------------------- */

static int dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int empty = 1;
	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			empty = 0;
			break;
		}
	closedir(d);
	return empty;
}

/* Remove the staging directory and what mint put in it (png/, svg/ and files). */
static void remove_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char sub[4200];
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
		if (e->d_type == DT_DIR)
			remove_tree(sub);
		else
			unlink(sub);
	}
	closedir(d);
	rmdir(path);
}

/* Check DIR can be made, and make the staging directory beside it. */
static int make_stage(struct mint *m)
{
	const char *out = m->o->out;
	struct stat st;
	char parent[4096];

	if (stat(out, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return cli_error("mint", "%s exists and is not a directory", out), -1;
		if (!dir_is_empty(out))
			return cli_error("mint", "%s is not empty: give a new directory", out), -1;
	} else if (errno != ENOENT) {
		return cli_error("mint", "cannot use %s: %s", out, strerror(errno)), -1;
	}
	snprintf(parent, sizeof parent, "%s", out);
	size_t n = strlen(parent);
	while (n > 1 && parent[n - 1] == '/')
		parent[--n] = '\0';
	char *slash = strrchr(parent, '/');
	const char *base = slash ? slash + 1 : parent;
	if (slash == parent)
		parent[1] = '\0';
	else if (slash)
		*slash = '\0';
	if (snprintf(m->stage, sizeof m->stage, "%s/.%s.minting-%ld", slash ? parent : ".", base,
	             (long)getpid()) >= (int)sizeof m->stage)
		return cli_error("mint", "--out path too long"), -1;
	if (mkdir(m->stage, 0755) < 0)
		return cli_error("mint", "cannot create files beside %s: %s", out, strerror(errno)),
		       -1;
	char sub[4200];
	if (m->o->png) {
		snprintf(sub, sizeof sub, "%s/png", m->stage);
		if (mkdir(sub, 0755) < 0)
			goto fail;
	}
	if (m->o->svg) {
		snprintf(sub, sizeof sub, "%s/svg", m->stage);
		if (mkdir(sub, 0755) < 0)
			goto fail;
	}
	return 0;
fail:
	cli_error("mint", "cannot create %s: %s", sub, strerror(errno));
	remove_tree(m->stage);
	return -1;
}

/* ---- the database ------------------------------------------------------- */

static int load_product(PGconn *db, const char *sku, struct product *p)
{
	char line[DB_ERR_LEN];
	const char *params[] = {sku};
	PGresult *r = PQexecParams(db, STMT_PRODUCT_GET, 1, NULL, params, NULL, NULL, 0);
	int rc = -1;
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		cli_error("mint", "database: %s", db_error_line(r, db, line, sizeof line));
	else if (PQntuples(r) == 0)
		cli_error("mint", "unknown product \"%s\" (see 'packcode-gen product list')", sku);
	else {
		snprintf(p->sku, sizeof p->sku, "%s", PQgetvalue(r, 0, 0));
		snprintf(p->gtin, sizeof p->gtin, "%s", PQgetvalue(r, 0, 1));
		snprintf(p->name, sizeof p->name, "%s", PQgetvalue(r, 0, 2));
		p->points = atol(PQgetvalue(r, 0, 3));
		rc = 0;
	}
	PQclear(r);
	return rc;
}

/* A new batch of o->count serials, status minting, audited as batch.create. */
static int allocate(PGconn *db, struct mint *m, char *created, size_t createdlen)
{
	char count[24], key[8], who[CLI_ACTOR_LEN];
	const struct options *o = m->o;
	snprintf(count, sizeof count, "%llu", (unsigned long long)o->count);
	snprintf(key, sizeof key, "%u", m->key->id);
	const char *params[] = {cli_actor(who, sizeof who),
	                        o->sku,
	                        count,
	                        key,
	                        o->factory,
	                        o->line,
	                        o->region,
	                        o->pin ? "true" : "false",
	                        o->inactive < 0 ? NULL
	                        : o->inactive   ? "true"
	                                        : "false",
	                        o->lot,
	                        o->expiry};
	PGresult *r = PQexecParams(db, STMT_BATCH_CREATE, 11, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
		cli_error("mint", "cannot allocate serials: %s", msg ? msg : PQerrorMessage(db));
		PQclear(r);
		return -1;
	}
	m->batch_id = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	m->first_serial = strtoull(PQgetvalue(r, 0, 1), NULL, 10);
	snprintf(created, createdlen, "%s", PQgetvalue(r, 0, 2));
	m->inactive = PQgetvalue(r, 0, 3)[0] == 't';
	snprintf(m->expiry_date, sizeof m->expiry_date, "%s", PQgetvalue(r, 0, 4));
	PQclear(r);
	return 0;
}

/*
 * Move batch from status `from` to `to` (batch_set_status, audited as
 * batch.activate or batch.void); 0, or -1 after saying why.
 */
static int set_status(PGconn *db, uint64_t batch, const char *from, const char *to,
                      const char *reason)
{
	char id[24], who[CLI_ACTOR_LEN], line[DB_ERR_LEN];
	snprintf(id, sizeof id, "%llu", (unsigned long long)batch);
	const char *params[] = {cli_actor(who, sizeof who), id, to, reason, from};
	PGresult *r = PQexecParams(db, STMT_BATCH_SET_STATUS, 5, NULL, params, NULL, NULL, 0);
	int answered = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
	int ok = answered && strcmp(PQgetvalue(r, 0, 0), "done") == 0;
	if (!ok)
		cli_error("mint", "cannot mark batch %llu %s: %s", (unsigned long long)batch, to,
		          answered ? "its status changed meanwhile"
		                   : db_error_line(r, db, line, sizeof line));
	PQclear(r);
	return ok ? 0 : -1;
}

/* ---- CSV rows ------------------------------------------------------------ */

/* Append s to a CSV field, quoting per RFC 4180 when needed. */
static size_t csv_field(char *out, size_t outlen, const char *s)
{
	size_t o = 0;
	if (!strpbrk(s, ",\"\r\n"))
		return (size_t)snprintf(out, outlen, "%s", s);
	out[o++] = '"';
	for (; *s && o + 3 < outlen; s++) {
		if (*s == '"')
			out[o++] = '"';
		out[o++] = *s;
	}
	out[o++] = '"';
	out[o] = '\0';
	return o;
}

/* Where the code goes in a URL template: a code of Zs takes the most room in a QR. */
static const char marker[] = "ZZZZZZZZZZZZZZZZZZZZ";

/*
 * The URL of every code is the same but for the code: build it once around a
 * marker and keep what comes before and after, so rows are built by memcpy.
 */
static int url_template(struct mint *m, const struct product *p)
{
	char url[URL_MAX], *at;
	const struct options *o = m->o;
	int n = o->short_url || !p->gtin[0] ? url_short(url, sizeof url, o->host, marker)
	                                    : url_digital_link(url, sizeof url, o->host, p->gtin,
	                                                       marker, o->lot, o->expiry);
	if (n < 0 || !(at = strstr(url, marker)) || strstr(at + 1, marker))
		return cli_error("mint", "cannot build the URL for host \"%s\"", o->host), -1;
	if (strpbrk(url, ",\"\r\n"))
		return cli_error("mint", "the URL \"%s\" would need CSV quoting", url), -1;
	*at = '\0';
	snprintf(m->url_head, sizeof m->url_head, "%s", url);
	snprintf(m->url_tail, sizeof m->url_tail, "%s", at + strlen(marker));
	return 0;
}

/*
 * The batch's QR level and its labels' layout, from the URL with the marker:
 * no code's symbol is larger. A short URL gets ECC Q where Q keeps M's
 * symbol version (measured to decode better at the same size), unless --ecc
 * chose. 0, or 2 after a usage error (labels too small for the symbol).
 */
static int qr_setup(struct mint *m, struct options *o, int short_form)
{
	char url[2 * URL_MAX + sizeof marker], err[256];
	snprintf(url, sizeof url, "%s%s%s", m->url_head, marker, m->url_tail);
	if (short_form && !o->ecc_given)
		o->style.ecc = qr_ecc_same_version(url, QR_ECC_M, QR_ECC_Q);
	if (o->pdf) {
		QRcode *q = qr_encode(url, o->style.ecc);
		int rc = q ? pdf_check(&o->pdf_opt, q->width, err, sizeof err) : -1;
		if (!q)
			snprintf(err, sizeof err, "cannot encode the URL as a QR");
		QRcode_free(q);
		if (rc < 0)
			return cli_usage("mint", "%s", err);
	}
	if (o->zpl) {
		/* the printer chooses the symbol: room for it in one mode, 8-bit unless the
		 * whole URL is in QR's alphanumeric set (the short form) */
		int alnum =
		    strspn(url, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:") == strlen(url);
		QRcode *q =
		    alnum ? qr_encode(url, o->style.ecc) : qr_encode_8bit(url, o->style.ecc);
		o->zpl_opt.ecc = o->style.ecc;
		int rc = q ? zpl_layout(&o->zpl_opt, q->width, err, sizeof err) : -1;
		if (!q)
			snprintf(err, sizeof err, "cannot encode the URL as a QR");
		QRcode_free(q);
		if (rc < 0)
			return cli_usage("mint", "%s", err);
		m->zpl_max = ZPL_LABEL_MAX;
	}
	return 0;
}

/* Write all of buf to fd: 0, or -1 with errno. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int csv_header(const struct mint *m, int fd)
{
	char h[128];
	snprintf(h, sizeof h, "code,code_grouped,url%s,seq,batch,sku,gtin%s%s\n",
	         m->o->pin ? ",pin" : "", m->o->png ? ",png" : "", m->o->svg ? ",svg" : "");
	return write_all(fd, h, strlen(h));
}

static char *put(char *d, const char *s, size_t n)
{
	memcpy(d, s, n);
	return d + n;
}

static char *put_u64(char *d, uint64_t v)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*d++ = tmp[--n];
	return d;
}

/* ---- workers and the writer ---------------------------------------------- */

/* Stop everything and keep the first reason (msg) to report. */
static void fail_worker(struct mint *m, const char *msg)
{
	pthread_mutex_lock(&m->lock);
	if (!atomic_load(&m->failed)) {
		snprintf(m->error, sizeof m->error, "%s", msg);
		atomic_store(&m->failed, 1);
	}
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

/* PNG and SVG images of one code; with keep, its symbol is kept there for the PDF. */
static int draw(struct mint *m, const char *code, const char *url, QRcode **keep)
{
	char path[4200], err[256];
	QRcode *q = qr_encode(url, m->o->style.ecc);
	if (!q) {
		char msg[URL_MAX + 32];
		snprintf(msg, sizeof msg, "cannot encode a QR for %s", url);
		fail_worker(m, msg);
		return -1;
	}
	int rc = 0;
	if (m->o->png) {
		snprintf(path, sizeof path, "%s/png/%s.png", m->stage, code);
		if (qr_write_png(q, &m->o->style, path, err, sizeof err) < 0)
			rc = -1;
	}
	if (rc == 0 && m->o->svg) {
		snprintf(path, sizeof path, "%s/svg/%s.svg", m->stage, code);
		if (qr_write_svg(q, &m->o->style, path, err, sizeof err) < 0)
			rc = -1;
	}
	if (keep)
		*keep = q;
	else
		QRcode_free(q);
	if (rc < 0)
		fail_worker(m, err);
	return rc;
}

/*
 * A chunk's labels, after its rows: ZPL text, and for the PDF each code with
 * its symbol (encoded here, in parallel; the writer only draws). 0, or -1
 * after fail_worker.
 */
static int label_chunk(struct mint *m, struct slot *sl, char (*codes)[CODE_LEN + 1],
                       char (*pins)[CODE_PIN_DIGITS + 1], size_t n)
{
	const struct options *o = m->o;
	size_t head = strlen(m->url_head), tail = strlen(m->url_tail);
	char url[URL_MAX], grouped[CODE_GROUPED_LEN + 1], *z = sl->zpl;
	for (size_t i = 0; i < n && !interrupted; i++) {
		memcpy(url, m->url_head, head);
		memcpy(url + head, codes[i], CODE_LEN);
		memcpy(url + head + CODE_LEN, m->url_tail, tail + 1);
		if (o->zpl) {
			code_group(codes[i], grouped);
			size_t k = zpl_label(&o->zpl_opt, url, grouped, pins ? pins[i] : NULL, z,
			                     m->zpl_max);
			if (!k) {
				fail_worker(m, "a ZPL label does not fit its buffer");
				return -1;
			}
			z += k;
		}
		if (o->pdf) {
			struct label *l = &sl->labels[i];
			memcpy(l->code, codes[i], sizeof l->code);
			if (pins)
				memcpy(l->pin, pins[i], sizeof l->pin);
			if (!l->qr && !(l->qr = qr_encode(url, o->style.ecc))) {
				char msg[URL_MAX + 32];
				snprintf(msg, sizeof msg, "cannot encode a QR for %s", url);
				fail_worker(m, msg);
				return -1;
			}
		}
	}
	sl->zpl_len = (size_t)(z - sl->zpl);
	sl->nlabels = o->pdf ? n : 0;
	return 0;
}

static void *worker(void *arg)
{
	struct mint *m = arg;
	const struct options *o = m->o;
	struct code_signer *s = code_signer_new(m->key->id, m->key->secret);
	char(*codes)[CODE_LEN + 1] = malloc(m->chunk * sizeof *codes);
	char(*pins)[CODE_PIN_DIGITS + 1] = o->pin ? malloc(m->chunk * sizeof *pins) : NULL;
	size_t head = strlen(m->url_head), tail = strlen(m->url_tail), rtail = strlen(m->row_tail);

	if (!s || !codes || (o->pin && !pins)) {
		fail_worker(m, "out of memory or OpenSSL failure");
		goto out;
	}
	for (;;) {
		pthread_mutex_lock(&m->lock);
		uint64_t c;
		/* take the next chunk once its slot is free: the writer is within nslots */
		while (c = m->next_chunk, !atomic_load(&m->failed) && !interrupted &&
		                              c < m->nchunks && c >= m->written_chunk + m->nslots)
			pthread_cond_wait(&m->cond, &m->lock);
		if (atomic_load(&m->failed) || interrupted || c >= m->nchunks) {
			pthread_mutex_unlock(&m->lock);
			break;
		}
		m->next_chunk++;
		struct slot *sl = &m->slots[c % m->nslots];
		pthread_mutex_unlock(&m->lock);

		uint64_t first = c * m->chunk;
		size_t n = o->count - first < m->chunk ? (size_t)(o->count - first) : m->chunk;
		if (code_encode_many(s, m->first_serial + first, n, codes, pins) < 0) {
			fail_worker(m, "signing failed (OpenSSL)");
			break;
		}
		char *d = sl->buf;
		for (size_t i = 0; i < n && !interrupted; i++) {
			char grouped[CODE_GROUPED_LEN + 1];
			code_group(codes[i], grouped);
			d = put(d, codes[i], CODE_LEN);
			*d++ = ',';
			d = put(d, grouped, CODE_GROUPED_LEN);
			*d++ = ',';
			char *url = d;
			d = put(d, m->url_head, head);
			d = put(d, codes[i], CODE_LEN);
			d = put(d, m->url_tail, tail);
			if (o->png || o->svg) {
				char u[URL_MAX];
				memcpy(u, url, (size_t)(d - url));
				u[d - url] = '\0';
				if (draw(m, codes[i], u, sl->labels ? &sl->labels[i].qr : NULL) < 0)
					goto out;
			}
			if (pins) {
				*d++ = ',';
				d = put(d, pins[i], CODE_PIN_DIGITS);
			}
			*d++ = ',';
			d = put_u64(d, first + i + 1);
			d = put(d, m->row_tail, rtail);
			if (o->png) {
				d = put(d, ",png/", 5);
				d = put(d, codes[i], CODE_LEN);
				d = put(d, ".png", 4);
			}
			if (o->svg) {
				d = put(d, ",svg/", 5);
				d = put(d, codes[i], CODE_LEN);
				d = put(d, ".svg", 4);
			}
			*d++ = '\n';
		}
		if ((o->pdf || o->zpl) && label_chunk(m, sl, codes, pins, n) < 0)
			break;
		pthread_mutex_lock(&m->lock);
		sl->chunk = c;
		sl->len = (size_t)(d - sl->buf);
		sl->ready = 1;
		pthread_cond_broadcast(&m->cond);
		pthread_mutex_unlock(&m->lock);
	}
out:
	code_signer_free(s);
	free(codes);
	free(pins);
	return NULL;
}

/* Seconds on the one clock (clock.h), for progress and rates. */
static double now(void)
{
	return (double)clock_us() / 1e6;
}

static void progress(const struct mint *m, uint64_t done, double t0, int final)
{
	double dt = now() - t0, rate = dt > 0 ? (double)done / dt : 0;
	double pct = 100.0 * (double)done / (double)m->o->count;
	if (final)
		fprintf(stderr, "\r\033[Kminted %llu codes in %.1f s (%.0f codes/s)\n",
		        (unsigned long long)done, dt, rate);
	else
		fprintf(stderr,
		        "\r\033[Kminting: %llu/%llu codes (%.0f%%), %.0f codes/s, %.0f s left",
		        (unsigned long long)done, (unsigned long long)m->o->count, pct, rate,
		        rate > 0 ? (double)(m->o->count - done) / rate : 0);
}

/* Free the symbols a slot still holds (the writer drew none of them). */
static void free_labels(struct slot *sl, size_t from)
{
	for (size_t i = from; sl->labels && i < sl->nlabels; i++) {
		QRcode_free(sl->labels[i].qr);
		sl->labels[i].qr = NULL;
	}
}

/* A chunk's labels after its rows: ZPL as it is, PDF labels drawn. 0, or -1 with m->error. */
static int write_labels(struct mint *m, struct slot *sl)
{
	if (m->zpl_fd >= 0 && write_all(m->zpl_fd, sl->zpl, sl->zpl_len) < 0) {
		snprintf(m->error, sizeof m->error, "cannot write labels.zpl: %s", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < sl->nlabels; i++) {
		struct label *l = &sl->labels[i];
		char grouped[CODE_GROUPED_LEN + 1];
		code_group(l->code, grouped);
		int rc = interrupted
		             ? -1
		             : pdf_labels_add(m->pdf, l->qr, grouped, m->o->pin ? l->pin : NULL,
		                              m->error, sizeof m->error);
		QRcode_free(l->qr);
		l->qr = NULL;
		if (rc < 0) {
			free_labels(sl, i + 1);
			return -1;
		}
	}
	return 0;
}

/*
 * Write chunks to fd in order as workers finish them. 0, or -1 with m->error.
 * Every WRITEBACK bytes the kernel is asked to start writing them out, so the
 * disk works while we sign and the final fsync has little left to do.
 */
#define WRITEBACK (32 << 20)
static int write_chunks(struct mint *m, int fd)
{
	int show = !m->o->quiet && cli_interactive();
	double t0 = now(), last = 0;
	off_t written = 0, flushed = 0;

	for (uint64_t c = 0; c < m->nchunks; c++) {
		struct slot *sl = &m->slots[c % m->nslots];
		pthread_mutex_lock(&m->lock);
		while (!(sl->ready && sl->chunk == c) && !atomic_load(&m->failed) && !interrupted) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 200 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&m->cond, &m->lock, &ts);
		}
		int stop = atomic_load(&m->failed) || interrupted;
		pthread_mutex_unlock(&m->lock);
		if (stop)
			return -1;
		if (write_all(fd, sl->buf, sl->len) < 0) {
			snprintf(m->error, sizeof m->error, "cannot write codes.csv: %s",
			         strerror(errno));
			return -1;
		}
		if ((m->zpl_fd >= 0 || m->pdf) && write_labels(m, sl) < 0)
			return -1;
		written += (off_t)sl->len;
		if (written - flushed >= WRITEBACK) {
			sync_file_range(fd, flushed, written - flushed, SYNC_FILE_RANGE_WRITE);
			flushed = written;
		}
		pthread_mutex_lock(&m->lock);
		sl->ready = 0;
		m->written_chunk = c + 1;
		pthread_cond_broadcast(&m->cond);
		pthread_mutex_unlock(&m->lock);
		if (show && now() - last > 0.2) {
			last = now();
			progress(
			    m, (c + 1) * m->chunk < m->o->count ? (c + 1) * m->chunk : m->o->count,
			    t0, 0);
		}
	}
	if (show)
		progress(m, m->o->count, t0, 1);
	return 0;
}

static int fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* Images are written without an fsync each: one syncfs makes them all durable. */
static int sync_stage(const struct mint *m)
{
	int fd = open(m->stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = fd < 0 ? -1 : syncfs(fd);
	if (rc < 0)
		cli_error("mint", "cannot flush %s to disk: %s", m->stage, strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

static int write_batch_json(const struct mint *m, const struct product *p, const char *created)
{
	char path[4200];
	const struct options *o = m->o;
	json_t *j = json_pack(
	    "{s:I, s:{s:s, s:s?, s:s, s:I}, s:I, s:I, s:I, s:i, s:s, s:b, s:s, s:s, s:s?, s:s?, "
	    "s:s?, s:s?, s:s?}",
	    "batch", (json_int_t)m->batch_id, "product", "sku", p->sku, "gtin",
	    p->gtin[0] ? p->gtin : NULL, "name", p->name, "points", (json_int_t)p->points,
	    "serial_first", (json_int_t)m->first_serial, "serial_last",
	    (json_int_t)(m->first_serial + o->count - 1), "count", (json_int_t)o->count, "key_id",
	    (int)m->key->id, "created", created, "pin", o->pin, "host", o->host, "url_form",
	    o->short_url || !p->gtin[0] ? "short" : "gs1_digital_link", "factory", o->factory,
	    "line", o->line, "region", o->region, "lot", o->lot, "expiry", o->expiry);
	if (!j)
		return -1;
	json_object_set_new(j, "inactive", json_boolean(m->inactive));
	if (m->expiry_date[0])
		json_object_set_new(j, "expiry_date", json_string(m->expiry_date));
	json_t *files = json_array();
	json_array_append_new(files, json_string("codes.csv"));
	if (o->png)
		json_array_append_new(files, json_string("png/"));
	if (o->svg)
		json_array_append_new(files, json_string("svg/"));
	if (o->pdf) {
		char name[64];
		const struct label_sheet *sh = &o->pdf_opt.sheet;
		for (unsigned i = 0, n = pdf_files(&o->pdf_opt, o->count); i < n; i++) {
			pdf_file_name(&o->pdf_opt, o->count, i, name, sizeof name);
			json_array_append_new(files, json_string(name));
		}
		/* where the labels are, for the press's die and for checking a proof */
		json_object_set_new(
		    j, "pdf",
		    json_pack(
		        "{s:[f,f], s:[f,f], s:[i,i], s:[f,f], s:[f,f], s:I, s:s, s:b}", "sheet_mm",
		        sh->width, sh->height, "label_mm", sh->label_w, sh->label_h, "grid",
		        (int)sh->cols, (int)sh->rows, "first_label_mm", sh->x0, sh->y0, "gap_mm",
		        sh->gap_x, sh->gap_y, "pages",
		        (json_int_t)((o->count + label_per_page(sh) - 1) / label_per_page(sh)),
		        "pin",
		        o->pdf_opt.pin == LABEL_PIN_FIELD     ? "field"
		        : o->pdf_opt.pin == LABEL_PIN_SCRATCH ? "scratch"
		                                              : "none",
		        "crop_marks", o->pdf_opt.crop_marks));
	}
	if (o->zpl) {
		const struct zpl_options *z = &o->zpl_opt;
		json_array_append_new(files, json_string("labels.zpl"));
		json_object_set_new(j, "zpl",
		                    json_pack("{s:i, s:[i,i], s:i}", "dpi", (int)z->dpi,
		                              "label_dots", (int)z->width, (int)z->height,
		                              "magnification", (int)z->magnification));
	}
	json_object_set_new(j, "qr_ecc", json_string(qr_ecc_name(o->style.ecc)));
	json_object_set_new(j, "files", files);
	snprintf(path, sizeof path, "%s/batch.json", m->stage);
	int rc = json_dump_file(j, path, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(j);
	return rc == 0 ? fsync_path(path) : -1;
}

/* labels.zpl and the PDF, opened before the workers start. 0, or -1 after saying why. */
static int open_labels(struct mint *m, const struct product *p)
{
	char path[4200], title[300], err[512];
	if (m->o->zpl) {
		snprintf(path, sizeof path, "%s/labels.zpl", m->stage);
		if ((m->zpl_fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
			return cli_error("mint", "cannot write %s: %s", path, strerror(errno)), -1;
	}
	if (m->o->pdf) {
		snprintf(title, sizeof title, "packcode batch %llu: %llu labels of %s",
		         (unsigned long long)m->batch_id, (unsigned long long)m->o->count, p->sku);
		m->pdf =
		    pdf_labels_open(&m->o->pdf_opt, m->stage, m->o->count, title, err, sizeof err);
		if (!m->pdf)
			return cli_error("mint", "%s", err), -1;
	}
	return 0;
}

/* Close what open_labels opened; when ok, finish it and say why it failed. 0, or -1. */
static int close_labels(struct mint *m, int ok)
{
	int rc = 0;
	if (m->zpl_fd >= 0) {
		if (close(m->zpl_fd) < 0 && ok) {
			snprintf(m->error, sizeof m->error, "cannot write labels.zpl: %s",
			         strerror(errno));
			rc = -1;
		}
		m->zpl_fd = -1;
	}
	if (m->pdf) {
		if (ok && rc == 0 && pdf_labels_close(m->pdf, m->error, sizeof m->error) < 0)
			rc = -1;
		pdf_labels_free(m->pdf);
		m->pdf = NULL;
	}
	return rc;
}

static int generate(struct mint *m, const struct product *p)
{
	pthread_t threads[MAX_THREADS];
	char path[4200];
	unsigned started = 0;
	int rc = -1;

	m->chunk = m->o->pdf || m->o->zpl ? PRINT_CHUNK : CHUNK;
	m->nchunks = (m->o->count + m->chunk - 1) / m->chunk;
	/* code, grouped, url, pin, seq, tail, two image paths, separators */
	m->row_max = CODE_LEN + CODE_GROUPED_LEN + strlen(m->url_head) + CODE_LEN +
	             strlen(m->url_tail) + CODE_PIN_DIGITS + 20 + strlen(m->row_tail) +
	             2 * (CODE_LEN + 10) + 16;
	m->nslots = 2 * m->o->threads;
	m->slots = calloc(m->nslots, sizeof *m->slots);
	if (!m->slots)
		return cli_error("mint", "out of memory"), -1;
	for (unsigned i = 0; i < m->nslots; i++) {
		struct slot *sl = &m->slots[i];
		if (!(sl->buf = malloc(m->chunk * m->row_max)) ||
		    (m->o->zpl && !(sl->zpl = malloc(m->chunk * m->zpl_max))) ||
		    (m->o->pdf && !(sl->labels = calloc(m->chunk, sizeof *sl->labels)))) {
			cli_error("mint", "out of memory");
			goto out;
		}
	}
	if (open_labels(m, p) < 0)
		goto out;
	snprintf(path, sizeof path, "%s/codes.csv", m->stage);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || csv_header(m, fd) < 0) {
		cli_error("mint", "cannot write %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}

	for (; started < m->o->threads; started++)
		if (pthread_create(&threads[started], NULL, worker, m) != 0)
			break;
	if (started == 0) {
		close(fd);
		cli_error("mint", "cannot start worker threads");
		goto out;
	}
	int wrc = write_chunks(m, fd);
	pthread_mutex_lock(&m->lock);
	if (wrc < 0 && !atomic_load(&m->failed))
		atomic_store(&m->failed, 1);
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	for (unsigned i = 0; i < started; i++)
		pthread_join(threads[i], NULL);

	if (wrc == 0 && fsync(fd) != 0) {
		if (wrc == 0)
			snprintf(m->error, sizeof m->error, "cannot write codes.csv: %s",
			         strerror(errno));
		wrc = -1;
	}
	close(fd);
	if (close_labels(m, wrc == 0 && !atomic_load(&m->failed) && !interrupted) < 0)
		wrc = -1;
	if (interrupted)
		cli_error("mint", "interrupted");
	else if (wrc < 0 || atomic_load(&m->failed))
		cli_error("mint", "%s", m->error[0] ? m->error : "failed");
	else
		rc = 0;
out:
	close_labels(m, 0);
	for (unsigned i = 0; i < m->nslots; i++) {
		struct slot *sl = &m->slots[i];
		free(sl->buf);
		free(sl->zpl);
		if (sl->labels) {
			sl->nlabels = m->chunk;
			free_labels(sl, 0);
		}
		free(sl->labels);
	}
	free(m->slots);
	m->slots = NULL;
	return rc;
}

int cmd_mint(int argc, char **argv)
{
	struct options o;
	struct mint m = {.o = &o, .zpl_fd = -1};
	struct product p = {0};
	struct keyring *kr = NULL;
	PGconn *db = NULL;
	char err[DB_ERR_LEN], created[40] = "";
	int rc = parse_options(argc, argv, &o), staged = 0, allocated = 0;
	if (rc >= 0)
		return rc;
	rc = 1;

	pthread_mutex_init(&m.lock, NULL);
	pthread_cond_init(&m.cond, NULL);
	if (!(kr = cli_load_keyring("mint")))
		goto out;
	if (!(m.key = keyring_active(kr))) {
		cli_error("mint", "no active key in %s: run 'packcode-gen keygen'",
		          cli_keyring_path);
		goto out;
	}
	if (o.lot && !o.short_url && strlen(o.lot) > DL_LOT_MAX) {
		cli_usage("mint", "--lot must be at most %d characters", DL_LOT_MAX);
		rc = 2;
		goto out;
	}
	if (!(db = db_connect(err, sizeof err))) {
		cli_error("mint", "%s", err);
		goto out;
	}
	if (load_product(db, o.sku, &p) < 0)
		goto out;
	if ((o.lot || o.expiry) && !p.gtin[0]) {
		/* they would reach no URL: a lot and an expiry qualify a GTIN (GS1 AI 10, 17) */
		cli_error("mint",
		          "product %s has no GTIN: --lot and --expiry qualify a GTIN (GS1 AI 10 "
		          "and 17); give the product one (product add --gtin) or mint without them",
		          p.sku);
		goto out;
	}
	if (url_template(&m, &p) < 0)
		goto out;
	if (qr_setup(&m, &o, o.short_url || !p.gtin[0]) != 0) {
		rc = 2;
		goto out;
	}
	if (make_stage(&m) < 0)
		goto out;
	staged = 1;

	struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);

	if (allocate(db, &m, created, sizeof created) < 0)
		goto restore;
	allocated = 1;
	{
		char sku[160];
		size_t n = (size_t)snprintf(m.row_tail, sizeof m.row_tail, ",%llu,",
		                            (unsigned long long)m.batch_id);
		csv_field(sku, sizeof sku, p.sku);
		snprintf(m.row_tail + n, sizeof m.row_tail - n, "%s,%s", sku, p.gtin);
	}
	if (generate(&m, &p) < 0)
		goto restore;
	if (write_batch_json(&m, &p, created) < 0) {
		cli_error("mint", "cannot write batch.json: %s", strerror(errno));
		goto restore;
	}
	if (interrupted) {
		cli_error("mint", "interrupted");
		goto restore;
	}
	if (sync_stage(&m) < 0)
		goto restore;
	/* complete on disk: make the batch live, then show the files */
	if (set_status(db, m.batch_id, "minting", "active", NULL) < 0)
		goto restore;
	allocated = 0;
	if (rename(m.stage, o.out) < 0) {
		cli_error("mint", "cannot move the files into %s: %s", o.out, strerror(errno));
		set_status(db, m.batch_id, "active", "void", "files could not be moved into place");
		goto restore;
	}
	staged = 0;
	{
		char parent[4096];
		snprintf(parent, sizeof parent, "%s/..", o.out);
		fsync_path(parent);
	}
	if (!o.quiet) {
		printf("batch %llu: %llu codes of %s \"%s\", signed with key %u\n",
		       (unsigned long long)m.batch_id, (unsigned long long)o.count, p.sku, p.name,
		       m.key->id);
		if (m.inactive)
			printf("  inactive: its codes answer \"never released for sale\" until "
			       "'packcode-gen batch activate %llu'\n",
			       (unsigned long long)m.batch_id);
		printf("  %s/codes.csv\n  %s/batch.json\n", o.out, o.out);
		if (o.png)
			printf("  %s/png/ (%llu images)\n", o.out, (unsigned long long)o.count);
		if (o.svg)
			printf("  %s/svg/ (%llu images)\n", o.out, (unsigned long long)o.count);
		if (o.pdf) {
			const struct label_sheet *sh = &o.pdf_opt.sheet;
			unsigned nf = pdf_files(&o.pdf_opt, o.count);
			char first[64], last[64];
			pdf_file_name(&o.pdf_opt, o.count, 0, first, sizeof first);
			pdf_file_name(&o.pdf_opt, o.count, nf - 1, last, sizeof last);
			printf("  %s/%s%s%s (%llu pages of %ux%u labels of %.4gx%.4g mm on %s)\n",
			       o.out, first, nf > 1 ? " to " : "", nf > 1 ? last : "",
			       (unsigned long long)((o.count + label_per_page(sh) - 1) /
			                            label_per_page(sh)),
			       sh->cols, sh->rows, sh->label_w, sh->label_h, o.sheet_name);
		}
		if (o.zpl)
			printf("  %s/labels.zpl (%llu labels of %ux%u dots at %u dpi)\n", o.out,
			       (unsigned long long)o.count, o.zpl_opt.width, o.zpl_opt.height,
			       o.zpl_opt.dpi);
	}
	rc = 0;
restore:
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
out:
	if (staged)
		remove_tree(m.stage);
	if (allocated && db)
		set_status(db, m.batch_id, "minting", "void",
		           interrupted ? "interrupted" : "mint failed");
	PQfinish(db);
	keyring_free(kr);
	if (o.pdf)
		pdf_release();
	pthread_mutex_destroy(&m.lock);
	pthread_cond_destroy(&m.cond);
	return rc;
}
