/*
 * campaigns.c: the campaigns not ended, one immutable snapshot swapped
 * whole on reload (few rows: a brand runs a handful at a time), matched by
 * a linear scan. Only the landing page reads it; claims apply the rules in
 * the database.
 */
#include "engine/campaigns.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/listen.h"
#include "log.h"
#include "statements.h"

#define CAMPAIGNS_COLUMNS 7

struct campaign_row {
	long long id, starts, ends;
	const char *brand, *skus, *batches, *name; /* skus, batches: " a b c", "" for none */
};

struct campaigns_snapshot {
	atomic_int refs;
	size_t n;
	struct campaign_row *v;
	char *strings;
};

struct campaigns {
	pthread_mutex_t lock;
	struct campaigns_snapshot *current;
	struct listen_cache cache;
};

void campaigns_snapshot_unref(struct campaigns_snapshot *s)
{
	if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	free(s->v);
	free(s->strings);
	free(s);
}

struct campaigns_snapshot *campaigns_snapshot_from_result(const PGresult *r)
{
	size_t n = (size_t)PQntuples(r), bytes = 0;
	struct campaigns_snapshot *s;
	char *p;
	if (PQnfields(r) != CAMPAIGNS_COLUMNS)
		return NULL;
	for (size_t i = 0; i < n; i++)
		for (int c = 0; c < CAMPAIGNS_COLUMNS; c++)
			bytes += (size_t)PQgetlength(r, (int)i, c) + 3;
	s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	atomic_init(&s->refs, 1);
	s->v = calloc(n ? n : 1, sizeof *s->v);
	s->strings = malloc(bytes ? bytes : 1);
	if (!s->v || !s->strings)
		goto fail;
	p = s->strings;
	for (size_t i = 0; i < n; i++) {
		const char *f[CAMPAIGNS_COLUMNS];
		for (int c = 0; c < CAMPAIGNS_COLUMNS; c++) {
			size_t len = (size_t)PQgetlength(r, (int)i, c);
			/* the lists with a space before and after each item: " a b " */
			int list = c == 4 || c == 5;
			if (list && len)
				*p++ = ' ';
			memcpy(p, PQgetvalue(r, (int)i, c), len + 1);
			f[c] = list && len ? p - 1 : p;
			p += len;
			if (list && len)
				*p++ = ' ';
			*p++ = '\0';
		}
		struct campaign_row *c = &s->v[i];
		char *end;
		c->id = strtoll(f[0], &end, 10);
		if (*end || c->id < 1)
			goto fail;
		c->starts = strtoll(f[2], NULL, 10);
		c->ends = strtoll(f[3], NULL, 10);
		c->brand = f[1];
		c->skus = f[4];
		c->batches = f[5];
		c->name = f[6];
	}
	s->n = n;
	return s;
fail:
	s->n = 0;
	campaigns_snapshot_unref(s);
	return NULL;
}

/* 1 if list (" a b ") holds item. */
static int listed(const char *list, const char *item)
{
	size_t n = strlen(item);
	for (const char *p = strstr(list, item); p; p = strstr(p + 1, item))
		if (p > list && p[-1] == ' ' && p[n] == ' ')
			return 1;
	return 0;
}

size_t campaigns_snapshot_match(const struct campaigns_snapshot *s, const char *brand,
                                const char *sku, long long batch, long long now, long long *ids,
                                const char **names, size_t max)
{
	size_t found = 0;
	char num[24];
	snprintf(num, sizeof num, "%lld", batch);
	for (size_t i = 0; s && i < s->n && found < max; i++) {
		const struct campaign_row *c = &s->v[i];
		if (strcmp(c->brand, brand) != 0 || now < c->starts || now >= c->ends)
			continue;
		if ((c->skus[0] || c->batches[0]) && !listed(c->skus, sku) &&
		    !listed(c->batches, num))
			continue;
		ids[found] = c->id;
		if (names)
			names[found] = c->name;
		found++;
	}
	return found;
}

static void swap_in(struct campaigns *c, struct campaigns_snapshot *s)
{
	pthread_mutex_lock(&c->lock);
	struct campaigns_snapshot *old = c->current;
	c->current = s;
	pthread_mutex_unlock(&c->lock);
	campaigns_snapshot_unref(old);
}

struct campaigns_snapshot *campaigns_current(struct campaigns *c)
{
	pthread_mutex_lock(&c->lock);
	struct campaigns_snapshot *s = c->current;
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&c->lock);
	return s;
}

static int apply(void *arg, const PGresult *rows)
{
	struct campaigns_snapshot *s = campaigns_snapshot_from_result(rows);
	if (!s)
		return -1;
	log_info("event=campaigns_loaded rows=%zu", s->n);
	swap_in(arg, s);
	return 0;
}

struct campaigns *campaigns_new(PGconn *db, char *err, size_t errlen)
{
	struct campaigns *c = calloc(1, sizeof *c);
	PGresult *r = NULL;
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	r = PQexec(db, STATEMENT_CAMPAIGNS_LOAD);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "loading the campaigns: %s", PQresultErrorMessage(r));
		goto fail;
	}
	c->current = campaigns_snapshot_from_result(r);
	if (!c->current) {
		snprintf(err, errlen, "loading the campaigns: a malformed row");
		goto fail;
	}
	PQclear(r);
	return c;
fail:
	PQclear(r);
	campaigns_free(c);
	return NULL;
}

int campaigns_listen(struct campaigns *c, struct listener *li)
{
	/* a product's or print run's brand does not change: campaigns alone */
	c->cache = (struct listen_cache){.name = "campaigns",
	                                 .stmt = "campaigns_load",
	                                 .payloads = "campaigns",
	                                 .apply = apply,
	                                 .arg = c};
	return listener_add(li, &c->cache);
}

void campaigns_free(struct campaigns *c)
{
	if (!c)
		return;
	campaigns_snapshot_unref(c->current);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
