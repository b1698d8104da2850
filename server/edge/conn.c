/*
 * conn.c: the connection guard. evhttp asks us for each new connection's
 * bufferevent (a socket one, or an OpenSSL one over it); a struct conn rides
 * along until evhttp closes the connection (its close callback).
 *
 * What the guard sees of evhttp: the bytes entering the connection's input
 * buffer (a request starts) and leaving for its output buffer (a reply
 * starts, so the request was read whole); and whether evhttp is reading
 * (EV_READ enabled: not while a handler works on the request). Only one of
 * the two buffer callbacks is enabled at a time, so each request costs one
 * call of each. All public libevent 2.1 API, plus one assumption, checked
 * where it is used: the argument of evhttp's bufferevent callbacks is its
 * evhttp_connection.
 */
#include "edge/conn.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/http.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "server.h"

#define ADMIN_CONNECTIONS_MAX 64 /* open on the admin listener, over all threads */

struct conn {
	struct worker *w;
	struct bufferevent *bev;
	struct evhttp_connection *evcon;
	struct evbuffer_cb_entry *in_cb, *out_cb;
	struct event timer; /* attach now, then the request deadline */
	long long since_ms; /* when the request being read started */
	unsigned admin : 1, reading : 1, armed : 1, refused : 1;
};

static void arm(struct conn *c, long long ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
	if (event_add(&c->timer, &tv) == 0)
		c->armed = 1;
}

/* The connection is gone: forget it. */
static void conn_free(struct conn *c)
{
	struct worker *w = c->w;
	if (c->in_cb)
		evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->in_cb);
	if (c->out_cb)
		evbuffer_remove_cb_entry(bufferevent_get_output(c->bev), c->out_cb);
	event_del(&c->timer);
	if (c->admin) {
		atomic_fetch_sub_explicit(&w->srv->admin_connections, 1, memory_order_relaxed);
	} else {
		atomic_fetch_sub_explicit(&w->srv->connections, 1, memory_order_relaxed);
		atomic_store_explicit(
		    &w->metrics.connections,
		    atomic_load_explicit(&w->metrics.connections, memory_order_relaxed) - 1,
		    memory_order_relaxed);
	}
	free(c);
}

static void conn_closed(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	conn_free(arg);
}

/* Bytes arrived: the first after a reply start a request, and its deadline. */
static void conn_input(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;
	if (!info->n_added || c->reading)
		return;
	c->reading = 1;
	c->since_ms = clock_coarse_ms();
	if (!c->armed)
		arm(c, c->w->srv->cfg.request_timeout_ms);
	evbuffer_cb_clear_flags(b, c->in_cb, EVBUFFER_CB_ENABLED);
	evbuffer_cb_set_flags(bufferevent_get_output(c->bev), c->out_cb, EVBUFFER_CB_ENABLED);
}

/* A reply is being written: the request before it was read whole. */
static void conn_output(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;
	if (!info->n_added)
		return;
	c->reading = 0;
	evbuffer_cb_clear_flags(b, c->out_cb, EVBUFFER_CB_ENABLED);
	evbuffer_cb_set_flags(bufferevent_get_input(c->bev), c->in_cb, EVBUFFER_CB_ENABLED);
}

static void conn_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct worker *w = c->w;
	(void)fd;
	(void)what;
	c->armed = 0;
	if (!c->reading)
		return; /* idle between requests: evhttp's idle timeout watches that */
	long long left = c->since_ms + w->srv->cfg.request_timeout_ms - clock_coarse_ms();
	if (left > 0) {
		arm(c, left); /* a later request than the one this timer was set for */
		return;
	}
	if (!(bufferevent_get_enabled(c->bev) & EV_READ))
		return; /* read whole and in a handler's hands: the reply resets us */
	metrics_add(&w->metrics.request_timeouts, 1);
	log_debug("event=request_timeout worker=%d", w->id);
	evhttp_connection_free(c->evcon); /* calls conn_closed: c is freed */
}

/*
 * Runs once, in the loop iteration that accepted the connection, after evhttp
 * has made its evhttp_connection: learn it, and close the connection at once
 * if it is over the cap.
 */
static void conn_attach(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct worker *w = c->w;
	bufferevent_data_cb readcb = NULL;
	void *cbarg = NULL;
	(void)fd;
	(void)what;
	bufferevent_getcb(c->bev, &readcb, NULL, NULL, &cbarg);
	if (!readcb || !cbarg) {
		/* evhttp gave up on the connection already (out of memory) */
		bufferevent_decref(c->bev);
		conn_free(c);
		return;
	}
	c->evcon = cbarg;
	evhttp_connection_set_closecb(c->evcon, conn_closed, c);
	bufferevent_decref(c->bev); /* evhttp's reference keeps it now */
	if (c->refused) {
		if (!c->admin)
			metrics_add(&w->metrics.connections_refused, 1);
		evhttp_connection_free(c->evcon);
		return;
	}
	event_assign(&c->timer, w->base, -1, 0, conn_deadline, c);
	c->in_cb = evbuffer_add_cb(bufferevent_get_input(c->bev), conn_input, c);
	c->out_cb = evbuffer_add_cb(bufferevent_get_output(c->bev), conn_output, c);
	if (!c->in_cb || !c->out_cb) {
		evhttp_connection_free(c->evcon); /* out of memory: unguarded is no option */
		return;
	}
	/* the first request's deadline counts from the accept */
	evbuffer_cb_clear_flags(bufferevent_get_input(c->bev), c->in_cb, EVBUFFER_CB_ENABLED);
	c->reading = 1;
	c->since_ms = clock_coarse_ms();
	arm(c, w->srv->cfg.request_timeout_ms);
}

/* evhttp's bevcb: a new connection's bufferevent, without its socket yet. */
static struct bufferevent *conn_new(struct event_base *base, struct worker *w, int admin)
{
	struct server *s = w->srv;
	struct conn *c = calloc(1, sizeof *c);
	SSL *ssl = NULL;
	if (!c)
		goto fail;
	c->w = w;
	c->admin = admin;
	SSL_CTX *tls = atomic_load(&s->tls);
	if (tls) {
		ssl = SSL_new(tls);
		c->bev = ssl ? bufferevent_openssl_socket_new(
		                   base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE)
		             : NULL;
		if (c->bev)
			bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
		else if (ssl)
			SSL_free(ssl);
	} else {
		c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	}
	if (!c->bev)
		goto fail;
	if (admin) {
		int n = atomic_fetch_add_explicit(&s->admin_connections, 1, memory_order_relaxed);
		c->refused = n >= ADMIN_CONNECTIONS_MAX;
	} else {
		int n = atomic_fetch_add_explicit(&s->connections, 1, memory_order_relaxed);
		atomic_store_explicit(
		    &w->metrics.connections,
		    atomic_load_explicit(&w->metrics.connections, memory_order_relaxed) + 1,
		    memory_order_relaxed);
		c->refused = n >= s->cfg.max_connections;
	}
	bufferevent_incref(c->bev); /* ours until conn_attach has run */
	event_assign(&c->timer, base, -1, 0, conn_attach, c);
	event_active(&c->timer, EV_TIMEOUT, 1);
	return c->bev;
fail:
	/*
	 * Out of memory: evhttp then makes a plain socket bufferevent itself.
	 * On an HTTPS port that connection speaks plain HTTP, which a TLS
	 * client fails on at once; nothing is exposed that was not public.
	 */
	free(c);
	log_error("event=connection_setup_failed worker=%d", w->id);
	return NULL;
}

static struct bufferevent *conn_new_public(struct event_base *base, void *arg)
{
	return conn_new(base, arg, 0);
}

static struct bufferevent *conn_new_admin(struct event_base *base, void *arg)
{
	return conn_new(base, arg, 1);
}

void conn_setup(struct worker *w)
{
	evhttp_set_bevcb(w->http, conn_new_public, w);
	if (w->admin_http)
		evhttp_set_bevcb(w->admin_http, conn_new_admin, w);
}
