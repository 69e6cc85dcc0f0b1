#include "queue/redis_script.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/errmsg.h"
#include "queue/redis.h"

static pthread_mutex_t sha_lock = PTHREAD_MUTEX_INITIALIZER;

/* Fills s->sha once; EVALSHA needs the lowercase hex SHA-1 of the exact source. */
static int script_sha(redis_script_t *s, char *err, size_t err_len)
{
    int rc = 0;
    pthread_mutex_lock(&sha_lock);
    if (!s->sha[0]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int md_len = 0;
        if (!EVP_Digest(s->source, strlen(s->source), md, &md_len, EVP_sha1(), NULL) || md_len != 20) {
            errmsg_fail(err, err_len, "cannot hash a Redis script");
            rc = -1;
        } else {
            for (unsigned int i = 0; i < md_len; i++)
                snprintf(s->sha + 2 * i, 3, "%02x", md[i]);
        }
    }
    pthread_mutex_unlock(&sha_lock);
    return rc;
}

/* One command on c (or this thread's connection). Error replies become NULL + err; *noscript
 * tells whether that error was NOSCRIPT. */
static redisReply *exec_argv(redisContext *c, int argc, const char **argv, const size_t *lens, bool *noscript,
                             char *err, size_t err_len)
{
    redisReply *r = c ? redis_ctx_argv(c, argc, argv, lens, err, err_len)
                      : redis_cmd_argv(argc, argv, lens, err, err_len);
    *noscript = !r && strstr(err, "NOSCRIPT") != NULL;
    return r;
}

static redisReply *load_script(redis_script_t *s, redisContext *c, char *err, size_t err_len)
{
    const char *argv[3] = {"SCRIPT", "LOAD", s->source};
    size_t lens[3] = {6, 4, strlen(s->source)};
    bool unused;
    return exec_argv(c, 3, argv, lens, &unused, err, err_len);
}

redisReply *redis_script_run(redis_script_t *s, redisContext *c, int nkeys, int nargs,
                             const char *const *items, const size_t *lens, char *err, size_t err_len)
{
    if (nkeys < 0 || nargs < 0 || nkeys + nargs > REDIS_SCRIPT_MAX_ARGS) {
        errmsg_fail(err, err_len, "Redis script: too many keys/arguments (max %d)", REDIS_SCRIPT_MAX_ARGS);
        return NULL;
    }
    if (script_sha(s, err, err_len) != 0)
        return NULL;
    const char *argv[REDIS_SCRIPT_MAX_ARGS + 3];
    size_t argl[REDIS_SCRIPT_MAX_ARGS + 3];
    char nkeys_str[16];
    snprintf(nkeys_str, sizeof nkeys_str, "%d", nkeys);
    argv[0] = "EVALSHA";
    argv[1] = s->sha;
    argv[2] = nkeys_str;
    int argc = 3;
    for (int i = 0; i < nkeys + nargs; i++, argc++) {
        argv[argc] = items[i];
        argl[argc] = lens ? lens[i] : strlen(items[i]);
    }
    for (int i = 0; i < 3; i++)
        argl[i] = strlen(argv[i]);

    bool noscript;
    redisReply *r = exec_argv(c, argc, argv, argl, &noscript, err, err_len);
    if (r || !noscript)
        return r;
    redisReply *loaded = load_script(s, c, err, err_len);
    if (!loaded)
        return NULL;
    freeReplyObject(loaded);
    return exec_argv(c, argc, argv, argl, &noscript, err, err_len);
}
