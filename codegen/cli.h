/*
 * cli.h: what every packcode-gen command shares: lib/cli.h's error lines and
 * parsers, the keyring option, and the actor its audit rows name. A command
 * returns the process exit status: 0 success, 1 failure (one line on stderr,
 * nothing changed), 2 usage error.
 */
#ifndef PACKCODE_CODEGEN_CLI_H
#define PACKCODE_CODEGEN_CLI_H

#include <stddef.h>

#include "../lib/cli.h" /* by path: "cli.h" would be this file */
#include "keyring.h"

#define CLI_PROG "packcode-gen"

/* The keyring file in use: --keyring, else keyring_default_path(). */
extern const char *cli_keyring_path;

/* Load the keyring or say why not (returns NULL after printing the error). */
struct keyring *cli_load_keyring(const char *cmd);

/*
 * Who the audit trail names for this command line: "cli:USER", the name of
 * the effective user, or "cli:UID" when it has none. Returns out.
 */
#define CLI_ACTOR_LEN 100 /* audit.actor holds up to 100 characters */
const char *cli_actor(char *out, size_t outlen);

/*
 * A --brands list: brand names separated by commas, none empty, none longer
 * than a brand name may be, at most 32. 0, or -1 with err.
 */
int cli_brands_check(const char *list, char *err, size_t errlen);

/* The commands. */
int cmd_keygen(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_db(int argc, char **argv);
int cmd_product(int argc, char **argv);
/* product link|unlink|links (cmd_link.c): argv[0] is the action */
int cmd_product_link(int argc, char **argv);
int cmd_batches(int argc, char **argv);
int cmd_mint(int argc, char **argv);
int cmd_render(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_member(int argc, char **argv);
int cmd_pii_key(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_batch(int argc, char **argv);
int cmd_code(int argc, char **argv);
int cmd_undo(int argc, char **argv);
int cmd_pallet(int argc, char **argv);
int cmd_pack(int argc, char **argv);
int cmd_distributor(int argc, char **argv);
int cmd_ship(int argc, char **argv);

#endif
