/* Unit tests for src/engine/expr: template strings, filters, paths and conditions. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "engine/expr.h"
#include "tu.h"

static arena_t A;
static json_t *owned;

static void setup(void)
{
    arena_init(&A, 4096, 1 << 24);
    owned = json_array();
}

static void teardown(void)
{
    arena_free(&A);
    json_decref(owned);
}

/* Evaluates template s against data (JSON text) with an optional loop frame over data.items[0]. */
static char *eval(const char *s, const char *data_json, bool in_loop, char *err, size_t err_len)
{
    static char out[4096];
    json_t *data = json_loads(data_json, 0, NULL);
    ck_assert_ptr_nonnull(data);
    expr_scope_names_t names = {.owned = owned};
    if (in_loop) {
        names.depth = 1;
        names.names[0] = "item";
    }
    expr_str_t str;
    if (expr_parse_str(&A, s, &names, &str, err, err_len) < 0) {
        json_decref(data);
        return NULL;
    }
    expr_scope_t sc = {.data = data};
    if (in_loop) {
        json_t *items = json_object_get(data, "items");
        sc.depth = 1;
        sc.frames[0] = (expr_frame_t){json_array_get(items, 1), 1, json_array_size(items), "items"};
    }
    buf_t b;
    buf_init(&b, 4096);
    int rc = expr_eval_str(&sc, &str, &b, err, err_len);
    snprintf(out, sizeof out, "%s", buf_cstr(&b));
    buf_free(&b);
    json_decref(data);
    return rc == 0 ? out : NULL;
}

#define EVAL_EQ(tpl, data, expect)                                                                           \
    do {                                                                                                     \
        char e_[300] = "";                                                                                   \
        char *got_ = eval(tpl, data, false, e_, sizeof e_);                                                  \
        ck_assert_msg(got_ != NULL, "%s: %s", tpl, e_);                                                      \
        ck_assert_str_eq(got_, expect);                                                                      \
    } while (0)

START_TEST(interpolates_paths_and_literals)
{
    EVAL_EQ("Hello {{ name }}!", "{\"name\":\"Ann\"}", "Hello Ann!");
    EVAL_EQ("{{customer.address.city}}", "{\"customer\":{\"address\":{\"city\":\"Oslo\"}}}", "Oslo");
    EVAL_EQ("[{{missing}}]", "{}", "[]");
    EVAL_EQ("[{{ a.b.c }}]", "{\"a\":1}", "[]");
    EVAL_EQ("{{ n }} {{ t }} {{ f }} {{ z }}", "{\"n\":42,\"t\":true,\"f\":1.5,\"z\":null}", "42 true 1.5 ");
    EVAL_EQ("{{ items.1.name }}", "{\"items\":[{\"name\":\"a\"},{\"name\":\"b\"}]}", "b");
    EVAL_EQ("no bindings", "{}", "no bindings");
    EVAL_EQ("", "{}", "");
    EVAL_EQ("{{ \"x}}y\" }}", "{}", "x}}y");
    EVAL_EQ("a \\{{b}} c", "{\"b\":1}", "a {{b}} c");
}
END_TEST

START_TEST(values_are_text_not_markup)
{
    /* A value containing braces or markup is printed as it is, never evaluated. */
    EVAL_EQ("{{ v }}", "{\"v\":\"{{secret}} <b>bold</b> &amp;\"}", "{{secret}} <b>bold</b> &amp;");
}
END_TEST

START_TEST(filters_and_arguments)
{
    EVAL_EQ("{{ total | currency:EUR }}", "{\"total\":1234.5}", "€1,234.50");
    EVAL_EQ("{{ total | currency:\"EUR\":\"de-DE\" }}", "{\"total\":1234.5}", "1.234,50\xc2\xa0€");
    EVAL_EQ("{{ total | currency:EUR:de-DE }}", "{\"total\":1234.5}", "1.234,50\xc2\xa0€");
    EVAL_EQ("{{ d | date:\"DD/MM/YYYY HH:mm\" }}", "{\"d\":\"2026-06-04T09:30:00Z\"}", "04/06/2026 09:30");
    EVAL_EQ("{{ d | date:\"D MMMM YYYY [at] HH:mm\" }}", "{\"d\":\"2026-06-04T09:30:00Z\"}",
            "4 June 2026 at 09:30");
    EVAL_EQ("{{ x | default:\"–\" }}", "{}", "–");
    EVAL_EQ("{{ x | default:n/a | upper }}", "{}", "N/A");
    EVAL_EQ("{{ x|number:2 }}", "{\"x\":3}", "3.00");
    EVAL_EQ("{{ name | title }}", "{\"name\":\"ada LOVELACE\"}", "Ada Lovelace");
}
END_TEST

START_TEST(filter_errors_name_the_value)
{
    char err[300] = "";
    ck_assert_ptr_null(eval("{{ d | date:\"DD/MM\" }}", "{\"d\":\"not a date\"}", false, err, sizeof err));
    ck_assert_msg(strstr(err, "data.d") && strstr(err, "date"), "%s", err);
}
END_TEST

START_TEST(lists_and_objects_are_never_dumped)
{
    /* A list or an object printed as a value is an error naming its path, not JSON text
     * (`{{groups}}` used to print pages of raw JSON with float noise). */
    char err[300] = "";
    const char *d = "{\"groups\":[{\"total\":268229.7}],\"c\":{\"name\":\"Ann\"}}";
    ck_assert_ptr_null(eval("Groups: {{groups}}", d, false, err, sizeof err));
    ck_assert_str_eq(err, "data.groups is a list, which cannot be printed as text (repeat a block over it "
                          "with \"each\")");
    ck_assert_ptr_null(eval("{{c}}", d, false, err, sizeof err));
    ck_assert_str_eq(err, "data.c is an object, which cannot be printed as text (print one of its fields)");
    ck_assert_ptr_null(eval("{{c | upper}}", d, false, err, sizeof err));
    ck_assert_msg(strstr(err, "data.c") && strstr(err, "not an object"), "%s", err);
    ck_assert_ptr_null(eval("{{groups | default:\"-\"}}", d, false, err, sizeof err));
    ck_assert_msg(strstr(err, "data.groups") && strstr(err, "not a list"), "%s", err);
    /* Empty lists and objects are not special. */
    ck_assert_ptr_null(eval("{{e}}", "{\"e\":[]}", false, err, sizeof err));
    EVAL_EQ("{{groups.0.total}}", d, "268229.7");
}
END_TEST

START_TEST(values_are_never_cut_short)
{
    /* A value that does not fit in the output fails with the limit and its path, instead of
     * printing what fits (a paragraph over 1 MiB used to lose its end silently). */
    expr_scope_names_t names = {0};
    expr_str_t str;
    char err[300] = "";
    ck_assert_int_eq(expr_parse_str(&A, "ab {{t}}", &names, &str, err, sizeof err), 0);
    json_t *data = json_pack("{s:s}", "t", "0123456789");
    expr_scope_t sc = {.data = data};
    buf_t b;
    buf_init(&b, 8);
    ck_assert_int_eq(expr_eval_str(&sc, &str, &b, err, sizeof err), -1);
    ck_assert_str_eq(err, "longer than the limit of 8 bytes once data.t is filled in");
    ck_assert_str_eq(buf_cstr(&b), "ab ");
    buf_free(&b);
    buf_init(&b, 13);
    ck_assert_int_eq(expr_eval_str(&sc, &str, &b, err, sizeof err), 0);
    ck_assert_str_eq(buf_cstr(&b), "ab 0123456789");
    buf_free(&b);
    json_decref(data);
}
END_TEST

START_TEST(loop_scope_and_meta)
{
    char err[300] = "";
    const char *data = "{\"items\":[{\"qty\":1},{\"qty\":7}],\"qty\":99}";
    char *got = eval(
        "{{ item.qty }}/{{ qty }} #{{ loop.index }} of {{ loop.count }} {{ loop.first }} {{ loop.last }}",
        data, true, err, sizeof err);
    ck_assert_msg(got != NULL, "%s", err);
    ck_assert_str_eq(got, "7/99 #2 of 2 false true");
}
END_TEST

START_TEST(parse_errors)
{
    static const char *bad[] = {
        "{{ name",      "{{ }}",     "{{ a. }}", "{{ a | }}",
        "{{ a | f: }}", "{{ a b }}", "{{ 'x }}", "{{ a | f:'x }}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        expr_str_t s;
        char err[200] = "";
        ck_assert_msg(expr_parse_str(&A, bad[i], NULL, &s, err, sizeof err) < 0, "accepted: %s", bad[i]);
        ck_assert(strlen(err) > 0);
    }
}
END_TEST

START_TEST(paths_are_classified)
{
    expr_scope_names_t names = {.depth = 2, .names = {"row", "cell"}, .allow_page = true};
    char err[200];
    expr_path_t *p;
    ck_assert_int_eq(expr_parse_path(&A, "cell.x", &names, &p, err, sizeof err), 0);
    ck_assert_int_eq(p->root, PATH_ITEM);
    ck_assert_int_eq(p->frame, 1);
    ck_assert_int_eq(p->nseg, 1);
    ck_assert_int_eq(expr_parse_path(&A, "row", &names, &p, err, sizeof err), 0);
    ck_assert_int_eq(p->root, PATH_ITEM);
    ck_assert_int_eq(p->nseg, 0);
    ck_assert_int_eq(expr_parse_path(&A, "loop.index0", &names, &p, err, sizeof err), 0);
    ck_assert_int_eq(p->root, PATH_LOOPMETA);
    ck_assert_int_eq(p->frame, 1);
    ck_assert_int_eq(expr_parse_path(&A, "pages", &names, &p, err, sizeof err), 0);
    ck_assert_int_eq(p->root, PATH_PAGES);
    ck_assert_int_eq(expr_parse_path(&A, "page.title", &names, &p, err, sizeof err), 0);
    ck_assert_int_eq(p->root, PATH_DATA);
    ck_assert_int_eq(expr_parse_path(&A, "loop.parent.count", &names, &p, err, sizeof err), 0);
    ck_assert_int_eq(p->root, PATH_LOOPMETA);
    ck_assert_int_eq(p->frame, 0);
    ck_assert_int_eq(p->meta, LOOPMETA_COUNT);
    ck_assert_int_lt(expr_parse_path(&A, "loop.parent.parent.index", &names, &p, err, sizeof err), 0);
    ck_assert_int_lt(expr_parse_path(&A, "loop.size", &names, &p, err, sizeof err), 0);
    expr_scope_names_t none = {0};
    ck_assert_int_eq(expr_parse_path(&A, "page", &none, &p, err, sizeof err), 0);
    ck_assert_int_eq(p->root, PATH_DATA);
}
END_TEST

static bool cond(const char *c, const char *data_json)
{
    json_t *data = json_loads(data_json, 0, NULL);
    expr_cond_t *e;
    char err[200];
    expr_scope_names_t names = {0};
    ck_assert_msg(expr_parse_cond(&A, c, &names, owned, &e, err, sizeof err) == 0, "%s: %s", c, err);
    expr_scope_t sc = {.data = data};
    bool r = expr_eval_cond(&sc, e);
    json_decref(data);
    return r;
}

START_TEST(truthiness)
{
    const char *d = "{\"s\":\"x\",\"e\":\"\",\"z\":0,\"n\":3,\"nul\":null,\"t\":true,\"f\":false,"
                    "\"arr\":[1],\"ea\":[],\"obj\":{\"a\":1},\"eo\":{}}";
    ck_assert(cond("s", d));
    ck_assert(!cond("e", d));
    ck_assert(!cond("z", d));
    ck_assert(cond("n", d));
    ck_assert(!cond("nul", d));
    ck_assert(!cond("missing", d));
    ck_assert(cond("t", d));
    ck_assert(!cond("f", d));
    ck_assert(cond("arr", d));
    ck_assert(!cond("ea", d));
    ck_assert(cond("obj", d));
    ck_assert(!cond("eo", d));
    ck_assert(cond("not e", d));
    ck_assert(cond("!missing", d));
}
END_TEST

START_TEST(comparisons_and_logic)
{
    const char *d =
        "{\"qty\":12,\"price\":\"9.50\",\"status\":\"paid\",\"date\":\"2026-06-04\",\"none\":null}";
    ck_assert(cond("qty > 10", d));
    ck_assert(cond("qty >= 12 and qty <= 12", d));
    ck_assert(!cond("qty < 12", d));
    ck_assert(cond("price == 9.5", d));
    ck_assert(cond("price < 10", d));
    ck_assert(cond("status == 'paid'", d));
    ck_assert(cond("status != \"open\"", d));
    ck_assert(cond("date >= '2026-01-01'", d));
    ck_assert(cond("none == null", d));
    ck_assert(cond("missing == null", d));
    ck_assert(!cond("status > 3", d)); /* not comparable: false */
    ck_assert(cond("status != 3", d));
    ck_assert(cond("qty > 100 or status == 'paid'", d));
    ck_assert(!cond("not (qty > 10 and status == 'paid')", d));
    ck_assert(cond("not qty > 100", d)); /* not binds to the comparison */
    ck_assert(cond("qty > 1 && (status == 'x' || true)", d));
    ck_assert(cond("-1 < qty", d));
}
END_TEST

START_TEST(condition_errors)
{
    static const char *bad[] = {"", "qty >", "(qty", "qty > 1 and", "qty ==== 1", "a b", "'x", "not"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        expr_cond_t *e;
        char err[200] = "";
        ck_assert_msg(expr_parse_cond(&A, bad[i], NULL, owned, &e, err, sizeof err) < 0, "accepted: %s",
                      bad[i]);
    }
    /* Deep nesting is bounded, not a stack overflow. */
    char deep[600];
    memset(deep, '(', 300);
    strcpy(deep + 300, "x");
    expr_cond_t *e;
    char err[200];
    ck_assert_int_lt(expr_parse_cond(&A, deep, NULL, owned, &e, err, sizeof err), 0);
}
END_TEST

#define EVAL_FAILS(tpl, data, in_loop, needle1, needle2)                                                     \
    do {                                                                                                     \
        char e_[400] = "";                                                                                   \
        ck_assert_msg(eval(tpl, data, in_loop, e_, sizeof e_) == NULL, "accepted: %s", tpl);                 \
        ck_assert_msg(strstr(e_, needle1) && strstr(e_, needle2), "%s: %s", tpl, e_);                        \
    } while (0)

static const char *const INV =
    "{\"items\":[{\"total\":0.1,\"vatRate\":20,\"qty\":2},{\"total\":0.2,\"vatRate\":10,\"qty\":1},"
    "{\"total\":\"19.70\",\"vatRate\":20,\"qty\":5,\"lines\":[{\"n\":1},{\"n\":2.5}]}],"
    "\"nums\":[1,2,4],\"cur\":\"chf\"}";

START_TEST(aggregates_are_exact)
{
    EVAL_EQ("{{ sum(items, \"total\") }}", INV, "20");
    EVAL_EQ("{{ sum(items where item.vatRate == 20, \"total\") }}", INV, "19.8");
    EVAL_EQ("{{ sum(items where item.vatRate == 10, 'total') }}", INV, "0.2");
    EVAL_EQ("{{ count(items) }} {{ count(items where item.qty > 1) }} {{ count(missing) }}", INV, "3 2 0");
    EVAL_EQ("{{ avg(nums) }} {{ min(nums) }} {{ max(nums) }} {{ sum(nums) }}", INV,
            "2.333333333333333333333333333333 1 4 7");
    EVAL_EQ("{{ avg(nums) | number:2 }}", INV, "2.33");
    EVAL_EQ("{{ min(items, \"total\") }}/{{ max(items, \"total\") }}", INV, "0.1/19.7");
    EVAL_EQ("{{ sum(items as line where line.qty >= 2 and line.vatRate == 20, \"total\") | currency:EUR }}",
            INV,
            "\xE2\x82\xAC"
            "19.80");
    EVAL_EQ("{{ sum(items.2.lines, \"n\") }}", INV, "3.5");
    /* no elements: a sum is 0, an average/min/max is missing (so `default` can say so) */
    EVAL_EQ("[{{ sum(items where item.qty > 99, \"total\") }}][{{ avg(missing, \"x\") }}]", INV, "[0][]");
    EVAL_EQ("{{ max(items where item.qty > 99, \"total\") | default:\"n/a\" }}", INV, "n/a");
    /* "where" compares with literals, other paths and nested parentheses */
    EVAL_EQ("{{ count(items where (item.vatRate == 20 or item.qty == 1) and item.total != null) }}", INV,
            "3");
}
END_TEST

START_TEST(aggregates_inside_a_loop)
{
    /* the frame is items[1]; an aggregate's own element shadows it unless renamed with "as" */
    char err[300] = "";
    const char *got = eval("{{ item.qty }}:{{ count(items as it where it.vatRate == item.vatRate) }}:"
                           "{{ sum(items, \"qty\") }}",
                           INV, true, err, sizeof err);
    ck_assert_msg(got != NULL, "%s", err);
    ck_assert_str_eq(got, "1:1:8");
}
END_TEST

START_TEST(aggregate_errors_name_the_data_path)
{
    EVAL_FAILS("{{ sum(items, \"vatRate.x\") }}", INV, false, "data.items.0.vatRate.x", "missing");
    EVAL_FAILS("{{ sum(items, \"name\") }}", "{\"items\":[{\"name\":1},{\"name\":\"Bob\"}]}", false,
               "data.items.1.name", "not a number");
    EVAL_FAILS("{{ avg(items, \"a\") }}", "{\"items\":[{\"a\":true}]}", false, "data.items.0.a",
               "not a number");
    EVAL_FAILS("{{ sum(items) }}", INV, false, "data.items.0", "not a number");
    EVAL_FAILS("{{ count(cur) }}", INV, false, "data.cur", "not a list");
    EVAL_FAILS("{{ sum(items, \"t\") }}", "{\"items\":[{\"t\":1e40}]}", false, "data.items.0.t", "too large");
    EVAL_FAILS("{{ sum(items, \"t\") }}", "{\"items\":[{\"t\":9e29},{\"t\":9e29}]}", false,
               "sum(items, \"t\")", "too large");
    /* inside a loop, the element path is the full data path */
    EVAL_FAILS("{{ sum(item.lines, \"m\") }}", "{\"items\":[{},{\"lines\":[{\"m\":\"x\"}]}]}", true,
               "data.items.1.lines.0.m", "not a number");
}
END_TEST

START_TEST(aggregate_parse_errors)
{
    static const struct {
        const char *tpl, *needle;
    } bad[] = {
        {"{{ total(items) }}", "Unknown function \"total\""},
        {"{{ sum(items, total) }}", "quoted name"},
        {"{{ sum(items, \"a b\") }}", "not a field name"},
        {"{{ sum(items \"total\") }}", "expected \")\""},
        {"{{ sum(items, \"total\" }}", "expected \")\""},
        {"{{ count(items, \"total\") }}", "takes no field"},
        {"{{ sum(items where , \"total\") }}", "where"},
        {"{{ sum(items where item.a ==, \"total\") }}", "where"},
        {"{{ sum(items as , \"total\") }}", "after \"as\""},
        {"{{ sum(items as loop, \"total\") }}", "after \"as\""},
        {"{{ sum(\"x\") }}", "Expected a variable name"},
        {"{{ sum( }}", "Expected a variable name"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[300] = "";
        ck_assert_msg(eval(bad[i].tpl, "{}", false, err, sizeof err) == NULL, "accepted: %s", bad[i].tpl);
        ck_assert_msg(strstr(err, bad[i].needle), "%s: %s", bad[i].tpl, err);
    }
    /* aggregates belong in {{ }} text; a condition says so */
    expr_cond_t *c;
    char err[300];
    ck_assert_int_lt(expr_parse_cond(&A, "sum(items, \"t\") > 3", NULL, owned, &c, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "not in conditions"), "%s", err);
    /* loops nest only so deep */
    expr_scope_names_t deep = {.depth = EXPR_LOOP_DEPTH_MAX, .owned = owned};
    for (int d = 0; d < EXPR_LOOP_DEPTH_MAX; d++)
        deep.names[d] = "x";
    expr_str_t str;
    ck_assert_int_lt(expr_parse_str(&A, "{{ count(items) }}", &deep, &str, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "loops"), "%s", err);
}
END_TEST

START_TEST(currency_from_the_data)
{
    EVAL_EQ("{{ n | currency:(cur) }}", "{\"n\":1234.5,\"cur\":\"CHF\"}",
            "CHF\xC2\xA0"
            "1,234.50");
    EVAL_EQ("{{ n | currency:(inv.cur) }}", "{\"n\":5,\"inv\":{\"cur\":\"jpy\"}}",
            "\xC2\xA5"
            "5");
    EVAL_EQ("{{ n | money:( cur ):de-DE | upper }}", "{\"n\":1.5,\"cur\":\"EUR\"}",
            "1,50\xC2\xA0\xE2\x82\xAC");
    EVAL_EQ("{{ sum(items, \"total\") | currency:(cur):\"de-CH\" }}", INV,
            "CHF\xC2\xA0"
            "20.00");
    /* not ISO 4217, missing, not text: the error names the data path */
    EVAL_FAILS("{{ n | currency:(cur) }}", "{\"n\":1,\"cur\":\"EURO\"}", false, "data.cur",
               "not an ISO 4217");
    EVAL_FAILS("{{ n | currency:(cur) }}", "{\"n\":1,\"cur\":\"ABC\"}", false, "data.cur is \"ABC\"",
               "ISO 4217");
    EVAL_FAILS("{{ n | currency:(cur) }}", "{\"n\":1,\"cur\":\"BTC\"}", false, "data.cur", "ISO 4217");
    EVAL_FAILS("{{ n | currency:(inv.cur) }}", "{\"n\":1}", false, "data.inv.cur is missing", "currency");
    EVAL_FAILS("{{ n | currency:(cur) }}", "{\"n\":1,\"cur\":978}", false, "data.cur is not text",
               "ISO 4217");
    EVAL_FAILS("{{ item.n | currency:(item.c) }}", "{\"items\":[{},{\"n\":1,\"c\":\"E\"}]}", true,
               "data.items.1.c", "ISO 4217");
    /* syntax */
    EVAL_FAILS("{{ n | currency:(cur }}", "{}", false, "Expected \")\"", "currency");
    EVAL_FAILS("{{ n | currency:(cur)x }}", "{}", false, "Unexpected", "(cur)");
    EVAL_FAILS("{{ n | currency:() }}", "{}", false, "Expected a variable name", "");
}
END_TEST

Suite *expr_suite(void)
{
    Suite *s = suite_create("engine_expr");
    TCase *tc = tcase_create("expr");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, interpolates_paths_and_literals);
    tcase_add_test(tc, values_are_text_not_markup);
    tcase_add_test(tc, filters_and_arguments);
    tcase_add_test(tc, filter_errors_name_the_value);
    tcase_add_test(tc, lists_and_objects_are_never_dumped);
    tcase_add_test(tc, values_are_never_cut_short);
    tcase_add_test(tc, loop_scope_and_meta);
    tcase_add_test(tc, parse_errors);
    tcase_add_test(tc, paths_are_classified);
    tcase_add_test(tc, truthiness);
    tcase_add_test(tc, comparisons_and_logic);
    tcase_add_test(tc, condition_errors);
    tcase_add_test(tc, aggregates_are_exact);
    tcase_add_test(tc, aggregates_inside_a_loop);
    tcase_add_test(tc, aggregate_errors_name_the_data_path);
    tcase_add_test(tc, aggregate_parse_errors);
    tcase_add_test(tc, currency_from_the_data);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(expr_suite());
}
