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

#define RESOLVER_HREF_MAX  (DL_HREF_MAX + 1) /* a link's target */
#define RESOLVER_QUERY_MAX 160               /* a longer query is not passed on to a redirect */
#define RESOLVER_LINKS_MAX 64                /* links of an item shown (ours and the brand's) */
#define RESOLVER_OWN_MAX   4                 /* the resolver's own links: their hrefs are built */

/* One link of an answer: the resolver's own or a brand's. */
struct link {
	enum dl_link_type type; /* DL_LT_LINKSET: the linkset itself (rel="linkset") */
	const char *href, *title, *hreflang, *media_type; /* hreflang "" when none */
};

struct answer {
	char host[HOST_MAX + 1];
	char anchor[URL_MAX];
	struct dl_request q;
	struct link v[RESOLVER_LINKS_MAX];
	size_t n;
	char own[RESOLVER_OWN_MAX][URL_MAX + 32]; /* the hrefs of our own links */
	size_t nown;
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

/* One of our own links, its href to be written into the buffer returned. */
static char *add_own(struct answer *a, enum dl_link_type type, size_t *cap)
{
	struct link *l;
	if (a->nown == RESOLVER_OWN_MAX || !(l = add(a, type)))
		return NULL;
	char *href = a->own[a->nown++];
	href[0] = '\0';
	l->href = href;
	*cap = sizeof a->own[0];
	return href;
}

/* Percent-encode what is not RFC 3986 unreserved (our codes never need it; a typed serial may). */
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

/* Every link of the request: ours for a serial, then the brand's for the GTIN, then the linkset. */
static void collect(struct answer *a, struct request *r)
{
	struct link *l;
	char *href;
	size_t cap;
	int has_default = 0;
	if (a->q.key.code[0]) {
		static const enum dl_link_type ours[] = {DL_LT_DEFAULT, DL_LT_VERIFICATION};
		for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++) {
			href = add_own(a, ours[i], &cap);
			snprintf(href, cap, "https://%s/c/", a->host);
			put_encoded(href, cap, a->q.key.code);
			a->v[a->n - 1].title = "Is this pack genuine? (verification page)";
			a->v[a->n - 1].media_type = "text/html";
		}
		href = add_own(a, DL_LT_VERIFICATION, &cap);
		snprintf(href, cap, "https://%s/api/v1/codes/", a->host);
		put_encoded(href, cap, a->q.key.code);
		a->v[a->n - 1].title = "Verification of this pack (JSON)";
		a->v[a->n - 1].media_type = "application/json";
		has_default = 1;
	}
	a->snap = links_current(r->w->srv->links);
	const struct links_link *bl;
	size_t nb = links_snapshot_find(a->snap, a->q.key.gtin, &bl);
	for (size_t i = 0; i < nb; i++) {
		/*
		 * At the GTIN level the product page is the default, if the brand set
		 * one: its first (the one of no language, if any, sorts first), and
		 * without attributes, as the standard wants the default link.
		 */
		if (!has_default && bl[i].type == DL_LT_PIP && (l = add(a, DL_LT_DEFAULT))) {
			l->href = bl[i].href;
			l->title = bl[i].title;
			l->media_type = bl[i].media_type;
			has_default = 1;
		}
		if (!(l = add(a, bl[i].type)))
			break;
		l->href = bl[i].href;
		l->title = bl[i].title;
		l->hreflang = bl[i].hreflang;
		l->media_type = bl[i].media_type;
		a->product = bl[i].product;
	}
	if (a->n && (href = add_own(a, DL_LT_LINKSET, &cap))) {
		snprintf(href, cap, "%s?linkType=linkset", a->anchor);
		a->v[a->n - 1].title = "Every link of this item (RFC 9264 linkset)";
		a->v[a->n - 1].media_type = "application/linkset+json";
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
			char enc[3 * DL_TITLE_MAX + 8] = "";
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

/* Traditional Chinese by script or region: zh-Hant, zh-TW, zh-HK, zh-MO. */
static int hant(const char *tag)
{
	static const char *const marks[] = {"-hant", "-tw", "-hk", "-mo"};
	char low[DL_HREFLANG_MAX + 1];
	size_t n = 0;
	for (; tag[n] && n < DL_HREFLANG_MAX; n++)
		low[n] = (char)(tag[n] >= 'A' && tag[n] <= 'Z' ? tag[n] - 'A' + 'a' : tag[n]);
	low[n] = '\0';
	for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
		if (strstr(low, marks[i]))
			return 1;
	return 0;
}

/*
 * How well a link's hreflang fits the language the request prefers (lang,
 * or -1 for none said): 3 the same language (and script), 2 Chinese of the
 * other script, 1 no language in particular, 0 another.
 */
static int lang_score(const char *hreflang, int lang)
{
	if (!hreflang[0])
		return 1;
	int zh = (hreflang[0] == 'z' || hreflang[0] == 'Z') &&
	         (hreflang[1] == 'h' || hreflang[1] == 'H') && (!hreflang[2] || hreflang[2] == '-');
	int en = (hreflang[0] == 'e' || hreflang[0] == 'E') &&
	         (hreflang[1] == 'n' || hreflang[1] == 'N') && (!hreflang[2] || hreflang[2] == '-');
	switch (lang) {
	case LANG_EN:
		return en ? 3 : 0;
	case LANG_ZH:
		return zh ? (hant(hreflang) ? 2 : 3) : 0;
	case LANG_ZH_HANT:
		return zh ? (hant(hreflang) ? 3 : 2) : 0;
	default:
		return 0;
	}
}

/*
 * The link of type t that fits the request best (GS1: Accept-Language
 * chooses among links of one type): media first (when not NULL), then the
 * language, then the first listed. NULL if the item has none of type t.
 */
static const struct link *find(const struct answer *a, enum dl_link_type t, const char *media,
                               int lang)
{
	const struct link *best = NULL;
	int best_score = -1;
	for (size_t i = 0; i < a->n; i++) {
		if (a->v[i].type != t)
			continue;
		int score = (media && strcmp(a->v[i].media_type, media) == 0 ? 10 : 0) +
		            lang_score(a->v[i].hreflang, lang);
		if (score > best_score) {
			best = &a->v[i];
			best_score = score;
		}
	}
	return best;
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
			landing_handle(r, a->q.key.code, strlen(a->q.key.code), a->q.key.gtin,
			               a->q.key.lot[0] ? a->q.key.lot : NULL);
		goto out;
	}
	if (t == DL_LT_NONE)
		t = DL_LT_DEFAULT;
	if (t == DL_LT_DEFAULT && !a->q.key.code[0] && find(a, DL_LT_PIP, NULL, -1))
		t = DL_LT_PIP; /* the GTIN's default is its product page: in the reader's language
		                */
	const char *al =
	    evhttp_find_header(evhttp_request_get_input_headers(r->req), "Accept-Language");
	int lang = al && *al ? (int)r->lang : -1; /* r->lang is English when none was said */
	const struct link *l =
	    t == DL_LT_UNKNOWN ? NULL
	                       : find(a, t, r->want_json ? "application/json" : "text/html", lang);
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
