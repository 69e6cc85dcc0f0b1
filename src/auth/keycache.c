#include "auth/keycache.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/timeutil.h"

typedef struct slot {
    char hash[65];
    http_auth_t auth;
    int64_t expires;     /* CLOCK_MONOTONIC ms */
    uint64_t generation; /* valid only while equal to the cache's */
} slot_t;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static slot_t slots[KEYCACHE_SLOTS];
static uint64_t generation = 1;
static bool enabled;
static int ttl;

void keycache_configure(int ttl_ms)
{
    pthread_mutex_lock(&mu);
    ttl = ttl_ms > 0 ? ttl_ms : 0;
    generation++;
    pthread_mutex_unlock(&mu);
}

void keycache_enable(bool on)
{
    pthread_mutex_lock(&mu);
    enabled = on;
    generation++;
    pthread_mutex_unlock(&mu);
}

void keycache_flush(void)
{
    pthread_mutex_lock(&mu);
    generation++;
    pthread_mutex_unlock(&mu);
}

/* The slot of a hash: its first 12 bits (hex digits are uniformly spread). */
static slot_t *slot_of(const char *hash)
{
    return &slots[strtoul((char[4]){hash[0], hash[1], hash[2], '\0'}, NULL, 16) % KEYCACHE_SLOTS];
}

bool keycache_get(const char *hash, http_auth_t *out, uint64_t *gen)
{
    bool hit = false;
    pthread_mutex_lock(&mu);
    *gen = generation;
    slot_t *s = slot_of(hash);
    if (enabled && ttl > 0 && s->generation == generation && s->expires > time_mono_ms() &&
        crypto_equal_str(s->hash, hash)) {
        *out = s->auth;
        hit = true;
    }
    pthread_mutex_unlock(&mu);
    return hit;
}

void keycache_put(const char *hash, const http_auth_t *auth, uint64_t gen)
{
    pthread_mutex_lock(&mu);
    if (enabled && ttl > 0 && gen == generation) {
        slot_t *s = slot_of(hash);
        memcpy(s->hash, hash, sizeof s->hash - 1);
        s->hash[sizeof s->hash - 1] = '\0';
        s->auth = *auth;
        s->expires = time_mono_ms() + ttl;
        s->generation = generation;
    }
    pthread_mutex_unlock(&mu);
}
