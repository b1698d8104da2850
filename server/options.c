/*
 * options.c: the option table of packcode-server and the one parser that
 * reads it from the environment and the command line (options.h). Each row
 * is an option's whole definition: adding one is adding a row (and its
 * field in struct server_config). A value from PACKCODE_X is checked as
 * strictly as --x, and the command line wins.
 */
#include "options.h"

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "edge/cors.h"
#include "edge/cidr.h"
#include "home.h"
#include "engine/ratelimit.h"
#include "handlers/oauth.h"
#include "keyring.h"
#include "log.h"
#include "phone.h"
#include "pii.h"
#include "server.h"
#include "url.h"

enum kind {
	OPT_TEXT,    /* const char * */
	OPT_INT,     /* int in [min, max] */
	OPT_SECONDS, /* int milliseconds, given in whole seconds in [min, max] */
	OPT_RATE,    /* struct ratelimit_rate: RATE/BURST or 0 */
	OPT_LEVEL,   /* the log level */
	OPT_DB,      /* the database: PACKCODE_DB, which lib/db.c reads */
	OPT_ORIGINS, /* repeatable; several in one value, separated by spaces or commas */
	OPT_CIDRS,   /* repeatable: CIDR blocks (comma-separated too) into cfg->trusted */
	OPT_HELP,
	OPT_VERSION,
};

struct opt {
	const char *name; /* --name; the environment variable is PACKCODE_NAME */
	char short_name;
	const char *arg; /* the value's name in --help; NULL: takes none */
	enum kind kind;
	size_t field; /* offsetof(struct server_config, ...) */
	long long min, max;
	const char *def; /* the default, as it is typed */
	const char *help;
	const char *section; /* starts a section of --help */
};

#define F(x) offsetof(struct server_config, x)

static const struct opt opts[] = {
    {"listen", 'l', "HOST:PORT", OPT_TEXT, F(listen), 0, 0, "127.0.0.1:8080",
     "address to listen on; PORT 0 picks a free port, logged at start-up", "Options"},
    {"admin-listen", 0, "HOST:PORT", OPT_TEXT, F(admin_listen), 0, 0, NULL,
     "a second listener, for operations: /metrics and the admin API are served there only "
     "(404 on --listen), /healthz and /readyz on both, nothing else. Its connections do not "
     "count against the connection caps, so a flood on --listen cannot take them from health "
     "checks and scrapes. HTTPS when --listen is. Bind it to a private address",
     NULL},
    {"db", 'd', "CONNINFO", OPT_DB, 0, 0, 0, NULL,
     "libpq connection string or URI of the database; if unset, the embedded cluster in "
     "$PACKCODE_HOME/var/pg, created, started and migrated as needed",
     NULL},
    {"keyring", 'k', "FILE", OPT_TEXT, F(keyring_path), 0, 0, "$PACKCODE_HOME/keyring",
     "the keyring; must be mode 0600", NULL},
    {"threads", 't', "N", OPT_INT, F(threads), 1, SERVER_THREADS_MAX, "1",
     "event loops, each with its own listener and pool", NULL},
    {"pool", 'p', "N", OPT_INT, F(pool_size), 2, 256, "4",
     "database connections per thread, one of them the scan writer's", NULL},
    {"claim-batches", 0, "N", OPT_INT, F(claim_batches), 1, 256, "1",
     "claim transactions in flight per thread: claims arriving meanwhile wait and commit "
     "together in the next one (group commit); raise it for a database with many cores or a "
     "long round trip",
     NULL},
    {"lookup-batches", 0, "N", OPT_INT, F(lookup_batches), 1, 256, "1",
     "lookup queries in flight per thread: lookups arriving meanwhile go out together", NULL},
    {"drain-timeout", 0, "S", OPT_SECONDS, F(drain_ms), 0, 3600, "10",
     "on SIGTERM, wait at most S seconds for requests in flight", NULL},
    {"scan-buffer", 0, "ROWS", OPT_INT, F(scan_buffer), 1000, 10000000, "100000",
     "scan records a thread keeps while the database is away (about 300 bytes each): a flush "
     "that failed is kept and written again when the database is back; beyond ROWS new "
     "records are dropped, counted (packcode_scans_dropped_total{reason=\"overflow\"}) and "
     "logged",
     NULL},
    {"geoip", 0, "FILE", OPT_TEXT, F(geoip_path), 0, 0, NULL,
     "a MaxMind-format database (GeoLite2 or GeoIP2 City or Country, DB-IP, a converted "
     "ip2region: any .mmdb): each scan is stored with its client's country, subdivision and "
     "city. Read again when the file changes and on SIGHUP; without it, regions are unknown",
     NULL},
    {"query-timeout", 0, "S", OPT_SECONDS, F(query_timeout_ms), 1, 3600, "15",
     "a query running (or waiting for a connection) longer fails, 503, and its connection is "
     "dropped: a database that stops answering costs a request at most S seconds",
     NULL},
    {"tls-cert", 0, "FILE", OPT_TEXT, F(tls_cert), 0, 0, NULL,
     "serve HTTPS (TLS 1.2 or 1.3) on the listener with this PEM certificate chain; needs "
     "--tls-key. HTTPS replies carry Strict-Transport-Security: max-age=31536000",
     "Facing the internet"},
    {"tls-key", 0, "FILE", OPT_TEXT, F(tls_key), 0, 0, NULL, "the certificate's PEM private key",
     NULL},
    {"rate-lookups", 0, "R/B", OPT_RATE, F(rates[RATELIMIT_LOOKUPS]), 0, 0, "20/200",
     "per client address: verification lookups, landing pages and member pages, R a second "
     "with bursts of B; over it, 429 with Retry-After",
     NULL},
    {"rate-claims", 0, "R/B", OPT_RATE, F(rates[RATELIMIT_CLAIMS]), 0, 0, "5/50",
     "per client address: claims, API and form", NULL},
    {"rate-member-claims", 0, "R/B", OPT_RATE, F(rates[RATELIMIT_MEMBER_CLAIMS]), 0, 0, "0.2/30",
     "per member: claims that reach the database (a genuine code, its PIN given); R may be a "
     "fraction (0.2/30: 30 at once, then 12 a minute). A limit of 0 turns it off. IPv6 "
     "clients count by /64. Each thread keeps its own buckets: a client whose connections "
     "reach several threads can get up to --threads times a limit",
     NULL},
    {"max-connections", 0, "N", OPT_INT, F(max_connections), 1, 1000000, "10000",
     "open connections over all threads; beyond it a new connection is closed at once", NULL},
    {"max-connections-per-address", 0, "N", OPT_INT, F(max_per_address), 1, 1000000, "256",
     "open connections from one client address (IPv4, or IPv6 by /64) over all threads; "
     "beyond it a new connection from there is closed at once. Trusted proxies are exempt",
     NULL},
    {"first-byte-timeout", 0, "S", OPT_SECONDS, F(first_byte_ms), 1, 3600, "5",
     "close a new connection that has sent nothing within S seconds", NULL},
    {"request-timeout", 0, "S", OPT_SECONDS, F(request_timeout_ms), 1, 3600, "20",
     "a request (line, headers, body; the TLS handshake for a connection's first) must "
     "arrive whole within S seconds of its first byte, or the connection is closed",
     NULL},
    {"idle-timeout", 0, "S", OPT_INT, F(idle_timeout_s), 1, 3600, "30",
     "close a connection silent for S seconds", NULL},
    {"trusted-proxy", 0, "CIDR", OPT_CIDRS, 0, 0, 0, NULL,
     "a proxy or load balancer in front: an address or block (10.0.0.0/8, 2001:db8::/32); "
     "repeatable, or comma-separated. Only for a peer in one of them is X-Forwarded-For "
     "(without it, Forwarded) read, from the right: the first address that is no trusted "
     "proxy is the client's, for rate limits, scan records and audit rows. From any other "
     "peer these headers are ignored",
     NULL},
    {"cors-origin", 0, "ORIGIN", OPT_ORIGINS, 0, 0, 0, NULL,
     "let browser pages of ORIGIN (scheme://host[:port], as the Origin header says it) call "
     "the admin API: CORS preflights answered, Access-Control-Allow-Origin on its replies. "
     "Repeat for more origins (at most 16); none by default (CORS off)",
     NULL},
    {"default-country", 0, "CC", OPT_TEXT, F(default_country), 0, 0, "CN",
     "the region (ISO 3166 two letters) of phone numbers typed without a country code: "
     "13900000000 is +8613900000000 with CN",
     "Members"},
    {"public-host", 0, "HOST", OPT_TEXT, F(public_host), 0, 0, NULL,
     "the host (and :port) of the codes' URLs, as mint's --host: the GS1 Digital Link "
     "resolver's anchors and links are https://HOST/...; without it, the request's Host "
     "header when it is a valid host name",
     "Resolver"},
    {"pii-key", 0, "FILE", OPT_TEXT, F(pii_key_path), 0, 0, "$PACKCODE_HOME/pii.key",
     "the key of members' personal data (phones sealed with AES-256-GCM, found by keyed "
     "hash); must be mode 0600, the same file on every server. Made on first need if "
     "missing (or by packcode-gen pii-key)",
     NULL},
    {"sms-webhook", 0, "URL", OPT_TEXT, F(sms_webhook), 0, 0, NULL,
     "send sign-in codes through the brand's SMS gateway: a JSON POST {\"to\", \"text\"} "
     "signed with --sms-secret as webhooks are (Packcode-Signature)",
     NULL},
    {"sms-secret", 0, "SECRET", OPT_TEXT, F(sms_secret), 0, 0, NULL,
     "the secret that signs --sms-webhook's requests (better given as PACKCODE_SMS_SECRET)", NULL},
    {"sms-command", 0, "CMD", OPT_TEXT, F(sms_command), 0, 0, NULL,
     "or send them with a command, run by /bin/sh with PACKCODE_SMS_TO (E.164) and "
     "PACKCODE_SMS_TEXT; killed after 10 seconds",
     NULL},
    {"sms-per-phone", 0, "N", OPT_INT, F(sms_per_phone), 1, 1000, "5",
     "sign-in texts to one phone per hour (shared by every server, in the database)", NULL},
    {"sms-per-address", 0, "N", OPT_INT, F(sms_per_address), 1, 1000000, "20",
     "sign-in texts asked for from one client address (IPv6 by /64) per hour", NULL},
    {"sms-per-hour", 0, "N", OPT_INT, F(sms_per_hour), 1, 100000000, "10000",
     "sign-in texts per hour over all: the ceiling of what SMS pumping can cost", NULL},
    {"sms-cooldown", 0, "S", OPT_SECONDS, F(sms_cooldown_ms), 1, 3600, "60",
     "seconds before a phone can be sent another code", NULL},
    {"privacy-version", 0, "VERSION", OPT_TEXT, F(privacy_version), 0, 0, "2026-12-01",
     "the version of the privacy notice (docs/privacy.md) that signing in agrees to; it is "
     "recorded with each sign-in",
     NULL},
    {"export-connections", 0, "N", OPT_INT, F(export_connections), 0, 16, "1",
     "database connections per thread for exports, made at its first export (one export "
     "streams on each at a time; more are refused, 503 export_busy); 0: no exports",
     "Exports and alerts"},
    {"export-dir", 0, "DIR", OPT_TEXT, F(export_dir), 0, 0, "$PACKCODE_HOME/exports",
     "where background export jobs write their files (made, 0700, at the first job); with several "
     "servers, a directory they share, since any of them may run a job or serve its download",
     NULL},
    {"export-jobs", 0, "N", OPT_INT, F(export_jobs), 0, 1, "1",
     "1: this server runs background export jobs (servers share the work: each job runs on "
     "one); 0: it only queues and serves them",
     NULL},
    {"alert-interval", 0, "S", OPT_SECONDS, F(alert_interval_ms), 0, 3600, "5",
     "evaluate the alert rules and the consumers' reports every S seconds (servers share "
     "the work: one evaluates at a time); 0: this server never does",
     NULL},
    {"privacy-interval", 0, "S", OPT_SECONDS, F(privacy_interval_ms), 0, 86400, "3600",
     "every S seconds truncate the old scans' addresses and delete the scans past retention "
     "(servers share the work: one runs at a time); 0: this server never does",
     NULL},
    {"scan-address-days", 0, "N", OPT_INT, F(scan_address_days), 0, 36500, "30",
     "truncate a scan's client address (IPv4 to /24, IPv6 to /48) once it is N days old; "
     "the default is the clone-detection window (docs/privacy.md); 0: keep addresses whole",
     NULL},
    {"scan-retention-days", 0, "N", OPT_INT, F(scan_retention_days), 0, 36500, "0",
     "delete scans N days old (the roll-ups keep the totals); 0: keep every scan", NULL},
    {"webhook-concurrency", 0, "N", OPT_INT, F(webhook_concurrency), 0, 256, "32",
     "webhook deliveries this server sends at once (servers share the work); 0: it sends "
     "none",
     "Webhooks"},
    {"webhook-timeout", 0, "S", OPT_SECONDS, F(webhook_timeout_ms), 1, 60, "10",
     "a delivery attempt gets S seconds, from connecting to the receiver's whole reply", NULL},
    {"webhook-tries", 0, "N", OPT_INT, F(webhook_tries), 1, 100, "12",
     "after N failed tries a delivery is failed: listed, counted, replayable", NULL},
    {"webhook-retry", 0, "S", OPT_SECONDS, F(webhook_retry_ms), 1, 3600, "10",
     "retry a failed delivery after about S seconds, then twice as long each time (half of "
     "it at random), at most an hour",
     NULL},
    {"payout-url", 0, "URL", OPT_TEXT, F(payout_url), 0, 0, NULL,
     "send red packets' payouts to the payment provider at URL: a JSON POST per payout with "
     "its Idempotency-Key, signed with --payout-secret-file as webhooks are "
     "(Packcode-Signature); servers share the work. Without it this server sends none",
     "Red packets' payouts"},
    {"payout-secret-file", 0, "FILE", OPT_TEXT, F(payout_secret_file), 0, 0, NULL,
     "the secret shared with the payment provider, one line of 16 to 256 bytes in a file of "
     "mode 0600: it signs the payouts and checks the provider's callbacks (POST "
     "/api/v1/payouts/callback, refused without it). Needed by --payout-url",
     NULL},
    {"payout-concurrency", 0, "N", OPT_INT, F(payout_concurrency), 1, 256, "16",
     "payouts this server sends at once", NULL},
    {"payout-timeout", 0, "S", OPT_SECONDS, F(payout_timeout_ms), 1, 60, "10",
     "a payout attempt gets S seconds, from connecting to the provider's whole reply", NULL},
    {"payout-tries", 0, "N", OPT_INT, F(payout_tries), 1, 100, "8",
     "after N attempts that timed out or got a 5xx a payout is failed and its amount returned "
     "to the campaign's budget (a 4xx fails it at once)",
     NULL},
    {"payout-retry", 0, "S", OPT_SECONDS, F(payout_retry_ms), 1, 3600, "5",
     "retry a payout after about S seconds, then twice as long each time (half of it at "
     "random), at most an hour",
     NULL},
    {"payout-callback-wait", 0, "S", OPT_SECONDS, F(payout_callback_wait_ms), 1, 86400, "600",
     "a payout the provider took (2xx) without calling back within S seconds is asked about "
     "again: the same request, the same Idempotency-Key; the status in the answer (paid, "
     "failed) settles it as the callback would, else it is asked again S seconds later",
     NULL},
    {"oidc-issuer", 0, "URL", OPT_TEXT, F(oidc_issuer), 0, 0, NULL,
     "sign members in through this OpenID Connect provider (authorization code with PKCE, the "
     "ID token checked against its JWKS): its issuer URL exactly, whose "
     "/.well-known/openid-configuration is read. https, except on a loopback address. Needs "
     "the three below",
     "Sign-in through OpenID Connect and WeChat"},
    {"oidc-client-id", 0, "ID", OPT_TEXT, F(oidc_client_id), 0, 0, NULL,
     "this server's client id at the provider", NULL},
    {"oidc-client-secret", 0, "SECRET", OPT_TEXT, F(oidc_client_secret), 0, 0, NULL,
     "its client secret (sent with HTTP Basic to the token endpoint); give it in the "
     "environment (PACKCODE_OIDC_CLIENT_SECRET) rather than on the command line",
     NULL},
    {"oidc-redirect", 0, "URL", OPT_TEXT, F(oidc_redirect), 0, 0, NULL,
     "the redirect URI registered with the provider: this server's /auth/oidc/callback as "
     "browsers reach it (https://brand.example/auth/oidc/callback)",
     NULL},
    {"wechat-appid", 0, "APPID", OPT_TEXT, F(wechat_appid), 0, 0, NULL,
     "sign members in silently inside WeChat (web authorization, snsapi_base) with this "
     "official account's app id; needs --wechat-secret and --wechat-redirect",
     NULL},
    {"wechat-secret", 0, "SECRET", OPT_TEXT, F(wechat_secret), 0, 0, NULL,
     "the official account's app secret (PACKCODE_WECHAT_SECRET rather than the command line)",
     NULL},
    {"wechat-redirect", 0, "URL", OPT_TEXT, F(wechat_redirect), 0, 0, NULL,
     "this server's /auth/wechat/callback as browsers reach it; its host must be the "
     "account's authorized web domain",
     NULL},
    {"wechat-authorize-url", 0, "URL", OPT_TEXT, F(wechat_authorize_url), 0, 0,
     "https://open.weixin.qq.com/connect/oauth2/authorize", "WeChat's authorization page", NULL},
    {"wechat-token-url", 0, "URL", OPT_TEXT, F(wechat_token_url), 0, 0,
     "https://api.weixin.qq.com/sns/oauth2/access_token",
     "WeChat's endpoint that exchanges a code for the openid", NULL},
    {"oauth-timeout", 0, "S", OPT_SECONDS, F(oauth_timeout_ms), 1, 60, "10",
     "a request to the provider (discovery, JWKS, token) gets S seconds", NULL},
    {"referral-interval", 0, "S", OPT_SECONDS, F(referral_interval_ms), 0, 3600, "10",
     "every S seconds settle the referrals whose referee has claimed since (a claim that "
     "carried the referral cookie settles at once; settling is idempotent, servers may share "
     "it); 0: this server never does",
     "Referrals"},
    {"log-level", 0, "LEVEL", OPT_LEVEL, 0, 0, 0, "info", "debug, info, warn or error", "Other"},
    {"help", 'h', NULL, OPT_HELP, 0, 0, 0, NULL, "show this help", NULL},
    {"version", 'V', NULL, OPT_VERSION, 0, 0, 0, NULL, "show the version", NULL},
};
#define NOPTS (sizeof opts / sizeof opts[0])

static const char intro[] =
    "Usage: packcode-server [OPTIONS]\n"
    "\n"
    "Serve packcode's consumer and verification endpoints: the landing page a\n"
    "phone opens when it scans a pack's QR code, exactly-once point claims into\n"
    "member accounts, verification lookups that consume nothing, member\n"
    "balances, and health and metrics endpoints; and the admin API (products,\n"
    "batches, recalls, points, codes that look cloned, stats), behind bearer\n"
    "tokens made with 'packcode-gen token add'. docs/api.md is the contract.\n"
    "\n"
    "A code whose check character or signature is wrong is answered from the\n"
    "keyring alone, without touching the database. Batches, products and admin\n"
    "tokens are cached and refreshed when they change (LISTEN packcode_catalog).\n"
    "Claims that arrive together commit together, and none is acknowledged\n"
    "before its transaction has committed.\n";

static const char outro[] =
    "  PACKCODE_HOME           state directory: keyring, var/pg (default: .)\n"
    "\n"
    "Signals:\n"
    "  SIGHUP                  reload the keyring and the TLS certificate and key\n"
    "                          (if bad, that is logged and the old ones kept).\n"
    "                          The keyring needs no signal: it is read again within\n"
    "                          a second of its file changing, and at once when a\n"
    "                          code of a key id it does not hold comes in\n"
    "  SIGTERM, SIGINT         stop accepting connections, finish the requests in\n"
    "                          flight, write the buffered scan records, exit 0\n"
    "\n"
    "Logs go to stderr, one line per event, key=value fields.\n"
    "\n"
    "Exit status: 0 after a graceful stop, 1 if start-up fails (one line on\n"
    "stderr says why), 2 on a usage error.\n";

#define HELP_COL    26
#define HELP_WIDTH  79
#define TRUSTED_MAX 64 /* --trusted-proxy blocks */

static struct cidr trusted[TRUSTED_MAX];
static int trusted_from_cli; /* the first --trusted-proxy replaces the environment's */

/* Add the comma-separated blocks of text to cfg->trusted. 0, or a usage error. */
static int add_cidrs(const char *text, const char *from, struct server_config *cfg)
{
	if (from[0] == '-' && !trusted_from_cli) {
		trusted_from_cli = 1;
		cfg->ntrusted = 0;
	}
	for (const char *p = text;;) {
		char one[80];
		size_t n = strcspn(p, ",");
		while (n && p[n - 1] == ' ')
			n--;
		snprintf(one, sizeof one, "%.*s", (int)(n < sizeof one ? n : sizeof one - 1), p);
		if (n >= sizeof one || cidr_parse(one, &trusted[cfg->ntrusted]) < 0)
			return cli_usage(NULL,
			                 "%s: not an address or CIDR block (10.0.0.0/8, "
			                 "2001:db8::/32): %.*s",
			                 from, (int)n, p);
		if (++cfg->ntrusted == TRUSTED_MAX && p[strcspn(p, ",")])
			return cli_usage(NULL, "%s: at most %d blocks", from, TRUSTED_MAX);
		p += strcspn(p, ",");
		if (!*p)
			break;
		p += 1 + strspn(p + 1, " ");
	}
	cfg->trusted = trusted;
	return 0;
}

/* PACKCODE_NAME for --name. */
static void env_name(const struct opt *o, char *out, size_t outlen)
{
	size_t n = (size_t)snprintf(out, outlen, "PACKCODE_");
	for (const char *p = o->name; *p && n + 1 < outlen; p++)
		out[n++] = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	out[n] = '\0';
}

/* Print text from column col, wrapped at HELP_WIDTH, lines after the first indented to col. */
static void wrap(const char *text, int col)
{
	int at = col;
	for (const char *p = text; *p;) {
		size_t w = strcspn(p, " ");
		if (at > col && at + 1 + (int)w > HELP_WIDTH) {
			printf("\n%*s", col, "");
			at = col;
		} else if (at > col) {
			putchar(' ');
			at++;
		}
		printf("%.*s", (int)w, p);
		at += (int)w;
		p += w;
		p += strspn(p, " ");
	}
	putchar('\n');
}

void options_help(void)
{
	char env[64], text[1024];
	fputs(intro, stdout);
	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt *o = &opts[i];
		if (o->section)
			printf("\n%s:\n", o->section);
		int n = o->short_name ? printf("  -%c, --%s", o->short_name, o->name)
		                      : printf("      --%s", o->name);
		if (o->arg)
			n += printf(" %s", o->arg);
		if (n >= HELP_COL - 1)
			printf("\n%*s", HELP_COL, "");
		else
			printf("%*s", HELP_COL - n, "");
		size_t t = (size_t)snprintf(text, sizeof text, "%s", o->help);
		if (o->kind == OPT_INT || o->kind == OPT_SECONDS)
			t += (size_t)snprintf(text + t, sizeof text - t, " (%lld to %lld%s", o->min,
			                      o->max, o->def ? "" : ")");
		if (o->def)
			snprintf(text + t, sizeof text - t, "%sdefault %s)",
			         o->kind == OPT_INT || o->kind == OPT_SECONDS ? "; " : " (",
			         o->def);
		wrap(text, HELP_COL);
	}
	printf("\nEnvironment (the command line wins):\n");
	for (size_t i = 0; i < NOPTS; i++) {
		if (opts[i].kind == OPT_HELP || opts[i].kind == OPT_VERSION)
			continue;
		env_name(&opts[i], env, sizeof env);
		int n = printf("  %s", env);
		if (n >= HELP_COL - 1)
			printf("\n%*s", HELP_COL, "");
		else
			printf("%*s", HELP_COL - n, "");
		printf("as --%s\n", opts[i].name);
	}
	fputs(outro, stdout);
}

/* Where the configured origins are kept: they outlive the environment's copy. */
static char origin_store[SERVER_CORS_ORIGINS][CORS_ORIGIN_MAX + 1];

/* Add the origins of text (separated by spaces or commas): 0, or a usage error. */
static int add_origins(const char *text, const char *from, struct server_config *cfg)
{
	char err[CORS_ORIGIN_MAX + 128];
	for (const char *p = text + strspn(text, " ,"); *p; p += strspn(p, " ,")) {
		size_t n = strcspn(p, " ,");
		int i = cfg->ncors_origins;
		if (i == SERVER_CORS_ORIGINS)
			return cli_usage(NULL, "%s: at most %d origins", from, SERVER_CORS_ORIGINS);
		if (n > CORS_ORIGIN_MAX)
			return cli_usage(NULL, "%s: an origin of at most %d bytes", from,
			                 CORS_ORIGIN_MAX);
		snprintf(origin_store[i], sizeof origin_store[i], "%.*s", (int)n, p);
		if (cors_origin_check(origin_store[i], err, sizeof err) < 0)
			return cli_usage(NULL, "%s: %s", from, err);
		cfg->cors_origins[cfg->ncors_origins++] = origin_store[i];
		p += n;
	}
	return 0;
}

/* Set o from text, which came from `from` (--name or PACKCODE_NAME). 0, or a usage error. */
static int set(const struct opt *o, const char *text, const char *from, struct server_config *cfg)
{
	char *base = (char *)cfg;
	long long v;
	enum log_level level;
	switch (o->kind) {
	case OPT_TEXT:
		*(const char **)(base + o->field) = text;
		return 0;
	case OPT_INT:
	case OPT_SECONDS:
		if (cli_parse_int(text, o->min, o->max, &v) < 0)
			return cli_usage(NULL, "%s must be %lld to %lld%s: %s", from, o->min,
			                 o->max, o->kind == OPT_SECONDS ? " seconds" : "", text);
		*(int *)(base + o->field) = (int)(o->kind == OPT_SECONDS ? v * 1000 : v);
		return 0;
	case OPT_RATE:
		if (ratelimit_parse(text, (struct ratelimit_rate *)(base + o->field)) < 0)
			return cli_usage(NULL,
			                 "%s: a rate limit is RATE/BURST (per second) or 0: %s",
			                 from, text);
		return 0;
	case OPT_LEVEL:
		if (log_level_parse(text, &level) < 0)
			return cli_usage(NULL, "%s: unknown log level: %s", from, text);
		log_set_level(level);
		return 0;
	case OPT_DB:
		if (!*text)
			return cli_usage(NULL, "%s needs a connection string", from);
		setenv("PACKCODE_DB", text, 1); /* lib/db.c reads it */
		return 0;
	case OPT_ORIGINS:
		return add_origins(text, from, cfg);
	case OPT_CIDRS:
		if (cfg->ntrusted == TRUSTED_MAX && !(from[0] == '-' && !trusted_from_cli))
			return cli_usage(NULL, "%s: at most %d blocks", from, TRUSTED_MAX);
		return add_cidrs(text, from, cfg);
	case OPT_HELP:
	case OPT_VERSION:
		break;
	}
	return 0;
}

enum options_result options_parse(int argc, char **argv, struct server_config *cfg)
{
	struct option longs[NOPTS + 1];
	char shorts[2 * NOPTS + 1], env[64], from[80];
	size_t ns = 0;
	const char *e;

	/* the defaults, then the environment */
	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt *o = &opts[i];
		longs[i] = (struct option){o->name, o->arg ? required_argument : no_argument, NULL,
		                           (int)(256 + i)};
		if (o->short_name) {
			shorts[ns++] = o->short_name;
			if (o->arg)
				shorts[ns++] = ':';
		}
		if (o->kind == OPT_HELP || o->kind == OPT_VERSION || o->kind == OPT_DB)
			continue; /* PACKCODE_DB is lib/db.c's to read */
		if (o->def && o->def[0] != '$' && set(o, o->def, "default", cfg))
			return OPTIONS_USAGE;
		env_name(o, env, sizeof env);
		if ((e = getenv(env)) && *e && set(o, e, env, cfg))
			return OPTIONS_USAGE;
	}
	longs[NOPTS] = (struct option){0};
	shorts[ns] = '\0';

	int c, origins_from_argv = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		const struct opt *o = NULL;
		if (c >= 256 && c < 256 + (int)NOPTS)
			o = &opts[c - 256];
		for (size_t i = 0; !o && c != '?' && i < NOPTS; i++)
			if (opts[i].short_name == c)
				o = &opts[i];
		if (!o)
			return cli_usage(NULL, "unknown option or missing value: %s",
			                 argv[optind - 1]);
		if (o->kind == OPT_HELP) {
			options_help();
			return OPTIONS_EXIT;
		}
		if (o->kind == OPT_VERSION) {
			puts("packcode-server " PACKAGE_VERSION);
			return OPTIONS_EXIT;
		}
		snprintf(from, sizeof from, "--%s", o->name);
		/* the command line's origins replace the environment's */
		if (o->kind == OPT_ORIGINS && !origins_from_argv++)
			cfg->ncors_origins = 0;
		if (set(o, optarg, from, cfg))
			return OPTIONS_USAGE;
	}
	if (optind < argc)
		return cli_usage(NULL, "unexpected argument: %s", argv[optind]);
	if (!cfg->keyring_path)
		cfg->keyring_path = keyring_default_path();
	if (!cfg->pii_key_path)
		cfg->pii_key_path = pii_key_default_path();
	if (!cfg->export_dir) {
		static char dir[4096];
		snprintf(dir, sizeof dir, "%s/exports", packcode_home());
		cfg->export_dir = dir;
	}
	if (!cfg->tls_cert != !cfg->tls_key)
		return cli_usage(NULL, "--tls-cert and --tls-key go together");
	if (cfg->public_host && host_valid(cfg->public_host) < 0)
		return cli_usage(NULL, "--public-host %s: not a host name or IPv4 address[:port]",
		                 cfg->public_host);
	char oerr[200];
	if (oauth_config_check(cfg, oerr, sizeof oerr) < 0)
		return cli_usage(NULL, "%s", oerr);
	if (!phone_region_known(cfg->default_country))
		return cli_usage(NULL,
		                 "--default-country %s: not a region with phone numbers (CN, TW, "
		                 "US, ...)",
		                 cfg->default_country);
	return OPTIONS_RUN;
}
