/*
 * clock.h: the one clock every program reads for durations, deadlines and
 * rates: CLOCK_MONOTONIC, which never jumps when the wall clock is set.
 * clock_coarse_ms() is the same clock read at the kernel tick (a few ms),
 * for per-connection timers on the hot path where a full read costs more.
 */
#ifndef PACKCODE_CLOCK_H
#define PACKCODE_CLOCK_H

#include <time.h>

static inline long long clock_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline long long clock_ms(void)
{
	return clock_us() / 1000;
}

static inline long long clock_coarse_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
