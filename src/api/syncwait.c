#include "api/syncwait.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "db/db.h"
#include "db/renders_repo.h"

#define LISTEN_RETRY_MS 1000

struct syncwait {
    struct syncwait *prev, *next;
    http_req_t *req;
    char render_id[37];
    int64_t deadline;
    bool parked;       /* the connection is suspended */
    bool fired;        /* woken before it could park */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct syncwait *head;
static bool closed;
static int n_parked;

static pthread_t listener;
static bool listener_started;
static atomic_bool listener_stop;

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

/* Wakes waiters whose deadline passed (all = every waiter, e.g. after missed notifications). */
static void wake_expired(bool all)
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
    wake_expired(true);
}

int syncwait_parked(void)
{
    pthread_mutex_lock(&mu);
    int n = n_parked;
    pthread_mutex_unlock(&mu);
    return n;
}

/* ---- the listener thread ---- */

static db_t *listen_connect(void)
{
    char err[512];
    db_t *db = db_open(config_get()->database_url, err, sizeof err);
    if (!db)
        return NULL;
    PGresult *r = db_exec(db, "LISTEN " RENDER_NOTIFY_CHANNEL, 0, NULL, err, sizeof err);
    if (!r) {
        log_warn("syncwait: LISTEN failed: %s", err);
        db_close(db);
        return NULL;
    }
    PQclear(r);
    return db;
}

/* Reads pending notifications; false when the connection is lost. */
static bool drain_notifications(db_t *db)
{
    PGconn *c = db_conn(db);
    if (!PQconsumeInput(c))
        return false;
    PGnotify *n;
    while ((n = PQnotifies(c)) != NULL) {
        syncwait_fire(n->extra);
        PQfreemem(n);
    }
    return PQstatus(c) == CONNECTION_OK;
}

static void *listener_main(void *arg)
{
    (void)arg;
    db_t *db = NULL;
    int64_t next_connect = 0;
    bool was_connected = false;
    while (!atomic_load(&listener_stop)) {
        if (!db && time_mono_ms() >= next_connect) {
            db = listen_connect();
            if (!db) {
                next_connect = time_mono_ms() + LISTEN_RETRY_MS;
            } else if (was_connected) {
                log_info("syncwait: listening again; waking parked requests to look again");
                wake_expired(true);
            }
            was_connected |= db != NULL;
        }
        if (db) {
            struct pollfd p = {.fd = PQsocket(db_conn(db)), .events = POLLIN};
            if (poll(&p, 1, SYNCWAIT_TICK_MS) != 0 && !drain_notifications(db)) {
                log_warn("syncwait: lost the LISTEN connection; reconnecting");
                db_close(db);
                db = NULL;
            }
        } else {
            time_sleep_ms(SYNCWAIT_TICK_MS);
        }
        wake_expired(false);
    }
    db_close(db);
    return NULL;
}

int syncwait_start(char *err, size_t err_len)
{
    atomic_store(&listener_stop, false);
    if (pthread_create(&listener, NULL, listener_main, NULL) != 0) {
        snprintf(err, err_len, "cannot start the sync listener thread");
        return -1;
    }
    listener_started = true;
    return 0;
}

void syncwait_stop(void)
{
    if (!listener_started)
        return;
    atomic_store(&listener_stop, true);
    pthread_join(listener, NULL);
    listener_started = false;
}
