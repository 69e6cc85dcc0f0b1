/* Unit tests for src/queue/jobs against a real redis-server (started by main()). */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>

#include "core/uuid7.h"
#include "queue/jobs.h"
#include "redis_fixture.h"
#include "tu.h"

static const char *const BOTH[] = {JOBS_QUEUE_RENDERS, JOBS_QUEUE_WEBHOOKS};
static const char *const RENDERS[] = {JOBS_QUEUE_RENDERS};

static void enqueue_ok(const char *queue, const char *job)
{
    char err[256];
    ck_assert_msg(jobs_enqueue(queue, job, err, sizeof err) == 0, "enqueue: %s", err);
}

static void new_job(char id[UUID_STR_LEN + 1])
{
    ck_assert_int_eq(uuid7_new_str(id), 0);
}

static jobs_worker_t *worker_ok(const char *id, int ttl_s)
{
    char err[256];
    jobs_worker_t *w = jobs_worker_new_ttl(id, ttl_s, err, sizeof err);
    ck_assert_msg(w != NULL, "worker: %s", err);
    return w;
}

/* jobs_fetch with fixed buffers; returns its result, fills queue/job. */
static int fetch(jobs_worker_t *w, const char *const *queues, int n, int block_ms,
                 char queue[JOBS_QUEUE_MAX + 1], char job[JOBS_ID_MAX + 1])
{
    char err[256] = "";
    int rc =
        jobs_fetch(w, queues, n, block_ms, queue, JOBS_QUEUE_MAX + 1, job, JOBS_ID_MAX + 1, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "fetch: %s\n", err);
    return rc;
}

static void ack_ok(jobs_worker_t *w, const char *queue, const char *job)
{
    char err[256];
    ck_assert_msg(jobs_ack(w, queue, job, err, sizeof err) == 0, "ack: %s", err);
}

static void release_ok(jobs_worker_t *w)
{
    char err[256];
    ck_assert_msg(jobs_worker_release(w, err, sizeof err) == 0, "release: %s", err);
}

static int reap_ok(void)
{
    int moved = -1;
    char err[256];
    ck_assert_msg(jobs_reap(&moved, err, sizeof err) == 0, "reap: %s", err);
    return moved;
}

static long long proc_len(const char *queue, const char *worker)
{
    return rf_int("LLEN ck:q:%s:proc:%s", queue, worker);
}

static long long ready_len(const char *queue)
{
    return rf_int("LLEN ck:q:%s", queue);
}

static bool registered(const char *worker)
{
    return rf_int("SISMEMBER ck:workers %s", worker) == 1;
}

/* Waits (up to timeout_ms) until the worker's heartbeat key has expired. */
static bool heartbeat_gone(const char *worker, long timeout_ms)
{
    long deadline = rf_now_ms() + timeout_ms;
    while (rf_int("EXISTS ck:hb:%s", worker) == 1) {
        if (rf_now_ms() > deadline)
            return false;
        rf_sleep_ms(50);
    }
    return true;
}

/* ---- names --------------------------------------------------------------------------------- */

START_TEST(names_are_validated)
{
    ck_assert(jobs_valid_queue("renders"));
    ck_assert(jobs_valid_queue("web-hooks_2"));
    ck_assert(!jobs_valid_queue(""));
    ck_assert(!jobs_valid_queue("a:b"));
    ck_assert(!jobs_valid_queue("a b"));
    ck_assert(!jobs_valid_queue("q*"));
    ck_assert(!jobs_valid_queue("012345678901234567890123456789012")); /* 33 */
    ck_assert(jobs_valid_id("0193c2c3-0000-7000-8000-000000000000"));
    ck_assert(jobs_valid_id("host.example:1234:7"));
    ck_assert(!jobs_valid_id(""));
    ck_assert(!jobs_valid_id("a b"));
    ck_assert(!jobs_valid_id("x\r\nDEL y"));
    ck_assert(!jobs_valid_id("*"));
    char id[JOBS_ID_MAX + 2];
    memset(id, 'a', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    ck_assert(!jobs_valid_id(id));
    id[JOBS_ID_MAX] = '\0';
    ck_assert(jobs_valid_id(id));

    char err[256];
    ck_assert_int_eq(jobs_enqueue("renders", "bad id", err, sizeof err), -1);
    ck_assert_int_eq(jobs_enqueue("ren:ders", "ok", err, sizeof err), -1);
    ck_assert_int_eq(jobs_queue_length("", err, sizeof err), -1);
    ck_assert_ptr_null(jobs_worker_new("bad worker", err, sizeof err));
    ck_assert_ptr_null(jobs_worker_new_ttl("w", 0, err, sizeof err));
    ck_assert_int_eq(rf_int("DBSIZE"), 0);
}
END_TEST

/* ---- fetch / ack --------------------------------------------------------------------------- */

START_TEST(enqueue_fetch_ack_fifo)
{
    char ids[3][UUID_STR_LEN + 1], err[256];
    for (int i = 0; i < 3; i++) {
        new_job(ids[i]);
        enqueue_ok(JOBS_QUEUE_RENDERS, ids[i]);
    }
    ck_assert_int_eq(jobs_queue_length(JOBS_QUEUE_RENDERS, err, sizeof err), 3);
    jobs_worker_t *w = worker_ok("w1", 10);
    ck_assert(registered("w1"));
    ck_assert_int_eq(rf_int("EXISTS ck:hb:w1"), 1);
    char q[JOBS_QUEUE_MAX + 1], job[JOBS_ID_MAX + 1];
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(fetch(w, RENDERS, 1, 0, q, job), 1);
        ck_assert_str_eq(q, JOBS_QUEUE_RENDERS);
        ck_assert_str_eq(job, ids[i]); /* oldest first */
        ck_assert_int_eq(proc_len(JOBS_QUEUE_RENDERS, "w1"), 1);
        ack_ok(w, q, job);
        ck_assert_int_eq(proc_len(JOBS_QUEUE_RENDERS, "w1"), 0);
    }
    ck_assert_int_eq(fetch(w, RENDERS, 1, 0, q, job), 0);
    ck_assert_int_eq(jobs_queue_length(JOBS_QUEUE_RENDERS, err, sizeof err), 0);
    /* Acking something no longer there is fine (e.g. it was reaped meanwhile). */
    ack_ok(w, JOBS_QUEUE_RENDERS, ids[0]);
    jobs_worker_free(w);
}
END_TEST

START_TEST(renders_come_before_webhooks)
{
    enqueue_ok(JOBS_QUEUE_WEBHOOKS, "hook-1");
    enqueue_ok(JOBS_QUEUE_RENDERS, "render-1");
    enqueue_ok(JOBS_QUEUE_RENDERS, "render-2");
    jobs_worker_t *w = worker_ok("w1", 10);
    char q[JOBS_QUEUE_MAX + 1], job[JOBS_ID_MAX + 1];
    const char *expect[][2] = {{"renders", "render-1"}, {"renders", "render-2"}, {"webhooks", "hook-1"}};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(fetch(w, BOTH, 2, 0, q, job), 1);
        ck_assert_str_eq(q, expect[i][0]);
        ck_assert_str_eq(job, expect[i][1]);
        ack_ok(w, q, job);
    }
    ck_assert_int_eq(rf_int("SCARD ck:wq:w1"), 2);
    jobs_worker_free(w);
}
END_TEST

START_TEST(fetch_times_out_when_empty)
{
    jobs_worker_t *w = worker_ok("w1", 10);
    char q[JOBS_QUEUE_MAX + 1], job[JOBS_ID_MAX + 1];
    long t0 = rf_now_ms();
    ck_assert_int_eq(fetch(w, BOTH, 2, 700, q, job), 0);
    long took = rf_now_ms() - t0;
    ck_assert_msg(took >= 690 && took < 1500, "took %ld ms", took);
    t0 = rf_now_ms();
    ck_assert_int_eq(fetch(w, BOTH, 2, 0, q, job), 0);
    ck_assert(rf_now_ms() - t0 < 500);
    jobs_worker_free(w);
}
END_TEST

typedef struct waiter {
    const char *const *queues;
    int n_queues;
    int rc;
    long done_ms;
    char queue[JOBS_QUEUE_MAX + 1];
    char job[JOBS_ID_MAX + 1];
} waiter_t;

static void *waiter_main(void *arg)
{
    waiter_t *wt = arg;
    char err[256];
    jobs_worker_t *w = jobs_worker_new_ttl("waiter", 10, err, sizeof err);
    if (!w) {
        wt->rc = -2;
        return NULL;
    }
    wt->rc = jobs_fetch(w, wt->queues, wt->n_queues, 5000, wt->queue, sizeof wt->queue, wt->job,
                        sizeof wt->job, err, sizeof err);
    wt->done_ms = rf_now_ms();
    if (wt->rc == 1)
        jobs_ack(w, wt->queue, wt->job, err, sizeof err);
    jobs_worker_release(w, err, sizeof err); /* fails harmlessly when Redis is down */
    jobs_worker_free(w);
    return NULL;
}

/* A blocked worker wakes at once for a render and within a slice for a webhook. */
static long wake_latency(const char *queue, const char *job)
{
    waiter_t wt = {BOTH, 2, -3, 0, "", ""};
    pthread_t th;
    pthread_create(&th, NULL, waiter_main, &wt);
    rf_sleep_ms(300); /* let it block */
    long sent = rf_now_ms();
    enqueue_ok(queue, job);
    pthread_join(th, NULL);
    ck_assert_int_eq(wt.rc, 1);
    ck_assert_str_eq(wt.queue, queue);
    ck_assert_str_eq(wt.job, job);
    return wt.done_ms - sent;
}

START_TEST(blocked_fetch_wakes_for_renders_and_webhooks)
{
    long render_ms = wake_latency(JOBS_QUEUE_RENDERS, "r-1");
    ck_assert_msg(render_ms < 400, "render waited %ld ms", render_ms);
    long hook_ms = wake_latency(JOBS_QUEUE_WEBHOOKS, "h-1");
    ck_assert_msg(hook_ms <= JOBS_BLOCK_SLICE_MS + 500, "webhook waited %ld ms", hook_ms);
}
END_TEST

enum { COMPETE_JOBS = 400 };

typedef struct competitor {
    char id[32];
    int got;
    char jobs[COMPETE_JOBS][JOBS_ID_MAX + 1];
    atomic_int *remaining;
    int errors;
} competitor_t;

static void *competitor_main(void *arg)
{
    competitor_t *c = arg;
    char err[256], q[JOBS_QUEUE_MAX + 1], job[JOBS_ID_MAX + 1];
    jobs_worker_t *w = jobs_worker_new_ttl(c->id, 10, err, sizeof err);
    if (!w) {
        c->errors++;
        return NULL;
    }
    while (atomic_load(c->remaining) > 0) {
        int rc = jobs_fetch(w, BOTH, 2, 200, q, sizeof q, job, sizeof job, err, sizeof err);
        if (rc < 0) {
            c->errors++;
            break;
        }
        if (rc == 0)
            continue;
        memcpy(c->jobs[c->got++], job, sizeof job);
        atomic_fetch_sub(c->remaining, 1);
        if (jobs_ack(w, q, job, err, sizeof err) != 0)
            c->errors++;
    }
    jobs_worker_free(w);
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(a, b);
}

START_TEST(competing_workers_get_each_job_once)
{
    atomic_int remaining = COMPETE_JOBS;
    static competitor_t comp[2];
    memset(comp, 0, sizeof comp);
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        snprintf(comp[i].id, sizeof comp[i].id, "compete-%d", i);
        comp[i].remaining = &remaining;
        pthread_create(&th[i], NULL, competitor_main, &comp[i]);
    }
    /* Produce while they consume, on both queues. */
    for (int i = 0; i < COMPETE_JOBS; i++) {
        char id[JOBS_ID_MAX + 1];
        snprintf(id, sizeof id, "job-%04d", i);
        enqueue_ok(i % 3 ? JOBS_QUEUE_RENDERS : JOBS_QUEUE_WEBHOOKS, id);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(comp[0].errors + comp[1].errors, 0);
    ck_assert_int_eq(comp[0].got + comp[1].got, COMPETE_JOBS);
    ck_assert_msg(comp[0].got > 0 && comp[1].got > 0, "one worker starved: %d/%d", comp[0].got, comp[1].got);
    static char all[COMPETE_JOBS][JOBS_ID_MAX + 1];
    memcpy(all, comp[0].jobs, sizeof all[0] * (size_t)comp[0].got);
    memcpy(all[comp[0].got], comp[1].jobs, sizeof all[0] * (size_t)comp[1].got);
    qsort(all, COMPETE_JOBS, sizeof all[0], cmp_str);
    for (int i = 0; i < COMPETE_JOBS; i++) {
        char id[JOBS_ID_MAX + 1];
        snprintf(id, sizeof id, "job-%04d", i);
        ck_assert_str_eq(all[i], id); /* each exactly once */
    }
    ck_assert_int_eq(ready_len(JOBS_QUEUE_RENDERS) + ready_len(JOBS_QUEUE_WEBHOOKS), 0);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(proc_len(JOBS_QUEUE_RENDERS, comp[i].id) + proc_len(JOBS_QUEUE_WEBHOOKS, comp[i].id),
                         0);
}
END_TEST

START_TEST(invalid_entries_are_dropped)
{
    freeReplyObject(rf_cmd("LPUSH ck:q:renders %b", "bad\0id", (size_t)6));
    freeReplyObject(rf_cmd("LPUSH ck:q:renders %s", "spaces are not allowed"));
    enqueue_ok(JOBS_QUEUE_RENDERS, "good-1");
    jobs_worker_t *w = worker_ok("w1", 10);
    char q[JOBS_QUEUE_MAX + 1], job[JOBS_ID_MAX + 1];
    ck_assert_int_eq(fetch(w, RENDERS, 1, 0, q, job), 1);
    ck_assert_str_eq(job, "good-1");
    ack_ok(w, q, job);
    ck_assert_int_eq(fetch(w, RENDERS, 1, 0, q, job), 0);
    ck_assert_int_eq(ready_len(JOBS_QUEUE_RENDERS), 0);
    ck_assert_int_eq(proc_len(JOBS_QUEUE_RENDERS, "w1"), 0);
    jobs_worker_free(w);
}
END_TEST

START_TEST(fetch_argument_limits)
{
    jobs_worker_t *w = worker_ok("w1", 10);
    char q[JOBS_QUEUE_MAX + 1], job[JOBS_ID_MAX + 1], err[256];
    const char *bad[] = {"renders", "no:colons"};
    ck_assert_int_eq(jobs_fetch(w, bad, 2, 0, q, sizeof q, job, sizeof job, err, sizeof err), -1);
    ck_assert_int_eq(jobs_fetch(w, RENDERS, 0, 0, q, sizeof q, job, sizeof job, err, sizeof err), -1);
    ck_assert_int_eq(jobs_fetch(w, RENDERS, 1, 0, q, 8, job, sizeof job, err, sizeof err), -1);
    /* A worker may hold at most JOBS_HELD_MAX un-acked jobs. */
    for (int i = 0; i <= JOBS_HELD_MAX; i++) {
        char id[16];
        snprintf(id, sizeof id, "held-%d", i);
        enqueue_ok(JOBS_QUEUE_RENDERS, id);
    }
    for (int i = 0; i < JOBS_HELD_MAX; i++)
        ck_assert_int_eq(fetch(w, RENDERS, 1, 0, q, job), 1);
    ck_assert_int_eq(jobs_fetch(w, RENDERS, 1, 0, q, sizeof q, job, sizeof job, err, sizeof err), -1);
    ck_assert(strstr(err, "un-acked") != NULL);
    ack_ok(w, JOBS_QUEUE_RENDERS, "held-0");
    ck_assert_int_eq(fetch(w, RENDERS, 1, 0, q, job), 1);
    jobs_worker_free(w);
}
END_TEST

/* ---- heartbeat, release, reaper ------------------------------------------------------------ */

START_TEST(heartbeat_sets_ttl_and_reregisters)
{
    jobs_worker_t *w = worker_ok("w1", 10);
    char err[256];
    long long pttl = rf_int("PTTL ck:hb:w1");
    ck_assert(pttl > 9000 && pttl <= 10000);
    ck_assert_int_eq(jobs_heartbeat(w, 3, err, sizeof err), 0);
    pttl = rf_int("PTTL ck:hb:w1");
    ck_assert(pttl > 2000 && pttl <= 3000);
    ck_assert_int_eq(jobs_heartbeat(w, 0, err, sizeof err), -1);
    /* Registration lost (Redis restarted empty, or the reaper gave up on us): heartbeat heals. */
    freeReplyObject(rf_cmd("DEL ck:workers ck:hb:w1"));
    ck_assert_int_eq(jobs_heartbeat(w, 3, err, sizeof err), 0);
    ck_assert(registered("w1"));
    ck_assert_int_eq(rf_int("EXISTS ck:hb:w1"), 1);
    jobs_worker_free(w);
}
END_TEST

START_TEST(release_returns_everything)
{
    enqueue_ok(JOBS_QUEUE_RENDERS, "r-1");
    enqueue_ok(JOBS_QUEUE_RENDERS, "r-2");
    enqueue_ok(JOBS_QUEUE_WEBHOOKS, "h-1");
    enqueue_ok(JOBS_QUEUE_RENDERS, "r-3");
    jobs_worker_t *w = worker_ok("w1", 10);
    char q[JOBS_QUEUE_MAX + 1], job[JOBS_ID_MAX + 1], err[256];
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(fetch(w, BOTH, 2, 0, q, job), 1);
    ck_assert_int_eq(fetch(w, BOTH, 2, 0, q, job), 1);
    ck_assert_str_eq(job, "h-1");
    ck_assert_int_eq(proc_len(JOBS_QUEUE_RENDERS, "w1"), 3);
    release_ok(w);
    ck_assert_int_eq(ready_len(JOBS_QUEUE_RENDERS), 3);
    ck_assert_int_eq(ready_len(JOBS_QUEUE_WEBHOOKS), 1);
    ck_assert_int_eq(proc_len(JOBS_QUEUE_RENDERS, "w1") + proc_len(JOBS_QUEUE_WEBHOOKS, "w1"), 0);
    ck_assert(!registered("w1"));
    ck_assert_int_eq(rf_int("EXISTS ck:hb:w1 ck:wq:w1"), 0);
    ck_assert_int_eq(jobs_fetch(w, BOTH, 2, 0, q, sizeof q, job, sizeof job, err, sizeof err), -1);
    /* A late heartbeat (e.g. from a heartbeat thread) does not resurrect it. */
    ck_assert_int_eq(jobs_heartbeat(w, 5, err, sizeof err), 0);
    ck_assert(!registered("w1"));
    jobs_worker_free(w);

    /* The returned jobs are served again, oldest first. */
    jobs_worker_t *w2 = worker_ok("w2", 10);
    const char *order[] = {"r-1", "r-2", "r-3"};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(fetch(w2, BOTH, 2, 0, q, job), 1);
        ck_assert_str_eq(job, order[i]);
    }
    jobs_worker_free(w2);
}
END_TEST

START_TEST(reaper_leaves_live_workers_alone)
{
    enqueue_ok(JOBS_QUEUE_RENDERS, "r-1");
    jobs_worker_t *w = worker_ok("w1", 10);
    char q[JOBS_QUEUE_MAX + 1], job[JOBS_ID_MAX + 1];
    ck_assert_int_eq(fetch(w, RENDERS, 1, 0, q, job), 1);
    ck_assert_int_eq(reap_ok(), 0);
    ck_assert_int_eq(proc_len(JOBS_QUEUE_RENDERS, "w1"), 1);
    ck_assert(registered("w1"));
    /* Heartbeat expired (simulated): the next reap returns the job and unregisters. */
    freeReplyObject(rf_cmd("DEL ck:hb:w1"));
    ck_assert_int_eq(reap_ok(), 1);
    ck_assert_int_eq(ready_len(JOBS_QUEUE_RENDERS), 1);
    ck_assert(!registered("w1"));
    ck_assert_int_eq(rf_int("EXISTS ck:wq:w1"), 0);
    ck_assert_int_eq(reap_ok(), 0);
    jobs_worker_free(w);
}
END_TEST

/* The child takes one job and then is killed without any chance to clean up. */
static void child_take_and_hang(int fd)
{
    char err[256], q[JOBS_QUEUE_MAX + 1], job[JOBS_ID_MAX + 1];
    jobs_worker_t *w = jobs_worker_new_ttl("doomed", 1, err, sizeof err);
    char ok = 'n';
    if (w && jobs_fetch(w, RENDERS, 1, 1000, q, sizeof q, job, sizeof job, err, sizeof err) == 1)
        ok = 'y';
    if (write(fd, &ok, 1) != 1)
        _exit(2);
    for (;;)
        pause();
}

START_TEST(sigkilled_worker_jobs_are_reaped_and_redelivered)
{
    char id[UUID_STR_LEN + 1];
    new_job(id);
    enqueue_ok(JOBS_QUEUE_RENDERS, id);
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        child_take_and_hang(fds[1]);
    }
    close(fds[1]);
    char ok = 0;
    ck_assert_int_eq(read(fds[0], &ok, 1), 1);
    close(fds[0]);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    ck_assert_int_eq(ok, 'y');
    ck_assert_int_eq(proc_len(JOBS_QUEUE_RENDERS, "doomed"), 1);
    ck_assert_int_eq(ready_len(JOBS_QUEUE_RENDERS), 0);
    if (rf_int("PTTL ck:hb:doomed") > 100)
        ck_assert_int_eq(reap_ok(), 0); /* still "alive" until its heartbeat expires */

    ck_assert(heartbeat_gone("doomed", 5000));
    ck_assert_int_eq(reap_ok(), 1);
    ck_assert(!registered("doomed"));
    ck_assert_int_eq(proc_len(JOBS_QUEUE_RENDERS, "doomed"), 0);

    jobs_worker_t *w = worker_ok("survivor", 10);
    char q[JOBS_QUEUE_MAX + 1], job[JOBS_ID_MAX + 1];
    ck_assert_int_eq(fetch(w, BOTH, 2, 0, q, job), 1);
    ck_assert_str_eq(job, id);
    ack_ok(w, q, job);
    jobs_worker_free(w);
}
END_TEST

START_TEST(scan_fallback_finds_unregistered_lists)
{
    /* A processing list whose worker is not in ck:workers (registration lost). */
    freeReplyObject(rf_cmd("LPUSH ck:q:webhooks:proc:ghost:1 h-9"));
    freeReplyObject(rf_cmd("LPUSH ck:q:renders:proc:ghost:1 r-9"));
    freeReplyObject(rf_cmd("LPUSH ck:q:renders:proc:alive r-8"));
    freeReplyObject(rf_cmd("SET ck:hb:alive 1 EX 10"));
    freeReplyObject(rf_cmd("LPUSH ck:q:weird:key:proc:x r-7"));
    ck_assert_int_eq(reap_ok(), 0);
    int moved = -1;
    char err[256];
    ck_assert_msg(jobs_reap_scan(&moved, err, sizeof err) == 0, "scan: %s", err);
    ck_assert_int_eq(moved, 2);
    ck_assert_int_eq(ready_len(JOBS_QUEUE_RENDERS), 1);
    ck_assert_int_eq(ready_len(JOBS_QUEUE_WEBHOOKS), 1);
    ck_assert_int_eq(proc_len(JOBS_QUEUE_RENDERS, "alive"), 1);
}
END_TEST

START_TEST(same_worker_id_recovers_its_old_list)
{
    enqueue_ok(JOBS_QUEUE_RENDERS, "r-1");
    jobs_worker_t *w = worker_ok("host:0", 30);
    char q[JOBS_QUEUE_MAX + 1], job[JOBS_ID_MAX + 1];
    ck_assert_int_eq(fetch(w, RENDERS, 1, 0, q, job), 1);
    jobs_worker_free(w); /* crash: no release, heartbeat still alive */
    /* The restarted process reuses the id: the job must not wait for the heartbeat to expire. */
    w = worker_ok("host:0", 30);
    ck_assert_int_eq(proc_len(JOBS_QUEUE_RENDERS, "host:0"), 0);
    ck_assert_int_eq(fetch(w, RENDERS, 1, 0, q, job), 1);
    ck_assert_str_eq(job, "r-1");
    jobs_worker_free(w);
}
END_TEST

START_TEST(lost_reply_is_reconciled_after_reconnect)
{
    enqueue_ok(JOBS_QUEUE_RENDERS, "held-1");
    jobs_worker_t *w = worker_ok("w1", 10);
    char q[JOBS_QUEUE_MAX + 1], job[JOBS_ID_MAX + 1];
    ck_assert_int_eq(fetch(w, RENDERS, 1, 0, q, job), 1);
    /* A move whose reply never arrived looks like this: in our list, unknown to the caller. */
    freeReplyObject(rf_cmd("LPUSH ck:q:renders:proc:w1 orphan-1"));
    /* Drop the worker's connection (as a network error would); ours survives (SKIPME). */
    freeReplyObject(rf_cmd("CLIENT KILL TYPE normal SKIPME yes"));
    ck_assert_int_eq(fetch(w, RENDERS, 1, 0, q, job), 1);
    ck_assert_str_eq(job, "orphan-1");
    /* The held job stayed in the processing list; both are there now, nothing was lost. */
    ck_assert_int_eq(proc_len(JOBS_QUEUE_RENDERS, "w1"), 2);
    ack_ok(w, JOBS_QUEUE_RENDERS, "held-1");
    ack_ok(w, JOBS_QUEUE_RENDERS, "orphan-1");
    ck_assert_int_eq(proc_len(JOBS_QUEUE_RENDERS, "w1"), 0);
    jobs_worker_free(w);
}
END_TEST

/* ---- Redis restart (own server; this test child has no other connection yet) ---------------- */

START_TEST(survives_redis_restart)
{
    rf_redis_t srv = {0};
    ck_assert_int_eq(rf_start(&srv), 0);
    rf_use(&srv);
    char err[256], q[JOBS_QUEUE_MAX + 1], job[JOBS_ID_MAX + 1];
    jobs_worker_t *w = worker_ok("w1", 10);
    enqueue_ok(JOBS_QUEUE_RENDERS, "before");
    ck_assert_int_eq(fetch(w, BOTH, 2, 0, q, job), 1);
    ack_ok(w, q, job);

    rf_kill(&srv);
    long t0 = rf_now_ms();
    ck_assert_int_eq(jobs_fetch(w, BOTH, 2, 1000, q, sizeof q, job, sizeof job, err, sizeof err), -1);
    ck_assert_msg(rf_now_ms() - t0 < 2000, "fetch during the outage took %ld ms", rf_now_ms() - t0);
    ck_assert_int_eq(jobs_enqueue(JOBS_QUEUE_RENDERS, "lost", err, sizeof err), -1);
    ck_assert_int_eq(jobs_heartbeat(w, 10, err, sizeof err), -1);
    int moved;
    ck_assert_int_eq(jobs_reap(&moved, err, sizeof err), -1);

    /* Back, empty (no persistence): everything reconnects and the worker registers again. */
    ck_assert_int_eq(rf_start(&srv), 0);
    enqueue_ok(JOBS_QUEUE_WEBHOOKS, "after");
    ck_assert_int_eq(fetch(w, BOTH, 2, 1000, q, job), 1);
    ck_assert_str_eq(job, "after");
    ck_assert(registered("w1"));
    ck_assert_int_eq(rf_int("EXISTS ck:hb:w1"), 1);
    ck_assert_int_eq(rf_int("SISMEMBER ck:wq:w1 webhooks"), 1);
    ack_ok(w, q, job);

    /* Killed while the worker is blocked in BLMOVE: the fetch fails, the next one works. */
    waiter_t wt = {BOTH, 2, -3, 0, "", ""};
    pthread_t th;
    pthread_create(&th, NULL, waiter_main, &wt);
    rf_sleep_ms(300);
    rf_kill(&srv);
    pthread_join(th, NULL);
    ck_assert_int_eq(wt.rc, -1);
    ck_assert_int_eq(rf_start(&srv), 0);
    enqueue_ok(JOBS_QUEUE_RENDERS, "again");
    ck_assert_int_eq(fetch(w, BOTH, 2, 1000, q, job), 1);
    ck_assert_str_eq(job, "again");
    release_ok(w);
    ck_assert_int_eq(ready_len(JOBS_QUEUE_RENDERS), 1);
    jobs_worker_free(w);
    rf_stop(&srv);
}
END_TEST

/* A hung (not dead) Redis: calls time out instead of hanging, and a move the server performs
 * after the worker gave up on the reply is returned to the queue on the next fetch. */
START_TEST(hung_redis_times_out_and_late_move_is_recovered)
{
    rf_redis_t srv = {0};
    ck_assert_int_eq(rf_start(&srv), 0);
    rf_use(&srv);
    char err[256], q[JOBS_QUEUE_MAX + 1], job[JOBS_ID_MAX + 1];
    jobs_worker_t *w = worker_ok("w1", 30);
    ck_assert_int_eq(fetch(w, BOTH, 2, 0, q, job), 0);
    enqueue_ok(JOBS_QUEUE_RENDERS, "late");

    kill(srv.pid, SIGSTOP);
    long t0 = rf_now_ms();
    ck_assert_int_eq(jobs_fetch(w, BOTH, 2, 0, q, sizeof q, job, sizeof job, err, sizeof err), -1);
    long took = rf_now_ms() - t0;
    ck_assert_msg(took >= JOBS_IO_TIMEOUT_MS - 100 && took < JOBS_IO_TIMEOUT_MS + 1500, "took %ld ms", took);
    kill(srv.pid, SIGCONT);

    /* Whether or not the server ran the abandoned move, the job is served exactly once. */
    ck_assert_int_eq(fetch(w, BOTH, 2, 1000, q, job), 1);
    ck_assert_str_eq(job, "late");
    ck_assert_int_eq(ready_len(JOBS_QUEUE_RENDERS), 0);
    ck_assert_int_eq(proc_len(JOBS_QUEUE_RENDERS, "w1"), 1);
    ack_ok(w, q, job);
    jobs_worker_free(w);
    rf_stop(&srv);
}
END_TEST

static void flush(void)
{
    rf_flushall();
}

static Suite *jobs_suite(void)
{
    Suite *s = suite_create("jobs");
    TCase *tc = tcase_create("queue");
    tcase_add_checked_fixture(tc, flush, NULL);
    tcase_add_test(tc, names_are_validated);
    tcase_add_test(tc, enqueue_fetch_ack_fifo);
    tcase_add_test(tc, renders_come_before_webhooks);
    tcase_add_test(tc, fetch_times_out_when_empty);
    tcase_add_test(tc, blocked_fetch_wakes_for_renders_and_webhooks);
    tcase_add_test(tc, competing_workers_get_each_job_once);
    tcase_add_test(tc, invalid_entries_are_dropped);
    tcase_add_test(tc, fetch_argument_limits);
    tcase_add_test(tc, heartbeat_sets_ttl_and_reregisters);
    tcase_add_test(tc, release_returns_everything);
    tcase_add_test(tc, reaper_leaves_live_workers_alone);
    tcase_add_test(tc, sigkilled_worker_jobs_are_reaped_and_redelivered);
    tcase_add_test(tc, scan_fallback_finds_unregistered_lists);
    tcase_add_test(tc, same_worker_id_recovers_its_old_list);
    tcase_add_test(tc, lost_reply_is_reconciled_after_reconnect);
    suite_add_tcase(s, tc);
    TCase *to = tcase_create("outage");
    tcase_add_test(to, survives_redis_restart);
    tcase_add_test(to, hung_redis_times_out_and_late_move_is_recovered);
    suite_add_tcase(s, to);
    return s;
}

int main(void)
{
    rf_main_start();
    return tu_run(jobs_suite());
}
