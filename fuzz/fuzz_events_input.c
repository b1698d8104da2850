/*
 * fuzz_events_input.c: libFuzzer target for the EPCIS events' query string
 * (server/handlers/events_input.c): from, to, batch and kind.
 *
 * Beyond "does not crash": a query accepted holds times that the time
 * check accepts on their own (or none), a batch of digits only not
 * starting with 0 (or none), and kinds of [a-z_,] only.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/events.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_events_input: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], *q = malloc(size + 1);
	struct events_in in;
	if (!q)
		return 0;
	memcpy(q, data, size);
	q[size] = '\0';
	if (events_decode_query(q, &in, err, sizeof err) == 0) {
		check(!in.from[0] || export_time_check(in.from) == 0, "a from accepted unchecked");
		check(!in.to[0] || export_time_check(in.to) == 0, "a to accepted unchecked");
		check(!in.batch[0] || (in.batch[0] != '0' &&
		                       strspn(in.batch, "0123456789") == strlen(in.batch)),
		      "a batch accepted that is no number");
		check(strspn(in.kinds, "abcdefghijklmnopqrstuvwxyz_,") == strlen(in.kinds),
		      "a kind accepted outside [a-z_]");
	}
	free(q);
	return 0;
}
