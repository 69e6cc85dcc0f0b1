/* Unit tests for src/engine/decimal: exact decimal sums for the template language's aggregates. */
#include <check.h>
#include <string.h>

#include "engine/decimal.h"
#include "tu.h"

static decimal_t D(const char *s)
{
    decimal_t x;
    ck_assert_msg(decimal_from_text(s, strlen(s), &x) == DECIMAL_OK, "not read: %s", s);
    return x;
}

static const char *T(const decimal_t *x)
{
    static char out[DECIMAL_TEXT_MAX];
    decimal_to_text(x, out);
    return out;
}

START_TEST(reads_and_prints_what_a_person_wrote)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"0", "0"},
        {"-0", "0"},
        {"+12", "12"},
        {"12.50", "12.5"},
        {" 7 ", "7"},
        {"-0.25", "-0.25"},
        {"1e3", "1000"},
        {"1.5E-2", "0.015"},
        {".5", "0.5"},
        {"5.", "5"},
        {"000123.4500", "123.45"},
        {"123456789012345678901234567890", "123456789012345678901234567890"},
        {"0.000000000000000000000000000001", "0.000000000000000000000000000001"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        decimal_t x = D(cases[i].in);
        ck_assert_str_eq(T(&x), cases[i].out);
    }
}
END_TEST

START_TEST(refuses_words_and_out_of_range)
{
    decimal_t x;
    static const char *const nan[] = {"", "  ", "abc", "1,5", "1.2.3", "--1", "1e", "e5", "0x10", "1 2", "."};
    for (size_t i = 0; i < sizeof nan / sizeof nan[0]; i++)
        ck_assert_msg(decimal_from_text(nan[i], strlen(nan[i]), &x) == DECIMAL_NAN, "read: '%s'", nan[i]);
    static const char *const range[] = {"1234567890123456789012345678901", "1e30", "1e-31",
                                        "0.0000000000000000000000000000001", "1e99999"};
    for (size_t i = 0; i < sizeof range / sizeof range[0]; i++)
        ck_assert_msg(decimal_from_text(range[i], strlen(range[i]), &x) == DECIMAL_RANGE, "read: '%s'",
                      range[i]);
    /* zeros are fine at any scale */
    ck_assert_int_eq(decimal_from_text("0e99999", 7, &x), DECIMAL_OK);
    ck_assert_str_eq(T(&x), "0");
}
END_TEST

START_TEST(json_numbers_are_their_shortest_decimal)
{
    decimal_t a, b, c;
    json_t *v = json_real(0.1), *w = json_real(0.2), *s = json_string("0.3"), *i = json_integer(-42);
    ck_assert_int_eq(decimal_from_json(v, &a), DECIMAL_OK);
    ck_assert_int_eq(decimal_from_json(w, &b), DECIMAL_OK);
    ck_assert_int_eq(decimal_add(&a, &b), DECIMAL_OK);
    ck_assert_int_eq(decimal_from_json(s, &c), DECIMAL_OK);
    ck_assert_int_eq(decimal_cmp(&a, &c), 0); /* 0.1 + 0.2 == 0.3, exactly */
    ck_assert_str_eq(T(&a), "0.3");
    ck_assert_int_eq(decimal_from_json(i, &a), DECIMAL_OK);
    ck_assert_str_eq(T(&a), "-42");
    json_t *t = json_true(), *o = json_object();
    ck_assert_int_eq(decimal_from_json(NULL, &a), DECIMAL_NAN);
    ck_assert_int_eq(decimal_from_json(json_null(), &a), DECIMAL_NAN);
    ck_assert_int_eq(decimal_from_json(t, &a), DECIMAL_NAN);
    ck_assert_int_eq(decimal_from_json(o, &a), DECIMAL_NAN);
    json_t *big = json_real(1e300);
    ck_assert_int_eq(decimal_from_json(big, &a), DECIMAL_RANGE);
    json_decref(v), json_decref(w), json_decref(s), json_decref(i), json_decref(t), json_decref(o),
        json_decref(big);
    char buf[32];
    ck_assert_int_eq(decimal_shortest_double(1.005, buf), 0);
    ck_assert_str_eq(buf, "1.005e+00");
}
END_TEST

START_TEST(adds_with_signs_and_carries)
{
    static const struct {
        const char *a, *b, *sum;
    } cases[] = {
        {"999999999.999999999", "0.000000001", "1000000000"},
        {"-5", "3", "-2"},
        {"5", "-5", "0"},
        {"-1.5", "-2.25", "-3.75"},
        {"0.000000000000000000000000000001", "-0.000000000000000000000000000002",
         "-0.000000000000000000000000000001"},
        {"19.99", "0.01", "20"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        decimal_t a = D(cases[i].a), b = D(cases[i].b);
        ck_assert_int_eq(decimal_add(&a, &b), DECIMAL_OK);
        ck_assert_str_eq(T(&a), cases[i].sum);
    }
    /* 10 000 × 0.1 is 1000 exactly (a double sum drifts) */
    decimal_t acc, tenth = D("0.1");
    decimal_zero(&acc);
    for (int i = 0; i < 10000; i++)
        ck_assert_int_eq(decimal_add(&acc, &tenth), DECIMAL_OK);
    ck_assert_str_eq(T(&acc), "1000");
    /* overflow is refused and leaves the sum as it was */
    decimal_t max = D("999999999999999999999999999999.999999999999999999999999999999"),
              one = D("0.000000000000000000000000000001");
    ck_assert_int_eq(decimal_add(&max, &one), DECIMAL_RANGE);
    ck_assert_str_eq(T(&max), "999999999999999999999999999999.999999999999999999999999999999");
}
END_TEST

START_TEST(compares_and_divides)
{
    decimal_t a = D("-2"), b = D("1"), c = D("-10"), z = D("0"), mz = D("-0");
    ck_assert_int_eq(decimal_cmp(&a, &b), -1);
    ck_assert_int_eq(decimal_cmp(&a, &c), 1);
    ck_assert_int_eq(decimal_cmp(&z, &mz), 0);
    ck_assert_int_eq(decimal_cmp(&b, &b), 0);
    decimal_t x = D("10");
    ck_assert_int_eq(decimal_div_u32(&x, 4), 0);
    ck_assert_str_eq(T(&x), "2.5");
    x = D("4");
    ck_assert_int_eq(decimal_div_u32(&x, 3), 0);
    ck_assert_str_eq(T(&x), "1.333333333333333333333333333333"); /* truncated at DECIMAL_SCALE */
    x = D("-1");
    ck_assert_int_eq(decimal_div_u32(&x, 8), 0);
    ck_assert_str_eq(T(&x), "-0.125");
    ck_assert_int_eq(decimal_div_u32(&x, 0), -1);
}
END_TEST

Suite *decimal_suite(void)
{
    Suite *s = suite_create("engine_decimal");
    TCase *tc = tcase_create("decimal");
    tcase_add_test(tc, reads_and_prints_what_a_person_wrote);
    tcase_add_test(tc, refuses_words_and_out_of_range);
    tcase_add_test(tc, json_numbers_are_their_shortest_decimal);
    tcase_add_test(tc, adds_with_signs_and_carries);
    tcase_add_test(tc, compares_and_divides);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(decimal_suite());
}
