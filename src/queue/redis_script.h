/*
 * redis_script — runs server-side Lua scripts by EVALSHA, loading them on NOSCRIPT.
 *
 * A script is a static redis_script_t holding its Lua source; its SHA-1 is computed locally on
 * first use (under a lock), so the common path is one EVALSHA round trip. When the server does
 * not know the script (first use, or Redis restarted and lost its script cache) the reply is
 * NOSCRIPT: the script is sent with SCRIPT LOAD and the EVALSHA is repeated once.
 *
 * Threads: any. With c == NULL the call runs on the calling thread's connection (redis_thread(),
 * which reconnects by itself); with a private context the caller owns it and must not share it.
 * Memory: the reply belongs to the caller (freeReplyObject()).
 */
#ifndef CRAFTKIT_QUEUE_REDIS_SCRIPT_H
#define CRAFTKIT_QUEUE_REDIS_SCRIPT_H

#include <hiredis/hiredis.h>
#include <stddef.h>

/* KEYS + ARGV entries one call may pass. */
#define REDIS_SCRIPT_MAX_ARGS 96

typedef struct redis_script {
    const char *source; /* Lua source; the object must be static (it caches the SHA-1) */
    char sha[41];       /* filled on first use */
} redis_script_t;

#define REDIS_SCRIPT(src)                                                                                    \
    {                                                                                                        \
        .source = (src), .sha = ""                                                                           \
    }

/*
 * Runs the script with nkeys KEYS followed by nargs ARGV (items[0..nkeys+nargs), lengths in
 * lens, or NULL for NUL-terminated strings). Returns the reply, or NULL with err filled on an
 * error reply or a connection failure. With a private context c, a connection failure leaves
 * c->err set (the context is then unusable: the caller frees and reconnects it).
 */
redisReply *redis_script_run(redis_script_t *s, redisContext *c, int nkeys, int nargs,
                             const char *const *items, const size_t *lens, char *err, size_t err_len);

#endif
