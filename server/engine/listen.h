/*
 * listen.h: caches of database rows kept fresh in every server, over one
 * connection that LISTENs on packcode_catalog. Each cache names the NOTIFY
 * payloads (the changed table) it depends on and a prepared load statement;
 * it is reloaded when one of them arrives, when the connection comes back
 * (a notification may have been missed) and every reload_every_s seconds.
 * A reload asked for while one runs is done once more after it: never
 * lost, never two at a time. Runs in the control thread's loop.
 */
#ifndef PACKCODE_SERVER_LISTEN_H
#define PACKCODE_SERVER_LISTEN_H

#include <event2/event.h>
#include <libpq-fe.h>

#include "engine/pool.h"

#define LISTEN_CHANNEL "packcode_catalog"

struct listen_cache {
	const char *name;     /* for the logs: "catalog", "tokens" */
	const char *stmt;     /* the prepared statement that loads its rows; NULL: a watcher */
	const char *payloads; /* space-separated table names it depends on */
	/*
	 * Install the loaded rows: 0, or -1 (malformed, out of memory; the old
	 * rows stay). A watcher (stmt NULL) loads nothing: apply is called at
	 * once with rows NULL, to be told that its tables changed.
	 */
	int (*apply)(void *arg, const PGresult *rows);
	void *arg;
	/* the listener's */
	int loading, dirty;
	struct listener *owner;
};

struct listener;

/*
 * A listener for caches; setup_sql prepares every cache's statement (and
 * whatever else its users submit). NULL if out of memory.
 */
struct listener *listener_new(const char *setup_sql, int reload_every_s);
/* Register a cache before listener_start. 0 or -1 (too many). */
int listener_add(struct listener *l, struct listen_cache *c);
/* Connect from base's loop and keep every cache fresh. 0 or -1. */
int listener_start(struct listener *l, struct event_base *base, const char *conninfo);
/* Reload c now (as if its table had changed). */
void listener_reload(struct listen_cache *c);
/* Run a statement on the listening connection (small writes of the caches' users). */
int listener_submit(struct listener *l, const struct pool_query *q, pool_cb cb, void *arg);
/* Stop: nothing is called back after it returns. NULL is fine. */
void listener_free(struct listener *l);

#endif
