/*
 * cmd_link.c: packcode-gen product link|unlink|links: the links a brand
 * sets per product for the GS1 Digital Link resolver (docs/resolver.md).
 * Checked by dl_link_check (lib/url.c) before the database is touched,
 * written by product_link_set() (sql/014_resolver.sql), the function the
 * admin API uses too, with its audit row (actor cli:USER).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "product.h"
#include "statements.h"
#include "url.h"

static const char link_help[] =
    "Usage: packcode-gen product link SKU TYPE URL --title TITLE [--hreflang LANG]\n"
    "                                 [--type MEDIA-TYPE]\n"
    "       packcode-gen product unlink SKU TYPE [--hreflang LANG]\n"
    "       packcode-gen product links SKU\n"
    "\n"
    "The links of a product that the GS1 Digital Link resolver answers for its\n"
    "codes: ?linkType=TYPE redirects (307) to URL; every resolution lists them in\n"
    "its Link header and its linkset.\n"
    "\n"
    "link: set (or replace) the product's link of TYPE (and LANG: a product may\n"
    "have one link of a type per language; a request's Accept-Language picks).\n"
    "  TYPE               a GS1 link type a brand sets: gs1:pip (the product page),\n"
    "                     gs1:certificationInfo, gs1:instructions, gs1:safetyInfo,\n"
    "                     gs1:sustainabilityInfo, gs1:recyclingInfo, gs1:promotion,\n"
    "                     gs1:epil, gs1:support, gs1:registerProduct, gs1:review,\n"
    "                     gs1:relatedVideo, gs1:recipeInfo, gs1:nutritionalInfo,\n"
    "                     gs1:allergenInfo, gs1:faqs, gs1:masterData,\n"
    "                     gs1:traceability, gs1:socialMedia (the gs1: may be left out)\n"
    "  URL                an https:// URL, at most 1000 characters\n"
    "  --title TITLE      what a person sees for the link: 1 to 200 bytes\n"
    "  --hreflang LANG    the language of the page (en, zh-CN); default: none\n"
    "  --type MEDIA-TYPE  the media type of the target; default: text/html\n"
    "\n"
    "unlink: remove the product's links of TYPE (with --hreflang, of LANG only).\n"
    "links: print the product's links: type, URL, language, media type, title.\n"
    "\n"
    "Exit status: 0 on success, 1 on failure (one line on stderr, nothing\n"
    "changed), 2 on a usage error.\n";

/* link SKU TYPE URL ... (remove: unlink SKU TYPE) */
static int link_set(int argc, char **argv, int remove)
{
	static const struct option opts[] = {
	    {"title", required_argument, NULL, 't'},
	    {"hreflang", required_argument, NULL, 'l'},
	    {"type", required_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *cmd = remove ? "product unlink" : "product link";
	const char *title = NULL, *lang = "", *media = "text/html";
	int lang_given = 0;
	char err[DB_ERR_LEN], line[DB_ERR_LEN], who[CLI_ACTOR_LEN];
	enum dl_link_type t;
	int c, rc = 1;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			title = optarg;
			break;
		case 'l':
			lang = optarg;
			lang_given = 1;
			break;
		case 'm':
			media = optarg;
			break;
		case 'h':
			fputs(link_help, stdout);
			return 0;
		default:
			return cli_usage("product", "unknown option or missing value: \"%s\"",
			                 argv[optind - 1]);
		}
	}
	if (argc - optind != (remove ? 2 : 3))
		return cli_usage("product", remove ? "unlink needs SKU and TYPE"
		                                   : "link needs SKU, TYPE and URL");
	if (!remove && !title)
		return cli_usage("product", "link needs --title");
	const char *sku = argv[optind], *type = argv[optind + 1];
	const char *href = remove ? "https://x" : argv[optind + 2];
	if (product_sku_check(sku) < 0)
		return cli_error(cmd, "no product \"%.80s\" (not a valid SKU)", sku);
	if (dl_link_check(type, href, remove ? "x" : title, lang, media, &t, err, sizeof err) < 0)
		return cli_error(cmd, "%s", err);

	PGconn *db = db_connect(err, sizeof err);
	if (!db)
		return cli_error(cmd, "%s", err);
	const char *params[] = {cli_actor(who, sizeof who), sku,
	                        dl_link_type_term(t),       remove ? NULL : href,
	                        remove ? NULL : title,      remove && !lang_given ? NULL : lang,
	                        remove ? NULL : media};
	PGresult *r = PQexecParams(db, STMT_PRODUCT_LINK_SET, 7, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		cli_error(cmd, "%s", db_error_line(r, db, line, sizeof line));
		goto out;
	}
	const char *outcome = PQgetvalue(r, 0, 0);
	if (strcmp(outcome, "no_product") == 0) {
		cli_error(cmd, "no product \"%s\"", sku);
		goto out;
	}
	if (strcmp(outcome, "unchanged") == 0) {
		cli_error(cmd, "product %s has no gs1:%s link", sku, dl_link_type_term(t));
		goto out;
	}
	if (remove)
		printf("removed the gs1:%s link of product %s\n", dl_link_type_term(t), sku);
	else
		printf("product %s: gs1:%s -> %s\n", sku, dl_link_type_term(t), href);
	rc = 0;
out:
	PQclear(r);
	PQfinish(db);
	return rc;
}

static int link_list(int argc, char **argv)
{
	const char *cmd = "product links";
	char err[DB_ERR_LEN];
	int rc = 1;
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(link_help, stdout);
		return 0;
	}
	if (argc != 2)
		return cli_usage("product", "links needs SKU");
	if (product_sku_check(argv[1]) < 0)
		return cli_error(cmd, "no product \"%.80s\" (not a valid SKU)", argv[1]);
	PGconn *db = db_connect(err, sizeof err);
	if (!db)
		return cli_error(cmd, "%s", err);
	const char *params[] = {argv[1]};
	PGresult *r = PQexecParams(db, STMT_PRODUCT_LINKS, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		cli_error(cmd, "%s", db_error_line(r, db, err, sizeof err));
		goto out;
	}
	if (PQntuples(r) == 0) {
		cli_error(cmd, "no product \"%s\"", argv[1]);
		goto out;
	}
	for (int i = 0; i < PQntuples(r); i++)
		if (!PQgetisnull(r, i, 0))
			printf("gs1:%s\t%s\t%s\t%s\t%s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
			       PQgetvalue(r, i, 2)[0] ? PQgetvalue(r, i, 2) : "-",
			       PQgetvalue(r, i, 3), PQgetvalue(r, i, 4));
	rc = 0;
out:
	PQclear(r);
	PQfinish(db);
	return rc;
}

int cmd_product_link(int argc, char **argv)
{
	if (strcmp(argv[0], "links") == 0)
		return link_list(argc, argv);
	return link_set(argc, argv, strcmp(argv[0], "unlink") == 0);
}
