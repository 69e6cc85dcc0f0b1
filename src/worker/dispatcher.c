#include "worker/dispatcher.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bgthread.h"
#include "core/buf.h"
#include "core/errmsg.h"
#include "core/log.h"
#include "core/netguard.h"
#include "core/timeutil.h"
#include "db/batches_repo.h"
#include "db/db.h"
#include "db/renders_repo.h"
#include "db/webhooks_repo.h"
#include "core/metrics.h"
#include "queue/jobs.h"
#include "storage/storage.h"
#include "webhooks/webhook.h"

typedef enum {
    SETTLE_NONE,    /* the request is in flight (or the slot is free) */
    SETTLE_RECORD,  /* the attempt and its outcome wait to be recorded */
    SETTLE_RELEASE, /* the claim waits to be handed back uncounted (whdel_release) */
} settle_t;

/* One delivery in flight. */
typedef struct slot {
    bool busy;
    CURL *easy;
    netguard_t guard;
    struct curl_slist *headers;
    whdel_claim_t claim;
    char job[JOBS_ID_MAX + 1];
    buf_t answer;        /* the first WEBHOOK_SNIPPET_MAX bytes of the answer */
    size_t answer_bytes; /* all bytes read, up to DISPATCHER_READ_MAX */
    int64_t started_mono, started_unix_ms;
    char curl_error[CURL_ERROR_SIZE];
    /* An outcome the database could not take yet: retried every DISPATCHER_DB_RETRY_MS (the
     * slot stays busy) instead of leaving the delivery to its lease. */
    settle_t settle;
    whdel_attempt_t attempt; /* SETTLE_RECORD: error points into why, snippet into answer */
    whdel_outcome_t outcome;
    int retry_delay_ms;
    int64_t settle_at;
    char why[CURL_ERROR_SIZE + 64];
} slot_t;

typedef struct dispatcher {
    const config_t *cfg;
    char id[JOBS_ID_MAX + 1];
    jobs_worker_t *jobs;
    CURLM *multi;
    slot_t *slots;
    int n_slots, busy;
    int64_t next_heartbeat;
    int64_t paused_until; /* no new ids before this: the database failed a claim */
} dispatcher_t;

static dispatcher_t the;
static bgthread_t dispatcher;

static size_t on_answer(char *p, size_t size, size_t n, void *ud)
{
    slot_t *s = ud;
    size_t len = size * n;
    if (s->answer.len < WEBHOOK_SNIPPET_MAX)
        buf_put(&s->answer, p, /* best effort: the snippet is only shown in the delivery log */
                len < WEBHOOK_SNIPPET_MAX - s->answer.len ? len : WEBHOOK_SNIPPET_MAX - s->answer.len);
    s->answer_bytes += len;
    /* Enough is known after the status line; a huge answer is cut off (not an error). */
    return s->answer_bytes > DISPATCHER_READ_MAX ? 0 : len;
}

/* ---- one delivery ---- */

/* Records an attempt that made no request (subscription gone, interrupted too often). */
static void record_without_request(dispatcher_t *d, slot_t *s, const char *why)
{
    char err[ERRMSG_LEN];
    whdel_attempt_t a = {.started_unix_ms = time_now_ms(), .status_code = -1, .error = why};
    if (whdel_record(db_thread(), s->claim.id, d->id, s->claim.attempt, &a, WHDEL_ABANDONED, 0, err,
                     sizeof err) < 0)
        log_error("webhook delivery %s: cannot record: %s", s->claim.id, err);
    metrics_counter_add("craftkit_webhook_deliveries_total", "outcome=\"abandoned\"", 1);
}

/* The outcome of loading a delivery's subject: 0 (loaded), else ensure_payload's -1 / -2. */
static int subject_loaded(repo_status_t st, const char *what, const char *id, char *err, size_t err_len)
{
    if (st == REPO_NOT_FOUND)
        errmsg_fail(err, err_len, "%s %s is gone", what, id);
    return st == REPO_OK ? 0 : st == REPO_NOT_FOUND ? -2 : -1;
}

/* Stores body (taken) as the delivery's payload; see ensure_payload. */
static int store_payload(db_t *db, whdel_claim_t *c, char *body, char *err, size_t err_len)
{
    if (!body) {
        errmsg_fail(err, err_len, "cannot encode the webhook body");
        return -2;
    }
    int rc = whdel_set_payload(db, c->id, body, &c->payload, err, err_len);
    free(body);
    return rc;
}

/* A fresh link to a stored file for delivery_id's body, or NULL (no file, no store, or the
 * link could not be made: the body then says null and the log says why). Caller frees. */
static char *download_link(const char *delivery_id, const char *key, const char *filename, char *err,
                           size_t err_len)
{
    char *url = NULL;
    storage_t *store = storage_thread();
    if (store && key[0] && storage_download_url(store, key, filename, 0, &url, err, err_len) != 0)
        log_warn("webhook delivery %s: no download link: %s", delivery_id, err);
    return url;
}

/* The body of the first attempt (kept for the next ones): built now from the render, with a
 * fresh download link, or from the batch (its outcome and counts). 0, -1 + err when the
 * database failed (worth another try), -2 + err when the body cannot be built at all. */
static int ensure_payload(db_t *db, whdel_claim_t *c, char *err, size_t err_len)
{
    if (c->payload)
        return 0;
    if (c->batch_id[0]) {
        batch_row_t b;
        int rc = subject_loaded(batches_get(db, c->project_id, c->batch_id, &b, err, err_len), "batch",
                                c->batch_id, err, err_len);
        if (rc != 0)
            return rc;
        /* no link to a merged file that retention removed already */
        char *url =
            download_link(c->id, b.merge_expired_at[0] ? "" : b.merge_key, b.merge_filename, err, err_len);
        char *body = webhook_batch_payload(c->event, &b, url);
        free(url);
        batch_row_free(&b);
        return store_payload(db, c, body, err, err_len);
    }
    render_row_t row;
    int rc = subject_loaded(renders_get(db, c->project_id, c->render_id, &row, err, err_len), "render",
                            c->render_id, err, err_len);
    if (rc != 0)
        return rc;
    char *url = !strcmp(row.status, "succeeded")
                    ? download_link(c->id, row.storage_key, row.filename, err, err_len)
                    : NULL;
    char *body = webhook_payload(c->event, &row, url);
    free(url);
    return store_payload(db, c, body, err, err_len);
}

static void add_header(slot_t *s, const char *name, const char *value)
{
    char line[256];
    snprintf(line, sizeof line, "%s: %s", name, value);
    s->headers = curl_slist_append(s->headers, line);
}

/* Prepares the request of the claimed delivery on the slot's handle. */
static int prepare_request(dispatcher_t *d, slot_t *s)
{
    const whdel_claim_t *c = &s->claim;
    size_t len = strlen(c->payload);
    char sig[65], ts[24];
    snprintf(ts, sizeof ts, "%lld", (long long)(time_now_ms() / 1000));
    webhook_sign(c->secret, c->payload, len, sig);
    curl_slist_free_all(s->headers);
    s->headers = NULL;
    add_header(s, "Content-Type", "application/json");
    add_header(s, "User-Agent", WEBHOOK_USER_AGENT);
    add_header(s, "x-craftkit-event", c->event);
    add_header(s, "x-craftkit-signature", sig);
    if (c->previous_secret[0]) {
        webhook_sign(c->previous_secret, c->payload, len, sig);
        add_header(s, "x-craftkit-signature-previous", sig);
    }
    add_header(s, "x-craftkit-timestamp", ts);
    /* v2 covers the timestamp; the body-only headers above stay during the transition. */
    if (!webhook_sign_timestamped(c->secret, ts, c->payload, len, sig))
        return -1;
    add_header(s, "x-craftkit-signature-v2", sig);
    if (c->previous_secret[0]) {
        if (!webhook_sign_timestamped(c->previous_secret, ts, c->payload, len, sig))
            return -1;
        add_header(s, "x-craftkit-signature-v2-previous", sig);
    }
    add_header(s, "x-craftkit-delivery-id", c->id);
    s->headers = curl_slist_append(s->headers, "Expect:");
    CURL *e = s->easy;
    curl_easy_reset(e);
    s->guard.allow_private = d->cfg->allow_private_urls;
    if (netguard_setup_curl(e, &s->guard) != 0)
        return -1;
    int timeout = d->cfg->webhook_timeout_ms;
    curl_easy_setopt(e, CURLOPT_URL, c->url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->payload);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout < 5000 ? timeout : 5000));
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_answer);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->curl_error);
    curl_easy_setopt(e, CURLOPT_PRIVATE, s);
    s->curl_error[0] = '\0';
    buf_reset(&s->answer);
    s->answer_bytes = 0;
    return 0;
}

static void slot_release(dispatcher_t *d, slot_t *s)
{
    char err[ERRMSG_LEN];
    jobs_ack(d->jobs, JOBS_QUEUE_WEBHOOKS, s->job, err, sizeof err);
    whdel_claim_free(&s->claim);
    s->settle = SETTLE_NONE;
    if (s->busy) {
        s->busy = false;
        d->busy--;
    }
}

/* Writes the slot's pending outcome. true when it is settled (recorded, or the claim was lost
 * meanwhile) and the slot is free again; false when the database failed (tried again later). */
static bool try_settle(dispatcher_t *d, slot_t *s)
{
    char err[ERRMSG_LEN];
    db_t *db = db_thread();
    int rc = !db ? -1
             : s->settle == SETTLE_RECORD
                 ? whdel_record(db, s->claim.id, d->id, s->claim.attempt, &s->attempt, s->outcome,
                                s->retry_delay_ms, err, sizeof err)
                 : whdel_release(db, s->claim.id, d->id, DISPATCHER_DB_RETRY_MS, err, sizeof err);
    if (rc < 0) {
        log_warn("webhook delivery %s: cannot record %s (retrying): %s", s->claim.id,
                 s->settle == SETTLE_RECORD ? "the attempt" : "the hand-back",
                 db ? err : "no database connection");
        s->settle_at = time_mono_ms() + DISPATCHER_DB_RETRY_MS;
        if (!s->busy) {
            s->busy = true;
            d->busy++;
        }
        return false;
    }
    slot_release(d, s);
    return true;
}

/* Retries the outcomes the database could not take; when stopping, each gets one last try and
 * is then left to its lease. */
static void settle_pending(dispatcher_t *d)
{
    for (int i = 0; i < d->n_slots; i++) {
        slot_t *s = &d->slots[i];
        if (s->settle == SETTLE_NONE || time_mono_ms() < s->settle_at)
            continue;
        if (!try_settle(d, s) && bgthread_stopping(&dispatcher)) {
            log_warn("webhook delivery %s: left to its lease (stopping)", s->claim.id);
            slot_release(d, s);
        }
    }
}

/* Claims job and starts its request on a free slot. Returns true when the slot is now busy;
 * otherwise the job was settled here (acked, or handed back for a later try). */
static bool start_delivery(dispatcher_t *d, slot_t *s, const char *job)
{
    char err[ERRMSG_LEN];
    db_t *db = db_thread();
    snprintf(s->job, sizeof s->job, "%s", job);
    repo_status_t st =
        db ? whdel_claim(db, job, d->id, d->cfg->webhook_timeout_ms + DISPATCHER_LEASE_MARGIN_MS, &s->claim,
                         err, sizeof err)
           : REPO_ERROR;
    if (st == REPO_ERROR) {
        /* Database away: the id goes back to the queue and no new ids are taken for a while (the
         * transfers in flight go on). Without a push, the id stays in our processing list. */
        log_warn("webhook delivery %s: cannot claim (retrying later): %s", job,
                 db ? err : "no database connection");
        d->paused_until = time_mono_ms() + DISPATCHER_DB_RETRY_MS;
        if (jobs_enqueue(JOBS_QUEUE_WEBHOOKS, job, err, sizeof err) != 0)
            log_warn("webhook delivery %s: cannot push back: %s", job, err);
        else
            jobs_ack(d->jobs, JOBS_QUEUE_WEBHOOKS, job, err, sizeof err);
        return false;
    }
    if (st != REPO_OK) {
        jobs_ack(d->jobs, JOBS_QUEUE_WEBHOOKS, job, err, sizeof err);
        return false;
    }
    const char *skip = !s->claim.subscription_live ? "the subscription was paused or deleted"
                       : s->claim.attempt > s->claim.max_attempts
                           ? "interrupted too often (its dispatcher stopped)"
                           : NULL;
    int prc = skip ? 0 : ensure_payload(db, &s->claim, err, sizeof err);
    if (prc == -1) {
        /* A database error is no reason to give the delivery up: hand it back uncounted. */
        log_warn("webhook delivery %s: cannot build the body (retrying): %s", job, err);
        s->settle = SETTLE_RELEASE;
        return !try_settle(d, s);
    }
    if (prc == -2) {
        log_error("webhook delivery %s: %s", job, err);
        skip = "the render could not be read to build the body";
    }
    if (!skip && netguard_check_url(s->claim.url, err, sizeof err) != 0)
        skip = "the subscription URL is not valid";
    if (skip || prepare_request(d, s) != 0) {
        record_without_request(d, s, skip ? skip : "internal error: the request could not be prepared");
        whdel_claim_free(&s->claim);
        jobs_ack(d->jobs, JOBS_QUEUE_WEBHOOKS, job, err, sizeof err);
        return false;
    }
    s->started_mono = time_mono_ms();
    s->started_unix_ms = time_now_ms();
    s->busy = true;
    d->busy++;
    curl_multi_add_handle(d->multi, s->easy);
    return true;
}

/* What went wrong with a transfer, for the delivery log; NULL for a 2xx. */
static const char *attempt_error(const slot_t *s, CURLcode rc, long code, char *buf, size_t len)
{
    bool answered = code > 0 && (rc == CURLE_OK || rc == CURLE_WRITE_ERROR);
    if (answered && code >= 200 && code < 300)
        return NULL;
    if (answered)
        snprintf(buf, len, "HTTP %ld", code);
    else if (s->guard.refused)
        snprintf(buf, len, "%s", NETGUARD_REFUSED_MSG);
    else if (rc == CURLE_OPERATION_TIMEDOUT)
        snprintf(buf, len, "timed out after %d ms", (int)(time_mono_ms() - s->started_mono));
    else
        snprintf(buf, len, "%s", s->curl_error[0] ? s->curl_error : curl_easy_strerror(rc));
    return buf;
}

static void finish_delivery(dispatcher_t *d, slot_t *s, CURLcode rc)
{
    long code = 0;
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
    bool answered = code > 0 && (rc == CURLE_OK || rc == CURLE_WRITE_ERROR);
    s->attempt = (whdel_attempt_t){.started_unix_ms = s->started_unix_ms,
                                   .duration_ms = (int)(time_mono_ms() - s->started_mono),
                                   .status_code = answered ? (int)code : -1,
                                   .error = attempt_error(s, rc, code, s->why, sizeof s->why),
                                   .snippet = s->answer.len ? buf_cstr(&s->answer) : NULL};
    const whdel_attempt_t *a = &s->attempt;
    s->outcome = !a->error                                  ? WHDEL_DELIVERED
                 : s->claim.attempt < s->claim.max_attempts ? WHDEL_RETRY
                                                            : WHDEL_ABANDONED;
    s->retry_delay_ms = webhook_retry_delay_ms(d->cfg->webhook_backoff_base_ms, s->claim.attempt);
    static const char *const labels[] = {"outcome=\"delivered\"", "outcome=\"retry\"",
                                         "outcome=\"abandoned\""};
    metrics_counter_add("craftkit_webhook_attempts_total", labels[s->outcome], 1);
    if (s->outcome != WHDEL_RETRY)
        metrics_counter_add("craftkit_webhook_deliveries_total", labels[s->outcome], 1);
    metrics_histogram_observe("craftkit_webhook_seconds", NULL, a->duration_ms / 1000.0);
    curl_multi_remove_handle(d->multi, s->easy);
    s->settle = SETTLE_RECORD;
    try_settle(d, s);
}

/* ---- the loop ---- */

static slot_t *free_slot(dispatcher_t *d)
{
    for (int i = 0; i < d->n_slots; i++)
        if (!d->slots[i].busy)
            return &d->slots[i];
    return NULL;
}

/* Takes new ids while slots are free: waits a little for one only when idle. */
static void take_work(dispatcher_t *d, int *backoff)
{
    static const char *const queues[] = {JOBS_QUEUE_WEBHOOKS};
    slot_t *s;
    int64_t pause = d->paused_until - time_mono_ms();
    if (pause > 0 && !d->busy) /* nothing else to wait on: do not spin */
        time_sleep_ms(pause < DISPATCHER_BUSY_POLL_MS ? (int)pause : DISPATCHER_BUSY_POLL_MS);
    while (!bgthread_stopping(&dispatcher) && time_mono_ms() >= d->paused_until &&
           (s = free_slot(d)) != NULL) {
        char queue[JOBS_QUEUE_MAX + 1], job[JOBS_ID_MAX + 1], err[ERRMSG_LEN];
        int rc = jobs_fetch(d->jobs, queues, 1, d->busy ? 0 : DISPATCHER_IDLE_BLOCK_MS, queue, sizeof queue,
                            job, sizeof job, err, sizeof err);
        if (rc < 0) {
            log_warn("webhook dispatcher: cannot fetch (retrying): %s", err);
            if (!d->busy) {
                time_sleep_ms(*backoff);
                *backoff = *backoff * 2 > 5000 ? 5000 : *backoff * 2;
            }
            return;
        }
        *backoff = 250;
        if (rc == 0)
            return;
        start_delivery(d, s, job);
    }
}

static void heartbeat(dispatcher_t *d)
{
    if (time_mono_ms() < d->next_heartbeat)
        return;
    char err[ERRMSG_LEN];
    if (jobs_heartbeat(d->jobs, d->cfg->heartbeat_ttl_s, err, sizeof err) != 0)
        log_warn("webhook dispatcher: heartbeat failed: %s", err);
    d->next_heartbeat = time_mono_ms() + d->cfg->heartbeat_ttl_s * 1000 / 3;
}

static void pump(dispatcher_t *d)
{
    int running = 0;
    curl_multi_perform(d->multi, &running);
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(d->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        slot_t *s = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
        finish_delivery(d, s, m->data.result);
    }
    if (d->busy)
        curl_multi_poll(d->multi, NULL, 0, DISPATCHER_BUSY_POLL_MS, NULL);
}

static void *dispatcher_main(void *arg)
{
    dispatcher_t *d = arg;
    db_thread_async_commit(); /* a lost outcome means one more delivery: at-least-once anyway */
    char err[ERRMSG_LEN];
    int backoff = 250;
    while (!bgthread_stopping(&dispatcher) && !d->jobs) {
        d->jobs = jobs_worker_new_ttl(d->id, d->cfg->heartbeat_ttl_s, err, sizeof err);
        if (!d->jobs) {
            log_warn("webhook dispatcher: cannot register with Redis (retrying): %s", err);
            time_sleep_ms(backoff);
            backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
        }
    }
    d->next_heartbeat = time_mono_ms() + d->cfg->heartbeat_ttl_s * 1000 / 3;
    while (d->jobs && (!bgthread_stopping(&dispatcher) || d->busy > 0)) {
        take_work(d, &backoff);
        heartbeat(d);
        pump(d);
        settle_pending(d);
    }
    if (d->jobs && jobs_worker_release(d->jobs, err, sizeof err) != 0)
        log_warn("webhook dispatcher: could not give jobs back (the reaper will): %s", err);
    return NULL;
}

int dispatcher_start(const config_t *cfg, char *err, size_t err_len)
{
    memset(&the, 0, sizeof the);
    if (cfg->webhook_concurrency == 0)
        return 0;
    the.cfg = cfg;
    snprintf(the.id, sizeof the.id, "%s:webhooks", cfg->instance_id);
    the.n_slots = cfg->webhook_concurrency;
    the.slots = calloc((size_t)the.n_slots, sizeof *the.slots);
    the.multi = curl_multi_init();
    if (!the.slots || !the.multi)
        return errmsg_fail(err, err_len, "out of memory");
    for (int i = 0; i < the.n_slots; i++) {
        the.slots[i].easy = curl_easy_init();
        buf_init(&the.slots[i].answer, WEBHOOK_SNIPPET_MAX + 1);
        if (!the.slots[i].easy)
            return errmsg_fail(err, err_len, "out of memory");
    }
    return bgthread_start(&dispatcher, dispatcher_main, &the, "the webhook dispatcher thread", err, err_len);
}

void dispatcher_stop(void)
{
    bgthread_stop(&dispatcher);
    for (int i = 0; i < the.n_slots && the.slots; i++) {
        curl_easy_cleanup(the.slots[i].easy);
        curl_slist_free_all(the.slots[i].headers);
        buf_free(&the.slots[i].answer);
    }
    if (the.multi)
        curl_multi_cleanup(the.multi);
    jobs_worker_free(the.jobs);
    free(the.slots);
    memset(&the, 0, sizeof the);
}
