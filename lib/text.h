/*
 * text.h: making outside text safe to keep: printable ASCII only, so a
 * scan record, a log line or a page never carries a control byte or
 * invalid UTF-8 that came from a stranger.
 */
#ifndef PACKCODE_TEXT_H
#define PACKCODE_TEXT_H

#include <stddef.h>

/* Copy s[0..len) into out keeping printable ASCII, other bytes as '?'; cut to fit, NUL-ended. */
void text_printable(const char *s, size_t len, char *out, size_t outlen);

#endif
