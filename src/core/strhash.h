/*
 * strhash — a fast, non-cryptographic hash of a C string (64-bit FNV-1a), for hash tables and
 * caches keyed by text the process made or trusts (prepared statements' SQL, hyphenation
 * patterns). Never for secrets or input an attacker can pick to collide: use core/crypto.
 *
 * Threads: any (a pure function). Memory: none.
 */
#ifndef CRAFTKIT_CORE_STRHASH_H
#define CRAFTKIT_CORE_STRHASH_H

#include <stdint.h>

uint64_t strhash_fnv1a(const char *s);

#endif
