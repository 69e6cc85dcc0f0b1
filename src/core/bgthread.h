/*
 * bgthread — a long-running background thread that runs until it is asked to stop: the
 * Postgres listener, the sweeper, the webhook dispatcher, the workers' heartbeat.
 *   static bgthread_t sweeper;
 *   static void *sweeper_main(void *arg) { while (!bgthread_stopping(&sweeper)) { ...;
 *                                          bgthread_sleep(&sweeper, interval_ms); } return NULL; }
 *   bgthread_start(&sweeper, sweeper_main, cfg, "the sweeper thread", err, sizeof err);
 *   bgthread_stop(&sweeper);
 * Threads: start and stop from one controlling thread (serve's main thread); stopping and sleep
 * from the background thread itself (stopping from any). Memory: none; arg stays the caller's.
 */
#ifndef CRAFTKIT_CORE_BGTHREAD_H
#define CRAFTKIT_CORE_BGTHREAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct bgthread {
    pthread_t thread;
    atomic_bool stop; /* asked to stop */
    bool started;     /* thread runs and must be joined */
} bgthread_t;

/* Clears the stop request and runs fn(arg) on a new thread; -1 with "cannot start <what>". */
int bgthread_start(bgthread_t *t, void *(*fn)(void *), void *arg, const char *what, char *err,
                   size_t err_len);

/* Asks the thread to stop and joins it; nothing when it is not running. */
void bgthread_stop(bgthread_t *t);

/* Whether the thread was asked to stop. */
bool bgthread_stopping(bgthread_t *t);

/* Sleeps ms milliseconds, in steps of 50 ms so that a stop request ends the nap early. */
void bgthread_sleep(bgthread_t *t, int ms);

#endif
