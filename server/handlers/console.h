/*
 * console.h: the brand console's static files (console/, compiled in by
 * console/embed.sh into console_assets[]) and the route that serves them
 * at /console. The console is a page of plain JavaScript that draws every
 * number from the admin API; nothing here reads the database.
 */
#ifndef PACKCODE_SERVER_CONSOLE_H
#define PACKCODE_SERVER_CONSOLE_H

#include <stddef.h>

struct request;

/* One file of console/, as console/embed.sh wrote it. */
struct console_asset {
	const char *path;         /* under console/: "app.js", "vendor/.../echarts.min.js" */
	const char *type;         /* its Content-Type */
	const unsigned char *raw; /* its bytes */
	size_t raw_len;
	const unsigned char *gz; /* gzip -9n of them when that is smaller, else NULL */
	size_t gz_len;
	const char *etag; /* "\"...\"": from their SHA-256 */
};

extern const struct console_asset console_assets[];
extern const size_t console_assets_count;

/* The asset at path[0..len) under /console/ ("" is index.html), or NULL. */
const struct console_asset *console_find(const char *path, size_t len);

/* The Content-Security-Policy of every console reply (static storage). */
const char *console_csp(void);

/*
 * 1 if an Accept-Encoding value (NULL: none) takes gzip: named, and not
 * refused with q=0 (console_input.c, pure).
 */
int console_takes_gzip(const char *accept_encoding);
/* 1 if an If-None-Match value (NULL: none) names etag, or is "*". */
int console_etag_matches(const char *if_none_match, const char *etag);

/* GET /console and /console/...: the asset, 304 if the client's ETag is current, else 404. */
void console_route(struct request *r);

#endif
