/*
 * cmd_member.c: packcode-gen member show|check. A member typed here is
 * normalised as the server does (lib/member_id.c, the same default
 * country), so "139 0000 0000" finds +8613900000000. 'check' lists the
 * members stored in a form that normalisation now reads differently
 * (digits stored as an external id before phone numbers were read
 * without their +): nothing is changed, the ledger being append-only.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "member_id.h"
#include "pii.h"
#include "statements.h"

static const char help[] =
    "Usage: packcode-gen member show [--default-country CC] MEMBER\n"
    "       packcode-gen member check [--default-country CC]\n"
    "\n"
    "Members: a phone number (any usual spelling; without its country code a\n"
    "number of --default-country) or an external id (crm:42).\n"
    "\n"
    "  show     the member's key (a phone or external id is found through its\n"
    "           identity: the PII key), and its balance\n"
    "  check    list the members whose stored id the normalisation now reads\n"
    "           as another (13900000000 stored as an id is +8613900000000 now)\n"
    "           or refuses; changes nothing\n"
    "\n"
    "  --default-country CC  region of national numbers (default\n"
    "                        $PACKCODE_DEFAULT_COUNTRY, else CN), as the server's\n";

static PGresult *query(PGconn *db, const char *sql, int n, const char *const *params)
{
	char line[DB_ERR_LEN];
	PGresult *r = PQexecParams(db, sql, n, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		cli_error("member", "%s", db_error_line(r, db, line, sizeof line));
		PQclear(r);
		return NULL;
	}
	return r;
}

/*
 * The member key of a phone or external id: the member of its identity
 * (keyed hash under the PII key), else the id itself (a member made before
 * 011); a key ("m-...") is itself. 0, or 1 (said why).
 */
static int member_key(PGconn *db, const char *member, char key[MEMBER_ID_MAX + 1])
{
	struct pii_key k;
	char err[PII_ERR_LEN], hex[3 + 2 * PII_HASH_LEN];
	unsigned char h[PII_HASH_LEN];
	snprintf(key, MEMBER_ID_MAX + 1, "%s", member);
	if (strncmp(member, "m-", 2) == 0)
		return 0;
	if (pii_key_load(&k, pii_key_default_path(), 1, NULL, err, sizeof err) < 0)
		return cli_error("member", "%s", err);
	pii_hash(&k, member[0] == '+' ? PII_PHONE : PII_EXTERNAL, member, strlen(member), h);
	pii_key_clear(&k);
	hex[0] = '\\';
	hex[1] = 'x';
	for (int i = 0; i < PII_HASH_LEN; i++)
		snprintf(hex + 2 + 2 * i, 3, "%02x", h[i]);
	const char *params[] = {hex};
	PGresult *r = query(db, STMT_MEMBER_BY_IDENTITY, 1, params);
	if (!r)
		return 1;
	if (PQntuples(r) == 1)
		snprintf(key, MEMBER_ID_MAX + 1, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

static int member_show(PGconn *db, const char *typed)
{
	char member[MEMBER_ID_MAX + 1];
	if (member_key(db, typed, member))
		return 1;
	const char *params[] = {member};
	PGresult *r = query(db, STMT_MEMBER_GET, 1, params);
	if (!r)
		return 1;
	int found = PQntuples(r) == 1;
	if (found)
		printf("%s\t%s points\n", member, PQgetvalue(r, 0, 0));
	PQclear(r);
	return found ? 0 : cli_error("member", "no member %s: nothing claimed yet", typed);
}

static int member_check(PGconn *db, const char *region)
{
	PGresult *r = query(db, STMT_MEMBER_LIST, 0, NULL);
	if (!r)
		return 1;
	int n = PQntuples(r), odd = 0;
	for (int i = 0; i < n; i++) {
		const char *stored = PQgetvalue(r, i, 0);
		char now[MEMBER_ID_MAX + 1];
		enum phone_result why;
		if (member_id_normalize(stored, strlen(stored), region, now, &why) == 0 &&
		    strcmp(now, stored) == 0)
			continue;
		if (!odd++)
			printf("STORED\tNOW READ AS\tPOINTS\n");
		if (now[0])
			printf("%s\t%s\t%s\n", stored, now, PQgetvalue(r, i, 1));
		else
			printf("%s\trefused: %s\t%s\n", stored, member_id_message(why),
			       PQgetvalue(r, i, 1));
	}
	PQclear(r);
	fprintf(stderr, "%d of %d members stored in another form than normalisation gives now\n",
	        odd, n);
	return 0;
}

int cmd_member(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"default-country", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *region = getenv("PACKCODE_DEFAULT_COUNTRY");
	char err[DB_ERR_LEN], member[MEMBER_ID_MAX + 1];
	int c, rc;

	if (!region || !*region)
		region = "CN";
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			region = optarg;
			break;
		case 'h':
			fputs(help, stdout);
			return 0;
		default:
			return cli_usage("member", "unknown option");
		}
	}
	if (!phone_region_known(region))
		return cli_usage("member", "--default-country %s: not a region with phone numbers",
		                 region);
	if (optind >= argc)
		return cli_usage("member", "expected show or check");
	const char *verb = argv[optind++];
	int show = strcmp(verb, "show") == 0;
	if (!show && strcmp(verb, "check") != 0)
		return cli_usage("member", "unknown action \"%s\"", verb);
	if (show) {
		enum phone_result why;
		if (optind >= argc)
			return cli_usage("member", "show needs a member");
		const char *in = argv[optind++];
		if (member_id_normalize(in, strlen(in), region, member, &why) < 0)
			return cli_usage("member", "\"%s\": %s", in, member_id_message(why));
	}
	if (optind < argc)
		return cli_usage("member", "unexpected argument \"%s\"", argv[optind]);

	PGconn *db = db_connect(err, sizeof err);
	if (!db)
		return cli_error("member", "%s", err);
	rc = show ? member_show(db, member) : member_check(db, region);
	PQfinish(db);
	return rc;
}

/* packcode-gen pii-key: the PII key file, made once. */
int cmd_pii_key(int argc, char **argv)
{
	char err[PII_ERR_LEN];
	const char *path = pii_key_default_path();
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf(
		    "Usage: packcode-gen pii-key\n\nMake the key of members' personal data at "
		    "$PACKCODE_PII_KEY, else\n$PACKCODE_HOME/pii.key (mode 0600). An existing key "
		    "is never replaced:\nwithout it no stored phone can be read again.\n");
		return 0;
	}
	if (argc > 1)
		return cli_usage("pii-key", "unexpected argument \"%s\"", argv[1]);
	if (pii_key_create(path, err, sizeof err) < 0)
		return cli_error("pii-key", "%s", err);
	printf("%s\n", path);
	return 0;
}
