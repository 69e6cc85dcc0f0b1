#include "db/renders_repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/errmsg.h"
#include "core/uuid7.h"

/* The advisory lock of a render id: taken by the inserting transaction, awaited by a worker
 * that dequeued an id it cannot see yet. */
#define RENDER_LOCK_KEY "hashtextextended($1::text, 0)"

#define RENDER_COLUMNS                                                                                       \
    "r.id, r.project_id, r.template_id, t.slug AS template_slug, r.status, r.version_number, r.test,"        \
    " r.source, r.filename, r.storage_key, r.pages, r.bytes, r.sha256, r.error_message, r.attempts,"         \
    " r.request_hash, " SQL_TS("r.created_at") " AS created_at, " SQL_TS(                                    \
        "r.started_at") " AS started_at, " SQL_TS("r.completed_at") " AS completed_at,"                      \
                                                                    " (extract(epoch FROM (r.completed_at "  \
                                                                    "- r.started_at)) * 1000)::bigint AS "   \
                                                                    "duration_ms"
/* Issue 16: the idempotency key and jobId echoed, and the tombstone times. */
#define RENDER_COLUMNS_LIFE                                                                                  \
    ", r.idempotency_key, r.options->>'jobId' AS job_id, " SQL_TS("r.deleted_at") " AS deleted_at, " SQL_TS( \
        "r.expired_at") " AS expired_at"
/* Issue 22: the batch an item belongs to, and its place in it. */
#define RENDER_COLUMNS_BATCH ", r.batch_id, r.batch_index"
#define RENDER_FROM                                                                                          \
    RENDER_COLUMNS_LIFE RENDER_COLUMNS_BATCH " FROM renders r JOIN templates t ON t.id = r.template_id"

/* The terminal UPDATEs (CTE u) also create one webhook delivery per matching active
 * subscription, in the same statement so that none can be lost in between, and wake sync
 * waiters everywhere. The result is one row per delivery id (or one NULL row without any).
 * Worker sessions commit with synchronous_commit = off, but this statement must not: once it
 * returns, the worker acks Redis, wakes waiters and pushes the deliveries, so a Postgres crash
 * must not take it back (the render would be redone, with new delivery ids). set_config(…, true)
 * lasts until the end of the statement's own transaction, whose commit reads the setting
 * (before it is reset), so this one commit waits for its WAL flush and claims stay cheap.
 * The deliveries start unqueued (enqueued_at NULL): the worker marks them once its push went
 * through, so a crash in between leaves them to the sweeper's next pass. Batch items send no
 * NOTIFY: nobody can wait for one (a batch item cannot be sync, nor replayed by an
 * idempotency key), and a 10,000-item batch would wake every instance's listener 10,000 times. */
#define TERMINAL_EFFECTS(event)                                                                              \
    ", d AS (INSERT INTO webhook_deliveries (subscription_id, project_id, render_id, event)"                 \
    " SELECT s.id, u.project_id, u.id, '" event "' FROM u JOIN webhook_subscriptions s"                      \
    " ON s.project_id = u.project_id AND s.active AND s.deleted_at IS NULL"                                  \
    " AND '" event "' = ANY (s.events) ON CONFLICT DO NOTHING RETURNING id, render_id),"                     \
    " n AS (SELECT pg_notify('" RENDER_NOTIFY_CHANNEL "', id::text) FROM u WHERE u.batch_id IS NULL),"       \
    " durable AS (SELECT set_config('synchronous_commit', 'on', true) AS v)"
#define TERMINAL_TAIL(event)                                                                                 \
    TERMINAL_EFFECTS(event)                                                                                  \
    " SELECT (SELECT count(*) FROM u) AS done, (SELECT count(*) FROM n) AS notified,"                        \
    " (SELECT v FROM durable) AS sync, d.id AS delivery FROM (SELECT 1) one LEFT JOIN d ON true"

bool renders_status_terminal(const char *status)
{
    return !strcmp(status, "succeeded") || !strcmp(status, "failed") || !strcmp(status, "cancelled");
}

/* The text fields of a render_row_t, each from the column of its name. */
#define COL(field) DB_TEXT_COL(render_row_t, field)
static const db_text_col_t TEXT_COLS[] = {
    COL(id),         COL(project_id), COL(template_id),  COL(template_slug),   COL(status),
    COL(source),     COL(filename),   COL(storage_key),  COL(sha256),          COL(request_hash),
    COL(created_at), COL(started_at), COL(completed_at), COL(idempotency_key), COL(job_id),
    COL(deleted_at), COL(expired_at), COL(batch_id)};
#undef COL

/* A repo_row_fill_fn: the render_row_t at dst from row `row` of r. */
static void fill_row(const PGresult *r, int row, void *dst)
{
    render_row_t *out = dst;
    memset(out, 0, sizeof *out);
    db_copy_cols(out, r, row, TEXT_COLS, sizeof TEXT_COLS / sizeof TEXT_COLS[0]);
    const char *v;
    out->batch_index = (v = db_get(r, row, "batch_index")) ? atoi(v) : -1;
    out->version_number = (v = db_get(r, row, "version_number")) ? atoi(v) : 0;
    out->test = (v = db_get(r, row, "test")) && v[0] == 't';
    out->pages = (v = db_get(r, row, "pages")) ? atoi(v) : -1;
    out->bytes = (v = db_get(r, row, "bytes")) ? atoll(v) : -1;
    out->duration_ms = (v = db_get(r, row, "duration_ms")) ? atoll(v) : -1;
    out->attempts = (v = db_get(r, row, "attempts")) ? atoi(v) : 0;
    if ((v = db_get(r, row, "error_message"))) {
        out->has_error = true;
        errmsg_fail(out->error_message, sizeof out->error_message, "%s", v);
    }
}

/* Copies at most RENDER_ERROR_MAX bytes of msg, never cutting a UTF-8 sequence in two. */
static void clip_error(const char *msg, char out[RENDER_ERROR_MAX + 1])
{
    size_t n = strlen(msg);
    if (n > RENDER_ERROR_MAX) {
        n = RENDER_ERROR_MAX;
        while (n > 0 && ((unsigned char)msg[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(out, msg, n);
    out[n] = '\0';
}

repo_status_t renders_insert(db_t *db, const render_new_t *n, char *created_at, char *err, size_t err_len)
{
    char version[16];
    snprintf(version, sizeof version, "%d", n->version_number);
    const char *params[] = {
        n->id,   n->project_id, n->template_id,     n->version_id,   version,   db_bool(n->test),
        n->data, n->options,    n->idempotency_key, n->request_hash, n->source, n->filename};
    return repo_inserted(
        db_exec(
            db,
            "WITH lock AS (SELECT pg_advisory_xact_lock(" RENDER_LOCK_KEY "))"
            " INSERT INTO renders (id, project_id, template_id, version_id, version_number, status,"
            " test, data, options, idempotency_key, request_hash, source, filename)"
            " SELECT $1::uuid, $2::uuid, $3::uuid, $4::uuid, $5::int, 'queued', $6::bool, $7::json, $8::json,"
            " $9::text, $10::text, $11::text, $12::text FROM lock"
            " ON CONFLICT (project_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING"
            " RETURNING " SQL_TS("created_at") " AS created_at",
            12, params, err, err_len),
        created_at);
}

int renders_send_batch_items(db_t *db, const render_new_t *common, const char *batch_id, const char *items,
                             char *err, size_t err_len)
{
    char version[16];
    snprintf(version, sizeof version, "%d", common->version_number);
    const char *params[] = {common->project_id,
                            common->template_id,
                            common->version_id,
                            version,
                            db_bool(common->test),
                            batch_id,
                            items};
    /* One statement for many rows: the items travel as one JSON array, so 1,000 renders cost one
     * round trip and one plan. No advisory lock: the caller pushes the ids only after its commit. */
    return db_send(db,
                   "INSERT INTO renders (id, project_id, template_id, version_id, version_number, status,"
                   " test, data, options, source, filename, batch_id, batch_index)"
                   " SELECT x.id, $1::uuid, $2::uuid, $3::uuid, $4::int, 'queued', $5::bool, x.data,"
                   " x.options, 'api', x.filename, $6::uuid, x.i"
                   " FROM json_to_recordset($7::json) AS x(id uuid, i int, data json, options json,"
                   " filename text)",
                   7, params, err, err_len);
}

int renders_delete_unqueued_batch(db_t *db, const char *batch_id, char *err, size_t err_len)
{
    const char *params[] = {batch_id};
    long n =
        db_command(db, "DELETE FROM renders WHERE batch_id = $1::uuid AND status = 'queued' AND attempts = 0",
                   1, params, err, err_len);
    return n < 0 ? -1 : (int)n;
}

int renders_mark_enqueued(db_t *db, const char *id, bool lazy, char *err, size_t err_len)
{
    const char *params[] = {id};
    /* Only while no worker has claimed it since the push: a worker may take the id, fail and
     * schedule a retry (enqueued_at NULL again) before this runs, and marking that state would
     * strand the retry. Losing this mark in a crash costs one harmless duplicate push, so
     * outside a transaction it need not wait for the WAL flush (inside one, set_config would
     * reach the whole transaction, and with it the INSERT). */
#define MARK_SQL                                                                                             \
    "UPDATE renders SET enqueued_at = now() WHERE id = $1 AND enqueued_at IS NULL AND status = 'queued'"     \
    " AND attempts = 0"
    long n = db_command(
        db, lazy ? MARK_SQL " AND set_config('synchronous_commit', 'off', true) = 'off'" : MARK_SQL, 1,
        params, err, err_len);
#undef MARK_SQL
    return n < 0 ? -1 : 0;
}

int renders_delete_unqueued(db_t *db, const char *id, char *err, size_t err_len)
{
    const char *params[] = {id};
    long rows = db_command(db, "DELETE FROM renders WHERE id = $1 AND status = 'queued' AND attempts = 0", 1,
                           params, err, err_len);
    return rows < 0 ? -1 : rows > 0;
}

repo_status_t renders_get(db_t *db, const char *project_id, const char *id, render_row_t *out, char *err,
                          size_t err_len)
{
    if (!uuid_valid(id))
        return REPO_NOT_FOUND;
    const char *params[] = {project_id, id};
    return repo_fill_one(
        db_exec(db, "SELECT " RENDER_COLUMNS RENDER_FROM " WHERE r.project_id = $1 AND r.id = $2", 2, params,
                err, err_len),
        fill_row, out);
}

repo_status_t renders_find_by_key(db_t *db, const char *project_id, const char *key, render_row_t *out,
                                  char *err, size_t err_len)
{
    const char *params[] = {project_id, key};
    return repo_fill_one(db_exec(db,
                                 "SELECT " RENDER_COLUMNS RENDER_FROM
                                 " WHERE r.project_id = $1 AND r.idempotency_key = $2",
                                 2, params, err, err_len),
                         fill_row, out);
}

repo_status_t renders_list(db_t *db, const char *project_id, const render_filter_t *f, int limit,
                           render_row_t **rows, int *n, bool *has_more, char *err, size_t err_len)
{
    /* The statement holds only the conditions in use, so each combination of filters is its own
     * text with its own plan (one with "($4 IS NULL OR …)" for every filter would get a generic
     * plan that cannot use the indexes). Every value is a parameter. */
    char lim[16], test_text[2] = {f->test == 1 ? 't' : 'f', 0};
    const char *test = f->test >= 0 ? test_text : NULL;
    snprintf(lim, sizeof lim, "%d", limit + 1); /* one more tells whether another page exists */
    const char *params[10] = {project_id, lim};
    int np = 2;
    buf_t sql;
    buf_init(&sql, 16384);
    buf_putf(&sql, "SELECT " RENDER_COLUMNS RENDER_FROM " WHERE r.project_id = $1");
#define LIST_COND(value, fmt)                                                                                \
    do {                                                                                                     \
        if (value) {                                                                                         \
            params[np++] = (value);                                                                          \
            buf_putf(&sql, fmt, np);                                                                         \
        }                                                                                                    \
    } while (0)
    LIST_COND(f->cursor, " AND r.id < $%d::uuid");
    LIST_COND(f->status, " AND r.status = $%d");
    LIST_COND(f->template_ref, " AND r.template_id IN (SELECT id FROM templates WHERE project_id = $1"
                               " AND (slug = $%1$d OR id::text = $%1$d))");
    LIST_COND(f->created_after, " AND r.created_at > $%d::timestamptz");
    LIST_COND(f->created_before, " AND r.created_at < $%d::timestamptz");
    LIST_COND(test, " AND r.test = $%d::bool");
    LIST_COND(f->source, " AND r.source = $%d");
    LIST_COND(f->idempotency_key, " AND r.idempotency_key = $%d");
    LIST_COND(f->batch_id, " AND r.batch_id = $%d::uuid");
#undef LIST_COND
    buf_putf(&sql, " ORDER BY r.id DESC LIMIT $2::int");
    if (buf_error(&sql) != BUF_OK) {
        buf_free(&sql);
        *rows = NULL;
        *n = 0;
        *has_more = false;
        errmsg_fail(err, err_len, "the renders query is over its buffer");
        return REPO_ERROR;
    }
    PGresult *r = db_exec(db, buf_cstr(&sql), np, params, err, err_len);
    buf_free(&sql);
    *rows = repo_page_fill(r, limit, sizeof **rows, fill_row, n, has_more, err, err_len);
    return *rows ? REPO_OK : REPO_ERROR;
}

/* The statement that cancels the queued renders of project $1 that match cond (on $2). Only a
 * queued render (new, or waiting for a retry): a worker's claim needs 'queued' too, so exactly one
 * of the two wins. */
#define CANCEL_SQL(cond)                                                                                     \
    "WITH u AS (UPDATE renders SET status = 'cancelled', completed_at = now(),"                              \
    " lease_until = NULL WHERE project_id = $1 AND " cond " AND status = 'queued'"                           \
    " RETURNING id, project_id, batch_id)" TERMINAL_TAIL("render.cancelled")

static int cancel_queued(db_t *db, const char *sql, const char *project_id, const char *arg,
                         render_deliveries_t *deliveries, char *err, size_t err_len)
{
    const char *params[] = {project_id, arg};
    return renders_terminal_result(db_exec(db, sql, 2, params, err, err_len), deliveries);
}

int renders_cancel(db_t *db, const char *project_id, const char *id, render_deliveries_t *deliveries,
                   char *err, size_t err_len)
{
    if (!uuid_valid(id))
        return 0;
    return cancel_queued(db, CANCEL_SQL("id = $2"), project_id, id, deliveries, err, err_len);
}

int renders_cancel_batch(db_t *db, const char *project_id, const char *batch_id,
                         render_deliveries_t *deliveries, char *err, size_t err_len)
{
    /* Every queued item of the batch in one statement; deliveries past RENDER_DELIVERIES_MAX stay
     * unqueued for the sweeper. */
    return cancel_queued(db, CANCEL_SQL("batch_id = $2::uuid"), project_id, batch_id, deliveries, err,
                         err_len);
}

int renders_mark_deleted(db_t *db, const char *project_id, const char *id, char *storage_key, size_t key_len,
                         char *err, size_t err_len)
{
    storage_key[0] = '\0';
    if (!uuid_valid(id))
        return 0;
    const char *params[] = {project_id, id};
    /* One row at most (the id is the key): its storage key, or none. */
    return db_copy_first_col(
        db_exec(db,
                "UPDATE renders SET deleted_at = coalesce(deleted_at, now()), data = '{}'"
                " WHERE project_id = $1 AND id = $2"
                " AND status IN ('succeeded', 'failed', 'cancelled') RETURNING storage_key",
                2, params, err, err_len),
        storage_key, key_len, 1);
}

/* ---- worker side ---- */

static PGresult *claim_once(db_t *db, const char *id, const char *worker_id, const char *lease, char *err,
                            size_t err_len)
{
    const char *params[] = {id, worker_id, lease};
    return db_exec(db,
                   "UPDATE renders SET status = 'rendering', attempts = attempts + 1, worker_id = $2,"
                   " lease_until = now() + $3::int * interval '1 millisecond',"
                   " started_at = coalesce(started_at, now())"
                   " WHERE id = $1 AND ((status = 'queued' AND next_attempt_at <= now())"
                   "  OR (status = 'rendering' AND lease_until < now()))"
                   " RETURNING project_id, version_id, filename, test, attempts,"
                   " (extract(epoch FROM created_at))::bigint AS created_unix, data, options, batch_id",
                   3, params, err, err_len);
}

repo_status_t renders_claim(db_t *db, const char *id, const char *worker_id, int lease_ms,
                            render_claim_t *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    if (!uuid_valid(id))
        return REPO_NOT_FOUND;
    char lease[16];
    snprintf(lease, sizeof lease, "%d", lease_ms);
    PGresult *r = claim_once(db, id, worker_id, lease, err, err_len);
    if (r && PQntuples(r) == 0) {
        /* Not claimable: finished, held, not due, or its inserting transaction has not
         * committed yet. Waiting for that transaction's advisory lock (free in every other
         * case) settles the last one; then look once more. */
        PQclear(r);
        const char *params[] = {id};
        PGresult *w =
            db_exec(db, "SELECT pg_advisory_xact_lock_shared(" RENDER_LOCK_KEY ")", 1, params, err, err_len);
        if (!w)
            return REPO_ERROR;
        PQclear(w);
        r = claim_once(db, id, worker_id, lease, err, err_len);
    }
    if (!r)
        return REPO_ERROR;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return REPO_NOT_FOUND;
    }
    snprintf(out->id, sizeof out->id, "%s", id);
    db_copy_col(out->project_id, sizeof out->project_id, r, 0, "project_id");
    db_copy_col(out->version_id, sizeof out->version_id, r, 0, "version_id");
    snprintf(out->filename, sizeof out->filename, "%s.pdf", id);
    out->test = db_get(r, 0, "test")[0] == 't';
    out->attempts = atoi(db_get(r, 0, "attempts"));
    out->created_unix = atoll(db_get(r, 0, "created_unix"));
    db_copy_col(out->batch_id, sizeof out->batch_id, r, 0, "batch_id");
    /* The data column is json: Postgres checked it and returns the text as stored, which the
     * server wrote from jansson (api/renders.c, batches); the helper parses it. */
    const char *data = db_get(r, 0, "data");
    out->data_len = data ? strlen(data) : 0;
    out->data = data ? strdup(data) : NULL;
    json_error_t oerr;
    out->options = json_loads(db_get(r, 0, "options"), 0, &oerr);
    PQclear(r);
    if (!out->options)
        out->options = json_object();
    if (!out->data || !out->options) {
        errmsg_fail(err, err_len, "render %s: %s", id, data ? "out of memory" : "no stored data");
        free(out->data);
        json_decref(out->options);
        memset(out, 0, sizeof *out);
        return REPO_ERROR;
    }
    return REPO_OK;
}

int renders_terminal_result(PGresult *r, render_deliveries_t *out)
{
    if (out)
        out->n = 0;
    if (!r)
        return -1;
    int done = PQntuples(r) > 0 && atoi(db_get(r, 0, "done")) > 0;
    for (int i = 0; out && i < PQntuples(r) && out->n < RENDER_DELIVERIES_MAX; i++)
        if (db_get(r, i, "delivery"))
            snprintf(out->ids[out->n++], 37, "%s", db_get(r, i, "delivery"));
    PQclear(r);
    return done;
}

int renders_renew_lease(db_t *db, const char *id, const char *worker_id, int lease_ms, char *err,
                        size_t err_len)
{
    char lease[16];
    snprintf(lease, sizeof lease, "%d", lease_ms);
    const char *params[] = {id, worker_id, lease};
    long n = db_command(db,
                        "UPDATE renders SET lease_until = now() + $3::int * interval '1 millisecond'"
                        " WHERE id = $1 AND worker_id = $2 AND status = 'rendering'",
                        3, params, err, err_len);
    return n < 0 ? -1 : n > 0;
}

/* One row per recorded render and delivery (a NULL delivery for a render without any); the
 * scalar subqueries run at the first row, so only when something was recorded. */
#define SUCCEED_MANY_SELECT                                                                                  \
    " SELECT u.id AS render, d.id AS delivery, (SELECT count(*) FROM n) AS notified,"                        \
    " (SELECT v FROM durable) AS sync FROM u LEFT JOIN d ON d.render_id = u.id"

/* The successes as the JSON array json_to_recordset reads; NULL when out of memory. */
static char *successes_json(const render_success_t *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++) {
        json_t *o = json_pack("{s:s, s:s, s:i, s:I, s:s}", "id", v[i].id, "storage_key", v[i].storage_key,
                              "pages", v[i].pages, "bytes", (json_int_t)v[i].bytes, "sha256", v[i].sha256);
        if (!o || json_array_append_new(a, o) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    char *text = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return text;
}

int renders_succeed_many(db_t *db, const char *worker_id, const render_success_t *v, int n, int *done,
                         render_deliveries_t *deliveries, char *err, size_t err_len)
{
    if (n < 1 || n > RENDER_SUCCEED_MANY_MAX)
        return errmsg_fail(err, err_len, "renders_succeed_many: 1 to %d renders", RENDER_SUCCEED_MANY_MAX);
    char *json = successes_json(v, n);
    if (!json)
        return errmsg_fail(err, err_len, "out of memory");
    const char *params[] = {worker_id, json};
    PGresult *r = db_exec(
        db,
        "WITH v AS (SELECT * FROM json_to_recordset($2::json)"
        " AS x(id uuid, storage_key text, pages int, bytes bigint, sha256 text)),"
        " u AS (UPDATE renders r SET status = 'succeeded', storage_key = v.storage_key, pages = v.pages,"
        " bytes = v.bytes, sha256 = v.sha256, error_message = NULL, completed_at = now(), lease_until = NULL"
        " FROM v WHERE r.id = v.id AND r.worker_id = $1 AND r.status = 'rendering'"
        " RETURNING r.id, r.project_id, r.batch_id)" /* then the deliveries, notify, durable commit: */
        TERMINAL_EFFECTS("render.succeeded") SUCCEED_MANY_SELECT,
        2, params, err, err_len);
    free(json);
    if (!r)
        return -1;
    for (int i = 0; i < n; i++) {
        done[i] = 0;
        deliveries[i].n = 0;
    }
    for (int row = 0; row < PQntuples(r); row++) {
        const char *id = db_get(r, row, "render"), *delivery = db_get(r, row, "delivery");
        for (int i = 0; id && i < n; i++) {
            if (strcmp(v[i].id, id) != 0)
                continue;
            done[i] = 1;
            if (delivery && deliveries[i].n < RENDER_DELIVERIES_MAX)
                snprintf(deliveries[i].ids[deliveries[i].n++], 37, "%s", delivery);
            break;
        }
    }
    PQclear(r);
    return 0;
}

int renders_succeed(db_t *db, const char *id, const char *worker_id, const char *storage_key, int pages,
                    size_t bytes, const char *sha256, render_deliveries_t *deliveries, char *err,
                    size_t err_len)
{
    render_success_t v = {id, storage_key, sha256, pages, bytes};
    render_deliveries_t unused;
    int done = 0; /* set by renders_succeed_many; GCC -O2 cannot see that */
    if (renders_succeed_many(db, worker_id, &v, 1, &done, deliveries ? deliveries : &unused, err, err_len) !=
        0)
        return -1;
    return done;
}

int renders_retry(db_t *db, const char *id, const char *worker_id, int delay_ms, const char *error, char *err,
                  size_t err_len)
{
    char delay[16], msg[RENDER_ERROR_MAX + 1];
    snprintf(delay, sizeof delay, "%d", delay_ms);
    clip_error(error, msg);
    const char *params[] = {id, worker_id, delay, msg};
    long n = db_command(db,
                        "UPDATE renders SET status = 'queued', error_message = $4, lease_until = NULL,"
                        " enqueued_at = NULL, next_attempt_at = now() + $3::int * interval '1 millisecond'"
                        " WHERE id = $1 AND worker_id = $2 AND status = 'rendering'",
                        4, params, err, err_len);
    return n < 0 ? -1 : n > 0;
}

int renders_fail(db_t *db, const char *id, const char *worker_id, const char *error,
                 render_deliveries_t *deliveries, char *err, size_t err_len)
{
    char msg[RENDER_ERROR_MAX + 1];
    clip_error(error, msg);
    const char *params[] = {id, worker_id, msg};
    return renders_terminal_result(
        db_exec(db,
                "WITH u AS (UPDATE renders SET status = 'failed', error_message = $3,"
                " completed_at = now(), lease_until = NULL"
                " WHERE id = $1 AND worker_id = $2 AND status = 'rendering'"
                " RETURNING id, project_id, batch_id)" TERMINAL_TAIL("render.failed"),
                3, params, err, err_len),
        deliveries);
}

int renders_sweep_pick(db_t *db, long long all_before_ms, char (*ids)[37], int max, char *err, size_t err_len)
{
    return db_sweep_pick(db, DB_SWEEP_SQL_IF("renders", "batch_id IS NULL", "queued", "rendering"),
                         all_before_ms, ids, max, err, err_len);
}

int renders_sweep_pick_batch(db_t *db, long long all_before_ms, char (*ids)[37], int max, char *err,
                             size_t err_len)
{
    /* An item never claimed and never pushed on its own (enqueued_at NULL, attempts 0) was
     * pushed when its batch's items_enqueued_at was set (batches_mark_enqueued); the CASE
     * looks the batch up only for those. */
    return db_sweep_pick(db,
                         DB_SWEEP_SQL_ENQ("renders", "batch_id IS NOT NULL",
                                          "CASE WHEN enqueued_at IS NULL AND attempts = 0 THEN"
                                          " (SELECT b.items_enqueued_at FROM batches b WHERE b.id = batch_id)"
                                          " ELSE enqueued_at END",
                                          "queued", "rendering"),
                         all_before_ms, ids, max, err, err_len);
}

int renders_expire_pick(db_t *db, int default_days, char (*keys)[RENDER_STORAGE_KEY_MAX], int max, char *err,
                        size_t err_len)
{
    /* Terminal rows only: a queued or rendering render is never touched, and a terminal status
     * is final, so no worker writes these rows or their files any more. SKIP LOCKED keeps
     * concurrent sweepers (other instances) on disjoint batches. */
    return repo_expire_pick(
        db,
        "WITH picked AS (SELECT r.id FROM renders r JOIN projects p ON p.id = r.project_id"
        " WHERE r.deleted_at IS NULL AND r.expired_at IS NULL"
        " AND r.status IN ('succeeded', 'failed', 'cancelled')"
        " AND coalesce(p.retention_days, $1::int) > 0"
        " AND r.created_at < now() - coalesce(p.retention_days, $1::int) * interval '1 day'"
        " ORDER BY r.created_at LIMIT $2::int FOR UPDATE OF r SKIP LOCKED)"
        " UPDATE renders SET expired_at = now(), data = '{}' FROM picked"
        " WHERE renders.id = picked.id RETURNING renders.storage_key",
        default_days, keys[0], sizeof keys[0], max, err, err_len);
}

int renders_backlog(db_t *db, long long *queued, long long *rendering, char *err, size_t err_len)
{
    PGresult *r = db_exec(db,
                          "SELECT count(*) FILTER (WHERE status = 'queued') AS queued,"
                          " count(*) FILTER (WHERE status = 'rendering') AS rendering"
                          " FROM renders WHERE status IN ('queued', 'rendering')",
                          0, NULL, err, err_len);
    if (!r)
        return -1;
    *queued = atoll(db_get(r, 0, "queued"));
    *rendering = atoll(db_get(r, 0, "rendering"));
    PQclear(r);
    return 0;
}
