/*
 * cors.c: which origins may call the admin API from a browser (cors.h).
 * An Origin header is compared byte for byte with the configured ones,
 * which are checked to be serialised the way browsers send them: a
 * comparison that normalised would be one more parser of outside input.
 */
#include "edge/cors.h"

#include <stdio.h>
#include <string.h>

int cors_origin_check(const char *origin, char *err, size_t errlen)
{
	size_t n = strlen(origin), skip;
	if (strncmp(origin, "https://", 8) == 0)
		skip = 8;
	else if (strncmp(origin, "http://", 7) == 0)
		skip = 7;
	else {
		snprintf(err, errlen, "an origin starts with https:// or http://: %s", origin);
		return -1;
	}
	if (n > CORS_ORIGIN_MAX || n == skip) {
		snprintf(err, errlen, "an origin has a host of at most %d bytes: %s",
		         CORS_ORIGIN_MAX, origin);
		return -1;
	}
	const char *h = origin + skip, *port = NULL;
	if (h[0] == '[') {
		size_t k = strspn(h + 1, "0123456789abcdef:.");
		if (k == 0 || h[1 + k] != ']')
			goto bad;
		port = h + 2 + k;
	} else {
		port = h + strspn(h, "abcdefghijklmnopqrstuvwxyz0123456789.-");
		if (port == h)
			goto bad;
	}
	if (*port == ':') {
		size_t k = strspn(port + 1, "0123456789");
		if (k < 1 || k > 5 || port[1] == '0')
			goto bad;
		port += 1 + k;
	}
	if (*port == '\0')
		return 0;
bad:
	snprintf(err, errlen,
	         "an origin is scheme://host[:port] in lower case, no path or trailing slash: %s",
	         origin);
	return -1;
}

int cors_allowed(const char *const *origins, int n, const char *origin)
{
	if (!origin)
		return 0;
	for (int i = 0; i < n; i++)
		if (strcmp(origins[i], origin) == 0)
			return 1;
	return 0;
}
