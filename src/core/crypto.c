#include "core/crypto.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <string.h>
#include <sys/random.h>

void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN])
{
    SHA256(data, len, out);
}

void crypto_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void crypto_sha256_hex(const void *data, size_t len, char out[CRYPTO_SHA256_HEX_LEN + 1])
{
    uint8_t d[CRYPTO_SHA256_LEN];
    crypto_sha256(data, len, d);
    crypto_hex(d, sizeof d, out);
}

void crypto_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                        uint8_t out[CRYPTO_SHA256_LEN])
{
    unsigned int out_len = CRYPTO_SHA256_LEN;
    HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len);
}

void crypto_hmac_sha256_hex(const void *key, size_t key_len, const void *data, size_t len,
                            char out[CRYPTO_SHA256_HEX_LEN + 1])
{
    uint8_t d[CRYPTO_SHA256_LEN];
    crypto_hmac_sha256(key, key_len, data, len, d);
    crypto_hex(d, sizeof d, out);
}

bool crypto_equal(const void *a, size_t a_len, const void *b, size_t b_len)
{
    if (a_len != b_len)
        return false;
    return CRYPTO_memcmp(a, b, a_len) == 0;
}

bool crypto_equal_str(const char *a, const char *b)
{
    if (!a || !b)
        return false;
    return crypto_equal(a, strlen(a), b, strlen(b));
}

int crypto_random(void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

int crypto_random_base62(char *out, size_t n)
{
    static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    uint8_t pool[64];
    size_t have = 0, used = 0, i = 0;
    while (i < n) {
        if (used == have) {
            if (crypto_random(pool, sizeof pool) != 0)
                return -1;
            have = sizeof pool;
            used = 0;
        }
        uint8_t v = pool[used++];
        if (v >= 248) /* 248 = 4 * 62: reject to keep the distribution uniform */
            continue;
        out[i++] = alphabet[v % 62];
    }
    out[n] = '\0';
    return 0;
}
