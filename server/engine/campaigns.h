/*
 * campaigns.h: the brands' campaigns not ended (sql/021_campaigns.sql),
 * cached in memory for the landing page's link to a campaign's rules: an
 * immutable, reference-counted snapshot, reloaded through the listener
 * (NOTIFY campaigns, reconnect, once a minute). The rules themselves are
 * applied by claim_many in the claim's transaction, never from this cache.
 */
#ifndef PACKCODE_SERVER_CAMPAIGNS_H
#define PACKCODE_SERVER_CAMPAIGNS_H

#include <libpq-fe.h>
#include <stddef.h>

struct campaigns_snapshot;

/*
 * A snapshot from the rows of STATEMENT_CAMPAIGNS_LOAD (id, brand,
 * starts_unix, ends_unix, skus and batch ids space-separated, name). NULL
 * if out of memory or a row is malformed. For the cache and its tests.
 */
struct campaigns_snapshot *campaigns_snapshot_from_result(const PGresult *r);
void campaigns_snapshot_unref(struct campaigns_snapshot *s);

/*
 * The campaigns that apply to a pack of brand, product sku and print run
 * batch at now (unix seconds), whatever its region: up to max of their ids
 * into ids (and their names into names, if not NULL; valid while s is
 * referenced). Returns how many were found.
 */
size_t campaigns_snapshot_match(const struct campaigns_snapshot *s, const char *brand,
                                const char *sku, long long batch, long long now, long long *ids,
                                const char **names, size_t max);

struct campaigns;

/* Load once over a blocking connection (start-up). NULL with err. */
struct campaigns *campaigns_new(PGconn *db, char *err, size_t errlen);
struct listener;
/* Keep it fresh: a cache of l (listen.h). 0 or -1. */
int campaigns_listen(struct campaigns *c, struct listener *li);
/* After the listener is freed. NULL is fine. */
void campaigns_free(struct campaigns *c);
/* The current snapshot, referenced: campaigns_snapshot_unref it when done. */
struct campaigns_snapshot *campaigns_current(struct campaigns *c);

#endif
