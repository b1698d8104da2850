/*
 * fuzz_payout_callback.c: libFuzzer target for the payment provider's
 * callback (server/handlers/payouts_input.c), outside input on the public
 * listener: the signature header and the body.
 *
 * The input is "HEADER\nBODY". Beyond "does not crash": a forged header
 * is never accepted (the secret is not in the input), the header made
 * from the secret is, and a body decoded has a key of printable ASCII.
 * The whole input is also read as the provider's answer to a question
 * about a payout (engine/payouts_reply.c), outside input too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/payouts.h"
#include "handlers/payouts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], header[256];
	struct payout_callback cb;
	const char *nl = memchr(data, '\n', size);
	size_t hlen = nl ? (size_t)(nl - (const char *)data) : size;
	if (hlen >= sizeof header)
		return 0;
	memcpy(header, data, hlen);
	header[hlen] = '\0';
	const char *body = nl ? nl + 1 : "";
	size_t len = nl ? size - hlen - 1 : 0;
	enum payouts_answer a = payouts_answer_of((const char *)data, size);
	if (a != PAYOUTS_ANSWER_PENDING && a != PAYOUTS_ANSWER_PAID && a != PAYOUTS_ANSWER_FAILED)
		abort();
	if (payout_signature_ok("a secret the input never holds", header, body, len, 1700000000)) {
		fprintf(stderr, "fuzz_payout_callback: a forged signature was accepted\n");
		abort();
	}
	if (payout_callback_decode(body, len, &cb, err, sizeof err) == 0) {
		for (const char *p = cb.key; *p; p++)
			if (*p < 0x21 || *p > 0x7e) {
				fprintf(stderr,
				        "fuzz_payout_callback: a key with a control byte\n");
				abort();
			}
		if (!cb.key[0]) {
			fprintf(stderr, "fuzz_payout_callback: an empty key accepted\n");
			abort();
		}
	}
	return 0;
}
