#include "core/bgthread.h"

#include "core/errmsg.h"
#include "core/timeutil.h"

#define BGTHREAD_NAP_MS 50 /* how soon a sleeping thread notices a stop request */

int bgthread_start(bgthread_t *t, void *(*fn)(void *), void *arg, const char *what, char *err, size_t err_len)
{
    atomic_store(&t->stop, false);
    if (pthread_create(&t->thread, NULL, fn, arg) != 0)
        return errmsg_fail(err, err_len, "cannot start %s", what);
    t->started = true;
    return 0;
}

void bgthread_stop(bgthread_t *t)
{
    if (!t->started)
        return;
    atomic_store(&t->stop, true);
    pthread_join(t->thread, NULL);
    t->started = false;
}

bool bgthread_stopping(bgthread_t *t)
{
    return atomic_load(&t->stop);
}

void bgthread_sleep(bgthread_t *t, int ms)
{
    for (int slept = 0; slept < ms && !bgthread_stopping(t); slept += BGTHREAD_NAP_MS)
        time_sleep_ms(BGTHREAD_NAP_MS);
}
