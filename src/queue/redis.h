/*
 * redis — per-thread Redis connections from REDIS_URL, with reconnect.
 *
 * REDIS_URL forms: redis://[:password@]host[:port][/db] and unix:///path/to/socket[?db=N].
 * redis_thread() gives this thread's context (connecting on first use, reconnecting after an
 * I/O error); a context is never shared between threads (hiredis is not thread-safe).
 * redis_cmd() wraps redisCommand: on an I/O error it frees the broken context so the next
 * call reconnects, and returns NULL.
 * Memory: replies are freed by the caller with freeReplyObject().
 */
#ifndef CRAFTKIT_QUEUE_REDIS_H
#define CRAFTKIT_QUEUE_REDIS_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct redis_target {
    char host[256];
    int port;
    char socket_path[512]; /* non-empty for unix:// */
    char password[256];
    int db;
} redis_target_t;

/* Parses a REDIS_URL. 0 or -1 + err. */
int redis_parse_url(const char *url, redis_target_t *out, char *err, size_t err_len);
/* Sets the target used by redis_thread() (call once at start-up). */
void redis_configure(const redis_target_t *target);
/* Opens a private connection with the given read timeout in ms (0 = none). NULL + err. */
redisContext *redis_open(int timeout_ms, char *err, size_t err_len);
/* This thread's connection, or NULL when Redis is unreachable. */
redisContext *redis_thread(void);
/* Runs a command on this thread's connection; NULL on connection failure or error reply
 * (err filled). */
redisReply *redis_cmd(char *err, size_t err_len, const char *fmt, ...);
/* Same, with argv form (binary-safe). */
redisReply *redis_cmd_argv(int argc, const char **argv, const size_t *lens, char *err, size_t err_len);
bool redis_ping(char *err, size_t err_len);
/* redisCommandArgv on a private context (redis_open). NULL + err on an error reply, or on an I/O
 * error, after which c->err is set and the context is unusable (the caller frees it). */
redisReply *redis_ctx_argv(redisContext *c, int argc, const char **argv, const size_t *lens, char *err,
                           size_t err_len);

#endif
