/*
 * dispatcher — delivers outgoing webhooks, apart from the render workers, so that a slow or
 * dead receiver never holds up a render.
 *
 * One thread per instance runs up to CRAFTKIT_WEBHOOK_CONCURRENCY deliveries at once on one
 * curl multi handle (one easy handle per slot, reused, so each slot keeps its connection
 * alive): a receiver that takes the whole 15 s timeout occupies one slot, not the others. It
 * takes delivery ids from the Redis queue "webhooks" (its own jobs_worker_t, heartbeating
 * itself), claims each in Postgres with a lease longer than the timeout, sends it, records the
 * attempt (status, latency, error, the first 1 KB of the answer) and the outcome in one
 * statement, and acks the id. Non-2xx, timeout or connection error → pending again after
 * exponential backoff with jitter (the sweeper pushes it when due); the 6th failure →
 * abandoned. Every outgoing request goes through core/netguard (private addresses refused
 * at connect time unless CRAFTKIT_ALLOW_PRIVATE_URLS, no redirects, no proxy).
 *
 * Threads: dispatcher_start/stop from the main thread; the rest runs on its own thread with
 * its own Postgres connection, Redis connections, storage backend and CURL handles.
 */
#ifndef CRAFTKIT_WORKER_DISPATCHER_H
#define CRAFTKIT_WORKER_DISPATCHER_H

#include <stddef.h>

#include "core/config.h"

#define DISPATCHER_LEASE_MARGIN_MS 30000 /* lease = webhook timeout + this */
#define DISPATCHER_READ_MAX (64u << 10)  /* answer bytes read before hanging up */
#define DISPATCHER_IDLE_BLOCK_MS 500     /* wait for new ids when nothing is in flight */
#define DISPATCHER_BUSY_POLL_MS 100      /* look for new ids this often while sending */
#define DISPATCHER_DB_RETRY_MS 500       /* pace of retries while the database fails */

/* Starts the dispatcher thread (nothing when cfg->webhook_concurrency is 0). 0 or -1 + err. */
int dispatcher_start(const config_t *cfg, char *err, size_t err_len);
/* Takes no new deliveries, lets those in flight finish (each is bounded by the webhook
 * timeout), gives back the rest and joins. */
void dispatcher_stop(void);

#endif
