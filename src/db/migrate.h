/*
 * migrate — applies the SQL migrations embedded in the binary (migrations/NNNN_name.sql).
 *
 * Each pending migration runs in its own transaction and is recorded in schema_migrations.
 * A session-level advisory lock serialises concurrent runners (two instances starting at
 * once apply each migration exactly once). Forward-only: files are never edited once released.
 * Threads: main thread (CLI and start-up only).
 */
#ifndef CRAFTKIT_DB_MIGRATE_H
#define CRAFTKIT_DB_MIGRATE_H

#include <stddef.h>

#include "db/db.h"

typedef struct migration {
    int version;
    const char *name;
    const char *sql;
} migration_t;

extern const migration_t migrations[];
extern const int migrations_count;

/* Applies every pending migration; *applied gets how many ran. 0 or -1 + err. */
int migrate_apply(db_t *db, int *applied, char *err, size_t err_len);
/* Number of migrations not yet applied (0 = up to date), or -1 + err. */
int migrate_pending(db_t *db, char *err, size_t err_len);

#endif
