/* Unit tests for src/engine/intl and the locale-aware filters of src/engine/format:
 * ICU dates (names, styles) and numbers in words, in the text's language or an explicit
 * locale; unknown locales; many threads formatting at once. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "craftkit/engine.h"
#include "engine/engine_int.h"
#include "engine/format.h"
#include "engine/intl.h"
#include "tu.h"

#define NB "\xC2\xA0" /* no-break space */

typedef struct {
    const char *name;
    const char *arg;   /* NULL: no argument */
    const char *lang;  /* the text's language, NULL: none */
    const char *value; /* JSON text */
    const char *want;  /* expected text; NULL: expect an error containing err */
    const char *err;
} lcase_t;

static const lcase_t cases[] = {
    /* date styles: ICU's own patterns */
    {"date", "long", "de-DE", "\"2026-06-04\"", "4. Juni 2026", NULL},
    {"date", "long", "fr-FR", "\"2026-06-04\"", "4 juin 2026", NULL},
    {"date", "long", "ja-JP", "\"2026-06-04\"",
     "2026\xE5\xB9\xB4"
     "6\xE6\x9C\x88"
     "4\xE6\x97\xA5",
     NULL},
    {"date", "long", NULL, "\"2026-06-04\"", "June 4, 2026", NULL},
    {"date", "long:de", NULL, "\"2026-06-04T23:30:00+02:00\"", "4. Juni 2026", NULL},
    {"date", "\"long:fr-FR\"", "de", "\"2026-06-04\"", "4 juin 2026", NULL},
    {"date", "full", "fr-FR", "\"2026-06-04\"", "jeudi 4 juin 2026", NULL},
    {"date", "medium", "en-GB", "\"2026-06-04\"", "4 Jun 2026", NULL},
    {"date", "short", "de-DE", "\"2026-06-04\"", "04.06.26", NULL},
    {"date", "long", "de_CH", "\"2026-06-04\"", "4. Juni 2026", NULL},
    /* patterns with names follow the text's language */
    {"date", "D MMMM YYYY", "de", "\"2026-03-04\"", "4 M\xC3\xA4rz 2026", NULL},
    {"date", "dddd D MMMM", "fr", "\"2026-06-04\"", "jeudi 4 juin", NULL},
    {"date", "\"dddd D MMMM\":es-ES", "de", "\"2026-06-04\"", "jueves 4 junio", NULL},
    {"date", "ddd D MMM", "en", "\"2026-09-04\"", "Fri 4 Sep", NULL},
    {"date", "ddd D MMM", NULL, "\"2026-09-04\"", "Fri 4 Sep", NULL},
    {"date", "DD.MM.YYYY", "tlh", "\"2026-06-04\"", "04.06.2026", NULL}, /* no names: no locale needed */
    {"date", NULL, "fr", "\"2026-06-04\"", "2026-06-04", NULL},
    /* words */
    {"words", "fr", NULL, "49.95", "quarante-neuf virgule quatre-vingt-quinze", NULL},
    {"words", NULL, "fr-FR", "49.95", "quarante-neuf virgule quatre-vingt-quinze", NULL},
    {"words", "en", "fr", "1203", "one thousand two hundred three", NULL},
    {"words", NULL, NULL, "0.05", "zero point zero five", NULL},
    {"words", "en:2", NULL, "49.5", "forty-nine point fifty", NULL},
    {"words", "en:0", NULL, "49.5", "fifty", NULL},
    {"words", "fr", NULL, "-12", "moins douze", NULL},
    {"words", "en", NULL, "\"-0.001\"", "minus zero point zero zero one", NULL},
    {"words", "en:2", NULL, "-0.001", "zero point zero zero", NULL},
    {"words", "es", NULL, "21", "veintiuno", NULL},
    {"words", "en", NULL, "\"12.50\"", "twelve point five", NULL},
    /* bad input */
    {"words", "xx", NULL, "1", NULL, "no locale data for \"xx\""},
    {"words", NULL, "tlh", "1", NULL, "the text's lang"},
    {"words", "en", NULL, "\"abc\"", NULL, "expects a number"},
    {"words", "en", NULL, "1e19", NULL, "too large"},
    {"words", "en:11", NULL, "1", NULL, "decimals"},
    {"words", "en:2:x", NULL, "1", NULL, "too many arguments"},
    {"date", "long", "xx", "\"2026-06-04\"", NULL, "no locale data for \"xx\""},
    {"date", "long:@@", NULL, "\"2026-06-04\"", NULL, "no locale data"},
    {"date", "MMMM", "qq", "\"2026-06-04\"", NULL, "the text's lang"},
    {"date", "\"MMMM\":", NULL, "\"2026-06-04\"", NULL, "locale is missing"},
    {"date", "long", "de", "\"2026-02-30\"", NULL, "not a valid ISO-8601 date"},
};

START_TEST(locale_table)
{
    const lcase_t *c = &cases[_i];
    json_t *v = json_loads(c->value, JSON_DECODE_ANY, NULL);
    ck_assert_ptr_nonnull(v);
    buf_t out;
    buf_init(&out, 4096);
    char err[300] = "";
    int rc = format_apply_in(c->name, c->arg, c->lang, v, &out, err, sizeof err);
    if (c->want) {
        ck_assert_msg(rc == 0, "%s:%s (%s) failed: %s", c->name, c->arg ? c->arg : "",
                      c->lang ? c->lang : "-", err);
        ck_assert_str_eq(buf_cstr(&out), c->want);
    } else {
        ck_assert_msg(rc == -1, "%s:%s gave \"%s\"", c->name, c->arg ? c->arg : "", buf_cstr(&out));
        ck_assert_msg(strstr(err, c->err), "error \"%s\" lacks \"%s\"", err, c->err);
        ck_assert_uint_eq(out.len, 0); /* nothing half-written */
    }
    buf_free(&out);
    json_decref(v);
}
END_TEST

/* German spelled-out numbers carry soft hyphens from ICU's rules: they are kept (line breaks). */
START_TEST(words_german_soft_hyphens)
{
    buf_t out;
    buf_init(&out, 4096);
    char err[300] = "";
    json_t *v = json_real(49.95);
    ck_assert_int_eq(format_apply_in("words", "de", NULL, v, &out, err, sizeof err), 0);
    ck_assert_str_eq(buf_cstr(&out),
                     "neun\xC2\xADund\xC2\xADvierzig Komma f\xC3\xBCnf\xC2\xADund\xC2\xADneunzig");
    json_decref(v);
    buf_free(&out);
}
END_TEST

START_TEST(check_time_errors)
{
    char err[300] = "";
    ck_assert_int_eq(format_check_in("words", "xx", NULL, err, sizeof err), -1);
    ck_assert(strstr(err, "\"xx\""));
    ck_assert_int_eq(format_check("words", "fr", err, sizeof err), 0);
    ck_assert_int_eq(format_check("date", "long:nope", err, sizeof err), -1);
    ck_assert_int_eq(format_check("date", "\"DD.MM\":zz", err, sizeof err), -1); /* a typo is reported */
    ck_assert_int_eq(format_check_in("date", "long", "tlh", err, sizeof err), -1);
    ck_assert(strstr(err, "the text's lang"));
    ck_assert_int_eq(format_check_in("date", "long", "ja", err, sizeof err), 0);
    ck_assert_int_eq(format_check_in("date", "DD.MM.YYYY", "tlh", err, sizeof err), 0);
    ck_assert(format_needs_locale("words", NULL));
    ck_assert(format_needs_locale("date", "long"));
    ck_assert(format_needs_locale("date", "D MMMM"));
    ck_assert(!format_needs_locale("date", "long:fr"));
    ck_assert(!format_needs_locale("date", "DD/MM"));
    ck_assert(!format_needs_locale("words", "fr"));
    ck_assert(!format_needs_locale("number", "2"));
}
END_TEST

START_TEST(intl_direct)
{
    buf_t out;
    buf_init(&out, 64);
    char err[300] = "";
    ck_assert(intl_locale_known("de-DE"));
    ck_assert(intl_locale_known("nb_NO"));
    ck_assert(intl_locale_known("zh-Hans"));
    ck_assert(!intl_locale_known("xx"));
    ck_assert(!intl_locale_known(""));
    ck_assert(!intl_locale_known(NULL));
    ck_assert(!intl_locale_known("de DE"));
    ck_assert_int_eq(intl_month_name("it", 13, false, &out, err, sizeof err), -1);
    ck_assert_int_eq(intl_weekday_name("it", 0, false, &out, err, sizeof err), 0);
    ck_assert_str_eq(buf_cstr(&out), "domenica");
    ck_assert_int_eq(intl_spell("en", false, "1234567890123456789", "", &out, err, sizeof err), -1);
    ck_assert_str_eq(buf_cstr(&out), "domenica");
    buf_reset(&out);
    /* out's cap: nothing is half-written */
    ck_assert_int_eq(intl_spell("en", false, "777777777777777777", "", &out, err, sizeof err), -1);
    ck_assert(strstr(err, "too long"));
    ck_assert_uint_eq(out.len, 0);
    ck_assert(strlen(intl_icu_version()) > 0);
    buf_free(&out);
}
END_TEST

/* More locales than one thread's cache holds, in several threads at once: every result right. */
static void *format_many(void *arg)
{
    static const char *const tags[] = {"de-DE", "fr-FR", "ja-JP", "es-ES", "it-IT", "nl-NL",
                                       "pt-BR", "sv-SE", "pl-PL", "da-DK", "en-GB", "nb-NO"};
    long bad = 0;
    (void)arg;
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
            buf_t a, b;
            buf_init(&a, 4096);
            buf_init(&b, 4096);
            char err[300];
            json_t *d = json_string("2026-06-04"), *n = json_real(49.95);
            if (format_apply_in("date", "long", tags[i], d, &a, err, sizeof err) != 0 || a.len == 0 ||
                !strstr(buf_cstr(&a), "2026"))
                bad++;
            if (format_apply_in("words", NULL, tags[i], n, &b, err, sizeof err) != 0 || b.len == 0)
                bad++;
            json_decref(d);
            json_decref(n);
            buf_free(&a);
            buf_free(&b);
        }
    }
    return (void *)bad;
}

START_TEST(threads)
{
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, format_many, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *bad;
        pthread_join(th[i], &bad);
        ck_assert_int_eq((long)bad, 0);
    }
}
END_TEST

/* ---- in layouts ---- */

static engine_ctx_t *CTX;

static void setup(void)
{
    engine_global_init();
    CTX = engine_ctx_new(NULL);
    ck_assert_ptr_nonnull(CTX);
}

static void teardown(void)
{
    engine_ctx_free(CTX);
}

static json_t *J(const char *s)
{
    json_error_t e;
    json_t *v = json_loads(s, 0, &e);
    ck_assert_msg(v != NULL, "bad test JSON: %s: %s", e.text, s);
    return v;
}

/* Compiles a layout; NULL with *issues set when it has problems. */
static engine_template_t *compile_str(const char *layout, json_t **issues)
{
    json_t *l = J(layout);
    char err[1000];
    *issues = NULL;
    engine_template_t *t = engine_compile(l, NULL, NULL, issues, err, sizeof err);
    json_decref(l);
    return t;
}

static bool has_issue(const json_t *issues, const char *path, const char *needle)
{
    char *s = json_dumps(issues, 0);
    bool found = false;
    json_t *msgs = json_object_get(json_object_get(issues, "fieldErrors"), path);
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m) if (strstr(json_string_value(m), needle)) found = true;
    if (!found)
        fprintf(stderr, "no issue at %s with \"%s\" in %s\n", path, needle, s);
    free(s);
    return found;
}

/* True when the debug layout of page 1 shows exactly the text s. */
static bool shows(engine_template_t *t, const char *data, const char *s)
{
    char err[600];
    json_t *d = J(data);
    json_t *r = engine_debug_layout(CTX, t, d, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    json_t *its = json_object_get(json_array_get(json_object_get(r, "pages"), 0), "items");
    bool found = false;
    size_t i;
    json_t *it;
    json_array_foreach(its, i, it)
    {
        const char *txt = json_string_value(json_object_get(it, "text"));
        if (txt && !strcmp(txt, s))
            found = true;
    }
    if (!found) {
        char *dump = json_dumps(its, 0);
        fprintf(stderr, "\"%s\" not in %s\n", s, dump);
        free(dump);
    }
    json_decref(r);
    json_decref(d);
    return found;
}

START_TEST(layout_dates_follow_lang)
{
    json_t *issues;
    engine_template_t *t =
        compile_str("{\"version\": 1, \"metadata\": {\"lang\": \"de-DE\"}, \"body\": ["
                    "  {\"text\": \"{{ d | date:long }}\"},"
                    "  {\"text\": \"{{ d | date:long }}\", \"lang\": \"fr-FR\"},"
                    "  {\"runs\": [{\"text\": \"{{ d | date:long }}\", \"lang\": \"ja-JP\"}]},"
                    "  {\"text\": \"{{ n | words }}\", \"lang\": \"fr\"},"
                    "  {\"text\": \"{{ d | date:'dddd D MMMM' }}\", \"lang\": \"{{ l }}\"}"
                    "]}",
                    &issues);
    ck_assert_ptr_nonnull(t);
    const char *data = "{\"d\": \"2026-06-04\", \"n\": 49.95, \"l\": \"it\"}";
    ck_assert(shows(t, data, "4. Juni 2026"));
    ck_assert(shows(t, data, "4 juin 2026"));
    ck_assert(shows(t, data,
                    "2026\xE5\xB9\xB4"
                    "6\xE6\x9C\x88"
                    "4\xE6\x97\xA5"));
    ck_assert(shows(t, data, "quarante-neuf virgule quatre-vingt-quinze"));
    ck_assert(shows(t, data, "gioved\xC3\xAC 4 giugno"));
    /* a language from the data without ICU data: the render fails naming the text */
    char err[600];
    json_t *d = J("{\"d\": \"2026-06-04\", \"n\": 1, \"l\": \"tlh\"}");
    ck_assert_ptr_null(engine_debug_layout(CTX, t, d, err, sizeof err));
    ck_assert_msg(strstr(err, "layout.body.4") && strstr(err, "no locale data for \"tlh\""), "%s", err);
    json_decref(d);
    engine_template_free(t);
}
END_TEST

START_TEST(layout_unknown_locales_are_issues)
{
    json_t *issues;
    engine_template_t *t =
        compile_str("{\"version\": 1, \"body\": ["
                    "  {\"text\": \"{{ n | words:xx }}\"},"
                    "  {\"text\": \"{{ d | date:long }}\", \"lang\": \"tlh\"},"
                    "  {\"runs\": [\"a\", {\"text\": \"{{ d | date:'D MMMM' }}\", \"lang\": \"qaa\"}]},"
                    "  {\"text\": \"{{ d | date:'DD.MM.YYYY' }} {{ n | words:en }}\", \"lang\": \"tlh\"},"
                    "  {\"text\": \"{{ d | date:\\\"long:zz\\\" }}\"}"
                    "]}",
                    &issues);
    ck_assert_ptr_null(t);
    ck_assert(has_issue(issues, "layout.body.0.text", "no locale data for \"xx\""));
    ck_assert(has_issue(issues, "layout.body.1.text", "the text's lang"));
    ck_assert(has_issue(issues, "layout.body.2.runs.1.text", "\"qaa\""));
    ck_assert(has_issue(issues, "layout.body.4.text", "\"zz\""));
    ck_assert_ptr_null(json_object_get(json_object_get(issues, "fieldErrors"), "layout.body.3.text"));
    json_decref(issues);
}
END_TEST

static Suite *intl_suite(void)
{
    Suite *s = suite_create("intl");
    TCase *t = tcase_create("core");
    tcase_set_timeout(t, 120);
    tcase_add_loop_test(t, locale_table, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(t, words_german_soft_hyphens);
    tcase_add_test(t, check_time_errors);
    tcase_add_test(t, intl_direct);
    tcase_add_test(t, threads);
    suite_add_tcase(s, t);
    TCase *e = tcase_create("layouts");
    tcase_set_timeout(e, 120);
    tcase_add_checked_fixture(e, setup, teardown);
    tcase_add_test(e, layout_dates_follow_lang);
    tcase_add_test(e, layout_unknown_locales_are_issues);
    suite_add_tcase(s, e);
    return s;
}

int main(void)
{
    return tu_run(intl_suite());
}
