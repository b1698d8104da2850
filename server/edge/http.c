/*
 * http.c: one evhttp per worker on its own SO_REUSEPORT socket; the router;
 * request limits; replies. Paths match case-insensitively (QR codes carry
 * upper-case URLs). Anything malformed is refused here, before a handler,
 * with a JSON error and no side effect; so is a client over its rate limit,
 * with nothing more than a table lookup (ratelimit.c).
 */
#include "edge/http.h"

#include <arpa/inet.h>
#include <sys/queue.h> /* before keyvalq_struct.h: TAILQ_FIRST, TAILQ_NEXT */
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "handlers/admin.h"
#include "handlers/claim.h"
#include "edge/conn.h"
#include "handlers/landing.h"
#include "log.h"
#include "handlers/lookup.h"
#include "handlers/member.h"
#include "engine/ratelimit.h"
#include "server.h"
#include "edge/tls.h"
#include "url.h"

#define PATH_MAX_LEN      2048
#define URI_MAX           4096 /* path and query */
#define SEGMENT_MAX       200  /* a decoded path segment longer than this is refused */
#define HEADERS_MAX       8192 /* request line and headers; beyond, libevent answers 400 (HTML) */
#define HEADER_COUNT_MAX  64
#define LIBEVENT_BODY_CAP (256 * 1024) /* beyond this libevent itself answers 413 (HTML) */
#define GET_OR_HEAD       (EVHTTP_REQ_GET | EVHTTP_REQ_HEAD)

static const char *const route_names[ROUTE_COUNT] = {
    "landing",      "landing_claim",  "claim",         "lookup",
    "member",       "healthz",        "readyz",        "metrics",
    "other",        "admin_products", "admin_batches", "admin_batch_status",
    "admin_adjust", "admin_spend",    "admin_audit",   "admin_suspicious",
    "admin_stats",  "admin_other",
};

const char *route_name(enum route r)
{
	return r < ROUTE_COUNT ? route_names[r] : "other";
}

static long long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- requests and replies -------------------------------------------------- */

/* The language of the page: the best of Accept-Language among en and zh. */
static enum lang pick_lang(const char *accept)
{
	double best_q = -1;
	enum lang best = LANG_EN;
	if (!accept)
		return LANG_EN;
	const char *p = accept;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *tag = p;
		size_t taglen = strcspn(p, ";,");
		p += taglen;
		double q = 1.0;
		if (*p == ';') {
			const char *qs = strstr(p, "q=");
			const char *next = strchr(p, ',');
			if (qs && (!next || qs < next))
				q = strtod(qs + 2, NULL);
			p = next ? next : p + strlen(p);
		}
		while (taglen && tag[taglen - 1] == ' ')
			taglen--;
		enum lang l;
		if (taglen >= 2 && strncasecmp(tag, "zh", 2) == 0 && (taglen == 2 || tag[2] == '-'))
			l = LANG_ZH;
		else if (taglen >= 2 && strncasecmp(tag, "en", 2) == 0 &&
		         (taglen == 2 || tag[2] == '-'))
			l = LANG_EN;
		else
			continue;
		if (q > best_q) {
			best_q = q;
			best = l;
		}
	}
	return best;
}

static struct request *request_new(struct worker *w, struct evhttp_request *req, enum route route)
{
	struct request *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->w = w;
	r->req = req;
	r->route = route;
	r->start_us = now_us();
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	if (conn) {
		char *addr = NULL;
		ev_uint16_t port;
		evhttp_connection_get_peer(conn, &addr, &port);
		if (addr)
			snprintf(r->client, sizeof r->client, "%s", addr);
		r->addr_key = ratelimit_addr_key(evhttp_connection_get_addr(conn));
	}
	const struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *ua = evhttp_find_header(h, "User-Agent");
	if (ua)
		http_printable(ua, strlen(ua), r->user_agent, sizeof r->user_agent);
	if (route == ROUTE_LANDING || route == ROUTE_LANDING_CLAIM)
		r->lang = pick_lang(evhttp_find_header(h, "Accept-Language"));
	w->inflight++;
	w->last_request_ms = r->start_us / 1000;
	return r;
}

static void finish(struct request *r, int status)
{
	struct worker *w = r->w;
	struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
	/* on every reply, whatever its type */
	evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(out, "Referrer-Policy", "no-referrer");
	if (w->srv->tls)
		evhttp_add_header(out, "Strict-Transport-Security", TLS_HSTS);
	/*
	 * Draining: the client is to close and go elsewhere, but only once no
	 * worker listens any more, lest it reconnect to a listener about to close
	 * (whose queued connections, requests sent, would be reset).
	 */
	if (w->draining && atomic_load(&w->srv->listeners_closed) == w->srv->nworkers)
		evhttp_add_header(out, "Connection", "close");
	/* libevent 2.1 knows no phrase for 429 or 422 */
	evhttp_send_reply(r->req, status,
	                  status == 429   ? "Too Many Requests"
	                  : status == 422 ? "Unprocessable Entity"
	                                  : NULL,
	                  NULL);
	metrics_request(&w->metrics, r->route, status, now_us() - r->start_us);
	w->inflight--;
	free(r);
}

void http_header(struct request *r, const char *name, const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(r->req), name, value);
}

static int dump_cb(const char *buf, size_t size, void *data)
{
	return evbuffer_add(data, buf, size);
}

struct evbuffer *http_out(struct request *r)
{
	return evhttp_request_get_output_buffer(r->req);
}

void http_reply_json_out(struct request *r, int status)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Cache-Control", "no-store");
	finish(r, status);
}

void http_reply_json(struct request *r, int status, json_t *body)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(r->req);
	char small[2048];
	size_t n = body ? json_dumpb(body, small, sizeof small - 1, JSON_COMPACT) : 0;
	if (n > 0 && n < sizeof small - 1) {
		small[n++] = '\n';
		evbuffer_add(out, small, n); /* the usual case: one copy */
	} else if (!body || json_dump_callback(body, dump_cb, out, JSON_COMPACT) < 0 ||
	           evbuffer_add(out, "\n", 1) < 0) {
		evbuffer_drain(out, evbuffer_get_length(out));
		evbuffer_add_printf(out,
		                    "{\"error\":\"internal\",\"message\":\"out of memory\"}\n");
		status = 500;
	}
	json_decref(body);
	http_reply_json_out(r, status);
}

void http_reply_error(struct request *r, int status, const char *error, const char *message)
{
	json_t *o = json_object();
	json_object_set_new(o, "error", json_string(error));
	json_object_set_new(o, "message", json_string(message));
	if (status == 503)
		http_header(r, "Retry-After", "1");
	http_reply_json(r, status, o);
}

void http_reply_html(struct request *r, int status, struct evbuffer *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
	evhttp_add_header(h, "Content-Type", "text/html; charset=utf-8");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Content-Security-Policy", landing_csp());
	evhttp_add_header(h, "Content-Language", r->lang == LANG_ZH ? "zh-CN" : "en");
	evhttp_add_header(h, "Vary", "Accept-Language");
	evbuffer_add_buffer(evhttp_request_get_output_buffer(r->req), body);
	finish(r, status);
}

void http_reply_text(struct request *r, int status, const char *content_type, struct evbuffer *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
	evhttp_add_header(h, "Content-Type", content_type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evbuffer_add_buffer(evhttp_request_get_output_buffer(r->req), body);
	finish(r, status);
}

void http_reply_too_many(struct request *r, int retry_after, const char *message)
{
	char num[16], msg[160];
	if (retry_after < 1)
		retry_after = 1;
	snprintf(num, sizeof num, "%d", retry_after);
	http_header(r, "Retry-After", num);
	if (r->route == ROUTE_LANDING || r->route == ROUTE_LANDING_CLAIM) {
		landing_too_many(r, retry_after);
		return;
	}
	snprintf(msg, sizeof msg, "%s: try again in %d s",
	         message ? message : "too many requests from this address", retry_after);
	json_t *o = json_pack("{s:s,s:s,s:i}", "error", "rate_limited", "message", msg,
	                      "retry_after", retry_after);
	http_reply_json(r, 429, o);
}

/* 1 if r's client address is over its limit of kind: then r is answered 429. */
static int over_limit(struct request *r, enum rl_kind kind)
{
	struct worker *w = r->w;
	int wait = ratelimit_take(w->ratelimit, kind, r->addr_key, r->start_us);
	if (!wait)
		return 0;
	metrics_add(&w->metrics.rate_limited[r->route][0], 1);
	http_reply_too_many(r, wait, NULL);
	return 1;
}

/*
 * The request line and header limits libevent does not keep, for a request
 * of nheaders headers: 0, or r answered.
 */
static int over_size(struct worker *w, struct evhttp_request *req, size_t nheaders)
{
	struct request *r;
	if (nheaders <= HEADER_COUNT_MAX && strlen(evhttp_request_get_uri(req)) <= URI_MAX)
		return 0;
	if (!(r = request_new(w, req, ROUTE_OTHER))) {
		evhttp_send_error(req, 503, "Out of memory");
		return 1;
	}
	if (nheaders > HEADER_COUNT_MAX)
		http_reply_error(r, 431, "too_many_headers", "at most 64 request headers");
	else
		http_reply_error(r, 414, "uri_too_long", "request target too long");
	return 1;
}

/* ---- small endpoints ------------------------------------------------------- */

static void healthz(struct request *r)
{
	json_t *o = json_pack("{s:s}", "status", "ok");
	http_reply_json(r, 200, o);
}

static void readyz_done(void *arg, const struct pool_result *res)
{
	struct request *r = arg;
	if (res->status == POOL_OK)
		http_reply_json(r, 200, json_pack("{s:s}", "status", "ready"));
	else
		http_reply_error(r, 503, "unavailable", "database unreachable");
}

static void readyz(struct request *r)
{
	static const struct pool_query ping = {.stmt = "ping", .nparams = 0};
	if (r->w->draining) {
		http_reply_error(r, 503, "draining", "shutting down");
		return;
	}
	if (pool_submit(r->w->pool, &ping, readyz_done, r) < 0)
		http_reply_error(r, 503, "unavailable", "database unreachable");
}

static void metrics_page(struct request *r)
{
	struct evbuffer *b = evbuffer_new();
	if (!b) {
		http_reply_error(r, 500, "internal", "out of memory");
		return;
	}
	metrics_render(r->w->srv, cat_snapshot_size(worker_catalog(r->w)), b);
	http_reply_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", b);
	evbuffer_free(b);
}

/* ---- routing --------------------------------------------------------------- */

/* If path starts with prefix (case-insensitively), the rest; else NULL. */
static const char *after(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncasecmp(path, prefix, n) == 0 ? path + n : NULL;
}

static int method_is(struct evhttp_request *req, enum evhttp_cmd_type allowed)
{
	return (evhttp_request_get_command(req) & allowed) != 0;
}

static void reply_bad_method(struct request *r, const char *allow)
{
	http_header(r, "Allow", allow);
	http_reply_error(r, 405, "method_not_allowed", "method not allowed on this resource");
}

/* application/json, application/json; charset=utf-8, ... */
static int content_type_is(struct evhttp_request *req, const char *want)
{
	const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
	if (!ct)
		return 0;
	while (*ct == ' ')
		ct++;
	size_t n = strlen(want);
	return strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/*
 * One pass over the request's headers: their number, and in *twice a header
 * that must come once and came twice, or NULL. Two Content-Lengths
 * (libevent reads the body by the first) or Transfer-Encodings frame the
 * body ambiguously: a proxy in front may have framed it by the other
 * (request smuggling). Two Content-Types or Hosts are no better.
 */
static size_t scan_headers(struct evhttp_request *req, const char **twice)
{
	static const char *const once[] = {"Content-Length", "Transfer-Encoding", "Content-Type",
	                                   "Host"};
	enum { NONCE = sizeof once / sizeof once[0] };
	int seen[NONCE] = {0};
	size_t n = 0;
	const struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	for (const struct evkeyval *kv = TAILQ_FIRST(h); kv; kv = TAILQ_NEXT(kv, next)) {
		n++;
		for (size_t i = 0; i < NONCE; i++)
			if (strcasecmp(kv->key, once[i]) == 0)
				seen[i]++;
	}
	*twice = NULL;
	for (size_t i = 0; i < NONCE && !*twice; i++)
		if (seen[i] > 1)
			*twice = once[i];
	return n;
}

/*
 * A request to a rate-limited route that takes only some methods: r, or
 * NULL when it has been answered already (out of memory, over its limit,
 * a method it does not take).
 */
static struct request *start(struct worker *w, struct evhttp_request *req, enum route route,
                             enum rl_kind kind, int methods, const char *allow)
{
	struct request *r = request_new(w, req, route);
	if (!r) {
		evhttp_send_error(req, 503, "Out of memory");
		return NULL;
	}
	if (over_limit(r, kind))
		return NULL;
	if (!method_is(req, methods)) {
		reply_bad_method(r, allow);
		return NULL;
	}
	return r;
}

static void route(struct evhttp_request *req, void *arg)
{
	struct worker *w = arg;
	const char *uri = evhttp_request_get_uri(req);
	size_t plen = strcspn(uri, "?#");
	const char *query = uri[plen] == '?' ? uri + plen + 1 : "";
	char path[PATH_MAX_LEN + 1], seg[SEGMENT_MAX + 1];
	const char *rest, *twice;
	struct request *r;

	size_t nheaders = scan_headers(req, &twice);
	if (twice) {
		char msg[80];
		if (!(r = request_new(w, req, ROUTE_OTHER)))
			goto oom;
		snprintf(msg, sizeof msg, "the %s header is repeated", twice);
		http_header(r, "Connection", "close"); /* what follows cannot be trusted */
		http_reply_error(r, 400, "bad_request", msg);
		return;
	}
	if (over_size(w, req, nheaders))
		return;
	if (plen > PATH_MAX_LEN) {
		if (!(r = request_new(w, req, ROUTE_OTHER)))
			goto oom;
		http_reply_error(r, 414, "uri_too_long", "request path too long");
		return;
	}
	memcpy(path, uri, plen);
	path[plen] = '\0';

	if ((rest = after(path, "/c/"))) {
		size_t slen = strcspn(rest, "/");
		const char *tail = rest + slen;
		int claim = strcasecmp(tail, "/claim") == 0;
		if (!(r = request_new(w, req, claim ? ROUTE_LANDING_CLAIM : ROUTE_LANDING)))
			goto oom;
		if (over_limit(r, claim ? RL_CLAIMS : RL_LOOKUPS))
			return;
		if (*tail && !claim) {
			http_reply_error(r, 404, "not_found", "no such resource");
			return;
		}
		if (!method_is(req, claim ? EVHTTP_REQ_POST : GET_OR_HEAD)) {
			reply_bad_method(r, claim ? "POST" : "GET, HEAD");
			return;
		}
		long n = http_decode(rest, slen, 0, seg, sizeof seg);
		if (n < 0) {
			/* far too long or undecodable: the page says "check the characters" */
			n = 0;
			seg[0] = '\0';
		}
		size_t len = (size_t)n; /* over CODE_INPUT_MAX is malformed: a typo */
		if (claim)
			landing_claim(r, seg, len);
		else
			landing_handle(r, seg, len, NULL);
		return;
	}
	if (after(path, "/01/")) {
		struct dl_path dl;
		if (!(r = start(w, req, ROUTE_LANDING, RL_LOOKUPS, GET_OR_HEAD, "GET, HEAD")))
			return;
		if (dl_parse_path(path, plen, &dl) < 0) {
			http_reply_error(r, 404, "not_found",
			                 "not a GS1 Digital Link path of ours");
			return;
		}
		landing_handle(r, dl.code, strlen(dl.code), dl.gtin);
		return;
	}
	if (strcasecmp(path, "/api/v1/claims") == 0) {
		if ((r = start(w, req, ROUTE_CLAIM, RL_CLAIMS, EVHTTP_REQ_POST, "POST")))
			claim_handle_api(r);
		return;
	}
	if ((rest = after(path, "/api/v1/codes/"))) {
		if (!(r = start(w, req, ROUTE_LOOKUP, RL_LOOKUPS, GET_OR_HEAD, "GET, HEAD")))
			return;
		if (strchr(rest, '/')) {
			http_reply_error(r, 404, "not_found", "no such resource");
			return;
		}
		long n = http_decode(rest, strlen(rest), 0, seg, sizeof seg);
		if (n < 0 || n > CODE_INPUT_MAX) {
			json_t *o = json_pack(
			    "{s:s,s:s,s:s}", "verdict", "typo", "error", "bad_request", "message",
			    "a code has at most 20 characters (64 with separators)");
			http_reply_json(r, 400, o);
			return;
		}
		lookup_handle(r, seg, (size_t)n);
		return;
	}
	if ((rest = after(path, "/api/v1/members/"))) {
		if (!(r = start(w, req, ROUTE_MEMBER, RL_LOOKUPS, GET_OR_HEAD, "GET, HEAD")))
			return;
		long n =
		    strchr(rest, '/') ? -1 : http_decode(rest, strlen(rest), 0, seg, sizeof seg);
		if (n < 0) {
			http_reply_error(r, 400, "bad_request", "malformed member id");
			return;
		}
		member_handle(r, seg, (size_t)n, query);
		return;
	}
	if ((rest = after(path, "/api/v1/admin/"))) {
		if (!(r = request_new(w, req, admin_route(rest))))
			goto oom;
		admin_handle(r, rest, query);
		return;
	}
	static const struct {
		const char *path;
		enum route route;
		void (*fn)(struct request *);
	} fixed[] = {
	    {"/healthz", ROUTE_HEALTHZ, healthz},
	    {"/readyz", ROUTE_READYZ, readyz},
	    {"/metrics", ROUTE_METRICS, metrics_page},
	};
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
		if (strcasecmp(path, fixed[i].path) != 0)
			continue;
		if (!(r = request_new(w, req, fixed[i].route)))
			goto oom;
		if (!method_is(req, GET_OR_HEAD))
			reply_bad_method(r, "GET, HEAD");
		else
			fixed[i].fn(r);
		return;
	}
	if (!(r = request_new(w, req, ROUTE_OTHER)))
		goto oom;
	http_reply_error(r, 404, "not_found", "no such resource");
	return;
oom:
	evhttp_send_error(req, 503, "Out of memory");
}

int http_worker_start(struct worker *w)
{
	w->http = evhttp_new(w->base);
	if (!w->http)
		return -1;
	evhttp_set_max_headers_size(w->http, HEADERS_MAX);
	evhttp_set_max_body_size(w->http, LIBEVENT_BODY_CAP);
	evhttp_set_timeout(w->http, w->srv->cfg.idle_timeout_s);
	conn_setup(w);
	evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	                                        EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	                                        EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH |
	                                        EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT);
	evhttp_set_gencb(w->http, route, w);
	w->bound = evhttp_accept_socket_with_handle(w->http, w->listen_fd);
	if (!w->bound)
		return -1;
	w->listen_fd = -1; /* evhttp owns it now */
	return 0;
}

void http_worker_stop_accepting(struct worker *w)
{
	if (w->http && w->bound) {
		evhttp_del_accept_socket(w->http, w->bound);
		w->bound = NULL;
	}
}

const char *http_body(struct request *r, const char *content_type, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
	size_t n = evbuffer_get_length(in);
	if (!content_type_is(r->req, content_type)) {
		char msg[128];
		snprintf(msg, sizeof msg, "the body must be %s", content_type);
		http_reply_error(r, 415, "unsupported_media_type", msg);
		return NULL;
	}
	if (n > SERVER_BODY_MAX) {
		http_reply_error(r, 413, "body_too_large", "the body is limited to 16 KiB");
		return NULL;
	}
	*len = n;
	const char *p = n ? (const char *)evbuffer_pullup(in, -1) : "";
	return p ? p : "";
}
