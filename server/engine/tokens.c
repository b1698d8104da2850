/*
 * tokens.c: the admin API's live bearer tokens or staff sessions, as
 * SHA-256 hashes with their scopes and brands, in one small table behind a
 * mutex (admin requests are few, so a lock per request costs nothing). The
 * control loop keeps it fresh as a cache of the one LISTEN connection
 * (listen.h: on NOTIFY, on reconnect, once a minute) and writes tokens'
 * last_used_at over the same connection, batched.
 */
#include "engine/tokens.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "clock.h"
#include "engine/listen.h"
#include "hex.h"
#include "log.h"
#include "scope.h"
#include "statements.h"

#define HASH_LEN      32
#define TICK_S        1  /* last_used_at is written this often (for tokens used since) */
#define WRITE_EVERY_S 60 /* but for the same token at most this often */
#define FLUSH_MAX     64 /* tokens per last_used_at write */
struct token {
	struct tokens_identity who;
	unsigned char hash[HASH_LEN];
	time_t used;       /* last use noted (wall clock); 0: not since start */
	time_t written;    /* the last use sent to the database */
	long long sent_at; /* when it was sent (monotonic seconds); 0: never */
};

struct tokens {
	enum tokens_kind kind;
	pthread_mutex_t lock;
	struct token *v;
	size_t n;
	/* the control loop's side */
	struct listen_cache cache; /* reloads */
	struct listener *listener; /* and last_used_at writes, on its connection */
	struct event *timer;
	int writing, closing;
	long long sent_ids[FLUSH_MAX];
	size_t nsent;
	char ids_param[FLUSH_MAX * 21 + 3], at_param[FLUSH_MAX * 21 + 3];
};

int tokens_bearer(const char *header, const char **token, size_t *len)
{
	const char *p = header;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncasecmp(p, "Bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
		return -1;
	p += 6;
	while (*p == ' ' || *p == '\t')
		p++;
	size_t n = strlen(p);
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	*token = p;
	*len = n;
	return 0;
}

/* bytea text output "\x0123..." of HASH_LEN bytes: 0 or -1. */
static int parse_hash(const char *s, unsigned char out[HASH_LEN])
{
	if (strlen(s) != 2 + 2 * HASH_LEN || s[0] != '\\' || s[1] != 'x')
		return -1;
	for (int i = 0; i < HASH_LEN; i++) {
		int h = hex_digit((unsigned char)s[2 + 2 * i]),
		    l = hex_digit((unsigned char)s[3 + 2 * i]);
		if (h < 0 || l < 0)
			return -1;
		out[i] = (unsigned char)(h << 4 | l);
	}
	return 0;
}

enum tokens_auth tokens_lookup(struct tokens *t, const char *secret, size_t len,
                               struct tokens_identity *who)
{
	unsigned char hash[HASH_LEN];
	unsigned int hl = 0;

	if (len == 0 || len > TOKEN_INPUT_MAX)
		return TOKENS_INVALID;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)secret[i] <= 0x20 || (unsigned char)secret[i] >= 0x7f)
			return TOKENS_INVALID;
	if (!EVP_Digest(secret, len, hash, &hl, EVP_sha256(), NULL) || hl != HASH_LEN)
		return TOKENS_INVALID;

	/* every live hash is compared, in constant time, whatever matched before */
	size_t match = 0;
	unsigned found = 0;
	time_t now = time(NULL);
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->n; i++) {
		unsigned eq = (unsigned)(CRYPTO_memcmp(hash, t->v[i].hash, HASH_LEN) == 0);
		size_t mask = (size_t)0 - (size_t)eq;
		match = (match & ~mask) | (i & mask);
		found |= eq;
	}
	if (found) {
		struct token *k = &t->v[match];
		if (k->who.expires && k->who.expires <= (long long)now) {
			found = 0; /* a session past its end: the next reload drops it */
		} else {
			*who = k->who;
			k->used = now;
		}
	}
	pthread_mutex_unlock(&t->lock);
	OPENSSL_cleanse(hash, sizeof hash);
	return found ? TOKENS_OK : TOKENS_INVALID;
}

enum tokens_auth tokens_authenticate(struct tokens *t, const char *authorization,
                                     struct tokens_identity *who)
{
	const char *tok;
	size_t len;
	if (!authorization || tokens_bearer(authorization, &tok, &len) < 0)
		return TOKENS_MISSING;
	return tokens_lookup(t, tok, len, who);
}

int tokens_add(struct tokens *t, const unsigned char hash[32], const struct tokens_identity *who)
{
	pthread_mutex_lock(&t->lock);
	struct token *v = realloc(t->v, (t->n + 1) * sizeof *v);
	if (!v) {
		pthread_mutex_unlock(&t->lock);
		return -1;
	}
	t->v = v;
	memset(&v[t->n], 0, sizeof v[t->n]);
	v[t->n].who = *who;
	memcpy(v[t->n].hash, hash, HASH_LEN);
	t->n++;
	pthread_mutex_unlock(&t->lock);
	return 0;
}

void tokens_remove(struct tokens *t, long long id)
{
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].who.id == id) {
			t->v[i] = t->v[--t->n];
			break;
		}
	pthread_mutex_unlock(&t->lock);
}

/* "1,2,3" into who->brands; NULL (every brand) as -1. 0 or -1. */
static int parse_brands(const PGresult *r, int row, struct tokens_identity *who)
{
	if (PQgetisnull(r, row, 4)) {
		who->nbrands = -1;
		return 0;
	}
	const char *p = PQgetvalue(r, row, 4);
	who->nbrands = 0;
	while (*p) {
		char *end;
		long long id = strtoll(p, &end, 10);
		if (end == p || id < 1 || who->nbrands == TOKENS_BRANDS_MAX ||
		    (*end && *end != ','))
			return -1;
		who->brands[who->nbrands++] = id;
		p = *end ? end + 1 : end;
	}
	return who->nbrands ? 0 : -1;
}

struct tokens *tokens_new_empty(enum tokens_kind kind)
{
	struct tokens *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->kind = kind;
	pthread_mutex_init(&t->lock, NULL);
	return t;
}

int tokens_set(struct tokens *t, const PGresult *r)
{
	size_t n = (size_t)PQntuples(r);
	struct token *v = calloc(n ? n : 1, sizeof *v);
	if (!v)
		return -1;
	if (PQnfields(r) != 6) {
		free(v);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const char *name = PQgetvalue(r, (int)i, 1);
		struct tokens_identity *who = &v[i].who;
		char err[128];
		if (strlen(name) > TOKEN_NAME_MAX ||
		    parse_hash(PQgetvalue(r, (int)i, 2), v[i].hash) < 0 ||
		    scope_parse(PQgetvalue(r, (int)i, 3), &who->scopes, err, sizeof err) < 0 ||
		    parse_brands(r, (int)i, who) < 0) {
			free(v);
			return -1;
		}
		who->kind = t->kind;
		who->id = strtoll(PQgetvalue(r, (int)i, 0), NULL, 10);
		snprintf(who->name, sizeof who->name, "%s", name);
		who->expires =
		    PQgetisnull(r, (int)i, 5) ? 0 : strtoll(PQgetvalue(r, (int)i, 5), NULL, 10);
	}
	pthread_mutex_lock(&t->lock);
	/* keep the use notes of tokens that stay (few tokens: a plain search) */
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < t->n; j++)
			if (t->v[j].who.id == v[i].who.id) {
				v[i].used = t->v[j].used;
				v[i].written = t->v[j].written;
				v[i].sent_at = t->v[j].sent_at;
				break;
			}
	struct token *old = t->v;
	t->v = v;
	t->n = n;
	pthread_mutex_unlock(&t->lock);
	free(old);
	return 0;
}

size_t tokens_count(struct tokens *t)
{
	pthread_mutex_lock(&t->lock);
	size_t n = t->n;
	pthread_mutex_unlock(&t->lock);
	return n;
}

struct tokens *tokens_new(PGconn *db, enum tokens_kind kind, char *err, size_t errlen)
{
	struct tokens *t = tokens_new_empty(kind);
	const char *what = kind == TOKENS_SESSION ? "staff sessions" : "admin tokens";
	PGresult *r = NULL;
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r = PQexec(db, kind == TOKENS_SESSION ? STATEMENT_SESSIONS_LOAD : STATEMENT_TOKENS_LOAD);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "loading %s: %s", what, PQresultErrorMessage(r));
		goto fail;
	}
	if (tokens_set(t, r) < 0) {
		snprintf(err, errlen, "loading %s: a malformed row", what);
		goto fail;
	}
	PQclear(r);
	log_info("event=tokens_loaded kind=%s rows=%zu",
	         kind == TOKENS_SESSION ? "sessions" : "tokens", t->n);
	return t;
fail:
	PQclear(r);
	tokens_free(t);
	return NULL;
}

/* ---- the control loop: reloads ---- */

static void write_used(struct tokens *t);

/*
 * The reloaded rows replace the table; uses not written yet go out first,
 * or a token revoked right after its last use would lose that use.
 */
static int apply(void *arg, const PGresult *rows)
{
	write_used(arg);
	return tokens_set(arg, rows);
}

/* ---- the control loop: last_used_at ---- */

/* The last write failed: send its tokens again on the next tick. */
static void unsend(struct tokens *t)
{
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->nsent; i++)
		for (size_t j = 0; j < t->n; j++)
			if (t->v[j].who.id == t->sent_ids[i])
				t->v[j].written = t->v[j].sent_at = 0;
	pthread_mutex_unlock(&t->lock);
	t->nsent = 0;
}

static void written_done(void *arg, const struct pool_result *r)
{
	struct tokens *t = arg;
	t->writing = 0;
	if (r->status == POOL_OK)
		return;
	char q[300];
	log_warn("event=tokens_last_used_failed reason=%s", log_quote(r->message, q, sizeof q));
	unsend(t);
}

static void write_used(struct tokens *t)
{
	long long now = clock_ms() / 1000;
	size_t idl = 0, atl = 0;
	if (t->writing || t->closing || t->kind != TOKENS_BEARER)
		return;
	t->nsent = 0;
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->n && t->nsent < FLUSH_MAX; i++) {
		struct token *k = &t->v[i];
		if (k->used <= k->written || (k->sent_at && now - k->sent_at < WRITE_EVERY_S))
			continue;
		idl += (size_t)snprintf(t->ids_param + idl, sizeof t->ids_param - idl, "%s%lld",
		                        t->nsent ? "," : "{", k->who.id);
		atl += (size_t)snprintf(t->at_param + atl, sizeof t->at_param - atl, "%s%lld",
		                        t->nsent ? "," : "{", (long long)k->used);
		t->sent_ids[t->nsent++] = k->who.id;
		k->written = k->used;
		k->sent_at = now;
	}
	pthread_mutex_unlock(&t->lock);
	if (!t->nsent)
		return;
	snprintf(t->ids_param + idl, sizeof t->ids_param - idl, "}");
	snprintf(t->at_param + atl, sizeof t->at_param - atl, "}");
	struct pool_query q = {
	    .stmt = "tokens_used", .nparams = 2, .values = {t->ids_param, t->at_param}};
	if (listener_submit(t->listener, &q, written_done, t) == 0)
		t->writing = 1;
	else
		unsend(t); /* the database is away: quietly, again next tick */
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct tokens *t = arg;
	(void)fd;
	(void)what;
	write_used(t);
}

int tokens_listen(struct tokens *t, struct listener *l, struct event_base *base)
{
	if (t->kind == TOKENS_SESSION) {
		t->cache = (struct listen_cache){.name = "sessions",
		                                 .stmt = "sessions_load",
		                                 .payloads = "staff_sessions staff",
		                                 .apply = apply,
		                                 .arg = t};
		return listener_add(l, &t->cache);
	}
	t->cache = (struct listen_cache){.name = "tokens",
	                                 .stmt = "tokens_load",
	                                 .payloads = "admin_tokens",
	                                 .apply = apply,
	                                 .arg = t};
	t->listener = l;
	t->timer = event_new(base, -1, EV_PERSIST, on_timer, t);
	struct timeval tv = {TICK_S, 0};
	if (!t->timer || event_add(t->timer, &tv) < 0)
		return -1;
	return listener_add(l, &t->cache);
}

void tokens_free(struct tokens *t)
{
	if (!t)
		return;
	t->closing = 1;
	if (t->timer)
		event_free(t->timer);
	free(t->v);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

const char *tokens_brands_param(const struct tokens_identity *who, char *out, size_t outlen)
{
	if (who->nbrands < 0)
		return NULL;
	size_t n = (size_t)snprintf(out, outlen, "{");
	for (int i = 0; i < who->nbrands && n < outlen; i++)
		n += (size_t)snprintf(out + n, outlen - n, "%s%lld", i ? "," : "", who->brands[i]);
	if (n < outlen)
		snprintf(out + n, outlen - n, "}");
	return out;
}
