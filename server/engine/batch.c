/*
 * batch.c: queue items while the database is busy, send them as one
 * statement with array parameters when a connection is ready.
 *
 * Invariant: when items are waiting, either a deferred job sits in the pool
 * queue or max_inflight runs are out (and the first to finish sends more).
 */
#include "engine/batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct strbuf {
	char *p;
	size_t len, cap;
	int oom;
};

struct batch_params {
	struct strbuf col[POOL_MAX_PARAMS];
};

struct run {
	struct batcher *b;
	int built;
	size_t n;
	struct batch_item **items;
	struct batch_params params;
};

struct batcher {
	struct pool *pool;
	const struct batch_ops *ops;
	void *ctx;
	int max_inflight;
	size_t max_items;
	struct batch_item *head, **tail;
	size_t npending, nrunning;
	int queued;   /* a deferred job waits in the pool */
	int inflight; /* runs sent */
};

static void sb_add(struct strbuf *s, const char *p, size_t n)
{
	if (s->oom)
		return;
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 256;
		while (cap < s->len + n + 1)
			cap *= 2;
		char *q = realloc(s->p, cap);
		if (!q) {
			s->oom = 1;
			return;
		}
		s->p = q;
		s->cap = cap;
	}
	memcpy(s->p + s->len, p, n);
	s->len += n;
	s->p[s->len] = '\0';
}

static void sb_sep(struct strbuf *s)
{
	sb_add(s, s->len ? "," : "{", 1);
}

void batch_param_str(struct batch_params *bp, int col, const char *str)
{
	struct strbuf *s = &bp->col[col];
	sb_sep(s);
	if (!str) {
		sb_add(s, "NULL", 4);
		return;
	}
	sb_add(s, "\"", 1);
	for (const char *p = str; *p; p++) {
		size_t run = strcspn(p, "\"\\");
		sb_add(s, p, run);
		p += run;
		if (!*p)
			break;
		sb_add(s, "\\", 1);
		sb_add(s, p, 1);
	}
	sb_add(s, "\"", 1);
}

void batch_param_int(struct batch_params *bp, int col, long long v)
{
	char num[24];
	int n = snprintf(num, sizeof num, "%lld", v);
	sb_sep(&bp->col[col]);
	sb_add(&bp->col[col], num, (size_t)n);
}

void batch_param_uint(struct batch_params *bp, int col, unsigned long long v)
{
	char num[24];
	int n = snprintf(num, sizeof num, "%llu", v);
	sb_sep(&bp->col[col]);
	sb_add(&bp->col[col], num, (size_t)n);
}

static void params_clear(struct batch_params *bp)
{
	for (int i = 0; i < POOL_MAX_PARAMS; i++)
		free(bp->col[i].p);
}

static int params_finish(struct batch_params *bp, int ncols, const char **values)
{
	for (int c = 0; c < ncols; c++) {
		struct strbuf *s = &bp->col[c];
		if (s->len)
			sb_add(s, "}", 1);
		else
			sb_add(s, "{}", 2);
		if (s->oom)
			return -1;
		values[c] = s->p;
	}
	return 0;
}

struct batch_params *batch_params_new(void)
{
	return calloc(1, sizeof(struct batch_params));
}

int batch_params_finish(struct batch_params *bp, int ncols, const char **values)
{
	return params_finish(bp, ncols, values);
}

void batch_params_free(struct batch_params *bp)
{
	if (!bp)
		return;
	params_clear(bp);
	free(bp);
}

static void run_free(struct run *r)
{
	if (!r)
		return;
	params_clear(&r->params);
	free(r->items);
	free(r);
}

/*
 * Take the waiting items out of the queue, up to max and not past an item
 * that must go alone (which goes out by itself); the caller owns the array.
 */
static size_t take(struct batcher *b, size_t max, struct batch_item ***out)
{
	size_t n = 0;
	for (struct batch_item *it = b->head; it && n < max && n < b->npending; it = it->next) {
		if (it->alone && n > 0)
			break;
		n++;
		if (it->alone)
			break;
	}
	struct batch_item **items = n ? malloc(n * sizeof *items) : NULL;
	*out = items;
	if (!items)
		return 0;
	for (size_t i = 0; i < n; i++) {
		items[i] = b->head;
		b->head = b->head->next;
		items[i]->next = NULL;
	}
	if (!b->head)
		b->tail = &b->head;
	b->npending -= n;
	return n;
}

/* Everything waiting fails: the database is unavailable. */
static void fail_pending(struct batcher *b, const struct pool_result *r)
{
	struct batch_item **items;
	while (b->npending) {
		size_t n = take(b, b->npending, &items);
		if (!n)
			return; /* out of memory: leave them; the next run retries */
		b->ops->done(b->ctx, items, n, r);
		free(items);
	}
}

static int kick(struct batcher *b);

static int run_build(void *arg, struct pool_query *q)
{
	struct run *r = arg;
	struct batcher *b = r->b;
	b->queued = 0;
	r->n = take(b, b->max_items, &r->items);
	if (!r->n) {
		run_free(r);
		return -1;
	}
	for (size_t i = 0; i < r->n; i++)
		b->ops->add(&r->params, r->items[i]);
	q->stmt = b->ops->stmt;
	q->nparams = b->ops->ncols;
	if (params_finish(&r->params, b->ops->ncols, q->values) < 0) {
		/* give the items back; they will fail or go out with the next run */
		batch_retry(b, r->items, r->n);
		run_free(r);
		return -1;
	}
	r->built = 1;
	b->inflight++;
	b->nrunning += r->n;
	kick(b); /* more than max_items were waiting */
	return 0;
}

static void run_done(void *arg, const struct pool_result *res)
{
	struct run *r = arg;
	struct batcher *b = r->b;
	if (!r->built) {
		/* the pool failed the job before a connection was ready */
		b->queued = 0;
		fail_pending(b, res);
		run_free(r);
		return;
	}
	b->inflight--;
	b->nrunning -= r->n;
	b->ops->done(b->ctx, r->items, r->n, res);
	run_free(r);
	if (kick(b) < 0) {
		struct pool_result u = {
		    .status = POOL_UNAVAILABLE, .sqlstate = "", .message = "database unavailable"};
		fail_pending(b, &u);
	}
}

/* Make sure waiting items will go out; -1 if the pool refuses work. */
static int kick(struct batcher *b)
{
	if (b->queued || b->inflight >= b->max_inflight || !b->npending)
		return 0;
	struct run *r = calloc(1, sizeof *r);
	if (!r)
		return -1;
	r->b = b;
	b->queued = 1;
	if (pool_defer(b->pool, run_build, run_done, r) < 0) {
		b->queued = 0;
		free(r);
		return -1;
	}
	return 0;
}

struct batcher *batcher_new(struct pool *pool, const struct batch_ops *ops, void *ctx,
                            int max_inflight, size_t max_items)
{
	struct batcher *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	b->pool = pool;
	b->ops = ops;
	b->ctx = ctx;
	b->max_inflight = max_inflight > 0 ? max_inflight : 1;
	b->max_items = max_items > 0 ? max_items : 1;
	b->tail = &b->head;
	return b;
}

void batcher_free(struct batcher *b)
{
	free(b);
}

int batch_add(struct batcher *b, struct batch_item *item)
{
	item->next = NULL;
	*b->tail = item;
	b->tail = &item->next;
	b->npending++;
	if (kick(b) == 0)
		return 0;
	/* take item (the last one) back out: the caller answers "unavailable" */
	struct batch_item **pp = &b->head;
	while (*pp != item)
		pp = &(*pp)->next;
	*pp = NULL;
	b->tail = pp;
	b->npending--;
	return -1;
}

void batch_retry(struct batcher *b, struct batch_item **items, size_t n)
{
	for (size_t i = n; i-- > 0;) {
		items[i]->next = b->head;
		b->head = items[i];
		if (b->tail == &b->head)
			b->tail = &items[i]->next;
		b->npending++;
	}
	if (kick(b) < 0) {
		struct pool_result u = {
		    .status = POOL_UNAVAILABLE, .sqlstate = "", .message = "database unavailable"};
		fail_pending(b, &u);
	}
}

size_t batch_pending(const struct batcher *b)
{
	return b->npending + b->nrunning;
}
