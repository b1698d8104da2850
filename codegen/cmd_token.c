/*
 * cmd_token.c: packcode-gen token add|list|revoke, the admin API's bearer
 * tokens. A new token is printed once and only its SHA-256 hash is stored;
 * every change is written to the audit table in the same transaction.
 */
#include <getopt.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "db.h"

#define TOKEN_PREFIX "pct_"

static const char help[] =
    "Usage: packcode-gen token add --name NAME\n"
    "       packcode-gen token list\n"
    "       packcode-gen token revoke NAME\n"
    "\n"
    "Bearer tokens for the server's admin API (/api/v1/admin/...).\n"
    "\n"
    "  add      create a token for NAME (a person or a partner system: letters,\n"
    "           digits and ._@- up to 64) and print it once on standard output.\n"
    "           Only its SHA-256 hash is stored: it cannot be shown again.\n"
    "  list     list tokens: name, created, last used, revoked\n"
    "  revoke   revoke NAME's token: servers refuse it within a second\n"
    "\n"
    "Every change is recorded in the audit table with the operating-system user\n"
    "who made it. Use the token as 'Authorization: Bearer TOKEN'.\n";

/* 32 random bytes as base64url without padding, after a recognisable prefix. */
static int make_token(char *out, size_t outlen, unsigned char hash[32])
{
	unsigned char raw[32], b64[64];
	unsigned int hl = 0;
	if (RAND_priv_bytes(raw, sizeof raw) != 1)
		return -1;
	int n = EVP_EncodeBlock(b64, raw, sizeof raw);
	while (n > 0 && b64[n - 1] == '=')
		n--;
	for (int i = 0; i < n; i++)
		b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
	if (snprintf(out, outlen, "%s%.*s", TOKEN_PREFIX, n, b64) >= (int)outlen)
		return -1;
	OPENSSL_cleanse(raw, sizeof raw);
	return EVP_Digest(out, strlen(out), hash, &hl, EVP_sha256(), NULL) && hl == 32 ? 0 : -1;
}

static const char *os_user(char *buf, size_t len)
{
	struct passwd *pw = getpwuid(geteuid());
	snprintf(buf, len, "cli:%s", pw ? pw->pw_name : "?");
	return buf;
}

static int run(PGconn *db, const char *sql, int n, const char *const *params, int binary_first,
               int lens0, PGresult **out)
{
	int formats[4] = {binary_first, 0, 0, 0}, lens[4] = {lens0, 0, 0, 0};
	PGresult *r = PQexecParams(db, sql, n, NULL, params, lens, formats, 0);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
		char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		if (state && strcmp(state, "23505") == 0 && n > 1)
			cli_error("token", "\"%s\" already has a live token: revoke it first",
			          params[1]);
		else
			cli_error("token", "%s", msg ? msg : PQerrorMessage(db));
		PQclear(r);
		return -1;
	}
	if (out)
		*out = r;
	else
		PQclear(r);
	return 0;
}

static int token_add(PGconn *db, const char *name)
{
	char token[128], who[80];
	unsigned char hash[32];
	if (make_token(token, sizeof token, hash) < 0)
		return cli_error("token", "the random number generator failed");
	const char *params[] = {(const char *)hash, name, os_user(who, sizeof who)};
	PGresult *r = NULL;
	if (run(db,
	        "WITH t AS (INSERT INTO admin_tokens (hash, name) VALUES ($1, $2) RETURNING id) "
	        "INSERT INTO audit (actor, action, target) SELECT $3, 'token.add', $2 FROM t "
	        "RETURNING (SELECT id FROM t)",
	        3, params, 1, 32, &r) < 0)
		return 1;
	PQclear(r);
	fprintf(stderr, "token for %s created; it is shown only now:\n", name);
	printf("%s\n", token);
	OPENSSL_cleanse(token, sizeof token);
	return 0;
}

static int token_list(PGconn *db)
{
	PGresult *r = NULL;
	const char *fmt = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'";
	char sql[512];
	snprintf(sql, sizeof sql,
	         "SELECT name, to_char(created_at AT TIME ZONE 'UTC', %s), "
	         "coalesce(to_char(last_used_at AT TIME ZONE 'UTC', %s), '-'), "
	         "coalesce(to_char(revoked_at AT TIME ZONE 'UTC', %s), '-') "
	         "FROM admin_tokens ORDER BY id",
	         fmt, fmt, fmt);
	if (run(db, sql, 0, NULL, 0, 0, &r) < 0)
		return 1;
	printf("%-24s %-21s %-21s %s\n", "NAME", "CREATED", "LAST USED", "REVOKED");
	for (int i = 0; i < PQntuples(r); i++)
		printf("%-24s %-21s %-21s %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
		       PQgetvalue(r, i, 2), PQgetvalue(r, i, 3));
	PQclear(r);
	return 0;
}

static int token_revoke(PGconn *db, const char *name)
{
	char who[80];
	const char *params[] = {name, os_user(who, sizeof who)};
	PGresult *r = NULL;
	if (run(db,
	        "WITH t AS (UPDATE admin_tokens SET revoked_at = now() "
	        "           WHERE name = $1 AND revoked_at IS NULL RETURNING id) "
	        "INSERT INTO audit (actor, action, target) SELECT $2, 'token.revoke', $1 FROM t",
	        2, params, 0, 0, &r) < 0)
		return 1;
	int changed = strcmp(PQcmdTuples(r), "1") == 0;
	PQclear(r);
	if (!changed)
		return cli_error("token", "no active token named \"%s\"", name);
	printf("token %s revoked\n", name);
	return 0;
}

int cmd_token(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"name", required_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *name = NULL;
	char err[DB_ERR_LEN];
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			name = optarg;
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
		rc = token_add(db, name);
	else if (strcmp(verb, "revoke") == 0)
		rc = token_revoke(db, name);
	else
		rc = token_list(db);
	PQfinish(db);
	return rc;
}
