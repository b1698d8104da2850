/*
 * oauth.c: sign-in through an OpenID Connect provider and through WeChat web
 * authorization (oauth.h), and a signed-in member linking such an identity.
 * Every request to a provider goes through this worker's outbound client, on
 * its loop: a flow is a chain of callbacks (database, provider, database),
 * each answering its client exactly once, 503 when a provider or the
 * database is away. Nothing a provider or a browser sent is trusted before
 * it is checked by oidc.c's pure functions; no secret reaches a log.
 */
#include "handlers/oauth.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <sys/queue.h> /* before keyvalq_struct.h: TAILQ_FOREACH */
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "clock.h"
#include "edge/http.h"
#include "engine/outbound.h"
#include "engine/pool.h"
#include "handlers/auth.h"
#include "handlers/oidc.h"
#include "log.h"
#include "pii.h"
#include "server.h"

#define STATE_BYTES  32
#define STATE_LEN    (2 * STATE_BYTES) /* hex: WeChat takes [A-Za-z0-9] only */
#define RETURN_MAX   512
#define LINK_MAX     64
#define CODE_MAX     512
#define DOC_MAX      (64 * 1024) /* a discovery document, a JWKS, a token reply */
#define JWKS_REFETCH 1000        /* ms: an unknown kid refetches a JWKS older than this */
#define LEEWAY_S     60
#define MAX_AGE_S    600

struct oauth {
	struct worker *w;
	struct outbound *out;
	struct oidc_discovery disc; /* the provider's endpoints, once fetched */
	int have_disc;
	struct jwks *jwks; /* its keys, once fetched */
	long long jwks_ms; /* when (monotonic ms) */
};

enum provider { PROVIDER_OIDC, PROVIDER_WECHAT };
static const char *const provider_name[] = {"oidc", "wechat"};

enum step { STEP_DISCOVERY, STEP_TOKEN, STEP_JWKS };

struct flow {
	struct request *r;
	struct oauth *o;
	enum provider provider;
	enum step step;               /* the provider request in flight */
	void (*then)(struct flow *f); /* once the discovery document is here */
	int refetched;                /* the JWKS was fetched again for this token */
	char state[STATE_LEN + 1];
	char hash[2 + 2 * SHA256_DIGEST_LENGTH + 1]; /* "\x" and SHA-256(state) in hex: bytea */
	char nonce[OIDC_RANDOM_LEN + 1];
	char verifier[OIDC_RANDOM_LEN + 1];
	char return_to[RETURN_MAX + 1];
	char link_member[LINK_MAX + 1]; /* linking to this member; "" for a sign-in */
	int consent; /* consent=1: the privacy notice agreed to, for the sign-in */
	char code[CODE_MAX + 1];
	char *id_token;
};

/* ---- set-up ---- */

/* 1 if url is https, or http to a loopback address (a provider played by a test). */
static int url_ok(const char *url)
{
	if (!url)
		return 0;
	if (strncmp(url, "https://", 8) == 0)
		return url[8] != '\0';
	return strncmp(url, "http://127.", 11) == 0 || strncmp(url, "http://localhost:", 17) == 0 ||
	       strncmp(url, "http://[::1]:", 13) == 0;
}

int oauth_config_check(const struct server_config *c, char *err, size_t errlen)
{
	if (c->oidc_issuer || c->oidc_client_id || c->oidc_client_secret || c->oidc_redirect) {
		if (!c->oidc_issuer || !c->oidc_client_id || !c->oidc_client_secret ||
		    !c->oidc_redirect) {
			snprintf(err, errlen, "%s",
			         "--oidc-issuer, --oidc-client-id, --oidc-client-secret and "
			         "--oidc-redirect go together");
			return -1;
		}
		if (!url_ok(c->oidc_issuer) || !url_ok(c->oidc_redirect) ||
		    strlen(c->oidc_issuer) > 160) {
			snprintf(
			    err, errlen, "%s",
			    "--oidc-issuer and --oidc-redirect must be https URLs (http only to "
			    "a loopback address)");
			return -1;
		}
	}
	if (c->wechat_appid || c->wechat_secret || c->wechat_redirect) {
		if (!c->wechat_appid || !c->wechat_secret || !c->wechat_redirect) {
			snprintf(
			    err, errlen, "%s",
			    "--wechat-appid, --wechat-secret and --wechat-redirect go together");
			return -1;
		}
		if (!url_ok(c->wechat_redirect) || !url_ok(c->wechat_authorize_url) ||
		    !url_ok(c->wechat_token_url)) {
			snprintf(err, errlen, "%s",
			         "the WeChat URLs must be https (http only to a loopback address)");
			return -1;
		}
	}
	return 0;
}

int oauth_start(struct worker *w)
{
	const struct server_config *c = &w->srv->cfg;
	w->oauth = NULL;
	if (!c->oidc_issuer && !c->wechat_appid)
		return 0;
	struct oauth *o = calloc(1, sizeof *o);
	struct outbound_config oc = {.max_connections = 16, .user_agent = "packcode-server"};
	if (!o || !(o->out = outbound_new(w->base, &oc))) {
		free(o);
		return -1;
	}
	o->w = w;
	w->oauth = o;
	return 0;
}

void oauth_stop(struct worker *w)
{
	struct oauth *o = w ? w->oauth : NULL;
	if (!o)
		return;
	struct outbound *out = o->out;
	o->out = NULL; /* the aborted flows' callbacks start nothing more */
	outbound_free(out);
	jwks_free(o->jwks);
	free(o);
	w->oauth = NULL;
}

/* ---- small helpers ---- */

static void flow_free(struct flow *f)
{
	if (!f)
		return;
	free(f->id_token);
	OPENSSL_cleanse(f, sizeof *f);
	free(f);
}

static void fail(struct flow *f, int status, const char *error, const char *message)
{
	http_reply_error(f->r, status, error, message);
	flow_free(f);
}

static void redirect(struct request *r, const char *location)
{
	struct evbuffer *b = evbuffer_new();
	if (!b) {
		http_reply_error(r, 500, "internal", "out of memory");
		return;
	}
	evbuffer_add_printf(b, "redirecting\n");
	http_header(r, "Location", location);
	http_reply_text(r, 302, "text/plain; charset=utf-8", b);
	evbuffer_free(b);
}

static void cookie(struct request *r, const char *name, const char *value, const char *path,
                   int max_age)
{
	char c[256];
	snprintf(c, sizeof c, "%s=%s; Path=%s; Max-Age=%d; HttpOnly; SameSite=Lax%s", name, value,
	         path, max_age, r->w->srv->tls ? "; Secure" : "");
	http_header(r, "Set-Cookie", c);
}

/* The value of cookie name in r: 1 with value copied, 0 absent, -1 repeated or too long. */
static int request_cookie(struct request *r, const char *name, char *out, size_t outlen)
{
	struct evkeyval *kv;
	int found = 0;
	TAILQ_FOREACH(kv, evhttp_request_get_input_headers(r->req), next)
	{
		const char *v;
		size_t len;
		if (strcasecmp(kv->key, "Cookie") != 0)
			continue;
		int n = http_cookie(kv->value, name, &v, &len);
		if (n < 0 || (n > 0 && (found || len >= outlen)))
			return -1;
		if (n > 0) {
			memcpy(out, v, len);
			out[len] = '\0';
			found = 1;
		}
	}
	return found;
}

/* A query field: 1 copied, 0 absent, -1 malformed or too long. */
static int query(struct request *r, const char *name, char *out, size_t outlen)
{
	return http_form_field(r->query, strlen(r->query), name, out, outlen);
}

/* A local path to return to: "/...", not "//" (another host), printable, no backslash. */
static int return_ok(const char *p)
{
	if (p[0] != '/' || p[1] == '/' || p[1] == '\\')
		return 0;
	for (; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '\\')
			return 0;
	return 1;
}

/* b[0..n) as a bytea parameter: "\x" and hex digits (out has 2n + 3 bytes). */
static void hex_param(const unsigned char *b, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	out[0] = '\\';
	out[1] = 'x';
	for (size_t i = 0; i < n; i++) {
		out[2 + 2 * i] = d[b[i] >> 4];
		out[3 + 2 * i] = d[b[i] & 15];
	}
	out[2 + 2 * n] = '\0';
}

static void state_hash(struct flow *f)
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)f->state, strlen(f->state), d);
	hex_param(d, sizeof d, f->hash);
}

static int new_state(struct flow *f)
{
	unsigned char b[STATE_BYTES];
	if (RAND_bytes(b, sizeof b) != 1)
		return -1;
	for (size_t i = 0; i < sizeof b; i++)
		snprintf(f->state + 2 * i, 3, "%02x", b[i]);
	state_hash(f);
	return 0;
}

/* A string URL-encoded (the caller frees), NULL on failure. */
static char *enc(const char *s)
{
	return evhttp_uriencode(s, -1, 0);
}

/* ---- talking to providers ---- */

static void provider_replied(void *arg, const struct outbound_response *res);

static int provider_send(struct flow *f, enum step step, const char *method, const char *url,
                         const char *const *headers, const char *body)
{
	if (!f->o->out)
		return -1;
	struct outbound_request req = {.method = method,
	                               .url = url,
	                               .headers = headers,
	                               .body = body,
	                               .body_len = body ? strlen(body) : 0,
	                               .timeout_ms = f->o->w->srv->cfg.oauth_timeout_ms,
	                               .body_max = DOC_MAX};
	f->step = step;
	return outbound_send(f->o->out, &req, provider_replied, f);
}

static void with_discovery(struct flow *f, void (*then)(struct flow *))
{
	const char *iss = f->o->w->srv->cfg.oidc_issuer;
	char url[OIDC_URL_MAX + 64];
	if (f->o->have_disc) {
		then(f);
		return;
	}
	size_t n = strlen(iss);
	while (n && iss[n - 1] == '/')
		n--;
	snprintf(url, sizeof url, "%.*s/.well-known/openid-configuration", (int)n, iss);
	f->then = then;
	if (provider_send(f, STEP_DISCOVERY, "GET", url, NULL, NULL) < 0)
		fail(f, 503, "unavailable", "the identity provider cannot be reached now");
}

static void verify_token(struct flow *f);
static void finish_identity(struct flow *f, enum pii_kind kind, const char *value);

static void fetch_jwks(struct flow *f)
{
	if (provider_send(f, STEP_JWKS, "GET", f->o->disc.jwks_uri, NULL, NULL) < 0)
		fail(f, 503, "unavailable", "the identity provider cannot be reached now");
}

static void provider_replied(void *arg, const struct outbound_response *res)
{
	struct flow *f = arg;
	struct oauth *o = f->o;
	char err[256];
	if (res->result == OUTBOUND_ABORTED) {
		fail(f, 503, "unavailable", "shutting down, try again");
		return;
	}
	if (res->result != OUTBOUND_OK) {
		log_warn("event=oauth_provider_failed provider=%s step=%d error=%s",
		         provider_name[f->provider], (int)f->step, LOG_Q(res->error));
		fail(f, 503, "unavailable", "the identity provider cannot be reached now");
		return;
	}
	switch (f->step) {
	case STEP_DISCOVERY: {
		struct oidc_discovery d;
		if (res->status != 200 ||
		    oidc_discovery_parse(res->body, res->body_len, o->w->srv->cfg.oidc_issuer, &d,
		                         err, sizeof err) < 0) {
			log_warn("event=oidc_discovery_bad status=%ld error=%s", res->status,
			         LOG_Q(res->status == 200 ? err : "not 200"));
			fail(f, 502, "provider_error",
			     "the identity provider's configuration is unusable");
			return;
		}
		o->disc = d;
		o->have_disc = 1;
		f->then(f);
		return;
	}
	case STEP_JWKS: {
		struct jwks *k = res->status == 200
		                     ? jwks_parse(res->body, res->body_len, err, sizeof err)
		                     : NULL;
		if (!k) {
			log_warn("event=oidc_jwks_bad status=%ld error=%s", res->status,
			         LOG_Q(res->status == 200 ? err : "not 200"));
			fail(f, 502, "provider_error", "the identity provider's keys are unusable");
			return;
		}
		jwks_free(o->jwks);
		o->jwks = k;
		o->jwks_ms = clock_ms();
		log_info("event=oidc_jwks_fetched keys=%zu", jwks_count(k));
		verify_token(f);
		return;
	}
	case STEP_TOKEN:
		if (f->provider == PROVIDER_WECHAT) {
			struct wechat_token t;
			if (wechat_token_reply(res->body, res->body_len, &t, err, sizeof err) < 0) {
				log_warn("event=wechat_token_refused status=%ld error=%s",
				         res->status, LOG_Q(err));
				fail(f, 400, "sign_in_failed",
				     "WeChat did not confirm the sign-in");
				return;
			}
			char value[PII_VALUE_MAX + 1];
			/* a unionid is the person across the brand's accounts; else this app's
			 * openid */
			if (t.unionid[0])
				snprintf(value, sizeof value, "union:%s", t.unionid);
			else
				snprintf(value, sizeof value, "open:%.64s:%s",
				         o->w->srv->cfg.wechat_appid, t.openid);
			finish_identity(f, PII_WECHAT, value);
			return;
		}
		if (oidc_token_reply(res->body, res->body_len, &f->id_token, err, sizeof err) < 0) {
			log_warn("event=oidc_token_refused status=%ld error=%s", res->status,
			         LOG_Q(err));
			fail(f, 400, "sign_in_failed",
			     "the identity provider did not confirm the sign-in");
			return;
		}
		verify_token(f);
		return;
	}
}

static void verify_token(struct flow *f)
{
	struct oauth *o = f->o;
	const struct server_config *c = &o->w->srv->cfg;
	char kid[OIDC_KID_MAX + 1], err[256], sub[OIDC_SUB_MAX + 1];
	json_t *claims = NULL;
	if (!o->jwks) {
		fetch_jwks(f);
		return;
	}
	enum jws_result v =
	    jws_verify(f->id_token, strlen(f->id_token), o->jwks, &claims, kid, err, sizeof err);
	if (v == JWS_UNKNOWN_KID && !f->refetched && clock_ms() - o->jwks_ms >= JWKS_REFETCH) {
		f->refetched = 1; /* the provider may have rotated its keys */
		fetch_jwks(f);
		return;
	}
	if (v != JWS_OK) {
		log_warn("event=oidc_token_rejected reason=%s kid=%s", LOG_Q(err), LOG_Q(kid));
		fail(f, 400, "sign_in_failed", "the identity provider's token does not verify");
		return;
	}
	struct oidc_expect e = {.issuer = o->disc.issuer,
	                        .client_id = c->oidc_client_id,
	                        .nonce = f->nonce,
	                        .now = (long long)time(NULL),
	                        .leeway_s = LEEWAY_S,
	                        .max_age_s = MAX_AGE_S};
	enum oidc_claims cl = oidc_claims_check(claims, &e, sub, err, sizeof err);
	json_decref(claims);
	if (cl != OIDC_CLAIMS_OK) {
		log_warn("event=oidc_token_rejected reason=%s claim=%s", LOG_Q(err),
		         oidc_claims_name(cl));
		fail(f, 400, "sign_in_failed",
		     "the identity provider's token is not for this sign-in");
		return;
	}
	/*
	 * A subject is unique within its issuer (OIDC Core §2): the identity is
	 * "issuer|sub", or "issuer|sha256:" and the subject's hash when that is too
	 * long for an identity (--oidc-issuer has at most 160 characters).
	 */
	char value[OIDC_URL_MAX + OIDC_SUB_MAX + 2];
	snprintf(value, sizeof value, "%s|%s", o->disc.issuer, sub);
	if (strlen(value) > PII_VALUE_MAX) {
		unsigned char d[SHA256_DIGEST_LENGTH];
		char hx[2 * SHA256_DIGEST_LENGTH + 3];
		SHA256((const unsigned char *)sub, strlen(sub), d);
		hex_param(d, sizeof d, hx);
		snprintf(value, sizeof value, "%s|sha256:%s", o->disc.issuer, hx + 2);
	}
	finish_identity(f, PII_OIDC, value);
}

/* ---- the end of a flow: a member session, or an identity linked ---- */

static void signed_in(void *arg, struct request *r, const struct auth_result *res)
{
	struct flow *f = arg;
	(void)r;
	switch (res->outcome) {
	case AUTH_OK:
		log_info("event=member_sign_in provider=%s created=%d", provider_name[f->provider],
		         res->created);
		redirect(f->r, f->return_to);
		flow_free(f);
		return;
	case AUTH_UNAVAILABLE:
		fail(f, 503, "unavailable", "database unavailable, try again");
		return;
	case AUTH_BAD_INPUT:
		fail(f, 400, "sign_in_failed", res->message ? res->message : "unusable identity");
		return;
	default:
		fail(f, 500, "internal", "the sign-in failed; nothing was changed");
		return;
	}
}

struct link {
	struct flow *f;
	char hash[2 + 2 * PII_HASH_LEN + 1];
	char sealed[2 + 2 * PII_SEALED_MAX + 1];
	char masked[PII_MASK_MAX + 1];
};

static void linked(void *arg, const struct pool_result *res)
{
	struct link *l = arg;
	struct flow *f = l->f;
	free(l);
	if (res->status != POOL_OK) {
		if (res->status == POOL_SQL_ERROR)
			log_error("event=member_identity_link_failed sqlstate=%s message=%s",
			          res->sqlstate, LOG_Q(res->message));
		fail(f, 503, "unavailable", "database unavailable, try again");
		return;
	}
	const char *outcome = PQntuples(res->res) == 1 ? PQgetvalue(res->res, 0, 0) : "";
	log_info("event=member_identity_link provider=%s outcome=%s", provider_name[f->provider],
	         LOG_Q(outcome));
	if (strcmp(outcome, "linked") == 0 || strcmp(outcome, "already") == 0) {
		redirect(f->r, f->return_to);
		flow_free(f);
	} else {
		fail(f, 409, "identity_taken",
		     "this identity belongs to another member: sign in with it, or ask for the two "
		     "accounts to be merged");
	}
}

static void link_identity(struct flow *f, enum pii_kind kind, const char *value, size_t len)
{
	const struct pii_key *k = &f->o->w->srv->pii;
	unsigned char h[PII_HASH_LEN], sealed[PII_SEALED_MAX];
	struct link *l = calloc(1, sizeof *l);
	long n =
	    l && len <= PII_VALUE_MAX ? pii_seal(k, kind, value, len, sealed, sizeof sealed) : -1;
	if (n < 0 || pii_mask(kind, value, l->masked, sizeof l->masked) < 0) {
		free(l);
		fail(f, 500, "internal", "the identity cannot be kept");
		return;
	}
	l->f = f;
	pii_hash(k, kind, value, len, h);
	hex_param(h, sizeof h, l->hash);
	hex_param(sealed, (size_t)n, l->sealed);
	struct pool_query q = {.stmt = "member_identity_link",
	                       .nparams = 6,
	                       .values = {f->link_member, pii_kind_name(kind), l->hash, l->sealed,
	                                  l->masked, http_client_inet(f->r)}};
	if (pool_submit(f->o->w->pool, &q, linked, l) < 0) {
		free(l);
		fail(f, 503, "unavailable", "database unavailable, try again");
	}
}

/*
 * The provider proved identity value (of kind): sign the browser in as its
 * member, or, in a flow a signed-in member started, add it to their
 * account (the same member must still be signed in).
 */
static void finish_identity(struct flow *f, enum pii_kind kind, const char *value)
{
	size_t len = strlen(value);
	if (f->link_member[0]) {
		if (strcmp(f->r->member, f->link_member) != 0) {
			fail(f, 401, "unauthorized",
			     "the member who started adding this identity is no longer signed in");
			return;
		}
		link_identity(f, kind, value, len);
		return;
	}
	auth_sign_in(f->r, kind, value, len, f->consent, signed_in, f);
}

/* ---- starting a flow ---- */

static void state_kept(void *arg, const struct pool_result *res);

static void keep_state(struct flow *f)
{
	struct pool_query q = {.stmt = "oauth_state_put",
	                       .nparams = 7,
	                       .values = {f->hash, provider_name[f->provider],
	                                  f->provider == PROVIDER_OIDC ? f->verifier : NULL,
	                                  f->provider == PROVIDER_OIDC ? f->nonce : NULL,
	                                  f->return_to, f->link_member[0] ? f->link_member : NULL,
	                                  f->consent ? "true" : "false"}};
	if (pool_submit(f->o->w->pool, &q, state_kept, f) < 0)
		fail(f, 503, "unavailable", "database unavailable, try again");
}

static void to_provider(struct flow *f)
{
	const struct server_config *c = &f->o->w->srv->cfg;
	char challenge[OIDC_S256_LEN + 1], *url = NULL;
	char *id = NULL, *redir = NULL;
	struct evbuffer *b = evbuffer_new();
	if (f->provider == PROVIDER_OIDC) {
		id = enc(c->oidc_client_id);
		redir = enc(c->oidc_redirect);
		if (b && id && redir && oidc_pkce_s256(f->verifier, challenge) == 0)
			evbuffer_add_printf(b,
			                    "%s%cresponse_type=code&client_id=%s&redirect_uri=%s"
			                    "&scope=openid&state=%s&nonce=%s&code_challenge=%s"
			                    "&code_challenge_method=S256",
			                    f->o->disc.authorization_endpoint,
			                    strchr(f->o->disc.authorization_endpoint, '?') ? '&'
			                                                                   : '?',
			                    id, redir, f->state, f->nonce, challenge);
	} else {
		id = enc(c->wechat_appid);
		redir = enc(c->wechat_redirect);
		if (b && id && redir)
			evbuffer_add_printf(b,
			                    "%s?appid=%s&redirect_uri=%s&response_type=code"
			                    "&scope=snsapi_base&state=%s#wechat_redirect",
			                    c->wechat_authorize_url, id, redir, f->state);
	}
	if (b && evbuffer_get_length(b) && evbuffer_add(b, "", 1) == 0)
		url = (char *)evbuffer_pullup(b, -1);
	if (!url) {
		fail(f, 500, "internal", "out of memory");
	} else {
		cookie(f->r, OAUTH_STATE_COOKIE, f->state, "/auth/", 600);
		if (f->provider == PROVIDER_WECHAT) /* the landing page sends a browser here once */
			cookie(f->r, OAUTH_WECHAT_TRIED_COOKIE, "1", "/", 300);
		redirect(f->r, url);
		flow_free(f);
	}
	evbuffer_free(b);
	free(id);
	free(redir);
}

static void state_kept(void *arg, const struct pool_result *res)
{
	struct flow *f = arg;
	if (res->status != POOL_OK) {
		if (res->status == POOL_SQL_ERROR)
			log_error("event=oauth_state_put_failed sqlstate=%s message=%s",
			          res->sqlstate, LOG_Q(res->message));
		fail(f, 503, "unavailable", "database unavailable, try again");
		return;
	}
	if (f->provider == PROVIDER_OIDC)
		with_discovery(f, to_provider);
	else
		to_provider(f);
}

static void start(struct request *r, enum provider p)
{
	struct oauth *o = r->w->oauth;
	const struct server_config *c = &r->w->srv->cfg;
	if (!o || (p == PROVIDER_OIDC ? !c->oidc_issuer : !c->wechat_appid)) {
		http_reply_error(r, 404, "not_found", "this sign-in is not configured");
		return;
	}
	struct flow *f = calloc(1, sizeof *f);
	if (!f) {
		http_reply_error(r, 500, "internal", "out of memory");
		return;
	}
	f->r = r;
	f->o = o;
	f->provider = p;
	char link[8];
	int got = query(r, "return", f->return_to, sizeof f->return_to);
	if (got == 0)
		snprintf(f->return_to, sizeof f->return_to, "/");
	if (got < 0 || !return_ok(f->return_to)) {
		fail(f, 400, "bad_request", "return must be a path of this site (/...)");
		return;
	}
	got = query(r, "link", link, sizeof link);
	if (got == 1 && strcmp(link, "1") == 0) {
		if (!r->member[0]) {
			fail(f, 401, "unauthorized", "sign in first to add an identity");
			return;
		}
		snprintf(f->link_member, sizeof f->link_member, "%s", r->member);
	} else if (got != 0) {
		fail(f, 400, "bad_request", "link must be 1 or absent");
		return;
	}
	got = query(r, "consent", link, sizeof link);
	if (got < 0 || (got == 1 && strcmp(link, "1") != 0)) {
		fail(f, 400, "bad_request", "consent must be 1 or absent");
		return;
	}
	f->consent = got == 1;
	if (new_state(f) < 0 || oidc_random(f->nonce) < 0 || oidc_random(f->verifier) < 0) {
		fail(f, 500, "internal", "no randomness");
		return;
	}
	keep_state(f);
}

/* The routes ask for the member session first: linking needs it. */
static void start_oidc(struct request *r)
{
	start(r, PROVIDER_OIDC);
}

static void start_wechat(struct request *r)
{
	start(r, PROVIDER_WECHAT);
}

void oauth_route_oidc_start(struct request *r)
{
	http_member(r, start_oidc);
}

void oauth_route_wechat_start(struct request *r)
{
	http_member(r, start_wechat);
}

/* ---- the provider's return ---- */

static void to_token_endpoint(struct flow *f)
{
	const struct server_config *c = &f->o->w->srv->cfg;
	struct evbuffer *b = evbuffer_new(), *auth = evbuffer_new();
	char *code = enc(f->code), *redir = enc(c->oidc_redirect), *id = enc(c->oidc_client_id),
	     *secret = enc(c->oidc_client_secret), *body = NULL, *basic = NULL;
	int rc = -1;
	if (b && auth && code && redir && id && secret) {
		/* client_secret_basic (RFC 6749 §2.3.1): the id and secret form-encoded first */
		evbuffer_add_printf(auth, "%s:%s", id, secret);
		size_t n = evbuffer_get_length(auth);
		basic = malloc(4 * ((n + 2) / 3) + 1);
		unsigned char *raw = evbuffer_pullup(auth, -1);
		if (basic && raw) {
			EVP_EncodeBlock((unsigned char *)basic, raw, (int)n);
			evbuffer_add_printf(b,
			                    "grant_type=authorization_code&code=%s&redirect_uri=%s"
			                    "&code_verifier=%s%c",
			                    code, redir, f->verifier, '\0');
			body = (char *)evbuffer_pullup(b, -1);
		}
	}
	if (body) {
		char header[2048];
		snprintf(header, sizeof header, "Authorization: Basic %s", basic);
		const char *headers[] = {"Content-Type: application/x-www-form-urlencoded",
		                         "Accept: application/json", header, NULL};
		rc = provider_send(f, STEP_TOKEN, NULL, f->o->disc.token_endpoint, headers, body);
		OPENSSL_cleanse(header, sizeof header);
	}
	if (basic)
		OPENSSL_cleanse(basic, strlen(basic));
	free(basic);
	free(code);
	free(redir);
	free(id);
	free(secret);
	evbuffer_free(b);
	evbuffer_free(auth);
	if (rc < 0)
		fail(f, 503, "unavailable", "the identity provider cannot be reached now");
}

static void to_wechat(struct flow *f)
{
	const struct server_config *c = &f->o->w->srv->cfg;
	char *appid = enc(c->wechat_appid), *secret = enc(c->wechat_secret), *code = enc(f->code);
	char url[4096];
	int rc = -1;
	if (appid && secret && code &&
	    (size_t)snprintf(url, sizeof url,
	                     "%s?appid=%s&secret=%s&code=%s&grant_type=authorization_code",
	                     c->wechat_token_url, appid, secret, code) < sizeof url)
		rc = provider_send(f, STEP_TOKEN, "GET", url, NULL, NULL);
	OPENSSL_cleanse(url, sizeof url);
	free(appid);
	free(secret);
	free(code);
	if (rc < 0)
		fail(f, 503, "unavailable", "WeChat cannot be reached now");
}

static void state_taken(void *arg, const struct pool_result *res)
{
	struct flow *f = arg;
	if (res->status != POOL_OK) {
		if (res->status == POOL_SQL_ERROR)
			log_error("event=oauth_state_take_failed sqlstate=%s message=%s",
			          res->sqlstate, LOG_Q(res->message));
		fail(f, 503, "unavailable", "database unavailable, try again");
		return;
	}
	if (PQntuples(res->res) != 1) {
		fail(f, 400, "bad_state", "this sign-in expired or was already used; start again");
		return;
	}
	snprintf(f->verifier, sizeof f->verifier, "%s", PQgetvalue(res->res, 0, 0));
	snprintf(f->nonce, sizeof f->nonce, "%s", PQgetvalue(res->res, 0, 1));
	snprintf(f->return_to, sizeof f->return_to, "%s", PQgetvalue(res->res, 0, 2));
	snprintf(f->link_member, sizeof f->link_member, "%s", PQgetvalue(res->res, 0, 3));
	f->consent = strcmp(PQgetvalue(res->res, 0, 4), "t") == 0;
	if (f->provider == PROVIDER_OIDC)
		with_discovery(f, to_token_endpoint);
	else
		to_wechat(f);
}

static void callback(struct request *r, enum provider p)
{
	struct oauth *o = r->w->oauth;
	const struct server_config *c = &r->w->srv->cfg;
	if (!o || (p == PROVIDER_OIDC ? !c->oidc_issuer : !c->wechat_appid)) {
		http_reply_error(r, 404, "not_found", "this sign-in is not configured");
		return;
	}
	struct flow *f = calloc(1, sizeof *f);
	if (!f) {
		http_reply_error(r, 500, "internal", "out of memory");
		return;
	}
	f->r = r;
	f->o = o;
	f->provider = p;
	char kept[STATE_LEN + 2], error[64];
	if (query(r, "error", error, sizeof error) != 0) {
		fail(f, 400, "sign_in_failed",
		     "the sign-in was refused or cancelled at the provider");
		return;
	}
	if (query(r, "state", f->state, sizeof f->state) != 1 || strlen(f->state) != STATE_LEN ||
	    query(r, "code", f->code, sizeof f->code) != 1 || !f->code[0]) {
		fail(f, 400, "bad_request", "expected code and state");
		return;
	}
	/* the browser that comes back must be the one that left: its cookie holds the state */
	if (request_cookie(r, OAUTH_STATE_COOKIE, kept, sizeof kept) != 1 ||
	    strlen(kept) != STATE_LEN || CRYPTO_memcmp(kept, f->state, STATE_LEN) != 0) {
		fail(f, 400, "bad_state",
		     "this sign-in was not started by this browser; start again");
		return;
	}
	cookie(r, OAUTH_STATE_COOKIE, "", "/auth/", 0);
	state_hash(f);
	struct pool_query q = {
	    .stmt = "oauth_state_take", .nparams = 2, .values = {f->hash, provider_name[p]}};
	if (pool_submit(r->w->pool, &q, state_taken, f) < 0)
		fail(f, 503, "unavailable", "database unavailable, try again");
}

/* The member session too: a link must end in the session that started it. */
static void callback_oidc(struct request *r)
{
	callback(r, PROVIDER_OIDC);
}

static void callback_wechat(struct request *r)
{
	callback(r, PROVIDER_WECHAT);
}

void oauth_route_oidc_callback(struct request *r)
{
	http_member(r, callback_oidc);
}

void oauth_route_wechat_callback(struct request *r)
{
	http_member(r, callback_wechat);
}

int oauth_wechat_silent(struct request *r)
{
	char tried[8], session[128];
	if (request_cookie(r, HTTP_MEMBER_COOKIE, session, sizeof session) != 0 || !r->w->oauth ||
	    !r->w->srv->cfg.wechat_appid || !wechat_user_agent(r->user_agent) || r->want_json ||
	    request_cookie(r, OAUTH_WECHAT_TRIED_COOKIE, tried, sizeof tried) != 0 ||
	    evhttp_request_get_command(r->req) != EVHTTP_REQ_GET)
		return 0;
	char path[RETURN_MAX + 1], *ret, loc[3 * RETURN_MAX + 64];
	if (r->path_len > RETURN_MAX)
		return 0;
	size_t plen = r->path_len;
	memcpy(path, r->path, plen);
	path[plen] = '\0';
	if (!return_ok(path) || !(ret = enc(path)))
		return 0;
	snprintf(loc, sizeof loc, "/auth/wechat?return=%s", ret);
	free(ret);
	redirect(r, loc);
	return 1;
}
