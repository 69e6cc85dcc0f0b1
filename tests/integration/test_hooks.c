/* Inbound render hooks (POST /v1/hooks/:token) over real HTTP: signatures good, bad and
 * missing (enforced or not), unknown tokens, bad bodies, and the same pipeline afterwards
 * (the render completes, outgoing webhooks fire for it). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "harness_receiver.h"
#include "harness_render.h"

static th_server_t *srv;
static char key[128], token[128], secret[128];

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

static void sign(const char *body, char out[65])
{
    crypto_hmac_sha256_hex(secret, strlen(secret), body, strlen(body), out);
}

static void enforce(bool on)
{
    th_resp_t *r = th_req(srv, "PATCH", "/v1/templates/invoice", key,
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
    json_t *fields = json_object_get(json_object_get(json_object_get(r->json, "error"), "issues"), "fieldErrors");
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
               "{\"name\":\"Draft\",\"slug\":\"draft\",\"publish\":false,\"manifest\":" TH_INVOICE_MANIFEST "}", NULL);
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
    snprintf(body, sizeof body, "{\"url\":\"http://127.0.0.1:%d/from-hook\",\"events\":[\"render.succeeded\"]}", rx_port(rx));
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

int main(void)
{
    srv = th_start("hooks", NULL);
    char id[64];
    th_project(srv, "Hooks", false, id, key);
    th_template(srv, key, "invoice", TH_INVOICE_MANIFEST);
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
    tcase_add_test(tc, tokens_and_bodies);
    tcase_add_test(tc, hook_renders_fire_outgoing_webhooks);
    suite_add_tcase(s, tc);
    int rc = th_run_suite(s);
    if (th_stop(srv) != 0)
        rc = EXIT_FAILURE;
    return rc;
}
