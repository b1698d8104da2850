/*
 * fuzz_export_input.c: libFuzzer target for what an export and an alert
 * rule take from outside (server/handlers/export_input.c, alerts_input.c):
 * an export's query string (from, to, format) and its times, a background
 * job's JSON body (the same bytes), and an alert
 * rule's JSON body. The first byte picks which.
 *
 * Beyond "does not crash": a query accepted holds two times that the time
 * check accepts on their own, each within EXPORT_TIME_MAX; a rule accepted
 * meets alert_rules' CHECK constraints (kind, threshold, window).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/alerts.h"
#include "handlers/export.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_export_input: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		struct alert_rule_in in;
		if (alert_rule_decode((const char *)data + 1, size - 1, &in, err, sizeof err) ==
		    ADMIN_DECODE_OK) {
			check(!strcmp(in.kind, "scanners") || !strcmp(in.kind, "not_genuine") ||
			          !strcmp(in.kind, "travel"),
			      "a kind accepted that alert_rules refuses");
			check(in.threshold >= 1 && in.threshold <= ALERT_THRESHOLD_MAX,
			      "a threshold out of range");
			check(in.window_s >= ALERT_WINDOW_MIN_S &&
			          in.window_s <= ALERT_WINDOW_MAX_S,
			      "a window out of range");
		}
		return 0;
	}
	char *q = malloc(size);
	check(q != NULL, "out of memory");
	memcpy(q, data + 1, size - 1);
	q[size - 1] = '\0';
	struct export_in in;
	if (export_decode_query(q, &in, err, sizeof err) == 0) {
		check(strlen(in.from) <= EXPORT_TIME_MAX && strlen(in.to) <= EXPORT_TIME_MAX,
		      "a time too long");
		check(export_time_check(in.from) == 0 && export_time_check(in.to) == 0,
		      "a time accepted in a query but not alone");
		check(in.format == EXPORT_CSV || in.format == EXPORT_JSONL, "a format");
	}
	export_time_check(q);
	if (export_job_decode(q, size - 1, &in, err, sizeof err) == 0) /* a job's body */
		check(export_time_check(in.from) == 0 && export_time_check(in.to) == 0,
		      "a job's time accepted but not alone");
	free(q);
	return 0;
}
