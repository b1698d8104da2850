/*
 * ratelimit.c: token buckets in per-thread set-associative tables.
 *
 * Tables are per worker thread and never shared, so a client whose
 * connections land on several threads (SO_REUSEPORT hashes connections, not
 * addresses) can get up to --threads times a limit; docs/security.md says why
 * that is accepted. Set indexes and member keys are keyed by a random secret,
 * so nobody can aim at one set to evict someone else's bucket.
 */
#include "engine/ratelimit.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

struct slot {
	uint64_t key;
	long long stamp_us; /* last use; 0: empty */
	double tokens;
};

struct table {
	struct ratelimit_rate rate;
	struct slot *slots; /* RATELIMIT_SETS * RATELIMIT_WAYS; NULL: not limited */
};

struct ratelimit {
	struct table t[RATELIMIT_KIND_COUNT];
};

/* ---- keys -------------------------------------------------------------------- */

static uint64_t secret[2];
static pthread_once_t secret_once = PTHREAD_ONCE_INIT;

static void secret_init(void)
{
	if (getrandom(secret, sizeof secret, 0) != (ssize_t)sizeof secret) {
		/* no entropy source: at least distinct per process */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		secret[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)ts.tv_sec;
		secret[1] = (uint64_t)getpid() * 0xbf58476d1ce4e5b9ULL ^ (uint64_t)(uintptr_t)&ts;
	}
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
	do {                                                                                       \
		v0 += v1;                                                                          \
		v1 = ROTL(v1, 13);                                                                 \
		v1 ^= v0;                                                                          \
		v0 = ROTL(v0, 32);                                                                 \
		v2 += v3;                                                                          \
		v3 = ROTL(v3, 16);                                                                 \
		v3 ^= v2;                                                                          \
		v0 += v3;                                                                          \
		v3 = ROTL(v3, 21);                                                                 \
		v3 ^= v0;                                                                          \
		v2 += v1;                                                                          \
		v1 = ROTL(v1, 17);                                                                 \
		v1 ^= v2;                                                                          \
		v2 = ROTL(v2, 32);                                                                 \
	} while (0)

/* SipHash-2-4 of s[0..len) under the process secret. */
static uint64_t siphash(const unsigned char *s, size_t len)
{
	uint64_t k0 = secret[0], k1 = secret[1];
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1,
	         v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
	uint64_t b = (uint64_t)len << 56, m;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		m = 0;
		for (int j = 7; j >= 0; j--)
			m = (m << 8) | s[i + (size_t)j];
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; i + j < len; j++)
		b |= (uint64_t)s[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t ratelimit_str_key(const char *s, size_t len)
{
	pthread_once(&secret_once, secret_init);
	return siphash((const unsigned char *)s, len);
}

static uint64_t be64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/*
 * IPv4 a.b.c.d is 0000:ffff:aabb:ccdd as a /64 prefix: inside ::/8, which no
 * real IPv6 source uses, so the two kinds of key cannot meet.
 */
uint64_t ratelimit_addr_key(const struct sockaddr *sa)
{
	if (!sa)
		return 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		return 0xffff00000000ULL | ntohl(in->sin_addr.s_addr);
	}
	if (sa->sa_family == AF_INET6) {
		const unsigned char *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(a, mapped, sizeof mapped) == 0)
			return 0xffff00000000ULL | ((uint64_t)a[12] << 24 | (uint64_t)a[13] << 16 |
			                            (uint64_t)a[14] << 8 | a[15]);
		return be64(a); /* the /64 */
	}
	return 0;
}

/* ---- tables ------------------------------------------------------------------ */

struct ratelimit *ratelimit_new(const struct ratelimit_rate rates[RATELIMIT_KIND_COUNT])
{
	pthread_once(&secret_once, secret_init);
	struct ratelimit *rl = calloc(1, sizeof *rl);
	if (!rl)
		return NULL;
	for (int k = 0; k < RATELIMIT_KIND_COUNT; k++) {
		rl->t[k].rate = rates[k];
		if (rates[k].rate <= 0)
			continue;
		rl->t[k].slots =
		    calloc((size_t)RATELIMIT_SETS * RATELIMIT_WAYS, sizeof(struct slot));
		if (!rl->t[k].slots) {
			ratelimit_free(rl);
			return NULL;
		}
	}
	return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	for (int k = 0; k < RATELIMIT_KIND_COUNT; k++)
		free(rl->t[k].slots);
	free(rl);
}

static size_t set_of(uint64_t key)
{
	uint64_t h = (key ^ secret[0]) * 0x9e3779b97f4a7c15ULL;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL ^ secret[1];
	return (size_t)(h >> 32) & (RATELIMIT_SETS - 1);
}

int ratelimit_take(struct ratelimit *rl, enum ratelimit_kind kind, uint64_t key, long long now_us)
{
	struct table *t = &rl->t[kind];
	if (!t->slots)
		return 0;
	struct slot *set = t->slots + set_of(key) * RATELIMIT_WAYS, *s = NULL, *lru = set;
	for (int i = 0; i < RATELIMIT_WAYS; i++) {
		if (set[i].stamp_us && set[i].key == key) {
			s = &set[i];
			break;
		}
		if (set[i].stamp_us < lru->stamp_us)
			lru = &set[i];
	}
	if (now_us <= 0)
		now_us = 1; /* 0 marks an empty slot */
	if (!s) {
		s = lru; /* an empty slot, or the least recently used bucket */
		s->key = key;
		s->tokens = t->rate.burst;
	} else if (now_us > s->stamp_us) {
		s->tokens += (double)(now_us - s->stamp_us) * t->rate.rate / 1e6;
		if (s->tokens > t->rate.burst)
			s->tokens = t->rate.burst;
	}
	s->stamp_us = now_us;
	if (s->tokens >= 1.0) {
		s->tokens -= 1.0;
		return 0;
	}
	double wait =
	    ceil((1.0 - s->tokens) / t->rate.rate - 1e-6); /* float noise: 3.0000000001 is 3 */
	return wait < 1 ? 1 : wait > 86400 ? 86400 : (int)wait;
}

int ratelimit_parse(const char *spec, struct ratelimit_rate *out)
{
	char *end;
	if (strcmp(spec, "0") == 0) {
		out->rate = out->burst = 0;
		return 0;
	}
	errno = 0;
	double rate = strtod(spec, &end);
	if (errno || end == spec || *end != '/' || !(rate > 0) || rate > 1e9)
		return -1;
	const char *b = end + 1;
	long burst = strtol(b, &end, 10);
	if (errno || end == b || *end || burst < 1 || burst > 1000000000L)
		return -1;
	out->rate = rate;
	out->burst = (double)burst;
	return 0;
}
