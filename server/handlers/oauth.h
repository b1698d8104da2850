/*
 * oauth.h: members signing in through an OpenID Connect provider
 * (authorization code + PKCE, the ID token checked against the provider's
 * JWKS) or WeChat web authorization (snsapi_base, silently inside WeChat),
 * and a signed-in member adding such an identity to their account. Each
 * worker has its own outbound client (engine/outbound.c) on its loop and
 * its own copy of the provider's discovery document and JWKS. A flow's
 * state, nonce and verifier wait in oauth_states (sql/012_oauth.sql),
 * found by the state's hash and taken once; the state is also in a cookie,
 * so only the browser that started a flow can finish it.
 */
#ifndef PACKCODE_SERVER_OAUTH_H
#define PACKCODE_SERVER_OAUTH_H

#include <stddef.h>

struct request;
struct server_config;
struct worker;

/* The flow's cookie (Path=/auth/): the state of the flow this browser started. */
#define OAUTH_STATE_COOKIE "pc_oauth"
/* Set when the landing page sent a WeChat browser to sign in, so it does so once. */
#define OAUTH_WECHAT_TRIED_COOKIE "pc_wx"

/* The options of OIDC and WeChat, checked together: 0, or -1 with err. */
int oauth_config_check(const struct server_config *cfg, char *err, size_t errlen);

/* w->oauth, when sign-in through a provider is configured: 0, or -1 (out of memory). */
int oauth_start(struct worker *w);
/*
 * Abort the requests to providers still running (their clients get 503)
 * and free w->oauth; before the pool is freed. NULL-safe.
 */
void oauth_stop(struct worker *w);

/* GET /auth/oidc?return=/path[&link=1]: to the provider's authorization page. */
void oauth_route_oidc_start(struct request *r);
/* GET /auth/oidc/callback?code=...&state=...: the provider sends the browser back. */
void oauth_route_oidc_callback(struct request *r);
/* GET /auth/wechat?return=/path[&link=1] */
void oauth_route_wechat_start(struct request *r);
/* GET /auth/wechat/callback?code=...&state=... */
void oauth_route_wechat_callback(struct request *r);

/*
 * For the landing page: a WeChat browser (User-Agent MicroMessenger) that
 * has no member cookie and has not just tried is sent to sign in through
 * WeChat and back to this page. 1 if r was answered so (a redirect), else 0.
 */
int oauth_wechat_silent(struct request *r);

#endif
