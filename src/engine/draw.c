/* draw — replays a page's display list onto cairo (see layout.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errmsg.h"
#include "engine/bidiext.h"
#include "engine/codes.h"
#include "engine/grow.h"
#include "engine/layout.h"

/* Text runs in the same font and colour are drawn with one cairo call per batch rather than
 * one per run: cairo's PDF surface has a high fixed cost per operation (analysis, clip
 * region bookkeeping), and a table row of five cells is one batch. A batch is flushed before
 * anything else is drawn, so the painting order never changes. */
typedef struct text_batch {
    cairo_scaled_font_t *font;
    uint32_t color;
    cairo_glyph_t *glyphs;
    size_t ng, gcap;
    char *utf8;
    size_t nb, bcap;
    cairo_text_cluster_t *clusters;
    size_t nc, ccap;
} text_batch_t;

typedef struct draw_state {
    cairo_t *cr;
    uint32_t color; /* current source colour (avoids a new pattern per run) */
    bool color_set;
    cairo_glyph_t *glyphs; /* scratch for runs drawn on their own */
    size_t cap;
    text_batch_t batch;
    bidiext_t bidi; /* lines with right-to-left text */
    bool rtl_line;  /* drawing one of them */
} draw_state_t;

static void set_color(draw_state_t *ds, uint32_t c)
{
    if (ds->color_set && ds->color == c)
        return;
    cairo_set_source_rgba(ds->cr, ((c >> 24) & 0xff) / 255.0, ((c >> 16) & 0xff) / 255.0,
                          ((c >> 8) & 0xff) / 255.0, (c & 0xff) / 255.0);
    ds->color = c;
    ds->color_set = true;
}

static void batch_flush(draw_state_t *ds)
{
    text_batch_t *b = &ds->batch;
    if (!b->ng)
        return;
    cairo_set_scaled_font(ds->cr, b->font);
    set_color(ds, b->color);
    cairo_show_text_glyphs(ds->cr, b->utf8, (int)b->nb, b->glyphs, (int)b->ng, b->clusters, (int)b->nc, 0);
    b->ng = b->nb = b->nc = 0;
}

static void batch_free(text_batch_t *b)
{
    free(b->glyphs);
    free(b->utf8);
    free(b->clusters);
}

/* Adds a plain run to the batch; returns 1 when the run must be drawn on its own. */
static int batch_add(draw_state_t *ds, const glyph_run_t *run, double ox, double by)
{
    if (run->link || run->backward || run->underline || run->strike || run->font->color)
        return 1;
    text_batch_t *b = &ds->batch;
    if (b->ng && (b->font != run->font->scaled || b->color != run->color))
        batch_flush(ds);
    if (grow_array((void **)&b->glyphs, &b->gcap, b->ng + (size_t)run->nglyphs, sizeof *b->glyphs) < 0 ||
        grow_array((void **)&b->utf8, &b->bcap, b->nb + (size_t)run->utf8_len, 1) < 0 ||
        grow_array((void **)&b->clusters, &b->ccap, b->nc + (size_t)run->nclusters, sizeof *b->clusters) < 0)
        return 1;
    b->font = run->font->scaled;
    b->color = run->color;
    for (int k = 0; k < run->nglyphs; k++) {
        cairo_glyph_t *g = &b->glyphs[b->ng + (size_t)k];
        g->index = run->glyphs[k].id;
        g->x = ox + run->glyphs[k].x;
        g->y = by + run->glyphs[k].y;
    }
    b->ng += (size_t)run->nglyphs;
    memcpy(b->utf8 + b->nb, run->utf8, (size_t)run->utf8_len);
    b->nb += (size_t)run->utf8_len;
    memcpy(b->clusters + b->nc, run->clusters, (size_t)run->nclusters * sizeof *b->clusters);
    b->nc += (size_t)run->nclusters;
    return 0;
}

/* Colour glyphs (emoji) as their full-resolution bitmaps; glyphs without one through cairo. */
static void draw_color_glyphs(draw_state_t *ds, const glyph_run_t *run, cairo_glyph_t *glyphs)
{
    cairo_t *cr = ds->cr;
    for (int k = 0; k < run->nglyphs; k++) {
        double x, y, w, h;
        cairo_surface_t *img = fonts_color_glyph(run->font, (unsigned)glyphs[k].index, &x, &y, &w, &h);
        if (!img) {
            cairo_show_glyphs(cr, &glyphs[k], 1);
            continue;
        }
        int iw = cairo_image_surface_get_width(img), ih = cairo_image_surface_get_height(img);
        if (iw <= 0 || ih <= 0)
            continue;
        cairo_save(cr);
        cairo_translate(cr, glyphs[k].x + x, glyphs[k].y + y);
        cairo_scale(cr, w / iw, h / ih);
        cairo_set_source_surface(cr, img, 0, 0);
        cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
        cairo_paint(cr);
        cairo_restore(cr);
    }
    ds->color_set = false;
    set_color(ds, run->color); /* for the decorations that follow */
}

/* Draws one run on its own (not batched). */
static int draw_run(render_t *r, draw_state_t *ds, const glyph_run_t *run, double ox, double by)
{
    if ((size_t)run->nglyphs > ds->cap) {
        size_t cap = (size_t)run->nglyphs * 2;
        cairo_glyph_t *g = realloc(ds->glyphs, cap * sizeof *g);
        if (!g)
            return render_fail(r, "out of memory");
        ds->glyphs = g;
        ds->cap = cap;
    }
    for (int k = 0; k < run->nglyphs; k++) {
        ds->glyphs[k].index = run->glyphs[k].id;
        ds->glyphs[k].x = ox + run->glyphs[k].x;
        ds->glyphs[k].y = by + run->glyphs[k].y;
    }
    cairo_set_scaled_font(ds->cr, run->font->scaled);
    set_color(ds, run->color);
    char attr[2100];
    if (run->link) {
        links_attr(run->link, attr, sizeof attr);
        cairo_tag_begin(ds->cr, CAIRO_TAG_LINK, attr);
    }
    if (run->font->color) {
        draw_color_glyphs(ds, run, ds->glyphs);
    } else if (ds->rtl_line) {
        bidiext_t *b = &ds->bidi;
        bidiext_reset(b);
        if (bidiext_add_run(b, run, ox, by) < 0)
            return render_fail(r, "out of memory");
        cairo_show_text_glyphs(ds->cr, b->utf8, (int)b->nb, b->glyphs, (int)b->ng, b->clusters, (int)b->nc,
                               0);
    } else {
        cairo_show_text_glyphs(ds->cr, run->utf8, run->utf8_len, ds->glyphs, run->nglyphs, run->clusters,
                               run->nclusters, run->backward ? CAIRO_TEXT_CLUSTER_FLAG_BACKWARD : 0);
    }
    if (run->link)
        cairo_tag_end(ds->cr, CAIRO_TAG_LINK);
    if (run->underline) {
        cairo_rectangle(ds->cr, ox + run->x, by + run->font->underline_pos, run->width,
                        run->font->underline_thickness);
        cairo_fill(ds->cr);
    }
    if (run->strike) {
        cairo_rectangle(ds->cr, ox + run->x, by - run->font->strike_pos, run->width,
                        run->font->strike_thickness);
        cairo_fill(ds->cr);
    }
    return 0;
}

/* The runs of a right-to-left line gathered so far (one font and colour), drawn. */
static void rtl_flush(draw_state_t *ds, const glyph_run_t *pending)
{
    bidiext_t *b = &ds->bidi;
    if (!pending || !b->ng)
        return;
    cairo_set_scaled_font(ds->cr, pending->font->scaled);
    set_color(ds, pending->color);
    cairo_show_text_glyphs(ds->cr, b->utf8, (int)b->nb, b->glyphs, (int)b->ng, b->clusters, (int)b->nc, 0);
    bidiext_reset(b);
}

/* A line with right-to-left text: its runs in reading order, through bidiext (so that text
 * extraction reads them in logical order); plain runs in one font and colour in one call. */
static int draw_rtl_line(render_t *r, draw_state_t *ds, const text_line_t *line, double ox, double by)
{
    int small[16];
    int *order = line->nruns <= 16 ? small : malloc((size_t)line->nruns * sizeof *order);
    if (!order)
        return render_fail(r, "out of memory");
    bidiext_logical_order(line, order);
    ds->rtl_line = true;
    bidiext_reset(&ds->bidi);
    const glyph_run_t *pending = NULL;
    int rc = 0;
    for (int i = 0; i < line->nruns && rc == 0; i++) {
        const glyph_run_t *run = &line->runs[order[i]];
        if (run->nglyphs <= 0)
            continue;
        bool plain = !run->link && !run->font->color && !run->underline && !run->strike;
        if (pending && (!plain || pending->font != run->font || pending->color != run->color)) {
            rtl_flush(ds, pending);
            pending = NULL;
        }
        if (!plain) {
            rc = draw_run(r, ds, run, ox, by);
            continue;
        }
        if (bidiext_add_run(&ds->bidi, run, ox, by) < 0)
            rc = render_fail(r, "out of memory");
        pending = run;
    }
    if (rc == 0)
        rtl_flush(ds, pending);
    ds->rtl_line = false;
    if (order != small)
        free(order);
    return rc;
}

static int draw_text(render_t *r, draw_state_t *ds, const ditem_t *it)
{
    const text_line_t *line = it->u.line;
    double by = it->y + line->baseline;
    if (bidiext_line_has_rtl(line)) {
        batch_flush(ds);
        return draw_rtl_line(r, ds, line, it->x, by);
    }
    for (int i = 0; i < line->nruns; i++) {
        const glyph_run_t *run = &line->runs[i];
        if (run->nglyphs <= 0)
            continue;
        if (batch_add(ds, run, it->x, by) == 0)
            continue;
        batch_flush(ds);
        if (draw_run(r, ds, run, it->x, by) < 0)
            return -1;
    }
    return 0;
}

static void rounded_rect(cairo_t *cr, double x, double y, double w, double h, double rad)
{
    if (rad <= 0) {
        cairo_rectangle(cr, x, y, w, h);
        return;
    }
    rad = fmin(rad, fmin(w, h) / 2);
    cairo_new_sub_path(cr);
    cairo_arc(cr, x + w - rad, y + rad, rad, -M_PI / 2, 0);
    cairo_arc(cr, x + w - rad, y + h - rad, rad, 0, M_PI / 2);
    cairo_arc(cr, x + rad, y + h - rad, rad, M_PI / 2, M_PI);
    cairo_arc(cr, x + rad, y + rad, rad, M_PI, 3 * M_PI / 2);
    cairo_close_path(cr);
}

static void draw_rect(draw_state_t *ds, const ditem_t *it)
{
    cairo_t *cr = ds->cr;
    rounded_rect(cr, it->x, it->y, it->w, it->h, it->radius);
    if (it->fill) {
        set_color(ds, it->fill);
        if (it->stroke)
            cairo_fill_preserve(cr);
        else
            cairo_fill(cr);
    }
    if (it->stroke) {
        set_color(ds, it->stroke);
        cairo_set_line_width(cr, it->stroke_w);
        cairo_stroke(cr);
    }
}

static void draw_line(draw_state_t *ds, const ditem_t *it)
{
    cairo_t *cr = ds->cr;
    set_color(ds, it->stroke);
    cairo_set_line_width(cr, it->stroke_w);
    if (it->dash == 1) {
        double d[] = {3 * it->stroke_w, 2 * it->stroke_w};
        cairo_set_dash(cr, d, 2, 0);
    } else if (it->dash == 2) {
        double d[] = {0, 2 * it->stroke_w};
        cairo_set_dash(cr, d, 2, 0);
        cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    }
    cairo_move_to(cr, it->x, it->y);
    cairo_line_to(cr, it->x + it->w, it->y + it->h);
    cairo_stroke(cr);
    if (it->dash) {
        cairo_set_dash(cr, NULL, 0, 0);
        cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
    }
}

static int draw_watermark(render_t *r, draw_state_t *ds, int page, const draw_opts_t *o)
{
    const engine_template_t *t = r->t;
    double page_h = place_page_height(r, page);
    tstyle_t st;
    memset(&st, 0, sizeof st);
    st.family = "DejaVu Sans";
    st.weight = 700;
    st.size = 100;
    st.color = o->watermark_color;
    st.line_height = 1;
    double diag = hypot(t->page.width, page_h);
    double angle =
        isnan(o->watermark_angle) ? -atan2(page_h, t->page.width) * 180 / M_PI : -o->watermark_angle;
    char err[ERRMSG_LEN];
    if (o->watermark_size > 0) {
        st.size = o->watermark_size;
    } else {
        double w100;
        if (text_measure(r->text, o->watermark, strlen(o->watermark), &st, &w100, err, sizeof err) < 0)
            return render_fail(r, "watermark: %s", err);
        if (w100 > 0)
            st.size = fmin(400, fmax(12, 100 * diag * 0.55 / w100));
    }
    text_span_t sp = {o->watermark, strlen(o->watermark), &st, NULL, NULL};
    text_para_t p;
    if (text_layout(r->text, r->a, &sp, 1, 0, &st, &p, err, sizeof err) < 0)
        return render_fail(r, "watermark: %s", err);
    if (p.nlines < 1)
        return 0;
    cairo_save(ds->cr);
    cairo_translate(ds->cr, t->page.width / 2, page_h / 2);
    cairo_rotate(ds->cr, angle * M_PI / 180);
    ditem_t it = {.kind = DI_TEXT, .x = -p.width / 2, .y = -p.height / 2, .u.line = &p.lines[0]};
    ds->color_set = false;
    int rc = draw_text(r, ds, &it);
    batch_flush(ds); /* inside the rotation */
    cairo_restore(ds->cr);
    ds->color_set = false;
    return rc;
}

/* With a table of contents, every heading of the page is a destination its entry links to. */
static void draw_dests(render_t *r, cairo_t *cr, int page)
{
    for (size_t i = 0; r->t->has_toc && i < r->noutline; i++) {
        const outline_entry_t *e = &r->outline[i];
        if (e->page != page)
            continue;
        char attr[96];
        snprintf(attr, sizeof attr, "name='%s%zu' x=%.2f y=%.2f", &TOC_LINK_PREFIX[1], i, e->x, e->y);
        cairo_tag_begin(cr, CAIRO_TAG_DEST, attr);
        cairo_tag_end(cr, CAIRO_TAG_DEST);
    }
    for (int i = 0; i < r->nnotes; i++) { /* footnotes: their marks link to them */
        const pnote_t *n = r->notes[i];
        if (n->page != page)
            continue;
        char attr[96];
        snprintf(attr, sizeof attr, "name='%s' x=%.2f y=%.2f", n->link + 1, n->x, n->y);
        cairo_tag_begin(cr, CAIRO_TAG_DEST, attr);
        cairo_tag_end(cr, CAIRO_TAG_DEST);
    }
}

int draw_page(render_t *r, cairo_t *cr, int page, const draw_opts_t *o)
{
    draw_dests(r, cr, page);
    links_draw_dests(r, cr, page);
    draw_state_t ds = {.cr = cr};
    const dpage_t *p = page < r->pages_cap ? &r->pages[page] : NULL;
    int rc = 0;
    for (size_t i = 0; p && i < p->n && rc == 0; i++) {
        const ditem_t *it = &p->items[i];
        if (it->kind != DI_TEXT)
            batch_flush(&ds);
        switch (it->kind) {
        case DI_TEXT: rc = draw_text(r, &ds, it); break;
        case DI_RECT: draw_rect(&ds, it); break;
        case DI_LINE: draw_line(&ds, it); break;
        case DI_IMAGE:
            cairo_save(cr);
            image_draw(it->u.img, cr, it->x, it->y, it->w, it->h, (image_fit_t)it->fit);
            cairo_restore(cr);
            ds.color_set = false;
            break;
        case DI_CODE: {
            char err[ERRMSG_LEN] = "";
            cairo_save(cr);
            set_color(&ds, it->fill ? it->fill : COLOR_BLACK);
            if (codes_draw(cr, it->u.code.symbology, it->u.code.data, it->x, it->y, it->w, it->h,
                           it->show_text, err, sizeof err) < 0)
                rc = render_fail(r, "%s could not be drawn: %s", it->u.code.symbology, err);
            cairo_restore(cr);
            ds.color_set = false;
            break;
        }
        }
        if (rc == 0 && (i & 255) == 255)
            rc = render_tick(r);
    }
    batch_flush(&ds);
    if (rc == 0 && o->watermark && *o->watermark) {
        rc = draw_watermark(r, &ds, page, o);
        batch_flush(&ds);
    }
    free(ds.glyphs);
    batch_free(&ds.batch);
    bidiext_free(&ds.bidi);
    if (rc == 0 && cairo_status(cr) != CAIRO_STATUS_SUCCESS)
        rc = render_fail(r, "drawing failed: %s", cairo_status_to_string(cairo_status(cr)));
    return rc;
}
