/* POST /v1/templates/:slug/render, GET /v1/renders, GET /v1/renders/:id[/download]. */
#include "api/renders.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/common.h"
#include "api/syncwait.h"
#include "api/templates.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/errmsg.h"
#include "core/log.h"
#include "core/slug.h"
#include "core/timeutil.h"
#include "core/uuid7.h"
#include "core/metrics.h"
#include "manifest/strfmt.h"
#include "http/router.h"
#include "queue/jobs.h"
#include "queue/ratelimit.h"
#include "webhooks/webhook.h"
#include "worker/compiled.h"
#include "storage/download.h"
#include "storage/storage.h"
#include "worker/pdfopts.h"
#include "worker/render_job.h"

#define RENDER_NOT_FOUND_MSG "No render with that id in this project"
#define RENDER_POLL_AFTER_S "1" /* Retry-After of a GET of a render not done yet */
#define SYNC_MAX_REWAITS 4      /* fired-before-park loops before answering as is */

/* Kept across suspend/resume of a sync request. */
typedef struct sync_state {
    char id[37];
    int64_t deadline;
    int pending_status; /* answer when not terminal: 202 (new render) or 200 (replay) */
    bool minimal;
} sync_state_t;

/* ---- rate limit ---- */

bool api_rate_limit(http_req_t *req)
{
    const config_t *cfg = config_get();
    double rate = req->auth.rate_limit > 0 ? req->auth.rate_limit : cfg->rate_limit;
    int burst = req->auth.rate_burst > 0 ? req->auth.rate_burst : cfg->rate_burst;
    ratelimit_result_t r;
    char err[ERRMSG_LEN];
    if (ratelimit_take(req->auth.project_id, rate, burst, &r, err, sizeof err) != 0) {
        log_warn("rate limit unavailable, letting the request through: %s", err);
        return true;
    }
    char limit[16], remaining[16], reset[16], retry_after[16];
    ratelimit_headers(&r, limit, remaining, reset, retry_after);
    http_add_header(req, "RateLimit-Limit", limit);
    http_add_header(req, "RateLimit-Remaining", remaining);
    http_add_header(req, "RateLimit-Reset", reset);
    if (r.allowed)
        return true;
    http_add_header(req, "Retry-After", retry_after);
    metrics_counter_add("craftkit_rate_limited_total", NULL, 1);
    char msg[160];
    snprintf(msg, sizeof msg, "Too many render requests for this project; retry in %s s", retry_after);
    http_error(req, 429, "rate_limited", msg, NULL);
    return false;
}

/* ---- the render object ---- */

static json_t *int_or_null(long long v)
{
    return v >= 0 ? json_integer(v) : json_null();
}

static json_t *poll_url(const char *id)
{
    char url[1024];
    snprintf(url, sizeof url, "%s/v1/renders/%s", config_get()->public_url, id);
    return json_string(url);
}

/* A fresh download link for a succeeded render; null otherwise (or when storage cannot sign). */
static json_t *fresh_download_url(const render_row_t *row)
{
    if (strcmp(row->status, "succeeded") || !row->storage_key[0] || row->deleted_at[0] || row->expired_at[0])
        return json_null();
    return api_download_url(row->storage_key, row->filename, "render", row->id);
}

json_t *api_job_json(const char *id, const char *status, const char *template_id, const char *template_slug,
                     int version_number, bool test)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "status", json_string(status));
    json_object_set_new(o, "templateId", json_string(template_id));
    json_object_set_new(o, "templateSlug", json_string(template_slug));
    json_object_set_new(o, "versionNumber", json_integer(version_number));
    json_object_set_new(o, "test", json_boolean(test));
    return o;
}

json_t *api_render_json(const render_row_t *row)
{
    json_t *o = api_job_json(row->id, row->status, row->template_id, row->template_slug, row->version_number,
                             row->test);
    json_object_set_new(o, "source", json_string(row->source[0] ? row->source : "api"));
    json_object_set_new(o, "pollUrl", poll_url(row->id));
    json_object_set_new(o, "downloadUrl", fresh_download_url(row));
    json_object_set_new(o, "filename", json_string(row->filename));
    json_object_set_new(o, "pages", int_or_null(row->pages));
    json_object_set_new(o, "bytes", int_or_null(row->bytes));
    json_object_set_new(o, "sha256", api_str_or_null(row->sha256));
    /* errorMessage belongs to a failed render; a retry's cause is lastError while it waits. */
    bool failed = !strcmp(row->status, "failed"), pending = !renders_status_terminal(row->status);
    json_object_set_new(o, "errorMessage",
                        row->has_error && failed ? json_string(row->error_message) : json_null());
    json_object_set_new(o, "lastError",
                        row->has_error && pending ? json_string(row->error_message) : json_null());
    json_object_set_new(o, "attempts", json_integer(row->attempts));
    json_object_set_new(o, "createdAt", json_string(row->created_at));
    json_object_set_new(o, "startedAt", api_str_or_null(row->started_at));
    json_object_set_new(o, "completedAt", api_str_or_null(row->completed_at));
    json_object_set_new(o, "durationMs", int_or_null(row->duration_ms));
    json_object_set_new(o, "idempotencyKey", api_str_or_null(row->idempotency_key));
    json_object_set_new(o, "jobId", api_str_or_null(row->job_id));
    json_object_set_new(o, "deletedAt", api_str_or_null(row->deleted_at));
    json_object_set_new(o, "expiredAt", api_str_or_null(row->expired_at));
    json_object_set_new(o, "batchId", api_str_or_null(row->batch_id));
    json_object_set_new(o, "batchIndex", int_or_null(row->batch_index));
    return o;
}

static void answer_render(http_req_t *req, const render_row_t *row, int status, bool minimal)
{
    if (minimal) {
        http_respond_json(
            req, status,
            json_pack("{s:s, s:s, s:o}", "id", row->id, "status", row->status, "pollUrl", poll_url(row->id)));
        return;
    }
    http_respond_json(req, status, api_render_json(row));
}

/* ---- sync waiting ---- */

/* Answers with the render once terminal, or parks the request until it is (or until the
 * deadline, when it answers st->pending_status with the current state). */
static void wait_or_answer(http_req_t *req, sync_state_t *st)
{
    db_t *db = api_db(req);
    if (!db)
        return;
    char err[ERRMSG_LEN];
    for (int round = 0; round <= SYNC_MAX_REWAITS; round++) {
        syncwait_t *w = round < SYNC_MAX_REWAITS ? syncwait_register(req, st->id, st->deadline) : NULL;
        render_row_t row;
        repo_status_t rs = renders_get(db, req->auth.project_id, st->id, &row, err, sizeof err);
        if (!api_found(req, rs, err, "not_found", RENDER_NOT_FOUND_MSG)) {
            if (w)
                syncwait_cancel(w);
            return;
        }
        bool terminal = renders_status_terminal(row.status);
        if (terminal || !w) {
            if (w)
                syncwait_cancel(w);
            answer_render(req, &row, terminal ? 200 : st->pending_status, st->minimal);
            return;
        }
        if (syncwait_park(w))
            return; /* resumed later: api_render_resumed() comes back here */
    }
}

static void sync_state_free(void *p)
{
    free(p);
}

static void start_wait(http_req_t *req, const char *id, int pending_status, bool minimal)
{
    sync_state_t *st = calloc(1, sizeof *st);
    if (!st) {
        http_error(req, 500, "internal_error", "Out of memory", NULL);
        return;
    }
    snprintf(st->id, sizeof st->id, "%s", id);
    st->deadline = time_mono_ms() + config_get()->sync_timeout_ms;
    st->pending_status = pending_status;
    st->minimal = minimal;
    req->handler_state = st;
    req->handler_state_free = sync_state_free;
    wait_or_answer(req, st);
}

bool api_render_resumed(http_req_t *req)
{
    if (!req->resumed || req->handler_state_free != sync_state_free)
        return false;
    wait_or_answer(req, req->handler_state);
    return true;
}

/* ---- submission ---- */

/* hex SHA-256 of what identifies the request for idempotency: where it was sent, the pinned
 * version, the data after normalisation (unknown keys stripped, defaults and coercions applied,
 * so a retry that differs only in what the API ignores is a replay) and the options that change
 * the result (not sync, which only changes how the answer is delivered). Keys are sorted, so
 * key order does not matter. */
static void request_hash(const render_submission_t *sub, const json_t *normalised, char out[65])
{
    json_t *canon = json_object();
    json_object_set_new(canon, "source", json_string(sub->source));
    json_object_set_new(canon, "template", json_string(sub->slug));
    json_object_set_new(canon, "versionNumber",
                        sub->version_number ? json_integer(sub->version_number) : json_null());
    json_object_set(canon, "data", (json_t *)normalised);
    json_object_set_new(canon, "filename", sub->filename ? json_string(sub->filename) : json_null());
    json_object_set_new(canon, "strict", json_boolean(sub->strict));
    pdfopts_copy(sub->options, canon);
    char *text = json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    crypto_sha256_hex(text ? text : "", text ? strlen(text) : 0, out);
    free(text);
    json_decref(canon);
}

/* Answers a request whose idempotency key is taken: a replay (same request) gets the render's
 * current state, anything else 409. */
static void answer_replay(http_req_t *req, const render_submission_t *sub, const render_row_t *row,
                          const char *hash)
{
    if (!crypto_equal_str(row->request_hash, hash)) {
        http_error(
            req, 409, "idempotency_key_reused",
            "This idempotency key was already used for a different request (template, version, data or "
            "options); use a new key",
            NULL);
        return;
    }
    metrics_counter_add("craftkit_render_replays_total", NULL, 1);
    if (sub->sync && !renders_status_terminal(row->status))
        start_wait(req, row->id, 200, sub->minimal_answer);
    else
        answer_render(req, row, 200, sub->minimal_answer);
}

/* Looks the key up: 1 with *row filled when it is taken, 0 when not, -1 after answering 503. */
static int find_key(http_req_t *req, db_t *db, const render_submission_t *sub, render_row_t *row)
{
    char err[ERRMSG_LEN];
    repo_status_t st =
        renders_find_by_key(db, req->auth.project_id, sub->idempotency_key, row, err, sizeof err);
    if (st == REPO_NOT_FOUND)
        return 0;
    if (st != REPO_OK) {
        api_db_error(req, err);
        return -1;
    }
    return 1;
}

static char *options_text(const render_submission_t *sub)
{
    json_t *o = json_object();
    if (sub->version_number)
        json_object_set_new(o, "versionNumber", json_integer(sub->version_number));
    if (sub->filename)
        json_object_set_new(o, "filename", json_string(sub->filename));
    json_object_set_new(o, "strict", json_boolean(sub->strict));
    json_object_set_new(o, "sync", json_boolean(sub->sync));
    pdfopts_copy(sub->options, o);
    if (sub->job_id)
        json_object_set_new(o, "jobId", json_string(sub->job_id));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

typedef enum { INSERT_DONE, INSERT_KEY_TAKEN, INSERT_FAILED } insert_result_t;

static void queue_unavailable(http_req_t *req, const char *err)
{
    log_error("render queue unavailable: %s (request %s)", err, req->request_id);
    api_queue_unavailable(req);
}

/*
 * Inserts the row and pushes its id so that a 503 always means nothing was created:
 * - with an idempotency key, in one transaction around the LPUSH, rolled back when Redis
 *   refuses — a concurrent replay of the key waits on the row and never sees one that is then
 *   taken back (a worker that dequeues the id before the commit waits for it in renders_claim);
 * - without one (nobody else can know the id yet), the INSERT commits on its own, which saves
 *   two round trips, and a refused LPUSH deletes the row again; when a worker already has it
 *   (the push went through and only its reply was lost) the render goes on and this is a 202.
 * Answers errors itself.
 */
static insert_result_t insert_and_enqueue(http_req_t *req, db_t *db, const render_new_t *n, char *created_at)
{
    char err[ERRMSG_LEN];
    bool tx = n->idempotency_key != NULL;
    if (tx && db_begin(db, err, sizeof err) != 0) {
        api_db_error(req, err);
        return INSERT_FAILED;
    }
    repo_status_t st = renders_insert(db, n, created_at, err, sizeof err);
    if (st != REPO_OK) {
        if (tx)
            db_rollback(db);
        if (st == REPO_CONFLICT)
            return INSERT_KEY_TAKEN;
        api_db_error(req, err);
        return INSERT_FAILED;
    }
    if (jobs_enqueue(JOBS_QUEUE_RENDERS, n->id, err, sizeof err) != 0) {
        if (tx) {
            db_rollback(db);
        } else {
            char derr[ERRMSG_LEN];
            int deleted = renders_delete_unqueued(db, n->id, derr, sizeof derr);
            if (deleted == 0)
                return INSERT_DONE;
            if (deleted < 0) {
                /* Both stores failing. The row is committed and stays queued, so the sweeper
                 * pushes it once Redis is back: the render will happen, and a 503 would make
                 * the client retry into a duplicate. Say so with a 202. */
                log_error("render %s: push failed (%s) and the row could not be taken back (%s); "
                          "the sweeper will queue it",
                          n->id, err, derr);
                return INSERT_DONE;
            }
        }
        queue_unavailable(req, err);
        return INSERT_FAILED;
    }
    /* Only now is the row known to be in Redis: a crash before this line leaves enqueued_at
     * NULL, and the sweeper pushes the row on its next pass (so a failed mark outside a
     * transaction only costs a duplicate push, which the claim makes harmless). */
    if (renders_mark_enqueued(db, n->id, !tx, err, sizeof err) != 0 && tx) {
        db_rollback(db);
        api_db_error(req, err);
        return INSERT_FAILED;
    }
    if (tx && db_commit(db, err, sizeof err) != 0) {
        /* The id may be in Redis; the worker waits for this transaction, sees no row, drops it. */
        api_db_error(req, err);
        return INSERT_FAILED;
    }
    return INSERT_DONE;
}

/* The download name: options.filename, else the version's filename template evaluated with
 * the data, else "<id>.pdf". A template that cannot be evaluated falls back to "<id>.pdf". */
static void render_filename(const char *filename, const compiled_t *c, const json_t *data, const char *id,
                            char *out, size_t out_len)
{
    char *text = NULL, err[ERRMSG_LEN];
    if (!filename && c->filename && engine_text_eval(c->filename, data, &text, err, sizeof err) != 0)
        log_warn("render %s: the version's filename template failed (%s); using the id", id, err);
    storage_display_filename(filename ? filename : text, id, out, out_len);
    free(text);
}

const char *api_render_check_data(const compiled_t *c, const json_t *data, const json_t *options, bool strict,
                                  const char *filename, const char *id, json_t **normalised, json_t **issues,
                                  char *name_out, size_t name_len)
{
    *normalised = NULL;
    *issues = NULL;
    if (manifest_validate(c->manifest, data, strict ? MANIFEST_STRICT : 0, normalised, issues) != 0)
        return "The data does not match the template's manifest; see issues";
    /* A template that generates its e-invoice: the data must add up (unless the render brings its XML). */
    bool own_xml = json_object_get(options, "facturx") != NULL;
    if (!own_xml && engine_einvoice_build(c->engine, *normalised, NULL, NULL, NULL, issues) < 0) {
        json_decref(*normalised);
        *normalised = NULL;
        return "The data cannot make the template's e-invoice; see issues";
    }
    render_filename(filename, c, *normalised, id, name_out, name_len);
    return NULL;
}

/* Resolves the version and validates the data: true with *normalised (caller decrefs) and the
 * render's file name, or false after answering. A replay is normalised against the version its
 * render pinned, so that a retry compares against what was first checked. */
static bool check_data(http_req_t *req, db_t *db, const render_submission_t *sub, int version,
                       resolved_version_t *rv, json_t **normalised, render_row_t *row)
{
    if (!api_resolve_version(req, db, sub->tpl, sub->slug, version, false, rv))
        return false;
    json_t *issues = NULL;
    const char *why =
        api_render_check_data(rv->compiled, sub->data, sub->options, sub->strict, sub->filename, row->id,
                              normalised, &issues, row->filename, sizeof row->filename);
    resolved_version_release(rv);
    if (why)
        http_error(req, 400, "invalid_input_data", why, issues);
    return why == NULL;
}

void api_render_submit(http_req_t *req, const render_submission_t *sub)
{
    char hash[65] = "";
    db_t *db = api_db(req);
    if (!db)
        return;
    render_row_t prior, row = {.pages = -1, .bytes = -1, .duration_ms = -1, .batch_index = -1};
    uuid7_new_str(row.id);
    int known = sub->idempotency_key ? find_key(req, db, sub, &prior) : 0;
    if (known < 0)
        return;
    /* A replay costs no rate-limit token: it creates nothing. */
    if (!known && !api_rate_limit(req))
        return;
    resolved_version_t rv;
    json_t *normalised = NULL;
    int version = known && !sub->version_number ? prior.version_number : sub->version_number;
    if (!check_data(req, db, sub, version, &rv, &normalised, &row))
        return;
    if (sub->idempotency_key)
        request_hash(sub, normalised, hash);
    if (known) {
        json_decref(normalised);
        answer_replay(req, sub, &prior, hash);
        return;
    }

    snprintf(row.project_id, sizeof row.project_id, "%s", req->auth.project_id);
    snprintf(row.template_id, sizeof row.template_id, "%s", rv.tpl.id);
    snprintf(row.template_slug, sizeof row.template_slug, "%s", rv.tpl.slug);
    snprintf(row.status, sizeof row.status, "queued");
    snprintf(row.source, sizeof row.source, "%s", sub->source);
    snprintf(row.idempotency_key, sizeof row.idempotency_key, "%s",
             sub->idempotency_key ? sub->idempotency_key : "");
    snprintf(row.job_id, sizeof row.job_id, "%s", sub->job_id ? sub->job_id : "");
    row.version_number = rv.number;
    row.test = req->auth.test;

    char *data_text = json_dumps(normalised, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *opts_text = options_text(sub);
    json_decref(normalised);
    render_new_t n = {.id = row.id,
                      .project_id = row.project_id,
                      .template_id = row.template_id,
                      .version_id = rv.version_id,
                      .version_number = row.version_number,
                      .test = row.test,
                      .data = data_text,
                      .options = opts_text,
                      .idempotency_key = sub->idempotency_key,
                      .request_hash = sub->idempotency_key ? hash : NULL,
                      .source = sub->source,
                      .filename = row.filename};
    insert_result_t ir =
        data_text && opts_text ? insert_and_enqueue(req, db, &n, row.created_at) : INSERT_FAILED;
    if (!data_text || !opts_text)
        http_error(req, 500, "internal_error", "Could not encode the render data", NULL);
    free(data_text);
    free(opts_text);
    if (ir == INSERT_KEY_TAKEN) {
        /* A concurrent request with the same key won the insert; it is committed now. */
        known = find_key(req, db, sub, &prior);
        if (known > 0)
            answer_replay(req, sub, &prior, hash);
        else if (known == 0)
            http_error(req, 409, "idempotency_key_reused",
                       "This idempotency key is being used by another request", NULL);
        return;
    }
    if (ir != INSERT_DONE)
        return;
    metrics_counter_add("craftkit_renders_submitted_total",
                        sub->source[0] == 'h' ? "source=\"hook\"" : "source=\"api\"", 1);
    if (sub->sync)
        start_wait(req, row.id, 202, sub->minimal_answer);
    else
        answer_render(req, &row, 202, sub->minimal_answer);
}

/* ---- POST /v1/templates/:slug/render ---- */

/* Reads the body {data, jobId?, options?}; adds every problem to issues. Unknown top-level and
 * options keys are ignored, as Zod's object() strips them, unless options.strict is true. */
static void parse_render_body(const json_t *body, render_submission_t *sub, const char **job_id,
                              json_t *issues)
{
    static const char *const allowed[] = {"data", "jobId", "options", NULL};
    static const char *const option_keys[] = {"versionNumber", "sync",        "filename", "strict",
                                              "pdfa",          "attachments", "facturx",  NULL};
    json_t *options = json_object_get(body, "options");
    bool has_options = options && !json_is_null(options);
    if (has_options && !json_is_object(options))
        api_issue_field(issues, "options", "Expected object");
    json_t *strict = json_is_object(options) ? json_object_get(options, "strict") : NULL;
    if (strict && !json_is_boolean(strict))
        api_issue_field(issues, "options.strict", "Expected boolean");
    sub->strict = json_is_true(strict);
    if (sub->strict)
        api_check_keys(body, allowed, issues);
    sub->data = json_object_get(body, "data");
    if (!sub->data)
        api_issue_field(issues, "data", "Required");
    else if (!json_is_object(sub->data))
        api_issue_field(issues, "data", "Expected object");
    api_opt_string(body, "jobId", 1, RENDER_IDEMPOTENCY_MAX, job_id, issues);
    if (!json_is_object(options))
        return;
    if (sub->strict)
        api_check_option_keys(options, option_keys, issues);
    api_option_version(options, &sub->version_number, issues);
    json_t *sync = json_object_get(options, "sync");
    if (sync && !json_is_boolean(sync))
        api_issue_field(issues, "options.sync", "Expected boolean");
    sub->sync = json_is_true(sync);
    pdfopts_t po;
    char err[ERRMSG_LEN];
    pdfopts_read(options, &po, issues, err, sizeof err); /* checked now, read again by the worker */
    pdfopts_free(&po);
    sub->options = options;
    sub->filename = api_filename_option(options, issues);
}

bool api_idempotency_key(http_req_t *req, const char *job_id, const char **out)
{
    const char *h = http_header(req, "Idempotency-Key");
    *out = job_id;
    if (!h)
        return true;
    size_t n = strlen(h);
    if (n < 1 || n > RENDER_IDEMPOTENCY_MAX) {
        json_t *issues = api_issues_new();
        api_issue_field(issues, "Idempotency-Key", "The Idempotency-Key header must be 1 to 200 characters");
        http_error(req, 400, "invalid_request", "The Idempotency-Key header must be 1 to 200 characters",
                   issues);
        return false;
    }
    *out = h;
    return true;
}

static void post_render(http_req_t *req)
{
    if (api_render_resumed(req))
        return;
    json_t *body = api_body_object(req);
    if (!body)
        return;
    render_submission_t sub = {.slug = http_param(req, "slug"), .source = "api"};
    const char *job_id = NULL;
    json_t *issues = api_issues_new();
    parse_render_body(body, &sub, &job_id, issues);
    if (api_reject_issues(req, issues))
        return;
    if (!api_idempotency_key(req, job_id, &sub.idempotency_key))
        return;
    sub.job_id = job_id;
    api_render_submit(req, &sub);
}

/* ---- reading renders ---- */

/* Reads the render named by the path in the caller's project; answers 404/503 itself. */
static bool load_render(http_req_t *req, render_row_t *row)
{
    db_t *db = api_db(req);
    if (!db)
        return false;
    char err[ERRMSG_LEN];
    repo_status_t st = renders_get(db, req->auth.project_id, http_param(req, "id"), row, err, sizeof err);
    return api_found(req, st, err, "not_found", RENDER_NOT_FOUND_MSG);
}

static void get_render(http_req_t *req)
{
    render_row_t row;
    if (!load_render(req, &row))
        return;
    /* A poll of a render that is not done says when to look again (docs/api.md, "Polling"). */
    if (!renders_status_terminal(row.status))
        http_add_header(req, "Retry-After", RENDER_POLL_AFTER_S);
    answer_render(req, &row, 200, false);
}

/* A createdAfter/createdBefore value: a date-time as is, a date as midnight UTC (so the
 * session's time zone never matters). NULL when absent; false when not ISO-8601. */
static bool timestamp_param(const char *s, char out[48], const char **value)
{
    *value = NULL;
    if (!s)
        return true;
    size_t n = strlen(s);
    if (strfmt_is_date(s, n))
        snprintf(out, 48, "%sT00:00:00Z", s);
    else if (n < 48 && strfmt_is_datetime(s, n))
        snprintf(out, 48, "%s", s);
    else
        return false;
    *value = out;
    return true;
}

/* Reads the filters of GET /v1/renders into f; answers 400 (the first bad parameter, at its
 * name in fieldErrors) and returns false. */
static bool list_filters(http_req_t *req, render_filter_t *f, char after[48], char before[48])
{
    static const char *const statuses[] = {"queued", "rendering", "succeeded", "failed", "cancelled", NULL};
    static const char *const sources[] = {"api", "hook", NULL};
    static const char *const booleans[] = {"true", "false", NULL};
    const char *test = http_query(req, "test");
    *f = (render_filter_t){.status = http_query(req, "status"),
                           .template_ref = http_query(req, "template"),
                           .cursor = http_query(req, "cursor"),
                           .source = http_query(req, "source"),
                           .idempotency_key = http_query(req, "idempotencyKey"),
                           .batch_id = http_query(req, "batch"),
                           .test = test ? !strcmp(test, "true") : -1};
    const char *param = NULL, *msg = NULL;
    if (f->status && !api_one_of(f->status, statuses))
        param = "status", msg = "status must be one of queued, rendering, succeeded, failed, cancelled";
    else if (f->batch_id && !uuid_valid(f->batch_id))
        param = "batch", msg = "batch must be the id of a batch";
    else if (f->cursor && !uuid_valid(f->cursor))
        param = "cursor", msg = "cursor must be the nextCursor of a previous page";
    else if (f->template_ref && (!*f->template_ref || strlen(f->template_ref) > SLUG_MAX))
        param = "template", msg = "template must be a template slug or id";
    else if (!timestamp_param(http_query(req, "createdAfter"), after, &f->created_after))
        param = "createdAfter", msg = "createdAfter must be an ISO-8601 date or date-time "
                                      "(2026-06-04 or 2026-06-04T10:00:00Z)";
    else if (!timestamp_param(http_query(req, "createdBefore"), before, &f->created_before))
        param = "createdBefore", msg = "createdBefore must be an ISO-8601 date or date-time "
                                       "(2026-06-04 or 2026-06-04T10:00:00Z)";
    else if (test && !api_one_of(test, booleans))
        param = "test", msg = "test must be true or false";
    else if (f->source && !api_one_of(f->source, sources))
        param = "source", msg = "source must be api or hook";
    else if (f->idempotency_key &&
             (!*f->idempotency_key || strlen(f->idempotency_key) > RENDER_IDEMPOTENCY_MAX))
        param = "idempotencyKey", msg = "idempotencyKey must be 1 to 200 characters";
    if (param)
        api_bad_query(req, param, msg);
    return param == NULL;
}

static void list_renders(http_req_t *req)
{
    int limit = api_limit(req, 20, RENDER_LIST_MAX);
    render_filter_t f;
    char after[48], before[48];
    api_call_t c;
    if (limit < 0 || !list_filters(req, &f, after, before) || !api_call_db(req, &c))
        return;
    render_row_t *rows = NULL;
    int n = 0;
    bool more = false;
    repo_status_t st =
        renders_list(c.db, req->auth.project_id, &f, limit, &rows, &n, &more, c.err, sizeof c.err);
    json_t *list = json_array();
    for (int i = 0; st == REPO_OK && i < n; i++)
        json_array_append_new(list, api_render_json(&rows[i]));
    api_call_list(req, &c, st, api_list_page("renders", list, more, n > 0 ? rows[n - 1].id : NULL));
    free(rows);
}

static void download_render(http_req_t *req)
{
    render_row_t row;
    if (!load_render(req, &row))
        return;
    if (row.deleted_at[0] || row.expired_at[0]) {
        char msg[160];
        snprintf(msg, sizeof msg, "The file of this render was %s at %s and is no longer stored",
                 row.deleted_at[0] ? "deleted" : "removed by the retention policy",
                 row.deleted_at[0] ? row.deleted_at : row.expired_at);
        http_error(req, 410, "file_gone", msg, NULL);
        return;
    }
    if (strcmp(row.status, "succeeded") != 0) {
        char msg[RENDER_ERROR_MAX + 96];
        if (!strcmp(row.status, "failed"))
            snprintf(msg, sizeof msg, "This render failed and has no file: %s", row.error_message);
        else
            snprintf(msg, sizeof msg, "This render is %s; the file is ready once its status is succeeded",
                     row.status);
        http_error(req, 409, "not_ready", msg, NULL);
        return;
    }
    char etag[80], what[64];
    snprintf(etag, sizeof etag, "\"%s\"", row.sha256);
    snprintf(what, sizeof what, "render %s", row.id);
    api_send_stored(req, row.storage_key, row.filename, "application/pdf", etag, what,
                    "The file of this render is no longer stored");
}

/* ---- cancel and delete ---- */

/* POST /v1/renders/:id/cancel: a queued render becomes cancelled; a rendering one is not
 * interrupted (409 not_cancellable: it finishes within the render time limit), nor is a
 * terminal one. */
static void cancel_render(http_req_t *req)
{
    db_t *db = api_db(req);
    if (!db)
        return;
    render_deliveries_t dl;
    char err[ERRMSG_LEN];
    int rc = renders_cancel(db, req->auth.project_id, http_param(req, "id"), &dl, err, sizeof err);
    if (rc < 0) {
        api_db_error(req, err);
        return;
    }
    if (rc > 0) {
        webhook_push_deliveries(db, &dl);
        metrics_counter_add("craftkit_renders_cancelled_total", NULL, 1);
    }
    render_row_t row;
    if (!load_render(req, &row))
        return;
    if (rc > 0 && row.batch_id[0])
        render_job_settle_batch(db, row.batch_id); /* it may have been the batch's last open item */
    if (rc == 0) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 !strcmp(row.status, "rendering")
                     ? "This render is being rendered and can no longer be cancelled; it finishes shortly"
                     : "This render is %s already; only a queued render can be cancelled",
                 row.status);
        http_error(req, 409, "not_cancellable", msg, NULL);
        return;
    }
    answer_render(req, &row, 200, false);
}

/* DELETE /v1/renders/:id: the file and the data go, the row stays as a tombstone. Again:
 * the same answer (and another try at a file that could not be deleted). */
static void delete_render(http_req_t *req)
{
    render_row_t row;
    if (!load_render(req, &row))
        return;
    if (!renders_status_terminal(row.status)) {
        http_error(req, 409, "not_deletable",
                   "This render is not finished; cancel it (while queued) or wait until it is done, then "
                   "delete it",
                   NULL);
        return;
    }
    db_t *db = api_db(req);
    char key[sizeof row.storage_key], err[ERRMSG_LEN];
    int rc =
        db ? renders_mark_deleted(db, req->auth.project_id, row.id, key, sizeof key, err, sizeof err) : -1;
    if (rc < 0) {
        if (db)
            api_db_error(req, err);
        return;
    }
    storage_t *s = storage_thread();
    if (key[0] && (!s || storage_delete(s, key, err, sizeof err) != 0)) {
        log_error("render %s: the file could not be deleted: %s", row.id, s ? err : "no storage backend");
        http_error(req, 503, "storage_unavailable",
                   "The render is deleted but its file could not be removed yet; retry the DELETE", NULL);
        return;
    }
    if (load_render(req, &row))
        answer_render(req, &row, 200, false);
}

void api_renders_routes(void)
{
    router_add("POST", "/v1/templates/:slug/render", post_render, AUTH_PROJECT);
    router_add("GET", "/v1/renders", list_renders, AUTH_PROJECT);
    router_add("GET", "/v1/renders/:id", get_render, AUTH_PROJECT);
    router_add("GET", "/v1/renders/:id/download", download_render, AUTH_PROJECT);
    router_add("POST", "/v1/renders/:id/cancel", cancel_render, AUTH_PROJECT);
    router_add("DELETE", "/v1/renders/:id", delete_render, AUTH_PROJECT);
}
