/*
 * events_input.c: the EPCIS events' query decoded and checked (events.h),
 * pure: no I/O, fuzzed (fuzz/fuzz_events_input.c).
 */
#include "handlers/events.h"

#include <stdio.h>
#include <string.h>

static int kinds_ok(const char *s)
{
	size_t run = 0;
	for (const char *p = s;; p++) {
		if (*p == ',' || *p == '\0') {
			if (run == 0 || run > 32)
				return 0;
			if (*p == '\0')
				return 1;
			run = 0;
		} else if ((*p >= 'a' && *p <= 'z') || *p == '_') {
			run++;
		} else {
			return 0;
		}
	}
}

int events_decode_query(const char *query, struct events_in *out, char *err, size_t errlen)
{
	size_t len = strlen(query);
	memset(out, 0, sizeof *out);
	int has_from = http_form_field(query, len, "from", out->from, sizeof out->from);
	int has_to = http_form_field(query, len, "to", out->to, sizeof out->to);
	int has_batch = http_form_field(query, len, "batch", out->batch, sizeof out->batch);
	int has_kind = http_form_field(query, len, "kind", out->kinds, sizeof out->kinds);
	/* "+08:00" unescaped in a query reads as " 08:00": take it as meant */
	for (char *t = out->from; t; t = t == out->from ? out->to : NULL) {
		size_t n = strlen(t);
		if (n > 16 && t[n - 6] == ' ')
			t[n - 6] = '+';
	}
	if (has_from < 0 || has_to < 0 || (has_from > 0 && export_time_check(out->from) < 0) ||
	    (has_to > 0 && export_time_check(out->to) < 0)) {
		snprintf(
		    err, errlen,
		    "from and to are a date (2026-12-01, midnight UTC) or an RFC 3339 time with "
		    "its offset (2026-12-01T08:00:00+08:00)");
		return -1;
	}
	if (has_from <= 0)
		out->from[0] = '\0';
	if (has_to <= 0)
		out->to[0] = '\0';
	size_t nb = has_batch > 0 ? strlen(out->batch) : 0;
	if (has_batch < 0 || (has_batch > 0 && (nb == 0 || nb > 18 || out->batch[0] == '0' ||
	                                        strspn(out->batch, "0123456789") != nb))) {
		snprintf(err, errlen, "batch is a batch number");
		return -1;
	}
	if (has_batch <= 0)
		out->batch[0] = '\0';
	if (has_kind < 0 || (has_kind > 0 && !kinds_ok(out->kinds))) {
		snprintf(
		    err, errlen,
		    "kind is a comma-separated list of event kinds (commissioning, activation, "
		    "state, expiry, packing, shipping, receiving, scan) or all");
		return -1;
	}
	if (has_kind <= 0)
		out->kinds[0] = '\0';
	return 0;
}
