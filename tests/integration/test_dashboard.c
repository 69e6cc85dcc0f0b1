/* Integration: the embedded web dashboard over real HTTP — every embedded file is served at
 * /dashboard/<path> byte for byte with its Content-Type, ETag (304 on If-None-Match) and the
 * security headers; /dashboard and /dashboard/ are index.html; unknown paths, and paths that
 * try to leave the dashboard, are 404 with the same headers. Also checks the sources for what
 * the CSP and the text-only rule forbid (inline scripts and styles, innerHTML and friends). */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/dashboard.h"
#include "http/server.h"
#include "harness.h"

static th_server_t *srv;

static void setup(void)
{
    srv = th_start("dashboard", NULL);
}

static void teardown(void)
{
    th_stop(srv);
}

static void assert_security_headers(const th_resp_t *r)
{
    ck_assert_str_eq(th_header(r, "content-security-policy"), DASHBOARD_CSP);
    ck_assert_str_eq(th_header(r, "x-content-type-options"), "nosniff");
    ck_assert_str_eq(th_header(r, "referrer-policy"), "no-referrer");
    ck_assert_str_eq(th_header(r, "x-frame-options"), "DENY");
}

START_TEST(index_and_every_asset)
{
    const dashboard_asset_t *index = dashboard_find("index.html");
    ck_assert_ptr_nonnull(index);
    const char *paths[] = {"/dashboard", "/dashboard/", "/dashboard/index.html"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        th_resp_t *r = th_req(srv, "GET", paths[i], NULL, NULL, NULL);
        ck_assert_int_eq(r->status, 200);
        ck_assert_str_eq(th_header(r, "content-type"), "text/html; charset=utf-8");
        ck_assert_int_eq(r->len, index->len);
        ck_assert(!memcmp(r->body, index->data, index->len));
        assert_security_headers(r);
        ck_assert_str_eq(th_header(r, "etag"), index->etag);
        ck_assert_str_eq(th_header(r, "cache-control"), "no-cache");
        th_resp_free(r);
    }
    ck_assert_int_ge(dashboard_assets_count, 5);
    for (int i = 0; i < dashboard_assets_count; i++) {
        const dashboard_asset_t *a = &dashboard_assets[i];
        char path[512], inm[128];
        snprintf(path, sizeof path, "/dashboard/%s", a->path);
        th_resp_t *r = th_req(srv, "GET", path, NULL, NULL, NULL);
        ck_assert_msg(r->status == 200, "%s: %ld", path, r->status);
        ck_assert_int_eq(r->len, a->len);
        ck_assert_msg(!memcmp(r->body, a->data, a->len), "%s: body differs", path);
        ck_assert_str_eq(th_header(r, "content-type"), dashboard_content_type(a->path));
        ck_assert_str_ne(th_header(r, "content-type"), "application/octet-stream");
        ck_assert_str_eq(th_header(r, "etag"), a->etag);
        assert_security_headers(r);
        th_resp_free(r);
        /* revalidation, and HEAD */
        snprintf(inm, sizeof inm, "If-None-Match: W/%s", a->etag);
        const char *h[] = {inm, NULL};
        r = th_req(srv, "GET", path, NULL, NULL, h);
        ck_assert_int_eq(r->status, 304);
        ck_assert_int_eq(r->len, 0);
        assert_security_headers(r);
        th_resp_free(r);
        r = th_req(srv, "HEAD", path, NULL, NULL, NULL);
        ck_assert_int_eq(r->status, 200);
        ck_assert_int_eq(r->len, 0);
        th_resp_free(r);
    }
    /* an Authorization header changes nothing: the dashboard itself needs no key */
    const char *auth[] = {"Authorization: Bearer ck_live_0000000000000000000000000000000000000000", NULL};
    th_resp_t *r = th_req(srv, "GET", "/dashboard", NULL, NULL, auth);
    ck_assert_int_eq(r->status, 200);
    th_resp_free(r);
}
END_TEST

/* GET with the path sent exactly as given (libcurl would resolve "..") over a plain socket;
 * returns the raw response (caller frees). */
static char *raw_get(const char *path)
{
    char req[1024];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    return th_raw_request(srv, req);
}

START_TEST(unknown_paths_are_404_with_headers)
{
    const char *paths[] = {
        "/dashboard/nonexistent.js", "/dashboard/js/",         "/dashboard/js",
        "/dashboard//index.html",    "/dashboard/index.html/", "/dashboard/%2e%2e/index.html",
        "/dashboard/.hidden",        "/dashboard/INDEX.HTML"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        th_resp_t *r = th_req(srv, "GET", paths[i], NULL, NULL, NULL);
        ck_assert_msg(r->status == 404, "%s: %ld", paths[i], r->status);
        ck_assert_str_eq(th_error_code(r), "not_found");
        assert_security_headers(r);
        th_resp_free(r);
    }
    const char *dotted[] = {"/dashboard/../v1/project", "/dashboard/js/../index.html",
                            "/dashboard/./index.html"};
    for (size_t i = 0; i < sizeof dotted / sizeof dotted[0]; i++) {
        char *raw = raw_get(dotted[i]);
        ck_assert_msg(!strncmp(raw, "HTTP/1.1 404 ", 13), "%s: %.40s", dotted[i], raw);
        ck_assert_msg(strcasestr(raw, "\r\nContent-Security-Policy: " DASHBOARD_CSP "\r\n"), "%s: no CSP",
                      dotted[i]);
        ck_assert(strcasestr(raw, "\r\nX-Frame-Options: DENY\r\n"));
        free(raw);
    }
    th_resp_t *r = th_req(srv, "POST", "/dashboard", NULL, NULL, NULL);
    th_assert_error(r, 405, "method_not_allowed");
    /* Answered by the router, before the dashboard: the JSON error still forbids scripts and frames. */
    const char *csp = th_header(r, "content-security-policy");
    ck_assert_msg(csp && !strcmp(csp, API_JSON_CSP), "405 CSP: %s", csp ? csp : "(none)");
    th_resp_free(r);
    r = th_req(srv, "GET", "/v1/project", NULL, NULL, NULL);
    th_assert_error(r, 401, "unauthorized");
    csp = th_header(r, "content-security-policy");
    ck_assert_msg(csp && !strcmp(csp, API_JSON_CSP), "API CSP: %s", csp ? csp : "(none)");
    th_resp_free(r);
    th_expect_error(srv, "GET", "/dashboards", NULL, NULL, 404, "not_found");
}
END_TEST

/* The layout schema: public, the embedded file byte for byte, a JSON Schema, revalidated by ETag. */
START_TEST(layout_schema_is_public)
{
    const dashboard_asset_t *a = dashboard_find(DASHBOARD_LAYOUT_SCHEMA);
    ck_assert_ptr_nonnull(a);
    th_resp_t *r = th_req(srv, "GET", "/v1/schemas/layout.json", NULL, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(th_header(r, "content-type"), "application/schema+json");
    ck_assert_str_eq(th_header(r, "access-control-allow-origin"), "*");
    ck_assert_str_eq(th_header(r, "etag"), a->etag);
    ck_assert_int_eq(r->len, a->len);
    ck_assert(!memcmp(r->body, a->data, a->len));
    json_t *schema = json_loadb(r->body, r->len, 0, NULL);
    ck_assert_ptr_nonnull(schema);
    ck_assert_str_eq(json_string_value(json_object_get(schema, "$schema")),
                     "http://json-schema.org/draft-07/schema#");
    ck_assert_ptr_nonnull(json_object_get(json_object_get(schema, "properties"), "body"));
    json_decref(schema);
    th_resp_free(r);
    char inm[128];
    snprintf(inm, sizeof inm, "If-None-Match: %s", a->etag);
    const char *h[] = {inm, NULL};
    r = th_req(srv, "GET", "/v1/schemas/layout.json", NULL, NULL, h);
    ck_assert_int_eq(r->status, 304);
    th_resp_free(r);
    th_expect_error(srv, "GET", "/v1/schemas/nothing.json", NULL, NULL, 404, "not_found");
}
END_TEST

static bool contains(const dashboard_asset_t *a, const char *needle)
{
    return memmem(a->data, a->len, needle, strlen(needle)) != NULL;
}

START_TEST(sources_keep_the_csp_and_text_only_rules)
{
    static const char *const js_forbidden[] = {
        "innerHTML", "outerHTML",    "insertAdjacentHTML",     "document.write",
        "eval(",     "new Function", "setAttribute(\"style\"", "cssText",
        NULL};
    for (int i = 0; i < dashboard_assets_count; i++) {
        const dashboard_asset_t *a = &dashboard_assets[i];
        const char *ext = strrchr(a->path, '.');
        if (ext && !strcmp(ext, ".js"))
            for (int k = 0; js_forbidden[k]; k++)
                ck_assert_msg(!contains(a, js_forbidden[k]), "%s uses %s", a->path, js_forbidden[k]);
        if (ext && !strcmp(ext, ".html")) {
            ck_assert_msg(!contains(a, "style="), "%s has an inline style", a->path);
            ck_assert_msg(!contains(a, "<style"), "%s has a style element", a->path);
            for (const char *p = (const char *)a->data, *end = p + a->len;
                 (p = memmem(p, (size_t)(end - p), " on", 3)); p += 3) {
                const char *q = p + 3;
                while (q < end && *q >= 'a' && *q <= 'z')
                    q++;
                ck_assert_msg(q == p + 3 || q >= end || *q != '=', "%s has an inline event handler", a->path);
            }
            /* every script element loads a file */
            const char *p = (const char *)a->data, *end = p + a->len;
            while ((p = memmem(p, (size_t)(end - p), "<script", 7)) != NULL) {
                const char *close = memchr(p, '>', (size_t)(end - p));
                ck_assert_ptr_nonnull(close);
                ck_assert_msg(memmem(p, (size_t)(close - p), " src=", 5), "%s has an inline script", a->path);
                p = close;
            }
        }
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dashboard");
    TCase *tc = tcase_create("dashboard");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, index_and_every_asset);
    tcase_add_test(tc, unknown_paths_are_404_with_headers);
    tcase_add_test(tc, sources_keep_the_csp_and_text_only_rules);
    tcase_add_test(tc, layout_schema_is_public);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
