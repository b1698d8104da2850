/*
 * tokens.h: who may use the admin API: bearer tokens and staff sessions,
 * each with its scopes (scope.h) and the brands it is limited to. A table
 * holds one kind: the live tokens' or sessions' SHA-256 hashes, reloaded on
 * NOTIFY (admin_tokens; staff_sessions and staff), so that a revoked token
 * or session is refused within a second; a presented secret is hashed and
 * compared with every one in constant time. Secrets themselves are never
 * stored, logged or echoed.
 */
#ifndef PACKCODE_SERVER_TOKENS_H
#define PACKCODE_SERVER_TOKENS_H

#include <event2/event.h>
#include <libpq-fe.h>
#include <stddef.h>

#define TOKEN_NAME_MAX    64
#define TOKEN_INPUT_MAX   256 /* longer is not one of ours (ours are 47 characters) */
#define TOKENS_BRANDS_MAX 32  /* brands an identity may be limited to */

/* What a table holds. */
enum tokens_kind {
	TOKENS_BEARER,  /* admin API tokens (Authorization: Bearer) */
	TOKENS_SESSION, /* staff sessions (the session cookie) */
};

enum tokens_auth {
	TOKENS_OK,
	TOKENS_MISSING, /* no Authorization header, or not a Bearer one */
	TOKENS_INVALID, /* a Bearer token that is malformed, unknown or revoked */
};

/* Who made an admin request, and what it may do. */
struct tokens_identity {
	enum tokens_kind kind;
	/* for the SQL functions (admin_identity): a token's id, or a session's id negated */
	long long id;
	char name[TOKEN_NAME_MAX + 1]; /* the token's name, or the staff member's */
	unsigned scopes;               /* SCOPE_* bits */
	int nbrands;                   /* brands[0..nbrands); -1: every brand */
	long long brands[TOKENS_BRANDS_MAX];
	long long expires; /* a session's end (unix time); 0 for a token */
};

/*
 * "{1,2}" for who's brands into out, or NULL for every brand (an identity
 * not limited): the bigint[] parameter of the SQL functions that take the
 * identity's brands.
 */
const char *tokens_brands_param(const struct tokens_identity *who, char *out, size_t outlen);

struct tokens;

/*
 * The token in an Authorization header value "Bearer TOKEN" (scheme in any
 * case, spaces around the token allowed): 0 with *token and *len pointing
 * into header, or -1 if there is none.
 */
int tokens_bearer(const char *header, const char **token, size_t *len);

/*
 * Check an Authorization header value (NULL when absent) against a table of
 * bearer tokens. On TOKENS_OK, who says whose token it is, and its use is
 * noted (last_used_at, written by the control loop at most once a minute
 * per token). Thread-safe.
 */
enum tokens_auth tokens_authenticate(struct tokens *t, const char *authorization,
                                     struct tokens_identity *who);

/*
 * Look secret[0..len) up (a token without "Bearer", a session cookie's
 * value): TOKENS_OK with who, else TOKENS_INVALID (malformed, unknown,
 * revoked, expired). Thread-safe.
 */
enum tokens_auth tokens_lookup(struct tokens *t, const char *secret, size_t len,
                               struct tokens_identity *who);

/*
 * Add one identity whose secret hashes to hash[32] (a session just signed
 * in: this server knows it before the reload does), or remove the one of
 * who->id (signed out). 0 or -1 (out of memory).
 */
int tokens_add(struct tokens *t, const unsigned char hash[32], const struct tokens_identity *who);
void tokens_remove(struct tokens *t, long long id);

/* An empty table of kind (for tests): tokens_set fills it. */
struct tokens *tokens_new_empty(enum tokens_kind kind);

/*
 * Replace the live rows with those of the load query (columns: id, name,
 * hash as bytea text "\x...", scopes "read,catalog", brand ids "1,2" or
 * NULL for every brand, expiry in unix seconds or NULL). Use notes of tokens
 * that stay are kept. 0, or -1 (table unchanged) if a row is malformed or
 * memory is short.
 */
int tokens_set(struct tokens *t, const PGresult *r);

/* Load the live tokens or sessions over a blocking connection at start-up. NULL with err. */
struct tokens *tokens_new(PGconn *db, enum tokens_kind kind, char *err, size_t errlen);

struct listener;
/*
 * Keep the table fresh: a cache of l (listen.h) on admin_tokens (sessions:
 * staff_sessions and staff); and for tokens, from base's loop, write
 * last_used_at once a second for tokens used since (each at most once a
 * minute), on l's connection. 0 or -1.
 */
int tokens_listen(struct tokens *t, struct listener *l, struct event_base *base);

size_t tokens_count(struct tokens *t);

/* After the listener is freed. NULL is fine. */
void tokens_free(struct tokens *t);

#endif
