#include "queue/jobs.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/errmsg.h"
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
    redisContext *c; /* private; NULL after an I/O error until the next call reconnects */
    /* lock guards queues, n_queues, ttl_s and released: jobs_heartbeat may run on another thread. */
    pthread_mutex_t lock;
    char queues[JOBS_QUEUES_MAX][JOBS_QUEUE_MAX + 1];
    int n_queues;
    int ttl_s;
    bool released;
    /* Owner thread only. */
    bool uncertain; /* (re)connected or lost a reply: re-register and reconcile before moving jobs */
    bool timed_out; /* the last connection failure was a read timeout (Redis hung, not gone) */
    held_job_t held[JOBS_HELD_MAX];
    int n_held;
};

/* ---- Lua scripts (all keys are passed in KEYS) ------------------------------------------- */

/* KEYS: ck:workers, ck:wq:<id>, ck:hb:<id>. ARGV: id, ttl_s, queue... */
static redis_script_t register_script =
    REDIS_SCRIPT("redis.call('SADD', KEYS[1], ARGV[1])\n"
                 "if #ARGV > 2 then redis.call('SADD', KEYS[2], unpack(ARGV, 3)) end\n"
                 "redis.call('SET', KEYS[3], '1', 'EX', ARGV[2])\n"
                 "return 1\n");

/* Non-blocking pass over the queues in priority order. KEYS: ready1, proc1, ready2, proc2, ...
 * Returns {pair index (1-based), job} or nil. */
static redis_script_t take_script =
    REDIS_SCRIPT("for i = 1, #KEYS, 2 do\n"
                 "  local job = redis.call('LMOVE', KEYS[i], KEYS[i + 1], 'RIGHT', 'LEFT')\n"
                 "  if job then return {(i + 1) / 2, job} end\n"
                 "end\n"
                 "return false\n");

/* Moves a processing list back to its ready list. KEYS: ck:hb:<id>, proc, ready.
 * ARGV[1] = '1': do nothing (return -1) while the heartbeat exists (reaper).
 * ARGV[2..]: ids to keep (jobs the worker still holds), one entry per held copy.
 * Jobs land on the consuming (right) end, oldest last, so they are taken next, oldest first. */
static redis_script_t requeue_script =
    REDIS_SCRIPT("if ARGV[1] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then return -1 end\n"
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
static redis_script_t unregister_script =
    REDIS_SCRIPT("if ARGV[2] == '1' then\n"
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
    return errmsg_fail(err, err_len, "invalid queue name (1-%d chars of A-Z a-z 0-9 _ -)", JOBS_QUEUE_MAX);
}

static int check_id(const char *what, const char *id, char *err, size_t err_len)
{
    if (jobs_valid_id(id))
        return 0;
    return errmsg_fail(err, err_len, "invalid %s (1-%d chars of A-Z a-z 0-9 . _ : -)", what, JOBS_ID_MAX);
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

int jobs_enqueue_many(const char *queue, const char *const *job_ids, int n, char *err, size_t err_len)
{
    if (n <= 0)
        return 0;
    if (n > JOBS_ENQUEUE_BATCH_MAX)
        return errmsg_fail(err, err_len, "at most %d jobs per batch", JOBS_ENQUEUE_BATCH_MAX);
    if (check_queue(queue, err, err_len) != 0)
        return -1;
    for (int i = 0; i < n; i++)
        if (check_id("job id", job_ids[i], err, err_len) != 0)
            return -1;
    char key[JOBS_KEY_MAX];
    ready_key(key, queue);
    const char **argv = malloc((size_t)(n + 2) * sizeof *argv);
    if (!argv)
        return errmsg_fail(err, err_len, "out of memory");
    argv[0] = "LPUSH";
    argv[1] = key;
    for (int i = 0; i < n; i++)
        argv[i + 2] = job_ids[i];
    redisReply *r = redis_cmd_argv(n + 2, argv, NULL, err, err_len);
    free(argv);
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
        errmsg_fail(err, err_len, "Redis: unexpected LLEN reply");
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
    if (w->c && w->c->err) {
        /* hiredis reports SO_RCVTIMEO expiry as an I/O error with EAGAIN's text. */
        w->timed_out = w->c->err == REDIS_ERR_IO && !strcmp(w->c->errstr, strerror(EAGAIN));
        worker_drop(w);
    }
}

/* One immediate retry is worth it when a connection that existed before the call turned out to
 * be broken (e.g. Redis restarted while we were idle); not after a timeout, which would only
 * double the wait on a hung server. */
static bool worker_retry_worth_it(const jobs_worker_t *w, bool had_conn)
{
    return had_conn && !w->c && !w->timed_out;
}

static redisReply *worker_argv(jobs_worker_t *w, int argc, const char **argv, const size_t *lens, char *err,
                               size_t err_len)
{
    if (worker_connect(w, err, err_len) != 0)
        return NULL;
    redisReply *r = redis_ctx_argv(w->c, argc, argv, lens, err, err_len);
    if (!r)
        worker_after_failure(w);
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
    if (r->type != REDIS_REPLY_INTEGER) {
        freeReplyObject(r);
        return errmsg_fail(err, err_len, "Redis: unexpected requeue reply");
    }
    long n = (long)r->integer;
    freeReplyObject(r);
    return n == -1 ? REQUEUE_ALIVE : n; /* -1 comes only from the heartbeat guard */
}

/* The queues in a SMEMBERS reply that are valid names (at most max). */
static int valid_members(const redisReply *r, const char **out, int max)
{
    int n = 0;
    if (r->type != REDIS_REPLY_ARRAY)
        return 0;
    for (size_t i = 0; i < r->elements && n < max; i++) {
        const redisReply *e = r->element[i];
        if (e->type == REDIS_REPLY_STRING && valid_queue_n(e->str, e->len))
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
            errmsg_fail(err, err_len, "a worker may take from at most %d queues", JOBS_QUEUES_MAX);
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
        errmsg_fail(err, err_len, "heartbeat TTL must be at least 1 s");
        return NULL;
    }
    jobs_worker_t *w = calloc(1, sizeof *w);
    if (!w) {
        errmsg_fail(err, err_len, "out of memory");
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

/* ---- fetch / ack --------------------------------------------------------------------------- */

/* A job found by fetch_step: job points into owner, which the caller frees. */
typedef struct taken {
    int queue_index;
    const redisReply *job;
    redisReply *owner;
} taken_t;

/* One non-blocking pass over all queues in order, then, when slice_ms > 0 and nothing was
 * there, one blocking wait of slice_ms on the first queue. 1 (taken), 0 or -1. */
static int fetch_step(jobs_worker_t *w, const char *const *queues, int n_queues, long slice_ms, taken_t *t,
                      char *err, size_t err_len)
{
    if ((!w->c || w->uncertain) && worker_reconcile(w, err, err_len) != 0)
        return -1;
    char keys[2 * JOBS_QUEUES_MAX][JOBS_KEY_MAX];
    const char *items[2 * JOBS_QUEUES_MAX];
    for (int i = 0; i < n_queues; i++) {
        ready_key(keys[2 * i], queues[i]);
        proc_key(keys[2 * i + 1], queues[i], w->id);
        items[2 * i] = keys[2 * i];
        items[2 * i + 1] = keys[2 * i + 1];
    }
    redisReply *r = worker_script(w, &take_script, 2 * n_queues, 0, items, NULL, err, err_len);
    if (!r) {
        w->uncertain = true; /* the move may have happened even though we saw no reply */
        return -1;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->type == REDIS_REPLY_INTEGER &&
        r->element[1]->type == REDIS_REPLY_STRING && r->element[0]->integer >= 1 &&
        r->element[0]->integer <= n_queues) {
        *t = (taken_t){(int)r->element[0]->integer - 1, r->element[1], r};
        return 1;
    }
    freeReplyObject(r);
    if (slice_ms <= 0)
        return 0;

    char timeout[32];
    snprintf(timeout, sizeof timeout, "%ld.%03ld", slice_ms / 1000, slice_ms % 1000); /* not %f: locale */
    const char *argv[6] = {"BLMOVE", keys[0], keys[1], "RIGHT", "LEFT", timeout};
    /* The socket read timeout must outlast the server-side block. */
    set_read_timeout(w->c, slice_ms + JOBS_IO_TIMEOUT_MS);
    r = worker_argv(w, 6, argv, NULL, err, err_len);
    if (w->c)
        set_read_timeout(w->c, JOBS_IO_TIMEOUT_MS);
    if (!r) {
        w->uncertain = true;
        return -1;
    }
    if (r->type == REDIS_REPLY_STRING) {
        *t = (taken_t){0, r, r};
        return 1;
    }
    freeReplyObject(r);
    return 0;
}

/* Something that is not a job id reached a queue: drop it rather than hand it out forever. */
static void drop_invalid_job(jobs_worker_t *w, const char *queue, const redisReply *job)
{
    char proc[JOBS_KEY_MAX], len[24], err[ERRMSG_LEN];
    proc_key(proc, queue, w->id);
    snprintf(len, sizeof len, "%zu", job->len);
    const char *argv[4] = {"LREM", proc, "1", job->str};
    size_t lens[4] = {4, strlen(proc), 1, job->len};
    redisReply *r = worker_argv(w, 4, argv, lens, err, sizeof err);
    if (r)
        log_event(LOG_WARN, "dropped an invalid job id from the queue", "queue", queue, "bytes", len, NULL);
    else
        log_event(LOG_WARN, "cannot drop an invalid job id from the queue", "queue", queue, "bytes", len,
                  "error", err, NULL);
    freeReplyObject(r);
}

static int check_fetch_args(jobs_worker_t *w, const char *const *queues, int n_queues, size_t queue_len,
                            size_t job_len, char *err, size_t err_len)
{
    if (n_queues < 1 || n_queues > JOBS_QUEUES_MAX)
        return errmsg_fail(err, err_len, "jobs_fetch: 1 to %d queues", JOBS_QUEUES_MAX);
    for (int i = 0; i < n_queues; i++)
        if (check_queue(queues[i], err, err_len) != 0)
            return -1;
    if (queue_len < JOBS_QUEUE_MAX + 1 || job_len < JOBS_ID_MAX + 1)
        return errmsg_fail(err, err_len, "jobs_fetch: output buffers too small");
    if (worker_released(w))
        return errmsg_fail(err, err_len, "worker %s was released", w->id);
    if (w->n_held >= JOBS_HELD_MAX)
        return errmsg_fail(err, err_len, "worker %s holds %d un-acked jobs (the maximum)", w->id,
                           JOBS_HELD_MAX);
    return 0;
}

int jobs_fetch(jobs_worker_t *w, const char *const *queues, int n_queues, int block_ms, char *queue_out,
               size_t queue_len, char *job_out, size_t job_len, char *err, size_t err_len)
{
    if (check_fetch_args(w, queues, n_queues, queue_len, job_len, err, err_len) != 0)
        return -1;
    bool added;
    if (note_queues(w, queues, n_queues, &added, err, err_len) != 0)
        return -1;
    if (added)
        w->uncertain = true; /* register the new queue before the first job can land in its list */

    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    bool retried = false;
    for (;;) {
        long left = block_ms - elapsed_ms_since(&start);
        long slice = left <= 0 ? 0 : n_queues > 1 && left > JOBS_BLOCK_SLICE_MS ? JOBS_BLOCK_SLICE_MS : left;
        bool had_conn = w->c != NULL;
        taken_t t;
        int rc = fetch_step(w, queues, n_queues, slice, &t, err, err_len);
        if (rc < 0) {
            /* A connection that broke while idle (e.g. Redis restarted) gets one fresh try. */
            if (!retried && worker_retry_worth_it(w, had_conn)) {
                retried = true;
                continue;
            }
            return -1;
        }
        if (rc == 1) {
            const char *queue = queues[t.queue_index];
            if (valid_id_n(t.job->str, t.job->len)) { /* also rejects embedded NULs */
                snprintf(queue_out, queue_len, "%s", queue);
                snprintf(job_out, job_len, "%s", t.job->str);
                held_job_t *h = &w->held[w->n_held++];
                snprintf(h->queue, sizeof h->queue, "%s", queue);
                snprintf(h->job, sizeof h->job, "%s", t.job->str);
                freeReplyObject(t.owner);
                return 1;
            }
            drop_invalid_job(w, queue, t.job);
            freeReplyObject(t.owner);
            continue;
        }
        if (elapsed_ms_since(&start) >= block_ms)
            return 0;
    }
}

static void forget_held(jobs_worker_t *w, const char *queue, const char *job_id)
{
    for (int i = 0; i < w->n_held; i++) {
        if (!strcmp(w->held[i].queue, queue) && !strcmp(w->held[i].job, job_id)) {
            w->held[i] = w->held[--w->n_held];
            return;
        }
    }
}

int jobs_ack(jobs_worker_t *w, const char *queue, const char *job_id, char *err, size_t err_len)
{
    if (check_queue(queue, err, err_len) != 0 || check_id("job id", job_id, err, err_len) != 0)
        return -1;
    /* Forgotten even if the LREM fails: the next reconcile then returns the job to the queue
     * (a harmless duplicate) instead of keeping it in our list forever. */
    forget_held(w, queue, job_id);
    char proc[JOBS_KEY_MAX];
    proc_key(proc, queue, w->id);
    const char *argv[4] = {"LREM", proc, "1", job_id};
    for (int attempt = 0; attempt < 2; attempt++) {
        bool had_conn = w->c != NULL;
        redisReply *r = worker_argv(w, 4, argv, NULL, err, err_len);
        if (r) {
            freeReplyObject(r);
            return 0;
        }
        if (!worker_retry_worth_it(w, had_conn))
            break;
    }
    return -1;
}

int jobs_heartbeat(jobs_worker_t *w, int ttl_s, char *err, size_t err_len)
{
    if (ttl_s < 1)
        return errmsg_fail(err, err_len, "heartbeat TTL must be at least 1 s");
    return register_worker(w, NULL, ttl_s, err, err_len);
}

/* ---- release ------------------------------------------------------------------------------- */

static int release_once(jobs_worker_t *w, char *err, size_t err_len)
{
    if (worker_connect(w, err, err_len) != 0)
        return -1;
    char wq[JOBS_KEY_MAX], hb[JOBS_KEY_MAX];
    wq_key(wq, w->id);
    hb_key(hb, w->id);
    const char *argv[2] = {"SMEMBERS", wq};
    redisReply *members = worker_argv(w, 2, argv, NULL, err, err_len);
    if (!members)
        return -1;
    /* Registered queues plus local ones (registration may have been lost with a Redis restart). */
    const char *queues[JOBS_REAP_QUEUES_MAX + JOBS_QUEUES_MAX];
    int n = valid_members(members, queues, JOBS_REAP_QUEUES_MAX);
    for (int i = 0; i < w->n_queues; i++)
        queues[n++] = w->queues[i]; /* moving an already empty list again is a no-op */
    int rc = 0;
    for (int q = 0; q < n && rc == 0; q++) {
        if (requeue_list(w->c, w->id, queues[q], false, NULL, 0, err, err_len) < 0) {
            worker_after_failure(w);
            rc = -1;
        }
    }
    freeReplyObject(members);
    if (rc != 0)
        return -1;
    const char *items[5] = {hb, JOBS_WORKERS_KEY, wq, w->id, "0"};
    redisReply *r = worker_script(w, &unregister_script, 3, 2, items, NULL, err, err_len);
    if (!r)
        return -1;
    freeReplyObject(r);
    w->n_held = 0;
    return 0;
}

int jobs_worker_release(jobs_worker_t *w, char *err, size_t err_len)
{
    /* From now on heartbeats (possibly from another thread) no longer re-register us. */
    pthread_mutex_lock(&w->lock);
    w->released = true;
    pthread_mutex_unlock(&w->lock);
    bool had_conn = w->c != NULL;
    int rc = release_once(w, err, err_len);
    if (rc != 0 && worker_retry_worth_it(w, had_conn))
        rc = release_once(w, err, err_len);
    return rc;
}

/* ---- reaper -------------------------------------------------------------------------------- */

static int key_exists(const char *key, bool *exists, char *err, size_t err_len)
{
    const char *argv[2] = {"EXISTS", key};
    redisReply *r = redis_cmd_argv(2, argv, NULL, err, err_len);
    if (!r)
        return -1;
    *exists = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
    freeReplyObject(r);
    return 0;
}

static void log_reaped(const char *worker, const char *queue, long moved)
{
    char n[24];
    snprintf(n, sizeof n, "%ld", moved);
    log_event(LOG_WARN, "requeued jobs of a dead worker", "worker", worker, "queue", queue, "jobs", n, NULL);
}

/* Returns a dead worker's jobs and unregisters it; a live one is left alone. */
static int reap_worker(const char *worker, int *moved, char *err, size_t err_len)
{
    char hb[JOBS_KEY_MAX], wq[JOBS_KEY_MAX];
    hb_key(hb, worker);
    wq_key(wq, worker);
    bool alive;
    if (key_exists(hb, &alive, err, err_len) != 0)
        return -1;
    if (alive)
        return 0;
    const char *argv[2] = {"SMEMBERS", wq};
    redisReply *members = redis_cmd_argv(2, argv, NULL, err, err_len);
    if (!members)
        return -1;
    const char *queues[JOBS_REAP_QUEUES_MAX];
    int n = valid_members(members, queues, JOBS_REAP_QUEUES_MAX);
    char procs[JOBS_REAP_QUEUES_MAX][JOBS_KEY_MAX];
    const char *items[5 + JOBS_REAP_QUEUES_MAX] = {hb, JOBS_WORKERS_KEY, wq};
    int rc = 0;
    for (int q = 0; q < n && rc == 0; q++) {
        long got = requeue_list(NULL, worker, queues[q], true, NULL, 0, err, err_len);
        if (got == REQUEUE_ALIVE)
            goto cleanup; /* it came back: not ours to reap */
        if (got < 0) {
            rc = -1;
            goto cleanup;
        }
        if (got > 0)
            log_reaped(worker, queues[q], got);
        *moved += (int)got;
        proc_key(procs[q], queues[q], worker);
        items[3 + q] = procs[q];
    }
    items[3 + n] = worker;
    items[4 + n] = "1";
    redisReply *r = redis_script_run(&unregister_script, NULL, 3 + n, 2, items, NULL, err, err_len);
    if (!r)
        rc = -1;
    freeReplyObject(r);
cleanup:
    freeReplyObject(members);
    return rc;
}

int jobs_reap(int *moved, char *err, size_t err_len)
{
    *moved = 0;
    const char *argv[2] = {"SMEMBERS", JOBS_WORKERS_KEY};
    redisReply *r = redis_cmd_argv(2, argv, NULL, err, err_len);
    if (!r)
        return -1;
    int rc = 0;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements && rc == 0; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_STRING || !valid_id_n(e->str, e->len))
            continue; /* not something jobs_worker_new registered */
        rc = reap_worker(e->str, moved, err, err_len);
    }
    freeReplyObject(r);
    return rc;
}

/* Splits "ck:q:<queue>:proc:<worker>"; false when the key has another shape. */
static bool parse_proc_key(const char *key, size_t len, char *queue, char *worker)
{
    static const char prefix[] = "ck:q:", sep[] = ":proc:";
    if (len >= JOBS_KEY_MAX || strlen(key) != len || strncmp(key, prefix, sizeof prefix - 1) != 0)
        return false;
    const char *q = key + sizeof prefix - 1;
    const char *s = strstr(q, sep);
    if (!s || !valid_queue_n(q, (size_t)(s - q)))
        return false;
    const char *wk = s + sizeof sep - 1;
    if (!valid_id_n(wk, strlen(wk)))
        return false;
    memcpy(queue, q, (size_t)(s - q));
    queue[s - q] = '\0';
    strcpy(worker, wk);
    return true;
}

int jobs_reap_scan(int *moved, char *err, size_t err_len)
{
    *moved = 0;
    char cursor[32] = "0";
    do {
        const char *argv[6] = {"SCAN", cursor, "MATCH", "ck:q:*:proc:*", "COUNT", "200"};
        redisReply *r = redis_cmd_argv(6, argv, NULL, err, err_len);
        if (!r)
            return -1;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(r);
            return errmsg_fail(err, err_len, "Redis: unexpected SCAN reply");
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        const redisReply *keys = r->element[1];
        for (size_t i = 0; i < keys->elements; i++) {
            char queue[JOBS_KEY_MAX], worker[JOBS_KEY_MAX];
            const redisReply *k = keys->element[i];
            if (k->type != REDIS_REPLY_STRING || !parse_proc_key(k->str, k->len, queue, worker))
                continue;
            long got = requeue_list(NULL, worker, queue, true, NULL, 0, err, err_len);
            if (got == -1) {
                freeReplyObject(r);
                return -1;
            }
            if (got > 0) {
                log_reaped(worker, queue, got);
                *moved += (int)got;
            }
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    return 0;
}
