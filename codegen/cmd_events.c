/*
 * cmd_events.c: packcode-gen events, the chain of custody as a GS1 EPCIS
 * 2.0 document (docs/epcis.md), through the admin API's functions
 * (epcis_begin writes the COPY of the events, sql/020_epcis.sql); the
 * events are written as they come, each code put in by the keyring
 * (lib/epcis.c), so memory stays flat. 'events gln' sets a brand's GLN.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "db.h"
#include "epcis.h"
#include "statements.h"

static const char help[] =
    "Usage: packcode-gen events [--batch N] [--from TIME] [--to TIME] [--kind LIST]\n"
    "                           [--brands LIST] [--out FILE]\n"
    "       packcode-gen events gln BRAND GLN|none\n"
    "\n"
    "Write the chain of custody as one GS1 EPCIS 2.0 document (JSON-LD), as the\n"
    "admin API's GET /api/v1/admin/events does (docs/epcis.md): commissioning\n"
    "(mint), activation, pack states, expiry, packing into cases and pallets,\n"
    "shipments and, on request, consumer scans.\n"
    "\n"
    "  --batch N          only the events of print run N\n"
    "  --from, --to TIME  events of [--from, --to): a date (2026-12-01: midnight\n"
    "                     UTC) or a time with its offset; default: all of them\n"
    "  --kind LIST        commissioning, activation, state, expiry, packing,\n"
    "                     shipping, receiving, scan, or all\n"
    "                     (comma-separated); default: all but scan\n"
    "  --brands LIST      only these brands' events, as a token limited to them\n"
    "  --out FILE         write to FILE (default: stdout)\n"
    "\n"
    "gln: the brand's GS1 Global Location Number (13 digits), the readPoint and\n"
    "bizLocation of its events; none removes it (the fields are then omitted).\n"
    "Audited as brand.gln.\n";

struct out {
	FILE *f;
	int failed;
};

static int put(void *ctx, const char *s, size_t n)
{
	struct out *o = ctx;
	if (!o->failed && fwrite(s, 1, n, o->f) != n)
		o->failed = 1;
	return 0; /* read on to the end: the connection stays usable */
}

static int cmd_gln(int argc, char **argv)
{
	if (argc != 3)
		return cli_usage("events gln", "expected BRAND and GLN (or none)");
	char err[DB_ERR_LEN], line[DB_ERR_LEN], actor[CLI_ACTOR_LEN + 1];
	const char *gln = strcmp(argv[2], "none") == 0 ? NULL : argv[2];
	PGconn *db = db_connect(err, sizeof err);
	if (!db)
		return cli_error("events gln", "%s", err);
	const char *params[] = {cli_actor(actor, sizeof actor), argv[1], gln};
	PGresult *r = PQexecParams(db, STMT_BRAND_SET_GLN, 3, NULL, params, NULL, NULL, 0);
	int rc = 1;
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		cli_error("events gln", "%s", db_error_line(r, db, line, sizeof line));
	else if (strcmp(PQgetvalue(r, 0, 0), "unknown_brand") == 0)
		cli_error("events gln", "unknown brand \"%s\"", argv[1]);
	else {
		printf("%s: GLN %s%s\n", argv[1], gln ? gln : "none",
		       strcmp(PQgetvalue(r, 0, 0), "unchanged") == 0 ? " (unchanged)" : "");
		rc = 0;
	}
	PQclear(r);
	PQfinish(db);
	return rc;
}

int cmd_events(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"batch", required_argument, NULL, 'b'},  {"from", required_argument, NULL, 'f'},
	    {"to", required_argument, NULL, 't'},     {"kind", required_argument, NULL, 'k'},
	    {"brands", required_argument, NULL, 'B'}, {"out", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},         {0},
	};
	const char *from = NULL, *to = NULL, *kinds = NULL, *brands = NULL, *path = NULL;
	const char *batch = NULL;
	long long n;
	int c;
	char err[DB_ERR_LEN], line[DB_ERR_LEN];

	if (argc >= 2 && strcmp(argv[1], "gln") == 0)
		return cmd_gln(argc - 1, argv + 1);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			if (cli_parse_int(optarg, 1, INT64_MAX, &n) < 0)
				return cli_usage("events", "--batch is a batch number, not \"%s\"",
				                 optarg);
			batch = optarg;
			break;
		case 'f':
			from = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 'k':
			kinds = optarg;
			break;
		case 'B':
			brands = optarg;
			break;
		case 'o':
			path = optarg;
			break;
		case 'h':
			fputs(help, stdout);
			return 0;
		default:
			return cli_usage("events", "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage("events", "unexpected argument \"%s\"", argv[optind]);

	struct keyring *kr = cli_load_keyring("events");
	if (!kr)
		return 1;
	PGconn *db = db_connect(err, sizeof err);
	if (!db) {
		keyring_free(kr);
		return cli_error("events", "%s", err);
	}
	int rc = 1;
	struct out o = {.f = NULL};
	PGresult *r = PQexec(db, STMT_EXPORT_SESSION);
	PQclear(r);
	const char *params[] = {brands, from, to, batch, kinds};
	r = PQexecParams(db, STMT_EPCIS_BEGIN, 5, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		cli_error("events", "%s", db_error_line(r, db, line, sizeof line));
		PQclear(r);
		goto out;
	}
	if (strcmp(PQgetvalue(r, 0, 0), "ok") != 0) {
		cli_error("events", "unknown batch %s", batch);
		PQclear(r);
		goto out;
	}
	PGresult *copy = PQexec(db, PQgetvalue(r, 0, 1));
	PQclear(r);
	if (PQresultStatus(copy) != PGRES_COPY_OUT) {
		cli_error("events", "%s", db_error_line(copy, db, line, sizeof line));
		PQclear(copy);
		goto out;
	}
	PQclear(copy);
	o.f = path ? fopen(path, "w") : stdout;
	if (!o.f) {
		cli_error("events", "%s: %s", path, strerror(errno));
		o.failed = 1; /* read the COPY to its end all the same */
	}
	signal(SIGPIPE, SIG_IGN);
	char head[EPCIS_HEAD_MAX], *buf;
	size_t hn = epcis_head(head, sizeof head, time(NULL));
	if (o.f)
		put(&o, head, hn);
	long long events = 0;
	int len, bad = 0;
	while ((len = PQgetCopyData(db, &buf, 0)) > 0) {
		if (o.f && !bad) {
			if (events)
				put(&o, EPCIS_SEP, strlen(EPCIS_SEP));
			if (epcis_expand(kr, buf, (size_t)len, put, &o, err, sizeof err) < 0) {
				cli_error("events", "%s", err);
				bad = 1;
			}
		}
		events++;
		PQfreemem(buf);
	}
	r = PQgetResult(db);
	int ok = len == -1 && PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		cli_error("events", "%s", db_error_line(r, db, line, sizeof line));
	PQclear(r);
	while ((r = PQgetResult(db)))
		PQclear(r);
	if (o.f) {
		put(&o, EPCIS_TAIL, strlen(EPCIS_TAIL));
		if (fflush(o.f) != 0 || (path && fclose(o.f) != 0))
			o.failed = 1;
		if (o.failed)
			cli_error("events", "%s: %s", path ? path : "stdout", strerror(errno));
	}
	if (ok && !bad && !o.failed) {
		rc = 0;
		if (isatty(2))
			fprintf(stderr, "packcode-gen: events: %lld events\n", events);
	}
out:
	PQfinish(db);
	keyring_free(kr);
	return rc;
}
