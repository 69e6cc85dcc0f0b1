/* Unit tests for src/queue/ratelimit against a real redis-server (started by main()). */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>

#include "queue/ratelimit.h"
#include "redis_fixture.h"
#include "tu.h"

static void take_ok(const char *project, double rate, int burst, ratelimit_result_t *out)
{
    char err[256];
    ck_assert_msg(ratelimit_take(project, rate, burst, out, err, sizeof err) == 0, "ratelimit_take: %s", err);
}

START_TEST(burst_then_refusal)
{
    ratelimit_result_t r;
    for (int i = 0; i < 5; i++) {
        take_ok("p-burst", 1, 5, &r);
        ck_assert(r.allowed);
        ck_assert_int_eq(r.limit, 5);
        ck_assert_int_eq(r.remaining, 4 - i);
        ck_assert(r.retry_after_s == 0);
    }
    take_ok("p-burst", 1, 5, &r);
    ck_assert(!r.allowed);
    ck_assert_int_eq(r.remaining, 0);
    /* One token every second: the next is under a second away; the bucket is ~5 s from full. */
    ck_assert(r.retry_after_s > 0.5 && r.retry_after_s <= 1.0);
    ck_assert(r.reset_s > 4.5 && r.reset_s <= 5.0);
    /* Another project has its own bucket. */
    take_ok("p-other", 1, 5, &r);
    ck_assert(r.allowed);
    ck_assert_int_eq(r.remaining, 4);
    /* Fractional rates: one token every two seconds. */
    take_ok("p-slow", 0.5, 1, &r);
    ck_assert(r.allowed);
    take_ok("p-slow", 0.5, 1, &r);
    ck_assert(!r.allowed);
    ck_assert(r.retry_after_s > 1.9 && r.retry_after_s <= 2.0);
}
END_TEST

START_TEST(refills_over_time)
{
    ratelimit_result_t r;
    take_ok("p-refill", 20, 2, &r);
    take_ok("p-refill", 20, 2, &r);
    ck_assert(r.allowed);
    ck_assert_int_eq(r.remaining, 0);
    take_ok("p-refill", 20, 2, &r);
    ck_assert(!r.allowed);
    ck_assert(r.retry_after_s > 0 && r.retry_after_s <= 0.05 + 1e-9);
    rf_sleep_ms((long)(r.retry_after_s * 1000) + 15);
    take_ok("p-refill", 20, 2, &r);
    ck_assert_msg(r.allowed, "a token should have been refilled");
    /* Long enough idle: full again (burst, never more). */
    rf_sleep_ms(150);
    take_ok("p-refill", 20, 2, &r);
    ck_assert(r.allowed);
    ck_assert_int_eq(r.remaining, 1);
    ck_assert(fabs(r.reset_s - 0.05) < 0.01);
}
END_TEST

typedef struct taker {
    const char *project;
    double rate;
    int burst;
    int attempts;
    atomic_int *allowed;
    atomic_int *errors;
} taker_t;

/* Each thread uses its own Redis connection: two of them are two "instances". */
static void *taker_main(void *arg)
{
    taker_t *t = arg;
    for (int i = 0; i < t->attempts; i++) {
        ratelimit_result_t r;
        char err[256];
        if (ratelimit_take(t->project, t->rate, t->burst, &r, err, sizeof err) != 0)
            atomic_fetch_add(t->errors, 1);
        else if (r.allowed)
            atomic_fetch_add(t->allowed, 1);
    }
    return NULL;
}

START_TEST(two_instances_share_a_bucket)
{
    atomic_int allowed_a = 0, allowed_b = 0, errors = 0;
    taker_t a = {"p-shared", 0.001, 5, 3, &allowed_a, &errors};
    taker_t b = {"p-shared", 0.001, 5, 3, &allowed_b, &errors};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, taker_main, &a);
    pthread_join(ta, NULL);
    pthread_create(&tb, NULL, taker_main, &b);
    pthread_join(tb, NULL);
    ck_assert_int_eq(atomic_load(&errors), 0);
    ck_assert_int_eq(atomic_load(&allowed_a), 3);
    ck_assert_int_eq(atomic_load(&allowed_b), 2); /* what the first left */
}
END_TEST

START_TEST(concurrent_takers_never_exceed_burst)
{
    enum { THREADS = 8, ATTEMPTS = 25, BURST = 50 };
    atomic_int allowed = 0, errors = 0;
    taker_t t = {"p-concurrent", 0.001, BURST, ATTEMPTS, &allowed, &errors};
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, taker_main, &t);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(atomic_load(&errors), 0);
    ck_assert_int_eq(atomic_load(&allowed), BURST);
}
END_TEST

START_TEST(idle_bucket_expires)
{
    ratelimit_result_t r;
    /* 10 tokens a second: the two takes must come within 100 ms of each other (100 per second
     * gave 10 ms, too little under a sanitizer on a loaded machine). */
    take_ok("p-expire", 10, 5, &r);
    take_ok("p-expire", 10, 5, &r);
    ck_assert_int_eq(r.remaining, 3);
    /* Full again in 200 ms; the key lives that long plus one second. */
    long long pttl = rf_int("PTTL ck:rl:p-expire");
    ck_assert_msg(pttl > 900 && pttl <= 1200, "PTTL %lld", pttl);
    long deadline = rf_now_ms() + 3000;
    while (rf_int("EXISTS ck:rl:p-expire") == 1 && rf_now_ms() < deadline)
        rf_sleep_ms(50);
    ck_assert_int_eq(rf_int("EXISTS ck:rl:p-expire"), 0);
    take_ok("p-expire", 10, 5, &r);
    ck_assert_int_eq(r.remaining, 4);
}
END_TEST

START_TEST(smaller_burst_clamps_the_bucket)
{
    ratelimit_result_t r;
    take_ok("p-clamp", 1, 10, &r);
    ck_assert_int_eq(r.remaining, 9);
    take_ok("p-clamp", 1, 3, &r);
    ck_assert(r.allowed);
    ck_assert_int_eq(r.remaining, 2);
    ck_assert_int_eq(r.limit, 3);
}
END_TEST

START_TEST(reloads_script_after_flush)
{
    ratelimit_result_t r;
    take_ok("p-script", 1, 3, &r);
    freeReplyObject(rf_cmd("SCRIPT FLUSH"));
    take_ok("p-script", 1, 3, &r);
    ck_assert(r.allowed);
    ck_assert_int_eq(r.remaining, 1);
}
END_TEST

START_TEST(rejects_bad_arguments)
{
    ratelimit_result_t r;
    char err[256];
    const char *bad_ids[] = {"", "a:b", "a b", "x*", "p\n", NULL};
    for (int i = 0; bad_ids[i]; i++)
        ck_assert_int_eq(ratelimit_take(bad_ids[i], 1, 1, &r, err, sizeof err), -1);
    char longid[RATELIMIT_PROJECT_MAX + 2];
    memset(longid, 'a', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    ck_assert_int_eq(ratelimit_take(longid, 1, 1, &r, err, sizeof err), -1);
    longid[RATELIMIT_PROJECT_MAX] = '\0';
    ck_assert_int_eq(ratelimit_take(longid, 1, 1, &r, err, sizeof err), 0);
    ck_assert_int_eq(ratelimit_take("p", 0, 1, &r, err, sizeof err), -1);
    ck_assert_int_eq(ratelimit_take("p", -1, 1, &r, err, sizeof err), -1);
    ck_assert_int_eq(ratelimit_take("p", RATELIMIT_RATE_MIN / 2, 1, &r, err, sizeof err), -1);
    ck_assert_int_eq(ratelimit_take("p", RATELIMIT_RATE_MAX * 2, 1, &r, err, sizeof err), -1);
    ck_assert_int_eq(ratelimit_take("p", NAN, 1, &r, err, sizeof err), -1);
    ck_assert_int_eq(ratelimit_take("p", INFINITY, 1, &r, err, sizeof err), -1);
    ck_assert_int_eq(ratelimit_take("p", 1, 0, &r, err, sizeof err), -1);
    ck_assert_int_eq(ratelimit_take("p", 1, RATELIMIT_BURST_MAX + 1, &r, err, sizeof err), -1);
    ck_assert_int_eq(rf_int("EXISTS ck:rl:p"), 0);
}
END_TEST

/* Runs against its own server, in a test child that has not connected anywhere before. */
START_TEST(redis_down_is_an_error)
{
    rf_redis_t down = {0};
    ck_assert_int_eq(rf_start(&down), 0);
    rf_use(&down);
    ratelimit_result_t r;
    char err[256];
    take_ok("p-down", 1, 3, &r);
    rf_kill(&down);
    long t0 = rf_now_ms();
    ck_assert_int_eq(ratelimit_take("p-down", 1, 3, &r, err, sizeof err), -1);
    ck_assert(rf_now_ms() - t0 < 2000);
    ck_assert(err[0] != '\0');
    /* Back (empty, without the script cached): works again on the next call. */
    ck_assert_int_eq(rf_start(&down), 0);
    take_ok("p-down", 1, 3, &r);
    ck_assert(r.allowed);
    ck_assert_int_eq(r.remaining, 2);
    rf_stop(&down);
}
END_TEST

START_TEST(header_values)
{
    char limit[16], remaining[16], reset[16], retry[16];
    ratelimit_result_t ok = {true, 100, 99, 0.02, 0};
    ratelimit_headers(&ok, limit, remaining, reset, retry);
    ck_assert_str_eq(limit, "100");
    ck_assert_str_eq(remaining, "99");
    ck_assert_str_eq(reset, "1");
    ck_assert_str_eq(retry, "");

    ratelimit_result_t no = {false, 100, 0, 2.0000000001, 0.01};
    ratelimit_headers(&no, limit, remaining, reset, retry);
    ck_assert_str_eq(remaining, "0");
    ck_assert_str_eq(reset, "2");
    ck_assert_str_eq(retry, "1"); /* at least 1 */

    no.retry_after_s = 1.2;
    no.reset_s = 7.01;
    ratelimit_headers(&no, limit, remaining, reset, retry);
    ck_assert_str_eq(retry, "2");
    ck_assert_str_eq(reset, "8");

    no.retry_after_s = 0;
    no.reset_s = 0;
    ratelimit_headers(&no, limit, remaining, reset, retry);
    ck_assert_str_eq(retry, "1");
    ck_assert_str_eq(reset, "0");
}
END_TEST

static void flush(void)
{
    rf_flushall();
}

static Suite *ratelimit_suite(void)
{
    Suite *s = suite_create("ratelimit");
    TCase *tc = tcase_create("bucket");
    tcase_add_checked_fixture(tc, flush, NULL);
    tcase_add_test(tc, burst_then_refusal);
    tcase_add_test(tc, refills_over_time);
    tcase_add_test(tc, two_instances_share_a_bucket);
    tcase_add_test(tc, concurrent_takers_never_exceed_burst);
    tcase_add_test(tc, idle_bucket_expires);
    tcase_add_test(tc, smaller_burst_clamps_the_bucket);
    tcase_add_test(tc, reloads_script_after_flush);
    tcase_add_test(tc, rejects_bad_arguments);
    suite_add_tcase(s, tc);
    /* No fixture: the test must not have a connection to the shared server yet. */
    TCase *to = tcase_create("outage");
    tcase_add_test(to, redis_down_is_an_error);
    suite_add_tcase(s, to);
    TCase *th = tcase_create("headers");
    tcase_add_test(th, header_values);
    suite_add_tcase(s, th);
    return s;
}

int main(void)
{
    rf_main_start();
    return tu_run(ratelimit_suite());
}
