/* Unit tests for the layout compiler: issues (all at once, by path), bindings, pageConfig,
 * the default layout. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "craftkit/engine.h"
#include "engfix.h"
#include "tu.h"

static const char *MANIFEST =
    "{\"variables\":["
    "{\"key\":\"customer.name\",\"dataType\":\"text\",\"required\":true},"
    "{\"key\":\"customer.vatId\",\"dataType\":\"text\"},"
    "{\"key\":\"total\",\"dataType\":\"currency\",\"format\":\"money:EUR\"},"
    "{\"key\":\"logo\",\"dataType\":\"image\"},"
    "{\"key\":\"issued\",\"dataType\":\"date\"}],"
    "\"loops\":[{\"key\":\"items\",\"itemFields\":["
    "{\"key\":\"name\",\"dataType\":\"text\"},{\"key\":\"qty\",\"dataType\":\"number\"},"
    "{\"key\":\"price\",\"dataType\":\"currency\",\"format\":\"money:USD\"}]}]}";

/* Compiles; returns the issues object (or NULL when the layout compiled). */
static json_t *issues_of(const char *layout, const char *page_config, bool with_manifest)
{
    json_t *l = engfix_json(layout), *pc = page_config ? engfix_json(page_config) : NULL,
           *m = with_manifest ? engfix_json(MANIFEST) : NULL;
    json_t *issues = NULL;
    char err[1000] = "";
    engine_template_t *t = engine_compile(l, pc, m, &issues, err, sizeof err);
    if (t) {
        ck_assert_ptr_null(issues);
        engine_template_free(t);
    } else {
        ck_assert_ptr_nonnull(issues);
        ck_assert_msg(strstr(err, "invalid layout") != NULL, "%s", err);
    }
    json_decref(l);
    json_decref(pc);
    json_decref(m);
    return issues;
}

static void dump(const json_t *issues)
{
    char *s = json_dumps(issues, JSON_INDENT(1));
    fprintf(stderr, "%s\n", s);
    free(s);
}

START_TEST(valid_layout_compiles)
{
    json_t *i = issues_of("{\"body\":["
                          "{\"type\":\"heading\",\"text\":\"Hi {{customer.name}}\"},"
                          "\"Total: {{ total }}\","
                          "{\"type\":\"text\",\"if\":\"customer.vatId\",\"text\":\"VAT {{customer.vatId}}\"},"
                          "{\"type\":\"image\",\"src\":\"{{logo}}\",\"width\":\"30mm\"},"
                          "{\"type\":\"table\",\"each\":\"items\",\"columns\":["
                          "{\"header\":\"Name\",\"cell\":\"{{item.name}}\"},"
                          "{\"width\":40,\"align\":\"right\",\"header\":\"Qty\",\"cell\":\"{{item.qty}}\"},"
                          "{\"width\":\"20%\",\"header\":\"#\",\"cell\":\"{{loop.index}}\"}]},"
                          "{\"type\":\"stack\",\"each\":\"items\",\"as\":\"it\",\"if\":\"it.qty > 1\","
                          "\"children\":[\"{{it.name}} × {{it.qty}} = {{it.price}}\"]},"
                          "{\"type\":\"text\",\"text\":\"{{issued | date:\\\"D MMMM YYYY\\\"}}\"}"
                          "],\"footer\":[\"Page {{page}} of {{pages}}\"]}",
                          NULL, true);
    if (i)
        dump(i);
    ck_assert_ptr_null(i);
}
END_TEST

START_TEST(all_problems_at_once)
{
    json_t *i = issues_of(
        "{\"body\":["
        "{\"type\":\"paragraph\",\"text\":\"x\"},"                    /* 0 unknown type */
        "{\"type\":\"text\",\"text\":\"{{customer.nmae}}\"},"         /* 1 unknown var */
        "{\"type\":\"text\",\"text\":\"x\",\"style\":\"h9\"},"        /* 2 unknown style */
        "{\"type\":\"text\",\"text\":\"x\",\"colour\":\"red\"},"      /* 3 unknown prop */
        "{\"type\":\"text\",\"text\":\"x\",\"color\":\"#12\"},"       /* 4 bad colour */
        "{\"type\":\"spacer\",\"height\":\"12furlongs\"},"            /* 5 bad length */
        "{\"type\":\"text\",\"text\":\"{{total | curency:EUR}}\"},"   /* 6 unknown filter */
        "{\"type\":\"text\",\"text\":\"{{total | currency:EURO}}\"}," /* 7 bad filter arg */
        "{\"type\":\"text\",\"text\":\"{{ total \"},"                 /* 8 syntax */
        "{\"type\":\"text\",\"text\":\"{{page}}\"},"                  /* 9 page outside footer */
        "{\"type\":\"table\",\"each\":\"items\",\"columns\":[{\"cell\":\"{{item.qtty}}\"}]}," /* 10 */
        "{\"type\":\"text\",\"text\":\"{{items}}\"},"                       /* 11 a loop as text */
        "{\"type\":\"stack\",\"each\":\"customer.name\",\"children\":[]},"  /* 12 not a loop */
        "{\"type\":\"text\",\"if\":\"total >\",\"text\":\"x\"},"            /* 13 bad condition */
        "{\"type\":\"text\",\"if\":\"customer\",\"text\":\"{{customer}}\"}" /* 14 an object as text */
        "]}",
        NULL, true);
    ck_assert_ptr_nonnull(i);
    engfix_expect_issue(i, "layout.body.0.type", "Unknown value \"paragraph\"");
    engfix_expect_issue(i, "layout.body.1.text",
                        "Unknown variable \"customer.nmae\" (did you mean \"customer.name\"?)");
    engfix_expect_issue(i, "layout.body.2.style", "Unknown style \"h9\"");
    engfix_expect_issue(i, "layout.body.3.colour", "Unknown property \"colour\"");
    engfix_expect_issue(i, "layout.body.4.color", "Invalid colour");
    engfix_expect_issue(i, "layout.body.5.height", "Invalid length \"12furlongs\"");
    engfix_expect_issue(i, "layout.body.6.text", "Unknown filter \"curency\"");
    engfix_expect_issue(i, "layout.body.7.text", "currency");
    engfix_expect_issue(i, "layout.body.8.text", "Unclosed");
    engfix_expect_issue(i, "layout.body.9.text", "only defined in header and footer");
    engfix_expect_issue(i, "layout.body.10.columns.0.cell",
                        "Unknown field \"item.qtty\" (did you mean \"item.qty\"?)");
    engfix_expect_issue(i, "layout.body.11.text", "is a loop");
    engfix_expect_issue(i, "layout.body.12.each", "Unknown loop");
    engfix_expect_issue(i, "layout.body.13.if", "Condition ends too early");
    engfix_expect_issue(i, "layout.body.14.text",
                        "\"customer\" is an object: print one of its fields, such as \"customer.");
    ck_assert_ptr_null(json_object_get(json_object_get(i, "fieldErrors"), "layout.body.14.if"));
    ck_assert_int_eq(json_array_size(json_object_get(i, "formErrors")), 0);
    json_decref(i);
}
END_TEST

START_TEST(without_manifest_no_binding_checks)
{
    json_t *i = issues_of("{\"body\":[\"{{anything.at.all}}\",{\"type\":\"table\",\"each\":\"rows\","
                          "\"columns\":[{\"cell\":\"{{item.whatever}}\"}]}]}",
                          NULL, false);
    ck_assert_ptr_null(i);
    /* ...but page/pages still belong to headers and footers, and loop.* to loops. */
    i = issues_of("{\"body\":[\"{{pages}}\", \"{{loop.index}}\"]}", NULL, false);
    engfix_expect_issue(i, "layout.body.0", "only defined in header and footer");
    engfix_expect_issue(i, "layout.body.1", "only defined inside");
    json_decref(i);
}
END_TEST

START_TEST(structure_errors)
{
    json_t *i = issues_of("{\"bodyy\":[]}", NULL, false);
    engfix_expect_issue(i, "layout.bodyy", "Unknown property");
    engfix_expect_issue(i, "layout.body", "Required");
    json_decref(i);
    i = issues_of(
        "{\"body\":[{\"type\":\"table\",\"columns\":[\"*\",\"*\"],\"rows\":[[\"a\"],[\"a\",\"b\",\"c\"],"
        "[{\"text\":\"ab\",\"colSpan\":2}]]}]}",
        NULL, false);
    engfix_expect_issue(i, "layout.body.0.rows.0", "Row has 1 cell");
    engfix_expect_issue(i, "layout.body.0.rows.1", "Row has 3 cells");
    ck_assert(!json_object_get(json_object_get(i, "fieldErrors"), "layout.body.0.rows.2"));
    json_decref(i);
    i = issues_of("{\"body\":[{\"type\":\"columns\",\"columns\":[{\"width\":\"auto\",\"children\":[]}]},"
                  "{\"type\":\"box\"},{\"type\":\"text\"},{\"type\":\"heading\",\"level\":7,\"text\":\"x\"},"
                  "{\"type\":\"barcode\",\"data\":\"x\"},{\"type\":\"barcode\",\"symbology\":\"ean13\","
                  "\"data\":\"12\"},"
                  "{\"type\":\"text\",\"as\":\"x\",\"text\":\"y\"}, 42]}",
                  NULL, false);
    engfix_expect_issue(i, "layout.body.0.columns.0.width", "Column widths");
    engfix_expect_issue(i, "layout.body.1", "Missing \"children\"");
    engfix_expect_issue(i, "layout.body.2", "needs \"text\" or \"runs\"");
    engfix_expect_issue(i, "layout.body.3.level", "between 1 and 3");
    engfix_expect_issue(i, "layout.body.4", "needs \"symbology\"");
    engfix_expect_issue(i, "layout.body.5.data", "ean13");
    engfix_expect_issue(i, "layout.body.6.as", "add \"each\"");
    engfix_expect_issue(i, "layout.body.7", "Expected a block");
    json_decref(i);
}
END_TEST

START_TEST(fonts_are_checked_when_compiling)
{
    json_t *i = issues_of("{\"styles\":{\"fancy\":{\"font\":\"Comic Sans Nope\"}},\"body\":["
                          "{\"type\":\"text\",\"text\":\"x\",\"font\":\"Papyrus Nope\"},"
                          "{\"type\":\"text\",\"text\":\"y\",\"font\":\"Liberation Serif\"},"
                          "{\"type\":\"text\",\"text\":\"z\",\"font\":\"Nope Sans, DejaVu Serif\"},"
                          "{\"type\":\"text\",\"text\":\"w\",\"font\":\"monospace\"}]}",
                          NULL, false);
    engfix_expect_issue(i, "layout.styles.fancy.font", "Font \"Comic Sans Nope\" is not installed");
    engfix_expect_issue(i, "layout.body.0.font", "Font \"Papyrus Nope\" is not installed");
    ck_assert_int_eq(json_object_size(json_object_get(i, "fieldErrors")), 2);
    json_decref(i);
}
END_TEST

START_TEST(styles_are_checked_once_and_applied)
{
    json_t *i = issues_of("{\"styles\":{\"a\":{\"fontSize\":\"big\",\"fnt\":\"x\"}},\"body\":["
                          "{\"type\":\"text\",\"text\":\"x\",\"style\":\"a\"},"
                          "{\"type\":\"text\",\"text\":\"y\",\"style\":[\"a\",\"h1\",\"nope\"]}]}",
                          NULL, false);
    engfix_expect_issue(i, "layout.styles.a.fontSize", "Invalid length");
    engfix_expect_issue(i, "layout.styles.a.fnt", "Unknown style property");
    engfix_expect_issue(i, "layout.body.1.style.2", "Unknown style \"nope\"");
    ck_assert(!json_object_get(json_object_get(i, "fieldErrors"), "layout.body.0.style"));
    json_decref(i);
}
END_TEST

static void page_size(const char *layout, const char *pc, double *w, double *h)
{
    json_t *l = engfix_json(layout), *p = pc ? engfix_json(pc) : NULL;
    char err[500];
    json_t *issues = NULL;
    engine_template_t *t = engine_compile(l, p, NULL, &issues, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    engine_template_page_size(t, w, h);
    engine_template_free(t);
    json_decref(l);
    json_decref(p);
}

START_TEST(page_settings_and_page_config)
{
    double w, h;
    page_size("{\"body\":[]}", NULL, &w, &h);
    ck_assert_double_eq_tol(w, 595.28, 0.01);
    ck_assert_double_eq_tol(h, 841.89, 0.01);
    page_size("{\"page\":{\"size\":\"Letter\",\"orientation\":\"landscape\"},\"body\":[]}", NULL, &w, &h);
    ck_assert_double_eq_tol(w, 792, 0.01);
    ck_assert_double_eq_tol(h, 612, 0.01);
    page_size("{\"page\":{\"size\":[\"100mm\",\"150mm\"]},\"body\":[]}", NULL, &w, &h);
    ck_assert_double_eq_tol(w, 283.46, 0.01);
    ck_assert_double_eq_tol(h, 425.20, 0.01);
    /* pageConfig wins over the layout's page. */
    page_size("{\"page\":{\"size\":\"A4\"},\"body\":[]}",
              "{\"format\":\"a5\",\"orientation\":\"landscape\","
              "\"margin\":{\"top\":\"10mm\"},\"printBackground\":true}",
              &w, &h);
    ck_assert_double_eq_tol(w, 595.28, 0.01);
    ck_assert_double_eq_tol(h, 419.53, 0.01);
    page_size("{\"body\":[]}", "{\"width\":400,\"height\":\"6in\"}", &w, &h);
    ck_assert_double_eq_tol(w, 400, 0.01);
    ck_assert_double_eq_tol(h, 432, 0.01);

    json_t *i = issues_of("{\"body\":[]}", "{\"format\":\"A9\",\"margin\":\"12parsecs\",\"zoom\":2}", false);
    engfix_expect_issue(i, "pageConfig.format", "Unknown page size \"A9\"");
    engfix_expect_issue(i, "pageConfig.margin", "Invalid length");
    engfix_expect_issue(i, "pageConfig.zoom", "Unknown property");
    json_decref(i);
    i = issues_of("{\"page\":{\"size\":\"A6\",\"margins\":\"52mm\"},\"body\":[]}", NULL, false);
    engfix_expect_issue(i, "layout.page.margins", "no room for the content");
    json_decref(i);
}
END_TEST

START_TEST(default_layout_from_manifest)
{
    json_t *m = engfix_json(MANIFEST);
    json_t *l = engine_default_layout(m);
    ck_assert_ptr_nonnull(l);
    char *s = json_dumps(l, 0);
    ck_assert_msg(strstr(s, "{{customer.name}}") && strstr(s, "{{item.qty}}") &&
                      strstr(s, "\"each\": \"items\"") && strstr(s, "{{logo}}"),
                  "%s", s);
    free(s);
    char err[500];
    json_t *issues = NULL;
    engine_template_t *t = engine_compile(NULL, NULL, m, &issues, err, sizeof err);
    if (!t)
        dump(issues);
    ck_assert_msg(t != NULL, "%s", err);
    engine_template_free(t);
    json_decref(l);
    json_decref(m);
    /* A manifest with nothing still gives a valid, empty document. */
    json_t *empty = engfix_json("{\"variables\":[],\"loops\":[]}");
    l = engine_default_layout(empty);
    t = engine_compile(l, NULL, empty, &issues, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    engine_template_free(t);
    json_decref(l);
    json_decref(empty);
}
END_TEST

START_TEST(aggregates_and_data_currency_are_checked)
{
    /* valid: aggregates over a manifest loop, its numeric fields, "where" on its fields */
    json_t *i =
        issues_of("{\"body\":["
                  "\"{{ sum(items, \\\"price\\\") }} {{ count(items where item.qty > 1) }}\","
                  "\"{{ avg(items as it where it.name != 'x', \\\"qty\\\") | number:2 }}\","
                  "\"{{ total | currency:(customer.vatId):de-DE }}\","
                  "{\"type\":\"table\",\"each\":\"items\",\"columns\":[{\"cell\":"
                  "\"{{ count(items where item.qty == 1) }} {{ item.price | money:(customer.name) }}\"}]}"
                  "]}",
                  NULL, true);
    if (i)
        dump(i);
    ck_assert_ptr_null(i);
    i = issues_of("{\"body\":["
                  "\"{{ sum(items, \\\"prize\\\") }}\","              /* 0 unknown field */
                  "\"{{ sum(items, \\\"name\\\") }}\","               /* 1 not a number */
                  "\"{{ sum(customer.name, \\\"x\\\") }}\","          /* 2 a variable, not a loop */
                  "\"{{ count(lines) }}\","                           /* 3 unknown loop */
                  "\"{{ median(items, \\\"qty\\\") }}\","             /* 4 unknown aggregate */
                  "\"{{ count(items where item.qtty > 1) }}\","       /* 5 unknown field in where */
                  "\"{{ count(items where customer.nmae) }}\","       /* 6 unknown variable in where */
                  "\"{{ total | number:(customer.name) }}\","         /* 7 only currency from data */
                  "\"{{ total | currency:(customer.nmae) }}\","       /* 8 unknown currency path */
                  "\"{{ total | currency:(customer.name):xx-YY }}\"," /* 9 bad locale */
                  "{\"type\":\"text\",\"if\":\"count(items) > 1\",\"text\":\"x\"}" /* 10 not in conditions */
                  "]}",
                  NULL, true);
    ck_assert_ptr_nonnull(i);
    engfix_expect_issue(i, "layout.body.0", "Unknown field \"prize\"");
    engfix_expect_issue(i, "layout.body.1", "sum(items, \"name\"): \"name\" is a text field, not a number");
    engfix_expect_issue(i, "layout.body.2",
                        "sum(customer.name, \"x\"): \"customer.name\" is a variable, not a loop");
    engfix_expect_issue(i, "layout.body.3", "Unknown loop \"lines\"");
    engfix_expect_issue(i, "layout.body.4", "Unknown function \"median\"");
    engfix_expect_issue(i, "layout.body.5", "Unknown field \"item.qtty\" (did you mean \"item.qty\"?)");
    engfix_expect_issue(i, "layout.body.6", "Unknown variable \"customer.nmae\"");
    engfix_expect_issue(i, "layout.body.7", "Only the currency and money filters");
    engfix_expect_issue(i, "layout.body.8", "Unknown variable \"customer.nmae\"");
    engfix_expect_issue(i, "layout.body.9", "xx-YY");
    engfix_expect_issue(i, "layout.body.10.if", "not in conditions");
    json_decref(i);
    /* without a manifest only the syntax and the aggregate names are checked */
    i = issues_of("{\"body\":[\"{{ sum(rows as row where row.a > 1, \\\"b\\\") }} {{ x | currency:(c) }}\"]}",
                  NULL, false);
    ck_assert_ptr_null(i);
}
END_TEST

START_TEST(hostile_layouts_are_bounded)
{
    /* Deep nesting: an issue, not a stack overflow. */
    char *deep = malloc(200000);
    size_t n = 0;
    n += (size_t)sprintf(deep + n, "{\"body\":[");
    for (int i = 0; i < 2000; i++)
        n += (size_t)sprintf(deep + n, "{\"type\":\"stack\",\"children\":[");
    for (int i = 0; i < 2000; i++)
        n += (size_t)sprintf(deep + n, "]}");
    sprintf(deep + n, "]}");
    json_error_t e;
    json_t *l = json_loads(deep, 0, &e);
    free(deep);
    if (l) { /* jansson may refuse the depth itself, which is fine too */
        json_t *issues = NULL;
        char err[500];
        engine_template_t *t = engine_compile(l, NULL, NULL, &issues, err, sizeof err);
        ck_assert_ptr_null(t);
        ck_assert(strstr(err, "nested more than"));
        json_decref(issues);
        json_decref(l);
    }
    /* Many blocks: capped, with a bounded number of issues. */
    json_t *body = json_array();
    for (int i = 0; i < 30000; i++)
        json_array_append_new(body, json_pack("{s:s,s:s}", "type", "bogus", "text", "x"));
    l = json_pack("{s:o}", "body", body);
    json_t *issues = NULL;
    char err[500];
    ck_assert_ptr_null(engine_compile(l, NULL, NULL, &issues, err, sizeof err));
    ck_assert_int_le(json_object_size(json_object_get(issues, "fieldErrors")), 100);
    json_decref(issues);
    json_decref(l);
}
END_TEST

/* libraryPartials (the project's library as a version snapshots it): used when the layout has
 * no partial of the name (its own win), problems at layout.libraryPartials.<name>, a library
 * partial sees only the library, and cycles through layout and library are reported. */
START_TEST(library_partials_are_checked)
{
    json_t *issues = issues_of(
        "{\"partials\": {\"head\": \"local {{customer.name}}\", \"loop\": [{\"type\": \"partial\", \"name\": "
        "\"back\"}]},"
        " \"libraryPartials\": {\"head\": {\"type\": \"nope\"}, \"letter\": [{\"type\": \"partial\", "
        "\"name\": "
        "\"inner\"}, {\"type\": \"partial\", \"name\": \"loop\"}],"
        "  \"inner\": {\"text\": \"{{customer.nmae}}\"}, \"back\": {\"type\": \"partial\", \"name\": "
        "\"back2\"},"
        "  \"back2\": [{\"type\": \"partial\", \"name\": \"back\"}]},"
        " \"body\": [{\"type\": \"partial\", \"name\": \"head\"}, {\"type\": \"partial\", \"name\": "
        "\"letter\"},"
        " {\"type\": \"partial\", \"name\": \"loop\"}, {\"type\": \"partial\", \"name\": \"gone\"}]}",
        NULL, true);
    ck_assert_ptr_nonnull(issues);
    json_t *fields = json_object_get(issues, "fieldErrors");
    /* the layout's own "head" wins: the broken library one is never compiled */
    ck_assert_ptr_null(json_object_get(fields, "layout.libraryPartials.head.type"));
    ck_assert(engfix_has_issue(issues, "layout.libraryPartials.inner.text", "customer.nmae"));
    ck_assert(engfix_has_issue(issues, "layout.libraryPartials.letter.1.name",
                               "Unknown partial \"loop\" (a library partial uses only library partials)"));
    ck_assert(engfix_has_issue(issues, "layout.libraryPartials.back2.0.name",
                               "Partial \"back\" uses itself (back → back2 → back)"));
    ck_assert(engfix_has_issue(issues, "layout.body.3.name", "Unknown partial \"gone\""));
    json_decref(issues);

    /* a library partial alone renders; a library that is not an object is one issue */
    ck_assert_ptr_null(issues_of("{\"libraryPartials\": {\"sig\": [\"Regards\"]},"
                                 " \"body\": [{\"type\": \"partial\", \"name\": \"sig\"}]}",
                                 NULL, true));
    issues = issues_of("{\"libraryPartials\": 1, \"body\": []}", NULL, false);
    ck_assert(engfix_has_issue(issues, "layout.libraryPartials", "Expected an object of named partials"));
    json_decref(issues);
}
END_TEST

/* Partials: used anywhere (loops included), problems at the partial's own path, unknown names
 * and cycles (direct and through others) reported with the path of the use and the chain. */
START_TEST(partials_are_checked)
{
    json_t *issues =
        issues_of("{\"partials\": {\"head\": [{\"type\": \"heading\", \"text\": \"{{customer.name}}\"}],"
                  " \"line\": \"{{item.name}}\"},"
                  " \"header\": [{\"type\": \"partial\", \"name\": \"head\"}],"
                  " \"body\": [{\"type\": \"partial\", \"name\": \"head\", \"marginBottom\": 4},"
                  " {\"type\": \"partial\", \"name\": \"line\", \"each\": \"items\"}]}",
                  NULL, true);
    if (issues)
        dump(issues);
    ck_assert_ptr_null(issues);

    issues = issues_of(
        "{\"partials\": {\"a\": [{\"type\": \"partial\", \"name\": \"b\"}],"
        " \"b\": {\"type\": \"box\", \"children\": [{\"type\": \"partial\", \"name\": \"a\"}]},"
        " \"self\": {\"type\": \"partial\", \"name\": \"self\"},"
        " \"typo\": [{\"type\": \"text\", \"txt\": \"x\"}]},"
        " \"body\": [{\"type\": \"partial\", \"name\": \"a\"},"
        " {\"type\": \"partial\", \"name\": \"self\"},"
        " {\"type\": \"partial\", \"name\": \"nope\"},"
        " {\"type\": \"partial\"},"
        " {\"type\": \"partial\", \"name\": \"typo\"}, {\"type\": \"partial\", \"name\": \"typo\"}]}",
        NULL, false);
    ck_assert_ptr_nonnull(issues);
    ck_assert(engfix_has_issue(issues, "layout.partials.b.children.0.name",
                               "Partial \"a\" uses itself (a → b → a)"));
    ck_assert(
        engfix_has_issue(issues, "layout.partials.self.name", "Partial \"self\" uses itself (self → self)"));
    ck_assert(engfix_has_issue(issues, "layout.body.2.name", "Unknown partial \"nope\""));
    ck_assert(engfix_has_issue(issues, "layout.body.3", "needs \"name\""));
    ck_assert(engfix_has_issue(issues, "layout.partials.typo.0.txt", "Unknown property \"txt\""));
    /* used twice, reported once */
    ck_assert_int_eq(json_array_size(json_object_get(json_object_get(issues, "fieldErrors"),
                                                     "layout.partials.typo.0.txt")),
                     1);
    json_decref(issues);

    issues =
        issues_of("{\"partials\": [], \"body\": [{\"type\": \"partial\", \"name\": \"x\"}]}", NULL, false);
    ck_assert(engfix_has_issue(issues, "layout.partials", "Expected an object of named partials"));
    ck_assert(engfix_has_issue(issues, "layout.body.0.name", "the layout has no \"partials\""));
    json_decref(issues);

    /* a loop variable outside its loop is still an error inside a partial */
    issues = issues_of("{\"partials\": {\"line\": \"{{item.name}}\"}, \"body\": [{\"type\": \"partial\", "
                       "\"name\": \"line\"}]}",
                       NULL, true);
    ck_assert_ptr_nonnull(issues);
    ck_assert(json_object_get(json_object_get(issues, "fieldErrors"), "layout.partials.line") != NULL);
    json_decref(issues);
}
END_TEST

START_TEST(indents_are_checked)
{
    json_t *i =
        issues_of("{\"styles\":{\"para\":{\"firstLineIndent\":\"-6mm\",\"indent\":\"6mm\"}},"
                  "\"body\":[{\"type\":\"text\",\"text\":\"x\",\"indent\":12,\"firstLineIndent\":-12},"
                  "{\"type\":\"stack\",\"hangingIndent\":\"1cm\",\"children\":[\"x\"]},"
                  "{\"type\":\"text\",\"text\":\"x\",\"style\":\"para\",\"firstLineIndent\":\"2em\"}]}",
                  NULL, true);
    ck_assert_ptr_nonnull(i);
    engfix_expect_issue(i, "layout.body.2.firstLineIndent", "Invalid length \"2em\"");
    ck_assert_int_eq((int)json_object_size(json_object_get(i, "fieldErrors")), 1);
    json_decref(i);
    i = issues_of("{\"body\":["
                  "{\"type\":\"text\",\"text\":\"x\",\"indent\":-3},"                 /* 0 */
                  "{\"type\":\"text\",\"text\":\"x\",\"hangingIndent\":\"-2mm\"},"    /* 1 */
                  "{\"type\":\"text\",\"text\":\"x\",\"firstLineIndent\":true},"      /* 2 */
                  "{\"type\":\"text\",\"text\":\"x\",\"indent\":\"3000pt\"},"         /* 3 */
                  "{\"type\":\"text\",\"text\":\"x\",\"firstLineIndent\":\"-80in\"}," /* 4 */
                  "{\"type\":\"text\",\"runs\":[{\"text\":\"y\",\"indent\":3}]}"      /* 5 */
                  "]}",
                  NULL, true);
    ck_assert_ptr_nonnull(i);
    engfix_expect_issue(i, "layout.body.0.indent", "Expected a length between 0");
    engfix_expect_issue(i, "layout.body.1.hangingIndent", "Invalid length \"-2mm\"");
    engfix_expect_issue(i, "layout.body.2.firstLineIndent", "Expected a length");
    engfix_expect_issue(i, "layout.body.3.indent", "An indent must be at most 2000 pt");
    engfix_expect_issue(i, "layout.body.4.firstLineIndent", "An indent must be at most 2000 pt");
    engfix_expect_issue(i, "layout.body.5.runs.0.indent", "Unknown property \"indent\"");
    json_decref(i);
}
END_TEST

START_TEST(hyphenate_is_checked_when_compiling)
{
    json_t *i = issues_of(
        "{\"body\":["
        "{\"type\":\"text\",\"text\":\"x\",\"hyphenate\":\"yes\"},"                        /* 0 */
        "{\"type\":\"text\",\"text\":\"x\",\"hyphenate\":true},"                           /* 1 */
        "{\"type\":\"text\",\"text\":\"x\",\"hyphenate\":true,\"lang\":\"pt\"},"           /* 2 */
        "{\"type\":\"stack\",\"hyphenate\":true,\"lang\":\"ja\",\"children\":[\"y\"]},"    /* 3 */
        "{\"type\":\"text\",\"lang\":\"en\",\"runs\":[{\"text\":\"z\",\"hyphenate\":1}]}," /* 4 */
        "{\"type\":\"text\",\"lang\":\"fr\",\"runs\":[{\"text\":\"z\",\"hyphenate\":true,\"lang\":\"sv\"}]}"
        "]}",
        NULL, false);
    engfix_expect_issue(i, "layout.body.0.hyphenate", "Expected true or false");
    engfix_expect_issue(i, "layout.body.1.text", "hyphenate needs the text's language");
    engfix_expect_issue(i, "layout.body.2.text", "No hyphenation dictionary for \"pt\"");
    engfix_expect_issue(i, "layout.body.3.children.0", "No hyphenation dictionary for \"ja\"");
    engfix_expect_issue(i, "layout.body.4.runs.0.hyphenate", "Expected true or false");
    engfix_expect_issue(i, "layout.body.5.runs.0.text", "(hyphenate works for de, en, es, fr, it, nl)");
    json_decref(i);
    /* inherited from defaultStyle / metadata.lang / a data lang; off again in a run */
    engine_template_t *t = engfix_compile(
        "{\"metadata\":{\"lang\":\"de-CH\"},\"defaultStyle\":{\"hyphenate\":true},\"body\":["
        "\"Vertragsbedingungen\",{\"type\":\"text\",\"lang\":\"{{ x }}\",\"text\":\"a\"},"
        "{\"type\":\"text\",\"lang\":\"pt\",\"runs\":[{\"text\":\"a\",\"hyphenate\":false}]}]}");
    engine_template_free(t);
}
END_TEST

START_TEST(lists_are_checked)
{
    json_t *i = issues_of("{\"body\":[{\"type\":\"list\",\"items\":[\"a\",[\"b\",{\"type\":\"list\","
                          "\"listStyle\":\"upper-roman\",\"start\":4,\"items\":[\"c\"]}]]},"
                          "{\"type\":\"list\",\"each\":\"items\",\"marker\":\"{{loop.index}})\","
                          "\"item\":\"{{item.name}}\",\"markerWidth\":\"8mm\",\"gap\":4,\"spacing\":3}]}",
                          NULL, true);
    if (i)
        dump(i);
    ck_assert_ptr_null(i);
    i = issues_of("{\"body\":["
                  "{\"type\":\"list\"},"                                                              /* 0 */
                  "{\"type\":\"list\",\"items\":[]},"                                                 /* 1 */
                  "{\"type\":\"list\",\"item\":\"x\",\"items\":[\"x\"]},"                             /* 2 */
                  "{\"type\":\"list\",\"each\":\"items\"},"                                           /* 3 */
                  "{\"type\":\"list\",\"each\":\"items\",\"items\":[\"x\"],\"item\":\"x\"},"          /* 4 */
                  "{\"type\":\"list\",\"listStyle\":\"roman\",\"items\":[\"x\"]},"                    /* 5 */
                  "{\"type\":\"list\",\"listStyle\":\"decimal\",\"marker\":\"*\",\"items\":[\"x\"]}," /* 6 */
                  "{\"type\":\"list\",\"start\":2,\"items\":[\"x\"]},"                                /* 7 */
                  "{\"type\":\"list\",\"listStyle\":\"decimal\",\"start\":-1,\"items\":[\"x\"]},"     /* 8 */
                  "{\"type\":\"list\",\"each\":\"items\",\"item\":\"{{item.nmae}}\"},"                /* 9 */
                  "{\"type\":\"list\",\"items\":[\"x\"],\"markerWidth\":\"wide\",\"bullet\":1},"      /* 10 */
                  "{\"type\":\"list\",\"items\":[{\"type\":\"nope\"}]}"                               /* 11 */
                  "]}",
                  NULL, true);
    ck_assert_ptr_nonnull(i);
    engfix_expect_issue(i, "layout.body.0", "A list needs \"items\"");
    engfix_expect_issue(i, "layout.body.1.items", "A list needs \"items\"");
    engfix_expect_issue(i, "layout.body.2.item", "add \"each\"");
    engfix_expect_issue(i, "layout.body.3", "needs \"item\"");
    engfix_expect_issue(i, "layout.body.4.items", "not both");
    engfix_expect_issue(i, "layout.body.5.listStyle", "Unknown value \"roman\"");
    engfix_expect_issue(i, "layout.body.6.marker", "Give either \"listStyle\" or \"marker\"");
    engfix_expect_issue(i, "layout.body.7.start", "numbers the items of a numbered list");
    engfix_expect_issue(i, "layout.body.8.start", "Expected a whole number between 0 and 1000000");
    engfix_expect_issue(i, "layout.body.9.item", "Unknown field \"item.nmae\"");
    engfix_expect_issue(i, "layout.body.10.markerWidth", "Invalid length \"wide\"");
    engfix_expect_issue(i, "layout.body.10.bullet", "Unknown property \"bullet\"");
    engfix_expect_issue(i, "layout.body.11.items.0.type", "Unknown value \"nope\"");
    json_decref(i);
}
END_TEST

START_TEST(groups_are_checked)
{
    /* valid: a table and a row with each grouped, group rows using group.key/count/items */
    json_t *i = issues_of(
        "{\"body\":[{\"type\":\"table\",\"each\":\"items\",\"groupBy\":\"item.name\","
        "\"groupHeader\":[\"{{group.key}} ({{group.count}})\"],"
        "\"carriedForward\":[\"{{ sum(carried.items, \\\"price\\\") }} {{carried.count}}\"],"
        "\"broughtForward\":{\"cells\":[\"{{ count(carried.items) }}\"],\"if\":\"carried.count > 0\"},"
        "\"groupFooter\":{\"cells\":[\"{{ sum(group.items, \\\"price\\\") }}\"],\"bold\":true},"
        "\"columns\":[{\"cell\":\"{{item.name}}\"}]},"
        "{\"type\":\"table\",\"columns\":[\"*\"],\"rows\":[{\"each\":\"items\",\"as\":\"it\","
        "\"groupBy\":\"{{ it.qty }}\",\"groupFooter\":[\"{{ count(group.items) "
        "}}\"],\"cells\":[\"{{it.name}}\"]}]}"
        "]}",
        NULL, true);
    if (i)
        dump(i);
    ck_assert_ptr_null(i);
    i = issues_of(
        "{\"body\":["
        "{\"type\":\"table\",\"each\":\"items\",\"groupBy\":\"item.name\",\"groupHeader\":[\"{{group.name}}"
        "\"],"
        "\"columns\":[{\"cell\":\"x\"}]}," /* 0 group has key/count/items */
        "{\"type\":\"table\",\"each\":\"items\",\"groupBy\":\"item.name\",\"groupFooter\":[\"{{group.items}}"
        "\"],"
        "\"columns\":[{\"cell\":\"x\"}]}," /* 1 a list as text */
        "{\"type\":\"table\",\"each\":\"items\",\"groupHeader\":[\"x\"],\"columns\":[{\"cell\":\"x\"}]}," /* 2 */
        "{\"type\":\"table\",\"columns\":[\"*\"],\"groupBy\":\"item.name\",\"rows\":[[\"x\"]]}," /* 3 */
        "{\"type\":\"table\",\"each\":\"items\",\"groupBy\":\"item.nmae\",\"columns\":[{\"cell\":\"x\"}]}," /* 4 */
        "{\"type\":\"table\",\"each\":\"items\",\"groupBy\":7,\"columns\":[{\"cell\":\"x\"}]}," /* 5 */
        "{\"type\":\"table\",\"each\":\"items\",\"groupBy\":\"item.name\","
        "\"groupHeader\":{\"each\":\"items\",\"cells\":[\"x\"]},\"columns\":[{\"cell\":\"x\"}]}," /* 6 */
        "{\"type\":\"table\",\"each\":\"items\",\"groupBy\":\"item.name\","
        "\"groupFooter\":[\"{{ sum(group.items, \\\"prize\\\") }}\"],\"columns\":[{\"cell\":\"x\"}]}," /* 7 */
        "{\"type\":\"table\",\"columns\":[\"*\"],\"carriedForward\":[\"x\"],\"rows\":[[\"x\"]]},"      /* 8 */
        "{\"type\":\"table\",\"each\":\"items\",\"broughtForward\":[\"{{carried.total}}\"],"
        "\"columns\":[{\"cell\":\"x\"}]}," /* 9 */
        "{\"type\":\"table\",\"each\":\"items\",\"carriedForward\":{\"each\":\"items\",\"cells\":[\"x\"]},"
        "\"columns\":[{\"cell\":\"x\"}]}" /* 10 */
        "]}",
        NULL, true);
    ck_assert_ptr_nonnull(i);
    engfix_expect_issue(i, "layout.body.0.groupHeader.0", "group has key, count and items");
    engfix_expect_issue(i, "layout.body.1.groupFooter.0", "is a list");
    engfix_expect_issue(i, "layout.body.2.groupHeader", "need \"groupBy\"");
    engfix_expect_issue(i, "layout.body.3.groupBy", "put it on the row that has \"each\"");
    engfix_expect_issue(i, "layout.body.4.groupBy", "item.nmae");
    engfix_expect_issue(i, "layout.body.5.groupBy", "Expected a field");
    engfix_expect_issue(i, "layout.body.6.groupHeader", "cannot have \"each\"");
    engfix_expect_issue(i, "layout.body.7.groupFooter.0", "Unknown field \"prize\"");
    engfix_expect_issue(i, "layout.body.8.carriedForward", "adds up the elements of the table's \"each\"");
    engfix_expect_issue(i, "layout.body.9.broughtForward.0", "carried has key, count and items");
    engfix_expect_issue(i, "layout.body.10.carriedForward", "A carried row cannot have \"each\"");
    json_decref(i);
}
END_TEST

START_TEST(row_spans_are_checked)
{
    /* valid: a span over fixed rows that list only their uncovered cells, combined with colSpan;
     * a span in a row repeated by each and in a column cell template */
    json_t *i =
        issues_of("{\"body\":[{\"type\":\"table\",\"columns\":[\"*\",\"*\",\"*\"],\"rows\":["
                  "[{\"text\":\"a\",\"rowSpan\":2,\"colSpan\":2},\"b\"],[\"c\"],"
                  "[\"d\",{\"text\":\"e\",\"rowSpan\":2},\"f\"],[\"g\",\"h\"],"
                  "{\"each\":\"items\",\"cells\":[{\"text\":\"{{item.name}}\",\"rowSpan\":2},\"x\",\"y\"]}]},"
                  "{\"type\":\"table\",\"each\":\"items\",\"columns\":[{\"cell\":{\"text\":\"{{item.name}}\","
                  "\"rowSpan\":3}},{\"cell\":\"x\"}]}]}",
                  NULL, true);
    if (i)
        dump(i);
    ck_assert_ptr_null(i);
    i = issues_of(
        "{\"body\":["
        "{\"type\":\"table\",\"columns\":[\"*\",\"*\"],\"rows\":[[{\"text\":\"a\",\"rowSpan\":0},\"b\"],"
        "[{\"text\":\"a\",\"rowSpan\":\"2\"},\"b\"]]}," /* 0 not a positive whole number */
        "{\"type\":\"table\",\"columns\":[\"*\",\"*\"],\"rows\":[[{\"text\":\"a\",\"rowSpan\":3},\"b\"],"
        "[\"c\"]]}," /* 1 past the last row */
        "{\"type\":\"table\",\"columns\":[\"*\",\"*\",\"*\"],\"rows\":[[\"a\",{\"text\":\"b\",\"rowSpan\":2},"
        "\"c\"],[{\"text\":\"d\",\"colSpan\":2},\"e\"]]}," /* 2 overlapping spans */
        "{\"type\":\"table\",\"columns\":[\"*\",\"*\"],\"rows\":[[{\"text\":\"a\",\"rowSpan\":2},\"b\"],"
        "[\"c\",\"d\"]]}," /* 3 too many cells after the covered one */
        "{\"type\":\"table\",\"columns\":[\"*\",\"*\"],\"header\":[[{\"text\":\"h\",\"rowSpan\":2},\"i\"],"
        "[\"j\"]],\"footer\":[{\"text\":\"f\",\"rowSpan\":2},\"g\"]}," /* 4 header and footer */
        "{\"type\":\"table\",\"each\":\"items\",\"groupBy\":\"item.name\",\"groupHeader\":{\"cells\":"
        "[{\"text\":\"{{group.key}}\",\"rowSpan\":2}]},\"carriedForward\":[{\"text\":\"c\",\"rowSpan\":2}],"
        "\"columns\":[{\"cell\":\"x\"}]}," /* 5 group and carried rows */
        "{\"type\":\"table\",\"columns\":[\"*\",\"*\"],\"rows\":[[{\"text\":\"a\",\"rowSpan\":2},\"b\"],"
        "{\"each\":\"items\",\"cells\":[\"x\",\"y\"]}]}," /* 6 a fixed span into a row with each */
        "{\"type\":\"table\",\"columns\":[\"*\",\"*\"],\"rows\":[{\"if\":\"total\",\"cells\":[{\"text\":"
        "\"a\","
        "\"rowSpan\":2},\"b\"]},[\"c\"],[\"d\",{\"text\":\"e\",\"rowSpan\":2}],{\"if\":\"total\",\"cells\":"
        "[\"f\",\"g\"]}]}" /* 7 rows with if */
        "]}",
        NULL, true);
    ck_assert_ptr_nonnull(i);
    engfix_expect_issue(i, "layout.body.0.rows.0.0.rowSpan", "Expected a whole number between 1 and 1000");
    engfix_expect_issue(i, "layout.body.0.rows.1.0.rowSpan", "Expected a whole number between 1 and 1000");
    engfix_expect_issue(i, "layout.body.1.rows.0.0.rowSpan", "runs past the last row (1 more row needed)");
    engfix_expect_issue(i, "layout.body.2.rows.1.0.colSpan", "spans into column 2, which a rowSpan");
    engfix_expect_issue(
        i, "layout.body.3.rows.1",
        "Row has 3 cells (counting colSpan and the 1 column covered by rowSpan from above) but "
        "the table has 2 columns");
    engfix_expect_issue(i, "layout.body.4.header.0.0.rowSpan", "only available in body rows");
    engfix_expect_issue(i, "layout.body.4.footer.0.rowSpan", "only available in body rows");
    engfix_expect_issue(i, "layout.body.5.groupHeader.cells.0.rowSpan",
                        "not available in group and carried rows");
    engfix_expect_issue(i, "layout.body.5.carriedForward.0.rowSpan",
                        "not available in group and carried rows");
    engfix_expect_issue(i, "layout.body.6.rows.0.0.rowSpan",
                        "reaches layout.body.6.rows.1, a row with \"each\"");
    engfix_expect_issue(i, "layout.body.7.rows.0.cells.0.rowSpan", "A row with \"if\" cannot span rows");
    engfix_expect_issue(i, "layout.body.7.rows.2.1.rowSpan",
                        "reaches layout.body.7.rows.3, a row with \"if\"");
    json_decref(i);
}
END_TEST

Suite *compile_suite(void)
{
    Suite *s = suite_create("engine_compile");
    TCase *tc = tcase_create("compile");
    tcase_add_test(tc, valid_layout_compiles);
    tcase_add_test(tc, all_problems_at_once);
    tcase_add_test(tc, without_manifest_no_binding_checks);
    tcase_add_test(tc, structure_errors);
    tcase_add_test(tc, styles_are_checked_once_and_applied);
    tcase_add_test(tc, fonts_are_checked_when_compiling);
    tcase_add_test(tc, page_settings_and_page_config);
    tcase_add_test(tc, default_layout_from_manifest);
    tcase_add_test(tc, hostile_layouts_are_bounded);
    tcase_add_test(tc, partials_are_checked);
    tcase_add_test(tc, library_partials_are_checked);
    tcase_add_test(tc, aggregates_and_data_currency_are_checked);
    tcase_add_test(tc, groups_are_checked);
    tcase_add_test(tc, row_spans_are_checked);
    tcase_add_test(tc, indents_are_checked);
    tcase_add_test(tc, hyphenate_is_checked_when_compiling);
    tcase_add_test(tc, lists_are_checked);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(compile_suite());
}
