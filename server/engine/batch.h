/*
 * batch.h: requests that arrive while the database is busy go out together.
 *
 * An item waits in the batcher's queue; when a pool connection is ready, all
 * waiting items (up to max_items) become one statement with array parameters.
 * No timers: an item meeting an idle connection goes out alone at once, and
 * under load batches grow by themselves (group commit for claims).
 */
#ifndef PACKCODE_SERVER_BATCH_H
#define PACKCODE_SERVER_BATCH_H

#include <stddef.h>

#include "engine/pool.h"

struct batch_item {
	struct batch_item *next;
	int alone; /* goes out in a statement of its own (a batch that failed, split up) */
};

/* Array parameters under construction: one text array literal per column. */
struct batch_params;

struct batch_ops {
	const char *stmt; /* prepared statement taking one array per column */
	int ncols;
	/* Append item's value for each column (batch_param_* below). */
	void (*add)(struct batch_params *bp, struct batch_item *item);
	/*
	 * The statement ran (or failed: r->status) for these items, in order;
	 * done owns the items from here on (complete them or batch_retry them).
	 */
	void (*done)(void *ctx, struct batch_item **items, size_t n, const struct pool_result *r);
};

struct batcher;

struct batcher *batcher_new(struct pool *pool, const struct batch_ops *ops, void *ctx,
                            int max_inflight, size_t max_items);
void batcher_free(struct batcher *b);

/*
 * Queue item. Returns -1 (item not taken) when the database is unavailable:
 * answer 503 at once.
 */
int batch_add(struct batcher *b, struct batch_item *item);

/* Put items back at the head of the queue, to run again (after a deadlock). */
void batch_retry(struct batcher *b, struct batch_item **items, size_t n);

/* Items waiting or running. */
size_t batch_pending(const struct batcher *b);

/* Array parameters built by hand (the scan writer): new, add values, finish, free. */
struct batch_params *batch_params_new(void);
/* Close the arrays and point values[0..ncols) at them; -1 if memory ran out. */
int batch_params_finish(struct batch_params *bp, int ncols, const char **values);
void batch_params_free(struct batch_params *bp);

/* Column values: a NULL str is SQL NULL; strings are quoted and escaped. */
void batch_param_str(struct batch_params *bp, int col, const char *str);
void batch_param_int(struct batch_params *bp, int col, long long v);
void batch_param_uint(struct batch_params *bp, int col, unsigned long long v);

#endif
