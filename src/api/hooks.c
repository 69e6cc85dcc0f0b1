/*
 * POST /v1/hooks/:token — inbound render hooks (docs/api.md, "Inbound hooks"). The body is the flat data object.
 *
 * The route reads the body raw, because the optional x-craftkit-signature is the hex
 * HMAC-SHA256 of the exact bytes (preceded by "<x-craftkit-timestamp>." when that header is
 * sent, which then must be within the replay window), keyed with the template's inbound
 * secret; it is compared in constant time, and required when the template enforces it (PATCH
 * inboundEnforceSignature).
 * Then the data goes through the same submission as POST /v1/templates/:slug/render (rate
 * limit, validation, the current published version, the queue, outgoing webhooks).
 * Threads: handler threads.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/common.h"
#include "api/renders.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/errmsg.h"
#include "core/timeutil.h"
#include "db/templates_repo.h"
#include "http/router.h"
#include "webhooks/webhook.h"

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

static bool refuse(http_req_t *req, const char *msg)
{
    http_error(req, 401, "invalid_signature", msg, NULL);
    return false;
}

/* The x-craftkit-timestamp header as Unix seconds: 0 when absent, -1 when malformed. */
static long long hook_timestamp(http_req_t *req)
{
    const char *ts = http_header(req, "x-craftkit-timestamp");
    if (!ts)
        return 0;
    size_t n = strlen(ts);
    if (n == 0 || n > 12 || strspn(ts, "0123456789") != n)
        return -1;
    return atoll(ts);
}

/*
 * Checks x-craftkit-signature ("<hex>" or "sha256=<hex>", any case), in constant time. With an
 * x-craftkit-timestamp header the signature covers "<timestamp>.<body>" and the timestamp must
 * be within CRAFTKIT_HOOK_REPLAY_WINDOW_S of now, so a captured request cannot be replayed
 * later; without one it covers the body alone (accepted during the transition, unless
 * CRAFTKIT_HOOK_REQUIRE_TIMESTAMP). true when the request may go on; otherwise it has answered
 * 401.
 */
static bool signature_ok(http_req_t *req, const tpl_row_t *tpl)
{
    const config_t *cfg = config_get();
    const char *sig = http_header(req, "x-craftkit-signature");
    if (!sig) {
        if (!tpl->inbound_enforce)
            return true;
        return refuse(req, "This hook requires an x-craftkit-signature header: the hex HMAC-SHA256 of "
                           "\"<x-craftkit-timestamp>.<body>\", keyed with the template's inbound secret");
    }
    long long ts = hook_timestamp(req);
    char msg[160];
    if (ts < 0)
        return refuse(req, "The x-craftkit-timestamp header must be Unix seconds");
    if (ts == 0 && cfg->hook_require_timestamp)
        return refuse(req, "Signed requests to this server must carry x-craftkit-timestamp (Unix seconds), "
                           "and the signature must cover \"<timestamp>.<body>\"");
    long long now = time_now_ms() / 1000;
    if (ts > 0 && (ts < now - cfg->hook_replay_window_s || ts > now + cfg->hook_replay_window_s)) {
        snprintf(msg, sizeof msg,
                 "The x-craftkit-timestamp is more than %d s away from the server's clock (a replay, or a "
                 "clock that is off)",
                 cfg->hook_replay_window_s);
        return refuse(req, msg);
    }
    if (!strncasecmp(sig, "sha256=", 7))
        sig += 7;
    char given[65] = "", want[65];
    size_t n = strlen(sig);
    for (size_t i = 0; i < n && i < 64; i++)
        given[i] = (char)tolower((unsigned char)sig[i]);
    given[n < 64 ? n : 64] = '\0';
    const char *body = req->body.data ? req->body.data : "";
    if (ts > 0) {
        if (!webhook_sign_timestamped(tpl->inbound_secret, http_header(req, "x-craftkit-timestamp"), body,
                                      req->body.len, want))
            return refuse(req, "The signature could not be checked (out of memory)");
    } else {
        webhook_sign(tpl->inbound_secret, body, req->body.len, want);
    }
    if (n == 64 && crypto_equal_str(given, want))
        return true;
    return refuse(req,
                  ts > 0 ? "The x-craftkit-signature header does not match \"<x-craftkit-timestamp>.<body>\""
                         : "The x-craftkit-signature header does not match the body");
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
    char err[ERRMSG_LEN];
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
    char err[ERRMSG_LEN];
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
    if (!http_parse_json_body(req)) /* the rate limit is taken by api_render_submit */
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
