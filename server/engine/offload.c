/*
 * offload.c: one helper thread and a bounded queue (offload.h). A job
 * travels: submitted on a worker loop -> the queue -> the helper runs it ->
 * its port's done list -> one byte on the port's pipe -> the worker loop
 * calls it back. The loops stay without locks (no evthread): only the
 * queue and the done lists are shared, under one mutex.
 */
#include "engine/offload.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"

struct job {
	void (*work)(void *arg);
	void (*done)(void *arg);
	void *arg;
	struct offload_port *port;
	struct job *next;
};

struct offload_port {
	struct offload *o;
	int fds[2]; /* the helper writes [1], the loop reads [0] */
	struct event *ev;
	struct job *done_head, *done_tail; /* under o->lock */
};

struct offload {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	int started, stopping;
	struct job *head, *tail;
	int queued, max;
};

static void *helper(void *arg)
{
	struct offload *o = arg;
	pthread_mutex_lock(&o->lock);
	for (;;) {
		while (!o->head && !o->stopping)
			pthread_cond_wait(&o->cond, &o->lock);
		if (o->stopping)
			break;
		struct job *j = o->head;
		o->head = j->next;
		if (!o->head)
			o->tail = NULL;
		o->queued--;
		pthread_mutex_unlock(&o->lock);

		j->work(j->arg);

		pthread_mutex_lock(&o->lock);
		struct offload_port *p = j->port;
		j->next = NULL;
		if (p->done_tail)
			p->done_tail->next = j;
		else
			p->done_head = j;
		p->done_tail = j;
		/* a full pipe is fine: the loop takes the whole done list per wake-up */
		ssize_t n = write(p->fds[1], "d", 1);
		(void)n;
	}
	pthread_mutex_unlock(&o->lock);
	return NULL;
}

struct offload *offload_new(int max_queued)
{
	struct offload *o = calloc(1, sizeof *o);
	if (!o)
		return NULL;
	pthread_mutex_init(&o->lock, NULL);
	pthread_cond_init(&o->cond, NULL);
	o->max = max_queued;
	if (pthread_create(&o->thread, NULL, helper, o) != 0) {
		offload_free(o);
		return NULL;
	}
	o->started = 1;
	return o;
}

/* The port's pipe is readable: call back every job done since. */
static void on_done(evutil_socket_t fd, short what, void *arg)
{
	struct offload_port *p = arg;
	char buf[64];
	(void)what;
	while (read(fd, buf, sizeof buf) > 0)
		;
	pthread_mutex_lock(&p->o->lock);
	struct job *j = p->done_head;
	p->done_head = p->done_tail = NULL;
	pthread_mutex_unlock(&p->o->lock);
	while (j) {
		struct job *next = j->next;
		j->done(j->arg);
		free(j);
		j = next;
	}
}

struct offload_port *offload_port_new(struct offload *o, struct event_base *base)
{
	struct offload_port *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->o = o;
	p->fds[0] = p->fds[1] = -1;
	if (pipe2(p->fds, O_NONBLOCK | O_CLOEXEC) < 0)
		goto fail;
	p->ev = event_new(base, p->fds[0], EV_READ | EV_PERSIST, on_done, p);
	if (!p->ev || event_add(p->ev, NULL) < 0)
		goto fail;
	return p;
fail:
	offload_port_free(p);
	return NULL;
}

int offload_submit(struct offload_port *p, void (*work)(void *arg), void (*done)(void *arg),
                   void *arg)
{
	struct offload *o = p->o;
	struct job *j = calloc(1, sizeof *j);
	if (!j)
		return -1;
	*j = (struct job){.work = work, .done = done, .arg = arg, .port = p};
	pthread_mutex_lock(&o->lock);
	if (o->stopping || o->queued >= o->max) {
		pthread_mutex_unlock(&o->lock);
		free(j);
		return -1;
	}
	if (o->tail)
		o->tail->next = j;
	else
		o->head = j;
	o->tail = j;
	o->queued++;
	pthread_cond_signal(&o->cond);
	pthread_mutex_unlock(&o->lock);
	return 0;
}

static void free_list(struct job *j)
{
	while (j) {
		struct job *next = j->next;
		free(j);
		j = next;
	}
}

void offload_free(struct offload *o)
{
	if (!o)
		return;
	pthread_mutex_lock(&o->lock);
	o->stopping = 1;
	pthread_cond_signal(&o->cond);
	pthread_mutex_unlock(&o->lock);
	if (o->started)
		pthread_join(o->thread, NULL);
	if (o->queued)
		log_warn("event=offload_dropped jobs=%d", o->queued);
	free_list(o->head);
	pthread_cond_destroy(&o->cond);
	pthread_mutex_destroy(&o->lock);
	free(o);
}

void offload_port_free(struct offload_port *p)
{
	if (!p)
		return;
	if (p->ev)
		event_free(p->ev);
	free_list(p->done_head);
	for (int i = 0; i < 2; i++)
		if (p->fds[i] >= 0)
			close(p->fds[i]);
	free(p);
}
