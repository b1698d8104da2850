/*
 * http.h: the HTTP front: listener, router, request limits, and replies.
 *
 * Every handler gets a struct request and must finish it exactly once with
 * one of the http_reply_* functions, which send the reply, count it in the
 * metrics and free the request. Bodies over 16 KiB, wrong content types,
 * unknown routes, bad methods, too many headers and clients over their rate
 * limit are answered here, with a JSON error (an HTML page on the landing
 * routes for the last). Every reply carries the security headers.
 */
#ifndef PACKCODE_SERVER_HTTP_H
#define PACKCODE_SERVER_HTTP_H

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "edge/negotiate.h"
#include "edge/router.h"
#include "engine/tokens.h"
#include "member_id.h"
#include "secret.h"

#define HTTP_CLIENT_MAX 64
#define HTTP_UA_MAX     256
/* A staff session: the cookie that carries it, the header that carries its CSRF token. */
#define HTTP_SESSION_COOKIE "pc_session"
#define HTTP_CSRF_HEADER    "X-CSRF-Token"
/* A member session: its cookie, whose value is "pcm_" and 43 base64url characters. */
#define HTTP_MEMBER_COOKIE     "pc_member"
#define HTTP_MEMBER_PREFIX     "pcm_"
#define HTTP_MEMBER_SECRET_LEN 47

struct server;
struct worker;

struct request {
	struct worker *w;
	struct evhttp_request *req;
	const struct route *route; /* the route table's row; NULL before one matched */
	int slot;                  /* the route's metrics slot (0: "other") */
	long long start_us;
	const char *path; /* the path, raw, up to the query: path[0..path_len) */
	size_t path_len;
	const char *query;                            /* after the '?', "" if none */
	struct route_capture cap[ROUTE_CAPTURES_MAX]; /* the pattern's captures, raw */
	struct tokens_identity admin;                 /* ROUTE_AUTH_ADMIN: whose token */
	enum lang lang;                   /* from Accept-Language, for the HTML routes */
	int want_json;                    /* the HTML routes: Accept prefers JSON (an API client) */
	char client[HTTP_CLIENT_MAX];     /* peer address, "" if unknown */
	uint64_t addr_key;                /* its rate-limit key (ratelimit_addr_key) */
	char user_agent[HTTP_UA_MAX + 1]; /* printable ASCII only, cut at 256 */
	const char *origin; /* an admin route's Origin, when it is a listed one (CORS) */
	/* the member signed in (http_member): their key, "" if none */
	char member[MEMBER_ID_MAX + 1];
	const char *member_cookie; /* the session's secret, while r lives; NULL if none */
	size_t member_cookie_len;
	char member_new[SECRET_LEN_MAX]; /* a session made by this request (sign-in): its secret */
	unsigned char member_hash[SECRET_HASH_LEN];
	void *handler_arg;          /* a handler's own state while it waits (http_member's then) */
	void (*drained)(void *arg); /* a streamed reply: its chunk is written */
	void *drained_arg;
};

/*
 * The routes every worker serves (not copied: table lives as long as the
 * process), checked and given their metrics slots; call once before
 * http_worker_start. 0, or -1 with err.
 */
int http_routes(struct server *s, const struct route *table, size_t n, char *err, size_t errlen);

/* Set up w->http on w->listen_fd. 0 or -1. */
int http_worker_start(struct worker *w);
/* Stop accepting; connections with a request in flight stay until answered. */
void http_worker_stop_accepting(struct worker *w);

/* The client address if it is an IP address (for an inet parameter), else NULL. */
const char *http_client_inet(const struct request *r);

/* The route's id ("other" before one matched): for logs. */
const char *http_route_id(const struct request *r);

/* Send a JSON reply (body is consumed) and finish the request. */
void http_reply_json(struct request *r, int status, json_t *body);
/* The reply body being written, for replies assembled by hand. */
struct evbuffer *http_out(struct request *r);
/* Send what was written to http_out() as a JSON reply. */
void http_reply_json_out(struct request *r, int status);
/* {"error": error, "message": message} */
void http_reply_error(struct request *r, int status, const char *error, const char *message);
/* Send an HTML page (body is drained) and finish the request; the caller sets its CSP. */
void http_reply_html(struct request *r, int status, struct evbuffer *body);
/* Send a plain text reply and finish the request. */
void http_reply_text(struct request *r, int status, const char *content_type,
                     struct evbuffer *body);
/*
 * Send what was written to http_out() (nothing for a 304) with
 * content_type (NULL: none) and cache_control instead of no-store: for
 * static files that may be kept (the console's assets).
 */
void http_reply_static(struct request *r, int status, const char *content_type,
                       const char *cache_control);
/*
 * 429 with Retry-After: retry_after (whole seconds, at least 1): the route's
 * own answer if it has one (a page), else
 * {"error":"rate_limited","message":message,"retry_after":N}.
 */
void http_reply_too_many(struct request *r, int retry_after, const char *message);
/* 401 with WWW-Authenticate for an admin token missing or invalid (counted). */
void http_reply_unauthorized(struct request *r, enum tokens_auth why);
/* Cookie name of r: 1 with value[0..len), 0 if none, -1 if it came more than once. */
int http_request_cookie(struct request *r, const char *name, const char **value, size_t *len);
/*
 * The staff session cookie of r: 1 with value[0..len), 0 if none, -1 if it
 * came more than once (in one Cookie header or several).
 */
int http_session_cookie(struct request *r, const char **value, size_t *len);
/*
 * r's member session (its cookie, checked in the worker's cache or the
 * database): then(r) runs once r->member is set, "" when there is no valid
 * session (none, malformed, unknown, expired, revoked); possibly before
 * this returns. If the database cannot say, r is answered 503 instead.
 * Routes with auth MEMBER get this done before their handler (401 without
 * a member, 403 for a change without the CSRF token).
 */
void http_member(struct request *r, void (*then)(struct request *r));
/* The CSRF token of r's member session into out: 0, or -1 without a session. */
int http_member_csrf(const struct request *r, char out[SECRET_CSRF_LEN + 1]);
/* 1 if token (NULL: the X-CSRF-Token header) is r's member session's CSRF token. */
int http_member_csrf_ok(const struct request *r, const char *token);
/* 403 csrf for a member's change without the token. */
void http_reply_member_csrf(struct request *r);
/*
 * r's bearer token, if it has an Authorization header: TOKENS_MISSING
 * without one; TOKENS_OK with r->admin set; TOKENS_INVALID otherwise.
 */
enum tokens_auth http_bearer(struct request *r);
/*
 * A streamed reply (Transfer-Encoding: chunked), for bodies too large to
 * hold: http_stream_start sends 200 and the headers set so far with
 * content_type; chunks follow; http_stream_end finishes the request (and
 * frees r) once. Flow control: http_stream_chunk takes buf's bytes as one
 * chunk and calls drained(arg) once the connection's output is all written,
 * so the caller produces the next only then; drained is never called if
 * the client goes away meanwhile (http_stream_gone says so: poll it).
 */
void http_stream_start(struct request *r, const char *content_type);
/* 0, or -1 if the client is gone (nothing sent). */
int http_stream_chunk(struct request *r, struct evbuffer *buf, void (*drained)(void *arg),
                      void *arg);
/* 1 once the client's connection has closed. */
int http_stream_gone(const struct request *r);
/*
 * complete: the last chunk goes out (a whole reply). Otherwise the
 * connection is closed without it, so the client sees a truncated reply,
 * never a short one that looks whole. Frees r.
 */
void http_stream_end(struct request *r, int complete);

/* Add a response header before replying. */
void http_header(struct request *r, const char *name, const char *value);

/*
 * The request body if the request is content_type and the body at most
 * 16 KiB; otherwise answers 415 or 413 and returns NULL.
 */
const char *http_body(struct request *r, const char *content_type, size_t *len);

/* The text helpers (http_text.c): pure functions, no I/O. */

/*
 * Percent-decode in[0..len) (and '+' as a space if plus) into out, which
 * gets a NUL: the decoded length, or -1 for a broken escape, a NUL byte or a
 * result that does not fit.
 */
long http_decode(const char *in, size_t len, int plus, char *out, size_t outlen);

/* 1 if s[0..len) is valid UTF-8 without NUL or other C0 controls than tab. */
int http_utf8_valid(const char *s, size_t len);

/*
 * Decode application/x-www-form-urlencoded body text and find field name:
 * copies its value (percent and '+' decoded) into out. 1 found, 0 absent,
 * -1 malformed or too long.
 */
int http_form_field(const char *body, size_t len, const char *name, char *out, size_t outlen);
/* A query parameter as an integer in [1, max]: 1 found (*out set), 0 absent, -1 bad. */
int http_query_int(const char *query, const char *name, long long max, long long *out);

/*
 * The value of cookie name in a Cookie header value ("a=1; b=2"): 1 with
 * value[0..len) pointing into header, 0 if absent, -1 if it is there twice.
 */
int http_cookie(const char *header, const char *name, const char **value, size_t *len);

/* Percent-decode a path segment into out: its length, or -1 (bad escape, NUL, too long). */
long http_percent_decode(const char *in, size_t len, char *out, size_t outlen);

#endif
