/*
 * cmd_product.c: packcode-gen product add|list and batches: the catalogue and
 * the print runs in the database.
 *
 * Every input is checked here, before the database is touched, against the
 * same rules as the CHECK constraints of sql/001_core.sql, so a bad value is
 * one clear line, not a constraint name; values only travel as query parameters.
 * A product is added by product_add() (sql/006), the function the admin API
 * uses too, with its audit row (actor cli:USER) in the same transaction.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "product.h"
#include "statements.h"
#include "url.h"

static const char product_help[] =
    "Usage: packcode-gen product add --sku SKU --name NAME --points N [--gtin GTIN]\n"
    "                                [--brand BRAND] [--inactive-by-default]\n"
    "       packcode-gen product list\n"
    "       packcode-gen product link|unlink|links ...  (the resolver's links: see\n"
    "                                                 'product link --help')\n"
    "       packcode-gen product set SKU --inactive-by-default|--active-by-default\n"
    "       packcode-gen product set SKU --case|--item\n"
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
    "  --inactive-by-default  mint its print runs inactive unless mint --active:\n"
    "                   their codes are valid only once 'packcode-gen batch\n"
    "                   activate' releases them (docs/supply-chain.md)\n"
    "\n"
    "list: print every product: SKU, GTIN, points, brand and name.\n"
    "\n"
    "set: whether the product's next print runs are minted inactive (released\n"
    "  by 'packcode-gen batch activate') or valid at once; batches already\n"
    "  minted keep theirs. Audited as product.inactive_by_default.\n"
    "  --case makes it a case product (a packaging level: its codes are cases\n"
    "  that 'packcode-gen pack' packs items into; it needs a GTIN), --item a\n"
    "  consumer pack again. Audited as product.packaging.\n"
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
    "  expired   taken out of sale as expired ('packcode-gen batch expire')\n"
    "\n"
    "A batch minted inactive answers \"never released for sale\" for every code\n"
    "no 'packcode-gen batch activate' has released (docs/supply-chain.md).\n"
    "\n"
    "Options:\n"
    "  --product SKU    only the batches of this product\n"
    "\n"
    "Exit status: 0 on success, 1 on failure, 2 on a usage error.\n";

/* ---- product add ---- */

static int product_add(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"sku", required_argument, NULL, 's'},
	    {"name", required_argument, NULL, 'n'},
	    {"points", required_argument, NULL, 'p'},
	    {"gtin", required_argument, NULL, 'g'},
	    {"brand", required_argument, NULL, 'b'},
	    {"inactive-by-default", no_argument, NULL, 'i'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *cmd = "product add";
	int inactive = 0;
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
		case 'i':
			inactive = 1;
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

	if (cli_parse_u64(points, 0, PRODUCT_POINTS_MAX, &pts) < 0)
		return cli_error(cmd, "points must be a whole number from 0 to %d, not \"%.40s\"",
		                 PRODUCT_POINTS_MAX, points);
	if (product_check(sku, name, brand, (long long)pts, gtin, gtin14, err, sizeof err) < 0)
		return cli_error(cmd, "%s", err);

	PGconn *db = db_connect(err, sizeof err);
	if (!db)
		return cli_error(cmd, "%s", err);
	char pts_s[16], who[CLI_ACTOR_LEN];
	snprintf(pts_s, sizeof pts_s, "%u", (unsigned)pts);
	const char *params[] = {
	    cli_actor(who, sizeof who), sku, gtin ? gtin14 : NULL, name, brand, pts_s};
	/* the product and its default together, or neither */
	PGresult *r = PQexec(db, STMT_BEGIN);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		cli_error(cmd, "%s", db_error_line(r, db, line, sizeof line));
		goto out;
	}
	PQclear(r);
	r = PQexecParams(db, STMT_PRODUCT_ADD, 6, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		cli_error(cmd, "%s", db_error_line(r, db, line, sizeof line));
		goto out;
	}
	if (inactive && strcmp(PQgetvalue(r, 0, 0), "added") == 0) {
		const char *p2[] = {who, sku, "true"};
		PGresult *r2 =
		    PQexecParams(db, STMT_PRODUCT_INACTIVE_DEFAULT, 3, NULL, p2, NULL, NULL, 0);
		int ok = PQresultStatus(r2) == PGRES_TUPLES_OK;
		if (!ok)
			cli_error(cmd, "%s", db_error_line(r2, db, line, sizeof line));
		PQclear(r2);
		if (!ok)
			goto out;
	}
	PGresult *cr = PQexec(db, STMT_COMMIT);
	int committed = PQresultStatus(cr) == PGRES_COMMAND_OK;
	if (!committed)
		cli_error(cmd, "%s", db_error_line(cr, db, line, sizeof line));
	PQclear(cr);
	if (!committed)
		goto out;
	const char *outcome = PQgetvalue(r, 0, 0);
	if (strcmp(outcome, "sku_exists") == 0) {
		cli_error(cmd, "product \"%s\" already exists", sku);
		goto out;
	}
	if (strcmp(outcome, "gtin_exists") == 0) {
		cli_error(cmd, "GTIN %s is already used by another product", gtin14);
		goto out;
	}
	printf("added product %s", sku);
	if (gtin)
		printf(", GTIN %s", gtin14);
	printf(", %u points%s\n", (unsigned)pts, inactive ? ", minted inactive by default" : "");
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
	PGresult *r = PQexec(db, STMT_PRODUCT_LIST);
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

/* ---- product set ---- */

/* product set SKU --case|--item: its packaging level (sql/018_packing.sql). */
static int product_set_packaging(const char *sku, const char *packaging)
{
	const char *cmd = "product set";
	char err[DB_ERR_LEN], line[DB_ERR_LEN], who[CLI_ACTOR_LEN];
	int rc = 1;
	if (product_sku_check(sku) < 0)
		return cli_error(cmd, "\"%.64s\" is not a SKU", sku);
	PGconn *db = db_connect(err, sizeof err);
	if (!db)
		return cli_error(cmd, "%s", err);
	const char *params[] = {cli_actor(who, sizeof who), sku, packaging};
	PGresult *r = PQexecParams(db, STMT_PRODUCT_PACKAGING, 3, NULL, params, NULL, NULL, 0);
	const char *o =
	    PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : NULL;
	if (!o)
		cli_error(cmd, "%s", db_error_line(r, db, line, sizeof line));
	else if (strcmp(o, "unknown_product") == 0)
		cli_error(cmd, "unknown product \"%s\" (see 'packcode-gen product list')", sku);
	else if (strcmp(o, "no_gtin") == 0)
		cli_error(cmd, "product %s has no GTIN: a case's codes are GTIN + serial", sku);
	else {
		printf("product %s: %s%s\n", sku, packaging,
		       strcmp(o, "unchanged") == 0 ? " (unchanged)" : "");
		rc = 0;
	}
	PQclear(r);
	PQfinish(db);
	return rc;
}

static int product_set(int argc, char **argv)
{
	const char *cmd = "product set";
	char err[DB_ERR_LEN], line[DB_ERR_LEN], who[CLI_ACTOR_LEN];
	int inactive = -1, rc = 1;
	const char *packaging = NULL;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--inactive-by-default") == 0)
			inactive = 1;
		else if (strcmp(argv[i], "--active-by-default") == 0)
			inactive = 0;
		else if (strcmp(argv[i], "--case") == 0)
			packaging = "case";
		else if (strcmp(argv[i], "--item") == 0)
			packaging = "item";
		else
			return cli_usage("product", "unexpected argument \"%s\"", argv[i]);
	}
	if (argc < 2 || argv[1][0] == '-' || (inactive < 0) == !packaging)
		return cli_usage("product", "set needs a SKU and one of --inactive-by-default, "
		                            "--active-by-default, --case or --item");
	if (packaging)
		return product_set_packaging(argv[1], packaging);
	if (product_sku_check(argv[1]) < 0)
		return cli_error(cmd, "\"%.64s\" is not a SKU", argv[1]);
	PGconn *db = db_connect(err, sizeof err);
	if (!db)
		return cli_error(cmd, "%s", err);
	const char *params[] = {cli_actor(who, sizeof who), argv[1], inactive ? "true" : "false"};
	PGresult *r =
	    PQexecParams(db, STMT_PRODUCT_INACTIVE_DEFAULT, 3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		cli_error(cmd, "%s", db_error_line(r, db, line, sizeof line));
	else if (strcmp(PQgetvalue(r, 0, 0), "unknown_product") == 0)
		cli_error(cmd, "unknown product \"%s\" (see 'packcode-gen product list')", argv[1]);
	else {
		printf("product %s: print runs minted %s by default%s\n", argv[1],
		       inactive ? "inactive" : "active",
		       strcmp(PQgetvalue(r, 0, 0), "unchanged") == 0 ? " (unchanged)" : "");
		rc = 0;
	}
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
	if (argc >= 2 && (strcmp(argv[1], "link") == 0 || strcmp(argv[1], "unlink") == 0 ||
	                  strcmp(argv[1], "links") == 0))
		return cmd_product_link(argc - 1, argv + 1); /* cmd_link.c */
	if (argc >= 2 && strcmp(argv[1], "set") == 0)
		return product_set(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(product_help, stdout);
		return 0;
	}
	if (argc < 2)
		return cli_usage("product", "expected 'add', 'list' or 'set'");
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
	if (sku && product_sku_check(sku) < 0)
		return cli_error("batches", "no product \"%.80s\" (not a valid SKU)", sku);

	PGconn *db = db_connect(err, sizeof err);
	if (!db)
		return cli_error("batches", "%s", err);
	const char *params[] = {sku};
	if (sku) {
		r = PQexecParams(db, STMT_PRODUCT_EXISTS, 1, NULL, params, NULL, NULL, 0);
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
	r = PQexecParams(db, STMT_BATCH_LIST, 1, NULL, params, NULL, NULL, 0);
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
