/*
 * listener — the thread that hears Postgres notifications for this instance, on its own
 * connection: craftkit_render_done (a render became terminal on some instance: wake the sync
 * requests waiting for it) and craftkit_auth_changed (a key, project or rate limit changed:
 * flush the key cache). It also expires sync deadlines every SYNCWAIT_TICK_MS.
 *
 * While its connection is down it retries every LISTENER_RETRY_MS, with the key cache off;
 * once LISTENing again it turns the cache back on and wakes every parked sync request once,
 * since notifications sent meanwhile were missed.
 * Threads: listener_start/listener_stop from the main thread.
 */
#ifndef CRAFTKIT_API_LISTENER_H
#define CRAFTKIT_API_LISTENER_H

#include <stddef.h>

#define LISTENER_RETRY_MS 1000

int listener_start(char *err, size_t err_len);
void listener_stop(void);

#endif
