/*
 * db.h: finding, starting and migrating the database, for both programs.
 *
 * With $PACKCODE_DB (a libpq connection string) that server is used as is.
 * Without it, the embedded default: a private cluster in $PACKCODE_HOME/var/pg
 * (initdb'd and started with pg_ctl on a unix socket when first needed, under
 * a lock so concurrent first uses are safe), which is migrated automatically.
 * An external database is never migrated implicitly: db_connect() refuses it
 * with a clear error until `packcode-gen db migrate` has run.
 */
#ifndef PACKCODE_DB_H
#define PACKCODE_DB_H

#include <libpq-fe.h>
#include <stddef.h>

#define DB_ERR_LEN 512

/* 1 when $PACKCODE_DB is unset or empty: the embedded cluster is in use. */
int db_is_embedded(void);

/*
 * The libpq connection string to use: $PACKCODE_DB, or the embedded cluster's
 * (which this starts, creating it first if needed). 0, or -1 with err.
 */
int db_conninfo(char *out, size_t outlen, char *err, size_t errlen);

/*
 * A blocking connection for command-line work and server start-up: finds or
 * starts the database, migrates the embedded one, and checks that every
 * migration is applied. NULL with err on failure.
 */
PGconn *db_connect(char *err, size_t errlen);

/*
 * Apply the migrations that are not yet applied, each in its own transaction,
 * serialised against concurrent migrators. *applied gets how many ran.
 */
int db_migrate(PGconn *c, int *applied, char *err, size_t errlen);

/* Number of migrations compiled into this program, and how many c has applied (-1 on error). */
int db_migrations_known(void);
int db_migrations_applied(PGconn *c);

/* The embedded cluster: 0 or -1 with err. start is idempotent. */
int db_embedded_start(char *err, size_t errlen);
int db_embedded_stop(char *err, size_t errlen);

enum db_embedded_state { DB_EMBEDDED_ABSENT, DB_EMBEDDED_STOPPED, DB_EMBEDDED_RUNNING };
enum db_embedded_state db_embedded_status(char *datadir, size_t datadirlen);

/* One schema migration, sql/NNN_name.sql, compiled in by sql/embed.sh (sql/migrations.c). */
struct db_migration {
	int version;      /* NNN */
	const char *name; /* "NNN_name" */
	const char *sql;
};
extern const struct db_migration db_migrations[]; /* in version order */
extern const int db_migrations_count;

/*
 * Connect like db_connect() (finding or starting the database) but without
 * migrating or checking the migrations: for `packcode-gen db migrate`.
 */
PGconn *db_open(char *err, size_t errlen);

/* db_migrate() that calls applied_one(m, arg) after each migration it applied. */
int db_migrate_report(PGconn *c, void (*applied_one)(const struct db_migration *m, void *arg),
                      void *arg, int *applied, char *err, size_t errlen);

/* The error of a failed result (else of the connection) as one line, without "ERROR:". Returns out.
 */
const char *db_error_line(const PGresult *r, const PGconn *c, char *out, size_t outlen);

#define DB_PATH_MAX 1024

/*
 * Where the embedded cluster lives, under $PACKCODE_HOME (absolute when it
 * exists). The lock serialises initdb, start and stop between processes.
 */
struct db_embedded_paths {
	char vardir[DB_PATH_MAX];   /* HOME/var */
	char pgdir[DB_PATH_MAX];    /* HOME/var/pg */
	char datadir[DB_PATH_MAX];  /* HOME/var/pg/data: PGDATA */
	char rundir[DB_PATH_MAX];   /* HOME/var/pg/run: the unix socket, .s.PGSQL.5432 */
	char logfile[DB_PATH_MAX];  /* HOME/var/pg/log/postgresql.log */
	char lockfile[DB_PATH_MAX]; /* HOME/var/pg.lock */
	char bindir[DB_PATH_MAX];   /* $PACKCODE_PG_BINDIR, else PG_BINDIR of configure */
};
int db_embedded_paths(struct db_embedded_paths *p, char *err, size_t errlen);

/*
 * The PostgreSQL settings the embedded cluster runs with, sized for this
 * machine's memory (postgresql.conf lines). The same advice for an external
 * PostgreSQL is in docs/operations.md.
 */
void db_tuning(char *out, size_t outlen);

#endif
