/*
 * cli.h: what every packcode-gen command shares: error lines, option parsing
 * helpers, the keyring option. A command returns the process exit status:
 * 0 success, 1 failure (one line on stderr, nothing changed), 2 usage error.
 */
#ifndef PACKCODE_CLI_H
#define PACKCODE_CLI_H

#include <stdint.h>

#include "keyring.h"

#define CLI_PROG "packcode-gen"

/* "packcode-gen: CMD: message" on stderr; return 1. */
int cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same plus "(see packcode-gen CMD --help)"; return 2. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse a whole decimal number in [min, max]: 0 or -1. */
int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* The keyring file in use: --keyring, else keyring_default_path(). */
extern const char *cli_keyring_path;

/* Load the keyring or say why not (returns NULL after printing the error). */
struct keyring *cli_load_keyring(const char *cmd);

/* 1 when stderr is a terminal (progress is shown only then). */
int cli_interactive(void);

/* The commands. */
int cmd_keygen(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_db(int argc, char **argv);
int cmd_product(int argc, char **argv);
int cmd_batches(int argc, char **argv);
int cmd_mint(int argc, char **argv);
int cmd_render(int argc, char **argv);
int cmd_token(int argc, char **argv);

#endif
