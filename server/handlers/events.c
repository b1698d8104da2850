/*
 * events.c: the admin API's EPCIS events (events.h). admin_epcis_begin
 * (sql/020_epcis.sql) checks the batch against the identity's brands and
 * writes one COPY ... TO STDOUT of the events, one a line, which runs on
 * the worker's export connections; each line goes into the document with
 * its codes put in by the worker's keyring (lib/epcis.c). Flow control as
 * for exports (export.c): a chunk is sent and the COPY paused until the
 * client took it, so memory holds one chunk per request. The reply starts
 * with the first event (or the end of an empty list): a COPY that fails at
 * once is still a JSON error; one that fails later, or a client that goes,
 * ends the connection without the last chunk (a truncated document).
 */
#include "handlers/events.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/pool.h"
#include "epcis.h"
#include "log.h"
#include "server.h"
#include "statements.h"

#define CHUNK_BYTES  (256 * 1024) /* a chunk is sent once this much is waiting */
#define IDLE_MS      60000        /* the COPY may wait this long for a row */
#define GONE_POLL_MS 1000         /* a paused stream looks this often for its client */

struct events_req {
	struct request *r; /* NULL once the reply ended */
	struct worker *w;
	struct events_in in;
	char tok[24];
	struct pool_stream *stream;
	struct evbuffer *out;
	struct event *poll;
	long long events;
	int started;       /* the reply's headers and the document's head went */
	int paused;        /* a chunk is on its way: the COPY waits */
	int in_row;        /* inside the COPY's row callback */
	int drained_early; /* the chunk went while still inside it */
	int bad;           /* an event could not be completed (a key is missing) */
	char actor_name[TOKEN_NAME_MAX + 1];
};

static void events_free(struct events_req *e)
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

static void start_reply(struct events_req *e)
{
	char head[EPCIS_HEAD_MAX];
	size_t n = epcis_head(head, sizeof head, time(NULL));
	http_stream_start(e->r, EPCIS_MEDIA);
	evbuffer_add(e->out, head, n);
	e->started = 1;
}

static int put(void *ctx, const char *s, size_t n)
{
	return evbuffer_add(ctx, s, n);
}

static void drained(void *arg)
{
	struct events_req *e = arg;
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
	struct events_req *e = arg;
	char err[128];
	if (!e->started)
		start_reply(e);
	if (e->events)
		evbuffer_add(e->out, EPCIS_SEP, strlen(EPCIS_SEP));
	if (epcis_expand(e->w->keys.kr, data, len, put, e->out, err, sizeof err) < 0) {
		log_error("event=epcis_cut actor=%s events=%lld reason=%s", LOG_Q(e->actor_name),
		          e->events, LOG_Q(err));
		e->bad = 1;
		return POOL_ROW_STOP;
	}
	e->events++;
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
	struct events_req *e = arg;
	e->stream = NULL;
	if (res->status == POOL_OK && !e->bad) {
		if (!e->started)
			start_reply(e);
		evbuffer_add(e->out, EPCIS_TAIL, strlen(EPCIS_TAIL));
		http_stream_chunk(e->r, e->out, NULL, NULL);
		http_stream_end(e->r, 1);
		log_info("event=epcis actor=%s events=%lld", LOG_Q(e->actor_name), e->events);
		events_free(e);
		return;
	}
	if (!e->started) {
		log_error("event=epcis_failed sqlstate=%s reason=%s", res->sqlstate,
		          LOG_Q(res->message));
		if (res->status == POOL_UNAVAILABLE)
			http_reply_error(e->r, 503, "unavailable",
			                 "database unavailable, try again");
		else
			http_reply_error(e->r, 500, "internal", "the events could not be read");
	} else {
		if (!e->bad && !http_stream_gone(e->r))
			log_warn("event=epcis_cut events=%lld reason=%s", e->events,
			         LOG_Q(res->message));
		http_stream_end(e->r, 0);
	}
	events_free(e);
}

/* A paused stream whose client went away is stopped (its drained never comes). */
static void poll_gone(evutil_socket_t fd, short what, void *arg)
{
	struct events_req *e = arg;
	(void)fd;
	(void)what;
	if (e->paused && e->stream && e->r && http_stream_gone(e->r))
		pool_stream_abort(e->stream); /* copied() runs now */
}

static const struct pool_stream_ops copy_ops = {.row = row, .done = copied};

/* columns: outcome, copy_sql */
static void begun(void *arg, const struct pool_result *res)
{
	struct events_req *e = arg;
	if (res->status != POOL_OK) {
		if (res->status == POOL_UNAVAILABLE)
			http_reply_error(e->r, 503, "unavailable",
			                 "database unavailable, try again");
		else if (strcmp(res->sqlstate, "28000") == 0)
			http_reply_unauthorized(e->r, TOKENS_INVALID);
		else if (strcmp(res->sqlstate, "23514") == 0)
			http_reply_error(e->r, 400, "bad_request", "from must be before to");
		else if (strcmp(res->sqlstate, "22023") == 0)
			http_reply_error(e->r, 400, "bad_request",
			                 res->message); /* the kinds there are */
		else {
			log_error("event=admin_query_failed route=events sqlstate=%s message=%s",
			          res->sqlstate, LOG_Q(res->message));
			http_reply_error(e->r, 500, "internal", "the events could not be read");
		}
		events_free(e);
		return;
	}
	if (strcmp(PQgetvalue(res->res, 0, 0), "ok") != 0) {
		http_reply_error(e->r, 404, "unknown_batch", "no such batch of your brands");
		events_free(e);
		return;
	}
	struct timeval tv = {GONE_POLL_MS / 1000, 0};
	e->stream =
	    pool_copy_out(export_pool(e->w), PQgetvalue(res->res, 0, 1), IDLE_MS, &copy_ops, e);
	if (!e->stream) {
		http_header(e->r, "Retry-After", "10");
		http_reply_error(e->r, 503, "export_busy",
		                 "the server's export connections are busy, try again later");
		events_free(e);
		return;
	}
	event_add(e->poll, &tv);
}

void admin_route_events(struct request *r)
{
	struct worker *w = r->w;
	struct events_in in;
	char err[256];
	if (events_decode_query(r->query, &in, err, sizeof err) < 0) {
		http_reply_error(r, 400, "bad_request", err);
		return;
	}
	if (evhttp_request_get_command(r->req) == EVHTTP_REQ_HEAD) {
		struct evbuffer *none = evbuffer_new();
		http_reply_text(r, 200, EPCIS_MEDIA, none);
		evbuffer_free(none);
		return;
	}
	if (w->exports >= w->srv->cfg.export_connections || !export_pool(w)) {
		http_header(r, "Retry-After", "10");
		http_reply_error(r, 503, "export_busy",
		                 w->srv->cfg.export_connections
		                     ? "the server's export connections are busy, try again later"
		                     : "events stream on export connections, off on this server "
		                       "(--export-connections 0)");
		return;
	}
	struct events_req *e = calloc(1, sizeof *e);
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
		events_free(e);
		return;
	}
	struct pool_query q = {.stmt = "admin_epcis_begin",
	                       .nparams = 5,
	                       .values = {e->tok, in.from[0] ? in.from : NULL,
	                                  in.to[0] ? in.to : NULL, in.batch[0] ? in.batch : NULL,
	                                  in.kinds[0] ? in.kinds : NULL}};
	if (pool_submit(w->pool, &q, begun, e) < 0) {
		http_reply_error(r, 503, "unavailable", "database unavailable, try again");
		events_free(e);
	}
}
