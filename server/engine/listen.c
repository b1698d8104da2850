/*
 * listen.c: the one LISTEN connection and the caches it keeps fresh
 * (listen.h): a pool of one connection in the control loop, whose
 * notifications are dispatched by payload to the caches that depend on
 * the changed table. The catalog and the admin tokens are its caches;
 * the webhook dispatcher watches (a cache without rows) for new deliveries.
 */
#include "engine/listen.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

#define CACHES_MAX 8

struct listener {
	const char *setup_sql;
	int reload_every_s;
	struct listen_cache *caches[CACHES_MAX];
	int ncaches;
	struct pool *pool;
	struct event *timer;
	int closing;
};

struct listener *listener_new(const char *setup_sql, int reload_every_s)
{
	struct listener *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->setup_sql = setup_sql;
	l->reload_every_s = reload_every_s;
	return l;
}

int listener_add(struct listener *l, struct listen_cache *c)
{
	if (l->ncaches == CACHES_MAX)
		return -1;
	c->owner = l;
	c->loading = c->dirty = 0;
	l->caches[l->ncaches++] = c;
	return 0;
}

static void reload_done(void *arg, const struct pool_result *r)
{
	struct listen_cache *c = arg;
	c->loading = 0;
	if (r->status != POOL_OK) {
		log_warn("event=cache_reload_failed cache=%s reason=%s", c->name,
		         LOG_Q(r->message));
	} else if (c->apply(c->arg, r->res) < 0) {
		log_error("event=cache_reload_failed cache=%s reason=%s", c->name,
		          "\"malformed row or out of memory\"");
	} else {
		log_debug("event=cache_loaded cache=%s rows=%d", c->name, PQntuples(r->res));
	}
	if (c->dirty)
		listener_reload(c);
}

void listener_reload(struct listen_cache *c)
{
	struct pool_query q = {.stmt = c->stmt, .nparams = 0};
	struct listener *l = c->owner;
	if (!l || l->closing || !l->pool)
		return;
	if (!c->stmt) {
		c->apply(c->arg, NULL); /* a watcher: nothing to load */
		return;
	}
	if (c->loading) {
		c->dirty = 1;
		return;
	}
	c->dirty = 0;
	if (pool_submit(l->pool, &q, reload_done, c) == 0)
		c->loading = 1;
}

/* 1 if payload is one of the space-separated words of list. */
static int depends_on(const char *list, const char *payload)
{
	size_t n = strlen(payload);
	for (const char *p = list; *p;) {
		size_t w = strcspn(p, " ");
		if (w == n && strncmp(p, payload, n) == 0)
			return 1;
		p += w;
		p += strspn(p, " ");
	}
	return 0;
}

static void on_notify(void *arg, const PGnotify *n)
{
	struct listener *l = arg;
	/* no payload: something changed, say not what */
	int all = !n->extra || !n->extra[0];
	for (int i = 0; i < l->ncaches; i++)
		if (all || depends_on(l->caches[i]->payloads, n->extra))
			listener_reload(l->caches[i]);
}

static void reload_all(struct listener *l)
{
	for (int i = 0; i < l->ncaches; i++)
		listener_reload(l->caches[i]);
}

static void on_ready(void *arg)
{
	reload_all(arg); /* notifications may have been missed while disconnected */
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	reload_all(arg);
}

int listener_start(struct listener *l, struct event_base *base, const char *conninfo)
{
	struct pool_config cfg = {
	    .conninfo = conninfo,
	    .name = "packcode-server-listen",
	    .size = 1,
	    .queue_max = 4 + 2 * CACHES_MAX,
	    .setup_sql = l->setup_sql,
	    .query_timeout_ms = 30000,
	    .on_notify = on_notify,
	    .on_ready = on_ready,
	    .hook_arg = l,
	};
	l->pool = pool_new(base, &cfg);
	l->timer = event_new(base, -1, EV_PERSIST, on_timer, l);
	if (!l->pool || !l->timer)
		return -1;
	struct timeval tv = {l->reload_every_s, 0};
	return event_add(l->timer, &tv);
}

int listener_submit(struct listener *l, const struct pool_query *q, pool_cb cb, void *arg)
{
	return l->pool && !l->closing ? pool_submit(l->pool, q, cb, arg) : -1;
}

void listener_free(struct listener *l)
{
	if (!l)
		return;
	l->closing = 1;
	if (l->timer)
		event_free(l->timer);
	/* fails what is in flight: each callback sees closing and asks no more */
	pool_free(l->pool);
	free(l);
}
