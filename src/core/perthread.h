/*
 * perthread — one resource per thread, made when the thread first needs it and freed when the
 * thread exits: a Postgres session (db), a Redis connection (queue/redis), a storage backend.
 *   static perthread_t conns = PERTHREAD_INIT(conn_free);
 *   conn_t *c = perthread_get(&conns);
 *   if (!c && (c = conn_open()))
 *       perthread_set(&conns, c);
 * Threads: any; each thread sees only the value it set. Memory: a slot owns its values: one that
 * is replaced (perthread_set) is freed at once, the last one when its thread exits (pthread key
 * destructor; the main thread frees its own before exit, e.g. storage_shutdown).
 */
#ifndef CRAFTKIT_CORE_PERTHREAD_H
#define CRAFTKIT_CORE_PERTHREAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

typedef struct perthread {
    void (*free)(void *); /* frees one value; never called with NULL */
    pthread_key_t key;    /* made on first use */
    atomic_bool made;
} perthread_t;

#define PERTHREAD_INIT(free_fn)                                                                              \
    {                                                                                                        \
        .free = (free_fn)                                                                                    \
    }

/* This thread's value, or NULL. */
void *perthread_get(perthread_t *slot);

/* Makes v this thread's value (NULL: none), freeing the one it replaces. */
void perthread_set(perthread_t *slot, void *v);

#endif
