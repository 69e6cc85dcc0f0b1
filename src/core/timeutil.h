/*
 * timeutil — clocks and ISO-8601 formatting.
 * Threads: any. Memory: caller-provided buffers only.
 */
#ifndef CRAFTKIT_CORE_TIMEUTIL_H
#define CRAFTKIT_CORE_TIMEUTIL_H

#include <stdint.h>

#define TIME_ISO_LEN 24 /* 2026-06-05T10:00:00.000Z */

/* Wall clock, Unix milliseconds. */
int64_t time_now_ms(void);
/* Monotonic clock, milliseconds (for durations and deadlines). */
int64_t time_mono_ms(void);
/* Formats Unix milliseconds as 2026-06-05T10:00:00.000Z. */
void time_format_iso(int64_t unix_ms, char out[TIME_ISO_LEN + 1]);
/* Sleeps for ms milliseconds (restarts on EINTR). */
void time_sleep_ms(int64_t ms);

#endif
