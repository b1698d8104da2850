/*
 * conn.h: every HTTP connection a worker accepts, from accept to close: the
 * connection caps (over all, per client address), the deadlines for the
 * first byte and for reading a request, the strict framing check, and TLS.
 *
 * libevent's evhttp timeout restarts at every byte read, so a client sending
 * one byte every few seconds (slowloris) would never time out on it alone.
 * Here a request must arrive whole within --request-timeout of its first
 * byte (a connection's first request: of the accept, TLS handshake
 * included), and a new connection must say something within
 * --first-byte-timeout; past that the connection is closed without a reply.
 *
 * Connections of the admin listener are guarded the same way but counted
 * apart (a cap of their own), so that a flood of the public listener cannot
 * take their places.
 */
#ifndef PACKCODE_SERVER_CONN_H
#define PACKCODE_SERVER_CONN_H

struct server;
struct worker;

/* The per-address counters, shared by the workers: 0, or -1 (out of memory). */
int conn_start(struct server *s);
void conn_stop(struct server *s);

/* Make w->http (and w->admin_http) create their connections here (evhttp_set_bevcb). */
void conn_setup(struct worker *w);

#endif
