/*
 * msession.c: the member session cache (msession.h). MSESSION_WAYS slots
 * per set, the set chosen by the hash's first bytes (the hash of a random
 * secret, or a keyed hash: uniform), each set under its own mutex, so the
 * workers share one cache and hold a lock for a few compares. A new entry
 * takes the set's empty, stale or expired slot, else the one checked
 * longest ago.
 */
#include "engine/msession.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	unsigned char hash[SECRET_HASH_LEN];
	char member[MEMBER_ID_MAX + 1];
	long long expires_s;
	long long checked_ms; /* 0: empty */
};

struct set {
	pthread_mutex_t lock;
	struct slot slots[MSESSION_WAYS];
};

struct msessions {
	struct set sets[MSESSION_SETS];
};

struct msessions *msessions_new(void)
{
	struct msessions *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	for (size_t i = 0; i < MSESSION_SETS; i++)
		if (pthread_mutex_init(&c->sets[i].lock, NULL) != 0) {
			while (i-- > 0)
				pthread_mutex_destroy(&c->sets[i].lock);
			free(c);
			return NULL;
		}
	return c;
}

void msessions_free(struct msessions *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < MSESSION_SETS; i++)
		pthread_mutex_destroy(&c->sets[i].lock);
	OPENSSL_cleanse(c, sizeof *c);
	free(c);
}

static struct set *set_of(struct msessions *c, const unsigned char *hash)
{
	unsigned v = (unsigned)hash[0] | (unsigned)hash[1] << 8 | (unsigned)hash[2] << 16;
	return &c->sets[v % MSESSION_SETS];
}

/* the slot of hash in set, or NULL; under the set's lock */
static struct slot *find(struct set *set, const unsigned char *hash)
{
	for (int i = 0; i < MSESSION_WAYS; i++) {
		struct slot *s = &set->slots[i];
		if (s->checked_ms && CRYPTO_memcmp(s->hash, hash, SECRET_HASH_LEN) == 0)
			return s;
	}
	return NULL;
}

int msessions_get(struct msessions *c, const unsigned char hash[SECRET_HASH_LEN], long long now_ms,
                  long long now_s, char *member)
{
	struct set *set = set_of(c, hash);
	int found = 0;
	pthread_mutex_lock(&set->lock);
	struct slot *s = find(set, hash);
	if (s) {
		if (now_ms - s->checked_ms > MSESSION_FRESH_MS || now_s >= s->expires_s) {
			s->checked_ms = 0;
		} else {
			memcpy(member, s->member, sizeof s->member);
			found = 1;
		}
	}
	pthread_mutex_unlock(&set->lock);
	return found;
}

void msessions_put(struct msessions *c, const unsigned char hash[SECRET_HASH_LEN],
                   const char *member, long long expires_s, long long now_ms)
{
	struct set *set = set_of(c, hash);
	long long t = now_ms ? now_ms : 1;
	pthread_mutex_lock(&set->lock);
	struct slot *s = find(set, hash);
	for (int i = 0; !s && i < MSESSION_WAYS; i++) {
		struct slot *x = &set->slots[i];
		if (!x->checked_ms || t - x->checked_ms > MSESSION_FRESH_MS)
			s = x;
	}
	if (!s) {
		s = &set->slots[0];
		for (int i = 1; i < MSESSION_WAYS; i++)
			if (set->slots[i].checked_ms < s->checked_ms)
				s = &set->slots[i];
	}
	memcpy(s->hash, hash, SECRET_HASH_LEN);
	strncpy(s->member, member, MEMBER_ID_MAX);
	s->member[MEMBER_ID_MAX] = '\0';
	s->expires_s = expires_s;
	s->checked_ms = t;
	pthread_mutex_unlock(&set->lock);
}

void msessions_remove(struct msessions *c, const unsigned char hash[SECRET_HASH_LEN])
{
	struct set *set = set_of(c, hash);
	pthread_mutex_lock(&set->lock);
	struct slot *s = find(set, hash);
	if (s)
		s->checked_ms = 0;
	pthread_mutex_unlock(&set->lock);
}
