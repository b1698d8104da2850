/*
 * cli.c: error lines and number parsers for both programs' command lines.
 * The program name is process-wide, set once at start-up before any thread
 * runs (cli_set_prog); until then errors say "packcode".
 */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char *cli_prog_name = "packcode";

void cli_set_prog(const char *prog)
{
	if (prog && *prog)
		cli_prog_name = prog;
}

const char *cli_prog(void)
{
	return cli_prog_name;
}

static __attribute__((format(printf, 2, 0))) void vreport(const char *cmd, const char *fmt,
                                                          va_list ap)
{
	fprintf(stderr, "%s: ", cli_prog_name);
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
		fprintf(stderr, " (see '%s %s --help')\n", cli_prog_name, cmd);
	else
		fprintf(stderr, " (see '%s --help')\n", cli_prog_name);
	return 2;
}

int cli_parse_int(const char *s, long long min, long long max, long long *out)
{
	char *end = NULL;
	if (!s)
		return -1;
	const char *digits = *s == '-' ? s + 1 : s;
	/* strtoll would also take leading space and a '+' */
	if (*digits < '0' || *digits > '9')
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end = NULL;
	/* strtoull would also take leading space, a '+' and a '-' (negating) */
	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int cli_interactive(void)
{
	return isatty(STDERR_FILENO);
}
