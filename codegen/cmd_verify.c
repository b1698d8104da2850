/*
 * cmd_verify.c: packcode-gen verify: the truth about codes, for the brand.
 *
 * The keyring alone says genuine / typo / not genuine / revoked key; the
 * database (unless --offline) adds which batch and product, whether the batch
 * is live, and whether and when the code was claimed. A serial that no batch
 * of the code's key holds was never minted by us: not genuine.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "statements.h"

static const char help[] =
    "Usage: packcode-gen verify [--offline] [--json] [CODE...]\n"
    "\n"
    "Give a verdict on each CODE (as printed: any case, hyphens and spaces\n"
    "allowed, O read as 0, I and L as 1). With no CODE, or CODE '-', read codes\n"
    "from standard input, one per line (a barcode scanner, or a column of a\n"
    "codes.csv). Verdicts:\n"
    "\n"
    "  genuine      signed by one of our keys and, with a database, in a live batch\n"
    "  typo         malformed, or the check character is wrong: a mistyped\n"
    "               character or two swapped neighbours, not a forgery\n"
    "  not_genuine  well formed but not signed by us (or never minted)\n"
    "  revoked_key  signed by a key that has been revoked\n"
    "  void_batch   signed, but its print run never completed\n"
    "  recalled     signed, but its batch was recalled\n"
    "  inactive, void, stolen, destroyed, sample, expired\n"
    "               the supply chain's (docs/supply-chain.md): never released\n"
    "               for sale, or this code's state, or its batch expired\n"
    "\n"
    "With a database (PACKCODE_DB, or the embedded cluster if it exists) it also\n"
    "shows the batch, the product, and whether the code was claimed, by whom and\n"
    "when. verify never changes anything.\n"
    "\n"
    "Options:\n"
    "  --offline    use the keyring only; do not touch the database\n"
    "  --json       one JSON object per line instead of text\n"
    "\n"
    "Exit status: 0 if every code is genuine, 1 otherwise, 2 on a usage error.\n";

struct db_facts {
	int found;
	char batch_id[24], status[16], sku[72], product[208], created[40], key_id[8];
	int claimed;
	char claimed_at[40], member[72], points[16];
	char supply[16]; /* the supply chain's say (sql/013_supply.sql): inactive, void, ..., or ""
	                  */
};

static int lookup(PGconn *db, uint64_t serial, struct db_facts *f, char *err, size_t errlen)
{
	char s[24];
	const char *params[] = {s};
	snprintf(s, sizeof s, "%llu", (unsigned long long)serial);
	memset(f, 0, sizeof *f);
	PGresult *r = PQexecParams(db, STMT_CODE_LOOKUP, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%s", PQerrorMessage(db));
		PQclear(r);
		return -1;
	}
	if (PQntuples(r) == 1) {
		f->found = 1;
		snprintf(f->batch_id, sizeof f->batch_id, "%s", PQgetvalue(r, 0, 0));
		snprintf(f->status, sizeof f->status, "%s", PQgetvalue(r, 0, 1));
		snprintf(f->sku, sizeof f->sku, "%s", PQgetvalue(r, 0, 2));
		snprintf(f->product, sizeof f->product, "%s", PQgetvalue(r, 0, 3));
		snprintf(f->created, sizeof f->created, "%s", PQgetvalue(r, 0, 4));
		snprintf(f->key_id, sizeof f->key_id, "%s", PQgetvalue(r, 0, 5));
		snprintf(f->supply, sizeof f->supply, "%s", PQgetvalue(r, 0, 9));
		if (!PQgetisnull(r, 0, 6)) {
			f->claimed = 1;
			snprintf(f->member, sizeof f->member, "%s", PQgetvalue(r, 0, 6));
			snprintf(f->points, sizeof f->points, "%s", PQgetvalue(r, 0, 7));
			snprintf(f->claimed_at, sizeof f->claimed_at, "%s", PQgetvalue(r, 0, 8));
		}
	}
	PQclear(r);
	return 0;
}

/* The database's say on a code the keyring accepted. */
static enum verdict db_verdict(const struct verification *v, const struct db_facts *f)
{
	if (!f->found || (unsigned)atoi(f->key_id) != v->fields.key_id)
		return VERDICT_FORGED;
	if (v->verdict == VERDICT_REVOKED)
		return VERDICT_REVOKED;
	if (strcmp(f->status, "recalled") == 0)
		return VERDICT_RECALLED;
	if (strcmp(f->status, "active") != 0 && strcmp(f->status, "expired") != 0)
		return VERDICT_VOID;
	static const struct {
		const char *name;
		enum verdict v;
	} supply[] = {{"inactive", VERDICT_INACTIVE}, {"void", VERDICT_CODE_VOID},
	              {"stolen", VERDICT_STOLEN},     {"destroyed", VERDICT_DESTROYED},
	              {"sample", VERDICT_SAMPLE},     {"expired", VERDICT_EXPIRED}};
	for (size_t i = 0; i < sizeof supply / sizeof supply[0]; i++)
		if (strcmp(f->supply, supply[i].name) == 0)
			return supply[i].v;
	return VERDICT_GENUINE;
}

static void print_text(const char *input, const struct verification *v, enum verdict verdict,
                       const struct db_facts *f, const char *dbnote)
{
	const char *shown = v->verdict == VERDICT_TYPO ? input : v->fields.text;
	printf("%s: %s", shown, verdict_name(verdict));
	if (v->verdict == VERDICT_TYPO) {
		printf(" (check the characters)\n");
		return;
	}
	if (v->verdict == VERDICT_FORGED) {
		printf("\n");
		return;
	}
	printf(" (key %u, serial %llu)\n", v->fields.key_id, (unsigned long long)v->serial);
	if (dbnote) {
		printf("  database not consulted: %s\n", dbnote);
		return;
	}
	if (!f->found) {
		printf("  no batch holds this serial: never minted\n");
		return;
	}
	printf("  batch %s (%s), product %s \"%s\", created %s\n", f->batch_id, f->status, f->sku,
	       f->product, f->created);
	if (f->claimed)
		printf("  claimed %s by %s for %s points\n", f->claimed_at, f->member, f->points);
	else
		printf("  not claimed\n");
}

static void print_json(const char *input, const struct verification *v, enum verdict verdict,
                       const struct db_facts *f, const char *dbnote)
{
	json_t *o = json_object();
	json_object_set_new(o, "input", json_string(input));
	json_object_set_new(o, "verdict", json_string(verdict_name(verdict)));
	if (v->verdict != VERDICT_TYPO)
		json_object_set_new(o, "code", json_string(v->fields.text));
	if (v->verdict == VERDICT_GENUINE || v->verdict == VERDICT_REVOKED) {
		json_object_set_new(o, "key_id", json_integer(v->fields.key_id));
		json_object_set_new(o, "serial", json_integer((json_int_t)v->serial));
		if (dbnote) {
			json_object_set_new(o, "database", json_string(dbnote));
		} else if (f->found) {
			json_object_set_new(o, "batch", json_integer(atoll(f->batch_id)));
			json_object_set_new(o, "batch_status", json_string(f->status));
			json_object_set_new(o, "sku", json_string(f->sku));
			json_object_set_new(o, "product", json_string(f->product));
			json_object_set_new(o, "created", json_string(f->created));
			json_object_set_new(o, "claimed", json_boolean(f->claimed));
			if (f->claimed) {
				json_object_set_new(o, "claimed_at", json_string(f->claimed_at));
				json_object_set_new(o, "member", json_string(f->member));
				json_object_set_new(o, "points", json_integer(atoll(f->points)));
			}
		}
	}
	char *s = json_dumps(o, JSON_COMPACT);
	if (s)
		puts(s);
	free(s);
	json_decref(o);
}

/* Verdict on one code, printed; 0 if genuine, 1 if not, -1 on a database error. */
static int verify_one(struct keyring *kr, PGconn *db, const char *input, const char *dberr,
                      int as_json)
{
	struct verification v;
	struct db_facts f = {0};
	const char *note = db ? NULL : dberr;
	enum verdict verdict = keyring_verify(kr, input, strlen(input), &v);
	if (db && (verdict == VERDICT_GENUINE || verdict == VERDICT_REVOKED)) {
		char err[DB_ERR_LEN];
		if (lookup(db, v.serial, &f, err, sizeof err) < 0) {
			cli_error("verify", "database: %s", err);
			return -1;
		}
		verdict = db_verdict(&v, &f);
	}
	if (as_json)
		print_json(input, &v, verdict, &f, note);
	else
		print_text(input, &v, verdict, &f, note);
	return verdict == VERDICT_GENUINE ? 0 : 1;
}

int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"offline", no_argument, NULL, 'o'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int offline = 0, as_json = 0, c, rc = 0;
	char dberr[DB_ERR_LEN] = "";
	PGconn *db = NULL;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			offline = 1;
			break;
		case 'j':
			as_json = 1;
			break;
		case 'h':
			fputs(help, stdout);
			return 0;
		default:
			return cli_usage("verify", "unknown option");
		}
	}
	struct keyring *kr = cli_load_keyring("verify");
	if (!kr)
		return 1;
	if (offline) {
		snprintf(dberr, sizeof dberr, "--offline");
	} else if (db_is_embedded() && db_embedded_status(NULL, 0) == DB_EMBEDDED_ABSENT) {
		snprintf(dberr, sizeof dberr,
		         "no database (set PACKCODE_DB or run 'packcode-gen db start')");
	} else if (!(db = db_connect(dberr, sizeof dberr))) {
		/* an offline verdict is still worth giving; say why there is no more */
		dberr[strcspn(dberr, "\n")] = '\0';
	}

	int from_stdin = optind == argc || (argc - optind == 1 && strcmp(argv[optind], "-") == 0);
	char *line = NULL;
	size_t cap = 0;
	for (int i = optind;; i++) {
		const char *input;
		if (from_stdin) {
			ssize_t n = getline(&line, &cap, stdin);
			if (n < 0)
				break;
			while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
				line[--n] = '\0';
			if (n == 0)
				continue;
			input = line;
		} else if (i < argc) {
			input = argv[i];
		} else {
			break;
		}
		if (verify_one(kr, db, input, dberr, as_json) != 0)
			rc = 1;
		if (db && PQstatus(db) != CONNECTION_OK) {
			rc = cli_error("verify", "lost the database connection");
			break;
		}
	}
	free(line);
	PQfinish(db);
	keyring_free(kr);
	return rc;
}
