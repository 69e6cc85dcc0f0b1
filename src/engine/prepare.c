/* prepare — binds data to the node tree and measures every block (see layout.h). */
#include <math.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/errmsg.h"
#include "core/timeutil.h"
#include "engine/codes.h"
#include "engine/layout.h"
#include "engine/listmark.h"

int render_fail(render_t *r, const char *fmt, ...)
{
    if (!r->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err, sizeof r->err, fmt, ap);
        va_end(ap);
        r->failed = true;
    }
    return -1;
}

int render_deadline_check(render_t *r)
{
    if (r->failed)
        return -1;
    if (r->deadline_ms && time_mono_ms() > r->deadline_ms)
        return render_fail(r, "rendering took longer than the time allowed and was stopped");
    return 0;
}

int render_tick(render_t *r)
{
    if (r->failed)
        return -1;
    if ((++r->steps & 31) == 0 && render_deadline_check(r) < 0)
        return -1;
    if (r->a->full)
        return render_fail(r, "the document is too large to lay out (more than %u MB of layout data)",
                           (unsigned)(ENGINE_RENDER_ARENA_MAX >> 20));
    return 0;
}

static pbox_t *new_pbox(render_t *r, pbox_kind_t kind, const node_t *n)
{
    pbox_t *pb = arena_alloc(r->a, sizeof *pb);
    if (!pb) {
        render_tick(r);
        return NULL;
    }
    pb->kind = (uint8_t)kind;
    pb->node = n;
    if (n) {
        pb->mt = n->margin[0];
        pb->mr = n->margin[1];
        pb->mb = n->margin[2];
        pb->ml = n->margin[3];
        pb->keep_together = n->keep_together;
        pb->keep_with_next = n->keep_with_next;
    }
    return pb;
}

/* Length of the Unicode noncharacter at p (U+FDD0..U+FDEF, U+xFFFE, U+xFFFF), or 0. They are
 * valid UTF-8 that JSON allows, but no font draws them and cairo refuses them in the text it
 * writes into a PDF ("input string not valid UTF-8"), so text that the document shows drops
 * them: the same everywhere (paragraphs, cells, headers, metadata, bookmarks, watermark). */
static size_t nonchar_len(const unsigned char *p, const unsigned char *end)
{
    if (p[0] == 0xef && end - p >= 3) {
        if (p[1] == 0xb7 && p[2] >= 0x90 && p[2] <= 0xaf)
            return 3;
        if (p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf))
            return 3;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4 && end - p >= 4) {
        if ((p[1] & 0x0f) == 0x0f && p[2] == 0xbf && (p[3] == 0xbe || p[3] == 0xbf))
            return 4;
    }
    return 0;
}

/* Removes noncharacters from s[0, len) in place; returns the new length. */
static size_t drop_nonchars(char *s, size_t len)
{
    unsigned char *p = (unsigned char *)s, *end = p + len, *w = p;
    while (p < end) {
        size_t n = *p >= 0xef ? nonchar_len(p, end) : 0;
        if (n) {
            p += n;
            continue;
        }
        *w++ = *p++;
    }
    *w = 0;
    return (size_t)(w - (unsigned char *)s);
}

static bool has_nonchar(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    for (; p < end; p++)
        if (*p >= 0xef && nonchar_len(p, end))
            return true;
    return false;
}

/* Evaluates a template string into an arena string. `visible`: text the document shows, whose
 * noncharacters are dropped (not for barcode data or image sources, which are used as given).
 * A failure names `where` (a layout path) when given. */
static const char *eval_string(render_t *r, const expr_str_t *s, const char *where, bool visible, size_t *len)
{
    if (s->constant) {
        *len = s->constant_len;
        if (!visible || !has_nonchar(s->constant, s->constant_len))
            return s->constant;
        char *copy = arena_strndup(r->a, s->constant, s->constant_len);
        if (!copy) {
            render_tick(r);
            return NULL;
        }
        *len = drop_nonchars(copy, s->constant_len);
        return copy;
    }
    buf_reset(&r->tmp);
    char err[ERRMSG_LEN];
    if (expr_eval_str(&r->scope, s, &r->tmp, err, sizeof err) < 0) {
        if (where)
            render_fail(r, "text at %s: %s", where, err);
        else
            render_fail(r, "%s", err);
        return NULL;
    }
    *len = r->tmp.len;
    if (visible && r->tmp.len)
        *len = drop_nonchars(r->tmp.data, r->tmp.len);
    char *out = arena_strndup(r->a, buf_cstr(&r->tmp), *len);
    if (!out)
        render_tick(r);
    return out;
}

const char *prepare_string(render_t *r, const expr_str_t *s, size_t *len)
{
    return eval_string(r, s, NULL, true, len);
}

/* "data.logo" when the string is exactly one binding, else the block's layout path. */
static void where_at(render_t *r, const expr_str_t *s, const char *path, char *out, size_t len)
{
    if (s->nparts == 1 && s->parts[0].path) {
        expr_describe_path(&r->scope, s->parts[0].path, out, len);
        return;
    }
    snprintf(out, len, "%s", path);
}

static void where_of(render_t *r, const expr_str_t *s, const node_t *n, char *out, size_t len)
{
    where_at(r, s, n->path, out, len);
}

int prepare_lang(render_t *r, const expr_str_t *e, const char *node_path, const char **lang)
{
    size_t len;
    const char *v = prepare_string(r, e, &len);
    if (!v)
        return -1;
    *lang = len ? v : NULL;
    if (len && !text_lang_valid(v)) {
        char where[256];
        if (e->nparts == 1 && e->parts[0].path)
            expr_describe_path(&r->scope, e->parts[0].path, where, sizeof where);
        else
            snprintf(where, sizeof where, "%s", node_path);
        return render_fail(
            r, "%s: \"%.60s\" is not a language tag (BCP 47, such as \"en\", \"de-CH\" or \"zh-Hans\")",
            where, v);
    }
    return 0;
}

/* Links are only made for schemes that are safe to click. */
static bool safe_link(const char *s)
{
    return !strncasecmp(s, "https://", 8) || !strncasecmp(s, "http://", 7) || !strncasecmp(s, "mailto:", 7) ||
           !strncasecmp(s, "tel:", 4);
}

static double pb_outer(const pbox_t *pb)
{
    return pb->mt + pb->h + pb->mb;
}

/* ------------------------------------------------------------------ blocks */

/* A list marker in a loop: s is loop.index; the counter's text in the list's style. */
static const char *list_counter(render_t *r, const node_t *n, const char *s, size_t *len)
{
    char mark[64];
    listmark_format((list_style_t)n->u.text.counter, strtol(s, NULL, 10) + n->u.text.counter_start - 1, 0,
                    mark, sizeof mark);
    *len = strlen(mark);
    char *out = arena_alloc(r->a, *len + 1);
    if (!out) {
        render_tick(r);
        return NULL;
    }
    memcpy(out, mark, *len + 1);
    return out;
}

static pbox_t *prepare_text(render_t *r, const node_t *n, double width)
{
    pbox_t *pb = new_pbox(r, PB_TEXT, n);
    if (!pb)
        return NULL;
    int nr = n->u.text.nruns;
    text_span_t small[8];
    text_span_t *spans = nr <= 8 ? small : arena_calloc(r->a, (size_t)nr, sizeof *spans);
    if (!spans) {
        render_tick(r);
        return NULL;
    }
    int ns = 0, nnotes = 0;
    pnote_t *notes = NULL;
    size_t total = 0;
    for (int i = 0; i < nr; i++) {
        const run_t *run = &n->u.text.runs[i];
        if (run->footnote) {
            if (!notes && !(notes = arena_calloc(r->a, (size_t)nr, sizeof *notes))) {
                render_tick(r);
                return NULL;
            }
            if (notes_prepare(r, run, &notes[nnotes++], &spans[ns++]) < 0)
                return NULL;
            continue;
        }
        const char *lang = NULL; /* from the data; else the style's (span_lang) */
        if (run->style.lang_expr && prepare_lang(r, run->style.lang_expr, n->path, &lang) < 0)
            return NULL;
        size_t len;
        r->scope.lang = lang ? lang : run->style.lang; /* dates and words in the text's language */
        const char *s = eval_string(r, &run->text, n->path, true, &len);
        r->scope.lang = NULL;
        if (s && n->u.text.counter)
            s = list_counter(r, n, s, &len);
        if (!s)
            return NULL;
        if (!len)
            continue;
        total += len;
        if (total > ENGINE_TEXT_MAX) { /* the limit is per paragraph, whatever its runs */
            render_fail(r, "text at %s: longer than the limit of %d bytes", n->path, ENGINE_TEXT_MAX);
            return NULL;
        }
        const char *link = NULL;
        if (run->link) {
            size_t ll;
            link = prepare_string(r, run->link, &ll);
            if (!link)
                return NULL;
            if (run_link_internal(run->link)) {
                if (links_use(r, link + 1, ll - 1, n->path) < 0)
                    return NULL;
            } else if (!ll || !safe_link(link)) {
                link = NULL;
            }
        }
        spans[ns++] = (text_span_t){s, len, &run->style, link, lang};
    }
    if (ns == 0) {
        pb->h = 0;
        return pb;
    }
    char err[ERRMSG_LEN];
    if (text_layout(r->text, r->a, spans, ns, width, &n->style, &pb->u.para, err, sizeof err) < 0) {
        render_fail(r, "text at %s: %s", n->path, err);
        return NULL;
    }
    pb->h = pb->u.para.height;
    if (nnotes)
        notes_attach(pb, notes, nnotes);
    return pb;
}

typedef struct pb_list {
    pbox_t **v;
    int n, cap;
} pb_list_t;

static int list_push(render_t *r, pb_list_t *l, pbox_t *pb)
{
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 8;
        pbox_t **v = arena_grow(r->a, l->v, (size_t)l->n, (size_t)cap, sizeof *v);
        if (!v)
            return render_tick(r);
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = pb;
    return 0;
}

static pbox_t *prepare_one(render_t *r, const node_t *n, double width);

/* Pushes a loop frame for `each` over the array at spec->path; returns the array or NULL
 * (missing or null: no repetitions). -1 in *rc when the value is not a list. */
static const json_t *loop_begin(render_t *r, const loop_spec_t *spec, const char *where, int *rc)
{
    *rc = 0;
    json_t *tmp;
    const json_t *arr = expr_resolve(&r->scope, spec->path, &tmp);
    json_decref(tmp);
    if (!arr || json_is_null(arr))
        return NULL;
    if (!json_is_array(arr)) {
        char p[256];
        expr_describe_path(&r->scope, spec->path, p, sizeof p);
        *rc = render_fail(r, "%s is not a list (used by \"each\" at %s)", p, where);
        return NULL;
    }
    if (r->scope.depth >= EXPR_LOOP_DEPTH_MAX) {
        *rc = render_fail(r, "loops nested too deeply at %s", where);
        return NULL;
    }
    expr_frame_t *f = &r->scope.frames[r->scope.depth];
    char p[256];
    expr_describe_path(&r->scope, spec->path, p, sizeof p);
    f->path = arena_strdup(r->a, strncmp(p, "data.", 5) ? p : p + 5);
    f->count = json_array_size(arr);
    f->index = 0;
    f->item = NULL;
    r->scope.depth++;
    return arr;
}

static void loop_end(render_t *r)
{
    r->scope.depth--;
}

static int prepare_into(render_t *r, const node_t *n, double width, pb_list_t *out)
{
    if (!n->each) {
        if (n->cond && !expr_eval_cond(&r->scope, n->cond))
            return 0;
        pbox_t *pb = prepare_one(r, n, width);
        return pb ? list_push(r, out, pb) : -1;
    }
    int rc;
    const json_t *arr = loop_begin(r, n->each, n->path, &rc);
    if (!arr)
        return rc;
    expr_frame_t *f = &r->scope.frames[r->scope.depth - 1];
    for (size_t i = 0; i < f->count && rc == 0; i++) {
        f->index = i;
        f->item = json_array_get(arr, i);
        if (render_tick(r) < 0) {
            rc = -1;
            break;
        }
        if (n->cond && !expr_eval_cond(&r->scope, n->cond))
            continue;
        pbox_t *pb = prepare_one(r, n, width);
        rc = pb ? list_push(r, out, pb) : -1;
    }
    loop_end(r);
    return rc;
}

static void stack_height(pbox_t *pb)
{
    double h = 0;
    pbox_t **k = pb->u.stack.kids;
    for (int i = 0; i < pb->u.stack.n; i++) {
        if (i == 0)
            h += k[i]->mt;
        else
            h += fmax(k[i - 1]->mb, k[i]->mt) + pb->u.stack.gap;
        h += k[i]->h;
    }
    if (pb->u.stack.n)
        h += k[pb->u.stack.n - 1]->mb;
    pb->h = h;
}

/* The width a positioned block is laid out at: its own, else up to the right margin (the
 * sheet's edge when it starts inside that margin). */
static double positioned_width(render_t *r, const position_spec_t *ps)
{
    const page_spec_t *pg = &r->t->page;
    if (ps->width.kind == LEN_PT)
        return ps->width.v;
    if (ps->width.kind == LEN_PCT)
        return pg->width * ps->width.v / 100;
    double w = pg->width - pg->margin[1] - ps->x;
    return w >= ENGINE_CONTENT_MIN_PT ? w : pg->width - ps->x;
}

/* Positioned children (outside the flow) are kept apart from the flowing ones, each with the
 * index of the flowing child it comes before, so that nothing that measures or paginates the
 * flow sees them. */
static int prepare_positioned(render_t *r, const node_t *child, int before, pb_list_t *tmp, pbox_t *pb)
{
    double w = positioned_width(r, child->position);
    tmp->n = 0;
    if (prepare_into(r, child, w + child->margin[1] + child->margin[3], tmp) < 0)
        return -1;
    if (tmp->n == 0)
        return 0;
    pos_item_t *v = arena_grow(r->a, pb->u.stack.pos, (size_t)pb->u.stack.npos,
                               (size_t)(pb->u.stack.npos + tmp->n), sizeof *v);
    if (!v)
        return render_tick(r);
    for (int i = 0; i < tmp->n; i++)
        v[pb->u.stack.npos++] = (pos_item_t){tmp->v[i], child->position, w, before};
    pb->u.stack.pos = v;
    return 0;
}

static pbox_t *prepare_children(render_t *r, const node_t *n, double width, pbox_t *pb)
{
    pb_list_t kids = {0}, tmp = {0};
    for (int i = 0; i < n->u.stack.n; i++) {
        const node_t *child = n->u.stack.children[i];
        int rc = child->position ? prepare_positioned(r, child, kids.n, &tmp, pb)
                                 : prepare_into(r, child, width, &kids);
        if (rc < 0)
            return NULL;
    }
    pb->u.stack.kids = kids.v;
    pb->u.stack.n = kids.n;
    pb->u.stack.gap = n->u.stack.gap;
    stack_height(pb);
    return pb;
}

pbox_t *prepare_stack(render_t *r, const node_t *stack, double width)
{
    pbox_t *pb = new_pbox(r, PB_STACK, NULL);
    if (!pb || !prepare_children(r, stack, width, pb))
        return NULL;
    /* A stack of one block is that block (cells usually hold one paragraph). */
    if (pb->u.stack.n == 1 && pb->u.stack.npos == 0)
        return pb->u.stack.kids[0];
    return pb;
}

/* Splits `total` among widths: points, percentages of total, then flexible shares. */
static void resolve_widths(const len_t *w, int n, double total, double *out)
{
    double fixed = 0, flex = 0;
    for (int i = 0; i < n; i++) {
        if (w[i].kind == LEN_PT)
            out[i] = w[i].v;
        else if (w[i].kind == LEN_PCT)
            out[i] = total * w[i].v / 100;
        else {
            out[i] = 0;
            flex += w[i].kind == LEN_FLEX ? w[i].v : 1;
            continue;
        }
        fixed += out[i];
    }
    double rest = total - fixed;
    if (rest < 0)
        rest = 0;
    for (int i = 0; i < n; i++)
        if (w[i].kind == LEN_FLEX || w[i].kind == LEN_AUTO)
            out[i] = flex > 0 ? rest * (w[i].kind == LEN_FLEX ? w[i].v : 1) / flex : 0;
}

static pbox_t *prepare_columns(render_t *r, const node_t *n, double width)
{
    pbox_t *pb = new_pbox(r, PB_COLS, n);
    if (!pb)
        return NULL;
    int nc = n->u.columns.n;
    double gap = n->u.columns.gap;
    double avail = width - gap * (nc - 1);
    len_t lens[256] = {{0}};
    double ws[256];
    if (nc > 256)
        nc = 256;
    for (int i = 0; i < nc; i++)
        lens[i] = n->u.columns.cols[i].width;
    resolve_widths(lens, nc, avail > 0 ? avail : 0, ws);
    pb->u.cols.kids = arena_calloc(r->a, (size_t)(nc ? nc : 1), sizeof(pbox_t *));
    pb->u.cols.x = arena_calloc(r->a, (size_t)(nc ? nc : 1), sizeof(double));
    pb->u.cols.w = arena_calloc(r->a, (size_t)(nc ? nc : 1), sizeof(double));
    if (!pb->u.cols.kids || !pb->u.cols.x || !pb->u.cols.w) {
        render_tick(r);
        return NULL;
    }
    double x = 0, h = 0;
    for (int i = 0; i < nc; i++) {
        const node_t *content = n->u.columns.cols[i].content;
        pbox_t *kid;
        if (content->cond && !expr_eval_cond(&r->scope, content->cond)) {
            kid = new_pbox(r, PB_SPACE, NULL);
        } else {
            kid = prepare_stack(r, content, ws[i]);
            if (kid && content->keep_together)
                kid->keep_together = true;
        }
        if (!kid)
            return NULL;
        pb->u.cols.kids[i] = kid;
        pb->u.cols.x[i] = x;
        pb->u.cols.w[i] = ws[i];
        x += ws[i] + gap;
        h = fmax(h, pb_outer(kid));
    }
    pb->u.cols.n = nc;
    pb->h = h;
    return pb;
}

static pbox_t *prepare_box(render_t *r, const node_t *n, double width)
{
    pbox_t *pb = new_pbox(r, PB_BOX, n);
    if (!pb)
        return NULL;
    const double *pad = n->u.box.padding;
    double bw = n->u.box.border_width;
    double inner = width - pad[1] - pad[3] - 2 * bw;
    pb->u.box.kid = prepare_stack(r, n->u.box.content, inner > 0 ? inner : 0);
    if (!pb->u.box.kid)
        return NULL;
    /* minHeight never asks for more than a page. */
    double page_h = fmin(r->body_bottom[0] - r->body_top[0], r->body_bottom[1] - r->body_top[1]);
    pb->h = fmax(pb_outer(pb->u.box.kid) + pad[0] + pad[2] + 2 * bw, fmin(n->u.box.min_height, page_h));
    return pb;
}

static double place_x(align_t al, double avail, double w)
{
    if (al == ALIGN_CENTER)
        return (avail - w) / 2;
    if (al == ALIGN_RIGHT || al == ALIGN_END)
        return avail - w;
    return 0;
}

static int remember_image(render_t *r, image_t *img)
{
    if (r->nloaded == r->loaded_cap) {
        size_t cap = r->loaded_cap ? r->loaded_cap * 2 : 16;
        image_t **v = arena_grow(r->a, r->loaded, r->nloaded, cap, sizeof *v);
        if (!v) {
            image_unref(img);
            return render_tick(r);
        }
        r->loaded = v;
        r->loaded_cap = cap;
    }
    r->loaded[r->nloaded++] = img;
    return 0;
}

static pbox_t *prepare_image(render_t *r, const node_t *n, double width)
{
    size_t len;
    const char *src = eval_string(r, &n->u.image.src, n->path, false, &len);
    if (!src)
        return NULL;
    if (!len) /* an optional image that was not given */
        return new_pbox(r, PB_SPACE, n);
    pbox_t *pb = new_pbox(r, PB_IMAGE, n);
    if (!pb)
        return NULL;
    image_t *img = NULL;
    char err[ERRMSG_LEN] = "";
    if (!r->images || image_load(r->images, src, &img, err, sizeof err) < 0 || !img) {
        char where[256];
        where_of(r, &n->u.image.src, n, where, sizeof where);
        render_fail(r, "image at %s %s", where, *err ? err : "could not be loaded");
        return NULL;
    }
    /* A fetch can take seconds: look at the clock now, not 32 steps later. */
    if (remember_image(r, img) < 0 || render_deadline_check(r) < 0)
        return NULL;
    double iw, ih;
    image_size(img, &iw, &ih);
    if (iw <= 0 || ih <= 0)
        iw = ih = 1;
    len_t lw = n->u.image.width, lh = n->u.image.height;
    double w, h;
    if (lw.kind == LEN_PT)
        w = lw.v;
    else if (lw.kind == LEN_PCT)
        w = width * lw.v / 100;
    else
        w = lh.kind == LEN_PT ? lh.v * iw / ih : iw;
    h = lh.kind == LEN_PT ? lh.v : w * ih / iw;
    if (w > width && width > 0) {
        if (lh.kind != LEN_PT)
            h *= width / w;
        w = width;
    }
    double page_h = r->body_bottom[1] - r->body_top[1];
    if (h > page_h && page_h > 0) {
        if (lw.kind != LEN_PT && lw.kind != LEN_PCT)
            w *= page_h / h;
        h = page_h;
    }
    if (image_check_draw(r->images, img, w, h, err, sizeof err) < 0) {
        char where[256];
        where_of(r, &n->u.image.src, n, where, sizeof where);
        render_fail(r, "image at %s %s", where, err);
        return NULL;
    }
    pb->u.image.img = img;
    pb->u.image.w = w;
    pb->u.image.h = h;
    pb->u.image.x = place_x(n->style.align, width, w);
    pb->h = h;
    return pb;
}

static pbox_t *prepare_code(render_t *r, const node_t *n, double width)
{
    size_t len;
    const char *data = eval_string(r, &n->u.code.data, n->path, false, &len);
    if (!data)
        return NULL;
    if (!len)
        return new_pbox(r, PB_SPACE, n);
    char err[ERRMSG_LEN] = "";
    if (codes_check(n->u.code.symbology, data, err, sizeof err) < 0) {
        char where[256];
        where_of(r, &n->u.code.data, n, where, sizeof where);
        render_fail(r, "%s data at %s cannot be encoded: %s", n->u.code.symbology, where, err);
        return NULL;
    }
    pbox_t *pb = new_pbox(r, PB_CODE, n);
    if (!pb)
        return NULL;
    len_t lw = n->u.code.width, lh = n->u.code.height;
    double w = lw.kind == LEN_PCT ? width * lw.v / 100 : lw.v;
    double h = lh.kind == LEN_PCT ? width * lh.v / 100 : lh.v;
    if (w > width && width > 0) {
        if (codes_square(n->u.code.symbology))
            h *= width / w;
        w = width;
    }
    pb->u.code.data = data;
    pb->u.code.w = w;
    pb->u.code.h = h;
    pb->u.code.x = place_x(n->style.align, width, w);
    pb->h = h;
    return pb;
}

/* ------------------------------------------------------------------ tables */

typedef struct row_list {
    prow_t *v;
    int n, cap;
    const json_t *arr; /* the array of the last row with each */
    /* Row spans (allocated with the first): per column, the last row index a span covers. A
     * fixed row's cells take the columns not covered; a row repeated by each leaves out its
     * cells under a span. */
    int *cover_end;
    bool spans;
} row_list_t;

/* Distance from the top of pb (margins excluded) to its first baseline; a block without text
 * has its bottom edge as its baseline. */
static double first_baseline(const pbox_t *pb)
{
    switch (pb->kind) {
    case PB_TEXT: return pb->u.para.nlines ? pb->u.para.lines[0].baseline : pb->h;
    case PB_STACK: {
        double y = 0;
        pbox_t *const *k = pb->u.stack.kids;
        for (int i = 0; i < pb->u.stack.n; i++) {
            y += i == 0 ? k[i]->mt : fmax(k[i - 1]->mb, k[i]->mt) + pb->u.stack.gap;
            if (k[i]->kind == PB_TEXT || k[i]->kind == PB_STACK || k[i]->kind == PB_BOX)
                return y + first_baseline(k[i]);
            y += k[i]->h;
        }
        return pb->h;
    }
    case PB_BOX: {
        const node_t *n = pb->node;
        return n->u.box.padding[0] + n->u.box.border_width + pb->u.box.kid->mt +
               first_baseline(pb->u.box.kid);
    }
    default: return pb->h;
    }
}

/* verticalAlign "baseline": the cells' first baselines line up with the lowest of them, which
 * may make the row taller. */
static void align_baselines(prow_t *row, const table_spec_t *ts)
{
    double base = 0;
    bool any = false;
    for (int i = 0; i < row->ncells; i++) {
        pcell_t *c = &row->cells[i];
        if (c->valign == VALIGN_BASELINE && c->rowspan == 1) {
            base = fmax(base, c->content->mt + first_baseline(c->content));
            any = true;
        }
    }
    if (!any)
        return;
    for (int i = 0; i < row->ncells; i++) {
        pcell_t *c = &row->cells[i];
        if (c->valign != VALIGN_BASELINE || c->rowspan != 1)
            continue;
        c->shift = base - (c->content->mt + first_baseline(c->content));
        row->h = fmax(row->h, c->shift + pb_outer(c->content) + 2 * ts->pad_v);
    }
}

/* Whether a span from an earlier row covers any of the columns [col, col + span) of row n. */
static bool span_covered(const row_list_t *out, int col, int span)
{
    for (int k = col; out->cover_end && k < col + span; k++)
        if (out->cover_end[k] >= out->n)
            return true;
    return false;
}

/* A cell of row out->n spanning rows from column col: covers its columns below. */
static int span_begin(render_t *r, const table_spec_t *ts, row_list_t *out, int col, int span, int rowspan)
{
    if (!out->cover_end) {
        out->cover_end = arena_calloc(r->a, (size_t)ts->ncols, sizeof(int));
        if (!out->cover_end)
            return render_tick(r);
        for (int k = 0; k < ts->ncols; k++)
            out->cover_end[k] = -1;
    }
    out->spans = true;
    for (int k = col; k < col + span; k++)
        out->cover_end[k] = out->n + rowspan - 1;
    return 0;
}

/* The spans of rows [first, out->n) end with the last of them (a loop's or a group's rows). */
static void span_clip(const table_spec_t *ts, row_list_t *out, int first)
{
    if (!out->cover_end)
        return;
    for (int i = first; i < out->n; i++)
        for (int j = 0; j < out->v[i].ncells; j++) {
            pcell_t *c = &out->v[i].cells[j];
            if (c->rowspan > out->n - i)
                c->rowspan = out->n - i;
        }
    for (int k = 0; k < ts->ncols; k++)
        if (out->cover_end[k] >= out->n)
            out->cover_end[k] = out->n - 1;
}

static int make_row(render_t *r, const table_spec_t *ts, const row_spec_t *rs, const double *col_x,
                    row_list_t *out)
{
    if (out->n == out->cap) {
        int cap = out->cap ? out->cap * 2 : 16;
        prow_t *v = arena_grow(r->a, out->v, (size_t)out->n, (size_t)cap, sizeof *v);
        if (!v)
            return render_tick(r);
        out->v = v;
        out->cap = cap;
    }
    prow_t *row = &out->v[out->n];
    row->cells = arena_calloc(r->a, (size_t)(rs->ncells ? rs->ncells : 1), sizeof(pcell_t));
    if (!row->cells)
        return render_tick(r);
    row->background = rs->background;
    row->keep_with_next = false;
    row->elem = -1;
    row->span_end = out->n;
    row->notes_h = 0;
    double h = 0;
    int col = 0;
    for (int i = 0; i < rs->ncells; i++) {
        const cell_spec_t *cs = &rs->cells[i];
        int span = cs->colspan;
        while (out->cover_end && !rs->each && col < ts->ncols && out->cover_end[col] >= out->n)
            col++;
        if (col + span > ts->ncols)
            span = ts->ncols - col;
        if (span <= 0)
            break;
        if (rs->each && span_covered(out, col, span)) {
            col += span;
            continue;
        }
        pcell_t *cell = &row->cells[row->ncells++];
        cell->x = col_x[col];
        cell->w = col_x[col + span] - col_x[col];
        cell->background = cs->background;
        cell->valign = cs->valign;
        cell->rowspan = cs->rowspan > 1 ? cs->rowspan : 1;
        cell->path = cs->path;
        double inner = cell->w - 2 * ts->pad_h;
        double notes_before = r->notes_total_h;
        cell->content = prepare_stack(r, cs->content, inner > 0 ? inner : 0);
        row->notes_h += r->notes_total_h - notes_before;
        if (!cell->content)
            return -1;
        if (cell->rowspan == 1)
            h = fmax(h, pb_outer(cell->content) + 2 * ts->pad_v);
        else if (span_begin(r, ts, out, col, span, cell->rowspan) < 0)
            return -1;
        col += span;
    }
    row->h = h;
    align_baselines(row, ts);
    out->n++;
    return 0;
}

/* The rows of one groupBy group: elements sel[0..n) of arr, with its header and footer. */
static int make_group(render_t *r, const table_spec_t *ts, const row_spec_t *rs, const json_t *arr,
                      const size_t *sel, size_t n, const char *key, const double *col_x, row_list_t *out)
{
    expr_frame_t *f = &r->scope.frames[r->scope.depth - 1];
    json_t *items = json_array(), *group = NULL;
    for (size_t k = 0; items && k < n; k++)
        if (json_array_append(items, json_array_get(arr, sel[k])) < 0)
            break;
    group = items ? json_pack("{s:s, s:I, s:O}", "key", key, "count", (json_int_t)n, "items", items) : NULL;
    json_decref(items);
    if (!group)
        return render_fail(r, "out of memory");
    int rc = 0;
    const row_spec_t *gh = rs->group_header, *gf = rs->group_footer;
    f->item = group;
    f->index = sel[0];
    if (gh && !(gh->cond && !expr_eval_cond(&r->scope, gh->cond))) {
        rc = make_row(r, ts, gh, col_x, out);
        if (rc == 0)
            out->v[out->n - 1].keep_with_next = true;
    }
    int first = out->n;
    for (size_t k = 0; k < n && rc == 0; k++) {
        f->index = sel[k];
        f->item = json_array_get(arr, sel[k]);
        if ((rc = make_row(r, ts, rs, col_x, out)) == 0)
            out->v[out->n - 1].elem = (int)sel[k];
    }
    span_clip(ts, out, first); /* a row span never crosses into the next group */
    f->item = group;
    f->index = sel[n - 1];
    if (rc == 0 && gf && !(gf->cond && !expr_eval_cond(&r->scope, gf->cond)))
        rc = make_row(r, ts, gf, col_x, out);
    f->item = NULL; /* the group object goes now */
    json_decref(group);
    return rc;
}

/* groupBy: the key of every element (those that pass "if"), then one group per run of equal keys. */
static int prepare_grouped(render_t *r, const table_spec_t *ts, const row_spec_t *rs, const json_t *arr,
                           const double *col_x, row_list_t *out)
{
    expr_frame_t *f = &r->scope.frames[r->scope.depth - 1];
    size_t *sel = arena_calloc(r->a, f->count ? f->count : 1, sizeof *sel);
    const char **keys = arena_calloc(r->a, f->count ? f->count : 1, sizeof *keys);
    if (!sel || !keys)
        return render_tick(r);
    size_t m = 0;
    for (size_t i = 0; i < f->count; i++) {
        f->index = i;
        f->item = json_array_get(arr, i);
        if (render_tick(r) < 0)
            return -1;
        if (rs->cond && !expr_eval_cond(&r->scope, rs->cond))
            continue;
        size_t len;
        if (!(keys[m] = eval_string(r, rs->group_key, rs->path, false, &len)))
            return -1;
        sel[m++] = i;
    }
    for (size_t g = 0; g < m;) {
        size_t e = g + 1;
        while (e < m && !strcmp(keys[e], keys[g]))
            e++;
        if (make_group(r, ts, rs, arr, sel + g, e - g, keys[g], col_x, out) < 0)
            return -1;
        g = e;
    }
    return 0;
}

static int prepare_rows(render_t *r, const table_spec_t *ts, const row_spec_t *specs, int nspecs,
                        const double *col_x, row_list_t *out)
{
    for (int s = 0; s < nspecs; s++) {
        const row_spec_t *rs = &specs[s];
        if (!rs->each) {
            if (rs->cond && !expr_eval_cond(&r->scope, rs->cond))
                continue;
            if (make_row(r, ts, rs, col_x, out) < 0)
                return -1;
            continue;
        }
        int rc;
        const json_t *arr = loop_begin(r, rs->each, rs->path, &rc);
        if (!arr) {
            if (rc < 0)
                return -1;
            continue;
        }
        out->arr = arr;
        int first = out->n;
        expr_frame_t *f = &r->scope.frames[r->scope.depth - 1];
        if (rs->group_key)
            rc = prepare_grouped(r, ts, rs, arr, col_x, out);
        for (size_t i = 0; i < f->count && !rs->group_key; i++) {
            f->index = i;
            f->item = json_array_get(arr, i);
            if (render_tick(r) < 0) {
                rc = -1;
                break;
            }
            if (rs->cond && !expr_eval_cond(&r->scope, rs->cond))
                continue;
            if ((rc = make_row(r, ts, rs, col_x, out)) < 0)
                break;
            out->v[out->n - 1].elem = (int)i;
        }
        span_clip(ts, out, first); /* spans of the loop's rows end with its last row */
        loop_end(r);
        if (rc < 0)
            return -1;
    }
    return 0;
}

int prepare_carried_row(render_t *r, const pbox_t *pb, const row_spec_t *rs, int nbegun, prow_t *out)
{
    const table_spec_t *ts = &pb->node->u.table;
    bool carried_row = rs == ts->carried_forward;
    double reserved = carried_row ? pb->u.table.carried_h : pb->u.table.brought_h;
    json_t *items = json_array(), *carried = NULL;
    for (int i = 0; items && i < nbegun && i < pb->u.table.nbody; i++) {
        int e = pb->u.table.body[i].elem;
        if (e >= 0 && json_array_append(items, json_array_get(pb->u.table.elems, (size_t)e)) < 0)
            break;
    }
    size_t count = items ? json_array_size(items) : 0;
    carried =
        items ? json_pack("{s:s, s:I, s:O}", "key", "", "count", (json_int_t)count, "items", items) : NULL;
    json_decref(items);
    if (!carried)
        return render_fail(r, "out of memory");
    /* The row is evaluated in the scope the table was prepared in, with `carried` as its element. */
    expr_scope_t saved = r->scope;
    r->scope = *pb->u.table.scope;
    int rc = 0;
    if (r->scope.depth >= EXPR_LOOP_DEPTH_MAX) {
        rc = render_fail(r, "loops nested too deeply at %s", rs->path);
        goto cleanup;
    }
    r->scope.frames[r->scope.depth++] = (expr_frame_t){.item = carried, .count = count, .path = "carried"};
    row_list_t one = {0};
    *out = (prow_t){.elem = -1};
    if (!(rs->cond && !expr_eval_cond(&r->scope, rs->cond))) {
        if ((rc = make_row(r, ts, rs, pb->u.table.col_x, &one)) < 0)
            goto cleanup;
        *out = one.v[0];
    }
    out->h = fmax(out->h, reserved);
cleanup:
    r->scope = saved;
    json_decref(carried);
    return rc;
}

/* carriedForward/broughtForward: the scope for the rows made at page breaks, and their heights
 * measured with every element (the widest totals as a rule). */
static int prepare_carried_rows(render_t *r, pbox_t *pb, const json_t *arr)
{
    const table_spec_t *ts = &pb->node->u.table;
    if (!ts->carried_forward && !ts->brought_forward)
        return 0;
    pb->u.table.elems = arr; /* NULL when the list is absent: then no row has an element */
    pb->u.table.scope = arena_alloc(r->a, sizeof *pb->u.table.scope);
    if (!pb->u.table.scope)
        return render_tick(r);
    *pb->u.table.scope = r->scope;
    prow_t sample;
    if (ts->carried_forward) {
        if (prepare_carried_row(r, pb, ts->carried_forward, pb->u.table.nbody, &sample) < 0)
            return -1;
        pb->u.table.carried_h = sample.h;
    }
    if (ts->brought_forward) {
        if (prepare_carried_row(r, pb, ts->brought_forward, pb->u.table.nbody, &sample) < 0)
            return -1;
        pb->u.table.brought_h = sample.h;
    }
    return 0;
}

/* Row spans of the body: each spanning cell is as tall as its rows; when its content is
 * taller, the last of them grows. Records in every row the last row its spans reach. */
static void finish_spans(const table_spec_t *ts, prow_t *rows, int n)
{
    for (int i = 0; i < n; i++) {
        prow_t *row = &rows[i];
        for (int j = 0; j < row->ncells; j++) {
            pcell_t *c = &row->cells[j];
            if (c->rowspan > n - i)
                c->rowspan = n - i;
            double need = pb_outer(c->content) + 2 * ts->pad_v, h = 0;
            for (int k = i; k < i + c->rowspan; k++)
                h += rows[k].h;
            if (need > h)
                rows[i + c->rowspan - 1].h += need - h;
            if (i + c->rowspan - 1 > row->span_end)
                row->span_end = i + c->rowspan - 1;
        }
    }
}

static pbox_t *prepare_table(render_t *r, const node_t *n, double width)
{
    const table_spec_t *ts = &n->u.table;
    pbox_t *pb = new_pbox(r, PB_TABLE, n);
    double *ws = arena_calloc(r->a, (size_t)ts->ncols, sizeof(double));
    double *col_x = arena_calloc(r->a, (size_t)ts->ncols + 1, sizeof(double));
    if (!pb || !ws || !col_x) {
        render_tick(r);
        return NULL;
    }
    resolve_widths(ts->widths, ts->ncols, width, ws);
    for (int i = 0; i < ts->ncols; i++)
        col_x[i + 1] = col_x[i] + ws[i];
    pb->u.table.col_x = col_x;
    row_list_t header = {0}, body = {0}, footer = {0};
    if (prepare_rows(r, ts, ts->header, ts->nheader, col_x, &header) < 0 ||
        prepare_rows(r, ts, ts->body, ts->nbody, col_x, &body) < 0 ||
        prepare_rows(r, ts, ts->footer, ts->nfooter, col_x, &footer) < 0)
        return NULL;
    if (body.spans)
        finish_spans(ts, body.v, body.n);
    pb->u.table.spans = body.spans;
    if (ts->zebra)
        for (int i = 1; i < body.n; i += 2)
            if (!body.v[i].background)
                body.v[i].background = ts->zebra;
    double h = 0, hh = 0;
    for (int i = 0; i < header.n; i++)
        hh += header.v[i].h;
    for (int i = 0; i < body.n; i++)
        h += body.v[i].h;
    for (int i = 0; i < footer.n; i++)
        h += footer.v[i].h;
    pb->u.table.header = header.v;
    pb->u.table.nheader = header.n;
    pb->u.table.body = body.v;
    pb->u.table.nbody = body.n;
    pb->u.table.footer = footer.v;
    pb->u.table.nfooter = footer.n;
    pb->u.table.header_h = hh;
    pb->h = hh + h;
    if (prepare_carried_rows(r, pb, body.arr) < 0)
        return NULL;
    return pb;
}

/* ------------------------------------------------------------------ table of contents */

#define TOC_GAP 4.0 /* pt between the text, the leaders and the page number */

/* One entry: the title wrapped beside the page number, the leaders on its last line. */
static pbox_t *toc_entry(render_t *r, const node_t *n, const json_t *entry, double indent, double width)
{
    const char *title = json_string_value(json_array_get(entry, 1));
    int page = (int)json_integer_value(json_array_get(entry, 2));
    pbox_t *pb = new_pbox(r, PB_TOC_ENTRY, NULL);
    toc_entry_t *e = arena_alloc(r->a, sizeof *e);
    tstyle_t *st = arena_alloc(r->a, sizeof *st);
    if (!pb || !e || !st) {
        render_tick(r);
        return NULL;
    }
    pb->node = n;
    pb->u.toc = e;
    *st = n->style;
    st->align = ALIGN_LEFT;
    st->max_lines = 0;
    st->indent = st->first_indent = st->hanging_indent = 0;
    /* Copies: the glyph runs point into the text until the pages are drawn. */
    char buf[16];
    int nl = snprintf(buf, sizeof buf, "%d", page);
    /* A link to the heading's destination (draw.c: "#" + the destination's name). */
    char dest[32];
    snprintf(dest, sizeof dest, TOC_LINK_PREFIX "%lld",
             (long long)json_integer_value(json_array_get(entry, 3)));
    const char *num = arena_strndup(r->a, buf, (size_t)nl), *text = arena_strdup(r->a, title ? title : "");
    const char *link = arena_strdup(r->a, dest);
    if (!num || !text || !link) {
        render_tick(r);
        return NULL;
    }
    text_span_t ts = {text, strlen(text), st, link, NULL}, ns = {num, (size_t)nl, st, link, NULL};
    char err[ERRMSG_LEN];
    if (text_layout(r->text, r->a, &ns, 1, 0, st, &e->num, err, sizeof err) < 0 ||
        text_layout(r->text, r->a, &ts, 1, fmax(width - indent - e->num.width - 2 * TOC_GAP, 1), st,
                    &e->title, err, sizeof err) < 0) {
        render_fail(r, "table of contents at %s: %s", n->path, err);
        return NULL;
    }
    e->indent = indent;
    e->num_x = width - e->num.width;
    pb->h = fmax(e->title.height, e->num.height);
    if (e->title.nlines && e->num.nlines) {
        const text_line_t *last = &e->title.lines[e->title.nlines - 1];
        e->num_dy = fmax(last->baseline - e->num.lines[0].baseline, 0);
        e->lead_x0 = indent + last->width + TOC_GAP;
        e->lead_x1 = e->num_x - TOC_GAP;
        e->lead_y = last->baseline;
        pb->h = fmax(pb->h, e->num_dy + e->num.height);
    }
    return pb;
}

/* A "toc": its title, then an entry per heading of the last layout up to its levels (none in
 * the first layout, which the render repeats). */
static pbox_t *prepare_toc(render_t *r, const node_t *n, double width)
{
    size_t ne = json_array_size(r->toc);
    pbox_t *pb = new_pbox(r, PB_STACK, n);
    pbox_t **kids = arena_calloc(r->a, ne + 1, sizeof *kids);
    if (!pb || !kids) {
        render_tick(r);
        return NULL;
    }
    int k = 0;
    if (n->u.toc.title && !(kids[k++] = prepare_one(r, n->u.toc.title, width)))
        return NULL;
    size_t i;
    json_t *e;
    json_array_foreach(r->toc, i, e)
    {
        int level = (int)json_integer_value(json_array_get(e, 0));
        if (level > n->u.toc.levels)
            continue;
        kids[k] = toc_entry(r, n, e, (level - 1) * n->u.toc.indent, width);
        if (!kids[k++])
            return NULL;
    }
    pb->u.stack.kids = kids;
    pb->u.stack.n = k;
    stack_height(pb);
    return pb;
}

/* ------------------------------------------------------------------ dispatch */

/* The block's anchor, evaluated in its loop's scope: pb, or NULL after render_fail. */
static pbox_t *prepare_anchor(render_t *r, const node_t *n, pbox_t *pb)
{
    size_t len;
    pb->anchor = eval_string(r, n->anchor, n->path, false, &len);
    if (!pb->anchor)
        return NULL;
    if (len == 0 || len > ENGINE_ANCHOR_MAX || memchr(pb->anchor, 0, len)) {
        render_fail(r, "the anchor at %s is %s: names are 1 to %d bytes", n->path, len ? "too long" : "empty",
                    ENGINE_ANCHOR_MAX);
        return NULL;
    }
    return pb;
}

static pbox_t *prepare_one(render_t *r, const node_t *n, double width)
{
    if (render_tick(r) < 0)
        return NULL;
    double inner = width - n->margin[1] - n->margin[3];
    if (inner < 0)
        inner = 0;
    pbox_t *pb = NULL;
    double notes_before = r->notes_total_h;
    switch (n->kind) {
    case N_TEXT: pb = prepare_text(r, n, inner); break;
    case N_STACK:
        pb = new_pbox(r, PB_STACK, n);
        if (pb)
            pb = prepare_children(r, n, inner, pb);
        break;
    case N_COLUMNS: pb = prepare_columns(r, n, inner); break;
    case N_BOX: pb = prepare_box(r, n, inner); break;
    case N_RULE:
        if ((pb = new_pbox(r, PB_RULE, n)))
            pb->h = n->u.rule.thickness;
        break;
    case N_SPACER:
        if ((pb = new_pbox(r, PB_SPACE, n)))
            pb->h = n->u.spacer.height;
        break;
    case N_PAGEBREAK: pb = new_pbox(r, PB_BREAK, n); break;
    case N_TABLE: pb = prepare_table(r, n, inner); break;
    case N_IMAGE: pb = prepare_image(r, n, inner); break;
    case N_CODE: pb = prepare_code(r, n, inner); break;
    case N_TOC: pb = prepare_toc(r, n, inner); break;
    }
    if (pb && n->anchor)
        pb = prepare_anchor(r, n, pb);
    if (pb)
        pb->notes_h = r->notes_total_h - notes_before;
    return pb;
}

/* ------------------------------------------------------------------ backgrounds */

int prepare_backgrounds(render_t *r)
{
    const page_spec_t *pg = &r->t->page;
    if (!pg->nbg)
        return 0;
    r->bg_img = arena_calloc(r->a, (size_t)pg->nbg, sizeof *r->bg_img);
    if (!r->bg_img)
        return render_tick(r) < 0 ? -1 : render_fail(r, "out of memory");
    for (int i = 0; i < pg->nbg; i++) {
        const background_spec_t *bg = &pg->bg[i];
        if (!bg->src)
            continue;
        size_t len;
        const char *src = eval_string(r, bg->src, bg->path, false, &len);
        if (!src)
            return -1;
        if (!len) /* an optional background that was not given */
            continue;
        image_t *img = NULL;
        char err[ERRMSG_LEN] = "", where[256];
        if (!r->images || image_load(r->images, src, &img, err, sizeof err) < 0 || !img) {
            where_at(r, bg->src, bg->path, where, sizeof where);
            return render_fail(r, "background image at %s %s", where, *err ? err : "could not be loaded");
        }
        if (remember_image(r, img) < 0 || render_deadline_check(r) < 0)
            return -1;
        if (image_check_draw(r->images, img, pg->width, pg->height, err, sizeof err) < 0) {
            where_at(r, bg->src, bg->path, where, sizeof where);
            return render_fail(r, "background image at %s %s", where, err);
        }
        r->bg_img[i] = img;
    }
    return 0;
}
