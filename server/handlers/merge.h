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

/* POST /api/v1/admin/members/{member}/merge {"from": "member"} */
void admin_route_member_merge(struct request *r);

/*
 * The body {"from": string} (pure, fuzzed): 0 with from[0..*len) (not
 * normalised; no NUL inside), or -1 with err.
 */
int merge_request_decode(const char *body, size_t len, char *from, size_t fromlen, size_t *outlen,
                         char *err, size_t errlen);

#endif
