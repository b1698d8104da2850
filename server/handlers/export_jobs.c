/*
 * export_jobs.c: the admin API's background exports (insights.h). A POST
 * queues a job (an exports row, audited); the server's job runner
 * (engine/jobs.c) runs it off the request path into a file of --export-dir,
 * writing its progress as it goes; the list and one job read that row; the
 * download streams the file from the kernel (evbuffer_add_file: memory
 * stays flat whatever its size) and is audited (export.download).
 */
#include <errno.h>
#include <event2/buffer.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edge/http.h"
#include "engine/jobs.h"
#include "engine/tokens.h"
#include "handlers/export.h"
#include "handlers/insights.h"
#include "log.h"
#include "scope.h"
#include "server.h"

#define BRANDS_PARAM_MAX (TOKENS_BRANDS_MAX * 21 + 3)

struct job_req {
	struct request *r;
	struct export_in in;
	char tok[24], id[24];
};

static int failed(struct job_req *j, const struct pool_result *res)
{
	if (res->status == POOL_OK)
		return 0;
	if (res->status == POOL_UNAVAILABLE) {
		http_reply_error(j->r, 503, "unavailable", "database unavailable, try again");
	} else if (strcmp(res->sqlstate, "23514") == 0) {
		http_reply_error(j->r, 400, "bad_request", "from must be before to");
	} else {
		log_error("event=admin_query_failed route=%s actor=%s sqlstate=%s message=%s",
		          http_route_id(j->r), LOG_Q(j->r->admin.name), res->sqlstate,
		          LOG_Q(res->message));
		http_reply_error(j->r, 500, "internal", "the request failed");
	}
	free(j);
	return 1;
}

static void submit(struct job_req *j, struct pool_query *q, pool_cb cb)
{
	if (pool_submit(j->r->w->pool, q, cb, j) < 0) {
		http_reply_error(j->r, 503, "unavailable", "database unavailable, try again");
		free(j);
	}
}

static void queued(void *arg, const struct pool_result *res)
{
	struct job_req *j = arg;
	if (failed(j, res))
		return;
	long long id = strtoll(PQgetvalue(res->res, 0, 0), NULL, 10);
	char href[64];
	snprintf(href, sizeof href, "/api/v1/admin/export-jobs/%lld", id);
	log_info("event=export_job_queued export=%lld actor=%s kind=%s", id,
	         LOG_Q(j->r->admin.name), export_kind_name(j->in.kind));
	jobs_wake(j->r->w->srv->jobs);
	http_header(j->r, "Location", href);
	http_reply_json(
	    j->r, 202,
	    json_pack("{s:I,s:s,s:s}", "job", (json_int_t)id, "state", "queued", "href", href));
	free(j);
}

void admin_route_export_job_add(struct request *r)
{
	char err[256];
	size_t len;
	const char *body = http_body(r, "application/json", &len);
	if (!body)
		return;
	struct job_req *j = calloc(1, sizeof *j);
	if (!j) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	j->r = r;
	if (export_job_decode(body, len, &j->in, err, sizeof err) < 0) {
		http_reply_error(r, 400, "bad_request", err);
		free(j);
		return;
	}
	snprintf(j->tok, sizeof j->tok, "%lld", r->admin.id);
	struct pool_query q = {.stmt = "admin_export_job_add",
	                       .nparams = 7,
	                       .values = {j->tok, http_client_inet(r), export_kind_name(j->in.kind),
	                                  export_format_name(j->in.format), j->in.from, j->in.to,
	                                  (r->admin.scopes & SCOPE_PII) ? "true" : "false"}};
	submit(j, &q, queued);
}

void admin_route_export_jobs(struct request *r)
{
	char brands[BRANDS_PARAM_MAX];
	const char *v[] = {tokens_brands_param(&r->admin, brands, sizeof brands)};
	insights_json_call(r, "admin_export_jobs", 1, v, NULL, NULL);
}

/* The {id} capture as a number: 0, or -1 (answered 404). */
static int job_id(struct request *r, char *out, size_t outlen)
{
	const struct route_capture *c = &r->cap[0];
	if (c->len < 1 || c->len > 18 || strspn(c->s, "0123456789") < c->len) {
		http_reply_error(r, 404, "unknown_job", "no such export job");
		return -1;
	}
	snprintf(out, outlen, "%.*s", (int)c->len, c->s);
	return 0;
}

void admin_route_export_job(struct request *r)
{
	char brands[BRANDS_PARAM_MAX], id[24];
	if (job_id(r, id, sizeof id) < 0)
		return;
	const char *v[] = {id, tokens_brands_param(&r->admin, brands, sizeof brands)};
	insights_json_call(r, "admin_export_job", 2, v, "unknown_job", "no such export job");
}

/* file, format, kind: the file sent as an attachment */
static void download(void *arg, const struct pool_result *res)
{
	struct job_req *j = arg;
	struct request *r = j->r;
	if (failed(j, res))
		return;
	if (PQntuples(res->res) != 1 || PQgetisnull(res->res, 0, 0)) {
		http_reply_error(r, 404, "unknown_job", "no such export job, or not done yet");
		free(j);
		return;
	}
	const char *file = PQgetvalue(res->res, 0, 0);
	int jsonl = strcmp(PQgetvalue(res->res, 0, 1), "jsonl") == 0;
	char path[4096], disp[256];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", r->w->srv->cfg.export_dir, file);
	int fd = strchr(file, '/') ? -1 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		log_error("event=export_job_file_missing export=%s path=%s reason=%s", j->id,
		          LOG_Q(path), LOG_Q(strerror(errno)));
		if (fd >= 0)
			close(fd);
		http_reply_error(r, 410, "gone", "the export's file is no longer there");
		free(j);
		return;
	}
	struct evbuffer *b = evbuffer_new();
	if (!b || (st.st_size > 0 && evbuffer_add_file(b, fd, 0, st.st_size) < 0)) {
		if (b)
			evbuffer_free(b);
		else
			close(fd);
		http_reply_error(r, 503, "unavailable", "out of memory");
		free(j);
		return;
	}
	if (st.st_size == 0)
		close(fd);
	snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", file);
	http_header(r, "Content-Disposition", disp);
	http_reply_text(r, 200, jsonl ? "application/jsonl" : "text/csv; charset=utf-8", b);
	evbuffer_free(b);
	free(j);
}

void admin_route_export_job_download(struct request *r)
{
	struct job_req *j = calloc(1, sizeof *j);
	if (!j) {
		http_reply_error(r, 503, "unavailable", "out of memory");
		return;
	}
	j->r = r;
	if (job_id(r, j->id, sizeof j->id) < 0) {
		free(j);
		return;
	}
	snprintf(j->tok, sizeof j->tok, "%lld", r->admin.id);
	struct pool_query q = {.stmt = "admin_export_job_download",
	                       .nparams = 3,
	                       .values = {j->tok, http_client_inet(r), j->id}};
	submit(j, &q, download);
}
