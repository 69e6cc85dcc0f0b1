/*
 * ratelimit — per-project token bucket in Redis, shared by every craftkit instance.
 *
 * One Lua script does refill + take atomically on the server, using the server's TIME (so
 * instance clocks never matter). Bucket key: ck:rl:<project_id>, a hash {tokens, s, us} that
 * expires once it would be full again (an absent bucket is a full one), so idle projects cost
 * nothing. A bucket holds `burst` tokens and refills at `rate` tokens per second; each request
 * takes one.
 *
 * Threads: any; ratelimit_take runs on the calling thread's Redis connection (queue/redis.h).
 * Memory: nothing allocated for the caller.
 */
#ifndef CRAFTKIT_QUEUE_RATELIMIT_H
#define CRAFTKIT_QUEUE_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>

#define RATELIMIT_PROJECT_MAX 64 /* project id length (ids are UUIDs) */
#define RATELIMIT_RATE_MIN 1e-6  /* tokens per second (sent as millionths) */
#define RATELIMIT_RATE_MAX 1e6
#define RATELIMIT_BURST_MAX 1000000 /* bucket size */

typedef struct {
    bool allowed;
    int limit;            /* bucket size (burst) */
    int remaining;        /* whole tokens left after this request */
    double reset_s;       /* seconds until the bucket is full again */
    double retry_after_s; /* when !allowed: seconds until one token is available; 0 when allowed */
} ratelimit_result_t;

/*
 * Takes one token from the project's bucket (rate tokens/s, burst bucket size).
 * 0 with *out filled (allowed or not), or -1 + err on invalid arguments or a Redis error; the
 * caller decides whether to fail open.
 */
int ratelimit_take(const char *project_id, double rate, int burst, ratelimit_result_t *out, char *err,
                   size_t err_len);

/*
 * Header values for a result: RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset (whole
 * seconds, rounded up) and Retry-After (whole seconds, rounded up, at least 1; empty string when
 * the request was allowed, as the header belongs only on a 429).
 */
void ratelimit_headers(const ratelimit_result_t *r, char limit[16], char remaining[16], char reset[16],
                       char retry_after[16]);

#endif
