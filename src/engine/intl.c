/* intl — locale data from ICU; see intl.h. */
#include "engine/intl.h"

#include "core/errmsg.h"
#include "core/perthread.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/udat.h>
#include <unicode/uloc.h>
#include <unicode/unum.h>
#include <unicode/ustring.h>
#include <unicode/uversion.h>

#define INTL_PIECE_MAX 512 /* UTF-16 units of one formatted piece (a date, a number in words) */
#define INTL_WORD_MAX 96   /* bytes of the minus sign, decimal separator and zero in words */

typedef struct {
    char tag[INTL_TAG_MAX];               /* as the template wrote it */
    char id[ULOC_FULLNAME_CAPACITY + 32]; /* ICU locale id, Gregorian calendar forced */
    UDateFormat *date[4];                 /* by intl_date_style_t, opened on first use */
    UNumberFormat *spell;
    char minus[INTL_WORD_MAX], sep[INTL_WORD_MAX], zero[INTL_WORD_MAX]; /* words of spell */
} intl_entry_t;

typedef struct {
    intl_entry_t e[INTL_CACHE_MAX];
    int n, next; /* entries in use; the one replaced next when full */
} intl_cache_t;

static void entry_close(intl_entry_t *e)
{
    for (int i = 0; i < 4; i++)
        if (e->date[i])
            udat_close(e->date[i]);
    if (e->spell)
        unum_close(e->spell);
    memset(e, 0, sizeof *e);
}

static void cache_free(void *p)
{
    intl_cache_t *c = p;
    for (int i = 0; i < c->n; i++)
        entry_close(&c->e[i]);
    free(c);
}

static perthread_t thread_caches = PERTHREAD_INIT(cache_free);

const char *intl_icu_version(void)
{
    return U_ICU_VERSION;
}

/* "de-DE"/"de_DE" → ICU's "de_DE"; -1 when tag is not a well-formed tag. */
static int tag_to_id(const char *tag, char *id, size_t id_len)
{
    char norm[INTL_TAG_MAX];
    size_t n = tag ? strlen(tag) : 0;
    if (n == 0 || n >= sizeof norm)
        return -1;
    for (size_t i = 0; i <= n; i++)
        norm[i] = tag[i] == '_' ? '-' : tag[i];
    UErrorCode st = U_ZERO_ERROR;
    int32_t parsed = 0;
    uloc_forLanguageTag(norm, id, (int32_t)id_len, &parsed, &st);
    if (U_FAILURE(st) || st == U_STRING_NOT_TERMINATED_WARNING || parsed != (int32_t)n || !id[0])
        return -1;
    return 0;
}

/* The language part of an ICU id ("de" of "de_DE@calendar=x"). */
static size_t lang_len(const char *id)
{
    size_t n = strcspn(id, "_@");
    return n;
}

static bool lang_has_data(const char *id)
{
    size_t n = lang_len(id);
    int32_t count = uloc_countAvailable();
    for (int32_t i = 0; i < count; i++) {
        const char *a = uloc_getAvailable(i);
        if (a && lang_len(a) == n && strncmp(a, id, n) == 0)
            return true;
    }
    return false;
}

bool intl_locale_known(const char *tag)
{
    char id[ULOC_FULLNAME_CAPACITY];
    return tag_to_id(tag, id, sizeof id) == 0 && lang_has_data(id);
}

static int unknown_locale(const char *tag, char *err, size_t err_len)
{
    return errmsg_fail(err, err_len,
                       "no locale data for \"%.32s\" (ICU %s knows languages such as en, de, fr, ja)",
                       tag ? tag : "", U_ICU_VERSION);
}

static intl_cache_t *thread_cache(void)
{
    intl_cache_t *c = perthread_get(&thread_caches);
    if (!c && (c = calloc(1, sizeof *c)) != NULL)
        perthread_set(&thread_caches, c);
    return c;
}

/* This thread's entry for tag, made on first use; NULL + err for an unknown locale. */
static intl_entry_t *entry_for(const char *tag, char *err, size_t err_len)
{
    intl_cache_t *c = thread_cache();
    if (!c) {
        errmsg_fail(err, err_len, "out of memory for locale data");
        return NULL;
    }
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->e[i].tag, tag) == 0)
            return &c->e[i];
    char id[ULOC_FULLNAME_CAPACITY];
    if (tag_to_id(tag, id, sizeof id) != 0 || !lang_has_data(id)) {
        unknown_locale(tag, err, err_len);
        return NULL;
    }
    intl_entry_t *e;
    if (c->n < INTL_CACHE_MAX) {
        e = &c->e[c->n++];
    } else {
        e = &c->e[c->next];
        c->next = (c->next + 1) % INTL_CACHE_MAX;
        entry_close(e);
    }
    snprintf(e->tag, sizeof e->tag, "%s", tag);
    /* Always the Gregorian calendar: YYYY in a pattern means the Gregorian year everywhere. */
    snprintf(e->id, sizeof e->id, "%s%scalendar=gregorian", id, strchr(id, '@') ? ";" : "@");
    return e;
}

/* Appends UTF-16 text as UTF-8. */
static int append_u16(buf_t *out, const UChar *s, int32_t len, char *err, size_t err_len)
{
    char tmp[INTL_PIECE_MAX * 3 + 1];
    int32_t n = 0;
    UErrorCode st = U_ZERO_ERROR;
    u_strToUTF8(tmp, (int32_t)sizeof tmp, &n, s, len, &st);
    if (U_FAILURE(st) || n >= (int32_t)sizeof tmp)
        return errmsg_fail(err, err_len, "locale text could not be converted");
    if (buf_append(out, tmp, (size_t)n) != 0)
        return errmsg_fail(err, err_len, "formatted text is too long");
    return 0;
}

static UDateFormat *date_format(intl_entry_t *e, intl_date_style_t style, char *err, size_t err_len)
{
    if (!e->date[style]) {
        static const UDateFormatStyle icu_style[4] = {UDAT_FULL, UDAT_LONG, UDAT_MEDIUM, UDAT_SHORT};
        UErrorCode st = U_ZERO_ERROR;
        e->date[style] = udat_open(UDAT_NONE, icu_style[style], e->id, u"UTC", -1, NULL, 0, &st);
        if (U_FAILURE(st)) {
            if (e->date[style])
                udat_close(e->date[style]);
            e->date[style] = NULL;
            errmsg_fail(err, err_len, "ICU could not open a date format for \"%.32s\": %s", e->tag,
                        u_errorName(st));
            return NULL;
        }
    }
    return e->date[style];
}

static int date_symbol(const char *tag, UDateFormatSymbolType type, int32_t index, buf_t *out, char *err,
                       size_t err_len)
{
    intl_entry_t *e = entry_for(tag, err, err_len);
    UDateFormat *f = e ? date_format(e, INTL_DATE_LONG, err, err_len) : NULL;
    if (!f)
        return -1;
    UChar name[INTL_PIECE_MAX];
    UErrorCode st = U_ZERO_ERROR;
    int32_t n = udat_getSymbols(f, type, index, name, INTL_PIECE_MAX, &st);
    if (U_FAILURE(st) || n >= INTL_PIECE_MAX)
        return errmsg_fail(err, err_len, "ICU has no such name for \"%.32s\"", tag);
    return append_u16(out, name, n, err, err_len);
}

int intl_month_name(const char *tag, int month, bool abbrev, buf_t *out, char *err, size_t err_len)
{
    if (month < 1 || month > 12)
        return errmsg_fail(err, err_len, "month %d does not exist", month);
    return date_symbol(tag, abbrev ? UDAT_SHORT_MONTHS : UDAT_MONTHS, month - 1, out, err, err_len);
}

int intl_weekday_name(const char *tag, int weekday, bool abbrev, buf_t *out, char *err, size_t err_len)
{
    if (weekday < 0 || weekday > 6)
        return errmsg_fail(err, err_len, "weekday %d does not exist", weekday);
    /* ICU numbers weekdays from 1 = Sunday */
    return date_symbol(tag, abbrev ? UDAT_SHORT_WEEKDAYS : UDAT_WEEKDAYS, weekday + 1, out, err, err_len);
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (Howard Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int intl_date(const char *tag, intl_date_style_t style, int y, int m, int d, buf_t *out, char *err,
              size_t err_len)
{
    if (style < INTL_DATE_FULL || style > INTL_DATE_SHORT)
        return errmsg_fail(err, err_len, "unknown date style");
    intl_entry_t *e = entry_for(tag, err, err_len);
    UDateFormat *f = e ? date_format(e, style, err, err_len) : NULL;
    if (!f)
        return -1;
    UDate when = (UDate)days_from_civil(y, m, d) * 86400000.0;
    UChar text[INTL_PIECE_MAX];
    UErrorCode st = U_ZERO_ERROR;
    int32_t n = udat_format(f, when, text, INTL_PIECE_MAX, NULL, &st);
    if (U_FAILURE(st) || n >= INTL_PIECE_MAX)
        return errmsg_fail(err, err_len, "ICU could not format the date: %s", u_errorName(st));
    return append_u16(out, text, n, err, err_len);
}

/* ---- numbers in words ----------------------------------------------------------------- */

static int spell_i64(UNumberFormat *f, int64_t v, char *dst, size_t dst_len)
{
    UChar text[INTL_PIECE_MAX];
    UErrorCode st = U_ZERO_ERROR;
    int32_t n = unum_formatInt64(f, v, text, INTL_PIECE_MAX, NULL, &st);
    if (U_FAILURE(st) || n >= INTL_PIECE_MAX)
        return -1;
    int32_t len = 0;
    u_strToUTF8(dst, (int32_t)dst_len, &len, text, n, &st);
    return U_FAILURE(st) || len >= (int32_t)dst_len ? -1 : 0;
}

/* The words a spelled-out number puts around its digits, learnt from ICU's own output so that
 * no language is written here: "-1" minus "1" is the minus sign ("moins "), "1.1" without
 * "1" at both ends the decimal separator (" virgule "), and "0" the zero. */
static int spell_words(intl_entry_t *e)
{
    char one[INTL_WORD_MAX], neg[INTL_WORD_MAX * 2], dec[INTL_WORD_MAX * 3];
    if (spell_i64(e->spell, 1, one, sizeof one) != 0 || spell_i64(e->spell, -1, neg, sizeof neg) != 0 ||
        spell_i64(e->spell, 0, e->zero, sizeof e->zero) != 0)
        return -1;
    UChar text[INTL_PIECE_MAX];
    UErrorCode st = U_ZERO_ERROR;
    int32_t n = unum_formatDouble(e->spell, 1.1, text, INTL_PIECE_MAX, NULL, &st);
    int32_t len = 0;
    if (U_SUCCESS(st) && n < INTL_PIECE_MAX)
        u_strToUTF8(dec, (int32_t)sizeof dec, &len, text, n, &st);
    if (U_FAILURE(st) || len >= (int32_t)sizeof dec)
        return -1;
    size_t lo = strlen(one), ln = strlen(neg), ld = (size_t)len;
    if (ln <= lo || strcmp(neg + ln - lo, one) != 0 || ln - lo >= sizeof e->minus)
        return -1;
    memcpy(e->minus, neg, ln - lo);
    e->minus[ln - lo] = 0;
    if (ld <= 2 * lo || strncmp(dec, one, lo) != 0 || strcmp(dec + ld - lo, one) != 0 ||
        ld - 2 * lo >= sizeof e->sep)
        return -1;
    memcpy(e->sep, dec + lo, ld - 2 * lo);
    e->sep[ld - 2 * lo] = 0;
    return 0;
}

/* Spellout rules exist for fewer languages than dates do; a language without them would get
 * ICU's fallback language, so the rules' own locale must be of the language asked for. */
static bool spell_locale_matches(UNumberFormat *f, const char *id)
{
    UErrorCode st = U_ZERO_ERROR;
    const char *actual = unum_getLocaleByType(f, ULOC_ACTUAL_LOCALE, &st);
    if (U_FAILURE(st) || !actual || !*actual || strcmp(actual, "root") == 0)
        return false;
    size_t n = lang_len(id);
    if (lang_len(actual) == n && strncmp(actual, id, n) == 0)
        return true;
    /* Norwegian Bokmål and Nynorsk share the rules of "no" */
    return strcmp(actual, "no") == 0 && (strncmp(id, "nb", 2) == 0 || strncmp(id, "nn", 2) == 0);
}

static UNumberFormat *spell_format(intl_entry_t *e, char *err, size_t err_len)
{
    if (e->spell)
        return e->spell;
    char id[ULOC_FULLNAME_CAPACITY];
    if (tag_to_id(e->tag, id, sizeof id) != 0) {
        unknown_locale(e->tag, err, err_len);
        return NULL;
    }
    UErrorCode st = U_ZERO_ERROR;
    e->spell = unum_open(UNUM_SPELLOUT, NULL, 0, id, NULL, &st);
    if (U_FAILURE(st) || !spell_locale_matches(e->spell, id) || spell_words(e) != 0) {
        if (e->spell)
            unum_close(e->spell);
        e->spell = NULL;
        errmsg_fail(err, err_len, "ICU %s cannot spell out numbers in \"%.32s\"", U_ICU_VERSION, e->tag);
        return NULL;
    }
    return e->spell;
}

static int parse_digits(const char *s, size_t max, int64_t *v)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return -1;
    *v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        *v = *v * 10 + (s[i] - '0');
    }
    return 0;
}

int intl_spell(const char *tag, bool negative, const char *digits, const char *frac, buf_t *out, char *err,
               size_t err_len)
{
    int64_t whole, fraction = 0;
    if (parse_digits(digits, 18, &whole) != 0)
        return errmsg_fail(err, err_len, "number is too large to spell out (at most 18 digits)");
    size_t zeros = strspn(frac, "0"), nfrac = strlen(frac);
    if (nfrac && zeros < nfrac && parse_digits(frac + zeros, 18, &fraction) != 0)
        return errmsg_fail(err, err_len, "too many decimals to spell out");
    intl_entry_t *e = entry_for(tag, err, err_len);
    UNumberFormat *f = e ? spell_format(e, err, err_len) : NULL;
    if (!f)
        return -1;
    char w[INTL_PIECE_MAX * 3], fw[INTL_PIECE_MAX * 3] = "";
    if (spell_i64(f, whole, w, sizeof w) != 0 ||
        (nfrac && zeros < nfrac && spell_i64(f, fraction, fw, sizeof fw) != 0))
        return errmsg_fail(err, err_len, "ICU could not spell out the number");
    buf_t text; /* built apart so that out never holds half a number */
    buf_init(&text, out->max);
    int rc = buf_printf(&text, "%s%s", negative ? e->minus : "", w);
    if (nfrac && rc == 0) {
        rc = buf_append_str(&text, e->sep);
        for (size_t i = 0; i < zeros && rc == 0; i++) /* 0.05: "zero five" */
            rc = buf_printf(&text, "%s%s", i ? " " : "", e->zero);
        if (zeros < nfrac && rc == 0)
            rc = buf_printf(&text, "%s%s", zeros ? " " : "", fw);
    }
    if (rc == 0)
        rc = buf_append(out, buf_cstr(&text), text.len);
    buf_free(&text);
    return rc == 0 ? 0 : errmsg_fail(err, err_len, "formatted text is too long");
}
