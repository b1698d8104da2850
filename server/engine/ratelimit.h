/*
 * ratelimit.h: token buckets per client address (IPv4, or IPv6 by /64) and
 * per member, in fixed-size tables that each worker thread owns.
 *
 * A table is a set-associative cache of buckets: a key hashes to one set of
 * RATELIMIT_WAYS slots and, when the set is full, evicts its least recently
 * used bucket (the likeliest to be full again, and a full bucket is the same
 * as none). O(1) per request, no allocation after ratelimit_new, no locks.
 */
#ifndef PACKCODE_SERVER_RATELIMIT_H
#define PACKCODE_SERVER_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define RATELIMIT_WAYS 4
#define RATELIMIT_SETS 2048 /* buckets per table: RATELIMIT_SETS * RATELIMIT_WAYS */

/* A limit: rate tokens per second, at most burst saved up; rate 0 is no limit. */
struct ratelimit_rate {
	double rate;
	double burst;
};

enum ratelimit_kind {
	RATELIMIT_CLAIMS,        /* claims per client address (API and form) */
	RATELIMIT_LOOKUPS,       /* lookups, landing pages and member pages per client address */
	RATELIMIT_MEMBER_CLAIMS, /* claims per member that would reach the database */
	RATELIMIT_KIND_COUNT
};

struct ratelimit;

/* Tables for the kinds whose rate is not 0; NULL when out of memory. */
struct ratelimit *ratelimit_new(const struct ratelimit_rate rates[RATELIMIT_KIND_COUNT]);
void ratelimit_free(struct ratelimit *rl);

/*
 * Take one token from key's bucket of kind at now_us (a monotonic clock):
 * 0 if there was one (or kind is not limited), else the whole seconds until
 * there will be one (at least 1).
 */
int ratelimit_take(struct ratelimit *rl, enum ratelimit_kind kind, uint64_t key, long long now_us);

/* The bucket key of a client address: IPv4 (also IPv4-mapped IPv6) or the IPv6 /64. */
uint64_t ratelimit_addr_key(const struct sockaddr *sa);
/* The bucket key of a string (a member id): a keyed hash, random per process. */
uint64_t ratelimit_str_key(const char *s, size_t len);

/* Parse "RATE/BURST" (RATE per second, may be fractional; BURST >= 1) or "0". 0 or -1. */
int ratelimit_parse(const char *spec, struct ratelimit_rate *out);

#endif
