/*
 * resolver.h: the GS1 Digital Link resolver of our own codes (GS1-Conformant
 * resolver standard; docs/resolver.md): GET /01/... answers by linkType (the
 * landing page by default, 307 to a link, a linkset), with a Link header on
 * every resolution; OPTIONS /01/... for CORS; GET /.well-known/gs1resolver.
 */
#ifndef PACKCODE_SERVER_RESOLVER_H
#define PACKCODE_SERVER_RESOLVER_H

#include <stddef.h>

#include "url.h"

struct request;

/* The route table's handlers. */
void resolver_route_digital_link(struct request *r);
void resolver_route_options(struct request *r);
void resolver_route_well_known(struct request *r);
void resolver_route_sscc(struct request *r);
/* The admin API (resolver_admin.c): a product's links, read, set, removed. */
void resolver_route_links(struct request *r);
void resolver_route_link_set(struct request *r);
void resolver_route_link_delete(struct request *r);

/* A brand's link as the admin API takes it. */
struct resolver_link_in {
	enum dl_link_type type;
	char href[DL_HREF_MAX + 1];
	char title[DL_TITLE_MAX + 1];
	char hreflang[DL_HREFLANG_MAX + 1]; /* "" when none */
	char media_type[DL_MEDIA_TYPE_MAX + 1];
};

/*
 * Decode {"link_type", "href", "title", "hreflang" (optional), "type"
 * (optional, text/html)} (resolver_input.c: pure, fuzzed): 0, or -1 with
 * err; *bad_json set when it is not JSON at all.
 */
int resolver_link_decode(const char *body, size_t len, struct resolver_link_in *out, int *bad_json,
                         char *err, size_t errlen);

/* The linkset's JSON-LD context, named in a Link header of every linkset. */
#define RESOLVER_LINKSET_CONTEXT "https://ref.gs1.org/standards/resolver/linkset-context"

#endif
