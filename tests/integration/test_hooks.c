/* Inbound render hooks (POST /v1/hooks/:token) over real HTTP: signatures good, bad and
 * missing (enforced or not), unknown tokens, bad bodies, and the same pipeline afterwards
 * (the render completes, outgoing webhooks fire for it, Redis down answers 503, the project's
 * rate limit answers 429). */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "core/crypto.h"
#include "harness_receiver.h"
#include "harness_render.h"

static th_server_t *srv;
static char key[128], token[128], secret[128], project_id[64];

#define DATA "{\"customer\":{\"name\":\"From a hook\"},\"total\":\"12.50\"}"

static th_resp_t *hook(const char *tok, const char *body, const char *signature)
{
    char path[256], header[200];
    snprintf(path, sizeof path, "/v1/hooks/%s", tok);
    const char *headers[] = {signature ? header : NULL, NULL};
    if (signature)
        snprintf(header, sizeof header, "x-craftkit-signature: %s", signature);
    return th_req(srv, "POST", path, NULL, body, headers);
}

/* A hook request with an x-craftkit-timestamp (ts) and a signature (NULL: none). */
static th_resp_t *hook_at(const char *base_url, const char *tok, const char *body, const char *ts,
                          const char *signature)
{
    char url[256], sig_h[200], ts_h[100];
    snprintf(url, sizeof url, "%s/v1/hooks/%s", base_url, tok);
    snprintf(ts_h, sizeof ts_h, "x-craftkit-timestamp: %s", ts);
    snprintf(sig_h, sizeof sig_h, "x-craftkit-signature: %s", signature ? signature : "");
    const char *headers[] = {ts_h, signature ? sig_h : NULL, NULL};
    return th_req_url("POST", url, NULL, body, headers);
}

/* The HMAC of "<ts>.<body>" with the inbound secret. */
static void sign_at(const char *ts, const char *body, char out[65])
{
    char msg[1024];
    snprintf(msg, sizeof msg, "%s.%s", ts, body);
    crypto_hmac_sha256_hex(secret, strlen(secret), msg, strlen(msg), out);
}

static void sign(const char *body, char out[65])
{
    crypto_hmac_sha256_hex(secret, strlen(secret), body, strlen(body), out);
}

static void enforce(bool on)
{
    th_resp_t *r =
        th_req(srv, "PATCH", "/v1/templates/invoice", key,
               on ? "{\"inboundEnforceSignature\":true}" : "{\"inboundEnforceSignature\":false}", NULL);
    ck_assert_int_eq(r->status, 200);
    th_resp_free(r);
}

START_TEST(signed_and_unsigned)
{
    char sig[65];
    sign(DATA, sig);
    th_resp_t *r = hook(token, DATA, sig);
    ck_assert_msg(r->status == 202, "%ld %s", r->status, r->body);
    ck_assert_str_eq(th_str(r->json, "status"), "queued");
    ck_assert(strstr(th_str(r->json, "pollUrl"), "/v1/renders/"));
    ck_assert_int_eq(json_object_size(r->json), 3); /* {id, status, pollUrl} */
    char id[64];
    snprintf(id, sizeof id, "%s", th_str(r->json, "id"));
    th_resp_free(r);
    r = th_wait_render(srv, key, id, 20000);
    ck_assert_msg(!strcmp(th_status(r), "succeeded"), "%s", r->body);
    ck_assert_str_eq(th_str(r->json, "source"), "hook");
    th_resp_free(r);

    char prefixed[80];
    snprintf(prefixed, sizeof prefixed, "sha256=%s", sig);
    r = hook(token, DATA, prefixed);
    ck_assert_int_eq(r->status, 202);
    th_resp_free(r);
    r = hook(token, DATA, NULL); /* not enforced: a missing signature is fine */
    ck_assert_int_eq(r->status, 202);
    th_resp_free(r);
}
END_TEST

START_TEST(bad_and_missing_signatures)
{
    char sig[65];
    sign(DATA, sig);
    sig[0] = sig[0] == 'a' ? 'b' : 'a';
    th_resp_t *r = hook(token, DATA, sig);
    th_assert_error(r, 401, "invalid_signature");
    th_resp_free(r);
    r = hook(token, DATA, "nonsense");
    th_assert_error(r, 401, "invalid_signature");
    th_resp_free(r);
    /* signed over other bytes (a space more) */
    sign(DATA, sig);
    r = hook(token, DATA " ", sig);
    th_assert_error(r, 401, "invalid_signature");
    th_resp_free(r);
    enforce(true);
    r = hook(token, DATA, NULL);
    th_assert_error(r, 401, "invalid_signature");
    th_resp_free(r);
    r = hook(token, DATA, sig);
    ck_assert_int_eq(r->status, 202);
    th_resp_free(r);
    enforce(false);
}
END_TEST

START_TEST(timestamped_signatures_and_the_replay_window)
{
    /* With x-craftkit-timestamp the signature covers "<timestamp>.<body>" and the timestamp
     * must be recent: a captured request cannot be sent again later, nor with a new timestamp. */
    char ts[32], old_ts[32], sig[65];
    snprintf(ts, sizeof ts, "%ld", (long)time(NULL));
    snprintf(old_ts, sizeof old_ts, "%ld", (long)time(NULL) - 301); /* the window is 300 s */
    sign_at(ts, DATA, sig);
    th_resp_t *r = hook_at(srv->base_url, token, DATA, ts, sig);
    ck_assert_msg(r->status == 202, "%ld %s", r->status, r->body);
    th_resp_free(r);
    /* a replay of an old request, genuinely signed */
    sign_at(old_ts, DATA, sig);
    r = hook_at(srv->base_url, token, DATA, old_ts, sig);
    th_assert_error(r, 401, "invalid_signature");
    ck_assert_msg(strstr(r->body, "300 s"), "%s", r->body);
    th_resp_free(r);
    /* the old signature under a fresh timestamp */
    r = hook_at(srv->base_url, token, DATA, ts, sig);
    th_assert_error(r, 401, "invalid_signature");
    th_resp_free(r);
    /* a body-only signature does not cover a timestamp that was sent */
    sign(DATA, sig);
    r = hook_at(srv->base_url, token, DATA, ts, sig);
    th_assert_error(r, 401, "invalid_signature");
    th_resp_free(r);
    r = hook_at(srv->base_url, token, DATA, "12e9", sig);
    th_assert_error(r, 401, "invalid_signature");
    th_resp_free(r);

    /* An instance with CRAFTKIT_HOOK_REQUIRE_TIMESTAMP=1 refuses body-only signatures. */
    const char *env[] = {"CRAFTKIT_HOOK_REQUIRE_TIMESTAMP=1", "CRAFTKIT_WORKERS=0", NULL};
    int port;
    pid_t strict = th_server_spawn_extra(srv, &port, env);
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    char path[256];
    snprintf(path, sizeof path, "%s/v1/hooks/%s", base, token);
    char body_only[100];
    snprintf(body_only, sizeof body_only, "x-craftkit-signature: %s", sig);
    const char *h[] = {body_only, NULL};
    r = th_req_url("POST", path, NULL, DATA, h);
    th_assert_error(r, 401, "invalid_signature");
    ck_assert_msg(strstr(r->body, "x-craftkit-timestamp"), "%s", r->body);
    th_resp_free(r);
    sign_at(ts, DATA, sig);
    r = hook_at(base, token, DATA, ts, sig);
    ck_assert_msg(r->status == 202, "%ld %s", r->status, r->body);
    th_resp_free(r);
    kill(strict, SIGTERM);
    waitpid(strict, NULL, 0);
}
END_TEST

static void assert_live_key_required(th_resp_t *r)
{
    th_assert_error(r, 403, "live_key_required");
    th_resp_free(r);
}

START_TEST(test_keys_cannot_reach_live_hooks_secrets_or_templates)
{
    char path[256], test_key[128];
    snprintf(path, sizeof path, "/v1/projects/%s/keys", project_id);
    th_resp_t *r =
        th_req(srv, "POST", path, TH_ADMIN_KEY, "{\"name\":\"ci\",\"environment\":\"test\"}", NULL);
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    snprintf(test_key, sizeof test_key, "%s", th_str(r->json, "key"));
    th_resp_free(r);

    /* the hook starts live renders without a key: a test key is not shown it */
    r = th_req(srv, "GET", "/v1/templates/invoice", test_key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    json_t *inbound = json_object_get(r->json, "inbound");
    ck_assert(json_is_null(json_object_get(inbound, "token")) &&
              json_is_null(json_object_get(inbound, "url")) &&
              json_is_null(json_object_get(inbound, "secret")));
    ck_assert(json_is_boolean(json_object_get(inbound, "enforceSignature")));
    ck_assert(!strstr(r->body, token) && !strstr(r->body, secret));
    th_resp_free(r);
    r = th_req(srv, "PATCH", "/v1/templates/invoice", test_key, "{\"description\":\"from CI\"}", NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert(!strstr(r->body, secret));
    th_resp_free(r);

    assert_live_key_required(
        th_req(srv, "POST", "/v1/templates/invoice/inbound/rotate", test_key, NULL, NULL));
    assert_live_key_required(
        th_req(srv, "PATCH", "/v1/templates/invoice", test_key, "{\"inboundEnforceSignature\":true}", NULL));
    assert_live_key_required(th_req(srv, "DELETE", "/v1/templates/invoice", test_key, NULL, NULL));

    /* webhook secrets */
    r = th_req(srv, "POST", "/v1/webhooks", test_key, "{\"url\":\"http://127.0.0.1:9/x\"}", NULL);
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    char rotate[256];
    snprintf(rotate, sizeof rotate, "/v1/webhooks/%s/rotate-secret", th_str(r->json, "id"));
    th_resp_free(r);
    assert_live_key_required(th_req(srv, "POST", rotate, test_key, NULL, NULL));
    r = th_req(srv, "POST", rotate, key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    th_resp_free(r);

    /* a template with only drafts may go */
    char body[2048];
    snprintf(body, sizeof body,
             "{\"name\":\"Draft\",\"slug\":\"draft-only\",\"publish\":false,\"manifest\":%s}",
             TH_INVOICE_MANIFEST);
    r = th_req(srv, "POST", "/v1/templates", test_key, body, NULL);
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    th_resp_free(r);
    r = th_req(srv, "DELETE", "/v1/templates/draft-only", test_key, NULL, NULL);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    th_resp_free(r);
    th_expect_error(srv, "DELETE", "/v1/templates/no-such-template", test_key, NULL, 404,
                    "template_not_found");

    /* nothing changed for live traffic: the live key still sees the same hook, which works */
    r = th_req(srv, "GET", "/v1/templates/invoice", key, NULL, NULL);
    inbound = json_object_get(r->json, "inbound");
    ck_assert_str_eq(th_str(inbound, "token"), token);
    ck_assert_str_eq(th_str(inbound, "secret"), secret);
    ck_assert(json_is_false(json_object_get(inbound, "enforceSignature")));
    th_resp_free(r);
}
END_TEST

START_TEST(tokens_and_bodies)
{
    th_resp_t *r = hook("unknownToken123", DATA, NULL);
    th_assert_error(r, 404, "invalid_token");
    th_resp_free(r);
    r = hook("..%2f..%2fetc", DATA, NULL);
    ck_assert_int_eq(r->status, 404);
    th_resp_free(r);
    r = hook(token, "{\"total\":\"lots\"}", NULL);
    th_assert_error(r, 400, "invalid_input_data");
    json_t *fields =
        json_object_get(json_object_get(json_object_get(r->json, "error"), "issues"), "fieldErrors");
    ck_assert(json_object_get(fields, "customer.name") && json_object_get(fields, "total"));
    th_resp_free(r);
    r = hook(token, "{not json", NULL);
    th_assert_error(r, 400, "invalid_json");
    th_resp_free(r);
    r = hook(token, "[1,2]", NULL);
    th_assert_error(r, 400, "invalid_request");
    th_resp_free(r);
    /* a template with only a draft has nothing to render */
    r = th_req(srv, "POST", "/v1/templates", key,
               "{\"name\":\"Draft\",\"slug\":\"draft\",\"publish\":false,\"manifest\":" TH_INVOICE_MANIFEST
               "}",
               NULL);
    char draft_token[128];
    snprintf(draft_token, sizeof draft_token, "%s", th_str(json_object_get(r->json, "inbound"), "token"));
    th_resp_free(r);
    r = hook(draft_token, DATA, NULL);
    th_assert_error(r, 409, "no_published_version");
    th_resp_free(r);
    /* a deleted template's token is dead */
    th_resp_free(th_req(srv, "DELETE", "/v1/templates/draft", key, NULL, NULL));
    r = hook(draft_token, DATA, NULL);
    th_assert_error(r, 404, "invalid_token");
    th_resp_free(r);
}
END_TEST

typedef struct {
    receiver_t *rx;
    const char *render_id;
} hook_delivery_t;

static bool delivered_for(void *p)
{
    hook_delivery_t *w = p;
    bool found = false;
    rx_request_t req;
    for (int i = 0; !found && rx_get(w->rx, "/from-hook", i, &req); i++) {
        found = strstr(req.body, w->render_id) != NULL;
        rx_request_free(&req);
    }
    return found;
}

START_TEST(hook_renders_fire_outgoing_webhooks)
{
    receiver_t *rx = rx_start();
    char body[256];
    snprintf(body, sizeof body,
             "{\"url\":\"http://127.0.0.1:%d/from-hook\",\"events\":[\"render.succeeded\"]}", rx_port(rx));
    th_resp_t *r = th_req(srv, "POST", "/v1/webhooks", key, body, NULL);
    ck_assert_int_eq(r->status, 201);
    char sub[64], path[128];
    snprintf(sub, sizeof sub, "%s", th_str(r->json, "id"));
    th_resp_free(r);
    r = hook(token, DATA, NULL);
    ck_assert_int_eq(r->status, 202);
    char id[64];
    snprintf(id, sizeof id, "%s", th_str(r->json, "id"));
    th_resp_free(r);
    /* (renders of the earlier tests may be delivered too, if they finished after subscribing) */
    hook_delivery_t want = {rx, id};
    ck_assert(th_wait_until(delivered_for, &want, 20000));
    snprintf(path, sizeof path, "/v1/webhooks/%s", sub);
    th_resp_free(th_req(srv, "DELETE", path, key, NULL, NULL));
    rx_stop(rx);
}
END_TEST

START_TEST(rotating_the_inbound_secret_and_token)
{
    char sig[65];
    th_resp_t *r = th_req(srv, "POST", "/v1/templates/invoice/inbound/rotate", key, NULL, NULL);
    ck_assert_msg(r->status == 200, "%s", r->body);
    json_t *inbound = json_object_get(r->json, "inbound");
    ck_assert_str_eq(th_str(inbound, "token"), token); /* the URL stays */
    ck_assert_str_ne(th_str(inbound, "secret"), secret);
    char old_secret[128];
    snprintf(old_secret, sizeof old_secret, "%s", secret);
    snprintf(secret, sizeof secret, "%s", th_str(inbound, "secret"));
    th_resp_free(r);
    sign(DATA, sig);
    r = hook(token, DATA, sig);
    ck_assert_int_eq(r->status, 202);
    th_resp_free(r);
    crypto_hmac_sha256_hex(old_secret, strlen(old_secret), DATA, strlen(DATA), sig);
    r = hook(token, DATA, sig);
    th_assert_error(r, 401, "invalid_signature");
    th_resp_free(r);
    /* a new token: the old URL is dead */
    r = th_req(srv, "POST", "/v1/templates/invoice/inbound/rotate", key, "{\"token\":true}", NULL);
    ck_assert_int_eq(r->status, 200);
    char old_token[128];
    snprintf(old_token, sizeof old_token, "%s", token);
    snprintf(token, sizeof token, "%s", th_str(json_object_get(r->json, "inbound"), "token"));
    snprintf(secret, sizeof secret, "%s", th_str(json_object_get(r->json, "inbound"), "secret"));
    ck_assert_str_ne(token, old_token);
    th_resp_free(r);
    r = hook(old_token, DATA, NULL);
    th_assert_error(r, 404, "invalid_token");
    th_resp_free(r);
    r = hook(token, DATA, NULL);
    ck_assert_int_eq(r->status, 202);
    th_resp_free(r);
    th_expect_error(srv, "POST", "/v1/templates/invoice/inbound/rotate", key, "{\"token\":\"yes\"}", 400,
                    "invalid_request");
    th_expect_error(srv, "POST", "/v1/templates/nope/inbound/rotate", key, NULL, 404, "template_not_found");
}
END_TEST

static th_resp_t *hook_with_key(const char *tok, const char *body, const char *idempotency_key)
{
    char path[256], header[300];
    snprintf(path, sizeof path, "/v1/hooks/%s", tok);
    snprintf(header, sizeof header, "Idempotency-Key: %s", idempotency_key);
    const char *headers[] = {header, NULL};
    return th_req(srv, "POST", path, NULL, body, headers);
}

static char *renders_of(const char *pid)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM renders WHERE project_id = '%s'", pid);
    return th_sql(srv, sql);
}

START_TEST(redis_down_is_queue_unavailable)
{
    /* A hook caller (a form tool, an automation) can only retry: with Redis down the hook must
     * say so (503 queue_unavailable, Retry-After) and keep nothing, with or without a key, so
     * that the retry once Redis is back creates the render. */
    char *before = renders_of(project_id);
    th_redis_stop(srv);
    th_resp_t *r = hook(token, DATA, NULL);
    th_assert_error(r, 503, "queue_unavailable");
    ck_assert_str_eq(th_header(r, "retry-after"), "1");
    th_resp_free(r);
    r = hook_with_key(token, DATA, "form-entry-1");
    th_assert_error(r, 503, "queue_unavailable");
    ck_assert_str_eq(th_header(r, "retry-after"), "1");
    th_resp_free(r);
    char *during = renders_of(project_id);
    ck_assert_str_eq(during, before);
    th_redis_start(srv);
    r = hook_with_key(token, DATA, "form-entry-1");
    ck_assert_msg(r->status == 202, "%ld %s", r->status, r->body); /* a new render, not a replay */
    char id[64];
    snprintf(id, sizeof id, "%s", th_str(r->json, "id"));
    th_resp_free(r);
    r = th_wait_render(srv, key, id, 20000);
    ck_assert_msg(!strcmp(th_status(r), "succeeded"), "%s", r->body);
    th_resp_free(r);
    r = hook(token, DATA, NULL);
    ck_assert_int_eq(r->status, 202);
    th_resp_free(r);
    free(before);
    free(during);
}
END_TEST

START_TEST(rate_limited_per_project)
{
    /* Hooks draw from the bucket of the template's project (they carry no key to limit by), with
     * the project's own limit and the same headers as the render endpoint. A project of its own,
     * so the other tests keep their tokens. */
    char pid[64], k[128], path[128];
    th_invoice_project(srv, "Hooks limited", "limited", pid, k);
    th_resp_t *r = th_req(srv, "GET", "/v1/templates/limited", k, NULL, NULL);
    char tok[128];
    snprintf(tok, sizeof tok, "%s", th_str(json_object_get(r->json, "inbound"), "token"));
    th_resp_free(r);
    snprintf(path, sizeof path, "/v1/projects/%s", pid);
    r = th_req(srv, "PATCH", path, TH_ADMIN_KEY, "{\"rateLimit\":0.01,\"rateBurst\":2}", NULL);
    ck_assert_msg(r->status == 200, "%s", r->body);
    th_resp_free(r);
    for (int i = 0; i < 2; i++) {
        r = hook(tok, DATA, NULL);
        ck_assert_msg(r->status == 202, "%d: %ld %s", i, r->status, r->body);
        ck_assert_str_eq(th_header(r, "ratelimit-limit"), "2");
        char want[8];
        snprintf(want, sizeof want, "%d", 1 - i);
        ck_assert_str_eq(th_header(r, "ratelimit-remaining"), want);
        th_resp_free(r);
    }
    r = hook(tok, DATA, NULL);
    th_assert_error(r, 429, "rate_limited");
    ck_assert(th_header(r, "retry-after") && atoi(th_header(r, "retry-after")) >= 1);
    ck_assert_str_eq(th_header(r, "ratelimit-limit"), "2");
    ck_assert_str_eq(th_header(r, "ratelimit-remaining"), "0");
    ck_assert(th_header(r, "ratelimit-reset") != NULL);
    th_resp_free(r);
    /* the same bucket as the project's API requests */
    th_expect_error(srv, "POST", "/v1/templates/limited/render", k, "{\"data\":" DATA "}", 429,
                    "rate_limited");
    char *count = renders_of(pid);
    ck_assert_str_eq(count, "2"); /* the refused requests created nothing */
    free(count);
    /* other projects' hooks are not affected */
    r = hook(token, DATA, NULL);
    ck_assert_int_eq(r->status, 202);
    th_resp_free(r);
}
END_TEST

int main(void)
{
    srv = th_start("hooks", NULL);
    th_invoice_project(srv, "Hooks", "invoice", project_id, key);
    th_resp_t *r = th_req(srv, "GET", "/v1/templates/invoice", key, NULL, NULL);
    json_t *inbound = json_object_get(r->json, "inbound");
    snprintf(token, sizeof token, "%s", th_str(inbound, "token"));
    snprintf(secret, sizeof secret, "%s", th_str(inbound, "secret"));
    th_resp_free(r);
    Suite *s = suite_create("hooks");
    TCase *tc = tcase_create("inbound");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, signed_and_unsigned);
    tcase_add_test(tc, bad_and_missing_signatures);
    tcase_add_test(tc, timestamped_signatures_and_the_replay_window);
    tcase_add_test(tc, test_keys_cannot_reach_live_hooks_secrets_or_templates);
    tcase_add_test(tc, tokens_and_bodies);
    tcase_add_test(tc, hook_renders_fire_outgoing_webhooks);
    tcase_add_test(tc, rotating_the_inbound_secret_and_token);
    tcase_add_test(tc, redis_down_is_queue_unavailable);
    tcase_add_test(tc, rate_limited_per_project);
    suite_add_tcase(s, tc);
    return th_run_and_stop(s, srv);
}
