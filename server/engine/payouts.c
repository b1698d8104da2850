/*
 * payouts.c: the payout dispatcher (payouts.h). On the control loop, like
 * webhooks.c: at most one claim query in flight on its own connection, up
 * to `concurrency` payouts between the claim and their record, so memory
 * and the database's load stay bounded whatever the backlog. One record
 * statement per attempt (payouts are few next to claims), and one
 * payouts_return per tick. Questions about sent payouts whose callback is
 * late share the slots, the connection and the client: one
 * payout_query_claim per tick, one payout_query_record per answer.
 */
#include "engine/payouts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "engine/outbound.h"
#include "engine/pool.h"
#include "engine/webhooks.h"
#include "log.h"
#include "statements.h"

#define LEASE_EXTRA_S 60  /* a lease lasts an attempt's timeout and this */
#define ERROR_MAX     200 /* bytes of an attempt's error kept */
#define BODY_SNIPPET  96  /* bytes of a refusing provider's reply kept in the error */
#define RETURN_BATCH  "500"
#define ANSWER_MAX    4096 /* bytes of the provider's answer to a question read */
#define OPEN_COUNT_MS 5000 /* how often the open payouts are counted for /metrics */
#define USER_AGENT    "packcode-payouts/" PACKAGE_VERSION

const char *payouts_classify(int replied, int sent, long s)
{
	if (!replied)
		return sent ? "unknown" : "retry";
	if (s >= 200 && s <= 299)
		return "accepted";
	if (s >= 400 && s <= 499 && s != 408 && s != 409 && s != 425 && s != 429)
		return "refused";
	if (s == 500 || s == 502 || s == 504)
		return "unknown";
	return "retry";
}

int payouts_secret_load(const char *path, char **out, char *err, size_t errlen)
{
	char buf[PAYOUTS_SECRET_MAX + 2];
	struct stat st;
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || (st.st_mode & 077)) {
		snprintf(err, errlen, "%s must be readable by its owner only (chmod 600)", path);
		close(fd);
		return -1;
	}
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "cannot read %s", path);
		return -1;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	size_t len = strlen(buf);
	if (len < 16 || len > PAYOUTS_SECRET_MAX) {
		snprintf(err, errlen, "%s: the secret is one line of 16 to %d bytes", path,
		         PAYOUTS_SECRET_MAX);
		return -1;
	}
	*out = strdup(buf);
	memset(buf, 0, sizeof buf);
	if (!*out) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* ---- the dispatcher --------------------------------------------------------------------- */

/* One payout's attempt, from its claim to its record. */
struct attempt {
	struct payouts *po;
	long long id;
	int attempt;        /* a send's number; 0 for a question */
	int query;          /* a question's number; 0 for a send */
	const char *answer; /* a question's: paid, failed, pending or error */
	const char *outcome;
	long http_status; /* 0: none came */
	long long retry_ms;
	char error[ERROR_MAX + 1];
};

struct payouts {
	struct event_base *base;
	struct payouts_config cfg;
	char *conninfo, *url, *secret;
	struct pool *pool;
	struct outbound *out;
	struct event *timer;
	struct metrics_payouts *m;
	int claiming, claim_again; /* a claim in flight; another wanted after it */
	int querying;              /* a payout_query_claim in flight ... */
	int query_reserved;        /* ... for this many slots */
	int ask_due;               /* the tick wants one, after the next send claim */
	int counting;              /* a payouts_open in flight */
	long long counted_ms;      /* when it was last sent */
	int returning;             /* a payouts_return in flight */
	int busy;                  /* attempts claimed and not yet recorded */
	unsigned rnd;
	int stopping, closing;
};

static void wake(struct payouts *po);
static void ask(struct payouts *po);

int payouts_busy(const struct payouts *po)
{
	return po ? po->busy : 0;
}

static unsigned next_rnd(struct payouts *po)
{
	unsigned x = po->rnd; /* xorshift32: jitter, not secrets */
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return po->rnd = x;
}

/* ---- recording ---- */

static void recorded(void *arg, const struct pool_result *res)
{
	struct attempt *a = arg;
	struct payouts *po = a->po;
	po->busy--;
	if (res->status != POOL_OK) {
		if (!po->closing)
			log_warn("event=payout_record_failed payout=%lld reason=%s", a->id,
			         LOG_Q(res->message));
		/* its lease expires and it is sent again: the same key, paid once */
	} else if (PQntuples(res->res) > 0 && strcmp(PQgetvalue(res->res, 0, 0), "failed") == 0) {
		metrics_add(&po->m->failed, 1);
		log_warn("event=payout_failed payout=%lld attempt=%d error=%s", a->id, a->attempt,
		         LOG_Q(a->error));
	} else if (PQntuples(res->res) > 0 && strcmp(a->outcome, "unknown") == 0 &&
	           strcmp(PQgetvalue(res->res, 0, 0), "sent") == 0) {
		/* tries used up, and the provider may have paid it: asked about, not returned */
		log_warn("event=payout_unconfirmed payout=%lld attempt=%d error=%s", a->id,
		         a->attempt, LOG_Q(a->error));
	}
	free(a);
	wake(po);
}

static void record(struct attempt *a)
{
	struct payouts *po = a->po;
	char id[24], att[16], http[16], retry[24], max[16];
	snprintf(id, sizeof id, "%lld", a->id);
	snprintf(att, sizeof att, "%d", a->attempt);
	snprintf(http, sizeof http, "%ld", a->http_status);
	snprintf(retry, sizeof retry, "%lld", a->retry_ms);
	snprintf(max, sizeof max, "%d", po->cfg.max_tries);
	struct pool_query q = {.stmt = "payout_record",
	                       .nparams = 7,
	                       .values = {id, att, a->outcome, a->http_status > 0 ? http : NULL,
	                                  a->error[0] ? a->error : NULL, retry, max}};
	if (po->closing || pool_submit(po->pool, &q, recorded, a) < 0) {
		po->busy--; /* the lease expires, and it is sent again */
		free(a);
	}
}

static void query_recorded(void *arg, const struct pool_result *res)
{
	struct attempt *a = arg;
	struct payouts *po = a->po;
	po->busy--;
	if (res->status != POOL_OK) {
		if (!po->closing)
			log_warn("event=payout_query_record_failed payout=%lld reason=%s", a->id,
			         LOG_Q(res->message));
		/* its lease expires and it is asked about again */
	} else if (PQntuples(res->res) > 0 && strcmp(PQgetvalue(res->res, 0, 0), "applied") == 0) {
		metrics_add(&po->m->settled_by_query, 1);
		log_info("event=payout_settled_by_query payout=%lld query=%d status=%s", a->id,
		         a->query, a->answer);
	}
	free(a);
	wake(po);
}

static void record_query(struct attempt *a)
{
	struct payouts *po = a->po;
	char id[24], query[16], http[16];
	snprintf(id, sizeof id, "%lld", a->id);
	snprintf(query, sizeof query, "%d", a->query);
	snprintf(http, sizeof http, "%ld", a->http_status);
	struct pool_query q = {.stmt = "payout_query_record",
	                       .nparams = 5,
	                       .values = {id, query, a->answer, a->http_status > 0 ? http : NULL,
	                                  a->error[0] ? a->error : NULL}};
	if (po->closing || pool_submit(po->pool, &q, query_recorded, a) < 0) {
		po->busy--; /* the lease expires, and it is asked about again */
		free(a);
	}
}

/* ---- sending ---- */

/* A question's answer: a 2xx's status (payouts_answer_of), else an error. */
static void answered(struct attempt *a, const struct outbound_response *r)
{
	struct payouts *po = a->po;
	int m = METRICS_PAYOUT_ANSWER_ERROR;
	a->answer = "error";
	if (r->result == OUTBOUND_OK) {
		a->http_status = r->status;
		if (r->status >= 200 && r->status <= 299) {
			enum payouts_answer v = payouts_answer_of(r->body, r->body_len);
			a->answer = payouts_answer_label(v);
			m = v == PAYOUTS_ANSWER_PAID     ? METRICS_PAYOUT_ANSWER_PAID
			    : v == PAYOUTS_ANSWER_FAILED ? METRICS_PAYOUT_ANSWER_FAILED
			                                 : METRICS_PAYOUT_ANSWER_PENDING;
		} else {
			snprintf(a->error, sizeof a->error, "HTTP %ld", r->status);
		}
	} else if (r->result == OUTBOUND_TIMEOUT) {
		snprintf(a->error, sizeof a->error, "no reply within %d ms", po->cfg.timeout_ms);
	} else {
		snprintf(a->error, sizeof a->error, "%s", r->error);
	}
	for (char *p = a->error; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
	metrics_add(&po->m->queries[m], 1);
	log_info("event=payout_query payout=%lld query=%d answer=%s status=%ld", a->id, a->query,
	         a->answer, a->http_status);
	record_query(a);
}

static void sent(void *arg, const struct outbound_response *r)
{
	struct attempt *a = arg;
	struct payouts *po = a->po;
	atomic_fetch_sub_explicit(&po->m->in_flight, 1, memory_order_relaxed);
	if (r->result == OUTBOUND_ABORTED) {
		po->busy--;
		free(a); /* shutting down: its lease expires, and it is sent again */
		return;
	}
	if (a->query) {
		answered(a, r);
		return;
	}
	a->outcome =
	    payouts_classify(r->result == OUTBOUND_OK, r->result != OUTBOUND_CONNECT, r->status);
	metrics_add(&po->m->attempts[strcmp(a->outcome, "accepted") == 0  ? METRICS_PAYOUT_ACCEPTED
	                             : strcmp(a->outcome, "refused") == 0 ? METRICS_PAYOUT_REFUSED
	                             : strcmp(a->outcome, "unknown") == 0 ? METRICS_PAYOUT_UNKNOWN
	                                                                  : METRICS_PAYOUT_RETRY],
	            1);
	if (r->result == OUTBOUND_OK) {
		a->http_status = r->status;
		if (strcmp(a->outcome, "accepted") != 0) {
			char snippet[BODY_SNIPPET + 1];
			size_t n = 0;
			for (size_t i = 0; i < r->body_len && n < BODY_SNIPPET; i++)
				if (r->body[i] >= 0x20 && r->body[i] < 0x7f)
					snippet[n++] = r->body[i];
			snippet[n] = '\0';
			snprintf(a->error, sizeof a->error, "HTTP %ld%s%s", r->status,
			         n ? ": " : "", snippet);
		}
	} else if (r->result == OUTBOUND_TIMEOUT) {
		snprintf(a->error, sizeof a->error, "no reply within %d ms", po->cfg.timeout_ms);
	} else {
		snprintf(a->error, sizeof a->error, "%s", r->error);
	}
	for (char *p = a->error; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
	if (strcmp(a->outcome, "retry") == 0 || strcmp(a->outcome, "unknown") == 0)
		a->retry_ms = webhooks_backoff_ms(a->attempt, po->cfg.retry_ms,
		                                  po->cfg.retry_max_ms, next_rnd(po));
	log_info("event=payout_attempt payout=%lld attempt=%d outcome=%s status=%ld retry_ms=%lld",
	         a->id, a->attempt, a->outcome, a->http_status, a->retry_ms);
	record(a);
}

/*
 * Sign and send row i of a claim (id, attempt, idempotency_key, body), or
 * of a question's claim (id, query, idempotency_key, body: the same bytes).
 */
static void send_one(struct payouts *po, const PGresult *pg, int i, int is_query)
{
	char sig[WEBHOOKS_SIGNATURE_LEN], h_sig[sizeof WEBHOOKS_SIGNATURE_HEADER + 2 + sizeof sig];
	char h_key[160], h_attempt[48];
	struct attempt *a = calloc(1, sizeof *a);
	if (!a)
		return; /* its lease expires, and it is claimed again */
	a->po = po;
	a->id = strtoll(PQgetvalue(pg, i, 0), NULL, 10);
	if (is_query)
		a->query = atoi(PQgetvalue(pg, i, 1));
	else
		a->attempt = atoi(PQgetvalue(pg, i, 1));
	const char *body = PQgetvalue(pg, i, 3);
	size_t len = (size_t)PQgetlength(pg, i, 3);
	po->busy++;
	if (webhooks_sign(po->secret, (long long)time(NULL), body, len, sig, sizeof sig) < 0) {
		a->outcome = "retry";
		a->answer = "error";
		snprintf(a->error, sizeof a->error, "cannot sign");
		goto not_sent;
	}
	snprintf(h_sig, sizeof h_sig, WEBHOOKS_SIGNATURE_HEADER ": %s", sig);
	snprintf(h_key, sizeof h_key, "Idempotency-Key: %s", PQgetvalue(pg, i, 2));
	if (is_query)
		snprintf(h_attempt, sizeof h_attempt, "Packcode-Query: %d", a->query);
	else
		snprintf(h_attempt, sizeof h_attempt, "Packcode-Attempt: %d", a->attempt);
	const char *headers[] = {"Content-Type: application/json", h_sig, h_key, h_attempt, NULL};
	struct outbound_request req = {.method = "POST",
	                               .url = po->url,
	                               .headers = headers,
	                               .body = body,
	                               .body_len = len,
	                               .timeout_ms = po->cfg.timeout_ms,
	                               .body_max = is_query ? ANSWER_MAX : BODY_SNIPPET};
	if (outbound_send(po->out, &req, sent, a) < 0) {
		a->outcome = "retry";
		snprintf(a->error, sizeof a->error, "cannot start the request");
		goto not_sent;
	}
	atomic_fetch_add_explicit(&po->m->in_flight, 1, memory_order_relaxed);
	return;
not_sent:
	if (is_query) {
		a->answer = "error";
		record_query(a);
		return;
	}
	a->retry_ms =
	    webhooks_backoff_ms(a->attempt, po->cfg.retry_ms, po->cfg.retry_max_ms, next_rnd(po));
	record(a);
}

/* ---- claiming and returning ---- */

static void claimed(void *arg, const struct pool_result *res)
{
	struct payouts *po = arg;
	po->claiming = 0;
	if (res->status != POOL_OK) {
		if (!po->closing)
			log_warn("event=payout_claim_failed reason=%s", LOG_Q(res->message));
		return; /* the timer tries again */
	}
	int n = PQntuples(res->res);
	for (int i = 0; i < n; i++)
		send_one(po, res->res, i, 0);
	if (po->ask_due) {
		/* the due sends are out: the questions get the slots they left */
		po->ask_due = 0;
		ask(po);
	}
	if (po->claim_again) {
		po->claim_again = 0;
		wake(po);
	}
}

static void returned(void *arg, const struct pool_result *res)
{
	struct payouts *po = arg;
	po->returning = 0;
	if (res->status != POOL_OK) {
		if (!po->closing)
			log_warn("event=payout_return_failed reason=%s", LOG_Q(res->message));
		return;
	}
	const char *n = PQntuples(res->res) > 0 ? PQgetvalue(res->res, 0, 0) : "0";
	if (strcmp(n, "0") != 0) {
		metrics_add(&po->m->returned, strtoull(n, NULL, 10));
		log_info("event=payouts_returned payouts=%s", n);
	}
}

static void query_claimed(void *arg, const struct pool_result *res)
{
	struct payouts *po = arg;
	po->querying = 0;
	po->query_reserved = 0;
	if (res->status != POOL_OK) {
		if (!po->closing)
			log_warn("event=payout_query_claim_failed reason=%s", LOG_Q(res->message));
		return; /* the timer tries again */
	}
	int n = PQntuples(res->res);
	for (int i = 0; i < n; i++)
		send_one(po, res->res, i, 1);
}

static void counted(void *arg, const struct pool_result *res)
{
	struct payouts *po = arg;
	po->counting = 0;
	if (res->status != POOL_OK) {
		if (!po->closing)
			log_warn("event=payouts_count_failed reason=%s", LOG_Q(res->message));
		return;
	}
	if (PQntuples(res->res) < 1 || PQnfields(res->res) < METRICS_PAYOUT_STATES)
		return;
	for (int k = 0; k < METRICS_PAYOUT_STATES; k++)
		atomic_store_explicit(&po->m->open[k],
		                      strtoll(PQgetvalue(res->res, 0, k), NULL, 10),
		                      memory_order_relaxed);
}

/*
 * Ask about the sent payouts whose callback is late, in the slots the sends
 * left (called once a tick, after that tick's send claim: sends go first).
 */
static void ask(struct payouts *po)
{
	char limit[16], lease[16], wait[16];
	int free_slots = po->cfg.concurrency - po->busy;
	if (po->querying || po->stopping || po->closing || free_slots <= 0)
		return;
	snprintf(limit, sizeof limit, "%d", free_slots);
	snprintf(lease, sizeof lease, "%d", po->cfg.timeout_ms / 1000 + LEASE_EXTRA_S);
	snprintf(wait, sizeof wait, "%d", po->cfg.query_wait_ms / 1000);
	struct pool_query q = {
	    .stmt = "payout_query_claim", .nparams = 3, .values = {limit, lease, wait}};
	if (pool_submit(po->pool, &q, query_claimed, po) == 0) {
		po->querying = 1;
		po->query_reserved = free_slots;
	}
}

/* Claim as many due payouts as there are free slots. */
static void wake(struct payouts *po)
{
	char limit[16], lease[16];
	if (po->stopping || po->closing || !po->pool)
		return;
	if (po->claiming) {
		po->claim_again = 1;
		return;
	}
	int free_slots = po->cfg.concurrency - po->busy - po->query_reserved;
	if (free_slots <= 0) {
		po->claim_again = 1; /* a record will wake us */
		return;
	}
	po->claim_again = 0;
	snprintf(limit, sizeof limit, "%d", free_slots);
	snprintf(lease, sizeof lease, "%d", po->cfg.timeout_ms / 1000 + LEASE_EXTRA_S);
	struct pool_query q = {.stmt = "payout_claim", .nparams = 2, .values = {limit, lease}};
	if (pool_submit(po->pool, &q, claimed, po) == 0)
		po->claiming = 1;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct payouts *po = arg;
	(void)fd;
	(void)what;
	if (!po->returning && !po->stopping && !po->closing) {
		struct pool_query q = {
		    .stmt = "payouts_return", .nparams = 1, .values = {RETURN_BATCH}};
		if (pool_submit(po->pool, &q, returned, po) == 0)
			po->returning = 1;
	}
	long long now = clock_ms();
	if (!po->counting && !po->stopping && !po->closing &&
	    (!po->counted_ms || now - po->counted_ms >= OPEN_COUNT_MS)) {
		struct pool_query q = {.stmt = "payouts_open"};
		if (pool_submit(po->pool, &q, counted, po) == 0) {
			po->counting = 1;
			po->counted_ms = now;
		}
	}
	po->ask_due = 1; /* asked once this tick's send claim is back */
	wake(po);
}

struct payouts *payouts_new(struct event_base *base, const struct payouts_config *cfg,
                            struct metrics_payouts *m)
{
	struct payouts *po = calloc(1, sizeof *po);
	if (!po)
		return NULL;
	po->base = base;
	po->cfg = *cfg;
	po->m = m;
	for (int k = 0; k < METRICS_PAYOUT_STATES; k++)
		atomic_store_explicit(&m->open[k], -1, memory_order_relaxed);
	po->rnd = (unsigned)clock_us() ^ (unsigned)getpid() ^ 0x85ebca6bu;
	if (!po->rnd)
		po->rnd = 1;
	po->conninfo = strdup(cfg->conninfo ? cfg->conninfo : "");
	po->url = cfg->url ? strdup(cfg->url) : NULL;
	po->secret = strdup(cfg->secret ? cfg->secret : "");
	if (!po->conninfo || !po->secret || (cfg->url && !po->url)) {
		payouts_free(po);
		return NULL;
	}
	return po;
}

int payouts_start(struct payouts *po)
{
	if (!po->url || po->cfg.concurrency <= 0)
		return 0; /* this server sends none */
	struct pool_config pc = {
	    .conninfo = po->conninfo,
	    .name = "packcode-server-payouts",
	    .size = 1,
	    .queue_max = po->cfg.concurrency + 8,
	    .setup_sql = STATEMENTS_PAYOUTS_SETUP,
	    .query_timeout_ms = 30000,
	};
	struct outbound_config oc = {.max_connections = po->cfg.concurrency,
	                             .user_agent = USER_AGENT};
	po->pool = pool_new(po->base, &pc);
	po->out = outbound_new(po->base, &oc);
	po->timer = event_new(po->base, -1, EV_PERSIST, on_timer, po);
	struct timeval tv = {po->cfg.poll_ms / 1000, (po->cfg.poll_ms % 1000) * 1000};
	if (!po->pool || !po->out || !po->timer || event_add(po->timer, &tv) < 0)
		return -1;
	atomic_store_explicit(&po->m->running, 1, memory_order_relaxed);
	log_info("event=payouts_started url=%s concurrency=%d timeout_ms=%d max_tries=%d "
	         "query_wait_ms=%d",
	         LOG_Q(po->url), po->cfg.concurrency, po->cfg.timeout_ms, po->cfg.max_tries,
	         po->cfg.query_wait_ms);
	return 0;
}

void payouts_stop(struct payouts *po)
{
	if (po)
		po->stopping = 1;
}

void payouts_free(struct payouts *po)
{
	if (!po)
		return;
	po->stopping = po->closing = 1;
	if (po->busy)
		log_warn("event=payouts_abandoned payouts=%d", po->busy);
	pool_free(po->pool);
	outbound_free(po->out); /* each attempt in flight is freed by its callback */
	if (po->timer)
		event_free(po->timer);
	free(po->conninfo);
	free(po->url);
	if (po->secret)
		memset(po->secret, 0, strlen(po->secret));
	free(po->secret);
	free(po);
}
