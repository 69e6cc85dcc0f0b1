/* compile_page — what a layout says about the sheet rather than the flow: page backgrounds
 * (page.background) and blocks placed at a fixed place on the page ("position"). */
#include <stdio.h>
#include <string.h>

#include "engine/compile.h"

#define BACKGROUNDS_MAX 8 /* layers of page.background */

/* A string background is an image when it looks like an image source, else a colour. */
static bool looks_like_image(const char *s)
{
    return !strncmp(s, "asset:", 6) || !strncmp(s, "data:", 5) || !strncmp(s, "https://", 8) ||
           !strncmp(s, "http://", 7) || strstr(s, "{{") != NULL;
}

static void background_image(compiler_t *c, const json_t *v, const char *path, background_spec_t *bg)
{
    expr_str_t *src = arena_calloc(c->a, 1, sizeof *src);
    if (src && compile_image_src(c, v, path, src) == 0)
        bg->src = src;
    bg->path = path; /* where a failing image is reported */
}

static void background_object(compiler_t *c, const json_t *v, const char *path, background_spec_t *bg)
{
    static const char *const keys[] = {"color", "image", "fit", "area", "pages", NULL};
    compile_check_keys(c, v, path, keys, false, false);
    json_t *x;
    if ((x = json_object_get(v, "color")))
        compile_color(c, x, compile_path(c, path, "color"), &bg->color);
    if ((x = json_object_get(v, "image")))
        background_image(c, x, compile_path(c, path, "image"), bg);
    if ((x = json_object_get(v, "fit"))) {
        static const char *const fits[] = {"contain", "cover", "fill", NULL};
        int f = compile_enum(c, x, compile_path(c, path, "fit"), fits);
        if (f >= 0)
            bg->fit = (fit_t)f;
    }
    if ((x = json_object_get(v, "area"))) {
        static const char *const areas[] = {"page", "margins", NULL};
        bg->inside_margins = compile_enum(c, x, compile_path(c, path, "area"), areas) == 1;
    }
    if ((x = json_object_get(v, "pages"))) {
        static const char *const pages[] = {"all", "first", "rest", NULL};
        int p = compile_enum(c, x, compile_path(c, path, "pages"), pages);
        if (p >= 0)
            bg->pages = (bg_pages_t)p;
    }
    if (!json_object_get(v, "color") && !json_object_get(v, "image"))
        compile_issue(c, path, "A background needs \"color\" or \"image\" (or both)");
}

static void background_one(compiler_t *c, const json_t *v, const char *path, background_spec_t *bg)
{
    memset(bg, 0, sizeof *bg);
    bg->fit = FIT_COVER;
    bg->path = path;
    if (json_is_string(v)) {
        if (looks_like_image(json_string_value(v)))
            background_image(c, v, path, bg);
        else
            compile_color(c, v, path, &bg->color);
    } else if (json_is_object(v)) {
        background_object(c, v, path, bg);
    } else {
        compile_issue(c, path,
                      "Expected a colour, an image (\"asset:letterhead\", \"{{background}}\") or {\"color\", "
                      "\"image\", \"fit\", \"area\", \"pages\"}");
    }
}

void compile_background(compiler_t *c, const json_t *v, const char *path, page_spec_t *pg)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    if (n == 0)
        return;
    if (n > BACKGROUNDS_MAX) {
        compile_issue(c, path, "At most %d backgrounds", BACKGROUNDS_MAX);
        return;
    }
    background_spec_t *bg = arena_calloc(c->a, n, sizeof *bg);
    if (!bg)
        return;
    if (json_is_array(v))
        for (size_t i = 0; i < n; i++)
            background_one(c, json_array_get(v, i), compile_path_index(c, path, i), &bg[i]);
    else
        background_one(c, v, path, &bg[0]);
    pg->bg = bg;
    pg->nbg = (int)n;
}

/* One offset of a position: exactly one of the two keys (x or right, y or bottom). */
static int position_offset(compiler_t *c, const json_t *v, const char *path, const char *near,
                           const char *far, double limit, double *out, bool *from_far)
{
    const json_t *a = json_object_get(v, near), *b = json_object_get(v, far);
    if (a && b) {
        compile_issue(c, compile_path(c, path, far), "Give \"%s\" or \"%s\", not both", near, far);
        return -1;
    }
    if (!a && !b) {
        compile_issue(c, path, "A position needs \"%s\" (or \"%s\")", near, far);
        return -1;
    }
    const char *p = compile_path(c, path, a ? near : far);
    if (compile_pt(c, a ? a : b, p, out) < 0)
        return -1;
    if (*out >= limit) {
        compile_issue(c, p, "%g pt is off the page (it is %g pt)", *out, limit);
        return -1;
    }
    *from_far = b != NULL;
    return 0;
}

const position_spec_t *compile_position(compiler_t *c, const json_t *v, const char *path)
{
    if (!json_is_object(v)) {
        compile_issue(c, path,
                      "Expected {\"x\": ..., \"y\": ...} (or \"right\"/\"bottom\"; optional \"width\")");
        return NULL;
    }
    static const char *const keys[] = {"x", "y", "right", "bottom", "width", NULL};
    compile_check_keys(c, v, path, keys, false, false);
    position_spec_t *ps = arena_calloc(c->a, 1, sizeof *ps);
    if (!ps)
        return NULL;
    const page_spec_t *pg = &c->t->page;
    int rc = position_offset(c, v, path, "x", "right", pg->width, &ps->x, &ps->from_right);
    rc |= position_offset(c, v, path, "y", "bottom", pg->height, &ps->y, &ps->from_bottom);
    if (rc == 0 && ps->from_bottom && pg->auto_height) {
        compile_issue(c, compile_path(c, path, "bottom"),
                      "\"bottom\" needs a page of fixed height (this page's height is \"auto\"): use \"y\"");
        return NULL;
    }
    json_t *w = json_object_get(v, "width");
    if (w) {
        const char *wp = compile_path(c, path, "width");
        if (compile_length(c, w, wp, true, &ps->width) < 0)
            return NULL;
        if (ps->width.kind == LEN_FLEX) {
            compile_issue(c, wp, "A position's width is points or a percentage of the page width");
            return NULL;
        }
        double pt = ps->width.kind == LEN_PCT ? pg->width * ps->width.v / 100 : ps->width.v;
        if (ps->width.kind != LEN_AUTO && (pt <= 0 || pt > pg->width)) {
            compile_issue(c, wp, "The width must be more than 0 and at most the page width (%g pt)",
                          pg->width);
            return NULL;
        }
    } else if (ps->from_right) {
        compile_issue(c, path, "A position from the \"right\" needs a \"width\"");
        return NULL;
    }
    return rc < 0 ? NULL : ps;
}
