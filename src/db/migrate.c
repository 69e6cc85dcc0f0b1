#include "db/migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errmsg.h"
#include "core/log.h"

/* Arbitrary constant naming craftkit's migration lock. */
#define MIGRATE_LOCK_ID "7305846123771034"

static int exec_simple(PGconn *c, const char *sql, char *err, size_t err_len)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? 0 : -1;
    if (rc)
        errmsg_fail(err, err_len, "%s", PQerrorMessage(c));
    PQclear(r);
    return rc;
}

static int applied_versions(PGconn *c, int **out, int *n, char *err, size_t err_len)
{
    PGresult *r = PQexec(c, "SELECT version FROM schema_migrations ORDER BY version");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        errmsg_fail(err, err_len, "%s", PQerrorMessage(c));
        PQclear(r);
        return -1;
    }
    *n = PQntuples(r);
    *out = calloc((size_t)*n + 1, sizeof **out);
    for (int i = 0; i < *n; i++)
        (*out)[i] = atoi(PQgetvalue(r, i, 0));
    PQclear(r);
    return 0;
}

static int is_applied(const int *versions, int n, int v)
{
    for (int i = 0; i < n; i++)
        if (versions[i] == v)
            return 1;
    return 0;
}

int migrate_pending(db_t *db, char *err, size_t err_len)
{
    PGconn *c = db_conn(db);
    PGresult *r = PQexec(c, "SELECT to_regclass('schema_migrations') IS NOT NULL");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        errmsg_fail(err, err_len, "%s", PQerrorMessage(c));
        PQclear(r);
        return -1;
    }
    int exists = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (!exists)
        return migrations_count;
    int *versions = NULL, n = 0, pending = 0;
    if (applied_versions(c, &versions, &n, err, err_len) != 0)
        return -1;
    for (int i = 0; i < migrations_count; i++)
        pending += !is_applied(versions, n, migrations[i].version);
    free(versions);
    return pending;
}

int migrate_apply(db_t *db, int *applied, char *err, size_t err_len)
{
    PGconn *c = db_conn(db);
    int *versions = NULL, n = 0, rc = -1;
    *applied = 0;
    if (exec_simple(c, "SELECT pg_advisory_lock(" MIGRATE_LOCK_ID ")", err, err_len) != 0)
        return -1;
    if (exec_simple(c,
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version integer PRIMARY KEY, name text NOT NULL,"
                    " applied_at timestamptz NOT NULL DEFAULT now())",
                    err, err_len) != 0)
        goto cleanup;
    if (applied_versions(c, &versions, &n, err, err_len) != 0)
        goto cleanup;
    for (int i = 0; i < migrations_count; i++) {
        const migration_t *m = &migrations[i];
        if (is_applied(versions, n, m->version))
            continue;
        if (exec_simple(c, "BEGIN", err, err_len) != 0)
            goto cleanup;
        char verr[1024];
        if (exec_simple(c, m->sql, verr, sizeof verr) != 0) {
            errmsg_fail(err, err_len, "migration %s failed: %s", m->name, verr);
            exec_simple(c, "ROLLBACK", verr, sizeof verr);
            goto cleanup;
        }
        char version[16];
        snprintf(version, sizeof version, "%d", m->version);
        const char *params[] = {version, m->name};
        PGresult *r = PQexecParams(c, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2,
                                   NULL, params, NULL, NULL, 0);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!ok || exec_simple(c, "COMMIT", err, err_len) != 0) {
            errmsg_fail(err, err_len, "migration %s could not be recorded: %s", m->name, PQerrorMessage(c));
            exec_simple(c, "ROLLBACK", verr, sizeof verr);
            goto cleanup;
        }
        log_info("applied migration %s", m->name);
        (*applied)++;
    }
    rc = 0;
cleanup:
    free(versions);
    {
        char uerr[ERRMSG_LEN];
        exec_simple(c, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_ID ")", uerr, sizeof uerr);
    }
    return rc;
}
