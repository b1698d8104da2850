/*
 * catalog.h: the batches and products every request needs, cached in memory.
 *
 * A snapshot is immutable and reference counted; a reload (listen.h: on
 * NOTIFY of products or batches, on reconnect, and once a minute) builds a new one and
 * swaps it in, so worker threads read without locks and a batch recalled
 * elsewhere is honoured within a fraction of a second.
 */
#ifndef PACKCODE_SERVER_CATALOG_H
#define PACKCODE_SERVER_CATALOG_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

enum batch_status { BATCH_MINTING, BATCH_ACTIVE, BATCH_RECALLED, BATCH_VOID, BATCH_EXPIRED };

/* A released serial range of a batch minted inactive (sql/013_supply.sql). */
struct catalog_range {
	uint64_t first, last;
	uint64_t reach; /* the greatest last of this range and those sorted before it */
};

struct catalog_batch {
	int64_t id;
	unsigned key_id;
	uint64_t serial_first, serial_last;
	enum batch_status status;
	int pin_required;
	const char *factory, *line, *created;  /* created: ISO 8601 UTC */
	const char *sku, *gtin, *name, *brand; /* the product; gtin may be "" */
	int points;
	/* the supply chain (sql/013_supply.sql): minted inactive, its released ranges */
	int inactive;
	size_t nranges;
	const struct catalog_range *ranges; /* sorted by first */
	const char *lot;                    /* GS1 AI 10, "" for none */
	const char *expiry;                 /* GS1 AI 17 as YYYY-MM-DD, "" for none */
	/* "product":{...},"batch":{...},"factory":...,"created":... rendered once (docs/api.md) */
	const char *json;
};

struct catalog_snapshot;

/* "active", "recalled", "minting", "void", "expired" */
const char *batch_status_name(enum batch_status s);

struct catalog_snapshot *catalog_snapshot_ref(struct catalog_snapshot *s);
void catalog_snapshot_unref(struct catalog_snapshot *s);
size_t catalog_snapshot_size(const struct catalog_snapshot *s);

/*
 * A snapshot from the rows of the catalog query (columns: id, key_id,
 * serial_first, serial_last, status, pin_required, factory, line, created,
 * sku, gtin, name, brand, points, then optionally inactive, lot, expiry,
 * activations "first-last,first-last" sorted by first; ordered by
 * serial_first). NULL if out of memory. For the catalog itself and its tests.
 */
struct catalog_snapshot *catalog_snapshot_from_result(const PGresult *r);

/* The batch holding serial, or NULL. Batches never overlap (the schema enforces it). */
const struct catalog_batch *catalog_find(const struct catalog_snapshot *s, uint64_t serial);

/*
 * 1 if serial (of batch b) is released for sale: b was not minted inactive,
 * or one of its activations covers serial (a binary search, no database).
 */
int catalog_released(const struct catalog_batch *b, uint64_t serial);

/* 1 if b's expiry date (UTC) is before today_iso ("YYYY-MM-DD"). */
int catalog_expired(const struct catalog_batch *b, const char *today_iso);

struct catalog;

/*
 * Load the first snapshot over a blocking connection (at start-up, before
 * any loop runs). NULL with err on failure.
 */
struct catalog *catalog_new(PGconn *db, char *err, size_t errlen);

struct listener;
/* Keep the catalog fresh: a cache of l (listen.h) on products, batches and activations. 0 or -1. */
int catalog_listen(struct catalog *c, struct listener *l);
/* After the listener is freed. NULL is fine. */
void catalog_free(struct catalog *c);

/* Per-thread cached view: cheap to call on every request. */
struct catalog_view {
	struct catalog_snapshot *snap;
	unsigned long gen;
};
/* The current snapshot (borrowed from the view; catalog_snapshot_ref it to keep it). */
struct catalog_snapshot *catalog_view(struct catalog *c, struct catalog_view *v);
void catalog_view_release(struct catalog_view *v);

#endif
