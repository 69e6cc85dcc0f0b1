/*
 * templates (API) — /v1/templates handlers, plus version resolution shared with the render
 * and inbound-hook endpoints.
 * Threads: MHD pool threads.
 */
#ifndef CRAFTKIT_API_TEMPLATES_H
#define CRAFTKIT_API_TEMPLATES_H

#include <stdbool.h>

#include "db/templates_repo.h"
#include "http/http.h"
#include "worker/compiled.h"

typedef struct resolved_version {
    tpl_row_t tpl;
    char version_id[37];
    int number;
    compiled_t *compiled; /* referenced; release with resolved_version_release */
} resolved_version_t;

/* Resolves the template by slug in the request's project and a version (number 0 = current
 * published; drafts allowed only when allow_draft). Answers 404 template_not_found,
 * 409 no_published_version, 404 version_not_found or 503 itself and returns false. */
bool api_resolve_version(http_req_t *req, db_t *db, const tpl_row_t *known, const char *slug, int number,
                         bool allow_draft, resolved_version_t *out);
void resolved_version_release(resolved_version_t *rv);

/* Reads options.versionNumber (integer ≥ 1) into *number (0 when absent); adds an issue on a
 * bad value. */
bool api_option_version(const json_t *options, int *number, json_t *issues);

void api_templates_routes(void);

#endif
