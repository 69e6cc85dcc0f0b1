#include "api/syncwait.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"

struct syncwait {
    struct syncwait *prev, *next;
    http_req_t *req;
    char render_id[37];
    int64_t deadline;
    bool parked; /* the connection is suspended */
    bool fired;  /* woken before it could park */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct syncwait *head;
static bool closed;
static int n_parked;

/* ---- registry (mu held) ---- */

static void unlink_waiter(struct syncwait *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
}

/* Resumes a parked waiter or marks an unparked one fired. A resumed waiter is unlinked and
 * freed first: its request may be finished by another thread as soon as it is resumed. */
static void wake_locked(struct syncwait *w)
{
    if (!w->parked) {
        w->fired = true;
        return;
    }
    http_req_t *req = w->req;
    unlink_waiter(w);
    free(w);
    n_parked--;
    http_resume(req);
}

syncwait_t *syncwait_register(http_req_t *req, const char *render_id, int64_t deadline_mono_ms)
{
    if (deadline_mono_ms <= time_mono_ms())
        return NULL;
    struct syncwait *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->req = req;
    snprintf(w->render_id, sizeof w->render_id, "%s", render_id);
    w->deadline = deadline_mono_ms;
    pthread_mutex_lock(&mu);
    if (closed) {
        pthread_mutex_unlock(&mu);
        free(w);
        return NULL;
    }
    w->next = head;
    if (head)
        head->prev = w;
    head = w;
    pthread_mutex_unlock(&mu);
    return w;
}

bool syncwait_park(syncwait_t *w)
{
    pthread_mutex_lock(&mu);
    if (w->fired || closed) {
        unlink_waiter(w);
        pthread_mutex_unlock(&mu);
        free(w);
        return false;
    }
    /* Suspended under the lock the wakers take, so no resume can come before the suspend. */
    w->parked = true;
    n_parked++;
    http_suspend(w->req);
    pthread_mutex_unlock(&mu);
    return true;
}

void syncwait_cancel(syncwait_t *w)
{
    pthread_mutex_lock(&mu);
    unlink_waiter(w);
    pthread_mutex_unlock(&mu);
    free(w);
}

void syncwait_fire(const char *render_id)
{
    pthread_mutex_lock(&mu);
    for (struct syncwait *w = head, *next; w; w = next) {
        next = w->next;
        if (!strcmp(w->render_id, render_id))
            wake_locked(w);
    }
    pthread_mutex_unlock(&mu);
}

void syncwait_expire(bool all)
{
    int64_t now = time_mono_ms();
    pthread_mutex_lock(&mu);
    for (struct syncwait *w = head, *next; w; w = next) {
        next = w->next;
        if (all || w->deadline <= now)
            wake_locked(w);
    }
    pthread_mutex_unlock(&mu);
}

void syncwait_shutdown(void)
{
    pthread_mutex_lock(&mu);
    closed = true;
    pthread_mutex_unlock(&mu);
    syncwait_expire(true);
}

int syncwait_parked(void)
{
    pthread_mutex_lock(&mu);
    int n = n_parked;
    pthread_mutex_unlock(&mu);
    return n;
}
