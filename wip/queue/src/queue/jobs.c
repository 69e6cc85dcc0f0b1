#include "queue/jobs.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "queue/redis.h"
#include "queue/redis_script.h"

#define JOBS_KEY_MAX 160
#define JOBS_WORKERS_KEY "ck:workers"
/* Queues per worker the reaper handles in one pass (more means a corrupt ck:wq set; the SCAN
 * fallback still returns those lists). */
#define JOBS_REAP_QUEUES_MAX 32

typedef struct held_job {
    char queue[JOBS_QUEUE_MAX + 1];
    char job[JOBS_ID_MAX + 1];
} held_job_t;

struct jobs_worker {
    char id[JOBS_ID_MAX + 1];
    redisContext *c;   /* private; NULL after an I/O error until the next call reconnects */
    /* lock guards queues, n_queues, ttl_s and released: jobs_heartbeat may run on another thread. */
    pthread_mutex_t lock;
    char queues[JOBS_QUEUES_MAX][JOBS_QUEUE_MAX + 1];
    int n_queues;
    int ttl_s;
    bool released;
    /* Owner thread only. */
    bool uncertain;   /* (re)connected or lost a reply: re-register and reconcile before moving jobs */
    held_job_t held[JOBS_HELD_MAX];
    int n_held;
};

/* ---- Lua scripts (all keys are passed in KEYS) ------------------------------------------- */

/* KEYS: ck:workers, ck:wq:<id>, ck:hb:<id>. ARGV: id, ttl_s, queue... */
static redis_script_t register_script = REDIS_SCRIPT(
    "redis.call('SADD', KEYS[1], ARGV[1])\n"
    "if #ARGV > 2 then redis.call('SADD', KEYS[2], unpack(ARGV, 3)) end\n"
    "redis.call('SET', KEYS[3], '1', 'EX', ARGV[2])\n"
    "return 1\n");

/* Non-blocking pass over the queues in priority order. KEYS: ready1, proc1, ready2, proc2, ...
 * Returns {pair index (1-based), job} or nil. */
static redis_script_t take_script = REDIS_SCRIPT(
    "for i = 1, #KEYS, 2 do\n"
    "  local job = redis.call('LMOVE', KEYS[i], KEYS[i + 1], 'RIGHT', 'LEFT')\n"
    "  if job then return {(i + 1) / 2, job} end\n"
    "end\n"
    "return false\n");

/* Moves a processing list back to its ready list. KEYS: ck:hb:<id>, proc, ready.
 * ARGV[1] = '1': do nothing (return -1) while the heartbeat exists (reaper).
 * ARGV[2..]: ids to keep (jobs the worker still holds), one entry per held copy.
 * Jobs land on the consuming (right) end, oldest last, so they are taken next, oldest first. */
static redis_script_t requeue_script = REDIS_SCRIPT(
    "if ARGV[1] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then return -1 end\n"
    "local n = 0\n"
    "if #ARGV < 2 then\n"
    "  while redis.call('LMOVE', KEYS[2], KEYS[3], 'LEFT', 'RIGHT') do n = n + 1 end\n"
    "  return n\n"
    "end\n"
    "local keep = {}\n"
    "for i = 2, #ARGV do keep[ARGV[i]] = (keep[ARGV[i]] or 0) + 1 end\n"
    "for _, job in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do\n"
    "  if (keep[job] or 0) > 0 then keep[job] = keep[job] - 1\n"
    "  elseif redis.call('LREM', KEYS[2], 1, job) == 1 then\n"
    "    redis.call('RPUSH', KEYS[3], job); n = n + 1\n"
    "  end\n"
    "end\n"
    "return n\n");

/* KEYS: ck:hb:<id>, ck:workers, ck:wq:<id>, proc lists... ARGV: id, guard.
 * With guard '1' (reaper) it unregisters only a worker that is dead and holds nothing. */
static redis_script_t unregister_script = REDIS_SCRIPT(
    "if ARGV[2] == '1' then\n"
    "  if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
    "  for i = 4, #KEYS do if redis.call('LLEN', KEYS[i]) > 0 then return 0 end end\n"
    "end\n"
    "redis.call('DEL', KEYS[1], KEYS[3])\n"
    "redis.call('SREM', KEYS[2], ARGV[1])\n"
    "return 1\n");

/* ---- names and keys ------------------------------------------------------------------------ */

static bool valid_chars(const char *s, size_t len, size_t max, const char *extra)
{
    if (len == 0 || len > max)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                  ch == '_' || ch == '-' || (ch != '\0' && strchr(extra, ch));
        if (!ok)
            return false;
    }
    return true;
}

static bool valid_queue_n(const char *s, size_t len)
{
    return valid_chars(s, len, JOBS_QUEUE_MAX, "");
}

static bool valid_id_n(const char *s, size_t len)
{
    return valid_chars(s, len, JOBS_ID_MAX, ".:");
}

bool jobs_valid_queue(const char *s)
{
    return s && valid_queue_n(s, strnlen(s, JOBS_QUEUE_MAX + 1));
}

bool jobs_valid_id(const char *s)
{
    return s && valid_id_n(s, strnlen(s, JOBS_ID_MAX + 1));
}

static int check_queue(const char *queue, char *err, size_t err_len)
{
    if (jobs_valid_queue(queue))
        return 0;
    snprintf(err, err_len, "invalid queue name (1-%d chars of A-Z a-z 0-9 _ -)", JOBS_QUEUE_MAX);
    return -1;
}

static int check_id(const char *what, const char *id, char *err, size_t err_len)
{
    if (jobs_valid_id(id))
        return 0;
    snprintf(err, err_len, "invalid %s (1-%d chars of A-Z a-z 0-9 . _ : -)", what, JOBS_ID_MAX);
    return -1;
}

/* Keys are built only from validated names, so they always fit JOBS_KEY_MAX. */
static void ready_key(char out[JOBS_KEY_MAX], const char *queue)
{
    snprintf(out, JOBS_KEY_MAX, "ck:q:%s", queue);
}

static void proc_key(char out[JOBS_KEY_MAX], const char *queue, const char *worker)
{
    snprintf(out, JOBS_KEY_MAX, "ck:q:%s:proc:%s", queue, worker);
}

static void hb_key(char out[JOBS_KEY_MAX], const char *worker)
{
    snprintf(out, JOBS_KEY_MAX, "ck:hb:%s", worker);
}

static void wq_key(char out[JOBS_KEY_MAX], const char *worker)
{
    snprintf(out, JOBS_KEY_MAX, "ck:wq:%s", worker);
}

static long elapsed_ms_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* ---- producer side ------------------------------------------------------------------------- */

int jobs_enqueue(const char *queue, const char *job_id, char *err, size_t err_len)
{
    if (check_queue(queue, err, err_len) != 0 || check_id("job id", job_id, err, err_len) != 0)
        return -1;
    char key[JOBS_KEY_MAX];
    ready_key(key, queue);
    const char *argv[3] = {"LPUSH", key, job_id};
    redisReply *r = redis_cmd_argv(3, argv, NULL, err, err_len);
    if (!r)
        return -1;
    freeReplyObject(r);
    return 0;
}

long jobs_queue_length(const char *queue, char *err, size_t err_len)
{
    if (check_queue(queue, err, err_len) != 0)
        return -1;
    char key[JOBS_KEY_MAX];
    ready_key(key, queue);
    const char *argv[2] = {"LLEN", key};
    redisReply *r = redis_cmd_argv(2, argv, NULL, err, err_len);
    if (!r)
        return -1;
    long n = r->type == REDIS_REPLY_INTEGER ? (long)r->integer : -1;
    if (n < 0)
        snprintf(err, err_len, "Redis: unexpected LLEN reply");
    freeReplyObject(r);
    return n;
}

/* ---- worker connection --------------------------------------------------------------------- */

static void worker_drop(jobs_worker_t *w)
{
    redisFree(w->c);
    w->c = NULL;
}

/* Connects when needed. A new connection makes the state uncertain: Redis may have restarted
 * (registration lost) or the reply of a move may have been lost with the old connection. */
static int worker_connect(jobs_worker_t *w, char *err, size_t err_len)
{
    if (w->c)
        return 0;
    w->c = redis_open(JOBS_IO_TIMEOUT_MS, err, err_len);
    if (!w->c)
        return -1;
    w->uncertain = true;
    return 0;
}

/* After a failed call on the private context: an I/O error leaves it unusable. */
static void worker_after_failure(jobs_worker_t *w)
{
    if (w->c && w->c->err)
        worker_drop(w);
}

static redisReply *worker_argv(jobs_worker_t *w, int argc, const char **argv, const size_t *lens, char *err,
                               size_t err_len)
{
    if (worker_connect(w, err, err_len) != 0)
        return NULL;
    redisReply *r = redisCommandArgv(w->c, argc, argv, lens);
    if (!r) {
        snprintf(err, err_len, "Redis: %s", w->c->errstr[0] ? w->c->errstr : "connection lost");
        worker_drop(w);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, err_len, "Redis: %s", r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

static redisReply *worker_script(jobs_worker_t *w, redis_script_t *s, int nkeys, int nargs,
                                 const char *const *items, const size_t *lens, char *err, size_t err_len)
{
    if (worker_connect(w, err, err_len) != 0)
        return NULL;
    redisReply *r = redis_script_run(s, w->c, nkeys, nargs, items, lens, err, err_len);
    if (!r)
        worker_after_failure(w);
    return r;
}

static void set_read_timeout(redisContext *c, long ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    redisSetTimeout(c, tv);
}

/* ---- shared steps -------------------------------------------------------------------------- */

#define REQUEUE_ALIVE (-2)

/* Runs requeue_script for one (queue, worker) list on c (NULL: this thread's connection).
 * Returns jobs moved, REQUEUE_ALIVE when guard is set and the worker has a heartbeat, or -1. */
static long requeue_list(redisContext *c, const char *worker, const char *queue, bool guard,
                         const char *const *keep, int n_keep, char *err, size_t err_len)
{
    char hb[JOBS_KEY_MAX], proc[JOBS_KEY_MAX], ready[JOBS_KEY_MAX];
    hb_key(hb, worker);
    proc_key(proc, queue, worker);
    ready_key(ready, queue);
    const char *items[4 + JOBS_HELD_MAX] = {hb, proc, ready, guard ? "1" : "0"};
    for (int i = 0; i < n_keep && i < JOBS_HELD_MAX; i++)
        items[4 + i] = keep[i];
    redisReply *r = redis_script_run(&requeue_script, c, 3, 1 + n_keep, items, NULL, err, err_len);
    if (!r)
        return -1;
    long n = r->type == REDIS_REPLY_INTEGER ? (long)r->integer : -1;
    freeReplyObject(r);
    if (n < 0 && n != -1)
        n = -1;
    if (n == -1) {
        if (guard)
            return REQUEUE_ALIVE;
        snprintf(err, err_len, "Redis: unexpected requeue reply");
    }
    return n;
}

/* The queues in a SMEMBERS reply that are valid names (at most max). */
static int valid_members(const redisReply *r, const char **out, int max)
{
    int n = 0;
    if (r->type != REDIS_REPLY_ARRAY)
        return 0;
    for (size_t i = 0; i < r->elements && n < max; i++) {
        const redisReply *e = r->element[i];
        if (e->type == REDIS_REPLY_STRING && valid_queue_n(e->str, e->len) && strlen(e->str) == e->len)
            out[n++] = e->str;
    }
    return n;
}

/* ---- worker -------------------------------------------------------------------------------- */

/* Runs register_script on c (NULL: this thread's connection) from a locked snapshot.
 * ttl_s > 0 replaces the stored TTL. A released worker is left alone (returns 0). */
static int register_worker(jobs_worker_t *w, redisContext *c, int ttl_s, char *err, size_t err_len)
{
    char queues[JOBS_QUEUES_MAX][JOBS_QUEUE_MAX + 1];
    char ttl[16];
    pthread_mutex_lock(&w->lock);
    if (ttl_s > 0)
        w->ttl_s = ttl_s;
    bool released = w->released;
    int n = w->n_queues;
    memcpy(queues, w->queues, sizeof queues);
    snprintf(ttl, sizeof ttl, "%d", w->ttl_s);
    pthread_mutex_unlock(&w->lock);
    if (released)
        return 0;

    char wq[JOBS_KEY_MAX], hb[JOBS_KEY_MAX];
    wq_key(wq, w->id);
    hb_key(hb, w->id);
    const char *items[5 + JOBS_QUEUES_MAX] = {JOBS_WORKERS_KEY, wq, hb, w->id, ttl};
    for (int i = 0; i < n; i++)
        items[5 + i] = queues[i];
    redisReply *r = redis_script_run(&register_script, c, 3, 2 + n, items, NULL, err, err_len);
    if (!r)
        return -1;
    freeReplyObject(r);
    return 0;
}

/* Adds queues this worker has not taken from before; true when one was added. */
static int note_queues(jobs_worker_t *w, const char *const *queues, int n_queues, bool *added, char *err,
                       size_t err_len)
{
    int rc = 0;
    *added = false;
    pthread_mutex_lock(&w->lock);
    for (int i = 0; i < n_queues && rc == 0; i++) {
        bool known = false;
        for (int j = 0; j < w->n_queues && !known; j++)
            known = !strcmp(w->queues[j], queues[i]);
        if (known)
            continue;
        if (w->n_queues == JOBS_QUEUES_MAX) {
            snprintf(err, err_len, "a worker may take from at most %d queues", JOBS_QUEUES_MAX);
            rc = -1;
            break;
        }
        snprintf(w->queues[w->n_queues++], JOBS_QUEUE_MAX + 1, "%s", queues[i]);
        *added = true;
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}

/* Re-registers, then returns to the ready lists whatever sits in this worker's processing lists
 * without being held by the caller (moves whose reply was lost, or a previous process that used
 * the same worker id). */
static int worker_reconcile(jobs_worker_t *w, char *err, size_t err_len)
{
    if (worker_connect(w, err, err_len) != 0)
        return -1;
    if (register_worker(w, w->c, 0, err, err_len) != 0) {
        worker_after_failure(w);
        return -1;
    }
    char wq[JOBS_KEY_MAX];
    wq_key(wq, w->id);
    const char *argv[2] = {"SMEMBERS", wq};
    redisReply *members = worker_argv(w, 2, argv, NULL, err, err_len);
    if (!members)
        return -1;
    const char *queues[JOBS_REAP_QUEUES_MAX];
    int n_queues = valid_members(members, queues, JOBS_REAP_QUEUES_MAX);
    int rc = 0;
    for (int q = 0; q < n_queues && rc == 0; q++) {
        const char *keep[JOBS_HELD_MAX];
        int n_keep = 0;
        for (int i = 0; i < w->n_held; i++)
            if (!strcmp(w->held[i].queue, queues[q]))
                keep[n_keep++] = w->held[i].job;
        long moved = requeue_list(w->c, w->id, queues[q], false, keep, n_keep, err, err_len);
        if (moved < 0) {
            worker_after_failure(w);
            rc = -1;
        } else if (moved > 0) {
            char n[24];
            snprintf(n, sizeof n, "%ld", moved);
            log_event(LOG_WARN, "returned unheld jobs to the queue", "worker", w->id, "queue", queues[q],
                      "jobs", n, NULL);
        }
    }
    freeReplyObject(members);
    if (rc == 0)
        w->uncertain = false;
    return rc;
}

jobs_worker_t *jobs_worker_new_ttl(const char *worker_id, int heartbeat_ttl_s, char *err, size_t err_len)
{
    if (check_id("worker id", worker_id, err, err_len) != 0)
        return NULL;
    if (heartbeat_ttl_s < 1) {
        snprintf(err, err_len, "heartbeat TTL must be at least 1 s");
        return NULL;
    }
    jobs_worker_t *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    snprintf(w->id, sizeof w->id, "%s", worker_id);
    pthread_mutex_init(&w->lock, NULL);
    w->ttl_s = heartbeat_ttl_s;
    if (worker_reconcile(w, err, err_len) != 0) {
        jobs_worker_free(w);
        return NULL;
    }
    return w;
}

jobs_worker_t *jobs_worker_new(const char *worker_id, char *err, size_t err_len)
{
    return jobs_worker_new_ttl(worker_id, JOBS_DEFAULT_HEARTBEAT_TTL_S, err, err_len);
}

void jobs_worker_free(jobs_worker_t *w)
{
    if (!w)
        return;
    redisFree(w->c);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

const char *jobs_worker_id(const jobs_worker_t *w)
{
    return w->id;
}

static bool worker_released(jobs_worker_t *w)
{
    pthread_mutex_lock(&w->lock);
    bool released = w->released;
    pthread_mutex_unlock(&w->lock);
    return released;
}
