/*
 * webhooks.h (handlers): the admin API's webhook subscriptions under
 * /api/v1/admin/webhooks (docs/api.md, docs/webhooks.md): list, add (the
 * secret shown once), delete, a subscription's deliveries with their
 * attempts, and replay. engine/webhooks.c sends the deliveries; this is
 * only their administration.
 */
#ifndef PACKCODE_SERVER_HANDLERS_WEBHOOKS_H
#define PACKCODE_SERVER_HANDLERS_WEBHOOKS_H

#include <stddef.h>

#include "edge/http.h"
#include "handlers/admin.h"

#define WEBHOOK_URL_MAX        2048
#define WEBHOOK_EVENTS_MAX     32
#define WEBHOOK_EVENT_MAX      64 /* characters of an event type */
#define WEBHOOK_SECRET_MIN     16
#define WEBHOOK_SECRET_MAX     128
#define WEBHOOK_SECRET_PREFIX  "whsec_"
#define WEBHOOK_SECRET_GEN_LEN (sizeof WEBHOOK_SECRET_PREFIX - 1 + 43) /* and 32 random bytes */

/* The route table's handlers; the edge checked the token and the method. */
void admin_route_webhooks(struct request *r);           /* GET webhooks */
void admin_route_webhook_add(struct request *r);        /* POST webhooks */
void admin_route_webhook_delete(struct request *r);     /* DELETE webhooks/{id} */
void admin_route_webhook_deliveries(struct request *r); /* GET webhooks/{id}/deliveries */
void admin_route_webhook_replay(struct request *r);     /* POST .../deliveries/{event}/replay */

/* ---- decoded without side effects (webhooks_input.c) ---- */

/* POST webhooks: {"url", "events": [...], "secret" (optional)}. */
struct webhook_in {
	char url[WEBHOOK_URL_MAX + 1]; /* its scheme in lower case */
	char events[WEBHOOK_EVENTS_MAX][WEBHOOK_EVENT_MAX + 1];
	int nevents; /* 1 or more, each once */
	char secret[WEBHOOK_SECRET_MAX + 1];
	int has_secret;
};

/*
 * Fill *out from a subscription's body, or say in err (for a 400 reply)
 * what is wrong. Whether each event type exists is the database's to say.
 */
enum admin_decode webhook_decode(const char *body, size_t len, struct webhook_in *out, char *err,
                                 size_t errlen);

/*
 * A receiver's URL: http:// or https:// (any case), a host (a name, IPv4
 * or [IPv6]) and an optional port 1-65535, no user or password, then any
 * path and query; printable ASCII without spaces, at most 2048 bytes.
 * 0, or -1 with err.
 */
int webhook_url_check(const char *url, char *err, size_t errlen);

/* An event type's name: "claim.awarded": lower-case words joined by dots. 0 or -1. */
int webhook_event_check(const char *name);

/* A secret given by the client: 16-128 printable ASCII characters, no space. 0 or -1. */
int webhook_secret_check(const char *secret);

#endif
