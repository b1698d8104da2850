/*
 * tokens.h: who may use the admin API. The live tokens' SHA-256 hashes are
 * held in memory, reloaded on NOTIFY admin_tokens (a revoked token is
 * refused within a second), and a presented token is hashed and compared
 * with every one of them in constant time. Tokens themselves are never
 * stored, logged or echoed.
 */
#ifndef PACKCODE_SERVER_TOKENS_H
#define PACKCODE_SERVER_TOKENS_H

#include <event2/event.h>
#include <libpq-fe.h>
#include <stddef.h>

#define TOKEN_NAME_MAX  64
#define TOKEN_INPUT_MAX 256 /* longer is not one of ours (ours are 47 characters) */

enum tokens_auth {
	TOKENS_OK,
	TOKENS_MISSING, /* no Authorization header, or not a Bearer one */
	TOKENS_INVALID, /* a Bearer token that is malformed, unknown or revoked */
};

/* Who made an admin request: the audit trail's actor. */
struct tokens_identity {
	long long token_id;
	char name[TOKEN_NAME_MAX + 1];
};

struct tokens;

/*
 * The token in an Authorization header value "Bearer TOKEN" (scheme in any
 * case, spaces around the token allowed): 0 with *token and *len pointing
 * into header, or -1 if there is none.
 */
int tokens_bearer(const char *header, const char **token, size_t *len);

/*
 * Check an Authorization header value (NULL when absent). On TOKENS_OK, who
 * says whose token it is, and its use is noted (last_used_at, written by the
 * control loop at most once a minute per token). Thread-safe.
 */
enum tokens_auth tokens_authenticate(struct tokens *t, const char *authorization,
                                     struct tokens_identity *who);

/* An empty table (for tests): tokens_set fills it. */
struct tokens *tokens_new_empty(void);

/*
 * Replace the live tokens with the rows of the tokens query (columns: id,
 * name, hash as bytea text "\x..."). Use notes of tokens that stay are kept.
 * 0, or -1 (table unchanged) if a row is malformed or memory is short.
 */
int tokens_set(struct tokens *t, const PGresult *r);

/* Load the live tokens over a blocking connection at start-up. NULL with err. */
struct tokens *tokens_new(PGconn *db, char *err, size_t errlen);

struct listener;
/*
 * Keep the table fresh: a cache of l (listen.h) on admin_tokens; and from
 * base's loop write last_used_at once a second for tokens used since (each
 * at most once a minute), on l's connection. 0 or -1.
 */
int tokens_listen(struct tokens *t, struct listener *l, struct event_base *base);

size_t tokens_count(struct tokens *t);

/* After the listener is freed. NULL is fine. */
void tokens_free(struct tokens *t);

#endif
