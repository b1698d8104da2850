/*
 * member.h: member ids and GET /api/v1/members/{member}: balance and the
 * latest ledger entries, newest first, paged by ledger id.
 */
#ifndef PACKCODE_SERVER_MEMBER_H
#define PACKCODE_SERVER_MEMBER_H

#include <stddef.h>

#define MEMBER_MAX 64 /* characters of a member id */

struct request;

/*
 * A member id as stored: "+" and 8..15 digits (spaces, hyphens, dots and
 * parentheses dropped from a number starting with "+"), or an external id
 * matching [A-Za-z0-9][A-Za-z0-9._:@-]{0,63}. 0, or -1 if it is neither
 * (non-UTF-8 and control bytes included).
 */
int member_normalize(const char *in, size_t len, char out[MEMBER_MAX + 1]);

/* GET /api/v1/members/{member}?limit=N&before=ID; member percent-decoded. */
/* A decoded path segment longer than this is refused. */
#define MEMBER_SEGMENT_MAX 200

/* The route table's handler: GET /api/v1/members/{member}. */
void member_route(struct request *r);

void member_handle(struct request *r, const char *member, size_t len, const char *query);

#endif
