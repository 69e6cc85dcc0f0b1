#include "db/webhooks_repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "core/errmsg.h"
#include "core/uuid7.h"

#define SECRET_RANDOM_LEN 32

#define SUB_COLUMNS                                                                                          \
    "id, url, array_to_json(events)::text AS events, active, description, " SQL_TS(                          \
        "created_at") " AS created_at, " SQL_TS("updated_at") " AS updated_at, CASE WHEN "                   \
                                                              "previous_expires_at > now()"                  \
                                                              " THEN " SQL_TS(                               \
                                                                  "previous_expires_at") " END AS "          \
                                                                                         "previous_expires_" \
                                                                                         "at"
#define DELIVERY_COLUMNS                                                                                     \
    "id, subscription_id, render_id, batch_id, event, status, attempts, " SQL_TS(                            \
        "next_attempt_at") " AS next_attempt_at, " SQL_TS("created_at") " AS created_at, " SQL_TS("delivere" \
                                                                                                  "d_at") " AS delivered_at, last_status_code, last_error"

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *sub_json(const PGresult *r, int row)
{
    json_t *events = json_loads(db_get(r, row, "events"), 0, NULL);
    return json_pack("{s:s, s:s, s:o, s:b, s:o, s:s, s:s, s:o}", "id", db_get(r, row, "id"), "url",
                     db_get(r, row, "url"), "events", events ? events : json_array(), "active",
                     db_get(r, row, "active")[0] == 't', "description",
                     str_or_null(db_get(r, row, "description")), "createdAt", db_get(r, row, "created_at"),
                     "updatedAt", db_get(r, row, "updated_at"), "previousSecretExpiresAt",
                     str_or_null(db_get(r, row, "previous_expires_at")));
}

/* The single subscription of r (with its secret when the query returned one). */
static repo_status_t one_sub(PGresult *r, json_t **out)
{
    repo_status_t st = repo_single(r);
    if (st != REPO_OK)
        return st;
    *out = sub_json(r, 0);
    const char *secret = PQfnumber(r, "secret") >= 0 ? db_get(r, 0, "secret") : NULL;
    if (secret)
        json_object_set_new(*out, "secret", json_string(secret));
    PQclear(r);
    return REPO_OK;
}

static void new_secret(char out[WEBHOOK_SECRET_MAX + 1])
{
    char rnd[SECRET_RANDOM_LEN + 1];
    crypto_random_base62(rnd, SECRET_RANDOM_LEN);
    snprintf(out, WEBHOOK_SECRET_MAX + 1, "whsec_%s", rnd);
}

repo_status_t whsub_create(db_t *db, const char *project_id, const char *url, const char *events_array,
                           bool active, const char *description, json_t **out, char *err, size_t err_len)
{
    char id[UUID_STR_LEN + 1], secret[WEBHOOK_SECRET_MAX + 1], max[16];
    uuid7_new_str(id);
    new_secret(secret);
    snprintf(max, sizeof max, "%d", WEBHOOK_MAX_SUBSCRIPTIONS);
    const char *params[] = {id, project_id, url, events_array, db_bool(active), description, secret, max};
    PGresult *r =
        db_exec(db,
                "INSERT INTO webhook_subscriptions (id, project_id, url, events, active, description, secret)"
                " SELECT $1, $2, $3, $4::text[], $5, $6, $7"
                " WHERE (SELECT count(*) FROM webhook_subscriptions WHERE project_id = $2"
                "  AND deleted_at IS NULL) < $8::int"
                " RETURNING " SUB_COLUMNS ", secret",
                8, params, err, err_len);
    repo_status_t st = one_sub(r, out);
    return st == REPO_NOT_FOUND ? REPO_CONFLICT : st;
}

repo_status_t whsub_list(db_t *db, const char *project_id, json_t **out, char *err, size_t err_len)
{
    const char *params[] = {project_id};
    json_t *list = NULL;
    repo_status_t st =
        repo_json_list(db_exec(db,
                               "SELECT " SUB_COLUMNS " FROM webhook_subscriptions WHERE project_id = $1"
                               " AND deleted_at IS NULL ORDER BY id DESC",
                               1, params, err, err_len),
                       sub_json, &list);
    if (st == REPO_OK)
        *out = json_pack("{s:o}", "webhooks", list);
    return st;
}

repo_status_t whsub_get(db_t *db, const char *project_id, const char *id, json_t **out, char *err,
                        size_t err_len)
{
    return repo_json_by_id(db,
                           "SELECT " SUB_COLUMNS
                           " FROM webhook_subscriptions WHERE project_id = $1 AND id = $2"
                           " AND deleted_at IS NULL",
                           project_id, id, sub_json, out, err, err_len);
}

repo_status_t whsub_update(db_t *db, const char *project_id, const char *id, const char *url,
                           const char *events_array, int active, const char *description,
                           bool clear_description, json_t **out, char *err, size_t err_len)
{
    if (!uuid_valid(id))
        return REPO_NOT_FOUND;
    const char *params[] = {project_id,
                            id,
                            url,
                            events_array,
                            active < 0 ? NULL
                            : active   ? "t"
                                       : "f",
                            description,
                            db_bool(clear_description)};
    return one_sub(db_exec(db,
                           "UPDATE webhook_subscriptions SET url = coalesce($3, url),"
                           " events = coalesce($4::text[], events), active = coalesce($5::bool, active),"
                           " description = CASE WHEN $7::bool THEN NULL ELSE coalesce($6, description) END,"
                           " updated_at = now()"
                           " WHERE project_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING " SUB_COLUMNS,
                           7, params, err, err_len),
                   out);
}

repo_status_t whsub_delete(db_t *db, const char *project_id, const char *id, json_t **out, char *err,
                           size_t err_len)
{
    return repo_json_by_id(db,
                           "UPDATE webhook_subscriptions SET deleted_at = now(), active = false"
                           " WHERE project_id = $1 AND id = $2 AND deleted_at IS NULL"
                           " RETURNING id, " SQL_TS("deleted_at") " AS deleted_at",
                           project_id, id, repo_deleted_json, out, err, err_len);
}

repo_status_t whsub_rotate(db_t *db, const char *project_id, const char *id, json_t **out, char *err,
                           size_t err_len)
{
    if (!uuid_valid(id))
        return REPO_NOT_FOUND;
    char secret[WEBHOOK_SECRET_MAX + 1], hours[8];
    new_secret(secret);
    snprintf(hours, sizeof hours, "%d", WEBHOOK_PREVIOUS_SECRET_HOURS);
    const char *params[] = {project_id, id, secret, hours};
    return one_sub(db_exec(db,
                           "UPDATE webhook_subscriptions SET previous_secret = secret, secret = $3,"
                           " previous_expires_at = now() + $4::int * interval '1 hour', updated_at = now()"
                           " WHERE project_id = $1 AND id = $2 AND deleted_at IS NULL"
                           " RETURNING " SUB_COLUMNS ", secret",
                           4, params, err, err_len),
                   out);
}

/* ---- deliveries as the API shows them ---- */

static json_t *delivery_json(const PGresult *r, int row)
{
    const char *status = db_get(r, row, "status"), *code = db_get(r, row, "last_status_code");
    json_t *o = json_pack(
        "{s:s, s:s, s:s?, s:s?, s:s, s:s, s:i, s:o, s:s, s:o, s:o, s:o, s:[]}", "id", db_get(r, row, "id"),
        "subscriptionId", db_get(r, row, "subscription_id"), "renderId", db_get(r, row, "render_id"),
        "batchId", db_get(r, row, "batch_id"), "event", db_get(r, row, "event"), "status", status,
        "attemptCount", atoi(db_get(r, row, "attempts")), "nextAttemptAt",
        !strcmp(status, "pending") ? json_string(db_get(r, row, "next_attempt_at")) : json_null(),
        "createdAt", db_get(r, row, "created_at"), "deliveredAt", str_or_null(db_get(r, row, "delivered_at")),
        "lastStatusCode", code ? json_integer(atoi(code)) : json_null(), "lastError",
        str_or_null(db_get(r, row, "last_error")), "attempts");
    return o;
}

/* Appends each attempt of r to the "attempts" array of its delivery in by_id. */
static void attach_attempts(const PGresult *r, json_t *by_id)
{
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *d = json_object_get(by_id, db_get(r, i, "delivery_id"));
        const char *code = db_get(r, i, "status_code");
        json_array_append_new(json_object_get(d, "attempts"),
                              json_pack("{s:i, s:s, s:i, s:o, s:o, s:o}", "number",
                                        atoi(db_get(r, i, "number")), "startedAt", db_get(r, i, "started_at"),
                                        "durationMs", atoi(db_get(r, i, "duration_ms")), "statusCode",
                                        code ? json_integer(atoi(code)) : json_null(), "error",
                                        str_or_null(db_get(r, i, "error")), "responseSnippet",
                                        str_or_null(db_get(r, i, "response_snippet"))));
    }
}

/* Loads the attempts of every delivery in list (an array of delivery objects). */
static int load_attempts(db_t *db, json_t *list, char *err, size_t err_len)
{
    if (json_array_size(list) == 0)
        return 0;
    buf_t ids;
    buf_init(&ids, 64 * 1024);
    json_t *by_id = json_object();
    size_t i;
    json_t *d;
    buf_putc(&ids, '{');
    json_array_foreach(list, i, d)
    {
        const char *id = json_string_value(json_object_get(d, "id"));
        buf_putf(&ids, "%s%s", i ? "," : "", id);
        json_object_set(by_id, id, d);
    }
    buf_putc(&ids, '}');
    if (buf_error(&ids) != BUF_OK) { /* a page is far below the cap; never query a cut list */
        buf_free(&ids);
        json_decref(by_id);
        return errmsg_fail(err, err_len, "too many deliveries to load their attempts at once");
    }
    const char *params[] = {buf_cstr(&ids)};
    PGresult *r =
        db_exec(db,
                "SELECT delivery_id, number, " SQL_TS(
                    "started_at") " AS started_at, duration_ms,"
                                  " status_code, error, response_snippet FROM webhook_attempts"
                                  " WHERE delivery_id = ANY ($1::uuid[]) ORDER BY delivery_id, number",
                1, params, err, err_len);
    buf_free(&ids);
    if (r)
        attach_attempts(r, by_id);
    PQclear(r);
    json_decref(by_id);
    return r ? 0 : -1;
}

static repo_status_t sub_exists(db_t *db, const char *project_id, const char *sub_id, char *err,
                                size_t err_len)
{
    if (!uuid_valid(sub_id))
        return REPO_NOT_FOUND;
    const char *params[] = {project_id, sub_id};
    PGresult *r = db_exec(
        db, "SELECT 1 FROM webhook_subscriptions WHERE project_id = $1 AND id = $2 AND deleted_at IS NULL", 2,
        params, err, err_len);
    repo_status_t st = repo_single(r);
    if (st == REPO_OK)
        PQclear(r);
    return st;
}

repo_status_t whdel_list(db_t *db, const char *project_id, const char *sub_id, const char *cursor, int limit,
                         json_t **out, char *err, size_t err_len)
{
    repo_status_t st = sub_exists(db, project_id, sub_id, err, err_len);
    if (st != REPO_OK)
        return st;
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit + 1);
    const char *params[] = {sub_id, cursor, lim};
    json_t *page = NULL;
    st = repo_json_page(db_exec(db,
                                "SELECT " DELIVERY_COLUMNS
                                " FROM webhook_deliveries WHERE subscription_id = $1"
                                " AND ($2::uuid IS NULL OR id < $2) ORDER BY id DESC LIMIT $3::int",
                                3, params, err, err_len),
                        limit, "deliveries", delivery_json, &page);
    if (st != REPO_OK)
        return st;
    if (load_attempts(db, json_object_get(page, "deliveries"), err, err_len) != 0) {
        json_decref(page);
        return REPO_ERROR;
    }
    *out = page;
    return REPO_OK;
}

/* One delivery of sub_id by id, with its attempts. */
static repo_status_t delivery_get(db_t *db, const char *sub_id, const char *id, json_t **out, char *err,
                                  size_t err_len)
{
    const char *params[] = {sub_id, id};
    PGresult *r = db_exec(
        db, "SELECT " DELIVERY_COLUMNS " FROM webhook_deliveries WHERE subscription_id = $1 AND id = $2", 2,
        params, err, err_len);
    repo_status_t st = repo_single(r);
    if (st != REPO_OK)
        return st;
    json_t *list = json_pack("[o]", delivery_json(r, 0));
    PQclear(r);
    int rc = load_attempts(db, list, err, err_len);
    *out = json_incref(json_array_get(list, 0));
    json_decref(list);
    return rc == 0 ? REPO_OK : REPO_ERROR;
}

repo_status_t whdel_redeliver(db_t *db, const char *project_id, const char *sub_id, const char *delivery_id,
                              json_t **out, char *err, size_t err_len)
{
    repo_status_t st = sub_exists(db, project_id, sub_id, err, err_len);
    if (st != REPO_OK)
        return st;
    if (!uuid_valid(delivery_id))
        return REPO_NOT_FOUND;
    /* One more attempt, now, with a body built afresh (a new download link). One in flight is
     * left alone: it is being attempted already. */
    const char *params[] = {sub_id, delivery_id};
    long n = db_command(
        db,
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(), payload = NULL,"
        " lease_until = NULL, max_attempts = greatest(max_attempts, attempts + 1),"
        " enqueued_at = NULL, completed_at = NULL"
        " WHERE subscription_id = $1 AND id = $2 AND status <> 'delivering'",
        2, params, err, err_len);
    if (n < 0)
        return REPO_ERROR;
    return delivery_get(db, sub_id, delivery_id, out, err, err_len);
}

static void id_array(char (*ids)[37], int n, buf_t *out)
{
    buf_putc(out, '{');
    for (int i = 0; i < n; i++)
        buf_putf(out, "%s%s", i ? "," : "", ids[i]);
    buf_putc(out, '}');
}

int whdel_mark_enqueued(db_t *db, char (*ids)[37], int n, int attempts, char *err, size_t err_len)
{
    buf_t b;
    buf_init(&b, 64 * 1024);
    id_array(ids, n, &b);
    if (buf_error(&b) != BUF_OK) { /* never mark a cut list: the rest would look unqueued */
        buf_free(&b);
        return errmsg_fail(err, err_len, "too many deliveries to mark at once (%d)", n);
    }
    char att[16];
    snprintf(att, sizeof att, "%d", attempts);
    const char *params[] = {buf_cstr(&b), att};
    /* Only a delivery no dispatcher has claimed since the push: one may take the id, fail and
     * schedule a retry (enqueued_at NULL again) before this runs; marking that would strand it. */
    long rows = db_command(db,
                           "UPDATE webhook_deliveries SET enqueued_at = now() WHERE id = ANY ($1::uuid[])"
                           " AND enqueued_at IS NULL AND status = 'pending' AND attempts = $2::int",
                           2, params, err, err_len);
    buf_free(&b);
    return rows < 0 ? -1 : 0;
}

/* ---- dispatcher side ---- */

/* The text fields of a whdel_claim_t, each from the column of its name. */
#define COL(field) DB_TEXT_COL(whdel_claim_t, field)
static const db_text_col_t CLAIM_TEXT_COLS[] = {COL(id),       COL(project_id),     COL(render_id),
                                                COL(batch_id), COL(event),          COL(url),
                                                COL(secret),   COL(previous_secret)};
#undef COL

repo_status_t whdel_claim(db_t *db, const char *id, const char *worker_id, int lease_ms, whdel_claim_t *out,
                          char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    if (!uuid_valid(id))
        return REPO_NOT_FOUND;
    char lease[16];
    snprintf(lease, sizeof lease, "%d", lease_ms);
    const char *params[] = {id, worker_id, lease};
    PGresult *r =
        db_exec(db,
                "WITH c AS (UPDATE webhook_deliveries SET status = 'delivering', attempts = attempts + 1,"
                " worker_id = $2, lease_until = now() + $3::int * interval '1 millisecond'"
                " WHERE id = $1 AND ((status = 'pending' AND next_attempt_at <= now())"
                "  OR (status = 'delivering' AND lease_until < now()))"
                " RETURNING id, subscription_id, project_id, render_id, batch_id, event, payload, attempts,"
                " max_attempts)"
                " SELECT c.*, s.url, s.secret, CASE WHEN s.previous_expires_at > now()"
                " THEN s.previous_secret END AS previous_secret,"
                " (s.active AND s.deleted_at IS NULL) AS live"
                " FROM c JOIN webhook_subscriptions s ON s.id = c.subscription_id",
                3, params, err, err_len);
    repo_status_t st = repo_single(r);
    if (st != REPO_OK)
        return st;
    db_copy_cols(out, r, 0, CLAIM_TEXT_COLS, sizeof CLAIM_TEXT_COLS / sizeof CLAIM_TEXT_COLS[0]);
    out->subscription_live = db_get(r, 0, "live")[0] == 't';
    out->attempt = atoi(db_get(r, 0, "attempts"));
    out->max_attempts = atoi(db_get(r, 0, "max_attempts"));
    const char *payload = db_get(r, 0, "payload");
    out->payload = payload ? strdup(payload) : NULL;
    PQclear(r);
    return REPO_OK;
}

void whdel_claim_free(whdel_claim_t *c)
{
    free(c->payload);
    c->payload = NULL;
}

int whdel_set_payload(db_t *db, const char *id, const char *payload, char **stored, char *err, size_t err_len)
{
    const char *params[] = {id, payload};
    PGresult *r = db_exec(
        db, "UPDATE webhook_deliveries SET payload = coalesce(payload, $2) WHERE id = $1 RETURNING payload",
        2, params, err, err_len);
    if (!r)
        return -1;
    int rc = PQntuples(r) == 1 ? 0 : -1;
    if (rc == 0)
        *stored = strdup(PQgetvalue(r, 0, 0));
    else
        errmsg_fail(err, err_len, "delivery %s is gone", id);
    PQclear(r);
    return rc;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF), or 0 when the bytes there are not one. */
static size_t utf8_sequence(const unsigned char *p, size_t left)
{
    if (p[0] < 0x80)
        return 1;
    size_t len = p[0] >= 0xC2 && p[0] <= 0xDF   ? 2
                 : p[0] >= 0xE0 && p[0] <= 0xEF ? 3
                 : p[0] >= 0xF0 && p[0] <= 0xF4 ? 4
                                                : 0;
    if (len == 0 || len > left)
        return 0;
    for (size_t k = 1; k < len; k++)
        if ((p[k] & 0xC0) != 0x80)
            return 0;
    if ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] > 0x9F) || (p[0] == 0xF0 && p[1] < 0x90) ||
        (p[0] == 0xF4 && p[1] > 0x8F))
        return 0;
    return len;
}

/* A copy of s that Postgres will take as text: every byte that is not part of well-formed
 * UTF-8 becomes U+FFFD (a receiver may answer in Latin-1, or its first KB may end inside a
 * character), cut to at most max bytes at a character boundary. NULL stays NULL. */
static char *clean_utf8(const char *s, size_t max)
{
    if (!s)
        return NULL;
    static const char replacement[] = "\xEF\xBF\xBD";
    const unsigned char *in = (const unsigned char *)s;
    size_t n = strlen(s), o = 0;
    char *out = malloc(max + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n;) {
        size_t len = utf8_sequence(in + i, n - i);
        const char *piece = len ? s + i : replacement;
        size_t piece_len = len ? len : 3;
        if (o + piece_len > max)
            break;
        memcpy(out + o, piece, piece_len);
        o += piece_len;
        i += len ? len : 1;
    }
    out[o] = '\0';
    return out;
}

int whdel_record(db_t *db, const char *id, const char *worker_id, int attempt, const whdel_attempt_t *a,
                 whdel_outcome_t outcome, int retry_delay_ms, char *err, size_t err_len)
{
    static const char *const statuses[] = {"delivered", "pending", "abandoned"};
    char num[16], started[24], duration[16], code[16], delay[16];
    snprintf(num, sizeof num, "%d", attempt);
    snprintf(started, sizeof started, "%lld", (long long)a->started_unix_ms);
    snprintf(duration, sizeof duration, "%d", a->duration_ms);
    snprintf(code, sizeof code, "%d", a->status_code);
    snprintf(delay, sizeof delay, "%d", retry_delay_ms);
    char *error = clean_utf8(a->error, WEBHOOK_ERROR_MAX),
         *snippet = clean_utf8(a->snippet, WEBHOOK_SNIPPET_MAX);
    const char *params[] = {
        id,      worker_id,         num,  started, duration, a->status_code >= 0 ? code : NULL, error,
        snippet, statuses[outcome], delay};
    PGresult *r = db_exec(
        db,
        "WITH a AS (INSERT INTO webhook_attempts (delivery_id, number, started_at, duration_ms, status_code, "
        "error,"
        "  response_snippet)"
        " SELECT $1, $3::int, to_timestamp($4::bigint / 1000.0), $5::int, $6::int, $7, $8"
        " WHERE EXISTS (SELECT 1 FROM webhook_deliveries WHERE id = $1 AND worker_id = $2 AND status = "
        "'delivering')"
        " ON CONFLICT DO NOTHING RETURNING 1),"
        " u AS (UPDATE webhook_deliveries SET status = $9, last_status_code = $6::int, last_error = $7,"
        "  lease_until = NULL,"
        "  delivered_at = CASE WHEN $9 = 'delivered' THEN now() ELSE delivered_at END,"
        "  completed_at = CASE WHEN $9 = 'pending' THEN NULL ELSE now() END,"
        "  next_attempt_at = CASE WHEN $9 = 'pending' THEN now() + $10::int * interval '1 millisecond'"
        "   ELSE next_attempt_at END,"
        "  enqueued_at = CASE WHEN $9 = 'pending' THEN NULL ELSE enqueued_at END"
        "  WHERE id = $1 AND worker_id = $2 AND status = 'delivering' RETURNING 1)"
        " SELECT (SELECT count(*) FROM u) AS updated, (SELECT count(*) FROM a) AS recorded",
        10, params, err, err_len);
    free(error);
    free(snippet);
    if (!r)
        return -1;
    int updated = atoi(db_get(r, 0, "updated"));
    PQclear(r);
    return updated > 0;
}

int whdel_release(db_t *db, const char *id, const char *worker_id, int delay_ms, char *err, size_t err_len)
{
    char delay[16];
    snprintf(delay, sizeof delay, "%d", delay_ms);
    const char *params[] = {id, worker_id, delay};
    long n = db_command(db,
                        "UPDATE webhook_deliveries SET status = 'pending', attempts = attempts - 1,"
                        " lease_until = NULL, enqueued_at = NULL,"
                        " next_attempt_at = now() + $3::int * interval '1 millisecond'"
                        " WHERE id = $1 AND worker_id = $2 AND status = 'delivering'",
                        3, params, err, err_len);
    return n < 0 ? -1 : n > 0;
}

int whdel_sweep_pick(db_t *db, long long all_before_ms, char (*ids)[37], int max, char *err, size_t err_len)
{
    return db_sweep_pick(db, DB_SWEEP_SQL("webhook_deliveries", "pending", "delivering"), all_before_ms, ids,
                         max, err, err_len);
}
