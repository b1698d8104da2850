/*
 * options.h: packcode-server's options, declared once each (options.c's
 * table: name, environment variable, range, default, help) and parsed from
 * the environment and then the command line by one function, so a value is
 * checked the same way whichever way it came; --help is printed from the
 * same table.
 */
#ifndef PACKCODE_SERVER_OPTIONS_H
#define PACKCODE_SERVER_OPTIONS_H

struct server_config;

enum options_result {
	OPTIONS_RUN,   /* cfg is complete: start */
	OPTIONS_EXIT,  /* --help or --version was printed: exit 0 */
	OPTIONS_USAGE, /* a usage error was printed: exit 2 */
};

enum options_result options_parse(int argc, char **argv, struct server_config *cfg);

/* The --help text (for tests and documentation). */
void options_help(void);

#endif
