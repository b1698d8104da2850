/*
 * payouts.h (handlers): the payment provider's callback, POST
 * /api/v1/payouts/callback (docs/api.md, docs/campaigns.md "Red packets"):
 * a red packet's payout paid or failed. No token: the body's HMAC-SHA256
 * signature under the shared secret (--payout-secret-file) is the
 * authentication, checked before anything is read (401, nothing changed).
 */
#ifndef PACKCODE_SERVER_HANDLERS_PAYOUTS_H
#define PACKCODE_SERVER_HANDLERS_PAYOUTS_H

#include <stddef.h>

#include "edge/http.h"

#define PAYOUT_SIGNATURE_HEADER "Packcode-Signature" /* as webhooks sign */
#define PAYOUT_KEY_MAX          100                  /* an idempotency key, as payouts make them */
#define PAYOUT_REF_MAX          100                  /* the provider's own reference */
#define PAYOUT_SIGNATURE_AGE    300 /* seconds a signature's time may be off ours */

void payouts_route_callback(struct request *r); /* POST /api/v1/payouts/callback */

/* ---- decoded without side effects (payouts_input.c) ---- */

enum payout_status { PAYOUT_PAID, PAYOUT_FAILED };

struct payout_callback {
	char key[PAYOUT_KEY_MAX + 1];
	enum payout_status status;
	char ref[PAYOUT_REF_MAX + 1]; /* "" if none */
};

/*
 * Whether header (the Packcode-Signature value "t=T,v1=HEX", as webhooks
 * sign) is the HMAC-SHA256 under secret of "T." and the body, with T
 * within PAYOUT_SIGNATURE_AGE seconds of now. Compared in constant time.
 * 1 or 0.
 */
int payout_signature_ok(const char *secret, const char *header, const char *body, size_t len,
                        long long now);

/*
 * The callback's body: {"idempotency_key": "...", "status": "paid" |
 * "failed", "provider_ref": "..." (optional)}; other fields are the
 * provider's and ignored. 0, or -1 with err.
 */
int payout_callback_decode(const char *body, size_t len, struct payout_callback *out, char *err,
                           size_t errlen);

#endif
