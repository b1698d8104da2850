/*
 * member.h: member ids, GET /api/v1/members/{member} (admin) and
 * /api/v1/members/me (the member): balance and the latest ledger entries,
 * newest first, paged by ledger id, and the member's identities.
 */
#ifndef PACKCODE_SERVER_MEMBER_H
#define PACKCODE_SERVER_MEMBER_H

#include <jansson.h>
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

/* GET /api/v1/members/me: the member signed in (route auth MEMBER). */
void member_route_me(struct request *r);
/* GET /api/v1/members/me/export: all of the member's data, identities unmasked (JSON). */
void member_route_export(struct request *r);
/* POST /api/v1/members/me/erase: identities and PII removed, the ledger kept pseudonymous. */
void member_route_erase(struct request *r);

/*
 * The signed-in member's page of points (r->member, ?before=ID), as
 * /api/v1/members/me's JSON object o, handed to page (which answers r and
 * must not keep o); errors are answered here as JSON.
 */
typedef void (*member_page_fn)(void *arg, struct request *r, json_t *o);
void member_page(struct request *r, member_page_fn page, void *arg);

#endif
