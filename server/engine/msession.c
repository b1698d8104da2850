/*
 * msession.c: the member session cache (msession.h). A slot is chosen by
 * the hash's first bytes (the hash of a random secret: uniform); a newer
 * session takes the slot of an older one.
 */
#include "engine/msession.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	unsigned char hash[SECRET_HASH_LEN];
	char member[MEMBER_ID_MAX + 1];
	long long expires_s;
	long long checked_ms; /* 0: empty */
};

struct msessions {
	struct slot slots[MSESSION_SLOTS];
};

struct msessions *msessions_new(void)
{
	return calloc(1, sizeof(struct msessions));
}

void msessions_free(struct msessions *c)
{
	if (c)
		OPENSSL_cleanse(c, sizeof *c);
	free(c);
}

static struct slot *slot_of(struct msessions *c, const unsigned char *hash)
{
	unsigned v = (unsigned)hash[0] | (unsigned)hash[1] << 8 | (unsigned)hash[2] << 16;
	return &c->slots[v % MSESSION_SLOTS];
}

int msessions_get(struct msessions *c, const unsigned char hash[SECRET_HASH_LEN], long long now_ms,
                  long long now_s, char *member)
{
	struct slot *s = slot_of(c, hash);
	if (!s->checked_ms || CRYPTO_memcmp(s->hash, hash, SECRET_HASH_LEN) != 0)
		return 0;
	if (now_ms - s->checked_ms > MSESSION_FRESH_MS || now_s >= s->expires_s) {
		s->checked_ms = 0;
		return 0;
	}
	memcpy(member, s->member, sizeof s->member);
	return 1;
}

void msessions_put(struct msessions *c, const unsigned char hash[SECRET_HASH_LEN],
                   const char *member, long long expires_s, long long now_ms)
{
	struct slot *s = slot_of(c, hash);
	memcpy(s->hash, hash, SECRET_HASH_LEN);
	strncpy(s->member, member, MEMBER_ID_MAX);
	s->member[MEMBER_ID_MAX] = '\0';
	s->expires_s = expires_s;
	s->checked_ms = now_ms ? now_ms : 1;
}

void msessions_remove(struct msessions *c, const unsigned char hash[SECRET_HASH_LEN])
{
	struct slot *s = slot_of(c, hash);
	if (CRYPTO_memcmp(s->hash, hash, SECRET_HASH_LEN) == 0)
		s->checked_ms = 0;
}
