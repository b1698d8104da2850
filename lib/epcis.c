/*
 * epcis.c: the EPCIS document around the database's event lines, and the
 * codes put into them (epcis.h). The database writes no text from outside
 * input into an event, so "#{" there is always a marker.
 */
#include "epcis.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "code.h"

size_t epcis_head(char *buf, size_t len, time_t now)
{
	struct tm tm;
	char at[32];
	gmtime_r(&now, &tm);
	strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
	int n = snprintf(buf, len,
	                 "{\"@context\":[\"" EPCIS_CONTEXT "\",{\"packcode\":\"" EPCIS_NAMESPACE
	                 "\"}],\"type\":\"EPCISDocument\",\"schemaVersion\":\"2.0\","
	                 "\"creationDate\":\"%s\",\"epcisBody\":{\"eventList\":[\n",
	                 at);
	return n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n;
}

/* Digits at *p up to stop as a number (at most 13 of them): 0, or -1. */
static int number(const char **p, const char *end, char stop, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	while (s < end && *s >= '0' && *s <= '9' && s - *p < 13)
		v = v * 10 + (uint64_t)(*s++ - '0');
	if (s == *p || s >= end || *s != stop)
		return -1;
	*p = s + 1;
	*out = v;
	return 0;
}

int epcis_expand(struct keyring *kr, const char *line, size_t len, epcis_put_fn put, void *ctx,
                 char *err, size_t errlen)
{
	const char *p = line, *end = line + len;
	while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	for (;;) {
		const char *m = p;
		while (m + 1 < end && !(m[0] == '#' && m[1] == '{'))
			m++;
		if (m + 1 >= end)
			return put(ctx, p, (size_t)(end - p)) < 0
			           ? (snprintf(err, errlen, "write failed"), -1)
			           : 0;
		if (m > p && put(ctx, p, (size_t)(m - p)) < 0) {
			snprintf(err, errlen, "write failed");
			return -1;
		}
		const char *q = m + 2;
		uint64_t key, serial;
		if (number(&q, end, '.', &key) < 0 || number(&q, end, '}', &serial) < 0 ||
		    key == 0 || key > CODE_KEY_ID_MAX) {
			snprintf(err, errlen, "a malformed code marker in an event");
			return -1;
		}
		struct keyring_key *k = keyring_find(kr, (unsigned)key);
		struct code_signer *s = k ? keyring_signer(k) : NULL;
		char code[CODE_LEN + 1];
		if (!s || code_encode(s, serial, code, NULL) < 0) {
			snprintf(err, errlen, "key %u of serial %llu is not in the keyring",
			         (unsigned)key, (unsigned long long)serial);
			return -1;
		}
		if (put(ctx, code, CODE_LEN) < 0) {
			snprintf(err, errlen, "write failed");
			return -1;
		}
		p = q;
	}
}
