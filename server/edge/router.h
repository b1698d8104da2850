/*
 * router.h: the route table's row and the matcher. A program declares its
 * endpoints as rows (server/routes.c); the edge matches a request's path
 * and method against them and knows nothing of the handlers it calls.
 *
 * A pattern is literal segments and captures, matched case-insensitively
 * (QR codes carry upper-case URLs): "{name}" captures one non-empty
 * segment, "{name?}" one that may be empty, a final "**" the rest of the
 * path whatever it holds (captured too). Captures are raw (percent-encoded).
 */
#ifndef PACKCODE_SERVER_ROUTER_H
#define PACKCODE_SERVER_ROUTER_H

#include <stddef.h>

#define ROUTE_CAPTURES_MAX 4

struct request;

/* Who may call a route. */
enum route_auth {
	ROUTE_AUTH_NONE,
	ROUTE_AUTH_MEMBER, /* a signed-in member's session */
	ROUTE_AUTH_ADMIN,  /* a live admin bearer token holding the row's scope */
};

/* Which per-address token bucket a request of the route takes from. */
enum route_limit {
	ROUTE_LIMIT_NONE,
	ROUTE_LIMIT_LOOKUPS, /* lookups, landing pages, member pages */
	ROUTE_LIMIT_CLAIMS,  /* claims, API and form */
};

/* The scope of an admin row that every identity may call (who am I, sign out). */
#define ROUTE_SCOPE_ANY "any"

/* Row flags. */
#define ROUTE_PAGE     0x1u /* an HTML page: the language is picked from Accept-Language */
#define ROUTE_CLAIMS   0x2u /* claims: also limited per member (counted by="member") */
#define ROUTE_FALLBACK 0x4u /* matched only when no other row's path matches */
/* Which listener serves a row: without these flags, only the public one. */
#define ROUTE_OPS   0x8u  /* operations: the admin listener's when there is one, then only */
#define ROUTE_PROBE 0x10u /* probes (/healthz, /readyz): every listener */

/* The listener a request came in on. */
enum router_listener {
	ROUTER_ONLY,   /* the public listener, the only one: every row */
	ROUTER_PUBLIC, /* the public listener beside an admin listener: no ROUTE_OPS row */
	ROUTER_ADMIN,  /* the admin listener: ROUTE_OPS and ROUTE_PROBE rows only */
};

struct route {
	const char *id;      /* the metrics label; rows of one resource share it */
	unsigned methods;    /* EVHTTP_REQ_* bits */
	const char *pattern; /* "/api/v1/codes/{code?}" */
	enum route_limit limit;
	enum route_auth auth;
	const char *scope; /* ROUTE_AUTH_ADMIN: the scope it needs, or ROUTE_SCOPE_ANY */
	unsigned flags;
	void (*handler)(struct request *r);
	/* How the route answers 429 (a page for pages); NULL: the JSON error. */
	void (*too_many)(struct request *r, int retry_after);
};

/* A captured segment: s[0..len), raw, pointing into the matched path. */
struct route_capture {
	const char *s;
	size_t len;
};

enum router_result {
	ROUTER_FOUND,      /* m->row takes this method */
	ROUTER_BAD_METHOD, /* the path is known, not for this method: m->allow, m->row the first */
	ROUTER_NOT_FOUND,
};

struct route_match {
	const struct route *row;
	unsigned allow; /* ROUTER_BAD_METHOD: the methods the path takes */
	int ncap;
	struct route_capture cap[ROUTE_CAPTURES_MAX];
};

/* 1 if row is served on listener l. */
int router_serves(const struct route *row, enum router_listener l);

/*
 * Match path[0..len) (no query) and method against the n rows of table that
 * listener l serves (the others are not there: 404).
 */
enum router_result router_match(const struct route *table, size_t n, const char *path, size_t len,
                                unsigned method, enum router_listener l, struct route_match *m);

/* "GET, HEAD, POST": the Allow header for methods. */
void router_allow(unsigned methods, char *out, size_t outlen);

/* 0, or -1 with err when a row is malformed (bad pattern, no methods, no handler). */
int router_check(const struct route *table, size_t n, char *err, size_t errlen);

#endif
