/*
 * msession.h: the server's cache of member sessions checked in the
 * database (member_session_get): the session's hash, its member and when it
 * ends, trusted for MSESSION_FRESH_MS after the check. A session revoked by
 * another server is thus refused here within that time; one revoked here
 * (sign-out) at once, by every worker. One cache for all workers (struct
 * server), fixed size, MSESSION_WAYS-way set-associative with a lock per
 * set. The same kind of table caches identities (keyed hash -> member) for
 * the claims of integrations (auth_resolve), trusted as long.
 */
#ifndef PACKCODE_SERVER_MSESSION_H
#define PACKCODE_SERVER_MSESSION_H

#include <stddef.h>

#include "member_id.h"
#include "secret.h"

#define MSESSION_WAYS     8
#define MSESSION_SETS     8192 /* 65,536 sessions, about 7 MB */
#define MSESSION_FRESH_MS 10000

struct msessions;

struct msessions *msessions_new(void);
void msessions_free(struct msessions *c);

/* 1 with member (MEMBER_ID_MAX + 1 bytes) if hash is cached, fresh and not expired at now_s. */
int msessions_get(struct msessions *c, const unsigned char hash[SECRET_HASH_LEN], long long now_ms,
                  long long now_s, char *member);
void msessions_put(struct msessions *c, const unsigned char hash[SECRET_HASH_LEN],
                   const char *member, long long expires_s, long long now_ms);
void msessions_remove(struct msessions *c, const unsigned char hash[SECRET_HASH_LEN]);

#endif
