/*
 * scanlog.c: the per-worker buffer of scan rows and its writer.
 *
 * Rows are appended as COPY text to a buffer; a flush sends the whole buffer
 * with one COPY scans FROM STDIN (the cheapest way into PostgreSQL, row for
 * row) on the worker's own scan connection (synchronous_commit off), then the
 * per-code summary, already aggregated here, and each code's scanners (who
 * scanned it: scanlog_scanner) with one scan_summary() call. One
 * flush in flight per worker; rows arriving meanwhile wait for the next.
 */
#include "engine/scanlog.h"

#include <stdlib.h>
#include <string.h>

#include "engine/timefmt.h"
#include "log.h"
#include "server.h"
#include "statements.h"
#include "text.h"

#define FLUSH_ROWS 4096  /* write at once when this many wait */
#define BUFFER_MAX 50000 /* beyond this, while the database is away, rows are dropped */
#define NSTATS     7     /* scan_summary()'s parameters */

static const char *const kind_names[] = {"landing", "lookup", "claim"};

/* A serial scanned in this buffer, for code_stats and code_scanners. */
struct seen {
	uint64_t serial;
	int64_t scanner;
	int claimed; /* an awarded claim (or its repeat): the claimer's scanner */
	char at[32];
};

/* Rows being collected or written. */
struct rows {
	char *text; /* COPY text format */
	size_t len, cap;
	size_t n;
	struct seen *seen;
	size_t nseen, capseen;
	int oom;
};

struct scanlog {
	struct worker *w;
	struct pool *pool;
	struct rows cur; /* being filled */
	struct rows out; /* being written */
	int writing;
	char *stats[NSTATS]; /* scan_summary() parameters while they are sent */
	int warned;
	int closing;
};

static void rows_free(struct rows *r)
{
	free(r->text);
	free(r->seen);
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
	char name[64];
	snprintf(name, sizeof name, "packcode-server-%d-scans", w->id);
	struct pool_config pc = {
	    .conninfo = w->srv->cfg.conninfo,
	    .name = name,
	    .size = 1,
	    .queue_max = 4,
	    .setup_sql = STATEMENTS_SCAN_SETUP,
	    .query_timeout_ms = w->srv->cfg.query_timeout_ms,
	};
	s->pool = pool_new(w->base, &pc);
	if (!s->pool) {
		free(s);
		return NULL;
	}
	return s;
}

void scanlog_free(struct scanlog *s)
{
	if (!s)
		return;
	s->closing = 1;
	pool_free(s->pool); /* a write in flight is failed (and counted) first */
	if (s->cur.n)
		metrics_add(&s->w->metrics.scans_dropped, s->cur.n);
	rows_free(&s->cur);
	rows_free(&s->out);
	for (int i = 0; i < NSTATS; i++)
		free(s->stats[i]);
	free(s);
}

size_t scanlog_pending(const struct scanlog *s)
{
	return s->cur.n + s->out.n + (size_t)s->writing;
}

int scanlog_stuck(const struct scanlog *s)
{
	return !pool_healthy(s->pool);
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

void scanlog_add(struct scanlog *s, const struct scanlog_client *who, enum scanlog_kind kind,
                 const char *code, uint64_t serial, const char *outcome, const char *member)
{
	char at[40], shown[65], num[24];
	struct rows *rw = &s->cur;
	if (rw->n >= BUFFER_MAX) {
		metrics_add(&s->w->metrics.scans_dropped, 1);
		return;
	}
	timefmt_pg_now(at, sizeof at);
	text_printable(code, strlen(code), shown, sizeof shown);
	snprintf(num, sizeof num, "%llu", (unsigned long long)serial);
	field(rw, at, '\t');
	field(rw, num, '\t');
	field(rw, shown, '\t');
	field(rw, kind_names[kind], '\t');
	field(rw, outcome, '\t');
	field(rw, who && who->address[0] ? who->address : NULL, '\t');
	field(rw, who && who->user_agent[0] ? who->user_agent : NULL, '\t');
	field(rw, member && member[0] ? member : NULL, '\n');
	if (serial) {
		if (rw->nseen == rw->capseen) {
			size_t cap = rw->capseen ? rw->capseen * 2 : 256;
			struct seen *p = realloc(rw->seen, cap * sizeof *p);
			if (!p)
				rw->oom = 1;
			else {
				rw->seen = p;
				rw->capseen = cap;
			}
		}
		if (rw->nseen < rw->capseen) {
			rw->seen[rw->nseen].serial = serial;
			rw->seen[rw->nseen].scanner = scanlog_scanner(who);
			rw->seen[rw->nseen].claimed =
			    kind == SCANLOG_CLAIM &&
			    (strcmp(outcome, "awarded") == 0 || strcmp(outcome, "repeat") == 0);
			memcpy(rw->seen[rw->nseen].at, at, sizeof rw->seen[rw->nseen].at);
			rw->seen[rw->nseen].at[sizeof rw->seen[rw->nseen].at - 1] = '\0';
			rw->nseen++;
		}
	}
	rw->n++;
	if (rw->n >= FLUSH_ROWS)
		scanlog_flush(s);
}

static void write_done(struct scanlog *s)
{
	rows_free(&s->out);
	for (int i = 0; i < NSTATS; i++) {
		free(s->stats[i]);
		s->stats[i] = NULL;
	}
	s->writing = 0;
	if (s->cur.n >= FLUSH_ROWS)
		scanlog_flush(s);
}

static void failed(struct scanlog *s, const char *what, const struct pool_result *r)
{
	if (!s->warned)
		log_warn("event=scan_write_failed step=%s rows=%zu sqlstate=%s reason=%s", what,
		         s->out.n, r->sqlstate, LOG_Q(r->message));
	s->warned = 1;
}

static void stats_done(void *arg, const struct pool_result *r)
{
	struct scanlog *s = arg;
	if (r->status != POOL_OK)
		failed(s, "stats", r);
	write_done(s);
}

static int by_serial(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;
	if (x->serial != y->serial)
		return x->serial < y->serial ? -1 : 1;
	return strcmp(x->at, y->at);
}

/*
 * Per serial: how many scans, the first and the last; then per scan its
 * serial, scanner and whether it was an awarded claim (the database counts
 * each pair once); as array literals.
 */
static int stats_params(struct scanlog *s)
{
	struct rows *o = &s->out;
	size_t cap = o->nseen * 48 + 8;
	for (int i = 0; i < NSTATS; i++)
		if (!(s->stats[i] = malloc(cap)))
			return -1;
	qsort(o->seen, o->nseen, sizeof *o->seen, by_serial);
	size_t len[NSTATS] = {0};
	for (int i = 0; i < NSTATS; i++)
		s->stats[i][len[i]++] = '{';
	for (size_t i = 0; i < o->nseen; i++) {
		const char *sep = i ? "," : "";
		len[4] += (size_t)snprintf(s->stats[4] + len[4], cap - len[4], "%s%llu", sep,
		                           (unsigned long long)o->seen[i].serial);
		len[5] += (size_t)snprintf(s->stats[5] + len[5], cap - len[5], "%s%lld", sep,
		                           (long long)o->seen[i].scanner);
		len[6] += (size_t)snprintf(s->stats[6] + len[6], cap - len[6], "%s%c", sep,
		                           o->seen[i].claimed ? 't' : 'f');
	}
	for (size_t i = 0; i < o->nseen;) {
		size_t j = i;
		while (j < o->nseen && o->seen[j].serial == o->seen[i].serial)
			j++;
		const char *sep = i ? "," : "";
		len[0] += (size_t)snprintf(s->stats[0] + len[0], cap - len[0], "%s%llu", sep,
		                           (unsigned long long)o->seen[i].serial);
		len[1] += (size_t)snprintf(s->stats[1] + len[1], cap - len[1], "%s%zu", sep, j - i);
		len[2] += (size_t)snprintf(s->stats[2] + len[2], cap - len[2], "%s\"%s\"", sep,
		                           o->seen[i].at);
		len[3] += (size_t)snprintf(s->stats[3] + len[3], cap - len[3], "%s\"%s\"", sep,
		                           o->seen[j - 1].at);
		i = j;
	}
	for (int i = 0; i < NSTATS; i++) {
		s->stats[i][len[i]++] = '}';
		s->stats[i][len[i]] = '\0';
	}
	return 0;
}

static void copied(void *arg, const struct pool_result *r)
{
	struct scanlog *s = arg;
	if (r->status != POOL_OK) {
		metrics_add(&s->w->metrics.scans_dropped, s->out.n);
		failed(s, "copy", r);
		write_done(s);
		return;
	}
	metrics_add(&s->w->metrics.scans_written, s->out.n);
	s->warned = 0;
	if (!s->out.nseen) {
		write_done(s);
		return;
	}
	struct pool_query q = {.stmt = "scan_stats", .nparams = NSTATS};
	if (s->closing || stats_params(s) < 0) {
		write_done(s);
		return;
	}
	for (int i = 0; i < NSTATS; i++)
		q.values[i] = s->stats[i];
	if (pool_submit(s->pool, &q, stats_done, s) < 0)
		write_done(s);
}

void scanlog_flush(struct scanlog *s)
{
	if (!s->cur.n || s->writing || s->closing)
		return;
	if (s->cur.oom) {
		metrics_add(&s->w->metrics.scans_dropped, s->cur.n);
		rows_free(&s->cur);
		return;
	}
	s->out = s->cur;
	memset(&s->cur, 0, sizeof s->cur);
	s->writing = 1;
	if (pool_copy(s->pool, STATEMENTS_SCAN_COPY, s->out.text, s->out.len, copied, s) < 0) {
		/* the database is away: keep the rows, retry on the next tick */
		s->cur = s->out;
		memset(&s->out, 0, sizeof s->out);
		s->writing = 0;
	}
}
