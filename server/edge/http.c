/*
 * http.c: one evhttp per worker on its own SO_REUSEPORT socket (and one
 * more for --admin-listen); requests matched against the route table
 * (router.c: the rows of their listener) and checked in the row's order:
 * rate limit, authentication, method; request limits; replies. The client
 * address is the peer's, or behind a trusted proxy the forwarded one.
 * Anything malformed is refused here, before a handler, with a JSON error
 * and no side effect; so is a client over its rate limit, with nothing
 * more than a table lookup (ratelimit.c). The edge calls handlers only
 * through the table's rows: it includes none of their headers.
 */
#include "edge/http.h"
#include "text.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <time.h>
#include <sys/queue.h> /* before keyvalq_struct.h: TAILQ_FIRST, TAILQ_NEXT */
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "edge/cidr.h"
#include "edge/conn.h"
#include "edge/cors.h"
#include "edge/forwarded.h"
#include "edge/tls.h"
#include "engine/msession.h"
#include "engine/ratelimit.h"
#include "engine/tokens.h"
#include "log.h"
#include "scope.h"
#include "secret.h"
#include "server.h"

#define PATH_MAX_LEN      2048
#define URI_MAX           4096 /* path and query */
#define HEADERS_MAX       8192 /* request line and headers; beyond, libevent answers 400 (HTML) */
#define HEADER_COUNT_MAX  64
#define LIBEVENT_BODY_CAP (256 * 1024) /* beyond this libevent itself answers 413 (HTML) */
#define FORWARDED_VALUES  16           /* occurrences of X-Forwarded-For (or Forwarded) read */
#define WWW_AUTH_MISSING  "Bearer realm=\"packcode-admin\""
#define WWW_AUTH_INVALID  "Bearer realm=\"packcode-admin\", error=\"invalid_token\""

const char *http_client_inet(const struct request *r)
{
	unsigned char buf[16];
	if (inet_pton(AF_INET, r->client, buf) == 1 || inet_pton(AF_INET6, r->client, buf) == 1)
		return r->client;
	return NULL;
}

const char *http_route_id(const struct request *r)
{
	return r->route ? r->route->id : "other";
}

/* ---- requests and replies -------------------------------------------------- */

/* The values of every header called name, in order: how many (at most max). */
static size_t header_values(struct evhttp_request *req, const char *name, const char **v,
                            size_t max)
{
	size_t n = 0;
	struct evkeyval *kv;
	TAILQ_FOREACH(kv, evhttp_request_get_input_headers(req), next)
	{
		if (n < max && strcasecmp(kv->key, name) == 0)
			v[n++] = kv->value;
	}
	return n;
}

/*
 * The client's address (r->client, and its rate-limit key): the peer's, or,
 * when the peer is a trusted proxy, the one its forwarded headers give.
 */
static void client_address(struct request *r, struct evhttp_connection *conn)
{
	const struct server_config *cfg = &r->w->srv->cfg;
	const struct sockaddr *sa = evhttp_connection_get_addr(conn);
	char *text = NULL;
	ev_uint16_t port;
	struct cidr_addr peer, client;
	evhttp_connection_get_peer(conn, &text, &port);
	if (cidr_addr_from_sockaddr(sa, &peer) < 0 &&
	    (!text || cidr_addr_parse(text, strlen(text), &peer) < 0)) {
		if (text)
			snprintf(r->client, sizeof r->client, "%s", text);
		r->addr_key = ratelimit_addr_key(sa);
		return;
	}
	client = peer;
	if (cfg->ntrusted) {
		const char *v[FORWARDED_VALUES];
		enum forwarded_kind kind = FORWARDED_XFF;
		size_t n = header_values(r->req, "X-Forwarded-For", v, FORWARDED_VALUES);
		if (!n) {
			kind = FORWARDED_RFC7239;
			n = header_values(r->req, "Forwarded", v, FORWARDED_VALUES);
		}
		forwarded_client(cfg->trusted, cfg->ntrusted, &peer, kind, v, n, &client);
	}
	char shown[CIDR_TEXT_MAX];
	struct sockaddr_storage ss;
	cidr_addr_format(&client, shown);
	snprintf(r->client, sizeof r->client, "%s", shown);
	cidr_addr_to_sockaddr(&client, &ss);
	r->addr_key = ratelimit_addr_key((struct sockaddr *)&ss);
}

static struct request *request_new(struct worker *w, struct evhttp_request *req)
{
	struct request *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->w = w;
	r->req = req;
	r->query = "";
	r->start_us = clock_us();
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	if (conn)
		client_address(r, conn);
	const struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *ua = evhttp_find_header(h, "User-Agent");
	if (ua)
		text_printable(ua, strlen(ua), r->user_agent, sizeof r->user_agent);
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
	if (w->srv->cfg.ncors_origins && r->route && r->route->auth == ROUTE_AUTH_ADMIN)
		evhttp_add_header(out, "Vary", "Origin");
	if (r->origin) {
		evhttp_add_header(out, "Access-Control-Allow-Origin", r->origin);
		evhttp_add_header(out, "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
	}
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
	metrics_request(&w->metrics, r->slot, status, clock_us() - r->start_us);
	w->inflight--;
	if (r->member_new[0])
		OPENSSL_cleanse(r->member_new, sizeof r->member_new);
	free(r);
}

/* ---- streamed replies ---- */

/* The headers every reply carries (finish()'s), for a streamed one. */
static void stream_headers(struct request *r)
{
	struct worker *w = r->w;
	struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
	evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(out, "Referrer-Policy", "no-referrer");
	evhttp_add_header(out, "Cache-Control", "no-store");
	if (w->srv->tls)
		evhttp_add_header(out, "Strict-Transport-Security", TLS_HSTS);
	if (w->srv->cfg.ncors_origins && r->route && r->route->auth == ROUTE_AUTH_ADMIN)
		evhttp_add_header(out, "Vary", "Origin");
	if (r->origin) {
		evhttp_add_header(out, "Access-Control-Allow-Origin", r->origin);
		evhttp_add_header(out, "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
	}
}

void http_stream_start(struct request *r, const char *content_type)
{
	stream_headers(r);
	evhttp_add_header(evhttp_request_get_output_headers(r->req), "Content-Type", content_type);
	evhttp_send_reply_start(r->req, 200, "OK");
}

static void stream_drained(struct evhttp_connection *evcon, void *arg)
{
	struct request *r = arg;
	(void)evcon;
	if (r->drained)
		r->drained(r->drained_arg);
}

int http_stream_chunk(struct request *r, struct evbuffer *buf, void (*drained)(void *arg),
                      void *arg)
{
	if (http_stream_gone(r))
		return -1;
	r->drained = drained;
	r->drained_arg = arg;
	evhttp_send_reply_chunk_with_cb(r->req, buf, stream_drained, r);
	return 0;
}

int http_stream_gone(const struct request *r)
{
	return evhttp_request_get_connection(r->req) == NULL;
}

void http_stream_end(struct request *r, int complete)
{
	struct worker *w = r->w;
	struct evhttp_connection *evcon = evhttp_request_get_connection(r->req);
	if (complete || !evcon)
		evhttp_send_reply_end(r->req); /* frees the request if the client is gone */
	else
		evhttp_connection_free(evcon); /* and the request with it */
	metrics_request(&w->metrics, r->slot, 200, clock_us() - r->start_us);
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
	evhttp_add_header(h, "Content-Language", negotiate_lang_tag(r->lang));
	evhttp_add_header(h, "Vary", "Accept, Accept-Language");
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

void http_reply_static(struct request *r, int status, const char *content_type,
                       const char *cache_control)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
	if (content_type)
		evhttp_add_header(h, "Content-Type", content_type);
	evhttp_add_header(h, "Cache-Control", cache_control);
	finish(r, status);
}

void http_reply_too_many(struct request *r, int retry_after, const char *message)
{
	char num[16], msg[160];
	if (retry_after < 1)
		retry_after = 1;
	snprintf(num, sizeof num, "%d", retry_after);
	http_header(r, "Retry-After", num);
	if (r->route && r->route->too_many) {
		r->route->too_many(r, retry_after);
		return;
	}
	snprintf(msg, sizeof msg, "%s: try again in %d s",
	         message ? message : "too many requests from this address", retry_after);
	json_t *o = json_pack("{s:s,s:s,s:i}", "error", "rate_limited", "message", msg,
	                      "retry_after", retry_after);
	http_reply_json(r, 429, o);
}

/* 1 if r's client address is over its route's limit: then r is answered 429. */
static int over_limit(struct request *r)
{
	struct worker *w = r->w;
	enum route_limit limit = r->route->limit;
	if (limit == ROUTE_LIMIT_NONE)
		return 0;
	int wait = ratelimit_take(
	    w->ratelimit, limit == ROUTE_LIMIT_CLAIMS ? RATELIMIT_CLAIMS : RATELIMIT_LOOKUPS,
	    r->addr_key, r->start_us);
	if (!wait)
		return 0;
	metrics_add(&w->metrics.rate_limited[r->slot][0], 1);
	http_reply_too_many(r, wait, NULL);
	return 1;
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

void http_reply_unauthorized(struct request *r, enum tokens_auth why)
{
	metrics_auth_failure(&r->w->metrics,
	                     why == TOKENS_MISSING ? METRICS_AUTH_MISSING : METRICS_AUTH_INVALID);
	http_header(r, "WWW-Authenticate",
	            why == TOKENS_MISSING ? WWW_AUTH_MISSING : WWW_AUTH_INVALID);
	http_reply_error(r, 401, "unauthorized",
	                 why == TOKENS_MISSING
	                     ? "an admin token (Authorization: Bearer TOKEN) or a staff session "
	                       "is required"
	                     : "the admin token or session is not valid (unknown, revoked or "
	                       "expired)");
}

/* The value of cookie name in r: 1, 0 if none, -1 if it came more than once. */
static int find_cookie(struct request *r, const char *name, const char **value, size_t *len)
{
	struct evkeyval *kv;
	int found = 0;
	TAILQ_FOREACH(kv, evhttp_request_get_input_headers(r->req), next)
	{
		if (strcasecmp(kv->key, "Cookie") != 0)
			continue;
		int n = http_cookie(kv->value, name, value, len);
		if (n < 0 || (n && found))
			return -1;
		found |= n;
	}
	return found;
}

int http_request_cookie(struct request *r, const char *name, const char **value, size_t *len)
{
	return find_cookie(r, name, value, len);
}

int http_session_cookie(struct request *r, const char **value, size_t *len)
{
	return find_cookie(r, HTTP_SESSION_COOKIE, value, len);
}

/* 1 if r changes something (needs a session's CSRF token): anything but GET and HEAD. */
static int changes(const struct request *r)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(r->req);
	return m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD;
}

/* 1 if r carries the CSRF token of the session secret s[0..len). */
static int csrf_ok(struct request *r, const char *s, size_t len)
{
	char want[SECRET_CSRF_LEN + 1];
	const char *got =
	    evhttp_find_header(evhttp_request_get_input_headers(r->req), HTTP_CSRF_HEADER);
	if (!got || strlen(got) != SECRET_CSRF_LEN || secret_csrf(s, len, want) < 0)
		return 0;
	return CRYPTO_memcmp(got, want, SECRET_CSRF_LEN) == 0;
}

/* 403 for an identity that r's row does not allow: logged and counted. */
static void refuse(struct request *r, enum metrics_auth why, const char *scope)
{
	char www[128], msg[160];
	metrics_auth_failure(&r->w->metrics, why);
	log_info("event=admin_refused reason=%s actor=%s kind=%s route=%s scope=%s client=%s",
	         why == METRICS_AUTH_SCOPE ? "insufficient_scope" : "csrf", LOG_Q(r->admin.name),
	         r->admin.kind == TOKENS_SESSION ? "staff" : "token", http_route_id(r),
	         scope ? scope : "-", LOG_Q(r->client));
	if (why == METRICS_AUTH_CSRF) {
		http_reply_error(r, 403, "csrf",
		                 "a change made with a session cookie needs its " HTTP_CSRF_HEADER
		                 " header (from sign-in or /api/v1/admin/me)");
		return;
	}
	snprintf(www, sizeof www,
	         "Bearer realm=\"packcode-admin\", error=\"insufficient_scope\", scope=\"%s\"",
	         scope);
	snprintf(msg, sizeof msg, "this needs the %s scope, which the %s does not have", scope,
	         r->admin.kind == TOKENS_SESSION ? "account" : "token");
	http_header(r, "WWW-Authenticate", www);
	json_t *o = json_pack("{s:s,s:s,s:s}", "error", "insufficient_scope", "message", msg,
	                      "scope", scope);
	http_reply_json(r, 403, o);
}

/*
 * Who r is, as its row needs: a bearer token, or else a staff session
 * cookie (with its CSRF token for a change); then the row's scope. 0, or
 * -1 with r answered 401 or 403. A request whose method the row does not
 * take is not held to the scope: it is answered 405 next.
 */
static int authenticate(struct request *r)
{
	struct server *s = r->w->srv;
	struct evkeyval *kv;
	const char *authz = NULL, *cookie = NULL;
	size_t clen = 0;
	int dup = 0;
	enum tokens_auth why;
	TAILQ_FOREACH(kv, evhttp_request_get_input_headers(r->req), next)
	{
		if (strcasecmp(kv->key, "Authorization") != 0)
			continue;
		dup |= authz != NULL;
		authz = kv->value;
	}
	if (authz || dup) {
		why = dup ? TOKENS_INVALID : tokens_authenticate(s->tokens, authz, &r->admin);
	} else {
		int has = http_session_cookie(r, &cookie, &clen);
		why = has == 0  ? TOKENS_MISSING
		      : has < 0 ? TOKENS_INVALID
		                : tokens_lookup(s->sessions, cookie, clen, &r->admin);
	}
	if (why != TOKENS_OK) {
		http_reply_unauthorized(r, why);
		return -1;
	}
	if (!(r->route->methods & (unsigned)evhttp_request_get_command(r->req)))
		return 0;
	unsigned need = s->route_scope[r->route - s->routes];
	if (need && !(r->admin.scopes & need)) {
		refuse(r, METRICS_AUTH_SCOPE, r->route->scope);
		return -1;
	}
	if (cookie && changes(r) && !csrf_ok(r, cookie, clen)) {
		refuse(r, METRICS_AUTH_CSRF, NULL);
		return -1;
	}
	return 0;
}

/* ---- member sessions ---------------------------------------------------------------- */

struct member_check {
	struct request *r;
	void (*then)(struct request *r);
};

static void member_found(void *arg, const struct pool_result *res)
{
	struct member_check *mc = arg;
	struct request *r = mc->r;
	void (*then)(struct request *) = mc->then;
	free(mc);
	if (res->status != POOL_OK) {
		if (res->status == POOL_SQL_ERROR)
			log_error("event=member_session_failed sqlstate=%s", res->sqlstate);
		http_reply_error(r, 503, "unavailable", "database unavailable, try again");
		return;
	}
	if (PQntuples(res->res) == 1) {
		snprintf(r->member, sizeof r->member, "%s", PQgetvalue(res->res, 0, 0));
		msessions_put(r->w->msessions, r->member_hash, r->member,
		              strtoll(PQgetvalue(res->res, 0, 1), NULL, 10), clock_ms());
	} else {
		r->member_cookie = NULL; /* unknown, expired or revoked: as if there were none */
	}
	then(r);
}

void http_member(struct request *r, void (*then)(struct request *r))
{
	const char *v;
	size_t len;
	char hex[3 + 2 * SECRET_HASH_LEN];
	unsigned int hl = 0;
	r->member[0] = '\0';
	r->member_cookie = NULL;
	/* a cookie that is no session secret of ours is no session (tampered, stale, foreign) */
	if (find_cookie(r, HTTP_MEMBER_COOKIE, &v, &len) != 1 || len != HTTP_MEMBER_SECRET_LEN ||
	    strncmp(v, HTTP_MEMBER_PREFIX, strlen(HTTP_MEMBER_PREFIX)) != 0 ||
	    strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") < len ||
	    !EVP_Digest(v, len, r->member_hash, &hl, EVP_sha256(), NULL)) {
		then(r);
		return;
	}
	r->member_cookie = v;
	r->member_cookie_len = len;
	if (msessions_get(r->w->msessions, r->member_hash, clock_ms(), (long long)time(NULL),
	                  r->member)) {
		then(r);
		return;
	}
	struct member_check *mc = malloc(sizeof *mc);
	if (!mc) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	mc->r = r;
	mc->then = then;
	snprintf(hex, sizeof hex, "\\x");
	for (int i = 0; i < SECRET_HASH_LEN; i++)
		snprintf(hex + 2 + 2 * i, 3, "%02x", r->member_hash[i]);
	struct pool_query q = {.stmt = "member_session_get", .nparams = 1, .values = {hex}};
	if (pool_submit(r->w->pool, &q, member_found, mc) < 0) {
		free(mc);
		http_reply_error(r, 503, "unavailable", "database unavailable, try again");
	}
}

int http_member_csrf(const struct request *r, char out[SECRET_CSRF_LEN + 1])
{
	if (!r->member[0] || !r->member_cookie)
		return -1;
	return secret_csrf(r->member_cookie, r->member_cookie_len, out);
}

int http_member_csrf_ok(const struct request *r, const char *token)
{
	char want[SECRET_CSRF_LEN + 1];
	if (!token)
		token =
		    evhttp_find_header(evhttp_request_get_input_headers(r->req), HTTP_CSRF_HEADER);
	if (!token || strlen(token) != SECRET_CSRF_LEN || http_member_csrf(r, want) < 0)
		return 0;
	return CRYPTO_memcmp(token, want, SECRET_CSRF_LEN) == 0;
}

void http_reply_member_csrf(struct request *r)
{
	http_reply_error(
	    r, 403, "csrf",
	    "a change made with a member session needs its CSRF token (the " HTTP_CSRF_HEADER
	    " header, or the form's csrf field)");
}

/* A row that needs a member: signed in, and for a change its CSRF token; else 401/403. */
static void member_then(struct request *r)
{
	if (!r->member[0]) {
		http_reply_error(r, 401, "unauthorized", "sign in first");
		return;
	}
	if (changes(r) && !http_member_csrf_ok(r, NULL)) {
		http_reply_member_csrf(r);
		return;
	}
	r->route->handler(r);
}

enum tokens_auth http_bearer(struct request *r)
{
	struct evkeyval *kv;
	const char *authz = NULL;
	int dup = 0;
	TAILQ_FOREACH(kv, evhttp_request_get_input_headers(r->req), next)
	{
		if (strcasecmp(kv->key, "Authorization") != 0)
			continue;
		dup |= authz != NULL;
		authz = kv->value;
	}
	if (!authz)
		return TOKENS_MISSING;
	return dup ? TOKENS_INVALID : tokens_authenticate(r->w->srv->tokens, authz, &r->admin);
}

/*
 * CORS on an admin route (edge/cors.c): a listed Origin is kept for
 * finish() to answer; a preflight from it (OPTIONS with
 * Access-Control-Request-Method) is answered here, 204, before the token
 * is asked for, as a browser sends none with it. methods: what the path
 * takes. 1 if r was answered.
 */
static int cors_request(struct request *r, unsigned methods)
{
	const struct server_config *cfg = &r->w->srv->cfg;
	const struct evkeyvalq *h = evhttp_request_get_input_headers(r->req);
	char allow[64];
	if (!cfg->ncors_origins)
		return 0;
	const char *origin = evhttp_find_header(h, "Origin");
	if (!cors_allowed(cfg->cors_origins, cfg->ncors_origins, origin))
		return 0;
	r->origin = origin;
	if (evhttp_request_get_command(r->req) != EVHTTP_REQ_OPTIONS ||
	    !evhttp_find_header(h, "Access-Control-Request-Method"))
		return 0;
	router_allow(methods, allow, sizeof allow);
	http_header(r, "Access-Control-Allow-Methods", allow);
	http_header(r, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
	http_header(r, "Access-Control-Max-Age", CORS_MAX_AGE);
	finish(r, 204);
	return 1;
}

/*
 * Every request: the limits libevent does not keep, then the route table
 * (the rows of the listener it came in on). A matched row's checks run in
 * its order: the client's rate limit, then who it is, then the method, then
 * the handler.
 */
static void dispatch(struct evhttp_request *req, struct worker *w, enum router_listener on)
{
	struct server *s = w->srv;
	const char *uri = evhttp_request_get_uri(req);
	size_t plen = strcspn(uri, "?#");
	const char *twice;
	struct route_match m;
	struct request *r = request_new(w, req);
	if (!r) {
		evhttp_send_error(req, 503, "Out of memory");
		return;
	}
	r->path = uri;
	r->path_len = plen;
	r->query = uri[plen] == '?' ? uri + plen + 1 : "";

	size_t nheaders = scan_headers(req, &twice);
	if (twice) {
		char msg[80];
		snprintf(msg, sizeof msg, "the %s header is repeated", twice);
		http_header(r, "Connection", "close"); /* what follows cannot be trusted */
		http_reply_error(r, 400, "bad_request", msg);
		return;
	}
	if (nheaders > HEADER_COUNT_MAX) {
		http_reply_error(r, 431, "too_many_headers", "at most 64 request headers");
		return;
	}
	if (strlen(uri) > URI_MAX) {
		http_reply_error(r, 414, "uri_too_long", "request target too long");
		return;
	}
	if (plen > PATH_MAX_LEN) {
		http_reply_error(r, 414, "uri_too_long", "request path too long");
		return;
	}
	enum router_result found = router_match(s->routes, s->nroutes, uri, plen,
	                                        (unsigned)evhttp_request_get_command(req), on, &m);
	if (found == ROUTER_NOT_FOUND) {
		http_reply_error(r, 404, "not_found", "no such resource");
		return;
	}
	r->route = m.row;
	r->slot = s->route_slot[m.row - s->routes];
	memcpy(r->cap, m.cap, sizeof r->cap);
	if (m.row->flags & ROUTE_PAGE) {
		const struct evkeyvalq *in = evhttp_request_get_input_headers(req);
		r->lang = negotiate_lang(evhttp_find_header(in, "Accept-Language"));
		r->want_json = negotiate_json(evhttp_find_header(in, "Accept"));
	}
	if (m.row->auth == ROUTE_AUTH_ADMIN &&
	    cors_request(r, found == ROUTER_BAD_METHOD ? m.allow : m.row->methods))
		return;
	if (over_limit(r))
		return;
	if (m.row->auth == ROUTE_AUTH_ADMIN && authenticate(r) < 0)
		return;
	if (found == ROUTER_BAD_METHOD) {
		char allow[64];
		router_allow(m.allow, allow, sizeof allow);
		http_header(r, "Allow", allow);
		http_reply_error(r, 405, "method_not_allowed",
		                 "method not allowed on this resource");
		return;
	}
	if (m.row->auth == ROUTE_AUTH_MEMBER) {
		http_member(r, member_then); /* then the handler */
		return;
	}
	m.row->handler(r);
}

static void dispatch_public(struct evhttp_request *req, void *arg)
{
	struct worker *w = arg;
	dispatch(req, w, w->admin_http ? ROUTER_PUBLIC : ROUTER_ONLY);
}

static void dispatch_admin(struct evhttp_request *req, void *arg)
{
	dispatch(req, arg, ROUTER_ADMIN);
}

int http_routes(struct server *s, const struct route *table, size_t n, char *err, size_t errlen)
{
	struct metrics_labels *l = &s->labels;
	if (n > SERVER_ROUTES_MAX) {
		snprintf(err, errlen, "more than %d routes", SERVER_ROUTES_MAX);
		return -1;
	}
	if (router_check(table, n, err, errlen) < 0)
		return -1;
	s->routes = table;
	s->nroutes = n;
	l->nroutes = 1;
	l->route[0] = "other"; /* requests that matched no row */
	for (size_t i = 0; i < n; i++) {
		int slot = 0;
		while (slot < l->nroutes && strcmp(l->route[slot], table[i].id) != 0)
			slot++;
		if (slot == l->nroutes) {
			if (slot == METRICS_ROUTES) {
				snprintf(err, errlen, "more than %d route ids", METRICS_ROUTES);
				return -1;
			}
			l->route[l->nroutes++] = table[i].id;
		}
		s->route_slot[i] = (unsigned char)slot;
		s->route_scope[i] = 0;
		if (table[i].scope && strcmp(table[i].scope, ROUTE_SCOPE_ANY) != 0) {
			s->route_scope[i] = scope_bit(table[i].scope, strlen(table[i].scope));
			if (!s->route_scope[i]) {
				snprintf(err, errlen, "route %s: unknown scope \"%s\"", table[i].id,
				         table[i].scope);
				return -1;
			}
		}
		if (table[i].limit != ROUTE_LIMIT_NONE)
			l->route_limited[slot] |= 1;
		if (table[i].flags & ROUTE_CLAIMS)
			l->route_limited[slot] |= 2;
	}
	return 0;
}

/* An evhttp with the request limits, dispatching to cb. */
static struct evhttp *new_evhttp(struct worker *w, void (*cb)(struct evhttp_request *, void *))
{
	struct evhttp *http = evhttp_new(w->base);
	if (!http)
		return NULL;
	evhttp_set_max_headers_size(http, HEADERS_MAX);
	evhttp_set_max_body_size(http, LIBEVENT_BODY_CAP);
	evhttp_set_timeout(http, w->srv->cfg.idle_timeout_s);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	                                     EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	                                     EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH |
	                                     EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT);
	evhttp_set_gencb(http, cb, w);
	return http;
}

int http_worker_start(struct worker *w)
{
	if (!(w->http = new_evhttp(w, dispatch_public)))
		return -1;
	if (w->admin_fd >= 0 && !(w->admin_http = new_evhttp(w, dispatch_admin)))
		return -1;
	conn_setup(w);
	w->bound = evhttp_accept_socket_with_handle(w->http, w->listen_fd);
	if (!w->bound)
		return -1;
	w->listen_fd = -1; /* evhttp owns it now */
	if (w->admin_http) {
		w->admin_bound = evhttp_accept_socket_with_handle(w->admin_http, w->admin_fd);
		if (!w->admin_bound)
			return -1;
		w->admin_fd = -1;
	}
	return 0;
}

void http_worker_stop_accepting(struct worker *w)
{
	if (w->http && w->bound) {
		evhttp_del_accept_socket(w->http, w->bound);
		w->bound = NULL;
	}
	if (w->admin_http && w->admin_bound) {
		evhttp_del_accept_socket(w->admin_http, w->admin_bound);
		w->admin_bound = NULL;
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
