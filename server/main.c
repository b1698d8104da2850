/*
 * main.c: packcode-server: options, start-up, worker threads, signals.
 *
 * The main thread runs the control loop (signals, the catalog's LISTEN
 * connection, the webhook dispatcher); each worker thread runs its own event loop with its own
 * SO_REUSEPORT listener and database pool. SIGHUP reloads the keyring in
 * every worker (and the TLS certificate); SIGTERM stops accepting, lets
 * requests in flight finish, flushes the scan records and exits 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "db.h"
#include "edge/conn.h"
#include "edge/http.h"
#include "edge/tls.h"
#include "engine/listen.h"
#include "engine/scanlog.h"
#include "engine/msession.h"
#include "engine/offload.h"
#include "engine/sms.h"
#include "engine/tokens.h"
#include "engine/alerts.h"
#include "engine/jobs.h"
#include "engine/tidy.h"
#include "engine/referral_sweep.h"
#include "engine/payouts.h"
#include "engine/webhooks.h"
#include "handlers/claim.h"
#include "handlers/health.h"
#include "handlers/lookup.h"
#include "handlers/oauth.h"
#include "log.h"
#include "options.h"
#include "pii.h"
#include "routes.h"
#include "server.h"
#include "engine/links.h"
#include "engine/campaigns.h"
#include "statements.h"

#define PROG            "packcode-server"
#define TICK_MS         100
#define CACHE_RELOAD_S  60  /* the catalog, tokens and sessions, besides on NOTIFY */
#define OFFLOAD_QUEUE   16  /* sign-ins waiting for argon2id; more are refused (503) */
#define KEYRING_POLL_MS 250 /* the keyring file's stamp, looked at this often */
/* Draining: a worker exits once no request has come for this long (a client
 * may be sending one on a kept-alive connection as the last reply leaves). */
#define DRAIN_QUIET_MS 200
/* After the drain timed out: how long the replies it forced get to leave. */
#define DRAIN_FLUSH_MS       200
#define WEBHOOK_POLL_MS      1000    /* a look for due deliveries, besides on NOTIFY */
#define PAYOUT_POLL_MS       250     /* a look for due payouts and failed ones to return */
#define JOBS_POLL_MS         2000    /* a look for export jobs, besides when one is queued */
#define WEBHOOK_RETRY_MAX_MS 3600000 /* the longest wait between two tries */

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
	long long p;
	return host[0] && cli_parse_int(port, 0, 65535, &p) == 0 ? 0 : -1;
}

/*
 * One SO_REUSEPORT socket per worker on spec (--listen, or --admin-listen
 * when admin), into each worker's listen_fd or admin_fd; the address bound
 * into *bound. -1 with err.
 */
static int open_listeners(struct server *s, const char *spec, int admin,
                          struct sockaddr_storage *bound, char *err, size_t errlen)
{
	const char *opt = admin ? "--admin-listen" : "--listen";
	char host[256], port[16];
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	if (split_listen(spec, host, sizeof host, port, sizeof port) < 0) {
		snprintf(err, errlen, "%s %s: expected HOST:PORT", opt, spec);
		return -1;
	}
	int rc = getaddrinfo(host, port, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "%s %s: %s", opt, spec, gai_strerror(rc));
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
			snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(errno));
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
			if (admin)
				log_info("event=admin_listening addr=%s", name);
			else
				log_info("event=listening addr=%s threads=%d pool=%d tls=%s", name,
				         s->nworkers, s->cfg.pool_size,
				         atomic_load(&s->tls) ? "on" : "off");
		}
		if (admin)
			s->workers[i].admin_fd = fd;
		else
			s->workers[i].listen_fd = fd;
	}
	*bound = addr;
	return 0;
}

/* 1 if a and b are the same address and port. */
static int same_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
	return x->sin6_port == y->sin6_port &&
	       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
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
	if (clock_ms() > w->drain_deadline_ms && !w->drain_expired) {
		log_warn("event=drain_timeout worker=%d requests=%d scans=%zu", w->id, w->inflight,
		         scanlog_pending(w->scanlog));
		/*
		 * What still waits on the database is answered now, 503 (its query
		 * cancelled: a claim not committed is rolled back, and a retry is
		 * safe either way), and the loop runs a moment more so the replies
		 * leave before the connections close.
		 */
		w->drain_expired = 1;
		pool_close(w->export_pool); /* its exports record their end on the pool */
		pool_close(w->pool);
		struct timeval flush = {0, DRAIN_FLUSH_MS * 1000};
		event_base_loopexit(w->base, &flush);
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
	health_tick(w);
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

/*
 * Read the keyring again: always (force: SIGHUP), or only if the file
 * changed since this worker read it (the control loop saw it change).
 */
static void worker_reload(struct worker *w, int force)
{
	char err[KEYRING_ERR_LEN];
	const char *path = w->srv->cfg.keyring_path;
	enum keyfile_refresh r;
	if (force)
		r = keyfile_load(&w->keys, path, err, sizeof err) < 0 ? KEYFILE_FAILED
		                                                      : KEYFILE_RELOADED;
	else
		r = keyfile_refresh(&w->keys, path, clock_ms(), 0, err, sizeof err);
	if (r == KEYFILE_FAILED)
		log_error("event=keyring_reload_failed worker=%d reason=%s", w->id, LOG_Q(err));
	else if (r == KEYFILE_RELOADED)
		log_info("event=keyring_reloaded worker=%d keys=%zu why=%s", w->id, w->keys.kr->n,
		         force ? "signal" : "file_changed");
}

/*
 * The control loop's commands, one byte each on the worker's pipe: 'S' stop,
 * 'R' reload the keyring (SIGHUP), 'K' the keyring file changed, 'G' open the
 * --geoip file again (SIGHUP). A pipe
 * rather than event_active() across threads, so that the workers' loops need
 * no locks (no evthread_use_pthreads).
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
		else if (cmd[i] == 'R' || cmd[i] == 'K')
			worker_reload(w, cmd[i] == 'R');
		else if (cmd[i] == 'G')
			scanlog_geoip_reload(w->scanlog, 1);
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
	if (keyfile_load(&w->keys, s->cfg.keyring_path, kerr, sizeof kerr) < 0) {
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
	    !(w->scanlog = scanlog_new(w)) || !(w->ratelimit = ratelimit_new(s->cfg.rates)) ||
	    !(w->offload = offload_port_new(s->offload, w->base)) ||
	    !(w->msessions = s->msessions) || !(w->identities = s->identities) ||
	    !(w->sms = sms_new(w)) || oauth_start(w) < 0) {
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
 *   0. the OIDC and WeChat client: its requests to providers are aborted,
 *      their flows answer 503 and start nothing more;
 *   1. the pools (exports' first: their failures submit to the other):
 *      every query still waiting or running fails now, and its
 *      callback runs into live batchers, handlers and requests, which answer
 *      their clients (503) on connections still open;
 *   2. the batchers (claims, lookups), empty since 1;
 *   3. the scan writer and its own connection (the drain wrote what it
 *      could; scans still buffered are counted as dropped);
 *   4. the HTTP layer: no request is pending any more, so closing the
 *      connections frees nobody's request under them;
 *   5. what nothing calls: timers, the control pipe, the offload port (its
 *      helper was joined before), the catalog view, the keyring, the rate
 *      limits, the loop.
 */
static void worker_free(struct worker *w)
{
	oauth_stop(w);             /* its flows in flight answer 503, and start no query */
	pool_free(w->export_pool); /* an export cut short records its end on the pool */
	w->export_pool = NULL;
	pool_free(w->pool);
	w->pool = NULL;
	claims_free(w->claims);
	lookups_free(w->lookups);
	sms_free(w->sms);
	w->sms = NULL;
	w->msessions = w->identities = NULL; /* the server's */
	scanlog_free(w->scanlog);
	if (w->http)
		evhttp_free(w->http);
	if (w->admin_http)
		evhttp_free(w->admin_http);
	w->http = w->admin_http = NULL;
	if (w->control_ev)
		event_free(w->control_ev);
	for (int i = 0; i < 2; i++)
		if (w->control[i] >= 0)
			close(w->control[i]);
	if (w->tick_ev)
		event_free(w->tick_ev);
	offload_port_free(w->offload);
	catalog_view_release(&w->view);
	keyfile_release(&w->keys);
	ratelimit_free(w->ratelimit);
	if (w->listen_fd >= 0)
		close(w->listen_fd);
	if (w->admin_fd >= 0)
		close(w->admin_fd);
	if (w->base)
		event_base_free(w->base);
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	health_tick(w); /* the first readiness ping goes out now, not a tick later */
	event_base_dispatch(w->base);
	return NULL;
}

/* ---- the control loop ---------------------------------------------------------------- */

/*
 * The keyring file, watched: a new key or a revocation reaches every worker
 * within KEYRING_POLL_MS without a signal. Keyring changes replace the file
 * by a rename, so a stat poll (a new inode, size or time) sees them, as it
 * sees a file edited in place or a directory swapped under a symlink.
 */
static void on_keyring_poll(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	struct keyfile_stamp now;
	char err[KEYRING_ERR_LEN];
	(void)fd;
	(void)what;
	keyfile_stamp(s->cfg.keyring_path, &now);
	if (keyfile_stamp_equal(&now, &s->keyring_seen))
		return;
	s->keyring_seen = now;
	/* checked once here, so that a bad file is logged once, not by every worker */
	struct keyring *kr = keyring_load(s->cfg.keyring_path, err, sizeof err);
	if (!kr) {
		log_error("event=keyring_reload_failed reason=%s", LOG_Q(err));
		return;
	}
	log_info("event=keyring_changed keys=%zu", kr->n);
	keyring_free(kr);
	for (int i = 0; i < s->nworkers; i++)
		worker_send(&s->workers[i], 'K');
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server *s = arg;
	(void)what;
	if (sig == SIGHUP) {
		char err[KEYRING_ERR_LEN];
		if (atomic_load(&s->tls)) {
			if (tls_reload(s, err, sizeof err) < 0)
				log_error("event=tls_reload_failed reason=%s", LOG_Q(err));
			else
				log_info("event=tls_reloaded");
		}
		if (s->cfg.geoip_path)
			for (int i = 0; i < s->nworkers; i++)
				worker_send(&s->workers[i], 'G');
		struct keyring *kr = keyring_load(s->cfg.keyring_path, err, sizeof err);
		if (!kr) {
			log_error("event=keyring_reload_failed reason=%s", LOG_Q(err));
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

/*
 * Everything before the threads: the database and its caches, the routes,
 * the workers with their listeners, loops and pools. 0, or -1 with err
 * (what was made is freed by server_close).
 */
static int server_open(struct server *s, char *err, size_t errlen)
{
	char why[DB_ERR_LEN - 16]; /* room for the prefix in err */
	PGconn *db = open_database(s, why, sizeof why);
	if (db) {
		s->catalog = catalog_new(db, why, sizeof why);
		if (s->catalog)
			s->links = links_new(db, why, sizeof why);
		if (s->links)
			s->tokens = tokens_new(db, TOKENS_BEARER, why, sizeof why);
		if (s->tokens)
			s->sessions = tokens_new(db, TOKENS_SESSION, why, sizeof why);
		if (s->sessions)
			s->campaigns = campaigns_new(db, why, sizeof why);
		PQfinish(db);
	}
	if (!s->catalog || !s->links || !s->tokens || !s->sessions || !s->campaigns) {
		snprintf(err, errlen, "database: %s", why);
		return -1;
	}
	s->offload = offload_new(OFFLOAD_QUEUE);
	if (!s->offload) {
		snprintf(err, errlen, "cannot start the helper thread");
		return -1;
	}
	if (!(s->msessions = msessions_new()) || !(s->identities = msessions_new())) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (http_routes(s, routes, routes_count, err, errlen) < 0)
		return -1;
	s->labels.noutcomes = CLAIM_OUTCOME_COUNT;
	for (int o = 0; o < CLAIM_OUTCOME_COUNT; o++)
		s->labels.outcome[o] = claim_outcome_label((enum claim_outcome)o);
	s->labels.nwebhook_outcomes = WEBHOOKS_OUTCOME_COUNT;
	for (int o = 0; o < WEBHOOKS_OUTCOME_COUNT; o++)
		s->labels.webhook_outcome[o] = webhooks_outcome_label((enum webhooks_outcome)o);

	s->nworkers = s->cfg.threads;
	s->workers = calloc((size_t)s->nworkers, sizeof *s->workers);
	if (!s->workers) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < s->nworkers; i++) {
		s->workers[i].srv = s;
		s->workers[i].id = i;
		s->workers[i].listen_fd = s->workers[i].admin_fd = -1;
		s->workers[i].control[0] = s->workers[i].control[1] = -1;
	}
	struct sockaddr_storage public_addr, admin_addr;
	if (open_listeners(s, s->cfg.listen, 0, &public_addr, err, errlen) < 0 ||
	    (s->cfg.admin_listen &&
	     open_listeners(s, s->cfg.admin_listen, 1, &admin_addr, err, errlen) < 0))
		return -1;
	if (s->cfg.admin_listen && same_address(&public_addr, &admin_addr)) {
		snprintf(err, errlen, "--admin-listen %s is the address of --listen",
		         s->cfg.admin_listen);
		return -1;
	}
	if (conn_start(s) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < s->nworkers; i++)
		if (worker_init(&s->workers[i], err, errlen) < 0)
			return -1;
	return 0;
}

/*
 * The control thread's loop: the LISTEN connection, the webhook dispatcher
 * (woken through it), the keyring file's watch and the signals. 0 or -1
 * with err.
 */
static int control_open(struct server *s, char *err, size_t errlen)
{
	static const int signos[] = {SIGTERM, SIGINT, SIGHUP};
	struct timeval poll_every = {0, KEYRING_POLL_MS * 1000};
	s->control = event_base_new();
	s->listener = listener_new(STATEMENTS_LISTEN_SETUP, CACHE_RELOAD_S);
	struct webhooks_config wc = {
	    .conninfo = s->cfg.conninfo,
	    .concurrency = s->cfg.webhook_concurrency,
	    .timeout_ms = s->cfg.webhook_timeout_ms,
	    .max_tries = s->cfg.webhook_tries,
	    .retry_ms = s->cfg.webhook_retry_ms,
	    .retry_max_ms = WEBHOOK_RETRY_MAX_MS,
	    .poll_ms = WEBHOOK_POLL_MS,
	};
	struct payouts_config pc = {
	    .conninfo = s->cfg.conninfo,
	    .url = s->cfg.payout_url,
	    .secret = s->payout_secret,
	    .concurrency = s->cfg.payout_concurrency,
	    .timeout_ms = s->cfg.payout_timeout_ms,
	    .max_tries = s->cfg.payout_tries,
	    .retry_ms = s->cfg.payout_retry_ms,
	    .retry_max_ms = WEBHOOK_RETRY_MAX_MS,
	    .poll_ms = PAYOUT_POLL_MS,
	    .query_wait_ms = s->cfg.payout_callback_wait_ms,
	};
	if (s->control)
		s->webhooks = webhooks_new(s->control, &wc, &s->webhook_metrics);
	if (s->control && !(s->payouts = payouts_new(s->control, &pc, &s->payout_metrics))) {
		snprintf(err, errlen, "cannot start the payout dispatcher");
		return -1;
	}
	if (s->control && s->cfg.alert_interval_ms > 0 &&
	    !(s->alerts = alerts_new(s->control, s->cfg.conninfo, s->cfg.alert_interval_ms))) {
		snprintf(err, errlen, "cannot start the alert evaluator");
		return -1;
	}
	if (s->control && s->cfg.privacy_interval_ms > 0 &&
	    (s->cfg.scan_address_days > 0 || s->cfg.scan_retention_days > 0) &&
	    !(s->tidy = tidy_new(s->control, s->cfg.conninfo, s->cfg.privacy_interval_ms,
	                         s->cfg.scan_address_days, s->cfg.scan_retention_days))) {
		snprintf(err, errlen, "cannot start the scans' privacy job");
		return -1;
	}
	if (s->control && s->cfg.referral_interval_ms > 0 &&
	    !(s->referral_sweep = referral_sweep_new(s->control, s->cfg.conninfo,
	                                             s->cfg.referral_interval_ms, 500))) {
		snprintf(err, errlen, "cannot start the referrals' sweep");
		return -1;
	}
	if (s->control && s->cfg.export_jobs &&
	    !(s->jobs = jobs_new(s->cfg.conninfo, s->cfg.export_dir, JOBS_POLL_MS, err, errlen)))
		return -1;
	if (!s->control || !s->listener || !s->webhooks ||
	    catalog_listen(s->catalog, s->listener) < 0 ||
	    links_listen(s->links, s->listener) < 0 ||
	    campaigns_listen(s->campaigns, s->listener) < 0 ||
	    tokens_listen(s->tokens, s->listener, s->control) < 0 ||
	    tokens_listen(s->sessions, s->listener, s->control) < 0 ||
	    webhooks_listen(s->webhooks, s->listener) < 0 ||
	    listener_start(s->listener, s->control, s->cfg.conninfo) < 0 ||
	    webhooks_start(s->webhooks) < 0 || payouts_start(s->payouts) < 0 ||
	    !(s->keyring_poll = event_new(s->control, -1, EV_PERSIST, on_keyring_poll, s)) ||
	    event_add(s->keyring_poll, &poll_every) < 0) {
		snprintf(err, errlen, "cannot start the control loop");
		return -1;
	}
	for (int i = 0; i < SERVER_SIGNALS; i++) {
		s->signals[i] = evsignal_new(s->control, signos[i], on_signal, s);
		if (!s->signals[i] || event_add(s->signals[i], NULL) < 0) {
			snprintf(err, errlen, "cannot install signal handlers");
			return -1;
		}
	}
	return 0;
}

/*
 * After a stop signal: the webhook deliveries in flight end (each within
 * --webhook-timeout) and are recorded, within --drain-timeout; none is
 * claimed any more. The workers drain meanwhile, on their own threads.
 */
static void webhooks_drain(struct server *s)
{
	long long deadline = clock_ms() + s->cfg.drain_ms;
	webhooks_stop(s->webhooks);
	payouts_stop(s->payouts);
	while ((webhooks_busy(s->webhooks) || payouts_busy(s->payouts)) && clock_ms() < deadline &&
	       event_base_loop(s->control, EVLOOP_ONCE) == 0)
		;
}

/* Start the workers, run the control loop until a stop signal, join them. 0 or 1. */
static int server_run(struct server *s)
{
	int started = 0, rc = 1;
	for (; started < s->nworkers; started++)
		if (pthread_create(&s->workers[started].thread, NULL, worker_run,
		                   &s->workers[started]) != 0)
			break;
	if (started < s->nworkers) {
		cli_error(NULL, "cannot start worker threads");
		for (int i = 0; i < started; i++)
			worker_send(&s->workers[i], 'S');
	} else {
		log_info("event=ready threads=%d", s->nworkers);
		/* run until a stop signal sets s->stopping */
		while (!s->stopping && event_base_loop(s->control, EVLOOP_ONCE) == 0)
			;
		webhooks_drain(s);
		rc = 0;
	}
	for (int i = 0; i < started; i++)
		pthread_join(s->workers[i].thread, NULL);
	log_info("event=stopped");
	return rc;
}

/*
 * The control thread's side, after the workers are joined: the listener
 * before the caches and the webhook dispatcher it feeds (its failed
 * reloads call back into them); the dispatcher's own connection before its
 * requests in flight (webhooks_free); the offload helper before the
 * workers' ports it writes to, then each worker (worker_free says in which
 * order), then the loop and TLS.
 */
static void server_close(struct server *s)
{
	for (int i = 0; i < SERVER_SIGNALS; i++)
		if (s->signals[i])
			event_free(s->signals[i]);
	if (s->keyring_poll)
		event_free(s->keyring_poll);
	listener_free(s->listener);
	webhooks_free(s->webhooks);
	payouts_free(s->payouts);
	alerts_free(s->alerts);
	tidy_free(s->tidy);
	referral_sweep_free(s->referral_sweep);
	jobs_free(s->jobs);
	catalog_free(s->catalog);
	links_free(s->links);
	campaigns_free(s->campaigns);
	tokens_free(s->tokens);
	tokens_free(s->sessions);
	offload_free(s->offload);
	for (int i = 0; s->workers && i < s->nworkers; i++)
		worker_free(&s->workers[i]);
	free(s->workers);
	free(s->payout_secret);
	msessions_free(s->msessions);
	msessions_free(s->identities);
	conn_stop(s);
	if (s->control)
		event_base_free(s->control);
	tls_stop(s);
}

int main(int argc, char **argv)
{
	struct server srv = {0};
	struct server_config *cfg = &srv.cfg;
	char err[DB_ERR_LEN];
	int rc = 1;

	cli_set_prog(PROG);
	switch (options_parse(argc, argv, cfg)) {
	case OPTIONS_RUN:
		break;
	case OPTIONS_EXIT:
		return 0;
	case OPTIONS_USAGE:
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	fit_fd_limit(cfg);

	/* refuse a bad keyring before touching anything else */
	keyfile_stamp(cfg->keyring_path, &srv.keyring_seen);
	struct keyring *kr = keyring_load(cfg->keyring_path, err, sizeof err);
	if (!kr)
		return cli_error(NULL, "%s", err);
	keyring_free(kr);
	if (cfg->tls_cert && tls_start(&srv, err, sizeof err) < 0)
		return cli_error(NULL, "%s", err);
	/* the PII key: made on first need, refused if loose (lib/pii.h) */
	int made = 0;
	if (pii_key_load(&srv.pii, cfg->pii_key_path, 1, &made, err, sizeof err) < 0)
		return cli_error(NULL, "%s", err);
	/* the payment provider's secret: refused if loose, needed to send payouts */
	if (cfg->payout_url && !cfg->payout_secret_file)
		return cli_error(NULL, "--payout-url needs --payout-secret-file");
	if (cfg->payout_secret_file &&
	    payouts_secret_load(cfg->payout_secret_file, &srv.payout_secret, err, sizeof err) < 0)
		return cli_error(NULL, "%s", err);

	if (server_open(&srv, err, sizeof err) < 0)
		cli_error(NULL, "%s", err);
	else if (control_open(&srv, err, sizeof err) < 0)
		cli_error(NULL, "%s", err);
	else {
		if (made) /* said once the server starts: a failing start prints its one error line
		           */
			log_warn(
			    "event=pii_key_created path=%s note=\"copy this file to every server "
			    "and keep a backup: without it no phone can be read\"",
			    LOG_Q(cfg->pii_key_path));
		rc = server_run(&srv);
	}
	server_close(&srv);
	return rc;
}
