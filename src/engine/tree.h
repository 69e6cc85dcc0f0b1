/*
 * tree — the compiled form of a layout: an immutable tree of nodes with every style resolved,
 * every template string parsed and every length converted to points. Built by compile.c,
 * read by layout.c (prepare + paginate) from any number of render threads at once.
 *
 * Threads: immutable after engine_compile returns; no pango/cairo objects inside.
 * Memory: everything lives in the template's arena (engine_template_t.arena); json literals of
 * conditions are owned by engine_template_t.owned.
 */
#ifndef CRAFTKIT_ENGINE_TREE_H
#define CRAFTKIT_ENGINE_TREE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "engine/arena.h"
#include "engine/expr.h"

/* Lengths: every number in a layout is in points unless a unit is given. */
typedef enum { LEN_AUTO = 0, LEN_PT, LEN_PCT, LEN_FLEX } len_kind_t;
typedef struct len {
    len_kind_t kind;
    double v; /* pt, percent (0–100), or flex weight */
} len_t;

typedef enum { ALIGN_START = 0, ALIGN_LEFT, ALIGN_CENTER, ALIGN_RIGHT, ALIGN_END, ALIGN_JUSTIFY } align_t;
/* VALIGN_BASELINE (table cells only): the first baselines of a row's such cells line up. */
typedef enum { VALIGN_TOP = 0, VALIGN_MIDDLE, VALIGN_BOTTOM, VALIGN_BASELINE } valign_t;

/* Colours are 0xRRGGBBAA. */
#define COLOR_NONE 0x00000000u
#define COLOR_BLACK 0x000000ffu

/* The resolved text style of a node or run (inherited from the parent, then named styles,
 * then the node's own properties). */
typedef struct tstyle {
    const char *family; /* fontconfig family list, e.g. "DejaVu Sans" */
    double size;        /* pt */
    int weight;         /* 100..900 */
    bool italic;
    bool underline;
    bool strike;
    uint32_t color;
    uint32_t background; /* text runs: highlight; blocks: not inherited */
    align_t align;
    double line_height;    /* multiple of the font's natural line height */
    double letter_spacing; /* pt */
    int max_lines;         /* 0 = unlimited; the last kept line ends in an ellipsis */
    /* Paragraph indents in pt, from the start side (left for left-to-right text): every line is
     * indented by `indent`, plus `first_indent` (may be negative) on the first line of each
     * paragraph (the text, and after each newline) or `hanging_indent` on the others. */
    double indent, first_indent, hanging_indent;
    const char *lang;                 /* BCP 47 tag (validated) or NULL: steers font fallback and shaping */
    const struct expr_str *lang_expr; /* a tag from the data ({{ }}), or NULL */
    bool hyphenate;                   /* break words at the dictionary's points for lang (engine/hyph) */
} tstyle_t;

typedef enum {
    N_TEXT,
    N_STACK,
    N_COLUMNS,
    N_BOX,
    N_RULE,
    N_SPACER,
    N_PAGEBREAK,
    N_TABLE,
    N_IMAGE,
    N_CODE,
    N_TOC,
} node_kind_t;

typedef struct node node_t;

typedef struct run {
    expr_str_t text;
    expr_str_t *link; /* NULL or the link target */
    tstyle_t style;
    const struct node *footnote; /* a footnote run: its body (a stack); the text is its number */
} run_t;

/* A link that starts with "#" in the layout ("#terms", "#item-{{item.sku}}") goes to an anchor;
 * a "#" that comes from the data does not. */
static inline bool run_link_internal(const expr_str_t *link)
{
    if (link->constant)
        return link->constant[0] == '#';
    return link->nparts > 0 && !link->parts[0].is_value && link->parts[0].lit_len > 0 &&
           link->parts[0].lit[0] == '#';
}

typedef struct loop_spec {
    expr_path_t *path; /* the array */
    const char *as;    /* variable name (default "item") */
} loop_spec_t;

typedef struct column_spec {
    len_t width;
    node_t *content; /* a stack */
} column_spec_t;

typedef enum { BORDERS_NONE, BORDERS_ROWS, BORDERS_ALL, BORDERS_OUTER, BORDERS_HORIZONTAL } borders_t;

#define TABLE_ROWSPAN_MAX 1000 /* rows one cell may span */

typedef struct cell_spec {
    node_t *content; /* a stack */
    int colspan;
    int rowspan; /* body rows only; 1 unless "rowSpan" (rows repeated by each: per element) */
    uint32_t background;
    valign_t valign;
    const char *path; /* for messages */
} cell_spec_t;

typedef struct row_spec {
    expr_cond_t *cond;
    loop_spec_t *each;
    int ncells;
    cell_spec_t *cells;
    uint32_t background;
    const char *path;
    /* groupBy (rows with each): consecutive elements with the same key text form a group, with
     * optional header and footer rows in which `group` is {key, count, items}. */
    expr_str_t *group_key;
    struct row_spec *group_header, *group_footer; /* NULL when absent */
} row_spec_t;

typedef struct table_spec {
    int ncols;
    len_t *widths;
    int nheader, nbody, nfooter;
    row_spec_t *header, *body, *footer;
    bool repeat_header;
    uint32_t zebra;
    borders_t borders;
    double border_width;
    uint32_t border_color;
    double pad_v, pad_h; /* cell padding */
    /* carriedForward/broughtForward (tables with each): rows at the foot of every page the table
     * continues from and at the head of every page it continues on; `carried` is {key: "",
     * count, items} of the elements whose rows began on the pages before the break. */
    row_spec_t *carried_forward, *brought_forward; /* NULL when absent */
} table_spec_t;

typedef enum { FIT_CONTAIN = 0, FIT_COVER, FIT_FILL } fit_t;

/* "position": the block is placed at a fixed place on the page where the flow reaches it,
 * outside the flow. Offsets are pt from the paper's left/top edge, or from its right/bottom
 * edge when from_right/from_bottom. */
typedef struct position_spec {
    double x, y;
    bool from_right, from_bottom;
    len_t width; /* LEN_PT or LEN_PCT (of the page width); LEN_AUTO: up to the right margin */
} position_spec_t;

struct node {
    node_kind_t kind;
    const char *path;  /* JSON path in the layout, for messages ("layout.body.3") */
    expr_cond_t *cond; /* "if" */
    loop_spec_t *each; /* "each" */
    double margin[4];  /* top right bottom left, pt */
    bool keep_together;
    bool keep_with_next;
    uint8_t outline;                 /* headings: level 1-3 in the PDF's outline (bookmarks), 0 = none */
    tstyle_t style;                  /* effective style (text nodes; inherited by children) */
    const position_spec_t *position; /* NULL: in the flow */
    expr_str_t *anchor;              /* "anchor": a name pageOf() finds the block's page by, or NULL */
    union {
        struct {
            int nruns;
            run_t *runs;
            /* A list's marker in a loop (listmark.h): the one run's text is loop.index, shown
             * as the counter (index + counter_start - 1) in this style; 0: plain text. */
            uint8_t counter;
            int counter_start;
        } text;
        struct {
            int n;
            node_t **children;
            double gap;
        } stack;
        struct {
            int n;
            column_spec_t *cols;
            double gap;
        } columns;
        struct {
            node_t *content;
            double padding[4];
            double border_width;
            uint32_t border_color;
            uint32_t background;
            double radius;
            double min_height;
            valign_t valign;
        } box;
        struct {
            double thickness;
            uint32_t color;
            int dash; /* 0 solid 1 dashed 2 dotted */
            len_t width;
        } rule;
        struct {
            double height;
        } spacer;
        table_spec_t table;
        struct {
            expr_str_t src;
            len_t width, height;
            fit_t fit;
            align_t align;
        } image;
        struct {
            int levels;    /* headings of levels 1..levels are listed */
            double indent; /* pt per level below 1 */
            node_t *title; /* a heading above the entries, or NULL */
        } toc;
        struct {
            const char *symbology;
            expr_str_t data;
            len_t width, height;
            bool show_text;
            align_t align;
        } code;
    } u;
};

/* page.background: painted behind everything on the pages it applies to. */
typedef enum { BG_PAGES_ALL = 0, BG_PAGES_FIRST, BG_PAGES_REST } bg_pages_t;
typedef struct background_spec {
    uint32_t color;      /* COLOR_NONE: no colour */
    expr_str_t *src;     /* an image (template), or NULL */
    fit_t fit;           /* how the image fills the area (default cover) */
    bool inside_margins; /* false: the whole sheet (full bleed) */
    bg_pages_t pages;
    const char *path; /* of the image, for messages */
} background_spec_t;

typedef struct page_spec {
    double width, height; /* pt, orientation applied */
    double margin[4];     /* top right bottom left */
    background_spec_t *bg;
    int nbg;
    bool auto_height; /* roll paper: each page is as tall as its content, at most `height` */
} page_spec_t;

typedef struct watermark_spec {
    expr_str_t text;
    uint32_t color; /* alpha included */
    double size;    /* 0 = fit the page */
    double angle;   /* degrees; NAN = the page diagonal */
} watermark_spec_t;

#endif
