/*
 * golden_check — end-to-end checks of the document engine against committed expectations.
 *
 *   golden_check CASE_DIR OUT_DIR        one golden case (tests/golden/<case>/)
 *   golden_check --docs FILE.md OUT_DIR  every example of docs/templates.md
 *   golden_check --compare ACTUAL.png EXPECTED.png DIFF.png
 *                                        one picture made elsewhere (overlay_check.sh: a
 *                                        pdf-overlay page from craftkit render) against its
 *                                        golden, with the same tolerances
 *
 * A case directory holds layout.json, data.json, optionally manifest.json, pageConfig.json,
 * assets/ and expect.json (without layout.json, the layout generated from the manifest):
 *   {"pages": N,                                  exact page count (pdfinfo)
 *    "text": ["..."],                             substrings of the whole text (pdftotext)
 *    "notText": ["..."],                          substrings that must not appear
 *    "everyPage": ["..."],                        substrings on every page (repeated headers)
 *    "pageXofY": "Page {page} of {pages}",        this line, with the true numbers, on every page
 *    "pageText": {"1": ["..."], "-1": ["..."]},   substrings of one page (negative: from the end)
 *    "metadata": {"Title": "..."},                pdfinfo fields
 *    "pdfContains": ["/URI (https://...)"],       raw bytes of the PDF (links, annotations)
 *    "words": [{"text": "PAID", "page": 1,        where a word is (pdftotext -bbox), in pt from the
 *               "xMin": 300, "yMin": 280,         page's top-left; any of xMin, yMin, xMax, yMax;
 *               "tolerance": 1}],                 tolerance defaults to 1 pt
 *    "render": {"watermark": "TEST"},             engine_render options
 *    "png": {"dpi": 30, "pages": [1, 2]}}         pages compared with expected/page-N.png
 * Page images come from poppler's pdftoppm and are compared pixel by pixel: a pixel differs
 * when a channel is off by more than PIXEL_TOLERANCE; a page fails when more than
 * DIFF_FRACTION_MAX of its pixels differ (antialiasing noise stays far below that, a moved
 * line or a changed word does not). CRAFTKIT_GOLDEN_UPDATE=1 rewrites the expected images.
 * Every PDF also gets: all fonts embedded as subsets, and identical bytes when rendered twice.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cairo.h>

#include "core/buf.h"
#include "craftkit/engine.h"

#define PIXEL_TOLERANCE 32
#define DIFF_FRACTION_MAX 0.0001
#define CREATION_TIME 1767225600 /* 2026-01-01T00:00:00Z */

static int failures;

static void fail(const char *what, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL %s: ", what);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    failures++;
}

/* mkdir -p */
static void make_dirs(const char *path)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(tmp, 0755);
            *p = '/';
        }
    mkdir(tmp, 0755);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    buf_t b;
    buf_init(&b, 64u * 1024 * 1024);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_put(&b, chunk, n);
    fclose(f);
    if (buf_error(&b) != BUF_OK) {
        buf_free(&b);
        return NULL;
    }
    return buf_detach(&b, len);
}

static int write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = fwrite(data, 1, len, f);
    fclose(f);
    return n == len ? 0 : -1;
}

static json_t *load_opt(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (access(path, R_OK) != 0)
        return NULL;
    json_error_t e;
    json_t *v = json_load_file(path, 0, &e);
    if (!v)
        fail(name, "%s:%d: %s", path, e.line, e.text);
    return v;
}

/* Runs a command, returns its stdout (NULL on failure). */
static char *run(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    buf_t b;
    buf_init(&b, 256u * 1024 * 1024);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
        buf_put(&b, chunk, n);
    int st = pclose(p);
    if (st != 0 || buf_error(&b) != BUF_OK) {
        buf_free(&b);
        return NULL;
    }
    return buf_detach(&b, NULL);
}

/* pdftotext output without the invisible bidi formatting characters it writes around
 * right-to-left text (U+202A..U+202E embeddings) and those craftkit writes for extraction
 * order (U+200E/U+200F marks, docs/architecture.md): expectations are the visible text. */
static char *pdftotext_visible(const char *pdf)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "pdftotext -enc UTF-8 '%s' -", pdf);
    char *text = run(cmd);
    if (!text)
        return NULL;
    char *w = text;
    for (const unsigned char *r = (const unsigned char *)text; *r;) {
        bool mark = r[0] == 0xe2 && r[1] == 0x80 &&
                    ((r[2] >= 0x8e && r[2] <= 0x8f) || (r[2] >= 0xaa && r[2] <= 0xae));
        bool isolate = r[0] == 0xe2 && r[1] == 0x81 && r[2] >= 0xa6 && r[2] <= 0xa9;
        if (mark || isolate) {
            r += 3;
            continue;
        }
        *w++ = (char)*r++;
    }
    *w = '\0';
    return text;
}

/* Page p (0-based) of pdftotext output (pages end with form feeds). */
static char *page_text(const char *all, int p)
{
    const char *s = all;
    for (int i = 0; i < p && s; i++) {
        s = strchr(s, '\f');
        if (s)
            s++;
    }
    if (!s)
        return strdup("");
    const char *e = strchr(s, '\f');
    return strndup(s, e ? (size_t)(e - s) : strlen(s));
}

static int pdfinfo_pages(const char *info)
{
    const char *p = strstr(info, "\nPages:");
    if (!p && !strncmp(info, "Pages:", 6))
        p = info - 1;
    return p ? atoi(p + 7) : -1;
}

static void check_metadata(const char *name, const char *info, const json_t *meta)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)meta, key, v)
    {
        char line[600];
        snprintf(line, sizeof line, "%s:", key);
        const char *p = strstr(info, line);
        if (!p) {
            fail(name, "pdfinfo has no %s", key);
            continue;
        }
        p += strlen(line);
        while (*p == ' ')
            p++;
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (strlen(json_string_value(v)) != n || strncmp(p, json_string_value(v), n))
            fail(name, "pdfinfo %s is \"%.*s\", expected \"%s\"", key, (int)n, p, json_string_value(v));
    }
}

/* ------------------------------------------------------------ images */

static int compare_png(const char *name, const char *actual, const char *expected, const char *diff_out)
{
    cairo_surface_t *a = cairo_image_surface_create_from_png(actual);
    cairo_surface_t *e = cairo_image_surface_create_from_png(expected);
    int rc = -1;
    if (cairo_surface_status(a) != CAIRO_STATUS_SUCCESS) {
        fail(name, "cannot read %s", actual);
        goto done;
    }
    if (cairo_surface_status(e) != CAIRO_STATUS_SUCCESS) {
        fail(name, "cannot read %s (run with CRAFTKIT_GOLDEN_UPDATE=1 to create it)", expected);
        goto done;
    }
    int w = cairo_image_surface_get_width(a), h = cairo_image_surface_get_height(a);
    if (w != cairo_image_surface_get_width(e) || h != cairo_image_surface_get_height(e)) {
        fail(name, "%s is %dx%d, expected %dx%d", actual, w, h, cairo_image_surface_get_width(e),
             cairo_image_surface_get_height(e));
        goto done;
    }
    cairo_surface_flush(a);
    cairo_surface_flush(e);
    cairo_surface_t *d = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    unsigned char *pa = cairo_image_surface_get_data(a), *pe = cairo_image_surface_get_data(e);
    unsigned char *pd = cairo_image_surface_get_data(d);
    int sa = cairo_image_surface_get_stride(a), se = cairo_image_surface_get_stride(e),
        sd = cairo_image_surface_get_stride(d);
    long differ = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const unsigned char *ca = pa + y * sa + x * 4, *ce = pe + y * se + x * 4;
            int maxd = 0;
            for (int c = 0; c < 3; c++) {
                int dd = abs(ca[c] - ce[c]);
                if (dd > maxd)
                    maxd = dd;
            }
            unsigned char *cd = pd + y * sd + x * 4;
            bool bad = maxd > PIXEL_TOLERANCE;
            differ += bad;
            /* diff image: faded expected page, differing pixels in red */
            cd[0] = bad ? 0 : (unsigned char)(192 + ce[0] / 4);
            cd[1] = bad ? 0 : (unsigned char)(192 + ce[1] / 4);
            cd[2] = bad ? 255 : (unsigned char)(192 + ce[2] / 4);
        }
    double frac = (double)differ / ((double)w * h);
    if (frac > DIFF_FRACTION_MAX) {
        cairo_surface_mark_dirty(d);
        cairo_surface_write_to_png(d, diff_out);
        fail(name, "%s differs from %s in %ld pixels (%.3f%%, limit %.3f%%); see %s", actual, expected,
             differ, frac * 100, DIFF_FRACTION_MAX * 100, diff_out);
    } else {
        rc = 0;
    }
    cairo_surface_destroy(d);
done:
    cairo_surface_destroy(a);
    cairo_surface_destroy(e);
    return rc;
}

/* CRAFTKIT_GOLDEN_UPDATE=1: the expected pictures are rewritten rather than compared. */
static bool updating(void)
{
    return getenv("CRAFTKIT_GOLDEN_UPDATE") && !strcmp(getenv("CRAFTKIT_GOLDEN_UPDATE"), "1");
}

/* Compares actual with expected, or (update) copies it there, making expected's folder. */
static void compare_or_update(const char *name, const char *actual, const char *expected, const char *diff,
                              bool update)
{
    if (!update) {
        compare_png(name, actual, expected, diff);
        return;
    }
    char dir[1100];
    snprintf(dir, sizeof dir, "%s", expected);
    if (strrchr(dir, '/'))
        *strrchr(dir, '/') = '\0';
    mkdir(dir, 0755);
    size_t len;
    char *data = read_file(actual, &len);
    if (!data || write_file(expected, data, len) < 0)
        fail(name, "cannot update %s", expected);
    else
        fprintf(stderr, "updated %s\n", expected);
    free(data);
}

static void check_pngs(const char *name, const char *case_dir, const char *out_dir, const char *pdf,
                       const json_t *png)
{
    int dpi = (int)json_integer_value(json_object_get(png, "dpi"));
    if (dpi <= 0)
        dpi = 30;
    bool update = updating();
    size_t i;
    json_t *pv;
    json_array_foreach(json_object_get(png, "pages"), i, pv)
    {
        int page = (int)json_integer_value(pv);
        char cmd[4096], actual[1100], expected[1100], diff[1100], prefix[1024];
        snprintf(prefix, sizeof prefix, "%s/page-%d", out_dir, page);
        snprintf(cmd, sizeof cmd, "pdftoppm -r %d -f %d -l %d -png -singlefile '%s' '%s'", dpi, page, page,
                 pdf, prefix);
        char *o = run(cmd);
        if (!o) {
            fail(name, "pdftoppm failed: %s", cmd);
            continue;
        }
        free(o);
        snprintf(actual, sizeof actual, "%s.png", prefix);
        snprintf(expected, sizeof expected, "%s/expected/page-%d.png", case_dir, page);
        snprintf(diff, sizeof diff, "%s/diff-page-%d.png", out_dir, page);
        compare_or_update(name, actual, expected, diff, update);
    }
}

/* --compare: actual against expected (or, with CRAFTKIT_GOLDEN_UPDATE=1, expected rewritten). */
static int compare_one(const char *actual, const char *expected, const char *diff)
{
    compare_or_update(actual, actual, expected, diff, updating());
    return failures ? 1 : 0;
}

/* ------------------------------------------------------------ rendering */

static int render_pdf(const char *name, const json_t *layout, const json_t *page_config,
                      const json_t *manifest, const json_t *data, const json_t *ropts, const char *assets,
                      engine_output_t *out)
{
    char err[2000];
    json_t *issues = NULL;
    engine_template_t *t = engine_compile(layout, page_config, manifest, &issues, err, sizeof err);
    if (!t) {
        char *s = issues ? json_dumps(issues, JSON_INDENT(1)) : NULL;
        fail(name, "compile: %s\n%s", err, s ? s : "");
        free(s);
        json_decref(issues);
        return -1;
    }
    engine_ctx_opts_t co = {.assets_dir = assets, .allow_private_urls = false};
    engine_ctx_t *ctx = engine_ctx_new(&co);
    engine_render_opts_t ro = {.creation_time = CREATION_TIME};
    json_t *wm = json_object_get(ropts, "watermark");
    if (json_is_string(wm))
        ro.watermark = json_string_value(wm);
    int rc = engine_render(ctx, t, data, &ro, out, err, sizeof err);
    if (rc < 0)
        fail(name, "render: %s", err);
    /* Same input, same bytes. */
    engine_output_t again = {0};
    if (rc == 0 && engine_render(ctx, t, data, &ro, &again, err, sizeof err) == 0 &&
        (again.len != out->len || memcmp(again.data, out->data, out->len)))
        fail(name, "rendering twice with a fixed creation time gave different bytes");
    engine_output_free(&again);
    engine_ctx_free(ctx);
    engine_template_free(t);
    return rc;
}

static bool contains(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}

/* Text checks common to goldens and docs examples. */
static void check_text(const char *name, const char *text, const json_t *expect, int pages)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(expect, "text"), i, v) if (!contains(text, json_string_value(v)))
        fail(name, "text \"%s\" not found", json_string_value(v));
    json_array_foreach(json_object_get(expect, "notText"), i, v) if (contains(text, json_string_value(v)))
        fail(name, "text \"%s\" should not appear", json_string_value(v));
    json_t *every = json_object_get(expect, "everyPage");
    const char *xofy = json_string_value(json_object_get(expect, "pageXofY"));
    for (int p = 0; p < pages; p++) {
        char *pt = page_text(text, p);
        json_array_foreach(every, i, v) if (!contains(pt, json_string_value(v)))
            fail(name, "\"%s\" missing on page %d", json_string_value(v), p + 1);
        if (xofy) {
            char want[256], a[32], b[32];
            snprintf(a, sizeof a, "%d", p + 1);
            snprintf(b, sizeof b, "%d", pages);
            /* substitute {page} and {pages} */
            size_t n = 0;
            for (const char *s = xofy; *s && n < sizeof want - 40;) {
                if (!strncmp(s, "{pages}", 7)) {
                    n += (size_t)snprintf(want + n, sizeof want - n, "%s", b);
                    s += 7;
                } else if (!strncmp(s, "{page}", 6)) {
                    n += (size_t)snprintf(want + n, sizeof want - n, "%s", a);
                    s += 6;
                } else {
                    want[n++] = *s++;
                }
            }
            want[n] = 0;
            if (!contains(pt, want))
                fail(name, "\"%s\" missing on page %d", want, p + 1);
        }
        free(pt);
    }
    const char *key;
    json_object_foreach(json_object_get(expect, "pageText"), key, v)
    {
        int p = atoi(key);
        if (p < 0)
            p = pages + p + 1;
        char *pt = page_text(text, p - 1);
        size_t j;
        json_t *s;
        json_array_foreach(v, j, s) if (!contains(pt, json_string_value(s)))
            fail(name, "\"%s\" missing on page %d", json_string_value(s), p);
        free(pt);
    }
}

/* The box of the first word `text` in pdftotext -bbox output (one "<word xMin=..>text</word>" a line). */
static bool word_box(const char *html, const char *text, double box[4])
{
    char tail[300];
    snprintf(tail, sizeof tail, "\">%s</word>", text);
    const char *end = strstr(html, tail);
    if (!end)
        return false;
    const char *start = end;
    while (start > html && start[-1] != '\n')
        start--;
    static const char *const keys[] = {"xMin=\"", "yMin=\"", "xMax=\"", "yMax=\""};
    for (int i = 0; i < 4; i++) {
        const char *k = strstr(start, keys[i]);
        if (!k || k > end)
            return false;
        box[i] = strtod(k + strlen(keys[i]), NULL);
    }
    return true;
}

static void check_words(const char *name, const char *pdf, const json_t *words)
{
    size_t i;
    json_t *w;
    json_array_foreach(words, i, w)
    {
        const char *text = json_string_value(json_object_get(w, "text"));
        int page = json_is_integer(json_object_get(w, "page"))
                       ? (int)json_integer_value(json_object_get(w, "page"))
                       : 1;
        double tol = json_is_number(json_object_get(w, "tolerance"))
                         ? json_number_value(json_object_get(w, "tolerance"))
                         : 1;
        char cmd[1300];
        snprintf(cmd, sizeof cmd, "pdftotext -bbox -f %d -l %d '%s' -", page, page, pdf);
        char *html = run(cmd);
        double box[4];
        if (!html || !text || !word_box(html, text, box)) {
            fail(name, "word \"%s\" not found on page %d", text ? text : "(no text)", page);
            free(html);
            continue;
        }
        free(html);
        static const char *const keys[] = {"xMin", "yMin", "xMax", "yMax"};
        for (int k = 0; k < 4; k++) {
            json_t *want = json_object_get(w, keys[k]);
            if (json_is_number(want) && fabs(box[k] - json_number_value(want)) > tol)
                fail(name, "word \"%s\" on page %d: %s is %.2f, expected %.2f", text, page, keys[k], box[k],
                     json_number_value(want));
        }
    }
}

static int check_case(const char *case_dir, const char *out_dir)
{
    const char *name = strrchr(case_dir, '/') ? strrchr(case_dir, '/') + 1 : case_dir;
    make_dirs(out_dir);
    json_t *layout = load_opt(case_dir, "layout.json"), *data = load_opt(case_dir, "data.json");
    json_t *manifest = load_opt(case_dir, "manifest.json"), *pc = load_opt(case_dir, "pageConfig.json");
    json_t *expect = load_opt(case_dir, "expect.json");
    if ((!layout && !manifest) || !expect) {
        fail(name, "needs expect.json and layout.json (or manifest.json alone: the generated layout)");
        return 1;
    }
    char assets[1024], pdf[1024], cmd[2048];
    snprintf(assets, sizeof assets, "%s/assets", case_dir);
    engine_output_t out = {0};
    if (render_pdf(name, layout, pc, manifest, data, json_object_get(expect, "render"),
                   access(assets, R_OK) == 0 ? assets : NULL, &out) < 0)
        return 1;
    snprintf(pdf, sizeof pdf, "%s/%s.pdf", out_dir, name);
    write_file(pdf, out.data, out.len);
    snprintf(cmd, sizeof cmd, "pdfinfo -isodates '%s'", pdf);
    char *info = run(cmd);
    int pages = info ? pdfinfo_pages(info) : -1;
    if (!info)
        fail(name, "pdfinfo failed on %s", pdf);
    if (pages != out.pages)
        fail(name, "pdfinfo says %d pages, the engine %d", pages, out.pages);
    json_t *want_pages = json_object_get(expect, "pages");
    if (want_pages && json_integer_value(want_pages) != pages)
        fail(name, "%d pages, expected %lld", pages, (long long)json_integer_value(want_pages));
    if (info && json_object_get(expect, "metadata"))
        check_metadata(name, info, json_object_get(expect, "metadata"));
    free(info);
    char *text = pdftotext_visible(pdf);
    if (!text)
        fail(name, "pdftotext failed");
    else
        check_text(name, text, expect, pages);
    free(text);
    snprintf(cmd, sizeof cmd, "pdffonts '%s'", pdf);
    char *fonts = run(cmd);
    if (fonts) {
        /* After the two header lines, every font line must say "yes yes" for emb and sub. */
        const char *line = strchr(fonts, '\n');
        line = line ? strchr(line + 1, '\n') : NULL;
        for (; line && line[1]; line = strchr(line + 1, '\n')) {
            const char *e = strchr(line + 1, '\n');
            char l[400];
            snprintf(l, sizeof l, "%.*s", (int)(e ? e - line - 1 : (long)strlen(line + 1)), line + 1);
            if (!strstr(l, " yes yes "))
                fail(name, "font not subset-embedded: %s", l);
        }
    }
    free(fonts);
    size_t ri;
    json_t *rv;
    json_array_foreach(
        json_object_get(expect, "pdfContains"), ri,
        rv) if (!memmem(out.data, out.len, json_string_value(rv), strlen(json_string_value(rv))))
        fail(name, "the PDF does not contain \"%s\"", json_string_value(rv));
    check_words(name, pdf, json_object_get(expect, "words"));
    json_t *png = json_object_get(expect, "png");
    if (png)
        check_pngs(name, case_dir, out_dir, pdf, png);
    engine_output_free(&out);
    json_decref(layout);
    json_decref(data);
    json_decref(manifest);
    json_decref(pc);
    json_decref(expect);
    return failures ? 1 : 0;
}

/* ------------------------------------------------------------ docs examples */

typedef struct example {
    char *layout_src; /* the layout or block text */
    bool is_block;
    int line;
    json_t *data, *manifest, *page_config, *issues;
    char *expect_text;
} example_t;

static json_t *parse_block(const char *src, int line, const char *what)
{
    json_error_t e;
    json_t *v = json_loads(src, 0, &e);
    if (!v)
        fail("docs", "line %d: %s example is not valid JSON: %s (line %d of the block)", line, what, e.text,
             e.line);
    return v;
}

static void run_example(example_t *ex, const char *out_dir, int index)
{
    char name[64];
    snprintf(name, sizeof name, "docs example at line %d", ex->line);
    json_t *src = parse_block(ex->layout_src, ex->line, ex->is_block ? "block" : "layout");
    if (!src)
        return;
    json_t *layout = src;
    if (ex->is_block)
        layout = json_pack("{s:o}", "body", json_is_array(src) ? src : json_pack("[o]", src));
    if (ex->issues) {
        json_t *issues = NULL;
        char err[1000];
        engine_template_t *t =
            engine_compile(layout, ex->page_config, ex->manifest, &issues, err, sizeof err);
        if (t) {
            fail(name, "compiled, but the docs say it has problems");
            engine_template_free(t);
        } else if (!json_equal(json_object_get(issues, "fieldErrors"), ex->issues)) {
            char *a = json_dumps(json_object_get(issues, "fieldErrors"), JSON_INDENT(1) | JSON_SORT_KEYS);
            char *b = json_dumps(ex->issues, JSON_INDENT(1) | JSON_SORT_KEYS);
            fail(name, "issues differ from the docs:\nengine: %s\ndocs: %s", a, b);
            free(a);
            free(b);
        }
        json_decref(issues);
        json_decref(layout);
        return;
    }
    engine_output_t out = {0};
    if (render_pdf(name, layout, ex->page_config, ex->manifest, ex->data, NULL, NULL, &out) == 0) {
        char pdf[1024];
        snprintf(pdf, sizeof pdf, "%s/example-%03d.pdf", out_dir, index);
        write_file(pdf, out.data, out.len);
        if (ex->expect_text) {
            char *text = pdftotext_visible(pdf);
            /* Every non-empty line of the expected block appears in the text (spaces squeezed). */
            for (char *save = NULL, *l = strtok_r(ex->expect_text, "\n", &save); l;
                 l = strtok_r(NULL, "\n", &save))
                if (*l && (!text || !strstr(text, l)))
                    fail(name, "expected text \"%s\" not in the PDF", l);
            free(text);
        }
    }
    engine_output_free(&out);
    json_decref(layout);
}

static int check_docs(const char *md_path, const char *out_dir)
{
    make_dirs(out_dir);
    size_t len;
    char *md = read_file(md_path, &len);
    if (!md) {
        fail("docs", "cannot read %s", md_path);
        return 1;
    }
    example_t cur = {0};
    bool have = false;
    int n = 0, lineno = 0;
    char *p = md;
    while (*p) {
        char *eol = strchr(p, '\n');
        size_t ll = eol ? (size_t)(eol - p) : strlen(p);
        lineno++;
        if (ll >= 3 && !strncmp(p, "```", 3)) {
            char info[100];
            snprintf(info, sizeof info, "%.*s", (int)(ll - 3), p + 3);
            int start = lineno;
            /* collect the fenced block */
            buf_t b;
            buf_init(&b, 1 << 20);
            p = eol ? eol + 1 : p + ll;
            while (*p) {
                char *e2 = strchr(p, '\n');
                size_t l2 = e2 ? (size_t)(e2 - p) : strlen(p);
                lineno++;
                if (l2 >= 3 && !strncmp(p, "```", 3)) {
                    p = e2 ? e2 + 1 : p + l2;
                    break;
                }
                buf_put(&b, p, l2);
                buf_putc(&b, '\n');
                p = e2 ? e2 + 1 : p + l2;
            }
            if (buf_error(&b) != BUF_OK) { /* never check half an example */
                fail("docs", "%s:%d: example over the buffer's cap", md_path, start);
                buf_free(&b);
                free(md);
                return 1;
            }
            char *body = buf_detach(&b, NULL);
            if (!strcmp(info, "json layout") || !strcmp(info, "json block")) {
                if (have)
                    run_example(&cur, out_dir, n++);
                /* free the previous example */
                free(cur.layout_src);
                json_decref(cur.data);
                json_decref(cur.manifest);
                json_decref(cur.page_config);
                json_decref(cur.issues);
                free(cur.expect_text);
                memset(&cur, 0, sizeof cur);
                cur.layout_src = body;
                cur.is_block = !strcmp(info, "json block");
                cur.line = start;
                have = true;
                continue;
            }
            if (!strcmp(info, "json data") || !strcmp(info, "json manifest") ||
                !strcmp(info, "json pageConfig") || !strcmp(info, "json issues") ||
                !strcmp(info, "text expect")) {
                if (!have)
                    fail("docs", "line %d: a \"%s\" block must follow a layout or block example", start,
                         info);
                else if (!strcmp(info, "text expect"))
                    cur.expect_text = strdup(body);
                else {
                    json_t *v = parse_block(body, start, info);
                    json_t **slot = !strcmp(info, "json data")       ? &cur.data
                                    : !strcmp(info, "json manifest") ? &cur.manifest
                                    : !strcmp(info, "json issues")   ? &cur.issues
                                                                     : &cur.page_config;
                    json_decref(*slot);
                    *slot = v;
                }
                free(body);
                continue;
            }
            if (!strncmp(info, "json", 4))
                fail(
                    "docs",
                    "line %d: untested JSON block (tag it json layout/block/data/manifest/pageConfig/issues)",
                    start);
            free(body);
            continue;
        }
        p = eol ? eol + 1 : p + ll;
    }
    if (have)
        run_example(&cur, out_dir, n++);
    free(cur.layout_src);
    json_decref(cur.data);
    json_decref(cur.manifest);
    json_decref(cur.page_config);
    json_decref(cur.issues);
    free(cur.expect_text);
    free(md);
    fprintf(stderr, "%d examples checked\n", n);
    if (n < 10)
        fail("docs", "only %d examples found in %s", n, md_path);
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "--docs")) {
        engine_global_init();
        int rc = check_docs(argv[2], argv[3]);
        engine_global_cleanup();
        return rc;
    }
    if (argc == 5 && !strcmp(argv[1], "--compare"))
        return compare_one(argv[2], argv[3], argv[4]);
    if (argc != 3) {
        fprintf(stderr,
                "usage: golden_check CASE_DIR OUT_DIR | --docs FILE.md OUT_DIR | --compare ACTUAL.png "
                "EXPECTED.png DIFF.png\n");
        return 2;
    }
    engine_global_init();
    int rc = check_case(argv[1], argv[2]);
    engine_global_cleanup();
    if (rc == 0)
        fprintf(stderr, "ok %s\n", argv[1]);
    return rc;
}
