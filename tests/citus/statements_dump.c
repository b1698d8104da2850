/*
 * statements_dump.c: prints packcode-server's connection setup, every
 * statement it prepares (server/statements.h), as one psql script, so that
 * tests/citus/test_citus_plans.sh explains exactly what the server runs.
 */
#include <stdio.h>

#include "statements.h"

int main(void)
{
	puts(STATEMENTS_SETUP ";");
	return 0;
}
