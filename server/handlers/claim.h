/*
 * claim.h: awarding a code's points to a member, exactly once.
 *
 * The keyring and the catalog answer typos, forgeries, revoked keys,
 * recalled batches and missing PINs without the database; everything else
 * becomes one row of a claim_many call (sql/002_server.sql), shared with the
 * claims that arrived meanwhile (group commit). A result is given only after
 * its transaction committed.
 */
#ifndef PACKCODE_SERVER_CLAIM_H
#define PACKCODE_SERVER_CLAIM_H

#include <jansson.h>
#include <stddef.h>

#include "code.h"
#include "handlers/member.h"
#include "engine/timefmt.h"

#define PIN_INPUT_MAX 16

enum claim_outcome {
	CLAIM_AWARDED,         /* points awarded now */
	CLAIM_REPEAT,          /* this member claimed it before: same answer again */
	CLAIM_ALREADY_CLAIMED, /* another member has it */
	CLAIM_TYPO,
	CLAIM_NOT_GENUINE,
	CLAIM_RECALLED,
	CLAIM_VOID,
	CLAIM_REVOKED,
	CLAIM_PIN_REQUIRED,
	CLAIM_PIN_WRONG,
	CLAIM_THROTTLED,    /* this address (or member) failed PINs: it waits, whatever its PIN */
	CLAIM_RATE_LIMITED, /* too many claims for this member (--rate-member-claims) */
	CLAIM_BAD_REQUEST,
	CLAIM_UNAVAILABLE, /* database unavailable: nothing happened, or retry is safe */
	CLAIM_INTERNAL,
	/* the supply chain (docs/supply-chain.md): refused, nothing written */
	CLAIM_INACTIVE,  /* never released for sale */
	CLAIM_CODE_VOID, /* this code was voided */
	CLAIM_STOLEN,
	CLAIM_DESTROYED,
	CLAIM_SAMPLE, /* a sample earns no points */
	CLAIM_EXPIRED,
	CLAIM_OUTCOME_COUNT
};

struct catalog_batch;
struct request;
struct worker;

struct claim_result {
	enum claim_outcome outcome;
	const char *message; /* CLAIM_BAD_REQUEST: what is wrong; CLAIM_UNAVAILABLE: not set
	                        for the database, set when the code's key is unknown here */
	int bad_member;      /* CLAIM_BAD_REQUEST: the member id is (why: member_why) */
	enum phone_result member_why;
	char code[CODE_LEN + 1]; /* canonical code, "" for a typo */
	char member[MEMBER_MAX + 1];
	const struct catalog_batch *batch; /* when known; valid during the callback */
	int points;
	long long balance;
	char claimed_at[TIMEFMT_ISO_LEN];
	int retry_after; /* seconds: THROTTLED, RATE_LIMITED, UNAVAILABLE; PIN_WRONG if it set a
	                    wait */
	/* AWARDED, REPEAT: what campaigns gave (base_points, multiplier, bonus, campaigns,
	   prizes: sql/021_campaigns.sql's campaign_claim_json), or NULL; valid during the callback
	 */
	json_t *campaign;
};

typedef void (*claim_done_fn)(void *arg, const struct claim_result *res);

struct claims;
struct claims *claims_new(struct worker *w);
void claims_free(struct claims *c);
size_t claims_pending(const struct claims *c);

/*
 * Claim code (as typed) for member (as typed: normalised here; NULL only when
 * claim_would_reach_db said no) with pin (NULL or "" when none was given). done runs exactly once,
 * possibly before this returns. r supplies the client address for the scan record and must stay
 * unanswered until done runs.
 */
void claim_start(struct request *r, const char *code, size_t codelen, const char *member,
                 size_t memberlen, const char *pin, claim_done_fn done, void *arg);

/*
 * 1 if a claim of code with pin would reach the database: genuine, and its
 * PIN given when its batch needs one. Otherwise claim_start answers it from
 * the keyring and the catalog, and may be given member NULL.
 */
int claim_would_reach_db(struct worker *w, const char *code, size_t codelen, const char *pin);

/* POST /api/v1/claims */
void claim_handle_api(struct request *r);
/* Answer r with res as POST /api/v1/claims does (JSON), finishing it. */
void claim_reply_json(struct request *r, const struct claim_result *res);

/* The body of POST /api/v1/claims, decoded (claim_request.c). */
struct claim_request {
	const char *code, *member; /* no NUL inside; member NULL when absent or null */
	size_t codelen, memberlen;
	const char *pin; /* NULL when absent or null */
	json_t *json;    /* owns the strings */
};

enum claim_decode {
	CLAIM_DECODE_OK,
	CLAIM_DECODE_BAD_JSON,    /* not JSON, or duplicate keys: 400 bad_json */
	CLAIM_DECODE_BAD_REQUEST, /* JSON, but not a claim: 400 bad_request */
};

/*
 * Decode and check body[0..len): a code string (of at most CODE_INPUT_MAX
 * bytes), member and pin strings or null or absent, no NUL in any of
 * them; other fields ignored. On CLAIM_DECODE_OK release out with
 * claim_request_release; otherwise err says why (for the client).
 */
enum claim_decode claim_request_decode(const char *body, size_t len, struct claim_request *out,
                                       char *err, size_t errlen);
void claim_request_release(struct claim_request *req);

const char *claim_outcome_name(enum claim_outcome o);
/* The outcome's metrics label: one per outcome (a repeat is "repeat"). */
const char *claim_outcome_label(enum claim_outcome o);
int claim_http_status(enum claim_outcome o);
/* The verdict a supply-chain refusal stands for (CLAIM_INACTIVE: VERDICT_INACTIVE...). */
enum verdict claim_outcome_verdict(enum claim_outcome o);

#endif
