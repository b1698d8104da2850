/*
 * outbound.h: the server's one outbound HTTP client (webhooks now; SMS and
 * OAuth are to use it too): libcurl's multi interface driven by a libevent
 * loop through curl_multi_socket_action, so that many requests run at once
 * and none blocks the loop. Names resolve on libcurl's resolver threads;
 * connecting, TLS, sending and receiving run on the loop's events; every
 * request ends by its own timeout at the latest. http and https only, no
 * redirects followed, peers' certificates verified. One client per loop,
 * used from that loop's thread only.
 */
#ifndef PACKCODE_SERVER_OUTBOUND_H
#define PACKCODE_SERVER_OUTBOUND_H

#include <event2/event.h>
#include <stddef.h>

enum outbound_result {
	OUTBOUND_OK,      /* a response came: status holds its HTTP status */
	OUTBOUND_TIMEOUT, /* no whole response within the request's timeout */
	OUTBOUND_CONNECT, /* no connection: name not resolved, refused, TLS failed */
	OUTBOUND_ERROR,   /* anything else: a broken response, out of memory */
	OUTBOUND_ABORTED, /* the client was freed first */
};

struct outbound_response {
	enum outbound_result result;
	long status;           /* OUTBOUND_OK: the HTTP status */
	long long duration_us; /* from outbound_send to the end */
	const char *error;     /* not OUTBOUND_OK: what went wrong (libcurl's words); else "" */
	const char *body;      /* the response body's first body_max bytes (not NUL-terminated) */
	size_t body_len;
};

struct outbound_request {
	const char *method;         /* NULL: POST with a body, else GET */
	const char *url;            /* http:// or https:// */
	const char *const *headers; /* "Name: value" each, NULL-terminated; may be NULL */
	const char *body;           /* copied; may be NULL */
	size_t body_len;
	int timeout_ms;  /* the whole request, from connecting to the last byte; at least 1 */
	size_t body_max; /* how much of the response body to keep (0: none) */
};

/* Called once per request, on the loop, after it ended. */
typedef void (*outbound_cb)(void *arg, const struct outbound_response *r);

struct outbound_config {
	int max_connections; /* open at once over all hosts (requests beyond wait their turn) */
	const char *user_agent;
};

struct outbound;

/* A client on base's loop. NULL (logged) if libcurl cannot start. */
struct outbound *outbound_new(struct event_base *base, const struct outbound_config *cfg);

/*
 * Start a request. 0: cb will be called exactly once, never before this
 * returns. -1 (cb not called): the URL is not http(s), or out of memory.
 */
int outbound_send(struct outbound *o, const struct outbound_request *req, outbound_cb cb,
                  void *arg);

/* Requests started and not yet called back. */
int outbound_running(const struct outbound *o);

/*
 * Abort every request still running (each cb gets OUTBOUND_ABORTED before
 * this returns; none may start another) and close every connection. NULL
 * is fine.
 */
void outbound_free(struct outbound *o);

#endif
