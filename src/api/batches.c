/* POST /v1/templates/:slug/batches, GET /v1/batches[/:id], POST /v1/batches/:id/cancel. */
#include "api/batches.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/common.h"
#include "api/renders.h"
#include "api/templates.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/errmsg.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/uuid7.h"
#include "db/batches_repo.h"
#include "http/router.h"
#include "manifest/manifest.h"
#include "queue/jobs.h"
#include "storage/storage.h"
#include "webhooks/webhook.h"
#include "worker/pdfopts.h"
#include "worker/render_job.h"

#define BATCH_NOT_FOUND_MSG "No batch with that id in this project"
#define BATCH_INSERT_CHUNK 1000                 /* items per INSERT statement (one JSON array parameter) */
#define BATCH_PATH_MAX (MANIFEST_PATH_MAX + 64) /* "items.<n>.data." + a manifest issue path */

/* What the body of POST /v1/templates/:slug/batches asks for, after its shape was checked. */
typedef struct batch_request {
    const char *slug;
    const json_t *items;
    const json_t *options; /* the batch options as sent, or NULL */
    int version_number;    /* 0 = the current published version */
    bool skip_invalid;
    const char *merge;    /* none | pdf | zip */
    const char *filename; /* options.filename: the merged file's name, or NULL */
    const char *idempotency_key;
} batch_request_t;

/* The items once checked: the renders to create and the items left out. */
typedef struct batch_items {
    json_t *rows;    /* [{id, i, data, options, filename}] for renders_send_batch_items */
    json_t *invalid; /* [{index, fieldErrors}] */
    json_t *fields;  /* every invalid item's fieldErrors at items.<n>.… (the 400's issues) */
} batch_items_t;

/* ---- the batch object ---- */

/* <public url><path><id>, e.g. url_of("/v1/batches/", id). */
static json_t *url_of(const char *path, const char *id)
{
    char url[1024];
    snprintf(url, sizeof url, "%s%s%s", config_get()->public_url, path, id);
    return json_string(url);
}

/* A fresh link to the merged file once it is stored (the same kind of link as a render's
 * downloadUrl: signed /files/ link or pre-signed S3 GET); null otherwise, and once retention
 * removed it. */
static json_t *merged_download_url(const batch_row_t *b)
{
    if (!b->merge_key[0] || b->merge_expired_at[0])
        return json_null();
    return api_download_url(b->merge_key, b->merge_filename, "batch", b->id);
}

/* The batch object (docs/api.md, "Batches"); with_invalid adds the skipped items' problems. */
static json_t *batch_json(const batch_row_t *b, bool with_invalid)
{
    json_t *o = api_job_json(b->id, b->status, b->template_id, b->template_slug, b->version_number, b->test);
    json_object_set_new(o, "total", json_integer(b->total));
    json_object_set_new(o, "queued", json_integer(b->queued));
    json_object_set_new(o, "rendering", json_integer(b->rendering));
    json_object_set_new(o, "succeeded", json_integer(b->succeeded));
    json_object_set_new(o, "failed", json_integer(b->failed));
    json_object_set_new(o, "cancelled", json_integer(b->cancelled));
    json_object_set_new(o, "skipped", json_integer((json_int_t)json_array_size(b->invalid)));
    if (with_invalid)
        json_object_set(o, "invalid", b->invalid ? b->invalid : json_null());
    json_object_set_new(o, "pollUrl", url_of("/v1/batches/", b->id));
    json_object_set_new(o, "rendersUrl", url_of("/v1/renders?batch=", b->id));
    json_object_set_new(o, "merge", json_string(b->merge[0] ? b->merge : "none"));
    json_object_set_new(o, "downloadUrl", merged_download_url(b));
    json_object_set_new(o, "filename", api_str_or_null(b->merge_filename));
    json_object_set_new(o, "mergeBytes", b->merge_bytes >= 0 ? json_integer(b->merge_bytes) : json_null());
    json_object_set_new(o, "mergePages", b->merge_pages >= 0 ? json_integer(b->merge_pages) : json_null());
    json_object_set_new(o, "mergeError", api_str_or_null(b->merge_error));
    json_object_set_new(o, "idempotencyKey", api_str_or_null(b->idempotency_key));
    json_object_set_new(o, "createdAt", json_string(b->created_at));
    json_object_set_new(o, "completedAt", api_str_or_null(b->completed_at));
    json_object_set_new(o, "cancelledAt", api_str_or_null(b->cancelled_at));
    json_object_set_new(o, "expiredAt", api_str_or_null(b->merge_expired_at));
    return o;
}

static void answer_batch(http_req_t *req, int status, batch_row_t *b)
{
    http_respond_json(req, status, batch_json(b, true));
    batch_row_free(b);
}

/* ---- the request ---- */

/* Reads {items, options?: {versionNumber, skipInvalid, merge}}; adds every shape problem. */
static void parse_batch_body(const json_t *body, batch_request_t *b, json_t *issues)
{
    b->items = json_object_get(body, "items");
    size_t cap = (size_t)config_get()->batch_max_items;
    if (!b->items) {
        api_issue_field(issues, "items", "Required");
    } else if (!json_is_array(b->items)) {
        api_issue_field(issues, "items", "Expected array");
    } else if (json_array_size(b->items) == 0) {
        api_issue_field(issues, "items", "A batch needs at least one item");
    } else if (json_array_size(b->items) > cap) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "A batch holds at most %zu items (CRAFTKIT_BATCH_MAX_ITEMS); this one has %zu", cap,
                 json_array_size(b->items));
        api_issue_field(issues, "items", msg);
    }
    json_t *options = json_object_get(body, "options");
    if (!options || json_is_null(options))
        return;
    if (!json_is_object(options)) {
        api_issue_field(issues, "options", "Expected object");
        return;
    }
    b->options = options;
    api_option_version(options, &b->version_number, issues);
    json_t *skip = json_object_get(options, "skipInvalid");
    if (skip && !json_is_boolean(skip))
        api_issue_field(issues, "options.skipInvalid", "Expected boolean");
    b->skip_invalid = json_is_true(skip);
    json_t *merge = json_object_get(options, "merge");
    b->merge = "none";
    if (merge && !json_is_null(merge)) {
        const char *m = json_is_string(merge) ? json_string_value(merge) : "";
        if (strcmp(m, "none") && strcmp(m, "pdf") && strcmp(m, "zip"))
            api_issue_field(issues, "options.merge", "Expected \"none\", \"pdf\" or \"zip\"");
        else
            b->merge = m;
    }
    b->filename = api_filename_option(options, issues);
}

/* The merged file's download name: options.filename, else "batch-<id>", ending in .pdf or
 * .zip (appended unless it does already), made safe as a render's name is. */
static void merged_filename(const batch_request_t *b, const char *id, char *out, size_t out_len)
{
    char want[STORAGE_DISPLAY_FILENAME_MAX + 16], ext[8];
    snprintf(ext, sizeof ext, ".%s", b->merge);
    snprintf(want, sizeof want, "%s%s", b->filename ? b->filename : "batch-", b->filename ? "" : id);
    size_t n = strlen(want);
    if (n < 4 || strcasecmp(want + n - 4, ext))
        snprintf(want + n, sizeof want - n, "%s", ext);
    storage_display_filename(want, id, out, out_len);
}

/* hex SHA-256 of the request as sent (template, batch options, items; keys sorted), for
 * Idempotency-Key reuse checks. */
static void batch_request_hash(const batch_request_t *b, char out[65])
{
    json_t *canon = json_pack("{s:s, s:O, s:O}", "template", b->slug, "options",
                              b->options ? (json_t *)b->options : json_null(), "items", (json_t *)b->items);
    char *text = canon ? json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    crypto_sha256_hex(text ? text : "", text ? strlen(text) : 0, out);
    free(text);
    json_decref(canon);
}

/* ---- checking items ---- */

/* Copies src's issues (flatten shape) into fields under prefix: fieldErrors "x" at
 * "<prefix>.x", formErrors at "<prefix>". */
static void add_prefixed(json_t *fields, const json_t *src, const char *prefix)
{
    const char *k;
    json_t *v;
    char path[BATCH_PATH_MAX];
    json_object_foreach(json_object_get(src, "fieldErrors"), k, v)
    {
        snprintf(path, sizeof path, "%s.%s", prefix, k);
        json_object_set(fields, path, v);
    }
    json_t *form = json_object_get(src, "formErrors");
    if (json_array_size(form) > 0)
        json_object_set(fields, prefix, form);
}

/* One problem at "<prefix>.<key>" (key NULL: at prefix). */
static void add_problem(json_t *fields, const char *prefix, const char *key, const char *msg)
{
    char path[BATCH_PATH_MAX];
    snprintf(path, sizeof path, key ? "%s.%s" : "%s", prefix, key);
    json_object_set_new(fields, path, json_pack("[s]", msg));
}

/* Checks an item's shape and options (not its data); problems go into fields. Sets *filename
 * to options.filename when given. */
static void check_item_shape(const json_t *item, const char *slug, const char *prefix, json_t *fields,
                             const char **filename)
{
    *filename = NULL;
    if (!json_is_object(item)) {
        add_problem(fields, prefix, NULL, "Expected object");
        return;
    }
    json_t *data = json_object_get(item, "data");
    if (!data)
        add_problem(fields, prefix, "data", "Required");
    else if (!json_is_object(data))
        add_problem(fields, prefix, "data", "Expected object");
    json_t *tpl = json_object_get(item, "template");
    if (tpl && !(json_is_string(tpl) && !strcmp(json_string_value(tpl), slug)))
        add_problem(fields, prefix, "template",
                    "Every item renders the batch's template (the slug in the URL); send other templates in "
                    "their own batch");
    json_t *options = json_object_get(item, "options");
    if (!options || json_is_null(options))
        return;
    if (!json_is_object(options)) {
        add_problem(fields, prefix, "options", "Expected object");
        return;
    }
    if (json_object_get(options, "versionNumber"))
        add_problem(fields, prefix, "options.versionNumber",
                    "The version is chosen for the whole batch, in the batch's options.versionNumber");
    if (json_object_get(options, "sync"))
        add_problem(fields, prefix, "options.sync", "Batch items cannot be sync; poll the batch instead");
    json_t *fn = json_object_get(options, "filename");
    if (fn && !json_is_null(fn)) {
        const char *why = json_is_string(fn)
                              ? storage_filename_problem(json_string_value(fn), json_string_length(fn))
                              : "Expected string";
        if (why)
            add_problem(fields, prefix, "options.filename", why);
        else
            *filename = json_string_value(fn);
    }
    json_t *issues = api_issues_new();
    pdfopts_t po;
    char err[ERRMSG_LEN];
    pdfopts_read(options, &po, issues, err, sizeof err);
    pdfopts_free(&po);
    add_prefixed(fields, issues, prefix);
    json_decref(issues);
}

/* The options stored with an item's render: what the worker reads (pdfopts) and the filename. */
static json_t *item_options(const json_t *options, const char *filename)
{
    json_t *o = json_object();
    if (filename)
        json_object_set_new(o, "filename", json_string(filename));
    if (json_is_object(options))
        pdfopts_copy(options, o);
    return o;
}

/* Checks item i; a valid one is appended to out->rows, an invalid one to out->invalid and its
 * problems to out->fields. */
static void check_item(const compiled_t *c, const char *slug, const json_t *item, size_t i,
                       batch_items_t *out)
{
    char prefix[32], id[UUID_STR_LEN + 1], name[484];
    snprintf(prefix, sizeof prefix, "items.%zu", i);
    json_t *fields = json_object();
    const char *filename = NULL;
    check_item_shape(item, slug, prefix, fields, &filename);
    json_t *normalised = NULL;
    if (json_object_size(fields) == 0) {
        json_t *issues = NULL, *options = json_object_get(item, "options");
        uuid7_new_str(id);
        char data_prefix[48];
        snprintf(data_prefix, sizeof data_prefix, "%s.data", prefix);
        if (api_render_check_data(c, json_object_get(item, "data"), json_is_object(options) ? options : NULL,
                                  false, filename, id, &normalised, &issues, name, sizeof name)) {
            if (issues)
                add_prefixed(fields, issues, data_prefix);
            else
                add_problem(fields, data_prefix, NULL, "Invalid");
        }
        json_decref(issues);
        if (normalised)
            json_array_append_new(out->rows, json_pack("{s:s, s:I, s:o, s:o, s:s}", "id", id, "i",
                                                       (json_int_t)i, "data", normalised, "options",
                                                       item_options(options, filename), "filename", name));
    }
    if (json_object_size(fields) > 0) {
        json_object_update(out->fields, fields);
        json_array_append_new(out->invalid,
                              json_pack("{s:I, s:O}", "index", (json_int_t)i, "fieldErrors", fields));
    }
    json_decref(fields);
}

static void batch_items_free(batch_items_t *it)
{
    json_decref(it->rows);
    json_decref(it->invalid);
    json_decref(it->fields);
}

/* Validates every item against the version; false after answering 400 when any is invalid
 * (unless skipInvalid) or none is valid. */
static bool check_items(http_req_t *req, const batch_request_t *b, const compiled_t *c, batch_items_t *out)
{
    *out = (batch_items_t){json_array(), json_array(), json_object()};
    for (size_t i = 0; i < json_array_size(b->items); i++)
        check_item(c, b->slug, json_array_get(b->items, i), i, out);
    size_t bad = json_array_size(out->invalid);
    if (bad == 0 || (b->skip_invalid && json_array_size(out->rows) > 0))
        return true;
    char msg[200];
    snprintf(msg, sizeof msg,
             b->skip_invalid ? "No item of the batch is valid; see issues (fieldErrors at items.<index>.…)"
                             : "%zu of %zu items are invalid and nothing was created; fix them or set "
                               "options.skipInvalid; see issues (fieldErrors at items.<index>.…)",
             bad, json_array_size(b->items));
    json_t *issues = api_issues_new();
    json_object_set(issues, "fieldErrors", out->fields);
    http_error(req, 400, "invalid_input_data", msg, issues);
    batch_items_free(out);
    return false;
}

/* ---- creating ---- */

/* The JSON text of rows [at, at + BATCH_INSERT_CHUNK), or NULL (out of memory). */
static char *encode_chunk(const json_t *rows, size_t at)
{
    json_t *chunk = json_array();
    for (size_t i = at; chunk && i < at + BATCH_INSERT_CHUNK && i < json_array_size(rows); i++)
        json_array_append(chunk, json_array_get(rows, i));
    char *text = chunk ? json_dumps(chunk, JSON_COMPACT) : NULL;
    json_decref(chunk);
    return text;
}

/* Sends the items' INSERTs chunk after chunk, encoding the next chunk while Postgres inserts
 * the one before (each takes about as long as the other, so on two cores this hides one of
 * them). 0 or -1 + err; the transaction is then to be rolled back. */
static int insert_items(db_t *db, const char *batch_id, const render_new_t *common, const json_t *rows,
                        char *err, size_t err_len)
{
    bool in_flight = false;
    int rc = 0;
    for (size_t at = 0; rc == 0 && at < json_array_size(rows); at += BATCH_INSERT_CHUNK) {
        char *text = encode_chunk(rows, at);
        if (in_flight && db_finish(db, err, err_len) < 0)
            rc = -1;
        in_flight = false;
        if (rc == 0 && !text)
            rc = errmsg_fail(err, err_len, "out of memory encoding batch items");
        if (rc == 0)
            rc = renders_send_batch_items(db, common, batch_id, text, err, err_len);
        in_flight = rc == 0;
        free(text);
    }
    if (in_flight && db_finish(db, err, err_len) < 0)
        rc = -1;
    return rc;
}

/* Inserts the batch and its items in one transaction. REPO_OK, REPO_CONFLICT (the key is
 * taken), REPO_ERROR + err. */
static repo_status_t insert_batch(db_t *db, const batch_new_t *bn, const render_new_t *common,
                                  const json_t *rows, char *created_at, char *err, size_t err_len)
{
    if (db_begin(db, err, err_len) != 0)
        return REPO_ERROR;
    repo_status_t st = batches_insert(db, bn, created_at, err, err_len);
    if (st == REPO_OK && insert_items(db, bn->id, common, rows, err, err_len) != 0)
        st = REPO_ERROR;
    if (st != REPO_OK) {
        db_rollback(db);
        return st;
    }
    return db_commit(db, err, err_len) == 0 ? REPO_OK : REPO_ERROR;
}

/* Pushes the ids onto the batch list, JOBS_ENQUEUE_BATCH_MAX per LPUSH. Returns how many
 * pushes went through before the first failure (all of them: n_chunks). */
static int push_items(const json_t *rows, int *n_chunks, char *err, size_t err_len)
{
    size_t n = json_array_size(rows);
    const char *ids[JOBS_ENQUEUE_BATCH_MAX];
    *n_chunks = (int)((n + JOBS_ENQUEUE_BATCH_MAX - 1) / JOBS_ENQUEUE_BATCH_MAX);
    int pushed = 0;
    for (size_t at = 0; at < n; at += JOBS_ENQUEUE_BATCH_MAX, pushed++) {
        int k = 0;
        for (size_t i = at; i < at + JOBS_ENQUEUE_BATCH_MAX && i < n; i++)
            ids[k++] = json_string_value(json_object_get(json_array_get(rows, i), "id"));
        if (jobs_enqueue_many(JOBS_QUEUE_BATCH_RENDERS, ids, k, err, err_len) != 0)
            break;
    }
    return pushed;
}

/* Nothing could be pushed: takes the batch back when no item was touched (then 503 means
 * nothing was created); true when it did. Otherwise the rows stay queued for the sweeper. */
static bool take_back(db_t *db, const char *id, int total)
{
    char err[ERRMSG_LEN];
    if (db_begin(db, err, sizeof err) != 0)
        return false;
    int n = renders_delete_unqueued_batch(db, id, err, sizeof err);
    if (n == total && batches_delete(db, id, err, sizeof err) == 0 && db_commit(db, err, sizeof err) == 0)
        return true;
    db_rollback(db);
    return false;
}

/* Queues the committed items: true, or false after answering 503 (the batch was taken back). */
static bool queue_items(http_req_t *req, db_t *db, const char *id, const json_t *rows)
{
    char err[ERRMSG_LEN];
    int chunks = 0, pushed = push_items(rows, &chunks, err, sizeof err);
    if (pushed == chunks) {
        if (batches_mark_enqueued(db, id, err, sizeof err) != 0)
            log_warn("batch %s: queued, but not marked as such (the sweeper pushes it again): %s", id, err);
        return true;
    }
    log_error("batch %s: render queue unavailable after %d of %d pushes: %s", id, pushed, chunks, err);
    if (pushed == 0 && take_back(db, id, (int)json_array_size(rows))) {
        api_queue_unavailable(req);
        return false;
    }
    /* Some items are (or may be) on their way: the rest are committed and unmarked, so the
     * sweeper pushes them on its next pass. */
    return true;
}

/* Answers a request whose key is taken: the batch's current state for the same request, 409
 * for another. Takes prior. */
static void answer_replay(http_req_t *req, batch_row_t *prior, const char *hash)
{
    if (!crypto_equal_str(prior->request_hash, hash)) {
        batch_row_free(prior);
        http_error(req, 409, "idempotency_key_reused",
                   "This idempotency key was already used for a different batch request; use a new key",
                   NULL);
        return;
    }
    answer_batch(req, 200, prior);
}

/* Looks the key up: 1 (taken, *row filled), 0, or -1 after answering 503. */
static int find_key(http_req_t *req, db_t *db, const char *key, batch_row_t *row)
{
    char err[ERRMSG_LEN];
    repo_status_t st = batches_find_by_key(db, req->auth.project_id, key, row, err, sizeof err);
    if (st == REPO_OK)
        return 1;
    if (st == REPO_NOT_FOUND)
        return 0;
    api_db_error(req, err);
    return -1;
}

/* Creates the checked batch and answers 202 (or the replay when a concurrent request with the
 * same key won). */
static void create_batch(http_req_t *req, db_t *db, const batch_request_t *b, const resolved_version_t *rv,
                         const batch_items_t *items, const char *hash)
{
    char id[UUID_STR_LEN + 1], created_at[32], err[ERRMSG_LEN];
    uuid7_new_str(id);
    char *invalid = json_dumps(items->invalid, JSON_COMPACT);
    char *options = b->options ? json_dumps(b->options, JSON_COMPACT) : NULL;
    char merged_name[STORAGE_DISPLAY_FILENAME_MAX + 1];
    bool merging = b->merge && strcmp(b->merge, "none");
    if (merging)
        merged_filename(b, id, merged_name, sizeof merged_name);
    batch_new_t bn = {.id = id,
                      .project_id = req->auth.project_id,
                      .template_id = rv->tpl.id,
                      .version_number = rv->number,
                      .test = req->auth.test,
                      .total = (int)json_array_size(items->rows),
                      .invalid = invalid ? invalid : "[]",
                      .options = options ? options : "{}",
                      .idempotency_key = b->idempotency_key,
                      .request_hash = b->idempotency_key ? hash : NULL,
                      .merge = b->merge,
                      .merge_filename = merging ? merged_name : NULL};
    render_new_t common = {.project_id = req->auth.project_id,
                           .template_id = rv->tpl.id,
                           .version_id = rv->version_id,
                           .version_number = rv->number,
                           .test = req->auth.test};
    repo_status_t st = insert_batch(db, &bn, &common, items->rows, created_at, err, sizeof err);
    free(invalid);
    free(options);
    batch_row_t row;
    if (st == REPO_CONFLICT) {
        int known = find_key(req, db, b->idempotency_key, &row);
        if (known > 0)
            answer_replay(req, &row, hash);
        else if (known == 0)
            http_error(req, 409, "idempotency_key_reused",
                       "This idempotency key is being used by another request", NULL);
        return;
    }
    if (st != REPO_OK) {
        api_db_error(req, err);
        return;
    }
    if (!queue_items(req, db, id, items->rows))
        return;
    metrics_counter_add("craftkit_batches_submitted_total", NULL, 1);
    metrics_counter_add("craftkit_renders_submitted_total", "source=\"batch\"", (double)bn.total);
    if (batches_get(db, req->auth.project_id, id, &row, err, sizeof err) != REPO_OK) {
        api_db_error(req, err);
        return;
    }
    answer_batch(req, 202, &row);
}

static void post_batch(http_req_t *req)
{
    json_t *body = api_body_object(req);
    if (!body)
        return;
    batch_request_t b = {.slug = http_param(req, "slug")};
    json_t *issues = api_issues_new();
    parse_batch_body(body, &b, issues);
    if (api_reject_issues(req, issues) || !api_idempotency_key(req, NULL, &b.idempotency_key))
        return;
    db_t *db = api_db(req);
    if (!db)
        return;
    char hash[65] = "";
    if (b.idempotency_key) {
        batch_request_hash(&b, hash);
        batch_row_t prior;
        int known = find_key(req, db, b.idempotency_key, &prior);
        if (known != 0) {
            if (known > 0)
                answer_replay(req, &prior, hash);
            return;
        }
    }
    if (!api_rate_limit(req)) /* one token per batch: it is one request */
        return;
    resolved_version_t rv;
    if (!api_resolve_version(req, db, NULL, b.slug, b.version_number, false, &rv))
        return;
    batch_items_t items;
    if (check_items(req, &b, rv.compiled, &items)) {
        create_batch(req, db, &b, &rv, &items, hash);
        batch_items_free(&items);
    }
    resolved_version_release(&rv);
}

/* ---- reading and cancelling ---- */

/* The batch named by the path in the caller's project; answers 404/503 itself. */
static bool load_batch(http_req_t *req, db_t *db, batch_row_t *row)
{
    char err[ERRMSG_LEN];
    repo_status_t st = batches_get(db, req->auth.project_id, http_param(req, "id"), row, err, sizeof err);
    return api_found(req, st, err, "not_found", BATCH_NOT_FOUND_MSG);
}

static void get_batch(http_req_t *req)
{
    db_t *db = api_db(req);
    batch_row_t row;
    if (!db || !load_batch(req, db, &row))
        return;
    if (!row.completed_at[0])
        http_add_header(req, "Retry-After", "1");
    answer_batch(req, 200, &row);
}

static void list_batches(http_req_t *req)
{
    api_call_t c;
    if (!api_call_page(req, 20, BATCH_LIST_MAX, &c))
        return;
    batch_row_t *rows = NULL;
    int n = 0;
    bool more = false;
    repo_status_t st =
        batches_list(c.db, req->auth.project_id, c.cursor, c.limit, &rows, &n, &more, c.err, sizeof c.err);
    json_t *list = json_array();
    for (int i = 0; st == REPO_OK && i < n; i++)
        json_array_append_new(list, batch_json(&rows[i], false));
    api_call_list(req, &c, st, api_list_page("batches", list, more, n > 0 ? rows[n - 1].id : NULL));
    batches_rows_free(rows, n);
}

/* POST /v1/batches/:id/cancel: every queued item is cancelled; items being rendered finish,
 * and the batch is settled as cancelled once they have. */
static void cancel_batch(http_req_t *req)
{
    db_t *db = api_db(req);
    batch_row_t row;
    if (!db || !load_batch(req, db, &row))
        return;
    char err[ERRMSG_LEN];
    int rc = batches_mark_cancelled(db, req->auth.project_id, row.id, err, sizeof err);
    render_deliveries_t dl;
    int cancelled = rc > 0 ? renders_cancel_batch(db, req->auth.project_id, row.id, &dl, err, sizeof err) : 0;
    if (rc < 0 || cancelled < 0) {
        batch_row_free(&row);
        api_db_error(req, err);
        return;
    }
    if (rc == 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "This batch is %s already; only an open batch can be cancelled",
                 row.status);
        batch_row_free(&row);
        http_error(req, 409, "not_cancellable", msg, NULL);
        return;
    }
    if (cancelled > 0)
        webhook_push_deliveries(db, &dl);
    render_job_settle_batch(db, row.id);
    batch_row_free(&row);
    if (load_batch(req, db, &row))
        answer_batch(req, 200, &row);
}

/* GET /v1/batches/:id/download: the merged file, streamed like a render's download. */
static void download_batch(http_req_t *req)
{
    db_t *db = api_db(req);
    batch_row_t row;
    if (!db || !load_batch(req, db, &row))
        return;
    char msg[RENDER_ERROR_MAX + 160];
    if (row.merge_expired_at[0]) {
        snprintf(msg, sizeof msg,
                 "The merged file of this batch was removed by the retention policy at %s and is no longer "
                 "stored",
                 row.merge_expired_at);
        http_error(req, 410, "file_gone", msg, NULL);
    } else if (row.merge_key[0]) {
        char etag[80], what[64];
        snprintf(etag, sizeof etag, "\"%s-%lld\"", row.id, row.merge_bytes);
        snprintf(what, sizeof what, "batch %s", row.id);
        api_send_stored(req, row.merge_key, row.merge_filename,
                        !strcmp(row.merge, "zip") ? "application/zip" : "application/pdf", etag, what,
                        "The merged file of this batch is no longer stored");
    } else if (!strcmp(row.merge, "none") || !row.merge[0]) {
        http_error(req, 409, "not_ready",
                   "This batch has no merged file: it was submitted without options.merge (\"pdf\" or "
                   "\"zip\"); download its items from rendersUrl",
                   NULL);
    } else {
        if (row.merge_error[0])
            snprintf(msg, sizeof msg, "This batch has no merged file: %s", row.merge_error);
        else if (row.cancelled_at[0])
            snprintf(msg, sizeof msg, "This batch was cancelled, so no merged file is made");
        else
            snprintf(msg, sizeof msg, "This batch is %s; the merged file is ready once its status is settled",
                     row.status);
        http_error(req, 409, "not_ready", msg, NULL);
    }
    batch_row_free(&row);
}

void api_batches_routes(void)
{
    router_add("POST", "/v1/templates/:slug/batches", post_batch, AUTH_PROJECT);
    router_add("GET", "/v1/batches", list_batches, AUTH_PROJECT);
    router_add("GET", "/v1/batches/:id", get_batch, AUTH_PROJECT);
    router_add("GET", "/v1/batches/:id/download", download_batch, AUTH_PROJECT);
    router_add("POST", "/v1/batches/:id/cancel", cancel_batch, AUTH_PROJECT);
}
