/*
 * scope.c: scope names and their bits (scope.h). One table, in the order
 * the documentation lists them; every list is written in that order.
 */
#include "scope.h"

#include <stdio.h>
#include <string.h>

static const char *const names[SCOPE_COUNT] = {"read", "catalog", "operate", "points",   "claims",
                                               "pii",  "export",  "admin",   "campaigns"};

unsigned scope_bit(const char *name, size_t len)
{
	for (unsigned i = 0; i < SCOPE_COUNT; i++)
		if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
			return 1u << i;
	return 0;
}

const char *scope_name(unsigned bit)
{
	for (unsigned i = 0; i < SCOPE_COUNT; i++)
		if (bit == 1u << i)
			return names[i];
	return NULL;
}

int scope_parse(const char *list, unsigned *out, char *err, size_t errlen)
{
	unsigned bits = 0;
	if (strcmp(list, "all") == 0) {
		*out = SCOPE_ALL;
		return 0;
	}
	for (const char *p = list;;) {
		size_t n = strcspn(p, ",");
		unsigned bit = scope_bit(p, n);
		if (!bit) {
			snprintf(err, errlen,
			         "unknown scope \"%.*s\" (scopes: read, catalog, operate, "
			         "points, claims, pii, export, admin, campaigns; or all)",
			         (int)(n > 32 ? 32 : n), p);
			return -1;
		}
		bits |= bit;
		if (!p[n])
			break;
		p += n + 1;
	}
	*out = bits;
	return 0;
}

const char *scope_format(unsigned bits, char *out, size_t outlen)
{
	size_t len = 0;
	if (outlen)
		out[0] = '\0';
	for (unsigned i = 0; i < SCOPE_COUNT && outlen; i++) {
		if (!(bits & (1u << i)))
			continue;
		int n = snprintf(out + len, outlen - len, "%s%s", len ? "," : "", names[i]);
		if (n < 0 || (size_t)n >= outlen - len)
			break;
		len += (size_t)n;
	}
	return out;
}
