/*
 * resolver.c: the GS1 Digital Link resolver of our own codes.
 *
 * A request names a GTIN and maybe a serial (our code), lot and variant; its
 * links are the resolver's own (the landing page as gs1:defaultLink and
 * gs1:verificationService, the lookup API as the latter's JSON) for a
 * serial, and the brand's for the GTIN (engine/links.c, from product_links).
 * Every answer but a syntax error carries them in a Link header (RFC 8288);
 * no linkType serves the landing page in place (landing.c), a link type
 * answers 307 to its link (404 when the item has none), linkset/all or
 * Accept: application/linkset+json the linkset (RFC 9264). Nothing here
 * touches the database: the landing page does, as before.
 */
#include "handlers/resolver.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/http.h"
#include "engine/links.h"
#include "handlers/landing.h"
#include "handlers/lookup.h"
#include "server.h"
#include "url.h"

#define RESOLVER_HREF_MAX  1200 /* a brand's href (1000) and a query passed on */
#define RESOLVER_QUERY_MAX 160  /* a longer query is not passed on to a redirect */
#define RESOLVER_LINKS_MAX (DL_LT_COUNT + 4)

/* One link of an answer: the resolver's own or a brand's. */
struct link {
	enum dl_link_type type; /* DL_LT_LINKSET: the linkset itself (rel="linkset") */
	char href[RESOLVER_HREF_MAX];
	const char *title, *hreflang, *media_type; /* hreflang "" when none */
};

struct answer {
	char host[HOST_MAX + 1];
	char anchor[URL_MAX];
	struct dl_request q;
	struct link v[RESOLVER_LINKS_MAX];
	size_t n;
	const char *product;         /* the product's name when the brand set links, else NULL */
	struct links_snapshot *snap; /* keeps product and the brand's strings alive */
};

/* The host of our URLs: --public-host, else a valid Host header, else the listen address's. */
static void answer_host(const struct request *r, char *out, size_t outlen)
{
	const char *cfg = r->w->srv->cfg.public_host;
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Host");
	const char *pick = cfg ? cfg : (h && host_valid(h) == 0 ? h : "localhost");
	snprintf(out, outlen, "%s", pick);
}

static struct link *add(struct answer *a, enum dl_link_type type)
{
	if (a->n == RESOLVER_LINKS_MAX)
		return NULL;
	struct link *l = &a->v[a->n++];
	memset(l, 0, sizeof *l);
	l->type = type;
	l->hreflang = "";
	return l;
}

/* Percent-encode what is not RFC 3986 unreserved: our codes never need it, a hand-typed serial may.
 */
static void put_encoded(char *out, size_t outlen, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = strlen(out);
	for (; *s && o + 4 < outlen; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

static void copy_href(struct link *l, const char *href)
{
	size_t n = strnlen(href, sizeof l->href - 1);
	memcpy(l->href, href, n);
	l->href[n] = '\0';
}

/* Every link of the request: ours for a serial, then the brand's for the GTIN, then the linkset. */
static void collect(struct answer *a, struct request *r)
{
	struct link *l;
	char host[HOST_MAX + 1];
	memcpy(host, a->host, sizeof host);
	if (a->q.key.code[0]) {
		static const enum dl_link_type ours[] = {DL_LT_DEFAULT, DL_LT_VERIFICATION};
		for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++) {
			l = add(a, ours[i]);
			snprintf(l->href, sizeof l->href, "https://%s/c/", host);
			put_encoded(l->href, sizeof l->href, a->q.key.code);
			l->title = "Is this pack genuine? (verification page)";
			l->media_type = "text/html";
		}
		l = add(a, DL_LT_VERIFICATION);
		snprintf(l->href, sizeof l->href, "https://%s/api/v1/codes/", host);
		put_encoded(l->href, sizeof l->href, a->q.key.code);
		l->title = "Verification of this pack (JSON)";
		l->media_type = "application/json";
	}
	a->snap = links_current(r->w->srv->links);
	const struct links_link *bl;
	size_t nb = links_snapshot_find(a->snap, a->q.key.gtin, &bl);
	for (size_t i = 0; i < nb; i++) {
		/* at the GTIN level the product page is the default, if the brand set one */
		if (!a->q.key.code[0] && bl[i].type == DL_LT_PIP && (l = add(a, DL_LT_DEFAULT))) {
			copy_href(l, bl[i].href);
			l->title = bl[i].title;
			l->media_type = bl[i].media_type;
		}
		if (!(l = add(a, bl[i].type)))
			break;
		copy_href(l, bl[i].href);
		l->title = bl[i].title;
		l->hreflang = bl[i].hreflang;
		l->media_type = bl[i].media_type;
		a->product = bl[i].product;
	}
	if (a->n && (l = add(a, DL_LT_LINKSET))) {
		snprintf(l->href, sizeof l->href, "%s?linkType=linkset", a->anchor);
		l->title = "Every link of this item (RFC 9264 linkset)";
		l->media_type = "application/linkset+json";
	}
}

static void rel_of(const struct link *l, char *out, size_t outlen)
{
	if (l->type == DL_LT_LINKSET)
		snprintf(out, outlen, "linkset");
	else
		snprintf(out, outlen, DL_VOC "%s", dl_link_type_term(l->type));
}

static int ascii_only(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/*
 * Link: every link with its rel, title, type and hreflang (RFC 8288). A
 * title that is not ASCII goes in title* (RFC 8187), after an ASCII title
 * naming the link type, as a header value is ASCII.
 */
static void link_header(struct request *r, const struct answer *a, int linkset_context)
{
	struct evbuffer *b = evbuffer_new();
	if (!b)
		return;
	for (size_t i = 0; i < a->n; i++) {
		const struct link *l = &a->v[i];
		char rel[96];
		rel_of(l, rel, sizeof rel);
		evbuffer_add_printf(b, "%s<%s>; rel=\"%s\"; type=\"%s\"", i ? ", " : "", l->href,
		                    rel, l->media_type);
		if (ascii_only(l->title)) {
			evbuffer_add_printf(b, "; title=\"%s\"", l->title);
		} else {
			char enc[3 * 200 + 1] = "";
			put_encoded(enc, sizeof enc, l->title);
			evbuffer_add_printf(
			    b, "; title=\"%s\"; title*=UTF-8''%s",
			    l->type == DL_LT_LINKSET ? "linkset" : dl_link_type_term(l->type), enc);
		}
		if (l->hreflang[0])
			evbuffer_add_printf(b, "; hreflang=\"%s\"", l->hreflang);
	}
	if (linkset_context)
		evbuffer_add_printf(b,
		                    "%s<" RESOLVER_LINKSET_CONTEXT
		                    ">; rel=\"http://www.w3.org/ns/json-ld#context\"; "
		                    "type=\"application/ld+json\"",
		                    a->n ? ", " : "");
	size_t len = evbuffer_get_length(b);
	if (len) {
		char *v = malloc(len + 1);
		if (v) {
			evbuffer_copyout(b, v, len);
			v[len] = '\0';
			http_header(r, "Link", v);
			free(v);
		}
	}
	evbuffer_free(b);
}

/* What every resolution carries: CORS for apps in browsers, and the links. */
static void common_headers(struct request *r, const struct answer *a, int linkset_context)
{
	http_header(r, "Access-Control-Allow-Origin", "*");
	http_header(r, "Access-Control-Expose-Headers", "Link, Location");
	link_header(r, a, linkset_context);
}

/* The linkset (RFC 9264 section 4.2, the GS1 resolver's schema): one context, the anchor. */
static void reply_linkset(struct request *r, const struct answer *a)
{
	json_t *ctx = json_object(), *set = json_array(), *top;
	json_object_set_new(ctx, "anchor", json_string(a->anchor));
	if (a->product)
		json_object_set_new(ctx, "description", json_string(a->product));
	for (size_t i = 0; i < a->n; i++) {
		const struct link *l = &a->v[i];
		char rel[96];
		if (l->type == DL_LT_LINKSET)
			continue; /* the linkset does not list itself */
		rel_of(l, rel, sizeof rel);
		json_t *arr = json_object_get(ctx, rel);
		if (!arr) {
			arr = json_array();
			json_object_set_new(ctx, rel, arr);
		}
		json_t *t = json_pack("{s:s,s:s,s:s}", "href", l->href, "title", l->title, "type",
		                      l->media_type);
		if (t && l->hreflang[0])
			json_object_set_new(t, "hreflang", json_pack("[s]", l->hreflang));
		json_array_append_new(arr, t);
	}
	json_array_append_new(set, ctx);
	top = json_pack("{s:o}", "linkset", set);
	char *text = top ? json_dumps(top, JSON_COMPACT) : NULL;
	json_decref(top);
	struct evbuffer *b = evbuffer_new();
	if (!text || !b) {
		free(text);
		evbuffer_free(b);
		http_reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	evbuffer_add(b, text, strlen(text));
	free(text);
	http_header(r, "Vary", "Accept");
	http_reply_text(r, 200, "application/linkset+json", b);
	evbuffer_free(b);
}

/* 307 to href, the request's query passed on (GS1: "all key=value pairs"). */
static void redirect(struct request *r, const struct answer *a, const char *href)
{
	char to[RESOLVER_HREF_MAX + RESOLVER_QUERY_MAX + 2];
	size_t qn = strlen(r->query);
	int pass = qn > 0 && qn <= RESOLVER_QUERY_MAX;
	for (size_t i = 0; pass && i < qn; i++)
		if ((unsigned char)r->query[i] <= 0x20 || (unsigned char)r->query[i] >= 0x7f)
			pass = 0; /* not a query a Location header can carry as it is */
	snprintf(to, sizeof to, "%s%s%s", href, pass ? (strchr(href, '?') ? "&" : "?") : "",
	         pass ? r->query : "");
	(void)a;
	http_header(r, "Location", to);
	http_header(r, "Vary", "Accept");
	http_reply_json(r, 307, json_pack("{s:s}", "location", to));
}

/* The first link of type t, preferring media (when not NULL). */
static const struct link *find(const struct answer *a, enum dl_link_type t, const char *media)
{
	const struct link *first = NULL;
	for (size_t i = 0; i < a->n; i++) {
		if (a->v[i].type != t)
			continue;
		if (!media || strcmp(a->v[i].media_type, media) == 0)
			return &a->v[i];
		if (!first)
			first = &a->v[i];
	}
	return first;
}

static void not_available(struct request *r, const struct answer *a)
{
	char msg[160];
	if (a->q.link_type == DL_LT_NONE || a->q.link_type == DL_LT_DEFAULT)
		snprintf(msg, sizeof msg, "no link for this item");
	else
		snprintf(msg, sizeof msg, "no link of type %s for this item", a->q.link_type_text);
	landing_not_found(r, 404, "not_found", msg);
}

void resolver_route_digital_link(struct request *r)
{
	struct answer *a = calloc(1, sizeof *a);
	if (!a) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	answer_host(r, a->host, sizeof a->host);
	if (dl_parse_request(r->path, r->path_len, r->query, strlen(r->query), &a->q) < 0) {
		/* GS1: a URI that fails the syntax is a 400, to browsers a page */
		http_header(r, "Access-Control-Allow-Origin", "*");
		landing_not_found(r, 400, "bad_request", "not a GS1 Digital Link URI of a GTIN");
		goto out;
	}
	if (dl_request_uri(a->anchor, sizeof a->anchor, a->host, &a->q) < 0) {
		landing_not_found(r, 400, "bad_request", "not a GS1 Digital Link URI of a GTIN");
		goto out;
	}
	collect(a, r);
	const char *accept = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Accept");
	enum dl_link_type t = a->q.link_type;
	if (t == DL_LT_NONE && negotiate_linkset(accept))
		t = DL_LT_LINKSET;
	common_headers(r, a, t == DL_LT_LINKSET);
	if (t == DL_LT_LINKSET) {
		if (a->n == 0)
			not_available(r, a);
		else
			reply_linkset(r, a);
		goto out;
	}
	if ((t == DL_LT_NONE || t == DL_LT_DEFAULT) && a->q.key.code[0]) {
		/*
		 * The default: the landing page, served here (a lookup's JSON for an
		 * API client). The paths landing.c reads itself (every URL mint
		 * prints) go to it whole, with their lot; the rest (a trailing slash,
		 * a variant) with the code and the GTIN.
		 */
		struct dl_path p;
		if (dl_parse_path(r->path, r->path_len, &p) == 0)
			landing_route_digital_link(r);
		else
			landing_handle(r, a->q.key.code, strlen(a->q.key.code), a->q.key.gtin);
		goto out;
	}
	if (t == DL_LT_NONE)
		t = DL_LT_DEFAULT;
	const struct link *l =
	    t == DL_LT_UNKNOWN ? NULL : find(a, t, r->want_json ? "application/json" : "text/html");
	if (l)
		redirect(r, a, l->href);
	else
		not_available(r, a);
out:
	links_snapshot_unref(a->snap);
	free(a);
}

/*
 * /00/{SSCC}: a pallet's code (code-format.md). No pallet has links yet
 * (the packing records are to come): a valid SSCC is 404, a malformed one
 * 400, each a page for a phone and JSON for an API client.
 */
void resolver_route_sscc(struct request *r)
{
	char sscc[SSCC_LEN + 1];
	http_header(r, "Access-Control-Allow-Origin", "*");
	if (dl_parse_sscc_path(r->path, r->path_len, sscc) < 0)
		landing_not_found(r, 400, "bad_request", "not a GS1 Digital Link URI of an SSCC");
	else
		landing_not_found(r, 404, "not_found", "no link for this logistic unit");
}

void resolver_route_options(struct request *r)
{
	http_header(r, "Access-Control-Allow-Origin", "*");
	http_header(r, "Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
	http_header(r, "Access-Control-Allow-Headers", "Accept, Accept-Language");
	http_header(r, "Access-Control-Expose-Headers", "Link, Location");
	http_header(r, "Access-Control-Max-Age", "86400");
	http_header(r, "Allow", "GET, HEAD, OPTIONS");
	struct evbuffer *b = evbuffer_new();
	if (!b) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	http_reply_text(r, 204, "text/plain", b);
	evbuffer_free(b);
}

/* The resolver description file (GS1-Conformant resolver standard, section 3). */
void resolver_route_well_known(struct request *r)
{
	char host[HOST_MAX + 1], root[HOST_MAX + 16];
	answer_host(r, host, sizeof host);
	snprintf(root, sizeof root, "https://%s", host);
	for (char *p = root; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	http_header(r, "Access-Control-Allow-Origin", "*");
	http_reply_json(r, 200,
	                json_pack("{s:s,s:s,s:[s],s:[{s:s,s:s}],s:b,s:s}", "name",
	                          "packcode GS1 Digital Link resolver", "resolverRoot", root,
	                          "supportedPrimaryKeys", "01", "supportedLinkType", "namespace",
	                          DL_VOC, "prefix", "gs1:", "linkTypeDefaultCanBeLinkset", 0,
	                          "jsonLdContextLocation", RESOLVER_LINKSET_CONTEXT));
}
