/*
 * GET|HEAD /dashboard, /dashboard/ and /dashboard/<path>: the embedded web dashboard (see
 * dashboard.h for what is answered, docs/dashboard.md for the dashboard itself), and
 * GET|HEAD /v1/schemas/layout.json: the layout language's JSON Schema, one of those files.
 * Threads: MHD event threads (inline routes; memory only).
 */
#include "api/dashboard.h"

#include <string.h>

#include "api/api.h"
#include "http/router.h"
#include "storage/download.h"

static const struct {
    const char *ext;
    const char *type;
} content_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".json", "application/json; charset=utf-8"},
    {".txt", "text/plain; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
};

const char *dashboard_content_type(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < sizeof content_types / sizeof content_types[0]; i++)
            if (!strcmp(dot, content_types[i].ext))
                return content_types[i].type;
    return "application/octet-stream";
}

const dashboard_asset_t *dashboard_find(const char *path)
{
    for (int i = 0; i < dashboard_assets_count; i++)
        if (!strcmp(dashboard_assets[i].path, path))
            return &dashboard_assets[i];
    return NULL;
}

/* (X-Content-Type-Options: nosniff is on every answer of the server.) */
static void security_headers(http_req_t *req)
{
    http_add_header(req, "Content-Security-Policy", DASHBOARD_CSP);
    http_add_header(req, "Referrer-Policy", "no-referrer");
    http_add_header(req, "X-Frame-Options", "DENY");
    http_add_header(req, "Cross-Origin-Opener-Policy", "same-origin");
}

static void serve(http_req_t *req, const char *path)
{
    security_headers(req);
    const dashboard_asset_t *a = dashboard_find(path);
    if (!a) {
        http_error(req, 404, "not_found", "No route matches this path", NULL);
        return;
    }
    http_add_header(req, "ETag", a->etag);
    /* Asset names carry no version, so every use revalidates (a 304 costs one round trip). */
    http_add_header(req, "Cache-Control", "no-cache");
    if (download_etag_match(http_header(req, "If-None-Match"), a->etag, true)) {
        http_respond_bytes(req, 304, NULL, "", 0);
        return;
    }
    http_respond_bytes(req, 200, dashboard_content_type(a->path), a->data, a->len);
}

static void dashboard_index(http_req_t *req)
{
    serve(req, "index.html");
}

static void dashboard_asset(http_req_t *req)
{
    serve(req, http_param(req, "*"));
}

/* The schema is public (editors fetch it without a key), so any origin may read it. */
static void layout_schema(http_req_t *req)
{
    const dashboard_asset_t *a = dashboard_find(DASHBOARD_LAYOUT_SCHEMA);
    if (!a) {
        http_error(req, 404, "not_found", "No route matches this path", NULL);
        return;
    }
    http_add_header(req, "Access-Control-Allow-Origin", "*");
    http_add_header(req, "ETag", a->etag);
    http_add_header(req, "Cache-Control", "no-cache");
    if (download_etag_match(http_header(req, "If-None-Match"), a->etag, true)) {
        http_respond_bytes(req, 304, NULL, "", 0);
        return;
    }
    http_respond_bytes(req, 200, "application/schema+json", a->data, a->len);
}

void api_dashboard_routes(void)
{
    router_add_inline("GET", "/v1/schemas/layout.json", layout_schema, AUTH_NONE);
    router_add_inline("GET", "/dashboard", dashboard_index, AUTH_NONE);
    router_add_inline("GET", "/dashboard/", dashboard_index, AUTH_NONE);
    router_add_inline("GET", "/dashboard/*", dashboard_asset, AUTH_NONE);
}
