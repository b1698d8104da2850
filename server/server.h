/*
 * server.h: the process (struct server) and its worker threads (struct
 * worker). Each worker owns an event loop with its own HTTP listener
 * (SO_REUSEPORT), database pool, keyring copy, claim and lookup batchers and
 * scan buffer: nothing on the request path is shared between threads except
 * the catalog snapshot and the metrics counters.
 */
#ifndef PACKCODE_SERVER_SERVER_H
#define PACKCODE_SERVER_SERVER_H

#include <pthread.h>
#include <stdatomic.h>

#include <event2/event.h>
#include <event2/http.h>

#include "engine/catalog.h"
#include "engine/keyfile.h"
#include "engine/metrics.h"
#include "engine/pool.h"
#include "engine/ratelimit.h"
#include "pii.h"

#define SERVER_BODY_MAX     (16 * 1024)
#define SERVER_ROUTES_MAX   128 /* rows of the route table */
#define SERVER_THREADS_MAX  64  /* --threads */
#define SERVER_CORS_ORIGINS 16  /* --cors-origin */

struct cidr;

struct server_config {
	const char *listen;       /* "HOST:PORT" */
	const char *admin_listen; /* "HOST:PORT" of the operations listener, or NULL */
	const char *keyring_path;
	char conninfo[4096];
	int threads;
	int pool_size;
	int claim_batches;  /* claim transactions in flight per thread */
	int lookup_batches; /* lookup queries in flight per thread */
	int drain_ms;       /* SIGTERM: give requests in flight this long */
	int query_timeout_ms;
	int scan_buffer;        /* scan records kept per thread while the database is away */
	const char *geoip_path; /* --geoip: a MaxMind-format database, or NULL */
	/* the edge: what faces the internet (conn.c, ratelimit.c, tls.c) */
	struct ratelimit_rate rates[RATELIMIT_KIND_COUNT];
	int max_connections;    /* over it, a new connection is closed at once */
	int max_per_address;    /* open connections from one address (IPv4, IPv6 /64) */
	int first_byte_ms;      /* a new connection must send its first byte within this */
	int request_timeout_ms; /* to read a request whole, from its first byte */
	int idle_timeout_s;     /* evhttp's: silence while reading, idle keep-alive */
	const char *tls_cert, *tls_key;
	const char *default_country; /* the region of phone numbers typed without one */
	const char *public_host;     /* the resolver's host, or NULL: the request's Host */
	const struct cidr *trusted;  /* --trusted-proxy: peers whose forwarded headers count */
	size_t ntrusted;
	/* the admin API from browsers: the origins allowed (edge/cors.c) */
	const char *cors_origins[SERVER_CORS_ORIGINS];
	int ncors_origins;
	int export_connections;  /* per thread, for exports' streams; 0: no exports */
	const char *export_dir;  /* background export jobs' files (engine/jobs.c) */
	int export_jobs;         /* 1: this server runs background export jobs; 0: not */
	int alert_interval_ms;   /* alerts evaluated this often (engine/alerts.c); 0: never */
	int privacy_interval_ms; /* scans_tidy() this often (engine/tidy.c); 0: never */
	int scan_address_days;   /* scans' addresses truncated after N days; 0: never */
	int scan_retention_days; /* scans deleted after N days; 0: never */
	/* webhooks (engine/webhooks.c) */
	int webhook_concurrency;
	int webhook_timeout_ms;
	int webhook_tries;
	int webhook_retry_ms;
	/* red packets' payouts (engine/payouts.c, handlers/payouts.c) */
	const char *payout_url;         /* the payment provider's endpoint; NULL: none sent */
	const char *payout_secret_file; /* the secret shared with it; NULL: no callbacks */
	int payout_concurrency;
	int payout_timeout_ms;
	int payout_tries;
	int payout_retry_ms;
	int payout_callback_wait_ms;
	/* sign-in through an OpenID Connect provider, WeChat (handlers/oauth.c) */
	const char *oidc_issuer; /* NULL: OIDC sign-in is off */
	const char *oidc_client_id, *oidc_client_secret;
	const char *oidc_redirect; /* our callback's URL, as registered with the provider */
	const char *wechat_appid;  /* NULL: WeChat sign-in is off */
	const char *wechat_secret;
	const char *wechat_redirect;
	const char *wechat_authorize_url, *wechat_token_url;
	int oauth_timeout_ms; /* a request to a provider */
	/* members (handlers/auth.c, engine/sms.c) */
	const char *pii_key_path;    /* the PII key file (lib/pii.h) */
	const char *sms_webhook;     /* the brand's SMS gateway, or NULL */
	const char *sms_secret;      /* signs its requests */
	const char *sms_command;     /* or a command that sends a text */
	int sms_per_phone;           /* texts per hour to one phone */
	int sms_per_address;         /* asked for from one address (IPv6 /64) */
	int sms_per_hour;            /* over all */
	int sms_cooldown_ms;         /* between two texts to one phone */
	const char *privacy_version; /* the privacy notice a sign-in agrees to */
	int referral_interval_ms;    /* the referrals' sweep (engine/referral_sweep.c); 0: never */
};

struct claims;
struct lookups;
struct tokens;
struct offload;
struct offload_port;
struct scanlog;
struct route;
struct listener;
struct links;
struct campaigns;
struct webhooks;
struct payouts;
struct alerts;
struct tidy;
struct referral_sweep;
struct jobs;
struct oauth;

struct worker {
	struct server *srv;
	int id;
	pthread_t thread;
	struct event_base *base;
	struct evhttp *http, *admin_http; /* the public listener's; --admin-listen's or NULL */
	int listen_fd, admin_fd;
	struct evhttp_bound_socket *bound, *admin_bound;
	struct pool *pool;
	struct pool *export_pool; /* exports' COPY streams (handlers/export.c); NULL: none */
	int exports;              /* exports running on this worker */
	struct keyfile keys;      /* the keyring, and the file's stamp when read */
	struct catalog_view view;
	struct claims *claims;
	struct lookups *lookups;
	struct scanlog *scanlog;
	struct ratelimit *ratelimit;
	struct offload_port *offload; /* this loop's side of srv->offload */
	struct oauth *oauth;          /* OIDC and WeChat sign-in's client and caches; NULL: off */
	struct sms *sms;              /* texts to members' phones (sms.h) */
	struct msessions *msessions;  /* struct server's, shared by the workers */
	struct msessions *identities; /* likewise */
	struct metrics metrics;
	int control[2]; /* the control loop writes commands ('S', 'R', 'K') to [1] */
	struct event *control_ev, *tick_ev;
	int inflight;              /* requests received and not yet answered */
	long long last_request_ms; /* when the last request arrived (CLOCK_MONOTONIC) */
	int draining;
	int drain_expired; /* the drain timed out: the pool was closed */
	long long drain_deadline_ms;
	/* /readyz answers from these (health.c): the last ping of the database */
	int ready;              /* the last ping was answered well */
	long long ping_sent_ms; /* a ping in flight since then; 0: none */
	long long ping_done_ms; /* when the last one was answered or failed */
};

#define SERVER_SIGNALS 3 /* TERM, INT, HUP */

struct server {
	struct server_config cfg;
	/* the control thread's: its loop, the LISTEN connection, the signals */
	struct event_base *control;
	struct listener *listener;
	struct event *signals[SERVER_SIGNALS];
	struct event *keyring_poll;        /* the keyring file's stamp, looked at (main.c) */
	struct keyfile_stamp keyring_seen; /* as last looked at */
	/* the route table (routes.c) and each row's metrics slot (http_routes) */
	const struct route *routes;
	size_t nroutes;
	unsigned char route_slot[SERVER_ROUTES_MAX];
	unsigned route_scope[SERVER_ROUTES_MAX]; /* the scope bit an admin row needs; 0: none */
	struct metrics_labels labels;
	struct catalog *catalog;
	struct links *links;          /* the brands' resolver links (links.h) */
	struct campaigns *campaigns;  /* the campaigns not ended (campaigns.h) */
	struct tokens *tokens;        /* the admin API's bearer tokens (tokens.h) */
	struct tokens *sessions;      /* and its staff sessions */
	struct offload *offload;      /* argon2id off the loops (offload.h) */
	struct msessions *msessions;  /* member sessions checked lately (msession.h) */
	struct msessions *identities; /* and identities resolved lately (auth_resolve) */
	struct pii_key pii;           /* members' personal data (lib/pii.h) */
	struct webhooks *webhooks;    /* the control thread's dispatcher */
	struct payouts *payouts;      /* and payout dispatcher (engine/payouts.h) */
	char *payout_secret;          /* --payout-secret-file's; NULL: no callbacks taken */
	struct alerts *alerts;        /* and alert evaluator (NULL: --alert-interval 0) */
	struct tidy *tidy;            /* and scans' privacy job (NULL: nothing to do) */
	struct jobs *jobs;            /* the export jobs' runner (NULL: --export-jobs 0) */
	struct metrics_webhooks webhook_metrics;
	struct metrics_payouts payout_metrics; /* the payout dispatcher's (engine/payouts.c) */
	/* the referrals' sweep (NULL: --referral-interval 0) */
	struct referral_sweep *referral_sweep;
	int nworkers;
	struct worker *workers;
	int stopping; /* the control loop's: a stop signal arrived */
	/* the SSL_CTX (NULL: plain HTTP); SIGHUP swaps in a new one, old ones live on */
	struct ssl_ctx_st *_Atomic tls;
	struct tls_retired *tls_retired;
	atomic_int connections;       /* open, over all workers (the cap) */
	atomic_int admin_connections; /* open on the admin listener (its own cap) */
	atomic_uint *per_address;     /* open connections by a keyed hash of the address (conn.c) */
	unsigned long long per_address_key;
	atomic_int listeners_closed; /* workers that stopped accepting (SIGTERM) */
};

/* The catalog snapshot for this request (borrowed; valid until the callback returns). */
static inline struct catalog_snapshot *worker_catalog(struct worker *w)
{
	return catalog_view(w->srv->catalog, &w->view);
}

#endif
