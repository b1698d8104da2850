/*
 * cmd_token.c: packcode-gen token add|list|revoke, the admin API's bearer
 * tokens. A new token is printed once and only its SHA-256 hash is stored;
 * each change is one call of token_add() or token_revoke() (sql/006), which
 * writes its audit row (actor cli:USER) in the same transaction.
 */
#include <getopt.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "scope.h"
#include "secret.h"
#include "statements.h"

#define TOKEN_PREFIX "pct_"

static const char help[] =
    "Usage: packcode-gen token add --name NAME [--scopes LIST] [--brands LIST]\n"
    "       packcode-gen token list\n"
    "       packcode-gen token revoke NAME\n"
    "\n"
    "Bearer tokens for the server's admin API (/api/v1/admin/...).\n"
    "\n"
    "  add      create a token for NAME (a person or a partner system: letters,\n"
    "           digits and ._@- up to 64) and print it once on standard output.\n"
    "           Only its SHA-256 hash is stored: it cannot be shown again.\n"
    "  list     list tokens: name, created, last used, revoked, scopes, brands\n"
    "  revoke   revoke NAME's token: servers refuse it within a second\n"
    "\n"
    "Options of add:\n"
    "  --scopes LIST   what the token may do, comma-separated: read, catalog\n"
    "                  (products, print runs), operate (recall, activate, void),\n"
    "                  points (adjust, spend), claims, pii (unmasked member data,\n"
    "                  every read audited), export, admin (staff, tokens, keys),\n"
    "                  campaigns (a brand's campaigns and prizes); or all.\n"
    "                  Default: all (as tokens made before scopes had); give a\n"
    "                  partner system only what it needs.\n"
    "  --brands LIST   limit the token to these brands (names, comma-separated):\n"
    "                  it then sees and changes only their products, batches,\n"
    "                  scans, claims and stats. Default: every brand.\n"
    "\n"
    "Every change is recorded in the audit table with the operating-system user\n"
    "who made it. Use the token as 'Authorization: Bearer TOKEN'.\n";

/*
 * Run one statement of statements.h with n text parameters, but for
 * parameter bin_param (-1: none), bin_len bytes of binary. The result, or
 * NULL after saying why.
 */
static PGresult *run(PGconn *db, const char *sql, int n, const char *const *params, int bin_param,
                     int bin_len)
{
	int formats[6] = {0}, lens[6] = {0};
	char line[DB_ERR_LEN];
	if (bin_param >= 0 && bin_param < 6) {
		formats[bin_param] = 1;
		lens[bin_param] = bin_len;
	}
	PGresult *r = PQexecParams(db, sql, n, NULL, params, lens, formats, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		cli_error("token", "%s", db_error_line(r, db, line, sizeof line));
		PQclear(r);
		return NULL;
	}
	return r;
}

static int token_add(PGconn *db, const char *name, const char *scopes, const char *brands)
{
	char token[128], who[CLI_ACTOR_LEN];
	unsigned char hash[32];
	int rc = 1;
	if (secret_new(TOKEN_PREFIX, token, sizeof token, hash) < 0)
		return cli_error("token", "the random number generator failed");
	const char *params[] = {cli_actor(who, sizeof who), name, (const char *)hash, scopes,
	                        brands};
	PGresult *r = run(db, STMT_TOKEN_ADD, 5, params, 2, (int)sizeof hash);
	if (!r)
		goto out;
	const char *outcome = PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "";
	if (strcmp(outcome, "added") != 0) {
		if (strcmp(outcome, "name_taken") == 0)
			cli_error("token", "\"%s\" already has a live token: revoke it first",
			          name);
		else
			cli_error("token", "token_add() gave no outcome");
		goto out;
	}
	fprintf(stderr, "token for %s created (scopes %s; brands %s); it is shown only now:\n",
	        name, scopes, brands ? brands : "all");
	printf("%s\n", token);
	rc = 0;
out:
	PQclear(r);
	OPENSSL_cleanse(token, sizeof token);
	return rc;
}

static int token_list(PGconn *db)
{
	PGresult *r = run(db, STMT_TOKEN_LIST, 0, NULL, -1, 0);
	if (!r)
		return 1;
	printf("%-24s %-21s %-21s %-21s %-28s %s\n", "NAME", "CREATED", "LAST USED", "REVOKED",
	       "SCOPES", "BRANDS");
	for (int i = 0; i < PQntuples(r); i++)
		printf("%-24s %-21s %-21s %-21s %-28s %s\n", PQgetvalue(r, i, 0),
		       PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
		       PQgetvalue(r, i, 4), PQgetvalue(r, i, 5));
	PQclear(r);
	return 0;
}

static int token_revoke(PGconn *db, const char *name)
{
	char who[CLI_ACTOR_LEN];
	const char *params[] = {cli_actor(who, sizeof who), name};
	PGresult *r = run(db, STMT_TOKEN_REVOKE, 2, params, -1, 0);
	if (!r)
		return 1;
	int revoked = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "revoked") == 0;
	PQclear(r);
	if (!revoked)
		return cli_error("token", "no active token named \"%s\"", name);
	printf("token %s revoked\n", name);
	return 0;
}

int cmd_token(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"name", required_argument, NULL, 'n'},
	    {"scopes", required_argument, NULL, 's'},
	    {"brands", required_argument, NULL, 'b'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *name = NULL, *scopes = NULL, *brands = NULL;
	char err[DB_ERR_LEN], list[SCOPE_LIST_MAX];
	unsigned bits = SCOPE_ALL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			name = optarg;
			break;
		case 's':
			scopes = optarg;
			break;
		case 'b':
			brands = optarg;
			break;
		case 'h':
			fputs(help, stdout);
			return 0;
		default:
			return cli_usage("token", "unknown option");
		}
	}
	if (optind >= argc)
		return cli_usage("token", "expected add, list or revoke");
	const char *verb = argv[optind++];
	if (strcmp(verb, "revoke") == 0 && !name && optind < argc)
		name = argv[optind++];
	if (optind < argc)
		return cli_usage("token", "unexpected argument \"%s\"", argv[optind]);
	int needs_name = strcmp(verb, "add") == 0 || strcmp(verb, "revoke") == 0;
	if (!needs_name && strcmp(verb, "list") != 0)
		return cli_usage("token", "unknown action \"%s\"", verb);
	if (needs_name && !name)
		return cli_usage("token", "%s needs a name", verb);
	if ((scopes || brands) && strcmp(verb, "add") != 0)
		return cli_usage("token", "--scopes and --brands are for add");
	if (scopes && scope_parse(scopes, &bits, err, sizeof err) < 0)
		return cli_usage("token", "%s", err);
	if (brands && cli_brands_check(brands, err, sizeof err) < 0)
		return cli_usage("token", "%s", err);
	if (needs_name && (strlen(name) < 1 || strlen(name) > 64 ||
	                   strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                                "0123456789._@-") != strlen(name) ||
	                   strchr("._@-", name[0])))
		return cli_usage("token", "a name is 1 to 64 letters, digits and ._@- "
		                          "(not first)");

	PGconn *db = db_connect(err, sizeof err);
	if (!db)
		return cli_error("token", "%s", err);
	if (strcmp(verb, "add") == 0)
		rc = token_add(db, name, scope_format(bits, list, sizeof list), brands);
	else if (strcmp(verb, "revoke") == 0)
		rc = token_revoke(db, name);
	else
		rc = token_list(db);
	PQfinish(db);
	return rc;
}
