/*
 * db — per-thread Postgres connections with automatic prepared statements and reconnect.
 *
 * Each thread that touches the database gets its own PGconn through db_thread() (created on
 * first use from DATABASE_URL, closed when the thread exits). db_exec() prepares each distinct
 * SQL text once per connection (named by a hash of the text) and runs it with text
 * parameters — parameterised SQL only, never string-built. When the server has gone away
 * (e.g. a Postgres restart: also a failure without a SQLSTATE, or 57P01/57P02/08xxx, while
 * libpq still calls the connection OK) the connection is reset and, outside a transaction, the
 * statement is retried once, so a restart never needs a craftkit restart.
 * Threads: a db_t belongs to the thread that got it from db_thread(); never pass it on.
 * Memory: results are PGresult* owned by the caller (PQclear).
 */
#ifndef CRAFTKIT_DB_DB_H
#define CRAFTKIT_DB_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#define DB_MAX_PARAMS 32
#define DB_MAX_PREPARED 256

/* ISO-8601 UTC with milliseconds, computed by Postgres: SQL_TS("created_at"). */
#define SQL_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

typedef struct db db_t;

/* Sets the conninfo used by db_thread() (call once at start-up). */
void db_configure(const char *conninfo);
/* This thread's connection (connecting on first use). NULL with a logged error if Postgres
 * is unreachable; callers answer 503. */
db_t *db_thread(void);
/* Makes this thread's connection (now, and after every reconnect) commit without waiting for
 * the WAL flush (synchronous_commit = off). For worker threads only: their claims, retries and
 * webhook attempts may be lost by a Postgres crash without harm (the sweeper pushes every due
 * row once after a restart), while acceptance of a render (HTTP threads) stays durable and
 * terminal transitions make themselves durable (renders_repo's TERMINAL_TAIL). */
void db_thread_async_commit(void);
/* Opens a private connection (for LISTEN, CLI commands). Free with db_close. */
db_t *db_open(const char *conninfo, char *err, size_t err_len);
void db_close(db_t *db);
PGconn *db_conn(db_t *db);

/* The text parameter of a bool: "t" or "f" (a static string). */
const char *db_bool(bool b);

/* Runs sql with n text params (NULL entries are SQL NULL). Returns a result whose status is
 * PGRES_COMMAND_OK or PGRES_TUPLES_OK, or NULL with err set (and the SQLSTATE, when there is
 * one, in db_last_sqlstate). */
PGresult *db_exec(db_t *db, const char *sql, int n, const char *const *params, char *err, size_t err_len);
/* Same, for statements with no result rows: returns affected rows, or -1. */
long db_command(db_t *db, const char *sql, int n, const char *const *params, char *err, size_t err_len);
/* Five-character SQLSTATE of the last failed db_exec on this connection ("" if none). */
const char *db_last_sqlstate(const db_t *db);
bool db_is_unique_violation(const db_t *db);

/* Sends a statement (db_exec's rules) without waiting for it, so the caller can prepare the
 * next one while Postgres runs this one. Inside a transaction only (nothing is retried). Until
 * db_finish, no other call may use db; params may be freed once this returns. 0 or -1 + err. */
int db_send(db_t *db, const char *sql, int n, const char *const *params, char *err, size_t err_len);
/* Waits for the statement db_send sent: its affected rows, or -1 + err (the transaction has
 * failed then). Must follow every db_send that returned 0. */
long db_finish(db_t *db, char *err, size_t err_len);

int db_begin(db_t *db, char *err, size_t err_len);
int db_commit(db_t *db, char *err, size_t err_len);
void db_rollback(db_t *db);

/*
 * The sweeper's pick over a job table (renders, webhook_deliveries): marks as enqueued now and
 * returns the ids of rows that are due but not in Redis — `waiting` rows never pushed (or whose
 * retry came due), `working` rows whose lease expired and were not pushed since — plus, when
 * $1 (all_before_ms) >= 0, any due row last pushed more than $1 ms ago. $2 = at most this many;
 * rows locked by another sweeper are skipped. The table needs status, next_attempt_at,
 * enqueued_at and lease_until.
 */
#define DB_SWEEP_SQL(table, waiting, working) DB_SWEEP_SQL_IF(table, "true", waiting, working)
/* The same over the rows that also match cond (an SQL condition on the table's columns). */
#define DB_SWEEP_SQL_IF(table, cond, waiting, working)                                                       \
    DB_SWEEP_SQL_ENQ(table, cond, "enqueued_at", waiting, working)
/* The same with enq, an SQL expression on the table's columns, as the time of the last push
 * (NULL: never pushed) instead of the enqueued_at column. */
#define DB_SWEEP_SQL_ENQ(table, cond, enq, waiting, working)                                                 \
    "UPDATE " table " SET enqueued_at = now() WHERE id IN ("                                                 \
    " SELECT id FROM " table " WHERE (" cond ") AND status IN ('" waiting "', '" working "') AND ("          \
    "  (status = '" waiting "' AND next_attempt_at <= now() AND ((" enq ") IS NULL"                          \
    "    OR ($1::bigint >= 0 AND (" enq ") < now() - $1::bigint * interval '1 millisecond')))"               \
    "  OR (status = '" working "' AND lease_until < now() AND ((" enq ") IS NULL OR (" enq ") < lease_until" \
    "    OR ($1::bigint >= 0 AND (" enq ") < now() - $1::bigint * interval '1 millisecond'))))"              \
    " ORDER BY next_attempt_at LIMIT $2::int FOR UPDATE SKIP LOCKED)"                                        \
    " RETURNING id"
/* Runs a DB_SWEEP_SQL statement; copies up to max ids (37 bytes each). Count or -1 + err. */
int db_sweep_pick(db_t *db, const char *sql, long long all_before_ms, char (*ids)[37], int max, char *err,
                  size_t err_len);

/* When the Postgres server started (pg_postmaster_start_time, as text) into out: a change
 * means it restarted, and commits made with synchronous_commit = off may be lost. 0 or -1. */
int db_server_started(db_t *db, char *out, size_t out_len, char *err, size_t err_len);

/* Liveness check for /ready. */
bool db_ping(db_t *db, char *err, size_t err_len);

/* Copies the first column of r's first max rows into out, max rows of width bytes each (cut to fit;
 * "" for SQL NULL), and clears r: how many rows it copied, or -1 when r is NULL (the failed db_exec
 * filled err). For statements that pick ids or keys to work on. */
int db_copy_first_col(PGresult *r, char *out, size_t width, int max);

/* A text column of a row struct: its name in the result, and the offset and size of the struct's
 * char array (never a pointer) that takes it. DB_TEXT_COL(batch_row_t, status) names column "status" for field status. */
typedef struct {
    const char *column;
    size_t offset, size;
} db_text_col_t;
#define DB_TEXT_COL(type, field)                                                                             \
    {                                                                                                        \
#field, offsetof(type, field), sizeof(((type *)0)->field)                                            \
    }
/* db_copy_col of each of the n columns of row r into its field of the struct at dst. */
void db_copy_cols(void *dst, const PGresult *res, int row, const db_text_col_t *cols, size_t n);

/* Accessors that read a column by name from row r (NULL for SQL NULL). */
const char *db_get(const PGresult *res, int row, const char *column);
/* db_get copied into dst (dst_len bytes, cut to fit; "" for SQL NULL). */
void db_copy_col(char *dst, size_t dst_len, const PGresult *res, int row, const char *column);

#endif
