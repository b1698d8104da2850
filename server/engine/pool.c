/*
 * pool.c: asynchronous libpq connection pool driven by one libevent loop.
 *
 * Each connection is a state machine: DOWN (waiting to retry) -> CONNECTING
 * (PQconnectPoll) -> SETUP (setup_sql: SET, PREPARE, LISTEN) -> IDLE <-> BUSY.
 * A connection that breaks fails its query with POOL_UNAVAILABLE (never
 * retried here: the caller cannot know whether a commit happened) and
 * reconnects with exponential backoff. Jobs wait FIFO for an idle connection.
 */
#include "engine/pool.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "clock.h"
#include "log.h"

#define BACKOFF_MIN_MS     50
#define BACKOFF_MAX_MS     2000
#define CONNECT_TIMEOUT_MS 5000
#define SWEEP_MS           200

enum conn_state { CONN_DOWN, CONN_CONNECTING, CONN_SETUP, CONN_IDLE, CONN_BUSY };

struct job {
	TAILQ_ENTRY(job) link;
	pool_cb cb;
	pool_build_fn build; /* deferred: build the query when a connection is ready */
	void *arg;
	struct pool_query q; /* values point into buf (submitted jobs) */
	char *buf;
	const char *copy_data; /* a COPY job: q.stmt is the COPY statement (in buf) */
	size_t copy_len;
	const struct pool_stream_ops *ops; /* a COPY TO STDOUT stream: q.stmt is its SQL */
	int idle_ms;                       /* a stream: its longest wait for a row */
	int paused;                        /* a stream: not reading until resumed */
	struct conn *conn;                 /* the connection running it, once sent */
	struct pool *pool;                 /* a stream: its pool */
	long long queued_ms;
};
TAILQ_HEAD(job_list, job);

struct conn {
	struct pool *pool;
	int idx;
	enum conn_state state;
	PGconn *pg;
	struct event *ev;    /* the socket */
	struct event *retry; /* backoff timer */
	int fd;
	short watching;
	struct job *job;    /* BUSY: the query in flight */
	PGresult *ok;       /* the last good result of the query */
	PGresult *err;      /* the first failed result */
	long long since_ms; /* BUSY/CONNECTING: when it started */
	int copy_phase;     /* COPY job: 0 before COPY_IN, 1 sending data, 2 all sent;
	                       a stream: 3 rows coming (COPY_OUT) */
	int quiet;          /* dropped on purpose (a stream stopped): no warning */
	size_t copy_off;
	int backoff_ms;
	struct conn *next_idle;
};

struct pool {
	struct event_base *base;
	struct pool_config cfg;
	char *conninfo, *name, *setup_sql;
	struct conn *conns;
	struct conn *idle; /* LIFO: the warmest connection first */
	struct job_list waiting;
	int nwaiting, nready, nbusy;
	int ever_failed; /* a connect failed since the last success */
	int dispatching;
	int closing; /* pool_free runs: no new work */
	unsigned long long failures;
	struct event *sweep;
};

static void conn_event(evutil_socket_t fd, short what, void *arg);
static void conn_start(struct conn *c);
static void dispatch(struct pool *p);

static void job_free(struct job *j)
{
	if (!j)
		return;
	free(j->buf);
	free(j);
}

static void job_fail(struct pool *p, struct job *j, const char *message)
{
	struct pool_result r = {.status = POOL_UNAVAILABLE, .sqlstate = "", .message = message};
	p->failures++;
	j->cb(j->arg, &r);
	job_free(j);
}

static int healthy(const struct pool *p)
{
	return p->nready > 0 || !p->ever_failed;
}

/* The pool lost its last connection: nobody waiting would be served soon. */
static void fail_waiting(struct pool *p, const char *message)
{
	struct job *j;
	while ((j = TAILQ_FIRST(&p->waiting))) {
		TAILQ_REMOVE(&p->waiting, j, link);
		p->nwaiting--;
		job_fail(p, j, message);
	}
}

/* Watch the connection's socket for what (EV_READ, EV_WRITE or both). */
static int watch(struct conn *c, short what)
{
	int fd = PQsocket(c->pg);
	if (fd < 0)
		return -1;
	if (fd == c->fd && what == c->watching)
		return 0;
	event_del(c->ev);
	event_assign(c->ev, c->pool->base, fd, what | EV_PERSIST, conn_event, c);
	c->fd = fd;
	c->watching = what;
	return event_add(c->ev, NULL);
}

static void idle_remove(struct pool *p, struct conn *c)
{
	for (struct conn **pp = &p->idle; *pp; pp = &(*pp)->next_idle)
		if (*pp == c) {
			*pp = c->next_idle;
			c->next_idle = NULL;
			return;
		}
}

static void clear_results(struct conn *c)
{
	PQclear(c->ok);
	PQclear(c->err);
	c->ok = c->err = NULL;
}

static void retry_later(struct conn *c)
{
	struct timeval tv = {c->backoff_ms / 1000, (c->backoff_ms % 1000) * 1000};
	evtimer_add(c->retry, &tv);
	c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
}

/* Drop the connection, fail its query, and schedule a reconnect. */
static void conn_broken(struct conn *c, const char *why)
{
	struct pool *p = c->pool;
	char msg[256];
	int was_ready = c->state == CONN_IDLE || c->state == CONN_BUSY;
	int was_connecting = c->state == CONN_CONNECTING || c->state == CONN_SETUP;
	int quiet = c->quiet;
	struct job *j = c->job;

	snprintf(msg, sizeof msg, "%s", why ? why : "connection lost");
	msg[strcspn(msg, "\n")] = '\0';
	event_del(c->ev);
	c->fd = -1;
	c->watching = 0;
	if (c->state == CONN_IDLE)
		idle_remove(p, c);
	if (c->state == CONN_BUSY)
		p->nbusy--;
	if (was_ready)
		p->nready--;
	c->state = CONN_DOWN;
	c->quiet = 0;
	c->job = NULL;
	c->copy_phase = 0;
	clear_results(c);
	PQfinish(c->pg);
	c->pg = NULL;

	if (was_ready && !p->closing && quiet) {
		c->backoff_ms = 0;
	} else if (was_ready && !p->closing) {
		log_warn("event=db_disconnected pool=%s conn=%d reason=%s", p->name, c->idx,
		         LOG_Q(msg));
		c->backoff_ms = 0; /* one immediate retry: the server may just have restarted us */
	}
	if (was_connecting) {
		if (!p->ever_failed && p->nready == 0) {
			log_error("event=db_unavailable pool=%s reason=%s", p->name, LOG_Q(msg));
		}
		p->ever_failed = 1;
		if (c->backoff_ms < BACKOFF_MIN_MS)
			c->backoff_ms = BACKOFF_MIN_MS;
	}
	if (j)
		job_fail(p, j, "database connection lost");
	if (!healthy(p))
		fail_waiting(p, "database unavailable");
	if (!p->closing)
		retry_later(c);
}

static void conn_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_start(arg);
}

/* libpq's notices (and the server's goodbye on an idle connection) go to our log. */
static void notice(void *arg, const char *message)
{
	struct conn *c = arg;
	char q[300];
	char msg[256];
	snprintf(msg, sizeof msg, "%s", message);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("event=db_notice pool=%s conn=%d message=%s", c->pool->name, c->idx,
	          log_quote(msg, q, sizeof q));
}

static void conn_start(struct conn *c)
{
	if (c->pool->closing)
		return;
	struct pool *p = c->pool;
	const char *keys[] = {"dbname", "application_name", "connect_timeout", NULL};
	const char *vals[] = {p->conninfo, p->name, "5", NULL};

	c->pg = PQconnectStartParams(keys, vals, 1);
	c->state = CONN_CONNECTING;
	c->since_ms = clock_ms();
	if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD || PQsetnonblocking(c->pg, 1) != 0) {
		conn_broken(c, c->pg ? PQerrorMessage(c->pg) : "out of memory");
		return;
	}
	PQsetNoticeProcessor(c->pg, notice, c);
	/* libpq: behave as if PQconnectPoll had said PGRES_POLLING_WRITING */
	if (watch(c, EV_WRITE) < 0)
		conn_broken(c, "no socket");
}

static void conn_ready(struct conn *c)
{
	struct pool *p = c->pool;
	c->state = CONN_IDLE;
	c->backoff_ms = 0;
	p->nready++;
	if (p->ever_failed)
		log_info("event=db_connected pool=%s conn=%d", p->name, c->idx);
	p->ever_failed = 0;
	c->next_idle = p->idle;
	p->idle = c;
	watch(c, EV_READ); /* notices, notifications, or the server hanging up */
	if (p->cfg.on_ready)
		p->cfg.on_ready(p->cfg.hook_arg);
}

static void poll_connect(struct conn *c)
{
	switch (PQconnectPoll(c->pg)) {
	case PGRES_POLLING_READING:
		if (watch(c, EV_READ) < 0)
			conn_broken(c, "no socket");
		return;
	case PGRES_POLLING_WRITING:
		if (watch(c, EV_WRITE) < 0)
			conn_broken(c, "no socket");
		return;
	case PGRES_POLLING_OK:
		break;
	default:
		conn_broken(c, PQerrorMessage(c->pg));
		return;
	}
	if (!c->pool->setup_sql) {
		conn_ready(c);
		dispatch(c->pool);
		return;
	}
	c->state = CONN_SETUP;
	if (!PQsendQuery(c->pg, c->pool->setup_sql)) {
		conn_broken(c, PQerrorMessage(c->pg));
		return;
	}
	int f = PQflush(c->pg);
	if (f < 0 || watch(c, f ? EV_READ | EV_WRITE : EV_READ) < 0)
		conn_broken(c, PQerrorMessage(c->pg));
}

static void deliver_notifies(struct conn *c)
{
	PGnotify *n;
	while ((n = PQnotifies(c->pg))) {
		if (c->pool->cfg.on_notify)
			c->pool->cfg.on_notify(c->pool->cfg.hook_arg, n);
		PQfreemem(n);
	}
}

/* The query (or the setup) on c has returned all its results. */
static void query_done(struct conn *c)
{
	struct pool *p = c->pool;

	if (c->state == CONN_SETUP) {
		if (c->err) {
			char msg[300];
			snprintf(msg, sizeof msg, "setup failed: %s", PQresultErrorMessage(c->err));
			log_error("event=db_setup_failed pool=%s conn=%d", p->name, c->idx);
			conn_broken(c, msg);
			return;
		}
		clear_results(c);
		conn_ready(c);
		dispatch(p);
		return;
	}

	struct job *j = c->job;
	struct pool_result r = {.status = POOL_OK, .sqlstate = "", .message = ""};
	if (c->err) {
		const char *st = PQresultErrorField(c->err, PG_DIAG_SQLSTATE);
		r.status = POOL_SQL_ERROR;
		r.sqlstate = st ? st : "";
		r.message = PQresultErrorMessage(c->err);
		/* class 08 on a live connection: the database lost a connection of
		 * its own (on Citus, to a worker node): unavailable, like ours */
		if (strncmp(r.sqlstate, "08", 2) == 0) {
			r.status = POOL_UNAVAILABLE;
			log_warn("event=db_node_unavailable pool=%s conn=%d sqlstate=%s reason=%s",
			         p->name, c->idx, r.sqlstate, LOG_Q(r.message));
		}
	} else {
		r.res = c->ok;
	}
	c->job = NULL;
	c->copy_phase = 0;
	c->state = CONN_IDLE;
	p->nbusy--;
	c->next_idle = p->idle;
	p->idle = c;
	if (watch(c, EV_READ) < 0) {
		j->cb(j->arg, &r);
		job_free(j);
		clear_results(c);
		conn_broken(c, "no socket");
		return;
	}
	j->cb(j->arg, &r);
	job_free(j);
	clear_results(c);
	dispatch(p);
}

/*
 * Feed a COPY job's data, then its end, as far as the socket takes them;
 * EV_WRITE brings us back for the rest. 0, or -1 if the connection broke.
 */
static int copy_push(struct conn *c)
{
	struct job *j = c->job;
	while (c->copy_phase == 1) {
		int r;
		if (c->copy_off < j->copy_len) {
			size_t n = j->copy_len - c->copy_off;
			if (n > 65536)
				n = 65536;
			r = PQputCopyData(c->pg, j->copy_data + c->copy_off, (int)n);
			if (r > 0)
				c->copy_off += n;
		} else {
			r = PQputCopyEnd(c->pg, NULL);
			if (r > 0)
				c->copy_phase = 2;
		}
		if (r < 0)
			return -1;
		if (r == 0)
			return watch(c, EV_READ | EV_WRITE);
	}
	int f = PQflush(c->pg);
	if (f < 0)
		return -1;
	return watch(c, f ? EV_READ | EV_WRITE : EV_READ);
}

/*
 * A stream's rows, as far as libpq has them: each to ops->row. 0 (still
 * copying, paused, or the COPY ended: copy_phase 0, its result follows),
 * or -1 if the connection was dropped (the job is gone).
 */
static int copy_out_rows(struct conn *c)
{
	struct job *j = c->job;
	while (!j->paused) {
		char *buf = NULL;
		int n = PQgetCopyData(c->pg, &buf, 1);
		if (n == 0)
			return 0;
		if (n == -1) {
			c->copy_phase = 0;
			return 0;
		}
		if (n < 0) {
			conn_broken(c, PQerrorMessage(c->pg));
			return -1;
		}
		c->since_ms = clock_coarse_ms();
		enum pool_row next = j->ops->row(j->arg, buf, (size_t)n);
		PQfreemem(buf);
		if (next == POOL_ROW_STOP) {
			c->quiet = 1;
			conn_broken(c, "stream stopped");
			return -1;
		}
		if (next == POOL_ROW_PAUSE) {
			j->paused = 1;
			event_del(c->ev);
			c->watching = 0;
		}
	}
	return 0;
}

/* Read what the server sent; collect results until the query is complete. */
static void read_results(struct conn *c)
{
	if (!PQconsumeInput(c->pg) || PQstatus(c->pg) == CONNECTION_BAD) {
		conn_broken(c, PQerrorMessage(c->pg));
		return;
	}
	deliver_notifies(c);
	if (c->state == CONN_IDLE || c->copy_phase == 1)
		return;
	if (c->copy_phase == 3 && (copy_out_rows(c) < 0 || c->copy_phase == 3))
		return;
	while (!PQisBusy(c->pg)) {
		PGresult *r = PQgetResult(c->pg);
		if (!r) {
			query_done(c);
			return;
		}
		switch (PQresultStatus(r)) {
		case PGRES_COPY_IN:
			PQclear(r);
			if (!c->job || !c->job->copy_data) {
				conn_broken(c, "unexpected COPY");
				return;
			}
			c->copy_phase = 1;
			c->copy_off = 0;
			if (copy_push(c) < 0) {
				conn_broken(c, PQerrorMessage(c->pg));
				return;
			}
			if (c->copy_phase == 1)
				return; /* the rest when the socket is writable */
			continue;
		case PGRES_COPY_OUT:
			PQclear(r);
			if (!c->job || !c->job->ops) {
				conn_broken(c, "unexpected COPY");
				return;
			}
			c->copy_phase = 3;
			if (copy_out_rows(c) < 0 || c->copy_phase == 3)
				return; /* the rest when the socket is readable, or resumed */
			continue;
		case PGRES_TUPLES_OK:
		case PGRES_COMMAND_OK:
		case PGRES_EMPTY_QUERY:
			PQclear(c->ok);
			c->ok = r;
			break;
		default:
			if (c->err)
				PQclear(r);
			else
				c->err = r;
		}
	}
	deliver_notifies(c);
}

static void conn_event(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	(void)fd;

	switch (c->state) {
	case CONN_CONNECTING:
		poll_connect(c);
		return;
	case CONN_SETUP:
	case CONN_BUSY:
		if ((what & EV_WRITE) && c->copy_phase == 1) {
			if (copy_push(c) < 0) {
				conn_broken(c, PQerrorMessage(c->pg));
				return;
			}
			what &= ~EV_WRITE;
		}
		if (what & EV_WRITE) {
			int f = PQflush(c->pg);
			if (f < 0) {
				conn_broken(c, PQerrorMessage(c->pg));
				return;
			}
			if (f == 0 && watch(c, EV_READ) < 0) {
				conn_broken(c, "no socket");
				return;
			}
		}
		if (what & EV_READ)
			read_results(c);
		return;
	case CONN_IDLE:
		read_results(c);
		return;
	case CONN_DOWN:
		return;
	}
}

/* Send j on c, just taken from the idle list. */
static void send_job(struct conn *c, struct job *j)
{
	struct pool *p = c->pool;
	c->state = CONN_BUSY;
	c->job = j;
	c->since_ms = clock_ms();
	p->nbusy++;
	c->copy_phase = 0;
	j->conn = c;
	if (j->copy_data || j->ops ? !PQsendQuery(c->pg, j->q.stmt)
	                           : !PQsendQueryPrepared(c->pg, j->q.stmt, j->q.nparams,
	                                                  j->q.values, NULL, NULL, 0)) {
		conn_broken(c, PQerrorMessage(c->pg));
		return;
	}
	int f = PQflush(c->pg);
	if (f < 0 || watch(c, f ? EV_READ | EV_WRITE : EV_READ) < 0)
		conn_broken(c, PQerrorMessage(c->pg));
}

/* Start waiting jobs on idle connections. Not re-entered: a build or a
 * callback that submits more work leaves it to the loop already running. */
static void dispatch(struct pool *p)
{
	struct job *j;
	if (p->dispatching)
		return;
	p->dispatching = 1;
	while (p->idle && (j = TAILQ_FIRST(&p->waiting))) {
		TAILQ_REMOVE(&p->waiting, j, link);
		p->nwaiting--;
		struct conn *c = p->idle;
		p->idle = c->next_idle;
		c->next_idle = NULL;
		if (j->build && j->build(j->arg, &j->q) < 0) {
			job_free(j);
			c->next_idle = p->idle;
			p->idle = c;
			continue;
		}
		send_job(c, j);
	}
	p->dispatching = 0;
}

/* Time out queries and connection attempts that hang (a frozen server, a lost network). */
static void sweep(evutil_socket_t fd, short what, void *arg)
{
	struct pool *p = arg;
	long long now = clock_ms();
	(void)fd;
	(void)what;

	for (int i = 0; i < p->cfg.size; i++) {
		struct conn *c = &p->conns[i];
		if (c->state == CONN_BUSY && c->job && c->job->ops) {
			if (!c->job->paused && now - c->since_ms > c->job->idle_ms)
				conn_broken(c, "stream timed out");
		} else if (c->state == CONN_BUSY && now - c->since_ms > p->cfg.query_timeout_ms) {
			conn_broken(c, "query timed out");
		} else if ((c->state == CONN_CONNECTING || c->state == CONN_SETUP) &&
		           now - c->since_ms > CONNECT_TIMEOUT_MS)
			conn_broken(c, "connect timed out");
	}
	struct job *j;
	while ((j = TAILQ_FIRST(&p->waiting)) && now - j->queued_ms > p->cfg.query_timeout_ms) {
		TAILQ_REMOVE(&p->waiting, j, link);
		p->nwaiting--;
		job_fail(p, j, "timed out waiting for a database connection");
	}
}

struct pool *pool_new(struct event_base *base, const struct pool_config *cfg)
{
	struct pool *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->base = base;
	p->cfg = *cfg;
	if (p->cfg.size < 1)
		p->cfg.size = 1;
	if (p->cfg.queue_max < 1)
		p->cfg.queue_max = 1024;
	if (p->cfg.query_timeout_ms < 1)
		p->cfg.query_timeout_ms = 10000;
	TAILQ_INIT(&p->waiting);
	p->conninfo = strdup(cfg->conninfo ? cfg->conninfo : "");
	p->name = strdup(cfg->name ? cfg->name : "pool");
	p->setup_sql = cfg->setup_sql ? strdup(cfg->setup_sql) : NULL;
	p->conns = calloc((size_t)p->cfg.size, sizeof *p->conns);
	p->sweep = event_new(base, -1, EV_PERSIST, sweep, p);
	if (!p->conninfo || !p->name || (cfg->setup_sql && !p->setup_sql) || !p->conns || !p->sweep)
		goto fail;
	for (int i = 0; i < p->cfg.size; i++) {
		struct conn *c = &p->conns[i];
		c->pool = p;
		c->idx = i;
		c->fd = -1;
		c->ev = event_new(base, -1, 0, conn_event, c);
		c->retry = evtimer_new(base, conn_retry, c);
		if (!c->ev || !c->retry)
			goto fail;
	}
	struct timeval tv = {0, SWEEP_MS * 1000};
	event_add(p->sweep, &tv);
	for (int i = 0; i < p->cfg.size; i++)
		conn_start(&p->conns[i]);
	return p;
fail:
	pool_free(p);
	return NULL;
}

void pool_close(struct pool *p)
{
	if (!p || p->closing)
		return;
	p->closing = 1;
	for (int i = 0; p->conns && i < p->cfg.size; i++) {
		struct conn *c = &p->conns[i];
		if (c->job && c->pg) {
			/* a transaction not committed yet is rolled back, not left to finish */
			char err[256];
			PGcancel *cancel = PQgetCancel(c->pg);
			if (cancel && !PQcancel(cancel, err, sizeof err))
				log_warn("event=db_cancel_failed pool=%s conn=%d reason=%s",
				         p->name, c->idx, LOG_Q(err));
			PQfreeCancel(cancel);
		}
		if (c->state != CONN_DOWN)
			conn_broken(c, "shutting down"); /* fails its job */
		if (c->retry)
			evtimer_del(c->retry);
	}
	fail_waiting(p, "shutting down");
}

/*
 * pool_close first: every job still here is failed ("shutting down") before
 * anything is freed, and its callback may not queue more (enqueue refuses
 * once closing): when pool_free returns no callback of this pool is pending
 * or will run. So a pool's users (batchers, handlers, caches) are freed
 * after it.
 */
void pool_free(struct pool *p)
{
	if (!p)
		return;
	pool_close(p);
	for (int i = 0; p->conns && i < p->cfg.size; i++) {
		struct conn *c = &p->conns[i];
		clear_results(c);
		if (c->ev)
			event_free(c->ev);
		if (c->retry)
			event_free(c->retry);
		PQfinish(c->pg);
	}
	if (p->sweep)
		event_free(p->sweep);
	free(p->conns);
	free(p->conninfo);
	free(p->name);
	free(p->setup_sql);
	free(p);
}

static int enqueue(struct pool *p, struct job *j)
{
	if (p->closing || !healthy(p) || p->nwaiting >= p->cfg.queue_max) {
		p->failures++;
		job_free(j);
		return -1;
	}
	j->queued_ms = clock_ms();
	TAILQ_INSERT_TAIL(&p->waiting, j, link);
	p->nwaiting++;
	dispatch(p);
	return 0;
}

int pool_submit(struct pool *p, const struct pool_query *q, pool_cb cb, void *arg)
{
	size_t need = strlen(q->stmt) + 1;
	if (q->nparams < 0 || q->nparams > POOL_MAX_PARAMS)
		return -1;
	for (int i = 0; i < q->nparams; i++)
		if (q->values[i])
			need += strlen(q->values[i]) + 1;
	struct job *j = calloc(1, sizeof *j);
	char *buf = malloc(need);
	if (!j || !buf) {
		free(j);
		free(buf);
		return -1;
	}
	j->cb = cb;
	j->arg = arg;
	j->buf = buf;
	size_t n = strlen(q->stmt) + 1;
	memcpy(buf, q->stmt, n);
	j->q.stmt = buf;
	j->q.nparams = q->nparams;
	for (int i = 0; i < q->nparams; i++) {
		if (!q->values[i])
			continue;
		size_t m = strlen(q->values[i]) + 1;
		memcpy(buf + n, q->values[i], m);
		j->q.values[i] = buf + n;
		n += m;
	}
	return enqueue(p, j);
}

int pool_copy(struct pool *p, const char *sql, const char *data, size_t len, pool_cb cb, void *arg)
{
	struct pool_query q = {.stmt = sql, .nparams = 0};
	struct job *j = calloc(1, sizeof *j);
	if (!j || !(j->buf = strdup(q.stmt))) {
		free(j);
		return -1;
	}
	j->cb = cb;
	j->arg = arg;
	j->q.stmt = j->buf;
	j->copy_data = data;
	j->copy_len = len;
	return enqueue(p, j);
}

struct pool_stream *pool_copy_out(struct pool *p, const char *sql, int idle_ms,
                                  const struct pool_stream_ops *ops, void *arg)
{
	struct job *j = calloc(1, sizeof *j);
	if (!j || !(j->buf = strdup(sql))) {
		free(j);
		return NULL;
	}
	j->cb = ops->done;
	j->arg = arg;
	j->q.stmt = j->buf;
	j->ops = ops;
	j->pool = p;
	j->idle_ms = idle_ms > 0 ? idle_ms : p->cfg.query_timeout_ms;
	return enqueue(p, j) < 0 ? NULL : (struct pool_stream *)j;
}

void pool_stream_resume(struct pool_stream *s)
{
	struct job *j = (struct job *)s;
	struct conn *c = j->conn;
	if (!j->paused || !c)
		return;
	j->paused = 0;
	c->since_ms = clock_coarse_ms();
	if (watch(c, EV_READ) < 0) {
		conn_broken(c, "no socket");
		return;
	}
	/* libpq may hold rows already: read them without waiting for the socket */
	event_active(c->ev, EV_READ, 1);
}

void pool_stream_abort(struct pool_stream *s)
{
	struct job *j = (struct job *)s;
	struct pool *p;
	if (j->conn) {
		j->conn->quiet = 1;
		conn_broken(j->conn, "stream aborted");
		return;
	}
	/* still waiting for a connection */
	p = j->pool;
	TAILQ_REMOVE(&p->waiting, j, link);
	p->nwaiting--;
	job_fail(p, j, "stream aborted");
}

int pool_defer(struct pool *p, pool_build_fn build, pool_cb cb, void *arg)
{
	struct job *j = calloc(1, sizeof *j);
	if (!j)
		return -1;
	j->cb = cb;
	j->build = build;
	j->arg = arg;
	return enqueue(p, j);
}

int pool_healthy(const struct pool *p)
{
	return healthy(p);
}

int pool_has_idle(const struct pool *p)
{
	return p->idle != NULL;
}

void pool_get_stats(const struct pool *p, struct pool_stats *out)
{
	out->size = p->cfg.size;
	out->connected = p->nready;
	out->busy = p->nbusy;
	out->waiting = p->nwaiting;
	out->failures = p->failures;
}
