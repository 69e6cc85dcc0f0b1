/*
 * engine_int — the engine's internal view of a compiled template (engine_template_t) and the
 * limits shared by its modules. Not part of the public API (include/craftkit/engine.h).
 *
 * Threads: an engine_template_t is immutable after engine_compile and shared read-only.
 * Memory: all of it lives in `arena` (plus json literals in `owned`); engine_template_free.
 */
#ifndef CRAFTKIT_ENGINE_ENGINE_INT_H
#define CRAFTKIT_ENGINE_ENGINE_INT_H

#include "craftkit/engine.h"
#include "engine/arena.h"
#include "engine/tree.h"

#define ENGINE_NODES_MAX 20000 /* blocks, runs and cells in one layout */
#define ENGINE_DEPTH_MAX 48    /* nesting of blocks */
#define ENGINE_ISSUES_MAX 100  /* problems reported for one layout */
#define ENGINE_TEMPLATE_ARENA_MAX (64u * 1024 * 1024)
#define ENGINE_TEXT_MAX (1024 * 1024) /* bytes of one paragraph after interpolation */
#define ENGINE_PAGES_MAX 10000        /* pages in one document */
#define ENGINE_RENDER_ARENA_MAX (1024u * 1024 * 1024)
#define ENGINE_OUTPUT_MAX (512u * 1024 * 1024)
#define ENGINE_PAGE_MIN_PT 18.0    /* a quarter inch (small labels) */
#define ENGINE_CONTENT_MIN_PT 9.0  /* what margins, header and footer must leave */
#define ENGINE_PAGE_MAX_PT 14400.0 /* 200 inches, the PDF limit */
#define ENGINE_ANCHOR_MAX 200      /* bytes of an anchor's name */
#define ENGINE_LAYOUT_PASSES_MAX 5 /* layouts of a body with pageOf() before it must have settled */

struct engine_template {
    arena_t arena;
    json_t *owned; /* json literals referenced by conditions */
    page_spec_t page;
    node_t *body;                        /* a stack */
    node_t *header, *footer;             /* stacks or NULL */
    node_t *first_header, *first_footer; /* NULL = same as header/footer */
    bool has_first_header, has_first_footer;
    expr_str_t *meta_title, *meta_author, *meta_subject, *meta_keywords;
    const char *meta_lang;            /* the document's language (PDF /Lang), or NULL */
    const expr_str_t *meta_lang_expr; /* ... from the data */
    watermark_spec_t *watermark;      /* the layout's own watermark, or NULL */
    tstyle_t base_style;
    engine_pdfa_t pdfa; /* pageConfig.pdfa: the version's default PDF/A level */
    json_t *einvoice;   /* layout.einvoice (checked), or NULL: renders generate their Factur-X XML */
    int einvoice_profile;
    json_t *asset_refs; /* [{ref, path}] of literal "asset:" image sources */
    json_t *font_refs;  /* [{family, path}] of the font families the layout names */
    /* pageOf(): used anywhere (a render collects the anchors' pages), and in the body (the body is
     * laid out again until the page numbers it shows are the true ones). */
    bool page_refs, body_page_refs;
    bool has_toc; /* a "toc" block: its entries are the last layout's headings */
};

/* For tests: lays the document out (headers and footers included) without drawing, and
 * returns {"pages":[{"items":[{"kind":"text","text":"...","x":..,"y":..,"w":..,"h":..},
 * {"kind":"rect"|"line"|"image"|"code",...}]}]} with positions in pt from the page's top-left
 * ("y" of a text line is its top; text items also give their "baseline"). New reference, or
 * NULL with err. */
json_t *engine_debug_layout(engine_ctx_t *ctx, const engine_template_t *t, const json_t *data, char *err,
                            size_t err_len);

#endif
