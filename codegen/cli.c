/*
 * cli.c: error lines and small parsers shared by the packcode-gen commands.
 */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

const char *cli_keyring_path;

static __attribute__((format(printf, 2, 0))) void vreport(const char *cmd, const char *fmt,
                                                          va_list ap)
{
	fprintf(stderr, "%s: ", CLI_PROG);
	if (cmd)
		fprintf(stderr, "%s: ", cmd);
	vfprintf(stderr, fmt, ap);
}

int cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(cmd, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(cmd, fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, " (see '%s %s --help')\n", CLI_PROG, cmd);
	else
		fprintf(stderr, " (see '%s --help')\n", CLI_PROG);
	return 2;
}

int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end = NULL;
	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

struct keyring *cli_load_keyring(const char *cmd)
{
	char err[KEYRING_ERR_LEN];
	struct keyring *kr = keyring_load(cli_keyring_path, err, sizeof err);
	if (!kr)
		cli_error(cmd, "%s", err);
	return kr;
}

int cli_interactive(void)
{
	return isatty(STDERR_FILENO);
}
