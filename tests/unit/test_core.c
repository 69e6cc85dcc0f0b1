/* Unit tests for src/core: uuid7, crypto, buf, timeutil, config. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/bgthread.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/perthread.h"
#include "core/timeutil.h"
#include "core/uuid7.h"
#include "tu.h"

START_TEST(uuid7_version_and_variant_bits)
{
    for (int i = 0; i < 1000; i++) {
        uint8_t id[16];
        ck_assert_int_eq(uuid7_new(id), 0);
        ck_assert_int_eq(id[6] >> 4, 7);
        ck_assert_int_eq(id[8] >> 6, 2);
        char s[UUID_STR_LEN + 1];
        uuid_format(id, s);
        ck_assert_int_eq(strlen(s), 36);
        ck_assert_int_eq(s[14], '7');
        ck_assert(strchr("89ab", s[19]) != NULL);
    }
}
END_TEST

START_TEST(uuid7_strictly_increasing)
{
    enum { N = 100000 };
    char prev[UUID_STR_LEN + 1] = "", cur[UUID_STR_LEN + 1];
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(uuid7_new_str(cur), 0);
        ck_assert_msg(strcmp(prev, cur) < 0, "not monotonic: %s then %s", prev, cur);
        memcpy(prev, cur, sizeof cur);
    }
}
END_TEST

START_TEST(uuid7_timestamp_is_now)
{
    uint8_t id[16];
    int64_t before = time_now_ms();
    uuid7_new(id);
    int64_t at = (int64_t)uuid7_time_ms(id);
    ck_assert(at >= before && at <= time_now_ms() + 5);
}
END_TEST

START_TEST(uuid_parse_roundtrip_and_rejects)
{
    uint8_t id[16], back[16];
    char s[UUID_STR_LEN + 1], s2[UUID_STR_LEN + 1];
    uuid7_new(id);
    uuid_format(id, s);
    ck_assert(uuid_parse(s, back));
    uuid_format(back, s2);
    ck_assert_str_eq(s, s2);
    ck_assert(!uuid_valid(""));
    ck_assert(!uuid_valid("not-a-uuid"));
    ck_assert(!uuid_valid("0193c2c3-0000-7000-8000-00000000000g"));
    ck_assert(!uuid_valid("0193c2c3-0000-7000-8000-0000000000000"));
    ck_assert(!uuid_valid("0193c2c300007000800000000000000000000"));
    ck_assert(uuid_valid("0193C2C3-0000-7000-8000-000000000000"));
}
END_TEST

START_TEST(sha256_and_hmac_known_vectors)
{
    char hex[65];
    crypto_sha256_hex("abc", 3, hex);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* RFC 4231 test case 2 */
    crypto_hmac_sha256_hex("Jefe", 4, "what do ya want for nothing?", 28, hex);
    ck_assert_str_eq(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}
END_TEST

START_TEST(constant_time_equal)
{
    ck_assert(crypto_equal_str("abc", "abc"));
    ck_assert(!crypto_equal_str("abc", "abd"));
    ck_assert(!crypto_equal_str("abc", "abcd"));
    ck_assert(!crypto_equal_str(NULL, "a"));
}
END_TEST

START_TEST(random_base62_alphabet_and_length)
{
    char tok[65];
    ck_assert_int_eq(crypto_random_base62(tok, 64), 0);
    ck_assert_int_eq(strlen(tok), 64);
    for (int i = 0; i < 64; i++)
        ck_assert(strchr("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", tok[i]));
    char tok2[65];
    crypto_random_base62(tok2, 64);
    ck_assert_str_ne(tok, tok2);
}
END_TEST

START_TEST(buf_enforces_cap)
{
    buf_t b;
    buf_init(&b, 10);
    ck_assert_int_eq(buf_append_str(&b, "12345"), BUF_OK);
    ck_assert_int_eq(buf_append_str(&b, "67890"), BUF_OK);
    ck_assert_int_eq(buf_append_str(&b, "x"), BUF_TOO_BIG);
    ck_assert_int_eq(b.len, 10);
    ck_assert_str_eq(buf_cstr(&b), "1234567890");
    buf_reset(&b);
    ck_assert_int_eq(buf_printf(&b, "%d-%s", 42, "ab"), BUF_OK);
    ck_assert_str_eq(buf_cstr(&b), "42-ab");
    ck_assert_int_eq(buf_printf(&b, "%s", "too long to fit"), BUF_TOO_BIG);
    size_t n;
    char *s = buf_detach(&b, &n);
    ck_assert_str_eq(s, "42-ab");
    ck_assert_int_eq(n, 5);
    free(s);
    buf_free(&b);
}
END_TEST

START_TEST(buf_put_keeps_the_first_failure)
{
    buf_t b;
    buf_init(&b, 8);
    buf_puts(&b, "1234");
    ck_assert_int_eq(buf_error(&b), BUF_OK);
    buf_putf(&b, "%s", "too long"); /* refused whole: the contents stay as they were */
    ck_assert_int_eq(buf_error(&b), BUF_TOO_BIG);
    ck_assert_str_eq(buf_cstr(&b), "1234");
    buf_putc(&b, '5'); /* a later piece that fits does not make the buffer whole again */
    ck_assert_int_eq(buf_error(&b), BUF_TOO_BIG);
    ck_assert_int_eq(buf_append_str(&b, "too long"), BUF_TOO_BIG); /* the checked family records too */
    buf_reset(&b);
    ck_assert_int_eq(buf_error(&b), BUF_OK);
    ck_assert_int_eq(buf_append_str(&b, "123456789"), BUF_TOO_BIG);
    ck_assert_int_eq(buf_error(&b), BUF_TOO_BIG);
    free(buf_detach(&b, NULL));
    ck_assert_int_eq(buf_error(&b), BUF_OK);
    buf_free(&b);
}
END_TEST

START_TEST(iso_time_format)
{
    char s[TIME_ISO_LEN + 1];
    time_format_iso(1780653600123LL, s);
    ck_assert_str_eq(s, "2026-06-05T10:00:00.123Z");
}
END_TEST

/* Loading with NAME=VALUE fails, and the message names the setting. */
static void expect_bad_setting(const char *name, const char *value)
{
    config_t cfg;
    char err[256];
    setenv(name, value, 1);
    ck_assert_msg(config_load(&cfg, err, sizeof err) == -1, "%s=%s was accepted", name, value);
    ck_assert_msg(strstr(err, name) != NULL, "%s", err);
    unsetenv(name);
}

START_TEST(config_defaults_and_bad_values)
{
    config_t cfg;
    char err[256];
    unsetenv("CRAFTKIT_LISTEN");
    unsetenv("CRAFTKIT_WORKERS");
    unsetenv("CRAFTKIT_STORAGE");
    ck_assert_int_eq(config_load(&cfg, err, sizeof err), 0);
    ck_assert_int_eq(cfg.listen_port, 8080);
    ck_assert_int_eq((int)cfg.max_body, 10 * 1024 * 1024);
    ck_assert_int_eq(cfg.download_ttl, 86400);
    ck_assert_int_eq(cfg.storage, STORAGE_LOCAL);
    config_free(&cfg);

    expect_bad_setting("CRAFTKIT_WORKERS", "lots");

    setenv("CRAFTKIT_LISTEN", "127.0.0.1:99999", 1);
    ck_assert_int_eq(config_load(&cfg, err, sizeof err), -1);
    ck_assert(strstr(err, "CRAFTKIT_LISTEN") != NULL);
    setenv("CRAFTKIT_LISTEN", "127.0.0.1:9090", 1);
    ck_assert_int_eq(config_load(&cfg, err, sizeof err), 0);
    ck_assert_str_eq(cfg.listen_host, "127.0.0.1");
    ck_assert_int_eq(cfg.listen_port, 9090);
    config_free(&cfg);
    unsetenv("CRAFTKIT_LISTEN");

    setenv("CRAFTKIT_STORAGE", "s3", 1);
    ck_assert_int_eq(config_load(&cfg, err, sizeof err), -1);
    ck_assert(strstr(err, "S3_ENDPOINT") != NULL);
    setenv("CRAFTKIT_STORAGE", "ftp", 1);
    ck_assert_int_eq(config_load(&cfg, err, sizeof err), -1);
    ck_assert(strstr(err, "CRAFTKIT_STORAGE") != NULL);
    unsetenv("CRAFTKIT_STORAGE");

    ck_assert_int_eq(config_load(&cfg, err, sizeof err), 0);
    ck_assert_int_eq(cfg.s3_attempts, 3);
    ck_assert_int_eq(cfg.s3_attempt_timeout_ms, 20000);
    config_free(&cfg);
    setenv("S3_ATTEMPT_TIMEOUT_MS", "1500", 1);
    ck_assert_int_eq(config_load(&cfg, err, sizeof err), 0);
    ck_assert_int_eq(cfg.s3_attempt_timeout_ms, 1500);
    config_free(&cfg);
    unsetenv("S3_ATTEMPT_TIMEOUT_MS");
    expect_bad_setting("S3_ATTEMPT_TIMEOUT_MS", "soon");
    expect_bad_setting("S3_ATTEMPTS", "0");
}
END_TEST

/* ---- perthread: one value per thread, freed when replaced or when its thread exits ---- */

static int freed_values;

static void count_free(void *p)
{
    free(p);
    __atomic_add_fetch(&freed_values, 1, __ATOMIC_SEQ_CST);
}

static perthread_t slot = PERTHREAD_INIT(count_free);

static void *other_thread(void *arg)
{
    (void)arg;
    void *seen = perthread_get(&slot); /* not the main thread's */
    perthread_set(&slot, malloc(1));   /* freed when this thread exits */
    return seen;
}

START_TEST(perthread_values_are_per_thread_and_freed)
{
    freed_values = 0;
    int *mine = malloc(sizeof *mine);
    perthread_set(&slot, mine);
    ck_assert_ptr_eq(perthread_get(&slot), mine);
    pthread_t t;
    void *seen = (void *)1;
    ck_assert_int_eq(pthread_create(&t, NULL, other_thread, NULL), 0);
    ck_assert_int_eq(pthread_join(t, &seen), 0);
    ck_assert_ptr_null(seen);
    ck_assert_int_eq(freed_values, 1); /* the other thread's, at its exit */
    ck_assert_ptr_eq(perthread_get(&slot), mine);
    perthread_set(&slot, mine); /* the same value again: kept */
    ck_assert_int_eq(freed_values, 1);
    perthread_set(&slot, NULL); /* replaced: freed */
    ck_assert_int_eq(freed_values, 2);
    ck_assert_ptr_null(perthread_get(&slot));
}
END_TEST

/* ---- bgthread: runs until asked to stop; a sleeping thread wakes for the request ---- */

static bgthread_t sleeper;
static int sleeper_rounds;

static void *sleeper_main(void *arg)
{
    (void)arg;
    while (!bgthread_stopping(&sleeper)) {
        __atomic_add_fetch(&sleeper_rounds, 1, __ATOMIC_SEQ_CST);
        bgthread_sleep(&sleeper, 3600 * 1000); /* an hour: only a stop request ends it */
    }
    return NULL;
}

START_TEST(bgthread_stop_ends_a_long_sleep)
{
    char err[128];
    bgthread_stop(&sleeper); /* not started: nothing to do */
    ck_assert_int_eq(bgthread_start(&sleeper, sleeper_main, NULL, "the sleeper", err, sizeof err), 0);
    for (int i = 0; i < 2000 && __atomic_load_n(&sleeper_rounds, __ATOMIC_SEQ_CST) == 0; i++)
        time_sleep_ms(5);
    ck_assert_int_eq(sleeper_rounds, 1);
    bgthread_stop(&sleeper); /* returns within a nap, not an hour */
    ck_assert(bgthread_stopping(&sleeper));
    bgthread_stop(&sleeper); /* twice: harmless */
    ck_assert_int_eq(bgthread_start(&sleeper, sleeper_main, NULL, "the sleeper", err, sizeof err), 0);
    ck_assert(!bgthread_stopping(&sleeper)); /* a new start clears the request */
    bgthread_stop(&sleeper);
}
END_TEST

static Suite *core_suite(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, uuid7_version_and_variant_bits);
    tcase_add_test(tc, uuid7_strictly_increasing);
    tcase_add_test(tc, uuid7_timestamp_is_now);
    tcase_add_test(tc, uuid_parse_roundtrip_and_rejects);
    tcase_add_test(tc, sha256_and_hmac_known_vectors);
    tcase_add_test(tc, constant_time_equal);
    tcase_add_test(tc, random_base62_alphabet_and_length);
    tcase_add_test(tc, buf_enforces_cap);
    tcase_add_test(tc, buf_put_keeps_the_first_failure);
    tcase_add_test(tc, iso_time_format);
    tcase_add_test(tc, config_defaults_and_bad_values);
    tcase_add_test(tc, perthread_values_are_per_thread_and_freed);
    tcase_add_test(tc, bgthread_stop_ends_a_long_sleep);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(core_suite());
}
