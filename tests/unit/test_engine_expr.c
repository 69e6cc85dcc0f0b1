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
    expr_scope_names_t names = {0};
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
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(expr_suite());
}
