#include "db/db.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errmsg.h"
#include "core/log.h"
#include "core/perthread.h"
#include "core/strhash.h"

struct db {
    PGconn *conn;
    char *conninfo;
    uint64_t prepared[DB_MAX_PREPARED]; /* hashes of SQL texts prepared on this session */
    int n_prepared;
    bool in_tx;
    bool async_commit; /* SET synchronous_commit = off, kept across reconnects */
    char sqlstate[6];
};

static char *db_conninfo;
static _Thread_local bool thread_async_commit;

static bool apply_session(db_t *db);

static void thread_db_free(void *p)
{
    db_close(p);
}

static perthread_t thread_dbs = PERTHREAD_INIT(thread_db_free);

void db_configure(const char *conninfo)
{
    free(db_conninfo);
    db_conninfo = strdup(conninfo);
}

static void quiet_notice(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

db_t *db_open(const char *conninfo, char *err, size_t err_len)
{
    db_t *db = calloc(1, sizeof *db);
    if (!db)
        return NULL;
    db->conninfo = strdup(conninfo);
    db->conn = PQconnectdb(conninfo);
    if (PQstatus(db->conn) != CONNECTION_OK) {
        errmsg_fail(err, err_len, "cannot connect to Postgres: %s", PQerrorMessage(db->conn));
        err[strcspn(err, "\n")] = '\0';
        db_close(db);
        return NULL;
    }
    PQsetNoticeProcessor(db->conn, quiet_notice, NULL); /* NOTICEs (IF NOT EXISTS, ...) are not errors */
    return db;
}

void db_close(db_t *db)
{
    if (!db)
        return;
    if (db->conn)
        PQfinish(db->conn);
    free(db->conninfo);
    free(db);
}

db_t *db_thread(void)
{
    db_t *db = perthread_get(&thread_dbs);
    if (db)
        return db;
    char err[ERRMSG_LEN];
    db = db_open(db_conninfo ? db_conninfo : "", err, sizeof err);
    if (!db) {
        log_error("%s", err);
        return NULL;
    }
    db->async_commit = thread_async_commit;
    if (!apply_session(db))
        log_warn("could not apply session settings: %s", PQerrorMessage(db->conn));
    perthread_set(&thread_dbs, db);
    return db;
}

PGconn *db_conn(db_t *db)
{
    return db->conn;
}

static bool connection_lost(db_t *db)
{
    return PQstatus(db->conn) == CONNECTION_BAD;
}

/* The last statement failed because the session is gone, though libpq may not say so yet:
 * after a server restart the first statement on an idle connection fails ("server closed the
 * connection unexpectedly", no SQLSTATE) while PQstatus is still CONNECTION_OK, or reads the
 * FATAL admin_shutdown/crash_shutdown (57P01/57P02) the server sent every session. Errors the
 * server raised all carry a SQLSTATE. Without this, every idle connection would fail one
 * request after a restart. */
static bool session_gone(db_t *db)
{
    return connection_lost(db) || !db->sqlstate[0] || !strcmp(db->sqlstate, "57P01") ||
           !strcmp(db->sqlstate, "57P02") || !strncmp(db->sqlstate, "08", 2);
}

/* Applies the session settings a connection must carry (again after a reset). */
static bool apply_session(db_t *db)
{
    if (!db->async_commit)
        return true;
    PGresult *r = PQexec(db->conn, "SET synchronous_commit = off");
    bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok;
}

static bool reconnect(db_t *db)
{
    PQreset(db->conn);
    db->n_prepared = 0;
    db->in_tx = false;
    if (PQstatus(db->conn) != CONNECTION_OK)
        return false;
    PQsetNoticeProcessor(db->conn, quiet_notice, NULL);
    return apply_session(db);
}

void db_thread_async_commit(void)
{
    thread_async_commit = true;
    db_t *db = perthread_get(&thread_dbs);
    if (db && !db->async_commit) {
        db->async_commit = true;
        apply_session(db);
    }
}

static void record_error(db_t *db, PGresult *res, char *err, size_t err_len)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(db->sqlstate, sizeof db->sqlstate, "%s", state ? state : "");
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(db->conn);
    errmsg_fail(err, err_len, "%s", msg && *msg ? msg : "database error");
    err[strcspn(err, "\n")] = '\0';
}

/* Prepares sql on this session unless done already; returns the statement name. */
static bool ensure_prepared(db_t *db, const char *sql, int n, char name[24], char *err, size_t err_len)
{
    uint64_t h = strhash_fnv1a(sql);
    snprintf(name, 24, "s%016llx", (unsigned long long)h);
    for (int i = 0; i < db->n_prepared; i++)
        if (db->prepared[i] == h)
            return true;
    PGresult *res = PQprepare(db->conn, name, sql, n, NULL);
    bool ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        record_error(db, res, err, err_len);
    PQclear(res);
    if (ok && db->n_prepared < DB_MAX_PREPARED)
        db->prepared[db->n_prepared++] = h;
    return ok;
}

static PGresult *exec_once(db_t *db, const char *sql, int n, const char *const *params, char *err,
                           size_t err_len)
{
    char name[24];
    if (!ensure_prepared(db, sql, n, name, err, err_len))
        return NULL;
    PGresult *res = PQexecPrepared(db->conn, name, n, params, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        db->sqlstate[0] = '\0';
        return res;
    }
    record_error(db, res, err, err_len);
    PQclear(res);
    return NULL;
}

PGresult *db_exec(db_t *db, const char *sql, int n, const char *const *params, char *err, size_t err_len)
{
    if (connection_lost(db) && !db->in_tx && !reconnect(db)) {
        errmsg_fail(err, err_len, "cannot reach Postgres");
        snprintf(db->sqlstate, sizeof db->sqlstate, "08006");
        return NULL;
    }
    PGresult *res = exec_once(db, sql, n, params, err, err_len);
    if (!res && session_gone(db) && !db->in_tx && reconnect(db))
        res = exec_once(db, sql, n, params, err, err_len);
    return res;
}

long db_command(db_t *db, const char *sql, int n, const char *const *params, char *err, size_t err_len)
{
    PGresult *res = db_exec(db, sql, n, params, err, err_len);
    if (!res)
        return -1;
    long rows = atol(PQcmdTuples(res));
    PQclear(res);
    return rows;
}

int db_send(db_t *db, const char *sql, int n, const char *const *params, char *err, size_t err_len)
{
    char name[24];
    if (!db->in_tx) {
        errmsg_fail(err, err_len, "internal error: db_send outside a transaction");
        return -1;
    }
    if (!ensure_prepared(db, sql, n, name, err, err_len))
        return -1;
    if (!PQsendQueryPrepared(db->conn, name, n, params, NULL, NULL, 0)) {
        record_error(db, NULL, err, err_len);
        return -1;
    }
    return 0;
}

long db_finish(db_t *db, char *err, size_t err_len)
{
    long rows = -1;
    bool first = true;
    PGresult *res;
    /* every result up to the NULL that ends the statement, so the connection is free again */
    while ((res = PQgetResult(db->conn)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (first && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)) {
            rows = atol(PQcmdTuples(res));
            db->sqlstate[0] = '\0';
        } else if (first) {
            record_error(db, res, err, err_len);
        }
        first = false;
        PQclear(res);
    }
    if (first)
        record_error(db, NULL, err, err_len);
    return rows;
}

const char *db_last_sqlstate(const db_t *db)
{
    return db->sqlstate;
}

bool db_is_unique_violation(const db_t *db)
{
    return strcmp(db->sqlstate, "23505") == 0;
}

int db_begin(db_t *db, char *err, size_t err_len)
{
    if (db_command(db, "BEGIN", 0, NULL, err, err_len) < 0)
        return -1;
    db->in_tx = true;
    return 0;
}

int db_commit(db_t *db, char *err, size_t err_len)
{
    long rc = db_command(db, "COMMIT", 0, NULL, err, err_len);
    db->in_tx = false;
    return rc < 0 ? -1 : 0;
}

void db_rollback(db_t *db)
{
    char err[ERRMSG_LEN];
    if (!connection_lost(db))
        db_command(db, "ROLLBACK", 0, NULL, err, sizeof err);
    db->in_tx = false;
}

int db_server_started(db_t *db, char *out, size_t out_len, char *err, size_t err_len)
{
    PGresult *r = db_exec(db, "SELECT pg_postmaster_start_time()::text", 0, NULL, err, err_len);
    if (!r)
        return -1;
    snprintf(out, out_len, "%s", PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return 0;
}

bool db_ping(db_t *db, char *err, size_t err_len)
{
    PGresult *res = db_exec(db, "SELECT 1", 0, NULL, err, err_len);
    PQclear(res);
    return res != NULL;
}

const char *db_bool(bool b)
{
    return b ? "t" : "f";
}

const char *db_get(const PGresult *res, int row, const char *column)
{
    int col = PQfnumber(res, column);
    if (col < 0 || PQgetisnull(res, row, col))
        return NULL;
    return PQgetvalue(res, row, col);
}

void db_copy_col(char *dst, size_t dst_len, const PGresult *res, int row, const char *column)
{
    const char *v = db_get(res, row, column);
    snprintf(dst, dst_len, "%s", v ? v : "");
}

int db_sweep_pick(db_t *db, const char *sql, long long all_before_ms, char (*ids)[37], int max, char *err,
                  size_t err_len)
{
    char before[24], lim[16];
    snprintf(before, sizeof before, "%lld", all_before_ms);
    snprintf(lim, sizeof lim, "%d", max);
    const char *params[] = {before, lim};
    return db_copy_first_col(db_exec(db, sql, 2, params, err, err_len), ids[0], sizeof ids[0], max);
}

void db_copy_cols(void *dst, const PGresult *res, int row, const db_text_col_t *cols, size_t n)
{
    for (size_t i = 0; i < n; i++)
        db_copy_col((char *)dst + cols[i].offset, cols[i].size, res, row, cols[i].column);
}

int db_copy_first_col(PGresult *r, char *out, size_t width, int max)
{
    if (!r)
        return -1;
    int n = PQntuples(r) < max ? PQntuples(r) : max;
    for (int i = 0; i < n; i++)
        snprintf(out + (size_t)i * width, width, "%s", PQgetvalue(r, i, 0));
    PQclear(r);
    return n;
}
