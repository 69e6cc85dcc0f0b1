#include "db/batches_repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errmsg.h"
#include "core/uuid7.h"

/* The batch's timestamps, ISO-8601 UTC. */
#define BATCH_TIMES                                                                                          \
    SQL_TS("b.created_at")                                                                                   \
    " AS created_at, " SQL_TS("b.completed_at") " AS completed_at, " SQL_TS(                                 \
        "b.cancelled_at") " AS cancelled_at, " SQL_TS("b.merge_expired_at") " AS merge_expired_at"

/* The counts of a batch's items by status (one index range of renders_batch). */
#define BATCH_COUNTS                                                                                         \
    " CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE r.status = 'queued') AS n_queued,"                   \
    " count(*) FILTER (WHERE r.status = 'rendering') AS n_rendering,"                                        \
    " count(*) FILTER (WHERE r.status = 'succeeded') AS n_succeeded,"                                        \
    " count(*) FILTER (WHERE r.status = 'failed') AS n_failed,"                                              \
    " count(*) FILTER (WHERE r.status = 'cancelled') AS n_cancelled"                                         \
    " FROM renders r WHERE r.batch_id = b.id) c"

/* The batch columns plus the counts of its items by status. */
#define BATCH_SELECT                                                                                         \
    "SELECT b.id, b.project_id, b.template_id, t.slug AS template_slug, b.version_number, b.test,"           \
    " b.status, b.total, b.invalid::text AS invalid, b.idempotency_key, b.request_hash,"                     \
    " b.merge, b.merge_filename, b.merge_key, b.merge_error, b.merge_bytes, b.merge_pages, " BATCH_TIMES     \
    ", c.* FROM batches b JOIN templates t ON t.id = b.template_id" BATCH_COUNTS

static long long count_col(const PGresult *r, int row, const char *col)
{
    const char *v = db_get(r, row, col);
    return v ? atoll(v) : 0;
}

/* The text fields of a batch_row_t, each from the column of its name. */
#define COL(field) DB_TEXT_COL(batch_row_t, field)
static const db_text_col_t TEXT_COLS[] = {
    COL(id),           COL(project_id),      COL(template_id),     COL(template_slug),
    COL(status),       COL(idempotency_key), COL(request_hash),    COL(created_at),
    COL(completed_at), COL(cancelled_at),    COL(merge),           COL(merge_filename),
    COL(merge_key),    COL(merge_error),     COL(merge_expired_at)};
#undef COL

/* A repo_row_fill_fn: the batch_row_t at dst from row `row` of r. */
static void fill_row(const PGresult *r, int row, void *dst)
{
    batch_row_t *out = dst;
    memset(out, 0, sizeof *out);
    db_copy_cols(out, r, row, TEXT_COLS, sizeof TEXT_COLS / sizeof TEXT_COLS[0]);
    out->merge_bytes = db_get(r, row, "merge_bytes") ? count_col(r, row, "merge_bytes") : -1;
    out->merge_pages = db_get(r, row, "merge_pages") ? (int)count_col(r, row, "merge_pages") : -1;
    out->version_number = (int)count_col(r, row, "version_number");
    const char *v = db_get(r, row, "test");
    out->test = v && v[0] == 't';
    out->total = (int)count_col(r, row, "total");
    out->queued = count_col(r, row, "n_queued");
    out->rendering = count_col(r, row, "n_rendering");
    out->succeeded = count_col(r, row, "n_succeeded");
    out->failed = count_col(r, row, "n_failed");
    out->cancelled = count_col(r, row, "n_cancelled");
    v = db_get(r, row, "invalid");
    out->invalid = v ? json_loads(v, 0, NULL) : NULL;
    if (!out->invalid)
        out->invalid = json_array();
    /* An open batch is 'queued' in the table; it is rendering once any item has started, and
     * merging once every item is done but its merged file is not stored yet. */
    bool items_done = out->queued == 0 && out->rendering == 0;
    if (!out->completed_at[0] && items_done && strcmp(out->merge, "none") && !out->cancelled_at[0])
        snprintf(out->status, sizeof out->status, "merging");
    else if (!out->completed_at[0] && out->queued < out->total)
        snprintf(out->status, sizeof out->status, "rendering");
}

void batch_row_free(batch_row_t *row)
{
    if (!row)
        return;
    json_decref(row->invalid);
    row->invalid = NULL;
}

void batches_rows_free(batch_row_t *rows, int n)
{
    for (int i = 0; rows && i < n; i++)
        batch_row_free(&rows[i]);
    free(rows);
}

repo_status_t batches_insert(db_t *db, const batch_new_t *n, char *created_at, char *err, size_t err_len)
{
    char version[16], total[16];
    snprintf(version, sizeof version, "%d", n->version_number);
    snprintf(total, sizeof total, "%d", n->total);
    const char *params[] = {n->id,
                            n->project_id,
                            n->template_id,
                            version,
                            db_bool(n->test),
                            total,
                            n->invalid,
                            n->options,
                            n->idempotency_key,
                            n->request_hash,
                            n->merge ? n->merge : "none",
                            n->merge_filename};
    return repo_inserted(
        db_exec(db,
                "INSERT INTO batches (id, project_id, template_id, version_number, test, total,"
                " invalid, options, idempotency_key, request_hash, merge, merge_filename)"
                " VALUES ($1::uuid, $2::uuid, $3::uuid, $4::int, $5::bool, $6::int, $7::json, $8::json,"
                " $9::text, $10::text, $11::text, $12::text)"
                " ON CONFLICT (project_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING"
                " RETURNING " SQL_TS("created_at") " AS created_at",
                12, params, err, err_len),
        created_at);
}

/* Runs sql with $1 = id: 0 or -1 + err. */
static int command_on(db_t *db, const char *sql, const char *id, char *err, size_t err_len)
{
    const char *params[] = {id};
    return db_command(db, sql, 1, params, err, err_len) < 0 ? -1 : 0;
}

int batches_mark_enqueued(db_t *db, const char *id, char *err, size_t err_len)
{
    return command_on(db,
                      "UPDATE batches SET items_enqueued_at = now() WHERE id = $1::uuid"
                      " AND set_config('synchronous_commit', 'off', true) = 'off'",
                      id, err, err_len);
}

int batches_delete(db_t *db, const char *id, char *err, size_t err_len)
{
    return command_on(db, "DELETE FROM batches WHERE id = $1", id, err, err_len);
}

/* The batch of r into out, which is zeroed whatever the outcome (batch_row_free may follow). */
static repo_status_t one_row(PGresult *r, batch_row_t *out)
{
    memset(out, 0, sizeof *out);
    return repo_fill_one(r, fill_row, out);
}

repo_status_t batches_get(db_t *db, const char *project_id, const char *id, batch_row_t *out, char *err,
                          size_t err_len)
{
    memset(out, 0, sizeof *out);
    if (!uuid_valid(id))
        return REPO_NOT_FOUND;
    const char *params[] = {project_id, id};
    return one_row(
        db_exec(db, BATCH_SELECT " WHERE b.project_id = $1 AND b.id = $2", 2, params, err, err_len), out);
}

repo_status_t batches_find_by_key(db_t *db, const char *project_id, const char *key, batch_row_t *out,
                                  char *err, size_t err_len)
{
    const char *params[] = {project_id, key};
    return one_row(db_exec(db, BATCH_SELECT " WHERE b.project_id = $1 AND b.idempotency_key = $2", 2, params,
                           err, err_len),
                   out);
}

repo_status_t batches_list(db_t *db, const char *project_id, const char *cursor, int limit,
                           batch_row_t **rows, int *n, bool *has_more, char *err, size_t err_len)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit + 1); /* one more tells whether another page exists */
    const char *params[] = {project_id, lim, cursor};
    PGresult *r = db_exec(db,
                          cursor ? BATCH_SELECT " WHERE b.project_id = $1 AND b.id < $3::uuid"
                                                " ORDER BY b.id DESC LIMIT $2::int"
                                 : BATCH_SELECT " WHERE b.project_id = $1 ORDER BY b.id DESC LIMIT $2::int",
                          cursor ? 3 : 2, params, err, err_len);
    *rows = repo_page_fill(r, limit, sizeof **rows, fill_row, n, has_more, err, err_len);
    return *rows ? REPO_OK : REPO_ERROR;
}

int batches_mark_cancelled(db_t *db, const char *project_id, const char *id, char *err, size_t err_len)
{
    if (!uuid_valid(id))
        return 0;
    const char *params[] = {project_id, id};
    long n = db_command(db,
                        "UPDATE batches SET cancelled_at = coalesce(cancelled_at, now())"
                        " WHERE project_id = $1 AND id = $2 AND completed_at IS NULL",
                        2, params, err, err_len);
    return n < 0 ? -1 : n > 0;
}

int batches_has_open_items(db_t *db, const char *id, char *err, size_t err_len)
{
    const char *params[] = {id};
    PGresult *r = db_exec(db,
                          "SELECT EXISTS (SELECT 1 FROM renders WHERE batch_id = $1::uuid"
                          " AND status IN ('queued', 'rendering')) AS open",
                          1, params, err, err_len);
    if (!r)
        return -1;
    int open = db_get(r, 0, "open")[0] == 't';
    PQclear(r);
    return open;
}

int batches_settle(db_t *db, const char *id, render_deliveries_t *deliveries, char *err, size_t err_len)
{
    if (deliveries)
        deliveries->n = 0;
    /* Every item but the last stops here, without counting the batch's items. */
    int open = batches_has_open_items(db, id, err, err_len);
    if (open != 0)
        return open < 0 ? -1 : 0;
    const char *params[] = {id};
    /* The counts come from this statement's snapshot, taken after the caller's item went
     * terminal: of two items finishing last at once, the one whose statement starts later sees
     * both, and the row lock plus "completed_at IS NULL" lets only one UPDATE through. Like a
     * render's terminal statement, this one commits durably (the deliveries are pushed next). */
    PGresult *r = db_exec(
        db,
        "WITH c AS (SELECT count(*) FILTER (WHERE status IN ('queued', 'rendering')) AS open,"
        " count(*) FILTER (WHERE status = 'succeeded') AS ok, count(*) FILTER (WHERE status = 'failed') AS "
        "bad"
        " FROM renders WHERE batch_id = $1::uuid),"
        " u AS (UPDATE batches b SET completed_at = now(), status = CASE"
        "  WHEN b.cancelled_at IS NOT NULL THEN 'cancelled' WHEN c.bad = 0 THEN 'succeeded'"
        "  WHEN c.ok = 0 THEN 'failed' ELSE 'partially_failed' END"
        " FROM c WHERE b.id = $1::uuid AND b.completed_at IS NULL AND c.open = 0"
        "  AND (b.merge = 'none' OR b.cancelled_at IS NOT NULL OR b.merge_key IS NOT NULL"
        "   OR b.merge_error IS NOT NULL)"
        " RETURNING b.id, b.project_id, CASE WHEN b.status = 'failed' THEN 'batch.failed'"
        "  ELSE 'batch.completed' END AS event),"
        " d AS (INSERT INTO webhook_deliveries (subscription_id, project_id, batch_id, event)"
        " SELECT s.id, u.project_id, u.id, u.event FROM u JOIN webhook_subscriptions s"
        " ON s.project_id = u.project_id AND s.active AND s.deleted_at IS NULL AND u.event = ANY (s.events)"
        " ON CONFLICT DO NOTHING RETURNING id),"
        " durable AS (SELECT set_config('synchronous_commit', 'on', true) AS v)"
        " SELECT (SELECT count(*) FROM u) AS done, (SELECT v FROM durable) AS sync, d.id AS delivery"
        " FROM (SELECT 1) one LEFT JOIN d ON true",
        1, params, err, err_len);
    return renders_terminal_result(r, deliveries);
}

/* ---- the merge ---- */

int batches_merge_claim(db_t *db, const char *id, int lease_ms, batch_merge_claim_t *c, char *err,
                        size_t err_len)
{
    memset(c, 0, sizeof *c);
    char lease[16];
    snprintf(lease, sizeof lease, "%d", lease_ms);
    const char *params[] = {id, lease};
    PGresult *r = db_exec(db,
                          "UPDATE batches SET merge_attempts = merge_attempts + 1,"
                          " merge_lease_until = now() + $2::int * interval '1 millisecond'"
                          " WHERE id = $1::uuid AND completed_at IS NULL AND cancelled_at IS NULL"
                          " AND merge <> 'none' AND merge_key IS NULL AND merge_error IS NULL"
                          " AND (merge_lease_until IS NULL OR merge_lease_until < now())"
                          " AND NOT EXISTS (SELECT 1 FROM renders WHERE batch_id = $1::uuid"
                          "  AND status IN ('queued', 'rendering'))"
                          " RETURNING project_id, merge, merge_attempts, invalid::text AS invalid,"
                          " extract(epoch FROM created_at)::bigint AS created_unix",
                          2, params, err, err_len);
    if (!r)
        return -1;
    int claimed = PQntuples(r) == 1;
    if (claimed) {
        db_copy_col(c->project_id, sizeof c->project_id, r, 0, "project_id");
        db_copy_col(c->merge, sizeof c->merge, r, 0, "merge");
        c->attempts = (int)count_col(r, 0, "merge_attempts");
        c->created_unix = count_col(r, 0, "created_unix");
        const char *v = db_get(r, 0, "invalid");
        c->invalid = v ? json_loads(v, 0, NULL) : NULL;
        if (!c->invalid)
            c->invalid = json_array();
    }
    PQclear(r);
    return claimed;
}

int batches_merge_renew(db_t *db, const char *id, int lease_ms, char *err, size_t err_len)
{
    char lease[16];
    snprintf(lease, sizeof lease, "%d", lease_ms);
    const char *params[] = {id, lease};
    return db_command(db,
                      "UPDATE batches SET merge_lease_until = now() + $2::int * interval '1 millisecond'"
                      " WHERE id = $1::uuid AND completed_at IS NULL",
                      2, params, err, err_len) < 0
               ? -1
               : 0;
}

static char *dup_col(const PGresult *r, int row, const char *col)
{
    const char *v = db_get(r, row, col);
    return v ? strdup(v) : NULL;
}

void batches_merge_items_free(batch_merge_item_t *items, int n)
{
    for (int i = 0; items && i < n; i++) {
        free(items[i].storage_key);
        free(items[i].filename);
    }
    free(items);
}

int batches_merge_items(db_t *db, const char *id, batch_merge_item_t **items, char *err, size_t err_len)
{
    *items = NULL;
    const char *params[] = {id};
    PGresult *r = db_exec(db,
                          "SELECT batch_index, status, filename,"
                          " CASE WHEN status = 'succeeded' THEN storage_key END AS storage_key"
                          " FROM renders WHERE batch_id = $1::uuid ORDER BY batch_index",
                          1, params, err, err_len);
    if (!r)
        return -1;
    int n = PQntuples(r);
    *items = calloc(n > 0 ? (size_t)n : 1, sizeof **items);
    if (!*items) {
        PQclear(r);
        return errmsg_fail(err, err_len, "out of memory listing the items of batch %s", id);
    }
    for (int i = 0; i < n; i++) {
        batch_merge_item_t *it = &(*items)[i];
        it->index = (int)count_col(r, i, "batch_index");
        db_copy_col(it->status, sizeof it->status, r, i, "status");
        it->storage_key = dup_col(r, i, "storage_key");
        it->filename = dup_col(r, i, "filename");
    }
    PQclear(r);
    return n;
}

int batches_merge_done(db_t *db, const char *id, const char *key, long long bytes, int pages,
                       const char *error, char *err, size_t err_len)
{
    char b[24], p[16];
    snprintf(b, sizeof b, "%lld", bytes);
    snprintf(p, sizeof p, "%d", pages);
    const char *params[] = {id, key, key ? b : NULL, key && pages >= 0 ? p : NULL, key ? NULL : error};
    /* Durable like a render's terminal statement: the settle that follows reads it. */
    long rows =
        db_command(db,
                   "UPDATE batches SET merge_key = $2, merge_bytes = $3::bigint, merge_pages = $4::int,"
                   " merge_error = $5, merge_lease_until = NULL"
                   " WHERE id = $1::uuid AND completed_at IS NULL AND merge_key IS NULL",
                   5, params, err, err_len);
    return rows < 0 ? -1 : rows > 0 ? 1 : 0;
}

int batches_merge_release(db_t *db, const char *id, char *err, size_t err_len)
{
    const char *params[] = {id};
    return db_command(db, "UPDATE batches SET merge_lease_until = NULL WHERE id = $1::uuid", 1, params, err,
                      err_len) < 0
               ? -1
               : 0;
}

int batches_pick_settleable(db_t *db, char (*ids)[37], int max, char *err, size_t err_len)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", max);
    const char *params[] = {lim};
    return db_copy_first_col(
        db_exec(db,
                "SELECT b.id FROM batches b WHERE b.completed_at IS NULL AND NOT EXISTS ("
                " SELECT 1 FROM renders r WHERE r.batch_id = b.id AND r.status IN ('queued', 'rendering'))"
                " ORDER BY b.created_at LIMIT $1::int",
                1, params, err, err_len),
        ids[0], sizeof ids[0], max);
}

int batches_merge_expire_pick(db_t *db, int default_days, char (*keys)[RENDER_STORAGE_KEY_MAX], int max,
                              char *err, size_t err_len)
{
    /* Settled batches only: their merged file is final, no worker writes it any more. SKIP
     * LOCKED keeps concurrent sweepers (other instances) on disjoint batches. */
    return repo_expire_pick(
        db,
        "WITH picked AS (SELECT b.id FROM batches b JOIN projects p ON p.id = b.project_id"
        " WHERE b.merge_key IS NOT NULL AND b.merge_expired_at IS NULL"
        " AND b.completed_at IS NOT NULL AND coalesce(p.retention_days, $1::int) > 0"
        " AND b.completed_at < now() - coalesce(p.retention_days, $1::int) * interval '1 day'"
        " ORDER BY b.completed_at LIMIT $2::int FOR UPDATE OF b SKIP LOCKED)"
        " UPDATE batches SET merge_expired_at = now() FROM picked"
        " WHERE batches.id = picked.id RETURNING batches.merge_key",
        default_days, keys[0], sizeof keys[0], max, err, err_len);
}
