/*
 * migrate_fixture.c: db_migrate() on a fixed list of three migrations whose
 * second fails at its line 3, for test_migrations.sh: a failing migration
 * must be rolled back whole and stop the run. Its own db_migrations[] stands
 * in for the generated one (the archive's copy is then not linked).
 */
#include <stdio.h>

#include "db.h"

const struct db_migration db_migrations[] = {
    {1, "001_one", "CREATE TABLE fixture_one (x integer);\n"},
    {2, "002_broken",
     "CREATE TABLE fixture_two (x integer);\n"
     "INSERT INTO fixture_two VALUES (1);\n"
     "SELECT no_such_column FROM fixture_two;\n"},
    {3, "003_three", "CREATE TABLE fixture_three (x integer);\n"},
};
const int db_migrations_count = 3;

int main(void)
{
	char err[DB_ERR_LEN];
	int applied = 0, rc = 1;
	PGconn *c = db_open(err, sizeof err);
	if (!c) {
		fprintf(stderr, "migrate_fixture: %s\n", err);
		return 1;
	}
	if (db_migrate(c, &applied, err, sizeof err) < 0)
		printf("applied %d; error: %s\n", applied, err);
	else
		printf("applied %d\n", applied), rc = 0;
	PQfinish(c);
	return rc;
}
