/*
 * merge.c: POST /api/v1/admin/members/{member}/merge (merge.h). Each of the
 * two is found as the admin API finds a member (auth_find: a member's key,
 * or a phone or external id, normalised, the member of that identity); the
 * database decides the rest in one transaction (member_merge): a refusal
 * changes nothing.
 */
#include "handlers/merge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/http.h"
#include "handlers/auth.h"
#include "engine/pool.h"
#include "log.h"
#include "server.h"

struct merge {
	struct request *r;
	char into[MEMBER_ID_MAX + 1], from[MEMBER_ID_MAX + 1];
	char other_in[3 * MEMBER_ID_MAX + 1]; /* the body's member, as it had it */
	size_t other_len;
	int path_is_from; /* {"into": other}: the path's member is merged into other */
};

static void merged(void *arg, const struct pool_result *res)
{
	struct merge *m = arg;
	struct request *r = m->r;
	if (res->status == POOL_UNAVAILABLE) {
		http_reply_error(r, 503, "unavailable", "database unavailable, try again");
	} else if (res->status != POOL_OK && strcmp(res->sqlstate, "28000") == 0) {
		http_reply_unauthorized(r, TOKENS_INVALID);
	} else if (res->status != POOL_OK && strcmp(res->sqlstate, "42501") == 0) {
		http_reply_error(r, 403, "forbidden",
		                 "members are the group's: merging them needs an identity of every "
		                 "brand");
	} else if (res->status != POOL_OK || PQntuples(res->res) != 1) {
		log_error("event=admin_query_failed route=%s sqlstate=%s message=%s",
		          http_route_id(r), res->sqlstate ? res->sqlstate : "",
		          LOG_Q(res->message));
		http_reply_error(r, 500, "internal", "the request failed; nothing was changed");
	} else {
		const char *outcome = PQgetvalue(res->res, 0, 0);
		log_info("event=admin_action actor=%s action=member.merge outcome=%s",
		         LOG_Q(r->admin.name), outcome);
		if (strcmp(outcome, "merged") == 0)
			http_reply_json(
			    r, 200,
			    json_pack("{s:s, s:s, s:s, s:I, s:I, s:i}", "outcome", "merged",
			              "member", m->into, "from", m->from, "points",
			              (json_int_t)atoll(PQgetvalue(res->res, 0, 1)), "balance",
			              (json_int_t)atoll(PQgetvalue(res->res, 0, 2)), "identities",
			              atoi(PQgetvalue(res->res, 0, 3))));
		else if (strcmp(outcome, "unknown_member") == 0)
			http_reply_error(r, 404, "unknown_member",
			                 "no such member (either of the two)");
		else if (strcmp(outcome, "already_merged") == 0)
			http_reply_error(r, 409, "already_merged",
			                 "one of the two was merged into another member before");
		else
			http_reply_error(r, 400, "bad_request",
			                 "a member cannot be merged into itself");
	}
	free(m);
}

/* A member found (or not): 0 with into copied, or -1 with r answered and m freed. */
static int found(struct merge *m, const struct auth_result *res, char *into)
{
	switch (res->outcome) {
	case AUTH_OK:
		snprintf(into, MEMBER_ID_MAX + 1, "%s", res->member);
		return 0;
	case AUTH_BAD_INPUT:
		http_reply_error(m->r, 400, "bad_member",
		                 res->message ? res->message : "not a member id");
		break;
	case AUTH_UNAVAILABLE:
		http_reply_error(m->r, 503, "unavailable", "database unavailable, try again");
		break;
	default:
		http_reply_error(m->r, 500, "internal", "the request failed; nothing was changed");
		break;
	}
	free(m);
	return -1;
}

static void other_found(void *arg, struct request *r, const struct auth_result *res)
{
	struct merge *m = arg;
	char who[24];
	if (found(m, res, m->path_is_from ? m->into : m->from) < 0)
		return;
	snprintf(who, sizeof who, "%lld", r->admin.id);
	struct pool_query q = {.stmt = "admin_member_merge",
	                       .nparams = 4,
	                       .values = {who, http_client_inet(r), m->into, m->from}};
	if (pool_submit(r->w->pool, &q, merged, m) < 0) {
		http_reply_error(r, 503, "unavailable", "database unavailable, try again");
		free(m);
	}
}

static void path_found(void *arg, struct request *r, const struct auth_result *res)
{
	struct merge *m = arg;
	if (found(m, res, m->path_is_from ? m->from : m->into) == 0)
		auth_find(r, m->other_in, m->other_len, other_found, m);
}

void admin_route_member_merge(struct request *r)
{
	struct merge *m = calloc(1, sizeof *m);
	char seg[3 * MEMBER_ID_MAX + 1], err[256];
	size_t len;
	if (!m) {
		http_reply_error(r, 500, "internal", "out of memory");
		return;
	}
	m->r = r;
	long n = http_percent_decode(r->cap[0].s, r->cap[0].len, seg, sizeof seg);
	if (n < 0) {
		http_reply_error(r, 400, "bad_member", "the member in the path is malformed");
		goto fail;
	}
	const char *body = http_body(r, "application/json", &len);
	if (!body)
		goto fail;
	if (merge_request_decode(body, len, m->other_in, sizeof m->other_in, &m->other_len,
	                         &m->path_is_from, err, sizeof err) < 0) {
		http_reply_error(r, 400, "bad_request", err);
		goto fail;
	}
	auth_find(r, seg, (size_t)n, path_found, m);
	return;
fail:
	free(m);
}
