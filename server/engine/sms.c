/*
 * sms.c: the SMS sender (sms.h). A gateway gets one signed POST per text
 * from the worker's own outbound client; a command runs on the offload
 * thread (posix_spawn of /bin/sh -c CMD, waited for at most SMS_COMMAND_MS,
 * then killed), so neither blocks a loop. The number is logged masked.
 */
#include "engine/sms.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "engine/offload.h"
#include "engine/outbound.h"
#include "engine/webhooks.h"
#include "log.h"
#include "pii.h"
#include "server.h"

#define SMS_TIMEOUT_MS  10000
#define SMS_COMMAND_MS  10000
#define SMS_CONNECTIONS 16
#define SMS_TO_MAX      32
#define SMS_TEXT_MAX    512

extern char **environ;

struct sms {
	struct worker *w;
	struct outbound *out; /* --sms-webhook */
};

struct sms_job {
	char to[SMS_TO_MAX];
	char masked[PII_MASK_MAX + 1];
	char text[SMS_TEXT_MAX];
	const char *command;
	int status; /* the command's: exit status, or -1 */
	const char *why;
};

int sms_configured(const struct worker *w)
{
	return w->srv->cfg.sms_webhook || w->srv->cfg.sms_command;
}

struct sms *sms_new(struct worker *w)
{
	struct sms *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->w = w;
	if (w->srv->cfg.sms_webhook) {
		struct outbound_config oc = {.max_connections = SMS_CONNECTIONS,
		                             .user_agent = "packcode-sms"};
		s->out = outbound_new(w->base, &oc);
		if (!s->out) {
			free(s);
			return NULL;
		}
	}
	return s;
}

void sms_free(struct sms *s)
{
	if (!s)
		return;
	outbound_free(s->out);
	free(s);
}

static void sent(void *arg, const struct outbound_response *r)
{
	struct sms_job *j = arg;
	int ok = r->result == OUTBOUND_OK && r->status >= 200 && r->status < 300;
	if (ok)
		log_info("event=sms_sent via=webhook to=%s status=%ld ms=%lld", LOG_Q(j->masked),
		         r->status, r->duration_us / 1000);
	else
		log_warn("event=sms_failed via=webhook to=%s status=%ld error=%s", LOG_Q(j->masked),
		         r->status, LOG_Q(r->error));
	free(j);
}

/* The offload thread: run the command, wait for it with a deadline. */
static void run_command(void *arg)
{
	struct sms_job *j = arg;
	char to[SMS_TO_MAX + 32], text[SMS_TEXT_MAX + 32];
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 3, sizeof *env);
	if (!env) {
		j->status = -1;
		j->why = "out of memory";
		return;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "PACKCODE_SMS_", 13) != 0)
			env[k++] = environ[i];
	snprintf(to, sizeof to, "PACKCODE_SMS_TO=%s", j->to);
	snprintf(text, sizeof text, "PACKCODE_SMS_TEXT=%s", j->text);
	env[k++] = to;
	env[k++] = text;
	env[k] = NULL;
	char *argv[] = {(char *)"/bin/sh", (char *)"-c", (char *)j->command, NULL};
	pid_t pid;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", 0, 0);
	int e = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	if (e != 0) {
		j->status = -1;
		j->why = "cannot start the command";
		return;
	}
	long long deadline = clock_ms() + SMS_COMMAND_MS;
	int st = 0;
	for (;;) {
		pid_t got = waitpid(pid, &st, WNOHANG);
		if (got == pid)
			break;
		if (got < 0 && errno != EINTR) {
			j->status = -1;
			j->why = "lost the command";
			return;
		}
		if (clock_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			j->status = -1;
			j->why = "timed out";
			return;
		}
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	j->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	j->why = j->status == 0 ? "" : "the command failed";
}

static void command_done(void *arg)
{
	struct sms_job *j = arg;
	if (j->status == 0)
		log_info("event=sms_sent via=command to=%s", LOG_Q(j->masked));
	else
		log_warn("event=sms_failed via=command to=%s status=%d error=%s", LOG_Q(j->masked),
		         j->status, LOG_Q(j->why));
	free(j);
}

int sms_send(struct worker *w, const char *to, const char *text)
{
	const struct server_config *cfg = &w->srv->cfg;
	struct sms_job *j = calloc(1, sizeof *j);
	if (!j)
		return -1;
	snprintf(j->to, sizeof j->to, "%s", to);
	snprintf(j->text, sizeof j->text, "%s", text);
	if (pii_mask(PII_PHONE, to, j->masked, sizeof j->masked) < 0)
		snprintf(j->masked, sizeof j->masked, "?");
	if (cfg->sms_webhook && w->sms && w->sms->out) {
		char sig[WEBHOOKS_SIGNATURE_LEN + 1], hsig[WEBHOOKS_SIGNATURE_LEN + 40];
		json_t *o = json_pack("{s:s,s:s}", "to", to, "text", text);
		char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (!body ||
		    webhooks_sign(cfg->sms_secret ? cfg->sms_secret : "", (long long)time(NULL),
		                  body, strlen(body), sig, sizeof sig) < 0) {
			free(body);
			free(j);
			return -1;
		}
		snprintf(hsig, sizeof hsig, "Packcode-Signature: %s", sig);
		const char *headers[] = {"Content-Type: application/json", hsig, NULL};
		struct outbound_request req = {.url = cfg->sms_webhook,
		                               .headers = headers,
		                               .body = body,
		                               .body_len = strlen(body),
		                               .timeout_ms = SMS_TIMEOUT_MS};
		int rc = outbound_send(w->sms->out, &req, sent, j);
		free(body);
		if (rc < 0) {
			log_warn("event=sms_failed via=webhook to=%s error=\"cannot start\"",
			         LOG_Q(j->masked));
			free(j);
		}
		return rc;
	}
	if (cfg->sms_command) {
		j->command = cfg->sms_command;
		if (offload_submit(w->offload, run_command, command_done, j) < 0) {
			log_warn("event=sms_failed via=command to=%s error=busy", LOG_Q(j->masked));
			free(j);
			return -1;
		}
		return 0;
	}
	free(j);
	log_warn("event=sms_failed error=\"no sender: --sms-webhook or --sms-command\"");
	return -1;
}
