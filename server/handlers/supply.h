/*
 * supply.h: the admin API of the supply chain (docs/supply-chain.md):
 * release codes of a batch minted inactive, mark one code void, stolen,
 * destroyed or a sample, take a batch out of sale as expired, undo any of
 * these within the undo window. Scope operate; each is one call of a
 * function of sql/013_supply.sql, audited in its transaction.
 */
#ifndef PACKCODE_SERVER_SUPPLY_H
#define PACKCODE_SERVER_SUPPLY_H

#include <stddef.h>

#include "handlers/admin.h"

struct request;

/* POST /api/v1/admin/batches/{id}/activate */
void supply_route_activate(struct request *r);
/* POST /api/v1/admin/batches/{id}/expire */
void supply_route_expire(struct request *r);
/* POST /api/v1/admin/codes/{code}/state */
void supply_route_code_state(struct request *r);
/* POST /api/v1/admin/supply/changes/{id}/undo */
void supply_route_undo(struct request *r);

#define SUPPLY_STATE_MAX 9 /* "destroyed" */

/*
 * The bodies (pure, fuzzed: fuzz/fuzz_supply_input.c). Every field is
 * optional but state; a reason is 1-200 characters of text.
 *   activate: {"first": N, "last": N, "reason"}: codes first..last of the
 *             batch (codes.csv's seq, from 1), both or neither (the whole batch)
 *   code state: {"state": "void"|"stolen"|"destroyed"|"sample"|"none", "reason"}
 *   expire, undo: {"reason"}
 */
struct supply_in {
	long long first, last;
	int has_range;
	char state[SUPPLY_STATE_MAX + 1];
	char reason[ADMIN_TEXT_BYTES + 1];
	int has_reason;
};
enum supply_body { SUPPLY_BODY_ACTIVATE, SUPPLY_BODY_STATE, SUPPLY_BODY_REASON };
enum admin_decode supply_decode(enum supply_body kind, const char *body, size_t len,
                                struct supply_in *out, char *err, size_t errlen);

#endif
