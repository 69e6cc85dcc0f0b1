#include "core/apikey.h"

#include <stdio.h>
#include <string.h>

#include "core/crypto.h"

int apikey_generate(const char *environment, char key[APIKEY_MAX + 1])
{
    char random[APIKEY_RANDOM_LEN + 1];
    if (crypto_random_base62(random, APIKEY_RANDOM_LEN) != 0)
        return -1;
    snprintf(key, APIKEY_MAX + 1, "ck_%s_%s", strcmp(environment, "test") ? "live" : "test", random);
    return 0;
}

bool apikey_well_formed(const char *s)
{
    if (strncmp(s, "ck_live_", 8) != 0 && strncmp(s, "ck_test_", 8) != 0)
        return false;
    size_t n = strlen(s + 8);
    if (n < 32 || n > APIKEY_MAX - 8)
        return false;
    for (const char *p = s + 8; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            return false;
    return true;
}

void apikey_hash(const char *key, char hash_hex[65])
{
    crypto_sha256_hex(key, strlen(key), hash_hex);
}

void apikey_prefix(const char *key, char prefix[APIKEY_PREFIX_LEN + 1])
{
    snprintf(prefix, APIKEY_PREFIX_LEN + 1, "%s", key);
}
