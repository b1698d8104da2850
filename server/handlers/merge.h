/*
 * merge.h: an admin merges two members who are one person (two accounts
 * made by two identities before they were linked): one balance, the points
 * moved as a transfer pair in the ledger, the identities moved, an audit
 * row (member_merge, sql/012_oauth.sql). Needs the admin scope and an
 * identity of every brand: members are the group's. Either member is named
 * as the admin API names one: its key ("m-..."), or a phone or external id.
 */
#ifndef PACKCODE_SERVER_MERGE_H
#define PACKCODE_SERVER_MERGE_H

#include <stddef.h>

#include "member_id.h"

struct request;

/*
 * POST /api/v1/admin/members/{member}/merge: {"from": other} merges other
 * into {member}; {"into": other} merges {member} into other.
 */
void admin_route_member_merge(struct request *r);

/*
 * The body {"from": string} or {"into": string} (pure, fuzzed): 0 with the
 * other member in other[0..*len) (not normalised; no NUL inside) and *into
 * set when the body named "into", or -1 with err.
 */
int merge_request_decode(const char *body, size_t len, char *other, size_t otherlen, size_t *outlen,
                         int *into, char *err, size_t errlen);

#endif
