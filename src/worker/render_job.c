#include "worker/render_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/backoff.h"
#include "core/config.h"
#include "core/errmsg.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "db/batches_repo.h"
#include "db/renders_repo.h"
#include "db/webhooks_repo.h"
#include "queue/jobs.h"
#include "core/metrics.h"
#include "storage/storage.h"
#include "webhooks/webhook.h"
#include "worker/assetcache.h"
#include "worker/batchmerge.h"
#include "worker/compiled.h"
#include "worker/pdfopts.h"

#define RETRY_DELAY_MAX_MS (10 * 60 * 1000)

static void log_render(const char *msg, const worker_t *w, const char *render_id, int attempts,
                       const char *detail)
{
    char attempt[16];
    snprintf(attempt, sizeof attempt, "%d", attempts);
    log_event(LOG_INFO, msg, "render", render_id, "worker", w->id, "attempt", attempt, "detail", detail,
              NULL);
}

#define CLAIM_LOST_MSG "render finished after its claim was lost; result discarded"

/* A terminal statement (renders_succeed/renders_fail) failed: true, after a pause of
 * TERMINAL_RETRY_MS, while it is worth running it again. The outcome is in hand, and recording
 * it as soon as Postgres is back beats a re-render once the lease has expired; so it is tried
 * for up to one lease. The claim still decides: once another worker has taken the render over,
 * the statement matches nothing. */
#define TERMINAL_RETRY_MS 250
static bool retry_terminal(const worker_t *w, const char *render_id, int64_t *give_up, const char *err)
{
    if (*give_up == 0)
        *give_up = time_mono_ms() + (int64_t)w->cfg->heartbeat_ttl_s * 1000;
    if (time_mono_ms() >= *give_up)
        return false;
    log_warn("render %s: cannot record the outcome (retrying): %s", render_id, err);
    time_sleep_ms(TERMINAL_RETRY_MS);
    return true;
}

void render_job_settle_batch(db_t *db, const char *batch_id)
{
    render_deliveries_t dl;
    char err[ERRMSG_LEN];
    /* Every item but the last stops here, at one index probe. */
    int open = batches_has_open_items(db, batch_id, err, sizeof err);
    if (open != 0) {
        if (open < 0)
            log_warn("batch %s: cannot settle now (the sweeper will): %s", batch_id, err);
        return;
    }
    /* A merged output is made before the batch settles (nothing to do without one). */
    if (batchmerge_run(db, batch_id, config_get()->heartbeat_ttl_s * 1000) < 0)
        return;
    int rc = batches_settle(db, batch_id, &dl, err, sizeof err);
    if (rc < 0) {
        log_warn("batch %s: cannot settle now (the sweeper will): %s", batch_id, err);
        return;
    }
    if (rc > 0) {
        log_event(LOG_INFO, "batch completed", "batch", batch_id, NULL);
        metrics_counter_add("craftkit_batches_completed_total", NULL, 1);
        webhook_push_deliveries(db, &dl);
    }
}

/* A render became terminal here: deliveries and sync waiters (its batch is the caller's). */
static void render_terminal_notify(worker_t *w, db_t *db, const char *render_id,
                                   const render_deliveries_t *dl)
{
    webhook_push_deliveries(db, dl);
    if (w->on_terminal)
        w->on_terminal(render_id);
}

/* A render became terminal here: deliveries, sync waiters, and its batch's outcome. */
static void render_terminal(worker_t *w, db_t *db, const render_claim_t *c, const render_deliveries_t *dl)
{
    render_terminal_notify(w, db, c->id, dl);
    if (c->batch_id[0])
        render_job_settle_batch(db, c->batch_id);
}

/* After a failed attempt: retry later, or fail for good after the last attempt. */
static job_result_t attempt_failed(worker_t *w, db_t *db, const render_claim_t *c, const char *why)
{
    char err[ERRMSG_LEN];
    int rc;
    if (c->attempts < RENDER_MAX_ATTEMPTS) {
        int delay = backoff_delay_ms(w->cfg->render_backoff_base_ms, c->attempts, RETRY_DELAY_MAX_MS);
        rc = renders_retry(db, c->id, w->id, delay, why, err, sizeof err);
        log_render("render attempt failed; will retry", w, c->id, c->attempts, why);
        metrics_counter_add("craftkit_render_retries_total", NULL, 1);
    } else {
        render_deliveries_t dl;
        int64_t give_up = 0;
        while ((rc = renders_fail(db, c->id, w->id, why, &dl, err, sizeof err)) < 0 &&
               retry_terminal(w, c->id, &give_up, err))
            ;
        log_render("render failed", w, c->id, c->attempts, why);
        if (rc > 0) {
            metrics_counter_add("craftkit_renders_completed_total", "status=\"failed\"", 1);
            render_terminal(w, db, c, &dl);
        }
    }
    if (rc < 0) {
        log_error("render %s: cannot record the failure: %s", c->id, err);
        return JOB_RETRY_LATER;
    }
    return JOB_DONE;
}

/* Renders and stores; 0, or -1 with a message for the user in why. With pending, the store's
 * sync is left to it (render_job_flush runs it). */
static int render_and_store(worker_t *w, db_t *db, const render_claim_t *c, storage_sync_t *pending,
                            char *key, size_t key_len, engine_output_t *out, char *sha, char *why,
                            size_t why_len)
{
    char err[ERRMSG_LEN];
    compiled_t *compiled = compiled_get(db, c->version_id, err, sizeof err);
    if (!compiled)
        return errmsg_fail(why, why_len, "the template version could not be loaded: %s", err);
    engine_render_opts_t ro = {.format = ENGINE_PDF,
                               .watermark = c->test ? "TEST" : NULL,
                               .creation_time = c->created_unix,
                               .deadline_ms = time_mono_ms() + w->cfg->render_timeout_ms};
    pdfopts_t po;
    int rc = pdfopts_read(c->options, &po, NULL, why, why_len); /* checked at submission already */
    pdfopts_apply(&po, &ro);
    sandbox_template_t tpl;
    compiled_sandbox_template(compiled, &tpl);
    assetcache_set_t assets = {0};
    if (rc == 0)
        rc = assetcache_load(db, c->project_id, c->version_id, &assets, why, why_len);
    ro.assets = assets.assets;
    ro.nassets = assets.n;
    /* In the worker's helper process: killed past the deadline or its memory budget. */
    if (rc == 0)
        rc = sandbox_render_text(w->sandbox, &tpl, c->data, c->data_len, &ro, w->cfg->render_timeout_ms, out,
                                 why, why_len);
    assetcache_set_free(&assets);
    pdfopts_free(&po);
    compiled_release(compiled);
    if (rc != 0)
        return -1;
    storage_t *s = storage_thread();
    if (storage_render_key(c->project_id, c->id, c->filename, key, key_len) != 0)
        return errmsg_fail(why, why_len, "internal error: no storage key for this render");
    int stored = !s ? -1
                 : pending
                     ? storage_put_deferred(s, key, out->data, out->len, "application/pdf", sha, pending, err,
                                            sizeof err)
                     : storage_put(s, key, out->data, out->len, "application/pdf", sha, err, sizeof err);
    if (stored != 0)
        return errmsg_fail(why, why_len, "the PDF could not be stored: %s",
                           s ? err : "storage is not configured");
    return 0;
}

/* Records a stored render's success now. */
static job_result_t record_success(worker_t *w, db_t *db, const render_claim_t *c, const char *key,
                                   const engine_output_t *out, const char *sha, int64_t started)
{
    render_deliveries_t dl;
    char err[ERRMSG_LEN];
    int64_t give_up = 0;
    int rc;
    while ((rc = renders_succeed(db, c->id, w->id, key, out->pages, out->len, sha, &dl, err, sizeof err)) <
               0 &&
           retry_terminal(w, c->id, &give_up, err))
        ;
    if (rc < 0) {
        log_error("render %s: stored, but cannot record success: %s", c->id, err);
        return JOB_RETRY_LATER;
    }
    if (rc == 0) {
        log_render(CLAIM_LOST_MSG, w, c->id, c->attempts, key);
        return JOB_DONE;
    }
    metrics_counter_add("craftkit_renders_completed_total", "status=\"succeeded\"", 1);
    metrics_histogram_observe("craftkit_render_seconds", NULL, (double)(time_mono_ms() - started) / 1e3);
    render_terminal(w, db, c, &dl);
    return JOB_DONE;
}

/* Adds a stored render's success to the group, to be recorded by render_job_flush. */
static void group_add(render_group_t *g, const render_claim_t *c, const char *key, const engine_output_t *out,
                      const char *sha, int64_t started)
{
    render_stored_t *it = &g->items[g->n];
    memset(it, 0, sizeof *it);
    snprintf(it->id, sizeof it->id, "%s", c->id);
    snprintf(it->batch_id, sizeof it->batch_id, "%s", c->batch_id);
    snprintf(it->key, sizeof it->key, "%s", key);
    snprintf(it->sha, sizeof it->sha, "%s", sha);
    it->attempts = c->attempts;
    it->pages = out->pages;
    it->bytes = out->len;
    it->started_mono_ms = started;
    if (g->n++ == 0)
        g->first_mono_ms = time_mono_ms();
}

job_result_t render_job_run(worker_t *w, const char *render_id, render_group_t *group)
{
    db_t *db = db_thread();
    if (!db)
        return JOB_RETRY_LATER;
    render_claim_t c;
    char err[ERRMSG_LEN];
    repo_status_t st =
        renders_claim(db, render_id, w->id, w->cfg->heartbeat_ttl_s * 1000, &c, err, sizeof err);
    if (st == REPO_NOT_FOUND)
        return JOB_DONE; /* finished, held by someone else, not due yet, or never committed */
    if (st != REPO_OK) {
        log_error("render %s: cannot claim: %s", render_id, err);
        return JOB_RETRY_LATER;
    }
    pool_hold(w, c.id);
    job_result_t result;
    if (c.attempts > RENDER_MAX_ATTEMPTS) {
        /* Every earlier attempt died without recording an outcome (crash, kill, lost lease). */
        char why[160];
        snprintf(why, sizeof why,
                 "the render was interrupted %d times (its worker stopped while rendering); "
                 "giving up",
                 RENDER_MAX_ATTEMPTS);
        c.attempts = RENDER_MAX_ATTEMPTS;
        result = attempt_failed(w, db, &c, why);
        free(c.data);
        json_decref(c.options);
        return result;
    }
    int64_t started = time_mono_ms();
    engine_output_t out = {0};
    char key[STORAGE_KEY_MAX + 1], sha[65], why[1024];
    bool grouped = group && c.batch_id[0] && group->n < POOL_GROUP_MAX;
    if (render_and_store(w, db, &c, grouped ? &group->sync : NULL, key, sizeof key, &out, sha, why,
                         sizeof why) != 0) {
        result = attempt_failed(w, db, &c, why);
    } else if (grouped) {
        group_add(group, &c, key, &out, sha, started);
        result = JOB_DEFERRED;
    } else {
        result = record_success(w, db, &c, key, &out, sha, started);
    }
    engine_output_free(&out);
    free(c.data);
    json_decref(c.options);
    return result;
}

bool render_group_due(const worker_t *w, const render_group_t *g)
{
    return g->n > 0 &&
           (g->n >= POOL_GROUP_MAX || time_mono_ms() - g->first_mono_ms >= w->cfg->batch_group_ms);
}

_Static_assert(POOL_GROUP_MAX <= RENDER_SUCCEED_MANY_MAX, "a group is recorded in one statement");

/* The group's terminal statement. 0, or -1 + err (nothing of the group is recorded). */
static int record_group(db_t *db, worker_t *w, render_group_t *g, char *err, size_t err_len)
{
    render_success_t v[POOL_GROUP_MAX];
    for (int i = 0; i < g->n; i++) {
        const render_stored_t *it = &g->items[i];
        v[i] = (render_success_t){it->id, it->key, it->sha, it->pages, it->bytes};
    }
    return renders_succeed_many(db, w->id, v, g->n, g->done, g->deliveries, err, err_len);
}

/* After the group's statement: metrics, deliveries and waiters per item, then each batch once. */
static void group_recorded(worker_t *w, db_t *db, const render_group_t *g)
{
    for (int i = 0; i < g->n; i++) {
        const render_stored_t *it = &g->items[i];
        if (!g->done[i]) {
            log_render(CLAIM_LOST_MSG, w, it->id, it->attempts, it->key);
            continue;
        }
        metrics_counter_add("craftkit_renders_completed_total", "status=\"succeeded\"", 1);
        metrics_histogram_observe("craftkit_render_seconds", NULL,
                                  (double)(time_mono_ms() - it->started_mono_ms) / 1e3);
        render_terminal_notify(w, db, it->id, &g->deliveries[i]);
    }
    /* The last open item of a batch settles it; one probe per batch of the group is enough. */
    for (int i = 0; i < g->n; i++) {
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = !strcmp(g->items[j].batch_id, g->items[i].batch_id);
        if (!seen)
            render_job_settle_batch(db, g->items[i].batch_id);
    }
}

job_result_t render_job_flush(worker_t *w, render_group_t *g)
{
    if (g->n == 0)
        return JOB_DONE;
    char err[ERRMSG_LEN] = "no database connection";
    db_t *db = db_thread();
    storage_t *s = storage_thread();
    int rc = -1;
    if (s && storage_sync_run(s, &g->sync, err, sizeof err) != 0) {
        /* Not durable: the items are rendered again once their leases expire. */
        log_error("renders %s and %d more: stored, but not synced: %s", g->items[0].id, g->n - 1, err);
    } else {
        int64_t give_up = 0;
        while (db && (rc = record_group(db, w, g, err, sizeof err)) < 0 &&
               retry_terminal(w, g->items[0].id, &give_up, err))
            ;
        if (rc < 0)
            log_error("renders %s and %d more: stored, but cannot record success: %s", g->items[0].id,
                      g->n - 1, err);
    }
    if (rc == 0)
        group_recorded(w, db, g);
    for (int i = 0; i < g->n; i++)
        pool_unhold(w, g->items[i].id);
    return rc == 0 ? JOB_DONE : JOB_RETRY_LATER;
}
