#include "http/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static http_route_t routes[ROUTER_MAX_ROUTES];
static int n_routes;

void router_reset(void)
{
    n_routes = 0;
}

static void add(const char *method, const char *pattern, http_handler_fn handler, auth_kind_t auth, bool raw,
                bool inline_handler)
{
    if (n_routes >= ROUTER_MAX_ROUTES || pattern[0] != '/') {
        fprintf(stderr, "router: cannot add %s %s\n", method, pattern);
        abort();
    }
    routes[n_routes++] = (http_route_t){method, pattern, handler, auth, raw, inline_handler, NULL, false, 0};
}

void router_add(const char *method, const char *pattern, http_handler_fn handler, auth_kind_t auth)
{
    add(method, pattern, handler, auth, false, false);
}

void router_add_inline(const char *method, const char *pattern, http_handler_fn handler, auth_kind_t auth)
{
    if (auth == AUTH_PROJECT) { /* the key lookup needs the database, which inline handlers avoid */
        fprintf(stderr, "router: %s %s cannot be inline with project auth\n", method, pattern);
        abort();
    }
    add(method, pattern, handler, auth, false, true);
}

void router_add_raw(const char *method, const char *pattern, http_handler_fn handler, auth_kind_t auth)
{
    add(method, pattern, handler, auth, true, false);
}

void router_set_precheck(const char *method, const char *pattern, bool (*precheck)(http_req_t *req))
{
    for (int i = 0; i < n_routes; i++) {
        if (!strcmp(routes[i].method, method) && !strcmp(routes[i].pattern, pattern)) {
            routes[i].precheck = precheck;
            return;
        }
    }
    fprintf(stderr, "router: no route %s %s for a precheck\n", method, pattern);
    abort();
}

void router_set_secret_path(const char *pattern)
{
    bool found = false;
    for (int i = 0; i < n_routes; i++) {
        if (!strcmp(routes[i].pattern, pattern)) {
            routes[i].secret_path = true;
            found = true;
        }
    }
    if (!found) {
        fprintf(stderr, "router: no route %s to mark secret\n", pattern);
        abort();
    }
}

static bool match_pattern(const char *pattern, const char *path, http_req_t *req);

const char *router_log_path(const char *path)
{
    for (int i = 0; i < n_routes; i++) {
        if (!routes[i].secret_path)
            continue;
        http_req_t probe = {0};
        if (!match_pattern(routes[i].pattern, path, &probe))
            continue;
        for (int k = 0; k < probe.n_params; k++)
            free(probe.param_values[k]);
        return routes[i].pattern;
    }
    return path;
}

void router_add_upload(const char *method, const char *pattern, http_handler_fn handler, auth_kind_t auth,
                       size_t max_bytes)
{
    add(method, pattern, handler, auth, true, false);
    routes[n_routes - 1].upload_max = max_bytes;
}

/* Decodes %XX in a path segment; returns false on a bad escape or an encoded NUL or slash. */
static bool decode_segment(const char *s, size_t len, char *out, size_t out_len)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= len)
                return false;
            char hex[3] = {s[i + 1], s[i + 2], 0};
            char *end;
            long v = strtol(hex, &end, 16);
            if (*end || v == 0 || v == '/')
                return false;
            c = (char)v;
            i += 2;
        }
        if (o + 1 >= out_len)
            return false;
        out[o++] = c;
    }
    out[o] = '\0';
    return true;
}

/* Tries one pattern against path. On success fills names/values (values malloc'd). */
static bool match_pattern(const char *pattern, const char *path, http_req_t *req)
{
    const char *p = pattern, *u = path;
    int n = 0;
    const char *names[HTTP_MAX_PARAMS];
    char *values[HTTP_MAX_PARAMS];
    while (*p && *u) {
        if (*p != '/' || *u != '/')
            goto nomatch;
        p++;
        u++;
        const char *pend = strchrnul(p, '/');
        const char *uend = strchrnul(u, '/');
        size_t plen = (size_t)(pend - p), ulen = (size_t)(uend - u);
        if (plen == 1 && *p == '*') {
            /* rest of the path, including slashes, as parameter "*" */
            if (n >= HTTP_MAX_PARAMS || *u == '\0')
                goto nomatch;
            size_t rest = strlen(u);
            if (rest >= 4096)
                goto nomatch;
            char *v = malloc(rest + 1);
            if (!decode_segment(u, rest, v, rest + 1)) {
                free(v);
                goto nomatch;
            }
            names[n] = "*";
            values[n++] = v;
            p = pend;
            u = u + rest;
            break;
        }
        if (*p == ':') {
            if (ulen == 0 || n >= HTTP_MAX_PARAMS || ulen >= ROUTER_PARAM_MAX)
                goto nomatch;
            char *v = malloc(ulen + 1);
            if (!decode_segment(u, ulen, v, ulen + 1)) {
                free(v);
                goto nomatch;
            }
            names[n] = p + 1; /* name runs to the next '/' in the pattern */
            values[n++] = v;
        } else if (plen != ulen || strncmp(p, u, plen) != 0) {
            goto nomatch;
        }
        p = pend;
        u = uend;
    }
    if (*p || *u)
        goto nomatch;
    for (int i = 0; i < n; i++) {
        req->param_names[i] = names[i];
        req->param_values[i] = values[i];
    }
    req->n_params = n;
    return true;
nomatch:
    for (int i = 0; i < n; i++)
        free(values[i]);
    return false;
}

router_result_t router_match(const char *method, const char *path, http_req_t *req, char *allow,
                             size_t allow_len)
{
    bool path_known = false;
    size_t used = 0;
    if (allow_len)
        allow[0] = '\0';
    /* HEAD is answered by GET handlers. */
    const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;
    for (int i = 0; i < n_routes; i++) {
        http_req_t probe = {0};
        if (!match_pattern(routes[i].pattern, path, &probe))
            continue;
        if (strcmp(routes[i].method, m) == 0) {
            req->route = &routes[i];
            req->n_params = probe.n_params;
            for (int k = 0; k < probe.n_params; k++) {
                req->param_names[k] = probe.param_names[k];
                req->param_values[k] = probe.param_values[k];
            }
            return ROUTER_MATCH;
        }
        for (int k = 0; k < probe.n_params; k++)
            free(probe.param_values[k]);
        if (!strstr(allow, routes[i].method)) {
            int w = snprintf(allow + used, allow_len - used, "%s%s", used ? ", " : "", routes[i].method);
            if (w > 0 && (size_t)w < allow_len - used)
                used += (size_t)w;
        }
        path_known = true;
    }
    return path_known ? ROUTER_BAD_METHOD : ROUTER_NOT_FOUND;
}
