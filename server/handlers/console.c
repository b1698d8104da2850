/*
 * console.c: serves the brand console's files from the bytes compiled into
 * the binary (console_assets[], console/embed.sh), so an installed server
 * needs no data directory. Every reply carries a strict CSP (scripts,
 * styles and data from this origin only: the console has no inline script
 * and no CDN), an ETag to revalidate against (Cache-Control: no-cache, so
 * a new server's files are seen at once) and the gzip copy when the client
 * takes it.
 */
#include "handlers/console.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <string.h>

#include "edge/http.h"

/*
 * 'self' only. img-src data: for the charts' "save as image"; connect-src
 * for the admin API and the map files; no 'unsafe-inline' anywhere (the
 * charts' tooltips are drawn on the canvas, not as HTML with style
 * attributes).
 */
static const char csp[] = "default-src 'none'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
                          "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const char *console_csp(void)
{
	return csp;
}

const struct console_asset *console_find(const char *path, size_t len)
{
	if (len == 0) {
		path = "index.html";
		len = strlen(path);
	}
	for (size_t i = 0; i < console_assets_count; i++) {
		const struct console_asset *a = &console_assets[i];
		if (strlen(a->path) == len && memcmp(a->path, path, len) == 0)
			return a;
	}
	return NULL;
}

void console_route(struct request *r)
{
	const char *rest = "";
	size_t len = 0;
	/* "/console" has no capture; "/console/..." has the rest */
	if (r->route && strstr(r->route->pattern, "**")) {
		rest = r->cap[0].s;
		len = r->cap[0].len;
	}
	const struct console_asset *a = console_find(rest, len);
	http_header(r, "Content-Security-Policy", csp);
	if (!a) {
		http_reply_error(r, 404, "not_found", "no such file in the console");
		return;
	}
	const struct evkeyvalq *in = evhttp_request_get_input_headers(r->req);
	http_header(r, "ETag", a->etag);
	http_header(r, "Vary", "Accept-Encoding");
	if (console_etag_matches(evhttp_find_header(in, "If-None-Match"), a->etag)) {
		http_reply_static(r, 304, NULL, "no-cache");
		return;
	}
	struct evbuffer *out = http_out(r);
	if (a->gz && console_takes_gzip(evhttp_find_header(in, "Accept-Encoding"))) {
		http_header(r, "Content-Encoding", "gzip");
		evbuffer_add_reference(out, a->gz, a->gz_len, NULL, NULL);
	} else {
		evbuffer_add_reference(out, a->raw, a->raw_len, NULL, NULL);
	}
	http_reply_static(r, 200, a->type, "no-cache");
}
