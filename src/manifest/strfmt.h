/*
 * strfmt — the string formats of manifest data types: ISO-8601 dates and date-times, e-mail
 * addresses, http(s) URLs, image data URIs and numeric strings, plus UTF-8 length and
 * ECMAScript-style number printing for messages.
 *
 * Each check has a twin STRFMT_*_PATTERN (an ECMAScript regular expression) that the JSON
 * Schema emitter publishes next to the standard `format`, so that a client validating with the
 * schema accepts exactly the strings the server accepts. Keep a check and its pattern in step:
 * tests/unit/test_validate.c compares them on a corpus through manifest/pattern.
 *
 * Threads: any (pure functions). Memory: nothing is allocated.
 */
#ifndef CRAFTKIT_MANIFEST_STRFMT_H
#define CRAFTKIT_MANIFEST_STRFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STRFMT_EMAIL_MAX 254          /* characters in an e-mail address */
#define STRFMT_URL_MAX 2048           /* characters in an http(s) URL */
#define STRFMT_IMAGE_DATA_MAX 5242880 /* characters in an image data URI (5 MiB) */
#define STRFMT_NUMERIC_STRING_MAX 100 /* characters in a string coerced to a number */
#define STRFMT_NUMBER_LEN 32          /* buffer for strfmt_js_number() */

/* Date-time: what `format: date-time` accepts, narrowed to the server's rule (T, upper-case Z
 * or ±HH:MM, seconds 00-59, at most 9 fractional digits). The calendar part is checked by the
 * `date-time` format itself. */
#define STRFMT_DATETIME_PATTERN                                                                              \
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?"                   \
    "(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"

#define STRFMT_EMAIL_PATTERN                                                                                 \
    "^[A-Za-z0-9_'+-]+(\\.[A-Za-z0-9_'+-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+"              \
    "[A-Za-z]{2,63}$"

#define STRFMT_URL_PATTERN                                                                                   \
    "^https?://[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}"                \
    "[A-Za-z0-9])?)*(:([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|"               \
    "6553[0-5]))?(/([A-Za-z0-9._~!$&'()*+,;=:@/-]|%[0-9A-Fa-f]{2})*)?"                                       \
    "(\\?([A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*)?"                                                \
    "(#([A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*)?$"

/* The base64 groups are spelled out ([…][…][…][…] rather than […]{4}): V8's backtracking
 * engine, which ajv uses, overflows its stack on a quantified group over a 5 MiB string but
 * runs this form as a flat loop (tests/data/agreement/image.json has a 5 MiB case). */
#define STRFMT_B64 "[A-Za-z0-9+/]"
#define STRFMT_IMAGE_DATA_PATTERN                                                                            \
    "^data:image/(?:png;base64,iVBORw0KGgo" STRFMT_B64 "|jpeg;base64,/9j/)"                                  \
    "(?:" STRFMT_B64 STRFMT_B64 STRFMT_B64 STRFMT_B64 ")*"                                                   \
    "(?:" STRFMT_B64 STRFMT_B64 "==|" STRFMT_B64 STRFMT_B64 STRFMT_B64 "=)?$"

/* Number of code points in valid UTF-8 (what JSON Schema's minLength/maxLength count). */
size_t strfmt_utf8_length(const char *s, size_t len);
/* The byte offset where the first max_chars code points end (len when shorter). */
size_t strfmt_utf8_prefix(const char *s, size_t len, size_t max_chars);

/* YYYY-MM-DD, a real calendar day (leap years included). */
bool strfmt_is_date(const char *s, size_t len);
/* YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM). */
bool strfmt_is_datetime(const char *s, size_t len);
bool strfmt_is_email(const char *s, size_t len);
/* http:// or https:// URL with a host name, RFC 3986 characters only (no user info). */
bool strfmt_is_url(const char *s, size_t len);

typedef enum {
    STRFMT_IMAGE_OK = 0,
    STRFMT_IMAGE_NOT_DATA = 1, /* does not start with "data:" */
    STRFMT_IMAGE_BAD_TYPE,     /* not data:image/png;base64, or data:image/jpeg;base64, */
    STRFMT_IMAGE_BAD_BASE64,   /* payload is not canonical base64 */
    STRFMT_IMAGE_BAD_MAGIC,    /* decoded bytes are not a PNG / JPEG signature */
} strfmt_image_t;
strfmt_image_t strfmt_check_image_data(const char *s, size_t len);

/* Parses a numeric string ([+-]digits[.digits][e[+-]digits], also ".5" and "5.") of at most
 * STRFMT_NUMERIC_STRING_MAX characters. Returns false when it is not one. *is_int tells whether
 * it was written as an integer that fits in int64 (then *ival holds it); *dval always holds
 * the value (possibly ±inf for huge exponents: the caller checks finiteness). */
bool strfmt_parse_number(const char *s, size_t len, double *dval, bool *is_int, int64_t *ival);

/* Prints v as ECMAScript's Number#toString would for ordinary values (5, 2.5, 1e+21, 0.1). */
void strfmt_js_number(double v, char out[STRFMT_NUMBER_LEN]);

#endif
