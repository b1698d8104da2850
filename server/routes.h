/*
 * routes.h: the route table of packcode-server (routes.def, made into rows
 * by routes.c): what main.c hands to the edge (http_routes).
 */
#ifndef PACKCODE_SERVER_ROUTES_H
#define PACKCODE_SERVER_ROUTES_H

#include <stddef.h>

#include "edge/router.h"

#define ROUTE_GET_HEAD (EVHTTP_REQ_GET | EVHTTP_REQ_HEAD)
#define ROUTE_POST     EVHTTP_REQ_POST
#define ROUTE_DELETE   EVHTTP_REQ_DELETE
#define ROUTE_OPTIONS  EVHTTP_REQ_OPTIONS
#define ROUTE_ANY                                                                                  \
	(EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | \
	 EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT)

/*
 * One row of routes.def as a struct route initialiser; handler and page are
 * expressions, so a test can put its own in their place.
 */
#define ROUTE_ROW(id, methods, pattern, limit, auth, scope, flags, handler, page)                  \
	{                                                                                          \
#id, ROUTE_##methods, pattern, ROUTE_LIMIT_##limit, ROUTE_AUTH_##auth, scope,      \
		    flags, handler, page                                                           \
	}
extern const struct route routes[];
extern const size_t routes_count;

#endif
