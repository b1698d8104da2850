/*
 * cors.h: CORS for the admin API (the Fetch standard's CORS protocol), so
 * that a browser console on another origin can call it. Off unless origins
 * are listed (--cors-origin): only a request whose Origin is one of them,
 * compared whole, gets Access-Control-Allow-Origin, never "*". Pure
 * functions; the edge (http.c) answers preflights and adds the headers.
 */
#ifndef PACKCODE_SERVER_CORS_H
#define PACKCODE_SERVER_CORS_H

#include <stddef.h>

#define CORS_ORIGIN_MAX 253
/* what a preflight may ask for beyond the CORS-safelisted headers */
#define CORS_ALLOW_HEADERS  "Authorization, Content-Type, Idempotency-Key"
#define CORS_EXPOSE_HEADERS "Retry-After, WWW-Authenticate"
#define CORS_MAX_AGE        "600"

/*
 * An origin as configured, serialised as browsers send it: "https://" or
 * "http://", a lower-case host (a name, IPv4 or [IPv6]) and an optional
 * port, nothing after. 0, or -1 with err.
 */
int cors_origin_check(const char *origin, char *err, size_t errlen);

/* 1 if origin (a request's Origin header, or NULL) is one of the n listed. */
int cors_allowed(const char *const *origins, int n, const char *origin);

#endif
