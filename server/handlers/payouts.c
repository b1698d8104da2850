/*
 * payouts.c (handlers): the payment provider's callback (payouts.h). The
 * signature is checked on the raw body before it is parsed; then one call
 * of payout_callback (sql/028_redpackets.sql), which moves the payout by
 * the state machine of docs/campaigns.md, records the callback and audits
 * it, in one transaction: a repeated or late callback is answered 200 with
 * what it changed (nothing), so that the provider stops sending it.
 */
#include "handlers/payouts.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "server.h"

struct callback_req {
	struct request *r;
	struct payout_callback cb;
};

/* payout_callback's outcome as the metrics count it. */
static enum metrics_payout_callback outcome_metric(const char *o)
{
	static const struct {
		const char *name;
		enum metrics_payout_callback m;
	} map[] = {{"applied", METRICS_PAYOUT_CB_APPLIED},
	           {"duplicate", METRICS_PAYOUT_CB_DUPLICATE},
	           {"conflict", METRICS_PAYOUT_CB_CONFLICT},
	           {"late_paid", METRICS_PAYOUT_CB_LATE_PAID},
	           {"late", METRICS_PAYOUT_CB_LATE}};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(o, map[i].name) == 0)
			return map[i].m;
	return METRICS_PAYOUT_CB_UNKNOWN;
}

static void done(void *arg, const struct pool_result *res)
{
	struct callback_req *c = arg;
	struct request *r = c->r;
	if (res->status != POOL_OK) {
		if (res->status == POOL_UNAVAILABLE)
			http_reply_error(r, 503, "unavailable", "database unavailable, try again");
		else {
			log_error("event=payout_callback_failed sqlstate=%s message=%s",
			          res->sqlstate, LOG_Q(res->message));
			http_reply_error(r, 500, "internal",
			                 "the request failed; nothing was changed");
		}
		free(c);
		return;
	}
	const char *outcome = PQgetvalue(res->res, 0, 0);
	metrics_add(&r->w->metrics.payout_callbacks[outcome_metric(outcome)], 1);
	log_info("event=payout_callback key=%s status=%s outcome=%s", LOG_Q(c->cb.key),
	         c->cb.status == PAYOUT_PAID ? "paid" : "failed", outcome);
	if (strcmp(outcome, "unknown_payout") == 0)
		http_reply_error(r, 404, "unknown_payout", "no payout has this idempotency key");
	else
		http_reply_json(r, 200,
		                json_pack("{s:s,s:s,s:s}", "idempotency_key", c->cb.key, "outcome",
		                          outcome, "status", PQgetvalue(res->res, 0, 1)));
	free(c);
}

void payouts_route_callback(struct request *r)
{
	size_t len;
	char err[256];
	const char *secret = r->w->srv->payout_secret;
	if (!secret) {
		http_reply_error(r, 404, "payouts_off", "this server takes no payout callbacks");
		return;
	}
	const char *body = http_body(r, "application/json", &len);
	if (!body)
		return;
	const char *sig =
	    evhttp_find_header(evhttp_request_get_input_headers(r->req), PAYOUT_SIGNATURE_HEADER);
	if (!payout_signature_ok(secret, sig, body, len, (long long)time(NULL))) {
		log_warn("event=payout_callback_refused client=%s", LOG_Q(r->client));
		metrics_add(&r->w->metrics.payout_callbacks[METRICS_PAYOUT_CB_BAD_SIGNATURE], 1);
		http_reply_error(r, 401, "bad_signature",
		                 "the Packcode-Signature header is missing, old or wrong");
		return;
	}
	struct callback_req *c = calloc(1, sizeof *c);
	if (!c) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	c->r = r;
	if (payout_callback_decode(body, len, &c->cb, err, sizeof err) < 0) {
		metrics_add(&r->w->metrics.payout_callbacks[METRICS_PAYOUT_CB_BAD_REQUEST], 1);
		http_reply_error(r, 400, "bad_request", err);
		free(c);
		return;
	}
	struct pool_query q = {.stmt = "payout_callback",
	                       .nparams = 4,
	                       .values = {http_client_inet(r), c->cb.key,
	                                  c->cb.status == PAYOUT_PAID ? "paid" : "failed",
	                                  c->cb.ref[0] ? c->cb.ref : NULL}};
	if (pool_submit(r->w->pool, &q, done, c) < 0) {
		http_reply_error(r, 503, "unavailable", "database unavailable, try again");
		free(c);
	}
}
