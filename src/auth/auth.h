/*
 * auth — API key format, hashing and request authentication.
 *
 * Keys look like ck_live_<40 base62> / ck_test_<40 base62> from the kernel CSPRNG. Only the
 * SHA-256 (hex) and a display prefix are stored. Every failure (missing, malformed, unknown,
 * revoked key, deleted project, admin key on a project route or the reverse) gets the same
 * 401 body, so the answer is no oracle. The admin key is compared in constant time.
 * Threads: any; auth_lookup_project uses the calling thread's db connection.
 */
#ifndef CRAFTKIT_AUTH_AUTH_H
#define CRAFTKIT_AUTH_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "http/http.h"

#define AUTH_KEY_RANDOM_LEN 40
#define AUTH_KEY_MAX 64
#define AUTH_PREFIX_LEN 13 /* "ck_live_" + 5 */

/* Writes a new key for environment "live" or "test" into key (AUTH_KEY_MAX). 0 or -1. */
int auth_key_generate(const char *environment, char key[AUTH_KEY_MAX + 1]);
/* True when s has the exact key shape (prefix, length, alphabet). */
bool auth_key_well_formed(const char *s);
/* Hex SHA-256 of the key (65 bytes) and its display prefix (AUTH_PREFIX_LEN + 1 bytes). */
void auth_key_hash(const char *key, char hash_hex[65]);
void auth_key_prefix(const char *key, char prefix[AUTH_PREFIX_LEN + 1]);

/* The part of authentication that needs no I/O, run on the event thread before the body is
 * read: a missing or malformed bearer token, and the admin key. Returns true when it has
 * answered the request (401), false when it may go on; for project routes
 * auth_lookup_project() must then run (on a handler thread). */
bool auth_check_headers(http_req_t *req);
/* The database lookup of a well-formed project key, filling req->auth. Returns true when it
 * has answered the request (401 / 503), false when the handler may run. */
bool auth_lookup_project(http_req_t *req);
/* Both, for callers outside the server's two-step path. */
bool auth_check(http_req_t *req);

#endif
