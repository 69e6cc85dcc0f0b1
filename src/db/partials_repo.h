/*
 * partials_repo — a project's library of partials (table partials, migration 0016): named
 * blocks that layouts use by name. Template versions keep copies of the ones they use (in their
 * layout's "libraryPartials"), so rows here are replaced and deleted outright.
 *
 * Every query is scoped by project: another project's partial is REPO_NOT_FOUND.
 * JSON results are new references in the API's shape. Threads: any, with the caller's db.
 */
#ifndef CRAFTKIT_DB_PARTIALS_REPO_H
#define CRAFTKIT_DB_PARTIALS_REPO_H

#include <jansson.h>
#include <stdbool.h>

#include "db/db.h"
#include "db/repo.h"

#define PARTIALS_NAME_MAX 64     /* characters of a name: [A-Za-z0-9][A-Za-z0-9_-]* */
#define PARTIALS_PAGE_MAX 100    /* partials per listing page */
#define PARTIALS_PROJECT_MAX 500 /* partials in one project's library */

/* Creates or replaces the project's partial name (partial: its JSON text; description may be
 * NULL). *out gets it as GET answers it, *created whether it is new. REPO_CONFLICT: the
 * library holds PARTIALS_PROJECT_MAX partials already and name is not one of them. */
REPO_MUST_USE repo_status_t partials_put(db_t *db, const char *project_id, const char *name,
                                         const char *description, const char *partial, json_t **out,
                                         bool *created, char *err, size_t err_len);
/* {"partials":[{id, name, description, createdAt, updatedAt}…],"nextCursor","hasMore"}, newest
 * first; cursor is a previous page's last id. */
REPO_MUST_USE repo_status_t partials_list(db_t *db, const char *project_id, const char *cursor, int limit,
                                          json_t **out, char *err, size_t err_len);
/* One partial with its blocks ("partial"). */
REPO_MUST_USE repo_status_t partials_get(db_t *db, const char *project_id, const char *name, json_t **out,
                                         char *err, size_t err_len);
/* The live templates whose current version carries a copy of the partial name (in its layout's
 * "libraryPartials"): [{template, version}], at most 20, by slug. */
REPO_MUST_USE repo_status_t partials_users(db_t *db, const char *project_id, const char *name, json_t **out,
                                           char *err, size_t err_len);
/* Deletes it; *out gets {id, name, deletedAt}. */
REPO_MUST_USE repo_status_t partials_delete(db_t *db, const char *project_id, const char *name, json_t **out,
                                            char *err, size_t err_len);
/* The blocks of those of names (a JSON array of strings) that the library has: *found gets
 * {name: blocks} (names it lacks are left out). */
REPO_MUST_USE repo_status_t partials_fetch(db_t *db, const char *project_id, const json_t *names,
                                           json_t **found, char *err, size_t err_len);

#endif
