/*
 * test_router.c: packcode-server's route table (server/routes.def, the very
 * rows the server serves) and the matcher: which row a path and method
 * reach, what is captured, 405 with the methods a path takes, 404, that
 * every row can be reached at all, and which listener serves which rows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <event2/http.h>
#include <stdio.h>
#include <string.h>

#include "routes.h"

static void handler(struct request *r)
{
	(void)r;
}

static const struct route table[] = {
#define ROUTE(id, methods, pattern, limit, auth, scope, flags, h, page)                            \
	ROUTE_ROW(id, methods, pattern, limit, auth, scope, flags, handler, NULL),
#include "routes.def"
#undef ROUTE
};
#define N (sizeof table / sizeof table[0])

static struct route_match m;

/* The id of the row path reaches on listener l ("404" if none, "405" if another method). */
static const char *reach_on(enum router_listener l, unsigned method, const char *path)
{
	switch (router_match(table, N, path, strlen(path), method, l, &m)) {
	case ROUTER_FOUND:
		return m.row->id;
	case ROUTER_BAD_METHOD:
		return "405";
	case ROUTER_NOT_FOUND:
		break;
	}
	return "404";
}

static const char *reach(unsigned method, const char *path)
{
	return reach_on(ROUTER_ONLY, method, path);
}

static const char *get(const char *path)
{
	return reach(EVHTTP_REQ_GET, path);
}

static const char *post(const char *path)
{
	return reach(EVHTTP_REQ_POST, path);
}

static void test_the_table_is_well_formed(void **state)
{
	char err[256];
	(void)state;
	assert_int_equal(router_check(table, N, err, sizeof err), 0);
}

static void test_consumer_routes_by_path(void **state)
{
	(void)state;
	assert_string_equal(get("/c/08NDYQW9146XWQN1ANSB"), "landing");
	assert_string_equal(get("/C/08ndyqw9146xwqn1ansb"), "landing");
	assert_int_equal(m.cap[0].len, 20);
	assert_memory_equal(m.cap[0].s, "08ndyqw9146xwqn1ansb", 20);
	assert_string_equal(post("/c/08NDYQW9146XWQN1ANSB/claim"), "landing_claim");
	assert_int_equal(m.row->flags & ROUTE_CLAIMS, ROUTE_CLAIMS);
	assert_string_equal(post("/c/08NDYQW9146XWQN1ANSB/report"), "landing_report");
	assert_string_equal(get("/"), "landing"); /* the home page: a field for the code */
	assert_string_equal(get("/01/04006381333931/21/08NDYQW9146XWQN1ANSB"), "landing");
	assert_string_equal(post("/api/v1/claims"), "claim");
	assert_string_equal(get("/api/v1/codes/08NDY-QW914"), "lookup");
	assert_string_equal(get("/api/v1/members/%2B8613800138000"), "member");
	assert_string_equal(get("/healthz"), "healthz");
	assert_string_equal(get("/readyz"), "readyz");
	assert_string_equal(get("/metrics"), "metrics");
}

static void test_captures_may_be_empty_only_where_declared(void **state)
{
	(void)state;
	assert_string_equal(get("/c/"), "landing");
	assert_int_equal(m.cap[0].len, 0);
	assert_string_equal(post("/c//claim"), "landing_claim");
	assert_string_equal(get("/api/v1/codes/"), "lookup");
	/* a member is the rest of the path: the handler refuses a slash in it */
	assert_string_equal(get("/api/v1/members/alice/../../etc"), "member");
	assert_int_equal(m.cap[0].len, strlen("alice/../../etc"));
}

static void test_admin_routes_by_path(void **state)
{
	(void)state;
	assert_string_equal(get("/api/v1/admin/products"), "admin_products");
	assert_string_equal(get("/api/v1/admin/PRODUCTS"), "admin_products");
	assert_string_equal(post("/api/v1/admin/products"), "admin_products");
	assert_string_equal(get("/api/v1/admin/batches"), "admin_batches");
	assert_string_equal(post("/api/v1/admin/batches/12/recall"), "admin_batch_status");
	assert_memory_equal(m.cap[0].s, "12", 2);
	assert_string_equal(post("/api/v1/admin/batches/12/unrecall"), "admin_batch_status");
	assert_string_equal(post("/api/v1/admin/members/crm:1/adjust"), "admin_adjust");
	assert_string_equal(post("/api/v1/admin/members/%2B86138/spend"), "admin_spend");
	assert_int_equal(m.cap[0].len, strlen("%2B86138"));
	assert_string_equal(get("/api/v1/admin/audit"), "admin_audit");
	assert_string_equal(get("/api/v1/admin/codes/suspicious"), "admin_suspicious");
	assert_string_equal(get("/api/v1/admin/stats"), "admin_stats");
	assert_string_equal(get("/api/v1/admin/batches/12"), "admin_batch");
	assert_string_equal(post("/api/v1/admin/session"), "admin_session");
	assert_int_equal(m.row->auth, ROUTE_AUTH_NONE);
	assert_string_equal(reach(EVHTTP_REQ_DELETE, "/api/v1/admin/session"), "admin_session");
	assert_int_equal(m.row->auth, ROUTE_AUTH_ADMIN);
	assert_string_equal(get("/api/v1/admin/me"), "admin_me");
	for (size_t i = 0; i < N; i++)
		if (strncmp(table[i].pattern, "/api/v1/admin/", 14) == 0 &&
		    strcmp(table[i].pattern, "/api/v1/admin/session") != 0) {
			assert_int_equal(table[i].auth, ROUTE_AUTH_ADMIN);
			assert_non_null(table[i].scope);
		}
}

static void test_unknown_admin_paths_fall_back(void **state)
{
	static const char *const paths[] = {
	    "",
	    "products/",
	    "batches//recall",
	    "batches/1/recall/x",
	    "members/x/delete",
	    "../products",
	    "codes",
	    "codes/suspicious/1",
	    "stats/x",
	};
	char path[128];
	(void)state;
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		snprintf(path, sizeof path, "/api/v1/admin/%s", paths[i]);
		assert_string_equal(get(path), "admin_other");
		assert_int_equal(m.row->auth, ROUTE_AUTH_ADMIN); /* 401 before 404 */
	}
}

static void test_known_path_wrong_method_is_405_with_allow(void **state)
{
	char allow[64];
	(void)state;
	assert_string_equal(post("/healthz"), "405");
	router_allow(m.allow, allow, sizeof allow);
	assert_string_equal(allow, "GET, HEAD");
	assert_string_equal(reach(EVHTTP_REQ_DELETE, "/api/v1/admin/products"), "405");
	router_allow(m.allow, allow, sizeof allow);
	assert_string_equal(allow, "GET, HEAD, POST");
	/* not the fallback's 404: the path is known */
	assert_string_equal(post("/api/v1/admin/stats"), "405");
	assert_string_equal(m.row->id, "admin_stats");
	assert_string_equal(get("/c/X/claim"), "405");
	router_allow(m.allow, allow, sizeof allow);
	assert_string_equal(allow, "POST");
	assert_string_equal(reach(EVHTTP_REQ_DELETE, "/c/X"), "405");
}

static void test_unknown_paths_are_404(void **state)
{
	(void)state;
	assert_string_equal(get("//"), "404");
	assert_string_equal(get("/c"), "404");
	assert_string_equal(get("/c/../../etc/passwd"), "404");
	assert_string_equal(get("/c/X/other"), "404");
	assert_string_equal(get("/api/v1/codes/X/../x"), "404");
	assert_string_equal(get("/api/v1/admin"), "404");
	assert_string_equal(get("/healthz/"), "404");
	assert_string_equal(get("/01"), "404");
	assert_string_equal(get("healthz"), "404");
	assert_string_equal(reach(EVHTTP_REQ_GET, ""), "404");
}

/* Every row is reached by a path made from its own pattern. */
static void test_every_row_is_reachable(void **state)
{
	(void)state;
	for (size_t i = 0; i < N; i++) {
		char path[256];
		size_t o = 0;
		for (const char *p = table[i].pattern; *p && o + 8 < sizeof path;) {
			if (*p == '{') {
				o += (size_t)snprintf(path + o, sizeof path - o, "x1");
				p = strchr(p, '}') + 1;
			} else if (p[0] == '*' && p[1] == '*') {
				o += (size_t)snprintf(path + o, sizeof path - o, "a/b");
				p += 2;
			} else {
				path[o++] = *p++;
			}
		}
		path[o] = '\0';
		unsigned method = table[i].methods & -table[i].methods; /* its first */
		assert_int_equal(router_match(table, N, path, o, method, ROUTER_ONLY, &m),
		                 ROUTER_FOUND);
		if (m.row != &table[i])
			fail_msg("%s reaches %s %s, not %s %s", path, m.row->id, m.row->pattern,
			         table[i].id, table[i].pattern);
	}
}

static void test_an_admin_listener_takes_metrics_and_the_admin_api(void **state)
{
	(void)state;
	/* beside an admin listener, the public one keeps the consumer and the probes */
	assert_string_equal(reach_on(ROUTER_PUBLIC, EVHTTP_REQ_GET, "/c/ABC"), "landing");
	assert_string_equal(reach_on(ROUTER_PUBLIC, EVHTTP_REQ_POST, "/api/v1/claims"), "claim");
	assert_string_equal(reach_on(ROUTER_PUBLIC, EVHTTP_REQ_GET, "/healthz"), "healthz");
	assert_string_equal(reach_on(ROUTER_PUBLIC, EVHTTP_REQ_GET, "/readyz"), "readyz");
	assert_string_equal(reach_on(ROUTER_PUBLIC, EVHTTP_REQ_GET, "/metrics"), "404");
	assert_string_equal(reach_on(ROUTER_PUBLIC, EVHTTP_REQ_GET, "/api/v1/admin/batches"),
	                    "404");
	assert_string_equal(reach_on(ROUTER_PUBLIC, EVHTTP_REQ_GET, "/api/v1/admin/nothing"),
	                    "404");
	assert_string_equal(reach_on(ROUTER_PUBLIC, EVHTTP_REQ_DELETE, "/api/v1/admin/products"),
	                    "404");
	/* the admin listener serves operations and the probes, nothing else */
	assert_string_equal(reach_on(ROUTER_ADMIN, EVHTTP_REQ_GET, "/metrics"), "metrics");
	assert_string_equal(reach_on(ROUTER_ADMIN, EVHTTP_REQ_GET, "/healthz"), "healthz");
	assert_string_equal(reach_on(ROUTER_ADMIN, EVHTTP_REQ_GET, "/readyz"), "readyz");
	assert_string_equal(reach_on(ROUTER_ADMIN, EVHTTP_REQ_GET, "/api/v1/admin/batches"),
	                    "admin_batches");
	assert_string_equal(reach_on(ROUTER_ADMIN, EVHTTP_REQ_GET, "/api/v1/admin/nothing"),
	                    "admin_other");
	assert_string_equal(reach_on(ROUTER_ADMIN, EVHTTP_REQ_DELETE, "/api/v1/admin/products"),
	                    "405");
	assert_string_equal(reach_on(ROUTER_ADMIN, EVHTTP_REQ_GET, "/c/ABC"), "404");
	assert_string_equal(reach_on(ROUTER_ADMIN, EVHTTP_REQ_POST, "/api/v1/claims"), "404");
	assert_string_equal(reach_on(ROUTER_ADMIN, EVHTTP_REQ_GET, "/api/v1/codes/ABC"), "404");
	/* every row is served somewhere in both set-ups */
	for (size_t i = 0; i < N; i++) {
		assert_true(router_serves(&table[i], ROUTER_ONLY));
		assert_true(router_serves(&table[i], ROUTER_PUBLIC) ||
		            router_serves(&table[i], ROUTER_ADMIN));
	}
}

static void test_malformed_rows_are_refused(void **state)
{
	char err[256];
	const struct route bad[][1] = {
	    {{"x", EVHTTP_REQ_GET, "nope", ROUTE_LIMIT_NONE, ROUTE_AUTH_NONE, NULL, 0, handler,
	      NULL}},
	    {{"x", 0, "/x", ROUTE_LIMIT_NONE, ROUTE_AUTH_NONE, NULL, 0, handler, NULL}},
	    {{"x", EVHTTP_REQ_GET, "/x", ROUTE_LIMIT_NONE, ROUTE_AUTH_NONE, NULL, 0, NULL, NULL}},
	    {{"x", EVHTTP_REQ_GET, "/x/**/y", ROUTE_LIMIT_NONE, ROUTE_AUTH_NONE, NULL, 0, handler,
	      NULL}},
	    {{"x", EVHTTP_REQ_GET, "/{a}/{b}/{c}/{d}/{e}", ROUTE_LIMIT_NONE, ROUTE_AUTH_NONE, NULL,
	      0, handler, NULL}},
	    {{"x", EVHTTP_REQ_GET, "/x", ROUTE_LIMIT_NONE, ROUTE_AUTH_ADMIN, NULL, 0, handler,
	      NULL}},
	};
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(router_check(bad[i], 1, err, sizeof err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_the_table_is_well_formed),
	    cmocka_unit_test(test_consumer_routes_by_path),
	    cmocka_unit_test(test_captures_may_be_empty_only_where_declared),
	    cmocka_unit_test(test_admin_routes_by_path),
	    cmocka_unit_test(test_unknown_admin_paths_fall_back),
	    cmocka_unit_test(test_known_path_wrong_method_is_405_with_allow),
	    cmocka_unit_test(test_unknown_paths_are_404),
	    cmocka_unit_test(test_every_row_is_reachable),
	    cmocka_unit_test(test_an_admin_listener_takes_metrics_and_the_admin_api),
	    cmocka_unit_test(test_malformed_rows_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
