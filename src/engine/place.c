/* place — pagination of prepared boxes into per-page display lists (see layout.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/layout.h"

#define EPS 0.01           /* pt: tolerance for "fits" */
#define ORPHANS 2          /* lines of a paragraph kept together at the bottom of a page */
#define WIDOWS 2           /* ... and at the top of the next */
#define TOC_LEADER_MIN 6.0 /* pt: shorter leaders are left out */

/* ------------------------------------------------------------ pages and items */

dpage_t *place_page(render_t *r, int page)
{
    if (page >= ENGINE_PAGES_MAX) {
        render_fail(r, "the document would have more than %d pages", ENGINE_PAGES_MAX);
        return NULL;
    }
    if (page >= r->pages_cap) {
        int cap = r->pages_cap ? r->pages_cap * 2 : 8;
        while (cap <= page)
            cap *= 2;
        dpage_t *p = realloc(r->pages, (size_t)cap * sizeof *p);
        if (!p) {
            render_fail(r, "out of memory");
            return NULL;
        }
        memset(p + r->pages_cap, 0, (size_t)(cap - r->pages_cap) * sizeof *p);
        r->pages = p;
        r->pages_cap = cap;
    }
    if (page >= r->npages)
        r->npages = page + 1;
    return &r->pages[page];
}

void layout_free_pages(render_t *r)
{
    for (int i = 0; i < r->pages_cap; i++)
        free(r->pages[i].items);
    free(r->pages);
    r->pages = NULL;
    r->npages = r->pages_cap = 0;
}

static ditem_t *emit(render_t *r, uint8_t kind)
{
    dpage_t *p = place_page(r, r->page);
    if (!p)
        return NULL;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        ditem_t *v = realloc(p->items, cap * sizeof *v);
        if (!v) {
            render_fail(r, "out of memory");
            return NULL;
        }
        p->items = v;
        p->cap = cap;
    }
    ditem_t *it = &p->items[p->n++];
    memset(it, 0, sizeof *it);
    it->kind = kind;
    return it;
}

/* Inserts an item at index (decorations go behind the content recorded after index). */
static ditem_t *insert_at(render_t *r, int page, size_t index)
{
    int saved = r->page;
    r->page = page;
    ditem_t *it = emit(r, DI_RECT);
    r->page = saved;
    if (!it)
        return NULL;
    dpage_t *p = &r->pages[page];
    if (index >= p->n - 1)
        return it;
    ditem_t tmp = *it;
    memmove(&p->items[index + 1], &p->items[index], (p->n - 1 - index) * sizeof *it);
    p->items[index] = tmp;
    return &p->items[index];
}

static size_t page_items(render_t *r, int page)
{
    return page < r->pages_cap ? r->pages[page].n : 0;
}

static void emit_rect(render_t *r, double x, double y, double w, double h, uint32_t fill, uint32_t stroke,
                      double stroke_w, double radius, int page, size_t index, bool behind)
{
    if (w <= 0 || h <= 0 || (!fill && (!stroke || stroke_w <= 0)))
        return;
    ditem_t *it;
    if (behind) {
        it = insert_at(r, page, index);
    } else {
        int saved = r->page;
        r->page = page;
        it = emit(r, DI_RECT);
        r->page = saved;
    }
    if (!it)
        return;
    it->kind = DI_RECT;
    it->x = x;
    it->y = y;
    it->w = w;
    it->h = h;
    it->fill = fill;
    it->stroke = stroke_w > 0 ? stroke : 0;
    it->stroke_w = (float)stroke_w;
    it->radius = (float)radius;
}

static void emit_line(render_t *r, double x1, double y1, double x2, double y2, double width, uint32_t color,
                      int dash)
{
    if (!color || width <= 0)
        return;
    ditem_t *it = emit(r, DI_LINE);
    if (!it)
        return;
    it->x = x1;
    it->y = y1;
    it->w = x2 - x1;
    it->h = y2 - y1;
    it->stroke = color;
    it->stroke_w = (float)width;
    it->dash = (uint8_t)dash;
}

/* ------------------------------------------------------------ the flow cursor */

static double body_top(render_t *r, int page)
{
    return r->body_top[page == 0 ? 0 : 1];
}

static double body_bottom(render_t *r, int page)
{
    return r->body_bottom[page == 0 ? 0 : 1];
}

static double flow_bottom(render_t *r)
{
    if (r->nobreak)
        return INFINITY;
    double b = body_bottom(r, r->page);
    for (int i = 0; i < r->ninsets; i++)
        b -= r->insets[i]->bottom;
    return r->notes_npages || r->notes_nfloor ? b - notes_flow_h(r, r->page) : b; /* no footnotes: no call */
}

static double remaining(render_t *r)
{
    return flow_bottom(r) - r->y;
}

/* Space for content on a fresh page, given the active insets. */
static double fresh_avail(render_t *r)
{
    double a = body_bottom(r, r->page + 1) - body_top(r, r->page + 1);
    for (int i = 0; i < r->ninsets; i++)
        a -= r->insets[i]->top + r->insets[i]->bottom;
    return a;
}

static bool at_top(render_t *r)
{
    return r->y <= r->top_y + EPS;
}

static int new_page(render_t *r)
{
    if (r->nobreak)
        return 0;
    if (render_tick(r) < 0)
        return -1;
    for (int i = r->ninsets - 1; i >= 0; i--)
        if (r->insets[i]->on_break)
            r->insets[i]->on_break(r, r->insets[i]);
    r->pages[r->page].flow_end = r->y;
    r->page++;
    if (!place_page(r, r->page))
        return -1;
    r->y = body_top(r, r->page);
    for (int i = 0; i < r->ninsets; i++) {
        if (r->insets[i]->on_continue)
            r->insets[i]->on_continue(r, r->insets[i]);
        else
            r->y += r->insets[i]->top;
    }
    r->top_y = r->y;
    return r->failed ? -1 : 0;
}

static int push_inset(render_t *r, inset_t *in)
{
    if (r->ninsets >= RENDER_INSETS_MAX)
        return render_fail(r, "blocks nested too deeply across a page break");
    r->insets[r->ninsets++] = in;
    return 0;
}

static void pop_inset(render_t *r)
{
    r->ninsets--;
}

typedef struct cursor {
    int page;
    double y, top_y;
} cursor_t;

static cursor_t cursor_get(render_t *r)
{
    return (cursor_t){r->page, r->y, r->top_y};
}

static void cursor_set(render_t *r, cursor_t c)
{
    r->page = c.page;
    r->y = c.y;
    r->top_y = c.top_y;
}

static bool cursor_after(cursor_t a, cursor_t b)
{
    return a.page > b.page || (a.page == b.page && a.y > b.y);
}

/* ------------------------------------------------------------ fragments
 * A box, a split table row or a table frame draws its decoration once per page it spans. */

typedef struct frag {
    int page;
    double y0, y1;
    size_t index; /* where its background goes in the page's display list */
} frag_t;

typedef struct frags {
    frag_t *v;
    int n, cap;
} frags_t;

static frag_t *frag_for(render_t *r, frags_t *f, int page, double y)
{
    for (int i = 0; i < f->n; i++)
        if (f->v[i].page == page)
            return &f->v[i];
    if (f->n == f->cap) {
        int cap = f->cap ? f->cap * 2 : 4;
        frag_t *v = arena_grow(r->a, f->v, (size_t)f->n, (size_t)cap, sizeof *v);
        if (!v) {
            render_tick(r);
            return NULL;
        }
        f->v = v;
        f->cap = cap;
    }
    frag_t *fr = &f->v[f->n++];
    fr->page = page;
    fr->y0 = fr->y1 = y;
    fr->index = page_items(r, page);
    return fr;
}

static void frag_extend(render_t *r, frags_t *f, double y)
{
    frag_t *fr = frag_for(r, f, r->page, y);
    if (fr && y > fr->y1)
        fr->y1 = y;
}

/* ------------------------------------------------------------ blocks */

static int place_pbox(render_t *r, pbox_t *pb, double x, double w);

/* The height that must fit together with the block before it when keepWithNext is set: the
 * first lines of a paragraph, the header and first row of a table, the frame of a box around
 * the first piece of its content, the tallest first piece of a row of columns, the first
 * blocks of a stack (up to the first not kept with its next); a kept-together or atomic block
 * is a piece of its own. Only this piece moves with the heading; the rest splits as it would
 * have without one. The footnotes marked in the piece go where it goes: their height is added
 * to *notes. */
static double first_piece(const pbox_t *pb, double *notes)
{
    if (pb->keep_together) {
        *notes += pb->notes_h;
        return pb->h;
    }
    double h = pb->h, nh = 0; /* the piece's height and, when it is not all of pb, its notes' */
    switch (pb->kind) {
    case PB_TEXT: {
        int n = pb->u.para.nlines;
        if (n > ORPHANS) {
            const text_line_t *l = &pb->u.para.lines[ORPHANS - 1];
            h = l->top + l->height;
            for (int i = 0; i < pb->nnotes; i++)
                nh += pb->notes[i].line < ORPHANS ? pb->notes[i].h : 0;
        }
        break;
    }
    case PB_TABLE:
        h = pb->u.table.header_h + (pb->u.table.nbody ? pb->u.table.body[0].h : 0);
        for (int i = 0; i < pb->u.table.nheader; i++)
            nh += pb->u.table.header[i].notes_h;
        nh += pb->u.table.nbody ? pb->u.table.body[0].notes_h : 0;
        break;
    case PB_STACK: {
        pbox_t *const *k = pb->u.stack.kids;
        double acc = 0;
        for (int i = 0; i < pb->u.stack.n; i++) {
            acc += i == 0 ? k[i]->mt : fmax(k[i - 1]->mb, k[i]->mt) + pb->u.stack.gap;
            if (!k[i]->keep_with_next || i + 1 == pb->u.stack.n) {
                acc += first_piece(k[i], &nh);
                break;
            }
            acc += k[i]->h;
            nh += k[i]->notes_h;
        }
        h = acc;
        break;
    }
    case PB_BOX: {
        const node_t *n = pb->node;
        const pbox_t *kid = pb->u.box.kid;
        double frame = n->u.box.padding[0] + n->u.box.padding[2] + 2 * n->u.box.border_width;
        double content = kid->mt + kid->h + kid->mb;
        /* With minHeight the content may sit lower than the top: keep the whole box. */
        if (pb->h > frame + content + EPS && n->u.box.valign != VALIGN_TOP)
            break;
        h = frame + kid->mt + first_piece(kid, &nh);
        break;
    }
    case PB_COLS: {
        double m = 0;
        for (int i = 0; i < pb->u.cols.n; i++) {
            const pbox_t *kid = pb->u.cols.kids[i];
            m = fmax(m, kid->mt + first_piece(kid, &nh));
        }
        h = m;
        break;
    }
    default: break;
    }
    *notes += h >= pb->h - EPS ? pb->notes_h : nh;
    return fmin(h, pb->h);
}

/* A block outside the flow: at its place on the page the flow is on, the cursor unchanged. */
static int place_positioned(render_t *r, const pos_item_t *pi)
{
    const page_spec_t *pg = &r->t->page;
    const pbox_t *pb = pi->pb;
    double w = pi->w + pb->ml + pb->mr, h = pb->mt + pb->h + pb->mb;
    double x = pi->ps->from_right ? pg->width - pi->ps->x - w : pi->ps->x;
    double y = pi->ps->from_bottom ? pg->height - pi->ps->y - h : pi->ps->y;
    return place_fixed(r, pi->pb, x, y, w);
}

/* The positioned children of a stack that come before its flowing kid `before`. */
static int place_positioned_upto(render_t *r, const pbox_t *pb, int *next, int before)
{
    for (; *next < pb->u.stack.npos && pb->u.stack.pos[*next].before <= before; (*next)++)
        if (place_positioned(r, &pb->u.stack.pos[*next]) < 0)
            return -1;
    return 0;
}

static int place_stack(render_t *r, pbox_t *pb, double x, double w)
{
    pbox_t **k = pb->u.stack.kids;
    int n = pb->u.stack.n, next_pos = 0;
    for (int i = 0; i < n; i++) {
        if (pb->u.stack.npos && place_positioned_upto(r, pb, &next_pos, i) < 0)
            return -1;
        double gap = i == 0 ? k[i]->mt : fmax(k[i - 1]->mb, k[i]->mt) + pb->u.stack.gap;
        if (!at_top(r))
            r->y += gap;
        if (!r->nobreak && !at_top(r)) {
            double need = k[i]->h, notes = k[i]->notes_h;
            bool keep = k[i]->keep_together;
            /* A chain of blocks kept with their next (a heading and a subheading) goes with
             * the first piece of the block that ends it. */
            for (int j = i; j + 1 < n && k[j]->keep_with_next; j++) {
                need += fmax(k[j]->mb, k[j + 1]->mt) + pb->u.stack.gap;
                if (k[j + 1]->keep_with_next && j + 2 < n) {
                    need += k[j + 1]->h;
                    notes += k[j + 1]->notes_h;
                } else {
                    need += first_piece(k[j + 1], &notes);
                }
                keep = true;
            }
            /* What moves together takes the footnotes marked in it along. */
            need += keep ? notes_room(r, notes) : 0;
            if (keep && need > remaining(r) + EPS && need <= fresh_avail(r) + EPS && new_page(r) < 0)
                return -1;
        }
        if (place_pbox(r, k[i], x + k[i]->ml, w - k[i]->ml - k[i]->mr) < 0)
            return -1;
    }
    if (n)
        r->y += k[n - 1]->mb;
    return pb->u.stack.npos ? place_positioned_upto(r, pb, &next_pos, n) : 0;
}

static void emit_lines(render_t *r, const text_para_t *p, int a, int b, double x)
{
    double origin = r->y - p->lines[a].top;
    for (int i = a; i < b; i++) {
        ditem_t *it = emit(r, DI_TEXT);
        if (!it)
            return;
        it->x = x;
        it->y = origin;
        it->u.line = &p->lines[i];
    }
    r->y = origin + p->lines[b - 1].top + p->lines[b - 1].height;
}

/* The lines [a, b) of a paragraph, and their footnotes at the foot of the page. */
static int emit_para(render_t *r, pbox_t *pb, int a, int b, double x)
{
    if (pb->nnotes && notes_placed(r, pb, a, b) < 0)
        return -1;
    emit_lines(r, &pb->u.para, a, b, x);
    return 0;
}

/* Records a heading for the PDF outline: its whole text, where its first line landed. */
static void note_outline(render_t *r, const pbox_t *pb, double x)
{
    const text_para_t *p = &pb->u.para;
    if (r->nobreak || !pb->node || !pb->node->outline || p->nlines == 0)
        return;
    if (r->noutline == r->outline_cap) {
        size_t cap = r->outline_cap ? r->outline_cap * 2 : 16;
        outline_entry_t *v = arena_grow(r->a, r->outline, r->noutline, cap, sizeof *v);
        if (!v)
            return;
        r->outline = v;
        r->outline_cap = cap;
    }
    size_t len = 0;
    for (int l = 0; l < p->nlines; l++)
        for (int k = 0; k < p->lines[l].nruns; k++)
            len += (size_t)p->lines[l].runs[k].utf8_len + 1;
    const char *mark = pb->nnotes ? pb->notes[0].link : NULL; /* footnote marks are left out */
    char *title = arena_alloc(r->a, len + 1), *t = title;
    if (!title)
        return;
    for (int l = 0; l < p->nlines; l++) {
        if (l && t > title)
            *t++ = ' ';
        for (int k = 0; k < p->lines[l].nruns; k++) {
            if (mark && p->lines[l].runs[k].link &&
                !strncmp(p->lines[l].runs[k].link, mark, NOTES_LINK_PREFIX_LEN))
                continue;
            memcpy(t, p->lines[l].runs[k].utf8, (size_t)p->lines[l].runs[k].utf8_len);
            t += p->lines[l].runs[k].utf8_len;
        }
    }
    *t = 0;
    r->outline[r->noutline++] = (outline_entry_t){r->page, x, r->y, pb->node->outline, title};
}

/* How many lines of p from i fit above bottom (with the footnotes they mark, if any). */
static int lines_fit(render_t *r, const pbox_t *pb, int i, double bottom)
{
    const text_para_t *p = &pb->u.para;
    int n = p->nlines, k = i;
    double top0 = p->lines[i].top, notes = 0;
    while (k < n) {
        double more = pb->nnotes ? notes_need(r, pb, k, notes) : 0;
        double over = notes + more > 0 ? notes_over(r, notes + more) : 0;
        if (r->y + (p->lines[k].top + p->lines[k].height - top0) + over > bottom + EPS)
            break;
        notes += more;
        k++;
    }
    return k;
}

static int place_text(render_t *r, pbox_t *pb, double x)
{
    const text_para_t *p = &pb->u.para;
    int n = p->nlines, i = 0;
    while (i < n) {
        int k = lines_fit(r, pb, i, flow_bottom(r));
        if (k == n) {
            if (i == 0)
                note_outline(r, pb, x);
            return emit_para(r, pb, i, n, x);
        }
        int fit = k - i;
        /* Orphans: do not leave the first line(s) of a paragraph alone at the bottom. */
        if (i == 0 && fit < (n < ORPHANS ? n : ORPHANS) && !at_top(r)) {
            if (new_page(r) < 0)
                return -1;
            continue;
        }
        if (fit == 0) {
            if (!at_top(r)) {
                if (new_page(r) < 0)
                    return -1;
                continue;
            }
            if (pb->nnotes && r->y + p->lines[i].height <= flow_bottom(r) + EPS)
                return render_fail(r,
                                   "text at %s: a line and its footnotes are taller than the page's body "
                                   "(footnotes are not split across pages)",
                                   pb->node ? pb->node->path : "?");
            k = i + 1; /* a line taller than the page: place it anyway */
        }
        /* Widows: leave at least WIDOWS lines for the next page when this page keeps enough. */
        while (k < n && n - k < WIDOWS && k - 1 - i >= ORPHANS && !(i == 0 && k - 1 < ORPHANS))
            k--;
        if (i == 0)
            note_outline(r, pb, x);
        if (emit_para(r, pb, i, k, x) < 0)
            return -1;
        i = k;
        if (i < n && new_page(r) < 0)
            return -1;
    }
    return 0;
}

/* An unsplittable block of height h: starts a page when it does not fit (unless already at
 * the top, where it is placed anyway and may overflow). */
static int atomic_fit(render_t *r, double h)
{
    if (h > remaining(r) + EPS && !at_top(r))
        return new_page(r);
    return 0;
}

typedef struct box_state {
    frags_t frags;
    double top_pad, bottom_pad;
} box_state_t;

static void box_on_break(render_t *r, inset_t *in)
{
    box_state_t *bs = in->arg;
    frag_extend(r, &bs->frags, r->y + bs->bottom_pad);
}

static void box_on_continue(render_t *r, inset_t *in)
{
    box_state_t *bs = in->arg;
    frag_for(r, &bs->frags, r->page, r->y);
    r->y += bs->top_pad;
}

static int place_box(render_t *r, pbox_t *pb, double x, double w)
{
    const node_t *n = pb->node;
    const double *pad = n->u.box.padding;
    double bw = n->u.box.border_width;
    box_state_t bs = {.top_pad = bw + pad[0], .bottom_pad = bw + pad[2]};
    /* Start on the next page when not even the box's frame and first lines fit here. */
    double notes = 0;
    double first =
        bs.top_pad + bs.bottom_pad +
        fmin(first_piece(pb->u.box.kid, &notes) + pb->u.box.kid->mt, pb->u.box.kid->h + pb->u.box.kid->mt);
    if (!r->nobreak && !at_top(r) && first > remaining(r) + EPS && new_page(r) < 0)
        return -1;
    if (!frag_for(r, &bs.frags, r->page, r->y))
        return -1;
    inset_t in = {.top = bs.top_pad,
                  .bottom = bs.bottom_pad,
                  .on_break = box_on_break,
                  .on_continue = box_on_continue,
                  .arg = &bs};
    if (push_inset(r, &in) < 0)
        return -1;
    r->y += bs.top_pad;
    pbox_t *kid = pb->u.box.kid;
    double kx = x + bw + pad[3], kw = w - 2 * bw - pad[1] - pad[3];
    /* A minHeight taller than the content: the content sits at the top, middle or bottom. */
    double extra = pb->h - (kid->mt + kid->h + kid->mb + bs.top_pad + bs.bottom_pad);
    double before = extra <= 0                         ? 0
                    : n->u.box.valign == VALIGN_MIDDLE ? extra / 2
                    : n->u.box.valign == VALIGN_BOTTOM ? extra
                                                       : 0;
    r->y += before + kid->mt;
    int rc = place_pbox(r, kid, kx + kid->ml, kw - kid->ml - kid->mr);
    r->y += kid->mb + (extra > 0 ? extra - before : 0);
    pop_inset(r);
    if (rc < 0)
        return -1;
    r->y += bs.bottom_pad;
    frag_extend(r, &bs.frags, r->y);
    for (int i = 0; i < bs.frags.n; i++) {
        frag_t *f = &bs.frags.v[i];
        double half = bw / 2;
        emit_rect(r, x + half, f->y0 + half, w - bw, f->y1 - f->y0 - bw, n->u.box.background,
                  bw > 0 ? n->u.box.border_color : 0, bw, n->u.box.radius, f->page, f->index, true);
    }
    return 0;
}

/* Columns side by side (and the cells of a table row taller than a page) are placed one after
 * the other from the same start, so a later column's footnotes can land on a page where an
 * earlier column already ran down to the limit of that moment. The watch keeps what each
 * column saw: where it ended and the footnote height of each page it reached (from the start's
 * page; NULL for a column not placed). cols is NULL when there is nothing to watch (no
 * footnotes, one column, no page breaks). */
typedef struct {
    cursor_t end;
    double *page_h;
} col_seen_t;

typedef struct {
    col_seen_t *cols;
    int n, start_page;
} cols_watch_t;

/* Before n columns are placed from the current page. -1 after render_fail. */
static int cols_watch_start(render_t *r, cols_watch_t *w, int n)
{
    *w = (cols_watch_t){.n = n, .start_page = r->page};
    if (r->notes_count == 0 || r->nobreak || n < 2)
        return 0;
    w->cols = arena_calloc(r->a, (size_t)n, sizeof *w->cols);
    return w->cols ? 0 : render_tick(r);
}

/* Column i has just been placed; the cursor is where it ends. -1 after render_fail. */
static int cols_watch_column(render_t *r, cols_watch_t *w, int i)
{
    if (!w->cols)
        return 0;
    col_seen_t *seen = &w->cols[i];
    seen->end = cursor_get(r);
    seen->page_h = arena_calloc(r->a, (size_t)(seen->end.page - w->start_page + 1), sizeof *seen->page_h);
    if (!seen->page_h)
        return render_tick(r);
    for (int p = w->start_page; p <= seen->end.page; p++)
        seen->page_h[p - w->start_page] = notes_page_h(r, p);
    return 0;
}

/* After the last column: a page whose footnotes grew after an earlier column left it (all the
 * way down) or ended on it below their new top gets their height as floor, and the next layout
 * keeps every column above them (notes_raise_floor asks for it). -1 after render_fail. */
static int cols_watch_end(render_t *r, const cols_watch_t *w)
{
    double insets = 0;
    for (int i = 0; w->cols && i < r->ninsets; i++)
        insets += r->insets[i]->bottom;
    for (int i = 0; w->cols && i < w->n; i++) {
        const col_seen_t *seen = &w->cols[i];
        for (int p = w->start_page; seen->page_h && p <= seen->end.page; p++) {
            double now = notes_page_h(r, p);
            if (now <= seen->page_h[p - w->start_page] + EPS)
                continue;
            double top = body_bottom(r, p) - insets - notes_flow_h(r, p);
            if ((p < seen->end.page || seen->end.y > top + EPS) && notes_raise_floor(r, p, now) < 0)
                return -1;
        }
    }
    return 0;
}

static int place_columns(render_t *r, pbox_t *pb, double x)
{
    /* A kept-together column that does not fit moves the whole row of columns to the next page. */
    for (int i = 0; i < pb->u.cols.n && !r->nobreak && !at_top(r); i++) {
        pbox_t *kid = pb->u.cols.kids[i];
        double h = kid->mt + kid->h + notes_room(r, kid->notes_h);
        if (kid->keep_together && h > remaining(r) + EPS && h <= fresh_avail(r) + EPS) {
            if (new_page(r) < 0)
                return -1;
            break;
        }
    }
    cols_watch_t watch;
    if (cols_watch_start(r, &watch, pb->u.cols.n) < 0)
        return -1;
    cursor_t start = cursor_get(r), end = start;
    for (int i = 0; i < pb->u.cols.n; i++) {
        cursor_set(r, start);
        pbox_t *kid = pb->u.cols.kids[i];
        if (!at_top(r))
            r->y += kid->mt;
        if (place_pbox(r, kid, x + pb->u.cols.x[i] + kid->ml, pb->u.cols.w[i] - kid->ml - kid->mr) < 0)
            return -1;
        r->y += kid->mb;
        if (cols_watch_column(r, &watch, i) < 0)
            return -1;
        cursor_t c = cursor_get(r);
        if (cursor_after(c, end))
            end = c;
    }
    cursor_set(r, end);
    return cols_watch_end(r, &watch);
}

/* ------------------------------------------------------------ tables */

/* A cell spanning body rows, begun and not yet ended: its pieces, one per page it reaches. */
typedef struct open_span {
    const pcell_t *cell;
    const prow_t *row; /* the row it begins in (its background) */
    int end;           /* the last row it spans */
    frags_t frags;
} open_span_t;

typedef struct table_state {
    pbox_t *pb;
    const table_spec_t *ts;
    double x, w;
    int header_page; /* last page that got the header */
    frags_t frags;   /* the table's extent per page (outer frame) */
    /* carriedForward/broughtForward: body rows that began so far, the last page that got the
     * carried row, and whether a row taller than the page is being split. */
    int begun, carried_page;
    bool splitting;
    open_span_t *open; /* row spans (at most one per column) */
    int nopen;
} table_state_t;

static void cell_content_at(render_t *r, const pcell_t *cell, double x, double y, double row_h,
                            const table_spec_t *ts)
{
    pbox_t *c = cell->content;
    double inner_h = c->mt + c->h + c->mb;
    double off = 0;
    if (cell->valign == VALIGN_MIDDLE)
        off = (row_h - 2 * ts->pad_v - inner_h) / 2;
    else if (cell->valign == VALIGN_BOTTOM)
        off = row_h - 2 * ts->pad_v - inner_h;
    else if (cell->valign == VALIGN_BASELINE)
        off = cell->shift;
    if (off < 0)
        off = 0;
    r->y = y + ts->pad_v + off + c->mt;
    double cx = x + cell->x + ts->pad_h;
    double cw = cell->w - 2 * ts->pad_h;
    place_pbox(r, c, cx + c->ml, cw - c->ml - c->mr);
}

/* One cell's decorations over [y0, y1) on the current page (tables with row spans): the row's
 * and the cell's backgrounds (behind, at index) and its borders. */
static void cell_decor(render_t *r, const table_spec_t *ts, uint32_t row_bg, const pcell_t *c, double x,
                       double y0, double y1, size_t index, bool last_piece)
{
    double h = y1 - y0, bw = ts->border_width;
    if (row_bg)
        emit_rect(r, x + c->x, y0, c->w, h, row_bg, 0, 0, 0, r->page, index, true);
    if (c->background)
        emit_rect(r, x + c->x, y0, c->w, h, c->background, 0, 0, 0, r->page, index + (row_bg ? 1 : 0), true);
    if ((ts->borders == BORDERS_ROWS || ts->borders == BORDERS_HORIZONTAL) && last_piece)
        emit_line(r, x + c->x, y1, x + c->x + c->w, y1, bw, ts->border_color, 0);
    else if (ts->borders == BORDERS_ALL)
        emit_rect(r, x + c->x, y0, c->w, h, 0, ts->border_color, bw, 0, r->page, 0, false);
}

/* Row decorations over [y0, y1) on the current page: backgrounds (behind, at index), borders.
 * per_cell (a table with row spans): cell by cell, leaving out the cells that span rows (their
 * pieces are drawn when they end). */
static void row_decor(render_t *r, const table_spec_t *ts, const prow_t *row, double x, double w, double y0,
                      double y1, size_t index, bool last_piece, bool per_cell)
{
    if (per_cell) {
        for (int i = 0; i < row->ncells; i++)
            if (row->cells[i].rowspan == 1)
                cell_decor(r, ts, row->background, &row->cells[i], x, y0, y1, index, last_piece);
        return;
    }
    double h = y1 - y0;
    if (row->background)
        emit_rect(r, x, y0, w, h, row->background, 0, 0, 0, r->page, index, true);
    for (int i = 0; i < row->ncells; i++) {
        const pcell_t *c = &row->cells[i];
        if (c->background)
            emit_rect(r, x + c->x, y0, c->w, h, c->background, 0, 0, 0, r->page,
                      index + (row->background ? 1 : 0), true);
    }
    double bw = ts->border_width;
    switch (ts->borders) {
    case BORDERS_ROWS:
    case BORDERS_HORIZONTAL:
        if (last_piece)
            emit_line(r, x, y1, x + w, y1, bw, ts->border_color, 0);
        break;
    case BORDERS_ALL:
        for (int i = 0; i < row->ncells; i++) {
            const pcell_t *c = &row->cells[i];
            emit_rect(r, x + c->x, y0, c->w, h, 0, ts->border_color, bw, 0, r->page, 0, false);
        }
        break;
    default: break;
    }
}

/* A row that fits where it is: placed without page-break bookkeeping (its cells that span rows
 * are placed when they end). */
static void place_row_direct(render_t *r, const table_spec_t *ts, const prow_t *row, double x, double w,
                             bool per_cell)
{
    double y0 = r->y;
    size_t index = page_items(r, r->page);
    bool saved = r->nobreak;
    r->nobreak = true;
    for (int i = 0; i < row->ncells; i++)
        if (row->cells[i].rowspan == 1)
            cell_content_at(r, &row->cells[i], x, y0, row->h, ts);
    r->nobreak = saved;
    row_decor(r, ts, row, x, w, y0, y0 + row->h, index, true, per_cell);
    r->y = y0 + row->h;
}

typedef struct row_state {
    frags_t frags;
    double pad;
} row_state_t;

static void row_on_break(render_t *r, inset_t *in)
{
    row_state_t *rs = in->arg;
    frag_extend(r, &rs->frags, r->y + rs->pad);
}

static void row_on_continue(render_t *r, inset_t *in)
{
    row_state_t *rs = in->arg;
    frag_for(r, &rs->frags, r->page, r->y);
    r->y += rs->pad;
}

/* A row taller than a page: its cells flow like columns and break between lines. */
static int place_row_split(render_t *r, const table_spec_t *ts, const prow_t *row, double x, double w,
                           bool per_cell)
{
    row_state_t rs = {.pad = ts->pad_v};
    if (!frag_for(r, &rs.frags, r->page, r->y))
        return -1;
    inset_t in = {.top = ts->pad_v,
                  .bottom = ts->pad_v,
                  .on_break = row_on_break,
                  .on_continue = row_on_continue,
                  .arg = &rs};
    if (push_inset(r, &in) < 0)
        return -1;
    cols_watch_t watch;
    int rc = cols_watch_start(r, &watch, row->ncells);
    cursor_t start = cursor_get(r), end = start;
    start.y += ts->pad_v;
    for (int i = 0; rc == 0 && i < row->ncells; i++) {
        cursor_set(r, start);
        const pcell_t *c = &row->cells[i];
        if (c->rowspan != 1)
            continue;
        pbox_t *ct = c->content;
        r->y += ct->mt;
        rc = place_pbox(r, ct, x + c->x + ts->pad_h + ct->ml, c->w - 2 * ts->pad_h - ct->ml - ct->mr);
        r->y += ct->mb;
        if (rc == 0)
            rc = cols_watch_column(r, &watch, i);
        cursor_t cc = cursor_get(r);
        if (cursor_after(cc, end))
            end = cc;
    }
    /* Checked while the row's own inset (its bottom padding) still counts. */
    if (rc == 0)
        rc = cols_watch_end(r, &watch);
    pop_inset(r);
    if (rc < 0)
        return -1;
    cursor_set(r, end);
    r->y += ts->pad_v;
    frag_extend(r, &rs.frags, r->y);
    int saved = r->page;
    for (int i = 0; i < rs.frags.n; i++) {
        frag_t *f = &rs.frags.v[i];
        r->page = f->page;
        row_decor(r, ts, row, x, w, f->y0, f->y1, f->index, i == rs.frags.n - 1, per_cell);
    }
    r->page = saved;
    return 0;
}

static void emit_header(render_t *r, table_state_t *tst)
{
    pbox_t *pb = tst->pb;
    for (int i = 0; i < pb->u.table.nheader; i++)
        place_row_direct(r, tst->ts, &pb->u.table.header[i], tst->x, tst->w, false);
    tst->header_page = r->page;
}

/* A carriedForward/broughtForward row for the rows begun so far, placed at r->y. A failure is
 * left in r->failed, which new_page reports. */
static void place_carried(render_t *r, table_state_t *tst, const row_spec_t *rs)
{
    prow_t row;
    if (prepare_carried_row(r, tst->pb, rs, tst->begun, &row) == 0)
        place_row_direct(r, tst->ts, &row, tst->x, tst->w, false);
}

/* ---- row spans */

/* The height a spanning cell needs for its content. */
static double span_need(const table_spec_t *ts, const pcell_t *c)
{
    return c->content->mt + c->content->h + c->content->mb + 2 * ts->pad_v;
}

/* The last row of the group of rows that row spans tie to row i (i itself when none). */
static int span_group_end(const prow_t *rows, int n, int i)
{
    int end = rows[i].span_end;
    for (int k = i + 1; k <= end && k < n; k++)
        if (rows[k].span_end > end)
            end = rows[k].span_end;
    return end < n ? end : n - 1;
}

/* Height of the rows from i to the end of its span group. */
static double span_group_h(const prow_t *rows, int n, int i, bool spans)
{
    int end = spans ? span_group_end(rows, n, i) : i;
    double h = 0;
    for (int k = i; k <= end; k++)
        h += rows[k].h;
    return h;
}

/* Row (about to be placed) begins spanning cells: each must have room for its content on the
 * page where it begins, which gets a new page when it has not. */
static int spans_fit(render_t *r, table_state_t *tst, const prow_t *row)
{
    for (int i = 0; i < row->ncells; i++) {
        const pcell_t *c = &row->cells[i];
        if (c->rowspan == 1)
            continue;
        double need = span_need(tst->ts, c);
        if (need > remaining(r) + EPS && !at_top(r) && new_page(r) < 0)
            return -1;
        if (need > remaining(r) + EPS)
            return render_fail(r, "the cell at %s spans rows and is taller than a page", c->path);
    }
    return 0;
}

/* The spanning cells of row (placed next, at r->y) are open from here. */
static int spans_open(render_t *r, table_state_t *tst, const prow_t *row)
{
    for (int i = 0; i < row->ncells; i++) {
        const pcell_t *c = &row->cells[i];
        if (c->rowspan == 1)
            continue;
        if (tst->nopen >= tst->ts->ncols)
            return render_fail(r, "row spans overlap at %s", c->path);
        open_span_t *sp = &tst->open[tst->nopen++];
        *sp =
            (open_span_t){.cell = c, .row = row, .end = (int)(row - tst->pb->u.table.body) + c->rowspan - 1};
        if (!frag_for(r, &sp->frags, r->page, r->y))
            return -1;
    }
    return 0;
}

/* A span ends below its last row (at r->y): its pieces get their decorations, and the first
 * piece its content (made tall enough for it when the span continues on a later page). */
static void span_finish(render_t *r, table_state_t *tst, open_span_t *sp)
{
    const table_spec_t *ts = tst->ts;
    frag_extend(r, &sp->frags, r->y);
    cursor_t saved = cursor_get(r);
    bool nobreak = r->nobreak;
    r->nobreak = true;
    for (int i = 0; i < sp->frags.n; i++) {
        frag_t *f = &sp->frags.v[i];
        double y1 = f->y1;
        if (i == 0 && sp->frags.n > 1)
            y1 = fmax(y1, f->y0 + span_need(ts, sp->cell));
        r->page = f->page;
        cell_decor(r, ts, sp->row->background, sp->cell, tst->x, f->y0, y1, f->index, i == sp->frags.n - 1);
        if (i == 0)
            cell_content_at(r, sp->cell, tst->x, f->y0, y1 - f->y0, ts);
    }
    r->nobreak = nobreak;
    cursor_set(r, saved);
}

/* After row i: the spans that end with it are drawn and closed. */
static void spans_end(render_t *r, table_state_t *tst, int i)
{
    int k = 0;
    for (int j = 0; j < tst->nopen; j++) {
        if (tst->open[j].end <= i)
            span_finish(r, tst, &tst->open[j]);
        else
            tst->open[k++] = tst->open[j];
    }
    tst->nopen = k;
}

/* A page break inside spans: their pieces end here; a span whose content is still to be placed
 * (on its first piece) keeps the space for it, and the flow continues below that. */
static void spans_break(render_t *r, table_state_t *tst)
{
    for (int j = 0; j < tst->nopen; j++) {
        open_span_t *sp = &tst->open[j];
        frag_extend(r, &sp->frags, r->y);
        if (sp->frags.n == 1 && sp->frags.v[0].page == r->page)
            r->y = fmax(r->y, sp->frags.v[0].y0 + span_need(tst->ts, sp->cell));
    }
}

static void table_on_continue(render_t *r, inset_t *in)
{
    table_state_t *tst = in->arg;
    bool repeat = tst->ts->repeat_header && tst->pb->u.table.nheader;
    if (tst->header_page == r->page) { /* revisited by a later column: the header is there */
        if (repeat)
            r->y += tst->pb->u.table.header_h;
        if (tst->ts->brought_forward)
            r->y += tst->pb->u.table.brought_h;
        return;
    }
    tst->header_page = r->page;
    frag_for(r, &tst->frags, r->page, r->y);
    if (tst->ts->borders == BORDERS_HORIZONTAL)
        emit_line(r, tst->x, r->y, tst->x + tst->w, r->y, tst->ts->border_width, tst->ts->border_color, 0);
    if (repeat)
        emit_header(r, tst);
    if (tst->ts->brought_forward)
        place_carried(r, tst, tst->ts->brought_forward);
    for (int j = 0; j < tst->nopen; j++)
        frag_for(r, &tst->open[j].frags, r->page, r->y);
}

static void table_on_break(render_t *r, inset_t *in)
{
    table_state_t *tst = in->arg;
    spans_break(r, tst);
    if (tst->ts->carried_forward && tst->carried_page != r->page) {
        tst->carried_page = r->page;
        /* Below the last row; while a tall row is split its cells end at different heights
         * (this runs once per cell), so the row takes the space reserved at the foot instead. */
        if (tst->splitting) {
            double b = body_bottom(r, r->page);
            for (int i = 0; i < r->ninsets && r->insets[i] != in; i++)
                b -= r->insets[i]->bottom;
            r->y = fmax(r->y, b - in->bottom);
        }
        place_carried(r, tst, tst->ts->carried_forward);
    }
    frag_extend(r, &tst->frags, r->y);
}

/* Places rows (the table's body when body is true, else its footer rows). */
static int place_rows(render_t *r, table_state_t *tst, const prow_t *rows, int n, bool body)
{
    bool spans = body && tst->pb->u.table.spans;
    for (int i = 0; i < n; i++) {
        const prow_t *row = &rows[i];
        if (render_tick(r) < 0)
            return -1;
        if (body)
            tst->begun = i; /* a break before the row: it is carried to the next page */
        /* Rows tied by row spans stay together when they fit on a page. */
        double group = spans && tst->nopen == 0 ? span_group_h(rows, n, i, true) : row->h;
        if (group > row->h + EPS && group > remaining(r) + EPS && group <= fresh_avail(r) + EPS &&
            !at_top(r) && new_page(r) < 0)
            return -1;
        if (spans && spans_fit(r, tst, row) < 0)
            return -1;
        /* A group header moves to the next page with its first row (and the rows tied to it);
         * a row with footnotes needs room for them too. */
        double rh = row->h + notes_room(r, row->notes_h);
        double need = rh + (row->keep_with_next && i + 1 < n ? span_group_h(rows, n, i + 1, spans) : 0);
        if (need > remaining(r) + EPS && need <= fresh_avail(r) + EPS && !at_top(r)) {
            if (new_page(r) < 0)
                return -1;
        }
        if (rh > remaining(r) + EPS && rh <= fresh_avail(r) + EPS && !at_top(r)) {
            if (new_page(r) < 0)
                return -1;
        }
        if (body)
            tst->begun = i + 1;
        if (spans && spans_open(r, tst, row) < 0)
            return -1;
        int rc = 0;
        if (row->h <= remaining(r) + EPS) {
            place_row_direct(r, tst->ts, row, tst->x, tst->w, spans);
        } else {
            tst->splitting = true;
            rc = place_row_split(r, tst->ts, row, tst->x, tst->w, spans);
            tst->splitting = false;
        }
        if (rc < 0)
            return -1;
        if (spans)
            spans_end(r, tst, i);
    }
    return 0;
}

static int place_table(render_t *r, pbox_t *pb, double x, double w)
{
    const table_spec_t *ts = &pb->node->u.table;
    table_state_t tst = {.pb = pb, .ts = ts, .x = x, .w = w, .header_page = -1, .carried_page = -1};
    double hh = pb->u.table.header_h;
    /* Never leave a header alone at the bottom of a page. */
    double first = hh + (pb->u.table.nbody ? pb->u.table.body[0].h : 0);
    if (first > remaining(r) + EPS && first <= fresh_avail(r) + EPS && !at_top(r) && new_page(r) < 0)
        return -1;
    if (!frag_for(r, &tst.frags, r->page, r->y))
        return -1;
    if (ts->borders == BORDERS_HORIZONTAL)
        emit_line(r, x, r->y, x + w, r->y, ts->border_width, ts->border_color, 0);
    emit_header(r, &tst);
    inset_t in = {.top = (ts->repeat_header ? hh : 0) + pb->u.table.brought_h,
                  .bottom = pb->u.table.carried_h,
                  .on_break = table_on_break,
                  .on_continue = table_on_continue,
                  .arg = &tst};
    if (pb->u.table.spans && !(tst.open = arena_calloc(r->a, (size_t)ts->ncols, sizeof *tst.open)))
        return render_tick(r);
    if (push_inset(r, &in) < 0)
        return -1;
    int rc = place_rows(r, &tst, pb->u.table.body, pb->u.table.nbody, true);
    spans_end(r, &tst, pb->u.table.nbody); /* none left open (spans end with the body), to be sure */
    tst.begun = pb->u.table.nbody;
    if (rc == 0)
        rc = place_rows(r, &tst, pb->u.table.footer, pb->u.table.nfooter, false);
    pop_inset(r);
    if (rc < 0)
        return -1;
    frag_extend(r, &tst.frags, r->y);
    if (ts->borders == BORDERS_OUTER || ts->borders == BORDERS_ALL) {
        for (int i = 0; i < tst.frags.n; i++) {
            frag_t *f = &tst.frags.v[i];
            emit_rect(r, x, f->y0, w, f->y1 - f->y0, 0, ts->border_color, ts->border_width, 0, f->page, 0,
                      false);
        }
    }
    return 0;
}

/* ------------------------------------------------------------ dispatch */

/* An entry of a table of contents, never split. */
static int place_toc_entry(render_t *r, const pbox_t *pb, double x)
{
    const toc_entry_t *e = pb->u.toc;
    if (atomic_fit(r, pb->h) < 0)
        return -1;
    double y0 = r->y;
    if (e->title.nlines)
        emit_lines(r, &e->title, 0, e->title.nlines, x + e->indent);
    r->y = y0 + e->num_dy;
    if (e->num.nlines)
        emit_lines(r, &e->num, 0, e->num.nlines, x + e->num_x);
    if (e->lead_x1 > e->lead_x0 + TOC_LEADER_MIN)
        emit_line(r, x + e->lead_x0, y0 + e->lead_y - 1, x + e->lead_x1, y0 + e->lead_y - 1, 1,
                  pb->node->style.color, 2);
    r->y = y0 + pb->h;
    return 0;
}

static int place_pbox_kind(render_t *r, pbox_t *pb, double x, double w)
{
    switch (pb->kind) {
    case PB_TEXT: return place_text(r, pb, x);
    case PB_STACK: return place_stack(r, pb, x, w);
    case PB_COLS: return place_columns(r, pb, x);
    case PB_BOX: return place_box(r, pb, x, w);
    case PB_TABLE: return place_table(r, pb, x, w);
    case PB_TOC_ENTRY: return place_toc_entry(r, pb, x);
    case PB_SPACE: r->y += pb->h; return 0;
    case PB_BREAK:
        if (r->nobreak)
            return 0;
        if (at_top(r) && page_items(r, r->page) == 0)
            return 0;
        return new_page(r);
    case PB_RULE: {
        if (atomic_fit(r, pb->h) < 0)
            return -1;
        const node_t *n = pb->node;
        double y = r->y + pb->h / 2;
        emit_line(r, x, y, x + w, y, n->u.rule.thickness, n->u.rule.color, n->u.rule.dash);
        r->y += pb->h;
        return 0;
    }
    case PB_IMAGE: {
        if (atomic_fit(r, pb->h) < 0)
            return -1;
        ditem_t *it = emit(r, DI_IMAGE);
        if (!it)
            return -1;
        it->x = x + pb->u.image.x;
        it->y = r->y;
        it->w = pb->u.image.w;
        it->h = pb->u.image.h;
        it->fit = (uint8_t)pb->node->u.image.fit;
        it->u.img = pb->u.image.img;
        r->y += pb->h;
        return 0;
    }
    case PB_CODE: {
        if (atomic_fit(r, pb->h) < 0)
            return -1;
        ditem_t *it = emit(r, DI_CODE);
        if (!it)
            return -1;
        it->x = x + pb->u.code.x;
        it->y = r->y;
        it->w = pb->u.code.w;
        it->h = pb->u.code.h;
        it->show_text = pb->node->u.code.show_text;
        it->fill = pb->node->style.color;
        it->u.code.symbology = pb->node->u.code.symbology;
        it->u.code.data = pb->u.code.data;
        r->y += pb->h;
        return 0;
    }
    }
    return 0;
}

/* The first page from `page` on with items the block put there (its own page when it has none). */
static int anchor_page(render_t *r, int page, size_t before)
{
    if (page_items(r, page) > before)
        return page;
    for (int p = page + 1; p <= r->page; p++)
        if (page_items(r, p) > 0)
            return p;
    return page;
}

static int place_pbox(render_t *r, pbox_t *pb, double x, double w)
{
    if (r->failed)
        return -1;
    if (!pb->anchor)
        return place_pbox_kind(r, pb, x, w);
    int page = r->page;
    size_t before = page_items(r, page);
    bool noted = pb->anchor_noted; /* a table's header placed again */
    if (place_pbox_kind(r, pb, x, w) < 0)
        return -1;
    int at = anchor_page(r, page, before);
    if (refs_note(r, pb, at) < 0)
        return -1;
    return noted ? 0 : links_note_dest(r, pb, at, at == page ? before : 0);
}

int place_document(render_t *r, pbox_t *body)
{
    r->page = 0;
    if (!place_page(r, 0))
        return -1;
    r->y = r->top_y = body_top(r, 0);
    if (place_pbox(r, body, r->content_x + body->ml, r->content_w - body->ml - body->mr) < 0)
        return -1;
    r->pages[r->page].flow_end = r->y + body->mb;
    if (notes_set(r) < 0)
        return -1;
    return r->failed ? -1 : 0;
}

int place_fixed(render_t *r, pbox_t *pb, double x, double y, double w)
{
    cursor_t saved = cursor_get(r);
    bool nb = r->nobreak;
    r->nobreak = true;
    r->y = y + pb->mt;
    r->top_y = y;
    int rc = place_pbox(r, pb, x + pb->ml, w - pb->ml - pb->mr);
    r->nobreak = nb;
    r->page = saved.page;
    r->y = saved.y;
    r->top_y = saved.top_y;
    return rc;
}

/* ------------------------------------------------------------ backgrounds */

static bool background_on(const background_spec_t *bg, int page)
{
    return bg->pages == BG_PAGES_ALL || (bg->pages == BG_PAGES_FIRST) == (page == 0);
}

int place_backgrounds(render_t *r)
{
    const page_spec_t *pg = &r->t->page;
    for (int p = 0; p < r->npages && pg->nbg; p++) {
        size_t at = 0;
        for (int i = 0; i < pg->nbg; i++) {
            const background_spec_t *bg = &pg->bg[i];
            if (!background_on(bg, p))
                continue;
            double x = 0, y = 0, w = pg->width, h = place_page_height(r, p);
            if (bg->inside_margins) {
                x = pg->margin[3];
                y = pg->margin[0];
                w -= pg->margin[1] + pg->margin[3];
                h -= pg->margin[0] + pg->margin[2];
            }
            size_t before = page_items(r, p);
            emit_rect(r, x, y, w, h, bg->color, 0, 0, 0, p, at, true);
            at += page_items(r, p) - before;
            if (!r->bg_img[i])
                continue;
            ditem_t *it = insert_at(r, p, at++);
            if (!it)
                return -1;
            *it = (ditem_t){.kind = DI_IMAGE, .x = x, .y = y, .w = w, .h = h, .fit = (uint8_t)bg->fit};
            it->u.img = r->bg_img[i];
        }
    }
    return r->failed ? -1 : 0;
}

/* ------------------------------------------------------------ roll paper */

/* The lowest point anything on the page reaches. */
static double items_bottom(const dpage_t *p)
{
    double b = 0;
    for (size_t i = 0; i < p->n; i++) {
        const ditem_t *it = &p->items[i];
        if (it->kind == DI_TEXT)
            b = fmax(b, it->y + it->u.line->top + it->u.line->height);
        else if (it->kind == DI_LINE)
            b = fmax(b, fmax(it->y, it->y + it->h) + it->stroke_w / 2);
        else
            b = fmax(b, it->y + it->h + (it->kind == DI_RECT ? it->stroke_w / 2 : 0));
    }
    return b;
}

void place_fit_pages(render_t *r)
{
    const page_spec_t *pg = &r->t->page;
    for (int p = 0; p < r->npages; p++) {
        dpage_t *d = &r->pages[p];
        d->height = pg->height;
        if (!pg->auto_height)
            continue;
        double content = fmax(fmax(d->flow_end, items_bottom(d)), body_top(r, p));
        double h = ceil(content + r->footer_h[p == 0 ? 0 : 1] + pg->margin[2]);
        d->height = fmin(pg->height, fmax(h, ENGINE_PAGE_MIN_PT));
    }
}

double place_page_height(const render_t *r, int page)
{
    return page < r->npages && r->pages[page].height > 0 ? r->pages[page].height : r->t->page.height;
}
