/*
 * fuzz_webhook_input.c: libFuzzer target for what outside input reaches of
 * webhooks and CORS: a subscription's body (server/handlers/webhooks_input.c)
 * and an Origin against the configured origins (server/edge/cors.c). The
 * first byte picks which, the rest is the input.
 *
 * Beyond "does not crash", what a decoder accepts must meet the database's
 * CHECKs: an http(s) URL (scheme in lower case) that passes its own check
 * again, event type names each once, a printable secret.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/cors.h"
#include "handlers/webhooks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_webhook_input: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct webhook_in in;
	static const char *const origins[] = {"https://console.example", "http://localhost:3000"};
	char err[256], text[4096];
	if (size < 1)
		return 0;
	const char *body = (const char *)data + 1;
	size_t len = size - 1;
	switch (data[0] % 3) {
	case 0:
		if (webhook_decode(body, len, &in, err, sizeof err) != ADMIN_DECODE_OK) {
			check(err[0] != '\0', "a refusal without a reason");
			break;
		}
		check(strncmp(in.url, "http://", 7) == 0 || strncmp(in.url, "https://", 8) == 0,
		      "an accepted URL is not http(s) in lower case");
		check(webhook_url_check(in.url, err, sizeof err) == 0,
		      "an accepted URL fails its check");
		check(in.nevents >= 1 && in.nevents <= WEBHOOK_EVENTS_MAX, "events out of range");
		for (int i = 0; i < in.nevents; i++) {
			check(webhook_event_check(in.events[i]) == 0,
			      "an accepted event type is not one");
			for (int k = 0; k < i; k++)
				check(strcmp(in.events[i], in.events[k]) != 0,
				      "an event type twice");
		}
		check(!in.has_secret || webhook_secret_check(in.secret) == 0,
		      "a bad secret accepted");
		break;
	case 1:
		if (len >= sizeof text)
			break;
		memcpy(text, body, len);
		text[len] = '\0';
		if (webhook_url_check(text, err, sizeof err) == 0) {
			const char *auth = strstr(text, "://") + 3;
			size_t alen = strcspn(auth, "/?#");
			check(strlen(text) <= WEBHOOK_URL_MAX && !strchr(text, ' ') && alen > 0 &&
			          !memchr(auth, '@', alen),
			      "a URL with a space, a user, no host or too long accepted");
		}
		break;
	default:
		if (len >= sizeof text)
			break;
		memcpy(text, body, len);
		text[len] = '\0';
		if (cors_allowed(origins, 2, text))
			check(strcmp(text, origins[0]) == 0 || strcmp(text, origins[1]) == 0,
			      "an origin allowed that is not listed");
		if (cors_origin_check(text, err, sizeof err) == 0)
			check(strncmp(text, "http", 4) == 0 && !strchr(text + 8, '/'),
			      "an origin with a path accepted");
		break;
	}
	return 0;
}
