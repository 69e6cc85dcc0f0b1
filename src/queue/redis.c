#include "queue/redis.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "core/errmsg.h"
#include "core/perthread.h"

#define REDIS_CONNECT_TIMEOUT_MS 2000
#define REDIS_DEFAULT_TIMEOUT_MS 5000

static redis_target_t redis_target;

static void free_ctx(void *p)
{
    redisFree(p);
}

static perthread_t thread_ctxs = PERTHREAD_INIT(free_ctx);

int redis_parse_url(const char *url, redis_target_t *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    out->port = 6379;
    if (!strncmp(url, "unix://", 7)) {
        const char *path = url + 7;
        size_t n = strcspn(path, "?");
        if (n == 0 || n >= sizeof out->socket_path)
            return errmsg_fail(err, err_len, "REDIS_URL: bad socket path");
        memcpy(out->socket_path, path, n);
        const char *q = strstr(path + n, "db=");
        if (q)
            out->db = atoi(q + 3);
        return 0;
    }
    if (strncmp(url, "redis://", 8) != 0)
        return errmsg_fail(err, err_len, "REDIS_URL must start with redis:// or unix://");
    const char *p = url + 8;
    const char *at = strchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        size_t n = (size_t)(at - pw);
        if (n >= sizeof out->password)
            return errmsg_fail(err, err_len, "REDIS_URL: password too long");
        memcpy(out->password, pw, n);
        p = at + 1;
    }
    size_t hn = strcspn(p, ":/");
    if (hn == 0 || hn >= sizeof out->host)
        return errmsg_fail(err, err_len, "REDIS_URL: missing host");
    memcpy(out->host, p, hn);
    p += hn;
    if (*p == ':') {
        out->port = atoi(p + 1);
        if (out->port <= 0 || out->port > 65535)
            return errmsg_fail(err, err_len, "REDIS_URL: bad port");
        p += 1 + strspn(p + 1, "0123456789");
    }
    if (*p == '/' && p[1])
        out->db = atoi(p + 1);
    return 0;
}

void redis_configure(const redis_target_t *target)
{
    redis_target = *target;
}

redisContext *redis_open(int timeout_ms, char *err, size_t err_len)
{
    struct timeval ct = {REDIS_CONNECT_TIMEOUT_MS / 1000, (REDIS_CONNECT_TIMEOUT_MS % 1000) * 1000};
    redisContext *c = redis_target.socket_path[0]
                          ? redisConnectUnixWithTimeout(redis_target.socket_path, ct)
                          : redisConnectWithTimeout(redis_target.host, redis_target.port, ct);
    if (!c || c->err) {
        errmsg_fail(err, err_len, "cannot connect to Redis: %s", c ? c->errstr : "out of memory");
        redisFree(c);
        return NULL;
    }
    if (timeout_ms > 0) {
        struct timeval rt = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        redisSetTimeout(c, rt);
    }
    if (redis_target.password[0]) {
        redisReply *r = redisCommand(c, "AUTH %s", redis_target.password);
        bool ok = r && r->type != REDIS_REPLY_ERROR;
        freeReplyObject(r);
        if (!ok) {
            errmsg_fail(err, err_len, "Redis AUTH failed");
            redisFree(c);
            return NULL;
        }
    }
    if (redis_target.db) {
        redisReply *r = redisCommand(c, "SELECT %d", redis_target.db);
        bool ok = r && r->type != REDIS_REPLY_ERROR;
        freeReplyObject(r);
        if (!ok) {
            errmsg_fail(err, err_len, "Redis SELECT %d failed", redis_target.db);
            redisFree(c);
            return NULL;
        }
    }
    return c;
}

redisContext *redis_thread(void)
{
    redisContext *c = perthread_get(&thread_ctxs);
    if (c)
        return c;
    char err[ERRMSG_LEN];
    c = redis_open(REDIS_DEFAULT_TIMEOUT_MS, err, sizeof err);
    if (c)
        perthread_set(&thread_ctxs, c);
    return c;
}

/* Drops this thread's broken context so the next call reconnects. */
static void drop_thread_ctx(void)
{
    perthread_set(&thread_ctxs, NULL);
}

/* NULL + err for a missing reply (I/O error, c->err set) or an error reply (freed). */
static redisReply *reply_or_error(redisContext *c, redisReply *r, char *err, size_t err_len)
{
    if (!r) {
        errmsg_fail(err, err_len, "Redis: %s", c->errstr[0] ? c->errstr : "connection lost");
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        errmsg_fail(err, err_len, "Redis: %s", r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

redisReply *redis_ctx_argv(redisContext *c, int argc, const char **argv, const size_t *lens, char *err,
                           size_t err_len)
{
    return reply_or_error(c, redisCommandArgv(c, argc, argv, lens), err, err_len);
}

static redisReply *check_reply(redisContext *c, redisReply *r, char *err, size_t err_len)
{
    redisReply *out = reply_or_error(c, r, err, err_len);
    if (!r)
        drop_thread_ctx();
    return out;
}

/* A context that broke (e.g. Redis restarted) is replaced and the command retried once;
 * duplicates are harmless for our commands (queue claims are arbitrated by Postgres). */
redisReply *redis_cmd(char *err, size_t err_len, const char *fmt, ...)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        redisContext *c = redis_thread();
        if (!c) {
            errmsg_fail(err, err_len, "Redis is unreachable");
            return NULL;
        }
        va_list ap;
        va_start(ap, fmt);
        redisReply *r = redisvCommand(c, fmt, ap);
        va_end(ap);
        if (r || attempt == 1)
            return check_reply(c, r, err, err_len);
        drop_thread_ctx();
    }
    return NULL;
}

redisReply *redis_cmd_argv(int argc, const char **argv, const size_t *lens, char *err, size_t err_len)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        redisContext *c = redis_thread();
        if (!c) {
            errmsg_fail(err, err_len, "Redis is unreachable");
            return NULL;
        }
        redisReply *r = redisCommandArgv(c, argc, argv, lens);
        if (r || attempt == 1)
            return check_reply(c, r, err, err_len);
        drop_thread_ctx();
    }
    return NULL;
}

bool redis_ping(char *err, size_t err_len)
{
    redisReply *r = redis_cmd(err, err_len, "PING");
    freeReplyObject(r);
    return r != NULL;
}
