/*
 * layout — one render of a compiled template with data, in three steps:
 *   prepare  (prepare.c)  binds data to the node tree and measures it at its width: text shaped
 *                          and broken into lines, images loaded, tables expanded row by row.
 *                          The result is a tree of prepared boxes (pbox_t) with known heights.
 *   place    (place.c)    paginates the prepared boxes: splits paragraphs between lines, tables
 *                          between rows (repeating the header), boxes and columns across pages,
 *                          honouring keepTogether/keepWithNext, orphans and widows. Each page
 *                          becomes a display list of positioned items (ditem_t).
 *   draw     (draw.c)     replays the display lists onto a cairo surface, adding headers and
 *                          footers (now that the page count is known) and the watermark.
 * No step renders twice: {{pages}} is resolved at draw time.
 *
 * Threads: a render_t lives on the stack of one engine_render call, on the ctx's thread.
 * Memory: prepared boxes, lines and glyphs come from the ctx arena (reset per render); the
 * page display lists are malloc'd and freed by layout_free_pages; image references are
 * released by render_release.
 */
#ifndef CRAFTKIT_ENGINE_LAYOUT_H
#define CRAFTKIT_ENGINE_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#include <cairo.h>

#include "core/buf.h"
#include "core/errmsg.h"
#include "engine/arena.h"
#include "engine/engine_int.h"
#include "engine/image.h"
#include "engine/text.h"

/* ------------------------------------------------------------ display lists */

typedef enum { DI_TEXT, DI_RECT, DI_LINE, DI_IMAGE, DI_CODE } ditem_kind_t;

typedef struct ditem {
    uint8_t kind;
    uint8_t dash;          /* DI_LINE: 0 solid, 1 dashed, 2 dotted */
    uint8_t fit;           /* DI_IMAGE */
    bool show_text;        /* DI_CODE */
    float stroke_w;        /* DI_RECT border / DI_LINE width */
    float radius;          /* DI_RECT */
    double x, y;           /* DI_TEXT: paragraph left edge and its top; others: top-left / start */
    double w, h;           /* size; DI_LINE: the end point is (x + w, y + h) */
    uint32_t fill, stroke; /* DI_RECT colours; DI_LINE uses stroke */
    union {
        const text_line_t *line; /* DI_TEXT */
        image_t *img;            /* DI_IMAGE (reference held by the render) */
        struct {
            const char *symbology, *data;
        } code; /* DI_CODE */
    } u;
} ditem_t;

typedef struct dpage {
    ditem_t *items;
    size_t n, cap;
    double flow_end; /* where the body's flow left the page (roll paper is cut below it) */
    double height;   /* the page's height (page.height, or roll paper's cut) */
} dpage_t;

/* ------------------------------------------------------------ prepared boxes */

typedef enum {
    PB_TEXT,
    PB_STACK,
    PB_COLS,
    PB_BOX,
    PB_RULE,
    PB_SPACE,
    PB_BREAK,
    PB_TABLE,
    PB_IMAGE,
    PB_CODE,
    PB_TOC_ENTRY
} pbox_kind_t;

/* A line of a table of contents: the heading's text (indented by level), dotted leaders from
 * its last line to the page number at the right edge. x: from the entry's left edge. */
typedef struct toc_entry {
    text_para_t title, num;
    double indent, num_x, num_dy; /* the number's left edge and its top below the entry's */
    double lead_x0, lead_x1, lead_y;
} toc_entry_t;

typedef struct pbox pbox_t;

/* The engine's own link targets: "#ck-hN" the N-th contents entry's heading, "#ck-fnN" the
 * footnote numbered N (the destination's name is the link without "#"). User anchors of these
 * names yield to them (links.c). */
#define TOC_LINK_PREFIX "#ck-h"
#define NOTES_LINK_PREFIX "#ck-fn"
#define NOTES_LINK_PREFIX_LEN (sizeof NOTES_LINK_PREFIX - 1)

/* A footnote (notes.c): its number and body, set at the foot of the page its mark lands on. */
typedef struct pnote {
    pbox_t *num, *body;
    const char *link; /* "#ck-fnN": the mark's link and the footnote's destination (N: id) */
    int id;           /* 1, 2, ... per document */
    int line;         /* the line of the paragraph with the mark */
    bool placed;      /* its mark is on a page (a repeated table header places it again) */
    int page;         /* where it is set, and its top left corner there */
    double x, y;
    double h; /* with the spacing below it */
} pnote_t;

/* A block placed outside the flow ("position"), laid out at width w. */
typedef struct pos_item {
    pbox_t *pb;
    const position_spec_t *ps;
    double w;
    int before; /* placed when the flow reaches the stack's kid of this index (n: after the last) */
} pos_item_t;

typedef struct pcell {
    pbox_t *content; /* a stack */
    double x, w;     /* relative to the table's left edge */
    uint32_t background;
    valign_t valign;
    double shift; /* VALIGN_BASELINE: how far the content sits below the cell's top padding */
    int rowspan;  /* body rows: the rows the cell spans from its own down (1: just its own) */
    const char *path;
} pcell_t;

typedef struct prow {
    pcell_t *cells;
    int ncells;
    double h;
    uint32_t background; /* row background (zebra included) */
    bool keep_with_next; /* a groupBy header: never left alone at the foot of a page */
    int elem;            /* index of its element in the table's each, or -1 */
    int span_end;        /* body rows: the last row its cells' row spans reach (its own index: none) */
    double notes_h;      /* the footnotes marked in its cells */
} prow_t;

struct pbox {
    uint8_t kind;
    bool keep_together, keep_with_next;
    bool anchor_noted;     /* its anchor's page is known (a repeated table header is placed again) */
    const char *anchor;    /* the node's anchor, evaluated, or NULL */
    double mt, mb, ml, mr; /* margins */
    double h;              /* height without the vertical margins */
    const node_t *node;
    pnote_t *notes; /* PB_TEXT: the footnotes of the paragraph's marks, or NULL */
    int nnotes;
    double notes_h; /* the height of all footnotes marked inside (for keeping it together) */
    union {
        text_para_t para;
        struct {
            pbox_t **kids;
            int n;
            double gap;
            pos_item_t *pos; /* positioned children, in document order */
            int npos;
        } stack;
        struct {
            pbox_t **kids;
            double *x, *w;
            int n;
        } cols;
        struct {
            pbox_t *kid;
        } box;
        struct {
            prow_t *header, *body, *footer;
            int nheader, nbody, nfooter;
            double header_h;
            double *col_x; /* ncols + 1 boundaries */
            bool spans;    /* a body cell spans rows: backgrounds and borders are drawn per cell */
            /* carriedForward/broughtForward: the each's array, the scope the table was prepared
             * in (the rows are made when a page breaks) and the heights reserved for them. */
            const json_t *elems;
            expr_scope_t *scope;
            double carried_h, brought_h;
        } table;
        struct {
            image_t *img;
            double w, h, x;
        } image;
        struct {
            const char *data;
            double w, h, x;
        } code;
        toc_entry_t *toc;
    } u;
};

/* ------------------------------------------------------------ render state */

struct render;
typedef struct inset inset_t;
struct inset {
    double top;                                      /* reserved at the top of each continuation page */
    double bottom;                                   /* reserved at the bottom of every page while active */
    void (*on_break)(struct render *r, inset_t *in); /* leaving r->page at r->y */
    void (*on_continue)(struct render *r, inset_t *in); /* entered r->page; may emit and move r->y */
    void *arg;
};

#define RENDER_INSETS_MAX 64

/* A heading's entry in the PDF outline (bookmarks). */
typedef struct outline_entry {
    int page;
    double x, y;
    int level;
    const char *title;
} outline_entry_t;

typedef struct render {
    const engine_template_t *t;
    text_t *text;
    image_loader_t *images;
    arena_t *a;
    expr_scope_t scope;
    buf_t tmp; /* interpolation */
    /* images loaded during this render (released at the end) */
    image_t **loaded;
    size_t nloaded, loaded_cap;
    /* pages */
    dpage_t *pages;
    int npages, pages_cap;
    double content_x, content_w;        /* body column */
    double body_top[2], body_bottom[2]; /* [0] first page, [1] the others */
    double header_h[2], footer_h[2];
    /* flow cursor */
    int page;
    double y;
    double top_y; /* y where content starts on the current page (margins collapse there) */
    bool nobreak; /* header/footer and rows known to fit: never start a page */
    inset_t *insets[RENDER_INSETS_MAX];
    int ninsets;
    image_t **bg_img;         /* page.background images (NULL: none), by background */
    outline_entry_t *outline; /* headings in document order */
    size_t noutline, outline_cap;
    /* Anchors (refs.c): name -> page (1-based) found by the last layout (NULL before it ends),
     * those of the layout under way, and whether pageOf() answers 100 (measuring margins). */
    json_t *anchor_pages, *anchors_found;
    json_t *toc; /* [[level, title, page]] of the headings of the last layout (has_toc) */
    /* Links to anchors (links.c): name -> [page, x, y] of the layout under way, and the names
     * its runs link to (name -> the first path). */
    json_t *dests, *link_names;
    bool links_checked; /* the last layout is made: a name linked to now must be in dests */
    bool refs_measure;
    /* Footnotes (notes.c): those whose marks were placed, in order; the height reserved for
     * them at the foot of each page (notes_npages entries); how many were numbered in this
     * layout and the height of all prepared so far. */
    pnote_t **notes;
    int nnotes, notes_cap;
    double *notes_page_h;
    int notes_npages;
    int notes_count;
    double notes_total_h;
    /* What the flow leaves at the foot of each page at least, from earlier layouts of this
     * render (notes_nfloor entries; kept across layouts), and whether this layout found a
     * column's text under a page's footnotes, which a later column had put there. */
    double *notes_floor;
    int notes_nfloor;
    bool notes_again;
    /* limits and errors */
    int64_t deadline_ms;
    size_t steps;
    bool failed;
    char err[ERRMSG_LEN];
} render_t;

/* Records the first error (later ones are ignored). Always returns -1. */
int render_fail(render_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Checks the deadline and arena every so often; -1 after render_fail. */
int render_tick(render_t *r);
/* Fails the render (and returns -1) when its deadline has passed; for after slow steps. */
int render_deadline_check(render_t *r);

/* prepare.c */
/* Prepares the blocks of a stack node at width into a stack pbox; NULL after render_fail. */
pbox_t *prepare_stack(render_t *r, const node_t *stack, double width);
/* The carriedForward/broughtForward row rs of table pb, for the elements of the body rows
 * [0, nbegun) (the rows that began before a page break), into *out with the height reserved for
 * it. Called by place when a page breaks. Returns 0, or -1 when the render failed. */
int prepare_carried_row(render_t *r, const pbox_t *pb, const row_spec_t *rs, int nbegun, prow_t *out);
/* Evaluates a template string into an arena string. */
const char *prepare_string(render_t *r, const expr_str_t *s, size_t *len);
/* A language tag from the data: *lang (NULL when empty), or -1 after render_fail naming the data
 * path (node_path when the value is not a single variable). */
int prepare_lang(render_t *r, const expr_str_t *e, const char *node_path, const char **lang);

/* Loads the page.background images into r->bg_img; -1 after render_fail. */
int prepare_backgrounds(render_t *r);

/* place.c */
int place_document(render_t *r, pbox_t *body);
/* Puts the page backgrounds behind everything else on each page (after place_fit_pages). */
int place_backgrounds(render_t *r);
/* Sets every page's height (after place_document): page.height, or for roll paper the height
 * of what is on it plus the footer and bottom margin. */
void place_fit_pages(render_t *r);
/* A page's height once place_fit_pages has run (page.height before). */
double place_page_height(const render_t *r, int page);
/* Places a pbox at the current cursor without page breaks (headers, footers). */
int place_fixed(render_t *r, pbox_t *pb, double x, double y, double w);
dpage_t *place_page(render_t *r, int page);
void layout_free_pages(render_t *r);

/* refs.c */
/* The scope's pageOf(): the page of the anchor in the last layout (1 before there is one, 100
 * while measuring); fails the render for a name no block has, or none (what: the call as written). */
int refs_page_of(void *arg, const char *name, const char *what);
/* Records that pb's anchor landed on page (0-based); -1 after render_fail (a second block with
 * the same name). */
int refs_note(render_t *r, pbox_t *pb, int page);
/* After a layout: whether the page numbers it showed are those it produced (the anchors found
 * become the ones pageOf() answers with). -1 after render_fail (out of memory). */
int refs_settled(render_t *r, bool *settled);
void refs_free(render_t *r);

/* links.c */
/* A run links to the anchor name (len bytes, after the "#"): checked by links_check, or at once
 * after it. -1 after render_fail (not a name; no such anchor after links_check). */
int links_use(render_t *r, const char *name, size_t len, const char *path);
/* pb's anchor is a destination on page (0-based), at the page's item (the block's first there;
 * past the end: the top of the body). */
int links_note_dest(render_t *r, const pbox_t *pb, int page, size_t item);
/* After the last layout: every name linked to is an anchor of this document (else render_fail). */
int links_check(render_t *r);
/* Before a layout is made again: forgets the last one's destinations (the names linked to stay:
 * headers and footers are prepared before the body). */
void links_reset(render_t *r);
/* cairo's attributes of a link: "#name" links to a destination, anything else is a URI. */
void links_attr(const char *link, char *out, size_t len);
/* The anchors on the page become the PDF's named destinations. */
void links_draw_dests(render_t *r, cairo_t *cr, int page);
void links_free(render_t *r);
/* notes.c */
#define RENDER_NOTES_MAX 10000 /* footnotes in one document */
/* Numbers a footnote run: *mark is its span (the raised number, linking to the note); the
 * body is prepared. -1 after render_fail. */
int notes_prepare(render_t *r, const run_t *run, pnote_t *note, text_span_t *mark);
/* After the paragraph pb is laid out: its n notes, each with the line its mark is on. */
void notes_attach(pbox_t *pb, pnote_t *notes, int n);
/* The height line's footnotes add at the foot of the page, with have already added. */
double notes_need(const render_t *r, const pbox_t *pb, int line, double have);
/* The lines [a, b) of pb are on the current page: their footnotes go to its foot. */
int notes_placed(render_t *r, pbox_t *pb, int a, int b);
/* The height reserved for footnotes at the foot of page. */
double notes_page_h(const render_t *r, int page);
/* The height the flow leaves free at the foot of page: its footnotes', or its floor if more. */
double notes_flow_h(const render_t *r, int page);
/* Of footnotes of height h more on the current page (rule included), the part the flow has not
 * left free already: h without a floor. */
double notes_over(const render_t *r, double h);
/* The room footnotes of height h (their rule not counted) need on the current page: with the
 * rule when they would be its first, less what the flow has left free already. */
double notes_room(const render_t *r, double h);
/* The flow of the next layout leaves at least h free at the foot of page (a later column's
 * footnotes landed there under an earlier column's text), and that layout is asked for
 * (notes_again). -1 after render_fail. */
int notes_raise_floor(render_t *r, int page, double h);
/* Sets every page's footnotes at its foot (once the body is placed). */
int notes_set(render_t *r);
/* The rule and its spacing above the footnotes of a page. */
double notes_sep_h(void);
/* Before each layout. */
void notes_reset(render_t *r);

/* draw.c */
typedef struct draw_opts {
    double scale;          /* 1 for PDF; dpi/72 for PNG */
    const char *watermark; /* text or NULL */
    uint32_t watermark_color;
    double watermark_size, watermark_angle;
} draw_opts_t;
int draw_page(render_t *r, cairo_t *cr, int page, const draw_opts_t *o);

#endif
