/*
 * cmd_pack.c: cases, pallets, distributors and shipments from the command
 * line (docs/supply-chain.md, "Packing" and "Distributors"):
 *   pallet mint, pack load|move|unpack|activate|chain,
 *   distributor add|list|set|delete, ship.
 * Codes are judged by the keyring here (a case's code is an ordinary code
 * of a case product's batch; a pallet's is an SSCC, checked by its check
 * digit); the database decides the rest, in one function of
 * sql/018_packing.sql or sql/019_distributors.sql each, which writes the
 * change and its audit row (actor cli:USER). A bulk load is COPYed into a
 * staging table as runs of lines (consecutive children into one parent),
 * checked and written as pack_runs rows by one function: a bad line
 * anywhere changes nothing, and the error names it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "code.h"
#include "db.h"
#include "keyring.h"
#include "packline.h"
#include "statements.h"
#include "url.h"

#define REASON_MAX 200

static const char pack_help[] =
    "Usage: packcode-gen pallet mint --brand BRAND --count N [--prefix GCP]\n"
    "                                [--extension D] [--host HOST]\n"
    "       packcode-gen pack load FILE [--format csv|jsonl]\n"
    "       packcode-gen pack move CHILD PARENT [--reason TEXT]\n"
    "       packcode-gen pack unpack PARENT [--reason TEXT]\n"
    "       packcode-gen pack activate PARENT [--reason TEXT]\n"
    "       packcode-gen pack chain CODE\n"
    "\n"
    "Cases and pallets. A case is a code of a case product (product set SKU\n"
    "--case; minted by mint as any code); a pallet is an SSCC (GS1 AI 00).\n"
    "\n"
    "pallet mint: N SSCCs of BRAND from its GS1 Company Prefix (--prefix the\n"
    "  first time: it becomes the brand's), extension digit D (default 0); one\n"
    "  a line on standard output, with its Digital Link URL https://HOST/00/SSCC\n"
    "  after a comma when --host is given. One database row whatever N.\n"
    "load: the packing line's links, one a line: CSV 'PARENT,CHILD' (a first\n"
    "  line 'parent,child' is a header) or JSON Lines {\"parent\":..,\"child\":..}\n"
    "  (--format, default by the file's name: .jsonl or .ndjson is JSON Lines;\n"
    "  FILE - is standard input). PARENT: a case's code or a pallet's SSCC (18\n"
    "  digits, or (00)SSCC, or a /00/ URL); CHILD: an item's code, or a case's\n"
    "  code onto a pallet. All lines are loaded, or none: the first bad line is\n"
    "  named and nothing changes. Consecutive lines into one parent whose\n"
    "  children are consecutive codes (labels applied in print order) are\n"
    "  stored as one row: a case of 24 items is one.\n"
    "move: put CHILD into PARENT, moving it out of the parent it is in (repack;\n"
    "  the old link is kept in the history).\n"
    "unpack: take every child out of PARENT (kept in the history).\n"
    "activate: release every code in PARENT (its cases and their items) for\n"
    "  sale, as batch activate does: one change per run of consecutive codes,\n"
    "  each undoable ('packcode-gen undo CHANGE').\n"
    "chain: the code's case, pallet, shipment and distributor.\n"
    "\n"
    "Exit status: 0 on success, 1 on failure (one line on stderr, nothing\n"
    "changed), 2 on a usage error.\n";

static const char distributor_help[] =
    "Usage: packcode-gen distributor add --brand BRAND --name NAME [--territory LIST]\n"
    "       packcode-gen distributor list\n"
    "       packcode-gen distributor set ID [--name NAME] [--territory LIST]\n"
    "       packcode-gen distributor delete ID\n"
    "       packcode-gen ship --distributor ID [--pallet SSCC]... [--case CODE]...\n"
    "                         [--batch BATCH]... [--range BATCH:A-B]... [--reference TEXT]\n"
    "       packcode-gen ship receive CODE|--shipment ID\n"
    "\n"
    "A brand's distributors and their sales territories: LIST is regions\n"
    "separated by commas, each an ISO 3166 country (CN), subdivision (CN-ZJ) or\n"
    "a GB/T 2260 province or city code (33 or 330000 Zhejiang, 3301 or 330100\n"
    "Hangzhou); '' for none (no territory is checked). ship assigns pallets,\n"
    "cases, batches or ranges of a batch (codes A to B, numbered from 1 in print\n"
    "order) to a distributor: a consumer scan of one of their codes outside the\n"
    "distributor's territory raises a diversion alert.\n"
    "ship receive records that the distributor received the shipment holding\n"
    "CODE (a pallet's SSCC or a case's code: the last shipment naming it, its\n"
    "pallet, or a batch or range holding it), or the whole shipment ID. Once:\n"
    "receiving it again prints the first receipt and changes nothing.\n"
    "\n"
    "Exit status: 0 on success, 1 on failure (nothing changed), 2 on a usage error.\n";

/* ---- what the codes name ---- */

struct span {
	long long id, first, last;
};

struct catalog {
	struct span *batches, *runs;
	int nbatches, nruns;
};

static int load_spans(PGconn *db, const char *stmt, struct span **out, int *n)
{
	PGresult *r = PQexec(db, stmt);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQclear(r);
		return -1;
	}
	*n = PQntuples(r);
	*out = calloc((size_t)*n + 1, sizeof **out);
	if (!*out) {
		PQclear(r);
		return -1;
	}
	for (int i = 0; i < *n; i++) {
		(*out)[i].id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		(*out)[i].first = strtoll(PQgetvalue(r, i, 1), NULL, 10);
		(*out)[i].last = strtoll(PQgetvalue(r, i, 2), NULL, 10);
	}
	PQclear(r);
	return 0;
}

/* The span holding v (sorted by first), or 0. */
static long long span_of(const struct span *s, int n, long long v)
{
	int lo = 0, hi = n - 1;
	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		if (v < s[mid].first)
			hi = mid - 1;
		else if (v > s[mid].last)
			lo = mid + 1;
		else
			return s[mid].id;
	}
	return 0;
}

/* One end of a link as read. */
struct end {
	int pallet;
	long long value; /* serial, or the SSCC as a number */
	long long ref;   /* batch, or pallet run (0: none) */
	unsigned key;
};

/* A code or an SSCC: 0, or -1 with why. */
static int end_read(struct keyring *kr, const struct catalog *c, const char *text, struct end *e,
                    char *why, size_t whylen)
{
	char sscc[SSCC_LEN + 1];
	memset(e, 0, sizeof *e);
	int k = packline_sscc(text, sscc);
	if (k < 0) {
		snprintf(why, whylen, "\"%.40s\" is not an SSCC (check digit?)", text);
		return -1;
	}
	if (k > 0) {
		e->pallet = 1;
		e->value = strtoll(sscc, NULL, 10);
		e->ref = span_of(c->runs, c->nruns, e->value / 10);
		if (!e->ref) {
			snprintf(why, whylen, "SSCC %s is of no pallet run of ours", sscc);
			return -1;
		}
		return 0;
	}
	/* a code, or a URL ending in one */
	const char *slash = strrchr(text, '/');
	const char *code = slash ? slash + 1 : text;
	size_t len = strcspn(code, "?#");
	struct verification v;
	enum verdict vd = keyring_verify(kr, code, len, &v);
	if (vd != VERDICT_GENUINE) {
		snprintf(why, whylen, "\"%.40s\" is not a code of ours", text);
		return -1;
	}
	e->value = (long long)v.serial;
	e->key = v.fields.key_id;
	e->ref = span_of(c->batches, c->nbatches, e->value);
	if (!e->ref) {
		snprintf(why, whylen, "%s is in no batch: it was never minted", v.fields.text);
		return -1;
	}
	return 0;
}

static PGconn *open_db(const char *cmd, struct catalog *c, struct keyring **kr)
{
	char err[DB_ERR_LEN];
	memset(c, 0, sizeof *c);
	if (kr && !(*kr = cli_load_keyring(cmd)))
		return NULL;
	PGconn *db = db_connect(err, sizeof err);
	if (!db) {
		cli_error(cmd, "%s", err);
		goto fail;
	}
	if (load_spans(db, STMT_PACK_BATCHES, &c->batches, &c->nbatches) < 0 ||
	    load_spans(db, STMT_PACK_RUNS, &c->runs, &c->nruns) < 0) {
		cli_error(cmd, "%s", PQerrorMessage(db));
		PQfinish(db);
		goto fail;
	}
	return db;
fail:
	if (kr) {
		keyring_free(*kr);
		*kr = NULL;
	}
	return NULL;
}

static void close_db(PGconn *db, struct catalog *c, struct keyring *kr)
{
	free(c->batches);
	free(c->runs);
	if (kr)
		keyring_free(kr);
	if (db)
		PQfinish(db);
}

/* One statement whose one row is wanted: the row, or NULL after saying why. */
static PGresult *one_row(const char *cmd, PGconn *db, const char *stmt, int n,
                         const char *const *params)
{
	char line[DB_ERR_LEN];
	PGresult *r = PQexecParams(db, stmt, n, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		cli_error(cmd, "%s", db_error_line(r, db, line, sizeof line));
		PQclear(r);
		return NULL;
	}
	return r;
}

static int simple(PGconn *db, const char *sql)
{
	PGresult *r = PQexec(db, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	PQclear(r);
	return ok ? 0 : -1;
}

/* ---- pallet mint ---- */

static int pallet_mint(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"brand", required_argument, NULL, 'b'},
	    {"count", required_argument, NULL, 'n'},
	    {"prefix", required_argument, NULL, 'p'},
	    {"extension", required_argument, NULL, 'e'},
	    {"host", required_argument, NULL, 'H'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *cmd = "pallet mint", *brand = NULL, *prefix = NULL, *host = NULL;
	long long count = 0, ext = 0;
	char who[CLI_ACTOR_LEN], n[24], e[8];
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			brand = optarg;
			break;
		case 'n':
			if (cli_parse_int(optarg, 1, 1000000, &count) < 0)
				return cli_usage(cmd, "--count is 1 to 1000000");
			break;
		case 'p':
			prefix = optarg;
			break;
		case 'e':
			if (cli_parse_int(optarg, 0, 9, &ext) < 0)
				return cli_usage(cmd, "--extension is a digit");
			break;
		case 'H':
			if (host_valid(optarg) < 0)
				return cli_usage(cmd, "--host: not a host name");
			host = optarg;
			break;
		case 'h':
			fputs(pack_help, stdout);
			return 0;
		default:
			return cli_usage(cmd, "unknown option or missing value: \"%s\"",
			                 argv[optind - 1]);
		}
	}
	if (!brand || !count || optind != argc)
		return cli_usage(cmd, "needs --brand and --count");
	if (prefix) {
		size_t l = strlen(prefix);
		if (l < GCP_MIN || l > GCP_MAX || strspn(prefix, "0123456789") != l)
			return cli_usage(cmd, "--prefix is a GS1 Company Prefix: 4 to 12 digits");
	}
	snprintf(n, sizeof n, "%lld", count);
	snprintf(e, sizeof e, "%lld", ext);
	struct catalog cat;
	PGconn *db = open_db(cmd, &cat, NULL);
	if (!db)
		return 1;
	const char *params[] = {cli_actor(who, sizeof who), brand, n, e, prefix};
	PGresult *r = one_row(cmd, db, STMT_PALLET_MINT, 5, params);
	int rc = 1;
	if (!r)
		goto out;
	const char *outcome = PQgetvalue(r, 0, 0);
	if (strcmp(outcome, "unknown_brand") == 0)
		cli_error(cmd, "no brand \"%s\"", brand);
	else if (strcmp(outcome, "no_prefix") == 0)
		cli_error(cmd, "brand %s has no GS1 Company Prefix yet: give --prefix", brand);
	else if (strcmp(outcome, "full") == 0)
		cli_error(cmd, "the serial references of that prefix and extension are used up");
	else {
		long long body = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
		const char *gcp = PQgetvalue(r, 0, 5);
		long long mult = 1;
		for (size_t i = strlen(gcp); i < 16; i++)
			mult *= 10;
		rc = 0;
		for (long long i = 0; i < count; i++) {
			char sscc[SSCC_LEN + 1], url[256];
			if (sscc_make(sscc, (unsigned)ext, gcp,
			              (unsigned long long)((body + i) % mult), NULL, 0) < 0) {
				rc = cli_error(cmd, "cannot make SSCC %lld", i);
				break;
			}
			if (host && url_sscc(url, sizeof url, host, sscc) > 0)
				printf("%s,%s\n", sscc, url);
			else
				printf("%s\n", sscc);
		}
		fprintf(stderr, "pallet run %s: %lld SSCCs, %s to %s\n", PQgetvalue(r, 0, 1), count,
		        PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 3));
	}
	PQclear(r);
out:
	close_db(db, &cat, NULL);
	return rc;
}

int cmd_pallet(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(pack_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "mint") == 0)
		return pallet_mint(argc - 1, argv + 1);
	return cli_usage("pallet", "unknown subcommand \"%s\"", argv[1]);
}

/* ---- pack load ---- */

struct copybuf {
	PGconn *db;
	char buf[1 << 16];
	size_t len;
	int failed;
};

static void copy_flush(struct copybuf *b)
{
	if (b->len && !b->failed && PQputCopyData(b->db, b->buf, (int)b->len) != 1)
		b->failed = 1;
	b->len = 0;
}

/* v in decimal at p, then sep; the end */
static char *put_num(char *p, unsigned long long v, char sep)
{
	char tmp[24];
	int n = 0;
	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n)
		*p++ = tmp[--n];
	*p++ = sep;
	return p;
}

/* one staged row in COPY text form (no snprintf: a million rows): line
 * holds child, line + 1 child + 1, ... up to child_last */
static void copy_row(struct copybuf *b, long long line, const struct end *child,
                     long long child_last, const struct end *parent)
{
	if (b->len + 256 > sizeof b->buf)
		copy_flush(b);
	char *p = b->buf + b->len;
	p = put_num(p, (unsigned long long)line, '\t');
	p = put_num(p, (unsigned long long)child->value, '\t');
	p = put_num(p, (unsigned long long)child_last, '\t');
	p = put_num(p, (unsigned long long)child->ref, '\t');
	p = put_num(p, child->key, '\t');
	*p++ = parent->pallet ? 't' : 'f';
	*p++ = '\t';
	p = put_num(p, (unsigned long long)parent->value, '\t');
	p = put_num(p, (unsigned long long)parent->ref, '\t');
	if (parent->pallet) {
		memcpy(p, "\\N\n", 3);
		p += 3;
	} else
		p = put_num(p, parent->key, '\n');
	b->len = (size_t)(p - b->buf);
}

/* pack load's stage: a row per run of lines into one parent whose children
 * are consecutive serials of one batch and key, on consecutive lines (the
 * packing line applies labels in print order: a case's items are one run).
 * Each run becomes a row of pack_runs (sql/034_pack_runs.sql). */
struct run {
	int open;
	long long line, last_line, child_last;
	struct end child, parent;
};

static void run_end(struct run *r, struct copybuf *b)
{
	if (r->open)
		copy_row(b, r->line, &r->child, r->child_last, &r->parent);
	r->open = 0;
}

static void run_add(struct run *r, struct copybuf *b, long long line, const struct end *child,
                    const struct end *parent)
{
	const struct end *p = &r->parent;
	if (r->open && line == r->last_line + 1 && child->value == r->child_last + 1 &&
	    child->ref == r->child.ref && child->key == r->child.key &&
	    p->pallet == parent->pallet && p->value == parent->value && p->ref == parent->ref &&
	    p->key == parent->key) {
		r->last_line = line;
		r->child_last = child->value;
		return;
	}
	run_end(r, b);
	r->open = 1;
	r->line = r->last_line = line;
	r->child = *child;
	r->child_last = child->value;
	r->parent = *parent;
}

static int pack_load(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"format", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *cmd = "pack load", *format = NULL;
	char who[CLI_ACTOR_LEN], line_err[DB_ERR_LEN], why[200];
	int c, rc = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			format = optarg;
			break;
		case 'h':
			fputs(pack_help, stdout);
			return 0;
		default:
			return cli_usage(cmd, "unknown option or missing value: \"%s\"",
			                 argv[optind - 1]);
		}
	}
	if (optind + 1 != argc)
		return cli_usage(cmd, "needs one FILE");
	const char *path = argv[optind];
	int jsonl;
	if (format)
		jsonl = strcmp(format, "jsonl") == 0;
	else {
		size_t l = strlen(path);
		jsonl = (l > 6 && strcmp(path + l - 6, ".jsonl") == 0) ||
		        (l > 7 && strcmp(path + l - 7, ".ndjson") == 0);
	}
	if (format && !jsonl && strcmp(format, "csv") != 0)
		return cli_usage(cmd, "--format is csv or jsonl");
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (!in)
		return cli_error(cmd, "%s: cannot open", path);

	struct catalog cat;
	struct keyring *kr = NULL;
	PGconn *db = open_db(cmd, &cat, &kr);
	if (!db) {
		if (in != stdin)
			fclose(in);
		return 1;
	}
	static struct copybuf cb;
	cb.db = db;
	cb.len = 0;
	cb.failed = 0;
	PGresult *r = NULL;
	char *buf = NULL, lid[24];
	size_t cap = 0;
	long long lineno = 0, links = 0;
	int bad = 0, have_parent = 0;
	char last_ptext[256];
	struct end parent;
	struct run run = {0};
	const char *actor = cli_actor(who, sizeof who);
	if (simple(db, STMT_BEGIN) < 0) {
		cli_error(cmd, "%s", PQerrorMessage(db));
		goto out;
	}
	r = one_row(cmd, db, STMT_PACK_LOAD_OPEN, 1, &actor);
	if (!r)
		goto out;
	snprintf(lid, sizeof lid, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	if (simple(db, STMT_PACK_STAGE) < 0) {
		cli_error(cmd, "%s", PQerrorMessage(db));
		goto out;
	}
	r = PQexec(db, STMT_PACK_COPY);
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		cli_error(cmd, "%s", db_error_line(r, db, line_err, sizeof line_err));
		goto out;
	}
	PQclear(r);
	r = NULL;
	ssize_t got;
	while ((got = getline(&buf, &cap, in)) >= 0) {
		lineno++;
		while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r'))
			buf[--got] = 0;
		if (got == 0)
			continue;
		char *ptext, *ctext;
		json_t *j = NULL;
		if (jsonl) {
			j = json_loads(buf, 0, NULL);
			const char *p = json_string_value(json_object_get(j, "parent")),
			           *ch = json_string_value(json_object_get(j, "child"));
			if (!json_is_object(j) || !p || !ch || json_object_size(j) != 2) {
				json_decref(j);
				cli_error(
				    cmd, "line %lld: not {\"parent\": \"...\", \"child\": \"...\"}",
				    lineno);
				bad = 1;
				break;
			}
			ptext = (char *)p;
			ctext = (char *)ch;
		} else if (packline_split(buf, &ptext, &ctext) < 0) {
			cli_error(cmd, "line %lld: not PARENT,CHILD", lineno);
			bad = 1;
			break;
		} else if (lineno == 1 && strcmp(ptext, "parent") == 0 &&
		           strcmp(ctext, "child") == 0) {
			continue;
		}
		/* a line's parent is mostly the last line's (24 items to a case):
		 * each distinct parent is verified once in a row of its lines */
		struct end child;
		size_t plen = strlen(ptext);
		int ok = 1;
		if (!have_parent || plen >= sizeof last_ptext || strcmp(ptext, last_ptext) != 0) {
			have_parent = 0;
			ok = end_read(kr, &cat, ptext, &parent, why, sizeof why) == 0;
			if (ok && plen < sizeof last_ptext) {
				memcpy(last_ptext, ptext, plen + 1);
				have_parent = 1;
			}
		}
		ok = ok && end_read(kr, &cat, ctext, &child, why, sizeof why) == 0;
		if (ok && child.pallet) {
			snprintf(why, sizeof why, "a pallet is no child");
			ok = 0;
		}
		json_decref(j);
		if (!ok) {
			cli_error(cmd, "line %lld: %s: nothing was loaded", lineno, why);
			bad = 1;
			break;
		}
		run_add(&run, &cb, lineno, &child, &parent);
		links++;
	}
	if (!bad && ferror(in)) {
		cli_error(cmd, "%s: read error", path);
		bad = 1;
	}
	if (!bad && links == 0) {
		cli_error(cmd, "%s: no links", path);
		bad = 1;
	}
	if (!bad)
		run_end(&run, &cb);
	copy_flush(&cb);
	if (PQputCopyEnd(db, bad ? "refused" : NULL) != 1 || cb.failed) {
		cli_error(cmd, "%s", PQerrorMessage(db));
		bad = 1;
	}
	r = PQgetResult(db);
	if (!bad && PQresultStatus(r) != PGRES_COMMAND_OK) {
		cli_error(cmd, "%s", db_error_line(r, db, line_err, sizeof line_err));
		bad = 1;
	}
	PQclear(r);
	while ((r = PQgetResult(db)))
		PQclear(r);
	if (bad)
		goto out;
	/* the runs staged: checked, then written as they are */
	char nlinks[24];
	snprintf(nlinks, sizeof nlinks, "%lld", links);
	const char *params[] = {actor, lid, nlinks};
	r = one_row(cmd, db, STMT_PACK_LOAD_CLOSE, 3, params);
	if (!r)
		goto out;
	if (simple(db, STMT_COMMIT) < 0) {
		cli_error(cmd, "%s", PQerrorMessage(db));
		goto out;
	}
	printf("load %s: %s links packed\n", PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2));
	rc = 0;
out:
	PQclear(r);
	free(buf);
	if (in != stdin)
		fclose(in);
	close_db(db, &cat, kr);
	return rc;
}

/* ---- move, unpack, activate, chain ---- */

static int reason_opts(int argc, char **argv, const char *cmd, const char **reason, int *rc)
{
	static const struct option opts[] = {
	    {"reason", required_argument, NULL, 'r'},
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
		case 'h':
			fputs(pack_help, stdout);
			*rc = 0;
			return -1;
		default:
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

static int pack_move(int argc, char **argv)
{
	const char *cmd = "pack move", *reason = NULL;
	char who[CLI_ACTOR_LEN], why[200];
	int rc = 1;
	if (reason_opts(argc, argv, cmd, &reason, &rc) < 0)
		return rc;
	if (optind + 2 != argc)
		return cli_usage(cmd, "needs CHILD and PARENT");
	struct catalog cat;
	struct keyring *kr = NULL;
	PGconn *db = open_db(cmd, &cat, &kr);
	if (!db)
		return 1;
	struct end child, parent;
	PGresult *r = NULL;
	if (end_read(kr, &cat, argv[optind], &child, why, sizeof why) < 0 ||
	    end_read(kr, &cat, argv[optind + 1], &parent, why, sizeof why) < 0) {
		cli_error(cmd, "%s", why);
		goto out;
	}
	if (child.pallet) {
		cli_error(cmd, "a pallet is no child");
		goto out;
	}
	struct copybuf *cb = calloc(1, sizeof *cb);
	if (!cb)
		goto out;
	cb->db = db;
	if (simple(db, STMT_BEGIN) < 0 || simple(db, STMT_PACK_STAGE) < 0 ||
	    PQresultStatus(r = PQexec(db, STMT_PACK_COPY)) != PGRES_COPY_IN) {
		cli_error(cmd, "%s", PQerrorMessage(db));
		free(cb);
		goto out;
	}
	PQclear(r);
	copy_row(cb, 1, &child, child.value, &parent);
	copy_flush(cb);
	int failed = cb->failed;
	free(cb);
	if (failed || PQputCopyEnd(db, NULL) != 1) {
		cli_error(cmd, "%s", PQerrorMessage(db));
		r = NULL;
		goto out;
	}
	while ((r = PQgetResult(db)))
		PQclear(r);
	const char *params[] = {cli_actor(who, sizeof who), reason};
	r = one_row(cmd, db, STMT_PACK_MOVE, 2, params);
	if (!r || simple(db, STMT_COMMIT) < 0)
		goto out;
	if (strcmp(PQgetvalue(r, 0, 2), "0") != 0)
		printf("repacked (change %s)\n", PQgetvalue(r, 0, 3));
	else
		printf("packed\n");
	rc = 0;
out:
	PQclear(r);
	close_db(db, &cat, kr);
	return rc;
}

/* unpack or activate: PARENT, one call. */
static int pack_parent_op(int argc, char **argv, int activate)
{
	const char *cmd = activate ? "pack activate" : "pack unpack", *reason = NULL;
	char who[CLI_ACTOR_LEN], why[200], value[24];
	int rc = 1;
	if (reason_opts(argc, argv, cmd, &reason, &rc) < 0)
		return rc;
	if (optind + 1 != argc)
		return cli_usage(cmd, "needs one PARENT (a case's code or a pallet's SSCC)");
	struct catalog cat;
	struct keyring *kr = NULL;
	PGconn *db = open_db(cmd, &cat, &kr);
	if (!db)
		return 1;
	struct end parent;
	PGresult *r = NULL;
	if (end_read(kr, &cat, argv[optind], &parent, why, sizeof why) < 0) {
		cli_error(cmd, "%s", why);
		goto out;
	}
	snprintf(value, sizeof value, "%lld", parent.value);
	const char *params[] = {cli_actor(who, sizeof who), parent.pallet ? "true" : "false", value,
	                        reason};
	r = one_row(cmd, db, activate ? STMT_PACK_ACTIVATE : STMT_PACK_UNPACK, 4, params);
	if (!r)
		goto out;
	const char *outcome = PQgetvalue(r, 0, 0);
	if (strcmp(outcome, "unknown_parent") == 0) {
		cli_error(cmd, "%s is no case or pallet of ours", argv[optind]);
		goto out;
	}
	if (strcmp(outcome, "empty") == 0) {
		cli_error(cmd, "%s holds nothing", argv[optind]);
		goto out;
	}
	if (activate)
		printf("%s: %s codes in %s ranges, %s (changes %s)\n", argv[optind],
		       PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2), outcome,
		       *PQgetvalue(r, 0, 3) ? PQgetvalue(r, 0, 3) : "none");
	else
		printf("%s: %s children unpacked\n", argv[optind], PQgetvalue(r, 0, 1));
	rc = 0;
out:
	PQclear(r);
	close_db(db, &cat, kr);
	return rc;
}

static int pack_chain(int argc, char **argv)
{
	const char *cmd = "pack chain";
	char why[200], value[24];
	if (argc != 2)
		return cli_usage(cmd, "needs one CODE");
	struct catalog cat;
	struct keyring *kr = NULL;
	PGconn *db = open_db(cmd, &cat, &kr);
	if (!db)
		return 1;
	int rc = 1;
	struct end e;
	PGresult *r = NULL;
	if (end_read(kr, &cat, argv[1], &e, why, sizeof why) < 0 || e.pallet) {
		cli_error(cmd, "%s", e.pallet ? "give a code, not an SSCC" : why);
		goto out;
	}
	snprintf(value, sizeof value, "%lld", e.value);
	const char *params[] = {value};
	r = one_row(cmd, db, STMT_PACK_CHAIN, 1, params);
	if (!r)
		goto out;
	printf("serial %s batch %s\n", value, PQgetvalue(r, 0, 0));
	if (*PQgetvalue(r, 0, 1)) {
		char code[CODE_LEN + 1] = "?";
		struct keyring_key *k = keyring_find(kr, (unsigned)atoi(PQgetvalue(r, 0, 2)));
		struct code_signer *s = k ? keyring_signer(k) : NULL;
		if (s)
			code_encode(s, strtoull(PQgetvalue(r, 0, 1), NULL, 10), code, NULL);
		printf("case %s (serial %s)\n", code, PQgetvalue(r, 0, 1));
	}
	if (*PQgetvalue(r, 0, 3))
		printf("pallet %s\n", PQgetvalue(r, 0, 3));
	if (*PQgetvalue(r, 0, 4))
		printf("shipment %s at %s to distributor %s \"%s\" (territory %s)\n",
		       PQgetvalue(r, 0, 4), PQgetvalue(r, 0, 5), PQgetvalue(r, 0, 6),
		       PQgetvalue(r, 0, 7), *PQgetvalue(r, 0, 8) ? PQgetvalue(r, 0, 8) : "none");
	if (*PQgetvalue(r, 0, 9))
		printf("received at %s\n", PQgetvalue(r, 0, 9));
	rc = 0;
out:
	PQclear(r);
	close_db(db, &cat, kr);
	return rc;
}

int cmd_pack(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(pack_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "load") == 0)
		return pack_load(argc - 1, argv + 1);
	if (strcmp(argv[1], "move") == 0)
		return pack_move(argc - 1, argv + 1);
	if (strcmp(argv[1], "unpack") == 0)
		return pack_parent_op(argc - 1, argv + 1, 0);
	if (strcmp(argv[1], "activate") == 0)
		return pack_parent_op(argc - 1, argv + 1, 1);
	if (strcmp(argv[1], "chain") == 0)
		return pack_chain(argc - 1, argv + 1);
	return cli_usage("pack", "unknown subcommand \"%s\"", argv[1]);
}

/* ---- distributors ---- */

static int distributor_cmd(int argc, char **argv, const char *cmd, int mode)
{
	static const struct option opts[] = {
	    {"brand", required_argument, NULL, 'b'},
	    {"name", required_argument, NULL, 'n'},
	    {"territory", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *brand = NULL, *name = NULL, *territory = NULL;
	char who[CLI_ACTOR_LEN], id[24] = "";
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			brand = optarg;
			break;
		case 'n':
			if (!*optarg || strlen(optarg) > 200)
				return cli_usage(cmd, "--name is 1 to 200 characters");
			name = optarg;
			break;
		case 't':
			territory = optarg;
			break;
		case 'h':
			fputs(distributor_help, stdout);
			return 0;
		default:
			return cli_usage(cmd, "unknown option or missing value: \"%s\"",
			                 argv[optind - 1]);
		}
	}
	if (mode == 0 && (!brand || !name || optind != argc))
		return cli_usage(cmd, "needs --brand and --name");
	if (mode != 0) {
		long long v;
		if (optind + 1 != argc || cli_parse_int(argv[optind], 1, 1LL << 62, &v) < 0)
			return cli_usage(cmd, "needs one distributor ID");
		snprintf(id, sizeof id, "%lld", v);
	}
	char err[DB_ERR_LEN];
	PGconn *db = db_connect(err, sizeof err);
	if (!db)
		return cli_error(cmd, "%s", err);
	PGresult *r;
	cli_actor(who, sizeof who);
	if (mode == 0) {
		const char *p[] = {who, brand, name, territory ? territory : ""};
		r = one_row(cmd, db, STMT_DISTRIBUTOR_ADD, 4, p);
	} else if (mode == 1) {
		const char *p[] = {who, id, name, territory};
		r = one_row(cmd, db, STMT_DISTRIBUTOR_CHANGE, 4, p);
	} else {
		const char *p[] = {who, id};
		r = one_row(cmd, db, STMT_DISTRIBUTOR_DELETE, 2, p);
	}
	int rc = 1;
	if (r) {
		const char *o = PQgetvalue(r, 0, 0);
		if (strcmp(o, "added") == 0) {
			printf("%s\n", PQgetvalue(r, 0, 1));
			rc = 0;
		} else if (strcmp(o, "changed") == 0 || strcmp(o, "deleted") == 0) {
			printf("distributor %s: %s\n", id, o);
			rc = 0;
		} else if (strcmp(o, "exists") == 0) {
			cli_error(cmd, "the brand has a distributor of that name");
		} else if (strcmp(o, "unknown_brand") == 0) {
			cli_error(cmd, "no brand \"%s\"", brand);
		} else {
			cli_error(cmd, "no distributor %s", id);
		}
	}
	PQclear(r);
	PQfinish(db);
	return rc;
}

int cmd_distributor(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(distributor_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "add") == 0)
		return distributor_cmd(argc - 1, argv + 1, "distributor add", 0);
	if (strcmp(argv[1], "set") == 0)
		return distributor_cmd(argc - 1, argv + 1, "distributor set", 1);
	if (strcmp(argv[1], "delete") == 0)
		return distributor_cmd(argc - 1, argv + 1, "distributor delete", 2);
	if (strcmp(argv[1], "list") == 0) {
		char err[DB_ERR_LEN], line[DB_ERR_LEN];
		PGconn *db = db_connect(err, sizeof err);
		if (!db)
			return cli_error("distributor list", "%s", err);
		PGresult *r = PQexec(db, STMT_DISTRIBUTOR_LIST);
		int rc = 1;
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			cli_error("distributor list", "%s",
			          db_error_line(r, db, line, sizeof line));
		} else {
			for (int i = 0; i < PQntuples(r); i++)
				printf("%s\t%s\t%s\t%s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
				       PQgetvalue(r, i, 2),
				       *PQgetvalue(r, i, 3) ? PQgetvalue(r, i, 3) : "-");
			rc = 0;
		}
		PQclear(r);
		PQfinish(db);
		return rc;
	}
	return cli_usage("distributor", "unknown subcommand \"%s\"", argv[1]);
}

/* ---- ship ---- */

static void arr_add(char *arr, size_t cap, const char *v)
{
	size_t l = strlen(arr);
	snprintf(arr + l, cap - l, "%s%s", l > 1 ? "," : "", v);
}

/* ship receive CODE | --shipment ID */
static int ship_receive(int argc, char **argv)
{
	const char *cmd = "ship receive";
	char who[CLI_ACTOR_LEN], why[200], value[24];
	const char *pallet = "false", *parent = NULL, *shipment = NULL;
	if (argc == 3 && strcmp(argv[1], "--shipment") == 0) {
		long long id;
		if (cli_parse_int(argv[2], 1, 1LL << 62, &id) < 0)
			return cli_usage(cmd, "--shipment is a shipment id");
		shipment = argv[2];
	} else if (argc != 2 || argv[1][0] == '-') {
		return cli_usage(cmd, "needs a pallet's SSCC or a case's code, or --shipment ID");
	}
	struct catalog cat;
	struct keyring *kr = NULL;
	PGconn *db = open_db(cmd, &cat, &kr);
	if (!db)
		return 1;
	int rc = 1;
	if (!shipment) {
		struct end e;
		if (end_read(kr, &cat, argv[1], &e, why, sizeof why) < 0) {
			cli_error(cmd, "%s", why);
			goto out;
		}
		pallet = e.pallet ? "true" : "false";
		snprintf(value, sizeof value, "%lld", e.value);
		parent = value;
	}
	const char *params[] = {cli_actor(who, sizeof who), pallet, parent, shipment};
	PGresult *r = one_row(cmd, db, STMT_SHIPMENT_RECEIVE, 4, params);
	if (r) {
		const char *o = PQgetvalue(r, 0, 0);
		if (strcmp(o, "received") == 0 || strcmp(o, "already_received") == 0) {
			printf("shipment %s to distributor %s %s at %s by %s\n",
			       PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2),
			       *o == 'r' ? "received" : "already received", PQgetvalue(r, 0, 3),
			       PQgetvalue(r, 0, 4));
			rc = 0;
		} else if (strcmp(o, "not_shipped") == 0) {
			cli_error(cmd, "%s is in no shipment: nothing received", argv[1]);
		} else if (strcmp(o, "unknown_shipment") == 0) {
			cli_error(cmd, "no shipment %s", shipment);
		} else {
			cli_error(cmd, "%s is no case or pallet of ours", argv[1]);
		}
		PQclear(r);
	}
out:
	close_db(db, &cat, kr);
	return rc;
}

int cmd_ship(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "receive") == 0)
		return ship_receive(argc - 1, argv + 1);
	static const struct option opts[] = {
	    {"distributor", required_argument, NULL, 'd'},
	    {"pallet", required_argument, NULL, 'p'},
	    {"case", required_argument, NULL, 'c'},
	    {"batch", required_argument, NULL, 'b'},
	    {"range", required_argument, NULL, 'r'},
	    {"reference", required_argument, NULL, 'R'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *cmd = "ship", *reference = NULL, *dist = NULL;
	enum { CAP = 1 << 16 };
	static char kinds[CAP], values[CAP], firsts[CAP], lasts[CAP];
	char who[CLI_ACTOR_LEN], why[200], v[64], f[24], l[24];
	int c, n = 0, rc = 1;
	strcpy(kinds, "{");
	strcpy(values, "{");
	strcpy(firsts, "{");
	strcpy(lasts, "{");
	struct catalog cat;
	struct keyring *kr = NULL;
	PGconn *db = open_db(cmd, &cat, &kr);
	if (!db)
		return 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		struct end e;
		long long a, b2, bt;
		*f = *l = 0;
		switch (c) {
		case 'd':
			dist = optarg;
			continue;
		case 'R':
			reference = optarg;
			continue;
		case 'h':
			fputs(distributor_help, stdout);
			rc = 0;
			goto out;
		case 'p':
		case 'c':
			if (end_read(kr, &cat, optarg, &e, why, sizeof why) < 0) {
				cli_error(cmd, "%s", why);
				goto out;
			}
			if (e.pallet != (c == 'p')) {
				cli_error(cmd, "%s is %s", optarg,
				          e.pallet ? "a pallet: --pallet" : "a code: --case");
				goto out;
			}
			arr_add(kinds, CAP, c == 'p' ? "pallet" : "case");
			snprintf(v, sizeof v, "%lld", e.value);
			break;
		case 'b':
			if (cli_parse_int(optarg, 1, 1LL << 62, &bt) < 0) {
				rc = cli_usage(cmd, "--batch is a batch id");
				goto out;
			}
			arr_add(kinds, CAP, "batch");
			snprintf(v, sizeof v, "%lld", bt);
			break;
		case 'r':
			if (sscanf(optarg, "%lld:%lld-%lld", &bt, &a, &b2) != 3 || bt < 1 ||
			    a < 1 || b2 < a) {
				rc = cli_usage(cmd, "--range is BATCH:A-B");
				goto out;
			}
			arr_add(kinds, CAP, "range");
			snprintf(v, sizeof v, "%lld", bt);
			snprintf(f, sizeof f, "%lld", a);
			snprintf(l, sizeof l, "%lld", b2);
			break;
		default:
			rc = cli_usage(cmd, "unknown option or missing value: \"%s\"",
			               argv[optind - 1]);
			goto out;
		}
		arr_add(values, CAP, v);
		arr_add(firsts, CAP, *f ? f : "NULL");
		arr_add(lasts, CAP, *l ? l : "NULL");
		if (++n > 1000) {
			rc = cli_usage(cmd, "at most 1000 units a shipment");
			goto out;
		}
	}
	if (!dist || n == 0 || optind != argc) {
		rc = cli_usage(cmd,
		               "needs --distributor and a --pallet, --case, --batch or --range");
		goto out;
	}
	strcat(kinds, "}");
	strcat(values, "}");
	strcat(firsts, "}");
	strcat(lasts, "}");
	const char *params[] = {
	    cli_actor(who, sizeof who), dist, reference, kinds, values, firsts, lasts};
	PGresult *r = one_row(cmd, db, STMT_SHIPMENT_ADD, 7, params);
	if (r) {
		if (strcmp(PQgetvalue(r, 0, 0), "shipped") == 0) {
			printf("shipment %s\n", PQgetvalue(r, 0, 1));
			rc = 0;
		} else {
			cli_error(cmd, "no distributor %s", dist);
		}
		PQclear(r);
	}
out:
	close_db(db, &cat, kr);
	return rc;
}
