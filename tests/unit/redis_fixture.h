/*
 * redis_fixture — a private redis-server for unit tests (header-only; include from one test).
 *
 * rf_start() runs `redis-server --port 0 --unixsocket DIR/redis.sock --save '' --appendonly no`
 * in a fresh temp dir and waits until it answers PING. The server gets PR_SET_PDEATHSIG, so it
 * dies with the process that started it even if that process is killed; rf_stop() kills it and
 * removes the dir. rf_main_start() starts the one shared server of a test binary from main(),
 * points queue/redis.h at it and stops it at exit (only in the starting process: Check's forked
 * test children run atexit handlers too). It also ignores SIGPIPE, as craftkit serve does.
 * Threads: call from the test's main thread only.
 */
#ifndef CRAFTKIT_TEST_REDIS_FIXTURE_H
#define CRAFTKIT_TEST_REDIS_FIXTURE_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "queue/redis.h"

#define RF_FN static __attribute__((unused))

typedef struct rf_redis {
    pid_t pid;   /* 0 when not running */
    pid_t owner; /* process that started it */
    char dir[256];
    char sock[320];
} rf_redis_t;

RF_FN void rf_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

RF_FN long rf_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

RF_FN bool rf_ping(const char *sock)
{
    redisContext *c = redisConnectUnix(sock);
    bool ok = false;
    if (c && !c->err) {
        redisReply *r = redisCommand(c, "PING");
        ok = r && r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "PONG");
        freeReplyObject(r);
    }
    redisFree(c);
    return ok;
}

/* Starts redis-server (creating the temp dir on first use; a restart reuses dir and socket). */
RF_FN int rf_start(rf_redis_t *r)
{
    if (!r->dir[0]) {
        snprintf(r->dir, sizeof r->dir, "/tmp/craftkit-redis.XXXXXX");
        if (!mkdtemp(r->dir)) {
            perror("mkdtemp");
            r->dir[0] = '\0';
            return -1;
        }
        snprintf(r->sock, sizeof r->sock, "%s/redis.sock", r->dir);
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        char log[300];
        snprintf(log, sizeof log, "%s/redis.log", r->dir);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", r->sock, "--unixsocketperm",
               "700", "--save", "", "--appendonly", "no", "--dir", r->dir, (char *)NULL);
        _exit(127);
    }
    r->pid = pid;
    r->owner = parent;
    for (int i = 0; i < 500; i++) {
        if (rf_ping(r->sock))
            return 0;
        if (waitpid(pid, NULL, WNOHANG) == pid)
            break;
        rf_sleep_ms(20);
    }
    fprintf(stderr, "redis-server did not start (see %s/redis.log)\n", r->dir);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    r->pid = 0;
    return -1;
}

/* SIGKILL (a crash: no save, socket file left behind); dir kept for a restart. */
RF_FN void rf_kill(rf_redis_t *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGKILL);
        waitpid(r->pid, NULL, 0);
        r->pid = 0;
    }
    unlink(r->sock);
}

static int rf_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

RF_FN void rf_stop(rf_redis_t *r)
{
    rf_kill(r);
    if (r->dir[0])
        nftw(r->dir, rf_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    r->dir[0] = '\0';
}

/* Points redis_thread()/redis_open() at this server. */
RF_FN void rf_use(const rf_redis_t *r)
{
    redis_target_t t;
    memset(&t, 0, sizeof t);
    snprintf(t.socket_path, sizeof t.socket_path, "%s", r->sock);
    redis_configure(&t);
}

static rf_redis_t rf_main;

static void rf_main_cleanup(void)
{
    if (rf_main.owner == getpid())
        rf_stop(&rf_main);
}

/* For main(): one server for the whole test binary. Exits the process if it cannot start. */
RF_FN void rf_main_start(void)
{
    signal(SIGPIPE, SIG_IGN); /* as craftkit serve does: hiredis writes to sockets Redis may close */
    if (rf_start(&rf_main) != 0) {
        rf_stop(&rf_main);
        exit(1);
    }
    atexit(rf_main_cleanup);
    rf_use(&rf_main);
}

static redisReply *rf_vcmd(const char *fmt, va_list ap)
{
    redisContext *c = redis_thread();
    ck_assert_msg(c != NULL, "redis unreachable");
    redisReply *r = redisvCommand(c, fmt, ap);
    ck_assert_msg(r != NULL, "redis: %s", c->errstr);
    ck_assert_msg(r->type != REDIS_REPLY_ERROR, "redis: %s", r->str);
    return r;
}

/* Runs a command (hiredis format) on the calling thread's connection; fails the test on a
 * connection or error reply. The caller frees the reply. */
RF_FN redisReply *rf_cmd(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = rf_vcmd(fmt, ap);
    va_end(ap);
    return r;
}

/* Integer reply of a command (LLEN, EXISTS, PTTL, ...). */
RF_FN long long rf_int(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = rf_vcmd(fmt, ap);
    va_end(ap);
    ck_assert_msg(r->type == REDIS_REPLY_INTEGER, "redis: expected an integer reply (type %d)", r->type);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

RF_FN void rf_flushall(void)
{
    freeReplyObject(rf_cmd("FLUSHALL"));
}

#endif
