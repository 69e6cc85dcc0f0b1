/*
 * apikey — the API key format: ck_live_<40 base62> / ck_test_<40 base62> from the kernel
 * CSPRNG. Only the SHA-256 (hex) and a display prefix are ever stored.
 *
 * Threads: any (no shared state). Memory: the caller owns every buffer.
 */
#ifndef CRAFTKIT_CORE_APIKEY_H
#define CRAFTKIT_CORE_APIKEY_H

#include <stdbool.h>

#define APIKEY_RANDOM_LEN 40
#define APIKEY_MAX 64
#define APIKEY_PREFIX_LEN 13 /* "ck_live_" + 5 */

/* Writes a new key for environment "live" or "test" into key (APIKEY_MAX). 0 or -1. */
int apikey_generate(const char *environment, char key[APIKEY_MAX + 1]);
/* True when s has the exact key shape (prefix, length, alphabet). */
bool apikey_well_formed(const char *s);
/* Hex SHA-256 of the key (65 bytes) and its display prefix (APIKEY_PREFIX_LEN + 1 bytes). */
void apikey_hash(const char *key, char hash_hex[65]);
void apikey_prefix(const char *key, char prefix[APIKEY_PREFIX_LEN + 1]);

#endif
