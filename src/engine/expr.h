/*
 * expr — the data-binding part of the template language:
 *   template strings  "Invoice {{ invoice.number }} of {{ invoice.date | date:"DD/MM/YYYY" }}"
 *   conditions        "customer.vatId", "not notes", "item.qty > 10 and item.price != 0"
 *   paths             customer.name, item.qty, loop.index, page, pages
 * parsed once at compile time (expr_parse_*) and evaluated per render (expr_eval_*).
 *
 * Values from data are always inserted as plain text: nothing in a value is ever interpreted
 * as markup, an expression or layout.
 *
 * Threads: parsed expressions are immutable and may be evaluated from any number of threads
 * at once; each evaluation uses the caller's scope and buffers.
 * Memory: parse results live in the caller's arena; evaluation appends to caller buffers.
 */
#ifndef CRAFTKIT_ENGINE_EXPR_H
#define CRAFTKIT_ENGINE_EXPR_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/buf.h"
#include "engine/arena.h"

#define EXPR_PATH_SEGMENTS_MAX 16 /* a.b.c… */
#define EXPR_FILTERS_MAX 8        /* {{ x | f1 | f2 … }} */
#define EXPR_COND_DEPTH_MAX 32    /* nesting of not/and/or/( ) */
#define EXPR_LOOP_DEPTH_MAX 8     /* nested each */

/* Where a path starts. */
typedef enum {
    PATH_DATA = 0, /* the data root: customer.name */
    PATH_ITEM,     /* a loop variable: item.qty (frame = loop depth, 0 = outermost) */
    PATH_LOOPMETA, /* loop.index, loop.index0, loop.count, loop.first, loop.last */
    PATH_PAGE,     /* page (header/footer only) */
    PATH_PAGES,    /* pages (header/footer only) */
    PATH_PAGEOF,   /* pageOf("name"), pageOf(item.ref): the page of the block with that anchor */
} path_root_t;

typedef enum { LOOPMETA_INDEX, LOOPMETA_INDEX0, LOOPMETA_COUNT, LOOPMETA_FIRST, LOOPMETA_LAST } loopmeta_t;

typedef struct expr_path {
    path_root_t root;
    int frame;       /* PATH_ITEM / PATH_LOOPMETA: loop depth index */
    loopmeta_t meta; /* PATH_LOOPMETA */
    int nseg;        /* segments after the root (PATH_ITEM: after the variable name) */
    const char **seg;
    const char *text;   /* the path as written, for messages */
    const char *anchor; /* PATH_PAGEOF: the anchor's name, or NULL: it is the value of anchor_path */
    struct expr_path *anchor_path; /* PATH_PAGEOF: pageOf(item.ref) */
    /* From the manifest, when known: applied automatically when no filter is given. */
    const char *mf_format;
    const char *mf_type;
} expr_path_t;

typedef struct expr_filter {
    const char *name;
    const char *arg; /* NULL when none */
    /* currency:(invoice.currency)[:LOCALE] — the code comes from the data, checked against
     * ISO 4217 at render time; arg is then the rest after the ")" (":de-DE") or NULL. */
    expr_path_t *arg_path;
} expr_filter_t;

struct expr_cond;

/* An aggregate over a list: sum(items, "total"), count(items where item.vatRate == 20),
 * avg/min/max(items as line where line.qty > 0, "price"). Exact decimals (engine/decimal.h). */
typedef enum { AGG_SUM, AGG_COUNT, AGG_AVG, AGG_MIN, AGG_MAX } agg_kind_t;
typedef struct expr_agg {
    agg_kind_t kind;
    expr_path_t *list;       /* the list (a data or loop path) */
    const char *var;         /* the element's name in "where" ("item" unless "as" names it) */
    int frame;               /* the element's loop frame while the aggregate runs */
    struct expr_cond *where; /* NULL: every element */
    expr_path_t *field;      /* inside the element (root PATH_ITEM, frame); NULL: the element */
    const char *field_text;  /* the field as written ("total"), for messages */
    const char *text;        /* the whole aggregate as written, for messages */
    /* The field's manifest format, inherited by sum/avg/min/max when no filter is given. */
    const char *mf_format;
    const char *mf_type;
} expr_agg_t;

/* One piece of a template string: literal text, or a value (path, aggregate or string literal)
 * + filters. */
typedef struct expr_part {
    const char *lit; /* literal text (is_value false), or a literal value {{ "x" }} */
    size_t lit_len;
    bool is_value;
    expr_path_t *path; /* NULL for a literal value or an aggregate */
    expr_agg_t *agg;   /* an aggregate, or NULL */
    int nfilters;
    expr_filter_t *filters;
} expr_part_t;

typedef struct expr_str {
    int nparts;
    expr_part_t *parts;
    const char *constant; /* non-NULL when the string has no bindings: the final text */
    size_t constant_len;
} expr_str_t;

typedef enum { COND_TRUTHY, COND_NOT, COND_AND, COND_OR, COND_CMP } cond_kind_t;
typedef enum { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE } cmp_op_t;

typedef struct cond_operand {
    expr_path_t *path; /* or NULL: literal */
    json_t *literal;   /* owned by the compiled template (freed with it) */
} cond_operand_t;

typedef struct expr_cond {
    cond_kind_t kind;
    struct expr_cond *a, *b; /* NOT: a; AND/OR: a, b */
    cond_operand_t lhs, rhs; /* TRUTHY: lhs; CMP: lhs op rhs */
    cmp_op_t op;
} expr_cond_t;

/* Loop scope names known while parsing (innermost last). */
typedef struct expr_scope_names {
    int depth;
    const char *names[EXPR_LOOP_DEPTH_MAX];
    bool allow_page; /* header/footer: page and pages are defined */
    /* Where literals of a "where" inside an aggregate go (a json array owned by the compiled
     * template); NULL refuses aggregates with literals in "where". */
    json_t *owned;
} expr_scope_names_t;

/* Parses a template string. Returns 0, or -1 with a message in err. Paths are classified
 * against `names`; callers check them against the manifest afterwards (expr_visit_paths). */
int expr_parse_str(arena_t *a, const char *s, const expr_scope_names_t *names, expr_str_t *out, char *err,
                   size_t err_len);
/* Parses a condition. Literals allocated as json_t are appended to *owned (a json array). */
int expr_parse_cond(arena_t *a, const char *s, const expr_scope_names_t *names, json_t *owned,
                    expr_cond_t **out, char *err, size_t err_len);
/* Parses a bare path ("items", "item.lines"). */
int expr_parse_path(arena_t *a, const char *s, const expr_scope_names_t *names, expr_path_t **out, char *err,
                    size_t err_len);

typedef void (*expr_path_visit_fn)(expr_path_t *p, void *arg);
/* Visits the paths of values and of filter arguments (currency:(path)); not those inside
 * aggregates, which expr_str_visit_aggs hands over whole. */
void expr_str_visit_paths(expr_str_t *s, expr_path_visit_fn fn, void *arg);
typedef void (*expr_agg_visit_fn)(expr_agg_t *g, void *arg);
void expr_str_visit_aggs(expr_str_t *s, expr_agg_visit_fn fn, void *arg);
void expr_cond_visit_paths(expr_cond_t *c, expr_path_visit_fn fn, void *arg);
/* Every filter name of a string, for checking against format_filter_known. */
typedef void (*expr_filter_visit_fn)(const expr_filter_t *f, void *arg);
void expr_str_visit_filters(const expr_str_t *s, expr_filter_visit_fn fn, void *arg);

/* ---- evaluation ---- */

typedef struct expr_frame {
    const json_t *item; /* current element */
    size_t index;       /* 0-based */
    size_t count;
    const char *path; /* data path of the array, e.g. "items" (for error messages) */
} expr_frame_t;

typedef struct expr_scope {
    const json_t *data;
    int depth;
    expr_frame_t frames[EXPR_LOOP_DEPTH_MAX];
    int page, pages; /* 0 outside header/footer */
    /* pageOf("name"): the page number (1-based) of the anchor, from the render; NULL: 0. anchor is
     * NULL when pageOf's argument is not text; what is the call as written, for messages. */
    int (*page_of)(void *arg, const char *anchor, const char *what);
    void *page_of_arg;
    json_t *scratch;  /* a json string reused to chain filters (owned by the caller) */
    const char *lang; /* language of the text being evaluated (BCP 47) or NULL: dates, words */
} expr_scope_t;

/* Resolves a path. Returns a borrowed value or NULL when missing. Loop meta and page numbers
 * are produced into *tmp (caller owns and decrefs *tmp when set). */
const json_t *expr_resolve(const expr_scope_t *sc, const expr_path_t *p, json_t **tmp);
/* Writes the data path of p in this scope ("data.items.3.photo") into out. */
void expr_describe_path(const expr_scope_t *sc, const expr_path_t *p, char *out, size_t out_len);
/* Computes an aggregate: *out is a new json string with the exact decimal ("1234.5"), an
 * integer for count, or json null for avg/min/max of no elements (caller decrefs). Returns 0,
 * or -1 with err naming the data path (not a list, a missing or non-numeric field, too large). */
int expr_eval_agg(const expr_scope_t *sc, const expr_agg_t *g, json_t **out, char *err, size_t err_len);
/* Appends the text of s. Returns 0, or -1 with err (a filter failed). */
int expr_eval_str(const expr_scope_t *sc, const expr_str_t *s, buf_t *out, char *err, size_t err_len);
bool expr_eval_cond(const expr_scope_t *sc, const expr_cond_t *c);
/* Handlebars-like truthiness: missing, null, false, 0, "", [] and {} are false. */
bool expr_truthy(const json_t *v);

#endif
