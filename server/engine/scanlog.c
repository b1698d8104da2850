/*
 * scanlog.c: the per-worker buffer of scan rows and its writer.
 *
 * Rows are appended as COPY text to a buffer; a flush is one transaction on
 * the worker's own scan connection: COPY into the session's stage, then
 * scan_ingest() (sql/015_scans.sql), which writes the rows, the per-code
 * summary and the roll-ups. Every row of a flush carries the flush's tag (a
 * random id of this writer and its flush number): a flush that failed is
 * kept and sent again, whole and with its tag, until it is written, so a
 * flush whose commit happened but whose reply was lost is recognised by the
 * database and counted once. Rows go on arriving meanwhile, in chunks of at
 * most FLUSH_ROWS (each a flush of its own, so that no flush after an
 * outage is too big to commit within the query timeout), up to a bound for
 * all (--scan-buffer); beyond it new rows are dropped, counted by reason
 * and logged. One flush in flight per worker.
 */
#include "engine/scanlog.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "clock.h"
#include "engine/geoip.h"
#include "engine/timefmt.h"
#include "log.h"
#include "server.h"
#include "statements.h"
#include "text.h"

#define FLUSH_ROWS       4096   /* write at once when this many wait */
#define FLUSH_TIMEOUT_MS 120000 /* at least this long for a flush (and its statement_timeout) */
#define REJECT_TRIES                                                                               \
	3 /* a flush the database refuses (not a lost connection) this often is dropped */
#define GEOIP_LOOK_MS 1000 /* the --geoip file's stamp, looked at this often */

static const char *const kind_names[] = {"landing", "lookup", "claim"};

/* Rows being collected or written. */
struct rows {
	char *text; /* COPY text format */
	size_t len, cap;
	size_t n;
	char tag[40]; /* the flush's tag, set with its first row */
	int oom;
};

struct scanlog {
	struct worker *w;
	struct pool *pool;
	struct geoip *geoip; /* NULL without --geoip */
	long long geoip_looked_ms;
	struct rows cur;   /* being filled */
	struct rows *full; /* chunks of FLUSH_ROWS rows waiting their turn, oldest first */
	size_t nfull, capfull;
	struct rows out; /* being written, or failed and waiting to be sent again */
	size_t buffered; /* rows in cur, full and out */
	int writing;
	int tries;       /* refusals of out by the database */
	size_t max_rows; /* buffered at most */
	unsigned long long writer, flushes;
	unsigned long long dropping; /* rows dropped since the last write that succeeded */
	int warned;
	int closing;
};

static void rows_free(struct rows *r)
{
	free(r->text);
	memset(r, 0, sizeof *r);
}

static void add(struct rows *r, const char *p, size_t n)
{
	if (r->oom)
		return;
	if (r->len + n > r->cap) {
		size_t cap = r->cap ? r->cap : 65536;
		while (cap < r->len + n)
			cap *= 2;
		char *t = realloc(r->text, cap);
		if (!t) {
			r->oom = 1;
			return;
		}
		r->text = t;
		r->cap = cap;
	}
	memcpy(r->text + r->len, p, n);
	r->len += n;
}

/* A COPY text field: backslash, tab, newline and CR escaped; NULL as \N. */
static void field(struct rows *r, const char *s, char sep)
{
	if (!s) {
		add(r, "\\N", 2);
	} else {
		for (const char *p = s; *p;) {
			size_t run = strcspn(p, "\\\t\n\r");
			add(r, p, run);
			p += run;
			if (!*p)
				break;
			char esc[2] = {'\\', *p == '\t'   ? 't'
			                     : *p == '\n' ? 'n'
			                     : *p == '\r' ? 'r'
			                                  : '\\'};
			add(r, esc, 2);
			p++;
		}
	}
	add(r, &sep, 1);
}

struct scanlog *scanlog_new(struct worker *w)
{
	struct scanlog *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->w = w;
	s->max_rows = w->srv->cfg.scan_buffer > 0 ? (size_t)w->srv->cfg.scan_buffer : 100000;
	if (getrandom(&s->writer, sizeof s->writer, 0) != (ssize_t)sizeof s->writer) {
		free(s);
		return NULL;
	}
	if (w->srv->cfg.geoip_path) {
		char err[256];
		if (!(s->geoip = geoip_open(w->srv->cfg.geoip_path, err, sizeof err))) {
			log_error("event=geoip_open_failed worker=%d reason=%s", w->id, LOG_Q(err));
			free(s);
			return NULL;
		}
	}
	char name[64];
	snprintf(name, sizeof name, "packcode-server-%d-scans", w->id);
	struct pool_config pc = {
	    .conninfo = w->srv->cfg.conninfo,
	    .name = name,
	    .size = 1,
	    .queue_max = 4,
	    .setup_sql = STATEMENTS_SCAN_SETUP,
	    /* a flush must be able to finish: one that always outlasted its timeout
	       would be sent again forever (on Citus a flush is a round trip per code) */
	    .query_timeout_ms = w->srv->cfg.query_timeout_ms > FLUSH_TIMEOUT_MS
	                            ? w->srv->cfg.query_timeout_ms
	                            : FLUSH_TIMEOUT_MS,
	};
	s->pool = pool_new(w->base, &pc);
	if (!s->pool) {
		geoip_free(s->geoip);
		free(s);
		return NULL;
	}
	return s;
}

static void dropped(struct scanlog *s, enum metrics_scan_drop why, size_t n)
{
	static const char *const names[METRICS_SCAN_DROPS] = {"overflow", "rejected", "shutdown"};
	if (!n)
		return;
	metrics_add(&s->w->metrics.scans_dropped[why], n);
	if (why != METRICS_SCAN_DROP_OVERFLOW)
		log_error("event=scans_dropped worker=%d reason=%s scans=%zu", s->w->id, names[why],
		          n);
	else if (!s->dropping)
		log_error("event=scans_dropped worker=%d reason=overflow buffer=%zu "
		          "note=\"dropping until the database is back\"",
		          s->w->id, s->max_rows);
	if (why == METRICS_SCAN_DROP_OVERFLOW)
		s->dropping += n;
}

void scanlog_free(struct scanlog *s)
{
	if (!s)
		return;
	s->closing = 1;
	pool_free(s->pool); /* a write in flight fails first, and stays in out */
	dropped(s, METRICS_SCAN_DROP_SHUTDOWN, s->buffered);
	rows_free(&s->cur);
	for (size_t i = 0; i < s->nfull; i++)
		rows_free(&s->full[i]);
	free(s->full);
	rows_free(&s->out);
	geoip_free(s->geoip);
	free(s);
}

size_t scanlog_pending(const struct scanlog *s)
{
	return s->buffered;
}

int scanlog_stuck(const struct scanlog *s)
{
	return !pool_healthy(s->pool);
}

void scanlog_geoip_reload(struct scanlog *s, int force)
{
	char err[256];
	if (!s->geoip)
		return;
	s->geoip_looked_ms = clock_ms();
	switch (geoip_refresh(s->geoip, force, err, sizeof err)) {
	case GEOIP_RELOADED:
		log_info("event=geoip_reloaded worker=%d why=%s", s->w->id,
		         force ? "signal" : "file_changed");
		break;
	case GEOIP_FAILED:
		log_error(
		    "event=geoip_reload_failed worker=%d reason=%s note=\"the old one stays\"",
		    s->w->id, LOG_Q(err));
		break;
	case GEOIP_SAME:
		break;
	}
}

int64_t scanlog_scanner(const struct scanlog_client *who)
{
	/* FNV-1a, 64 bits: a name for the pair, not a secret */
	uint64_t h = 14695981039346656037ULL;
	const char *parts[2] = {who && who->address ? who->address : "",
	                        who && who->user_agent ? who->user_agent : ""};
	for (int i = 0; i < 2; i++) {
		for (const unsigned char *p = (const unsigned char *)parts[i]; *p; p++)
			h = (h ^ *p) * 1099511628211ULL;
		h = (h ^ '\n') * 1099511628211ULL;
	}
	return (int64_t)(h >> 1); /* a bigint, never negative */
}

void scanlog_region(const struct scanlog *s, const char *address, char *out, size_t outlen)
{
	struct geoip_region where;
	if (!s->geoip || !address || !address[0]) {
		snprintf(out, outlen, "%s", "");
		return;
	}
	geoip_lookup(s->geoip, address, &where);
	snprintf(out, outlen, "%s", where.subdivision[0] ? where.subdivision : where.country);
}

void scanlog_add(struct scanlog *s, const struct scanlog_client *who, enum scanlog_kind kind,
                 const char *code, uint64_t serial, const char *outcome, const char *member)
{
	char at[40], shown[65], num[24], scanner[24];
	struct rows *rw = &s->cur;
	struct geoip_region where;
	if (s->buffered >= s->max_rows) {
		dropped(s, METRICS_SCAN_DROP_OVERFLOW, 1);
		return;
	}
	if (!rw->n)
		snprintf(rw->tag, sizeof rw->tag, "%016llx-%d-%llu", s->writer, s->w->id,
		         ++s->flushes);
	const char *address = who && who->address && who->address[0] ? who->address : NULL;
	geoip_lookup(s->geoip, address, &where);
	timefmt_pg_now(at, sizeof at);
	text_printable(code, strlen(code), shown, sizeof shown);
	snprintf(num, sizeof num, "%llu", (unsigned long long)serial);
	snprintf(scanner, sizeof scanner, "%lld", (long long)scanlog_scanner(who));
	field(rw, rw->tag, '\t');
	field(rw, at, '\t');
	field(rw, num, '\t');
	field(rw, shown, '\t');
	field(rw, kind_names[kind], '\t');
	field(rw, outcome, '\t');
	field(rw, address, '\t');
	field(rw, who && who->user_agent && who->user_agent[0] ? who->user_agent : NULL, '\t');
	field(rw, member && member[0] ? member : NULL, '\t');
	field(rw, scanner, '\t');
	field(rw, where.country[0] ? where.country : NULL, '\t');
	field(rw, where.subdivision[0] ? where.subdivision : NULL, '\t');
	field(rw, where.city[0] ? where.city : NULL, '\n');
	rw->n++;
	s->buffered++;
	if (rw->n < FLUSH_ROWS)
		return;
	if (s->nfull == s->capfull) {
		size_t cap = s->capfull ? s->capfull * 2 : 8;
		struct rows *f = realloc(s->full, cap * sizeof *f);
		if (!f) {
			rw->oom = 1;
			return;
		}
		s->full = f;
		s->capfull = cap;
	}
	s->full[s->nfull++] = *rw;
	memset(rw, 0, sizeof *rw);
	if (!s->out.n) /* a flush waiting to be sent again goes on the tick, not per scan */
		scanlog_flush(s);
}

/*
 * A failure the database may get over: the connection lost or refused, the
 * server shutting down or starting, out of resources, a deadlock or a
 * serialization failure, a lock or statement timeout. Anything else (a
 * constraint, a bug) is the flush's own and would fail again.
 */
static int transient(const struct pool_result *r)
{
	const char *st = r->sqlstate ? r->sqlstate : "";
	if (r->status == POOL_UNAVAILABLE || !st[0])
		return 1;
	return strncmp(st, "08", 2) == 0 || strncmp(st, "40", 2) == 0 ||
	       strncmp(st, "53", 2) == 0 || strncmp(st, "57", 2) == 0 ||
	       strncmp(st, "58", 2) == 0 || strcmp(st, "55P03") == 0 || strcmp(st, "55006") == 0;
}

static void written(void *arg, const struct pool_result *r)
{
	struct scanlog *s = arg;
	s->writing = 0;
	if (r->status == POOL_OK) {
		const char *how = r->res && PQntuples(r->res) == 1 ? PQgetvalue(r->res, 0, 0) : "";
		if (strcmp(how, "duplicate") == 0)
			log_info("event=scan_flush_duplicate worker=%d tag=%s scans=%zu "
			         "note=\"written before, its reply lost: counted once\"",
			         s->w->id, s->out.tag, s->out.n);
		metrics_add(&s->w->metrics.scans_written, s->out.n);
		s->buffered -= s->out.n;
		if (s->warned || s->dropping)
			log_info("event=scan_write_recovered worker=%d scans=%zu dropped=%llu",
			         s->w->id, s->out.n, s->dropping);
		s->warned = 0;
		s->dropping = 0;
		s->tries = 0;
		rows_free(&s->out);
		if (s->nfull && !s->closing)
			scanlog_flush(s);
		return;
	}
	if (s->closing)
		return; /* scanlog_free counts what is left */
	if (transient(r)) {
		if (!s->warned)
			log_warn(
			    "event=scan_write_failed worker=%d scans=%zu sqlstate=%s reason=%s "
			    "note=\"kept, sent again when the database is back\"",
			    s->w->id, s->out.n, r->sqlstate ? r->sqlstate : "", LOG_Q(r->message));
		s->warned = 1;
		return;
	}
	log_error("event=scan_write_refused worker=%d scans=%zu sqlstate=%s reason=%s try=%d",
	          s->w->id, s->out.n, r->sqlstate ? r->sqlstate : "", LOG_Q(r->message),
	          s->tries + 1);
	if (++s->tries >= REJECT_TRIES) {
		dropped(s, METRICS_SCAN_DROP_REJECTED, s->out.n);
		s->buffered -= s->out.n;
		rows_free(&s->out);
		s->tries = 0;
	}
}

void scanlog_flush(struct scanlog *s)
{
	if (s->geoip && clock_ms() - s->geoip_looked_ms >= GEOIP_LOOK_MS)
		scanlog_geoip_reload(s, 0);
	if (s->writing || s->closing)
		return;
	if (!s->out.n) {
		struct rows next;
		if (s->nfull) {
			next = s->full[0];
			memmove(s->full, s->full + 1, --s->nfull * sizeof *s->full);
		} else if (s->cur.n) {
			next = s->cur;
			memset(&s->cur, 0, sizeof s->cur);
		} else {
			return;
		}
		if (next.oom) {
			log_error("event=scans_dropped worker=%d reason=rejected scans=%zu "
			          "note=\"out of memory\"",
			          s->w->id, next.n);
			metrics_add(&s->w->metrics.scans_dropped[METRICS_SCAN_DROP_REJECTED],
			            next.n);
			s->buffered -= next.n;
			rows_free(&next);
			return;
		}
		s->out = next;
		s->tries = 0;
	}
	s->writing = 1;
	if (pool_copy(s->pool, STATEMENTS_SCAN_COPY, s->out.text, s->out.len, written, s) < 0)
		s->writing = 0; /* the database is away: out stays, sent again on the next tick */
}
