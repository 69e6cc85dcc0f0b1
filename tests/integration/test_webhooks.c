/* Outgoing webhooks against a real HTTP receiver on loopback: subscriptions, signed bodies,
 * retries with a stable delivery id, abandonment after 6 attempts, redelivery, secret
 * rotation and the end of its grace period, paused subscriptions, the delivery log (snippets,
 * paging), slow receivers and the timeout, a restart during the backoff and the SSRF guard. */
#include <check.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/crypto.h"
#include "db/webhooks_repo.h"
#include "harness_receiver.h"
#include "harness_render.h"

static th_server_t *srv;
static receiver_t *rx;
static char key[128], other_key[128];

#define DATA_OK "{\"data\":{\"customer\":{\"name\":\"Hook Test\"},\"total\":3}}"
#define DATA_FAILS                                                                                           \
    "{\"data\":{\"customer\":{\"name\":\"Broken\"},\"total\":3,\"logo\":\"http://127.0.0.1:9/"               \
    "nothing.png\"}}"

typedef struct sub {
    char id[64];
    char secret[80];
} sub_t;

static th_resp_t *create_sub_raw(th_server_t *s, const char *k, const char *body)
{
    return th_req(s, "POST", "/v1/webhooks", k, body, NULL);
}

/* A subscription for this test's receiver at path (events: a JSON array text or NULL). */
static void subscribe(th_server_t *s, const char *k, const char *path, const char *events, sub_t *out)
{
    char body[512];
    snprintf(body, sizeof body, "{\"url\":\"http://127.0.0.1:%d%s\"%s%s}", rx_port(rx), path,
             events ? ",\"events\":" : "", events ? events : "");
    th_resp_t *r = create_sub_raw(s, k, body);
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    snprintf(out->id, sizeof out->id, "%s", th_str(r->json, "id"));
    snprintf(out->secret, sizeof out->secret, "%s", th_str(r->json, "secret"));
    th_resp_free(r);
}

static void unsubscribe(th_server_t *s, const char *k, const sub_t *sub)
{
    char path[400];
    snprintf(path, sizeof path, "/v1/webhooks/%s", sub->id);
    th_resp_free(th_req(s, "DELETE", path, k, NULL, NULL));
}

/* A page of the subscription's delivery log; query is "" or "?limit=…&cursor=…". */
static th_resp_t *deliveries_query(th_server_t *s, const char *k, const sub_t *sub, const char *query)
{
    char path[600];
    snprintf(path, sizeof path, "/v1/webhooks/%s/deliveries%s", sub->id, query);
    return th_req(s, "GET", path, k, NULL, NULL);
}

/* The subscription's delivery log (its first page). */
static th_resp_t *deliveries(th_server_t *s, const char *k, const sub_t *sub)
{
    return deliveries_query(s, k, sub, "");
}

/* Pauses (false) or resumes (true) a subscription through PATCH. */
static void set_active(th_server_t *s, const char *k, const sub_t *sub, bool active)
{
    char path[400];
    snprintf(path, sizeof path, "/v1/webhooks/%s", sub->id);
    th_resp_t *r = th_req(s, "PATCH", path, k, active ? "{\"active\":true}" : "{\"active\":false}", NULL);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert(json_is_true(json_object_get(r->json, "active")) == active);
    th_resp_free(r);
}

typedef struct {
    th_server_t *s;
    const char *key;
    const sub_t *sub;
    const char *status;
} wait_delivery_t;

static bool first_delivery_is(void *p)
{
    wait_delivery_t *w = p;
    th_resp_t *r = deliveries(w->s, w->key, w->sub);
    json_t *d = json_array_get(json_object_get(r->json, "deliveries"), 0);
    bool yes = d && !strcmp(th_str(d, "status"), w->status);
    th_resp_free(r);
    return yes;
}

static void wait_first_delivery(th_server_t *s, const char *k, const sub_t *sub, const char *status, int ms)
{
    wait_delivery_t w = {s, k, sub, status};
    ck_assert_msg(th_wait_until(first_delivery_is, &w, ms), "the delivery did not become %s", status);
}

static void check_signature(const rx_request_t *req, const char *secret, const char *header)
{
    char want[65];
    crypto_hmac_sha256_hex(secret, strlen(secret), req->body, req->len, want);
    const char *got = rx_header(req, header);
    ck_assert_msg(got && !strcmp(got, want), "%s: %s, want %s", header, got ? got : "(none)", want);
}

/* x-craftkit-signature-v2 style: HMAC over "<x-craftkit-timestamp>.<body>". */
static void check_signature_v2(const rx_request_t *req, const char *secret, const char *header)
{
    const char *ts = rx_header(req, "x-craftkit-timestamp");
    ck_assert(ts);
    size_t tl = strlen(ts);
    char *msg = malloc(tl + 1 + req->len);
    ck_assert(msg);
    memcpy(msg, ts, tl);
    msg[tl] = '.';
    memcpy(msg + tl + 1, req->body, req->len);
    char want[65];
    crypto_hmac_sha256_hex(secret, strlen(secret), msg, tl + 1 + req->len, want);
    free(msg);
    const char *got = rx_header(req, header);
    ck_assert_msg(got && !strcmp(got, want), "%s: %s, want %s", header, got ? got : "(none)", want);
}

START_TEST(subscription_crud_and_errors)
{
    th_resp_t *r =
        create_sub_raw(srv, key, "{\"url\":\"https://hooks.example.com/craftkit\",\"description\":\"CRM\"}");
    ck_assert_msg(r->status == 201, "%s", r->body);
    ck_assert(!strncmp(th_str(r->json, "secret"), "whsec_", 6));
    ck_assert(json_is_true(json_object_get(r->json, "active")));
    json_t *events = json_object_get(r->json, "events");
    ck_assert_int_eq(json_array_size(events), 2);
    char id[64], path[128];
    snprintf(id, sizeof id, "%s", th_str(r->json, "id"));
    th_resp_free(r);
    snprintf(path, sizeof path, "/v1/webhooks/%s", id);
    r = th_req(srv, "GET", path, key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert(json_object_get(r->json, "secret") == NULL); /* shown on create only */
    ck_assert_str_eq(th_str(r->json, "description"), "CRM");
    th_resp_free(r);
    r = th_req(srv, "PATCH", path, key,
               "{\"active\":false,\"events\":[\"render.failed\"],\"description\":null}", NULL);
    ck_assert_msg(r->status == 200, "%s", r->body);
    ck_assert(json_is_false(json_object_get(r->json, "active")));
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "events")), 1);
    ck_assert(json_is_null(json_object_get(r->json, "description")));
    th_resp_free(r);
    r = th_req(srv, "GET", "/v1/webhooks", key, NULL, NULL);
    ck_assert(json_array_size(json_object_get(r->json, "webhooks")) >= 1);
    th_resp_free(r);

    /* errors */
    const char *bad[] = {"{}",
                         "{\"url\":\"ftp://example.com/x\"}",
                         "{\"url\":\"not a url\"}",
                         "{\"url\":\"https://example.com\",\"events\":[]}",
                         "{\"url\":\"https://example.com\",\"events\":[\"render.started\"]}",
                         "{\"url\":\"https://example.com\",\"events\":[\"render.failed\",\"render.failed\"]}",
                         "{\"url\":\"https://example.com\",\"active\":\"yes\"}",
                         "{\"url\":\"https://example.com\",\"x\":1}",
                         "[]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = create_sub_raw(srv, key, bad[i]);
        th_assert_error(r, 400, "invalid_request");
        th_resp_free(r);
    }
    th_expect_error(srv, "GET", path, other_key, NULL, 404, "webhook_not_found");
    th_expect_error(srv, "GET", "/v1/webhooks/not-an-id", key, NULL, 404, "webhook_not_found");
    r = th_req(srv, "DELETE", path, key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert(json_is_string(json_object_get(r->json, "deletedAt")));
    th_resp_free(r);
    th_expect_error(srv, "GET", path, key, NULL, 404, "webhook_not_found");
}
END_TEST

START_TEST(signed_delivery_of_a_success)
{
    sub_t sub;
    subscribe(srv, key, "/ok", NULL, &sub);
    char render_id[64];
    th_submit_ok(srv, NULL, key, "invoice", DATA_OK, render_id);
    ck_assert(rx_wait_count(rx, "/ok", 1, 20000));
    rx_request_t req;
    ck_assert(rx_get(rx, "/ok", 0, &req));
    check_signature(&req, sub.secret, "x-craftkit-signature");
    check_signature_v2(&req, sub.secret, "x-craftkit-signature-v2");
    ck_assert(rx_header(&req, "x-craftkit-signature-v2-previous") == NULL);
    ck_assert_str_eq(rx_header(&req, "x-craftkit-event"), "render.succeeded");
    ck_assert_str_eq(rx_header(&req, "user-agent"), "Craftkit-Webhook/1.0");
    ck_assert_str_eq(rx_header(&req, "content-type"), "application/json");
    ck_assert(rx_header(&req, "x-craftkit-signature-previous") == NULL);
    long ts = atol(rx_header(&req, "x-craftkit-timestamp"));
    ck_assert(labs(ts - (long)time(NULL)) < 60);
    char delivery_id[64];
    snprintf(delivery_id, sizeof delivery_id, "%s", rx_header(&req, "x-craftkit-delivery-id"));
    json_t *body = json_loads(req.body, 0, NULL);
    ck_assert_str_eq(th_str(body, "event"), "render.succeeded");
    ck_assert_str_eq(th_str(body, "renderId"), render_id);
    ck_assert_str_eq(th_str(body, "status"), "succeeded");
    ck_assert(strstr(th_str(body, "downloadUrl"), "/files/renders/"));
    ck_assert(json_is_null(json_object_get(body, "errorMessage")));
    ck_assert(json_is_string(json_object_get(body, "templateId")) &&
              json_is_string(json_object_get(body, "createdAt")) &&
              json_is_string(json_object_get(body, "completedAt")));
    json_decref(body);
    rx_request_free(&req);

    wait_first_delivery(srv, key, &sub, "delivered", 5000);
    th_resp_t *r = deliveries(srv, key, &sub);
    json_t *d = json_array_get(json_object_get(r->json, "deliveries"), 0);
    ck_assert_str_eq(th_str(d, "id"), delivery_id);
    ck_assert_str_eq(th_str(d, "renderId"), render_id);
    json_t *a = json_array_get(json_object_get(d, "attempts"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(a, "statusCode")), 200);
    ck_assert_str_eq(th_str(a, "responseSnippet"), "answer2");
    ck_assert(json_is_null(json_object_get(a, "error")));
    th_resp_free(r);
    unsubscribe(srv, key, &sub);
}
END_TEST

START_TEST(failed_renders_and_event_filters)
{
    sub_t failures, successes;
    subscribe(srv, key, "/failures", "[\"render.failed\"]", &failures);
    subscribe(srv, key, "/successes", "[\"render.succeeded\"]", &successes);
    char render_id[64];
    th_submit_ok(srv, NULL, key, "invoice", DATA_FAILS, render_id);
    ck_assert(rx_wait_count(rx, "/failures", 1, 30000));
    rx_request_t req;
    ck_assert(rx_get(rx, "/failures", 0, &req));
    json_t *body = json_loads(req.body, 0, NULL);
    ck_assert_str_eq(th_str(body, "event"), "render.failed");
    ck_assert_str_eq(th_str(body, "status"), "failed");
    ck_assert(json_is_null(json_object_get(body, "downloadUrl")));
    ck_assert(strstr(th_str(body, "errorMessage"), "data.logo"));
    json_decref(body);
    rx_request_free(&req);
    th_sleep_ms(500);
    ck_assert_int_eq(rx_count(rx, "/successes"), 0);
    unsubscribe(srv, key, &failures);
    unsubscribe(srv, key, &successes);
}
END_TEST

START_TEST(retried_with_a_stable_delivery_id)
{
    const int script[] = {500, 200};
    rx_script(rx, "/flaky", script, 2, 0);
    sub_t sub;
    subscribe(srv, key, "/flaky", NULL, &sub);
    char render_id[64];
    th_submit_ok(srv, NULL, key, "invoice", DATA_OK, render_id);
    ck_assert(rx_wait_count(rx, "/flaky", 2, 20000));
    rx_request_t a, b;
    ck_assert(rx_get(rx, "/flaky", 0, &a) && rx_get(rx, "/flaky", 1, &b));
    char first[64];
    snprintf(first, sizeof first, "%s", rx_header(&a, "x-craftkit-delivery-id"));
    ck_assert_str_eq(rx_header(&b, "x-craftkit-delivery-id"), first);
    ck_assert_str_eq(a.body, b.body); /* the same bytes, so the same signature */
    check_signature(&b, sub.secret, "x-craftkit-signature");
    rx_request_free(&a);
    rx_request_free(&b);
    wait_first_delivery(srv, key, &sub, "delivered", 5000);
    th_resp_t *r = deliveries(srv, key, &sub);
    json_t *d = json_array_get(json_object_get(r->json, "deliveries"), 0);
    json_t *attempts = json_object_get(d, "attempts");
    ck_assert_int_eq(json_array_size(attempts), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(attempts, 0), "statusCode")), 500);
    ck_assert_str_eq(th_str(json_array_get(attempts, 0), "error"), "HTTP 500");
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(attempts, 1), "statusCode")), 200);
    th_resp_free(r);
    th_sleep_ms(500);
    ck_assert_int_eq(rx_count(rx, "/flaky"), 2); /* exactly 2 attempts */
    unsubscribe(srv, key, &sub);
}
END_TEST

START_TEST(abandoned_after_six_then_redelivered)
{
    const int script[] = {500, 500, 500, 500, 500, 500, 200};
    rx_script(rx, "/dead", script, 7, 0);
    sub_t sub;
    subscribe(srv, key, "/dead", NULL, &sub);
    char render_id[64];
    th_submit_ok(srv, NULL, key, "invoice", DATA_OK, render_id);
    ck_assert(rx_wait_count(rx, "/dead", 6, 60000));
    wait_first_delivery(srv, key, &sub, "abandoned", 10000);
    th_sleep_ms(1000);
    ck_assert_int_eq(rx_count(rx, "/dead"), 6);
    th_resp_t *r = deliveries(srv, key, &sub);
    json_t *d = json_array_get(json_object_get(r->json, "deliveries"), 0);
    ck_assert_int_eq(json_array_size(json_object_get(d, "attempts")), 6);
    ck_assert_int_eq(json_integer_value(json_object_get(d, "attemptCount")), 6);
    char delivery_id[64], path[256];
    snprintf(delivery_id, sizeof delivery_id, "%s", th_str(d, "id"));
    th_resp_free(r);

    snprintf(path, sizeof path, "/v1/webhooks/%s/deliveries/%s/redeliver", sub.id, delivery_id);
    r = th_req(srv, "POST", path, key, NULL, NULL);
    ck_assert_msg(r->status == 202, "%ld %s", r->status, r->body);
    ck_assert_str_eq(th_str(r->json, "id"), delivery_id);
    th_resp_free(r);
    ck_assert(rx_wait_count(rx, "/dead", 7, 10000));
    rx_request_t req;
    ck_assert(rx_get(rx, "/dead", 6, &req));
    ck_assert_str_eq(rx_header(&req, "x-craftkit-delivery-id"), delivery_id);
    rx_request_free(&req);
    wait_first_delivery(srv, key, &sub, "delivered", 5000);

    snprintf(path, sizeof path, "/v1/webhooks/%s/deliveries/01890000-0000-7000-8000-000000000000/redeliver",
             sub.id);
    th_expect_error(srv, "POST", path, key, NULL, 404, "delivery_not_found");
    snprintf(path, sizeof path, "/v1/webhooks/%s/deliveries/%s/redeliver", sub.id, delivery_id);
    th_expect_error(srv, "POST", path, other_key, NULL, 404, "webhook_not_found");
    unsubscribe(srv, key, &sub);
}
END_TEST

START_TEST(redirects_are_not_followed)
{
    const int moved[] = {302};
    rx_script(rx, "/moved", moved, 1, 0);
    char target[128];
    snprintf(target, sizeof target, "http://127.0.0.1:%d/target", rx_port(rx));
    rx_script_location(rx, "/moved", target);
    sub_t sub;
    subscribe(srv, key, "/moved", NULL, &sub);
    char render_id[64];
    th_submit_ok(srv, NULL, key, "invoice", DATA_OK, render_id);
    ck_assert(rx_wait_count(rx, "/moved", 2, 20000)); /* a failed attempt, retried */
    th_resp_t *r = deliveries(srv, key, &sub);
    json_t *a = json_array_get(
        json_object_get(json_array_get(json_object_get(r->json, "deliveries"), 0), "attempts"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(a, "statusCode")), 302);
    ck_assert_str_eq(th_str(a, "error"), "HTTP 302");
    th_resp_free(r);
    ck_assert_int_eq(rx_count(rx, "/target"), 0);
    unsubscribe(srv, key, &sub);
}
END_TEST

/* Rotates sub's secret (fresh gets the new one), then checks that the next delivery to rx_path
 * is signed with both the new and the previous secret. */
static void rotate_and_check_both_sign(const sub_t *sub, const char *rx_path, char fresh[80])
{
    char path[400];
    snprintf(path, sizeof path, "/v1/webhooks/%s/rotate-secret", sub->id);
    th_resp_t *r = th_req(srv, "POST", path, key, NULL, NULL);
    ck_assert_msg(r->status == 200, "%s", r->body);
    snprintf(fresh, 80, "%s", th_str(r->json, "secret"));
    ck_assert_str_ne(fresh, sub->secret);
    ck_assert(json_is_string(json_object_get(r->json, "previousSecretExpiresAt")));
    th_resp_free(r);
    int before = rx_count(rx, rx_path);
    char render_id[64];
    th_submit_ok(srv, NULL, key, "invoice", DATA_OK, render_id);
    ck_assert(rx_wait_count(rx, rx_path, before + 1, 20000));
    rx_request_t req;
    ck_assert(rx_get(rx, rx_path, before, &req));
    check_signature(&req, fresh, "x-craftkit-signature");
    check_signature(&req, sub->secret, "x-craftkit-signature-previous");
    check_signature_v2(&req, fresh, "x-craftkit-signature-v2");
    check_signature_v2(&req, sub->secret, "x-craftkit-signature-v2-previous");
    rx_request_free(&req);
}

START_TEST(rotated_secret_signs_twice)
{
    sub_t sub;
    subscribe(srv, key, "/rotated", NULL, &sub);
    char fresh[80];
    rotate_and_check_both_sign(&sub, "/rotated", fresh);
    unsubscribe(srv, key, &sub);
}
END_TEST

START_TEST(previous_secret_stops_signing_after_its_window)
{
    sub_t sub;
    subscribe(srv, key, "/expiring", NULL, &sub);
    char fresh[80], path[400], render_id[64];
    /* Within the window both sign, so the absence below is the window's end and nothing else. */
    rotate_and_check_both_sign(&sub, "/expiring", fresh);
    rx_request_t req;
    th_resp_t *r;

    /* 24 h later, simulated: the end of the window moved into the past (the claim compares
     * previous_expires_at with now() for every attempt). */
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE webhook_subscriptions SET previous_expires_at = now() - interval '1 second'"
             " WHERE id = '%s' RETURNING id",
             sub.id);
    char *updated = th_sql(srv, sql);
    ck_assert_str_eq(updated, sub.id);
    free(updated);
    snprintf(path, sizeof path, "/v1/webhooks/%s", sub.id);
    r = th_req(srv, "GET", path, key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert(json_is_null(json_object_get(r->json, "previousSecretExpiresAt")));
    th_resp_free(r);
    th_submit_ok(srv, NULL, key, "invoice", DATA_OK, render_id);
    ck_assert(rx_wait_count(rx, "/expiring", 2, 20000));
    ck_assert(rx_get(rx, "/expiring", 1, &req));
    check_signature(&req, fresh, "x-craftkit-signature");
    ck_assert(rx_header(&req, "x-craftkit-signature-previous") == NULL);
    rx_request_free(&req);
    unsubscribe(srv, key, &sub);
}
END_TEST

START_TEST(paused_subscription_gets_nothing_until_resumed)
{
    sub_t paused, active;
    subscribe(srv, key, "/paused", NULL, &paused);
    subscribe(srv, key, "/active", NULL, &active);
    set_active(srv, key, &paused, false);
    char first[64], second[64];
    th_submit_ok(srv, NULL, key, "invoice", DATA_OK, first);
    ck_assert(rx_wait_count(rx, "/active", 1, 20000));
    wait_first_delivery(srv, key, &active, "delivered", 5000);
    /* Paused when the render ended: no delivery was made at all (none in its log), so none can
     * arrive late either. */
    th_sleep_ms(500);
    ck_assert_int_eq(rx_count(rx, "/paused"), 0);
    th_resp_t *r = deliveries(srv, key, &paused);
    ck_assert_int_eq(r->status, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "deliveries")), 0);
    th_resp_free(r);

    /* Resumed: the next render is delivered to both; the missed one is not made up for. */
    set_active(srv, key, &paused, true);
    th_submit_ok(srv, NULL, key, "invoice", DATA_OK, second);
    ck_assert(rx_wait_count(rx, "/paused", 1, 20000));
    ck_assert(rx_wait_count(rx, "/active", 2, 20000));
    rx_request_t req;
    ck_assert(rx_get(rx, "/paused", 0, &req));
    json_t *body = json_loads(req.body, 0, NULL);
    ck_assert_str_eq(th_str(body, "renderId"), second);
    json_decref(body);
    rx_request_free(&req);
    wait_first_delivery(srv, key, &paused, "delivered", 5000);
    r = deliveries(srv, key, &paused);
    json_t *list = json_object_get(r->json, "deliveries");
    ck_assert_int_eq(json_array_size(list), 1);
    ck_assert_str_eq(th_str(json_array_get(list, 0), "renderId"), second);
    th_resp_free(r);
    th_sleep_ms(500);
    ck_assert_int_eq(rx_count(rx, "/paused"), 1);
    unsubscribe(srv, key, &paused);
    unsubscribe(srv, key, &active);
}
END_TEST

/* The snippet of one answer to path, which must be delivered at its first attempt (caller frees). */
static char *delivered_snippet(const char *path, const char *body)
{
    const int ok[] = {200};
    rx_script(rx, path, ok, 1, 0);
    rx_script_body(rx, path, body);
    sub_t sub;
    subscribe(srv, key, path, NULL, &sub);
    char render_id[64];
    th_submit_ok(srv, NULL, key, "invoice", DATA_OK, render_id);
    ck_assert(rx_wait_count(rx, path, 1, 20000));
    wait_first_delivery(srv, key, &sub, "delivered", 5000);
    th_resp_t *r = deliveries(srv, key, &sub);
    json_t *a = json_array_get(
        json_object_get(json_array_get(json_object_get(r->json, "deliveries"), 0), "attempts"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(a, "statusCode")), 200);
    char *snippet = strdup(th_str(a, "responseSnippet"));
    th_resp_free(r);
    unsubscribe(srv, key, &sub);
    return snippet;
}

START_TEST(response_snippet_is_capped)
{
    /* A 5 KB answer of a repeating alphabet: a snippet cut anywhere but at the start shows. */
    static char big[5 * 1024 + 1];
    for (size_t i = 0; i < sizeof big - 1; i++)
        big[i] = (char)('a' + i % 26);
    char *snippet = delivered_snippet("/chatty", big);
    ck_assert_uint_eq(strlen(snippet), WEBHOOK_SNIPPET_MAX); /* the first 1 KB, exactly */
    ck_assert(!strncmp(snippet, big, WEBHOOK_SNIPPET_MAX));
    free(snippet);
}
END_TEST

/* Answers that are not UTF-8, or whose first KB ends inside a character, are still recorded
 * (Postgres refuses such text, which once left the delivery stuck and resent). */
START_TEST(snippet_of_a_non_utf8_answer_is_recorded)
{
    static char cut[WEBHOOK_SNIPPET_MAX + 8];
    memset(cut, 'a', WEBHOOK_SNIPPET_MAX - 1);
    strcpy(cut + WEBHOOK_SNIPPET_MAX - 1, "\xC3\xA9tat"); /* "é" straddles the 1 KB mark */
    char *snippet = delivered_snippet("/cut-char", cut);
    ck_assert_uint_eq(strlen(snippet), WEBHOOK_SNIPPET_MAX - 1);
    free(snippet);
    snippet = delivered_snippet("/latin1", "caf\xE9 cr\xE8me");
    ck_assert_str_eq(snippet, "caf\xEF\xBF\xBD cr\xEF\xBF\xBDme"); /* each stray byte is U+FFFD */
    free(snippet);
}
END_TEST

/* True when the error of r names this query parameter in its issues. */
static bool issue_names(const th_resp_t *r, const char *field)
{
    json_t *fields =
        json_object_get(json_object_get(json_object_get(r->json, "error"), "issues"), "fieldErrors");
    return json_object_get(fields, field) != NULL;
}

START_TEST(delivery_log_pages_with_a_cursor)
{
    enum { N = 5 };
    sub_t sub;
    subscribe(srv, key, "/paged", NULL, &sub);
    char renders[N][64];
    for (int i = 0; i < N; i++)
        th_submit_ok(srv, NULL, key, "invoice", DATA_OK, renders[i]);
    ck_assert(rx_wait_count(rx, "/paged", N, 30000)); /* every delivery exists by now */

    /* The whole log in one page: the order to expect, newest (largest id) first. */
    char all[N][64];
    th_resp_t *r = deliveries(srv, key, &sub);
    json_t *list = json_object_get(r->json, "deliveries");
    ck_assert_int_eq(json_array_size(list), N);
    ck_assert(json_is_false(json_object_get(r->json, "hasMore")));
    ck_assert(json_is_null(json_object_get(r->json, "nextCursor")));
    for (int i = 0; i < N; i++) {
        snprintf(all[i], sizeof all[i], "%s", th_str(json_array_get(list, (size_t)i), "id"));
        if (i > 0)
            ck_assert_msg(strcmp(all[i - 1], all[i]) > 0, "%s before %s", all[i - 1], all[i]);
        int matches = 0;
        for (int j = 0; j < N; j++)
            matches += !strcmp(th_str(json_array_get(list, (size_t)i), "renderId"), renders[j]);
        ck_assert_int_eq(matches, 1);
    }
    th_resp_free(r);

    /* Two at a time, following nextCursor: the same deliveries in the same order, each once. */
    char cursor[64] = "", query[128];
    int seen = 0, pages = 0;
    for (;;) {
        snprintf(query, sizeof query, "?limit=2%s%s", cursor[0] ? "&cursor=" : "", cursor);
        r = deliveries_query(srv, key, &sub, query);
        ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
        pages++;
        list = json_object_get(r->json, "deliveries");
        ck_assert(json_array_size(list) >= 1 && json_array_size(list) <= 2);
        for (size_t i = 0; i < json_array_size(list); i++) {
            ck_assert_msg(seen < N, "more than %d deliveries seen", N);
            ck_assert_str_eq(th_str(json_array_get(list, i), "id"), all[seen]);
            seen++;
        }
        json_t *next = json_object_get(r->json, "nextCursor");
        if (!json_is_true(json_object_get(r->json, "hasMore"))) {
            ck_assert(json_is_null(next));
            th_resp_free(r);
            break;
        }
        ck_assert_str_eq(json_string_value(next), all[seen - 1]);
        snprintf(cursor, sizeof cursor, "%s", json_string_value(next));
        th_resp_free(r);
        ck_assert_msg(pages < N, "paging does not end");
    }
    ck_assert_int_eq(seen, N);
    ck_assert_int_eq(pages, 3);

    /* The documented bounds: limit 1..100, a cursor that is a previous nextCursor. */
    r = deliveries_query(srv, key, &sub, "?limit=100");
    ck_assert_int_eq(r->status, 200);
    th_resp_free(r);
    const struct {
        const char *query, *field;
    } bad[] = {{"?cursor=not-a-cursor", "cursor"},
               {"?limit=2&cursor=12345", "cursor"},
               {"?limit=0", "limit"},
               {"?limit=101", "limit"},
               {"?limit=two", "limit"},
               {"?limit=-1", "limit"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = deliveries_query(srv, key, &sub, bad[i].query);
        th_assert_error(r, 400, "invalid_request");
        ck_assert_msg(issue_names(r, bad[i].field), "%s: %s", bad[i].query, r->body);
        th_resp_free(r);
    }
    unsubscribe(srv, key, &sub);
}
END_TEST

START_TEST(slow_receiver_delays_nothing_else)
{
    const int ok[] = {200};
    rx_script(rx, "/slow", ok, 1, 4000);
    sub_t slow, fast;
    subscribe(srv, key, "/slow", NULL, &slow);
    subscribe(srv, key, "/fast", NULL, &fast);
    char render_id[64];
    th_submit_ok(srv, NULL, key, "invoice", DATA_OK, render_id);
    ck_assert(rx_wait_count(rx, "/slow", 1, 20000)); /* the slow one is being answered now */
    ck_assert(rx_wait_count(rx, "/fast", 1, 2000));
    /* and renders go on while it waits */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    th_resp_t *r = th_req(
        srv, "POST", "/v1/templates/invoice/render", key,
        "{\"data\":{\"customer\":{\"name\":\"Meanwhile\"},\"total\":1},\"options\":{\"sync\":true}}", NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    th_resp_free(r);
    ck_assert((t1.tv_sec - t0.tv_sec) < 3);
    ck_assert(rx_wait_count(rx, "/fast", 2, 5000));
    unsubscribe(srv, key, &slow);
    unsubscribe(srv, key, &fast);
}
END_TEST

/* A server of a test's own (for settings of its own), with a project whose key goes to k
 * and the invoice template. */
static th_server_t *start_own_server(const char *name, const char *const *env, char k[128])
{
    th_server_t *s = th_start(name, env);
    char pid[64];
    th_invoice_project(s, name, "invoice", pid, k);
    return s;
}

START_TEST(restart_during_the_backoff_still_delivers)
{
    /* A server with an 8 s first backoff, stopped right after the first (failed) attempt (3 s
     * was shorter than a stop under a sanitizer on a loaded machine: the retry came first). */
    const char *env[] = {"CRAFTKIT_WEBHOOK_BACKOFF_BASE_MS=8000", NULL};
    char k[128];
    th_server_t *s = start_own_server("webhooks_restart", env, k);
    const int script[] = {500, 200};
    rx_script(rx, "/restart", script, 2, 0);
    sub_t sub;
    subscribe(s, k, "/restart", NULL, &sub);
    char render_id[64];
    th_submit_ok(s, NULL, k, "invoice", DATA_OK, render_id);
    ck_assert(rx_wait_count(rx, "/restart", 1, 20000));
    ck_assert_int_eq(th_server_stop(s), 0);
    th_sleep_ms(500);
    ck_assert_int_eq(rx_count(rx, "/restart"), 1);
    th_server_start(s);
    ck_assert(rx_wait_count(rx, "/restart", 2, 40000));
    rx_request_t a, b;
    ck_assert(rx_get(rx, "/restart", 0, &a) && rx_get(rx, "/restart", 1, &b));
    ck_assert_str_eq(rx_header(&a, "x-craftkit-delivery-id"), rx_header(&b, "x-craftkit-delivery-id"));
    rx_request_free(&a);
    rx_request_free(&b);
    wait_first_delivery(s, k, &sub, "delivered", 5000);
    ck_assert_int_eq(th_stop(s), 0);
}
END_TEST

START_TEST(too_slow_an_answer_times_out_and_is_retried)
{
    /* A server that waits 500 ms for an answer; the receiver takes 10 s the first time (nothing
     * here waits for that) and answers at once from then on. */
    const char *env[] = {"CRAFTKIT_WEBHOOK_TIMEOUT_MS=500", NULL};
    char k[128];
    th_server_t *s = start_own_server("webhooks_timeout", env, k);
    const int ok[] = {200}, delays[] = {10000, 0};
    rx_script(rx, "/timeout", ok, 1, 0);
    rx_script_delays(rx, "/timeout", delays, 2);
    sub_t sub;
    subscribe(s, k, "/timeout", NULL, &sub);
    char render_id[64];
    th_submit_ok(s, NULL, k, "invoice", DATA_OK, render_id);
    ck_assert(rx_wait_count(rx, "/timeout", 2, 20000));
    rx_request_t a, b;
    ck_assert(rx_get(rx, "/timeout", 0, &a) && rx_get(rx, "/timeout", 1, &b));
    ck_assert_str_eq(rx_header(&a, "x-craftkit-delivery-id"), rx_header(&b, "x-craftkit-delivery-id"));
    rx_request_free(&a);
    rx_request_free(&b);
    wait_first_delivery(s, k, &sub, "delivered", 5000);
    th_resp_t *r = deliveries(s, k, &sub);
    json_t *attempts = json_object_get(json_array_get(json_object_get(r->json, "deliveries"), 0), "attempts");
    ck_assert_int_eq(json_array_size(attempts), 2);
    json_t *late = json_array_get(attempts, 0), *fine = json_array_get(attempts, 1);
    ck_assert(json_is_null(json_object_get(late, "statusCode"))); /* no answer came */
    ck_assert_msg(!strncmp(th_str(late, "error"), "timed out after ", 16), "%s", r->body);
    /* Far below the receiver's 10 s: the timeout cut the attempt short. */
    ck_assert_int_lt(json_integer_value(json_object_get(late, "durationMs")), 5000);
    ck_assert_int_eq(json_integer_value(json_object_get(fine, "statusCode")), 200);
    ck_assert(json_is_null(json_object_get(fine, "error")));
    th_resp_free(r);
    ck_assert_int_eq(th_stop(s), 0);
}
END_TEST

/* A host name of this machine that resolves to a loopback address, if there is one. */
static bool loopback_name(char *out, size_t len)
{
    char host[256];
    if (gethostname(host, sizeof host) != 0)
        return false;
    struct addrinfo hints = {.ai_family = AF_INET}, *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return false;
    unsigned char first = (unsigned char)((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr;
    freeaddrinfo(res);
    snprintf(out, len, "%s", host);
    return first == 127;
}

START_TEST(private_destinations_are_refused)
{
    const char *env[] = {"CRAFTKIT_ALLOW_PRIVATE_URLS=0", NULL};
    th_server_t *s = th_start("webhooks_ssrf", env);
    char pid[64], k[128], body[512];
    th_invoice_project(s, "Guarded", "invoice", pid, k);
    const char *literal[] = {"127.0.0.1",       "localhost", "[::1]",
                             "169.254.169.254", "10.0.0.7",  "[::ffff:127.0.0.1]"};
    for (size_t i = 0; i < sizeof literal / sizeof literal[0]; i++) {
        snprintf(body, sizeof body, "{\"url\":\"http://%s:%d/ssrf\"}", literal[i], rx_port(rx));
        th_resp_t *r = create_sub_raw(s, k, body);
        th_assert_error(r, 400, "invalid_request");
        ck_assert_msg(strstr(r->body, "not allowed"), "%s", r->body);
        th_resp_free(r);
    }
    /* Names and spellings that only show their address when resolved: refused at connect time. */
    char host[256], url[400];
    int n = 0;
    const char *sneaky[2] = {NULL, NULL};
    char decimal[128];
    snprintf(decimal, sizeof decimal, "http://2130706433:%d/ssrf", rx_port(rx)); /* 127.0.0.1 as one number */
    sneaky[n++] = decimal;
    if (loopback_name(host, sizeof host)) {
        snprintf(url, sizeof url, "http://%s:%d/ssrf", host, rx_port(rx));
        sneaky[n++] = url;
    }
    sub_t subs[2];
    int made = 0;
    for (int i = 0; i < n; i++) {
        snprintf(body, sizeof body, "{\"url\":\"%s\"}", sneaky[i]);
        th_resp_t *r = create_sub_raw(s, k, body);
        if (r->status == 201) { /* accepted as a name: the connect-time check must stop it */
            snprintf(subs[made].id, sizeof subs[made].id, "%s", th_str(r->json, "id"));
            made++;
        } else {
            th_assert_error(r, 400, "invalid_request");
        }
        th_resp_free(r);
    }
    if (made > 0) {
        char render_id[64];
        th_submit_ok(s, NULL, k, "invoice", DATA_OK, render_id);
        for (int i = 0; i < made; i++) {
            wait_first_delivery(s, k, &subs[i], "abandoned", 30000);
            th_resp_t *r = deliveries(s, k, &subs[i]);
            json_t *a = json_array_get(
                json_object_get(json_array_get(json_object_get(r->json, "deliveries"), 0), "attempts"), 0);
            ck_assert_msg(strstr(th_str(a, "error"), "not allowed"), "%s", r->body);
            th_resp_free(r);
        }
    }
    ck_assert_int_eq(rx_count(rx, "/ssrf"), 0);
    ck_assert_int_eq(th_stop(s), 0);
}
END_TEST

int main(void)
{
    rx = rx_start();
    srv = th_start("webhooks", NULL);
    char id[64];
    th_project(srv, "Webhooks", false, id, key);
    th_project(srv, "Other", false, id, other_key);
    th_template(srv, key, "invoice", TH_INVOICE_MANIFEST);
    Suite *s = suite_create("webhooks");
    TCase *tc = tcase_create("outgoing");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, subscription_crud_and_errors);
    tcase_add_test(tc, signed_delivery_of_a_success);
    tcase_add_test(tc, failed_renders_and_event_filters);
    tcase_add_test(tc, retried_with_a_stable_delivery_id);
    tcase_add_test(tc, abandoned_after_six_then_redelivered);
    tcase_add_test(tc, redirects_are_not_followed);
    tcase_add_test(tc, rotated_secret_signs_twice);
    tcase_add_test(tc, previous_secret_stops_signing_after_its_window);
    tcase_add_test(tc, paused_subscription_gets_nothing_until_resumed);
    tcase_add_test(tc, response_snippet_is_capped);
    tcase_add_test(tc, snippet_of_a_non_utf8_answer_is_recorded);
    tcase_add_test(tc, delivery_log_pages_with_a_cursor);
    tcase_add_test(tc, slow_receiver_delays_nothing_else);
    tcase_add_test(tc, too_slow_an_answer_times_out_and_is_retried);
    tcase_add_test(tc, restart_during_the_backoff_still_delivers);
    tcase_add_test(tc, private_destinations_are_refused);
    suite_add_tcase(s, tc);
    int rc = tu_run(s);
    if (th_stop(srv) != 0)
        rc = EXIT_FAILURE;
    rx_stop(rx);
    return rc;
}
