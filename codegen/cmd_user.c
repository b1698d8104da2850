/*
 * cmd_user.c: packcode-gen user add|list|disable, the brand's staff who
 * sign in to the admin API. A password is read from the terminal without
 * echo (twice) or from standard input, hashed with argon2id here (only the
 * hash reaches the database), and never printed; a TOTP secret is made
 * here and shown once, as an otpauth:// URI for an authenticator app. Each
 * change is one call of staff_add() or staff_disable() (sql/008_staff.sql),
 * audited with actor cli:USER.
 */
#include <getopt.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "db.h"
#include "password.h"
#include "scope.h"
#include "statements.h"
#include "totp.h"

#define TOTP_ISSUER "packcode"

static const char help[] =
    "Usage: packcode-gen user add NAME --scopes LIST [--brands LIST] [--totp]\n"
    "                             [--password-stdin]\n"
    "       packcode-gen user list\n"
    "       packcode-gen user disable NAME\n"
    "\n"
    "Staff accounts: people of the brand who sign in to the admin API\n"
    "(POST /api/v1/admin/session) with a name, a password and, with --totp, the\n"
    "code of an authenticator app. A session lasts 8 hours.\n"
    "\n"
    "  add      create the account NAME (letters, digits and ._@- up to 64).\n"
    "           The password is asked twice on the terminal, without echo, or\n"
    "           read as one line from standard input with --password-stdin;\n"
    "           10 to 1024 bytes. Only its argon2id hash is stored.\n"
    "  list     list accounts: name, scopes, brands, TOTP, created, disabled,\n"
    "           locked until (after 5 failed sign-ins in a row)\n"
    "  disable  disable NAME: it cannot sign in any more and its sessions end\n"
    "           within a second on every server. Names are not reused.\n"
    "\n"
    "Options of add:\n"
    "  --scopes LIST     what the account may do, comma-separated: read, catalog\n"
    "                    (products, print runs), operate (recall, activate,\n"
    "                    void), points (adjust, spend), claims, pii (unmasked\n"
    "                    member data, every read audited), export, admin (staff,\n"
    "                    tokens, keys), campaigns; or all. Required.\n"
    "  --brands LIST     limit the account to these brands (names, comma-\n"
    "                    separated). Default: every brand.\n"
    "  --totp            require a TOTP code (RFC 6238, 6 digits, 30 s) at\n"
    "                    sign-in; its secret is printed once on standard output\n"
    "                    as an otpauth:// URI (make a QR of it for the app).\n"
    "  --password-stdin  read the password from standard input.\n"
    "\n"
    "Every change is recorded in the audit table with the operating-system user\n"
    "who made it. The password and the TOTP secret never are.\n";

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
		cli_error("user", "%s", db_error_line(r, db, line, sizeof line));
		PQclear(r);
		return NULL;
	}
	return r;
}

/* One line of f into buf without its newline: its length, or -1 (none, or too long). */
static long read_line(FILE *f, char *buf, size_t size)
{
	if (!fgets(buf, (int)size, f))
		return -1;
	size_t n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	else if (!feof(f))
		return -1; /* longer than the buffer */
	if (n && buf[n - 1] == '\r')
		buf[--n] = '\0';
	return (long)n;
}

/* The password from the terminal, without echo, asked twice. Its length, or -1 after an error. */
static long ask_password(const char *name, char *pw, size_t size)
{
	char again[PASSWORD_MAX + 2];
	struct termios old, quiet;
	long n = -1, m = -1;
	FILE *tty = fopen("/dev/tty", "r+");
	if (!tty) {
		cli_error("user", "no terminal to read the password from: use --password-stdin");
		return -1;
	}
	int fd = fileno(tty);
	if (tcgetattr(fd, &old) < 0) {
		cli_error("user", "no terminal to read the password from: use --password-stdin");
		fclose(tty);
		return -1;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	tcsetattr(fd, TCSAFLUSH, &quiet);
	fprintf(tty, "Password for %s: ", name);
	fflush(tty);
	n = read_line(tty, pw, size);
	if (n >= 0) {
		fprintf(tty, "Again: ");
		fflush(tty);
		m = read_line(tty, again, sizeof again);
	}
	tcsetattr(fd, TCSAFLUSH, &old);
	fclose(tty);
	if (n < 0 || m < 0) {
		cli_error("user", "no password read");
		n = -1;
	} else if (n != m || strcmp(pw, again) != 0) {
		cli_error("user", "the two passwords differ");
		n = -1;
	}
	OPENSSL_cleanse(again, sizeof again);
	return n;
}

static int user_add(PGconn *db, const char *name, const char *scopes, const char *brands, int totp,
                    int from_stdin)
{
	char pw[PASSWORD_MAX + 2], hash[PASSWORD_HASH_MAX], who[CLI_ACTOR_LEN], err[128],
	    uri[TOTP_URI_MAX];
	unsigned char secret[TOTP_SECRET_LEN];
	PGresult *r = NULL;
	int rc = 1;
	long n = from_stdin ? read_line(stdin, pw, sizeof pw) : ask_password(name, pw, sizeof pw);
	if (n < 0) {
		if (from_stdin)
			cli_error("user",
			          "no password on standard input (one line, at most %d bytes)",
			          PASSWORD_MAX);
		goto out;
	}
	if (password_check(pw, (size_t)n, err, sizeof err) < 0) {
		cli_error("user", "%s", err);
		goto out;
	}
	if (password_hash(pw, (size_t)n, hash) < 0) {
		cli_error("user", "argon2id hashing failed (out of memory?)");
		goto out;
	}
	if (totp && (RAND_priv_bytes(secret, sizeof secret) != 1 ||
	             totp_uri(secret, sizeof secret, TOTP_ISSUER, name, uri, sizeof uri) < 0)) {
		cli_error("user", "the random number generator failed");
		goto out;
	}
	const char *params[] = {cli_actor(who, sizeof who),         name,   hash,
	                        totp ? (const char *)secret : NULL, scopes, brands};
	r = run(db, STMT_STAFF_ADD, 6, params, totp ? 3 : -1, (int)sizeof secret);
	if (!r)
		goto out;
	if (PQntuples(r) != 1 || strcmp(PQgetvalue(r, 0, 0), "added") != 0) {
		cli_error("user", "\"%s\" exists already", name);
		goto out;
	}
	fprintf(stderr, "user %s added (scopes %s; brands %s)\n", name, scopes,
	        brands ? brands : "all");
	if (totp) {
		fprintf(stderr,
		        "its TOTP secret, shown only now (add it to an authenticator app):\n");
		printf("%s\n", uri);
	}
	rc = 0;
out:
	PQclear(r);
	OPENSSL_cleanse(pw, sizeof pw);
	OPENSSL_cleanse(secret, sizeof secret);
	OPENSSL_cleanse(uri, sizeof uri);
	return rc;
}

static int user_list(PGconn *db)
{
	PGresult *r = run(db, STMT_STAFF_LIST, 0, NULL, -1, 0);
	if (!r)
		return 1;
	printf("%-20s %-28s %-20s %-4s %-21s %-21s %s\n", "NAME", "SCOPES", "BRANDS", "TOTP",
	       "CREATED", "DISABLED", "LOCKED UNTIL");
	for (int i = 0; i < PQntuples(r); i++)
		printf("%-20s %-28s %-20s %-4s %-21s %-21s %s\n", PQgetvalue(r, i, 0),
		       PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
		       PQgetvalue(r, i, 4), PQgetvalue(r, i, 5), PQgetvalue(r, i, 6));
	PQclear(r);
	return 0;
}

static int user_disable(PGconn *db, const char *name)
{
	char who[CLI_ACTOR_LEN];
	const char *params[] = {cli_actor(who, sizeof who), name};
	PGresult *r = run(db, STMT_STAFF_DISABLE, 2, params, -1, 0);
	if (!r)
		return 1;
	const char *outcome = PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "";
	int rc = 1;
	if (strcmp(outcome, "disabled") == 0) {
		printf("user %s disabled; %s session(s) ended\n", name, PQgetvalue(r, 0, 1));
		rc = 0;
	} else if (strcmp(outcome, "already_disabled") == 0) {
		cli_error("user", "\"%s\" is disabled already", name);
	} else {
		cli_error("user", "no user named \"%s\"", name);
	}
	PQclear(r);
	return rc;
}

/* A name as the accounts' CHECK constraint wants it. */
static int name_ok(const char *name)
{
	size_t n = strlen(name);
	return n >= 1 && n <= 64 && !strchr("._@-", name[0]) &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@-") ==
	           n;
}

int cmd_user(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"scopes", required_argument, NULL, 's'}, {"brands", required_argument, NULL, 'b'},
	    {"totp", no_argument, NULL, 't'},         {"password-stdin", no_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},         {0},
	};
	const char *scopes = NULL, *brands = NULL, *name = NULL;
	char err[DB_ERR_LEN], list[SCOPE_LIST_MAX];
	unsigned bits = 0;
	int c, rc, totp = 0, from_stdin = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			scopes = optarg;
			break;
		case 'b':
			brands = optarg;
			break;
		case 't':
			totp = 1;
			break;
		case 'p':
			from_stdin = 1;
			break;
		case 'h':
			fputs(help, stdout);
			return 0;
		default:
			return cli_usage("user", "unknown option");
		}
	}
	if (optind >= argc)
		return cli_usage("user", "expected add, list or disable");
	const char *verb = argv[optind++];
	int add = strcmp(verb, "add") == 0, disable = strcmp(verb, "disable") == 0;
	if (!add && !disable && strcmp(verb, "list") != 0)
		return cli_usage("user", "unknown action \"%s\"", verb);
	if ((add || disable) && optind < argc)
		name = argv[optind++];
	if (optind < argc)
		return cli_usage("user", "unexpected argument \"%s\"", argv[optind]);
	if ((add || disable) && !name)
		return cli_usage("user", "%s needs a name", verb);
	if (name && !name_ok(name))
		return cli_usage("user", "a name is 1 to 64 letters, digits and ._@- (not first)");
	if (!add && (scopes || brands || totp || from_stdin))
		return cli_usage("user",
		                 "--scopes, --brands, --totp and --password-stdin are for add");
	if (add && !scopes)
		return cli_usage("user",
		                 "add needs --scopes (read, catalog, operate, points, claims, "
		                 "pii, export, admin, campaigns, or all)");
	if (scopes && scope_parse(scopes, &bits, err, sizeof err) < 0)
		return cli_usage("user", "%s", err);
	if (brands && cli_brands_check(brands, err, sizeof err) < 0)
		return cli_usage("user", "%s", err);

	PGconn *db = db_connect(err, sizeof err);
	if (!db)
		return cli_error("user", "%s", err);
	if (add)
		rc = user_add(db, name, scope_format(bits, list, sizeof list), brands, totp,
		              from_stdin);
	else if (disable)
		rc = user_disable(db, name);
	else
		rc = user_list(db);
	PQfinish(db);
	return rc;
}
