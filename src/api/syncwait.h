/*
 * syncwait — parks `options.sync` render requests until their render is terminal, without
 * holding a thread, and wakes them wherever the render finished.
 *
 * A request registers (syncwait_register), re-reads the render, and parks (syncwait_park)
 * only if nothing fired in between, so a render that finishes between the check and the park
 * is never missed. The listener thread (api/listener.h) hears craftkit_render_done from the
 * terminal UPDATEs of every instance and calls syncwait_fire(); it also expires deadlines
 * (syncwait_expire) every SYNCWAIT_TICK_MS, and after a lost connection wakes every parked
 * request once to look again, since notifications may have been missed while it was down.
 * Workers of this process call syncwait_fire() directly as well, which saves the round trip.
 *
 * A resumed request runs its handler again (req->resumed): it re-reads the render and either
 * answers or registers again (a wake-up is only a hint).
 *
 * Threads: register/park/cancel on the request's handler thread; fire, expire, shutdown from
 * any thread. One mutex guards the registry; MHD_resume_connection is
 * called under it, and a waiter is unlinked and freed before its request can run again (after
 * a resume another pool thread may finish and free the request at once).
 * Memory: the registry owns waiters; callers only hold the opaque pointer between register and
 * park/cancel.
 */
#ifndef CRAFTKIT_API_SYNCWAIT_H
#define CRAFTKIT_API_SYNCWAIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http.h"

#define SYNCWAIT_TICK_MS 100 /* deadline resolution of the listener */

typedef struct syncwait syncwait_t;

/* Refuses new waits and resumes every parked request (they answer their current state). Safe
 * to call twice; used as a server shutdown hook. */
void syncwait_shutdown(void);
/* Wakes the parked requests whose deadline passed, or every one (all). */
void syncwait_expire(bool all);

/* Registers req as waiting for render_id until deadline_mono_ms (CLOCK_MONOTONIC ms). NULL when
 * shutting down or the deadline has passed: answer with the current state then. */
syncwait_t *syncwait_register(http_req_t *req, const char *render_id, int64_t deadline_mono_ms);
/* Suspends the request unless its render fired since register. true: parked (the handler
 * returns without answering). false: fired already; the waiter is gone, read the render again. */
bool syncwait_park(syncwait_t *w);
/* Drops a registered, unparked waiter (the render turned out to be terminal). */
void syncwait_cancel(syncwait_t *w);

/* Wakes every request waiting for render_id. Any thread. */
void syncwait_fire(const char *render_id);
/* Requests parked right now (for /metrics and tests). */
int syncwait_parked(void);

#endif
