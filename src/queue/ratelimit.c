#include "queue/ratelimit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errmsg.h"
#include "queue/redis_script.h"

/*
 * KEYS[1] = bucket, ARGV = rate in millionths of a token per second, burst. Numbers cross the
 * wire as integers so no C locale can garble a decimal point. State: tokens (a real number) and
 * the server time of the last update as TIME gave it (seconds and microseconds, kept as
 * strings so no precision is lost). Refill, clamp to burst, take one if there is one, store,
 * and let the key expire once it would be full again (a missing bucket means a full one, so
 * expiry changes nothing; the extra second only keeps it visible a little longer). Returns
 * {allowed, whole tokens left, microseconds until full, microseconds until one token}.
 */
static redis_script_t bucket_script = REDIS_SCRIPT(
    "local rate = tonumber(ARGV[1]) / 1e6\n"
    "local burst = tonumber(ARGV[2])\n"
    "local now = redis.call('TIME')\n"
    "local b = redis.call('HMGET', KEYS[1], 'tokens', 's', 'us')\n"
    "local tokens, s0, us0 = tonumber(b[1]), tonumber(b[2]), tonumber(b[3])\n"
    "if tokens == nil or s0 == nil or us0 == nil then\n"
    "  tokens = burst\n"
    "else\n"
    "  local elapsed = (tonumber(now[1]) - s0) + (tonumber(now[2]) - us0) / 1e6\n"
    "  if elapsed > 0 then tokens = tokens + elapsed * rate end\n"
    "  if tokens > burst then tokens = burst end\n"
    "end\n"
    "local allowed, retry = 0, 0\n"
    "if tokens >= 1 then tokens = tokens - 1; allowed = 1 else retry = (1 - tokens) / rate end\n"
    "local reset = (burst - tokens) / rate\n"
    "redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 's', now[1], 'us', now[2])\n"
    "redis.call('PEXPIRE', KEYS[1], math.ceil(reset * 1000) + 1000)\n"
    "return {allowed, math.floor(tokens), math.ceil(reset * 1e6), math.ceil(retry * 1e6)}\n");

static bool valid_project(const char *s)
{
    size_t n = strnlen(s, RATELIMIT_PROJECT_MAX + 1);
    if (n == 0 || n > RATELIMIT_PROJECT_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_'))
            return false;
    }
    return true;
}

static int check_args(const char *project_id, double rate, int burst, char *err, size_t err_len)
{
    if (!project_id || !valid_project(project_id))
        return errmsg_fail(err, err_len, "rate limit: invalid project id");
    if (!isfinite(rate) || rate < RATELIMIT_RATE_MIN || rate > RATELIMIT_RATE_MAX)
        return errmsg_fail(err, err_len, "rate limit: rate must be %g to %g per second", RATELIMIT_RATE_MIN,
                           RATELIMIT_RATE_MAX);
    if (burst < 1 || burst > RATELIMIT_BURST_MAX)
        return errmsg_fail(err, err_len, "rate limit: burst must be 1 to %d", RATELIMIT_BURST_MAX);
    return 0;
}

static bool parse_reply(const redisReply *r, ratelimit_result_t *out)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4)
        return false;
    for (size_t i = 0; i < 4; i++)
        if (r->element[i]->type != REDIS_REPLY_INTEGER || r->element[i]->integer < 0)
            return false;
    out->allowed = r->element[0]->integer == 1;
    out->remaining = (int)r->element[1]->integer;
    out->reset_s = (double)r->element[2]->integer / 1e6;
    out->retry_after_s = (double)r->element[3]->integer / 1e6;
    return true;
}

int ratelimit_take(const char *project_id, double rate, int burst, ratelimit_result_t *out, char *err,
                   size_t err_len)
{
    if (check_args(project_id, rate, burst, err, err_len) != 0)
        return -1;
    char key[16 + RATELIMIT_PROJECT_MAX], rate_s[32], burst_s[16];
    snprintf(key, sizeof key, "ck:rl:%s", project_id);
    snprintf(rate_s, sizeof rate_s, "%lld", llround(rate * 1e6));
    snprintf(burst_s, sizeof burst_s, "%d", burst);
    const char *items[3] = {key, rate_s, burst_s};
    redisReply *r = redis_script_run(&bucket_script, NULL, 1, 2, items, NULL, err, err_len);
    if (!r)
        return -1;
    memset(out, 0, sizeof *out);
    out->limit = burst;
    bool ok = parse_reply(r, out);
    freeReplyObject(r);
    if (!ok)
        return errmsg_fail(err, err_len, "rate limit: unexpected reply from Redis");
    return 0;
}

/* Whole seconds, rounded up; the epsilon keeps 2.0000000001 (float noise) at 2. */
static int ceil_seconds(double s)
{
    if (!(s > 0))
        return 0;
    if (s > 1e9)
        return 1000000000;
    return (int)ceil(s - 1e-9);
}

void ratelimit_headers(const ratelimit_result_t *r, char limit[16], char remaining[16], char reset[16],
                       char retry_after[16])
{
    snprintf(limit, 16, "%d", r->limit);
    snprintf(remaining, 16, "%d", r->remaining);
    snprintf(reset, 16, "%d", ceil_seconds(r->reset_s));
    if (r->allowed) {
        retry_after[0] = '\0';
        return;
    }
    int retry = ceil_seconds(r->retry_after_s);
    snprintf(retry_after, 16, "%d", retry < 1 ? 1 : retry);
}
