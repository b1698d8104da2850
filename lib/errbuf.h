/*
 * errbuf.h: the error convention of lib/. A function that can fail takes
 * (char *err, size_t errlen) and, on failure, leaves there one line saying
 * why, for the caller to print or log; err may be NULL.
 */
#ifndef PACKCODE_ERRBUF_H
#define PACKCODE_ERRBUF_H

#include <stddef.h>

void errbuf_set(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
