/*
 * webhooks_input.c: a webhook subscription's body, decoded and checked
 * without side effects (pure, for the unit tests and the fuzzer). What it
 * accepts meets the CHECK constraints of sql/009_webhooks.sql: an http(s)
 * URL without credentials, event type names, a printable secret.
 */
#include "handlers/webhooks.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int printable_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

static int host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '_';
}

int webhook_url_check(const char *url, char *err, size_t errlen)
{
	size_t n = strlen(url), skip;
	if (n > WEBHOOK_URL_MAX) {
		snprintf(err, errlen, "url is longer than %d bytes", WEBHOOK_URL_MAX);
		return -1;
	}
	if (!printable_ascii(url, n)) {
		snprintf(err, errlen,
		         "url must be printable ASCII without spaces "
		         "(percent-encode the rest)");
		return -1;
	}
	if (strncasecmp(url, "http://", 7) == 0)
		skip = 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		skip = 8;
	else {
		snprintf(err, errlen, "url must be http:// or https://");
		return -1;
	}
	const char *auth = url + skip;
	size_t alen = strcspn(auth, "/?#");
	if (memchr(auth, '@', alen)) {
		snprintf(err, errlen,
		         "url must not hold a user or password: the signature "
		         "authenticates the sender");
		return -1;
	}
	const char *port = NULL;
	size_t hlen;
	if (alen && auth[0] == '[') {
		const char *close = memchr(auth, ']', alen);
		if (!close || close == auth + 1)
			goto bad_host;
		for (const char *p = auth + 1; p < close; p++)
			if (!strchr("0123456789abcdefABCDEF:.", *p))
				goto bad_host;
		hlen = (size_t)(close - auth) + 1;
		if (hlen < alen) {
			if (auth[hlen] != ':')
				goto bad_host;
			port = auth + hlen + 1;
		}
	} else {
		const char *colon = memchr(auth, ':', alen);
		hlen = colon ? (size_t)(colon - auth) : alen;
		for (size_t i = 0; i < hlen; i++)
			if (!host_char(auth[i]))
				goto bad_host;
		if (colon)
			port = colon + 1;
	}
	if (hlen == 0)
		goto bad_host;
	if (port) {
		size_t plen = (size_t)(auth + alen - port);
		long v = 0;
		if (plen < 1 || plen > 5 || strspn(port, "0123456789") < plen)
			goto bad_port;
		for (size_t i = 0; i < plen; i++)
			v = v * 10 + (port[i] - '0');
		if (v < 1 || v > 65535)
			goto bad_port;
	}
	return 0;
bad_host:
	snprintf(err, errlen, "url has no valid host");
	return -1;
bad_port:
	snprintf(err, errlen, "url's port must be 1 to 65535");
	return -1;
}

int webhook_event_check(const char *name)
{
	size_t n = strlen(name);
	int dots = 0, word = 0;
	if (n < 1 || n > WEBHOOK_EVENT_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (c == '.') {
			if (!word)
				return -1;
			dots++;
			word = 0;
		} else if ((c >= 'a' && c <= 'z') || (c == '_' && word)) {
			word++;
		} else {
			return -1;
		}
	}
	return dots >= 1 && word ? 0 : -1;
}

int webhook_secret_check(const char *secret)
{
	size_t n = strlen(secret);
	return n >= WEBHOOK_SECRET_MIN && n <= WEBHOOK_SECRET_MAX && printable_ascii(secret, n)
	           ? 0
	           : -1;
}

/* Copy string field name (absent or null: *has 0) into out: 0, or -1 with err. */
static int get_string(json_t *o, const char *name, char *out, size_t outlen, int *has, char *err,
                      size_t errlen)
{
	json_t *v = json_object_get(o, name);
	*has = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		snprintf(err, errlen, "%s must be a string", name);
		return -1;
	}
	size_t n = json_string_length(v);
	const char *s = json_string_value(v);
	if (memchr(s, '\0', n) || n >= outlen) {
		snprintf(err, errlen, "%s is too long or holds a NUL", name);
		return -1;
	}
	memcpy(out, s, n + 1);
	*has = 1;
	return 0;
}

static int get_events(json_t *o, struct webhook_in *out, char *err, size_t errlen)
{
	json_t *a = json_object_get(o, "events"), *v;
	size_t i;
	if (!json_is_array(a) || json_array_size(a) == 0) {
		snprintf(err, errlen,
		         "events must be a non-empty array of event types, such as "
		         "[\"claim.awarded\"]");
		return -1;
	}
	json_array_foreach(a, i, v)
	{
		const char *name = json_string_value(v);
		if (!name || json_string_length(v) != strlen(name) ||
		    webhook_event_check(name) < 0) {
			snprintf(err, errlen,
			         "events[%zu] is not an event type such as \"claim.awarded\"", i);
			return -1;
		}
		int dup = 0;
		for (int k = 0; k < out->nevents && !dup; k++)
			dup = strcmp(out->events[k], name) == 0;
		if (dup)
			continue;
		if (out->nevents == WEBHOOK_EVENTS_MAX) {
			snprintf(err, errlen, "at most %d event types", WEBHOOK_EVENTS_MAX);
			return -1;
		}
		snprintf(out->events[out->nevents++], WEBHOOK_EVENT_MAX + 1, "%s", name);
	}
	return 0;
}

enum admin_decode webhook_decode(const char *body, size_t len, struct webhook_in *out, char *err,
                                 size_t errlen)
{
	json_error_t je;
	int has_url;
	memset(out, 0, sizeof *out);
	json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!o) {
		snprintf(err, errlen, "malformed JSON: %s", je.text);
		return ADMIN_DECODE_BAD_JSON;
	}
	enum admin_decode why = ADMIN_DECODE_BAD_REQUEST;
	if (!json_is_object(o)) {
		snprintf(err, errlen, "the body must be a JSON object");
		goto out;
	}
	if (get_string(o, "url", out->url, sizeof out->url, &has_url, err, errlen) < 0)
		goto out;
	if (!has_url) {
		snprintf(err, errlen, "url is required");
		goto out;
	}
	if (webhook_url_check(out->url, err, errlen) < 0)
		goto out;
	/* the scheme in lower case, as the database's CHECK wants it */
	for (char *p = out->url; *p != ':'; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	if (get_events(o, out, err, errlen) < 0 ||
	    get_string(o, "secret", out->secret, sizeof out->secret, &out->has_secret, err,
	               errlen) < 0)
		goto out;
	if (out->has_secret && webhook_secret_check(out->secret) < 0) {
		snprintf(err, errlen,
		         "secret must be %d to %d printable ASCII characters without "
		         "spaces (or left out: one is made)",
		         WEBHOOK_SECRET_MIN, WEBHOOK_SECRET_MAX);
		goto out;
	}
	why = ADMIN_DECODE_OK;
out:
	json_decref(o);
	return why;
}
