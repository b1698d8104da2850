/*
 * member.h: member ids and GET /api/v1/members/{member}: balance and the
 * latest ledger entries, newest first, paged by ledger id.
 */
#ifndef PACKCODE_SERVER_MEMBER_H
#define PACKCODE_SERVER_MEMBER_H

#include <stddef.h>

#include "member_id.h"

/* A member id as stored: lib/member_id.h normalises them (phone numbers to E.164). */
#define MEMBER_MAX MEMBER_ID_MAX

struct request;

/* GET /api/v1/members/{member}?limit=N&before=ID; member percent-decoded. */
/* A decoded path segment longer than this is refused. */
#define MEMBER_SEGMENT_MAX 200

/* The route table's handler: GET /api/v1/members/{member}. */
void member_route(struct request *r);

void member_handle(struct request *r, const char *member, size_t len, const char *query);

#endif
