/* Unit tests for what a layout says about the sheet: page backgrounds, blocks placed at a fixed
 * position outside the flow. Checked at compile time (issues by path) and through
 * engine_debug_layout (where every item lands on every page). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "craftkit/engine.h"
#include "engine/engine_int.h"
#include "engfix.h"
#include "tu.h"

/* A 40x20 px SVG (30x15 pt). */
#define SVG_URI                                                                                              \
    "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSI0MCIgaGVpZ2h0" \
    "PSIyMCI+PHJlY3Qgd2lkdGg9IjQwIiBoZWlnaHQ9IjIwIiBmaWxsPSIjMDAwIi8+PC9zdmc+"

/* The pages of the debug layout of a layout rendered with data (a JSON text or NULL). */
static json_t *pages_of(const char *layout, const char *data)
{
    engine_template_t *t = engfix_compile(layout);
    json_t *d = data ? engfix_json(data) : NULL;
    json_t *pages = engfix_pages(t, d);
    json_decref(d);
    engine_template_free(t);
    return pages;
}

/* The render error of a layout that compiles but cannot render with data. */
static void expect_render_error(const char *layout, const char *data, const char *needle)
{
    json_t *d = engfix_json(data);
    engfix_expect_layout_error(layout, d, needle);
    json_decref(d);
}

static json_t *item(const json_t *pages, int p, size_t i)
{
    return json_array_get(json_object_get(json_array_get(pages, (size_t)p), "items"), i);
}

static size_t nitems(const json_t *pages, int p)
{
    return json_array_size(json_object_get(json_array_get(pages, (size_t)p), "items"));
}

static double num(const json_t *it, const char *k)
{
    return json_number_value(json_object_get(it, k));
}

static const char *kind(const json_t *it)
{
    return json_string_value(json_object_get(it, "kind"));
}

static json_t *find_text(const json_t *pages, int p, const char *s)
{
    for (size_t i = 0; i < nitems(pages, p); i++) {
        const char *t = json_string_value(json_object_get(item(pages, p, i), "text"));
        if (t && !strcmp(t, s))
            return item(pages, p, i);
    }
    return NULL;
}

#define NEAR(a, b) ck_assert_msg(fabs((a) - (b)) < 0.01, "%s = %g, expected %g", #a, (double)(a), (double)(b))

/* ------------------------------------------------------------ backgrounds */

START_TEST(backgrounds_go_behind_everything_on_their_pages)
{
    /* A6 is 297.64 x 419.53 pt; margins 20 pt. Thirty lines fill two pages. */
    json_t *pages =
        pages_of("{\"page\": {\"size\": \"A6\", \"margins\": 20, \"background\": ["
                 "  {\"color\": \"#fef3c7\"},"
                 "  {\"image\": \"" SVG_URI "\", \"area\": \"margins\", \"fit\": \"fill\", \"pages\": "
                 "\"first\"},"
                 "  {\"color\": \"#00000010\", \"area\": \"margins\", \"pages\": \"rest\"}]},"
                 " \"header\": [\"Head\"],"
                 " \"body\": [{\"type\": \"text\", \"each\": \"l\", \"text\": \"{{item}}\", "
                 "\"fontSize\": 14}]}",
                 "{\"l\": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,"
                 "28,29,30]}");
    ck_assert_int_eq((int)json_array_size(pages), 2);
    /* Page 1: the full-bleed colour, then the image inside the margins, then the content. */
    json_t *a = item(pages, 0, 0), *b = item(pages, 0, 1), *c = item(pages, 0, 2);
    ck_assert_str_eq(kind(a), "rect");
    NEAR(num(a, "x"), 0);
    NEAR(num(a, "y"), 0);
    NEAR(num(a, "w"), 297.64);
    NEAR(num(a, "h"), 419.53);
    ck_assert_str_eq(kind(b), "image");
    NEAR(num(b, "x"), 20);
    NEAR(num(b, "y"), 20);
    NEAR(num(b, "w"), 257.64);
    NEAR(num(b, "h"), 379.53);
    ck_assert_str_eq(kind(c), "text");
    /* Page 2: the colour and the "rest" layer; no image. */
    ck_assert_str_eq(kind(item(pages, 1, 0)), "rect");
    ck_assert_str_eq(kind(item(pages, 1, 1)), "rect");
    NEAR(num(item(pages, 1, 1), "x"), 20);
    ck_assert_str_eq(kind(item(pages, 1, 2)), "text");
    for (size_t i = 2; i < nitems(pages, 1); i++)
        ck_assert_str_ne(kind(item(pages, 1, i)), "image");
    json_decref(pages);

    /* A string is a colour, or an image source; an empty source from the data is no image. */
    pages = pages_of("{\"page\": {\"background\": \"navy\"}, \"body\": [\"x\"]}", NULL);
    ck_assert_str_eq(kind(item(pages, 0, 0)), "rect");
    json_decref(pages);
    pages =
        pages_of("{\"page\": {\"background\": \"{{bg}}\"}, \"body\": [\"x\"]}", "{\"bg\": \"" SVG_URI "\"}");
    ck_assert_str_eq(kind(item(pages, 0, 0)), "image");
    json_decref(pages);
    pages = pages_of("{\"page\": {\"background\": \"{{bg}}\"}, \"body\": [\"x\"]}", "{}");
    ck_assert_str_eq(kind(item(pages, 0, 0)), "text");
    json_decref(pages);
    expect_render_error("{\"page\": {\"background\": {\"image\": \"{{bg}}\"}}, \"body\": [\"x\"]}",
                        "{\"bg\": \"data:image/png;base64,AAAA\"}", "background image at data.bg");
}
END_TEST

START_TEST(background_mistakes_are_issues_at_their_paths)
{
    json_t *i = engfix_issues(
        "{\"page\": {\"background\": [{\"colour\": \"red\"}, {\"color\": \"#12\", \"area\": \"bleed\","
        " \"pages\": \"odd\", \"fit\": \"tile\"}, 7, {\"image\": 3}, {\"image\": \"{{a b}}\"}]},"
        " \"body\": [\"x\"]}");
    engfix_expect_issue(i, "layout.page.background.0.colour", "Unknown property");
    engfix_expect_issue(i, "layout.page.background.0", "needs \"color\" or \"image\"");
    engfix_expect_issue(i, "layout.page.background.1.color", "");
    engfix_expect_issue(i, "layout.page.background.1.area", "page");
    engfix_expect_issue(i, "layout.page.background.1.pages", "first");
    engfix_expect_issue(i, "layout.page.background.1.fit", "cover");
    engfix_expect_issue(i, "layout.page.background.2", "Expected a colour, an image");
    engfix_expect_issue(i, "layout.page.background.3.image", "Expected text");
    ck_assert_ptr_nonnull(
        json_object_get(json_object_get(i, "fieldErrors"), "layout.page.background.4.image"));
    json_decref(i);
    i = engfix_issues("{\"page\": {\"background\": [1,2,3,4,5,6,7,8,9]}, \"body\": [\"x\"]}");
    engfix_expect_issue(i, "layout.page.background", "At most 8");
    json_decref(i);
}
END_TEST

/* ------------------------------------------------------------ positioned blocks */

START_TEST(positioned_blocks_stay_out_of_the_flow)
{
    /* A4: 595.28 x 841.89; margins 50. */
    json_t *pages = pages_of(
        "{\"page\": {\"margins\": 50},"
        " \"header\": [{\"type\": \"text\", \"text\": \"LOGO\", \"position\": {\"right\": 20, \"y\": 10, "
        "\"width\": 100},"
        "   \"align\": \"right\"}],"
        " \"body\": [\"First\","
        "  {\"type\": \"text\", \"text\": \"PAID\", \"fontSize\": 40, \"marginTop\": 30, \"position\": "
        "{\"x\": 300, "
        "\"y\": \"100mm\"}},"
        "  \"Second\","
        "  {\"type\": \"box\", \"border\": 1, \"position\": {\"x\": 10, \"bottom\": 10, \"width\": \"50%\"}, "
        "\"children\": [\"Stamp\"]}]}",
        NULL);
    ck_assert_int_eq((int)json_array_size(pages), 1);
    json_t *first = find_text(pages, 0, "First"), *second = find_text(pages, 0, "Second");
    json_t *paid = find_text(pages, 0, "PAID"), *stamp = find_text(pages, 0, "Stamp");
    json_t *logo = find_text(pages, 0, "LOGO");
    ck_assert_ptr_nonnull(first);
    ck_assert_ptr_nonnull(second);
    ck_assert_ptr_nonnull(paid);
    ck_assert_ptr_nonnull(stamp);
    ck_assert_ptr_nonnull(logo);
    /* The flow does not see them: "Second" follows "First" directly. */
    NEAR(num(second, "y"), num(first, "y") + num(first, "h"));
    /* At their offsets from the sheet's edges (the block's own margin is inside the position). */
    NEAR(num(paid, "x"), 300);
    NEAR(num(paid, "y"), 100 * 72 / 25.4 + 30);
    NEAR(num(logo, "x") + num(logo, "w"), 595.28 - 20);
    ck_assert(num(logo, "y") >= 10 - 0.01 && num(logo, "y") < 12);
    NEAR(num(stamp, "x"), 10 + 1 + 0); /* the box's border */
    /* The box is half the page wide and ends 10 pt above the bottom edge. */
    for (size_t i = 0; i < nitems(pages, 0); i++) {
        json_t *it = item(pages, 0, i);
        if (!strcmp(kind(it), "rect") && num(it, "x") < 11) {
            NEAR(num(it, "w"), 595.28 / 2 - 1);
            NEAR(num(it, "y") + num(it, "h"), 841.89 - 10 - 0.5);
        }
    }
    json_decref(pages);

    /* On the page the flow is on when it reaches them. */
    pages = pages_of("{\"body\": [\"One\", {\"type\": \"pageBreak\"}, \"Two\","
                     " {\"type\": \"text\", \"text\": \"Mark\", \"position\": {\"x\": 0, \"y\": 0}}]}",
                     NULL);
    ck_assert_int_eq((int)json_array_size(pages), 2);
    ck_assert_ptr_null(find_text(pages, 0, "Mark"));
    ck_assert_ptr_nonnull(find_text(pages, 1, "Mark"));
    json_decref(pages);
}
END_TEST

START_TEST(position_mistakes_are_issues_at_their_paths)
{
    json_t *i = engfix_issues(
        "{\"page\": {\"size\": \"A6\"}, \"body\": ["
        " {\"type\": \"text\", \"text\": \"a\", \"position\": {\"x\": 1, \"right\": 2, \"y\": 0}},"
        " {\"type\": \"text\", \"text\": \"b\", \"position\": {\"x\": 1}},"
        " {\"type\": \"text\", \"text\": \"c\", \"position\": {\"x\": 1000, \"y\": 0, \"z\": 1}},"
        " {\"type\": \"text\", \"text\": \"d\", \"position\": {\"x\": 0, \"y\": 0, \"width\": \"*\"}},"
        " {\"type\": \"text\", \"text\": \"e\", \"position\": {\"right\": 0, \"bottom\": 0}},"
        " {\"type\": \"text\", \"text\": \"f\", \"position\": \"top\"},"
        " {\"type\": \"text\", \"text\": \"g\", \"position\": {\"x\": -1, \"y\": 0, \"width\": 400}}]}");
    engfix_expect_issue(i, "layout.body.0.position.right", "not both");
    engfix_expect_issue(i, "layout.body.1.position", "needs \"y\"");
    engfix_expect_issue(i, "layout.body.2.position.x", "off the page");
    engfix_expect_issue(i, "layout.body.2.position.z", "Unknown property");
    engfix_expect_issue(i, "layout.body.3.position.width", "points or a percentage");
    engfix_expect_issue(i, "layout.body.4.position", "needs a \"width\"");
    engfix_expect_issue(i, "layout.body.5.position", "Expected {\"x\"");
    ck_assert_ptr_nonnull(json_object_get(json_object_get(i, "fieldErrors"), "layout.body.6.position.x"));
    engfix_expect_issue(i, "layout.body.6.position.width", "at most the page width");
    json_decref(i);
}
END_TEST

/* ------------------------------------------------------------ roll paper */

static double page_height(const json_t *pages, int p)
{
    return json_number_value(json_object_get(json_array_get(pages, (size_t)p), "height"));
}

START_TEST(roll_paper_is_as_tall_as_its_content)
{
    /* 80 mm wide, margins 10 pt: header, three lines, a footer. */
#define ROLL(page_extra, body_extra)                                                                         \
    "{\"page\": {\"size\": [\"80mm\", \"auto\"], \"margins\": 10" page_extra "},"                            \
    " \"header\": [\"Shop\"], \"footer\": [\"Thank you\"],"                                                  \
    " \"body\": [{\"type\": \"text\", \"each\": \"l\", \"text\": \"Line {{item}}\"}" body_extra "]}"
    char buf[1000];
    snprintf(buf, sizeof buf, "%s", ROLL("", ""));
    json_t *pages = pages_of(buf, "{\"l\": [1, 2, 3]}");
    ck_assert_int_eq((int)json_array_size(pages), 1);
    double h = page_height(pages, 0);
    json_t *last = find_text(pages, 0, "Line 3"), *foot = find_text(pages, 0, "Thank you");
    ck_assert_ptr_nonnull(last);
    ck_assert_ptr_nonnull(foot);
    /* The footer follows the last line; the page ends at the bottom margin below it. */
    ck_assert(num(foot, "y") >= num(last, "y") + num(last, "h") - 0.01);
    ck_assert(num(foot, "y") < num(last, "y") + num(last, "h") + 2);
    ck_assert(h >= num(foot, "y") + num(foot, "h") + 10 - 0.01);
    ck_assert(h <= num(foot, "y") + num(foot, "h") + 10 + 1.01);
    json_decref(pages);

    /* A spacer at the end (room to tear off) makes the page taller. */
    snprintf(buf, sizeof buf, "%s", ROLL("", ", {\"type\": \"spacer\", \"height\": 50}"));
    pages = pages_of(buf, "{\"l\": [1, 2, 3]}");
    ck_assert(page_height(pages, 0) > h + 49);
    json_decref(pages);

    /* Past maxHeight the receipt continues on further pages, each at most that tall. */
    snprintf(buf, sizeof buf, "%s", ROLL(", \"maxHeight\": 200", ""));
    pages = pages_of(buf,
                     "{\"l\": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,"
                     "30,31,32,33,34,35,36,37,38,39,40]}");
    int n = (int)json_array_size(pages);
    ck_assert_int_ge(n, 3);
    for (int p = 0; p < n; p++)
        ck_assert(page_height(pages, p) <= 200 + 0.01);
    ck_assert(page_height(pages, 0) > 180);
    ck_assert(page_height(pages, n - 1) < page_height(pages, 0));
    ck_assert_ptr_nonnull(find_text(pages, n - 1, "Line 40"));
    json_decref(pages);

    /* The PDF's pages have those heights. */
    snprintf(buf, sizeof buf, "%s", ROLL("", ""));
    engine_template_t *t = engfix_compile(buf);
    json_t *d = engfix_json("{\"l\": [1, 2, 3]}");
    engine_output_t out = {0};
    char err[300];
    ck_assert_int_eq(engine_render(engfix_ctx, t, d, NULL, &out, err, sizeof err), 0);
    char want[64];
    snprintf(want, sizeof want, "/MediaBox [ 0 0 226.771654 %g ]", h);
    ck_assert_msg(memmem(out.data, out.len, want, strlen(want)), "no %s", want);
    engine_output_free(&out);
    json_decref(d);
    engine_template_free(t);
}
END_TEST

START_TEST(roll_paper_mistakes_are_issues_at_their_paths)
{
    json_t *i = engfix_issues("{\"page\": {\"size\": \"A4\", \"maxHeight\": 100}, \"body\": [\"x\"]}");
    engfix_expect_issue(i, "layout.page.maxHeight", "roll paper");
    json_decref(i);
    i = engfix_issues(
        "{\"page\": {\"size\": {\"width\": \"58mm\", \"height\": \"auto\"}, \"maxHeight\": 5,"
        " \"orientation\": \"landscape\"},"
        " \"body\": [{\"type\": \"text\", \"text\": \"x\", \"position\": {\"x\": 0, \"bottom\": 0}}]}");
    engfix_expect_issue(i, "layout.page.maxHeight", "between");
    engfix_expect_issue(i, "layout.page.orientation", "landscape");
    engfix_expect_issue(i, "layout.body.0.position.bottom", "fixed height");
    json_decref(i);
    i = engfix_issues("{\"page\": {\"size\": [\"1mm\", \"auto\"]}, \"body\": [\"x\"]}");
    engfix_expect_issue(i, "layout.page.size.width", "between");
    json_decref(i);
}
END_TEST

Suite *page_suite(void)
{
    Suite *s = suite_create("engine_page");
    TCase *tc = tcase_create("page");
    tcase_add_checked_fixture(tc, engfix_setup, engfix_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, backgrounds_go_behind_everything_on_their_pages);
    tcase_add_test(tc, background_mistakes_are_issues_at_their_paths);
    tcase_add_test(tc, positioned_blocks_stay_out_of_the_flow);
    tcase_add_test(tc, position_mistakes_are_issues_at_their_paths);
    tcase_add_test(tc, roll_paper_is_as_tall_as_its_content);
    tcase_add_test(tc, roll_paper_mistakes_are_issues_at_their_paths);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(page_suite());
}
