/*
 * cli.h: what the command-line programs share: one-line errors in the form
 * "PROG: CMD: message" on stderr, and whole-number parsers. A command returns
 * the exit status: 0 success, 1 failure (one line, nothing changed), 2 usage
 * error. Set the program's name once, first thing in main().
 */
#ifndef PACKCODE_LIB_CLI_H
#define PACKCODE_LIB_CLI_H

#include <stdint.h>

/* The name errors start with (not copied: prog must outlive its use). */
void cli_set_prog(const char *prog);
const char *cli_prog(void);

/* "PROG: CMD: message" ("PROG: message" when cmd is NULL) on stderr; return 1. */
int cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same plus " (see 'PROG CMD --help')" (or 'PROG --help'); return 2. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Parse a whole decimal number in [min, max]: digits only, with a leading '-'
 * for cli_parse_int; no sign, space or other character anywhere else.
 * 0 and *out set, or -1 and *out untouched.
 */
int cli_parse_int(const char *s, long long min, long long max, long long *out);
int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* 1 when stderr is a terminal (progress is shown only then). */
int cli_interactive(void);

#endif
