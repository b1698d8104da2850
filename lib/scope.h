/*
 * scope.h: what an admin identity may do. Staff accounts and API tokens
 * share one set of scopes; each route row of the server names the one it
 * needs (server/routes.def), and an identity holds a set of them, kept here
 * as bits. The names are the contract (docs/api.md, docs/security.md).
 */
#ifndef PACKCODE_LIB_SCOPE_H
#define PACKCODE_LIB_SCOPE_H

#include <stddef.h>

enum scope {
	SCOPE_READ = 1u << 0,      /* read: products, batches, audit, suspicious codes, stats */
	SCOPE_CATALOG = 1u << 1,   /* products, print runs */
	SCOPE_OPERATE = 1u << 2,   /* recall, activate, void */
	SCOPE_POINTS = 1u << 3,    /* adjust, spend */
	SCOPE_CLAIMS = 1u << 4,    /* integrations claiming for verified members */
	SCOPE_PII = 1u << 5,       /* unmasked member data; every such read audited */
	SCOPE_EXPORT = 1u << 6,    /* exports */
	SCOPE_ADMIN = 1u << 7,     /* staff, tokens, keys */
	SCOPE_CAMPAIGNS = 1u << 8, /* a brand's campaigns and prizes (docs/campaigns.md) */
};

#define SCOPE_COUNT    9
#define SCOPE_ALL      ((1u << SCOPE_COUNT) - 1)
#define SCOPE_LIST_MAX 80 /* "read,catalog,...,admin,campaigns" and its NUL */

/* The bit of scope name[0..len), or 0 if there is no such scope. */
unsigned scope_bit(const char *name, size_t len);
/* The name of one bit ("read"), or NULL. */
const char *scope_name(unsigned bit);

/*
 * A comma-separated list ("read,catalog", or "all") as bits: 0 and *out set,
 * or -1 with the unknown or empty name in err.
 */
int scope_parse(const char *list, unsigned *out, char *err, size_t errlen);
/* bits as "read,catalog" (in the order above) into out; returns out. */
const char *scope_format(unsigned bits, char *out, size_t outlen);

#endif
