#include "engine/decimal.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DECIMAL_NUMTEXT_MAX 400 /* bytes of a numeric string */
#define LIMB_BASE 1000000000u
#define DIGITS_MAX (DECIMAL_SCALE + DECIMAL_INT_DIGITS)

static const uint32_t pow10_u32[9] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};

void decimal_zero(decimal_t *x)
{
    memset(x, 0, sizeof *x);
}

static bool mag_is_zero(const decimal_t *x)
{
    for (int i = 0; i < DECIMAL_LIMBS; i++)
        if (x->limb[i])
            return false;
    return true;
}

/* Digit k (0 = the last of the DECIMAL_SCALE decimals) += d. Positions are set once each. */
static int put_digit(decimal_t *x, long k, int d)
{
    if (d == 0)
        return DECIMAL_OK;
    if (k < 0 || k >= DIGITS_MAX)
        return DECIMAL_RANGE;
    x->limb[k / 9] += (uint32_t)d * pow10_u32[k % 9];
    return DECIMAL_OK;
}

int decimal_scan_exponent(const char *s, size_t len, size_t *i, long *e)
{
    size_t k = *i;
    *e = 0;
    if (k >= len || (s[k] != 'e' && s[k] != 'E'))
        return 0;
    k++;
    bool neg = false;
    if (k < len && (s[k] == '-' || s[k] == '+'))
        neg = s[k++] == '-';
    if (k == len || !isdigit((unsigned char)s[k]))
        return -1;
    long v = 0;
    for (; k < len && isdigit((unsigned char)s[k]); k++)
        if (v < 100000)
            v = v * 10 + (s[k] - '0');
    *e = neg ? -v : v;
    *i = k;
    return 0;
}

int decimal_from_text(const char *s, size_t len, decimal_t *out)
{
    decimal_zero(out);
    while (len && isspace((unsigned char)*s))
        s++, len--;
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    if (len == 0)
        return DECIMAL_NAN;
    if (len > DECIMAL_NUMTEXT_MAX)
        return DECIMAL_RANGE;
    size_t i = 0;
    bool neg = false;
    if (s[i] == '-' || s[i] == '+')
        neg = s[i++] == '-';
    /* First pass: where the mantissa's digits are, where its point is, and the exponent. */
    size_t mant = i, ndigits = 0, before_point = 0;
    bool in_frac = false;
    for (; i < len; i++) {
        if (s[i] == '.' && !in_frac) {
            in_frac = true;
            continue;
        }
        if (!isdigit((unsigned char)s[i]))
            break;
        ndigits++;
        if (!in_frac)
            before_point++;
    }
    size_t mant_end = i;
    if (ndigits == 0)
        return DECIMAL_NAN;
    long e = 0;
    if (decimal_scan_exponent(s, len, &i, &e) != 0 || i != len)
        return DECIMAL_NAN;
    /* Second pass: the n-th digit is worth 10^(before_point - 1 - n + e). */
    long n = 0;
    for (size_t j = mant; j < mant_end; j++) {
        if (s[j] == '.')
            continue;
        long k = (long)before_point - 1 - n + e + DECIMAL_SCALE;
        if (put_digit(out, k, s[j] - '0') != DECIMAL_OK) {
            decimal_zero(out);
            return DECIMAL_RANGE;
        }
        n++;
    }
    out->neg = neg && !mag_is_zero(out);
    return DECIMAL_OK;
}

int decimal_shortest_double(double v, char out[32])
{
    if (!isfinite(v))
        return -1;
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, 32, "%.*e", prec - 1, v);
        if (strtod(out, NULL) == v)
            break;
    }
    return 0;
}

int decimal_from_json(const json_t *v, decimal_t *out)
{
    char tmp[32];
    decimal_zero(out);
    if (json_is_integer(v)) {
        snprintf(tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return decimal_from_text(tmp, strlen(tmp), out);
    }
    if (json_is_real(v)) {
        if (decimal_shortest_double(json_real_value(v), tmp) < 0)
            return DECIMAL_RANGE;
        return decimal_from_text(tmp, strlen(tmp), out);
    }
    if (json_is_string(v))
        return decimal_from_text(json_string_value(v), json_string_length(v), out);
    return DECIMAL_NAN;
}

static int mag_cmp(const decimal_t *a, const decimal_t *b)
{
    for (int i = DECIMAL_LIMBS - 1; i >= 0; i--)
        if (a->limb[i] != b->limb[i])
            return a->limb[i] < b->limb[i] ? -1 : 1;
    return 0;
}

/* The largest magnitude is DIGITS_MAX nines: the top limb holds DIGITS_MAX - 54 digits. */
static bool mag_fits(const decimal_t *x)
{
    return x->limb[DECIMAL_LIMBS - 1] < pow10_u32[DIGITS_MAX - 9 * (DECIMAL_LIMBS - 1)];
}

int decimal_add(decimal_t *acc, const decimal_t *x)
{
    decimal_t r = {0};
    if (acc->neg == x->neg) {
        uint32_t carry = 0;
        for (int i = 0; i < DECIMAL_LIMBS; i++) {
            uint32_t s = acc->limb[i] + x->limb[i] + carry; /* < 2 × 10^9 + 1: fits */
            carry = s >= LIMB_BASE;
            r.limb[i] = carry ? s - LIMB_BASE : s;
        }
        if (carry || !mag_fits(&r))
            return DECIMAL_RANGE;
        r.neg = acc->neg;
    } else {
        /* Different signs: the larger magnitude minus the smaller, with the larger's sign. */
        const decimal_t *big = acc, *small = x;
        if (mag_cmp(acc, x) < 0)
            big = x, small = acc;
        uint32_t borrow = 0;
        for (int i = 0; i < DECIMAL_LIMBS; i++) {
            uint32_t sub = small->limb[i] + borrow;
            borrow = big->limb[i] < sub;
            r.limb[i] = borrow ? big->limb[i] + LIMB_BASE - sub : big->limb[i] - sub;
        }
        r.neg = big->neg;
    }
    if (mag_is_zero(&r))
        r.neg = false;
    *acc = r;
    return DECIMAL_OK;
}

int decimal_cmp(const decimal_t *a, const decimal_t *b)
{
    if (a->neg != b->neg)
        return a->neg ? -1 : 1; /* zero is never negative */
    int m = mag_cmp(a, b);
    return a->neg ? -m : m;
}

int decimal_div_u32(decimal_t *x, uint64_t n)
{
    if (n == 0 || n > UINT32_MAX)
        return -1;
    uint64_t rem = 0;
    for (int i = DECIMAL_LIMBS - 1; i >= 0; i--) {
        uint64_t cur = rem * LIMB_BASE + x->limb[i]; /* rem < n <= 2^32: < 2^62 */
        x->limb[i] = (uint32_t)(cur / n);
        rem = cur % n;
    }
    if (mag_is_zero(x))
        x->neg = false;
    return 0;
}

void decimal_to_text(const decimal_t *x, char out[DECIMAL_TEXT_MAX])
{
    char digits[9 * DECIMAL_LIMBS + 1];
    size_t n = 0;
    for (int i = DECIMAL_LIMBS - 1; i >= 0; i--)
        n += (size_t)snprintf(digits + n, sizeof digits - n, "%09" PRIu32, x->limb[i]);
    size_t int_end = n - DECIMAL_SCALE, first = 0;
    while (first + 1 < int_end && digits[first] == '0')
        first++;
    size_t frac_end = n;
    while (frac_end > int_end && digits[frac_end - 1] == '0')
        frac_end--;
    size_t o = 0;
    if (x->neg && !mag_is_zero(x))
        out[o++] = '-';
    memcpy(out + o, digits + first, int_end - first);
    o += int_end - first;
    if (frac_end > int_end) {
        out[o++] = '.';
        memcpy(out + o, digits + int_end, frac_end - int_end);
        o += frac_end - int_end;
    }
    out[o] = 0;
}
