/*
 * statements_dump.c: prints a packcode-server connection's setup, every
 * statement it prepares (server/statements.h), as a psql script, so that
 * tests/citus/test_citus_plans.sh explains exactly what the server runs.
 * No argument: a worker connection's; "scan": the scan writer's, with the
 * BEGIN and the COPY of a flush (the data, scan_ingest() and COMMIT follow:
 * the server sends them as one simple query, one transaction).
 */
#include <stdio.h>
#include <string.h>

#include "statements.h"

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "scan") == 0)
		puts(STATEMENTS_SCAN_SETUP ";\nBEGIN;\n" STATEMENTS_SCAN_COPY_STAGE ";");
	else
		puts(STATEMENTS_SETUP ";");
	return 0;
}
