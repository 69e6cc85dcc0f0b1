/*
 * intl — locale data from ICU (International Components for Unicode; Debian 12 ships ICU 72):
 * month and weekday names, the locale's own date patterns (full/long/medium/short) and
 * numbers spelled out in words (ICU's rule-based "spellout" rules). Used by the template
 * filters of engine/format (`date:long`, `MMMM`, `words:fr`).
 *
 * Locales are BCP 47 tags ("de-DE", "fr", "ja-JP", "_" works for "-"). A locale is known when
 * ICU has data for its language; anything else (e.g. "xx", "tlh") is refused by every
 * function here instead of silently falling back to another language.
 *
 * Threads: any thread. ICU formatters must not be used by two threads at once, so each thread
 * keeps its own small cache of the formatters it opened (at most INTL_CACHE_MAX locales, the
 * oldest replaced first); a thread's cache is closed when the thread exits.
 * Memory: results are appended to a caller-owned buf_t; nothing is returned that the caller
 * must free.
 */
#ifndef CRAFTKIT_ENGINE_INTL_H
#define CRAFTKIT_ENGINE_INTL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

#define INTL_TAG_MAX 40  /* bytes of a locale tag */
#define INTL_CACHE_MAX 8 /* locales whose formatters one thread keeps open */

typedef enum { INTL_DATE_FULL = 0, INTL_DATE_LONG, INTL_DATE_MEDIUM, INTL_DATE_SHORT } intl_date_style_t;

/* The ICU version linked ("72.1"). */
const char *intl_icu_version(void);
/* True when ICU has locale data for the language of tag. */
bool intl_locale_known(const char *tag);
/* Appends the name of month (1-12) or weekday (0 = Sunday), full or abbreviated, as used inside
 * a date ("4. Juni 2026"). 0, or -1 + err (unknown locale, out of room). */
int intl_month_name(const char *tag, int month, bool abbrev, buf_t *out, char *err, size_t err_len);
int intl_weekday_name(const char *tag, int weekday, bool abbrev, buf_t *out, char *err, size_t err_len);
/* Appends the date y-m-d in the locale's pattern of the given style (Gregorian calendar). */
int intl_date(const char *tag, intl_date_style_t style, int y, int m, int d, buf_t *out, char *err,
              size_t err_len);
/* Appends a decimal number in words: `digits` are the integer part's decimal digits (at most
 * 18), `frac` the digits after the decimal point ("" for none; leading zeros are spelled).
 * fr: 49 / "95" → "quarante-neuf virgule quatre-vingt-quinze". */
int intl_spell(const char *tag, bool negative, const char *digits, const char *frac, buf_t *out, char *err,
               size_t err_len);

#endif
