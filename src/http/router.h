/*
 * router — maps method + path to a handler, with ":name" path parameters.
 *
 * Routes are registered once at start-up (router_add) before the server starts; matching
 * is read-only afterwards and safe from every pool thread.
 * A path that matches no pattern → 404 not_found; one that matches with another method →
 * 405 method_not_allowed with an Allow header (the server does both).
 */
#ifndef CRAFTKIT_HTTP_ROUTER_H
#define CRAFTKIT_HTTP_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "http/http.h"

#define ROUTER_MAX_ROUTES 96
#define ROUTER_MAX_SEGMENTS 12
#define ROUTER_PARAM_MAX 256

typedef struct http_route {
    const char *method;
    const char
        *pattern; /* "/v1/templates/:slug/versions/:n"; a final "*" segment matches the rest of the path */
    http_handler_fn handler;
    auth_kind_t auth;
    bool raw_body;       /* skip JSON parsing (handler reads req->body) */
    bool inline_handler; /* runs on the event thread: never blocks (no I/O), e.g. /health */
    /* Runs on a handler thread after authentication and before any body byte is read (only
     * for requests that carry a body): answers (and returns true) when the request cannot
     * succeed whatever its body, e.g. an inbound hook token no template has. */
    bool (*precheck)(http_req_t *req);
    bool secret_path;  /* the path carries a secret (a hook token): logs show the pattern */
    size_t upload_max; /* > 0: an upload (raw body of any content type, at most this many bytes) */
} http_route_t;

typedef enum { ROUTER_MATCH, ROUTER_NOT_FOUND, ROUTER_BAD_METHOD } router_result_t;

void router_reset(void);
/* Registers a route; aborts on overflow or a malformed pattern (a programming error). */
void router_add(const char *method, const char *pattern, http_handler_fn handler, auth_kind_t auth);
/* For handlers that never block (no database, Redis or disk): run on the event thread. */
void router_add_inline(const char *method, const char *pattern, http_handler_fn handler, auth_kind_t auth);
void router_add_raw(const char *method, const char *pattern, http_handler_fn handler, auth_kind_t auth);
/* Sets the precheck of a registered route (see http_route_t). Aborts when there is none. */
void router_set_precheck(const char *method, const char *pattern, bool (*precheck)(http_req_t *req));
/* Marks a registered pattern's paths as secret: access logs show the pattern, not the path. */
void router_set_secret_path(const char *pattern);
/* The path as logs may show it: the pattern of a secret route the path matches (whatever the
 * method), else the path itself. Returns a pointer to either. */
const char *router_log_path(const char *path);
/* A raw-body route that accepts any Content-Type (the handler decides) and bodies up to
 * max_bytes instead of CRAFTKIT_MAX_BODY, e.g. file uploads. */
void router_add_upload(const char *method, const char *pattern, http_handler_fn handler, auth_kind_t auth,
                       size_t max_bytes);
/* Matches path; on ROUTER_MATCH fills req->route and params (values malloc'd, freed with the
 * request). On ROUTER_BAD_METHOD writes the allowed methods ("GET, POST") into allow. */
router_result_t router_match(const char *method, const char *path, http_req_t *req, char *allow,
                             size_t allow_len);

#endif
