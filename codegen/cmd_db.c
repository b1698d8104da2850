/*
 * cmd_db.c: packcode-gen db start|stop|status|migrate|distribute: the
 * embedded cluster and the schema. start and stop apply only to the embedded
 * cluster; status and migrate work on whichever database is in use;
 * distribute only on a Citus coordinator (sql/010_citus.sql).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "db.h"
#include "statements.h"

#define EXIT_NOT_RUNNING 3 /* as pg_ctl status */

static const char help[] =
    "Usage: packcode-gen db start\n"
    "       packcode-gen db stop\n"
    "       packcode-gen db status\n"
    "       packcode-gen db migrate\n"
    "       packcode-gen db distribute\n"
    "\n"
    "Manage the database. Without PACKCODE_DB, packcode uses an embedded\n"
    "PostgreSQL cluster of its own under $PACKCODE_HOME/var/pg, created (initdb)\n"
    "and started on first use by any command that needs it, listening on a unix\n"
    "socket only. With PACKCODE_DB (a libpq connection string) it uses that server\n"
    "instead.\n"
    "\n"
    "Actions:\n"
    "  start     create the embedded cluster if there is none, start it if it is not\n"
    "            running, and apply pending migrations. Doing it twice is harmless.\n"
    "  stop      stop the embedded cluster (fast shutdown: open sessions are ended).\n"
    "  status    say where the database is and whether it is running, and how many\n"
    "            migrations it has. Exit status 0 when running, 3 when stopped or\n"
    "            absent (or, with PACKCODE_DB, not reachable).\n"
    "  migrate   apply the schema migrations this program knows and the database\n"
    "            has not applied yet, each in its own transaction, and print them.\n"
    "            Safe to run twice and concurrently. Required once for a database\n"
    "            given with PACKCODE_DB (the embedded one is migrated automatically).\n"
    "  distribute  on a Citus coordinator (PACKCODE_DB), once, after migrate:\n"
    "            distribute the tables over the cluster's workers (docs/scaling.md).\n"
    "            Refused on a database without Citus; a second run changes nothing.\n"
    "\n"
    "Files (the embedded cluster):\n"
    "  var/pg/data                  the data directory (PGDATA)\n"
    "  var/pg/run/.s.PGSQL.5432     the unix socket (no TCP port is opened)\n"
    "  var/pg/log/postgresql.log    the server log\n"
    "  var/pg.lock                  held while the cluster is created, started, stopped\n"
    "\n"
    "Its superuser and database are both 'packcode'; local connections are trusted\n"
    "and protected by the socket directory's mode 0700. As root, PostgreSQL runs as\n"
    "the 'postgres' user, which must be able to reach $PACKCODE_HOME.\n"
    "\n"
    "Environment:\n"
    "  PACKCODE_HOME       state directory (default: the working directory)\n"
    "  PACKCODE_DB         libpq connection string; start and stop do not apply then\n"
    "  PACKCODE_PG_BINDIR  where initdb and pg_ctl are (default: " PG_BINDIR ")\n"
    "\n"
    "Exit status: 0 on success, 1 on failure, 2 on a usage error, 3 from status\n"
    "when the database is not running.\n";

static int do_start(void)
{
	char err[DB_ERR_LEN], datadir[DB_PATH_MAX];
	int applied;
	if (!db_is_embedded())
		return cli_error("db", "start does not apply: PACKCODE_DB is set, the embedded "
		                       "cluster is not in use");
	enum db_embedded_state was = db_embedded_status(datadir, sizeof datadir);
	PGconn *c = db_open(err, sizeof err);
	if (!c)
		return cli_error("db", "start: %s", err);
	int rc = db_migrate(c, &applied, err, sizeof err);
	PQfinish(c);
	if (rc < 0)
		return cli_error("db", "start: %s", err);
	printf("%s %s\n",
	       was == DB_EMBEDDED_RUNNING  ? "already running:"
	       : was == DB_EMBEDDED_ABSENT ? "created and started:"
	                                   : "started:",
	       datadir);
	return 0;
}

static int do_stop(void)
{
	char err[DB_ERR_LEN], datadir[DB_PATH_MAX];
	if (!db_is_embedded())
		return cli_error("db", "stop does not apply: PACKCODE_DB is set, the embedded "
		                       "cluster is not in use");
	enum db_embedded_state was = db_embedded_status(datadir, sizeof datadir);
	if (was == DB_EMBEDDED_ABSENT) {
		printf("no embedded cluster in %s\n", datadir);
		return 0;
	}
	if (db_embedded_stop(err, sizeof err) < 0)
		return cli_error("db", "stop: %s", err);
	printf("%s %s\n", was == DB_EMBEDDED_RUNNING ? "stopped:" : "already stopped:", datadir);
	return 0;
}

static void print_schema(void)
{
	char err[DB_ERR_LEN];
	PGconn *c = db_open(err, sizeof err);
	int n = c ? db_migrations_applied(c) : -1;
	if (n >= 0)
		printf("schema: %d of %d migrations applied\n", n, db_migrations_known());
	else
		printf("schema: unknown (%s)\n", c ? "cannot read schema_migrations" : err);
	PQfinish(c);
}

/* host, port and database of a connection string: never the password. */
static void describe_conninfo(const char *conninfo, char *out, size_t outlen)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	size_t n = 0;
	out[0] = '\0';
	for (PQconninfoOption *o = opts; o && o->keyword; o++) {
		if (!o->val || !*o->val ||
		    (strcmp(o->keyword, "host") && strcmp(o->keyword, "hostaddr") &&
		     strcmp(o->keyword, "port") && strcmp(o->keyword, "dbname") &&
		     strcmp(o->keyword, "user")))
			continue;
		int w = snprintf(out + n, outlen - n, "%s%s=%s", n ? " " : "", o->keyword, o->val);
		if (w < 0 || (size_t)w >= outlen - n)
			break;
		n += (size_t)w;
	}
	PQconninfoFree(opts);
	if (!out[0])
		snprintf(out, outlen, "libpq defaults");
}

static int do_status(void)
{
	char datadir[DB_PATH_MAX], where[512];
	if (!db_is_embedded()) {
		const char *ci = getenv("PACKCODE_DB");
		describe_conninfo(ci, where, sizeof where);
		const char *keys[] = {"connect_timeout", "dbname", NULL};
		const char *vals[] = {"10", ci, NULL};
		PGPing ping = PQpingParams(keys, vals, 1);
		printf("external database (PACKCODE_DB): %s\n", where);
		printf("state: %s\n", ping == PQPING_OK           ? "accepting connections"
		                      : ping == PQPING_REJECT     ? "rejecting connections"
		                      : ping == PQPING_NO_ATTEMPT ? "bad connection string"
		                                                  : "not reachable");
		if (ping != PQPING_OK)
			return EXIT_NOT_RUNNING;
		print_schema();
		return 0;
	}
	struct db_embedded_paths p;
	char err[DB_ERR_LEN];
	if (db_embedded_paths(&p, err, sizeof err) < 0)
		return cli_error("db", "status: %s", err);
	enum db_embedded_state st = db_embedded_status(datadir, sizeof datadir);
	printf("embedded cluster: %s\n", p.datadir);
	if (st == DB_EMBEDDED_ABSENT) {
		printf("state: absent (created on first use, or by 'packcode-gen db start')\n");
		return EXIT_NOT_RUNNING;
	}
	printf("state: %s\n", st == DB_EMBEDDED_RUNNING ? "running" : "stopped");
	printf("socket: %s\n", p.rundir);
	printf("log: %s\n", p.logfile);
	if (st != DB_EMBEDDED_RUNNING)
		return EXIT_NOT_RUNNING;
	print_schema();
	return 0;
}

static void print_applied(const struct db_migration *m, void *arg)
{
	(void)arg;
	printf("applied %s\n", m->name);
	fflush(stdout);
}

static int do_migrate(void)
{
	char err[DB_ERR_LEN];
	int applied;
	PGconn *c = db_open(err, sizeof err);
	if (!c)
		return cli_error("db", "migrate: %s", err);
	int rc = db_migrate_report(c, print_applied, NULL, &applied, err, sizeof err);
	PQfinish(c);
	if (rc < 0)
		return cli_error("db", "migrate: %s", err);
	if (applied == 0)
		printf("schema is up to date (%d migration%s)\n", db_migrations_known(),
		       db_migrations_known() == 1 ? "" : "s");
	return 0;
}

static int do_distribute(void)
{
	char err[DB_ERR_LEN];
	PGconn *c = db_connect(err, sizeof err);
	if (!c)
		return cli_error("db", "distribute: %s", err);
	int rc = 0;
	PGresult *r = PQexecParams(c, STMT_DB_DISTRIBUTE, 0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		printf("%s\n", PQgetvalue(r, 0, 0));
	else
		rc = cli_error("db", "distribute: %s", db_error_line(r, c, err, sizeof err));
	PQclear(r);
	PQfinish(c);
	return rc;
}

int cmd_db(int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
	int c;
	opterr = 0; /* one line of our own instead of getopt's */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(help, stdout);
			return 0;
		}
		return cli_usage("db", "unknown option or missing value: \"%s\"", argv[optind - 1]);
	}
	if (argc - optind != 1)
		return cli_usage("db", "expected one of start, stop, status, migrate, distribute");
	const char *action = argv[optind];
	if (strcmp(action, "start") == 0)
		return do_start();
	if (strcmp(action, "stop") == 0)
		return do_stop();
	if (strcmp(action, "status") == 0)
		return do_status();
	if (strcmp(action, "migrate") == 0)
		return do_migrate();
	if (strcmp(action, "distribute") == 0)
		return do_distribute();
	return cli_usage("db", "unknown action \"%s\"", action);
}
