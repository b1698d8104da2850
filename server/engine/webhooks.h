/*
 * webhooks.h: the webhook dispatcher (docs/webhooks.md), in the control
 * thread. It claims due deliveries from the outbox (webhook_claim of
 * sql/009_webhooks.sql: FOR UPDATE SKIP LOCKED and a lease, so that the
 * servers share them and each is sent by one at a time), signs and sends
 * each (outbound.c), and records every attempt (webhook_record), a failed
 * one with its retry due after an exponential backoff with jitter. Woken
 * by NOTIFY webhook_deliveries (listen.c) and by a timer of at most a
 * second. Delivery is at least once: a result that could not be recorded
 * is sent again once its lease expires.
 */
#ifndef PACKCODE_SERVER_WEBHOOKS_H
#define PACKCODE_SERVER_WEBHOOKS_H

#include <event2/event.h>
#include <stddef.h>

#include "engine/listen.h"
#include "engine/metrics.h"

#define WEBHOOKS_SIGNATURE_HEADER "Packcode-Signature"
/* "t=" 20 digits ",v1=" 64 hex digits, and the NUL */
#define WEBHOOKS_SIGNATURE_LEN (2 + 20 + 4 + 64 + 1)

/* How an attempt ended: the label of packcode_webhook_attempts_total and of webhook_attempts. */
enum webhooks_outcome {
	WEBHOOKS_DELIVERED,     /* a 2xx reply */
	WEBHOOKS_HTTP_ERROR,    /* another reply */
	WEBHOOKS_TIMEOUT,       /* no whole reply in time */
	WEBHOOKS_CONNECT_ERROR, /* no connection */
	WEBHOOKS_ERROR,         /* anything else */
	WEBHOOKS_OUTCOME_COUNT,
};

const char *webhooks_outcome_label(enum webhooks_outcome o);

struct webhooks_config {
	const char *conninfo;
	int concurrency;  /* deliveries in flight at once; 0: this server sends none */
	int timeout_ms;   /* one attempt, whole */
	int max_tries;    /* a delivery is failed after this many */
	int retry_ms;     /* the delay after the first failed try; doubles after each */
	int retry_max_ms; /* ... up to this */
	int poll_ms;      /* the longest wait between looks for due deliveries */
};

struct webhooks;

/* A dispatcher on base's loop, counting into m. NULL if out of memory. */
struct webhooks *webhooks_new(struct event_base *base, const struct webhooks_config *cfg,
                              struct metrics_webhooks *m);
/* Be woken by the listener when deliveries are added (before listener_start). 0 or -1. */
int webhooks_listen(struct webhooks *wh, struct listener *l);
/* Connect and start sending. 0 or -1. */
int webhooks_start(struct webhooks *wh);
/* Claim no more; what is in flight goes on and is recorded. */
void webhooks_stop(struct webhooks *wh);
/* Deliveries being sent, or sent and not yet recorded. */
int webhooks_busy(const struct webhooks *wh);
/*
 * Stop at once: the database connection first (its callbacks find the
 * dispatcher still whole), then the requests in flight (aborted: their
 * leases expire and another server, or this one restarted, sends them
 * again). After listener_free. NULL is fine.
 */
void webhooks_free(struct webhooks *wh);

/* ---- pure, for the tests ---- */

/*
 * The Packcode-Signature value "t=T,v1=HEX": HMAC-SHA256 keyed with the
 * secret's bytes over "T.BODY", in lower-case hex. 0, or -1 (out of room).
 */
int webhooks_sign(const char *secret, long long t, const char *body, size_t len, char *out,
                  size_t outlen);

/*
 * The delay before the next try after `tries` failed ones (1 or more):
 * base·2^(tries−1), capped at cap, of which the upper half is random by rnd
 * (equal jitter: between half and all of it).
 */
long long webhooks_backoff_ms(int tries, int base_ms, int cap_ms, unsigned rnd);

#endif
