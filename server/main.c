/*
 * main.c: packcode-server: options, start-up, worker threads, signals.
 *
 * The main thread runs the control loop (signals, the catalog's LISTEN
 * connection); each worker thread runs its own event loop with its own
 * SO_REUSEPORT listener and database pool. SIGHUP reloads the keyring in
 * every worker (and the TLS certificate); SIGTERM stops accepting, lets
 * requests in flight finish, flushes the scan records and exits 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "handlers/claim.h"
#include "clock.h"
#include "config.h"
#include "db.h"
#include "edge/http.h"
#include "log.h"
#include "handlers/lookup.h"
#include "engine/scanlog.h"
#include "engine/listen.h"
#include "routes.h"
#include "server.h"
#include "statements.h"
#include "engine/tokens.h"
#include "edge/tls.h"

#define PROG    "packcode-server"
#define TICK_MS 100
#define CACHE_RELOAD_S 60 /* the catalog and tokens, besides on NOTIFY */
/* Draining: a worker exits once no request has come for this long (a client
 * may be sending one on a kept-alive connection as the last reply leaves). */
#define DRAIN_QUIET_MS 200

/* long options without a short form */
enum {
	OPT_TLS_CERT = 256,
	OPT_TLS_KEY,
	OPT_RATE_LOOKUPS,
	OPT_RATE_CLAIMS,
	OPT_RATE_MEMBER,
	OPT_MAX_CONN,
	OPT_REQ_TIMEOUT,
	OPT_IDLE_TIMEOUT,
};

static const char usage[] =
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
    "keyring alone, without touching the database. Batches and products are\n"
    "cached and refreshed when they change (LISTEN packcode_catalog). Claims\n"
    "that arrive together commit together, and none is acknowledged before its\n"
    "transaction has committed.\n"
    "\n"
    "Options:\n"
    "  -l, --listen HOST:PORT  address to listen on (default 127.0.0.1:8080;\n"
    "                          PORT 0 picks a free port, logged at start-up)\n"
    "  -d, --db CONNINFO       libpq connection string or URI of the database\n"
    "                          (default: $PACKCODE_DB; if unset, the embedded\n"
    "                          cluster in $PACKCODE_HOME/var/pg, created, started\n"
    "                          and migrated as needed)\n"
    "  -k, --keyring FILE      the keyring (default: $PACKCODE_KEYRING, else\n"
    "                          $PACKCODE_HOME/keyring); must be mode 0600\n"
    "  -t, --threads N         event loops, each with its own listener and pool\n"
    "                          (default 1, at most 64)\n"
    "  -p, --pool N            database connections per thread, one of them the\n"
    "                          scan writer's (default 4, at least 2)\n"
    "      --claim-batches N   claim transactions in flight per thread (default 1):\n"
    "                          claims arriving meanwhile wait and commit together\n"
    "                          in the next one (group commit); raise it for a\n"
    "                          database with many cores or a long round trip\n"
    "      --lookup-batches N  lookup queries in flight per thread (default 1):\n"
    "                          lookups arriving meanwhile go out together\n"
    "      --drain-timeout S   on SIGTERM, wait at most S seconds for requests in\n"
    "                          flight (default 10)\n"
    "\n"
    "Facing the internet:\n"
    "      --tls-cert FILE     serve HTTPS (TLS 1.2 or 1.3) on the listener with this\n"
    "                          PEM certificate chain; needs --tls-key. HTTPS replies\n"
    "                          carry Strict-Transport-Security: max-age=31536000\n"
    "      --tls-key FILE      the certificate's PEM private key\n"
    "      --rate-lookups R/B  per client address: verification lookups, landing\n"
    "                          pages and member pages, R a second with bursts of\n"
    "                          B (default 20/200); over it, 429 with Retry-After\n"
    "      --rate-claims R/B   per client address: claims, API and form (default\n"
    "                          5/50)\n"
    "      --rate-member-claims R/B\n"
    "                          per member: claims that reach the database (a\n"
    "                          genuine code, its PIN given), R may be a fraction\n"
    "                          (default 0.2/30: 30 at once, then 12 a minute)\n"
    "                          A limit of 0 turns it off. IPv6 clients count by\n"
    "                          /64. Each thread keeps its own buckets: a client\n"
    "                          whose connections reach several threads can get\n"
    "                          up to --threads times a limit.\n"
    "      --max-connections N open connections over all threads (default 10000);\n"
    "                          beyond it a new connection is closed at once\n"
    "      --request-timeout S a request (line, headers, body; TLS handshake for a\n"
    "                          connection's first) must arrive whole within S\n"
    "                          seconds of its first byte, or the connection is\n"
    "                          closed (default 20)\n"
    "      --idle-timeout S    close a connection silent for S seconds (default 30)\n"
    "\n"
    "Other:\n"
    "      --log-level LEVEL   debug, info, warn or error (default info)\n"
    "  -h, --help              show this help\n"
    "  -V, --version           show the version\n"
    "\n"
    "Environment:\n"
    "  PACKCODE_DB             as --db\n"
    "  PACKCODE_LISTEN         as --listen\n"
    "  PACKCODE_THREADS        as --threads\n"
    "  PACKCODE_POOL           as --pool\n"
    "  PACKCODE_KEYRING        as --keyring\n"
    "  PACKCODE_HOME           state directory: keyring, var/pg (default: .)\n"
    "  PACKCODE_LOG_LEVEL      as --log-level\n"
    "  PACKCODE_TLS_CERT, PACKCODE_TLS_KEY, PACKCODE_RATE_LOOKUPS,\n"
    "  PACKCODE_RATE_CLAIMS, PACKCODE_RATE_MEMBER_CLAIMS, PACKCODE_MAX_CONNECTIONS\n"
    "                          as the options of the same names\n"
    "\n"
    "Signals:\n"
    "  SIGHUP                  reload the keyring and the TLS certificate and key\n"
    "                          (if bad, that is logged and the old ones kept)\n"
    "  SIGTERM, SIGINT         stop accepting connections, finish the requests in\n"
    "                          flight, write the buffered scan records, exit 0\n"
    "\n"
    "Logs go to stderr, one line per event, key=value fields.\n"
    "\n"
    "Exit status: 0 after a graceful stop, 1 if start-up fails (one line on\n"
    "stderr says why), 2 on a usage error.\n";

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static int usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "%s: %s%s%s (see '%s --help')\n", PROG, msg, arg ? ": " : "",
	        arg ? arg : "", PROG);
	return 2;
}

static int parse_int(const char *s, int min, int max, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || !*s || *end || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

/*
 * Room for --max-connections file descriptors: raise the soft limit towards
 * the hard one, and lower the cap (with a warning) if that is not enough.
 */
static void fit_fd_limit(struct server_config *cfg)
{
	struct rlimit rl;
	rlim_t reserve = 64 + (rlim_t)cfg->threads * ((rlim_t)cfg->pool_size + 8);
	rlim_t want = (rlim_t)cfg->max_connections + reserve;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < want) {
		rl.rlim_cur =
		    rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < want) {
		int cap = rl.rlim_cur > reserve + 16 ? (int)(rl.rlim_cur - reserve) : 16;
		log_warn("event=max_connections_lowered from=%d to=%d fd_limit=%llu",
		         cfg->max_connections, cap, (unsigned long long)rl.rlim_cur);
		cfg->max_connections = cap;
	}
}

/* ---- listening sockets ---------------------------------------------------------- */

/* Split "HOST:PORT" / "[V6]:PORT". 0 or -1. */
static int split_listen(const char *spec, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *colon;
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (!close || close[1] != ':')
			return -1;
		snprintf(host, hostlen, "%.*s", (int)(close - spec - 1), spec + 1);
		colon = close + 1;
	} else {
		colon = strrchr(spec, ':');
		if (!colon)
			return -1;
		snprintf(host, hostlen, "%.*s", (int)(colon - spec), spec);
	}
	snprintf(port, portlen, "%s", colon + 1);
	int p;
	return host[0] && parse_int(port, 0, 65535, &p) == 0 ? 0 : -1;
}

/* One SO_REUSEPORT socket per worker on the same address; -1 with err. */
static int open_listeners(struct server *s, char *err, size_t errlen)
{
	char host[256], port[16];
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	if (split_listen(s->cfg.listen, host, sizeof host, port, sizeof port) < 0) {
		snprintf(err, errlen, "--listen %s: expected HOST:PORT", s->cfg.listen);
		return -1;
	}
	int rc = getaddrinfo(host, port, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "--listen %s: %s", s->cfg.listen, gai_strerror(rc));
		return -1;
	}
	struct sockaddr_storage addr;
	socklen_t alen = (socklen_t)ai->ai_addrlen;
	memcpy(&addr, ai->ai_addr, ai->ai_addrlen);
	int family = ai->ai_family;
	freeaddrinfo(ai);

	for (int i = 0; i < s->nworkers; i++) {
		int one = 1;
		int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
		    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 ||
		    bind(fd, (struct sockaddr *)&addr, alen) < 0 || listen(fd, 1024) < 0) {
			snprintf(err, errlen, "cannot listen on %s: %s", s->cfg.listen,
			         strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		if (i == 0) {
			/* port 0: the others must join the port the kernel picked */
			socklen_t l = sizeof addr;
			getsockname(fd, (struct sockaddr *)&addr, &l);
			alen = l;
			char name[INET6_ADDRSTRLEN + 8], h[INET6_ADDRSTRLEN], p[8];
			getnameinfo((struct sockaddr *)&addr, l, h, sizeof h, p, sizeof p,
			            NI_NUMERICHOST | NI_NUMERICSERV);
			snprintf(name, sizeof name, family == AF_INET6 ? "[%s]:%s" : "%s:%s", h, p);
			log_info("event=listening addr=%s threads=%d pool=%d tls=%s", name,
			         s->nworkers, s->cfg.pool_size,
			         atomic_load(&s->tls) ? "on" : "off");
		}
		s->workers[i].listen_fd = fd;
	}
	return 0;
}

/* ---- workers ----------------------------------------------------------------------- */

static void worker_exit_if_done(struct worker *w)
{
	if (!w->draining)
		return;
	int busy = w->inflight > 0 || claims_pending(w->claims) > 0 ||
	           lookups_pending(w->lookups) > 0 ||
	           clock_ms() - w->last_request_ms < DRAIN_QUIET_MS;
	if (!busy) {
		scanlog_flush(w->scanlog);
		if (scanlog_pending(w->scanlog) == 0) {
			event_base_loopexit(w->base, NULL);
			return;
		}
		if (scanlog_stuck(w->scanlog)) {
			/* the database is away: waiting would not get them written */
			log_warn("event=scans_not_written worker=%d scans=%zu", w->id,
			         scanlog_pending(w->scanlog));
			event_base_loopexit(w->base, NULL);
			return;
		}
	}
	if (clock_ms() > w->drain_deadline_ms) {
		log_warn("event=drain_timeout worker=%d requests=%d scans=%zu", w->id, w->inflight,
		         scanlog_pending(w->scanlog));
		event_base_loopexit(w->base, NULL);
	}
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct pool_stats ps;
	(void)fd;
	(void)what;
	scanlog_flush(w->scanlog);
	pool_get_stats(w->pool, &ps);
	atomic_store_explicit(&w->metrics.pool_size, ps.size, memory_order_relaxed);
	atomic_store_explicit(&w->metrics.pool_connected, ps.connected, memory_order_relaxed);
	atomic_store_explicit(&w->metrics.pool_busy, ps.busy, memory_order_relaxed);
	atomic_store_explicit(&w->metrics.pool_waiting, ps.waiting, memory_order_relaxed);
	worker_exit_if_done(w);
}

static void worker_stop(struct worker *w)
{
	if (w->draining)
		return;
	w->draining = 1;
	w->drain_deadline_ms = clock_ms() + w->srv->cfg.drain_ms;
	http_worker_stop_accepting(w);
	atomic_fetch_add(&w->srv->listeners_closed, 1);
	worker_exit_if_done(w);
}

static void worker_reload(struct worker *w)
{
	char err[KEYRING_ERR_LEN];
	struct keyring *kr = keyring_load(w->srv->cfg.keyring_path, err, sizeof err);
	if (!kr) {
		log_error("event=keyring_reload_failed worker=%d reason=\"%s\"", w->id, err);
		return;
	}
	keyring_free(w->keyring);
	w->keyring = kr;
	log_info("event=keyring_reloaded worker=%d keys=%zu", w->id, kr->n);
}

/*
 * The control loop's commands, one byte each on the worker's pipe: 'S' stop,
 * 'R' reload the keyring. A pipe rather than event_active() across threads,
 * so that the workers' loops need no locks (no evthread_use_pthreads).
 */
static void on_control(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	char cmd[16];
	(void)what;
	ssize_t n = read(fd, cmd, sizeof cmd);
	for (ssize_t i = 0; i < n; i++) {
		if (cmd[i] == 'S')
			worker_stop(w);
		else if (cmd[i] == 'R')
			worker_reload(w);
	}
}

static void worker_send(struct worker *w, char cmd)
{
	if (w->control[1] >= 0 && write(w->control[1], &cmd, 1) != 1)
		log_error("event=control_failed worker=%d", w->id);
}

static int worker_init(struct worker *w, char *err, size_t errlen)
{
	struct server *s = w->srv;
	char kerr[KEYRING_ERR_LEN];
	w->base = event_base_new();
	if (!w->base) {
		snprintf(err, errlen, "cannot create an event loop");
		return -1;
	}
	w->keyring = keyring_load(s->cfg.keyring_path, kerr, sizeof kerr);
	if (!w->keyring) {
		snprintf(err, errlen, "%s", kerr);
		return -1;
	}
	char name[64];
	snprintf(name, sizeof name, "packcode-server-%d", w->id);
	struct pool_config pc = {
	    .conninfo = s->cfg.conninfo,
	    .name = name,
	    .size = s->cfg.pool_size - 1, /* and one for the scan writer (scanlog.c) */
	    .queue_max = 4096,
	    .setup_sql = STATEMENTS_SETUP,
	    .query_timeout_ms = s->cfg.query_timeout_ms,
	};
	w->pool = pool_new(w->base, &pc);
	if (!w->pool || !(w->claims = claims_new(w)) || !(w->lookups = lookups_new(w)) ||
	    !(w->scanlog = scanlog_new(w)) || !(w->ratelimit = ratelimit_new(s->cfg.rates))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (pipe2(w->control, O_CLOEXEC | O_NONBLOCK) < 0) {
		w->control[0] = w->control[1] = -1;
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	w->control_ev = event_new(w->base, w->control[0], EV_READ | EV_PERSIST, on_control, w);
	w->tick_ev = event_new(w->base, -1, EV_PERSIST, on_tick, w);
	struct timeval tick = {0, TICK_MS * 1000};
	if (!w->control_ev || !w->tick_ev || event_add(w->control_ev, NULL) < 0 ||
	    event_add(w->tick_ev, &tick) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (http_worker_start(w) < 0) {
		snprintf(err, errlen, "cannot start the HTTP server");
		return -1;
	}
	return 0;
}

/*
 * Tear a worker down, after its loop has stopped, in the one order in which
 * nothing calls back into freed memory:
 *   1. the pool: every query still waiting or running fails now, and its
 *      callback runs into live batchers, handlers and requests, which answer
 *      their clients (503) on connections still open;
 *   2. the batchers (claims, lookups), empty since 1;
 *   3. the scan writer and its own connection (the drain wrote what it
 *      could; scans still buffered are counted as dropped);
 *   4. the HTTP layer: no request is pending any more, so closing the
 *      connections frees nobody's request under them;
 *   5. what nothing calls: timers, the control pipe, the catalog view, the
 *      keyring, the rate limits, the loop.
 */
static void worker_free(struct worker *w)
{
	pool_free(w->pool);
	w->pool = NULL;
	claims_free(w->claims);
	lookups_free(w->lookups);
	scanlog_free(w->scanlog);
	if (w->http)
		evhttp_free(w->http);
	w->http = NULL;
	if (w->control_ev)
		event_free(w->control_ev);
	for (int i = 0; i < 2; i++)
		if (w->control[i] >= 0)
			close(w->control[i]);
	if (w->tick_ev)
		event_free(w->tick_ev);
	cat_view_release(&w->view);
	keyring_free(w->keyring);
	ratelimit_free(w->ratelimit);
	if (w->listen_fd >= 0)
		close(w->listen_fd);
	if (w->base)
		event_base_free(w->base);
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	event_base_dispatch(w->base);
	return NULL;
}

/* ---- the control loop ---------------------------------------------------------------- */

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server *s = arg;
	(void)what;
	if (sig == SIGHUP) {
		char err[KEYRING_ERR_LEN];
		if (atomic_load(&s->tls)) {
			if (tls_reload(s, err, sizeof err) < 0)
				log_error("event=tls_reload_failed reason=\"%s\"", err);
			else
				log_info("event=tls_reloaded");
		}
		struct keyring *kr = keyring_load(s->cfg.keyring_path, err, sizeof err);
		if (!kr) {
			log_error("event=keyring_reload_failed reason=\"%s\"", err);
			return;
		}
		keyring_free(kr);
		for (int i = 0; i < s->nworkers; i++)
			worker_send(&s->workers[i], 'R');
		return;
	}
	log_info("event=stopping signal=%s", sig == SIGTERM ? "TERM" : "INT");
	for (int i = 0; i < s->nworkers; i++)
		worker_send(&s->workers[i], 'S');
	/* the workers drain on their own; the control loop is done */
	s->stopping = 1;
}

/*
 * The database to use and a first connection to it: $PACKCODE_DB (which must
 * be migrated), or the embedded cluster, created, started and migrated here.
 */
static PGconn *open_database(struct server *s, char *err, size_t errlen)
{
	PGconn *db = db_connect(err, errlen);
	if (!db)
		return NULL;
	if (db_conninfo(s->cfg.conninfo, sizeof s->cfg.conninfo, err, errlen) < 0) {
		PQfinish(db);
		return NULL;
	}
	return db;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"db", required_argument, NULL, 'd'},
	    {"keyring", required_argument, NULL, 'k'},
	    {"threads", required_argument, NULL, 't'},
	    {"pool", required_argument, NULL, 'p'},
	    {"drain-timeout", required_argument, NULL, 'D'},
	    {"claim-batches", required_argument, NULL, 'C'},
	    {"lookup-batches", required_argument, NULL, 'B'},
	    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
	    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
	    {"rate-lookups", required_argument, NULL, OPT_RATE_LOOKUPS},
	    {"rate-claims", required_argument, NULL, OPT_RATE_CLAIMS},
	    {"rate-member-claims", required_argument, NULL, OPT_RATE_MEMBER},
	    {"max-connections", required_argument, NULL, OPT_MAX_CONN},
	    {"request-timeout", required_argument, NULL, OPT_REQ_TIMEOUT},
	    {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
	    {"log-level", required_argument, NULL, 'L'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {0},
	};
	struct server srv = {0};
	struct server_config *cfg = &srv.cfg;
	const char *env;
	char err[DB_ERR_LEN];
	int c, drain_s = 10, request_timeout_s = 20, rc = 1;
	struct event_base *control = NULL;
	struct event *sigs[4] = {0};
	struct listener *listener = NULL;
	PGconn *db = NULL;

	cfg->listen = (env = getenv("PACKCODE_LISTEN")) && *env ? env : "127.0.0.1:8080";
	cfg->keyring_path = keyring_default_path();
	cfg->threads = 1;
	cfg->pool_size = 4;
	cfg->claim_batches = 1;
	cfg->lookup_batches = 1;
	cfg->query_timeout_ms = 15000;
	/* the edge's defaults: generous for people behind one shared (NAT) address */
	cfg->rates[RL_LOOKUPS] = (struct rl_rate){20, 200};
	cfg->rates[RL_CLAIMS] = (struct rl_rate){5, 50};
	cfg->rates[RL_MEMBER_CLAIMS] = (struct rl_rate){0.2, 30};
	cfg->max_connections = 10000;
	cfg->idle_timeout_s = 30;
	cfg->tls_cert = (env = getenv("PACKCODE_TLS_CERT")) && *env ? env : NULL;
	cfg->tls_key = (env = getenv("PACKCODE_TLS_KEY")) && *env ? env : NULL;
	static const struct {
		const char *name;
		enum rl_kind kind;
	} rate_env[] = {{"PACKCODE_RATE_LOOKUPS", RL_LOOKUPS},
	                {"PACKCODE_RATE_CLAIMS", RL_CLAIMS},
	                {"PACKCODE_RATE_MEMBER_CLAIMS", RL_MEMBER_CLAIMS}};
	for (size_t i = 0; i < sizeof rate_env / sizeof rate_env[0]; i++)
		if ((env = getenv(rate_env[i].name)) && *env &&
		    ratelimit_parse(env, &cfg->rates[rate_env[i].kind]) < 0)
			return usage_error("expected RATE/BURST or 0 in the environment", env);
	if ((env = getenv("PACKCODE_MAX_CONNECTIONS")) && *env &&
	    parse_int(env, 1, 1000000, &cfg->max_connections) < 0)
		return usage_error("PACKCODE_MAX_CONNECTIONS must be 1 to 1000000", env);
	if ((env = getenv("PACKCODE_THREADS")) && *env && parse_int(env, 1, 64, &cfg->threads) < 0)
		return usage_error("PACKCODE_THREADS must be 1 to 64", env);
	if ((env = getenv("PACKCODE_POOL")) && *env && parse_int(env, 2, 256, &cfg->pool_size) < 0)
		return usage_error("PACKCODE_POOL must be 2 to 256", env);

	while ((c = getopt_long(argc, argv, "l:d:k:t:p:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			cfg->listen = optarg;
			break;
		case 'd':
			if (!*optarg)
				return usage_error("--db needs a connection string", NULL);
			setenv("PACKCODE_DB", optarg, 1);
			break;
		case 'k':
			cfg->keyring_path = optarg;
			break;
		case 't':
			if (parse_int(optarg, 1, 64, &cfg->threads) < 0)
				return usage_error("--threads must be 1 to 64", optarg);
			break;
		case 'p':
			if (parse_int(optarg, 2, 256, &cfg->pool_size) < 0)
				return usage_error("--pool must be 2 to 256", optarg);
			break;
		case 'C':
			if (parse_int(optarg, 1, 256, &cfg->claim_batches) < 0)
				return usage_error("--claim-batches must be 1 to 256", optarg);
			break;
		case 'B':
			if (parse_int(optarg, 1, 256, &cfg->lookup_batches) < 0)
				return usage_error("--lookup-batches must be 1 to 256", optarg);
			break;
		case 'D':
			if (parse_int(optarg, 0, 3600, &drain_s) < 0)
				return usage_error("--drain-timeout must be 0 to 3600 seconds",
				                   optarg);
			break;
		case OPT_TLS_CERT:
			cfg->tls_cert = optarg;
			break;
		case OPT_TLS_KEY:
			cfg->tls_key = optarg;
			break;
		case OPT_RATE_LOOKUPS:
		case OPT_RATE_CLAIMS:
		case OPT_RATE_MEMBER: {
			enum rl_kind k = c == OPT_RATE_LOOKUPS  ? RL_LOOKUPS
			                 : c == OPT_RATE_CLAIMS ? RL_CLAIMS
			                                        : RL_MEMBER_CLAIMS;
			if (ratelimit_parse(optarg, &cfg->rates[k]) < 0)
				return usage_error("a rate limit is RATE/BURST (per second) or 0",
				                   optarg);
			break;
		}
		case OPT_MAX_CONN:
			if (parse_int(optarg, 1, 1000000, &cfg->max_connections) < 0)
				return usage_error("--max-connections must be 1 to 1000000",
				                   optarg);
			break;
		case OPT_REQ_TIMEOUT:
			if (parse_int(optarg, 1, 3600, &request_timeout_s) < 0)
				return usage_error("--request-timeout must be 1 to 3600 seconds",
				                   optarg);
			break;
		case OPT_IDLE_TIMEOUT:
			if (parse_int(optarg, 1, 3600, &cfg->idle_timeout_s) < 0)
				return usage_error("--idle-timeout must be 1 to 3600 seconds",
				                   optarg);
			break;
		case 'L': {
			enum log_level l;
			if (log_level_parse(optarg, &l) < 0)
				return usage_error("unknown log level", optarg);
			log_set_level(l);
			break;
		}
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'V':
			puts(PROG " " PACKAGE_VERSION);
			return 0;
		default:
			return usage_error("unknown option", NULL);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument", argv[optind]);
	cfg->drain_ms = drain_s * 1000;
	cfg->request_timeout_ms = request_timeout_s * 1000;
	if (!cfg->tls_cert != !cfg->tls_key)
		return usage_error("--tls-cert and --tls-key go together", NULL);
	signal(SIGPIPE, SIG_IGN);
	fit_fd_limit(cfg);

	/* refuse a bad keyring before touching anything else */
	struct keyring *kr = keyring_load(cfg->keyring_path, err, sizeof err);
	if (!kr)
		return fail("%s", err);
	keyring_free(kr);
	if (cfg->tls_cert && tls_start(&srv, err, sizeof err) < 0)
		return fail("%s", err);

	if (!(db = open_database(&srv, err, sizeof err))) {
		fail("database: %s", err);
		goto out;
	}
	srv.catalog = catalog_new(db, err, sizeof err);
	if (srv.catalog)
		srv.tokens = tokens_new(db, err, sizeof err);
	PQfinish(db);
	if (!srv.catalog || !srv.tokens) {
		fail("database: %s", err);
		goto out;
	}

	if (http_routes(&srv, routes, routes_count, err, sizeof err) < 0) {
		fail("routes: %s", err);
		goto out;
	}
	srv.labels.noutcomes = CLAIM_OUTCOME_COUNT;
	for (int o = 0; o < CLAIM_OUTCOME_COUNT; o++)
		srv.labels.outcome[o] = claim_outcome_label((enum claim_outcome)o);
	srv.nworkers = cfg->threads;
	srv.workers = calloc((size_t)srv.nworkers, sizeof *srv.workers);
	if (!srv.workers) {
		fail("out of memory");
		goto out;
	}
	for (int i = 0; i < srv.nworkers; i++) {
		srv.workers[i].srv = &srv;
		srv.workers[i].id = i;
		srv.workers[i].listen_fd = -1;
		srv.workers[i].control[0] = srv.workers[i].control[1] = -1;
	}
	if (open_listeners(&srv, err, sizeof err) < 0) {
		fail("%s", err);
		goto out;
	}
	for (int i = 0; i < srv.nworkers; i++)
		if (worker_init(&srv.workers[i], err, sizeof err) < 0) {
			fail("%s", err);
			goto out;
		}

	control = event_base_new();
	listener = listener_new(STATEMENTS_LISTEN_SETUP, CACHE_RELOAD_S);
	if (!control || !listener || catalog_listen(srv.catalog, listener) < 0 ||
	    tokens_listen(srv.tokens, listener, control) < 0 ||
	    listener_start(listener, control, cfg->conninfo) < 0) {
		fail("cannot start the control loop");
		goto out;
	}
	int signos[] = {SIGTERM, SIGINT, SIGHUP};
	for (int i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(control, signos[i], on_signal, &srv);
		if (!sigs[i] || event_add(sigs[i], NULL) < 0) {
			fail("cannot install signal handlers");
			goto out;
		}
	}

	int started = 0;
	for (; started < srv.nworkers; started++)
		if (pthread_create(&srv.workers[started].thread, NULL, worker_run,
		                   &srv.workers[started]) != 0)
			break;
	if (started < srv.nworkers) {
		fail("cannot start worker threads");
		for (int i = 0; i < started; i++)
			worker_send(&srv.workers[i], 'S');
	} else {
		log_info("event=ready threads=%d", srv.nworkers);
		/* run until a stop signal sets srv.stopping */
		while (!srv.stopping && event_base_loop(control, EVLOOP_ONCE) == 0)
			;
		rc = 0;
	}
	for (int i = 0; i < started; i++)
		pthread_join(srv.workers[i].thread, NULL);
	log_info("event=stopped");
out:
	for (int i = 0; i < 4; i++)
		if (sigs[i])
			event_free(sigs[i]);
	listener_free(listener);
	catalog_free(srv.catalog);
	tokens_free(srv.tokens);
	for (int i = 0; srv.workers && i < srv.nworkers; i++)
		worker_free(&srv.workers[i]);
	free(srv.workers);
	if (control)
		event_base_free(control);
	tls_stop(&srv);
	return rc;
}
