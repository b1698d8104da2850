/*
 * verdict.h: every answer packcode gives about a code, in one enum.
 *
 * The keyring alone decides TYPO, FORGED and REVOKED; the database adds the
 * batch's state (VOID, RECALLED, INACTIVE, EXPIRED), the code's own
 * (CODE_VOID, STOLEN, DESTROYED, SAMPLE) and the claim's (see server/claim.c). A
 * server answers UNKNOWN_KEY for a code of a key its keyring does not hold
 * (yet): it cannot say, so it does not say "not genuine".
 */
#ifndef PACKCODE_VERDICT_H
#define PACKCODE_VERDICT_H

enum verdict {
	VERDICT_GENUINE,     /* signed by one of our keys (and, with a database, in a live batch) */
	VERDICT_TYPO,        /* malformed or check character wrong: ask to check the characters */
	VERDICT_FORGED,      /* well formed but not signed by any of our keys: not genuine */
	VERDICT_REVOKED,     /* signed by a key that has since been revoked */
	VERDICT_VOID,        /* signed, but its batch never completed or was voided */
	VERDICT_RECALLED,    /* signed, batch recalled */
	VERDICT_UNKNOWN_KEY, /* well formed, of a key id this keyring does not hold: cannot verify
	                        now */
	/* the supply chain (docs/supply-chain.md): signed and in a live batch, but */
	VERDICT_INACTIVE,  /* minted inactive and never released for sale (activated) */
	VERDICT_CODE_VOID, /* this one code was voided */
	VERDICT_STOLEN,    /* reported stolen */
	VERDICT_DESTROYED, /* recorded as destroyed */
	VERDICT_SAMPLE,    /* a sample, not for sale: genuine, but earns no points */
	VERDICT_EXPIRED,   /* its batch expired (its AI 17 date passed, or taken out of sale) */
};

/*
 * "genuine", "typo", "not_genuine", "revoked_key", "void_batch", "recalled", "unknown_key",
 * "inactive", "void", "stolen", "destroyed", "sample", "expired"
 */
const char *verdict_name(enum verdict v);

#endif
