#include "core/backoff.h"

#include <stdint.h>

#include "core/crypto.h"

int backoff_delay_ms(int base_ms, int failed_attempts, int max_ms)
{
    double delay = base_ms;
    for (int i = 1; i < failed_attempts && delay < max_ms; i++)
        delay *= 2;
    if (delay > max_ms)
        delay = max_ms;
    uint32_t r = 0;
    crypto_random(&r, sizeof r);
    delay *= 0.5 + (double)r / 4294967296.0;
    return delay < 1 ? 1 : (int)delay;
}
