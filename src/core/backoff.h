/*
 * backoff — retry delays: exponential with full-range jitter, so that retries of many failed
 * jobs spread out instead of arriving together.
 * Threads: any (the jitter comes from the kernel CSPRNG). Memory: none.
 */
#ifndef CRAFTKIT_CORE_BACKOFF_H
#define CRAFTKIT_CORE_BACKOFF_H

/* Delay before the next attempt after failed_attempts failures: base_ms * 2^(failed_attempts-1),
 * at most max_ms, then jittered to 50-150 % (and never below 1 ms). */
int backoff_delay_ms(int base_ms, int failed_attempts, int max_ms);

#endif
