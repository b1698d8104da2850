/*
 * jobs.c: the background export jobs' runner (jobs.h). A job is taken
 * under a session advisory lock held by the control connection, so a
 * server that dies lets go of it and another run (or the next start) takes
 * it again; its file is written as NAME.part and renamed once whole, so a
 * download never sees half a file. Rows are counted first (rows_total),
 * then progress is written four times a second while the COPY streams.
 */
#include "engine/jobs.h"

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "statements.h"

#define PROGRESS_MS 250 /* progress written this often while a job runs */

struct jobs {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop, woken, started;
	int poll_ms;
	char *conninfo, *dir;
	PGconn *ctl, *data;
	PGcancel *cancel; /* the data connection's, while a COPY runs (under mu) */
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A connection ready for the jobs' statements, or NULL (logged). */
static PGconn *connect_db(const char *conninfo)
{
	PGconn *c = PQconnectdb(conninfo);
	if (PQstatus(c) != CONNECTION_OK) {
		log_warn("event=export_jobs_connect_failed reason=%s", LOG_Q(PQerrorMessage(c)));
		PQfinish(c);
		return NULL;
	}
	PGresult *r = PQexec(c, STATEMENTS_JOBS_SETUP);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	PQclear(r);
	if (!ok) {
		log_warn("event=export_jobs_setup_failed reason=%s", LOG_Q(PQerrorMessage(c)));
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* Run a prepared statement on the control connection: 0 or -1. */
static int ctl_exec(struct jobs *j, const char *stmt, int n, const char *const *values)
{
	PGresult *r = PQexecPrepared(j->ctl, stmt, n, values, NULL, NULL, 0);
	int ok = PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		log_warn("event=export_job_statement_failed statement=%s reason=%s", stmt,
		         LOG_Q(PQerrorMessage(j->ctl)));
	PQclear(r);
	return ok ? 0 : -1;
}

static void progress(struct jobs *j, const char *id, long long rows, long long total)
{
	char r[24], t[24];
	snprintf(r, sizeof r, "%lld", rows);
	snprintf(t, sizeof t, "%lld", total);
	const char *v[] = {id, r, total >= 0 ? t : NULL};
	ctl_exec(j, "export_job_progress", 3, v);
}

static void finish(struct jobs *j, const char *id, const char *status, long long rows,
                   const char *file, const char *error)
{
	char r[24];
	snprintf(r, sizeof r, "%lld", rows < 0 ? 0 : rows);
	const char *v[] = {id, status, r, file, error};
	ctl_exec(j, "export_job_finish", 5, v);
	log_info("event=export_job status=%s export=%s rows=%lld file=%s error=%s", status, id,
	         rows, LOG_Q(file ? file : ""), LOG_Q(error ? error : ""));
}

/*
 * Run the job taken (id, format, copy, count): done or failed, recorded.
 * -1 when the data connection broke (the job is failed; it reconnects).
 */
static int run(struct jobs *j, const char *id, const char *format, const char *copy,
               const char *count)
{
	char file[64], path[4096], part[4200], err[300] = "";
	long long rows = 0, total = -1, messages = 0;
	int csv = strcmp(format, "csv") == 0, fd = -1, broken = 0;
	snprintf(file, sizeof file, "export-%s.%s", id, csv ? "csv" : "jsonl");
	snprintf(path, sizeof path, "%s/%s", j->dir, file);
	snprintf(part, sizeof part, "%s.part", path);

	pthread_mutex_lock(&j->mu);
	j->cancel = PQgetCancel(j->data);
	pthread_mutex_unlock(&j->mu);
	PGresult *r = PQexec(j->data, count);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		total = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	else
		snprintf(err, sizeof err, "counting its rows failed: %s", PQerrorMessage(j->data));
	PQclear(r);
	if (err[0])
		goto fail;
	progress(j, id, 0, total);

	/* made at the first job, not at start: a server that never runs one makes nothing */
	if (mkdir(j->dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, sizeof err, "cannot make --export-dir: %s", strerror(errno));
		goto fail;
	}
	fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, sizeof err, "cannot write %s: %s", file, strerror(errno));
		goto fail;
	}
	r = PQexec(j->data, copy);
	if (PQresultStatus(r) != PGRES_COPY_OUT) {
		snprintf(err, sizeof err, "the export failed: %s", PQerrorMessage(j->data));
		PQclear(r);
		goto fail;
	}
	PQclear(r);
	long long last = now_ms();
	char *buf;
	int n;
	while ((n = PQgetCopyData(j->data, &buf, 0)) > 0) {
		ssize_t w = 0;
		for (int off = 0; off < n && w >= 0; off += (int)w)
			w = write(fd, buf + off, (size_t)(n - off));
		PQfreemem(buf);
		if (w < 0) {
			snprintf(err, sizeof err, "writing %s: %s", file, strerror(errno));
			PQrequestCancel(j->data);
			while ((n = PQgetCopyData(j->data, &buf, 0)) > 0)
				PQfreemem(buf);
			break;
		}
		messages++;
		rows = csv ? messages - 1 : messages; /* a CSV's first line is its header */
		if (now_ms() - last >= PROGRESS_MS) {
			progress(j, id, rows, -1);
			last = now_ms();
		}
	}
	while ((r = PQgetResult(j->data))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && !err[0])
			snprintf(err, sizeof err, "the export failed: %s", PQerrorMessage(j->data));
		PQclear(r);
	}
	if (err[0])
		goto fail;
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		snprintf(err, sizeof err, "writing %s: %s", file, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(part, path) < 0) {
		snprintf(err, sizeof err, "renaming %s: %s", file, strerror(errno));
		goto fail;
	}
	finish(j, id, "done", rows, file, NULL);
	goto out;
fail:
	if (fd >= 0)
		close(fd);
	unlink(part);
	broken = PQstatus(j->data) != CONNECTION_OK;
	pthread_mutex_lock(&j->mu);
	int stopping = j->stop;
	pthread_mutex_unlock(&j->mu);
	if (stopping) /* cancelled by jobs_free: left running, run again later */
		log_info("event=export_job_interrupted export=%s", id);
	else
		finish(j, id, "failed", rows, NULL, err);
out:
	pthread_mutex_lock(&j->mu);
	PQfreeCancel(j->cancel);
	j->cancel = NULL;
	pthread_mutex_unlock(&j->mu);
	return broken ? -1 : 0;
}

/* Take one job and run it: 1 if there was one, 0 if none, -1 on a database failure. */
static int take_one(struct jobs *j)
{
	if (!j->ctl && !(j->ctl = connect_db(j->conninfo)))
		return -1;
	if (!j->data && !(j->data = connect_db(j->conninfo)))
		return -1;
	PGresult *r = PQexecPrepared(j->ctl, "export_job_take", 0, NULL, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_warn("event=export_job_take_failed reason=%s", LOG_Q(PQerrorMessage(j->ctl)));
		PQclear(r);
		PQfinish(j->ctl); /* its locks go with it */
		j->ctl = NULL;
		return -1;
	}
	if (PQntuples(r) == 0) {
		PQclear(r);
		return 0;
	}
	char id[24];
	snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
	log_info("event=export_job_started export=%s", id);
	if (run(j, id, PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 3)) < 0) {
		PQfinish(j->data);
		j->data = NULL;
	}
	PQclear(r);
	return 1;
}

static void *loop(void *arg)
{
	struct jobs *j = arg;
	for (;;) {
		pthread_mutex_lock(&j->mu);
		int stop = j->stop;
		j->woken = 0;
		pthread_mutex_unlock(&j->mu);
		if (stop)
			break;
		int got = take_one(j);
		if (got == 1)
			continue;
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		long long ns = until.tv_nsec + (long long)j->poll_ms * 1000000;
		until.tv_sec += (time_t)(ns / 1000000000);
		until.tv_nsec = (long)(ns % 1000000000);
		pthread_mutex_lock(&j->mu);
		while (!j->stop && !j->woken)
			if (pthread_cond_timedwait(&j->cv, &j->mu, &until) == ETIMEDOUT)
				break;
		pthread_mutex_unlock(&j->mu);
	}
	PQfinish(j->data);
	PQfinish(j->ctl);
	return NULL;
}

struct jobs *jobs_new(const char *conninfo, const char *dir, int poll_ms, char *err, size_t errlen)
{
	struct jobs *j = calloc(1, sizeof *j);
	if (!j) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->cv, NULL);
	j->poll_ms = poll_ms;
	j->conninfo = strdup(conninfo);
	j->dir = strdup(dir);
	if (!j->conninfo || !j->dir) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (pthread_create(&j->thread, NULL, loop, j) != 0) {
		snprintf(err, errlen, "cannot start the export jobs' thread");
		goto fail;
	}
	j->started = 1;
	return j;
fail:
	jobs_free(j);
	return NULL;
}

void jobs_wake(struct jobs *j)
{
	if (!j)
		return;
	pthread_mutex_lock(&j->mu);
	j->woken = 1;
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->mu);
}

void jobs_free(struct jobs *j)
{
	if (!j)
		return;
	if (j->started) {
		char err[256];
		pthread_mutex_lock(&j->mu);
		j->stop = 1;
		if (j->cancel)
			PQcancel(j->cancel, err, sizeof err);
		pthread_cond_signal(&j->cv);
		pthread_mutex_unlock(&j->mu);
		pthread_join(j->thread, NULL);
	}
	pthread_mutex_destroy(&j->mu);
	pthread_cond_destroy(&j->cv);
	free(j->conninfo);
	free(j->dir);
	free(j);
}
