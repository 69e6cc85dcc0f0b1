/*
 * server — libmicrohttpd glue: the epoll thread pool, body reading under the cap, content
 * type and JSON checks, authentication, routing, response building, request logs, metrics.
 *
 * Threads: server_start/server_stop from the main thread; everything else runs on MHD pool
 * threads. Routes must be registered (router_add) before server_start.
 */
#ifndef CRAFTKIT_HTTP_SERVER_H
#define CRAFTKIT_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "http/http.h"

/* The Content-Security-Policy of every JSON answer that does not set its own. */
#define API_JSON_CSP "default-src 'none'; frame-ancestors 'none'"

/* How requests are authenticated. The auth layer sits above http, so serve installs it here
 * (auth_check_headers / auth_lookup_project) before server_start. Both answer the request
 * themselves (401, 503) and return true when it must not go on. */
typedef struct server_auth {
    bool (*check_headers)(http_req_t *req); /* event thread, before the body; no I/O */
    bool (*lookup)(http_req_t *req);        /* handler thread, project routes; may use the db */
    /* Optional, event thread, no I/O: true when the project key is known without the
     * database (the key cache) and req->auth is filled; the lookup is then skipped. */
    bool (*cached)(http_req_t *req);
} server_auth_t;

/* Installs the authenticator (copied). Main thread, before server_start. */
void server_set_auth(const server_auth_t *auth);
/* Starts listening; refuses without an authenticator. Returns 0, or -1 with a message in err. */
int server_start(const config_t *cfg, char *err, size_t err_len);
/* Registers a function run during shutdown, after the listener is closed and before waiting
 * for in-flight requests (used to wake parked requests). */
void server_on_shutdown(void (*fn)(void));
/* Stops accepting, runs shutdown hooks, lets in-flight requests finish (up to grace_ms),
 * then stops the daemon. */
void server_stop(int grace_ms);
/* The port actually bound (useful with port 0). */
int server_port(void);

#endif
