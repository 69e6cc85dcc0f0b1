/*
 * http — the request/response object every handler sees, and the helpers to answer.
 *
 * The server (http/server.c) creates one http_req_t per request, reads the body under the
 * configured cap, parses JSON bodies, authenticates (auth/), routes (http/router.c) and hands
 * the request to a handler thread (the server's shared handler pool). A handler answers with
 * exactly one http_respond_*() call (or http_error()), or parks the request with
 * http_suspend() and is called again, on a handler thread, with req->resumed set, after
 * http_resume().
 * Threads: a request is touched by one thread at a time (an MHD event thread while it is read
 * and written, a handler thread while its handler runs); http_resume() may be called from any
 * thread. A handler that parked its request must not touch it again after http_suspend()
 * returns: another thread may resume and run it at once.
 * Memory: the request owns everything in it; respond helpers copy or take ownership as noted.
 */
#ifndef CRAFTKIT_HTTP_HTTP_H
#define CRAFTKIT_HTTP_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/buf.h"

#define HTTP_MAX_PARAMS 6
#define HTTP_MAX_RESP_HEADERS 16
#define HTTP_REQUEST_ID_MAX 128
#define HTTP_JSON_MAX_DEPTH 64

struct MHD_Connection;
struct http_route;

typedef enum { AUTH_NONE = 0, AUTH_ADMIN, AUTH_PROJECT } auth_kind_t;

typedef struct http_auth {
    bool admin;
    char project_id[37];
    char key_id[37];
    bool test;         /* authenticated with a ck_test_ key */
    double rate_limit; /* the project's own render rate (per second); 0 = server default */
    int rate_burst;    /* the project's own burst; 0 = server default */
} http_auth_t;

typedef struct http_req {
    struct MHD_Connection *conn;
    const char *method;
    const char *path; /* without the query string */
    const struct http_route *route;
    const char *param_names[HTTP_MAX_PARAMS];
    char *param_values[HTTP_MAX_PARAMS];
    int n_params;
    buf_t body;   /* raw body, capped at config max_body */
    json_t *json; /* parsed body for JSON requests, else NULL */
    char request_id[HTTP_REQUEST_ID_MAX + 1];
    http_auth_t auth;
    int64_t started_mono_ms;

    /* response */
    int status; /* 0 until answered */
    char *resp_body;
    size_t resp_len;
    const char *resp_type; /* points to resp_type_buf: a copy, since callers pass stack buffers */
    char resp_type_buf[128];
    int resp_fd; /* -1, or a file to stream */
    uint64_t resp_fd_offset, resp_fd_len;
    char *resp_headers[HTTP_MAX_RESP_HEADERS][2];
    int n_resp_headers;

    /* suspend/resume */
    int state;           /* internal to the server: reading, handling, parked, answered */
    bool resumed;        /* the handler runs again after http_resume() */
    void *handler_state; /* kept across suspend/resume; freed by handler_state_free */
    void (*handler_state_free)(void *);

    /* internal to the server */
    bool too_large;
    bool bad_content_type;
    bool has_body;              /* Content-Length > 0 or Transfer-Encoding: chunked */
    bool auth_done;             /* project key resolved before the handler (cache or precheck) */
    bool over_budget;           /* the process-wide body budget ran out while reading */
    bool suspend_counted;       /* counted in the server's suspended requests */
    size_t body_reserved;       /* bytes taken from the process-wide body budget */
    struct http_req *next_work; /* the server's handler queue */
} http_req_t;

typedef void (*http_handler_fn)(http_req_t *req);

/* Path parameter by name (":slug" → "slug"); NULL when absent. */
const char *http_param(const http_req_t *req, const char *name);
/* Query argument (decoded) or NULL. */
const char *http_query(const http_req_t *req, const char *name);
/* Request header (case-insensitive) or NULL. */
const char *http_header(const http_req_t *req, const char *name);

/* Adds a response header (copied). Up to HTTP_MAX_RESP_HEADERS. */
void http_add_header(http_req_t *req, const char *name, const char *value);
/* Answers with a JSON body; takes ownership of body (decref'd). */
void http_respond_json(http_req_t *req, int status, json_t *body);
/* Answers with bytes (copied). */
void http_respond_bytes(http_req_t *req, int status, const char *content_type, const void *data, size_t len);
/* Answers with len bytes of an open file from offset; the server closes fd. */
void http_respond_fd(http_req_t *req, int status, const char *content_type, int fd, uint64_t offset,
                     uint64_t len);
/* The error envelope {"error":{"code","message","issues"?}}; takes ownership of issues (may be NULL). */
void http_error(http_req_t *req, int status, const char *code, const char *message, json_t *issues);

/* For raw-body routes: parses req->body as JSON (valid UTF-8, no NUL, depth-checked) into
 * req->json. Returns true, or false after answering 400 invalid_json. */
bool http_parse_json_body(http_req_t *req);

/* Parks the request (call from its handler only); the handler runs again after http_resume().
 * The handler must return without touching req once this has been called. */
void http_suspend(http_req_t *req);
/* Wakes a parked request; safe from any thread, but only once per suspend. */
void http_resume(http_req_t *req);

#endif
