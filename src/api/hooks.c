/*
 * POST /v1/hooks/:token — inbound render hooks (spec §6). The body is the flat data object.
 *
 * The route reads the body raw, because the optional x-craftkit-signature is the hex
 * HMAC-SHA256 of the exact bytes, keyed with the template's inbound secret; it is compared in
 * constant time, and required when the template enforces it (PATCH inboundEnforceSignature).
 * Then the data goes through the same submission as POST /v1/templates/:slug/render (rate
 * limit, validation, the current published version, the queue, outgoing webhooks).
 * Threads: handler threads.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/common.h"
#include "api/renders.h"
#include "core/crypto.h"
#include "db/templates_repo.h"
#include "http/router.h"

#define HOOK_TOKEN_MAX 64

static bool token_plausible(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > HOOK_TOKEN_MAX)
        return false;
    for (; *t; t++)
        if (!isalnum((unsigned char)*t))
            return false;
    return true;
}

/* Checks x-craftkit-signature ("<hex>" or "sha256=<hex>", any case). true when the request may
 * go on; otherwise it has answered 401. */
static bool signature_ok(http_req_t *req, const tpl_row_t *tpl)
{
    const char *sig = http_header(req, "x-craftkit-signature");
    if (!sig) {
        if (!tpl->inbound_enforce)
            return true;
        http_error(
            req, 401, "invalid_signature",
            "This hook requires an x-craftkit-signature header: the hex HMAC-SHA256 of the body, keyed with "
            "the template's inbound secret",
            NULL);
        return false;
    }
    if (!strncasecmp(sig, "sha256=", 7))
        sig += 7;
    char given[65] = "", want[65];
    size_t n = strlen(sig);
    for (size_t i = 0; i < n && i < 64; i++)
        given[i] = (char)tolower((unsigned char)sig[i]);
    given[n < 64 ? n : 64] = '\0';
    crypto_hmac_sha256_hex(tpl->inbound_secret, strlen(tpl->inbound_secret),
                           req->body.data ? req->body.data : "", req->body.len, want);
    if (n == 64 && crypto_equal_str(given, want))
        return true;
    http_error(req, 401, "invalid_signature", "The x-craftkit-signature header does not match the body",
               NULL);
    return false;
}

/* Before the body is read: a token no template has is refused at once (404), so that nobody
 * can make the server buffer bodies for a hook that does not exist. */
static bool hook_precheck(http_req_t *req)
{
    const char *token = http_param(req, "token");
    if (!token_plausible(token)) {
        http_error(req, 404, "invalid_token", "No template has this inbound hook token", NULL);
        return true;
    }
    db_t *db = api_db(req);
    if (!db)
        return true;
    tpl_row_t tpl;
    tpl_owner_t owner;
    char err[512];
    repo_status_t st = tpl_find_by_token(db, token, &tpl, &owner, err, sizeof err);
    if (st == REPO_NOT_FOUND) {
        http_error(req, 404, "invalid_token", "No template has this inbound hook token", NULL);
        return true;
    }
    if (st != REPO_OK) {
        api_db_error(req, err);
        return true;
    }
    return false;
}

static void post_hook(http_req_t *req)
{
    if (api_render_resumed(req))
        return;
    const char *token = http_param(req, "token");
    db_t *db = api_db(req);
    if (!db)
        return;
    tpl_row_t tpl;
    tpl_owner_t owner;
    char err[512];
    repo_status_t st =
        token_plausible(token) ? tpl_find_by_token(db, token, &tpl, &owner, err, sizeof err) : REPO_NOT_FOUND;
    if (st == REPO_NOT_FOUND) {
        http_error(req, 404, "invalid_token", "No template has this inbound hook token", NULL);
        return;
    }
    if (st != REPO_OK) {
        api_db_error(req, err);
        return;
    }
    if (!signature_ok(req, &tpl))
        return;
    /* From here on the request acts for the template's project, with its rate limit. */
    snprintf(req->auth.project_id, sizeof req->auth.project_id, "%s", owner.project_id);
    req->auth.rate_limit = owner.rate_limit;
    req->auth.rate_burst = owner.rate_burst;
    if (!api_rate_limit(req) || !http_parse_json_body(req))
        return;
    if (!json_is_object(req->json)) {
        json_t *issues = api_issues_new();
        api_issue_form(issues, "Expected object");
        http_error(req, 400, "invalid_request", "The body must be a JSON object: the render data", issues);
        return;
    }
    const char *key = http_header(req, "Idempotency-Key");
    if (key && (strlen(key) < 1 || strlen(key) > RENDER_IDEMPOTENCY_MAX)) {
        http_error(req, 400, "invalid_request", "The Idempotency-Key header must be 1 to 200 characters",
                   NULL);
        return;
    }
    render_submission_t sub = {.slug = tpl.slug,
                               .tpl = &tpl,
                               .data = req->json,
                               .idempotency_key = key,
                               .source = "hook",
                               .minimal_answer = true};
    api_render_submit(req, &sub);
}

void api_hooks_routes(void)
{
    router_add_raw("POST", "/v1/hooks/:token", post_hook, AUTH_NONE);
    router_set_precheck("POST", "/v1/hooks/:token", hook_precheck);
    router_set_secret_path("/v1/hooks/:token");
}
