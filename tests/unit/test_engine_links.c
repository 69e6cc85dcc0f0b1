/* Unit tests for links to anchors: "link": "#name" on a run or text block is a PDF link to the
 * page and place of the block with that anchor (read back with poppler), every anchor is a named
 * destination, and the mistakes are issues at their paths or clear render errors. */
#include <check.h>
#include <poppler.h>
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

/* The rendered PDF of layout with data, opened (out keeps the bytes poppler reads). */
static PopplerDocument *render_pdf(const char *layout, const json_t *data, engine_output_t *out)
{
    engine_template_t *t = engfix_compile(layout);
    engine_render_opts_t opts = {.compression = ENGINE_COMPRESS_NONE};
    char err[300] = "";
    ck_assert_msg(engine_render(engfix_ctx, t, data, &opts, out, err, sizeof err) == 0, "%s", err);
    engine_template_free(t);
    GBytes *bytes = g_bytes_new_static(out->data, out->len);
    PopplerDocument *doc = poppler_document_new_from_bytes(bytes, NULL, NULL);
    g_bytes_unref(bytes);
    ck_assert_ptr_nonnull(doc);
    return doc;
}

/* The page (1-based) and top (pt from the page's top) that the named destination opens, or 0. */
static int dest_page(PopplerDocument *doc, const char *name, double *top)
{
    PopplerDest *d = poppler_document_find_dest(doc, name);
    if (!d)
        return 0;
    int page = d->page_num;
    double h = 0;
    PopplerPage *p = poppler_document_get_page(doc, page - 1);
    if (p) {
        poppler_page_get_size(p, NULL, &h);
        g_object_unref(p);
    }
    *top = h - d->top;
    poppler_dest_free(d);
    return page;
}

/* The named destinations the links on page (0-based) go to, joined with spaces. */
static void links_on(PopplerDocument *doc, int page, char *out, size_t len)
{
    out[0] = '\0';
    PopplerPage *p = poppler_document_get_page(doc, page);
    ck_assert_ptr_nonnull(p);
    GList *map = poppler_page_get_link_mapping(p);
    size_t n = 0;
    for (GList *l = map; l; l = l->next) {
        const PopplerLinkMapping *m = l->data;
        if (m->action->type == POPPLER_ACTION_GOTO_DEST &&
            m->action->goto_dest.dest->type == POPPLER_DEST_NAMED)
            n += (size_t)snprintf(out + n, len - n, "%s%s", n ? " " : "",
                                  m->action->goto_dest.dest->named_dest);
        else if (m->action->type == POPPLER_ACTION_URI)
            n += (size_t)snprintf(out + n, len - n, "%suri:%s", n ? " " : "", m->action->uri.uri);
        if (n >= len)
            n = len - 1;
    }
    poppler_page_free_link_mapping(map);
    g_object_unref(p);
}

START_TEST(links_go_to_the_page_of_the_anchor)
{
    json_t *data = engfix_lines(40);
    engine_output_t out = {0};
    PopplerDocument *doc = render_pdf(
        A6(", \"footer\": [{\"type\": \"text\", \"text\": \"terms\", \"link\": \"#terms\", \"fontSize\": 8}]",
           "{\"type\": \"text\", \"runs\": [\"See \", {\"text\": \"the terms\", \"link\": \"#terms\"}, \", "
           "\","
           " {\"text\": \"the site\", \"link\": \"https://example.com/\"}]}, " LINES
           ", {\"type\": \"heading\", \"text\": \"Terms\", \"anchor\": \"terms\"}, \"Goods travel at the "
           "buyer's "
           "risk.\""),
        data, &out);
    int pages = poppler_document_get_n_pages(doc);
    ck_assert_int_ge(pages, 3);
    double top = 0;
    int at = dest_page(doc, "terms", &top);
    ck_assert_int_eq(at, pages); /* the heading is on the last page, the lines before it */
    ck_assert_msg(top > 20 && top < 420, "the destination is %.1f pt from the top", top);
    char got[200];
    links_on(doc, 0, got, sizeof got);
    ck_assert_msg(strstr(got, "terms") && strstr(got, "uri:https://example.com/"), "page 1 links: %s", got);
    links_on(doc, 1, got, sizeof got);
    ck_assert_str_eq(got, "terms"); /* the footer's */
    g_object_unref(doc);
    engine_output_free(&out);
    json_decref(data);
}
END_TEST

START_TEST(anchors_from_the_data_are_destinations_and_targets)
{
    /* An index of the lines linking to each, and a "#" from the data that stays text. */
    json_t *data = engfix_lines(30);
    json_object_set_new(data, "ref", json_string("#line 30"));
    engine_output_t out = {0};
    PopplerDocument *doc = render_pdf(
        A6("",
           "{\"type\": \"text\", \"runs\": [{\"text\": \"last\", \"link\": \"#line 30\"}, \" \","
           " {\"text\": \"first\", \"link\": \"#{{lines.0}}\"}, \" {{ref}}\", {\"text\": \" x\", \"link\": "
           "\"{{ref}}\"}]},"
           " {\"type\": \"text\", \"each\": \"lines\", \"text\": \"{{item}}\", \"anchor\": \"{{item}}\"}"),
        data, &out);
    double top = 0, top1 = 0;
    int last = dest_page(doc, "line 30", &top);
    ck_assert_int_eq(last, poppler_document_get_n_pages(doc));
    ck_assert_int_eq(dest_page(doc, "line 1", &top1), 1);
    ck_assert_int_eq(dest_page(doc, "line 2", &top), 1);
    ck_assert_msg(top > top1, "line 2 (%.1f) is below line 1 (%.1f)", top, top1);
    char got[200];
    links_on(doc, 0, got, sizeof got);
    ck_assert_msg(strstr(got, "line 30") && strstr(got, "line 1"), "page 1 links: %s", got);
    ck_assert_msg(!strstr(got, "uri:"), "a \"#\" from the data is a link: %s", got);
    g_object_unref(doc);
    engine_output_free(&out);
    json_decref(data);
}
END_TEST

START_TEST(link_mistakes_are_issues_at_their_paths)
{
    char long_name[ENGINE_ANCHOR_MAX + 40];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    char layout[2000];
    snprintf(layout, sizeof layout,
             A6("",
                "{\"type\": \"text\", \"text\": \"a\", \"anchor\": \"terms\"},"
                " {\"type\": \"text\", \"runs\": [{\"text\": \"b\", \"link\": \"#nope\"}, {\"text\": \"c\", "
                "\"link\": \"#terms\"}]},"
                " {\"type\": \"text\", \"text\": \"d\", \"link\": \"#\"},"
                " {\"type\": \"text\", \"text\": \"e\", \"link\": \"#%s\"}"),
             long_name);
    json_t *i = engfix_issues(layout);
    engfix_expect_issue(i, "layout.body.1.runs.0.link",
                        "The link \"#nope\" goes nowhere: no block has \"anchor\": \"nope\"");
    engfix_expect_issue(i, "layout.body.2.link", "Expected \"#\" and the name of an anchor (1 to 200 bytes)");
    engfix_expect_issue(i, "layout.body.3.link", "Expected \"#\" and the name of an anchor");
    ck_assert_ptr_null(json_object_get(json_object_get(i, "fieldErrors"), "layout.body.1.runs.1.link"));
    json_decref(i);
}
END_TEST

static void expect_render_error(const char *layout, json_t *data, const char *needle)
{
    engine_template_t *t = engfix_compile(layout);
    engine_render_opts_t opts = {0};
    engine_output_t out = {0};
    char err[600] = "";
    ck_assert_msg(engine_render(engfix_ctx, t, data, &opts, &out, err, sizeof err) < 0,
                  "rendered, but should fail with \"%s\"", needle);
    ck_assert_msg(strstr(err, needle), "error \"%s\" lacks \"%s\"", err, needle);
    engine_template_free(t);
}

START_TEST(links_to_names_no_block_has_stop_the_render)
{
    json_t *data = engfix_json("{\"lines\": [\"a\", \"b\"], \"skus\": [\"b\", \"c\"]}");
    expect_render_error(A6("",
                           "{\"type\": \"text\", \"each\": \"lines\", \"text\": \"{{item}}\", \"anchor\": "
                           "\"item-{{item}}\"},"
                           " {\"type\": \"text\", \"each\": \"skus\", \"runs\": [{\"text\": \"{{item}}\", "
                           "\"link\": \"#item-{{item}}\"}]}"),
                        data,
                        "the link \"#item-c\" at layout.body.1: no block in this document has the anchor "
                        "\"item-c\"");
    /* In a footer, drawn on every page. */
    expect_render_error(A6(", \"footer\": [{\"type\": \"text\", \"text\": \"x\", \"link\": \"#{{skus.1}}\"}]",
                           "{\"type\": \"text\", \"each\": \"lines\", \"text\": \"{{item}}\", \"anchor\": "
                           "\"{{item}}\"}"),
                        data, "no block in this document has the anchor \"c\"");
    expect_render_error(
        A6("", "{\"type\": \"text\", \"each\": \"lines\", \"text\": \"{{item}}\", \"anchor\": "
               "\"{{item}}\"}, {\"type\": \"text\", \"text\": \"x\", \"link\": \"#{{nothing}}\"}"),
        data, "the link at layout.body.1: \"#\" is not \"#\" and the name of an anchor");
    json_decref(data);
}
END_TEST

Suite *links_suite(void)
{
    Suite *s = suite_create("engine_links");
    TCase *tc = tcase_create("links");
    tcase_add_checked_fixture(tc, engfix_setup, engfix_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, links_go_to_the_page_of_the_anchor);
    tcase_add_test(tc, anchors_from_the_data_are_destinations_and_targets);
    tcase_add_test(tc, link_mistakes_are_issues_at_their_paths);
    tcase_add_test(tc, links_to_names_no_block_has_stop_the_render);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(links_suite());
}
