#include "worker/sweeper.h"

#include <stdio.h>
#include <string.h>

#include "core/bgthread.h"
#include "core/errmsg.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/uuid7.h"
#include "db/batches_repo.h"
#include "db/db.h"
#include "db/renders_repo.h"
#include "db/webhooks_repo.h"
#include "core/metrics.h"
#include "queue/jobs.h"
#include "queue/redis.h"
#include "storage/storage.h"
#include "worker/render_job.h"

static bgthread_t sweeper;
static char epoch_seen[UUID_STR_LEN + 1];

/* 1 when Redis lost its data since the last look (or we cannot tell it did not), 0 when it
 * kept it, -1 when Redis cannot be asked. */
static int redis_lost_data(void)
{
    char fresh[UUID_STR_LEN + 1], err[ERRMSG_LEN];
    uuid7_new_str(fresh);
    const char *set[] = {"SET", SWEEPER_EPOCH_KEY, fresh, "NX"};
    redisReply *r = redis_cmd_argv(4, set, NULL, err, sizeof err);
    if (!r)
        return -1;
    bool created = r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    if (created) {
        snprintf(epoch_seen, sizeof epoch_seen, "%s", fresh);
        return 1; /* a new (or emptied) Redis: nothing queued before now is in it */
    }
    const char *get[] = {"GET", SWEEPER_EPOCH_KEY};
    r = redis_cmd_argv(2, get, NULL, err, sizeof err);
    if (!r)
        return -1;
    int lost = 0;
    if (r->type == REDIS_REPLY_STRING) {
        lost = epoch_seen[0] && strcmp(epoch_seen, r->str) != 0;
        snprintf(epoch_seen, sizeof epoch_seen, "%.*s", (int)r->len, r->str);
    }
    freeReplyObject(r);
    return lost;
}

/* 1 when Postgres restarted since the last everything-pass of any instance (or we cannot
 * tell it did not): worker sessions commit claims and webhook outcomes with
 * synchronous_commit = off, so a crash may have put rows back to a state whose id no queue
 * holds any more. 0 when not, -1 when either store cannot be asked. The start time seen is
 * copied to started, to be remembered with remember_postgres() once the pass went through. */
static int postgres_restarted(db_t *db, char *started, size_t len)
{
    char err[ERRMSG_LEN];
    if (db_server_started(db, started, len, err, sizeof err) != 0 || !started[0])
        return -1;
    const char *get[] = {"GET", SWEEPER_PG_EPOCH_KEY};
    redisReply *r = redis_cmd_argv(2, get, NULL, err, sizeof err);
    if (!r)
        return -1;
    int restarted = r->type != REDIS_REPLY_STRING || strcmp(r->str, started) != 0;
    freeReplyObject(r);
    return restarted;
}

static void remember_postgres(const char *started)
{
    char err[ERRMSG_LEN];
    const char *set[] = {"SET", SWEEPER_PG_EPOCH_KEY, started};
    redisReply *r = redis_cmd_argv(3, set, NULL, err, sizeof err);
    if (r)
        freeReplyObject(r);
    else
        log_warn("sweeper: %s", err);
}

typedef int (*pick_fn)(db_t *db, long long all_before_ms, char (*ids)[37], int max, char *err,
                       size_t err_len);

/* What the sweeper keeps in step: renders and webhook deliveries. */
static const struct {
    const char *name, *queue;
    pick_fn pick;
} sweeps[] = {
    {"renders", JOBS_QUEUE_RENDERS, renders_sweep_pick},
    {"batch renders", JOBS_QUEUE_BATCH_RENDERS, renders_sweep_pick_batch},
    {"webhook deliveries", JOBS_QUEUE_WEBHOOKS, whdel_sweep_pick},
};

/* One batch: pick, push, commit. Returns ids pushed, or -1. */
static int sweep_batch(db_t *db, int which, long long all_before_ms)
{
    char ids[SWEEPER_BATCH][37];
    const char *ptrs[SWEEPER_BATCH];
    char err[ERRMSG_LEN];
    if (db_begin(db, err, sizeof err) != 0)
        goto fail;
    int n = sweeps[which].pick(db, all_before_ms, ids, SWEEPER_BATCH, err, sizeof err);
    if (n < 0) {
        db_rollback(db);
        goto fail;
    }
    for (int i = 0; i < n; i++)
        ptrs[i] = ids[i];
    if (n > 0 && jobs_enqueue_many(sweeps[which].queue, ptrs, n, err, sizeof err) != 0) {
        db_rollback(db);
        goto fail;
    }
    if (db_commit(db, err, sizeof err) != 0)
        goto fail;
    return n;
fail:
    log_warn("sweeper: %s", err);
    return -1;
}

/* Pushes what is due; with a reason, every due row whenever it was pushed last. false when a
 * batch failed. */
static bool sweep(db_t *db, const char *everything)
{
    long long before = everything ? 0 : SWEEPER_REQUEUE_AFTER_MS;
    bool ok = true;
    for (int which = 0; which < (int)(sizeof sweeps / sizeof sweeps[0]); which++) {
        int total = 0, n = 0;
        while (!bgthread_stopping(&sweeper) && (n = sweep_batch(db, which, before)) > 0) {
            total += n;
            if (n < SWEEPER_BATCH)
                break;
        }
        ok = ok && n >= 0;
        if (total == 0)
            continue;
        char count[16];
        snprintf(count, sizeof count, "%d", total);
        log_event(LOG_INFO, "sweeper re-enqueued", "what", sweeps[which].name, "count", count, "reason",
                  everything ? everything : "due or orphaned", NULL);
        char label[64];
        snprintf(label, sizeof label, "queue=\"%s\"", sweeps[which].queue);
        metrics_counter_add("craftkit_sweeper_requeued_total", label, total);
    }
    return ok;
}

static void publish_backlog(db_t *db)
{
    long long queued = 0, rendering = 0;
    char err[ERRMSG_LEN];
    if (renders_backlog(db, &queued, &rendering, err, sizeof err) == 0) {
        metrics_gauge_set("craftkit_renders_backlog", "status=\"queued\"", (double)queued);
        metrics_gauge_set("craftkit_renders_backlog", "status=\"rendering\"", (double)rendering);
    }
    long len = jobs_queue_length(JOBS_QUEUE_RENDERS, err, sizeof err);
    if (len >= 0)
        metrics_gauge_set("craftkit_queue_length", "queue=\"renders\"", (double)len);
}

typedef int (*expire_fn)(db_t *db, int default_days, char (*keys)[RENDER_STORAGE_KEY_MAX], int max, char *err,
                         size_t err_len);

/* What retention removes: render files and data, merged files of batches. */
static const struct {
    const char *name, *metric;
    expire_fn pick;
} expiries[] = {
    {"renders", "craftkit_renders_expired_total", renders_expire_pick},
    {"merged batch files", "craftkit_batch_merges_expired_total", batches_merge_expire_pick},
};

/* Retention: one bounded batch of each kind per pass. The rows are marked, the files go, then
 * the commit; should a deletion fail (or the process die before the commit), the batch rolls
 * back and is tried again on the next pass (deleting a file twice, or a missing one, is
 * harmless). */
static void expire(db_t *db, int which, int default_days)
{
    static char keys[SWEEPER_RETENTION_BATCH][RENDER_STORAGE_KEY_MAX];
    char err[ERRMSG_LEN];
    storage_t *st = storage_thread();
    if (!st || db_begin(db, err, sizeof err) != 0)
        return;
    int n = expiries[which].pick(db, default_days, keys, SWEEPER_RETENTION_BATCH, err, sizeof err);
    for (int i = 0; i < n; i++) {
        if (keys[i][0] && storage_delete(st, keys[i], err, sizeof err) != 0) {
            n = -1;
            break;
        }
    }
    if (n < 0) {
        log_warn("sweeper: retention of %s: %s", expiries[which].name, err);
        db_rollback(db);
        return;
    }
    if (db_commit(db, err, sizeof err) != 0) {
        log_warn("sweeper: retention of %s: %s", expiries[which].name, err);
        return;
    }
    if (n > 0)
        metrics_counter_add(expiries[which].metric, NULL, n);
}

/* Batches whose last item's worker stopped before settling them (kill -9 between the item's
 * terminal statement and batches_settle): settled here, still exactly once. */
static void settle_batches(db_t *db)
{
    char ids[SWEEPER_BATCH][37], err[ERRMSG_LEN];
    int n = batches_pick_settleable(db, ids, SWEEPER_BATCH, err, sizeof err);
    if (n < 0)
        log_warn("sweeper: batches: %s", err);
    for (int i = 0; i < n && !bgthread_stopping(&sweeper); i++)
        render_job_settle_batch(db, ids[i]);
}

static void pass(bool scan)
{
    char err[ERRMSG_LEN];
    int moved = 0;
    if ((scan ? jobs_reap_scan(&moved, err, sizeof err) : jobs_reap(&moved, err, sizeof err)) != 0)
        log_debug("sweeper: reap: %s", err);
    if (moved > 0)
        metrics_counter_add("craftkit_reaped_jobs_total", NULL, moved);
    db_t *db = db_thread();
    if (!db)
        return;
    int lost = redis_lost_data();
    if (lost < 0)
        return; /* Redis is away: nothing can be pushed; the next pass tries again */
    char pg_started[64];
    int restarted = postgres_restarted(db, pg_started, sizeof pg_started);
    bool ok = sweep(db, lost == 1 ? "redis lost its data" : restarted == 1 ? "postgres restarted" : NULL);
    if (ok && restarted == 1)
        remember_postgres(pg_started);
    settle_batches(db);
    for (int which = 0; which < (int)(sizeof expiries / sizeof expiries[0]); which++)
        expire(db, which, config_get()->retention_days);
    publish_backlog(db);
}

static void *sweeper_main(void *arg)
{
    const config_t *cfg = arg;
    int64_t next_scan = 0;
    while (!bgthread_stopping(&sweeper)) {
        bool scan = time_mono_ms() >= next_scan;
        if (scan)
            next_scan = time_mono_ms() + SWEEPER_SCAN_EVERY_MS;
        pass(scan);
        bgthread_sleep(&sweeper, cfg->sweep_interval_ms);
    }
    return NULL;
}

int sweeper_start(const config_t *cfg, char *err, size_t err_len)
{
    return bgthread_start(&sweeper, sweeper_main, (void *)cfg, "the sweeper thread", err, err_len);
}

void sweeper_stop(void)
{
    bgthread_stop(&sweeper);
}
