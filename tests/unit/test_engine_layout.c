/* Unit tests for pagination and rendering: table splitting with repeated headers, rows taller
 * than a page, keepTogether/keepWithNext, orphans and widows, boxes and columns across pages,
 * headers/footers with page X of Y, loops and conditions, images and codes, PNG output,
 * deterministic PDF bytes, deadlines and thread safety. Layout is inspected through
 * engine_debug_layout (positions of every item on every page). */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>
#include <glib.h>

#include "core/buf.h"
#include "core/timeutil.h"
#include "craftkit/engine.h"
#include "engine/engine_int.h"
#include "engine/image.h"
#include "engine/pdfz.h"
#include "engfix.h"
#include "stub_http.h"
#include "tu.h"

static int npages(const json_t *pages)
{
    return (int)json_array_size(pages);
}

static double num(const json_t *it, const char *k)
{
    return json_number_value(json_object_get(it, k));
}

/* The lowest point reached by text on a page. */
static double text_bottom(const json_t *pages, int p, const char *except_prefix)
{
    double b = 0;
    size_t i;
    json_t *it;
    json_array_foreach(engfix_items(pages, p), i, it)
    {
        const char *t = json_string_value(json_object_get(it, "text"));
        if (!t || (except_prefix && !strncmp(t, except_prefix, strlen(except_prefix))))
            continue;
        b = fmax(b, num(it, "y") + num(it, "h"));
    }
    return b;
}

static json_t *rows_data(int n, int lines_per_row)
{
    json_t *rows = json_array();
    for (int i = 1; i <= n; i++) {
        char s[200];
        if (lines_per_row == 2)
            snprintf(s, sizeof s, "Row %d\nsecond line of %d", i, i);
        else
            snprintf(s, sizeof s, "Row %d", i);
        json_array_append_new(rows, json_pack("{s:s,s:i}", "name", s, "n", i));
    }
    return json_pack("{s:o}", "rows", rows);
}

#define PAGE "\"page\":{\"size\":\"A5\",\"margins\":36}"

START_TEST(table_header_repeats_rows_never_split)
{
    engine_template_t *t =
        engfix_compile("{" PAGE ",\"footer\":[{\"type\":\"text\",\"text\":\"Page {{page}} of {{pages}}\","
                       "\"align\":\"center\",\"marginTop\":6}],\"body\":["
                       "{\"type\":\"heading\",\"text\":\"Statement\"},"
                       "{\"type\":\"table\",\"each\":\"rows\",\"columns\":["
                       "{\"header\":\"Item\",\"cell\":\"{{item.name}}\"},"
                       "{\"width\":60,\"align\":\"right\",\"header\":\"No.\",\"cell\":\"{{item.n}}\"}]}]}");
    json_t *data = rows_data(300, 2);
    json_t *pages = engfix_pages(t, data);
    int n = npages(pages);
    ck_assert_int_gt(n, 5);
    int next_row = 1;
    for (int p = 0; p < n; p++) {
        /* The header row is on every page, above every row of that page. */
        json_t *h = engfix_text_item(pages, p, "Item");
        ck_assert_msg(h != NULL, "no header on page %d", p + 1);
        char footer[64];
        snprintf(footer, sizeof footer, "Page %d of %d", p + 1, n);
        json_t *f = engfix_text_item(pages, p, footer);
        ck_assert_msg(f != NULL, "no \"%s\"", footer);
        /* Rows continue in order, both lines of a row on the same page, below the header, above
         * the footer. */
        for (;; next_row++) {
            char l1[64], l2[64];
            snprintf(l1, sizeof l1, "Row %d", next_row);
            snprintf(l2, sizeof l2, "second line of %d", next_row);
            json_t *a = engfix_text_item(pages, p, l1), *b = engfix_text_item(pages, p, l2);
            if (!a) {
                ck_assert_msg(!b, "row %d split across pages", next_row);
                break;
            }
            ck_assert_msg(b != NULL, "row %d split across pages", next_row);
            ck_assert(num(a, "y") > num(h, "y"));
            ck_assert(num(b, "y") + num(b, "h") <= num(f, "y"));
        }
    }
    ck_assert_int_eq(next_row, 301);
    json_decref(pages);
    json_decref(data);
    engine_template_free(t);
}
END_TEST

START_TEST(row_taller_than_a_page_is_split_cleanly)
{
    engine_template_t *t = engfix_compile(
        "{" PAGE ",\"footer\":[\"footer {{page}}\"],\"body\":[{\"type\":\"table\","
        "\"each\":\"rows\",\"columns\":[{\"width\":50,\"header\":\"H1\",\"cell\":\"{{item.n}}\"},"
        "{\"header\":\"H2\",\"cell\":\"{{item.name}}\"}]}]}");
    buf_t b;
    buf_init(&b, 1 << 20);
    for (int i = 1; i <= 120; i++)
        buf_putf(&b, "%sline %d", i > 1 ? "\n" : "", i);
    ck_assert_int_eq(buf_error(&b), BUF_OK);
    json_t *data =
        json_pack("{s:[{s:s,s:i},{s:s,s:i}]}", "rows", "name", buf_cstr(&b), "n", 1, "name", "after", "n", 2);
    buf_free(&b);
    json_t *pages = engfix_pages(t, data);
    int n = npages(pages);
    ck_assert_int_ge(n, 3);
    double page_h = 595.28;
    int line = 1;
    for (int p = 0; p < n; p++) {
        ck_assert_msg(engfix_text_item(pages, p, "H2"), "header missing on page %d", p + 1);
        json_t *f = engfix_text_item(pages, p, "footer ");
        (void)f;
        /* Nothing runs into the footer or the bottom margin. */
        ck_assert(text_bottom(pages, p, "footer") <= page_h - 36 - 10);
        for (;; line++) {
            char s[32];
            snprintf(s, sizeof s, "line %d", line);
            if (!engfix_text_item(pages, p, s))
                break;
        }
    }
    ck_assert_int_eq(line, 121);
    ck_assert(engfix_text_item(pages, n - 1, "after"));
    /* The split row's background/border continues: a line under the row's last piece. */
    json_decref(pages);
    json_decref(data);
    engine_template_free(t);
}
END_TEST

/* A rect on page p at (x, w) reaching below y_below with a top at or above y_top; NULL when none
 * (row-span backgrounds and borders are found by their geometry). */
static json_t *find_rect(const json_t *pages, int p, double x, double w, double y_top, double y_below)
{
    size_t i;
    json_t *it;
    json_array_foreach(engfix_items(pages, p), i, it)
    {
        const char *k = json_string_value(json_object_get(it, "kind"));
        if (strcmp(k, "rect") || fabs(num(it, "x") - x) > 0.01 || fabs(num(it, "w") - w) > 0.01)
            continue;
        if (num(it, "y") <= y_top + 0.01 && num(it, "y") + num(it, "h") >= y_below - 0.01)
            return it;
    }
    return NULL;
}

START_TEST(row_spans_cover_their_rows)
{
    /* Fixed rows: a cell spanning three rows (the next two list only their second cell), one
     * whose content is taller than its two rows (the last of them grows), and colSpan with
     * rowSpan. Borders "all": each cell is framed at its own size. */
    engine_template_t *t = engfix_compile(
        "{\"body\":[{\"type\":\"table\",\"borders\":\"all\",\"columns\":[100,\"*\",\"*\"],\"rows\":["
        "[{\"text\":\"Span\",\"rowSpan\":3,\"background\":\"#fee2e2\",\"verticalAlign\":\"middle\"},"
        "\"a\",\"a2\"],[\"b\",\"b2\"],[\"c\",\"c2\"],"
        "[{\"text\":\"1\\n2\\n3\\n4\\n5\\n6\",\"rowSpan\":2},\"d\",\"d2\"],[\"e\",\"e2\"],"
        "[\"f\",{\"text\":\"wide\",\"rowSpan\":2,\"colSpan\":2}],[\"g\"],[\"h\",\"i\",\"j\"]]}]}");
    json_t *pages = engfix_pages(t, NULL);
    ck_assert_int_eq(npages(pages), 1);
    json_t *span = engfix_text_item(pages, 0, "Span"), *a = engfix_text_item(pages, 0, "a"),
           *b = engfix_text_item(pages, 0, "b"), *c = engfix_text_item(pages, 0, "c"),
           *d = engfix_text_item(pages, 0, "d"), *e = engfix_text_item(pages, 0, "e"),
           *six = engfix_text_item(pages, 0, "6"), *f = engfix_text_item(pages, 0, "f"),
           *g = engfix_text_item(pages, 0, "g"), *wide = engfix_text_item(pages, 0, "wide"),
           *h = engfix_text_item(pages, 0, "h"), *j = engfix_text_item(pages, 0, "j");
    ck_assert(span && a && b && c && d && e && six && f && g && wide && h && j);
    double x0 = num(span, "x") - 4; /* the table's left edge (cell padding 4) */
    double row = num(b, "y") - num(a, "y");
    ck_assert(row > 5);
    /* Covered rows put their cells in the columns right of the span. */
    ck_assert(fabs(num(b, "x") - (x0 + 104)) < 0.01);
    ck_assert(fabs(num(c, "x") - (x0 + 104)) < 0.01);
    ck_assert(fabs((num(c, "y") - num(b, "y")) - row) < 0.01);
    /* verticalAlign middle over the three rows: centred on the middle row. */
    ck_assert(fabs((num(span, "y") + num(span, "h") / 2) - (num(b, "y") + num(b, "h") / 2)) < 0.01);
    /* The span's background and frame are three rows tall and one column wide. */
    double top = num(a, "y") - 3;
    ck_assert_ptr_nonnull(find_rect(pages, 0, x0, 100, top, top + 3 * row));
    /* The six-line cell: its first row keeps its height, the second grows to fit the text. */
    ck_assert(fabs((num(e, "y") - num(d, "y")) - row) < 0.01);
    ck_assert(num(f, "y") > num(six, "y") + num(six, "h"));
    ck_assert(fabs(num(f, "y") - (num(six, "y") + num(six, "h") + 6)) < 0.01);
    /* colSpan with rowSpan: "wide" covers columns 2 and 3 of two rows; "g" is in column 1 and
     * the row after has three cells again. */
    ck_assert(fabs(num(wide, "x") - num(b, "x")) < 0.01);
    ck_assert(fabs(num(g, "x") - (x0 + 4)) < 0.01);
    ck_assert(fabs((num(h, "y") - num(f, "y")) - 2 * row) < 0.01);
    ck_assert(num(j, "x") > num(wide, "x") + 10);
    json_decref(pages);
    engine_template_free(t);
}
END_TEST

START_TEST(row_spans_in_rows_repeated_by_each)
{
    /* A span in the cell template of each: element 1 spans rows 1-2 (element 2 leaves out its
     * cell), element 3 spans 3-4, element 5 is the last row (its span ends there). With groupBy,
     * a span ends with its group: the group footer is never covered. */
    engine_template_t *t = engfix_compile(
        "{\"body\":[{\"type\":\"table\",\"each\":\"rows\",\"columns\":[{\"width\":60,\"cell\":{\"text\":"
        "\"n{{item.n}}\",\"rowSpan\":2}},{\"cell\":\"{{item.name}}\"}]},"
        "{\"type\":\"table\",\"each\":\"rows\",\"groupBy\":\"item.g\",\"groupFooter\":"
        "[\"end\",\"of group\"],\"columns\":[{\"width\":60,\"cell\":{\"text\":\"g{{item.n}}\","
        "\"rowSpan\":2}},{\"cell\":\"{{item.name}}\"}]}]}");
    json_t *data = rows_data(5, 1);
    json_t *rows = json_object_get(data, "rows");
    for (size_t k = 0; k < json_array_size(rows); k++)
        json_object_set_new(json_array_get(rows, k), "g", json_string(k ? "b" : "a"));
    json_t *pages = engfix_pages(t, data);
    ck_assert_ptr_nonnull(engfix_text_item(pages, 0, "n1"));
    ck_assert_ptr_null(engfix_text_item(pages, 0, "n2"));
    ck_assert_ptr_nonnull(engfix_text_item(pages, 0, "n3"));
    ck_assert_ptr_null(engfix_text_item(pages, 0, "n4"));
    ck_assert_ptr_nonnull(engfix_text_item(pages, 0, "n5"));
    /* Grouped: g1 alone in its group (its span ends there), then g2, g4 span; g5 ends alone. */
    ck_assert_ptr_nonnull(engfix_text_item(pages, 0, "g1"));
    ck_assert_ptr_nonnull(engfix_text_item(pages, 0, "g2"));
    ck_assert_ptr_null(engfix_text_item(pages, 0, "g3"));
    ck_assert_ptr_nonnull(engfix_text_item(pages, 0, "g4"));
    ck_assert_ptr_null(engfix_text_item(pages, 0, "g5"));
    /* Both group footers have their first cell in the first column. */
    int ends = 0;
    size_t i;
    json_t *it;
    json_t *g1 = engfix_text_item(pages, 0, "g1");
    json_array_foreach(engfix_items(pages, 0), i, it)
    {
        const char *s = json_string_value(json_object_get(it, "text"));
        if (s && !strcmp(s, "end")) {
            ck_assert(fabs(num(it, "x") - num(g1, "x")) < 0.01);
            ends++;
        }
    }
    ck_assert_int_eq(ends, 2);
    json_decref(pages);
    json_decref(data);
    engine_template_free(t);
}
END_TEST

/* A layout on A5: a spacer of spacer pt, then a table (with the keys extra) of columns
 * [100, "*"] whose rows are first, then ["<prefix>2"] to ["<prefix>n"], then last. */
static engine_template_t *span_layout(int spacer, const char *extra, const char *first, const char *prefix,
                                      int n, const char *last)
{
    buf_t b;
    buf_init(&b, 1 << 16);
    buf_putf(&b,
             "{" PAGE ",\"body\":[{\"type\":\"spacer\",\"height\":%d},{\"type\":\"table\"%s,"
             "\"columns\":[100,\"*\"],\"rows\":[%s",
             spacer, extra, first);
    for (int i = 2; i <= n; i++)
        buf_putf(&b, ",[\"%s%d\"]", prefix, i);
    buf_putf(&b, "%s]}]}", last);
    ck_assert_int_eq(buf_error(&b), BUF_OK);
    engine_template_t *t = engfix_compile(buf_cstr(&b));
    buf_free(&b);
    return t;
}

START_TEST(row_spans_across_pages)
{
    /* A5, header repeated. A spacer leaves room for a few rows: a span over 6 rows that fits a
     * page moves to the next page whole. Then a span over 60 rows (taller than a page) breaks
     * between its rows: its text on the first piece, its background on every page, the header
     * repeated above the rows that continue. */
    engine_template_t *t = span_layout(
        420, ",\"header\":[\"Who\",\"What\"]",
        "[{\"text\":\"Six\",\"rowSpan\":6,\"background\":\"#e0f2fe\"},\"s1\"],[\"s2\"],[\"s3\"],"
        "[\"s4\"],[\"s5\"],[\"s6\"],[{\"text\":\"Long\",\"rowSpan\":60,\"background\":\"#e0f2fe\"},"
        "\"l1\"]",
        "l", 60, ",[\"after\",\"x\"]");
    json_t *pages = engfix_pages(t, NULL);
    int n = npages(pages);
    ck_assert_int_ge(n, 3);
    /* The six rows are together on page 2 with their span. */
    ck_assert_ptr_null(engfix_text_item(pages, 0, "s1"));
    ck_assert_ptr_nonnull(engfix_text_item(pages, 1, "Six"));
    ck_assert_ptr_nonnull(engfix_text_item(pages, 1, "s1"));
    ck_assert_ptr_nonnull(engfix_text_item(pages, 1, "s6"));
    /* The long span: its text once, on the page of its first row; every page it reaches has the
     * header, and its background runs from below the header to the last row there. */
    int first = -1, last = -1, texts = 0, row = 1;
    for (int p = 0; p < n; p++) {
        if (engfix_text_item(pages, p, "Long"))
            texts++;
        char s[16];
        json_t *top = NULL, *bottom = NULL, *l;
        for (;; row++) {
            snprintf(s, sizeof s, "l%d", row);
            if (!(l = engfix_text_item(pages, p, s)))
                break;
            if (!top)
                top = l;
            bottom = l;
        }
        if (!top)
            continue;
        if (first < 0)
            first = p;
        last = p;
        json_t *who = engfix_text_item(pages, p, "Who");
        ck_assert_msg(who && num(who, "y") < num(top, "y"), "no header above the rows on page %d", p + 1);
        ck_assert_msg(find_rect(pages, p, 36, 100, num(top, "y") - 3, num(bottom, "y") + num(bottom, "h")),
                      "no span background on page %d", p + 1);
        ck_assert(text_bottom(pages, p, NULL) <= 595.28 - 36 + 0.01);
    }
    ck_assert_int_eq(row, 61);
    ck_assert_int_eq(texts, 1);
    ck_assert(engfix_text_item(pages, first, "Long"));
    ck_assert_int_gt(last, first);
    ck_assert_ptr_nonnull(engfix_text_item(pages, last, "after"));
    json_decref(pages);
    engine_template_free(t);
    /* A span longer than a page whose first row moves to the next page (its other cell is taller
     * than the rest of the page): the span begins there with it, its text beside that row. */
    t = span_layout(460, "", "[{\"text\":\"S\",\"rowSpan\":50},\"t1\\nt2\\nt3\\nt4\\nt5\\nt6\\nt7\\nt8\"]",
                    "r", 50, "");
    pages = engfix_pages(t, NULL);
    ck_assert_ptr_null(engfix_text_item(pages, 0, "S"));
    ck_assert_ptr_null(engfix_text_item(pages, 0, "t1"));
    json_t *s1 = engfix_text_item(pages, 1, "S"), *t1 = engfix_text_item(pages, 1, "t1");
    ck_assert(s1 && t1 && fabs(num(s1, "y") - num(t1, "y")) < 0.01);
    json_decref(pages);
    engine_template_free(t);
    /* A spanning cell whose content alone is taller than a page is an error naming the cell,
     * not content running off the page. */
    char tall[2000] = "[{\"text\":\"";
    for (int i = 0; i < 100; i++)
        snprintf(tall + strlen(tall), sizeof tall - strlen(tall), "line %d\\n", i);
    snprintf(tall + strlen(tall), sizeof tall - strlen(tall), "\",\"rowSpan\":2},\"a\"]");
    t = span_layout(0, "", tall, "b", 2, "");
    char err[600] = "";
    ck_assert_ptr_null(engine_debug_layout(engfix_ctx, t, NULL, err, sizeof err));
    ck_assert_msg(strstr(err, "the cell at layout.body.1.rows.0.0 spans rows and is taller than a page"),
                  "%s", err);
    engine_template_free(t);
}
END_TEST

START_TEST(keep_together_and_keep_with_next)
{
    /* A spacer leaves ~60 pt on page 1: the kept box (~100 pt) moves to page 2. */
    double avail = 595.28 - 72;
    char layout[2000];
    snprintf(layout, sizeof layout,
             "{" PAGE
             ",\"body\":[{\"type\":\"spacer\",\"height\":%g},{\"type\":\"box\",\"keepTogether\":true,"
             "\"padding\":4,\"children\":[\"k1\",\"k2\",\"k3\",\"k4\",\"k5\",\"k6\",\"k7\"]}]}",
             avail - 60);
    engine_template_t *t = engfix_compile(layout);
    json_t *pages = engfix_pages(t, NULL);
    ck_assert_int_eq(npages(pages), 2);
    ck_assert_ptr_null(engfix_text_item(pages, 0, "k1"));
    ck_assert_ptr_nonnull(engfix_text_item(pages, 1, "k1"));
    ck_assert_ptr_nonnull(engfix_text_item(pages, 1, "k7"));
    json_decref(pages);
    engine_template_free(t);
    /* A heading with room for itself but not its paragraph's first lines follows the paragraph. */
    snprintf(layout, sizeof layout,
             "{" PAGE ",\"body\":[{\"type\":\"spacer\",\"height\":%g},{\"type\":\"heading\",\"level\":2,"
             "\"text\":\"Heading\"},\"Para one\\npara two\\npara three\"]}",
             avail - 30);
    t = engfix_compile(layout);
    pages = engfix_pages(t, NULL);
    ck_assert_ptr_null(engfix_text_item(pages, 0, "Heading"));
    ck_assert_ptr_nonnull(engfix_text_item(pages, 1, "Heading"));
    ck_assert_ptr_nonnull(engfix_text_item(pages, 1, "Para one"));
    json_decref(pages);
    engine_template_free(t);
}
END_TEST

START_TEST(keep_with_next_keeps_only_the_first_lines_of_a_block)
{
    /* The issue's reproduction: A6, a 200 pt spacer, a heading (keepWithNext), then a bordered
     * box of three 3-line paragraphs that does not fit in the ~106 pt left. The heading and the
     * box's first lines stay on page 1; the rest continues on page 2, as without the heading.
     * The same for the box inside a stack, and beside a paragraph in columns. */
    static const char *const around[][2] = {
        {"", ""},
        {"{\"type\":\"stack\",\"children\":[", "]}"},
        {"{\"type\":\"columns\",\"columns\":[{\"children\":[",
         "]},{\"children\":[\"side 1\\nside 2\\nside 3\\nside 4\\nside 5\\nside 6\\nside 7\\nside 8\\nside "
         "9\\nside 10\"]}]}"},
    };
    const char *box = "{\"type\":\"box\",\"border\":1,\"padding\":4,\"children\":[\"p1 a\\np1 b\\np1 c\","
                      "\"p2 a\\np2 b\\np2 c\",\"p3 a\\np3 b\\np3 c\"]}";
    for (int v = 0; v < 3; v++) {
        char layout[2000];
        snprintf(layout, sizeof layout,
                 "{\"page\":{\"size\":\"A6\"},\"body\":[{\"type\":\"spacer\",\"height\":200},"
                 "{\"type\":\"heading\",\"text\":\"Heading\"},%s%s%s]}",
                 around[v][0], box, around[v][1]);
        engine_template_t *t = engfix_compile(layout);
        json_t *pages = engfix_pages(t, NULL);
        ck_assert_int_eq(npages(pages), 2);
        ck_assert_msg(engfix_text_item(pages, 0, "Heading"), "variant %d: the heading left page 1", v);
        ck_assert_msg(engfix_text_item(pages, 0, "p1 a") && engfix_text_item(pages, 0, "p1 b"),
                      "variant %d: the block's first lines left page 1", v);
        ck_assert_msg(engfix_text_item(pages, 1, "p3 c"), "variant %d: the block's end is not on page 2", v);
        json_decref(pages);
        engine_template_free(t);
    }
    /* A box that is kept together still moves whole, with its heading. */
    const char *kept = "{\"page\":{\"size\":\"A6\"},\"body\":[{\"type\":\"spacer\",\"height\":200},"
                       "{\"type\":\"heading\",\"text\":\"Heading\"},{\"type\":\"box\",\"keepTogether\":true,"
                       "\"border\":1,\"children\":[\"k1\\nk2\\nk3\\nk4\\nk5\\nk6\\nk7\\nk8\\nk9\"]}]}";
    engine_template_t *t = engfix_compile(kept);
    json_t *pages = engfix_pages(t, NULL);
    ck_assert_ptr_nonnull(engfix_text_item(pages, 1, "Heading"));
    ck_assert_ptr_nonnull(engfix_text_item(pages, 1, "k1"));
    json_decref(pages);
    engine_template_free(t);
    /* A heading followed by a subheading: both go with the paragraph's first lines. */
    char layout[1000];
    snprintf(layout, sizeof layout,
             "{" PAGE
             ",\"body\":[{\"type\":\"spacer\",\"height\":%g},{\"type\":\"heading\",\"text\":\"Top\"},"
             "{\"type\":\"heading\",\"level\":2,\"text\":\"Sub\"},\"Para one\\npara two\\npara three\"]}",
             595.28 - 72 - 60);
    t = engfix_compile(layout);
    pages = engfix_pages(t, NULL);
    ck_assert_ptr_nonnull(engfix_text_item(pages, 1, "Top"));
    ck_assert_ptr_nonnull(engfix_text_item(pages, 1, "Sub"));
    ck_assert_ptr_nonnull(engfix_text_item(pages, 1, "Para one"));
    json_decref(pages);
    engine_template_free(t);
}
END_TEST

START_TEST(table_cells_align_vertically)
{
    /* A row with a 20 pt CJK cell and a 8 pt Latin one: top (the default) puts both at the top;
     * baseline lines up their first baselines; middle and bottom centre and sink the short cell.
     * verticalAlign may be set on the table, a column, a row or a cell ("valign" is the older
     * name). */
    static const struct {
        const char *table, *column, *row, *cell;
        int expect; /* 0 top, 1 middle, 2 bottom, 3 baseline */
    } cases[] = {
        {"", "", "", "", 0},
        {",\"verticalAlign\":\"baseline\"", "", "", "", 3},
        {"", ",\"verticalAlign\":\"baseline\"", "", "", 3},
        {"", "", ",\"verticalAlign\":\"baseline\"", "", 3},
        {"", "", "", ",\"verticalAlign\":\"baseline\"", 3},
        {",\"verticalAlign\":\"baseline\"", "", ",\"verticalAlign\":\"top\"", "", 0},
        {"", "", "", ",\"verticalAlign\":\"middle\"", 1},
        {"", "", "", ",\"valign\":\"bottom\"", 2},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char layout[1500];
        /* Baseline cells line up with each other: a column or cell setting is given to both
         * (middle and bottom only to the small cell). */
        const char *big_cell = cases[k].expect == 3 ? cases[k].cell : "";
        snprintf(layout, sizeof layout,
                 "{\"body\":[{\"type\":\"table\",\"borders\":\"none\"%s,\"columns\":[{\"width\":\"*\"%s},"
                 "{\"width\":\"*\"%s}],\"rows\":[{\"cells\":[{\"text\":\"中文\",\"fontSize\":20%s},"
                 "{\"text\":\"small\",\"fontSize\":8%s}]%s}]}]}",
                 cases[k].table, cases[k].column, cases[k].column, big_cell, cases[k].cell, cases[k].row);
        engine_template_t *t = engfix_compile(layout);
        json_t *pages = engfix_pages(t, NULL);
        json_t *big = engfix_text_item(pages, 0, "中文"), *small = engfix_text_item(pages, 0, "small");
        ck_assert_ptr_nonnull(big);
        ck_assert_ptr_nonnull(small);
        double bt = num(big, "y"), bb = num(big, "baseline"), bh = num(big, "h");
        double st = num(small, "y"), sb = num(small, "baseline"), sh = num(small, "h");
        switch (cases[k].expect) {
        case 0: ck_assert_msg(fabs(st - bt) < 0.01, "case %zu: not top-aligned", k); break;
        case 1: ck_assert_msg(fabs((st + sh / 2) - (bt + bh / 2)) < 0.01, "case %zu: not centred", k); break;
        case 2: ck_assert_msg(fabs((st + sh) - (bt + bh)) < 0.01, "case %zu: not at the bottom", k); break;
        case 3:
            ck_assert_msg(fabs(sb - bb) < 0.01, "case %zu: baselines %.2f and %.2f", k, sb, bb);
            ck_assert(st > bt + 1);
            break;
        }
        json_decref(pages);
        engine_template_free(t);
    }
    /* Both names at once, and an unknown value, are problems of the layout. */
    json_t *issues = engfix_issues(
        "{\"body\":[{\"type\":\"table\",\"columns\":[{\"verticalAlign\":\"baseline\",\"valign\":\"top\"}],"
        "\"rows\":[[{\"text\":\"x\",\"verticalAlign\":\"centre\"}]]}]}");
    json_t *fe = json_object_get(issues, "fieldErrors");
    ck_assert_ptr_nonnull(json_object_get(fe, "layout.body.0.columns.0.valign"));
    ck_assert_ptr_nonnull(json_object_get(fe, "layout.body.0.rows.0.0.verticalAlign"));
    json_decref(issues);
}
END_TEST

START_TEST(orphans_and_widows)
{
    /* 10-line paragraph; 11.64 pt per line at 10 pt DejaVu. */
    const char *para = "\"l1\\nl2\\nl3\\nl4\\nl5\\nl6\\nl7\\nl8\\nl9\\nl10\"";
    double avail = 595.28 - 72, lh = 11.64;
    char layout[1000];
    /* Room for 1 line: the whole paragraph moves (no orphan). */
    snprintf(layout, sizeof layout, "{" PAGE ",\"body\":[{\"type\":\"spacer\",\"height\":%g},%s]}",
             avail - 1.5 * lh, para);
    engine_template_t *t = engfix_compile(layout);
    json_t *pages = engfix_pages(t, NULL);
    ck_assert_ptr_null(engfix_text_item(pages, 0, "l1"));
    ck_assert_ptr_nonnull(engfix_text_item(pages, 1, "l1"));
    json_decref(pages);
    engine_template_free(t);
    /* Room for 9 lines: 8 stay, 2 go (no widow). */
    snprintf(layout, sizeof layout, "{" PAGE ",\"body\":[{\"type\":\"spacer\",\"height\":%g},%s]}",
             avail - 9.5 * lh, para);
    t = engfix_compile(layout);
    pages = engfix_pages(t, NULL);
    ck_assert_ptr_nonnull(engfix_text_item(pages, 0, "l8"));
    ck_assert_ptr_null(engfix_text_item(pages, 0, "l9"));
    ck_assert_ptr_nonnull(engfix_text_item(pages, 1, "l9"));
    ck_assert_ptr_nonnull(engfix_text_item(pages, 1, "l10"));
    json_decref(pages);
    engine_template_free(t);
}
END_TEST

START_TEST(page_breaks_boxes_and_columns_across_pages)
{
    engine_template_t *t = engfix_compile(
        "{" PAGE ",\"body\":[\"first\",{\"type\":\"pageBreak\"},\"second\","
        "{\"type\":\"pageBreak\"},{\"type\":\"pageBreak\",\"if\":\"never\"},"
        "{\"type\":\"box\",\"padding\":6,\"background\":\"#eee\",\"border\":1,"
        "\"children\":[{\"type\":\"text\",\"text\":\"{{long}}\"}]},"
        "{\"type\":\"columns\",\"columns\":[{\"children\":[{\"type\":\"text\",\"text\":\"{{long}}\"}]},"
        "{\"width\":80,\"children\":[\"right column\"]}]}]}");
    buf_t b;
    buf_init(&b, 1 << 20);
    for (int i = 1; i <= 70; i++)
        buf_putf(&b, "%sbox line %d", i > 1 ? "\n" : "", i);
    ck_assert_int_eq(buf_error(&b), BUF_OK);
    json_t *data = json_pack("{s:s}", "long", buf_cstr(&b));
    buf_free(&b);
    json_t *pages = engfix_pages(t, data);
    ck_assert_ptr_nonnull(engfix_text_item(pages, 0, "first"));
    ck_assert_ptr_nonnull(engfix_text_item(pages, 1, "second"));
    ck_assert_ptr_nonnull(engfix_text_item(pages, 2, "box line 1"));
    /* The box spans pages 3 and 4: one background rectangle per page, behind the text. */
    int rects = 0;
    for (int p = 2; p < npages(pages); p++) {
        size_t i;
        json_t *it;
        json_array_foreach(engfix_items(pages, p), i,
                           it) if (!strcmp(json_string_value(json_object_get(it, "kind")), "rect"))
        {
            rects++;
            break;
        }
    }
    ck_assert_int_ge(rects, 2);
    json_t *first_item = json_array_get(engfix_items(pages, 3), 0);
    ck_assert_str_eq(json_string_value(json_object_get(first_item, "kind")), "rect");
    /* Columns: the right column starts beside the first line of the left one. */
    int p_col = -1;
    for (int p = 0; p < npages(pages); p++)
        if (engfix_text_item(pages, p, "right column"))
            p_col = p;
    ck_assert_int_ge(p_col, 3);
    json_t *rc = engfix_text_item(pages, p_col, "right column");
    int found_left = 0;
    size_t i;
    json_t *it;
    json_array_foreach(engfix_items(pages, p_col), i, it)
    {
        const char *s = json_string_value(json_object_get(it, "text"));
        if (s && !strcmp(s, "box line 1") && fabs(num(it, "y") - num(rc, "y")) < 0.01)
            found_left = 1;
    }
    ck_assert(found_left);
    json_decref(pages);
    json_decref(data);
    engine_template_free(t);
}
END_TEST

START_TEST(loops_conditions_and_first_page_header)
{
    engine_template_t *t = engfix_compile(
        "{" PAGE ",\"header\":[\"Running header\"],\"firstPageHeader\":[\"Title page header\"],\"body\":["
        "{\"type\":\"text\",\"each\":\"people\",\"as\":\"p\",\"if\":\"p.age >= "
        "18\",\"text\":\"{{loop.index}}. {{p.name}}\"},"
        "{\"type\":\"stack\",\"each\":\"groups\",\"children\":[\"Group {{item.title}}\","
        "{\"type\":\"text\",\"each\":\"item.members\",\"as\":\"m\",\"text\":\"- {{m}} of {{item.title}}\"}]},"
        "{\"type\":\"text\",\"if\":\"not people\",\"text\":\"nobody\"},"
        "{\"type\":\"text\",\"if\":\"missing\",\"text\":\"hidden\"},"
        "{\"type\":\"pageBreak\"},\"{{ markup }}\"]}");
    json_t *data = engfix_json(
        "{\"people\":[{\"name\":\"Ann\",\"age\":30},{\"name\":\"Bob\",\"age\":12},{\"name\":\"Cy\",\"age\":"
        "18}],"
        "\"groups\":[{\"title\":\"A\",\"members\":[\"x\",\"y\"]},{\"title\":\"B\",\"members\":[]}],"
        "\"markup\":\"<b>not bold</b> {{people}}\"}");
    json_t *pages = engfix_pages(t, data);
    ck_assert_int_eq(npages(pages), 2);
    ck_assert_ptr_nonnull(engfix_text_item(pages, 0, "1. Ann"));
    ck_assert_ptr_null(engfix_text_item(pages, 0, "2. Bob"));
    ck_assert_ptr_nonnull(engfix_text_item(pages, 0, "3. Cy"));
    ck_assert_ptr_nonnull(engfix_text_item(pages, 0, "Group A"));
    ck_assert_ptr_nonnull(engfix_text_item(pages, 0, "- y of A"));
    ck_assert_ptr_nonnull(engfix_text_item(pages, 0, "Group B"));
    ck_assert_ptr_null(engfix_text_item(pages, 0, "nobody"));
    ck_assert_ptr_null(engfix_text_item(pages, 0, "hidden"));
    ck_assert_ptr_nonnull(engfix_text_item(pages, 0, "Title page header"));
    ck_assert_ptr_null(engfix_text_item(pages, 0, "Running header"));
    ck_assert_ptr_nonnull(engfix_text_item(pages, 1, "Running header"));
    ck_assert_ptr_nonnull(engfix_text_item(pages, 1, "<b>not bold</b> {{people}}"));
    json_decref(pages);
    json_decref(data);
    /* A list that is not a list is an error naming the data path. */
    data = engfix_json("{\"people\":\"Ann\"}");
    char err[300];
    ck_assert_ptr_null(engine_debug_layout(engfix_ctx, t, data, err, sizeof err));
    ck_assert_msg(strstr(err, "data.people is not a list"), "%s", err);
    json_decref(data);
    engine_template_free(t);
}
END_TEST

static int render(engine_template_t *t, json_t *data, const engine_render_opts_t *o, engine_output_t *out,
                  char *err, size_t len)
{
    return engine_render(engfix_ctx, t, data, o, out, err, len);
}

START_TEST(pdf_bytes_are_deterministic)
{
    engine_template_t *t = engfix_compile("{\"metadata\":{\"title\":\"T {{x}}\"},\"body\":[\"Hello {{x}}\","
                                          "{\"type\":\"qr\",\"data\":\"https://example.com/{{x}}\"}]}");
    json_t *data = engfix_json("{\"x\":\"déjà vu\"}");
    engine_render_opts_t o = {.creation_time = 1767225600};
    engine_output_t a, b, c;
    char err[300];
    ck_assert_int_eq(render(t, data, &o, &a, err, sizeof err), 0);
    ck_assert_int_eq(render(t, data, &o, &b, err, sizeof err), 0);
    ck_assert_int_eq(a.len, b.len);
    ck_assert(!memcmp(a.data, b.data, a.len));
    ck_assert(!memcmp(a.data, "%PDF-", 5));
    ck_assert_int_eq(a.pages, 1);
    o.creation_time++;
    ck_assert_int_eq(render(t, data, &o, &c, err, sizeof err), 0);
    ck_assert(c.len != a.len || memcmp(a.data, c.data, a.len));
    engine_output_free(&a);
    engine_output_free(&b);
    engine_output_free(&c);
    json_decref(data);
    engine_template_free(t);
}
END_TEST

START_TEST(compression_levels)
{
    engine_template_t *t = engfix_compile(
        "{\"body\":[{\"type\":\"table\",\"each\":\"rows\",\"columns\":[{\"cell\":\"{{item.name}}\"},"
        "{\"cell\":\"{{item.n}}\"}]}]}");
    json_t *data = rows_data(400, 1);
    engine_output_t o[3];
    size_t len[3];
    char err[300];
    for (int i = 0; i < 3; i++) {
        engine_render_opts_t ro = {.creation_time = 1, .compression = (engine_compression_t)i};
        ck_assert_int_eq(render(t, data, &ro, &o[i], err, sizeof err), 0);
        len[i] = o[i].len;
        /* the override reached cairo's streams on this thread */
        ck_assert_int_gt(pdfz_streams(), 0);
    }
    ck_assert_msg(len[ENGINE_COMPRESS_NONE] > 2 * len[ENGINE_COMPRESS_FAST], "none %zu, fast %zu",
                  len[ENGINE_COMPRESS_NONE], len[ENGINE_COMPRESS_FAST]);
    ck_assert(len[ENGINE_COMPRESS_FAST] < len[ENGINE_COMPRESS_STANDARD] * 1.3);
    /* FAST stores the font program: its table tags are readable in the file; STANDARD
     * compresses it. Both are valid PDFs (pdfinfo/pdftotext in the golden tests). */
    ck_assert(memmem(o[ENGINE_COMPRESS_FAST].data, len[0], "glyf", 4) != NULL);
    ck_assert(memmem(o[ENGINE_COMPRESS_STANDARD].data, len[1], "glyf", 4) == NULL);
    for (int i = 0; i < 3; i++)
        engine_output_free(&o[i]);
    json_decref(data);
    engine_template_free(t);
}
END_TEST

START_TEST(png_output)
{
    engine_template_t *t =
        engfix_compile("{\"page\":{\"size\":\"A6\"},\"body\":[\"one\",{\"type\":\"pageBreak\"},\"two\"]}");
    engine_render_opts_t o = {.format = ENGINE_PNG, .page = 2, .dpi = 72};
    engine_output_t out;
    char err[300];
    ck_assert_int_eq(render(t, NULL, &o, &out, err, sizeof err), 0);
    ck_assert(!memcmp(out.data, "\x89PNG", 4));
    ck_assert_int_eq(out.pages, 2);
    /* IHDR width/height (big endian) at bytes 16..23: A6 at 72 dpi is 298 x 420 px. */
    unsigned w = (unsigned)(out.data[16] << 24 | out.data[17] << 16 | out.data[18] << 8 | out.data[19]);
    unsigned h = (unsigned)(out.data[20] << 24 | out.data[21] << 16 | out.data[22] << 8 | out.data[23]);
    ck_assert_uint_eq(w, 298);
    ck_assert_uint_eq(h, 420);
    engine_output_free(&out);
    o.page = 3;
    ck_assert_int_lt(render(t, NULL, &o, &out, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "page 3 does not exist: the document has 2 pages"), "%s", err);
    engine_template_free(t);
}
END_TEST

START_TEST(deadline_stops_a_render)
{
    engine_template_t *t = engfix_compile(
        "{\"body\":[{\"type\":\"table\",\"each\":\"rows\",\"columns\":[{\"cell\":\"{{item.name}}\"}]}]}");
    json_t *data = rows_data(5000, 1);
    engine_render_opts_t o = {.deadline_ms = time_mono_ms() - 1};
    engine_output_t out;
    char err[300];
    ck_assert_int_lt(render(t, data, &o, &out, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "longer than the time allowed"), "%s", err);
    ck_assert_ptr_null(out.data);
    json_decref(data);
    engine_template_free(t);
}
END_TEST

/* A 2x1 px PNG as a data URI, made with cairo. */
static cairo_status_t png_collect(void *c, const unsigned char *d, unsigned int n)
{
    return buf_append(c, d, n) < 0 ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

static char *png_data_uri(int w, int h)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    buf_t png;
    buf_init(&png, 1 << 20);
    cairo_surface_write_to_png_stream(s, png_collect, &png);
    cairo_surface_destroy(s);
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    buf_t out;
    buf_init(&out, 1 << 21);
    buf_puts(&out, "data:image/png;base64,");
    const unsigned char *d = (const unsigned char *)png.data;
    for (size_t i = 0; i < png.len; i += 3) {
        unsigned v = (unsigned)d[i] << 16 | (i + 1 < png.len ? (unsigned)d[i + 1] << 8 : 0) |
                     (i + 2 < png.len ? d[i + 2] : 0);
        buf_putc(&out, b64[v >> 18 & 63]);
        buf_putc(&out, b64[v >> 12 & 63]);
        buf_putc(&out, i + 1 < png.len ? b64[v >> 6 & 63] : '=');
        buf_putc(&out, i + 2 < png.len ? b64[v & 63] : '=');
    }
    ck_assert_int_eq(buf_error(&png), BUF_OK);
    ck_assert_int_eq(buf_error(&out), BUF_OK);
    buf_free(&png);
    return buf_detach(&out, NULL);
}

START_TEST(images_and_codes)
{
    engine_template_t *t = engfix_compile(
        "{\"body\":[{\"type\":\"image\",\"src\":\"{{logo}}\",\"width\":100},"
        "{\"type\":\"image\",\"src\":\"{{optional}}\"},"
        "{\"type\":\"image\",\"src\":\"{{logo}}\",\"height\":20,\"align\":\"right\"},"
        "{\"type\":\"qr\",\"data\":\"{{url}}\",\"size\":50},"
        "{\"type\":\"barcode\",\"symbology\":\"ean13\",\"data\":\"{{ean}}\",\"width\":120,\"height\":40}]}");
    char *uri = png_data_uri(40, 20);
    json_t *data =
        json_pack("{s:s,s:s,s:s}", "logo", uri, "url", "https://example.com", "ean", "400638133393");
    free(uri);
    json_t *pages = engfix_pages(t, data);
    json_t *list = engfix_items(pages, 0);
    int images = 0, codes = 0;
    size_t i;
    json_t *it;
    json_array_foreach(list, i, it)
    {
        const char *k = json_string_value(json_object_get(it, "kind"));
        if (!strcmp(k, "image")) {
            images++;
            if (images == 1) {
                ck_assert_double_eq_tol(num(it, "w"), 100, 0.01);
                ck_assert_double_eq_tol(num(it, "h"), 50, 0.01); /* aspect kept */
            } else {
                ck_assert_double_eq_tol(num(it, "h"), 20, 0.01);
                ck_assert_double_eq_tol(num(it, "w"), 40, 0.01);
                ck_assert_double_eq_tol(num(it, "x") + num(it, "w"), 595.28 - 56.69, 0.05);
            }
        } else if (!strcmp(k, "code")) {
            codes++;
        }
    }
    ck_assert_int_eq(images, 2); /* the empty optional image is left out */
    ck_assert_int_eq(codes, 2);
    json_decref(pages);
    engine_render_opts_t o = {.creation_time = 1};
    engine_output_t out;
    char err[400];
    ck_assert_msg(render(t, data, &o, &out, err, sizeof err) == 0, "%s", err);
    engine_output_free(&out);
    /* Bad bound data: actionable messages that name the data path. */
    json_object_set_new(data, "ean", json_string("4006381333932"));
    ck_assert_int_lt(render(t, data, &o, &out, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "data.ean") && strstr(err, "ean13"), "%s", err);
    json_object_set_new(data, "ean", json_string("400638133393"));
    json_object_set_new(data, "logo", json_string("asset:nope.png"));
    ck_assert_int_lt(render(t, data, &o, &out, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "image at data.logo"), "%s", err);
    json_decref(data);
    engine_template_free(t);
}
END_TEST

START_TEST(codes_take_the_length_forms_of_images)
{
    /* width "100%" was refused on barcode and qr while image accepted it. Body: 595.28 - 2×56.69. */
    double body_w = 595.28 - 2 * 56.69;
    engine_template_t *t = engfix_compile(
        "{\"body\":[{\"type\":\"image\",\"src\":\"{{logo}}\",\"width\":\"100%\"},"
        "{\"type\":\"barcode\",\"symbology\":\"code128\",\"data\":\"CK1\",\"width\":\"100%\",\"height\":"
        "\"1cm\"},"
        "{\"type\":\"qr\",\"data\":\"x\",\"size\":\"25%\"},"
        "{\"type\":\"barcode\",\"symbology\":\"datamatrix\",\"data\":\"x\",\"width\":\"50%\"},"
        "{\"type\":\"barcode\",\"symbology\":\"ean13\",\"data\":\"400638133393\",\"width\":\"40mm\"}]}");
    char *uri = png_data_uri(40, 20);
    json_t *data = json_pack("{s:s}", "logo", uri);
    free(uri);
    json_t *pages = engfix_pages(t, data);
    double want[][2] = {{body_w, 28.35}, {body_w / 4, body_w / 4}, {body_w / 2, body_w / 2}, {113.39, 54}};
    int codes = 0;
    size_t i;
    json_t *it;
    json_array_foreach(engfix_items(pages, 0), i, it)
    {
        const char *k = json_string_value(json_object_get(it, "kind"));
        if (!strcmp(k, "image"))
            ck_assert_double_eq_tol(num(it, "w"), body_w, 0.05);
        if (strcmp(k, "code"))
            continue;
        ck_assert_int_lt(codes, 4);
        ck_assert_double_eq_tol(num(it, "w"), want[codes][0], 0.05);
        ck_assert_double_eq_tol(num(it, "h"), want[codes][1], 0.05);
        codes++;
    }
    ck_assert_int_eq(codes, 4);
    json_decref(pages);
    json_decref(data);
    engine_template_free(t);
    /* Shares of the rest ("*") are for columns only, everywhere. */
    json_t *issues =
        engfix_issues("{\"body\":[{\"type\":\"qr\",\"data\":\"x\",\"size\":\"*\"},"
                      "{\"type\":\"barcode\",\"symbology\":\"code39\",\"data\":\"X\",\"width\":\"2*\"},"
                      "{\"type\":\"image\",\"src\":\"asset:x.png\",\"width\":\"*\"}]}");
    json_t *fe = json_object_get(issues, "fieldErrors");
    ck_assert_ptr_nonnull(json_object_get(fe, "layout.body.0.size"));
    ck_assert_ptr_nonnull(json_object_get(fe, "layout.body.1.width"));
    ck_assert_ptr_nonnull(json_object_get(fe, "layout.body.2.width"));
    json_decref(issues);
}
END_TEST

START_TEST(fetched_images_and_their_errors)
{
    char *uri = png_data_uri(30, 10);
    /* the PNG bytes of the data URI, served over HTTP */
    const char *b64 = strchr(uri, ',') + 1;
    gsize png_len;
    guchar *png = g_base64_decode(b64, &png_len);
    stub_route_t routes[] = {
        {.path = "/logo.png", .status = 200, .content_type = "image/png", .body = png, .body_len = png_len},
        {.path = "/slow.png",
         .status = 200,
         .content_type = "image/png",
         .body = png,
         .body_len = png_len,
         .delay_ms = 6000},
    };
    stub_http_t srv;
    ck_assert_int_eq(stub_http_start(&srv, routes, sizeof routes / sizeof routes[0]), 0);
    engine_ctx_opts_t co = {.allow_private_urls = true, .image_timeout_ms = 2000};
    engine_ctx_t *ctx = engine_ctx_new(&co);
    engine_template_t *t =
        engfix_compile("{\"body\":[{\"type\":\"image\",\"src\":\"{{logo}}\",\"width\":60}]}");
    char url[200], err[400];
    engine_output_t out;
    engine_render_opts_t o = {.creation_time = 1};
    snprintf(url, sizeof url, "http://127.0.0.1:%d/logo.png", srv.port);
    json_t *data = json_pack("{s:s}", "logo", url);
    ck_assert_msg(engine_render(ctx, t, data, &o, &out, err, sizeof err) == 0, "%s", err);
    engine_output_free(&out);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/missing.png", srv.port);
    json_object_set_new(data, "logo", json_string(url));
    ck_assert_int_lt(engine_render(ctx, t, data, &o, &out, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "image at data.logo could not be fetched: HTTP 404"), "%s", err);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/slow.png", srv.port);
    json_object_set_new(data, "logo", json_string(url));
    ck_assert_int_lt(engine_render(ctx, t, data, &o, &out, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "image at data.logo") && strstr(err, "timed out"), "%s", err);
    /* The render's own limit bounds the fetch too: 300 ms left cuts the 2 s image timeout short.
     * (Not a speed test: the bound checked is the image timeout, far above what is allowed.) */
    engine_render_opts_t limited = {.creation_time = 1, .deadline_ms = time_mono_ms() + 300};
    int64_t t0 = time_mono_ms();
    ck_assert_int_lt(engine_render(ctx, t, data, &limited, &out, err, sizeof err), 0);
    ck_assert_msg(time_mono_ms() - t0 < 1900, "the fetch outlived the render deadline");
    ck_assert_msg(strstr(err, "image at data.logo could not be fetched: " IMAGE_DEADLINE_MSG), "%s", err);
    limited.deadline_ms = time_mono_ms() - 1;
    ck_assert_int_lt(engine_render(ctx, t, data, &limited, &out, err, sizeof err), 0);
    engine_ctx_free(ctx);
    /* Without allow_private_urls, a loopback address is refused (the SSRF guard). */
    ctx = engine_ctx_new(NULL);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/logo.png", srv.port);
    json_object_set_new(data, "logo", json_string(url));
    ck_assert_int_lt(engine_render(ctx, t, data, &o, &out, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "image at data.logo") && strstr(err, "not allowed"), "%s", err);
    engine_ctx_free(ctx);
    stub_http_stop(&srv);
    json_decref(data);
    engine_template_free(t);
    g_free(png);
    free(uri);
}
END_TEST

typedef struct thread_job {
    const engine_template_t *t;
    const json_t *data;
    engine_output_t out;
    int rc;
} thread_job_t;

static void *render_thread(void *arg)
{
    thread_job_t *j = arg;
    engine_ctx_t *ctx = engine_ctx_new(NULL);
    engine_render_opts_t o = {.creation_time = 1767225600};
    char err[300];
    for (int i = 0; i < 3 && j->rc == 0; i++) {
        engine_output_free(&j->out);
        j->rc = engine_render(ctx, j->t, j->data, &o, &j->out, err, sizeof err);
    }
    engine_ctx_free(ctx);
    return NULL;
}

START_TEST(threads_share_a_template)
{
    engine_template_t *t = engfix_compile(
        "{\"footer\":[\"{{page}}/{{pages}}\"],\"body\":[{\"type\":\"table\",\"each\":\"rows\","
        "\"columns\":[{\"header\":\"Name\",\"cell\":\"{{item.name}}\"},{\"cell\":\"مرحبا {{item.n}}\"}]}]}");
    json_t *data = rows_data(150, 1);
    thread_job_t jobs[4] = {{0}};
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        jobs[i].t = t;
        jobs[i].data = data;
        pthread_create(&th[i], NULL, render_thread, &jobs[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(jobs[i].rc, 0);
        ck_assert_int_eq(jobs[i].out.len, jobs[0].out.len);
        ck_assert(!memcmp(jobs[i].out.data, jobs[0].out.data, jobs[0].out.len));
    }
    for (int i = 0; i < 4; i++)
        engine_output_free(&jobs[i].out);
    json_decref(data);
    engine_template_free(t);
}
END_TEST

/* ---- randomised documents: every line exactly once, always inside the body area ---- */

static unsigned rng_state;

static unsigned rnd(unsigned n)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return (rng_state >> 16) % n;
}

static int token_no;

/* A paragraph of n lines, each a unique token. */
static json_t *random_text(int n)
{
    buf_t b;
    buf_init(&b, 1 << 16);
    for (int i = 0; i < n; i++)
        buf_putf(&b, "%st%d", i ? "\n" : "", token_no++);
    ck_assert_int_eq(buf_error(&b), BUF_OK);
    json_t *t = json_pack("{s:s,s:s}", "type", "text", "text", buf_cstr(&b));
    buf_free(&b);
    if (rnd(4) == 0)
        json_object_set_new(t, "keepTogether", json_true());
    if (rnd(5) == 0)
        json_object_set_new(t, "marginTop", json_integer((json_int_t)rnd(20)));
    return t;
}

static json_t *random_block(int depth);

static json_t *random_children(int depth, int max)
{
    json_t *a = json_array();
    int n = 1 + (int)rnd((unsigned)max);
    for (int i = 0; i < n; i++)
        json_array_append_new(a, random_block(depth + 1));
    return a;
}

static json_t *random_block(int depth)
{
    /* Columns only at the top and boxes/tables one level down, so that every line stays wider
     * than a token (a token broken over two lines could not be counted). */
    unsigned k = depth >= 2 ? rnd(3) : rnd(9);
    if ((k == 4 && depth > 0) || ((k == 3 || k >= 7) && depth > 1))
        k = 0;
    switch (k) {
    case 0:
    case 1: return random_text(1 + (int)rnd(rnd(4) ? 6 : 40));
    case 2: return json_pack("{s:s,s:i}", "type", "spacer", "height", (int)rnd(120));
    case 3:
        return json_pack("{s:s,s:i,s:i,s:s,s:o}", "type", "box", "padding", (int)rnd(10), "border",
                         (int)rnd(3), "background", "#eeeeee", "children", random_children(depth, 3));
    case 4: {
        json_t *cols = json_array();
        int n = 2 + (int)rnd(2);
        for (int i = 0; i < n; i++)
            json_array_append_new(
                cols, json_pack("{s:s,s:o}", "width", "*", "children", random_children(depth, 2)));
        return json_pack("{s:s,s:o}", "type", "columns", "columns", cols);
    }
    case 5: {
        json_t *h = random_text(1);
        json_object_set_new(h, "type", json_string("heading"));
        return h;
    }
    case 6: return json_pack("{s:s}", "type", "rule");
    default: {
        json_t *rows = json_array();
        int n = 1 + (int)rnd(30);
        for (int i = 0; i < n; i++) {
            json_t *r = json_array();
            json_array_append_new(r, random_text(1 + (int)rnd(rnd(10) ? 3 : 70)));
            json_array_append_new(r, random_text(1 + (int)rnd(3)));
            json_array_append_new(rows, r);
        }
        /* header cells are not unique tokens; mark them so the check skips them */
        return json_pack("{s:s,s:[s,s],s:[s,s],s:o,s:s}", "type", "table", "columns", "*", "*", "header",
                         "H:a", "H:b", "rows", rows, "borders", rnd(2) ? "all" : "rows");
    }
    }
}

START_TEST(random_documents_keep_invariants)
{
    rng_state = getenv("RANDOM_SEED") ? (unsigned)atoi(getenv("RANDOM_SEED")) : 42;
    double page_h = 419.53, margin = 20, footer_h = 0;
    int ndocs = getenv("RANDOM_DOCS") ? atoi(getenv("RANDOM_DOCS")) : 120;
    for (int doc = 0; doc < ndocs; doc++) {
        token_no = 0;
        json_t *body = json_array();
        int n = 1 + (int)rnd(6);
        for (int i = 0; i < n; i++)
            json_array_append_new(body, random_block(0));
        json_t *layout = json_pack("{s:{s:s,s:f},s:{s:i},s:[{s:s,s:s,s:f}],s:o}", "page", "size", "A6",
                                   "margins", margin, "defaultStyle", "fontSize", 7, "footer", "type", "text",
                                   "text", "F{{page}}", "marginTop", 4.0, "body", body);
        json_t *issues = NULL;
        char err[500];
        engine_template_t *t = engine_compile(layout, NULL, NULL, &issues, err, sizeof err);
        ck_assert_msg(t != NULL, "doc %d: %s", doc, err);
        json_t *pages = engfix_pages(t, NULL);
        int *seen = calloc((size_t)token_no + 1, sizeof *seen);
        for (int p = 0; p < npages(pages); p++) {
            /* the footer's top is the body's bottom */
            char ft[16];
            snprintf(ft, sizeof ft, "F%d", p + 1);
            (void)footer_h;
            json_t *f = engfix_text_item(pages, p, ft);
            ck_assert_msg(f != NULL, "doc %d page %d: no footer", doc, p + 1);
            footer_h = page_h - margin - (num(f, "y") - 4); /* the footer text has marginTop 4 */
            double bottom = page_h - margin - footer_h + 0.05;
            size_t i;
            json_t *it;
            json_array_foreach(engfix_items(pages, p), i, it)
            {
                const char *s = json_string_value(json_object_get(it, "text"));
                if (!s || s[0] != 't')
                    continue;
                int tok = atoi(s + 1);
                ck_assert(tok >= 0 && tok < token_no);
                seen[tok]++;
                ck_assert_msg(num(it, "y") >= margin - 0.05, "doc %d page %d: %s above the body", doc, p + 1,
                              s);
                ck_assert_msg(num(it, "y") + num(it, "h") <= bottom,
                              "doc %d page %d: %s at %.2f+%.2f below %.2f", doc, p + 1, s, num(it, "y"),
                              num(it, "h"), bottom);
            }
        }
        if (getenv("DUMP_DOC") && atoi(getenv("DUMP_DOC")) == doc) {
            char *d1 = json_dumps(layout, 0), *d2 = json_dumps(pages, 0);
            fprintf(stderr, "%s\n%s\n", d1, d2);
            free(d1);
            free(d2);
        }
        for (int k = 0; k < token_no; k++)
            ck_assert_msg(seen[k] == 1, "doc %d: token t%d placed %d times", doc, k, seen[k]);
        free(seen);
        json_decref(pages);
        engine_template_free(t);
        json_decref(layout);
    }
}
END_TEST

/* A list is rows of [marker | item]: markers right-aligned in their column, counters in the
 * list's style (also over data), bullets by nesting level, items side by side with them. */
START_TEST(lists_number_and_nest)
{
    engine_template_t *t = engfix_compile(
        "{" PAGE ",\"body\":["
        "{\"type\":\"list\",\"listStyle\":\"decimal\",\"markerWidth\":20,\"gap\":6,\"items\":[\"one\","
        "\"two\"]},"
        "{\"type\":\"list\",\"listStyle\":\"lower-roman\",\"start\":3,\"each\":\"rows\",\"as\":\"row\","
        "\"item\":\"{{row}}\"},"
        "{\"type\":\"list\",\"listStyle\":\"upper-alpha\",\"items\":[\"x\",\"y\"]},"
        "{\"type\":\"list\",\"items\":[[\"outer\",{\"type\":\"list\",\"items\":[\"inner\"]}]]},"
        "{\"type\":\"list\",\"marker\":\"-\",\"items\":[\"dash\"]}"
        "]}");
    json_t *data = engfix_json("{\"rows\":[\"r1\",\"r2\"]}");
    json_t *pages = engfix_pages(t, data);
    json_decref(data);
    static const char *const pairs[][2] = {{"1.", "one"},  {"2.", "two"},  {"iii.", "r1"},
                                           {"iv.", "r2"},  {"A.", "x"},    {"B.", "y"},
                                           {"•", "outer"}, {"◦", "inner"}, {"-", "dash"}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        json_t *m = engfix_text_item(pages, 0, pairs[i][0]), *it = engfix_text_item(pages, 0, pairs[i][1]);
        ck_assert_msg(m && it, "missing \"%s\" or \"%s\"", pairs[i][0], pairs[i][1]);
        ck_assert_double_eq_tol(num(m, "y"), num(it, "y"), 0.01);
        ck_assert_msg(num(m, "x") + num(m, "w") <= num(it, "x") - 5.99, "%s overlaps %s", pairs[i][0],
                      pairs[i][1]);
    }
    /* the first list: markers end at the column's right edge, items 6 pt after it */
    json_t *one = engfix_text_item(pages, 0, "1."), *two = engfix_text_item(pages, 0, "2.");
    ck_assert_double_eq_tol(num(one, "x") + num(one, "w"), num(two, "x") + num(two, "w"), 0.01);
    ck_assert_double_eq_tol(num(engfix_text_item(pages, 0, "one"), "x"), 36 + 20 + 6, 0.01);
    ck_assert_double_gt(num(engfix_text_item(pages, 0, "inner"), "x"),
                        num(engfix_text_item(pages, 0, "outer"), "x") + 10);
    json_decref(pages);
    engine_template_free(t);
}
END_TEST

Suite *layout_suite(void)
{
    Suite *s = suite_create("engine_layout");
    TCase *tc = tcase_create("layout");
    tcase_add_checked_fixture(tc, engfix_setup, engfix_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, table_header_repeats_rows_never_split);
    tcase_add_test(tc, row_taller_than_a_page_is_split_cleanly);
    tcase_add_test(tc, keep_together_and_keep_with_next);
    tcase_add_test(tc, keep_with_next_keeps_only_the_first_lines_of_a_block);
    tcase_add_test(tc, table_cells_align_vertically);
    tcase_add_test(tc, row_spans_cover_their_rows);
    tcase_add_test(tc, row_spans_in_rows_repeated_by_each);
    tcase_add_test(tc, row_spans_across_pages);
    tcase_add_test(tc, orphans_and_widows);
    tcase_add_test(tc, page_breaks_boxes_and_columns_across_pages);
    tcase_add_test(tc, loops_conditions_and_first_page_header);
    tcase_add_test(tc, pdf_bytes_are_deterministic);
    tcase_add_test(tc, compression_levels);
    tcase_add_test(tc, png_output);
    tcase_add_test(tc, deadline_stops_a_render);
    tcase_add_test(tc, images_and_codes);
    tcase_add_test(tc, codes_take_the_length_forms_of_images);
    tcase_add_test(tc, fetched_images_and_their_errors);
    tcase_add_test(tc, threads_share_a_template);
    tcase_add_test(tc, random_documents_keep_invariants);
    tcase_add_test(tc, lists_number_and_nest);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(layout_suite());
}
