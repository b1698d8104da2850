/*
 * links.c: the brands' resolver links, one immutable snapshot sorted by
 * GTIN (binary search), swapped whole on reload. Few rows (a handful per
 * product with links), so a reload copies them all.
 */
#include "engine/links.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/listen.h"
#include "log.h"
#include "statements.h"

#define LINKS_COLUMNS 7

struct links_snapshot {
	atomic_int refs;
	size_t n;
	struct links_link *v;
	char *strings;
};

struct links {
	pthread_mutex_t lock;
	struct links_snapshot *current;
	struct listen_cache cache;
};

void links_snapshot_unref(struct links_snapshot *s)
{
	if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	free(s->v);
	free(s->strings);
	free(s);
}

struct links_snapshot *links_snapshot_from_result(const PGresult *r)
{
	size_t n = (size_t)PQntuples(r), bytes = 0;
	struct links_snapshot *s;
	char *p;
	if (PQnfields(r) != LINKS_COLUMNS)
		return NULL;
	for (size_t i = 0; i < n; i++)
		for (int c = 0; c < LINKS_COLUMNS; c++)
			bytes += (size_t)PQgetlength(r, (int)i, c) + 1;
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
		const char *f[LINKS_COLUMNS];
		for (int c = 0; c < LINKS_COLUMNS; c++) {
			size_t len = (size_t)PQgetlength(r, (int)i, c);
			memcpy(p, PQgetvalue(r, (int)i, c), len + 1);
			f[c] = p;
			p += len + 1;
		}
		struct links_link *l = &s->v[i];
		l->type = dl_link_type_parse(f[1], strlen(f[1])); /* "gs1:pip" */
		if (strlen(f[0]) != GTIN_LEN || l->type < DL_LT_BRAND_FIRST ||
		    (i > 0 && strcmp(s->v[i - 1].gtin, f[0]) > 0))
			goto fail;
		l->gtin = f[0];
		l->href = f[2];
		l->title = f[3];
		l->hreflang = f[4];
		l->media_type = f[5];
		l->product = f[6];
	}
	s->n = n;
	return s;
fail:
	s->n = 0;
	links_snapshot_unref(s);
	return NULL;
}

size_t links_snapshot_find(const struct links_snapshot *s, const char *gtin,
                           const struct links_link **out)
{
	size_t lo = 0, hi = s ? s->n : 0, end;
	*out = NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(s->v[mid].gtin, gtin) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; s && end < s->n && strcmp(s->v[end].gtin, gtin) == 0; end++)
		;
	if (end == lo)
		return 0;
	*out = &s->v[lo];
	return end - lo;
}

static void swap_in(struct links *l, struct links_snapshot *s)
{
	pthread_mutex_lock(&l->lock);
	struct links_snapshot *old = l->current;
	l->current = s;
	pthread_mutex_unlock(&l->lock);
	links_snapshot_unref(old);
}

struct links_snapshot *links_current(struct links *l)
{
	pthread_mutex_lock(&l->lock);
	struct links_snapshot *s = l->current;
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&l->lock);
	return s;
}

static int apply(void *arg, const PGresult *rows)
{
	struct links_snapshot *s = links_snapshot_from_result(rows);
	if (!s)
		return -1;
	log_info("event=links_loaded rows=%zu", s->n);
	swap_in(arg, s);
	return 0;
}

struct links *links_new(PGconn *db, char *err, size_t errlen)
{
	struct links *l = calloc(1, sizeof *l);
	PGresult *r = NULL;
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&l->lock, NULL);
	r = PQexec(db, STATEMENT_LINKS_LOAD);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "loading the product links: %s", PQresultErrorMessage(r));
		goto fail;
	}
	l->current = links_snapshot_from_result(r);
	if (!l->current) {
		snprintf(err, errlen, "loading the product links: a malformed row");
		goto fail;
	}
	PQclear(r);
	return l;
fail:
	PQclear(r);
	links_free(l);
	return NULL;
}

int links_listen(struct links *l, struct listener *li)
{
	l->cache = (struct listen_cache){.name = "links",
	                                 .stmt = "links_load",
	                                 .payloads = "product_links products",
	                                 .apply = apply,
	                                 .arg = l};
	return listener_add(li, &l->cache);
}

void links_free(struct links *l)
{
	if (!l)
		return;
	links_snapshot_unref(l->current);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
