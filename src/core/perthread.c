#include "core/perthread.h"

/* Keys are made under one lock: pthread_once cannot pass the slot to its init function. */
static pthread_mutex_t make_mu = PTHREAD_MUTEX_INITIALIZER;

static void make_key(perthread_t *slot)
{
    if (atomic_load_explicit(&slot->made, memory_order_acquire))
        return;
    pthread_mutex_lock(&make_mu);
    if (!atomic_load_explicit(&slot->made, memory_order_relaxed)) {
        pthread_key_create(&slot->key, slot->free);
        atomic_store_explicit(&slot->made, true, memory_order_release);
    }
    pthread_mutex_unlock(&make_mu);
}

void *perthread_get(perthread_t *slot)
{
    make_key(slot);
    return pthread_getspecific(slot->key);
}

void perthread_set(perthread_t *slot, void *v)
{
    make_key(slot);
    void *old = pthread_getspecific(slot->key);
    if (old && old != v)
        slot->free(old);
    pthread_setspecific(slot->key, v);
}
