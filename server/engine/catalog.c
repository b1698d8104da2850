/*
 * catalog.c: batches and products, loaded whole into an immutable snapshot
 * sorted by first serial (binary search finds a code's batch).
 *
 * The control loop owns one LISTEN connection (a pool of one) and reloads
 * on each NOTIFY; workers pick up a new snapshot through a generation
 * counter, taking the lock only when it changed.
 */
#include "engine/catalog.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "engine/listen.h"
#include "log.h"
#include "statements.h"

struct catalog_snapshot {
	atomic_int refs;
	size_t n;
	struct catalog_batch *batches;
	char *strings;
	char **json;                  /* each batch's rendered fragment */
	struct catalog_range *ranges; /* every batch's activations, each batch's together */
};

struct catalog {
	pthread_mutex_t lock;
	struct catalog_snapshot *current;
	atomic_ulong gen;
	struct listen_cache cache; /* the control loop's side: reloads */
};

struct catalog_snapshot *catalog_snapshot_ref(struct catalog_snapshot *s)
{
	if (s)
		atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return s;
}

void catalog_snapshot_unref(struct catalog_snapshot *s)
{
	if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (size_t i = 0; s->json && i < s->n; i++)
		free(s->json[i]);
	free(s->json);
	free(s->ranges);
	free(s->batches);
	free(s->strings);
	free(s);
}

size_t catalog_snapshot_size(const struct catalog_snapshot *s)
{
	return s ? s->n : 0;
}

const struct catalog_batch *catalog_find(const struct catalog_snapshot *s, uint64_t serial)
{
	size_t lo = 0, hi = s ? s->n : 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->batches[mid].serial_first <= serial)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct catalog_batch *b = &s->batches[lo - 1];
	return serial <= b->serial_last ? b : NULL;
}

int catalog_released(const struct catalog_batch *b, uint64_t serial)
{
	if (!b->inactive)
		return 1;
	/* the last range starting at or before serial; reach covers overlaps */
	size_t lo = 0, hi = b->nranges;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b->ranges[mid].first <= serial)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && b->ranges[lo - 1].reach >= serial;
}

int catalog_expired(const struct catalog_batch *b, const char *today_iso)
{
	return b->expiry[0] && strcmp(b->expiry, today_iso) < 0;
}

const char *batch_status_name(enum batch_status s)
{
	switch (s) {
	case BATCH_ACTIVE:
		return "active";
	case BATCH_RECALLED:
		return "recalled";
	case BATCH_MINTING:
		return "minting";
	case BATCH_VOID:
		return "void";
	case BATCH_EXPIRED:
		return "expired";
	}
	return "void";
}

/* The batch's part of a lookup reply, rendered once per snapshot. NULL if out of memory. */
static char *render_json(const struct catalog_batch *b)
{
	json_t *product =
	    json_pack("{s:s,s:s?,s:s,s:s,s:i}", "sku", b->sku, "gtin", b->gtin[0] ? b->gtin : NULL,
	              "name", b->name, "brand", b->brand, "points", b->points);
	json_t *batch =
	    json_pack("{s:I,s:s,s:s,s:s,s:s,s:b,s:s?,s:s?}", "id", (json_int_t)b->id, "status",
	              batch_status_name(b->status), "factory", b->factory, "line", b->line,
	              "created", b->created, "pin_required", b->pin_required, "lot",
	              b->lot[0] ? b->lot : NULL, "expiry", b->expiry[0] ? b->expiry : NULL);
	json_t *factory = json_string(b->factory), *created = json_string(b->created);
	char *ps = product ? json_dumps(product, JSON_COMPACT) : NULL;
	char *bs = batch ? json_dumps(batch, JSON_COMPACT) : NULL;
	char *fs = factory ? json_dumps(factory, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	char *cs = created ? json_dumps(created, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	char *out = NULL;
	if (ps && bs && fs && cs) {
		size_t n = strlen(ps) + strlen(bs) + strlen(fs) + strlen(cs) + 64;
		out = malloc(n);
		if (out)
			snprintf(out, n,
			         "\"product\":%s,\"batch\":%s,\"factory\":%s,\"created\":%s", ps,
			         bs, fs, cs);
	}
	free(ps);
	free(bs);
	free(fs);
	free(cs);
	json_decref(product);
	json_decref(batch);
	json_decref(factory);
	json_decref(created);
	return out;
}

static enum batch_status status_parse(const char *s)
{
	if (strcmp(s, "active") == 0)
		return BATCH_ACTIVE;
	if (strcmp(s, "recalled") == 0)
		return BATCH_RECALLED;
	if (strcmp(s, "minting") == 0)
		return BATCH_MINTING;
	if (strcmp(s, "expired") == 0)
		return BATCH_EXPIRED;
	return BATCH_VOID;
}

/* The ranges of text "first-last,first-last" (sorted by first): how many there are. */
static size_t ranges_count(const char *t)
{
	size_t n = *t ? 1 : 0;
	for (; *t; t++)
		n += *t == ',';
	return n;
}

/* Parse them into out (room for ranges_count), with their reach; how many parsed. */
static size_t ranges_parse(const char *t, struct catalog_range *out)
{
	size_t n = 0;
	uint64_t reach = 0;
	while (*t) {
		char *end;
		uint64_t f = strtoull(t, &end, 10);
		if (*end != '-')
			break;
		uint64_t l = strtoull(end + 1, &end, 10);
		if (l > reach)
			reach = l;
		out[n++] = (struct catalog_range){f, l, reach};
		if (*end != ',')
			break;
		t = end + 1;
	}
	return n;
}

/* Build a snapshot from the rows of CATALOG_SQL; NULL if out of memory. */
struct catalog_snapshot *catalog_snapshot_from_result(const PGresult *r)
{
	static const int string_cols[] = {6, 7, 8, 9, 10, 11, 12, 15, 16};
	const size_t nstrings = PQnfields(r) >= 18 ? 9 : 7; /* lot and expiry, when loaded */
	int supply = PQnfields(r) >= 18;
	size_t n = (size_t)PQntuples(r), bytes = 0, nranges = 0;
	struct catalog_snapshot *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	atomic_init(&s->refs, 1);
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < nstrings; k++)
			bytes += (size_t)PQgetlength(r, (int)i, string_cols[k]) + 1;
		if (supply)
			nranges += ranges_count(PQgetvalue(r, (int)i, 17));
	}
	s->batches = calloc(n ? n : 1, sizeof *s->batches);
	s->strings = malloc(bytes ? bytes : 1);
	s->json = calloc(n ? n : 1, sizeof *s->json);
	s->ranges = calloc(nranges ? nranges : 1, sizeof *s->ranges);
	if (!s->batches || !s->strings || !s->json || !s->ranges) {
		catalog_snapshot_unref(s);
		return NULL;
	}
	char *p = s->strings;
	struct catalog_range *rg = s->ranges;
	const char *fields[9] = {0};
	for (size_t i = 0; i < n; i++) {
		struct catalog_batch *b = &s->batches[i];
		int row = (int)i;
		b->id = strtoll(PQgetvalue(r, row, 0), NULL, 10);
		b->key_id = (unsigned)strtoul(PQgetvalue(r, row, 1), NULL, 10);
		b->serial_first = strtoull(PQgetvalue(r, row, 2), NULL, 10);
		b->serial_last = strtoull(PQgetvalue(r, row, 3), NULL, 10);
		b->status = status_parse(PQgetvalue(r, row, 4));
		b->pin_required = PQgetvalue(r, row, 5)[0] == 't';
		b->points = atoi(PQgetvalue(r, row, 13));
		for (size_t k = 0; k < nstrings; k++) {
			size_t len = (size_t)PQgetlength(r, row, string_cols[k]);
			memcpy(p, PQgetvalue(r, row, string_cols[k]), len);
			p[len] = '\0';
			fields[k] = p;
			p += len + 1;
		}
		b->factory = fields[0];
		b->line = fields[1];
		b->created = fields[2];
		b->sku = fields[3];
		b->gtin = fields[4];
		b->name = fields[5];
		b->brand = fields[6];
		b->lot = supply ? fields[7] : "";
		b->expiry = supply ? fields[8] : "";
		b->inactive = supply && PQgetvalue(r, row, 14)[0] == 't';
		b->ranges = rg;
		b->nranges = supply ? ranges_parse(PQgetvalue(r, row, 17), rg) : 0;
		rg += b->nranges;
	}
	s->n = n;
	for (size_t i = 0; i < n; i++) {
		s->json[i] = render_json(&s->batches[i]);
		if (!s->json[i]) {
			catalog_snapshot_unref(s);
			return NULL;
		}
		s->batches[i].json = s->json[i];
	}
	return s;
}

static void publish(struct catalog *c, struct catalog_snapshot *s)
{
	pthread_mutex_lock(&c->lock);
	struct catalog_snapshot *old = c->current;
	c->current = s;
	atomic_fetch_add_explicit(&c->gen, 1, memory_order_release);
	pthread_mutex_unlock(&c->lock);
	catalog_snapshot_unref(old);
}

struct catalog *catalog_new(PGconn *db, char *err, size_t errlen)
{
	struct catalog *c = calloc(1, sizeof *c);
	PGresult *r = NULL;
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	r = PQexec(db, STATEMENT_CATALOG_LOAD);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "loading batches: %s", PQresultErrorMessage(r));
		goto fail;
	}
	c->current = catalog_snapshot_from_result(r);
	if (!c->current) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	PQclear(r);
	log_info("event=catalog_loaded batches=%zu", c->current->n);
	return c;
fail:
	PQclear(r);
	catalog_free(c);
	return NULL;
}

/* The listener's: the loaded rows become the current snapshot. */
static int apply(void *arg, const PGresult *rows)
{
	struct catalog_snapshot *s = catalog_snapshot_from_result(rows);
	if (!s)
		return -1;
	publish(arg, s);
	return 0;
}

int catalog_listen(struct catalog *c, struct listener *l)
{
	c->cache = (struct listen_cache){.name = "catalog",
	                                 .stmt = "catalog_load",
	                                 .payloads = "products batches batch_activations",
	                                 .apply = apply,
	                                 .arg = c};
	return listener_add(l, &c->cache);
}

void catalog_free(struct catalog *c)
{
	if (!c)
		return;
	catalog_snapshot_unref(c->current);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

struct catalog_snapshot *catalog_view(struct catalog *c, struct catalog_view *v)
{
	unsigned long gen = atomic_load_explicit(&c->gen, memory_order_acquire);
	if (v->snap && gen == v->gen)
		return v->snap;
	pthread_mutex_lock(&c->lock);
	struct catalog_snapshot *old = v->snap;
	v->snap = catalog_snapshot_ref(c->current);
	v->gen = atomic_load_explicit(&c->gen, memory_order_relaxed);
	pthread_mutex_unlock(&c->lock);
	catalog_snapshot_unref(old);
	return v->snap;
}

void catalog_view_release(struct catalog_view *v)
{
	catalog_snapshot_unref(v->snap);
	v->snap = NULL;
}
