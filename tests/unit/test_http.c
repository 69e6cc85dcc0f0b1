/* Unit tests for the router, the error envelope helpers and API key format/hashing. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "auth/auth.h"
#include "core/apikey.h"
#include "core/crypto.h"
#include "core/slug.h"
#include "http/router.h"
#include "tu.h"

static void h_a(http_req_t *r)
{
    (void)r;
}
static void h_b(http_req_t *r)
{
    (void)r;
}

static void free_params(http_req_t *req)
{
    for (int i = 0; i < req->n_params; i++)
        free(req->param_values[i]);
    req->n_params = 0;
}

static void setup_routes(void)
{
    router_reset();
    router_add("GET", "/v1/templates", h_a, AUTH_PROJECT);
    router_add("POST", "/v1/templates", h_b, AUTH_PROJECT);
    router_add("GET", "/v1/templates/:slug", h_a, AUTH_PROJECT);
    router_add("GET", "/v1/templates/:slug/versions/:n", h_b, AUTH_PROJECT);
    router_add("GET", "/files/*", h_a, AUTH_NONE);
}

START_TEST(router_matches_static_and_params)
{
    setup_routes();
    http_req_t req = {0};
    char allow[64];
    ck_assert_int_eq(router_match("GET", "/v1/templates", &req, allow, sizeof allow), ROUTER_MATCH);
    ck_assert(req.route->handler == h_a);
    ck_assert_int_eq(router_match("POST", "/v1/templates", &req, allow, sizeof allow), ROUTER_MATCH);
    ck_assert(req.route->handler == h_b);
    ck_assert_int_eq(router_match("GET", "/v1/templates/invoice/versions/3", &req, allow, sizeof allow),
                     ROUTER_MATCH);
    ck_assert_str_eq(http_param(&req, "slug"), "invoice");
    ck_assert_str_eq(http_param(&req, "n"), "3");
    ck_assert(http_param(&req, "sl") == NULL);
    free_params(&req);
    ck_assert_int_eq(router_match("GET", "/v1/templates/a%2Db", &req, allow, sizeof allow), ROUTER_MATCH);
    ck_assert_str_eq(http_param(&req, "slug"), "a-b");
    free_params(&req);
    ck_assert_int_eq(router_match("HEAD", "/v1/templates/x", &req, allow, sizeof allow), ROUTER_MATCH);
    free_params(&req);
    ck_assert_int_eq(router_match("GET", "/files/renders/p/r/a.pdf", &req, allow, sizeof allow),
                     ROUTER_MATCH);
    ck_assert_str_eq(http_param(&req, "*"), "renders/p/r/a.pdf");
    free_params(&req);
}
END_TEST

START_TEST(router_not_found_and_bad_method)
{
    setup_routes();
    http_req_t req = {0};
    char allow[64];
    ck_assert_int_eq(router_match("GET", "/v1/nothing", &req, allow, sizeof allow), ROUTER_NOT_FOUND);
    ck_assert_int_eq(router_match("GET", "/v1/templates/", &req, allow, sizeof allow), ROUTER_NOT_FOUND);
    ck_assert_int_eq(router_match("GET", "/v1/templates/a/versions", &req, allow, sizeof allow),
                     ROUTER_NOT_FOUND);
    ck_assert_int_eq(router_match("GET", "/v1/templatesx", &req, allow, sizeof allow), ROUTER_NOT_FOUND);
    ck_assert_int_eq(router_match("DELETE", "/v1/templates", &req, allow, sizeof allow), ROUTER_BAD_METHOD);
    ck_assert_str_eq(allow, "GET, POST");
    /* encoded slash or NUL in a segment never matches */
    ck_assert_int_eq(router_match("GET", "/v1/templates/a%2Fb", &req, allow, sizeof allow), ROUTER_NOT_FOUND);
    ck_assert_int_eq(router_match("GET", "/v1/templates/a%00b", &req, allow, sizeof allow), ROUTER_NOT_FOUND);
    ck_assert_int_eq(router_match("GET", "/v1/templates/a%zz", &req, allow, sizeof allow), ROUTER_NOT_FOUND);
    ck_assert_int_eq(req.n_params, 0);
}
END_TEST

START_TEST(issues_have_flatten_shape)
{
    json_t *issues = api_issues_new();
    ck_assert(api_issues_empty(issues));
    api_issue_field(issues, "customer.name", "Required");
    api_issue_field(issues, "customer.name", "Expected string");
    api_issue_form(issues, "Unrecognized key(s) in object: 'x'");
    char *text = json_dumps(issues, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_str_eq(text, "{\"fieldErrors\":{\"customer.name\":[\"Required\",\"Expected string\"]},"
                           "\"formErrors\":[\"Unrecognized key(s) in object: 'x'\"]}");
    free(text);
    json_decref(issues);
}
END_TEST

START_TEST(slugs)
{
    char out[128];
    slug_from_name("Acme Corp — Invoices 2026!", out, sizeof out);
    ck_assert_str_eq(out, "acme-corp-invoices-2026");
    slug_from_name("  --  ", out, sizeof out);
    ck_assert_str_eq(out, "");
    ck_assert(slug_valid("a-b-1"));
    ck_assert(!slug_valid("a--b"));
    ck_assert(!slug_valid("-a"));
    ck_assert(!slug_valid("A"));
    ck_assert(!slug_valid(""));
}
END_TEST

START_TEST(key_format_and_hash)
{
    char live[APIKEY_MAX + 1], test[APIKEY_MAX + 1], again[APIKEY_MAX + 1];
    ck_assert_int_eq(apikey_generate("live", live), 0);
    ck_assert_int_eq(apikey_generate("test", test), 0);
    apikey_generate("live", again);
    ck_assert(!strncmp(live, "ck_live_", 8) && strlen(live) == 8 + APIKEY_RANDOM_LEN);
    ck_assert(!strncmp(test, "ck_test_", 8));
    ck_assert_str_ne(live, again);
    ck_assert(apikey_well_formed(live));
    ck_assert(!apikey_well_formed("ck_live_short"));
    ck_assert(!apikey_well_formed("ck_prod_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    ck_assert(!apikey_well_formed("ck_live_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"));
    char hash[65], want[65], prefix[APIKEY_PREFIX_LEN + 1];
    apikey_hash(live, hash);
    crypto_sha256_hex(live, strlen(live), want);
    ck_assert_str_eq(hash, want);
    apikey_prefix(live, prefix);
    ck_assert_int_eq(strlen(prefix), 13);
    ck_assert(!strncmp(prefix, live, 13));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("http");
    tcase_add_test(tc, router_matches_static_and_params);
    tcase_add_test(tc, router_not_found_and_bad_method);
    tcase_add_test(tc, issues_have_flatten_shape);
    tcase_add_test(tc, slugs);
    tcase_add_test(tc, key_format_and_hash);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
