/*
 * notes — footnotes at the foot of the page: prepare numbers each footnote run of a paragraph
 * (per document, in the order of the text) and lays out its body and number; place reserves
 * their height at the foot of the page the line with the mark lands on and sets them there
 * (below a short rule, above the page footer) when the page is left.
 *
 * Threads: one render_t, the render's thread.
 * Memory: notes, their boxes and the list of placed notes live in the render's arena.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/layout.h"

#define NOTES_GAP 8.0      /* pt between the flow and the rule */
#define NOTES_RULE_W 72.0  /* the rule's length */
#define NOTES_RULE_T 0.5   /* ... and thickness */
#define NOTES_RULE_GAP 4.0 /* pt between the rule and the first footnote */
#define NOTES_SPACING 2.0  /* pt between footnotes */
#define NOTES_INDENT 14.0  /* the number's column: the body starts this far right */
#define NOTES_RISE 0.35    /* the mark's baseline above the text's, in em of the text */
#define NOTES_MARK 0.65    /* the mark's size, of the text's */

static const node_t sep_node = {
    .kind = N_RULE, .path = "footnotes", .u.rule = {NOTES_RULE_T, COLOR_BLACK, 0, {LEN_PT, NOTES_RULE_W}}};

double notes_sep_h(void)
{
    return NOTES_GAP + NOTES_RULE_T + NOTES_RULE_GAP;
}

static pbox_t *text_box(render_t *r, const char *s, const tstyle_t *st, const char *path)
{
    pbox_t *pb = arena_calloc(r->a, 1, sizeof *pb);
    if (!pb) {
        render_tick(r);
        return NULL;
    }
    pb->kind = PB_TEXT;
    text_span_t sp = {s, strlen(s), st, NULL, NULL};
    char err[ERRMSG_LEN];
    if (text_layout(r->text, r->a, &sp, 1, 0, st, &pb->u.para, err, sizeof err) < 0) {
        render_fail(r, "footnote at %s: %s", path, err);
        return NULL;
    }
    pb->h = pb->u.para.height;
    return pb;
}

int notes_prepare(render_t *r, const run_t *run, pnote_t *note, text_span_t *mark)
{
    if (r->notes_count >= RENDER_NOTES_MAX)
        return render_fail(r, "more than %d footnotes in one document", RENDER_NOTES_MAX);
    int id = ++r->notes_count;
    char buf[32];
    snprintf(buf, sizeof buf, NOTES_LINK_PREFIX "%d", id);
    const node_t *body = run->footnote;
    tstyle_t *st = arena_alloc(r->a, sizeof *st);
    note->link = arena_strdup(r->a, buf);
    const char *num = note->link ? arena_strdup(r->a, buf + NOTES_LINK_PREFIX_LEN) : NULL;
    if (!st || !num) {
        render_tick(r);
        return -1;
    }
    *st = run->style;
    st->size *= NOTES_MARK;
    st->underline = st->strike = false;
    *mark = (text_span_t){num, strlen(num), st, note->link, NULL};
    note->id = id;
    note->line = -1;
    note->num = text_box(r, num, &body->style, body->path);
    note->body = note->num ? prepare_stack(r, body, fmax(r->content_w - NOTES_INDENT, 1)) : NULL;
    if (!note->body)
        return -1;
    note->h = fmax(note->num->h, note->body->mt + note->body->h + note->body->mb) + NOTES_SPACING;
    r->notes_total_h += note->h;
    return 0;
}

/* The line each mark landed on; the mark's glyphs are raised above the baseline. */
void notes_attach(pbox_t *pb, pnote_t *notes, int n)
{
    pb->notes = notes;
    pb->nnotes = n;
    const text_para_t *p = &pb->u.para;
    for (int l = 0; l < p->nlines; l++)
        for (int k = 0; k < p->lines[l].nruns; k++)
            for (int i = 0; i < n; i++) {
                glyph_run_t *g = &p->lines[l].runs[k];
                if (g->link != notes[i].link)
                    continue;
                notes[i].line = l;
                double rise = g->font ? NOTES_RISE * g->font->size / NOTES_MARK : 0;
                for (int j = 0; j < g->nglyphs; j++)
                    g->glyphs[j].y -= (float)rise;
            }
    for (int i = 0; i < n; i++) /* a mark cut off by maxLines: its note goes with the last line */
        if (notes[i].line < 0)
            notes[i].line = p->nlines - 1;
}

double notes_page_h(const render_t *r, int page)
{
    return page < r->notes_npages ? r->notes_page_h[page] : 0;
}

double notes_flow_h(const render_t *r, int page)
{
    double at_least = page < r->notes_nfloor ? r->notes_floor[page] : 0;
    return fmax(notes_page_h(r, page), at_least);
}

double notes_over(const render_t *r, double h)
{
    if (r->notes_nfloor == 0)
        return h;
    return fmax(0, notes_page_h(r, r->page) + h - notes_flow_h(r, r->page));
}

double notes_room(const render_t *r, double h)
{
    if (h <= 0)
        return 0;
    return notes_over(r, h + (notes_page_h(r, r->page) == 0 ? notes_sep_h() : 0));
}

/* Makes the per-page array *v (*n entries) reach page; the new entries are 0. */
static int page_array_reach(render_t *r, double **v, int *n, int page)
{
    if (page < *n)
        return 0;
    int cap = page + 16;
    double *grown = arena_grow(r->a, *v, (size_t)*n, (size_t)cap, sizeof *grown); /* zeroed */
    if (!grown)
        return render_tick(r);
    *v = grown;
    *n = cap;
    return 0;
}

int notes_raise_floor(render_t *r, int page, double h)
{
    if (page_array_reach(r, &r->notes_floor, &r->notes_nfloor, page) < 0)
        return -1;
    if (h > r->notes_floor[page]) {
        r->notes_floor[page] = h;
        r->notes_again = true;
    }
    return 0;
}

double notes_need(const render_t *r, const pbox_t *pb, int line, double have)
{
    double h = 0;
    for (int i = 0; i < pb->nnotes; i++)
        if (pb->notes[i].line == line && !pb->notes[i].placed)
            h += pb->notes[i].h;
    if (h > 0 && notes_page_h(r, r->page) + have == 0)
        h += notes_sep_h();
    return h;
}

static int note_push(render_t *r, pnote_t *note)
{
    if (r->nnotes == r->notes_cap) {
        int cap = r->notes_cap ? r->notes_cap * 2 : 16;
        pnote_t **v = arena_grow(r->a, r->notes, (size_t)r->nnotes, (size_t)cap, sizeof *v);
        if (!v)
            return render_tick(r);
        r->notes = v;
        r->notes_cap = cap;
    }
    r->notes[r->nnotes++] = note;
    return 0;
}

/* The reservation of the current page grows by h (the rule's with the first note). */
static int page_reserve(render_t *r, double h)
{
    if (page_array_reach(r, &r->notes_page_h, &r->notes_npages, r->page) < 0)
        return -1;
    r->notes_page_h[r->page] += h + (r->notes_page_h[r->page] == 0 ? notes_sep_h() : 0);
    return 0;
}

int notes_placed(render_t *r, pbox_t *pb, int a, int b)
{
    for (int i = 0; i < pb->nnotes; i++) {
        pnote_t *note = &pb->notes[i];
        if (note->placed || note->line < a || note->line >= b)
            continue;
        note->placed = true;
        note->page = r->page;
        if (page_reserve(r, note->h) < 0 || note_push(r, note) < 0)
            return -1;
    }
    return 0;
}

/* The rule above the footnotes of the current page, whose area starts at y. */
static int place_rule(render_t *r, double y)
{
    pbox_t *sep = arena_calloc(r->a, 1, sizeof *sep);
    if (!sep)
        return render_tick(r);
    sep->kind = PB_RULE;
    sep->node = &sep_node;
    sep->h = NOTES_RULE_T;
    return place_fixed(r, sep, r->content_x, y + NOTES_GAP, fmin(NOTES_RULE_W, r->content_w));
}

static int place_notes(render_t *r, double *next)
{
    for (int i = 0; i < r->nnotes; i++) {
        pnote_t *note = r->notes[i];
        r->page = note->page;
        if (next[note->page] == 0) { /* the page's first: its area is at the foot of the body */
            double y = r->body_bottom[note->page == 0 ? 0 : 1] - r->notes_page_h[note->page];
            if (place_rule(r, y) < 0)
                return -1;
            next[note->page] = y + notes_sep_h();
        }
        note->x = r->content_x;
        note->y = next[note->page];
        if (place_fixed(r, note->num, r->content_x, note->y, NOTES_INDENT) < 0 ||
            place_fixed(r, note->body, r->content_x + NOTES_INDENT, note->y,
                        fmax(r->content_w - NOTES_INDENT, 1)) < 0)
            return -1;
        next[note->page] += note->h;
    }
    return 0;
}

int notes_set(render_t *r)
{
    if (r->nnotes == 0)
        return 0;
    double *next = arena_calloc(r->a, (size_t)r->notes_npages, sizeof *next);
    if (!next)
        return render_tick(r);
    int page = r->page;
    int rc = place_notes(r, next);
    r->page = page;
    return rc;
}

void notes_reset(render_t *r)
{
    r->notes_count = 0;
    r->nnotes = r->notes_npages = 0;
    r->notes_page_h = NULL;
    r->notes_total_h = 0;
}
