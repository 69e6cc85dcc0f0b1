/*
 * strfmt — hand-written checks for the manifest string formats. Each mirrors its
 * STRFMT_*_PATTERN in strfmt.h exactly (tests compare the two).
 */
#include "manifest/strfmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}
static bool is_alpha(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
static bool is_alnum(char c)
{
    return is_digit(c) || is_alpha(c);
}
static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

size_t strfmt_utf8_length(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

size_t strfmt_utf8_prefix(const char *s, size_t len, size_t max_chars)
{
    size_t chars = 0;
    for (size_t i = 0; i < len; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80 && chars++ == max_chars)
            return i;
    }
    return len;
}

/* Reads n digits at s as a number. */
static int digits_value(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))
        return 29;
    return days[month - 1];
}

bool strfmt_is_date(const char *s, size_t len)
{
    if (len != 10 || s[4] != '-' || s[7] != '-')
        return false;
    int y = digits_value(s, 4), m = digits_value(s + 5, 2), d = digits_value(s + 8, 2);
    return y >= 0 && m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

/* HH:MM with HH 00-23 and MM 00-59. */
static bool is_hour_minute(const char *s)
{
    int h = digits_value(s, 2), m = digits_value(s + 3, 2);
    return s[2] == ':' && h >= 0 && h <= 23 && m >= 0 && m <= 59;
}

bool strfmt_is_datetime(const char *s, size_t len)
{
    /* 2026-06-04T10:00:00 is 19 characters; the zone adds at least 1. */
    if (len < 20 || !strfmt_is_date(s, 10) || s[10] != 'T' || !is_hour_minute(s + 11) || s[16] != ':')
        return false;
    int sec = digits_value(s + 17, 2);
    if (sec < 0 || sec > 59)
        return false;
    size_t i = 19;
    if (s[i] == '.') {
        size_t start = ++i;
        while (i < len && is_digit(s[i]))
            i++;
        if (i == start || i - start > 9)
            return false;
    }
    if (i < len && s[i] == 'Z')
        return i + 1 == len;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        return len - i == 6 && is_hour_minute(s + i + 1);
    return false;
}

static bool is_email_local_char(char c)
{
    return is_alnum(c) || c == '_' || c == '\'' || c == '+' || c == '-';
}

/* One host label: [A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?; returns its length or 0. */
static size_t host_label(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && (is_alnum(s[i]) || s[i] == '-'))
        i++;
    if (i == 0 || i > 63 || s[0] == '-' || s[i - 1] == '-')
        return 0;
    return i;
}

bool strfmt_is_email(const char *s, size_t len)
{
    const char *at = memchr(s, '@', len);
    if (!at)
        return false;
    size_t llen = (size_t)(at - s);
    /* Local part: dot-separated non-empty atoms. */
    if (llen == 0 || s[0] == '.' || s[llen - 1] == '.')
        return false;
    for (size_t i = 0; i < llen; i++) {
        if (s[i] == '.') {
            if (s[i + 1] == '.')
                return false;
        } else if (!is_email_local_char(s[i])) {
            return false;
        }
    }
    /* Domain: at least two labels, the last one 2-63 letters. */
    const char *d = at + 1;
    size_t dlen = len - llen - 1, i = 0, labels = 0, last = 0, last_len = 0;
    while (i < dlen) {
        size_t n = host_label(d + i, dlen - i);
        if (n == 0)
            return false;
        last = i, last_len = n, labels++;
        i += n;
        if (i == dlen)
            break;
        if (d[i] != '.' || i + 1 == dlen)
            return false;
        i++;
    }
    if (labels < 2 || last_len < 2)
        return false;
    for (size_t k = 0; k < last_len; k++) {
        if (!is_alpha(d[last + k]))
            return false;
    }
    return true;
}

/* RFC 3986 pchar without '%' (unreserved, sub-delims, ':' and '@'), plus '/'. */
static bool is_path_char(char c)
{
    return is_alnum(c) || (c && strchr("._~!$&'()*+,;=:@/-", c) != NULL);
}

/* Checks a run of path/query/fragment characters (extra: also allowed, e.g. '?'). */
static bool url_chars(const char *s, size_t len, bool allow_question)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%') {
            if (i + 2 >= len || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))
                return false;
            i += 2;
        } else if (!(is_path_char(s[i]) || (allow_question && s[i] == '?'))) {
            return false;
        }
    }
    return true;
}

/* Port: 1-4 digits, or 5 digits without a leading zero and at most 65535. */
static bool url_port(const char *s, size_t len)
{
    if (len == 0 || len > 5)
        return false;
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    return len < 5 || (s[0] != '0' && v <= 65535);
}

bool strfmt_is_url(const char *s, size_t len)
{
    size_t i;
    if (len >= 7 && memcmp(s, "http://", 7) == 0)
        i = 7;
    else if (len >= 8 && memcmp(s, "https://", 8) == 0)
        i = 8;
    else
        return false;
    /* Host: dot-separated labels. */
    for (;;) {
        size_t n = host_label(s + i, len - i);
        if (n == 0)
            return false;
        i += n;
        if (i < len && s[i] == '.' && i + 1 < len) {
            i++;
            continue;
        }
        break;
    }
    if (i < len && s[i] == ':') {
        size_t start = ++i;
        while (i < len && is_digit(s[i]))
            i++;
        if (!url_port(s + start, i - start))
            return false;
    }
    /* Path (must start with '/'), then ?query, then #fragment. */
    size_t end = len;
    const char *hash = memchr(s + i, '#', len - i);
    if (hash) {
        end = (size_t)(hash - s);
        if (!url_chars(hash + 1, len - end - 1, true))
            return false;
    }
    const char *q = memchr(s + i, '?', end - i);
    size_t path_end = q ? (size_t)(q - s) : end;
    if (q && !url_chars(q + 1, end - path_end - 1, true))
        return false;
    if (path_end > i && s[i] != '/')
        return false;
    return url_chars(s + i, path_end - i, false);
}

static bool is_b64(char c)
{
    return is_alnum(c) || c == '+' || c == '/';
}

/* Canonical base64 shape: groups of 4, '=' only as the last one or two characters. */
static bool is_base64(const char *s, size_t len)
{
    if (len % 4 != 0)
        return false;
    size_t pad = 0;
    if (len >= 1 && s[len - 1] == '=')
        pad = (len >= 2 && s[len - 2] == '=') ? 2 : 1;
    for (size_t i = 0; i < len - pad; i++) {
        if (!is_b64(s[i]))
            return false;
    }
    return true;
}

strfmt_image_t strfmt_check_image_data(const char *s, size_t len)
{
    static const char png[] = "data:image/png;base64,", jpeg[] = "data:image/jpeg;base64,";
    if (len < 5 || memcmp(s, "data:", 5) != 0)
        return STRFMT_IMAGE_NOT_DATA;
    const char *magic;
    size_t skip, magic_len;
    if (len >= sizeof png - 1 && memcmp(s, png, sizeof png - 1) == 0) {
        skip = sizeof png - 1;
        magic = "iVBORw0KGgo"; /* \x89PNG\r\n\x1a\n */
        magic_len = 11;
    } else if (len >= sizeof jpeg - 1 && memcmp(s, jpeg, sizeof jpeg - 1) == 0) {
        skip = sizeof jpeg - 1;
        magic = "/9j/"; /* \xff\xd8\xff */
        magic_len = 4;
    } else {
        return STRFMT_IMAGE_BAD_TYPE;
    }
    const char *b = s + skip;
    size_t blen = len - skip;
    if (!is_base64(b, blen))
        return STRFMT_IMAGE_BAD_BASE64;
    /* The PNG signature ends two bits into a base64 character, which must be data (not '='). */
    if (blen < magic_len || memcmp(b, magic, magic_len) != 0 ||
        (magic_len == 11 && (blen < 12 || !is_b64(b[11]))))
        return STRFMT_IMAGE_BAD_MAGIC;
    return STRFMT_IMAGE_OK;
}

bool strfmt_parse_number(const char *s, size_t len, double *dval, bool *is_int, int64_t *ival)
{
    if (len == 0 || len > STRFMT_NUMERIC_STRING_MAX)
        return false;
    size_t i = 0;
    if (s[i] == '+' || s[i] == '-')
        i++;
    size_t int_digits = 0, frac_digits = 0;
    while (i < len && is_digit(s[i]))
        i++, int_digits++;
    bool plain_int = true;
    if (i < len && s[i] == '.') {
        plain_int = false;
        i++;
        while (i < len && is_digit(s[i]))
            i++, frac_digits++;
    }
    if (int_digits + frac_digits == 0)
        return false;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        plain_int = false;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t exp_digits = 0;
        while (i < len && is_digit(s[i]))
            i++, exp_digits++;
        if (exp_digits == 0)
            return false;
    }
    if (i != len)
        return false;
    char tmp[STRFMT_NUMERIC_STRING_MAX + 1];
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    *dval = strtod(tmp, NULL);
    *is_int = false;
    if (plain_int && int_digits <= 18) { /* 18 digits always fit in int64 */
        *ival = strtoll(tmp, NULL, 10);
        *is_int = true;
    }
    return true;
}

void strfmt_js_number(double v, char out[STRFMT_NUMBER_LEN])
{
    if (isnan(v)) {
        snprintf(out, STRFMT_NUMBER_LEN, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, STRFMT_NUMBER_LEN, v < 0 ? "-Infinity" : "Infinity");
        return;
    }
    if (v == 0) {
        snprintf(out, STRFMT_NUMBER_LEN, "0");
        return;
    }
    /* Shortest round-tripping digits, as d.ddde±x. */
    char sci[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec - 1, v);
        if (strtod(sci, NULL) == v)
            break;
    }
    const char *p = sci;
    bool neg = *p == '-';
    if (neg)
        p++;
    char digits[20];
    int k = 0;
    for (; *p && *p != 'e'; p++) {
        if (is_digit(*p) && k < 19)
            digits[k++] = *p;
    }
    digits[k] = '\0';
    int n = atoi(p + 1) + 1; /* position of the decimal point relative to the digits */
    char buf[64];
    size_t o = 0;
    if (neg)
        buf[o++] = '-';
    if (k <= n && n <= 21) { /* integer: digits then zeros */
        memcpy(buf + o, digits, (size_t)k), o += (size_t)k;
        for (int z = 0; z < n - k; z++)
            buf[o++] = '0';
    } else if (0 < n && n <= 21) { /* point inside the digits */
        memcpy(buf + o, digits, (size_t)n), o += (size_t)n;
        buf[o++] = '.';
        memcpy(buf + o, digits + n, (size_t)(k - n)), o += (size_t)(k - n);
    } else if (-6 < n && n <= 0) { /* 0.000ddd */
        buf[o++] = '0', buf[o++] = '.';
        for (int z = 0; z < -n; z++)
            buf[o++] = '0';
        memcpy(buf + o, digits, (size_t)k), o += (size_t)k;
    } else { /* d.ddde±x */
        buf[o++] = digits[0];
        if (k > 1) {
            buf[o++] = '.';
            memcpy(buf + o, digits + 1, (size_t)(k - 1)), o += (size_t)(k - 1);
        }
        o += (size_t)snprintf(buf + o, sizeof buf - o, "e%c%d", n - 1 < 0 ? '-' : '+', abs(n - 1));
    }
    buf[o] = '\0';
    /* At most 25 characters: "-0.000000" and 17 digits, or "-d.dddddddddddddddde-308". */
    if (o >= STRFMT_NUMBER_LEN)
        o = STRFMT_NUMBER_LEN - 1;
    memcpy(out, buf, o);
    out[o] = '\0';
}
