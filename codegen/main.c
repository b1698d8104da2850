/*
 * main.c: packcode-gen, the factory's tool: keys, products, minting print
 * runs, verifying codes. Dispatches to one cmd_* function per command; each
 * parses its own options and returns the exit status.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"

static const char usage[] =
    "Usage: packcode-gen [--keyring FILE] COMMAND [ARGS...]\n"
    "\n"
    "Mint, register and verify signed one-time codes for packaging: one item,\n"
    "one code. Each code is 20 characters of Crockford base32 that carry a key\n"
    "id, a hidden serial number and a 48-bit signature; it is printed as a QR\n"
    "of its landing URL.\n"
    "\n"
    "Keys:\n"
    "  keygen                 add a signing key and make it the active one\n"
    "  keys                   list the keys: id, status, created (never secrets)\n"
    "  key retire ID          stop minting with key ID; its codes still verify\n"
    "  key revoke ID          reject every code signed with key ID\n"
    "\n"
    "Database:\n"
    "  db start|stop|status   the embedded PostgreSQL cluster in $PACKCODE_HOME/var/pg\n"
    "  db migrate             apply the schema migrations not yet applied\n"
    "  db distribute          on a Citus coordinator: distribute the tables, once\n"
    "\n"
    "Products and print runs:\n"
    "  product add            register a product (SKU, GTIN, name, points)\n"
    "  product list           list products\n"
    "  mint                   mint a print run: CSV, QR images, PDF label sheets, ZPL\n"
    "  batches                list print runs and their state\n"
    "\n"
    "Supply chain:\n"
    "  batch activate BATCH   release codes of a batch minted inactive for sale\n"
    "  batch expire BATCH     take a batch out of sale as expired\n"
    "  code set CODE STATE    mark one code void, stolen, destroyed or a sample\n"
    "  undo CHANGE            undo one of these within the undo window\n"
    "  pallet mint            SSCCs (GS1 AI 00) for a brand's pallets\n"
    "  pack load|move|unpack|activate|chain\n"
    "                         cases and pallets: what is packed in what\n"
    "  distributor add|list|set|delete\n"
    "                         distributors and their sales territories\n"
    "  ship                   assign pallets, cases, batches or ranges to a distributor\n"
    "\n"
    "Administration:\n"
    "  token add|list|revoke  bearer tokens for the server's admin API, with\n"
    "                         scopes and brands\n"
    "  user add|list|disable  staff accounts that sign in to the admin API\n"
    "                         (password, optional TOTP), with scopes and brands\n"
    "  member show|check      a member and its balance; members stored in an old form\n"
    "  pii-key                make the key of members' personal data ($PACKCODE_PII_KEY,\n"
    "                         else $PACKCODE_HOME/pii.key; the server makes it on\n"
    "                         first need too); never replaces one\n"
    "  export KIND            scans, claims, members or the ledger of a date range, as CSV or\n"
    "                         JSON Lines on stdout (audited)\n"
    "  events                 the chain of custody as a GS1 EPCIS 2.0 document (JSON-LD)\n"
    "\n"
    "Codes:\n"
    "  verify CODE...         genuine, typo, not genuine or revoked; with a database\n"
    "                         also the batch, product and claim state\n"
    "  render CODE            draw a code's QR on the terminal, or as PNG or SVG\n"
    "\n"
    "Options:\n"
    "  --keyring FILE         the keyring (default: $PACKCODE_KEYRING, else\n"
    "                         $PACKCODE_HOME/keyring)\n"
    "  -h, --help             show this help; 'packcode-gen COMMAND --help' for a command\n"
    "  -V, --version          show the version\n"
    "\n"
    "Environment:\n"
    "  PACKCODE_HOME          state directory (default: the working directory)\n"
    "  PACKCODE_KEYRING       keyring file\n"
    "  PACKCODE_PII_KEY       the PII key file (members' phones)\n"
    "  PACKCODE_DB            libpq connection string of the database; when unset,\n"
    "                         a private cluster under $PACKCODE_HOME/var/pg is\n"
    "                         created and started on first use\n"
    "  PACKCODE_PG_BINDIR     where initdb and pg_ctl are (default: " PG_BINDIR ")\n"
    "\n"
    "Exit status: 0 on success, 1 on failure (one line on stderr, nothing\n"
    "changed), 2 on a usage error. 'verify' exits 1 unless every code is genuine.\n";

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
    {"keygen", cmd_keygen}, {"keys", cmd_keys},
    {"key", cmd_key},       {"verify", cmd_verify},
    {"db", cmd_db},         {"product", cmd_product},
    {"mint", cmd_mint},     {"batches", cmd_batches},
    {"render", cmd_render}, {"token", cmd_token},
    {"user", cmd_user},     {"member", cmd_member},
    {"batch", cmd_batch},   {"code", cmd_code},
    {"undo", cmd_undo},     {"pii-key", cmd_pii_key},
    {"export", cmd_export}, {"pallet", cmd_pallet},
    {"pack", cmd_pack},     {"distributor", cmd_distributor},
    {"ship", cmd_ship},     {"events", cmd_events},
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"keyring", required_argument, NULL, 'k'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {0},
	};
	int c;

	cli_set_prog(CLI_PROG);
	cli_keyring_path = keyring_default_path();
	/* "+": stop at the command; its options are its own */
	while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			cli_keyring_path = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'V':
			puts(PACKAGE_STRING);
			return 0;
		default:
			return cli_usage(NULL, "unknown option");
		}
	}
	if (optind >= argc) {
		fputs(usage, stderr);
		return 2;
	}
	const char *name = argv[optind];
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strcmp(name, commands[i].name) == 0) {
			argv += optind;
			argc -= optind;
			optind = 0; /* GNU getopt: full re-initialisation for the command */
			return commands[i].run(argc, argv);
		}
	}
	if (strcmp(name, "help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	return cli_usage(NULL, "unknown command \"%s\"", name);
}
