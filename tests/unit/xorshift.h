/* xorshift — a tiny deterministic PRNG for randomised unit tests (header-only). Fixed seeds
 * keep failures reproducible. */
#ifndef CRAFTKIT_TEST_XORSHIFT_H
#define CRAFTKIT_TEST_XORSHIFT_H

#include <stdint.h>

static inline uint64_t xorshift_next(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

#endif
