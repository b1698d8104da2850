/*
 * cmd_product.c: packcode-gen product add|list and batches: the catalogue and
 * the print runs in the database.
 *
 * Every input is checked here, before the database is touched, against the
 * same rules as the CHECK constraints of sql/001_core.sql, so a bad value is
 * one clear line, not a constraint name; values only travel as query parameters.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "url.h"

#define SKU_MAX         64
#define NAME_MAX_CHARS  200
#define BRAND_MAX_CHARS 200
#define POINTS_MAX      1000000
#define UTC_TIME(col)   "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static const char product_help[] =
    "Usage: packcode-gen product add --sku SKU --name NAME --points N [--gtin GTIN]\n"
    "                                [--brand BRAND]\n"
    "       packcode-gen product list\n"
    "\n"
    "Register the products that codes are minted for, and list them.\n"
    "\n"
    "add: register a product. Its SKU is its name in every other command.\n"
    "  --sku SKU        1 to 64 characters: letters, digits, '.', '_' and '-',\n"
    "                   starting with a letter or digit; must be new\n"
    "  --name NAME      what the consumer sees: 1 to 200 characters of UTF-8\n"
    "  --points N       loyalty points one claimed code awards, 0 to 1000000\n"
    "  --gtin GTIN      the product's barcode number: GTIN-8, -12 (UPC-A), -13\n"
    "                   (EAN-13) or -14 with a right check digit; stored as\n"
    "                   GTIN-14 (zero padded); must be new. Needed for GS1 Digital\n"
    "                   Link QR codes.\n"
    "  --brand BRAND    up to 200 characters (default: none)\n"
    "\n"
    "list: print every product: SKU, GTIN, points, brand and name.\n"
    "\n"
    "The database is PACKCODE_DB, or the embedded cluster (see 'packcode-gen db\n"
    "--help'), started on first use.\n"
    "\n"
    "Exit status: 0 on success, 1 on failure (one line on stderr, nothing\n"
    "changed), 2 on a usage error.\n";

static const char batches_help[] =
    "Usage: packcode-gen batches [--product SKU]\n"
    "\n"
    "List the print runs (batches), oldest first: id, product SKU, the key that\n"
    "signs its codes, how many codes it holds, its status and when it was created\n"
    "and printed (UTC). Status is one of:\n"
    "\n"
    "  minting   its files are being written, or minting was interrupted\n"
    "  active    printed: its codes verify and can be claimed\n"
    "  recalled  withdrawn: its codes are answered as recalled\n"
    "  void      never completed: its codes are not genuine\n"
    "\n"
    "Options:\n"
    "  --product SKU    only the batches of this product\n"
    "\n"
    "Exit status: 0 on success, 1 on failure, 2 on a usage error.\n";

/* ---- validation ---- */

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

/* ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$, as products.sku's CHECK */
static int sku_valid(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n <= SKU_MAX && strspn(s, ALNUM) >= 1 &&
	       strspn(s + 1, ALNUM "._-") == n - 1;
}

/*
 * Characters in s if it is well-formed UTF-8 (no overlong forms, surrogates
 * or code points past U+10FFFF) without control characters; else -1.
 */
static long utf8_text_chars(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	long chars = 0;
	while (*p) {
		uint32_t cp;
		int more;
		if (*p < 0x80) {
			cp = *p;
			more = 0;
		} else if (*p >= 0xc2 && *p <= 0xdf) {
			cp = *p & 0x1f;
			more = 1;
		} else if (*p >= 0xe0 && *p <= 0xef) {
			cp = *p & 0x0f;
			more = 2;
		} else if (*p >= 0xf0 && *p <= 0xf4) {
			cp = *p & 0x07;
			more = 3;
		} else {
			return -1;
		}
		p++;
		for (int i = 0; i < more; i++, p++) {
			if ((*p & 0xc0) != 0x80)
				return -1;
			cp = cp << 6 | (*p & 0x3f);
		}
		if ((more == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (more == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return -1;
		if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			return -1;
		chars++;
	}
	return chars;
}

/* One line about what is wrong with a text option, or 0 if it is fine. */
static int check_text(const char *cmd, const char *what, const char *s, long min, long max)
{
	long n = utf8_text_chars(s);
	if (n < 0)
		return cli_error(cmd, "%s must be UTF-8 text without control characters", what);
	if (n < min || n > max)
		return cli_error(cmd, "%s must be %ld to %ld characters, not %ld", what, min, max,
		                 n);
	return 0;
}

/* ---- product add ---- */

static int product_add(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"sku", required_argument, NULL, 's'},
	    {"name", required_argument, NULL, 'n'},
	    {"points", required_argument, NULL, 'p'},
	    {"gtin", required_argument, NULL, 'g'},
	    {"brand", required_argument, NULL, 'b'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *cmd = "product add";
	const char *sku = NULL, *name = NULL, *points = NULL, *gtin = NULL, *brand = "";
	char gtin14[GTIN_LEN + 1], err[DB_ERR_LEN], line[DB_ERR_LEN];
	uint64_t pts;
	int c, rc = 1;

	opterr = 0; /* one line of our own instead of getopt's */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sku = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'p':
			points = optarg;
			break;
		case 'g':
			gtin = optarg;
			break;
		case 'b':
			brand = optarg;
			break;
		case 'h':
			fputs(product_help, stdout);
			return 0;
		default:
			return cli_usage("product", "unknown option or missing value: \"%s\"",
			                 argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage("product", "unexpected argument \"%s\"", argv[optind]);
	if (!sku || !name || !points)
		return cli_usage("product", "add needs --sku, --name and --points");

	if (!sku_valid(sku))
		return cli_error(cmd,
		                 "SKU \"%.80s\" is not 1 to %d letters, digits, '.', '_' or '-' "
		                 "starting with a letter or digit",
		                 sku, SKU_MAX);
	if (check_text(cmd, "the name", name, 1, NAME_MAX_CHARS) ||
	    check_text(cmd, "the brand", brand, 0, BRAND_MAX_CHARS))
		return 1;
	if (cli_parse_u64(points, 0, POINTS_MAX, &pts) < 0)
		return cli_error(cmd, "points must be a whole number from 0 to %d, not \"%.40s\"",
		                 POINTS_MAX, points);
	if (gtin && gtin_normalize(gtin, gtin14, err, sizeof err) < 0)
		return cli_error(cmd, "%s", err);

	PGconn *db = db_connect(err, sizeof err);
	if (!db)
		return cli_error(cmd, "%s", err);
	char pts_s[16];
	snprintf(pts_s, sizeof pts_s, "%u", (unsigned)pts);
	const char *params[] = {sku, gtin ? gtin14 : NULL, name, brand, pts_s};
	PGresult *r = PQexecParams(db,
	                           "INSERT INTO products (sku, gtin, name, brand, points) "
	                           "VALUES ($1, $2, $3, $4, $5::integer)",
	                           5, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		const char *constraint = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
		if (state && strcmp(state, "23505") == 0 && constraint &&
		    strcmp(constraint, "products_pkey") == 0)
			cli_error(cmd, "product \"%s\" already exists", sku);
		else if (state && strcmp(state, "23505") == 0 && constraint &&
		         strcmp(constraint, "products_gtin_key") == 0)
			cli_error(cmd, "GTIN %s is already used by another product", gtin14);
		else
			cli_error(cmd, "%s", db_error_line(r, db, line, sizeof line));
		goto out;
	}
	printf("added product %s", sku);
	if (gtin)
		printf(", GTIN %s", gtin14);
	printf(", %u points\n", (unsigned)pts);
	rc = 0;
out:
	PQclear(r);
	PQfinish(db);
	return rc;
}

/* ---- tables ---- */

/* Display width of UTF-8 text: one column per code point (good enough for a table). */
static int text_width(const char *s)
{
	int w = 0;
	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/* Print the rows of r as columns; the last one is not padded. */
static void print_table(const PGresult *r, const char *const headers[], int ncols)
{
	int width[16] = {0};
	int rows = PQntuples(r);
	for (int j = 0; j < ncols && j < 16; j++) {
		width[j] = text_width(headers[j]);
		for (int i = 0; i < rows; i++) {
			int w = text_width(PQgetvalue(r, i, j));
			if (w > width[j])
				width[j] = w;
		}
	}
	for (int i = -1; i < rows; i++) {
		for (int j = 0; j < ncols && j < 16; j++) {
			const char *v = i < 0 ? headers[j] : PQgetvalue(r, i, j);
			if (j == ncols - 1)
				printf("%s\n", v);
			else
				printf("%s%*s  ", v, width[j] - text_width(v), "");
		}
	}
}

static int product_list(int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
	static const char *const headers[] = {"SKU", "GTIN", "POINTS", "BRAND", "NAME"};
	const char *cmd = "product list";
	char err[DB_ERR_LEN];
	int c, rc = 1;
	opterr = 0; /* one line of our own instead of getopt's */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(product_help, stdout);
			return 0;
		}
		return cli_usage("product", "unknown option or missing value: \"%s\"",
		                 argv[optind - 1]);
	}
	if (optind < argc)
		return cli_usage("product", "unexpected argument \"%s\"", argv[optind]);
	PGconn *db = db_connect(err, sizeof err);
	if (!db)
		return cli_error(cmd, "%s", err);
	PGresult *r = PQexec(db, "SELECT sku, coalesce(gtin, '-'), points, "
	                         "CASE WHEN brand = '' THEN '-' ELSE brand END, name "
	                         "FROM products ORDER BY sku");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		cli_error(cmd, "%s", db_error_line(r, db, err, sizeof err));
		goto out;
	}
	print_table(r, headers, 5);
	rc = 0;
out:
	PQclear(r);
	PQfinish(db);
	return rc;
}

int cmd_product(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "add") == 0)
		return product_add(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "list") == 0)
		return product_list(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(product_help, stdout);
		return 0;
	}
	if (argc < 2)
		return cli_usage("product", "expected 'add' or 'list'");
	return cli_usage("product", "unknown action \"%s\"", argv[1]);
}

/* ---- batches ---- */

int cmd_batches(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"product", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	static const char *const headers[] = {"ID",     "SKU",     "KEY",    "COUNT",
	                                      "STATUS", "CREATED", "PRINTED"};
	const char *sku = NULL;
	char err[DB_ERR_LEN];
	PGresult *r = NULL;
	int c, rc = 1;

	opterr = 0; /* one line of our own instead of getopt's */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			sku = optarg;
			break;
		case 'h':
			fputs(batches_help, stdout);
			return 0;
		default:
			return cli_usage("batches", "unknown option or missing value: \"%s\"",
			                 argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage("batches", "unexpected argument \"%s\"", argv[optind]);
	if (sku && !sku_valid(sku))
		return cli_error("batches", "no product \"%.80s\" (not a valid SKU)", sku);

	PGconn *db = db_connect(err, sizeof err);
	if (!db)
		return cli_error("batches", "%s", err);
	const char *params[] = {sku};
	if (sku) {
		r = PQexecParams(db, "SELECT 1 FROM products WHERE sku = $1", 1, NULL, params, NULL,
		                 NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			cli_error("batches", "%s", db_error_line(r, db, err, sizeof err));
			goto out;
		}
		if (PQntuples(r) == 0) {
			cli_error("batches", "no product \"%s\"", sku);
			goto out;
		}
		PQclear(r);
	}
	r = PQexecParams(db,
	                 "SELECT id, product_sku, key_id, serial_last - serial_first + 1, "
	                 "status, " UTC_TIME("created_at") ", coalesce(" UTC_TIME(
	                     "printed_at") ", '-') "
	                                   "FROM batches WHERE $1::text IS NULL OR product_sku = "
	                                   "$1 ORDER BY id",
	                 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		cli_error("batches", "%s", db_error_line(r, db, err, sizeof err));
		goto out;
	}
	print_table(r, headers, 7);
	rc = 0;
out:
	PQclear(r);
	PQfinish(db);
	return rc;
}
