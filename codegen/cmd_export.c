/*
 * cmd_export.c: packcode-gen export, the operator's exports: the same
 * functions as the admin API's (export_begin records the export and its
 * audit row, actor cli:USER, and writes the COPY; export_finish records
 * the end and the rows), the rows copied to stdout as they come, so memory
 * stays flat. Member ids are masked unless --pii, as for a token without
 * the pii scope.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "db.h"
#include "statements.h"

static const char help[] =
    "Usage: packcode-gen export KIND --from TIME --to TIME [--format csv|jsonl]\n"
    "                           [--brands LIST] [--pii]\n"
    "\n"
    "Write KIND (scans, claims, members or ledger) of [--from, --to) to stdout,\n"
    "as the admin API's GET /api/v1/admin/exports/KIND does (docs/api.md):\n"
    "CSV with a header (RFC 4180 quoting; cells starting with = + - @ get a\n"
    "leading ' so that spreadsheets run no formula) or JSON Lines.\n"
    "\n"
    "  --from, --to TIME  a date (2026-12-01: midnight UTC) or a time with its\n"
    "                     offset (2026-12-01T08:00:00+08:00); --to excluded\n"
    "  --format FORMAT    csv (default) or jsonl\n"
    "  --brands LIST      only these brands' rows, as a token limited to them\n"
    "  --pii              member ids and addresses unmasked (recorded as such)\n"
    "\n"
    "Every export is audited: export.start (who, what, range) before the first\n"
    "row, export.finish with the rows written.\n";

static int finish(PGconn *db, const char *id, long long rows, const char *status)
{
	char n[24], line[DB_ERR_LEN];
	snprintf(n, sizeof n, "%lld", rows);
	const char *params[] = {id, n, status};
	PGresult *r = PQexecParams(db, STMT_EXPORT_FINISH, 3, NULL, params, NULL, NULL, 0);
	int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		cli_error("export", "%s", db_error_line(r, db, line, sizeof line));
	PQclear(r);
	return ok ? 0 : -1;
}

int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"from", required_argument, NULL, 'f'},
	    {"to", required_argument, NULL, 't'},
	    {"format", required_argument, NULL, 'F'},
	    {"brands", required_argument, NULL, 'b'},
	    {"pii", no_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *from = NULL, *to = NULL, *format = "csv", *brands = NULL;
	int pii = 0, c;
	char err[DB_ERR_LEN], line[DB_ERR_LEN], actor[CLI_ACTOR_LEN + 1], id[24];

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			from = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 'F':
			format = optarg;
			break;
		case 'b':
			brands = optarg;
			break;
		case 'p':
			pii = 1;
			break;
		case 'h':
			fputs(help, stdout);
			return 0;
		default:
			return cli_usage("export", "unknown option");
		}
	}
	if (optind >= argc)
		return cli_usage("export", "expected scans, claims, members or ledger");
	const char *kind = argv[optind++];
	if (strcmp(kind, "scans") && strcmp(kind, "claims") && strcmp(kind, "members") &&
	    strcmp(kind, "ledger"))
		return cli_usage("export", "unknown kind \"%s\": scans, claims, members or ledger",
		                 kind);
	if (optind < argc)
		return cli_usage("export", "unexpected argument \"%s\"", argv[optind]);
	if (!from || !to)
		return cli_usage("export", "--from and --to are required");
	if (strcmp(format, "csv") && strcmp(format, "jsonl"))
		return cli_usage("export", "--format is csv or jsonl");

	PGconn *db = db_connect(err, sizeof err);
	if (!db)
		return cli_error("export", "%s", err);
	int rc = 1;
	long long rows = 0;
	PGresult *r = PQexec(db, STMT_EXPORT_SESSION);
	PQclear(r);
	const char *params[] = {cli_actor(actor, sizeof actor), kind, format, from, to, brands,
	                        pii ? "true" : "false"};
	r = PQexecParams(db, STMT_EXPORT_BEGIN, 7, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		cli_error("export", "%s", db_error_line(r, db, line, sizeof line));
		PQclear(r);
		goto out;
	}
	snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
	PGresult *copy = PQexec(db, PQgetvalue(r, 0, 1));
	PQclear(r);
	if (PQresultStatus(copy) != PGRES_COPY_OUT) {
		cli_error("export", "%s", db_error_line(copy, db, line, sizeof line));
		PQclear(copy);
		finish(db, id, 0, "failed");
		goto out;
	}
	PQclear(copy);
	signal(SIGPIPE, SIG_IGN);
	char *buf;
	int n, written = 1;
	long long messages = 0;
	while ((n = PQgetCopyData(db, &buf, 0)) > 0) {
		messages++;
		if (written && fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			written = 0; /* read on to the end: the connection stays usable */
		PQfreemem(buf);
	}
	if (fflush(stdout) != 0)
		written = 0;
	r = PQgetResult(db);
	int ok = n == -1 && PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		cli_error("export", "%s", db_error_line(r, db, line, sizeof line));
	rows = ok ? strtoll(PQcmdTuples(r), NULL, 10)
	          : messages - (strcmp(format, "csv") == 0 && messages > 0);
	PQclear(r);
	while ((r = PQgetResult(db)))
		PQclear(r);
	if (ok && !written)
		cli_error("export", "stdout: %s", strerror(errno));
	if (finish(db, id, rows,
	           !ok       ? "failed"
	           : written ? "done"
	                     : "aborted") == 0 &&
	    ok && written)
		rc = 0;
	if (rc == 0 && isatty(2))
		fprintf(stderr, "packcode-gen: export %s: %lld rows\n", id, rows);
out:
	PQfinish(db);
	return rc;
}
