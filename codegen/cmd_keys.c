/*
 * cmd_keys.c: keygen, keys, key retire|revoke. Every change rewrites the
 * keyring atomically under an exclusive lock on KEYRING.lock, so two
 * concurrent keygens cannot lose a key, and is audited in the database when
 * there is one (see audit_open).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cli.h"
#include "db.h"
#include "statements.h"

static int lock_keyring(const char *cmd)
{
	char path[4096];
	snprintf(path, sizeof path, "%s.lock", cli_keyring_path);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		cli_error(cmd, "cannot create lock file %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX) < 0) {
		cli_error(cmd, "cannot lock %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Only --help: for commands that take no options. */
static int no_options(const char *cmd, int argc, char **argv, const char *help)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(help, stdout);
			return 0;
		}
		return cli_usage(cmd, "unknown option");
	}
	return -1;
}

/*
 * The audit trail of key changes. The keys live in the keyring file, so the
 * database holds only their audit rows (key_audit() of sql/006_write_path.sql),
 * each written in a transaction that commits once the keyring is saved: a
 * change that failed leaves no row, and a refusal changes nothing.
 *
 * Where a database exists (PACKCODE_DB with the schema, or the embedded
 * cluster, started if stopped) the row is required: a database that cannot
 * be reached, or is behind on migrations, refuses the change (exit 1,
 * keyring untouched), as it refuses every other administrative command.
 *
 * With no database at all (no embedded cluster yet, or PACKCODE_DB naming a
 * database that has no schema yet) the change is made without an audit row
 * and a note on stderr says so. keygen is the first command of a new install,
 * before any database exists, and keys may be made on a signing machine that
 * never has one: creating a cluster (initdb and a running server) for one
 * row, or refusing to make a key, would be worse than a keyring change that
 * there was no audit trail yet to record.
 */

/* The database for the audit row, in *db, or NULL when there is none. 0, or -1 after saying why. */
static int audit_open(const char *cmd, PGconn **db)
{
	char err[DB_ERR_LEN];
	*db = NULL;
	if (db_is_embedded() && db_embedded_status(NULL, 0) == DB_EMBEDDED_ABSENT)
		return 0;
	if (!db_is_embedded()) {
		PGconn *c = db_open(err, sizeof err);
		if (!c)
			return cli_error(cmd, "%s", err), -1;
		int n = db_migrations_applied(c);
		if (n == db_migrations_known()) {
			*db = c;
			return 0;
		}
		PQfinish(c);
		if (n == 0)
			return 0;
		/* unreadable, or behind: db_connect() says which */
	}
	if (!(*db = db_connect(err, sizeof err)))
		return cli_error(cmd, "%s", err), -1;
	return 0;
}

/* Run sql with params on db: 0, or -1 with the database's error in err. */
static int audit_exec(PGconn *db, const char *sql, int n, const char *const *params, char *err,
                      size_t errlen)
{
	PGresult *r = PQexecParams(db, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);
	int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
	if (!ok)
		db_error_line(r, db, err, errlen);
	PQclear(r);
	return ok ? 0 : -1;
}

/*
 * Open the transaction of a key change and write its audit row: action on
 * key id, with detail (JSON). Nothing without a database. 0, or -1 after
 * saying why (the transaction ends with the connection).
 */
static int audit_begin(PGconn *db, const char *cmd, const char *action, unsigned id,
                       const char *detail)
{
	char who[CLI_ACTOR_LEN], key[8], err[DB_ERR_LEN];
	if (!db)
		return 0;
	snprintf(key, sizeof key, "%u", id);
	const char *params[] = {cli_actor(who, sizeof who), action, key, detail};
	if (audit_exec(db, STMT_BEGIN, 0, NULL, err, sizeof err) < 0 ||
	    audit_exec(db, STMT_KEY_AUDIT, 4, params, err, sizeof err) < 0)
		return cli_error(cmd, "audit: %s", err), -1;
	return 0;
}

/* Commit the audit row, once the keyring is saved: 0, or -1 with the database's error in err. */
static int audit_commit(PGconn *db, char *err, size_t errlen)
{
	return db ? audit_exec(db, STMT_COMMIT, 0, NULL, err, errlen) : 0;
}

/* After a change made without a database, say that it is not in the audit trail. */
static void audit_note(const PGconn *db, const char *cmd)
{
	if (!db)
		fprintf(stderr,
		        "%s: %s: note: no database yet, so this change is not in the audit trail\n",
		        cli_prog(), cmd);
}

int cmd_keygen(int argc, char **argv)
{
	static const char help[] =
	    "Usage: packcode-gen keygen\n"
	    "\n"
	    "Add a new random 256-bit signing key to the keyring and make it the active\n"
	    "key: codes minted from now on are signed with it. The previously active key\n"
	    "becomes verify-only, so codes already printed keep verifying. Creates the\n"
	    "keyring (mode 0600) if there is none. Prints the new key's id, never its\n"
	    "secret.\n";
	char err[KEYRING_ERR_LEN], dberr[DB_ERR_LEN];
	struct keyring *kr = NULL;
	PGconn *db = NULL;
	unsigned id, previous = 0;
	int rc = no_options("keygen", argc, argv, help);
	if (rc >= 0)
		return rc;
	if (optind < argc)
		return cli_usage("keygen", "unexpected argument \"%s\"", argv[optind]);

	int lock = lock_keyring("keygen");
	if (lock < 0)
		return 1;
	rc = 1;
	if (access(cli_keyring_path, F_OK) == 0) {
		if (!(kr = cli_load_keyring("keygen")))
			goto out;
	} else if (errno == ENOENT) {
		kr = keyring_new();
	} else {
		cli_error("keygen", "cannot access %s: %s", cli_keyring_path, strerror(errno));
		goto out;
	}
	struct keyring_key *active = keyring_active(kr);
	if (active)
		previous = active->id;
	if (audit_open("keygen", &db) < 0)
		goto out;
	if (keyring_generate(kr, &id, err, sizeof err) < 0) {
		cli_error("keygen", "%s", err);
		goto out;
	}
	char detail[64];
	if (previous)
		snprintf(detail, sizeof detail, "{\"previous\": %u}", previous);
	else
		snprintf(detail, sizeof detail, "{\"previous\": null}");
	if (audit_begin(db, "keygen", "key.add", id, detail) < 0)
		goto out;
	if (keyring_save(kr, cli_keyring_path, err, sizeof err) < 0) {
		cli_error("keygen", "%s", err);
		goto out;
	}
	if (audit_commit(db, dberr, sizeof dberr) < 0) {
		cli_error("keygen", "key %u is saved in %s, but its audit row was not written: %s",
		          id, cli_keyring_path, dberr);
		goto out;
	}
	printf("key %u created in %s and now active", id, cli_keyring_path);
	if (previous)
		printf("; key %u is now verify-only", previous);
	printf("\n");
	audit_note(db, "keygen");
	rc = 0;
out:
	PQfinish(db);
	keyring_free(kr);
	close(lock);
	return rc;
}

int cmd_keys(int argc, char **argv)
{
	static const char help[] =
	    "Usage: packcode-gen keys\n"
	    "\n"
	    "List the keys of the keyring: id, status (active: mints; verify-only:\n"
	    "verifies; revoked: its codes are rejected) and creation time. Secrets are\n"
	    "never printed.\n";
	int rc = no_options("keys", argc, argv, help);
	if (rc >= 0)
		return rc;
	struct keyring *kr = cli_load_keyring("keys");
	if (!kr)
		return 1;
	printf("%-4s %-12s %s\n", "ID", "STATUS", "CREATED");
	for (size_t i = 0; i < kr->n; i++) {
		char when[32];
		struct tm tm;
		gmtime_r(&kr->keys[i].created, &tm);
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
		printf("%-4u %-12s %s\n", kr->keys[i].id, key_status_name(kr->keys[i].status),
		       when);
	}
	keyring_free(kr);
	return 0;
}

int cmd_key(int argc, char **argv)
{
	static const char help[] =
	    "Usage: packcode-gen key retire ID\n"
	    "       packcode-gen key revoke ID\n"
	    "\n"
	    "retire: key ID stops minting (it becomes verify-only); its codes still\n"
	    "verify. Use it when a key has minted enough and a fresh one should take over\n"
	    "without 'keygen'.\n"
	    "revoke: every code signed with key ID is answered as signed by a revoked\n"
	    "key, never as genuine. Use it when the key may have leaked. A server picks\n"
	    "the change up within a second of its keyring file changing, no signal\n"
	    "needed. Revoking cannot be undone.\n";
	char err[KEYRING_ERR_LEN], dberr[DB_ERR_LEN];
	PGconn *db = NULL;
	uint64_t id;
	int rc = no_options("key", argc, argv, help);
	if (rc >= 0)
		return rc;
	if (argc - optind != 2)
		return cli_usage("key", "expected 'retire ID' or 'revoke ID'");
	const char *verb = argv[optind];
	enum key_status to;
	if (strcmp(verb, "retire") == 0)
		to = KEY_VERIFY_ONLY;
	else if (strcmp(verb, "revoke") == 0)
		to = KEY_REVOKED;
	else
		return cli_usage("key", "unknown action \"%s\"", verb);
	if (cli_parse_u64(argv[optind + 1], CODE_KEY_ID_MIN, CODE_KEY_ID_MAX, &id) < 0)
		return cli_usage("key", "key id must be a number from %d to %d", CODE_KEY_ID_MIN,
		                 CODE_KEY_ID_MAX);

	int lock = lock_keyring("key");
	if (lock < 0)
		return 1;
	rc = 1;
	struct keyring *kr = cli_load_keyring("key");
	if (!kr)
		goto out;
	struct keyring_key *k = keyring_find(kr, (unsigned)id);
	if (!k) {
		cli_error("key", "no key %u in %s", (unsigned)id, cli_keyring_path);
		goto out;
	}
	if (k->status == KEY_REVOKED && to != KEY_REVOKED) {
		cli_error("key", "key %u is revoked; revoking cannot be undone", k->id);
		goto out;
	}
	int was_active = k->status == KEY_ACTIVE;
	enum key_status from = k->status;
	if (from != to) { /* else nothing changes: no audit row */
		char detail[64];
		snprintf(detail, sizeof detail, "{\"from\": \"%s\"}", key_status_name(from));
		if (audit_open("key", &db) < 0 ||
		    audit_begin(db, "key", to == KEY_REVOKED ? "key.revoke" : "key.retire", k->id,
		                detail) < 0)
			goto out;
		k->status = to;
		if (keyring_save(kr, cli_keyring_path, err, sizeof err) < 0) {
			cli_error("key", "%s", err);
			goto out;
		}
		if (audit_commit(db, dberr, sizeof dberr) < 0) {
			cli_error("key",
			          "key %u is now %s in %s, but its audit row was not written: %s",
			          k->id, key_status_name(to), cli_keyring_path, dberr);
			goto out;
		}
	}
	printf("key %u is now %s\n", k->id, key_status_name(to));
	if (from != to)
		audit_note(db, "key");
	if (was_active)
		fprintf(stderr,
		        "%s: key: warning: no key is active now; run 'packcode-gen keygen' "
		        "before minting\n",
		        cli_prog());
	rc = 0;
out:
	PQfinish(db);
	keyring_free(kr);
	close(lock);
	return rc;
}
