/*
 * keycache — remembers successful project-key lookups for a short while, so that the hot
 * paths (POST render, GET render) skip one database round trip per request.
 *
 * Correctness rests on invalidation, not on the TTL: every change that can make a cached
 * answer wrong (a key revoked, a project deleted, a project's rate limits changed) sends
 * NOTIFY craftkit_auth_changed in the same transaction, and each instance's listener thread
 * flushes its cache when it hears it; the instance that made the change also flushes at once.
 * The cache is only used while that listener is connected and LISTENing: when the
 * connection is lost the cache is switched off (and flushed) until it is back, because
 * notifications sent meanwhile would be missed. The TTL (CRAFTKIT_AUTH_CACHE_MS) bounds what a
 * change made behind craftkit's back (SQL by hand) could leave stale. Only successful lookups
 * are cached, keyed by the SHA-256 of the key (never the key itself).
 *
 * Threads: any; one mutex around a small direct-mapped table. Memory: fixed, KEYCACHE_SLOTS.
 */
#ifndef CRAFTKIT_AUTH_KEYCACHE_H
#define CRAFTKIT_AUTH_KEYCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "db/projects_repo.h"
#include "http/http.h"

#define KEYCACHE_SLOTS 4096
#define KEYCACHE_CHANNEL PROJECTS_AUTH_CHANNEL

/* Sets the TTL in ms (0 disables the cache for good). Main thread, before threads start. */
void keycache_configure(int ttl_ms);
/* Switches the cache on or off (the listener's connection state); both flush it. */
void keycache_enable(bool on);
/* Forgets every entry. */
void keycache_flush(void);
/* Fills *out for the key whose hex SHA-256 is hash, when cached and fresh. On a miss *gen gets
 * the cache's generation, to hand to keycache_put after the database lookup: a flush that
 * happens while the lookup runs (a revocation) then keeps its possibly stale answer out. */
bool keycache_get(const char *hash, http_auth_t *out, uint64_t *gen);
void keycache_put(const char *hash, const http_auth_t *auth, uint64_t gen);

#endif
