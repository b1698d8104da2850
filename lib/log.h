/*
 * log.h: one logger for every program, one line per event, key=value fields.
 *
 * Lines look like `ts=2026-11-23T14:30:00.123Z level=info event=listen addr=...`.
 * Secrets (key bytes, tokens, PINs) are never passed to it.
 */
#ifndef PACKCODE_LOG_H
#define PACKCODE_LOG_H

#include <stdio.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Lines below level are dropped; default LOG_INFO, or $PACKCODE_LOG_LEVEL. */
void log_set_level(enum log_level level);
int log_level_parse(const char *name, enum log_level *out);
void log_set_stream(FILE *f);
int log_enabled(enum log_level level);

/* fmt holds the fields after ts and level: "event=claim serial=%llu". */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/*
 * Copy s into out as a log value: quoted if it has spaces or quotes, control
 * bytes and non-ASCII escaped, cut at outlen. Returns out.
 */
const char *log_quote(const char *s, char *out, size_t outlen);

/*
 * log_quote into a buffer of the calling block, for a field of one log line:
 * log_warn("event=x reason=%s", LOG_Q(message)). Every value that is not a
 * number or a fixed word goes through it (or log_quote): a value holding a
 * quote, a space or a newline cannot break the line's key=value fields.
 */
#define LOG_QUOTE_MAX 300
#define LOG_Q(s)      log_quote((s), (char[LOG_QUOTE_MAX]){0}, LOG_QUOTE_MAX)

#endif
