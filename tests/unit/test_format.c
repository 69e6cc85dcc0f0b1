/* Unit tests for src/engine/format: every filter table-driven, manifest specs, plain text,
 * and hostile input (huge numbers, long strings, bad UTF-8, bad arguments). */
#include <check.h>
#include <glib.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/format.h"
#include "xorshift.h"
#include "tu.h"

#define NB "\xC2\xA0"      /* no-break space */
#define NNB "\xE2\x80\xAF" /* narrow no-break space */

typedef struct {
    const char *name;
    const char *arg;   /* NULL: no argument */
    const char *value; /* JSON text; NULL: missing value */
    const char *want;  /* expected text; NULL: expect an error */
    const char *err;   /* substring of the expected error */
} fcase_t;

static const fcase_t cases[] = {
    /* currency: symbols, decimals, separators */
    {"currency", "EUR", "1234.5",
     "\xE2\x82\xAC"
     "1,234.50",
     NULL},
    {"currency", "\"EUR\"", "1234.5",
     "\xE2\x82\xAC"
     "1,234.50",
     NULL},
    {"currency", "usd", "1234.5", "$1,234.50", NULL},
    {"currency", "USD", "0", "$0.00", NULL},
    {"currency", "USD", "-5", "-$5.00", NULL},
    {"currency", "USD", "-0.001", "$0.00", NULL},
    {"currency", "USD", "-0.0", "$0.00", NULL},
    {"currency", "USD", "1000000", "$1,000,000.00", NULL},
    {"currency", "USD", "999.995", "$1,000.00", NULL},
    {"currency", "USD", "\"12.50\"", "$12.50", NULL},
    {"currency", "USD", "\" 7 \"", "$7.00", NULL},
    {"currency", "GBP", "3.1",
     "\xC2\xA3"
     "3.10",
     NULL},
    {"currency", "JPY", "1234.5",
     "\xC2\xA5"
     "1,235",
     NULL},
    {"currency", "KRW", "50000",
     "\xE2\x82\xA9"
     "50,000",
     NULL},
    {"currency", "INR", "99",
     "\xE2\x82\xB9"
     "99.00",
     NULL},
    {"currency", "CHF", "1234.5", "CHF" NB "1,234.50", NULL},
    {"currency", "CHF", "-1", "CHF" NB "-1.00", NULL},
    {"currency", "CAD", "5", "CA$5.00", NULL},
    {"currency", "AUD", "5", "A$5.00", NULL},
    {"currency", "CNY", "5",
     "CN\xC2\xA5"
     "5.00",
     NULL},
    {"currency", "SEK", "5", "kr" NB "5.00", NULL},
    {"currency", "SEK:sv-SE", "1234.5", "1" NB "234,50" NB "kr", NULL},
    {"currency", "NOK:nb-NO", "1234.5", "kr" NB "1" NB "234,50", NULL},
    {"currency", "DKK:da-DK", "1234.5", "1.234,50" NB "kr", NULL},
    {"currency", "PLN:pl-PL", "1234.5", "1" NB "234,50" NB "z\xC5\x82", NULL},
    {"currency", "BRL:pt-BR", "1234.5", "R$" NB "1.234,50", NULL},
    {"currency", "BRL", "1234.5", "R$1,234.50", NULL},
    {"currency", "KWD", "1.2345", "KWD" NB "1.235", NULL},
    {"currency", "BHD", "10", "BHD" NB "10.000", NULL},
    {"currency", "XYZ", "10", "XYZ" NB "10.00", NULL},
    {"currency", "EUR:de-DE", "1234.5", "1.234,50" NB "\xE2\x82\xAC", NULL},
    {"currency", "\"EUR\":\"de-DE\"", "1234.5", "1.234,50" NB "\xE2\x82\xAC", NULL},
    {"currency", "\"EUR:de-DE\"", "1234.5", "1.234,50" NB "\xE2\x82\xAC", NULL},
    {"currency", "EUR:de", "-1234.5", "-1.234,50" NB "\xE2\x82\xAC", NULL},
    {"currency", "EUR:de_DE", "1", "1,00" NB "\xE2\x82\xAC", NULL},
    {"currency", "EUR:fr-FR", "1234567.891", "1" NNB "234" NNB "567,89" NB "\xE2\x82\xAC", NULL},
    {"currency", "EUR:nl-NL", "-1234.5", "\xE2\x82\xAC" NB "-1.234,50", NULL},
    {"currency", "CHF:de-CH", "1234.5",
     "CHF" NB "1\xE2\x80\x99"
     "234.50",
     NULL},
    {"currency", "EUR:en-GB", "1234.5",
     "\xE2\x82\xAC"
     "1,234.50",
     NULL},
    {"money", "EUR", "2",
     "\xE2\x82\xAC"
     "2.00",
     NULL},
    {"currency", NULL, "1", NULL, "needs a currency code"},
    {"currency", "EURO", "1", NULL, "three-letter currency code"},
    {"currency", "E1R", "1", NULL, "three-letter currency code"},
    {"currency", "EUR:xx-YY", "1", NULL, "unknown locale"},
    {"currency", "EUR:de-DE:x", "1", NULL, "too many arguments"},
    {"currency", "\"EUR", "1", NULL, "unclosed quote"},
    {"currency", "EUR", "\"abc\"", NULL, "expects a number"},
    {"currency", "EUR", "\"\"", NULL, "expects a number"},
    {"currency", "EUR", "\"1.2.3\"", NULL, "expects a number"},
    {"currency", "EUR", "\"1e\"", NULL, "expects a number"},
    {"currency", "EUR", "\"0x10\"", NULL, "expects a number"},
    {"currency", "EUR", "\"NaN\"", NULL, "expects a number"},
    {"currency", "EUR", "\"Infinity\"", NULL, "expects a number"},
    {"currency", "EUR", "true", NULL, "expects a number"},
    {"currency", "EUR", "[1]", NULL, "expects a number"},
    {"currency", "EUR", "1e300", NULL, "too large"},
    {"currency", "EUR", "-1e300", NULL, "too large"},
    {"currency", "EUR", "\"1e99999999999\"", NULL, "too large"},
    {"currency", "EUR", "1e-300",
     "\xE2\x82\xAC"
     "0.00",
     NULL},
    {"currency", "EUR", "\"1e-99999999999\"",
     "\xE2\x82\xAC"
     "0.00",
     NULL},
    {"currency", "EUR", "null", "", NULL},
    {"currency", "EUR", NULL, "", NULL},
    /* number: exact decimal rounding, half away from zero */
    {"number", "2", "1.005", "1.01", NULL},
    {"number", "2", "-1.005", "-1.01", NULL},
    {"number", "2", "1.004999", "1.00", NULL},
    {"number", "1", "0.05", "0.1", NULL},
    {"number", "0", "2.5", "3", NULL},
    {"number", "0", "-2.5", "-3", NULL},
    {"number", "0", "0.5", "1", NULL},
    {"number", "0", "0.49", "0", NULL},
    {"number", "0", "-0.4", "0", NULL},
    {"number", "2", "0.30000000000000004", "0.30", NULL},
    {"number", "2", "1234567.125", "1,234,567.13", NULL},
    {"number", "3", "1", "1.000", NULL},
    {"number", "10", "0.1", "0.1000000000", NULL},
    {"number", "0", "9007199254740993", "9,007,199,254,740,993", NULL},
    {"number", "0", "-9223372036854775808", "-9,223,372,036,854,775,808", NULL},
    {"number", "2", "1e21", NULL, "too large"},
    {"number", "2", "\"999999999999999999999\"", "999,999,999,999,999,999,999.00", NULL},
    {"number", "0", "\"999999999999999999999.4\"", "999,999,999,999,999,999,999", NULL},
    {"number", "0", "\"999999999999999999999.5\"", NULL, "too large"},
    {"number", "2", "\"0.125\"", "0.13", NULL},
    {"number", "2", "\"+3\"", "3.00", NULL},
    {"number", "2", "\".5\"", "0.50", NULL},
    {"number", "2", "\"1.5e3\"", "1,500.00", NULL},
    {"number", "2", "\"00012\"", "12.00", NULL},
    {"number", NULL, "1234.5", "1,234.5", NULL},
    {"number", NULL, "1234", "1,234", NULL},
    {"number", NULL, "0.1", "0.1", NULL},
    {"number", NULL, "0.30000000000000004", "0.3", NULL},
    {"number", NULL, "1e-20", "0", NULL},
    {"number", NULL, "-1e-20", "0", NULL},
    {"number", "2:de-DE", "1234.5", "1.234,50", NULL},
    {"number", ":de-DE", "1234.5", "1.234,5", NULL},
    {"number", "2:fr", "1234.5", "1" NNB "234,50", NULL},
    {"number", "11", "1", NULL, "decimals must be"},
    {"number", "-1", "1", NULL, "decimals must be"},
    {"number", "two", "1", NULL, "decimals must be"},
    {"number", "99999999999999999999999", "1", NULL, "decimals must be"},
    {"number", "2", "{}", NULL, "expects a number"},
    /* percent: the value is a fraction */
    {"percent", NULL, "0.2", "20%", NULL},
    {"percent", NULL, "0.125", "13%", NULL},
    {"percent", "1", "0.125", "12.5%", NULL},
    {"percent", "2", "1", "100.00%", NULL},
    {"percent", NULL, "-0.5", "-50%", NULL},
    {"percent", NULL, "12", "1,200%", NULL},
    {"percent", NULL, "0", "0%", NULL},
    {"percent", NULL, "\"0.07\"", "7%", NULL},
    {"percent", "1:de-DE", "0.255", "25,5" NB "%", NULL},
    {"percent", "0:fr-FR", "0.2", "20" NNB "%", NULL},
    /* date */
    {"date", "\"DD/MM/YYYY\"", "\"2026-06-04\"", "04/06/2026", NULL},
    {"date", "DD/MM/YYYY", "\"2026-06-04\"", "04/06/2026", NULL},
    {"date", NULL, "\"2026-06-04T10:30:00Z\"", "2026-06-04", NULL},
    {"date", "D MMMM YYYY", "\"2026-06-04\"", "4 June 2026", NULL},
    {"date", "ddd, D MMM YY", "\"2026-06-04\"", "Thu, 4 Jun 26", NULL},
    {"date", "dddd", "\"2000-02-29\"", "Tuesday", NULL},
    {"date", "dddd", "\"0001-01-01\"", "Monday", NULL},
    {"date", "dddd", "\"2024-12-31\"", "Tuesday", NULL},
    {"date", "M/D/YYYY", "\"2026-01-09\"", "1/9/2026", NULL},
    {"date", "YYYY-MM-DD HH:mm:ss", "\"2026-06-04T23:05:09+02:00\"", "2026-06-04 23:05:09", NULL},
    {"date", "HH:mm", "\"2026-06-04T23:05:09.123456-05:00\"", "23:05", NULL},
    {"date", "HH:mm", "\"2026-06-04 07:45\"", "07:45", NULL},
    {"date", "h:mm A", "\"2026-06-04T00:15:00Z\"", "12:15 AM", NULL},
    {"date", "h:mm a", "\"2026-06-04T12:15:00Z\"", "12:15 pm", NULL},
    {"date", "hh:mm A", "\"2026-06-04T19:15:00+0530\"", "07:15 PM", NULL},
    {"date", "HH:mm", "\"2026-06-04\"", "00:00", NULL},
    {"date", "D MMMM YYYY [at] HH:mm", "\"2026-06-04T09:30:00Z\"", "4 June 2026 at 09:30", NULL},
    {"date", "[YYYY] YYYY", "\"2026-06-04\"", "YYYY 2026", NULL},
    {"date", "DD.MM.YYYY", "\"2026-06-04\"", "04.06.2026", NULL},
    {"date", "D. MMMM YYYY – Größe", "\"2026-06-04\"", "4. June 2026 – Größe", NULL},
    {"date", "[unclosed", "\"2026-06-04\"", NULL, "unclosed ["},
    {"date", "DD/MM/YYYY", "\"2026-02-29\"", NULL, "not a valid ISO-8601 date"},
    {"date", "DD/MM/YYYY", "\"2024-02-29\"", "29/02/2024", NULL},
    {"date", "DD/MM/YYYY", "\"1900-02-29\"", NULL, "not a valid"},
    {"date", "DD/MM/YYYY", "\"2026-13-01\"", NULL, "not a valid"},
    {"date", "DD/MM/YYYY", "\"2026-04-31\"", NULL, "not a valid"},
    {"date", "DD/MM/YYYY", "\"2026-00-10\"", NULL, "not a valid"},
    {"date", "DD/MM/YYYY", "\"0000-01-01\"", NULL, "not a valid"},
    {"date", "DD/MM/YYYY", "\"2026-6-4\"", NULL, "not a valid"},
    {"date", "DD/MM/YYYY", "\"04/06/2026\"", NULL, "not a valid"},
    {"date", "DD/MM/YYYY", "\"2026-06-04T24:00:00Z\"", NULL, "not a valid"},
    {"date", "DD/MM/YYYY", "\"2026-06-04T10:60\"", NULL, "not a valid"},
    {"date", "DD/MM/YYYY", "\"2026-06-04T10:30:00+25:00\"", NULL, "not a valid"},
    {"date", "DD/MM/YYYY", "\"2026-06-04T10:30:00Zjunk\"", NULL, "not a valid"},
    {"date", "DD/MM/YYYY", "\"2026-06-04 \"", NULL, "not a valid"},
    {"date", "DD/MM/YYYY", "\"\"", NULL, "not a valid"},
    {"date", "DD/MM/YYYY", "20260604", NULL, "expects an ISO-8601 date"},
    {"date", "DD/MM/YYYY", "null", "", NULL},
    /* case mapping, trim, truncate */
    {"upper", NULL, "\"straße déjà\"", "STRASSE DÉJÀ", NULL},
    {"lower", NULL, "\"ÀÉÎ ABC\"", "àéî abc", NULL},
    {"title", NULL, "\"o'neil SMITH-jones élan\"", "O'neil Smith-Jones Élan", NULL},
    {"title", NULL, "\"  two  spaces \"", "  Two  Spaces ", NULL},
    {"upper", NULL, "42", "42", NULL},
    {"upper", NULL, "null", "", NULL},
    {"upper", "x", "\"a\"", NULL, "takes no argument"},
    {"trim", NULL, "\"\\t  hello world \\n\"", "hello world", NULL},
    {"trim", NULL, "\"  hello world \\n\"", "hello world", NULL},
    {"trim", NULL, "\"\xE3\x80\x80hi\xE3\x80\x80\"", "hi", NULL}, /* ideographic space */
    {"truncate", "5", "\"Hello world\"", "Hello\xE2\x80\xA6", NULL},
    {"truncate", "5:\"...\"", "\"Hello world\"", "Hello...", NULL},
    {"truncate", "5:\"\"", "\"Hello world\"", "Hello", NULL},
    {"truncate", "11", "\"Hello world\"", "Hello world", NULL},
    {"truncate", "3", "\"日本語テキスト\"", "日本語\xE2\x80\xA6", NULL},
    {"truncate", "0", "\"abc\"", "\xE2\x80\xA6", NULL},
    {"truncate", NULL, "\"abc\"", NULL, "needs a length"},
    {"truncate", "-3", "\"abc\"", NULL, "needs a length"},
    {"truncate", "100001", "\"abc\"", NULL, "needs a length"},
    /* default */
    {"default", "\"–\"", NULL, "–", NULL},
    {"default", "\"–\"", "null", "–", NULL},
    {"default", "\"–\"", "\"\"", "–", NULL},
    {"default", "\"–\"", "\"x\"", "x", NULL},
    {"default", "\"–\"", "0", "0", NULL},
    {"default", "\"–\"", "false", "false", NULL},
    {"default", "N/A: none", NULL, "N/A: none", NULL},
    {"default", "'single'", NULL, "single", NULL},
    {"default", NULL, NULL, "", NULL},
    /* unknown */
    {"nosuch", NULL, "1", NULL, "unknown filter"},
    {"", NULL, "1", NULL, "unknown filter"},
    {"CURRENCY", "EUR", "1", NULL, "unknown filter"},
};

START_TEST(filter_table)
{
    const fcase_t *c = &cases[_i];
    json_t *v = NULL;
    if (c->value) {
        json_error_t je;
        v = json_loads(c->value, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        ck_assert_msg(v != NULL, "bad test JSON %s: %s", c->value, je.text);
    }
    buf_t out;
    buf_init(&out, 4096);
    buf_puts(&out, "<"); /* filters append; they must not clobber what is there */
    char err[200] = "";
    ck_assert_int_eq(buf_error(&out), BUF_OK);
    int rc = format_apply(c->name, c->arg, v, &out, err, sizeof err);
    if (c->want) {
        ck_assert_msg(rc == 0, "%s:%s on %s failed: %s", c->name, c->arg ? c->arg : "",
                      c->value ? c->value : "(missing)", err);
        ck_assert_str_eq(buf_cstr(&out) + 1, c->want);
    } else {
        ck_assert_msg(rc == -1, "%s:%s on %s should fail, gave \"%s\"", c->name, c->arg ? c->arg : "",
                      c->value ? c->value : "(missing)", buf_cstr(&out));
        ck_assert_msg(strstr(err, c->err) != NULL, "error \"%s\" lacks \"%s\"", err, c->err);
        ck_assert_str_eq(buf_cstr(&out), "<");
    }
    buf_free(&out);
    json_decref(v);
}
END_TEST

/* The locale table of docs/templates-values.md, row by row. */
static const struct {
    const char *locales;
    const char *number, *money, *percent;
} locale_rows[] = {
    {"en-US en-GB en-CA en-AU en-IN ja-JP zh-CN en", "1,234.5",
     "\xE2\x82\xAC"
     "1,234.50",
     "20%"},
    {"de-DE es-ES da-DK de es da de_DE", "1.234,5", "1.234,50" NB "\xE2\x82\xAC", "20" NB "%"},
    {"it-IT it", "1.234,5", "1.234,50" NB "\xE2\x82\xAC", "20%"},
    {"nl-NL nl", "1.234,5", "\xE2\x82\xAC" NB "1.234,50", "20%"},
    {"pt-BR", "1.234,5", "\xE2\x82\xAC" NB "1.234,50", "20%"},
    {"de-CH",
     "1\xE2\x80\x99"
     "234.5",
     "\xE2\x82\xAC" NB "1\xE2\x80\x99"
     "234.50",
     "20%"},
    {"fr-FR fr", "1" NNB "234,5", "1" NNB "234,50" NB "\xE2\x82\xAC", "20" NNB "%"},
    {"sv-SE sv", "1" NB "234,5", "1" NB "234,50" NB "\xE2\x82\xAC", "20" NB "%"},
    {"nb-NO nb", "1" NB "234,5", "\xE2\x82\xAC" NB "1" NB "234,50", "20" NB "%"},
    {"pl-PL pt-PT pl", "1" NB "234,5", "1" NB "234,50" NB "\xE2\x82\xAC", "20%"},
};

START_TEST(locale_table)
{
    char tags[128], arg[64], err[200];
    snprintf(tags, sizeof tags, "%s", locale_rows[_i].locales);
    json_t *n = json_real(1234.5), *p = json_real(0.2);
    buf_t out;
    buf_init(&out, 256);
    for (char *save = NULL, *tag = strtok_r(tags, " ", &save); tag; tag = strtok_r(NULL, " ", &save)) {
        snprintf(arg, sizeof arg, ":%s", tag);
        buf_reset(&out);
        ck_assert_int_eq(format_apply("number", arg, n, &out, err, sizeof err), 0);
        ck_assert_msg(strcmp(buf_cstr(&out), locale_rows[_i].number) == 0, "%s number: %s", tag,
                      buf_cstr(&out));
        snprintf(arg, sizeof arg, "EUR:%s", tag);
        buf_reset(&out);
        ck_assert_int_eq(format_apply("currency", arg, n, &out, err, sizeof err), 0);
        ck_assert_msg(strcmp(buf_cstr(&out), locale_rows[_i].money) == 0, "%s money: %s", tag,
                      buf_cstr(&out));
        snprintf(arg, sizeof arg, "0:%s", tag);
        buf_reset(&out);
        ck_assert_int_eq(format_apply("percent", arg, p, &out, err, sizeof err), 0);
        ck_assert_msg(strcmp(buf_cstr(&out), locale_rows[_i].percent) == 0, "%s percent: %s", tag,
                      buf_cstr(&out));
    }
    buf_free(&out);
    json_decref(n);
    json_decref(p);
}
END_TEST

START_TEST(known_filters)
{
    const char *known[] = {"currency", "money", "number", "percent",  "date",   "upper",
                           "lower",    "title", "trim",   "truncate", "default"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        ck_assert_msg(format_filter_known(known[i]), "%s", known[i]);
    ck_assert(!format_filter_known("json"));
    ck_assert(!format_filter_known(""));
    ck_assert(!format_filter_known(NULL));
    ck_assert(!format_filter_known("Upper"));
}
END_TEST

START_TEST(check_without_value)
{
    char err[200];
    ck_assert_int_eq(format_check("currency", "EUR:de-DE", err, sizeof err), 0);
    ck_assert_int_eq(format_check("date", "\"DD/MM/YYYY\"", err, sizeof err), 0);
    ck_assert_int_eq(format_check("currency", "EUR:zz", err, sizeof err), -1);
    ck_assert_int_eq(format_check("number", "20", err, sizeof err), -1);
    ck_assert_int_eq(format_check("frobnicate", NULL, err, sizeof err), -1);
    ck_assert_int_eq(format_check_spec("money:EUR", err, sizeof err), 0);
    ck_assert_int_eq(format_check_spec("number:2", err, sizeof err), 0);
    ck_assert_int_eq(format_check_spec("date:DD/MM/YYYY", err, sizeof err), 0);
    ck_assert_int_eq(format_check_spec("percent", err, sizeof err), 0);
    ck_assert_int_eq(format_check_spec("", err, sizeof err), 0);
    ck_assert_int_eq(format_check_spec(NULL, err, sizeof err), 0);
    ck_assert_int_eq(format_check_spec("money", err, sizeof err), -1);
    ck_assert_int_eq(format_check_spec("default:x", err, sizeof err), -1);
    ck_assert_int_eq(format_check_spec("bogus:1", err, sizeof err), -1);
    ck_assert_int_eq(format_check_spec(":EUR", err, sizeof err), -1);
    ck_assert_int_eq(format_check_spec("averyveryverylongname:1", err, sizeof err), -1);
}
END_TEST

typedef struct {
    const char *spec;
    const char *data_type;
    const char *value;
    const char *want;
} mcase_t;

static const mcase_t mcases[] = {
    {"money:EUR", "currency", "1234.5",
     "\xE2\x82\xAC"
     "1,234.50"},
    {"money:EUR:de-DE", "currency", "1234.5", "1.234,50" NB "\xE2\x82\xAC"},
    {"currency:USD", "currency", "\"99.999\"", "$100.00"},
    {"number:2", "number", "3.14159", "3.14"},
    {"percent", "number", "0.075", "8%"},
    {"percent:1", "number", "0.075", "7.5%"},
    {"date:DD/MM/YYYY", "date", "\"2026-06-04\"", "04/06/2026"},
    {"date:DD/MM/YYYY HH:mm", "datetime", "\"2026-06-04T08:00:00Z\"", "04/06/2026 08:00"},
    {"upper", "text", "\"abc\"", "ABC"},
    {NULL, "currency", "5", "5.00"},
    {"", "currency", "1234.5", "1,234.50"},
    {NULL, "number", "1234.5", "1234.5"},
    {NULL, "text", "\"hi\"", "hi"},
    {NULL, "boolean", "true", "true"},
    {NULL, "date", "\"2026-06-04\"", "2026-06-04"},
    {"money:EUR", "currency", "null", ""},
    {NULL, NULL, "0.1", "0.1"},
};

START_TEST(manifest_table)
{
    const mcase_t *c = &mcases[_i];
    json_t *v = json_loads(c->value, JSON_DECODE_ANY, NULL);
    ck_assert_ptr_nonnull(v);
    buf_t out;
    buf_init(&out, 4096);
    char err[200] = "";
    int rc = format_manifest(c->spec, c->data_type, v, &out, err, sizeof err);
    ck_assert_msg(rc == 0, "%s failed: %s", c->spec ? c->spec : "(none)", err);
    ck_assert_str_eq(buf_cstr(&out), c->want);
    buf_free(&out);
    json_decref(v);
}
END_TEST

START_TEST(manifest_errors)
{
    buf_t out;
    buf_init(&out, 4096);
    char err[200] = "";
    json_t *v = json_string("abc");
    ck_assert_int_eq(format_manifest("money:EUR", "currency", v, &out, err, sizeof err), -1);
    ck_assert(strstr(err, "expects a number"));
    ck_assert_int_eq(format_manifest("weird:EUR", "currency", v, &out, err, sizeof err), -1);
    ck_assert(strstr(err, "unknown format"));
    ck_assert_int_eq(format_manifest("money:EUR", "currency", NULL, &out, err, sizeof err), 0);
    ck_assert_str_eq(buf_cstr(&out), "");
    json_decref(v);
    buf_free(&out);
}
END_TEST

static const struct {
    const char *json;
    const char *want;
} plain_cases[] = {
    {"\"text\"", "text"},
    {"0", "0"},
    {"-0.0", "0"},
    {"0.1", "0.1"},
    {"0.30000000000000004", "0.30000000000000004"},
    {"1.5", "1.5"},
    {"-1.5", "-1.5"},
    {"100.0", "100"},
    {"1e20", "100000000000000000000"},
    {"1e21", "1e+21"},
    {"1.5e300", "1.5e+300"},
    {"0.000001", "0.000001"},
    {"1e-7", "1e-7"},
    {"-1.25e-10", "-1.25e-10"},
    {"123456789012", "123456789012"},
    {"9223372036854775807", "9223372036854775807"},
    {"5e-324", "5e-324"},
    {"1.7976931348623157e308", "1.7976931348623157e+308"},
    {"true", "true"},
    {"false", "false"},
    {"null", ""},
};

START_TEST(plain_table)
{
    json_t *v = json_loads(plain_cases[_i].json, JSON_DECODE_ANY, NULL);
    ck_assert_ptr_nonnull(v);
    buf_t out;
    buf_init(&out, 4096);
    ck_assert_int_eq(format_plain(v, &out), 0);
    ck_assert_str_eq(buf_cstr(&out), plain_cases[_i].want);
    buf_free(&out);
    json_decref(v);
}
END_TEST

START_TEST(plain_missing_and_capped)
{
    buf_t out;
    buf_init(&out, 10);
    ck_assert_int_eq(format_plain(NULL, &out), 0);
    ck_assert_int_eq(out.len, 0);
    json_t *v = json_string("ääääääääää");       /* 20 bytes */
    ck_assert_int_eq(format_plain(v, &out), -1); /* cut, and it says so */
    ck_assert_int_eq(out.len, 10);               /* at a character boundary */
    ck_assert_str_eq(buf_cstr(&out), "äääää");
    json_decref(v);
    buf_reset(&out);
    v = json_real(0.30000000000000004);
    ck_assert_int_eq(format_plain(v, &out), -1);
    json_decref(v);
    /* Lists and objects have no text: never a JSON dump in a document. */
    static const char *const composite[] = {"[1111111,2222222,3333333]", "[]", "{\"a\":{\"b\":2}}", "{}",
                                            NULL};
    for (int i = 0; composite[i]; i++) {
        v = json_loads(composite[i], 0, NULL);
        buf_reset(&out);
        ck_assert_int_eq(format_plain(v, &out), FORMAT_NOT_TEXT);
        ck_assert_int_eq(out.len, 0);
        json_decref(v);
    }
    buf_free(&out);
}
END_TEST

/* Every double formats without crashing and numbers round-trip through plain text. */
START_TEST(doubles_round_trip)
{
    const double vals[] = {0.1,     0.2,
                           0.3,     1.0 / 3,
                           2.0 / 3, 1e-5,
                           123.456, 1e15 + 0.3,
                           4.35,    0.615,
                           1.255,   8.345,
                           1e21,    1e22,
                           5e-324,  1.7976931348623157e308,
                           -0.0,    3.0000000000000004};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        json_t *v = json_real(vals[i]);
        buf_t out;
        buf_init(&out, 4096);
        format_plain(v, &out);
        ck_assert_msg(strtod(buf_cstr(&out), NULL) == vals[i], "%.17g -> %s", vals[i], buf_cstr(&out));
        buf_reset(&out);
        char err[200];
        int rc = format_apply("number", "2", v, &out, err, sizeof err);
        ck_assert(rc == 0 || strstr(err, "too large"));
        buf_free(&out);
        json_decref(v);
    }
}
END_TEST

START_TEST(hostile_inputs)
{
    char err[200];
    buf_t out;
    buf_init(&out, 64);
    /* a result longer than the output cap is an error and appends nothing */
    json_t *v = json_string("abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
    ck_assert_int_eq(format_apply("upper", NULL, v, &out, err, sizeof err), -1);
    ck_assert(strstr(err, "too long"));
    ck_assert_int_eq(out.len, 0);
    ck_assert_int_eq(format_apply("default", "x", v, &out, err, sizeof err), -1);
    json_decref(v);
    /* a date pattern that expands past the cap */
    v = json_string("2026-06-04");
    ck_assert_int_eq(format_apply("date", "dddd dddd dddd dddd dddd dddd dddd dddd dddd dddd dddd dddd", v,
                                  &out, err, sizeof err),
                     -1);
    ck_assert_int_eq(out.len, 0);
    json_decref(v);
    buf_free(&out);

    /* multi-megabyte strings: bounded, clear error */
    size_t big = (2u << 20) + 7;
    char *s = malloc(big + 1);
    memset(s, 'a', big);
    s[big] = 0;
    v = json_string(s);
    buf_init(&out, 8u << 20);
    ck_assert_int_eq(format_apply("upper", NULL, v, &out, err, sizeof err), -1);
    ck_assert(strstr(err, "longer than"));
    ck_assert_int_eq(format_apply("currency", "EUR", v, &out, err, sizeof err), -1);
    ck_assert(strstr(err, "expects a number"));
    /* a numeric string with too many digits */
    memset(s, '1', 200);
    s[200] = 0;
    json_decref(v);
    v = json_string(s);
    ck_assert_int_eq(format_apply("number", "2", v, &out, err, sizeof err), -1);
    json_decref(v);
    free(s);

    /* invalid UTF-8 and embedded NUL (jansson allows building them) */
    v = json_stringn_nocheck("ab\xFF\xFE"
                             "cd",
                             6);
    buf_reset(&out);
    ck_assert_int_eq(format_apply("upper", NULL, v, &out, err, sizeof err), 0);
    ck_assert_str_eq(buf_cstr(&out), "AB\xEF\xBF\xBD\xEF\xBF\xBD"
                                     "CD");
    json_decref(v);
    v = json_stringn("a\0b", 3);
    buf_reset(&out);
    ck_assert_int_eq(format_apply("title", NULL, v, &out, err, sizeof err), 0);
    json_decref(v);

    /* NaN and infinity cannot even be built as jansson values */
    ck_assert_ptr_null(json_real(NAN));
    ck_assert_ptr_null(json_real(INFINITY));

    /* arguments: too long, too many parts */
    char longarg[400];
    memset(longarg, 'x', sizeof longarg - 1);
    longarg[sizeof longarg - 1] = 0;
    v = json_integer(1);
    ck_assert_int_eq(format_apply("default", longarg, NULL, &out, err, sizeof err), -1);
    ck_assert_int_eq(format_apply("currency", longarg, v, &out, err, sizeof err), -1);
    ck_assert_int_eq(format_apply("number", "1:2:3:4:5:6", v, &out, err, sizeof err), -1);
    ck_assert_int_eq(format_apply(NULL, NULL, v, &out, err, sizeof err), -1);
    /* a tiny error buffer or none at all is fine */
    ck_assert_int_eq(format_apply("nosuch", NULL, v, &out, err, 1), -1);
    ck_assert_int_eq(err[0], 0);
    ck_assert_int_eq(format_apply("nosuch", NULL, v, &out, NULL, 0), -1);
    json_decref(v);
    buf_free(&out);
}
END_TEST

/* Deterministic random filters, arguments and values: never a crash, always 0 or -1 with a
 * message, output within the cap and valid UTF-8. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void)
{
    return xorshift_next(&rng_state);
}

static void random_text(char *dst, size_t max, const char *const *pieces, size_t npieces)
{
    size_t n = 0;
    int parts = (int)(rng() % 5);
    dst[0] = 0;
    for (int i = 0; i < parts; i++) {
        const char *p = pieces[rng() % npieces];
        size_t len = strlen(p);
        if (n + len >= max)
            break;
        memcpy(dst + n, p, len + 1);
        n += len;
    }
}

START_TEST(random_inputs)
{
    static const char *const names[] = {"currency", "money", "number", "percent",  "date",    "upper",
                                        "lower",    "title", "trim",   "truncate", "default", "bogus"};
    static const char *const arg_pieces[] = {
        "EUR",  "usd",   "JPY",   "KWD", "XX",      ":",  "\"", "'",    "\\",          "de-DE",
        "fr",   "sv_SE", "xx-YY", "2",   "10",      "11", "-1", "0",    "99999999999", "YYYY",
        "MMMM", "dddd",  "[",     "]",   "hh:mm A", "…",  " ",  "\xFF", "%s",          "%n"};
    static const char *const value_pieces[] = {"0",        "1",
                                               "-",        ".",
                                               "5",        "9",
                                               "e",        "E",
                                               "+",        "308",
                                               "-324",     "1e21",
                                               "0.5",      "2026-",
                                               "02-29",    "T",
                                               "23:59:60", "Z",
                                               "+14:00",   "ä",
                                               "ß",        "\xF0\x9F\x98\x80",
                                               " ",        "\t",
                                               "NaN",      "\xC3",
                                               "\"",       "00000000000000000000"};
    char arg[128], text[128], err[200];
    buf_t out;
    buf_init(&out, 256);
    for (int i = 0; i < 20000; i++) {
        const char *name = names[rng() % (sizeof names / sizeof names[0])];
        random_text(arg, sizeof arg, arg_pieces, sizeof arg_pieces / sizeof arg_pieces[0]);
        random_text(text, sizeof text, value_pieces, sizeof value_pieces / sizeof value_pieces[0]);
        json_t *v;
        switch (rng() % 6) {
        case 0: v = json_stringn_nocheck(text, strlen(text)); break;
        case 1: v = json_real((double)(int64_t)rng() / (double)(1 + rng() % 100000)); break;
        case 2:
            v = json_real(ldexp(1.0 + (double)(rng() % 1000) / 1000.0, (int)(rng() % 2000) - 1000));
            break;
        case 3: v = json_integer((json_int_t)rng()); break;
        case 4: v = json_loads(text, JSON_DECODE_ANY, NULL); break;
        default: v = NULL; break;
        }
        buf_reset(&out);
        err[0] = 0;
        int rc = format_apply(name, rng() % 4 ? arg : NULL, v, &out, err, sizeof err);
        ck_assert(rc == 0 || rc == -1);
        if (rc == -1)
            ck_assert_msg(err[0] != 0, "%s:%s gave no message", name, arg);
        ck_assert(out.len <= 256);
        if (rc == 0 && g_utf8_validate(text, -1, NULL))
            ck_assert_msg(g_utf8_validate(buf_cstr(&out), (gssize)out.len, NULL), "%s:%s -> invalid UTF-8",
                          name, arg);
        buf_reset(&out);
        rc = format_manifest(arg, "currency", v, &out, err, sizeof err);
        ck_assert(rc == 0 || rc == -1);
        json_decref(v);
    }
    buf_free(&out);
}
END_TEST

static Suite *format_suite(void)
{
    Suite *s = suite_create("format");
    TCase *t = tcase_create("filters");
    tcase_add_loop_test(t, filter_table, 0, sizeof cases / sizeof cases[0]);
    tcase_add_loop_test(t, locale_table, 0, sizeof locale_rows / sizeof locale_rows[0]);
    tcase_add_test(t, known_filters);
    tcase_add_test(t, check_without_value);
    tcase_add_loop_test(t, manifest_table, 0, sizeof mcases / sizeof mcases[0]);
    tcase_add_test(t, manifest_errors);
    tcase_add_loop_test(t, plain_table, 0, sizeof plain_cases / sizeof plain_cases[0]);
    tcase_add_test(t, plain_missing_and_capped);
    tcase_add_test(t, doubles_round_trip);
    tcase_add_test(t, hostile_inputs);
    tcase_add_test(t, random_inputs);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return tu_run(format_suite());
}
