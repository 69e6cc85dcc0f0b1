/*
 * format — value formatting and template filters; see format.h.
 *
 * ==== Reference (docs/templates.md may copy this block) =====================================
 *
 * Filters are written `{{ value | name }}` or `{{ value | name:ARG }}`. An argument with
 * several parts separates them with ':'; each part may be quoted ("..." or '...'), so
 * `currency:EUR:de-DE`, `currency:"EUR":"de-DE"` and `currency:"EUR:de-DE"` are the same.
 * A missing value or JSON null formats as "" in every filter except `default`.
 *
 *   currency:CODE[:LOCALE]   money. CODE is an ISO 4217 code (case-insensitive). Decimals and
 *                            symbol follow the currency: USD $ 2, EUR € 2, GBP £ 2, JPY ¥ 0,
 *                            KRW ₩ 0, INR ₹ 2, CHF "CHF" 2, SEK/NOK/DKK kr 2, PLN zł 2,
 *                            BRL R$ 2, KWD/BHD/OMR/JOD/TND 3 ... (table below). Any other
 *                            three-letter code prints the code itself with 2 decimals.
 *                            1234.5 | currency:USD → $1,234.50; currency:EUR:de-DE →
 *                            1.234,50 €; currency:CHF → CHF 1,234.50; -5 | currency:USD →
 *                            -$5.00. Letter symbols (CHF, kr, zł) are always separated from
 *                            the number by a no-break space. expr.c fills in CODE from
 *                            the data for currency:(path), checked by format_currency_iso4217.
 *   money:CODE[:LOCALE]      same as currency (the manifest spelling).
 *   number[:N[:LOCALE]]      grouped number with exactly N decimals (0–10); without N the
 *                            number's own decimals (at most 10, trailing zeros dropped).
 *                            1234.5 | number:2 → 1,234.50; 1234.5 | number → 1,234.5.
 *   percent[:N[:LOCALE]]     the value is a FRACTION: 0.2 → 20%, 0.125 | percent:1 → 12.5%.
 *                            N decimals (default 0).
 *   date[:PATTERN]           value: ISO-8601 date or date-time string (2026-06-04,
 *                            2026-06-04T09:30:00Z, 2026-06-04 09:30, with optional seconds,
 *                            fraction and zone). The time is shown as written — the zone
 *                            offset is not applied. Default pattern YYYY-MM-DD. Tokens:
 *                            YYYY 2026, YY 26, MMMM June, MMM Jun, MM 06, M 6, DD 04, D 4,
 *                            dddd Thursday, ddd Thu, HH 09 (24 h), H 9, hh 09 (12 h), h 9,
 *                            mm 30, ss 00, A AM/PM, a am/pm; text in [brackets] is literal
 *                            ("D MMMM YYYY [at] HH:mm"); any other character is copied.
 *                            MMMM/MMM/dddd/ddd are in the text's language (`lang`; English
 *                            without one) or in LOCALE when written date:"PATTERN":LOCALE
 *                            (2026-06-04 | date:"dddd D MMMM":fr → jeudi 4 juin).
 *   date:STYLE[:LOCALE]      the locale's own date pattern, STYLE full, long, medium or short
 *                            (ICU): long → en June 4, 2026; de-DE 4. Juni 2026; fr-FR 4 juin
 *                            2026; ja-JP 2026年6月4日. Locale: LOCALE, else the text's lang,
 *                            else en.
 *   words[:LOCALE[:N]]       the number in words (ICU spellout rules): the integer part, the
 *                            locale's decimal word, then the decimals (the number's own, or
 *                            exactly N) as a whole number: 49.95 | words:fr → quarante-neuf
 *                            virgule quatre-vingt-quinze; 1203 | words:en → one thousand two
 *                            hundred three; 49.5 | words:fr:2 → ... virgule cinquante. Leading
 *                            zeros of the decimals are spelled (0.05: zero point zero five).
 *                            At most 18 integer digits. Locale as for date:STYLE.
 *   upper, lower, title      case mapping (Unicode-aware). title upper-cases the first letter
 *                            of every word and lower-cases the rest ("o'neil SMITH" →
 *                            "O'neil Smith"; an apostrophe does not start a word).
 *   trim                     strips leading and trailing white space.
 *   truncate:N[:ELLIPSIS]    keeps the first N characters (not bytes) and appends ELLIPSIS
 *                            (default "…") if anything was cut.
 *   default:TEXT             TEXT when the value is missing, null or ""; otherwise the value
 *                            as plain text. Its argument is taken whole (":" allowed).
 *
 * LOCALE (numbers, percent, currency; default en-US; "de" means de-DE, "_" works for "-"):
 *   en-US en-GB en-CA en-AU en-IN ja-JP zh-CN   1,234.50   $1,234.50   20%
 *   de-DE  es-ES  it-IT  da-DK                  1.234,50   1.234,50 €  20 % (it-IT: 20%)
 *   nl-NL                                       1.234,50   € 1.234,50  20%
 *   pt-BR                                       1.234,50   R$ 1.234,50 20%
 *   de-CH                                       1’234.50   CHF 1’234.50 20%
 *   fr-FR                                       1 234,50   1 234,50 €  20 %  (narrow nbsp)
 *   sv-SE  nb-NO  pl-PL  pt-PT                  1 234,50   1 234,50 kr 20 %  (nbsp;
 *                                               nb-NO puts the symbol first; pl-PL/pt-PT 20%)
 *
 * Numbers are exact: a JSON number is first turned into its shortest decimal form (the
 * digits a person wrote: 1.005, 0.30000000000000004) and rounded there, half away from zero,
 * so 1.005 | number:2 → 1.01, 2.5 | number:0 → 3, -2.5 | number:0 → -3, and a result of
 * zero never shows a minus sign. Numeric strings ("12.50") are accepted too. At most 21
 * digits before the decimal point (|x| < 1e21); larger values are an error.
 *
 * Locales for dates and words are any BCP 47 tag whose language ICU (72 on Debian 12) has data
 * for — every locale of the table above and many more. A locale ICU does not know ("xx",
 * "tlh") is an error, never a silent fallback to English: written in the filter or the text's
 * literal lang, the layout is refused at that path; from the data, the render fails naming it.
 *
 * Manifest `format` specs are the same filters without the braces: "money:EUR",
 * "currency:USD:en-US", "number:2", "percent", "percent:1", "date:DD/MM/YYYY". Without a
 * spec, dataType currency formats as number:2; everything else as plain text.
 * Plain text: strings as-is, integers as digits, other numbers in JavaScript's shortest form
 * (0.1, 1e+21, 1e-7), booleans true/false, null "", arrays/objects as compact JSON.
 * ===========================================================================================
 */
#include "engine/format.h"

#include "core/errmsg.h"
#include "engine/decimal.h"
#include "engine/intl.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <glib.h>

#define FORMAT_ARG_MAX 256        /* bytes in one filter argument */
#define FORMAT_ARGS_MAX 4         /* ':'-separated parts in an argument */
#define FORMAT_DECIMALS_MAX 10    /* number:N / percent:N / natural decimals */
#define FORMAT_INT_DIGITS_MAX 21  /* digits before the decimal point */
#define FORMAT_SIG_DIGITS_MAX 80  /* significant digits read from a numeric string */
#define FORMAT_NUMTEXT_MAX 400    /* bytes of a numeric string */
#define FORMAT_TEXT_MAX (1 << 20) /* text handled by upper/lower/title/trim/truncate */
#define FORMAT_TRUNCATE_MAX 100000

#define NBSP "\xC2\xA0"      /* U+00A0 no-break space */
#define NNBSP "\xE2\x80\xAF" /* U+202F narrow no-break space */

/* ---- locales and currencies ---------------------------------------------------------- */

typedef struct {
    const char *tag;
    const char *group;
    const char *decimal;
    const char *pct_sep; /* between number and % */
    bool cur_before;     /* symbol before the number */
    bool cur_space;      /* symbol and number separated by a no-break space */
} fmt_locale_t;

static const fmt_locale_t locales[] = {
    {"en-US", ",", ".", "", true, false},      {"en-GB", ",", ".", "", true, false},
    {"en-CA", ",", ".", "", true, false},      {"en-AU", ",", ".", "", true, false},
    {"en-IN", ",", ".", "", true, false},      {"ja-JP", ",", ".", "", true, false},
    {"zh-CN", ",", ".", "", true, false},      {"de-DE", ".", ",", NBSP, false, true},
    {"es-ES", ".", ",", NBSP, false, true},    {"it-IT", ".", ",", "", false, true},
    {"da-DK", ".", ",", NBSP, false, true},    {"nl-NL", ".", ",", "", true, true},
    {"pt-BR", ".", ",", "", true, true},       {"de-CH", "\xE2\x80\x99", ".", "", true, true},
    {"fr-FR", NNBSP, ",", NNBSP, false, true}, {"sv-SE", NBSP, ",", NBSP, false, true},
    {"nb-NO", NBSP, ",", NBSP, true, true},    {"pl-PL", NBSP, ",", "", false, true},
    {"pt-PT", NBSP, ",", "", false, true},
};

static const fmt_locale_t *locale_find(const char *tag)
{
    if (!tag || !*tag)
        return &locales[0];
    char norm[16];
    size_t n = strlen(tag);
    if (n >= sizeof norm)
        return NULL;
    for (size_t i = 0; i <= n; i++)
        norm[i] = tag[i] == '_' ? '-' : tag[i];
    for (size_t i = 0; i < sizeof locales / sizeof locales[0]; i++) {
        if (strcasecmp(locales[i].tag, norm) == 0)
            return &locales[i];
    }
    if (n == 2) { /* language only: the first locale of that language */
        for (size_t i = 0; i < sizeof locales / sizeof locales[0]; i++)
            if (strncasecmp(locales[i].tag, norm, 2) == 0)
                return &locales[i];
    }
    return NULL;
}

typedef struct {
    char code[4];
    const char *symbol;
    int decimals;
} currency_t;

/* Symbols as an English-language invoice would print them; ambiguous dollar/yen signs carry
 * a prefix (CA$, A$, CN¥) except for the home currency. Decimals are the ISO 4217 minor
 * units. */
static const currency_t currencies[] = {
    {"USD", "$", 2},
    {"EUR", "\xE2\x82\xAC", 2},
    {"GBP", "\xC2\xA3", 2},
    {"JPY", "\xC2\xA5", 0},
    {"CHF", "CHF", 2},
    {"CAD", "CA$", 2},
    {"AUD", "A$", 2},
    {"NZD", "NZ$", 2},
    {"CNY", "CN\xC2\xA5", 2},
    {"HKD", "HK$", 2},
    {"SGD", "S$", 2},
    {"TWD", "NT$", 2},
    {"INR", "\xE2\x82\xB9", 2},
    {"KRW", "\xE2\x82\xA9", 0},
    {"VND", "\xE2\x82\xAB", 0},
    {"SEK", "kr", 2},
    {"NOK", "kr", 2},
    {"DKK", "kr", 2},
    {"ISK", "kr", 0},
    {"PLN", "z\xC5\x82", 2},
    {"CZK", "K\xC4\x8D", 2},
    {"HUF", "Ft", 2},
    {"RON", "lei", 2},
    {"BGN", "BGN", 2},
    {"TRY", "\xE2\x82\xBA", 2},
    {"RUB", "\xE2\x82\xBD", 2},
    {"UAH", "\xE2\x82\xB4", 2},
    {"ILS", "\xE2\x82\xAA", 2},
    {"ZAR", "R", 2},
    {"BRL", "R$", 2},
    {"MXN", "MX$", 2},
    {"ARS", "ARS", 2},
    {"CLP", "CLP", 0},
    {"COP", "COP", 2},
    {"PEN", "PEN", 2},
    {"THB", "\xE0\xB8\xBF", 2},
    {"PHP", "\xE2\x82\xB1", 2},
    {"IDR", "Rp", 2},
    {"MYR", "RM", 2},
    {"AED", "AED", 2},
    {"SAR", "SAR", 2},
    {"QAR", "QAR", 2},
    {"KWD", "KWD", 3},
    {"BHD", "BHD", 3},
    {"OMR", "OMR", 3},
    {"JOD", "JOD", 3},
    {"TND", "TND", 3},
    {"IQD", "IQD", 3},
    {"LYD", "LYD", 3},
    {"EGP", "E\xC2\xA3", 2},
    {"NGN", "\xE2\x82\xA6", 2},
    {"KES", "KSh", 2},
    {"XAF", "FCFA", 0},
    {"XOF",
     "F\xE2\x80\xAF"
     "CFA",
     0},
    {"PYG", "PYG", 0},
    {"UGX", "UGX", 0},
    {"BTC", "BTC", 8},
};

/* Fills *cur for a three-letter code; unknown codes print themselves with 2 decimals. */
static int currency_find(const char *code, currency_t *cur)
{
    if (!code || strlen(code) != 3)
        return -1;
    char up[4];
    for (int i = 0; i < 3; i++) {
        if (!isalpha((unsigned char)code[i]))
            return -1;
        up[i] = (char)toupper((unsigned char)code[i]);
    }
    up[3] = 0;
    for (size_t i = 0; i < sizeof currencies / sizeof currencies[0]; i++) {
        if (strcmp(currencies[i].code, up) == 0) {
            *cur = currencies[i];
            return 0;
        }
    }
    memcpy(cur->code, up, 4);
    cur->symbol = NULL; /* print the code */
    cur->decimals = 2;
    return 0;
}

/* ISO 4217 alphabetic codes, sorted (currencies, funds, precious metals, testing and
 * "no currency" codes included: they are valid ISO 4217 codes). */
static const char iso4217_codes[][4] = {
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN",
    "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF",
    "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUC", "CUP", "CVE", "CZK", "DJF",
    "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD",
    "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD",
    "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK",
    "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK",
    "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK",
    "SGD", "SHP", "SLE", "SLL", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT",
    "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS",
    "VED", "VES", "VND", "VUV", "WST", "XAF", "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XCD", "XCG",
    "XDR", "XOF", "XPD", "XPF", "XPT", "XSU", "XTS", "XUA", "XXX", "YER", "ZAR", "ZMW", "ZWG", "ZWL",
};

static int code_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

bool format_currency_iso4217(const char *code)
{
    if (!code || strlen(code) != 3)
        return false;
    char up[4];
    for (int i = 0; i < 3; i++) {
        if (!isalpha((unsigned char)code[i]))
            return false;
        up[i] = (char)toupper((unsigned char)code[i]);
    }
    up[3] = 0;
    return bsearch(up, iso4217_codes, sizeof iso4217_codes / sizeof iso4217_codes[0], sizeof iso4217_codes[0],
                   code_cmp) != NULL;
}

/* ---- exact decimal numbers ----------------------------------------------------------- */

/* value = (neg ? -1 : 1) × 0.d[0]d[1]…d[nd-1] × 10^point; no leading/trailing zero digits;
 * nd == 0 means zero. */
typedef struct {
    bool neg;
    int nd;
    int point;
    char d[FORMAT_SIG_DIGITS_MAX];
} dec_t;

/* Parses [+-]digits[.digits][(e|E)[+-]digits] (leading/trailing ASCII blanks allowed). */
static int dec_from_text(const char *s, size_t len, dec_t *x)
{
    memset(x, 0, sizeof *x);
    while (len && isspace((unsigned char)*s))
        s++, len--;
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    if (len == 0 || len > FORMAT_NUMTEXT_MAX)
        return -1;
    size_t i = 0;
    if (s[i] == '-' || s[i] == '+')
        x->neg = s[i++] == '-';
    int digits = 0;
    bool in_frac = false;
    for (; i < len; i++) {
        char c = s[i];
        if (c == '.' && !in_frac) {
            in_frac = true;
            continue;
        }
        if (!isdigit((unsigned char)c))
            break;
        digits++;
        if (x->nd == 0 && c == '0') { /* leading zero */
            if (in_frac)
                x->point--;
            continue;
        }
        if (x->nd >= FORMAT_SIG_DIGITS_MAX)
            return -1;
        x->d[x->nd++] = c;
        if (!in_frac)
            x->point++;
    }
    if (digits == 0)
        return -1;
    long e;
    if (decimal_scan_exponent(s, len, &i, &e) != 0 || i != len)
        return -1;
    x->point += (int)e;
    while (x->nd > 0 && x->d[x->nd - 1] == '0')
        x->nd--;
    if (x->nd == 0)
        x->point = 0;
    return 0;
}

/* The shortest decimal that reads back as the same double (what a person wrote). */
static int dec_from_double(double v, dec_t *x)
{
    char tmp[32];
    if (decimal_shortest_double(v, tmp) < 0)
        return -1;
    return dec_from_text(tmp, strlen(tmp), x);
}

static int dec_from_json(const json_t *v, dec_t *x)
{
    if (json_is_integer(v)) {
        char tmp[32];
        snprintf(tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return dec_from_text(tmp, strlen(tmp), x);
    }
    if (json_is_real(v))
        return dec_from_double(json_real_value(v), x);
    if (json_is_string(v))
        return dec_from_text(json_string_value(v), json_string_length(v), x);
    return -1;
}

/* Rounds |x| half away from zero to `decimals` places; writes the digits of |x|×10^decimals
 * (at least decimals+1 of them, so there is always an integer digit) into mag.
 * Returns -1 when the integer part has more than FORMAT_INT_DIGITS_MAX digits. */
#define MAG_MAX (FORMAT_INT_DIGITS_MAX + FORMAT_DECIMALS_MAX + 4)
static int dec_round(const dec_t *x, int decimals, char mag[MAG_MAX])
{
    if ((x->nd > 0 && x->point > FORMAT_INT_DIGITS_MAX) || decimals < 0 || decimals > FORMAT_DECIMALS_MAX)
        return -1;
    int keep = x->nd > 0 ? x->point + decimals : 0; /* digits of d that survive */
    if (keep > MAG_MAX - 3) /* cannot happen given the checks above; room for a carry and the NUL */
        return -1;
    int len = 0;
    for (int i = 0; i < keep; i++)
        mag[len++] = i < x->nd ? x->d[i] : '0';
    if (keep >= 0 && keep < x->nd && x->d[keep] >= '5') { /* round up, carrying */
        int i = len - 1;
        while (i >= 0 && mag[i] == '9')
            mag[i--] = '0';
        if (i >= 0) {
            mag[i]++;
        } else {
            memmove(mag + 1, mag, (size_t)len);
            mag[0] = '1';
            len++;
        }
    }
    /* pad with leading zeros so that there are decimals+1 digits at least */
    int want = decimals + 1;
    if (len < want) {
        memmove(mag + (want - len), mag, (size_t)len);
        memset(mag, '0', (size_t)(want - len));
        len = want;
    }
    mag[len] = 0;
    if (len - decimals > FORMAT_INT_DIGITS_MAX)
        return -1;
    return 0;
}

static bool mag_is_zero(const char *mag)
{
    for (; *mag; mag++)
        if (*mag != '0')
            return false;
    return true;
}

/* Appends the grouped digits of mag with `decimals` of them after the decimal separator;
 * with trim, trailing fractional zeros (and a bare separator) are dropped. */
static int emit_digits(buf_t *out, const char *mag, int decimals, bool trim, const fmt_locale_t *loc)
{
    int len = (int)strlen(mag);
    int int_len = len - decimals;
    int rc = 0;
    for (int i = 0; i < int_len && rc == 0; i++) {
        if (i > 0 && (int_len - i) % 3 == 0)
            rc = buf_append_str(out, loc->group);
        if (rc == 0)
            rc = buf_append_char(out, mag[i]);
    }
    int frac_len = decimals;
    if (trim)
        while (frac_len > 0 && mag[int_len + frac_len - 1] == '0')
            frac_len--;
    if (frac_len > 0 && rc == 0) {
        rc = buf_append_str(out, loc->decimal);
        if (rc == 0)
            rc = buf_append(out, mag + int_len, (size_t)frac_len);
    }
    return rc;
}

/* ---- dates --------------------------------------------------------------------------- */

typedef struct {
    int year, month, day, hour, minute, second;
} date_t;

static const char *const month_names[12] = {"January",   "February", "March",    "April",
                                            "May",       "June",     "July",     "August",
                                            "September", "October",  "November", "December"};
static const char *const day_names[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                         "Thursday", "Friday", "Saturday"};

static bool leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap_year(y) ? 29 : dim[m - 1];
}

/* 0 = Sunday (Sakamoto's method, proleptic Gregorian; year >= 1). */
static int weekday(int y, int m, int d)
{
    static const int t[12] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
    if (m < 3)
        y--;
    return (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
}

/* Reads exactly n digits. */
static bool read_digits(const char **p, const char *end, int n, int *val)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (*p >= end || !isdigit((unsigned char)**p))
            return false;
        v = v * 10 + (*(*p)++ - '0');
    }
    *val = v;
    return true;
}

static bool accept(const char **p, const char *end, char c)
{
    if (*p < end && **p == c) {
        (*p)++;
        return true;
    }
    return false;
}

/* YYYY-MM-DD[(T|t| )HH:MM[:SS[.fff…]][Z|z|±HH[:MM]|±HHMM]] */
static bool parse_iso_date(const char *s, size_t len, date_t *dt)
{
    const char *p = s, *end = s + len;
    memset(dt, 0, sizeof *dt);
    if (!read_digits(&p, end, 4, &dt->year) || !accept(&p, end, '-') ||
        !read_digits(&p, end, 2, &dt->month) || !accept(&p, end, '-') || !read_digits(&p, end, 2, &dt->day))
        return false;
    if (dt->year < 1 || dt->month < 1 || dt->month > 12 || dt->day < 1 ||
        dt->day > days_in_month(dt->year, dt->month))
        return false;
    if (p == end)
        return true;
    if (!accept(&p, end, 'T') && !accept(&p, end, 't') && !accept(&p, end, ' '))
        return false;
    if (!read_digits(&p, end, 2, &dt->hour) || !accept(&p, end, ':') || !read_digits(&p, end, 2, &dt->minute))
        return false;
    if (accept(&p, end, ':')) {
        if (!read_digits(&p, end, 2, &dt->second))
            return false;
        if (accept(&p, end, '.') || accept(&p, end, ',')) {
            int digits = 0;
            while (p < end && isdigit((unsigned char)*p))
                p++, digits++;
            if (digits == 0 || digits > 9)
                return false;
        }
    }
    if (dt->hour > 23 || dt->minute > 59 || dt->second > 59)
        return false;
    if (accept(&p, end, 'Z') || accept(&p, end, 'z'))
        return p == end;
    if (p < end && (*p == '+' || *p == '-')) {
        p++;
        int oh, om = 0;
        if (!read_digits(&p, end, 2, &oh))
            return false;
        if (accept(&p, end, ':')) {
            if (!read_digits(&p, end, 2, &om))
                return false;
        } else if (p < end && !read_digits(&p, end, 2, &om)) {
            return false;
        }
        if (oh > 23 || om > 59)
            return false;
    }
    return p == end;
}

/* Checks a date pattern: only an unclosed [literal] is an error. */
static int date_pattern_check(const char *pat, char *err, size_t err_len)
{
    for (const char *p = pat; *p; p++) {
        if (*p == '[') {
            const char *close = strchr(p, ']');
            if (!close)
                return errmsg_fail(err, err_len, "date: unclosed [ in pattern");
            p = close;
        }
    }
    return 0;
}

/* Length of the run of character c at p, at most max. */
static int run_of(const char *p, char c, int max)
{
    int n = 0;
    while (n < max && p[n] == c)
        n++;
    return n;
}

/* A month or weekday name: ICU's for a locale, the English table without one. */
static int emit_name(buf_t *out, const char *icu, bool month, int index, bool abbrev, char *err,
                     size_t err_len)
{
    if (icu)
        return month ? intl_month_name(icu, index + 1, abbrev, out, err, err_len)
                     : intl_weekday_name(icu, index, abbrev, out, err, err_len);
    const char *name = month ? month_names[index] : day_names[index];
    return abbrev ? buf_append(out, name, 3) : buf_append_str(out, name);
}

/* Names come from ICU in locale icu, or English when icu is NULL. */
static int emit_date(buf_t *out, const char *pat, const date_t *dt, const char *icu, char *err,
                     size_t err_len)
{
    int rc = 0;
    int h12 = dt->hour % 12 == 0 ? 12 : dt->hour % 12;
    for (const char *p = pat; *p && rc == 0;) {
        int n;
        if (*p == '[') {
            const char *close = strchr(p, ']');
            rc = buf_append(out, p + 1, (size_t)(close - p - 1));
            p = close + 1;
        } else if ((n = run_of(p, 'Y', 4)) == 4 || n == 2) {
            rc = n == 4 ? buf_printf(out, "%04d", dt->year) : buf_printf(out, "%02d", dt->year % 100);
            p += n;
        } else if ((n = run_of(p, 'M', 4)) > 0) {
            if (n >= 3)
                rc = emit_name(out, icu, true, dt->month - 1, n == 3, err, err_len);
            else
                rc = buf_printf(out, n == 2 ? "%02d" : "%d", dt->month);
            p += n;
        } else if ((n = run_of(p, 'd', 4)) >= 3) {
            rc = emit_name(out, icu, false, weekday(dt->year, dt->month, dt->day), n == 3, err, err_len);
            p += n;
        } else if ((n = run_of(p, 'D', 2)) > 0) {
            rc = buf_printf(out, n == 2 ? "%02d" : "%d", dt->day);
            p += n;
        } else if ((n = run_of(p, 'H', 2)) > 0) {
            rc = buf_printf(out, n == 2 ? "%02d" : "%d", dt->hour);
            p += n;
        } else if ((n = run_of(p, 'h', 2)) > 0) {
            rc = buf_printf(out, n == 2 ? "%02d" : "%d", h12);
            p += n;
        } else if (run_of(p, 'm', 2) == 2) {
            rc = buf_printf(out, "%02d", dt->minute);
            p += 2;
        } else if (run_of(p, 's', 2) == 2) {
            rc = buf_printf(out, "%02d", dt->second);
            p += 2;
        } else if (*p == 'A' || *p == 'a') {
            const char *ampm = dt->hour < 12 ? (*p == 'A' ? "AM" : "am") : (*p == 'A' ? "PM" : "pm");
            rc = buf_append_str(out, ampm);
            p++;
        } else {
            rc = buf_append_char(out, *p++);
        }
    }
    return rc;
}

/* ---- filter parsing ------------------------------------------------------------------ */

typedef enum {
    F_CURRENCY,
    F_NUMBER,
    F_PERCENT,
    F_DATE,
    F_UPPER,
    F_LOWER,
    F_TITLE,
    F_TRIM,
    F_TRUNCATE,
    F_DEFAULT,
    F_WORDS
} filter_kind_t;

typedef enum { ARGS_NONE, ARGS_SPLIT, ARGS_WHOLE } args_style_t;

static const struct {
    const char *name;
    filter_kind_t kind;
    args_style_t args;
} filters[] = {
    {"currency", F_CURRENCY, ARGS_SPLIT}, {"money", F_CURRENCY, ARGS_SPLIT},
    {"number", F_NUMBER, ARGS_SPLIT},     {"percent", F_PERCENT, ARGS_SPLIT},
    {"date", F_DATE, ARGS_WHOLE},         {"upper", F_UPPER, ARGS_NONE},
    {"lower", F_LOWER, ARGS_NONE},        {"title", F_TITLE, ARGS_NONE},
    {"trim", F_TRIM, ARGS_NONE},          {"truncate", F_TRUNCATE, ARGS_SPLIT},
    {"default", F_DEFAULT, ARGS_WHOLE},   {"words", F_WORDS, ARGS_SPLIT},
};

/* date:STYLE — the locale's own patterns (ICU's full/long/medium/short date formats). */
static const char *const date_styles[] = {"full", "long", "medium", "short"};

typedef struct {
    const char *name;
    filter_kind_t kind;
    int decimals; /* -1: natural */
    const fmt_locale_t *loc;
    currency_t cur;
    long count;       /* truncate */
    int date_style;   /* date: an intl_date_style_t, or -1 for a pattern (args[0]) */
    const char *icu;  /* date names/styles, words: the ICU locale, NULL = English tables */
    bool icu_is_lang; /* ... which is the text's language (not the filter's argument) */
    int nargs;
    char args[FORMAT_ARGS_MAX][FORMAT_ARG_MAX + 1];
} filter_t;

/* Removes one pair of matching outer quotes. */
static void unquote(char *s)
{
    size_t n = strlen(s);
    if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
        memmove(s, s + 1, n - 2);
        s[n - 2] = 0;
    }
}

/* Splits "a:'b:c':d" into parts, honouring quotes (a backslash escapes the next character
 * inside quotes). */
static int split_args(const char *arg, filter_t *f, char *err, size_t err_len)
{
    const char *p = arg;
    for (;;) {
        if (f->nargs == FORMAT_ARGS_MAX)
            return errmsg_fail(err, err_len, "%s: too many arguments", f->name);
        char *dst = f->args[f->nargs++];
        size_t n = 0;
        char quote = 0;
        if (*p == '"' || *p == '\'')
            quote = *p++;
        while (*p && (quote ? *p != quote : *p != ':')) {
            if (quote && *p == '\\' && p[1])
                p++;
            if (n == FORMAT_ARG_MAX)
                return errmsg_fail(err, err_len, "%s: argument is too long", f->name);
            dst[n++] = *p++;
        }
        dst[n] = 0;
        if (quote) {
            if (*p != quote)
                return errmsg_fail(err, err_len, "%s: unclosed quote in argument", f->name);
            p++;
        }
        if (*p == 0)
            return 0;
        if (*p != ':')
            return errmsg_fail(err, err_len, "%s: unexpected text after a quoted argument", f->name);
        p++;
    }
}

static int parse_int_arg(const char *s, long min, long max, long *out)
{
    if (!*s)
        return -1;
    long v = 0;
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p) || v > max)
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Interprets `decimals[:locale]` (both optional) for number and percent. */
static int parse_decimals_locale(filter_t *f, int first, char *err, size_t err_len)
{
    if (f->nargs > first && f->args[first][0]) {
        long d;
        if (parse_int_arg(f->args[first], 0, FORMAT_DECIMALS_MAX, &d) != 0)
            return errmsg_fail(err, err_len, "%s: decimals must be a whole number from 0 to %d", f->name,
                               FORMAT_DECIMALS_MAX);
        f->decimals = (int)d;
    }
    if (f->nargs > first + 1) {
        f->loc = locale_find(f->args[first + 1]);
        if (!f->loc)
            return errmsg_fail(err, err_len, "%s: unknown locale \"%.32s\"", f->name, f->args[first + 1]);
    }
    if (f->nargs > first + 2)
        return errmsg_fail(err, err_len, "%s: too many arguments", f->name);
    return 0;
}

/* True when a date pattern prints a month or weekday name (MMM, MMMM, ddd, dddd). */
static bool date_pattern_has_names(const char *pat)
{
    for (const char *p = pat; *p; p++) {
        if (*p == '[') {
            p = strchr(p, ']');
            if (!p)
                return false;
        } else if ((p[0] == 'M' || p[0] == 'd') && p[1] == p[0] && p[2] == p[0]) {
            return true;
        }
    }
    return false;
}

/* date's argument: PATTERN, "PATTERN":LOCALE, or STYLE[:LOCALE] (full long medium short).
 * Fills args[0] (the pattern) or date_style, and args[1] with the locale ("" when none). */
static int date_arg_parse(const char *arg, filter_t *f, char *err, size_t err_len)
{
    char whole[FORMAT_ARG_MAX + 1];
    size_t n = strlen(arg);
    if (n > FORMAT_ARG_MAX)
        return errmsg_fail(err, err_len, "%s: argument is too long", f->name);
    strcpy(whole, arg);
    if (n >= 2 && (whole[0] == '"' || whole[0] == '\'') && !memchr(whole + 1, whole[0], n - 2))
        unquote(whole); /* "long:de" is long:de */
    f->nargs = 2;
    f->args[1][0] = 0;
    size_t head = strcspn(whole, ":");
    for (int i = 0; i < 4; i++) {
        if (strlen(date_styles[i]) == head && strncmp(whole, date_styles[i], head) == 0) {
            f->date_style = i;
            snprintf(f->args[1], sizeof f->args[1], "%s", whole[head] ? whole + head + 1 : "");
            unquote(f->args[1]);
            return 0;
        }
    }
    const char *close = (whole[0] == '"' || whole[0] == '\'') ? strchr(whole + 1, whole[0]) : NULL;
    if (close && close[1] == ':') { /* "D MMMM YYYY":fr-FR */
        snprintf(f->args[0], sizeof f->args[0], "%.*s", (int)(close - whole - 1), whole + 1);
        snprintf(f->args[1], sizeof f->args[1], "%s", close + 2);
        unquote(f->args[1]);
        if (!f->args[1][0])
            return errmsg_fail(err, err_len, "%s: a locale is missing after the pattern's ':'", f->name);
    } else {
        strcpy(f->args[0], whole);
    }
    if (!f->args[0][0])
        strcpy(f->args[0], "YYYY-MM-DD");
    return date_pattern_check(f->args[0], err, err_len);
}

/* The ICU locale of a date (names, style) or words filter: its own argument, else the text's
 * language, else `fallback` (NULL: the English tables). */
static void choose_icu(filter_t *f, const char *explicit, const char *lang, const char *fallback)
{
    if (explicit && *explicit) {
        f->icu = explicit;
    } else if (lang && *lang) {
        f->icu = lang;
        f->icu_is_lang = true;
    } else {
        f->icu = fallback;
    }
}

static int filter_parse(const char *name, const char *arg, const char *lang, filter_t *f, char *err,
                        size_t err_len)
{
    memset(f, 0, sizeof *f);
    size_t i, n = sizeof filters / sizeof filters[0];
    for (i = 0; i < n; i++)
        if (name && strcmp(filters[i].name, name) == 0)
            break;
    if (i == n)
        return errmsg_fail(err, err_len, "unknown filter \"%.40s\"", name ? name : "");
    f->name = filters[i].name;
    f->kind = filters[i].kind;
    f->decimals = -1;
    f->date_style = -1;
    f->loc = &locales[0];
    if (arg && !g_utf8_validate(arg, -1, NULL))
        return errmsg_fail(err, err_len, "%s: argument is not valid UTF-8", f->name);
    if (arg && filters[i].args == ARGS_NONE)
        return errmsg_fail(err, err_len, "%s: takes no argument", f->name);
    if (f->kind == F_DATE) {
        if (date_arg_parse(arg ? arg : "", f, err, err_len) != 0)
            return -1;
        if (f->date_style >= 0)
            choose_icu(f, f->args[1], lang, "en");
        else if (date_pattern_has_names(f->args[0]))
            choose_icu(f, f->args[1], lang, NULL);
        else if (f->args[1][0])
            f->icu = f->args[1]; /* still checked, so that a typo is reported */
        return 0;
    }
    if (arg && filters[i].args == ARGS_WHOLE) {
        if (strlen(arg) > FORMAT_ARG_MAX)
            return errmsg_fail(err, err_len, "%s: argument is too long", f->name);
        strcpy(f->args[0], arg);
        unquote(f->args[0]);
        f->nargs = 1;
    }
    if (arg && filters[i].args == ARGS_SPLIT) {
        /* `"EUR:de-DE"` (one quoted string) means the same as EUR:de-DE */
        char whole[FORMAT_ARG_MAX + 1];
        size_t n = strlen(arg);
        if (n >= 2 && n <= FORMAT_ARG_MAX && (arg[0] == '"' || arg[0] == '\'') && arg[n - 1] == arg[0] &&
            !memchr(arg + 1, arg[0], n - 2) && !strchr(arg, '\\')) {
            memcpy(whole, arg + 1, n - 2);
            whole[n - 2] = 0;
            arg = whole;
        }
        if (split_args(arg, f, err, err_len) != 0)
            return -1;
    }

    switch (f->kind) {
    case F_CURRENCY:
        if (f->nargs < 1 || !f->args[0][0])
            return errmsg_fail(err, err_len, "%s: needs a currency code, e.g. %s:EUR", f->name, f->name);
        if (currency_find(f->args[0], &f->cur) != 0)
            return errmsg_fail(err, err_len, "%s: \"%.32s\" is not a three-letter currency code", f->name,
                               f->args[0]);
        f->decimals = f->cur.decimals;
        if (f->nargs > 1 && !(f->loc = locale_find(f->args[1])))
            return errmsg_fail(err, err_len, "%s: unknown locale \"%.32s\"", f->name, f->args[1]);
        if (f->nargs > 2)
            return errmsg_fail(err, err_len, "%s: too many arguments", f->name);
        return 0;
    case F_NUMBER: return parse_decimals_locale(f, 0, err, err_len);
    case F_PERCENT: f->decimals = 0; return parse_decimals_locale(f, 0, err, err_len);
    case F_WORDS:
        if (f->nargs > 1 && f->args[1][0]) {
            long d;
            if (parse_int_arg(f->args[1], 0, FORMAT_DECIMALS_MAX, &d) != 0)
                return errmsg_fail(err, err_len, "%s: decimals must be a whole number from 0 to %d", f->name,
                                   FORMAT_DECIMALS_MAX);
            f->decimals = (int)d;
        }
        if (f->nargs > 2)
            return errmsg_fail(err, err_len, "%s: too many arguments", f->name);
        choose_icu(f, f->nargs > 0 ? f->args[0] : NULL, lang, "en");
        return 0;
    case F_TRUNCATE:
        if (f->nargs < 1 || parse_int_arg(f->args[0], 0, FORMAT_TRUNCATE_MAX, &f->count) != 0)
            return errmsg_fail(err, err_len, "%s: needs a length from 0 to %d, e.g. truncate:40", f->name,
                               FORMAT_TRUNCATE_MAX);
        if (f->nargs < 2) {
            strcpy(f->args[1], "\xE2\x80\xA6"); /* … */
            f->nargs = 2;
        }
        if (f->nargs > 2)
            return errmsg_fail(err, err_len, "%s: too many arguments", f->name);
        return 0;
    default: return 0;
    }
}

/* ---- applying filters ---------------------------------------------------------------- */

static bool value_missing(const json_t *v)
{
    return v == NULL || json_is_null(v);
}

/* Drops what a failed filter appended, so the caller never sees half a value. */
static void rewind_to(buf_t *out, size_t mark)
{
    out->len = mark;
    if (out->data)
        out->data[mark] = 0;
}

static int out_of_room(const filter_t *f, char *err, size_t err_len)
{
    return errmsg_fail(err, err_len, "%s: formatted text is too long", f->name);
}

static int apply_numeric(const filter_t *f, const json_t *value, buf_t *out, char *err, size_t err_len)
{
    dec_t x;
    if (dec_from_json(value, &x) != 0)
        return errmsg_fail(err, err_len, "%s: expects a number", f->name);
    if (f->kind == F_PERCENT && x.nd > 0)
        x.point += 2;
    int decimals = f->decimals;
    bool trim = false;
    if (decimals < 0) { /* natural: the number's own decimals, capped */
        decimals = x.nd - x.point;
        decimals = decimals < 0 ? 0 : decimals > FORMAT_DECIMALS_MAX ? FORMAT_DECIMALS_MAX : decimals;
        trim = true;
    }
    char mag[MAG_MAX];
    if (dec_round(&x, decimals, mag) != 0)
        return errmsg_fail(err, err_len, "%s: number is too large to format", f->name);
    bool neg = x.neg && !mag_is_zero(mag);
    const fmt_locale_t *loc = f->loc;
    size_t mark = out->len;
    int rc = 0;

    if (f->kind == F_CURRENCY) {
        const char *sym = f->cur.symbol ? f->cur.symbol : f->cur.code;
        gunichar last = g_utf8_get_char(g_utf8_find_prev_char(sym, sym + strlen(sym)));
        bool spaced = loc->cur_space || g_unichar_isalpha(last);
        if (loc->cur_before && !spaced) {
            rc = buf_printf(out, "%s%s", neg ? "-" : "", sym);
        } else if (loc->cur_before) {
            rc = buf_printf(out, "%s" NBSP "%s", sym, neg ? "-" : "");
        } else if (neg) {
            rc = buf_append_char(out, '-');
        }
        if (rc == 0)
            rc = emit_digits(out, mag, decimals, trim, loc);
        if (rc == 0 && !loc->cur_before)
            rc = buf_printf(out, NBSP "%s", sym);
    } else {
        if (neg)
            rc = buf_append_char(out, '-');
        if (rc == 0)
            rc = emit_digits(out, mag, decimals, trim, loc);
        if (rc == 0 && f->kind == F_PERCENT)
            rc = buf_printf(out, "%s%%", loc->pct_sep);
    }
    if (rc != 0) {
        rewind_to(out, mark);
        return out_of_room(f, err, err_len);
    }
    return 0;
}

/* A short, printable excerpt of a client string for error messages. */
static void excerpt(const char *s, size_t len, char *dst, size_t dst_len)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 4 < dst_len && n < 32; i++)
        dst[n++] = (s[i] >= 0x20 && s[i] < 0x7F) ? s[i] : '?';
    if (len > 32 && n + 4 < dst_len) {
        memcpy(dst + n, "...", 3);
        n += 3;
    }
    dst[n] = 0;
}

/* A failure of the locale data: says whose language it was. */
static int locale_fail(const filter_t *f, const char *why, char *err, size_t err_len)
{
    if (f->icu_is_lang)
        return errmsg_fail(err, err_len, "%s: %s (the text's lang)", f->name, why);
    return errmsg_fail(err, err_len, "%s: %s", f->name, why);
}

static int apply_date(const filter_t *f, const json_t *value, buf_t *out, char *err, size_t err_len)
{
    date_t dt;
    if (!json_is_string(value))
        return errmsg_fail(err, err_len, "%s: expects an ISO-8601 date such as 2026-06-04", f->name);
    const char *s = json_string_value(value);
    size_t len = json_string_length(value);
    if (!parse_iso_date(s, len, &dt)) {
        char ex[48];
        excerpt(s, len, ex, sizeof ex);
        return errmsg_fail(err, err_len, "%s: \"%s\" is not a valid ISO-8601 date", f->name, ex);
    }
    size_t mark = out->len;
    char ierr[ERRMSG_LEN] = "";
    int rc = f->date_style >= 0 ? intl_date(f->icu, (intl_date_style_t)f->date_style, dt.year, dt.month,
                                            dt.day, out, ierr, sizeof ierr)
                                : emit_date(out, f->args[0], &dt, f->icu, ierr, sizeof ierr);
    if (rc != 0) {
        rewind_to(out, mark);
        return ierr[0] ? locale_fail(f, ierr, err, err_len) : out_of_room(f, err, err_len);
    }
    return 0;
}

/* A number in words: the integer part, then the decimals (the number's own, or exactly N)
 * spelled as a whole number after the locale's decimal word ("virgule", "point"). */
static int apply_words(const filter_t *f, const json_t *value, buf_t *out, char *err, size_t err_len)
{
    dec_t x;
    if (dec_from_json(value, &x) != 0)
        return errmsg_fail(err, err_len, "%s: expects a number", f->name);
    int decimals = f->decimals;
    if (decimals < 0) {
        decimals = x.nd - x.point;
        decimals = decimals < 0 ? 0 : decimals > FORMAT_DECIMALS_MAX ? FORMAT_DECIMALS_MAX : decimals;
    }
    char mag[MAG_MAX];
    if (dec_round(&x, decimals, mag) != 0)
        return errmsg_fail(err, err_len, "%s: number is too large to spell out", f->name);
    size_t len = strlen(mag), int_len = len - (size_t)decimals;
    char whole[MAG_MAX], frac[MAG_MAX];
    memcpy(whole, mag, int_len);
    whole[int_len] = 0;
    strcpy(frac, mag + int_len);
    char ierr[ERRMSG_LEN] = "";
    if (intl_spell(f->icu, x.neg && !mag_is_zero(mag), whole, frac, out, ierr, sizeof ierr) != 0)
        return locale_fail(f, ierr, err, err_len);
    return 0;
}

/* Title case: first letter of each word to title case, the rest to lower case. */
static char *title_case(const char *s, size_t len)
{
    GString *g = g_string_sized_new(len + 8);
    bool in_word = false;
    for (const char *p = s; p < s + len; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        bool word_char =
            g_unichar_isalnum(c) || g_unichar_ismark(c) || (in_word && (c == '\'' || c == 0x2019));
        if (word_char && !in_word)
            g_string_append_unichar(g, g_unichar_totitle(c));
        else if (word_char)
            g_string_append_unichar(g, g_unichar_tolower(c));
        else
            g_string_append_unichar(g, c);
        in_word = word_char;
    }
    return g_string_free(g, FALSE);
}

/* Keeps the first `count` characters; appends the ellipsis if something was cut. */
static int truncate_text(buf_t *out, const char *s, size_t len, long count, const char *ellipsis)
{
    const char *p = s;
    long i = 0;
    while (i < count && p < s + len) {
        p = g_utf8_next_char(p);
        i++;
    }
    if (p >= s + len)
        return buf_append(out, s, len);
    int rc = buf_append(out, s, (size_t)(p - s));
    return rc == 0 ? buf_append_str(out, ellipsis) : rc;
}

static int apply_text(const filter_t *f, const json_t *value, buf_t *out, char *err, size_t err_len)
{
    int ret = -1;
    char *mapped = NULL, *valid = NULL;
    buf_t text;
    buf_init(&text, FORMAT_TEXT_MAX);
    int prc = format_plain(value, &text);
    if (prc == FORMAT_NOT_TEXT) {
        errmsg_fail(err, err_len, "%s: expects text, not %s", f->name,
                    json_is_array(value) ? "a list" : "an object");
        goto cleanup;
    }
    if (prc < 0) {
        errmsg_fail(err, err_len, "%s: text is longer than %d bytes", f->name, FORMAT_TEXT_MAX);
        goto cleanup;
    }
    const char *s = buf_cstr(&text);
    size_t len = text.len;
    if (!g_utf8_validate(s, (gssize)len, NULL)) { /* never hand GLib invalid UTF-8 */
        valid = g_utf8_make_valid(s, (gssize)len);
        s = valid;
        len = strlen(valid);
    }
    size_t mark = out->len;
    int rc = 0;
    switch (f->kind) {
    case F_UPPER:
        mapped = g_utf8_strup(s, (gssize)len);
        rc = buf_append_str(out, mapped);
        break;
    case F_LOWER:
        mapped = g_utf8_strdown(s, (gssize)len);
        rc = buf_append_str(out, mapped);
        break;
    case F_TITLE:
        mapped = title_case(s, len);
        rc = buf_append_str(out, mapped);
        break;
    case F_TRIM: {
        const char *b = s, *e = s + len;
        while (b < e && g_unichar_isspace(g_utf8_get_char(b)))
            b = g_utf8_next_char(b);
        while (e > b) {
            const char *prev = g_utf8_find_prev_char(b, e);
            if (!prev || !g_unichar_isspace(g_utf8_get_char(prev)))
                break;
            e = prev;
        }
        rc = buf_append(out, b, (size_t)(e - b));
        break;
    }
    case F_TRUNCATE: rc = truncate_text(out, s, len, f->count, f->args[1]); break;
    default: break;
    }
    if (rc != 0) {
        rewind_to(out, mark);
        out_of_room(f, err, err_len);
        goto cleanup;
    }
    ret = 0;
cleanup:
    g_free(mapped);
    g_free(valid);
    buf_free(&text);
    return ret;
}

/* format_plain() that reports (and undoes) a string cut short by the output cap. */
static int plain_checked(const json_t *value, buf_t *out, const char *what, char *err, size_t err_len)
{
    size_t before = out->len;
    int rc = format_plain(value, out);
    if (rc == FORMAT_NOT_TEXT)
        return errmsg_fail(err, err_len, "%s: expects a value, not %s", what,
                           json_is_array(value) ? "a list" : "an object");
    if (rc < 0) {
        rewind_to(out, before);
        return errmsg_fail(err, err_len, "%s: formatted text is too long", what);
    }
    return 0;
}

static int apply_filter(const filter_t *f, const json_t *value, buf_t *out, char *err, size_t err_len)
{
    if (f->kind == F_DEFAULT) {
        bool empty = value_missing(value) || (json_is_string(value) && json_string_length(value) == 0);
        if (empty) {
            if (buf_append_str(out, f->nargs ? f->args[0] : "") != 0)
                return out_of_room(f, err, err_len);
            return 0;
        }
        return plain_checked(value, out, f->name, err, err_len);
    }
    if (value_missing(value))
        return 0;
    switch (f->kind) {
    case F_CURRENCY:
    case F_NUMBER:
    case F_PERCENT: return apply_numeric(f, value, out, err, err_len);
    case F_DATE: return apply_date(f, value, out, err, err_len);
    case F_WORDS: return apply_words(f, value, out, err, err_len);
    default: return apply_text(f, value, out, err, err_len);
    }
}

/* ---- public API ---------------------------------------------------------------------- */

bool format_filter_known(const char *name)
{
    if (!name)
        return false;
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++)
        if (strcmp(filters[i].name, name) == 0)
            return true;
    return false;
}

int format_check(const char *name, const char *arg, char *err, size_t err_len)
{
    return format_check_in(name, arg, NULL, err, err_len);
}

int format_check_in(const char *name, const char *arg, const char *lang, char *err, size_t err_len)
{
    filter_t f;
    if (filter_parse(name, arg, lang, &f, err, err_len) != 0)
        return -1;
    if (!f.icu)
        return 0;
    if (!intl_locale_known(f.icu)) {
        char why[120];
        snprintf(why, sizeof why, "no locale data for \"%.32s\" (ICU %s)", f.icu, intl_icu_version());
        return locale_fail(&f, why, err, err_len);
    }
    if (f.kind != F_WORDS)
        return 0;
    /* Spelling a sample finds a language without spelled-out numbers now. */
    buf_t out;
    buf_init(&out, 4096);
    json_t *sample = json_integer(1);
    int rc = sample ? apply_filter(&f, sample, &out, err, err_len) : 0;
    json_decref(sample);
    buf_free(&out);
    return rc;
}

bool format_needs_locale(const char *name, const char *arg)
{
    filter_t f;
    char err[8];
    return filter_parse(name, arg, "und", &f, err, sizeof err) == 0 && f.icu_is_lang;
}

int format_apply(const char *name, const char *arg, const json_t *value, buf_t *out, char *err,
                 size_t err_len)
{
    return format_apply_in(name, arg, NULL, value, out, err, err_len);
}

int format_apply_in(const char *name, const char *arg, const char *lang, const json_t *value, buf_t *out,
                    char *err, size_t err_len)
{
    filter_t f;
    if (filter_parse(name, arg, lang, &f, err, err_len) != 0)
        return -1;
    return apply_filter(&f, value, out, err, err_len);
}

/* How many bytes of spec an error message quotes: at most SPEC_QUOTE_MAX, never half a
 * UTF-8 character (the message must stay valid UTF-8 to reach a JSON answer). */
#define SPEC_QUOTE_MAX 40
static int spec_quote_len(const char *spec)
{
    size_t n = strnlen(spec, SPEC_QUOTE_MAX + 1);
    if (n <= SPEC_QUOTE_MAX)
        return (int)n;
    n = SPEC_QUOTE_MAX;
    while (n > 0 && ((unsigned char)spec[n] & 0xC0) == 0x80)
        n--; /* spec[n] is the first byte left out: back up to a character's start */
    return (int)n;
}

/* Splits "name:rest" into a filter name and its argument. */
static int spec_split(const char *spec, char name[16], const char **arg, char *err, size_t err_len)
{
    const char *colon = strchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    if (n == 0 || n >= 16)
        return errmsg_fail(err, err_len, "unknown format \"%.*s\"", spec_quote_len(spec), spec);
    memcpy(name, spec, n);
    name[n] = 0;
    *arg = colon ? colon + 1 : NULL;
    if (strcmp(name, "default") == 0 || !format_filter_known(name))
        return errmsg_fail(err, err_len, "unknown format \"%.*s\"", spec_quote_len(spec), spec);
    return 0;
}

int format_check_spec(const char *spec, char *err, size_t err_len)
{
    char name[16];
    const char *arg;
    if (!spec || !*spec)
        return 0;
    if (spec_split(spec, name, &arg, err, err_len) != 0)
        return -1;
    return format_check(name, arg, err, err_len);
}

int format_manifest(const char *spec, const char *data_type, const json_t *value, buf_t *out, char *err,
                    size_t err_len)
{
    return format_manifest_in(spec, data_type, NULL, value, out, err, err_len);
}

int format_manifest_in(const char *spec, const char *data_type, const char *lang, const json_t *value,
                       buf_t *out, char *err, size_t err_len)
{
    if (value_missing(value))
        return 0;
    if (!spec || !*spec) {
        if (data_type && strcmp(data_type, "currency") == 0)
            return format_apply("number", "2", value, out, err, err_len);
        return plain_checked(value, out, "format", err, err_len);
    }
    char name[16];
    const char *arg;
    if (spec_split(spec, name, &arg, err, err_len) != 0)
        return -1;
    return format_apply_in(name, arg, lang, value, out, err, err_len);
}

/* Appends as much of s as fits, cutting at a UTF-8 character boundary; -1 when it was cut. */
static int append_capped(buf_t *out, const char *s, size_t len)
{
    size_t room = out->max > out->len ? out->max - out->len : 0;
    int rc = 0;
    if (len > room) {
        len = room;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--;
        rc = -1;
    }
    if (buf_append(out, s, len) != BUF_OK)
        return -1;
    return rc;
}

/* JavaScript's Number#toString for finite doubles: fixed notation for 1e-7 < |x| < 1e21. */
static int plain_double(double v, buf_t *out)
{
    dec_t x;
    if (dec_from_double(v, &x) != 0)
        return 0; /* NaN/Inf cannot come from JSON */
    char tmp[64];
    size_t n = 0;
    if (x.nd == 0)
        return append_capped(out, "0", 1);
    if (x.neg)
        tmp[n++] = '-';
    if (x.point >= x.nd && x.point <= 21) {
        memcpy(tmp + n, x.d, (size_t)x.nd);
        n += (size_t)x.nd;
        for (int i = x.nd; i < x.point; i++)
            tmp[n++] = '0';
    } else if (x.point > 0 && x.point <= 21) {
        memcpy(tmp + n, x.d, (size_t)x.point);
        n += (size_t)x.point;
        tmp[n++] = '.';
        memcpy(tmp + n, x.d + x.point, (size_t)(x.nd - x.point));
        n += (size_t)(x.nd - x.point);
    } else if (x.point > -6 && x.point <= 0) {
        tmp[n++] = '0';
        tmp[n++] = '.';
        for (int i = x.point; i < 0; i++)
            tmp[n++] = '0';
        memcpy(tmp + n, x.d, (size_t)x.nd);
        n += (size_t)x.nd;
    } else {
        tmp[n++] = x.d[0];
        if (x.nd > 1) {
            tmp[n++] = '.';
            memcpy(tmp + n, x.d + 1, (size_t)(x.nd - 1));
            n += (size_t)(x.nd - 1);
        }
        n += (size_t)snprintf(tmp + n, sizeof tmp - n, "e%+d", x.point - 1);
    }
    return append_capped(out, tmp, n);
}

int format_plain(const json_t *value, buf_t *out)
{
    if (value_missing(value))
        return 0;
    switch (json_typeof(value)) {
    case JSON_STRING: return append_capped(out, json_string_value(value), json_string_length(value));
    case JSON_INTEGER: {
        char tmp[32];
        int n = snprintf(tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        return append_capped(out, tmp, (size_t)n);
    }
    case JSON_REAL: return plain_double(json_real_value(value), out);
    case JSON_TRUE: return append_capped(out, "true", 4);
    case JSON_FALSE: return append_capped(out, "false", 5);
    default: return FORMAT_NOT_TEXT; /* a list or an object has no text of its own */
    }
}
