/*
 * compile — turns layout JSON into the immutable node tree of tree.h, checking everything a
 * user can get wrong (unknown blocks, properties, styles, filters; bad lengths and colours;
 * variables that the manifest does not declare) and collecting ALL problems as issues keyed by
 * their JSON path ("layout.body.2.text").
 *
 * This header is internal to the compile*.c files (the public entry point is engine_compile).
 * Threads: a compiler_t is used by one thread during one engine_compile call.
 * Memory: nodes are allocated in the template arena; the issue objects are jansson values
 * owned by the compiler until handed to the caller.
 */
#ifndef CRAFTKIT_ENGINE_COMPILE_H
#define CRAFTKIT_ENGINE_COMPILE_H

#include <stdarg.h>

#include <jansson.h>

#include "engine/engine_int.h"

/* Partials used inside partials, at most this deep (a cycle is reported before). */
#define COMPILE_PARTIAL_DEPTH_MAX 16

typedef struct compiler {
    arena_t *a;
    engine_template_t *t;
    json_t *field_errors; /* path -> [messages] */
    json_t *form_errors;  /* [messages] */
    int nissues;
    const char *first_issue_path;
    char first_issue[800];
    const json_t *styles;                                  /* the layout's "styles" object (may be NULL) */
    const json_t *manifest;                                /* NULL = no binding checks */
    json_t *mf_vars;                                       /* key -> variable definition */
    json_t *mf_loops;                                      /* key -> loop definition */
    expr_scope_names_t names;                              /* loop variables in scope */
    const json_t *loop_defs[EXPR_LOOP_DEPTH_MAX];          /* manifest loop of each depth (or NULL) */
    const char *loop_keys[EXPR_LOOP_DEPTH_MAX];            /* data path of each loop's array */
    json_t *families;                                      /* font family -> first path that asked for it */
    const json_t *partials;                                /* the layout's "partials" object (may be NULL) */
    const json_t *library;                                 /* its "libraryPartials" (may be NULL) */
    const char *partial_chain[COMPILE_PARTIAL_DEPTH_MAX];  /* partials being expanded, outermost first */
    const json_t *partial_defs[COMPILE_PARTIAL_DEPTH_MAX]; /* ... and their definitions */
    int npartial_chain;
    bool in_library; /* expanding a library partial: names are looked up in the library only */
    const engine_compile_opts_t *opts; /* uploaded families; NULL = none */
    int depth;                         /* block nesting */
    int nodes;                         /* blocks + runs + cells so far */
    int list_depth;                    /* lists being compiled around this block (bullets by level) */

    /* A group row's frame (`group` of groupBy) and the manifest loop its items come from. */
    bool group_frame[EXPR_LOOP_DEPTH_MAX];
    const json_t *group_defs[EXPR_LOOP_DEPTH_MAX];

    /* Anchors and page references (compile_refs.c); NULL outside layouts. */
    json_t *anchors;      /* literal anchor name -> its path */
    json_t *anchor_refs;  /* [{name, path, missing}] of pageOf("name") and links "#name" */
    bool dynamic_anchors; /* some anchor is made from the data ("item-{{item.id}}") */
    bool in_body;         /* compiling the body (not a header, footer or metadata) */
    int in_cell;          /* compiling a table cell's content */
    int in_footnote;      /* compiling a footnote's body (compile_notes.c) */
    bool in_carried;      /* compiling a carriedForward/broughtForward row */
    int in_positioned;    /* compiling a block with "position" (or inside one) */
} compiler_t;

/* Records a problem at path. */
void compile_issue(compiler_t *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "base.key" / "base.3" in the template arena. */
const char *compile_path(compiler_t *c, const char *base, const char *key);
const char *compile_path_index(compiler_t *c, const char *base, size_t index);

/* ---- values (compile_style.c) ---- */
/* Lengths: number (pt) or "12pt" "10mm" "1.5cm" "1in" "16px"; with allow_rel also "50%",
 * "*" and "2*". Returns 0 or -1 after recording an issue. */
int compile_length(compiler_t *c, const json_t *v, const char *path, bool allow_rel, len_t *out);
/* A plain length in pt (no % or *), must be >= 0. */
int compile_pt(compiler_t *c, const json_t *v, const char *path, double *out);
/* "#rgb" "#rrggbb" "#rrggbbaa" or a CSS colour name; "transparent"/"none". */
int compile_color(compiler_t *c, const json_t *v, const char *path, uint32_t *out);
/* Four sides from a number, [v,h], [t,r,b,l] or {top,right,bottom,left}. */
int compile_sides(compiler_t *c, const json_t *v, const char *path, double out[4]);
int compile_bool(compiler_t *c, const json_t *v, const char *path, bool *out);
int compile_int(compiler_t *c, const json_t *v, const char *path, int min, int max, int *out);
int compile_number(compiler_t *c, const json_t *v, const char *path, double min, double max, double *out);
const char *compile_string(compiler_t *c, const json_t *v, const char *path);
/* One of names[] (NULL-terminated); returns its index or -1 after an issue. */
int compile_enum(compiler_t *c, const json_t *v, const char *path, const char *const *names);

/* The text-style properties accepted on every block, cell, run and named style. */
bool compile_is_style_key(const char *key);
/* Applies the style properties of obj (ignores other keys) onto st. */
void compile_apply_style_props(compiler_t *c, const json_t *obj, const char *path, tstyle_t *st);
/* Block spacing properties (margin, marginTop, ...; keepWithNext) of obj onto node. */
bool compile_is_spacing_key(const char *key);
void compile_apply_spacing(compiler_t *c, const json_t *obj, const char *path, node_t *n);
/* Applies a style reference: "name", ["a","b"], or an inline {props} object, onto st and
 * (when n != NULL) the named styles' spacing onto n. */
void compile_apply_style_ref(compiler_t *c, const json_t *ref, const char *path, tstyle_t *st, node_t *n);
/* A "lang" value: a BCP 47 tag, checked here, or a {{ }} template checked at render time. */
int compile_lang(compiler_t *c, const json_t *v, const char *path, const char **lang,
                 const expr_str_t **expr);
/* The root style: DejaVu Sans 10 pt black, left, line height 1. */
void compile_default_style(tstyle_t *st);

/* ---- template strings and bindings (compile.c) ---- */
typedef enum { BIND_TEXT, BIND_COND, BIND_LOOP, BIND_IMAGE } bind_use_t;
/* Parses and binds a template string; NULL after an issue. */
expr_str_t *compile_text(compiler_t *c, const json_t *v, const char *path);
int compile_text_into(compiler_t *c, const char *s, const char *path, expr_str_t *out, bind_use_t use);
expr_cond_t *compile_cond(compiler_t *c, const json_t *v, const char *path);
/* Parses an "each" (+ "as") pair and pushes the loop scope. Pops with compile_loop_pop. */
loop_spec_t *compile_loop_push(compiler_t *c, const json_t *each, const json_t *as, const char *path);
void compile_loop_pop(compiler_t *c);

/* ---- blocks (compile.c) and tables (compile_table.c) ---- */
node_t *compile_block(compiler_t *c, const json_t *v, const char *path, const tstyle_t *parent);
/* A list of blocks as a stack node (v: array of blocks, or one block). */
node_t *compile_block_list(compiler_t *c, const json_t *v, const char *path, const tstyle_t *parent);
/* A new node of kind with a copy of style (NULL past ENGINE_NODES_MAX, which is reported). */
node_t *compile_new_node(compiler_t *c, node_kind_t kind, const char *path, const tstyle_t *style);
/* The "list" block (compile_list.c) into the stack node n: its items, or its "each"/"item". */
void compile_list(compiler_t *c, const json_t *obj, const char *path, node_t *n);
/* Checks that obj has only the keys accepted by the block kind (and common keys). */
void compile_check_keys(compiler_t *c, const json_t *obj, const char *path, const char *const *allowed,
                        bool style_keys, bool spacing_keys);
int compile_table(compiler_t *c, const json_t *obj, const char *path, node_t *n);
/* An image source (a template string); literal "asset:NAME" sources are recorded in
 * t->asset_refs so that saving checks the project has them. */
int compile_image_src(compiler_t *c, const json_t *v, const char *path, expr_str_t *out);

/* ---- anchors and page references (compile_refs.c) ---- */
/* A block's "anchor" onto n (unique literal names; names from the data inside loops). */
void compile_anchor(compiler_t *c, const json_t *v, const char *path, node_t *n);
/* Records pageOf("name") at path (a PATH_PAGEOF path of a template string). */
void compile_page_ref(compiler_t *c, const expr_path_t *p, const char *path);
/* A reference to the anchor name at path; missing: the issue when no block has it. */
void compile_anchor_ref(compiler_t *c, const char *name, const char *path, const char *missing);
/* After the whole layout: every pageOf() and link "#name" names an anchor (unless anchors come from the data). */
void compile_check_page_refs(compiler_t *c);
/* The "toc" block (table of contents) into n: levels, indent, title. */
void compile_toc(compiler_t *c, const json_t *obj, const char *path, node_t *n);

/* ---- links (compile_links.c) ---- */
/* A "link" (a URL, or "#" and an anchor's name); NULL after an issue it could not compile. */
expr_str_t *compile_link(compiler_t *c, const json_t *v, const char *path);

/* ---- footnotes (compile_notes.c) ---- */
/* A footnote run {"footnote": ...} at path into r (its body; refused where it cannot be). */
void compile_footnote(compiler_t *c, const json_t *run, const char *path, run_t *r);

/* ---- pages (compile_page.c) ---- */
/* page.background: a colour, an image source, {color, image, fit, area, pages} or a list of them. */
void compile_background(compiler_t *c, const json_t *v, const char *path, page_spec_t *pg);
/* A block's "position": {x | right, y | bottom, width}; NULL after an issue. */
const position_spec_t *compile_position(compiler_t *c, const json_t *v, const char *path);

#endif
