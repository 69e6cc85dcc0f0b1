/* Unit tests for anchors and page references: {{pageOf("name")}} shows the page the block with
 * that "anchor" lands on once the document is paginated (in the body, laid out again until the
 * numbers are true, and in headers and footers); the mistakes are issues at their paths or
 * clear render errors. Checked through engine_debug_layout (the text on every page). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "craftkit/engine.h"
#include "engine/engine_int.h"
#include "engfix.h"
#include "tu.h"

/* A6 pages of 16 pt lines: a layout around body blocks (a JSON list's inside). */
#define A6(extra, blocks)                                                                                    \
    "{\"page\": {\"size\": \"A6\", \"margins\": 20}, \"defaultStyle\": {\"fontSize\": 16}" extra             \
    ", \"body\": [" blocks "]}"
#define LINES "{\"type\": \"text\", \"each\": \"lines\", \"text\": \"{{item}}\"}"

/* The last page whose text items include s, or -1. */
static int last_page_with(const json_t *pages, const char *s)
{
    for (int p = (int)json_array_size(pages) - 1; p >= 0; p--)
        if (engfix_text_item(pages, p, s))
            return p;
    return -1;
}

START_TEST(page_refs_show_the_page_of_the_anchor)
{
    /* Before and after the anchor, in the body and in the footer, the page it lands on. */
    static const int counts[] = {5, 40, 250};
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        json_t *data = engfix_lines(counts[k]);
        json_t *pages = engfix_pages_of(
            A6(", \"footer\": [{\"type\": \"text\", \"text\": \"terms p{{pageOf(\\\"terms\\\")}}\", "
               "\"fontSize\": 8}]",
               "\"See page {{pageOf(\\\"terms\\\")}}\", " LINES
               ", {\"type\": \"heading\", \"text\": \"Terms\", \"anchor\": \"terms\"},"
               " \"Back to page {{pageOf(\\\"top\\\")}}\", {\"type\": \"text\", \"text\": \"end\", "
               "\"anchor\": \"top\","
               " \"position\": {\"x\": 0, \"y\": 0}}"),
            data);
        ck_assert_ptr_nonnull(pages);
        int terms = engfix_page_with(pages, "Terms");
        ck_assert_int_ge(terms, counts[k] > 100 ? 9 : 0);
        char want[64];
        snprintf(want, sizeof want, "See page %d", terms + 1);
        ck_assert_msg(engfix_page_with(pages, want) == 0, "no \"%s\" on page 1", want);
        snprintf(want, sizeof want, "terms p%d", terms + 1);
        ck_assert_int_eq(engfix_page_with(pages, want), 0);
        /* A positioned block is on the page the flow reached. */
        snprintf(want, sizeof want, "Back to page %d", engfix_page_with(pages, "end") + 1);
        ck_assert_int_ge(engfix_page_with(pages, want), 0);
        json_decref(pages);
        json_decref(data);
    }
}
END_TEST

START_TEST(anchors_from_the_data_name_each_copy)
{
    json_t *data = engfix_lines(60);
    const char *layout = A6(
        "", "\"Line 50 is on page {{pageOf(\\\"l-line 50\\\")}}\", "
            "{\"type\": \"text\", \"each\": \"lines\", \"text\": \"{{item}}\", \"anchor\": \"l-{{item}}\"}");
    json_t *pages = engfix_pages_of(layout, data);
    char want[64];
    snprintf(want, sizeof want, "Line 50 is on page %d", engfix_page_with(pages, "line 50") + 1);
    ck_assert_int_eq(engfix_page_with(pages, want), 0);
    json_decref(pages);
    json_decref(data);

    /* Two copies with one name, and a name no copy has, are render errors. */
    data = engfix_json("{\"lines\": [\"a\", \"b\", \"a\"]}");
    engfix_expect_layout_error(layout, data,
                               "two blocks have the anchor \"l-a\" (the second at layout.body.1)");
    json_decref(data);
    data = engfix_json("{\"lines\": [\"a\"]}");
    engfix_expect_layout_error(layout, data,
                               "pageOf(\"l-line 50\"): no block in this document has the anchor");
    json_decref(data);
}
END_TEST

START_TEST(page_of_a_value_from_the_data)
{
    /* An index whose entries name their anchors in the data: pageOf(item.ref). */
    json_t *data = engfix_lines(40);
    json_object_set_new(data, "index",
                        engfix_json("[{\"title\": \"Terms\", \"ref\": \"terms\"},"
                                    " {\"title\": \"Line 30\", \"ref\": \"l-line 30\"}]"));
    json_object_set_new(data, "top", json_string("terms"));
    const char *layout = A6(
        "", "{\"type\": \"text\", \"each\": \"index\", \"text\": \"{{item.title}}: p{{pageOf(item.ref)}}\"},"
            " \"Top: p{{pageOf(top)}}\","
            " {\"type\": \"text\", \"each\": \"lines\", \"text\": \"{{item}}\", \"anchor\": \"l-{{item}}\"},"
            " {\"type\": \"heading\", \"text\": \"Terms\", \"anchor\": \"terms\"}");
    json_t *pages = engfix_pages_of(layout, data);
    ck_assert_ptr_nonnull(pages);
    char want[64];
    snprintf(want, sizeof want, "Terms: p%d", last_page_with(pages, "Terms") + 1);
    ck_assert_msg(engfix_page_with(pages, want) == 0, "no \"%s\" on page 1", want);
    snprintf(want, sizeof want, "Line 30: p%d", engfix_page_with(pages, "line 30") + 1);
    ck_assert_msg(engfix_page_with(pages, want) == 0, "no \"%s\" on page 1", want);
    snprintf(want, sizeof want, "Top: p%d", last_page_with(pages, "Terms") + 1);
    ck_assert_msg(engfix_page_with(pages, want) == 0, "no \"%s\" on page 1", want);
    json_decref(pages);

    /* A name no block has, and a value that is no name, stop the render. */
    json_object_set_new(data, "index", engfix_json("[{\"title\": \"X\", \"ref\": \"appendix\"}]"));
    engfix_expect_layout_error(layout, data,
                               "pageOf(item.ref): no block in this document has the anchor \"appendix\"");
    json_object_set_new(data, "index", engfix_json("[{\"title\": \"X\", \"ref\": true}]"));
    engfix_expect_layout_error(layout, data,
                               "pageOf(item.ref): the value is not the name of an anchor (text)");
    json_decref(data);
}
END_TEST

START_TEST(anchor_mistakes_are_issues_at_their_paths)
{
    json_t *i = engfix_issues(
        A6(", \"header\": [{\"type\": \"text\", \"text\": \"h\", \"anchor\": \"h\"}]",
           "{\"type\": \"text\", \"text\": \"a\", \"anchor\": \"x\"},"
           " {\"type\": \"stack\", \"children\": [{\"type\": \"text\", \"text\": \"b\", \"anchor\": \"x\"}]},"
           " {\"type\": \"text\", \"each\": \"lines\", \"text\": \"{{item}}\", \"anchor\": \"row\"},"
           " {\"type\": \"text\", \"text\": \"c\", \"anchor\": 5}, {\"type\": \"rule\", \"anchor\": \"\"},"
           " \"See {{pageOf(\\\"nope\\\")}}\", \"See {{pageOf(3)}}\", \"See {{pageof(\\\"x\\\")}}\""));
    engfix_expect_issue(i, "layout.header.0.anchor", "Headers and footers repeat on every page");
    engfix_expect_issue(i, "layout.body.1.children.0.anchor", "already used at layout.body.0.anchor");
    engfix_expect_issue(i, "layout.body.2.anchor", "This block repeats");
    engfix_expect_issue(i, "layout.body.3.anchor", "Expected the anchor's name");
    engfix_expect_issue(i, "layout.body.4.anchor", "Expected the anchor's name");
    engfix_expect_issue(i, "layout.body.5", "pageOf(\"nope\"): no block has \"anchor\": \"nope\"");
    engfix_expect_issue(i, "layout.body.6", "pageOf takes the name of an anchor in quotes");
    engfix_expect_issue(i, "layout.body.7", "Unknown function \"pageof\"");
    json_decref(i);
}
END_TEST

/* The text item after the entry "Section n" of the table of contents (its page number), on the
 * pages up to `body` (where the sections begin). */
static const char *toc_number(const json_t *pages, int body, const char *entry)
{
    for (int p = 0; p <= body; p++) {
        json_t *list = engfix_items(pages, p);
        for (size_t i = 0; i + 1 < json_array_size(list); i++) {
            const char *t = json_string_value(json_object_get(json_array_get(list, i), "text"));
            if (t && !strcmp(t, entry))
                return json_string_value(json_object_get(json_array_get(list, i + 1), "text"));
        }
    }
    return NULL;
}

START_TEST(toc_lists_the_headings_with_their_final_pages)
{
    /* Forty sections: the contents take two pages and push every section on. */
    json_t *secs = json_array();
    for (int i = 1; i <= 40; i++)
        json_array_append_new(secs, json_integer(i));
    json_t *data = json_pack("{s:o}", "secs", secs);
    json_t *pages = engfix_pages_of(
        A6("", "{\"type\": \"toc\", \"title\": \"Contents\", \"levels\": 1, \"fontSize\": 10},"
               " {\"type\": \"stack\", \"each\": \"secs\", \"children\": [{\"type\": \"heading\", "
               "\"text\": \"Section "
               "{{item}}\"}, {\"type\": \"heading\", \"level\": 2, \"text\": \"Sub {{item}}\"},"
               " {\"type\": \"spacer\", \"height\": 120}]}"),
        data);
    ck_assert_ptr_nonnull(pages);
    int body = last_page_with(pages, "Section 1");
    ck_assert_int_ge(engfix_page_with(pages, "Section 40"), 1); /* its entry is on the second page */
    ck_assert_int_eq(engfix_page_with(pages, "Contents"), 0);
    for (int i = 1; i <= 40; i++) {
        char entry[32], want[16];
        snprintf(entry, sizeof entry, "Section %d", i);
        int at = last_page_with(pages, entry);
        snprintf(want, sizeof want, "%d", at + 1);
        const char *got = toc_number(pages, body, entry);
        ck_assert_msg(got && !strcmp(got, want), "%s: contents say %s, it is on page %s", entry,
                      got ? got : "-", want);
    }
    ck_assert_ptr_null(toc_number(pages, body, "Sub 1")); /* levels: 1 */
    json_decref(pages);
    json_decref(data);
}
END_TEST

START_TEST(toc_mistakes_are_issues_at_their_paths)
{
    json_t *i = engfix_issues(
        A6(", \"footer\": [{\"type\": \"toc\"}]",
           "{\"type\": \"table\", \"each\": \"lines\", \"columns\": [{\"cell\": {\"type\": \"toc\"}}]},"
           " {\"type\": \"toc\", \"each\": \"lines\"},"
           " {\"type\": \"toc\", \"levels\": 4, \"title\": 5, \"levelIndent\": \"wide\", \"colour\": 1}"));
    engfix_expect_issue(i, "layout.footer.0", "cannot be in a header or footer");
    engfix_expect_issue(i, "layout.body.0.columns.0.cell", "cannot be in a table cell");
    engfix_expect_issue(i, "layout.body.1", "cannot be in a block that repeats");
    engfix_expect_issue(i, "layout.body.2.levels", "");
    engfix_expect_issue(i, "layout.body.2.title", "Expected the title");
    engfix_expect_issue(i, "layout.body.2.levelIndent", "");
    engfix_expect_issue(i, "layout.body.2.colour", "Unknown property");
    json_decref(i);
}
END_TEST

START_TEST(toc_entries_link_to_their_headings)
{
    engine_template_t *t = engfix_compile(
        A6("", "{\"type\": \"toc\"}, {\"type\": \"pageBreak\"}, {\"type\": \"heading\", \"text\": \"One\"},"
               " {\"type\": \"pageBreak\"}, {\"type\": \"heading\", \"text\": \"Two\"}"));
    static const char *const want[] = {"/Dest (ck-h0)", "/Dest (ck-h1)", "(ck-h0) [", "(ck-h1) ["};
    engfix_expect_in_pdf(t, want, sizeof want / sizeof want[0]);
    engine_template_free(t);
}
END_TEST

Suite *refs_suite(void)
{
    Suite *s = suite_create("engine_refs");
    TCase *tc = tcase_create("refs");
    tcase_add_checked_fixture(tc, engfix_setup, engfix_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, page_refs_show_the_page_of_the_anchor);
    tcase_add_test(tc, anchors_from_the_data_name_each_copy);
    tcase_add_test(tc, page_of_a_value_from_the_data);
    tcase_add_test(tc, anchor_mistakes_are_issues_at_their_paths);
    tcase_add_test(tc, toc_lists_the_headings_with_their_final_pages);
    tcase_add_test(tc, toc_mistakes_are_issues_at_their_paths);
    tcase_add_test(tc, toc_entries_link_to_their_headings);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(refs_suite());
}
