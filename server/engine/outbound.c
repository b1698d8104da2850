/*
 * outbound.c: libcurl's multi interface on a libevent loop (outbound.h),
 * the pattern of libcurl's hiperfifo example: libcurl says which sockets to
 * watch (socket callback) and when to wake it (timer callback); the loop
 * hands their events to curl_multi_socket_action, and finished transfers
 * are collected after each call, never from inside a libcurl callback, so
 * a completion callback may start the next request.
 */
#include "engine/outbound.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "log.h"

/* One request in flight. */
struct transfer {
	struct outbound *o;
	CURL *easy;
	struct curl_slist *headers;
	char *body; /* the request body, ours until the end */
	char *resp; /* the response body's first resp_max bytes */
	size_t resp_len, resp_max;
	outbound_cb cb;
	void *arg;
	long long start_us;
	char error[CURL_ERROR_SIZE];
	struct transfer *prev, *next;
};

/* A socket libcurl asked us to watch. */
struct sock {
	struct outbound *o;
	curl_socket_t fd;
	struct event *ev;
	struct sock *prev, *next;
};

struct outbound {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	char *user_agent;
	struct transfer *transfers; /* in flight */
	struct sock *socks;
	int running; /* transfers in flight */
	int closing;
};

static void check_done(struct outbound *o);

/* ---- libcurl's callbacks ------------------------------------------------------------ */

static void on_socket(evutil_socket_t fd, short what, void *arg)
{
	struct sock *s = arg;
	struct outbound *o = s->o;
	int flags =
	    (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
	int still;
	curl_multi_socket_action(o->multi, fd, flags, &still);
	check_done(o); /* s may be gone now */
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct outbound *o = arg;
	int still;
	(void)fd;
	(void)what;
	curl_multi_socket_action(o->multi, CURL_SOCKET_TIMEOUT, 0, &still);
	check_done(o);
}

static void sock_free(struct sock *s)
{
	struct outbound *o = s->o;
	if (s->prev)
		s->prev->next = s->next;
	else
		o->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	if (s->ev)
		event_free(s->ev);
	free(s);
}

/* CURLMOPT_SOCKETFUNCTION: watch fd for what (or stop watching it). */
static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct outbound *o = userp;
	struct sock *s = socketp;
	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			curl_multi_assign(o->multi, fd, NULL);
			sock_free(s);
		}
		return 0;
	}
	if (!s) {
		s = calloc(1, sizeof *s);
		if (!s)
			return -1;
		s->o = o;
		s->fd = fd;
		s->next = o->socks;
		if (o->socks)
			o->socks->prev = s;
		o->socks = s;
		curl_multi_assign(o->multi, fd, s);
	}
	short kind = (short)((what & CURL_POLL_IN ? EV_READ : 0) |
	                     (what & CURL_POLL_OUT ? EV_WRITE : 0) | EV_PERSIST);
	if (s->ev) {
		event_del(s->ev);
		event_assign(s->ev, o->base, fd, kind, on_socket, s);
	} else {
		s->ev = event_new(o->base, fd, kind, on_socket, s);
	}
	return s->ev && event_add(s->ev, NULL) == 0 ? 0 : -1;
}

/* CURLMOPT_TIMERFUNCTION: wake libcurl in ms milliseconds (-1: never). */
static int timer_cb(CURLM *multi, long ms, void *userp)
{
	struct outbound *o = userp;
	(void)multi;
	if (ms < 0) {
		evtimer_del(o->timer);
		return 0;
	}
	/* 0 too goes through the loop: libcurl must not be called from its own callback */
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	return evtimer_add(o->timer, &tv);
}

/* CURLOPT_WRITEFUNCTION: keep the body's first resp_max bytes, take the rest. */
static size_t write_cb(char *data, size_t size, size_t n, void *userp)
{
	struct transfer *t = userp;
	size_t len = size * n, room = t->resp_max - t->resp_len;
	size_t take = len < room ? len : room;
	if (take) {
		memcpy(t->resp + t->resp_len, data, take);
		t->resp_len += take;
	}
	return len;
}

/* ---- transfers ------------------------------------------------------------------------- */

static void transfer_unlink(struct transfer *t)
{
	struct outbound *o = t->o;
	if (t->prev)
		t->prev->next = t->next;
	else
		o->transfers = t->next;
	if (t->next)
		t->next->prev = t->prev;
	o->running--;
}

static void transfer_free(struct transfer *t)
{
	if (t->easy)
		curl_easy_cleanup(t->easy);
	curl_slist_free_all(t->headers);
	free(t->body);
	free(t->resp);
	free(t);
}

static enum outbound_result classify(CURLcode rc)
{
	switch (rc) {
	case CURLE_OK:
		return OUTBOUND_OK;
	case CURLE_OPERATION_TIMEDOUT:
		return OUTBOUND_TIMEOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
		return OUTBOUND_CONNECT;
	default:
		return OUTBOUND_ERROR;
	}
}

/* Unlink t, tell its owner how it ended, free it. */
static void finish(struct transfer *t, enum outbound_result result, const char *error)
{
	struct outbound_response r = {
	    .result = result,
	    .duration_us = clock_us() - t->start_us,
	    .error = result == OUTBOUND_OK ? "" : error,
	    .body = t->resp ? t->resp : "",
	    .body_len = t->resp_len,
	};
	if (result == OUTBOUND_OK)
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &r.status);
	transfer_unlink(t);
	curl_multi_remove_handle(t->o->multi, t->easy);
	t->cb(t->arg, &r);
	transfer_free(t);
}

/* Collect the transfers libcurl has finished. */
static void check_done(struct outbound *o)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(o->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct transfer *t = NULL;
		CURLcode rc = m->data.result;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
		if (!t)
			continue;
		finish(t, classify(rc), t->error[0] ? t->error : curl_easy_strerror(rc));
	}
}

/* 1 if url starts with http:// or https:// (in any case). */
static int http_url(const char *url)
{
	return url && (strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0);
}

int outbound_send(struct outbound *o, const struct outbound_request *req, outbound_cb cb, void *arg)
{
	if (!o || o->closing || !http_url(req->url))
		return -1;
	struct transfer *t = calloc(1, sizeof *t);
	if (!t)
		return -1;
	t->o = o;
	t->cb = cb;
	t->arg = arg;
	t->resp_max = req->body_max;
	t->easy = curl_easy_init();
	if (!t->easy || (req->body_max && !(t->resp = malloc(req->body_max))))
		goto fail;
	/* libcurl would wait up to a second for "100 Continue" before a large body */
	t->headers = curl_slist_append(NULL, "Expect:");
	for (const char *const *h = req->headers; h && *h && t->headers; h++) {
		struct curl_slist *more = curl_slist_append(t->headers, *h);
		if (!more)
			goto fail;
		t->headers = more;
	}
	if (!t->headers)
		goto fail;
	CURL *e = t->easy;
	CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                              \
	if (rc == CURLE_OK)                                                                        \
	rc = curl_easy_setopt(e, opt, val)
	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_TIMEOUT_MS, (long)(req->timeout_ms > 0 ? req->timeout_ms : 1));
	SET(CURLOPT_HTTPHEADER, t->headers);
	SET(CURLOPT_USERAGENT, o->user_agent);
	SET(CURLOPT_WRITEFUNCTION, write_cb);
	SET(CURLOPT_WRITEDATA, t);
	SET(CURLOPT_ERRORBUFFER, t->error);
	SET(CURLOPT_PRIVATE, t);
	if (req->body) {
		t->body = malloc(req->body_len ? req->body_len : 1);
		if (!t->body)
			goto fail;
		memcpy(t->body, req->body, req->body_len);
		SET(CURLOPT_POSTFIELDS, t->body);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	}
	if (req->method && strcmp(req->method, req->body ? "POST" : "GET") != 0)
		SET(CURLOPT_CUSTOMREQUEST, req->method);
#undef SET
	if (rc != CURLE_OK) {
		log_error("event=outbound_setup_failed reason=%s", LOG_Q(curl_easy_strerror(rc)));
		goto fail;
	}
	t->start_us = clock_us();
	t->next = o->transfers;
	if (o->transfers)
		o->transfers->prev = t;
	o->transfers = t;
	o->running++;
	if (curl_multi_add_handle(o->multi, e) != CURLM_OK) {
		transfer_unlink(t);
		goto fail;
	}
	return 0;
fail:
	transfer_free(t);
	return -1;
}

int outbound_running(const struct outbound *o)
{
	return o ? o->running : 0;
}

struct outbound *outbound_new(struct event_base *base, const struct outbound_config *cfg)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("event=outbound_failed reason=\"curl_global_init failed\"");
		return NULL;
	}
	struct outbound *o = calloc(1, sizeof *o);
	if (!o) {
		curl_global_cleanup();
		return NULL;
	}
	o->base = base;
	o->multi = curl_multi_init();
	o->timer = evtimer_new(base, on_timer, o);
	o->user_agent = strdup(cfg->user_agent ? cfg->user_agent : "packcode");
	if (!o->multi || !o->timer || !o->user_agent) {
		outbound_free(o);
		return NULL;
	}
	curl_multi_setopt(o->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(o->multi, CURLMOPT_SOCKETDATA, o);
	curl_multi_setopt(o->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(o->multi, CURLMOPT_TIMERDATA, o);
	if (cfg->max_connections > 0)
		curl_multi_setopt(o->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
		                  (long)cfg->max_connections);
	return o;
}

void outbound_free(struct outbound *o)
{
	if (!o)
		return;
	o->closing = 1;
	while (o->transfers)
		finish(o->transfers, OUTBOUND_ABORTED, "aborted: shutting down");
	if (o->multi)
		curl_multi_cleanup(o->multi);
	while (o->socks) /* what libcurl did not say it was done with */
		sock_free(o->socks);
	if (o->timer)
		event_free(o->timer);
	free(o->user_agent);
	free(o);
	curl_global_cleanup();
}
