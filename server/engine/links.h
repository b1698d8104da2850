/*
 * links.h: the links brands set per product for the GS1 Digital Link
 * resolver (sql/014_resolver.sql's product_links), cached in memory by
 * GTIN: an immutable, reference-counted snapshot, reloaded through the
 * listener (NOTIFY product_links or products, reconnect, once a minute).
 * Workers take a reference under a mutex: a resolution takes it once.
 */
#ifndef PACKCODE_SERVER_LINKS_H
#define PACKCODE_SERVER_LINKS_H

#include <libpq-fe.h>
#include <stddef.h>

#include "url.h"

struct links_link {
	enum dl_link_type type;
	const char *gtin, *href, *title, *hreflang, *media_type; /* hreflang may be "" */
	const char *product;                                     /* the product's name */
};

struct links_snapshot;

/*
 * A snapshot from the rows of STATEMENT_LINKS_LOAD (gtin, link_type, href,
 * title, hreflang, media_type, name; ordered by gtin). NULL if out of memory
 * or a row is malformed. For the cache and its tests.
 */
struct links_snapshot *links_snapshot_from_result(const PGresult *r);
void links_snapshot_unref(struct links_snapshot *s);
/* The links of gtin (GTIN-14): *out points at n of them (by term), or NULL. */
size_t links_snapshot_find(const struct links_snapshot *s, const char *gtin,
                           const struct links_link **out);

struct links;

/* Load once over a blocking connection (start-up). NULL with err. */
struct links *links_new(PGconn *db, char *err, size_t errlen);
struct listener;
/* Keep it fresh: a cache of l (listen.h). 0 or -1. */
int links_listen(struct links *l, struct listener *li);
/* After the listener is freed. NULL is fine. */
void links_free(struct links *l);
/* The current snapshot, referenced: links_snapshot_unref it when done. */
struct links_snapshot *links_current(struct links *l);

#endif
