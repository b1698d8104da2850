/*
 * conn.c: the connection guard. evhttp asks us for each new connection's
 * bufferevent (a socket one, or an OpenSSL one over it); a struct conn rides
 * along until evhttp closes the connection (its close callback).
 *
 * What the guard sees of evhttp: the bytes entering the connection's input
 * buffer (a request starts; its header block, checked by frame.c before
 * evhttp parses it) and leaving for its output buffer (a reply starts, so
 * the request was read whole); whether evhttp is reading (EV_READ enabled:
 * not while a handler works on the request); and, once, whether the socket
 * became readable at all (the first byte, TLS handshake or not). All public
 * libevent 2.1 API, plus these assumptions, each checked where it is used:
 *   - the argument of evhttp's bufferevent callbacks is its evhttp_connection;
 *   - an input buffer's callbacks run as bytes are added, before the
 *     bufferevent's read callback lets evhttp parse them;
 *   - evhttp compares the header bytes of the request it is reading with
 *     the connection's max_headers_size at every line: set to 0, the
 *     request is refused with libevent's 400 (Connection: close).
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
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "clock.h"
#include "edge/cidr.h"
#include "edge/frame.h"
#include "log.h"
#include "server.h"

#define PER_ADDRESS_SLOTS     65536 /* counters; two addresses share one with odds 1/65536 */
#define ADMIN_CONNECTIONS_MAX 64    /* open on the admin listener, over all threads */

struct conn {
	struct worker *w;
	struct bufferevent *bev;
	struct evhttp_connection *evcon;
	struct evbuffer_cb_entry *in_cb, *out_cb;
	struct event timer; /* attach now, then the deadlines */
	struct event hello; /* the socket's first readability */
	struct frame frame; /* the header block being read */
	long long since_ms; /* when the request being read started */
	unsigned addr_slot; /* its per-address counter + 1; 0: not counted */
	unsigned admin : 1, reading : 1, armed : 1, refused : 1, spoke : 1, hello_set : 1;
	unsigned scanning : 1, malformed : 1;
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
	struct server *s = w->srv;
	if (c->in_cb)
		evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->in_cb);
	if (c->out_cb)
		evbuffer_remove_cb_entry(bufferevent_get_output(c->bev), c->out_cb);
	event_del(&c->timer);
	if (c->hello_set)
		event_del(&c->hello);
	if (c->addr_slot)
		atomic_fetch_sub_explicit(&s->per_address[c->addr_slot - 1], 1,
		                          memory_order_relaxed);
	if (c->admin) {
		atomic_fetch_sub_explicit(&s->admin_connections, 1, memory_order_relaxed);
	} else {
		atomic_fetch_sub_explicit(&s->connections, 1, memory_order_relaxed);
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

/* The header block being read breaks strict framing: have evhttp refuse it. */
static void refuse_malformed(struct conn *c)
{
	struct worker *w = c->w;
	c->scanning = 0;
	c->malformed = 1; /* once: what follows on this connection is not read */
	metrics_add(&w->metrics.malformed, 1);
	log_debug("event=request_malformed worker=%d reason=%s", w->id,
	          frame_problem_name(c->frame.problem));
	/* evhttp refuses the request at the next line it reads (400, Connection: close) */
	evhttp_connection_set_max_headers_size(c->evcon, 0);
}

/* Check the bytes of b from offset from on, while the header block lasts. */
static void scan(struct conn *c, struct evbuffer *b, size_t from)
{
	size_t at = from, end = evbuffer_get_length(b);
	while (c->scanning && at < end) {
		struct evbuffer_ptr pos;
		struct evbuffer_iovec v[16];
		if (evbuffer_ptr_set(b, &pos, at, EVBUFFER_PTR_SET) < 0)
			return;
		int n = evbuffer_peek(b, (ev_ssize_t)(end - at), &pos, v, 16);
		if (n <= 0)
			return;
		for (int i = 0; i < n && i < 16 && c->scanning && at < end; i++) {
			size_t len = v[i].iov_len < end - at ? v[i].iov_len : end - at, used;
			switch (frame_feed(&c->frame, v[i].iov_base, len, &used)) {
			case FRAME_MORE:
				break;
			case FRAME_DONE:
				c->scanning = 0; /* the body, or a next request: not now */
				break;
			case FRAME_BAD:
				refuse_malformed(c);
				break;
			}
			at += len;
		}
	}
}

/* A new request's header block starts: check it from the first byte. */
static void scan_next(struct conn *c)
{
	if (c->malformed)
		return;
	frame_init(&c->frame);
	c->scanning = 1;
}

/* Bytes arrived: checked while a header block lasts; the first after a reply start a request. */
static void conn_input(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;
	if (!info->n_added)
		return;
	if (c->scanning)
		scan(c, b, evbuffer_get_length(b) - info->n_added);
	if (!c->reading) {
		c->reading = 1;
		c->since_ms = clock_coarse_ms();
		if (!c->armed)
			arm(c, c->w->srv->cfg.request_timeout_ms);
		evbuffer_cb_set_flags(bufferevent_get_output(c->bev), c->out_cb,
		                      EVBUFFER_CB_ENABLED);
	}
	if (!c->scanning)
		evbuffer_cb_clear_flags(b, c->in_cb, EVBUFFER_CB_ENABLED);
}

/* 1 if the bytes just added to b are an interim reply ("HTTP/1.1 100 Continue"). */
static int interim(struct evbuffer *b, size_t added)
{
	char head[13];
	struct evbuffer_ptr pos;
	size_t len = evbuffer_get_length(b);
	if (added < sizeof head || evbuffer_ptr_set(b, &pos, len - added, EVBUFFER_PTR_SET) < 0 ||
	    evbuffer_copyout_from(b, &pos, head, sizeof head) != (ev_ssize_t)sizeof head)
		return 0;
	return memcmp(head, "HTTP/1.", 7) == 0 && memcmp(head + 8, " 1", 2) == 0;
}

/* A reply is being written: the request before it was read whole. */
static void conn_output(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;
	if (!info->n_added || interim(b, info->n_added))
		return; /* "100 Continue": the body is still to come */
	c->reading = 0;
	evbuffer_cb_clear_flags(b, c->out_cb, EVBUFFER_CB_ENABLED);
	struct evbuffer *in = bufferevent_get_input(c->bev);
	evbuffer_cb_set_flags(in, c->in_cb, EVBUFFER_CB_ENABLED);
	/* the next request starts with what is left of the input (pipelined) */
	scan_next(c);
	scan(c, in, 0);
}

static void conn_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct worker *w = c->w;
	const struct server_config *cfg = &w->srv->cfg;
	(void)fd;
	(void)what;
	c->armed = 0;
	if (!c->spoke) {
		long long silent = clock_coarse_ms() - c->since_ms;
		long long limit = cfg->first_byte_ms < cfg->request_timeout_ms
		                      ? cfg->first_byte_ms
		                      : cfg->request_timeout_ms;
		if (silent < limit) {
			arm(c, limit - silent);
			return;
		}
		metrics_add(&w->metrics.request_timeouts, 1);
		log_debug("event=first_byte_timeout worker=%d", w->id);
		evhttp_connection_free(c->evcon); /* calls conn_closed: c is freed */
		return;
	}
	if (!c->reading)
		return; /* idle between requests: evhttp's idle timeout watches that */
	long long left = c->since_ms + cfg->request_timeout_ms - clock_coarse_ms();
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

/* The socket was readable once: the client said something (a TLS hello counts). */
static void conn_spoke(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	(void)fd;
	(void)what;
	c->spoke = 1;
}

static uint64_t mix(uint64_t x)
{
	/* splitmix64's finaliser */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/*
 * Count the connection against its client address (IPv4, or IPv6 by /64;
 * trusted proxies are not counted): 1 if that makes it one too many.
 */
static int over_per_address(struct conn *c, int fd)
{
	struct server *s = c->w->srv;
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	struct cidr_addr peer;
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    cidr_addr_from_sockaddr((struct sockaddr *)&ss, &peer) < 0 ||
	    cidr_match_any(s->cfg.trusted, s->cfg.ntrusted, &peer))
		return 0;
	uint64_t slot = mix(ratelimit_addr_key((struct sockaddr *)&ss) ^ s->per_address_key) %
	                PER_ADDRESS_SLOTS;
	unsigned n = atomic_fetch_add_explicit(&s->per_address[slot], 1, memory_order_relaxed);
	c->addr_slot = (unsigned)slot + 1;
	return n >= (unsigned)s->cfg.max_per_address;
}

/*
 * Runs once, in the loop iteration that accepted the connection, after evhttp
 * has made its evhttp_connection (and before it read anything): learn it,
 * and close the connection at once if it is over a cap.
 */
static void conn_attach(evutil_socket_t unused, short what, void *arg)
{
	struct conn *c = arg;
	struct worker *w = c->w;
	const struct server_config *cfg = &w->srv->cfg;
	bufferevent_data_cb readcb = NULL;
	void *cbarg = NULL;
	(void)unused;
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
	int fd = bufferevent_getfd(c->bev);
	if (!c->refused && !c->admin && fd >= 0 && over_per_address(c, fd)) {
		metrics_add(&w->metrics.connections_refused_address, 1);
		log_debug("event=connection_refused worker=%d why=per_address", w->id);
		evhttp_connection_free(c->evcon);
		return;
	}
	if (c->refused) {
		if (!c->admin)
			metrics_add(&w->metrics.connections_refused, 1);
		evhttp_connection_free(c->evcon);
		return;
	}
	event_assign(&c->timer, w->base, -1, 0, conn_deadline, c);
	c->in_cb = evbuffer_add_cb(bufferevent_get_input(c->bev), conn_input, c);
	c->out_cb = evbuffer_add_cb(bufferevent_get_output(c->bev), conn_output, c);
	if (!c->in_cb || !c->out_cb || fd < 0) {
		evhttp_connection_free(c->evcon); /* out of memory: unguarded is no option */
		return;
	}
	/* a second, one-shot watcher of the socket: the first byte, whatever it is */
	event_assign(&c->hello, w->base, fd, EV_READ, conn_spoke, c);
	c->hello_set = 1;
	event_add(&c->hello, NULL);
	/* the first request's deadline counts from the accept; its header block is checked */
	c->reading = 1;
	c->since_ms = clock_coarse_ms();
	scan_next(c);
	arm(c, cfg->first_byte_ms < cfg->request_timeout_ms ? cfg->first_byte_ms
	                                                    : cfg->request_timeout_ms);
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

int conn_start(struct server *s)
{
	s->per_address = calloc(PER_ADDRESS_SLOTS, sizeof *s->per_address);
	if (!s->per_address)
		return -1;
	/* keyed, so that nobody can pick addresses that share a counter with a victim's */
	if (getrandom(&s->per_address_key, sizeof s->per_address_key, 0) !=
	    (ssize_t)sizeof s->per_address_key)
		s->per_address_key = (unsigned long long)clock_us() * 0x9e3779b97f4a7c15ULL;
	return 0;
}

void conn_stop(struct server *s)
{
	free(s->per_address);
	s->per_address = NULL;
}
