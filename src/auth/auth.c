#include "auth/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/keycache.h"
#include "core/apikey.h"
#include "core/errmsg.h"
#include "core/log.h"
#include "core/config.h"
#include "core/crypto.h"
#include "db/db.h"
#include "http/router.h"

static bool unauthorized(http_req_t *req)
{
    http_add_header(req, "WWW-Authenticate", "Bearer");
    http_error(req, 401, "unauthorized", "Missing, malformed, unknown or revoked API key", NULL);
    return true;
}

/* The bearer token of the Authorization header, or NULL. */
static const char *bearer(const http_req_t *req)
{
    const char *h = http_header(req, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    return *h ? h : NULL;
}

bool auth_lookup_project(http_req_t *req)
{
    const char *token = bearer(req);
    if (!token || !apikey_well_formed(token))
        return unauthorized(req);
    char hash[65], err[ERRMSG_LEN];
    apikey_hash(token, hash);
    uint64_t gen = 0;
    if (keycache_get(hash, &req->auth, &gen))
        return false;
    db_t *db = db_thread();
    if (!db) {
        http_error(req, 503, "database_unavailable", "The database is unreachable; retry shortly", NULL);
        return true;
    }
    const char *params[] = {hash};
    PGresult *res =
        db_exec(db,
                "SELECT k.id, k.project_id, k.environment, k.hash, p.rate_limit, p.rate_burst FROM api_keys k"
                " JOIN projects p ON p.id = k.project_id"
                " WHERE k.hash = $1 AND k.revoked_at IS NULL AND p.deleted_at IS NULL",
                1, params, err, sizeof err);
    if (!res) {
        log_error("database error: %s (request %s)", err, req->request_id);
        http_error(req, 503, "database_unavailable", "The database is unreachable; retry shortly", NULL);
        return true;
    }
    bool ok = PQntuples(res) == 1 && crypto_equal_str(db_get(res, 0, "hash"), hash);
    if (ok) {
        snprintf(req->auth.key_id, sizeof req->auth.key_id, "%s", db_get(res, 0, "id"));
        snprintf(req->auth.project_id, sizeof req->auth.project_id, "%s", db_get(res, 0, "project_id"));
        req->auth.test = strcmp(db_get(res, 0, "environment"), "test") == 0;
        const char *rl = db_get(res, 0, "rate_limit"), *rb = db_get(res, 0, "rate_burst");
        req->auth.rate_limit = rl ? atof(rl) : 0;
        req->auth.rate_burst = rb ? atoi(rb) : 0;
        keycache_put(hash, &req->auth, gen);
    }
    PQclear(res);
    return ok ? false : unauthorized(req);
}

bool auth_lookup_cached(http_req_t *req)
{
    const char *token = bearer(req);
    if (!token || !apikey_well_formed(token))
        return false;
    char hash[65];
    uint64_t gen = 0;
    apikey_hash(token, hash);
    return keycache_get(hash, &req->auth, &gen);
}

bool auth_check_headers(http_req_t *req)
{
    auth_kind_t kind = req->route->auth;
    if (kind == AUTH_NONE)
        return false;
    const char *token = bearer(req);
    if (!token)
        return unauthorized(req);
    if (kind == AUTH_ADMIN) {
        const char *admin = config_get()->admin_key;
        if (!admin || !crypto_equal_str(token, admin))
            return unauthorized(req);
        req->auth.admin = true;
        return false;
    }
    return apikey_well_formed(token) ? false : unauthorized(req);
}

bool auth_check(http_req_t *req)
{
    if (auth_check_headers(req))
        return true;
    return req->route->auth == AUTH_PROJECT && auth_lookup_project(req);
}
