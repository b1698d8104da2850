/*
 * jobs.h: the background export jobs' runner (docs/api.md, "Export jobs").
 * One thread of its own with two blocking libpq connections (the COPY's,
 * and one that holds the job's advisory lock and writes its progress): it
 * never touches an event loop, so a long export delays no request.
 */
#ifndef PACKCODE_SERVER_JOBS_H
#define PACKCODE_SERVER_JOBS_H

#include <stddef.h>

struct jobs;

/*
 * Start the runner: jobs taken from the database (export_job_take of
 * sql/022_insights.sql) are written into dir (made, 0700, at the first
 * job if missing: a job that cannot write fails with the reason), looked
 * for every poll_ms and when woken. NULL on failure (with err).
 */
struct jobs *jobs_new(const char *conninfo, const char *dir, int poll_ms, char *err, size_t errlen);

/* Look for a job now (a request queued one); NULL does nothing. Any thread. */
void jobs_wake(struct jobs *j);

/* Stop: a job running is cancelled (it stays running in the database and is run again). */
void jobs_free(struct jobs *j);

#endif
