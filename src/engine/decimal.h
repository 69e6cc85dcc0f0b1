/*
 * decimal — exact decimal arithmetic for the template language's aggregates (sum, avg, min,
 * max over a list). A JSON number is read as the decimal a person wrote (its shortest
 * round-trip form: 0.1 is one tenth, not 0.1000000000000000055…), so 0.1 + 0.2 is exactly 0.3
 * and a column of prices adds up to the cent; binary floating point is never used for a sum.
 *
 * A value is fixed point: DECIMAL_INT_DIGITS digits before the point and DECIMAL_SCALE after.
 * Anything outside that range is refused (DECIMAL_RANGE), never rounded silently. Division
 * (an average) truncates at DECIMAL_SCALE decimals, which is exact for every rounding the
 * format filters do (at most 10 decimals, half away from zero).
 *
 * Pure functions on caller-owned values: no allocation, no global state, any thread.
 */
#ifndef CRAFTKIT_ENGINE_DECIMAL_H
#define CRAFTKIT_ENGINE_DECIMAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define DECIMAL_SCALE 30      /* digits after the point */
#define DECIMAL_INT_DIGITS 30 /* digits before the point */
#define DECIMAL_LIMBS 7       /* base-10^9 limbs: 63 digits >= DECIMAL_SCALE + DECIMAL_INT_DIGITS */
#define DECIMAL_TEXT_MAX 64   /* "-" + 30 digits + "." + 30 digits + NUL, rounded up */

/* value = (neg ? -1 : 1) × mag × 10^-DECIMAL_SCALE; mag in little-endian base-10^9 limbs. */
typedef struct decimal {
    bool neg;
    uint32_t limb[DECIMAL_LIMBS];
} decimal_t;

#define DECIMAL_OK 0
#define DECIMAL_NAN (-1)   /* not a number (a word, a boolean, a list ...) */
#define DECIMAL_RANGE (-2) /* a number, but too large or with too many decimals */

/* Zero. */
void decimal_zero(decimal_t *x);
/* [+-]digits[.digits][(e|E)[+-]digits], surrounding blanks allowed. DECIMAL_OK/NAN/RANGE. */
int decimal_from_text(const char *s, size_t len, decimal_t *out);
/* Reads an exponent ("e5", "E-3", "e+07") at s[*i] when there is one, advancing *i past it;
 * its value stops growing past 100000 (far outside any range, so callers refuse it anyway).
 * 0 (with *e = 0 and *i unchanged when there is no 'e'), or -1 for an 'e' without digits.
 * Shared by every reader of decimal text so they agree on what a number is. */
int decimal_scan_exponent(const char *s, size_t len, size_t *i, long *e);
/* A JSON integer, real (its shortest round-trip decimal) or numeric string. NULL, null,
 * booleans, lists and objects are DECIMAL_NAN. */
int decimal_from_json(const json_t *v, decimal_t *out);
/* The shortest "%.Ne" text (at most 17 significant digits) that reads back as v exactly.
 * Returns 0, or -1 for NaN and infinities. */
int decimal_shortest_double(double v, char out[32]);
/* acc += x. DECIMAL_OK, or DECIMAL_RANGE (acc unchanged) when the result is too large. */
int decimal_add(decimal_t *acc, const decimal_t *x);
/* -1, 0 or 1 as a < b, a == b, a > b. */
int decimal_cmp(const decimal_t *a, const decimal_t *b);
/* x /= n, truncated toward zero at DECIMAL_SCALE decimals; n from 1 to UINT32_MAX. 0 or -1. */
int decimal_div_u32(decimal_t *x, uint64_t n);
/* Plain text without exponent, trailing fractional zeros dropped: "1234.5", "-0.25", "0". */
void decimal_to_text(const decimal_t *x, char out[DECIMAL_TEXT_MAX]);

#endif
