/*
 * export.c: the admin API's exports (export.h). A request is decoded,
 * then export_begin (sql/016_alerts.sql) records it and its audit row and
 * hands back one COPY ... TO STDOUT, which runs on the worker's export
 * connection (--export-connections) while its rows go out as chunks of a
 * chunked reply. Flow control: a chunk is sent, the COPY is paused (its
 * socket unwatched, so the database waits on TCP), and resumed once the
 * client has taken the chunk: memory holds one chunk per export, whatever
 * the row count. The reply starts with the first row, so a COPY that fails
 * at once is still a JSON error; one that fails later, or a client that
 * goes, ends the connection without the last chunk (a truncated reply).
 * export_finish records the end and the rows (audited).
 */
#include "handlers/export.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "engine/pool.h"
#include "log.h"
#include "scope.h"
#include "server.h"
#include "statements.h"

#define CHUNK_BYTES  (256 * 1024) /* a chunk is sent once this much is waiting */
#define IDLE_MS      60000        /* the COPY may wait this long for a row */
#define GONE_POLL_MS 1000         /* a paused export looks this often for its client */

struct export_req {
	struct request *r; /* NULL once the reply ended */
	struct worker *w;
	struct export_in in;
	char tok[24];
	long long id;
	struct pool_stream *stream;
	struct evbuffer *out;
	struct event *poll;
	long long messages; /* rows of data from the COPY (a CSV header too) */
	int started;        /* the reply's headers went */
	int paused;         /* a chunk is on its way: the COPY waits */
	int in_row;         /* inside the COPY's row callback */
	int drained_early;  /* the chunk went while still inside it */
	char actor_name[TOKEN_NAME_MAX + 1];
};

static void export_free(struct export_req *e)
{
	if (!e)
		return;
	if (e->poll)
		event_free(e->poll);
	if (e->out)
		evbuffer_free(e->out);
	e->w->exports--;
	free(e);
}

static void finished(void *arg, const struct pool_result *res)
{
	struct export_req *e = arg;
	if (res->status != POOL_OK)
		log_error("event=export_finish_failed export=%lld reason=%s", e->id,
		          LOG_Q(res->message));
	export_free(e);
}

/* Record how the export ended (export_finish, audited), then free e. */
static void finish(struct export_req *e, const char *status, long long rows)
{
	char id[24], n[24];
	snprintf(id, sizeof id, "%lld", e->id);
	snprintf(n, sizeof n, "%lld", rows < 0 ? 0 : rows);
	log_info("event=export actor=%s kind=%s format=%s status=%s rows=%lld export=%lld",
	         LOG_Q(e->actor_name), export_kind_name(e->in.kind),
	         export_format_name(e->in.format), status, rows, e->id);
	struct pool_query q = {.stmt = "export_finish", .nparams = 3, .values = {id, n, status}};
	if (pool_submit(e->w->pool, &q, finished, e) < 0) {
		log_error("event=export_finish_failed export=%lld reason=unavailable", e->id);
		export_free(e);
	}
}

static void start_reply(struct export_req *e)
{
	char disp[160], id[24];
	const char *ext = e->in.format == EXPORT_CSV ? "csv" : "jsonl";
	snprintf(disp, sizeof disp, "attachment; filename=\"%s-%lld.%s\"",
	         export_kind_name(e->in.kind), e->id, ext);
	snprintf(id, sizeof id, "%lld", e->id);
	http_header(e->r, "Content-Disposition", disp);
	http_header(e->r, "X-Export-Id", id);
	http_stream_start(e->r, e->in.format == EXPORT_CSV ? "text/csv; charset=utf-8"
	                                                   : "application/jsonl; charset=utf-8");
	e->started = 1;
}

static void drained(void *arg)
{
	struct export_req *e = arg;
	if (e->in_row) {
		e->drained_early = 1;
		return;
	}
	if (e->paused && e->stream) {
		e->paused = 0;
		pool_stream_resume(e->stream);
	}
}

static enum pool_row row(void *arg, const char *data, size_t len)
{
	struct export_req *e = arg;
	if (!e->started)
		start_reply(e);
	e->messages++;
	evbuffer_add(e->out, data, len);
	if (evbuffer_get_length(e->out) < CHUNK_BYTES)
		return POOL_ROW_MORE;
	e->in_row = 1;
	e->drained_early = 0;
	int gone = http_stream_chunk(e->r, e->out, drained, e) < 0;
	e->in_row = 0;
	if (gone)
		return POOL_ROW_STOP;
	if (e->drained_early)
		return POOL_ROW_MORE;
	e->paused = 1;
	return POOL_ROW_PAUSE;
}

static void copied(void *arg, const struct pool_result *res)
{
	struct export_req *e = arg;
	long long sent = e->messages - (e->in.format == EXPORT_CSV && e->messages > 0);
	e->stream = NULL;
	if (res->status == POOL_OK) {
		if (!e->started)
			start_reply(e);
		if (evbuffer_get_length(e->out))
			http_stream_chunk(e->r, e->out, NULL, NULL);
		http_stream_end(e->r, 1);
		e->r = NULL;
		finish(e, "done", strtoll(PQcmdTuples(res->res), NULL, 10));
		return;
	}
	int gone = e->started && http_stream_gone(e->r);
	if (!e->started) {
		log_error("event=export_failed export=%lld sqlstate=%s reason=%s", e->id,
		          res->sqlstate, LOG_Q(res->message));
		if (res->status == POOL_UNAVAILABLE)
			http_reply_error(e->r, 503, "unavailable",
			                 "database unavailable, try again");
		else
			http_reply_error(e->r, 500, "internal", "the export failed");
	} else {
		if (!gone)
			log_warn("event=export_cut export=%lld rows=%lld reason=%s", e->id, sent,
			         LOG_Q(res->message));
		http_stream_end(e->r, 0);
	}
	e->r = NULL;
	finish(e, gone ? "aborted" : "failed", sent);
}

/* A paused export whose client went away is stopped (its drained never comes). */
static void poll_gone(evutil_socket_t fd, short what, void *arg)
{
	struct export_req *e = arg;
	(void)fd;
	(void)what;
	if (e->paused && e->stream && e->r && http_stream_gone(e->r))
		pool_stream_abort(e->stream); /* copied() runs now */
}

static const struct pool_stream_ops copy_ops = {.row = row, .done = copied};

/* columns: id, copy_sql */
static void begun(void *arg, const struct pool_result *res)
{
	struct export_req *e = arg;
	if (res->status != POOL_OK) {
		if (res->status == POOL_UNAVAILABLE) {
			http_reply_error(e->r, 503, "unavailable",
			                 "database unavailable, try again");
		} else if (strcmp(res->sqlstate, "28000") == 0) {
			http_reply_unauthorized(e->r, TOKENS_INVALID);
		} else if (strcmp(res->sqlstate, "23514") == 0) {
			http_reply_error(e->r, 400, "bad_request", "from must be before to");
		} else {
			log_error("event=admin_query_failed route=export sqlstate=%s message=%s",
			          res->sqlstate, LOG_Q(res->message));
			http_reply_error(e->r, 500, "internal", "the export could not start");
		}
		export_free(e);
		return;
	}
	e->id = strtoll(PQgetvalue(res->res, 0, 0), NULL, 10);
	struct timeval tv = {GONE_POLL_MS / 1000, 0};
	e->stream =
	    pool_copy_out(e->w->export_pool, PQgetvalue(res->res, 0, 1), IDLE_MS, &copy_ops, e);
	if (!e->stream) {
		http_reply_error(e->r, 503, "export_busy",
		                 "the server's export connections are busy, try again later");
		e->r = NULL;
		finish(e, "failed", 0);
		return;
	}
	event_add(e->poll, &tv);
}

/*
 * The worker's export connections, made at its first export and kept: a
 * server that never exports holds no connection for it. EPCIS events
 * (events.c) stream on them too.
 */
struct pool *export_pool(struct worker *w)
{
	if (!w->export_pool && w->srv->cfg.export_connections > 0) {
		char name[64];
		snprintf(name, sizeof name, "packcode-export-%d", w->id);
		struct pool_config pc = {
		    .conninfo = w->srv->cfg.conninfo,
		    .name = name,
		    .size = w->srv->cfg.export_connections,
		    .queue_max = w->srv->cfg.export_connections,
		    .setup_sql = STATEMENTS_EXPORT_SETUP,
		    .query_timeout_ms = w->srv->cfg.query_timeout_ms,
		};
		w->export_pool = pool_new(w->base, &pc);
	}
	return w->export_pool;
}

void admin_route_export(struct request *r)
{
	struct worker *w = r->w;
	struct export_in in;
	char err[256];
	const struct route_capture *c = &r->cap[0];
	if (export_kind_parse(c->s, c->len, &in.kind) < 0) {
		http_reply_error(r, 404, "unknown_export",
		                 "exports are scans, claims, members and ledger");
		return;
	}
	if (export_decode_query(r->query, &in, err, sizeof err) < 0) {
		http_reply_error(r, 400, "bad_request", err);
		return;
	}
	if (evhttp_request_get_command(r->req) == EVHTTP_REQ_HEAD) {
		struct evbuffer *none = evbuffer_new();
		http_reply_text(r, 200,
		                in.format == EXPORT_CSV ? "text/csv; charset=utf-8"
		                                        : "application/jsonl; charset=utf-8",
		                none);
		evbuffer_free(none);
		return;
	}
	if (w->exports >= w->srv->cfg.export_connections || !export_pool(w)) {
		http_header(r, "Retry-After", "10");
		http_reply_error(r, 503, "export_busy",
		                 w->srv->cfg.export_connections
		                     ? "the server's export connections are busy, try again later"
		                     : "exports are off on this server (--export-connections 0)");
		return;
	}
	struct export_req *e = calloc(1, sizeof *e);
	if (!e) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	w->exports++;
	e->r = r;
	e->w = w;
	e->in = in;
	snprintf(e->tok, sizeof e->tok, "%lld", r->admin.id);
	snprintf(e->actor_name, sizeof e->actor_name, "%s", r->admin.name);
	e->out = evbuffer_new();
	e->poll = event_new(w->base, -1, EV_PERSIST, poll_gone, e);
	if (!e->out || !e->poll) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		export_free(e);
		return;
	}
	struct pool_query q = {.stmt = "admin_export_begin",
	                       .nparams = 7,
	                       .values = {e->tok, http_client_inet(r), export_kind_name(in.kind),
	                                  export_format_name(in.format), in.from, in.to,
	                                  (r->admin.scopes & SCOPE_PII) ? "true" : "false"}};
	if (pool_submit(w->pool, &q, begun, e) < 0) {
		http_reply_error(r, 503, "unavailable", "database unavailable, try again");
		export_free(e);
	}
}
