/*
 * auth — request authentication (the key format itself is core/apikey).
 *
 * Every failure (missing, malformed, unknown,
 * revoked key, deleted project, admin key on a project route or the reverse) gets the same
 * 401 body, so the answer is no oracle. The admin key is compared in constant time.
 * Threads: any; auth_lookup_project uses the calling thread's db connection.
 */
#ifndef CRAFTKIT_AUTH_AUTH_H
#define CRAFTKIT_AUTH_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "http/http.h"

/* The part of authentication that needs no I/O, run on the event thread before the body is
 * read: a missing or malformed bearer token, and the admin key. Returns true when it has
 * answered the request (401), false when it may go on; for project routes
 * auth_lookup_project() must then run (on a handler thread). */
bool auth_check_headers(http_req_t *req);
/* The database lookup of a well-formed project key, filling req->auth. Returns true when it
 * has answered the request (401 / 503), false when the handler may run. */
bool auth_lookup_project(http_req_t *req);
/* The key cache alone (no I/O, so the event thread may call it): true when the well-formed
 * project key was found there and req->auth is filled; false means auth_lookup_project() must
 * still run. */
bool auth_lookup_cached(http_req_t *req);
/* Both, for callers outside the server's two-step path. */
bool auth_check(http_req_t *req);

#endif
