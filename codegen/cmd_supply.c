/*
 * cmd_supply.c: packcode-gen batch activate|expire, code set and undo: the
 * supply chain from the command line (docs/supply-chain.md). Each is one
 * call of a function of sql/013_supply.sql, the one the admin API calls
 * too, which writes the change, its undo record and its audit row (actor
 * cli:USER) in one transaction; a refusal changes nothing.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "keyring.h"
#include "statements.h"

#define REASON_MAX 200

static const char batch_help[] =
    "Usage: packcode-gen batch activate BATCH [--serials A-B] [--reason TEXT]\n"
    "       packcode-gen batch expire BATCH [--reason TEXT]\n"
    "\n"
    "activate: release codes of a batch minted inactive (mint --inactive, or a\n"
    "  product added with --inactive-by-default) for sale. Until then a consumer\n"
    "  scan answers \"never released for sale\" (verdict inactive), alerts the\n"
    "  brand and refuses claims. One database row whatever the count.\n"
    "  --serials A-B    only codes A to B of the batch, numbered from 1 in print\n"
    "                   order (codes.csv's seq column); default: the whole batch\n"
    "  --reason TEXT    recorded with the change (a shipment, an order number)\n"
    "expire: take an active batch out of sale as expired (its codes answer\n"
    "  expired and claim nothing), whatever its expiry date says.\n"
    "\n"
    "Both print the change's number: 'packcode-gen undo CHANGE' takes it back\n"
    "within the undo window (10 days unless the database setting\n"
    "packcode.undo_window says otherwise).\n"
    "\n"
    "Exit status: 0 on success (also when there was nothing to do), 1 on\n"
    "failure (one line on stderr, nothing changed), 2 on a usage error.\n";

static const char code_help[] =
    "Usage: packcode-gen code set CODE STATE [--reason TEXT]\n"
    "\n"
    "Mark one code, whatever its batch's state: STATE is void (withdrawn),\n"
    "stolen, destroyed, sample (genuine, not for sale, earns no points) or none\n"
    "(its batch's state again). A consumer scan then answers the state, and a\n"
    "claim is refused (also one already on its way). Prints the change's number\n"
    "for 'packcode-gen undo'. Only codes whose state differs from their batch's\n"
    "are stored.\n"
    "\n"
    "Exit status: 0 on success, 1 on failure (nothing changed), 2 on a usage error.\n";

static const char undo_help[] =
    "Usage: packcode-gen undo CHANGE [--reason TEXT]\n"
    "\n"
    "Undo supply-chain change CHANGE (printed by batch activate, batch expire and\n"
    "code set) within the undo window (10 days unless the database setting\n"
    "packcode.undo_window says otherwise; EU FMD allows 10 days): an activation\n"
    "is withdrawn, a code's previous state comes back, an expired batch is active\n"
    "again. A code's later change must be undone first.\n"
    "\n"
    "Exit status: 0 on success, 1 on failure (nothing changed), 2 on a usage error.\n";

/* --reason and --help, then the positional arguments; -1 after a usage error (rc set). */
static int options(int argc, char **argv, const char *cmd, const char *help, int with_serials,
                   const char **reason, const char **serials, int *rc)
{
	static const struct option opts[] = {
	    {"reason", required_argument, NULL, 'r'},
	    {"serials", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			*reason = optarg;
			break;
		case 's':
			if (!with_serials)
				goto bad;
			*serials = optarg;
			break;
		case 'h':
			fputs(help, stdout);
			*rc = 0;
			return -1;
		default:
		bad:
			*rc = cli_usage(cmd, "unknown option or missing value: \"%s\"",
			                argv[optind - 1]);
			return -1;
		}
	}
	if (*reason && (strlen(*reason) == 0 || strlen(*reason) > 4 * REASON_MAX)) {
		*rc = cli_usage(cmd, "--reason is 1 to %d characters", REASON_MAX);
		return -1;
	}
	return 0;
}

/* Run stmt with params; the one row, or NULL after saying why. */
static PGresult *run(const char *cmd, const char *stmt, int n, const char *const *params)
{
	char err[DB_ERR_LEN], line[DB_ERR_LEN];
	PGconn *db = db_connect(err, sizeof err);
	if (!db) {
		cli_error(cmd, "%s", err);
		return NULL;
	}
	PGresult *r = PQexecParams(db, stmt, n, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		cli_error(cmd, "%s", db_error_line(r, db, line, sizeof line));
		PQclear(r);
		r = NULL;
	}
	PQfinish(db);
	return r;
}

static int batch_id_arg(const char *cmd, const char *s, char out[24])
{
	long long id;
	if (cli_parse_int(s, 1, 1LL << 62, &id) < 0)
		return cli_usage(
		    cmd, "BATCH is a batch id (see 'packcode-gen batches'), not \"%.40s\"", s);
	snprintf(out, 24, "%lld", id);
	return 0;
}

static int batch_activate(int argc, char **argv)
{
	const char *cmd = "batch activate", *reason = NULL, *serials = NULL;
	char id[24], first[24] = "", last[24] = "", who[CLI_ACTOR_LEN];
	int rc = 1;
	if (options(argc, argv, cmd, batch_help, 1, &reason, &serials, &rc) < 0)
		return rc;
	if (optind + 1 != argc)
		return cli_usage(cmd, "needs one BATCH");
	if ((rc = batch_id_arg(cmd, argv[optind], id)) != 0)
		return rc;
	if (serials) {
		long long a, b;
		const char *dash = strchr(serials, '-');
		char lo[24];
		if (!dash || (size_t)(dash - serials) >= sizeof lo)
			return cli_usage(cmd, "--serials is A-B, such as 1-5000, not \"%.40s\"",
			                 serials);
		memcpy(lo, serials, (size_t)(dash - serials));
		lo[dash - serials] = '\0';
		if (cli_parse_int(lo, 1, 1099511627775LL, &a) < 0 ||
		    cli_parse_int(dash + 1, 1, 1099511627775LL, &b) < 0 || a > b)
			return cli_usage(cmd, "--serials is A-B with 1 <= A <= B, not \"%.40s\"",
			                 serials);
		snprintf(first, sizeof first, "%lld", a);
		snprintf(last, sizeof last, "%lld", b);
	}
	const char *params[] = {cli_actor(who, sizeof who), id, serials ? first : NULL,
	                        serials ? last : NULL, reason};
	PGresult *r = run(cmd, STMT_BATCH_ACTIVATE, 5, params);
	if (!r)
		return 1;
	const char *outcome = PQgetvalue(r, 0, 0);
	rc = 1;
	if (strcmp(outcome, "unknown_batch") == 0)
		cli_error(cmd, "no batch %s", id);
	else if (strcmp(outcome, "bad_range") == 0)
		cli_error(cmd,
		          "batch %s has no codes %s: codes are numbered from 1 to its count "
		          "(codes.csv's seq); nothing activated",
		          id, serials ? serials : "");
	else if (strcmp(outcome, "wrong_status") == 0)
		cli_error(cmd, "batch %s is void: its codes can never be activated", id);
	else if (strcmp(outcome, "already_active") == 0) {
		printf("batch %s: already active, nothing to do\n", id);
		rc = 0;
	} else {
		long long lo = strtoll(PQgetvalue(r, 0, 2), NULL, 10),
		          hi = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
		printf("batch %s: %lld codes activated (change %s)\n", id, hi - lo + 1,
		       PQgetvalue(r, 0, 1));
		rc = 0;
	}
	PQclear(r);
	return rc;
}

static int batch_expire(int argc, char **argv)
{
	const char *cmd = "batch expire", *reason = NULL, *serials = NULL;
	char id[24], who[CLI_ACTOR_LEN];
	int rc = 1;
	if (options(argc, argv, cmd, batch_help, 0, &reason, &serials, &rc) < 0)
		return rc;
	if (optind + 1 != argc)
		return cli_usage(cmd, "needs one BATCH");
	if ((rc = batch_id_arg(cmd, argv[optind], id)) != 0)
		return rc;
	const char *params[] = {cli_actor(who, sizeof who), id, reason};
	PGresult *r = run(cmd, STMT_BATCH_EXPIRE, 3, params);
	if (!r)
		return 1;
	const char *outcome = PQgetvalue(r, 0, 0);
	rc = 1;
	if (strcmp(outcome, "unknown_batch") == 0)
		cli_error(cmd, "no batch %s", id);
	else if (strcmp(outcome, "wrong_status") == 0)
		cli_error(cmd, "batch %s is not active: only an active batch can expire", id);
	else {
		printf("batch %s: expired (change %s)\n", id, PQgetvalue(r, 0, 1));
		rc = 0;
	}
	PQclear(r);
	return rc;
}

int cmd_batch(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(batch_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "activate") == 0)
		return batch_activate(argc - 1, argv + 1);
	if (strcmp(argv[1], "expire") == 0)
		return batch_expire(argc - 1, argv + 1);
	return cli_usage("batch", "unknown subcommand \"%s\"", argv[1]);
}

static int code_set(int argc, char **argv)
{
	const char *cmd = "code set", *reason = NULL, *serials = NULL;
	static const char *const states[] = {"void", "stolen", "destroyed", "sample", "none"};
	char serial[24], batch[24], who[CLI_ACTOR_LEN], err[DB_ERR_LEN], line[DB_ERR_LEN];
	int rc = 1, known = 0;
	if (options(argc, argv, cmd, code_help, 0, &reason, &serials, &rc) < 0)
		return rc;
	if (optind + 2 != argc)
		return cli_usage(cmd, "needs CODE and STATE");
	const char *code = argv[optind], *state = argv[optind + 1];
	for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
		known |= strcmp(state, states[i]) == 0;
	if (!known)
		return cli_usage(
		    cmd, "STATE is void, stolen, destroyed, sample or none, not \"%.20s\"", state);
	struct keyring *kr = cli_load_keyring(cmd);
	if (!kr)
		return 1;
	struct verification v;
	enum verdict vd = keyring_verify(kr, code, strlen(code), &v);
	keyring_free(kr);
	if (vd == VERDICT_TYPO)
		return cli_error(cmd, "\"%.64s\": check the characters (a typo)", code);
	if (vd != VERDICT_GENUINE && vd != VERDICT_REVOKED)
		return cli_error(cmd, "%s is not a code of ours", v.fields.text);
	snprintf(serial, sizeof serial, "%llu", (unsigned long long)v.serial);
	PGconn *db = db_connect(err, sizeof err);
	if (!db)
		return cli_error(cmd, "%s", err);
	const char *p1[] = {serial};
	PGresult *r = PQexecParams(db, STMT_BATCH_OF_SERIAL, 1, NULL, p1, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		cli_error(cmd, "%s", db_error_line(r, db, line, sizeof line));
		goto out;
	}
	if (PQntuples(r) != 1 || (unsigned)atoi(PQgetvalue(r, 0, 1)) != v.fields.key_id) {
		cli_error(cmd, "%s is in no batch: it was never minted", v.fields.text);
		goto out;
	}
	snprintf(batch, sizeof batch, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	const char *params[] = {cli_actor(who, sizeof who), serial, batch, state, reason};
	r = PQexecParams(db, STMT_CODE_STATE_SET, 5, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		cli_error(cmd, "%s", db_error_line(r, db, line, sizeof line));
		goto out;
	}
	if (strcmp(PQgetvalue(r, 0, 0), "unchanged") == 0)
		printf("%s: already %s, nothing to do\n", v.fields.text, state);
	else
		printf("%s: %s, was %s (change %s)\n", v.fields.text, PQgetvalue(r, 0, 3),
		       PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 1));
	rc = 0;
out:
	PQclear(r);
	PQfinish(db);
	return rc;
}

int cmd_code(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(code_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "set") == 0)
		return code_set(argc - 1, argv + 1);
	return cli_usage("code", "unknown subcommand \"%s\"", argv[1]);
}

int cmd_undo(int argc, char **argv)
{
	const char *cmd = "undo", *reason = NULL, *serials = NULL;
	char id[24], who[CLI_ACTOR_LEN];
	long long change;
	int rc = 1;
	if (options(argc, argv, cmd, undo_help, 0, &reason, &serials, &rc) < 0)
		return rc;
	if (optind + 1 != argc)
		return cli_usage(cmd, "needs one CHANGE");
	if (cli_parse_int(argv[optind], 1, 1LL << 62, &change) < 0)
		return cli_usage(cmd, "CHANGE is a change number, not \"%.40s\"", argv[optind]);
	snprintf(id, sizeof id, "%lld", change);
	const char *params[] = {cli_actor(who, sizeof who), id, reason};
	PGresult *r = run(cmd, STMT_SUPPLY_UNDO, 3, params);
	if (!r)
		return 1;
	const char *outcome = PQgetvalue(r, 0, 0);
	if (strcmp(outcome, "undone") == 0) {
		printf("change %s undone: %s of batch %s, %s again\n", id, PQgetvalue(r, 0, 1),
		       PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 3));
		rc = 0;
	} else if (strcmp(outcome, "unknown_change") == 0) {
		cli_error(cmd, "no change %s", id);
	} else if (strcmp(outcome, "already_undone") == 0) {
		cli_error(cmd, "change %s was undone already", id);
	} else if (strcmp(outcome, "too_late") == 0) {
		cli_error(cmd, "change %s is older than the undo window: it stands", id);
	} else {
		cli_error(cmd, "a later change of the same code or batch stands: undo it first");
	}
	PQclear(r);
	return rc;
}
