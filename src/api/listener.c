#include "api/listener.h"

#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "api/syncwait.h"
#include "auth/keycache.h"
#include "core/bgthread.h"
#include "core/config.h"
#include "core/errmsg.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "db/db.h"
#include "db/renders_repo.h"

static bgthread_t listener;

static db_t *listen_connect(void)
{
    char err[ERRMSG_LEN];
    db_t *db = db_open(config_get()->database_url, err, sizeof err);
    if (!db)
        return NULL;
    PGresult *r = db_exec(db, "LISTEN " RENDER_NOTIFY_CHANNEL, 0, NULL, err, sizeof err);
    PGresult *a = r ? db_exec(db, "LISTEN " KEYCACHE_CHANNEL, 0, NULL, err, sizeof err) : NULL;
    PQclear(r);
    if (!a) {
        log_warn("listener: LISTEN failed: %s", err);
        db_close(db);
        return NULL;
    }
    PQclear(a);
    return db;
}

/* Handles pending notifications; false when the connection is lost. */
static bool drain_notifications(db_t *db)
{
    PGconn *c = db_conn(db);
    if (!PQconsumeInput(c))
        return false;
    PGnotify *n;
    while ((n = PQnotifies(c)) != NULL) {
        if (!strcmp(n->relname, RENDER_NOTIFY_CHANNEL))
            syncwait_fire(n->extra);
        else if (!strcmp(n->relname, KEYCACHE_CHANNEL))
            keycache_flush();
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
    while (!bgthread_stopping(&listener)) {
        if (!db && time_mono_ms() >= next_connect) {
            db = listen_connect();
            if (!db) {
                next_connect = time_mono_ms() + LISTENER_RETRY_MS;
            } else {
                keycache_enable(true);
                if (was_connected) {
                    log_info("listener: listening again; waking parked sync requests to look again");
                    syncwait_expire(true);
                }
                was_connected = true;
            }
        }
        if (db) {
            struct pollfd p = {.fd = PQsocket(db_conn(db)), .events = POLLIN};
            if (poll(&p, 1, SYNCWAIT_TICK_MS) != 0 && !drain_notifications(db)) {
                log_warn("listener: lost the LISTEN connection; reconnecting (key cache off meanwhile)");
                keycache_enable(false);
                db_close(db);
                db = NULL;
            }
        } else {
            time_sleep_ms(SYNCWAIT_TICK_MS);
        }
        syncwait_expire(false);
    }
    keycache_enable(false);
    db_close(db);
    return NULL;
}

int listener_start(char *err, size_t err_len)
{
    return bgthread_start(&listener, listener_main, NULL, "the listener thread", err, err_len);
}

void listener_stop(void)
{
    bgthread_stop(&listener);
}
