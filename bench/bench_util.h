/*
 * bench_util — the clocks and the comparison every benchmark program uses (header only, so
 * each bench/ program stays one file to build): monotonic wall time, this thread's CPU time
 * (what a piece of work costs apart from waiting for a shared core), and a qsort comparator
 * of doubles for medians and percentiles.
 * Threads: any. Memory: none.
 */
#ifndef CRAFTKIT_BENCH_UTIL_H
#define CRAFTKIT_BENCH_UTIL_H

#include <time.h>

/* Seconds of the monotonic clock. */
static inline double bench_wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline double bench_wall_ms(void)
{
    return bench_wall_s() * 1e3;
}

/* Milliseconds of CPU time of the calling thread. */
static inline double bench_thread_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* qsort comparator of doubles, ascending. */
static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#endif
