/*
 * scanlog.c: the per-worker buffer of scan rows and its writer.
 *
 * Rows are appended straight into the array literals of one scan_log() call;
 * the call is built when a connection is ready (pool_defer), so rows that
 * arrive meanwhile ride along. One write in flight per worker at a time.
 */
#include "scanlog.h"

#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "http.h"
#include "log.h"
#include "server.h"
#include "timefmt.h"

#define FLUSH_ROWS 512   /* write at once when this many wait */
#define BUFFER_MAX 20000 /* beyond this, while the database is away, rows are dropped */
#define NCOLS      8

static const char *const kind_names[] = {"landing", "lookup", "claim"};

struct scanlog {
	struct worker *w;
	struct batch_params *rows; /* being filled */
	size_t nrows;
	struct batch_params *out; /* being written */
	size_t nout;
	int queued; /* a write waits for a connection */
	int warned;
};

struct scanlog *scanlog_new(struct worker *w)
{
	struct scanlog *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->w = w;
	s->rows = batch_params_new();
	if (!s->rows) {
		free(s);
		return NULL;
	}
	return s;
}

void scanlog_free(struct scanlog *s)
{
	if (!s)
		return;
	if (s->nrows)
		metrics_add(&s->w->metrics.scans_dropped, s->nrows);
	batch_params_free(s->rows);
	batch_params_free(s->out);
	free(s);
}

size_t scanlog_pending(const struct scanlog *s)
{
	return s->nrows + s->nout + (s->queued ? 1 : 0);
}

void scanlog_add(struct scanlog *s, const struct request *r, enum scan_kind kind, const char *code,
                 uint64_t serial, const char *outcome, const char *member)
{
	char at[40], shown[65];
	if (s->nrows >= BUFFER_MAX) {
		metrics_add(&s->w->metrics.scans_dropped, 1);
		return;
	}
	timefmt_pg_now(at, sizeof at);
	http_printable(code, strlen(code), shown, sizeof shown);
	batch_param_str(s->rows, 0, at);
	batch_param_uint(s->rows, 1, serial);
	batch_param_str(s->rows, 2, shown);
	batch_param_str(s->rows, 3, kind_names[kind]);
	batch_param_str(s->rows, 4, outcome);
	batch_param_str(s->rows, 5, r && r->client[0] ? r->client : NULL);
	batch_param_str(s->rows, 6, r && r->user_agent[0] ? r->user_agent : NULL);
	batch_param_str(s->rows, 7, member && member[0] ? member : NULL);
	s->nrows++;
	if (s->nrows >= FLUSH_ROWS)
		scanlog_flush(s);
}

static int build(void *arg, struct pool_query *q)
{
	struct scanlog *s = arg;
	s->queued = 0;
	if (!s->nrows)
		return -1;
	struct batch_params *fresh = batch_params_new();
	if (!fresh)
		return -1;
	s->out = s->rows;
	s->nout = s->nrows;
	s->rows = fresh;
	s->nrows = 0;
	q->stmt = "scan_log";
	q->nparams = NCOLS;
	if (batch_params_finish(s->out, NCOLS, q->values) < 0) {
		metrics_add(&s->w->metrics.scans_dropped, s->nout);
		batch_params_free(s->out);
		s->out = NULL;
		s->nout = 0;
		return -1;
	}
	return 0;
}

static void written(void *arg, const struct pool_result *r)
{
	struct scanlog *s = arg;
	if (!s->out) {
		/* failed before build: the rows are still in s->rows; the next tick retries */
		s->queued = 0;
		return;
	}
	if (r->status == POOL_OK) {
		metrics_add(&s->w->metrics.scans_written, s->nout);
		s->warned = 0;
	} else {
		metrics_add(&s->w->metrics.scans_dropped, s->nout);
		if (!s->warned)
			log_warn("event=scan_write_failed rows=%zu sqlstate=%s reason=\"%.200s\"",
			         s->nout, r->sqlstate, r->message);
		s->warned = 1;
	}
	batch_params_free(s->out);
	s->out = NULL;
	s->nout = 0;
	if (s->nrows >= FLUSH_ROWS)
		scanlog_flush(s);
}

void scanlog_flush(struct scanlog *s)
{
	if (!s->nrows || s->queued || s->out)
		return;
	s->queued = 1;
	if (pool_defer(s->w->pool, build, written, s) < 0)
		s->queued = 0; /* the database is away: keep the rows, retry on the next tick */
}
