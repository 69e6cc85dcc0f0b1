/* Unit tests for footnotes: a run {"footnote": ...} shows the footnote's number (per document)
 * and its body is set at the foot of the page the mark lands on, above the footer, under a
 * short rule; the flow never runs into them; the mistakes are issues at their paths or clear
 * render errors. Checked through engine_debug_layout (the items on every page). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "craftkit/engine.h"
#include "engine/engine_int.h"
#include "engfix.h"
#include "tu.h"

/* A6 pages of 16 pt lines, a footer: a layout around body blocks (a JSON list's inside). */
#define A6(extra, blocks)                                                                                    \
    "{\"page\": {\"size\": \"A6\", \"margins\": 20}, \"defaultStyle\": {\"fontSize\": 16}, "                 \
    "\"footer\": [\"foot\"]" extra ", \"body\": [" blocks "]}"
#define LINES "{\"type\": \"text\", \"each\": \"lines\", \"text\": \"{{item}}\"}"
#define NOTE(mark, body) "{\"type\": \"text\", \"runs\": [\"" mark "\", {\"footnote\": \"" body "\"}]}"

static double num(const json_t *it, const char *key)
{
    return json_real_value(json_object_get(it, key));
}

/* The top of the footnotes' rule on page p (a 72 pt line), or -1 when the page has none. */
static double rule_y(const json_t *pages, int p)
{
    size_t i;
    json_t *it;
    json_array_foreach(engfix_items(pages, p), i, it)
    {
        if (!strcmp(json_string_value(json_object_get(it, "kind")), "line") && num(it, "w") > 71.9 &&
            num(it, "w") < 72.1)
            return num(it, "y");
    }
    return -1;
}

/* On every page with footnotes: the flow's text ends above the rule, the notes below it, and
 * the footer below them. */
static void expect_no_overlap(const json_t *pages)
{
    for (int p = 0; p < (int)json_array_size(pages); p++) {
        double ry = rule_y(pages, p);
        if (ry < 0)
            continue;
        json_t *foot = engfix_text_item(pages, p, "foot");
        ck_assert_ptr_nonnull(foot);
        size_t i;
        json_t *it;
        json_array_foreach(engfix_items(pages, p), i, it)
        {
            if (!json_object_get(it, "text") || it == foot)
                continue;
            double y = num(it, "y"), h = num(it, "h");
            if (y < ry)
                ck_assert_msg(y + h <= ry + 0.01, "page %d: \"%s\" (%.1f..%.1f) runs into the rule at %.1f",
                              p, json_string_value(json_object_get(it, "text")), y, y + h, ry);
            else
                ck_assert_msg(y + h <= num(foot, "y") + 0.01, "page %d: a footnote runs into the footer", p);
        }
    }
}

START_TEST(a_footnote_goes_with_its_mark)
{
    /* However many lines come first, the footnote is on the page of the line with its mark
     * (the line moves on when it and its note do not both fit), and nothing overlaps. */
    const char *layout = A6("", LINES ", " NOTE("Marked", "The note") ", \"after\"");
    for (int n = 0; n <= 30; n++) {
        json_t *data = engfix_lines(n);
        json_t *pages = engfix_pages_of(layout, data);
        ck_assert_ptr_nonnull(pages);
        int mark = engfix_page_with(pages, "Marked1");
        ck_assert_int_ge(mark, 0);
        ck_assert_int_eq(engfix_page_with(pages, "The note"), mark);
        ck_assert_int_eq(engfix_page_with(pages, "1"), mark); /* its number beside it */
        json_t *note = engfix_text_item(pages, mark, "The note");
        ck_assert(num(note, "y") > rule_y(pages, mark));
        expect_no_overlap(pages);
        json_decref(pages);
        json_decref(data);
    }
}
END_TEST

START_TEST(numbers_run_through_the_document)
{
    json_t *pages = engfix_pages_of(
        A6("", NOTE("One", "First") ", {\"type\": \"pageBreak\"}, " NOTE("Two", "Second") ", " NOTE(
                   "Three", "Third") ", {\"type\": \"pageBreak\"}, "
                                     "{\"type\": \"text\", \"runs\": "
                                     "[\"Four\", {\"footnote\": "
                                     "\"Fourth\"}, \" and five\", "
                                     "{\"footnote\": [\"Fifth\", "
                                     "\"more\"]}]}"),
        NULL);
    ck_assert_ptr_nonnull(pages);
    ck_assert_int_eq(engfix_page_with(pages, "One1"), 0);
    ck_assert_int_eq(engfix_page_with(pages, "First"), 0);
    ck_assert_int_eq(engfix_page_with(pages, "Two2"), 1);
    ck_assert_int_eq(engfix_page_with(pages, "Second"), 1);
    ck_assert_int_eq(engfix_page_with(pages, "Third"), 1);
    ck_assert_int_eq(engfix_page_with(pages, "Four4 and five5"), 2);
    ck_assert_int_eq(engfix_page_with(pages, "Fifth"), 2);
    ck_assert_int_eq(engfix_page_with(pages, "more"), 2);
    ck_assert_ptr_nonnull(engfix_text_item(pages, 2, "5"));
    /* In the order of their marks, one under the other. */
    ck_assert(num(engfix_text_item(pages, 1, "Second"), "y") < num(engfix_text_item(pages, 1, "Third"), "y"));
    ck_assert(num(engfix_text_item(pages, 2, "Fourth"), "y") < num(engfix_text_item(pages, 2, "Fifth"), "y"));
    /* The mark is raised and smaller: no taller than the line without it. */
    ck_assert(num(engfix_text_item(pages, 0, "One1"), "h") < 20);
    expect_no_overlap(pages);
    json_decref(pages);

    /* Side-by-side columns: each column's footnotes, one under the other, on their page. */
    pages = engfix_pages_of(A6("", "{\"type\": \"columns\", \"columns\": [{\"children\": [" NOTE(
                                       "Left", "L note") "]},"
                                                         " {\"children\": [" NOTE("Right", "R note") "]}]}"),
                            NULL);
    ck_assert_int_eq(engfix_page_with(pages, "Left1"), 0);
    ck_assert_int_eq(engfix_page_with(pages, "Right2"), 0);
    json_t *l = engfix_text_item(pages, 0, "L note"), *r = engfix_text_item(pages, 0, "R note");
    ck_assert(l && r && num(l, "y") + num(l, "h") <= num(r, "y") + 0.01);
    expect_no_overlap(pages);
    json_decref(pages);
}
END_TEST

/* Every "line N" of the flow on page p ends above that page's rule; how many there are. */
static int lines_above_rule(const json_t *pages, int p)
{
    double ry = rule_y(pages, p);
    int n = 0;
    size_t i;
    json_t *it;
    json_array_foreach(engfix_items(pages, p), i, it)
    {
        const char *t = json_string_value(json_object_get(it, "text"));
        if (!t || strncmp(t, "line ", 5) != 0)
            continue;
        n++;
        if (ry >= 0)
            ck_assert_msg(num(it, "y") + num(it, "h") <= ry + 0.01,
                          "page %d: \"%s\" (%.1f..%.1f) runs into the rule at %.1f", p, t, num(it, "y"),
                          num(it, "y") + num(it, "h"), ry);
    }
    return n;
}

START_TEST(a_later_column_s_footnotes_push_back_an_earlier_column)
{
    /* The left column crosses pages and is placed first; the right column's footnote then
     * lands on page 1: the left column's text must end above it there, not run under it. */
    json_t *data = engfix_lines(30);
    json_t *pages = engfix_pages_of(
        A6("", "{\"type\": \"columns\", \"columns\": [{\"children\": [" LINES "]},"
               " {\"children\": [" NOTE("Right", "A long note of the right column: one two three "
                                                 "four five six seven eight nine ten") "]}]}"),
        data);
    ck_assert_int_eq(engfix_page_with(pages, "Right1"), 0);
    ck_assert(rule_y(pages, 0) > 0);
    int first = lines_above_rule(pages, 0), total = first;
    ck_assert_int_gt(first, 3);
    for (int p = 1; p < (int)json_array_size(pages); p++)
        total += lines_above_rule(pages, p);
    ck_assert_int_eq(total, 30); /* none lost: the ones that gave way went on */
    ck_assert_int_eq(engfix_page_with(pages, "line 30"), (int)json_array_size(pages) - 1);
    expect_no_overlap(pages);
    json_decref(pages);

    /* Without the note the left column uses the whole page: the note took room, nothing more. */
    json_t *plain =
        engfix_pages_of(A6("", "{\"type\": \"columns\", \"columns\": [{\"children\": [" LINES "]},"
                               " {\"children\": [{\"type\": \"text\", \"text\": \"Right\"}]}]}"),
                        data);
    ck_assert_int_gt(lines_above_rule(plain, 0), first);
    json_decref(plain);

    /* The cells of a table row taller than a page flow the same way. */
    pages = engfix_pages_of(
        A6("", "{\"type\": \"table\", \"columns\": [{\"header\": \"A\"}, {\"header\": \"B\"}], \"rows\": "
               "[[{\"type\": \"stack\", \"children\": [" LINES
               "]}, " NOTE("Right", "A long note of the right cell: "
                                    "one two three four five six seven eight nine ten eleven twelve thirteen "
                                    "fourteen fifteen sixteen") "]]}"),
        data);
    ck_assert_int_eq(engfix_page_with(pages, "Right1"), 0);
    ck_assert(rule_y(pages, 0) > 0);
    total = 0;
    for (int p = 0; p < (int)json_array_size(pages); p++)
        total += lines_above_rule(pages, p);
    ck_assert_int_eq(total, 30);
    expect_no_overlap(pages);
    json_decref(pages);
    json_decref(data);
}
END_TEST

/* A footnote of three lines at the foot of an A6 page. */
#define LONG_NOTE                                                                                            \
    "A note long enough to take three lines at the foot of the page: one two three four five six seven "     \
    "eight nine ten eleven twelve"

/* Wherever the flow leaves the blocks of layout (4 to 16 lines before them), first and second
 * land on one page with footnote 1, and nothing overlaps. */
static void expect_together_wherever(const char *layout, const char *first, const char *second,
                                     const char *what)
{
    for (int n = 4; n <= 16; n++) {
        json_t *data = engfix_lines(n);
        json_t *pages = engfix_pages_of(layout, data);
        int p = engfix_page_with(pages, first);
        ck_assert_msg(p >= 0 && engfix_page_with(pages, second) == p, "%d lines before: %s", n, what);
        ck_assert_int_eq(engfix_page_with(pages, "1"), p);
        expect_no_overlap(pages);
        json_decref(pages);
        json_decref(data);
    }
}

START_TEST(a_kept_together_block_takes_its_footnotes_along)
{
    /* A block kept together lands on one page with its footnote (the lines alone would fit at
     * the foot of a page where they and the note do not). */
    expect_together_wherever(A6("", LINES ", {\"type\": \"stack\", \"keepTogether\": true, \"children\": "
                                          "[\"Kept A\", \"Kept B\", " NOTE("Kept C", LONG_NOTE) "]}"),
                             "Kept A", "Kept C1", "the block was split");
}
END_TEST

START_TEST(a_heading_stays_with_a_paragraph_that_moves_for_its_footnote)
{
    /* keepWithNext looks at the next block's first lines with their footnotes: when they do
     * not fit under the heading, the heading goes to the next page with them. */
    expect_together_wherever(
        A6("", LINES
           ", {\"type\": \"heading\", \"level\": 2, \"text\": \"Terms\"}, " NOTE("Para after", LONG_NOTE)),
        "Terms", "Para after1", "the heading was left alone");
}
END_TEST

START_TEST(a_heading_s_mark_stays_out_of_the_contents)
{
    json_t *pages =
        engfix_pages_of(A6("", "{\"type\": \"toc\"}, {\"type\": \"heading\", \"runs\": [\"Intro\", "
                               "{\"footnote\": \"About it\"}]}"),
                        NULL);
    ck_assert_ptr_nonnull(pages);
    ck_assert_int_eq(engfix_page_with(pages, "Intro"), 0); /* the entry, without the mark */
    ck_assert_int_eq(engfix_page_with(pages, "Intro1"), 0);
    ck_assert_int_eq(engfix_page_with(pages, "About it"), 0);
    json_decref(pages);
}
END_TEST

START_TEST(footnotes_in_tables_lists_and_loops)
{
    json_t *data = engfix_json("{\"rows\": [{\"name\": \"A\", \"note\": \"note of A\"}, {\"name\": \"B\", "
                               "\"note\": \"note of B\"}, {\"name\": \"C\", \"note\": \"note of C\"}]}");
    const char *layout =
        A6("", "{\"type\": \"table\", \"each\": \"rows\", \"columns\": [{\"header\": \"Name\", \"cell\": "
               "{\"type\": \"text\", "
               "\"runs\": [\"{{item.name}}\", {\"footnote\": \"{{item.note}}\"}]}}]},"
               " {\"type\": \"list\", \"items\": [{\"type\": \"text\", \"runs\": [\"item\", {\"footnote\": "
               "\"in a list\"}]}]},"
               " {\"type\": \"text\", \"each\": \"rows\", \"runs\": [\"loop {{item.name}}\", {\"footnote\": "
               "{\"type\": \"text\", \"text\": \"about {{item.name}}\", \"italic\": true}}]}");
    json_t *pages = engfix_pages_of(layout, data);
    ck_assert_ptr_nonnull(pages);
    static const char *const want[][2] = {{"A1", "note of A"},    {"B2", "note of B"},
                                          {"C3", "note of C"},    {"item4", "in a list"},
                                          {"loop A5", "about A"}, {"loop C7", "about C"}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int p = engfix_page_with(pages, want[i][0]);
        ck_assert_msg(p >= 0, "no \"%s\"", want[i][0]);
        ck_assert_msg(engfix_page_with(pages, want[i][1]) == p, "\"%s\" is not on the page of \"%s\"",
                      want[i][1], want[i][0]);
    }
    expect_no_overlap(pages);
    json_decref(pages);
    json_decref(data);

    /* Many rows: each note on its row's page, the rows never running into the notes. */
    json_t *rows = json_array();
    for (int i = 0; i < 40; i++)
        json_array_append_new(rows, json_pack("{s:s+,s:s}", "name", "r", i % 2 ? "x" : "y", "note", "n"));
    data = json_pack("{s:o}", "rows", rows);
    pages = engfix_pages_of(layout, data);
    ck_assert_ptr_nonnull(pages);
    ck_assert_int_gt(json_array_size(pages), 2);
    expect_no_overlap(pages);
    json_decref(pages);
    json_decref(data);
}
END_TEST

START_TEST(a_footnote_taller_than_a_page_is_an_error)
{
    json_t *data = engfix_lines(60);
    engine_template_t *t = engfix_compile(A6(
        "", "{\"type\": \"text\", \"runs\": [\"x\", {\"footnote\": {\"type\": \"text\", \"each\": \"lines\", "
            "\"text\": \"{{item}}\", \"fontSize\": 16}}]}"));
    char err[600] = "";
    json_t *r = engine_debug_layout(engfix_ctx, t, data, err, sizeof err);
    ck_assert_ptr_null(r);
    ck_assert_msg(
        strstr(err, "text at layout.body.0: a line and its footnotes are taller than the page's body"), "%s",
        err);
    engine_template_free(t);
    json_decref(data);
}
END_TEST

START_TEST(footnote_mistakes_are_issues_at_their_paths)
{
    json_t *i = engfix_issues(
        "{\"header\": [{\"type\": \"text\", \"runs\": [\"h\", {\"footnote\": \"no\"}]}],"
        " \"body\": [{\"type\": \"text\", \"runs\": [\"a\", {\"footnote\": {\"type\": \"toc\"}}]},"
        " {\"type\": \"text\", \"runs\": [\"b\", {\"footnote\": {\"type\": \"text\", \"runs\": [\"c\", "
        "{\"footnote\": \"d\"}]}}]},"
        " {\"type\": \"text\", \"runs\": [{\"footnote\": \"\"}, {\"footnote\": []}, {\"footnote\": 5}, "
        "{\"footnote\": \"e\", \"text\": \"f\"}]},"
        " {\"type\": \"table\", \"each\": \"rows\", \"columns\": [{\"cell\": \"{{item}}\"}],"
        " \"carriedForward\": [{\"type\": \"text\", \"runs\": [\"g\", {\"footnote\": \"h\"}]}]}]}");
    engfix_expect_issue(i, "layout.header.0.runs.1.footnote",
                        "A footnote cannot be in a header or footer (they repeat on every page)");
    engfix_expect_issue(i, "layout.body.0.runs.1.footnote",
                        "A table of contents (\"type\": \"toc\") cannot be in a footnote");
    engfix_expect_issue(i, "layout.body.1.runs.1.footnote.runs.1.footnote",
                        "A footnote cannot be in another footnote");
    engfix_expect_issue(i, "layout.body.2.runs.0.footnote",
                        "Expected the footnote: its text, a block or a non-empty list of blocks");
    engfix_expect_issue(i, "layout.body.2.runs.1.footnote", "Expected the footnote");
    engfix_expect_issue(i, "layout.body.2.runs.2.footnote", "Expected the footnote");
    engfix_expect_issue(i, "layout.body.2.runs.3.text", "Unknown property");
    engfix_expect_issue(i, "layout.body.3.carriedForward.0.runs.1.footnote",
                        "A footnote cannot be in a carried or brought-forward row");
    json_decref(i);
    i = engfix_issues("{\"page\": {\"size\": [\"80mm\", \"auto\"]}, \"body\": [" NOTE("a", "b") "]}");
    engfix_expect_issue(i, "layout.body.0.runs.1.footnote",
                        "A footnote cannot be in a layout on roll paper (its pages have no foot)");
    json_decref(i);
    /* A positioned block is outside the flow; so are the blocks inside it. */
    i = engfix_issues(
        "{\"body\": [{\"type\": \"text\", \"runs\": [\"a\", {\"footnote\": \"b\"}],"
        " \"position\": {\"x\": 10, \"y\": 10}},"
        " {\"type\": \"stack\", \"position\": {\"x\": 10, \"bottom\": 10}, \"children\": [" NOTE(
            "c", "d") "]}, " NOTE("e", "fine") "]}");
    engfix_expect_issue(i, "layout.body.0.runs.1.footnote",
                        "A footnote cannot be in a positioned block (it is outside the flow, whose pages the "
                        "footnotes follow)");
    engfix_expect_issue(i, "layout.body.1.children.0.runs.1.footnote",
                        "A footnote cannot be in a positioned block");
    ck_assert(!engfix_has_issue(i, "layout.body.2.runs.1.footnote", ""));
    json_decref(i);
}
END_TEST

START_TEST(marks_link_to_their_footnotes)
{
    /* An anchor named like a footnote's destination yields to it (one destination per name). */
    engine_template_t *t = engfix_compile(A6(
        "", NOTE("One", "First") ", {\"type\": \"pageBreak\"}, " NOTE(
                "Two",
                "Second") ", {\"type\": \"text\", \"text\": \"named like a note\", \"anchor\": \"ck-fn1\"}"));
    static const char *const want[] = {"/Dest (ck-fn1)", "/Dest (ck-fn2)", "(ck-fn1) [", "(ck-fn2) ["};
    engfix_expect_in_pdf(t, want, sizeof want / sizeof want[0]);
    engine_template_free(t);
}
END_TEST

Suite *notes_suite(void)
{
    Suite *s = suite_create("engine_notes");
    TCase *tc = tcase_create("notes");
    tcase_add_checked_fixture(tc, engfix_setup, engfix_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, a_footnote_goes_with_its_mark);
    tcase_add_test(tc, numbers_run_through_the_document);
    tcase_add_test(tc, a_later_column_s_footnotes_push_back_an_earlier_column);
    tcase_add_test(tc, a_kept_together_block_takes_its_footnotes_along);
    tcase_add_test(tc, a_heading_stays_with_a_paragraph_that_moves_for_its_footnote);
    tcase_add_test(tc, a_heading_s_mark_stays_out_of_the_contents);
    tcase_add_test(tc, footnotes_in_tables_lists_and_loops);
    tcase_add_test(tc, a_footnote_taller_than_a_page_is_an_error);
    tcase_add_test(tc, footnote_mistakes_are_issues_at_their_paths);
    tcase_add_test(tc, marks_link_to_their_footnotes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(notes_suite());
}
