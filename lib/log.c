/*
 * log.c: the key=value logger. Whole lines are written with one fputs under
 * the stream's lock, so lines from different threads never interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

static enum log_level min_level = LOG_INFO;
static int level_from_env;
static FILE *stream;

static const char *names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level)
{
	min_level = level;
	level_from_env = 1;
}

int log_level_parse(const char *name, enum log_level *out)
{
	for (int i = 0; i < 4; i++)
		if (strcasecmp(name, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

void log_set_stream(FILE *f)
{
	stream = f;
}

int log_enabled(enum log_level level)
{
	if (!level_from_env) {
		const char *env = getenv("PACKCODE_LOG_LEVEL");
		enum log_level l;
		if (env && log_level_parse(env, &l) == 0)
			min_level = l;
		level_from_env = 1;
	}
	return level >= min_level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[2048];
	struct timeval tv;
	struct tm tm;
	va_list ap;

	if (!log_enabled(level))
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	int n = (int)strftime(line, sizeof line, "ts=%Y-%m-%dT%H:%M:%S", &tm);
	n += snprintf(line + n, sizeof line - (size_t)n, ".%03ldZ level=%s ",
	              (long)(tv.tv_usec / 1000), names[level]);
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof line - 2)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	line[n] = '\0';
	fputs(line, stream ? stream : stderr);
}

const char *log_quote(const char *s, char *out, size_t outlen)
{
	size_t o = 0;
	int quote = *s == '\0' || strpbrk(s, " \"=") != NULL;

	if (outlen < 8) {
		if (outlen)
			out[0] = '\0';
		return out;
	}
	if (quote)
		out[o++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p && o + 6 < outlen; p++) {
		if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\')
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", *p);
		else
			out[o++] = (char)*p;
	}
	if (quote)
		out[o++] = '"';
	out[o] = '\0';
	return out;
}
