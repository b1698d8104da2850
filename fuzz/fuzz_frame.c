/*
 * fuzz_frame.c: libFuzzer target for the strict framing check
 * (server/edge/frame.c) that reads every request's raw header block.
 *
 * Beyond "does not crash": the verdict does not depend on how the bytes
 * arrive (all at once, or cut at any point the first byte chooses), the
 * bytes used are within what was fed, and a refusal names its problem.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "edge/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_frame: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *p = (const char *)data + 1;
	size_t n = size - 1, cut = n ? data[0] % (n + 1) : 0;

	struct frame a, b;
	size_t used_a, used_b, used_c = 0;
	frame_init(&a);
	enum frame_status sa = frame_feed(&a, p, n, &used_a);
	check(used_a <= n, "used more than fed");
	check((sa == FRAME_BAD) == (a.problem != FRAME_OK), "a refusal without a problem");

	frame_init(&b);
	enum frame_status sb = frame_feed(&b, p, cut, &used_b);
	if (sb == FRAME_MORE) {
		sb = frame_feed(&b, p + cut, n - cut, &used_c);
		used_b = cut + used_c;
	}
	check(sa == sb && a.problem == b.problem,
	      "the verdict depends on where the bytes were cut");
	check(sa == FRAME_MORE || used_a == used_b, "the end depends on where the bytes were cut");
	return 0;
}
