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
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/*
 * Copy s into out as a log value: quoted if it has spaces or quotes, control
 * bytes and non-ASCII escaped, cut at outlen. Returns out.
 */
const char *log_quote(const char *s, char *out, size_t outlen);

#endif
