/*
 * projects_repo — projects and API keys in Postgres; shared by the admin API and the CLI.
 *
 * Results are JSON objects in the API's shape (camelCase, ISO timestamps), new references
 * owned by the caller. Functions return REPO_OK, REPO_NOT_FOUND, REPO_CONFLICT or REPO_ERROR
 * (err filled). Threads: any, with the caller's db connection.
 */
#ifndef CRAFTKIT_DB_PROJECTS_REPO_H
#define CRAFTKIT_DB_PROJECTS_REPO_H

#include <jansson.h>
#include <stdbool.h>

#include "db/db.h"
#include "db/repo.h"

/* The NOTIFY channel of "who may authenticate changed" (a key revoked, a project deleted); sent
 * in the changing transaction, so every instance hears it once the change is visible. */
#define PROJECTS_AUTH_CHANNEL "craftkit_auth_changed"

/* Installs what runs in this process right after such a change commits (serve: flush the key
 * cache at once instead of waiting for the NOTIFY). Main thread, before threads start. */
void projects_on_auth_changed(void (*fn)(void));

/* Creates a project; slug NULL → derived from name, suffixed on collision. A given slug that
 * is taken → REPO_CONFLICT. */
REPO_MUST_USE repo_status_t projects_create(db_t *db, const char *name, const char *slug, json_t **out,
                                            char *err, size_t err_len);
REPO_MUST_USE repo_status_t projects_get(db_t *db, const char *id, json_t **out, char *err, size_t err_len);
REPO_MUST_USE repo_status_t projects_list(db_t *db, json_t **out, char *err, size_t err_len);
/* Updates the given fields (NULL / negative = unchanged). */
#define PROJECT_RETENTION_DAYS_MAX 36500 /* 100 years */

/* What PATCH /v1/projects/:id changes: name (NULL keeps), rate_limit/rate_burst (<= 0 keep),
 * retention_days (-1 keeps, 0 clears to the server default, n sets). */
typedef struct project_update {
    const char *name;
    double rate_limit;
    int rate_burst;
    int retention_days;
} project_update_t;
REPO_MUST_USE repo_status_t projects_update(db_t *db, const char *id, const project_update_t *u, json_t **out,
                                            char *err, size_t err_len);
REPO_MUST_USE repo_status_t projects_delete(db_t *db, const char *id, json_t **out, char *err,
                                            size_t err_len);

/* Mints a key; the plaintext is in (*out)["key"] and nowhere else. */
REPO_MUST_USE repo_status_t keys_create(db_t *db, const char *project_id, const char *name,
                                        const char *environment, json_t **out, char *err, size_t err_len);
REPO_MUST_USE repo_status_t keys_list(db_t *db, const char *project_id, json_t **out, char *err,
                                      size_t err_len);
/* project_id NULL: any project (CLI). Revoking twice keeps the first revokedAt. */
REPO_MUST_USE repo_status_t keys_revoke(db_t *db, const char *project_id, const char *key_id, json_t **out,
                                        char *err, size_t err_len);

#endif
