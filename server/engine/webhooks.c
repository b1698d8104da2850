/*
 * webhooks.c: the dispatcher (webhooks.h). A little state machine on the
 * control loop: at most one claim query and one record query in flight on
 * its own connection, up to `concurrency` deliveries between the two (being
 * sent, or waiting to be recorded), so memory and the database's load stay
 * bounded whatever the backlog. Results are recorded many per statement.
 */
#include "engine/webhooks.h"

#include <event2/buffer.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "engine/outbound.h"
#include "engine/pool.h"
#include "log.h"
#include "statements.h"

#define LEASE_EXTRA_S 60  /* a lease lasts an attempt's timeout and this */
#define ERROR_MAX     200 /* bytes of an attempt's error kept */
#define BODY_SNIPPET  96  /* bytes of a refusing receiver's reply kept in the error */
#define USER_AGENT    "packcode-webhooks/" PACKAGE_VERSION

static const char *const outcome_labels[WEBHOOKS_OUTCOME_COUNT] = {
    "delivered", "http_error", "timeout", "connect_error", "error"};

const char *webhooks_outcome_label(enum webhooks_outcome o)
{
	return o < WEBHOOKS_OUTCOME_COUNT ? outcome_labels[o] : "error";
}

/* ---- pure ------------------------------------------------------------------------------ */

int webhooks_sign(const char *secret, long long t, const char *body, size_t len, char *out,
                  size_t outlen)
{
	char ts[24];
	unsigned char mac[32];
	size_t maclen = 0;
	int ok = 0;
	int n = snprintf(ts, sizeof ts, "%lld.", t);
	EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
	    OSSL_PARAM_construct_end()};
	if (ctx && EVP_MAC_init(ctx, (const unsigned char *)secret, strlen(secret), params) &&
	    EVP_MAC_update(ctx, (const unsigned char *)ts, (size_t)n) &&
	    EVP_MAC_update(ctx, (const unsigned char *)body, len) &&
	    EVP_MAC_final(ctx, mac, &maclen, sizeof mac) && maclen == sizeof mac)
		ok = 1;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(hmac);
	if (!ok || outlen < WEBHOOKS_SIGNATURE_LEN)
		return -1;
	size_t at = (size_t)snprintf(out, outlen, "t=%lld,v1=", t);
	for (size_t i = 0; i < maclen && at + 2 < outlen; i++, at += 2)
		snprintf(out + at, outlen - at, "%02x", mac[i]);
	return 0;
}

long long webhooks_backoff_ms(int tries, int base_ms, int cap_ms, unsigned rnd)
{
	long long d = base_ms > 0 ? base_ms : 1;
	for (int i = 1; i < tries && d < cap_ms; i++)
		d *= 2;
	if (d > cap_ms)
		d = cap_ms;
	long long half = d / 2;
	return d - half + (half > 0 ? (long long)(rnd % (unsigned long long)(half + 1)) : 0);
}

/* ---- the dispatcher --------------------------------------------------------------------- */

/* One delivery's attempt, from its claim to its record. */
struct delivery {
	struct webhooks *wh;
	long long webhook_id, event_id;
	int attempt, tries;
	enum webhooks_outcome outcome;
	long http_status; /* 0: none came */
	int duration_ms;
	long long retry_ms;
	char error[ERROR_MAX + 1];
	struct delivery *next;
};

struct webhooks {
	struct event_base *base;
	struct webhooks_config cfg;
	char *conninfo;
	struct metrics_webhooks *m;
	struct pool *pool;
	struct outbound *out;
	struct event *timer;
	struct listen_cache watch;
	int claiming, claim_again; /* a claim in flight; another wanted after it */
	int recording;             /* a record in flight (the deliveries of `recorded`) */
	int sending;               /* requests in flight */
	struct delivery *done;     /* sent, waiting to be recorded */
	struct delivery *recorded;
	int ndone, nrecorded;
	struct evbuffer *params[8]; /* the record's array parameters */
	unsigned rnd;
	int stopping, closing;
};

static void wake(struct webhooks *wh);
static void flush(struct webhooks *wh);

int webhooks_busy(const struct webhooks *wh)
{
	return wh ? wh->sending + wh->ndone + wh->nrecorded : 0;
}

static unsigned next_rnd(struct webhooks *wh)
{
	/* xorshift32: jitter, not secrets */
	unsigned x = wh->rnd;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return wh->rnd = x;
}

/* ---- recording ---- */

/* A text element of a PostgreSQL array literal: quoted, \ and " escaped. */
static void array_text(struct evbuffer *b, const char *s)
{
	evbuffer_add(b, "\"", 1);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			evbuffer_add(b, "\\", 1);
		evbuffer_add(b, s, 1);
	}
	evbuffer_add(b, "\"", 1);
}

static void record_done(void *arg, const struct pool_result *res)
{
	struct webhooks *wh = arg;
	struct delivery *batch = wh->recorded;
	wh->recording = 0;
	wh->recorded = NULL;
	if (res->status != POOL_OK) {
		if (!wh->closing)
			log_warn("event=webhook_record_failed deliveries=%d reason=%s",
			         wh->nrecorded, LOG_Q(res->message));
		/* kept for the next try; their leases cover a while */
		while (batch) {
			struct delivery *d = batch;
			batch = d->next;
			d->next = wh->done;
			wh->done = d;
			wh->ndone++;
		}
		wh->nrecorded = 0;
		return;
	}
	for (int i = 0; i < PQntuples(res->res); i++) {
		metrics_add(&wh->m->failed, 1);
		log_warn("event=webhook_failed webhook=%s delivery_event=%s",
		         PQgetvalue(res->res, i, 0), PQgetvalue(res->res, i, 1));
	}
	while (batch) {
		struct delivery *d = batch;
		batch = d->next;
		free(d);
	}
	wh->nrecorded = 0;
	/* slots are free, and the next event of a subject may be due now */
	wake(wh);
	flush(wh);
}

/* Record the attempts waiting, all in one statement, if none is in flight. */
static void flush(struct webhooks *wh)
{
	char max[16];
	if (wh->recording || !wh->done || wh->closing)
		return;
	for (int i = 0; i < 8; i++) {
		evbuffer_drain(wh->params[i], evbuffer_get_length(wh->params[i]));
		evbuffer_add(wh->params[i], "{", 1);
	}
	for (struct delivery *d = wh->done; d; d = d->next) {
		const char *sep = d == wh->done ? "" : ",";
		evbuffer_add_printf(wh->params[0], "%s%lld", sep, d->webhook_id);
		evbuffer_add_printf(wh->params[1], "%s%lld", sep, d->event_id);
		evbuffer_add_printf(wh->params[2], "%s%d", sep, d->attempt);
		evbuffer_add_printf(wh->params[3], "%s%s", sep, webhooks_outcome_label(d->outcome));
		if (d->http_status > 0)
			evbuffer_add_printf(wh->params[4], "%s%ld", sep, d->http_status);
		else
			evbuffer_add_printf(wh->params[4], "%sNULL", sep);
		evbuffer_add_printf(wh->params[5], "%s%d", sep, d->duration_ms);
		evbuffer_add_printf(wh->params[6], "%s", sep);
		if (d->outcome == WEBHOOKS_DELIVERED)
			evbuffer_add_printf(wh->params[6], "NULL");
		else
			array_text(wh->params[6], d->error);
		evbuffer_add_printf(wh->params[7], "%s%lld", sep, d->retry_ms);
	}
	struct pool_query q = {.stmt = "webhook_record", .nparams = 9};
	for (int i = 0; i < 8; i++) {
		evbuffer_add(wh->params[i], "}", 2); /* and the NUL */
		q.values[i] = (const char *)evbuffer_pullup(wh->params[i], -1);
		if (!q.values[i])
			return; /* out of memory: the next tick tries again */
	}
	snprintf(max, sizeof max, "%d", wh->cfg.max_tries);
	q.values[8] = max;
	if (pool_submit(wh->pool, &q, record_done, wh) < 0)
		return; /* the database is away: the next tick tries again */
	wh->recording = 1;
	wh->recorded = wh->done;
	wh->nrecorded = wh->ndone;
	wh->done = NULL;
	wh->ndone = 0;
}

/* ---- sending ---- */

static void sent(void *arg, const struct outbound_response *r)
{
	struct delivery *d = arg;
	struct webhooks *wh = d->wh;
	wh->sending--;
	atomic_store_explicit(&wh->m->in_flight, wh->sending, memory_order_relaxed);
	if (r->result == OUTBOUND_ABORTED) {
		free(d); /* shutting down: its lease expires, and it is sent again */
		return;
	}
	d->duration_ms = (int)(r->duration_us / 1000);
	switch (r->result) {
	case OUTBOUND_OK:
		d->http_status = r->status;
		if (r->status >= 200 && r->status <= 299) {
			d->outcome = WEBHOOKS_DELIVERED;
		} else {
			char snippet[BODY_SNIPPET + 1];
			size_t n = 0;
			for (size_t i = 0; i < r->body_len && n < BODY_SNIPPET; i++)
				if (r->body[i] >= 0x20 && r->body[i] < 0x7f)
					snippet[n++] = r->body[i];
			snippet[n] = '\0';
			d->outcome = WEBHOOKS_HTTP_ERROR;
			snprintf(d->error, sizeof d->error, "HTTP %ld%s%s", r->status,
			         n ? ": " : "", snippet);
		}
		break;
	case OUTBOUND_TIMEOUT:
		d->outcome = WEBHOOKS_TIMEOUT;
		snprintf(d->error, sizeof d->error, "no reply within %d ms", wh->cfg.timeout_ms);
		break;
	case OUTBOUND_CONNECT:
		d->outcome = WEBHOOKS_CONNECT_ERROR;
		snprintf(d->error, sizeof d->error, "%s", r->error);
		break;
	default:
		d->outcome = WEBHOOKS_ERROR;
		snprintf(d->error, sizeof d->error, "%s", r->error);
		break;
	}
	/* the error goes into a text[] and a log line: printable ASCII, whatever libcurl said */
	for (char *p = d->error; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
	metrics_add(&wh->m->attempts[d->outcome], 1);
	if (d->outcome != WEBHOOKS_DELIVERED) {
		d->retry_ms = webhooks_backoff_ms(d->tries, wh->cfg.retry_ms, wh->cfg.retry_max_ms,
		                                  next_rnd(wh));
		log_info("event=webhook_attempt webhook=%lld delivery_event=%lld attempt=%d "
		         "outcome=%s ms=%d retry_ms=%lld error=%s",
		         d->webhook_id, d->event_id, d->attempt, webhooks_outcome_label(d->outcome),
		         d->duration_ms, d->retry_ms, LOG_Q(d->error));
	} else {
		log_debug("event=webhook_attempt webhook=%lld delivery_event=%lld attempt=%d "
		          "outcome=delivered ms=%d",
		          d->webhook_id, d->event_id, d->attempt, d->duration_ms);
	}
	d->next = wh->done;
	wh->done = d;
	wh->ndone++;
	flush(wh);
}

/* Sign and send row i of a claim: webhook_id, event_id, attempt, tries, url, secret, type, body. */
static void send_one(struct webhooks *wh, const PGresult *pg, int i)
{
	char sig[WEBHOOKS_SIGNATURE_LEN], h_sig[sizeof WEBHOOKS_SIGNATURE_HEADER + 2 + sizeof sig];
	char h_event[96], h_id[64], h_attempt[48], h_hook[48];
	struct delivery *d = calloc(1, sizeof *d);
	if (!d)
		return; /* its lease expires, and it is claimed again */
	d->wh = wh;
	d->webhook_id = strtoll(PQgetvalue(pg, i, 0), NULL, 10);
	d->event_id = strtoll(PQgetvalue(pg, i, 1), NULL, 10);
	d->attempt = atoi(PQgetvalue(pg, i, 2));
	d->tries = atoi(PQgetvalue(pg, i, 3));
	const char *url = PQgetvalue(pg, i, 4), *secret = PQgetvalue(pg, i, 5);
	const char *body = PQgetvalue(pg, i, 7);
	size_t len = (size_t)PQgetlength(pg, i, 7);
	if (webhooks_sign(secret, (long long)time(NULL), body, len, sig, sizeof sig) < 0) {
		d->outcome = WEBHOOKS_ERROR;
		snprintf(d->error, sizeof d->error, "cannot sign");
		goto not_sent;
	}
	snprintf(h_sig, sizeof h_sig, WEBHOOKS_SIGNATURE_HEADER ": %s", sig);
	snprintf(h_event, sizeof h_event, "Packcode-Event: %s", PQgetvalue(pg, i, 6));
	snprintf(h_id, sizeof h_id, "Packcode-Event-Id: %lld", d->event_id);
	snprintf(h_attempt, sizeof h_attempt, "Packcode-Attempt: %d", d->attempt);
	snprintf(h_hook, sizeof h_hook, "Packcode-Webhook-Id: %lld", d->webhook_id);
	const char *headers[] = {
	    "Content-Type: application/json", h_sig, h_event, h_id, h_attempt, h_hook, NULL};
	struct outbound_request req = {.method = "POST",
	                               .url = url,
	                               .headers = headers,
	                               .body = body,
	                               .body_len = len,
	                               .timeout_ms = wh->cfg.timeout_ms,
	                               .body_max = BODY_SNIPPET};
	if (outbound_send(wh->out, &req, sent, d) < 0) {
		d->outcome = WEBHOOKS_ERROR;
		snprintf(d->error, sizeof d->error, "cannot start the request");
		goto not_sent;
	}
	wh->sending++;
	atomic_store_explicit(&wh->m->in_flight, wh->sending, memory_order_relaxed);
	return;
not_sent:
	metrics_add(&wh->m->attempts[d->outcome], 1);
	d->retry_ms =
	    webhooks_backoff_ms(d->tries, wh->cfg.retry_ms, wh->cfg.retry_max_ms, next_rnd(wh));
	d->next = wh->done;
	wh->done = d;
	wh->ndone++;
}

/* ---- claiming ---- */

static void claimed(void *arg, const struct pool_result *res)
{
	struct webhooks *wh = arg;
	wh->claiming = 0;
	if (res->status != POOL_OK) {
		if (!wh->closing)
			log_warn("event=webhook_claim_failed reason=%s", LOG_Q(res->message));
		return; /* the timer tries again */
	}
	int n = PQntuples(res->res);
	for (int i = 0; i < n; i++)
		send_one(wh, res->res, i);
	if (n > 0)
		log_debug("event=webhook_claimed deliveries=%d", n);
	flush(wh); /* those that could not be sent */
	if (wh->claim_again) {
		wh->claim_again = 0;
		wake(wh);
	}
}

/* Claim as many due deliveries as there are free slots. */
static void wake(struct webhooks *wh)
{
	char limit[16], lease[16];
	if (wh->stopping || wh->closing || !wh->pool || wh->cfg.concurrency <= 0)
		return;
	if (wh->claiming) {
		wh->claim_again = 1;
		return;
	}
	int free_slots = wh->cfg.concurrency - webhooks_busy(wh);
	if (free_slots <= 0) {
		wh->claim_again = 1; /* a record will wake us */
		return;
	}
	wh->claim_again = 0;
	snprintf(limit, sizeof limit, "%d", free_slots);
	snprintf(lease, sizeof lease, "%d", wh->cfg.timeout_ms / 1000 + LEASE_EXTRA_S);
	struct pool_query q = {.stmt = "webhook_claim", .nparams = 2, .values = {limit, lease}};
	if (pool_submit(wh->pool, &q, claimed, wh) == 0)
		wh->claiming = 1;
}

static int on_watch(void *arg, const PGresult *rows)
{
	(void)rows;
	wake(arg);
	return 0;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct webhooks *wh = arg;
	(void)fd;
	(void)what;
	flush(wh);
	wake(wh);
}

struct webhooks *webhooks_new(struct event_base *base, const struct webhooks_config *cfg,
                              struct metrics_webhooks *m)
{
	struct webhooks *wh = calloc(1, sizeof *wh);
	if (!wh)
		return NULL;
	wh->base = base;
	wh->cfg = *cfg;
	wh->m = m;
	wh->rnd = (unsigned)clock_us() ^ (unsigned)getpid() ^ 0x9e3779b9u;
	if (!wh->rnd)
		wh->rnd = 1;
	wh->conninfo = strdup(cfg->conninfo ? cfg->conninfo : "");
	wh->cfg.conninfo = wh->conninfo;
	int ok = wh->conninfo != NULL;
	for (int i = 0; i < 8; i++)
		ok = ok && (wh->params[i] = evbuffer_new()) != NULL;
	if (!ok) {
		webhooks_free(wh);
		return NULL;
	}
	return wh;
}

int webhooks_listen(struct webhooks *wh, struct listener *l)
{
	wh->watch = (struct listen_cache){.name = "webhooks",
	                                  .stmt = NULL, /* a watcher */
	                                  .payloads = "webhook_deliveries",
	                                  .apply = on_watch,
	                                  .arg = wh};
	return listener_add(l, &wh->watch);
}

int webhooks_start(struct webhooks *wh)
{
	if (wh->cfg.concurrency <= 0)
		return 0; /* this server sends none */
	struct pool_config pc = {
	    .conninfo = wh->conninfo,
	    .name = "packcode-server-webhooks",
	    .size = 1,
	    .queue_max = 4,
	    .setup_sql = STATEMENTS_WEBHOOKS_SETUP,
	    .query_timeout_ms = 30000,
	};
	struct outbound_config oc = {.max_connections = wh->cfg.concurrency,
	                             .user_agent = USER_AGENT};
	wh->pool = pool_new(wh->base, &pc);
	wh->out = outbound_new(wh->base, &oc);
	wh->timer = event_new(wh->base, -1, EV_PERSIST, on_timer, wh);
	struct timeval tv = {wh->cfg.poll_ms / 1000, (wh->cfg.poll_ms % 1000) * 1000};
	if (!wh->pool || !wh->out || !wh->timer || event_add(wh->timer, &tv) < 0)
		return -1;
	log_info("event=webhooks_started concurrency=%d timeout_ms=%d max_tries=%d",
	         wh->cfg.concurrency, wh->cfg.timeout_ms, wh->cfg.max_tries);
	return 0;
}

void webhooks_stop(struct webhooks *wh)
{
	if (wh)
		wh->stopping = 1;
}

void webhooks_free(struct webhooks *wh)
{
	if (!wh)
		return;
	wh->stopping = wh->closing = 1;
	if (webhooks_busy(wh))
		log_warn("event=webhooks_abandoned deliveries=%d", webhooks_busy(wh));
	/* the claim and record callbacks run now, into a dispatcher still whole */
	pool_free(wh->pool);
	/* the requests in flight are aborted: each delivery is freed by its callback */
	outbound_free(wh->out);
	if (wh->timer)
		event_free(wh->timer);
	struct delivery *lists[] = {wh->done, wh->recorded};
	for (int i = 0; i < 2; i++)
		while (lists[i]) {
			struct delivery *d = lists[i];
			lists[i] = d->next;
			free(d);
		}
	for (int i = 0; i < 8; i++)
		if (wh->params[i])
			evbuffer_free(wh->params[i]);
	free(wh->conninfo);
	free(wh);
}
