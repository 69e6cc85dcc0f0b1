#include "core/uuid7.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "core/crypto.h"

static pthread_mutex_t uuid7_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t uuid7_last_ms;
static uint16_t uuid7_counter; /* 12 bits */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int uuid7_new(uint8_t out[16])
{
    uint8_t rnd[10];
    if (crypto_random(rnd, sizeof rnd) != 0)
        return -1;

    pthread_mutex_lock(&uuid7_mu);
    uint64_t ms = now_ms();
    if (ms > uuid7_last_ms) {
        uuid7_last_ms = ms;
        /* Start low in the 12-bit space so many ids fit in one millisecond. */
        uuid7_counter = (uint16_t)(((rnd[0] << 8) | rnd[1]) & 0x3FF);
    } else {
        /* Same millisecond (or the clock went back): keep order with the counter. */
        uuid7_counter++;
        if (uuid7_counter > 0xFFF) {
            uuid7_last_ms++;
            uuid7_counter = 0;
        }
        ms = uuid7_last_ms;
    }
    uint16_t counter = uuid7_counter;
    pthread_mutex_unlock(&uuid7_mu);

    for (int i = 0; i < 6; i++)
        out[i] = (uint8_t)(ms >> (8 * (5 - i)));
    out[6] = (uint8_t)(0x70 | ((counter >> 8) & 0x0F));
    out[7] = (uint8_t)(counter & 0xFF);
    out[8] = (uint8_t)(0x80 | (rnd[2] & 0x3F));
    memcpy(out + 9, rnd + 3, 7);
    return 0;
}

void uuid_format(const uint8_t in[16], char out[UUID_STR_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    char *p = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = digits[in[i] >> 4];
        *p++ = digits[in[i] & 15];
    }
    *p = '\0';
}

int uuid7_new_str(char out[UUID_STR_LEN + 1])
{
    uint8_t id[16];
    if (uuid7_new(id) != 0)
        return -1;
    uuid_format(id, out);
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool uuid_parse(const char *s, uint8_t out[16])
{
    if (!s || strlen(s) != UUID_STR_LEN)
        return false;
    int byte = 0;
    for (int i = 0; i < UUID_STR_LEN;) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
            i++;
            continue;
        }
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[byte++] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    return byte == 16;
}

bool uuid_valid(const char *s)
{
    uint8_t tmp[16];
    return uuid_parse(s, tmp);
}

uint64_t uuid7_time_ms(const uint8_t in[16])
{
    uint64_t ms = 0;
    for (int i = 0; i < 6; i++)
        ms = ms << 8 | in[i];
    return ms;
}
