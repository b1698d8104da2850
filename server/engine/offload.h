/*
 * offload.h: work that would block an event loop (argon2id: a tenth of a
 * second and 64 MiB on purpose) done on one helper thread, its completion
 * handed back to the loop that asked. The queue is short and bounded: a
 * flood of sign-ins is refused (503) rather than queued, and can take at
 * most the helper's core, never a worker's loop.
 *
 * Each worker loop has a port (a pipe watched by its loop); a job's done
 * callback runs there. Order of teardown: offload_free (joins the helper)
 * before any offload_port_free.
 */
#ifndef PACKCODE_SERVER_OFFLOAD_H
#define PACKCODE_SERVER_OFFLOAD_H

#include <event2/event.h>

struct offload;
struct offload_port;

/* Start the helper thread; at most max_queued jobs wait. NULL if it cannot. */
struct offload *offload_new(int max_queued);
/* A port on base's loop (call from the thread that will run base). NULL on failure. */
struct offload_port *offload_port_new(struct offload *o, struct event_base *base);

/*
 * Run work(arg) on the helper thread, then done(arg) on p's loop. 0, or -1
 * (the queue is full, or stopping): then neither is called.
 */
int offload_submit(struct offload_port *p, void (*work)(void *arg), void (*done)(void *arg),
                   void *arg);

/*
 * Stop: the job running finishes, jobs still queued are dropped without
 * their callbacks (shutdown only). Joins the helper. NULL is fine.
 */
void offload_free(struct offload *o);
/* After offload_free; jobs done but not yet called back are dropped. NULL is fine. */
void offload_port_free(struct offload_port *p);

#endif
