/*
 * crypto — hashing, HMAC, constant-time comparison, CSPRNG bytes and tokens (OpenSSL).
 *
 * Threads: every function is safe from any thread (OpenSSL 3 one-shot APIs, getrandom()).
 * Memory: all outputs go to caller-provided buffers; nothing is allocated.
 */
#ifndef CRAFTKIT_CORE_CRYPTO_H
#define CRAFTKIT_CORE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA256_LEN 32
#define CRYPTO_SHA256_HEX_LEN 64

void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN]);
/* out gets 64 lowercase hex chars and a NUL. */
void crypto_sha256_hex(const void *data, size_t len, char out[CRYPTO_SHA256_HEX_LEN + 1]);
void crypto_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                        uint8_t out[CRYPTO_SHA256_LEN]);
void crypto_hmac_sha256_hex(const void *key, size_t key_len, const void *data, size_t len,
                            char out[CRYPTO_SHA256_HEX_LEN + 1]);
/* Lowercase hex of n bytes; out must hold 2n+1. */
void crypto_hex(const uint8_t *in, size_t n, char *out);
/* Compares two byte strings in time that depends only on the lengths. */
bool crypto_equal(const void *a, size_t a_len, const void *b, size_t b_len);
/* Same for NUL-terminated strings (e.g. hex signatures). */
bool crypto_equal_str(const char *a, const char *b);
/* Fills buf from the kernel CSPRNG; returns 0 or -1. */
int crypto_random(void *buf, size_t n);
/* Writes n random base62 characters and a NUL (unbiased, rejection sampling); returns 0 or -1. */
int crypto_random_base62(char *out, size_t n);

#endif
