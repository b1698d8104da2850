/*
 * router.c: matching a request against the route table. Pure: no I/O, no
 * allocation, so the whole table can be unit-tested path by path. Rows are
 * tried in order; a row marked ROUTE_FALLBACK only when no other row's
 * path matched, so a known path with a wrong method is a 405, not the
 * fallback's answer. A row the request's listener does not serve is not
 * there at all.
 */
#include "edge/router.h"

#include <event2/http.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct {
	unsigned bit;
	const char *name;
} method_names[] = {
    {EVHTTP_REQ_GET, "GET"},     {EVHTTP_REQ_HEAD, "HEAD"},     {EVHTTP_REQ_POST, "POST"},
    {EVHTTP_REQ_PUT, "PUT"},     {EVHTTP_REQ_DELETE, "DELETE"}, {EVHTTP_REQ_OPTIONS, "OPTIONS"},
    {EVHTTP_REQ_PATCH, "PATCH"}, {EVHTTP_REQ_TRACE, "TRACE"},   {EVHTTP_REQ_CONNECT, "CONNECT"},
};

/* 1 if path[0..len) fits pattern; captures in m. */
static int fits(const char *pat, const char *path, size_t len, struct route_match *m)
{
	size_t i = 1;
	m->ncap = 0;
	if (pat[0] != '/' || len == 0 || path[0] != '/')
		return 0;
	pat++;
	for (;;) {
		size_t plen = strcspn(pat, "/"), slen = 0;
		while (i + slen < len && path[i + slen] != '/')
			slen++;
		if (plen == 2 && pat[0] == '*' && pat[1] == '*') {
			/* the rest of the path, whatever it holds: the last capture */
			if (m->ncap < ROUTE_CAPTURES_MAX)
				m->cap[m->ncap++] = (struct route_capture){path + i, len - i};
			return 1;
		}
		if (pat[0] == '{') {
			int optional = plen >= 3 && pat[plen - 2] == '?';
			if (!slen && !optional)
				return 0;
			if (m->ncap < ROUTE_CAPTURES_MAX)
				m->cap[m->ncap++] = (struct route_capture){path + i, slen};
		} else if (plen != slen || strncasecmp(pat, path + i, plen) != 0) {
			return 0;
		}
		pat += plen;
		i += slen;
		if (!*pat)
			return i == len;
		if (i >= len || path[i] != '/')
			return 0;
		pat++;
		i++;
	}
}

int router_serves(const struct route *row, enum router_listener l)
{
	switch (l) {
	case ROUTER_ONLY:
		return 1;
	case ROUTER_PUBLIC:
		return !(row->flags & ROUTE_OPS);
	case ROUTER_ADMIN:
		return (row->flags & (ROUTE_OPS | ROUTE_PROBE)) != 0;
	}
	return 0;
}

enum router_result router_match(const struct route *table, size_t n, const char *path, size_t len,
                                unsigned method, enum router_listener l, struct route_match *m)
{
	struct route_match try = {0};
	unsigned allow = 0;
	m->row = NULL;
	m->allow = 0;
	m->ncap = 0;
	for (int fallback = 0; fallback < 2 && !m->row; fallback++)
		for (size_t i = 0; i < n; i++) {
			const struct route *row = &table[i];
			if (!(row->flags & ROUTE_FALLBACK) != !fallback || !router_serves(row, l) ||
			    !fits(row->pattern, path, len, &try))
				continue;
			if (row->methods & method) {
				*m = try;
				m->row = row;
				m->allow = 0;
				return ROUTER_FOUND;
			}
			if (!m->row) {
				*m = try;
				m->row = row;
			}
			allow |= row->methods;
		}
	m->allow = allow;
	return m->row ? ROUTER_BAD_METHOD : ROUTER_NOT_FOUND;
}

void router_allow(unsigned methods, char *out, size_t outlen)
{
	size_t used = 0;
	if (outlen)
		out[0] = '\0';
	for (size_t i = 0; i < sizeof method_names / sizeof method_names[0]; i++) {
		if (!(methods & method_names[i].bit))
			continue;
		int k = snprintf(out + used, outlen - used, "%s%s", used ? ", " : "",
		                 method_names[i].name);
		if (k < 0 || (size_t)k >= outlen - used)
			return;
		used += (size_t)k;
	}
}

int router_check(const struct route *table, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		const struct route *row = &table[i];
		const char *p = row->pattern;
		int caps = 0;
		if (!row->id || !row->methods || !row->handler || !p || p[0] != '/') {
			snprintf(err, errlen,
			         "route %zu: needs an id, methods, a handler and a "
			         "pattern starting with /",
			         i);
			return -1;
		}
		for (const char *s = p; (s = strchr(s, '{')); s++)
			caps++;
		caps += strstr(p, "**") != NULL;
		const char *rest = strstr(p, "**");
		if (caps > ROUTE_CAPTURES_MAX || (rest && (rest[-1] != '/' || rest[2] != '\0'))) {
			snprintf(
			    err, errlen,
			    "route %s %s: at most %d captures, and ** only as the last segment",
			    row->id, p, ROUTE_CAPTURES_MAX);
			return -1;
		}
		if (row->auth == ROUTE_AUTH_ADMIN && !row->scope) {
			snprintf(err, errlen, "route %s %s: an admin route declares its scope",
			         row->id, p);
			return -1;
		}
	}
	return 0;
}
