/*
 * pool.h: a fixed pool of non-blocking libpq connections on one event loop.
 *
 * Nothing here ever blocks: each connection is a state machine driven by its
 * socket's events. A query runs on an idle connection or waits in a bounded
 * queue; when the database is unreachable, submitting fails at once so the
 * caller can answer 503 instead of hanging. A pool belongs to one thread.
 */
#ifndef PACKCODE_SERVER_POOL_H
#define PACKCODE_SERVER_POOL_H

#include <event2/event.h>
#include <libpq-fe.h>
#include <stddef.h>

#define POOL_MAX_PARAMS 10

enum pool_status {
	POOL_OK,          /* res holds the (last) result: tuples or command ok */
	POOL_UNAVAILABLE, /* no connection, connection lost, timed out or queue full, or an
	                     error of class 08: the database lost a node (Citus) */
	POOL_SQL_ERROR,   /* the statement failed: sqlstate and message say why */
};

struct pool_result {
	enum pool_status status;
	PGresult *res;        /* POOL_OK only; the pool clears it after the callback */
	const char *sqlstate; /* POOL_SQL_ERROR (and class 08): five characters, or "" */
	const char *message;  /* never NULL */
};

typedef void (*pool_cb)(void *arg, const struct pool_result *r);

/* A query to run: a prepared statement name and text parameters (NULL = SQL NULL). */
struct pool_query {
	const char *stmt;
	int nparams;
	const char *values[POOL_MAX_PARAMS];
};

/*
 * Fill *q when a connection is ready for a deferred query; the strings must
 * stay valid until the callback. Return 0, or -1 if there is nothing to run
 * any more (the callback is then not called).
 */
typedef int (*pool_build_fn)(void *arg, struct pool_query *q);

/* Called on every notification a connection receives (LISTEN). */
typedef void (*pool_notify_fn)(void *arg, const PGnotify *n);
/* Called each time a connection has been (re)established and set up. */
typedef void (*pool_ready_fn)(void *arg);

struct pool_config {
	const char *conninfo;  /* a libpq connection string or URI */
	const char *name;      /* application_name and log field */
	int size;              /* connections */
	int queue_max;         /* queries waiting for a connection at most */
	const char *setup_sql; /* run after each connect: SET, PREPARE, LISTEN (may be NULL) */
	int query_timeout_ms;  /* a query running longer drops its connection */
	pool_notify_fn on_notify;
	pool_ready_fn on_ready;
	void *hook_arg;
};

struct pool_stats {
	int size, connected, busy, waiting;
	unsigned long long failures; /* queries failed for want of a connection */
};

struct pool;

struct pool *pool_new(struct event_base *base, const struct pool_config *cfg);
/*
 * Stop using the database, from the loop, before pool_free: the queries
 * running are cancelled (the server rolls back what it had not committed)
 * and every job, running or waiting, fails now with POOL_UNAVAILABLE
 * ("shutting down"); no new one is taken. Callbacks run before it returns.
 */
void pool_close(struct pool *p);
/* Close every connection (pool_close first, if it was not); NULL is fine. */
void pool_free(struct pool *p);

/*
 * Run a prepared statement; the parameters are copied. cb runs later on the
 * loop, exactly once. Returns -1 (cb not called) when the pool has no working
 * connection or its queue is full: answer "unavailable" at once.
 */
int pool_submit(struct pool *p, const struct pool_query *q, pool_cb cb, void *arg);

/*
 * Like pool_submit, but the query is built only when a connection is ready,
 * so work that piles up meanwhile goes out together (group commit). If the
 * pool fails before build is called, cb gets POOL_UNAVAILABLE.
 */
int pool_defer(struct pool *p, pool_build_fn build, pool_cb cb, void *arg);

/*
 * COPY ... FROM STDIN: send sql, then len bytes of data (which must stay
 * valid until cb), as one job. Returns -1 like pool_submit.
 */
int pool_copy(struct pool *p, const char *sql, const char *data, size_t len, pool_cb cb, void *arg);

/*
 * COPY ... TO STDOUT, streamed with flow control: sql (a whole statement,
 * no parameters) runs on one connection; each row of data goes to
 * ops->row as it arrives. row returns POOL_ROW_MORE to go on,
 * POOL_ROW_PAUSE to stop reading until pool_stream_resume (the socket is
 * not watched meanwhile: the database waits on TCP, nothing piles up
 * here), or POOL_ROW_STOP to end it (the connection is dropped, which
 * cancels the COPY; done then gets POOL_UNAVAILABLE). done runs once, at
 * the end: POOL_OK with the COPY's result (PQcmdTuples: its rows), or the
 * failure. A stream with no row for idle_ms (not counting pauses) fails
 * as a query that timed out. Returns NULL like pool_submit returns -1.
 */
enum pool_row { POOL_ROW_MORE, POOL_ROW_PAUSE, POOL_ROW_STOP };
struct pool_stream_ops {
	enum pool_row (*row)(void *arg, const char *data, size_t len);
	pool_cb done;
};
struct pool_stream;
struct pool_stream *pool_copy_out(struct pool *p, const char *sql, int idle_ms,
                                  const struct pool_stream_ops *ops, void *arg);
/* Read again after POOL_ROW_PAUSE (from the loop, never from ops->row). */
void pool_stream_resume(struct pool_stream *s);
/* End a stream now (its connection dropped): done runs before this returns. */
void pool_stream_abort(struct pool_stream *s);

/* 1 when at least one connection is up (or the first ones are still connecting). */
int pool_healthy(const struct pool *p);
/* 1 when a query would start at once. */
int pool_has_idle(const struct pool *p);
void pool_get_stats(const struct pool *p, struct pool_stats *out);

#endif
